"""The change journal over chains of moves (an appointment moved, its replacement moved again, …): which
entries a move back cancels out, on SQLite and on PostgreSQL (the chain is read in one recursive statement)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ivr.db import database as db_mod
from ivr.practice import journal
from ivr.practice.models import Appointment, ChangeKind, Client, Clinician, PracticeChange

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def database(any_database):
    """This module's database: migrated, on SQLite and on PostgreSQL (tests/plugins/databases.py)."""
    return any_database


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


def seed(database: db_mod.Database) -> None:
    with database.sessions() as db, db.begin():
        db.add(Clinician(id="c1", name="Dr. Test", working_hours={}))
        db.add(Client(id="p1", first_name="Pat", last_name="Doe", date_of_birth=dt.date(1980, 1, 2)))
        db.flush()
        for id_, start in (("a0", at(24, 15)), ("b0", at(25, 15))):
            db.add(Appointment(id=id_, client_id="p1", clinician_id="c1", start=start,
                               end=start + dt.timedelta(minutes=50)))


def move(database: db_mod.Database, old_id: str, new_id: str, start: dt.datetime) -> None:
    """What a phone reschedule does (ivr.actions.practice.book_slot): release, book, journal, in one transaction."""
    with database.sessions() as db, db.begin():
        old = db.get(Appointment, old_id)
        before = journal.appointment_state(old)
        new = Appointment(id=new_id, client_id="p1", clinician_id="c1", start=start,
                          end=start + dt.timedelta(minutes=50))
        old.status, old.replaced_by = "rescheduled", new_id
        db.flush()
        db.add(new)
        db.flush()
        journal.record(db, ChangeKind.APPOINTMENT_MOVED, source="call:CA1", now=NOW, client_id="p1",
                       appointment_id=old_id, before=before,
                       after={**journal.appointment_state(new), "appointment_id": new_id})


def entries(database: db_mod.Database) -> list[tuple[int, str | None, str, str | None]]:
    with database.sessions() as db:
        return [(e.id, e.appointment_id, e.state, e.after.get("note"))
                for e in db.scalars(select(PracticeChange).order_by(PracticeChange.id))]


def test_a_move_back_after_three_moves_cancels_all_of_them_out_and_no_other_appointments(database) -> None:
    seed(database)
    move(database, "b0", "b1", at(25, 17))  # another appointment of the same client: stays to enter
    move(database, "a0", "a1", at(24, 14))
    move(database, "a1", "a2", at(24, 16))
    move(database, "a2", "a3", at(24, 15))  # back where a0 was
    note = "changes #2, #3, #4 cancel out: nothing to enter"
    assert entries(database) == [(1, "b0", "to_enter", None), (2, "a0", "confirmed", note),
                                 (3, "a1", "confirmed", note), (4, "a2", "confirmed", note)]


def test_a_move_back_to_a_middle_time_cancels_out_only_the_moves_since(database) -> None:
    seed(database)
    move(database, "a0", "a1", at(24, 14))
    move(database, "a1", "a2", at(24, 16))
    move(database, "a2", "a3", at(24, 14))  # back to a1's time, not a0's
    note = "changes #2, #3 cancel out: nothing to enter"
    assert entries(database) == [(1, "a0", "to_enter", None), (2, "a1", "confirmed", note),
                                 (3, "a2", "confirmed", note)]


def test_a_move_back_past_an_entered_move_is_still_to_enter(database) -> None:
    seed(database)
    move(database, "a0", "a1", at(24, 14))
    with database.sessions() as db, db.begin():
        journal.mark_entered(db, [1], user_id=1, now=NOW)
    move(database, "a1", "a2", at(24, 15))
    assert entries(database) == [(1, "a0", "entered", None), (2, "a1", "to_enter", None)]
