"""A job RQ has but will never run (a half-written enqueue, a lost or emptied queue) is found and enqueued again.

Real Redis, RQ's own records: the faults are made the way they happen (a queue key of the wrong type makes RQ's
unique-enqueue script write the job's hash and then fail to push it; ``rq empty``; a queue key evicted or
deleted), then the service's normal paths (a replayed webhook, the status callback, the reconciliation job) run.
"""
from __future__ import annotations

import datetime as dt

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import select

from ivr.escalations.models import Escalation
from ivr.jobs.enqueue import Enqueued, Jobs, Placement
from tests.helpers.webhooks import post, start_params
from workers.runtime import using

STATUS = "/twilio/status"


def of_call(database, call_sid: str) -> list[tuple[str, int]]:
    with database.sessions() as db:
        return [(e.reason, e.priority) for e in db.scalars(select(Escalation).where(Escalation.call_sid == call_sid))]


def outbox_fields(redis_conn, call_sid: str) -> list[str]:
    return sorted(f.decode() for f in redis_conn.hkeys("ql:call:" + call_sid) if f.startswith(b"outbox:"))


def crisis_call(client, sid: str) -> None:
    """A caller presses 9 (crisis): the webhook answers, and its outbox holds the urgent escalation."""
    post(client, "/twilio/voice", start_params(sid))
    answer = post(client, "/twilio/voice/input?turn=1", {**start_params(sid), "Digits": "9"})
    assert answer.status_code == 200 and "9 8 8" in answer.get_data(as_text=True)


def reconcile_now(app, jobs) -> dict[str, int]:
    from workers.reconcile import reconcile

    jobs.clock.advance(seconds=300)
    with using(app.extensions["quietline"]):
        return reconcile()


@pytest.mark.parametrize("recovery", ["status callback", "reconciliation"])
def test_a_half_written_crisis_enqueue_is_not_counted_done_and_is_enqueued_again(recovery, app, client, database,
                                                                                 redis_conn, jobs, staff):
    """RQ's enqueue wrote rq:job:escalate-<sid>-crisis (queued) and failed to push it: the outbox keeps the
    entry until the job is really in a queue, and the next drain puts it there."""
    sid = "CA" + "6" * 32
    job_id = f"escalate-{sid}-crisis"
    urgent = Queue("urgent", connection=redis_conn, serializer=JSONSerializer)
    redis_conn.set(urgent.key, "not a list")  # RQ's script saves the job's hash, then RPUSH fails (WRONGTYPE)
    crisis_call(client, sid)
    job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.QUEUED  # the half-write: a queued job ...
    assert outbox_fields(redis_conn, sid) == ["outbox:escalate-crisis"]  # ... not counted done
    redis_conn.delete(urgent.key)  # the queue key is sound again; the job is in no queue
    assert Jobs(redis_conn).locate(job_id) == ("queued", Placement.STRANDED)

    if recovery == "status callback":  # the first drain after the fault: RQ says "duplicate", we look where it is
        assert post(client, STATUS, {**start_params(sid), "CallStatus": "completed"}).status_code == 200
    else:
        assert reconcile_now(app, jobs) == {"outboxes drained": 1}
    assert urgent.job_ids == [job_id]
    assert outbox_fields(redis_conn, sid) == []
    assert Jobs(redis_conn).locate(job_id) == ("queued", Placement.IN_FLIGHT)
    jobs.run()
    assert of_call(database, sid) == [("crisis", 0)]


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.CANCELED, JobStatus.STOPPED])
def test_reconciliation_revives_an_escalation_stranded_in_no_queue(status, app, client, database, redis_conn, jobs,
                                                                   staff):
    """The outbox entry is gone (RQ had the job), then the queue was lost: queued, deferred, canceled or stopped
    over no queue, the job would never run. Reconciliation enqueues it again, through RQ."""
    sid = "CA" + "7" * 32
    job_id = f"escalate-{sid}-crisis"
    crisis_call(client, sid)
    urgent = Queue("urgent", connection=redis_conn, serializer=JSONSerializer)
    assert urgent.job_ids == [job_id] and outbox_fields(redis_conn, sid) == []
    redis_conn.delete(urgent.key)  # evicted, or deleted by hand: the hash lives on
    job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
    job.set_status(status)
    assert Jobs(redis_conn).locate(job_id) == (status, Placement.STRANDED)
    post(client, STATUS, {**start_params(sid), "CallStatus": "completed"})
    assert urgent.job_ids == []  # nothing in the outbox: the status callback has nothing to drain

    assert reconcile_now(app, jobs) == {"stranded escalations enqueued again": 1}
    assert urgent.job_ids == [job_id]
    assert reconcile_now(app, jobs) == {}  # in its queue now: nothing more to do
    jobs.run()
    assert of_call(database, sid) == [("crisis", 0)]


