"""/health against real RQ worker subprocesses and a real Redis (ivr/health.py)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.job import JobStatus
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from ivr.app import create_app
from ivr.dev.simulator import CallSimulator, FlaskTransport
from ivr.health import Limits, health, http_status, public_report
from ivr.jobs.enqueue import Jobs
from tests.helpers.processes import Workers, app_beside_workers, wait_for, worker_env
from tests.helpers.service import ACCOUNT, PUBLIC, TOKEN

# Real worker processes and RQ timestamps: .ci/run runs these again at a fixed wall-clock instant.
pytestmark = pytest.mark.wallclock

# A worker silent this long is dead. Tests judge heartbeat ages at instants they give health(),
# so the production-sized TTL keeps a loaded machine from making live workers look dead.
WORKER_TTL = 60


@pytest.fixture
def health_app(aof_redis, standin, database, flows_dir, tmp_path):
    app, conn = app_beside_workers(aof_redis.url, standin.url, database, flows_dir, tmp_path,
                                   worker_ttl_seconds=WORKER_TTL, secret_key="test-secret-key-" + "0" * 32)
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


def fail_for_good(redis: Redis, job_id: str, ended_at: dt.datetime, queue: str = "calls") -> None:
    """A job RQ has given up on (its last retry failed), as RQ itself records it."""
    job = Queue(queue, connection=redis, serializer=JSONSerializer).create_job("os.getpid", job_id=job_id)
    job.ended_at = ended_at
    job.set_status(JobStatus.FAILED, pipeline=None)
    FailedJobRegistry(queue, connection=redis, serializer=JSONSerializer).add(
        job, ttl=365 * 24 * 3600, exc_string="TwilioRefused: 21614")


def heartbeats(redis: Redis) -> list[dt.datetime]:
    """Every worker's and scheduler's last heartbeat, as RQ stamped them."""
    from rq.utils import utcparse

    keys = [k.decode() for k in redis.smembers("rq:workers")]
    keys += [k.decode() for k in redis.keys("rq:scheduler:*") if not k.startswith(b"rq:scheduler-lock")]
    stamps = [redis.hget(k, "last_heartbeat") for k in keys]
    return [utcparse(s.decode()).replace(tzinfo=dt.UTC) for s in stamps if s]


def test_without_workers_health_is_degraded_and_names_them(health_app):
    """No worker: calls are still answered (jobs wait in Redis), so 200 with status "degraded"."""
    status, report = get_health(health_app)
    assert status == 200 and report["status"] == "degraded" and report["ok"] is False
    assert report["failures"] == ["workers", "scheduler"]
    assert "no RQ worker is running" in report["problems"]
    assert report["redis"] == "ok" and len(report["flows"]) == 12 and report["flow_problems"] == 0
    assert report["workers"]["count"] == 0
    assert report["workers"]["queues_covered"] == {"urgent": False, "calls": False}
    assert report["scheduler"]["queues"]["calls"] == {"locked": False, "alive": False, "heartbeat_age_seconds": None}
    # The web tier alone (what a load balancer asks): it can answer calls, the jobs wait.
    status, report = get_health(health_app, "?scope=web")
    assert status == 200 and report["failures"] == [] and report["redis"] == "ok" and report["status"] == "ok"


def test_redis_down_is_failing_503(health_app, aof_redis, flows_dir, database, standin, tmp_path):
    """Only what stops calls being answered is "failing" (503): here Redis."""
    down = Redis(unix_socket_path=str(aof_redis.directory / "nothing-here.sock"), socket_connect_timeout=1,
                 retry=Retry(NoBackoff(), 0))
    app = create_app({"twilio_auth_token": TOKEN, "twilio_account_sid": ACCOUNT, "public_base_url": PUBLIC,
                      "flows_dir": str(flows_dir), "recordings_dir": str(tmp_path / "recordings"),
                      "twilio_api_url": standin.url}, redis=down, strict_flows=True, database=database)
    for query in ("", "?scope=web"):
        status, report = get_health(app, query)
        assert status == 503 and report["status"] == "failing" and report["failures"] == ["redis"]
        assert report["problems"] == ["Redis does not answer"]


def test_workers_up_then_killed(health_app, workers, aof_redis):
    """Heartbeat ages are judged at instants given to health(), so no outcome depends on how fast this runs."""
    redis = Redis.from_url(aof_redis.url)
    # A retry that should have run two minutes before `now`: nothing moves it without a scheduler.
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    Queue("calls", connection=redis, serializer=JSONSerializer).enqueue_at(
        now - dt.timedelta(seconds=120), "os.getpid", job_id="overdue-retry")
    ok, report = health(redis, now, limits=Limits(heartbeat_max_age=WORKER_TTL))
    assert report["status"] == "degraded" and report["failures"] == ["workers", "scheduler", "scheduled"]
    assert report["scheduled"]["overdue"] == 1
    assert report["scheduled"]["queues"]["calls"] == {"overdue": 1, "oldest_overdue_seconds": 120.0,
                                                      "job_ids": ["overdue-retry"], "waiting": 1}

    # As ivr/dev/serve.py runs them: one worker for urgent jobs only, one for both, with the scheduler.
    workers.start("--queues", "urgent", "--no-scheduler")
    workers.start("--queues", "urgent,calls")

    def healthy():  # both workers up (the second alone covers both queues), the overdue job run
        status, report = get_health(health_app)
        return report if report["status"] == "ok" and report["workers"]["count"] == 2 \
            and report["queues"]["calls"]["length"] == 0 else None

    report = wait_for(healthy, 60, "/health to pass", interval=0.2,
                      details=lambda: f"{get_health(health_app)}\n{workers.logs()}")
    assert report["workers"]["queues_covered"] == {"urgent": True, "calls": True}
    assert sorted(w["queues"] for w in report["workers"]["list"]) == [["urgent"], ["urgent", "calls"]]
    assert report["scheduler"]["alive"] is True
    assert report["scheduled"]["overdue"] == 0  # the scheduler enqueued it, a worker ran it

    for proc in list(workers.procs):
        workers.kill9(proc)  # each worker's process group: it and its scheduler
    # Killed workers never deregister: RQ keeps their hashes (worker TTL + 60 s), with their last heartbeats.
    stamps = heartbeats(redis)
    assert len(stamps) == 3  # two workers and the one scheduler that holds the locks
    # At the TTL after the oldest heartbeat everything still counts as alive ...
    limits = Limits(heartbeat_max_age=WORKER_TTL)
    ok, report = health(redis, min(stamps) + dt.timedelta(seconds=WORKER_TTL), limits=limits)
    assert report["failures"] == [] and report["status"] == "ok"
    # ... one second past the TTL after the newest, nothing does.
    later = max(stamps) + dt.timedelta(seconds=WORKER_TTL + 1)
    ok, report = health(redis, later, limits=limits)
    assert not ok and report["status"] == "degraded"
    # With the scheduler dead, a self-rescheduling job that fell due meanwhile (RQ stamps real time, which passes
    # between these steps on a loaded machine) is overdue too: a third finding, never a missing one.
    assert report["failures"] in (["workers", "scheduler"], ["workers", "scheduler", "scheduled"]), report
    assert report["workers"]["count"] == 2
    assert all(not w["fresh"] and w["heartbeat_age_seconds"] > WORKER_TTL for w in report["workers"]["list"])
    assert report["workers"]["queues_covered"] == {"urgent": False, "calls": False}
    assert any("has not sent a heartbeat" in p for p in report["problems"])
    calls = report["scheduler"]["queues"]["calls"]
    assert calls["locked"] and not calls["alive"] and calls["heartbeat_age_seconds"] > WORKER_TTL
    redis.close()


def test_an_old_queued_job_makes_health_degraded_with_its_age(aof_redis):
    redis = Redis.from_url(aof_redis.url)
    from rq.job import Job

    job = Job.fetch(Jobs(redis).escalate("CA" + "1" * 32, "callback_request").job_id, connection=redis,
                    serializer=JSONSerializer)
    enqueued = job.enqueued_at.replace(tzinfo=dt.UTC)
    limits = Limits(max_queue_age=2)
    ok, report = health(redis, enqueued + dt.timedelta(seconds=2), limits=limits)
    assert "queues" not in report["failures"] and report["queues"]["calls"]["oldest_age_seconds"] == 2.0

    ok, report = health(redis, enqueued + dt.timedelta(seconds=2.5), limits=limits)
    assert "queues" in report["failures"] and report["status"] == "degraded"
    calls = report["queues"]["calls"]
    assert calls == {"length": 1, "oldest_age_seconds": 2.5, "oldest_job_id": job.id, "failed_jobs": 0}
    assert "the oldest job in the calls queue has waited 2.5 s" in report["problems"]
    assert report["queues"]["urgent"] == {"length": 0, "oldest_age_seconds": None, "oldest_job_id": None,
                                          "failed_jobs": 0}
    assert public_report(report)["queues"]["calls"] == {"length": 1, "oldest_age_seconds": 2.5, "failed_jobs": 0}
    redis.close()


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
    assert report["status"] == "failing" and http_status(report) == 503
    assert "workers" not in report
    redis.close()


def test_jobs_failed_for_good_are_degraded_200_counted_publicly_and_listed_for_staff(health_app, aof_redis,
                                                                                      database):
    """Old failures make the service "degraded" (HTTP 200), never "failing": they must not stop a restart.

    The public /health gives counts and ages; the job ids (CallSids, reasons) only to staff and the console.
    """
    from tests.helpers.dashboard import add_user, signed_in

    redis = Redis.from_url(aof_redis.url)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sms = "sms-CA" + "3" * 32 + "-portal"
    recording = "recording-RE" + "4" * 32
    fail_for_good(redis, sms, now - dt.timedelta(hours=2))
    fail_for_good(redis, recording, now - dt.timedelta(minutes=5))
    fail_for_good(redis, "recording-RE" + "5" * 32, now - dt.timedelta(hours=25))  # older than the window

    ok, report = health(redis, now, jobs=True)
    assert report["failed_jobs"] == {"window_seconds": 86400, "count": 2, "newest_age_seconds": 300.0,
                                     "job_ids": [recording, sms]}
    assert "2 job(s) failed for good in the last 24 h (newest 300 s ago)" in report["problems"]
    assert "failed_jobs" in report["failures"] and report["status"] == "degraded" and http_status(report) == 200
    public = public_report(report)
    assert public["failed_jobs"] == {"window_seconds": 86400, "count": 2, "newest_age_seconds": 300.0}
    assert "CA" + "3" * 32 not in json.dumps(public) and "RE" + "4" * 32 not in json.dumps(public)
    # A day later they no longer count.
    ok, later = health(redis, now + dt.timedelta(hours=24, minutes=1))
    assert "failed_jobs" not in later["failures"] and later["failed_jobs"]["count"] == 0

    # Over HTTP (the real clock: the failures are minutes and hours old whenever this runs).
    status, body = get_health(health_app)
    assert status == 200 and body["status"] == "degraded" and "failed_jobs" in body["failures"]
    assert body["failed_jobs"]["count"] == 2 and "job_ids" not in body["failed_jobs"]
    text = json.dumps(body)
    assert "CA" + "3" * 32 not in text and "RE" + "4" * 32 not in text and "portal" not in text
    # Signed-in staff see the ids; nobody else does.
    anonymous = health_app.test_client().get("/staff/health")
    assert anonymous.status_code == 303 and "/staff/login" in anonymous.headers["Location"]
    person = add_user(database, "desk@quietline.test", "Desk Person", "staff", "plum orchard lantern 42")
    staff = signed_in(health_app, person).get("/staff/health")
    assert staff.status_code == 200 and staff.headers["Cache-Control"] == "no-store"
    assert staff.get_json()["failed_jobs"]["job_ids"] == [recording, sms]
    # And the console.
    result = health_app.test_cli_runner().invoke(args=["health"])
    assert result.exit_code == 1  # degraded
    assert json.loads(result.output)["failed_jobs"]["job_ids"] == [recording, sms]
    redis.close()


def test_a_text_refused_for_good_fails_its_job_and_health_says_degraded(health_app, workers, aof_redis, standin):
    """A text Twilio refuses for good fails its job at once (and is escalated): /health says degraded, 200."""
    redis = Redis.from_url(aof_redis.url)
    standin.reset()
    standin.refuse_sms_to("+15551230001", 21610)  # the client opted out of texts
    workers.start("--queues", "urgent,calls")
    wait_for(lambda: get_health(health_app)[1]["status"] == "ok", 60, "/health to pass", interval=0.2,
             details=lambda: f"{get_health(health_app)}\n{workers.logs()}")
    sim = CallSimulator(FlaskTransport(health_app.test_client()), auth_token=TOKEN, public_base_url=PUBLIC,
                        account_sid=ACCOUNT, recording_url_base=standin.url)
    result = sim.call(from_="+15551230001", script="2;04151985#;2")  # the portal link, by text
    failed = FailedJobRegistry("calls", connection=redis, serializer=JSONSerializer)
    [job_id] = wait_for(lambda: failed.get_job_ids(), 60, "the text's job to fail", details=workers.logs)
    assert job_id.startswith(f"sms-{result.call_sid}-")
    status, report = get_health(health_app)
    assert status == 200 and report["ok"] is False
    assert report["status"] == "degraded" and report["failures"] == ["failed_jobs"]
    assert report["failed_jobs"]["count"] == 1 and "job_ids" not in report["failed_jobs"]
    assert result.call_sid not in json.dumps(report) and "+1555" not in json.dumps(report)
    redis.close()


def test_a_voicemail_waiting_on_the_speech_queue_has_its_own_lenient_limit(aof_redis):
    """Transcription waits behind every other job by design (staff have the message): 30 minutes, not two,
    and past it the service is degraded ("speech_queue"), never failing. Its overdue retries and its jobs
    failed for good count as any queue's."""
    from rq.job import Job

    redis = Redis.from_url(aof_redis.url)
    recording = "RE" + "6" * 32
    job = Job.fetch(Jobs(redis).transcribe_recording("CA" + "6" * 32, recording).job_id, connection=redis,
                    serializer=JSONSerializer)
    enqueued = job.enqueued_at.replace(tzinfo=dt.UTC)
    ok, report = health(redis, enqueued + dt.timedelta(seconds=1800))  # the calls queue's limit is long past
    assert "queues" not in report["failures"] and "speech_queue" not in report["failures"]
    assert report["queues"]["speech"] == {"length": 1, "oldest_age_seconds": 1800.0, "oldest_job_id": job.id,
                                          "failed_jobs": 0, "max_age_seconds": 1800.0}
    assert report["queues"]["max_age_seconds"] == 120.0

    ok, report = health(redis, enqueued + dt.timedelta(seconds=1800.5))
    assert "speech_queue" in report["failures"] and "queues" not in report["failures"]
    assert report["status"] == "degraded" and http_status(report) == 200
    assert ("the oldest voicemail waiting for transcription (the speech queue) has waited 1800.5 s"
            in report["problems"])
    public = public_report(report)
    assert public["queues"]["speech"] == {"length": 1, "oldest_age_seconds": 1800.5, "failed_jobs": 0,
                                          "max_age_seconds": 1800.0}
    assert recording not in json.dumps(public)
    ok, report = health(redis, enqueued + dt.timedelta(seconds=100), limits=Limits(speech_queue_age=60))
    assert report["failures"][-1] == "speech_queue" and report["queues"]["speech"]["max_age_seconds"] == 60

    # A retry nobody moved, and a transcription that failed for good: as on the other queues.
    now = (enqueued + dt.timedelta(seconds=10)).replace(microsecond=0)
    Queue("speech", connection=redis, serializer=JSONSerializer).enqueue_at(
        now - dt.timedelta(seconds=120), "os.getpid", job_id="transcribe-retry")
    fail_for_good(redis, "transcribe-RE" + "8" * 32, now - dt.timedelta(minutes=5), queue="speech")
    ok, report = health(redis, now)
    assert "scheduled" in report["failures"] and "failed_jobs" in report["failures"]
    assert "speech_queue" not in report["failures"] and report["status"] == "degraded"
    assert report["scheduled"]["queues"]["speech"] == {"overdue": 1, "oldest_overdue_seconds": 120.0,
                                                       "job_ids": ["transcribe-retry"], "waiting": 1}
    assert report["failed_jobs"]["job_ids"] == ["transcribe-RE" + "8" * 32]
    assert report["queues"]["speech"]["failed_jobs"] == 1
    redis.close()


