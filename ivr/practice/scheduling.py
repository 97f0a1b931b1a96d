"""Open slots for rescheduling: pure, data in and datetimes out."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from ivr.core.hours import WEEKDAYS, HoursSettings, holiday_on

MIN_NOTICE = dt.timedelta(hours=2)


def _ranges(spec: Iterable[str]) -> list[tuple[dt.time, dt.time]]:
    out = []
    for item in spec:
        start, end = item.split("-")
        out.append((dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())))
    return out


def candidate_starts(working_hours: Mapping[str, Iterable[str]], session_minutes: int, practice: HoursSettings,
                     first_day: dt.date, days: int) -> list[dt.datetime]:
    """Every start time on the clinician's grid (sessions begin on the hour) over ``days`` days."""
    step = dt.timedelta(minutes=60 if session_minutes <= 60 else session_minutes)
    length = dt.timedelta(minutes=session_minutes)
    out = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        for start, end in _ranges(working_hours.get(WEEKDAYS[day.weekday()], ())):
            at = dt.datetime.combine(day, start, practice.tz)
            close = dt.datetime.combine(day, end, practice.tz)
            while at + length <= close:
                out.append(at)
                at += step
    return out


def open_slots(*, working_hours: Mapping[str, Iterable[str]], session_minutes: int,
               busy: Iterable[tuple[dt.datetime, dt.datetime]], practice: HoursSettings, now: dt.datetime,
               around: dt.datetime, window_days: int, count: int = 3,
               exclude: Iterable[dt.datetime] = ()) -> list[dt.datetime]:
    """The ``count`` open starts nearest to ``around``, same week first, in time order.

    A slot is open when it is on the clinician's grid, at least two hours away,
    within the policy window, not on a holiday or closure, and overlaps nothing busy.
    """
    local_now = now.astimezone(practice.tz)
    busy = [(b0, b1) for b0, b1 in busy]
    excluded = {e.astimezone(dt.UTC) for e in exclude}
    length = dt.timedelta(minutes=session_minutes)
    candidates = []
    for start in candidate_starts(working_hours, session_minutes, practice, local_now.date(), window_days + 1):
        end = start + length
        if start < local_now + MIN_NOTICE or start.astimezone(dt.UTC) in excluded:
            continue
        if any(b0 < end and start < b1 for b0, b1 in busy):
            continue
        if holiday_on(practice, start.date()) or any(c.start < end and start < c.end for c in practice.closures):
            continue
        candidates.append(start)
    target = around.astimezone(practice.tz)
    week = target.isocalendar()[:2]
    candidates.sort(key=lambda s: (s.isocalendar()[:2] != week, abs((s - target).total_seconds()), s))
    return sorted(candidates[:count])
