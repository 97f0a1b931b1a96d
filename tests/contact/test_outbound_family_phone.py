"""A number several clients share (a family phone), from the break-test round of issues 11 and 12: its neutral
message is one message (touches of its clients due the same day go as one text, the opt-out notice is decided per
number when sending, and the number has a week's limit as a client has); each channel goes to the client's own
number first (a private number listed second gets the details; an opted-out number gives way to the next one); a
reply from a family phone is nobody's (a person reads it, told the number's clients) and cancels nothing for any
one client, while STOP stops the number for all of them.

Real Redis, RQ worker and scheduler on the test clock, the Twilio stand-in, signed webhooks, SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.escalations.models import Escalation
from tests.helpers.contact import add_appointment, add_client, replies, text_in, touch_rows

NY = ZoneInfo("America/New_York")
FAMILY = "+15551230002"
DANAS = "+15550100108"  # Dana's own number, listed second
OTHER = "+15550100109"
NOTICE = " Reply STOP to stop these texts."
NOTHING = '<?xml version="1.0" encoding="UTF-8"?><Response />'
PERSON = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thank you for your message. A person will '
          'answer you soon.</Message></Response>')


def ny(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=NY).astimezone(dt.UTC)


def texts(standin, to: str) -> list[str]:
    return [m["body"] for m in standin.messages() if m["to"] == to]


def neutral(body: str) -> bool:
    return body.startswith("Hello, this is a message about an appointment. Please call us at (555) 010-01")


def reminders(database, client_id: str) -> list[tuple[str, str, str | None, str | None]]:
    return [(r.touch_id.split("/", 1)[1], r.status, r.why_skipped, r.to_e164) for r in touch_rows(database, client_id)
            if r.kind == "reminder"]


@pytest.fixture
def family(app, database, jobs):
    """Dana and Riley share only the family phone.  Monday 7 Dec: Dana's two_hours_before (11:00 appointment) and
    Riley's two_days_before (Wednesday 9:00) are both due at 09:00."""
    jobs.clock.now = ny(7, 8)
    add_client(database, "C-1003", "Dana", (FAMILY,))
    add_client(database, "C-1004", "Riley", (FAMILY,))
    add_appointment(database, "A-2003", "C-1003", ny(7, 11))
    add_appointment(database, "A-2004", "C-1004", ny(9, 9))
    jobs.run()
    return app.extensions["quietline"]


def test_touches_of_two_clients_due_together_on_a_family_phone_go_as_one_neutral_text(family, database, jobs,
                                                                                         standin):
    due = [(r.client_id, r.rule, r.due) for r in touch_rows(database) if r.status == "planned" and r.kind == "reminder"]
    assert sorted(due) == [("C-1003", "two_hours_before", ny(7, 9)), ("C-1004", "two_days_before", ny(7, 9))]
    jobs.at(ny(7, 9))
    [body] = texts(standin, FAMILY)  # one text, not the same words twice at the same moment
    assert neutral(body) and body.endswith(NOTICE)
    made = {r.client_id: r for r in touch_rows(database) if r.status in ("sent", "merged")}
    assert sorted(r.status for r in made.values()) == ["merged", "sent"]
    [sent] = [r for r in made.values() if r.status == "sent"]
    [merged] = [r for r in made.values() if r.status == "merged"]
    assert (merged.covered_by, merged.to_e164, merged.neutral, merged.twilio_sid) == (sent.id, FAMILY, True, None)
    assert merged.words_version == sent.words_version and merged.from_e164 == sent.from_e164
    jobs.at(ny(7, 12))  # later that day: nothing more to the family phone
    assert len(texts(standin, FAMILY)) == 1


def test_the_opt_out_notice_is_said_once_per_number_whoever_the_text_was_for(family, database, jobs, standin):
    add_appointment(database, "A-2005", "C-1003", ny(10, 16))  # Dana, Thursday: two days before is Tuesday 16:00
    jobs.run()
    jobs.at(ny(7, 9))
    jobs.at(ny(8, 16))
    first, second = texts(standin, FAMILY)
    assert first.endswith(NOTICE) and neutral(second) and not second.endswith(NOTICE)
    [tuesday] = [r for r in touch_rows(database, "C-1003") if r.appointment_id == "A-2005" and r.status == "sent"]
    assert tuesday.to_e164 == FAMILY


