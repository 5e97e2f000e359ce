"""Password hashing with argon2id."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12

STRONG = PasswordHasher()  # argon2id, with the library's RFC 9106 low-memory profile
# Only for HELPLINE_ENV=test (the test suite logs in hundreds of times): argon2id with the
# library's cheapest parameters. Every other environment hashes with STRONG.
CHEAP = PasswordHasher.from_parameters(profiles.CHEAPEST)

_hasher = STRONG


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says why, never the password."""


def configure(*, test: bool) -> None:
    """Choose the process's hasher; `create_app` calls this (test: HELPLINE_ENV=test)."""
    global _hasher
    _hasher = CHEAP if test else STRONG


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the username is unknown, so timing does not reveal accounts."""
    return hasher.hash("no such account: constant-time filler")


def check_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(set(password)) < 5:
        raise WeakPassword("a password needs at least 5 different characters")


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends the same work, account or not."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(_hasher), password) and bool(
            password_hash
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
