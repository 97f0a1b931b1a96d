"""The planner's input (``ivr.outbound.facts.PracticeFacts``) built from the database.

One read of the tables the planner needs: clients with their numbers (a number on several clients
is ``shared``), appointments as they are now, every recorded touch, replies, correction requests,
the last two-way contact (completed sessions, replies, answered calls, inbound calls) and the
opt-outs.  ``clients`` narrows it to some client ids (the send job re-checks one client).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any

from sqlalchemy import BindParameter, Executable, bindparam, func, select
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session

from ivr.contact.models import (
    CallOptOut,
    CorrectionRequestRow,
    OutboundReply,
    OutboundTouch,
    ReplyMeaning,
    TouchState,
)
from ivr.contact.undeliverable import NumberHasher, flagged
from ivr.escalations.models import Escalation
from ivr.outbound.facts import (
    AppointmentFacts,
    AppointmentStatus,
    Channel,
    ClientFacts,
    CorrectionRequest,
    Outcome,
    PastTouch,
    Phone,
    PracticeFacts,
    Reply,
)
from ivr.practice.models import Appointment, Client, ClientPhone, Clinician, SmsOptOut

# Row states → the planner's outcomes (``planned`` rows are not past touches: the planner plans them again).
_OUTCOMES = {
    TouchState.QUEUED.value: Outcome.QUEUED, TouchState.SENT.value: Outcome.SENT,
    TouchState.DELIVERED.value: Outcome.DELIVERED, TouchState.UNDELIVERED.value: Outcome.UNDELIVERED,
    TouchState.FAILED.value: Outcome.FAILED, TouchState.ANSWERED.value: Outcome.ANSWERED,
    TouchState.VOICEMAIL.value: Outcome.VOICEMAIL, TouchState.MACHINE.value: Outcome.MACHINE,
    TouchState.NO_ANSWER.value: Outcome.NO_ANSWER, TouchState.BUSY.value: Outcome.BUSY,
    TouchState.FAX.value: Outcome.FAX, TouchState.SKIPPED.value: Outcome.SKIPPED,
    TouchState.CANCELLED.value: Outcome.CANCELLED, TouchState.DONE.value: Outcome.SENT,
    TouchState.MERGED.value: Outcome.SENT,  # the family phone's one neutral message carried it
}


CONVERSATION = (ReplyMeaning.CONFIRM.value, ReplyMeaning.CHANGE.value, ReplyMeaning.OTHER.value,
                ReplyMeaning.CRISIS.value, ReplyMeaning.UNSURE.value)


def outcome_of(status: str) -> Outcome | None:
    """The planner's outcome for a row's status; None for ``planned``."""
    return _OUTCOMES.get(status)


def _chunks(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


# In the order load_facts unpacks them; the change time coalesced in SQL (one datetime to convert, not two).
_APPOINTMENT_COLUMNS = (Appointment.id, Appointment.client_id, Appointment.start, Appointment.end,
                        Appointment.status, Appointment.version,
                        func.coalesce(Appointment.changed_at, Appointment.updated_at).label("changed"),
                        Appointment.checked_in, Appointment.joined, Appointment.changed_by_client,
                        Appointment.replaced_by)


def _statements(narrowed: bool) -> dict[str, Executable]:
    """Every statement load_facts runs, built once (building them cost more than running them for one client, in
    the send job's re-check): ``:wanted`` the client ids when ``narrowed``, ``:since``, ``:ids``, ``:numbers``."""
    def only(column: Any, query: Any) -> Any:
        return query.where(column.in_(bindparam("wanted", expanding=True))) if narrowed else query

    since: BindParameter = bindparam("since")  # typed by what it is compared with (UTCDateTime)
    changed = func.coalesce(Appointment.changed_at, Appointment.updated_at)
    # Clients with an appointment that began before the window but ends or changed inside it.
    straddling = only(Appointment.client_id, select(Appointment.client_id, func.min(Appointment.start).label("first"))
                      .where(Appointment.start < since, (Appointment.end >= since) | (changed >= since))
                      .group_by(Appointment.client_id)).subquery()
    shared = select(ClientPhone.e164).group_by(ClientPhone.e164).having(
        func.count(ClientPhone.client_id.distinct()) > 1)
    numbers: BindParameter = bindparam("numbers", expanding=True)
    return {
        "clients": only(Client.id, select(Client.id, Client.first_name, Client.time_zone, Client.may_call,
                                          Client.may_voicemail, Client.may_text)),
        "phones": only(ClientPhone.client_id, select(ClientPhone.client_id, ClientPhone.e164)
                       .order_by(ClientPhone.client_id, ClientPhone.position, ClientPhone.id)),
        # Shared: on more than one client (looked up across every client, not just the ones asked for).
        "shared": shared.where(ClientPhone.e164.in_(numbers)) if narrowed else shared,
        "corrections": only(CorrectionRequestRow.client_id, select(
            CorrectionRequestRow.id, CorrectionRequestRow.client_id, CorrectionRequestRow.raised_at,
            CorrectionRequestRow.appointment_id)),
        "appointments": only(Appointment.client_id, select(*_APPOINTMENT_COLUMNS)),
        "appointments since": only(Appointment.client_id, select(*_APPOINTMENT_COLUMNS)
                                   .where(Appointment.start >= since)),
        "appointments straddling": select(*_APPOINTMENT_COLUMNS)
        .join(straddling, straddling.c.client_id == Appointment.client_id)
        .where(Appointment.start >= straddling.c.first, Appointment.start < since),
        "replaced": only(Appointment.client_id, select(Appointment.id, Appointment.replaced_by)
                         .where(Appointment.replaced_by.is_not(None))),
        "appointments by id": select(*_APPOINTMENT_COLUMNS).where(
            Appointment.id.in_(bindparam("ids", expanding=True))),
        "touches": only(OutboundTouch.client_id, select(
            OutboundTouch.touch_id, OutboundTouch.client_id, OutboundTouch.channel, OutboundTouch.status,
            func.coalesce(OutboundTouch.attempted_at, OutboundTouch.outcome_at, OutboundTouch.due,
                          OutboundTouch.created_at).label("at"),
            OutboundTouch.about_start, OutboundTouch.to_e164).where(
                # Planned and cancelled touches never happened: the planner decides them afresh (a START
                # after a STOP plans the reminders still to come again).
                OutboundTouch.status.not_in((TouchState.PLANNED.value, TouchState.CANCELLED.value)))),
        "replies": only(OutboundReply.client_id, select(OutboundReply.client_id, OutboundReply.received_at)
                        .where(OutboundReply.client_id.is_not(None),
                               # STOP, START and HELP are keywords to the carrier, not a conversation with us.
                               OutboundReply.meaning.in_(CONVERSATION))),
        # A verified inbound call (an escalation knows its client) is two-way contact too.
        "escalations": only(Escalation.client_id, select(Escalation.client_id, func.max(Escalation.created_at))
                            .where(Escalation.client_id.is_not(None)).group_by(Escalation.client_id)),
        "text opt-outs": select(SmsOptOut.e164).where(SmsOptOut.opted_out.is_(True), *(
            [SmsOptOut.e164.in_(numbers)] if narrowed else [])),
        "call opt-outs": select(CallOptOut.e164).where(*([CallOptOut.e164.in_(numbers)] if narrowed else [])),
    }


_STATEMENTS = {narrowed: _statements(narrowed) for narrowed in (False, True)}


def _appointment_rows(run: Callable[..., Result], since: dt.datetime | None, corrected: Iterable[str]) -> list:
    """Core rows of the appointments the planner reads: all of them, or (``since``) each client's from the first
    that starts, ends or changed at or after ``since``, plus the appointments those replaced (their lineage)
    and the ones correction requests name (``ivr.outbound.planner.reach_back`` says why that plans the same)."""
    if since is None:
        return list(run("appointments"))
    rows = list(run("appointments since", since=since))
    # Clients with an appointment that began before the window but ends or changed inside it: everything
    # of theirs from that one on (the planner compares appointments in order of their start).
    rows += run("appointments straddling", since=since).all()
    loaded = {row.id for row in rows}
    # The appointments a loaded one replaced when it was moved, back along the chain (the planner's lineage).
    replaced = {new_id: old_id for old_id, new_id in run("replaced")}
    wanted = set(corrected) - loaded
    for appt_id in list(loaded):
        while appt_id in replaced and replaced[appt_id] not in loaded and replaced[appt_id] not in wanted:
            appt_id = replaced[appt_id]
            wanted.add(appt_id)
    for chunk in _chunks(sorted(wanted)):
        rows += run("appointments by id", ids=chunk).all()
    return rows


def load_facts(db: Session, *, clients: Iterable[str] | None = None, since: dt.datetime | None = None,
               hasher: NumberHasher | None = None) -> PracticeFacts:
    """Everything :func:`ivr.outbound.planner.plan` reads, as the database has it now.

    ``since`` (``ivr.outbound.planner.reach_back`` of the rules and the pass): read only the appointments a
    pass can still act on; None: every appointment.  Touches, replies and the rest are always read whole.

    With ``hasher``, a number flagged undeliverable on a channel (``ivr.contact.undeliverable``) is closed on
    that channel as an opt-out is, so the planner takes the other channel where the rules allow.
    """
    wanted = list(dict.fromkeys(clients)) if clients is not None else None
    conn = db.connection()  # Core statements on the session's connection: rows, never ORM objects
    statements = _STATEMENTS[wanted is not None]

    def run(name: str, **params: Any) -> Result:
        if wanted is not None:
            params["wanted"] = wanted
        return conn.execute(statements[name], params)

    client_rows = run("clients").all()
    phones: dict[str, list[str]] = defaultdict(list)
    for client_id, e164 in run("phones"):
        phones[client_id].append(e164)
    numbers = sorted({n for ns in phones.values() for n in ns})
    shared: set[str] = set()
    for chunk in (_chunks(numbers) if wanted is not None else [[]]):
        shared.update(run("shared", numbers=chunk).scalars())
    facts_clients = tuple(
        ClientFacts(id=row.id, first_name=row.first_name, phones=tuple(Phone(n, n in shared) for n in phones[row.id]),
                    time_zone=row.time_zone or None, may_call=bool(row.may_call), may_voicemail=bool(row.may_voicemail),
                    may_text=bool(row.may_text))
        for row in client_rows)

    correction_rows = run("corrections").all()
    corrections = tuple(CorrectionRequest(str(row.id), row.client_id, row.raised_at, row.appointment_id)
                        for row in correction_rows)
    appt_rows = _appointment_rows(run, since, (r.appointment_id for r in correction_rows if r.appointment_id))
    replaces = {row.replaced_by: row.id for row in appt_rows if row.replaced_by}
    status = {s.value: s for s in AppointmentStatus}  # a dict look-up: the enum's call is slower, 50,000 times
    appointments = tuple(  # rows unpacked as tuples: faster than their attributes, 50,000 times
        AppointmentFacts(appt_id, client_id, start, end, status.get(state) or AppointmentStatus(state), version or 1,
                         changed, bool(checked_in), bool(joined), replaces.get(appt_id), bool(by_client))
        for appt_id, client_id, start, end, state, version, changed, checked_in, joined, by_client, _ in appt_rows)

    past: list[PastTouch] = []
    answered: dict[str, dt.datetime] = {}
    channels = {c.value: c for c in Channel}
    for touch_id, client_id, channel, state, at, about_start, to in run("touches").all():
        outcome = outcome_of(state)
        if outcome is None:
            continue
        past.append(PastTouch(touch_id, client_id, channels.get(channel) or Channel(channel), at, outcome, about_start,
                              to))
        if outcome is Outcome.ANSWERED:
            answered[client_id] = max(at, answered.get(client_id, at))

    replies = tuple(Reply(client_id, at) for client_id, at in run("replies"))
    last: dict[str, dt.datetime] = dict(answered)
    for reply in replies:
        last[reply.client_id] = max(reply.at, last.get(reply.client_id, reply.at))
    for client_id, at in run("escalations"):
        last[client_id] = max(at, last.get(client_id, at))

    text_out: set[str] = set()
    call_out: set[str] = set()
    # Every client: every opt-out (two reads); some: those of their numbers, in chunks.
    for chunk in (_chunks(numbers) if wanted is not None else [[]]):
        text_out.update(run("text opt-outs", numbers=chunk).scalars())
        call_out.update(run("call opt-outs", numbers=chunk).scalars())
    text_flagged: set[str] = set()
    call_flagged: set[str] = set()
    if hasher is not None and numbers:
        closed = flagged(db, hasher, numbers)
        text_flagged, call_flagged = closed[Channel.TEXT.value] - text_out, closed[Channel.CALL.value] - call_out
        text_out |= closed[Channel.TEXT.value]
        call_out |= closed[Channel.CALL.value]
    known = set(numbers)
    return PracticeFacts(clients=facts_clients, appointments=appointments, past_touches=tuple(past), replies=replies,
                         corrections=corrections, last_contact=MappingProxyType(last),
                         text_opt_outs=frozenset(text_out & known), call_opt_outs=frozenset(call_out & known),
                         text_undeliverable=frozenset(text_flagged & known),
                         call_undeliverable=frozenset(call_flagged & known))


def clinician_names(db: Session) -> tuple[str, ...]:
    """Every clinician's name, for the discretion lint (``check_outbound(clinician_names=…)``)."""
    return tuple(db.scalars(select(Clinician.name)))
