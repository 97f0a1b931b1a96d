"""A ``moved`` correction whose text cannot go (the number refused texts for good) is called instead when the client
allows calls, else becomes a staff task; its skip gives the true reason (``undeliverable``, never ``opted_out``).
A late, out-of-order ``undelivered`` callback after ``delivered`` flags nothing and cancels nothing (break test
s25, SHOULD-FIX 4b).  Real RQ worker and scheduler on the test clock, both databases, the Twilio stand-in, signed
callbacks."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ivr.contact.models import UndeliverableNumber
from ivr.escalations.models import Escalation
from tests.helpers.contact import add_appointment, add_client, deliver, touch_rows
from tests.helpers.replanning import APPT, PHONE, TWO_DAYS, move, rows, texts

ACK = (200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response />")
MOVE_AT = TWO_DAYS + dt.timedelta(hours=20)  # Thu 3 Dec 11:00 New York


def reminded(database, jobs, standin, client, *, may_call: bool, may_voicemail: bool = False) -> dict:
    """Robin (Fri 4 Dec 15:00): the two-days reminder went out Wed 15:00 and was delivered."""
    jobs.clock.now = TWO_DAYS - dt.timedelta(days=2)
    add_client(database, "C-9007", "Robin", (PHONE,), may_call=may_call, may_voicemail=may_voicemail)
    add_appointment(database, "A-9007", "C-9007", APPT)
    jobs.run()
    jobs.at(TWO_DAYS)
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    deliver(client, standin.finish_message(sms["sid"], "delivered"))
    jobs.settle()
    return sms


def escalations(database) -> list[tuple[str, dict | None]]:
    with database.sessions() as db:
        return [(e.reason, e.details) for e in db.scalars(select(Escalation).where(Escalation.client_id == "C-9007"))]


def flags(database) -> list[tuple[str, str]]:
    with database.sessions() as db:
        return [(f.channel, f.error_code) for f in db.scalars(select(UndeliverableNumber))]


def move_and_run(database, jobs, standin) -> None:
    """Texts to Robin's number are now refused for good (21614, not a mobile number); staff move the appointment to
    17:00 and the clock runs 30 minutes."""
    standin.refuse_sms_to(PHONE, 21614)
    jobs.at(MOVE_AT)
    move(database, MOVE_AT, start=APPT + dt.timedelta(hours=2))
    jobs.run()
    for minute in range(1, 31):
        jobs.at(MOVE_AT + dt.timedelta(minutes=minute))


def test_a_late_undelivered_after_delivered_flags_nothing_and_keeps_the_next_reminder(database, jobs, standin,
                                                                                     client):
    sms = reminded(database, jobs, standin, client, may_call=True)
    assert deliver(client, standin.finish_message(sms["sid"], "undelivered", error_code=30005)) == [ACK]
    jobs.settle()
    assert flags(database) == []
    assert rows(database) == [("reminders.two_days_before/A-9007/v1/1/text", "delivered", None),
                              ("reminders.two_hours_before/A-9007/v1/1/text", "planned", None)]
    [row] = [r for r in touch_rows(database, "C-9007") if "two_days_before" in r.touch_id]
    assert row.error_code is None


def test_a_correction_whose_text_is_refused_for_good_is_called_instead(database, jobs, standin, client):
    reminded(database, jobs, standin, client, may_call=True)
    move_and_run(database, jobs, standin)
    assert texts(standin) == [
        "Hi Robin, a reminder of your appointment Fri, Dec 4 at 3 PM. Reply 1 to confirm or 2 to change it. "
        "Reply STOP to stop these texts."]
    assert [c["to"] for c in standin.calls()] == [PHONE]
    moved = [(touch, status, why) for touch, status, why in rows(database) if "moved" in touch]
    assert moved == [("reminders.moved/A-9007/v2/1/text", "failed", None),
                     ("reminders.moved/A-9007/v2/2/call", "queued", None)]
    assert flags(database) == [("text", "21614")]
    assert ("reminders.two_hours_before/A-9007/v2/1/text", "cancelled", "undeliverable") in rows(database)
    assert escalations(database) == []


def test_a_correction_with_no_channel_left_becomes_a_staff_task_with_the_true_reason(database, jobs, standin,
                                                                                    client):
    reminded(database, jobs, standin, client, may_call=False)
    move_and_run(database, jobs, standin)
    assert standin.calls() == []
    assert len(texts(standin)) == 1  # only the first reminder: the correction could not go by text
    moved = [(touch, status, why) for touch, status, why in rows(database) if "moved" in touch]
    assert sorted(moved) == [("reminders.moved/A-9007/v2/1/text", "failed", None),
                             ("reminders.moved/A-9007/v2/2/call", "skipped", "no_consent"),
                             ("reminders.moved/A-9007/v2/notsent-no_consent-2/staff_task", "done", None)]
    assert escalations(database) == [("not_sent", {
        "task": "Not sent automatically (no_consent): reminders.moved, appointment A-9007. "
                "Contact the client yourself.",
        "trigger": "reminders.moved", "why": "no_consent", "appointment_id": "A-9007"})]
    assert all(why != "opted_out" for _, _, why in rows(database))


def test_a_correction_for_a_number_already_flagged_for_texts_says_undeliverable(database, jobs, standin, client):
    """The number was flagged before the move (an earlier correction's text refused for good) and the client allows
    no calls: the next correction is skipped ``undeliverable`` (never ``opted_out``) with a staff task."""
    may_call = False
    reminded(database, jobs, standin, client, may_call=may_call)
    standin.refuse_sms_to(PHONE, 21614)
    jobs.at(MOVE_AT - dt.timedelta(hours=2))
    move(database, MOVE_AT - dt.timedelta(hours=2), start=APPT + dt.timedelta(hours=1))  # a first move: v2
    jobs.run()
    for minute in range(1, 31):
        jobs.at(MOVE_AT - dt.timedelta(hours=2) + dt.timedelta(minutes=minute))
    assert ("text", "21614") in flags(database)
    calls_before = len(standin.calls())
    jobs.at(MOVE_AT)
    move(database, MOVE_AT, start=APPT + dt.timedelta(hours=2))  # the second move (v3): texts are closed already
    jobs.run()
    for minute in range(1, 31):
        jobs.at(MOVE_AT + dt.timedelta(minutes=minute))
    moved = [(touch, status, why) for touch, status, why in rows(database) if "moved/A-9007/v3" in touch]
    assert sorted(moved) == [("reminders.moved/A-9007/v3/1/text", "skipped", "undeliverable"),
                             ("reminders.moved/A-9007/v3/notsent-undeliverable-1/staff_task", "done", None)]
    assert [details["why"] for reason, details in escalations(database) if reason == "not_sent"][-1] \
        == "undeliverable"
    assert len(standin.calls()) == calls_before == 0


@pytest.mark.parametrize("far_end", [{"answered_by": "machine_end_beep"}, {"answered_by": "machine_end_silence"},
                                     {"status": "no-answer"}, {"status": "busy"}])
def test_a_correction_call_that_reaches_nobody_becomes_a_correction_not_delivered_task(far_end, database, jobs,
                                                                                        standin, client):
    """Break-test s25b #2: the correction went by call (its text refused for good) and reached a machine (a neutral
    voicemail, which never gives the time), nobody, or a busy line: the new time never reached the client, no attempt
    is left, so staff get one "correction not delivered" task; the voicemail says no time."""
    reminded(database, jobs, standin, client, may_call=True, may_voicemail=True)
    move_and_run(database, jobs, standin)
    [call] = standin.calls()
    assert all(code == 200 for code, _ in deliver(client, standin.finish_call(call["sid"], **far_end)))
    jobs.settle()
    for minute in range(31, 35):
        jobs.at(MOVE_AT + dt.timedelta(minutes=minute))
    outcome = {"machine_end_beep": "voicemail", "machine_end_silence": "voicemail"}.get(
        far_end.get("answered_by", ""), far_end.get("status", "").replace("-", "_"))
    moved = sorted((touch, status, why) for touch, status, why in rows(database) if "moved" in touch)
    assert moved == [("reminders.moved/A-9007/v2/1/text", "failed", None),
                     ("reminders.moved/A-9007/v2/2/call", outcome, None),
                     ("reminders.moved/A-9007/v2/3/text", "skipped", "not_delivered"),
                     ("reminders.moved/A-9007/v2/notsent-not_delivered-3/staff_task", "done", None)]
    assert escalations(database) == [("not_sent", {
        "task": "Correction not delivered: reminders.moved, appointment A-9007 (the new time reached nobody; a "
                "voicemail never gives it). Contact the client yourself.",
        "trigger": "reminders.moved", "why": "not_delivered", "appointment_id": "A-9007"})]
    after = standin.calls()[0]
    assert "PM" not in (after["twiml"] or "") and "Dec" not in (after["twiml"] or "")
    assert len(standin.calls()) == 1 and len(texts(standin)) == 1
