"""Worker entry point: ``python -m workers.run [--queues urgent,calls | --queues speech] [--burst]``.

Speech has workers of its own
-----------------------------
A worker runs one job at a time, and queue order only decides which job it takes next: a worker serving
``calls`` and ``speech`` would hold every escalation and staff alert behind a voicemail being transcribed
(minutes), and behind the model's load when it starts. So a queue list mixing ``speech`` with any other
queue is refused at start (``ivr.jobs.layout.mixing_error``, exit status 2), the default is
``urgent,calls``, and transcription runs in workers started with ``--queues speech``
(``ivr.jobs.layout.worker_layout``: what ``make run`` starts). A speech worker whose model loaded also serves
``speech-model`` (added here, never named by hand): the messages a speech worker without a usable model left
``no_model`` are put there on each of its maintenance passes, so only a worker with a model takes them.

How a job survives its worker being killed (``kill -9``, the OOM killer, a lost machine)
-------------------------------------------------------------------------------------
Nothing in the dying worker can react, so recovery is left to another worker's periodic
*maintenance* (RQ 3.0, ``rq/worker/base.py``: ``run_maintenance_tasks`` → ``clean_registries``
→ ``rq/registry.py``: ``StartedJobRegistry.cleanup``).  While a job runs, its execution sits
in the queue's StartedJobRegistry with an expiry score that the worker pushes forward every
``job_monitoring_interval`` seconds (``monitor_work_horse`` → ``maintain_heartbeats``).  Once
the score has passed, ``cleanup`` treats the job as abandoned: it calls the failure callback
and the exception handlers with ``AbandonedJobError``, then, if the job has retries left,
``job.retry()`` schedules it after its next retry interval (escalations: 5 s), otherwise
records it as failed.  So RQ does retry abandoned jobs, but with its defaults only after:

* the execution's expiry: ``get_heartbeat_ttl`` = min(job time left, 30 s) + a fixed 60 s;
* a maintenance pass: ``maintenance_interval`` defaults to 600 s, and an *idle* worker only
  looks at it between blocking dequeues of ``worker_ttl - 15`` = 405 s;
* the queue's maintenance lock (``Queue.acquire_maintenance_lock``, 899 s) being free: a
  worker killed during its own maintenance pass leaves it held for 15 minutes;
* a live scheduler to move the retry from the ScheduledJobRegistry to the queue.

That is 10-25 minutes.  ``QuietlineWorker`` below brings it under two minutes, each knob a
setting (``ivr.config``) so tests can use a few seconds:

* ``maintenance_interval`` = IVR_WORKER_MAINTENANCE_SECONDS (30), and the blocking dequeue
  never waits longer than that, so idle workers really run maintenance that often;
* the execution's expiry = IVR_WORKER_JOB_MONITORING_SECONDS (10, how often a busy worker
  heartbeats) + IVR_WORKER_ABANDON_GRACE_SECONDS (20, how late a heartbeat may be before the
  job counts as abandoned);
* a maintenance lock left by a dead worker is cut to one maintenance interval;
* ``worker_ttl`` = IVR_WORKER_TTL_SECONDS (60): a worker silent that long is dead (/health).

Worst case after a kill: 30 s (expiry) + 30 s (next maintenance) + 5 s (retry interval) + 1 s
(scheduler) ≈ 66 s.  If the killed worker was also running the scheduler, its scheduler lock
(``rq:scheduler-lock:<queue>``, ``interval + 60`` = 61 s) must expire first; a surviving worker
started *with* the scheduler takes it over at its next maintenance: ≈ 61 + 30 s.  Under ``make run``
the supervisor frees a dead scheduler's locks (``ivr.dev.serve``) and the restarted worker takes them
as it starts (≈ 2 s).  Workers run with ``--no-scheduler`` never take over, so keep at least two
workers that may schedule.

A retried escalation may run a second time after a first run that got partway: the job itself
is idempotent (one escalation per call and reason, one notification per person and channel).
An abandon grace that is too short would only cause such a harmless re-run of a slow job.

Speech jobs run in the worker process itself
--------------------------------------------
Jobs of the ``speech`` queue are not forked (``QuietlineWorker.execute_job``, as RQ's ``SimpleWorker``
runs every job): vosk builds its decoding graph lazily and caches it in each recogniser, and a forked
work horse would lose what it built with its exit, paying it again for every voicemail (about three times
the CPU on a 10 s message). In the worker the model and its recognisers live as long as the process. A
thread heartbeats meanwhile (as ``monitor_work_horse`` does for a horse), so a long transcription is never
taken for abandoned; the job's timeout is enforced by RQ's death penalty (SIGALRM) as in a horse. A crash
of vosk takes the worker down with the job: the job is then abandoned and retried as above.
"""
from __future__ import annotations

import argparse
import logging
import threading

from rq import Queue, Worker
from rq.executions import Execution
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus

from ivr.config import Settings
from ivr.jobs.enqueue import SPEECH_MODEL_QUEUE, SPEECH_QUEUE
from ivr.jobs.layout import default_queues, mixing_error
from workers import recordings
from workers.startup import ensure_chains, start_process

log = logging.getLogger(__name__)


