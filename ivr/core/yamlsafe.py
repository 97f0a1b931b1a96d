"""Read untrusted YAML into plain data, remembering the line of every value.

Owners edit flow files by hand, so we refuse anything that could hurt the
service before building a single Python object: oversize documents, alias
bombs ("billion laughs") and language-specific tags such as ``!!python/object``.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

import yaml

from ivr.exceptions import UnsafeYamlError

MAX_BYTES = 256 * 1024
MAX_NODES = 50_000
MAX_DEPTH = 32  # flows need about 8; deeper nesting would exhaust the stack while composing

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

Path = tuple[Any, ...]


@dataclass
class Document:
    """Plain data plus the 1-based line where each path (tuple of keys/indexes) starts."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """Line of ``path``, or of its nearest ancestor that we know."""
        path = tuple(path)
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


def load(text: str | bytes, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES,
         max_depth: int = MAX_DEPTH) -> Document:
    """Parse one YAML document safely; raise UnsafeYamlError with a line where we can."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > max_bytes:
        raise UnsafeYamlError(f"file is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        _check_depth(raw, max_depth)
        node = yaml.compose(raw, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark and exc.context_mark and mark.line >= len(raw.splitlines()):  # past the end: say where it began
            mark = exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.problem and exc.context and exc.context_mark:
            message += f" ({exc.context} on line {exc.context_mark.line + 1})"
        raise UnsafeYamlError(message, line) from None
    except yaml.YAMLError as exc:
        raise UnsafeYamlError(f"YAML error: {exc}") from None
    doc = Document(None)
    if node is None:
        return doc
    budget = [max_nodes]
    doc.data = _build(node, (), doc.lines, budget, set(), max_depth)
    return doc


def _check_depth(raw: bytes, max_depth: int) -> None:
    """Refuse deep nesting from the event stream (the parser keeps its own stack; composing recurses)."""
    depth = 0
    for event in yaml.parse(raw, Loader=_Loader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > max_depth:
                raise UnsafeYamlError(f"values are nested more than {max_depth} levels deep",
                                      event.start_mark.line + 1 if event.start_mark else None)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _build(node: yaml.Node, path: Path, lines: dict[Path, int], budget: list[int], active: set[int],
           max_depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise UnsafeYamlError(
            "document expands to too many values (an alias bomb?); anchors and aliases "
            "may only be used sparingly",
            node.start_mark.line + 1,
        )
    if len(path) > max_depth:  # aliases can nest deeper than the text does
        raise UnsafeYamlError(f"values are nested more than {max_depth} levels deep", node.start_mark.line + 1)
    lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in active:
        raise UnsafeYamlError("recursive alias", node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode):
        if node.tag not in _SCALAR_TAGS:
            raise _tag_refused(node)
        value = _scalar(node)
        return value
    active.add(id(node))
    try:
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise _tag_refused(node)
            return [_build(child, path + (i,), lines, budget, active, max_depth) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                raise _tag_refused(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise UnsafeYamlError("mapping keys must be plain words", key_node.start_mark.line + 1)
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise UnsafeYamlError("merge keys (<<) are not supported", key_node.start_mark.line + 1)
                key = _scalar(key_node)
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    key = str(key)
                if key in out:
                    raise UnsafeYamlError(f"duplicate key {key!r} (first on line {lines[path + (key,)]})",
                                          key_node.start_mark.line + 1)
                out[key] = _build(value_node, path + (key,), lines, budget, active, max_depth)
                lines[path + (key,)] = key_node.start_mark.line + 1
            return out
    finally:
        active.discard(id(node))
    raise UnsafeYamlError("unsupported YAML node", node.start_mark.line + 1)


def _tag_refused(node: yaml.Node) -> UnsafeYamlError:
    tag = node.tag.replace("tag:yaml.org,2002:", "!!", 1)
    return UnsafeYamlError(f"tag {tag!r} is not allowed (only plain text, numbers, true/false, lists and mappings)",
                           node.start_mark.line + 1)


_constructor = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag == "tag:yaml.org,2002:merge":
        return "<<"
    if node.tag not in _SCALAR_TAGS:
        raise _tag_refused(node)
    try:
        value = _constructor.construct_object(node)
    except Exception as exc:  # noqa: BLE001 - e.g. an unquoted 2026-02-30, or !!bool maybe
        reason = f": {exc}" if isinstance(exc, ValueError) else ""
        raise UnsafeYamlError(f"{node.value!r} is not a valid value{reason}", node.start_mark.line + 1) from None
    # Dates and times stay text: the schemas describe them as ISO strings.
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return value
