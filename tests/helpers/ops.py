"""Shared by the production-operations tests: the demo practice's line and settings built for a temporary
instance (backups, recordings and the environment file under one folder)."""
from __future__ import annotations

import datetime as dt
import itertools
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.config import Settings, load_settings
from ivr.ops.backup_crypto import BackupPrivateKey
from ivr.ops.install import Facts
from tests.helpers.service import DATA_KEY, RECORDINGS_KEY, TOKEN

# The demo practice's line (the stand-in's standalone process owns it too).
NUMBER = "+15555550100"

# The backup key pair of the tests' installations: the public half in their settings, the private half given to
# `backup verify`/`restore` (kept off the machine in production). Fixed, so archives name the same fingerprint.
BACKUP_KEY = BackupPrivateKey(bytes(range(1, 33)))
BACKUP_PUBLIC = BACKUP_KEY.public().text()

# Monday 23 November 2026, 10:00 in New York.
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)

# A machine the installer has never touched (Debian 12 with python3), and every package an install adds.
FRESH = Facts(os_id="debian", os_version="12", packages=frozenset({"python3"}), caddy_available=True,
              users=frozenset({"root", "redis"}), user_groups=frozenset(), files={}, dirs={}, links={},
              release_ready=False, pg_ready=False, schema_current=False, enabled_units=frozenset(),
              systemd_running=True)
ALL_PACKAGES = frozenset({"python3", "python3-venv", "redis-server", "caddy", "ca-certificates", "postgresql"})


def numbered_secrets():
    """A secret generator whose values say what they are (``data-1``, ``redis-2``): new values on every call."""
    counter = itertools.count(1)
    return lambda kind: f"{kind}-{next(counter)}"


def make_settings(base: Path, database_url: str, **overrides) -> Settings:
    """Settings for an instance under ``base``: ``backups/``, ``recordings/`` and ``quietline.env`` inside it;
    archives sealed for BACKUP_KEY."""
    values = {"twilio_auth_token": TOKEN, "data_key": DATA_KEY, "recordings_key": RECORDINGS_KEY,
              "backup_public_key": BACKUP_PUBLIC,
              "database_url": database_url, "backup_dir": str(base / "backups"),
              "recordings_dir": str(base / "recordings"), "env_file": str(base / "quietline.env")}
    values.update(overrides)
    return load_settings({}, values)


# --- backups (tests/ops/test_backup*.py)
NY = ZoneInfo("America/New_York")
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8


def fixed(instant: dt.datetime = NOW):
    return lambda: instant


def recording_sids(n: int) -> tuple[str, str]:
    return f"CA{n:032d}", f"RE{n:032d}"


def fresh_target(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database to restore into: a new SQLite file, or a new database on the second cluster."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/restored/quietline.db"
    server = request.getfixturevalue("second_cluster")
    name = f"r_{uuid.uuid4().hex[:12]}"
    server._admin(f'CREATE DATABASE "{name}"')
    # The dump names its schema; the restored service reads it through the same search_path.
    options = db_url.split("options=", 1)[1] if "options=" in db_url else ""
    url = f"postgresql+psycopg://postgres@/{name}?host={server.base}"
    return url + (f"&options={options}" if options else "")
