"""What callers type or say, read as values: digits, yes/no, dates, menu choices."""
from __future__ import annotations

from datetime import date

import pytest

from ivr.core.spoken_input import (
    keypad_date,
    keys_said,
    match_phrase,
    one_key,
    option_echoed,
    spoken_date,
    spoken_digits,
    spoken_key,
    yes_no,
)

# --------------------------------------------------------------------------- spoken_digits


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("zero four one five", "0415"),
        ("0 4 15", "0415"),
        ("04151985", "04151985"),
        ("double five", "55"),
        ("double five one", "551"),
        ("five double five", "555"),
        ("triple seven", "777"),
        ("double 15", "115"),  # only the first digit of a numeral is doubled
        ("oh four", "04"),
        ("o four", "04"),
        ("my number is five five five one two", "55512"),
        ("um, it's 1 2 3 please", "123"),
        ("press two", "2"),
        ("option 3", "3"),
        ("1-2-3", "123"),
        ("Five. Five!", "55"),
        ("one two and three", "123"),
    ],
)
def test_spoken_digits(said: str, expected: str) -> None:
    assert spoken_digits(said) == expected


@pytest.mark.parametrize(
    "said",
    [
        "",
        "   ",
        "press",  # only filler
        "um uh please",
        "one two buckle my shoe",  # anything that is not a digit spoils the answer
        "twelve",  # numbers above nine are not digit strings
        "fifteen",
        "twenty one",
        "double",
        "billing",
    ],
)
def test_spoken_digits_none(said: str) -> None:
    assert spoken_digits(said) is None


# --------------------------------------------------------------------------- yes_no


@pytest.mark.parametrize(
    "said",
    ["yes", "Yes.", "YES please", "yeah", "yep", "yup", "yup, that's right", "sure", "sure thing", "correct",
     "that's right", "That is correct.", "right", "okay", "ok", "affirmative", "yes no"],
)
def test_yes(said: str) -> None:
    assert yes_no(said) is True


@pytest.mark.parametrize(
    "said",
    ["no", "No.", "nope", "nope, not me", "nah", "nah thanks", "no thank you", "incorrect", "wrong", "negative",
     "not right", "that's wrong", "No, that's wrong"],
)
def test_no(said: str) -> None:
    assert yes_no(said) is False


@pytest.mark.parametrize("said", ["", "maybe", "I don't know", "not sure", "one", "billing", "know", "yesterday"])
def test_yes_no_unclear(said: str) -> None:
    assert yes_no(said) is None


# --------------------------------------------------------------------------- keypad_date


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("04151985", date(1985, 4, 15)),
        ("12312000", date(2000, 12, 31)),
        ("02292024", date(2024, 2, 29)),  # a leap day
        ("01010001", date(1, 1, 1)),  # a real calendar date; the engine refuses years before 1900
    ],
)
def test_keypad_date(typed: str, expected: date) -> None:
    assert keypad_date(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["02302020", "02292023", "13011985", "00151985", "04001985", "04311985", "0415198", "041519850", "4151985",
     "04-15-1985", "0415198a", "", "00000000"],
)
def test_keypad_date_invalid(typed: str) -> None:
    assert keypad_date(typed) is None


