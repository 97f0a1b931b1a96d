"""Re-imports reconcile with phone changes instead of overwriting them (issue 10's examples), on SQLite and
PostgreSQL: calls are placed with the simulator against the demo practice seeded in each database, the
practice's EHR export is the file Quietline's own export wrote before the call (what the EHR still has),
and re-importing it never undoes what the phone did.

Monday 23 November 2026, 10:00 in New York; Alex (C-1001) has A-2001, Tuesday 10:00 with Dr. Chen.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.actions.practice import book_slot
from ivr.actions.registry import ActionContext
from ivr.core.call_state import CallSession
from ivr.exceptions import ChangeNotFound, ConflictChoiceFailed
from ivr.practice import journal
from ivr.practice.csv.export import export_practice
from ivr.practice.csv.importer import import_practice
from ivr.practice.csv.parsing import read_csv_text
from ivr.practice.data import PracticeData
from ivr.practice.demo import seed_demo
from ivr.practice.models import Appointment, PracticeChange

NY = ZoneInfo("America/New_York")
ALEX = "+15551230001"
RESCHEDULE = "1;04151985#;1;1;1"  # to Tuesday 9 AM, the first slot offered
CANCEL = "1;04151985#;2;1;1"


@pytest.fixture
def database(any_database, clock):
    """The demo practice in a migrated database, on SQLite and on PostgreSQL (the app and sim use it)."""
    seed_demo(any_database.sessions, clock.now, NY)
    return any_database


@pytest.fixture
def ehr_export(database, tmp_path) -> str:
    """The EHR's appointments export as it is before any call: what the practice re-imports unchanged."""
    export_practice(database.sessions, tmp_path / "c.csv", tmp_path / "appointments.csv", tz=NY)
    return read_csv_text(tmp_path / "appointments.csv")


LATER = ("A-2007", dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC))  # Alex's following session


def ny(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=NY).astimezone(dt.UTC)


def active(database, client_id: str) -> list[tuple[str, dt.datetime]]:
    with database.sessions() as db:
        rows = db.scalars(select(Appointment).where(Appointment.client_id == client_id,
                                                    Appointment.status == "scheduled").order_by(Appointment.start))
        return [(a.id, a.start) for a in rows]


def changes(database) -> list[tuple[str, str, str, dict | None]]:
    with database.sessions() as db:
        return [(e.kind, e.appointment_id, e.state, e.conflict)
                for e in db.scalars(select(PracticeChange).order_by(PracticeChange.id))]