def test_health_reads_the_speech_queue_limit_from_the_settings(health_app, aof_redis, flows_dir, database,
                                                               standin, tmp_path):
    """IVR_HEALTH_SPEECH_QUEUE_MAX_AGE_SECONDS (default 1800) is the limit /health holds the speech queue to."""
    from ivr.config import ConfigError, load_settings

    assert load_settings({}).health_speech_queue_max_age_seconds == 1800
    assert load_settings({"IVR_HEALTH_SPEECH_QUEUE_MAX_AGE_SECONDS": "45"}).health_speech_queue_max_age_seconds == 45
    with pytest.raises(ConfigError, match="IVR_HEALTH_SPEECH_QUEUE_MAX_AGE_SECONDS must be at least 1 second"):
        load_settings({"IVR_HEALTH_SPEECH_QUEUE_MAX_AGE_SECONDS": "0", "TWILIO_AUTH_TOKEN": TOKEN,
                       "IVR_FLOWS_DIR": str(flows_dir)}).validate()

    redis = Redis.from_url(aof_redis.url)
    job_id = Jobs(redis).transcribe_recording("CA" + "9" * 32, "RE" + "9" * 32).job_id
    # Waiting 100 s (as RQ stamps it): /health reads the real clock, so the stamp is set back instead.
    from rq.utils import utcformat

    redis.hset(f"rq:job:{job_id}", "enqueued_at", utcformat(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=100)))
    status, report = get_health(health_app)
    assert "speech_queue" not in report["failures"] and report["queues"]["speech"]["max_age_seconds"] == 1800

    strict = create_app({"twilio_auth_token": TOKEN, "twilio_account_sid": ACCOUNT, "public_base_url": PUBLIC,
                         "flows_dir": str(flows_dir), "recordings_dir": str(tmp_path / "recordings"),
                         "twilio_api_url": standin.url, "health_speech_queue_max_age_seconds": 60,
                         "secret_key": "test-secret-key-" + "0" * 32},
                        redis=redis, strict_flows=True, database=database)
    status, report = get_health(strict)
    assert status == 200 and report["status"] == "degraded" and "speech_queue" in report["failures"]
    assert report["queues"]["speech"]["max_age_seconds"] == 60 and report["queues"]["speech"]["length"] == 1
    assert report["queues"]["speech"]["oldest_age_seconds"] >= 100 and "oldest_job_id" not in report["queues"]["speech"]
    redis.close()


