"""Voicemails kept like a clinical record: copied from Twilio sealed, checked, deleted at Twilio, transcribed,
triaged (crisis first) and purged on schedule.

``fetch_recording`` (one job per recording, ids only):

1. downloads the WAV into memory and writes it sealed (``ivr.escalations.recording_files``: AES-256-GCM
   under IVR_RECORDINGS_KEY), so a voicemail is never on disk in clear;
2. hands it on to staff: it joins the call's escalation, or the call is handed on
   (``CallHandler.recording_ready``: a voicemail escalation when nothing else carries it);
3. checks the copy: read back, decrypted, decoded as audio, its length no shorter than Twilio's (the recording
   callback's ``RecordingDuration``, else Twilio's metadata) nor than its own WAV header declares, and never
   taken on trust when no length is known; only then is ``delete_at_twilio`` enqueued (retried with backoff
   while Twilio refuses; the reconciliation job asks again for any left). A copy that does not check out
   keeps Twilio's, is never played as the message (the dashboard says why, in plain words) and is copied again,
   atomically over ours, on the fetch's retry schedule and then by the reconciliation job while Twilio has it;
   once a copy checks out it is transcribed afresh. After ``recordings.COPY_ATTEMPTS_MAX`` copies (every try counts)
   with none checking out, copying stops for good (the reconciliation job does not restart it): Twilio's copy is
   kept, never deleted unchecked, and the page tells staff so in plain words. A copy this server's recordings key
   cannot open (a key rotation the service has not caught up with) is kept as it is: its transcription is
   ``key_failed``, said on the page, and tried again (transcript and crisis check) by the reconciliation job and
   at speech-worker start;
4. enqueues ``transcribe_recording`` on the speech queue, served only by speech workers (``ivr.jobs.layout``:
   a long message never holds up an escalation or a staff alert): it transcribes
   with the vosk model the worker process loaded once at start (``prepare_speech``), in the worker process
   itself (``workers.run.QuietlineWorker.execute_job``) so that its recognisers, and the decoding graph vosk
   caches in them, serve every message; a message of 20 s or more is cut at its pauses into
   IVR_SPEECH_THREADS pieces decoded at once. The transcript is stored sealed with each word's confidence;
5. triages the transcript (``ivr.core.voicemail_triage``): a category for the escalation page and the
   crisis grade; a crisis becomes an urgent ``voicemail_crisis`` escalation at once, which pages the
   roster's crisis on-call like any crisis (folded into the call's own escalation, raised to an urgent crisis:
   one escalation, one page; ``ivr.escalations.create.merge_lost_message``). Each utterance is crisis-checked
   as soon as it is decoded, with everything said before it (a later piece's words only after the earlier
   pieces', so no sentence is judged cut at a piece boundary), so a crisis is paged before the rest of the
   message is decoded.

A copy Twilio refuses (404: still processing, or gone) hands the message on to staff at once (``hand_on``: the
dashboard says its audio is not available yet, call the client back) and is retried behind it. A recording Twilio
reported ``failed`` gets one try (a good copy wins over the callback), no retries.
One Twilio never lets us copy (it keeps answering 404, say) is marked ``failed`` after the last retry,
becomes a ``recording_failed`` escalation ("call the number back"; folded into the call's own
escalation when it has one: ``ivr.escalations.create.merge_lost_message``) and ends as a failed RQ job,
which ``/health`` reports (degraded) for a day. Without a speech model (or with a broken one), the
worker says so at start and messages still reach staff, untranscribed.

Nothing a periodic pass queues again loops for ever (fix13-left5): each transcription started with a model is
counted in the row (``Recording.transcribe_attempts``, before decoding, so a crash that takes the worker down counts
too); one that keeps raising (a corrupt file, a model that throws) is stopped after
``recordings.TRANSCRIBE_ATTEMPTS_MAX`` (the job's try and its two retries): ``failed``, the reason on the row
(``transcript_error``: the error's kind and the count), and staff have the message without a transcript, its call's
escalation raised to high priority and due within the unsure limit when nothing checked it for a crisis. No pass
looks for ``failed``, so neither the speech worker's maintenance pass nor the reconciliation job queues it again.
Each request to delete Twilio's copy is counted too (``twilio_delete_attempts``); after
``recordings.DELETE_ATTEMPTS_MAX`` refusals the note says deleting was given up (the dashboard tells staff to have it
deleted in Twilio's console) and the reconciliation job stops asking, after a purge as before it.

``purge_recordings`` runs hourly through RQ's scheduler (and removes ``.part`` files a killed write left, once
older than an hour): recordings older than the practice's
``voicemail.retention_days`` (90) whose call has no escalation resolved less than that long ago (an open
one keeps its message) lose their audio and transcript; each purge is an audit-log entry.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ivr.core import voicemail_triage
from ivr.core.crisis import CrisisCategory, CrisisLevel
from ivr.core.crisis_kind import CrisisKind
from ivr.core.escalation_policy import RECORDING_FAILED, VOICEMAIL, VOICEMAIL_CRISIS, unsure_deadline
from ivr.escalations import audit, recordings
from ivr.escalations.models import Recording, RecordingStatus, TranscriptStatus
from ivr.escalations.recording_files import StoredTranscript
from ivr.exceptions import (
    AudioFormatError,
    ModelNotFound,
    NotWired,
    RecordingUnavailable,
    RecordingUnreadable,
)
from ivr.jobs.enqueue import Enqueued
from ivr.speech.recognizer import VoskRecognizer, find_model, load_recognizer, probe_wav, wav_declared_seconds
from ivr.speech.warmup import warmup_speech
from ivr.speech_decoder import DEFAULT_DECODER
from ivr.telephony import twilio_rest
from workers.escalations import schedule_follow_ups
from workers.reconcile import next_run
from workers.runtime import retries_left, services

log = logging.getLogger(__name__)

__all__ = ["delete_at_twilio", "delete_purged_at_twilio", "fetch_recording", "hand_on", "has_speech_model",
           "link_to_escalations", "prepare_speech", "purge_recordings", "retry_left_without_model",
           "transcribe_awaiting_model", "transcribe_recording"]

# Our copy's length may exceed Twilio's rounded "duration" by this much and still check out.
LENGTH_TOLERANCE_SECONDS = 2.0
# How much shorter than each source's length our copy may be: Twilio gives whole seconds (rounding loses less
# than one); the WAV header gives the exact byte count (one frame's worth of slack).
SHORTFALL_TOLERANCE_SECONDS = {"callback": 1.0, "metadata": 1.0, "header": 0.05}
PURGE_SECONDS = 3600
PURGE_LOCK_KEY = "ql:purge-recordings:lock"
PURGE_LOCK_SECONDS = 1800
# A ``.part`` file (a write or download in progress) untouched this long was left by a killed process.
PART_LEFTOVER_SECONDS = 3600

# This process's speech model, by model folder: loaded once (``prepare_speech``, at worker start), used by every
# speech job, which runs in the worker process itself (``workers.run``), so its recognisers are kept too.
_speech: dict[str, tuple[VoskRecognizer | None, str]] = {}


def prepare_speech() -> str:
    """Load the vosk model for this process now (not per job); returns the line the worker logs at start.

    With no model, or one that does not load, transcription is off for this process, clearly logged,
    and voicemails still reach staff without a transcript.
    """
    return _speech_model()[1]


def transcribe_awaiting_model() -> int:
    """With a model loaded in this process, enqueue the transcription of every voicemail that went untranscribed
    for want of one (``no_model``); returns how many. Called as a speech worker starts."""
    if _recognizer() is None:
        return 0
    ql = services()
    waiting = recordings.awaiting_model(ql.database.sessions)
    for call_sid, recording_sid in waiting:
        # On the queue only workers with a model serve: a worker without one never takes it back to no_model.
        ql.jobs.transcribe_with_model(call_sid, recording_sid)
    if waiting:
        log.info("%d voicemail(s) left untranscribed (no speech model, or a recordings key that did not open them): "
                 "transcribing them now", len(waiting))
    return len(waiting)


def has_speech_model() -> bool:
    """Whether this process loaded a usable speech model (``prepare_speech``)."""
    return _recognizer() is not None


def retry_left_without_model() -> int:
    """With a model loaded in this process, enqueue again, on the ``speech-model`` queue (served only by speech
    workers with a model), the transcription of every voicemail a worker without a usable model left
    (``no_model``); returns how many were enqueued afresh. Called on each maintenance pass of a speech worker
    with a model (``workers.run``), so such a message is transcribed and crisis-checked while one is alive, not
    only when a speech worker starts (break test s24, S3). A job already queued or running is left as it is
    (one transcription per message at a time); once transcribed, the row is no longer ``no_model``."""
    if _recognizer() is None:
        return 0
    ql = services()
    enqueued = sum(ql.jobs.transcribe_with_model(call_sid, recording_sid).created
                   for call_sid, recording_sid in recordings.left_without_model(ql.database.sessions))
    if enqueued:
        log.info("%d voicemail(s) a speech worker without a model left untranscribed: transcribing them here",
                 enqueued)
    return enqueued


def _speech_model() -> tuple[VoskRecognizer | None, str]:
    try:
        path = find_model(None)
    except ModelNotFound as exc:
        return _speech_off(str(exc), "missing:" + str(exc))
    key = str(path)
    if key not in _speech:
        started = time.monotonic()
        try:
            recognizer = load_recognizer(path, _decoder())
            loaded = time.monotonic()
            # vosk composes its graph lazily, in each recogniser, as speech explores it: pay for the part ordinary
            # voicemails go through here (sentences in the practice's language), not on the first caller's
            # message, in as many recognisers as a long message's pieces take.
            language = _language()
            speech = warmup_speech(language)
            recognizer.warm_up(_threads(), speech)
        except (ModelNotFound, RuntimeError) as exc:
            return _speech_off(str(exc), key)
        warmed = (f"warmed up on {len(speech[0]) / 2 / speech[1]:.0f} s of speech in {language}" if speech else
                  f"warmed up on silence only (no espeak-ng, or no warm-up sentences for {language}): the first "
                  "message decodes slower")
        status = (f"voicemail transcription ready: vosk model {path} loaded in {loaded - started:.1f} s and "
                  f"{warmed} in {time.monotonic() - loaded:.1f} s, once for this worker (every job shares it; "
                  f"{_threads()} thread(s) per long message)")
        log.info("%s", status)
        _speech[key] = (recognizer, status)
    return _speech[key]


def _speech_off(reason: str, key: str) -> tuple[None, str]:
    if key not in _speech:
        status = (f"voicemail transcription is OFF: {reason.rstrip('.')}. Voicemails still reach staff, "
                  "without a transcript.")
        log.error("%s", status)
        _speech[key] = (None, status)
    return None, _speech[key][1]


def _recognizer() -> VoskRecognizer | None:
    return _speech_model()[0]


def _voicemail_kind(result: voicemail_triage.Triage) -> CrisisKind:
    """A crisis transcript's kind: its most urgent category, heard in a voicemail ("voicemail_harm_to_others")."""
    categories = result.crisis.categories or (CrisisCategory.UNSPECIFIED,)
    return CrisisKind.in_voicemail(categories[0])


