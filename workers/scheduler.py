"""The scheduler role: ``python -m workers.scheduler`` (systemd's quietline-scheduler.service, compose's scheduler).

RQ's scheduler moves due jobs from each queue's ScheduledJobRegistry onto the queue: retries (an escalation 5 s
after a failure), the reconciliation chain, purges, follow-up planning passes, reminders. Workers started without
``--no-scheduler`` run one too (forked from the worker, as under ``make run``); RQ's lock per queue
(``rq:scheduler-lock:<queue>``, held ``interval + 60`` s and refreshed every pass) lets one schedule at a time.

In production each role is its own supervised process, so this one runs on its own. Unlike RQ's, it asks for the
locks it lacks on every pass, not once every 10 minutes (RQ's ``DEFAULT_SCHEDULER_FALLBACK_PERIOD``): restarted
after a ``kill -9`` it takes its queues back as soon as the dead one's lock expires (61 s at most), and it takes over
from a worker's scheduler that died the same way.
"""
from __future__ import annotations

import argparse
import logging

from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from ivr.jobs.enqueue import SPEECH_MODEL_QUEUE, SPEECH_QUEUE, URGENT_QUEUE
from workers.startup import ensure_chains, start_process

log = logging.getLogger(__name__)


class EagerScheduler(RQScheduler):
    """RQ's scheduler, asking for every lock it lacks on each pass (see the module docstring)."""

    @property
    def should_reacquire_locks(self) -> bool:
        return self._queue_names != self.acquired_locks


def main(argv: list[str] | None = None) -> int:
    """Run the scheduler for the urgent, calls and speech queues until SIGTERM (then its locks are released)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Whole seconds: RQ passes interval + 60 to EXPIRE, which takes an integer only.
    parser.add_argument("--interval", type=int, default=1, help="seconds between passes (default 1)")
    args = parser.parse_args(argv)
    settings, ql = start_process()
    # The self-rescheduling chains exist (a fresh Redis, a restored backup): as a starting worker does.
    ensure_chains(ql)
    scheduler = EagerScheduler([URGENT_QUEUE, settings.queue_name, SPEECH_QUEUE, SPEECH_MODEL_QUEUE],
                               connection=ql.redis, interval=args.interval, serializer=JSONSerializer,
                               logging_level=settings.log_level)
    log.info("scheduler started for %s", ", ".join(sorted(scheduler._queue_names)))
    scheduler.work()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
