"""Staff passwords: argon2id hashes (argon2-cffi), a length rule, and rehashing when parameters change.

Hashes carry their own parameters, so raising the cost later only needs
``needs_rehash`` at the next successful login; old hashes keep verifying.
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
# argon2's own ceiling is far higher; this keeps a pasted novel from costing a worker seconds.
MAX_LENGTH = 256

# argon2-cffi's defaults: RFC 9106's low-memory profile (argon2id, t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH: str | None = None


class WeakPassword(ValueError):
    """A password the rules refuse; the message says why, for the form."""


def check_password_rules(password: str) -> None:
    """Raise WeakPassword unless ``password`` is acceptable (length only: passphrases welcome)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters (a few words make a good one).")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Use at most {MAX_LENGTH} characters.")
    if not password.strip():
        raise WeakPassword("A password cannot be only spaces.")


def hash_password(password: str, *, enforce_rules: bool = True) -> str:
    """An argon2id hash of ``password``; WeakPassword if it breaks the rules (unless told not to check)."""
    if enforce_rules:
        check_password_rules(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; False (never an exception) for a mismatch or an unusable hash."""
    global _DUMMY_HASH
    if len(password) > MAX_LENGTH:
        return False
    if not password_hash:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = _hasher.hash("quietline-dummy-password")
        password_hash = _DUMMY_HASH
        password = password + "\0"  # never matches, even if someone chose the dummy text
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's (rehash it at the next login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
