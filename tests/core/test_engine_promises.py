"""Promised callbacks and escalation priorities as the engine decides them (issue 7)."""
from __future__ import annotations

from ivr.core import effects as fx

# --------------------------------------------------------------------------- promises and priorities (issue 7)
from ivr.core import engine as engine_mod  # noqa: E402
from ivr.core.call_state import Waiting
from ivr.core.engine import (
    StepEnv,
    new_session,
)
from ivr.core.events import (
    CallEnded,
    RecordingFinished,
)
from ivr.core.priority import Priority  # noqa: E402
from tests.helpers.engine import CALLER, OPEN, PRACTICE, Call, flowset, say

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
