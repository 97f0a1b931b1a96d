"""Crisis in any words: suicide, self-harm, harm to others, danger and medical emergencies.

``assess(text)`` grades what a caller said at any prompt (or a voicemail transcript) as CRISIS (with
its categories), UNSURE (near a crisis, or a crisis word denied with a hedge: the caller is offered
"If you are in crisis, press 9 now") or NONE. The phrases are data, per language, in
``crisis_phrases.toml`` beside this module, with their sources; docs/understanding.md explains how to
maintain them. Pure: text in, a value out. Nothing here logs, and ``CrisisAssessment.matched`` repeats
what the caller said, so it must never be logged or stored in clear either.

The rules, in order:
1. Each phrase list is matched on whole words after normalising ("I'm" → "i am", "don't" → "dont").
   Where two matches overlap and one covers the other, the longer decides ("hurt her feelings" is
   everyday speech; "cant go on like this" is UNSURE, not the CRISIS "cant go on"). A phrase reads on across
   punctuation, the recogniser's guess at a pause ("help, fire!" is "help fire"); each clause alone is read too,
   and the graver reading decides (``_assess``).
2. A hedge before "can" or "want to" is not a denial: the list's ``hedged`` reads "I don't think I can go on"
   as "I can't go on" before matching (the hedge still counts for rule 4).
   A crisis phrase right after a negator ("not", "never", "no thoughts of", ... with up to three
   bridge words: "I'm not going to hurt myself") is a denial. Negation inside a phrase is part of it:
   "I don't want to live anymore" is a crisis. A negation never reaches across punctuation or "but".
3. Any crisis phrase not denied → CRISIS, except one said as over ("I was suicidal last year but I'm
   better now": a past lead-in before it and a past time anywhere) or as a subject for a session
   ("talk about my suicidal thoughts in my next session": a topic lead-in and a routine word), which
   counts as UNSURE. Else any UNSURE phrase (not denied) → UNSURE.
   Means at hand ("I have a gun", the list's ``means``) is UNSURE alone, CRISIS with any UNSURE phrase
   (distress) in the same text: "I am not okay, I have a gun" (suicide or self-harm). An UNSURE phrase listed
   under a category (``[en.unsure] harm_to_others``: revenge, rage) gives the means that category:
   "I'm going to make them pay, I have a gun" is harm to others.
4. Else a denial with a hedge ("I don't think I'm suicidal") → UNSURE; a denial beside an ordinary
   request ("I'm not suicidal, I need my link") → NONE; a bare denial ("I'm not suicidal.") → UNSURE.
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any

from ivr.core.text import canonical_words, clauses, language_key
from ivr.exceptions import PhraseListError, UnsupportedLanguage


class CrisisLevel(str, Enum):
    NONE = "none"
    UNSURE = "unsure"  # offer the crisis option ("If you are in crisis, press 9 now") and go on
    CRISIS = "crisis"  # go to the crisis path now


class CrisisCategory(str, Enum):
    """What kind of crisis was heard (most urgent first)."""

    SUICIDE_SELF_HARM = "suicide_self_harm"
    HARM_TO_OTHERS = "harm_to_others"
    IN_DANGER = "in_danger"  # the caller is threatened or hurt by someone
    MEDICAL_EMERGENCY = "medical_emergency"
    UNSPECIFIED = "unspecified"  # "crisis", "emergency" without saying which


@dataclass(frozen=True)
class CrisisAssessment:
    """The grade of one utterance or transcript.

    ``categories``: the CRISIS categories heard (empty unless CRISIS), most urgent first.
    ``denied``: a crisis phrase was said and negated. ``matched``: the list's patterns that decided,
    for tests and for staff reading the call in the dashboard: never log them.
    """

    level: CrisisLevel
    categories: tuple[CrisisCategory, ...] = ()
    denied: bool = False
    matched: tuple[str, ...] = ()

    @property
    def is_crisis(self) -> bool:
        return self.level is CrisisLevel.CRISIS

    @property
    def offer_crisis_option(self) -> bool:
        """True when the caller should hear "If you are in crisis, press 9 now" before going on."""
        return self.level is CrisisLevel.UNSURE


# --------------------------------------------------------------------------- the phrase list


@dataclass(frozen=True)
class _Pattern:
    text: str  # as written in the list
    regex: re.Pattern[str]
    kind: str  # "crisis" | "unsure" | "means" | "everyday"
    category: CrisisCategory | None = None
    alone: bool = False  # UNSURE only when no routine word is said with it (``[<lang>.unsure_alone]``)


@dataclass(frozen=True)
class PhraseList:
    """One language's compiled list: patterns plus negators, bridges, hedges and routine words."""

    language: str
    patterns: tuple[_Pattern, ...]
    negators: tuple[tuple[str, ...], ...]
    adjacent_negators: frozenset[str]
    bridges: frozenset[str]
    hedges: tuple[re.Pattern[str], ...]
    routine: tuple[re.Pattern[str], ...]
    past_lead_ins: tuple[tuple[str, ...], ...] = ()
    past_times: tuple[re.Pattern[str], ...] = ()
    topic_lead_ins: tuple[tuple[str, ...], ...] = ()
    # Languages written without reliable word breaks in speech results (Korean): matched syllable by
    # syllable, so "죽고싶어요" and "죽고 싶어요" are the same words.
    syllables: bool = False
    # Negation said AFTER the phrase (Korean: "죽고 싶지 않아요", "자살 생각은 없어요"): one of these
    # starting within ``post_reach`` units after the phrase's end denies it.
    post_negators: tuple[tuple[str, ...], ...] = ()
    post_reach: int = 0
    # Words that, right after a negator, say the act goes on ("she won't stop hitting me", "he can't stop",
    # "it doesn't stop"): a phrase that starts with one of them is never denied by the negator before it.
    continuers: frozenset[str] = frozenset()

    fillers: Fillers | None = None
    # Hedges read as the plain words before matching ("i dont think i can" → "i cant"): (hedge, plain), longest
    # hedge first. A hedge is not a denial: "I don't think I can go on" is "I can't go on", said softly.
    hedged: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    # A negator right after one of these is cancelled: "I can't not think about killing myself", "I'm not NOT going to
    # kill myself" (a double negative says the phrase). ``[<lang>] double_negators``.
    double_negators: frozenset[str] = frozenset()
    # A clause that takes back the denial of the clause before it ("I don't want to hurt myself, but I can't stop",
    # "I didn't hurt myself yet, but I'm about to"): each matched at the clause's start. ``[<lang>] reversals``.
    reversals: tuple[re.Pattern[str], ...] = ()
    # The sounds of looking for a word ("um", "uh"), with the punctuation after them: dropped from what was said
    # before anything is read. ``[<lang>] hesitations``; None when the list names none.
    hesitation: re.Pattern[str] | None = None

    def __len__(self) -> int:
        return len(self.patterns)

    def text(self, words: Iterable[str], pauses: frozenset[int] = frozenset()) -> str:
        """``words`` as the patterns search them (``marked_text``); ``pauses``: indices of the units a pause
        follows."""
        return marked_text(words, self.fillers, pauses)