def test_voicemails_waiting_with_no_speech_worker_are_a_problem(aof_redis):
    """Issue 13 leftover: /health looks in RQ's worker registry for a live worker on the speech queue whenever
    voicemails wait there (queued, or a retry scheduled); none is "speech_worker", degraded, never failing."""
    from rq.worker import Worker

    redis = Redis.from_url(aof_redis.url)
    ok, report = health(redis, dt.datetime.now(dt.UTC))
    assert report["speech_worker"] == {"alive": False, "voicemails_waiting": 0}
    assert "speech_worker" not in report["failures"]  # nothing waits: nothing to say

    calls = Worker(["urgent", "calls"], connection=redis, serializer=JSONSerializer, name="calls-only")
    calls.register_birth()
    calls.heartbeat()
    Jobs(redis).transcribe_recording("CA" + "4" * 32, "RE" + "4" * 32)
    ok, report = health(redis, dt.datetime.now(dt.UTC))
    assert report["speech_worker"] == {"alive": False, "voicemails_waiting": 1}
    assert "speech_worker" in report["failures"] and report["status"] == "degraded" and http_status(report) == 200
    assert ("1 voicemail job(s) wait on the speech queue and no speech worker is running: staff have the "
            "messages, but none is transcribed or checked for a crisis until one starts (python -m workers.run "
            "--queues speech; make run starts one)") in report["problems"]
    assert "RE" + "4" * 32 not in json.dumps(public_report(report))

    speech = Worker(["speech"], connection=redis, serializer=JSONSerializer, name="speech-1")
    speech.register_birth()
    speech.heartbeat()
    ok, report = health(redis, dt.datetime.now(dt.UTC))
    assert report["speech_worker"] == {"alive": True, "voicemails_waiting": 1}
    assert "speech_worker" not in report["failures"]
    # A speech worker whose heartbeat stopped (hung, killed) is none.
    ok, report = health(redis, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=WORKER_TTL + 5),
                        limits=Limits(heartbeat_max_age=WORKER_TTL, max_queue_age=3600))
    assert report["speech_worker"]["alive"] is False and "speech_worker" in report["failures"]
    speech.register_death()
    calls.register_death()
    redis.close()


