"""Practice settings (``flows/practice.yaml``): who the practice is and when it is open.

Pure functions: text in, frozen values out.  ``load_practice`` is the only I/O,
and nothing here reads the clock; callers pass ``now`` as an aware datetime.

Every problem in the file is reported at once, each with its line, as a
``FlowError`` of ``FlowProblem`` values.
"""
from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import phonenumbers
import yaml

from ivr.core import yamlsafe
from ivr.exceptions import FlowError, FlowProblem, UnsafeYamlError

if TYPE_CHECKING:
    from ivr.escalations.deadlines import Within

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "practice.schema.json"
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LOOKAHEAD = timedelta(days=30)

DEFAULT_PHONE_REGION = "US"
DEFAULT_VOICE = "Polly.Joanna"
DEFAULT_LANGUAGE = "en-US"
DEFAULT_ENTRY_FLOW = "main"
DEFAULT_EMERGENCY_GUIDANCE = (
    "If you are in danger or this is a medical emergency, hang up and dial 9 1 1. "
    "If you are in crisis, call or text 9 8 8 to reach the Suicide and Crisis Lifeline, any time."
)

TimeRange = tuple[time, time]
_Path = tuple[Any, ...]


@dataclass(frozen=True)
class StaffMember:
    """Someone calls can be forwarded to; flows refer to them by ``key``."""

    key: str
    name: str
    phone_e164: str  # with ``roster``: the fallback, rung when the roster cannot be read
    role: str | None = None
    # An escalation category: transfers ring whoever the on-call roster has for it (ivr.escalations.on_call).
    roster: str | None = None


@dataclass(frozen=True)
class Holiday:
    """A day the practice is closed from midnight to midnight (practice time)."""

    date: date
    name: str


@dataclass(frozen=True)
class Closure:
    """An ad-hoc closure over [start, end); both aware."""

    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True)
class EscalationRule:
    """The practice's overrides for one escalation category (``escalations:``); None keeps the default.

    Defaults and their meaning: ``ivr.escalations.policy``.
    """

    within: "Within | None" = None  # how soon a callback is promised, e.g. 2 business hours
    priority: str | None = None  # urgent | high | normal
    reminder_lead_minutes: int | None = None  # re-send up the roster this long before the deadline


ESCALATION_CATEGORIES: tuple[str, ...] = (
    "callback_request", "billing", "portal_tech", "reschedule_failed", "verification_failed", "voicemail",
    "crisis", "other",
)


@dataclass(frozen=True)
class PracticeSettings:
    """The parsed, validated contents of ``practice.yaml``."""

    name: str
    timezone: str
    tz: ZoneInfo
    hours: Mapping[str, tuple[TimeRange, ...]]  # every weekday in WEEKDAYS; () when closed
    holidays: tuple[Holiday, ...] = ()
    closures: tuple[Closure, ...] = ()
    staff: tuple[StaffMember, ...] = ()  # in file order; look up with staff_member(key)
    phone_region: str = DEFAULT_PHONE_REGION
    voice: str = DEFAULT_VOICE
    language: str = DEFAULT_LANGUAGE
    entry_flow: str = DEFAULT_ENTRY_FLOW
    emergency_guidance: str = DEFAULT_EMERGENCY_GUIDANCE
    callback_promise: str | None = None
    portal_url: str | None = None
    portal_help: str | None = None
    billing_url: str | None = None
    payment_connector: str | None = None  # Twilio <Pay> connector name; None: text billing_url instead
    late_change_hours: int = 24
    late_change_fee: str | None = None  # e.g. "$75"; None: no fee
    reschedule_window_days: int = 14
    # Caller verification (ivr.practice.verification): failures per client and per calling number
    # within lock_minutes before a lock (also the attempts one call gets), wrong PINs per client in
    # a day before the PIN stops working too, and the practice-wide ceiling per hour.
    verification_max_failures: int = 3
    verification_lock_minutes: int = 30
    verification_pin_max_failures: int = 5
    verification_max_failures_per_hour: int = 20
    # Per escalation category (ESCALATION_CATEGORIES); categories left out keep the defaults.
    escalations: Mapping[str, EscalationRule] = field(default_factory=lambda: MappingProxyType({}))

    def staff_member(self, key: str) -> StaffMember:
        """The staff member with ``key``; KeyError if there is none."""
        for member in self.staff:
            if member.key == key:
                return member
        known = ", ".join(m.key for m in self.staff) or "none"
        raise KeyError(f"no staff member {key!r} in practice settings (known: {known})")


