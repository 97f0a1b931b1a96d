"""Escalations end to end: real calls through every flow exit that hands the caller to a person.

Simulated calls (signed webhooks), a real Redis, real RQ workers and RQ's scheduler on the
test clock, a real SQLite database with the demo practice and staff, the Twilio stand-in.
Monday 23 November 2026, 10:00 in New York, unless a test moves the clock.
"""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import update
from twilio.request_validator import RequestValidator

from ivr.escalations.models import Escalation
from tests.helpers.escalations import CLIENT_SECRETS, PHONES, escalations, notifications, texts
from tests.helpers.service import CLOSED_NOW, PUBLIC, TOKEN, stored_state
from workers.runtime import using

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
ALEX = "+15551230001"
MORGAN = "+15550100107"
LINK = PUBLIC + "/staff/e/"


def ny(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=NY)


def only(database) -> Escalation:
    found = escalations(database)
    assert len(found) == 1, [(e.call_sid, e.reason) for e in found]
    return found[0]


def all_job_args(redis_conn) -> list:
    """The arguments of every job RQ holds, queued, scheduled or finished."""
    args = []
    for key in redis_conn.scan_iter("rq:job:*"):
        job_id = key.decode().removeprefix("rq:job:")
        if ":" in job_id:
            continue
        job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
        args.append((job.id, job.func_name, job.args, job.kwargs))
    return args


# --------------------------------------------------------------------------- every flow exit

@pytest.mark.parametrize("caller, script, reason, category, priority, client_id, due, in_timeline", [
    (ALEX, "0;noanswer;record:4", "callback_request", "callback_request", 2, None, ny(23, 12),
     ["operator.ring_front_desk", "ring_front_desk:no-answer", "record_message:recorded"]),
    (ALEX, "3;04151985#;2;record:10", "billing", "billing", 2, "C-1001", ny(24, 18),
     ["billing.billing_escalation"]),
    (ALEX, "1;04151985#;1;4;say:Wednesday;4", "reschedule_failed", "reschedule_failed", 2, "C-1001", ny(24, 18),
     ["appointments.reschedule_failed"]),
    # The third wrong answer locks the client: its one alert is this call's escalation.
    (ALEX, "1;01011990#;5551230001;01011991#;5551230001;01011992#;answer", "verification_failed",
     "verification_failed", 1, None, ny(23, 12), ["identify.cannot_confirm", "check:locked"]),
    (MORGAN, "2;11031992#;2", "portal_tech", "portal_tech", 2, "C-1002", ny(24, 18), ["links.tech_help"]),
    (ALEX, "9;answer", "crisis", "crisis", 0, None, ny(23, 10, 15), ["crisis.alert_staff"]),
], ids=["callback", "billing", "reschedule", "verification", "portal", "crisis"])
def test_each_flow_exit_creates_one_escalation(sim, database, redis_conn, jobs, caller, script, reason, category,
                                               priority, client_id, due, in_timeline):
    result = sim.call(from_=caller, script=script)
    assert not result.application_error
    jobs.run()
    found = {e.reason: e for e in escalations(database)}
    # A locked-out caller is also offered a message, which is a callback request of its own.
    assert set(found) == {reason}  # a locked-out caller is not escalated twice
    esc = found[reason]
    assert (esc.call_sid, esc.reason, esc.category, esc.priority) == (result.call_sid, reason, category, priority)
    assert esc.status == "open" and esc.escalation_level == 1 and esc.breached_at is None
    assert esc.caller_masked == ("+1******0001" if caller == ALEX else "+1******0107")
    assert esc.client_id == client_id  # only a verified caller's client
    assert esc.deadline_at == due.astimezone(UTC)
    assert esc.created_at == jobs.clock.now
    for entry in in_timeline:
        assert entry in esc.timeline
    # The timeline is steps and choices: no digits the caller typed, no number.
    assert not any(secret in json.dumps(esc.timeline) for secret in ("04151985", "01011990", "11031992", "5551230001"))
    assert redis_conn.keys("ql:escalation*") == []  # the Redis placeholder is gone


def test_voicemail_before_the_escalation_is_attached(sim, database, jobs):
    result = sim.call(from_=ALEX, script="0;noanswer;record:4")
    jobs.run()
    recorded = [r.params["RecordingSid"] for r in result.requests if "RecordingSid" in r.params]
    assert recorded and only(database).recording_sid == recorded[0]


