"""Shared by the escalation tests: a real SMTP server, the demo staff's phones and password, driving RQ's
scheduler on the test clock (``JobRunner``), reading rows back.  The fixtures are tests/plugins/escalations.py.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rq import Queue, SimpleWorker
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from sqlalchemy import select

from ivr.dev.simulator import CallSimulator, FlaskTransport, tone_wav
from ivr.escalations.models import Escalation, Notification, Recording
from ivr.practice.demo import CLIENTS
from tests.helpers.dashboard import Person, signed_in
from tests.helpers.service import ACCOUNT, PUBLIC, TOKEN, twilio_keeps_recordings
from workers.runtime import using

QUEUES = ("urgent", "calls", "speech")
DEMO_PASSWORD = "demo staff password for tests"

# Everything about the demo clients that must never reach a staff text or email.
CLIENT_SECRETS = sorted({s for c in CLIENTS for s in (
    c.first_name, c.last_name, c.date_of_birth.isoformat(), c.date_of_birth.strftime("%m%d%Y"),
    c.date_of_birth.strftime("%B %-d"), *(p for p in c.phones), *(p.lstrip("+") for p in c.phones),
    *(p[-10:] for p in c.phones), *([c.email] if c.email else []))})


# --------------------------------------------------------------------------- SMTP

@dataclass
class SmtpServer:
    """aiosmtpd in a thread; ``refuse`` queues SMTP replies to give instead of accepting a message."""

    host: str
    port: int
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.refuse.clear()

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            if self.refuse:
                return self.refuse.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def texts(self) -> list[tuple[str, str, str]]:
        """(to, subject, body) of every accepted message, oldest first."""
        with self.lock:
            return [(m["To"], m["Subject"], m.get_body(("plain",)).get_content().replace("\r\n", "\n"))
                    for m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smtp_settings(server: SmtpServer) -> dict:
    return {"smtp_host": server.host, "smtp_port": server.port, "smtp_starttls": False,
            "smtp_from": "Quietline <alerts@ql.example.org>"}


# --------------------------------------------------------------------------- staff


PHONES = {"owner@example.com": "+15550100120", "frontdesk@example.com": "+15550100121",
          "backup@example.com": "+15550100122", "oncall@example.com": "+15550100123"}


# --------------------------------------------------------------------------- RQ on the test clock

@dataclass
class JobRunner:
    """Runs queued jobs with a real RQ SimpleWorker and moves scheduled ones with RQ's own scheduler.

    RQ dates retries (``rq.job.now``) and decides what is due (``rq.scheduler.current_timestamp``)
    by the real clock; both are pointed at the test clock, so advancing the clock is what makes
    a reminder or a retry due, through the real ScheduledJobRegistry.
    """

    app: object
    redis: object
    clock: object

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.redis, serializer=JSONSerializer)

    def run(self, queues: tuple[str, ...] = QUEUES) -> None:
        """Run everything queued (jobs enqueue more jobs: keep going until the queues are empty)."""
        qs = [self.queue(n) for n in queues]
        worker = SimpleWorker(qs, connection=self.redis, serializer=JSONSerializer)
        with using(self.app.extensions["quietline"]):
            worker.work(burst=True)

    def schedule_due(self) -> None:
        """What RQ's scheduler does every second in a worker started with it."""
        scheduler = RQScheduler(list(QUEUES), connection=self.redis, serializer=JSONSerializer)
        scheduler.acquire_locks()
        scheduler.enqueue_scheduled_jobs()
        scheduler.release_locks()

    def at(self, when: dt.datetime) -> None:
        """Move the clock to ``when``, let the scheduler enqueue what is due, and run it all."""
        self.clock.now = when
        self.settle()

    def settle(self) -> None:
        for _ in range(10):
            self.schedule_due()
            if not any(len(self.queue(n)) for n in QUEUES):
                return
            self.run()

    def scheduled(self) -> dict[str, dt.datetime]:
        """Job id → when it is due, for everything waiting in the scheduled registries."""
        out = {}
        for name in QUEUES:
            registry = self.queue(name).scheduled_job_registry
            for job_id in registry.get_job_ids():
                out[job_id] = registry.get_scheduled_time(job_id)
        return out


# --------------------------------------------------------------------------- reading results

def escalations(database) -> list[Escalation]:
    with database.sessions() as db:
        return list(db.scalars(select(Escalation).order_by(Escalation.id)))


def notifications(database) -> list[Notification]:
    with database.sessions() as db:
        return list(db.scalars(select(Notification).order_by(Notification.id)))


def texts(standin) -> list[tuple[str, str]]:
    return [(m["to"], m["body"]) for m in standin.messages()]


# --------------------------------------------------------------------------- calls whose messages become escalations

