"""What a caller said or typed, read as a typed value: dates, times, days, digit strings, yes/no.

Speech results arrive as text ("4 15 1985", "four fifteen nineteen eighty five", "for fifteen",
"April 15th, 1985.", "the fifteenth of April eighty five"); every parser here returns a
``Reading``: a value, a refusal as AMBIGUOUS (the words fit more than one value, or need one more
piece such as the year, so the flow should ask more precisely) or NOT_UNDERSTOOD (no value of that
kind was said). Relative words ("tomorrow", "next Tuesday", a two-digit year) are resolved against a
reference date or an aware datetime and the practice's time zone, always passed in: nothing here reads
the wall clock. ``gather_hints`` gives the Twilio ``<Gather>`` hints and speech model for each kind of
answer.

The rules for the doubtful cases are in docs/understanding.md; each one is a row in
tests/core/test_spoken_values.py.
"""
from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

import phonenumbers

from ivr.core.text import canonical_words, language_key, normalise

T = TypeVar("T")

# --------------------------------------------------------------------------- results


class Outcome(str, Enum):
    """How a reading ended."""

    VALUE = "value"
    AMBIGUOUS = "ambiguous"  # refused: more than one value fits, or a needed piece is missing
    NOT_UNDERSTOOD = "not_understood"  # no value of this kind was said


class Why(str, Enum):
    """Why a reading was refused (``Reading.why``); the flow may pick its re-prompt by it."""

    NOTHING_SAID = "nothing_said"
    NOT_A_VALUE = "not_a_value"  # words that are not this kind of answer
    NO_SUCH_DATE = "no_such_date"  # April 31st, February 29th 2023
    OUT_OF_RANGE = "out_of_range"  # a real value the question rules out (a birth date in the future)
    WRONG_LENGTH = "wrong_length"  # digits, but not as many as asked for
    NO_YEAR = "no_year"  # "April 15th" for a date of birth
    NO_DAY = "no_day"  # "April 1985": a month and a year, no day
    NO_MONTH = "no_month"  # "born in 1985": a year alone, no month or day
    NO_DAY_OR_YEAR = "no_day_or_year"  # "in April": a month alone
    TWO_DIGIT_YEAR = "two_digit_year"  # "85" where more than one century (or none) fits
    ORDER = "order"  # numbers that split into more than one date ("1 12 85": Jan 12 or Nov 2)
    AM_PM = "am_pm"  # "seven" when the practice could mean 7 a.m. or 7 p.m.
    WHICH_WEEK = "which_week"  # "next Friday" said on a Thursday; "Thursday" said on a Thursday
    MIXED = "mixed"  # "yes ... no"
    SEVERAL = "several"  # two different values, or a self-correction ("five five, no wait")
    UNSURE = "unsure"  # "I don't know", "maybe"
    VAGUE = "vague"  # "next year", or "the day after" with no day said to count from: ask for a day
    EXTENSION = "extension"  # a phone number's "extension" said without its digits, before the number, or too long


@dataclass(frozen=True)
class Reading(Generic[T]):
    """One parse: ``value`` when ``outcome`` is VALUE; ``candidates`` (possibly empty) and ``why`` otherwise."""

    outcome: Outcome
    value: T | None = None
    candidates: tuple[T, ...] = ()
    why: Why | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.VALUE

    @property
    def ambiguous(self) -> bool:
        return self.outcome is Outcome.AMBIGUOUS

    def options(self) -> tuple[T, ...]:
        """The value as the one option when there is one, else the candidates."""
        return (self.value,) if self.ok and self.value is not None else self.candidates


def _value(value: T) -> Reading[T]:
    return Reading(Outcome.VALUE, value)


def _ambiguous(why: Why, candidates: Iterable[T] = ()) -> Reading[T]:
    return Reading(Outcome.AMBIGUOUS, None, tuple(candidates), why)


def _not_understood(why: Why) -> Reading[T]:
    return Reading(Outcome.NOT_UNDERSTOOD, None, (), why)


# Words with which callers correct themselves mid-answer: "April fifteen, no wait, sixteen", "three, I mean four",
# "five five five, sorry, five five six". Between two value words they make the answer a self-correction.
_CORRECTIONS = frozenset({"no", "nope", "sorry", "wait", "actually", "correction", "mean", "meant", "scratch",
                          "oops", "hold", "hang", "rather"})


def _correction_at(words: Sequence[str], is_value: Callable[[str], bool]) -> int | None:
    """Where what was said after the last self-correction starts (a correction word with a value word on
    each side), or None when there is none."""
    values = [i for i, w in enumerate(words) if is_value(w)]
    found = [i + 1 for i, w in enumerate(words) if w in _CORRECTIONS and values and values[0] < i < values[-1]]
    return found[-1] if found else None


def _after_correction(whole: Reading[T], tail: Reading[T]) -> Reading[T]:
    """A self-corrected answer stands only when what was said after the correction is the same one value
    (a repeat); otherwise AMBIGUOUS(SEVERAL) with what each part read as: ask again rather than guess
    which part stands (review 14 finding 13)."""
    if whole.ok and tail.ok and whole.value == tail.value:
        return whole
    seen: list[T] = []
    for option in (*whole.options(), *tail.options()):
        if option not in seen:
            seen.append(option)
    return _ambiguous(Why.SEVERAL, seen)


# --------------------------------------------------------------------------- number words (English)

_UNITS = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20, "thirtieth": 30,
}
# Words a recogniser writes for a digit it heard, read as that digit only next to another number
# (so "I need to" and "for my son" stay words). Each is a real recogniser output for a digit:
#   for, fore -> 4     "for fifteen" is how Twilio writes "four fifteen" (issue 14)
#   to, too   -> 2     "to" and "too" are how "two" is written before another number ("to fifteen")
#   won       -> 1     "won" for "one" in digit runs
#   ate       -> 8     "ate" for "eight" in digit runs ("ate twelve")
#   tree      -> 3     how "three" is written for callers who drop the "th" (a common accent feature)
#   niner     -> 9     the radio form some callers use for nine
# Not included: "free" (a real word near numbers: "free on the 5th"), "sex"/"sick" (six: never seen),
# "tin" (ten: never seen), "nein" (German "no").
_HOMOPHONES = {"for": "four", "fore": "four", "to": "two", "too": "two", "won": "one", "ate": "eight",
               "tree": "three", "niner": "nine"}
_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
_MONTHS.update({"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
                "oct": 10, "nov": 11, "dec": 12})
_MONTH_BY_NUMBER = {i: m for m, i in _MONTHS.items() if len(m) > 3 or m == "may"}
_ORDINAL_NUMERAL = re.compile(r"(\d{1,2})(st|nd|rd|th)")
_NUMERAL = re.compile(r"\d+")


def _is_numeric_word(word: str) -> bool:
    return (bool(_NUMERAL.fullmatch(word)) or bool(_ORDINAL_NUMERAL.fullmatch(word)) or word in _UNITS
            or word in _TENS or word in _ORDINALS or word in ("hundred", "thousand"))


def _resolve_homophones(words: list[str]) -> list[str]:
    """Read "for", "to", "won", "ate", "tree", "oh"... as digits where they touch another number.

    Repeats until stable so "to won five" becomes "two one five" once "five" anchors the run.
    """
    out = list(words)
    changed = True
    while changed:
        changed = False
        for i, word in enumerate(out):
            if word not in _HOMOPHONES:
                continue
            near = [out[j] for j in (i - 1, i + 1) if 0 <= j < len(out)]
            # "won won oh three": an "oh" counts as a number when a number follows it (review 14c finding 1)
            if i + 2 < len(out) and out[i + 1] in ("o", "oh") and _is_numeric_word(out[i + 2]) \
                    and out[i + 2] not in ("o", "oh"):
                near.append(out[i + 2])
            if any(_is_numeric_word(n) and n not in ("o", "oh") for n in near):
                out[i] = _HOMOPHONES[word]
                changed = True
    return out


def _single_digit(word: str) -> int | None:
    """'4', 'four', 'oh' → the digit; None for anything longer."""
    if len(word) == 1 and word.isdigit():
        return int(word)
    value = _UNITS.get(word)
    return value if value is not None and value < 10 else None


def _digit_run(words: Sequence[str], length: int) -> int | None:
    """Exactly ``length`` single digits ("oh four", "1 5") → their number."""
    if len(words) != length:
        return None
    digits = [_single_digit(w) for w in words]
    if any(d is None for d in digits):
        return None
    return int("".join(str(d) for d in digits))


def _small_number(words: Sequence[str], *, ordinal_ok: bool) -> int | None:
    """0–99 said one way or another: '15', '15th', 'fifteen', 'fifteenth', 'twenty one', 'twenty first',
    'oh four', '1 5'. Ordinals only when ``ordinal_ok``."""
    if len(words) == 1:
        word = words[0]
        if _NUMERAL.fullmatch(word) and len(word) <= 2:
            return int(word)
        m = _ORDINAL_NUMERAL.fullmatch(word)
        if m:
            return int(m.group(1)) if ordinal_ok else None
        if word in ("oh", "o"):
            return None
        if word in _UNITS:
            return _UNITS[word]
        if word in _TENS:
            return _TENS[word]
        if word in _ORDINALS:
            return _ORDINALS[word] if ordinal_ok else None
        return None
    if len(words) == 2:
        first, second = words
        if first in _TENS:
            unit = _UNITS.get(second)
            if unit is not None and 1 <= unit <= 9 and second not in ("oh", "o"):
                return _TENS[first] + unit
            unit = _ORDINALS.get(second)
            if ordinal_ok and unit is not None and unit <= 9:
                return _TENS[first] + unit
            return None
        return _digit_run(words, 2)
    return None


@dataclass(frozen=True)
class _Year:
    value: int
    digits: int  # 4 for a full year, 2 for "85" / "eighty five", 1 for "6"


def _year(words: Sequence[str]) -> _Year | None:
    """A year as said: '1985', '85', 'nineteen eighty five', 'nineteen oh five', 'two thousand (and) three',
    'twenty twenty five', 'one nine eight five', 'eighty five', 'oh five'."""
    words = [w for w in words if w != "and"]
    n = len(words)
    if n == 0:
        return None
    if n == 1:
        word = words[0]
        if _NUMERAL.fullmatch(word) and len(word) in (1, 2, 4):
            return _Year(int(word), len(word))
        if word in _TENS:
            return _Year(_TENS[word], 2)
        if word in _UNITS and word not in ("oh", "o"):
            value = _UNITS[word]
            return _Year(value, 2 if value >= 10 else 1)
        return None
    if words[:2] == ["one", "thousand"] and n >= 4 and words[3] == "hundred" and _single_digit(words[2]):
        # "one thousand nine hundred eighty five", as a year is read out in full (bt14-s27 nit 6)
        rest = _small_number(words[4:], ordinal_ok=False) if n > 4 else 0
        return _Year(1000 + 100 * (_single_digit(words[2]) or 0) + rest, 4) if rest is not None else None
    if words[:2] == ["two", "thousand"]:
        rest = _small_number(words[2:], ordinal_ok=False) if n > 2 else 0
        return _Year(2000 + rest, 4) if rest is not None else None
    if n >= 2 and words[1] == "hundred" and words[0] in _UNITS and 10 <= _UNITS[words[0]] <= 20:
        rest = _small_number(words[2:], ordinal_ok=False) if n > 2 else 0
        return _Year(_UNITS[words[0]] * 100 + rest, 4) if rest is not None else None
    if n == 4:
        run = _digit_run(words, 4)
        if run is not None:
            return _Year(run, 4)
    if n == 2:
        # "19 85" as two numerals
        if all(_NUMERAL.fullmatch(w) and len(w) == 2 for w in words):
            return _Year(int(words[0] + words[1]), 4)
        # "eighty five", "oh five", "eight five": a two-digit year
        if words[0] in ("oh", "o") or (_single_digit(words[0]) is not None and _single_digit(words[1]) is not None):
            run = _digit_run(words, 2)
            if run is not None:
                return _Year(run, 2)
        if words[0] in _TENS:
            low = _small_number(words, ordinal_ok=False)
            if low is not None:
                return _Year(low, 2)
    # hundreds then the rest: "nineteen eighty five", "nineteen oh five", "twenty twenty five", "twenty ten"
    head = words[0]
    high = _UNITS.get(head) if head in _UNITS else _TENS.get(head) if head == "twenty" else None
    if high is not None and 10 <= high <= 20 and n in (2, 3):
        tail = words[1:]
        if tail[0] in ("oh", "o") and len(tail) == 2:
            low = _single_digit(tail[1])
            low = low if tail[1] not in ("oh", "o") else None
        elif len(tail) == 1 and _NUMERAL.fullmatch(tail[0]) and len(tail[0]) == 2:
            low = int(tail[0])
        elif high in (19, 20) and len(tail) == 2 and _digit_run(tail, 2) is not None:
            # "nineteen eight five", also as heard "nineteen ate five" (review 14b finding 14)
            low = _digit_run(tail, 2)
        else:
            low = _small_number(tail, ordinal_ok=False)
            low = low if low is not None and low >= 10 and _digit_run(tail, len(tail)) is None else None
        if low is not None:
            return _Year(high * 100 + low, 4)
    return None


# --------------------------------------------------------------------------- dates


class DatePurpose(str, Enum):
    """What the date is for; it decides two-digit and missing years."""

    BIRTH = "birth"  # in the past; a two-digit year must give an age from 0 to MAX_AGE
    UPCOMING = "upcoming"  # today or later (an appointment); a missing year is the next such day
    ANY = "any"  # no direction: two-digit and missing years are refused


MAX_AGE = 110  # oldest age a two-digit birth year may give; both centuries fitting is ambiguous
UPCOMING_YEARS = 2  # how far ahead an upcoming date may lie
_DATE_FILLER = frozenset({"the", "of", "on", "and", "um", "uh", "er", "uhm", "erm", "in", "slash", "dash", "hyphen",
                          "dot"})


@dataclass(frozen=True)
class _DateParts:
    month: int
    day: int
    year: _Year | None
    # The four-digit year the day and a two-digit year also say (0: none): ask (review 14c finding 1), unless no
    # date of the purpose can be in that year ("four twenty eighty five" as a birth date: 2085 is to come).
    doubtful: int = 0


# "April fifteen, year nineteen eighty five", "4 15 and the year is 1985": the word "year" before the year
# is dropped (review 14c finding 2).
_YEAR_LEAD = re.compile(r"\b(?:(?:and|in) )?(?:(?:the|my) )?(?:birth )?year (?:is |was |of )?(?=\S)")
# "March forth" is how a recogniser writes "March fourth": read so next to a month or after "the".
_FORTH = re.compile(r"\b(the|january|february|march|april|may|june|july|august|september|october|november"
                    r"|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec) forth\b|\bforth(?= of\b)")


def _fourth(text: str) -> str:
    return _FORTH.sub(lambda m: f"{m.group(1)} fourth" if m.group(1) else "fourth", text)


def _date_words(text: str) -> list[str]:
    return _resolve_homophones(_said_words(text))


def _said_words(text: str) -> list[str]:
    """The words of ``_date_words`` before homophones were read as digits (same length)."""
    return _named_dates(_spelled_months(_fourth(_YEAR_LEAD.sub("", normalise(text))).split()))


def _spelled_months(words: list[str]) -> list[str]:
    """A month spelled letter by letter ("A P R I L 15 1985") as its name (bt14 s24 nit 7); other letters stay."""
    out: list[str] = []
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and len(words[j]) == 1 and words[j].isalpha():
            j += 1
        spelled = "".join(words[i:j])
        if j - i >= 3 and spelled in _MONTHS:
            out.append(spelled)
            i = j
        else:
            out.append(words[i])
            i += 1
    return out


def _named_dates(words: list[str]) -> list[str]:
    """Fixed-date holiday names as their month and day ("christmas 1985" → "december 25 1985"); a moving one
    ("thanksgiving 1985") as the marker ``_MOVING`` (the answer is asked again, with no part claimed missing)."""
    phrases = _HOLIDAY_PHRASES
    out: list[str] = []
    i = 0
    while i < len(words):
        for phrase in phrases:
            if tuple(words[i:i + len(phrase)]) == phrase:
                out.extend(_FIXED_HOLIDAYS[phrase] if phrase in _FIXED_HOLIDAYS else (_MOVING,))
                i += len(phrase)
                break
        else:
            out.append(words[i])
            i += 1
    return out


_MOVING = "\u2020moving-holiday"  # no word a caller says: marks a holiday whose date moves with the year


def _is_date_word(word: str) -> bool:
    return _is_numeric_word(word) or word in _MONTHS


def _runs(words: Sequence[str], is_part: Callable[[str], bool], filler: frozenset[str]) -> list[list[str]]:
    """Maximal runs of value words (fillers allowed inside, trimmed at the ends)."""
    runs: list[list[str]] = []
    current: list[str] = []
    for word in [*words, "\0"]:
        if is_part(word) or (word in filler and current):
            current.append(word)
            continue
        while current and current[-1] in filler:
            current.pop()
        if current:
            runs.append(current)
        current = []
    return runs


def _split_numeral(word: str, last: bool) -> list[list[str]]:
    """A numeral said or written in one piece ("415", "4151985") and the ways it can split into fields."""
    if not _NUMERAL.fullmatch(word) or len(word) in (1, 2) or (len(word) == 4 and last):
        return [[word]]
    out: list[list[str]] = [[word]]
    n = len(word)
    if n in (3, 4):
        for a in (1, 2):
            if 1 <= n - a <= 2:
                out.append([word[:a], word[a:]])
        return out
    for a, b, c in itertools.product((1, 2), (1, 2), (2, 4)):
        if a + b + c == n:
            out.append([word[:a], word[a:a + b], word[a + b:]])
    return out


def _month_number(words: Sequence[str], *, ordinal_ok: bool = False) -> int | None:
    value = _small_number(words, ordinal_ok=ordinal_ok)
    return value if value is not None and 1 <= value <= 12 else None


def _is_ordinal(words: Sequence[str]) -> bool:
    """Whether a number ends in an ordinal ("4th", "fourth", "twenty first")."""
    return bool(words) and (words[-1] in _ORDINALS or bool(_ORDINAL_NUMERAL.fullmatch(words[-1])))


def _day_number(words: Sequence[str]) -> int | None:
    value = _small_number(words, ordinal_ok=True)
    return value if value is not None and 1 <= value <= 31 else None


def _readings_with_month(words: list[str]) -> list[_DateParts]:
    at = [i for i, w in enumerate(words) if w in _MONTHS]
    if len(at) != 1:
        return []
    i = at[0]
    month, before, after = _MONTHS[words[i]], words[:i], words[i + 1:]
    out: list[_DateParts] = []
    if not before:
        for k in range(1, len(after) + 1):
            day = _day_number(after[:k])
            if day is None:
                continue
            if k == len(after):
                out.append(_DateParts(month, day, None))
            else:
                year = _year(after[k:])
                if year is not None:
                    out.append(_DateParts(month, day, year))
    else:
        day = _day_number(before)
        if day is not None:
            if not after:
                out.append(_DateParts(month, day, None))
            else:
                year = _year(after)
                if year is not None:
                    out.append(_DateParts(month, day, year))
        year = _year(before)  # "1985 April 15th"; "85 April 15" (85 is no day: bt14 s24 nit 7)
        if year is not None and (year.digits == 4 or year.digits == 2 and day is None) and after:
            day = _day_number(after)
            if day is not None:
                out.append(_DateParts(month, day, year))
    return out