# The text a phrase list is matched on: each unit (word or syllable) followed by \x01, the letters of
# the filler kinds it belongs to (see ``Fillers``), then a space: " took\x01 all\x01aq my\x01d pills\x01 ".
# So a filler gap is a few character classes ("a word of kind q") instead of every filler word spelled
# out at every gap: the English list compiles in a fraction of a second instead of seconds.
# The kinds are written as control characters (\x02 adverb ... \x07 adjective) and the regexes hold them
# as they are, not escaped: the regex source stays short, and Python parses regexes char by char.
_MARK = "\x01"
# A pause written after a unit (punctuation: "help, fire"): one more mark in its kind part ("help\x01\x08 "), so a
# phrase reads on across it as the words would without the comma, and "$" (the end of what was said) also matches
# there ("help fire $" in "help, fire, please come").
_PAUSE = "\x08"
_WORD_END = "\x01\\S* "
_MARKS = re.compile("\x01[^ ]*")
_KIND_CHARS = {"a": "\x02", "q": "\x03", "n": "\x04", "m": "\x05", "d": "\x06", "j": "\x07"}


def _kind(letter: str) -> str:
    """One unit whose filler kinds include ``letter`` (only the kind part holds the control chars)."""
    return "\\S*" + _KIND_CHARS[letter] + "\\S* "


def marked_text(words: Iterable[str], fillers: Fillers | None = None, pauses: frozenset[int] = frozenset()) -> str:
    """What compiled patterns search: " " + each unit with its filler kinds (see ``_MARK``) + " "; ``pauses``: the
    indices of the units a pause follows (``_PAUSE``)."""
    return " " + "".join(_marked(i, w, fillers, pauses) for i, w in enumerate(words))


def _marked(at: int, word: str, fillers: Fillers | None, pauses: frozenset[int]) -> str:
    """One unit of ``marked_text``, with its trailing space."""
    return f"{word}{_MARK}{fillers.kinds_of(word) if fillers else ''}{_PAUSE if at in pauses else ''} "


def plain(found: str) -> str:
    """A match on ``marked_text`` as the words said: "took\x01 all\x01aq pills\x01 " → "took all pills "."""
    return _MARKS.sub("", found)


_SLOT_ALT = re.compile(r"[a-z0-9_'~\uac00-\ud7a3]+\*?")
# "~" in a pattern: any one word (unit); ``compile_pattern(any_word=...)`` may narrow it (``wildcard_any``).
ANY_WORD = "[^ \x01]+"


def wildcard_any(excluded: Iterable[str]) -> str:
    """The regex of "~": any one word except ``excluded`` ("vitamin", "not": a list's ``wildcard_not``)."""
    words = sorted({w for w in excluded if w}, key=len, reverse=True)
    if not words:
        return ANY_WORD
    return "(?!(?:" + "|".join(re.escape(w) for w in words) + ")\x01)" + ANY_WORD
_HANGUL_SYLLABLE = re.compile(r"[\uac00-\ud7a3]|[^\uac00-\ud7a3]+")


def units(text: str | None, *, syllables: bool = False, language: str = "en") -> list[str]:
    """What a phrase list is matched on: normalised words (``canonical_words``), or with ``syllables``
    each Hangul syllable as one unit (spaces dropped, other runs of letters or digits kept whole):
    "죽고 싶어요" and "죽고싶어요" → ["죽", "고", "싶", "어", "요"]."""
    if not syllables:
        return canonical_words(text, language)
    folded = re.sub(r"[^\w\s]", " ", unicodedata.normalize("NFC", text or "").lower())
    return [piece for chunk in folded.split() for piece in _HANGUL_SYLLABLE.findall(chunk)]


