"""Staff passwords: argon2id hashes (argon2-cffi), a length and guessability rule, rehashing when parameters change.

Guessability is zxcvbn's estimate (Dropbox's model: dictionaries of common
passwords, names and words, keyboard patterns, repeats, dates, l33t): a password
must score at least ``MIN_SCORE`` of 4.  The person's own email and name, the
practice's name and the words of the field and product (``FIELD_WORDS``: quietline,
therapy, counseling, clinic, practice, wellness, …) are zxcvbn ``user_inputs``: the
first guesses an attacker of a therapy practice's dashboard tries.  zxcvbn still
multiplies the guesses of each token, so ``robinhale1234`` would pass on its score
alone: a password built on those words must also be strong without them (what is
left once they are taken out must score ``MIN_SCORE`` on its own).  Passphrases of
a few ordinary words pass; ``aaaaaaaaaaaaaaa``, ``password1234``, ``robinhale1234``
for Robin Hale and ``Lakeside2026!!`` at Lakeside Counseling Collective do not.

Hashes carry their own parameters, so raising the cost later only needs
``needs_rehash`` at the next successful login; old hashes keep verifying.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ivr.exceptions import WeakPassword

MIN_LENGTH = 12
# zxcvbn's scale: 3 = "safely unguessable: moderate protection from offline slow-hash scenario" (~10^8 guesses).
MIN_SCORE = 3
# argon2's own ceiling is far higher; this keeps a pasted novel from costing a worker seconds.
MAX_LENGTH = 256

# Words anyone guessing a therapy practice's staff passwords tries first (with the practice's own name).
FIELD_WORDS = (
    "quietline", "therapy", "therapist", "therapeutic", "counseling", "counselling", "counselor", "counsellor",
    "counsel", "clinic", "clinical", "clinician", "practice", "wellness", "wellbeing", "health", "healthcare",
    "mental", "psychology", "psychologist", "psychotherapy", "psychiatry", "psychiatric", "behavioral",
    "behavioural", "healing", "mindfulness",
)
# Known words shorter than this are not taken out of a password (they would eat ordinary words' letters).
KNOWN_WORD_MIN = 3
# Common letter-for-symbol swaps, undone before looking for known words ("Th3rapy", "c0unseling").
_L33T = (str.maketrans("0134579@$!|", "oieastgasil"), str.maketrans("0134579@$!|", "oleastgasll"))

# argon2-cffi's defaults: RFC 9106's low-memory profile (argon2id, t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH: str | None = None


def check_password_rules(password: str, user_inputs: Iterable[str] = (), *, practice_name: str | None = None) -> None:
    """Raise WeakPassword unless ``password`` is acceptable: long enough and not easy to guess.

    ``user_inputs``: words about the person (email, name) that make a password weak when it
    uses them; ``practice_name`` (and ``FIELD_WORDS``, always) likewise.  The message says
    what is wrong and how to do better, for the form or console.
    """
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters (a few words make a good one).")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Use at most {MAX_LENGTH} characters.")
    if not password.strip():
        raise WeakPassword("A password cannot be only spaces.")
    from zxcvbn import zxcvbn

    personal = [w for value in user_inputs if value for w in _words(value)]
    practice = _words(practice_name) if practice_name else []
    inputs = list(dict.fromkeys(personal + practice + list(FIELD_WORDS)))
    # zxcvbn reads only the first 72 characters (its own limit); the rest only makes it stronger.
    result = zxcvbn(password[:72], user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        feedback = result.get("feedback") or {}
        used = {m.get("matched_word") for m in result.get("sequence") or []
                if m.get("dictionary_name") == "user_inputs"}
        why = feedback.get("warning") or (_built_on(used, personal, practice) if used else "It would be easy to guess.")
        tips = " ".join(feedback.get("suggestions") or []) or "Add another word or two. Uncommon words are better."
        raise WeakPassword(f"This password is too easy to guess. {why.rstrip('.')}. {tips}")
    rest, used = _without(password, inputs)
    if used and (not rest.strip() or zxcvbn(rest[:72], user_inputs=inputs)["score"] < MIN_SCORE):
        raise WeakPassword(f"This password is too easy to guess. {_built_on(used, personal, practice)}, and "
                           "what is left is not strong on its own. Use words of your own that have nothing to do "
                           "with you, the practice or its work.")


def _built_on(used: set[str], personal: list[str], practice: list[str]) -> str:
    """Which kind of known words a password leans on, for its message."""
    kinds = []
    if used & set(personal):
        kinds.append("your name or email")
    if used & set(practice):
        kinds.append("the practice's name")
    if used - set(personal) - set(practice):
        kinds.append("words about the practice's work (like therapy, counseling, clinic or Quietline)")
    return "It is built on " + " and ".join(kinds or ["words about you or the practice"])


def _without(password: str, words: Iterable[str]) -> tuple[str, set[str]]:
    """``password`` with every known word taken out (any case, common l33t swaps), and the words found."""
    known = sorted({w for w in words if len(w) >= KNOWN_WORD_MIN}, key=len, reverse=True)
    keep = [True] * len(password)
    used: set[str] = set()
    for table in _L33T:
        plain = password.lower().translate(table)
        for word in known:
            for match in re.finditer(re.escape(word), plain):
                if all(keep[match.start():match.end()]):
                    keep[match.start():match.end()] = [False] * len(word)
                    used.add(word)
    return "".join(c for c, k in zip(password, keep, strict=True) if k), used


def _words(value: str) -> list[str]:
    """An email or name and its parts ("pat.owner@x.org" → the address, "pat", "owner", "x", "org";
    "Lakeside Counseling Collective" → the name, its words and the name run together)."""
    lowered = value.lower()
    parts = [w for w in re.split(r"[^a-z0-9]+", lowered) if len(w) > 2]
    return list(dict.fromkeys([lowered, "".join(re.split(r"[^a-z0-9]+", lowered.split("@")[0]))] + parts))


def hash_password(password: str, *, enforce_rules: bool = True, user_inputs: Iterable[str] = (),
                  practice_name: str | None = None) -> str:
    """An argon2id hash of ``password``; WeakPassword if it breaks the rules (unless told not to check)."""
    if enforce_rules:
        check_password_rules(password, user_inputs, practice_name=practice_name)
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
