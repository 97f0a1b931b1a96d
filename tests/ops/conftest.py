"""Fixtures of the production-operations tests: the app wired to the Twilio stand-in, with its own instance folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from ivr.app import create_app
from ivr.db import database as db_mod
from ivr.dev.redis_server import server_binary
from ivr.escalations.recording_files import RecordingFiles
from ivr.practice.demo import seed_demo
from tests.helpers.ops import BACKUP_PUBLIC, NOW, NY, WAV, make_settings, recording_sids
from tests.helpers.processes import short_tmpdir
from tests.helpers.service import RECORDINGS_KEY, TOKEN
from tests.plugins.databases import PostgresServer, pg_bindir, postgres_server

REDIS_PASSWORD = "doctor-test-redis-password-0123"


@pytest.fixture
def settings_overrides(settings_overrides):
    """The installation's backup public key (tests.helpers.ops.BACKUP_KEY's): archives are sealed, as installed."""
    return {**settings_overrides, "backup_public_key": BACKUP_PUBLIC}


@pytest.fixture
def make_app(settings_overrides, redis_conn, clock, database, standin, tmp_path):
    """An app built like the ``app`` fixture, with ``overrides`` on top and its instance folder in tmp_path."""
    default_database = database

    def make(redis: Redis | None = None, database=None, **overrides):
        application = create_app({**settings_overrides, **overrides}, redis=redis or redis_conn, clock=clock,
                                 strict_flows=True, database=database or default_database)
        application.config.update(TESTING=True)
        application.instance_path = str(tmp_path / "instance")
        return application

    standin.reset()
    return make


@pytest.fixture(scope="module")
def secured_redis():
    """A real redis-server configured as production wants it: AOF (everysec), noeviction, a password."""
    directory = short_tmpdir("qlops-")
    socket = Path(directory) / "redis.sock"
    process = subprocess.Popen(
        [server_binary(), "--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700",
         "--dir", str(directory), "--appendonly", "yes", "--appendfsync", "everysec",
         "--maxmemory-policy", "noeviction", "--requirepass", REDIS_PASSWORD, "--save", "",
         "--daemonize", "no", "--logfile", str(Path(directory) / "redis.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = Redis(unix_socket_path=str(socket), password=REDIS_PASSWORD)
    for _ in range(500):
        try:
            if conn.ping():
                break
        except Exception:
            time.sleep(0.02)
    yield conn
    try:
        conn.shutdown(nosave=True)
    except Exception:
        pass
    process.wait(10)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def production_redis(secured_redis):
    """The secured Redis, emptied and set back to its production settings after a test planted a fault."""
    secured_redis.flushall()
    yield secured_redis
    secured_redis.config_set("appendonly", "yes")
    secured_redis.config_set("maxmemory-policy", "noeviction")


@pytest.fixture
def practice(db_url: str, tmp_path: Path):
    """A migrated database with the demo practice, two voicemails, an environment file: (settings, database)."""
    database = db_mod.Database.from_url(db_url)
    db_mod.upgrade(database.engine)
    seed_demo(database.sessions, NOW, NY)
    settings = make_settings(tmp_path / "live", db_url)
    files = RecordingFiles.from_settings(settings.recordings_dir, settings.recordings_key)
    files.directory.mkdir(parents=True)
    for n in (1, 2):
        files.write_audio(*recording_sids(n), WAV)
    Path(settings.env_file).write_text(f"TWILIO_AUTH_TOKEN={TOKEN}\nIVR_RECORDINGS_KEY={RECORDINGS_KEY}\n")
    yield settings, database
    database.dispose()


@pytest.fixture(scope="module")
def second_cluster(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """Another throwaway PostgreSQL cluster (restores go to another server, as after losing the first)."""
    postgres_server(request)  # skips when PostgreSQL is not available
    server = PostgresServer(pg_bindir(), "postgres" if os.geteuid() == 0 else None)  # type: ignore[arg-type]
    server.start()
    yield server
    server.stop()