def compile_pattern(pattern: str, *, syllables: bool = False, fillers: Fillers | None = None,
                    any_word: str = ANY_WORD) -> re.Pattern[str]:
    """Turn a list pattern into a regex over ``" " + " ".join(words) + " "``.

    Syntax: ``word``, ``a|b`` (one of), ``[a|b]`` (optional), ``word*`` (prefix), ``...`` (up to three
    words), ``$`` (end of the text), ``@name`` (any word of the list's ``slots.name``: ``expand_slots``);
    ``_`` joins words inside one choice, ``~`` is any one word (``any_word``: "took all my ~_pills" hears "took all
    my buspirone pills", a medicine the list does not name). With ``syllables`` each Hangul
    syllable is one unit (see ``units``) and ``...`` is up to six of them. ``fillers`` (see
    ``filler_gap``): the words allowed between two slots ("took all of my sleeping pills" for "took all
    my pills"); then ``#`` is a number ("thirty", "25"), a slot written ``=word`` takes no fillers before
    it ("took =pills $": "I took my pills" is routine), and after a quantity ("all", "many", a number)
    the fillers may start with "of". Raises PhraseListError.
    """
    pieces: list[str] = []
    slots = pattern.split()
    if not slots:
        raise PhraseListError(f"empty crisis phrase {pattern!r}")
    gap = fillers.gap if fillers else ""
    previous = ""
    for slot in slots:
        if slot == "#" and fillers:
            pieces.append(("" if previous in ("", "...") else _lead(gap, previous, fillers)) + fillers.number)
            previous = "#"
            continue
        if slot == "...":
            pieces.append(r"(?:[^ ]+ ){0,6}" if syllables else r"(?:[^ ]+ ){0,3}")
            previous = slot
            continue
        if slot == "$":
            pieces.append(r"(?:$|(?<=\x08 ))")  # the end of the text, or a pause (``_PAUSE``)
            previous = slot
            continue
        tight = slot.startswith("=")
        slot = slot[1:] if tight else slot
        # fillers between two word slots, never at the phrase's edges nor beside "..."
        lead = _lead(gap, previous, fillers) if gap and previous not in ("", "...") and not tight else ""
        previous = slot
        optional = slot.startswith("[") and slot.endswith("]")
        body = slot[1:-1] if optional else slot
        choices = sorted(body.split("|"), key=len, reverse=True)  # the longest choice first: "죽|죽겠"
        alternatives = []
        literal = [c for c in choices if _SLOT_ALT.fullmatch(c) and not c.endswith("*") and "~" not in c]
        if not syllables and len(literal) >= _TRIE_FROM:
            # a long list of plain words (a slot: @medicine): one prefix tree, compiled and searched far faster
            alternatives.append(_trie([c.replace("_", " ") for c in literal]))
            choices = [c for c in choices if c not in set(literal)]
        for choice in choices:
            if not _SLOT_ALT.fullmatch(choice):
                raise PhraseListError(f"bad word {choice!r} in crisis phrase {pattern!r}")
            words = choice.replace("_", " ")
            if syllables:
                words = " ".join(units(words.rstrip("*"), syllables=True)) + ("*" if words.endswith("*") else "")
            prefix = words.endswith("*")
            parts = [any_word if w == "~" else re.escape(w) for w in words.rstrip("*").split(" ")]
            if prefix:
                parts[-1] += "[^ \x01]*"
            alternatives.append(_WORD_END.join(parts))
        group = "(?:" + "|".join(alternatives) + ")" + _WORD_END
        pieces.append(f"(?:{lead}{group})?" if optional else lead + group)
    return re.compile(r"(?<= )" + "".join(pieces))


_TRIE_FROM = 8  # choices in one slot from which they are matched as a prefix tree


def _trie(phrases: list[str]) -> str:
    """One regex for plain word choices ("zoloft", "sleeping pills"), as a prefix tree of their characters, a space
    between two words read as the end of a unit (``_WORD_END``): the same matches as "a|b|c", at a fraction of the
    compile and search time for hundreds of words."""
    end = ""  # the key that marks a phrase ending here
    root: dict[str, Any] = {}
    for phrase in phrases:
        node = root
        for char in phrase:
            node = node.setdefault(char, {})
        node[end] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [(_WORD_END if char == " " else re.escape(char)) + emit(child)
                    for char, child in sorted(node.items()) if char != end]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # a phrase may end here and a longer one go on: try the longer first (as "longest choice first" does)
        return f"(?:{body})?" if end in node else body

    return emit(root)


@dataclass(frozen=True)
class Fillers:
    """One language's filler grammar: ``gap`` (a regex, possibly empty), ``number`` (a regex of a count of
    five or more: ``#``), the quantity words after which the fillers may start with "of", and ``kinds``:
    each filler word → the letters of its kinds (a adverb, q quantity, n number, m many, d determiner,
    j adjective), written into the text by ``marked_text``."""

    gap: str
    number: str
    quantities: frozenset[str]
    kinds: Mapping[str, str] = field(default_factory=dict)

    def kinds_of(self, word: str) -> str:
        """The kind letters of ``word``; digits are quantities and numbers, and "many" from 5 or 10 up."""
        if word.isdigit() and word.isascii():
            return "\x03\x04" + ("\x05" if len(word) > 1 or word >= "5" else "")
        return self.kinds.get(word, "")


def _lead(gap: str, previous: str, fillers: Fillers | None) -> str:
    """The fillers allowed before a slot, given the slot before it: "of" may open them after a quantity."""
    if fillers is None:
        return gap
    last_words = {choice.replace("_", " ").split()[-1] for choice in previous.strip("[]").split("|") if choice}
    if previous == "#" or (last_words and last_words <= fillers.quantities):
        return "(?:of" + _WORD_END + ")?" + gap
    return gap


_FILLER_KINDS = ("adverbs", "quantities", "numbers", "many", "determiners", "adjectives")


