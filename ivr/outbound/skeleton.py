"""What a reader SEES in outbound words, for the discretion lint: skeletons that survive disguises.

A word can be disguised without changing what a reader sees: look-alike letters from other scripts
(a Cyrillic "е" in "thеrapy"), full-width letters ("ｔｈｅｒａｐｙ"), invisible characters
("thera\u200bpy"), digits for letters ("th3rapy", "counse1ing"), separators ("L.C.C.",
"lakeside-counseling", "t h e r a p y") or run together ("LakesideCC", a web address
"https://lakesidecounseling.example/pay").  :func:`skeleton` undoes all of these:

1. NFKC (full-width and other compatibility forms become plain letters), invisible format
   characters (category Cf: zero-width spaces and joiners, soft hyphens) dropped;
2. every character Unicode's confusables data (TR39, through the ``confusable-homoglyphs`` package)
   says looks like a Latin letter or digit becomes that letter;
3. each whitespace-separated token is split into PARTS at anything not a letter or digit and at a
   change of case ("LakesideCC" → "Lakeside", "CC"); digits inside a part that has letters are read
   as the letters they stand for (0 o, 1 l or i, 3 e, 4 a, 5 s, 7 t; ``@`` a, ``$`` s);
4. everything is case folded; runs of one-letter tokens or parts are joined ("t h e r a p y",
   "L.C.C." → "therapy", "lcc").

The lint then looks for its words in three places (:class:`Skeleton`): ``words`` (the parts as
words, for whole-word matches of short words and phrases: "dbt", "meds", "medication management"),
``compact`` (each token with its separators removed, where long words and stems are found INSIDE:
"hypnotherapy", "lakesidecounseling.example"), and ``spaced`` (one-letter runs joined).

Decided, and tested: two ordinary words are never joined, so "the rapist" is not "therapist" and
"Lake Street" is not "lakeside"; a disguise within one token ("the-rapist", "TheRapist", "the.rapist")
is caught.  Short words (fewer than :data:`INSIDE_MIN` letters: initials, "dbt", "Chen") are only
found as whole parts, never inside others ("kitchen" does not name Dr. Chen, "medical" is not
"meds").

Pure: strings in, strings out.
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import product

from confusable_homoglyphs import confusables  # type: ignore[import-untyped]

# A word this long or longer is also looked for inside longer runs of letters (a web address, a compound).
INSIDE_MIN = 5
# Digits (and symbols) written for letters, within a part that has letters too.  1 may be l or i.
_FOR_LETTERS: Mapping[str, tuple[str, ...]] = {
    "0": ("o",), "1": ("l", "i"), "3": ("e",), "4": ("a",), "5": ("s",), "7": ("t",), "@": ("a",), "$": ("s",),
}
_SPLIT_RE = re.compile(r"[^0-9A-Za-z@$]+")
_CASE_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_ONE_LETTER = re.compile(r"^[a-z]$")


@cache
def _latin_lookalikes() -> Mapping[str, str]:
    """Every character the confusables data says looks like one ASCII letter or digit, mapped to it."""
    data = confusables.confusables_data  # {char: [{"c": look-alike, "n": name}, …]}, both ways
    out: dict[str, str] = {}
    for char, entries in data.items():
        if char.isascii():
            for entry in entries:
                other = entry.get("c", "")
                if len(other) == 1 and not other.isascii():
                    out.setdefault(other, char)
        else:
            for entry in entries:
                other = entry.get("c", "")
                if len(other) == 1 and other.isascii() and other.isalnum():
                    out.setdefault(char, other)
                    break
    # One step further: a character that looks like a small-capital Latin letter looks like that letter
    # (Cyrillic "т" and Greek "τ" are listed only beside "ᴛ", LATIN LETTER SMALL CAPITAL T).
    for char, entries in data.items():
        if char in out or char.isascii():
            continue
        for other in [char] + [e.get("c", "") for e in entries]:
            letter = _small_capital(other)
            if letter:
                out[char] = letter
                break
    return out


def _small_capital(char: str) -> str | None:
    """``"ᴛ"`` → ``"t"``: the Latin letter a LATIN LETTER SMALL CAPITAL is."""
    if len(char) != 1:
        return None
    m = re.fullmatch(r"LATIN LETTER SMALL CAPITAL ([A-Z])", unicodedata.name(char, ""))
    return m.group(1).lower() if m else None


def latin(text: str) -> str:
    """``text`` as a reader sees it: NFKC, invisible characters dropped, look-alikes made Latin (case kept)."""
    text = unicodedata.normalize("NFKC", text)
    table = _latin_lookalikes()
    return "".join(table.get(c, c) for c in text if unicodedata.category(c) != "Cf")


def _readings(part: str) -> list[str]:
    """A part with letters, digits for letters read both ways ("counse1ing" → counseling, counseiing)."""
    if not any(c.isalpha() for c in part) or not any(c in _FOR_LETTERS for c in part):
        return [part.replace("@", "").replace("$", "")]
    choices = [_FOR_LETTERS.get(c, (c,)) for c in part]
    readings = {"".join(p) for p in product(*choices)} if len(part) <= 40 else {part}
    return sorted(readings)


@dataclass(frozen=True)
class Skeleton:
    """The skeletons of one text (all case folded, Latin letters and digits only)."""

    words: str  # every part, space separated: whole-word matches
    compact: tuple[str, ...]  # each token, separators removed: long words and stems found inside
    spaced: tuple[str, ...]  # runs of one-letter tokens or parts, joined ("t h e r a p y", "L.C.C.")

    def has_word(self, word: str) -> bool:
        """``word`` (a word or a phrase, letters only once skeletonised) as whole words, plurals included,
        or, when it is long, inside any token; one-letter runs count as one token."""
        target = " ".join(skeleton(word).words.split())
        if not target:
            return False
        if re.search(r"(?<![a-z0-9])" + re.escape(target) + r"(?:s|es)?(?![a-z0-9])", self.words):
            return True
        joined = target.replace(" ", "")
        if any(joined == run or (len(joined) >= INSIDE_MIN and joined in run) for run in self.spaced):
            return True
        return len(joined) >= INSIDE_MIN and any(joined in token for token in self.compact)

    def has_split(self, word: str) -> bool:
        """``word`` (one word, at least ``INSIDE_MIN`` letters) written as two or three words in a row ("Lake Side"
        for "lakeside"): for the practice's own distinctive words only, never the care vocabulary, so two ordinary
        words ("the rapist") are still never joined."""
        joined = "".join(skeleton(word).words.split())
        if len(joined) < INSIDE_MIN:
            return False
        parts = self.words.split()
        return any("".join(parts[i:i + n]) == joined or "".join(parts[i:i + n]) == joined + "s"
                   for n in (2, 3) for i in range(len(parts) - n + 1))

    def has_care_split(self, word: str) -> bool:
        """A care word (``care_vocabulary.toml``'s ``[split]``) written as two or three words in a row ("ther apy"),
        unless a part is "the" (so "the rapist", two ordinary words, is never joined into "therapist")."""
        joined = "".join(skeleton(word).words.split())
        parts = self.words.split()
        for n in (2, 3):
            for i in range(len(parts) - n + 1):
                run = parts[i:i + n]
                if "the" not in run and "".join(run) in (joined, joined + "s"):
                    return True
        return False

    def has_stem(self, stem: str) -> bool:
        """``stem`` anywhere inside any token or one-letter run ("therap" in "hypnotherapy")."""
        return any(stem in token for token in self.compact + self.spaced)


@lru_cache(maxsize=4096)
def skeleton(text: str) -> Skeleton:
    """The skeletons of ``text`` (see the module's docstring)."""
    words: list[str] = []
    compact: list[str] = []
    spaced: list[str] = []
    run: list[str] = []

    def close_run() -> None:
        if len(run) >= 2:
            spaced.append("".join(run))
        run.clear()

    for token in latin(text).split():
        parts = [p for chunk in _SPLIT_RE.split(token) for p in _CASE_RE.split(chunk) if p]
        readings = [[r.casefold() for r in _readings(p)] for p in parts]
        for options in readings:
            words.extend(options)
        if not readings:
            continue
        firsts = [options[0] for options in readings]
        compact.extend({"".join(choice) for choice in product(*readings)} if len(readings) <= 8
                       else {"".join(firsts)})
        for part in firsts:
            if _ONE_LETTER.match(part):
                run.append(part)
            else:
                close_run()
                # a part of letters between one-letter ones is its own word ("L.C.C. Lakeside")
    close_run()
    return Skeleton(" ".join(words), tuple(compact), tuple(spaced))


@dataclass(frozen=True)
class CareVocabulary:
    """Words revealing care beyond ``ivr.core.privacy``'s: stems found inside words, whole words, and care words
    refused even split in two or three (``split``)."""

    stems: tuple[str, ...]
    words: tuple[str, ...]
    split: tuple[str, ...] = ()


@cache
def care_vocabulary() -> CareVocabulary:
    """``care_vocabulary.toml`` beside this module (its sources are written there)."""
    with resources.files(__package__).joinpath("care_vocabulary.toml").open("rb") as fh:
        data = tomllib.load(fh)
    stems = tuple(str(s) for s in data["stems"]["words"])
    words = tuple(str(w) for group in data["words"].values() for w in group)
    split = tuple(str(w) for w in data.get("split", {}).get("words", ()))
    return CareVocabulary(stems, words, split)


def found(text: str, words: Iterable[str], *, stems: Iterable[str] = ()) -> list[str]:
    """Which of ``words`` (whole, or inside when long) and ``stems`` (inside) ``text``'s skeleton holds, in the
    order given (words first)."""
    seen = skeleton(text)
    out = [w for w in words if w.strip() and seen.has_word(w)]
    return out + [s for s in stems if seen.has_stem(s)]