def _language() -> str:
    """The practice's language (practice.yaml's ``language``, e.g. "ko-KR"), which its callers speak: the warm-up
    sentences' and the transcript triage's. "en-US" outside a worker (a script), or while the flows do not load
    (reported where they are served)."""
    try:
        ql = services()
    except NotWired:  # loaded outside a worker (a script), as _decoder and _threads
        return "en-US"
    # Flows that never loaded are not read again here (this runs once per decoded utterance); once loaded,
    # current() keeps the last good ones whatever the files become.
    return ql.flows.current().practice.language if ql.flows.loaded else "en-US"


def _decoder() -> str:
    """IVR_SPEECH_DECODER: the decoder's search settings (``ivr.speech_decoder``)."""
    try:
        return services().settings.speech_decoder
    except NotWired:  # loaded outside a worker (a script): the default
        return DEFAULT_DECODER


def _threads() -> int:
    """IVR_SPEECH_THREADS: the pieces a long message is decoded in at once."""
    try:
        return services().settings.speech_threads
    except NotWired:  # loaded outside a worker (a script): one piece
        return 1


def fetch_recording(call_sid: str, recording_sid: str) -> str:
    """Copy a finished recording (sealed), hand it on to staff, check it, and enqueue its deletion at Twilio and
    its transcription (the speech queue); returns the sealed file's path.

    Raises (so RQ retries with backoff) while Twilio does not give it; on the last try the recording is
    marked failed and escalated as ``recording_failed`` before raising ``RecordingUnavailable``.
    """
    ql = services()
    settings = ql.settings
    db = ql.database.sessions
    files = ql.recording_files
    recordings.note(db, call_sid, recording_sid, ql.clock())
    dest = files.audio_path(call_sid, recording_sid)
    if dest.exists() and recordings.copying_given_up(recordings.get(db, recording_sid)):
        # Given up (COPY_ATTEMPTS_MAX bad copies): never downloaded again, whatever started this job.
        log.warning("recording %s: copying was given up; Twilio's copy is kept", recording_sid)
        return str(dest)
    replacing = dest.exists() and not _copy_to_keep(call_sid, recording_sid)
    if replacing or not dest.exists():
        url = f"{twilio_rest.REAL_API_URL}/2010-04-01/Accounts/{settings.twilio_account_sid}/Recordings/{recording_sid}"
        try:
            wav = twilio_rest.fetch_recording_bytes(settings, url)
        except Exception as exc:
            error = _describe(exc)
            twilio_failed = recordings.status_of(db, recording_sid) == RecordingStatus.FAILED.value
            if retries_left() > 0 and not twilio_failed:
                recordings.mark_attempt(db, recording_sid, error)
                # The caller's message reaches staff now, not after the last retry (~22 min): the escalation
                # shows "audio not yet available, call the client back" while the copy is retried behind it.
                hand_on(call_sid, recording_sid)
                log.warning("recording %s not copied yet (%s); handed on to staff, will retry", recording_sid, error)
                raise
            if not twilio_failed:
                recordings.mark_failed(db, recording_sid, error, ql.clock())
            ql.calls.escalate_now(call_sid, RECORDING_FAILED)
            recordings.link(db, call_sid)
            log.error("recording %s of call %s could not be copied from Twilio (%s); escalated for a callback",
                      recording_sid, call_sid, error)
            if twilio_failed:
                return ""  # Twilio said it could not make the recording: nothing of ours failed
            raise RecordingUnavailable(f"recording {recording_sid}: {error}") from None
        files.write_audio(call_sid, recording_sid, wav)  # atomically over a bad copy: never half of either
        if replacing:
            log.info("recording %s: copied again from Twilio over a copy that did not check out", recording_sid)
    recordings.mark_fetched(db, recording_sid, ql.clock())
    hand_on(call_sid, recording_sid)
    if check_copy(call_sid, recording_sid) is not None:
        ql.jobs.delete_recording(call_sid, recording_sid)
        if replacing:
            # What was heard in the bad copy goes: the good one is transcribed and crisis-checked afresh.
            files.delete_transcript(call_sid, recording_sid)
            recordings.set_transcript_status(db, recording_sid, None)
            ql.jobs.transcribe_again(call_sid, recording_sid)
            return str(dest)
    elif _copies_exhausted(recording_sid):
        row = recordings.get(db, recording_sid)
        why = (row.twilio_delete_error or "").removeprefix(f"{recordings.COPY_FAILED_CHECK}: ") if row else ""
        recordings.give_up_copying(db, recording_sid, why)
        log.error("recording %s of call %s: %d copies from Twilio, none checked out; copying stopped, Twilio's copy "
                  "is kept", recording_sid, call_sid, recordings.COPY_ATTEMPTS_MAX)
    elif retries_left() > 0 and not _key_refuses(call_sid, recording_sid):
        # Transcribed (crisis first) from what we have meanwhile; copied again on the retry schedule while Twilio
        # still has it. Staff are told our copy did not check out (the row's note) and are not played it.
        ql.jobs.transcribe_recording(call_sid, recording_sid)
        raise AudioFormatError(f"recording {recording_sid}: our copy did not check out; copying it again")
    ql.jobs.transcribe_recording(call_sid, recording_sid)
    return str(dest)


