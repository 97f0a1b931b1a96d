"""Cell parsers: one CSV cell's text → a value and/or a problem (dates, times, yes/no, phones, working hours)."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

_TIME_RE = re.compile(r"(\d{1,2})(?::(\d{2}))?(?::(\d{2})(?:\.\d+)?)?\s*(?:([ap])\.?\s*m\.?)?", re.IGNORECASE)
_DATE_ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DATE_SLASH_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
LOCAL_EXAMPLE = "like 2026-11-24 10:00, 11/24/2026 3:30 PM or 2026-11-24T10:00:00-05:00"


def parse_clock_time(column: str, value: str) -> tuple[dt.time | None, str | None]:
    """A time of day: 24-hour ``14:30`` (``14:30:00``) or 12-hour ``2:30 PM``, ``2 pm``, ``02:30p.m.``."""
    match = _TIME_RE.fullmatch(value.strip())
    if not match:
        return None, f"{column} '{value}' is not a time (like 14:30 or 2:30 PM)"
    hour, minute, second = int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)
    half = (match.group(4) or "").lower()
    if match.group(2) is None and not half:
        return None, f"{column} '{value}' is not a time (like 14:30 or 2:30 PM)"
    if half:
        if not 1 <= hour <= 12:
            return None, f"{column} '{value}' is not a 12-hour time (1 to 12 AM or PM)"
        hour = hour % 12 + (12 if half == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None, f"{column} '{value}' is not a valid time"
    return dt.time(hour, minute, second), None


def parse_calendar_date(column: str, value: str, region: str = "US") -> tuple[dt.date | None, str | None]:
    """An appointment's date: YYYY-MM-DD, or MM/DD/YYYY where dates are written month first."""
    text = value.strip()
    iso, slash = _DATE_ISO_RE.fullmatch(text), _DATE_SLASH_RE.fullmatch(text)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
    elif slash and region.upper() in MONTH_FIRST_REGIONS:
        month, day, year = (int(g) for g in slash.groups())
    elif slash:
        return None, f"{column} '{value}' could be month or day first; write it as YYYY-MM-DD"
    else:
        return None, f"{column} '{value}' is not a date (YYYY-MM-DD or MM/DD/YYYY)"
    try:
        return dt.date(year, month, day), None
    except ValueError:
        return None, f"{column} '{value}' is not a valid date"


def localise(column: str, value: str, naive: dt.datetime, tz: dt.tzinfo) -> tuple[dt.datetime | None, str | None]:
    """A wall-clock time in the practice's zone as an aware datetime; refused when a DST change skips it
    (it never happened) or repeats it (it happened twice: the offset alone tells which)."""
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if early.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None, (f"{column} '{value}' does not exist in {tz}: the clocks jump forward over it at the "
                      "daylight-saving change; check the time in the EHR")
    if early.utcoffset() != late.utcoffset():
        hint = naive.replace(tzinfo=dt.timezone(early.utcoffset() or dt.timedelta())).isoformat()
        return None, (f"{column} '{value}' happens twice in {tz} (the clocks go back at the daylight-saving "
                      f"change): write it with its UTC offset, like {hint}")
    return early.astimezone(dt.UTC), None  # UTC: arithmetic on it is in real minutes, not wall-clock ones


def parse_moment(column: str, value: str, tz: dt.tzinfo | None, region: str = "US", *,
                 date: dt.date | None = None) -> tuple[dt.datetime | None, str | None]:
    """An appointment's start or end as an aware datetime.

    With an offset (``2026-11-24T10:00:00-05:00``), the instant it names.  Without one, a local time in
    ``tz`` (the practice's zone): ``2026-11-24 10:00``, ``11/24/2026 3:30 PM``; or a time alone
    (``3:30 PM``) on ``date`` (from a separate date column, or the start's for an end).  ``tz`` None:
    an offset is required (:func:`parse_datetime`).  Times a DST change skips or repeats are refused.
    """
    text = value.strip()
    if tz is None:
        return parse_datetime(column, value)
    if not text:
        return None, f"{column} is blank"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is not None:
        if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", text):
            return None, f"{column} '{value}' is a date without a time ({LOCAL_EXAMPLE})"
        return (moment, None) if moment.tzinfo is not None else localise(column, value, moment, tz)
    time_only, _ = parse_clock_time(column, text)
    if time_only is not None:
        if date is None:
            return None, f"{column} '{value}' is a time without a date (add a date column, {LOCAL_EXAMPLE})"
        return localise(column, value, dt.datetime.combine(date, time_only), tz)
    split = re.fullmatch(r"(\S+?)(?:T|,?\s+)(\d.*)", text)
    if split:
        day, reason = parse_calendar_date(column, split.group(1), region)
        clock, time_reason = parse_clock_time(column, split.group(2))
        if day is not None and clock is not None:
            return localise(column, value, dt.datetime.combine(day, clock), tz)
        if day is None and (_DATE_ISO_RE.fullmatch(split.group(1)) or _DATE_SLASH_RE.fullmatch(split.group(1))):
            return None, reason
    return None, f"{column} '{value}' is not a date and time ({LOCAL_EXAMPLE})"


def parse_minutes(column: str, value: str) -> tuple[int | None, str | None]:
    """A length in minutes: ``50``, ``50 min``, ``50 minutes``, or hours and minutes ``1:30``; 1 to 720."""
    text = value.strip().lower()
    match = re.fullmatch(r"(\d{1,3})\s*(?:m|min|mins|minutes?)?", text)
    hours = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    minutes = int(match.group(1)) if match else (int(hours.group(1)) * 60 + int(hours.group(2)) if hours else None)
    if minutes is None or not 1 <= minutes <= 720:
        return None, f"{column} '{value}' is not a length in minutes (like 50)"
    return minutes, None


def parse_time_zone(column: str, value: str) -> tuple[str | None, str | None]:
    """An IANA time zone name ("America/Chicago"); blank is none (the zone is then guessed from the number)."""
    text = value.strip()
    if not text:
        return None, None
    if "/" in text or text == "UTC":
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return text, None
    return None, f"{column} '{value}' is not a time zone name (e.g. America/Chicago)"

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
