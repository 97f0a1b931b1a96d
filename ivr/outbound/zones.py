"""When a client may be called or texted: their time zone, quiet hours, holidays and closures.

Pure: zones, rules and instants in, instants out.  All arithmetic is on UTC instants; local
times are turned into instants one day at a time, so DST days are right: a local time that does
not exist (spring forward) means the moment the clocks jump, and one that happens twice (fall
back) is read the stricter way (a window opens at the later one and closes at the earlier one).

Allowed = inside the quiet-hours window (default 09:00–19:00, never outside 08:00–20:00) in
**every** zone the client may be in, not on a practice holiday or in a closure (practice time),
and, with ``days: business_days``, on a day the practice has opening hours.
"""
from __future__ import annotations

import functools
import re
import threading
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from phonenumbers import timezone as phone_timezone

from ivr.core.hours import WEEKDAYS
from ivr.practice.settings.model import PracticeSettings

UTC = UTC
EARLIEST = time(8, 0)  # never before this, whatever the rules say
LATEST = time(20, 0)  # never after this
DEFAULT_START = time(9, 0)
DEFAULT_END = time(19, 0)
SEARCH = timedelta(days=62)  # how far next_allowed / latest_allowed_before look by default
_UNKNOWN_ZONE = "Etc/Unknown"
_E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")

Window = tuple[datetime, datetime]  # [start, end) as aware UTC datetimes


class Days(str, Enum):
    """Which days outbound work may happen on (holidays and closures are always quiet)."""

    EVERY_DAY = "every_day"
    BUSINESS_DAYS = "business_days"  # days the practice has opening hours in practice.yaml


@dataclass(frozen=True)
class QuietHours:
    """The allowed local-time window each day; :meth:`bounds` clamps it to 08:00–20:00."""

    start: time = DEFAULT_START
    end: time = DEFAULT_END
    days: Days = Days.EVERY_DAY

    def bounds(self) -> tuple[time, time]:
        """(start, end) clamped to EARLIEST–LATEST: the limit holds even if a rules file says otherwise."""
        return max(self.start, EARLIEST), min(self.end, LATEST)


# --------------------------------------------------------------------------- zones


@functools.lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; KeyError-free callers use :func:`valid_zone` first."""
    return ZoneInfo(name)


@functools.lru_cache(maxsize=512)
def valid_zone(name: str | None) -> bool:
    """True when ``name`` is an IANA time zone this machine knows."""
    if not name or name == _UNKNOWN_ZONE:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@functools.lru_cache(maxsize=8192)
def number_zones(e164: str | None) -> tuple[str, ...]:
    """Zones of a number's area code, or () when they say nothing useful.

    The same prefix table as ``phonenumbers.timezone.time_zones_for_geographical_number``, looked up
    on the E.164 text directly (parsing and typing every number costs ~0.5 ms, a tenth of a planning
    pass for 5,000 clients).  A prefix that maps to more than 4 zones is a whole country or a
    non-geographic range (US toll-free numbers map to all 42 NANP zones), so it gives ().
    """
    if not e164 or not _E164_RE.match(e164):
        return ()
    for length in range(min(phone_timezone.TIMEZONE_LONGEST_PREFIX, len(e164) - 1), 0, -1):
        names = phone_timezone.TIMEZONE_DATA.get(e164[1:1 + length])
        if names is not None:
            break
    else:
        return ()
    if _UNKNOWN_ZONE in names or len(names) > 4:
        return ()
    return tuple(sorted(n for n in names if valid_zone(n)))


def client_zones(time_zone: str | None, phone: str | None, practice_tz: str) -> tuple[str, ...]:
    """The zones a client may be in, the one to speak times in first.

    The client's record wins (one zone).  Otherwise: the practice's zone and the zone(s) of the
    number's area code, all of which must allow a contact (the stricter, i.e. the intersection).
    """
    if valid_zone(time_zone):
        return (str(time_zone),)
    extra = tuple(z for z in number_zones(phone) if z != practice_tz)
    return (practice_tz,) + extra


def display_zone(time_zone: str | None, practice_tz: str) -> ZoneInfo:
    """The zone a client's times are given in: their record's, else the practice's."""
    return zone(time_zone) if valid_zone(time_zone) else zone(practice_tz)


def message_zone(time_zone: str | None, phone: str | None, practice_tz: str) -> tuple[ZoneInfo, bool]:
    """The zone the times in a message to a client are written in, and whether to name it even when its clock
    is the practice's.

    The client's record wins.  Otherwise the zone of their number's area code when it names a single zone
    other than the practice's (an 808 number: Hawaii time, named); when it names several, the practice's time,
    always named, so the reader is never left to guess; else the practice's.
    """
    if valid_zone(time_zone):
        return zone(str(time_zone)), False
    others = sorted({z for z in number_zones(phone) if z != practice_tz and valid_zone(z)})
    if len(others) == 1:
        return zone(others[0]), False
    return zone(practice_tz), bool(others)


# --------------------------------------------------------------------------- local time → instant


