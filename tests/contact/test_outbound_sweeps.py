"""Callbacks that never come or come twice: the sweeper (run by the scheduler's planning pass) asks Twilio's REST
API (``Calls(sid).fetch()``, the stand-in's) about calls still ``queued`` 15 minutes after they were placed and
records their real outcome; a call Twilio does not know is recorded failed and the rules' next attempt goes,
once.  A repeated status callback stores nothing twice.  Real RQ worker and scheduler, both databases."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.helpers.contact import add_appointment, add_client, deliver, touch_rows

NY = ZoneInfo("America/New_York")
PHONE = "+15551239041"
START = dt.datetime(2026, 11, 30, 11, 0, tzinfo=NY).astimezone(dt.UTC)  # Monday 11:00 New York
LATE = START + dt.timedelta(minutes=15)
ACK = (200, '<?xml version="1.0" encoding="UTF-8"?><Response />')


@pytest.fixture
def called(ql, database, jobs, standin) -> dict:
    """Robin is 15 minutes late: the follow-up call is placed (and Twilio's callbacks are never delivered)."""
    jobs.clock.now = START + dt.timedelta(minutes=14)
    add_client(database, "C-9041", "Robin", (PHONE,))
    add_appointment(database, "A-9041", "C-9041", START)
    jobs.run()
    jobs.at(LATE)
    [call] = [c for c in standin.calls() if c["to"] == PHONE]
    return call


def rows(database) -> list[tuple[str, str, str | None, str | None]]:
    return [(r.touch_id.split("/", 1)[1], r.status, r.answered_by, r.error_code)
            for r in touch_rows(database, "C-9041") if r.kind == "follow_up"]


def texts(standin) -> list[str]:
    return [m["body"] for m in standin.messages() if m["to"] == PHONE]


LATE_TEXT = ("Hi Robin, we were expecting you at 11 AM. If you need another time, please call us at (555) 010-019{}. "
             "Reply STOP to stop these texts.")


def test_a_call_whose_status_callback_never_came_gets_twilios_outcome_and_the_next_attempt(called, database, jobs,
                                                                                            standin):
    standin.finish_call(called["sid"], status="no-answer")  # Twilio knows; its callbacks are lost
    jobs.at(LATE + dt.timedelta(minutes=14))
    assert rows(database) == [("follow_ups.late/A-9041/v1/1/call", "queued", None, None)]  # not stale yet
    jobs.at(LATE + dt.timedelta(minutes=16))  # the minute's pass sweeps it, then plans the text
    assert rows(database) == [("follow_ups.late/A-9041/v1/1/call", "no_answer", None, None),
                              ("follow_ups.late/A-9041/v1/2/text", "sent", None, None)]
    assert len(texts(standin)) == 1


def test_an_answered_call_whose_callbacks_were_lost_is_recorded_answered(called, database, jobs, standin):
    standin.finish_call(called["sid"], "human", duration=40)
    jobs.at(LATE + dt.timedelta(minutes=16))
    assert rows(database) == [("follow_ups.late/A-9041/v1/1/call", "answered", "human", None)]
    [row] = touch_rows(database, "C-9041")
    assert row.duration_seconds == 40
    assert texts(standin) == []


def test_a_call_twilio_does_not_know_is_failed_and_retried_per_the_rules_once(called, database, jobs, standin):
    standin.forget_call(called["sid"])
    jobs.at(LATE + dt.timedelta(minutes=16))
    assert rows(database) == [("follow_ups.late/A-9041/v1/1/call", "failed", None, "20404"),
                              ("follow_ups.late/A-9041/v1/2/text", "sent", None, None)]
    for minutes in (17, 30, 60):
        jobs.at(LATE + dt.timedelta(minutes=minutes))
    assert len(texts(standin)) == 1 and len(rows(database)) == 2


def test_a_call_still_ringing_is_left_alone(called, database, jobs, standin):
    jobs.at(LATE + dt.timedelta(minutes=20))  # the stand-in still has it queued
    assert rows(database) == [("follow_ups.late/A-9041/v1/1/call", "queued", None, None)]


def test_a_duplicate_30003_status_callback_stores_its_code_once(ql, client, database, jobs, standin):
    jobs.clock.now = dt.datetime(2026, 12, 2, 14, tzinfo=NY).astimezone(dt.UTC)
    add_client(database, "C-9041", "Robin", (PHONE,))
    add_appointment(database, "A-9041", "C-9041", dt.datetime(2026, 12, 4, 15, tzinfo=NY).astimezone(dt.UTC))
    jobs.run()
    jobs.at(dt.datetime(2026, 12, 2, 15, tzinfo=NY).astimezone(dt.UTC))
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    [callback] = standin.finish_message(sms["sid"], "undelivered", error_code=30003)
    first = jobs.clock.now
    assert deliver(client, [callback]) == [ACK]
    jobs.clock.now = first + dt.timedelta(minutes=5)
    assert deliver(client, [callback]) == [ACK]  # Twilio posts the same callback again
    [row] = [r for r in touch_rows(database, "C-9041") if r.twilio_sid == sms["sid"]]
    assert (row.status, row.error_code, row.outcome_at) == ("undelivered", "30003", first)
