"""Where a call's voicemail and its transcript are kept: written by the recording jobs, played by the dashboard."""
from __future__ import annotations

import re
from pathlib import Path

# Twilio SIDs are two letters and 32 hex digits; anything else must never become part of a path.
_SID = re.compile(r"[A-Za-z]{2}[0-9A-Za-z]{1,62}")


def recording_path(recordings_dir: str | Path, call_sid: str, recording_sid: str) -> Path:
    """The WAV file of one recording of one call."""
    for sid in (call_sid, recording_sid):
        if not _SID.fullmatch(sid or ""):
            raise ValueError("not a Twilio SID")
    return Path(recordings_dir) / f"{call_sid}-{recording_sid}.wav"


def transcript_path(wav: Path) -> Path:
    """The transcript written beside a recording (owner-only file)."""
    return wav.with_suffix(".txt")
