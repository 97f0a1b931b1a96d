"""Quiet hours and time zones (ivr/outbound/zones.py): pure, fixed instants."""
from __future__ import annotations

import datetime as dt

import pytest

from ivr.outbound.zones import (
    Days,
    QuietHours,
    allowed_windows,
    client_zones,
    is_allowed,
    latest_allowed_before,
    local_to_utc,
    next_allowed,
    number_zones,
    shift_local,
)
from tests.helpers.outbound import LA, NY, UTC, ny, practice

PRACTICE = practice()
DEFAULT = QuietHours()
BUSINESS = QuietHours(days=Days.BUSINESS_DAYS)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("day, windows", [
    (dt.date(2026, 3, 7), [(utc(2026, 3, 7, 14), utc(2026, 3, 8, 0))]),  # EST: 9:00–19:00 = 14:00–24:00 UTC
    (dt.date(2026, 3, 8), [(utc(2026, 3, 8, 13), utc(2026, 3, 8, 23))]),  # spring forward at 2:00: EDT all window
    (dt.date(2026, 10, 31), [(utc(2026, 10, 31, 13), utc(2026, 10, 31, 23))]),
    (dt.date(2026, 11, 1), [(utc(2026, 11, 1, 14), utc(2026, 11, 2, 0))]),  # fall back at 2:00: EST all window
    (dt.date(2026, 11, 26), []),  # Thanksgiving, a practice holiday
    (dt.date(2026, 11, 27), []),  # a closure day
], ids=["before spring", "spring forward", "before fall", "fall back", "holiday", "closure"])
def test_allowed_windows_in_new_york(day, windows) -> None:
    assert allowed_windows(("America/New_York",), PRACTICE, DEFAULT, day) == windows


def test_business_days_and_partial_closures() -> None:
    assert allowed_windows(("America/New_York",), PRACTICE, BUSINESS, dt.date(2026, 11, 28)) == []  # Saturday
    assert allowed_windows(("America/New_York",), PRACTICE, DEFAULT, dt.date(2026, 11, 28)) == [
        (utc(2026, 11, 28, 14), utc(2026, 11, 29, 0))]
    afternoon_off = practice(PRACTICE_WITH_CLOSURE)
    assert allowed_windows(("America/New_York",), afternoon_off, DEFAULT, dt.date(2026, 11, 24)) == [
        (utc(2026, 11, 24, 14), utc(2026, 11, 24, 18)), (utc(2026, 11, 24, 21), utc(2026, 11, 25, 0))]


PRACTICE_WITH_CLOSURE = """\
name: Lakeside Counseling Collective
timezone: America/New_York
hours: {monday: ["09:00-17:00"], tuesday: ["09:00-17:00"]}
closures:
  - {start: "2026-11-24 13:00", end: "2026-11-24 16:00", reason: training}
"""


def test_the_client_zone_the_practice_zone_and_the_area_code() -> None:
    assert client_zones("America/Chicago", "+13105550100", "America/New_York") == ("America/Chicago",)
    assert client_zones(None, "+13105550100", "America/New_York") == ("America/New_York", "America/Los_Angeles")
    assert client_zones("Not/AZone", "+12125550100", "America/New_York") == ("America/New_York",)
    assert client_zones(None, "+15551230001", "America/New_York") == ("America/New_York",)  # 555: no area
    assert client_zones(None, "+18005550100", "America/New_York") == ("America/New_York",)  # toll-free
    assert number_zones("+13105550100") == ("America/Los_Angeles",)
    # The stricter of New York and Los Angeles: 9:00 in LA (12:00 NY) to 19:00 in NY (16:00 LA).
    assert allowed_windows(("America/New_York", "America/Los_Angeles"), PRACTICE, DEFAULT, dt.date(2026, 3, 10)) == [
        (utc(2026, 3, 10, 16), utc(2026, 3, 10, 23))]


def test_never_outside_eight_to_eight_whatever_the_rules_say() -> None:
    wide = QuietHours(dt.time(6, 0), dt.time(22, 30))
    assert allowed_windows(("America/New_York",), PRACTICE, wide, dt.date(2026, 11, 23)) == [
        (utc(2026, 11, 23, 13), utc(2026, 11, 24, 1))]  # 8:00–20:00 EST
    assert not is_allowed(ny(11, 23, 7, 59), ("America/New_York",), PRACTICE, wide)
    assert is_allowed(ny(11, 23, 8), ("America/New_York",), PRACTICE, wide)


