"""fix1112-left item 5, the helper's own break-test: what broke, each a test (real Redis and RQ worker, both
databases, the stand-in, signed webhooks, a fixed clock).

* Opt-out by voice on the follow-up call: "don't call me again" (or "stop calling") at any question of the
  follow-up or returned call is honoured at once for that number, whoever says it (a family phone), and no
  further call is placed to it; keys still work as before.
* A reply that arrives after the touch it answers was cancelled (the appointment cancelled since) confirms
  nothing that no longer exists.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ivr.contact.models import CallOptOut
from ivr.practice.models import Appointment, PracticeChange
from tests.helpers.contact import (
    CALLER_ID,
    GREETING,
    START,
    Line,
    add_appointment,
    add_client,
    answer,
    calls_to,
    deliver,
    text_in,
    touch_rows,
    write_rules,
)

PHONE = "+15551239003"
RULES = CALLER_ID + """\
quiet_hours: {start: "09:00", end: "19:00", days: business_days}
follow_ups:
  no_show: {attempts: [call, call, call], spacing: 1 day}
reminders:
  touches:
    two_days_before: {before: 2 days, by: text}
"""
STOPPED = "Understood. We will not call this number again. Goodbye."


@pytest.fixture
def flows_dir(flows_dir):
    write_rules(flows_dir, RULES)
    return flows_dir


def no_show_call(ql, database, jobs, standin, phones: tuple[str, ...] = (PHONE,)) -> dict:
    add_client(database, "C-9003", "Robin", phones)
    add_appointment(database, "A-9003", "C-9003", START, status="no_show")
    jobs.clock.now = START + dt.timedelta(minutes=80)
    ql.jobs.plan_outbound_now()
    jobs.settle()
    [call] = calls_to(standin, PHONE)
    return call


def opt_outs(database) -> list[tuple[str, str]]:
    with database.sessions() as db:
        return [(o.e164, o.source) for o in db.scalars(select(CallOptOut))]


def next_day(ql, jobs, days: int = 1) -> None:
    jobs.clock.now += dt.timedelta(days=days)
    ql.jobs.plan_outbound_now()
    jobs.settle()


@pytest.mark.parametrize("words", ["Please don't call me again.", "stop calling this number", "do not call me"])
def test_dont_call_me_again_at_the_first_question_stops_every_call_to_that_number(words, ql, client, database,
                                                                                  jobs, standin):
    call = no_show_call(ql, database, jobs, standin)
    line, rest = answer(client, standin, call)
    assert line.heard == [GREETING]
    assert line.say(words) == [STOPPED]
    assert line.ended
    assert opt_outs(database) == [(PHONE, "voice")]  # at once, before the call's status callback
    deliver(client, rest)
    [row] = [r for r in touch_rows(database) if r.twilio_sid == call["sid"]]
    assert row.conversation == "opted_out"
    for _ in range(3):  # the second and third attempts were due a day apart: none is placed
        next_day(ql, jobs)
    assert len(calls_to(standin, PHONE)) == 1
    rows = [(r.attempt, r.status, r.why_skipped) for r in touch_rows(database) if r.rule == "no_show"]
    assert rows[0][:2] == (1, "answered") and all(status in ("skipped", "cancelled") for _, status, _ in rows[1:])


def test_on_a_family_phone_whoever_answers_may_stop_the_calls_and_hears_the_same_words(ql, client, database, jobs,
                                                                                      standin):
    add_client(database, "C-9004", "Sam", (PHONE,))  # Robin's and Sam's family phone
    call = no_show_call(ql, database, jobs, standin)
    line, rest = answer(client, standin, call)
    assert line.heard == ["Hello, this is a call for someone at this number. Is that you? Press 1 for yes or 2 for "
                          "no."]
    assert line.say("no, and stop calling") == [STOPPED]
    assert opt_outs(database) == [(PHONE, "voice")]


def test_dont_call_me_again_on_a_returned_call_stops_calls_to_the_calling_number(ql, client, database, jobs,
                                                                                 standin):
    call = no_show_call(ql, database, jobs, standin)
    line, rest = answer(client, standin, call)
    line.press("2")
    deliver(client, rest)
    params = {"CallSid": "CA" + "5" * 32, "AccountSid": "AC" + "a" * 32, "From": PHONE, "To": call["from"],
              "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
    back = Line(client, params=params)
    back._post("/twilio/voice", {})
    assert back.heard[0] == "Hello, thank you for returning our call."
    assert back.say("who is this? don't call me again") == [STOPPED]
    assert opt_outs(database) == [(PHONE, "voice")]
    next_day(ql, jobs)
    assert len(calls_to(standin, PHONE)) == 1


def test_keys_and_yes_still_answer_the_first_question(ql, client, database, jobs, standin):
    call = no_show_call(ql, database, jobs, standin)
    line, rest = answer(client, standin, call)
    assert line.say("yes, speaking")[0].startswith("To protect your privacy")
    assert opt_outs(database) == []


# -- a reply after the touch was cancelled ------------------------------------------------------------------

def test_a_confirmation_after_the_appointment_was_cancelled_confirms_nothing(ql, client, database, jobs, standin):
    add_client(database, "C-9003", "Robin", (PHONE,))
    add_appointment(database, "A-9003", "C-9003", START + dt.timedelta(days=2))
    jobs.clock.now = START
    ql.jobs.plan_outbound_now()
    jobs.settle()
    [text] = [m for m in standin.messages() if m["to"] == PHONE]
    with database.sessions() as db, db.begin():
        appointment = db.get(Appointment, "A-9003")
        appointment.status, appointment.version = "cancelled", appointment.version + 1
        appointment.changed_at = START + dt.timedelta(minutes=5)
    jobs.clock.now = START + dt.timedelta(minutes=10)
    ql.jobs.plan_outbound_now()
    jobs.settle()
    status, body = text_in(client, PHONE, text["from"], "1", "SM" + "1" * 32)
    assert status == 200
    assert "confirmed" not in body and "A person will answer you soon." in body
    with database.sessions() as db:
        assert db.scalars(select(PracticeChange).where(PracticeChange.kind == "appointment_confirmed")).all() == []
        assert db.get(Appointment, "A-9003").status == "cancelled"
