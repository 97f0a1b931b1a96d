"""The ``outbound_touches`` rows: recording a planning pass, claiming a touch to send it, recording outcomes.

Every write is keyed by the touch's deterministic id (``ivr.outbound.planner.Touch.id``, unique in the
table), so a second planning pass, a retried job or a worker killed half-way inserts and sends nothing twice:

* ``record_plan`` inserts new planned and skipped touches (``INSERT … ON CONFLICT DO NOTHING``), moves the
  ``due`` of a planned one the planner moved, and cancels planned ones the plan no longer holds;
* ``claim`` moves one row from ``planned`` to ``queued`` and commits **before** Twilio is called: that
  commit is the idempotency record a retry finds;
* ``record_outcome`` stores what Twilio's callbacks said.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from ivr.contact.models import OutboundTouch, TouchState
from ivr.outbound.facts import Channel
from ivr.outbound.planner import SkipReason, Touch, TouchKind, TouchStatus, is_held_task
from ivr.practice.models import Appointment, AppointmentStatus, ChangeKind, PracticeChange

# Not yet handed to Twilio: what the plan may still move or cancel.
OPEN = (TouchState.PLANNED.value,)


@dataclass
class PlanRecord:
    """What one planning pass changed: rows to (re)schedule as (row id, job id, due), and counts."""

    schedule: list[tuple[int, str, dt.datetime]] = field(default_factory=list)
    cancelled_jobs: list[str] = field(default_factory=list)
    inserted: int = 0
    skipped: int = 0
    moved: int = 0


def _values(touch: Touch, rules_version: str, now: dt.datetime) -> dict:
    skipped = touch.status is TouchStatus.SKIPPED
    return dict(
        touch_id=touch.id, job_id=touch.job_id, client_id=touch.client_id, appointment_id=touch.appointment_id,
        appointment_version=touch.appointment_version, kind=touch.kind.value, rule=touch.name, attempt=touch.attempt,
        channel=touch.channel.value,
        status=TouchState.PLANNED.value if touch.status is TouchStatus.PLANNED else TouchState.SKIPPED.value,
        why_skipped=touch.why_skipped.value if touch.why_skipped else None, due=touch.due,
        window_end=touch.window_end, about_start=touch.about_start, words=touch.words, task=touch.task,
        to_e164=touch.to, neutral=touch.neutral, rules_version=rules_version,
        outcome_at=now if skipped else None,  # when it was decided (the pass's clock, not the database's)
    )


def _insert_ignoring_duplicates(db: Session, rows: Sequence[dict]) -> int:
    """Insert rows whose touch_id is new; a row another pass inserted meanwhile is left as it is."""
    if not rows:
        return 0
    dialect = db.get_bind().dialect.name
    table = OutboundTouch.__table__
    stmt = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)).on_conflict_do_nothing()
    inserted = 0
    for i in range(0, len(rows), 500):
        inserted += db.execute(stmt, list(rows[i:i + 500])).rowcount or 0
    return inserted


def _chunks(items: Sequence, size: int = 500) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def record_plan(db_sessions: sessionmaker[Session], touches: Iterable[Touch], rules_version: str,
                now: dt.datetime, *, clients: Iterable[str] | None = None,
                why_gone: Callable[[Sequence[Touch]], Mapping[str, SkipReason | None]] | None = None,
                waits: Callable[[Sequence[int]], Mapping[int, dt.datetime]] | None = None) -> PlanRecord:
    """Make the table agree with a plan (``ivr.outbound.planner.plan``); returns what to schedule.

    ``clients``: the pass covered only those clients (only their planned rows may be cancelled).
    ``why_gone``: why planned touches the plan no longer holds are gone (checked in, moved…), for the record:
    given them all at once, returns touch id → reason (None or missing: not planned any more).
    ``waits``: row ids → the instant each waits for (a shared number's next day, ``ContactService.defer``), for the
    rows the plan would move earlier: such a row keeps its ``due`` (the waited-for instant), not "now" every pass.

    The table is compared in bulk: one read of the open rows and of the rows the plan names (by their unique
    touch id, in chunks), never the whole history, and the moves and cancellations written as executemany.
    """
    out = PlanRecord()
    touches = list(touches)
    wanted = {t.id: t for t in touches}
    scope = set(clients) if clients is not None else None
    table = OutboundTouch.__table__
    columns = (OutboundTouch.id, OutboundTouch.touch_id, OutboundTouch.job_id, OutboundTouch.status,
               OutboundTouch.due, OutboundTouch.client_id, OutboundTouch.to_e164, OutboundTouch.neutral)
    with db_sessions() as db, db.begin():
        existing = {row.touch_id: row for row in db.execute(select(*columns).where(OutboundTouch.status.in_(OPEN)))}
        for chunk in _chunks([i for i in wanted if i not in existing]):
            existing.update((row.touch_id, row) for row in db.execute(
                select(*columns).where(OutboundTouch.touch_id.in_(chunk))))
        in_scope = sorted((row for row in existing.values() if scope is None or row.client_id in scope),
                          key=lambda row: row.id)
        # A staff task for a touch the limits held back is a final decision: a later plan never takes it away.
        gone_ids = [row.id for row in in_scope if row.status in OPEN and row.touch_id not in wanted
                    and not is_held_task(row.touch_id)]
        reasons: Mapping[str, SkipReason | None] = {}
        if gone_ids and why_gone is not None:
            gone = [touch_of(row) for chunk in _chunks(gone_ids)
                    for row in db.scalars(select(OutboundTouch).where(OutboundTouch.id.in_(chunk)))]
            reasons = why_gone(gone)
        new = [_values(t, rules_version, now) for t in touches if t.id not in existing]
        out.inserted = _insert_ignoring_duplicates(db, new)
        out.skipped = sum(1 for t in touches if t.id not in existing and t.status is TouchStatus.SKIPPED)
        ended: list[dict] = []
        moved: list[dict] = []
        for row in in_scope:
            touch = wanted.get(row.touch_id)
            if (row.status == TouchState.CANCELLED.value and touch is not None
                    and touch.status is TouchStatus.PLANNED):
                # Planned again (START after a STOP, a rule turned back on): a cancelled touch was never made.
                db.execute(update(OutboundTouch).where(OutboundTouch.id == row.id,
                                                       OutboundTouch.status == TouchState.CANCELLED.value)
                           .values(status=TouchState.PLANNED.value, why_skipped=None, due=touch.due,
                                   outcome_at=None, to_e164=touch.to, neutral=touch.neutral))
                continue
            if row.status not in OPEN or (touch is None and is_held_task(row.touch_id)):
                continue
            if touch is None or touch.status is TouchStatus.SKIPPED:
                # Re-planned away (moved, cancelled, replied, opted out, rules changed): never sent.
                reason = touch.why_skipped if touch is not None else reasons.get(row.touch_id)
                ended.append({"row_id": row.id, "new_status": TouchState.CANCELLED.value if touch is None
                              else TouchState.SKIPPED.value, "why": (reason or SkipReason.NOT_PLANNED).value})
                out.cancelled_jobs.append(row.job_id)
            elif touch.due is not None and (row.due != touch.due or row.to_e164 != touch.to
                                            or bool(row.neutral) != touch.neutral):
                # A new time, or another number (the one it had opted out: the client's next allowed number).
                moved.append({"row_id": row.id, "new_due": touch.due, "new_to": touch.to,
                              "new_neutral": touch.neutral})
        if moved and waits is not None:
            waiting = waits([m["row_id"] for m in moved])
            moved = [m for m in moved if m["row_id"] not in waiting or m["new_due"] > waiting[m["row_id"]]]
        connection = db.connection()
        if ended:
            connection.execute(update(table).where(table.c.id == bindparam("row_id"),
                                                 table.c.status == TouchState.PLANNED.value)  # OPEN
                               .values(status=bindparam("new_status"), why_skipped=bindparam("why"),
                                       outcome_at=now), ended)
        if moved:
            connection.execute(update(table).where(table.c.id == bindparam("row_id"))
                               .values(due=bindparam("new_due"), to_e164=bindparam("new_to"),
                                       neutral=bindparam("new_neutral")), moved)
        out.moved = len(moved)
        rows = db.execute(select(OutboundTouch.id, OutboundTouch.job_id, OutboundTouch.due, OutboundTouch.touch_id)
                          .where(OutboundTouch.status == TouchState.PLANNED.value)).all()
    for row in rows:
        if (row.touch_id in wanted or is_held_task(row.touch_id)) and row.due is not None:
            out.schedule.append((row.id, row.job_id, row.due))
    return out


def touch_of(row: OutboundTouch) -> Touch:
    """The planner's Touch a row was recorded from (what ``recheck`` compares with the plan of now)."""
    return Touch(id=row.touch_id, client_id=row.client_id, kind=TouchKind(row.kind), name=row.rule,
                 appointment_id=row.appointment_id, appointment_version=row.appointment_version,
                 attempt=row.attempt, channel=Channel(row.channel), status=TouchStatus.PLANNED, due=row.due,
                 window_end=row.window_end, to=row.to_e164, words=row.words, neutral=row.neutral,
                 about_start=row.about_start, task=row.task)


@dataclass(frozen=True)
class Claimed:
    """A touch claimed for sending (``queued``): what the sender needs, read inside the claim."""

    row_id: int
    touch: Touch
    to: str | None
    from_: str | None
    attempted_at: dt.datetime
    words_version: str | None
    recovering: bool = False  # a dead worker left it queued without a SID: look at Twilio first


def load(db_sessions: sessionmaker[Session], row_id: int) -> OutboundTouch | None:
    with db_sessions() as db:
        return db.get(OutboundTouch, row_id)


def skip(db_sessions: sessionmaker[Session], row_id: int, why: SkipReason | str, now: dt.datetime) -> bool:
    """A planned touch will not be made (re-checked at sending time): record why.  False if it was not planned."""
    with db_sessions() as db, db.begin():
        done = db.execute(update(OutboundTouch)
                          .where(OutboundTouch.id == row_id, OutboundTouch.status.in_(OPEN))
                          .values(status=TouchState.SKIPPED.value, why_skipped=str(getattr(why, "value", why)),
                                  outcome_at=now))
    return bool(done.rowcount)


def claim(db_sessions: sessionmaker[Session], row_id: int, *, to: str | None, from_: str | None, now: dt.datetime,
          neutral: bool, words_version: str | None, rules_version: str) -> bool:
    """Move a planned row to ``queued`` and commit (before Twilio is called).  False if another got it first."""
    with db_sessions() as db, db.begin():
        moved = db.execute(update(OutboundTouch)
                           .where(OutboundTouch.id == row_id, OutboundTouch.status == TouchState.PLANNED.value)
                           .values(status=TouchState.QUEUED.value, attempted_at=now, to_e164=to, from_e164=from_,
                                   neutral=neutral, words_version=words_version, rules_version=rules_version))
    return moved.rowcount == 1


def record_sid(db_sessions: sessionmaker[Session], row_id: int, sid: str, status: TouchState) -> None:
    """Twilio took it: its SID, and ``sent`` for a text (a call stays ``queued`` until its callbacks)."""
    with db_sessions() as db, db.begin():
        db.execute(update(OutboundTouch).where(OutboundTouch.id == row_id)
                   .values(twilio_sid=sid, status=status.value))


def record_failure(db_sessions: sessionmaker[Session], row_id: int, code: str | None, now: dt.datetime) -> None:
    """Twilio refused it for good: ``failed`` with its error code (the planner moves to the next attempt)."""
    with db_sessions() as db, db.begin():
        db.execute(update(OutboundTouch).where(OutboundTouch.id == row_id)
                   .values(status=TouchState.FAILED.value, error_code=code, outcome_at=now))


def unclaim(db_sessions: sessionmaker[Session], row_id: int) -> None:
    """Nothing reached Twilio (a refusal that may pass): planned again, for the retry."""
    with db_sessions() as db, db.begin():
        db.execute(update(OutboundTouch)
                   .where(OutboundTouch.id == row_id, OutboundTouch.status == TouchState.QUEUED.value,
                          OutboundTouch.twilio_sid.is_(None))
                   .values(status=TouchState.PLANNED.value, attempted_at=None))


# Outcomes a later callback must not overwrite with a vaguer one (a completed call after its AMD result).
_FINAL = {TouchState.ANSWERED.value, TouchState.VOICEMAIL.value, TouchState.MACHINE.value, TouchState.FAX.value,
          TouchState.DELIVERED.value, TouchState.UNDELIVERED.value}


def _repeat(row: OutboundTouch, state: TouchState, answered_by: str | None, duration: int | None,
            error_code: str | None) -> bool:
    """Whether a callback says exactly what the row already holds from an earlier one (Twilio retries callbacks):
    the same status, code, AnsweredBy and duration."""
    return (row.outcome_at is not None and row.status == state.value
            and (row.error_code or None) == ((error_code or "")[:20] or None)
            and (answered_by or None) in (None, row.answered_by)
            and (duration is None or duration == row.duration_seconds))


def record_outcome(db_sessions: sessionmaker[Session], sid: str, state: TouchState, now: dt.datetime, *,
                   answered_by: str | None = None, duration: int | None = None, error_code: str | None = None,
                   overwrite: bool = False) -> OutboundTouch | None:
    """Store what a callback said about the touch Twilio knows as ``sid``; the row, or None for an unknown SID.

    A final outcome (answered, voicemail, delivered…) is kept against a later, vaguer callback unless
    ``overwrite``; the duration and AnsweredBy are always kept.  A repeat of a callback already stored (the same
    status, error code, AnsweredBy and duration) changes nothing and returns None, so its caller acts once.
    """
    with db_sessions() as db, db.begin():
        row = db.scalar(select(OutboundTouch).where(OutboundTouch.twilio_sid == sid))
        if row is None:
            return None
        if _repeat(row, state, answered_by, duration, error_code):
            return None  # Twilio posted the same callback again: nothing new to store or act on
        if row.verified is False and state is TouchState.ANSWERED:
            pass  # answered, but nobody verified: it stays no_answer (ivr.contact.conversation)
        elif overwrite or row.status not in _FINAL:
            row.status = state.value
        row.outcome_at = now
        if answered_by:
            row.answered_by = answered_by[:30]
        if duration is not None:
            row.duration_seconds = duration
        if error_code and row.status == state.value:
            # Only with the outcome it came with: a late "undelivered 30005" after "delivered" is not the truth of
            # a text the handset got (the row says delivered, and nothing is flagged: ivr.contact.callbacks).
            row.error_code = error_code[:20]
        return row


def cancel_pending(db: Session, *, client_ids: Iterable[str] = (), to: str | None = None,
                   channel: Channel | None = None, why: SkipReason | str, now: dt.datetime) -> list[str]:
    """Cancel planned touches (of these clients, or to this number, on one channel); their job ids."""
    query = select(OutboundTouch.id, OutboundTouch.job_id).where(OutboundTouch.status.in_(OPEN))
    ids = list(client_ids)
    if ids:
        query = query.where(OutboundTouch.client_id.in_(ids))
    if to is not None:
        query = query.where(OutboundTouch.to_e164 == to)
    if channel is not None:
        query = query.where(OutboundTouch.channel == channel.value)
    rows = db.execute(query).all()
    if rows:
        db.execute(update(OutboundTouch).where(OutboundTouch.id.in_([r.id for r in rows]),
                                               OutboundTouch.status.in_(OPEN))
                   .values(status=TouchState.CANCELLED.value, why_skipped=str(getattr(why, "value", why)),
                           outcome_at=now))
    return [r.job_id for r in rows]


@dataclass(frozen=True)
class AppointmentTouches:
    """One appointment's (or a client's follow-ups without one) touches, newest appointment first, for staff."""

    client_id: str
    appointment_id: str | None
    rows: tuple[OutboundTouch, ...]
    confirmed: bool = False


def confirmed_appointments(db: Session, appointment_ids: Iterable[str | None]) -> set[str]:
    """Which of ``appointment_ids`` the client confirmed, however they did it: a text reply's words or digit
    (``ivr.contact.replies``), key 1 on a voice reminder or on a returned call (``confirm_appointment``).  Each of
    those writes one ``appointment_confirmed`` entry in the change journal, so the journal is the one record every
    page and figure counts from."""
    ids = sorted({a for a in appointment_ids if a})
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        found.update(a for a in db.scalars(select(PracticeChange.appointment_id).where(
            PracticeChange.kind == ChangeKind.APPOINTMENT_CONFIRMED.value,
            PracticeChange.appointment_id.in_(ids[i:i + 500]))) if a)
    return found


def by_appointment(db: Session, *, limit: int = 200, client_id: str | None = None) -> list[AppointmentTouches]:
    """Touches grouped per (client, appointment), the groups with the latest activity first (one client's only
    with ``client_id``); ``confirmed`` as :func:`confirmed_appointments` says."""
    query = select(OutboundTouch).order_by(OutboundTouch.id.desc()).limit(limit * 4)
    if client_id is not None:
        query = query.where(OutboundTouch.client_id == client_id)
    rows = list(db.scalars(query))
    groups: dict[tuple[str, str | None], list[OutboundTouch]] = {}
    for row in rows:
        groups.setdefault((row.client_id, row.appointment_id), []).append(row)
    kept = list(groups.items())[:limit]
    confirmed = confirmed_appointments(db, (appointment_id for (_, appointment_id), _ in kept))
    out = []
    for (client_id, appointment_id), items in kept:
        items.sort(key=lambda r: (r.due or r.created_at, r.id))
        out.append(AppointmentTouches(client_id, appointment_id, tuple(items), appointment_id in confirmed))
    return out


REACHED = (TouchState.SENT.value, TouchState.DELIVERED.value, TouchState.ANSWERED.value, TouchState.VOICEMAIL.value)


@dataclass(frozen=True)
class ReminderFigures:
    """Appointments that started in a period, reminded (a reminder reached them) or not, and how they went."""

    reminded: int
    reminded_confirmed: int
    reminded_no_shows: int
    not_reminded: int
    not_reminded_no_shows: int


def reminder_figures(db: Session, start: dt.datetime, end: dt.datetime) -> ReminderFigures:
    """Whether reminders work: confirmations and no-shows of appointments starting in [start, end)."""
    appts = db.execute(select(Appointment.id, Appointment.status).where(
        Appointment.start >= start, Appointment.start < end,
        Appointment.status.in_((AppointmentStatus.SCHEDULED.value, AppointmentStatus.COMPLETED.value,
                                AppointmentStatus.NO_SHOW.value)))).all()
    ids = [a.id for a in appts]
    reminded: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        reminded.update(db.scalars(select(OutboundTouch.appointment_id).where(
            OutboundTouch.appointment_id.in_(chunk), OutboundTouch.kind != TouchKind.FOLLOW_UP.value,
            OutboundTouch.status.in_(REACHED))))
    confirmed = confirmed_appointments(db, reminded)
    no_show = {a.id for a in appts if a.status == AppointmentStatus.NO_SHOW.value}
    return ReminderFigures(len(reminded), len(confirmed & reminded), len(no_show & reminded),
                           len(ids) - len(reminded), len(no_show - reminded))


@dataclass(frozen=True)
class WeekFigures:
    """One week's :class:`ReminderFigures`: appointments starting in [start, end)."""

    start: dt.datetime
    end: dt.datetime
    figures: ReminderFigures


def weekly_figures(db: Session, now: dt.datetime, weeks: int = 4) -> list[WeekFigures]:
    """The last ``weeks`` weeks (7 days each, ending ``now``), the latest first."""
    out = []
    for i in range(weeks):
        end = now - dt.timedelta(days=7 * i)
        start = end - dt.timedelta(days=7)
        out.append(WeekFigures(start, end, reminder_figures(db, start, end)))
    return out
