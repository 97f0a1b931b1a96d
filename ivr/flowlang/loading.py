"""YAML text → checked :class:`~ivr.core.flow.Flow` values.

Every problem in every file is collected and reported at once, each with file,
line, flow and step: schema errors, then what only the whole graph shows
(unknown targets and flows, unreachable steps, steps from which the call can
never end, unmapped action outcomes, template syntax, indiscreet texts).
Pure: text in, data out; reading the directory is the caller's job.
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable, Mapping

import jsonschema
from jinja2 import meta
from jsonschema.exceptions import best_match

from ivr.core import privacy, yamlsafe
from ivr.core.flow import (
    DEFAULT_GATHER_TIMEOUT,
    DEFAULT_MIN_CONFIDENCE,
    DEFAULT_NO_INPUT,
    DEFAULT_NO_MATCH,
    DEFAULT_RETRIES,
    ActionStep,
    AskStep,
    AskType,
    BranchStep,
    BranchCase,
    DialMode,
    EscalateStep,
    Flow,
    FlowSet,
    GlobalHandler,
    GotoStep,
    HangupStep,
    MenuStep,
    MenuOption,
    PayStep,
    PlayStep,
    Reprompts,
    SayStep,
    SetStep,
    SmsStep,
    Step,
    StepKind,
    TransferStep,
    VoicemailStep,
)
from ivr.core.priority import Priority
from ivr.core.templates import (
    TemplateSyntaxError,
    compile_expression,
    compile_template,
    environment,
)
from ivr.exceptions import FlowError, FlowProblem, UnsafeYamlError
from ivr.practice.settings.checks import parse_practice

PRACTICE_FILE = "practice.yaml"
# ActionStep name → its signature (ivr.actions.registry.ActionSignature) or just its outcomes tuple.
Actions = Mapping[str, Any]
_KINDS = [k.value for k in StepKind]
# Kinds that continue to another step on their own; the rest end, wait or jump.
_FALLS_THROUGH = {StepKind.SAY, StepKind.PLAY, StepKind.SET, StepKind.SMS, StepKind.ESCALATE,
                  StepKind.VOICEMAIL, StepKind.TRANSFER, StepKind.ASK, StepKind.PAY}
_DEFAULT_OPERATOR_PHRASES = ("operator", "representative", "receptionist", "a person", "someone", "front desk")
_DEFAULT_CRISIS_PHRASES = ("crisis", "emergency", "hurt myself", "suicide", "suicidal", "kill myself")
# Template values that would give the practice away in a text message.
_INDISCREET_VARS = {"practice": "names the practice", "emergency_guidance": "speaks of crisis and emergencies"}
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _outcomes(signature: Any) -> tuple[str, ...]:
    """Declared outcomes of an action: the registry gives signatures, tests may give bare tuples."""
    return tuple(getattr(signature, "outcomes", signature))


def _discloses(signature: Any) -> bool:
    return bool(getattr(signature, "discloses", False))


def _verified_outcome(signature: Any) -> str | None:
    return getattr(signature, "verified_outcome", None)


@functools.lru_cache(maxsize=1)
def flow_schema() -> dict[str, Any]:
    """The published JSON Schema for flow files (ivr/flowlang/schemas/flow.schema.json)."""
    text = resources.files("ivr.flowlang").joinpath("schemas/flow.schema.json").read_text("utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(flow_schema())


@dataclass
class _Ctx:
    """Problems found so far in one file, plus where its values sit."""

    file: str
    doc: yamlsafe.Document
    flow: str | None = None
    problems: list[FlowProblem] = field(default_factory=list)

    def add(self, path: Iterable[Any], message: str, step: str | None = None, severity: str = "error") -> None:
        self.problems.append(FlowProblem(self.file, self.doc.line_of(tuple(path)), message, self.flow, step, severity))


@dataclass(frozen=True)
class ParsedFlow:
    """One file's flow plus what the cross-flow checks need to report precisely."""

    flow: Flow
    step_paths: Mapping[str, tuple[Any, ...]]
    doc: yamlsafe.Document
    complete: bool = True  # every step was built, so the graph checks can trust the steps


