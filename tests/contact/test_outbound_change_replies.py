"""A "change" reply asks for a correction call; when that call cannot be placed or reaches nobody, staff get one
``change_request`` task (an escalation), never two; an answered call raises none."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import select

from ivr.escalations.models import Escalation
from ivr.jobs.enqueue import escalate_job_id
from tests.helpers.contact import add_appointment, add_client, answer, deliver, text_in, touch_rows

NY = ZoneInfo("America/New_York")
PHONE = "+15551239030"
FIRST = dt.datetime(2026, 12, 2, 15, tzinfo=NY).astimezone(dt.UTC)  # the 2-days-before reminder
REPLIED = dt.datetime(2026, 12, 3, 9, tzinfo=NY).astimezone(dt.UTC)  # the next morning, when calls may be made
CALL_DUE = REPLIED + dt.timedelta(minutes=1)  # the correction call, placed at once (after the reply)
DOB = "01021980"  # add_client's date of birth
ACK = (200, '<?xml version="1.0" encoding="UTF-8"?><Response />')


def tasks(database) -> list[tuple[str, str, str | None, dict | None, str]]:
    with database.sessions() as db:
        return [(e.call_sid, e.reason, e.client_id, e.details, e.category)
                for e in db.scalars(select(Escalation).order_by(Escalation.id))]


def asked_to_change(app, client, database, jobs, standin, *, same_day: bool = False, **consent) -> dict:
    """Robin was reminded and replied "2" the next morning at 9, when calls may be made (``same_day``: at once, on
    the reminder's day, when the daily limit holds the call back); the correction call is planned.  The reminder
    text.  (A reply in quiet hours gives staff the task at once: tests/contact/test_outbound_replies.py.)"""
    ql = app.extensions["quietline"]
    jobs.clock.now = FIRST - dt.timedelta(hours=1)
    add_client(database, "C-9030", "Robin", (PHONE,), **consent)
    add_appointment(database, "A-9030", "C-9030", dt.datetime(2026, 12, 4, 15, tzinfo=NY).astimezone(dt.UTC))
    ql.jobs.plan_outbound_now()
    jobs.at(FIRST)
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    if not same_day:
        jobs.at(REPLIED)
    assert text_in(client, PHONE, sms["from"], "2", "SM" + "3" * 32)[0] == 200
    jobs.settle()
    return sms


def correction_rows(database) -> list[tuple[str, str, str | None]]:
    return [(r.channel, r.status, r.why_skipped) for r in touch_rows(database, "C-9030") if r.rule == "correction"]


@pytest.mark.parametrize(("how", "outcome"), [
    ({"status": "no-answer"}, "no_answer"),
    ({"status": "busy"}, "busy"),
    ({"status": "failed"}, "failed"),
    ({"answered_by": "machine_end_beep"}, "machine"),
])
def test_a_correction_call_that_reaches_nobody_gives_staff_one_change_task(how, outcome, app, client, database,
                                                                           jobs, standin):
    asked_to_change(app, client, database, jobs, standin)
    assert tasks(database) == []  # the call comes first
    jobs.at(CALL_DUE)
    [call] = [c for c in standin.calls() if c["to"] == PHONE]
    assert all(r[0] == 200 for r in deliver(client, standin.finish_call(call["sid"], **how)))
    jobs.settle()
    assert correction_rows(database) == [("call", outcome, None)]
    assert tasks(database) == [("change-1", "change_request", "C-9030",
                                {"reply": "change", "outcome": outcome, "appointment_id": "A-9030"},
                                "reschedule_failed")]
    # The task reached staff the way every escalation does: its escalate job ran (its id is a valid RQ job id).
    job = Job.fetch(escalate_job_id("change-1", "change_request"), connection=jobs.redis, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.FINISHED
    # Later passes, and Twilio posting the same callback again: still one task.
    assert all(r[0] == 200 for r in deliver(client, standin.finish_call(call["sid"], **how)))
    jobs.at(CALL_DUE + dt.timedelta(hours=3))
    assert len(tasks(database)) == 1


def test_a_correction_call_twilio_refuses_gives_staff_the_task(app, client, database, jobs, standin):
    asked_to_change(app, client, database, jobs, standin)
    standin.fail_next("/Calls.json", 400, method="POST")
    jobs.at(CALL_DUE)
    assert standin.calls() == []
    assert correction_rows(database) == [("call", "failed", None)]
    assert [t[:2] for t in tasks(database)] == [("change-1", "change_request")]


def test_a_client_who_takes_no_calls_gives_staff_the_task_within_a_minute(app, client, database, jobs, standin):
    asked_to_change(app, client, database, jobs, standin, same_day=True, may_call=False)
    jobs.at(FIRST + dt.timedelta(minutes=1))  # the minute's planning pass
    assert correction_rows(database) == [("call", "skipped", "no_consent")]
    assert [t[:4] for t in tasks(database)] == [("change-1", "change_request", "C-9030",
                                                 {"reply": "change", "outcome": "no_consent",
                                                  "appointment_id": "A-9030"})]
    jobs.at(CALL_DUE)
    assert standin.calls() == [] and len(tasks(database)) == 1


def test_an_answered_correction_call_raises_no_task(app, client, database, jobs, standin):
    """Robin answers, says it is Robin and verifies: the call reached the client, so staff get no task."""
    asked_to_change(app, client, database, jobs, standin)
    jobs.at(CALL_DUE)
    [call] = [c for c in standin.calls() if c["to"] == PHONE]
    line, rest = answer(client, standin, call)
    line.press("1")  # "Is that you?" yes
    line.press(DOB)
    assert all(status == 200 for status, _ in deliver(client, rest))
    jobs.at(CALL_DUE + dt.timedelta(hours=3))
    assert [(r.verified, r.answered_by) for r in touch_rows(database, "C-9030") if r.rule == "correction"] == [
        (True, "human")]
    assert tasks(database) == []


def test_a_correction_call_someone_else_answers_gives_staff_the_task(app, client, database, jobs, standin):
    """Someone else picks up (the client was not reached): the change still needs a person."""
    asked_to_change(app, client, database, jobs, standin)
    jobs.at(CALL_DUE)
    [call] = [c for c in standin.calls() if c["to"] == PHONE]
    line, rest = answer(client, standin, call)
    line.press("2")  # "Is that you?" no
    assert all(status == 200 for status, _ in deliver(client, rest))
    jobs.at(CALL_DUE + dt.timedelta(hours=3))
    assert tasks(database) == [("change-1", "change_request", "C-9030",
                                {"reply": "change", "outcome": "no_answer", "appointment_id": "A-9030"},
                                "reschedule_failed")]


def test_a_staff_correction_call_that_fails_raises_no_change_task(app, client, database, jobs, standin):
    """Only a client's own change reply makes the task: staff who asked for a call already know."""
    from tests.helpers.dashboard import STAFF_PASSWORD, add_user, post, signed_in

    jobs.clock.now = dt.datetime(2026, 12, 2, 10, tzinfo=NY).astimezone(dt.UTC)
    add_client(database, "C-9030", "Robin", (PHONE,))
    staff = signed_in(app, add_user(database, "desk@example.org", "Front Desk", "staff", STAFF_PASSWORD))
    post(staff, "/staff/outbound/correction", {"client_id": "C-9030"}, token_from="/staff/outbound")
    jobs.settle()
    [call] = [c for c in standin.calls() if c["to"] == PHONE]
    deliver(client, standin.finish_call(call["sid"], status="no-answer"))
    jobs.settle()
    assert correction_rows(database) == [("call", "no_answer", None)]
    assert tasks(database) == []


@pytest.mark.parametrize("key", ["change:1", "change/1 ä", "変更 1"])
def test_a_staff_task_under_any_key_reaches_staff(key, app, database, jobs):
    """A key RQ would refuse as a job id (a ``change:<id>`` once wrote a task whose job never ran: nobody was
    paged) is mapped to one it accepts: the escalate job runs on the worker like any other."""
    add_client(database, "C-9031", "Robin", ("+15551239031",))
    ql = app.extensions["quietline"]
    ql.outbound.staff_task(key, "change_request", "C-9031", {"reply": "change"})
    jobs.settle()
    assert [(t[0], t[1], t[2]) for t in tasks(database)] == [(key, "change_request", "C-9031")]
    job = Job.fetch(escalate_job_id(key, "change_request"), connection=jobs.redis, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.FINISHED


def test_a_change_asked_for_on_the_reminders_day_is_held_by_the_daily_limit_and_staff_get_one_task(
        app, client, database, jobs, standin):
    asked_to_change(app, client, database, jobs, standin, same_day=True)
    assert correction_rows(database) == [("staff_task", "done", None), ("call", "skipped", "daily_cap")]
    assert [(t[1], t[2], t[3]["trigger"], t[3]["appointment_id"]) for t in tasks(database)] == [
        ("held_by_limit", "C-9030", "follow_ups.correction", "A-9030")]
    jobs.at(CALL_DUE)
    jobs.at(CALL_DUE + dt.timedelta(hours=3))
    assert standin.calls() == []
    assert len(tasks(database)) == 1  # no change_request on top: the held task already says it