def filler_gap(fillers: Mapping[str, Any], language: str = "") -> Fillers | None:
    """The regex of the words a caller may put between two words of a phrase, from a list's ``fillers``.

    A small noun-phrase grammar, so the gap cannot swallow a verb or a negation: up to two adverbs
    ("way", "like"), then quantities with an optional "of" ("too many of", "a whole bottle of",
    "thirty of"; digits count as quantities), then one determiner or possessive ("my", "the"), then up
    to two adjectives ("sleeping"). "of" alone is no filler: "the end of my life" is not "end my life".
    ``fillers``: {"adverbs", "quantities", "numbers", "determiners", "adjectives"}: lists of words.
    Raises PhraseListError. An empty mapping gives None (no fillers: the Korean list).
    """
    if not fillers:
        return None
    unknown = set(fillers) - set(_FILLER_KINDS)
    if unknown:
        raise PhraseListError(f"crisis phrases for {language!r}: unknown filler kinds {sorted(unknown)}")
    letters = {"adverbs": "a", "quantities": "q", "numbers": "n", "many": "m", "determiners": "d",
               "adjectives": "j"}
    kinds: dict[str, str] = {}
    for kind in _FILLER_KINDS:
        words = fillers.get(kind, [])
        if not isinstance(words, list) or not all(isinstance(w, str) and re.fullmatch(r"[a-z']+", w)
                                                  for w in words):
            raise PhraseListError(f"crisis phrases for {language!r}: fillers.{kind} must be single lower-case words")
        # numbers and counts are quantities too ("thirty of my pills")
        own = letters[kind] + ("q" if kind in ("numbers", "many") else "")
        for w in words:
            kinds[w] = "".join(sorted(set(kinds.get(w, "") + "".join(_KIND_CHARS[c] for c in own))))

    def repeat(letter: str, most: int) -> str:
        return f"(?:{_kind(letter)}){{0,{most}}}"

    determiner = f"(?:{_kind('d')})?"
    quantity = f"(?:{determiner}(?:{_kind('q')}){{1,4}}(?:of{_WORD_END})?)?"
    gap = repeat("a", 2) + quantity + determiner + repeat("j", 2)
    # "#": a count of five or more, one to three words ("twenty five"), after any smaller number words
    number = f"(?:{_kind('n')}){{0,2}}{_kind('m')}"
    return Fillers(gap, number, frozenset(fillers.get("quantities", [])), kinds)


def _slot_lists(slots: Any, language: str) -> dict[str, str]:
    """A list's ``slots`` table ({"medicine": ["zoloft", "xanax", ...]}) as name → "zoloft|xanax|...".
    Raises PhraseListError for a table that is not lists of words."""
    if not isinstance(slots, Mapping):
        raise PhraseListError(f"crisis phrases for {language!r}: slots must be a table")
    out: dict[str, str] = {}
    for name, words in slots.items():
        if not isinstance(words, list) or not words or not all(
                isinstance(w, str) and _SLOT_ALT.fullmatch(w) for w in words):
            raise PhraseListError(f"crisis phrases for {language!r}: slots.{name} must be a list of words")
        out[name] = "|".join(words)
    return out


def expand_slots(pattern: str, slots: Mapping[str, str]) -> str:
    """``pattern`` with each choice ``@name`` replaced by the words of the list's slot ``name``:
    "took all my @medicine" → "took all my zoloft|xanax|...". Raises PhraseListError for an unknown name."""
    if "@" not in pattern:
        return pattern
    out = []
    for token in pattern.split(" "):
        optional = token.startswith("[") and token.endswith("]")
        body = token[1:-1] if optional else token
        tight = body.startswith("=")
        body = body[1:] if tight else body
        choices = []
        for choice in body.split("|"):
            if choice.startswith("@"):
                if choice[1:] not in slots:
                    raise PhraseListError(f"unknown slot {choice!r} in crisis phrase {pattern!r}")
                choices.append(slots[choice[1:]])
            else:
                choices.append(choice)
        body = ("=" if tight else "") + "|".join(choices)
        out.append(f"[{body}]" if optional else body)
    return " ".join(out)


def _phrase_regexes(phrases: Iterable[str], syllables: bool = False) -> tuple[re.Pattern[str], ...]:
    return tuple(compile_pattern(p, syllables=syllables) for p in phrases)