def parse_flow(text: str | bytes, file: str, actions: Actions,
               practice: Any = None) -> tuple[ParsedFlow | None, list[FlowProblem]]:
    """Parse and check one flow file on its own (cross-flow checks come later)."""
    try:
        doc = yamlsafe.load(text)
    except UnsafeYamlError as exc:
        return None, [FlowProblem(file, exc.line, str(exc))]
    ctx = _Ctx(file, doc)
    data = doc.data
    if not isinstance(data, dict):
        empty = "the file is empty; " if data is None else ""
        ctx.add((), f"{empty}a flow file must be a mapping with `flow:` and `steps:`")
        return None, ctx.problems
    if isinstance(data.get("flow"), str):
        ctx.flow = data["flow"]
    bad_steps = _schema_problems(ctx, data)
    if any(p.step is None for p in ctx.problems) or not isinstance(data.get("steps"), list):
        return None, ctx.problems
    flow, paths = _build_flow(ctx, data, bad_steps, actions, practice)
    return (ParsedFlow(flow, paths, doc, len(flow.steps) == len(paths)) if flow else None), ctx.problems


def _schema_problems(ctx: _Ctx, data: dict[str, Any]) -> set[int]:
    bad: set[int] = set()
    steps = data.get("steps") if isinstance(data.get("steps"), list) else []
    for error in _validator().iter_errors(data):
        path = tuple(error.absolute_path)
        step_id = None
        if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
            bad.add(path[1])
            raw = steps[path[1]] if path[1] < len(steps) else None
            step_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{path[1] + 1}"
        for where, message in _explain(error, path, steps):
            ctx.add(where, message, step_id or None)
    return bad


_REQUIRED_HINTS = {
    "give_up": "the step to go to when the caller never gives a valid answer",
    "else": "the step to go to when no case holds",
}
_IDENTIFIER = flow_schema()["$defs"]["identifier"]["pattern"]


def _explain(error: jsonschema.ValidationError, path: tuple[Any, ...],
             steps: list[Any]) -> list[tuple[tuple[Any, ...], str]]:
    """(where, message) for one schema error, worded for people editing YAML by hand."""
    if error.validator == "oneOf" and len(path) == 2 and path[0] == "steps":
        raw = steps[path[1]] if isinstance(steps[path[1]], dict) else {}
        found = [k for k in _KINDS if k in raw]
        if not found:
            return [(path, f"a step needs exactly one kind ({', '.join(_KINDS)}); found none")]
        return [(path, f"a step has exactly one kind; found {', '.join(found)}")]
    if error.validator == "additionalProperties" and error.validator_value is False and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        out = []
        for key in error.instance:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
                out.append((path + (key,), f"{_where(path)}unknown key {key!r}{hint}"))
        return out
    if error.validator in ("oneOf", "anyOf") and error.context:
        if all(e.validator == "required" for e in error.context):
            names = " or ".join(repr(n) for e in error.context for n in e.validator_value)
            return [(path, f"{_where(path)}missing required key: {names}")]
        sub = _closest(error)
        return _explain(sub, tuple(sub.absolute_path), steps)
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


def _build_flow(ctx: _Ctx, data: dict[str, Any], bad_steps: set[int], actions: Actions,
                practice: Any) -> tuple[Flow | None, dict[str, tuple[Any, ...]]]:
    raw_steps: list[dict[str, Any]] = data["steps"]
    ids: list[str] = []
    paths: dict[str, tuple[Any, ...]] = {}
    for i, raw in enumerate(raw_steps):
        sid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(sid, str):
            continue
        if sid in paths:
            ctx.add(("steps", i, "id"), f"duplicate step id {sid!r} (first at line {ctx.doc.line_of(paths[sid])})", sid)
            continue
        ids.append(sid)
        paths[sid] = ("steps", i)
    known = set(ids)

    handlers = _handlers(ctx, data.get("globals") or {}, known)
    global_keys = {h.key: h.name for h in handlers if h.key}

    steps: dict[str, Step] = {}
    for i, raw in enumerate(raw_steps):
        sid = raw.get("id") if isinstance(raw, dict) else None
        if i in bad_steps or not isinstance(sid, str) or paths.get(sid) != ("steps", i):
            continue
        following = ids[ids.index(sid) + 1] if ids.index(sid) + 1 < len(ids) else None
        step = _build_step(ctx, raw, ("steps", i), following, known, actions, global_keys, practice)
        if step:
            steps[sid] = step

    start = data.get("start", ids[0] if ids else None)
    if start not in known:
        ctx.add(("start",), f"start step {start!r} does not exist")
        return None, paths
    flow = Flow(
        name=data["flow"], file=ctx.file, start=start, steps=steps, handlers=handlers,
        voice=data.get("voice"), language=data.get("language"),
        min_confidence=float((data.get("speech") or {}).get("min_confidence", DEFAULT_MIN_CONFIDENCE)),
        description=data.get("description", ""),
    )
    return flow, paths