def test_a_family_phone_gets_at_most_the_weekly_limit_of_messages_however_many_clients_share_it(
        family, database, jobs, standin):
    add_client(database, "C-1005", "Sam", (FAMILY,))
    add_appointment(database, "A-2005", "C-1003", ny(10, 16))  # Tuesday 16:00 (two days before)
    add_appointment(database, "A-2006", "C-1005", ny(11, 16))  # Wednesday 16:00
    add_appointment(database, "A-2007", "C-1004", ny(12, 16), minutes=50)  # Saturday: Thursday 16:00 (business days)
    jobs.run()
    for day in (7, 8, 9, 10):
        jobs.at(ny(day, 9))
        jobs.at(ny(day, 16, 30))
    assert len(texts(standin, FAMILY)) == 3  # limits.per_week, for the number as for a client
    held = sorted((r.client_id, r.appointment_id, r.rule) for r in touch_rows(database)
                  if r.status == "skipped" and r.why_skipped == "weekly_cap" and r.kind == "reminder")
    assert held == [("C-1004", "A-2007", "two_days_before")]  # Thursday: Monday, Tuesday and Wednesday's went


def test_a_private_number_listed_second_gets_the_details_the_family_phone_nothing(app, database, jobs, standin):
    jobs.clock.now = ny(7, 8)
    add_client(database, "C-1003", "Dana", (FAMILY, DANAS))
    add_client(database, "C-1004", "Riley", (FAMILY,))
    add_appointment(database, "A-2003", "C-1003", ny(7, 11))
    jobs.run()
    jobs.at(ny(7, 9))
    assert texts(standin, DANAS) == [
        "Hi Dana, a reminder of your appointment Mon, Dec 7 at 11 AM. Reply 1 to confirm or 2 to change it." + NOTICE]
    assert texts(standin, FAMILY) == []
    assert [(rule, to) for rule, status, _, to in reminders(database, "C-1003") if status == "sent"] == [
        ("reminders.two_hours_before/A-2003/v1/1/text", DANAS)]


def test_when_the_family_phone_opts_out_the_private_number_still_gets_the_reminders(app, client, database, jobs,
                                                                                    standin):
    jobs.clock.now = ny(7, 8)
    add_client(database, "C-1003", "Dana", (FAMILY, DANAS))
    add_client(database, "C-1004", "Riley", (FAMILY,))
    add_appointment(database, "A-2004", "C-1004", ny(9, 9))
    add_appointment(database, "A-2006", "C-1004", ny(11, 16))  # Riley, Friday: two days before is Wednesday
    add_appointment(database, "A-2005", "C-1003", ny(10, 16))  # Dana, Thursday: two days before is Tuesday
    jobs.run()
    jobs.at(ny(7, 9))
    [riley] = [m for m in standin.messages() if m["to"] == FAMILY]
    assert text_in(client, FAMILY, riley["from"], "STOP", "SM" + "1" * 32) == (200, NOTHING)
    jobs.run()
    # Riley's, whose only number the family phone is, stop; Dana's go to her own number as before.
    assert [(rule, s, w) for rule, s, w, _ in reminders(database, "C-1004") if "A-2006" in rule] == [
        ("reminders.two_days_before/A-2006/v1/1/text", "cancelled", "opted_out"),
        ("reminders.two_hours_before/A-2006/v1/1/text", "cancelled", "opted_out")]
    assert [(s, to) for rule, s, _, to in reminders(database, "C-1003") if "A-2005" in rule] == [
        ("planned", DANAS), ("planned", DANAS)]
    jobs.at(ny(8, 16))
    assert texts(standin, DANAS) == [
        "Hi Dana, a reminder of your appointment Thu, Dec 10 at 4 PM. Reply 1 to confirm or 2 to change it." + NOTICE]
    assert len(texts(standin, FAMILY)) == 1


