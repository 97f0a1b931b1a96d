"""Reading and checking ``flows/practice.yaml`` into ``ivr.practice.settings.model.PracticeSettings``.

Pure functions: text in, frozen values out.  ``load_practice`` is the only I/O,
and nothing here reads the clock; callers pass ``now`` as an aware datetime.

Every problem in the file is reported at once, each with its line, as a
``FlowError`` of ``FlowProblem`` values.
"""
from __future__ import annotations

import json
import os
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import phonenumbers
import yaml

from ivr.core import yamlsafe
from ivr.core.hours import WEEKDAYS, TimeRange, Within
from ivr.core.promised_keys import no_keys_problem
from ivr.exceptions import FlowError, FlowProblem, UnsafeYamlError
from ivr.practice.settings.model import (
    DEFAULT_EMERGENCY_GUIDANCE,
    DEFAULT_ENTRY_FLOW,
    DEFAULT_LANGUAGE,
    DEFAULT_NEW_CLIENTS_MESSAGE,
    DEFAULT_PHONE_REGION,
    DEFAULT_UNSURE_WITHIN,
    DEFAULT_VOICE,
    ESCALATION_CATEGORIES,
    Closure,
    EscalationRule,
    Holiday,
    PracticeSettings,
    StaffMember,
)
from ivr.practice.settings.schema_errors import explain
from ivr.practice.settings.schema_errors import where as _where

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "flowlang" / "schemas" / "practice.schema.json"
_Path = tuple[Any, ...]


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
        msg = (
            "the file is empty"
            if doc.data is None
            else "the file must be a mapping of settings (name: ..., timezone: ...)"
        )
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
            for p, msg in explain(error, path, self.bad_paths.add):
                self.problem(p, msg)

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
        unsure_within = self._unsure_within()
        guidance = d.get("emergency_guidance")
        if isinstance(guidance, str) and self.ok(("emergency_guidance",)):
            # Also said in the apology when the service fails (only # ends its message) and as the crisis offer
            # where a flow has no crisis path: a key it promises would do nothing there (fix14-left finding 1).
            dead = no_keys_problem(guidance, "in the apology when the service fails, and where a flow has no "
                                             "crisis path")
            if dead:
                self.problem(("emergency_guidance",), f"emergency_guidance: {dead}")
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
            new_clients_accepting=bool((d.get("new_clients") or {}).get("accepting", True)),
            new_clients_message=(d.get("new_clients") or {}).get("message") or DEFAULT_NEW_CLIENTS_MESSAGE,
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
            voicemail_retention_days=int((d.get("voicemail") or {}).get("retention_days", 90)),
            voicemail_unsure_within=unsure_within or DEFAULT_UNSURE_WITHIN,
        )

    def _unsure_within(self) -> Within | None:
        """``voicemail: unsure_within`` parsed (None when absent or already reported by the schema)."""
        voicemail = self.data.get("voicemail")
        path = ("voicemail", "unsure_within")
        raw = voicemail.get("unsure_within") if isinstance(voicemail, dict) else None
        if not isinstance(raw, str) or not self.ok(path):
            return None
        try:
            return Within.parse(raw)
        except ValueError as exc:  # the schema's pattern passes "0 hours" and "9999 days"
            self.problem(path, f"{_where(path)}: {exc}")
            return None

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
                    bounds[bound] = _moment(raw, tz or UTC, is_end=bound == "end")
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
