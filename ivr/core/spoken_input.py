"""Turning what a caller typed or said into values: digits, yes/no, dates, menu choices.

Twilio's speech results arrive as text such as "zero four one five" or
"April 15th, 1985."; these helpers make keypad and speech answers equivalent.
Pure functions only.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

from ivr.core.privacy import normalise_speech
from ivr.core.spoken_values import day_mentions, time_mentions
from ivr.core.text import negated

_UNITS = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}
_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_YES = {"yes", "yeah", "yep", "yup", "correct", "right", "sure", "affirmative", "that is right", "thats right",
        "that is correct", "thats correct", "ok", "okay"}
_NO = {"no", "nope", "nah", "incorrect", "wrong", "negative", "not right", "thats wrong", "that is wrong"}
_FILLER = {"um", "uh", "er", "press", "option", "number", "please", "its", "it", "is", "my", "the", "and", "dash"}
# A yes or no may lead a longer answer ("yup, that's right", "nah thanks").
_YES_FIRST = {"yes", "yeah", "yep", "yup", "sure"}
_NO_FIRST = {"no", "nope", "nah"}
_DATE_FILLER = {"of", "the", "on", "and"}


def spoken_digits(text: str) -> str | None:
    """"zero four one five" or "0 4 15" → "04115"-style digit strings; None if anything else was said."""
    out = []
    for word in normalise_speech(text).split():
        if word.isdigit():
            out.append(word)
        elif word in _UNITS and _UNITS[word] < 10:
            out.append(str(_UNITS[word]))
        elif word in ("double", "triple") or word in _FILLER:
            out.append(word)
        else:
            return None
    digits, repeat = [], 1
    for word in out:
        if word == "double":
            repeat = 2
        elif word == "triple":
            repeat = 3
        elif word in _FILLER:
            continue
        else:
            digits.append(word[0] * repeat + word[1:] if repeat > 1 else word)
            repeat = 1
    joined = "".join(digits)
    return joined or None


def yes_no(text: str) -> bool | None:
    """True for yes-like answers, False for no-like, None when unclear."""
    said = normalise_speech(text)
    first = said.split()[0] if said else ""
    if said in _YES or first in _YES_FIRST:
        return True
    if said in _NO or first in _NO_FIRST:
        return False
    return None


def keypad_date(digits: str) -> dt.date | None:
    """MMDDYYYY → date, or None when not a real calendar date."""
    if not re.fullmatch(r"\d{8}", digits or ""):
        return None
    try:
        return dt.date(int(digits[4:]), int(digits[:2]), int(digits[2:4]))
    except ValueError:
        return None


def _number(words: Sequence[str]) -> int | None:
    """A small cardinal/ordinal reader: 'fifteenth', 'twenty first', '1985', 'nineteen eighty five'."""
    if not words:
        return None
    if len(words) == 1:
        w = re.sub(r"(st|nd|rd|th)$", "", words[0]) if re.fullmatch(r"\d+(st|nd|rd|th)", words[0]) else words[0]
        if w.isdigit():
            return int(w)
        return _UNITS.get(w, _TENS.get(w, _ORDINALS.get(w)))
    if len(words) == 2 and words[0] in _TENS:
        unit = _UNITS.get(words[1], _ORDINALS.get(words[1]))
        return _TENS[words[0]] + unit if unit is not None and unit < 10 else None
    return None


def _year(words: Sequence[str]) -> int | None:
    if len(words) == 1 and re.fullmatch(r"\d{4}", words[0]):
        return int(words[0])
    if words[:2] == ["two", "thousand"]:
        rest = _number(words[2:]) if words[2:] else 0
        return 2000 + rest if rest is not None else None
    # "nineteen eighty five" = 19 | 85; "nineteen oh five" = 19 | 05
    for cut in (1, 2):
        low = words[cut:]
        if len(low) == 2 and low[0] in ("oh", "o"):
            low = low[1:]
        hi, lo = _number(words[:cut]), _number(low)
        if hi is not None and lo is not None and 10 <= hi <= 20 and 0 <= lo <= 99:
            return hi * 100 + lo
    return None


def spoken_date(text: str) -> dt.date | None:
    """Read a date from speech: 'April 15th, 1985', '4/15/1985', 'april fifteenth nineteen eighty five',
    'the fifteenth of April 1985'; words before the date ("it's", "my birthday is") are skipped."""
    raw = (text or "").strip()
    m = re.search(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b", raw)
    if m:
        try:
            return dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        except ValueError:
            return None
    words = [w for w in normalise_speech(raw).split() if w not in _DATE_FILLER]
    digits = spoken_digits(" ".join(words)) if words else None
    if digits and len(digits) == 8:
        return keypad_date(digits)
    at = next((i for i, w in enumerate(words) if w in _MONTHS), None)
    if at is None:
        return None
    month, before, after = _MONTHS[words[at]], words[:at], words[at + 1:]
    readings = [
        (after[:1], after[1:]), (after[:2], after[2:]),  # April | 15th | 1985, April | twenty first | 1985
        (before[-2:], after), (before[-1:], after),  # twenty first | of April | 1985, 15th | April | 1985
    ]
    for day_words, year_words in readings:
        day, year = _number(day_words), _year(year_words)
        if day is not None and year is not None:
            try:
                return dt.date(year, month, day)
            except ValueError:
                continue
    return None


# A phrase right after one of these (up to three bridge words between) is denied, not said: "not billing",
# "I don't need billing", "I'm not a new client" (review 14b finding 5; as in intents.py and crisis.py).
_NEGATORS = frozenset({"dont", "not", "never", "isnt", "wont", "didnt", "arent", "nor", "neither", "without"})
_NEGATION_BRIDGES = frozenset({"want", "to", "need", "going", "i", "im", "am", "a", "an", "the", "my", "any",
                               "about", "have", "really", "calling", "for", "do", "yet", "actually", "wanna"})
# "new" about something other than the practice: "I'm new to this phone system" is no new client.
_NEW_TO_OTHER = re.compile(r"\bnew to (?:this|the|these|your|using) (?:\w+ )?(?:phone|system|menu|app|website|"
                           r"portal|options|number|line|thing)\b")


def _denied(words: Sequence[str], start: int) -> bool:
    return negated(words, start, _NEGATORS, _NEGATION_BRIDGES)


def _said_at(words: Sequence[str], phrase: Sequence[str]) -> list[int]:
    n = len(phrase)
    return [i for i in range(len(words) - n + 1) if list(words[i:i + n]) == list(phrase)]


def match_phrase(text: str, options: Iterable[tuple[str, Sequence[str]]]) -> str | None:
    """Pick the option whose phrase the caller said (longest phrase wins; a tie is no match).

    ``options`` are (name, phrases) pairs; phrases are already normalised. A phrase said only right
    after a negation ("not billing", "I'm not a new client") does not count, and neither does "new"
    about something else ("new to this phone system").
    """
    said = normalise_speech(text)
    words = said.split()
    other_new = bool(_NEW_TO_OTHER.search(said))
    best: list[tuple[int, str]] = []
    for name, phrases in options:
        for phrase in phrases:
            if not phrase or (other_new and "new" in phrase.split()):
                continue
            if any(not _denied(words, i) for i in _said_at(words, phrase.split())):
                best.append((len(phrase), name))
    if not best:
        return None
    best.sort(reverse=True)
    top = best[0][0]
    names = {name for length, name in best if length == top}
    return names.pop() if len(names) == 1 else None


_PRESS = re.compile(r"\b(press|pressing|pressed|push|dial|hit|key|button)\b", re.IGNORECASE)


def says_press(text: str) -> bool:
    """Whether the caller named pressing a key ("press nine", "hit zero", "the nine key")."""
    return bool(_PRESS.search(text or ""))


# "press twelve": a number word 10-19 is two keys said at once, asked about like "press 1 2".
_TEENS = {w: str(n) for w, n in _UNITS.items() if 10 <= n <= 19}


# A key said as a run of the same digit in words (fix14-left finding 2): "fifty five" and "fifty-five" are 5 5
# ("twenty one" is two different keys, asked about like "press 21"), "two fives", "5 twice", "five two times".
_TENS_DIGIT = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7", "eighty": "8",
               "ninety": "9"}
_PLURAL_DIGITS = {"zeros": "0", "zeroes": "0", "ohs": "0", "ones": "1", "twos": "2", "threes": "3", "fours": "4",
                  "fives": "5", "sixes": "6", "sevens": "7", "eights": "8", "nines": "9"}
_RUN_COUNT = {"two": 2, "2": 2, "three": 3, "3": 3}


def _key_runs(words: Sequence[str]) -> list[str]:
    """Digit runs said in words made plain digits: "fifty five" → "5 5", "two fives" → "5 5", "5 twice" → "5 5"."""
    out: list[str] = []
    i = 0
    while i < len(words):
        word, nxt = words[i], words[i + 1] if i + 1 < len(words) else ""
        unit = _UNITS.get(nxt) if nxt not in ("oh", "o") else None
        if word in _TENS_DIGIT and unit is not None and 0 < unit < 10:
            out += [_TENS_DIGIT[word], str(unit)]  # "fifty five"; "twenty one" is two keys, asked about
            i += 2
        elif word in _RUN_COUNT and nxt in _PLURAL_DIGITS:
            out += [_PLURAL_DIGITS[nxt]] * _RUN_COUNT[word]  # "two fives"
            i += 2
        elif nxt in ("twice", "thrice") and (word.isdigit() and len(word) == 1 or _UNITS.get(word, 10) < 10):
            out += [word] * (2 if nxt == "twice" else 3)  # "5 twice"
            i += 2
        elif (word.isdigit() and len(word) == 1 or _UNITS.get(word, 10) < 10) and nxt in _RUN_COUNT \
                and i + 2 < len(words) and words[i + 2] in ("times", "time"):
            out += [word] * _RUN_COUNT[nxt]  # "five two times"
            i += 3
        else:
            out.append(_TEENS.get(word, word))
            i += 1
    return out


def keys_said(text: str) -> tuple[str, ...]:
    """The keys a caller may have meant, in the order said, each once: "press 5 5", "press 55", "five five",
    "fifty five", "double five", "two fives", "five five five" → ("5",) (a key said again, in any written or
    spoken form, is that key); "press 12", "one two", "twelve", "twenty one" → ("1", "2") (two keys at once:
    the caller is asked which, never guessed); three different digits or more than three (a number, not a
    key) or other words → ().
    """
    said = normalise_speech(text).split()
    digits = spoken_digits(" ".join(_key_runs(said))) if said else None
    if not digits or len(digits) > 3 or len(digits) == 3 and len(set(digits)) > 1:
        return ()
    return tuple(dict.fromkeys(digits))


def one_key(text: str) -> str | None:
    """The one key a caller meant: "one", "press two", "option 3", "zero", "press 5 5" → that key;
    None when no key or two different keys ("press 12": see ``keys_said``) were said."""
    keys = keys_said(text)
    return keys[0] if len(keys) == 1 else None


spoken_key = one_key  # the name the engine and older tests use


# A prompt's option and its key: "To keep it, press 2" (words before the key) or "press 1 for a schedule
# conflict" (words after it, up to the next stop).
_OPTION_BEFORE = re.compile(r"([^;.!?]*?)\bpress\s+(\d)\b", re.IGNORECASE)
_OPTION_AFTER = re.compile(r"(?:\bpress\s+|,\s*(?:or\s+)?)(\d)\s+(?:for|to|if)\b([^,;.!?]*)", re.IGNORECASE)
# Words that say nothing about which option: how prompts are put and what every option shares.
_OPTION_FILLER = frozenset({
    "to", "it", "its", "your", "you", "youd", "my", "the", "a", "an", "or", "and", "say", "yes", "no", "press",
    "please", "if", "want", "would", "like", "for", "of", "on", "at", "in", "this", "that", "these", "those", "i",
    "is", "are", "be", "just", "as", "with", "we", "us", "can", "me", "one", "key", "then", "now", "so", "do",
    "appointment", "session", "some", "any", "other", "option", "number", "choose", "select", "dial",
})


def _option_words(words: Sequence[str]) -> set[str]:
    text = " ".join(words)
    dated = {i for m in [*day_mentions(text), *time_mentions(text)] for i in range(m.start, m.end)}
    return {_fold(w) for i, w in enumerate(words)
            if i not in dated and w not in _OPTION_FILLER and not w.isdigit() and w not in _UNITS}


def _fold(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")) else word


def option_echoed(prompt: str, text: str, keys: Iterable[str] | None = None) -> str | None:
    """The key whose option the caller named in the prompt's own words: at "To cancel your appointment
    tomorrow at 10 AM, press 1 or say yes. To keep it, press 2.", "keep it" → "2" and "cancel it" → "1"
    (fix14-left finding 5). Words every option shares, dates, times, numbers and filler never decide; a word
    said after a negation ("don't cancel it") counts for nothing; words naming two options, or none, → None.
    ``keys``: only these keys can be the answer (a menu's options, 1 and 2 at a yes/no question)."""
    allowed = set(keys) if keys is not None else None
    options: dict[str, set[str]] = {}
    for segment, key in _OPTION_BEFORE.findall(prompt or ""):
        options.setdefault(key, set()).update(_option_words(normalise_speech(segment).split()))
    for key, segment in _OPTION_AFTER.findall(prompt or ""):
        options.setdefault(key, set()).update(_option_words(normalise_speech(segment).split()))
    if allowed is not None:
        options = {k: v for k, v in options.items() if k in allowed}
    if len(options) < 2:
        return None
    shared = set.intersection(*options.values())
    said = normalise_speech(text).split()
    named = {_fold(w) for i, w in enumerate(said) if not _denied(said, i)}
    hits = {key for key, words in options.items() if (words - shared) & named}
    return hits.pop() if len(hits) == 1 else None
