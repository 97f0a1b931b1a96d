"""The practice database: engines, migrations, the schema they make, the demo practice.

Every database test runs on a real SQLite file and, when PostgreSQL's server binaries
and psycopg are installed, on a real PostgreSQL server this test session starts in
a temporary directory (as a non-root user: ``postgres`` when running as root).
Set QUIETLINE_TEST_POSTGRES=0 to skip those.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.db import database as db_mod
from ivr.db.base import Base
from ivr.escalations.models import RosterEntry
from ivr.practice.demo import (
    CLIENTS,
    DEMO_PIN,
    FAMILY_NUMBER,
    LATE_APPOINTMENT,
    LATE_BY,
    LATE_CLIENT,
    MAIN_CALLER,
    prepare_embedded,
    seed_demo,
)
from ivr.practice.models import Appointment, Client, ClientPhone, Clinician
from ivr.practice.pins import check_pin, hash_pin


@pytest.fixture
def database(any_database):
    """This module's database: migrated, on SQLite and on PostgreSQL (tests/plugins/databases.py)."""
    return any_database


NY = ZoneInfo("America/New_York")
UTC = dt.UTC
# Monday 23 November 2026, 10:00 in New York (as conftest's OPEN_NOW).
MONDAY_10AM = dt.datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- a PostgreSQL server for the session


def add_basics(session) -> None:
    session.add(Clinician(id="c1", name="Dr. Test", working_hours={"monday": ["09:00-17:00"]}))
    session.add(Client(id="p1", first_name="Pat", last_name="Doe", date_of_birth=dt.date(1980, 1, 2),
                       clinician_id="c1"))
    session.flush()


def appointment(id: str, start: dt.datetime, status: str = "scheduled") -> Appointment:
    return Appointment(id=id, client_id="p1", clinician_id="c1", start=start, end=start + dt.timedelta(minutes=50),
                       status=status)


# --------------------------------------------------------------------------- engines


def test_sqlite_engine_creates_its_folder_and_sets_pragmas(tmp_path: Path) -> None:
    engine = db_mod.make_engine(f"sqlite:///{tmp_path}/a/b/q.db")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 15000
        assert (tmp_path / "a" / "b" / "q.db").exists()
    finally:
        engine.dispose()


def test_a_forked_child_opens_its_own_connections(tmp_path: Path) -> None:
    database = db_mod.Database.from_url(f"sqlite:///{tmp_path}/q.db")
    try:
        db_mod.upgrade(database.engine)
        with database.engine.connect():
            pass  # the pool now holds a connection
        pid = os.fork()
        if pid == 0:  # the child: the inherited pool must be empty, and a new connection work
            try:
                ok = database.engine.pool.checkedin() == 0
                with database.sessions() as session:
                    ok = ok and session.scalar(select(func.count()).select_from(Client)) == 0
            finally:
                os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert database.engine.pool.checkedin() == 1  # the parent's connection was not closed
    finally:
        database.dispose()


def test_postgres_urls_use_psycopg() -> None:
    assert db_mod.normalise_url("postgres://u:pw@db/q").drivername == "postgresql+psycopg"
    assert db_mod.safe_url("postgresql://u:secret@db/q") == "postgresql://u:***@db/q"


def test_session_objects_stay_readable_after_commit(database: db_mod.Database) -> None:
    with database.sessions() as session, session.begin():
        add_basics(session)
        client = session.get(Client, "p1")
    assert client is not None and client.first_name == "Pat"  # no refresh after commit


# --------------------------------------------------------------------------- migrations


