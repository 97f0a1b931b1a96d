"""The engine at asks: digits, yes/no, dates and PINs by key and by speech."""
from __future__ import annotations

import datetime as dt

import pytest

from ivr.core import effects as fx
from ivr.core.events import (
    Digits,
    NoInput,
    Speech,
)
from ivr.core.flow import FlowSet
from ivr.core.spoken_values import AnswerKind, gather_hints
from tests.helpers.engine import GLOBAL_HINTS, LANGUAGE, NO_MATCH, UTC, Call, ask_flows, bye, say

DIGITS = gather_hints(AnswerKind.DIGITS)
YES_NO = gather_hints(AnswerKind.YES_NO)
DATE = gather_hints(AnswerKind.DATE)
SHORT = {"speech_model": "numbers_and_commands"}  # Twilio's model for numbers and short commands

# --------------------------------------------------------------------------- asks


def test_digits_ask_gather_and_answer(pin_flows: FlowSet) -> None:
    call = Call(pin_flows)
    assert call.start() == [fx.Gather((say("Please answer."),), num_digits=4, finish_on_key=None,
                                      hints=DIGITS.hints + GLOBAL_HINTS, timeout=6, language=LANGUAGE, **SHORT)]
    assert call.send(Digits("1234")) == bye("Got 1234.")
    assert call.s.vars == {"answer": "1234"}
    assert call.s.history == ["main.q", "q:ok", "main.got"]


@pytest.mark.parametrize(
    ("event", "value"),
    [
        (Digits("0415"), "0415"),
        (Digits("1234#"), "1234"),
        (Speech("one two three four", 0.9), "1234"),
        (Speech("double five double six", 0.9), "5566"),
        (Speech("It's 1 2 3 4", 0.9), "1234"),
    ],
)
def test_digits_ask_length_accepts(pin_flows: FlowSet, event, value: str) -> None:
    call = Call(pin_flows)
    call.start()
    assert call.send(event) == bye(f"Got {value}.")
    assert call.s.vars["answer"] == value


@pytest.mark.parametrize(
    "event",
    [Digits("123"), Digits("12345"), Digits("12*4"), Speech("my pin", 0.9)],
)
def test_digits_ask_length_refuses(pin_flows: FlowSet, event) -> None:
    call = Call(pin_flows)
    call.start()
    assert call.send(event) == [fx.Gather((say(NO_MATCH), say("Please answer.")), num_digits=4,
                                          hints=DIGITS.hints + GLOBAL_HINTS, timeout=6, language=LANGUAGE, **SHORT)]
    assert call.s.history[-1] == "q:invalid"
    assert call.s.vars == {} and call.s.attempts == 1


@pytest.mark.parametrize(
    ("said", "reprompt"),
    [
        ("one two three", "I need 4 digits. Please say them one at a time, or enter them on the keypad."),
        ("five five, no wait, five six", "I heard a correction. Please say the digits again, or enter them on the "
                                         "keypad."),
    ],
)
def test_digits_said_wrongly_get_a_reprompt_that_says_what_is_missing(pin_flows: FlowSet, said: str,
                                                                      reprompt: str) -> None:
    call = Call(pin_flows)
    call.start()
    assert call.send(Speech(said, 0.9))[0].prompts == (say(reprompt), say("Please answer."))
    assert call.s.history[-1] == "q:ambiguous"


@pytest.mark.parametrize(
    ("digits", "ok"),
    [("12", False), ("123", True), ("1234", True), ("12345", True), ("123456", False)],
)
def test_digits_ask_min_and_max_length(digits: str, ok: bool) -> None:
    flows = ask_flows("type: digits\nmin_length: 3\nmax_length: 5")
    call = Call(flows)
    assert call.start() == [fx.Gather((say("Please answer."),), num_digits=None, finish_on_key="#",
                                      hints=DIGITS.hints + GLOBAL_HINTS, timeout=6, language=LANGUAGE, **SHORT)]
    out = call.send(Digits(digits + "#"))
    assert (out == bye(f"Got {digits}.")) is ok
    assert call.s.vars.get("answer") == (digits if ok else None)


@pytest.mark.parametrize(("digits", "ok"), [("1234", True), ("0123", False), ("123", False), ("12345", False)])
def test_digits_ask_pattern(digits: str, ok: bool) -> None:
    call = Call(ask_flows("type: digits\npattern: '[1-9][0-9]{3}'"))
    call.start()
    assert (call.send(Digits(digits)) == bye(f"Got {digits}.")) is ok


def test_digits_ask_gives_up_after_retries(pin_flows: FlowSet) -> None:
    call = Call(pin_flows)
    call.start()
    call.send(Digits("1"))
    call.send(NoInput())
    assert call.send(Digits("12")) == bye("Giving up.")
    assert call.s.history == ["main.q", "q:invalid", "q:no-input", "q:invalid", "q:give-up", "main.gave_up"]


