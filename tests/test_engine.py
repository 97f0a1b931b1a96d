"""The pure flow engine, driven with plain events and a fixed clock.

Every flow here is inline YAML loaded with the real loader; every assertion is
on the exact effects and session fields the engine returns.  ``Call.send``
checks on every step that the engine left its input session untouched.
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import datetime as dt
import re
import textwrap
from pathlib import Path

import pytest

from ivr.actions.catalog import default_registry
from ivr.core import effects as fx
from ivr.core.call_state import CallSession, Waiting
from ivr.core.engine import (
    LIMIT_APOLOGY,
    LIMIT_STEP,
    LIMIT_THANKS,
    RESTART_APOLOGY,
    StepEnv,
    new_session,
    step,
)
from ivr.core.events import (
    ActionDone,
    CallEnded,
    CallStarted,
    DialFinished,
    Digits,
    NoInput,
    RecordingFinished,
    Speech,
)
from ivr.core.flow import FlowSet
from ivr.flowlang.loading import load_set

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.timezone.utc
CALLER = "+15551230001"
VOICE, LANGUAGE = "Polly.Joanna", "en-US"

PRACTICE = """\
name: Test Practice
timezone: America/New_York
voice: Polly.Joanna
language: en-US
entry_flow: main
hours:
  monday: ["09:00-17:00"]
  tuesday: ["09:00-17:00"]
  wednesday: ["09:00-17:00"]
  thursday: ["09:00-17:00"]
  friday: ["09:00-17:00"]
holidays:
  - date: 2026-11-26
    name: Thanksgiving
staff:
  front_desk: {name: Front desk, phone: "+15550100100"}
  on_call: {name: On call, phone: "+15550100101"}
emergency_guidance: In an emergency, hang up and dial 9 1 1.
callback_promise: within one business day
"""
# New York is UTC-5 in late November 2026.
OPEN = dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00
CLOSED = dt.datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # Monday 20:00
HOLIDAY = dt.datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # Thanksgiving, Thursday 11:00
SATURDAY = dt.datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # Saturday 10:00

CRISIS_PHRASES = ("crisis", "emergency", "hurt myself", "suicide", "suicidal", "kill myself")
OPERATOR_PHRASES = ("operator", "representative", "receptionist", "a person", "someone", "front desk")
GLOBAL_HINTS = CRISIS_PHRASES + OPERATOR_PHRASES
NO_INPUT = "Sorry, I didn't hear anything."
NO_MATCH = "Sorry, I didn't catch that."


def flowset(*texts: str, practice: str = PRACTICE) -> FlowSet:
    """Load inline flow files (named after their `flow:`) with the default actions."""
    files = {}
    for text in texts:
        text = textwrap.dedent(text)
        files[re.search(r"^flow: (\w+)", text, re.M).group(1) + ".yaml"] = text
    return load_set(files, practice, default_registry().signatures())


def say(text: str, voice: str = VOICE, language: str = LANGUAGE) -> fx.Say:
    return fx.Say(text, voice, language)


def bye(text: str) -> list[fx.Effect]:
    """What a `hangup: TEXT` step emits."""
    return [say(text), fx.Hangup()]


class Call:
    """One call through the engine; the session after each step is kept."""

    def __init__(self, flows: FlowSet, caller: str | None = CALLER, now: dt.datetime = OPEN, **limits: int):
        self.flows = flows
        self.env = StepEnv(now=now, **limits)
        self.session = new_session("CA0001", caller, now)

    def send(self, event, now: dt.datetime | None = None, flows: FlowSet | None = None) -> list[fx.Effect]:
        env = self.env if now is None else dataclasses.replace(self.env, now=now)
        before = copy.deepcopy(self.session)
        new, out = step(flows or self.flows, self.session, event, env)
        assert self.session == before, "the engine mutated its input session"
        assert new is not self.session
        self.session = new
        return out

    def start(self) -> list[fx.Effect]:
        return self.send(CallStarted())

    @property
    def s(self) -> CallSession:
        return self.session


# --------------------------------------------------------------------------- menus

MENU_PROMPT = "For billing press 1. For appointments press 2."
MENU = """
flow: main
globals:
  operator: {next: to_person}
  crisis: {key: "9", next: to_crisis}
steps:
  - id: menu
    menu:
      prompt: For billing press 1. For appointments press 2.
      options:
        - key: "1"
          say: [billing, pay my bill]
          next: billing
        - key: "2"
          say: [appointment, reschedule]
          next: scheduling
        - say: booking
          next: booking
      give_up: gave_up
  - id: billing
    hangup: Billing.
  - id: scheduling
    hangup: Scheduling.
  - id: booking
    hangup: Booking.
  - id: gave_up
    hangup: Giving up.
  - id: to_person
    hangup: Operator.
  - id: to_crisis
    hangup: Crisis.