@dataclass(frozen=True)
class OpenStatus:
    """Whether the practice is open at one instant, and what comes next.

    ``reason`` is "open", "closed" (outside hours), "holiday" (the day is a
    holiday; ``holiday_name`` says which) or "closure" (inside an ad-hoc closure).
    ``closes_at`` is set only when open; ``next_open`` only when closed (None if
    the practice does not open within 30 days).  ``closure_reason`` is the
    closure's ``reason`` text when ``reason == "closure"``.  Datetimes are in
    practice time.
    """

    open: bool
    reason: str
    holiday_name: str | None = None
    closes_at: datetime | None = None
    next_open: datetime | None = None
    closure_reason: str | None = None


# --------------------------------------------------------------------------- loading

_schema_cache: dict[str, Any] = {}


def practice_schema() -> dict[str, Any]:
    """The JSON Schema of practice.yaml (draft 2020-12)."""
    if "schema" not in _schema_cache:
        _schema_cache["schema"] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return _schema_cache["schema"]


def load_practice(path: str | os.PathLike[str]) -> PracticeSettings:
    """Read and parse a practice settings file; unreadable files raise FlowError too."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError([FlowProblem(file, None, f"cannot read practice settings: {exc}")]) from None
    return parse_practice(text, file)


def parse_practice(text: str, file: str = "practice.yaml") -> PracticeSettings:
    """Parse practice settings text; raise FlowError listing every problem with its line."""
    try:
        doc = yamlsafe.load(text)
    except UnsafeYamlError as exc:
        raise FlowError([FlowProblem(file, exc.line, str(exc))]) from None
    except ValueError as exc:  # a scalar YAML could not build, e.g. an unquoted 2026-02-30
        line, raw = _bad_scalar(text)
        what = f"{raw!r} is not a valid value" if raw is not None else "a value is not valid"
        raise FlowError([FlowProblem(file, line, f"{what}: {exc}")]) from None
    if not isinstance(doc.data, dict):
        msg = "the file is empty" if doc.data is None else "the file must be a mapping of settings (name: ..., timezone: ...)"
        raise FlowError([FlowProblem(file, doc.line_of(()) or 1, msg)])

    checker = _Checker(file, doc)
    checker.check_schema()
    settings = checker.build()
    if checker.problems:
        raise FlowError(sorted(checker.problems, key=lambda p: (p.line or 0, p.message)))
    assert settings is not None
    return settings


def _bad_scalar(text: str) -> tuple[int | None, str | None]:
    """Line and text of the first scalar the safe constructor refuses (yamlsafe gives neither)."""
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None, None
    constructor = yaml.constructor.SafeConstructor()
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node)
            except Exception:  # noqa: BLE001 - any failure is the one we are looking for
                return node.start_mark.line + 1, node.value
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            for k, v in reversed(node.value):
                stack.extend((v, k))
    return None, None


def _where(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the file"


_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "array": "a list",
    "object": "a mapping (key: value lines)",
    "null": "empty",
    "number": "a number",
    "boolean": "true or false",
}

_RANGE_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_STAFF_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class _Checker:
    """Collects problems from the schema and from the meaning of the values."""

    def __init__(self, file: str, doc: yamlsafe.Document):
        self.file = file
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.problems: list[FlowProblem] = []
        self.bad_paths: set[_Path] = set()

    def problem(self, path: _Path, message: str) -> None:
        self.problems.append(FlowProblem(self.file, self.doc.line_of(path), message))

    # ---- schema
    def check_schema(self) -> None:
        validator = jsonschema.Draft202012Validator(practice_schema())
        for error in validator.iter_errors(self.data):
            path = tuple(error.absolute_path)
            self.bad_paths.add(path)
            for p, msg in self._explain(error, path):
                self.problem(p, msg)

    def _explain(self, error: jsonschema.ValidationError, path: _Path) -> Iterator[tuple[_Path, str]]:
        kind = error.validator
        where = _where(path)
        if "propertyNames" in error.relative_schema_path:
            key = error.instance
            self.bad_paths.add(path + (key,))
            hint = error.schema.get("patternErrorMessage", error.message)
            yield path + (key,), f"{where}.{key}: {hint}"
        elif kind == "required":
            missing = re.findall(r"'([^']*)' is a required property", error.message)
            name = missing[0] if missing else error.message
            owner = "" if not path else f"{where}: "
            yield path, f"{owner}missing required setting '{name}'"
        elif kind == "additionalProperties" and isinstance(error.instance, dict):
            known = list(error.schema.get("properties", {}))
            for key in error.instance:
                if key in known:
                    continue
                self.bad_paths.add(path + (key,))
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
                yield path + (key,), f"{_where(path + (key,))}: unknown setting '{key}'{hint}"
        elif kind == "type":
            wanted = error.validator_value
            wanted = wanted if isinstance(wanted, list) else [wanted]
            words = " or ".join(_TYPE_WORDS.get(w, w) for w in wanted)
            yield path, f"{where} must be {words}, not {_describe(error.instance)}"
        elif kind == "pattern":
            hint = error.schema.get("patternErrorMessage", f"does not match {error.validator_value}")
            yield path, f"{where}: {error.instance!r} {hint}"
        elif kind == "minLength":
            yield path, f"{where} must not be empty"
        else:
            yield path, f"{where}: {error.message}"

    # ---- meaning
    def ok(self, path: _Path) -> bool:
        return path not in self.bad_paths

    def build(self) -> PracticeSettings | None:
        d = self.data
        tz = self._timezone()
        region = d.get("phone_region", DEFAULT_PHONE_REGION)
        if isinstance(region, str) and self.ok(("phone_region",)) and region not in phonenumbers.SUPPORTED_REGIONS:
            self.problem(("phone_region",), f"phone_region: {region!r} is not a country phonenumbers knows")
            region = None
        hours = self._hours()
        holidays = self._holidays()
        closures = self._closures(tz)
        staff = self._staff(region if isinstance(region, str) and self.ok(("phone_region",)) else None)
        escalations = self._escalations()
        if self.problems or tz is None:
            return None
        return PracticeSettings(
            name=d["name"],
            timezone=d["timezone"],
            tz=tz,
            hours=MappingProxyType(hours),
            holidays=tuple(holidays),
            closures=tuple(closures),
            staff=tuple(staff.values()),
            phone_region=d.get("phone_region", DEFAULT_PHONE_REGION),
            voice=d.get("voice", DEFAULT_VOICE),
            language=d.get("language", DEFAULT_LANGUAGE),
            entry_flow=d.get("entry_flow", DEFAULT_ENTRY_FLOW),
            emergency_guidance=d.get("emergency_guidance", DEFAULT_EMERGENCY_GUIDANCE),
            callback_promise=d.get("callback_promise"),
            portal_url=d.get("portal_url"),
            portal_help=d.get("portal_help"),
            billing_url=d.get("billing_url"),
            payment_connector=d.get("payment_connector"),
            late_change_hours=int((d.get("cancellation_policy") or {}).get("late_change_hours", 24)),
            late_change_fee=(d.get("cancellation_policy") or {}).get("late_change_fee"),
            reschedule_window_days=int(d.get("reschedule_window_days", 14)),
            verification_max_failures=int((d.get("verification") or {}).get("max_failures", 3)),
            verification_lock_minutes=int((d.get("verification") or {}).get("lock_minutes", 30)),
            verification_pin_max_failures=int((d.get("verification") or {}).get("pin_max_failures", 5)),
            verification_max_failures_per_hour=int(
                (d.get("verification") or {}).get("max_failures_per_hour", 20)),
            escalations=MappingProxyType(escalations),
        )

    def _timezone(self) -> ZoneInfo | None:
        name = self.data.get("timezone")
        if not isinstance(name, str) or not self.ok(("timezone",)):
            return None
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            self.problem(("timezone",), f"timezone: {name!r} is not a known IANA time zone (e.g. America/New_York)")
            return None

    def _hours(self) -> dict[str, tuple[TimeRange, ...]]:
        out: dict[str, tuple[TimeRange, ...]] = {day: () for day in WEEKDAYS}
        table = self.data.get("hours")
        if not isinstance(table, dict):
            return out
        for day in WEEKDAYS:
            ranges = table.get(day)
            if not isinstance(ranges, list):
                continue
            parsed: list[tuple[TimeRange, int]] = []
            for i, text in enumerate(ranges):
                path = ("hours", day, i)
                if not isinstance(text, str) or not self.ok(path):
                    continue
                rng = self._time_range(path, text)
                if rng is not None:
                    parsed.append((rng, i))
            # Overlaps: compare each range with every earlier one so the later line is blamed.
            for n, ((start, end), i) in enumerate(parsed):
                for (s2, e2), j in parsed[:n]:
                    if start < e2 and s2 < end:
                        self.problem(
                            ("hours", day, i),
                            f"hours.{day}[{i}]: {ranges[i]!r} overlaps {ranges[j]!r}",
                        )
                        break
            out[day] = tuple(sorted(r for r, _ in parsed))
        return out

    def _time_range(self, path: _Path, text: str) -> TimeRange | None:
        where = _where(path)
        m = _RANGE_RE.match(text)
        if not m:
            self.problem(path, f"{where}: {text!r} must be a time range like 09:00-17:00")
            return None
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or h2 > 23 or m2 > 59:
            self.problem(path, f"{where}: {text!r} has an impossible time (use 00:00 to 23:59)")
            return None
        start, end = time(h1, m1), time(h2, m2)
        if start >= end:
            self.problem(path, f"{where}: {text!r} must start before it ends (ranges cannot pass midnight)")
            return None
        return start, end

    def _holidays(self) -> list[Holiday]:
        out: list[Holiday] = []
        items = self.data.get("holidays")
        if not isinstance(items, list):
            return out
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            path = ("holidays", i, "date")
            raw = item.get("date")
            if not isinstance(raw, str) or not self.ok(path):
                continue
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                self.problem(path, f"{_where(path)}: {raw!r} is not a real date")
                continue
            name = item.get("name")
            if isinstance(name, str):
                out.append(Holiday(day, name))
        return out

    def _closures(self, tz: ZoneInfo | None) -> list[Closure]:
        out: list[Closure] = []
        items = self.data.get("closures")
        if not isinstance(items, list):
            return out
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            bounds: dict[str, datetime | None] = {}
            for bound in ("start", "end"):
                path = ("closures", i, bound)
                raw = item.get(bound)
                bounds[bound] = None
                if not isinstance(raw, str) or not self.ok(path):
                    continue
                try:
                    bounds[bound] = _moment(raw, tz or timezone.utc, is_end=bound == "end")
                except ValueError:
                    self.problem(path, f"{_where(path)}: {raw!r} is not a real date or time")
            start, end = bounds["start"], bounds["end"]
            if start is None or end is None:
                continue
            if start >= end:
                path = ("closures", i, "end")
                self.problem(path, f"{_where(path)}: the closure must end after it starts")
                continue
            reason = item.get("reason")
            if isinstance(reason, str):
                out.append(Closure(start, end, reason))
        return out

    def _escalations(self) -> dict[str, EscalationRule]:
        from ivr.escalations.deadlines import Within

        out: dict[str, EscalationRule] = {}
        table = self.data.get("escalations")
        if not isinstance(table, dict):
            return out
        for category, rule in table.items():
            if category not in ESCALATION_CATEGORIES or not isinstance(rule, dict):
                continue
            if not self.ok(("escalations", category)):
                continue
            within = None
            path = ("escalations", category, "within")
            raw = rule.get("within")
            if isinstance(raw, str) and self.ok(path):
                try:
                    within = Within.parse(raw)
                except ValueError as exc:
                    self.problem(path, f"{_where(path)}: {exc}")
            priority = rule.get("priority")
            lead = rule.get("reminder_lead_minutes")
            out[category] = EscalationRule(
                within,
                priority if isinstance(priority, str) and self.ok(("escalations", category, "priority")) else None,
                lead if isinstance(lead, int) and not isinstance(lead, bool) else None,
            )
        return out

    def _staff(self, region: str | None) -> dict[str, StaffMember]:
        out: dict[str, StaffMember] = {}
        table = self.data.get("staff")
        if not isinstance(table, dict):
            return out
        for key, member in table.items():
            if not isinstance(key, str) or not _STAFF_KEY_RE.match(key):
                if self.ok(("staff", key)):  # e.g. an integer key the schema did not see as a name
                    self.problem(("staff", key), f"staff.{key}: staff keys must be lower-case words")
                continue
            if not isinstance(member, dict):
                continue
            path = ("staff", key, "phone")
            raw = member.get("phone")
            if isinstance(raw, bool) or not isinstance(raw, (str, int)) or not self.ok(path) or region is None:
                continue
            e164 = _e164(raw, region)
            if e164 is None:
                hint = " (put it in quotes, starting with +country code)" if isinstance(raw, int) else ""
                self.problem(path, f"{_where(path)}: {str(raw)!r} is not a valid phone number{hint}")
                continue
            name, role, roster = member.get("name"), member.get("role"), member.get("roster")
            if isinstance(name, str):
                out[key] = StaffMember(key, name, e164, role if isinstance(role, str) else None,
                                       roster if isinstance(roster, str) and self.ok(("staff", key, "roster"))
                                       else None)
        return out


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (dict, list)):
        return _TYPE_WORDS["object" if isinstance(value, dict) else "array"]
    return repr(value)


def _e164(raw: str | int, region: str) -> str | None:
    candidates = [str(raw)]
    if isinstance(raw, int):  # an unquoted +15551234567 arrives as a bare integer
        candidates.append(f"+{raw}")
    for text in candidates:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        # "Possible" (a complete number of the right length for its country) rather than
        # "valid": validity tables lag new ranges and reject the fictional 555 numbers
        # demos use; ivr.core.phone_numbers makes the same choice.
        if phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _moment(text: str, tz: ZoneInfo | timezone, *, is_end: bool) -> datetime:
    """A closure bound: a datetime (naive = practice time) or a date (start of day; an end date is inclusive)."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        if is_end:
            day += timedelta(days=1)
        return datetime.combine(day, time(0), tzinfo=tz)
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


