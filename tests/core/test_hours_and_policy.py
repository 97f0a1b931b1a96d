"""Callback deadlines on the business-hours clock, the per-category policy, and what the caller hears.

Pure: exact datetimes in and out, against the shipped demo practice (New York;
Monday-Thursday 09:00-18:00, Friday 09:00-15:00; Thanksgiving, a Wednesday
afternoon closure before it, a year-end break) and small practices written inline.
"""
from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.actions.catalog import default_registry
from ivr.core import effects as fx
from ivr.core import escalation_policy as policy
from ivr.core.call_state import CallSession
from ivr.core.engine import StepEnv, new_session, step
from ivr.core.events import CallStarted
from ivr.core.hours import Within, add_business_days, add_business_time, deadline
from ivr.exceptions import FlowError
from ivr.flowlang.loading import load_set
from ivr.practice.settings.checks import load_practice, parse_practice

ROOT = Path(__file__).resolve().parents[2]
NY = ZoneInfo("America/New_York")
UTC = dt.UTC
DEMO = load_practice(ROOT / "flows" / "practice.yaml")


def ny(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=NY)


def practice(hours: str, extra: str = "") -> object:
    """A practice in New York with these opening hours (YAML lines under ``hours:``) and more settings."""
    block = textwrap.indent(textwrap.dedent(hours).strip() + "\n", "  ")
    return parse_practice("name: Test\ntimezone: America/New_York\nhours:\n" + block + textwrap.dedent(extra))


# --------------------------------------------------------------------------- parsing a promise

@pytest.mark.parametrize("text, expected", [
    ("2 business hours", Within(2, "hours", True)),
    ("1 business day", Within(1, "days", True)),
    ("3 Business Days", Within(3, "days", True)),
    ("15 minutes", Within(15, "minutes", False)),
    ("1 minute", Within(1, "minutes", False)),
    ("  90 business minutes ", Within(90, "minutes", True)),
    ("4 hours", Within(4, "hours", False)),
    ("2 days", Within(2, "days", False)),
])
def test_within_parses(text: str, expected: Within) -> None:
    assert Within.parse(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "2", "two hours", "0 minutes", "2 business weeks", "-1 hours",
                                  "31 days", "1000 business hours"])
def test_within_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        Within.parse(text)


def test_within_reads_back() -> None:
    assert str(Within.parse("1 business day")) == "1 business day"
    assert str(Within.parse("2 business hours")) == "2 business hours"
    assert str(Within.parse("15 minutes")) == "15 minutes"


# --------------------------------------------------------------------------- business hours

@pytest.mark.parametrize("start, minutes, due", [
    (ny(11, 23, 10), 120, ny(11, 23, 12)),  # Monday, open: the same morning
    (ny(11, 23, 9), 9 * 60, ny(11, 23, 18)),  # a whole day from opening ends at closing, not next morning
    (ny(11, 23, 16), 120, ny(11, 23, 18)),  # using the last minute of the day is that day's close
    (ny(11, 23, 17), 120, ny(11, 24, 10)),  # one hour today, one tomorrow
    (ny(11, 23, 20), 120, ny(11, 24, 11)),  # after hours: counted from the next opening
    (ny(11, 23, 7, 30), 30, ny(11, 23, 9, 30)),  # before opening
    (ny(11, 20, 14), 120, ny(11, 23, 10)),  # Friday closes at 15:00: the rest is Monday
    (ny(11, 20, 19), 120, ny(11, 23, 11)),  # Friday evening → Monday
    (ny(11, 21, 12), 120, ny(11, 23, 11)),  # Saturday → Monday
    (ny(11, 25, 12), 120, ny(11, 27, 10)),  # closure from Wednesday 13:00, Thanksgiving Thursday → Friday
    (ny(11, 26, 11), 60, ny(11, 27, 10)),  # on the holiday itself
    # One hour on Thursday 24 December; Christmas, the year-end break (28th-31st), New Year's Day and
    # two weekends follow: the second hour is on Monday 4 January.
    (ny(12, 24, 17), 120, ny(1, 4, 10, year=2027)),
])
def test_add_business_time(start: dt.datetime, minutes: int, due: dt.datetime) -> None:
    got = add_business_time(DEMO, start, minutes)
    assert got == due and got.tzinfo == NY
    assert got.utcoffset() == due.utcoffset()


