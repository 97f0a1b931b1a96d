"""Staff passwords: argon2id hashes (argon2-cffi), a length and guessability rule, rehashing when parameters change.

Guessability is zxcvbn's estimate (Dropbox's model: dictionaries of common
passwords, names and words, keyboard patterns, repeats, dates, l33t): a password
must score at least ``MIN_SCORE`` of 4, and the person's own email and name count
as easy guesses.  Passphrases of a few ordinary words pass; ``aaaaaaaaaaaaaaa``
and ``password1234`` do not.

Hashes carry their own parameters, so raising the cost later only needs
``needs_rehash`` at the next successful login; old hashes keep verifying.
"""
from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ivr.exceptions import WeakPassword

MIN_LENGTH = 12
# zxcvbn's scale: 3 = "safely unguessable: moderate protection from offline slow-hash scenario" (~10^8 guesses).
MIN_SCORE = 3
# argon2's own ceiling is far higher; this keeps a pasted novel from costing a worker seconds.
MAX_LENGTH = 256

# argon2-cffi's defaults: RFC 9106's low-memory profile (argon2id, t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH: str | None = None


def check_password_rules(password: str, user_inputs: Iterable[str] = ()) -> None:
    """Raise WeakPassword unless ``password`` is acceptable: long enough and not easy to guess.

    ``user_inputs``: words about the person (email, name) that make a password weak when it
    uses them.  The message says what is wrong and how to do better, for the form or console.
    """
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters (a few words make a good one).")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Use at most {MAX_LENGTH} characters.")
    if not password.strip():
        raise WeakPassword("A password cannot be only spaces.")
    from zxcvbn import zxcvbn

    inputs = [w for value in user_inputs if value for w in _words(value)]
    # zxcvbn reads only the first 72 characters (its own limit); the rest only makes it stronger.
    result = zxcvbn(password[:72], user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        feedback = result.get("feedback") or {}
        personal = any(m.get("dictionary_name") == "user_inputs" for m in result.get("sequence") or [])
        why = feedback.get("warning") or ("It uses your name or email." if personal else "It would be easy to guess.")
        tips = " ".join(feedback.get("suggestions") or []) or "Add another word or two. Uncommon words are better."
        raise WeakPassword(f"This password is too easy to guess. {why.rstrip('.')}. {tips}")


def _words(value: str) -> list[str]:
    """An email or name and its parts ("pat.owner@x.org" → the address, "pat", "owner", "x", "org")."""
    import re

    return [value.lower()] + [w for w in re.split(r"[^a-z0-9]+", value.lower()) if len(w) > 2]


def hash_password(password: str, *, enforce_rules: bool = True, user_inputs: Iterable[str] = ()) -> str:
    """An argon2id hash of ``password``; WeakPassword if it breaks the rules (unless told not to check)."""
    if enforce_rules:
        check_password_rules(password, user_inputs)
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