def test_a_key_pressed_during_the_voicemail_prompt_loses_nothing(sim, database, jobs):
    # Issue 14: the prompt takes keys; one that does nothing there goes on to the beep, and the message
    # reaches staff on the one escalation, as when the caller listens in silence.
    result = sim.call(from_=ALEX, script="0;noanswer;7;record:4")
    jobs.run()
    recorded = [r.params["RecordingSid"] for r in result.requests if "RecordingSid" in r.params]
    esc = only(database)
    assert (esc.reason, esc.recording_sid) == ("callback_request", recorded[0])


def test_the_step_limit_escalates_as_other_with_high_priority(sim, app, database, jobs):
    app.extensions["quietline"].calls.max_steps = 4
    sim.call(script="say:gibberish;record:4")
    jobs.run()
    esc = only(database)
    assert (esc.reason, esc.category, esc.priority, esc.deadline_at) == ("call_limit", "other", 1,
                                                                         ny(23, 12).astimezone(UTC))


def test_crisis_goes_through_the_urgent_queue_only(sim, database, redis_conn, jobs, staff, standin):
    clock = jobs.clock
    clock.now = CLOSED_NOW  # Monday 20:00: only the on-call clinician is on at level 1
    result = sim.call(from_=ALEX, script="9;answer")
    calls = Queue("calls", connection=redis_conn, serializer=JSONSerializer)
    assert len(calls) == 0
    jobs.run(queues=("urgent",))  # the urgent worker alone does everything
    esc = only(database)
    assert texts(standin) == [(PHONES["oncall@example.com"], f"URGENT call #{esc.id}: call back now. {LINK}{esc.id}")]
    urgent = Queue("urgent", connection=redis_conn, serializer=JSONSerializer)
    finished = urgent.finished_job_registry.get_job_ids()
    assert f"escalate-{result.call_sid}-crisis" in finished
    assert f"escalation-{esc.id}-new-L1" in finished
    assert any(j.startswith("notify-") for j in finished)
    assert len(calls) == 0 and calls.finished_job_registry.get_job_ids() == []
    # Reminders for a crisis come within its 15 minutes, on the urgent queue too.
    scheduled = {j: t for j, t in jobs.scheduled().items() if j.startswith("escalation-")}
    assert scheduled == {f"escalation-{esc.id}-reminder-L2": (CLOSED_NOW + dt.timedelta(minutes=10)),
                         f"escalation-{esc.id}-reminder-L3": (CLOSED_NOW + dt.timedelta(minutes=12, seconds=30)),
                         f"escalation-{esc.id}-breach": (CLOSED_NOW + dt.timedelta(minutes=15))}
    assert set(urgent.scheduled_job_registry.get_job_ids()) >= set(scheduled)


def test_crisis_staff_are_texted_by_the_urgent_queue_alone(sim, database, jobs, staff, standin):
    """The crisis path needs nothing from the routine queue or the scheduler: the urgent worker alone texts
    staff (how fast is bench/'s business; tests do not time it)."""
    sim.call(from_=ALEX, script="9;answer")
    jobs.run(queues=("urgent",))
    assert len(standin.messages()) == 2  # front desk (office hours) and the on-call clinician


def test_new_escalation_texts_level_one_with_a_link_and_nothing_else(sim, database, jobs, staff, standin):
    sim.call(from_=ALEX, script="3;04151985#;2;record:10")
    jobs.run()
    esc = only(database)
    body = f"New billing question #{esc.id}, due by Tue, Nov 24 at 6 PM. {LINK}{esc.id}"
    assert sorted(texts(standin)) == [(PHONES["frontdesk@example.com"], body), (PHONES["oncall@example.com"], body)]
    rows = notifications(database)
    assert [(n.kind, n.channel, n.status, n.attempts) for n in rows] == [("new", "sms", "sent", 1)] * 2
    assert all(n.provider_id.startswith("SM") and n.sent_at == jobs.clock.now for n in rows)


# --------------------------------------------------------------------------- once, whatever happens

def test_a_replayed_webhook_makes_no_second_escalation(sim, client, database, redis_conn, jobs, staff, standin):
    result = sim.call(from_=ALEX, script="1;04151985#;1;4;say:Wednesday;4")
    jobs.run()
    before = texts(standin)
    # Twilio retries every request of the call (a timeout on its side): same URLs, same parameters.
    validator = RequestValidator(TOKEN)
    for request in result.requests:
        path = request.url.removeprefix(PUBLIC)
        response = client.post(path, data=request.params,
                               headers={"X-Twilio-Signature": validator.compute_signature(request.url, request.params)})
        assert response.status_code in (200, 204)
    jobs.run()
    assert len(escalations(database)) == 1
    assert texts(standin) == before