def _left_without_model(database, recording_sid: str, call_sid: str, at: dt.datetime) -> None:
    """A voicemail copied and taken by a speech worker without a model (``no_model``), as the jobs record it."""
    from ivr.escalations import recordings
    from ivr.escalations.models import TranscriptStatus

    recordings.note(database.sessions, call_sid, recording_sid, at)
    recordings.mark_fetched(database.sessions, recording_sid, at)
    recordings.set_transcript_status(database.sessions, recording_sid, TranscriptStatus.NO_MODEL.value)


def test_voicemails_left_without_a_model_need_a_live_worker_with_one(aof_redis):
    """fix13-left5: voicemails a speech worker without a model left (``no_model``) are only taken by a speech worker
    whose model loaded (it serves ``speech-model``). None alive is "speech_model", degraded, in counts only; a
    speech worker without a model does not count; one with a model (heartbeat fresh) does."""
    from rq.worker import Worker

    redis = Redis.from_url(aof_redis.url)
    now = dt.datetime.now(dt.UTC)  # RQ stamps workers' heartbeats with the real time
    ok, report = health(redis, now, left_without_model=0)
    assert "speech_model" not in report["failures"]
    assert report["speech_model"] == {"workers_alive": 0, "queued": 0, "voicemails_left_without_model": 0,
                                      "oldest_age_seconds": None, "max_age_seconds": 600.0, "oldest_job_id": None}

    without = Worker(["speech"], connection=redis, serializer=JSONSerializer, name="speech-no-model")
    without.register_birth()
    without.heartbeat()
    ok, report = health(redis, dt.datetime.now(dt.UTC), left_without_model=2)
    assert "speech_model" in report["failures"] and report["status"] == "degraded" and http_status(report) == 200
    assert ("2 voicemail(s) wait for a speech worker with a speech model and none is running: staff have the "
            "messages, but they are not transcribed or checked for a crisis until one starts (install the model: "
            "flask --app app speech download-model, then restart the speech worker: python -m workers.run "
            "--queues speech)") in report["problems"]

    # Not known from the database (None): the queue alone says it.
    recording = "RE" + "5" * 32
    Jobs(redis).transcribe_with_model("CA" + "5" * 32, recording)
    ok, report = health(redis, dt.datetime.now(dt.UTC))
    assert "speech_model" in report["failures"] and report["speech_model"]["queued"] == 1
    assert report["speech_model"]["voicemails_left_without_model"] is None
    assert recording not in json.dumps(public_report(report)) and recording not in " ".join(report["problems"])

    model = Worker(["speech", "speech-model"], connection=redis, serializer=JSONSerializer, name="speech-model-1")
    model.register_birth()
    model.heartbeat()
    ok, report = health(redis, dt.datetime.now(dt.UTC), left_without_model=2)
    assert "speech_model" not in report["failures"] and report["speech_model"]["workers_alive"] == 1
    # Its heartbeat stopped (hung, killed): none alive again.
    ok, report = health(redis, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=WORKER_TTL + 5), left_without_model=2,
                        limits=Limits(heartbeat_max_age=WORKER_TTL, max_queue_age=3600))
    assert "speech_model" in report["failures"]
    model.register_death()
    without.register_death()
    redis.close()


