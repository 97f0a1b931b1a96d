"""Every time said or sent to a client on an outbound or returned call is in the client's zone, named when it
differs from the practice's (issue 11, fix1112-left item 2): each path from those calls into the appointments
flow, for Robin who lives in Honolulu (5 hours behind the practice's New York in winter).  Driven as Twilio
would (the stand-in places the calls; keys posted signed); exact transcripts."""
from __future__ import annotations

import datetime as dt

import pytest

from ivr.contact.models import CorrectionRequestRow
from tests.helpers.contact import (
    CALLER_ID,
    DOB,
    GREETING,
    START,
    add_appointment,
    add_client,
    add_clinician,
    answer,
    call_back,
    deliver,
    placed_call,
    write_rules,
)

PHONE = "+15551239003"
# START, Monday 11:00 New York, is 06:00 in Honolulu.
DAYTIME = START + dt.timedelta(hours=4)  # 15:00 New York, 10:00 Honolulu: calls may go
RULES = CALLER_ID + """\
quiet_hours: {start: "09:00", end: "19:00", days: business_days}
follow_ups:
  late: {attempts: [call], spacing: 10 minutes, within: 6 hours}
  no_show: {attempts: [call, text], spacing: 1 day}
  correction: {attempts: [call]}
reminders:
  touches:
    two_days_before: {before: 2 days, by: call}
"""
MENU = "To reschedule it, press 1. To cancel it, press 2. To keep it as it is, press 3."
# Maya Chen works 09:00-13:00 New York: 4 AM to 8 AM in Honolulu; the offers are around the appointment.
FRIDAY_OFFERS = ("I can offer Friday, December 4 at 4 AM Hawaii time, press 1; Friday, December 4 at 5 AM Hawaii "
                 "time, press 2; or Friday, December 4 at 7 AM Hawaii time, press 3. If none of these work, press 4 "
                 "to choose another day.")
ASK_DOB_INBOUND = ("To protect your privacy, please enter your date of birth as eight digits, month, day and year, "
                   "then press pound. Or say it. If you have a PIN with us, press star, then your PIN, then pound. If "
                   "you are new to our practice, press 4 and then pound, or say new client. If you are in crisis, "
                   "press 9 and then pound, or say crisis.")


@pytest.fixture
def flows_dir(flows_dir):
    write_rules(flows_dir, RULES)
    return flows_dir


def robin(database, start: dt.datetime, **appointment) -> None:
    add_clinician(database)
    add_client(database, "C-9003", "Robin", (PHONE,), time_zone="Pacific/Honolulu")
    add_appointment(database, "A-9003", "C-9003", start, **appointment)


def texts(standin) -> list[str]:
    return [m["body"] for m in standin.messages() if m["to"] == PHONE]


def correction_call(ql, database, jobs, standin) -> dict:
    robin(database, START + dt.timedelta(days=4))  # Friday 11:00 New York: 6 AM in Honolulu
    jobs.clock.now = DAYTIME
    with database.sessions() as db, db.begin():
        db.add(CorrectionRequestRow(client_id="C-9003", appointment_id="A-9003", raised_by=1, raised_at=DAYTIME))
    return placed_call(ql, jobs, standin, PHONE)


def test_the_correction_call_straight_to_the_appointments_flow_speaks_hawaii_time(ql, client, database, jobs,
                                                                                   standin):
    line, rest = answer(client, standin, correction_call(ql, database, jobs, standin))
    assert line.heard == [GREETING]
    line.press("1")
    assert line.press(DOB) == ["Thanks, Robin. Your next appointment is Friday at 6 AM Hawaii time with Maya Chen.",
                               MENU]
    assert line.press("1") == [FRIDAY_OFFERS]
    assert line.press("2") == ["You chose Friday, December 4 at 5 AM Hawaii time, in place of your appointment "
                               "Friday at 6 AM Hawaii time. To book it, press 1 or say yes. To choose again, press 2."]
    assert line.press("1") == ["You're all set for Friday, December 4 at 5 AM Hawaii time with Maya Chen.",
                               "Thank you for calling. Goodbye."]
    jobs.settle()  # the confirmation text's job
    assert texts(standin)[-1] == "Confirmed: Fri, Dec 4 at 5 AM Hawaii time. Reply STOP to opt out."
    deliver(client, rest)


