"""Practice settings (``flows/practice.yaml``) as frozen values: who the practice is, when it is open, its staff.

Built and checked by ``ivr.practice.settings.checks``; the business-hours clock that
reads them is ``ivr.core.hours``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from ivr.core.escalation_policy import UNSURE_WITHIN
from ivr.core.hours import WEEKDAYS, TimeRange, Within

__all__ = ["WEEKDAYS", "TimeRange"]


DEFAULT_PHONE_REGION = "US"
DEFAULT_VOICE = "Polly.Joanna"
DEFAULT_LANGUAGE = "en-US"
DEFAULT_ENTRY_FLOW = "main"
DEFAULT_UNSURE_WITHIN = UNSURE_WITHIN  # the first business hour
DEFAULT_EMERGENCY_GUIDANCE = (
    "If you are in danger or this is a medical emergency, hang up and dial 9 1 1. "
    "If you are in crisis, call or text 9 8 8 to reach the Suicide and Crisis Lifeline, any time."
)



@dataclass(frozen=True)
class StaffMember:
    """Someone calls can be forwarded to; flows refer to them by ``key``."""

    key: str
    name: str
    phone_e164: str  # with ``roster``: the fallback, rung when the roster cannot be read
    role: str | None = None
    # An escalation category: transfers ring whoever the on-call roster has for it (ivr.escalations.on_call).
    roster: str | None = None


@dataclass(frozen=True)
class Holiday:
    """A day the practice is closed from midnight to midnight (practice time)."""

    date: date
    name: str


@dataclass(frozen=True)
class Closure:
    """An ad-hoc closure over [start, end); both aware."""

    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True)
class EscalationRule:
    """The practice's overrides for one escalation category (``escalations:``); None keeps the default.

    Defaults and their meaning: ``ivr.core.escalation_policy``.
    """

    within: Within | None = None  # how soon a callback is promised, e.g. 2 business hours
    priority: str | None = None  # urgent | high | normal
    reminder_lead_minutes: int | None = None  # re-send up the roster this long before the deadline


DEFAULT_NEW_CLIENTS_MESSAGE = ("We are not able to take new clients right now. We're sorry we can't help, "
                               "and we hope you find the support you're looking for.")
ESCALATION_CATEGORIES: tuple[str, ...] = (
    "callback_request", "billing", "portal_tech", "reschedule_failed", "verification_failed", "voicemail",
    "crisis", "other", "intake_request",
)


@dataclass(frozen=True)
class PracticeSettings:
    """The parsed, validated contents of ``practice.yaml``."""

    name: str
    timezone: str
    tz: ZoneInfo
    hours: Mapping[str, tuple[TimeRange, ...]]  # every weekday in WEEKDAYS; () when closed
    holidays: tuple[Holiday, ...] = ()
    closures: tuple[Closure, ...] = ()
    staff: tuple[StaffMember, ...] = ()  # in file order; look up with staff_member(key)
    phone_region: str = DEFAULT_PHONE_REGION
    voice: str = DEFAULT_VOICE
    language: str = DEFAULT_LANGUAGE
    entry_flow: str = DEFAULT_ENTRY_FLOW
    emergency_guidance: str = DEFAULT_EMERGENCY_GUIDANCE
    callback_promise: str | None = None
    # New clients (the intake flow): whether they are taken, and what they hear when not.
    new_clients_accepting: bool = True  # absent from practice.yaml: the menu offers "new client", so accept
    new_clients_message: str = DEFAULT_NEW_CLIENTS_MESSAGE
    portal_url: str | None = None
    portal_help: str | None = None
    billing_url: str | None = None
    payment_connector: str | None = None  # Twilio <Pay> connector name; None: text billing_url instead
    late_change_hours: int = 24
    late_change_fee: str | None = None  # e.g. "$75"; None: no fee
    reschedule_window_days: int = 14
    # Caller verification (ivr.practice.verification): failures per client and per calling number
    # within lock_minutes before a lock (also the attempts one call gets), wrong PINs per client in
    # a day before the PIN stops working too, and the practice-wide ceiling per hour.
    verification_max_failures: int = 3
    verification_lock_minutes: int = 30
    verification_pin_max_failures: int = 5
    verification_max_failures_per_hour: int = 20
    # Voicemails and their transcripts are purged this many days after they were left (or after their
    # escalation was resolved, if later): ``voicemail: retention_days``.
    voicemail_retention_days: int = 90
    # A voicemail the crisis check is unsure of is due this soon (``voicemail: unsure_within``; its escalation's
    # deadline is brought forward to it): ``ivr.core.escalation_policy.unsure_deadline``.
    voicemail_unsure_within: Within = DEFAULT_UNSURE_WITHIN
    # Per escalation category (ESCALATION_CATEGORIES); categories left out keep the defaults.
    escalations: Mapping[str, EscalationRule] = field(default_factory=lambda: MappingProxyType({}))

    def staff_member(self, key: str) -> StaffMember:
        """The staff member with ``key``; KeyError if there is none."""
        for member in self.staff:
            if member.key == key:
                return member
        known = ", ".join(m.key for m in self.staff) or "none"
        raise KeyError(f"no staff member {key!r} in practice settings (known: {known})")



def staff_numbers(settings: PracticeSettings, keys: Iterable[str]) -> list[str]:
    """E.164 numbers of the staff ``keys``, in order; an unknown key raises KeyError."""
    return [settings.staff_member(key).phone_e164 for key in keys]
