"""``ivr.telephony.call_handler.advance``: the engine plus the built-in actions it invokes, run in-process."""
from __future__ import annotations

import copy
import datetime as dt
import textwrap
from collections.abc import Mapping
from typing import Any

import pytest

from ivr.actions.builtin import builtin_specs
from ivr.actions.catalog import default_registry
from ivr.actions.registry import ActionContext, ActionResult, ActionSpec, Registry
from ivr.core import effects as fx
from ivr.core.call_state import Waiting
from ivr.core.engine import LIMIT_APOLOGY, LIMIT_STEP, StepEnv, new_session
from ivr.core.events import CallStarted, Digits
from ivr.core.flow import FlowSet
from ivr.exceptions import UnknownAction
from ivr.flowlang.loading import load_set
from ivr.telephony.call_handler import MAX_ACTIONS_PER_REQUEST, advance

UTC = dt.UTC
CALLER = "+15551230001"
VOICE, LANGUAGE = "Polly.Joanna", "en-US"
PRACTICE = """\
name: Test Practice
timezone: America/New_York
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
"""
OPEN = dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
AFTERNOON = dt.datetime(2026, 11, 23, 19, 30, tzinfo=UTC)  # Monday 14:30
CLOSED = dt.datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # Monday 20:00
HOLIDAY = dt.datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # Thanksgiving 11:00


def say(text: str) -> fx.Say:
    return fx.Say(text, VOICE, LANGUAGE)


def flowset(text: str, registry: Registry | None = None) -> FlowSet:
    registry = registry or default_registry()
    return load_set({"main.yaml": textwrap.dedent(text)}, PRACTICE, registry.outcomes())


def start(flows: FlowSet, now: dt.datetime = OPEN, caller: str | None = CALLER, registry: Registry | None = None,
          **limits: int):
    session = new_session("CA0001", caller, now)
    before = copy.deepcopy(session)
    new, out = advance(flows, registry or default_registry(), session, CallStarted(), StepEnv(now=now, **limits))
    assert session == before, "advance mutated its input session"
    assert not any(isinstance(e, fx.Invoke) for e in out), "an Invoke leaked out of advance"
    return new, out


HOURS = """
flow: main
steps:
  - id: greeting
    say: Welcome.
  - id: hours
    action:
      name: hours_status
      outcomes: {open: open, closed: closed, holiday: holiday}
  - id: open
    menu:
      prompt: Press 1.
      options: [{key: "1", next: closed}]
      give_up: closed
  - id: closed
    hangup: "We are closed. We open {{ next_open | spoken }}."
  - id: holiday
    hangup: "Closed for {{ holiday }}. Back {{ vars.next_open | spoken }}."
"""


def test_hours_status_open() -> None:
    session, out = start(flowset(HOURS), OPEN)
    assert out == [say("Welcome."), fx.Gather((say("Press 1."),), num_digits=1, hints=(), timeout=6,
                                              language=LANGUAGE, speech_model="phone_call", enhanced=True)]
    assert (session.step, session.waiting) == ("open", Waiting.INPUT)
    assert session.history == ["main.greeting", "main.hours", "hours:open", "main.open"]
    assert session.vars == {"next_open": None}
    assert session.steps_taken == 3


def test_hours_status_closed() -> None:
    session, out = start(flowset(HOURS), CLOSED)
    assert out == [say("Welcome."), say("We are closed. We open tomorrow at 9 AM."), fx.Hangup()]
    assert session.history == ["main.greeting", "main.hours", "hours:closed", "main.closed"]
    assert session.vars == {"next_open": "2026-11-24T09:00:00-05:00"}


def test_hours_status_holiday() -> None:
    session, out = start(flowset(HOURS), HOLIDAY)
    assert out == [say("Welcome."), say("Closed for Thanksgiving. Back tomorrow at 9 AM."), fx.Hangup()]
    assert session.history[2] == "hours:holiday"
    assert session.vars == {"next_open": "2026-11-27T09:00:00-05:00"}


CALLER_ID = """
flow: main
steps:
  - id: who
    action:
      name: caller_id
      outcomes: {present: present, withheld: withheld}
  - id: present
    hangup: "I see your number{% if caller.present %}, yes{% endif %}."
  - id: withheld
    hangup: Your number is withheld.
"""


@pytest.mark.parametrize(
    ("caller", "outcome", "said"),
    [(CALLER, "present", "I see your number, yes."), (None, "withheld", "Your number is withheld.")],
)
def test_caller_id(caller: str | None, outcome: str, said: str) -> None:
    session, out = start(flowset(CALLER_ID), caller=caller)
    assert out == [say(said), fx.Hangup()]
    assert session.history == ["main.who", f"who:{outcome}", f"main.{outcome}"]
    assert session.caller == caller


TIME_OF_DAY = """
flow: main
steps:
  - id: when
    action:
      name: time_of_day
      outcomes: {morning: morning, afternoon: afternoon, evening: evening}
  - id: morning
    hangup: Good morning.
  - id: afternoon
    hangup: Good afternoon.
  - id: evening
    hangup: Good evening.
"""


