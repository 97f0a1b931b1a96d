"""One flow file: YAML text → a checked :class:`~ivr.core.flow.Flow`, with every problem located.

Schema errors first (``schema_errors``), then what one file shows by itself: unknown step
targets, duplicate ids, clashing menu keys and phrases, action names and outcomes against the
registry, template syntax, indiscreet texts.  Each step kind has its own parser, found in a
table keyed by :class:`~ivr.core.flow.StepKind`; the table is built by an exhaustive ``match``,
so a new kind fails type-checking here until it has one.  Cross-flow checks are ``graph``'s.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, assert_never

from jinja2 import meta

from ivr.core import crisis, privacy, yamlsafe
from ivr.core.flow import (
    DEFAULT_CRISIS_PHRASES,
    DEFAULT_GATHER_TIMEOUT,
    DEFAULT_MIN_CONFIDENCE,
    DEFAULT_NO_INPUT,
    DEFAULT_NO_MATCH,
    DEFAULT_RETRIES,
    ActionStep,
    AskStep,
    AskType,
    BranchCase,
    BranchStep,
    DialMode,
    EscalateStep,
    Flow,
    GlobalHandler,
    GotoStep,
    HangupStep,
    MenuOption,
    MenuStep,
    PayStep,
    PlayStep,
    Reprompts,
    SayStep,
    SetStep,
    SmsStep,
    Step,
    StepBody,
    StepKind,
    TransferStep,
    VoicemailStep,
    step_label,
)
from ivr.core.priority import Priority
from ivr.core.templates import Template, TemplateSyntaxError, compile_expression, compile_template, environment
from ivr.core.text import language_key
from ivr.exceptions import FlowProblem, UnsafeYamlError
from ivr.flowlang.schema_errors import KINDS, schema_problems

PRACTICE_FILE = "practice.yaml"  # the practice settings, beside the flow files
# Action name → its signature (ivr.actions.registry.ActionSignature) or just its outcomes tuple.
Actions = Mapping[str, Any]
Path = tuple[Any, ...]
# Kinds that continue to another step on their own; the rest end, wait or jump.
_FALLS_THROUGH = {StepKind.SAY, StepKind.PLAY, StepKind.SET, StepKind.SMS, StepKind.ESCALATE,
                  StepKind.VOICEMAIL, StepKind.TRANSFER, StepKind.ASK, StepKind.PAY}
# Kinds that decide where to go themselves: a `next` on them is a mistake.
_CHOOSES_NEXT = {StepKind.BRANCH, StepKind.ACTION, StepKind.GOTO, StepKind.HANGUP, StepKind.MENU}
_DEFAULT_OPERATOR_PHRASES = ("operator", "representative", "receptionist", "a person", "someone", "front desk")
_DEFAULT_CRISIS_PHRASES = DEFAULT_CRISIS_PHRASES
# A new client asked for where a client is expected ("I don't have one, I'm new" at the number on file).
_DEFAULT_NEW_CLIENT_PHRASES = ("new client", "new patient", "I'm new", "I am new", "I'm a new", "I am a new",
                               "not a client", "not a client yet", "never been a client", "first time calling",
                               "not a patient")
# A person on an outbound call (or calling a pool number back) who asks not to be called again: honoured at once
# for that number, whoever they are (``opt_out`` global; the follow-up flows use it).
_DEFAULT_OPT_OUT_PHRASES = ("don't call me", "do not call me", "don't call me again", "do not call me again",
                            "never call me again", "stop calling", "stop calling me", "quit calling",
                            "don't call this number", "do not call this number", "stop calling this number",
                            "no more calls", "take me off your list", "remove me from your list",
                            "remove this number", "do not call list", "don't ever call")
# Template values that would give the practice away in a text message.
_INDISCREET_VARS = {"practice": "names the practice", "emergency_guidance": "speaks of crisis and emergencies"}
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def declared_outcomes(signature: Any) -> tuple[str, ...]:
    """Declared outcomes of an action: the registry gives signatures, tests may give bare tuples."""
    return tuple(getattr(signature, "outcomes", signature))


def discloses(signature: Any) -> bool:
    """Whether the action reveals client information (only verified callers may reach it)."""
    return bool(getattr(signature, "discloses", False))


def verified_outcome(signature: Any) -> str | None:
    """The outcome that proves the caller is who they say, if the action has one."""
    return getattr(signature, "verified_outcome", None)


@dataclass
class _Ctx:
    """Problems found so far in one file, plus where its values sit."""

    file: str
    doc: yamlsafe.Document
    flow: str | None = None
    problems: list[FlowProblem] = field(default_factory=list)

    def add(self, path: Path, message: str, step: str | None = None, severity: str = "error",
            structural: bool = True) -> None:
        self.problems.append(FlowProblem(self.file, self.doc.line_of(tuple(path)), message, self.flow, step, severity,
                                         structural))


@dataclass(frozen=True)
class ParsedFlow:
    """One file's flow plus what the cross-flow checks need to report precisely."""

    flow: Flow
    step_paths: Mapping[str, Path]
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
    bad_steps, found = schema_problems(data)
    for where, message, step_id in found:
        ctx.add(where, message, step_id)
    if any(p.step is None for p in ctx.problems) or not isinstance(data.get("steps"), list):
        return None, ctx.problems
    flow, paths = _build_flow(ctx, data, bad_steps, actions, practice)
    return (ParsedFlow(flow, paths, doc, len(flow.steps) == len(paths)) if flow else None), ctx.problems


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
        step = _parse_step(_StepParser(ctx, raw, ("steps", i), sid, known, actions, global_keys, practice), following)
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
    _check_languages(ctx, flow, paths, practice)
    return flow, paths


