"""Enqueueing the slow work of a call as RQ jobs: IDs in, never PHI.

Job functions live in ``workers/`` and are named here by import path, so the
web process never imports worker code.  Every job has a deterministic id and is
enqueued with RQ's own ``unique=True`` (an atomic check-and-save in Redis): a
second enqueue of an id RQ still holds (queued, scheduled for a retry, finished
or failed, for their result and failure TTLs) is a no-op, so a Twilio retry, a
raced request or a second drain of a call's outbox never creates the same work twice.

"RQ has the job" is not taken as "RQ will run it": RQ's unique enqueue writes the job's hash
and then pushes its id (one Lua script, but a failing push, e.g. a queue key of the wrong
type, leaves the hash behind), and a queue list can be emptied or lost (``rq empty``, an
evicting Redis) under hashes that live on.  So a duplicate is looked for where RQ keeps jobs
it will run (``locate``: its queue, RQ's intermediate queue, the started, scheduled and
deferred registries), and one that sits in none of them is enqueued again (``rescue``).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from enum import StrEnum

from redis import Redis
from redis.exceptions import WatchError
from rq import Queue, Retry
from rq.exceptions import DeserializationError, DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import DeferredJobRegistry, FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from ivr.core.priority import Priority

URGENT_QUEUE = "urgent"
# Transcribing voicemails: served only by workers of their own (``ivr.jobs.layout``), so a long message never
# holds up an escalation or a staff alert.
SPEECH_QUEUE = "speech"
# Transcriptions tried again for a message a speech worker without a usable model left (``no_model``): served
# only by speech workers that loaded a model (``workers.run`` adds it to their queues), so a worker without one
# never takes them again (break test s24, S3).
SPEECH_MODEL_QUEUE = "speech-model"
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
# Deleting Twilio's copy once ours checked out; after the last retry the reconciliation job asks again.
DELETE_RETRY = (10, 30, 60, 300, 900)
# Transcribing a long message (a real-time factor under 1, even on a busy machine) and triaging it.
FETCH_JOB_TIMEOUT = 900
PURGE_JOB = "workers.recordings.purge_recordings"
RECONCILE_JOB = "workers.reconcile.reconcile"
CHANGE_REMINDER_JOB = "workers.changes.remind_changes"
FOLDER_IMPORT_JOB = "workers.imports.import_folder"
OUTBOUND_PLAN_JOB = "workers.outbound.plan_touches"
SEND_TOUCH_JOB = "workers.outbound.send_touch"
# Sending a follow-up or reminder: Twilio may be slow or briefly down (a claimed touch is never sent twice).
TOUCH_RETRY = (10, 30, 60, 300, 900)
PLAN_NOW_SEQ_KEY = "ql:outbound:plan-now-seq"


# KEYS[1]=the planning pass's sequence; ARGV: the job key's prefix ("rq:job:outbound-plan-now-"), RQ's "queued".
# Returns {1, n} when pass n still waits in its queue, else {0, the next number} (INCR'd).
_PLAN_NOW = """
local last = redis.call('GET', KEYS[1])
if last then
  local job = redis.call('HMGET', ARGV[1] .. last, 'origin', 'status')
  if job[1] and job[2] == ARGV[2] then return {1, last} end
