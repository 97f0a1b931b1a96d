"""Recordings (voicemails) copied from Twilio into recordings/, and transcribed offline when a model is installed."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from ivr import twilio_rest
from ivr.recording_files import recording_path, transcript_path

from .runtime import services

log = logging.getLogger(__name__)


__all__ = ["fetch_recording", "link_to_escalations", "recording_path", "transcribe_recording"]


def fetch_recording(call_sid: str, recording_sid: str) -> str:
    """Download a finished recording once, then transcribe it; returns the file path."""
    ql = services()
    settings = ql.settings
    dest = recording_path(settings.recordings_dir, call_sid, recording_sid)
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        url = f"{twilio_rest.REAL_API_URL}/2010-04-01/Accounts/{settings.twilio_account_sid}/Recordings/{recording_sid}"
        twilio_rest.download_recording(settings, url, dest)
    link_to_escalations(call_sid, recording_sid)
    transcribe_recording(dest)
    return str(dest)


def link_to_escalations(call_sid: str, recording_sid: str) -> int:
    """Point the call's escalations at its voicemail (one left after the escalation was created, too)."""
    from sqlalchemy import update

    from ivr.escalations.models import Escalation

    with services().extra["db"].sessions() as db, db.begin():
        result = db.execute(update(Escalation).where(Escalation.call_sid == call_sid,
                                                     Escalation.recording_sid.is_(None))
                            .values(recording_sid=recording_sid))
    return result.rowcount


def transcribe_recording(wav: Path) -> Path | None:
    """Write ``<recording>.txt`` beside the audio (owner-only); None when no model is installed.

    The transcript is a client's words: it goes to a file staff open deliberately, never to a log.
    """
    from ivr.speech import AudioFormatError, ModelNotFound, find_model, load_recognizer

    target = transcript_path(wav)
    if target.exists():
        return target
    try:
        recognizer = load_recognizer(find_model(None))
    except ModelNotFound:
        log.info("no speech model installed; recording kept without a transcript")
        return None
    try:
        transcript = recognizer.transcribe(wav)
    except AudioFormatError:
        log.warning("recording could not be decoded for transcription")
        return None
    partial = target.with_suffix(".txt.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(transcript.text + "\n")
    partial.replace(target)
    return target