@pytest.fixture(scope="module")
def yes_no_flows() -> FlowSet:
    return ask_flows("type: yes_no")


@pytest.mark.parametrize(
    ("event", "value"),
    [
        (Digits("1"), True),
        (Digits("2"), False),
        (Speech("yes", 0.9), True),
        (Speech("Yeah, that's me.", 0.9), True),
        (Speech("that's correct", 0.9), True),
        (Speech("no", 0.9), False),
        (Speech("Nope.", 0.9), False),
        (Speech("press one", 0.9), True),  # saying the key is the same as pressing it
        (Speech("two", 0.9), False),
    ],
)
def test_yes_no_ask(yes_no_flows: FlowSet, event, value: bool) -> None:
    call = Call(yes_no_flows)
    assert call.start() == [fx.Gather((say("Please answer."),), num_digits=1, hints=YES_NO.hints + GLOBAL_HINTS,
                                      timeout=6, language=LANGUAGE, **SHORT)]
    assert call.send(event) == bye(f"Got {value}.")
    assert call.s.vars == {"answer": value}


@pytest.mark.parametrize("event", [Digits("3"), Speech("maybe", 0.9), Speech("three", 0.9), Speech("yes", 0.1)])
def test_yes_no_ask_refuses(yes_no_flows: FlowSet, event) -> None:
    call = Call(yes_no_flows)
    call.start()
    assert call.send(event)[0].prompts == (say(NO_MATCH), say("Please answer."))
    assert call.s.vars == {}


@pytest.fixture(scope="module")
def dob_flows() -> FlowSet:
    return ask_flows("type: date\npast_only: true")


@pytest.mark.parametrize(
    ("event", "value"),
    [
        (Digits("04151985"), "1985-04-15"),
        (Digits("02292000"), "2000-02-29"),
        (Digits("11232026"), "2026-11-23"),  # today is not in the future
        (Speech("April 15th, 1985", 0.9), "1985-04-15"),
        (Speech("april fifteenth nineteen eighty five", 0.9), "1985-04-15"),
        (Speech("4/15/1985", 0.9), "1985-04-15"),
        (Speech("zero four one five one nine eight five", 0.9), "1985-04-15"),
        (Speech("June 3rd two thousand three", 0.9), "2003-06-03"),
    ],
)
def test_date_ask_accepts(dob_flows: FlowSet, event, value: str) -> None:
    call = Call(dob_flows)
    assert call.start() == [fx.Gather((say("Please answer."),), num_digits=8, finish_on_key=None,
                                      hints=DATE.hints + GLOBAL_HINTS, timeout=6, language=LANGUAGE, **SHORT)]
    assert call.send(event) == bye(f"Got {value}.")
    assert call.s.vars == {"answer": value}


@pytest.mark.parametrize(
    "event",
    [
        Digits("02302020"),  # no such day
        Digits("13011985"),
        Digits("0415198"),
        Digits("11242026"),  # tomorrow, and past_only
        Digits("01012030"),
        Digits("01011850"),  # before 1900
        Speech("December 25th, 2030", 0.9),
    ],
)
def test_date_ask_refuses(dob_flows: FlowSet, event) -> None:
    call = Call(dob_flows)
    call.start()
    assert call.send(event)[0].prompts == (say(NO_MATCH), say("Please answer."))
    assert call.s.history[-1] == "q:invalid"
    assert call.s.vars == {}


def test_date_ask_future_allowed_without_past_only() -> None:
    call = Call(ask_flows("type: date"))
    call.start()
    assert call.send(Digits("01012030")) == bye("Got 2030-01-01.")


