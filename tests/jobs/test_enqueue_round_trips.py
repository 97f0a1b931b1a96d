"""What one enqueue asks of Redis, counted by a real Redis server (INFO commandstats), never timed (issue 9, perf9d).

RQ's unique enqueue is its own atomic script (the job's hash and its push); before it RQ lists the queue in
``rq:queues`` with a MULTI/SADD/EXEC round trip on every enqueue.  ``Jobs`` lets that through once per queue
and process: after that an enqueue is one round trip, and the job is still queued where a worker takes it.
"""
from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from ivr.jobs.enqueue import Enqueued, Jobs, Placement, escalate_job_id, fetch_job_id

# What RQ's unique-enqueue script runs inside Redis, without a round trip.
UNIQUE_SCRIPT = {"exists", "hset", "expire", "rpush", "lpush"}


def _calls(redis_conn: Redis) -> dict[str, int]:
    """Commands served since the last reset, name → calls, less the test's own (INFO, CONFIG)."""
    stats = redis_conn.info("commandstats")
    calls = {name.removeprefix("cmdstat_").split("|")[0]: int(value["calls"]) for name, value in stats.items()}
    return {name: n for name, n in calls.items() if name not in ("info", "config")}


def _round_trips(calls: dict[str, int]) -> dict[str, int]:
    return {name: n for name, n in calls.items() if name not in UNIQUE_SCRIPT}


def test_the_first_enqueue_on_a_queue_lists_it_and_later_ones_are_one_round_trip(redis_conn):
    jobs = Jobs(redis_conn)
    redis_conn.config_resetstat()
    first = jobs.fetch_recording("CA" + "1" * 32, "RE" + "1" * 32)
    assert first.created
    # RQ's SADD (in its MULTI/EXEC), its script loaded once (SCRIPT LOAD after a NOSCRIPT, or EVALSHA), the push.
    assert _calls(redis_conn).get("sadd") == 1
    assert redis_conn.smembers(Queue.redis_queues_keys) == {b"rq:queue:calls"}

    redis_conn.config_resetstat()
    second = jobs.fetch_recording("CA" + "2" * 32, "RE" + "2" * 32)
    assert second.created
    assert _round_trips(_calls(redis_conn)) == {"evalsha": 1}
    queue = Queue("calls", connection=redis_conn, serializer=JSONSerializer)
    assert queue.job_ids == [fetch_job_id("RE" + "1" * 32), fetch_job_id("RE" + "2" * 32)]
    assert jobs.locate(fetch_job_id("RE" + "2" * 32))[1] is Placement.IN_FLIGHT
    job = queue.fetch_job(fetch_job_id("RE" + "2" * 32))
    assert job is not None
    assert job.func_name == "workers.recordings.fetch_recording"
    assert job.args == ["CA" + "2" * 32, "RE" + "2" * 32]


def test_each_queue_is_listed_once_and_a_duplicate_is_still_refused(redis_conn):
    jobs = Jobs(redis_conn)
    jobs.escalate("CA" + "3" * 32, "voicemail")
    redis_conn.config_resetstat()
    urgent = jobs.escalate("CA" + "4" * 32, "crisis", "urgent")  # a queue not listed yet: listed now
    assert urgent.created
    assert _calls(redis_conn).get("sadd") == 1
    assert redis_conn.smembers(Queue.redis_queues_keys) == {b"rq:queue:calls", b"rq:queue:urgent"}

    redis_conn.config_resetstat()
    again = jobs.escalate("CA" + "3" * 32, "voicemail")
    assert not again.created and not again.rescued
    assert "sadd" not in _calls(redis_conn)
    queue = Queue("calls", connection=redis_conn, serializer=JSONSerializer)
    assert queue.job_ids == [escalate_job_id("CA" + "3" * 32, "voicemail")]  # pushed once


def test_a_new_process_lists_the_queue_again(redis_conn):
    Jobs(redis_conn).fetch_recording("CA" + "5" * 32, "RE" + "5" * 32)
    redis_conn.delete(Queue.redis_queues_keys)  # e.g. ``rq empty`` or a flushed Redis
    Jobs(redis_conn).fetch_recording("CA" + "6" * 32, "RE" + "6" * 32)
    assert redis_conn.smembers(Queue.redis_queues_keys) == {b"rq:queue:calls"}


def test_asking_for_the_planning_pass_while_one_waits_is_one_round_trip(redis_conn):
    jobs = Jobs(redis_conn)
    assert jobs.plan_outbound_now().created  # loads the script, lists the queue
    redis_conn.config_resetstat()
    assert not jobs.plan_outbound_now().created  # every moved or cancelled appointment asks this
    assert _calls(redis_conn) == {"evalsha": 1, "get": 1, "hmget": 1}  # the last two inside the script

    Job.fetch("outbound-plan-now-1", connection=redis_conn, serializer=JSONSerializer).set_status(JobStatus.STARTED)
    redis_conn.config_resetstat()
    assert jobs.plan_outbound_now() == Enqueued("outbound-plan-now-2", True)  # running: a new pass
    assert _round_trips(_calls(redis_conn)) == {"evalsha": 2, "get": 1, "hmget": 1, "incr": 1}