def test_upgrade_creates_the_models_tables_at_head(database: db_mod.Database) -> None:
    tables = set(inspect(database.engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert db_mod.current_revision(database.engine) == db_mod.head_revision() == "0020"
    assert db_mod.is_current(database.engine)


def test_migrated_schema_matches_the_models(database: db_mod.Database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, Base.metadata) == []


def test_active_slot_index_is_partial(database: db_mod.Database) -> None:
    indexes = {i["name"]: i for i in inspect(database.engine).get_indexes("appointments")}
    slot = indexes["uq_active_slot"]
    assert slot["unique"] and slot["column_names"] == ["clinician_id", "start"]
    where = slot["dialect_options"].get(f"{database.engine.dialect.name}_where")
    assert "scheduled" in str(where)


def test_upgrade_twice_is_harmless_and_downgrade_empties(db_url: str) -> None:
    engine = db_mod.make_engine(db_url)
    try:
        assert db_mod.current_revision(engine) is None
        db_mod.upgrade(engine)
        db_mod.upgrade(db_url)  # by URL, again: nothing to do
        assert db_mod.current_revision(engine) == db_mod.head_revision()
        config = db_mod.alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        db_mod.upgrade(engine)
        assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_0012_turns_settled_conflicts_stored_as_json_null_into_sql_null(db_url: str) -> None:
    """Issue 10 finding 2: before 0012 a settled conflict was JSON 'null', still "open" to IS NOT NULL."""
    engine = db_mod.make_engine(db_url)
    try:
        db_mod.upgrade(engine, "0010")
        with engine.begin() as conn:
            for kind, conflict in (("settled", "null"), ("open", '{"start": "2026-11-24T16:00:00+00:00"}')):
                conn.execute(text("INSERT INTO practice_changes (kind, before, after, source, made_at, state, "
                                  "conflict) VALUES (:kind, '{}', '{}', 'call:CA1', :made, 'to_enter', :c)"),
                             {"kind": kind, "made": dt.datetime(2026, 11, 23, 15, tzinfo=dt.UTC), "c": conflict})
        db_mod.upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT kind FROM practice_changes WHERE conflict IS NOT NULL")).all()
        assert [r.kind for r in rows] == ["open"]
    finally:
        engine.dispose()


def test_0008_keeps_recordings_and_adds_their_record_columns_empty(db_url: str) -> None:
    """Issue 13: rows copied before 0008 keep their status; checked, deleted at Twilio, triaged, purged: unknown."""
    engine = db_mod.make_engine(db_url)
    try:
        db_mod.upgrade(engine, "0012")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO recordings (sid, call_sid, status, attempts, created_at) "
                              "VALUES ('RE1', 'CA1', 'fetched', 1, :at)"),
                         {"at": dt.datetime(2026, 11, 23, 15, tzinfo=dt.UTC)})
        db_mod.upgrade(engine)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT status, verified_at, twilio_deleted_at, transcript_status, "
                                    "triage_category, crisis, purged_at FROM recordings")).one()
        assert tuple(row) == ("fetched", None, None, None, None, None, None)
    finally:
        engine.dispose()


def test_migrations_dir_has_no_ini_at_the_project_top() -> None:
    root = Path(__file__).resolve().parents[2]
    assert not (root / "alembic.ini").exists()
    assert (db_mod.MIGRATIONS_DIR / "env.py").exists()


# --------------------------------------------------------------------------- constraints


def test_second_active_appointment_in_a_slot_is_refused(database: db_mod.Database) -> None:
    start = dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    with database.sessions() as session, session.begin():
        add_basics(session)
        session.add(appointment("a1", start))
    with pytest.raises(IntegrityError):
        with database.sessions() as session, session.begin():
            session.add(appointment("a2", start))
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 1


def test_slot_is_free_again_once_cancelled(database: db_mod.Database) -> None:
    start = dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    with database.sessions() as session, session.begin():
        add_basics(session)
        session.add(appointment("a1", start))
    with database.sessions() as session, session.begin():
        session.get(Appointment, "a1").status = "cancelled"
    with database.sessions() as session, session.begin():
        session.add(appointment("a2", start))
        session.add(appointment("a3", start, status="rescheduled"))  # inactive ones may share too
    with database.sessions() as session:
        statuses = sorted(session.scalars(select(Appointment.status)))
    assert statuses == ["cancelled", "rescheduled", "scheduled"]