class QuietlineWorker(Worker):
    """RQ's forking Worker with recovery timing from the settings, running speech jobs in its own process
    (see the module docstring)."""

    abandon_grace: int = 20
    in_process_queues: frozenset[str] = frozenset({SPEECH_QUEUE, SPEECH_MODEL_QUEUE})

    @classmethod
    def from_settings(cls, queues: list[Queue], settings: Settings, **kwargs) -> QuietlineWorker:
        worker = cls(queues, maintenance_interval=settings.worker_maintenance_seconds,
                     job_monitoring_interval=settings.worker_job_monitoring_seconds,
                     worker_ttl=settings.worker_ttl_seconds, **kwargs)
        worker.abandon_grace = settings.worker_abandon_grace_seconds
        return worker

    @property
    def dequeue_timeout(self) -> int:
        # RQ blocks for worker_ttl - 15 s waiting for a job and runs maintenance only between
        # waits: cap the wait so an idle worker's maintenance keeps its interval.
        # (Read in Worker.__init__ after maintenance_interval is set: socket timeout = this + 10.)
        return max(1, min(super().dequeue_timeout, int(self.maintenance_interval)))

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # How long a running job's execution stays in the StartedJobRegistry without a heartbeat.
        # RQ: min(time left before the job's timeout, monitoring interval) + 60.  Ours: the
        # monitoring interval (the job's own timeout is enforced in the work horse) + our grace.
        return int(self.job_monitoring_interval) + int(self.abandon_grace)

    def execute_job(self, job: Job, queue: Queue) -> None:
        if job.origin not in self.in_process_queues:
            super().execute_job(job, queue)
            return
        # As SimpleWorker.execute_job, with the heartbeats a forking worker sends while its horse works.
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeats, args=(job, execution, done), daemon=True,
                                name="rq-heartbeat")
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beat.join()
        self.set_state(WorkerStatus.IDLE)

    def _heartbeats(self, job: Job, execution: Execution, done: threading.Event) -> None:
        """Every monitoring interval until ``done``: the worker's, the execution's and the job's heartbeat."""
        while not done.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception:  # Redis away for a moment: the next beat tries again, the job goes on
                log.warning("heartbeat for job %s not sent", job.id, exc_info=True)

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        if SPEECH_MODEL_QUEUE in self.queue_names():
            # A speech worker with a model: messages a worker without one left (``no_model``) go on the queue only
            # workers with a model serve, this pass (at start too), so they are transcribed and crisis-checked
            # while this worker is alive (break test s24, S3).
            try:
                recordings.retry_left_without_model()
            except Exception:  # the database away for a moment: the next pass tries again, the worker goes on
                log.warning("voicemails left without a model not looked for this pass", exc_info=True)

    def clean_registries(self) -> None:
        # RQ's per-queue maintenance lock lives 899 s and is deleted when the pass ends; a
        # worker killed mid-pass would stop every worker's maintenance for 15 minutes.  A pass
        # takes milliseconds, so a lock older than one interval is cut down to one interval.
        # (EXPIRE ... LT would be atomic but needs Redis 7; the embedded server is 6.2.)
        limit = max(1, int(self.maintenance_interval))
        for queue in self.queues:
            if self.connection.ttl(queue.registry_cleaning_key) > limit:
                self.connection.expire(queue.registry_cleaning_key, limit)
        super().clean_registries()


def main(argv: list[str] | None = None) -> int:
    """Run an RQ worker with the installation's services (no Flask app), urgent queue first."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queues", default=None,
                        help="comma-separated queue names, highest priority first (default: urgent,calls); "
                             "speech only in a worker of its own (--queues speech)")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--no-scheduler", action="store_true", help="do not run RQ's scheduler in this worker")
    args = parser.parse_args(argv)
    requested = [n.strip() for n in args.queues.split(",") if n.strip()] if args.queues else None
    refused = mixing_error(requested) if requested else None
    if refused:
        # Before settings and Redis: a misconfigured unit fails at once, saying why, and never takes a job.
        logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
        log.error("%s", refused)
        return 2
    settings, ql = start_process()
    names = requested or default_queues(settings.queue_name)
    # Half-written recording files a killed rotation, copy or transcription left (bt13 s24 nit 6): gone now, not
    # an hour later at the purge.
    leftovers = ql.recording_files.remove_stale_parts(ql.clock().timestamp())
    if leftovers:
        log.info("removed %d half-written recording file(s) an interrupted write left", leftovers)
    if SPEECH_QUEUE in names:
        # Voicemails are transcribed on this queue: the model is loaded once here, before any job, and every
        # work horse RQ forks shares it. No model (or a broken one): said now, and messages go untranscribed.
        recordings.prepare_speech()
        if recordings.has_speech_model():
            # Only a worker with a model serves the queue of messages a worker without one left (``no_model``).
            names = [*names, SPEECH_MODEL_QUEUE]
        # Messages left untranscribed while no model was there (``no_model``) are transcribed now that one is.
        recordings.transcribe_awaiting_model()
    queues = [Queue(n, connection=ql.redis, serializer=JSONSerializer) for n in names]
    if not args.no_scheduler:
        # The reconciliation job reschedules itself; a starting worker makes sure the chain exists.
        ensure_chains(ql)
    worker = QuietlineWorker.from_settings(queues, settings, connection=ql.redis, serializer=JSONSerializer)
    worker.work(burst=args.burst, with_scheduler=not args.no_scheduler, logging_level=settings.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