def test_an_opted_out_number_gives_way_to_the_clients_next_allowed_number(app, client, database, jobs, standin):
    jobs.clock.now = ny(7, 8)
    add_client(database, "C-1006", "Robin", (OTHER, DANAS))
    add_appointment(database, "A-2008", "C-1006", ny(10, 16))
    jobs.run()
    assert [to for _, s, _, to in reminders(database, "C-1006") if s == "planned"] == [OTHER, OTHER]
    assert text_in(client, OTHER, "+15550100190", "STOP", "SM" + "2" * 32) == (200, NOTHING)
    jobs.run()
    # Cancelled by the STOP, then planned again at once to the next number (the same touch, reopened).
    assert [to for _, s, _, to in reminders(database, "C-1006") if s == "planned"] == [DANAS, DANAS]
    jobs.at(ny(8, 16))
    assert texts(standin, OTHER) == []
    assert texts(standin, DANAS) == [
        "Hi Robin, a reminder of your appointment Thu, Dec 10 at 4 PM. Reply 1 to confirm or 2 to change it." + NOTICE]


@pytest.mark.parametrize("body", ["running late, sorry", "2", "yes"])
def test_a_reply_from_a_family_phone_is_nobodys_goes_to_staff_naming_its_clients_and_cancels_nothing(
        body, family, client, database, jobs, standin):
    jobs.at(ny(7, 9))
    [sms] = [m for m in standin.messages() if m["to"] == FAMILY]
    before = {c: reminders(database, c) for c in ("C-1003", "C-1004")}
    assert text_in(client, FAMILY, sms["from"], body, "SM" + "3" * 32) == (200, PERSON)
    jobs.run()
    [reply] = replies(database)
    assert (reply.client_id, reply.touch_id, reply.meaning) == (None, None, "other")
    with database.sessions() as db:
        [task] = db.scalars(select(Escalation)).all()
    assert (task.reason, task.client_id, task.details) == ("text_reply", None,
                                                           {"reply": "other", "clients": "C-1003, C-1004"})
    assert {c: reminders(database, c) for c in ("C-1003", "C-1004")} == before  # nothing ended for either client


def test_stop_from_a_family_phone_stops_it_for_every_client_who_shares_it(family, client, database, jobs, standin):
    add_appointment(database, "A-2005", "C-1003", ny(10, 16))
    jobs.run()
    jobs.at(ny(7, 9))
    [sms] = [m for m in standin.messages() if m["to"] == FAMILY]
    assert text_in(client, FAMILY, sms["from"], "STOP", "SM" + "4" * 32) == (200, NOTHING)
    jobs.run()
    pending = [r for r in touch_rows(database) if r.status == "planned" and r.channel != "staff_task"]
    assert pending == []
    for day in (8, 9, 10):
        jobs.at(ny(day, 16))
    assert len(texts(standin, FAMILY)) == 1


# --------------------------------------------------------------------------- one neutral message a day, across channels


def calls(standin, to: str) -> list[dict]:
    return [c for c in standin.calls() if c["to"] == to]


def test_a_second_clients_call_to_a_family_phone_texted_today_waits_for_the_next_day_its_window_allows(
        family, database, jobs, standin):
    """Sam (who shares the family phone and had nothing else today) missed Monday 10:00: the no-show call (due
    11:20, a window of days) finds the family phone already given Dana and Riley's neutral text at 9:00, so it
    goes on Tuesday at 9:00, once.  While it waits, its job stays scheduled for then: the minute's planning passes
    do not send it again to be held again."""
    add_client(database, "C-1005", "Sam", (FAMILY,))
    add_appointment(database, "A-2010", "C-1005", ny(7, 10), status="no_show")
    jobs.run()
    jobs.at(ny(7, 9))
    assert [neutral(t) for t in texts(standin, FAMILY)] == [True]
    dues = []
    for hour in (11, 12, 15, 18):
        for minute in (30, 31, 32):  # every minute's pass
            jobs.at(ny(7, hour, minute))
            [row] = [r for r in touch_rows(database, "C-1005") if r.rule == "no_show"]
            dues.append(row.due)
    assert calls(standin, FAMILY) == []
    # Its next due is the waited-for instant, which the passes leave as it is (s25b NIT 5: no rewrite a minute).
    assert {due.astimezone(dt.UTC) for due in dues} == {ny(8, 9).astimezone(dt.UTC)}
    [waiting] = [r for r in touch_rows(database, "C-1005") if r.rule == "no_show"]
    assert (waiting.status, waiting.channel, waiting.to_e164) == ("planned", "call", FAMILY)
    assert jobs.scheduled()[waiting.job_id] == ny(8, 9)
    jobs.at(ny(8, 9))
    jobs.at(ny(8, 10))
    [call] = calls(standin, FAMILY)
    [placed] = [r for r in touch_rows(database, "C-1005") if r.rule == "no_show"]
    assert (placed.status, placed.neutral, placed.attempted_at, placed.twilio_sid) == ("queued", True, ny(8, 9),
                                                                                       call["sid"])


