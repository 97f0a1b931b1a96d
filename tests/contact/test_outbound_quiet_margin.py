"""A reminder that quiet hours or closed days push back to the last allowed minute of a day is planned 30 minutes
before it (break test s25, BLOCKER 1), and one whose send job runs when no allowed instant is left in its window is
recorded skipped ``late`` — never cancelled ``not_planned`` — and becomes a staff task (``not_sent``, why ``late``).
Real RQ worker and scheduler on the test clock, both databases, the Twilio stand-in; New York, Arizona and an 808
(Hawaii) number over the March DST change."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.escalations.models import Escalation
from tests.helpers.contact import add_appointment, add_client, touch_rows

NY = ZoneInfo("America/New_York")
AZ = ZoneInfo("America/Phoenix")
PHONE = "+15551110001"
HAWAII = "+18085550123"


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(dt.UTC)


def two_days_row(database):
    [row] = [r for r in touch_rows(database, "C-1") if "two_days_before" in r.touch_id and "/1/text" in r.touch_id]
    return row


def tasks(database) -> list[tuple[str, str | None, dict | None, dt.datetime]]:
    with database.sessions() as db:
        return [(e.reason, e.client_id, e.details, e.created_at)
                for e in db.scalars(select(Escalation).where(Escalation.client_id == "C-1").order_by(Escalation.id))]


@pytest.fixture
def monday(database, jobs):
    """Ari (New York) has an appointment Mon 7 Dec 11:00; its two-days-before moment (Sat) is not a business day."""
    jobs.clock.now = at(NY, 2026, 12, 3, 8)
    add_client(database, "C-1", "Ari", (PHONE,))
    add_appointment(database, "A-1", "C-1", at(NY, 2026, 12, 7, 11))
    jobs.run()


def test_a_reminder_pushed_back_to_friday_evening_is_planned_30_minutes_before_quiet_hours(monday, database, jobs,
                                                                                          standin):
    row = two_days_row(database)
    assert (row.status, row.due) == ("planned", at(NY, 2026, 12, 4, 18, 29))
    jobs.at(at(NY, 2026, 12, 4, 18, 59))  # the send job runs 30 minutes late: still inside the allowed day
    assert [m["body"] for m in standin.messages() if m["to"] == PHONE] == [
        "Hi Ari, a reminder of your appointment Mon, Dec 7 at 11 AM. Reply 1 to confirm or 2 to change it. "
        "Reply STOP to stop these texts."]
    assert two_days_row(database).status in ("sent", "queued")
    assert tasks(database) == []


def test_a_reminder_whose_job_runs_after_the_last_allowed_minute_is_skipped_late_and_staff_are_told(
        monday, database, jobs, standin):
    jobs.at(at(NY, 2026, 12, 4, 19))  # no allowed instant left before its window closes (Sat, Sun are closed)
    jobs.at(at(NY, 2026, 12, 4, 19, 1))
    assert standin.messages() == []
    row = two_days_row(database)
    assert (row.status, row.why_skipped) == ("skipped", "late")
    assert tasks(database) == [("not_sent", "C-1", {
        "task": "Not sent automatically (late): reminders.two_days_before, appointment A-1. "
                "Contact the client yourself.",
        "trigger": "reminders.two_days_before", "why": "late", "appointment_id": "A-1"}, at(NY, 2026, 12, 4, 19))]
    for later in (at(NY, 2026, 12, 5, 10), at(NY, 2026, 12, 7, 9), at(NY, 2026, 12, 7, 9, 5)):
        jobs.at(later)
    # Monday: the two-hours reminder goes; the skipped one stays skipped and staff were told once.
    assert [m["body"] for m in standin.messages() if m["to"] == PHONE] == [
        "Hi Ari, a reminder of your appointment Mon, Dec 7 at 11 AM. Reply 1 to confirm or 2 to change it. "
        "Reply STOP to stop these texts."]
    assert (two_days_row(database).status, two_days_row(database).why_skipped) == ("skipped", "late")
    assert len(tasks(database)) == 1


# DST starts Sun 14 Mar 2027 in New York (Arizona keeps MST). The appointment Mon 15 Mar 11:00 New York time; its
# two-days-before moment is Saturday, so the reminder goes back to Friday 12 Mar, 30 minutes before the client's
# last allowed minute: 18:29 Arizona time for an Arizona record; for an 808 number with no record zone the stricter
# of New York and Hawaii, i.e. until 19:00 New York.
@pytest.mark.parametrize(("phone", "zone", "due", "closed"), [
    (PHONE, "America/Phoenix", at(AZ, 2027, 3, 12, 18, 29), at(AZ, 2027, 3, 12, 19)),
    (HAWAII, None, at(NY, 2027, 3, 12, 18, 29), at(NY, 2027, 3, 12, 19)),
], ids=["arizona-record", "hawaii-808"])
def test_zones_on_the_dst_week_get_the_margin_and_a_late_job_is_skipped_late(phone, zone, due, closed, database,
                                                                             jobs, standin):
    jobs.clock.now = at(NY, 2027, 3, 10, 8)
    add_client(database, "C-1", "Ari", (phone,), time_zone=zone)
    add_appointment(database, "A-1", "C-1", at(NY, 2027, 3, 15, 11))
    jobs.run()
    assert (two_days_row(database).status, two_days_row(database).due) == ("planned", due)
    jobs.at(closed)
    jobs.at(closed + dt.timedelta(minutes=1))
    assert standin.messages() == []
    assert (two_days_row(database).status, two_days_row(database).why_skipped) == ("skipped", "late")
    assert [(reason, details["why"], details["trigger"], created) for reason, _, details, created in tasks(database)] \
        == [("not_sent", "late", "reminders.two_days_before", closed)]
