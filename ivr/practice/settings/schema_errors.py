"""JSON Schema errors of the settings files (``practice.yaml``, ``outbound.yaml``) worded for people editing YAML.

Each checker reports every problem at once at the key it is about; this module words one
``jsonschema.ValidationError`` (its ``absolute_path`` given as ``path``) as ``(path, message)`` pairs.
Flow files have their own wording (``ivr.flowlang.schema_errors``): their paths are named by step.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jsonschema

Path = tuple[Any, ...]

TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "array": "a list",
    "object": "a mapping (key: value lines)",
    "null": "empty",
    "number": "a number",
    "boolean": "true or false",
}


def where(path: Iterable[Any]) -> str:
    """``staff.alex.phone``, ``rooms[0]``; ``the file`` for the top level."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the file"


def describe(value: Any) -> str:
    """A value as the message names it: ``empty``, ``true/false``, ``a list``, or its repr."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (dict, list)):
        return TYPE_WORDS["object" if isinstance(value, dict) else "array"]
    return repr(value)


def marks_only_the_key(error: jsonschema.ValidationError) -> bool:
    """True for the errors about one key of a mapping (unknown, missing, badly named): its siblings are still good."""
    return error.validator in ("additionalProperties", "required") or "propertyNames" in error.relative_schema_path


def explain(error: jsonschema.ValidationError, path: Path,
            mark_bad: Callable[[Path], None]) -> Iterator[tuple[Path, str]]:
    """(where, message) for one schema error; ``mark_bad`` is told each key found wrong inside ``path``."""
    kind, at = error.validator, where(path)
    if "propertyNames" in error.relative_schema_path:
        key = error.instance
        mark_bad(path + (key,))
        yield path + (key,), f"{at}.{key}: {error.schema.get('patternErrorMessage', error.message)}"
    elif kind == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        for key in error.instance:
            if key in known:
                continue
            mark_bad(path + (key,))
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
            yield path + (key,), f"{where(path + (key,))}: unknown setting '{key}'{hint}"
    elif kind == "required":
        missing = re.findall(r"'([^']*)' is a required property", error.message)
        owner = f"{at}: " if path else ""
        yield path, f"{owner}missing required setting '{missing[0] if missing else error.message}'"
    elif kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = " or ".join(TYPE_WORDS.get(w, w) for w in wanted)
        hint = " (YAML reads yes/no/on/off as true/false: put the word in quotes)" \
            if isinstance(error.instance, bool) and "string" in wanted else ""
        yield path, f"{at} must be {words}, not {describe(error.instance)}{hint}"
    elif kind == "pattern":
        hint = error.schema.get("patternErrorMessage", f"does not match {error.validator_value}")
        yield path, f"{at}: {error.instance!r} {hint}"
    elif kind == "enum":
        yield path, f"{at}: {error.instance!r} is not one of: {', '.join(str(o) for o in error.validator_value)}"
    elif kind == "minLength":
        yield path, f"{at} must not be empty"
    elif kind == "minItems":
        yield path, f"{at} must list at least {error.validator_value}"
    else:
        yield path, f"{at}: {error.message}"