def test_a_second_clients_touch_whose_window_ends_today_is_sent_on_the_other_channel(family, database, jobs,
                                                                                      standin):
    """Sam is late on Monday at 12:00: the late call's window is 30 minutes, so it goes although the family phone
    had Dana and Riley's neutral text at 9:00 (never dropped for the number's limit)."""
    add_client(database, "C-1005", "Sam", (FAMILY,))
    add_appointment(database, "A-2010", "C-1005", ny(7, 12))
    jobs.run()
    jobs.at(ny(7, 9))
    jobs.at(ny(7, 12, 15))
    assert len(texts(standin, FAMILY)) == 1
    [call] = calls(standin, FAMILY)
    [late] = [r for r in touch_rows(database, "C-1005") if r.rule == "late" and r.status == "queued"]
    assert (late.channel, late.neutral, late.twilio_sid) == ("call", True, call["sid"])


def test_a_reminder_due_within_the_day_goes_after_another_clients_call_the_same_day(app, database, jobs,
                                                                                       standin):
    """The other way round: Dana (no texts) is called at 9:15 as she is late; Riley's 2-hours-before text for 13:00
    cannot wait a day, and goes at 11:00."""
    jobs.clock.now = ny(7, 8)
    add_client(database, "C-1003", "Dana", (FAMILY,), may_text=False)
    add_client(database, "C-1004", "Riley", (FAMILY,))
    add_appointment(database, "A-2003", "C-1003", ny(7, 9))
    add_appointment(database, "A-2004", "C-1004", ny(7, 13), changed_at=ny(7, 8))
    jobs.run()
    jobs.at(ny(7, 9, 15))
    assert len(calls(standin, FAMILY)) == 1
    jobs.at(ny(7, 11))
    [body] = texts(standin, FAMILY)
    assert neutral(body)
    assert [(s, to) for rule, s, _, to in reminders(database, "C-1004")] == [
        ("sent", FAMILY)]


def test_a_call_held_for_the_family_phones_next_day_goes_at_nine_after_a_weekend_and_the_dst_change(
        app, database, jobs, standin):
    """Friday 12 March 2027 (EST): Dana's neutral text at 9:00, Sam's no-show call held; the next allowed day is
    Monday 15 March, after the clocks went forward: 9:00 EDT (13:00 UTC), not 9:00 EST."""
    def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime(2027, 3, day, hour, minute, tzinfo=NY).astimezone(dt.UTC)

    jobs.clock.now = at(12, 8)
    add_client(database, "C-1003", "Dana", (FAMILY,))
    add_client(database, "C-1005", "Sam", (FAMILY,))
    add_appointment(database, "A-2003", "C-1003", at(12, 11))
    add_appointment(database, "A-2010", "C-1005", at(12, 10), status="no_show")
    jobs.run()
    jobs.at(at(12, 9))
    for moment in (at(12, 11, 30), at(12, 18), at(15, 8, 59)):
        jobs.at(moment)
    assert [neutral(t) for t in texts(standin, FAMILY)] == [True] and calls(standin, FAMILY) == []
    jobs.at(at(15, 9))
    [placed] = [r for r in touch_rows(database, "C-1005") if r.rule == "no_show"]
    assert (placed.status, placed.attempted_at) == ("queued", dt.datetime(2027, 3, 15, 13, 0, tzinfo=dt.UTC))
    assert len(calls(standin, FAMILY)) == 1