def test_next_allowed_and_latest_allowed_before() -> None:
    zones = ("America/New_York",)
    assert next_allowed(ny(11, 23, 10), zones, PRACTICE, DEFAULT) == ny(11, 23, 10)
    assert next_allowed(ny(11, 23, 19), zones, PRACTICE, DEFAULT) == ny(11, 24, 9)  # the end is not included
    assert next_allowed(ny(11, 25, 19, 20), zones, PRACTICE, BUSINESS) == ny(11, 30, 9)  # holiday, closure, weekend
    assert next_allowed(ny(11, 25, 19, 20), zones, PRACTICE, BUSINESS, until=ny(11, 29)) is None
    assert latest_allowed_before(ny(11, 30, 9, 30), zones, PRACTICE, BUSINESS) == ny(11, 30, 9, 29)
    assert latest_allowed_before(ny(11, 30, 9), zones, PRACTICE, BUSINESS) == ny(11, 25, 18, 59)
    assert latest_allowed_before(ny(11, 30, 9), zones, PRACTICE, BUSINESS, not_before=ny(11, 28)) is None
    assert next_allowed(ny(11, 23, 7), ("America/Los_Angeles",), PRACTICE, DEFAULT) == ny(11, 23, 12)


def test_local_times_that_do_not_exist_or_happen_twice() -> None:
    # 2:30 on 8 March 2026 does not exist in New York: the clocks jump from 2:00 EST to 3:00 EDT (7:00 UTC).
    assert local_to_utc(dt.date(2026, 3, 8), dt.time(2, 30), NY) == utc(2026, 3, 8, 7)
    assert local_to_utc(dt.date(2026, 3, 8), dt.time(2, 30), NY, later=True) == utc(2026, 3, 8, 7)
    # 1:30 on 1 November 2026 happens twice: 5:30 UTC (EDT) and 6:30 UTC (EST).
    assert local_to_utc(dt.date(2026, 11, 1), dt.time(1, 30), NY) == utc(2026, 11, 1, 5, 30)
    assert local_to_utc(dt.date(2026, 11, 1), dt.time(1, 30), NY, later=True) == utc(2026, 11, 1, 6, 30)
    assert local_to_utc(dt.date(2026, 7, 1), dt.time(9), LA) == utc(2026, 7, 1, 16)


def test_quiet_hours_bounds_on_dst_changes_in_a_zone_that_changes_at_midnight() -> None:
    # Santiago (Chile) moves its clocks at midnight; a window from 00:00 is not used (never before 08:00),
    # but days that start with a gap still give a full 09:00–19:00.
    windows = allowed_windows(("America/Santiago",), practice(PRACTICE_CHILE), DEFAULT, dt.date(2026, 9, 6))
    assert [(s.astimezone(dt.timezone(dt.timedelta(hours=-3))).time(), e - s) for s, e in windows] == [
        (dt.time(9, 0), dt.timedelta(hours=10))]


PRACTICE_CHILE = """\
name: Consulta Los Andes
timezone: America/Santiago
"""


@pytest.mark.parametrize("at, days, seconds, expected", [
    (ny(3, 9, 10), -2, 0, ny(3, 7, 10)),  # across spring forward: same clock time
    (ny(11, 2, 10), -2, 0, ny(10, 31, 10)),  # across fall back
    (ny(3, 9, 10), 0, -2 * 3600, ny(3, 9, 8)),
    (ny(3, 1, 10, 50), 7, 0, ny(3, 8, 10, 50)),
])
def test_shift_local_counts_calendar_days(at, days, seconds, expected) -> None:
    assert shift_local(at, NY, days=days, seconds=seconds) == expected


# fix1112-left item 5: quiet hours across DST for a client in another zone than the practice's (New York).
@pytest.mark.parametrize("zone, day, windows", [
    # London left summer time on 25 October, New York only on 1 November: that week 09:00-19:00 London is
    # 09:00-19:00 UTC (05:00-15:00 New York), then 09:00-19:00 UTC still (04:00-14:00 New York).
    ("Europe/London", dt.date(2026, 10, 23), [(utc(2026, 10, 23, 8), utc(2026, 10, 23, 18))]),  # BST
    ("Europe/London", dt.date(2026, 10, 28), [(utc(2026, 10, 28, 9), utc(2026, 10, 28, 19))]),  # the gap week
    ("Europe/London", dt.date(2026, 11, 2), [(utc(2026, 11, 2, 9), utc(2026, 11, 2, 19))]),
    # Phoenix keeps no summer time: 16:00-02:00 UTC on both sides of New York's change.
    ("America/Phoenix", dt.date(2026, 10, 30), [(utc(2026, 10, 30, 16), utc(2026, 10, 31, 2))]),
    ("America/Phoenix", dt.date(2026, 11, 2), [(utc(2026, 11, 2, 16), utc(2026, 11, 3, 2))]),
], ids=["london-bst", "london-gap-week", "london-after", "phoenix-before", "phoenix-after"])
def test_quiet_hours_of_a_client_in_another_zone_across_both_dst_changes(zone, day, windows) -> None:
    zones = client_zones(zone, "+12125550100", "America/New_York")  # a New York number: their record's zone wins
    assert zones == (zone,)
    assert allowed_windows(zones, PRACTICE, BUSINESS, day) == windows
    start, end = windows[0]
    assert not is_allowed(start - dt.timedelta(minutes=1), zones, PRACTICE, BUSINESS)
    assert is_allowed(start, zones, PRACTICE, BUSINESS)
    assert not is_allowed(end, zones, PRACTICE, BUSINESS)
