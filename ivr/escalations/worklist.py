"""The staff queue: escalations by priority then deadline, claiming, resolving, and their details.

Claiming is one conditional UPDATE (``… WHERE status = 'open'``): when two staff
click at once the database lets exactly one row change, on SQLite and PostgreSQL
alike, so exactly one of them gets it.  Each action and its audit entry commit in
one transaction.
"""
from __future__ import annotations

import datetime as dt
import io
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session, object_session

from ivr.core import crisis_kind
from ivr.core.escalation_policy import Category
from ivr.core.events import DURING_GREETING
from ivr.core.flow import Flow
from ivr.core.timeline import describe, reason_label
from ivr.core.voicemail_triage import LABELS as TRIAGE_LABELS
from ivr.core.voicemail_triage import VoicemailCategory
from ivr.escalations import audit
from ivr.escalations.audit import Action, DbLike, session_scope
from ivr.escalations.models import (
    Escalation,
    EscalationStatus,
    OutcomeDraft,
    Recording,
    RecordingStatus,
    StaffUser,
)
from ivr.escalations.recording_files import RecordingFiles, StoredTranscript
from ivr.escalations.recordings import (
    COPY_FAILED_CHECK,
    COPY_GIVEN_UP,
    DELETE_GIVEN_UP,
    copy_failed_check,
    copying_given_up,
)
from ivr.exceptions import (
    EscalationConflict,
    EscalationForbidden,
    EscalationInvalid,
    EscalationNotFound,
    RecordingUnreadable,
    VoicemailUnplayable,
)
from ivr.practice import verification
from ivr.practice.models import ACTIVE, Appointment, Client, Clinician, VerificationLock

OUTCOME_MAX = 2000
PRIORITY_LABELS = {0: "Urgent", 1: "High", 2: "Normal"}
CATEGORY_LABELS = {
    Category.CALLBACK.value: "Callback request",
    Category.BILLING.value: "Billing",
    Category.PORTAL.value: "Portal / tech help",
    Category.RESCHEDULE_FAILED.value: "Could not reschedule",
    Category.VERIFICATION_FAILED.value: "Could not verify caller",
    Category.VOICEMAIL.value: "Voicemail",
    Category.CRISIS.value: "Crisis",
    Category.INTAKE.value: "New client",
    Category.OTHER.value: "Other",
}
# Reasons flows use, in the words staff read (categories read as CATEGORY_LABELS, others as their words).
REASON_LABELS = {**CATEGORY_LABELS, "call_limit": "Call went on too long", "system_error": "System error",
                 "recording_failed": "Voicemail could not be retrieved", "text_failed": "Text could not be sent",
                 "verification_ceiling": "Too many failed identity checks",
                 "voicemail_crisis": "Voicemail reads as a crisis",
                 "text_crisis": "Text reads as a crisis", "text_reply_unsure": "Text may be a crisis"}
RECORDING_FAILED_TEXT = "The voicemail could not be retrieved from Twilio \u2014 call the number back."
# Inside this much of the deadline an item is shown as due soon.
SOON = dt.timedelta(minutes=30)
# One-tap outcomes (key -> the text it puts in the Outcome box, which staff can edit before resolving).
# The key, never the text, goes into the audit log: the text is edited and may then name the client.
OUTCOME_PRESETS = {
    "called_back": "Called back and resolved.",
    "left_voicemail": "Called back and left a voicemail asking them to call us.",
    "booked": "Called back and booked an appointment.",
    "crisis_line": "Referred to the crisis line (988) and emergency services guidance.",
    "no_reach": "Could not reach them; tried the number on file.",
}
PRESET_LABELS = {
    "called_back": "Called back, resolved",
    "left_voicemail": "Left a voicemail",
    "booked": "Booked",
    "crisis_line": "Referred to crisis line",
    "no_reach": "Could not reach",
}


# --------------------------------------------------------------------------- time left

