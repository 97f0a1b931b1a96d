"""The demo practice's people, so a newcomer can call in and be recognised at once.

Everyone here is fictional; every number is a 555 number no real line uses.
docs/import.md lists who to call as.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.database import Database
from ivr.db.migrate_lock import locked_upgrade
from ivr.practice.models import (
    Appointment,
    AppointmentStatus,
    Client,
    ClientPhone,
    Clinician,
)
from ivr.practice.pins import hash_pin

# --------------------------------------------------------------------------- the demo practice

MAIN_CALLER = "+15551230001"  # Alex Rivera: `flask --app app call` calls from this number by default
FAMILY_NUMBER = "+15551230002"  # shared by Dana and Riley Brooks: the caller must say who they are
DEMO_PIN = "2468"  # Casey Nguyen's PIN
LATE_CLIENT = "+15550100112"  # Taylor Reed: late for a session when the demo is seeded, so a follow-up call is due
LATE_BY = dt.timedelta(minutes=15)  # the late follow-up fires 15 minutes after the start: due as the demo starts


@dataclass(frozen=True)
class _DemoClinician:
    id: str
    name: str
    session_minutes: int
    days: Sequence[str]
    hours: str  # "HH:MM-HH:MM", the same each working day


@dataclass(frozen=True)
class _DemoClient:
    id: str
    first_name: str
    last_name: str
    date_of_birth: dt.date
    phones: Sequence[str]
    clinician: str
    email: str | None = None
    may_voicemail: bool = False
    may_text: bool = False
    discreet: bool = True
    pin: str | None = None


CLINICIANS = (
    _DemoClinician("maya-chen", "Dr. Maya Chen", 50, ("monday", "tuesday", "wednesday", "thursday"), "09:00-17:00"),
    _DemoClinician("sam-ortiz", "Sam Ortiz, LCSW", 50, ("tuesday", "wednesday", "thursday", "friday"),
                   "10:00-18:00"),
)

CLIENTS = (
    _DemoClient("C-1001", "Alex", "Rivera", dt.date(1985, 4, 15), (MAIN_CALLER,), "maya-chen",
                email="alex.rivera@example.com", may_voicemail=True, may_text=True),
    _DemoClient("C-1002", "Morgan", "Lee", dt.date(1992, 11, 3), ("+15550100107",), "sam-ortiz",
                may_voicemail=False, may_text=False),  # no texts, no voicemails
    _DemoClient("C-1003", "Dana", "Brooks", dt.date(1978, 6, 21), (FAMILY_NUMBER, "+15550100108"), "maya-chen",
                email="dana.brooks@example.com", may_voicemail=True, may_text=True),
    _DemoClient("C-1004", "Riley", "Brooks", dt.date(2009, 2, 14), (FAMILY_NUMBER,), "sam-ortiz",
                may_voicemail=False, may_text=True),
    _DemoClient("C-1005", "Casey", "Nguyen", dt.date(1990, 8, 30), ("+15550100109", "+15550100110"), "sam-ortiz",
                email="casey.nguyen@example.com", may_voicemail=True, may_text=True, pin=DEMO_PIN),
    _DemoClient("C-1006", "Jamie", "Okafor", dt.date(1969, 12, 5), ("+15550100111",), "maya-chen",
                may_voicemail=True, may_text=False, discreet=False),
    # Late for the session that started just before the demo was seeded (``LATE_BY``): the workers place the
    # "late" follow-up call on their first pass, for the README's `call --outbound` to answer.  Calls only.
    _DemoClient("C-1007", "Taylor", "Reed", dt.date(1987, 7, 19), (LATE_CLIENT,), "maya-chen",
                may_voicemail=True, may_text=False),
)

# (appointment id, client id, working days from today (negative: past), local start time, status, telehealth)
# Day 1 is the clinician's first working day after today: "tomorrow" on a weekday, so
# late-change rules (24 hours by default) apply to Alex's and Morgan's next sessions.
_APPOINTMENTS = (
    ("A-2001", "C-1001", 1, "10:00", AppointmentStatus.SCHEDULED, True),
    ("A-2002", "C-1002", 1, "14:00", AppointmentStatus.SCHEDULED, False),
    ("A-2003", "C-1003", 2, "11:00", AppointmentStatus.SCHEDULED, True),
    ("A-2004", "C-1004", 3, "16:00", AppointmentStatus.SCHEDULED, False),
    ("A-2005", "C-1005", 4, "11:00", AppointmentStatus.SCHEDULED, True),
    ("A-2006", "C-1006", 5, "15:00", AppointmentStatus.SCHEDULED, False),
    ("A-2007", "C-1001", 5, "10:00", AppointmentStatus.SCHEDULED, True),  # Alex's following session
    ("A-1901", "C-1001", -4, "10:00", AppointmentStatus.COMPLETED, True),
    ("A-1902", "C-1003", -3, "11:00", AppointmentStatus.COMPLETED, True),
    ("A-1903", "C-1005", -2, "11:00", AppointmentStatus.COMPLETED, False),
    ("A-1904", "C-1002", -1, "14:00", AppointmentStatus.NO_SHOW, False),
    ("A-2008", "C-1007", 3, "09:00", AppointmentStatus.SCHEDULED, False),  # Taylor's next session
)
# Taylor's session now, started ``LATE_BY`` before the seeding instant and not checked in (not in _APPOINTMENTS:
# it is placed at that instant, not on a working day).
LATE_APPOINTMENT = "A-2000"


@dataclass(frozen=True)
class SeedReport:
    seeded: bool
    clinicians: int = 0
    clients: int = 0
    appointments: int = 0
    late_note: str | None = None  # why the demo's late follow-up call will not be waiting (ids only, no PHI)


def seed_demo(session_factory: sessionmaker[Session], now: dt.datetime, tz: dt.tzinfo, *,
              late_arrival: bool = True) -> SeedReport:
    """Add the demo practice, appointments placed around ``now`` in ``tz``; nothing if any client exists.
    ``late_arrival``: with Taylor's session begun ``LATE_BY`` before ``now`` (the late follow-up call due at once,
    for the README's ``call --outbound``); tests that count every outbound call leave it out."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    with session_factory() as session, session.begin():
        if session.scalars(select(Client.id).limit(1)).first() is not None:
            return SeedReport(seeded=False)
        by_id = {}
        for spec in CLINICIANS:
            # A clinician already imported under the same id keeps their details.
            clinician = session.get(Clinician, spec.id) or Clinician(
                id=spec.id, name=spec.name, session_minutes=spec.session_minutes,
                working_hours={day: [spec.hours] for day in spec.days})
            session.add(clinician)
            by_id[spec.id] = spec
        for c in CLIENTS:
            client = Client(id=c.id, first_name=c.first_name, last_name=c.last_name, date_of_birth=c.date_of_birth,
                            email=c.email, clinician_id=c.clinician, may_voicemail=c.may_voicemail,
                            may_text=c.may_text, discreet=c.discreet, pin_hash=hash_pin(c.pin) if c.pin else None)
            client.phones = [ClientPhone(e164=e, position=i) for i, e in enumerate(c.phones)]
            session.add(client)
        session.flush()
        clinician_of = {c.id: c.clinician for c in CLIENTS}
        today = now.astimezone(tz).date()
        for appt_id, client_id, days, at, status, video in _APPOINTMENTS:
            spec = by_id[clinician_of[client_id]]
            day = _working_day(today, days, spec.days)
            start = dt.datetime.combine(day, dt.time.fromisoformat(at), tzinfo=tz)
            session.add(Appointment(
                id=appt_id, client_id=client_id, clinician_id=spec.id, start=start,
                end=start + dt.timedelta(minutes=spec.session_minutes), status=status.value,
                telehealth_url=f"https://video.example.com/r/{secrets.token_urlsafe(9)}" if video else None))
        if not late_arrival:
            return SeedReport(True, len(CLINICIANS), len(CLIENTS), len(_APPOINTMENTS))
        late = now.replace(second=0, microsecond=0) - LATE_BY
        note = late_call_note(now, tz)
        session.add(Appointment(id=LATE_APPOINTMENT, client_id="C-1007", clinician_id="maya-chen", start=late,
                                end=late + dt.timedelta(minutes=by_id["maya-chen"].session_minutes),
                                status=AppointmentStatus.SCHEDULED.value))
    return SeedReport(True, len(CLINICIANS), len(CLIENTS), len(_APPOINTMENTS) + 1, note)


