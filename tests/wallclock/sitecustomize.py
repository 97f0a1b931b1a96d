"""Tests only: move this Python process's wall clock to QUIETLINE_WALLCLOCK ("<ISO instant>@<real epoch>").

``pytest --wallclock 2026-11-26T11:00:00-05:00`` (tests/conftest.py) sets that variable and puts
this directory on PYTHONPATH, so every Python process of the run, pytest itself and every
``python -m ivr.dev.serve``, gunicorn, RQ worker and stand-in it starts, imports this at startup
and reads the same wall clock: the given instant at the given real moment, running on from
there.  time-machine moves only the wall clock (``time.time``, ``datetime.now``,
``date.today``…); monotonic clocks, sleeps and timeouts stay real.  libfaketime (Debian's
``faketime``) would reach non-Python processes too, but 0.9.10 hangs Python 3.11: a faked
CLOCK_MONOTONIC gives ``sem_clockwait`` deadlines decades away (every ``Event.wait``,
``Lock.acquire(timeout=…)`` and ``Thread.join`` never returns), and with
FAKETIME_DONT_FAKE_MONOTONIC=1 ``time.sleep`` fails with EINVAL.  Redis, PostgreSQL and
Chromium keep the real clock; nothing compares their clocks with ours.
"""
from __future__ import annotations

import os


def _travel() -> None:
    spec = os.environ.get("QUIETLINE_WALLCLOCK")
    if not spec:
        return
    import datetime as dt
    import time

    import time_machine

    instant, _, anchor = spec.partition("@")
    start = dt.datetime.fromisoformat(instant)
    if anchor:
        start += dt.timedelta(seconds=time.time() - float(anchor))
    time_machine.travel(start, tick=True).start()
    # time-machine starts ticking at the first read, not at start(): read now, or a process that first asks
    # the time seconds later (after its imports) would run that far behind the others.
    time.time()


_travel()
