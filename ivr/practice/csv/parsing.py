"""Parsing whole files (pure: text in, rows and problems out): clients, appointments and clinicians."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ivr.practice.csv.cells import (
    check_id,
    check_text,
    parse_bool,
    parse_calendar_date,
    parse_clock_time,
    parse_date,
    parse_minutes,
    parse_moment,
    parse_phones,
    parse_status,
    parse_time_zone,
    parse_working_hours,
    slugify,
)
from ivr.practice.csv.columns import (
    APPOINTMENT_COLUMNS,
    CHECKED_IN,
    CLIENT_COLUMNS,
    CLINICIAN_COLUMNS,
    CLINICIAN_NAME_MAX,
    EMAIL_MAX,
    EMAIL_RE,
    MULTI_COLUMNS,
    NAME_MAX,
    REQUIRED_COLUMNS,
    URL_MAX,
    canonical_column,
)
from ivr.practice.csv.safe import restore
from ivr.practice.models import ACTIVE


@dataclass(frozen=True, order=True)
class RowProblem:
    """One thing wrong with one line of one file (line 1 is the header)."""

    file: str
    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line > 0 else f"{self.file}: {self.reason}"

@dataclass(frozen=True)
class ClientRow:
    """A valid clients.csv row.  ``columns``: the columns the file has; absent ones are left as they are."""

    line: int
    client_id: str
    first_name: str
    last_name: str
    date_of_birth: dt.date
    phones: tuple[str, ...] = ()  # E.164, primary first
    email: str | None = None
    clinician: str | None = None  # a clinician's id or name, as written
    may_voicemail: bool = False
    may_text: bool = False
    columns: frozenset[str] = frozenset(CLIENT_COLUMNS)
    may_call: bool = True
    time_zone: str | None = None  # IANA; None: guessed from the number (ivr.outbound.zones)

@dataclass(frozen=True)
class AppointmentRow:
    """A valid appointments.csv row; ``start``/``end`` are aware."""

    line: int
    appointment_id: str
    client_id: str
    start: dt.datetime
    end: dt.datetime
    clinician: str | None = None  # None: the client's clinician
    status: str = ACTIVE
    telehealth_url: str | None = None
    columns: frozenset[str] = frozenset(APPOINTMENT_COLUMNS)
    checked_in: bool = False  # the status said the client is here (arrived, checked in): stays scheduled

@dataclass(frozen=True)
class ClinicianRow:
    """A valid clinicians.csv row; ``working_hours`` as the model stores it."""

    line: int
    clinician_id: str
    name: str
    session_minutes: int | None = None
    working_hours: dict[str, list[str]] | None = None
    columns: frozenset[str] = frozenset(CLINICIAN_COLUMNS)

def read_csv_text(path: str | os.PathLike[str]) -> str:
    """A CSV file's text: UTF-16 when it starts with its byte-order mark (Excel's "Unicode text", some EHRs),
    else UTF-8 (with or without Excel's BOM), else Windows-1252 (older Excel "CSV")."""
    data = Path(path).read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")  # the BOM says which byte order
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")

@dataclass
class _Table:
    """A CSV file's records: (line, {column: cell or [cells]}), with its problems."""

    file: str
    rows: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    columns: frozenset[str] = frozenset()
    problems: list[RowProblem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def problem(self, line: int, column: str | None, reason: str) -> None:
        self.problems.append(RowProblem(self.file, line, column, reason))

def _records(text: str) -> tuple[Iterator[tuple[int, list[str]]], list[str]]:
    """(start line, cells) for each non-blank record, honouring Excel's ``sep=`` line; also any csv error."""
    text = text.lstrip("\ufeff")
    errors: list[str] = []
    lines = io.StringIO(text, newline="")
    first = lines.readline()
    offset = 1
    match = re.fullmatch(r"sep=(.)\r?\n?", first)
    if match:
        delimiter = match.group(1)
    else:
        # Semicolons (European Excel) and tabs are as common as commas; the header decides.
        delimiter = max(",;\t", key=lambda d: (first.count(d), d == ","))
        lines.seek(0)
        offset = 0
    reader = csv.reader(lines, delimiter=delimiter, strict=True)

    def generate() -> Iterator[tuple[int, list[str]]]:
        end = offset
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                errors.append(f"{end + 1}\0{exc}")
                return
            start, end = end + 1, reader.line_num + offset
            if any(c.strip() for c in cells):
                yield start, cells

    return generate(), errors

def _read_table(text: str, kind: str, file: str) -> _Table:
    table = _Table(file)
    records, csv_errors = _records(text)
    header = next(records, None)
    if header is None:
        table.problem(1, None, "the file is empty (no header line)")
        return table
    header_line, headers = header
    positions: dict[str, list[int]] = {}
    for index, raw in enumerate(headers):
        name = raw.strip().lstrip("\ufeff")
        column = canonical_column(kind, name) if name else None
        if column is None:
            if name:
                table.ignored.append(name)
            continue
        if column in positions and column not in MULTI_COLUMNS:
            first = headers[positions[column][0]].strip()
            table.problem(header_line, column, f"columns '{first}' and '{name}' both mean {column}")
        positions.setdefault(column, []).append(index)
    for column in REQUIRED_COLUMNS[kind]:
        if column not in positions:
            table.problem(header_line, column, f"missing required column {column}")
    if kind == "appointments" and "end" not in positions and "duration" not in positions:
        table.problem(header_line, "end", "missing required column end (or a duration in minutes)")
    if table.problems:
        return table
    table.columns = frozenset(positions)
    width = len(headers)
    for line, cells in records:
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            table.problem(line, None, f"this line has {len(cells)} fields but the header has {width} "
                                      "(a comma in an unquoted value?)")
            continue
        # restore(): a cell our own export neutralised ('=…, '+1 555…) reads back as the value it was.
        cells = [restore(c.strip()) for c in cells] + [""] * (width - len(cells))
        values: dict[str, object] = {}
        for column, indexes in positions.items():
            values[column] = [cells[i] for i in indexes] if column in MULTI_COLUMNS else cells[indexes[0]]
        table.rows.append((line, values))
    for error in csv_errors:
        line, message = error.split("\0", 1)
        table.problem(int(line), None, f"the CSV is malformed here: {message}")
    return table

@dataclass
class ParsedFile:
    rows: list
    problems: list[RowProblem]
    ignored: list[str]
    # Every id the file names, valid row or not: cross-file checks use them so a bad
    # clients.csv row is not reported a second time from appointments.csv.
    ids: set[str] = field(default_factory=set)
    # clinicians.csv: the names and ids of its bad rows (references to them are not reported again).
    bad_keys: set[str] = field(default_factory=set)

class _RowCheck:
    """One row's problems, collected column by column and reported together."""

    def __init__(self) -> None:
        self.reasons: list[tuple[str, str]] = []

    def __call__(self, column: str, reason: str | None) -> None:
        if reason:
            self.reasons.append((column, reason))

    def report(self, table: _Table, line: int) -> bool:
        """Hand the problems to the table; True when the row had none."""
        for column, reason in self.reasons:
            table.problem(line, column, reason)
        return not self.reasons

class _FirstSeen(dict):
    """Id → the line it first appeared on, to name both lines of a duplicate."""

    def duplicate(self, column: str, value: str, line: int) -> str | None:
        if value in self:
            return f"duplicate {column} '{value}' (also line {self[value]})"
        if value:
            self[value] = line
        return None

def parse_clients(text: str, region: str = "US", *, file: str = "clients.csv",
                  today: dt.date | None = None) -> tuple[list[ClientRow], list[RowProblem]]:
    """Valid rows and every problem of a clients.csv; phones as E.164 (``region`` for local numbers)."""
    parsed = parsed_clients(text, region, file, today)
    return parsed.rows, parsed.problems

def parsed_clients(text: str, region: str, file: str, today: dt.date | None) -> ParsedFile:
    table = _read_table(text, "clients", file)
    rows: list[ClientRow] = []
    first_seen = _FirstSeen()
    for line, cells in table.rows:
        check = _RowCheck()
        client_id = str(cells["client_id"])
        check("client_id", check_id("client_id", client_id))
        check("client_id", first_seen.duplicate("client_id", client_id, line))
        first_name, last_name = str(cells["first_name"]), str(cells["last_name"])
        check("first_name", check_text("first_name", first_name, NAME_MAX))
        check("last_name", check_text("last_name", last_name, NAME_MAX))
        birth, reason = parse_date("date_of_birth", str(cells["date_of_birth"]), region, today)
        check("date_of_birth", reason)
        phones, phone_reasons = parse_phones("phone", cells.get("phone", []), region)  # type: ignore[arg-type]
        for reason in phone_reasons:
            check("phone", reason)
        email = str(cells.get("email", "")) or None
        if email and (len(email) > EMAIL_MAX or not EMAIL_RE.match(email)):
            check("email", f"email '{email}' is not an email address")
        clinician = str(cells.get("clinician", "")) or None
        if clinician and len(clinician) > CLINICIAN_NAME_MAX:
            check("clinician", f"clinician is longer than {CLINICIAN_NAME_MAX} characters")
        flags: dict[str, bool] = {}
        for column in ("may_voicemail", "may_text", "may_call"):
            flag, reason = parse_bool(column, str(cells.get(column, "")))
            check(column, reason)
            flags[column] = bool(flag)
        time_zone, reason = parse_time_zone("time_zone", str(cells.get("time_zone", "")))
        check("time_zone", reason)
        if check.report(table, line):
            assert birth is not None
            rows.append(ClientRow(line, client_id, first_name, last_name, birth, phones, email, clinician,
                                  flags["may_voicemail"], flags["may_text"], table.columns,
                                  flags["may_call"] if "may_call" in table.columns else True, time_zone))
    return ParsedFile(rows, table.problems, table.ignored, set(first_seen))

def parse_appointments(text: str, *, file: str = "appointments.csv", tz: dt.tzinfo | None = None,
                       region: str = "US") -> tuple[list[AppointmentRow], list[RowProblem]]:
    """Valid rows and every problem of an appointments.csv.

    ``tz``: the practice's zone, for times written without a UTC offset (None: an offset is required);
    ``region``: whether slash dates are month first.  Accepted shapes: docs/import.md.
    """
    parsed = parsed_appointments(text, file, tz, region)
    return parsed.rows, parsed.problems

MAX_CROSSING = dt.timedelta(hours=12)  # an end time alone, earlier than the start, is next day up to this long


def _time_only(value: str) -> bool:
    """Whether a start or end cell is a time of day alone (``12:20 AM``), with no date in it."""
    text = value.strip()
    return bool(text) and parse_clock_time("end", text)[0] is not None


def parsed_appointments(text: str, file: str, tz: dt.tzinfo | None = None, region: str = "US") -> ParsedFile:
    table = _read_table(text, "appointments", file)
    rows: list[AppointmentRow] = []
    first_seen = _FirstSeen()
    for line, cells in table.rows:
        check = _RowCheck()
        appointment_id = str(cells["appointment_id"])
        check("appointment_id", check_id("appointment_id", appointment_id))
        check("appointment_id", first_seen.duplicate("appointment_id", appointment_id, line))
        client_id = str(cells["client_id"])
        check("client_id", check_id("client_id", client_id))
        clinician = str(cells.get("clinician", "")) or None
        if clinician and len(clinician) > CLINICIAN_NAME_MAX:
            check("clinician", f"clinician is longer than {CLINICIAN_NAME_MAX} characters")
        day: dt.date | None = None
        if "date" in table.columns:
            day, reason = parse_calendar_date("date", str(cells["date"]), region) if cells["date"] else (
                None, "date is blank")
            check("date", reason)
        start_text = str(cells["start"])
        start, reason = parse_moment("start", start_text, tz, region, date=day)
        check("start", reason)
        if start is not None and day is not None and not _time_only(start_text):
            # A date column and a date inside start: one of them is wrong, and guessing which moves a client.
            shown = start.astimezone(tz).date() if tz is not None else start.date()
            if shown != day:
                check("date", f"date '{cells['date']}' disagrees with the date in start '{start_text}'")
        end: dt.datetime | None = None
        end_text = str(cells.get("end", ""))
        duration_text = str(cells.get("duration", "")) if "duration" in table.columns else ""
        if end_text or "duration" not in table.columns:
            # A time alone in the end column is on the start's day (in the practice's zone)...
            end_day = day or (start.astimezone(tz).date() if start is not None and tz is not None else None)
            end, reason = parse_moment("end", end_text, tz, region, date=end_day)
            check("end", reason)
            if (start is not None and end is not None and end_day is not None and end <= start
                    and _time_only(end_text)):
                # ...unless it is earlier than the start: then the session crosses midnight (11:30 PM → 12:20 AM).
                later, _ = parse_moment("end", end_text, tz, region, date=end_day + dt.timedelta(days=1))
                if later is not None and later - start <= MAX_CROSSING:
                    end = later
            if end is not None and start is not None and duration_text:
                minutes, reason = parse_minutes("duration", duration_text)
                check("duration", reason)
                if minutes and end - start != dt.timedelta(minutes=minutes):
                    check("duration", f"duration '{duration_text}' disagrees with end '{end_text}' "
                                      f"({int((end - start).total_seconds() // 60)} minutes after start)")
        else:
            minutes, reason = parse_minutes("duration", duration_text)
            check("duration", reason)
            # Real minutes: a session across a DST change still lasts its length.
            end = start + dt.timedelta(minutes=minutes) if start is not None and minutes else None
        if start and end:
            if end < start:
                check("end", "end is before start")
            elif end == start:
                check("end", "end is the same as start")
        status, reason = parse_status(str(cells.get("status", "")))
        check("status", reason)
        url = str(cells.get("telehealth_url", "")) or None
        if url and (not re.match(r"https?://\S+$", url) or len(url) > URL_MAX):
            check("telehealth_url", f"telehealth_url '{url}' is not a web address (https://…)")
        checked_in = status == CHECKED_IN
        if checked_in:
            status = ACTIVE
        if check.report(table, line):
            assert start is not None and end is not None and status is not None
            rows.append(AppointmentRow(line, appointment_id, client_id, start, end, clinician, status, url,
                                       table.columns, checked_in))
    return ParsedFile(rows, table.problems, table.ignored, set(first_seen))

def parse_clinicians(text: str, *, file: str = "clinicians.csv") -> tuple[list[ClinicianRow], list[RowProblem]]:
    """Valid rows and every problem of a clinicians.csv (``clinician_id`` defaults to the name's slug)."""
    parsed = parsed_clinicians(text, file)
    return parsed.rows, parsed.problems

def parsed_clinicians(text: str, file: str) -> ParsedFile:
    table = _read_table(text, "clinicians", file)
    rows: list[ClinicianRow] = []
    first_seen = _FirstSeen()
    bad_keys: set[str] = set()
    for line, cells in table.rows:
        check = _RowCheck()
        name = str(cells["name"])
        check("name", check_text("name", name, CLINICIAN_NAME_MAX))
        clinician_id = str(cells.get("clinician_id", "")) or slugify(name)
        reason = check_id("clinician_id", clinician_id) if name or cells.get("clinician_id") else None
        check("clinician_id", reason or first_seen.duplicate("clinician_id", clinician_id, line))
        minutes: int | None = None
        raw_minutes = str(cells.get("session_minutes", ""))
        if raw_minutes:
            if not raw_minutes.isdigit() or not 5 <= int(raw_minutes) <= 600:
                check("session_minutes", f"session_minutes '{raw_minutes}' is not a number of minutes (5 to 600)")
            else:
                minutes = int(raw_minutes)
        hours: dict[str, list[str]] | None = None
        if "working_hours" in table.columns:
            hours, reason = parse_working_hours(str(cells["working_hours"]))
            check("working_hours", reason)
        if not check.report(table, line):
            bad_keys.update(k for k in (name, clinician_id) if k)
        else:
            rows.append(ClinicianRow(line, clinician_id, name, minutes, hours, table.columns))
    return ParsedFile(rows, table.problems, table.ignored, set(first_seen), bad_keys)