def test_a_slot_released_and_booked_again_in_one_flush_is_accepted(database: db_mod.Database) -> None:
    """A move releases and books in one flush (ivr.actions.practice.book_slot): the unit of work writes the
    UPDATE before the INSERT, so the active-slot index never sees two rows."""
    start = dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    with database.sessions() as session, session.begin():
        add_basics(session)
        session.add(appointment("a1", start))
    with database.sessions() as session, session.begin():
        session.get(Appointment, "a1").status = "rescheduled"
        session.add(appointment("a2", start))
        session.flush()
    with database.sessions() as session:
        assert sorted(session.execute(select(Appointment.id, Appointment.status))) == [
            ("a1", "rescheduled"), ("a2", "scheduled")]


def test_foreign_keys_are_enforced(database: db_mod.Database) -> None:
    with pytest.raises(IntegrityError):
        with database.sessions() as session, session.begin():
            session.add(Client(id="p9", first_name="A", last_name="B", date_of_birth=dt.date(1990, 1, 1),
                               clinician_id="nobody"))


def test_family_number_may_be_shared_but_not_repeated_for_one_client(database: db_mod.Database) -> None:
    with database.sessions() as session, session.begin():
        add_basics(session)
        session.add(Client(id="p2", first_name="Sam", last_name="Doe", date_of_birth=dt.date(2010, 1, 2)))
        session.add_all(
            [ClientPhone(client_id="p1", e164=FAMILY_NUMBER), ClientPhone(client_id="p2", e164=FAMILY_NUMBER)]
        )
    with pytest.raises(IntegrityError):
        with database.sessions() as session, session.begin():
            session.add(ClientPhone(client_id="p1", e164=FAMILY_NUMBER, position=1))


def test_times_come_back_as_the_same_instant_in_utc(database: db_mod.Database) -> None:
    start = dt.datetime(2026, 11, 24, 10, 0, tzinfo=NY)
    with database.sessions() as session, session.begin():
        add_basics(session)
        session.add(appointment("a1", start))
    with database.sessions() as session:
        stored = session.get(Appointment, "a1").start
    assert stored == start and stored.tzinfo == UTC and stored.hour == 15


# --------------------------------------------------------------------------- PINs


def test_pin_hashes_are_salted_and_check() -> None:
    first, second = hash_pin("2468"), hash_pin("2468")
    assert first != second and first.startswith("scrypt$")
    assert "2468" not in first
    assert check_pin("2468", first) and check_pin("2468", second)
    assert not check_pin("2469", first)
    assert not check_pin("2468", None) and not check_pin("2468", "") and not check_pin("2468", "md5$x$y$z$a$b")


# --------------------------------------------------------------------------- the demo practice


def test_seed_demo_makes_the_documented_practice(database: db_mod.Database) -> None:
    report = seed_demo(database.sessions, MONDAY_10AM, NY)
    assert report.seeded and (report.clinicians, report.clients) == (2, 7)
    with database.sessions() as session:
        alex = session.scalars(select(Client).join(ClientPhone).where(ClientPhone.e164 == MAIN_CALLER)).one()
        assert (alex.first_name, alex.last_name, alex.date_of_birth) == ("Alex", "Rivera", dt.date(1985, 4, 15))
        assert alex.clinician.name == "Dr. Maya Chen" and alex.may_text
        family = session.scalars(select(ClientPhone.client_id).where(ClientPhone.e164 == FAMILY_NUMBER)).all()
        assert len(family) == 2
        with_pin = session.scalars(select(Client).where(Client.pin_hash.is_not(None))).all()
        assert len(with_pin) == 1 and check_pin(DEMO_PIN, with_pin[0].pin_hash)
        assert session.scalars(select(Client).where(Client.may_text.is_(False))).first() is not None
        assert all(p.e164.startswith(("+1555010", "+1555123")) for p in session.scalars(select(ClientPhone)))
        appointments = session.scalars(select(Appointment)).all()
        tomorrow = dt.date(2026, 11, 24)
        assert any(a.start.astimezone(NY).date() == tomorrow and a.status == "scheduled" for a in appointments)
        assert sum(a.status == "completed" for a in appointments) >= 2
        for client in session.scalars(select(Client)):
            upcoming = [a for a in client.appointments if a.status == "scheduled" and a.start > MONDAY_10AM]
            assert upcoming, f"{client.id} has no upcoming appointment"
        assert all(a.telehealth_url is None or a.telehealth_url.startswith("https://video.example.com/r/")
                   for a in appointments)


