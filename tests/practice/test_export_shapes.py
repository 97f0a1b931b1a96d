"""Real EHR export shapes (issue 10): local times without an offset read in the practice's zone, separate
date and time columns, 12-hour times, a duration instead of an end; the daylight-saving gap and overlap
refused with the row named; each documented sample imports (SQLite and PostgreSQL) and import → export →
import is lossless."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.exceptions import ImportRejected
from ivr.practice.csv.cells import parse_clock_time, parse_minutes, parse_moment
from ivr.practice.csv.export import export_practice
from ivr.practice.csv.importer import import_practice
from ivr.practice.csv.parsing import parse_appointments, read_csv_text
from ivr.practice.models import Appointment

NY = ZoneInfo("America/New_York")
ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "docs" / "samples"
FIXTURES = ROOT / "tests" / "fixtures" / "ehr"
TODAY = dt.date(2026, 11, 23)
UTC = dt.UTC


@pytest.fixture
def database(any_database):
    return any_database


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("value, expected", [
    ("2026-11-24T10:00:00", utc(2026, 11, 24, 15)),
    ("2026-11-24 10:00", utc(2026, 11, 24, 15)),
    ("2026-07-14 10:00", utc(2026, 7, 14, 14)),  # summer time: UTC-4
    ("11/24/2026 3:30 PM", utc(2026, 11, 24, 20, 30)),
    ("11/24/2026 3:30pm", utc(2026, 11, 24, 20, 30)),
    ("11/24/2026, 3 p.m.", utc(2026, 11, 24, 20)),
    ("2026-11-24 12:15 AM", utc(2026, 11, 24, 5, 15)),
    ("2026-11-24 12:00 PM", utc(2026, 11, 24, 17)),
    ("2026-11-24T10:00:00-05:00", utc(2026, 11, 24, 15)),  # an offset still wins
    ("2026-11-24T10:00:00Z", utc(2026, 11, 24, 10)),
    ("2026-11-24 13:00 PM", "start '2026-11-24 13:00 PM' is not a date and time (like 2026-11-24 10:00, "
                            "11/24/2026 3:30 PM or 2026-11-24T10:00:00-05:00)"),
    ("24/11/2026 10:00", "start '24/11/2026' is not a valid date"),
    ("2026-11-24", "start '2026-11-24' is a date without a time (like 2026-11-24 10:00, 11/24/2026 3:30 PM or "
                   "2026-11-24T10:00:00-05:00)"),
    ("3:30 PM", "start '3:30 PM' is a time without a date (add a date column, like 2026-11-24 10:00, "
                "11/24/2026 3:30 PM or 2026-11-24T10:00:00-05:00)"),
    # Spring forward (8 March 2026): 02:00-02:59 never happens in New York.
    ("2026-03-08 02:30", "start '2026-03-08 02:30' does not exist in America/New_York: the clocks jump forward "
                         "over it at the daylight-saving change; check the time in the EHR"),
    ("03/08/2026 2:05 AM", "start '03/08/2026 2:05 AM' does not exist in America/New_York: the clocks jump "
                           "forward over it at the daylight-saving change; check the time in the EHR"),
    ("2026-03-08 03:00", utc(2026, 3, 8, 7)),
    ("2026-03-08 01:59", utc(2026, 3, 8, 6, 59)),
    # Fall back (1 November 2026): 01:00-01:59 happens twice.
    ("2026-11-01 01:30", "start '2026-11-01 01:30' happens twice in America/New_York (the clocks go back at the "
                         "daylight-saving change): write it with its UTC offset, like 2026-11-01T01:30:00-04:00"),
    ("11/01/2026 1:00 AM", "start '11/01/2026 1:00 AM' happens twice in America/New_York (the clocks go back at "
                           "the daylight-saving change): write it with its UTC offset, like "
                           "2026-11-01T01:00:00-04:00"),
    ("2026-11-01T01:30:00-05:00", utc(2026, 11, 1, 6, 30)),  # the second 01:30, told by its offset
    ("2026-11-01 02:00", utc(2026, 11, 1, 7)),
    ("2026-11-01 00:59", utc(2026, 11, 1, 4, 59)),
])
def test_local_times_in_the_practice_zone(value: str, expected) -> None:
    moment, reason = parse_moment("start", value, NY)
    assert (moment if isinstance(expected, dt.datetime) else reason) == expected


@pytest.mark.parametrize("value, expected", [
    ("9:05", dt.time(9, 5)), ("09:05:30", dt.time(9, 5, 30)), ("9:05 am", dt.time(9, 5)),
    ("12 AM", dt.time(0)), ("12:30 PM", dt.time(12, 30)), ("11 PM", dt.time(23)),
    ("9", "start '9' is not a time (like 14:30 or 2:30 PM)"),
    ("0:30 AM", "start '0:30 AM' is not a 12-hour time (1 to 12 AM or PM)"),
    ("25:00", "start '25:00' is not a valid time"),
])
def test_clock_times(value: str, expected) -> None:
    time, reason = parse_clock_time("start", value)
    assert (time if isinstance(expected, dt.time) else reason) == expected


@pytest.mark.parametrize("value, expected", [
    ("50", 50), ("50 min", 50), ("45 minutes", 45), ("1:30", 90),
    ("0", "duration '0' is not a length in minutes (like 50)"),
    ("fifty", "duration 'fifty' is not a length in minutes (like 50)"),
])
def test_durations(value: str, expected) -> None:
    minutes, reason = parse_minutes("duration", value)
    assert (minutes if isinstance(expected, int) else reason) == expected


def test_both_dst_days_in_one_file_name_each_refused_row() -> None:
    text = ("Appt ID,Client ID,Date,Time,Duration\n"
            "A1,C1,03/08/2026,1:30 AM,50\n"    # before the gap; ends 03:20 EDT (50 real minutes)
            "A2,C1,03/08/2026,2:30 AM,50\n"    # in the gap
            "A3,C1,11/01/2026,1:30 AM,50\n"    # the repeated hour
            "A4,C1,11/01/2026,12:30 AM,90\n"   # before the overlap; 90 real minutes end at 01:00 EST
            "A5,C1,11/01/2026,9:00 AM,50\n")
    rows, problems = parse_appointments(text, tz=NY)
    assert [str(p) for p in problems] == [
        "appointments.csv:3: start '2:30 AM' does not exist in America/New_York: the clocks jump forward over it at "
        "the daylight-saving change; check the time in the EHR",
        "appointments.csv:4: start '1:30 AM' happens twice in America/New_York (the clocks go back at the "
        "daylight-saving change): write it with its UTC offset, like 2026-11-01T01:30:00-04:00"]
    assert [(r.appointment_id, r.start.astimezone(UTC), r.end.astimezone(UTC)) for r in rows] == [
        ("A1", utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 20)),
        ("A4", utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 6, 0)),
        ("A5", utc(2026, 11, 1, 14), utc(2026, 11, 1, 14, 50))]


def test_an_end_time_alone_is_on_the_start_day_and_a_file_needs_an_end_or_a_duration() -> None:
    rows, problems = parse_appointments("ID,Client ID,Start,End\nA1,C1,11/24/2026 11:00 PM,11:50 PM\n", tz=NY)
    assert problems == [] and (rows[0].start, rows[0].end) == (utc(2026, 11, 25, 4), utc(2026, 11, 25, 4, 50))
    _, problems = parse_appointments("ID,Client ID,Date,Time\nA1,C1,11/24/2026,10:00 AM\n", tz=NY)
    assert [str(p) for p in problems] == ["appointments.csv:1: missing required column end (or a duration in minutes)"]


EXPECTED = [("A-3001", "C-2001", "maya-chen", utc(2026, 11, 24, 15), utc(2026, 11, 24, 15, 50)),
            ("A-3002", "C-2002", "sam-ortiz", utc(2026, 11, 24, 20), utc(2026, 11, 24, 20, 50))]


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("appointments-*.csv")))
def test_each_documented_sample_imports_and_round_trips(database, database_factory, tmp_path, sample) -> None:
    # docs/samples/ alone (review finding 10): its clients.csv, then the sample, as docs/import.md says.
    import_practice(database.sessions, read_csv_text(SAMPLES / "clients.csv"), None,
                    read_csv_text(SAMPLES / "clinicians.csv"), today=TODAY, tz=NY)
    report = import_practice(database.sessions, appointments_text=read_csv_text(SAMPLES / sample), tz=NY,
                             today=TODAY)
    assert report.appointments.created == 2
    with database.sessions() as db:
        got = [(a.id, a.client_id, a.clinician_id, a.start, a.end)
               for a in db.scalars(select(Appointment).where(Appointment.id.like("A-300%")).order_by(Appointment.id))]
    assert got == EXPECTED
    # import → export → import → export: the same files
    first, second = tmp_path / "one", tmp_path / "two"
    export_practice(database.sessions, first / "c.csv", first / "a.csv", first / "k.csv", tz=NY)
    other = database_factory()
    import_practice(other.sessions, read_csv_text(first / "c.csv"), read_csv_text(first / "a.csv"),
                    read_csv_text(first / "k.csv"), today=TODAY, tz=NY)
    export_practice(other.sessions, second / "c.csv", second / "a.csv", second / "k.csv", tz=NY)
    for name in ("c.csv", "a.csv", "k.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_an_end_time_alone_earlier_than_the_start_crosses_midnight() -> None:
    """Review finding 9: 11:30 PM → 12:20 AM is a 50-minute session ending the next day; past 12 h it is refused."""
    rows, problems = parse_appointments("ID,Client ID,Date,Start,End\nA1,C1,11/24/2026,11:30 PM,12:20 AM\n"
                                        "A2,C1,11/24/2026,11:30 PM,11:45 AM\n", tz=NY)
    assert [(r.start, r.end) for r in rows] == [(utc(2026, 11, 25, 4, 30), utc(2026, 11, 25, 5, 20))]
    assert [str(p) for p in problems] == ["appointments.csv:3: end is before start"]


def test_end_and_duration_disagreeing_is_a_row_error() -> None:
    rows, problems = parse_appointments("ID,Client ID,Start,End,Duration\n"
                                        "A1,C1,2026-11-24 10:00,10:50,50\n"
                                        "A2,C1,2026-11-24 11:00,11:50,45\n", tz=NY)
    assert [r.appointment_id for r in rows] == ["A1"]
    assert [str(p) for p in problems] == [
        "appointments.csv:3: duration '45' disagrees with end '11:50' (50 minutes after start)"]


def test_a_date_column_disagreeing_with_the_date_in_start_is_a_row_error() -> None:
    rows, problems = parse_appointments("ID,Client ID,Date,Start,End\n"
                                        "A1,C1,11/24/2026,2026-11-24 10:00,10:50\n"
                                        "A2,C1,11/25/2026,2026-11-24 10:00,10:50\n"
                                        "A3,C1,11/24/2026,2026-11-24T22:00:00-05:00,2026-11-24T22:50:00-05:00\n",
                                        tz=NY)
    assert [r.appointment_id for r in rows] == ["A1", "A3"]
    assert [str(p) for p in problems] == [
        "appointments.csv:3: date '11/25/2026' disagrees with the date in start '2026-11-24 10:00'"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_exports_are_read_by_their_byte_order_mark(tmp_path, encoding) -> None:
    text = "ID,Client ID,Start,End,Clinician\nA1,C1,2026-11-24 10:00,10:50,Dr. Zoë Ångström\n"
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding]
    path = tmp_path / "appointments.csv"
    path.write_bytes(bom + text.encode(encoding))
    assert read_csv_text(path) == text


def test_an_unknown_client_without_a_clients_file_names_no_clients_file(database) -> None:
    """Review finding 10: without a clients file the problem does not send anyone to a clients.csv not given."""
    with pytest.raises(ImportRejected) as rejected:
        import_practice(database.sessions, appointments_text=read_csv_text(SAMPLES / "appointments-offsets.csv"),
                        tz=NY, today=TODAY)
    assert [str(p) for p in rejected.value.problems][0] == (
        "appointments.csv:2: client_id 'C-2001' is not in the database (import a clients file with it)")