# --------------------------------------------------------------------------- queries


def staff_numbers(settings: PracticeSettings, keys: Iterable[str]) -> list[str]:
    """E.164 numbers of the staff ``keys``, in order; an unknown key raises KeyError."""
    return [settings.staff_member(key).phone_e164 for key in keys]


def holiday_on(settings: PracticeSettings, day: date) -> Holiday | None:
    """The holiday on ``day`` (a practice-time date), if any."""
    for holiday in settings.holidays:
        if holiday.date == day:
            return holiday
    return None


def status_at(settings: PracticeSettings, now: datetime) -> OpenStatus:
    """Is the practice open at ``now`` (aware)?  Ranges are [start, end); DST-safe."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("status_at needs an aware datetime (with a time zone)")
    tz = settings.tz
    now_utc = now.astimezone(timezone.utc)
    today = now_utc.astimezone(tz).date()
    intervals = _open_intervals(settings, today - timedelta(days=1), today + LOOKAHEAD + timedelta(days=1))

    for start, end in intervals:
        if start <= now_utc < end:
            return OpenStatus(True, "open", closes_at=end.astimezone(tz))

    horizon = now_utc + LOOKAHEAD
    next_open = next((s for s, _ in intervals if now_utc < s <= horizon), None)
    next_local = next_open.astimezone(tz) if next_open else None
    holiday = holiday_on(settings, today)
    if holiday is not None:
        return OpenStatus(False, "holiday", holiday_name=holiday.name, next_open=next_local)
    closure = next((c for c in settings.closures if c.start <= now_utc < c.end), None)
    if closure is not None:
        return OpenStatus(False, "closure", next_open=next_local, closure_reason=closure.reason)
    return OpenStatus(False, "closed", next_open=next_local)


def _open_intervals(settings: PracticeSettings, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """Open [start, end) intervals in UTC for practice-time days first..last, minus holidays and closures.

    Everything is compared in UTC: aware datetimes sharing one tzinfo compare by
    wall time, which is wrong across a DST change.
    """
    tz = settings.tz

    def utc(day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=tz).astimezone(timezone.utc)

    holidays = {h.date for h in settings.holidays}
    closed = [(c.start.astimezone(timezone.utc), c.end.astimezone(timezone.utc)) for c in settings.closures]
    opened: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        if day not in holidays:
            for start, end in settings.hours[WEEKDAYS[day.weekday()]]:
                opened.append((utc(day, start), utc(day, end)))
        day += timedelta(days=1)

    for c_start, c_end in closed:
        cut: list[tuple[datetime, datetime]] = []
        for start, end in opened:
            if c_end <= start or end <= c_start:
                cut.append((start, end))
                continue
            if start < c_start:
                cut.append((start, c_start))
            if c_end < end:
                cut.append((c_end, end))
        opened = cut

    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(opened):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return [(s, e) for s, e in merged if s < e]
