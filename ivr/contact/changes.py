"""A client asked by text to change an appointment: the correction call that follows, and staff when it fails.

``ivr.contact.replies`` answers a "change" reply with a correction request (``correction_requests``,
``raised_by`` NULL: raised by the reply), which the planner turns into the ``correction`` follow-up call.
When that call cannot be placed (skipped or cancelled for want of a usable number or consent, refused by
Twilio) or reaches nobody (no answer, busy, failed, a machine, a fax), staff get one ``change_request`` task
for the request: the client is waiting for a new time and only a person can give it now.  An answered call
raises nothing (the call itself handles the change).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.contact.models import CorrectionRequestRow, OutboundTouch, TouchState
from ivr.contact.undeliverable import WHY as UNDELIVERABLE
from ivr.escalations.models import Escalation
from ivr.outbound.facts import Channel
from ivr.outbound.planner import SkipReason, TouchKind, make_id
from ivr.outbound.rules import Trigger

CHANGE_REQUEST = "change_request"  # the escalation's reason (ivr.core.escalation_policy: reschedule_failed)
# How long after the reply a failed correction call still raises the task.
WINDOW = dt.timedelta(days=14)
REACHED_NOBODY = frozenset({TouchState.FAILED.value, TouchState.NO_ANSWER.value, TouchState.BUSY.value,
                            TouchState.MACHINE.value, TouchState.VOICEMAIL.value, TouchState.FAX.value,
                            TouchState.UNDELIVERED.value})
# Held by the per-client limits (daily_cap, weekly_cap, call_cap) is not here: the planner already gave staff a
# ``held_by_limit`` task naming the correction and the appointment, at once; a second task would repeat it.
NOT_PLACED = frozenset({SkipReason.OPTED_OUT.value, SkipReason.NO_NUMBER.value, SkipReason.NO_CONSENT.value,
                        SkipReason.LATE.value, SkipReason.QUIET_HOURS.value, UNDELIVERABLE})
_RULE = f"follow_ups.{Trigger.CORRECTION.value}"


def task_key(request_id: int) -> str:
    """The escalation's key (``escalations.call_sid``) for correction request ``request_id``: one task per request."""
    return f"change-{request_id}"


@dataclass(frozen=True)
class Unreached:
    """A change request whose correction call failed: the task to raise."""

    key: str
    client_id: str
    appointment_id: str | None
    outcome: str  # the touch's status, or why it was not placed


def _prefix(request: CorrectionRequestRow) -> str:
    return "/".join(make_id(request.client_id, _RULE, f"c:{request.id}", None, 1, Channel.CALL).split("/")[:3]) + "/"


def unreached(db: Session, now: dt.datetime) -> list[Unreached]:
    """Change requests (raised by a reply in the last ``WINDOW``) whose correction call could not be placed or
    reached nobody, nobody answered it, and staff have no task for yet."""
    requests = list(db.scalars(select(CorrectionRequestRow).where(
        CorrectionRequestRow.raised_by.is_(None), CorrectionRequestRow.raised_at >= now - WINDOW)
        .order_by(CorrectionRequestRow.id)))
    if not requests:
        return []
    keys = {task_key(r.id) for r in requests}
    done = set(db.scalars(select(Escalation.call_sid).where(Escalation.call_sid.in_(keys),
                                                            Escalation.reason == CHANGE_REQUEST)))
    requests = [r for r in requests if task_key(r.id) not in done]
    clients = sorted({r.client_id for r in requests})
    touches = list(db.execute(select(OutboundTouch.touch_id, OutboundTouch.status, OutboundTouch.why_skipped,
                                     OutboundTouch.channel).where(
        OutboundTouch.client_id.in_(clients), OutboundTouch.kind == TouchKind.FOLLOW_UP.value,
        OutboundTouch.rule == Trigger.CORRECTION.value).order_by(OutboundTouch.id))) if clients else []
    out = []
    for request in requests:
        prefix = _prefix(request)
        mine = [t for t in touches if t.touch_id.startswith(prefix) and t.channel != Channel.STAFF_TASK.value]
        if any(t.status == TouchState.ANSWERED.value for t in mine):
            continue
        failed = next((t.status for t in mine if t.status in REACHED_NOBODY), None) or next(
            (t.why_skipped for t in mine if t.status in (TouchState.SKIPPED.value, TouchState.CANCELLED.value)
             and t.why_skipped in NOT_PLACED), None)
        if failed is not None:
            out.append(Unreached(task_key(request.id), request.client_id, request.appointment_id, failed))
    return out
