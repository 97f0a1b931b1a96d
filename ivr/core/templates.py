"""Prompt templates and branch conditions, compiled once in Jinja2's sandbox.

Owners write ``{{ caller.first_name }}`` in prompts and ``open_now and not holiday``
in branches.  Both run in :class:`jinja2.sandbox.ImmutableSandboxedEnvironment`, so a
flow file can read the values we hand it but cannot reach Python internals or
mutate anything.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes, pass_context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from ivr.core import spoken_output

__all__ = ["Template", "Expression", "TemplateSyntaxError", "compile_template", "compile_expression", "SecurityError",
           "referenced"]


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@pass_context
def _spoken(ctx: Any, value: Any, dated: bool = False) -> str:
    when = _as_datetime(value)
    now = _as_datetime(ctx.get("now"))
    if when is None or now is None:
        return ""
    # Stored values carry a bare UTC offset; in the practice's zone (now's) a time in a DST fold
    # can be told apart from its twin.
    local = _local(ctx, when)
    return _named(ctx, when, spoken_output.spoken_datetime(local, now, dated=bool(dated)))


@pass_context
def _spoken_date(ctx: Any, value: Any) -> str:
    now = _as_datetime(ctx.get("now"))
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return ""
    if not isinstance(value, dt.date) or now is None:
        return ""
    return spoken_output.spoken_date(value, now)


def _listener_zone(ctx: Any) -> tuple[ZoneInfo, str, bool] | None:
    """The zone the person on the line lives in, when the call knows it (``vars.listener_zone``: ``{"key":
    "Pacific/Honolulu", "name": "Hawaii time", "always": false}``, set by the outbound conversation once the
    client is verified): times are said in it, its name added when its clock differs from the practice's."""
    variables = ctx.get("vars")
    zone = variables.get("listener_zone") if isinstance(variables, Mapping) else None
    if not isinstance(zone, Mapping) or not zone.get("key"):
        return None
    try:
        return ZoneInfo(str(zone["key"])), str(zone.get("name") or ""), bool(zone.get("always"))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _local(ctx: Any, when: dt.datetime) -> dt.datetime:
    """``when`` in the listener's zone (:func:`_listener_zone`), else the practice's (the zone of ``now``), when
    both are aware."""
    now = _as_datetime(ctx.get("now"))
    if when.tzinfo is None:
        return when
    listener = _listener_zone(ctx)
    if listener is not None:
        return when.astimezone(listener[0])
    if now is not None and now.tzinfo is not None:
        return when.astimezone(now.tzinfo)
    return when


def _named(ctx: Any, when: dt.datetime, words: str) -> str:
    """``words`` (a time said or written) with the listener's zone named when its clock then differs from the
    practice's ("tomorrow at 5 AM Hawaii time")."""
    listener = _listener_zone(ctx)
    now = _as_datetime(ctx.get("now"))
    if not words or listener is None or when.tzinfo is None:
        return words
    tz, name, always = listener
    practice = now.tzinfo if now is not None and now.tzinfo is not None else None
    differs = practice is None or when.astimezone(tz).utcoffset() != when.astimezone(practice).utcoffset()
    return f"{words} {name}" if name and (differs or always) else words


@pass_context
def _spoken_time(ctx: Any, value: Any) -> str:
    when = _as_datetime(value)
    return _named(ctx, when, spoken_output.spoken_time(_local(ctx, when))) if when else ""


@pass_context
def _written(ctx: Any, value: Any) -> str:
    when = _as_datetime(value)
    return _named(ctx, when, spoken_output.written_datetime(_local(ctx, when))) if when and when.tzinfo else ""


def _digits(value: Any) -> str:
    return spoken_output.spoken_digits(str(value or ""))


@pass_context
def _phone(ctx: Any, value: Any) -> str:
    """An E.164 number read back digit by digit, without the country code in the practice's own region."""
    practice = ctx.get("practice")
    region = practice.get("phone_region") if isinstance(practice, Mapping) else None
    return spoken_output.spoken_phone(str(value or ""), region or "US")


def _make_env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=False, undefined=ChainableUndefined, keep_trailing_newline=False)
    env.filters.update(spoken=_spoken, spoken_date=_spoken_date, spoken_time=_spoken_time, digits=_digits, phone=_phone,
                       written=_written)
    return env


_ENV: list[ImmutableSandboxedEnvironment] = []


def environment() -> ImmutableSandboxedEnvironment:
    """The one sandboxed environment, created on first use (not at import)."""
    if not _ENV:
        _ENV.append(_make_env())
    return _ENV[0]


@dataclass(frozen=True)
class Template:
    """A prompt or message with ``{{ }}`` placeholders; plain text compiles to itself."""

    source: str
    _render: Callable[[Mapping[str, Any]], str] | None = field(default=None, compare=False, repr=False)

    def render(self, context: Mapping[str, Any]) -> str:
        """Fill the placeholders; whitespace is collapsed because it is spoken or texted."""
        if self._render is None:
            return self.source
        return " ".join(self._render(context).split())


@dataclass(frozen=True)
class Expression:
    """A sandboxed boolean condition over variables and call context."""

    source: str
    _evaluate: Callable[..., Any] = field(compare=False, repr=False)

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        """True when the condition holds; undefined names are falsy."""
        return bool(self._evaluate(**context))


def compile_template(source: str) -> Template:
    """Compile a template, raising TemplateSyntaxError for broken syntax."""
    if "{" not in source:
        return Template(source)
    compiled = environment().from_string(source)
    return Template(source, compiled.render)


def compile_expression(source: str) -> Expression:
    """Compile a condition, raising TemplateSyntaxError for broken syntax."""
    return Expression(source, environment().compile_expression(source, undefined_to_none=True))


def _dotted(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        inner = _dotted(node.node)
        return f"{inner}.{node.attr}" if inner else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        inner = _dotted(node.node)
        return f"{inner}.{node.arg.value}" if inner else None
    return None


def referenced(source: str) -> frozenset[str]:
    """The names and dotted paths a template reads: "{{ new_clients.message }}" → {"new_clients",
    "new_clients.message"} (``new_clients['message']`` too); empty for plain text or broken syntax."""
    if "{" not in source:
        return frozenset()
    try:
        tree = environment().parse(source)
    except TemplateSyntaxError:
        return frozenset()
    found = (_dotted(n) for n in tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem)))
    return frozenset(p for p in found if p)