"""
MENU_HINTS = ("billing", "pay my bill", "appointment", "reschedule", "booking") + GLOBAL_HINTS


def menu_gather(*reprompt: str) -> fx.Gather:
    prompts = tuple(say(r) for r in reprompt) + (say(MENU_PROMPT),)
    return fx.Gather(prompts, num_digits=1, hints=MENU_HINTS, timeout=6, language=LANGUAGE)


@pytest.fixture(scope="module")
def menu_flows() -> FlowSet:
    return flowset(MENU)


def at_menu(flows: FlowSet, **kw) -> Call:
    call = Call(flows, **kw)
    call.start()
    return call


def test_call_started_plays_the_menu(menu_flows: FlowSet) -> None:
    call = Call(menu_flows)
    out = call.start()
    assert out == [fx.Gather(
        prompts=(fx.Say("For billing press 1. For appointments press 2.", "Polly.Joanna", "en-US"),),
        num_digits=1, finish_on_key=None, speech=True, hints=MENU_HINTS, timeout=6, language="en-US",
    )]
    s = call.s
    assert (s.call_sid, s.caller, s.started_at) == ("CA0001", CALLER, OPEN.isoformat())
    assert (s.flow, s.step, s.waiting, s.attempts, s.steps_taken) == ("main", "menu", Waiting.INPUT, 0, 1)
    assert s.vars == {} and s.history == ["main.menu"] and not s.ended


@pytest.mark.parametrize(
    ("event", "expected", "note"),
    [
        (Digits("1"), bye("Billing."), "menu:1"),
        (Digits("2"), bye("Scheduling."), "menu:2"),
        (Speech("billing", 0.9), bye("Billing."), "menu:1"),
        (Speech("I'd like to pay my bill please", 0.8), bye("Billing."), "menu:1"),
        (Speech("Reschedule.", 0.9), bye("Scheduling."), "menu:2"),
        (Speech("booking", 0.9), bye("Booking."), "menu:booking"),  # an option with phrases only
        (Speech("two", 0.9), bye("Scheduling."), "menu:2"),
        (Speech("press two", 0.9), bye("Scheduling."), "menu:2"),
        (Speech("option 1", 0.9), bye("Billing."), "menu:1"),
        (Speech("pay my bill, not reschedule", 0.9), bye("Billing."), "menu:1"),  # longest phrase wins
    ],
)
def test_menu_choice(menu_flows: FlowSet, event, expected, note: str) -> None:
    call = at_menu(menu_flows)
    assert call.send(event) == expected
    target = {"Billing.": "billing", "Scheduling.": "scheduling", "Booking.": "booking"}[expected[0].text]
    assert call.s.history == ["main.menu", note, f"main.{target}"]
    assert (call.s.step, call.s.waiting) == (target, Waiting.NOTHING)


@pytest.mark.parametrize(
    "event",
    [
        Speech("billing or booking", 0.9),  # a tie between two options' phrases
        Speech("something else", 0.9),
        Speech("press seven", 0.9),
        Speech("one two", 0.9),
        Digits("7"),
        Digits("*"),
    ],
)
def test_menu_no_match(menu_flows: FlowSet, event) -> None:
    call = at_menu(menu_flows)
    assert call.send(event) == [menu_gather(NO_MATCH)]
    assert (call.s.step, call.s.waiting, call.s.attempts) == ("menu", Waiting.INPUT, 1)
    assert call.s.history == ["main.menu", "menu:no-match"]


def test_reprompts_no_input_then_no_match_then_give_up(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(NoInput()) == [menu_gather(NO_INPUT)]
    assert (call.s.attempts, call.s.steps_taken) == (1, 2)
    assert call.send(Digits("7")) == [menu_gather(NO_MATCH)]
    assert (call.s.attempts, call.s.steps_taken) == (2, 3)
    # Two reprompts by default; the third miss gives up.
    assert call.send(Speech("hmm", 0.9)) == bye("Giving up.")
    assert call.s.history == ["main.menu", "menu:no-input", "menu:no-match", "menu:no-match", "menu:give-up",
                              "main.gave_up"]
    assert (call.s.step, call.s.waiting, call.s.attempts) == ("gave_up", Waiting.NOTHING, 0)


def test_empty_digits_and_empty_speech_are_no_input(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(Digits("")) == [menu_gather(NO_INPUT)]
    assert call.send(Speech("  ", 0.9)) == [menu_gather(NO_INPUT)]
    assert call.send(NoInput()) == bye("Giving up.")
    assert call.s.history[1:4] == ["menu:no-input"] * 3


def test_a_good_answer_after_reprompts(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    call.send(NoInput())
    call.send(NoInput())
    assert call.s.attempts == 2
    assert call.send(Digits("1")) == bye("Billing.")


def test_custom_retries_messages_and_timeout() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: menu
            menu:
              prompt: Press 1.
              options:
                - {key: "1", next: done}
              retries: 1
              timeout: 10
              no_input: "Are you there, {{ caller.first_name or 'friend' }}?"
              no_match: That is not an option.
              give_up: gave_up
          - id: done
            hangup: Done.
          - id: gave_up
            hangup: Giving up.
    """)

    def gather(*prompts: str) -> fx.Gather:
        return fx.Gather(tuple(say(p) for p in prompts), num_digits=1, hints=(), timeout=10, language=LANGUAGE)

    call = Call(flows)
    assert call.start() == [gather("Press 1.")]
    assert call.send(Digits("5")) == [gather("That is not an option.", "Press 1.")]
    assert call.send(NoInput()) == bye("Giving up.")  # one reprompt only

    call = Call(flows)
    call.start()
    assert call.send(NoInput()) == [gather("Are you there, friend?", "Press 1.")]


