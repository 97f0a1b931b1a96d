"""Speech jobs run in the worker process itself, heartbeating; every other job in a forked work horse.

A real RQ worker (``workers.run.QuietlineWorker``) in this process, on a real Redis.
"""
from __future__ import annotations

import os
import time

from rq import Queue, get_current_job
from rq.serializers import JSONSerializer

from ivr.config import load_settings
from workers.run import QuietlineWorker


def heartbeat_seen() -> bool:
    """A job waiting (30 s at most) until RQ stamps a newer heartbeat on it than the one it started with."""
    job = get_current_job()
    assert job is not None
    first = job.connection.hget(job.key, "last_heartbeat")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if job.connection.hget(job.key, "last_heartbeat") != first:
            return True
        time.sleep(0.05)
    return False


def test_speech_jobs_run_in_the_worker_process_and_other_jobs_in_a_forked_horse(redis_conn):
    """What vosk builds in a recogniser (its decoding graph) must outlive the job: a forked horse loses it."""
    speech = Queue("speech", connection=redis_conn, serializer=JSONSerializer)
    calls = Queue("calls", connection=redis_conn, serializer=JSONSerializer)
    in_worker = speech.enqueue("os.getpid")
    forked = calls.enqueue("os.getpid")
    beating = speech.enqueue(f"{__name__}.heartbeat_seen", job_timeout=60)
    settings = load_settings({}, {"worker_job_monitoring_seconds": 1})
    worker = QuietlineWorker.from_settings([calls, speech], settings, connection=redis_conn,
                                           serializer=JSONSerializer)
    worker.work(burst=True, with_scheduler=False)

    assert in_worker.latest_result().return_value == os.getpid()
    assert forked.latest_result().return_value not in (None, os.getpid())
    # While a speech job runs, the worker heartbeats for it (as it does for a horse): never taken for abandoned.
    assert beating.latest_result().return_value is True
    assert worker.get_state() == "idle" and not worker.executions
