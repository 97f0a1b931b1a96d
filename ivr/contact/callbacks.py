"""What Twilio's callbacks about outbound touches change (the logic behind ``ivr.contact.webhooks``)."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import requests
from sqlalchemy import select
from twilio.base.exceptions import TwilioException

from ivr.contact import touches, undeliverable
from ivr.contact.facts import load_facts
from ivr.contact.models import CallOptOut, OutboundTouch, TouchState
from ivr.core.events import CallStarted
from ivr.outbound.facts import Channel
from ivr.outbound.lint import WordKind
from ivr.outbound.wording import render
from ivr.telephony import twilio_rest, twiml

log = logging.getLogger(__name__)

MESSAGE_STATES = {"sent": TouchState.SENT, "delivered": TouchState.DELIVERED,
                  "undelivered": TouchState.UNDELIVERED, "failed": TouchState.FAILED}
CALL_END_STATES = {"busy": TouchState.BUSY, "no-answer": TouchState.NO_ANSWER, "failed": TouchState.FAILED,
                   "canceled": TouchState.FAILED}
MACHINE = ("machine_end_beep", "machine_end_silence", "machine_end_other")
PERSON = ("human", "unknown")


def _seconds(value: str | None) -> int | None:
    try:
        return max(0, int(value or ""))
    except ValueError:
        return None


def flag_if_permanent(ql: Any, row: OutboundTouch, code: str | None) -> None:
    """A permanent error code on ``row``: its number is flagged undeliverable on the row's channel and the
    number's pending touches there are cancelled (``ivr.contact.undeliverable``); nothing for any other code."""
    if not undeliverable.is_permanent(code) or not row.to_e164 or row.channel == Channel.STAFF_TASK.value:
        return
    with ql.database.sessions() as db, db.begin():
        cancelled = undeliverable.flag(db, ql.outbound.hasher, row.to_e164, Channel(row.channel), str(code).strip(),
                                       ql.clock(), client_id=row.client_id, touch_job_id=row.job_id)
    for job_id in cancelled:
        ql.jobs.cancel(job_id)
    log.warning("touch %s: Twilio error %s is permanent; the number is flagged undeliverable by %s",
                row.job_id, code, row.channel)


def message_status(ql: Any, sid: str, status: str, error_code: str | None) -> None:
    """Record a text's delivery status; one that reached nobody re-plans at once (the next channel), and a
    permanent error code flags the number for texts."""
    state = MESSAGE_STATES.get(status)
    if state is None or not sid:
        return
    row = touches.record_outcome(ql.database.sessions, sid, state, ql.clock(), error_code=error_code)
    if row is not None and state in (TouchState.UNDELIVERED, TouchState.FAILED) and row.status == state.value:
        # Only when it is the text's outcome: "delivered" is final, and a late, out-of-order "undelivered" after
        # it neither flags the number nor re-plans (the next reminder stays).
        flag_if_permanent(ql, row, error_code)
        ql.outbound.plan_soon()


def call_status(ql: Any, sid: str, status: str, duration: str | None, answered_by: str | None,
                error_code: str | None = None) -> None:
    """Record an outbound call's end: answered (by whom), busy, no answer, failed (a permanent ``ErrorCode``
    flags the number for calls)."""
    if not sid:
        return
    if status == "completed":
        state = TouchState.ANSWERED
        if answered_by in MACHINE:
            state = TouchState.MACHINE
        elif answered_by == "fax":
            state = TouchState.FAX
        row = touches.record_outcome(ql.database.sessions, sid, state, ql.clock(), answered_by=answered_by,
                                     duration=_seconds(duration))
        if row is not None and state is TouchState.ANSWERED:
            # The conversation's outcome (verified or not), then the call's own end (its promises kept).
            ql.outbound.call_over(ql.call_store.load(sid), sid)
            ql.calls.end(sid, status)
    elif status in CALL_END_STATES:
        row = touches.record_outcome(ql.database.sessions, sid, CALL_END_STATES[status], ql.clock(),
                                     duration=_seconds(duration), error_code=error_code)
        if row is not None and status == "failed":
            flag_if_permanent(ql, row, error_code)
    else:
        return  # initiated, ringing, in-progress: nothing to record
    if row is not None:
        ql.outbound.plan_soon()


# A call still ``queued`` this long after it was placed has lost its status callback, or Twilio lost the call:
# the sweeper (every planning pass) asks Twilio.  Longer than Twilio's ring timeout and any answering machine.
STALE_CALL = dt.timedelta(minutes=15)
UNKNOWN_CALL = "20404"  # Twilio's "resource not found": the error code recorded on a call Twilio does not know
_STILL_GOING = ("queued", "initiated", "ringing", "in-progress")


