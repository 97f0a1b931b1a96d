"""Turning a call the flows could not resolve into an escalation row, exactly once.

``create_escalation`` is what the escalation job does first.  The unique
(call_sid, reason) constraint makes it idempotent: a retried job, a replayed
webhook or two workers racing all end up with the one row.

A voicemail Twilio never gave us (``recording_failed``) is one escalation, not two: when
the call already has one (the callback request the message was left for, a crisis), that
one is updated instead (``merge_lost_message``: its priority raised to the lost message's
if that is more urgent, the timeline noting it), and the dashboard shows it as "could not
be retrieved — call the number back" through its failed recording.  In the other order (the
lost message escalated first), the call's own escalation takes that row over.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ivr.core import crisis_kind
from ivr.core import escalation_policy as policy_mod
from ivr.core.call_state import CallSession
from ivr.core.escalation_policy import Category, category_for
from ivr.core.phone_numbers import extension, normalise
from ivr.core.priority import Priority
from ivr.core.privacy import mask_phone
from ivr.escalations.models import Escalation, EscalationStatus, Recording
from ivr.escalations.recordings import UNSURE
from ivr.exceptions import CallRecordUnreadable

log = logging.getLogger(__name__)


def create_escalation(db_sessions: sessionmaker[Session], sessions: Any, call_sid: str, reason: str,
                      priority: Priority | str | int | None, now: dt.datetime, practice: Any,
                      caller_lookup: Callable[[], str | None] | None = None) -> tuple[int, bool]:
    """Create the escalation of ``call_sid`` for ``reason``, or find the one that exists.

    Returns ``(escalation id, created)``.  ``priority`` is stored as given: the core
    decided it (``policy.decide_priority``) before the job was enqueued.  What goes in
    comes from the call's session in Redis (``sessions.load``): the timeline (steps and
    choices, never what was said), the masked caller number, the client only if
    verified, the voicemail's recording SID, and the deadline the caller was promised
    (``vars.promised``, stored by the engine); without a promise (the session expired,
    or an edge escalated) the deadline is computed from ``now``.  Without a session
    (a voicemail left through the fallback URL), ``caller_lookup`` may say who called
    (Twilio's record of the call), so staff can call back.
    """
    existing = _find(db_sessions, call_sid, reason)
    if existing is not None:
        return existing, False
    try:
        session: CallSession | None = sessions.load(call_sid) if sessions is not None else None
    except CallRecordUnreadable as exc:
        # Staff still hear of the call: who called comes from Twilio, as without a record.
        log.error("%s; escalating without it", exc)
        session = None
    row = build_escalation(session, call_sid, reason, priority, now, practice)
    if reason == policy_mod.VOICEMAIL_CRISIS:
        # The kind the message reads as (``workers.recordings.triage`` keeps it on the recording's row).
        row.crisis_kind = _kept_kind(row.crisis_kind, voicemail_crisis_kind(db_sessions, call_sid))
    merged = merge_lost_message(db_sessions, row)
    if merged is not None:
        return merged, False
    if session is None and caller_lookup is not None:
        try:
            number = caller_lookup()
        except Exception:
            log.warning("could not look up who made call %s", call_sid, exc_info=True)
            number = None
        if number:
            row.caller_number, row.caller_masked = number[:20], mask_phone(number)
    try:
        with db_sessions() as db, db.begin():
            if row.priority > Priority.URGENT.rank and db.scalar(select(exists().where(
                    Recording.call_sid == call_sid, Recording.crisis == UNSURE))):
                # Its voicemail was already triaged as perhaps a crisis (workers.recordings.triage): high, and due
                # as soon as such a message is.
                row.priority = min(row.priority, Priority.HIGH.rank)
                row.deadline_at = min(row.deadline_at, policy_mod.unsure_deadline(practice, now))
            db.add(row)
            db.flush()
            escalation_id = row.id
    except IntegrityError:
        # Another worker created it between our look and our insert.
        found = _find(db_sessions, call_sid, reason)
        if found is None:
            raise
        return found, False
    log.info("escalation %s created (%s, priority %s)", escalation_id, row.category, row.priority)
    return escalation_id, True


def merge_lost_message(db_sessions: sessionmaker[Session], new: Escalation) -> int | None:
    """Fold a lost or crisis voicemail into the call's one escalation; returns its id, or None when there is nothing
    to fold.

    ``new`` (the row ``build_escalation`` made, not added): a ``recording_failed`` or ``voicemail_crisis`` one while
    the call has another escalation not yet resolved updates that one (with every one resolved: None, so the message
    is an escalation of its own) (the more urgent priority and the earlier deadline; a crisis
    makes it a crisis, so the crisis on-call is paged: ``RAISED_TO_CRISIS`` in its timeline when it was not urgent
    before, which ``workers.escalations.escalate`` pages once). Another reason while the call's only escalation is
    such a row: that row becomes this reason's (timeline, client, the more urgent priority, the earlier deadline;
    a crisis stays a crisis), so the promise and the message are still one escalation.
    """
    reason, rank = new.reason, new.priority
    with db_sessions() as db, db.begin():
        rows = db.scalars(select(Escalation).where(Escalation.call_sid == new.call_sid)
                          .order_by(Escalation.id).with_for_update()).all()
        if not rows:
            return None
        if reason in FOLDED_MARKS:
            unresolved = [r for r in rows if r.status != EscalationStatus.RESOLVED.value]
            if not unresolved:
                # Staff resolved the call's escalations before this message was heard (a caller may leave several
                # in one call): folded into a resolved row it would reach nobody, so it is an escalation of its own,
                # in the queue (and, for a crisis, paged).
                return None
            row = min(unresolved, key=lambda r: (r.priority, r.id))  # the most urgent of the call's open ones
            marks = [FOLDED_MARKS[reason]]
            if new.category == Category.CRISIS.value:
                row.crisis_kind = _kept_kind(row.crisis_kind, new.crisis_kind)
            if new.category == Category.CRISIS.value and row.category != Category.CRISIS.value:
                row.category = Category.CRISIS.value
                if row.priority > Priority.URGENT.rank:
                    marks.append(RAISED_TO_CRISIS)
            row.priority = min(row.priority, rank)
            if new.deadline_at is not None and (row.deadline_at is None or new.deadline_at < row.deadline_at):
                row.deadline_at = new.deadline_at
            row.timeline = [*(row.timeline or []), *(m for m in marks if m not in (row.timeline or []))]
            log.info("escalation %s: its voicemail %s (no second escalation)", row.id,
                     "reads as a crisis" if reason == policy_mod.VOICEMAIL_CRISIS else "could not be retrieved")
            return row.id
        if len(rows) == 1 and rows[0].reason in FOLDED_MARKS:
            row = rows[0]
            kept = [m for m in (row.timeline or []) if m in FOLDED_MARKS.values()] or [FOLDED_MARKS[row.reason]]
            if row.category != Category.CRISIS.value:
                row.category = new.category
            row.crisis_kind = _kept_kind(row.crisis_kind, new.crisis_kind)
            row.reason = new.reason
            row.priority = min(row.priority, rank)
            row.deadline_at = min(row.deadline_at, new.deadline_at) if row.deadline_at else new.deadline_at
            row.timeline = [*(new.timeline or []), *kept]
            row.client_id = row.client_id or new.client_id
            if row.caller_masked in (None, "-") and new.caller_masked not in (None, "-"):
                row.caller_masked, row.caller_number = new.caller_masked, new.caller_number
            log.info("escalation %s (a voicemail's) now carries the call's %s escalation too", row.id,
                     new.category)
            return row.id
    return None


def _kept_kind(kept: str | None, new: str | None) -> str | None:
    """The crisis kind an escalation keeps when another is heard (``crisis_kind.graver``: the more urgent, else the
    first), as stored."""
    kind = crisis_kind.graver(kept, new)
    return kind.value if kind is not None else None


def voicemail_crisis_kind(db_sessions: sessionmaker[Session], call_sid: str) -> str | None:
    """The most urgent crisis kind the call's voicemails read as (``recordings.crisis_kind``), or None."""
    with db_sessions() as db:
        kinds = db.scalars(select(Recording.crisis_kind).where(
            Recording.call_sid == call_sid, Recording.crisis_kind.is_not(None)).order_by(Recording.created_at)).all()
    kept = crisis_kind.most_urgent(k for k in (crisis_kind.parse(v) for v in kinds) if k is not None)
    return kept.value if kept is not None else None


