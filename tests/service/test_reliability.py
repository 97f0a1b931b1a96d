"""Escalations survive a worker killed mid-job and a Redis restart (real processes, real Redis).

Workers are real ``python -m workers.run`` subprocesses against an append-only Redis
in a temporary directory, a copy of the practice database and a Twilio stand-in; the
recovery timings come from the IVR_WORKER_* settings, shortened here to seconds
(production values and the arithmetic: workers/run.py).

The escalation job (``workers.escalations.escalate``) is the backend's: these tests hold
it to its contract, one row in ``escalations`` per call and reason, and one text to each
on-call person, whatever happens to the worker running it.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import text

from ivr.dev.twilio_standin import TwilioStandin
from tests.helpers.processes import Workers, app_beside_workers, gone, registered_workers, wait_for, worker_env
from tests.helpers.reliability import (
    CRISIS,
    STAFF_PHONES,
    VOICEMAIL,
    add_on_call_staff,
    escalation_rows,
    job_status,
    place_call,
    started_job_ids,
    worker_pid_of,
)
from tests.helpers.service import ACCOUNT, TOKEN

# Real worker processes and RQ timestamps: .ci/run runs these again at a fixed wall-clock instant.
pytestmark = pytest.mark.wallclock


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def rel_standin():
    """A Twilio stand-in of our own; ``arrived`` is set when a POST of a text reaches it."""
    standin = TwilioStandin(ACCOUNT, TOKEN).start()
    standin.arrived = threading.Event()
    inner = standin.app.wsgi_app

    def observed(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/Messages.json"):
            standin.arrived.set()
        return inner(environ, start_response)

    standin.app.wsgi_app = observed
    yield standin
    standin.stop()


@pytest.fixture
def rel_app(aof_redis, rel_standin, clock, database, flows_dir, tmp_path):
    app, conn = app_beside_workers(aof_redis.url, rel_standin.url, database, flows_dir, tmp_path, clock=clock)
    yield app
    conn.close()


@pytest.fixture
def workers(aof_redis, rel_standin, database, flows_dir, tmp_path):
    pool = Workers(worker_env(aof_redis.url, str(database.engine.url), rel_standin.url, flows_dir, tmp_path),
                   tmp_path)
    yield pool
    pool.stop_all()


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("moment", ["creating the escalation", "texting staff"])
def test_worker_killed_in_the_middle_of_an_escalation(moment, rel_app, rel_standin, database, workers, aof_redis):
    redis = Redis.from_url(aof_redis.url)
    add_on_call_staff(database)
    lock = None
    if moment == "creating the escalation":
        # A routine voicemail; the database is busy (another writer holds it) when the
        # escalation job comes to insert its row, so the job waits there, mid-way.
        reason, queue, script = VOICEMAIL
        call_sid = place_call(rel_app, rel_standin, script)
        lock = sqlite3.connect(database.engine.url.database, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
    else:
        # A crisis call; the texts to staff wait at "Twilio" until the worker has been killed
        # while the first is on the wire (released below; a slow machine cannot outrun it).  The
        # second person's text, which the second worker may send meanwhile, waits too.
        reason, queue, script = CRISIS
        on_the_wire = threading.Event()
        rel_standin.delay_next("/Messages.json", 120, count=len(STAFF_PHONES), release=on_the_wire)
        call_sid = None

    # The victim does not run the scheduler: a killed scheduler's lock (rq:scheduler-lock:<queue>)
    # is held for another 61 s, longer than this test; workers/run.py covers that case.
    victim = workers.start("--queues", "urgent,calls", "--no-scheduler")
    wait_for(lambda: registered_workers(redis) == 1, 15, "the worker to start", details=workers.logs)

    if moment == "creating the escalation":
        job_id = f"escalate-{call_sid}-{reason}"
        wait_for(lambda: started_job_ids(redis, queue) == [job_id], 15, "the escalation job to start",
                 details=workers.logs)
    else:
        call_sid = place_call(rel_app, rel_standin, script)
        wait_for(rel_standin.arrived.is_set, 20, "the first text to staff", details=workers.logs)
        running = started_job_ids(redis, queue)
        assert len(running) == 1 and running[0].startswith("notify-"), running
        job_id = running[0]
    started = time.monotonic()

    # A second worker (with the scheduler) is up before the kill, so what rescues the job is its
    # periodic maintenance, not the pass every worker makes when it starts.
    workers.start("--queues", "urgent,calls")
    wait_for(lambda: registered_workers(redis) == 2, 15, "the second worker to start", details=workers.logs)
    time.sleep(max(0.0, started + 1.5 - time.monotonic()))

    # Really in the middle: the job has been running for a while and has not got past the
    # database (its row is not written) or past Twilio (no text delivered yet).
    assert job_status(redis, job_id) == "started"
    assert job_id in started_job_ids(redis, queue)
    assert worker_pid_of(redis, job_id) == victim.pid
    if moment == "creating the escalation":
        assert escalation_rows(database, call_sid, reason) == 0
    else:
        assert rel_standin.messages() == []
    # Worse still, an earlier worker died during a maintenance pass and left RQ's lock on this
    # queue's registries behind, as it would (15 minutes: Queue.acquire_maintenance_lock).
    redis.set(Queue(queue, connection=redis).registry_cleaning_key, 1, ex=899)

    horses = workers.kill9(victim)
    assert len(horses) == 1
    if lock is not None:
        lock.rollback()
        lock.close()
    else:
        on_the_wire.set()
    # Nobody handled it: still "started", still registered as running.
    assert job_status(redis, job_id) == "started"
    assert job_id in started_job_ids(redis, queue)

    wait_for(lambda: job_status(redis, job_id) == "finished", 40, "the abandoned job to be retried",
             details=lambda: f"status={job_status(redis, job_id)}\n{workers.logs()}")

    job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    assert job.retries_left == len(job.retry_intervals) - 1, "retried once, by RQ's abandoned-job handling"
    assert job_id not in FailedJobRegistry(queue, connection=redis, serializer=JSONSerializer)
    # How soon (expiry, maintenance, the first retry interval, the scheduler) is a figure, not an assertion:
    # the wait above is only a generous upper bound so a broken recovery fails instead of hanging.

    # The contract: one escalation, and each person on call texted exactly once (a text the
    # killed worker had on the wire was delivered, after its delay, and is not sent again: the
    # retried job finds it at Twilio and records it as sent).
    assert escalation_rows(database, call_sid, reason) == 1
    wait_for(lambda: {m["to"] for m in rel_standin.messages()} >= set(STAFF_PHONES), 20,
             "a text to each person on call", details=lambda: f"{rel_standin.messages()!r}\n{workers.logs()}")
    time.sleep(1)
    sent = [m["to"] for m in rel_standin.messages()]
    assert sorted(sent) == sorted(STAFF_PHONES), sent
    with database.engine.connect() as c:
        rows = c.execute(text("SELECT status, provider_id FROM notifications WHERE channel = 'sms'")).all()
    assert sorted(rows) == sorted(("sent", m["sid"]) for m in rel_standin.messages())
    redis.close()


@pytest.mark.parametrize("how", ["shutdown", "kill -9"])
def test_queued_escalation_survives_a_redis_restart(how, rel_app, rel_standin, database, workers, aof_redis):
    redis = Redis.from_url(aof_redis.url)
    call_sid = place_call(rel_app, rel_standin)  # no worker yet: the jobs wait
    job_id = f"escalate-{call_sid}-callback_request"
    calls = Queue("calls", connection=redis, serializer=JSONSerializer)
    queued_before = calls.job_ids
    assert job_id in queued_before
    before = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    pid = aof_redis.process.pid

    if how == "shutdown":
        aof_redis.stop()  # SHUTDOWN: Redis flushes the append-only file before exiting
    else:
        # appendfsync everysec: Redis write()s each command to the append-only file at once
        # (a killed process loses nothing the kernel has) and fsyncs every second (what a
        # power cut would lose).  Wait past that second so the test claims no more than that.
        time.sleep(1.5)
        os.kill(pid, signal.SIGKILL)
        aof_redis.process.wait(5)
        aof_redis.process = None
    assert gone(pid)
    with pytest.raises(RedisConnectionError):
        Redis(unix_socket_path=str(aof_redis.socket), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)).ping()

    aof_redis.start()  # the same directory: the append-only file is replayed
    redis = Redis.from_url(aof_redis.url)
    calls = Queue("calls", connection=redis, serializer=JSONSerializer)
    assert calls.job_ids == queued_before
    after = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    assert (after.func_name, after.args, after.retries_left) == (before.func_name, before.args, 5)
    assert after.get_status() == "queued"
    assert redis.exists(f"ql:call:{call_sid}"), "the call's session survived too"

    workers.start("--queues", "urgent,calls")
    wait_for(lambda: job_status(redis, job_id) == "finished", 20, "a worker to process the escalation",
             details=lambda: f"status={job_status(redis, job_id)}\n{workers.logs()}")
    assert escalation_rows(database, call_sid, "callback_request") == 1
    redis.close()
