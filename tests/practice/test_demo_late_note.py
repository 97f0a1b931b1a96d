"""Break test s25 (SHOULD-FIX 4): seeded outside calling hours, the demo says by ids only why its late follow-up
call to Taylor will not be waiting; inside them it says nothing."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ivr.practice.demo import late_call_note, seed_demo

NY = ZoneInfo("America/New_York")
NIGHT = dt.datetime(2026, 12, 1, 23, 13, tzinfo=NY)  # Tuesday 23:13


@pytest.fixture
def database(any_database):
    return any_database


def test_seeded_at_night_the_demo_says_the_late_call_will_not_be_placed(database) -> None:
    report = seed_demo(database.sessions, NIGHT.astimezone(dt.UTC), NY)
    assert report.late_note == (
        "The demo's late follow-up for C-1007 (A-2000) will not be placed: it is Tue 23:13 in the practice's time "
        "zone, outside calling hours (09:00-19:00 on weekdays), and a late call goes within 30 minutes or not at "
        "all. To try `flask --app app call --outbound` now, start the demo on a moved clock: "
        'make run ARGS="--wallclock 2026-12-09T11:00:00-05:00" (README).')
    assert "Taylor" not in report.late_note and "+1555" not in report.late_note  # ids only


@pytest.mark.parametrize("when, says", [
    (dt.datetime(2026, 12, 1, 10, 0, tzinfo=NY), False),  # Tuesday 10:00
    (dt.datetime(2026, 12, 1, 18, 59, tzinfo=NY), False),
    (dt.datetime(2026, 12, 1, 19, 0, tzinfo=NY), True),
    (dt.datetime(2026, 12, 1, 8, 59, tzinfo=NY), True),
    (dt.datetime(2026, 12, 5, 11, 0, tzinfo=NY), True),  # Saturday
])
def test_the_note_is_given_only_outside_calling_hours(when: dt.datetime, says: bool) -> None:
    assert (late_call_note(when.astimezone(dt.UTC), NY) is not None) is says