def local_to_utc(day: date, at: time, tz: ZoneInfo, *, later: bool = False) -> datetime:
    """``day`` at ``at`` wall time in ``tz``, as a UTC instant.

    A time skipped by a DST change (02:30 on 2026-03-08 in New York) gives the instant the clocks
    jump (07:00 UTC = 03:00 EDT).  A time that happens twice (01:30 on 2026-11-01) gives the first
    occurrence, or the second with ``later=True``.
    """
    naive = datetime.combine(day, at)
    u0 = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    u1 = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if u0 == u1:
        return u0
    if u0.astimezone(tz).replace(tzinfo=None) == naive:  # exists twice: u0 is the first
        return u1 if later else u0
    # A gap: the first instant whose wall time is at or after ``naive`` is the transition.
    lo, hi = (u0, u1) if u0 < u1 else (u1, u0)
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp())
    while lo_s < hi_s:
        mid = (lo_s + hi_s) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            hi_s = mid
        else:
            lo_s = mid + 1
    return datetime.fromtimestamp(lo_s, UTC)


def shift_local(at: datetime, tz: ZoneInfo, *, days: int = 0, seconds: int = 0) -> datetime:
    """``at`` moved by whole calendar ``days`` in ``tz`` (same wall time, DST-safe), then by ``seconds``.

    "2 days before 10:00 on Monday" is 10:00 on Saturday even when a DST change lies between.
    """
    if days:
        local = at.astimezone(tz)
        at = local_to_utc(local.date() + timedelta(days=days), local.time().replace(tzinfo=None), tz,
                          later=bool(local.fold))
    return (at + timedelta(seconds=seconds)).astimezone(UTC)


# --------------------------------------------------------------------------- the calendar of allowed times


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(intervals):
        if s >= e:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: list[tuple[int, int]], cut: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in a:
        for cs, ce in cut:
            if ce <= s or e <= cs:
                continue
            if cs > s:
                out.append((s, cs))
            s = max(s, ce)
            if s >= e:
                break
        if s < e:
            out.append((s, e))
    return out


def _ts(value: datetime) -> int:
    return int(value.timestamp())


def closed_days(practice: PracticeSettings, quiet: QuietHours, first: date, last: date) -> int:
    """How many practice-time days in ``first``..``last`` are closed all day (holidays, days inside a closure,
    and with ``days: business_days`` days without opening hours): how much longer, in calendar days, a window
    kept in business days may run (the planner's look-back)."""
    holidays = {h.date for h in practice.holidays}
    ptz = practice.tz
    closures = [(c.start.astimezone(ptz).date(), (c.end - timedelta(microseconds=1)).astimezone(ptz).date())
                for c in practice.closures]
    count = 0
    day = first
    while day <= last:
        if day in holidays or any(a <= day <= b for a, b in closures) or (
                quiet.days is Days.BUSINESS_DAYS and not practice.hours[WEEKDAYS[day.weekday()]]):
            count += 1
        day += timedelta(days=1)
    return count


class Calendar:
    """Allowed instants for one set of client zones over practice-time days ``first``..``last``.

    Built once per zone set and reused: lookups are a bisect.  Instants are epoch seconds inside;
    the public methods take and return aware datetimes (UTC).
    """

    def __init__(self, zones: Sequence[str], practice: PracticeSettings, quiet: QuietHours, first: date, last: date):
        if not zones:
            raise ValueError("a client needs at least one time zone")
        self.zones = tuple(zones)
        self.lo = _ts(local_to_utc(first, time(0), practice.tz))
        self.hi = _ts(local_to_utc(last + timedelta(days=1), time(0), practice.tz))
        start, end = quiet.bounds()
        allowed: list[tuple[int, int]] | None = None
        for name in self.zones:
            tz = zone(name)
            # One day of margin each side: a far zone's day straddles the practice's.
            days = [first + timedelta(days=n) for n in range(-1, (last - first).days + 2)]
            windows = _merge((_ts(local_to_utc(d, start, tz, later=True)), _ts(local_to_utc(d, end, tz)))
                             for d in days)
            allowed = windows if allowed is None else _intersect(allowed, windows)
        assert allowed is not None
        allowed = _intersect(allowed, [(self.lo, self.hi)])
        blocked: list[tuple[int, int]] = []
        ptz = practice.tz
        holidays = {h.date for h in practice.holidays}
        day = first - timedelta(days=1)
        while day <= last + timedelta(days=1):
            closed_day = day in holidays or (
                quiet.days is Days.BUSINESS_DAYS and not practice.hours[WEEKDAYS[day.weekday()]]
            )
            if closed_day:
                blocked.append(
                    (_ts(local_to_utc(day, time(0), ptz)), _ts(local_to_utc(day + timedelta(days=1), time(0), ptz)))
                )
            day += timedelta(days=1)
        blocked += [(_ts(c.start), _ts(c.end)) for c in practice.closures]
        self.intervals = _subtract(allowed, _merge(blocked))
        self._starts = [s for s, _ in self.intervals]

    def covers(self, at: int) -> bool:
        """True when ``at`` (epoch seconds) lies inside the span this calendar knows."""
        return self.lo <= at < self.hi

    # ---- on epoch seconds (the planner's hot path)
    def next_at(self, at: int, until: int | None = None) -> int | None:
        """The first allowed second at or after ``at`` (and before ``until``), or None."""
        i = bisect_right(self._starts, at) - 1
        if i >= 0 and at < self.intervals[i][1]:
            found = at
        elif i + 1 < len(self.intervals):
            found = self.intervals[i + 1][0]
        else:
            return None
        if until is not None and found >= until:
            return None
        return found

    def latest_before(self, deadline: int, not_before: int | None = None) -> int | None:
        """The last allowed whole minute strictly before ``deadline`` (and at or after ``not_before``), or None."""
        i = bisect_right(self._starts, deadline - 1) - 1
        while i >= 0:
            s, e = self.intervals[i]
            last = min(e, deadline) - 1
            last -= last % 60  # a whole minute, still inside [s, e)
            if last < s:
                last = min(e, deadline) - 1
            if last >= s:
                if not_before is not None and last < not_before:
                    return None
                return last
            i -= 1
        return None

    def allowed_at(self, at: int) -> bool:
        """True when ``at`` (epoch seconds) is an allowed instant."""
        i = bisect_right(self._starts, at) - 1
        return i >= 0 and at < self.intervals[i][1]

    def windows_between(self, start: int, end: int) -> list[tuple[int, int]]:
        """The allowed intervals clipped to [start, end)."""
        return _intersect(self.intervals, [(start, end)])