def _handlers(ctx: _Ctx, raw: Mapping[str, Any], known: set[str]) -> tuple[GlobalHandler, ...]:
    out = []
    defaults = {"operator": ("0", _DEFAULT_OPERATOR_PHRASES), "crisis": (None, _DEFAULT_CRISIS_PHRASES)}
    for name in ("crisis", "operator"):  # crisis first: it wins when both match
        spec = raw.get(name)
        if not spec:
            continue
        key, phrases = defaults[name]
        key = spec.get("key", key)
        said = spec.get("say", phrases)
        phrases = tuple(_phrases(said))
        if spec["next"] not in known:
            ctx.add(("globals", name, "next"), f"global {name} goes to unknown step {spec['next']!r}")
        out.append(GlobalHandler(name, key, phrases, spec["next"]))
    keys = [h.key for h in out if h.key]
    if len(keys) != len(set(keys)):
        ctx.add(("globals",), "operator and crisis use the same key")
    return tuple(out)


def _variables(source: str) -> set[str]:
    """Names a template reads; empty when it does not parse (reported when it is compiled)."""
    try:
        return meta.find_undeclared_variables(environment().parse(source))
    except TemplateSyntaxError:
        return set()


def _phrases(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else list(value or [])
    return [privacy.normalise_speech(v) for v in items if privacy.normalise_speech(v)]


def _template(ctx: _Ctx, source: Any, path: tuple[Any, ...], step: str | None):
    if source is None:
        return None
    try:
        return compile_template(str(source))
    except TemplateSyntaxError as exc:
        ctx.add(path, f"template syntax error: {exc.message}", step)
        return compile_template("")


def _build_step(ctx: _Ctx, raw: dict[str, Any], path: tuple[Any, ...], following: str | None, known: set[str],
                actions: Actions, global_keys: Mapping[str, str], practice: Any) -> Step | None:
    sid: str = raw["id"]
    kind = StepKind(next(k for k in _KINDS if k in raw))
    spec = raw[kind.value]
    kpath = path + (kind.value,)

    def target(value: str, where: tuple[Any, ...], label: str) -> str:
        if value not in known:
            ctx.add(where, f"{label} goes to unknown step {value!r}", sid)
        return value

    def reprompts(body: Mapping[str, Any]) -> Reprompts:
        return Reprompts(
            no_input=_template(ctx, body.get("no_input", DEFAULT_NO_INPUT), kpath + ("no_input",), sid),
            no_match=_template(ctx, body.get("no_match", DEFAULT_NO_MATCH), kpath + ("no_match",), sid),
            retries=int(body.get("retries", DEFAULT_RETRIES)),
            give_up=target(body["give_up"], kpath + ("give_up",), "give_up"),
            timeout=int(body.get("timeout", DEFAULT_GATHER_TIMEOUT)),
        )

    body: Any
    if kind is StepKind.SAY:
        text = spec["text"] if isinstance(spec, dict) else spec
        body = SayStep(_template(ctx, text, kpath, sid))
    elif kind is StepKind.PLAY:
        if not (spec.startswith("https://") or re.fullmatch(r"[A-Za-z0-9_.-]+\.(mp3|wav)", spec)):
            ctx.add(kpath, "play needs an https:// URL or a .mp3/.wav file name in flows/audio/", sid)
        body = PlayStep(spec)
    elif kind is StepKind.MENU:
        options = []
        seen_keys: dict[str, int] = {}
        seen_phrases: dict[str, int] = {}
        for j, opt in enumerate(spec["options"]):
            opath = kpath + ("options", j)
            key = opt.get("key")
            if key is not None:
                if key in seen_keys:
                    ctx.add(opath + ("key",), f"key {key} is used by option {seen_keys[key] + 1} too", sid)
                if key in global_keys:
                    ctx.add(opath + ("key",), f"key {key} is the flow's {global_keys[key]} key", sid)
                seen_keys[key] = j
            phrases = tuple(_phrases(opt.get("say")))
            for ph in phrases:
                if ph in seen_phrases and seen_phrases[ph] != j:
                    ctx.add(opath + ("say",), f"phrase {ph!r} is used by option {seen_phrases[ph] + 1} too", sid)
                seen_phrases[ph] = j
            options.append(MenuOption(key, phrases, target(opt["next"], opath + ("next",), f"option {j + 1}")))
        body = MenuStep(_template(ctx, spec["prompt"], kpath + ("prompt",), sid), tuple(options), reprompts(spec))
    elif kind is StepKind.ASK:
        body = _build_ask(ctx, spec, kpath, sid, reprompts(spec))
    elif kind is StepKind.BRANCH:
        cases = []
        for j, case in enumerate(spec["cases"]):
            cpath = kpath + ("cases", j)
            try:
                cond = compile_expression(case["if"])
            except TemplateSyntaxError as exc:
                ctx.add(cpath + ("if",), f"condition syntax error: {exc.message}", sid)
                cond = compile_expression("false")
            cases.append(BranchCase(cond, target(case["next"], cpath + ("next",), f"case {j + 1}")))
        body = BranchStep(tuple(cases), target(spec["else"], kpath + ("else",), "else"))
    elif kind is StepKind.SET:
        values = []
        for name, value in spec.items():
            if isinstance(value, str) and "{" in value:
                value = _template(ctx, value, kpath + (name,), sid)
            values.append((name, value))
        body = SetStep(tuple(values))
    elif kind is StepKind.ACTION:
        name = spec["name"]
        outcomes = dict(spec["outcomes"])
        signature = actions.get(name)
        declared = None if signature is None else _outcomes(signature)
        if declared is None:
            ctx.add(kpath + ("name",), f"unknown action {name!r} (known: {', '.join(sorted(actions)) or 'none'})", sid)
        else:
            missing = [o for o in declared if o not in outcomes]
            extra = [o for o in outcomes if o not in declared]
            if missing:
                ctx.add(kpath + ("outcomes",), f"action {name} outcomes not mapped: {', '.join(missing)}", sid)
            for o in extra:
                ctx.add(kpath + ("outcomes", o), f"action {name} has no outcome {o!r} (it has: {', '.join(declared)})", sid)
        for o, t in outcomes.items():
            target(t, kpath + ("outcomes", o), f"outcome {o}")
        body = ActionStep(name, dict(spec.get("with") or {}), outcomes)
    elif kind is StepKind.TRANSFER:
        to = (spec["to"],) if isinstance(spec["to"], str) else tuple(spec["to"])
        staff = {m.key for m in getattr(practice, "staff", ())} if practice is not None else None
        for j, who in enumerate(to):
            if not _E164.match(who) and staff is not None and who not in staff:
                where = kpath + (("to", j) if isinstance(spec["to"], list) else ("to",))
                ctx.add(where, f"transfer to {who!r}: not a staff key in practice.yaml nor an E.164 number", sid)
        body = TransferStep(to, DialMode(spec.get("mode", "simultaneous")), int(spec.get("timeout", 20)),
                        _template(ctx, spec.get("say"), kpath + ("say",), sid))
    elif kind is StepKind.VOICEMAIL:
        spec = spec or {}
        body = VoicemailStep(_template(ctx, spec.get("prompt"), kpath + ("prompt",), sid), int(spec.get("max_length", 120)))
    elif kind is StepKind.SMS:
        told = privacy.discretion_problems(spec["body"], getattr(practice, "name", None))
        told += [f"{{{{ {name} }}}} {why}" for name, why in _INDISCREET_VARS.items() if name in _variables(spec["body"])]
        for problem in told:
            ctx.add(kpath + ("body",), f"text message is not discreet: {problem}", sid)
        body = SmsStep(_template(ctx, spec["body"], kpath + ("body",), sid), spec.get("to", "caller"))
    elif kind is StepKind.ESCALATE:
        body = EscalateStep(spec["reason"], Priority(spec.get("priority", "normal")),
                        _template(ctx, spec.get("say"), kpath + ("say",), sid))
    elif kind is StepKind.GOTO:
        body = GotoStep(spec, None) if isinstance(spec, str) else GotoStep(spec["flow"], spec.get("step"))
    elif kind is StepKind.PAY:
        body = PayStep(spec.get("description", "Card on file"), target(spec["failed"], kpath + ("failed",), "failed"),
                   int(spec.get("timeout", 10)), int(spec.get("max_attempts", 2)))
    else:  # HANGUP
        say = spec.get("say") if isinstance(spec, dict) else spec if isinstance(spec, str) else None
        body = HangupStep(_template(ctx, say, kpath, sid))

    nxt = raw.get("next")
    if nxt is not None:
        if kind in (StepKind.BRANCH, StepKind.ACTION, StepKind.GOTO, StepKind.HANGUP, StepKind.MENU):
            ctx.add(path + ("next",), f"a {kind.value} step decides where to go itself; remove `next`", sid)
            nxt = None
        else:
            target(nxt, path + ("next",), "next")
    elif kind in _FALLS_THROUGH:
        nxt = following
        if nxt is None:
            ctx.add(path, f"dead end: the last step is a {kind.value} with no `next`; "
                          "add `next:` or end with a hangup, transfer or goto", sid)
    needs_verified = bool(raw.get("needs_verified")) or (
        isinstance(body, ActionStep) and body.name in actions and _discloses(actions[body.name]))
    return Step(sid, kind, body, nxt, ctx.doc.line_of(path), raw.get("voice"), raw.get("language"), needs_verified)


def _build_ask(ctx: _Ctx, spec: Mapping[str, Any], kpath: tuple[Any, ...], sid: str, rp: Reprompts) -> AskStep:
    kind = AskType(spec["type"])
    length, lo, hi = spec.get("length"), spec.get("min_length"), spec.get("max_length")
    digits_only = [k for k in ("length", "min_length", "max_length", "pattern") if spec.get(k) is not None]
    if kind is not AskType.DIGITS and digits_only:
        ctx.add(kpath + (digits_only[0],), "length, min_length, max_length and pattern only apply to type digits", sid)
    if length is not None and (lo is not None or hi is not None):
        ctx.add(kpath + ("length",), "use either length or min_length/max_length", sid)
    if lo is not None and hi is not None and lo > hi:
        ctx.add(kpath + ("min_length",), "min_length is larger than max_length", sid)
    pattern = spec.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            ctx.add(kpath + ("pattern",), f"pattern is not a valid regular expression: {exc}", sid)
            pattern = None
    allow_pin = bool(spec.get("allow_pin", False))
    if allow_pin and kind is not AskType.DATE:
        ctx.add(kpath + ("allow_pin",), "allow_pin only applies to type date", sid)
    if kind is AskType.DATE:
        # A PIN has no fixed length, so PIN-or-date entries end with # (or a pause).
        length = None if allow_pin else 8
    return AskStep(spec["var"], kind, _template(ctx, spec["prompt"], kpath + ("prompt",), sid), rp,
               length, lo, hi, pattern, bool(spec.get("past_only", False)), allow_pin)


def _unreachable(flow: Flow, entries: Iterable[str]) -> list[str]:
    """Steps no path reaches from ``entries`` (the start, and steps other flows jump to)."""
    seen = set(entries)
    todo = list(seen)
    waits = False
    while todo:
        step = flow.steps[todo.pop()]
        waits = waits or step.kind in (StepKind.MENU, StepKind.ASK)
        for _, t in step.targets():
            if t in flow.steps and t not in seen:
                seen.add(t)
                todo.append(t)
        if waits:
            for h in flow.handlers:
                if h.next in flow.steps and h.next not in seen:
                    seen.add(h.next)
                    todo.append(h.next)
    return [sid for sid in flow.steps if sid not in seen]


def _successors(flows: Mapping[str, Flow], flow: Flow, step: Step) -> list[tuple[str, str]]:
    out = [(flow.name, t) for _, t in step.targets() if t in flow.steps]
    if isinstance(step.body, GotoStep) and step.body.flow in flows:
        other = flows[step.body.flow]
        out.append((other.name, step.body.step or other.start))
    if step.kind in (StepKind.MENU, StepKind.ASK):
        out += [(flow.name, h.next) for h in flow.handlers if h.next in flow.steps]
    return out


def check_graph(parsed: Mapping[str, ParsedFlow], entry_flow: str | None, broken: set[str] = frozenset(),
                unreadable: bool = False, actions: Mapping[str, Any] | None = None) -> list[FlowProblem]:
    """Checks that need every flow: goto targets, the entry flow, and calls that can never end.

    ``broken`` names flows that failed their own checks: they are already
    reported, so jumps into them are given the benefit of the doubt.  So are
    jumps to any unknown flow when ``unreadable`` (a file too broken to name
    its flow may define it).  ``entry_flow`` None skips the entry check.
    """
    problems: list[FlowProblem] = []
    flows = {name: p.flow for name, p in parsed.items()}

    def excused(name: str) -> bool:
        return name in broken or (unreadable and name not in flows)

    def add(p: ParsedFlow, sid: str, message: str, sub: tuple[Any, ...] = ()) -> None:
        problems.append(FlowProblem(p.flow.file, p.doc.line_of(p.step_paths[sid] + sub), message, p.flow.name, sid))

    if entry_flow is not None and entry_flow not in flows and not excused(entry_flow):
        problems.append(FlowProblem(PRACTICE_FILE, None, f"entry_flow {entry_flow!r} is not a loaded flow"))
    for p in parsed.values():
        for sid, step in p.flow.steps.items():
            if isinstance(step.body, GotoStep):
                other = flows.get(step.body.flow)
                if other is None and excused(step.body.flow):
                    continue
                if other is None:
                    add(p, sid, f"goto unknown flow {step.body.flow!r}", ("goto",))
                elif step.body.step and step.body.step not in other.steps:
                    add(p, sid, f"goto unknown step {step.body.step!r} in flow {other.name!r}", ("goto",))

    entries = {name: {f.start} for name, f in flows.items()}
    for f in flows.values():
        for s in f.steps.values():
            if isinstance(s.body, GotoStep) and s.body.flow in flows and s.body.step in flows[s.body.flow].steps:
                entries[s.body.flow].add(s.body.step)
    for name, p in parsed.items():
        if p.complete:
            for sid in _unreachable(p.flow, entries[name]):
                add(p, sid, "unreachable: no path from the start leads here")

    can_end: set[tuple[str, str]] = {
        (f.name, sid) for f in flows.values() for sid, s in f.steps.items()
        if s.kind in (StepKind.HANGUP, StepKind.TRANSFER) or (isinstance(s.body, GotoStep) and excused(s.body.flow))
    }
    changed = True
    while changed:
        changed = False
        for f in flows.values():
            for sid, s in f.steps.items():
                if (f.name, sid) not in can_end and any(n in can_end for n in _successors(flows, f, s)):
                    can_end.add((f.name, sid))
                    changed = True
    for name, p in parsed.items():
        if name in broken or any(pr.flow == name for pr in problems):
            continue
        for sid in p.flow.steps:
            if (name, sid) not in can_end:
                add(p, sid, "the call can never end from here: every path loops back "
                            "(add a hangup, transfer or give_up that leaves the loop)")
    # With a broken flow in the graph, paths through it are unknown: judge verification once it loads.
    if entry_flow in flows and not broken and not unreadable:
        for (name, sid), path in _unverified_disclosures(flows, entry_flow, actions or {}).items():
            add(parsed[name], sid, "discloses client information but an unverified caller can reach it: "
                                   + " → ".join(f"{f}.{st}" for f, st in path))
    return problems


def _verifying_edge(step: Step, target: str, actions: Mapping[str, Any]) -> bool:
    """Does going from ``step`` to ``target`` prove the caller verified?"""
    body = step.body
    if isinstance(body, ActionStep) and body.name in actions:
        verified = _verified_outcome(actions[body.name])
        routes = [outcome for outcome, t in body.outcomes.items() if t == target]
        return verified is not None and routes == [verified]
    if isinstance(body, BranchStep):
        routes = [case for case in body.cases if case.next == target]
        return body.otherwise != target and bool(routes) and all(_requires_verified(c.condition.source) for c in routes)
    return False


def _requires_verified(condition: str) -> bool:
    """A condition that can only hold for a verified caller: ``caller.verified`` joined by ``and``."""
    parts = [part.strip() for part in re.split(r"\band\b", condition)]
    return "or" not in condition.split() and any(part == "caller.verified" for part in parts)


def _unverified_disclosures(flows: Mapping[str, Flow], entry_flow: str,
                            actions: Mapping[str, Any]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Steps that need a verified caller yet are reachable without crossing a verification, with a path."""
    everywhere: set[tuple[str, str]] = set()
    todo = [(entry_flow, flows[entry_flow].start)]
    while todo:
        node = todo.pop()
        if node in everywhere or node[1] not in flows[node[0]].steps:  # a step that failed its own checks
            continue
        everywhere.add(node)
        f = flows[node[0]]
        todo += _successors(flows, f, f.steps[node[1]])
    # Flows nothing reaches (e.g. for outbound calls) are entries of their own.
    starts = [(entry_flow, flows[entry_flow].start)] + [
        (name, f.start) for name, f in flows.items() if not any(n[0] == name for n in everywhere)]
    parent: dict[tuple[str, str], tuple[str, str] | None] = {node: None for node in starts}
    queue = list(starts)
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    while queue:
        node = queue.pop(0)
        f = flows[node[0]]
        step = f.steps.get(node[1])
        if step is None:
            continue
        if step.needs_verified:
            path, cur = [], node
            while cur is not None:
                path.append(cur)
                cur = parent[cur]
            found[node] = path[::-1]
            continue  # report the first unguarded disclosure on each path only
        for succ in _successors(flows, f, step):
            if succ in parent or (succ[0] == node[0] and _verifying_edge(step, succ[1], actions)):
                continue
            parent[succ] = node
            queue.append(succ)
    return found


def load_texts(texts: Mapping[str, str | bytes], practice_text: str | bytes | None,
               actions: Actions) -> tuple[FlowSet | None, list[FlowProblem]]:
    """Load a whole flow set from file name → text; returns the set (or None) and all problems."""
    problems: list[FlowProblem] = []
    practice = None
    if practice_text is None:
        problems.append(FlowProblem(PRACTICE_FILE, None, "practice settings file is missing"))
    else:
        try:
            practice = parse_practice(practice_text if isinstance(practice_text, str) else practice_text.decode(), PRACTICE_FILE)
        except FlowError as exc:
            problems += exc.problems
    parsed: dict[str, ParsedFlow] = {}
    unreadable = False  # a file so broken we do not even know its flow's name
    for file in sorted(texts):
        p, found = parse_flow(texts[file], file, actions, practice)
        problems += found
        if p is None:
            unreadable = unreadable or not any(pr.flow for pr in found)
            continue
        if p.flow.name in parsed:
            problems.append(FlowProblem(file, p.doc.line_of(("flow",)),
                                        f"flow name {p.flow.name!r} is also used by {parsed[p.flow.name].flow.file}", p.flow.name))
            continue
        parsed[p.flow.name] = p
    broken = {pr.flow for pr in problems if pr.flow and pr.severity == "error"}
    problems += check_graph(parsed, practice.entry_flow if practice else None, broken, unreadable, actions)
    problems.sort(key=lambda pr: (pr.file, pr.line or 0))  # stable: same-line problems keep their order
    errors = [pr for pr in problems if pr.severity == "error"]
    if errors or practice is None:
        return None, problems
    digest = hashlib.sha256()
    for file in sorted(texts):
        body = texts[file]
        digest.update(file.encode() + b"\0" + (body.encode() if isinstance(body, str) else body))
    digest.update(practice_text.encode() if isinstance(practice_text, str) else practice_text)
    warnings = tuple(pr for pr in problems if pr.severity != "error")
    return FlowSet({n: p.flow for n, p in parsed.items()}, practice, digest.hexdigest()[:12], warnings), problems


def load_set(texts: Mapping[str, str | bytes], practice_text: str | bytes | None,
             actions: Actions) -> FlowSet:
    """Like :func:`load_texts` but raise FlowError when anything is wrong."""
    flows, problems = load_texts(texts, practice_text, actions)
    if flows is None:
        raise FlowError(problems)
    return flows
