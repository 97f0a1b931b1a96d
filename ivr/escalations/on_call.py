"""Who a transfer rings: the on-call roster in the database is the one source of truth.

A staff member in ``practice.yaml`` with ``roster: crisis`` stands for "whoever is on
call for crises right now": the roster's level 1 for that category (falling through
to level 2 and 3 exactly as notifications do, ``ivr.escalations.roster.on_call``).
The member's own ``phone`` is only the fallback, rung when the database cannot be
read or nobody found has a phone, so a database outage never leaves a crisis caller
without a transfer.  The engine gets this as a service (``StepEnv.on_call``) and
never touches the database itself.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.escalations.models import RosterEntry, StaffUser
from ivr.escalations.roster import on_call

log = logging.getLogger(__name__)
FIRST_LEVEL = 1


def on_call_numbers(db_sessions: sessionmaker[Session], category: str, at: dt.datetime,
                    tz: dt.tzinfo) -> tuple[str, ...]:
    """E.164 phones of the people on call for ``category`` at ``at`` (aware), in user-id order.

    Empty when the database cannot be read (logged, never raised: the caller then
    rings the practice.yaml number) or when nobody on call has a phone.
    """
    try:
        with db_sessions() as db:
            entries = db.scalars(select(RosterEntry)).all()
            users = db.scalars(select(StaffUser).where(StaffUser.active.is_(True))).all()
            people = on_call(entries, users, FIRST_LEVEL, at, tz, category)
    except SQLAlchemyError as exc:
        log.warning("on-call roster unreadable (%s): ringing the practice.yaml number for %s",
                    type(exc).__name__, category)
        return ()
    numbers = tuple(dict.fromkeys(p.phone for p in people if p.phone))
    if not numbers:
        log.warning("nobody on call for %s has a phone: ringing the practice.yaml number", category)
    return numbers