def load_phrase_list(data: Mapping[str, Any], language: str) -> PhraseList:
    """Compile one language's section of the phrase data (the parsed TOML). Raises PhraseListError."""
    section = data.get(language)
    if not isinstance(section, Mapping):
        raise UnsupportedLanguage(f"no crisis phrases for language {language!r}")
    try:
        crisis = section["crisis"]
        unsure = section["unsure"]["phrases"]
        # other keys of the unsure table: near a crisis, aimed at one category (the means take it: rule 3)
        aimed = {k: v for k, v in section["unsure"].items() if k != "phrases"}
        everyday = section["everyday"]["phrases"]
        means = section.get("means", {}).get("phrases", [])
        unsure_alone = section.get("unsure_alone", {}).get("phrases", [])
        hedged = section.get("hedged", {})
        paraphrases = section.get("paraphrases", {})
        negators, bridges, hedges, routine = (section[k] for k in ("negators", "bridges", "hedges", "routine"))
    except (KeyError, TypeError) as exc:
        raise PhraseListError(f"crisis phrases for {language!r}: missing {exc}") from None
    by_unit = section.get("units", "words")
    if by_unit not in ("words", "syllables"):
        raise PhraseListError(f"crisis phrases for {language!r}: units must be 'words' or 'syllables'")
    syllables = by_unit == "syllables"
    fillers = section.get("fillers", {})
    if not isinstance(fillers, Mapping):
        raise PhraseListError(f"crisis phrases for {language!r}: fillers must be a table")
    grammar = filler_gap(fillers, language)
    named = _slot_lists(section.get("slots", {}), language)
    not_any = section.get("wildcard_not", [])
    if not isinstance(not_any, list) or not all(isinstance(w, str) and _SLOT_ALT.fullmatch(w) for w in not_any):
        raise PhraseListError(f"crisis phrases for {language!r}: wildcard_not must be a list of words")
    any_word = wildcard_any(not_any)

    def compiled(p: str) -> re.Pattern[str]:
        return compile_pattern(expand_slots(p, named), syllables=syllables, fillers=grammar, any_word=any_word)

    def runs(phrases: Iterable[str]) -> tuple[tuple[str, ...], ...]:
        split = (tuple(units(p, syllables=syllables, language=language)) for p in phrases)
        return tuple(sorted(split, key=len, reverse=True))

    patterns: list[_Pattern] = []

    def category(name: str, where: str) -> CrisisCategory:
        try:
            return CrisisCategory(name)
        except ValueError:
            raise PhraseListError(f"unknown crisis category {name!r} {where}({language})") from None

    for name, phrases in crisis.items():
        kind = category(name, "")
        patterns += [_Pattern(p, compiled(p), "crisis", kind) for p in phrases]
    patterns += [_Pattern(p, compiled(p), "unsure") for p in unsure]
    for name, phrases in aimed.items():
        kind = category(name, "in unsure ")
        patterns += [_Pattern(p, compiled(p), "unsure", kind) for p in phrases]
    patterns += [_Pattern(p, compiled(p), "unsure", alone=True) for p in unsure_alone]
    patterns += [_Pattern(p, compiled(p), "means", CrisisCategory.SUICIDE_SELF_HARM) for p in means]
    patterns += [_Pattern(p, compiled(p), "everyday") for p in everyday]
    for name, table in (("hedged", hedged), ("paraphrases", paraphrases)):
        if not isinstance(table, Mapping) or not all(isinstance(v, str) for v in table.values()):
            raise PhraseListError(f"crisis phrases for {language!r}: {name} must map words to the list's own words")
    # hedges and paraphrases are both read as the list's own words before matching ("i am not able to" → "i cant")
    rewrites = sorted(((tuple(units(k, syllables=syllables, language=language)),
                        tuple(units(v, syllables=syllables, language=language)))
                       for k, v in [*hedged.items(), *paraphrases.items()]),
                      key=lambda pair: len(pair[0]), reverse=True)
    return PhraseList(
        language=language,
        patterns=tuple(patterns),
        negators=runs(negators),
        adjacent_negators=frozenset(section.get("adjacent_negators", ())),
        bridges=frozenset(bridges),
        hedges=_phrase_regexes(hedges, syllables),
        routine=_phrase_regexes(routine, syllables),
        past_lead_ins=runs(section.get("past_lead_ins", ())),
        past_times=_phrase_regexes(section.get("past_times", ()), syllables),
        topic_lead_ins=runs(section.get("topic_lead_ins", ())),
        syllables=syllables,
        post_negators=runs(section.get("post_negators", ())),
        post_reach=int(section.get("post_reach", 0)),
        continuers=frozenset(section.get("continuers", ())),
        fillers=grammar,
        hedged=tuple(rewrites),
        double_negators=frozenset(section.get("double_negators", ())),
        reversals=_phrase_regexes(section.get("reversals", ()), syllables),
        hesitation=_hesitation(section.get("hesitations", ()), language),
    )


def _hesitation(words: Any, language: str) -> re.Pattern[str] | None:
    """One pattern for the ``[<lang>] hesitations`` words, each whole and with the punctuation after it. Raises
    PhraseListError."""
    if not isinstance(words, (list, tuple)) or not all(isinstance(w, str) and w.strip() for w in words):
        raise PhraseListError(f"crisis phrases for {language!r}: hesitations must be a list of words")
    if not words:
        return None
    alternatives = "|".join(re.escape(w.strip()) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)[.,;:!?]*", re.IGNORECASE)


@cache
def _data() -> Mapping[str, Any]:
    with resources.files(__package__).joinpath("crisis_phrases.toml").open("rb") as fh:
        return tomllib.load(fh)


def phrase_list(language: str = "en") -> PhraseList:
    """The compiled list for ``language`` (BCP-47 or primary subtag). Raises UnsupportedLanguage."""
    return compiled_list(language_key(language))


@cache
def compiled_list(key: str) -> PhraseList:
    """The compiled list of one primary subtag ("en"), built once per process: cached by the subtag, so
    "en-US" and "en" share one (cached by the tag, each tag once paid the compile again)."""
    return load_phrase_list(_data(), key)


def languages() -> tuple[str, ...]:
    """The languages with a crisis phrase list."""
    return tuple(k for k in _data() if k != "meta")


def compile_all() -> int:
    """Compile every language's list now (the app factory and workers call it at process start, so no
    caller's first spoken answer pays for it). Returns how many lists are compiled. Raises PhraseListError."""
    for language in languages():
        compiled_list(language)
    return compiled_list.cache_info().currsize


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class _Match:
    pattern: _Pattern
    start: int  # word index, inclusive
    end: int  # exclusive
    denied: bool = False


_SEVERITY = {"everyday": 0, "unsure": 1, "means": 1, "crisis": 2}
_URGENCY = list(CrisisCategory)