# --------------------------------------------------------------------------- spoken_date


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("April 15th, 1985", date(1985, 4, 15)),
        ("April 15th, 1985.", date(1985, 4, 15)),
        ("april fifteenth nineteen eighty five", date(1985, 4, 15)),
        ("April the fifteenth, nineteen eighty-five", date(1985, 4, 15)),
        ("4/15/1985", date(1985, 4, 15)),
        ("04-15-1985", date(1985, 4, 15)),
        ("4.15.1985", date(1985, 4, 15)),
        ("zero four one five one nine eight five", date(1985, 4, 15)),
        ("04151985", date(1985, 4, 15)),
        ("April 15th two thousand three", date(2003, 4, 15)),
        ("april fifteenth two thousand three", date(2003, 4, 15)),
        ("april fifteenth two thousand and three", date(2003, 4, 15)),
        ("january first two thousand", date(2000, 1, 1)),
        ("jan 1 2000", date(2000, 1, 1)),
        ("sept 3 1999", date(1999, 9, 3)),
        ("September 3rd, 1999", date(1999, 9, 3)),
        ("March 2nd 1990", date(1990, 3, 2)),
        ("march second nineteen ninety", date(1990, 3, 2)),
        ("April twenty first nineteen eighty five", date(1985, 4, 21)),
        ("december thirty first nineteen ninety nine", date(1999, 12, 31)),
        ("may fifth twenty twenty", date(2020, 5, 5)),
        ("october tenth twenty ten", date(2010, 10, 10)),
        ("march third twenty oh nine", date(2009, 3, 3)),
        ("march first nineteen oh five", date(1905, 3, 1)),
        # lead-in words before the month
        ("It's April 15th, 1985", date(1985, 4, 15)),
        ("my birthday is april fifteenth nineteen eighty five", date(1985, 4, 15)),
        # the day before the month
        ("the fifteenth of April, 1985", date(1985, 4, 15)),
        ("15th April 1985", date(1985, 4, 15)),
        ("the twenty first of april nineteen eighty five", date(1985, 4, 21)),
    ],
)
def test_spoken_date(said: str, expected: date) -> None:
    assert spoken_date(said) == expected


@pytest.mark.parametrize(
    "said",
    [
        "",
        "I don't know",
        "April 15th",  # no year
        "april fifteenth",
        "April 1985",  # no day
        "April 31st, 1985",  # no such day
        "February 29th 2023",
        "2/30/2020",
        "13/15/1985",  # month first, always
        "4/15/85",  # two-digit years are ambiguous
        "four fifteen nineteen eighty five",  # no month word and not eight digits
        "0415198",
        "smarch 15 1985",
    ],
)
def test_spoken_date_none(said: str) -> None:
    assert spoken_date(said) is None


# --------------------------------------------------------------------------- match_phrase

OPTIONS = [
    ("billing", ("billing", "bill", "pay my bill")),
    ("scheduling", ("appointment", "cancel", "cancel my appointment")),
    ("links", ("link", "zoom")),
    ("booking", ("booking",)),
]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("billing", "billing"),
        ("Billing, please.", "billing"),
        ("I want to pay my bill", "billing"),
        ("cancel", "scheduling"),
        ("I need to cancel my appointment", "scheduling"),
        ("zoom link", "links"),  # two phrases of one option
        ("my appointment bill", "scheduling"),  # longest phrase wins: appointment (11) beats bill (4)
        ("cancel my appointment and pay my bill", "scheduling"),  # 22 beats 11
        ("link to pay my bill", "billing"),
        ("billing booking", None),  # the same length (7) for two options: a tie is no match
        ("the zoomba class", None),  # whole words only
        ("bills", None),
        ("", None),
        ("something else entirely", None),
        # review 14b finding 5: a phrase said after a negation is not chosen
        ("not billing", None),
        ("I don't need billing", None),
        ("I don't need billing, I need my zoom link", "links"),
        ("not billing, my appointment", "scheduling"),
        ("I never got the link", "links"),  # "never" denies "got", not the link
    ],
)
def test_match_phrase(said: str, expected: str | None) -> None:
    assert match_phrase(said, OPTIONS) == expected


NEW_CLIENT = [("new_client", ("new client", "new patient", "im new", "i am new", "not a client", "not a client yet"))]


@pytest.mark.parametrize(("said", "expected"), [
    ("I'm a new client", "new_client"),
    ("I'm new", "new_client"),
    ("I'm not a client yet", "new_client"),
    ("I'm not a new client", None),
    ("I am not a new patient", None),
    ("I'm new to this phone system", None),
    ("I'm new to the phone menu", None),
])
def test_match_phrase_new_client_words(said: str, expected: str | None) -> None:
    assert match_phrase(said, NEW_CLIENT) == expected


def test_match_phrase_ignores_empty_phrases_and_options() -> None:
    assert match_phrase("anything", [("a", ("",)), ("b", ())]) is None
    assert match_phrase("front desk", [("operator", ("front desk",))]) == "operator"


