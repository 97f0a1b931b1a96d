"""The pure flow engine driven with plain events and a fixed clock: inline flows loaded with the real loader,
and Call, which checks on every step that the engine left its input session untouched."""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
import textwrap
from pathlib import Path

from ivr.actions.catalog import default_registry
from ivr.core import effects as fx
from ivr.core.call_state import CallSession
from ivr.core.engine import (
    StepEnv,
    new_session,
    step,
)
from ivr.core.events import (
    CallStarted,
)
from ivr.core.flow import FlowSet
from ivr.flowlang.loading import load_set

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.UTC
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


def ask_flows(spec: str) -> FlowSet:
    """A flow whose only question is an ask with `spec` (flow-style YAML lines)."""
    lines = textwrap.dedent(spec).strip().splitlines()
    return flowset(ASK.replace("@SPEC@", "\n      ".join(lines)))


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


def at_menu(flows: FlowSet, **kw) -> Call:
    call = Call(flows, **kw)
    call.start()
    return call


def menu_gather(*reprompt: str, short: bool = False) -> fx.Gather:
    """The menu's <Gather> after ``reprompt``; a ``short`` re-prompt stands in for the menu's prompt."""
    prompts = tuple(say(r) for r in reprompt) + (() if short else (say(MENU_PROMPT),))
    return fx.Gather(prompts, num_digits=1, hints=MENU_HINTS, timeout=6, language=LANGUAGE,
            speech_model="phone_call", enhanced=True)


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


MENU_PROMPT = "For billing press 1. For appointments press 2."

MENU_HINTS = ("billing", "pay my bill", "appointment", "reschedule", "booking") + GLOBAL_HINTS

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