def _copies_exhausted(recording_sid: str) -> bool:
    """Whether the recording was copied COPY_ATTEMPTS_MAX times (or more) and the last copy failed its check."""
    row = recordings.get(services().database.sessions, recording_sid)
    return (recordings.copy_failed_check(row) and row is not None
            and row.attempts >= recordings.COPY_ATTEMPTS_MAX)


def _copy_to_keep(call_sid: str, recording_sid: str) -> bool:
    """Whether the sealed copy already here is kept (not downloaded again): it checked out before, it checks out
    now, or this server's key cannot open it (a key problem, not a bad copy: ``key_failed``). A copy that fails
    its check is downloaded again while Twilio has it."""
    ql = services()
    row = recordings.get(ql.database.sessions, recording_sid)
    if row is not None and row.verified_at is not None:
        return True
    if _key_refuses(call_sid, recording_sid):
        return True
    return check_copy(call_sid, recording_sid) is not None


def _key_refuses(call_sid: str, recording_sid: str) -> bool:
    """Whether this server's recordings key fails to open our sealed copy (then it is kept, never replaced)."""
    try:
        services().recording_files.read_audio(call_sid, recording_sid)
    except RecordingUnreadable:
        return True
    except FileNotFoundError:
        return False
    return False


def transcribe_recording(call_sid: str, recording_sid: str) -> str:
    """The speech queue's job: transcribe (once) and triage a copied recording; returns the transcript status."""
    return transcribe_and_triage(call_sid, recording_sid, None)


