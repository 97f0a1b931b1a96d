"""Voicemails on their way from Twilio to staff: the ``recordings`` rows and their link to escalations.

A row is written as soon as we hear of a recording (Twilio's recording-status
callback, the copying job, or the reconciliation job listing Twilio's recordings)
and moves ``pending`` → ``fetched`` (copied into recordings/) or ``failed`` (Twilio
would not give it to us, for good).  It is the durable evidence that a caller left
a message, whatever happened to Redis or to a job:

* the copying job and the escalation job both call ``link`` after their own commit,
  so whichever of the two finishes last attaches the message to the escalation (``recording_sid``: the call's
  first; the escalation's page lists every recording of its call, by call SID, since a caller may leave several:
  ``ivr.escalations.worklist.call_recordings``);
* the reconciliation job finds rows still ``pending`` with no job working on them,
  and rows whose call has no escalation at all.

Rows hold SIDs, a status and Twilio's error code: nothing a caller said, no number.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ivr.core import crisis_kind
from ivr.core.priority import Priority
from ivr.db.inserts import insert_ignoring_duplicates
from ivr.escalations.models import Escalation, EscalationStatus, Recording, RecordingStatus, TranscriptStatus

# A transcript the crisis check was unsure of (``Recording.crisis``): its call's escalation is high priority.
UNSURE = "unsure"

ERROR_MAX = 200


def note(db_sessions: sessionmaker[Session], call_sid: str, recording_sid: str, now: dt.datetime,
         twilio_seconds: float | None = None) -> bool:
    """Record that the call has this recording (``pending``); True when the row is new.

    One transaction (it runs on the recording-status webhook): a row already there, noted earlier or at the same
    moment by another process, is left as it is, except that it gets ``twilio_seconds`` if it has no length yet.
    ``twilio_seconds``: the length Twilio gave in the recording callback (``RecordingDuration``), kept for the copy
    check; a row noted first without it (by a job) gets it when the callback comes.
    """
    with db_sessions() as db, db.begin():
        new = insert_ignoring_duplicates(db, Recording, [{
            "sid": recording_sid, "call_sid": call_sid, "status": RecordingStatus.PENDING.value, "attempts": 0,
            "transcribe_attempts": 0, "twilio_delete_attempts": 0, "created_at": now,
            "twilio_duration_seconds": twilio_seconds}]) == 1
        if not new and twilio_seconds is not None:
            db.execute(update(Recording).where(Recording.sid == recording_sid,
                                               Recording.twilio_duration_seconds.is_(None))
                       .values(twilio_duration_seconds=twilio_seconds).execution_options(synchronize_session=False))
    return new


def status_of(db_sessions: sessionmaker[Session], recording_sid: str) -> str | None:
    """``pending``, ``fetched``, ``failed``, or None for a recording we never heard of."""
    with db_sessions() as db:
        return db.scalar(select(Recording.status).where(Recording.sid == recording_sid))


def mark_attempt(db_sessions: sessionmaker[Session], recording_sid: str, error: str) -> None:
    """A copy failed and will be tried again."""
    with db_sessions() as db, db.begin():
        db.execute(update(Recording).where(Recording.sid == recording_sid)
                   .values(attempts=Recording.attempts + 1, error=error[:ERROR_MAX])
                   .execution_options(synchronize_session=False))


def mark_fetched(db_sessions: sessionmaker[Session], recording_sid: str, now: dt.datetime) -> None:
    with db_sessions() as db, db.begin():
        db.execute(update(Recording).where(Recording.sid == recording_sid)
                   .values(status=RecordingStatus.FETCHED.value, fetched_at=now, error=None,
                           attempts=Recording.attempts + 1)
                   .execution_options(synchronize_session=False))


def mark_failed(db_sessions: sessionmaker[Session], recording_sid: str, error: str, now: dt.datetime) -> bool:
    """Twilio will not give us this recording: the dashboard says so instead of "still being copied".

    A recording already copied stays copied (a late ``failed`` callback never undoes a good copy): False then.
    """
    with db_sessions() as db, db.begin():
        return bool(db.execute(update(Recording).where(Recording.sid == recording_sid,
                                           Recording.status != RecordingStatus.FETCHED.value)
                   .values(status=RecordingStatus.FAILED.value, failed_at=now, error=error[:ERROR_MAX],
                           attempts=Recording.attempts + 1)
                   .execution_options(synchronize_session=False)).rowcount)


def link(db_sessions: sessionmaker[Session], call_sid: str) -> int:
    """Point the call's escalations that have no recording at its first one; returns how many changed. (Its
    other messages reach staff through the call SID: the page lists them all.)"""
    with db_sessions() as db, db.begin():
        first = db.scalar(select(Recording.sid).where(Recording.call_sid == call_sid)
                          .order_by(Recording.created_at, Recording.sid).limit(1))
        if first is None:
            return 0
        result = db.execute(update(Escalation).where(Escalation.call_sid == call_sid,
                                                     Escalation.recording_sid.is_(None))
                            .values(recording_sid=first).execution_options(synchronize_session=False))
        return result.rowcount


def left_after_resolution(db_sessions: sessionmaker[Session], call_sid: str, recording_sid: str) -> bool:
    """Whether the call's escalations were all resolved before this recording was noted: a later message of the
    call (a caller may leave several) that its resolved escalation would hide from staff. A copy made again of a
    message noted before the resolution is not (it was on the page when staff resolved it)."""
    with db_sessions() as db:
        noted = db.scalar(select(Recording.created_at).where(Recording.sid == recording_sid))
        rows = db.execute(select(Escalation.status, Escalation.resolved_at)
                          .where(Escalation.call_sid == call_sid)).all()
    if noted is None or not rows or any(status != EscalationStatus.RESOLVED.value for status, _ in rows):
        return False
    resolved = [at for _, at in rows if at is not None]
    return bool(resolved) and noted > max(resolved)


def of_call(db_sessions: sessionmaker[Session], call_sid: str) -> list[tuple[str, str]]:
    """(recording SID, status) of the call's recordings, oldest first."""
    with db_sessions() as db:
        return [tuple(r) for r in db.execute(select(Recording.sid, Recording.status)
                                             .where(Recording.call_sid == call_sid)
                                             .order_by(Recording.created_at, Recording.sid))]