# Alex, the demo practice's first client (ivr.practice.demo).
ALEX = "+15551230001"
ACK = '<?xml version="1.0" encoding="UTF-8"?><Response />'
RECORDED, RECORDING_STATUS, STATUS = "/twilio/voice/recorded", "/twilio/voice/recording-status", "/twilio/status"


def simulator(transport, standin, *, keep_recordings: bool = True) -> CallSimulator:
    """A call simulator on ``transport`` whose recordings Twilio (the stand-in) keeps unless told not to."""
    return CallSimulator(transport, auth_token=TOKEN, public_base_url=PUBLIC, account_sid=ACCOUNT,
                         recording_url_base=standin.url,
                         on_recording=twilio_keeps_recordings(standin) if keep_recordings else None)


@dataclass(frozen=True)
class Message:
    """A voicemail a caller left: the call's SID and its recording's SID."""

    call_sid: str
    recording_sid: str


def message_recorded(client, standin, *, script: str = "0;noanswer;record:4",
                     keep_recordings: bool = True) -> Message:
    """Alex calls on the Flask test ``client`` and follows ``script`` (by default: asks for a person, nobody answers,
    a 4 s message); no job runs yet.  Raises StopIteration if the call left no recording."""
    result = simulator(FlaskTransport(client), standin, keep_recordings=keep_recordings).call(from_=ALEX, script=script)
    recording_sid = next(r.params["RecordingSid"] for r in result.requests if r.purpose == "recording-status")
    return Message(result.call_sid, recording_sid)


def message_whose_copy_is(client, standin, jobs, audio: bytes, *, seconds: int = 4) -> Message:
    """A ``seconds`` s message (so Twilio's callback and metadata say) whose audio at Twilio, and so our copy, is
    ``audio`` (bytes); every job then runs."""
    message = message_recorded(client, standin, script=f"0;noanswer;record:{seconds}", keep_recordings=False)
    standin.add_recording(message.recording_sid, audio, call_sid=message.call_sid, duration=seconds)
    jobs.run()
    return message


def message_cut_short(client, standin, jobs) -> Message:
    """A 4 s message whose copy is 1 s of audio (cut short); every job then runs."""
    return message_whose_copy_is(client, standin, jobs, tone_wav(1))


def front_desk(app, staff):
    """A test client of ``app`` signed in as the demo front desk (``staff``: the fixture's {email: user id})."""
    return signed_in(app, Person(staff["frontdesk@example.com"], "frontdesk@example.com", DEMO_PASSWORD, "Front"))


def of_call(database, call_sid: str) -> list[Escalation]:
    """The escalations raised by one call."""
    return [e for e in escalations(database) if e.call_sid == call_sid]


def staff_texts_about(standin, escalation_id: int) -> list[str]:
    """Who was texted about escalation ``escalation_id``, by phone number."""
    return sorted(to for to, body in texts(standin) if f"#{escalation_id}," in body or f"#{escalation_id}:" in body)


def reconcile_now(app, jobs, *, after: dt.timedelta = dt.timedelta(minutes=5)) -> dict[str, int]:
    """Move the clock past the grace period and run one reconciliation pass in the app's context."""
    from workers.reconcile import reconcile

    jobs.clock.advance(seconds=after.total_seconds())
    with using(app.extensions["quietline"]):
        return reconcile()


class Holding(FlaskTransport):
    """Delivers webhooks to the app, except those to the ``hold`` paths: kept, signed as Twilio sent
    them, to be delivered later in any order (``deliver``), or never."""

    def __init__(self, client, hold: tuple[str, ...] = (), drop: tuple[str, ...] = ()):
        super().__init__(client)
        self.hold, self.drop = hold, drop
        self.held: dict[str, tuple[str, dict, dict]] = {}
        # Every held webhook, in the order Twilio sent them (a call may send several to one path: two messages).
        self.held_all: list[tuple[str, dict, dict]] = []
        self.sent: list[tuple[str, dict, dict]] = []

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        path = urlsplit(url).path
        if path in self.drop:
            return 204, ""  # Twilio sent it; it never arrived
        if path in self.hold:
            self.held[path] = (url, dict(params), dict(headers))
            self.held_all.append(self.held[path])
            return 204, ""
        self.sent.append((url, dict(params), dict(headers)))
        return super().post(url, params, headers)

    def deliver(self, path: str) -> tuple[int, str]:
        url, params, headers = self.held[path]
        return super().post(url, params, headers)

    def deliver_held(self, index: int) -> tuple[int, str]:
        """Deliver the ``index``-th held webhook (``held_all``), signed as Twilio sent it."""
        url, params, headers = self.held_all[index]
        return super().post(url, params, headers)

    def replay_last(self) -> tuple[int, str]:
        url, params, headers = self.sent[-1]
        return super().post(url, params, headers)


def recording_rows(database) -> list[tuple[str, str, str]]:
    with database.sessions() as db:
        return [(r.call_sid, r.sid, r.status) for r in db.scalars(select(Recording).order_by(Recording.created_at))]