def check_copy(call_sid: str, recording_sid: str) -> bytes | None:
    """Read our sealed copy back, decrypt and decode it, and check its length; the WAV bytes when it checks out
    (the row is marked verified: Twilio's copy may go), None when it does not (Twilio's copy is kept).

    The length is checked against every length known (``_expected_lengths``): Twilio's from the recording
    callback, else Twilio's metadata, and always the WAV header's own declared length. A copy shorter than any
    of them (a download cut short) does not check out; neither does one whose length nothing confirms.
    """
    ql = services()
    db = ql.database.sessions
    row = recordings.get(db, recording_sid)
    try:
        wav = ql.recording_files.read_audio(call_sid, recording_sid)
        seconds = probe_wav(wav, recording_sid)
        expected = _expected_lengths(row, recording_sid, wav)
        if not expected:
            raise AudioFormatError("its length could not be checked (Twilio's could not be read and the WAV "
                                   "header declares none)")
        for source, length in expected:
            short_by = SHORTFALL_TOLERANCE_SECONDS[source]
            if seconds < length - short_by or (source != "header" and seconds > length + LENGTH_TOLERANCE_SECONDS):
                raise AudioFormatError(f"{seconds:.1f} s of audio where "
                                       + ("its WAV header says" if source == "header" else "Twilio says")
                                       + f" {length:.1f} s")
    except (RecordingUnreadable, AudioFormatError, FileNotFoundError) as exc:
        recordings.mark_twilio_kept(db, recording_sid, f"our copy did not check out: {exc}")
        log.warning("recording %s: our copy did not check out (%s); Twilio's copy is kept", recording_sid,
                    type(exc).__name__)
        return None
    if row is None or row.verified_at is None:
        recordings.mark_verified(db, recording_sid, seconds, ql.clock())
    return wav