def has_escalation(db_sessions: sessionmaker[Session], call_sid: str) -> bool:
    with db_sessions() as db:
        return db.scalar(select(exists().where(Escalation.call_sid == call_sid))) or False


def escalated_reasons(db_sessions: sessionmaker[Session], call_sids: list[str]) -> dict[str, set[str]]:
    """call SID → the reasons it has escalation rows for (only calls that have any)."""
    found: dict[str, set[str]] = {}
    with db_sessions() as db:
        for start in range(0, len(call_sids), 500):
            rows = db.execute(select(Escalation.call_sid, Escalation.reason)
                              .where(Escalation.call_sid.in_(call_sids[start:start + 500])))
            for call_sid, reason in rows:
                found.setdefault(call_sid, set()).add(reason)
    return found


def known(db_sessions: sessionmaker[Session], recording_sids: list[str]) -> dict[str, str]:
    """recording SID → status, for those we have a row for."""
    with db_sessions() as db:
        return dict(db.execute(select(Recording.sid, Recording.status).where(Recording.sid.in_(recording_sids))).all())


def stuck(db_sessions: sessionmaker[Session], noted_before: dt.datetime, limit: int = 200) -> list[tuple[str, str]]:
    """(call SID, recording SID) of rows still ``pending`` that were noted before ``noted_before``."""
    with db_sessions() as db:
        return [tuple(r) for r in db.execute(
            select(Recording.call_sid, Recording.sid)
            .where(Recording.status == RecordingStatus.PENDING.value, Recording.created_at < noted_before)
            .order_by(Recording.created_at).limit(limit))]


