"""Loading a whole flow set: every flow file and the practice settings, all problems reported at once.

Each file is parsed on its own (``parsing``), then checked as a graph (``graph``); the practice
settings (``ivr.practice.settings.checks``) load alongside, so a broken practice.yaml and a
broken flow are reported together.  Pure: text in, data out; reading the directory is the
running store's job (``store``).
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import PurePath

from ivr.core.flow import FlowSet
from ivr.exceptions import FlowError, FlowProblem
from ivr.flowlang.graph import check_graph
from ivr.flowlang.parsing import PRACTICE_FILE, Actions, ParsedFlow, parse_flow
from ivr.practice.settings.checks import parse_practice
from ivr.practice.settings.model import PracticeSettings

_FLOW_LINE = re.compile(r"^flow:\s*['\"]?([A-Za-z0-9_-]+)", re.MULTILINE)


def load_texts(texts: Mapping[str, str | bytes], practice_text: str | bytes | None,
               actions: Actions) -> tuple[FlowSet | None, list[FlowProblem]]:
    """Load a whole flow set from file name → text; returns the set (or None) and all problems."""
    problems: list[FlowProblem] = []
    practice = None
    if practice_text is None:
        problems.append(FlowProblem(PRACTICE_FILE, None, "practice settings file is missing"))
    else:
        try:
            practice = parse_practice(
                practice_text if isinstance(practice_text, str) else practice_text.decode(), PRACTICE_FILE
            )
        except FlowError as exc:
            problems += exc.problems
    parsed: dict[str, ParsedFlow] = {}
    unreadable = False  # a file so broken we do not even know its flow's name
    guessed: set[str] = set()  # the names such files most likely give their flows
    for file in sorted(texts):
        p, found = parse_flow(texts[file], file, actions, practice)
        problems += found
        if p is None:
            if not any(pr.flow for pr in found):
                # Too broken to parse (a YAML syntax error): its flow is most likely named on a "flow:"
                # line or after its file, so only that name is excused and a goto to any other missing
                # flow is still reported (review 14b finding 8).
                body = texts[file]
                text = body if isinstance(body, str) else body.decode("utf-8", "replace")
                named = _FLOW_LINE.findall(text)
                guessed |= set(named) if named else {PurePath(file).stem}
            continue
        if p.flow.name in parsed:
            problems.append(
                FlowProblem(
                    file,
                    p.doc.line_of(("flow",)),
                    f"flow name {p.flow.name!r} is also used by {parsed[p.flow.name].flow.file}",
                    p.flow.name,
                )
            )
            continue
        parsed[p.flow.name] = p
    broken = {pr.flow for pr in problems if pr.flow and pr.severity == "error" and pr.structural} | guessed
    problems += check_graph(parsed, practice.entry_flow if practice else None, broken, unreadable, actions,
                            settings_texts(practice) if practice else None)
    problems.sort(key=lambda pr: (pr.file, pr.line or 0))  # stable: same-line problems keep their order
    errors = [pr for pr in problems if pr.severity == "error"]
    if errors or practice is None:
        return None, problems
    digest = hashlib.sha256()
    for file in sorted(texts):
        body = texts[file]
        digest.update(file.encode() + b"\0" + (body.encode() if isinstance(body, str) else body))
    assert practice_text is not None  # else practice is None, returned above
    digest.update(practice_text.encode() if isinstance(practice_text, str) else practice_text)
    warnings = tuple(pr for pr in problems if pr.severity != "error")
    return FlowSet({n: p.flow for n, p in parsed.items()}, practice, digest.hexdigest()[:12], warnings), problems


def settings_texts(practice: PracticeSettings) -> dict[str, str]:
    """The practice.yaml texts a flow's words may say, by the name templates read them with (the engine's
    context, ``ivr.core.engine._Run.context``): each is checked for keys it promises where it is spoken."""
    return {
        "new_clients.message": practice.new_clients_message,
        "emergency_guidance": practice.emergency_guidance,
        "callback_promise": practice.callback_promise or "",
        "holiday": ". ".join(h.name for h in practice.holidays if h.name),
        "closed_reason": ". ".join(c.reason for c in practice.closures if c.reason),
        "practice.name": practice.name,
    }


def load_set(texts: Mapping[str, str | bytes], practice_text: str | bytes | None,
             actions: Actions) -> FlowSet:
    """Like :func:`load_texts` but raise FlowError when anything is wrong."""
    flows, problems = load_texts(texts, practice_text, actions)
    if flows is None:
        raise FlowError(problems)
    return flows