end
return {0, redis.call('INCR', KEYS[1])}
"""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Enqueued:
    job_id: str
    created: bool  # False when the same job had already been enqueued
    rescued: bool = False  # True when RQ had it in no queue or registry, and it was enqueued again


class Placement(StrEnum):
    """Where RQ holds a job (``Jobs.locate``)."""

    MISSING = "missing"  # no such job (never enqueued, expired, or its hash was deleted)
    IN_FLIGHT = "in_flight"  # in its queue, taken by a worker, scheduled or deferred: RQ will run it
    DONE = "done"  # finished, or failed for good (FailedJobRegistry: revive() gives it one more go)
    STRANDED = "stranded"  # RQ has its hash, but no queue or registry: nothing would ever run it


# Where RQ keeps a job of each status while it will still run it.
_KEPT_IN = {
    JobStatus.QUEUED: ("queue", "intermediate", "started"),
    JobStatus.STARTED: ("intermediate", "started"),
    JobStatus.SCHEDULED: ("scheduled",),
    JobStatus.DEFERRED: ("deferred",),
}


class Jobs:
    """The queues of one installation, on an explicit Redis connection."""

    def __init__(self, redis: Redis, queue_name: str = "calls"):
        self.redis = redis
        self.queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)
        self.urgent = Queue(URGENT_QUEUE, connection=redis, serializer=JSONSerializer)
        self.speech = Queue(SPEECH_QUEUE, connection=redis, serializer=JSONSerializer)
        self.speech_model = Queue(SPEECH_MODEL_QUEUE, connection=redis, serializer=JSONSerializer)
        # Queues this object has listed in RQ's set of queues (``rq:queues``, read only by ``rq info`` and
        # ``Queue.all``): RQ adds a queue there on every enqueue, in a MULTI/SADD/EXEC round trip of its own
        # before its unique-enqueue script; once per queue and process is enough (``_enqueue``).
        self._listed: set[str] = set()
        self._plan_now = redis.register_script(_PLAN_NOW)

    def _once(self, queue: Queue, func: str, args: tuple, job_id: str, retry: Retry | None, *,
              at: dt.datetime | None = None, failure_ttl: int = FAILURE_TTL, job_timeout: int = 120) -> Enqueued:
        """Enqueue (or with ``at``, schedule through RQ's scheduler) once per job id (RQ's ``unique``)."""
        options = dict(job_id=job_id, retry=retry, failure_ttl=failure_ttl, result_ttl=24 * 3600,
                       job_timeout=job_timeout, unique=True)
        for _ in range(2):
            try:
                if at is None:
                    self._enqueue(queue, func, args, options)
                else:
                    queue.enqueue_at(at, func, *args, **options)
            except DuplicateJobError:
                before = self.rescue(job_id)
                if before is not None:
                    return Enqueued(job_id, False, rescued=before is Placement.STRANDED)
                continue  # gone meanwhile (expired, deleted as unreadable): enqueue it afresh
            return Enqueued(job_id, True)
        raise DuplicateJobError(f"job {job_id} keeps appearing and vanishing")  # pragma: no cover

    def _enqueue(self, queue: Queue, func: str, args: tuple, options: dict) -> None:
        """RQ's own unique ``Queue.enqueue``, less a round trip once the queue is listed in ``rq:queues``.

        Given a pipeline, RQ puts on it only its SADD of the queue's name into ``rq:queues`` (a unique
        enqueue ignores the pipeline: the job's hash and its push are RQ's one atomic script, run at once).
        The pipeline is executed the first time this object enqueues on the queue, and dropped after that:
        the set lists queues, it holds no job, and workers take jobs by queue name whatever it says.
        ``tests/jobs/test_enqueue_round_trips.py`` pins both: the job queued, the queue listed.
        """
        with self.redis.pipeline() as pipe:
            queue.enqueue(func, *args, pipeline=pipe, **options)
            if queue.name not in self._listed:
                pipe.execute()
                self._listed.add(queue.name)

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
        job_id = notify_job_id(escalation_id, kind, level) + ("-failover" if failover else "")
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
                          (escalation_id,), breach_job_id(escalation_id), Retry(max=3, interval=[5, 30, 120]),
                          at=at, failure_ttl=ESCALATION_FAILURE_TTL)

    def send_sms(self, call_sid: str, message_id: str, *, again: bool = False) -> Enqueued:
        """Send the text waiting in the call's outbox as ``message_id`` (number and body stay in the call's
        record, never in the job).

        ``again``: most likely enqueued already (the outbox drained again by the status callback, a replay,
        reconciliation): RQ is asked where the job is first, and only a missing or stranded one goes through
        the enqueue (one RQ holds is left as it is, as the enqueue would leave it, without building a job
        and a failed unique enqueue to find that out).
        """
        job_id = sms_job_id(call_sid, message_id)
        if again and self.locate(job_id, self.queue)[1] in (Placement.IN_FLIGHT, Placement.DONE):
            return Enqueued(job_id, False)
        return self._once(self.queue, "workers.sms.send_sms", (call_sid, message_id), sms_job_id(call_sid, message_id),
                          Retry(max=len(SMS_RETRY), interval=list(SMS_RETRY)))

    def fetch_recording(self, call_sid: str, recording_sid: str) -> Enqueued:
        """Copy a finished recording from Twilio into recordings/ (sealed) and check it."""
        return self._once(self.queue, "workers.recordings.fetch_recording", (call_sid, recording_sid),
                          fetch_job_id(recording_sid), Retry(max=len(FETCH_RETRY), interval=list(FETCH_RETRY)),
                          job_timeout=FETCH_JOB_TIMEOUT)

    def transcribe_recording(self, call_sid: str, recording_sid: str) -> Enqueued:
        """Transcribe and triage a copied recording, on the speech queue (after every escalation and alert)."""
        return self._once(self.speech, "workers.recordings.transcribe_recording", (call_sid, recording_sid),
                          transcribe_job_id(recording_sid), Retry(max=2, interval=[30, 120]),
                          job_timeout=FETCH_JOB_TIMEOUT)

    def transcribe_again(self, call_sid: str, recording_sid: str) -> Enqueued:
        """Transcribe a recording whose transcription job already ran without a model (``no_model``): its
        finished job is dropped so that the same id is enqueued afresh; one still queued or running is left."""
        job_id = transcribe_job_id(recording_sid)
        if self.locate(job_id)[1] is Placement.DONE:
            self.cancel(job_id)
        return self.transcribe_recording(call_sid, recording_sid)

    def transcribe_with_model(self, call_sid: str, recording_sid: str) -> Enqueued:
        """Transcribe a recording again on the ``speech-model`` queue, which only speech workers that loaded a
        model serve: for one a worker without a model left (``no_model``). Its finished job is dropped so that the
        same id is enqueued afresh; one still queued or running (on either speech queue) is left as it is, so a
        message is never transcribed twice at once."""
        job_id = transcribe_job_id(recording_sid)
        if self.locate(job_id)[1] is Placement.DONE:
            self.cancel(job_id)
        return self._once(self.speech_model, "workers.recordings.transcribe_recording", (call_sid, recording_sid),
                          job_id, Retry(max=2, interval=[30, 120]), job_timeout=FETCH_JOB_TIMEOUT)

    def transcribing_with_model(self, recording_sid: str) -> bool:
        """Whether the recording's transcription waits on (or runs from) the ``speech-model`` queue, which only speech
        workers with a model serve: a message a worker without a model left (``no_model``) that a worker with one has
        queued again (``transcribe_with_model``), so its transcript is on its way."""
        job_id = transcribe_job_id(recording_sid)
        origin = self.redis.hget(Job.key_for(job_id), "origin")
        return (origin is not None and origin.decode() == SPEECH_MODEL_QUEUE
                and self.locate(job_id, self.speech_model)[1] is Placement.IN_FLIGHT)

    def delete_recording(self, call_sid: str, recording_sid: str) -> Enqueued:
        """Delete Twilio's copy of a recording whose sealed copy checked out; retried while Twilio refuses."""
        return self._once(self.queue, "workers.recordings.delete_at_twilio", (call_sid, recording_sid),
                          f"recording-delete-{recording_sid}",
                          Retry(max=len(DELETE_RETRY), interval=list(DELETE_RETRY)))

    def delete_purged_recording(self, call_sid: str, recording_sid: str) -> Enqueued:
        """Delete Twilio's copy of a recording purged past retention (whether or not ours ever checked out);
        retried while Twilio refuses, then asked again by the reconciliation job until it is gone."""
        return self._once(self.queue, "workers.recordings.delete_purged_at_twilio", (call_sid, recording_sid),
                          purged_delete_job_id(recording_sid),
                          Retry(max=len(DELETE_RETRY), interval=list(DELETE_RETRY)))

    def schedule_purge(self, at: dt.datetime) -> Enqueued:
        """Purge recordings past the practice's retention at ``at`` (``purge-recordings-<epoch seconds>``)."""
        return self._once(self.queue, PURGE_JOB, (), f"purge-recordings-{int(at.timestamp())}", None, at=at,
                          failure_ttl=ESCALATION_FAILURE_TTL)

    def schedule_reconcile(self, at: dt.datetime) -> Enqueued:
        """Run the reconciliation job at ``at`` (one job per instant: ``reconcile-<epoch seconds>``)."""
        return self._once(self.queue, RECONCILE_JOB, (), f"reconcile-{int(at.timestamp())}", None, at=at,
                          failure_ttl=ESCALATION_FAILURE_TTL)

    def schedule_change_reminder(self, at: dt.datetime, day: dt.date) -> Enqueued:
        """Run the daily change-journal reminder at ``at`` (one job per practice day: ``changes-reminder-<day>``)."""
        return self._once(self.queue, CHANGE_REMINDER_JOB, (), change_reminder_job_id(day), None, at=at,
                          failure_ttl=ESCALATION_FAILURE_TTL)

    def schedule_folder_import(self, at: dt.datetime) -> Enqueued:
        """Run the scheduled folder import at ``at`` (one job per instant: ``import-folder-<epoch seconds>``)."""
        return self._once(self.queue, FOLDER_IMPORT_JOB, (), f"import-folder-{int(at.timestamp())}", None, at=at,
                          failure_ttl=ESCALATION_FAILURE_TTL)

    def plan_outbound_now(self) -> Enqueued:
        """Run the outbound planning pass at once (an appointment changed, a reply came): ``outbound-plan-now-<n>``,
        unless the last such pass is still waiting in its queue (it will see the change)."""
        # The last pass's number, RQ's status of its job (as ``locate`` reads it: none without an origin) and, unless
        # it still waits, the next number: one script, one round trip (every appointment a caller moves or cancels
        # asks this).  The job's key is built inside the script from the number it reads (a single Redis, as RQ's
        # own keys assume).
        waiting, n = self._plan_now(keys=[PLAN_NOW_SEQ_KEY],
                                    args=[Job.key_for("outbound-plan-now-"), JobStatus.QUEUED.value])
        if int(waiting):
            return Enqueued(f"outbound-plan-now-{int(n)}", False)
        return self._once(self.queue, OUTBOUND_PLAN_JOB, (), f"outbound-plan-now-{n}", None,
                          failure_ttl=ESCALATION_FAILURE_TTL)

    def schedule_outbound_plan(self, at: dt.datetime) -> Enqueued:
        """Run the outbound planning pass at ``at`` (one job per instant: ``outbound-plan-<epoch seconds>``)."""
        return self._once(self.queue, OUTBOUND_PLAN_JOB, (), f"outbound-plan-{int(at.timestamp())}", None, at=at,
                          failure_ttl=ESCALATION_FAILURE_TTL)

    def send_touch(self, row_id: int, job_id: str, at: dt.datetime | None = None) -> Enqueued:
        """Make one outbound touch (row id of ``outbound_touches`` in, nothing else) at ``at`` (None: now).

        ``job_id`` is the touch's own (``Touch.job_id``).  A job already scheduled for another time is moved;
        one that finished without sending (not due yet then) is enqueued again.
        """
        status, placement = self.locate(job_id)
        if placement is Placement.IN_FLIGHT and status == JobStatus.SCHEDULED and at is None:
            self.cancel(job_id)  # re-planned to go now: out of the scheduled registry, into the queue
            placement = Placement.MISSING
        if placement is Placement.IN_FLIGHT and status == JobStatus.SCHEDULED and at is not None:
            queue = self.queue
            registry = ScheduledJobRegistry(queue.name, connection=self.redis, serializer=JSONSerializer)
            scheduled = registry.get_scheduled_time(job_id) if job_id in registry else None
            if scheduled is not None and int(scheduled.timestamp()) != int(at.timestamp()):
                job = Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer)
                queue.schedule_job(job, at)
                return Enqueued(job_id, True)
        if placement is Placement.DONE:
            self.cancel(job_id)
        return self._once(self.queue, SEND_TOUCH_JOB, (row_id,), job_id,
                          Retry(max=len(TOUCH_RETRY), interval=list(TOUCH_RETRY)),
                          at=at, failure_ttl=FAILURE_TTL)

    def scheduled_at(self, job_id: str) -> dt.datetime | None:
        """When RQ's scheduler will run ``job_id`` (None: not scheduled), whichever queue it is on."""
        for queue in (self.queue, self.urgent):
            registry = ScheduledJobRegistry(queue.name, connection=self.redis, serializer=JSONSerializer)
            if job_id in registry:
                return registry.get_scheduled_time(job_id)
        return None

    def cancel(self, job_id: str) -> bool:
        """Delete a job that is waiting (queued, scheduled, deferred) or over; one running is left alone.

        True when RQ had it.  Used when a touch is re-planned away: its job must not linger under its id.
        """
        status, placement = self.locate(job_id)
        if placement is Placement.MISSING or status == JobStatus.STARTED:
            return False
        try:
            Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer).delete()
        except (NoSuchJobError, DeserializationError):
            self.redis.delete(Job.key_for(job_id))
        return True

    def status(self, job_id: str) -> str | None:
        """RQ's status of a job (queued, scheduled, started, finished, failed, …), None when RQ has no such job."""
        try:
            return Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer).get_status(refresh=False)
        except NoSuchJobError:
            return None

    def revive(self, job_id: str) -> str | None:
        """See that RQ will run ``job_id`` again unless it finished: a job that failed for good is requeued
        (one more attempt) and one RQ holds in no queue or registry (``Placement.STRANDED``: queued, deferred,
        canceled or stopped over a lost queue) is enqueued again.

        Returns its status before (``"failed"``, ``"stranded"`` for one enqueued again, RQ's status otherwise),
        None if RQ has no such job (the caller enqueues it afresh).
        """
        status = self.status(job_id)
        if status == "failed":
            job = Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer)
            try:
                FailedJobRegistry(job.origin, connection=self.redis, serializer=JSONSerializer).requeue(job)
            except InvalidJobOperation:
                pass  # requeued meanwhile by someone else
            return status
        if status is None:
            return None
        placement = self.rescue(job_id)
        if placement is None:
            return None
        return "stranded" if placement is Placement.STRANDED else status

    def locate(self, job_id: str, queue: Queue | None = None) -> tuple[str | None, Placement]:
        """RQ's status of ``job_id`` and whether RQ will run it (``Placement``), read in one MULTI/EXEC.

        One snapshot, because a worker moves a job along while we look: from its queue to RQ's
        intermediate queue (BLMOVE), into the started registry, then out of the intermediate queue;
        at every instant it is in one of them.  ``queue``: the queue the job was enqueued on, when the
        caller knows it: its origin is then read in the same MULTI/EXEC (one round trip, not two), and
        looked up again only if it is another queue's.
        """
        job_key = Job.key_for(job_id)
        if queue is not None:
            held, origin, snapshot = self._snapshot(job_id, queue, with_origin=True)
            if origin is None:
                return (None, Placement.STRANDED) if held else (None, Placement.MISSING)
            if origin.decode() == queue.name:
                return self._placement(job_id, snapshot)
        origin = self.redis.hget(job_key, "origin")
        if origin is None:
            return (None, Placement.MISSING) if not self.redis.exists(job_key) else (None, Placement.STRANDED)
        origin_queue = Queue(origin.decode(), connection=self.redis, serializer=JSONSerializer)
        return self._placement(job_id, self._snapshot(job_id, origin_queue, with_origin=False)[2])

    def _snapshot(self, job_id: str, queue: Queue, *, with_origin: bool) -> tuple[bool, bytes | None, list]:
        """(when asked, whether the job's hash exists and its origin, else False, None; [status, its place in the
        queue, in the intermediate queue, the started registry's members, its scores in the scheduled and deferred
        registries]) in one MULTI/EXEC."""
        job_key = Job.key_for(job_id)
        with self.redis.pipeline(transaction=True) as pipe:
            if with_origin:
                pipe.exists(job_key)
                pipe.hget(job_key, "origin")
            pipe.hget(job_key, "status")
            pipe.lpos(queue.key, job_id)
            pipe.lpos(queue.intermediate_queue_key, job_id)
            pipe.zrange(StartedJobRegistry(queue.name, connection=self.redis).key, 0, -1)  # "<job id>:<execution id>"
            pipe.zscore(ScheduledJobRegistry(queue.name, connection=self.redis).key, job_id)
            pipe.zscore(DeferredJobRegistry(queue.name, connection=self.redis).key, job_id)
            replies = pipe.execute()
        return (bool(replies[0]), replies[1], replies[2:]) if with_origin else (False, None, replies)

    @staticmethod
    def _placement(job_id: str, snapshot: list) -> tuple[str | None, Placement]:
        """``locate``'s answer from a ``_snapshot`` of the job's origin queue."""
        raw_status, in_queue, in_intermediate, started, scheduled, deferred = snapshot
        if raw_status is None:
            return None, Placement.STRANDED
        status = raw_status.decode()
        if status in (JobStatus.FINISHED, JobStatus.FAILED):
            return status, Placement.DONE
        prefix = job_id.encode() + b":"
        found = {"queue": in_queue is not None, "intermediate": in_intermediate is not None,
                 "started": any(e == job_id.encode() or e.startswith(prefix) for e in started),
                 "scheduled": scheduled is not None, "deferred": deferred is not None}
        kept = _KEPT_IN.get(JobStatus(status), ()) if status in set(JobStatus) else ()
        return status, Placement.IN_FLIGHT if any(found[k] for k in kept) else Placement.STRANDED

    def rescue(self, job_id: str) -> Placement | None:
        """Enqueue ``job_id`` again if RQ holds it in no queue or registry (``Placement.STRANDED``).

        Returns where it was (None: RQ has no such job). Through RQ's ``Queue.enqueue_job`` in a
        transaction that WATCHes the job and its queue, so two drains racing never push it twice.
        A hash RQ cannot read (no function, a half-written record) is deleted and None returned:
        the caller enqueues the job afresh.
        """
        for _ in range(5):
            status, placement = self.locate(job_id)
            if placement is not Placement.STRANDED:
                return None if placement is Placement.MISSING else placement
            try:
                job = Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer)
                queue = Queue(job.origin, connection=self.redis, serializer=JSONSerializer)
                job.func_name  # noqa: B018  (raises when the stored call cannot be read)
            except (NoSuchJobError, DeserializationError, ValueError, TypeError, KeyError, AttributeError) as exc:
                log.error("job %s: RQ's record of it cannot be read (%s): deleting it to enqueue it afresh",
                          job_id, type(exc).__name__)
                self.redis.delete(Job.key_for(job_id))
                return None
            with self.redis.pipeline() as pipe:
                try:
                    pipe.watch(Job.key_for(job_id), queue.key, queue.intermediate_queue_key)
                    if self.locate(job_id)[1] is not Placement.STRANDED:
                        continue
                    pipe.multi()
                    job.set_status(JobStatus.QUEUED, pipeline=pipe)  # a deferred, canceled or stopped one too
                    queue.enqueue_job(job, pipeline=pipe)
                    pipe.execute()
                except WatchError:
                    continue  # moved meanwhile: look again
            log.warning("job %s was %s but in no queue or registry (a half-written enqueue or a lost queue): "
                        "enqueued it again on %s", job_id, status or "unreadable", queue.name)
            return Placement.STRANDED
        return Placement.IN_FLIGHT  # it kept moving: something is working on it