def unescalated(db_sessions: sessionmaker[Session], since: dt.datetime, settled_before: dt.datetime,
                limit: int = 200) -> list[tuple[str, str]]:
    """(call SID, recording SID) of copied (or failed) recordings noted since ``since`` whose call has no
    escalation at all, settled before ``settled_before`` (so the normal path had its chance)."""
    settled = (Recording.status != RecordingStatus.PENDING.value) & (
        ((Recording.fetched_at.is_not(None)) & (Recording.fetched_at < settled_before))
        | ((Recording.failed_at.is_not(None)) & (Recording.failed_at < settled_before)))
    with db_sessions() as db:
        return [tuple(r) for r in db.execute(
            select(Recording.call_sid, Recording.sid)
            .where(Recording.created_at >= since, settled,
                   ~exists().where(Escalation.call_sid == Recording.call_sid))
            .order_by(Recording.created_at).limit(limit))]


@dataclass(frozen=True)
class RecordingLog:
    """The ``recordings`` rows as the webhooks write them (``Services.recordings``): the edge notes what
    Twilio told it without knowing the schema."""

    db_sessions: sessionmaker[Session]

    def note(self, call_sid: str, recording_sid: str, now: dt.datetime, twilio_seconds: float | None = None) -> bool:
        """See :func:`note`."""
        return note(self.db_sessions, call_sid, recording_sid, now, twilio_seconds)

    def mark_failed(self, recording_sid: str, error: str, now: dt.datetime) -> bool:
        """See :func:`mark_failed`."""
        return mark_failed(self.db_sessions, recording_sid, error, now)


# --------------------------------------------------------------------------- kept like a clinical record

def mark_verified(db_sessions: sessionmaker[Session], recording_sid: str, duration_seconds: float,
                  now: dt.datetime) -> None:
    """Our sealed copy was read back, decrypted and decoded: Twilio's may now be deleted."""
    with db_sessions() as db, db.begin():
        db.execute(update(Recording).where(Recording.sid == recording_sid)
                   .values(verified_at=now, duration_seconds=round(duration_seconds, 2))
                   .execution_options(synchronize_session=False))


def mark_twilio_deleted(db_sessions: sessionmaker[Session], recording_sid: str, now: dt.datetime) -> None:
    with db_sessions() as db, db.begin():
        db.execute(update(Recording).where(Recording.sid == recording_sid)
                   .values(twilio_deleted_at=now, twilio_delete_error=None)
                   .execution_options(synchronize_session=False))


def mark_twilio_kept(db_sessions: sessionmaker[Session], recording_sid: str, error: str) -> None:
    """Twilio's copy is still there: why (a failed delete that will be retried, a copy that did not check out)."""
    with db_sessions() as db, db.begin():
        db.execute(update(Recording).where(Recording.sid == recording_sid)
                   .values(twilio_delete_error=error[:ERROR_MAX]).execution_options(synchronize_session=False))


def set_transcript_status(db_sessions: sessionmaker[Session], recording_sid: str, status: str | None) -> None:
    with db_sessions() as db, db.begin():
        db.execute(update(Recording).where(Recording.sid == recording_sid)
                   .values(transcript_status=status).execution_options(synchronize_session=False))


def set_triage(db_sessions: sessionmaker[Session], recording_sid: str, category: str, crisis: str,
               kind: str | None = None) -> None:
    """Keep a transcript's triage on its row: ``category``, the crisis grade and, for a crisis, its kind
    (``ivr.core.crisis_kind``: "voicemail_harm_to_others"; the more urgent of it and one kept already)."""
    with db_sessions() as db, db.begin():
        row = db.get(Recording, recording_sid, with_for_update=True)
        if row is None:
            return
        row.triage_category, row.crisis = category, crisis
        if kind is not None:
            kept = crisis_kind.graver(row.crisis_kind, kind)
            row.crisis_kind = kept.value if kept is not None else None


def name_crisis_kind(db_sessions: sessionmaker[Session], call_sid: str, kind: str) -> list[int]:
    """Name ``kind`` on the call's crisis escalations that exist already (the more urgent of it and the one they
    name: ``crisis_kind.graver``); returns the ids changed. A crisis escalation made later reads the recording's."""
    changed = []
    with db_sessions() as db, db.begin():
        for row in db.scalars(select(Escalation).where(Escalation.call_sid == call_sid,
                                                       Escalation.category == "crisis").with_for_update()):
            kept = crisis_kind.graver(row.crisis_kind, kind)
            if kept is not None and kept.value != row.crisis_kind:
                row.crisis_kind = kept.value
                changed.append(row.id)
    return changed


