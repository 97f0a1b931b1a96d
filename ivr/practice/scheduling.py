"""Open slots for rescheduling: pure, data in and datetimes out."""
from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence

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


def ranked_starts(*, working_hours: Mapping[str, Iterable[str]], session_minutes: int, practice: HoursSettings,
                  now: dt.datetime, around: dt.datetime, window_days: int) -> list[dt.datetime]:
    """Every start the calendar allows, nearest to ``around`` first (its week first): on the clinician's grid, at
    least two hours away, within the policy window, not on a holiday or in a closure.  Local datetimes.

    The diary is not consulted: ``first_open`` takes the ranking and the busy times, so a caller can read the busy
    times of only the first few starts (``open_slots`` reads them all).
    """
    local_now = now.astimezone(practice.tz)
    length = dt.timedelta(minutes=session_minutes)
    earliest = local_now + MIN_NOTICE
    closures = practice.closures
    holidays: dict[dt.date, bool] = {}  # per day, not per start: a window has a dozen starts a day
    candidates = []
    for start in candidate_starts(working_hours, session_minutes, practice, local_now.date(), window_days + 1):
        if start < earliest:
            continue
        day = start.date()
        if day not in holidays:
            holidays[day] = bool(holiday_on(practice, day))
        if holidays[day] or (closures and any(c.start < start + length and start < c.end for c in closures)):
            continue
        candidates.append(start)
    target = around.astimezone(practice.tz)
    # The target's ISO week (Monday to Sunday) by its two dates, not an isocalendar per start.
    monday = target.date() - dt.timedelta(days=target.weekday())
    sunday = monday + dt.timedelta(days=6)
    candidates.sort(key=lambda s: (not monday <= s.date() <= sunday, abs((s - target).total_seconds()), s))
    return candidates


def first_open(ranked: Sequence[dt.datetime], *, session_minutes: int,
               busy: Iterable[tuple[dt.datetime, dt.datetime]], count: int,
               exclude: Iterable[dt.datetime] = ()) -> list[dt.datetime]:
    """The first ``count`` starts of ``ranked`` (``ranked_starts``) that are not excluded and overlap nothing
    busy, in time order.  ``busy`` need only hold the intervals that overlap some start of ``ranked``."""
    overlaps = _overlap_test(busy)
    excluded = {e.astimezone(dt.UTC) for e in exclude}
    length = dt.timedelta(minutes=session_minutes)
    found: list[dt.datetime] = []
    for start in ranked:
        if len(found) >= count:
            break
        start_utc = start.astimezone(dt.UTC)
        # The end as the grid has it (wall-clock arithmetic), then in UTC: what overlapping meant before.
        if start_utc in excluded or overlaps(start_utc, (start + length).astimezone(dt.UTC)):
            continue
        found.append(start)
    return sorted(found)


def open_slots(*, working_hours: Mapping[str, Iterable[str]], session_minutes: int,
               busy: Iterable[tuple[dt.datetime, dt.datetime]], practice: HoursSettings, now: dt.datetime,
               around: dt.datetime, window_days: int, count: int = 3,
               exclude: Iterable[dt.datetime] = ()) -> list[dt.datetime]:
    """The ``count`` open starts nearest to ``around``, same week first, in time order.

    A slot is open when it is on the clinician's grid, at least two hours away,
    within the policy window, not on a holiday or closure, and overlaps nothing busy.
    """
    ranked = ranked_starts(working_hours=working_hours, session_minutes=session_minutes, practice=practice, now=now,
                           around=around, window_days=window_days)
    return first_open(ranked, session_minutes=session_minutes, busy=busy, count=count, exclude=exclude)


def _overlap_test(busy: Iterable[tuple[dt.datetime, dt.datetime]]) -> Callable[[dt.datetime, dt.datetime], bool]:
    """A test ``(start, end) -> bool`` (both UTC): does [start, end) overlap any busy interval?

    Busy intervals sorted by start, with the latest end among each prefix: the ones
    starting before ``end`` overlap when the latest of their ends is after ``start``.
    One bisect per candidate instead of a scan of every busy interval (a full diary
    has hundreds within the window).
    """
    # In UTC: datetimes with one tzinfo compare directly; across zones every comparison asks both
    # for their UTC offset, which made this the slowest part of offering slots.
    ordered = sorted(((b0.astimezone(dt.UTC), b1.astimezone(dt.UTC)) for b0, b1 in busy), key=lambda b: b[0])
    starts = [b0 for b0, _ in ordered]
    latest_end: list[dt.datetime] = []
    for _, b1 in ordered:
        latest_end.append(b1 if not latest_end or b1 > latest_end[-1] else latest_end[-1])

    def overlaps(start: dt.datetime, end: dt.datetime) -> bool:
        """``start`` and ``end`` in UTC."""
        i = bisect.bisect_left(starts, end)  # busy[:i] start before ``end``
        return i > 0 and latest_end[i - 1] > start

    return overlaps