def _readings_from_numbers(words: list[str]) -> list[_DateParts]:
    out: list[_DateParts] = []
    pieces = [_split_numeral(w, i == len(words) - 1) for i, w in enumerate(words)]
    for choice in itertools.product(*pieces):
        tokens = [t for part in choice for t in part]
        n = len(tokens)
        if n > 10:
            continue
        # month day year; a month said as an ordinal ("fourth fifteenth 1985") only before an ordinal day,
        # and then also read day first ("the 4th of the 5th"), so two readings are asked (bt14-s25 nit 7)
        for i in range(1, n):
            month = _month_number(tokens[:i], ordinal_ok=True)
            if month is None:
                continue
            by_ordinal = _is_ordinal(tokens[:i])
            for j in range(i + 1, n + 1):
                day = _day_number(tokens[i:j])
                if day is None or (by_ordinal and not _is_ordinal(tokens[i:j])):
                    continue
                if j == n:
                    found = [_DateParts(month, day, None)]
                else:
                    year = _year(tokens[j:])
                    if year is None:
                        continue
                    found = [_DateParts(month, day, year, _split_year(tokens[i:], year))]
                if by_ordinal:
                    first, second = _day_number(tokens[:i]), _month_number(tokens[i:j], ordinal_ok=True)
                    if first is not None and second is not None:
                        found.append(dataclasses.replace(found[0], month=second, day=first))
                out.extend(found)
        # year month day, only with a four-digit year first ("1985 4 15")
        if n >= 3 and _NUMERAL.fullmatch(tokens[0]) and len(tokens[0]) == 4:
            for i in range(2, n):
                month, day = _month_number(tokens[1:i]), _day_number(tokens[i:])
                if month is not None and day is not None:
                    out.append(_DateParts(month, day, _Year(int(tokens[0]), 4)))
    # Day first is read only where month first is impossible: "15 4 1985" (15 is no month).
    # "the 15th of the 4th 1985", "the fifteenth of the fourth nineteen eighty five": a month said as an
    # ordinal too, the day in one or two words (bt14-s25 nit 7)
    for i in (1, 2):
        if out or len(words) < i + 2:
            break
        day, month, year = _day_number(words[:i]), _month_number(words[i:i + 1], ordinal_ok=True), _year(words[i + 1:])
        if day is not None and day > 12 and month is not None and year is not None \
                and (len(words) == 3 or year.digits == 4):
            out.append(_DateParts(month, day, year))
    return out


def _split_year(tail: Sequence[str], year: _Year) -> int:
    """The four-digit year a day and two-digit year said in words also read as (0: none): "oh three nineteen
    ninety two" is March 19 '92 only if "nineteen ninety two" was not the year of a date whose month was lost
    (review 14c finding 1); numerals ("3 19 92") are written apart and are not doubted."""
    if year.digits != 2 or any(_NUMERAL.fullmatch(w) for w in tail):
        return 0
    whole = _year(tail)
    return whole.value if whole is not None and whole.digits == 4 and 1900 <= whole.value <= 2100 else 0


def _real_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


@dataclass(frozen=True)
class _Resolved:
    dates: tuple[dt.date, ...] = ()
    pending: Why | None = None  # NO_YEAR / TWO_DIGIT_YEAR
    failed: Why | None = None  # NO_SUCH_DATE / OUT_OF_RANGE


def _in_range(day: dt.date, today: dt.date, purpose: DatePurpose) -> bool:
    if purpose is DatePurpose.BIRTH:
        return dt.date(1900, 1, 1) <= day <= today
    if purpose is DatePurpose.UPCOMING:
        return today <= day <= _years_ago(today, -UPCOMING_YEARS)
    return 1900 <= day.year <= 2100


def _resolve(parts: _DateParts, today: dt.date, purpose: DatePurpose) -> _Resolved:
    if parts.doubtful:
        resolved = _resolve(dataclasses.replace(parts, doubtful=0), today, purpose)
        if purpose is DatePurpose.BIRTH and parts.doubtful > today.year:
            # "four twenty eighty five": born in 2085 is impossible, so the 20th of '85 is the only reading (bt14-s25b
            # S2); an AMBIGUOUS with one candidate never reaches the caller.
            return resolved
        return resolved if resolved.failed or not resolved.dates else _Resolved(resolved.dates, pending=Why.ORDER)
    month, day, year = parts.month, parts.day, parts.year
    if year is None:
        if purpose is not DatePurpose.UPCOMING:
            exists = _real_date(2000, month, day) is not None  # a leap year: any real month/day exists
            return _Resolved(pending=Why.NO_YEAR) if exists else _Resolved(failed=Why.NO_SUCH_DATE)
        for ahead in range(5):
            found = _real_date(today.year + ahead, month, day)
            if found is not None and found >= today:
                return _Resolved(dates=(found,)) if _in_range(found, today, purpose) else \
                    _Resolved(failed=Why.OUT_OF_RANGE)
        return _Resolved(failed=Why.NO_SUCH_DATE)
    if year.digits == 4:
        found = _real_date(year.value, month, day)
        if found is None:
            return _Resolved(failed=Why.NO_SUCH_DATE)
        return _Resolved(dates=(found,)) if _in_range(found, today, purpose) else _Resolved(failed=Why.OUT_OF_RANGE)
    if year.digits == 1 or purpose is DatePurpose.ANY:
        return _Resolved(pending=Why.TWO_DIGIT_YEAR)
    centuries = [c * 100 + year.value for c in (19, 20, 21)]
    real = [d for d in (_real_date(y, month, day) for y in centuries) if d is not None]
    if not real:
        # no century has this day (29 February in a year that is never a leap year here)
        return _Resolved(failed=Why.NO_SUCH_DATE)
    if purpose is DatePurpose.BIRTH:
        # an age from 0 to MAX_AGE in whole years: born after this day MAX_AGE + 1 years ago (bt14-s25 nit 7)
        fits = [d for d in real if _years_ago(today, MAX_AGE + 1) < d <= today]
    else:
        fits = [d for d in real if _in_range(d, today, purpose)]
    if len(fits) == 1:
        return _Resolved(dates=(fits[0],))
    return _Resolved(dates=tuple(fits), pending=Why.TWO_DIGIT_YEAR)


def _decide(readings: list[_DateParts], today: dt.date, purpose: DatePurpose) -> Reading[dt.date]:
    sure: set[dt.date] = set()
    unsure: set[dt.date] = set()
    pending: list[Why] = []
    failed: list[Why] = []
    for parts in readings:
        resolved = _resolve(parts, today, purpose)
        if resolved.pending is not None:
            pending.append(resolved.pending)
            unsure.update(resolved.dates)
        elif resolved.failed is not None:
            failed.append(resolved.failed)
        else:
            sure.update(resolved.dates)
    if len(sure) == 1 and not unsure - sure:
        # Other readings that name no whole date ("1/1/05" as January 10 of a one-digit year) leave one
        # date: it is taken, not asked for the month by name (review 14b finding 14).
        return _value(next(iter(sure)))
    if len(sure) > 1 or (sure and pending):
        return _ambiguous(Why.ORDER, sorted(sure | unsure))
    if pending:
        why = next(w for w in (Why.TWO_DIGIT_YEAR, Why.ORDER, Why.NO_YEAR) if w in pending or w is Why.NO_YEAR)
        return _ambiguous(why, sorted(unsure))
    if failed:
        return _not_understood(Why.NO_SUCH_DATE if Why.NO_SUCH_DATE in failed else Why.OUT_OF_RANGE)
    return _not_understood(Why.NOT_A_VALUE)


def parse_date(text: str | None, *, today: dt.date, purpose: DatePurpose = DatePurpose.ANY) -> Reading[dt.date]:
    """A calendar date from speech or typed text, month first (US order).

    ``today`` is the practice's local date (the reference for two-digit and missing years).
    Examples (today 2025-06-05, BIRTH): "4 15 1985", "four fifteen nineteen eighty five",
    "for fifteen eighty five", "April 15th, 1985", "04/15/1985", "the fifteenth of April eighty five",
    "oh four one five eight five" → 1985-04-15. "4 5 6" → AMBIGUOUS(TWO_DIGIT_YEAR);
    "one one two eighty five" → AMBIGUOUS(ORDER, candidates 1985-01-12 and 1985-11-02);
    "April 15th" → AMBIGUOUS(NO_YEAR).
    Lead-in words ("my date of birth is") are skipped; two different dates are AMBIGUOUS(SEVERAL), and so
    is a self-correction ("April fifteen nineteen eighty five, no wait, sixteen") unless what follows it
    is the same date again.
    """
    words = _date_words(text or "")
    if not words:
        return _not_understood(Why.NOTHING_SAID)
    if _MOVING in words:
        # "thanksgiving 1985": its date moves with the year; asked again, never told a part is missing (bt14 s24)
        return _ambiguous(Why.VAGUE)
    whole = _date_from_words(words, today, purpose)
    if not whole.ok:
        # "April 15 1985 for Alex": a homophone at the edge of the numbers is a word after all (review 14c finding
        # 2); "it's for fifteen nineteen eighty five for my son": the one at the end is, the one at the start is
        # "four" (bt14 s24 nit 7), so each edge is tried alone as well as both.
        said = _said_words(text or "")
        for sides in ((True, True), (False, True), (True, False)):
            kept = _edge_homophones_as_words(said, words, before=sides[0], after=sides[1])
            if kept != words:
                retry = _date_from_words(kept, today, purpose)
                if retry.ok:
                    whole = retry
                    break
    if whole.outcome is not Outcome.NOT_UNDERSTOOD and _alternatives(words):
        # "april 15 1985 or 1986", "april 15 or 16 1985": two dates or years offered; never the first one read
        # (bt14-s24 S4), nor a missing year asked for when it was said.
        return _ambiguous(Why.SEVERAL, _offered_dates(words, whole, today, purpose))
    at = _correction_at(words, lambda w: _is_date_word(w) and w not in ("o", "oh"))
    if at is None and whole.why is Why.NOT_A_VALUE:
        missing = _missing_parts(words)
        return _ambiguous(missing, []) if missing else whole
    return whole if at is None else _after_correction(whole, _date_from_words(words[at:], today, purpose))


_ALTERNATIVE = frozenset({"or", "maybe", "perhaps"})


def _offered_dates(words: Sequence[str], whole: Reading[dt.date], today: dt.date,
                   purpose: DatePurpose) -> list[dt.date]:
    """Every date of an answer with alternatives, each part completed from the others: "4 15 or 4 16 1985" →
    April 15 and April 16 1985 (the year said once, bt14-s25 nit 6); "april 15 1985 or 1986" → both years."""
    parts: list[list[str]] = [[]]
    for word in words:
        if word in _ALTERNATIVE:
            parts.append([])
        elif _is_date_word(word) or word in _DATE_FILLER:  # "or was it 1986": only the date words count
            parts[-1].append(word)
    parts = [p for p in parts if p]
    found = set(whole.options())
    if len(parts) < 2:
        return sorted(found)
    first, last = parts[0], parts[-1]
    for k, part in enumerate(parts):
        heads: list[list[str]] = [[]] + ([first[:a] for a in range(1, len(first))] if k else [])
        tails: list[list[str]] = [[]]
        if k < len(parts) - 1:
            tails += [last[-b:] for b in range(1, min(len(last), 4) + 1)]
        for head, tail in itertools.product(heads, tails):
            reading = _date_from_words([*head, *part, *tail], today, purpose)
            if reading.ok and reading.value is not None:
                found.add(reading.value)
                break
    return sorted(found)


def _alternatives(words: Sequence[str]) -> bool:
    """Whether an alternative ("or", "maybe") stands between two date words: "april 15 1985 or 1986"."""
    return any(w in _ALTERNATIVE and any(_is_date_word(x) for x in words[:i])
               and any(_is_date_word(x) and x not in ("o", "oh") for x in words[i + 1:])
               for i, w in enumerate(words))


def _missing_parts(words: Sequence[str]) -> Why | None:
    """What a date said in part lacks, so the caller is asked for just that: "April 1985" (NO_DAY),
    "born in 1985" (NO_MONTH), "in April" (NO_DAY_OR_YEAR); None when the words are not such a part."""
    runs = [r for r in _runs(words, _is_date_word, _DATE_FILLER) if any(_is_date_word(w) for w in r)]
    if len(runs) != 1:
        return None
    core = [w for w in runs[0] if w not in _DATE_FILLER]
    months = [w for w in core if w in _MONTHS]
    rest = [w for w in core if w not in _MONTHS]
    if len(months) > 1 or (months and core[0] not in _MONTHS and core[-1] not in _MONTHS):
        return None  # a month said first ("April 1985") or last ("1985 April", bt14 s24 nit 7)
    year = _year(rest) if rest else None
    if rest and (year is None or year.digits != 4):
        return None
    if months and year:
        return Why.NO_DAY
    if months:
        # "May I ..." is no month: a month alone counts only when it is no other word too.
        return None if months[0] in ("may", "march") else Why.NO_DAY_OR_YEAR
    return Why.NO_MONTH


def _edge_homophones_as_words(said: Sequence[str], words: Sequence[str], *, before: bool = True,
                              after: bool = True) -> list[str]:
    """``words`` with each homophone read as a digit put back as said where it has no number on one side:
    ``before`` those with none before them (leading), ``after`` those with none after them (trailing)."""
    out = list(words)
    for i, (was, now) in enumerate(zip(said, words, strict=True)):
        if was == now:
            continue
        lone_before = not (i > 0 and _is_date_word(words[i - 1]))
        lone_after = not (i + 1 < len(words) and _is_date_word(words[i + 1]))
        if (before and lone_before) or (after and lone_after):
            out[i] = was
    return out


def _near_unit(word: str) -> bool:
    """A word one letter off a digit's name ("fife", "sicks", "nein"): a number the recogniser garbled."""
    if word in _UNITS or word in _HOMOPHONES or word in _DATE_FILLER or word in _NOT_GARBLED or word in _TENS:
        return False  # "eighty" is no garbled "eight": "four twenty eighty five" (bt14-s25b S2)
    for unit in ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine"):
        if abs(len(unit) - len(word)) <= 1 and _edit_distance(word, unit) <= 1:
            return True
    return False


# Words one letter off a digit's name that callers say after a date ("..., right?", "on the 5th").
_NOT_GARBLED = frozenset({"right", "on", "your", "you"})