def test_retries_zero_gives_up_at_the_first_miss() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: menu
            menu:
              prompt: Press 1.
              options: [{key: "1", next: done}]
              retries: 0
              give_up: gave_up
          - id: done
            hangup: Done.
          - id: gave_up
            hangup: Giving up.
    """)
    call = Call(flows)
    call.start()
    assert call.send(NoInput()) == bye("Giving up.")
    assert call.s.history == ["main.menu", "menu:no-input", "menu:give-up", "main.gave_up"]


@pytest.mark.parametrize("confidence", [0.0, 0.2, 0.39])
def test_low_confidence_speech_is_no_match(menu_flows: FlowSet, confidence: float) -> None:
    call = at_menu(menu_flows)
    assert call.send(Speech("billing", confidence)) == [menu_gather(NO_MATCH)]
    assert call.s.history[-1] == "menu:low-confidence"
    assert call.s.attempts == 1


def test_confidence_at_the_threshold_counts(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(Speech("billing", 0.4)) == bye("Billing.")


def test_flow_sets_its_own_confidence_threshold() -> None:
    flows = flowset(MENU.replace("globals:", "speech: {min_confidence: 0.7}\nglobals:"))
    call = at_menu(flows)
    assert call.send(Speech("billing", 0.69)) == [menu_gather(NO_MATCH)]
    assert call.send(Speech("billing", 0.7)) == bye("Billing.")


def test_low_confidence_crisis_phrase_is_no_match_too(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(Speech("emergency", 0.1)) == [menu_gather(NO_MATCH)]


# --------------------------------------------------------------------------- global handlers


@pytest.mark.parametrize(
    ("event", "expected", "handler"),
    [
        (Digits("0"), "Operator.", "operator"),
        (Digits("0#"), "Operator.", "operator"),
        (Digits("9"), "Crisis.", "crisis"),
        (Speech("operator", 0.9), "Operator.", "operator"),
        (Speech("Can I talk to a person?", 0.8), "Operator.", "operator"),
        (Speech("front desk please", 0.9), "Operator.", "operator"),
        (Speech("This is an emergency", 0.9), "Crisis.", "crisis"),
        (Speech("I want to hurt myself", 0.9), "Crisis.", "crisis"),
        # Both phrases said: the crisis handler wins.
        (Speech("I need someone, it's an emergency", 0.9), "Crisis.", "crisis"),
        (Speech("crisis operator", 0.9), "Crisis.", "crisis"),
        # The keys may be spoken like any menu key.
        (Speech("nine", 0.9), "Crisis.", "crisis"),
        (Speech("press zero", 0.9), "Operator.", "operator"),
        # A global phrase beats a menu option's phrase.
        (Speech("billing operator", 0.9), "Operator.", "operator"),
    ],
)
def test_global_handlers_at_a_menu(menu_flows: FlowSet, event, expected: str, handler: str) -> None:
    call = at_menu(menu_flows)
    assert call.send(event) == bye(expected)
    target = {"operator": "to_person", "crisis": "to_crisis"}[handler]
    assert call.s.history == ["main.menu", f"menu:{handler}", f"main.{target}"]


ASK = """
flow: main
globals:
  operator: {next: to_person}
  crisis: {key: "9", next: to_crisis}
steps:
  - id: q
    ask:
      var: answer
      prompt: Please answer.
      give_up: gave_up
      @SPEC@
  - id: got
    hangup: "Got {{ vars.answer }}."
  - id: gave_up
    hangup: Giving up.
  - id: to_person
    hangup: Operator.
  - id: to_crisis
    hangup: Crisis.
"""


def ask_flows(spec: str) -> FlowSet:
    """A flow whose only question is an ask with `spec` (flow-style YAML lines)."""
    lines = textwrap.dedent(spec).strip().splitlines()
    return flowset(ASK.replace("@SPEC@", "\n      ".join(lines)))


@pytest.fixture(scope="module")
def pin_flows() -> FlowSet:
    return ask_flows("type: digits\nlength: 4")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (Digits("0"), "Operator."),
        (Digits("9"), "Crisis."),
        (Speech("a representative please", 0.9), "Operator."),
        (Speech("crisis", 0.9), "Crisis."),
        (Speech("someone help, I feel suicidal", 0.9), "Crisis."),
        (Speech("zero", 0.9), "Operator."),
    ],
)
def test_global_handlers_at_an_ask(pin_flows: FlowSet, event, expected: str) -> None:
    call = Call(pin_flows)
    call.start()
    assert call.send(event) == bye(expected)
    assert "answer" not in call.s.vars


def test_global_handlers_at_a_yes_no_ask() -> None:
    call = Call(ask_flows("type: yes_no"))
    call.start()
    assert call.send(Digits("9")) == bye("Crisis.")
    call = Call(ask_flows("type: yes_no"))
    call.start()
    assert call.send(Speech("no, get me an operator", 0.9)) == bye("Operator.")


def test_custom_global_key_and_phrases() -> None:
    flows = flowset(MENU.replace("operator: {next: to_person}", "operator: {key: '*', say: [human], next: to_person}")
                        .replace('crisis: {key: "9", next: to_crisis}', "crisis: {say: urgent, next: to_crisis}"))
    call = at_menu(flows)
    assert call.s.history == ["main.menu"]
    assert call.send(Digits("*")) == bye("Operator.")
    call = at_menu(flows)
    assert call.send(Speech("a human", 0.9)) == bye("Operator.")
    call = at_menu(flows)
    # Custom phrases replace the defaults; without a key, 9 is just an unknown option.
    assert call.send(Speech("operator", 0.9))[0].prompts[0] == say(NO_MATCH)
    assert call.send(Digits("9"))[0].prompts[0] == say(NO_MATCH)
    assert call.send(Speech("it's urgent", 0.9)) == bye("Crisis.")


def test_no_globals_means_zero_is_just_a_wrong_key() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: menu
            menu:
              prompt: Press 1.
              options: [{key: "1", next: done}]
              give_up: done
          - id: done
            hangup: Done.
    """)
    call = Call(flows)
    assert call.start() == [fx.Gather((say("Press 1."),), num_digits=1, hints=(), timeout=6, language=LANGUAGE)]
    assert call.send(Digits("0")) == [fx.Gather((say(NO_MATCH), say("Press 1.")), num_digits=1, hints=(), timeout=6,
                                                language=LANGUAGE)]
    assert call.send(Speech("operator", 0.9))[0].prompts[0] == say(NO_MATCH)


# --------------------------------------------------------------------------- asks