def _expected_lengths(row: Recording | None, recording_sid: str, wav: bytes) -> list[tuple[str, float]]:
    """(source, seconds) of the lengths our copy must have: Twilio's (``callback``, else ``metadata``: asked
    only when the callback gave none) and the WAV header's declared one (``header``) when it declares one."""
    found: list[tuple[str, float]] = []
    if row is not None and row.twilio_duration_seconds is not None:
        found.append(("callback", row.twilio_duration_seconds))
    else:
        metadata = _twilio_duration(recording_sid)
        if metadata is not None:
            found.append(("metadata", metadata))
    declared = wav_declared_seconds(wav)
    if declared is not None:
        found.append(("header", declared))
    return found


def _twilio_duration(recording_sid: str) -> float | None:
    """Twilio's length of the recording in seconds (None when it does not say)."""
    ql = services()
    try:
        found = twilio_rest.make_client(ql.settings).recordings(recording_sid).fetch()
    except Exception:
        log.warning("recording %s: Twilio's length could not be read", recording_sid)
        return None
    try:
        return float(found.duration) if found.duration not in (None, "", "-1") else None
    except (TypeError, ValueError):
        return None


def delete_at_twilio(call_sid: str, recording_sid: str) -> bool:
    """Delete Twilio's copy of a recording whose sealed copy checked out; True when it is gone from Twilio.

    Raises (so RQ retries with backoff) while Twilio refuses; the row keeps the error for the dashboard.
    Never deletes a recording whose copy did not check out.
    """
    ql = services()
    db = ql.database.sessions
    row = recordings.get(db, recording_sid)
    if row is None or row.verified_at is None:
        log.warning("recording %s: not deleted at Twilio, our copy has not checked out", recording_sid)
        return False
    if row.twilio_deleted_at is not None:
        return True
    return _delete(recording_sid, "")


