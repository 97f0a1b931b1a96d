"""The scheduler role (workers/scheduler.py): RQ's scheduler on its own, taking the locks it lacks at every pass."""
from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys

import pytest
from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from tests.helpers.processes import wait_for, worker_env
from tests.helpers.service import ROOT
from workers.scheduler import EagerScheduler


def test_a_due_scheduled_job_is_moved_onto_its_queue(redis_conn):
    queue = Queue("calls", connection=redis_conn, serializer=JSONSerializer)
    job = queue.enqueue_at(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "math.factorial", 5, job_id="ops-sched-1")
    scheduler = EagerScheduler(["calls"], connection=redis_conn, serializer=JSONSerializer)
    assert scheduler.should_reacquire_locks
    assert scheduler.acquire_locks() == {"calls"}
    assert not scheduler.should_reacquire_locks
    scheduler.enqueue_scheduled_jobs()
    assert queue.job_ids == [job.id]
    scheduler.release_locks()


def test_a_lock_held_by_another_scheduler_is_asked_for_again_at_the_next_pass(redis_conn):
    first = EagerScheduler(["urgent"], connection=redis_conn, serializer=JSONSerializer)
    second = EagerScheduler(["urgent"], connection=redis_conn, serializer=JSONSerializer)
    assert first.acquire_locks() == {"urgent"}
    assert second.acquire_locks() == set()
    # RQ's own would wait 10 minutes before asking again; this one asks at once when the holder is gone.
    assert second.should_reacquire_locks
    first.release_locks()
    assert second.acquire_locks() == {"urgent"}
    second.release_locks()


@pytest.mark.wallclock
def test_the_scheduler_role_runs_on_its_own_and_stops_cleanly(aof_redis, standin, database, flows_dir, tmp_path):
    """``python -m workers.scheduler`` as its unit starts it: the self-rescheduling chains made sure of, a due job
    moved onto its queue, and on SIGTERM (systemd's stop) its locks released for the next one."""
    env = worker_env(aof_redis.url, str(database.engine.url), standin.url, flows_dir, tmp_path)
    conn = Redis.from_url(aof_redis.url)
    queue = Queue("calls", connection=conn, serializer=JSONSerializer)
    job = queue.enqueue_at(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "math.factorial", 5, job_id="ops-sched-2")
    log = tmp_path / "scheduler.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "workers.scheduler"], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: job.id in queue.job_ids, 30, "the due job on its queue", details=log.read_text)
        # The reconciliation chain a starting worker makes sure of: made sure of here too.
        assert any(j.startswith("reconcile") for j in ScheduledJobRegistry("calls", connection=conn).get_job_ids())
        assert {conn.get(f"rq:scheduler-lock:{name}") for name in ("urgent", "calls", "speech")} != {None}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0, log.read_text()
    assert [conn.get(f"rq:scheduler-lock:{name}") for name in ("urgent", "calls", "speech")] == [None] * 3
