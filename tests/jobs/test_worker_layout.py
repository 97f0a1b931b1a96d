"""No slow job ever holds up urgent or calls work: speech has workers of its own (``ivr.jobs.layout``).

Real ``python -m workers.run`` subprocesses as ``make run`` lays them out, a real Redis, the practice database
and the Twilio stand-in. The long speech job is held running (``hold_until_released``) until the test has
seen the escalation and the staff text, so "while" is a fact of the run, never a race against the clock.
"""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from redis import Redis
from rq import Queue, get_current_job
from rq.serializers import JSONSerializer

from ivr.dev.serve import worker_commands
from ivr.dev.twilio_standin import TwilioStandin
from ivr.jobs.layout import SLOW_QUEUES, default_queues, mixing_error, worker_layout
from tests.helpers.processes import Workers, app_beside_workers, wait_for, worker_env
from tests.helpers.reliability import (
    STAFF_PHONES,
    VOICEMAIL,
    add_on_call_staff,
    escalation_rows,
    job_status,
    place_call,
)
from tests.helpers.service import ACCOUNT, ROOT, TOKEN

RELEASE_KEY = "test:release-speech"


def hold_until_released(key: str) -> str:
    """A speech job that keeps running until ``key`` is set in Redis (at most 300 s): a long transcription."""
    job = get_current_job()
    assert job is not None
    deadline = time.monotonic() + 300
    while not job.connection.exists(key):
        if time.monotonic() > deadline:
            return "never released"
        time.sleep(0.05)
    return "released"


# --------------------------------------------------------------------------- the layout itself

@pytest.mark.parametrize("queues", [["urgent", "speech"], ["calls", "speech"], ["speech", "urgent", "calls"],
                                    ["urgent", "calls", "speech"]])
