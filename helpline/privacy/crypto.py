"""Encryption at rest, the blind index for lookups, and masking of phone numbers.

Phone numbers and note text are special-category personal data. They are stored only
as Fernet tokens; a keyed HMAC of the E.164 number (the blind index) lets us find a
caller without decrypting anything. Neither a number nor a note ever appears in an
exception message raised here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from helpline.installed import Installed

DEFAULT_REGION = "TR"


class InvalidPhoneNumber(ValueError):
    """The input is not a dialable phone number. The message never repeats the input."""


class DecryptionError(RuntimeError):
    """No configured key decrypts this value (a key was removed too early)."""


def normalise_number(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return the E.164 form of a phone number written in any common way."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber("not a possible phone number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalise_number(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """Like normalise_number, but None for a withheld, anonymous or malformed number."""
    if not raw:
        return None
    try:
        return normalise_number(raw, region)
    except InvalidPhoneNumber:
        return None


def mask_number(e164: str) -> str:
    """Show a number as `+90 5** *** ** 67`: country code, first digit, last two digits."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "***"
    national = phonenumbers.national_significant_number(parsed)
    if len(national) < 4:
        return f"+{parsed.country_code} ***"
    masked = national[0] + "*" * (len(national) - 3) + national[-2:]
    return f"+{parsed.country_code} " + " ".join(_groups(masked))


def _groups(digits: str) -> list[str]:
    """Split a national number into the 3-3-2-2 groups Turkish numbers are read in."""
    if len(digits) == 10:
        sizes = [3, 3, 2, 2]
    else:
        sizes = [3] * ((len(digits) - 2) // 3)
        sizes.append(len(digits) - sum(sizes))
    out, start = [], 0
    for size in sizes:
        out.append(digits[start : start + size])
        start += size
    return [g for g in out if g]


class Keyring:
    """Fernet keys, newest first: the newest encrypts, any of them decrypts."""

    def __init__(self, encryption_keys: Sequence[str], blind_index_key: str) -> None:
        if not encryption_keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in encryption_keys])
        self._index_key = blind_index_key.encode()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise DecryptionError("no configured key decrypts this value") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise DecryptionError("no configured key decrypts this value") from None

    def blind_index(self, e164: str) -> str:
        """A keyed HMAC-SHA256 of a normalised number, for equality lookups."""
        return hmac.new(self._index_key, e164.encode("ascii"), hashlib.sha256).hexdigest()

    def pseudonym(self, value: str) -> str:
        """A short keyed digest, for logs and audit details that must not carry the value."""
        digest = hmac.new(self._index_key, b"pseudonym:" + value.encode(), hashlib.sha256)
        return digest.hexdigest()[:16]


_keyring: Installed[Keyring] = Installed("privacy.configure()")


def configure(keyring: Keyring) -> None:
    """Install the process's keyring; `create_app` calls this once."""
    _keyring.install(keyring)


def keyring() -> Keyring:
    return _keyring.get()
