"""The change journal: every change made by phone or text is an entry, with before → after, when and through
which call; the daily link-only reminder to staff (a real RQ worker); the dashboard's Changes page
(list without client details, audited opening, mark entered one by one or in bulk, formula-safe CSV).

Calls are placed with the simulator (signed webhooks, TwiML followed) against the demo practice;
Monday 23 November 2026, 10:00 in New York.
"""
from __future__ import annotations

import csv
import datetime as dt
import io

from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select

from ivr.escalations.models import AuditEntry, StaffUser
from ivr.practice.models import Appointment, PracticeChange
from tests.helpers.dashboard import OWNER_PASSWORD, STAFF_PASSWORD, add_user, signed_in, token
from tests.helpers.webhooks import post

ALEX = "+15551230001"
OWNER_PHONE = "+15550109999"


def entries(database) -> list[PracticeChange]:
    with database.sessions() as db:
        return list(db.scalars(select(PracticeChange).order_by(PracticeChange.id)))


def inbound_text(client, body: str, sender: str = ALEX):
    return post(client, "/twilio/sms", {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "a" * 32,
                                        "From": sender, "To": "+15555550100", "Body": body})


def test_a_phone_reschedule_is_an_entry_with_before_and_after(sim, database):
    result = sim.call(from_=ALEX, script="1;04151985#;1;1;1")
    with database.sessions() as db:
        new_id = db.get(Appointment, "A-2001").replaced_by
    [entry] = entries(database)
    assert (entry.kind, entry.client_id, entry.appointment_id, entry.state, entry.source) == (
        "appointment_moved", "C-1001", "A-2001", "to_enter", f"call:{result.call_sid}")
    assert entry.before == {"start": "2026-11-24T15:00:00+00:00", "end": "2026-11-24T15:50:00+00:00",
                            "status": "scheduled", "clinician_id": "maya-chen"}
    assert entry.after == {"start": "2026-11-24T14:00:00+00:00", "end": "2026-11-24T14:50:00+00:00",
                           "status": "scheduled", "clinician_id": "maya-chen", "appointment_id": new_id}
    assert entry.made_at == dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def test_a_phone_cancellation_is_an_entry(sim, database):
    result = sim.call(from_=ALEX, script="1;04151985#;2;1;1")
    [entry] = entries(database)
    assert (entry.kind, entry.appointment_id, entry.source) == ("appointment_cancelled", "A-2001",
                                                                 f"call:{result.call_sid}")
    assert entry.before["status"] == "scheduled"
    assert entry.after == {**entry.before, "status": "cancelled", "cancel_reason": "schedule_conflict"}


def test_stop_and_start_are_entries_for_each_client_on_the_number_once_per_change(client, database):
    inbound_text(client, "STOP")
    inbound_text(client, "stop")  # no change: no second entry
    inbound_text(client, "START")
    got = [(e.kind, e.client_id, e.before["texting"], e.after["texting"], e.source) for e in entries(database)]
    sms = "text:SM" + "1" * 32
    assert got == [("texting_preference", "C-1001", "allowed", "stopped", sms),
                   ("texting_preference", "C-1001", "stopped", "allowed", sms)]


def test_a_stop_from_a_number_nobody_has_records_no_entry(client, database):
    inbound_text(client, "STOP", sender="+15550100999")
    assert entries(database) == []


# --------------------------------------------------------------------------- the daily reminder


def run_reminder(app, redis_conn) -> None:
    """Enqueue the reminder job now and run it with a real RQ worker (burst)."""
    from rq import SimpleWorker

    from workers.runtime import using

    queue = Queue("calls", connection=redis_conn, serializer=JSONSerializer)
    queue.enqueue("workers.changes.remind_changes")
    with using(app.extensions["quietline"]):
        SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True)


