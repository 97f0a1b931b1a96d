"""What a job may use: the services of the worker process (``ivr.services.Services``), and RQ's view of the job.

``workers.run`` builds the services once, without a Flask app, and installs them here before
working; the work horses RQ forks inherit them.  Tests running jobs in their own process
install their app's services the same way (``using``).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rq import get_current_job

from ivr.exceptions import NotWired
from ivr.services import Services

_installed: list[Services] = []


def install(services: Services) -> None:
    """Make ``services`` what every job of this process uses."""
    _installed[:] = [services]


@contextmanager
def using(services: Services) -> Iterator[Services]:
    """Jobs run inside the block use ``services`` (then whatever was installed before)."""
    before = list(_installed)
    install(services)
    try:
        yield services
    finally:
        _installed[:] = before


def services() -> Services:
    """The services of this worker process; NotWired when none were installed (see workers.run)."""
    if not _installed:
        raise NotWired("no services installed: start workers with `python -m workers.run`")
    return _installed[0]


def retries_left() -> int:
    """How many more times RQ will run the current job (0 on its last try, or outside RQ)."""
    job = get_current_job()
    return int(job.retries_left or 0) if job is not None else 0


def fail_without_retry() -> None:
    """Make the exception about to be raised final: RQ records the job failed at once, without retrying."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0