def set_crisis_kind(db_sessions: sessionmaker[Session], recording_sid: str, kind: str) -> None:
    """Keep the kind of crisis heard so far in a message still being decoded (the more urgent of it and the row's),
    before its crisis is escalated, so the escalation names it."""
    with db_sessions() as db, db.begin():
        row = db.get(Recording, recording_sid, with_for_update=True)
        if row is not None:
            kept = crisis_kind.graver(row.crisis_kind, kind)
            row.crisis_kind = kept.value if kept is not None else None


def get(db_sessions: sessionmaker[Session], recording_sid: str) -> Recording | None:
    """The row (detached), or None."""
    with db_sessions() as db:
        return db.get(Recording, recording_sid)


def still_at_twilio(db_sessions: sessionmaker[Session], copied_before: dt.datetime,
                    limit: int = 200) -> list[tuple[str, str]]:
    """(call SID, recording SID) of copies checked before ``copied_before`` whose Twilio copy was never deleted."""
    with db_sessions() as db:
        return [tuple(r) for r in db.execute(
            select(Recording.call_sid, Recording.sid)
            .where(Recording.verified_at.is_not(None), Recording.verified_at < copied_before,
                   Recording.twilio_deleted_at.is_(None), Recording.purged_at.is_(None),
                   Recording.twilio_delete_attempts < DELETE_ATTEMPTS_MAX)
            .order_by(Recording.verified_at).limit(limit))]


def purged_still_at_twilio(db_sessions: sessionmaker[Session], limit: int = 200) -> list[tuple[str, str]]:
    """(call SID, recording SID) of purged recordings whose Twilio copy is not known deleted (every delete so far
    failed; not a recording Twilio itself reported failed): the row is the durable "remote copy to delete"
    record, asked again by the reconciliation job until Twilio answers 2xx or 404."""
    with db_sessions() as db:
        return [tuple(r) for r in db.execute(
            select(Recording.call_sid, Recording.sid)
            .where(Recording.purged_at.is_not(None), Recording.twilio_deleted_at.is_(None),
                   Recording.status != RecordingStatus.FAILED.value,
                   Recording.twilio_delete_attempts < DELETE_ATTEMPTS_MAX)
            .order_by(Recording.purged_at).limit(limit))]


def due_for_purge(db_sessions: sessionmaker[Session], now: dt.datetime, retention: dt.timedelta,
                  limit: int = 500) -> list[tuple[str, str]]:
    """(call SID, recording SID) of recordings past retention: left more than ``retention`` ago, and every
    escalation of the call resolved more than ``retention`` ago (an open one keeps its message)."""
    cutoff = now - retention
    kept = exists().where(Escalation.call_sid == Recording.call_sid,
                          (Escalation.resolved_at.is_(None)) | (Escalation.resolved_at >= cutoff))
    with db_sessions() as db:
        return [tuple(r) for r in db.execute(
            select(Recording.call_sid, Recording.sid)
            .where(Recording.purged_at.is_(None), Recording.created_at < cutoff, ~kept)
            .order_by(Recording.created_at).limit(limit))]


def raise_for_unsure(db_sessions: sessionmaker[Session], call_sid: str, due: dt.datetime) -> list[int]:
    """The call's open or claimed escalations that are not urgent go up to high priority, and their deadline comes
    forward to ``due`` when later (``ivr.core.escalation_policy.unsure_deadline``), when a voicemail of the call
    reads as perhaps a crisis (the crisis check unsure); returns the ids of the rows changed."""
    with db_sessions() as db, db.begin():
        if not db.scalar(select(exists().where(Recording.call_sid == call_sid, Recording.crisis == UNSURE))):
            return []
        return _raise_to_high(db, call_sid, due)