def test_digits_ask_gather_and_answer(pin_flows: FlowSet) -> None:
    call = Call(pin_flows)
    assert call.start() == [fx.Gather((say("Please answer."),), num_digits=4, finish_on_key=None, hints=GLOBAL_HINTS,
                                      timeout=6, language=LANGUAGE)]
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
    [Digits("123"), Digits("12345"), Digits("12*4"), Speech("one two three", 0.9), Speech("my pin", 0.9)],
)
def test_digits_ask_length_refuses(pin_flows: FlowSet, event) -> None:
    call = Call(pin_flows)
    call.start()
    assert call.send(event) == [fx.Gather((say(NO_MATCH), say("Please answer.")), num_digits=4, hints=GLOBAL_HINTS,
                                          timeout=6, language=LANGUAGE)]
    assert call.s.history[-1] == "q:invalid"
    assert call.s.vars == {} and call.s.attempts == 1


@pytest.mark.parametrize(
    ("digits", "ok"),
    [("12", False), ("123", True), ("1234", True), ("12345", True), ("123456", False)],
)
def test_digits_ask_min_and_max_length(digits: str, ok: bool) -> None:
    flows = ask_flows("type: digits\nmin_length: 3\nmax_length: 5")
    call = Call(flows)
    assert call.start() == [fx.Gather((say("Please answer."),), num_digits=None, finish_on_key="#",
                                      hints=GLOBAL_HINTS, timeout=6, language=LANGUAGE)]
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
    assert call.start() == [fx.Gather((say("Please answer."),), num_digits=1, hints=("yes", "no") + GLOBAL_HINTS,
                                      timeout=6, language=LANGUAGE)]
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
    assert call.start() == [fx.Gather((say("Please answer."),), num_digits=8, finish_on_key=None, hints=GLOBAL_HINTS,
                                      timeout=6, language=LANGUAGE)]
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
        Speech("April 15th", 0.9),
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


# --------------------------------------------------------------------------- branch, set, templates

HOURS = """
flow: main
steps:
  - id: check
    branch:
      cases:
        - if: open_now
          next: open
        - if: holiday
          next: holiday
      else: closed
  - id: open
    hangup: We are open.
  - id: holiday
    hangup: "Closed today for {{ holiday }}. We open {{ next_open | spoken }}."
  - id: closed
    hangup: "We are closed. We open {{ next_open | spoken }}."
"""


@pytest.mark.parametrize(
    ("now", "expected", "target"),
    [
        (OPEN, "We are open.", "open"),
        (CLOSED, "We are closed. We open tomorrow at 9 AM.", "closed"),
        (SATURDAY, "We are closed. We open Monday at 9 AM.", "closed"),
        (HOLIDAY, "Closed today for Thanksgiving. We open tomorrow at 9 AM.", "holiday"),
    ],
)
def test_branch_on_hours(now: dt.datetime, expected: str, target: str) -> None:
    call = Call(flowset(HOURS), now=now)
    assert call.start() == bye(expected)
    assert call.s.history == ["main.check", f"main.{target}"]
    assert call.s.steps_taken == 2


CALLER_FLOW = """
flow: main
steps:
  - id: lookup
    action:
      name: caller_id
      outcomes: {present: check, withheld: check}
  - id: check
    branch:
      cases:
        - if: caller.present and caller.known
          next: known
        - if: caller.present
          next: present
      else: withheld
  - id: known
    hangup: "Welcome back, {{ caller.first_name }}."
  - id: present
    hangup: "Hello{% if caller.first_name %} {{ caller.first_name }}{% endif %}."
  - id: withheld
    hangup: Your number is withheld.
"""


def test_action_step_invokes_and_waits() -> None:
    call = Call(flowset(CALLER_FLOW))
    assert call.start() == [fx.Invoke("caller_id", {})]
    assert (call.s.step, call.s.waiting) == ("lookup", Waiting.ACTION)


@pytest.mark.parametrize(
    ("caller", "done", "expected"),
    [
        (CALLER, ActionDone("present", {"caller": {"known": True, "first_name": "Ana"}}), "Welcome back, Ana."),
        (CALLER, ActionDone("present"), "Hello."),
        (CALLER, ActionDone("present", {"caller": {"first_name": "Ben"}}), "Hello Ben."),
        (None, ActionDone("withheld"), "Your number is withheld."),
        (None, ActionDone("withheld", {"caller": {"known": True}}), "Your number is withheld."),
    ],
)
def test_branch_on_caller(caller: str | None, done: ActionDone, expected: str) -> None:
    call = Call(flowset(CALLER_FLOW), caller=caller)
    call.start()
    assert call.send(done) == bye(expected)
    assert call.s.history[:3] == ["main.lookup", f"lookup:{done.outcome}", "main.check"]
    assert call.s.vars == dict(done.updates)


SET_FLOW = """
flow: main
steps:
  - id: hello
    say: "Hi from {{ practice.name }}."
  - id: init
    set:
      count: 3
      flag: true
      nothing: null
      label: plain text
      a: x
      b: "{{ vars.a }}y"
      greeting: "Hello {{ caller.first_name or 'there' }}, we call back {{ callback_promise }}."
  - id: speak
    say: "{{ vars.greeting }} {{ vars.b }}"
  - id: check
    branch:
      cases:
        - if: vars.count > 2 and vars.flag and vars.nothing is none
          next: many
        - if: vars.missing
          next: few
      else: few
  - id: many
    hangup: Many.
  - id: few
    hangup: Few.
"""


def test_set_with_templates_then_branch_on_vars() -> None:
    call = Call(flowset(SET_FLOW))
    assert call.start() == [say("Hi from Test Practice."),
                            say("Hello there, we call back within one business day. xy"),
                            say("Many."), fx.Hangup()]
    assert call.s.vars == {"count": 3, "flag": True, "nothing": None, "label": "plain text", "a": "x", "b": "xy",
                           "greeting": "Hello there, we call back within one business day."}
    assert call.s.history == ["main.hello", "main.init", "main.speak", "main.check", "main.many"]