def edit(text: str, appointment_id: str, **cells: str) -> str:
    """The export with one row changed (or, for an id not in it, a row added from A-2001's)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    found = [r for r in rows if r["appointment_id"] == appointment_id]
    if not found:
        found = [{**next(r for r in rows if r["appointment_id"] == "A-2001"), "appointment_id": appointment_id}]
        rows.append(found[0])
    found[0].update(cells)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def reimport(database, text: str, clock):
    return import_practice(database.sessions, appointments_text=text, now=clock.now)


def phone_id(database) -> str:
    with database.sessions() as db:
        return db.get(Appointment, "A-2001").replaced_by


def test_reschedule_then_unchanged_export_keeps_the_phone_appointment(sim, database, ehr_export, clock):
    sim.call(from_=ALEX, script=RESCHEDULE)
    new = phone_id(database)
    report = reimport(database, ehr_export, clock)
    assert active(database, "C-1001") == [(new, ny(24, 9)), LATER]
    assert (report.appointments.kept, report.appointments.conflicts) == (1, 0)
    assert str(report.appointments) == ("0 created, 0 updated, 12 unchanged, 1 kept (phone change pending), "
                                        "0 confirmed, 0 conflicts")
    assert changes(database) == [("appointment_moved", "A-2001", "to_enter", None)]


def test_cancellation_then_unchanged_export_stays_cancelled(sim, database, ehr_export, clock):
    sim.call(from_=ALEX, script=CANCEL)
    report = reimport(database, ehr_export, clock)
    with database.sessions() as db:
        assert db.get(Appointment, "A-2001").status == "cancelled"
    assert report.appointments.kept == 1
    assert changes(database) == [("appointment_cancelled", "A-2001", "to_enter", None)]


def test_the_ehr_moving_the_same_appointment_confirms_the_entry(sim, database, ehr_export, clock):
    sim.call(from_=ALEX, script=RESCHEDULE)
    new = phone_id(database)
    moved = edit(ehr_export, "A-2001", start="2026-11-24T09:00:00-05:00", end="2026-11-24T09:50:00-05:00")
    report = reimport(database, moved, clock)
    assert report.appointments.confirmed == 1
    assert changes(database) == [("appointment_moved", "A-2001", "confirmed", None)]
    assert active(database, "C-1001") == [(new, ny(24, 9)), LATER]
    # Imported again, it changes nothing; a later move in the EHR reaches the phone-made appointment.
    assert reimport(database, moved, clock).appointments.updated == 0
    later = edit(ehr_export, "A-2001", start="2026-11-24T13:00:00-05:00", end="2026-11-24T13:50:00-05:00")
    assert reimport(database, later, clock).appointments.updated == 1
    assert active(database, "C-1001") == [(new, ny(24, 13)), LATER]


def test_the_ehr_rebooking_under_a_new_id_confirms_and_links_it(sim, database, ehr_export, clock):
    sim.call(from_=ALEX, script=RESCHEDULE)
    new = phone_id(database)
    text = edit(edit(ehr_export, "A-2001", status="Rescheduled"), "E-77", start="2026-11-24T09:00:00-05:00",
                end="2026-11-24T09:50:00-05:00", status="Scheduled")
    for _ in range(2):  # the second import of the same export changes nothing
        report = reimport(database, text, clock)
        assert report.appointments.created == 0 and report.conflicts == []
        assert active(database, "C-1001") == [(new, ny(24, 9)), LATER]
    assert changes(database) == [("appointment_moved", "A-2001", "confirmed", None)]
    with database.sessions() as db:
        assert db.get(Appointment, new).ehr_id == "E-77"


def test_the_ehr_showing_the_cancellation_confirms_it(sim, database, ehr_export, clock):
    sim.call(from_=ALEX, script=CANCEL)
    report = reimport(database, edit(ehr_export, "A-2001", status="Late Cancel"), clock)
    assert report.appointments.confirmed == 1
    assert changes(database) == [("appointment_cancelled", "A-2001", "confirmed", None)]


def test_a_conflicting_row_is_reported_and_everything_else_imported(sim, database, ehr_export, clock):
    sim.call(from_=ALEX, script=RESCHEDULE)
    new = phone_id(database)
    text = edit(edit(ehr_export, "A-2001", start="2026-11-24T11:00:00-05:00", end="2026-11-24T11:50:00-05:00"),
                "A-2002", start="2026-11-24T15:00:00-05:00", end="2026-11-24T15:50:00-05:00")
    text = edit(text, "E-NEW", client_id="C-1006", start="2026-11-25T16:00:00-05:00",
                end="2026-11-25T16:50:00-05:00")
    report = reimport(database, text, clock)
    line = text.splitlines().index(next(r for r in text.splitlines() if r.startswith("A-2001,"))) + 1
    assert [str(c) for c in report.conflicts] == [
        f"appointments.csv:{line}: the EHR shows this appointment differently from the change made by phone "
        "(change #1): a staff member chooses"]
    assert (report.appointments.created, report.appointments.updated, report.appointments.conflicts) == (1, 1, 1)
    assert active(database, "C-1001") == [(new, ny(24, 9)), LATER]
    assert ("E-NEW", ny(25, 16)) in active(database, "C-1006")
    [(kind, appointment_id, state, conflict)] = changes(database)
    assert (state, conflict["start"], conflict["line"]) == ("to_enter", "2026-11-24T16:00:00+00:00", line)
    # A staff member takes the EHR's version: the phone-made appointment moves to 11, the entry is confirmed.
    with database.sessions() as db, db.begin():
        journal.resolve_conflict(db, 1, "ehr", user_id=1, now=clock.now)
    assert active(database, "C-1001") == [(new, ny(24, 11)), LATER]
    assert changes(database) == [("appointment_moved", "A-2001", "confirmed", None)]


def test_reimport_after_a_phone_booking_at_the_same_start_succeeds(app, sim, database, ehr_export, clock):
    """Alex moves 10:00 → 9:00 by phone; Jamie then moves into Tuesday 10:00; the EHR still has both old rows."""
    sim.call(from_=ALEX, script=RESCHEDULE)
    flows = app.extensions["quietline"].flows.current()
    session = CallSession(call_sid="CA" + "6" * 32, caller=None, started_at=clock.now.isoformat(), vars={
        "caller": {"verified": True, "client_id": "C-1006"}, "appt": {"id": "A-2006"},
        "slots": [ny(24, 10).isoformat()], "choice": 1})
    assert book_slot(ActionContext(session, flows, clock.now, PracticeData(database.sessions)), {}).outcome == "booked"
    report = reimport(database, ehr_export, clock)
    assert (report.appointments.kept, report.conflicts) == (2, [])
    with database.sessions() as db:
        jamie = db.get(Appointment, "A-2006").replaced_by
    assert active(database, "C-1006") == [(jamie, ny(24, 10))]
    # Another client's new EHR row at a phone-booked start is a conflict for staff, not a failed import.
    text = edit(ehr_export, "E-CLASH", client_id="C-1003", start="2026-11-24T10:00:00-05:00",
                end="2026-11-24T10:50:00-05:00")
    report = reimport(database, text, clock)
    assert [c.reason for c in report.conflicts] == [
        f"clinician 'maya-chen' has appointment '{jamie}' booked by phone at this start"]
    assert active(database, "C-1006") == [(jamie, ny(24, 10))]
    assert report.appointments.kept == 2


JAMIE = "+15550100111"
JAMIE_MOVE = "1;12051969#;1;1;1"  # A-2006 to the first slot offered


def open_conflicts(database) -> tuple[int, list[int]]:
    with database.sessions() as db:
        return journal.summary(db).conflicts, [e.id for e in journal.entries(db, conflicts=True)]


def test_choosing_the_ehr_on_a_slot_conflict_applies_to_that_row_not_the_phone_appointment(
        sim, database, ehr_export, clock):
    """Finding 1: a new EHR row at the start Jamie moved into by phone; "ehr" is about that row (A-9999)."""
    sim.call(from_=JAMIE, script=JAMIE_MOVE)
    with database.sessions() as db:
        jamie = db.get(Appointment, "A-2006").replaced_by
        moved_to = db.get(Appointment, jamie).start
    local = moved_to.astimezone(NY)
    text = edit(ehr_export, "A-9999", client_id="C-1003", start=local.isoformat(),
                end=(local + dt.timedelta(minutes=50)).isoformat())
    report = reimport(database, text, clock)
    assert [c.reason for c in report.conflicts] == [
        f"clinician 'maya-chen' has appointment '{jamie}' booked by phone at this start"]
    [entry_id] = [e for e in open_conflicts(database)[1]]
    # The EHR's version of A-9999 cannot go in while Jamie holds the slot: said so, and nothing changes.
    with database.sessions() as db, db.begin(), pytest.raises(ConflictChoiceFailed, match=jamie):
        journal.resolve_conflict(db, entry_id, "ehr", user_id=1, now=clock.now)
    assert changes(database)[-1][2] == "to_enter"
    assert active(database, "C-1006") == [(jamie, moved_to)]
    # Once Jamie's appointment is out of the way (cancelled here), "ehr" creates A-9999, and Jamie's
    # entry is left as it was: the EHR still lacks the phone's change.
    with database.sessions() as db, db.begin():
        db.get(Appointment, jamie).status = "cancelled"
        journal.resolve_conflict(db, entry_id, "ehr", user_id=1, now=clock.now)
    assert ("A-9999", moved_to) in active(database, "C-1003")
    assert changes(database) == [("appointment_moved", "A-2006", "to_enter", None)]
    assert open_conflicts(database) == (0, [])


def test_ehr_choice_on_a_slot_conflict_never_confirms_or_reverts_the_phone_move(sim, database, ehr_export, clock):
    """Finding 1's re-import: after the refused "ehr" choice and "phone", the same file keeps Jamie's move."""
    sim.call(from_=JAMIE, script=JAMIE_MOVE)
    with database.sessions() as db:
        jamie = db.get(Appointment, "A-2006").replaced_by
        moved_to = db.get(Appointment, jamie).start
    local = moved_to.astimezone(NY)
    text = edit(ehr_export, "A-9999", client_id="C-1003", start=local.isoformat(),
                end=(local + dt.timedelta(minutes=50)).isoformat())
    reimport(database, text, clock)
    with database.sessions() as db, db.begin():
        journal.resolve_conflict(db, 1, "phone", user_id=1, now=clock.now)
    for _ in range(2):  # finding 12: the same EHR row is no new conflict once staff chose the phone's
        report = reimport(database, text, clock)
        assert (report.appointments.created, report.appointments.updated, report.conflicts) == (0, 0, [])
        assert report.appointments.kept == 2
        assert active(database, "C-1006") == [(jamie, moved_to)]
        assert changes(database) == [("appointment_moved", "A-2006", "to_enter", None)]
    # A different EHR version of that row is a conflict again.
    other = edit(text, "A-9999", end=(local + dt.timedelta(minutes=45)).isoformat())
    assert len(reimport(database, other, clock).conflicts) == 1


def test_a_settled_conflict_leaves_the_conflicts_tab(sim, database, ehr_export, clock):
    """Finding 2: a settled conflict is SQL NULL, on SQLite and PostgreSQL, whichever the choice."""
    sim.call(from_=ALEX, script=RESCHEDULE)
    text = edit(ehr_export, "A-2001", start="2026-11-24T11:00:00-05:00", end="2026-11-24T11:50:00-05:00")
    for choice in ("phone", "ehr"):
        if choice == "ehr":  # an EHR version different from the one overridden: a new conflict
            text = edit(text, "A-2001", start="2026-11-24T13:00:00-05:00", end="2026-11-24T13:50:00-05:00")
        assert len(reimport(database, text, clock).conflicts) == 1
        assert open_conflicts(database) == (1, [1])
        with database.sessions() as db, db.begin():
            journal.resolve_conflict(db, 1, choice, user_id=1, now=clock.now)
        assert open_conflicts(database) == (0, [])
        with database.sessions() as db, pytest.raises(ChangeNotFound, match="no open conflict"):
            journal.resolve_conflict(db, 1, choice, user_id=1, now=clock.now)


def test_an_import_confirming_a_change_clears_its_conflict(sim, database, ehr_export, clock):
    """Finding 2, the importer's confirming path: the conflict it clears is SQL NULL too."""
    sim.call(from_=ALEX, script=RESCHEDULE)
    reimport(database, edit(ehr_export, "A-2001", start="2026-11-24T11:00:00-05:00",
                            end="2026-11-24T11:50:00-05:00"), clock)
    assert open_conflicts(database) == (1, [1])
    report = reimport(database, edit(ehr_export, "A-2001", start="2026-11-24T09:00:00-05:00",
                                     end="2026-11-24T09:50:00-05:00"), clock)
    assert report.appointments.confirmed == 1
    assert open_conflicts(database) == (0, [])
    assert changes(database) == [("appointment_moved", "A-2001", "confirmed", None)]


