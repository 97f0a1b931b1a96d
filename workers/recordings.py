"""Recordings (voicemails) copied from Twilio into recordings/."""
from __future__ import annotations

from pathlib import Path

from ivr import twilio_rest

from .runtime import services


def recording_path(recordings_dir: str, call_sid: str, recording_sid: str) -> Path:
    """Where a call's recording is kept."""
    return Path(recordings_dir) / f"{call_sid}-{recording_sid}.wav"


def fetch_recording(call_sid: str, recording_sid: str) -> str:
    """Download a finished recording once; returns the file path."""
    ql = services()
    settings = ql.settings
    dest = recording_path(settings.recordings_dir, call_sid, recording_sid)
    if dest.exists():
        return str(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    url = f"{twilio_rest.REAL_API_URL}/2010-04-01/Accounts/{settings.twilio_account_sid}/Recordings/{recording_sid}"
    twilio_rest.download_recording(settings, url, dest)
    return str(dest)
