"""Shared by the reliability and worker-layout tests: a voicemail or crisis call placed as Twilio would, the
on-call staff who are texted, and raw reads of escalation rows and RQ's job and worker hashes.
"""
from __future__ import annotations

from redis import Redis
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import text

from ivr.dev.simulator import CallSimulator, FlaskTransport, tone_wav
from ivr.dev.twilio_standin import TwilioStandin
from ivr.escalations.models import RosterEntry, StaffUser
from tests.helpers.service import ACCOUNT, PUBLIC, TOKEN

STAFF_PHONES = ("+15557654321", "+15557650000")

VOICEMAIL = ("callback_request", "calls", "0;noanswer;record:3")
CRISIS = ("crisis", "urgent", "say:I want to hurt myself;noanswer;record:5")


def place_call(app, standin: TwilioStandin, script: str = VOICEMAIL[2]) -> str:
    """A simulated call as Twilio would place it (the app in this process, on the test's Redis).

    VOICEMAIL: the front desk during open hours, nobody answers, the caller leaves a message:
    the flows escalate ``callback_request`` (normal priority, the calls queue).  CRISIS: the
    caller says they want to hurt themselves: ``crisis``, urgent.
    """
    def upload(call_sid: str, recording_sid: str, seconds: int) -> None:
        standin.add_recording(recording_sid, tone_wav(seconds), call_sid=call_sid)

    sim = CallSimulator(FlaskTransport(app.test_client()), auth_token=TOKEN, public_base_url=PUBLIC,
                        account_sid=ACCOUNT, recording_url_base=standin.url, on_recording=upload)
    result = sim.call(from_="+15551230001", script=script)
    assert not result.application_error, result.transcript
    return result.call_sid


def add_on_call_staff(database) -> None:
    """Two people on call at level 1, all day every day, told by text."""
    with database.sessions() as s, s.begin():
        for i, phone in enumerate(STAFF_PHONES):
            user = StaffUser(email=f"oncall{i}@example.org", name=f"On call {i}", phone=phone,
                             password_hash="-", role="staff")
            s.add(user)
            s.add(RosterEntry(user=user, level=1, days=[], start="00:00", end="23:59", sms=True, email=False))


def escalation_rows(database, call_sid: str, reason: str) -> int:
    with database.engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM escalations WHERE call_sid = :s AND reason = :r"),
                         {"s": call_sid, "r": reason}).scalar_one()


def started_job_ids(redis: Redis, queue: str) -> list[str]:
    """Raw read: StartedJobRegistry.get_job_ids() would run the abandoned-job cleanup itself."""
    return [m.decode().rsplit(":", 1)[0] for m in redis.zrange(StartedJobRegistry(queue, connection=redis).key, 0, -1)]


def worker_pid_of(redis: Redis, job_id: str) -> int | None:
    """The pid of the worker that took the job (from RQ's job and worker hashes)."""
    name = redis.hget(Job.key_for(job_id), "worker_name")
    pid = redis.hget(f"rq:worker:{name.decode()}", "pid") if name else None
    return int(pid) if pid else None


def job_status(redis: Redis, job_id: str) -> str | None:
    status = redis.hget(Job.key_for(job_id), "status")
    return status.decode() if status else None