def _dt(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


# Calendars built lately, by (zones, practice, quiet hours, first day, last day): a Calendar never changes once
# built, and the send job re-plans one client per touch (building one took ~10 ms, most of a re-check).
_CALENDARS: dict[tuple, tuple[PracticeSettings, QuietHours, Calendar]] = {}
_CALENDARS_KEPT = 256
_CALENDARS_LOCK = threading.Lock()


def calendar_for(client_zones: Sequence[str], practice: PracticeSettings, quiet: QuietHours,
                 start: datetime, end: datetime) -> Calendar:
    """A :class:`Calendar` covering the instants ``start``..``end`` (plus a day each side); the same one again
    for the same zones, settings (the same objects) and days."""
    ptz = practice.tz
    first = start.astimezone(ptz).date() - timedelta(days=1)
    last = end.astimezone(ptz).date() + timedelta(days=1)
    key = (tuple(client_zones), id(practice), id(quiet), first, last)
    kept = _CALENDARS.get(key)
    if kept is not None and kept[0] is practice and kept[1] is quiet:
        return kept[2]
    cal = Calendar(client_zones, practice, quiet, first, last)
    with _CALENDARS_LOCK:  # the webhooks' threads re-check touches too
        while len(_CALENDARS) >= _CALENDARS_KEPT:
            _CALENDARS.pop(next(iter(_CALENDARS)))  # the oldest in
        _CALENDARS[key] = (practice, quiet, cal)  # the objects kept too: their ids cannot be reused meanwhile
    return cal


def allowed_windows(client_zones: Sequence[str], practice: PracticeSettings, quiet: QuietHours,
                    day: date) -> list[Window]:
    """The allowed [start, end) windows (UTC) during ``day`` in the client's first zone.

    E.g. a client in New York on a weekday with defaults: [(13:00Z, 23:00Z)] in summer.
    """
    tz = zone(client_zones[0])
    start = local_to_utc(day, time(0), tz)
    end = local_to_utc(day + timedelta(days=1), time(0), tz)
    cal = calendar_for(client_zones, practice, quiet, start, end)
    return [(_dt(s), _dt(e)) for s, e in cal.windows_between(_ts(start), _ts(end))]  # type: ignore[misc]


def is_allowed(at: datetime, client_zones: Sequence[str], practice: PracticeSettings, quiet: QuietHours) -> bool:
    """May the client be contacted at the instant ``at``?"""
    cal = calendar_for(client_zones, practice, quiet, at, at)
    return cal.allowed_at(_ts(at))


def next_allowed(at: datetime, client_zones: Sequence[str], practice: PracticeSettings, quiet: QuietHours,
                 until: datetime | None = None) -> datetime | None:
    """The first allowed instant at or after ``at`` (``at`` itself when allowed), before ``until``
    (default: 62 days on); None when there is none."""
    limit = until or at + SEARCH
    cal = calendar_for(client_zones, practice, quiet, at, limit)
    return _dt(cal.next_at(_ts(at), _ts(limit)))


def latest_allowed_before(deadline: datetime, client_zones: Sequence[str], practice: PracticeSettings,
                          quiet: QuietHours, not_before: datetime | None = None) -> datetime | None:
    """The last allowed whole minute strictly before ``deadline``, not before ``not_before``
    (default: 62 days earlier); None when there is none."""
    floor = not_before or deadline - SEARCH
    cal = calendar_for(client_zones, practice, quiet, floor, deadline)
    return _dt(cal.latest_before(_ts(deadline), _ts(floor)))
