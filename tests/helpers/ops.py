"""Shared by the production-operations tests: the demo practice's line and settings built for a temporary
instance (backups, recordings and the environment file under one folder)."""
from __future__ import annotations

from pathlib import Path

from ivr.config import Settings, load_settings
from tests.helpers.service import DATA_KEY, RECORDINGS_KEY, TOKEN

# The demo practice's line (the stand-in's standalone process owns it too).
NUMBER = "+15555550100"


def make_settings(base: Path, database_url: str, **overrides) -> Settings:
    """Settings for an instance under ``base``: ``backups/``, ``recordings/`` and ``quietline.env`` inside it."""
    values = {"twilio_auth_token": TOKEN, "data_key": DATA_KEY, "recordings_key": RECORDINGS_KEY,
              "database_url": database_url, "backup_dir": str(base / "backups"),
              "recordings_dir": str(base / "recordings"), "env_file": str(base / "quietline.env")}
    values.update(overrides)
    return load_settings({}, values)
