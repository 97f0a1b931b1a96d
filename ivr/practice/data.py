"""The practice's data as flow actions reach it: a typed service over the database's sessions.

Actions (``ivr.actions.practice``) get one as ``ActionContext.practice``; the queries several of
them share live here, next to the models they read.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from ivr.practice.models import ACTIVE, APPOINTMENTS_CHANGED, Appointment, ClientPhone, Clinician

# Built once: a webhook runs these, and building a statement (and its cache key) costs about as much
# as running it on SQLite.  Statements are immutable; values go in as bound parameters.
# The webhooks' reads are Core statements on the session's connection (``Session.connection().execute``): the ORM's
# per-statement work (compile state, loading, identity map) cost as much as the query, for rows nobody changes here.
_PHONES = ClientPhone.__table__
_CLIENTS_ON = (select(_PHONES.c.client_id).where(_PHONES.c.e164 == bindparam("e164"))
               .order_by(_PHONES.c.client_id))
# The clinician comes in the same query: every caller of next_appointment names them.
_NEXT_APPOINTMENT = (select(Appointment).options(joinedload(Appointment.clinician))
                     .where(Appointment.client_id == bindparam("client_id"), Appointment.status == ACTIVE,
                            Appointment.start > bindparam("now"))
                     .order_by(Appointment.start).limit(1))

_APPOINTMENTS = Appointment.__table__
_CLINICIANS = Clinician.__table__
# An appointment with its clinician, as the webhooks' actions read it: the columns they use, one row.
_VIEW_COLUMNS = (_APPOINTMENTS.c.id, _APPOINTMENTS.c.client_id, _APPOINTMENTS.c.clinician_id, _APPOINTMENTS.c.start,
                 _APPOINTMENTS.c.end, _APPOINTMENTS.c.status, _APPOINTMENTS.c.telehealth_url, _CLINICIANS.c.name,
                 _CLINICIANS.c.working_hours, _CLINICIANS.c.session_minutes)
_WITH_CLINICIAN = select(*_VIEW_COLUMNS).join_from(_APPOINTMENTS, _CLINICIANS,
                                                   _APPOINTMENTS.c.clinician_id == _CLINICIANS.c.id)
_APPOINTMENT_VIEW = _WITH_CLINICIAN.where(_APPOINTMENTS.c.id == bindparam("id"))
_NEXT_APPOINTMENT_VIEW = (_WITH_CLINICIAN.where(_APPOINTMENTS.c.client_id == bindparam("client_id"),
                                                _APPOINTMENTS.c.status == ACTIVE,
                                                _APPOINTMENTS.c.start > bindparam("now"))
                          .order_by(_APPOINTMENTS.c.start).limit(1))


@dataclass(frozen=True, slots=True)
class ClinicianView:
    """A clinician as an appointment's reader needs them: id, name, weekly hours (``Clinician.working_hours``), minutes
    per session."""

    id: str
    name: str
    working_hours: dict[str, Any]
    session_minutes: int


@dataclass(frozen=True, slots=True)
class AppointmentView:
    """An appointment read for a webhook (a row, not an ORM object: nothing is written through it); times aware UTC."""

    id: str
    client_id: str
    clinician_id: str
    start: dt.datetime
    end: dt.datetime
    status: str
    telehealth_url: str | None
    clinician: ClinicianView

    @classmethod
    def of(cls, row: Row[Any]) -> AppointmentView:
        return cls(row.id, row.client_id, row.clinician_id, row.start, row.end, row.status, row.telehealth_url,
                   ClinicianView(row.clinician_id, row.name, row.working_hours or {}, row.session_minutes))


class _SharedSession:
    """One session, opened at first use, for every ``read()`` and ``write()`` of one unit of work."""

    def __init__(self, sessions: sessionmaker[Session]):
        self._sessions = sessions
        self._db: Session | None = None

    def get(self) -> Session:
        if self._db is None:
            self._db = self._sessions()
        return self._db

    def close(self) -> None:
        """Roll back whatever is still open (reads only: every write commits at its block's end) and close."""
        if self._db is not None:
            db, self._db = self._db, None
            db.close()


@dataclass(frozen=True)
class PracticeData:
    """Sessions on the practice database: ``read()`` for queries, ``write()`` for one transaction.

    Outside :meth:`unit` each block opens and closes a session of its own.  Inside one (a webhook, a job),
    every block shares one session, opened lazily by the first block that needs it and closed when the unit
    ends: opening and closing a session (pool checkout, reset on return) costs about as much as a query.
    """

    sessions: sessionmaker[Session]
    _shared: _SharedSession | None = field(default=None, compare=False, repr=False)

    @contextmanager
    def unit(self) -> Iterator[PracticeData]:
        """This data for one unit of work (a webhook, a job): its blocks share one session, closed at the end.

        Nothing is opened unless a block runs.  Writes still commit at the end of their own ``write()``
        block; what a unit leaves open at its end (reads) is rolled back.
        """
        if self._shared is not None:  # already inside a unit: the outer one closes it
            yield self
            return
        shared = _SharedSession(self.sessions)
        try:
            yield PracticeData(self.sessions, shared)
        finally:
            shared.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; what the block changes is not kept (in a unit: rolled back at its end)."""
        if self._shared is not None:
            db = self._shared.get()
            yield db
            if db.new or db.dirty or db.deleted:
                db.rollback()  # a read writes nothing, as a session of its own closed unflushed would not
            return
        with self.sessions() as db:
            yield db

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session inside a transaction: committed when the block ends, rolled back if it raises."""
        if self._shared is not None:
            db = self._shared.get()
            # Earlier reads of the unit may have begun the session's transaction (reads only: every write
            # commits below), so this block commits it rather than beginning a second one.
            try:
                yield db
                db.commit()  # its flush may fail too (a unique index): rolled back below, as db.begin() would
            except BaseException:
                db.rollback()
                # As with a session of its own: a change rolled back asks for no planning pass on a later commit.
                db.info.pop(APPOINTMENTS_CHANGED, None)
                raise
            return
        with self.sessions() as db, db.begin():
            yield db


def clients_on(db: Session, e164: str | None) -> list[str]:
    """Ids of the clients with ``e164`` among their numbers (a family may share one), in id order."""
    if not e164:
        return []
    return list(db.connection().execute(_CLIENTS_ON, {"e164": e164}).scalars())


def upcoming_appointments(db: Session, client_id: str, now: dt.datetime, limit: int = 20) -> list[Appointment]:
    """The client's scheduled appointments after ``now``, soonest first (at most ``limit``)."""
    return list(db.scalars(select(Appointment).where(
        Appointment.client_id == client_id, Appointment.status == ACTIVE, Appointment.start > now)
        .order_by(Appointment.start).limit(limit)))


def next_appointment(db: Session, client_id: str, now: dt.datetime) -> Appointment | None:
    """The client's next scheduled appointment after ``now``."""
    return db.scalars(_NEXT_APPOINTMENT, {"client_id": client_id, "now": now}).first()


def appointment_view(db: Session, appointment_id: str) -> AppointmentView | None:
    """The appointment ``appointment_id`` with its clinician (None: no such appointment)."""
    row = db.connection().execute(_APPOINTMENT_VIEW, {"id": appointment_id}).first()
    return AppointmentView.of(row) if row is not None else None


def next_appointment_view(db: Session, client_id: str, now: dt.datetime) -> AppointmentView | None:
    """``next_appointment`` as a view: the client's next scheduled appointment after ``now``, with its clinician."""
    row = db.connection().execute(_NEXT_APPOINTMENT_VIEW, {"client_id": client_id, "now": now}).first()
    return AppointmentView.of(row) if row is not None else None
