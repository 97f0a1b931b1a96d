"""The practice's business-hours clock: when it is open, and callback deadlines counted on it.

Pure: settings and aware datetimes in, values out; nothing here reads the clock.
Used by the engine (``open_now``, promised callbacks), by practice.yaml's checks
(``Within``) and by the escalation jobs (deadlines).  Everything is compared in UTC:
aware datetimes sharing one tzinfo compare by wall time, which is wrong across a DST change.

Opening status (``status_at``): ranges are [start, end), holidays close the whole
practice-local day, closures cut [start, end) out of the open time.

What a ``within`` means (``Within.parse``):

* ``"15 minutes"``, ``"4 hours"``, ``"2 days"``: wall-clock time, whatever the
  practice's hours (crisis calls do not wait for opening time).  Days keep the
  local clock time across a DST change.
* ``"2 business hours"``, ``"90 business minutes"``: that much *open* time, counted
  from ``start`` (or from the next opening if the practice is closed), skipping
  closed hours, holidays and closures.  A deadline that uses up the last minute of
  a day's hours is that day's closing time, not the next opening.
* ``"1 business day"`` (N business days): **the close of business on the Nth
  business day after the day the call arrives**.  The arrival day never counts,
  whether the call came before, during or after its hours, so a promise of "one
  business day" always leaves a whole business day: Monday 10:00 or Monday 20:00
  → Tuesday at closing; Friday evening → Monday at closing.  A business day is a
  practice-local date with any open time left after holidays and closures; its
  close is the end of its last open range.

Deadlines are truncated to the minute: callers hear minutes, and truncating can
only make a promise stricter.  If the practice is never open (no hours at all,
or closed for a year) business time falls back to the same amount of wall-clock
time, so every escalation still gets a deadline.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LOOKAHEAD = timedelta(days=30)
TimeRange = tuple[time, time]


class HolidayLike(Protocol):
    @property
    def date(self) -> dt.date: ...
    @property
    def name(self) -> str: ...


class ClosureLike(Protocol):
    @property
    def start(self) -> dt.datetime: ...
    @property
    def end(self) -> dt.datetime: ...
    @property
    def reason(self) -> str: ...


class HoursSettings(Protocol):
    """What the clock reads of the practice settings (``ivr.practice.settings.model.PracticeSettings``)."""

    @property
    def tz(self) -> ZoneInfo: ...
    @property
    def hours(self) -> Mapping[str, Sequence[TimeRange]]: ...  # every weekday in WEEKDAYS
    @property
    def holidays(self) -> Sequence[HolidayLike]: ...
    @property
    def closures(self) -> Sequence[ClosureLike]: ...


@dataclass(frozen=True)
class OpenStatus:
    """Whether the practice is open at one instant, and what comes next.

    ``reason`` is "open", "closed" (outside hours), "holiday" (the day is a
    holiday; ``holiday_name`` says which) or "closure" (inside an ad-hoc closure).
    ``closes_at`` is set only when open; ``next_open`` only when closed (None if
    the practice does not open within 30 days).  ``closure_reason`` is the
    closure's ``reason`` text when ``reason == "closure"``.  Datetimes are in
    practice time.
    """

    open: bool
    reason: str
    holiday_name: str | None = None
    closes_at: datetime | None = None
    next_open: datetime | None = None
    closure_reason: str | None = None


def holiday_on(settings: HoursSettings, day: date) -> HolidayLike | None:
    """The holiday on ``day`` (a practice-time date), if any."""
    for holiday in settings.holidays:
        if holiday.date == day:
            return holiday
    return None


def status_at(settings: HoursSettings, now: datetime) -> OpenStatus:
    """Is the practice open at ``now`` (aware)?  Ranges are [start, end); DST-safe."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("status_at needs an aware datetime (with a time zone)")
    tz = settings.tz
    now_utc = now.astimezone(dt.UTC)
    today = now_utc.astimezone(tz).date()
    intervals = open_intervals(settings, today - timedelta(days=1), today + LOOKAHEAD + timedelta(days=1))

    for start, end in intervals:
        if start <= now_utc < end:
            return OpenStatus(True, "open", closes_at=end.astimezone(tz))

    horizon = now_utc + LOOKAHEAD
    next_open = next((s for s, _ in intervals if now_utc < s <= horizon), None)
    next_local = next_open.astimezone(tz) if next_open else None
    holiday = holiday_on(settings, today)
    if holiday is not None:
        return OpenStatus(False, "holiday", holiday_name=holiday.name, next_open=next_local)
    closure = next((c for c in settings.closures if c.start <= now_utc < c.end), None)
    if closure is not None:
        return OpenStatus(False, "closure", next_open=next_local, closure_reason=closure.reason)
    return OpenStatus(False, "closed", next_open=next_local)


def open_intervals(settings: HoursSettings, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """Open [start, end) intervals in UTC for practice-time days first..last, minus holidays and closures.

    Everything is compared in UTC: aware datetimes sharing one tzinfo compare by
    wall time, which is wrong across a DST change.
    """
    tz = settings.tz

    def utc(day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)

    holidays = {h.date for h in settings.holidays}
    closed = [(c.start.astimezone(dt.UTC), c.end.astimezone(dt.UTC)) for c in settings.closures]
    opened: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        if day not in holidays:
            for start, end in settings.hours[WEEKDAYS[day.weekday()]]:
                opened.append((utc(day, start), utc(day, end)))
        day += timedelta(days=1)

    for c_start, c_end in closed:
        cut: list[tuple[datetime, datetime]] = []
        for o_start, o_end in opened:
            if c_end <= o_start or o_end <= c_start:
                cut.append((o_start, o_end))
                continue
            if o_start < c_start:
                cut.append((o_start, c_start))
            if c_end < o_end:
                cut.append((c_end, o_end))
        opened = cut

    merged: list[tuple[datetime, datetime]] = []
    for o_start, o_end in sorted(opened):
        if merged and o_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(o_end, merged[-1][1]))
        else:
            merged.append((o_start, o_end))
    return [(s, e) for s, e in merged if s < e]


