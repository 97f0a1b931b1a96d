"""The reconciliation job: whatever path a promise or a message took, it ends as an escalation.

Every path a call can take is meant to hand its promises and messages to staff by
itself (the outbox, the status callback, the recording jobs).  This job is the net
under all of them, including paths nobody has thought of yet.  It runs every
IVR_RECONCILE_SECONDS through RQ's scheduler: each run first schedules the next one
(job id ``reconcile-<epoch seconds>``, on a grid so every worker that starts one
names the same instant, enqueued with RQ's ``unique``), then reads the durable evidence:

1. **Call records in Redis** (``ql:call:*``, kept IVR_SESSION_TTL_SECONDS after the
   last webhook): an outbox still holding entries is drained; a call no status
   callback ended (Redis was down, the callback was lost), once older than
   IVR_RECONCILE_GRACE_SECONDS, is looked up at Twilio and ended here if Twilio says
   it is over (or, if Twilio does not know it, once it is older than the longest call
   allowed), which keeps its promises (as it does again for every ended call: a promise
   without an escalation gets one); an ended call still waiting at a voicemail
   step whose recording was copied is taken on past it; every reason an ended call
   escalated without an ``escalations`` row has its job requeued (failed), enqueued
   again when RQ holds it in no queue or registry (queued, deferred, canceled or stopped
   over a half-written enqueue or a lost or emptied queue: ``Jobs.revive``), or enqueued
   afresh (lost).
2. **Recordings at Twilio** (the newest ``RECENT_RECORDINGS``): any we never heard
   of (every callback about it was lost) is noted and copied.
3. **The recordings table**: a ``pending`` row nobody is copying is copied again; a
   copied (or failed) one whose call has no escalation at all is handed on
   (``CallHandler.recording_ready``: a voicemail escalation when nothing else carries it); a copy
   that checked out whose Twilio copy is still there has its deletion asked again (until
   ``recordings.DELETE_ATTEMPTS_MAX`` requests were refused: then given up, and said on the dashboard), and one
   never transcribed is transcribed (and triaged; one whose transcription keeps raising is stopped by the job itself
   after ``recordings.TRANSCRIBE_ATTEMPTS_MAX`` tries, ``failed``, and not looked for again).

Everything it starts is idempotent (unique job ids, one escalation per call and
reason), so a run that overlaps another, or the normal path, does no harm.
Returns counts; logs no numbers, names or speech.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any

from ivr.core.call_state import Waiting
from ivr.core.escalation_policy import SYSTEM_ERROR
from ivr.escalations import recordings
from ivr.exceptions import CallRecordUnreadable
from ivr.jobs.enqueue import Enqueued, escalate_job_id, fetch_job_id, purged_delete_job_id
from ivr.telephony import twilio_rest
from workers.runtime import services

log = logging.getLogger(__name__)

RECENT_RECORDINGS = 200
# Recordings further back than this are left alone (the call's record is long gone by then).
LOOKBACK = dt.timedelta(days=2)
TERMINAL_CALL_STATUSES = ("completed", "busy", "failed", "no-answer", "canceled")


def reconcile() -> dict[str, int]:
    """One reconciliation pass (see the module docstring); returns what it did, as counts."""
    ql = services()
    now = ql.clock()
    ql.jobs.schedule_reconcile(next_run(now, ql.settings.reconcile_seconds))
    counts: Counter[str] = Counter()
    grace = dt.timedelta(seconds=ql.settings.reconcile_grace_seconds)
    twilio = _Twilio(ql)
    _calls(ql, now, grace, twilio, counts)
    _twilio_recordings(ql, now, twilio, counts)
    _recording_rows(ql, now, grace, counts)
    if counts:
        log.warning("reconciliation caught up: %s", dict(counts))
    return dict(counts)


def next_run(now: dt.datetime, every_seconds: int) -> dt.datetime:
    """The first multiple of ``every_seconds`` (since the epoch) after ``now``: the same instant for every worker."""
    every = max(1, int(every_seconds))
    return dt.datetime.fromtimestamp((int(now.timestamp()) // every + 1) * every, dt.UTC)


def ensure_scheduled(ql: Any) -> Enqueued:
    """Schedule the next run unless it is already (for a worker starting up)."""
    return ql.jobs.schedule_reconcile(next_run(ql.clock(), ql.settings.reconcile_seconds))


class _Twilio:
    """The REST client, made once per run and only if needed."""

    def __init__(self, ql: Any):
        self.ql = ql
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = twilio_rest.make_client(self.ql.settings)
        return self._client


def _calls(ql: Any, now: dt.datetime, grace: dt.timedelta, twilio: _Twilio, counts: Counter[str]) -> None:
    longest = dt.timedelta(seconds=ql.settings.max_call_seconds) + grace
    ended = []
    for call_sid in list(ql.call_store.call_sids()):
        try:
            session = ql.call_store.load(call_sid)
        except CallRecordUnreadable as exc:
            # Its promises cannot be read: staff call back (once per call; Twilio says who called).
            log.error("reconciliation: %s", exc)
            if ql.calls.escalate_now(call_sid, SYSTEM_ERROR).created:
                counts["unreadable records escalated"] += 1
            continue
        if session is None:
            continue
        if ql.call_store.outbox(call_sid):
            ql.calls.drain(call_sid)
            counts["outboxes drained"] += 1
        if not session.ended:
            age = now - dt.datetime.fromisoformat(session.started_at)
            if age < grace:
                continue
            try:
                found = twilio_rest.call_status(twilio.client, call_sid)
            except Exception:
                log.warning("reconciliation: could not ask Twilio about call %s", call_sid, exc_info=True)
                continue
            if found is not None and found[0] in TERMINAL_CALL_STATUSES:
                status = found[0]
            elif found is None and age > longest:
                status = "completed"  # Twilio does not know it, and no call lasts this long
            else:
                continue
            ql.calls.end(call_sid, status)
            counts["calls ended"] += 1
        else:
            # Ended already: its promises are kept again (a call recorded before they were, say).
            ql.calls.end(call_sid, session.end_reason or "completed")
        after = ql.call_store.load(call_sid)
        if after is None or not after.ended:
            continue
        if set(after.escalated) - set(session.escalated) and session.ended:
            counts["promises kept"] += 1
        ended.append(after)
    if not ended:
        return
    db = ql.database.sessions
    rows = recordings.escalated_reasons(db, [s.call_sid for s in ended])
    for session in ended:
        call_sid = session.call_sid
        if session.waiting is Waiting.RECORDING:
            copied = [sid for sid, status in recordings.of_call(db, call_sid) if status != "pending"]
            if copied:
                ql.calls.recording_ready(call_sid, copied[0])
                counts["messages handed on"] += 1
                session = ql.call_store.load(call_sid) or session
        for reason, priority in session.escalated.items():
            if reason in rows.get(call_sid, ()):
                continue
            status = ql.jobs.revive(escalate_job_id(call_sid, reason))
            if status is None:
                ql.jobs.escalate(call_sid, reason, priority)
                counts["escalations enqueued again"] += 1
            elif status == "failed":
                counts["escalations requeued"] += 1
            elif status == "stranded":
                counts["stranded escalations enqueued again"] += 1


def _twilio_recordings(ql: Any, now: dt.datetime, twilio: _Twilio, counts: Counter[str]) -> None:
    try:
        listed = twilio_rest.recent_recordings(twilio.client, RECENT_RECORDINGS)
    except Exception:
        log.warning("reconciliation: could not list Twilio's recordings", exc_info=True)
        return
    done = [(sid, call_sid) for sid, call_sid, status in listed if status in ("completed", "") and call_sid]
    if not done:
        return
    db = ql.database.sessions
    known = recordings.known(db, [sid for sid, _ in done])
    for sid, call_sid in done:
        if known.get(sid) in ("fetched", "failed"):
            continue
        if sid not in known:
            recordings.note(db, call_sid, sid, now)
            counts["recordings found at Twilio"] += 1
        _copy(ql, call_sid, sid, counts)


def _recording_rows(ql: Any, now: dt.datetime, grace: dt.timedelta, counts: Counter[str]) -> None:
    db = ql.database.sessions
    for call_sid, sid in recordings.stuck(db, now - grace):
        _copy(ql, call_sid, sid, counts)
    for call_sid, sid in recordings.unescalated(db, now - LOOKBACK, now - grace):
        try:
            session = ql.call_store.load(call_sid)
        except CallRecordUnreadable:
            session = None  # handed on as a voicemail of its own (recording_ready)
        if session is not None and session.escalated:
            continue  # its escalation is on its way (the calls pass above sees that its job exists)
        ql.calls.recording_ready(call_sid, sid)
        counts["messages handed on"] += 1
    # Copied messages never transcribed (the job lost or failed for good): transcribe (and triage) them.
    for call_sid, sid in recordings.untranscribed(db, now - LOOKBACK, now - grace):
        status = ql.jobs.revive(f"transcribe-{sid}")
        if status is None:
            ql.jobs.transcribe_recording(call_sid, sid)
        if status in (None, "failed", "stranded"):
            counts["transcriptions enqueued again"] += 1
    # Copies that did not check out while Twilio still has its own: copied again (over ours, atomically).
    for call_sid, sid in recordings.bad_copies(db):
        status = ql.jobs.revive(fetch_job_id(sid))
        if status not in (None, "failed", "stranded", "finished"):
            continue  # queued, scheduled for its retry or running
        if status == "finished":
            ql.jobs.cancel(fetch_job_id(sid))  # the same id, enqueued afresh
        if status in (None, "finished"):
            ql.jobs.fetch_recording(call_sid, sid)
        counts["bad copies copied again"] += 1
    # Transcriptions the recordings key refused (a rotation the service had not caught up with): tried again, so a
    # key that opens them now gets them transcribed and crisis-checked.
    for call_sid, sid in recordings.key_failed(db):
        ql.jobs.transcribe_again(call_sid, sid)
        counts["transcriptions refused by the key tried again"] += 1
    # Purged recordings whose Twilio copy is still there (every delete so far failed): the row is the durable
    # record; asked again until Twilio answers 2xx or 404 (bt13 s24 nit 7).
    for call_sid, sid in recordings.purged_still_at_twilio(db):
        status = ql.jobs.revive(purged_delete_job_id(sid))
        if status is None:
            ql.jobs.delete_purged_recording(call_sid, sid)
        if status in (None, "failed", "stranded"):
            counts["deletions at Twilio after a purge asked again"] += 1
    # Checked copies whose Twilio copy is still there (every delete retry failed): ask Twilio again.
    for call_sid, sid in recordings.still_at_twilio(db, now - grace):
        status = ql.jobs.revive(f"recording-delete-{sid}")
        if status is None:
            ql.jobs.delete_recording(call_sid, sid)
        if status in (None, "failed", "stranded"):
            counts["deletions at Twilio asked again"] += 1


def _copy(ql: Any, call_sid: str, recording_sid: str, counts: Counter[str]) -> None:
    """See that someone is copying the recording: a failed job is requeued, a lost one enqueued again."""
    status = ql.jobs.revive(fetch_job_id(recording_sid))
    if status is None:
        ql.jobs.fetch_recording(call_sid, recording_sid)
        counts["recordings copied again"] += 1
    elif status == "failed":
        counts["recording copies requeued"] += 1
    elif status == "stranded":
        counts["stranded recording copies enqueued again"] += 1
