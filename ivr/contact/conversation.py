"""The conversation of an answered outbound call, and of a pool number called back (the I/O half).

Both run on the engine and the voice webhooks like any inbound call (``ivr.telephony.call_handler``), in the
flows ``follow_up_call`` and ``returned_call`` (flows/), started here with ``vars.touch``:

* an answered call's ``Url`` is ``/twilio/voice?touch=<job id>`` (the touch's opaque RQ job id: never a
  number or a name); ``for_touch`` finds the touch by that id **and** the call's SID, and starts
  ``follow_up_call`` with the client being called as the only candidate for ``verify_identity``;
* a call to a pool number starts ``returned_call`` (``for_return``) with the latest touch made from that
  number to the caller, which only a caller verified as that touch's client continues;
* when the call ends (``record``), the touch row gets ``verified``, ``conversation`` and ``flow_version``;
  a call nobody verified on counts as ``no_answer``, so the next attempt still goes.
"""
from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ivr.actions.access import CLIENT_ZONE_VAR
from ivr.contact import touches
from ivr.contact.facts import load_facts
from ivr.contact.models import OutboundTouch, TouchState
from ivr.core.call_state import CallSession
from ivr.core.flow import OUTBOUND_ENTRY_FLOWS
from ivr.outbound.facts import Channel
from ivr.outbound.lint import WordKind
from ivr.outbound.wording import render
from ivr.telephony.call_handler import CallStart

log = logging.getLogger(__name__)

FOLLOW_UP_FLOW, RETURNED_FLOW = OUTBOUND_ENTRY_FLOWS  # flows check judges the flows they reach against them
# Touches a returned call may continue: those that reached the number (or may have).
_MADE = (TouchState.QUEUED.value, TouchState.SENT.value, TouchState.DELIVERED.value, TouchState.ANSWERED.value,
         TouchState.VOICEMAIL.value, TouchState.NO_ANSWER.value, TouchState.MACHINE.value,
         TouchState.MERGED.value)  # merged: a family phone's one neutral text carried it too
RETURN_WINDOW = dt.timedelta(days=14)


class Conversation(StrEnum):
    """What an answered call came to (``vars.conversation``, set by the flow; ``outbound_touches.conversation``)."""

    NO_REPLY = "no_reply"  # nobody said yes or no to the first question
    SOMEONE_ELSE = "someone_else"
    NOT_VERIFIED = "not_verified"
    TALKED = "talked"  # verified; nothing more recorded
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    RESCHEDULING = "rescheduling"
    DECLINED = "declined"
    STAFF = "staff"  # handed to staff
    OPTED_OUT = "opted_out"  # asked not to be called again (the number is in call_opt_outs)


def _row_vars(row: OutboundTouch) -> dict[str, Any]:
    """What the flow reads of the touch after verification (``vars.touch``), from its row alone."""
    return {"job": row.job_id, "client_id": row.client_id, "kind": row.kind, "trigger": row.rule,
            "appointment_id": row.appointment_id}


def _touch_vars(out: Any, row: OutboundTouch, now: dt.datetime) -> dict[str, Any] | None:
    """``vars.touch`` of an answered call: the row's and the neutral words; None when the rules or the client are
    gone. Never the client's name: the flow's first words play as the call connects, before asynchronous AMD has
    said a person answered and before anyone is verified (issue 11); once verified, ``caller.first_name`` has it."""
    rules = out.rules()
    if rules is None or not row.from_e164:
        return None
    with out.database.sessions() as db:
        facts = load_facts(db, clients=[row.client_id])
    person = next((c for c in facts.clients if c.id == row.client_id), None)
    if person is None:
        return None
    neutral = render(touches.touch_of(row), WordKind.SPOKEN, rules=rules, client=person, appointment=None,
                     callback_number=row.from_e164, now=now, verified=False)
    return {**_row_vars(row), "neutral": neutral}


