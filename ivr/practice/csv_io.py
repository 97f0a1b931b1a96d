"""Import and export the practice's clients, appointments and clinicians as CSV files.

An EHR's export goes in as it is: common header spellings map to our columns
(``HEADER_ALIASES``), columns we do not know are ignored.  Parsing is pure (text in,
rows and problems out); ``import_practice`` then checks the files against each
other and the database and writes everything in one transaction, or nothing:
one bad row anywhere rejects the whole import with every problem listed.

Problems quote the offending cell so the person importing can find it; they
are for that person's screen, never for logs.  The columns and formats are
documented in docs/import.md.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from ivr import csvsafe
from ivr.core.phone_numbers import normalise
from ivr.csvsafe import restore
from ivr.practice.models import ACTIVE, Appointment, Client, ClientPhone, Clinician

# --------------------------------------------------------------------------- columns

CLIENT_COLUMNS = ("client_id", "first_name", "last_name", "date_of_birth", "phone", "email", "clinician",
                  "may_voicemail", "may_text")
APPOINTMENT_COLUMNS = ("appointment_id", "client_id", "clinician", "start", "end", "status", "telehealth_url")
CLINICIAN_COLUMNS = ("clinician_id", "name", "session_minutes", "working_hours")

REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "clients": ("client_id", "first_name", "last_name", "date_of_birth"),
    "appointments": ("appointment_id", "client_id", "start", "end"),
    "clinicians": ("name",),
}

_CLINICIAN_ALIASES = ("Clinician", "Provider", "Therapist", "Rendering Provider", "Primary Clinician",
                      "Assigned Clinician", "Primary Provider", "Counselor", "Clinician Name", "Provider Name")
_CLIENT_ID_ALIASES = ("Client ID", "Patient ID", "Chart #", "Chart Number", "Client Number", "Patient Number",
                      "MRN", "Medical Record Number")

# Header spellings EHRs use, per file, for each of our columns.  Matching ignores case,
# spaces and punctuation ("Date of Birth", "date_of_birth" and "DATE-OF-BIRTH" are one header);
# each column's own name is always accepted.
HEADER_ALIASES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "clients": {
        "client_id": _CLIENT_ID_ALIASES + ("ID",),
        "first_name": ("First Name", "Given Name", "Patient First Name", "Client First Name", "First"),
        "last_name": ("Last Name", "Surname", "Family Name", "Patient Last Name", "Client Last Name", "Last"),
        "date_of_birth": ("DOB", "Date of Birth", "Birthdate", "Birth Date", "Birthday", "Patient DOB",
                          "Client DOB"),
        # Several phone columns give several numbers; the first column (left to right) is the primary.
        "phone": ("Phone", "Phones", "Mobile Phone", "Cell Phone", "Mobile", "Cell", "Phone Number",
                  "Primary Phone", "Home Phone", "Work Phone", "Telephone", "Patient Phone", "Client Phone"),
        "email": ("Email", "Email Address", "E-mail", "Patient Email", "Client Email"),
        "clinician": _CLINICIAN_ALIASES,
        "may_voicemail": ("OK to leave voicemail", "May Leave Voicemail", "Voicemail OK", "OK to leave message",
                          "Leave Message OK", "Voicemail Consent"),
        "may_text": ("OK to text", "SMS Opt In", "Text Reminders", "Text OK", "SMS OK", "SMS Consent",
                     "Text Message Consent", "May Text"),
    },
    "appointments": {
        "appointment_id": ("Appointment ID", "Appt ID", "Session ID", "Visit ID", "Appointment Number", "ID"),
        "client_id": _CLIENT_ID_ALIASES,
        "clinician": _CLINICIAN_ALIASES,
        "start": ("Start", "Start Time", "Appointment Start", "Start Date/Time", "Starts At"),
        "end": ("End", "End Time", "Appointment End", "End Date/Time", "Ends At"),
        "status": ("Status", "Appointment Status", "Appt Status", "Session Status"),
        "telehealth_url": ("Telehealth URL", "Telehealth Link", "Video Link", "Video URL", "Zoom Link",
                           "Meeting URL", "Meeting Link", "Join URL"),
    },
    "clinicians": {
        "clinician_id": ("Clinician ID", "Provider ID", "Therapist ID", "ID"),
        "name": ("Name", "Clinician", "Provider", "Therapist", "Clinician Name", "Provider Name", "Full Name"),
        "session_minutes": ("Session Minutes", "Session Length", "Session Duration", "Default Session Minutes",
                            "Minutes"),
        "working_hours": ("Working Hours", "Hours", "Availability", "Schedule"),
    },
}
_MULTI_COLUMNS = {"phone"}  # a file may have several columns that mean this one
DEFAULT_FILE_NAMES: Mapping[str, str] = {"clients": "clients.csv", "appointments": "appointments.csv",
                                         "clinicians": "clinicians.csv"}

BOOLEAN_WORDS: Mapping[str, bool] = {"yes": True, "y": True, "true": True, "1": True, "x": True,
                                     "no": False, "n": False, "false": False, "0": False, "": False}
# EHR status words (lower case, punctuation as spaces) → our statuses.
STATUS_WORDS: Mapping[str, str] = {
    **dict.fromkeys(("scheduled", "booked", "confirmed", "unconfirmed", "pending"), "scheduled"),
    **dict.fromkeys(("cancelled", "canceled", "late cancel", "late cancelled", "late canceled",
                     "late cancellation", "cancellation"), "cancelled"),
    **dict.fromkeys(("completed", "complete", "attended", "show", "showed", "arrived", "checked out", "kept"),
                    "completed"),
    **dict.fromkeys(("no show", "noshow", "no showed", "did not show", "dns"), "no_show"),
    "rescheduled": "rescheduled",
}
# Where a slash date is month first.  Elsewhere 04/05/1985 could be either: only ISO dates are read.
MONTH_FIRST_REGIONS = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "UM"})
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_ABBR = {d[:3]: d for d in WEEKDAYS}

_ID_MAX = Client.__table__.c.id.type.length
_NAME_MAX = Client.__table__.c.first_name.type.length
_EMAIL_MAX = Client.__table__.c.email.type.length
_CLINICIAN_NAME_MAX = Clinician.__table__.c.name.type.length
_URL_MAX = Appointment.__table__.c.telehealth_url.type.length
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EXCEL_NUMBER_RE = re.compile(r"^\d(\.\d+)?E\+\d+$", re.IGNORECASE)
_CHUNK = 500  # ids per IN (…) query: far below every backend's parameter limit


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, order=True)
class RowProblem:
    """One thing wrong with one line of one file (line 1 is the header)."""

    file: str
    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line > 0 else f"{self.file}: {self.reason}"


class ImportRejected(Exception):
    """The import found problems and wrote nothing."""

    def __init__(self, problems: Sequence[RowProblem]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s); nothing was imported")


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


@dataclass(frozen=True)
class ClinicianRow:
    """A valid clinicians.csv row; ``working_hours`` as the model stores it."""

    line: int
    clinician_id: str
    name: str
    session_minutes: int | None = None
    working_hours: dict[str, list[str]] | None = None
    columns: frozenset[str] = frozenset(CLINICIAN_COLUMNS)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


@dataclass
class ImportReport:
    """What an import did, per table, and the columns it did not use."""

    clinicians: Counts = field(default_factory=Counts)
    clients: Counts = field(default_factory=Counts)
    appointments: Counts = field(default_factory=Counts)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)  # file → headers

    def lines(self) -> list[str]:
        return [f"{name}: {getattr(self, name)}" for name in ("clinicians", "clients", "appointments")]


# --------------------------------------------------------------------------- reading CSV text


def read_csv_text(path: str | os.PathLike[str]) -> str:
    """A CSV file's text: UTF-8 (with or without Excel's BOM), else Windows-1252 (older Excel "CSV")."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def header_key(header: str) -> str:
    """How headers are compared: lower case, letters, digits and # only."""
    return re.sub(r"[^a-z0-9#]", "", unicodedata.normalize("NFKC", header).lower())


