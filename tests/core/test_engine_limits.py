"""The engine's limits (steps, call length), flows reloaded mid-call, and sessions that persist between steps
untouched.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re

import pytest

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
    CallStarted,
    DialFinished,
    Digits,
    NoInput,
    RecordingFinished,
)
from ivr.core.flow import FlowSet
from tests.helpers.engine import (
    CALLER,
    CALLER_FLOW,
    GOTO_MAIN,
    GOTO_OTHER,
    LANGUAGE,
    NO_INPUT,
    OPEN,
    Call,
    at_menu,
    flowset,
    menu_gather,
    say,
)

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
    gather = fx.Gather((say("Press 1."),), num_digits=1, hints=(), timeout=6, language=LANGUAGE,
            speech_model="phone_call", enhanced=True)
    reprompt = dataclasses.replace(gather, prompts=(say(NO_INPUT), say("Press 1.")))
    assert call.start() == [gather]
    assert call.send(NoInput()) == [reprompt]
    # the same miss again: the options by key, never the same turn twice (bt14-s27 SHOULD-FIX 5)
    again = dataclasses.replace(gather, prompts=(say("Sorry, I still didn't hear anything. You can press 1."),))
    assert call.send(NoInput()) == [again]
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
            fx.Gather((say("New menu."),), num_digits=1, hints=(), timeout=6, language=LANGUAGE,
                    speech_model="phone_call", enhanced=True)]


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
