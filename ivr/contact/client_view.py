"""What staff see of one client's follow-ups and reminders (``/staff/outbound/clients/<id>``).

Ids, states and facts about the touches only: no name and no number (a number is "number 1", the primary,
"number 2" …).  A reply's words stay sealed here; ``open_reply`` opens one, for a deliberate request that
the caller audits.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.contact.models import CallOptOut, OutboundReply, TouchState
from ivr.contact.touches import AppointmentTouches, by_appointment
from ivr.contact.undeliverable import Flag, NumberHasher, flags_of
from ivr.encryption import RecordCipher
from ivr.practice.models import Appointment, AppointmentStatus, Client, ClientPhone, SmsOptOut

# Touch states counted as each of the page's figures.
SENT = frozenset({TouchState.SENT.value, TouchState.DELIVERED.value, TouchState.ANSWERED.value,
                  TouchState.VOICEMAIL.value, TouchState.MACHINE.value, TouchState.NO_ANSWER.value,
                  TouchState.BUSY.value, TouchState.UNDELIVERED.value, TouchState.FAX.value, TouchState.QUEUED.value,
                  TouchState.MERGED.value})  # merged: the family phone's one neutral text carried it
REACHED = frozenset({TouchState.DELIVERED.value, TouchState.ANSWERED.value, TouchState.VOICEMAIL.value})


@dataclass(frozen=True)
class OptOut:
    """A number of the client's that must not get texts or calls: which number, which channel, why, since."""

    position: int
    channel: str
    source: str
    since: dt.datetime | None


@dataclass(frozen=True)
class ReplyLine:
    """A reply as listed: when, what it meant, and which touch it answered (its words are not here)."""

    id: int
    received_at: dt.datetime
    meaning: str
    touch_id: str | None


@dataclass(frozen=True)
class ClientOutbound:
    """The client page's content."""

    client_id: str
    planned: int
    sent: int
    reached: int
    confirmed: int
    next_due: dt.datetime | None
    groups: list[AppointmentTouches]
    flags: list[Flag]
    opt_outs: list[OptOut]
    replies: list[ReplyLine]
    appointment_ids: list[str]

    @property
    def active_flags(self) -> list[Flag]:
        return [f for f in self.flags if f.lifted_at is None]


def numbers_of(db: Session, client_id: str) -> list[str]:
    """The client's numbers, the primary first."""
    return list(db.scalars(select(ClientPhone.e164).where(ClientPhone.client_id == client_id)
                           .order_by(ClientPhone.position, ClientPhone.id)))


def client_outbound(db: Session, hasher: NumberHasher, client_id: str) -> ClientOutbound | None:
    """Everything the client page shows; None when there is no such client."""
    if db.get(Client, client_id) is None:
        return None
    numbers = numbers_of(db, client_id)
    groups = by_appointment(db, client_id=client_id)
    rows = [r for g in groups for r in g.rows]
    planned = [r for r in rows if r.status == TouchState.PLANNED.value]
    opt_outs: list[OptOut] = []
    for position, number in enumerate(numbers, 1):
        sms = db.get(SmsOptOut, number)
        if sms is not None and sms.opted_out:
            opt_outs.append(OptOut(position, "text", sms.keyword, sms.changed_at))
        call = db.get(CallOptOut, number)
        if call is not None:
            opt_outs.append(OptOut(position, "call", call.source, call.since))
    replies = [ReplyLine(r.id, r.received_at, r.meaning, r.touch_id) for r in db.scalars(
        select(OutboundReply).where(OutboundReply.client_id == client_id)
        .order_by(OutboundReply.received_at.desc(), OutboundReply.id.desc()))]
    appointment_ids = sorted({r.appointment_id for r in rows if r.appointment_id})
    return ClientOutbound(
        client_id=client_id, planned=len(planned), sent=sum(r.status in SENT for r in rows),
        reached=sum(r.status in REACHED for r in rows), confirmed=sum(g.confirmed for g in groups),
        next_due=min((r.due for r in planned if r.due is not None), default=None), groups=groups,
        flags=flags_of(db, hasher, numbers), opt_outs=opt_outs, replies=replies, appointment_ids=appointment_ids)


def open_reply(db: Session, cipher: RecordCipher | None, client_id: str, reply_id: int) -> str | None:
    """The words of reply ``reply_id`` of ``client_id``; None when there is no such reply of theirs.
    Raises CallRecordUnreadable when the words cannot be opened with the configured keys."""
    row = db.get(OutboundReply, reply_id)
    if row is None or row.client_id != client_id:
        return None
    if row.body_sealed is None or cipher is None:
        return ""
    return cipher.open(row.body_sealed, f"outbound_replies:{row.message_sid}".encode(), f"reply {reply_id}").decode()


ARRIVING = dt.timedelta(hours=12)  # the appointments a check-in may be for: those starting this close to now


@dataclass(frozen=True)
class Arriving:
    """One of the client's scheduled appointments starting within :data:`ARRIVING` of now."""

    appointment_id: str
    start: dt.datetime
    checked_in: bool


def _arriving_query(client_id: str, now: dt.datetime):
    return select(Appointment).where(
        Appointment.client_id == client_id, Appointment.status == AppointmentStatus.SCHEDULED.value,
        Appointment.start >= now - ARRIVING, Appointment.start <= now + ARRIVING).order_by(Appointment.start)


def arriving(db: Session, client_id: str, now: dt.datetime) -> list[Arriving]:
    """The appointments staff may mark the client checked in for (today's, scheduled), earliest first."""
    return [Arriving(a.id, a.start, bool(a.checked_in)) for a in db.scalars(_arriving_query(client_id, now))]


def check_in(db: Session, client_id: str, appointment_id: str, now: dt.datetime) -> bool:
    """Mark the client checked in for ``appointment_id`` (one of :func:`arriving`); False if it is not one.
    The commit re-plans at once (``ivr.practice.models``), and the send job's re-check skips "late" anyway."""
    found = db.scalar(_arriving_query(client_id, now).where(Appointment.id == appointment_id))
    if found is None:
        return False
    found.checked_in = True
    return True
