"""The practice's data as flow actions reach it: a typed service over the database's sessions.

Actions (``ivr.actions.practice``) get one as ``ActionContext.practice``; the queries several of
them share live here, next to the models they read.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from ivr.practice.models import ACTIVE, APPOINTMENTS_CHANGED, Appointment, ClientPhone

# Built once: a webhook runs these, and building a statement (and its cache key) costs about as much
# as running it on SQLite.  Statements are immutable; values go in as bound parameters.
_CLIENTS_ON = (select(ClientPhone.client_id).where(ClientPhone.e164 == bindparam("e164"))
               .order_by(ClientPhone.client_id))
# The clinician comes in the same query: every caller of next_appointment names them.
_NEXT_APPOINTMENT = (select(Appointment).options(joinedload(Appointment.clinician))
                     .where(Appointment.client_id == bindparam("client_id"), Appointment.status == ACTIVE,
                            Appointment.start > bindparam("now"))
                     .order_by(Appointment.start).limit(1))


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
    return list(db.scalars(_CLIENTS_ON, {"e164": e164}))


def upcoming_appointments(db: Session, client_id: str, now: dt.datetime, limit: int = 20) -> list[Appointment]:
    """The client's scheduled appointments after ``now``, soonest first (at most ``limit``)."""
    return list(db.scalars(select(Appointment).where(
        Appointment.client_id == client_id, Appointment.status == ACTIVE, Appointment.start > now)
        .order_by(Appointment.start).limit(limit)))


def next_appointment(db: Session, client_id: str, now: dt.datetime) -> Appointment | None:
    """The client's next scheduled appointment after ``now``."""
    return db.scalars(_NEXT_APPOINTMENT, {"client_id": client_id, "now": now}).first()