def test_staff_get_one_link_only_text_a_day_while_changes_wait_too_long(sim, app, database, redis_conn, clock,
                                                                        standin):
    """Owners and staff roles alike (review finding 7a), each with a phone and active; one text a day each."""
    add_user(database, "olive.owner@quietline.test", "Olive Owner", "owner", OWNER_PASSWORD, phone=OWNER_PHONE)
    add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD, phone="+15550108888")
    gone = add_user(database, "gone.staff@quietline.test", "Gone Staff", "staff", STAFF_PASSWORD,
                    phone="+15550107777")
    with database.sessions() as db, db.begin():
        db.get(StaffUser, gone.id).active = False
    add_user(database, "no.phone@quietline.test", "No Phone", "staff", STAFF_PASSWORD)
    sim.call(from_=ALEX, script="1;04151985#;2;1;1")
    standin.reset()
    run_reminder(app, redis_conn)  # the entry is minutes old: nobody is bothered
    assert standin.messages() == []
    scheduled = Queue("calls", connection=redis_conn, serializer=JSONSerializer).scheduled_job_registry
    assert "changes-reminder-2026-11-24" in scheduled.get_job_ids()  # tomorrow 9 AM, practice time

    clock.advance(hours=24, minutes=1)
    run_reminder(app, redis_conn)
    run_reminder(app, redis_conn)  # a second run the same day texts nobody again
    body = "Quietline: changes made by phone are waiting to be entered in the EHR. https://ql.example.org/staff/changes"
    assert sorted((m["to"], m["body"]) for m in standin.messages()) == [("+15550108888", body), (OWNER_PHONE, body)]


# --------------------------------------------------------------------------- the dashboard page


def test_the_changes_page_lists_without_client_details_and_opening_is_audited(app, sim, database):
    sim.call(from_=ALEX, script="1;04151985#;2;1;1")
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    c = signed_in(app, sam)
    page = c.get("/staff/changes").get_data(as_text=True)
    [entry] = entries(database)
    assert "Appointment cancelled" in page and f"#{entry.id}" in page
    assert "Alex" not in page and "C-1001" not in page
    opened = c.post(f"/staff/changes/{entry.id}", data={"csrf_token": token(c, "/staff/changes")})
    text = opened.get_data(as_text=True)
    assert "Alex Rivera" in text and "2026-11-24 10:00–10:50, maya-chen, scheduled" in text
    with database.sessions() as db:
        assert [(a.action, a.target) for a in db.scalars(select(AuditEntry).where(
            AuditEntry.action == "view_change"))] == [("view_change", f"change:{entry.id}")]


def test_csv_download_is_formula_safe_and_marking_entered_moves_them(app, sim, database):
    from ivr.practice.models import Client

    with database.sessions() as db, db.begin():
        db.get(Client, "C-1001").first_name = '=HYPERLINK("https://evil.example","x")'
    sim.call(from_=ALEX, script="1;04151985#;2;1;1")
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    c = signed_in(app, sam)
    download = c.post("/staff/changes/export.csv", data={"csrf_token": token(c, "/staff/changes")})
    assert download.headers["Content-Disposition"] == 'attachment; filename="changes-to-enter-2026-11-23.csv"'
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    [entry] = entries(database)
    assert rows == [
        ["change_id", "made_at", "change", "client_id", "client_name", "appointment_id", "before", "after",
         "source", "state"],
        [str(entry.id), "2026-11-23 10:00", "Appointment cancelled", "C-1001",
         '\'=HYPERLINK("https://evil.example","x") Rivera', "A-2001", "2026-11-24 10:00–10:50, maya-chen, scheduled",
         "2026-11-24 10:00–10:50, maya-chen, cancelled, reason: schedule_conflict", entry.source, "to_enter"]]
    done = c.post("/staff/changes/entered", data={"change_id": [str(entry.id)],
                                                  "csrf_token": token(c, "/staff/changes")})
    assert done.status_code == 303
    [entry] = entries(database)
    assert (entry.state, entry.entered_by) == ("entered", sam.id)
    with database.sessions() as db:
        assert db.scalar(select(AuditEntry.detail).where(AuditEntry.action == "changes_entered")) == str(entry.id)