# The timeline entry of an escalation whose voicemail could not be retrieved, or reads as a crisis.
LOST_MESSAGE_MARK = "recording_failed"
CRISIS_MESSAGE_MARK = "voicemail_crisis"
FOLDED_MARKS = {policy_mod.RECORDING_FAILED: LOST_MESSAGE_MARK, policy_mod.VOICEMAIL_CRISIS: CRISIS_MESSAGE_MARK}
# The escalation was not urgent until its voicemail read as a crisis: the crisis on-call is paged for it once.
RAISED_TO_CRISIS = "raised_to_crisis"


def raised_to_crisis(db_sessions: sessionmaker[Session], escalation_id: int) -> bool:
    """Was this escalation raised to an urgent crisis by its voicemail (``merge_lost_message``)?"""
    with db_sessions() as db:
        row = db.get(Escalation, escalation_id)
        return row is not None and RAISED_TO_CRISIS in (row.timeline or [])


def build_escalation(session: CallSession | None, call_sid: str, reason: str, priority: str | int | None,
                     now: dt.datetime, practice: Any) -> Escalation:
    """The row for a new escalation (not added to any database session)."""
    pol = policy_mod.policy_for(practice, reason)
    vars_ = session.vars if session is not None else {}
    caller = vars_.get("caller") or {}
    verified = isinstance(caller, dict) and caller.get("verified") is True
    number = session.caller if session is not None else None
    details = intake_details(vars_, practice) if category_for(reason) == Category.INTAKE.value else None
    if details and details.get("callback_number"):
        number = details.pop("callback_number")  # the number the caller confirmed, to call them back on
    kind = crisis_kind.parse(vars_.get(crisis_kind.SESSION_VAR)) if pol.category == Category.CRISIS.value else None
    return Escalation(
        call_sid=call_sid,
        reason=reason[:40],
        category=pol.category,
        priority=Priority.parse(priority).rank,
        status=EscalationStatus.OPEN.value,
        caller_masked=mask_phone(number) if number else "-",
        caller_number=number,
        details=details or None,
        client_id=str(caller["client_id"]) if verified and caller.get("client_id") else None,
        timeline=crisis_kind.with_kinds_heard(list(session.history), vars_.get(crisis_kind.HEARD_VAR))
        if session is not None else [],
        recording_sid=vars_.get("last_recording_sid") or None,
        created_at=now,
        deadline_at=promised_deadline(vars_, reason) or policy_mod.promise(practice, reason, now),
        escalation_level=1,
        crisis_kind=kind.value if kind is not None else None,
    )