def _edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap of two neighbours) from ``a`` to ``b``: "nein" is one from "nine"."""
    rows = [list(range(len(b) + 1))] + [[i] + [0] * len(b) for i in range(1, len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


def _cut_short(words: Sequence[str]) -> bool:
    """Whether a number ends in a tens word right before a garbled digit ("nineteen eighty fife"): the year
    was cut short, and reading 1980 would be a different date (review 14c finding 1)."""
    return any(w in _TENS and _near_unit(nxt) for w, nxt in itertools.pairwise(words))


def _date_from_words(words: list[str], today: dt.date, purpose: DatePurpose) -> Reading[dt.date]:
    """``parse_date`` on words already normalised, without the self-correction rule."""
    runs = [r for r in _runs(words, _is_date_word, _DATE_FILLER) if any(_is_date_word(w) for w in r)]
    if not runs:
        return _not_understood(Why.NOT_A_VALUE)
    if _cut_short(words):
        return _not_understood(Why.NOT_A_VALUE)
    results = [_run_date([w for w in run if w not in _DATE_FILLER or w == "and"], today, purpose) for run in runs]
    useful = [r for r in results if r.outcome is not Outcome.NOT_UNDERSTOOD]
    if not useful:
        return next((r for r in results if r.why is not Why.NOT_A_VALUE), results[-1])
    if len(useful) == 1:
        return useful[0]
    values = {r.value for r in useful if r.ok}
    if len(values) == 1 and all(r.ok for r in useful):
        return useful[0]
    return _ambiguous(Why.SEVERAL, sorted({v for r in useful for v in r.options()}))


def _run_date(core: list[str], today: dt.date, purpose: DatePurpose) -> Reading[dt.date]:
    """One run of date words; a run that reads as no date but as the same date said twice ("April 15 1985,
    April 15 1985", "4 15 1985 4 15 1985") is that date, and as two different dates is AMBIGUOUS(SEVERAL)."""
    if _four_single_digits(core):
        digits = [_single_digit(w) for w in core if w != "and"]
        month, day = int(f"{digits[0]}{digits[1]}"), int(f"{digits[2]}{digits[3]}")
        # "oh four one five": April 15 with its month and day padded, the year not said
        return _ambiguous(Why.NO_YEAR) if 1 <= month <= 12 and 1 <= day <= 31 else _not_understood(Why.NOT_A_VALUE)
    reading = _decide(_readings_of(core), today, purpose)
    if reading.outcome is not Outcome.NOT_UNDERSTOOD or reading.why is not Why.NOT_A_VALUE or len(core) < 4:
        return reading
    halves = [(_decide(_readings_of(core[:k]), today, purpose), _decide(_readings_of(core[k:]), today, purpose))
              for k in range(2, len(core) - 1)]
    values = {r.value for pair in halves if all(r.ok for r in pair) for r in pair if r.value is not None}
    if len(values) == 1:
        return _value(values.pop())
    return _ambiguous(Why.SEVERAL, sorted(values)) if values else reading


def _four_single_digits(core: Sequence[str]) -> bool:
    """Whether a run is four digits said one at a time ("two four six eight", "1 2 3 4"): a PIN, a code, a year or a
    padded month and day ("oh four one five"), never a whole date, which said digit by digit has a two-digit day or
    year more (five to eight digits, as keyed: "oh four one five eight five"); read as month, day and a two-digit
    year ("six eight" for 68) it graded PINs as birth dates (bt14-s27 SHOULD-FIX 4)."""
    digits = [_single_digit(w) for w in core if w != "and"]
    # "one one oh five": a two-digit year said as two digits starts with "oh" (January 1, 2005; review 14b finding 14)
    return len(digits) == 4 and None not in digits and digits[2] != 0


def _readings_of(core: list[str]) -> list[_DateParts]:
    return _readings_with_month(core) if any(w in _MONTHS for w in core) else _readings_from_numbers(core)


def parse_keyed_date(digits: str | None, *, today: dt.date,
                     purpose: DatePurpose = DatePurpose.ANY) -> Reading[dt.date]:
    """A date typed on the keypad: MMDDYYYY, or MMDDYY read by the two-digit-year rule of ``purpose``.

    ``#`` and ``*`` are ignored; any other length or character is NOT_UNDERSTOOD.
    """
    keyed = (digits or "").strip().strip("#*")
    if not keyed:
        return _not_understood(Why.NOTHING_SAID)
    if not keyed.isdigit() or len(keyed) not in (6, 8):
        return _not_understood(Why.NOT_A_VALUE)
    parts = _DateParts(int(keyed[:2]), int(keyed[2:4]), _Year(int(keyed[4:]), len(keyed) - 4))
    if not (1 <= parts.month <= 12 and 1 <= parts.day <= 31):
        return _not_understood(Why.NO_SUCH_DATE)
    return _decide([parts], today, purpose)


# --------------------------------------------------------------------------- times of day


class PartOfDay(str, Enum):
    """A stretch of the day said instead of (or beside) a clock time."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    NIGHT = "night"
    ANY = "any"  # "any time", "whenever"

    @property
    def window(self) -> tuple[dt.time, dt.time]:
        """The clock times the part covers, start inclusive, end exclusive (ANY: the whole day)."""
        return _PART_WINDOWS[self]


_PART_WINDOWS = {
    PartOfDay.MORNING: (dt.time(5), dt.time(12)),
    PartOfDay.AFTERNOON: (dt.time(12), dt.time(17)),
    PartOfDay.EVENING: (dt.time(17), dt.time(21)),
    PartOfDay.NIGHT: (dt.time(21), dt.time(23, 59, 59)),
    PartOfDay.ANY: (dt.time(0), dt.time(23, 59, 59)),
}


class Bound(str, Enum):
    """How the time was meant: at it, after it, before it, around it."""

    AT = "at"
    AFTER = "after"
    BEFORE = "before"
    AROUND = "around"


@dataclass(frozen=True)
class SpokenTime:
    """A time of day: a clock time (``at``), a part of the day, or both ("two in the afternoon");
    with ``until``, a range from ``at`` ("between 2 and 4", "9 to 5")."""

    at: dt.time | None = None
    part: PartOfDay | None = None
    bound: Bound = Bound.AT
    until: dt.time | None = None
    weekdays: tuple[int, ...] = ()  # said with it ("weekdays after 5": 0-4, Monday 0); () is any day

    def on(self, day: dt.date) -> bool:
        """Whether ``day`` is one of the weekdays said with the time (any day when none were)."""
        return not self.weekdays or day.weekday() in self.weekdays


DEFAULT_HOURS = (dt.time(7), dt.time(21))  # when a time without a.m./p.m. is read as one or the other

_PART_WORDS = {
    ("morning",): PartOfDay.MORNING, ("mornings",): PartOfDay.MORNING,
    ("afternoon",): PartOfDay.AFTERNOON, ("afternoons",): PartOfDay.AFTERNOON,
    ("evening",): PartOfDay.EVENING, ("evenings",): PartOfDay.EVENING, ("tonight",): PartOfDay.EVENING,
    ("night",): PartOfDay.NIGHT, ("nights",): PartOfDay.NIGHT,
    ("any", "time"): PartOfDay.ANY, ("anytime",): PartOfDay.ANY, ("whenever",): PartOfDay.ANY,
    ("any", "time", "of", "day"): PartOfDay.ANY,
}
_BOUND_FIRST = {"after": Bound.AFTER, "from": Bound.AFTER, "before": Bound.BEFORE, "by": Bound.BEFORE,
                "around": Bound.AROUND, "about": Bound.AROUND, "approximately": Bound.AROUND,
                "roughly": Bound.AROUND}
_BOUND_LAST = {("or", "later"): Bound.AFTER, ("or", "after"): Bound.AFTER, ("or", "earlier"): Bound.BEFORE,
               ("or", "before"): Bound.BEFORE, ("ish",): Bound.AROUND, ("at", "the", "earliest"): Bound.AFTER,
               ("at", "the", "latest"): Bound.BEFORE}
_TIME_FILLER = frozenset({"at", "like", "um", "uh", "er", "maybe", "sharp", "please", "the", "in", "a", "its",
                          "it", "is", "oclock", "say", "lets", "how", "about", "o", "clock", "time"})


# A bound said with a negation is the opposite bound: "not before ten" is ten or later, "no later than
# five" five or earlier (review 14 finding 14). Rewritten before the words are read.
_NEGATED_BOUNDS = (
    (re.compile(r"\b(?:not|never|no) (?:before|earlier than|sooner than)\b"), "after"),
    (re.compile(r"\b(?:not|never|no) (?:after|later than)\b"), "before"),
    (re.compile(r"\blater than\b"), "after"),
    (re.compile(r"\b(?:earlier|sooner) than\b"), "before"),
)


_ISH = re.compile(r"\b(\d{1,2}|noon|midnight|midday|lunch|lunchtime|one|two|three|four|five|six|seven|eight|nine"
                  r"|ten|tenn|eleven|twelve|oclock|am|pm)ish\b")


_CLOCK_SIDE = (r"((?:\d{1,4}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon)"
               r"(?:\s+(?:\d{2}|fifteen|thirty|forty\s+five))?(?:\s+(?:am|pm|oclock))?)")
_AFTER_BEFORE = re.compile(rf"\b(?:after|from)\s+{_CLOCK_SIDE},?\s+(?:but\s+|and\s+)?before\s+{_CLOCK_SIDE}\b")
_BEFORE_AFTER = re.compile(rf"\bbefore\s+{_CLOCK_SIDE},?\s+(?:but\s+|and\s+)?after\s+{_CLOCK_SIDE}\b")


def _time_words(text: str) -> list[str]:
    raw = normalise(text)
    for pattern, bound in _NEGATED_BOUNDS:
        raw = pattern.sub(bound, raw)
    raw = re.sub(r"\b(\d{1,2})(\d{2})?\s?([ap])\s?m\b", lambda m: f"{m.group(1)} {m.group(2) or ''} {m.group(3)}m", raw)
    raw = re.sub(r"\b([ap]) m\b", r"\1m", raw)
    raw = re.sub(r"\bo clock\b", "oclock", raw)
    # "after 6 but before 8", "before 8 and after 6": one range, 6 to 8 (bt14-s26 nit 9; read apart, three bounds)
    raw = _AFTER_BEFORE.sub(r"between \1 and \2", raw)
    raw = _BEFORE_AFTER.sub(r"between \2 and \1", raw)
    # "1700 hours", "0900 hrs": the 24-hour clock as said aloud; the word "hours" is no length here (bt14-s25 nit 7)
    raw = re.sub(r"\b(\d{3,4}|hundred) (?:hours|hrs)\b", r"\1", raw)
    # "2ish", "noonish", "tennish": around that time (bt14 s24 nit 7); the "ish" is _BOUND_LAST's.
    raw = _ISH.sub(lambda m: ("ten" if m.group(1) == "tenn" else m.group(1)) + " ish", raw)
    # "three o five" is 3:05: an "o" before a single digit is zero, not the "o" of "o'clock" (review 14b finding 14).
    raw = re.sub(r"\bo (?=(?:one|two|three|four|five|six|seven|eight|nine|[1-9])\b)", "oh ", raw)
    return _time_homophones(raw.split())


# Words before an hour said as a homophone ("at for thirty"); after any other word, "to" and "for" stay words
# ("ten to four" is 3:50, "for thirty minutes" a length).
_HOUR_LEADS = frozenset({"at", "around", "about", "by", "say", "maybe", "like", "how", "what"})


def _time_homophones(words: list[str]) -> list[str]:
    """"for thirty", "to thirty", "for o'clock", "too pm": an hour said as a homophone of its digit, as in dates
    (fix14-bt S6): a homophone opening the time (first, or after "at", "around"...) before a number, "o'clock",
    "am" or "pm" is that digit."""
    out = list(words)
    for i, word in enumerate(out):
        if word not in _HOMOPHONES:
            continue
        linked = i >= 2 and out[i - 1] in _HOUR_LINKS and (out[i - 2] in ("half", "quarter")
                                                           or _is_numeric_word(out[i - 2]))
        if linked and (i + 1 >= len(out) or not _is_numeric_word(out[i + 1])):
            out[i] = _HOMOPHONES[word]  # "half past for", "quarter to for", "ten past too" (bt14 s24 nit 7)
            continue
        if i + 1 >= len(out) or i > 0 and out[i - 1] not in _HOUR_LEADS:
            continue
        nxt = out[i + 1]
        if word in ("to", "for") and _can_be_hour(nxt):
            continue  # "to ten thirty", "for 3": the hour follows the word (bt14-s27 nit 1: "to ten thirty" was 2:10)
        if nxt in ("oclock", "am", "pm") or _is_numeric_word(nxt) and nxt not in ("o", "oh"):
            out[i] = _HOMOPHONES[word]
    return out


def _can_be_hour(word: str) -> bool:
    """Whether a word is a clock hour on its own, one to twelve ("ten", "3"); "thirty" is only minutes."""
    value = _small_number([word], ordinal_ok=False)
    return value is not None and 1 <= value <= 12


# Words between the minutes and the hour ("half past four", "quarter to four", "ten of four"): an hour's
# homophone after one of these, with nothing numeric after it, is the hour.
_HOUR_LINKS = frozenset({"past", "after", "to", "till", "til", "of"})


def _hour_words(words: Sequence[str]) -> int | None:
    if not words:
        return None
    value = _small_number(words, ordinal_ok=False)
    if value is None or (len(words) == 2 and words[0] not in _TENS):
        return None
    return value if 0 <= value <= 23 else None


def _minute_words(words: Sequence[str]) -> int | None:
    if not words:
        return None
    if words[0] in ("oh", "o") and len(words) == 2:
        value = _single_digit(words[1])
        return value if value is not None and words[1] not in ("oh", "o") else None
    if len(words) == 1 and _NUMERAL.fullmatch(words[0]) and len(words[0]) == 2:
        return int(words[0])
    value = _small_number(words, ordinal_ok=False)
    if value is None or (len(words) == 2 and words[0] not in _TENS):
        return None
    return value if 10 <= value <= 59 else None  # "ten five" is not how 10:05 is said ("ten oh five" is)


def _clock(words: list[str]) -> tuple[int, int, bool] | None:
    """(hour, minute, fixed) from the time words left once parts, bounds and fillers are gone.

    ``fixed`` is True for noon and midnight (no a.m./p.m. question).
    """
    if words in (["noon"], ["midday"], ["twelve", "noon"], ["12", "noon"], ["lunchtime"], ["lunch"]):
        return 12, 0, True
    if words in (["midnight"], ["twelve", "midnight"], ["12", "midnight"]):
        return 0, 0, True
    if words in (["zero"], ["0"], ["00"], ["oh"], ["o"], ["nought"]):
        return None  # a lone zero is no time of day (review 14b finding 14); "midnight" is said so
    if len(words) >= 2 and words[0] == "half" and "past" not in words:
        hour = _hour_words(words[1:])  # "half two": half past two, as said in Britain and Ireland
        return (hour, 30, False) if hour is not None else None
    for link, sign in (("past", 1), ("after", 1), ("to", -1), ("till", -1), ("til", -1), ("of", -1)):
        if link in words:
            k = words.index(link)
            before, hour = words[:k], _hour_words(words[k + 1:])
            before = [w for w in before if w not in ("minutes", "minute", "a")]
            minutes = {"half": 30, "quarter": 15}.get(before[0]) if len(before) == 1 else None
            if minutes is None:
                minutes = _small_number(before, ordinal_ok=False)
            if hour is None or minutes is None or not 1 <= minutes <= 59 or (sign < 0 and minutes == 30):
                return None
            if sign > 0:
                return hour, minutes, False
            return (hour - 1) % 24 if hour != 0 else 23, 60 - minutes, False
    if len(words) == 1 and _NUMERAL.fullmatch(words[0]) and len(words[0]) in (3, 4):
        hour, minute = int(words[0][:-2]), int(words[0][-2:])
        return (hour, minute, False) if hour <= 23 and minute <= 59 else None
    if len(words) >= 2 and words[-1] == "hundred":
        hour = _hour_words(words[:-1])
        return (hour, 0, False) if hour is not None else None
    hour = _hour_words(words)
    if hour is not None:
        return hour, 0, False
    for cut in (1, 2):
        said_hour, said_minute = _hour_words(words[:cut]), _minute_words(words[cut:])
        if said_hour is not None and said_minute is not None and (cut == 1 or words[0] in _TENS):
            return said_hour, said_minute, False
    return None


def _meridiem_candidates(hour: int, minute: int, meridiem: str | None, part: PartOfDay | None,
                         hours: tuple[dt.time, dt.time]) -> list[dt.time] | None:
    if hour > 12:
        return [dt.time(hour, minute)] if meridiem != "am" else None
    if meridiem == "am" or part is PartOfDay.MORNING:
        return [dt.time(0 if hour == 12 else hour, minute)]
    if meridiem == "pm" or part in (PartOfDay.AFTERNOON, PartOfDay.EVENING):
        return [dt.time(hour if hour == 12 else hour + 12, minute)]
    if part is PartOfDay.NIGHT:  # "eleven at night" 23:00, "two at night" 02:00, "twelve at night" midnight
        if hour == 12:
            return [dt.time(0, minute)]
        return [dt.time(hour + 12 if hour >= 6 else hour, minute)]
    if hour == 0:
        return [dt.time(0, minute)]
    both = [dt.time(0 if hour == 12 else hour, minute), dt.time(hour if hour == 12 else hour + 12, minute)]
    inside = [t for t in both if hours[0] <= t < hours[1]]
    return inside if inside else both


def parse_time(text: str | None, *, hours: tuple[dt.time, dt.time] = DEFAULT_HOURS) -> Reading[SpokenTime]:
    """A time of day: "ten thirty", "half past two", "quarter to three", "noon", "midnight", "2 pm",
    "14:30", "in the afternoon", "after five", "around 3 o'clock", "I'm free after five".

    Without a.m./p.m. or a part of the day, an hour from 1 to 12 is read as whichever of a.m. and p.m.
    falls inside ``hours`` (default 07:00 to before 21:00, the practice's plausible day); when both do
    ("seven", "eight thirty") the reading is AMBIGUOUS(AM_PM) with both candidates. Other words around
    one time are skipped; two different times ("three thirty or four") are AMBIGUOUS(SEVERAL), and so is a
    self-correction ("ten thirty, no wait, eleven") unless what follows it is the same time. A bound said
    with a negation is the opposite one ("not before ten" is AFTER 10:00); a time ruled out ("not at
    ten", "any time except noon") is no answer.
    """
    words = _time_words(text or "")
    if not words:
        return _not_understood(Why.NOTHING_SAID)
    weekdays, words = _said_weekdays(words)
    if weekdays and not words:
        return _value(SpokenTime(None, PartOfDay.ANY, Bound.AT, weekdays=weekdays))  # "weekdays": any time of them
    whole = _time_from_words(words, hours)
    at = _correction_at(words, _is_time_word)
    reading = whole if at is None else _after_correction(whole, _time_from_words(words[at:], hours))
    if not weekdays or reading.outcome is Outcome.NOT_UNDERSTOOD:
        return reading
    return Reading(reading.outcome,
                   dataclasses.replace(reading.value, weekdays=weekdays) if reading.value is not None else None,
                   tuple(dataclasses.replace(c, weekdays=weekdays) for c in reading.candidates), reading.why)


# Days said as a habit beside a time ("weekdays after 5", "mornings on weekends", "Tuesdays at 3"): kept on the
# time (SpokenTime.weekdays), never dropped (bt14 s24 nit 7). Plural weekday names only: "Tuesday at 3" is a day.
_HABIT_DAYS: dict[tuple[str, ...], tuple[int, ...]] = {
    ("weekdays",): (0, 1, 2, 3, 4), ("weekday",): (0, 1, 2, 3, 4), ("week", "days"): (0, 1, 2, 3, 4),
    ("weekends",): (5, 6), ("weekend",): (5, 6), ("week", "ends"): (5, 6),
    ("mondays",): (0,), ("tuesdays",): (1,), ("wednesdays",): (2,), ("thursdays",): (3,), ("fridays",): (4,),
    ("saturdays",): (5,), ("sundays",): (6,),
}
_HABIT_BRIDGES = frozenset({"on", "during", "the", "and", "or", "any", "most", "all"})


def _said_weekdays(words: list[str]) -> tuple[tuple[int, ...], list[str]]:
    """The weekdays said as a habit in ``words``, sorted, and the words without them (and their "on")."""
    days: set[int] = set()
    kept: list[str] = []
    i = 0
    while i < len(words):
        for phrase, numbers in _HABIT_DAYS.items():
            if tuple(words[i:i + len(phrase)]) == phrase:
                days.update(numbers)
                while kept and kept[-1] in _HABIT_BRIDGES:
                    kept.pop()
                i += len(phrase)
                break
        else:
            kept.append(words[i])
            i += 1
    return tuple(sorted(days)), kept


def _is_time_word(word: str) -> bool:
    return _is_numeric_word(word) and word not in ("o", "oh") or word in _TIME_START or word in ("am", "pm")


def _time_from_words(words: list[str], hours: tuple[dt.time, dt.time]) -> Reading[SpokenTime]:
    """``parse_time`` on words already split, without the self-correction rule."""
    if not words:
        return _not_understood(Why.NOT_A_VALUE)
    strict = _parse_time_words(words, hours)
    if strict.outcome is not Outcome.NOT_UNDERSTOOD:
        return strict
    mentions = [m for m in time_mentions(" ".join(words), hours=hours) if not ruled_out(words, m.start)]
    inside = {i for m in mentions for i in range(m.start, m.end)}
    found = _time_from(mentions, [w for i, w in enumerate(words) if i not in inside], hours)
    return found if found is not None else strict


def _parse_time_words(words: list[str], hours: tuple[dt.time, dt.time], *,
                      ranges: bool = True) -> Reading[SpokenTime]:
    """The whole of ``words`` read as one time (``parse_time`` without the skipping of other words)."""
    either = _either_time(words, hours)
    if either is not None:
        return either
    return _one_time(words, hours, ranges=ranges)


_OR_TAILS = frozenset({"later", "earlier", "after", "before", "so", "sooner"})  # "3 or later" is a bound


def _either_time(words: list[str], hours: tuple[dt.time, dt.time]) -> Reading[SpokenTime] | None:
    """"three or four", "3 or 4", "two or three pm": two times offered, AMBIGUOUS(SEVERAL) with both, an a.m./p.m.
    said after the second shared by the first (bt14-s26 nit 9: "three or four" was refused, "two or three pm" read as
    3 PM alone); None when ``words`` are not two times joined by one "or"."""
    if words.count("or") != 1:
        return None
    k = words.index("or")
    left, right = words[:k], words[k + 1:]
    if not left or not right or right[0] in _OR_TAILS:
        return None
    if right[-1] in ("am", "pm") and left[-1] not in ("am", "pm") and _is_numeric_word(left[-1]):
        left = [*left, right[-1]]
    first, second = _one_time(left, hours, ranges=True), _one_time(right, hours, ranges=True)
    if first.outcome is Outcome.NOT_UNDERSTOOD or second.outcome is Outcome.NOT_UNDERSTOOD:
        return None
    options = list(dict.fromkeys([*first.options(), *second.options()]))
    return _value(options[0]) if len(options) == 1 else _ambiguous(Why.SEVERAL, options)


def _one_time(words: list[str], hours: tuple[dt.time, dt.time], *, ranges: bool = True) -> Reading[SpokenTime]:
    """``_parse_time_words`` for one time (no "or")."""
    for phrase, meaning in _TIME_PHRASES:
        n = len(phrase)
        for k in range(len(words) - n + 1):
            if tuple(words[k:k + n]) == phrase:
                words = words[:k] + list(meaning) + words[k + n:]
                break
    ranged = _time_range(words, hours) if ranges else None
    if ranged is not None:
        return ranged
    bound = Bound.AT
    for i, word in enumerate(words):
        if _is_numeric_word(word) or word in _TIME_START:
            break
        if word in _BOUND_FIRST:
            bound = _BOUND_FIRST[word]
            words = words[:i] + words[i + 1:]
            break
    for tail, value in _BOUND_LAST.items():
        if tuple(words[-len(tail):]) == tail:
            bound, words = value, words[:-len(tail)]
    meridiem = None
    marks = [i for i, w in enumerate(words) if w in ("am", "pm") and i > 0
             and (_is_numeric_word(words[i - 1]) or words[i - 1] == "oclock")]
    if len({words[i] for i in marks}) > 1:
        return _ambiguous(Why.MIXED)
    if marks:
        meridiem = words[marks[0]]
        words = [w for i, w in enumerate(words) if i not in marks]
    part = None
    for phrase, said_part in sorted(_PART_WORDS.items(), key=lambda kv: -len(kv[0])):
        n = len(phrase)
        for i in range(len(words) - n + 1):
            if tuple(words[i:i + n]) == phrase:
                if part is not None and part is not said_part:
                    return _ambiguous(Why.SEVERAL)
                part = said_part
                words = words[:i] + words[i + n:]
                break
    words = [w for w in words if w not in _TIME_FILLER and w not in ("this", "the", "on")]
    if not words:
        return _value(SpokenTime(None, part, bound)) if part is not None else _not_understood(Why.NOT_A_VALUE)
    clock = _clock(words)
    if clock is None:
        return _not_understood(Why.NOT_A_VALUE)
    hour, minute, fixed = clock
    if fixed:
        return _value(SpokenTime(dt.time(hour, minute), part, bound))
    candidates = _meridiem_candidates(hour, minute, meridiem, part, hours)
    if not candidates:
        return _not_understood(Why.NOT_A_VALUE)
    if len(candidates) == 1:
        return _value(SpokenTime(candidates[0], part, bound))
    return _ambiguous(Why.AM_PM, [SpokenTime(t, part, bound) for t in candidates])


# Times said as a part of a working day, and what they are taken to mean (docs/understanding.md, "Times"):
# longest first. "after work" is the evening (17-21); "before work" before 9 AM; "end of the day" 4 PM or later.
_TIME_PHRASES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("at", "the", "end", "of", "the", "day"), ("after", "4", "pm")),
    (("by", "the", "end", "of", "the", "day"), ("after", "4", "pm")),
    (("the", "end", "of", "the", "day"), ("after", "4", "pm")),
    (("end", "of", "the", "day"), ("after", "4", "pm")),
    (("end", "of", "day"), ("after", "4", "pm")),
    (("end", "of", "the", "workday"), ("after", "4", "pm")),
    # "first thing (in the morning)": early, before 10 AM (bt14-s26 S6; "first" was read as the 1st of a month)
    (("first", "thing", "in", "the", "morning"), ("before", "10", "am")),
    (("first", "thing", "tomorrow", "morning"), ("before", "10", "am")),
    (("first", "thing"), ("before", "10", "am")),
    (("on", "the", "dot"), ()),  # "nine on the dot": at nine, as "sharp" (bt14-s26 nit 9)
    (("after", "work"), ("evening",)),
    (("after", "i", "finish", "work"), ("evening",)),
    (("before", "work"), ("before", "9", "am")),
    (("before", "i", "go", "to", "work"), ("before", "9", "am")),
)

_RANGE_WORDS = frozenset({"to", "till", "til", "until", "through", "and"})
_MINUTES_BEFORE = frozenset({5, 10, 15, 20, 25})


def _time_side(words: list[str]) -> tuple[int, int, bool, str | None] | None:
    """One end of a range: (hour, minute, fixed, "am"/"pm"/None)."""
    words = [w for w in words if w not in _TIME_FILLER]
    mark = None
    if words and words[-1] in ("am", "pm"):
        mark, words = words[-1], words[:-1]
    clock = _clock(words) if words else None
    return (*clock, mark) if clock is not None else None


def _time_range(words: list[str], hours: tuple[dt.time, dt.time]) -> Reading[SpokenTime] | None:
    """ "between 2 and 4", "from 9 to 5", "2 to 4 pm", "9 am till noon" as one range, else None.

    "quarter to three" and "ten to four" (words; a multiple of five minutes) are clock times, not
    ranges; "10 to 4" in digits could be either, so it is AMBIGUOUS(SEVERAL) with both readings.
    """
    between = "between" in words
    core = [w for w in words if w not in ("from", "between")]
    for k, word in enumerate(core):
        if word not in _RANGE_WORDS or not 0 < k < len(core) - 1 or (word == "and") != between:
            continue
        left, right = core[:k], core[k + 1:]
        plain_left = [w for w in left if w not in ("a", "minutes", "minute")]
        numeral_left = len(plain_left) == 1 and _NUMERAL.fullmatch(plain_left[0]) is not None
        if word in ("to", "till", "til") and not between and "from" not in words:
            minutes = 15 if plain_left in (["quarter"], ["half"]) else _small_number(plain_left, ordinal_ok=False)
            if plain_left == ["quarter"] or (minutes in _MINUTES_BEFORE and not numeral_left):
                return None  # "ten to four" is 3:50
            if minutes in _MINUTES_BEFORE and numeral_left:
                clock = _parse_time_words(core, hours, ranges=False)
                ranged = _resolve_range(_time_side(left), _time_side(right), hours)
                if clock.ok and ranged is not None and ranged.ok:
                    return _ambiguous(Why.SEVERAL, [*clock.options(), *ranged.options()])
                return None
        reading = _resolve_range(_time_side(left), _time_side(right), hours)
        if reading is not None:
            return reading
    return None


def _resolve_range(left: tuple[int, int, bool, str | None] | None, right: tuple[int, int, bool, str | None] | None,
                   hours: tuple[dt.time, dt.time]) -> Reading[SpokenTime] | None:
    if left is None or right is None:
        return None
    lh, lm, lfixed, lmark = left
    rh, rm, rfixed, rmark = right
    ends = [dt.time(rh, rm)] if rfixed else _meridiem_candidates(rh, rm, rmark, None, hours) or []
    if lmark is None and rmark is not None and not lfixed and lh <= 12 and (lh % 12) <= (rh % 12):
        lmark = rmark  # "2 to 4 pm": both afternoon
    starts = [dt.time(lh, lm)] if lfixed else _meridiem_candidates(lh, lm, lmark, None, hours) or []
    pairs = [(a, b) for a in starts for b in ends if a < b]
    if not pairs:
        return _not_understood(Why.NOT_A_VALUE)
    span = min(_minutes(b) - _minutes(a) for a, b in pairs)
    shortest = [(a, b) for a, b in pairs if _minutes(b) - _minutes(a) == span]
    if len(shortest) == 1:
        a, b = shortest[0]
        return _value(SpokenTime(a, None, Bound.AT, b))
    return _ambiguous(Why.AM_PM, [SpokenTime(a, None, Bound.AT, b) for a, b in shortest])


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


# --------------------------------------------------------------------------- days


@dataclass(frozen=True)
class DaySpan:
    """One day (``first == last``) or a stretch of days ("next week"), with a time if one was said."""

    first: dt.date
    last: dt.date
    time: SpokenTime | None = None


_WEEKDAYS = {name: i for i, name in enumerate(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}
_WEEKDAYS.update({f"{name}s": i for name, i in list(_WEEKDAYS.items())})
_WEEKDAYS.update({"mon": 0, "tues": 1, "tue": 1, "weds": 2, "wed": 2, "thurs": 3, "thur": 3, "thu": 3, "fri": 4})
_COUNTS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "a couple": 2,
           "couple": 2, "a few": 3, "few": 3}


@dataclass(frozen=True)
class _DayExpr:
    start: int
    end: int  # exclusive, in words
    kind: str
    arg: int = 0
    shift: int = 0  # days added after resolving ("a week from Friday")
    part: str = ""  # of a month: "early", "mid", "late", "week1".."week4", "last_week" ("" = all of it)
    year: int = 0  # a month's year when said ("January 2026"); 1 for "next year", 0 when not said
    inner: tuple[_DayExpr, ...] = ()  # what "before", "after", "by" and "between" bound


# Months as spoken day words ("in January", "early March"): full names only, so "mar" and "jan" stay
# words; "may" only after a word that makes it a month ("in May", "early May"), never "may I".
_MONTH_WORDS = {m: i for m, i in _MONTHS.items() if len(m) > 3 or m == "may"}
_MONTH_WORDS["sept"] = 9
_MAY_LEADS = frozenset({"in", "early", "late", "mid", "of", "during", "until", "till", "before", "after", "by",
                        "between", "and", "or", "to", "for", "middle", "end", "beginning", "start", "through"})
# Parts of a month said before it: "early January", "the middle of March", "the first week of June".
_MONTH_PARTS = (
    (("the", "beginning", "of"), "early"), (("beginning", "of"), "early"), (("the", "start", "of"), "early"),
    (("start", "of"), "early"), (("early",), "early"), (("the", "middle", "of"), "mid"), (("middle", "of"), "mid"),
    (("mid",), "mid"), (("the", "end", "of"), "late"), (("end", "of"), "late"), (("late",), "late"),
    *[((*lead, nth, "week", of), f"week{n}") for n, nth in enumerate(("first", "second", "third", "fourth"), 1)
      for lead in ((), ("the",)) for of in ("of", "in")],
    *[((*lead, "last", "week", of), "last_week") for lead in ((), ("the",)) for of in ("of", "in")],
)
_MONTH_PARTS = tuple(sorted(_MONTH_PARTS, key=lambda item: -len(item[0])))
# US holidays, computed for each year (month, then a fixed day or the nth weekday; n = -1 is the last).
_HOLIDAYS: dict[tuple[str, ...], str] = {
    ("new", "years", "day"): "new_year", ("new", "year", "day"): "new_year", ("new", "years"): "new_year",
    ("new", "year"): "new_year", ("new", "years", "eve"): "new_years_eve", ("new", "year", "eve"): "new_years_eve",
    ("christmas", "eve"): "christmas_eve", ("christmas", "day"): "christmas", ("christmas",): "christmas",
    ("xmas",): "christmas", ("thanksgiving", "day"): "thanksgiving", ("thanksgiving",): "thanksgiving",
    ("easter", "sunday"): "easter", ("easter",): "easter", ("memorial", "day"): "memorial_day",
    ("labor", "day"): "labor_day", ("labour", "day"): "labor_day", ("independence", "day"): "independence_day",
    ("halloween",): "halloween", ("veterans", "day"): "veterans_day", ("juneteenth",): "juneteenth",
    ("martin", "luther", "king", "day"): "mlk_day", ("martin", "luther", "king", "jr", "day"): "mlk_day",
    ("mlk", "day"): "mlk_day", ("presidents", "day"): "presidents_day", ("columbus", "day"): "columbus_day",
    ("indigenous", "peoples", "day"): "columbus_day", ("valentines", "day"): "valentines_day",
    ("valentines",): "valentines_day", ("the", "holidays"): "holidays",
}
_HOLIDAY_NAMES = sorted(_HOLIDAYS, key=len, reverse=True)
_HOLIDAY_RULES: dict[str, tuple[int, int, int | None]] = {  # name: (month, day or nth, weekday for nth)
    "new_year": (1, 1, None), "new_years_eve": (12, 31, None), "christmas_eve": (12, 24, None),
    "christmas": (12, 25, None), "independence_day": (7, 4, None), "halloween": (10, 31, None),
    "veterans_day": (11, 11, None), "juneteenth": (6, 19, None), "valentines_day": (2, 14, None),
    "mlk_day": (1, 3, 0), "presidents_day": (2, 3, 0), "memorial_day": (5, -1, 0), "labor_day": (9, 1, 0),
    "columbus_day": (10, 2, 0), "thanksgiving": (11, 4, 3),
}
AFTER_DAYS = 28  # "after Christmas": the four weeks after it

# Holidays on a fixed date, said for a date of birth ("christmas 1985", "april fool's day 1985"): that month and
# day (bt14 s24 nit 7). Holidays that move with the year are _MOVING_HOLIDAYS: asked again, never computed.
_FIXED_HOLIDAYS: dict[tuple[str, ...], tuple[str, str]] = {
    **{phrase: (_MONTH_BY_NUMBER[_HOLIDAY_RULES[name][0]], str(_HOLIDAY_RULES[name][1]))
       for phrase, name in _HOLIDAYS.items() if name in _HOLIDAY_RULES and _HOLIDAY_RULES[name][2] is None},
    ("april", "fools", "day"): ("april", "1"), ("april", "fools"): ("april", "1"), ("april", "fool"): ("april", "1"),
    ("st", "patricks", "day"): ("march", "17"), ("saint", "patricks", "day"): ("march", "17"),
    ("st", "paddys", "day"): ("march", "17"), ("boxing", "day"): ("december", "26"),
}
_MOVING_HOLIDAYS = frozenset(phrase for phrase, name in _HOLIDAYS.items()
                             if name not in _HOLIDAY_RULES or _HOLIDAY_RULES[name][2] is not None) | {
    ("mothers", "day"), ("fathers", "day"), ("good", "friday"), ("passover",), ("hanukkah",), ("diwali",),
    ("ramadan",), ("eid",), ("rosh", "hashanah"), ("yom", "kippur"), ("chinese", "new", "year"),
    ("lunar", "new", "year")}


_HOLIDAY_PHRASES = sorted([*_FIXED_HOLIDAYS, *_MOVING_HOLIDAYS], key=len, reverse=True)


_WEEK_AFTER = {"week": 7, "fortnight": 14}


# A part of a week said before "this week" / "next week" (bt14-s25 nit 7): early is Monday to Wednesday, the middle
# Tuesday to Thursday, the end (late) Thursday and Friday, as "the end of the week" is. Longest first.
_WEEK_PARTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("the", "beginning", "of"), "early"), (("the", "start", "of"), "early"), (("the", "middle", "of"), "mid"),
    (("the", "end", "of"), "late"), (("beginning", "of"), "early"), (("start", "of"), "early"),
    (("middle", "of"), "mid"), (("end", "of"), "late"), (("early",), "early"), (("mid",), "mid"),
    (("late",), "late"),
)
_WEEK_PART_DAYS = {"early": (0, 2), "mid": (1, 3), "late": (3, 4)}  # Monday 0


def _week_part(words: Sequence[str], i: int) -> tuple[int, str]:
    """(how many words before ``i`` name a part of the week, that part) for "early next week"; (0, "") if none."""
    for phrase, part in _WEEK_PARTS:
        if i >= len(phrase) and tuple(words[i - len(phrase):i]) == phrase:
            return len(phrase), part
    return 0, ""


def _scan_days(words: Sequence[str]) -> list[_DayExpr]:
    """Day expressions in a word list, left to right, without resolving them."""
    out: list[_DayExpr] = []
    i, n = 0, len(words)
    while i < n:
        w = words[i]
        nxt = words[i + 1] if i + 1 < n else ""
        nxt2 = words[i + 2] if i + 2 < n else ""
        found = _named_day(words, i)
        if found is not None:
            out.append(found)
            i = found.end
            continue
        if w in ("today", "tonight", "tomorrow", "tmrw") and (
                nxt in _WEEK_AFTER or i > 0 and words[i - 1] in _WEEK_AFTER):
            # "a week today", "today week", "a fortnight tomorrow", "tomorrow week": a week (two) after that day
            # (fix14-bt S5; read alone, "today" was the day itself)
            base = 0 if w in ("today", "tonight") else 1
            if nxt in _WEEK_AFTER:
                out.append(_DayExpr(i, i + 2, "offset", base + _WEEK_AFTER[nxt]))
                i += 2
                continue
            start = i - 2 if i > 1 and words[i - 2] in ("a", "one") else i - 1
            out.append(_DayExpr(start, i + 1, "offset", base + _WEEK_AFTER[words[i - 1]]))
        elif w in ("today", "tonight"):
            out.append(_DayExpr(i, i + 1, "offset", 0))
        elif w == "this" and nxt in ("morning", "afternoon", "evening"):
            out.append(_DayExpr(i, i + 1, "offset", 0))  # the part word stays for the time reader
        elif w == "day" and nxt == "after" and nxt2 in ("tomorrow", "tmrw"):
            start = i - 1 if i > 0 and words[i - 1] == "the" else i
            out.append(_DayExpr(start, i + 3, "offset", 2))
            i += 3
            continue
        elif w in ("day", "week") and nxt in ("after", "before") and not (w == "week" and nxt2 == "next") or (
                w in ("next", "following") and nxt == "day" and i > 0 and words[i - 1] == "the"):
            # "the day after", "the day before", "the next day", "the week after": counted from the day said
            # just before, or from the one the caller is moving ("can I come the day after").
            start = i - 1 if i > 0 and words[i - 1] == "the" else i
            days = -1 if nxt == "before" else 1
            out.append(_DayExpr(start, i + 2, "week_from" if w == "week" else "day_from", days))
            i += 2
            continue
        elif w in ("tomorrow", "tmrw", "tomorrows"):
            out.append(_DayExpr(i, i + 1, "offset", 1))
        elif w in ("later", "earlier") and i >= 2 and words[i - 1] in _UNIT_DAYS and \
                _count_before(words, i - 1) is not None:
            # "a week later", "two days earlier": counted from the day being moved (``anchor``; bt14-s26 nit 9)
            count, start = _count_before(words, i - 1)  # type: ignore[misc]
            sign = 1 if w == "later" else -1
            out.append(_DayExpr(start, i + 1, "from_anchor", sign * count * _UNIT_DAYS[words[i - 1]]))
        elif w == "yesterday":
            out.append(_DayExpr(i, i + 1, "offset", -1))
        elif (w == "rest" and nxt == "of" and words[i + 2:i + 4] in (["the", "week"], ["this", "week"])) or (
                w == "later" and nxt == "in" and words[i + 2:i + 4] == ["the", "week"]):
            # "the rest of the week", "later in the week" (fix14-left2 break-test): this week, as "later this week"
            start = i - 1 if i > 0 and words[i - 1] == "the" else i
            out.append(_DayExpr(start, i + 4, "this_week"))
            i += 4
            continue
        elif w == "week" and nxt == "of" and _week_of(words, i) is not None:
            # "the week of December 14th", "the week of the 14th": that date's week (bt14-s26 S6: only the date)
            end, day, month = _week_of(words, i)  # type: ignore[misc]
            start = i - 1 if i > 0 and words[i - 1] == "the" else i
            out.append(_DayExpr(start, end, "week_of", day, year=month))
            i = end
            continue
        elif w in ("early", "late", "mid") and words[i + 1:i + 4] == ["in", "the", "week"] or (
                w in ("middle", "end", "beginning", "start") and nxt == "of" and words[i + 2:i + 4] == ["the", "week"]
                and not (w == "end")):
            # "early in the week", "the middle of the week": that part of this week, or of next week once it is over
            start = i - 1 if i > 0 and words[i - 1] == "the" else i
            part = {"beginning": "early", "start": "early", "middle": "mid"}.get(w, w)
            out.append(_DayExpr(start, i + 4, "week_part", part=part))
            i += 4
            continue
        elif w in ("this", "next") and nxt in ("week", "weekend"):
            lead, part = _week_part(words, i) if nxt == "week" else (0, "")
            out.append(_DayExpr(i - lead, i + 2, f"{w}_{nxt}", part=part))
            i += 2
            continue
        elif w == "week" and nxt == "after" and nxt2 == "next":
            start = i - 1 if i > 0 and words[i - 1] == "the" else i
            out.append(_DayExpr(start, i + 3, "week_after_next"))
            i += 3
            continue
        elif w == "in" and i + 2 < n:
            count_words = (nxt, f"{nxt} {nxt2}")
            for phrase in count_words:
                size = len(phrase.split())
                unit = words[i + 1 + size] if i + 1 + size < n else ""
                if unit == "of" and i + 2 + size < n:  # "in a couple of days"
                    unit, size = words[i + 2 + size], size + 1
                # "in ten days", "in twelve days", "in twenty one days": number words as digits (bt14-s26 S6)
                count = _COUNTS.get(phrase) if phrase in _COUNTS else (
                    int(phrase) if phrase.isdigit() else _spoken_count(phrase.split()))
                if count is not None and unit in _UNIT_DAYS:
                    out.append(_DayExpr(i, i + 2 + size, "offset", count * _UNIT_DAYS[unit]))
                    i += 2 + size
                    break
                if count is not None and unit in ("month", "months"):
                    out.append(_DayExpr(i, i + 2 + size, "months_on", count))
                    i += 2 + size
                    break
            else:
                i += 1
                continue
            continue
        elif w == "following" and nxt in _WEEKDAYS:
            # "the following Wednesday": the one after the coming one, never this week's (review 14b finding 14)
            start = i - 1 if i > 0 and words[i - 1] == "the" else i
            out.append(_DayExpr(start, i + 2, "weekday_after_next", _WEEKDAYS[nxt]))
            i += 2
            continue
        elif w == "now" and i > 0 and words[i - 1] == "from":
            out.append(_DayExpr(i, i + 1, "offset", 0))  # "two weeks from now" (shifted like "from today")
        elif w == "end" and nxt == "of" and words[i + 2:i + 4] in (["the", "week"], ["this", "week"]):
            out.append(_DayExpr(i, i + 4, "end_of_week"))
            i += 4
            continue
        elif w == "weekend" and nxt == "after" and nxt2 == "next":
            # "the weekend after next": the weekend after next weekend's (bt14-s26 S6; read alone, this weekend)
            start = i - 1 if i > 0 and words[i - 1] == "the" else i
            out.append(_DayExpr(start, i + 3, "weekend_after_next"))
            i += 3
            continue
        elif w == "weekend":  # "the weekend", "over the weekend" ("this/next weekend" are read above)
            out.append(_DayExpr(i - 1 if i > 0 and words[i - 1] == "the" else i, i + 1, "this_weekend"))
        elif w in ("this", "next", "on", "coming") and nxt in _WEEKDAYS:
            if w == "next" and nxt2 == "after" and i + 3 < n and words[i + 3] == "next":
                out.append(_DayExpr(i, i + 4, "weekday_after_next", _WEEKDAYS[nxt]))
                i += 4
                continue
            kind = {"this": "this_weekday", "coming": "this_weekday", "next": "next_weekday"}.get(w, "weekday")
            out.append(_DayExpr(i + 1 if w == "on" else i, i + 2, kind, _WEEKDAYS[nxt]))
            i += 2
            continue
        elif w in _WEEKDAYS:
            if nxt == "after" and nxt2 == "next":
                out.append(_DayExpr(i, i + 3, "weekday_after_next", _WEEKDAYS[w]))
                i += 3
                continue
            if nxt in ("week", "fortnight") and nxt2 not in ("after", "before"):
                # "Monday week": a week after the coming Monday; "Tuesday fortnight": two weeks after it
                out.append(_DayExpr(i, i + 2, "weekday", _WEEKDAYS[w], 7 if nxt == "week" else 14))
                i += 2
                continue
            out.append(_DayExpr(i, i + 1, "weekday", _WEEKDAYS[w]))
        i += 1
    return _relative(words, _bounded(words, _counted_from(words, _with_weeks(words, out))))


_UNIT_DAYS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "fortnights": 14}


def _named_day(words: Sequence[str], i: int) -> _DayExpr | None:
    """A holiday ("Christmas", "Thanksgiving"), a month or part of one ("in January", "early March",
    "the first week of June", "January next year"), "this/next month" or "this/next year" said at ``i``."""
    for holiday_words in _HOLIDAY_NAMES:
        if tuple(words[i:i + len(holiday_words)]) == holiday_words:
            return _DayExpr(i, i + len(holiday_words), "holiday", part=_HOLIDAYS[holiday_words])
    nth = _nth_in_month(words, i)
    if nth is not None:
        return nth
    part, at = "", i
    for lead, name in _MONTH_PARTS:
        if tuple(words[i:i + len(lead)]) == lead:
            part, at = name, i + len(lead)
            break
    word = words[at] if at < len(words) else ""
    nxt = words[at + 1] if at + 1 < len(words) else ""
    if word in ("this", "next") and nxt in ("month", "year"):
        return _DayExpr(i, at + 2, f"{word}_{nxt}", part=part)
    if part and word == "the" and nxt in ("month", "year"):  # "the end of the month"
        return _DayExpr(i, at + 2, f"this_{nxt}", part=part)
    if word not in _MONTH_WORDS:
        return None
    if word == "may" and not part and (i == 0 or words[i - 1] not in _MAY_LEADS):
        return None  # "may I move my appointment"
    after = at + 1 + (at + 1 < len(words) and words[at + 1] == "the")
    if _day_number_end(words, after, ordinal_only=False) is not None:
        return None  # "January 5th", "January the fifth": a date, read by parse_date
    if i > 0 and (_ORDINAL_NUMERAL.fullmatch(words[i - 1]) or words[i - 1] in _ORDINALS
                  or words[i - 1].isdigit() and int(words[i - 1]) <= 31):
        return None  # "5th January", "the 5th of January"
    if i > 1 and words[i - 1] == "of" and (_ORDINAL_NUMERAL.fullmatch(words[i - 2]) or words[i - 2] in _ORDINALS):
        return None
    end, year = at + 1, 0
    tail = words[end:end + 3]
    if tail[:1] and _NUMERAL.fullmatch(tail[0]) and len(tail[0]) == 4:
        end, year = end + 1, int(tail[0])
    elif tail[:2] in (["next", "year"], ["this", "year"]) or tail[:3] in (["of", "next", "year"],
                                                                          ["of", "this", "year"]):
        size = 2 if tail[0] != "of" else 3
        year = 1 if "next" in tail[:size] else -1
        end += size
    return _DayExpr(i, end, "month", _MONTH_WORDS[word], part=part, year=year)


_NTH = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5,
        "5th": 5, "last": -1}


def _nth_in_month(words: Sequence[str], i: int) -> _DayExpr | None:
    """"the first Monday of January", "the last Friday of the month", "the second Tuesday in March", "the fifteenth
    of this month", "the 3rd of next month" said at ``i`` (bt14-s26 SHOULD-FIX 6; read apart, "first" was the 1st and
    the weekday another day). The month: a month word (the next one with that day from today), "the/this month" or
    "next month"; kind "nth_weekday" (arg: the weekday, part: n) or "month_day" (arg: the day)."""
    at = i + 1 if i < len(words) and words[i] == "the" else i
    weekday, day, end = None, None, at + 1
    if at + 1 < len(words) and words[at] in _NTH and words[at + 1] in _WEEKDAYS and not words[at + 1].endswith("s"):
        weekday, end = _WEEKDAYS[words[at + 1]], at + 2
    else:
        number_end = _day_number_end(words, at, ordinal_only=True)
        if number_end is None or words[at] == "last":
            return None
        day, end = _day_number(list(words[at:number_end])), number_end
        if day is None:
            return None
    if end >= len(words) or words[end] not in ("of", "in"):
        return None
    month_words = words[end + 1:end + 3]
    if month_words[:2] in (["the", "month"], ["this", "month"]):
        month, stop = 0, end + 3
    elif month_words[:2] == ["next", "month"]:
        month, stop = -1, end + 3
    elif month_words[:1] and month_words[0] in _MONTH_WORDS:
        month, stop = _MONTH_WORDS[month_words[0]], end + 2
    else:
        return None
    if weekday is not None:
        return _DayExpr(i, stop, "nth_weekday", weekday, part=str(_NTH[words[at]]), year=month)
    return _DayExpr(i, stop, "month_day", day or 0, year=month)


def _in_month(expr: _DayExpr, year: int, month: int) -> dt.date | None:
    """The day an "nth_weekday" or "month_day" expression names in one month; None when it has none."""
    if expr.kind == "month_day":
        return _real_date(year, month, expr.arg)
    n, last = int(expr.part), calendar.monthrange(year, month)[1]
    if n < 0:
        day = dt.date(year, month, last)
        return day - dt.timedelta(days=(day.weekday() - expr.arg) % 7)
    first = dt.date(year, month, 1)
    day = first + dt.timedelta(days=(expr.arg - first.weekday()) % 7 + 7 * (n - 1))
    return day if day.month == month else None


def _counted_from(words: Sequence[str], exprs: list[_DayExpr]) -> list[_DayExpr]:
    """"the day after Christmas", "the day before Thanksgiving", "the week after next Monday": a day or week
    counted from the day expression said right after it, one expression; alone ("can I come the day after")
    it stays, to be counted from the day said before it or from the appointment (``parse_day``'s anchor)."""
    out: list[_DayExpr] = []
    k = 0
    while k < len(exprs):
        expr = exprs[k]
        following = exprs[k + 1] if k + 1 < len(exprs) else None
        if expr.kind in ("day_from", "week_from") and following is not None and following.start == expr.end:
            out.append(_DayExpr(expr.start, following.end, expr.kind, expr.arg, inner=(following,)))
            k += 2
            continue
        out.append(expr)
        k += 1
    return out


_BOUNDS = {"before": "before", "after": "after", "by": "by", "until": "by", "till": "by"}


def _bounded(words: Sequence[str], exprs: list[_DayExpr]) -> list[_DayExpr]:
    """"before Thanksgiving", "after Christmas", "by Friday", "between Christmas and New Year": the days on
    the near or far side of a day expression, one expression spanning the bound word."""
    out: list[_DayExpr] = []
    k = 0
    while k < len(exprs):
        expr = exprs[k]
        before = words[expr.start - 1] if expr.start > 0 else ""
        following = exprs[k + 1] if k + 1 < len(exprs) else None
        if before == "between" and following is not None and list(words[expr.end:following.start]) == ["and"]:
            out.append(_DayExpr(expr.start - 1, following.end, "between", inner=(expr, following)))
            k += 2
            continue
        if before in _BOUNDS and expr.kind not in ("day_from", "week_from"):
            out.append(_DayExpr(expr.start - 1, expr.end, _BOUNDS[before], inner=(expr,)))
        else:
            out.append(expr)
        k += 1
    return out


def _relative(words: Sequence[str], exprs: list[_DayExpr]) -> list[_DayExpr]:
    """"two days after Christmas", "three days before Christmas", "a week before Thanksgiving" (that many days from
    the day), and "the Monday after Thanksgiving", "the Friday before Christmas" (the first such weekday after or
    before it): one expression (bt14-s26 SHOULD-FIX 6; read apart, the count was dropped and the weekday a second
    day)."""
    out: list[_DayExpr] = []
    for expr in exprs:
        if expr.kind not in ("after", "before") or len(expr.inner) != 1:
            out.append(expr)
            continue
        sign = 1 if expr.kind == "after" else -1
        unit = words[expr.start - 1] if expr.start >= 1 else ""
        counted = _count_before(words, expr.start - 1) if unit in _UNIT_DAYS else None
        prev = out[-1] if out else None
        if counted is not None:
            count, start = counted
            start = start - 1 if start > 0 and words[start - 1] == "the" else start
            if prev is not None and prev.end > start:
                out.pop()  # "a few" read as something else
            out.append(_DayExpr(start, expr.end, "days_from", sign * count * _UNIT_DAYS[unit], inner=expr.inner))
        elif prev is not None and prev.kind == "weekday" and prev.end == expr.start and not prev.shift:
            start = prev.start - 1 if prev.start > 0 and words[prev.start - 1] == "the" else prev.start
            out[-1] = _DayExpr(start, expr.end, "weekday_from", prev.arg, shift=0, part=expr.kind, inner=expr.inner)
        else:
            out.append(expr)
    return out


_WEEK_KINDS = {"this_week": 0, "next_week": 1, "week_after_next": 2}
_WEEK_BRIDGES = frozenset({"on", "of", "the", "in", "that"})


def _with_weeks(words: Sequence[str], exprs: list[_DayExpr]) -> list[_DayExpr]:
    """A weekday and a week said together are one day: "Wednesday next week", "next week on Wednesday",
    "Thursday of the week after next" (review 14b finding 1; read apart, the weekday alone was this week's)."""
    out: list[_DayExpr] = []
    for expr in exprs:
        prev = out[-1] if out else None
        if prev is not None and all(w in _WEEK_BRIDGES for w in words[prev.end:expr.start]):
            pair = {prev.kind, expr.kind}
            day = prev if prev.kind == "weekday" else expr
            week = expr if day is prev else prev
            if day.kind == "weekday" and week.kind in _WEEK_KINDS and len(pair) == 2 and not day.shift:
                out[-1] = _DayExpr(prev.start, expr.end, "weekday_in_week", day.arg + 7 * _WEEK_KINDS[week.kind])
                continue
        out.append(expr)
    return out


def _shifted(words: Sequence[str], exprs: list[_DayExpr]) -> list[_DayExpr]:
    """"a week from Friday", "two weeks from today": the day expression after "<n> week(s) from"."""
    out = []
    for expr in exprs:
        i = expr.start
        unit = words[i - 2] if i >= 2 else ""
        # days count only from ("three days from now", "two days from tomorrow"; bt14-s25b S3), weeks on too
        joined = words[i - 1] == "from" if unit in ("day", "days") else i >= 1 and words[i - 1] in ("from", "on")
        counted = _count_before(words, i - 2) if unit in _UNIT_DAYS and joined and not expr.shift else None
        if counted is not None:
            # "a week from Friday", "two weeks from tomorrow", "a fortnight from Monday", "a week on Monday"
            count, start = counted
            expr = dataclasses.replace(expr, start=start, shift=count * _UNIT_DAYS[unit])
        out.append(expr)
    return out


def _week_of(words: Sequence[str], i: int) -> tuple[int, int, int] | None:
    """(where it ends, day, month or 0) of the date after "week of" at ``i``: "december 14th", "the 14th"."""
    at = i + 2
    month = 0
    if at < len(words) and words[at] in _MONTH_WORDS:
        month, at = _MONTH_WORDS[words[at]], at + 1 + (at + 1 < len(words) and words[at + 1] == "the")
        end = _day_number_end(words, at, ordinal_only=False)
    elif at < len(words) and words[at] == "the":
        at += 1
        end = _day_number_end(words, at, ordinal_only=True)
    else:
        return None
    if end is None:
        return None
    day = _day_number(list(words[at:end]))
    return (end, day, month) if day is not None else None


def _spoken_count(words: Sequence[str]) -> int | None:
    """A count said in words or digits ("ten", "twelve", "twenty one", "10") from 1 to 99; None otherwise."""
    if not words or not all(w.isdigit() or w in _TENS or w in _UNITS for w in words):
        return None
    value = _small_number(words, ordinal_ok=False)
    return value if value is not None and 1 <= value <= 99 else None


def _count_before(words: Sequence[str], end: int) -> tuple[int, int] | None:
    """The count said right before ``words[end]`` and where it starts: "three", "3", "ten", "a few", "a couple
    (of)", "couple"; None when there is none."""
    at = end - 1 if end >= 1 and words[end - 1] == "of" else end  # "a couple of days"
    for size in (2, 1):
        if at - size < 0:
            continue
        phrase = " ".join(words[at - size:at])
        if phrase in _COUNTS:
            return _COUNTS[phrase], at - size
    if at >= 1 and at == end and (words[at - 1].isdigit() or words[at - 1] in _TENS or words[at - 1] in _UNITS):
        value = _small_number(words[at - 1:at], ordinal_ok=False)
        if value is not None and 1 <= value <= 99:
            return value, at - 1
    return None


def _week_start(day: dt.date, week_start: int) -> dt.date:
    return day - dt.timedelta(days=(day.weekday() - week_start) % 7)


_Span = tuple[dt.date, dt.date]


def _mapped(reading: Reading[_Span], how: Callable[[_Span], _Span | None]) -> Reading[_Span]:
    """A span reading passed through ``how`` (its candidates too); a span ``how`` finds empty is no value."""
    if reading.ok and reading.value is not None:
        found = how(reading.value)
        return _value(found) if found is not None else _not_understood(Why.OUT_OF_RANGE)
    if reading.outcome is Outcome.NOT_UNDERSTOOD:
        return reading
    options = [o for o in (how(c) for c in reading.candidates) if o is not None]
    return _ambiguous(reading.why or Why.SEVERAL, options)


def _month_span(year: int, month: int, part: str) -> _Span:
    """The days of a month, or of one part of it: early 1-10, mid 11-20, late 21-end, week1 1-7 ... week4
    22-28, last_week the last seven."""
    last = calendar.monthrange(year, month)[1]
    first_day, last_day = {"early": (1, 10), "mid": (11, 20), "late": (21, last), "last_week": (last - 6, last),
                           **{f"week{n}": (7 * n - 6, 7 * n) for n in range(1, 5)}}.get(part, (1, last))
    return dt.date(year, month, first_day), dt.date(year, month, last_day)


def holiday(name: str, year: int) -> _Span:
    """A US holiday's day(s) in ``year`` (``_HOLIDAY_RULES`` keys, "easter", or "holidays": Christmas Eve to
    New Year's Day). KeyError for another name."""
    if name == "holidays":
        return dt.date(year, 12, 24), dt.date(year + 1, 1, 1)
    if name == "easter":  # the Anonymous Gregorian algorithm (Meeus/Jones/Butcher)
        a, b, c = year % 19, year // 100, year % 100
        d, e = divmod(b, 4)
        g = (8 * b + 13) // 25
        h = (19 * a + b - d - g + 15) % 30
        i, k = divmod(c, 4)
        j = (32 + 2 * e + 2 * i - h - k) % 7
        m = (a + 11 * h + 22 * j) // 451
        month, day = divmod(h + j - 7 * m + 114, 31)
        date = dt.date(year, month, day + 1)
        return date, date
    month, nth, weekday = _HOLIDAY_RULES[name]
    if weekday is None:
        date = dt.date(year, month, nth)
    elif nth > 0:
        first = dt.date(year, month, 1)
        date = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    else:
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        date = last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    return date, date


def _clipped(span: _Span, today: dt.date) -> _Span | None:
    """A span from today on; None when it is over."""
    return (max(span[0], today), span[1]) if span[1] >= today else None


def _resolve_day(expr: _DayExpr, today: dt.date, week_start: int,
                 anchor: _Span | None = None) -> Reading[tuple[dt.date, dt.date]]:
    if expr.shift:
        kind = "this_weekday" if expr.kind == "weekday" else expr.kind  # "a week from Thursday", said on one
        base = _resolve_day(dataclasses.replace(expr, kind=kind, shift=0), today, week_start, anchor)
        step = dt.timedelta(days=expr.shift)
        return _mapped(base, lambda span: (span[0] + step, span[1] + step))
    one = dt.timedelta(days=1)
    named = _resolve_named(expr, today, week_start, anchor)
    if named is not None:
        return named
    if expr.kind == "offset":
        day = today + dt.timedelta(days=expr.arg)
        return _value((day, day))
    if expr.kind in ("this_week", "next_week", "week_after_next"):
        start = _week_start(today, week_start)
        weeks = {"this_week": 0, "next_week": 1, "week_after_next": 2}[expr.kind]
        first = start + dt.timedelta(weeks=weeks)
        if expr.part in _WEEK_PART_DAYS:  # "early next week": Monday to Wednesday of it
            monday = first + dt.timedelta(days=(0 - week_start) % 7)
            a, b = _WEEK_PART_DAYS[expr.part]
            days = _clipped((monday + a * one, monday + b * one), today)
            return _value(days) if days is not None else _not_understood(Why.OUT_OF_RANGE)
        return _value((max(first, today), first + 6 * one))
    if expr.kind in ("this_weekend", "next_weekend"):
        ahead = (5 - today.weekday()) % 7
        saturday = today + dt.timedelta(days=ahead) if today.weekday() != 6 else today - one
        if expr.kind == "this_weekend":
            return _value((max(saturday, today), saturday + one))
        if today.weekday() >= 5:
            following = saturday + dt.timedelta(weeks=1)
            return _value((following, following + one))
        return _ambiguous(Why.WHICH_WEEK, [(saturday, saturday + one),
                                           (saturday + dt.timedelta(weeks=1), saturday + 8 * one)])
    if expr.kind == "week_of":
        if expr.year:
            dates = [_real_date(y, expr.year, expr.arg) for y in (today.year, today.year + 1)]
            date = next((d for d in dates if d is not None and _week_start(d, week_start) + 6 * one >= today), None)
        else:
            found = _day_of_month([f"{expr.arg}th"], today - dt.timedelta(days=6))  # the week may have begun
            date = found.value if found is not None else None
        if date is None:
            return _not_understood(Why.NO_SUCH_DATE)
        first = _week_start(date, week_start)
        days = _clipped((first, first + 6 * one), today)
        return _value(days) if days is not None else _not_understood(Why.OUT_OF_RANGE)
    if expr.kind == "week_part":
        monday = _week_start(today, 0)
        a, b = _WEEK_PART_DAYS[expr.part]
        if today > monday + b * one:
            monday += dt.timedelta(weeks=1)
        return _value((max(today, monday + a * one), monday + b * one))
    if expr.kind == "weekend_after_next":
        # on a weekday, the weekend after the coming one; on a weekend, two after this one ("next weekend" is the
        # one after)
        saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7) if today.weekday() < 5 else (
            today - dt.timedelta(days=today.weekday() - 5) + dt.timedelta(weeks=1))
        saturday += dt.timedelta(weeks=1)
        return _value((saturday, saturday + one))
    if expr.kind == "end_of_week":  # Thursday and Friday of this week (of next week once they are past)
        thursday = _week_start(today, 0) + 3 * one
        if today > thursday + one:
            thursday += dt.timedelta(weeks=1)
        return _value((max(thursday, today), thursday + one))
    if expr.kind == "weekday_in_week":
        weeks, weekday = divmod(expr.arg, 7)
        first = _week_start(today, week_start) + dt.timedelta(weeks=weeks)
        day = first + dt.timedelta(days=(weekday - week_start) % 7)
        return _value((day, day))
    target = expr.arg
    coming = today + dt.timedelta(days=(target - today.weekday()) % 7 or 7)  # 1..7 days ahead
    if expr.kind == "this_weekday":
        day = today if today.weekday() == target else coming
        return _value((day, day))
    if expr.kind == "weekday":
        if today.weekday() == target:
            return _ambiguous(Why.WHICH_WEEK, [(today, today), (coming, coming)])
        return _value((coming, coming))
    if expr.kind == "weekday_after_next":
        day = coming + dt.timedelta(weeks=1)
        return _value((day, day))
    # "next Friday": the coming Friday if it falls in next week; if it falls in this week, it could be
    # that one or the one a week later, so ask.
    if _week_start(coming, week_start) != _week_start(today, week_start):
        return _value((coming, coming))
    later = coming + dt.timedelta(weeks=1)
    return _ambiguous(Why.WHICH_WEEK, [(coming, coming), (later, later)])


def _resolve_named(expr: _DayExpr, today: dt.date, week_start: int,
                   anchor: _Span | None) -> Reading[_Span] | None:
    """Holidays, months, "next month", bounds and days counted from another; None for the other kinds."""
    one = dt.timedelta(days=1)
    if expr.kind == "holiday":
        for year in (today.year - 1, today.year, today.year + 1):
            span = holiday(expr.part, year)
            if span[1] >= today:
                return _value(span)
    if expr.kind == "month":
        year = {0: today.year, 1: today.year + 1, -1: today.year}.get(expr.year, expr.year)
        month_days = _clipped(_month_span(year, expr.arg, expr.part), today)
        if month_days is None and expr.year == 0:  # "in January" said in March: next January
            month_days = _month_span(year + 1, expr.arg, expr.part)
        return _value(month_days) if month_days is not None else _not_understood(Why.OUT_OF_RANGE)
    if expr.kind in ("nth_weekday", "month_day"):
        if expr.year in (0, -1):  # this month or next month: that one only
            month0 = today.month - 1 + (1 if expr.year == -1 else 0)
            months = [(today.year + month0 // 12, month0 % 12 + 1)]
        else:  # a month named: this year's when the day is still ahead, else next year's
            months = [(today.year, expr.year), (today.year + 1, expr.year)]
        days = [_in_month(expr, year, month) for year, month in months]
        ahead = [d for d in days if d is not None and d >= today]
        if ahead:
            return _value((ahead[0], ahead[0]))
        return _not_understood(Why.NO_SUCH_DATE if all(d is None for d in days) else Why.OUT_OF_RANGE)
    if expr.kind in ("this_month", "next_month"):
        year, month = today.year, today.month
        if expr.kind == "next_month":
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        part_days = _clipped(_month_span(year, month, expr.part), today)
        return _value(part_days) if part_days is not None else _not_understood(Why.OUT_OF_RANGE)
    if expr.kind in ("this_year", "next_year"):
        return _ambiguous(Why.VAGUE)  # too long a stretch to offer from: ask for a nearer day
    if expr.kind == "months_on":
        month0 = today.month - 1 + expr.arg
        year, month = today.year + month0 // 12, month0 % 12 + 1
        day = dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
        return _value((day, day))
    if expr.kind in ("day_from", "week_from"):
        base = _resolve_day(expr.inner[0], today, week_start) if expr.inner else (
            _value(anchor) if anchor is not None else None)
        if base is None:
            return _ambiguous(Why.VAGUE)  # "the day after" with nothing said to count from
        if expr.kind == "day_from":
            return _mapped(base, lambda s: (s[1] + one, s[1] + one) if expr.arg > 0 else (s[0] - one, s[0] - one))

        def week(span: _Span) -> _Span:
            start = _week_start(span[1] if expr.arg > 0 else span[0], week_start) + dt.timedelta(weeks=expr.arg)
            return start, start + 6 * one
        return _mapped(base, week)
    if expr.kind == "from_anchor":
        if anchor is None:
            return _ambiguous(Why.VAGUE)  # "a week later" with nothing to count from
        day = (anchor[0] if expr.arg < 0 else anchor[1]) + dt.timedelta(days=expr.arg)
        return _value((day, day)) if day >= today else _not_understood(Why.OUT_OF_RANGE)
    if expr.kind == "days_from":  # "two days after Christmas": from the day (the last of a stretch) said
        step = dt.timedelta(days=expr.arg)
        inner = _resolve_day(expr.inner[0], today, week_start, anchor)
        found = _mapped(inner, lambda s: (s[1] + step, s[1] + step) if expr.arg > 0 else (s[0] + step, s[0] + step))
        return _mapped(found, lambda s: s if s[0] >= today else None)
    if expr.kind == "weekday_from":  # "the Monday after Thanksgiving": the first Monday after it

        def weekday(s: _Span) -> _Span | None:
            if expr.part == "after":
                day = s[1] + dt.timedelta(days=(expr.arg - s[1].weekday()) % 7 or 7)
            else:
                day = s[0] - dt.timedelta(days=(s[0].weekday() - expr.arg) % 7 or 7)
            return (day, day) if day >= today else None
        return _mapped(_resolve_day(expr.inner[0], today, week_start, anchor), weekday)
    if expr.kind in ("before", "after", "by"):
        inner = _resolve_day(expr.inner[0], today, week_start, anchor)
        if expr.kind == "after":
            return _mapped(inner, lambda s: (s[1] + one, s[1] + AFTER_DAYS * one))
        if expr.kind == "by":
            return _mapped(inner, lambda s: (today, s[1]))
        return _mapped(inner, lambda s: (today, s[0] - one) if s[0] > today else None)
    if expr.kind == "between":
        first = _resolve_day(expr.inner[0], today, week_start, anchor)
        if not first.ok or first.value is None:
            return first
        start = first.value[1] + one
        second = _resolve_day(expr.inner[1], start, week_start, anchor)  # the second one after the first
        return _mapped(second, lambda s: (start, s[0] - one) if s[0] > start else None)
    return None


def _local_today(now: dt.datetime, tz: dt.tzinfo) -> dt.date:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime (the reference instant, with its offset)")
    return now.astimezone(tz).date()


_TIME_HINT_WORDS = frozenset({"am", "pm", "noon", "midnight", "midday", "oclock", "morning", "afternoon", "evening",
                              "night", "tonight", "half", "quarter", "past", "at", "after", "before", "around"})


def parse_day(text: str | None, *, now: dt.datetime, tz: dt.tzinfo, week_start: int = 0,
              hours: tuple[dt.time, dt.time] = DEFAULT_HOURS, anchor: dt.date | None = None) -> Reading[DaySpan]:
    """A day or stretch of days said relative to ``now`` in the practice's zone ``tz``, with any time said.

    "tomorrow afternoon", "the day after tomorrow", "this Friday", "next Tuesday at 3", "next week",
    "in two weeks", "June 12th", "the 12th". ``now`` must be aware (ValueError otherwise). Weeks start
    on ``week_start`` (0 = Monday). "next <weekday>" is the coming one when that falls in next week,
    and AMBIGUOUS(WHICH_WEEK) when the coming one is still this week (said on a Thursday, "next Friday"
    is tomorrow or 8 days out). A bare weekday that is today is AMBIGUOUS too (today, or a week today).
    Two different days ("Tuesday or Wednesday") are AMBIGUOUS(SEVERAL), and so are a weekday and a date
    that disagree ("Friday the 5th" when the 5th is a Saturday) and a self-correction ("Tuesday, no wait,
    Wednesday"). A day ruled out ("not Tuesday", "anything except Friday") is no answer.

    Months and holidays: "in January", "early March" (1st-10th; mid 11th-20th, late 21st-end), "the first
    week of June", "January next year", "next month", "the end of the month"; US holidays computed for the
    year ("Christmas", "Thanksgiving", "Easter", "Memorial Day"), the next one from today; "before
    Thanksgiving" (today to the day before), "after Christmas" (the ``AFTER_DAYS`` after it), "by Friday",
    "between Christmas and New Year". "in a fortnight", "Monday week" (a week after the coming Monday),
    "a week on Friday". "the day after", "the day before", "the next day", "the week after" count from the
    day said before them in the same answer, else from ``anchor`` (the appointment being moved, or the day
    the caller asked for and was refused), else are AMBIGUOUS(VAGUE); "the day after Christmas" counts from
    Christmas. "next year" alone is AMBIGUOUS(VAGUE): too long a stretch, the flow asks for a day.
    """
    whole = _day_from_text(text, now=now, tz=tz, week_start=week_start, hours=hours, anchor=anchor)
    words = _time_words(text or "")
    at = _correction_at(words, _is_day_word)
    if at is None:
        return whole
    tail = _day_from_text(" ".join(words[at:]), now=now, tz=tz, week_start=week_start, hours=hours, anchor=anchor)
    return _after_correction(whole, tail)


def parse_days(text: str | None, *, now: dt.datetime, tz: dt.tzinfo, week_start: int = 0,
               hours: tuple[dt.time, dt.time] = DEFAULT_HOURS,
               anchor: dt.date | None = None) -> Reading[tuple[DaySpan, ...]]:
    """The days a caller would take, each as ``parse_day`` reads it: one ("next Tuesday"), or several offered with
    "or" ("Tuesday or Wednesday", "either Tuesday or Thursday", "Monday or Friday afternoon"), earliest first.

    A time said with only one of the days goes with each ("Monday or Friday afternoon": either afternoon). A day
    that may be either of two weeks ("next Friday" on a Thursday) gives both. Where one of the days is not read
    (or no "or" was said) this is ``parse_day``'s reading of the whole, as a tuple of the one span when it is clear.
    """
    words = _time_words(text or "")
    parts: list[list[str]] = [[]]
    for word in words:
        if word == "or":
            parts.append([])
        elif word != "either":
            parts[-1].append(word)
    if len(parts) > 1 and all(parts):
        readings: list[Reading[DaySpan]] = []
        for part in parts:
            # "Tuesday or the day after": counted from the day said before it
            before = readings[-1].value.first if readings and readings[-1].value is not None else anchor
            readings.append(parse_day(" ".join(part), now=now, tz=tz, week_start=week_start, hours=hours,
                                      anchor=before))
        if all(r.ok or (r.why is Why.WHICH_WEEK and r.candidates) for r in readings):
            spans = [span for r in readings for span in r.options()]
            times = {span.time for span in spans if span.time is not None}
            # one time said goes with every day; several ("Tuesday morning or Wednesday afternoon") stay each its own
            said = next(iter(times)) if len(times) == 1 else None
            days = {DaySpan(span.first, span.last, span.time or said) for span in spans}
            return _value(tuple(sorted(days, key=lambda d: (d.first, d.last, str(d.time)))))
    whole = parse_day(text, now=now, tz=tz, week_start=week_start, hours=hours, anchor=anchor)
    if whole.ok and whole.value is not None:
        return _value((whole.value,))
    return Reading(whole.outcome, None, tuple((c,) for c in whole.candidates), whole.why)


_DAY_WORDS = frozenset({"today", "tonight", "tomorrow", "tmrw", "yesterday", "week", "weekend", "month",
                        "fortnight", "christmas", "thanksgiving", "easter", "holidays"})


def _is_day_word(word: str) -> bool:
    return word in _WEEKDAYS or word in _DAY_WORDS or word in _MONTHS or _is_time_word(word)


def _day_from_text(text: str | None, *, now: dt.datetime, tz: dt.tzinfo, week_start: int,
                   hours: tuple[dt.time, dt.time], anchor: dt.date | None = None) -> Reading[DaySpan]:
    """``parse_day`` without the self-correction rule."""
    today = _local_today(now, tz)
    words = _time_words(text or "")
    if not words:
        return _not_understood(Why.NOTHING_SAID)
    # A written date ("6/12") is a date, never a clock time: set it aside before looking for times.
    written = re.search(r"\b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b", text or "")
    if written is not None:
        words = _time_words((text or "")[:written.start()] + " " + (text or "")[written.end():])
    said = _shifted(words, _scan_days(words))
    exprs = [e for e in said if not ruled_out(words, e.start)]  # "not Tuesday" names no day
    day_words = {i for e in said for i in range(e.start, e.end)}
    free = [i for i in range(len(words)) if i not in day_words]
    free_words = [words[i] for i in free]
    mentions = [m for m in time_mentions(" ".join(free_words), hours=hours) if not ruled_out(free_words, m.start)]
    time_words = {free[i] for m in mentions for i in range(m.start, m.end)}
    spans: list[Reading[tuple[dt.date, dt.date]]] = []
    for e in exprs:
        # "Friday, or the day after": counted from the day said before it, else from the anchor given
        before = spans[-1].value if spans and spans[-1].ok else None
        spans.append(_resolve_day(e, today, week_start, before or ((anchor, anchor) if anchor else None)))
    if exprs and written is None:
        # "Friday the 5th", "Friday December 5th": the date decides when it falls on that weekday; when it
        # does not, the caller said two different days (review 14 finding 14).
        beside = [w for i, w in enumerate(words) if i not in day_words and i not in time_words]
        dated = _date_beside(beside, today)
        if dated is not None and dated.ok and dated.value is not None:
            date = dated.value
            spans = [_value((date, date)) if e.kind in _WEEKDAY_KINDS and e.arg == date.weekday() and not e.shift
                     else span for e, span in zip(exprs, spans, strict=True)]
            spans.append(_value((date, date)))
    if not exprs:
        rest = " ".join(w for i, w in enumerate(words) if i not in time_words)
        # A date needs a month name or a written date: read alone, "move it to 5" would become
        # February 5th through the "to" homophone.
        if written is not None:
            dated = parse_date(written.group(0), today=today, purpose=DatePurpose.UPCOMING)
        elif any(w in _MONTHS for w in rest.split()):
            dated = parse_date(rest, today=today, purpose=DatePurpose.UPCOMING)
        else:
            dated = _not_understood(Why.NOT_A_VALUE)
        if dated.outcome is Outcome.NOT_UNDERSTOOD:
            day_only = _day_of_month(rest.split(), today)
            if day_only is None:
                return _not_understood(dated.why or Why.NOT_A_VALUE)
            dated = day_only
        if not dated.ok:
            return _ambiguous(dated.why or Why.SEVERAL, [DaySpan(d, d) for d in dated.candidates])
        assert dated.value is not None
        spans.append(_value((dated.value, dated.value)))
    time = _time_from(mentions, [w for i, w in enumerate(words) if i not in time_words], hours)
    values = {s.value for s in spans if s.ok}
    if len(spans) > 1 and (len(values) > 1 or any(not s.ok for s in spans)):
        options = sorted({v for s in spans for v in s.options()})
        return _ambiguous(Why.SEVERAL, [DaySpan(a, b) for a, b in options])
    span = spans[0]
    times: list[SpokenTime | None] = [None]
    if time is not None:
        times = [time.value] if time.ok else list(time.candidates)
    if span.ok and (time is None or time.ok):
        assert span.value is not None
        return _value(DaySpan(span.value[0], span.value[1], times[0]))
    pairs = list(span.options())
    why = span.why if not span.ok else (time.why if time is not None else None)
    return _ambiguous(why or Why.SEVERAL, [DaySpan(a, b, t) for (a, b) in pairs for t in times])


_WEEKDAY_KINDS = frozenset({"weekday", "this_weekday", "next_weekday", "weekday_after_next", "weekday_in_week"})


def _date_beside(words: list[str], today: dt.date) -> Reading[dt.date] | None:
    """A date said beside a weekday ("the 5th", "December 5th"), the next such day; None when none was."""
    if any(w in _MONTHS for w in words):
        dated = parse_date(" ".join(words), today=today, purpose=DatePurpose.UPCOMING)
        return dated if dated.outcome is not Outcome.NOT_UNDERSTOOD else None
    ordinals = [i for i, w in enumerate(words) if _ORDINAL_NUMERAL.fullmatch(w) or w in _ORDINALS]
    if len(ordinals) != 1:
        return None
    i = ordinals[0]
    piece = words[i - 1:i + 1] if i > 0 and words[i - 1] in _TENS else words[i:i + 1]
    return _day_of_month(piece, today)


_PART_ONLY = {"morning": PartOfDay.MORNING, "afternoon": PartOfDay.AFTERNOON, "evening": PartOfDay.EVENING,
              "tonight": PartOfDay.EVENING, "night": PartOfDay.NIGHT, "mornings": PartOfDay.MORNING,
              "afternoons": PartOfDay.AFTERNOON, "evenings": PartOfDay.EVENING, "nights": PartOfDay.NIGHT}


def _time_from(mentions: list[Mention], other_words: list[str],
               hours: tuple[dt.time, dt.time]) -> Reading[SpokenTime] | None:
    """The time said beside a day: a clock time (with any part of the day next to it), else a part alone."""
    readings = [_parse_time_words(m.words.split(), hours) for m in mentions]
    parts = {_PART_ONLY[w] for w in other_words if w in _PART_ONLY}
    if len(readings) > 1 and not (all(r.ok for r in readings) and len({r.value for r in readings}) == 1):
        return _ambiguous(Why.SEVERAL, [t for r in readings for t in r.options()])
    readings = readings[:1]
    if readings:
        reading = readings[0]
        if len(parts) == 1 and reading.outcome is Outcome.AMBIGUOUS and reading.why is Why.AM_PM:
            part = next(iter(parts))
            fitting = [t for t in reading.candidates if t.at is not None
                       and part.window[0] <= t.at < part.window[1]]
            if len(fitting) == 1:
                return _value(SpokenTime(fitting[0].at, part, fitting[0].bound))
        return reading
    if len(parts) == 1:
        return _value(SpokenTime(None, next(iter(parts))))
    if len(parts) > 1:
        return _ambiguous(Why.SEVERAL, [SpokenTime(None, p) for p in sorted(parts)])
    return None


def _day_of_month(words: list[str], today: dt.date) -> Reading[dt.date] | None:
    """"the 12th", "on the twelfth": the next such day of a month, today included."""
    core = [w for w in words if w not in _DATE_FILLER]
    if not core or len(core) > 2:
        return None
    if not (_ORDINAL_NUMERAL.fullmatch(core[-1]) or core[-1] in _ORDINALS):
        return None
    day = _day_number(core)
    if day is None:
        return None
    year, month = today.year, today.month
    for _ in range(3):
        found = _real_date(year, month, day)
        if found is not None and found >= today:
            return _value(found)
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return None


# Words that rule out the day or time after them ("not Tuesday", "anything except Friday", "any day other
# than Monday", "but not at ten"). "no" is not one: "No, Tuesday." answers with Tuesday.
_RULING_OUT = frozenset({"not", "except", "excluding", "never", "dont", "cant", "wont", "isnt"})
_RULING_OUT_PAIRS = frozenset({("other", "than"), ("apart", "from"), ("rather", "than"), ("instead", "of"),
                               ("anything", "but"), ("anytime", "but"), ("day", "but"), ("time", "but"),
                               ("everything", "but")})
_RULING_OUT_BRIDGES = frozenset({"to", "on", "at", "for", "a", "the", "this", "that", "any", "until", "till", "like",
                                 "do", "work", "works", "in", "make", "come"})


def ruled_out(words: Sequence[str], start: int) -> bool:
    """Whether the day or time said at ``start`` in ``words`` is ruled out by a negation up to three words
    before it ("not Tuesday", "but not to Wednesday", "anything except Friday")."""
    i = start
    for _ in range(4):
        if i >= 2 and (words[i - 2], words[i - 1]) in _RULING_OUT_PAIRS:
            return True
        if i >= 1 and words[i - 1] in _RULING_OUT:
            return True
        if i == 0 or words[i - 1] not in _RULING_OUT_BRIDGES:
            return False
        i -= 1
    return False


@dataclass(frozen=True)
class Mention:
    """Where a day or time was said inside a longer sentence: word positions and the words."""

    start: int
    end: int
    words: str


def spoken_words(text: str | None) -> list[str]:
    """The words the mention finders count positions in: normalised, "3pm" split to "3 pm"."""
    return _time_words(text or "")


def day_mentions(text: str | None) -> list[Mention]:
    """Day expressions inside a sentence ("move my Thursday appointment to next week" →
    "thursday" at 5–6, "next week" at 8–10), positions in ``spoken_words(text)``; unresolved.

    A date said after a weekday stays with it ("friday the 5th", "friday december 5th": ``parse_day``
    checks they agree), and days joined by a self-correction are one mention ("tuesday no wait
    wednesday": ``parse_day`` asks which).
    """
    words = spoken_words(text)
    found = []
    for e in _shifted(words, _scan_days(words)):
        end = _date_tail(words, e.end) if e.kind in _WEEKDAY_KINDS else e.end
        found.append(Mention(e.start, end, " ".join(words[e.start:end])))
    taken = {i for m in found for i in range(m.start, m.end)}
    dates = [m for m in _written_dates(text or "") + _said_dates(words)
             if not any(i in taken for i in range(m.start, m.end))]
    found = sorted(found + _outermost_mentions(dates), key=lambda m: m.start)
    return joined_by_corrections(words, found)


def _outermost_mentions(mentions: list[Mention]) -> list[Mention]:
    kept: list[Mention] = []
    for m in sorted(mentions, key=lambda m: (m.start, -m.end)):
        if not kept or m.start >= kept[-1].end:
            kept.append(m)
    return kept


_WRITTEN_DATE = re.compile(r"\b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b")


def _written_dates(text: str) -> list[Mention]:
    """"6/12", "12/8/2026": kept as written (``parse_day`` reads the slash), at their word positions."""
    out = []
    for match in _WRITTEN_DATE.finditer(text):
        start = len(spoken_words(text[:match.start()]))
        out.append(Mention(start, start + len(spoken_words(match.group(0))), match.group(0)))
    return out


def _day_number_end(words: Sequence[str], i: int, *, ordinal_only: bool) -> int | None:
    """Where a day of the month said at ``i`` ends ("8th", "eighth", "twenty fifth", "8"), None if none is."""
    if i >= len(words):
        return None
    w = words[i]
    if w in _TENS and i + 1 < len(words) and words[i + 1] in _ORDINALS:
        return i + 2
    if _ORDINAL_NUMERAL.fullmatch(w) or w in _ORDINALS or w in ("twentieth", "thirtieth"):
        return i + 1
    if ordinal_only:
        return None
    if w.isdigit() and 1 <= int(w) <= 31:
        return i + 1
    if w in _TENS and i + 1 < len(words) and words[i + 1] in _UNITS and 0 < _UNITS[words[i + 1]] < 10:
        return i + 2
    if w in _UNITS and w not in ("zero", "oh", "o") or w in ("twenty", "thirty"):
        return i + 1
    return None


def _said_dates(words: Sequence[str]) -> list[Mention]:
    """Dates said in words: "December 8th", "december eighth", "the 8th of December", "the 8th"
    (review 14b finding 2: an appointment named by its date). A month word alone ("may I...") is none."""
    out = []
    for i, w in enumerate(words):
        if w in _MONTHS:
            j = i + 1 + (i + 1 < len(words) and words[i + 1] == "the")
            end = _day_number_end(words, j, ordinal_only=False)
            if end is not None:
                out.append(Mention(i, end, " ".join(words[i:end])))
        elif w == "the":
            end = _day_number_end(words, i + 1, ordinal_only=True)
            if end is None or (end < len(words) and words[end] in ("one", "ones", "option", "choice", "time",
                                                                    "thing")):
                continue  # "the first one" picks an option, "for the first time" is no date (bt14-s26 nit 9)
            if end + 1 < len(words) and words[end] == "of" and words[end + 1] in _MONTHS:
                end += 2
            out.append(Mention(i, end, " ".join(words[i:end])))
    return out


def _date_tail(words: Sequence[str], end: int) -> int:
    """Where a date said right after a weekday ends ("the 5th", "the twenty fifth", "december 5th")."""
    i = end + 1 if end < len(words) and words[end] in ("the", "of") else end
    if i < len(words) and words[i] in _MONTHS:
        i += 1
        i = i + 1 if i < len(words) and words[i] == "the" else i
    if i < len(words) and words[i] in _TENS and i + 1 < len(words) and words[i + 1] in _ORDINALS:
        return i + 2
    if i < len(words) and (_ORDINAL_NUMERAL.fullmatch(words[i]) or words[i] in _ORDINALS) and (
            words[i + 1:i + 2] != ["thing"]):  # "Monday first thing" is early on Monday, not Monday the 1st
        return i + 1
    return end


_CORRECTION_BRIDGES = frozenset({"i", "it", "is", "its", "um", "uh", "er", "that", "make", "on", "to", "at", "let",
                                 "me", "say"})


def joined_by_corrections(words: Sequence[str], mentions: Sequence[Mention], *,
                          alternatives: bool = False) -> list[Mention]:
    """Mentions with only a self-correction between them ("tuesday, no wait, wednesday", "3, sorry, 4")
    joined into one spanning both, so that reading it asks which was meant rather than keeping the first;
    with ``alternatives`` also those with only "or" between them ("three thirty or four": both kept)."""
    out: list[Mention] = []
    for mention in mentions:
        if out:
            between = words[out[-1].end:mention.start]
            if (alternatives and between == ["or"]) or any(w in _CORRECTIONS for w in between) and all(
                    w in _CORRECTIONS or w in _CORRECTION_BRIDGES for w in between):
                start = out[-1].start
                out[-1] = Mention(start, mention.end, " ".join(words[start:mention.end]))
                continue
        out.append(mention)
    return out


_TIME_START = frozenset({"noon", "midnight", "midday", "half", "quarter"})
# "after lunch", "around lunchtime": a time only after a bound word ("a lunch meeting" is none; fix14-left2 break-test)
_MEALS = frozenset({"lunch", "lunchtime"})


# Words before "to" that move an appointment to a bare hour: "move it to eleven", "switch to four", "push it back to
# three" (bt14-s27 SHOULD-FIX 3); "talk to one of you" names no time.
_MOVE_LEADS = frozenset({"it", "back", "forward", "up", "that", "this", "move", "switch", "change", "push", "bump",
                         "reschedule", "appointment", "session", "them"})
# Words after a bare number that make it a count, not an hour: "move it to three weeks", "back to two sessions".
_COUNT_UNITS = frozenset({"day", "days", "week", "weeks", "month", "months", "session", "sessions", "people",
                          "minutes", "minute", "hours", "hour", "of", "times", "appointments"})


def _moved_to_hour(words: Sequence[str], start: int, end: int) -> bool:
    """Whether the one number at ``start`` follows "<move word> to" and is no count ("move it to eleven")."""
    return (end - start == 1 and start >= 2 and words[start - 1] == "to" and words[start - 2] in _MOVE_LEADS
            and (end >= len(words) or words[end] not in _COUNT_UNITS))


def time_mentions(text: str | None, *, hours: tuple[dt.time, dt.time] = DEFAULT_HOURS) -> list[Mention]:
    """Clock times inside a sentence ("can I come at 3pm instead" → "3 pm" at 4–6, positions in
    ``spoken_words(text)``); the longest parse wins."""
    words = _time_words(text or "")
    out: list[Mention] = []
    i = 0
    while i < len(words):
        found = None
        first_thing = words[i:i + 2] == ["first", "thing"]
        if first_thing:
            end = i + 5 if words[i + 2:i + 5] == ["in", "the", "morning"] else i + 2
            out.append(Mention(i, end, " ".join(words[i:end])))
            i = end
            continue
        starts = _is_numeric_word(words[i]) or words[i] in _TIME_START or (
            words[i] in _BOUND_FIRST and i + 1 < len(words)
            and (_is_numeric_word(words[i + 1]) or words[i + 1] in _TIME_START or words[i + 1] in _MEALS))
        if starts:
            for end in range(min(len(words), i + 5), i, -1):
                piece = words[i:end]
                if piece[-1] in _TIME_FILLER and piece[-1] != "oclock" or piece[-1] in ("on", "this"):
                    continue  # a mention ends on a time word, not on "at" or "on"
                reading = _parse_time_words(list(piece), hours)
                # "three thirty or four": a number after "or" right after a time is another time
                alternative = i > 1 and words[i - 1] == "or" and bool(out) and out[-1].end == i - 1
                if reading.outcome is not Outcome.NOT_UNDERSTOOD and (
                        any(w in _TIME_HINT_WORDS or w in _TIME_START for w in piece) or end - i >= 2
                        or (i > 0 and words[i - 1] in ("at", "around", "after", "before")) or alternative
                        or _moved_to_hour(words, i, end)):
                    found = Mention(i, end, " ".join(piece))
                    break
        if found:
            out.append(found)
            i = found.end
        else:
            i += 1
    return out


# --------------------------------------------------------------------------- digit strings

_DIGIT_FILLER = frozenset({
    "my", "number", "numbers", "is", "its", "it", "the", "area", "code", "phone", "cell", "mobile", "home",
    "um", "uh", "er", "erm", "please", "and", "dash", "hyphen", "plus", "press", "option", "thats", "that",
    "ok", "okay", "so", "pin", "digits",
})


# Words that say a PIN follows, as the identity prompt invites ("press star, then your PIN"): "star two four six
# eight", "my PIN is 2468", "asterisk 2468", "P I N 2468".
_PIN_MARKS = frozenset({"star", "asterisk", "pin", "passcode"})
_PIN_ENDS = frozenset({"pound", "hash", "then", "and", "thanks", "thank", "you"})
PIN_LENGTHS = (4, 8)  # the shortest and longest PIN (digits), as keyed


def spoken_pin(text: str | None) -> Reading[str] | None:
    """A PIN said rather than keyed: None when the words say no PIN ("April 15 1985"); else the digits after
    "star"/"PIN" (``PIN_LENGTHS`` long), or NOT_UNDERSTOOD (WRONG_LENGTH when the count is wrong) — never a date
    (bt14-s27 SHOULD-FIX 4: "star two four six eight" was graded as February 4, 1968)."""
    words = f" {normalise(text or '')} ".replace(" p i n ", " pin ").split()
    marks = [i for i, w in enumerate(words) if w in _PIN_MARKS]
    if not marks:
        return None
    rest = [w for w in words[marks[0] + 1:] if w not in _PIN_MARKS and w not in _PIN_ENDS]
    heard = parse_digits(" ".join(rest))
    if not heard.ok or heard.value is None:
        return heard if heard.why is Why.SEVERAL else _not_understood(Why.NOT_A_VALUE)
    if not PIN_LENGTHS[0] <= len(heard.value) <= PIN_LENGTHS[1]:
        return _not_understood(Why.WRONG_LENGTH)
    return heard


def parse_digits(text: str | None, *, length: int | None = None) -> Reading[str]:
    """A digit string from speech: "five five five, one two three, four five six seven" → "5551234567".

    Understands "double five" / "triple seven", "oh" for zero, tens and teens ("five fifty five" → "555",
    "nineteen eighty five" → "1985"), hundreds/thousands ("eight hundred" → "800", "two thousand five"
    → "2005"), the digit homophones next to numbers ("for", "to", "won", "ate", "tree"). Words before
    the first number and after the last are skipped ("yeah sure, it's 555 1234, thanks"); any other
    word between numbers spoils the answer. A self-correction ("five five, no wait, five six") is
    AMBIGUOUS(SEVERAL): ask again. ``length``, when given, must match (else NOT_UNDERSTOOD(WRONG_LENGTH)).
    """
    words = normalise(text or "").split()
    if not words:
        return _not_understood(Why.NOTHING_SAID)
    if len(words) > 1 and all(w in _HOMOPHONES or w in _DIGIT_FILLER for w in words) \
            and sum(w in _HOMOPHONES for w in words) > 1:
        # "for for for", "ate ate ate", "to to": only digits said, each written as a homophone (fix14-bt S6)
        words = [_HOMOPHONES.get(w, w) for w in words]
    words = _resolve_homophones(words)
    anchors = [i for i, w in enumerate(words)
               if (_is_numeric_word(w) and w not in ("oh", "o")) or w in ("double", "triple")]
    if not anchors:
        return _not_understood(Why.NOT_A_VALUE)
    start, end = anchors[0], anchors[-1] + 1
    while start > 0 and words[start - 1] in ("oh", "o", "double", "triple"):
        start -= 1  # "oh four": the zero before the first other number
    while end < len(words) and words[end] in ("oh", "o"):
        end += 1  # "five five oh oh"
    skipped = any(w not in _DIGIT_FILLER for w in words[:start] + words[end:])
    words = words[start:end]
    if any(w in _CORRECTIONS for w in words):
        return _ambiguous(Why.SEVERAL)
    out: list[str] = []
    repeat = 1
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("double", "triple"):
            if repeat != 1:
                return _not_understood(Why.NOT_A_VALUE)
            repeat = 2 if word == "double" else 3
            i += 1
            continue
        if word in _DIGIT_FILLER:
            i += 1
            continue
        if word in ("oh", "o") and not any(
                _is_numeric_word(words[j]) and words[j] not in ("oh", "o") or words[j] in ("double", "triple")
                for j in (i - 1, i + 1) if 0 <= j < len(words)) and not _oh_chain(words, i):
            i += 1  # "oh, um, five five five": an interjection, not a zero
            continue
        group, used = _digit_group(words, i)
        if group is None:
            return _not_understood(Why.NOT_A_VALUE)
        if repeat > 1:
            group = group[0] * repeat + group[1:]
            repeat = 1
        out.append(group)
        i += used
    if repeat != 1:
        return _not_understood(Why.NOT_A_VALUE)
    digits = "".join(out)
    if not digits or (skipped and len(digits) < 2):  # "I don't have one" is no digit
        return _not_understood(Why.NOT_A_VALUE)
    if length is not None and len(digits) != length:
        return _not_understood(Why.WRONG_LENGTH)
    return _value(digits)


def _international(raw: str) -> bool:
    """Whether the number was given with its country code marked: "+44 ...", "it's plus one 555 ..."."""
    digit = re.search(r"\d", raw)
    if "+" in raw[:digit.start() if digit else len(raw)]:
        return True
    words = normalise(raw).split()
    first = next((i for i, w in enumerate(words) if _is_numeric_word(w)), len(words))
    return "plus" in words[:first]


# Words that mark a phone number's extension: "555 212 3456 ext 12", "... extension twelve", "..., x12". "x" and "ex"
# count only between the number and digits; "extension" and "ext" also before digits said first (then refused).
_EXTENSION_WORDS = frozenset({"extension", "ext", "extn", "x", "ex"})
_EXTENSION_FIRST = frozenset({"extension", "ext", "extn"})
_GLUED_EXTENSION = re.compile(r"(ext|extn|x)(\d+)")  # "x12", "ext12": the recogniser's or a typist's
_KEYED_EXTENSION = re.compile(r"(?<=\d)\s*\*\s*(?=\d)")  # "5552123456*12" typed: star, then the extension
MAX_EXTENSION = 7  # digits (what PBXs use; phonenumbers reads up to 7 after "ext" in free text too)
EXTENSION_MARK = ";ext="  # RFC 3966's parameter, as phonenumbers reads and writes it: "+15552123456;ext=12"


# The caller's own number named instead of said: "this number", "the number I'm calling from", "same one".
_OWN_NUMBER = tuple(tuple(p.split()) for p in (
    "this number", "this phone", "this line", "this cell", "this one", "the number im calling from",
    "number im calling from", "the one im calling from", "one im calling from", "im calling from", "calling from",
    "number i called from", "the number i called from", "i called from", "same number", "the same one",
    "caller id", "the number you have", "number showing", "this is my number", "this is the number",
    "this is my cell", "my own number"))
_NOT_OWN = frozenset({"not", "dont", "isnt", "other", "another", "different", "never"})


def says_own_number(text: str | None) -> bool:
    """Whether the words name the number the caller is calling from rather than say one ("this number", "you can
    call me at the number I'm calling from", "same number"); never when digits are said too or the words deny
    it ("not this number", "a different number"). bt14-s27 SHOULD-FIX 6."""
    words = spoken_words(text)
    if not words or any(_is_numeric_word(w) and w not in ("one", "o", "oh") for w in words):
        return False
    if any(w in _NOT_OWN for w in words):
        return False
    return any(tuple(words[i:i + len(p)]) == p for p in _OWN_NUMBER for i in range(len(words)))


def parse_phone(text: str | None, *, region: str = "US") -> Reading[str]:
    """A phone number said or typed, as E.164 read in the practice's ``region`` (ISO 3166 alpha-2):
    "five five five, one two three, four five six seven", "(555) 123-4567", "1 555 123 4567" (the
    country code said or typed first), "+1 555 123 4567", "plus forty four 1632 960000", "011 44 ..."
    (the region's international prefix) → "+15551234567".

    The number must be whole: its area code included and as many digits as the country's numbers have
    (phonenumbers' length and leading-digit rules, so a 10-digit entry that is an 11-digit number cut
    short, "1 555 123 456", is refused); else NOT_UNDERSTOOD(WRONG_LENGTH). Validity tables are not
    applied: they lag new ranges and refuse the fictional 555 numbers. A self-correction is
    AMBIGUOUS(SEVERAL), as in ``parse_digits``.

    An extension after the number ("555 212 3456 ext 12", "... extension twelve", "..., x12", typed
    "5552123456*12") is kept after it as RFC 3966 writes it: "+15552123456;ext=12" (``EXTENSION_MARK``; staff dial
    it, ``phone_numbers.normalise`` drops it). "extension" with no digits after it, said before the number, or
    more than ``MAX_EXTENSION`` digits is AMBIGUOUS(EXTENSION), the number alone as the candidate when it was whole.
    """
    raw = _KEYED_EXTENSION.sub(" extension ", text or "")
    words = [part for w in normalise(raw).split() for part in _unglued(w)]
    numeric = [i for i, w in enumerate(words) if _is_numeric_word(w) and w not in ("oh", "o")]
    marks = [i for i, w in enumerate(words) if w in _EXTENSION_WORDS and (
        numeric and numeric[0] < i and (w in _EXTENSION_FIRST or i + 1 < len(words) and _is_numeric_word(words[i + 1]))
        or w in _EXTENSION_FIRST and numeric and numeric[0] > i)]
    if not marks:
        return _whole_number(raw, region)
    at = marks[0]
    if not numeric or numeric[0] > at:  # "extension 12, 555 212 3456": where the extension ends is a guess
        return _ambiguous(Why.EXTENSION)
    number = _whole_number(" ".join(words[:at]), region, international=_international(raw))
    if not number.ok or number.value is None:
        return number
    extension = parse_digits(" ".join(words[at + 1:]))
    if extension.why is Why.SEVERAL:
        return extension
    if not extension.ok or not extension.value or len(extension.value) > MAX_EXTENSION:
        return _ambiguous(Why.EXTENSION, (number.value,))
    return _value(number.value + EXTENSION_MARK + extension.value)


def _unglued(word: str) -> tuple[str, ...]:
    """"x12" → ("x", "12"); any other word as it is."""
    glued = _GLUED_EXTENSION.fullmatch(word)
    return glued.groups() if glued else (word,)


def _whole_number(raw: str, region: str, international: bool | None = None) -> Reading[str]:
    """``parse_phone`` for a number said without an extension (``international``: its country code marked,
    read from the whole answer when the number is only part of it)."""
    heard = parse_digits(raw)
    if not heard.ok or heard.value is None:
        return heard
    digits = heard.value
    marked = _international(raw) if international is None else international
    try:
        number = phonenumbers.parse(("+" if marked else "") + digits, region)
    except phonenumbers.NumberParseException:
        return _not_understood(Why.WRONG_LENGTH)
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return _not_understood(Why.WRONG_LENGTH)  # too short (no area code), too long, or a local number only
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(
        phonenumbers.region_code_for_country_code(number.country_code or 0))
    pattern = metadata.general_desc.national_number_pattern if metadata and metadata.general_desc else None
    if pattern and not re.fullmatch(pattern, phonenumbers.national_significant_number(number)):
        return _not_understood(Why.WRONG_LENGTH)  # "1555123456": no area code starts with 1
    return _value(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _digit_group(words: Sequence[str], i: int) -> tuple[str | None, int]:
    """The digits one spoken number stands for, and how many words it used."""
    word = words[i]
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if _NUMERAL.fullmatch(word):
        return word, 1
    if word in _UNITS and _UNITS[word] < 10:
        value = _UNITS[word]
        if nxt in ("hundred", "thousand"):
            return _scaled(words, i, value)
        return str(value), 1
    if word in _UNITS:  # teens
        if nxt == "hundred":
            return _scaled(words, i, _UNITS[word])
        return str(_UNITS[word]), 1
    if word in _TENS:
        unit = _UNITS.get(nxt)
        if unit is not None and 1 <= unit <= 9 and nxt not in ("oh", "o"):
            return str(_TENS[word] + unit), 2
        return str(_TENS[word]), 1
    return None, 1


def _oh_chain(words: Sequence[str], i: int) -> bool:
    """Whether the "oh" at ``i`` sits in a run of ohs that touches a number ("oh oh seven")."""
    j = i
    while j + 1 < len(words) and words[j + 1] in ("oh", "o"):
        j += 1
    k = i
    while k > 0 and words[k - 1] in ("oh", "o"):
        k -= 1
    ends = [w for w in (words[k - 1] if k > 0 else "", words[j + 1] if j + 1 < len(words) else "") if w]
    return (j > k) and any(_is_numeric_word(w) and w not in ("oh", "o") for w in ends)


def _scaled(words: Sequence[str], i: int, value: int) -> tuple[str, int]:
    """"eight hundred" → "800"; "five hundred and five" → "505"; "two thousand five" → "2005"."""
    scale = 100 if words[i + 1] == "hundred" else 1000
    used = 2
    rest = 0
    j = i + 2
    if j < len(words) and words[j] == "and":
        j += 1
    tail = [w for w in words[j:j + 2]]
    after = words[j + 1] if j + 1 < len(words) else ""
    if (
        tail
        and _single_digit(tail[0]) is not None
        and (_single_digit(after) is not None or after in ("double", "triple"))
    ):
        tail = []  # "one eight hundred five five five": 800 then 555, not 805
    for size in (2, 1):
        piece = tail[:size]
        if len(piece) == size:
            low = _small_number(piece, ordinal_ok=False)
            if low is not None and low < scale and not (size == 2 and piece[0] not in _TENS):
                rest, used = low, j - i + size
                break
    width = 3 if scale == 100 else 4
    return str(value * scale + rest).zfill(width), used


# --------------------------------------------------------------------------- yes / no

# Longest phrase first wins at each position; a negated yes is listed as a no ("not right").
_YES_PHRASES = (
    "yes", "yeah", "yep", "yup", "ya", "yah", "yea", "yeh", "aye", "uh huh", "mm hmm", "mhm", "mmhmm", "mhmm",
    "sure", "sure thing", "correct", "right", "thats right", "that is right", "thats correct", "that is correct",
    "ok", "all right", "affirmative", "absolutely", "definitely", "certainly", "of course", "exactly",
    "indeed", "you bet", "you got it", "please", "yes please", "please do", "go ahead", "do it", "sounds good",
    "that works", "that would be great", "perfect", "fine", "thats fine", "thats me", "that is me", "its me",
    "it is me", "this is me", "speaking", "this is she", "this is he", "i do", "it is", "i am", "i think so",
    "no problem", "no worries", "all good", "why not", "true", "thats it", "that is it",  # bt14-s27 nit 6
    "thats the one", "bingo", "yas", "sure why not", "yes why not",
    # fix14-left2 break-test: said to "To book it, press 1 or say yes"
    "go for it", "lets do it", "lets do that", "book it please", "works for me", "that works for me",
    # At a number's read-back (review 14b finding 14).
    "thats my number", "that is my number", "thats the number", "that is the number", "thats my phone number",
    "thats my cell", "thats my phone",
)
_NO_PHRASES = (
    "no", "nope", "nah", "naw", "nay", "uh uh", "nuh uh", "negative", "incorrect", "wrong", "thats wrong",
    "that is wrong", "not right", "thats not right", "that is not right", "isnt right", "not correct",
    "thats not correct", "not me", "thats not me", "its not me", "wrong number", "wrong person",
    "no thanks", "no thank you", "not really", "not at all", "absolutely not", "definitely not",
    "certainly not", "of course not", "i dont think so", "dont", "i dont", "it isnt", "it is not",
    "i am not", "never", "not now", "not that", "not that one", "yeah no", "please dont", "dont do that",
    "no way", "not true", "thats not it", "not it", "its not", "not quite", "i am good", "i am ok",
    "i am fine", "nah i am good",
    "thats not my number", "that isnt my number", "that is not my number", "not my number", "thats not the number",
    "that isnt the number", "that is not the number", "not the number", "not my phone number",
    "thats not my phone number", "that isnt my phone number",
)
_UNSURE_PHRASES = (
    "maybe", "not sure", "i am not sure", "im not sure", "i dont know", "dont know", "dunno", "perhaps",
    "i cant remember", "i forget", "possibly", "who knows", "hard to say", "not certain",
    "i guess", "i guess so", "i suppose", "i suppose so",  # a shrug is no yes (review 14 finding 20)
)


def _phrase_table() -> list[tuple[tuple[str, ...], str]]:
    table = [(tuple(p.split()), "yes") for p in _YES_PHRASES]
    table += [(tuple(p.split()), "no") for p in _NO_PHRASES]
    table += [(tuple(p.split()), "unsure") for p in _UNSURE_PHRASES]
    return sorted(table, key=lambda item: -len(item[0]))


_YES_NO_TABLE = _phrase_table()
# A word right after a yes that takes it back ("sure not", "correct not"), unless it starts a phrase of its own
# ("yes, not now" is a yes and a no: asked again).
_NEGATIONS_AFTER = frozenset({"not", "isnt", "aint"})


def _starts_phrase(words: Sequence[str], i: int) -> bool:
    return any(tuple(words[i:i + len(phrase)]) == phrase for phrase, _ in _YES_NO_TABLE)


# --------------------------------------------------------------------------- first names

# Said before a name and never part of it: greetings, fillers, a yes.
_NAME_FILLERS = frozenset({
    "um", "uh", "er", "erm", "uhm", "hmm", "hi", "hello", "hey", "yes", "yeah", "yep", "ok", "so", "well", "oh",
    "sure", "right", "good", "morning", "afternoon", "evening", "there", "and", "it",
})
# Lead-ins that may follow other words ("I'm not suicidal, my name is Jane"): the name is after the last one.
_NAME_LEAD_INS = (("my", "first", "name", "is"), ("my", "name", "is"), ("first", "name", "is"),
                  ("the", "name", "is"), ("name", "is"), ("you", "can", "call", "me"), ("call", "me"),
                  ("this", "is"), ("my", "name", "s"), ("my", "names"),
                  ("first", "names"), ("last", "names"))
# Lead-ins only at the start ("I'm Jane", "it's Jane"): later they start other sentences.
_NAME_OPENERS = (("i", "am"), ("it", "is"), ("its",), ("im",), ("first", "name"), ("name",))
# Words that end a name ("Jane please", "Jane, it's Jane").
_NAME_ENDS = frozenset({"please", "thanks", "thank", "here", "its", "speaking", "calling", "and", "um", "uh",
                        "last", "surname"})
# Words that are no first name: the caller said something else ("I'm calling about my depression",
# "I'd rather not say", "no"). Unsure means ask again, never store what was not a name.
_NOT_A_NAME = frozenset({
    "i", "me", "my", "mine", "you", "your", "we", "our", "he", "she", "they", "them", "his", "her", "their", "it",
    "its", "this", "that", "these", "those", "a", "an", "the", "some", "any", "no", "not", "nope", "never", "yes",
    "yeah", "ok", "okay", "is", "am", "are", "was", "were", "be", "been", "being", "do", "does", "did", "dont",
    "didnt", "doesnt", "have", "has", "had", "having", "would", "will", "should", "could", "can", "cant", "wont",
    "may", "might", "must", "shall", "to", "of", "in", "on", "at", "for", "with", "about", "from", "by", "as",
    "or", "and", "but", "if", "so", "because", "just", "really", "rather", "prefer", "say", "saying", "said",
    "tell", "telling", "know", "think", "want", "wanted", "need", "needed", "like", "calling", "call", "called",
    "phone", "number", "name", "first", "last", "here", "there", "what", "why", "who", "how", "when", "where",
    "which", "sorry", "hello", "hi", "hey", "thanks", "thank", "please", "um", "uh", "er", "hmm", "well", "oh",
    "appointment", "appointments", "therapist", "therapy", "counseling", "counselling", "session", "doctor",
    "depression", "depressed", "anxiety", "anxious", "suicidal", "crisis", "emergency", "help", "new", "client",
    "patient", "billing", "bill", "insurance", "reschedule", "cancel", "book", "booking", "message", "voicemail",
    "person", "someone", "somebody", "anyone", "nobody", "operator", "representative", "again", "now", "today",
    "tomorrow", "morning", "afternoon", "evening", "good", "fine", "great", "sure", "right", "wrong", "private",
    "confidential", "anonymous", "pass", "skip", "nothing", "none", "nah", "nevermind", "unknown", "hang",
})
_NAME_REFUSALS = (("rather", "not"), ("prefer", "not"), ("dont", "want"), ("not", "telling"), ("dont", "know"),
                  ("not", "sure"), ("no", "name"), ("skip",), ("pass",))


def parse_first_name(text: str | None) -> Reading[str]:
    """A first name as said, title-cased: "hi my name is Jane" → "Jane", "um Jane" → "Jane",
    "I'm not suicidal, my name is Jane" → "Jane", "Mary Ann" → "Mary Ann" (at most two words),
    "J A N E" → "Jane" (spelled).

    Greetings and fillers before it and the lead-ins ("my name is", "this is", "I'm") are dropped.
    Words that are no name are never returned as one: "I'm calling about my depression", "yes" →
    NOT_UNDERSTOOD(NOT_A_VALUE); "I'd rather not say", "I don't know" → NOT_UNDERSTOOD(UNSURE).
    A name's apostrophe is kept: "my name's O'Brien" → "O'Brien".
    """
    text = text.replace("\u2019", "'") if text else text  # a typographic apostrophe is the same
    words = canonical_words(text)
    if not words:
        return _not_understood(Why.NOTHING_SAID)
    if any(_has_run(words, refusal) for refusal in _NAME_REFUSALS):
        return _not_understood(Why.UNSURE)
    start = first = 0
    for i in range(len(words)):
        for lead in _NAME_LEAD_INS:
            if tuple(words[i:i + len(lead)]) == lead and i + len(lead) < len(words):
                if lead[0] in _OTHER_NAMES or ("name" in lead or "names" in lead) and lead[0] != "first" \
                        and i and words[i - 1] in _OTHER_NAMES:
                    continue  # "my last name is Doe" names no first name (review 14b finding 13)
                start = max(start, i + len(lead))
                if "first" in lead or i and words[i - 1] == "first":
                    first = max(first, i + len(lead))
    start = first or start  # "my first name is Jane and my surname's Doe": the first name wins
    rest = words[start:]
    if start == 0:
        while rest and rest[0] in _NAME_FILLERS:
            rest = rest[1:]
        for opener in sorted(_NAME_OPENERS, key=len, reverse=True):
            if tuple(rest[:len(opener)]) == opener:
                rest = rest[len(opener):]
                break
    if len(rest) >= 2 and all(len(w) == 1 and w.isalpha() for w in rest):  # spelled: "J A N E"
        return _value("".join(rest).capitalize()) if len(rest) <= 20 else _not_understood(Why.NOT_A_VALUE)
    name: list[str] = []
    for word in rest:
        if word in _NAME_ENDS or len(name) == 2:
            break
        name.append(word)
    if not name or any(w in _NOT_A_NAME or not w.isalpha() or len(w) < 2 for w in name):
        return _not_understood(Why.NOT_A_VALUE)
    marked = _apostrophe_names(text or "")
    value = " ".join(marked.get(w) or w.capitalize() for w in name)
    return _value(value) if len(value) <= 40 else _not_understood(Why.NOT_A_VALUE)


# Words before "name is" that say it is not the first name: "my last name is Doe".
_OTHER_NAMES = frozenset({"last", "family", "middle", "sur", "maiden", "second"})
# An apostrophe inside a name ("O'Brien", "D'Angelo", "Da'Quan"), not a contraction ("I'm", "name's", "we'll").
_NAME_APOSTROPHE = re.compile(r"\b([A-Za-z]+)['\u2019]([A-Za-z]+)\b")
_CONTRACTION_ENDS = frozenset({"s", "m", "t", "d", "ll", "re", "ve"})


def _apostrophe_names(text: str) -> dict[str, str]:
    """Names said with an apostrophe, keyed by the folded word: {"obrien": "O'Brien"}."""
    return {(head + tail).lower(): head.capitalize() + "'" + tail.capitalize()
            for head, tail in _NAME_APOSTROPHE.findall(text) if tail.lower() not in _CONTRACTION_ENDS}


def _has_run(words: Sequence[str], run: tuple[str, ...]) -> bool:
    return any(tuple(words[i:i + len(run)]) == run for i in range(len(words)))


def parse_yes_no(text: str | None) -> Reading[bool]:
    """Yes or no in its many forms: "yeah that's me", "uh huh", "nope", "that's not right".

    Phrases are matched longest first ("not right" beats "right", "no problem" is a yes). Both a yes
    and a no ("yes no", "no, yes") → AMBIGUOUS(MIXED); "maybe", "not sure", "I don't know" →
    NOT_UNDERSTOOD(UNSURE), or AMBIGUOUS(MIXED) beside a yes or no. Other words are ignored.
    """
    words = canonical_words(text)
    words = [w for w in words if w not in ("um", "er", "erm", "well", "oh")]
    if not words:
        return _not_understood(Why.NOTHING_SAID)
    found: set[str] = set()
    i = 0
    while i < len(words):
        for phrase, polarity in _YES_NO_TABLE:
            if tuple(words[i:i + len(phrase)]) == phrase:
                i += len(phrase)
                if polarity == "yes" and i < len(words) and words[i] in _NEGATIONS_AFTER \
                        and not _starts_phrase(words, i):
                    polarity, i = "no", i + 1  # "sure not", "right not": a yes word denied (bt14 s24 nit 7)
                found.add(polarity)
                break
        else:
            i += 1
    if found == {"yes"}:
        return _value(True)
    if found == {"no"}:
        return _value(False)
    if found == {"unsure"}:
        return _not_understood(Why.UNSURE)
    if found:
        return _ambiguous(Why.MIXED, [True, False])
    return _not_understood(Why.NOT_A_VALUE)


# --------------------------------------------------------------------------- <Gather> hints


class AnswerKind(str, Enum):
    """The kinds of answer a prompt can wait for."""

    YES_NO = "yes_no"
    DIGITS = "digits"
    DATE = "date"
    TIME = "time"
    DAY = "day"
    WHEN = "when"  # a best time to call back: weekdays and times ("weekday mornings", "after 5 PM")
    MENU = "menu"  # a key or a free sentence ("say what you want")
    NAME = "name"
    SPEECH = "speech"  # anything else said freely


# Twilio <Gather speechModel> values, as Twilio documents them. Generic models let Twilio pick the
# provider and fail over; the provider-specific ones pin one provider. Only generic ones are chosen here.
GENERIC_SPEECH_MODELS = frozenset({
    "default", "numbers_and_commands", "phone_call", "experimental_conversations", "experimental_utterances",
})
PROVIDER_SPEECH_MODELS = frozenset({
    "googlev2_long", "googlev2_short", "googlev2_telephony", "googlev2_telephony_short",
    "deepgram_nova-2", "deepgram_nova-3",
})
SPEECH_MODELS = GENERIC_SPEECH_MODELS | PROVIDER_SPEECH_MODELS


@dataclass(frozen=True)
class GatherHints:
    """What helps Twilio hear one kind of answer: ``hints`` phrases (sent comma-separated),
    ``speech_model`` (a ``speechModel`` value or None to let Twilio choose) and ``enhanced``
    (Twilio's premium ``phone_call`` model; it has no effect with any other model)."""

    hints: tuple[str, ...]
    speech_model: str | None
    enhanced: bool


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HINTS_EN: dict[AnswerKind, GatherHints] = {
    # Short answers: Twilio's model for "short queries such as specific words, numbers or commands".
    AnswerKind.YES_NO: GatherHints(("yes", "no", "yeah", "nope", "that's right", "that's not right", "correct"),
                                   "numbers_and_commands", False),
    AnswerKind.DIGITS: GatherHints(("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                    "nine", "double", "triple"), "numbers_and_commands", False),
    AnswerKind.DATE: GatherHints(_MONTH_NAMES + ("first", "second", "third", "nineteen", "two thousand", "oh"),
                                 "numbers_and_commands", False),
    AnswerKind.TIME: GatherHints(("a.m.", "p.m.", "noon", "midnight", "o'clock", "half past", "quarter past",
                                  "quarter to", "morning", "afternoon", "evening"), "numbers_and_commands", False),
    AnswerKind.DAY: GatherHints(_WEEKDAY_NAMES + ("today", "tomorrow", "next week", "this week",
                                                  "day after tomorrow", "morning", "afternoon", "evening"),
                                "numbers_and_commands", False),
    # A best time to call back is days and times together: "weekday mornings", "Tuesdays after 5" (bt14 s24 nit 7).
    AnswerKind.WHEN: GatherHints(_WEEKDAY_NAMES + ("weekdays", "weekends", "a.m.", "p.m.", "noon", "o'clock",
                                                   "morning", "afternoon", "evening", "after work", "before work",
                                                   "lunchtime", "any time"), "numbers_and_commands", False),
    # Sentences: Twilio's model for phone-call audio, in its enhanced (premium) form.
    AnswerKind.MENU: GatherHints((), "phone_call", True),
    AnswerKind.NAME: GatherHints((), "phone_call", True),
    AnswerKind.SPEECH: GatherHints((), "phone_call", True),
}


def gather_hints(kind: AnswerKind, language: str = "en-US") -> GatherHints:
    """The ``<Gather>`` hints, speech model and enhanced flag for ``kind`` in ``language`` (BCP-47).

    Menus add their own option phrases to the (empty) hints given here. For a language other than
    English there are no hints yet and the model is left to Twilio (None): the English-only phrases and
    models would hurt more than help.
    """
    if language_key(language) != "en":
        return GatherHints((), None, False)
    return _HINTS_EN[kind]