def test_a_transcription_waiting_on_the_speech_model_queue_past_its_limit_is_degraded(aof_redis):
    """fix13-left5: a job on ``speech-model`` waiting longer than its limit (10 minutes, or the one given) is
    "speech_model_queue", degraded; the public report holds its age, never its id. At a fixed instant."""
    from rq.utils import utcformat

    redis = Redis.from_url(aof_redis.url)
    recording = "RE" + "3" * 32
    job_id = Jobs(redis).transcribe_with_model("CA" + "3" * 32, recording).job_id
    enqueued = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    redis.hset(f"rq:job:{job_id}", "enqueued_at", utcformat(enqueued))  # as RQ stamps it, at that instant

    ok, report = health(redis, enqueued + dt.timedelta(seconds=600), left_without_model=1)
    assert "speech_model_queue" not in report["failures"]
    assert report["speech_model"]["oldest_age_seconds"] == 600.0 and report["speech_model"]["oldest_job_id"] == job_id

    ok, report = health(redis, enqueued + dt.timedelta(seconds=601), left_without_model=1)
    assert "speech_model_queue" in report["failures"] and report["status"] == "degraded"
    assert ("the oldest voicemail waiting on the speech-model queue (transcription by a worker with a model) has "
            "waited 601 s, longer than 600 s: is the speech worker stuck or far behind?") in report["problems"]
    public = public_report(report)
    assert public["speech_model"]["oldest_age_seconds"] == 601.0 and "oldest_job_id" not in public["speech_model"]
    assert recording not in json.dumps(public)

    ok, report = health(redis, enqueued + dt.timedelta(seconds=61), left_without_model=1,
                        limits=Limits(speech_model_queue_age=60))
    assert "speech_model_queue" in report["failures"] and report["speech_model"]["max_age_seconds"] == 60
    redis.close()


