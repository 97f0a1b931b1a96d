"""Per-category escalation policy: how soon a callback is promised, how urgent, when to remind.

Pure.  Defaults below; ``flows/practice.yaml`` may override any of them per
category under ``escalations:`` (see ``ivr.practice.settings.model.EscalationRule``).
The engine decides an escalation's priority and its promised deadline here, so the
queue the web picks, the row the worker writes and what the caller hears agree.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from ivr.core.hours import HoursSettings, Within, deadline
from ivr.core.priority import Priority


class Category(str, Enum):
    """Why a call needs a person; the flows' escalate reasons map onto these."""

    CALLBACK = "callback_request"
    BILLING = "billing"
    PORTAL = "portal_tech"
    RESCHEDULE_FAILED = "reschedule_failed"
    INTAKE = "intake_request"  # a new or prospective client asked to start
    VERIFICATION_FAILED = "verification_failed"
    VOICEMAIL = "voicemail"
    CRISIS = "crisis"
    OTHER = "other"


class RuleLike(Protocol):
    """The practice's override of one category (``ivr.practice.settings.model.EscalationRule``)."""

    @property
    def within(self) -> Within | None: ...
    @property
    def priority(self) -> str | None: ...
    @property
    def reminder_lead_minutes(self) -> int | None: ...


class PolicySettings(HoursSettings, Protocol):
    """What the policy reads of the practice settings: its hours and its per-category overrides."""

    @property
    def escalations(self) -> Mapping[str, RuleLike]: ...


URGENT, HIGH, NORMAL = 0, 1, 2
PRIORITY_NUMBERS = {"urgent": URGENT, "high": HIGH, "normal": NORMAL}
PRIORITY_NAMES = {v: k for k, v in PRIORITY_NUMBERS.items()}
DEFAULT_LEAD_MINUTES = 30


@dataclass(frozen=True)
class Policy:
    category: str
    within: Within
    priority: int  # 0 urgent, 1 high, 2 normal
    reminder_lead: dt.timedelta  # re-send to the next level this long before the deadline


def _default(category: Category, within: str, priority: int, lead: int = DEFAULT_LEAD_MINUTES) -> Policy:
    return Policy(category.value, Within.parse(within), priority, dt.timedelta(minutes=lead))


DEFAULTS: dict[str, Policy] = {p.category: p for p in (
    _default(Category.CRISIS, "15 minutes", URGENT, 5),
    _default(Category.VERIFICATION_FAILED, "2 business hours", HIGH),
    _default(Category.CALLBACK, "2 business hours", NORMAL),
    _default(Category.VOICEMAIL, "1 business day", NORMAL),
    _default(Category.BILLING, "1 business day", NORMAL),
    _default(Category.PORTAL, "1 business day", NORMAL),
    _default(Category.RESCHEDULE_FAILED, "1 business day", NORMAL),
    _default(Category.INTAKE, "1 business day", NORMAL),
    # A call the system itself could not finish (step cap, a crash): someone should look soon.
    _default(Category.OTHER, "2 business hours", HIGH),
)}

# Reasons the edges hand to staff when something the caller was promised went wrong.
VOICEMAIL = "voicemail"  # a message nobody else carries (the fallback URL's, or a call that escalated nothing)
RECORDING_FAILED = "recording_failed"  # a message Twilio never let us copy: call the number back
TEXT_FAILED = "text_failed"  # a text Twilio refused for good (opted out, not a mobile, …)
SYSTEM_ERROR = "system_error"  # a webhook failed and the caller heard the apology
VOICEMAIL_CRISIS = "voicemail_crisis"  # a message whose transcript reads as a crisis (workers/recordings.py)
TEXT_CRISIS = "text_crisis"  # a text to a pool number that reads as a crisis (ivr.contact.replies)
TEXT_UNSURE = "text_reply_unsure"  # a text to a pool number that may be a crisis: a person reads it soon