def _check_languages(ctx: _Ctx, flow: Flow, paths: Mapping[str, tuple[Any, ...]], practice: Any) -> None:
    """Every language a flow speaks needs a crisis phrase list, or its callers' crisis words go unheard."""
    known = crisis.languages()
    spoken: list[tuple[tuple[Any, ...], str | None, str | None]] = [
        (("language",), flow.language or getattr(practice, "language", None), None)]
    spoken += [(paths[sid] + ("language",), st.language, sid) for sid, st in flow.steps.items()
               if st.language and isinstance(st.body, (MenuStep, AskStep))]  # where the caller is listened to
    for path, language, sid in spoken:
        if language and language_key(language) not in known:
            ctx.add(path, f"language {language!r} has no crisis phrase list (ivr/core/crisis_phrases.toml "
                          f"has {', '.join(known)}): crisis words would go unheard", sid)


def _handlers(ctx: _Ctx, raw: Mapping[str, Any], known: set[str]) -> tuple[GlobalHandler, ...]:
    out = []
    defaults: dict[str, tuple[str | None, tuple[str, ...]]] = {
        "operator": ("0", _DEFAULT_OPERATOR_PHRASES), "crisis": (None, _DEFAULT_CRISIS_PHRASES),
        "new_client": (None, _DEFAULT_NEW_CLIENT_PHRASES), "opt_out": (None, _DEFAULT_OPT_OUT_PHRASES)}
    for name in ("crisis", "operator", "new_client", "opt_out"):  # crisis first: it wins when several match
        spec = raw.get(name)
        if not spec:
            continue
        key, phrases = defaults[name]
        key = spec.get("key", key)
        said = spec.get("say", phrases)
        phrases = tuple(_phrases(said))
        if spec["next"] not in known:
            ctx.add(("globals", name, "next"), f"global {name} goes to unknown step {spec['next']!r}")
        out.append(GlobalHandler(name, key, phrases, spec["next"], tuple(_written(said))))
    taken = {h.key for h in out if h.name != "new_client"}
    clash = next((h for h in out if h.name == "new_client" and h.key and h.key in taken), None)
    if clash is not None:
        ctx.add(("globals", "new_client", "key"), f"new_client uses key {clash.key}, taken by another global")
    keys = [h.key for h in out if h.key and h.name != "new_client"]
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


def _written(value: Any) -> list[str]:
    """The phrases as written (spaces tidied, no commas: they split Twilio's hints), for Twilio's hints; the same
    ones ``_phrases`` keeps."""
    items = [value] if isinstance(value, str) else list(value or [])
    return [" ".join(str(v).replace(",", " ").split()) for v in items if privacy.normalise_speech(v)]


