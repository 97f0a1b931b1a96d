"""Checks that need every flow at once: where calls can go, end, and what they may hear unverified.

Goto targets and the entry flow; steps no path reaches; steps from which the call can never
end; and steps that disclose client information reachable without crossing a verification.
How each step kind moves a call is decided by exhaustive ``match``es (``_ends_call``,
``_waits_for_input``, ``Step.targets``), so a new kind fails type-checking until it is placed.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Set
from typing import Any, assert_never

from ivr.core.flow import (
    OUTBOUND_ENTRY_FLOWS,
    ActionStep,
    AskStep,
    AskType,
    BranchStep,
    EscalateStep,
    Flow,
    GlobalHandler,
    GotoStep,
    HangupStep,
    MenuStep,
    PayStep,
    PlayStep,
    SayStep,
    SetStep,
    SmsStep,
    Step,
    StepBody,
    TransferStep,
    VoicemailStep,
)
from ivr.core.promised_keys import promised_key_phrases, promised_keys
from ivr.core.templates import referenced
from ivr.exceptions import FlowProblem
from ivr.flowlang.parsing import PRACTICE_FILE, ParsedFlow, verified_outcome


def _ends_call(body: StepBody) -> bool:
    """Whether the call can end at a step of this kind (a hangup; a transfer someone answers)."""
    match body:
        case HangupStep() | TransferStep():
            return True
        case (SayStep() | PlayStep() | MenuStep() | AskStep() | BranchStep() | SetStep() | ActionStep()
              | VoicemailStep() | SmsStep() | EscalateStep() | GotoStep() | PayStep()):
            return False
        case _:
            assert_never(body)


def _waits_for_input(body: StepBody) -> bool:
    """Whether the caller is listened to here (so the flow's operator and crisis keys work; at a voicemail,
    during its prompt and to end the message)."""
    match body:
        case MenuStep() | AskStep() | VoicemailStep():
            return True
        case (SayStep() | PlayStep() | BranchStep() | SetStep() | ActionStep() | TransferStep()
              | SmsStep() | EscalateStep() | GotoStep() | HangupStep() | PayStep()):
            return False
        case _:
            assert_never(body)


def _unreachable(flow: Flow, entries: Iterable[str]) -> list[str]:
    """Steps no path reaches from ``entries`` (the start, and steps other flows jump to)."""
    seen = set(entries)
    todo = list(seen)
    waits = False
    while todo:
        step = flow.steps[todo.pop()]
        waits = waits or _waits_for_input(step.body)
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
    if _waits_for_input(step.body):
        out += [(flow.name, h.next) for h in flow.handlers if h.next in flow.steps]
    return out


def check_graph(parsed: Mapping[str, ParsedFlow], entry_flow: str | None, broken: Set[str] = frozenset(),
                unreadable: bool = False, actions: Mapping[str, Any] | None = None,
                settings_texts: Mapping[str, str] | None = None) -> list[FlowProblem]:
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
            if (isinstance(s.body, GotoStep) and s.body.flow in flows and s.body.step is not None
                    and s.body.step in flows[s.body.flow].steps):
                entries[s.body.flow].add(s.body.step)
    for name, p in parsed.items():
        if p.complete:
            for sid in _unreachable(p.flow, entries[name]):
                add(p, sid, "unreachable: no path from the start leads here")

    can_end: set[tuple[str, str]] = {
        (f.name, sid) for f in flows.values() for sid, s in f.steps.items()
        if _ends_call(s.body) or (isinstance(s.body, GotoStep) and excused(s.body.flow))
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
    # A broken flow's own listening steps are still judged (every problem at once, review 14b finding 8);
    # only paths through it are unknown.
    # A flow without globals inherits the keys of the flow its call started at (``Engine._handlers``): the practice's
    # entry flow for an inbound call, follow_up_call or returned_call for an outbound one. Each flow is judged against
    # every entry that reaches it; a flow no entry reaches, against the practice's (bt14-s25 SHOULD-FIX 2).
    # A problem found on several paths is reported once, naming the first entry flow it was found from.
    reported: set[tuple[str, str, tuple[Any, ...], str]] = set()
    for entry, judged in _judged_by_entry(flows, entry_flow):
        for name, sid, sub, message in _dead_promised_keys(flows, entry, broken, settings_texts, judged):
            if (name, sid, sub, message) in reported:
                continue
            reported.add((name, sid, sub, message))
            add(parsed[name], sid, message + (f" (in a call that starts at flow {entry!r})" if entry != entry_flow
                                              else ""), sub)
    # With a broken flow in the graph, paths through it are unknown: judge verification once it loads.
    if entry_flow in flows and not broken and not unreadable:
        for (name, sid), path in _unverified_disclosures(flows, entry_flow, actions or {}).items():
            add(parsed[name], sid, "discloses client information but an unverified caller can reach it: "
                                   + " → ".join(f"{f}.{st}" for f, st in path))
    return problems


def _judged_by_entry(flows: Mapping[str, Flow], entry_flow: str | None) -> list[tuple[str | None, Set[str]]]:
    """(entry flow, the flows judged against it): the practice's entry flow judges the flows it reaches and those no
    entry reaches; each outbound entry flow present (``OUTBOUND_ENTRY_FLOWS``) judges the flows it reaches."""
    outbound = [name for name in OUTBOUND_ENTRY_FLOWS if name in flows and name != entry_flow]
    reached = {name: _reached(flows, name) for name in outbound}
    if entry_flow is not None and entry_flow in flows:
        inbound = _reached(flows, entry_flow)
        practice: Set[str] = inbound | (set(flows) - inbound.union(*reached.values()))
    else:
        practice = set(flows) - set().union(*reached.values())  # what is inherited there is unknown: as before
    return [(entry_flow, practice)] + [(name, reached[name]) for name in outbound]


def _reached(flows: Mapping[str, Flow], start_flow: str) -> set[str]:
    """The flows a call that starts at ``start_flow`` can reach (gotos, and handlers where the caller is heard)."""
    start = flows[start_flow]
    seen = {(start_flow, start.start)} if start.start in start.steps else set()  # a bad start is reported already
    todo = list(seen)
    while todo:
        name, sid = todo.pop()
        for node in _successors(flows, flows[name], flows[name].steps[sid]):
            if node not in seen and node[0] in flows and node[1] in flows[node[0]].steps:
                seen.add(node)
                todo.append(node)
    return {start_flow} | {name for name, _ in seen}


def _verifying_edge(step: Step, target: str, actions: Mapping[str, Any]) -> bool:
    """Does going from ``step`` to ``target`` prove the caller verified?"""
    body = step.body
    if isinstance(body, ActionStep) and body.name in actions:
        verified = verified_outcome(actions[body.name])
        routes = [outcome for outcome, t in body.outcomes.items() if t == target]
        return verified is not None and routes == [verified]
    if isinstance(body, BranchStep):
        cases = [case for case in body.cases if case.next == target]
        return body.otherwise != target and bool(cases) and all(_requires_verified(c.condition.source) for c in cases)
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
            path: list[tuple[str, str]] = []
            cur: tuple[str, str] | None = node
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



def _handler_key(flows: Mapping[str, Flow], entry_flow: str | None, flow: Flow, name: str) -> str | None:
    """The key of the ``name`` handler the engine uses at a recording: the flow's own, else the entry flow's."""
    for f in (flow, flows.get(entry_flow or "")):
        handler = next((h for h in f.handlers if h.name == name), None) if f is not None else None
        if handler is not None:
            return handler.key
    return None


def _handlers(flows: Mapping[str, Flow], entry_flow: str | None, flow: Flow) -> list[GlobalHandler]:
    """The handlers the engine applies at ``flow``'s prompts (``Engine._handlers``): its own, then the entry flow's
    crisis and operator for a name it does not declare and a key it does not use (the practice's promise)."""
    entry = flows.get(entry_flow or "")
    own = list(flow.handlers)
    if entry is None or entry is flow:
        return own
    names = {h.name for h in own}
    keys = {h.key for h in own if h.key}
    return own + [h for h in entry.handlers if h.name in ("crisis", "operator") and h.name not in names
                  and not (h.key and h.key in keys)]


def _keys_at(flows: Mapping[str, Flow], entry_flow: str | None, flow: Flow, step: Step) -> frozenset[str] | None:
    """The keys that do something where ``step`` listens, or None when it does not wait for the caller here
    (then it passes what was said on to the steps after it)."""
    own = {h.key for h in _handlers(flows, entry_flow, flow) if h.key}
    body = step.body
    match body:
        case MenuStep():
            return frozenset({o.key for o in body.options if o.key} | own)
        case AskStep():
            if body.type is AskType.YES_NO:
                return frozenset({"1", "2"} | own)
            if body.type in (AskType.NAME, AskType.WHEN) or body.length == 1:
                return frozenset(own)  # said, not keyed, or one key: a key acts at once
            # Digits typed here are the answer's, not a choice: "for help, press 6" at a date prompt types a 6
            # into the date. Only the flow's own keys, pound (ends the answer) and star (a PIN) do what is said,
            # and a flow key acts at once only with pound after it: alone Twilio sends it after the timeout
            # (docs/understanding.md, "Keys at prompts that take typed values"; fix14-left2 item 1).
            return frozenset({"#"} | {k + "#" for k in own} | ({"*"} if body.allow_pin else set()))
        case VoicemailStep():
            routes = {_handler_key(flows, entry_flow, flow, n) for n in ("crisis", "operator")}
            return frozenset({"#"} | {k for k in routes if k})
        case TransferStep() | HangupStep() | PayStep():
            return frozenset()  # heard outside any <Gather>: a key pressed there does nothing
        case SayStep() | PlayStep() | BranchStep() | SetStep() | ActionStep() | SmsStep() | EscalateStep() | GotoStep():
            return None
        case _:
            assert_never(body)


def _listeners(flows: Mapping[str, Flow], entry_flow: str | None, flow: Flow,
               step: Step) -> list[tuple[str, str, frozenset[str]]]:
    """Where words said at ``step`` are listened to: the first waiting steps after it on every path (what is said
    before a <Gather> plays inside it), with the keys that work there."""
    out: list[tuple[str, str, frozenset[str]]] = []
    seen: set[tuple[str, str]] = set()
    todo = _successors_passing(flows, flow, step)
    while todo:
        node = todo.pop()
        if node in seen or node[0] not in flows or node[1] not in flows[node[0]].steps:
            continue
        seen.add(node)
        f = flows[node[0]]
        nxt = f.steps[node[1]]
        keys = _keys_at(flows, entry_flow, f, nxt)
        if keys is None:
            todo += _successors_passing(flows, f, nxt)
        else:
            out.append((node[0], node[1], keys))
    return out


def _successors_passing(flows: Mapping[str, Flow], flow: Flow, step: Step) -> list[tuple[str, str]]:
    out = [(flow.name, t) for _, t in step.targets() if t in flow.steps]
    if isinstance(step.body, GotoStep) and step.body.flow in flows:
        other = flows[step.body.flow]
        out.append((other.name, step.body.step or other.start))
    return out


def _spoken(step: Step) -> list[tuple[tuple[str, ...], str]]:
    """The texts a step speaks that may promise keys, with their path under the step."""
    body = step.body
    kind = step.kind.value
    match body:
        case MenuStep() | AskStep():
            return [((kind, "prompt"), body.prompt.source), ((kind, "no_input"), body.reprompts.no_input.source),
                    ((kind, "no_match"), body.reprompts.no_match.source)]
        case VoicemailStep():
            return [((kind, "prompt"), body.prompt.source)] if body.prompt else []
        case SayStep():
            return [((kind,), body.text.source)]
        case EscalateStep() | TransferStep():
            return [((kind, "say"), body.say.source)] if body.say else []
        case HangupStep():
            return [((kind,), body.say.source)] if body.say else []
        case PlayStep() | BranchStep() | SetStep() | ActionStep() | SmsStep() | GotoStep() | PayStep():
            return []
        case _:
            assert_never(body)


def _with_settings(spoken: list[tuple[tuple[str, ...], str]],
                   settings_texts: Mapping[str, str]) -> list[tuple[tuple[str, ...], str, str]]:
    """Each spoken text, and after it every practice.yaml text it says (``{{ new_clients.message }}``), with where
    those words come from: a key they promise is judged where the step speaks them (fix14-left finding 1)."""
    out: list[tuple[tuple[str, ...], str, str]] = []
    for sub, source in spoken:
        out.append((sub, source, ""))
        names = referenced(source)
        out += [(sub, text, f" (from practice.yaml {name})") for name, text in settings_texts.items()
                if name in names and text]
    return out


def _dead_promised_keys(flows: Mapping[str, Flow], entry_flow: str | None,
                        broken: Set[str] = frozenset(), settings_texts: Mapping[str, str] | None = None,
                        judged: Set[str] | None = None) -> list[tuple[str, str, tuple[str, ...], str]]:
    """Prompts that tell the caller to press a key nothing handles where they hear it (issue 14): (flow, step,
    path under the step, message), in calls that start at ``entry_flow``. In a ``broken`` flow only steps that
    listen themselves are judged. ``settings_texts``: the practice.yaml texts a template may say, by the name
    templates read them with. ``judged``: the flows to judge (None: all)."""
    problems: list[tuple[str, str, tuple[str, ...], str]] = []
    for flow in flows.values():
        if judged is not None and flow.name not in judged:
            continue
        for sid, step in flow.steps.items():
            for sub, text, origin in _with_settings(_spoken(step), settings_texts or {}):
                keys = promised_key_phrases(text)
                if not keys:
                    continue
                here = _keys_at(flows, entry_flow, flow, step)
                if here is None and flow.name in broken:
                    continue
                places = [(flow.name, sid, here)] if here is not None else _listeners(flows, entry_flow, flow, step)
                for key, words in keys:
                    slow = [f"{f}.{s}" for f, s, works in places if not _works(key, works) and key + "#" in works]
                    if slow:
                        problems.append((flow.name, sid, sub, _slow_key_message(key, words, origin, slow)))
                        continue
                    dead = [f"{f}.{s}" for f, s, works in places if not _works(key, works)]
                    if not places or dead:
                        where = ", ".join(dead) if dead else "the call"
                        problems.append((flow.name, sid, sub,
                                         f"promises key {key} (\"{words}\"){origin} but no branch handles it at "
                                         f"{where}: "
                                         "add an option or global for it, or change the words"))
            problems += _any_time_promises(flows, entry_flow, flow, sid, step)
    return problems


def _works(key: str, works: frozenset[str]) -> bool:
    """Whether promised ``key`` does what is said where ``works`` are the keys that act: "9#" works wherever 9
    acts at once (the pound is then pressed into the next prompt, harmlessly)."""
    return key in works or (len(key) == 2 and key.endswith("#") and key[0] in works)


def _slow_key_message(key: str, words: str, origin: str, where: list[str]) -> str:
    return (f"promises key {key} (\"{words}\"){origin} but at {', '.join(where)} digits are typed, where {key} "
            f"alone acts only after the timeout: say \"press {key} and then pound\", which acts at once, or change "
            "the words")


_ANY_TIME = re.compile(r"\b(?:at\s+any\s*time|anytime)\b", re.IGNORECASE)


def _typed_ask(step: Step) -> bool:
    """Whether ``step`` takes typed digits that only pound or the timeout sends (a date, a PIN, a phone number)."""
    body = step.body
    return isinstance(body, AskStep) and body.type not in (AskType.YES_NO, AskType.NAME, AskType.WHEN) \
        and body.length != 1


def _any_time_promises(flows: Mapping[str, Flow], entry_flow: str | None, flow: Flow, sid: str,
                       step: Step) -> list[tuple[str, str, tuple[str, ...], str]]:
    """A key promised "at any time" (the greeting's "press 9 at any time") must act at once at every prompt the
    call can reach after it. At a prompt that takes typed digits a lone key is sent only after the timeout, so
    that prompt must say how the key works there ("press 9 and then pound"), or the promise is not kept."""
    problems: list[tuple[str, str, tuple[str, ...], str]] = []
    reported: set[tuple[str, str]] = set()
    for sub, text in _spoken(step):
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            if not _ANY_TIME.search(sentence):
                continue
            for key, words in promised_key_phrases(sentence):
                if len(key) != 1:
                    continue
                promised = next((h for h in _handlers(flows, entry_flow, flow) if h.key == key), None)
                unsaid: list[str] = []
                seen: set[tuple[str, str]] = set()
                todo = _successors(flows, flow, step)
                while todo:
                    node = todo.pop()
                    if node in seen or node[0] not in flows or node[1] not in flows[node[0]].steps:
                        continue
                    seen.add(node)
                    f = flows[node[0]]
                    nxt = f.steps[node[1]]
                    todo += _successors(flows, f, nxt)
                    keys = _keys_at(flows, entry_flow, f, nxt)
                    if (f.name, nxt.id) not in reported:
                        taken = _promise_broken(flows, entry_flow, promised, f, nxt, key, keys)
                        if taken is not None:
                            reported.add((f.name, nxt.id))
                            problems.append((f.name, nxt.id, taken[0],
                                             f"{taken[1]}, but {flow.name}.{sid} promises key {key} (\"{words}\") "
                                             f"at any time: {taken[2]}"))
                    if _typed_ask(nxt) and keys and key + "#" in keys and not any(
                            _works(k, keys) and k == key + "#" for t in _spoken_prompt(nxt)
                            for k in promised_keys(t)):
                        unsaid.append(f"{f.name}.{nxt.id}")
                if unsaid:
                    problems.append((flow.name, sid, sub, (
                        f"promises key {key} (\"{words}\") at any time, but at {', '.join(sorted(unsaid))} digits "
                        f"are typed, where {key} alone acts only after the timeout: say there how it acts at once "
                        f"(\"press {key} and then pound\"), or change the words")))
    return problems


def _promise_broken(flows: Mapping[str, Flow], entry_flow: str | None, promised: GlobalHandler | None, flow: Flow,
                    step: Step, key: str, keys: frozenset[str] | None) -> tuple[tuple[Any, ...], str, str] | None:
    """How a listening ``step`` of ``flow`` breaks the promise of ``key`` "at any time" (its path under the step,
    what is wrong, what to do), or None when it keeps it: the key goes elsewhere there (a menu option or another
    handler on it) or does nothing there (bt14-s24 blocker 2). A typed prompt is judged by ``_any_time_promises``."""
    body = step.body
    if promised is None or keys is None or entry_flow not in flows \
            or not isinstance(body, MenuStep | AskStep | VoicemailStep):
        # A promised key no handler takes is reported where it is promised (_dead_promised_keys); with no entry
        # flow (practice.yaml broken) what a flow inherits is unknown.
        return None
    handler = next((h for h in _handlers(flows, entry_flow, flow) if h.key == key), None)
    if handler is not None and handler.name != promised.name:
        return ((), f"key {key} goes to the flow's {handler.name} global here",
                f"give that global another key, or keep {key} for {promised.name}")
    if isinstance(body, MenuStep):
        for i, option in enumerate(body.options):
            if option.key == key and handler is not None:
                return (("menu", "options", i, "key"), f"menu option {key} is never chosen here",
                        "give the option another key")
    if not _works(key, keys) and key + "#" not in keys:
        return ((step.kind.value, "prompt"), f"key {key} does nothing at this prompt",
                f"make key {key} go to {promised.name} here, or change the words")
    return None


def _spoken_prompt(step: Step) -> list[str]:
    """The words a listening step says every time it asks: its prompt."""
    body = step.body
    return [body.prompt.source] if isinstance(body, (AskStep, MenuStep)) else []


# Global handlers a caller sets off themselves, which may go where care is named (the crisis path).
CALLER_ASKED_HANDLERS = frozenset({"crisis"})


def reachable_unverified(
    flows: Mapping[str, Flow], starts: Iterable[str], actions: Mapping[str, Any],
    caller_asked: Set[str] = CALLER_ASKED_HANDLERS,
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Every step a caller may hear before being verified, starting at the first step of each flow in
    ``starts``, across ``goto`` hand-overs to other flows: ``(flow, step) -> path`` from its start.

    A path stops at a step marked ``needs_verified`` and at a verifying edge (``verify_identity``'s
    verified outcome, a branch on ``caller.verified``); the global handlers named in ``caller_asked``
    (the crisis key or words, which the caller sets off) are not followed.  Flows not in ``flows`` are
    skipped.
    """
    parent: dict[tuple[str, str], tuple[str, str] | None] = {}
    queue: list[tuple[str, str]] = []
    for name in starts:
        if name in flows:
            node = (name, flows[name].start)
            parent[node] = None
            queue.append(node)
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    while queue:
        node = queue.pop(0)
        flow = flows[node[0]]
        step = flow.steps.get(node[1])
        if step is None or step.needs_verified:
            continue
        path: list[tuple[str, str]] = []
        cur: tuple[str, str] | None = node
        while cur is not None:
            path.append(cur)
            cur = parent[cur]
        found[node] = path[::-1]
        succs = _successors_passing(flows, flow, step)
        if _waits_for_input(step.body):
            succs += [(flow.name, h.next) for h in flow.handlers
                      if h.next in flow.steps and h.name not in caller_asked]
        for succ in succs:
            if succ in parent or (succ[0] == node[0] and _verifying_edge(step, succ[1], actions)):
                continue
            parent[succ] = node
            queue.append(succ)
    return found