def test_branch_else_when_no_case_holds() -> None:
    call = Call(flowset(SET_FLOW.replace("count: 3", "count: 1")))
    assert call.start()[-2:] == bye("Few.")


def test_templates_read_caller_from_action_updates() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: lookup
            action:
              name: caller_id
              outcomes: {present: greet, withheld: greet}
          - id: greet
            say: "Hello {{ caller.first_name }}{{ caller.last_name }}, {{ vars.plan }}."
          - id: menu
            menu:
              prompt: "Press 1, {{ caller.first_name }}."
              options: [{key: "1", next: done}]
              give_up: done
          - id: done
            hangup: "Goodbye {{ caller.first_name }}."
    """)
    call = Call(flows)
    call.start()
    out = call.send(ActionDone("present", {"caller": {"first_name": "Ana", "known": True}, "plan": "see you"}))
    assert out == [say("Hello Ana, see you."),
                   fx.Gather((say("Press 1, Ana."),), num_digits=1, hints=(), timeout=6, language=LANGUAGE)]
    # The caller stays known on later turns (it lives in the session's vars).
    assert call.send(Digits("1")) == bye("Goodbye Ana.")


def test_context_is_sandboxed_and_undefined_is_empty() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: bye
            hangup: "[{{ vars.__class__ }}|{{ caller.__class__.__mro__ }}|{{ nothing.at.all }}|{{ caller.present }}]"
    """)
    assert Call(flows).start() == bye("[|||True]")


# --------------------------------------------------------------------------- transfer, voicemail, sms, escalate

TRANSFER = """
flow: main
steps:
  - id: ring
    transfer:
      to: [front_desk, on_call, "+15550100199"]
      timeout: 15
      say: Connecting you.
      @MODE@
    next: nobody
  - id: nobody
    hangup: Nobody answered.
"""
ALL = ("+15550100100", "+15550100101", "+15550100199")


def transfer_flows(mode: str) -> FlowSet:
    return flowset(TRANSFER.replace("@MODE@", f"mode: {mode}"))


def test_transfer_simultaneous_dials_everyone_at_once() -> None:
    call = Call(transfer_flows("simultaneous"))
    assert call.start() == [say("Connecting you."), fx.Dial(ALL, 15)]
    assert (call.s.step, call.s.waiting) == ("ring", Waiting.DIAL)
    assert call.send(DialFinished("no-answer")) == bye("Nobody answered.")
    assert call.s.history == ["main.ring", "ring:no-answer", "main.nobody"]


def test_transfer_default_mode_is_simultaneous() -> None:
    call = Call(flowset(TRANSFER.replace("@MODE@", "")))
    assert call.start() == [say("Connecting you."), fx.Dial(ALL, 15)]


def test_transfer_sequential_dials_one_at_a_time() -> None:
    call = Call(transfer_flows("sequential"))
    assert call.start() == [say("Connecting you."), fx.Dial(ALL[:1], 15)]
    assert call.send(DialFinished("busy")) == [fx.Dial(ALL[1:2], 15)]
    assert (call.s.dial_index, call.s.waiting) == (1, Waiting.DIAL)
    assert call.send(DialFinished("no-answer")) == [fx.Dial(ALL[2:], 15)]
    assert call.s.dial_index == 2
    assert call.send(DialFinished("failed")) == bye("Nobody answered.")
    assert call.s.history == ["main.ring", "ring:busy", "ring:no-answer", "ring:failed", "main.nobody"]
    assert call.s.dial_index == 0


@pytest.mark.parametrize("mode", ["simultaneous", "sequential"])
@pytest.mark.parametrize("status", ["completed", "answered"])
def test_transfer_answered_ends_our_part(mode: str, status: str) -> None:
    call = Call(transfer_flows(mode))
    call.start()
    if mode == "sequential":
        call.send(DialFinished("no-answer"))
    assert call.send(DialFinished(status)) == [fx.Hangup()]
    assert (call.s.waiting, call.s.history[-1]) == (Waiting.NOTHING, "ring:answered")
    assert call.send(Digits("1")) == [fx.Hangup()]


def test_transfer_to_a_single_staff_key() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: ring
            transfer: {to: on_call}
          - id: nobody
            hangup: true
    """)
    call = Call(flows)
    assert call.start() == [fx.Dial(("+15550100101",), 20)]
    assert call.send(DialFinished("no-answer")) == [fx.Hangup()]


VOICEMAIL = """
flow: main
steps:
  - id: vm
    voicemail:
      prompt: "Leave a message {{ caller.first_name or 'after the tone' }}."
      max_length: 60
  - id: thanks
    hangup: Thanks.
"""


@pytest.mark.parametrize(("sid", "note"), [("RE123", "vm:recorded"), (None, "vm:no-recording")])
def test_voicemail_records_then_continues(sid: str | None, note: str) -> None:
    call = Call(flowset(VOICEMAIL))
    assert call.start() == [say("Leave a message after the tone."), fx.Record(60)]
    assert (call.s.step, call.s.waiting) == ("vm", Waiting.RECORDING)
    assert call.send(RecordingFinished(sid, 12 if sid else 0)) == bye("Thanks.")
    assert call.s.history == ["main.vm", note, "main.thanks"]
    assert call.s.vars == ({"last_recording_sid": sid} if sid else {})


def test_voicemail_without_prompt_uses_default_length() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: vm
            voicemail: {}
            next: done
          - id: done
            hangup: true
    """)
    call = Call(flows)
    assert call.start() == [fx.Record(120)]
    assert call.send(RecordingFinished("RE1", 3)) == [fx.Hangup()]


