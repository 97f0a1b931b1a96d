"""/health against real RQ worker subprocesses and a real Redis (ivr/health.py)."""
from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.serializers import JSONSerializer

from ivr.app import create_app
from ivr.health import Limits, health
from ivr.jobs.enqueue import Jobs
from tests.helpers.processes import Workers, wait_for, worker_env
from tests.helpers.service import ACCOUNT, PUBLIC, TOKEN

# Real worker processes and RQ timestamps: .ci/run runs these again at a fixed wall-clock instant.
pytestmark = pytest.mark.wallclock

# Workers heartbeat at least every second (the maintenance interval caps their dequeue wait);
# one silent for 3 s is dead.
WORKER_TTL = 3


@pytest.fixture
def health_app(aof_redis, standin, database, flows_dir, tmp_path):
    conn = Redis.from_url(aof_redis.url)
    app = create_app({"twilio_auth_token": TOKEN, "twilio_account_sid": ACCOUNT, "public_base_url": PUBLIC,
                      "flows_dir": str(flows_dir), "recordings_dir": str(tmp_path / "recordings"),
                      "twilio_api_url": standin.url, "worker_ttl_seconds": WORKER_TTL,
                      "health_max_queue_age_seconds": 2},
                     redis=conn, strict_flows=True, database=database)
    app.config.update(TESTING=True)
    yield app
    conn.close()


@pytest.fixture
def workers(aof_redis, standin, database, flows_dir, tmp_path):
    env = worker_env(aof_redis.url, str(database.engine.url), standin.url, flows_dir, tmp_path,
                     IVR_WORKER_TTL_SECONDS=str(WORKER_TTL))
    pool = Workers(env, tmp_path)
    yield pool
    pool.stop_all()


def get_health(app, query: str = "") -> tuple[int, dict]:
    response = app.test_client().get("/health" + query)
    return response.status_code, response.get_json()


def test_without_workers_health_fails_and_names_them(health_app):
    status, report = get_health(health_app)
    assert status == 503
    assert report["failures"] == ["workers", "scheduler"]
    assert "no RQ worker is running" in report["problems"]
    assert report["redis"] == "ok" and len(report["flows"]) == 12 and report["flow_problems"] == 0
    assert report["workers"]["count"] == 0
    assert report["workers"]["queues_covered"] == {"urgent": False, "calls": False}
    assert report["scheduler"]["queues"]["calls"] == {"locked": False, "alive": False, "heartbeat_age_seconds": None}
    # The web tier alone (what a load balancer asks): it can answer calls, the jobs wait.
    status, report = get_health(health_app, "?scope=web")
    assert status == 200 and report["failures"] == [] and report["redis"] == "ok"


def test_workers_up_then_killed(health_app, workers, aof_redis):
    redis = Redis.from_url(aof_redis.url)
    # A retry that should have run two minutes ago: nothing moves it without a scheduler.
    due = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=120)
    Queue("calls", connection=redis, serializer=JSONSerializer).enqueue_at(due, "os.getpid", job_id="overdue-retry")
    status, report = get_health(health_app)
    assert status == 503 and "scheduled" in report["failures"]
    assert report["scheduled"]["overdue"] == 1
    overdue = report["scheduled"]["queues"]["calls"]
    assert overdue["job_ids"] == ["overdue-retry"] and 119 <= overdue["oldest_overdue_seconds"] < 150

    # As ivr/dev/serve.py runs them: one worker for urgent jobs only, one for both, with the scheduler.
    workers.start("--queues", "urgent", "--no-scheduler")
    workers.start("--queues", "urgent,calls")

    def healthy():  # both workers up (the second alone covers both queues), the overdue job run
        status, report = get_health(health_app)
        return report if status == 200 and report["workers"]["count"] == 2 \
            and report["queues"]["calls"]["length"] == 0 else None

    report = wait_for(healthy, 20, "/health to pass", interval=0.2,
                      details=lambda: f"{get_health(health_app)}\n{workers.logs()}")
    assert report["workers"]["count"] == 2
    assert report["workers"]["queues_covered"] == {"urgent": True, "calls": True}
    assert sorted(w["queues"] for w in report["workers"]["list"]) == [["urgent"], ["urgent", "calls"]]
    assert all(w["fresh"] and 0 <= w["heartbeat_age_seconds"] <= WORKER_TTL for w in report["workers"]["list"])
    assert report["scheduler"]["alive"] is True
    assert all(q["locked"] and q["heartbeat_age_seconds"] <= WORKER_TTL
               for q in report["scheduler"]["queues"].values())
    assert report["scheduled"]["overdue"] == 0  # the scheduler enqueued it, a worker ran it

    for proc in list(workers.procs):
        workers.kill9(proc)
    killed_at = time.monotonic()

    def unhealthy():
        status, report = get_health(health_app)
        return report if status == 503 else None

    wait_for(unhealthy, WORKER_TTL + 5, "/health to fail once the heartbeats are older than the TTL")
    assert time.monotonic() - killed_at < WORKER_TTL + 5
    # Killed workers never deregister: RQ keeps their hashes until the keys expire, so they
    # are still listed, with heartbeats older than the TTL; the scheduler's lock is still
    # held (61 s) but its heartbeat has stopped too.
    def all_silent():
        report = unhealthy()
        return report if report and not any(w["fresh"] for w in report["workers"]["list"]) \
            and not report["scheduler"]["alive"] else None

    report = wait_for(all_silent, 3, "every heartbeat to be that old", details=lambda: repr(get_health(health_app)))
    assert report["workers"]["count"] == 2
    assert all(not w["fresh"] and w["heartbeat_age_seconds"] > WORKER_TTL for w in report["workers"]["list"])
    assert report["workers"]["queues_covered"] == {"urgent": False, "calls": False}
    assert any("has not sent a heartbeat" in p for p in report["problems"])
    calls = report["scheduler"]["queues"]["calls"]
    assert calls["locked"] and not calls["alive"] and calls["heartbeat_age_seconds"] > WORKER_TTL
    redis.close()


