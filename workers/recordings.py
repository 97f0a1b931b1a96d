"""Recordings (voicemails) copied from Twilio into recordings/, and transcribed offline when a model is installed.

Every recording reaches staff: once copied it joins the call's escalation, or the
call is handed on (``ivr.telephony.call_handler.CallHandler.recording_ready``: a voicemail
escalation when nothing else carries it).  One Twilio never lets us copy (it keeps
answering 404, say) is marked ``failed`` after the last retry, becomes a
``recording_failed`` escalation ("call the number back"; folded into the call's own escalation
when it has one: ``ivr.escalations.create.merge_lost_message``) and ends as a failed RQ job,
which ``/health`` reports (degraded) for a day.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from ivr.core.escalation_policy import RECORDING_FAILED
from ivr.escalations import recordings
from ivr.escalations.recording_files import recording_path, transcript_path
from ivr.exceptions import RecordingUnavailable
from ivr.private_files import private_dir
from ivr.speech.recognizer import (
    AudioFormatError,
    ModelNotFound,
    find_model,
    load_recognizer,
)
from ivr.telephony import twilio_rest
from workers.runtime import retries_left, services

log = logging.getLogger(__name__)


__all__ = ["fetch_recording", "hand_on", "link_to_escalations", "recording_path", "transcribe_recording"]


def fetch_recording(call_sid: str, recording_sid: str) -> str:
    """Download a finished recording once, hand it on to staff, then transcribe it; returns the file path.

    Raises (so RQ retries with backoff) while Twilio does not give it; on the last try
    the recording is marked failed and escalated as ``recording_failed`` before raising
    ``RecordingUnavailable``.
    """
    ql = services()
    settings = ql.settings
    db = ql.database.sessions
    recordings.note(db, call_sid, recording_sid, ql.clock())
    dest = recording_path(settings.recordings_dir, call_sid, recording_sid)
    if not dest.exists():
        private_dir(dest.parent)
        url = f"{twilio_rest.REAL_API_URL}/2010-04-01/Accounts/{settings.twilio_account_sid}/Recordings/{recording_sid}"
        try:
            twilio_rest.download_recording(settings, url, dest)
        except Exception as exc:
            error = _describe(exc)
            if retries_left() > 0:
                recordings.mark_attempt(db, recording_sid, error)
                log.warning("recording %s not copied yet (%s); will retry", recording_sid, error)
                raise
            recordings.mark_failed(db, recording_sid, error, ql.clock())
            ql.calls.escalate_now(call_sid, RECORDING_FAILED)
            recordings.link(db, call_sid)
            log.error("recording %s of call %s could not be copied from Twilio (%s); escalated for a callback",
                      recording_sid, call_sid, error)
            raise RecordingUnavailable(f"recording {recording_sid}: {error}") from None
    recordings.mark_fetched(db, recording_sid, ql.clock())
    hand_on(call_sid, recording_sid)
    transcribe_recording(dest)
    return str(dest)


def hand_on(call_sid: str, recording_sid: str) -> None:
    """Attach the recording to the call's escalation; with none, see that one comes (``recording_ready``)."""
    ql = services()
    db = ql.database.sessions
    recordings.link(db, call_sid)
    if not recordings.has_escalation(db, call_sid):
        ql.calls.recording_ready(call_sid, recording_sid)


def _describe(exc: Exception) -> str:
    """What went wrong, for the row and the log: Twilio's status and code, or the exception's kind."""
    from twilio.base.exceptions import TwilioRestException

    if isinstance(exc, TwilioRestException):
        return f"twilio {exc.status} code {exc.code}"
    return type(exc).__name__


def link_to_escalations(call_sid: str, recording_sid: str) -> int:
    """Point the call's escalations at its voicemail (one left after the escalation was created, too)."""
    ql = services()
    recordings.note(ql.database.sessions, call_sid, recording_sid, ql.clock())
    return recordings.link(ql.database.sessions, call_sid)


def transcribe_recording(wav: Path) -> Path | None:
    """Write ``<recording>.txt`` beside the audio (owner-only); None when no model is installed.

    The transcript is a client's words: it goes to a file staff open deliberately, never to a log.
    """
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