def _matches(words: list[str], phrases: PhraseList, pauses: frozenset[int] = frozenset()) -> list[_Match]:
    text = phrases.text(words, pauses)
    # character offset of each word start → word index
    starts = {}
    pos = 1
    for i, word in enumerate(words):
        starts[pos] = i
        pos += len(_marked(i, word, phrases.fillers, pauses))
    found: list[_Match] = []
    for pattern in phrases.patterns:
        for m in pattern.regex.finditer(text):
            if m.end() == m.start():
                continue
            first = starts.get(m.start())
            if first is None:
                continue
            last = first + len(m.group(0).split())
            found.append(_Match(pattern, first, last))
    return found


_BOTH_HARMS = {CrisisCategory.SUICIDE_SELF_HARM, CrisisCategory.HARM_TO_OTHERS}


def _covers(a: _Match, b: _Match) -> bool:
    """a's words include b's, and a is longer (or as long and more severe)."""
    if not (a.start <= b.start and b.end <= a.end):
        return False
    if a.pattern.kind == b.pattern.kind == "crisis" and {a.pattern.category, b.pattern.category} == _BOTH_HARMS:
        # Harm to self and to others in one breath ("kill myself and my husband" holds "kill myself"): staff are
        # told both.  Any other longer phrase changes what the shorter one means ("she's holding a gun" is a
        # danger to the caller, not the caller's "holding a gun"), so it covers it.
        return False
    longer = (a.end - a.start) > (b.end - b.start)
    same = (a.end - a.start) == (b.end - b.start)
    return longer or (same and _SEVERITY[a.pattern.kind] > _SEVERITY[b.pattern.kind])


def _winners(found: list[_Match]) -> list[_Match]:
    """The matches no other covers; of several over the very same words and as grave, the list's first
    (with fillers, two phrases may read the same words: "took a bunch of pills")."""
    kept = [m for m in found if not any(o is not m and _covers(o, m) for o in found)]
    seen: set[tuple[int, int, str]] = set()
    winners = []
    for m in kept:
        key = (m.start, m.end, m.pattern.kind)
        if key not in seen:
            seen.add(key)
            winners.append(m)
    return winners


def _negated(words: list[str], start: int, phrases: PhraseList) -> bool:
    """Whether a negator stands right before ``start``, with at most three bridge words between.

    An adjacent negator ("no") counts only right before the phrase: "no emergency" is a denial,
    "no I want to die" is not.
    """
    if start < len(words) and words[start] in phrases.continuers:
        return False  # "won't stop hitting me": the negation says it goes on
    if start > 0 and words[start - 1] in phrases.adjacent_negators:
        return True
    at = _lead_in_start(words, start, phrases.negators, phrases.bridges)
    if at is None:
        return False
    # "I can't not think about it", "I'm not NOT going to": the negator is itself negated, so the phrase is said
    return not (at > 0 and words[at - 1] in phrases.double_negators)


def _negated_after(words: list[str], end: int, phrases: PhraseList) -> bool:
    """Whether a negation said after the phrase denies it (a language whose negation follows the verb:
    "죽고 싶지 않아요"), starting at most ``post_reach`` units after its end, in the same clause."""
    for at in range(end, min(len(words), end + phrases.post_reach + 1)):
        if any(tuple(words[at:at + len(n)]) == n for n in phrases.post_negators):
            return True
    return False


# Lead-ins of a past or discussed crisis may also bridge over "my": "talk about my suicidal thoughts".
_LEAD_IN_BRIDGES = frozenset({"my", "these", "those", "some", "of"})


def _led_by(words: list[str], start: int, lead_ins: tuple[tuple[str, ...], ...], bridges: frozenset[str]) -> bool:
    """Whether one of ``lead_ins`` stands right before ``start``, with at most three ``bridges`` between."""
    return _lead_in_start(words, start, lead_ins, bridges) is not None


def _lead_in_start(words: list[str], start: int, lead_ins: tuple[tuple[str, ...], ...],
                   bridges: frozenset[str]) -> int | None:
    """The word index where one of ``lead_ins`` starts, when one stands right before ``start`` with at most three
    ``bridges`` between (the nearest); else None."""
    end = start
    for _ in range(4):
        for negator in lead_ins:
            n = len(negator)
            if end - n >= 0 and tuple(words[end - n:end]) == negator:
                return end - n
        if end == 0 or words[end - 1] not in bridges:
            return None
        end -= 1
    return None


def _any(regexes: Iterable[re.Pattern[str]], words: list[str], phrases: PhraseList) -> bool:
    text = phrases.text(words)
    return any(r.search(text) for r in regexes)


def assess(text: str | None, language: str = "en", *, phrases: PhraseList | None = None) -> CrisisAssessment:
    """Grade ``text`` (a speech result or a transcript) as CRISIS, UNSURE or NONE; see the module rules.

    ``language``: BCP-47 ("en-US") or a primary subtag. Raises UnsupportedLanguage when the phrase
    data has no list for it (check ``languages()`` when loading a flow, not per call). ``phrases``
    replaces the built-in list (one made with ``load_phrase_list``). In a call in another language the
    English list counts too ("suicide" said in a Korean call is heard): the graver grade of the two wins.
    """
    if phrases is None and language_key(language) != "en":
        return _graver(_assess(text, phrase_list(language)), _assess(text, phrase_list("en")))
    return _assess(text, phrases if phrases is not None else phrase_list(language))


