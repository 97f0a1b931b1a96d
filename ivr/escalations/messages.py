"""What staff are sent about an escalation: link-only texts and emails.

A text lands on a lock screen and an email in a shared inbox, so neither ever
carries the caller's name or number, what they said, or why they called beyond a
generic kind ("billing question"): only the escalation's number, when it is due
and a dashboard link, where signing in shows the rest.  The words must pass
``ivr.core.privacy.discretion_problems`` (tests check every template).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ivr.core import spoken_output
from ivr.core.escalation_policy import Category

NEW, REMINDER, BREACH = "new", "reminder", "breach"
# An escalation raised to an urgent crisis after it was created (its voicemail reads as a crisis): paged once.
RAISED = "raised"
KINDS = (NEW, REMINDER, BREACH, RAISED)

# Generic on purpose: never a clinical word, never the flow's own reason text.
LABELS = {
    Category.CALLBACK.value: "callback request",
    Category.BILLING.value: "billing question",
    Category.PORTAL.value: "portal help request",
    Category.RESCHEDULE_FAILED.value: "scheduling request",
    Category.VERIFICATION_FAILED.value: "identity check callback",
    Category.VOICEMAIL.value: "voicemail",
    Category.CRISIS.value: "urgent call",
    Category.OTHER.value: "follow-up call",
}
EMAIL_FOOTER = "For privacy this message has no caller details. Sign in to see them."


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def label(category: str) -> str:
    """The generic words for a category."""
    return LABELS.get(category, LABELS[Category.OTHER.value])


def escalation_link(dashboard_url: str, escalation_id: int) -> str:
    """The dashboard page of one escalation (the dashboard serves ``/e/<id>`` under its base URL)."""
    return f"{dashboard_url.rstrip('/')}/e/{escalation_id}"


def due_text(deadline: dt.datetime, now: dt.datetime, tz: dt.tzinfo) -> str:
    """"3:40 PM" when due today (practice time), else "Tue, Nov 24 at 9 AM"."""
    local = deadline.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return spoken_output.spoken_time(local)
    return spoken_output.written_datetime(local)


def headline(kind: str, escalation_id: int, category: str, priority: int, deadline: dt.datetime,
             now: dt.datetime, tz: dt.tzinfo) -> str:
    """The one sentence both the text and the email say."""
    what = label(category)
    due = due_text(deadline, now, tz)
    if priority == 0 and kind != BREACH:
        what = what.replace("urgent ", "")
        if kind == REMINDER:
            return f"URGENT {what} #{escalation_id} is still unclaimed: call back now."
        return f"URGENT {what} #{escalation_id}: call back now."
    if kind == REMINDER:
        return f"Reminder: {what} #{escalation_id} is due by {due} and nobody has claimed it."
    if kind == BREACH:
        return f"Overdue: {what} #{escalation_id} was due by {due} and is not resolved."
    return f"New {what} #{escalation_id}, due by {due}."


def sms_text(kind: str, escalation_id: int, category: str, priority: int, deadline: dt.datetime,
             now: dt.datetime, tz: dt.tzinfo, link: str) -> str:
    """E.g. "New callback request #123, due by 3:40 PM. https://…/staff/e/123"."""
    return f"{headline(kind, escalation_id, category, priority, deadline, now, tz)} {link}"


def email(kind: str, escalation_id: int, category: str, priority: int, deadline: dt.datetime,
          now: dt.datetime, tz: dt.tzinfo, link: str) -> Email:
    """Subject: the headline; body: the headline, the link, and why there is nothing else."""
    line = headline(kind, escalation_id, category, priority, deadline, now, tz)
    return Email(line, f"{line}\n\nOpen it in the dashboard: {link}\n\n{EMAIL_FOOTER}\n")