def _alias_table(kind: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for column, aliases in HEADER_ALIASES[kind].items():
        for name in (column, *aliases):
            table[header_key(name)] = column
    return table


_ALIAS_TABLES = {kind: _alias_table(kind) for kind in HEADER_ALIASES}


def canonical_column(kind: str, header: str) -> str | None:
    """Our column for a header of a ``kind`` file ("clients", "appointments", "clinicians"), or None."""
    return _ALIAS_TABLES[kind].get(header_key(header))


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
        if column in positions and column not in _MULTI_COLUMNS:
            first = headers[positions[column][0]].strip()
            table.problem(header_line, column, f"columns '{first}' and '{name}' both mean {column}")
        positions.setdefault(column, []).append(index)
    for column in REQUIRED_COLUMNS[kind]:
        if column not in positions:
            table.problem(header_line, column, f"missing required column {column}")
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
            values[column] = [cells[i] for i in indexes] if column in _MULTI_COLUMNS else cells[indexes[0]]
        table.rows.append((line, values))
    for error in csv_errors:
        line, message = error.split("\0", 1)
        table.problem(int(line), None, f"the CSV is malformed here: {message}")
    return table


# --------------------------------------------------------------------------- cell parsers
# Each returns (value, reason); reason None when the cell is fine.


def parse_bool(column: str, value: str) -> tuple[bool | None, str | None]:
    word = value.strip().lower()
    if word in BOOLEAN_WORDS:
        return BOOLEAN_WORDS[word], None
    return None, f"{column} '{value}' is not yes or no"


def parse_date(column: str, value: str, region: str = "US", today: dt.date | None = None) -> tuple[dt.date | None, str | None]:
    """YYYY-MM-DD; also MM/DD/YYYY where dates are written month first (the US)."""
    text = re.sub(r"[T ]00:00(:00(\.0+)?)?$", "", value.strip())  # exports that add a midnight time
    if not text:
        return None, f"{column} is blank"
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    slash = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
    elif slash:
        first, second, year = (int(g) for g in slash.groups())
        if region.upper() not in MONTH_FIRST_REGIONS:
            return None, (f"{column} '{value}' could be month or day first; write it as YYYY-MM-DD")
        if first > 12 and second <= 12:
            return None, (f"{column} '{value}' looks day first; write it as YYYY-MM-DD or MM/DD/YYYY")
        month, day = first, second
    elif re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2}", text):
        return None, f"{column} '{value}' has a two-digit year; write it as YYYY-MM-DD"
    else:
        return None, f"{column} '{value}' is not a date (YYYY-MM-DD or MM/DD/YYYY)"
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None, f"{column} '{value}' is not a valid date"
    today = today or dt.date.today()
    if date > today:
        return None, f"{column} '{value}' is in the future"
    if date.year < 1900:
        return None, f"{column} '{value}' is before 1900"
    return date, None


