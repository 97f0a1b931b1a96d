"""The flow language as data: a closed vocabulary of step kinds.

The loader turns YAML into these values once; the engine only ever reads them.
Nothing here is ever built from a YAML string by import or call: an unknown
kind is a load error, not a lookup.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, assert_never

from ivr.core.escalation_policy import PolicySettings
from ivr.core.hours import OpenStatus, status_at
from ivr.core.priority import Priority
from ivr.core.templates import Expression, Template


class StepKind(str, Enum):
    SAY = "say"
    PLAY = "play"
    MENU = "menu"
    ASK = "ask"
    BRANCH = "branch"
    SET = "set"
    ACTION = "action"
    TRANSFER = "transfer"
    VOICEMAIL = "voicemail"
    SMS = "sms"
    ESCALATE = "escalate"
    GOTO = "goto"
    HANGUP = "hangup"
    PAY = "pay"


class AskType(str, Enum):
    DIGITS = "digits"
    YES_NO = "yes_no"
    DATE = "date"
    NAME = "name"  # a first name, said (kept as the words heard, title-cased)
    WHEN = "when"  # a time of day or day that suits the caller ("weekday mornings", "after 5"), as said
    PHONE = "phone"  # a phone number, said or typed (country code optional), kept as E.164 in the practice's region


class DialMode(str, Enum):
    SIMULTANEOUS = "simultaneous"
    SEQUENTIAL = "sequential"


DEFAULT_RETRIES = 2
DEFAULT_GATHER_TIMEOUT = 6
DEFAULT_MIN_CONFIDENCE = 0.4
DEFAULT_NO_INPUT = "Sorry, I didn't hear anything."
DEFAULT_NO_MATCH = "Sorry, I didn't catch that."
# The crisis handler's words when a flow names none: sent as <Gather> hints; what they mean is decided by
# ivr.core.crisis.assess (with negation and everyday speech), not by matching these words.
DEFAULT_CRISIS_PHRASES = ("crisis", "emergency", "hurt myself", "suicide", "suicidal", "kill myself")


@dataclass(frozen=True)
class SayStep:
    text: Template


@dataclass(frozen=True)
class PlayStep:
    url: str


@dataclass(frozen=True)
class MenuOption:
    key: str | None
    phrases: tuple[str, ...]
    next: str
    # What a free sentence names when it means this option (ivr.core.intents.VOCABULARY): "appointments", ...
    intent: str | None = None
    # A day or time said on its own at this menu ("how about Thursday", "Friday afternoon", "anything after 3")
    # picks this option, the words kept in vars.said as the caller's wish (fix14-left finding 4).
    wish: bool = False
    # The phrases as the flow writes them ("I'm new"), sent to Twilio as <Gather> hints: its recogniser is
    # helped by written words, not by our matching form ("im new").  Empty: ``phrases``.
    written: tuple[str, ...] = ()

    @property
    def hints(self) -> tuple[str, ...]:
        return self.written or self.phrases


@dataclass(frozen=True)
class Reprompts:
    """How a menu or ask handles silence and nonsense before giving up."""

    no_input: Template
    no_match: Template
    retries: int
    give_up: str
    timeout: int


@dataclass(frozen=True)
class MenuStep:
    prompt: Template
    options: tuple[MenuOption, ...]
    reprompts: Reprompts


@dataclass(frozen=True)
class AskStep:
    var: str
    type: AskType
    prompt: Template
    reprompts: Reprompts
    length: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    past_only: bool = False
    allow_pin: bool = False  # dates only: "*" then digits is a PIN instead, stored as "pin:<digits>"
    wish: bool = False  # yes_no only: a day or time said instead is a no, kept in vars.said as a new wish


@dataclass(frozen=True)
class BranchCase:
    condition: Expression
    next: str


@dataclass(frozen=True)
class BranchStep:
    cases: tuple[BranchCase, ...]
    otherwise: str


@dataclass(frozen=True)
class SetStep:
    # Values are literals or templates rendered at the time the step runs.
    values: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class ActionStep:
    name: str
    params: Mapping[str, Any]
    outcomes: Mapping[str, str]


@dataclass(frozen=True)
class TransferStep:
    to: tuple[str, ...]
    mode: DialMode
    timeout: int
    say: Template | None


@dataclass(frozen=True)
class VoicemailStep:
    prompt: Template | None
    max_length: int


@dataclass(frozen=True)
class SmsStep:
    body: Template
    to: str


@dataclass(frozen=True)
class EscalateStep:
    reason: str
    priority: Priority
    say: Template | None


@dataclass(frozen=True)
class GotoStep:
    flow: str
    step: str | None


@dataclass(frozen=True)
class HangupStep:
    say: Template | None


@dataclass(frozen=True)
class PayStep:
    """Tokenise a card with Twilio <PayStep> (charge 0): the digits go to the payment processor, never to us."""

    description: str
    failed: str  # where the call goes when no card was captured
    timeout: int = 10
    max_attempts: int = 2


StepBody = (
    SayStep | PlayStep | MenuStep | AskStep | BranchStep | SetStep | ActionStep | TransferStep | VoicemailStep
    | SmsStep | EscalateStep | GotoStep | HangupStep | PayStep
)


@dataclass(frozen=True)
class Step:
    id: str
    kind: StepKind
    body: StepBody
    next: str | None
    line: int | None = None
    voice: str | None = None
    language: str | None = None
    # Discloses something about a client: only a verified caller may reach it.
    needs_verified: bool = False
    label: str = ""  # what staff read in the timeline; "" reads the id in words (``step_label``)

    def targets(self) -> list[tuple[str, str]]:
        """Every (label, step id) this step can continue to, inside its own flow."""
        out: list[tuple[str, str]] = []
        body = self.body
        follows = True  # whether ``next`` is where the call goes after this step
        match body:
            case MenuStep():
                out += [(f"option {o.key or '/'.join(o.phrases[:1])}", o.next) for o in body.options]
                out.append(("give_up", body.reprompts.give_up))
            case AskStep():
                out.append(("give_up", body.reprompts.give_up))
            case BranchStep():
                out += [(f"case {c.condition.source!r}", c.next) for c in body.cases]
                out.append(("else", body.otherwise))
                follows = False
            case ActionStep():
                out += [(f"outcome {k}", v) for k, v in body.outcomes.items()]
                follows = False
            case PayStep():
                out.append(("failed", body.failed))
            case GotoStep() | HangupStep():
                follows = False
            case SayStep() | PlayStep() | SetStep() | TransferStep() | VoicemailStep() | SmsStep() | EscalateStep():
                pass
            case _:
                assert_never(body)
        if self.next is not None and follows:
            out.append(("next", self.next))
        return out


def step_label(step_id: str) -> str:
    """A step id in words, for staff: "nobody_free" → "Nobody free", "callback-request" → "Callback request"."""
    words = step_id.replace("_", " ").replace("-", " ").replace(".", " ").split()
    text = " ".join(words)
    return text[:1].upper() + text[1:]


# The flows an outbound call starts at (ivr.contact.conversation): an answered follow-up call and a pool number
# called back. A flow without ``globals`` reached from one inherits that flow's crisis and operator handlers, not
# the practice line's (``Engine._handlers``), so ``flows check`` judges each flow against every entry that reaches it.
OUTBOUND_ENTRY_FLOWS = ("follow_up_call", "returned_call")


@dataclass(frozen=True)
class GlobalHandler:
    """A key or phrase that works at every menu and ask of its flow."""

    name: str
    key: str | None
    phrases: tuple[str, ...]
    next: str
    written: tuple[str, ...] = ()  # as MenuOption.written: the <Gather> hints

    @property
    def hints(self) -> tuple[str, ...]:
        return self.written or self.phrases


@dataclass(frozen=True)
class Flow:
    name: str
    file: str
    start: str
    steps: Mapping[str, Step]
    handlers: tuple[GlobalHandler, ...] = ()
    voice: str | None = None
    language: str | None = None
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    description: str = ""


class StaffView(Protocol):
    """A staff member a transfer may ring (``ivr.practice.settings.model.StaffMember``)."""

    @property
    def key(self) -> str: ...
    @property
    def phone_e164(self) -> str: ...
    @property
    def roster(self) -> str | None: ...


class PracticeView(PolicySettings, Protocol):
    """What the core and the actions read of the practice settings (``ivr.practice.settings.model.PracticeSettings``,
    which the flow language loads from practice.yaml): declared here, so the core imports no settings parser."""

    @property
    def name(self) -> str: ...
    @property
    def voice(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def entry_flow(self) -> str: ...
    @property
    def phone_region(self) -> str: ...
    @property
    def emergency_guidance(self) -> str: ...
    @property
    def callback_promise(self) -> str | None: ...
    @property
    def new_clients_accepting(self) -> bool: ...
    @property
    def new_clients_message(self) -> str: ...
    @property
    def payment_connector(self) -> str | None: ...
    @property
    def late_change_hours(self) -> int: ...
    @property
    def late_change_fee(self) -> str | None: ...
    @property
    def reschedule_window_days(self) -> int: ...
    @property
    def portal_url(self) -> str | None: ...
    @property
    def portal_help(self) -> str | None: ...
    @property
    def billing_url(self) -> str | None: ...
    @property
    def staff(self) -> Sequence[StaffView]: ...
    @property
    def verification_max_failures(self) -> int: ...
    @property
    def verification_lock_minutes(self) -> int: ...
    @property
    def verification_pin_max_failures(self) -> int: ...
    @property
    def verification_max_failures_per_hour(self) -> int: ...


@dataclass(frozen=True)
class FlowSet:
    """Every flow the service runs plus the practice settings they read."""

    flows: Mapping[str, Flow]
    practice: PracticeView
    version: str = ""
    warnings: tuple[Any, ...] = field(default=(), compare=False)
    # Opening status by minute: every step of every call asks, and the answer changes only on the minute.
    _status_cache: dict[int, OpenStatus] = field(default_factory=dict, compare=False, repr=False)

    def status_at(self, now: dt.datetime) -> OpenStatus:
        """The practice's opening status at ``now`` (ivr.core.hours.status_at), cached per minute."""
        minute = int(now.timestamp() // 60)
        cached = self._status_cache.get(minute)
        if cached is None:
            if len(self._status_cache) > 256:
                self._status_cache.clear()
            cached = self._status_cache[minute] = status_at(self.practice, now.replace(second=0, microsecond=0))
        return cached

    @property
    def entry(self) -> Flow:
        """The flow an inbound call starts in."""
        return self.flows[self.practice.entry_flow]

    def step(self, flow: str, step_id: str) -> Step:
        """Look up a step; KeyError when a reload removed it mid-call."""
        return self.flows[flow].steps[step_id]