def _template(ctx: _Ctx, source: Any, path: Path, step: str | None) -> Template | None:
    if source is None:
        return None
    return _required_template(ctx, source, path, step)


def _required_template(ctx: _Ctx, source: Any, path: Path, step: str | None) -> Template:
    try:
        return compile_template(str(source))
    except TemplateSyntaxError as exc:
        ctx.add(path, f"template syntax error: {exc.message}", step)
        return compile_template("")


# --------------------------------------------------------------------------- steps, by kind

@dataclass(frozen=True)
class _StepParser:
    """What every step kind's parser needs: the file's problems, the step and what it may refer to."""

    ctx: _Ctx
    raw: dict[str, Any]
    path: Path
    sid: str
    known: set[str]
    actions: Actions
    global_keys: Mapping[str, str]
    practice: Any

    @property
    def kind(self) -> StepKind:
        return StepKind(next(k for k in KINDS if k in self.raw))

    @property
    def spec(self) -> Any:
        return self.raw[self.kind.value]

    @property
    def kpath(self) -> Path:
        return self.path + (self.kind.value,)

    def add(self, path: Path, message: str) -> None:
        self.ctx.add(path, message, self.sid)

    def target(self, value: str, where: Path, label: str) -> str:
        if value not in self.known:
            self.add(where, f"{label} goes to unknown step {value!r}")
        return value

    def template(self, source: Any, where: Path) -> Template | None:
        return _template(self.ctx, source, where, self.sid)

    def required(self, source: Any, where: Path) -> Template:
        return _required_template(self.ctx, source, where, self.sid)

    def reprompts(self, body: Mapping[str, Any]) -> Reprompts:
        kpath = self.kpath
        return Reprompts(
            no_input=self.required(body.get("no_input", DEFAULT_NO_INPUT), kpath + ("no_input",)),
            no_match=self.required(body.get("no_match", DEFAULT_NO_MATCH), kpath + ("no_match",)),
            retries=int(body.get("retries", DEFAULT_RETRIES)),
            give_up=self.target(body["give_up"], kpath + ("give_up",), "give_up"),
            timeout=int(body.get("timeout", DEFAULT_GATHER_TIMEOUT)),
        )


def _say(p: _StepParser, spec: Any) -> SayStep:
    text = spec["text"] if isinstance(spec, dict) else spec
    return SayStep(p.required(text, p.kpath))


def _play(p: _StepParser, spec: Any) -> PlayStep:
    if not (spec.startswith("https://") or re.fullmatch(r"[A-Za-z0-9_.-]+\.(mp3|wav)", spec)):
        p.add(p.kpath, "play needs an https:// URL or a .mp3/.wav file name in flows/audio/")
    return PlayStep(spec)


def _menu(p: _StepParser, spec: Any) -> MenuStep:
    options = []
    seen_keys: dict[str, int] = {}
    seen_phrases: dict[str, int] = {}
    for j, opt in enumerate(spec["options"]):
        opath = p.kpath + ("options", j)
        key = opt.get("key")
        if key is not None:
            if key in seen_keys:
                p.add(opath + ("key",), f"key {key} is used by option {seen_keys[key] + 1} too")
            if key in p.global_keys:
                p.add(opath + ("key",), f"key {key} is the flow's {p.global_keys[key]} key")
            seen_keys[key] = j
        phrases = tuple(_phrases(opt.get("say")))
        for ph in phrases:
            if ph in seen_phrases and seen_phrases[ph] != j:
                p.add(opath + ("say",), f"phrase {ph!r} is used by option {seen_phrases[ph] + 1} too")
            seen_phrases[ph] = j
        options.append(MenuOption(key, phrases, p.target(opt["next"], opath + ("next",), f"option {j + 1}"),
                                  opt.get("intent"), bool(opt.get("wish", False)), tuple(_written(opt.get("say")))))
    return MenuStep(p.required(spec["prompt"], p.kpath + ("prompt",)), tuple(options), p.reprompts(spec))