def raise_unchecked(db_sessions: sessionmaker[Session], call_sid: str, due: dt.datetime) -> list[int]:
    """As ``raise_for_unsure``, for a voicemail that could not be checked for a crisis at all (its transcription
    failed, or was stopped after TRANSCRIBE_ATTEMPTS_MAX tries): perhaps a crisis, so a person listens soon."""
    with db_sessions() as db, db.begin():
        return _raise_to_high(db, call_sid, due)


def _raise_to_high(db: Session, call_sid: str, due: dt.datetime) -> list[int]:
    rows = db.scalars(select(Escalation).where(Escalation.call_sid == call_sid,
                                               Escalation.status != EscalationStatus.RESOLVED.value,
                                               Escalation.priority > Priority.URGENT.rank)
                      .order_by(Escalation.id).with_for_update()).all()
    changed = []
    for row in rows:
        before = (row.priority, row.deadline_at)
        row.priority = min(row.priority, Priority.HIGH.rank)
        if row.deadline_at is None or row.deadline_at > due:
            row.deadline_at = due
        if (row.priority, row.deadline_at) != before:
            changed.append(row.id)
    return changed


def awaiting_model(db_sessions: sessionmaker[Session], limit: int = 500) -> list[tuple[str, str]]:
    """(call SID, recording SID) of copied, unpurged recordings left untranscribed for want of a speech model
    (``no_model``) or of a key that opens them (``key_failed``), oldest first: to transcribe once a worker has
    one (a speech worker restarted with the model or the new key)."""
    with db_sessions() as db:
        return [tuple(r) for r in db.execute(
            select(Recording.call_sid, Recording.sid)
            .where(Recording.status == RecordingStatus.FETCHED.value,
                   Recording.transcript_status.in_((TranscriptStatus.NO_MODEL.value,
                                                    TranscriptStatus.KEY_FAILED.value)),
                   Recording.purged_at.is_(None))
            .order_by(Recording.created_at).limit(limit))]


def _fetched_and_waiting(db_sessions: sessionmaker[Session], status: TranscriptStatus,
                         limit: int) -> list[tuple[str, str]]:
    """(call SID, recording SID) of copied, unpurged recordings whose transcript is ``status``, oldest first."""
    with db_sessions() as db:
        return [tuple(r) for r in db.execute(
            select(Recording.call_sid, Recording.sid)
            .where(Recording.status == RecordingStatus.FETCHED.value,
                   Recording.transcript_status == status.value, Recording.purged_at.is_(None))
            .order_by(Recording.created_at).limit(limit))]


def left_without_model(db_sessions: sessionmaker[Session], limit: int = 200) -> list[tuple[str, str]]:
    """(call SID, recording SID) of copied, unpurged recordings a speech worker without a usable model took
    (``no_model``), oldest first: a speech worker with a model tries them again on each maintenance pass."""
    return _fetched_and_waiting(db_sessions, TranscriptStatus.NO_MODEL, limit)


def count_left_without_model(db_sessions: sessionmaker[Session]) -> int:
    """How many copied, unpurged recordings wait for a speech worker with a model (``no_model``): /health and the
    doctor say so when no such worker runs (``ivr.jobs.speech_backlog``)."""
    with db_sessions() as db:
        return db.scalar(select(func.count()).select_from(Recording).where(
            Recording.status == RecordingStatus.FETCHED.value,
            Recording.transcript_status == TranscriptStatus.NO_MODEL.value, Recording.purged_at.is_(None))) or 0


def key_failed(db_sessions: sessionmaker[Session], limit: int = 200) -> list[tuple[str, str]]:
    """(call SID, recording SID) of copied, unpurged recordings whose transcription failed on the recordings key
    (``key_failed``): the reconciliation job tries them again, so a key that opens them gets them transcribed and
    crisis-checked."""
    return _fetched_and_waiting(db_sessions, TranscriptStatus.KEY_FAILED, limit)


