"""Worker entry point: ``python -m workers.run [--queues urgent,calls] [--burst]``."""
from __future__ import annotations

import argparse

from rq import Queue, Worker
from rq.serializers import JSONSerializer

from ivr import create_app
from ivr.jobs import URGENT_QUEUE


def main(argv: list[str] | None = None) -> int:
    """Run an RQ worker inside the app's context, urgent queue first."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queues", default=None, help="comma-separated queue names, highest priority first")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--no-scheduler", action="store_true", help="do not run RQ's scheduler in this worker")
    args = parser.parse_args(argv)
    app = create_app()
    ql = app.extensions["quietline"]
    names = args.queues.split(",") if args.queues else [URGENT_QUEUE, ql.settings.queue_name]
    queues = [Queue(n, connection=ql.redis, serializer=JSONSerializer) for n in names]
    with app.app_context():
        worker = Worker(queues, connection=ql.redis, serializer=JSONSerializer)
        worker.work(burst=args.burst, with_scheduler=not args.no_scheduler, logging_level=ql.settings.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