def _delete(recording_sid: str, what: str) -> bool:
    """Ask Twilio to delete its copy, counted in the row (``recordings.start_deletion``): True once it is gone; False
    when deleting was given up (DELETE_ATTEMPTS_MAX requests refused: the note says so, and the reconciliation job
    stops asking); raises (so RQ retries with backoff) while Twilio refuses and requests are left."""
    ql = services()
    db = ql.database.sessions
    if not recordings.start_deletion(db, recording_sid):
        if not recordings.deleting_given_up(recordings.get(db, recording_sid)):
            recordings.give_up_deleting(db, recording_sid, "no request left")
        return False
    try:
        twilio_rest.delete_recording(twilio_rest.make_client(ql.settings), recording_sid)
    except Exception as exc:
        row = recordings.get(db, recording_sid)
        if row is not None and row.twilio_delete_attempts >= recordings.DELETE_ATTEMPTS_MAX:
            recordings.give_up_deleting(db, recording_sid, _describe(exc))
            log.error("recording %s%s: Twilio refused to delete its copy %d times (%s); deleting it stopped, staff "
                      "are told to have it deleted at Twilio", recording_sid, what, recordings.DELETE_ATTEMPTS_MAX,
                      _describe(exc))
            return False
        recordings.mark_twilio_kept(db, recording_sid, f"delete failed: {_describe(exc)}")
        log.warning("recording %s%s: Twilio's copy not deleted yet (%s)%s", recording_sid, what, _describe(exc),
                    "; will retry" if retries_left() > 0 else "; the reconciliation job will ask again")
        raise
    recordings.mark_twilio_deleted(db, recording_sid, ql.clock())
    return True


def transcribe_and_triage(call_sid: str, recording_sid: str, wav: bytes | None) -> str:
    """Transcribe (once) and triage a copied recording; returns its transcript status.

    A crisis becomes an urgent ``voicemail_crisis`` escalation (the roster's crisis on-call is paged).
    The transcript is a client's words: it goes to a sealed file, never to a log.
    """
    ql = services()
    db = ql.database.sessions
    files = ql.recording_files
    try:
        stored = files.read_transcript(call_sid, recording_sid)
    except RecordingUnreadable:
        return _key_failed(recording_sid)
    if stored is None:
        if wav is None:
            try:  # the key first: a message the key cannot open is that (its own state), with or without a model
                wav = files.read_audio(call_sid, recording_sid)
            except RecordingUnreadable:
                return _key_failed(recording_sid)
            except FileNotFoundError:
                pass
        recognizer = _recognizer()
        if recognizer is None:
            recordings.set_transcript_status(db, recording_sid, TranscriptStatus.NO_MODEL.value)
            return TranscriptStatus.NO_MODEL.value
        def crisis_early(heard: str) -> None:
            # A crisis is escalated as soon as its utterance is decoded, while the rest of the message still is
            # (called from the decoding threads, one at a time).
            if escalated:
                return
            graded = voicemail_triage.triage(heard, _language())
            if graded.is_crisis:
                escalated.append(True)
                # The kind first (never the words), so the escalation made from it names the kind.
                recordings.set_crisis_kind(db, recording_sid, _voicemail_kind(graded).value)
                _escalate_crisis(call_sid, recording_sid)

        escalated: list[bool] = []
        # Counted before decoding, in the row: a message that keeps failing (a corrupt file, a model that throws,
        # a crash that takes the worker down) is stopped after TRANSCRIBE_ATTEMPTS_MAX, whatever queued it again.
        before = recordings.start_transcription(db, recording_sid)
        if before is None:
            return _give_up_transcribing(call_sid, recording_sid, f"stopped after {recordings.TRANSCRIBE_ATTEMPTS_MAX}"
                                                                  " tries that did not finish")
        try:
            transcript = recognizer.transcribe_wav(wav if wav is not None else files.read_audio(call_sid,
                                                                                                  recording_sid),
                                                   recording_sid, on_segment=crisis_early, threads=_threads())
        except RecordingUnreadable:
            return _key_failed(recording_sid)
        except AudioFormatError as exc:
            log.warning("recording %s could not be decoded for transcription (%s)", recording_sid, type(exc).__name__)
            recordings.set_transcript_status(db, recording_sid, TranscriptStatus.FAILED.value)
            _reach_staff_unchecked(call_sid, recording_sid)
            return TranscriptStatus.FAILED.value
        except Exception as exc:
            tries = before + 1
            if tries >= recordings.TRANSCRIBE_ATTEMPTS_MAX:
                return _give_up_transcribing(call_sid, recording_sid, f"{type(exc).__name__}, {tries} tries")
            log.warning("recording %s: transcription failed (%s), try %d of %d", recording_sid, type(exc).__name__,
                        tries, recordings.TRANSCRIBE_ATTEMPTS_MAX)
            raise
        stored = StoredTranscript(transcript.text, transcript.confidence,
                                  tuple((w.word, w.conf) for w in transcript.words))
        files.write_transcript(call_sid, recording_sid, stored)
    recordings.transcribed(db, recording_sid)
    triage(call_sid, recording_sid, stored.text)
    return TranscriptStatus.DONE.value


