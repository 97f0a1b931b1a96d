"""Cell parsers: one CSV cell's text → a value and/or a problem (dates, times, yes/no, phones, working hours)."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from ivr.core.phone_numbers import normalise
from ivr.practice.csv.columns import (
    BOOLEAN_WORDS,
    DAY_ABBREVIATIONS,
    EXCEL_NUMBER_RE,
    ID_MAX,
    MONTH_FIRST_REGIONS,
    STATUS_WORDS,
    WEEKDAYS,
)
from ivr.practice.models import ACTIVE


def parse_bool(column: str, value: str) -> tuple[bool | None, str | None]:
    word = value.strip().lower()
    if word in BOOLEAN_WORDS:
        return BOOLEAN_WORDS[word], None
    return None, f"{column} '{value}' is not yes or no"

def parse_date(
    column: str, value: str, region: str = "US", today: dt.date | None = None
) -> tuple[dt.date | None, str | None]:
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
                    if EXCEL_NUMBER_RE.match(part) else ""
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
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
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
            day = DAY_ABBREVIATIONS.get(name[:3]) if len(name) >= 3 else None
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
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:ID_MAX].rstrip("-")

def check_id(column: str, value: str) -> str | None:
    if not value:
        return f"{column} is blank"
    if len(value) > ID_MAX:
        return f"{column} '{value[:20]}…' is longer than {ID_MAX} characters"
    return None

def check_text(column: str, value: str, limit: int) -> str | None:
    if not value:
        return f"{column} is blank"
    if len(value) > limit:
        return f"{column} is longer than {limit} characters"
    return None
