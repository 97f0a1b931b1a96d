"""Unsent outcomes: what a staff member has typed in an escalation's Outcome box, kept in the database.

The dashboard saves the box as it is typed in, so an idle sign-out, a closed tab or a crash loses nothing;
the next time that person opens the escalation the draft is back.  Only its author ever sees a draft.  A
draft may name the client exactly as an outcome may, which is why it is kept here (beside the outcome,
under the same protection) and never in the browser's storage.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select

from ivr.escalations.audit import DbLike, session_scope
from ivr.escalations.models import Escalation, EscalationStatus, OutcomeDraft
from ivr.escalations.worklist import OUTCOME_MAX, OUTCOME_PRESETS
from ivr.exceptions import EscalationConflict, EscalationInvalid, EscalationNotFound


@dataclass(frozen=True)
class Draft:
    text: str
    preset: str | None  # the one-tap outcome it started from (a key of OUTCOME_PRESETS), if any
    updated_at: dt.datetime


def save(db: DbLike, user_id: int, escalation_id: int, text: str, now: dt.datetime, *,
         preset: str | None = None) -> Draft | None:
    """Keep ``text`` as ``user_id``'s draft outcome of ``escalation_id`` (blank text deletes the draft).

    Returns the draft kept (None when deleted).  Raises EscalationNotFound for an unknown escalation,
    EscalationConflict once it is resolved (there is nothing left to draft), EscalationInvalid for a text
    longer than an outcome may be or an unknown preset.
    """
    if len(text) > OUTCOME_MAX:
        raise EscalationInvalid(f"Keep the outcome under {OUTCOME_MAX} characters.")
    if preset is not None and preset not in OUTCOME_PRESETS:
        raise EscalationInvalid("That is not one of the one-tap outcomes.")
    with session_scope(db) as session:
        status = session.scalar(select(Escalation.status).where(Escalation.id == escalation_id))
        if status is None:
            raise EscalationNotFound("There is no such escalation.")
        if status == EscalationStatus.RESOLVED.value:
            raise EscalationConflict("This escalation is already resolved.")
        row = session.get(OutcomeDraft, (user_id, escalation_id))
        if not text.strip():
            if row is not None:
                session.delete(row)
            return None
        if row is None:
            row = OutcomeDraft(user_id=user_id, escalation_id=escalation_id, text=text, preset=preset,
                               updated_at=now)
            session.add(row)
        else:
            row.text, row.preset, row.updated_at = text, preset, now
        return Draft(text, preset, now)


def get(db: DbLike, user_id: int, escalation_id: int) -> Draft | None:
    """``user_id``'s own draft outcome of ``escalation_id``, if one is kept."""
    with session_scope(db) as session:
        row = session.get(OutcomeDraft, (user_id, escalation_id))
        return Draft(row.text, row.preset, row.updated_at) if row is not None else None


def discard(db: DbLike, user_id: int, escalation_id: int) -> None:
    with session_scope(db) as session:
        session.execute(delete(OutcomeDraft).where(OutcomeDraft.user_id == user_id,
                                                   OutcomeDraft.escalation_id == escalation_id))
