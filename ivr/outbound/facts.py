"""What the planner is told about the practice: plain frozen values, built by the I/O layer.

Every datetime is aware (any zone; the planner compares instants).  Phone numbers are E.164.
Nothing here is read from a database or a clock: the caller builds a :class:`PracticeFacts`
from its tables and passes it in.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import MappingProxyType


class Channel(str, Enum):
    """How a touch reaches someone.  ``staff_task`` is the follow-up's last step: a task for a person."""

    CALL = "call"
    TEXT = "text"
    STAFF_TASK = "staff_task"


class AppointmentStatus(str, Enum):
    """The same values as ``ivr.practice.models.AppointmentStatus`` (kept apart so this stays pure)."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"  # moved: a new appointment (``replaces`` = this id) took its place
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class Outcome(str, Enum):
    """What became of one attempt (Twilio's call/message statuses and AMD ``AnsweredBy``, simplified)."""

    QUEUED = "queued"  # handed to Twilio, no result yet: in flight
    SENT = "sent"  # a text was accepted by the carrier
    DELIVERED = "delivered"  # a text's delivery receipt came back
    UNDELIVERED = "undelivered"  # a text could not be delivered
    FAILED = "failed"  # the call or text could not be placed at all
    ANSWERED = "answered"  # a person answered the call
    VOICEMAIL = "voicemail"  # a machine answered and the neutral voicemail was left
    MACHINE = "machine"  # a machine answered and nothing was left (no voicemail consent)
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAX = "fax"
    SKIPPED = "skipped"  # planned, then skipped (the touch's why_skipped was recorded)
    CANCELLED = "cancelled"  # dropped before it was due (re-planned away, replied, opted out)


# An automated contact (counts toward the per-day and per-week caps); QUEUED counts until it resolves.
CONTACT_OUTCOMES = frozenset({Outcome.QUEUED, Outcome.SENT, Outcome.DELIVERED, Outcome.ANSWERED, Outcome.VOICEMAIL})
# The attempt happened (counts as an attempt and, for calls, toward the 24-hour call cap).
ATTEMPTED_OUTCOMES = frozenset(Outcome) - {Outcome.SKIPPED, Outcome.CANCELLED}
# The attempt is over and reached nobody: the next attempt or the fallback channel may go.
UNREACHED_OUTCOMES = frozenset({Outcome.UNDELIVERED, Outcome.FAILED, Outcome.MACHINE, Outcome.NO_ANSWER,
                                Outcome.BUSY, Outcome.FAX})


@dataclass(frozen=True, slots=True)
class Phone:
    """One of a client's numbers; ``shared``: a family phone (the planner also sees it from other clients)."""

    e164: str
    shared: bool = False


@dataclass(frozen=True, slots=True)
class ClientFacts:
    """A client as outbound work sees them; ``phones`` in the client's order (``phones[0]`` the primary).

    Each channel goes to the first number that is the client's alone and open on it, a shared one only when
    there is none (``ivr.outbound.planner.choose_number``)."""

    id: str
    first_name: str
    phones: tuple[Phone, ...] = ()
    time_zone: str | None = None  # IANA name from the client's record; None: guessed (ivr.outbound.zones)
    may_call: bool = True
    may_voicemail: bool = False
    may_text: bool = False


@dataclass(frozen=True, slots=True)
class AppointmentFacts:
    """An appointment as it is now.

    ``version`` is bumped on every change (time, status, re-import with a change); ``changed_at`` is when
    the current version was written (for a cancellation: when it was cancelled).  ``replaces`` is the
    id of the appointment this one replaced when it was moved (that one is ``rescheduled``).
    """

    id: str
    client_id: str
    start: datetime
    end: datetime
    status: AppointmentStatus
    version: int
    changed_at: datetime
    checked_in: bool = False
    joined: bool = False  # joined the video call
    replaces: str | None = None
    changed_by_client: bool = False  # the client made the last change themselves (they know the new time)


@dataclass(frozen=True, slots=True)
class CorrectionRequest:
    """Staff asked (from the dashboard) for a correction call to a client, optionally about an appointment."""

    id: str
    client_id: str
    raised_at: datetime
    appointment_id: str | None = None


@dataclass(frozen=True, slots=True)
class PastTouch:
    """A touch that was attempted, skipped or cancelled, as recorded by the I/O layer.

    ``touch_id`` is :attr:`ivr.outbound.planner.Touch.id`; ``about_start`` the appointment time its words gave.
    """

    touch_id: str
    client_id: str
    channel: Channel
    at: datetime
    outcome: Outcome
    about_start: datetime | None = None
    to: str | None = None  # the E.164 number it went to (the first text to a number carries the opt-out notice)


@dataclass(frozen=True, slots=True)
class Reply:
    """A client got back to us: a text reply, or an inbound call, matched to the client."""

    client_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PracticeFacts:
    """Everything :func:`ivr.outbound.planner.plan` reads.

    ``last_contact``: client id → the last time we spoke with them (any call or reply); completed
    sessions, answered calls and ``replies`` count too.  ``text_opt_outs``: numbers that texted STOP
    (or a carrier opt-out); ``call_opt_outs``: numbers not to call (asked, or a fax answered).
    """

    clients: tuple[ClientFacts, ...]
    appointments: tuple[AppointmentFacts, ...] = ()
    past_touches: tuple[PastTouch, ...] = ()
    replies: tuple[Reply, ...] = ()
    corrections: tuple[CorrectionRequest, ...] = ()
    last_contact: Mapping[str, datetime] = field(default_factory=lambda: MappingProxyType({}))
    text_opt_outs: frozenset[str] = frozenset()
    call_opt_outs: frozenset[str] = frozenset()
    # Of those, the numbers closed only because Twilio can never reach them there (flagged undeliverable): a touch
    # they stop is skipped ``undeliverable``, not ``opted_out``.
    text_undeliverable: frozenset[str] = frozenset()
    call_undeliverable: frozenset[str] = frozenset()
