"""``/health``: can the service answer calls *and* get their follow-up work done?

Checks, each naming itself in ``failures`` when it fails:

* ``redis``: reachable (nothing else can be checked without it);
* ``flows``: loaded (the version is reported, with the count of flow errors);
* ``workers``: at least one live RQ worker serves each queue (urgent, calls), and no
  registered worker's heartbeat is older than the worker TTL (a worker that died without
  deregistering, e.g. ``kill -9``, until RQ's key for it expires);
* ``scheduler``: RQ's scheduler holds its lock for each queue (``rq:scheduler-lock:<queue>``,
  ``rq/scheduler.py``) and its own heartbeat is fresh: without it no retry and no
  scheduled job ever runs;
* ``speech_worker``: when voicemails wait on the ``speech`` queue (queued, or a retry scheduled), a live RQ
  worker serves that queue (RQ's worker registry, heartbeat fresh);
* ``queues``: the oldest queued job of each queue has waited less than the limit;
* ``speech_queue``: the oldest voicemail waiting on the ``speech`` queue (transcription and triage) has
  waited less than its own, lenient limit (IVR_HEALTH_SPEECH_QUEUE_MAX_AGE_SECONDS, 30 minutes): a worker
  takes that queue only when the others are empty, and staff have the message already;
* ``speech_model``: voicemails a speech worker without a model left (``no_model``, counted in the database) or
  queued on ``speech-model`` have a live worker with a model to take them (``ivr.jobs.speech_backlog``);
* ``speech_model_queue``: the oldest job on ``speech-model`` has waited less than
  IVR_HEALTH_SPEECH_MODEL_QUEUE_MAX_AGE_SECONDS (10 minutes);
* ``scheduled``: no job in a ScheduledJobRegistry is overdue by more than the limit (the speech queue's too);
* ``failed_jobs``: no job failed for good (RQ's FailedJobRegistry, after its last retry) in
  the last 24 hours (the speech queue's too).  Such a job has already been turned into what staff need (a recording
  Twilio never gave us is an escalation to call back, a refused text too).

``status`` is ``ok`` (nothing failed), ``failing`` when the service cannot answer calls
(``redis`` or ``flows``: the only checks in ``CRITICAL``) and ``degraded`` otherwise (calls
are answered, their jobs wait or something needs a look).  The HTTP status is 503 only
for ``failing``; ``degraded`` answers 200 so that a supervisor, a load balancer or a restart
never takes the phone line down over a job that failed yesterday.  Monitoring reads
``status`` and ``failures``.

``?scope=web`` checks only Redis and flows: whether this web process can answer calls
(jobs wait in Redis), which is what a load balancer should ask; the full check is for
monitoring.

The public ``/health`` (``public_report``) holds names, counts and ages only.  Job ids
(which carry CallSids, recording SIDs and reasons) are kept for signed-in staff
(``/staff/health``) and the console (``flask --app app health``): ``DETAIL_KEYS``.

RQ's hashes are read directly rather than through ``Worker.all()``: building a Worker on a
connection raises that connection's socket timeout to the worker's dequeue timeout
(``BaseWorker._set_connection``), which would undo the web's fail-fast Redis timeouts.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from redis import Redis
from redis.exceptions import RedisError
from rq.job import Job
from rq.queue import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.utils import utcparse
from rq.worker import Worker
from rq.worker_registration import REDIS_WORKER_KEYS

from ivr.escalations import recordings
from ivr.jobs import speech_backlog
from ivr.jobs.enqueue import SPEECH_MODEL_QUEUE, SPEECH_QUEUE, URGENT_QUEUE

# Jobs looked at from the head of each queue: normally the first is the oldest, but a job
# enqueued at the front (retries may be) can hide an older one behind it.
QUEUE_HEAD = 10
LISTED = 5  # job ids listed per overdue registry
FAILED_WINDOW = 24 * 3600  # seconds: permanently failed jobs this recent make the service degraded
# The checks without which no call can be answered: only these make the service "failing" (503).
CRITICAL = ("redis", "flows")
# Report keys that name jobs (CallSids, reasons): left out of the public /health.
DETAIL_KEYS = ("oldest_job_id", "job_ids")


@dataclass(frozen=True)
class Limits:
    heartbeat_max_age: float = 60.0  # seconds; the worker TTL
    max_queue_age: float = 120.0
    scheduled_overdue: float = 60.0
    speech_queue_age: float = 1800.0  # seconds a voicemail may wait for transcription (lenient: staff have it)
    # seconds a transcription may wait on the speech-model queue (a worker with a model takes it at once)
    speech_model_queue_age: float = speech_backlog.MODEL_QUEUE_MAX_AGE_SECONDS


def health(redis: Redis, now: dt.datetime, *, queues: Iterable[str] = ("urgent", "calls"),
           limits: Limits = Limits(), flows: Any = None, jobs: bool = True,
           speech_queue: str | None = SPEECH_QUEUE,
           left_without_model: int | None = None) -> tuple[bool, dict[str, Any]]:
    """Check the service; returns (ok, report).  ``now``: an aware UTC datetime (the real clock).

    ``flows``: the app's FlowStore (or None to skip that check); ``jobs=False``: Redis and
    flows only (``?scope=web``); ``speech_queue``: the queue held to ``limits.speech_queue_age``
    (None: not checked, nor ``speech-model``); ``left_without_model``: how many voicemails a speech worker
    without a model left (``no_model``, from the database; None: not known, only the queue is looked at).
    """
    queues = list(queues)
    failures: list[str] = []
    problems: list[str] = []
    report: dict[str, Any] = {}
    try:
        redis.ping()
        report["redis"] = "ok"
    except (RedisError, OSError):
        report["redis"] = "unreachable"
        failures.append("redis")
        problems.append("Redis does not answer")
    if flows is not None:
        current = flows.last_good
        report["flows"] = current.version if current else "not loaded"
        report["flow_problems"] = len([p for p in flows.problems if p.severity == "error"])
        if current is None:
            failures.append("flows")
            problems.append("flows are not loaded")
    if jobs and "redis" not in failures:
        try:
            _check_jobs(redis, now.timestamp(), queues, speech_queue, limits, report, failures, problems,
                        left_without_model)
        except (RedisError, OSError):
            report["redis"] = "unreachable"
            failures.append("redis")
            problems.append("Redis stopped answering during the check")
    report["failures"] = failures
    report["problems"] = problems
    ok = not failures
    report["ok"] = ok
    report["status"] = status_of(failures)
    return ok, report


def status_of(failures: Iterable[str]) -> str:
    """``ok``, ``degraded`` or ``failing`` (see the module docstring) for a list of failed checks."""
    failures = list(failures)
    if not failures:
        return "ok"
    return "failing" if any(f in CRITICAL for f in failures) else "degraded"


def http_status(report: dict[str, Any]) -> int:
    """200 unless the service cannot answer calls (``status`` ``failing``): 503."""
    return 503 if report["status"] == "failing" else 200


def public_report(report: dict[str, Any]) -> dict[str, Any]:
    """``report`` without the job ids (``DETAIL_KEYS``): counts, ages and names of checks only."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in DETAIL_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(report)


