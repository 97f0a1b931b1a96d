"""The flow files' JSON Schema, and its errors worded for people editing YAML by hand.

``ivr/flowlang/schemas/flow.schema.json`` is published for editors; the parser checks every
file against it first and reports each error at the key it is about, with a hint where one helps
(a misspelt key, YAML's yes/no, unquoted keys, a missing ``give_up``).
"""
from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any, cast

import jsonschema
from jsonschema.exceptions import best_match

from ivr.core.flow import StepKind

KINDS = [k.value for k in StepKind]
Path = tuple[Any, ...]
SchemaProblem = tuple[Path, str, "str | None"]  # where, message, step id


@functools.lru_cache(maxsize=1)
def flow_schema() -> dict[str, Any]:
    """The published JSON Schema for flow files (ivr/flowlang/schemas/flow.schema.json)."""
    text = resources.files("ivr.flowlang").joinpath("schemas/flow.schema.json").read_text("utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def validator() -> jsonschema.Draft202012Validator:
    """The flow schema's validator, built once."""
    return jsonschema.Draft202012Validator(flow_schema())


def schema_problems(data: dict[str, Any]) -> tuple[set[int], list[SchemaProblem]]:
    """Every schema error of one flow file as (path, message, step id), worded for people editing YAML by hand;
    and the indexes of the steps that have one (they are not built)."""
    bad: set[int] = set()
    found: list[SchemaProblem] = []
    steps: list[Any] = data["steps"] if isinstance(data.get("steps"), list) else []
    for error in validator().iter_errors(data):
        path = tuple(error.absolute_path)
        if len(path) == 3 and path[0] == "steps" and path[2] == "label":
            continue  # a step's label is judged by parsing._label, keeping the step (one run shows every problem)
        step_id = None
        if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
            bad.add(path[1])
            raw = steps[path[1]] if path[1] < len(steps) else None
            step_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{path[1] + 1}"
        for where, message in explain(error, path, steps):
            found.append((where, message, step_id or None))
    return bad, found


_REQUIRED_HINTS = {
    "give_up": "the step to go to when the caller never gives a valid answer",
    "else": "the step to go to when no case holds",
}
_IDENTIFIER = flow_schema()["$defs"]["identifier"]["pattern"]


def explain(error: jsonschema.ValidationError, path: tuple[Any, ...],
             steps: list[Any]) -> list[tuple[Path, str]]:
    """(where, message) for one schema error, worded for people editing YAML by hand."""
    if error.validator == "oneOf" and len(path) == 2 and path[0] == "steps":
        raw = steps[path[1]] if isinstance(steps[path[1]], dict) else {}
        found = [k for k in KINDS if k in raw]
        if not found:
            return [(path, f"a step needs exactly one kind ({', '.join(KINDS)}); found none")]
        return [(path, f"a step has exactly one kind; found {', '.join(found)}")]
    if (
        error.validator == "additionalProperties"
        and error.validator_value is False
        and isinstance(error.instance, dict)
    ):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        known = list(schema.get("properties", {}))
        out = []
        for key in error.instance:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
                out.append((path + (key,), f"{_where(path)}unknown key {key!r}{hint}"))
        return out
    if error.validator in ("oneOf", "anyOf") and error.context:
        if all(e.validator == "required" for e in error.context):
            names = " or ".join(repr(n) for e in error.context for n in cast(list[str], e.validator_value))
            return [(path, f"{_where(path)}missing required key: {names}")]
        sub = _closest(error)
        return explain(sub, tuple(sub.absolute_path), steps)
    message = error.message
    missing = re.fullmatch(r"'(.+)' is a required property", message) if error.validator == "required" else None
    if missing:
        message = f"missing required key {missing[1]!r}"
        if missing[1] in _REQUIRED_HINTS:
            message += f" ({_REQUIRED_HINTS[missing[1]]})"
    elif error.validator == "pattern" and error.validator_value == _IDENTIFIER:
        message = f"{error.instance!r} is not a valid name: use lower_case_with_underscores, starting with a letter"
    elif error.validator == "type" and isinstance(error.instance, bool) and "string" in str(error.validator_value):
        message += " (YAML reads yes/no/on/off as true/false: put the word in quotes)"
    elif error.validator == "type" and isinstance(error.instance, int) and path[-1:] == ("key",):
        message += f' (put keys in quotes: key: "{error.instance}")'
    return [(path, f"{_where(path)}{message}")]


def _closest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most telling error among a oneOf's alternatives: prefer those whose type fits the value."""
    misfits = {e.relative_schema_path[0] for e in error.context
               if not e.relative_path and e.validator in ("type", "const")}
    fitting = [e for e in error.context if e.relative_schema_path[0] not in misfits]
    return best_match(fitting or error.context)


def _where(path: tuple[Any, ...]) -> str:
    """``menu.options[0].key: `` for a path inside a step (the step is named separately); ``""`` at the top."""
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        path = path[2:]
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return f"{out}: " if out else ""
