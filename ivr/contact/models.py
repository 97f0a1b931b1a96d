"""The outbound tables: one row per touch (attempted, skipped or cancelled), replies, call opt-outs, corrections.

Phone numbers are E.164 in the database, as ``client_phones`` and ``sms_opt_outs`` keep them
(docs/security.md: the database is protected by its own access control); a reply's words are sealed
with ``IVR_DATA_KEY`` (``ivr.encryption``), since a client may write anything.  Text opt-outs are the
existing ``sms_opt_outs`` table (``ivr.practice.opt_outs``).
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.base import Base, UTCDateTime, utcnow


class TouchState(str, Enum):
    """Where one touch stands.  ``planned`` waits for its job; ``queued`` was claimed by the send job and
    handed (or is being handed) to Twilio; the others are outcomes (``ivr.outbound.facts.Outcome``)."""

    PLANNED = "planned"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    ANSWERED = "answered"
    VOICEMAIL = "voicemail"
    MACHINE = "machine"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAX = "fax"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    DONE = "done"  # a staff task handed to staff
    MERGED = "merged"  # went with another client's neutral text or call to the same shared number (covered_by)


class OutboundTouch(Base):
    """One touch of the planner (``ivr.outbound.planner.Touch``), keyed by its deterministic ``touch_id``.

    The unique ``touch_id`` is what makes a second planning pass, a retried job or a killed worker
    insert or send nothing twice.  ``job_id`` is the RQ job that sends it (``Touch.job_id``).
    """

    __tablename__ = "outbound_touches"
    __table_args__ = (Index("ix_outbound_touches_client_status", "client_id", "status"),
                      Index("ix_outbound_touches_status_due", "status", "due"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    touch_id: Mapped[str] = mapped_column(String(400), unique=True)
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    appointment_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    appointment_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(20))  # follow_up | reminder | moved
    rule: Mapped[str] = mapped_column(String(80))  # the trigger or reminder name
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(12))  # call | text | staff_task
    status: Mapped[str] = mapped_column(String(12), default=TouchState.PLANNED.value)
    why_skipped: Mapped[str | None] = mapped_column(String(20), nullable=True)
    due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    window_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    about_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    words: Mapped[str | None] = mapped_column(String(80), nullable=True)  # which words (follow_ups.late, …)
    task: Mapped[str | None] = mapped_column(Text, nullable=True)  # a staff task's text (from the rules)
    to_e164: Mapped[str | None] = mapped_column(String(20), nullable=True)
    from_e164: Mapped[str | None] = mapped_column(String(20), nullable=True)
    neutral: Mapped[bool] = mapped_column(Boolean, default=False)  # sent with the neutral words only
    twilio_sid: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    rules_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    words_version: Mapped[str | None] = mapped_column(String(40), nullable=True)  # hash of the words used
    answered_by: Mapped[str | None] = mapped_column(String(30), nullable=True)  # AMD's AnsweredBy
    duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    attempted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # An answered call's conversation (flows/follow_up_call.yaml): whether the person verified, what it came
    # to (ivr.contact.conversation.Conversation) and the flows' version it ran.
    verified: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    conversation: Mapped[str | None] = mapped_column(String(20), nullable=True)
    flow_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    outcome_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A shared number's neutral message is one message: the row (id) whose text or call carried this touch too.
    covered_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReplyMeaning(str, Enum):
    """What an inbound text to a pool number meant."""

    CONFIRM = "confirm"
    CHANGE = "change"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    OTHER = "other"  # free text: a staff task, and the client is told a person will answer
    CRISIS = "crisis"  # reads as a crisis (ivr.core.crisis): an urgent crisis escalation, 911/988 guidance
    UNSURE = "unsure"  # may be a crisis: a high-priority task marked so, and the guidance too


class OutboundReply(Base):
    """One text a client (or anyone) sent to a pool number; the words sealed, the meaning in clear."""

    __tablename__ = "outbound_replies"
    __table_args__ = (Index("ix_outbound_replies_client_at", "client_id", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_sid: Mapped[str] = mapped_column(String(40), unique=True)
    from_e164: Mapped[str] = mapped_column(String(20))
    to_e164: Mapped[str | None] = mapped_column(String(20), nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # one client on the number only
    touch_id: Mapped[str | None] = mapped_column(String(400), nullable=True)  # the touch it answered
    meaning: Mapped[str] = mapped_column(String(10))
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallOptOut(Base):
    """A number never to call again: a fax answered, or the person asked (``source``)."""

    __tablename__ = "call_opt_outs"

    e164: Mapped[str] = mapped_column(String(20), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # fax | asked | staff
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CorrectionRequestRow(Base):
    """Staff asked for a correction call to a client (optionally about an appointment)."""

    __tablename__ = "correction_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    appointment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    raised_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # staff_users.id
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UndeliverableNumber(Base):
    """A number Twilio said can never get a text or a call (a permanent error code), per channel.

    The number itself is never stored: ``number_hash`` is a keyed HMAC of it (``ivr.contact.undeliverable``),
    so the table tells nothing to whoever reads it without the data key.  ``lifted_at``/``lifted_by``: staff
    lifted the flag (audited); flagged again later, the same row is set again.
    """

    __tablename__ = "undeliverable_numbers"
    __table_args__ = (UniqueConstraint("number_hash", "channel"),
                      Index("ix_undeliverable_numbers_client_id", "client_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(12))  # call | text
    error_code: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # whose touch found it
    touch_job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    flagged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lifted_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # staff_users.id