SMS = """
flow: main
steps:
  - id: text
    sms:
      body: "Hi {{ caller.first_name or 'there' }}, here is the link you asked for: https://example.org/j/1"
  - id: done
    hangup: We sent you a text.
"""


def test_sms_to_the_caller() -> None:
    call = Call(flowset(SMS))
    assert call.start() == [fx.SendSms(CALLER, "Hi there, here is the link you asked for: https://example.org/j/1"),
                            say("We sent you a text."), fx.Hangup()]
    assert call.s.history == ["main.text", "main.done"]


def test_sms_never_to_a_withheld_number() -> None:
    call = Call(flowset(SMS), caller=None)
    assert call.start() == bye("We sent you a text.")
    assert call.s.history == ["main.text", "text:no-number", "main.done"]


def test_escalate_effects() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: esc
            escalate: {reason: callback_request, priority: high, say: Someone will call you back.}
          - id: esc2
            escalate: {reason: billing_question}
          - id: bye
            hangup: Goodbye.
    """)
    call = Call(flows)
    assert call.start() == [say("Someone will call you back."), fx.Escalate("callback_request", "high"),
                            fx.Escalate("billing_question", "normal"), say("Goodbye."), fx.Hangup()]


def test_play_step() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: music
            play: https://example.org/hold.mp3
          - id: bye
            hangup: true
    """)
    assert Call(flows).start() == [fx.Play("https://example.org/hold.mp3"), fx.Hangup()]


# --------------------------------------------------------------------------- goto, voices

GOTO_MAIN = """
flow: main
steps:
  - id: menu
    menu:
      prompt: Press 1 or 2.
      options:
        - {key: "1", next: jump}
        - {key: "2", next: jump_step}
      give_up: jump
  - id: jump
    goto: other
  - id: jump_step
    goto: {flow: other, step: second}
"""
GOTO_OTHER = """
flow: other
voice: Polly.Matthew
start: intro
steps:
  - id: second
    hangup: Other second.
  - id: intro
    say: Other intro.
    language: en-GB
    next: second
"""


def test_goto_another_flow_at_its_start() -> None:
    call = Call(flowset(GOTO_MAIN, GOTO_OTHER))
    call.start()
    assert call.send(Digits("1")) == [say("Other intro.", "Polly.Matthew", "en-GB"),
                                      say("Other second.", "Polly.Matthew"), fx.Hangup()]
    assert (call.s.flow, call.s.step) == ("other", "second")
    assert call.s.history == ["main.menu", "menu:1", "main.jump", "other.intro", "other.second"]


def test_goto_an_explicit_step() -> None:
    call = Call(flowset(GOTO_MAIN, GOTO_OTHER))
    call.start()
    assert call.send(Digits("2")) == [say("Other second.", "Polly.Matthew"), fx.Hangup()]
    assert call.s.history == ["main.menu", "menu:2", "main.jump_step", "other.second"]


def test_globals_belong_to_their_flow() -> None:
    other = """
        flow: other
        steps:
          - id: menu
            menu:
              prompt: Other menu.
              options: [{key: "1", next: done}]
              give_up: done
          - id: done
            hangup: Done.
    """
    main = MENU.replace("    hangup: Billing.", "    goto: other")
    call = Call(flowset(main, other))
    call.start()
    assert call.send(Digits("1")) == [fx.Gather((say("Other menu."),), num_digits=1, hints=(), timeout=6,
                                                language=LANGUAGE)]
    assert call.send(Digits("0"))[0].prompts[0] == say(NO_MATCH)


# --------------------------------------------------------------------------- hangup and call end


def test_hangup_then_every_event_hangs_up() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: bye
            hangup: true
    """)
    call = Call(flows)
    assert call.start() == [fx.Hangup()]
    assert (call.s.step, call.s.waiting) == ("bye", Waiting.NOTHING)
    ended = copy.deepcopy(call.s)
    for event in (Digits("1"), Speech("hello", 0.9), NoInput(), RecordingFinished("RE1", 3),
                  DialFinished("completed"), ActionDone("open"), CallStarted()):
        assert call.send(event) == [fx.Hangup()]
        assert call.s == ended


def test_call_ended_marks_the_session(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(CallEnded("no-answer")) == []
    assert (call.s.ended, call.s.end_reason, call.s.waiting) == (True, "no-answer", Waiting.NOTHING)
    assert call.s.history == ["main.menu", "ended:no-answer"]
    assert call.send(CallEnded("completed")) == []  # once only
    assert call.s.end_reason == "no-answer" and call.s.history[-1] == "ended:no-answer"
    assert call.send(Digits("1")) == [fx.Hangup()]
    assert call.send(CallStarted()) == [fx.Hangup()]


def test_call_ended_default_status(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    call.send(CallEnded())
    assert call.s.end_reason == "completed"


def test_an_event_that_does_not_fit_repeats_the_step(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    call.send(NoInput())
    assert call.send(RecordingFinished("RE1", 2)) == [menu_gather()]
    assert call.send(DialFinished("completed")) == [menu_gather()]
    assert (call.s.step, call.s.attempts, call.s.waiting) == ("menu", 1, Waiting.INPUT)


# --------------------------------------------------------------------------- limits

SAY_LOOP = """
flow: main
steps:
  - id: top
    say: Looping.
  - id: check
    branch:
      cases:
        - if: vars.done
          next: bye
      else: top
  - id: bye
    hangup: true