def test_business_time_is_exact_and_zero_is_now() -> None:
    start = ny(11, 23, 10, 7).replace(second=27, microsecond=5)
    assert add_business_time(DEMO, start, 30) == start + dt.timedelta(minutes=30)
    assert add_business_time(DEMO, start, 0) == start
    assert add_business_time(DEMO, ny(11, 22, 10), 0) == ny(11, 22, 10)  # even when closed


def test_business_time_across_the_autumn_dst_change() -> None:
    # Sunday 1 November 2026 clocks go back. Friday 14:00 EDT: one hour left (to 15:00), one on Monday EST.
    got = add_business_time(DEMO, ny(10, 30, 14), 120)
    assert got == ny(11, 2, 10)
    assert got.astimezone(UTC) == dt.datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # EST: UTC-5
    assert ny(10, 30, 14).astimezone(UTC).hour == 18  # EDT: UTC-4


def test_business_time_across_the_spring_dst_change() -> None:
    # Sunday 14 March 2027, 02:00 does not exist: 01:00-05:00 local is three real hours.
    p = practice("""\
        sunday: ["01:00-05:00"]
        monday: ["09:00-10:00"]
        """)
    assert add_business_time(p, ny(3, 14, 0, year=2027), 3 * 60) == ny(3, 14, 5, year=2027)
    assert add_business_time(p, ny(3, 14, 0, year=2027), 4 * 60) == ny(3, 15, 10, year=2027)


def test_lunch_breaks_are_skipped() -> None:
    p = practice("""\
        monday: ["09:00-12:00", "13:00-17:00"]
        """)
    assert add_business_time(p, ny(11, 23, 11), 120) == ny(11, 23, 14)


def test_a_practice_that_never_opens_falls_back_to_wall_clock() -> None:
    p = practice("{}")
    assert add_business_time(p, ny(11, 23, 10), 120) == ny(11, 23, 12)
    assert add_business_days(p, ny(11, 23, 10), 1) == ny(11, 24, 10)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        add_business_time(DEMO, dt.datetime(2026, 11, 23, 10), 60)
    with pytest.raises(ValueError):
        deadline(DEMO, dt.datetime(2026, 11, 23, 10), "15 minutes")


# --------------------------------------------------------------------------- business days

@pytest.mark.parametrize("start, days, due", [
    (ny(11, 23, 10), 1, ny(11, 24, 18)),  # Monday morning → close of Tuesday
    (ny(11, 23, 8), 1, ny(11, 24, 18)),  # before opening: the arrival day still does not count
    (ny(11, 23, 20), 1, ny(11, 24, 18)),  # Monday evening → close of Tuesday
    (ny(11, 23, 10), 2, ny(11, 25, 13)),  # Wednesday closes early (closure from 13:00)
    (ny(11, 24, 10), 1, ny(11, 25, 13)),
    (ny(11, 25, 10), 1, ny(11, 27, 15)),  # Thanksgiving skipped; Friday closes at 15:00
    (ny(11, 19, 10), 1, ny(11, 20, 15)),  # Thursday → Friday's close
    (ny(11, 20, 16), 1, ny(11, 23, 18)),  # Friday evening → Monday
    (ny(11, 21, 3), 1, ny(11, 23, 18)),  # Saturday night → Monday
    (ny(12, 23, 10), 2, ny(1, 4, 18, year=2027)),  # 24th; Christmas, the break, New Year skipped; 4 January
])
def test_business_days_end_at_close_of_the_nth_business_day_after_arrival(start, days, due) -> None:
    assert add_business_days(DEMO, start, days) == due
    assert deadline(DEMO, start, f"{days} business day{'s' if days > 1 else ''}") == due


# --------------------------------------------------------------------------- deadline()

def test_wall_clock_promises_ignore_opening_hours() -> None:
    assert deadline(DEMO, ny(11, 21, 3), "15 minutes") == ny(11, 21, 3, 15)  # Saturday 3 AM
    assert deadline(DEMO, ny(11, 26, 23, 50), "15 minutes") == ny(11, 27, 0, 5)