@pytest.mark.parametrize("weekday", range(7))
def test_demo_appointments_fall_in_working_hours_whatever_the_day(tmp_path: Path, weekday: int) -> None:
    database = db_mod.Database.from_url(f"sqlite:///{tmp_path}/q.db")
    try:
        db_mod.upgrade(database.engine)
        now = MONDAY_10AM + dt.timedelta(days=weekday)
        seed_demo(database.sessions, now, NY)
        weekdays = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        with database.sessions() as session:
            for a in session.scalars(select(Appointment).where(Appointment.id != LATE_APPOINTMENT)):
                start, end = a.start.astimezone(NY), a.end.astimezone(NY)
                spans = a.clinician.working_hours.get(weekdays[start.weekday()], [])
                assert any(s <= start.strftime("%H:%M") and end.strftime("%H:%M") <= e
                           for s, e in (span.split("-") for span in spans)), a.id
                assert (a.start > now) == (a.status == "scheduled")
    finally:
        database.dispose()


@pytest.mark.parametrize("now", [MONDAY_10AM, MONDAY_10AM + dt.timedelta(days=5, minutes=7, seconds=31)])
def test_the_demo_has_a_client_late_for_a_session_begun_at_seeding(database: db_mod.Database,
                                                                   now: dt.datetime) -> None:
    """The README's `call --outbound` command has a call to answer (fix1112-next item 2): Taylor's session began
    15 minutes (to the minute) before the seeding instant, whatever the day, and is not checked in."""
    seed_demo(database.sessions, now, NY)
    with database.sessions() as session:
        late = session.get(Appointment, LATE_APPOINTMENT)
        assert late is not None and late.client is not None
        assert [p.e164 for p in late.client.phones] == [LATE_CLIENT]
        assert (late.client.first_name, late.client.date_of_birth, late.client.may_text) == (
            "Taylor", dt.date(1987, 7, 19), False)
        assert (late.start, late.status, late.checked_in) == (now.replace(second=0) - LATE_BY, "scheduled", False)


def test_seed_demo_is_idempotent(database: db_mod.Database) -> None:
    assert seed_demo(database.sessions, MONDAY_10AM, NY).seeded
    assert not seed_demo(database.sessions, MONDAY_10AM + dt.timedelta(days=3), NY).seeded
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Client)) == len(CLIENTS)
        assert session.scalar(select(func.count()).select_from(Clinician)) == 2


def test_prepare_embedded_migrates_and_seeds_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/instance/quietline.db"
    assert prepare_embedded(url, NY, MONDAY_10AM).seeded
    assert not prepare_embedded(url, NY, MONDAY_10AM).seeded
    assert db_mod.current_revision(url) == db_mod.head_revision()


def test_seed_demo_does_nothing_when_clients_were_imported(database: db_mod.Database) -> None:
    with database.sessions() as session, session.begin():
        add_basics(session)
    assert not seed_demo(database.sessions, MONDAY_10AM, NY).seeded
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Client)) == 1


def test_roster_entries_made_before_categories_keep_serving_every_category(db_url: str) -> None:
    """0002 → 0003 on a database in use: existing entries get no limit (NULL), so nobody stops being told."""
    engine = db_mod.make_engine(db_url)
    try:
        config = db_mod.alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO staff_users (email, name, role, password_hash, active, failed_logins, "
                              "created_at) VALUES ('a@example.org', 'A', 'staff', '-', true, 0, :at)"),
                         {"at": dt.datetime(2026, 11, 1, tzinfo=dt.UTC)})
            conn.execute(text("INSERT INTO roster_entries (user_id, level, days, start, \"end\", sms, email) "
                              "SELECT id, 1, '[]', '09:00', '17:00', true, false FROM staff_users"))
        db_mod.upgrade(engine)
        assert db_mod.current_revision(engine) == db_mod.head_revision()
        with Session(engine) as s:
            [entry] = s.scalars(select(RosterEntry)).all()
            assert (entry.level, entry.start, entry.categories) == (1, "09:00", None)
    finally:
        engine.dispose()