def test_a_conflict_is_shown_with_both_versions_and_settled_by_a_staff_choice(app, sim, database, clock):
    from ivr.practice.csv.importer import import_practice

    sim.call(from_=ALEX, script="1;04151985#;1;1;1")
    text = ("appointment_id,client_id,clinician,start,end,status\n"
            "A-2001,C-1001,maya-chen,2026-11-24T11:00:00-05:00,2026-11-24T11:50:00-05:00,scheduled\n")
    report = import_practice(database.sessions, appointments_text=text, now=clock.now)
    assert report.appointments.conflicts == 1
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    c = signed_in(app, sam)
    [entry] = entries(database)
    assert f"#{entry.id}" in c.get("/staff/changes?view=conflicts").get_data(as_text=True)
    page = c.post(f"/staff/changes/{entry.id}", data={"csrf_token": token(c, "/staff/changes")}).get_data(
        as_text=True)
    assert "2026-11-24 11:00–11:50, maya-chen, scheduled (appointments.csv line 2)" in page
    assert "2026-11-24 09:00–09:50, maya-chen, scheduled" in page
    kept = c.post(f"/staff/changes/{entry.id}/resolve", data={"choice": "phone",
                                                             "csrf_token": token(c, "/staff/changes")})
    assert kept.status_code == 303
    [entry] = entries(database)
    assert (entry.state, entry.conflict) == ("to_enter", None)
    with database.sessions() as db:
        assert db.scalar(select(AuditEntry.detail).where(AuditEntry.action == "conflict_resolve")) == "phone"


def test_the_csv_names_the_ehrs_appointment_id_for_chained_changes(app, sim, database):
    """Review finding 8: Alex moves twice; the second entry is about Quietline's ql-… appointment, but the CSV
    names A-2001, the id staff can find in the EHR."""
    sim.call(from_=ALEX, script="1;04151985#;1;1;1")
    sim.call(from_=ALEX, script="1;04151985#;1;2;1")
    first, second = entries(database)
    assert first.appointment_id == "A-2001" and second.appointment_id.startswith("ql-")
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    c = signed_in(app, sam)
    download = c.post("/staff/changes/export.csv", data={"csrf_token": token(c, "/staff/changes")})
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert [(r["change_id"], r["appointment_id"]) for r in rows] == [(str(first.id), "A-2001"),
                                                                      (str(second.id), "A-2001")]


def test_a_slot_conflict_names_the_ehr_row_and_the_ehr_choice_is_refused_while_the_phone_holds_it(
        app, sim, database, clock):
    """Review finding 1 through the dashboard: the page names the EHR's row (A-9999); choosing it says which
    appointment holds the slot, and Alex's move stays to enter."""
    from ivr.practice.csv.importer import import_practice

    sim.call(from_=ALEX, script="1;04151985#;1;1;1")  # Alex to Tuesday 9 AM
    with database.sessions() as db:
        phone = db.get(Appointment, "A-2001").replaced_by
    text = ("appointment_id,client_id,clinician,start,end,status\n"
            "A-9999,C-1003,maya-chen,2026-11-24T09:00:00-05:00,2026-11-24T09:50:00-05:00,scheduled\n")
    assert import_practice(database.sessions, appointments_text=text, now=clock.now).appointments.conflicts == 1
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    c = signed_in(app, sam)
    [entry] = entries(database)
    page = c.post(f"/staff/changes/{entry.id}", data={"csrf_token": token(c, "/staff/changes")}).get_data(
        as_text=True)
    assert "2026-11-24 09:00–09:50, maya-chen, scheduled, new id A-9999 (appointments.csv line 2)" in page
    c.post(f"/staff/changes/{entry.id}/resolve", data={"choice": "ehr", "csrf_token": token(c, "/staff/changes")})
    shown = c.get("/staff/changes?view=conflicts").get_data(as_text=True)
    assert f"the EHR&#39;s time is taken by appointment &#39;{phone}&#39; here" in shown
    [entry] = entries(database)
    assert entry.state == "to_enter" and entry.conflict is not None
    with database.sessions() as db:
        assert db.get(Appointment, "A-9999") is None