def _ask(p: _StepParser, spec: Any) -> AskStep:
    kpath, sid, ctx = p.kpath, p.sid, p.ctx
    rp = p.reprompts(spec)
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
    if spec.get("past_only") is not None and kind is not AskType.DATE:
        ctx.add(kpath + ("past_only",), "past_only only applies to type date", sid)
    wish = bool(spec.get("wish", False))
    if wish and kind is not AskType.YES_NO:
        ctx.add(kpath + ("wish",), "wish only applies to type yes_no", sid)
    if kind is AskType.DATE:
        # A PIN has no fixed length, so PIN-or-date entries end with # (or a pause).
        length = None if allow_pin else 8
    return AskStep(spec["var"], kind, p.required(spec["prompt"], kpath + ("prompt",)), rp,
                   length, lo, hi, pattern, bool(spec.get("past_only", False)), allow_pin, wish)


def _branch(p: _StepParser, spec: Any) -> BranchStep:
    cases = []
    for j, case in enumerate(spec["cases"]):
        cpath = p.kpath + ("cases", j)
        try:
            cond = compile_expression(case["if"])
        except TemplateSyntaxError as exc:
            p.add(cpath + ("if",), f"condition syntax error: {exc.message}")
            cond = compile_expression("false")
        cases.append(BranchCase(cond, p.target(case["next"], cpath + ("next",), f"case {j + 1}")))
    return BranchStep(tuple(cases), p.target(spec["else"], p.kpath + ("else",), "else"))


def _set(p: _StepParser, spec: Any) -> SetStep:
    values: list[tuple[str, Any]] = []
    for name, value in spec.items():
        if isinstance(value, str) and "{" in value:
            value = p.required(value, p.kpath + (name,))
        values.append((name, value))
    return SetStep(tuple(values))


def _action(p: _StepParser, spec: Any) -> ActionStep:
    kpath, actions = p.kpath, p.actions
    name = spec["name"]
    outcomes = dict(spec["outcomes"])
    signature = actions.get(name)
    declared = None if signature is None else declared_outcomes(signature)
    if declared is None:
        p.add(kpath + ("name",), f"unknown action {name!r} (known: {', '.join(sorted(actions)) or 'none'})")
    else:
        missing = [o for o in declared if o not in outcomes]
        extra = [o for o in outcomes if o not in declared]
        if missing:
            p.add(kpath + ("outcomes",), f"action {name} outcomes not mapped: {', '.join(missing)}")
        for o in extra:
            p.add(kpath + ("outcomes", o), f"action {name} has no outcome {o!r} (it has: {', '.join(declared)})")
    for o, t in outcomes.items():
        p.target(t, kpath + ("outcomes", o), f"outcome {o}")
    return ActionStep(name, dict(spec.get("with") or {}), outcomes)


def _transfer(p: _StepParser, spec: Any) -> TransferStep:
    to = (spec["to"],) if isinstance(spec["to"], str) else tuple(spec["to"])
    staff = {m.key for m in getattr(p.practice, "staff", ())} if p.practice is not None else None
    for j, who in enumerate(to):
        if not _E164.match(who) and staff is not None and who not in staff:
            where = p.kpath + (("to", j) if isinstance(spec["to"], list) else ("to",))
            p.add(where, f"transfer to {who!r}: not a staff key in practice.yaml nor an E.164 number")
    return TransferStep(to, DialMode(spec.get("mode", "simultaneous")), int(spec.get("timeout", 20)),
                        p.template(spec.get("say"), p.kpath + ("say",)))


def _voicemail(p: _StepParser, spec: Any) -> VoicemailStep:
    spec = spec or {}
    return VoicemailStep(p.template(spec.get("prompt"), p.kpath + ("prompt",)), int(spec.get("max_length", 120)))


def _sms(p: _StepParser, spec: Any) -> SmsStep:
    told = privacy.discretion_problems(spec["body"], getattr(p.practice, "name", None))
    told += [f"{{{{ {name} }}}} {why}" for name, why in _INDISCREET_VARS.items() if name in _variables(spec["body"])]
    for problem in told:
        p.add(p.kpath + ("body",), f"text message is not discreet: {problem}")
    return SmsStep(p.required(spec["body"], p.kpath + ("body",)), spec.get("to", "caller"))


