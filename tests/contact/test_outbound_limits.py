"""The per-client limits are hard (issues 11/12): every automated touch counts and is held back, corrections
included; one held back that cannot wait (a correction, a "late" follow-up) is recorded skipped with the limit
and becomes a staff task at once (escalation ``held_by_limit`` naming the trigger and the appointment).  Real
RQ worker and scheduler on the test clock, both databases, the Twilio stand-in."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.escalations.models import Escalation
from ivr.practice.models import Appointment
from tests.helpers.contact import add_appointment, add_client, touch_rows

NY = ZoneInfo("America/New_York")
PHONE = "+15551239031"
TEN = dt.datetime(2026, 11, 30, 10, tzinfo=NY).astimezone(dt.UTC)  # Monday 10 AM
NINE = TEN - dt.timedelta(hours=1)


@pytest.fixture
def reminded(ql, database, jobs, standin):
    """Robin's appointment Monday at 10 AM; the 2-hours-before reminder went out at 9:00 (quiet hours till 9)."""
    jobs.clock.now = NINE - dt.timedelta(minutes=30)
    add_client(database, "C-9031", "Robin", (PHONE,))
    add_appointment(database, "A-9031", "C-9031", TEN)
    jobs.run()
    jobs.at(NINE)
    assert [m["body"] for m in standin.messages() if m["to"] == PHONE] == [
        "Hi Robin, a reminder of your appointment Mon, Nov 30 at 10 AM. Reply 1 to confirm or 2 to change it. "
        "Reply STOP to stop these texts."]
    return "C-9031"


def rows(database) -> list[tuple[str, str, str | None]]:
    return sorted((r.touch_id.split("/", 1)[1], r.status, r.why_skipped) for r in touch_rows(database, "C-9031")
                  if r.status != "cancelled" and "two_days_before" not in r.touch_id)


def tasks(database) -> list[tuple[str, str | None, dict | None, dt.datetime]]:
    with database.sessions() as db:
        return [(e.reason, e.client_id, e.details, e.created_at)
                for e in db.scalars(select(Escalation).where(Escalation.client_id == "C-9031")
                                    .order_by(Escalation.id))]


def move(database, jobs, at: dt.datetime, start: dt.datetime) -> None:
    jobs.clock.now = at
    with database.sessions() as db, db.begin():
        appt = db.get(Appointment, "A-9031")
        appt.start, appt.end = start, start + dt.timedelta(minutes=50)
        appt.changed_at = at
    jobs.run()  # the pass the change asked for


def test_a_move_after_the_days_reminder_sends_no_correction_and_staff_get_a_task_once_it_settled(
        reminded, database, jobs, standin):
    # The reminder at 09:00 for 10 AM, the appointment moved to 11:00 at 09:01: nothing is decided before `settle`
    # (3 minutes) has passed; then the held correction becomes a staff task.
    move(database, jobs, NINE + dt.timedelta(minutes=1), TEN + dt.timedelta(hours=1))
    jobs.at(NINE + dt.timedelta(minutes=3, seconds=59))
    assert tasks(database) == []
    assert [r for r in rows(database) if "moved" in r[0]] == []
    jobs.at(NINE + dt.timedelta(minutes=4))
    assert rows(database) == [
        ("reminders.moved/A-9031/v2/1/text", "skipped", "daily_cap"),
        ("reminders.moved/A-9031/v2/held-1/staff_task", "done", None),
        ("reminders.two_hours_before/A-9031/v1/1/text", "sent", None),
    ]
    assert tasks(database) == [("held_by_limit", "C-9031", {
        "task": "Not sent automatically (daily_cap): reminders.moved, appointment A-9031. "
                "Contact the client yourself.",
        "trigger": "reminders.moved", "why": "limits", "appointment_id": "A-9031"}, NINE + dt.timedelta(minutes=4))]
    for minutes in (5, 30, 90):  # later passes: no automated correction, no second task
        jobs.at(NINE + dt.timedelta(minutes=minutes))
    assert len([m for m in standin.messages() if m["to"] == PHONE]) == 1
    assert len(tasks(database)) == 1


def test_late_after_a_same_day_reminder_is_held_and_goes_to_staff_at_15_minutes(reminded, database, jobs, standin):
    jobs.at(TEN + dt.timedelta(minutes=14, seconds=59))
    assert tasks(database) == []
    jobs.at(TEN + dt.timedelta(minutes=15))
    assert [r for r in rows(database) if "late" in r[0]] == [
        ("follow_ups.late/A-9031/v1/1/call", "skipped", "daily_cap"),
        ("follow_ups.late/A-9031/v1/held-1/staff_task", "done", None),
    ]
    assert [(reason, details["trigger"], details["appointment_id"], at) for reason, _, details, at in tasks(database)] \
        == [("held_by_limit", "follow_ups.late", "A-9031", TEN + dt.timedelta(minutes=15))]
    jobs.at(TEN + dt.timedelta(minutes=50))
    assert [c for c in standin.calls() if c["to"] == PHONE] == []
    assert len(tasks(database)) == 1


@pytest.mark.parametrize("down_until", [dt.timedelta(hours=1, minutes=50), dt.timedelta(days=1, hours=9, minutes=5)])
def test_after_downtime_a_late_follow_up_whose_window_passed_is_late_and_gives_staff_nothing(
        down_until, reminded, database, jobs, standin):
    """Break-test s25b #1: moved to 11:00 at 09:01, then the service is down until after the late window (11:15 to
    11:45): the first pass records ``late`` (not the daily limit, which only mattered that morning) and no staff
    task appears a day and a half after the appointment."""
    jobs.clock.now = NINE + dt.timedelta(minutes=1)
    with database.sessions() as db, db.begin():
        appt = db.get(Appointment, "A-9031")
        appt.start, appt.end = TEN + dt.timedelta(hours=1), TEN + dt.timedelta(hours=1, minutes=50)
        appt.changed_at = jobs.clock.now
    jobs.run()
    jobs.at(NINE + dt.timedelta(minutes=4))
    assert len(tasks(database)) == 1  # the held correction (see above)
    jobs.at(TEN + down_until)  # the first pass after the downtime
    assert [r for r in rows(database) if "late" in r[0]] == [("follow_ups.late/A-9031/v2/1/call", "skipped", "late")]
    assert [details["trigger"] for _, _, details, _ in tasks(database)] == ["reminders.moved"]
    assert [c for c in standin.calls() if c["to"] == PHONE] == []


def test_a_move_and_a_move_back_within_settle_leave_nothing_for_staff(reminded, database, jobs, standin):
    """Break-test s26 SF2: the reminder at 09:00 for 10:00; moved to 10:30 at 09:00:25, back to 10:00 at 09:01:05
    (within `settle`, 3 minutes).  Nothing is sent and no task, then or later."""
    move(database, jobs, NINE + dt.timedelta(seconds=25), TEN + dt.timedelta(minutes=30))
    jobs.at(NINE + dt.timedelta(seconds=45))
    move(database, jobs, NINE + dt.timedelta(minutes=1, seconds=5), TEN)
    for moment in (dt.timedelta(minutes=2), dt.timedelta(minutes=4, seconds=30), dt.timedelta(minutes=10),
                   dt.timedelta(hours=3)):
        jobs.at(NINE + moment)
    assert tasks(database) == []
    assert [r for r in rows(database) if "moved" in r[0] or "held" in r[0]] == []
    assert len([m for m in standin.messages() if m["to"] == PHONE]) == 1  # the 09:00 reminder only
