"""Enqueueing the slow work of a call as RQ jobs: IDs in, never PHI.

Job functions live in ``workers/`` and are named here by import path, so the
web process never imports worker code.  Every job has a deterministic id and is
enqueued with RQ's own ``unique=True`` (an atomic check-and-save in Redis): a
second enqueue of an id RQ still holds (queued, scheduled for a retry, finished
or failed, for their result and failure TTLs) is a no-op, so a Twilio retry, a
raced request or a second drain of a call's outbox never creates the same work twice.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from ivr.core.priority import Priority

URGENT_QUEUE = "urgent"
FAILURE_TTL = 7 * 24 * 3600
# Escalation and notification jobs carry ids only; their failures are kept a day, long
# enough to look into (and for /health to see), short enough not to pile up.
ESCALATION_FAILURE_TTL = 24 * 3600
# Sending one notification: routine ones back off for minutes, urgent ones for seconds,
# because only after the last retry is the next level of the roster paged.
NOTIFY_RETRY = (30, 120, 600)
URGENT_NOTIFY_RETRY = (3, 10, 30)
# Copying a recording, texting a client: Twilio may be slow or briefly down.
FETCH_RETRY = (10, 30, 60, 300, 900)
SMS_RETRY = (10, 30, 60, 300, 900)
RECONCILE_JOB = "workers.reconcile.reconcile"


@dataclass(frozen=True)
class Enqueued:
    job_id: str
    created: bool  # False when the same job had already been enqueued


class Jobs:
    """The queues of one installation, on an explicit Redis connection."""

    def __init__(self, redis: Redis, queue_name: str = "calls"):
        self.redis = redis
        self.queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)
        self.urgent = Queue(URGENT_QUEUE, connection=redis, serializer=JSONSerializer)

    def _once(self, queue: Queue, func: str, args: tuple, job_id: str, retry: Retry | None, *,
              at: dt.datetime | None = None, failure_ttl: int = FAILURE_TTL) -> Enqueued:
        """Enqueue (or with ``at``, schedule through RQ's scheduler) once per job id (RQ's ``unique``)."""
        options = dict(job_id=job_id, retry=retry, failure_ttl=failure_ttl, result_ttl=24 * 3600, job_timeout=120,
                       unique=True)
        try:
            if at is None:
                queue.enqueue(func, *args, **options)
            else:
                queue.enqueue_at(at, func, *args, **options)
        except DuplicateJobError:
            return Enqueued(job_id, False)
        return Enqueued(job_id, True)

    def escalate(self, call_sid: str, reason: str, priority: Priority | str = Priority.NORMAL) -> Enqueued:
        """Hand the call to staff; one escalation per call and reason.

        ``priority`` is the one the core decided (``ivr.core.escalation_policy.decide_priority``):
        urgent goes to the urgent queue and worker, and the worker stores it as it is.
        """
        priority = Priority.parse(priority)
        queue = self.urgent if priority is Priority.URGENT else self.queue
        return self._once(queue, "workers.escalations.escalate", (call_sid, reason, priority.value),
                          escalate_job_id(call_sid, reason), Retry(max=5, interval=[5, 15, 60, 120, 300]),
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

    def send_sms(self, call_sid: str, message_id: str) -> Enqueued:
        """Send the text waiting in the call's outbox as ``message_id`` (number and body stay in the call's
        record, never in the job)."""
        return self._once(self.queue, "workers.sms.send_sms", (call_sid, message_id), sms_job_id(call_sid, message_id),
                          Retry(max=len(SMS_RETRY), interval=list(SMS_RETRY)))

    def fetch_recording(self, call_sid: str, recording_sid: str) -> Enqueued:
        """Copy a finished recording from Twilio into recordings/."""
        return self._once(self.queue, "workers.recordings.fetch_recording", (call_sid, recording_sid),
                          fetch_job_id(recording_sid), Retry(max=len(FETCH_RETRY), interval=list(FETCH_RETRY)))

    def schedule_reconcile(self, at: dt.datetime) -> Enqueued:
        """Run the reconciliation job at ``at`` (one job per instant: ``reconcile-<epoch seconds>``)."""
        return self._once(self.queue, RECONCILE_JOB, (), f"reconcile-{int(at.timestamp())}", None, at=at,
                          failure_ttl=ESCALATION_FAILURE_TTL)

    def known(self, job_id: str) -> bool:
        """Whether RQ holds a job with this id: exactly what ``unique`` refuses to enqueue again (one EXISTS)."""
        return bool(self.redis.exists(Job.key_for(job_id)))

    def status(self, job_id: str) -> str | None:
        """RQ's status of a job (queued, scheduled, started, finished, failed, …), None when RQ has no such job."""
        try:
            return Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer).get_status(refresh=False)
        except NoSuchJobError:
            return None

    def revive(self, job_id: str) -> str | None:
        """Requeue a job that failed for good (one more attempt); returns its status before, None if RQ has none."""
        status = self.status(job_id)
        if status == "failed":
            job = Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer)
            try:
                FailedJobRegistry(job.origin, connection=self.redis, serializer=JSONSerializer).requeue(job)
            except InvalidJobOperation:
                pass  # requeued meanwhile by someone else
        return status


def escalate_job_id(call_sid: str, reason: str) -> str:
    return f"escalate-{call_sid}-{reason}"


def sms_job_id(call_sid: str, message_id: str) -> str:
    return f"sms-{call_sid}-{message_id}"


def fetch_job_id(recording_sid: str) -> str:
    return f"recording-{recording_sid}"