# RQ refuses a job id outside these characters (``rq.job.JOB_ID_PATTERN``: ValueError at enqueue).
_RQ_SAFE = re.compile(r"[A-Za-z0-9_-]+")
_NO_DASH = re.compile(r"[A-Za-z0-9_]+")


def job_id(kind: str, *parts: str, dashed: int = 0) -> str:
    """A deterministic RQ job id for ``kind`` and ``parts`` (any strings: a call SID, ``change:7``, a reason),
    different for different parts and always one RQ accepts.

    Parts RQ can take as they are (letters, digits, ``_``, ``-``, with dashes in part ``dashed`` only, so the id
    splits back unambiguously) give ``<kind>-<part>-<part>`` — the ids enqueued before this mapping existed,
    unchanged; anything else gives ``<kind>x-<hex of each part, UTF-8>``, which no plain id can equal (``<kind>x-``
    is not ``<kind>-``).  ``kind`` itself must be plain (ValueError otherwise: a programming error)."""
    if not _NO_DASH.fullmatch(kind):
        raise ValueError(f"job kind {kind!r} must be letters, digits and underscores")
    if parts and all((_RQ_SAFE if i == dashed else _NO_DASH).fullmatch(p) for i, p in enumerate(parts)):
        return "-".join((kind, *parts))
    return "-".join((f"{kind}x", *(p.encode().hex() for p in parts)))


def escalate_job_id(call_sid: str, reason: str) -> str:
    """The escalate job of ``call_sid`` (a CallSid, or any key: ``change-7``, a MessageSid) and ``reason``."""
    return job_id("escalate", call_sid, reason)


def notify_job_id(escalation_id: int, kind: str, level: int) -> str:
    """Telling roster ``level`` of an escalation (``kind``: new, reminder, breach, raised)."""
    return f"escalation-{escalation_id}-{kind}-L{level}"


def breach_job_id(escalation_id: int) -> str:
    return f"escalation-{escalation_id}-breach"


def sms_job_id(call_sid: str, message_id: str) -> str:
    return job_id("sms", call_sid, message_id, dashed=1)  # message ids are "text-3-1"; CallSids have no dash


def fetch_job_id(recording_sid: str) -> str:
    return job_id("recording", recording_sid)


def purged_delete_job_id(recording_sid: str) -> str:
    return f"recording-purge-delete-{recording_sid}"


def transcribe_job_id(recording_sid: str) -> str:
    return f"transcribe-{recording_sid}"


def change_reminder_job_id(day: dt.date) -> str:
    return f"changes-reminder-{day.isoformat()}"
