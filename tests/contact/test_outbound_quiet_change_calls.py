"""A change asked for while the client is on the line, in their quiet hours (fix1112-next item 1): quiet hours
limit when Quietline reaches out, never what a client speaking to it can do.  A returned call at 22:30, or an
answered reminder call that runs past the quiet-hours edge, offers times at once exactly as an inbound call does
(the same offers and confirmation, in the client's zone, named) and books, with no staff task.  Only a "change"
text in quiet hours becomes the ``change_request`` task (answering it would text the client then: see
test_outbound_replies).  Driven as Twilio would; the stand-in; both databases."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.escalations.models import Escalation
from ivr.practice.models import Appointment
from tests.helpers.contact import (
    CALLER_ID,
    DOB,
    GREETING,
    NY,
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
EVENING = dt.datetime(2026, 11, 30, 22, 30, tzinfo=NY).astimezone(dt.UTC)  # 22:30 New York: quiet hours
RULES = CALLER_ID + """\
quiet_hours: {start: "09:00", end: "20:00", days: business_days}
follow_ups:
  correction: {attempts: [call]}
reminders:
  touches:
    two_days_before: {before: 2 days, by: call}
"""
BACK = "Hello, thank you for returning our call."
REMINDER = ("Thanks, Robin. This is a reminder of your appointment Wednesday at 11 AM. To confirm, press 1. "
            "To change it, press 2.")
GOODBYE = "Thank you for calling. Goodbye."
OFFERS = ("I can offer Wednesday, December 2 at 9 AM, press 1; Wednesday, December 2 at 10 AM, press 2; or "
          "Wednesday, December 2 at 12 PM, press 3. If none of these work, press 4 to choose another day.")
HAWAII_OFFERS = ("I can offer Wednesday, December 2 at 4 AM Hawaii time, press 1; Wednesday, December 2 at 5 AM "
                 "Hawaii time, press 2; or Wednesday, December 2 at 7 AM Hawaii time, press 3. If none of these "
                 "work, press 4 to choose another day.")
CHOSEN = ("You chose Wednesday, December 2 at 9 AM, in place of your appointment Wednesday at 11 AM. To book it, "
          "press 1 or say yes. To choose again, press 2.")
HAWAII_CHOSEN = ("You chose Wednesday, December 2 at 4 AM Hawaii time, in place of your appointment Wednesday at "
                 "6 AM Hawaii time. To book it, press 1 or say yes. To choose again, press 2.")
BOOKED = "You're all set for Wednesday, December 2 at 9 AM with Maya Chen."
HAWAII_BOOKED = "You're all set for Wednesday, December 2 at 4 AM Hawaii time with Maya Chen."
FIRST_OFFER = dt.datetime(2026, 12, 2, 9, 0, tzinfo=NY).astimezone(dt.UTC)  # the first time offered


@pytest.fixture
def flows_dir(flows_dir):
    write_rules(flows_dir, RULES)
    return flows_dir


def robin_on_wednesday(database, time_zone: str | None = None) -> None:
    """Robin (in ``time_zone``, else the practice's), Maya Chen's client, has an appointment Wednesday 11:00."""
    add_clinician(database)
    add_client(database, "C-9003", "Robin", (PHONE,), time_zone=time_zone)
    add_appointment(database, "A-9003", "C-9003", START + dt.timedelta(days=2), changed_at=START - dt.timedelta(days=9))


def reminded(ql, client, database, jobs, standin, time_zone: str | None = None) -> dict:
    """Robin's Wednesday 11:00 appointment; Monday 11:00 the reminder call is answered by someone else."""
    robin_on_wednesday(database, time_zone)
    jobs.clock.now = START + dt.timedelta(hours=4)  # 15:00 New York, 10:00 Honolulu: both may be called
    call = placed_call(ql, jobs, standin, PHONE)
    line, rest = answer(client, standin, call)
    assert line.heard == [GREETING]
    line.press("2")  # someone else
    deliver(client, rest)
    return call


def tasks(database) -> list[tuple[str, str | None, str]]:
    """The staff tasks raised, but "not_sent": a reminder the clock's 14-day jump left no time for (an appointment
    added as if booked long ago) is told to staff as any late reminder is; not what these tests are about."""
    with database.sessions() as db:
        return [(e.reason, e.client_id, e.call_sid) for e in db.scalars(select(Escalation).order_by(Escalation.id))
                if e.reason != "not_sent"]


def scheduled(database) -> list[dt.datetime]:
    """Robin's scheduled appointments' starts (a move books the new time; the old one is no longer scheduled)."""
    with database.sessions() as db:
        return [a.start for a in db.scalars(select(Appointment).where(Appointment.client_id == "C-9003",
                                                                      Appointment.status == "scheduled"))]


def test_a_returned_call_at_half_past_ten_at_night_offers_times_and_books_them(ql, client, database, jobs,
                                                                                standin):
    call = reminded(ql, client, database, jobs, standin)
    jobs.clock.now = EVENING
    back = call_back(client, call["from"], PHONE)
    assert back.heard[0] == BACK
    assert back.press(DOB) == [REMINDER]
    assert back.press("2") == [OFFERS]
    assert back.press("1") == [CHOSEN]
    assert back.press("1") == [BOOKED, GOODBYE]
    jobs.settle()
    assert tasks(database) == []
    assert scheduled(database) == [FIRST_OFFER]


def test_a_reminder_call_that_runs_past_the_quiet_hours_edge_still_offers_times(ql, client, database, jobs,
                                                                                standin):
    """The call goes out at 19:55, inside the hours; Robin asks to move it at 20:02, after them."""
    robin_on_wednesday(database)
    jobs.clock.now = dt.datetime(2026, 11, 30, 19, 55, tzinfo=NY).astimezone(dt.UTC)
    call = placed_call(ql, jobs, standin, PHONE)
    line, _rest = answer(client, standin, call)
    assert line.heard == [GREETING]
    line.press("1")
    assert line.press(DOB) == [REMINDER]
    jobs.clock.now = dt.datetime(2026, 11, 30, 20, 2, tzinfo=NY).astimezone(dt.UTC)
    assert line.press("2") == [OFFERS]
    assert line.press("1") == [CHOSEN]
    assert line.press("1") == [BOOKED, GOODBYE]
    jobs.settle()
    assert tasks(database) == []
    assert scheduled(database) == [FIRST_OFFER]


def test_a_client_in_another_zone_hears_the_offers_in_their_zone_at_their_night(ql, client, database, jobs,
                                                                                 standin):
    """22:30 in Honolulu is 03:30 in New York: the offers and the booking are said in Hawaii time, named."""
    call = reminded(ql, client, database, jobs, standin, time_zone="Pacific/Honolulu")
    jobs.clock.now = dt.datetime(2026, 11, 30, 22, 30, tzinfo=ZoneInfo("Pacific/Honolulu")).astimezone(dt.UTC)
    back = call_back(client, call["from"], PHONE)
    assert back.press(DOB) == ["Thanks, Robin. This is a reminder of your appointment Wednesday at 6 AM Hawaii "
                               "time. To confirm, press 1. To change it, press 2."]
    assert back.press("2") == [HAWAII_OFFERS]
    assert back.press("1") == [HAWAII_CHOSEN]
    assert back.press("1") == [HAWAII_BOOKED, GOODBYE]
    assert tasks(database) == []
    assert scheduled(database) == [FIRST_OFFER]


def test_a_returned_call_through_the_main_menu_at_night_offers_times(ql, client, database, jobs, standin):
    call = reminded(ql, client, database, jobs, standin)
    add_appointment(database, "A-9004", "C-9003", START + dt.timedelta(days=16))  # Wednesday 16 December
    jobs.clock.now = EVENING + dt.timedelta(days=14)  # the touch too old to continue: the main menu
    back = call_back(client, call["from"], PHONE)
    assert back.press(DOB)[0].startswith("Thank you for calling")
    back.press("1")  # appointments: the main menu's date of birth again
    assert back.press(DOB)[-1] == "To reschedule it, press 1. To cancel it, press 2. To keep it as it is, press 3."
    assert back.press("1")[0].startswith("I can offer ")
    jobs.settle()
    assert tasks(database) == []


def test_an_inbound_call_to_the_practice_line_at_night_offers_times_as_before(ql, client, database, jobs, standin):
    reminded(ql, client, database, jobs, standin)
    jobs.clock.now = EVENING
    line = call_back(client, "+15550000000", PHONE, sid="CA" + "7" * 32)  # the practice line, not a pool number
    line.press("1")  # appointments
    line.press(DOB)
    assert line.press("1") == [OFFERS]
    assert tasks(database) == []
