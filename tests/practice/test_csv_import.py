"""CSV import and export: header aliases, formats, located problems, all-or-nothing, upserts, round trips, CLI.

Database tests run on SQLite and on PostgreSQL (see test_practice_db.py for the server).
"""
from __future__ import annotations

import datetime as dt
import re
import stat
import textwrap
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select

from ivr.app import create_app
from ivr.db.base import Base
from ivr.db.database import head_revision
from ivr.practice import cli as practice_cli
from ivr.practice.csv.cells import (
    format_working_hours,
    parse_date,
    parse_datetime,
    parse_status,
    parse_working_hours,
    slugify,
)
from ivr.practice.csv.columns import HEADER_ALIASES, canonical_column
from ivr.practice.csv.export import export_practice
from ivr.practice.csv.importer import ImportRejected, import_practice
from ivr.practice.csv.parsing import parse_appointments, parse_clients, parse_clinicians, read_csv_text
from ivr.practice.models import Appointment, Client, Clinician


@pytest.fixture
def database(any_database):
    """This module's database: migrated, on SQLite and on PostgreSQL (tests/plugins/databases.py)."""
    return any_database


ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ehr"
TODAY = dt.date(2026, 11, 23)


def fixture(name: str) -> str:
    return read_csv_text(FIXTURES / name)