# The start of ``twilio_delete_error`` for a copy of ours that did not check out (``workers.recordings.check_copy``).
COPY_FAILED_CHECK = "our copy did not check out"
# How many times a recording is copied from Twilio (``Recording.attempts``: every try, a refusal included) before a
# copy that keeps failing its check is given up: two whole runs of the fetch job's retry schedule
# (``ivr.jobs.enqueue.FETCH_RETRY``: a try and five retries over about 22 minutes), the second one started by the
# reconciliation job. A download cut short by the network comes right within a few tries; twelve bad copies say
# Twilio's own file is bad (or something here is), and downloading a client's voice again every hour for ever
# helps nobody. Twilio's copy is then kept (never deleted unchecked) and staff are told so in plain words.
COPY_ATTEMPTS_MAX = 12
# What the note (``twilio_delete_error``) says once copying is given up; it still starts with COPY_FAILED_CHECK, so
# the copy is never played as the message.
COPY_GIVEN_UP = f"{COPY_FAILED_CHECK} after {COPY_ATTEMPTS_MAX} copies; copying stopped"


def copy_failed_check(row: Recording | None) -> bool:
    """Whether our copy of the recording failed its check (and has not checked out since): never played as the
    message, fetched again from Twilio."""
    return (row is not None and row.verified_at is None and row.purged_at is None
            and (row.twilio_delete_error or "").startswith(COPY_FAILED_CHECK))


def copying_given_up(row: Recording | None) -> bool:
    """Whether copying the recording from Twilio was given up: COPY_ATTEMPTS_MAX copies, none checked out."""
    return row is not None and copy_failed_check(row) and (row.twilio_delete_error or "").startswith(COPY_GIVEN_UP)


def give_up_copying(db_sessions: sessionmaker[Session], recording_sid: str, why: str) -> None:
    """Copying stops for good: the note says so (and why the last copy failed); Twilio's copy is kept."""
    mark_twilio_kept(db_sessions, recording_sid, f"{COPY_GIVEN_UP}: {why}")


def bad_copies(db_sessions: sessionmaker[Session], limit: int = 200) -> list[tuple[str, str]]:
    """(call SID, recording SID) of copied, unpurged recordings whose copy failed its check while Twilio still
    holds theirs, tried fewer than COPY_ATTEMPTS_MAX times: copied again by the reconciliation job (never one given
    up)."""
    with db_sessions() as db:
        return [tuple(r) for r in db.execute(
            select(Recording.call_sid, Recording.sid)
            .where(Recording.status == RecordingStatus.FETCHED.value, Recording.verified_at.is_(None),
                   Recording.twilio_deleted_at.is_(None), Recording.purged_at.is_(None),
                   Recording.twilio_delete_error.startswith(COPY_FAILED_CHECK),
                   ~Recording.twilio_delete_error.startswith(COPY_GIVEN_UP),
                   Recording.attempts < COPY_ATTEMPTS_MAX)
            .order_by(Recording.created_at).limit(limit))]


def untranscribed(db_sessions: sessionmaker[Session], since: dt.datetime, copied_before: dt.datetime,
                  limit: int = 200) -> list[tuple[str, str]]:
    """(call SID, recording SID) of recordings copied between ``since`` and ``copied_before`` that have no
    transcript status yet (their transcription job was lost)."""
    with db_sessions() as db:
        return [tuple(r) for r in db.execute(
            select(Recording.call_sid, Recording.sid)
            .where(Recording.status == RecordingStatus.FETCHED.value, Recording.transcript_status.is_(None),
                   Recording.purged_at.is_(None), Recording.created_at >= since,
                   Recording.fetched_at < copied_before)
            .order_by(Recording.created_at).limit(limit))]