def test_wall_clock_hours_are_real_hours_across_dst() -> None:
    # Saturday 31 October 23:00 EDT + 4 hours = 02:00 EST (03:00 by the old offset).
    got = deadline(DEMO, ny(10, 31, 23), "4 hours")
    assert got.astimezone(UTC) == dt.datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    assert (got.hour, got.utcoffset()) == (2, dt.timedelta(hours=-5))


def test_wall_clock_days_keep_the_local_time_across_dst() -> None:
    assert deadline(DEMO, ny(10, 31, 10), "2 days") == ny(11, 2, 10)


def test_deadlines_are_truncated_to_the_minute_in_practice_time() -> None:
    start = dt.datetime(2026, 11, 23, 15, 0, 27, 500000, tzinfo=UTC)  # Monday 10:00:27.5 in New York
    got = deadline(DEMO, start, "2 business hours")
    assert got == ny(11, 23, 12) and got.tzinfo == NY and (got.second, got.microsecond) == (0, 0)


# --------------------------------------------------------------------------- policy

def test_default_policies() -> None:
    crisis = policy.DEFAULTS["crisis"]
    assert (crisis.within, crisis.priority, crisis.reminder_lead) == (
        Within(15, "minutes", False), policy.URGENT, dt.timedelta(minutes=5))
    assert policy.DEFAULTS["callback_request"].within == Within(2, "hours", True)
    assert policy.DEFAULTS["verification_failed"].priority == policy.HIGH
    for category in ("billing", "portal_tech", "reschedule_failed", "voicemail"):
        assert policy.DEFAULTS[category].within == Within(1, "days", True)
        assert policy.DEFAULTS[category].priority == policy.NORMAL
        assert policy.DEFAULTS[category].reminder_lead == dt.timedelta(minutes=30)
    assert (policy.DEFAULTS["other"].priority, policy.DEFAULTS["other"].within) == (policy.HIGH,
                                                                                   Within(2, "hours", True))


@pytest.mark.parametrize("reason, category", [
    ("callback_request", "callback_request"), ("crisis", "crisis"), ("billing", "billing"),
    ("billing_question", "billing"), ("portal_tech", "portal_tech"), ("verification_failed", "verification_failed"),
    ("reschedule_failed", "reschedule_failed"), ("voicemail", "voicemail"), ("call_limit", "other"),
    ("system_error", "other"), ("something_new", "other"),
])
def test_reasons_map_to_categories(reason: str, category: str) -> None:
    assert policy.category_for(reason) == category


def test_the_practice_overrides_the_defaults() -> None:
    p = practice('monday: ["09:00-17:00"]', """\
        escalations:
          billing: {within: 4 business hours, priority: high}
          crisis: {reminder_lead_minutes: 3}
        """)
    billing = policy.policy_for(p, "billing_question")
    assert (billing.within, billing.priority, billing.reminder_lead) == (
        Within(4, "hours", True), policy.HIGH, dt.timedelta(minutes=30))
    crisis = policy.policy_for(p, "crisis")
    assert (crisis.within, crisis.priority, crisis.reminder_lead) == (
        Within(15, "minutes", False), policy.URGENT, dt.timedelta(minutes=3))
    assert policy.policy_for(p, "voicemail") == policy.DEFAULTS["voicemail"]


def test_the_demo_file_states_the_defaults() -> None:
    for category, default in policy.DEFAULTS.items():
        assert policy.policy_for(DEMO, category) == default, category


def test_bad_escalation_settings_are_load_errors_with_lines() -> None:
    with pytest.raises(FlowError) as err:
        practice('monday: ["09:00-17:00"]', """\
            escalations:
              billing: {within: 2 business weeks}
              crisis: {within: 0 minutes}
              callbacks: {within: 1 business day}
              voicemail: {priority: asap, reminder_lead_minutes: 0}
            """)
    text = str(err.value)
    assert "practice.yaml:6: escalations.billing.within: '2 business weeks' must be like" in text
    assert "practice.yaml:7: escalations.crisis.within: '0 minutes' must be at least 1 minute" in text
    assert "escalations.callbacks: unknown setting 'callbacks'; did you mean 'callback_request'?" in text
    assert "escalations.voicemail.priority: 'asap' is not one of" in text
    assert "escalations.voicemail.reminder_lead_minutes" in text


