"""A call's timeline in words for staff: ``main.nobody_free`` → "Nobody free", ``main_menu:no-match`` →
"Main menu: not understood".

The engine notes steps as ``flow.step`` and what happened at a step as ``step:outcome`` (ivr.core.engine);
this reads them back with each step's ``label`` from the flows (or its id in words when the flows no
longer have it). Pure: entries and flows in, strings out. The timeline holds steps and choices only,
never what a caller said, so nothing here can repeat it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from ivr.core.crisis_kind import describe_entry as crisis_kind_words
from ivr.core.events import DURING_GREETING
from ivr.core.flow import Flow, StepKind, step_label

# What happened at a step, in words.
OUTCOMES: Mapping[str, str] = {
    "no-input": "said nothing",
    "no-match": "not understood",
    "low-confidence": "not heard clearly",
    "invalid": "not a usable answer",
    "ambiguous": "unclear, asked more precisely",
    "two-keys": "said two keys, asked which",
    "give-up": "gave up asking",
    "ok": "answered",
    "yes": "said yes",
    "no": "said no",
    "wish": "asked for another day or time",
    "confirm": "answer read back",
    "confirmed": "answer confirmed",
    "not-confirmed": "answer not confirmed, asked again",
    "confirm-no-match": "no clear yes or no",
    "confirm-unclear": "yes or no not heard clearly, asked by key",
    "corrected": "answer corrected by the caller",
    "crisis": "asked for urgent support",
    "crisis-offered": "offered urgent support",
    "operator": "asked for a person",
    "refused-unverified": "refused: caller not verified",
    "recorded": "message recorded",
    "no-recording": "no message recorded",
    "key-ignored": "pressed a key that does nothing there",
    "nobody-free": "asked for a person again, nobody free: message taken",
    "hung-up": "hung up",
    "failed": "failed",
    "captured": "card saved",
    "present": "number shown",
    "withheld": "number withheld",
    "verified": "identity confirmed",
    "locked": "locked out, too many tries",
    "not-configured": "not set up",
    "no-number": "no number to text",
    "new_client": "new client",
    "appointments": "appointments",
    "links": "links",
    "billing": "billing",
}
# How a call ended, or how a transfer step's dial went (Twilio's DialCallStatus / CallStatus words): "failed" is
# the call's here, while at any other step it is that step's own outcome (a failed identity check).
CALL_OUTCOMES: Mapping[str, str] = {
    "answered": "answered",
    "no-answer": "no answer",
    "busy": "busy",
    "failed": "call failed",
    "canceled": "cancelled",
    "completed": "answered",
}
# Entries that are not a step.
EVENTS: Mapping[str, str] = {
    "limit:exceeded": "Call went on too long: handed to staff",
    "limit:voicemail": "Message left after the call went on too long",
    "restart:flows-changed": "Started again: the flows changed during the call",
    "recorded-after-end": "A message arrived after the call ended",
    "recording_failed": "The message could not be retrieved from Twilio: call the number back",
    "voicemail_crisis": "The message reads as a crisis",
    "raised_to_crisis": "Raised to urgent: the crisis on-call was paged",
}
_ACTIONS = {"reschedule": "to reschedule", "cancel": "to cancel", "hear": "to hear it", "book": "to book"}


def describe(entries: Iterable[str], flows: Mapping[str, Flow]) -> list[str]:
    """Each timeline entry in words, in order; ``flows`` gives the labels (any flows, possibly none)."""
    out: list[str] = []
    flow: Flow | None = None
    answered: set[tuple[str, str]] = set()  # (flow, step) answered already: a second answer was given again
    early = False  # the next step's key was pressed during the greeting
    for entry in entries:
        text = str(entry)
        if text == DURING_GREETING:
            early = True
            continue
        if text in EVENTS:
            out.append(EVENTS[text])
            continue
        kinds = crisis_kind_words(text)  # "crisis_kind:harm_to_others" → "Crisis heard: harm to others"
        if kinds is not None:
            out.append(kinds)
            continue
        if text.startswith("ended:"):
            status = text[6:]
            out.append("Call ended" if status == "completed" else
                       f"Call ended ({CALL_OUTCOMES.get(status, status.replace('-', ' '))})")
            continue
        step, sep, outcome = text.partition(":")
        if sep:
            dialled = flow is not None and step in flow.steps and flow.steps[step].kind is StepKind.TRANSFER
            words = CALL_OUTCOMES.get(outcome) if dialled else None
            if outcome == "ok" and not dialled:
                where = (flow.name if flow is not None else "", step)
                words = "gave it again" if where in answered else None
                answered.add(where)
            when = " (during the greeting)" if early else ""
            early = False
            out.append(f"{_label(flow, step)}{when}: {words or _outcome(outcome)}")
            continue
        name, dot, step_id = text.partition(".")
        if dot:
            flow = flows.get(name)
            out.append(_label(flow, step_id))
        else:
            out.append(step_label(text))
    return out


def _label(flow: Flow | None, step_id: str) -> str:
    step = flow.steps.get(step_id) if flow is not None else None
    return step.label if step is not None and step.label else step_label(step_id)


def _outcome(outcome: str) -> str:
    if outcome in OUTCOMES:
        return OUTCOMES[outcome]
    if outcome in CALL_OUTCOMES:
        return CALL_OUTCOMES[outcome]
    intent, slash, action = outcome.partition("/")
    if slash:
        return f"{OUTCOMES.get(intent, intent)}, {_ACTIONS.get(action, action)}"
    if outcome.isdigit() or outcome in ("*", "#"):
        return f"pressed {outcome}"
    return outcome.replace("_", " ").replace("-", " ")


def reason_label(reason: str, labels: Mapping[str, str]) -> str:
    """An escalation reason in plain words: the category's name staff know (``labels``), else the reason in words."""
    return labels.get(reason) or step_label(reason)