def test_an_old_queued_job_fails_health_with_its_age(health_app):
    ql = health_app.extensions["quietline"]
    call_sid = "CA" + "1" * 32
    job_id = ql.jobs.escalate(call_sid, "callback_request").job_id
    status, report = get_health(health_app)
    assert "queues" not in report["failures"]
    assert report["queues"]["calls"]["length"] == 1 and report["queues"]["calls"]["oldest_age_seconds"] < 2

    time.sleep(2.5)  # the limit in health_app: 2 s
    status, report = get_health(health_app)
    assert status == 503 and "queues" in report["failures"]
    calls = report["queues"]["calls"]
    assert calls["oldest_job_id"] == job_id and 2.5 <= calls["oldest_age_seconds"] < 10
    assert f"the oldest job in the calls queue has waited {calls['oldest_age_seconds']} s" in report["problems"]
    assert report["queues"]["urgent"] == {"length": 0, "oldest_age_seconds": None, "oldest_job_id": None,
                                          "failed_jobs": 0}


def test_health_function_limits_and_redis_down(aof_redis):
    redis = Redis.from_url(aof_redis.url)
    Jobs(redis).escalate("CA" + "2" * 32, "callback_request")
    now = dt.datetime.now(dt.UTC)
    ok, report = health(redis, now + dt.timedelta(seconds=100), limits=Limits(max_queue_age=120))
    assert "queues" not in report["failures"]
    ok, report = health(redis, now + dt.timedelta(seconds=200), limits=Limits(max_queue_age=120))
    assert not ok and "queues" in report["failures"] and report["queues"]["calls"]["oldest_age_seconds"] >= 200
    assert "+1" not in json.dumps(report)  # ids only: no phone number, nothing a caller said

    down = Redis(unix_socket_path=str(aof_redis.directory / "nothing-here.sock"), socket_connect_timeout=1,
                 retry=Retry(NoBackoff(), 0))
    ok, report = health(down, now)
    assert not ok and report["failures"] == ["redis"] and report["redis"] == "unreachable"
    assert "workers" not in report
    redis.close()


def test_a_job_failed_for_good_makes_health_degraded_for_a_day(health_app, workers, aof_redis, standin):
    """A text Twilio refuses for good fails its job at once (and is escalated): /health says degraded."""
    from rq.registry import FailedJobRegistry

    from ivr.dev.simulator import CallSimulator, FlaskTransport

    redis = Redis.from_url(aof_redis.url)
    standin.reset()
    standin.refuse_sms_to("+15551230001", 21610)  # the client opted out of texts
    workers.start("--queues", "urgent,calls")
    wait_for(lambda: get_health(health_app)[0] == 200, 20, "/health to pass", interval=0.2,
             details=lambda: f"{get_health(health_app)}\n{workers.logs()}")
    sim = CallSimulator(FlaskTransport(health_app.test_client()), auth_token=TOKEN, public_base_url=PUBLIC,
                        account_sid=ACCOUNT, recording_url_base=standin.url)
    result = sim.call(from_="+15551230001", script="2;04151985#;2")  # the portal link, by text
    failed = FailedJobRegistry("calls", connection=redis, serializer=JSONSerializer)
    [job_id] = wait_for(lambda: failed.get_job_ids(), 20, "the text's job to fail", details=workers.logs)
    assert job_id.startswith(f"sms-{result.call_sid}-")
    status, report = get_health(health_app)
    assert status == 503 and report["ok"] is False
    assert report["status"] == "degraded" and report["failures"] == ["failed_jobs"]
    assert report["failed_jobs"] == {"window_seconds": 86400, "count": 1, "job_ids": [job_id]}
    assert f"1 job(s) failed for good in the last 24 h (newest: {job_id})" in report["problems"]
    assert "+1555" not in json.dumps(report)
    # A day later it no longer counts.
    ok, later = health(redis, dt.datetime.now(dt.UTC) + dt.timedelta(hours=24, minutes=1))
    assert "failed_jobs" not in later["failures"] and later["failed_jobs"]["count"] == 0
    redis.close()
