"""The tests' root configuration: the shared fixtures come from plugins (tests/plugins), helpers from
tests/helpers; here only the data key every process reads and the ``--wallclock`` option.

Fixture chain (tests/plugins/service.py): redis_server → redis_conn → app → client → sim, with the
Twilio REST stand-in; the clock is injected so business hours are deterministic.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest

from tests.helpers.service import DATA_KEY, RECORDINGS_KEY

# Call records in Redis are encrypted with it (ivr.encryption): every app and process the tests start reads it.
os.environ["IVR_DATA_KEY"] = DATA_KEY
# Voicemails and transcripts are sealed with it (ivr.encryption.FileCipher).
os.environ["IVR_RECORDINGS_KEY"] = RECORDINGS_KEY

pytest_plugins = [
    "tests.plugins.service",
    "tests.plugins.escalations",
    "tests.plugins.databases",
    "tests.plugins.processes",
]


WALLCLOCK_DIR = Path(__file__).resolve().parent / "wallclock"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--wallclock", metavar="ISO_INSTANT", default=None,
                     help="run every Python process of the session as if the wall clock read this instant "
                          "(e.g. 2026-11-26T11:00:00-05:00), running on from there: tests must pass at any moment")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "debian_root: installs into a fresh Debian root with mmdebstrap (minutes); "
                                       ".ci/run runs these in a phase of their own")
    config.addinivalue_line("markers", "wallclock: starts processes or RQ machinery that read the real clock; "
                                       ".ci/run runs these again with --wallclock inside business hours")
    instant = config.getoption("--wallclock")
    if not instant or os.environ.get("QUIETLINE_WALLCLOCK"):
        return
    aware = dt.datetime.fromisoformat(instant)
    if aware.utcoffset() is None:
        raise pytest.UsageError("--wallclock needs an instant with its UTC offset, e.g. 2026-11-26T11:00:00-05:00")
    # Anchored to the real clock now, so processes started later agree with this one (tests/wallclock).
    os.environ["QUIETLINE_WALLCLOCK"] = f"{aware.isoformat()}@{time.time()}"
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(WALLCLOCK_DIR), os.environ.get("PYTHONPATH")]))
    import runpy

    runpy.run_path(str(WALLCLOCK_DIR / "sitecustomize.py"))




def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``debian_root`` (a fresh Debian root and a real install: many minutes) run only when asked for
    by name (``-m debian_root``): .ci/run gives them a phase of their own, and ``make test`` stays quick."""
    if "debian_root" in (config.getoption("markexpr") or ""):
        return
    kept = [item for item in items if item.get_closest_marker("debian_root") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