def _span(minutes: int) -> str:
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def time_left(deadline: dt.datetime, now: dt.datetime) -> str:
    """``due in 1 h 20 min``, ``overdue 5 min``, or ``due now`` within a minute either side."""
    seconds = (deadline - now).total_seconds()
    minutes = int(abs(seconds) // 60)
    if minutes == 0:
        return "due now"
    return f"due in {_span(minutes)}" if seconds > 0 else f"overdue {_span(minutes)}"


def urgency(deadline: dt.datetime, now: dt.datetime) -> str:
    """``overdue``, ``soon`` or ``ok``: how the queue colours the time left."""
    if deadline <= now:
        return "overdue"
    return "soon" if deadline - now <= SOON else "ok"


# --------------------------------------------------------------------------- listing

@dataclass(frozen=True)
class QueueItem:
    id: int
    category: str
    category_label: str
    reason: str
    priority: int
    priority_label: str
    status: str
    caller_masked: str
    created_at: dt.datetime
    deadline_at: dt.datetime
    claimed_by: int | None
    claimer_name: str | None
    resolved_at: dt.datetime | None
    time_left: str
    urgency: str
    claimed_at: dt.datetime | None = None
    # The call's voicemail may be about a crisis (the transcript's crisis check is unsure): said on the card.
    voicemail_unsure: bool = False
    # Its voicemail could not be copied from Twilio yet (a copy failed and is retried): staff call back without it.
    audio_not_yet: bool = False
    # A crisis's kind (ivr.core.crisis_kind: "harm_to_others") and its words for staff ("harm to others"); "" else.
    crisis_kind: str = ""
    crisis_kind_label: str = ""


def _audio_not_yet() -> Any:
    """Per escalation row: is a voicemail of its call (any of them: a caller may leave several) still at Twilio after
    a failed copy (retried; not failed for good)."""
    return (exists().where(Recording.call_sid == Escalation.call_sid, Recording.status == "pending",
                           Recording.attempts > 0)
            .correlate(Escalation).label("audio_not_yet"))


def _voicemail_unsure() -> Any:
    """Per escalation row: does its call have a voicemail whose transcript the crisis check was unsure of."""
    return (exists().where(Recording.call_sid == Escalation.call_sid, Recording.crisis == "unsure")
            .correlate(Escalation).label("voicemail_unsure"))


def _with_claimer_and_flags() -> Any:
    """Escalation rows with the name of whoever claimed each and its voicemail's unsure flag."""
    return (select(Escalation, StaffUser.name, _voicemail_unsure(), _audio_not_yet())
            .outerjoin(StaffUser, StaffUser.id == Escalation.claimed_by))


def _item(e: Escalation, claimer_name: str | None, now: dt.datetime, voicemail_unsure: bool = False,
          audio_not_yet: bool = False) -> QueueItem:
    return QueueItem(
        id=e.id, category=e.category, category_label=CATEGORY_LABELS.get(e.category, e.category.replace("_", " ")),
        reason=e.reason, priority=e.priority, priority_label=PRIORITY_LABELS.get(e.priority, str(e.priority)),
        status=e.status, caller_masked=e.caller_masked, created_at=e.created_at, deadline_at=e.deadline_at,
        claimed_by=e.claimed_by, claimer_name=claimer_name, resolved_at=e.resolved_at,
        time_left=time_left(e.deadline_at, now), urgency=urgency(e.deadline_at, now), claimed_at=e.claimed_at,
        voicemail_unsure=bool(voicemail_unsure), audio_not_yet=bool(audio_not_yet),
        crisis_kind=e.crisis_kind or "", crisis_kind_label=crisis_kind.label(e.crisis_kind),
    )


VIEWS = ("active", "open", "mine", "resolved")


def list_queue(db: DbLike, now: dt.datetime, *, view: str = "active", user_id: int | None = None,
               limit: int = 200) -> list[QueueItem]:
    """Escalations for one view of the queue.

    ``active`` (open and claimed), ``open`` and ``mine`` (claimed by ``user_id``)
    are sorted by priority (urgent first), then deadline (soonest first);
    ``resolved`` shows the most recently resolved first.
    """
    query = _with_claimer_and_flags()
    if view == "resolved":
        query = query.where(Escalation.status == EscalationStatus.RESOLVED.value).order_by(
            Escalation.resolved_at.desc(), Escalation.id.desc())
    else:
        if view == "open":
            statuses: Sequence[str] = (EscalationStatus.OPEN.value,)
        elif view == "mine":
            statuses = (EscalationStatus.CLAIMED.value,)
            query = query.where(Escalation.claimed_by == user_id)
        else:
            statuses = (EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value)
        query = query.where(Escalation.status.in_(statuses)).order_by(
            Escalation.priority, Escalation.deadline_at, Escalation.id)
    with session_scope(db) as session:
        rows = session.execute(query.limit(limit)).all()
        return [_item(e, name, now, unsure, not_yet) for e, name, unsure, not_yet in rows]


def counts(db: DbLike, user_id: int | None = None) -> dict[str, int]:
    """How many are open, claimed, and claimed by ``user_id``: the queue's tab badges."""
    with session_scope(db) as session:
        rows = session.execute(select(Escalation.status, Escalation.claimed_by).where(
            Escalation.status != EscalationStatus.RESOLVED.value)).all()
    return {
        "open": sum(1 for status, _ in rows if status == EscalationStatus.OPEN.value),
        "claimed": sum(1 for status, _ in rows if status == EscalationStatus.CLAIMED.value),
        "mine": sum(1 for status, by in rows if status == EscalationStatus.CLAIMED.value and by == user_id),
    }


def unclaimed_pressing(db: DbLike) -> int:
    """How many unclaimed escalations are urgent or high: the count in the dashboard's tab title."""
    with session_scope(db) as session:
        return len(session.execute(select(Escalation.id).where(
            Escalation.status == EscalationStatus.OPEN.value, Escalation.priority <= 1)).all())


def claimed_text(item: QueueItem, user_id: int | None, now: dt.datetime) -> str:
    """``claimed by you``, ``claimed by Robin just now`` (within the last minute), ``claimed by Robin``."""
    who = "you" if item.claimed_by == user_id else (item.claimer_name or "someone")
    recent = item.claimed_at is not None and dt.timedelta(0) <= now - item.claimed_at < dt.timedelta(minutes=1)
    return f"claimed by {who}{' just now' if recent else ''}"


def states_of(db: DbLike, ids: Sequence[int], user_id: int | None, now: dt.datetime) -> list[QueueItem]:
    """The escalations ``ids`` as they are now (any status): what became of items a page still shows."""
    if not ids:
        return []
    query = (_with_claimer_and_flags()
             .where(Escalation.id.in_(list(ids)[:500])).order_by(Escalation.id))
    with session_scope(db) as session:
        return [_item(e, name, now, unsure, not_yet) for e, name, unsure, not_yet in session.execute(query).all()]


# --------------------------------------------------------------------------- claim and resolve

def _target(escalation_id: int) -> str:
    return f"escalation:{escalation_id}"


def _get(session: Session, escalation_id: int) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise EscalationNotFound("There is no such escalation.")
    return escalation


def _why_not(session: Session, escalation_id: int) -> tuple[Escalation, str | None]:
    escalation = _get(session, escalation_id)
    name = session.scalar(select(StaffUser.name).where(StaffUser.id == escalation.claimed_by)) \
        if escalation.claimed_by is not None else None
    return escalation, name


def claim(db: DbLike, escalation_id: int, user_id: int, now: dt.datetime, ip: str | None = None) -> None:
    """Take an open escalation; Conflict if someone already has it (or it is resolved)."""
    with session_scope(db) as session:
        changed = session.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.OPEN.value)
            .values(status=EscalationStatus.CLAIMED.value, claimed_by=user_id, claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            escalation, name = _why_not(session, escalation_id)
            if escalation.status == EscalationStatus.RESOLVED.value:
                raise EscalationConflict("This escalation is already resolved.")
            if escalation.claimed_by == user_id:
                raise EscalationConflict("You have already claimed this escalation.")
            raise EscalationConflict(f"{name or 'Someone'} claimed this escalation first.")
        audit.record(session, user_id, Action.CLAIM, _target(escalation_id), ip=ip, at=now)


def resolve(db: DbLike, escalation_id: int, user_id: int, outcome: str, now: dt.datetime, *,
            is_owner: bool = False, ip: str | None = None, preset: str | None = None) -> None:
    """Close a claimed escalation with what was done; only its claimer, or an owner, may.

    ``preset``: the key of the one-tap outcome (``OUTCOME_PRESETS``) it started from, if any; the audit entry
    names it, and says when the text was edited.  Unknown keys raise EscalationInvalid.  Every draft of
    this escalation's outcome (anyone's) is deleted with it.
    """
    outcome = (outcome or "").strip()
    if not outcome:
        raise EscalationInvalid("Say what was done (the outcome) before resolving.")
    if len(outcome) > OUTCOME_MAX:
        raise EscalationInvalid(f"Keep the outcome under {OUTCOME_MAX} characters.")
    if preset is not None and preset not in OUTCOME_PRESETS:
        raise EscalationInvalid("That is not one of the one-tap outcomes.")
    with session_scope(db) as session:
        conditions = [Escalation.id == escalation_id, Escalation.status == EscalationStatus.CLAIMED.value]
        if not is_owner:
            conditions.append(Escalation.claimed_by == user_id)
        changed = session.execute(
            update(Escalation).where(*conditions)
            .values(status=EscalationStatus.RESOLVED.value, outcome=outcome, resolved_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            escalation, name = _why_not(session, escalation_id)
            if escalation.status == EscalationStatus.RESOLVED.value:
                raise EscalationConflict("This escalation is already resolved.")
            if escalation.status == EscalationStatus.OPEN.value:
                raise EscalationConflict("Claim this escalation before resolving it.")
            raise EscalationForbidden(f"{name or 'Someone else'} has claimed this escalation: "
                            "only they or an owner can resolve it.")
        # The outcome may name the client: the log says only that it was resolved, and by whom.
        claimer = _claimer(session, escalation_id)
        notes = [f"claimed by user {claimer}; resolved by an owner"] if claimer != user_id else []
        if preset is not None:
            edited = "" if outcome == OUTCOME_PRESETS[preset] else " (edited)"
            notes.append(f"outcome: {PRESET_LABELS[preset].lower()}{edited}")
        audit.record(session, user_id, Action.RESOLVE, _target(escalation_id), detail="; ".join(notes) or None,
                     ip=ip, at=now)
        session.execute(delete(OutcomeDraft).where(OutcomeDraft.escalation_id == escalation_id))


def _claimer(session: Session, escalation_id: int) -> int | None:
    return session.scalar(select(Escalation.claimed_by).where(Escalation.id == escalation_id))


# --------------------------------------------------------------------------- detail

@dataclass(frozen=True)
class TimelineRow:
    at: dt.datetime | None
    text: str


@dataclass(frozen=True)
class EscalationDetail:
    item: QueueItem
    reason_label: str  # the reason in plain words
    call_sid: str
    has_client: bool  # the caller was verified as a client: details can be opened deliberately
    timeline: list[TimelineRow]
    recording_sid: str | None
    claimed_at: dt.datetime | None
    outcome: str | None
    escalation_level: int
    breached_at: dt.datetime | None
    # pending (still being copied), fetched, failed (Twilio never gave it: call back), or None (unknown)
    recording_status: str | None = None
    # The caller left details for the callback (a new client's first name, best time): shown only on an audited
    # request (``callback_details``), never with the page itself.
    has_details: bool = False
    recording: RecordingInfo | None = None  # the voicemail's record (checked, at Twilio, triage, purged)
    # Every message the caller left in the call, oldest first (``recording_sid`` is the first): each reaches staff.
    messages: tuple[CallMessage, ...] = ()


@dataclass(frozen=True)
class CallMessage:
    """One voicemail of the escalation's call, as its page lists it: ``number`` of ``total`` (1-based)."""

    sid: str
    number: int
    total: int
    status: str | None  # pending, fetched, failed, or None (no row: a link older than the rows)
    recording: RecordingInfo | None


@dataclass(frozen=True)
class RecordingInfo:
    """What the escalation page says about its voicemail, besides the message itself (no words of it)."""

    still_at_twilio: bool  # copied here but Twilio's copy not deleted yet (or not copied yet)
    twilio_note: str | None  # why it is still there (a failed delete, a copy that did not check out)
    triage_label: str | None  # Reschedule, Cancel, Billing, Link or portal, Callback, Other
    crisis: str | None  # crisis | unsure | none (from the transcript)
    transcript_status: str | None  # done | no_model | failed
    purged_at: dt.datetime | None
    duration_seconds: float | None
    copy_failed_check: bool = False  # our copy did not check out: never played as the message, copied again
    transcript_error: str | None = None  # why transcription was stopped (an error's kind and a count)

    @property
    def twilio_words(self) -> str:
        """What "a copy is still at Twilio" means for staff, in plain words (``still_at_twilio`` only)."""
        return still_at_twilio_words(self.twilio_note)


def still_at_twilio_words(note: str | None) -> str:
    """Plain words for staff about the copy Twilio (the phone company) still holds of a message we copied.

    ``note`` (the row's ``twilio_delete_error``): ``delete failed: …`` (Twilio refused the deletion: retried on
    its own) or ``our copy did not check out: …`` (Twilio's is kept on purpose, since ours may be incomplete).
    """
    if note and note.startswith(COPY_GIVEN_UP):
        return GIVEN_UP_TEXT
    if note and note.startswith(DELETE_GIVEN_UP):
        return DELETE_GIVEN_UP_TEXT
    if note and note.startswith(COPY_FAILED_CHECK):
        return ("Our copy of this message failed its check (it may be cut short or damaged), so the original is "
                "kept at Twilio, the phone company, and Quietline copies it again on its own; it is not played "
                "here until a copy checks out. Call the client back meanwhile; tell the practice owner if this "
                "keeps happening.")
    if note:
        return ("The message is safely kept here. Twilio, the phone company, still holds a copy too, because "
                "deleting it there has not worked yet; Quietline keeps trying on its own. Nothing to do.")
    return ("The message is safely kept here. Twilio, the phone company, still holds a copy too, until "
            "Quietline deletes it there (within minutes). Nothing to do.")


def _recording_info(session: Session, recording_sid: str | None) -> RecordingInfo | None:
    row = session.get(Recording, recording_sid) if recording_sid else None
    if row is None:
        return None
    label = None
    if row.triage_category:
        try:
            label = TRIAGE_LABELS[VoicemailCategory(row.triage_category)]
        except ValueError:
            label = row.triage_category
    return RecordingInfo(
        still_at_twilio=row.twilio_deleted_at is None and row.status != RecordingStatus.FAILED.value,
        twilio_note=row.twilio_delete_error, triage_label=label, crisis=row.crisis,
        transcript_status=row.transcript_status, purged_at=row.purged_at, duration_seconds=row.duration_seconds,
        copy_failed_check=copy_failed_check(row), transcript_error=row.transcript_error)


def _timeline_row(entry: Any) -> TimelineRow:
    """Timeline entries are strings ("menu:1") or small dicts ({"at": …, "step": …}); show either."""
    if isinstance(entry, dict):
        at = None
        raw = entry.get("at")
        if isinstance(raw, str):
            try:
                at = dt.datetime.fromisoformat(raw)
                at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
            except ValueError:
                at = None
        text = entry.get("text") or ", ".join(f"{k}: {v}" for k, v in entry.items() if k != "at")
        return TimelineRow(at, str(text))
    return TimelineRow(None, str(entry))


def _timeline(entries: list[Any], flows: Mapping[str, Flow]) -> list[TimelineRow]:
    """Step entries in words (ivr.core.timeline), other rows as they are.

    ``describe`` reads the marker of a key pressed during the greeting into the next step's row and gives it no row of
    its own, so the marker is skipped here too (bt14-s26 blocker 1: a page with one raised StopIteration).
    """
    steps = [e for e in entries if isinstance(e, str)]
    words = iter(describe(steps, flows))
    return [TimelineRow(None, next(words)) if isinstance(e, str) else _timeline_row(e)
            for e in entries if e != DURING_GREETING]


def detail(db: DbLike, escalation_id: int, now: dt.datetime, *, user_id: int | None = None,
           ip: str | None = None, flows: Mapping[str, Flow] | None = None) -> EscalationDetail:
    """One escalation as the detail page shows it (masked caller, no client details).

    With ``user_id`` the view is audited (``view_escalation``): the timeline says
    that someone called and why, which is itself the practice's to guard. ``flows`` (the running ones)
    give the steps' labels; without them each step id is read in words.
    """
    with session_scope(db) as session:
        row = session.execute(
            _with_claimer_and_flags()
            .where(Escalation.id == escalation_id)).first()
        if row is None:
            raise EscalationNotFound("There is no such escalation.")
        e, name, unsure, not_yet = row
        if user_id is not None:
            audit.record(session, user_id, Action.VIEW_ESCALATION, _target(escalation_id), ip=ip, at=now)
        return EscalationDetail(
            item=_item(e, name, now, unsure, not_yet), reason_label=reason_label(e.reason, REASON_LABELS),
            call_sid=e.call_sid,
            has_client=e.client_id is not None, timeline=_timeline(e.timeline or [], flows or {}),
            recording_sid=e.recording_sid, has_details=bool(e.details),
            claimed_at=e.claimed_at, outcome=e.outcome, escalation_level=e.escalation_level,
            breached_at=e.breached_at,
            recording_status=session.scalar(select(Recording.status).where(Recording.sid == e.recording_sid))
            if e.recording_sid else None,
            recording=_recording_info(session, e.recording_sid),
            messages=_messages(session, e),
        )


def call_recordings(session: Session, escalation: Escalation) -> list[str]:
    """The SIDs of every voicemail of the escalation's call, oldest first: the one it is linked to
    (``recording_sid``) first when it has no row of its own."""
    sids = list(session.scalars(select(Recording.sid).where(Recording.call_sid == escalation.call_sid)
                                .order_by(Recording.created_at, Recording.sid)))
    if escalation.recording_sid and escalation.recording_sid not in sids:
        sids.insert(0, escalation.recording_sid)
    return sids


def _messages(session: Session, escalation: Escalation) -> tuple[CallMessage, ...]:
    sids = call_recordings(session, escalation)
    statuses = dict(session.execute(select(Recording.sid, Recording.status).where(Recording.sid.in_(sids))).all())
    return tuple(CallMessage(sid, number, len(sids), statuses.get(sid), _recording_info(session, sid))
                 for number, sid in enumerate(sids, start=1))


@dataclass(frozen=True)
class NextAppointment:
    start: dt.datetime
    clinician: str
    telehealth: bool


@dataclass(frozen=True)
class ClientDetails:
    client_id: str
    name: str
    date_of_birth: dt.date
    phones: list[str]
    next_appointment: NextAppointment | None


def caller_number(db: DbLike, escalation_id: int, user_id: int, now: dt.datetime, ip: str | None = None) -> str:
    """The full number the call came from, to call back; audited as ``view_caller_number``."""
    with session_scope(db) as session:
        escalation = _get(session, escalation_id)
        if not escalation.caller_number:
            raise EscalationNotFound("The caller's number was withheld: there is no number to show.")
        audit.record(session, user_id, Action.VIEW_CALLER_NUMBER, _target(escalation_id), ip=ip, at=now)
        return escalation.caller_number


def callback_details(db: DbLike, escalation_id: int, user_id: int, now: dt.datetime,
                     ip: str | None = None) -> dict[str, str]:
    """What the caller left for the callback (an intake request's ``first_name`` and ``best_time``, as said);
    audited as ``view_callback_details``. Only for a deliberate request, like ``client_details``.

    Raises NotFound when the escalation has none.
    """
    with session_scope(db) as session:
        escalation = _get(session, escalation_id)
        if not escalation.details:
            raise EscalationNotFound("The caller left no details for the callback.")
        audit.record(session, user_id, Action.VIEW_CALLBACK_DETAILS, _target(escalation_id), ip=ip, at=now)
        return {str(k): str(v) for k, v in dict(escalation.details).items()}


@dataclass(frozen=True)
class Voicemail:
    recording_sid: str
    transcript: StoredTranscript | None  # None when none was written (no speech model, not decodable)
    transcript_status: str | None = None  # done | no_model | failed
    seconds: float | None = None  # the message's length (None when unknown)
    # ``no_model``, but a speech worker with a model has queued it again (RQ's ``speech-model`` queue): being made.
    model_queued: bool = False

    @property
    def transcript_words(self) -> list[tuple[str, bool]]:
        """(word, unsure) for the page: words vosk was unsure of are marked."""
        return self.transcript.marked() if self.transcript is not None else []

    @property
    def length_text(self) -> str:
        """``0:05``, ``1:12``: the length as a player shows it (``?`` when unknown)."""
        if self.seconds is None:
            return "?"
        whole = int(round(self.seconds))
        return f"{whole // 60}:{whole % 60:02d}"


def voicemail(db: DbLike, escalation_id: int, files: RecordingFiles, *, user_id: int,
              now: dt.datetime, ip: str | None = None, recording_sid: str | None = None) -> Voicemail:
    """A message the caller left, and its transcript (decrypted); audited as ``listen_voicemail``.

    ``recording_sid``: which of the call's messages (a caller may leave several); None for the escalation's own
    (the first). The audit entry names the message when the call has more than one.
    Raises NotFound when no message was left (or ``recording_sid`` is not one of this call's), it has not been
    copied from Twilio yet, was purged, our copy did not check out (never played as the message: it is copied
    again), or it does not open with IVR_RECORDINGS_KEY.
    """
    with session_scope(db) as session:
        escalation = _get(session, escalation_id)
        call_sid, recording_sid = _voicemail_file(escalation, files, recording_sid)
        row = session.get(Recording, recording_sid)
        if copy_failed_check(row):
            raise VoicemailUnplayable(GIVEN_UP_TEXT if copying_given_up(row) else BAD_COPY_TEXT)
        try:
            files.read_audio(call_sid, recording_sid)
            transcript = files.read_transcript(call_sid, recording_sid)
        except RecordingUnreadable:
            raise VoicemailUnplayable(UNREADABLE_TEXT) from None
        sids = call_recordings(session, escalation)
        which = (f"message {sids.index(recording_sid) + 1} of {len(sids)} ({recording_sid})"
                 if len(sids) > 1 and recording_sid in sids else None)
        audit.record(session, user_id, Action.LISTEN_VOICEMAIL, _target(escalation_id), detail=which, ip=ip, at=now)
        seconds = row.duration_seconds if row is not None else None
        if seconds is None:  # copied before its length was recorded (0008): read it from the WAV header
            seconds = _wav_seconds(files, call_sid, recording_sid)
        return Voicemail(recording_sid, transcript, row.transcript_status if row is not None else None, seconds)


def _wav_seconds(files: RecordingFiles, call_sid: str, recording_sid: str) -> float | None:
    """The message's length in seconds from its (decrypted) WAV header; None when it cannot be read."""
    try:
        with wave.open(io.BytesIO(files.read_audio(call_sid, recording_sid)), "rb") as wav:
            return wav.getnframes() / float(wav.getframerate())
    except (OSError, EOFError, wave.Error, ZeroDivisionError, RecordingUnreadable):
        return None


def voicemail_audio(db: DbLike, escalation_id: int, files: RecordingFiles, recording_sid: str | None = None) -> bytes:
    """The WAV of a message of the call (``recording_sid``; None: the escalation's own), decrypted in memory for a
    player already granted it (not audited again); never a copy that did not check out."""
    with session_scope(db) as session:
        call_sid, recording_sid = _voicemail_file(_get(session, escalation_id), files, recording_sid)
        row = session.get(Recording, recording_sid)
        if copy_failed_check(row):
            raise EscalationNotFound(GIVEN_UP_TEXT if copying_given_up(row) else BAD_COPY_TEXT)
    try:
        return files.read_audio(call_sid, recording_sid)
    except RecordingUnreadable:
        raise EscalationNotFound(UNREADABLE_TEXT) from None


UNREADABLE_TEXT = ("This voicemail cannot be opened with this server's recordings key: restart the service with "
                   "the new key (IVR_RECORDINGS_KEY, the key the recordings were re-encrypted with first). Until "
                   "then it is neither played, transcribed nor checked for a crisis: call the client back.")
BAD_COPY_TEXT = ("Our copy of this message failed its check (it may be cut short or damaged), so it is not played "
                 "here: Quietline is copying it again from Twilio, the phone company, on its own. Call the client "
                 "back meanwhile.")

DELETE_GIVEN_UP_TEXT = ("The message is safely kept here. Twilio, the phone company, still holds a copy too: it "
                        "refused to delete it again and again, so Quietline has stopped asking. Tell the practice "
                        "owner: it must be deleted in Twilio's console.")

GIVEN_UP_TEXT = ("Every copy of this message we got from Twilio, the phone company, failed its check (cut short or "
                 "damaged), so Quietline has stopped copying it and it is not played here. The original is still "
                 "kept at Twilio and is not deleted. Call the client back, and tell the practice owner: it can be "
                 "listened to in Twilio's console.")


def _voicemail_file(escalation: Escalation, files: RecordingFiles, recording_sid: str | None = None) -> tuple[str, str]:
    """(call SID, recording SID) of the message to play: ``recording_sid`` when it is one of the call's, else the
    escalation's own (or the call's first). Raises NotFound (with why, in plain words) when there is none to play."""
    session = object_session(escalation)
    sids = call_recordings(session, escalation) if session is not None else (
        [escalation.recording_sid] if escalation.recording_sid else [])
    if recording_sid is None:
        recording_sid = escalation.recording_sid or (sids[0] if sids else None)
    if not recording_sid:
        raise EscalationNotFound("No voicemail was left on this call.")
    if recording_sid not in sids:
        raise EscalationNotFound("This voicemail cannot be found.")
    try:
        present = files.has_audio(escalation.call_sid, recording_sid)
    except ValueError:
        raise EscalationNotFound("This voicemail cannot be found.") from None
    if not present:
        row = session.get(Recording, recording_sid) if session is not None else None
        if row is not None and row.status == RecordingStatus.FAILED.value:
            raise EscalationNotFound(RECORDING_FAILED_TEXT)
        if row is not None and row.purged_at is not None:
            raise EscalationNotFound("This voicemail was deleted under the practice's retention period.")
        raise EscalationNotFound("The voicemail is still being copied from Twilio. Try again in a minute.")
    return escalation.call_sid, recording_sid


def client_details(db: DbLike, escalation_id: int, user_id: int, now: dt.datetime,
                   ip: str | None = None) -> ClientDetails:
    """The verified caller's name, birth date, numbers and next appointment; audited as ``view_client``.

    Only ever called for a deliberate request (a POST from the detail page), so
    the log shows exactly who looked at whose details and when.
    """
    with session_scope(db) as session:
        escalation = _get(session, escalation_id)
        if escalation.client_id is None:
            raise EscalationNotFound("The caller was not verified as a client: there are no details to show.")
        return _client_details(session, escalation.client_id, user_id, now, _target(escalation_id), ip)


def _client_details(session: Session, client_id: str, user_id: int, now: dt.datetime, detail: str,
                    ip: str | None) -> ClientDetails:
    client = session.get(Client, client_id)
    if client is None:
        raise EscalationNotFound("The client is no longer in the practice's records.")
    appointment = session.execute(
        select(Appointment, Clinician.name).join(Clinician, Clinician.id == Appointment.clinician_id)
        .where(Appointment.client_id == client.id, Appointment.status == ACTIVE, Appointment.start >= now)
        .order_by(Appointment.start).limit(1)).first()
    audit.record(session, user_id, Action.VIEW_CLIENT, f"client:{client.id}", detail=detail, ip=ip, at=now)
    return ClientDetails(
        client_id=client.id, name=f"{client.first_name} {client.last_name}",
        date_of_birth=client.date_of_birth, phones=[p.e164 for p in client.phones],
        next_appointment=NextAppointment(appointment[0].start, appointment[1], bool(appointment[0].telehealth_url))
        if appointment else None,
    )


# --------------------------------------------------------------------------- verification locks

@dataclass(frozen=True)
class LockView:
    """A verification lock an escalation alerted staff to (``verification_failed``/``verification_ceiling``)."""

    subject: str  # "client:<id>" or "practice"
    client_id: str | None
    locked_at: dt.datetime | None
    locked_until: dt.datetime | None
    active: bool
    cleared_at: dt.datetime | None


def verification_locks(db: DbLike, escalation_id: int, now: dt.datetime) -> list[LockView]:
    """The client and practice locks this escalation's call started (none for other escalations).

    A lock started again later by another call belongs to that call's escalation.
    """
    with session_scope(db) as session:
        escalation = _get(session, escalation_id)
        if escalation.category != Category.VERIFICATION_FAILED.value:
            return []
        rows = session.scalars(select(VerificationLock).where(
            VerificationLock.call_sid == escalation.call_sid,
            VerificationLock.subject.like("client:%") | (VerificationLock.subject == verification.PRACTICE))
            .order_by(VerificationLock.subject)).all()
        return [LockView(r.subject, r.subject.split(":", 1)[1] if r.subject.startswith("client:") else None,
                         r.locked_at, r.locked_until, r.locked_until is not None and r.locked_until > now,
                         r.cleared_at) for r in rows]


def _lock_of(session: Session, escalation_id: int, subject: str) -> VerificationLock:
    escalation = _get(session, escalation_id)
    row = session.get(VerificationLock, subject)
    if row is None or row.call_sid != escalation.call_sid or escalation.category != Category.VERIFICATION_FAILED.value:
        raise EscalationNotFound("This escalation has no such verification lock.")
    return row


def clear_verification_lock(db: DbLike, escalation_id: int, subject: str, user_id: int, now: dt.datetime,
                            ip: str | None = None) -> bool:
    """Staff confirmed the client (on a call they placed to the number on file): lift the lock.

    For a client this lifts the client's lock and those of its own numbers, and
    failures before now stop counting; for the practice, dates of birth verify
    again.  Audited as ``verification_clear``.  Returns whether it was still locked.
    """
    with session_scope(db) as session:
        _lock_of(session, escalation_id, subject)
        if subject == verification.PRACTICE:
            subjects = [verification.PRACTICE]
        else:
            client = session.get(Client, subject.split(":", 1)[1])
            phones = [p.e164 for p in client.phones] if client is not None else []
            subjects = verification.client_subjects(subject.split(":", 1)[1], phones)
        was_locked = verification.clear(session, subjects, user_id, now)
        audit.record(session, user_id, Action.VERIFICATION_CLEAR, subject, detail=_target(escalation_id),
                     ip=ip, at=now)
        return bool(was_locked)


def locked_client_details(db: DbLike, escalation_id: int, client_id: str, user_id: int, now: dt.datetime,
                          ip: str | None = None) -> ClientDetails:
    """The details of a client this escalation's call locked, to call them back on the number on file.

    The caller was not verified: these are the details of the client someone tried
    to verify as.  Audited as ``view_client``, like any client details.
    """
    with session_scope(db) as session:
        _lock_of(session, escalation_id, verification.client_subject(client_id))
        return _client_details(session, client_id, user_id, now, _target(escalation_id) + "; locked", ip)