# The shipped flows/outbound.yaml's calling hours (quiet_hours: 09:00–19:00 on business days, the client's time).
CALLING_HOURS = (dt.time(9), dt.time(19))


def late_call_note(now: dt.datetime, tz: dt.tzinfo) -> str | None:
    """Why the demo's late follow-up (Taylor, C-1007, due at ``now``) is not placed when seeded outside the shipped
    calling hours (weekdays 09:00–19:00 in ``tz``), by ids only; None inside them.  A "late" call goes within 30
    minutes or not at all, so at night it is never placed (the planner skips it ``quiet_hours``)."""
    local = now.astimezone(tz)
    start, end = CALLING_HOURS
    if local.weekday() < 5 and start <= local.time() < end:
        return None
    return (f"The demo's late follow-up for C-1007 ({LATE_APPOINTMENT}) will not be placed: it is "
            f"{local:%a %H:%M} in the practice's time zone, outside calling hours (09:00-19:00 on weekdays), and a "
            f"late call goes within 30 minutes or not at all. To try `flask --app app call --outbound` now, start "
            f"the demo on a moved clock: make run ARGS=\"--wallclock 2026-12-09T11:00:00-05:00\" (README).")


def prepare_embedded(url: str, tz: dt.tzinfo, now: dt.datetime | None = None) -> SeedReport:
    """For the zero-setup start: migrate the database and seed the demo practice if it has no clients."""
    database = Database.from_url(url)
    try:
        locked_upgrade(database.engine)
        return seed_demo(database.sessions, now or dt.datetime.now(dt.UTC), tz)
    finally:
        database.dispose()


def _working_day(today: dt.date, n: int, days: Sequence[str]) -> dt.date:
    """The ``n``-th working day after ``today`` (before it when ``n`` is negative)."""
    weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    step = 1 if n > 0 else -1
    day, left = today, abs(n)
    while left:
        day += dt.timedelta(days=step)
        if weekdays[day.weekday()] in days:
            left -= 1
    return day