def _escalate(p: _StepParser, spec: Any) -> EscalateStep:
    return EscalateStep(spec["reason"], Priority(spec.get("priority", "normal")),
                        p.template(spec.get("say"), p.kpath + ("say",)))


def _goto(p: _StepParser, spec: Any) -> GotoStep:
    return GotoStep(spec, None) if isinstance(spec, str) else GotoStep(spec["flow"], spec.get("step"))


def _hangup(p: _StepParser, spec: Any) -> HangupStep:
    say = spec.get("say") if isinstance(spec, dict) else spec if isinstance(spec, str) else None
    return HangupStep(p.template(say, p.kpath))


def _pay(p: _StepParser, spec: Any) -> PayStep:
    return PayStep(spec.get("description", "Card on file"), p.target(spec["failed"], p.kpath + ("failed",), "failed"),
                   int(spec.get("timeout", 10)), int(spec.get("max_attempts", 2)))


StepParserFn = Callable[[_StepParser, Any], StepBody]


def _parser_for(kind: StepKind) -> StepParserFn:
    """The parser of one step kind: exhaustive, so a kind without a parser fails type-checking."""
    match kind:
        case StepKind.SAY:
            return _say
        case StepKind.PLAY:
            return _play
        case StepKind.MENU:
            return _menu
        case StepKind.ASK:
            return _ask
        case StepKind.BRANCH:
            return _branch
        case StepKind.SET:
            return _set
        case StepKind.ACTION:
            return _action
        case StepKind.TRANSFER:
            return _transfer
        case StepKind.VOICEMAIL:
            return _voicemail
        case StepKind.SMS:
            return _sms
        case StepKind.ESCALATE:
            return _escalate
        case StepKind.GOTO:
            return _goto
        case StepKind.HANGUP:
            return _hangup
        case StepKind.PAY:
            return _pay
        case _:
            assert_never(kind)


STEP_PARSERS: Mapping[StepKind, StepParserFn] = {kind: _parser_for(kind) for kind in StepKind}


def _parse_step(p: _StepParser, following: str | None) -> Step | None:
    kind, raw, path = p.kind, p.raw, p.path
    body = STEP_PARSERS[kind](p, p.spec)
    nxt = raw.get("next")
    if nxt is not None:
        if kind in _CHOOSES_NEXT:
            p.add(path + ("next",), f"a {kind.value} step decides where to go itself; remove `next`")
            nxt = None
        else:
            p.target(nxt, path + ("next",), "next")
    elif kind in _FALLS_THROUGH:
        nxt = following
        if nxt is None:
            p.add(path, f"dead end: the last step is a {kind.value} with no `next`; "
                        "add `next:` or end with a hangup, transfer or goto")
    label = _label(p, raw.get("label"), path + ("label",))
    needs_verified = bool(raw.get("needs_verified")) or (
        isinstance(body, ActionStep) and body.name in p.actions and discloses(p.actions[body.name]))
    return Step(p.sid, kind, body, nxt, p.ctx.doc.line_of(path), raw.get("voice"), raw.get("language"),
                needs_verified, label or step_label(p.sid))


LABEL_MAX = 80  # characters, as flow.schema.json says


def _label(p: _StepParser, label: Any, where: Path) -> str | None:
    """The step's label as staff read it, or None (the default) when there is none or it is refused.

    Every way a label can be wrong is reported here (the schema leaves labels to this check), as a problem that
    keeps the flow whole: its dead keys and paths are still judged in the same run."""
    if label is None:
        return None
    if not isinstance(label, str):
        problem = f"label must be text, not {type(label).__name__}"
    elif not label.strip():
        problem = "label is blank: write what staff should read for this step, or leave `label` out"
    elif "{{" in label or "{%" in label:
        # Staff read labels on the timeline as written: a template there would show literally.
        problem = "label is plain text shown to staff: templates ({{ }}, {% %}) are not filled in"
    elif len(label.strip()) > LABEL_MAX:
        problem = f"label is {len(label.strip())} characters; at most {LABEL_MAX} fit the timeline"
    else:
        return " ".join(label.split())
    p.ctx.add(where, problem, p.sid, structural=False)
    return None
