"""The audit log: who did what, when, from where; every view of client information included.

Rows are only ever added (the database refuses UPDATE and DELETE, migration 0002).
``detail`` and ``target`` hold ids and short facts, never a client's name, number
or birth date: the log is read by owners who need no more than that.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, Union

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.escalations.models import AuditEntry, StaffUser


class Action(str, Enum):
    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILED = "login_failed"
    LOCKOUT = "lockout"
    CLAIM = "claim"
    RESOLVE = "resolve"
    VIEW_ESCALATION = "view_escalation"
    VIEW_CLIENT = "view_client"
    VIEW_CALLER_NUMBER = "view_caller_number"
    VIEW_CALLBACK_DETAILS = "view_callback_details"  # a new client's first name and best time (escalations.details)
    LISTEN_VOICEMAIL = "listen_voicemail"
    STAFF_CREATE = "staff_create"
    STAFF_UPDATE = "staff_update"
    STAFF_DEACTIVATE = "staff_deactivate"
    STAFF_REACTIVATE = "staff_reactivate"
    STAFF_PASSWORD_RESET = "staff_password_reset"
    STAFF_UNLOCK = "staff_unlock"
    PASSWORD_CHANGE = "password_change"
    ROSTER_ADD = "roster_add"
    ROSTER_UPDATE = "roster_update"
    ROSTER_DELETE = "roster_delete"
    VERIFICATION_CLEAR = "verification_clear"  # staff confirmed a client themselves and lifted a lock
    VIEW_CHANGE = "view_change"  # opened a change-journal entry (client details)
    CHANGES_ENTERED = "changes_entered"  # marked journal entries entered in the EHR
    CHANGES_EXPORT = "changes_export"  # downloaded the entries to enter as CSV
    CONFLICT_RESOLVE = "conflict_resolve"  # chose the phone's or the EHR's version of an appointment
    CLINICIAN_HOURS = "clinician_hours"  # changed a clinician's working hours or session length
    CALENDAR_FEED = "calendar_feed"  # made or revoked a clinician's calendar feed link
    PURGE_VOICEMAIL = "purge_voicemail"  # a voicemail and its transcript deleted under the retention (by the system)
    CORRECTION_CALL = "correction_call"  # asked for a correction call to a client (follow-ups)
    CHECKED_IN = "checked_in"  # marked a client checked in for an appointment (no "late" follow-up)
    READ_REPLY = "read_reply"  # opened the words of a client's text reply (follow-ups)
    LIFT_UNDELIVERABLE = "lift_undeliverable"  # lifted a number's undeliverable flag (follow-ups)


class HasSessions(Protocol):
    """The app's Database (``ivr.db.database.Database``), or anything else with a session factory."""

    sessions: sessionmaker[Session]


# An open Session means "join this transaction": an action and its record commit together or not at all.
DbLike = Union[Session, "sessionmaker[Session]", HasSessions]


@contextmanager
def session_scope(db: DbLike) -> Iterator[Session]:
    """A session for ``db``; commits at the end only if this opened it."""
    if isinstance(db, Session):
        yield db
        return
    factory = db if isinstance(db, sessionmaker) else db.sessions
    with factory() as session, session.begin():
        yield session


def record(db: DbLike, user_id: int | None, action: Action | str, target: str | None = None,
           detail: str | None = None, ip: str | None = None, *, at: dt.datetime | None = None) -> AuditEntry:
    """Append one entry; ``at`` defaults to now (pass the app's clock for testable times)."""
    entry = AuditEntry(
        at=at or dt.datetime.now(dt.UTC), user_id=user_id,
        action=action.value if isinstance(action, Action) else str(action),
        target=target[:80] if target else None, detail=detail[:300] if detail else None,
        ip=ip[:45] if ip else None,
    )
    with session_scope(db) as session:
        session.add(entry)
        session.flush()
    return entry


@dataclass(frozen=True)
class EntryView:
    """One row of the log as the owners' page shows it."""

    id: int
    at: dt.datetime
    user_id: int | None
    user_name: str | None
    action: str
    target: str | None
    detail: str | None
    ip: str | None


@dataclass(frozen=True)
class Page:
    entries: list[EntryView]
    page: int
    pages: int
    total: int


def entries(db: DbLike, *, page: int = 1, per_page: int = 50, action: str | None = None,
            user_id: int | None = None, target: str | None = None) -> Page:
    """Newest first, one page at a time, optionally only one action, user or target."""
    per_page = max(1, min(per_page, 500))
    with session_scope(db) as session:
        conditions = []
        if action:
            conditions.append(AuditEntry.action == action)
        if user_id is not None:
            conditions.append(AuditEntry.user_id == user_id)
        if target:
            conditions.append(AuditEntry.target == target)
        total = session.scalar(select(func.count(AuditEntry.id)).where(*conditions)) or 0
        pages = max(1, math.ceil(total / per_page))
        page = max(1, min(page, pages))
        rows = session.execute(
            select(AuditEntry, StaffUser.name)
            .outerjoin(StaffUser, StaffUser.id == AuditEntry.user_id)
            .where(*conditions)
            .order_by(AuditEntry.id.desc())  # ids follow insertion order; times can tie
            .limit(per_page).offset((page - 1) * per_page)
        ).all()
        views = [EntryView(e.id, e.at, e.user_id, name, e.action, e.target, e.detail, e.ip) for e, name in rows]
    return Page(views, page, pages, total)


def actions() -> list[str]:
    """Every action name, for the log page's filter."""
    return [a.value for a in Action]