def csv(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def snapshot(database) -> dict[str, list]:
    """Every row of every table: to show an import changed nothing."""
    with database.engine.connect() as conn:
        return {table.name: sorted((tuple(r) for r in conn.execute(select(table))), key=repr)
                for table in Base.metadata.sorted_tables}


def rejected(database, **texts) -> list[str]:
    """The problems an import reports, as printed; asserts it raised."""
    with pytest.raises(ImportRejected) as info:
        import_practice(database.sessions, today=TODAY, **texts)
    return [str(p) for p in info.value.problems]


@pytest.fixture
def loaded(database):
    """A database holding the fixture practice (with clinicians.csv)."""
    import_practice(database.sessions, fixture("clients.csv"), fixture("appointments.csv"), fixture("clinicians.csv"),
                    today=TODAY)
    return database


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize("kind, header, column", [
    ("clients", "Client ID", "client_id"), ("clients", "Patient ID", "client_id"), ("clients", "ID", "client_id"),
    ("clients", "Chart #", "client_id"), ("clients", "client_id", "client_id"), ("clients", "CLIENT-ID", "client_id"),
    ("clients", "Given Name", "first_name"), ("clients", "Patient First Name", "first_name"),
    ("clients", "Surname", "last_name"), ("clients", "Family Name", "last_name"),
    ("clients", "DOB", "date_of_birth"), ("clients", "Date of Birth", "date_of_birth"),
    ("clients", "Birthdate", "date_of_birth"), ("clients", "Birth Date", "date_of_birth"),
    ("clients", "Mobile Phone", "phone"), ("clients", "Cell Phone", "phone"), ("clients", "Primary Phone", "phone"),
    ("clients", "E-mail", "email"), ("clients", "Email Address", "email"),
    ("clients", "Rendering Provider", "clinician"), ("clients", "Therapist", "clinician"),
    ("clients", "OK to leave voicemail", "may_voicemail"), ("clients", "Voicemail OK", "may_voicemail"),
    ("clients", "SMS Opt-In", "may_text"), ("clients", "Text Reminders", "may_text"),
    ("clients", "Address", None), ("clients", "Appt ID", None),
    ("appointments", "ID", "appointment_id"), ("appointments", "Appt ID", "appointment_id"),
    ("appointments", "Session ID", "appointment_id"), ("appointments", "Patient ID", "client_id"),
    ("appointments", "Appointment Start", "start"), ("appointments", "End Time", "end"),
    ("appointments", "Appointment Status", "status"), ("appointments", "Zoom Link", "telehealth_url"),
    ("appointments", "Meeting URL", "telehealth_url"), ("appointments", "Provider", "clinician"),
    ("clinicians", "Provider ID", "clinician_id"), ("clinicians", "Session Length", "session_minutes"),
])
def test_header_aliases(kind: str, header: str, column: str | None) -> None:
    assert canonical_column(kind, header) == column


def test_every_alias_is_documented() -> None:
    doc = (ROOT / "docs" / "import.md").read_text(encoding="utf-8")
    missing = [alias for columns in HEADER_ALIASES.values() for aliases in columns.values() for alias in aliases
               if f"`{alias}`" not in doc]
    assert missing == []


# --------------------------------------------------------------------------- cells


@pytest.mark.parametrize("value, region, expected", [
    ("1985-04-15", "US", dt.date(1985, 4, 15)),
    ("04/15/1985", "US", dt.date(1985, 4, 15)),
    ("4/5/1985", "US", dt.date(1985, 4, 5)),
    ("1985-04-15T00:00:00", "US", dt.date(1985, 4, 15)),
    ("1985-04-15", "GB", dt.date(1985, 4, 15)),
    ("1985-13-01", "US", "date_of_birth '1985-13-01' is not a valid date"),
    ("02/30/1985", "US", "date_of_birth '02/30/1985' is not a valid date"),
    ("15/04/1985", "US", "date_of_birth '15/04/1985' looks day first; write it as YYYY-MM-DD or MM/DD/YYYY"),
    ("04/15/85", "US", "date_of_birth '04/15/85' has a two-digit year; write it as YYYY-MM-DD"),
    ("04/05/1985", "GB", "date_of_birth '04/05/1985' could be month or day first; write it as YYYY-MM-DD"),
    ("April 15 1985", "US", "date_of_birth 'April 15 1985' is not a date (YYYY-MM-DD or MM/DD/YYYY)"),
    ("2030-01-01", "US", "date_of_birth '2030-01-01' is in the future"),
    ("", "US", "date_of_birth is blank"),
])
def test_dates(value: str, region: str, expected) -> None:
    date, reason = parse_date("date_of_birth", value, region, TODAY)
    assert (date if isinstance(expected, dt.date) else reason) == expected


@pytest.mark.parametrize("value, expected", [
    ("2026-11-24T10:00:00-05:00", dt.datetime(2026, 11, 24, 15, tzinfo=dt.UTC)),
    ("2026-11-24 10:00-05:00", dt.datetime(2026, 11, 24, 15, tzinfo=dt.UTC)),
    ("2026-11-24T15:00:00Z", dt.datetime(2026, 11, 24, 15, tzinfo=dt.UTC)),
    ("2026-11-24T10:00:00", "start '2026-11-24T10:00:00' has no UTC offset (like 2026-11-24T10:00:00-05:00)"),
    ("11/24/2026 10:00 AM",
     "start '11/24/2026 10:00 AM' is not an ISO 8601 date and time (like 2026-11-24T10:00:00-05:00)"),
    ("2026-11-24", "start '2026-11-24' is a date without a time (like 2026-11-24T10:00:00-05:00)"),
])
def test_datetimes_need_an_offset(value: str, expected) -> None:
    moment, reason = parse_datetime("start", value)
    assert (moment if isinstance(expected, dt.datetime) else reason) == expected


@pytest.mark.parametrize("value, expected", [
    ("Scheduled", "scheduled"), ("booked", "scheduled"), ("Confirmed", "scheduled"), ("", "scheduled"),
    ("Cancelled", "cancelled"), ("canceled", "cancelled"), ("Late Cancel", "cancelled"),
    ("Completed", "completed"), ("Attended", "completed"), ("Show", "completed"),
    ("No Show", "no_show"), ("no-show", "no_show"), ("NO_SHOW", "no_show"), ("Rescheduled", "rescheduled"),
])
def test_statuses(value: str, expected: str) -> None:
    assert parse_status(value) == (expected, None)


def test_unknown_status_is_refused() -> None:
    assert parse_status("maybe") == (None, "unknown status 'maybe'")


def test_working_hours_grammar() -> None:
    hours, reason = parse_working_hours("mon-thu 09:00-17:00; fri 09:00-13:00")
    assert reason is None
    assert hours == {**{d: ["09:00-17:00"] for d in ("monday", "tuesday", "wednesday", "thursday")},
                     "friday": ["09:00-13:00"]}
    assert format_working_hours(hours) == "mon-thu 09:00-17:00; fri 09:00-13:00"
    split, _ = parse_working_hours("Tuesday, Thu 9:00-12:00, 13:00-18:00; sat-sun 10:00-12:00")
    assert split["tuesday"] == split["thursday"] == ["09:00-12:00", "13:00-18:00"] and "wednesday" not in split
    assert parse_working_hours(format_working_hours(split))[0] == split
    assert parse_working_hours("") == ({}, None)
    assert parse_working_hours("mon 09:00-12:00; mon 11:00-13:00")[1] == \
        "working_hours 'mon 09:00-12:00; mon 11:00-13:00' has overlapping times on monday"
    assert parse_working_hours("someday 09:00-12:00")[1] == \
        "working_hours 'someday 09:00-12:00': 'someday' is not a day of the week"
    assert (
        parse_working_hours("fri 18:00-24:00")[1]
        == "working_hours 'fri 18:00-24:00': '18:00-24:00' is not a valid time range"
    )
    assert (
        parse_working_hours("mon 17:00-09:00")[1]
        == "working_hours 'mon 17:00-09:00': '17:00-09:00' ends before it starts"
    )


def test_slugs() -> None:
    assert slugify("Dr. Maya Chen") == "dr-maya-chen"
    assert slugify("Sam Ortiz, LCSW") == "sam-ortiz-lcsw"
    assert slugify("José Núñez") == "jose-nunez"


# --------------------------------------------------------------------------- parsing files


def test_excel_export_parses_with_real_line_numbers() -> None:
    rows, problems = parse_clients(fixture("clients.csv"), today=TODAY)
    assert problems == []
    # Line 2's address spans two lines, so the second client is on line 4.
    assert [(r.line, r.client_id) for r in rows] == [(2, "C-2001"), (4, "C-2002"), (5, "C-2003"), (6, "C-2004")]
    robin, kai, lee, noor = rows
    assert robin.date_of_birth == dt.date(1988, 4, 2) and robin.phones == ("+15550100141",)
    assert robin.may_voicemail and robin.may_text and robin.clinician == "Dr. Maya Chen"
    assert kai.phones == ("+15550100142", "+15550100143")  # Mobile, then Home: the first is the primary
    assert lee.phones == ("+15550100143",) and lee.may_voicemail and not lee.may_text
    assert noor.may_voicemail and not noor.may_text and noor.email == "noor.haddad@example.org"


def test_several_numbers_in_one_cell_and_duplicates() -> None:
    rows, problems = parse_clients(csv("""
        client_id,first_name,last_name,date_of_birth,phone,Work Phone
        C1,Ann,Lee,1985-04-15,+15550100101;(555) 010-0102,555-010-0101
    """), today=TODAY)
    assert problems == [] and rows[0].phones == ("+15550100101", "+15550100102")


def test_every_bad_row_is_reported_with_its_line() -> None:
    rows, problems = parse_clients(fixture("clients_with_errors.csv"), today=TODAY)
    assert [str(p) for p in problems] == [
        "clients.csv:2: date_of_birth '1985-13-01' is not a valid date",
        "clients.csv:3: last_name is blank",
        "clients.csv:4: phone '555-01' is not a phone number",
        "clients.csv:5: duplicate client_id 'C-3001' (also line 2)",
        "clients.csv:5: email 'drew.moss@example' is not an email address",
        "clients.csv:5: may_text 'maybe' is not yes or no",
    ]
    assert [p.column for p in problems][:3] == ["date_of_birth", "last_name", "phone"]


def test_lines_count_quoted_newlines_blank_lines_bom_and_crlf() -> None:
    text = ("\ufeffClient ID,First Name,Last Name,DOB,Notes\r\n"
            'C1,Ann,Lee,1985-04-15,"line one\r\nline two\r\nline three"\r\n'
            "\r\n"
            "C2,Bo,Ng,1985-02-30,\r\n")
    rows, problems = parse_clients(text, today=TODAY)
    assert [r.line for r in rows] == [2]
    assert [str(p) for p in problems] == ["clients.csv:6: date_of_birth '1985-02-30' is not a valid date"]


@pytest.mark.parametrize("text, expected", [
    ("client_id,first_name,date_of_birth\nC1,Ann,1985-04-15\n", ["clients.csv:1: missing required column last_name"]),
    ("", ["clients.csv:1: the file is empty (no header line)"]),
    ("Client ID,ID,First Name,Last Name,DOB\n", ["clients.csv:1: columns 'Client ID' and 'ID' both mean client_id"]),
    ("client_id,first_name,last_name,date_of_birth\nC1,Ann,Lee,1985-04-15,Ortiz, LCSW\n",
     ["clients.csv:2: this line has 6 fields but the header has 4 (a comma in an unquoted value?)"]),
    ('client_id,first_name,last_name,date_of_birth\nC1,Ann,Lee,1985-04-15\nC2,"Bo,Ng,1990-01-01\n',
     ["clients.csv:3: the CSV is malformed here: unexpected end of data"]),
])
def test_file_level_problems(text: str, expected: list[str]) -> None:
    assert [str(p) for p in parse_clients(text, today=TODAY)[1]] == expected


def test_semicolon_files_and_excel_sep_line() -> None:
    rows, problems = parse_clients("sep=;\nclient_id;first_name;last_name;date_of_birth\nC1;Ann;Lee;1985-04-15\n"
                                   "C2;Bo;Ng;nope\n", today=TODAY)
    assert [r.client_id for r in rows] == ["C1"]
    assert [str(p) for p in problems] == [
        "clients.csv:4: date_of_birth 'nope' is not a date (YYYY-MM-DD or MM/DD/YYYY)"
    ]


def test_appointment_problems() -> None:
    rows, problems = parse_appointments(csv("""
        Appt ID,Client ID,Start,End,Status,Zoom Link
        A1,C1,2026-11-24T10:00:00,2026-11-24T10:50:00-05:00,Scheduled,
        A2,C1,2026-11-24T10:00:00-05:00,2026-11-24T09:50:00-05:00,maybe,zoom
        A1,C1,2026-11-24T10:00:00-05:00,2026-11-24T10:50:00-05:00,,https://video.example.com/r/x
    """))
    assert rows == []
    assert [str(p) for p in problems] == [
        "appointments.csv:2: start '2026-11-24T10:00:00' has no UTC offset (like 2026-11-24T10:00:00-05:00)",
        "appointments.csv:3: end is before start",
        "appointments.csv:3: unknown status 'maybe'",
        "appointments.csv:3: telehealth_url 'zoom' is not a web address (https://…)",
        "appointments.csv:4: duplicate appointment_id 'A1' (also line 2)",
    ]


def test_clinicians_file() -> None:
    rows, problems = parse_clinicians(fixture("clinicians.csv"))
    assert problems == []
    assert [(r.clinician_id, r.name, r.session_minutes) for r in rows] == [
        ("maya-chen", "Dr. Maya Chen", 50), ("sam-ortiz", "Sam Ortiz, LCSW", 45)]
    assert rows[1].working_hours["friday"] == ["10:00-16:00"] and "monday" not in rows[1].working_hours
    _, problems = parse_clinicians("name,session_minutes,working_hours\nDr. X,0,mon 9-5\n")
    assert [str(p) for p in problems] == [
        "clinicians.csv:2: session_minutes '0' is not a number of minutes (5 to 600)",
        "clinicians.csv:2: working_hours 'mon 9-5': '9-5' is not a time range like 09:00-17:00",
    ]


# --------------------------------------------------------------------------- importing


def test_import_the_ehr_export(database) -> None:
    report = import_practice(database.sessions, fixture("clients.csv"), fixture("appointments.csv"), today=TODAY)
    assert (report.clients.created, report.appointments.created, report.clinicians.created) == (4, 6, 2)
    assert report.ignored_columns == {"clients.csv": ["Address", "Insurance"], "appointments.csv": ["Service Code"]}
    with database.sessions() as session:
        # No clinicians.csv: clinicians are made from the names, id = the name's slug.
        assert {c.id: c.name for c in session.scalars(select(Clinician))} == {
            "dr-maya-chen": "Dr. Maya Chen", "sam-ortiz-lcsw": "Sam Ortiz, LCSW"}
        kai = session.get(Client, "C-2002")
        assert [p.e164 for p in kai.phones] == ["+15550100142", "+15550100143"]
        assert kai.clinician_id == "sam-ortiz-lcsw" and not kai.may_text and kai.discreet
        appointments = {a.id: a for a in session.scalars(select(Appointment))}
        assert {i: a.status for i, a in appointments.items()} == {
            "A-9001": "scheduled", "A-9002": "scheduled", "A-9003": "scheduled", "A-9004": "completed",
            "A-9005": "cancelled", "A-9006": "no_show"}
        assert appointments["A-9003"].clinician_id == "sam-ortiz-lcsw"  # blank provider: the client's
        assert appointments["A-9001"].start == dt.datetime(2026, 11, 24, 14, tzinfo=dt.UTC)
        assert appointments["A-9001"].telehealth_url == "https://video.example.com/r/k3j9x2"


def test_import_with_clinicians_file_matches_names_to_ids(loaded) -> None:
    with loaded.sessions() as session:
        clinicians = {c.id: c for c in session.scalars(select(Clinician))}
        assert set(clinicians) == {"maya-chen", "sam-ortiz"}
        assert clinicians["sam-ortiz"].session_minutes == 45
        assert clinicians["maya-chen"].working_hours["thursday"] == ["09:00-17:00"]
        assert session.get(Client, "C-2001").clinician_id == "maya-chen"
        assert session.get(Appointment, "A-9002").clinician_id == "sam-ortiz"


_GOOD_CLIENT = "C-5001,Quinn,Hart,1991-01-01,555-010-0160,,Dr. Maya Chen,yes,yes\n"
_CLIENT_HEADER = "client_id,first_name,last_name,date_of_birth,phone,email,clinician,may_voicemail,may_text\n"
_APPT_HEADER = "appointment_id,client_id,clinician,start,end,status,telehealth_url\n"


@pytest.mark.parametrize(
    "texts, expected",
    [
        (
            {"clients_text": _CLIENT_HEADER + "C-5001,Quinn,Hart,1985-13-01,555-010-0160,,,,\n"},
            ["clients.csv:2: date_of_birth '1985-13-01' is not a valid date"],
        ),
        (
            {"clients_text": _CLIENT_HEADER + _GOOD_CLIENT + "C-5002,Rae,Hart,1991-01-01,555-01,,,,\n"},
            ["clients.csv:3: phone '555-01' is not a phone number"],
        ),
        (
            {"clients_text": _CLIENT_HEADER + _GOOD_CLIENT + _GOOD_CLIENT},
            ["clients.csv:3: duplicate client_id 'C-5001' (also line 2)"],
        ),
        (
            {"clients_text": "client_id,first_name,date_of_birth\nC-5001,Quinn,1991-01-01\n"},
            ["clients.csv:1: missing required column last_name"],
        ),
        (
            {"appointments_text": _APPT_HEADER + "A-5001,C-2001,,2026-11-30T10:00:00,2026-11-30T10:50:00-05:00,,\n"},
            ["appointments.csv:2: start '2026-11-30T10:00:00' has no UTC offset (like 2026-11-24T10:00:00-05:00)"],
        ),
        (
            {
                "appointments_text": _APPT_HEADER
                + "A-5001,C-2001,,2026-11-30T10:00:00-05:00,2026-11-30T09:00:00-05:00,,\n"
            },
            ["appointments.csv:2: end is before start"],
        ),
        (
            {
                "appointments_text": _APPT_HEADER
                + "A-5001,C-2001,,2026-11-30T10:00:00-05:00,2026-11-30T10:50:00-05:00,maybe,\n"
            },
            ["appointments.csv:2: unknown status 'maybe'"],
        ),
        # Cross-file and database checks.
        (
            {
                "appointments_text": _APPT_HEADER
                + "A-5001,C-9999,,2026-11-30T10:00:00-05:00,2026-11-30T10:50:00-05:00,,\n"
            },
            ["appointments.csv:2: client_id 'C-9999' is not in the database (import a clients file with it)"],
        ),
        (
            {
                "appointments_text": _APPT_HEADER + "A-5001,C-2002,Dr. Maya Chen,2026-11-24T09:00:00-05:00,"
                "2026-11-24T09:50:00-05:00,,\n"
            },
            [
                "appointments.csv:2: clinician 'maya-chen' already has scheduled appointment 'A-9001' at this start "
                "in the database"
            ],
        ),
        (
            {
                "appointments_text": _APPT_HEADER + "A-5001,C-2002,Dr. Maya Chen,2026-12-01T09:00:00-05:00,"
                "2026-12-01T09:50:00-05:00,,\n"
                "A-5002,C-2004,maya-chen,2026-12-01T14:00:00Z,2026-12-01T14:50:00Z,,\n"
            },
            ["appointments.csv:3: clinician 'maya-chen' already has a scheduled appointment at this start (line 2)"],
        ),
        (
            {
                "clients_text": _CLIENT_HEADER + "C-5001,Quinn,Hart,1991-01-01,555-010-0160,,Dr. Nobody,,\n",
                "clinicians_text": fixture("clinicians.csv"),
            },
            ["clients.csv:2: clinician 'Dr. Nobody' is not in clinicians.csv or the database"],
        ),
        (
            {
                "clients_text": _CLIENT_HEADER + "C-5001,Quinn,Hart,1991-01-01,555-010-0160,,,,\n",
                "appointments_text": _APPT_HEADER
                + "A-5001,C-5001,,2026-11-30T10:00:00-05:00,2026-11-30T10:50:00-05:00,,\n",
            },
            ["appointments.csv:2: clinician is blank and client 'C-5001' has no clinician"],
        ),
        # One bad file rejects the good one too; a bad client row is not reported again from appointments.
        (
            {
                "clients_text": _CLIENT_HEADER + _GOOD_CLIENT + "C-5002,Rae,,1991-01-01,,,,,\n",
                "appointments_text": _APPT_HEADER
                + "A-5001,C-5001,,2026-11-30T10:00:00-05:00,2026-11-30T10:50:00-05:00,,\n"
                "A-5002,C-5002,,2026-11-30T11:00:00-05:00,2026-11-30T11:50:00-05:00,,\n"
                "A-5003,C-5001,,2026-11-30T12:00:00-05:00,2026-11-30T11:50:00-05:00,,\n",
            },
            ["clients.csv:3: last_name is blank", "appointments.csv:4: end is before start"],
        ),
    ],
)
def test_a_bad_row_imports_nothing(loaded, texts: dict, expected: list[str]) -> None:
    before = snapshot(loaded)
    assert rejected(loaded, **texts) == expected
    assert snapshot(loaded) == before


def test_a_good_clients_file_with_a_bad_appointments_file_imports_nothing(database) -> None:
    before = snapshot(database)
    problems = rejected(database, clients_text=fixture("clients.csv"),
                        appointments_text=fixture("appointments.csv").replace("Late Cancel", "Perhaps"))
    assert problems == ["appointments.csv:6: unknown status 'Perhaps'"]
    assert snapshot(database) == before


def test_reimport_updates_by_id(loaded) -> None:
    with loaded.sessions() as session, session.begin():
        session.get(Client, "C-2001").pin_hash = "kept"
        stamp = session.get(Client, "C-2004").updated_at
    clients = fixture("clients.csv").replace("Alvarez", "Alvarez-Kim").replace(
        "555.010.0142,555-010-0143", "555-010-0143,555-010-0149")
    appointments = fixture("appointments.csv").replace(
        "2026-11-24T09:50:00-05:00,Confirmed", "2026-11-24T09:50:00-05:00,Cancelled").replace(
        "2026-11-24T14:00:00-05:00,2026-11-24T14:50:00-05:00", "2026-11-24T15:00:00-05:00,2026-11-24T15:50:00-05:00")
    report = import_practice(loaded.sessions, clients, appointments, today=TODAY)
    assert [str(c) for c in (report.clients, report.appointments, report.clinicians)] == [
        "0 created, 2 updated, 2 unchanged", "0 created, 2 updated, 4 unchanged", "0 created, 0 updated, 0 unchanged"]
    with loaded.sessions() as session:
        robin = session.get(Client, "C-2001")
        assert robin.last_name == "Alvarez-Kim" and robin.pin_hash == "kept"  # the EHR knows nothing of PINs
        assert [p.e164 for p in session.get(Client, "C-2002").phones] == ["+15550100143", "+15550100149"]
        assert session.get(Client, "C-2004").updated_at == stamp  # unchanged rows are not touched
        assert session.get(Appointment, "A-9001").status == "cancelled"
        assert session.get(Appointment, "A-9002").start.hour == 20
        assert session.get(Client, "C-2001").clinician_id == "maya-chen"  # the name still finds the same clinician


def test_reimporting_the_same_files_changes_nothing(loaded) -> None:
    before = snapshot(loaded)
    report = import_practice(loaded.sessions, fixture("clients.csv"), fixture("appointments.csv"),
                             fixture("clinicians.csv"), today=TODAY)
    assert (report.clients.unchanged, report.appointments.unchanged, report.clinicians.unchanged) == (4, 6, 2)
    assert report.clients.updated == report.appointments.updated == report.clinicians.updated == 0
    assert snapshot(loaded) == before


def test_columns_a_file_lacks_are_left_alone(loaded) -> None:
    import_practice(loaded.sessions, "Client ID,First Name,Last Name,DOB\nC-2001,Robin,Alvarez,1988-04-02\n",
                    today=TODAY)
    with loaded.sessions() as session:
        robin = session.get(Client, "C-2001")
        assert robin.may_text and robin.email == "robin.alvarez@example.com" and len(robin.phones) == 1


def test_a_clients_file_without_clinicians_keeps_them_for_appointments(loaded) -> None:
    report = import_practice(
        loaded.sessions, "Client ID,First Name,Last Name,DOB\nC-2001,Robin,Alvarez,1988-04-02\n",
        "Appt ID,Client ID,Start,End\nA-5001,C-2001,2026-12-01T10:00:00-05:00,2026-12-01T10:50:00-05:00\n",
        today=TODAY)
    assert report.appointments.created == 1
    with loaded.sessions() as session:
        assert session.get(Client, "C-2001").clinician_id == "maya-chen"
        assert session.get(Appointment, "A-5001").clinician_id == "maya-chen"


def test_without_a_status_column_a_stored_status_stands(loaded) -> None:
    # A-9005 (cancelled) moves onto A-9002's scheduled slot: no conflict, as it stays cancelled.
    report = import_practice(loaded.sessions, appointments_text=(
        "Appt ID,Client ID,Start,End\nA-9005,C-2002,2026-11-24T14:00:00-05:00,2026-11-24T14:50:00-05:00\n"),
        today=TODAY)
    assert report.appointments.updated == 1
    with loaded.sessions() as session:
        assert session.get(Appointment, "A-9005").status == "cancelled"


def test_cancelling_and_rebooking_a_slot_in_one_import(loaded) -> None:
    # A-9001 is cancelled and a new appointment takes its slot: the file's final state is what counts.
    appointments = _APPT_HEADER + ("A-9001,C-2001,maya-chen,2026-11-24T09:00:00-05:00,2026-11-24T09:50:00-05:00,"
                                   "cancelled,\n"
                                   "A-5001,C-2004,maya-chen,2026-11-24T09:00:00-05:00,2026-11-24T09:50:00-05:00,,\n")
    report = import_practice(loaded.sessions, appointments_text=appointments, today=TODAY)
    assert (report.appointments.created, report.appointments.updated) == (1, 1)


def test_a_slot_taken_while_importing_still_imports_nothing(loaded, monkeypatch) -> None:
    # The database's own unique index is the last word (a caller may book the slot mid-import).
    from ivr.practice.csv import importer

    monkeypatch.setattr(importer._Plan, "_check_slots", lambda self: None)
    before = snapshot(loaded)
    problems = rejected(loaded, clients_text=_CLIENT_HEADER + _GOOD_CLIENT, appointments_text=_APPT_HEADER + (
        "A-5001,C-5001,Dr. Maya Chen,2026-11-24T09:00:00-05:00,2026-11-24T09:50:00-05:00,,\n"))
    assert len(problems) == 1 and "it changed while importing: try again" in problems[0]
    assert snapshot(loaded) == before


# --------------------------------------------------------------------------- exporting


@pytest.mark.parametrize("with_clinicians", [True, False])
def test_export_import_export_is_identical(database, database_factory, tmp_path: Path, with_clinicians: bool) -> None:
    import_practice(database.sessions, fixture("clients.csv"), fixture("appointments.csv"),
                    fixture("clinicians.csv") if with_clinicians else None, today=TODAY)
    first, second = tmp_path / "first", tmp_path / "second"
    tz = dt.timezone(dt.timedelta(hours=-5))

    def export(db, folder: Path) -> None:
        export_practice(db.sessions, folder / "clients.csv", folder / "appointments.csv",
                        folder / "clinicians.csv" if with_clinicians else None, tz=tz)

    export(database, first)
    empty = database_factory()
    report = import_practice(empty.sessions, read_csv_text(first / "clients.csv"),
                             read_csv_text(first / "appointments.csv"),
                             read_csv_text(first / "clinicians.csv") if with_clinicians else None, today=TODAY)
    assert (report.clients.created, report.appointments.created) == (4, 6)
    export(empty, second)
    for name in ("clients.csv", "appointments.csv") + (("clinicians.csv",) if with_clinicians else ()):
        assert (second / name).read_bytes() == (first / name).read_bytes(), name
    assert snapshot(empty)["client_phones"] and snapshot(empty)["clinicians"] == snapshot(database)["clinicians"]


def test_export_writes_the_canonical_columns_privately(loaded, tmp_path: Path) -> None:
    export_practice(loaded.sessions, tmp_path / "c.csv", tmp_path / "a.csv", tmp_path / "k.csv")
    clients = (tmp_path / "c.csv").read_text().splitlines()
    assert clients[0] == ("client_id,first_name,last_name,date_of_birth,phone,email,clinician,may_voicemail,may_text,"
                          "may_call,time_zone")
    # Numbers start with +, a formula to spreadsheets: the export quotes them (ivr/practice/csv/safe.py).
    assert clients[2] == "C-2002,Kai,Thompson,1995-07-19,'+15550100142;+15550100143,,\"Sam Ortiz, LCSW\",no,no,yes,"
    appointments = (tmp_path / "a.csv").read_text().splitlines()
    assert appointments[0] == "appointment_id,client_id,clinician,start,end,status,telehealth_url"
    assert "A-9006,C-2004,Dr. Maya Chen,2026-11-09T15:00:00+00:00,2026-11-09T15:50:00+00:00,no_show," in appointments
    assert (tmp_path / "k.csv").read_text().splitlines()[2] == \
        'sam-ortiz,"Sam Ortiz, LCSW",45,tue-thu 10:00-18:00; fri 10:00-16:00'
    for name in ("c.csv", "a.csv", "k.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_app(db_url: str, redis_server):
    app = create_app({"twilio_auth_token": "t", "database_url": db_url},
                     redis=Redis.from_url(redis_server.url), strict_flows=False)
    practice_cli.init_app(app)  # the app wires these itself once ivr/cli.py registers them
    yield app
    database = app.extensions["quietline"].database
    if database is not None:
        database.dispose()


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_import_reports_problems_and_exits_1(cli_app, monkeypatch) -> None:
    assert run(cli_app, "db", "upgrade").exit_code == 0  # SQLite would be upgraded by the import itself
    monkeypatch.chdir(FIXTURES)
    result = run(cli_app, "practice", "import", "--clients", "clients_with_errors.csv")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "clients_with_errors.csv:2: date_of_birth '1985-13-01' is not a valid date",
        "clients_with_errors.csv:3: last_name is blank",
        "clients_with_errors.csv:4: phone '555-01' is not a phone number",
        "clients_with_errors.csv:5: duplicate client_id 'C-3001' (also line 2)",
        "clients_with_errors.csv:5: email 'drew.moss@example' is not an email address",
        "clients_with_errors.csv:5: may_text 'maybe' is not yes or no",
        "6 problem(s): nothing was imported",
    ]
    database = cli_app.extensions["quietline"].database
    assert all(rows == [] for name, rows in snapshot(database).items())


def test_cli_import_export_seed(cli_app, tmp_path: Path, monkeypatch) -> None:
    if not cli_app.config["SETTINGS"].database_url.startswith("sqlite"):
        # A server database is migrated on purpose, never behind the operator's back.
        result = run(cli_app, "practice", "seed-demo")
        assert result.exit_code == 1 and "flask --app app db upgrade" in result.stderr
        assert run(cli_app, "db", "current").exit_code == 1
        assert run(cli_app, "db", "upgrade").exit_code == 0
    monkeypatch.chdir(FIXTURES)
    result = run(cli_app, "practice", "import", "--clients", "clients.csv", "--appointments", "appointments.csv",
                 "--clinicians", "clinicians.csv")
    assert result.exit_code == 0, result.output + result.stderr
    assert "clients: 4 created, 0 updated, 0 unchanged" in result.output
    assert "appointments: 6 created, 0 updated, 0 unchanged" in result.output
    assert "clients.csv: ignored column(s) 'Address', 'Insurance'" in result.output
    current = run(cli_app, "db", "current")
    assert current.exit_code == 0 and f"at revision {head_revision()} (up to date)" in current.output
    result = run(cli_app, "practice", "export", "--clients", str(tmp_path / "out" / "clients.csv"),
                 "--appointments", str(tmp_path / "out" / "appointments.csv"))
    assert result.exit_code == 0 and "4 client(s)" in result.output
    exported = (tmp_path / "out" / "appointments.csv").read_text()
    assert re.search(r"A-9001,C-2001,Dr\. Maya Chen,2026-11-24T09:00:00-05:00", exported)  # practice time
    result = run(cli_app, "practice", "seed-demo")
    assert result.exit_code == 0 and "already has clients" in result.output


def test_cli_seed_demo_on_a_new_embedded_database(tmp_path: Path) -> None:
    app = create_app({"twilio_auth_token": "t", "database_url": f"sqlite:///{tmp_path}/new/q.db"},
                     redis=Redis(unix_socket_path="/nonexistent"), strict_flows=False)
    practice_cli.init_app(app)
    try:
        result = run(app, "practice", "seed-demo")
        assert result.exit_code == 0, result.output + result.stderr
        assert "demo practice seeded: 2 clinicians, 7 clients" in result.output
        assert "already has clients" in run(app, "practice", "seed-demo").output
    finally:
        app.extensions["quietline"].database.dispose()


def test_cli_import_needs_a_file(cli_app) -> None:
    result = run(cli_app, "practice", "import")
    assert result.exit_code == 2 and "at least one of --clients" in result.stderr


# --------------------------------------------------------------------------- consent, time zones, check-ins (B3)


@pytest.mark.parametrize("header, column", [
    ("OK to call", "may_call"), ("May Call", "may_call"), ("Automated Calls OK", "may_call"),
    ("Time Zone", "time_zone"), ("Timezone", "time_zone"), ("TZ", "time_zone"),
])
def test_consent_and_zone_headers(header: str, column: str) -> None:
    assert canonical_column("clients", header) == column


CONSENT = csv("""
    Client ID,First Name,Last Name,DOB,Phone,OK to call,OK to text,Voicemail OK,Time Zone
    C-7001,Ana,Ruiz,1990-02-03,(555) 010-0171,no,yes,y,America/Chicago
    C-7002,Ben,Ode,1991-03-04,(555) 010-0172,yes,no,no,
    C-7003,Cy,Lee,1992-04-05,(555) 010-0173,sometimes,maybe,0,EST
    C-7004,Di,Roe,1993-05-06,(555) 010-0174,1,1,1,Mars/Olympus
    """)


def test_may_call_may_text_may_voicemail_and_time_zone_are_read_and_checked() -> None:
    rows, problems = parse_clients(CONSENT, today=TODAY)
    assert [str(p) for p in problems] == [
        "clients.csv:4: may_text 'maybe' is not yes or no",
        "clients.csv:4: may_call 'sometimes' is not yes or no",
        "clients.csv:4: time_zone 'EST' is not a time zone name (e.g. America/Chicago)",
        "clients.csv:5: time_zone 'Mars/Olympus' is not a time zone name (e.g. America/Chicago)",
    ]
    assert [p.column for p in problems] == ["may_text", "may_call", "time_zone", "time_zone"]
    assert [(r.client_id, r.may_call, r.may_text, r.may_voicemail, r.time_zone) for r in rows] == [
        ("C-7001", False, True, True, "America/Chicago"), ("C-7002", True, False, False, None)]


def test_the_import_stores_consent_and_zone_and_a_file_without_them_leaves_them(database) -> None:
    good = "\n".join(CONSENT.splitlines()[:3]) + "\n"
    import_practice(database.sessions, good, today=TODAY)
    with database.sessions() as db:
        assert [(c.id, c.may_call, c.may_text, c.may_voicemail, c.time_zone)
                for c in db.scalars(select(Client).where(Client.id.in_(("C-7001", "C-7002"))).order_by(Client.id))] \
            == [("C-7001", False, True, True, "America/Chicago"), ("C-7002", True, False, False, None)]
    import_practice(database.sessions, csv("""
        Client ID,First Name,Last Name,DOB
        C-7001,Ana,Ruiz,1990-02-03
        """), today=TODAY)
    with database.sessions() as db:
        ana = db.get(Client, "C-7001")
        assert (ana.may_call, ana.time_zone) == (False, "America/Chicago")
    assert rejected(database, clients_text=CONSENT) == [
        "clients.csv:4: may_text 'maybe' is not yes or no",
        "clients.csv:4: may_call 'sometimes' is not yes or no",
        "clients.csv:4: time_zone 'EST' is not a time zone name (e.g. America/Chicago)",
        "clients.csv:5: time_zone 'Mars/Olympus' is not a time zone name (e.g. America/Chicago)",
    ]


@pytest.mark.parametrize("word", ["Arrived", "checked in", "Checked-In", "In Session", "in waiting room"])
def test_an_arrived_status_is_a_check_in_not_a_change(word: str) -> None:
    rows, problems = parse_appointments(csv(f"""
        Appointment ID,Client ID,Start,End,Status
        A-7001,C-7001,2026-11-24T10:00:00-05:00,2026-11-24T10:50:00-05:00,{word}
        """))
    assert problems == []
    assert [(r.status, r.checked_in) for r in rows] == [("scheduled", True)]


def test_cli_import_with_the_service_down_says_so_in_one_line_and_imports_nothing(db_url: str, monkeypatch) -> None:
    """Break-test nit: it printed a Redis traceback."""
    app = create_app({"twilio_auth_token": "t", "database_url": db_url, "redis_url": "unix:///nonexistent/redis.sock"},
                     redis=Redis(unix_socket_path="/nonexistent/redis.sock"), strict_flows=False)
    practice_cli.init_app(app)
    try:
        assert run(app, "db", "upgrade").exit_code == 0
        monkeypatch.chdir(FIXTURES)
        result = run(app, "practice", "import", "--clients", "clients.csv", "--appointments", "appointments.csv")
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            "error: the service is not running (Redis at unix:///nonexistent/redis.sock does not answer: "
            "ConnectionError); start it with `make run`, then import again. Nothing was imported."]
        assert "Traceback" not in result.output
        with app.extensions["quietline"].database.sessions() as db:
            assert db.scalars(select(Client)).all() == []
    finally:
        app.extensions["quietline"].database.dispose()
