"""The slot search against the diary (``ivr.actions.access.open_slots_near``): it reads the busy times of the
nearest starts first and the whole window's only when those hold too few open ones (perf9f). The slots must be
exactly those of ``scheduling.open_slots`` over the whole window's busy times, on SQLite and PostgreSQL, whatever
the diary; and the reads are counted with SQLAlchemy's events (one when the nearest starts suffice).
"""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, event, select

from ivr.actions import access
from ivr.actions.registry import ActionContext
from ivr.core.call_state import CallSession
from ivr.db import database as db_mod
from ivr.practice.data import PracticeData
from ivr.practice.demo import seed_demo
from ivr.practice.models import ACTIVE, Appointment, Clinician
from ivr.practice.scheduling import open_slots

TZ = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=TZ).astimezone(dt.UTC)  # a Monday, the practice open
CLINICIAN = "maya-chen"


@pytest.fixture
def database(any_database: db_mod.Database, clock) -> db_mod.Database:
    """The demo practice (as tests/plugins/service.py seeds it), on SQLite and on PostgreSQL."""
    assert clock.now == NOW
    seed_demo(any_database.sessions, clock.now, TZ, late_arrival=False)
    return any_database


@pytest.fixture
def ctx(app, database) -> ActionContext:
    flows = app.extensions["quietline"].flows.current()
    return ActionContext(CallSession(call_sid="CA-slots", caller=None, started_at=NOW.isoformat()), flows, NOW,
                         PracticeData(database.sessions))


def whole_window(db, clinician: Clinician, ctx: ActionContext, around: dt.datetime, exclude, count):
    """What the search gave before perf9f: one read of the whole window's busy times, then open_slots."""
    practice = ctx.flows.practice
    horizon = ctx.now + dt.timedelta(days=practice.reschedule_window_days + 1)
    busy = db.execute(select(Appointment.start, Appointment.end).where(
        Appointment.clinician_id == clinician.id, Appointment.status == ACTIVE, Appointment.end > ctx.now,
        Appointment.start < horizon)).all()
    return open_slots(working_hours=clinician.working_hours or {}, session_minutes=clinician.session_minutes,
                      busy=busy, practice=practice, now=ctx.now, around=around,
                      window_days=practice.reschedule_window_days, exclude=exclude, count=count)


def statements_into(statements: list[str]):
    def executed(conn, cursor, statement, *args) -> None:
        statements.append(statement)
    return executed


def test_the_same_slots_as_reading_the_whole_window(database, ctx) -> None:
    """Random diaries (from empty to nearly full, sessions of any length, at any minute, some cancelled), random
    appointments to move and slots to leave out: the nearest-first reads give exactly the one read's slots."""
    rng = random.Random(9)
    window = ctx.flows.practice.reschedule_window_days
    tried = fell_back = 0
    for trial in range(60):
        with database.sessions() as db, db.begin():
            db.execute(delete(Appointment).where(Appointment.clinician_id == CLINICIAN))
            fill = rng.choice((0.0, 0.2, 0.5, 0.8, 0.97))
            for n in range(200):
                if rng.random() >= fill:
                    continue
                start = (dt.datetime(2026, 11, 23, 7, tzinfo=TZ) + dt.timedelta(hours=n)).astimezone(dt.UTC)
                start += dt.timedelta(minutes=rng.choice((0, 0, 0, 20, 45)))
                db.add(Appointment(id=f"A-T{trial}-{n}", client_id="C-1001", clinician_id=CLINICIAN, start=start,
                                   end=start + dt.timedelta(minutes=rng.choice((30, 50, 50, 90, 180))),
                                   status=rng.choice((ACTIVE, ACTIVE, ACTIVE, "cancelled"))))
        around = NOW + dt.timedelta(hours=rng.randrange(0, 24 * (window + 1)))
        with database.sessions() as db:
            clinician = db.get_one(Clinician, CLINICIAN)
            exclude = tuple(NOW + dt.timedelta(hours=h) for h in rng.sample(range(24 * window), 6))
            for count in (1, 3, 1000):
                statements: list[str] = []
                executed = statements_into(statements)
                event.listen(database.engine, "before_cursor_execute", executed)
                try:
                    got = access.open_slots_near(db, clinician, ctx, around, exclude=exclude, count=count)
                finally:
                    event.remove(database.engine, "before_cursor_execute", executed)
                assert got == whole_window(db, clinician, ctx, around, exclude, count), (trial, count)
                assert len(statements) in (1, 2)
                tried += 1
                fell_back += len(statements) == 2
    assert 0 < fell_back < tried  # both ways were taken


def test_offers_found_among_the_nearest_starts_cost_one_narrow_read(database, ctx) -> None:
    """The demo diary: three offers near Alex's appointment come from one read of the busy times around them."""
    seen: list[tuple[str, dict]] = []

    def executed(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    with database.sessions() as db:
        clinician = db.get_one(Clinician, CLINICIAN)
        around = dt.datetime(2026, 11, 24, 14, tzinfo=TZ)
        event.listen(database.engine, "before_cursor_execute", executed)
        try:
            got = access.open_slots_near(db, clinician, ctx, around)
        finally:
            event.remove(database.engine, "before_cursor_execute", executed)
        assert got == whole_window(db, clinician, ctx, around, (), 3)
    assert len(got) == 3 and len(seen) == 1