def _graver(a: CrisisAssessment, b: CrisisAssessment) -> CrisisAssessment:
    """The graver of two grades of the same words; both lists' categories and matches when equally grave."""
    order = list(CrisisLevel)
    if order.index(a.level) != order.index(b.level):
        return a if order.index(a.level) > order.index(b.level) else b
    heard = set(a.categories) | set(b.categories)
    return CrisisAssessment(a.level, tuple(c for c in _URGENCY if c in heard), a.denied or b.denied,
                            tuple(dict.fromkeys(a.matched + b.matched)))


def _assess(text: str | None, phrases: PhraseList) -> CrisisAssessment:
    """``assess`` with one phrase list: the graver of two readings (three with a stutter).

    Each clause alone (punctuation and "but" end one), as before; and each turn (up to "but", "though",
    "however") read whole, its punctuation a pause a phrase reads on across ("help, fire!" is "help fire"),
    while a negation, a past or topic lead-in still reaches no further than its own clause. Punctuation is
    the recogniser's guess at a pause, so it never hides a crisis; and the clause-by-clause reading counts
    too, so reading on never lowers a grade. A word or two said again after a pause ("I, I want to, to
    die") is read once more without the repeat (the stutter reading). Hesitations ("um", "uh") are dropped first."""
    if text and phrases.hesitation is not None:
        text = phrases.hesitation.sub(" ", text)
    readings = [_assess_turns([[c] for c in clauses(text)], phrases)]
    turns = _turns(text)
    if any(len(turn) > 1 for turn in turns):
        readings.append(_assess_turns(turns, phrases))
        once = [_said_once(turn, phrases) for turn in turns]
        if once != [[units(c, syllables=phrases.syllables, language=phrases.language) for c in turn]
                    for turn in turns]:
            readings.append(_assess_turns(turns, phrases, said=once))
    result = readings[0]
    for other in readings[1:]:
        result = _graver(result, other)
    return result


_TURN = re.compile(r"\bbut\b|\bthough\b|\bhowever\b", re.IGNORECASE)
_PAUSES = re.compile(r"[.,;:!?]+")  # as ``clauses`` splits


def _turns(text: str | None) -> list[list[str]]:
    """``text`` as turns ("but", "though", "however" end one), each a list of its clauses (split at punctuation)."""
    turns = [[c.strip() for c in _PAUSES.split(t) if c.strip()] for t in _TURN.split(str(text or ""))]
    return [t for t in turns if t]


def _said_once(turn: list[str], phrases: PhraseList) -> list[list[str]]:
    """The units of each clause of ``turn``, without the one or two units a clause ends with when the next starts by
    saying them again ("I, I want to, to die" → [], [i, want], [to, die]): the copy kept is the later one, in the
    clause it belongs to, so a negator said twice ("I'm not, not suicidal") still denies what follows it."""
    out = [units(clause, syllables=phrases.syllables, language=phrases.language) for clause in turn]
    for at in range(1, len(out)):
        for n in (2, 1):
            if len(out[at - 1]) >= n and out[at][:n] == out[at - 1][-n:]:
                out[at - 1] = out[at - 1][:-n]
                break
    return out


def _assess_turns(turns: list[list[str]], phrases: PhraseList,
                  said: list[list[list[str]]] | None = None) -> CrisisAssessment:
    """Grade the ``turns`` (``_turns``), each read whole with a pause between its clauses; ``said``: their units
    when not the clauses' own (``_said_once``)."""
    crisis: list[_Match] = []
    unsure: list[_Match] = []
    denials: list[_Match] = []
    all_words: list[str] = []
    past: list[_Match] = []
    topic: list[_Match] = []
    means: list[_Match] = []
    excepted: _Match | None = None  # a denied harm to others at a clause's end, before "but myself"
    just_denied: list[_Match] = []  # the crisis phrases the clause before denied (a reversal takes them back)
    for at, turn in enumerate(turns):
        pieces = said[at] if said is not None else [
            units(c, syllables=phrases.syllables, language=phrases.language) for c in turn]
        as_said: list[str] = []
        words: list[str] = []
        spans: list[tuple[int, int]] = []  # each clause's [start, end) in ``words``
        for piece in pieces:
            if not piece:
                continue
            if not phrases.syllables:
                piece = _split_joined(piece)
            as_said += piece
            plain_words = _unhedged(piece, phrases.hedged)
            spans.append((len(words), len(words) + len(plain_words)))
            words += plain_words
        if not words:
            continue
        if excepted is not None and as_said[:1] == ["myself"]:
            # "I'm not going to hurt anyone, but myself": the clause split at "but" (negation never reaches across)
            crisis.append(_self_harm(excepted))
            denials.remove(excepted)
        excepted = None
        if just_denied and _takes_back(as_said, phrases):
            # "I don't want to hurt myself, but I can't stop": the denial is taken back, the phrase stands
            crisis += just_denied
            denials[:] = [m for m in denials if m not in just_denied]
        just_denied = []
        all_words += as_said + ["|"]  # as said: a hedge still counts as one (rule 4)
        pauses = frozenset(end - 1 for _, end in spans[:-1])
        for match in _winners(_matches(words, phrases, pauses)):
            kind = match.pattern.kind
            if kind == "everyday":
                continue
            # a negation or a lead-in reaches no further than the clause the phrase starts in (or ends in)
            first = next(start for start, end in spans if start <= match.start < end)
            last = next(end for start, end in spans if start < match.end <= end)
            own = words[first:]
            if _negated(own, match.start - first, phrases) or _negated_after(words[:last], match.end, phrases):
                if kind == "crisis" and match.pattern.category is CrisisCategory.HARM_TO_OTHERS \
                        and _EXCEPT_MYSELF.match(" ".join(words[match.end:match.end + 4]) + " "):
                    crisis.append(_self_harm(match))  # "not hurting anyone except myself": self-harm, no denial
                elif kind == "crisis":
                    denials.append(match)
                    just_denied.append(match)
                    if match.pattern.category is CrisisCategory.HARM_TO_OTHERS and match.end == len(words):
                        excepted = match
                continue  # a denied UNSURE phrase ("I'm not struggling") counts for nothing
            if kind == "crisis" and _led_by(own, match.start - first, phrases.past_lead_ins,
                                            phrases.bridges | _LEAD_IN_BRIDGES):
                past.append(match)
            elif kind == "crisis" and _led_by(own, match.start - first, phrases.topic_lead_ins,
                                              phrases.bridges | _LEAD_IN_BRIDGES):
                topic.append(match)
            else:
                {"crisis": crisis, "unsure": unsure, "means": means}[kind].append(match)
    # Said as over ("I was suicidal last year") or as a subject for a session: offered, not the crisis path.
    over = [m for m in past if _any(phrases.past_times, all_words, phrases)]
    discussed = [m for m in topic if _any(phrases.routine, all_words, phrases)]
    crisis += [m for m in past + topic if m not in over and m not in discussed]
    unsure += over + discussed
    # A phrase that is a warning sign only when said alone ("I won't be here next week") counts for nothing beside a
    # request ("..., can I reschedule").
    if unsure and all(m.pattern.alone for m in unsure) and _any(phrases.routine, all_words, phrases):
        unsure = []
    # Means at hand with distress in the same message ("I am not okay, I have a gun") is a crisis; alone, near one.
    if means and unsure:
        crisis += _aimed(means, unsure)
    else:
        unsure += means
    if crisis:
        heard = {m.pattern.category for m in crisis if m.pattern.category is not None}
        categories = tuple(c for c in _URGENCY if c in heard)
        return CrisisAssessment(CrisisLevel.CRISIS, categories, bool(denials), _texts(crisis))
    if unsure:
        return CrisisAssessment(CrisisLevel.UNSURE, (), bool(denials), _texts(unsure + denials))
    if denials:
        if _any(phrases.hedges, all_words, phrases) or not _any(phrases.routine, all_words, phrases):
            return CrisisAssessment(CrisisLevel.UNSURE, (), True, _texts(denials))
        return CrisisAssessment(CrisisLevel.NONE, (), True, _texts(denials))
    return CrisisAssessment(CrisisLevel.NONE)


