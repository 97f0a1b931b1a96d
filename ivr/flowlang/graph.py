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
    ActionStep,
    AskStep,
    BranchStep,
    EscalateStep,
    Flow,
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
    """Whether the caller is listened to here (so the flow's operator and crisis keys work)."""
    match body:
        case MenuStep() | AskStep():
            return True
        case (SayStep() | PlayStep() | BranchStep() | SetStep() | ActionStep() | TransferStep() | VoicemailStep()
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