def test_past_only_uses_the_practice_date_not_utc(dob_flows: FlowSet) -> None:
    # 03:00 UTC on the 24th is still the 23rd in New York: the 24th is tomorrow there.
    call = Call(dob_flows, now=dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
    call.start()
    assert call.send(Digits("11242026"))[0].prompts[0] == say(NO_MATCH)
    assert call.send(Digits("11232026")) == bye("Got 2026-11-23.")


# --------------------------------------------------------------------------- read-backs (review 14 finding 12)

READ_BACK = "I heard April 15, 1985. If that's right, press 1 or say yes. If not, press 2."


def _read_back(flows: FlowSet) -> Call:
    call = Call(flows)
    call.start()
    assert call.send(Speech("four fifteen nineteen eighty five", 0.2))[0].prompts == (say(READ_BACK),)
    assert call.s.history[-1] == "q:confirm"
    return call


def test_a_yes_to_the_read_back_stores_the_value(dob_flows: FlowSet) -> None:
    call = _read_back(dob_flows)
    assert call.send(Speech("yes", 0.9)) == bye("Got 1985-04-15.")
    assert call.s.history[-3:] == ["q:confirmed", "q:ok", "main.got"]


def test_a_yes_heard_unclearly_is_asked_again_by_key_never_taken_as_no_date(dob_flows: FlowSet) -> None:
    call = _read_back(dob_flows)
    out = call.send(Speech("yes", 0.2))
    assert out[0].prompts == (say("Sorry, I didn't hear that clearly. If April 15, 1985 is right, press 1. "
                                  "If not, press 2."),)
    assert out[0].hints[:3] == YES_NO.hints[:3]
    assert call.s.history[-1] == "q:confirm-unclear"
    assert call.send(Digits("1")) == bye("Got 1985-04-15.")


def test_neither_yes_nor_no_at_the_read_back_says_the_value_again_in_other_words(dob_flows: FlowSet) -> None:
    call = _read_back(dob_flows)
    assert call.send(Speech("purple", 0.9))[0].prompts == (
        say("Sorry, I didn't catch that. If April 15, 1985 is right, press 1 or say yes. If not, press 2."),)
    assert call.s.history[-1] == "q:confirm-no-match"


@pytest.mark.parametrize("said", ["no, April 16th 1985", "April sixteenth nineteen eighty five",
                                  "no it's four sixteen eighty five"])
@pytest.mark.parametrize("confidence", [0.9, 0.2])
def test_a_corrected_date_at_the_read_back_is_read_back_in_its_turn(dob_flows: FlowSet, said: str,
                                                                    confidence: float) -> None:
    call = _read_back(dob_flows)
    assert call.send(Speech(said, confidence))[0].prompts == (
        say("I heard April 16, 1985. If that's right, press 1 or say yes. If not, press 2."),)
    assert call.s.history[-2:] == ["q:corrected", "q:confirm"]
    assert call.send(Digits("1")) == bye("Got 1985-04-16.")


def test_a_date_typed_at_the_read_back_is_taken_as_typed(dob_flows: FlowSet) -> None:
    call = _read_back(dob_flows)
    assert call.send(Digits("04161985#")) == bye("Got 1985-04-16.")


def test_a_corrected_date_without_its_year_is_asked_for_in_full(dob_flows: FlowSet) -> None:
    call = _read_back(dob_flows)
    assert call.send(Speech("no, April 16th", 0.9))[0].prompts == (
        say("I need the year too. Please say the whole date with the year, or enter it on the keypad as eight "
            "digits."), say("Please answer."))
    assert "_confirming" not in call.s.vars


NO_DAY = ("I need the day of the month too. Please say the whole date with the day, or enter it on the keypad as "
          "eight digits.")
NO_MONTH = ("I need the month and the day too. Please say the whole date, like April fifteenth nineteen eighty five, "
            "or enter it on the keypad as eight digits.")
NO_YEAR = "I need the year too. Please say the whole date with the year, or enter it on the keypad as eight digits."
NO_DAY_OR_YEAR = ("I need the day and the year too. Please say the whole date, or enter it on the keypad as eight "
                  "digits.")


@pytest.mark.parametrize(("said", "asked"), [
    ("April 1985", NO_DAY), ("April of 1985", NO_DAY), ("it was April 1985", NO_DAY),
    ("born in 1985", NO_MONTH), ("nineteen eighty five", NO_MONTH), ("sometime in 1985", NO_MONTH),
    ("the 15th of April", NO_YEAR), ("April the fifteenth", NO_YEAR),
    ("in April", NO_DAY_OR_YEAR), ("sometime in October", NO_DAY_OR_YEAR),
])
def test_a_partial_date_is_asked_for_precisely_what_is_missing(dob_flows: FlowSet, said: str, asked: str) -> None:
    """fix14-s7: never "I didn't get a date I can use" for a date said in part."""
    call = Call(dob_flows)
    call.start()
    assert call.send(Speech(said, 0.9))[0].prompts == (say(asked), say("Please answer."))


def test_a_no_asks_the_question_again_once_in_its_own_words_and_cannot_loop(dob_flows: FlowSet) -> None:
    call = _read_back(dob_flows)
    out = call.send(Speech("no", 0.9))
    # Said once, the step's own way (no "use the keypad" followed by "Or say it").
    assert out[0].prompts == (say("Okay, let's try again."), say("Please answer."))
    assert call.s.history[-1] == "q:not-confirmed" and call.s.attempts == 1
    call.send(Speech("four fifteen nineteen eighty five", 0.2))
    call.send(Digits("2"))
    assert call.s.attempts == 2
    call.send(Speech("four fifteen nineteen eighty five", 0.2))
    assert call.send(Speech("no", 0.9)) == bye("Giving up.")  # retries: 2, then the step's give_up
    assert "q:give-up" in call.s.history


def test_corrections_at_the_read_back_cannot_loop_either(dob_flows: FlowSet) -> None:
    call = _read_back(dob_flows)
    call.send(Speech("no, April 16th 1985", 0.9))
    call.send(Speech("no, April 17th 1985", 0.9))
    assert call.send(Speech("no, April 18th 1985", 0.9)) == bye("Giving up.")


# --------------------------------------------------------------------------- self-corrections (finding 13)

@pytest.mark.parametrize("said", ["april fifteen nineteen eighty five no wait sixteen",
                                  "April fifteenth, ah, no, nineteen eighty five",
                                  "April 15 1985, sorry, I mean April 16 1985"])
def test_a_self_corrected_date_is_asked_again_never_taken_or_said_to_lack_a_year(dob_flows: FlowSet,
                                                                                 said: str) -> None:
    call = Call(dob_flows)
    call.start()
    assert call.send(Speech(said, 0.9))[0].prompts == (
        say("I heard more than one date. Please say the whole date once, or enter it on the keypad as eight "
            "digits."), say("Please answer."))
    assert call.s.history[-1] == "q:ambiguous" and call.s.vars == {}


# --------------------------------------------------------------------------- phone numbers (finding 17)

def test_a_phone_ask_takes_any_length_up_to_pound_and_keeps_e164() -> None:
    call = Call(ask_flows("type: phone"))
    gather = call.start()[0]
    assert (gather.num_digits, gather.finish_on_key) == (None, "#")  # 11 digits typed are never cut at 10
    assert call.send(Digits("15551230099#")) == bye("Got +15551230099.")


def test_a_phone_number_heard_unclearly_is_read_back_without_the_country_code() -> None:
    call = Call(ask_flows("type: phone"))
    call.start()
    assert call.send(Speech("one five five five one two three oh oh nine nine", 0.2))[0].prompts == (
        say("I heard 5 5 5, 1 2 3, 0 0 9 9. If that's right, press 1 or say yes. If not, press 2."),)
    assert call.send(Speech("yes", 0.9)) == bye("Got +15551230099.")


def test_a_phone_number_without_its_area_code_is_asked_for_whole() -> None:
    call = Call(ask_flows("type: phone"))
    call.start()
    assert call.send(Speech("555 1234", 0.9))[0].prompts == (
        say("I need the whole number, with the area code. Please say it one digit at a time, or enter it on the "
            "keypad and press pound."), say("Please answer."))


# ------------------------------------------------------------------ keys at typed prompts (fix14-left finding 6)

@pytest.mark.parametrize(("spec", "num_digits", "finish"), [
    ("type: yes_no", 1, None),  # one key is the whole answer: 9 and 0 act at once
    ("type: name", 1, None),
    ("type: when", 1, None),
    ("type: digits\nlength: 1", 1, None),
    ("type: digits\nlength: 4", 4, None),  # the 4th key sends it; 9 then # (Twilio's default finish key) at once
    ("type: date\npast_only: true", 8, None),  # MMDDYYYY sends itself; MMDDYY, or 9, then #
    ("type: date\npast_only: true\nallow_pin: true", None, "#"),  # "*" and an 8-digit PIN are 9 keys: # or a pause
    ("type: phone", None, "#"),  # 10 or 11 digits, or international: # or a pause
])
def test_each_typed_value_kind_gets_the_keys_twilio_can_act_on(spec: str, num_digits: int | None,
                                                                finish: str | None) -> None:
    call = Call(ask_flows(spec))
    gather = call.start()[0]
    assert isinstance(gather, fx.Gather)
    assert (gather.num_digits, gather.finish_on_key, gather.timeout) == (num_digits, finish, 6)


def test_the_date_of_birth_gather_as_twilio_gets_it_and_a_lone_9_after_it() -> None:
    """A lone 9 at the date-of-birth prompt is the crisis key, typed (when the pause ends it) or followed by #."""
    from ivr.telephony.twiml import CallUrls, render

    flows = ask_flows("type: date\npast_only: true\nallow_pin: true")
    call = Call(flows)
    urls = CallUrls("https://x/g", "https://x/n", "https://x/r", "https://x/s", "https://x/d")
    twiml = render(call.start(), urls)
    assert ('<Gather action="https://x/g" finishOnKey="#" hints="' in twiml
            and 'input="dtmf speech" language="en-US" method="POST" speechModel="numbers_and_commands" '
                'speechTimeout="2" timeout="6">' in twiml and "numDigits" not in twiml)
    for typed in ("9", "9#"):
        call = Call(flows)
        call.start()
        call.send(Digits(typed))
        assert call.s.history == ["main.q", "q:crisis", "main.to_crisis"]
