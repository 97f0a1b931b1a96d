"""A moving wall clock for the development service and the tests (``--wallclock ISO``).

``start(instant)`` moves this process's wall clock to ``instant``, running on from there, and makes every
Python process started afterwards do the same (``sitecustomize.py`` here, on PYTHONPATH).  Needs
time-machine, a development dependency (requirements-dev.txt, installed by ``make run``); the service,
its workers and CLI never import this package (import contracts in pyproject.toml).
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import MutableMapping
from pathlib import Path

from ivr.dev.wallclock.sitecustomize import ENV, real_time, travel

DIR = Path(__file__).resolve().parent
INSTALL_HINT = "time-machine is not installed: run `make deps` (or .venv/bin/pip install -r requirements-dev.txt)"

__all__ = ["DIR", "ENV", "INSTALL_HINT", "WallclockError", "parse", "start"]


class WallclockError(ValueError):
    """A --wallclock that cannot be used: its message says why and what to do."""


def parse(value: str) -> dt.datetime:
    """``value`` (ISO 8601 with its UTC offset) as an aware datetime; WallclockError otherwise."""
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        instant = None
    if instant is None or instant.utcoffset() is None:
        raise WallclockError(f"--wallclock needs an ISO 8601 instant with its UTC offset, "
                             f"e.g. 2026-12-09T11:00:00-05:00 (got {value!r})")
    return instant


def start(instant: dt.datetime, environ: MutableMapping[str, str] = os.environ) -> None:
    """Run this process, and every Python process started from here on with ``environ``, on a wall clock
    that reads ``instant`` now and runs on.

    Raises WallclockError when time-machine is not installed (nothing is changed then).
    """
    try:
        real = real_time()
    except ImportError:
        raise WallclockError(INSTALL_HINT) from None
    # Anchored to the real clock now, so processes started later agree with this one.
    spec = f"{instant.isoformat()}@{real}"
    environ[ENV] = spec
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(DIR), environ.get("PYTHONPATH")]))
    travel(spec)
