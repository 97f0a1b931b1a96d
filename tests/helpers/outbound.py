"""Shared values for the outbound tests: a fixed practice, rules from YAML text, fact builders.

Everything is pure (no Redis, no database, no clock): instants are fixed in the tests.
"""
from __future__ import annotations

import datetime as dt
import textwrap
from zoneinfo import ZoneInfo

from ivr.outbound.facts import (
    AppointmentFacts,
    AppointmentStatus,
    Channel,
    ClientFacts,
    Outcome,
    PastTouch,
    Phone,
    PracticeFacts,
)
from ivr.outbound.planner import Touch, TouchStatus, plan
from ivr.outbound.rules import OutboundRules, parse_outbound
from ivr.practice.settings.checks import parse_practice
from ivr.practice.settings.model import PracticeSettings

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
UTC = dt.UTC

# Open Monday to Friday; Thanksgiving (Thu 26 Nov 2026) is a holiday and Friday 27 a closure day,
# so Wednesday 25 is the eve of two closure days (and then a weekend).
PRACTICE_YAML = """\
name: Lakeside Counseling Collective
timezone: America/New_York
hours:
  monday: ["09:00-17:00"]
  tuesday: ["09:00-17:00"]
  wednesday: ["09:00-17:00"]
  thursday: ["09:00-17:00"]
  friday: ["09:00-17:00"]
holidays:
  - {date: 2026-11-26, name: Thanksgiving}
closures:
  - {start: 2026-11-27, end: 2026-11-27, reason: the day after Thanksgiving}
staff:
  front_desk: {name: Front desk, phone: "+1 555 010 0100"}
"""

# The defaults the issues name, every trigger on, business days only.
RULES_YAML = """\
caller_id:
  name: Appointments
  numbers: ["+1 555 010 0190"]
quiet_hours: {start: "09:00", end: "19:00", days: business_days}
follow_ups:
  late: {}
  no_show: {then: Send a closing letter}
  unbooked: {}
  cancelled: {}
  lapsed: {}
  correction: {}
reminders:
  touches:
    two_days_before: {before: 2 days, by: text}
    two_hours_before: {before: 2 hours, by: text}
"""


def practice(text: str = PRACTICE_YAML) -> PracticeSettings:
    return parse_practice(text)


def rules(text: str = RULES_YAML, settings: PracticeSettings | None = None, **kw) -> OutboundRules:
    parsed, problems = parse_outbound(textwrap.dedent(text), settings or practice(), **kw)
    assert parsed is not None, "\n".join(map(str, problems))
    return parsed


def ny(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=NY)


def client(cid: str = "C-1", phone: str = "+15550100201", *, tz: str | None = None, shared: bool = False,
           may_call: bool = True, may_voicemail: bool = True, may_text: bool = True,
           first_name: str = "Alex") -> ClientFacts:
    return ClientFacts(cid, first_name, (Phone(phone, shared),) if phone else (), tz, may_call, may_voicemail,
                       may_text)


def appt(aid: str, start: dt.datetime, *, cid: str = "C-1", status: AppointmentStatus = AppointmentStatus.SCHEDULED,
         version: int = 1, changed_at: dt.datetime | None = None, minutes: int = 50, **kw) -> AppointmentFacts:
    return AppointmentFacts(aid, cid, start, start + dt.timedelta(minutes=minutes), status, version,
                            changed_at or start - dt.timedelta(days=20), **kw)


def facts(*clients: ClientFacts, appointments=(), **kw) -> PracticeFacts:
    return PracticeFacts(tuple(clients), tuple(appointments), **kw)


def done(touch: Touch, at: dt.datetime, outcome: Outcome = Outcome.SENT) -> PastTouch:
    """The record the I/O layer keeps once a touch was attempted (or skipped)."""
    return PastTouch(touch.id, touch.client_id, touch.channel, at, outcome, touch.about_start, touch.to)


def planned(touches: list[Touch]) -> list[tuple[str, dt.datetime]]:
    """(id, due in New York) of the planned touches."""
    return [(t.id, t.due.astimezone(NY)) for t in touches if t.status is TouchStatus.PLANNED]


def skipped(touches: list[Touch]) -> list[tuple[str, str]]:
    return [(t.id, t.why_skipped.value) for t in touches if t.status is TouchStatus.SKIPPED]


__all__ = ["AppointmentStatus", "Channel", "Outcome", "PastTouch", "plan", "NY", "LA", "UTC", "practice", "rules",
           "ny", "client", "appt", "facts", "done", "planned", "skipped", "PRACTICE_YAML", "RULES_YAML"]