def test_the_escalate_job_run_twice_creates_and_notifies_once(sim, app, database, redis_conn, jobs, staff, standin):
    from workers.escalations import escalate

    result = sim.call(from_=ALEX, script="0;noanswer;record:4")
    jobs.run()
    with using(app.extensions["quietline"]):
        # As if RQ ran it again after a worker died at the very end of the first run.
        again = escalate(result.call_sid, "callback_request", "normal")
    jobs.run()
    assert again == only(database).id
    assert len(notifications(database)) == 2 and len(standin.messages()) == 2


def test_a_retry_after_a_crash_halfway_finishes_the_work(sim, app, database, redis_conn, jobs, staff, standin,
                                                         monkeypatch):
    """The first run created the row and died before any notification was enqueued."""
    from ivr.jobs.enqueue import Jobs

    real_notify = Jobs.notify
    crashes = []

    def crash_once(self, *args, **kwargs):
        if not crashes:
            crashes.append(1)
            raise ConnectionError("redis went away")
        return real_notify(self, *args, **kwargs)

    monkeypatch.setattr(Jobs, "notify", crash_once)
    result = sim.call(from_=ALEX, script="0;noanswer;record:4")
    jobs.run()  # fails, and RQ schedules a retry 5 s later
    assert len(escalations(database)) == 1 and standin.messages() == []
    job = Job.fetch(f"escalate-{result.call_sid}-callback_request", connection=redis_conn,
                    serializer=JSONSerializer)
    assert job.get_status() == "scheduled" and job.retries_left == 4
    jobs.at(jobs.clock.now + dt.timedelta(seconds=5))
    assert len(escalations(database)) == 1
    assert len(standin.messages()) == 2


def test_job_payloads_hold_ids_only(sim, database, redis_conn, jobs, staff, standin):
    sim.call(from_=ALEX, script="3;04151985#;2;record:10")
    sim.call(from_=ALEX, script="9;noanswer;record:3")
    jobs.run()
    payloads = all_job_args(redis_conn)
    assert {name for _, name, _, _ in payloads} >= {
        "workers.escalations.escalate", "workers.notifications.notify", "workers.notifications.send_notification",
        "workers.escalations.check_breach"}
    for job_id, name, args, kwargs in payloads:
        text = json.dumps([job_id, args, kwargs])
        for secret in CLIENT_SECRETS + list(PHONES.values()) + ["example.com"]:
            assert secret not in text, (name, secret)
        if name.startswith("workers.notifications") or name.endswith("check_breach"):
            assert all(isinstance(a, (int, str)) for a in args) and kwargs == {}
            assert all(isinstance(a, int) or a in ("new", "reminder", "breach") for a in args), args


# --------------------------------------------------------------------------- the promise

def test_the_deadline_is_what_the_caller_was_promised(sim, app, database, redis_conn, jobs, flows_dir):
    callback = flows_dir / "callback.yaml"
    callback.write_text(callback.read_text().replace(
        "Someone will call you back {{ callback_promise or 'as soon as possible' }}.",
        "Someone will call you back by {{ callback_by('callback_request') | spoken }}."))
    assert app.extensions["quietline"].flows.maybe_reload()
    jobs.clock.now = ny(23, 17, 20)  # Monday 5:20 PM: 40 minutes today, 80 tomorrow
    result = sim.call(from_=ALEX, script="0;noanswer;record:4")
    assert result.heard[-1] == "Thank you. Someone will call you back by tomorrow at 10:20 AM. Goodbye."
    state = stored_state(redis_conn, result.call_sid)
    assert state["vars"]["promised"] == {"callback_request": "2026-11-24T10:20:00-05:00"}
    jobs.clock.advance(minutes=12)  # the job runs late: the promise stands
    jobs.run()
    esc = only(database)
    assert esc.deadline_at == ny(24, 10, 20).astimezone(UTC)
    assert esc.created_at == ny(23, 17, 32).astimezone(UTC)


def test_without_a_stored_promise_the_job_computes_the_deadline(sim, app, database, redis_conn, jobs):
    result = sim.call(from_=ALEX, script="0;noanswer;record:4")
    redis_conn.delete("ql:call:" + result.call_sid)  # the session expired before the job ran
    jobs.clock.advance(minutes=30)
    jobs.run()
    esc = only(database)
    assert esc.deadline_at == ny(23, 12, 30).astimezone(UTC)
    assert (esc.caller_masked, esc.timeline, esc.client_id) == ("-", [], None)