# --------------------------------------------------------------------------- spoken_key


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("one", "1"),
        ("Two.", "2"),
        ("press two", "2"),
        ("option 3", "3"),
        ("number four please", "4"),
        ("zero", "0"),
        ("oh", "0"),
        ("9", "9"),
        ("one two", None),
        ("twelve", None),
        ("double one", "1"),
        # keys said twice are that key
        ("press 5 5", "5"),
        ("five five", "5"),
        ("55", "5"),
        ("press nine nine", "9"),
        ("five five five", "5"),
        # fix14-left finding 2: a key said as a run of the same digit, in any written or spoken form
        ("press 55", "5"),
        ("press 5-5", "5"),
        ("five-five", "5"),
        ("double-five", "5"),
        ("fifty five", "5"),
        ("press fifty-five", "5"),
        ("twenty two", "2"),
        ("ninety nine", "9"),
        ("two fives", "5"),
        ("press 2 twice", "2"),
        ("five two times", "5"),
        ("five fifty five", "5"),
        ("press 00", "0"),
        ("twenty one", None),  # two different keys: asked about
        ("fifty", None),
        ("press 12", None),
        ("one two three", None),
        ("555 1234", None),
        ("billing", None),
        ("", None),
    ],
)
def test_spoken_key(said: str, expected: str | None) -> None:
    assert spoken_key(said) == expected
    assert one_key(said) == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("press 5 5", ("5",)),
        ("double five", ("5",)),
        ("press 12", ("1", "2")),
        ("one two", ("1", "2")),
        ("press twelve", ("1", "2")),
        ("twenty one", ("2", "1")),
        ("fifty five", ("5",)),
        ("press 55", ("5",)),
        ("two one", ("2", "1")),
        ("1 2 1", ()),  # three digits: a number, not keys
        ("five five five one two three four", ()),
        ("billing", ()),
        ("", ()),
    ],
)
def test_keys_said(said: str, expected: tuple[str, ...]) -> None:
    assert keys_said(said) == expected


# --------------------------------------------------------------------------- option_echoed (fix14-left finding 5)

_CANCEL = "To cancel your appointment tomorrow at 10 AM, press 1 or say yes. To keep it, press 2."
_BOOK = ("You chose Wednesday, December 2 at 9 AM, in place of your appointment tomorrow at 10 AM. To book it, "
         "press 1 or say yes. To choose again, press 2.")
_REASON = ("If you'd like to tell us why, press 1 for a schedule conflict, 2 if you're feeling better, 3 for cost, "
           "or 4 for anything else.")


@pytest.mark.parametrize(("prompt", "said", "keys", "expected"), [
    (_CANCEL, "keep it", {"1", "2"}, "2"),
    (_CANCEL, "please keep it", {"1", "2"}, "2"),
    (_CANCEL, "cancel it", {"1", "2"}, "1"),
    (_CANCEL, "I want to cancel", {"1", "2"}, "1"),
    (_CANCEL, "keep it, don't cancel", {"1", "2"}, "2"),
    (_CANCEL, "don't cancel it", {"1", "2"}, None),  # a denied word names nothing
    (_CANCEL, "cancel it no keep it", {"1", "2"}, None),  # both: asked again
    (_CANCEL, "tomorrow", {"1", "2"}, None),  # dates and times never decide
    (_CANCEL, "ten", {"1", "2"}, None),
    (_BOOK, "book it", {"1", "2"}, "1"),
    (_BOOK, "choose again", {"1", "2"}, "2"),
    (_BOOK, "Wednesday", {"1", "2"}, None),
    (_REASON, "cost", None, "3"),
    (_REASON, "I'm feeling better", None, "2"),
    (_REASON, "anything else", None, "4"),
    ("To reschedule it, press 1. To cancel it, press 2. To keep it as it is, press 3.", "keep it", None, "3"),
    ("For urgent support, press 9. To keep it, press 2.", "support", {"2"}, None),  # only the keys given
])
def test_option_echoed(prompt: str, said: str, keys: set[str] | None, expected: str | None) -> None:
    assert option_echoed(prompt, said, keys) == expected
