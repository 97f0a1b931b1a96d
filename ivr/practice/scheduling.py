"""Open slots for rescheduling: pure, data in and datetimes out."""
from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from ivr.core.hours import WEEKDAYS, HoursSettings

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
    return _grid_starts(working_hours, session_minutes, practice.tz, first_day, days)


def _grid_starts(working_hours: Mapping[str, Iterable[str]], session_minutes: int, tz: dt.tzinfo,
                 first_day: dt.date, days: int) -> list[dt.datetime]:
    step = dt.timedelta(minutes=60 if session_minutes <= 60 else session_minutes)
    length = dt.timedelta(minutes=session_minutes)
    out = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        for start, end in _ranges(working_hours.get(WEEKDAYS[day.weekday()], ())):
            at = dt.datetime.combine(day, start, tz)
            close = dt.datetime.combine(day, end, tz)
            while at + length <= close:
                out.append(at)
                at += step
    return out


@functools.lru_cache(maxsize=512)
def _calendar_grid(hours: tuple[tuple[str, tuple[str, ...]], ...], session_minutes: int, tz: dt.tzinfo,
                   holidays: frozenset[dt.date], closures: tuple[tuple[dt.datetime, dt.datetime], ...],
                   first_day: dt.date, days: int) -> tuple[dt.datetime, ...]:
    """The grid's starts over ``days`` days that no holiday or closure takes, in time order (local, ``tz``).

    Cached by value: it depends on the clinician's hours and the practice's calendar, never on the diary, so an
    import or a staff change of appointments cannot make it stale, and changed hours or closures are another key.
    """
    length = dt.timedelta(minutes=session_minutes)
    out = [start for start in _grid_starts(dict(hours), session_minutes, tz, first_day, days)
           if start.date() not in holidays
           and not (closures and any(c0 < start + length and start < c1 for c0, c1 in closures))]
    out.sort()  # ranges may be listed out of order; the ranking below walks the grid in time order
    return tuple(out)


def ranked_starts(*, working_hours: Mapping[str, Iterable[str]], session_minutes: int, practice: HoursSettings,
                  now: dt.datetime, around: dt.datetime, window_days: int) -> Iterator[dt.datetime]:
    """Every start the calendar allows, nearest to ``around`` first (its ISO week first, then the rest; equally near:
    the earlier first): on the clinician's grid, at least two hours away, within the policy window, not on a holiday
    or in a closure.  Local datetimes, yielded lazily: a search that stops at the third open start ranks only what
    it looks at.

    The diary is not consulted: ``first_open`` takes the ranking and the busy times, so a caller can read the busy
    times of only the first few starts (``open_slots`` reads them all).
    """
    tz = practice.tz
    local_now = now.astimezone(tz)
    grid = _calendar_grid(tuple(sorted((day, tuple(spec)) for day, spec in working_hours.items())), session_minutes,
                          tz, frozenset(h.date for h in practice.holidays),
                          tuple((c.start, c.end) for c in practice.closures), local_now.date(), window_days + 1)
    first = bisect.bisect_left(grid, local_now + MIN_NOTICE)
    target = around.astimezone(tz)
    monday = target.date() - dt.timedelta(days=target.weekday())
    week_start = dt.datetime.combine(monday, dt.time(), tz)
    week_end = week_start + dt.timedelta(days=7)
    lo = max(first, bisect.bisect_left(grid, week_start))
    hi = max(lo, bisect.bisect_left(grid, week_end))
    # The week's starts, outward from the target; then the others, outward from the week.
    yield from _outward(grid, lo, hi, bisect.bisect_left(grid, target, lo, hi), target)
    yield from _outward_around(grid, first, lo, hi, len(grid), target)


def _outward(grid: Sequence[dt.datetime], lo: int, hi: int, mid: int, target: dt.datetime) -> Iterator[dt.datetime]:
    """``grid[lo:hi]`` by distance to ``target`` (the earlier first when equally near); ``grid[lo:mid]`` are before
    it, ``grid[mid:hi]`` at or after it."""
    left, right = mid - 1, mid
    while left >= lo or right < hi:
        if right >= hi or (left >= lo and target - grid[left] <= grid[right] - target):
            yield grid[left]
            left -= 1
        else:
            yield grid[right]
            right += 1


def _outward_around(grid: Sequence[dt.datetime], first: int, lo: int, hi: int, end: int,
                    target: dt.datetime) -> Iterator[dt.datetime]:
    """``grid[first:lo]`` (before the week) and ``grid[hi:end]`` (after it) by distance to ``target``."""
    left, right = lo - 1, hi
    while left >= first or right < end:
        if right >= end or (left >= first and target - grid[left] <= grid[right] - target):
            yield grid[left]
            left -= 1
        else:
            yield grid[right]
            right += 1


def first_open(ranked: Iterable[dt.datetime], *, session_minutes: int,
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