# How many transcriptions of one message are started with a model (``Recording.transcribe_attempts``: every start
# counts, one a crash cut short too) before a transcription that keeps failing is stopped: the transcription job's
# own try and its two retries (``ivr.jobs.enqueue.Jobs.transcribe_recording``). A corrupt file or a model that
# throws fails the same way every time; the periodic passes (a speech worker's maintenance, the reconciliation job)
# would otherwise queue it again for ever. The message is then ``failed`` (why in ``transcript_error``) and staff
# have it without a transcript, raised as perhaps a crisis since nothing checked it.
TRANSCRIBE_ATTEMPTS_MAX = 3
# How many times Twilio is asked to delete its copy (``Recording.twilio_delete_attempts``) before the
# reconciliation job stops asking: four whole runs of the deletion's retry schedule (``ivr.jobs.enqueue.DELETE_RETRY``:
# a try and five retries). The row's note then says so, and the dashboard tells staff to have it deleted by hand.
DELETE_ATTEMPTS_MAX = 24
# The start of the note (``twilio_delete_error``) once deleting Twilio's copy is given up.
DELETE_GIVEN_UP = f"delete given up after {DELETE_ATTEMPTS_MAX} tries"


def start_transcription(db_sessions: sessionmaker[Session], recording_sid: str) -> int | None:
    """Count a transcription started with a model; returns how many were started before this one, or None when the
    limit (TRANSCRIBE_ATTEMPTS_MAX) was reached already (then nothing is counted: the caller stops)."""
    with db_sessions() as db, db.begin():
        row = db.get(Recording, recording_sid, with_for_update=True)
        if row is None:
            return 0
        before = row.transcribe_attempts or 0
        if before >= TRANSCRIBE_ATTEMPTS_MAX:
            return None
        row.transcribe_attempts = before + 1
        return before


def transcribed(db_sessions: sessionmaker[Session], recording_sid: str) -> None:
    """The message's transcript is stored (``done``): a later transcription (a good copy over a bad one) starts
    with a full TRANSCRIBE_ATTEMPTS_MAX again."""
    with db_sessions() as db, db.begin():
        db.execute(update(Recording).where(Recording.sid == recording_sid)
                   .values(transcript_status=TranscriptStatus.DONE.value, transcribe_attempts=0, transcript_error=None)
                   .execution_options(synchronize_session=False))


def give_up_transcribing(db_sessions: sessionmaker[Session], recording_sid: str, why: str) -> None:
    """The message's transcription is stopped for good: ``failed``, with why (an error's kind, never words)."""
    with db_sessions() as db, db.begin():
        db.execute(update(Recording).where(Recording.sid == recording_sid)
                   .values(transcript_status=TranscriptStatus.FAILED.value, transcript_error=why[:ERROR_MAX])
                   .execution_options(synchronize_session=False))


def crisis_unchecked(row: Recording | None) -> bool:
    """Whether nothing has graded the message for a crisis (no triage, no crisis heard while it was decoded)."""
    return row is not None and row.crisis is None and row.crisis_kind is None


def start_deletion(db_sessions: sessionmaker[Session], recording_sid: str) -> bool:
    """Count a request to Twilio to delete its copy; False (nothing counted) once DELETE_ATTEMPTS_MAX were made."""
    with db_sessions() as db, db.begin():
        row = db.get(Recording, recording_sid, with_for_update=True)
        if row is None:
            return True
        if (row.twilio_delete_attempts or 0) >= DELETE_ATTEMPTS_MAX:
            return False
        row.twilio_delete_attempts = (row.twilio_delete_attempts or 0) + 1
        return True


def give_up_deleting(db_sessions: sessionmaker[Session], recording_sid: str, why: str) -> None:
    """Deleting Twilio's copy stops: the note says so (and Twilio's last answer); the reconciliation job stops
    asking."""
    mark_twilio_kept(db_sessions, recording_sid, f"{DELETE_GIVEN_UP}: {why}")


def deleting_given_up(row: Recording | None) -> bool:
    return row is not None and (row.twilio_delete_error or "").startswith(DELETE_GIVEN_UP)


def count_deletions_given_up(db_sessions: sessionmaker[Session]) -> int:
    """How many recordings' copies Twilio still holds after DELETE_ATTEMPTS_MAX refused deletions (the doctor says
    so: only someone with access to Twilio's console can delete them now)."""
    with db_sessions() as db:
        return db.scalar(select(func.count()).select_from(Recording).where(
            Recording.twilio_deleted_at.is_(None), Recording.twilio_delete_error.startswith(DELETE_GIVEN_UP))) or 0