def parse_datetime(column: str, value: str) -> tuple[dt.datetime | None, str | None]:
    """ISO 8601 with a UTC offset (2026-11-24T10:00:00-05:00, …Z); local times without one are refused."""
    text = value.strip()
    if not text:
        return None, f"{column} is blank"
    example = "like 2026-11-24T10:00:00-05:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None, f"{column} '{value}' is not an ISO 8601 date and time ({example})"
    if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", text):
        return None, f"{column} '{value}' is a date without a time ({example})"
    if moment.tzinfo is None:
        # Without an offset, a time near a daylight-saving change (or from a server in
        # another zone) is a guess; a wrong guess sends a client at the wrong hour.
        return None, f"{column} '{value}' has no UTC offset ({example})"
    return moment, None


def parse_status(value: str) -> tuple[str | None, str | None]:
    word = re.sub(r"[^a-z]+", " ", value.lower()).strip()
    if not word:
        return ACTIVE, None
    if word in STATUS_WORDS:
        return STATUS_WORDS[word], None
    return None, f"unknown status '{value}'"


def parse_phones(column: str, values: Iterable[str], region: str) -> tuple[tuple[str, ...], list[str]]:
    """E.164 numbers from one or more cells, each holding numbers separated by ';'; duplicates dropped."""
    numbers: list[str] = []
    reasons: list[str] = []
    for cell in values:
        for part in cell.split(";"):
            part = part.strip()
            if not part:
                continue
            number = normalise(part, region)
            if number is None:
                hint = " (Excel turned it into a number: format the column as text)" \
                    if _EXCEL_NUMBER_RE.match(part) else ""
                reasons.append(f"{column} '{part}' is not a phone number{hint}")
            elif number not in numbers:
                numbers.append(number)
    return tuple(numbers), reasons