@pytest.mark.parametrize(
    ("now", "said"),
    [(OPEN, "Good morning."), (AFTERNOON, "Good afternoon."), (CLOSED, "Good evening.")],
)
def test_time_of_day_in_practice_time(now: dt.datetime, said: str) -> None:
    assert start(flowset(TIME_OF_DAY), now)[1] == [say(said), fx.Hangup()]


CHAIN = """
flow: main
steps:
  - id: who
    action:
      name: caller_id
      outcomes: {present: hours, withheld: bye}
  - id: hours
    action:
      name: hours_status
      outcomes: {open: hello, closed: bye, holiday: bye}
  - id: hello
    say: Hello.
  - id: when
    action:
      name: time_of_day
      outcomes: {morning: menu, afternoon: bye, evening: bye}
  - id: menu
    menu:
      prompt: Press 1.
      options: [{key: "1", next: bye}]
      give_up: bye
  - id: bye
    hangup: Goodbye.
"""


def test_several_actions_in_one_request() -> None:
    flows = flowset(CHAIN)
    session, out = start(flows)
    assert out == [say("Hello."), fx.Gather((say("Press 1."),), num_digits=1, hints=(), timeout=6,
                                            language=LANGUAGE, speech_model="phone_call", enhanced=True)]
    assert session.history == ["main.who", "who:present", "main.hours", "hours:open", "main.hello", "main.when",
                               "when:morning", "main.menu"]
    # The next webhook carries on from the menu with no action in between.
    session, out = advance(flows, default_registry(), session, Digits("1"), StepEnv(now=OPEN))
    assert out == [say("Goodbye."), fx.Hangup()]


def test_withheld_number_skips_the_rest() -> None:
    session, out = start(flowset(CHAIN), caller=None)
    assert out == [say("Goodbye."), fx.Hangup()]
    assert session.history == ["main.who", "who:withheld", "main.bye"]


# --------------------------------------------------------------------------- custom actions


def lookup_registry(directory: Mapping[str, str]) -> Registry:
    """An action whose data (``directory``) is a service given to it when the registry is built."""

    def lookup(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
        ctx.session.vars["tampered"] = True  # actions get a copy: this must not reach the call
        person = directory.get(ctx.session.caller)
        if person is None:
            return ActionResult("unknown")
        return ActionResult("known", {"caller": {"known": True, "first_name": person}, "greeting": params["greeting"]})

    return Registry(builtin_specs() + [ActionSpec("lookup_caller", ("known", "unknown"), lookup)])


LOOKUP = """
flow: main
steps:
  - id: lookup
    action:
      name: lookup_caller
      with: {greeting: Welcome back}
      outcomes: {known: known, unknown: check}
  - id: known
    say: "{{ vars.greeting }}, {{ caller.first_name }}."
  - id: check
    branch:
      cases:
        - if: caller.known
          next: bye
      else: stranger
  - id: stranger
    hangup: Hello there.
  - id: bye
    hangup: Goodbye.
"""


def test_action_with_params_services_and_caller_updates() -> None:
    registry = lookup_registry({CALLER: "Ana"})
    session, out = start(flowset(LOOKUP, registry), registry=registry)
    assert out == [say("Welcome back, Ana."), say("Goodbye."), fx.Hangup()]
    assert session.vars == {"caller": {"known": True, "first_name": "Ana"}, "greeting": "Welcome back"}
    assert "tampered" not in session.vars


def test_action_unknown_caller() -> None:
    registry = lookup_registry({})
    session, out = start(flowset(LOOKUP, registry), registry=registry)
    assert out == [say("Hello there."), fx.Hangup()]
    assert session.vars == {}


def test_action_returning_an_undeclared_outcome_is_an_error() -> None:
    def liar(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
        return ActionResult("maybe")

    registry = Registry([ActionSpec("caller_id", ("present", "withheld"), liar)])
    with pytest.raises(UnknownAction):
        start(flowset(CALLER_ID, registry), registry=registry)


# --------------------------------------------------------------------------- looping actions

ACTION_LOOP = """
flow: main
steps:
  - id: again
    action:
      name: time_of_day
      outcomes: {morning: again, afternoon: bye, evening: bye}
  - id: bye
    hangup: true
"""


def test_an_action_loop_ends_politely_at_the_step_cap() -> None:
    session, out = start(flowset(ACTION_LOOP), OPEN, max_steps=10)
    assert out == [say(LIMIT_APOLOGY), fx.Escalate("call_limit", "high"), fx.Record(120)]
    assert (session.step, session.waiting, session.steps_taken) == (LIMIT_STEP, Waiting.RECORDING, 10)


def test_an_action_loop_ends_politely_with_the_default_step_cap() -> None:
    assert MAX_ACTIONS_PER_REQUEST < 200
    session, out = start(flowset(ACTION_LOOP), OPEN)
    assert out == [say(LIMIT_APOLOGY), fx.Escalate("call_limit", "high"), fx.Record(120)]