def test_reimporting_quietlines_own_export_after_a_phone_move_is_lossless(sim, database, clock, tmp_path):
    """Finding 4: move Alex by phone, export, import that export: no conflict, nothing changes, no entry lost."""
    sim.call(from_=ALEX, script=RESCHEDULE)
    new = phone_id(database)
    export_practice(database.sessions, tmp_path / "c.csv", tmp_path / "own.csv", tz=NY)
    text = read_csv_text(tmp_path / "own.csv")
    for _ in range(2):
        report = reimport(database, text, clock)
        assert report.conflicts == []
        assert (report.appointments.created, report.appointments.updated) == (0, 0)
        assert active(database, "C-1001") == [(new, ny(24, 9)), LATER]
        [(kind, appointment_id, state, conflict)] = changes(database)
        assert (kind, appointment_id, conflict) == ("appointment_moved", "A-2001", None)
    with database.sessions() as db:
        assert db.get(Appointment, "A-2001").status != "scheduled"


CASEY = "+15550100109"
CASEY_MOVE = "1;*2468#;1;1;1"
CASEY_CANCEL = "1;*2468#;2;1;1"


def test_an_export_showing_the_first_of_two_phone_changes_confirms_that_one(sim, database, ehr_export, clock):
    """Finding 5: Casey moves A-2005, then cancels; the EHR shows only the move: #1 confirmed, #2 still to enter."""
    sim.call(from_=CASEY, script=CASEY_MOVE)
    with database.sessions() as db:
        moved = db.get(Appointment, db.get(Appointment, "A-2005").replaced_by)
        start, end = moved.start.astimezone(NY), moved.end.astimezone(NY)
    sim.call(from_=CASEY, script=CASEY_CANCEL)
    assert [c[:3] for c in changes(database)] == [("appointment_moved", "A-2005", "to_enter"),
                                                  ("appointment_cancelled", moved.id, "to_enter")]
    report = reimport(database, edit(ehr_export, "A-2005", start=start.isoformat(), end=end.isoformat()), clock)
    assert report.conflicts == []
    assert changes(database) == [("appointment_moved", "A-2005", "confirmed", None),
                                 ("appointment_cancelled", moved.id, "to_enter", None)]
    assert active(database, "C-1005") == []
    # The export showing the cancellation too confirms the rest.
    report = reimport(database, edit(ehr_export, "A-2005", start=start.isoformat(), end=end.isoformat(),
                                     status="Cancelled"), clock)
    assert report.conflicts == [] and report.appointments.confirmed == 1
    assert [c[2] for c in changes(database)] == ["confirmed", "confirmed"]


