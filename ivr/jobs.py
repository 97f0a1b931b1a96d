"""Enqueueing the slow work of a call as RQ jobs: IDs in, never PHI.

Job functions live in ``workers/`` and are named here by import path, so the
web process never imports worker code.  Every job has a deterministic id, and
an enqueue guard (SET NX) makes a second enqueue of the same id a no-op: a
Twilio retry or a raced request never creates the same work twice.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from .flow import Priority

GUARD_PREFIX = "ql:enqueued:"
OUTBOX_PREFIX = "ql:outbox:"
GUARD_TTL = 7 * 24 * 3600
OUTBOX_TTL = 7 * 24 * 3600
URGENT_QUEUE = "urgent"
FAILURE_TTL = 7 * 24 * 3600
# Escalation and notification jobs carry ids only; their failures are kept a day, long
# enough to look into (and for /health to see), short enough not to pile up.
ESCALATION_FAILURE_TTL = 24 * 3600
# Sending one notification: routine ones back off for minutes, urgent ones for seconds,
# because only after the last retry is the next level of the roster paged.
NOTIFY_RETRY = (30, 120, 600)
URGENT_NOTIFY_RETRY = (3, 10, 30)


@dataclass(frozen=True)
class Enqueued:
    job_id: str
    created: bool  # False when the same job had already been enqueued


class JobQueue:
    """The queues of one installation, on an explicit Redis connection."""

    def __init__(self, redis: Redis, queue_name: str = "calls"):
        self.redis = redis
        self.queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)
        self.urgent = Queue(URGENT_QUEUE, connection=redis, serializer=JSONSerializer)

    def _once(self, queue: Queue, func: str, args: tuple, job_id: str, retry: Retry, *,
              at: dt.datetime | None = None, failure_ttl: int = FAILURE_TTL) -> Enqueued:
        """Enqueue (or with ``at``, schedule through RQ's scheduler) once per job id."""
        guard = GUARD_PREFIX + job_id
        if not self.redis.set(guard, "1", nx=True, ex=GUARD_TTL):
            return Enqueued(job_id, False)
        try:
            # RQ writes the job on our pipeline (one MULTI/EXEC round trip) instead of two of its own.
            pipe = self.redis.pipeline()
            options = dict(job_id=job_id, retry=retry, failure_ttl=failure_ttl, result_ttl=24 * 3600, job_timeout=120,
                           pipeline=pipe)
            if at is None:
                queue.enqueue(func, *args, **options)
            else:
                queue.enqueue_at(at, func, *args, **options)
            pipe.execute()
        except BaseException:
            self.redis.delete(guard)
            raise
        return Enqueued(job_id, True)

    def escalate(self, call_sid: str, reason: str, priority: str = Priority.NORMAL.value) -> Enqueued:
        """Hand the call to staff; one escalation per call and reason."""
        queue = self.urgent if priority == Priority.URGENT.value else self.queue
        return self._once(queue, "workers.escalations.escalate", (call_sid, reason, priority),
                          f"escalate-{call_sid}-{reason}", Retry(max=5, interval=[5, 15, 60, 120, 300]),
                          failure_ttl=ESCALATION_FAILURE_TTL)

    def notify(self, escalation_id: int, kind: str, level: int, *, urgent: bool = False,
               at: dt.datetime | None = None, failover: bool = False) -> Enqueued:
        """Tell roster ``level`` about an escalation (now, or ``at``); once per escalation, kind and level.

        ``failover`` (every message of the level below failed) has an id of its own,
        so a reminder already scheduled for the same level does not swallow it.
        """
        job_id = f"escalation-{escalation_id}-{kind}-L{level}" + ("-failover" if failover else "")
        return self._once(self.urgent if urgent else self.queue, "workers.notifications.notify",
                          (escalation_id, kind, level), job_id, Retry(max=3, interval=[5, 30, 120]),
                          at=at, failure_ttl=ESCALATION_FAILURE_TTL)

    def send_notification(self, notification_id: int, *, urgent: bool = False) -> Enqueued:
        """Send one notification row (SMS or email); retried with backoff, never sent twice."""
        return self._once(self.urgent if urgent else self.queue, "workers.notifications.send_notification",
                          (notification_id,), f"notify-{notification_id}",
                          Retry(max=len(NOTIFY_RETRY), interval=list(URGENT_NOTIFY_RETRY if urgent else NOTIFY_RETRY)),
                          failure_ttl=ESCALATION_FAILURE_TTL)

    def check_breach(self, escalation_id: int, at: dt.datetime, *, urgent: bool = False) -> Enqueued:
        """At the deadline: record a breach if the escalation is still unresolved, and tell the owners."""
        return self._once(self.urgent if urgent else self.queue, "workers.escalations.check_breach",
                          (escalation_id,), f"escalation-{escalation_id}-breach", Retry(max=3, interval=[5, 30, 120]),
                          at=at, failure_ttl=ESCALATION_FAILURE_TTL)

    def send_sms(self, message_key: str, to: str, body: str) -> Enqueued:
        """Store a text in the outbox under a deterministic key, then enqueue sending it by id."""
        outbox = OUTBOX_PREFIX + message_key
        if self.redis.exists(GUARD_PREFIX + f"sms-{message_key}"):
            return Enqueued(f"sms-{message_key}", False)
        pipe = self.redis.pipeline(transaction=False)  # one round trip: this runs inside a webhook
        pipe.hset(outbox, mapping={"to": to, "body": body})
        pipe.expire(outbox, OUTBOX_TTL)
        pipe.execute()
        return self._once(self.queue, "workers.sms.send_sms", (message_key,), f"sms-{message_key}",
                          Retry(max=5, interval=[10, 30, 60, 300, 900]))

    def fetch_recording(self, call_sid: str, recording_sid: str) -> Enqueued:
        """Copy a finished recording from Twilio into recordings/."""
        return self._once(self.queue, "workers.recordings.fetch_recording", (call_sid, recording_sid),
                          f"recording-{recording_sid}", Retry(max=5, interval=[10, 30, 60, 300, 900]))


def new_message_key() -> str:
    """A random key for a text that is not tied to a call turn."""
    return secrets.token_hex(8)
