"""Escalations, the staff who work them, their notifications, the on-call roster and the audit log.

Same database and metadata as the practice data (``ivr.db.base.Base``),
so one Alembic history covers both.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.db.base import Base, UTCDateTime, utcnow


class EscalationStatus(str, Enum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class Role(str, Enum):
    STAFF = "staff"
    OWNER = "owner"


class Channel(str, Enum):
    SMS = "sms"
    EMAIL = "email"


class NotificationStatus(str, Enum):
    PENDING = "pending"
    SENDING = "sending"  # recorded before the provider is called: a crash here never sends twice
    SENT = "sent"
    FAILED = "failed"


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)  # the login
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)  # E.164, for SMS notifications
    role: Mapped[str] = mapped_column(String(10), default=Role.STAFF.value)
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RosterEntry(Base):
    """Who is on call when: level 1 is told first, then 2 (backup), then 3 (owner) as deadlines near."""

    __tablename__ = "roster_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer, default=1)
    # Weekdays ("monday"…) and a local time range; empty days = every day.
    days: Mapped[list] = mapped_column(JSON, default=list)
    start: Mapped[str] = mapped_column(String(5), default="00:00")
    end: Mapped[str] = mapped_column(String(5), default="23:59")
    sms: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    # Escalation categories this entry is told about; empty or NULL = all (e.g. an on-call
    # clinician who is paged for crises only, at any hour).
    categories: Mapped[list | None] = mapped_column(JSON, nullable=True)

    user: Mapped[StaffUser] = relationship()


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("call_sid", "reason"),
                      Index("ix_escalations_queue", "status", "priority", "deadline_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(40))  # as the flow said it
    category: Mapped[str] = mapped_column(String(40))
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 0 urgent, 1 high, 2 normal
    status: Mapped[str] = mapped_column(String(10), default=EscalationStatus.OPEN.value)
    caller_masked: Mapped[str] = mapped_column(String(20), default="-")
    # The full calling number, for calling back someone who did not verify; shown only on a
    # deliberate, audited request (``view_caller_number``), never in lists, links or messages.
    caller_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # only when verified
    timeline: Mapped[list] = mapped_column(JSON, default=list)  # steps and choices, never what was said
    # What the caller left for the callback (a new client's first name and best time): shown only on the
    # escalation's own page, never in lists, links, messages or logs.
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    recording_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=1)  # how far up the roster it has gone
    breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A crisis's kind as staff read it (ivr.core.crisis_kind.CrisisKind's value: "harm_to_others", "pressed_key",
    # "voicemail_medical_emergency"): what was heard, never the caller's words. Null for other escalations.
    crisis_kind: Mapped[str | None] = mapped_column(String(40), nullable=True)

    claimer: Mapped[StaffUser | None] = relationship(foreign_keys=[claimed_by])


class RecordingStatus(str, Enum):
    PENDING = "pending"  # Twilio has it; not copied yet (a job is on it, or the reconciliation job will be)
    FETCHED = "fetched"  # copied into recordings/
    FAILED = "failed"  # Twilio would not give it to us, for good: the call is escalated as recording_failed


class Recording(Base):
    """A voicemail Twilio recorded, from the moment we hear of it until it is copied (or cannot be).

    The durable evidence that a message exists: the recording jobs, the escalation job
    and the reconciliation job all meet here, so whichever runs last links the message
    to the call's escalation, and a message no job finished is found again.
    """

    __tablename__ = "recordings"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)  # Twilio's RecordingSid
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(10), default=RecordingStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)  # Twilio's status and code, no PHI
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Our sealed copy was read back, decrypted and decoded: only then is Twilio's deleted.
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    twilio_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    twilio_delete_error: Mapped[str | None] = mapped_column(String(200), nullable=True)  # status and code, no PHI
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Twilio's length in the recording callback (RecordingDuration, whole seconds): what our copy is checked against.
    twilio_duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    transcript_status: Mapped[str | None] = mapped_column(String(12), nullable=True)  # TranscriptStatus
    # Transcriptions started with a model (a job that keeps raising is stopped after TRANSCRIBE_ATTEMPTS_MAX), and
    # why the last one stopped: the error's kind and the count, never what was said.
    transcribe_attempts: Mapped[int] = mapped_column(Integer, default=0)
    transcript_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Deletions of Twilio's copy tried (after our copy checked out, or at a purge): stopped after DELETE_ATTEMPTS_MAX.
    twilio_delete_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # From the transcript (ivr.core.voicemail_triage): what it asks for, and the crisis grade.
    triage_category: Mapped[str | None] = mapped_column(String(20), nullable=True)
    crisis: Mapped[str | None] = mapped_column(String(10), nullable=True)  # crisis | unsure | none
    # The kind of crisis the transcript reads as (ivr.core.crisis_kind: "voicemail_harm_to_others"), never its words.
    crisis_kind: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Audio and transcript deleted under the practice's retention (the row stays, as the audit's evidence).
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TranscriptStatus(str, Enum):
    DONE = "done"
    NO_MODEL = "no_model"  # no speech model on the worker: staff listen instead
    FAILED = "failed"  # the audio could not be decoded for recognition
    # The server's recordings key does not open the sealed file (a key rotation while this service still ran
    # with the old key): retried, transcription and crisis check, once a worker's key opens it.
    KEY_FAILED = "key_failed"


class Notification(Base):
    """One message to one person about one escalation; the idempotency key makes it exactly one."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # escalation:kind:level:user:channel
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))  # new | reminder | breach
    status: Mapped[str] = mapped_column(String(10), default=NotificationStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a worker marked it ``sending``: a text still ``sending`` long after this is looked up at Twilio.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """Append-only: every view of client information and every action (the database refuses edits)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(40))  # login, view_client, claim, resolve, …
    target: Mapped[str | None] = mapped_column(String(80), nullable=True)  # "escalation:12", "client:C-1001"
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)


class OutcomeDraft(Base):
    """An outcome a staff member has typed and not yet sent: kept here, never in the browser, so signing out
    (idle or not) or closing the tab loses nothing.  One per person and escalation; gone once it is resolved.

    It may name the client, exactly as the outcome itself may: it lives only in this database, beside it.
    """

    __tablename__ = "outcome_drafts"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    preset: Mapped[str | None] = mapped_column(String(40), nullable=True)  # the one-tap outcome it started from
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class StaffPreference(Base):
    """A staff member's own dashboard settings; no row means the defaults (sound off, shortcuts on)."""

    __tablename__ = "staff_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    sound_urgent: Mapped[bool] = mapped_column(Boolean, default=False)  # a tone when an urgent one arrives
    shortcuts: Mapped[bool] = mapped_column(Boolean, default=True)  # single-key shortcuts (WCAG 2.1.4: can be off)