def test_an_export_showing_the_first_of_two_moves_confirms_that_one(sim, database, ehr_export, clock):
    """Finding 5, two moves: the EHR at the first move's time confirms it and keeps the second."""
    sim.call(from_=ALEX, script=RESCHEDULE)
    with database.sessions() as db:
        first = db.get(Appointment, phone_id(database))
        start, end = first.start.astimezone(NY), first.end.astimezone(NY)
    sim.call(from_=ALEX, script="1;04151985#;1;2;1")  # the second slot offered this time
    report = reimport(database, edit(ehr_export, "A-2001", start=start.isoformat(), end=end.isoformat()), clock)
    assert report.conflicts == []
    assert [c[2] for c in changes(database)] == ["confirmed", "to_enter"]
    assert len(active(database, "C-1001")) == 2  # the second move's appointment and A-2007
    assert (first.id, first.start) not in active(database, "C-1001")


def texting_entries(database) -> list[tuple[str, str, str]]:
    with database.sessions() as db:
        return [(e.client_id, e.after["texting"], e.state) for e in db.scalars(
            select(PracticeChange).where(PracticeChange.kind == "texting_preference").order_by(PracticeChange.id))]


def test_a_clients_export_showing_stop_or_start_confirms_the_entries(client, database, clock, tmp_path):
    """Finding 7b: STOP then START from Alex's number; clients.csv's may_text confirms what it shows."""
    from tests.helpers.webhooks import post

    export_practice(database.sessions, tmp_path / "clients.csv", tmp_path / "a.csv", tz=NY)
    clients = read_csv_text(tmp_path / "clients.csv")
    for n, body in enumerate(("STOP", "START")):
        post(client, "/twilio/sms", {"MessageSid": f"SM{n}" + "1" * 31, "AccountSid": "AC" + "a" * 32,
                                     "From": ALEX, "To": "+15555550100", "Body": body})
    assert texting_entries(database) == [("C-1001", "stopped", "to_enter"), ("C-1001", "allowed", "to_enter")]
    rows = list(csv.DictReader(io.StringIO(clients)))
    alex = next(r for r in rows if r["client_id"] == "C-1001")

    def with_may_text(value: str) -> str:
        alex["may_text"] = value
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    yes = alex["may_text"]
    no = {"yes": "no", "true": "false", "y": "n", "1": "0"}[yes.lower()]
    # The EHR shows the STOP only: that entry is confirmed, the START stays to enter.
    report = import_practice(database.sessions, clients_text=with_may_text(no), now=clock.now)
    assert report.clients.confirmed == 1
    assert texting_entries(database) == [("C-1001", "stopped", "confirmed"), ("C-1001", "allowed", "to_enter")]
    import_practice(database.sessions, clients_text=with_may_text(yes), now=clock.now)
    assert texting_entries(database) == [("C-1001", "stopped", "confirmed"), ("C-1001", "allowed", "confirmed")]