"""
LIMIT_EXIT = [say(LIMIT_APOLOGY), fx.Escalate("call_limit", "high"), fx.Record(120)]


def test_step_cap_ends_a_loop_without_input() -> None:
    call = Call(flowset(SAY_LOOP), max_steps=7)
    # top, check, top, check, top, check, top: seven steps, then the cap.
    assert call.start() == [say("Looping.")] * 4 + LIMIT_EXIT
    assert (call.s.step, call.s.waiting, call.s.steps_taken) == (LIMIT_STEP, Waiting.RECORDING, 7)
    assert call.s.history[-1] == "limit:exceeded"
    assert call.send(RecordingFinished("RE9", 20)) == [say(LIMIT_THANKS), fx.Hangup()]
    assert (call.s.waiting, call.s.history[-1]) == (Waiting.NOTHING, "limit:voicemail")
    assert call.send(Digits("1")) == [fx.Hangup()]


def test_step_cap_with_the_default_limit() -> None:
    out = Call(flowset(SAY_LOOP)).start()
    assert out == [say("Looping.")] * 100 + LIMIT_EXIT


MENU_LOOP = """
flow: main
steps:
  - id: menu
    menu:
      prompt: Press 1.
      options: [{key: "1", next: bye}]
      give_up: menu
  - id: bye
    hangup: true
"""


def test_step_cap_ends_a_menu_that_gives_up_to_itself() -> None:
    call = Call(flowset(MENU_LOOP), max_steps=5)
    gather = fx.Gather((say("Press 1."),), num_digits=1, hints=(), timeout=6, language=LANGUAGE)
    reprompt = dataclasses.replace(gather, prompts=(say(NO_INPUT), say("Press 1.")))
    assert call.start() == [gather]
    assert call.send(NoInput()) == [reprompt]
    assert call.send(NoInput()) == [reprompt]
    assert call.send(NoInput()) == [gather]  # give_up: back to the same menu, attempts start over
    assert (call.s.attempts, call.s.steps_taken) == (0, 4)
    assert call.send(NoInput()) == LIMIT_EXIT
    assert call.s.history[-3:] == ["main.menu", "menu:no-input", "limit:exceeded"]
    assert call.send(RecordingFinished(None, 0)) == [say(LIMIT_THANKS), fx.Hangup()]


def test_duration_cap(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows, max_call_seconds=60)
    assert call.send(NoInput(), now=OPEN + dt.timedelta(seconds=60)) == [menu_gather(NO_INPUT)]
    assert call.send(Digits("1"), now=OPEN + dt.timedelta(seconds=61)) == LIMIT_EXIT
    assert call.s.step == LIMIT_STEP
    assert call.send(RecordingFinished("RE1", 30), now=OPEN + dt.timedelta(minutes=5)) == [say(LIMIT_THANKS),
                                                                                           fx.Hangup()]


def test_duration_cap_default_is_an_hour(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(NoInput(), now=OPEN + dt.timedelta(hours=1)) == [menu_gather(NO_INPUT)]
    assert call.send(NoInput(), now=OPEN + dt.timedelta(hours=1, seconds=1)) == LIMIT_EXIT


# --------------------------------------------------------------------------- flows reloaded mid-call

V1 = """
flow: main
steps:
  - id: hours
    action:
      name: hours_status
      outcomes: {open: old_menu, closed: old_menu, holiday: old_menu}
  - id: old_menu
    menu:
      prompt: Old menu.
      options: [{key: "1", next: ring}]
      give_up: ring
  - id: ring
    transfer: {to: front_desk}
  - id: bye
    hangup: true
"""
V2 = """
flow: main
steps:
  - id: welcome
    say: Welcome back.
  - id: new_menu
    menu:
      prompt: New menu.
      options: [{key: "1", next: bye}, {key: "2", next: bye}]
      give_up: bye
  - id: bye
    hangup: true