def service_health(ql: Any, *, web_only: bool = False) -> tuple[bool, dict[str, Any]]:
    """``health()`` for a running app (``app.extensions['quietline']``), limits from its settings."""
    s = ql.settings
    limits = Limits(heartbeat_max_age=s.worker_ttl_seconds, max_queue_age=s.health_max_queue_age_seconds,
                    scheduled_overdue=s.health_scheduled_overdue_seconds,
                    speech_queue_age=s.health_speech_queue_max_age_seconds,
                    speech_model_queue_age=s.health_speech_model_queue_max_age_seconds)
    # The real clock: the app's clock may be a test's fixed one; RQ stamps with the real time.
    return health(ql.redis, dt.datetime.now(dt.UTC), queues=(URGENT_QUEUE, s.queue_name),
                  limits=limits, flows=ql.flows, jobs=not web_only,
                  left_without_model=None if web_only else _left_without_model(ql))


def _left_without_model(ql: Any) -> int | None:
    """How many voicemails wait for a worker with a speech model (``no_model``); None when the database cannot
    be read (the check then looks at the ``speech-model`` queue alone, and the database is the doctor's)."""
    try:
        return recordings.count_left_without_model(ql.database.sessions)
    except Exception:  # any driver's error: /health still answers about everything else
        return None


@click.command("health")
@with_appcontext
def health_command() -> None:
    """Print the full /health report (JSON, job ids included); exit 0 ok, 1 degraded, 2 failing."""
    _, report = service_health(current_app.extensions["quietline"])
    click.echo(json.dumps(report, indent=2))
    sys.exit({"ok": 0, "degraded": 1}.get(report["status"], 2))


def _age(now_ts: float, stamp: bytes | str | None) -> float | None:
    if not stamp:
        return None
    try:
        return round(now_ts - utcparse(stamp.decode() if isinstance(stamp, bytes) else stamp).timestamp(), 1)
    except ValueError:
        return None


def _text(value: bytes | None) -> str:
    return value.decode() if value else ""


