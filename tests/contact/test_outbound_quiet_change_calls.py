"""A change asked for on a call during the client's quiet hours (fix1112-left item 1): one rule for every channel.
A "change" text then becomes a ``change_request`` task at once with the promise in the reply
(test_outbound_change_replies); so does a change asked for on a returned call (the client calls the pool number
back) or on an answered follow-up or reminder call, with the promise spoken.  The client's own quiet hours decide
(a client in Honolulu at 21:00 New York may still move it on the call).  An inbound call to the practice's line
is not an outbound touch and goes on as before.  Driven as Twilio would; the stand-in; both databases."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.escalations.models import Escalation
from ivr.practice.models import Appointment, Clinician
from tests.helpers.contact import Line, add_appointment, add_client, answer, deliver, write_rules

NY = ZoneInfo("America/New_York")
PHONE = "+15551239003"
DOB = "01021980"
START = dt.datetime(2026, 11, 30, 11, 0, tzinfo=NY).astimezone(dt.UTC)  # Monday 11:00 New York
EVENING = dt.datetime(2026, 11, 30, 21, 0, tzinfo=NY).astimezone(dt.UTC)  # 21:00 New York, 16:00 Honolulu
RULES = """\
caller_id:
  name: Appointments
  numbers: ["+1 555 010 0190", "+1 555 010 0191"]
quiet_hours: {start: "09:00", end: "19:00", days: business_days}
follow_ups:
  correction: {attempts: [call]}
reminders:
  touches:
    two_days_before: {before: 2 days, by: call}
"""
GREETING = "Hello, this is a call for Robin. Is that you? Press 1 for yes or 2 for no."
BACK = "Hello, thank you for returning our call."
REMINDER = ("Thanks, Robin. This is a reminder of your appointment Wednesday at 11 AM. To confirm, press 1. "
            "To change it, press 2.")
PROMISE = "Thank you. A person will be in touch by tomorrow at 6 PM to find another time."
GOODBYE = "Thank you for calling. Goodbye."


@pytest.fixture
def flows_dir(flows_dir):
    write_rules(flows_dir, RULES)
    return flows_dir


def reminded(ql, client, database, jobs, standin, time_zone: str | None = None) -> dict:
    """Robin's Wednesday 11:00 appointment; Monday 11:00 the reminder call is answered by someone else."""
    with database.sessions() as db, db.begin():
        db.add(Clinician(id="clin-1", name="Maya Chen", session_minutes=50,
                         working_hours={d: ["09:00-13:00"] for d in ("monday", "tuesday", "wednesday", "thursday",
                                                                     "friday")}))
    add_client(database, "C-9003", "Robin", (PHONE,), time_zone=time_zone)
    add_appointment(database, "A-9003", "C-9003", START + dt.timedelta(days=2), changed_at=START - dt.timedelta(days=9))
    jobs.clock.now = START + dt.timedelta(hours=4)  # 15:00 New York, 10:00 Honolulu: both may be called
    ql.jobs.plan_outbound_now()
    jobs.settle()
    [call] = [c for c in standin.calls() if c["to"] == PHONE]
    line, rest = answer(client, standin, call)
    assert line.heard == [GREETING]
    line.press("2")  # someone else
    deliver(client, rest)
    return call


def call_back(client, pool: str, caller: str = PHONE, sid: str = "CA" + "5" * 32) -> Line:
    params = {"CallSid": sid, "AccountSid": "AC" + "a" * 32, "From": caller, "To": pool,
              "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
    line = Line(client, params=params)
    line._post("/twilio/voice", {})
    return line


def tasks(database) -> list[tuple[str, str | None, str]]:
    with database.sessions() as db:
        return [(e.reason, e.client_id, e.call_sid) for e in db.scalars(select(Escalation).order_by(Escalation.id))]


def appointment_start(database) -> dt.datetime:
    with database.sessions() as db:
        return db.get(Appointment, "A-9003").start


def test_a_returned_call_asking_to_move_in_quiet_hours_is_a_staff_task_at_once(ql, client, database, jobs,
                                                                                standin):
    call = reminded(ql, client, database, jobs, standin)
    jobs.clock.now = EVENING
    back = call_back(client, call["from"])
    assert back.heard[0] == BACK
    assert back.press(DOB) == [REMINDER]
    assert back.press("2") == [PROMISE, GOODBYE]
    assert back.ended
    jobs.settle()  # the call's escalation job: at once, not in the morning
    assert tasks(database) == [("change_request", "C-9003", "CA" + "5" * 32)]
    with database.sessions() as db:
        task = db.scalar(select(Escalation))
    assert task.deadline_at == dt.datetime(2026, 12, 1, 18, 0, tzinfo=NY).astimezone(dt.UTC)  # the promise
    assert appointment_start(database) == START + dt.timedelta(days=2)  # nothing moved
    jobs.settle()


def test_the_same_returned_call_in_the_day_moves_it_on_the_call(ql, client, database, jobs, standin):
    call = reminded(ql, client, database, jobs, standin)
    jobs.clock.now = START + dt.timedelta(hours=5)  # 16:00 New York
    back = call_back(client, call["from"])
    back.press(DOB)
    assert back.press("2")[0].startswith("I can offer ")
    assert tasks(database) == []


def test_the_clients_own_quiet_hours_decide(ql, client, database, jobs, standin):
    """21:00 in New York is 16:00 in Honolulu: Robin there may still move it on the call."""
    call = reminded(ql, client, database, jobs, standin, time_zone="Pacific/Honolulu")
    jobs.clock.now = EVENING
    back = call_back(client, call["from"])
    assert back.press(DOB) == ["Thanks, Robin. This is a reminder of your appointment Wednesday at 6 AM Hawaii "
                               "time. To confirm, press 1. To change it, press 2."]
    assert back.press("2")[0].startswith("I can offer Wednesday, December 2 at 4 AM Hawaii time, press 1;")
    assert tasks(database) == []


def test_a_returned_call_through_the_main_menu_in_quiet_hours_is_a_staff_task_at_once(ql, client, database, jobs,
                                                                                       standin):
    call = reminded(ql, client, database, jobs, standin)
    add_appointment(database, "A-9004", "C-9003", START + dt.timedelta(days=16))  # Wednesday 16 December
    jobs.clock.now = EVENING + dt.timedelta(days=14)  # the touch too old to continue: the main menu
    back = call_back(client, call["from"])
    assert back.press(DOB)[0].startswith("Thank you for calling")
    back.press("1")  # appointments: the main menu's date of birth again
    assert back.press(DOB)[-1] == "To reschedule it, press 1. To cancel it, press 2. To keep it as it is, press 3."
    assert back.press("1") == [PROMISE, GOODBYE]
    jobs.settle()
    assert tasks(database) == [("change_request", "C-9003", "CA" + "5" * 32)]


def test_an_inbound_call_to_the_practice_line_in_the_evening_still_offers_times(ql, client, database, jobs, standin):
    reminded(ql, client, database, jobs, standin)
    jobs.clock.now = EVENING
    params = {"CallSid": "CA" + "7" * 32, "AccountSid": "AC" + "a" * 32, "From": PHONE, "To": "+15550000000",
              "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
    line = Line(client, params=params)
    line._post("/twilio/voice", {})
    line.press("1")  # appointments
    line.press(DOB)
    assert line.press("1")[0].startswith("I can offer ")
    assert tasks(database) == []