# After a denied harm to others, the one person excepted is the caller: "not hurting anyone except myself",
# "I wouldn't harm anybody other than myself" ([CSSRS] Q2: thoughts of self-harm, said through a denial).
_EXCEPT_MYSELF = re.compile(r"(?:except|besides|other than|apart from|save|only|just|but)\s+(?:for\s+)?myself\b")
# Words a recogniser writes joined ("killmyself", "hurtmyself"): split off the reflexive before matching.
_JOINED = re.compile(r"^([a-z]{2,})(myself|himself|herself|themselves|yourself|mylife)$")
_REFLEXIVE = frozenset({"myself", "himself", "herself", "themselves", "yourself"})


def _takes_back(words: list[str], phrases: PhraseList) -> bool:
    """Whether the clause ``words`` starts by taking back the denial before it ("I can't stop", "I'm about to")."""
    text = phrases.text(words)
    return any(r.match(text, 1) for r in phrases.reversals)


def _split_joined(words: list[str]) -> list[str]:
    """``words`` with a reflexive run on to the word before it split off: ["killmyself"] → ["kill", "myself"],
    ["endmylife"] → ["end", "my", "life"]. Only a joined reflexive ("mylife" too); any other word stays."""
    out: list[str] = []
    for word in words:
        m = _JOINED.match(word) if word not in _REFLEXIVE else None
        if m is None:
            out.append(word)
        else:
            out += [m.group(1)] + (["my", "life"] if m.group(2) == "mylife" else [m.group(2)])
    return out


def _aimed(means: list[_Match], distress: list[_Match]) -> list[_Match]:
    """``means`` made a crisis by the ``distress`` beside them, in the category that distress aims at: rage or
    revenge ("I'm going to make them pay, I have a gun": an UNSURE phrase of a category) makes them harm to
    others; plain distress ("I am not okay") keeps them suicide or self-harm; both, both."""
    aims = {m.pattern.category for m in distress}
    out = [_Match(_Pattern(m.pattern.text, m.pattern.regex, "means", category), m.start, m.end)
           for category in _URGENCY if category in aims for m in means]
    return out + (means if None in aims else [])  # the means' own category: suicide or self-harm


def _self_harm(match: _Match) -> _Match:
    """``match`` (harm to others, denied) read as self-harm: "anyone except myself"."""
    pattern = _Pattern(match.pattern.text + " except myself", match.pattern.regex, "crisis",
                       CrisisCategory.SUICIDE_SELF_HARM)
    return _Match(pattern, match.start, match.end)


def _unhedged(words: list[str], hedged: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]) -> list[str]:
    """``words`` with each hedge read as its plain words (``PhraseList.hedged``), left to right, longest first."""
    if not hedged:
        return words
    out: list[str] = []
    at = 0
    while at < len(words):
        for hedge, plain_words in hedged:
            if tuple(words[at:at + len(hedge)]) == hedge:
                out += plain_words
                at += len(hedge)
                break
        else:
            out.append(words[at])
            at += 1
    return out


def _texts(matches: list[_Match]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.pattern.text for m in matches))