def test_a_returned_call_after_a_correction_speaks_hawaii_time(ql, client, database, jobs, standin):
    call = correction_call(ql, database, jobs, standin)
    line, rest = answer(client, standin, call)
    line.press("2")  # someone else answered
    deliver(client, rest)
    jobs.clock.now += dt.timedelta(minutes=30)
    back = call_back(client, call["from"], PHONE)
    assert back.heard == ["Hello, thank you for returning our call.",
                          "To protect your privacy, please enter your date of birth as eight digits, month, day and "
                          "year, then press pound. Or say it. If you have a PIN with us, press star, then your PIN, "
                          "then pound."]
    assert back.press(DOB) == ["Thanks, Robin. Your next appointment is Friday at 6 AM Hawaii time with Maya Chen.",
                               MENU]
    assert back.press("2") == ["To cancel your appointment Friday at 6 AM Hawaii time, press 1 or say yes. To keep it, "
                               "press 2."]


def test_a_returned_call_with_no_touch_to_continue_reaches_the_main_menu_in_hawaii_time(ql, client, database, jobs,
                                                                                        standin):
    call = correction_call(ql, database, jobs, standin)
    line, rest = answer(client, standin, call)
    line.press("2")
    deliver(client, rest)
    add_appointment(database, "A-9004", "C-9003", START + dt.timedelta(days=18))  # Friday 18 December
    jobs.clock.now += dt.timedelta(days=14, minutes=1)  # the touch is too old to continue
    back = call_back(client, call["from"], PHONE)
    heard = back.press(DOB)
    assert heard[0].startswith("Thank you for calling")  # the main menu
    assert back.press("1") == [ASK_DOB_INBOUND]  # the main menu's appointments ask again
    assert back.press(DOB) == ["Thanks, Robin. Your next appointment is Friday at 6 AM Hawaii time with Maya Chen.",
                               MENU]
    assert back.press("1")[0].startswith("I can offer Friday, December 18 at 4 AM Hawaii time, press 1;")


def test_a_voice_reminder_key_2_offers_times_in_hawaii_time(ql, client, database, jobs, standin):
    robin(database, START + dt.timedelta(days=2, hours=4), changed_at=START - dt.timedelta(days=9))
    jobs.clock.now = DAYTIME
    line, rest = answer(client, standin, placed_call(ql, jobs, standin, PHONE))
    line.press("1")
    assert line.press(DOB) == ["Thanks, Robin. This is a reminder of your appointment Wednesday at 10 AM Hawaii time. "
                               "To confirm, press 1. To change it, press 2."]
    assert line.press("2") == [
        "I can offer Wednesday, December 2 at 5 AM Hawaii time, press 1; Wednesday, December 2 at 6 AM Hawaii time, "
        "press 2; or Wednesday, December 2 at 7 AM Hawaii time, press 3. If none of these work, press 4 "
        "to choose another day."]


def test_late_another_time_offers_times_in_hawaii_time(ql, client, database, jobs, standin):
    robin(database, DAYTIME - dt.timedelta(minutes=20))
    jobs.clock.now = DAYTIME
    line, rest = answer(client, standin, placed_call(ql, jobs, standin, PHONE))
    line.press("1")
    assert line.press(DOB) == ["Thanks, Robin. We were expecting you today at 9:40 AM Hawaii time. To find another "
                               "time, press 2."]
    assert line.press("2") == [
        "Because your appointment is less than 24 hours away, a late change fee of $75 may apply.",
        "I can offer tomorrow at 4 AM Hawaii time, press 1; tomorrow at 5 AM Hawaii time, press 2; or tomorrow at "
        "6 AM Hawaii time, press 3. If none of these work, press 4 "
        "to choose another day."]