"""
NEW_MENU = [say(RESTART_APOLOGY), say("Welcome back."),
            fx.Gather((say("New menu."),), num_digits=1, hints=(), timeout=6, language=LANGUAGE)]


def test_reload_that_removed_the_current_step_restarts() -> None:
    call = Call(flowset(V1))
    call.start()
    call.send(ActionDone("open"))
    assert call.s.step == "old_menu"
    assert call.send(Digits("1"), flows=flowset(V2)) == NEW_MENU
    assert (call.s.flow, call.s.step, call.s.waiting) == ("main", "new_menu", Waiting.INPUT)
    assert call.s.history[-3:] == ["restart:flows-changed", "main.welcome", "main.new_menu"]


@pytest.mark.parametrize(
    ("changed", "event"),
    [
        # The step id survived but is now a different kind of step.
        ("  - id: old_menu\n    hangup: true\n", Digits("1")),
        ("  - id: hours\n    say: Hours.\n", ActionDone("open")),
        ("  - id: ring\n    voicemail: {}\n", DialFinished("no-answer")),
        # The action is now another one, without the outcome that came back.
        ("  - id: hours\n    action: {name: caller_id, outcomes: {present: bye, withheld: bye}}\n",
         ActionDone("open")),
    ],
)
def test_reload_that_replaced_the_current_step_restarts(changed: str, event) -> None:
    step_id = re.search(r"id: (\w+)", changed).group(1)
    where = {"hours": [], "old_menu": [ActionDone("open")], "ring": [ActionDone("open"), Digits("1")]}[step_id]
    call = Call(flowset(V1))
    call.start()
    for e in where:
        call.send(e)
    assert call.s.step == step_id
    v2 = V2.replace("{key: \"2\", next: bye}", f"{{key: \"2\", next: {step_id}}}")
    v2 = v2.replace("  - id: bye\n", changed + "  - id: bye\n")
    assert call.send(event, flows=flowset(v2)) == NEW_MENU
    assert "restart:flows-changed" in call.s.history


def test_reload_that_removed_the_current_flow_restarts() -> None:
    call = Call(flowset(GOTO_MAIN, GOTO_OTHER.replace("hangup: Other second.", "voicemail: {}\n    next: intro")
                        .replace("next: second", "next: done\n  - id: done\n    hangup: true")))
    call.start()
    assert call.send(Digits("2")) == [fx.Record(120)]
    assert call.s.flow == "other"
    out = call.send(RecordingFinished("RE1", 3), flows=flowset(V2))
    assert out == NEW_MENU
    assert call.s.flow == "main"


# --------------------------------------------------------------------------- purity and persistence


def test_session_round_trips_through_json_between_steps() -> None:
    flows = flowset(CALLER_FLOW)
    direct, stored = Call(flows), Call(flows)
    for event in (CallStarted(), ActionDone("present", {"caller": {"known": True, "first_name": "Ana"}})):
        assert direct.send(event) == stored.send(event)
        stored.session = CallSession.from_json(stored.session.to_json())
        assert stored.session == direct.session


def test_step_never_mutates_nested_vars() -> None:
    flows = flowset(CALLER_FLOW)
    session = new_session("CA1", CALLER, OPEN)
    session, _ = step(flows, session, CallStarted(), StepEnv(now=OPEN))
    updates = {"caller": {"first_name": "Ana"}}
    frozen = copy.deepcopy(session)
    step(flows, session, ActionDone("present", updates), StepEnv(now=OPEN))
    assert session == frozen and updates == {"caller": {"first_name": "Ana"}}


def test_engine_imports_no_io() -> None:
    tree = ast.parse((ROOT / "ivr" / "core" / "engine.py").read_text())
    modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m.split(".")[0] for m in modules} & {"flask", "redis", "twilio", "rq", "requests", "time", "os"}
    source = (ROOT / "ivr" / "core" / "engine.py").read_text()
    assert ".now(" not in source and "utcnow" not in source and "today(" not in source


# --------------------------------------------------------------------------- promises and priorities (issue 7)

from ivr.core import engine as engine_mod  # noqa: E402
from ivr.core.priority import Priority  # noqa: E402

ESCALATIONS = """
flow: main
steps:
  - id: crisis
    escalate: {reason: crisis}
  - id: billing
    escalate: {reason: billing, priority: high}
  - id: billing_again
    escalate: {reason: billing, priority: urgent}
  - id: bye
    hangup: Goodbye.
"""


def test_the_engine_decides_each_escalations_priority_once_from_the_step_and_the_policy() -> None:
    call = Call(flowset(ESCALATIONS))
    out = call.start()
    # A crisis is urgent whatever the step says; the step may ask for more than the policy (billing: normal).
    assert out == [fx.Escalate("crisis", Priority.URGENT), fx.Escalate("billing", Priority.HIGH), say("Goodbye."),
                   fx.Hangup()]
    assert out[0].priority is Priority.URGENT and out[1].priority is Priority.HIGH
    # One escalation per call and reason: the second billing step hands over nothing new.
    assert call.s.escalated == {"crisis": "urgent", "billing": "high"}


def test_the_practice_policy_can_make_a_reason_more_urgent_than_the_step() -> None:
    practice = PRACTICE + "escalations:\n  billing: {priority: urgent}\n"
    out = Call(flowset(ESCALATIONS, practice=practice)).start()
    assert out[1] == fx.Escalate("billing", Priority.URGENT)


def test_an_actions_escalation_gets_its_priority_decided_too() -> None:
    flows = flowset(ESCALATIONS)
    session = new_session("CA0002", CALLER, OPEN)
    session, out = engine_mod.adopt(flows, session, [fx.Escalate("verification_failed", "normal"),
                                                     fx.SendSms(CALLER, "hi")], StepEnv(now=OPEN))
    assert out == [fx.Escalate("verification_failed", Priority.HIGH), fx.SendSms(CALLER, "hi")]
    session, out = engine_mod.adopt(flows, session, [fx.Escalate("verification_failed", "high")], StepEnv(now=OPEN))
    assert out == [] and session.escalated == {"verification_failed": "high"}


PROMISE = """
flow: main
steps:
  - id: promise
    say: Someone will call you back by {{ callback_by('callback_request') | spoken }}.
  - id: message
    voicemail: {max_length: 60}
    next: bye
  - id: bye
    hangup: Goodbye.
"""


def test_a_spoken_callback_promise_is_kept_as_an_escalation_once() -> None:
    call = Call(flowset(PROMISE))
    out = call.start()
    assert out == [say("Someone will call you back by today at 12 PM."), fx.Record(60)]
    session, kept = engine_mod.keep_promises(call.flows, call.s, call.env)
    assert kept == [fx.Escalate("callback_request", Priority.NORMAL)]
    assert engine_mod.keep_promises(call.flows, session, call.env)[1] == []


def test_a_call_ending_during_a_message_still_waits_for_it_and_keeps_its_promises() -> None:
    call = Call(flowset(PROMISE))
    call.start()
    out = call.send(CallEnded("completed"))
    assert out == [fx.Escalate("callback_request", Priority.NORMAL)]
    assert (call.s.ended, call.s.waiting, call.s.step) == (True, Waiting.RECORDING, "message")
    assert call.send(CallEnded("completed")) == []  # once


def test_a_message_arriving_after_the_end_of_a_call_that_escalated_nothing_is_a_voicemail() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: bye
            hangup: Goodbye.
    """)
    call = Call(flows)
    call.start()
    call.send(CallEnded("completed"))
    out = call.send(RecordingFinished("RE" + "1" * 32, 5))
    assert out == [fx.Escalate("voicemail", Priority.NORMAL), fx.Hangup()]
    assert call.s.vars["last_recording_sid"] == "RE" + "1" * 32 and "recorded-after-end" in call.s.history
    assert call.send(RecordingFinished("RE" + "1" * 32, 5)) == [fx.Hangup()]  # once