def parse_working_hours(value: str) -> tuple[dict[str, list[str]] | None, str | None]:
    """``mon-thu 09:00-17:00; fri 09:00-13:00`` → ``{"monday": ["09:00-17:00"], …}``; blank: never works."""
    hours: dict[str, list[tuple[int, int]]] = {}
    for entry in filter(None, (e.strip() for e in value.split(";"))):
        match = re.fullmatch(r"([A-Za-z][A-Za-z,\s-]*?)\s+(\d.*)", entry)
        if not match:
            return None, f"working_hours '{entry}' is not like 'mon-thu 09:00-17:00'"
        days, reason = _parse_days(match.group(1))
        if reason:
            return None, f"working_hours '{entry}': {reason}"
        for part in (p.strip() for p in match.group(2).split(",")):
            span = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", part)
            if not span:
                return None, f"working_hours '{entry}': '{part}' is not a time range like 09:00-17:00"
            h1, m1, h2, m2 = (int(g) for g in span.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            # Up to 23:59: the scheduler reads these with time.fromisoformat, which has no 24:00.
            if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
                return None, f"working_hours '{entry}': '{part}' is not a valid time range"
            if end <= start:
                return None, f"working_hours '{entry}': '{part}' ends before it starts"
            for day in days:
                hours.setdefault(day, []).append((start, end))
    result: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        spans = sorted(hours.get(day, []))
        for (_, end), (start, _) in zip(spans, spans[1:]):
            if start < end:
                return None, f"working_hours '{value}' has overlapping times on {day}"
        if spans:
            result[day] = [f"{_hhmm(s)}-{_hhmm(e)}" for s, e in spans]
    return result, None


def _parse_days(text: str) -> tuple[list[str], str | None]:
    days: list[str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        ends = [e.strip().lower() for e in part.split("-")]
        if len(ends) > 2 or not all(ends):
            return [], f"'{part}' is not a day or a range of days"
        found = []
        for name in ends:
            day = _DAY_ABBR.get(name[:3]) if len(name) >= 3 else None
            if day is None or not day.startswith(name):
                return [], f"'{name}' is not a day of the week"
            found.append(WEEKDAYS.index(day))
        first, last = found[0], found[-1]
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        days.extend(WEEKDAYS[i] for i in span if WEEKDAYS[i] not in days)
    return days, None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_working_hours(hours: Mapping[str, Sequence[str]] | None) -> str:
    """The inverse of ``parse_working_hours``: consecutive days with equal hours share an entry."""
    entries: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            days = run[0][:3] if len(run) == 1 else f"{run[0][:3]}-{run[-1][:3]}"
            entries.append(f"{days} {', '.join(hours[run[0]])}")  # type: ignore[index]

    for day in WEEKDAYS:
        spans = list((hours or {}).get(day) or [])
        if run and spans == list(hours[run[0]]):  # type: ignore[index]
            run.append(day)
            continue
        flush()
        run = [day] if spans else []
    flush()
    return "; ".join(entries)


def slugify(name: str) -> str:
    """A clinician id from a name: "Dr. Maya Chen" → "dr-maya-chen"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:_ID_MAX].rstrip("-")


def _check_id(column: str, value: str) -> str | None:
    if not value:
        return f"{column} is blank"
    if len(value) > _ID_MAX:
        return f"{column} '{value[:20]}…' is longer than {_ID_MAX} characters"
    return None


def _check_text(column: str, value: str, limit: int) -> str | None:
    if not value:
        return f"{column} is blank"
    if len(value) > limit:
        return f"{column} is longer than {limit} characters"
    return None


# --------------------------------------------------------------------------- parsing files


@dataclass
class _Parsed:
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
    parsed = _parse_clients(text, region, file, today)
    return parsed.rows, parsed.problems


def _parse_clients(text: str, region: str, file: str, today: dt.date | None) -> _Parsed:
    table = _read_table(text, "clients", file)
    rows: list[ClientRow] = []
    first_seen = _FirstSeen()
    for line, cells in table.rows:
        check = _RowCheck()
        client_id = str(cells["client_id"])
        check("client_id", _check_id("client_id", client_id))
        check("client_id", first_seen.duplicate("client_id", client_id, line))
        first_name, last_name = str(cells["first_name"]), str(cells["last_name"])
        check("first_name", _check_text("first_name", first_name, _NAME_MAX))
        check("last_name", _check_text("last_name", last_name, _NAME_MAX))
        birth, reason = parse_date("date_of_birth", str(cells["date_of_birth"]), region, today)
        check("date_of_birth", reason)
        phones, phone_reasons = parse_phones("phone", cells.get("phone", []), region)  # type: ignore[arg-type]
        for reason in phone_reasons:
            check("phone", reason)
        email = str(cells.get("email", "")) or None
        if email and (len(email) > _EMAIL_MAX or not _EMAIL_RE.match(email)):
            check("email", f"email '{email}' is not an email address")
        clinician = str(cells.get("clinician", "")) or None
        if clinician and len(clinician) > _CLINICIAN_NAME_MAX:
            check("clinician", f"clinician is longer than {_CLINICIAN_NAME_MAX} characters")
        flags: dict[str, bool] = {}
        for column in ("may_voicemail", "may_text"):
            flag, reason = parse_bool(column, str(cells.get(column, "")))
            check(column, reason)
            flags[column] = bool(flag)
        if check.report(table, line):
            assert birth is not None
            rows.append(ClientRow(line, client_id, first_name, last_name, birth, phones, email, clinician,
                                  flags["may_voicemail"], flags["may_text"], table.columns))
    return _Parsed(rows, table.problems, table.ignored, set(first_seen))


def parse_appointments(text: str, *, file: str = "appointments.csv") -> tuple[list[AppointmentRow], list[RowProblem]]:
    """Valid rows and every problem of an appointments.csv."""
    parsed = _parse_appointments(text, file)
    return parsed.rows, parsed.problems


def _parse_appointments(text: str, file: str) -> _Parsed:
    table = _read_table(text, "appointments", file)
    rows: list[AppointmentRow] = []
    first_seen = _FirstSeen()
    for line, cells in table.rows:
        check = _RowCheck()
        appointment_id = str(cells["appointment_id"])
        check("appointment_id", _check_id("appointment_id", appointment_id))
        check("appointment_id", first_seen.duplicate("appointment_id", appointment_id, line))
        client_id = str(cells["client_id"])
        check("client_id", _check_id("client_id", client_id))
        clinician = str(cells.get("clinician", "")) or None
        if clinician and len(clinician) > _CLINICIAN_NAME_MAX:
            check("clinician", f"clinician is longer than {_CLINICIAN_NAME_MAX} characters")
        start, reason = parse_datetime("start", str(cells["start"]))
        check("start", reason)
        end, reason = parse_datetime("end", str(cells["end"]))
        check("end", reason)
        if start and end:
            if end < start:
                check("end", "end is before start")
            elif end == start:
                check("end", "end is the same as start")
        status, reason = parse_status(str(cells.get("status", "")))
        check("status", reason)
        url = str(cells.get("telehealth_url", "")) or None
        if url and (not re.match(r"https?://\S+$", url) or len(url) > _URL_MAX):
            check("telehealth_url", f"telehealth_url '{url}' is not a web address (https://…)")
        if check.report(table, line):
            assert start is not None and end is not None and status is not None
            rows.append(AppointmentRow(line, appointment_id, client_id, start, end, clinician, status, url,
                                       table.columns))
    return _Parsed(rows, table.problems, table.ignored, set(first_seen))


def parse_clinicians(text: str, *, file: str = "clinicians.csv") -> tuple[list[ClinicianRow], list[RowProblem]]:
    """Valid rows and every problem of a clinicians.csv (``clinician_id`` defaults to the name's slug)."""
    parsed = _parse_clinicians(text, file)
    return parsed.rows, parsed.problems


def _parse_clinicians(text: str, file: str) -> _Parsed:
    table = _read_table(text, "clinicians", file)
    rows: list[ClinicianRow] = []
    first_seen = _FirstSeen()
    bad_keys: set[str] = set()
    for line, cells in table.rows:
        check = _RowCheck()
        name = str(cells["name"])
        check("name", _check_text("name", name, _CLINICIAN_NAME_MAX))
        clinician_id = str(cells.get("clinician_id", "")) or slugify(name)
        reason = _check_id("clinician_id", clinician_id) if name or cells.get("clinician_id") else None
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
    return _Parsed(rows, table.problems, table.ignored, set(first_seen), bad_keys)


# --------------------------------------------------------------------------- import


def import_practice(session_factory: sessionmaker[Session], clients_text: str | None = None,
                    appointments_text: str | None = None, clinicians_text: str | None = None,
                    region: str = "US", *, names: Mapping[str, str] | None = None,
                    today: dt.date | None = None) -> ImportReport:
    """Check every file, then upsert everything by id in one transaction; ImportRejected if anything is wrong.

    ``names`` maps "clients"/"appointments"/"clinicians" to the file names used in problems.
    Clinicians named in clients or appointments are matched by id or name; unknown ones are
    created (id = the name's slug) unless a clinicians.csv is given, which then must list them.
    """
    files = {**DEFAULT_FILE_NAMES, **(names or {})}
    order = [files["clients"], files["appointments"], files["clinicians"]]
    report = ImportReport()
    empty = _Parsed([], [], [])
    clinicians = _parse_clinicians(clinicians_text, files["clinicians"]) if clinicians_text is not None else empty
    clients = _parse_clients(clients_text, region, files["clients"], today) if clients_text is not None else empty
    appointments = (_parse_appointments(appointments_text, files["appointments"])
                    if appointments_text is not None else empty)
    for kind, parsed in (("clients", clients), ("appointments", appointments), ("clinicians", clinicians)):
        if parsed.ignored:
            report.ignored_columns[files[kind]] = parsed.ignored
    problems = clinicians.problems + clients.problems + appointments.problems

    with session_factory() as session, session.begin():
        plan = _Plan(session, files, clinicians, clients, appointments, given_clinicians=clinicians_text is not None)
        problems += plan.problems
        if problems:
            rank = {name: i for i, name in enumerate(order)}
            raise ImportRejected(sorted(problems, key=lambda p: (rank.get(p.file, 9), p.line)))
        try:
            plan.apply(report)
            session.flush()
        except IntegrityError as exc:
            # Only a concurrent change (a caller booking that slot a moment ago) gets here: the plan checked the rest.
            raise ImportRejected([RowProblem(files["appointments"], 0, None,
                                             f"the database refused the import ({exc.orig.__class__.__name__}); "
                                             "it changed while importing: try again")]) from None
    return report


class _Plan:
    """Cross-file and database checks, then the writes, inside the import's transaction."""

    def __init__(self, session: Session, files: Mapping[str, str], clinicians: _Parsed, clients: _Parsed,
                 appointments: _Parsed, *, given_clinicians: bool):
        self.session = session
        self.files = files
        self.clinician_rows: list[ClinicianRow] = clinicians.rows
        self.client_rows: list[ClientRow] = clients.rows
        self.appointment_rows: list[AppointmentRow] = appointments.rows
        self.given_clinicians = given_clinicians
        self.problems: list[RowProblem] = []
        self.db_clinicians = {c.id: c for c in session.scalars(select(Clinician))}
        self.new_clinicians: dict[str, str] = {}  # id → name, created from names in the files
        self.client_clinician: dict[str, str | None] = {}  # clients.csv row id → resolved clinician id
        self.appointment_clinician: dict[str, str] = {}
        self._unresolved: set[str] = set()  # clients whose clinician could not be resolved (reported)
        self._known = self._clinician_index(clinicians)
        self._resolve_clients()
        self.db_clients = self._load(Client, {r.client_id for r in self.client_rows} |
                                     {r.client_id for r in self.appointment_rows}, phones=True)
        self.db_appointments = self._load(Appointment, {r.appointment_id for r in self.appointment_rows})
        self._resolve_appointments(clients.ids)
        self._check_slots()

    # -- clinicians

    def _clinician_index(self, clinicians: _Parsed) -> dict[str, set[str]]:
        """Lookup keys (id, slug of id, slug of name) → clinician ids; the files' rows win over the database."""
        index: dict[str, set[str]] = {}
        entries = {c.id: c.name for c in self.db_clinicians.values()}
        entries.update({r.clinician_id: r.name for r in self.clinician_rows})
        for cid, name in entries.items():
            for key in {cid, slugify(cid), slugify(name)}:
                index.setdefault(key, set()).add(cid)
        # Bad clinicians.csv rows: their names still count as listed (their problem is reported already).
        for key in clinicians.bad_keys:
            for variant in {key, slugify(key)}:
                index.setdefault(variant, set()).add("")
        return index

    def _resolve_clinician(self, ref: str, file: str, line: int) -> str | None:
        """The clinician id ``ref`` means; None when there is none (the problem is recorded once)."""
        slug = slugify(ref)
        matches = self._known.get(ref) or self._known.get(slug) or set()
        if "" in matches:
            return None  # a bad clinicians.csv row: reported there
        if len(matches) == 1:
            return next(iter(matches))
        if len(matches) > 1:
            self.problems.append(RowProblem(file, line, "clinician", f"clinician '{ref}' could be any of "
                                            f"{', '.join(sorted(matches))}: use the clinician_id"))
            return None
        if self.given_clinicians:
            self.problems.append(RowProblem(file, line, "clinician", f"clinician '{ref}' is not in "
                                            f"{self.files['clinicians']} or the database"))
            return None
        if not slug:
            self.problems.append(RowProblem(file, line, "clinician", f"clinician '{ref}' has no letters or digits"))
            return None
        self.new_clinicians[slug] = ref
        self._known[slug] = {slug}
        return slug

    def _resolve_clients(self) -> None:
        for row in self.client_rows:
            if "clinician" not in row.columns:
                continue  # the file does not say: the client keeps the clinician they have
            resolved = self._resolve_clinician(row.clinician, self.files["clients"], row.line) \
                if row.clinician else None
            self.client_clinician[row.client_id] = resolved
            if row.clinician and resolved is None:
                self._unresolved.add(row.client_id)

    # -- appointments

    def _resolve_appointments(self, listed_clients: set[str]) -> None:
        """Each appointment's client must exist; its clinician is the row's, else the client's."""
        file = self.files["appointments"]
        valid_clients = {r.client_id for r in self.client_rows}
        for row in self.appointment_rows:
            client = self.db_clients.get(row.client_id)
            if row.client_id not in listed_clients and client is None:
                self.problems.append(RowProblem(file, row.line, "client_id", f"client_id '{row.client_id}' is not "
                                                f"in {self.files['clients']} or the database"))
                continue
            if row.clinician:
                clinician = self._resolve_clinician(row.clinician, file, row.line)
                if clinician:
                    self.appointment_clinician[row.appointment_id] = clinician
                continue
            if row.client_id in listed_clients and row.client_id not in valid_clients:
                continue  # the client's row is bad: reported in clients.csv
            if row.client_id in self._unresolved:
                continue  # the client's clinician is unknown: reported in clients.csv
            if row.client_id in self.client_clinician:  # this import sets the client's clinician
                clinician = self.client_clinician[row.client_id]
            else:
                clinician = client.clinician_id if client is not None else None
            if clinician is None:
                self.problems.append(RowProblem(file, row.line, "clinician", "clinician is blank and client "
                                                f"'{row.client_id}' has no clinician"))
            else:
                self.appointment_clinician[row.appointment_id] = clinician

    def _check_slots(self) -> None:
        """One scheduled appointment per clinician and start, across the file and the database."""
        file = self.files["appointments"]
        taken: dict[tuple[str, dt.datetime], int] = {}
        for row in self.appointment_rows:
            clinician = self.appointment_clinician.get(row.appointment_id)
            if clinician is None or self._final_status(row) != ACTIVE:
                continue
            key = (clinician, row.start.astimezone(dt.timezone.utc))
            if key in taken:
                self.problems.append(RowProblem(file, row.line, "start", f"clinician '{clinician}' already has a "
                                                f"scheduled appointment at this start (line {taken[key]})"))
            else:
                taken[key] = row.line
        if not taken:
            return
        importing = {r.appointment_id for r in self.appointment_rows}
        starts = sorted({start for _, start in taken})
        for chunk in _chunks(starts):
            query = select(Appointment.id, Appointment.clinician_id, Appointment.start).where(
                Appointment.status == ACTIVE, Appointment.start.in_(chunk))
            for other_id, clinician, start in self.session.execute(query):
                line = taken.get((clinician, start))
                if line is not None and other_id not in importing:
                    self.problems.append(RowProblem(file, line, "start", f"clinician '{clinician}' already has "
                                                    f"scheduled appointment '{other_id}' at this start in the database"))

    def _final_status(self, row: AppointmentRow) -> str:
        """The status the appointment will have: a file without a status column keeps the stored one."""
        existing = self.db_appointments.get(row.appointment_id)
        return existing.status if existing is not None and "status" not in row.columns else row.status

    def _load(self, model, ids: set[str], phones: bool = False) -> dict:
        found = {}
        for chunk in _chunks(sorted(ids)):
            query = select(model).where(model.id.in_(chunk))
            if phones:
                query = query.options(selectinload(Client.phones))
            found.update({obj.id: obj for obj in self.session.scalars(query)})
        return found

    # -- writing

    def apply(self, report: ImportReport) -> None:
        session = self.session
        for row in self.clinician_rows:
            clinician = self.db_clinicians.get(row.clinician_id)
            if clinician is None:
                clinician = Clinician(id=row.clinician_id, name=row.name, working_hours=row.working_hours or {},
                                      session_minutes=row.session_minutes or 50)
                session.add(clinician)
                report.clinicians.created += 1
                continue
            changes = {"name": row.name}
            if row.session_minutes is not None:
                changes["session_minutes"] = row.session_minutes
            if "working_hours" in row.columns:
                changes["working_hours"] = row.working_hours or {}
            _count(report.clinicians, _update(clinician, changes))
        for cid, name in self.new_clinicians.items():
            session.add(Clinician(id=cid, name=name, working_hours={}, session_minutes=50))
            report.clinicians.created += 1
        session.flush()

        for row in self.client_rows:
            client = self.db_clients.get(row.client_id)
            fields: dict[str, object] = {"first_name": row.first_name, "last_name": row.last_name,
                                         "date_of_birth": row.date_of_birth}
            # A column the file does not have leaves that field as it is (new clients get the defaults).
            optional = {"email": ("email", row.email),
                        "clinician": ("clinician_id", self.client_clinician.get(row.client_id)),
                        "may_voicemail": ("may_voicemail", row.may_voicemail),
                        "may_text": ("may_text", row.may_text)}
            for column, (name, value) in optional.items():
                if column in row.columns:
                    fields[name] = value
            if client is None:
                client = Client(id=row.client_id, **fields)
                client.phones = [ClientPhone(e164=e, position=i) for i, e in enumerate(row.phones)]
                session.add(client)
                self.db_clients[row.client_id] = client
                report.clients.created += 1
                continue
            changed = _update(client, fields)
            if "phone" in row.columns:
                changed = _replace_phones(client, row.phones) or changed
            _count(report.clients, changed)
        session.flush()

        for row in self.appointment_rows:
            appointment = self.db_appointments.get(row.appointment_id)
            fields = {"client_id": row.client_id, "clinician_id": self.appointment_clinician[row.appointment_id],
                      "start": row.start, "end": row.end}
            if "status" in row.columns or appointment is None:
                fields["status"] = row.status
            if "telehealth_url" in row.columns:
                fields["telehealth_url"] = row.telehealth_url
            if appointment is None:
                session.add(Appointment(id=row.appointment_id, **fields))
                report.appointments.created += 1
            else:
                _count(report.appointments, _update(appointment, fields))


def _update(obj: object, fields: Mapping[str, object]) -> bool:
    """Set the fields that differ; whether any did (unchanged rows keep their updated_at)."""
    changed = False
    for name, value in fields.items():
        # Aware datetimes compare by instant: 10:00-05:00 equals the stored 15:00 UTC.
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _replace_phones(client: Client, numbers: Sequence[str]) -> bool:
    """Make the client's numbers exactly ``numbers``, in order, keeping rows for numbers that stay.

    Reusing rows matters: deleting a number and inserting it again in one flush would
    hit the (client_id, e164) unique constraint, as the ORM inserts before it deletes.
    """
    if [p.e164 for p in client.phones] == list(numbers):
        return False
    existing = {p.e164: p for p in client.phones}
    kept = []
    for position, number in enumerate(numbers):
        phone = existing.pop(number, None) or ClientPhone(e164=number)
        phone.position = position
        kept.append(phone)
    client.phones = kept
    return True


def _count(counts: Counts, changed: bool) -> None:
    if changed:
        counts.updated += 1
    else:
        counts.unchanged += 1


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --------------------------------------------------------------------------- export


@dataclass
class ExportReport:
    clients: int = 0
    appointments: int = 0
    clinicians: int = 0


def export_practice(session_factory: sessionmaker[Session], clients_path: str | os.PathLike[str],
                    appointments_path: str | os.PathLike[str],
                    clinicians_path: str | os.PathLike[str] | None = None,
                    tz: dt.tzinfo | None = None) -> ExportReport:
    """Write the canonical columns (what ``import_practice`` reads back); times in ``tz`` (default UTC).

    The files hold clients' details: they are created readable by their owner only.
    """
    tz = tz or dt.timezone.utc
    report = ExportReport()
    with session_factory() as session:
        clinicians = list(session.scalars(select(Clinician).order_by(Clinician.id)))
        # Clinicians are written by name (readable in a spreadsheet), by id where a name is ambiguous.
        name_counts = Counter(slugify(c.name) for c in clinicians)
        ids = {c.id for c in clinicians}
        refer = {c.id: c.name if name_counts[slugify(c.name)] == 1 and slugify(c.name) not in ids - {c.id}
                 else c.id for c in clinicians}
        clients = session.scalars(select(Client).options(selectinload(Client.phones)).order_by(Client.id))
        client_rows = [[c.id, c.first_name, c.last_name, c.date_of_birth.isoformat(),
                        ";".join(p.e164 for p in c.phones), c.email or "",
                        refer.get(c.clinician_id, "") if c.clinician_id else "",
                        _yes_no(c.may_voicemail), _yes_no(c.may_text)] for c in clients]
        appointments = session.scalars(select(Appointment).order_by(Appointment.start, Appointment.id))
        appointment_rows = [[a.id, a.client_id, refer.get(a.clinician_id, a.clinician_id),
                             a.start.astimezone(tz).isoformat(), a.end.astimezone(tz).isoformat(), a.status,
                             a.telehealth_url or ""] for a in appointments]
        clinician_rows = [[c.id, c.name, str(c.session_minutes), format_working_hours(c.working_hours)]
                          for c in clinicians]
    _write_csv(clients_path, CLIENT_COLUMNS, client_rows)
    _write_csv(appointments_path, APPOINTMENT_COLUMNS, appointment_rows)
    report.clients, report.appointments = len(client_rows), len(appointment_rows)
    if clinicians_path is not None:
        _write_csv(clinicians_path, CLINICIAN_COLUMNS, clinician_rows)
        report.clinicians = len(clinician_rows)
    return report


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _write_csv(path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write atomically (no half-written export if something fails), mode 0600, formulas neutralised."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            writer = csvsafe.writer(out)  # formulas neutralised: the file is opened in spreadsheets
            writer.writerow(header)
            writer.writerows(rows)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