def _start(out: Any, flow: str, touch: dict[str, Any] | None, candidates: list[str]) -> CallStart:
    flows = out.flows.current()
    return CallStart(flow, {"touch": touch, "candidates": candidates, "caller": {"verified": False},
                            "flow_version": flows.version, CLIENT_ZONE_VAR: True})


def for_touch(out: Any, job_id: str, call_sid: str) -> CallStart | None:
    """The start of the answered outbound call ``call_sid`` of touch ``job_id``; None (hang up) when they do
    not belong together, or the touch cannot be spoken about any more."""
    if not job_id or not call_sid:
        return None
    with out.database.sessions() as db:
        row = db.scalar(select(OutboundTouch).where(OutboundTouch.job_id == job_id,
                                                    OutboundTouch.channel == Channel.CALL.value))
    if row is None or row.twilio_sid != call_sid:
        return None
    touch = _touch_vars(out, row, out.clock())
    if touch is None:
        return None
    return _start(out, FOLLOW_UP_FLOW, touch, [row.client_id])


def for_return(out: Any, pool_number: str, caller: str | None) -> CallStart:
    """The start of a call to a pool number: the latest touch made from it to ``caller`` (continued only once
    the caller is verified as its client); the same greeting whoever calls."""
    row = None
    with out.database.sessions() as db:
        # One query whoever calls (a withheld number matches nothing); the row alone, so a caller who had a
        # touch costs no more work than one who had none.
        row = db.scalar(select(OutboundTouch).where(
            OutboundTouch.from_e164 == pool_number, OutboundTouch.to_e164 == (caller or ""),
            OutboundTouch.status.in_(_MADE), OutboundTouch.attempted_at >= out.clock() - RETURN_WINDOW)
            .order_by(OutboundTouch.attempted_at.desc(), OutboundTouch.id.desc()).limit(1))
    return _start(out, RETURNED_FLOW, _row_vars(row) if row is not None else None, [])


def recent_of_client(out: Any, client_id: str, now: dt.datetime) -> dict[str, Any] | None:
    """``vars.touch`` of the latest touch made to ``client_id`` in the last ``RETURN_WINDOW`` (any number of theirs),
    for a caller already verified as that client: one who calls back from another phone continues it exactly as
    from the number it went to.  None when there is none."""
    with out.database.sessions() as db:
        row = db.scalar(select(OutboundTouch).where(
            OutboundTouch.client_id == client_id, OutboundTouch.channel != Channel.STAFF_TASK.value,
            OutboundTouch.status.in_(_MADE), OutboundTouch.attempted_at >= now - RETURN_WINDOW)
            .order_by(OutboundTouch.attempted_at.desc(), OutboundTouch.id.desc()).limit(1))
    return _row_vars(row) if row is not None else None


def record(out: Any, session: CallSession | None, call_sid: str, now: dt.datetime) -> None:
    """The call ``call_sid`` is over: record its conversation (``session``, from Redis) on the touch row
    (verified, outcome, flows' version).  A call nobody verified on is ``no_answer`` (the next attempt goes)."""
    if session is None or not session.vars.get("touch"):
        return
    caller = session.vars.get("caller") or {}
    verified = bool(caller.get("verified"))
    outcome = str(session.vars.get("conversation") or (Conversation.TALKED if verified else Conversation.NO_REPLY))
    job = (session.vars.get("touch") or {}).get("job")
    with out.database.sessions() as db, db.begin():
        row = db.scalar(select(OutboundTouch).where(OutboundTouch.job_id == job))
        if row is None or row.twilio_sid != call_sid:
            return  # a returned call: the touch it continued keeps its own outcome
        row.verified, row.conversation = verified, outcome[:20]
        row.flow_version = str(session.vars.get("flow_version") or "")[:40] or None
        if not verified and outcome != Conversation.OPTED_OUT:  # opted out: answered, and never called again
            row.status, row.outcome_at = TouchState.NO_ANSWER.value, now
    log.info("outbound call %s: conversation %s (verified: %s)", call_sid, outcome, verified)
