"""Driving the staff dashboard: staff accounts, signing in, posting forms with their CSRF token, escalation rows."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ivr import passwords
from ivr.escalations.models import AuditEntry, Escalation, StaffUser

SECRET = "test-secret-key-" + "0" * 32


STAFF_PASSWORD = "correct horse battery"


OWNER_PASSWORD = "owner passphrase 42"


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Person:
    id: int
    email: str
    password: str
    name: str


def add_user(database, email: str, name: str, role: str, password: str, **extra: Any) -> Person:
    with database.sessions() as s, s.begin():
        user = StaffUser(email=email, name=name, role=role, password_hash=passwords.hash_password(password),
                         active=True, **extra)
        s.add(user)
        s.flush()
        return Person(user.id, email, password, name)


def token(client, path: str = "/staff/login") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, person: Person, password: str | None = None):
    return client.post("/staff/login", data={"email": person.email, "password": password or person.password,
                                              "csrf_token": token(client)})


def signed_in(app, person: Person):
    c = app.test_client()
    response = login(c, person)
    assert response.status_code == 303, response.get_data(as_text=True)
    return c


def post(client, path: str, data: dict | None = None, token_from: str = "/staff/"):
    return client.post(path, data={**(data or {}), "csrf_token": token(client, token_from)})


def add_escalation(database, now: dt.datetime, *, priority: int = 2, due_in: dt.timedelta = dt.timedelta(hours=2),
                   status: str = "open", client_id: str | None = None, reason: str = "callback_request",
                   category: str = "callback_request", **extra: Any) -> int:
    with database.sessions() as s, s.begin():
        count = s.scalar(select(func.count(Escalation.id))) or 0
        extra.setdefault("timeline", ["main.welcome", "welcome:1", "callback.record_message"])
        e = Escalation(call_sid=f"CA{count:032d}", reason=reason, category=category, priority=priority,
                       status=status, caller_masked="+1******0001", client_id=client_id,
                       created_at=now - dt.timedelta(minutes=3), deadline_at=now + due_in, **extra)
        s.add(e)
        s.flush()
        return e.id


def audit_rows(database, action: str | None = None) -> list[AuditEntry]:
    with database.sessions() as s:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(s.scalars(query))


def escalation_row(database, escalation_id: int) -> Escalation:
    with database.sessions() as s:
        return s.get(Escalation, escalation_id)


# How the dashboard writes the demo client Alex Rivera's date of birth.
ALEX_DOB_TEXT = "15 Apr 1985"