def sweep_stale_calls(ql: Any, now: dt.datetime, *, older_than: dt.timedelta = STALE_CALL) -> int:
    """Outbound calls whose status callback never came (still ``queued`` ``older_than`` after they were placed):
    their real outcome from ``Calls(sid).fetch()``, recorded as the callback would have (answered, busy, no
    answer, failed…).  A call Twilio does not know is recorded ``failed`` (``20404``), so the planner makes the
    rules' next attempt, once.  A call still going is left alone.  Returns how many were settled."""
    with ql.database.sessions() as db:
        stale = list(db.execute(select(OutboundTouch.twilio_sid, OutboundTouch.job_id).where(
            OutboundTouch.channel == Channel.CALL.value, OutboundTouch.status == TouchState.QUEUED.value,
            OutboundTouch.twilio_sid.is_not(None), OutboundTouch.attempted_at < now - older_than)))
    if not stale:
        return 0
    client = twilio_rest.make_client(ql.settings)
    settled = 0
    for sid, job_id in stale:
        try:
            found = twilio_rest.call_outcome(client, sid)
        except (requests.RequestException, TwilioException):
            log.warning("touch %s: Twilio could not be asked about its call; the next sweep asks again", job_id)
            continue
        if found is None:
            row = touches.record_outcome(ql.database.sessions, sid, TouchState.FAILED, now, error_code=UNKNOWN_CALL)
            log.warning("touch %s: Twilio does not know its call; recorded failed", job_id)
            if row is not None:
                ql.outbound.plan_soon()
                settled += 1
            continue
        if found.status in _STILL_GOING:
            continue
        call_status(ql, sid, found.status, found.duration, found.answered_by)
        log.info("touch %s: its status callback never came; Twilio says %s", job_id, found.status)
        settled += 1
    return settled


def _touch_and_facts(ql: Any, sid: str):
    with ql.database.sessions() as db:
        row = db.scalar(select(OutboundTouch).where(OutboundTouch.twilio_sid == sid,
                                                    OutboundTouch.channel == Channel.CALL.value))
        if row is None:
            return None, None
        facts = load_facts(db, clients=[row.client_id])
    return row, facts


def amd_result(ql: Any, sid: str, answered_by: str) -> None:
    """AMD's answer: a person goes on with the call; a machine gets the neutral voicemail only with consent
    (else the call ends); a fax ends the call and the number is never called again."""
    if not sid or not answered_by:
        return
    now = ql.clock()
    if answered_by in PERSON:
        touches.record_outcome(ql.database.sessions, sid, TouchState.ANSWERED, now, answered_by=answered_by)
        return
    row, facts = _touch_and_facts(ql, sid)
    if row is None:
        return
    client = twilio_rest.make_client(ql.settings)
    if answered_by == "fax":
        touches.record_outcome(ql.database.sessions, sid, TouchState.FAX, now, answered_by=answered_by)
        with ql.database.sessions() as db, db.begin():
            if row.to_e164 and db.get(CallOptOut, row.to_e164) is None:
                db.add(CallOptOut(e164=row.to_e164, source="fax", since=now))
        client.calls(sid).update(status="completed")
        return
    if answered_by not in MACHINE:
        return
    rules = ql.outbound.rules()
    person = next((c for c in facts.clients if c.id == row.client_id), None)
    if rules is None or person is None or not person.may_voicemail or not row.from_e164:
        touches.record_outcome(ql.database.sessions, sid, TouchState.MACHINE, now, answered_by=answered_by)
        client.calls(sid).update(status="completed")
        return
    touch = touches.touch_of(row)
    appt = next((a for a in facts.appointments if a.id == row.appointment_id), None)
    words = render(touch, WordKind.VOICEMAIL, rules=rules, client=person, appointment=appt,
                   callback_number=row.from_e164, now=now)
    practice = ql.flows.last_good.practice if ql.flows.last_good is not None else None
    client.calls(sid).update(twiml=twiml.say_then_hangup(
        [words], getattr(practice, "voice", None), getattr(practice, "language", None)))
    touches.record_outcome(ql.database.sessions, sid, TouchState.VOICEMAIL, now, answered_by=answered_by)


def answer(ql: Any, sid: str, job_id: str, to: str | None, turn: int) -> str:
    """The old answer URL (``/twilio/outbound/answer?touch=``) of calls placed before the conversation moved to
    the voice webhook: the same conversation (flows/follow_up_call.yaml)."""
    start = ql.outbound.call_start(touch=job_id, call_sid=sid, to=None, from_=None)
    if start is None or not start.flow:
        return twiml.hangup()
    return ql.calls.handle(sid, to, turn, CallStarted(), start)