def test_health_counts_the_voicemails_left_without_a_model_in_the_database(health_app, aof_redis, database):
    """fix13-left5: /health reads the ``no_model`` rows (count only) and the limit from the settings
    (IVR_HEALTH_SPEECH_MODEL_QUEUE_MAX_AGE_SECONDS, default 600)."""
    from ivr.config import ConfigError, load_settings

    assert load_settings({}).health_speech_model_queue_max_age_seconds == 600
    assert load_settings({"IVR_HEALTH_SPEECH_MODEL_QUEUE_MAX_AGE_SECONDS": "90"}
                         ).health_speech_model_queue_max_age_seconds == 90
    with pytest.raises(ConfigError, match="IVR_HEALTH_SPEECH_MODEL_QUEUE_MAX_AGE_SECONDS must be at least 1 second"):
        load_settings({"IVR_HEALTH_SPEECH_MODEL_QUEUE_MAX_AGE_SECONDS": "0", "TWILIO_AUTH_TOKEN": TOKEN}).validate()

    status, report = get_health(health_app)
    assert report["speech_model"]["voicemails_left_without_model"] == 0 and "speech_model" not in report["failures"]
    recording = "RE" + "7" * 32
    _left_without_model(database, recording, "CA" + "7" * 32, dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    status, report = get_health(health_app)
    assert status == 200 and report["status"] == "degraded" and "speech_model" in report["failures"]
    assert report["speech_model"]["voicemails_left_without_model"] == 1
    assert report["speech_model"]["max_age_seconds"] == 600
    assert recording not in json.dumps(report) and "CA" + "7" * 32 not in json.dumps(report)
