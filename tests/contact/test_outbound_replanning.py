"""Reminders stay current: re-planned when an appointment moves or is cancelled (at once, through the commit
hook), a move and a move back send nothing extra, a moved appointment already reminded gets one correction;
downtime; a shared number; undelivered → the next channel; a From outside the pool is refused."""
from __future__ import annotations

import datetime as dt

import pytest

from ivr.contact import sending
from ivr.exceptions import OutboundRefused
from tests.helpers.contact import POOL, add_appointment, add_client, deliver, touch_rows
from tests.helpers.replanning import APPT, NY, PHONE, TWO_DAYS, move, rows, texts

FAMILY = "+15551239008"
TEXT = "Hi Robin, a reminder of your appointment Fri, Dec 4 at {}. Reply 1 to confirm or 2 to change it."
NOTICE = " Reply STOP to stop these texts."


@pytest.fixture
def robin(ql, database, jobs):
    jobs.clock.now = dt.datetime(2026, 11, 30, 10, tzinfo=NY).astimezone(dt.UTC)
    add_client(database, "C-9007", "Robin", (PHONE,))
    add_appointment(database, "A-9007", "C-9007", APPT)
    jobs.run()  # the pass the new appointment asked for (the commit hook)
    return "C-9007"


def test_a_move_re_plans_at_once_and_the_reminder_gives_the_new_time(robin, database, jobs, standin):
    assert rows(database) == [("reminders.two_days_before/A-9007/v1/1/text", "planned", None),
                              ("reminders.two_hours_before/A-9007/v1/1/text", "planned", None)]
    move(database, jobs.clock.now, start=APPT + dt.timedelta(hours=1))
    jobs.run()  # the planning pass the commit enqueued, no clock change needed
    assert rows(database) == [("reminders.two_days_before/A-9007/v1/1/text", "cancelled", "moved"),
                              ("reminders.two_hours_before/A-9007/v1/1/text", "cancelled", "moved"),
                              ("reminders.two_days_before/A-9007/v2/1/text", "planned", None),
                              ("reminders.two_hours_before/A-9007/v2/1/text", "planned", None)]
    jobs.at(TWO_DAYS + dt.timedelta(hours=1))
    assert texts(standin) == [TEXT.format("4 PM") + NOTICE]


def test_cancelled_nothing_is_ever_sent_for_it(robin, database, jobs, standin):
    move(database, jobs.clock.now, status="cancelled")
    jobs.run()
    assert [s for _, s, _ in rows(database)] == ["cancelled", "cancelled"]
    for day in (2, 3, 4):
        jobs.at(dt.datetime(2026, 12, day, 16, tzinfo=NY).astimezone(dt.UTC))
    assert texts(standin) == []


def test_a_move_and_a_move_back_within_three_minutes_sends_one_reminder(robin, database, jobs, standin):
    move(database, jobs.clock.now, start=APPT + dt.timedelta(days=1))
    jobs.clock.advance(minutes=2)
    move(database, jobs.clock.now, start=APPT)
    jobs.run()
    jobs.at(TWO_DAYS)
    assert texts(standin) == [TEXT.format("3 PM") + NOTICE]
    assert [r.appointment_version for r in touch_rows(database, "C-9007") if r.status == "sent"] == [3]


def test_moved_after_its_reminder_went_out_one_short_correction(robin, database, jobs, standin):
    # Moved the next morning (the reminder's day is over: the daily limit is free; the same day, the correction
    # is held and goes to staff, tests/contact/test_outbound_limits.py).
    jobs.at(TWO_DAYS)
    next_morning = dt.datetime(2026, 12, 3, 10, tzinfo=NY).astimezone(dt.UTC)
    jobs.at(next_morning)
    move(database, next_morning, start=APPT + dt.timedelta(hours=1))
    jobs.run()
    [moved] = [r for r in touch_rows(database, "C-9007") if r.kind == "moved"]
    assert moved.status == "planned" and moved.due >= jobs.clock.now + dt.timedelta(minutes=3)
    jobs.at(moved.due)
    assert texts(standin)[1:] == ["Hi Robin, a correction: your appointment is now Fri, Dec 4 at 4 PM. "
                                  "Reply 1 to confirm or 2 to change it."]


def test_downtime_one_still_in_its_window_goes_once_a_late_one_is_skipped(robin, database, jobs, standin):
    jobs.at(TWO_DAYS + dt.timedelta(hours=3))  # workers were down for three hours: still inside the window
    assert texts(standin) == [TEXT.format("3 PM") + NOTICE]
    jobs.at(TWO_DAYS + dt.timedelta(hours=4))
    assert len(texts(standin)) == 1


def test_downtime_past_the_window_is_skipped_and_recorded(robin, database, jobs, standin):
    jobs.at(dt.datetime(2026, 12, 3, 9, tzinfo=NY).astimezone(dt.UTC))  # 18 hours late; its window was 12
    assert texts(standin) == []
    assert rows(database)[0] in [("reminders.two_days_before/A-9007/v1/1/text", s, "late")
                                 for s in ("skipped", "cancelled")]


def test_a_shared_family_number_gets_the_neutral_words_only(ql, database, jobs, standin):
    jobs.clock.now = dt.datetime(2026, 11, 30, 10, tzinfo=NY).astimezone(dt.UTC)
    add_client(database, "C-9008", "Dana", (FAMILY,))
    add_client(database, "C-9009", "Riley", (FAMILY,))
    add_appointment(database, "A-9008", "C-9008", APPT)
    jobs.at(TWO_DAYS)
    [body] = texts(standin, FAMILY)
    number = "(555) 010-0190" if "0190" in body else "(555) 010-0191"
    assert body == f"Hello, this is a message about an appointment. Please call us at {number}." + NOTICE


def test_undelivered_then_the_fallback_call(robin, client, database, jobs, standin):
    jobs.at(TWO_DAYS)
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    assert deliver(client, standin.finish_message(sms["sid"], "undelivered", 30003))[0][0] == 200
    jobs.run()
    first = touch_rows(database, "C-9007")[0]
    assert (first.status, first.error_code) == ("undelivered", "30003")
    [call] = [c for c in standin.calls() if c["to"] == PHONE]
    assert call["from"] == sms["from"] and call["machine_detection"] == "DetectMessageEnd"


def test_a_from_outside_the_pool_is_refused_in_code(ql, robin, database, jobs, standin, monkeypatch):
    rules = ql.outbound.rules()
    assert sending.pool_number(rules, "C-9007") in POOL
    with pytest.raises(OutboundRefused):
        sending.checked_from(rules, "+15550100000")  # the practice's listed line
    # Even if the pool choice went wrong, nothing leaves from outside the pool.
    monkeypatch.setattr(type(rules.caller_id), "number_for", lambda self, client_id: "+15550100000")
    jobs.at(TWO_DAYS)
    assert texts(standin) == []
    assert touch_rows(database, "C-9007")[0].status == "planned"  # not claimed: nothing was sent
