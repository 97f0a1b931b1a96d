"""The practice's data as flow actions reach it: a typed service over the database's sessions.

Actions (``ivr.actions.practice``) get one as ``ActionContext.practice``; the queries several of
them share live here, next to the models they read.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from ivr.practice.models import ACTIVE, Appointment, ClientPhone

# Built once: a webhook runs these, and building a statement (and its cache key) costs about as much
# as running it on SQLite.  Statements are immutable; values go in as bound parameters.
_CLIENTS_ON = (select(ClientPhone.client_id).where(ClientPhone.e164 == bindparam("e164"))
               .order_by(ClientPhone.client_id))
# The clinician comes in the same query: every caller of next_appointment names them.
_NEXT_APPOINTMENT = (select(Appointment).options(joinedload(Appointment.clinician))
                     .where(Appointment.client_id == bindparam("client_id"), Appointment.status == ACTIVE,
                            Appointment.start > bindparam("now"))
                     .order_by(Appointment.start).limit(1))


@dataclass(frozen=True)
class PracticeData:
    """Sessions on the practice database: ``read()`` for queries, ``write()`` for one transaction."""

    sessions: sessionmaker[Session]

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as db:
            yield db

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session inside a transaction: committed when the block ends, rolled back if it raises."""
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