def test_a_move_there_and_back_cancels_out(sim, database, ehr_export, clock):
    """Finding 8: 10 → 9 → 10 by phone before anyone entered it: nothing to enter, the EHR's row stays true."""
    sim.call(from_=ALEX, script=RESCHEDULE)  # to 9
    sim.call(from_=ALEX, script=RESCHEDULE)  # and back to 10, the first slot offered now
    with database.sessions() as db:
        back = journal.appointment_chain(db, "A-2001")[-1]
        assert db.get(Appointment, back.id).start == ny(24, 10)
        got = [(e.state, e.after["note"]) for e in db.scalars(select(PracticeChange).order_by(PracticeChange.id))]
        assert journal.entries(db) == []
    assert got == [("confirmed", "changes #1, #2 cancel out: nothing to enter")] * 2
    report = reimport(database, ehr_export, clock)
    assert report.conflicts == [] and report.appointments.updated == 0
    assert active(database, "C-1001") == [(back.id, ny(24, 10)), LATER]


def test_a_move_back_after_the_first_was_entered_is_still_to_enter(sim, database, clock):
    sim.call(from_=ALEX, script=RESCHEDULE)
    with database.sessions() as db, db.begin():
        journal.mark_entered(db, [1], user_id=1, now=clock.now)
    sim.call(from_=ALEX, script=RESCHEDULE)
    assert [c[2] for c in changes(database)] == ["entered", "to_enter"]
