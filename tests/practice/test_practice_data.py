"""``PracticeData``: the sessions flow actions read and write through, and one session per unit of work.

A webhook (or a job) runs its actions inside ``PracticeData.unit()``: every ``read()`` and
``write()`` block shares one session, opened by the first block and closed when the unit ends;
writes still commit at the end of their own block.  On SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.db import database as db_mod
from ivr.practice.data import PracticeData
from ivr.practice.models import APPOINTMENTS_CHANGED, Appointment, Client, Clinician

START = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def database(any_database):
    """Migrated, on SQLite and on PostgreSQL (tests/plugins/databases.py)."""
    with any_database.sessions() as db, db.begin():
        db.add(Clinician(id="c1", name="Dr. Test", working_hours={"monday": ["09:00-17:00"]}))
        db.add(Client(id="p1", first_name="Pat", last_name="Doe", date_of_birth=dt.date(1980, 1, 2),
                      clinician_id="c1"))
    return any_database


@pytest.fixture
def opened(database: db_mod.Database) -> list[Session]:
    """Every session that began a transaction on the database, in order (the same object again for each
    transaction it begins)."""
    seen: list[Session] = []

    def began(session: Session, transaction, connection) -> None:
        seen.append(session)

    event.listen(database.sessions, "after_begin", began)
    yield seen
    event.remove(database.sessions, "after_begin", began)


def appointment(id: str, start: dt.datetime = START) -> Appointment:
    return Appointment(id=id, client_id="p1", clinician_id="c1", start=start, end=start + dt.timedelta(minutes=50),
                       status="scheduled")


def ids(database: db_mod.Database) -> list[str]:
    """The appointments committed, read on a connection of its own (no session: ``opened`` does not count it)."""
    with database.engine.connect() as connection:
        return list(connection.scalars(select(Appointment.id).order_by(Appointment.id)))


def test_outside_a_unit_each_block_has_a_session_of_its_own(database, opened) -> None:
    data = PracticeData(database.sessions)
    with data.read() as first:
        first.scalars(select(Appointment)).all()
    with data.write() as second:
        second.add(appointment("a1"))
    assert first is not second and len({id(s) for s in opened}) == 2
    assert ids(database) == ["a1"]


def test_inside_a_unit_every_block_shares_one_session_and_writes_commit_at_their_block(database, opened) -> None:
    with PracticeData(database.sessions).unit() as data:
        with data.read() as db:
            assert db.scalars(select(Appointment)).all() == []
        with data.write() as db:
            db.add(appointment("a1"))
        assert ids(database) == ["a1"]  # committed at the end of its block, seen from another session
        with data.read() as again:
            assert again is db and [a.id for a in again.scalars(select(Appointment))] == ["a1"]
        with data.write() as db:
            db.add(appointment("a2", START + dt.timedelta(hours=1)))
        assert ids(database) == ["a1", "a2"]
    assert {id(s) for s in opened} == {id(db)}
    assert not db.in_transaction()  # closed with the unit: its connection is back in the pool


def test_a_unit_whose_actions_touch_nothing_opens_nothing(database, opened) -> None:
    with PracticeData(database.sessions).unit():
        pass
    assert opened == []


def test_a_write_that_fails_rolls_back_and_the_unit_reads_on(database, opened) -> None:
    with database.sessions() as db, db.begin():
        db.add(appointment("a1"))
    with PracticeData(database.sessions).unit() as data:
        with pytest.raises(IntegrityError):
            with data.write() as db:
                db.add(appointment("a2"))  # the same slot: the active-slot index refuses it
        # As with a session of its own, the failed change leaves no planning pass behind for a later commit.
        assert APPOINTMENTS_CHANGED not in db.info
        with data.read() as db:
            assert [a.id for a in db.scalars(select(Appointment))] == ["a1"]
        with data.write() as db:
            db.add(appointment("a3", START + dt.timedelta(hours=2)))
    assert ids(database) == ["a1", "a3"]
    assert len({id(s) for s in opened}) == 2  # the setup's, and the unit's one


def test_an_exception_in_a_read_leaves_nothing_half_done(database) -> None:
    with pytest.raises(RuntimeError):
        with PracticeData(database.sessions).unit() as data:
            with data.write() as db:
                db.add(appointment("a1"))
            with data.read() as db:
                db.add(appointment("a2", START + dt.timedelta(hours=1)))  # never written: reads do not commit
                db.flush()
                raise RuntimeError("boom")
    assert ids(database) == ["a1"]


def test_what_a_read_block_changes_is_not_written_by_a_later_write(database) -> None:
    with database.sessions() as db, db.begin():
        db.add(appointment("a1"))
    with PracticeData(database.sessions).unit() as data:
        with data.read() as db:
            db.get(Appointment, "a1").status = "cancelled"  # a mistake: reads do not write
        with data.write() as db:
            db.add(appointment("a2", START + dt.timedelta(hours=1)))
    with database.engine.connect() as connection:
        assert sorted(connection.execute(select(Appointment.id, Appointment.status))) == [
            ("a1", "scheduled"), ("a2", "scheduled")]


def test_a_unit_inside_a_unit_is_the_same_unit(database, opened) -> None:
    with PracticeData(database.sessions).unit() as outer:
        with outer.read() as first:
            first.scalars(select(Appointment)).all()
        with outer.unit() as inner, inner.read() as second:
            assert second is first
        with outer.read() as third:
            assert third is first and first.is_active
    assert len({id(s) for s in opened}) == 1