def _give_up_transcribing(call_sid: str, recording_sid: str, why: str) -> str:
    """Stop transcribing a message for good (``failed``, ``why`` kept on the row: an error's kind and a count,
    never words); staff have it without a transcript (``_reach_staff_unchecked``). Returns ``failed``: the job ends
    there, and no pass queues it again (none looks for ``failed``)."""
    recordings.give_up_transcribing(services().database.sessions, recording_sid, why)
    log.error("recording %s of call %s: transcription stopped (%s); staff have the message without a transcript",
              recording_sid, call_sid, why)
    _reach_staff_unchecked(call_sid, recording_sid)
    return TranscriptStatus.FAILED.value


def _reach_staff_unchecked(call_sid: str, recording_sid: str) -> None:
    """A message with no transcript reaches staff all the same (its escalation, ``hand_on``); one nothing could
    check for a crisis (no triage, no crisis heard while it was decoded) is perhaps one: its call's escalations go
    up to high priority, due within the practice's unsure limit, their reminders moved to match, as for a
    transcript the crisis check was unsure of. A crisis heard before the failure was escalated (and paged) then."""
    ql = services()
    db = ql.database.sessions
    hand_on(call_sid, recording_sid)
    if not recordings.crisis_unchecked(recordings.get(db, recording_sid)) or not ql.flows.loaded:
        return
    _raise_priority(recordings.raise_unchecked, call_sid, recording_sid, "could not be checked for a crisis")


def _key_failed(recording_sid: str) -> str:
    """The server's recordings key does not open the message: its own state (``key_failed``), tried again (with the
    crisis check) when a speech worker starts and by the reconciliation job, so a key that opens it gets it done."""
    recordings.set_transcript_status(services().database.sessions, recording_sid, TranscriptStatus.KEY_FAILED.value)
    log.error("recording %s cannot be opened with this server's recordings key (IVR_RECORDINGS_KEY): not "
              "transcribed nor crisis-checked until the service runs with the key it was sealed with", recording_sid)
    return TranscriptStatus.KEY_FAILED.value


def triage(call_sid: str, recording_sid: str, text: str) -> voicemail_triage.Triage:
    """Grade a transcript, keep the category and crisis grade on the row, and escalate a crisis at once."""
    ql = services()
    result = voicemail_triage.triage(text, _language())
    kind = _voicemail_kind(result).value if result.is_crisis else None
    recordings.set_triage(ql.database.sessions, recording_sid, result.category.value, result.crisis.level.value, kind)
    if kind is not None:
        # A crisis escalation made already (the call's own, or from the message's first crisis words) names the
        # most urgent kind the whole message reads as; one made later reads it from the recording's row.
        recordings.name_crisis_kind(ql.database.sessions, call_sid, kind)
        _escalate_crisis(call_sid, recording_sid)  # once: the job id is unique per call and reason
    elif result.crisis.level is CrisisLevel.UNSURE:
        # Perhaps a crisis: not paged, but high priority (the queue card says why); an escalation created after
        # this gets it as it is created (ivr.escalations.create).
        _raise_priority(recordings.raise_for_unsure, call_sid, recording_sid, "may be about a crisis")
    elif recordings.copy_failed_check(recordings.get(ql.database.sessions, recording_sid)):
        # bt13-s26: a copy cut short (shorter than Twilio says) was graded on part of the message only: the rest
        # was not checked for a crisis, so it goes up as an unchecked one does (and stays up: a person listens).
        _raise_priority(recordings.raise_unchecked, call_sid, recording_sid,
                        "was checked for a crisis on a copy cut short only")
    return result


def _raise_priority(raise_rows: Callable[[sessionmaker[Session], str, dt.datetime], list[int]], call_sid: str,
                    recording_sid: str, why: str) -> None:
    """The call's escalations up to high priority, due within the practice's unsure limit (``raise_rows``: which
    ones, ``recordings.raise_for_unsure`` or ``raise_unchecked``), their reminders and breach check moved to match."""
    ql = services()
    raised = raise_rows(ql.database.sessions, call_sid, unsure_deadline(ql.flows.current().practice, ql.clock()))
    for escalation_id in raised:
        schedule_follow_ups(escalation_id)  # the reminders and breach check follow the earlier deadline
    if raised:
        log.warning("recording %s of call %s %s: its escalation is now high priority, due sooner", recording_sid,
                    call_sid, why)


