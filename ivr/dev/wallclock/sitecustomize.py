"""Move this Python process's wall clock to QUIETLINE_WALLCLOCK ("<ISO instant>@<real epoch>").

Development and tests only.  ``python -m ivr.dev.serve --wallclock ISO`` and ``pytest --wallclock ISO``
(both through ``ivr.dev.wallclock.start``) set that variable and put this directory on PYTHONPATH, so every
Python process they start (``python -m ivr.dev.serve``, gunicorn, RQ workers and scheduler, the stand-in)
imports this at startup as ``sitecustomize`` and reads the same wall clock: the given instant at the
given real moment, running on from there.  time-machine moves only the wall clock (``time.time``,
``datetime.now``, ``date.today``…); monotonic clocks, sleeps and timeouts stay real.  libfaketime (Debian's
``faketime``) would reach non-Python processes too, but 0.9.10 hangs Python 3.11: a faked
CLOCK_MONOTONIC gives ``sem_clockwait`` deadlines decades away (every ``Event.wait``,
``Lock.acquire(timeout=…)`` and ``Thread.join`` never returns), and with
FAKETIME_DONT_FAKE_MONOTONIC=1 ``time.sleep`` fails with EINVAL.  Redis, PostgreSQL and
Chromium keep the real clock; nothing compares their clocks with ours.

Self-contained (the standard library and time-machine only): it runs before ``ivr`` is importable.
"""
from __future__ import annotations

import os

ENV = "QUIETLINE_WALLCLOCK"


def real_time() -> float:
    """The real wall clock (epoch seconds), also in a process already moved (a service started from
    ``pytest --wallclock``).  Raises ImportError without time-machine."""
    import time

    from time_machine import escape_hatch

    return escape_hatch.time.time() if escape_hatch.is_travelling() else time.time()


def travel(spec: str | None) -> None:
    """Move this process's wall clock as ``spec`` ("<ISO instant>@<real epoch seconds>") says; nothing if empty.

    Raises ValueError for a malformed spec, ImportError when time-machine is not installed.
    """
    if not spec:
        return
    import datetime as dt

    import time_machine

    instant, _, anchor = spec.partition("@")
    start = dt.datetime.fromisoformat(instant)
    if anchor:
        start += dt.timedelta(seconds=real_time() - float(anchor))
    time_machine.travel(start, tick=True).start()
    # time-machine starts ticking at the first read, not at start(): read now, or a process that first asks
    # the time seconds later (after its imports) would run that far behind the others.
    import time

    time.time()


if __name__ == "sitecustomize":  # imported by `site` at startup; not when imported as ivr.dev.wallclock.sitecustomize
    travel(os.environ.get(ENV))