# --------------------------------------------------------------------------- nobody forgets

def test_unclaimed_escalation_goes_to_backup_then_owner_then_breaches(sim, database, jobs, staff, standin):
    sim.call(from_=ALEX, script="0;noanswer;record:4")  # callback request, due 12:00
    jobs.run()
    esc = only(database)
    eid = esc.id
    assert {j: t.astimezone(NY) for j, t in jobs.scheduled().items() if j.startswith("escalation-")} == {
        f"escalation-{eid}-reminder-L2": ny(23, 11, 30), f"escalation-{eid}-reminder-L3": ny(23, 11, 45),
        f"escalation-{eid}-breach": ny(23, 12)}
    assert len(standin.messages()) == 2

    jobs.at(ny(23, 11, 29))
    assert len(standin.messages()) == 2  # nothing due yet
    jobs.at(ny(23, 11, 30))
    assert texts(standin)[2:] == [(PHONES["backup@example.com"],
                                   f"Reminder: callback request #{eid} is due by 12 PM and nobody has claimed it. "
                                   f"{LINK}{eid}")]
    assert only(database).escalation_level == 2
    jobs.at(ny(23, 11, 45))
    assert texts(standin)[3:] == [(PHONES["owner@example.com"],
                                   f"Reminder: callback request #{eid} is due by 12 PM and nobody has claimed it. "
                                   f"{LINK}{eid}")]
    assert only(database).escalation_level == 3
    jobs.at(ny(23, 12))
    assert texts(standin)[4:] == [(PHONES["owner@example.com"],
                                   f"Overdue: callback request #{eid} was due by 12 PM and is not resolved. "
                                   f"{LINK}{eid}")]
    esc = only(database)
    assert esc.breached_at == ny(23, 12).astimezone(UTC) and esc.status == "open"
    assert not any(j.startswith("escalation-") for j in jobs.scheduled())
    jobs.at(ny(23, 13))
    assert len(standin.messages()) == 5  # and nothing more, ever


def claim(database, eid: int, user_id: int, status: str = "claimed") -> None:
    with database.sessions() as db, db.begin():
        db.execute(update(Escalation).where(Escalation.id == eid).values(
            status=status, claimed_by=user_id, claimed_at=dt.datetime(2026, 11, 23, 16, 10, tzinfo=UTC)))


def test_a_claim_stops_the_reminders_but_an_unresolved_deadline_still_breaches(sim, database, jobs, staff,
                                                                               standin):
    sim.call(from_=ALEX, script="0;noanswer;record:4")
    jobs.run()
    eid = only(database).id
    claim(database, eid, staff["frontdesk@example.com"])
    jobs.at(ny(23, 11, 50))
    assert len(standin.messages()) == 2 and only(database).escalation_level == 1
    jobs.at(ny(23, 12, 1))
    assert only(database).breached_at == ny(23, 12, 1).astimezone(UTC)
    assert texts(standin)[2:] == [(PHONES["owner@example.com"],
                                   f"Overdue: callback request #{eid} was due by 12 PM and is not resolved. "
                                   f"{LINK}{eid}")]


def test_resolved_in_time_nothing_more_happens(sim, database, jobs, staff, standin):
    sim.call(from_=ALEX, script="0;noanswer;record:4")
    jobs.run()
    eid = only(database).id
    claim(database, eid, staff["frontdesk@example.com"], status="resolved")
    jobs.at(ny(23, 14))
    esc = only(database)
    assert esc.breached_at is None and esc.escalation_level == 1
    assert len(standin.messages()) == 2


def test_crisis_reminders_run_on_the_urgent_queue(sim, database, redis_conn, jobs, staff, standin):
    jobs.clock.now = CLOSED_NOW
    sim.call(from_=ALEX, script="9;answer")
    jobs.run(queues=("urgent",))
    eid = only(database).id
    jobs.at(CLOSED_NOW + dt.timedelta(minutes=10))
    assert texts(standin)[-1] == (PHONES["backup@example.com"], f"URGENT call #{eid} is still unclaimed: call back "
                                                                 f"now. {LINK}{eid}")
    jobs.at(CLOSED_NOW + dt.timedelta(minutes=15))
    assert only(database).breached_at == (CLOSED_NOW + dt.timedelta(minutes=15))
    calls = Queue("calls", connection=redis_conn, serializer=JSONSerializer)
    assert calls.finished_job_registry.get_job_ids() == []