def _escalate_crisis(call_sid: str, recording_sid: str) -> None:
    """An urgent ``voicemail_crisis`` escalation (the urgent queue; the roster's crisis on-call is paged)."""
    if services().calls.escalate_now(call_sid, VOICEMAIL_CRISIS).created:
        log.warning("recording %s of call %s reads as a crisis: urgent escalation", recording_sid, call_sid)


def hand_on(call_sid: str, recording_sid: str) -> None:
    """Attach the recording to the call's escalation (whose page lists every message of the call); with none, see
    that one comes (``recording_ready``); with every one resolved before this message was heard (a second message
    of the call), a ``voicemail`` escalation of its own, so it is in the queue."""
    ql = services()
    db = ql.database.sessions
    recordings.link(db, call_sid)
    if not recordings.has_escalation(db, call_sid):
        ql.calls.recording_ready(call_sid, recording_sid)
    elif recordings.left_after_resolution(db, call_sid, recording_sid):
        log.warning("recording %s of call %s came after its escalation was resolved: escalated on its own",
                    recording_sid, call_sid)
        ql.calls.escalate_now(call_sid, VOICEMAIL)


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


# --------------------------------------------------------------------------- retention

def ensure_purge_scheduled(ql: Any) -> Enqueued:
    """Schedule the next purge unless it is already (for a worker starting up)."""
    return ql.jobs.schedule_purge(next_run(ql.clock(), PURGE_SECONDS))


def purge_recordings() -> int:
    """Delete the audio and transcript of recordings past the practice's retention; returns how many.

    Each purge is an audit-log entry (``purge_voicemail``, by the system) committed with the row's
    ``purged_at``; files go first, so a run stopped half-way is finished by the next one.
    """
    ql = services()
    now = ql.clock()
    ensure_purge_scheduled(ql)
    # Half-written (sealed) files a killed write or download left behind: nothing else would ever remove them.
    leftovers = ql.recording_files.remove_stale_parts(now.timestamp(), PART_LEFTOVER_SECONDS)
    if leftovers:
        log.info("removed %d half-written recording file(s) left by an interrupted write", leftovers)
    if not ql.flows.loaded:
        log.error("recordings not purged: the practice settings do not load")
        return 0
    if not ql.redis.set(PURGE_LOCK_KEY, "1", nx=True, ex=PURGE_LOCK_SECONDS):
        return 0  # another run is purging
    try:
        days = ql.flows.current().practice.voicemail_retention_days
        done = 0
        for call_sid, recording_sid in recordings.due_for_purge(ql.database.sessions, now, dt.timedelta(days=days)):
            removed = ql.recording_files.delete(call_sid, recording_sid)
            with ql.database.sessions() as db, db.begin():
                row = db.get(Recording, recording_sid)
                if row is None or row.purged_at is not None:
                    continue
                row.purged_at = now
                audit.record(db, None, audit.Action.PURGE_VOICEMAIL, f"recording:{recording_sid}",
                             detail=f"call {call_sid}: {removed} file(s) deleted after {days} days' retention", at=now)
                at_twilio = row.twilio_deleted_at is None and row.status != "failed"
            if at_twilio:
                _purge_at_twilio(call_sid, recording_sid)
            done += 1
    finally:
        ql.redis.delete(PURGE_LOCK_KEY)
    if done:
        log.info("purged %d recording(s) past %d days' retention", done, days)
    return done


def _purge_at_twilio(call_sid: str, recording_sid: str) -> None:
    """Past retention, Twilio's copy goes too: asked now; while Twilio refuses, the purged row (purged, not deleted
    at Twilio) is the durable record of a remote copy to delete, retried by ``delete_purged_at_twilio`` on its
    schedule and then by the reconciliation job until Twilio answers 2xx or 404 (bt13 s24 nit 7)."""
    ql = services()
    try:
        _delete(recording_sid, " (purged)")
    except Exception:
        ql.jobs.delete_purged_recording(call_sid, recording_sid)


def delete_purged_at_twilio(call_sid: str, recording_sid: str) -> bool:
    """Delete Twilio's copy of a recording purged here past retention; True when it is gone (2xx, or 404: Twilio no
    longer had it). Raises (so RQ retries with backoff) while Twilio refuses; the reconciliation job asks again
    after the last retry (``recordings.purged_still_at_twilio``)."""
    ql = services()
    row = recordings.get(ql.database.sessions, recording_sid)
    if row is None or row.purged_at is None:
        return False  # not purged: the ordinary deletion (after our copy checks out) is the one to use
    if row.twilio_deleted_at is not None:
        return True
    return _delete(recording_sid, " (purged)")