# Reasons flows use that are not category names themselves.
REASON_ALIASES = {
    "callback": Category.CALLBACK.value,
    "billing_question": Category.BILLING.value,
    "portal": Category.PORTAL.value,
    "tech": Category.PORTAL.value,
    "call_limit": Category.OTHER.value,
    SYSTEM_ERROR: Category.OTHER.value,
    RECORDING_FAILED: Category.VOICEMAIL.value,
    TEXT_FAILED: Category.OTHER.value,
    VOICEMAIL_CRISIS: Category.CRISIS.value,
    TEXT_CRISIS: Category.CRISIS.value,
    TEXT_UNSURE: Category.CALLBACK.value,
    # Verification locks (ivr.practice.verification): a client's lock is "verification_failed" itself.
    "verification_ceiling": Category.VERIFICATION_FAILED.value,
    # Follow-ups and reminders (ivr.contact): a text reply nobody could act on, a change asked for by text,
    # a follow-up's `then` after its last attempt.
    "text_reply": Category.CALLBACK.value,
    "change_request": Category.RESCHEDULE_FAILED.value,
    "follow_up_task": Category.CALLBACK.value,
    "held_by_limit": Category.CALLBACK.value,  # a touch the per-client limits held back that could not wait
    "not_sent": Category.CALLBACK.value,  # a reminder whose window closed, a correction with no channel left
}
# What those edge reasons ask for at least (the category's policy may say more).
EDGE_PRIORITIES = {RECORDING_FAILED: Priority.HIGH, TEXT_UNSURE: Priority.HIGH}


# A voicemail the crisis check is unsure of (``workers.recordings.triage``): its call's escalation goes up to high
# priority and is due within the practice's ``voicemail: unsure_within`` (default: the first business hour, sooner
# than any ordinary promise); a later deadline is brought forward to that.
UNSURE_WITHIN = Within(1, "hours", True)


def unsure_deadline(practice: HoursSettings, now: dt.datetime) -> dt.datetime:
    """The deadline of an escalation raised to high because its voicemail may be about a crisis: ``now`` plus the
    practice's ``voicemail_unsure_within`` (settings without one: ``UNSURE_WITHIN``)."""
    return deadline(practice, now, getattr(practice, "voicemail_unsure_within", None) or UNSURE_WITHIN)


def category_for(reason: str) -> str:
    """The category of a flow's escalate reason; unknown reasons are "other"."""
    if reason in DEFAULTS:
        return reason
    return REASON_ALIASES.get(reason, Category.OTHER.value)


def policy_for(practice: PolicySettings | None, reason: str) -> Policy:
    """The policy for a reason (or category): the default, with the practice's overrides applied."""
    base = DEFAULTS[category_for(reason)]
    rule = (getattr(practice, "escalations", None) or {}).get(base.category)
    if rule is None:
        return base
    return Policy(
        base.category,
        rule.within or base.within,
        PRIORITY_NUMBERS[rule.priority] if rule.priority else base.priority,
        dt.timedelta(minutes=rule.reminder_lead_minutes) if rule.reminder_lead_minutes else base.reminder_lead,
    )


def priority_number(name: str | int | None) -> int:
    """"urgent"/"high"/"normal" (as flows say it) → 0/1/2; unknown → normal."""
    if isinstance(name, int):
        return name
    return PRIORITY_NUMBERS.get(str(name or "").lower(), NORMAL)


def effective_priority(policy: Policy, flow_priority: str | int | None) -> int:
    """The more urgent of what the flow said and what the category's policy says (as a rank)."""
    return min(policy.priority, priority_number(flow_priority))


def decide_priority(practice: PolicySettings | None, reason: str,
                    requested: Priority | str | int | None = None) -> Priority:
    """The priority of an escalation for ``reason``, decided once for the web, the queues and the workers.

    The more urgent of ``requested`` (a flow step's ``priority``, or an edge's) and the
    reason's policy (defaults, then ``practice.yaml``): ``escalate: {reason: crisis}``
    without a priority is urgent.  Pure: ``practice`` is data (None: the defaults).
    """
    return Priority.most_urgent(policy_for(practice, reason).priority, requested,
                                EDGE_PRIORITIES.get(reason))


def promise(practice: PolicySettings, reason: str, now: dt.datetime) -> dt.datetime:
    """The callback deadline for an escalation with ``reason`` created at ``now`` (practice time)."""
    return deadline(practice, now, policy_for(practice, reason).within)


@dataclass(frozen=True)
class Schedule:
    """When an unclaimed escalation is re-sent up the roster, and when its breach is checked."""

    level2_at: dt.datetime
    level3_at: dt.datetime
    breach_at: dt.datetime


def reminder_schedule(created_at: dt.datetime, deadline_at: dt.datetime, lead: dt.timedelta) -> Schedule:
    """Backup at ``deadline − lead``, owner at ``deadline − lead/2``, breach check at the deadline.

    The lead is capped at half the time between creation and the deadline, so a
    short promise (15 minutes with a 30-minute lead) still gives level 1 the first
    half of the window before the backup is paged.
    """
    window = max(deadline_at - created_at, dt.timedelta(0))
    lead = min(lead, window / 2)
    return Schedule(deadline_at - lead, deadline_at - lead / 2, deadline_at)