def _check_jobs(redis: Redis, now_ts: float, queues: list[str], speech_queue: str | None, limits: Limits,
                report: dict[str, Any], failures: list[str], problems: list[str],
                left_without_model: int | None = None) -> None:
    # ---- workers: RQ keeps a set of worker keys and a hash per worker, with a TTL it renews.
    keys = sorted(_text(k) for k in redis.smembers(REDIS_WORKER_KEYS))
    with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hmget(key, "queues", "last_heartbeat", "state")
        rows = pipe.execute()
    workers = []
    stale = []
    for key, (queue_names, heartbeat, state) in zip(keys, rows, strict=False):
        if heartbeat is None and queue_names is None:
            continue  # its hash expired: RQ drops the key from the set at the next cleanup
        age = _age(now_ts, heartbeat)
        fresh = age is not None and age <= limits.heartbeat_max_age
        name = key[len(Worker.redis_worker_namespace_prefix):]
        workers.append({"name": name, "queues": [q for q in _text(queue_names).split(",") if q],
                        "state": _text(state) or "?", "heartbeat_age_seconds": age, "fresh": fresh})
        if not fresh:
            stale.append(name)
            problems.append(f"worker {name} has not sent a heartbeat for {age} s")
    covered = {q: any(w["fresh"] and q in w["queues"] for w in workers) for q in queues}
    report["workers"] = {"count": len(workers), "queues_covered": covered,
                         "heartbeat_max_age_seconds": limits.heartbeat_max_age, "list": workers}
    if not workers:
        problems.append("no RQ worker is running")
    for q, ok in covered.items():
        if not ok and workers:
            problems.append(f"no live worker serves the {q} queue")
    if not workers or stale or not all(covered.values()):
        failures.append("workers")
    if speech_queue is not None:
        # Voicemails waiting for transcription (queued, or a retry scheduled) with no live worker on their queue:
        # staff have the messages, but none is transcribed or crisis-checked until a speech worker runs.
        waiting = (redis.llen(Queue.redis_queue_namespace_prefix + speech_queue)
                   + redis.zcard(ScheduledJobRegistry(speech_queue, connection=redis).key))
        alive = any(w["fresh"] and speech_queue in w["queues"] for w in workers)
        report["speech_worker"] = {"alive": alive, "voicemails_waiting": waiting}
        if waiting and not alive:
            failures.append("speech_worker")
            problems.append(f"{waiting} voicemail job(s) wait on the {speech_queue} queue and no speech worker is "
                            f"running: staff have the messages, but none is transcribed or checked for a crisis "
                            f"until one starts (python -m workers.run --queues {speech_queue}; make run starts one)")
        # Messages a worker without a model left, and their jobs on speech-model: a worker with a model must live.
        model_head = _queue_head(redis, now_ts, SPEECH_MODEL_QUEUE)
        backlog = speech_backlog.SpeechBacklog(
            model_workers=sum(1 for w in workers if w["fresh"] and SPEECH_MODEL_QUEUE in w["queues"]),
            queued=model_head["length"] + redis.zcard(ScheduledJobRegistry(SPEECH_MODEL_QUEUE, connection=redis).key),
            oldest_age_seconds=model_head["oldest_age_seconds"], left_without_model=left_without_model)
        report["speech_model"] = {"workers_alive": backlog.model_workers, "queued": backlog.queued,
                                  "voicemails_left_without_model": left_without_model,
                                  "oldest_age_seconds": backlog.oldest_age_seconds,
                                  "max_age_seconds": limits.speech_model_queue_age,
                                  "oldest_job_id": model_head["oldest_job_id"]}
        for check, words in speech_backlog.problems(backlog, limits.speech_model_queue_age):
            failures.append(check)
            problems.append(words)

    # ---- scheduler: one RQ scheduler process holds a lock per queue and heartbeats every second.
    scheduler: dict[str, Any] = {}
    for q in queues:
        owner = redis.get(RQScheduler.get_locking_key(q))
        entry: dict[str, Any] = {"locked": owner is not None, "heartbeat_age_seconds": None}
        if owner is not None:
            entry["heartbeat_age_seconds"] = _age(
                now_ts, redis.hget(SCHEDULER_KEY_TEMPLATE % _text(owner), "last_heartbeat"))
        age = entry["heartbeat_age_seconds"]
        # A lock without a metadata hash (older RQ) counts as alive: the lock itself expires.
        entry["alive"] = owner is not None and (age is None or age <= limits.heartbeat_max_age)
        scheduler[q] = entry
        if not entry["alive"]:
            problems.append(f"no scheduler for the {q} queue" if owner is None
                            else f"the scheduler for the {q} queue has not sent a heartbeat for {age} s")
    report["scheduler"] = {"alive": all(e["alive"] for e in scheduler.values()), "queues": scheduler}
    if not report["scheduler"]["alive"]:
        failures.append("scheduler")

    # ---- queues: how long the jobs at the head have waited.
    queue_report: dict[str, Any] = {}
    too_old = False
    for q in queues:
        queue_report[q] = _queue_head(redis, now_ts, q)
        oldest_age = queue_report[q]["oldest_age_seconds"]
        if oldest_age is not None and oldest_age > limits.max_queue_age:
            too_old = True
            problems.append(f"the oldest job in the {q} queue has waited {oldest_age} s")
    speech_late = False
    if speech_queue is not None:
        # Its own limit: transcription waits behind every other job by design, and staff have the message.
        queue_report[speech_queue] = {**_queue_head(redis, now_ts, speech_queue),
                                      "max_age_seconds": limits.speech_queue_age}
        oldest_age = queue_report[speech_queue]["oldest_age_seconds"]
        if oldest_age is not None and oldest_age > limits.speech_queue_age:
            speech_late = True
            problems.append(f"the oldest voicemail waiting for transcription (the {speech_queue} queue) has waited "
                            f"{oldest_age} s")
    report["queues"] = {"max_age_seconds": limits.max_queue_age, **queue_report}
    if too_old:
        failures.append("queues")
    if speech_late:
        failures.append("speech_queue")
    # Overdue scheduled jobs and jobs failed for good count on every queue watched, the speech queue's too.
    queues = queues + ([q for q in (speech_queue, SPEECH_MODEL_QUEUE) if q not in queues]
                       if speech_queue is not None else [])

    # ---- scheduled jobs (retries, delayed work) whose time has long passed: no scheduler moved them.
    cutoff = now_ts - limits.scheduled_overdue
    scheduled: dict[str, Any] = {}
    overdue_total = 0
    for q in queues:
        key = ScheduledJobRegistry(q, connection=redis).key
        count = redis.zcount(key, "-inf", cutoff)
        first = redis.zrangebyscore(key, "-inf", cutoff, start=0, num=LISTED, withscores=True)
        scheduled[q] = {"overdue": count,
                        "oldest_overdue_seconds": round(now_ts - first[0][1], 1) if first else None,
                        "job_ids": [_text(j) for j, _ in first], "waiting": redis.zcard(key)}
        overdue_total += count
        if count:
            problems.append(f"{count} scheduled job(s) in the {q} queue are overdue by more than "
                            f"{limits.scheduled_overdue:g} s")
    report["scheduled"] = {"overdue_after_seconds": limits.scheduled_overdue, "overdue": overdue_total,
                           "queues": scheduled}
    if overdue_total:
        failures.append("scheduled")

    # ---- jobs that failed for good (after their last retry) in the last day.
    recent: list[tuple[float, str]] = []
    for q in queues:
        ids = [_text(j) for j in redis.zrange(FailedJobRegistry(q, connection=redis).key, 0, -1)]
        with redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hget(Job.key_for(job_id), "ended_at")
            ended = pipe.execute()
        recent += [(age, j) for j, e in zip(ids, ended, strict=False)
                   if (age := _age(now_ts, e)) is not None and age <= FAILED_WINDOW]
    recent.sort()
    report["failed_jobs"] = {"window_seconds": FAILED_WINDOW, "count": len(recent),
                             "newest_age_seconds": recent[0][0] if recent else None,
                             "job_ids": [j for _, j in recent[:LISTED]]}
    if recent:
        failures.append("failed_jobs")
        # No job id here: problems are public (the ids are in failed_jobs.job_ids, for staff).
        problems.append(f"{len(recent)} job(s) failed for good in the last 24 h (newest {recent[0][0]:g} s ago)")


def _queue_head(redis: Redis, now_ts: float, q: str) -> dict[str, Any]:
    """Length, oldest wait (seconds) and its job id, and failed-job count of one queue."""
    key = Queue.redis_queue_namespace_prefix + q
    length = redis.llen(key)
    head = [_text(j) for j in redis.lrange(key, 0, QUEUE_HEAD - 1)]
    with redis.pipeline(transaction=False) as pipe:
        for job_id in head:
            pipe.hget(Job.key_for(job_id), "enqueued_at")
        stamps = pipe.execute()
    aged = [(a, j) for j, s in zip(head, stamps, strict=False) if (a := _age(now_ts, s)) is not None]
    oldest_age, oldest_id = max(aged) if aged else (None, None)
    failed = redis.zcard(FailedJobRegistry(q, connection=redis).key)  # kept by RQ for a year by default
    return {"length": length, "oldest_age_seconds": oldest_age, "oldest_job_id": oldest_id, "failed_jobs": failed}
