"""Phone normalisation, masking, encryption with rotating keys, and the blind index."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from helpline.privacy import crypto as privacy

KEY_OLD = Fernet.generate_key().decode()
KEY_NEW = Fernet.generate_key().decode()


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0532 123 45 67", "+905321234567"),
        ("+90 (532) 123-45-67", "+905321234567"),
        ("905321234567", "+905321234567"),
        ("+963 944 123 456", "+963944123456"),
        ("00 93 70 123 4567", "+93701234567"),
    ],
)
def test_normalise_number_gives_e164(raw: str, e164: str) -> None:
    """Numbers written in any common way become one E.164 string (Turkey by default)."""
    assert privacy.normalise_number(raw) == e164


@pytest.mark.parametrize("raw", ["", "hello", "12", "+90 532", "anonymous", "+266696687"])
def test_normalise_number_refuses_garbage_without_echoing_it(raw: str) -> None:
    """Bad input is refused with a message that does not repeat the input."""
    with pytest.raises(privacy.InvalidPhoneNumber) as caught:
        privacy.normalise_number(raw)
    if raw:
        assert raw not in str(caught.value)


@pytest.mark.parametrize("raw", [None, "", "anonymous", "+266696687", "restricted"])
def test_try_normalise_number_returns_none_for_withheld(raw: str | None) -> None:
    """Withheld and anonymous caller IDs (as Twilio sends them) are simply unknown."""
    assert privacy.try_normalise_number(raw) is None


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+905321234567", "+90 5** *** ** 67"),
        ("+903121234567", "+90 3** *** ** 67"),
        ("+963944123456", "+963 9** *** *56"),
        ("+4915112345678", "+49 1** *** *** 78"),
        ("+93701234567", "+93 7** *** *67"),
        ("garbage", "***"),
    ],
)
def test_mask_number_keeps_country_first_and_last_two(e164: str, masked: str) -> None:
    """Masked numbers show the country code, the first digit and the last two only."""
    assert privacy.mask_number(e164) == masked


def test_keyring_round_trip_and_fresh_tokens() -> None:
    """Encryption is randomised (equal plaintexts differ) and decrypts back."""
    keyring = privacy.Keyring([KEY_NEW], "index-key")
    a, b = keyring.encrypt("+905321234567"), keyring.encrypt("+905321234567")
    assert a != b
    assert "905321234567" not in a
    assert keyring.decrypt(a) == "+905321234567"


def test_keyring_newest_encrypts_any_decrypts_rotate_moves_to_newest() -> None:
    """After adding a key first, old tokens still decrypt; rotate re-encrypts under the new one."""
    old = privacy.Keyring([KEY_OLD], "index-key")
    token = old.encrypt("note text")
    both = privacy.Keyring([KEY_NEW, KEY_OLD], "index-key")
    assert both.decrypt(token) == "note text"
    rotated = both.rotate(token)
    only_new = privacy.Keyring([KEY_NEW], "index-key")
    assert only_new.decrypt(rotated) == "note text"
    with pytest.raises(privacy.DecryptionError) as caught:
        only_new.decrypt(token)
    assert "note text" not in str(caught.value)


def test_blind_index_is_keyed_and_stable() -> None:
    """The same number gives the same index under one key, and a different one under another."""
    a = privacy.Keyring([KEY_NEW], "first-index-key")
    b = privacy.Keyring([KEY_NEW], "other-index-key")
    assert a.blind_index("+905321234567") == a.blind_index("+905321234567")
    assert a.blind_index("+905321234567") != b.blind_index("+905321234567")
    assert a.blind_index("+905321234567") != a.blind_index("+905321234568")
    assert "905321234567" not in a.blind_index("+905321234567")
