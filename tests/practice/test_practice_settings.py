"""Practice settings: parsing with located problems, and open/closed status."""
from __future__ import annotations

import dataclasses
import json
import textwrap
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from ivr.core import yamlsafe
from ivr.core.hours import OpenStatus, status_at
from ivr.exceptions import FlowError
from ivr.practice.settings.checks import SCHEMA_PATH, load_practice, parse_practice
from ivr.practice.settings.model import (
    DEFAULT_EMERGENCY_GUIDANCE,
    PracticeSettings,
    StaffMember,
    staff_numbers,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "flows" / "practice.yaml"
NY = ZoneInfo("America/New_York")
UTC = UTC


@pytest.fixture(scope="module")
def demo() -> PracticeSettings:
    return load_practice(DEMO)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def problems_of(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(FlowError) as info:
        parse_practice(textwrap.dedent(text), "practice.yaml")
    assert all(p.file == "practice.yaml" for p in info.value.problems)
    return [(p.line, p.message) for p in info.value.problems]


MINIMAL = """\
name: Test Practice
timezone: America/New_York
"""


# --------------------------------------------------------------------------- demo file


def test_demo_file_parses(demo: PracticeSettings) -> None:
    assert demo.name == "Lakeside Counseling Collective"
    assert demo.timezone == "America/New_York"
    assert demo.tz == NY
    assert demo.entry_flow == "main"
    assert demo.voice == "Polly.Joanna"
    assert demo.language == "en-US"
    assert demo.callback_promise == "within one business day"
    assert demo.emergency_guidance == DEFAULT_EMERGENCY_GUIDANCE
    assert list(demo.hours) == ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    for day in ("monday", "tuesday", "wednesday", "thursday"):
        assert demo.hours[day] == ((time(9, 0), time(18, 0)),)
    assert demo.hours["friday"] == ((time(9, 0), time(15, 0)),)
    assert demo.hours["saturday"] == () and demo.hours["sunday"] == ()
    assert {h.date: h.name for h in demo.holidays}[date(2026, 11, 26)] == "Thanksgiving"
    assert date(2026, 12, 25) in {h.date for h in demo.holidays}
    assert date(2027, 1, 1) in {h.date for h in demo.holidays}
    assert [m.key for m in demo.staff] == ["front_desk", "on_call", "billing"]
    assert demo.staff[0] == StaffMember("front_desk", "Front desk", "+15550100100", "Scheduling and general questions")
    assert demo.staff_member("billing").phone_e164 == "+15550100102"


def test_demo_file_points_editors_at_the_schema_and_validates_against_it() -> None:
    first = DEMO.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../ivr/flowlang/schemas/practice.schema.json"
    assert (DEMO.parent / "../ivr/flowlang/schemas/practice.schema.json").resolve() == SCHEMA_PATH
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    data = yamlsafe.load(DEMO.read_text(encoding="utf-8")).data
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(data)) == []


def test_every_schema_property_has_title_and_description() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    missing = []

    def walk(node: dict, where: str) -> None:
        for name, sub in node.get("properties", {}).items():
            if not (sub.get("title") and sub.get("description")):
                missing.append(f"{where}.{name}")
            walk(sub, f"{where}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                walk(node[key], f"{where}[{key}]")
        for name, sub in node.get("$defs", {}).items():
            walk(sub, f"$defs.{name}")

    walk(schema, "")
    assert missing == []


def test_staff_numbers(demo: PracticeSettings) -> None:
    assert staff_numbers(demo, ["on_call", "front_desk"]) == ["+15550100101", "+15550100100"]
    assert staff_numbers(demo, []) == []
    with pytest.raises(KeyError):
        staff_numbers(demo, ["front_desk", "nobody"])
    with pytest.raises(KeyError):
        demo.staff_member("Front_desk")


def test_defaults_and_phone_formats() -> None:
    s = parse_practice(
        MINIMAL
        + textwrap.dedent(
            """\
            staff:
              a: {name: A, phone: "(212) 555-0100"}
              b: {name: B, phone: "+44 20 7946 0000"}
              c: {name: C, phone: 12125550123}
              d: {name: D, phone: "212.555.0199", role: billing}
            """
        )
    )
    assert s.phone_region == "US" and s.voice == "Polly.Joanna" and s.language == "en-US"
    assert s.entry_flow == "main" and s.callback_promise is None
    assert s.emergency_guidance.startswith("If you are in danger")
    assert all(s.hours[d] == () for d in s.hours) and len(s.hours) == 7
    assert staff_numbers(s, ["a", "b", "c", "d"]) == ["+12125550100", "+442079460000", "+12125550123", "+12125550199"]
    assert s.staff_member("d").role == "billing" and s.staff_member("a").role is None
    # review 14 finding 8: the main menu offers "new client" to everyone, so without `new_clients` it works
    assert s.new_clients_accepting is True


def test_new_clients_not_accepting_is_said_explicitly() -> None:
    s = parse_practice(MINIMAL + "new_clients: {accepting: false}\n")
    assert s.new_clients_accepting is False


def test_bad_phone_numbers_are_located() -> None:
    got = problems_of(
        MINIMAL
        + """\
staff:
  a: {name: A, phone: "555-0100"}
  b: {name: B, phone: "+1 555 010 01000"}
  c: {name: C, phone: "call me"}
  d: {name: D, phone: 12}
  e: {name: E, phone: "+1 555 010 0100"}
"""
    )
    assert got == [
        (4, "staff.a.phone: '555-0100' is not a valid phone number"),
        (5, "staff.b.phone: '+1 555 010 01000' is not a valid phone number"),
        (6, "staff.c.phone: 'call me' is not a valid phone number"),
        (7, "staff.d.phone: '12' is not a valid phone number (put it in quotes, starting with +country code)"),
    ]


def test_empty_sections_mean_none() -> None:
    s = parse_practice(MINIMAL + "hours:\nholidays:\nclosures:\nstaff:\n")
    assert s.hours["monday"] == () and s.holidays == () and s.closures == () and s.staff == ()


def test_settings_are_frozen(demo: PracticeSettings) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        demo.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        demo.hours["monday"] = ()  # type: ignore[index]
    assert isinstance(demo.staff, tuple)


# --------------------------------------------------------------------------- status


def test_monday_morning_is_open(demo: PracticeSettings) -> None:
    st = status_at(demo, ny(2026, 11, 23, 10, 0))  # Monday
    assert st == OpenStatus(open=True, reason="open", closes_at=ny(2026, 11, 23, 18, 0))
    assert st.next_open is None


def test_opening_minute_is_open_and_closing_minute_is_closed(demo: PracticeSettings) -> None:
    assert status_at(demo, ny(2026, 11, 23, 9, 0)).open
    assert not status_at(demo, ny(2026, 11, 23, 8, 59, 59)).open
    assert status_at(demo, ny(2026, 11, 23, 17, 59, 59)).open
    st = status_at(demo, ny(2026, 11, 23, 18, 0))
    assert st == OpenStatus(open=False, reason="closed", next_open=ny(2026, 11, 24, 9, 0))


def test_friday_afternoon_next_open_is_monday(demo: PracticeSettings) -> None:
    st = status_at(demo, ny(2026, 10, 16, 16, 0))  # Friday, closes at 15:00
    assert st == OpenStatus(open=False, reason="closed", next_open=ny(2026, 10, 19, 9, 0))
    assert st.next_open is not None and st.next_open.strftime("%A") == "Monday"


def test_now_in_another_zone_is_converted(demo: PracticeSettings) -> None:
    # 14:30 UTC on a Monday in November is 09:30 in New York.
    st = status_at(demo, datetime(2026, 11, 23, 14, 30, tzinfo=UTC))
    assert st.open and st.closes_at == ny(2026, 11, 23, 18, 0)
    assert st.closes_at is not None and st.closes_at.tzinfo == NY
    # 03:00 UTC on Tuesday is still Monday evening in New York.
    st = status_at(demo, datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
    assert st.next_open == ny(2026, 11, 24, 9, 0)


def test_naive_now_is_refused(demo: PracticeSettings) -> None:
    with pytest.raises(ValueError):
        status_at(demo, datetime(2026, 11, 23, 10, 0))


def test_thanksgiving_is_a_named_holiday(demo: PracticeSettings) -> None:
    st = status_at(demo, ny(2026, 11, 26, 11, 0))
    assert st == OpenStatus(
        open=False, reason="holiday", holiday_name="Thanksgiving", next_open=ny(2026, 11, 27, 9, 0)
    )
    # Midnight starts the holiday; the evening before is merely closed.
    assert status_at(demo, ny(2026, 11, 26, 0, 0)).reason == "holiday"
    assert status_at(demo, ny(2026, 11, 25, 23, 59)).reason == "closed"


def test_christmas_then_year_end_closure_then_new_year(demo: PracticeSettings) -> None:
    st = status_at(demo, ny(2026, 12, 24, 19, 0))  # Thursday evening
    # Christmas (Fri), weekend, year-end break Mon 28 - Thu 31, New Year (Fri), weekend.
    assert st.next_open == ny(2027, 1, 4, 9, 0)


def test_partial_closure(demo: PracticeSettings) -> None:
    before = status_at(demo, ny(2026, 11, 25, 10, 0))  # Wednesday, closure 13:00-18:00
    assert before.open and before.closes_at == ny(2026, 11, 25, 13, 0)
    during = status_at(demo, ny(2026, 11, 25, 13, 0))
    assert during == OpenStatus(
        open=False,
        reason="closure",
        next_open=ny(2026, 11, 27, 9, 0),  # Thanksgiving in between
        closure_reason="the Thanksgiving holiday",
    )


def test_closure_with_offset_and_date_only_end() -> None:
    s = parse_practice(
        MINIMAL
        + textwrap.dedent(
            """\
            hours:
              monday: ["09:00-12:00", "13:00-17:00"]
              tuesday: ["09:00-17:00"]
            closures:
              - start: "2026-06-01T15:00:00Z"     # 11:00 New York time (EDT)
                end: 2026-06-02                 # through the end of Tuesday
                reason: a conference
            """
        )
    )
    assert s.closures[0].start == ny(2026, 6, 1, 11, 0)
    assert s.closures[0].end == ny(2026, 6, 3, 0, 0)
    st = status_at(s, ny(2026, 6, 1, 10, 0))
    assert st.open and st.closes_at == ny(2026, 6, 1, 11, 0)
    st = status_at(s, ny(2026, 6, 2, 10, 0))
    assert st.reason == "closure" and st.next_open == ny(2026, 6, 8, 9, 0)


def test_lunch_break_and_touching_ranges() -> None:
    s = parse_practice(
        MINIMAL
        + textwrap.dedent(
            """\
            hours:
              monday: ["09:00-12:00", "13:00-17:00"]
              tuesday: ["13:00-17:00", "09:00-13:00"]
            """
        )
    )
    assert status_at(s, ny(2026, 6, 1, 11, 0)).closes_at == ny(2026, 6, 1, 12, 0)
    lunch = status_at(s, ny(2026, 6, 1, 12, 30))
    assert lunch.reason == "closed" and lunch.next_open == ny(2026, 6, 1, 13, 0)
    # Ranges that touch read as one opening.
    assert status_at(s, ny(2026, 6, 2, 10, 0)).closes_at == ny(2026, 6, 2, 17, 0)


def test_never_open_within_30_days() -> None:
    s = parse_practice(MINIMAL + "hours:\n  monday: ['09:00-17:00']\nclosures:\n"
                       "  - {start: '2026-06-01', end: '2026-08-01', reason: sabbatical}\n")
    st = status_at(s, ny(2026, 6, 3, 10, 0))
    assert st == OpenStatus(open=False, reason="closure", next_open=None, closure_reason="sabbatical")
    # With the end of the sabbatical inside 30 days, the next opening is found.
    assert status_at(s, ny(2026, 7, 15, 10, 0)).next_open == ny(2026, 8, 3, 9, 0)
    assert status_at(parse_practice(MINIMAL), ny(2026, 6, 3, 10, 0)).next_open is None


def test_lookahead_is_exactly_30_days() -> None:
    days = "".join(f"  {d}: ['09:00-17:00']\n" for d in ("monday", "tuesday", "wednesday", "thursday",
                                                           "friday", "saturday", "sunday"))
    s = parse_practice(MINIMAL + "hours:\n" + days + "closures:\n"
                       "  - {start: '2026-06-01', end: '2026-07-02', reason: renovation}\n")
    # Reopens Friday 2026-07-03 at 09:00: 29 days 23 hours after 10:00 on June 3...
    assert status_at(s, ny(2026, 6, 3, 10, 0)).next_open == ny(2026, 7, 3, 9, 0)
    # ...but 30 days and one hour after 08:00: too far.
    assert status_at(s, ny(2026, 6, 3, 8, 0)).next_open is None


def test_dst_spring_forward_week(demo: PracticeSettings) -> None:
    # US clocks go forward on Sunday 2026-03-08 at 02:00.
    friday = status_at(demo, ny(2026, 3, 6, 16, 0))
    assert friday.next_open == ny(2026, 3, 9, 9, 0)
    assert friday.next_open is not None
    assert friday.next_open.utcoffset() == timedelta(hours=-4)
    assert friday.next_open.astimezone(UTC) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    # 13:30 UTC is 08:30 EST before the change (closed) and 09:30 EDT after it (open).
    before = status_at(demo, datetime(2026, 3, 6, 13, 30, tzinfo=UTC))
    assert not before.open and before.next_open == datetime(2026, 3, 6, 14, 0, tzinfo=UTC)
    after = status_at(demo, datetime(2026, 3, 9, 13, 30, tzinfo=UTC))
    assert after.open and after.closes_at == datetime(2026, 3, 9, 22, 0, tzinfo=UTC)
    assert status_at(demo, datetime(2026, 3, 9, 12, 59, tzinfo=UTC)).open is False


def test_dst_hours_across_the_missing_hour() -> None:
    s = parse_practice(MINIMAL + "hours:\n  sunday: ['01:00-04:00']\n")
    # 01:00 EST = 06:00 UTC; 04:00 EDT = 08:00 UTC: two real hours that day.
    assert not status_at(s, datetime(2026, 3, 8, 5, 59, tzinfo=UTC)).open
    st = status_at(s, datetime(2026, 3, 8, 6, 30, tzinfo=UTC))
    assert st.open and st.closes_at == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    assert st.closes_at == ny(2026, 3, 8, 4, 0)
    assert not status_at(s, datetime(2026, 3, 8, 8, 0, tzinfo=UTC)).open
    # The Sunday before had three real hours.
    assert status_at(s, datetime(2026, 3, 1, 8, 30, tzinfo=UTC)).open


def test_dst_fall_back() -> None:
    s = parse_practice(MINIMAL + "hours:\n  sunday: ['01:00-02:00']\n  monday: ['09:00-17:00']\n")
    # 2026-11-01: 01:00 EDT (05:00 UTC) to 02:00 EST (07:00 UTC), through the repeated hour.
    assert status_at(s, datetime(2026, 11, 1, 6, 30, tzinfo=UTC)).open
    st = status_at(s, datetime(2026, 11, 1, 7, 0, tzinfo=UTC))
    assert not st.open and st.next_open == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- problems


def test_broken_settings_report_every_problem_with_its_line() -> None:
    text = """\
        name: ""
        timezone: Mars/Olympus_Mons
        voce: Polly.Joanna
        hours:
          monday: ["09:00-12:00", "11:00-17:00"]
          tuesday: ["17:00-09:00"]
          wednesday: ["9 to 5"]
          thursday: ["25:00-26:00"]
          friday: "09:00-15:00"
        holidays:
          - date: "2026-02-31"
            name: Nope
          - name: No date
        closures:
          - start: 2026-07-03 15:00
            end: 2026-07-03 12:00
            reason: backwards
        staff:
          front_desk:
            name: Front desk
            phone: "555-0100"
          Bad-Key:
            name: X
            phone: "+12125550100"
        """
    got = problems_of(text)
    assert [line for line, _ in got] == [1, 2, 3, 5, 6, 7, 8, 9, 11, 13, 16, 21, 22]
    assert got == [
        (1, "name must not be empty"),
        (2, "timezone: 'Mars/Olympus_Mons' is not a known IANA time zone (e.g. America/New_York)"),
        (3, "voce: unknown setting 'voce'; did you mean 'voice'?"),
        (5, "hours.monday[1]: '11:00-17:00' overlaps '09:00-12:00'"),
        (6, "hours.tuesday[0]: '17:00-09:00' must start before it ends (ranges cannot pass midnight)"),
        (7, "hours.wednesday[0]: '9 to 5' must be a time range like 09:00-17:00"),
        (8, "hours.thursday[0]: '25:00-26:00' has an impossible time (use 00:00 to 23:59)"),
        (9, "hours.friday must be a list or empty, not '09:00-15:00'"),
        (11, "holidays[0].date: '2026-02-31' is not a real date"),
        (13, "holidays[1]: missing required setting 'date'"),
        (16, "closures[0].end: the closure must end after it starts"),
        (21, "staff.front_desk.phone: '555-0100' is not a valid phone number"),
        (22, "staff.Bad-Key: staff keys must be lower-case words: letters, digits and _, starting with a letter"),
    ]


def test_missing_required_and_wrong_types() -> None:
    got = problems_of(
        """\
        voice: Polly.Joanna
        hours: ["09:00-17:00"]
        staff:
          owner: {name: Owner}
        """
    )
    assert got == [
        (1, "missing required setting 'name'"),
        (1, "missing required setting 'timezone'"),
        (2, "hours must be a mapping (key: value lines) or empty, not a list"),
        (4, "staff.owner: missing required setting 'phone'"),
    ]


def test_overlap_blames_the_later_range_even_when_listed_out_of_order() -> None:
    got = problems_of(
        MINIMAL
        + """\
hours:
  monday:
    - "13:00-17:00"
    - "09:00-12:00"
    - "11:30-13:30"
"""
    )
    assert got == [(7, "hours.monday[2]: '11:30-13:30' overlaps '13:00-17:00'")]


def test_unquoted_impossible_date_is_located() -> None:
    got = problems_of(MINIMAL + "holidays:\n  - date: 2026-02-30\n    name: x\n")
    assert got == [(4, "'2026-02-30' is not a valid value: day is out of range for month")]


def test_yaml_syntax_error_is_located() -> None:
    got = problems_of(MINIMAL + "hours:\n  monday: [09:00-17:00\n")
    assert len(got) == 1 and got[0][0] in (4, 5) and "syntax" in got[0][1]


def test_python_object_tag_is_refused() -> None:
    got = problems_of(
        """\
        name: Test
        timezone: America/New_York
        voice: !!python/object/apply:os.system ["echo pwned"]
        """
    )
    assert len(got) == 1
    line, message = got[0]
    assert line == 3
    assert "python/object/apply:os.system" in message and "not allowed" in message


def test_alias_bomb_is_refused_quickly() -> None:
    bomb = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi", strict=False):
        bomb += f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
    bomb += "name: Boom\ntimezone: America/New_York\n"
    with pytest.raises(FlowError) as info:  # refused before expansion: a billion "lol"s would never return
        parse_practice(bomb)
    [problem] = info.value.problems
    assert "alias bomb" in problem.message
    assert problem.line is not None


def test_empty_and_non_mapping_files() -> None:
    assert problems_of("") == [(1, "the file is empty")]
    assert problems_of("- just\n- a list\n") == [
        (1, "the file must be a mapping of settings (name: ..., timezone: ...)")
    ]


def test_load_practice_reports_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(FlowError) as info:
        load_practice(tmp_path / "nope.yaml")
    assert info.value.problems[0].file.endswith("nope.yaml")
    assert "cannot read" in info.value.problems[0].message


def test_load_practice_names_the_file_in_problems(tmp_path: Path) -> None:
    path = tmp_path / "practice.yaml"
    path.write_text(MINIMAL + "hours:\n  monday: ['18:00-09:00']\n", encoding="utf-8")
    with pytest.raises(FlowError) as info:
        load_practice(path)
    assert (
        str(info.value)
        == f"{path}:4: hours.monday[0]: '18:00-09:00' must start before it ends (ranges cannot pass midnight)"
    )


# --------------------------------------------------------------------------- voicemail: unsure_within


def test_unsure_voicemail_deadline_defaults_to_one_business_hour(demo: PracticeSettings) -> None:
    """Without ``voicemail: unsure_within`` a voicemail the crisis check is unsure of is due within the first
    business hour; the demo file says so explicitly."""
    from ivr.core.escalation_policy import unsure_deadline
    from ivr.core.hours import Within

    s = parse_practice(MINIMAL + "hours:\n  monday: ['09:00-17:00']\n  tuesday: ['09:00-17:00']\n")
    assert s.voicemail_unsure_within == Within(1, "hours", True) == demo.voicemail_unsure_within
    assert unsure_deadline(s, ny(2026, 3, 2, 10, 0)) == ny(2026, 3, 2, 11, 0)
    assert unsure_deadline(s, ny(2026, 3, 2, 16, 30)) == ny(2026, 3, 3, 9, 30)  # half an hour left on Monday


def test_unsure_voicemail_deadline_follows_the_practice_setting() -> None:
    from ivr.core.escalation_policy import unsure_deadline
    from ivr.core.hours import Within

    hours = "hours:\n  monday: ['09:00-17:00']\n  tuesday: ['09:00-17:00']\n"
    wall = parse_practice(MINIMAL + hours + "voicemail: {unsure_within: 30 minutes}\n")
    assert wall.voicemail_unsure_within == Within(30, "minutes", False)
    assert unsure_deadline(wall, ny(2026, 3, 2, 16, 50)) == ny(2026, 3, 2, 17, 20)  # the wall clock
    business = parse_practice(MINIMAL + hours + "voicemail: {retention_days: 30, unsure_within: 3 business hours}\n")
    assert unsure_deadline(business, ny(2026, 3, 2, 16, 0)) == ny(2026, 3, 3, 11, 0)
    assert business.voicemail_retention_days == 30


@pytest.mark.parametrize(("value", "message"), [
    ("soon", "voicemail.unsure_within: 'soon' must be like \"1 business hour\", \"30 minutes\" or \"1 business day\""),
    ("0 business hours", "voicemail.unsure_within: '0 business hours' must be at least 1 hour"),
    ("400 days", "voicemail.unsure_within: '400 days' is longer than 30 days"),
    ("[1, hour]", "voicemail.unsure_within must be text, not a list"),
])
def test_a_bad_unsure_voicemail_deadline_is_located(value: str, message: str) -> None:
    got = problems_of(MINIMAL + f"voicemail:\n  retention_days: 90\n  unsure_within: {value}\n")
    assert got == [(5, message)]