# The intake flow's answers (flows/intake.yaml), by what staff read them as.
INTAKE_VARS = {"first_name": "intake_name", "callback_number": "intake_number", "best_time": "intake_time"}


def intake_details(vars_: dict[str, Any], practice: Any) -> dict[str, str]:
    """A new client's first name, callback number (E.164), its extension when one was given (the digits, for staff to
    dial after the number) and best time from the call's vars; what is missing is left out, and a number that is not
    a valid phone number is dropped (the calling number stands)."""
    out = {key: str(vars_[name])[:80] for key, name in INTAKE_VARS.items() if vars_.get(name)}
    if "callback_number" in out:
        said = out.pop("callback_number")
        e164 = normalise(said, getattr(practice, "phone_region", "US"))
        if e164:
            out["callback_number"] = e164
            if ext := extension(said):
                out["extension"] = ext
    return out


def promised_deadline(vars_: dict[str, Any], reason: str) -> dt.datetime | None:
    """The deadline the engine stored when the call reached the escalate step, if any."""
    raw = (vars_.get("promised") or {}).get(reason)
    try:
        when = dt.datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    return when if when is not None and when.tzinfo is not None else None


def _find(db_sessions: sessionmaker[Session], call_sid: str, reason: str) -> int | None:
    with db_sessions() as db:
        return db.scalars(select(Escalation.id).where(Escalation.call_sid == call_sid,
                                                      Escalation.reason == reason[:40])).first()