def test_priority_is_the_more_urgent_of_flow_and_policy() -> None:
    verification = policy.DEFAULTS["verification_failed"]
    assert policy.effective_priority(verification, "normal") == policy.HIGH
    assert policy.effective_priority(policy.DEFAULTS["billing"], "urgent") == policy.URGENT
    assert policy.effective_priority(policy.DEFAULTS["billing"], None) == policy.NORMAL
    assert policy.priority_number("nonsense") == policy.NORMAL


def test_reminder_schedule() -> None:
    created, due = ny(11, 23, 10), ny(11, 23, 12)
    plan = policy.reminder_schedule(created, due, dt.timedelta(minutes=30))
    assert (plan.level2_at, plan.level3_at, plan.breach_at) == (ny(11, 23, 11, 30), ny(11, 23, 11, 45), due)
    # Crisis: 15 minutes, lead 5 → backup at +10, owner at +12:30, breach at +15.
    plan = policy.reminder_schedule(created, created + dt.timedelta(minutes=15), dt.timedelta(minutes=5))
    assert plan.level2_at == created + dt.timedelta(minutes=10)
    assert plan.level3_at == created + dt.timedelta(minutes=12, seconds=30)
    # A lead longer than the window is capped at half of it.
    plan = policy.reminder_schedule(created, created + dt.timedelta(minutes=20), dt.timedelta(minutes=30))
    assert (plan.level2_at, plan.level3_at) == (created + dt.timedelta(minutes=10), created + dt.timedelta(minutes=15))


# --------------------------------------------------------------------------- what the caller hears

FLOW = """\
flow: main
steps:
  - id: promise
    say: "Someone will call you back by {{ callback_by('callback_request') | spoken }}."
  - id: escalate
    escalate: {reason: callback_request}
  - id: again
    hangup: "Again: {{ callback_by('callback_request') | spoken }}; urgent {{ callback_by('crisis') | spoken }}."
"""


def run_flow(now: dt.datetime, practice_text: str | None = None) -> tuple[CallSession, list]:
    text = practice_text or (ROOT / "flows" / "practice.yaml").read_text()
    flows = load_set({"main.yaml": FLOW}, text, default_registry().signatures())
    return step(flows, new_session("CA1", "+15551230001", now), CallStarted(), StepEnv(now=now))


def test_callback_by_is_what_the_escalation_stores() -> None:
    session, out = run_flow(ny(11, 23, 10, 5))
    said = [e.text for e in out if isinstance(e, fx.Say)]
    assert said == ["Someone will call you back by today at 12:05 PM.",
                    "Again: today at 12:05 PM; urgent today at 10:20 AM."]
    assert fx.Escalate("callback_request", "normal") in out
    # Everything spoken is a promise, kept: the urgent time was said too.
    assert session.vars["promised"] == {"callback_request": "2026-11-23T12:05:00-05:00",
                                        "crisis": "2026-11-23T10:20:00-05:00"}


def test_callback_by_after_hours_and_before_a_weekend() -> None:
    session, out = run_flow(ny(11, 20, 16, 30))  # Friday after closing
    assert out[0].text == "Someone will call you back by Monday at 11 AM."
    assert session.vars["promised"]["callback_request"] == "2026-11-23T11:00:00-05:00"


def test_the_first_promise_stands_when_the_call_escalates_again() -> None:
    flows = load_set({"main.yaml": FLOW}, (ROOT / "flows" / "practice.yaml").read_text(),
                     default_registry().signatures())
    session = new_session("CA1", None, ny(11, 23, 10))
    session.vars["promised"] = {"callback_request": "2026-11-23T11:00:00-05:00"}
    session, out = step(flows, session, CallStarted(), StepEnv(now=ny(11, 23, 10, 30)))
    assert out[0].text == "Someone will call you back by today at 11 AM."
    assert session.vars["promised"]["callback_request"] == "2026-11-23T11:00:00-05:00"


def test_categories_agree_between_model_settings_and_schema() -> None:
    import json

    from ivr.core.escalation_policy import Category
    from ivr.practice.settings.checks import SCHEMA_PATH
    from ivr.practice.settings.model import ESCALATION_CATEGORIES

    schema = json.loads(SCHEMA_PATH.read_text())
    assert set(ESCALATION_CATEGORIES) == {c.value for c in Category} == set(
        schema["properties"]["escalations"]["properties"]) == set(policy.DEFAULTS)
