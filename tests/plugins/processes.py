"""Processes the tests start: a Redis that keeps its data across restarts, and the supervisor's scratch folder."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from ivr.dev.redis_server import EmbeddedRedis
from tests.helpers.processes import short_tmpdir
from tests.helpers.serve import Serve


@pytest.fixture
def aof_redis():
    """A Redis of our own with append-only persistence, as the project configures it."""
    directory = short_tmpdir("qlrel-")
    server = EmbeddedRedis(directory, appendonly=True).start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def serve_tmp():
    # Short path: the redis unix socket lives under it (sun_path holds 107 bytes).

    path = Path(tempfile.mkdtemp(prefix="qls-"))
    started: list[Serve] = []
    yield path, started
    for s in started:
        s.kill_everything()
    shutil.rmtree(path, ignore_errors=True)
