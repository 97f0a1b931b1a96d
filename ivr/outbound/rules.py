"""``flows/outbound.yaml`` → :class:`OutboundRules`: follow-up triggers, reminders and their shared limits.

Read with the safe YAML reader (every value keeps its line), checked against
``ivr/flowlang/schemas/outbound.schema.json`` and then for meaning (times, numbers, the discretion lint of every
template and of the caller name).  Every problem is reported at once, as ``FlowProblem`` values
with the file, the line and the rule's path (``follow_ups.late.words.text: …``).

Pure: text in, values out; :func:`check_outbound` is the only function that reads a file.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import phonenumbers

from ivr.core import yamlsafe
from ivr.core.promised_keys import no_keys_problem
from ivr.core.templates import Template, compile_template
from ivr.exceptions import FlowError, FlowProblem, UnsafeYamlError
from ivr.outbound import lint
from ivr.outbound.facts import Channel
from ivr.outbound.lint import Discretion, WordKind
from ivr.outbound.zones import EARLIEST, LATEST, Days, QuietHours, shift_local
from ivr.practice.settings.model import PracticeSettings
from ivr.practice.settings.schema_errors import explain, marks_only_the_key
from ivr.practice.settings.schema_errors import where as _where

OUTBOUND_FILE = "outbound.yaml"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "flowlang" / "schemas" / "outbound.schema.json"
_Path = tuple[Any, ...]


class Trigger(str, Enum):
    """Why a follow-up fires (issue 11)."""

    LATE = "late"  # not checked in / joined N minutes after the start
    NO_SHOW = "no_show"  # marked a no-show
    UNBOOKED = "unbooked"  # no next appointment N days after a completed session
    CANCELLED = "cancelled"  # cancelled and not rebooked within N days
    LAPSED = "lapsed"  # no contact for N days
    CORRECTION = "correction"  # raised by staff from the dashboard


class ReminderBy(str, Enum):
    """How a reminder goes: ``both`` is a text and a call at the same moment, one contact."""

    TEXT = "text"
    CALL = "call"
    BOTH = "both"

    def channels(self) -> tuple[Channel, ...]:
        """The channels of the first attempt."""
        return {ReminderBy.TEXT: (Channel.TEXT,), ReminderBy.CALL: (Channel.CALL,),
                ReminderBy.BOTH: (Channel.TEXT, Channel.CALL)}[self]


@dataclass(frozen=True)
class Span:
    """A duration as owners write it: whole calendar ``days`` (client's zone, DST-safe) plus ``seconds``."""

    days: int = 0
    seconds: int = 0

    _RE = re.compile(r"^\s*(\d{1,4})\s+(minute|hour|day|week)s?\s*$")

    @classmethod
    def parse(cls, text: str) -> Span:
        """``"15 minutes"``, ``"2 hours"``, ``"7 days"``, ``"1 week"``; ValueError otherwise."""
        m = cls._RE.match(text)
        if not m:
            raise ValueError(f"{text!r} is not a duration like '15 minutes', '2 hours' or '7 days'")
        n, unit = int(m.group(1)), m.group(2)
        if unit == "minute":
            return cls(0, n * 60)
        if unit == "hour":
            return cls(0, n * 3600)
        return cls(n * (7 if unit == "week" else 1), 0)

    @property
    def approx_seconds(self) -> int:
        """Length in seconds counting a day as 24 hours (for bounds and ordering, not for scheduling)."""
        return self.days * 86400 + self.seconds

    def after(self, at: datetime, tz: ZoneInfo) -> datetime:
        """``at`` plus this span, days counted on ``tz``'s calendar."""
        return shift_local(at, tz, days=self.days, seconds=self.seconds)

    def before(self, at: datetime, tz: ZoneInfo) -> datetime:
        """``at`` minus this span, days counted on ``tz``'s calendar."""
        return shift_local(at, tz, days=-self.days, seconds=-self.seconds)

    def __str__(self) -> str:
        if self.days and not self.seconds:
            return f"{self.days} day{'s' * (self.days != 1)}"
        minutes = self.approx_seconds // 60
        if minutes % 60 == 0 and minutes:
            return f"{minutes // 60} hour{'s' * (minutes != 60)}"
        return f"{minutes} minute{'s' * (minutes != 1)}"


@dataclass(frozen=True)
class Words:
    """Compiled templates per :class:`~ivr.outbound.lint.WordKind`; ``name`` is where they came from
    (``follow_ups.late``), ``version`` a digest of their sources (recorded with each attempt)."""

    name: str
    sources: Mapping[str, str]
    templates: Mapping[str, Template] = field(compare=False, repr=False)
    version: str = ""

    def template(self, kind: WordKind) -> Template | None:
        """The template for ``kind``, or None when this touch has no words of that kind."""
        return self.templates.get(kind.value)


@dataclass(frozen=True)
class FollowUpRule:
    """One follow-up trigger: due ``after`` its event, ``attempts`` spaced by ``spacing``, each
    allowed to go up to ``within`` after it is due, then the staff task ``then`` (None: nothing)."""

    trigger: Trigger
    after: Span
    attempts: tuple[Channel, ...]
    spacing: Span
    within: Span
    then: str | None
    words: Words


@dataclass(frozen=True)
class ReminderRule:
    """One reminder touch: ``before`` the appointment, ``by`` text/call/both, ``fallback`` when the
    first channel is not allowed or reached nobody; after downtime it may go up to ``within`` late."""

    name: str
    before: Span
    by: ReminderBy
    fallback: Channel | None
    within: Span
    words: Words


@dataclass(frozen=True)
class MovedRule:
    """The one short correction sent when a reminded appointment moves."""

    enabled: bool
    by: ReminderBy
    fallback: Channel | None
    words: Words


@dataclass(frozen=True)
class Limits:
    """Per client across every touch: contacts a (local) day, in any 7 days, call attempts in 24 h."""

    per_day: int = 1
    per_week: int = 3
    calls_per_24h: int = 3


HARD_LIMITS = Limits()  # the rules file may lower these, never raise them


@dataclass(frozen=True)
class CallerId:
    """What the client's phone shows: the CNAM ``name`` and the pool of neutral E.164 ``numbers``."""

    name: str | None = None
    numbers: tuple[str, ...] = ()
    # Numbers that identify the practice (its listed line, TWILIO_NUMBER; its staff's): never a ``From``.
    refused: tuple[str, ...] = ()

    def number_for(self, client_id: str) -> str | None:
        """The pool number a client is always contacted from (stable, so they see one number)."""
        if not self.numbers:
            return None
        digest = hashlib.sha256(client_id.encode()).digest()
        return self.numbers[int.from_bytes(digest[:4], "big") % len(self.numbers)]


@dataclass(frozen=True)
class OutboundRules:
    """The parsed, checked contents of ``outbound.yaml`` with the practice they were checked against."""

    practice: PracticeSettings
    quiet_hours: QuietHours
    limits: Limits
    caller_id: CallerId
    discretion: Discretion
    opt_out_notice: Template
    neutral: Words
    follow_ups: Mapping[Trigger, FollowUpRule]  # enabled triggers only
    reminders: tuple[ReminderRule, ...]
    moved: MovedRule
    settle: Span
    min_notice: Span
    version: str = ""

    def max_reach_seconds(self) -> int:
        """The longest any rule looks ahead or back (the planner sizes its calendars from it)."""
        spans = [r.before.approx_seconds + r.within.approx_seconds for r in self.reminders]
        for f in self.follow_ups.values():
            spans.append(f.after.approx_seconds + f.within.approx_seconds
                         + len(f.attempts) * (f.spacing.approx_seconds + f.within.approx_seconds))
        return max(spans, default=0)


# --------------------------------------------------------------------------- defaults

DEFAULT_VOICEMAIL = ("This is a message for {{ first_name }} about an appointment. "
                     "Please call us back at {{ callback_number }}. Thank you.")
DEFAULT_NEUTRAL = {
    "text": "Hello, this is a message about an appointment. Please call us at {{ callback_number }}.",
    "voicemail": "Hello, this is a message about an appointment. Please call us back at {{ callback_number }}. "
                 "Thank you.",
    "spoken": "This is about a business matter; we'll try again later. "
              "You can reach us at {{ callback_number }}. Goodbye.",
}
DEFAULT_OPT_OUT_NOTICE = "Reply STOP to stop these texts."
DEFAULT_REMINDER_WORDS = {
    "text": "Hi {{ first_name }}, a reminder of your appointment {{ when }}. Reply 1 to confirm or 2 to change it.",
    "voicemail": DEFAULT_VOICEMAIL,
    "spoken": "This is a reminder of your appointment {{ when }}. To confirm, press 1. To change it, press 2.",
}
DEFAULT_MOVED_WORDS = {
    "text": "Hi {{ first_name }}, a correction: your appointment is now {{ when }}. "
            "Reply 1 to confirm or 2 to change it.",
    "voicemail": DEFAULT_VOICEMAIL,
    "spoken": "A correction: your appointment is now {{ when }}. To confirm, press 1. To change it, press 2.",
}
_FOLLOW_UP_TEXT = {
    Trigger.LATE: "Hi {{ first_name }}, we were expecting you at {{ time }}. If you need another time, "
    "please call us at {{ callback_number }}.",
    Trigger.NO_SHOW: "Hi {{ first_name }}, we missed you {{ day }}. Please call us at {{ callback_number }} "
    "to find a new time.",
    Trigger.UNBOOKED: "Hi {{ first_name }}, we would be glad to find your next appointment. "
    "Please call us at {{ callback_number }}.",
    Trigger.CANCELLED: "Hi {{ first_name }}, would you like to find a new time? Please call us at "
                       "{{ callback_number }}.",
    Trigger.LAPSED: "Hi {{ first_name }}, it has been a while. If you would like to book a time, "
    "please call us at {{ callback_number }}.",
    Trigger.CORRECTION: "Hi {{ first_name }}, we need to check a detail of your appointment. "
    "Please call us at {{ callback_number }}.",
}
_FOLLOW_UP_SPOKEN = {
    Trigger.LATE: "We were expecting you at {{ time }}.",
    Trigger.NO_SHOW: "We missed you {{ day }}.",
    Trigger.UNBOOKED: "We are calling to help you find your next appointment.",
    Trigger.CANCELLED: "We are calling to help you find a new time for your appointment.",
    Trigger.LAPSED: "We are calling to see whether you would like to book a time.",
    Trigger.CORRECTION: "We are calling about a detail of your appointment.",
}


@dataclass(frozen=True)
class _FollowUpDefaults:
    after: str
    attempts: tuple[str, ...]
    spacing: str
    within: str


FOLLOW_UP_DEFAULTS: Mapping[Trigger, _FollowUpDefaults] = MappingProxyType({
    Trigger.LATE: _FollowUpDefaults("15 minutes", ("call", "text"), "10 minutes", "30 minutes"),
    Trigger.NO_SHOW: _FollowUpDefaults("30 minutes", ("call", "text"), "1 day", "5 days"),
    Trigger.UNBOOKED: _FollowUpDefaults("7 days", ("call", "text"), "2 days", "5 days"),
    Trigger.CANCELLED: _FollowUpDefaults("3 days", ("call", "text"), "2 days", "5 days"),
    Trigger.LAPSED: _FollowUpDefaults("30 days", ("text",), "3 days", "7 days"),
    Trigger.CORRECTION: _FollowUpDefaults("0 minutes", ("call", "call"), "2 hours", "2 days"),
})
DEFAULT_REMINDERS = {"two_days_before": "2 days", "two_hours_before": "2 hours"}
DEFAULT_SETTLE = "3 minutes"
DEFAULT_MIN_NOTICE = "30 minutes"


def default_within(before: Span) -> Span:
    """A reminder's default lateness limit: a quarter of its lead, at least 15 minutes, at most 12 hours."""
    return Span(0, max(15 * 60, min(12 * 3600, before.approx_seconds // 4)))


# --------------------------------------------------------------------------- loading


@functools.lru_cache(maxsize=1)
def outbound_schema() -> dict[str, Any]:
    """The JSON Schema of outbound.yaml (draft 2020-12)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def check_outbound(flows_dir: str | Path, practice: PracticeSettings, *, clinician_names: Sequence[str] = (),
                   listed_numbers: Sequence[str] = ()) -> tuple[OutboundRules | None, list[FlowProblem]]:
    """Load ``outbound.yaml`` from ``flows_dir`` and check it against ``practice``.

    Returns (rules, problems); rules is None when any problem is an error, and (None, []) when the
    directory has no outbound.yaml (no follow-ups or reminders are sent).  ``clinician_names`` come
    from the practice database when the caller has it; the lint refuses them in any words.  ``listed_numbers``:
    the practice's listed line(s) (the number callers dial, ``TWILIO_NUMBER``), refused in ``caller_id.numbers``.
    """
    path = Path(flows_dir) / OUTBOUND_FILE
    if not path.exists():
        return None, []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [FlowProblem(OUTBOUND_FILE, None, f"cannot read outbound rules: {exc}")]
    return parse_outbound(text, practice, OUTBOUND_FILE, clinician_names=clinician_names,
                          listed_numbers=listed_numbers)


def parse_outbound(text: str | bytes, practice: PracticeSettings, file: str = OUTBOUND_FILE, *,
                   clinician_names: Sequence[str] = (),
                   listed_numbers: Sequence[str] = ()) -> tuple[OutboundRules | None, list[FlowProblem]]:
    """Parse and check outbound rules text; (rules or None, every problem sorted by line)."""
    try:
        doc = yamlsafe.load(text)
    except UnsafeYamlError as exc:
        return None, [FlowProblem(file, exc.line, str(exc))]
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        return None, [FlowProblem(file, doc.line_of(()) or 1,
                                  "the file must be a mapping (caller_id:, quiet_hours:, follow_ups:, reminders: …)")]
    listed = tuple(n for n in (_e164(raw, practice.phone_region) for raw in listed_numbers if raw) if n)
    checker = _Checker(file, doc, data, practice, tuple(clinician_names), listed)
    checker.check_schema()
    rules = checker.build(text if isinstance(text, bytes) else text.encode("utf-8"))
    problems = sorted(checker.problems, key=lambda p: (p.line or 0, p.message))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return rules, problems


def default_rules(practice: PracticeSettings) -> OutboundRules:
    """The issues' defaults (what flows/outbound.yaml ships): every trigger on, two text reminders.

    Raises FlowError if the default words fail the lint for this practice (e.g. its name is
    "Appointment Partners").
    """
    text = "follow_ups:\n" + "".join(f"  {t.value}: {{}}\n" for t in Trigger) + "reminders:\n  touches:\n" + "".join(
        f"    {name}: {{before: {before}, by: text}}\n" for name, before in DEFAULT_REMINDERS.items())
    rules, problems = parse_outbound(text, practice, "defaults")
    if rules is None:
        raise FlowError(problems)
    return rules


class _Checker:
    """Collects problems from the schema and from the meaning of the values, then builds the rules."""

    def __init__(self, file: str, doc: yamlsafe.Document, data: dict[str, Any], practice: PracticeSettings,
                 clinician_names: tuple[str, ...], listed_numbers: tuple[str, ...] = ()):
        self.file, self.doc, self.data, self.practice = file, doc, data, practice
        self.clinician_names = clinician_names
        self.listed_numbers = listed_numbers
        self.problems: list[FlowProblem] = []
        self.bad: set[_Path] = set()

    def problem(self, path: _Path, message: str, severity: str = "error") -> None:
        self.problems.append(FlowProblem(self.file, self.doc.line_of(path), message, severity=severity))

    def ok(self, path: _Path) -> bool:
        """False when the schema already complained about ``path`` or one of its parents."""
        return not any(path[:n] in self.bad for n in range(len(path) + 1))

    def get(self, path: _Path, default: Any = None) -> Any:
        """The value at ``path`` if the schema accepted it, else ``default``."""
        value: Any = self.data
        for part in path:
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return default if value is None or not self.ok(path) else value

    # ---- schema
    def check_schema(self) -> None:
        validator = jsonschema.Draft202012Validator(outbound_schema())
        for error in validator.iter_errors(self.data):
            path = tuple(error.absolute_path)
            if not marks_only_the_key(error):
                self.bad.add(path)  # a key's own error marks the key only, so its siblings are still checked
            for p, message in self._explain(error, path):
                self.problem(p, message)

    def _explain(self, error: jsonschema.ValidationError, path: _Path) -> Iterator[tuple[_Path, str]]:
        if error.validator == "maximum" and path[:1] == ("limits",):
            yield (
                path,
                f"{_where(path)}: {error.instance} is above the limit of {error.validator_value}; limits can be "
                f"lowered, never raised",
            )
        else:
            yield from explain(error, path, self.bad.add)

    # ---- meaning
    def build(self, raw: bytes) -> OutboundRules | None:
        quiet = self._quiet_hours()
        limits = Limits(**{k: v for k in ("per_day", "per_week", "calls_per_24h")
                           if isinstance(v := self.get(("limits", k)), int)})
        discretion = self._discretion()
        caller_id = self._caller_id(discretion)
        notice_source = self.get(("discretion", "opt_out_notice"), DEFAULT_OPT_OUT_NOTICE)
        self._lint(("discretion", "opt_out_notice"), notice_source, WordKind.TEXT, discretion, opt_out_notice=True,
                   default="opt_out_notice" not in (self.get(("discretion",), {}) or {}))
        neutral = self._words(("neutral",), "neutral", DEFAULT_NEUTRAL, discretion, neutral=True)
        follow_ups = self._follow_ups(discretion)
        reminders, moved, settle, min_notice = self._reminders(discretion)
        if any(p.severity == "error" for p in self.problems):
            return None
        return OutboundRules(
            practice=self.practice, quiet_hours=quiet, limits=limits, caller_id=caller_id, discretion=discretion,
            opt_out_notice=compile_template(str(notice_source)), neutral=neutral,
            follow_ups=MappingProxyType(follow_ups), reminders=tuple(reminders), moved=moved, settle=settle,
            min_notice=min_notice, version=hashlib.sha256(raw).hexdigest()[:12])

    def _span(self, path: _Path, default: str) -> Span:
        value = self.get(path)
        try:
            return Span.parse(value if isinstance(value, str) else default)
        except ValueError as exc:  # the schema's pattern lets nothing else through; belt and braces
            self.problem(path, f"{_where(path)}: {exc}")
            return Span.parse(default)

    def _clock(self, path: _Path, default: time) -> time:
        raw = self.get(path)
        if not isinstance(raw, str):
            return default
        hours, minutes = (int(x) for x in raw.split(":"))
        if hours > 23 or minutes > 59:
            self.problem(path, f"{_where(path)}: {raw!r} is not a time of day (00:00 to 23:59)")
            return default
        return time(hours, minutes)

    def _quiet_hours(self) -> QuietHours:
        start = self._clock(("quiet_hours", "start"), QuietHours.start)
        end = self._clock(("quiet_hours", "end"), QuietHours.end)
        if start < EARLIEST:
            self.problem(("quiet_hours", "start"), f"quiet_hours.start: {start:%H:%M} is before {EARLIEST:%H:%M}; "
                         "clients are never contacted before 08:00 their time")
        if end > LATEST:
            self.problem(("quiet_hours", "end"), f"quiet_hours.end: {end:%H:%M} is after {LATEST:%H:%M}; "
                         "clients are never contacted after 20:00 their time")
        if start >= end:
            self.problem(("quiet_hours", "end"), "quiet_hours.end must be after quiet_hours.start")
        days = Days(self.get(("quiet_hours", "days"), Days.EVERY_DAY.value))
        if days is Days.BUSINESS_DAYS and not any(self.practice.hours.values()):
            self.problem(("quiet_hours", "days"), "quiet_hours.days: business_days, but practice.yaml has no "
                         "opening hours on any day, so nothing could ever be sent")
        return QuietHours(start, end, days)

    def _discretion(self) -> Discretion:
        part2 = bool(self.get(("discretion", "substance_use_program"), False))
        neutral_name = self.get(("discretion", "neutral_name"))
        if part2 and neutral_name:
            self.problem(("discretion", "neutral_name"), "discretion.neutral_name: remove it: with "
                         "substance_use_program (42 CFR Part 2) not even a neutral name is given")
        words = self.get(("discretion", "distinctive_words"))
        never_say = self.get(("discretion", "never_say"), [])
        rules = Discretion.for_practice(
            self.practice.name,
            name_words=[w for w in words if isinstance(w, str)] if isinstance(words, list) else None,
            clinician_names=self.clinician_names,
            never_say=[w for w in never_say if isinstance(w, str)],
            substance_use_program=part2,
            neutral_name=None if part2 else neutral_name,
        )
        if isinstance(neutral_name, str) and not part2:
            for problem in lint.text_problems(neutral_name, rules):
                self.problem(("discretion", "neutral_name"), f"discretion.neutral_name: not discreet: {problem}")
        return rules

    def _caller_id(self, discretion: Discretion) -> CallerId:
        name = self.get(("caller_id", "name"))
        if isinstance(name, str):
            for problem in lint.caller_name_problems(name, discretion):
                self.problem(("caller_id", "name"), f"caller_id.name: {name!r} is refused: {problem}")
        numbers: list[str] = []
        staff = {m.phone_e164: m.name for m in self.practice.staff}
        raw_numbers = self.get(("caller_id", "numbers"), [])
        for i, raw in enumerate(raw_numbers if isinstance(raw_numbers, list) else []):
            path = ("caller_id", "numbers", i)
            e164 = _e164(raw, self.practice.phone_region)
            if e164 is None:
                hint = " (put it in quotes, starting with +country code)" if isinstance(raw, int) else ""
                self.problem(path, f"{_where(path)}: {str(raw)!r} is not a valid phone number{hint}")
            elif e164 in staff:
                self.problem(path, f"{_where(path)}: {str(raw)!r} is the number of staff member {staff[e164]!r}, "
                             "not a neutral outbound number")
            elif e164 in self.listed_numbers:
                self.problem(path, f"{_where(path)}: {str(raw)!r} is the practice's listed line (TWILIO_NUMBER, the "
                             "number callers dial), not a neutral outbound number: every call and text would show "
                             "it and its caller name")
            elif e164 in numbers:
                self.problem(path, f"{_where(path)}: {str(raw)!r} is listed twice")
            else:
                numbers.append(e164)
        if not numbers and self.ok(("caller_id",)):
            self.problem(("caller_id",) if "caller_id" in self.data else (),
                         "caller_id.numbers: no neutral numbers, so no follow-up or reminder can be sent", "warning")
        return CallerId(name if isinstance(name, str) else None, tuple(numbers),
                        refused=tuple(dict.fromkeys((*self.listed_numbers, *staff))))

    def _lint(self, path: _Path, source: Any, kind: WordKind, discretion: Discretion, *, neutral: bool = False,
              opt_out_notice: bool = False, default: bool = False) -> None:
        if not isinstance(source, str) or not self.ok(path):
            return
        where = _where(path)
        prefix = (f"{where} (the built-in words; write your own here): " if default else f"{where}: ")
        for found in lint.template_problems(source, kind, discretion, neutral=neutral, opt_out_notice=opt_out_notice):
            self.problem(path if not default else path[:-1] if len(path) > 1 else path,
                         prefix + found.message, found.severity)
        # A voicemail is spoken and the call hangs up; the neutral words are said before hanging up
        # (flows/follow_up_call.yaml): a key they promise does nothing (fix14-left finding 1).
        ending = {WordKind.VOICEMAIL: "as a voicemail", WordKind.SPOKEN: "before the call hangs up"}
        if kind is WordKind.VOICEMAIL or (kind is WordKind.SPOKEN and neutral):
            dead = no_keys_problem(source, ending[kind])
            if dead:
                self.problem(path if not default else path[:-1] if len(path) > 1 else path, prefix + dead)

    def _words(self, path: _Path, name: str, defaults: Mapping[str, str], discretion: Discretion, *,
               neutral: bool = False, inherited: Mapping[str, str] | None = None) -> Words:
        given = self.get(path, {})
        given = given if isinstance(given, dict) else {}
        sources: dict[str, str] = {}
        for kind in WordKind:
            if isinstance(given.get(kind.value), str) and self.ok(path + (kind.value,)):
                sources[kind.value] = given[kind.value]
                self._lint(path + (kind.value,), given[kind.value], kind, discretion, neutral=neutral)
            elif inherited and kind.value in inherited:
                sources[kind.value] = inherited[kind.value]  # linted where it was written
            elif kind.value in defaults:
                sources[kind.value] = defaults[kind.value]
                self._lint(path + (kind.value,), defaults[kind.value], kind, discretion, neutral=neutral, default=True)
        templates = {}
        for kind, source in sources.items():
            try:
                templates[kind] = compile_template(source)
            except Exception:  # noqa: BLE001 - already reported by the lint (syntax errors)
                templates[kind] = compile_template("")
        digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:12]
        return Words(name, MappingProxyType(sources), MappingProxyType(templates), digest)

    def _follow_ups(self, discretion: Discretion) -> dict[Trigger, FollowUpRule]:
        out: dict[Trigger, FollowUpRule] = {}
        table = self.data.get("follow_ups")
        if not isinstance(table, dict) or not self.ok(("follow_ups",)):
            return out
        for trigger in Trigger:
            if trigger.value not in table or not self.ok(("follow_ups", trigger.value)):
                continue
            base = ("follow_ups", trigger.value)
            spec = table[trigger.value] or {}
            defaults = FOLLOW_UP_DEFAULTS[trigger]
            attempts_raw = self.get(base + ("attempts",), list(defaults.attempts))
            attempts = tuple(Channel(a) for a in attempts_raw if a in ("call", "text"))
            then = self.get(base + ("then",))
            words = self._words(base + ("words",), f"follow_ups.{trigger.value}",
                                {"text": _FOLLOW_UP_TEXT[trigger], "voicemail": DEFAULT_VOICEMAIL,
                                 "spoken": _FOLLOW_UP_SPOKEN[trigger]}, discretion)
            rule = FollowUpRule(trigger, self._span(base + ("after",), defaults.after), attempts,
                                self._span(base + ("spacing",), defaults.spacing),
                                self._span(base + ("within",), defaults.within),
                                then.strip() if isinstance(then, str) else None, words)
            if rule.within.approx_seconds < 60:
                self.problem(base + ("within",), f"{_where(base + ('within',))}: must be at least 1 minute")
            if isinstance(spec, dict) and spec.get("enabled", True) is False:
                continue
            out[trigger] = rule
        return out

    def _reminders(self, discretion: Discretion) -> tuple[list[ReminderRule], MovedRule, Span, Span]:
        section = self.data.get("reminders") if self.ok(("reminders",)) else None
        section = section if isinstance(section, dict) else {}
        shared = self._words(("reminders", "words"), "reminders", DEFAULT_REMINDER_WORDS, discretion)
        settle = self._span(("reminders", "settle"), DEFAULT_SETTLE)
        min_notice = self._span(("reminders", "min_notice"), DEFAULT_MIN_NOTICE)
        out: list[ReminderRule] = []
        touches = section.get("touches") if self.ok(("reminders", "touches")) else None
        for name, spec in (touches.items() if isinstance(touches, dict) else []):
            base = ("reminders", "touches", name)
            if not isinstance(spec, dict) or not self.ok(base):
                continue
            before = self._span(base + ("before",), "1 day")
            if before.approx_seconds <= min_notice.approx_seconds:
                self.problem(base + ("before",), f"{_where(base + ('before',))}: {before} is not more than "
                             f"reminders.min_notice ({min_notice}), so it could never be sent")
            within = self._span(base + ("within",), str(default_within(before))) if "within" in spec \
                else default_within(before)
            words = self._words(base + ("words",), f"reminders.{name}", {}, discretion,
                                inherited=shared.sources)
            by = ReminderBy(self.get(base + ("by",), "text"))
            fallback = self.get(base + ("fallback",), "none")
            out.append(ReminderRule(name, before, by, None if fallback == "none" else Channel(fallback), within,
                                    words))
            self._needs_words(base, words, by, fallback)
        out.sort(key=lambda r: -r.before.approx_seconds)  # earliest touch first
        moved_spec = section.get("moved") if isinstance(section.get("moved"), dict) else {}
        mbase = ("reminders", "moved")
        moved_words = self._words(mbase + ("words",), "reminders.moved", DEFAULT_MOVED_WORDS, discretion)
        mby = ReminderBy(self.get(mbase + ("by",), "text"))
        mfallback = self.get(mbase + ("fallback",), "none")
        moved = MovedRule(bool(moved_spec.get("enabled", True)) if self.ok(mbase + ("enabled",)) else True, mby,
                          None if mfallback == "none" else Channel(mfallback), moved_words)
        return out, moved, settle, min_notice

    def _needs_words(self, base: _Path, words: Words, by: ReminderBy, fallback: str) -> None:
        channels = set(by.channels()) | ({Channel(fallback)} if fallback in ("call", "text") else set())
        if Channel.TEXT in channels and "text" not in words.sources:
            self.problem(base, f"{_where(base)}: goes by text but has no text words (words.text)")
        if Channel.CALL in channels and "spoken" not in words.sources:
            self.problem(base, f"{_where(base)}: goes by call but has no spoken words (words.spoken)")


def _e164(raw: Any, region: str) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return None
    for text in ([str(raw), f"+{raw}"] if isinstance(raw, int) else [str(raw)]):
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        # "Possible" rather than "valid", as ivr.practice.settings: the demo's 555 numbers are fictional.
        if phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
