"""The demo practice's staff and on-call roster, so escalations reach someone from the first call.

Everyone is fictional: @example.com addresses, 555-01xx numbers no real line uses.
The demo logins share one password, never printed: ``QUIETLINE_DEMO_PASSWORD`` when
set, otherwise a random one kept in ``instance/demo-staff-password`` (mode 0600).
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.escalations.models import Role, RosterEntry, StaffUser
from ivr.passwords import hash_password
from ivr.private_files import private_dir

PASSWORD_ENV = "QUIETLINE_DEMO_PASSWORD"
PASSWORD_FILE = "demo-staff-password"
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


@dataclass(frozen=True)
class DemoStaff:
    email: str
    name: str
    phone: str
    role: str


OWNER = DemoStaff("owner@example.com", "Robin Hale", "+15550100120", Role.OWNER.value)
FRONT_DESK = DemoStaff("frontdesk@example.com", "Jordan Ellis", "+15550100121", Role.STAFF.value)
BACKUP = DemoStaff("backup@example.com", "Taylor Kim", "+15550100122", Role.STAFF.value)
ON_CALL = DemoStaff("oncall@example.com", "Sam Patel", "+15550100123", Role.STAFF.value)
STAFF = (OWNER, FRONT_DESK, BACKUP, ON_CALL)

# (who, level, days, start, end, categories): the front desk in office hours, the on-call
# clinician at every hour (for urgent calls; a practice can limit that entry to crises in
# the dashboard's roster page), a backup at level 2 and the owner at level 3.
ROSTER = (
    (FRONT_DESK, 1, WEEKDAYS, "09:00", "18:00", None),
    (ON_CALL, 1, [], "00:00", "23:59", None),
    (BACKUP, 2, [], "00:00", "23:59", None),
    (OWNER, 3, [], "00:00", "23:59", None),
)


@dataclass(frozen=True)
class StaffSeedReport:
    seeded: bool
    users: int = 0
    roster_entries: int = 0


def seed_demo_staff(db_sessions: sessionmaker[Session], password: str | None = None, *,
                    password_hash: str | None = None) -> StaffSeedReport:
    """Add the demo staff and roster; nothing if any staff user exists.  Give a password or its hash."""
    if password_hash is None:
        if not password:
            raise ValueError("seed_demo_staff needs a password (or a password hash)")
        password_hash = hash_password(password)
    with db_sessions() as db, db.begin():
        if db.scalars(select(StaffUser.id).limit(1)).first() is not None:
            return StaffSeedReport(False)
        users = {}
        for spec in STAFF:
            user = StaffUser(email=spec.email, name=spec.name, phone=spec.phone, role=spec.role,
                             password_hash=password_hash, active=True, failed_logins=0)
            db.add(user)
            users[spec.email] = user
        db.flush()
        for spec, level, days, start, end, categories in ROSTER:
            db.add(RosterEntry(user_id=users[spec.email].id, level=level, days=list(days), start=start, end=end,
                               sms=True, email=True, categories=categories))
    return StaffSeedReport(True, len(STAFF), len(ROSTER))


def demo_password(instance_dir: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> str:
    """The demo logins' password: $QUIETLINE_DEMO_PASSWORD, else a random one kept in the instance folder."""
    environ = os.environ if environ is None else environ
    if environ.get(PASSWORD_ENV):
        return environ[PASSWORD_ENV]
    path = Path(instance_dir) / PASSWORD_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    private_dir(path.parent)
    # Four random words' worth of entropy, readable enough to type.
    password = "-".join(secrets.token_hex(3) for _ in range(4))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return password


def logins_note(instance_dir: str | os.PathLike[str]) -> str:
    """What to print after seeding: who can sign in, and where the password is (never the password)."""
    where = f"${PASSWORD_ENV}" if os.environ.get(PASSWORD_ENV) else str(Path(instance_dir) / PASSWORD_FILE)
    people = ", ".join(f"{s.email} ({'owner' if s.role == Role.OWNER.value else 'staff'})" for s in STAFF)
    return f"Demo staff logins: {people}; the password is in {where}."