def test_a_worker_refuses_a_queue_list_mixing_speech_with_urgent_or_calls(queues):
    """Refused at start, before settings or Redis, with the fix in words; exit status 2, no job taken."""
    proc = subprocess.run([sys.executable, "-m", "workers.run", "--queues", ",".join(queues)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2, proc.stderr
    others = ",".join(q for q in queues if q != "speech")
    assert f"refusing to serve {','.join(queues)}" in proc.stderr
    assert f"--queues {others} and --queues speech" in proc.stderr


def test_the_layout_keeps_speech_in_workers_of_its_own():
    assert worker_layout() == (("urgent",), ("urgent", "calls"), ("speech",))
    assert default_queues() == ["urgent", "calls"]
    for queues in worker_layout("front-desk"):
        assert mixing_error(list(queues)) is None
        assert set(queues) <= SLOW_QUEUES or not set(queues) & SLOW_QUEUES
    assert mixing_error(["speech"]) is None and mixing_error(["urgent", "calls"]) is None
    # make run (ivr.dev.serve) starts exactly these.
    assert [(name, argv[1:]) for name, argv in worker_commands()] == [
        ("worker[urgent]", ["-m", "workers.run", "--queues", "urgent"]),
        ("worker[urgent,calls]", ["-m", "workers.run", "--queues", "urgent,calls"]),
        ("worker[speech]", ["-m", "workers.run", "--queues", "speech"]),
    ]


# --------------------------------------------------------------------------- real workers

@pytest.fixture
def layout_standin():
    standin = TwilioStandin(ACCOUNT, TOKEN).start()
    yield standin
    standin.stop()


@pytest.fixture
def layout_app(aof_redis, layout_standin, clock, database, flows_dir, tmp_path):
    app, conn = app_beside_workers(aof_redis.url, layout_standin.url, database, flows_dir, tmp_path, clock=clock)
    yield app
    conn.close()


@pytest.fixture
def workers(aof_redis, layout_standin, database, flows_dir, tmp_path):
    pool = Workers(worker_env(aof_redis.url, str(database.engine.url), layout_standin.url, flows_dir, tmp_path),
                   tmp_path)
    yield pool
    pool.stop_all()


@pytest.mark.wallclock
def test_an_escalation_and_its_staff_text_complete_while_a_long_speech_job_runs(layout_app, layout_standin,
                                                                                 database, workers, aof_redis):
    """The break-test's repro: a voicemail being transcribed, then a call whose message needs a callback.
    Under the old layout (one worker on urgent,calls,speech) the escalation waited for the transcription."""
    redis = Redis.from_url(aof_redis.url)
    add_on_call_staff(database)
    for queues in worker_layout():
        workers.start("--queues", ",".join(queues))
    speech = Queue("speech", connection=redis, serializer=JSONSerializer)
    long_job = speech.enqueue(f"{__name__}.hold_until_released", RELEASE_KEY, job_timeout=600)
    wait_for(lambda: job_status(redis, long_job.id) == "started", 60, "the speech worker to take the long job",
             details=workers.logs)

    reason, queue, script = VOICEMAIL
    call_sid = place_call(layout_app, layout_standin, script)
    escalate_id = f"escalate-{call_sid}-{reason}"
    wait_for(lambda: job_status(redis, escalate_id) == "finished", 60, "the escalation job",
             details=lambda: f"status={job_status(redis, escalate_id)}\n{workers.logs()}")
    wait_for(lambda: {m["to"] for m in layout_standin.messages()} >= set(STAFF_PHONES), 60,
             "a text to each person on call", details=lambda: f"{layout_standin.messages()!r}\n{workers.logs()}")

    # All of that while the speech job was still running: it is released only now.
    assert job_status(redis, long_job.id) == "started"
    assert escalation_rows(database, call_sid, reason) == 1
    assert sorted(m["to"] for m in layout_standin.messages()) == sorted(STAFF_PHONES)
    # The voicemail is copied (calls queue) meanwhile too; its transcription waits on the speech queue.
    recording_sid = _recording_sid(database, call_sid)
    wait_for(lambda: job_status(redis, f"recording-{recording_sid}") == "finished", 60, "the copy of the voicemail",
             details=workers.logs)
    assert speech.job_ids == [f"transcribe-{recording_sid}"]
    assert job_status(redis, long_job.id) == "started"

    redis.set(RELEASE_KEY, 1)
    wait_for(lambda: job_status(redis, long_job.id) == "finished", 30, "the long job to finish", details=workers.logs)
    assert long_job.latest_result().return_value == "released"
    redis.close()


def _recording_sid(database, call_sid: str) -> str:
    from sqlalchemy import text

    with database.engine.connect() as c:
        return c.execute(text("SELECT sid FROM recordings WHERE call_sid = :s"), {"s": call_sid}).scalar_one()



def test_a_starting_worker_removes_what_a_killed_writer_left(aof_redis, layout_standin, database, flows_dir,
                                                             tmp_path):
    """bt13 s24 nit 6: a ``.part`` file a killed rotation or copy left went only when an hour old. A real worker
    (``python -m workers.run --burst``) removes, as it starts, each one whose writer process is gone; one a live
    process may still be writing stays."""
    import os
    import signal

    env = worker_env(aof_redis.url, str(database.engine.url), layout_standin.url, flows_dir, tmp_path)
    recordings = tmp_path / "recordings"
    recordings.mkdir(mode=0o700)
    killed = subprocess.run([sys.executable, "-c", (
        "import os, signal\n"
        f"open(os.path.join({str(recordings)!r}, f'.CA1-RE1.wav.sealed.x1.pid{{os.getpid()}}.part'), 'wb')"
        ".write(b'half')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")], check=False)
    assert killed.returncode == -signal.SIGKILL
    alive = recordings / f".CA2-RE2.wav.sealed.x2.pid{os.getpid()}.part"
    alive.write_bytes(b"a write in progress")
    proc = subprocess.run([sys.executable, "-m", "workers.run", "--queues", "urgent", "--burst", "--no-scheduler"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in recordings.iterdir()) == [alive.name]
    assert "removed 1 half-written recording file(s) an interrupted write left" in proc.stderr + proc.stdout