def test_rq_empty_loses_nothing(app, client, database, redis_conn, jobs, staff):
    """`rq empty urgent` deletes the queue and its jobs' hashes: reconciliation enqueues the escalation afresh."""
    sid = "CA" + "8" * 32
    crisis_call(client, sid)
    post(client, STATUS, {**start_params(sid), "CallStatus": "completed"})
    urgent = Queue("urgent", connection=redis_conn, serializer=JSONSerializer)
    assert urgent.empty() == 1  # what `rq empty urgent` runs
    assert Jobs(redis_conn).locate(f"escalate-{sid}-crisis") == (None, Placement.MISSING)
    assert reconcile_now(app, jobs) == {"escalations enqueued again": 1}
    jobs.run()
    assert of_call(database, sid) == [("crisis", 0)]


def test_where_rq_holds_a_job(redis_conn):
    """locate() and rescue() against each place RQ keeps a job it will run, and the ones it will not."""
    jobs = Jobs(redis_conn)
    calls = jobs.queue
    assert jobs.locate("nothing") == (None, Placement.MISSING) and jobs.rescue("nothing") is None

    queued = jobs.escalate("CA" + "1" * 32, "billing").job_id
    assert jobs.locate(queued) == ("queued", Placement.IN_FLIGHT)
    # A worker took it (RQ's BLMOVE into its intermediate queue), not yet marked started: still in flight.
    redis_conn.lmove(calls.key, calls.intermediate_queue_key)
    assert jobs.locate(queued) == ("queued", Placement.IN_FLIGHT)
    assert jobs.rescue(queued) is Placement.IN_FLIGHT and calls.job_ids == []  # not pushed a second time
    redis_conn.delete(calls.intermediate_queue_key)  # the worker vanished with it, and RQ's record of that too
    assert jobs.locate(queued) == ("queued", Placement.STRANDED)
    assert jobs.escalate("CA" + "1" * 32, "billing") == Enqueued(queued, False, rescued=True)
    assert calls.job_ids == [queued]
    assert jobs.escalate("CA" + "1" * 32, "billing").rescued is False  # in its queue: left alone

    later = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    scheduled = jobs.check_breach(41, later).job_id
    assert jobs.locate(scheduled) == ("scheduled", Placement.IN_FLIGHT)
    redis_conn.delete(calls.scheduled_job_registry.key)
    assert jobs.revive(scheduled) == "stranded" and scheduled in calls.job_ids

    job = Job.fetch(queued, connection=redis_conn, serializer=JSONSerializer)
    job.set_status(JobStatus.FINISHED)
    assert jobs.locate(queued) == ("finished", Placement.DONE)
    assert jobs.revive(queued) == "finished"


def test_a_text_drained_again_is_enqueued_only_where_rq_will_not_run_it(redis_conn):
    """send_sms(again=True) (the outbox drained by the status callback, a replay, reconciliation): a job RQ
    holds is left as it is, a stranded one is pushed again, a missing one is enqueued afresh."""
    jobs = Jobs(redis_conn)
    calls = jobs.queue
    sid = "CA" + "2" * 32
    first = jobs.send_sms(sid, "text-3-1")
    assert first == Enqueued(f"sms-{sid}-text-3-1", True) and calls.job_ids == [first.job_id]
    assert jobs.send_sms(sid, "text-3-1", again=True) == Enqueued(first.job_id, False)
    assert calls.job_ids == [first.job_id]  # not pushed a second time
    redis_conn.delete(calls.key)  # a lost queue: RQ keeps the hash of a job it will never run
    assert jobs.send_sms(sid, "text-3-1", again=True) == Enqueued(first.job_id, False, rescued=True)
    assert calls.job_ids == [first.job_id]
    Job.fetch(first.job_id, connection=redis_conn, serializer=JSONSerializer).set_status(JobStatus.FINISHED)
    assert jobs.send_sms(sid, "text-3-1", again=True) == Enqueued(first.job_id, False)  # sent: left alone
    redis_conn.delete(Job.key_for(first.job_id), calls.key)  # `rq empty`: the hash gone too
    assert jobs.send_sms(sid, "text-3-1", again=True) == Enqueued(first.job_id, True)
    assert calls.job_ids == [first.job_id]


def test_the_planning_pass_asked_again_while_one_waits_in_its_queue_is_not_enqueued_twice(redis_conn):
    jobs = Jobs(redis_conn)
    calls = jobs.queue
    first = jobs.plan_outbound_now()
    assert first == Enqueued("outbound-plan-now-1", True)
    assert jobs.plan_outbound_now() == Enqueued("outbound-plan-now-1", False)
    assert calls.job_ids == ["outbound-plan-now-1"]
    Job.fetch(first.job_id, connection=redis_conn, serializer=JSONSerializer).set_status(JobStatus.STARTED)
    assert jobs.plan_outbound_now() == Enqueued("outbound-plan-now-2", True)  # running: it may miss the change
    redis_conn.delete(Job.key_for("outbound-plan-now-2"))  # expired or emptied: a new one
    assert jobs.plan_outbound_now() == Enqueued("outbound-plan-now-3", True)
