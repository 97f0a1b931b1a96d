"""Open slots for rescheduling (ivr.practice.scheduling): which starts count as busy."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ivr.practice.scheduling import candidate_starts, open_slots

TZ = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=TZ)  # a Monday, 08:00
EVERY_DAY = {d: ["09:00-13:00"] for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}


@dataclass(frozen=True)
class Practice:
    tz: ZoneInfo = TZ
    hours: dict = field(default_factory=dict)
    holidays: tuple = ()
    closures: tuple = ()


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """Local time on 23 + ``day`` November 2026, as UTC (the database gives UTC)."""
    return dt.datetime(2026, 11, 23 + day, hour, minute, tzinfo=TZ).astimezone(dt.UTC)


def slots(busy, count=50, around=None):
    return open_slots(working_hours=EVERY_DAY, session_minutes=50, busy=busy, practice=Practice(), now=NOW,
                      around=around or at(1, 9), window_days=2, count=count)


def test_a_busy_interval_blocks_exactly_the_starts_it_overlaps():
    # Tuesday 10:50-11:00 touches the 10:00 session's end (10:50) and the 11:00 start: overlaps neither.
    # Tuesday 11:30-11:40 sits inside the 11:00 session.  Wednesday 09:30-11:10 spans three starts, and
    # the short 09:40-09:45 inside it (sorted after it) must not hide that it still runs at 11:00.
    busy = [(at(2, 9, 30), at(2, 11, 10)), (at(1, 10, 50), at(1, 11)), (at(1, 11, 30), at(1, 11, 40)),
            (at(2, 9, 40), at(2, 9, 45))]
    got = [s.astimezone(TZ).strftime("%a %H:%M") for s in slots(busy)]
    assert got == ["Mon 10:00", "Mon 11:00", "Mon 12:00",
                   "Tue 09:00", "Tue 10:00", "Tue 12:00",
                   "Wed 12:00"]  # Monday 09:00 is under the two hours' notice


def test_the_same_slots_as_checking_every_busy_interval():
    rng = random.Random(7)
    for _ in range(200):
        busy = []
        for _ in range(rng.randrange(0, 12)):
            start = at(rng.randrange(0, 3), rng.randrange(8, 13), rng.choice((0, 10, 30, 50)))
            busy.append((start, start + dt.timedelta(minutes=rng.choice((10, 50, 90, 200)))))
        expected = [
            s for s in candidate_starts(EVERY_DAY, 50, Practice(), NOW.date(), 3)
            if s >= NOW + dt.timedelta(hours=2)
            and not any(b0 < s + dt.timedelta(minutes=50) and s < b1 for b0, b1 in busy)
        ]
        assert slots(busy) == expected


@dataclass(frozen=True)
class Closure:
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Holiday:
    date: dt.date
    name: str = "holiday"


def ranked_as_before(hours, minutes, practice, now, around, window_days):
    """The ranking open_slots made before perf9f: every start filtered, then sorted by (not the target's ISO week,
    distance, start)."""
    local_now = now.astimezone(practice.tz)
    length = dt.timedelta(minutes=minutes)
    kept = [s for s in candidate_starts(hours, minutes, practice, local_now.date(), window_days + 1)
            if s >= local_now + dt.timedelta(hours=2) and s.date() not in {h.date for h in practice.holidays}
            and not any(c.start < s + length and s < c.end for c in practice.closures)]
    target = around.astimezone(practice.tz)
    week = target.isocalendar()[:2]
    return sorted(kept, key=lambda s: (s.isocalendar()[:2] != week, abs((s - target).total_seconds()), s))


def test_the_ranking_is_the_sort_it_replaces():
    """ranked_starts (a cached grid, walked outward from the target) gives every start in the order the sort by
    (week, distance, start) gave: random hours (ranges out of order, overlapping, sessions of 45 to 120 minutes),
    holidays, closures, targets before, inside and after the window, and the autumn's DST change."""
    from ivr.practice.scheduling import ranked_starts

    rng = random.Random(11)
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    for trial in range(300):
        hours = {d: [f"{h:02d}:{rng.choice(('00', '30'))}-{h + rng.randrange(1, 9):02d}:00"
                     for h in rng.sample(range(0, 15), rng.randrange(0, 3))]
                 for d in rng.sample(days, rng.randrange(0, 8))}
        now = dt.datetime(2026, 10, 26, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 14))
        holidays = tuple(Holiday(now.date() + dt.timedelta(days=rng.randrange(0, 14))) for _ in range(rng.randrange(3)))
        closures = tuple(Closure(c, c + dt.timedelta(hours=rng.randrange(1, 30)))
                         for c in (now + dt.timedelta(hours=rng.randrange(0, 300)) for _ in range(rng.randrange(3))))
        practice = Practice(holidays=holidays, closures=closures)
        around = now + dt.timedelta(hours=rng.randrange(-48, 24 * 20))
        minutes, window = rng.choice((45, 50, 60, 90, 120)), rng.randrange(1, 15)
        got = list(ranked_starts(working_hours=hours, session_minutes=minutes, practice=practice, now=now,
                                 around=around, window_days=window))
        assert got == ranked_as_before(hours, minutes, practice, now, around, window), trial
