"""The practice's data: clinicians, clients and their phones, appointments, cards, follow-ups.

SQLAlchemy 2.0 declarative models, used with SQLite (the embedded default) or
PostgreSQL.  Times are stored in UTC; the practice's timezone is applied when
speaking.  Schema changes go through Alembic migrations (ivr/db/migrations).
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from ivr.db.base import Base, UTCDateTime, utcnow


class AppointmentStatus(str, Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"  # moved: a new appointment replaced it
    COMPLETED = "completed"
    NO_SHOW = "no_show"


ACTIVE = AppointmentStatus.SCHEDULED.value


class Clinician(Base):
    __tablename__ = "clinicians"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # {"monday": ["09:00-17:00"], ...} in the practice's timezone; missing day = not working.
    working_hours: Mapped[dict] = mapped_column(JSON, default=dict)
    session_minutes: Mapped[int] = mapped_column(Integer, default=50)

    clients: Mapped[list[Client]] = relationship(back_populates="clinician")


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    clinician_id: Mapped[str | None] = mapped_column(ForeignKey("clinicians.id"), nullable=True)
    may_voicemail: Mapped[bool] = mapped_column(Boolean, default=False)
    may_text: Mapped[bool] = mapped_column(Boolean, default=False)
    # Discreet mode: nothing identifying in any voicemail or text, whatever the other settings say.
    discreet: Mapped[bool] = mapped_column(Boolean, default=True)
    may_call: Mapped[bool] = mapped_column(Boolean, default=True)  # automated calls (follow-ups, reminders)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)  # IANA; None: guessed (ivr.outbound.zones)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    clinician: Mapped[Clinician | None] = relationship(back_populates="clients")
    phones: Mapped[list[ClientPhone]] = relationship(back_populates="client", cascade="all, delete-orphan",
                                                       order_by="ClientPhone.position")
    appointments: Mapped[list[Appointment]] = relationship(back_populates="client")


class ClientPhone(Base):
    """A number a client can be recognised by; a family may share one."""

    __tablename__ = "client_phones"
    __table_args__ = (UniqueConstraint("client_id", "e164"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # 0 = the primary number (texts go here)

    client: Mapped[Client] = relationship(back_populates="phones")
    # The number's texting preference, if it ever texted a keyword: read only, so verification can load a client's
    # phones with their STOP in the same query (no key: numbers opt out whether or not a client has them).
    opt_out: Mapped[SmsOptOut | None] = relationship(
        primaryjoin="foreign(ClientPhone.e164) == SmsOptOut.e164", viewonly=True, uselist=False)

    @property
    def texts_stopped(self) -> bool:
        """Whether this number texted STOP (and not START since), as ``opt_outs.opted_out`` reads it."""
        return self.opt_out is not None and bool(self.opt_out.opted_out)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        # One active appointment per clinician and start: two callers racing for a slot, one wins.
        Index("uq_active_slot", "clinician_id", "start", unique=True,
              sqlite_where=text("status = 'scheduled'"), postgresql_where=text("status = 'scheduled'")),
        Index("ix_appointments_client_start", "client_id", "start"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    clinician_id: Mapped[str] = mapped_column(ForeignKey("clinicians.id"))
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    telehealth_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Indexed: every move and cancellation walks its chain back (which appointment did this one replace?).
    replaced_by: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # A phone-made appointment's id in the EHR, once an import matched the row staff entered for it.
    ehr_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Outbound planning (ivr.outbound): bumped on every change of time, status or clinician (see _bump_version);
    # changed_at is when the current version was written (set it to the injected clock where one is at hand).
    version: Mapped[int] = mapped_column(Integer, default=1)
    changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_in: Mapped[bool] = mapped_column(Boolean, default=False)
    joined: Mapped[bool] = mapped_column(Boolean, default=False)  # joined the video call
    changed_by_client: Mapped[bool] = mapped_column(Boolean, default=False)

    client: Mapped[Client] = relationship(back_populates="appointments")
    clinician: Mapped[Clinician] = relationship()


VERSIONED_FIELDS = ("start", "end", "status", "clinician_id")
APPOINTMENTS_CHANGED = "appointments_changed"  # Session.info flag: outbound planning runs after the commit


def _note_change(target: Appointment) -> None:
    session = object_session(target)
    if session is not None:
        session.info[APPOINTMENTS_CHANGED] = True


@event.listens_for(Appointment, "after_insert")
def _noted_insert(mapper, connection, target: Appointment) -> None:
    _note_change(target)


@event.listens_for(Appointment, "before_update")
def _bump_version(mapper, connection, target: Appointment) -> None:
    """A change of time, status or clinician is a new version: reminders are re-planned from it."""
    state = inspect(target)
    if not any(state.attrs[name].history.has_changes() for name in VERSIONED_FIELDS):
        if any(state.attrs[name].history.has_changes() for name in ("checked_in", "joined")):
            _note_change(target)  # here now: the same appointment, re-planned at once ("late" is dropped)
        return
    target.version = (target.version or 1) + 1
    _note_change(target)
    if not state.attrs["changed_at"].history.has_changes():
        target.changed_at = utcnow()
    if not state.attrs["changed_by_client"].history.has_changes():
        target.changed_by_client = False  # staff or the EHR changed it: the client may not know


class CardOnFile(Base):
    """What we keep of a card: the payment processor's token reference, never the digits."""

    __tablename__ = "cards_on_file"

    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    token_ref: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(40))
    last4: Mapped[str] = mapped_column(String(4))
    expiry: Mapped[str] = mapped_column(String(4))  # MMYY, as Twilio <Pay> reports it
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FollowUp(Base):
    """A client to call back later (cancelled without rebooking, …); worked by a later job."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    appointment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class VerificationFailure(Base):
    """One failed identity check, charged to one subject: a row per subject the failure counts against.

    A wrong date of birth or PIN counts against the caller (``caller:<E.164>``, or
    ``caller:withheld`` for every withheld or invalid number together), against each
    candidate client (``client:<id>``: every client on the calling number or on the
    number typed as the number on file) and, when there was a candidate at all,
    against the practice (``practice``).  ``(call_sid, turn, subject)`` is unique: a
    retried or raced webhook for the same answer records it once.  The policy is in
    ``ivr.practice.verification``.
    """

    __tablename__ = "verification_failures"
    __table_args__ = (UniqueConstraint("call_sid", "turn", "subject"),
                      Index("ix_verification_subject_time", "subject", "failed_at"),
                      Index("ix_verification_failed_at", "failed_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    turn: Mapped[int] = mapped_column(Integer)  # the webhook of the call that carried the answer
    subject: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10), default="date")  # date | pin: what the caller answered with
    failed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class VerificationLock(Base):
    """A subject's current (or last) verification lock; one row per subject that was ever locked.

    Locked while ``locked_until`` is in the future.  ``call_sid``/``turn`` name the
    answer that started the lock (its staff alert is that call's escalation, raised
    once); staff who confirmed the client themselves clear it (``cleared_at``), and
    failures before a clearing no longer count.
    """

    __tablename__ = "verification_locks"

    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    call_sid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    turn: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cleared_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # staff_users.id


class SmsOptOut(Base):
    """A number's texting preference, from the STOP/START keywords it texted us (Twilio's opt-out words).

    ``opted_out`` true: nothing is texted to this number.  A START (or YES, UNSTOP)
    sets it false again; the row stays as the record of the last change.
    """

    __tablename__ = "sms_opt_outs"

    e164: Mapped[str] = mapped_column(String(20), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=True)
    keyword: Mapped[str] = mapped_column(String(20))  # STOP, START, … as Twilio classified it
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


PHONE_ID_PREFIX = "ql-"  # ids of appointments Quietline made (the EHR has its own for them)


class ChangeKind(str, Enum):
    """What a journal entry records."""

    APPOINTMENT_MOVED = "appointment_moved"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPOINTMENT_BOOKED = "appointment_booked"
    CARD_UPDATED = "card_updated"
    TEXTING_PREFERENCE = "texting_preference"  # STOP / START
    APPOINTMENT_CONFIRMED = "appointment_confirmed"  # the client confirmed by replying to a reminder


class ChangeState(str, Enum):
    """Where a change stands with the EHR."""

    TO_ENTER = "to_enter"  # staff still have to enter it in the EHR
    ENTERED = "entered"  # staff say they did
    CONFIRMED = "confirmed"  # a later import showed it


class PracticeChange(Base):
    """One change Quietline made to practice data (the change journal, ``ivr.practice.journal``).

    ``before``/``after`` are the changed fields (times as ISO 8601 UTC); ``source`` is
    ``call:<CallSid>`` or ``staff:<id>``.  ``conflict`` holds the EHR's version of the
    appointment when an import disagreed with both ``before`` and ``after``; it stays
    until a staff member chooses one; ``overridden`` keeps the EHR version they chose the phone's over.
    """

    __tablename__ = "practice_changes"
    __table_args__ = (Index("ix_practice_changes_state_made", "state", "made_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    appointment_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    before: Mapped[dict] = mapped_column(JSON, default=dict)
    after: Mapped[dict] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(80))
    made_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(20), default=ChangeState.TO_ENTER.value)
    entered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    entered_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # staff_users.id
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # none_as_null: None must be SQL NULL (not JSON null), or a settled conflict stays "open" (IS NOT NULL).
    conflict: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    conflict_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The EHR version staff chose the phone's change over: the same EHR row is then kept, not a new conflict.
    overridden: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)


class ImportRun(Base):
    """One run of the scheduled folder import (``ivr.practice.folder_import``): when, what, and how it went.

    ``status``: ``imported``, ``rejected`` (a file was refused: nothing of the set imported; the owner is
    alerted), ``duplicate`` (the same files were imported before: removed, nothing written).  ``files``:
    ``[{"kind", "name", "sha256"}]``; ``counts``: the import summary's lines; ``problems``: what was wrong,
    for the owner's screen (cell values masked; never logged).
    """

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(20))
    set_hash: Mapped[str] = mapped_column(String(64), index=True)  # SHA-256 over the set's files
    files: Mapped[list] = mapped_column(JSON, default=list)
    counts: Mapped[list] = mapped_column(JSON, default=list)
    problems: Mapped[list] = mapped_column(JSON, default=list)


class CalendarFeed(Base):
    """A clinician's private iCalendar feed (``ivr.practice.calendar_feed``): a secret URL, stored hashed.

    The URL's token is shown once, when the feed is made; only its SHA-256 is kept (a token of 256
    random bits needs no slow hash).  A revoked feed answers like one that never existed.
    ``show_initials``: event titles carry the client's initials (off: "Appointment" alone).
    """

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clinician_id: Mapped[str] = mapped_column(ForeignKey("clinicians.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    show_initials: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # staff_users.id
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
