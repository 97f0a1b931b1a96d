"""The tests' root configuration: the shared fixtures come from plugins (tests/plugins), helpers from
tests/helpers; here only the data key every process reads and the ``--wallclock`` option.

Fixture chain (tests/plugins/service.py): redis_server → redis_conn → app → client → sim, with the
Twilio REST stand-in; the clock is injected so business hours are deterministic.
"""
from __future__ import annotations

import os

import pytest

from ivr.dev import wallclock
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
    if not instant or os.environ.get(wallclock.ENV):
        return
    try:
        # Every process started from here on reads the same moving clock (ivr/dev/wallclock).
        wallclock.start(wallclock.parse(instant))
    except wallclock.WallclockError as exc:
        raise pytest.UsageError(str(exc)) from None