# --------------------------------------------------------------------------- deadlines

UTC = dt.UTC
# How far ahead to look for open time before giving up and using wall-clock time.
HORIZON_DAYS = 370
_CHUNK_DAYS = 14
UNITS = ("minutes", "hours", "days")
_WITHIN_RE = re.compile(r"^\s*(\d{1,4})\s+(business\s+)?(minute|hour|day)s?\s*$", re.IGNORECASE)
# The longest promise a practice may configure (a typo like "200 days" is a load error).
MAX_WITHIN = dt.timedelta(days=30)


@dataclass(frozen=True)
class Within:
    """How soon a callback is promised: ``amount`` ``unit``, on the business clock or the wall clock."""

    amount: int
    unit: str  # minutes | hours | days
    business: bool

    @classmethod
    def parse(cls, text: str) -> Within:
        """``"2 business hours"`` → Within(2, "hours", True); ValueError for anything else."""
        m = _WITHIN_RE.match(text or "")
        if not m:
            raise ValueError(f"{text!r} must be like \"2 business hours\", \"1 business day\" or \"15 minutes\"")
        amount, business, unit = int(m.group(1)), bool(m.group(2)), m.group(3).lower() + "s"
        if amount < 1:
            raise ValueError(f"{text!r} must be at least 1 {unit[:-1]}")
        within = cls(amount, unit, business)
        if within.nominal() > MAX_WITHIN:
            raise ValueError(f"{text!r} is longer than {MAX_WITHIN.days} days")
        return within

    def nominal(self) -> dt.timedelta:
        """The amount as plain time (a business day counted as a calendar day), for sanity checks."""
        return dt.timedelta(**{self.unit: self.amount})

    def __str__(self) -> str:
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {'business ' if self.business else ''}{unit}"


def deadline(practice: HoursSettings, created_at: dt.datetime, within: Within | str) -> dt.datetime:
    """When a callback promised at ``created_at`` is due, in practice time (see the module docstring)."""
    _require_aware(created_at)
    if isinstance(within, str):
        within = Within.parse(within)
    tz = practice.tz
    if not within.business:
        if within.unit == "days":
            local = created_at.astimezone(tz)
            # Same wall-clock time N days later; normalise through UTC for a DST gap or fold.
            due = dt.datetime.combine(local.date() + dt.timedelta(days=within.amount), local.time(), tzinfo=tz)
            due = due.astimezone(UTC).astimezone(tz)
        else:
            due = (created_at.astimezone(UTC) + within.nominal()).astimezone(tz)
    elif within.unit == "days":
        due = add_business_days(practice, created_at, within.amount)
    else:
        minutes = within.amount * (60 if within.unit == "hours" else 1)
        due = add_business_time(practice, created_at, minutes)
    return due.replace(second=0, microsecond=0)


def add_business_time(practice: HoursSettings, start: dt.datetime, delta_business_minutes: float) -> dt.datetime:
    """``start`` plus that many minutes of open time (practice time; exact, not truncated)."""
    _require_aware(start)
    tz = practice.tz
    remaining = dt.timedelta(minutes=delta_business_minutes)
    if remaining <= dt.timedelta(0):
        return start.astimezone(tz)
    cursor = start.astimezone(UTC)
    for start_, end in _intervals_from(practice, start):
        if end <= cursor:
            continue
        begin = max(start_, cursor)
        if begin + remaining <= end:
            return (begin + remaining).astimezone(tz)
        remaining -= end - begin
        cursor = end
    # Never open within the horizon: promise the same amount of wall-clock time instead.
    return (start.astimezone(UTC) + dt.timedelta(minutes=delta_business_minutes)).astimezone(tz)


def add_business_days(practice: HoursSettings, start: dt.datetime, days: int) -> dt.datetime:
    """The close of business on the ``days``-th business day after ``start``'s practice-local date."""
    _require_aware(start)
    tz = practice.tz
    if days < 1:
        return start.astimezone(tz)
    day = start.astimezone(tz).date()
    found = 0
    for _ in range(HORIZON_DAYS):
        day += dt.timedelta(days=1)
        opened = open_intervals(practice, day, day)
        if opened:
            found += 1
            if found == days:
                return opened[-1][1].astimezone(tz)
    local = start.astimezone(tz)
    return dt.datetime.combine(local.date() + dt.timedelta(days=days), local.time(), tzinfo=tz)


def _intervals_from(practice: HoursSettings, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Open [start, end) intervals in UTC from ``start``'s local date on, in order, up to the horizon."""
    first = start.astimezone(practice.tz).date()
    for offset in range(0, HORIZON_DAYS, _CHUNK_DAYS):
        lo = first + dt.timedelta(days=offset)
        # Ranges never pass midnight, so day-aligned chunks never split one.
        yield from open_intervals(practice, lo, lo + dt.timedelta(days=_CHUNK_DAYS - 1))


def _require_aware(moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("deadlines need an aware datetime (with a time zone)")
