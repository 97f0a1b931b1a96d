"""Dates, times and digits as Twilio <Say> should read them."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.core.spoken_output import (
    FILTERS,
    spoken_date,
    spoken_datetime,
    spoken_digits,
    spoken_phone,
    spoken_phone_last4,
    spoken_time,
)

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
UTC = UTC


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


# Wednesday, December 2, 2026, mid-morning in New York.
NOW = ny(2026, 12, 2, 10, 0)


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (ny(2026, 12, 2, 15, 30), "today at 3:30 PM"),
        (ny(2026, 12, 2, 9, 0), "today at 9 AM"),
        (ny(2026, 12, 3, 9, 0), "tomorrow at 9 AM"),
        (ny(2026, 12, 4, 14, 0), "Friday at 2 PM"),
        (ny(2026, 12, 8, 8, 5), "Tuesday at 8:05 AM"),  # six days ahead
        (ny(2026, 12, 9, 10, 15), "Wednesday, December 9 at 10:15 AM"),  # seven days ahead
        (ny(2026, 12, 31, 17, 45), "Thursday, December 31 at 5:45 PM"),
        (ny(2027, 1, 4, 10, 15), "Monday, January 4, 2027 at 10:15 AM"),
        (ny(2026, 12, 1, 16, 0), "yesterday at 4 PM"),
        (ny(2026, 11, 30, 16, 0), "Monday, November 30 at 4 PM"),  # past: never a bare weekday
        (ny(2025, 12, 2, 16, 0), "Tuesday, December 2, 2025 at 4 PM"),
    ],
)
def test_spoken_datetime(dt: datetime, expected: str) -> None:
    assert spoken_datetime(dt, NOW) == expected


def test_brief_example_monday_december_7() -> None:
    assert spoken_datetime(ny(2026, 12, 7, 10, 15), ny(2026, 11, 23, 12, 0)) == "Monday, December 7 at 10:15 AM"


def test_noon_and_midnight_read_as_12_pm_and_12_am() -> None:
    assert spoken_time(ny(2026, 12, 2, 12, 0)) == "12 PM"
    assert spoken_time(ny(2026, 12, 2, 0, 0)) == "12 AM"
    assert spoken_time(ny(2026, 12, 2, 12, 30)) == "12:30 PM"
    assert spoken_time(ny(2026, 12, 2, 0, 5)) == "12:05 AM"
    assert spoken_time(ny(2026, 12, 2, 23, 59)) == "11:59 PM"
    assert spoken_time(ny(2026, 12, 2, 1, 0)) == "1 AM"
    assert spoken_datetime(ny(2026, 12, 3, 0, 0), NOW) == "tomorrow at 12 AM"
    assert spoken_datetime(ny(2026, 12, 2, 12, 0), NOW) == "today at 12 PM"


def test_rendered_in_the_appointments_zone() -> None:
    # 02:00 UTC on Dec 3 is still Dec 2 (21:00) in New York: a 9 AM NY slot is "tomorrow".
    assert spoken_datetime(ny(2026, 12, 3, 9, 0), datetime(2026, 12, 3, 2, 0, tzinfo=UTC)) == "tomorrow at 9 AM"
    # The same instant spoken in Los Angeles time.
    slot = ny(2026, 12, 3, 9, 0).astimezone(LA)
    assert spoken_datetime(slot, NOW) == "tomorrow at 6 AM"
    # A UTC datetime is read in UTC, not converted to anyone's local time.
    assert spoken_datetime(datetime(2026, 12, 2, 20, 0, tzinfo=UTC), NOW) == "today at 8 PM"


def test_dst_change_keeps_wall_clock_time() -> None:
    now = ny(2026, 3, 6, 16, 0)  # Friday before spring-forward
    assert spoken_datetime(ny(2026, 3, 9, 9, 0), now) == "Monday at 9 AM"
    assert spoken_datetime(datetime(2026, 3, 9, 13, 0, tzinfo=UTC).astimezone(NY), now) == "Monday at 9 AM"


def test_iso_strings_from_session_json_are_accepted() -> None:
    assert spoken_datetime("2026-12-03T09:00:00-05:00", NOW) == "tomorrow at 9 AM"
    assert spoken_time("2026-12-03T14:20:00-05:00") == "2:20 PM"
    assert spoken_date("2026-12-04", NOW) == "Friday"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        spoken_datetime(datetime(2026, 12, 3, 9, 0), NOW)
    with pytest.raises(ValueError):
        spoken_datetime(ny(2026, 12, 3, 9, 0), datetime(2026, 12, 2, 10, 0))


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2026, 12, 2), "today"),
        (date(2026, 12, 3), "tomorrow"),
        (date(2026, 12, 1), "yesterday"),
        (date(2026, 12, 5), "Saturday"),
        (date(2026, 12, 25), "Friday, December 25"),
        (date(2027, 1, 1), "Friday, January 1, 2027"),
        (ny(2026, 12, 6, 23, 0), "Sunday"),
    ],
)
def test_spoken_date(d: date, expected: str) -> None:
    assert spoken_date(d, NOW) == expected


def test_week_ahead_across_new_year_needs_no_year() -> None:
    assert spoken_date(date(2027, 1, 2), ny(2026, 12, 30, 9, 0)) == "Saturday"
    assert spoken_date(date(2027, 1, 6), ny(2026, 12, 30, 9, 0)) == "Wednesday, January 6, 2027"


def test_spoken_digits() -> None:
    assert spoken_digits("415") == "4 1 5"
    assert spoken_digits("(415) 555-0100") == "4 1 5 5 5 5 0 1 0 0"
    assert spoken_digits(2026) == "2 0 2 6"
    assert spoken_digits("A7b") == "A 7 b"
    assert spoken_digits("") == ""


@pytest.mark.parametrize(("number", "region", "said"), [
    # grouped as a person says it (bt14 s24 nit 6): phonenumbers' format for the country, a comma between groups
    ("+15551230099", "US", "5 5 5, 1 2 3, 0 0 9 9"),
    ("+15551234567", "US", "5 5 5, 1 2 3, 4 5 6 7"),
    ("+12125550142", "US", "2 1 2, 5 5 5, 0 1 4 2"),
    ("+16135550123", "CA", "6 1 3, 5 5 5, 0 1 2 3"),  # Canada shares +1: national, no country code
    ("+442079460000", "GB", "0 2 0, 7 9 4 6, 0 0 0 0"),  # the trunk 0, as dialled in Britain
    ("+441632960000", "GB", "0 1 6 3 2, 9 6 0 0 0 0"),
    ("+61212345678", "AU", "0 2, 1 2 3 4, 5 6 7 8"),
    ("+33123456789", "FR", "0 1, 2 3, 4 5, 6 7, 8 9"),
    # another country's number: its country code and international groups
    ("+441632960000", "US", "plus 4 4, 1 6 3 2, 9 6 0 0 0 0"),
    ("+15551230099", "GB", "plus 1, 5 5 5, 1 2 3, 0 0 9 9"),
    ("5551230099", "US", "5 5 5 1 2 3 0 0 9 9"),  # no E.164: its digits
    # fix14-nits6: an extension kept after the number is one more group, named
    ("+15552123456;ext=12", "US", "5 5 5, 2 1 2, 3 4 5 6, extension 1 2"),
    ("+441632960000;ext=7", "US", "plus 4 4, 1 6 3 2, 9 6 0 0 0 0, extension 7"),
])
def test_spoken_phone_reads_the_number_in_its_groups(number: str, region: str, said: str) -> None:
    assert spoken_phone(number, region) == said


def test_spoken_phone_last4() -> None:
    assert spoken_phone_last4("+15550100001") == "ending in 0 0 0 1"
    assert spoken_phone_last4("+12125550142") == "ending in 0 1 4 2"
    with pytest.raises(ValueError):
        spoken_phone_last4("+12")


def test_filters_work_in_jinja() -> None:
    jinja2 = pytest.importorskip("jinja2")
    env = jinja2.Environment(autoescape=False)
    env.filters.update(FILTERS)
    template = env.from_string(
        "Your appointment is {{ appt | spoken_datetime(now) }}. "
        "We will call the number {{ phone | spoken_phone_last4 }}. Code {{ code | spoken_digits }}."
    )
    text = template.render(appt=ny(2026, 12, 3, 9, 0), now=NOW, phone="+12125550100", code="482")
    assert text == "Your appointment is tomorrow at 9 AM. We will call the number ending in 0 1 0 0. Code 4 8 2."


# ---- daylight-saving changes: a promised time is never misheard --------------------------------------

def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _in(now: datetime, **delta: float) -> datetime:
    """``now`` plus real elapsed time (through UTC), in New York time."""
    from datetime import timedelta

    return (now.astimezone(UTC) + timedelta(**delta)).astimezone(NY)


# 2026-11-01: at 2:00 AM daylight time New York goes back to 1:00 AM standard time (1:00-1:59 happens twice).
# 2026-03-08: at 2:00 AM standard time it jumps to 3:00 AM daylight time (2:00-2:59 never happens).
FIRST_0150 = _utc(2026, 11, 1, 5, 50).astimezone(NY)  # 1:50 AM EDT, the first pass
SECOND_0120 = _utc(2026, 11, 1, 6, 20).astimezone(NY)  # 1:20 AM EST, the repeat
SPRING_0150 = ny(2026, 3, 8, 1, 50)  # 1:50 AM EST, ten minutes before the jump


@pytest.mark.parametrize(
    ("now", "when", "expected"),
    [
        # The example: 01:50 EDT + 15 minutes is 01:05 EST, which must not sound earlier than now.
        (FIRST_0150, _in(FIRST_0150, minutes=15), "today at 1:05 AM standard time, 15 minutes from now"),
        # Both ends in the first pass: the clock time happens twice, so the zone is said; no change between.
        (ny(2026, 11, 1, 1, 20), ny(2026, 11, 1, 1, 40), "today at 1:40 AM daylight time"),
        # Both ends in the repeat.
        (SECOND_0120, _in(SECOND_0120, minutes=20), "today at 1:40 AM standard time"),
        # From before the fold into the repeat: 1:30 happens twice and the change lies between.
        (ny(2026, 11, 1, 0, 30), _in(ny(2026, 11, 1, 0, 30), hours=2), "today at 1:30 AM standard time, "
                                                                        "2 hours from now"),
        # Out of the fold to a time that happens once, across the change.
        (FIRST_0150, _in(FIRST_0150, hours=1, minutes=30), "today at 2:20 AM standard time, "
                                                           "1 hour and 30 minutes from now"),
        # Across the spring gap: 3:05 AM is 15 minutes away, not an hour and 15.
        (SPRING_0150, _in(SPRING_0150, minutes=15), "today at 3:05 AM daylight time, 15 minutes from now"),
        (ny(2026, 3, 7, 22, 0), ny(2026, 3, 8, 9, 0), "tomorrow at 9 AM daylight time, 10 hours from now"),
        # A day or more away the clock time is what the listener expects: no extra words.
        (ny(2026, 10, 30, 10, 0), ny(2026, 11, 2, 10, 0), "Monday at 10 AM"),
        (ny(2026, 3, 6, 16, 0), ny(2026, 3, 9, 9, 0), "Monday at 9 AM"),
        # The same day, no change in between, no repeated hour: unchanged.
        (ny(2026, 11, 1, 9, 0), ny(2026, 11, 1, 11, 0), "today at 11 AM"),
        (ny(2026, 3, 8, 4, 0), ny(2026, 3, 8, 4, 15), "today at 4:15 AM"),
        # A clock time in the spring gap (built by hand) is said as the moment it stands for.
        (ny(2026, 3, 7, 12, 0), ny(2026, 3, 8, 2, 30), "tomorrow at 3:30 AM daylight time, 14 hours and 30 minutes "
                                                       "from now"),
        # Already past: no "from now".
        (ny(2026, 11, 1, 3, 0), FIRST_0150, "today at 1:50 AM daylight time"),
    ],
)
def test_promised_times_around_dst_changes(now: datetime, when: datetime, expected: str) -> None:
    assert spoken_datetime(when, now) == expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (FIRST_0150, "1:50 AM daylight time"),
        (_in(FIRST_0150, minutes=15), "1:05 AM standard time"),
        (ny(2026, 11, 1, 2, 0), "2 AM"),
        (ny(2026, 11, 1, 0, 59), "12:59 AM"),
        (ny(2026, 3, 8, 2, 30), "3:30 AM"),  # does not exist: the moment it stands for
        (ny(2026, 3, 8, 1, 59), "1:59 AM"),
        # A bare UTC offset says nothing about folds: the time alone.
        ("2026-11-01T01:05:00-05:00", "1:05 AM"),
    ],
)
def test_spoken_time_names_the_zone_only_in_a_repeated_hour(when, expected: str) -> None:
    assert spoken_time(when) == expected


def test_written_times_in_a_repeated_hour_carry_the_zone_abbreviation() -> None:
    from ivr.core.spoken_output import written_datetime

    assert written_datetime(_in(FIRST_0150, minutes=15)) == "Sun, Nov 1 at 1:05 AM EST"
    assert written_datetime(FIRST_0150) == "Sun, Nov 1 at 1:50 AM EDT"
    assert written_datetime(ny(2026, 11, 2, 9, 0)) == "Mon, Nov 2 at 9 AM"


@pytest.mark.parametrize(("minutes", "expected"), [(1, "1 minute"), (15, "15 minutes"), (60, "1 hour"),
                                                   (61, "1 hour and 1 minute"), (125, "2 hours and 5 minutes")])
def test_spoken_duration(minutes: int, expected: str) -> None:
    from datetime import timedelta

    from ivr.core.spoken_output import spoken_duration

    assert spoken_duration(timedelta(minutes=minutes)) == expected


def test_the_spoken_filter_reads_stored_offsets_in_the_practice_zone() -> None:
    # Session JSON keeps "2026-11-01T01:05:00-05:00"; spoken against a practice-time now it gets its zone back.
    from ivr.core.templates import compile_template

    template = compile_template("Someone will call you back by {{ when | spoken }}.")
    text = template.render({"now": FIRST_0150, "when": "2026-11-01T01:05:00-05:00"})
    assert text == "Someone will call you back by today at 1:05 AM standard time, 15 minutes from now."
    assert compile_template("{{ when | spoken_time }}").render(
        {"now": FIRST_0150, "when": "2026-11-01T01:05:00-05:00"}) == "1:05 AM standard time"


@pytest.mark.parametrize("now, heard", [
    # The example, end to end: 01:50 daylight time, a 15-minute promise falls in the repeated hour.
    (FIRST_0150, "Thank you. Someone will call you back by today at 1:05 AM standard time, 15 minutes from now. "
                 "Goodbye."),
    # Inside the repeat itself.
    (SECOND_0120, "Thank you. Someone will call you back by today at 1:35 AM standard time. Goodbye."),
    # Across the spring gap: 1:50 standard time + 15 minutes is 3:05 daylight time.
    (SPRING_0150, "Thank you. Someone will call you back by today at 3:05 AM daylight time, 15 minutes from now. "
                  "Goodbye."),
])
def test_a_caller_hears_a_promise_across_a_dst_change_that_cannot_be_misread(settings_overrides, flows_dir,
                                                                              redis_conn, clock, database, standin,
                                                                              now, heard):
    from ivr.app import create_app
    from ivr.dev.simulator import CallSimulator, FlaskTransport
    from tests.helpers.service import ACCOUNT, PUBLIC, TOKEN

    practice = flows_dir / "practice.yaml"
    practice.write_text(practice.read_text().replace(
        "callback_request: {within: 2 business hours, priority: normal, reminder_lead_minutes: 30}",
        "callback_request: {within: 15 minutes, priority: normal}"))
    clock.now = now
    app = create_app(settings_overrides, redis=redis_conn, clock=clock, strict_flows=True, database=database)
    sim = CallSimulator(FlaskTransport(app.test_client()), auth_token=TOKEN, public_base_url=PUBLIC,
                        account_sid=ACCOUNT, recording_url_base=standin.url)
    result = sim.call(script="0;record:3")
    assert result.heard[-1] == heard
