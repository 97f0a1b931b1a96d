"""The scheduler role (workers/scheduler.py): RQ's scheduler on its own, taking the locks it lacks at every pass."""
from __future__ import annotations

import datetime as dt

from rq import Queue
from rq.serializers import JSONSerializer

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
