"""Text helpers shared by the understanding modules: one normal form for what callers say.

Pure functions over strings; the English tables here are data keyed by language so another
language can be added beside them.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Sequence

# Spoken forms that speech recognisers write either way, folded to one form before matching.
# Applied to whole words only, after ``normalise`` (so "don't" is already "dont").
_CONTRACTIONS: dict[str, dict[str, str]] = {
    "en": {
        "wanna": "want to",
        "gonna": "going to",
        "gotta": "got to",
        "im": "i am",
        "ive": "i have",
        "ill": "i will",  # recognisers write "I'll"; "ill" meaning sick is rarer on this line
        "id": "i would",
        "cannot": "cant",
        "dunno": "dont know",
        "okay": "ok",
        "alright": "all right",
        "tonite": "tonight",
        "til": "till",
        "until": "till",
    },
}
_TWO_WORD_CONTRACTIONS: dict[str, dict[tuple[str, str], str]] = {
    "en": {
        ("can", "not"): "cant",
        ("do", "not"): "dont",
        ("does", "not"): "doesnt",
        ("did", "not"): "didnt",
        ("will", "not"): "wont",
        ("is", "not"): "isnt",
        ("are", "not"): "arent",
        ("would", "not"): "wouldnt",
        ("my", "self"): "myself",
    },
}


def normalise(text: str | None) -> str:
    """Lower-case, strip accents and punctuation, collapse spaces.

    The same rule as ``ivr.core.privacy.normalise_speech`` (copied so the core imports nothing
    outside the standard library): ``"It's April 15th, 1985."`` → ``"its april 15th 1985"``;
    ``"4/15/1985"`` → ``"4 15 1985"``.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[^\w\s']", " ", text).replace("'", "")
    return " ".join(text.split())


def language_key(language: str | None) -> str:
    """``"en-US"`` → ``"en"``: the tables are keyed by the primary language subtag."""
    return (language or "en").split("-")[0].split("_")[0].lower()


def canonical_words(text: str | None, language: str = "en") -> list[str]:
    """Normalised words with contractions folded: ``"I'm gonna"`` → ``["i", "am", "going", "to"]``."""
    table = _CONTRACTIONS.get(language_key(language), {})
    pairs = _TWO_WORD_CONTRACTIONS.get(language_key(language), {})
    words: list[str] = []
    for word in normalise(text).split():
        if words and (words[-1], word) in pairs:
            words[-1] = pairs[(words[-1], word)]
            continue
        words.extend(table.get(word, word).split())
    return words


def clauses(text: str | None) -> list[str]:
    """Split raw speech where a pause or a turn is written: punctuation, and the word "but".

    ``"I'm not suicidal, but I'm struggling"`` → ``["I'm not suicidal", "I'm struggling"]``.
    Negation never reaches across a clause.
    """
    if not text:
        return []
    parts = re.split(r"[.,;:!?]+|\bbut\b|\bthough\b|\bhowever\b", str(text), flags=re.IGNORECASE)
    return [p.strip() for p in parts if p and p.strip()]


def stem(word: str) -> str:
    """A light English plural fold so 'appointments' matches 'appointment' (both sides are folded)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def negated(words: Sequence[str], start: int, negators: Container[str], bridges: Container[str],
            reach: int = 4) -> bool:
    """Whether the words before ``words[start]`` deny it: a negator, reached back over at most ``reach``
    bridge words ("I don't really want to *cancel*").  ``words``: normalised words; ``start``: an index."""
    end = start
    for _ in range(reach):
        if end > 0 and words[end - 1] in negators:
            return True
        if end == 0 or words[end - 1] not in bridges:
            return False
        end -= 1
    return False
