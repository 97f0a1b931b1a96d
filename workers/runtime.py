"""What a job may use: the services of the app the worker process was started with."""
from __future__ import annotations

from flask import current_app
from rq import get_current_job

from ivr import Quietline


def services() -> Quietline:
    """The running app's services; workers push an app context before working (see workers.run)."""
    return current_app.extensions["quietline"]


def retries_left() -> int:
    """How many more times RQ will run the current job (0 on its last try, or outside RQ)."""
    job = get_current_job()
    return int(job.retries_left or 0) if job is not None else 0


def fail_without_retry() -> None:
    """Make the exception about to be raised final: RQ records the job failed at once, without retrying."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0
