"""The flow engine: ``step(flows, session, event, env) -> (session, effects)``.

Pure: no Flask, Redis, Twilio or clock inside.  Each call walks steps that need
nothing from the caller (say, set, branch, sms, escalate, goto) until it reaches
one that waits (menu or ask → Gather, voicemail → Record, transfer → Dial,
action → Invoke, hangup).  The input session is never mutated.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, assert_never

from ivr.core import crisis as crisis_words
from ivr.core import crisis_kind, spoken_input
from ivr.core import effects as fx
from ivr.core.call_state import CallSession, Waiting
from ivr.core.crisis_kind import CrisisKind
from ivr.core.escalation_policy import VOICEMAIL, decide_priority, promise
from ivr.core.events import (
    DURING_GREETING,
    ActionDone,
    Answer,
    CallEnded,
    CallStarted,
    DialFinished,
    Digits,
    Event,
    NoInput,
    PaymentFinished,
    RecordingFinished,
    Speech,
)
from ivr.core.flow import (
    DEFAULT_CRISIS_PHRASES,
    DEFAULT_NO_MATCH,
    ActionStep,
    AskStep,
    AskType,
    BranchStep,
    DialMode,
    EscalateStep,
    Flow,
    FlowSet,
    GlobalHandler,
    GotoStep,
    HangupStep,
    MenuOption,
    MenuStep,
    PayStep,
    PlayStep,
    SayStep,
    SetStep,
    SmsStep,
    Step,
    TransferStep,
    VoicemailStep,
)
from ivr.core.intents import IntentMatch, match_intent, request_details
from ivr.core.intents import MenuOption as IntentOption
from ivr.core.spoken_output import spoken_calendar_date, spoken_digits, spoken_phone
from ivr.core.spoken_values import (
    AnswerKind,
    Bound,
    DatePurpose,
    Reading,
    Why,
    day_mentions,
    gather_hints,
    parse_date,
    parse_day,
    parse_digits,
    parse_first_name,
    parse_keyed_date,
    parse_phone,
    parse_time,
    parse_yes_no,
    says_own_number,
    spoken_pin,
    spoken_words,
    time_mentions,
)
from ivr.core.templates import Template

LIMIT_STEP = "__call_limit__"
LIMIT_APOLOGY = ("I'm sorry, I'm not able to finish this call. Please leave a message after the tone, "
                 "and someone will call you back.")
LIMIT_THANKS = "Thank you. Someone will call you back. Goodbye."
RESTART_APOLOGY = "Sorry, something changed on our side. Let's start again."
_YES_NO_KEYS = {"1": True, "2": False}
# The step kinds a call can be waiting at, by what it waits for.
_WAITS_AT = {Waiting.INPUT: (MenuStep, AskStep), Waiting.RECORDING: (VoicemailStep,), Waiting.DIAL: (TransferStep,),
             Waiting.ACTION: (ActionStep,), Waiting.PAYMENT: (PayStep,)}
NOT_VERIFIED = "I'm sorry, I can only help with that once we have confirmed who you are."
# Said when the caller's words come near a crisis without being one (crisis.CrisisLevel.UNSURE); the call goes on.
CRISIS_OFFER = "If you are in crisis, press {key} now."
CRISIS_OFFER_SAY = "If you are in crisis, say crisis now."
# The offer as it plays in a <Gather> that takes typed digits (a date, a PIN, a phone number): a lone key is sent
# only after the timeout there, the key and pound at once (docs/understanding.md, fix14-left2 item 1).
CRISIS_OFFER_TYPED = "If you are in crisis, press {key} and then pound, or say crisis."
# Set while that offer waits to be heard: where no <Gather> follows (a transfer, a goodbye) the words play in
# one that takes the key (effects.prompt_keys); "hangup" once the goodbye is said, until its key can no longer come.
OFFERED = "_crisis_offered"
CRISIS = "crisis"
CRISIS_KIND = crisis_kind.SESSION_VAR  # the most urgent kind of crisis heard on the call, for staff
# A value heard with low confidence is read back first (vars[CONFIRMING] holds it until the caller answers).
CONFIRMING = "_confirming"
# Vars whose value the caller has confirmed at a read-back, so a flow's own read-back can skip them
# (a value confirmed once is never read back again, review 14b finding 15): vars.read_back, a list of names.
READ_BACK = "read_back"
REQUEST = "request"  # what a free sentence at an intent menu asked for (intents.IntentMatch): vars.request
# Day and time words said with a spoken choice at any other menu ("can I move it to next Wednesday", "none of
# those, how about Thursday"), by role as in vars.request: vars.said, for that turn only (review 14c finding 4).
SAID = "said"
CONFIRM_VALUE = "I heard {said}. If that's right, press 1 or say yes. If not, press 2."
# After a "no" to the read-back the step's own prompt follows, so what the caller may do is said once, the same way.
CONFIRM_AGAIN = "Okay, let's try again."
# A yes or no heard unclearly, or neither, at the read-back: asked again by key, the value said in other words.
CONFIRM_BY_KEY = "Sorry, I didn't hear that clearly. If {said} is right, press 1. If not, press 2."
CONFIRM_UNCLEAR = "Sorry, I didn't catch that. If {said} is right, press 1 or say yes. If not, press 2."
# Numbers that split into more than one whole date (Why.ORDER): each reading named, then how to say it once.
ASK_WHICH_DATE = ("I'm not sure which date you meant: {dates}. Please say the month by name, the day and the full "
                  "year, or enter it on the keypad as eight digits.")
ASK_DATE_AGAIN = ("I'm not sure which date you meant. Please say the month by name, the day and the full year, "
                  "or enter it on the keypad as eight digits.")
_DATE_REPROMPTS = {
    Why.NO_YEAR: "I need the year too. Please say the whole date with the year, or enter it on the keypad "
                 "as eight digits.",
    Why.NO_DAY: "I need the day of the month too. Please say the whole date with the day, or enter it on the "
                "keypad as eight digits.",
    Why.NO_MONTH: "I need the month and the day too. Please say the whole date, like April fifteenth nineteen "
                  "eighty five, or enter it on the keypad as eight digits.",
    Why.NO_DAY_OR_YEAR: "I need the day and the year too. Please say the whole date, or enter it on the keypad "
                        "as eight digits.",
    Why.TWO_DIGIT_YEAR: "Please say the year with all four digits, like nineteen eighty five, or enter the date "
                        "on the keypad as eight digits.",
    Why.ORDER: ASK_DATE_AGAIN,
    # two dates, or a self-correction ("April fifteen, no wait, sixteen"): which stands is asked, never guessed
    Why.SEVERAL: "I heard more than one date. Please say the whole date once, or enter it on the keypad as eight "
                 "digits.",
}
ASK_DIGITS_AGAIN = "I need {length} digits. Please say them one at a time, or enter them on the keypad."
ASK_DIGITS_ONCE = "I heard a correction. Please say the digits again, or enter them on the keypad."
# A PIN said whose digits were not heard as four to eight (bt14-s27 SHOULD-FIX 4).
ASK_PIN_AGAIN = "I didn't get your PIN. Please press star, then your PIN, then pound."
ASK_PHONE_AGAIN = ("I need the whole number, with the area code. Please say it one digit at a time, or enter it on "
                   "the keypad and press pound.")
# A phone answer with no number in it at a step that keeps the default no_match: what to do, never "Sorry, I
# didn't catch that." alone (bt14-s25 nit 7). Then an extension with no digits after it, said before the number, or
# too long (spoken_values.Why.EXTENSION, fix14-nits6).
ASK_PHONE_NOT_HEARD = ("Sorry, I didn't get a phone number. Please say it with the area code, one digit at a time, "
                       "or enter it on the keypad and press pound.")
# "this number" said when no caller ID came through (bt14-s27 SHOULD-FIX 6).
ASK_PHONE_NO_CALLER_ID = ("I can't see the number you're calling from. Please say it with the area code, one digit at "
                          "a time, or enter it on the keypad and press pound.")
ASK_PHONE_EXTENSION = ("I need the extension's digits too. Please say the number with the area code first, then the "
                       "word extension and its digits. Or enter the number on the keypad, then star and the "
                       "extension, and press pound.")
OPERATOR = "operator"
# Set when the call starts the way to a person (the operator handler, or the flow named "operator" from its start);
# dropped at the next menu or ask, or when a transfer rings someone. Still set at a voicemail prompt, the person was
# asked for and nobody could come without ringing anyone (after hours): a person's key there is answered plainly and
# the message taken, never the way to a person said again (bt14-s25 nit 7, fix14-nits6).
PERSON_TRIED = "_person_tried"
NOBODY_NOW = "Nobody can take your call right now. Please leave your message after the tone."
# Another key pressed during a voicemail prompt (not the crisis key, not a person's): the message is taken at once.
KEY_BEFORE_BEEP = "Please leave your message after the tone."


@dataclass(frozen=True)
class StepEnv:
    """The outside facts a step may depend on, passed in so the engine stays pure."""

    now: dt.datetime  # aware
    max_steps: int = 200
    max_call_seconds: int = 3600
    # Who to ring for a staff member with ``roster: <category>``: E.164 numbers of whoever is on call
    # for it now, or empty when that cannot be known (then the member's own phone is rung).  A service
    # the edge passes in (ivr.escalations.on_call), so the engine itself reads no database.
    on_call: Callable[[str], Sequence[str]] | None = None


# Best-time answers with no clock time in them, and the words kept for staff.
_WHEN_PHRASES = (
    ("as soon as possible", "as soon as possible"), ("asap", "as soon as possible"),
    ("soon as you can", "as soon as possible"), ("end of the day", "end of the day"),
    ("before work", "before work"), ("after work", "after work"), ("after school", "after school"),
    ("before school", "before school"), ("go to bed", "late evening"), ("in bed", "late evening"),
    ("bedtime", "late evening"), ("text me", "text preferred"), ("lunch", "lunchtime"),
)
_WHEN_WORDS = frozenset({"morning", "mornings", "afternoon", "afternoons", "evening", "evenings", "weekday",
                         "weekdays", "weekend", "weekends", "lunch", "lunchtime", "anytime", "whenever", "night",
                         "nights", "early", "late"})
def _either(items: Sequence[str], joiner: str) -> str:
    """"a", "a or b", "a, b or c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


# A prompt's option read before its key: "tomorrow at 9 AM, press 1" → ("tomorrow at 9 AM, ", "1").
_PRESS_KEY = re.compile(r"([^;.]*?)\bpress (\d)\b", re.IGNORECASE)


def _takes_key_words(body: MenuStep | AskStep) -> bool:
    """Whether a lone number word ("nine") can be this question's answer, not a key."""
    if isinstance(body, MenuStep):
        return False
    return body.type is AskType.WHEN or (body.type is AskType.DIGITS and (body.length or 1) <= 1)


def _answer_kind(body: MenuStep | AskStep) -> AnswerKind:
    """What kind of answer a prompt waits for (its <Gather> hints and speech model follow from it)."""
    if isinstance(body, MenuStep):
        return AnswerKind.MENU
    match body.type:
        case AskType.YES_NO:
            return AnswerKind.YES_NO
        case AskType.DATE:
            return AnswerKind.DATE
        case AskType.DIGITS:
            return AnswerKind.DIGITS
        case AskType.NAME:
            return AnswerKind.NAME
        case AskType.WHEN:
            return AnswerKind.WHEN
        case AskType.PHONE:
            return AnswerKind.DIGITS
        case _:
            assert_never(body.type)


def new_session(call_sid: str, caller: str | None, now: dt.datetime) -> CallSession:
    """A session for a call that has just reached us."""
    return CallSession(call_sid=call_sid, caller=caller, started_at=now.isoformat())


def step(flows: FlowSet, session: CallSession, event: Event, env: StepEnv) -> tuple[CallSession, list[fx.Effect]]:
    """Advance one call by one input event."""
    s, out = _Run(flows, session.copy(), env).handle(event)
    return s, guard_guidance(flows, out)


_OFFER_SAID = re.compile(re.escape(CRISIS_OFFER.split("{key}")[0]) + r"(\S+)"
                         + re.escape(CRISIS_OFFER.split("{key}")[1]))


def offers_where_heard(out: list[fx.Effect]) -> list[fx.Effect]:
    """``out`` (one webhook's effects, across the actions run in it) with each crisis offer in the words that hold
    where it is HEARD, not where the distress was said: played in a <Gather> that takes typed digits (a date of
    birth after an offer made at the menu, with the caller's lookup run between), "press 9 now" would act only after
    the timeout, so it says "press 9 and then pound, or say crisis" (docs/understanding.md §12). Effects not heard
    (``Invoke``, ``SendSms``, ``Escalate``) are passed over, as ``effects.barge_in`` does."""
    out = list(out)
    for i, effect in enumerate(out):
        if not isinstance(effect, fx.Say) or (said := _OFFER_SAID.fullmatch(effect.text)) is None:
            continue
        heard_in = next((e for e in out[i + 1:]
                         if not isinstance(e, fx.Say | fx.Play | fx.Invoke | fx.SendSms | fx.Escalate)), None)
        if isinstance(heard_in, fx.Gather) and heard_in.num_digits != 1:
            out[i] = replace(effect, text=CRISIS_OFFER_TYPED.format(key=said.group(1)))
    return out


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(" ".join(text.split())) if part]


def heard_once(out: list[fx.Effect]) -> list[fx.Effect]:
    """``out`` (one webhook's effects) with each sentence that was just said dropped from the ``Say`` heard right
    after it (a ``Say`` left with nothing is dropped): "… Let's try again. If you are new to our practice, press 4 …"
    before the number prompt that also makes that offer, or the crisis offer before a prompt that ends with it, is
    heard once, first (bt14-s27 SHOULD-FIX 5). The prompts still play in the same ``Gather`` (``effects.barge_in``),
    so the keys they name work. Effects not heard are passed over, as in ``offers_where_heard``; the emergency
    guidance (``keys_only``) is never shortened."""
    heard: list[tuple[int, int | None]] = []  # (index in out, index in its Gather's prompts or None)
    for i, effect in enumerate(out):
        if isinstance(effect, fx.Say | fx.Play):
            heard.append((i, None))
        elif isinstance(effect, fx.Gather):
            heard.extend((i, k) for k in range(len(effect.prompts)))
        elif not isinstance(effect, fx.Invoke | fx.SendSms | fx.Escalate):
            heard.append((i, -1))  # a Record, Dial, Pay, Hangup: what follows is not heard right after

    def said(at: tuple[int, int | None]) -> fx.Say | fx.Play | None:
        effect = out[at[0]]
        if at[1] is None:
            return effect if isinstance(effect, fx.Say | fx.Play) else None
        return effect.prompts[at[1]] if isinstance(effect, fx.Gather) and at[1] >= 0 else None

    kept: dict[tuple[int, int | None], fx.Say | None] = {}
    for at, nxt in zip(heard, heard[1:], strict=False):
        first, second = said(at), said(nxt)
        if not isinstance(first, fx.Say) or not isinstance(second, fx.Say) or second.keys_only:
            continue
        just_said = set(_sentences(first.text))
        left = [part for part in _sentences(second.text) if part not in just_said]
        if len(left) != len(_sentences(second.text)):
            kept[nxt] = replace(second, text=" ".join(left)) if left else None
    if not kept:
        return out
    result: list[fx.Effect] = []
    for i, effect in enumerate(out):
        if isinstance(effect, fx.Gather) and any(at[0] == i for at in kept):
            prompts = [kept.get((i, k), p) for k, p in enumerate(effect.prompts)]
            result.append(replace(effect, prompts=tuple(p for p in prompts if p is not None)))
        elif (i, None) in kept:
            if kept[(i, None)] is not None:
                result.append(kept[(i, None)])  # type: ignore[arg-type]
        else:
            result.append(effect)
    return result


def guard_guidance(flows: FlowSet, out: list[fx.Effect]) -> list[fx.Effect]:
    """Every ``Say`` that speaks the practice's emergency guidance marked ``keys_only``: speech never cuts it off,
    a key still acts (``effects.barge_in``; issue 14, S7)."""
    guidance = " ".join(flows.practice.emergency_guidance.split())
    if not guidance:
        return out
    return [replace(e, keys_only=True) if isinstance(e, fx.Say) and guidance in " ".join(e.text.split()) else e
            for e in out]


def end_politely(flows: FlowSet, session: CallSession, env: StepEnv) -> tuple[CallSession, list[fx.Effect]]:
    """Stop a call that is going nowhere: apology, escalation, a chance to leave a message."""
    return _Run(flows, session.copy(), env)._limit_exit()


def adopt(flows: FlowSet, session: CallSession, effects: Iterable[Any],
          env: StepEnv) -> tuple[CallSession, list[fx.Effect]]:
    """Take on the side effects an action returned: its escalations get their priority decided here,
    like the flow's own, and a reason already handed to staff is not handed over again."""
    run = _Run(flows, session.copy(), env)
    for effect in effects:
        if isinstance(effect, fx.Escalate):
            run._escalate(effect.reason, effect.priority)
        else:
            run.out.append(effect)
    return run.s, run.out


def keep_promises(flows: FlowSet, session: CallSession, env: StepEnv) -> tuple[CallSession, list[fx.Effect]]:
    """An escalation for every callback promised so far (``callback_by`` spoken or texted) that has none.

    Run after every webhook's steps: a promise made is handed to staff in the same
    answer, whatever the caller does next.
    """
    run = _Run(flows, session.copy(), env)
    run._keep_promises()
    return run.s, run.out


_APOLOGY = re.compile(r"^\s*sorry\b[^.?!]*[.?!]\s*", re.IGNORECASE)


def without_apology(text: str) -> str:
    """A re-prompt without its leading apology sentences ("Sorry, I didn't catch that. You can say billing."
    → "You can say billing."); "" when it was only an apology."""
    while (m := _APOLOGY.match(text)) is not None:
        text = text[m.end():]
    return text.strip()


class _Run:
    def __init__(self, flows: FlowSet, s: CallSession, env: StepEnv):
        self.flows, self.s, self.env = flows, s, env
        self.out: list[fx.Effect] = []
        self._ctx: dict[str, Any] | None = None
        self._offered_now = False  # "If you are in crisis, press 9 now" said this turn: no apology after it

    # -- entry ------------------------------------------------------------
    def handle(self, event: Event) -> tuple[CallSession, list[fx.Effect]]:
        s = self.s
        if isinstance(event, CallEnded):
            if not s.ended:
                s.ended, s.end_reason = True, event.status
                # Hung up at a voicemail step: the message may still arrive (the <Record> action or
                # the recording itself comes after the status callback); the edge then takes the
                # flow on past the step (ivr.telephony.call_handler.CallHandler).  Otherwise nothing is awaited.
                if s.waiting is not Waiting.RECORDING:
                    s.waiting = Waiting.NOTHING
                s.note(f"ended:{event.status}")
            self._settle()
            return s, self.out
        if s.ended:
            if isinstance(event, RecordingFinished) and event.recording_sid:
                # A message that reached us only after the call ended (and after the flow moved on).
                if not s.vars.get("last_recording_sid"):
                    s.vars["last_recording_sid"] = event.recording_sid
                    s.note("recorded-after-end")
                self._settle()
            return s, self.out + [fx.Hangup()]
        if s.waiting is Waiting.NOTHING and s.flow:
            if isinstance(event, Digits) and s.vars.pop(OFFERED, None) == "hangup" \
                    and event.digits.strip()[:1] == self._route_key(CRISIS):
                # Pressed while the goodbye after "If you are in crisis, press 9 now" played.
                return self._to_crisis(s.step, (CrisisKind.PRESSED_KEY,))
            return s, [fx.Hangup()]
        if isinstance(event, CallStarted) or not s.flow:
            named = event.flow if isinstance(event, CallStarted) else ""
            entry = self.flows.flows.get(named) or self.flows.entry
            s.flow = entry.name
            s.entry = entry.name
            return self.go(entry.start)
        if s.step == LIMIT_STEP:
            return self._finish_limit(event)
        current = self._current()
        if current is None:
            return self._restart()
        body = current.body  # of the kind the call waits at (``_current`` checked it)
        if s.waiting is Waiting.INPUT and isinstance(body, (MenuStep, AskStep)) \
                and isinstance(event, (Digits, Speech, NoInput)):
            return self._kept_offer(*self._input(current, body, event))
        if s.waiting is Waiting.RECORDING and isinstance(body, VoicemailStep) and isinstance(event, Digits):
            return self._pressed_before_beep(current, body, event)
        if s.waiting is Waiting.RECORDING and isinstance(event, RecordingFinished):
            s.note(f"{current.id}:recorded" if event.recording_sid else f"{current.id}:no-recording")
            if event.hung_up:
                s.note(f"{current.id}:hung-up")
            if event.recording_sid:
                s.vars["last_recording_sid"] = event.recording_sid
            for name in (CRISIS, OPERATOR):
                # The message so far is kept (above); the key that ended it asks for the crisis path or a person.
                if event.digits and event.digits == self._route_key(name) and not event.hung_up:
                    if name == CRISIS:
                        return self._to_crisis(current.id, (CrisisKind.PRESSED_KEY,))
                    s.note(f"{current.id}:{name}")
                    return self._route(name)
            return self.go(current.next)
        if s.waiting is Waiting.DIAL and isinstance(body, TransferStep) and isinstance(event, Digits):
            return self._pressed_before_dial(current, body, event)
        if s.waiting is Waiting.DIAL and isinstance(body, TransferStep) and isinstance(event, DialFinished):
            return self._dialed(current, body, event)
        if s.waiting is Waiting.PAYMENT and isinstance(body, PayStep) and isinstance(event, PaymentFinished):
            if not event.succeeded:
                s.note(f"{current.id}:{event.result}")
                return self.go(body.failed)
            s.note(f"{current.id}:captured")
            # Only the token and public card details; the digits never reach us.
            s.vars["card"] = {"token": event.token, "brand": event.brand or "card", "last4": event.last4 or "",
                              "expiry": event.expiry or ""}
            return self.go(current.next)
        if s.waiting is Waiting.ACTION and isinstance(body, ActionStep) and isinstance(event, ActionDone):
            target = body.outcomes.get(event.outcome)
            if target is None:  # the action was changed by a reload while it ran
                return self._restart()
            s.note(f"{current.id}:{event.outcome}")
            self._apply_updates(event.updates)
            return self.go(target)
        # An event that does not fit what we wait for (a late or reordered request):
        # repeat what the caller should be hearing instead of guessing.
        return self._wait_at(current)

    def _current(self) -> Step | None:
        """The step the call waits at, or None when a flows reload removed it or made it another kind."""
        try:
            st = self.flows.step(self.s.flow, self.s.step)
        except KeyError:
            return None
        return st if isinstance(st.body, _WAITS_AT.get(self.s.waiting, ())) else None

    def _refuse(self, flow: Flow, st: Step) -> tuple[CallSession, list[fx.Effect]]:
        """An unverified caller reached a disclosing step: say so and hand them to a person."""
        self.s.note(f"{st.id}:refused-unverified")
        self.out.append(fx.Say(NOT_VERIFIED, *self._voice(st)))
        operator = next((h for h in flow.handlers if h.name == "operator"), None)
        if operator is not None and operator.next != st.id:
            return self.go(operator.next)
        self.out.append(fx.Hangup())
        self.s.waiting = Waiting.NOTHING
        return self.s, self.out

    def _restart(self) -> tuple[CallSession, list[fx.Effect]]:
        """The flows were reloaded under this call: start over rather than fail."""
        s = self.s
        s.note("restart:flows-changed")
        self.out.append(fx.Say(RESTART_APOLOGY, *self._voice(None)))
        s.flow = self.flows.entry.name
        return self.go(self.flows.entry.start)

    # -- walking ----------------------------------------------------------
    def go(self, target: str | None) -> tuple[CallSession, list[fx.Effect]]:
        s = self.s
        while True:
            if self._over_limit():
                return self._limit_exit()
            s.steps_taken += 1
            s.step, s.attempts, s.dial_index = target or "", 0, 0
            if s.vars.pop(CONFIRMING, None) is not None:  # a read-back belongs to the step that asked
                self._ctx = None
            flow = self.flows.flows[s.flow]
            st = flow.steps[s.step]  # KeyError for a target the flow checks let through: never
            s.note(f"{flow.name}.{st.id}")
            if flow.name == OPERATOR and st.id == flow.start:
                s.vars[PERSON_TRIED] = True
            body = st.body
            if st.needs_verified and not self.context()["caller"].get("verified"):
                # flows check proves this cannot happen; refuse anyway rather than disclose.
                return self._refuse(flow, st)
            match body:
                case SayStep():
                    self.out.append(fx.Say(self.render(body.text), *self._voice(st)))
                case PlayStep():
                    self.out.append(fx.Play(body.url))
                case SetStep():
                    for name, value in body.values:
                        s.vars[name] = self.render(value) if isinstance(value, Template) else value
                        self._ctx = None
                case BranchStep():
                    ctx = self.context()
                    target = next((c.next for c in body.cases if c.condition.evaluate(ctx)), body.otherwise)
                    continue
                case SmsStep():
                    to = s.caller if body.to == "caller" else self.context()["caller"].get("sms_to")
                    if to:
                        self.out.append(fx.SendSms(to, self.render(body.body)))
                    else:
                        s.note(f"{st.id}:no-number")
                case EscalateStep():
                    if body.say:
                        self.out.append(fx.Say(self.render(body.say), *self._voice(st)))
                    self._escalate(body.reason, body.priority)
                case GotoStep():
                    s.flow = body.flow
                    target = body.step or self.flows.flows[body.flow].start
                    continue
                case HangupStep():
                    if body.say:
                        self.out.append(fx.Say(self.render(body.say), *self._voice(st)))
                    if s.vars.pop(OFFERED, None) and self._route_key(CRISIS):
                        self.out.append(fx.prompt_keys())  # the offer and the goodbye take the crisis key
                        s.vars[OFFERED] = "hangup"
                    self.out.append(fx.Hangup())
                    s.waiting = Waiting.NOTHING
                    return s, self.out
                case MenuStep() | AskStep() | VoicemailStep() | TransferStep() | ActionStep() | PayStep():
                    return self._wait_at(st)
                case _:
                    assert_never(body)
            target = st.next

    def _wait_at(self, st: Step, reprompt: Template | str | None = None,
                 short: bool = False) -> tuple[CallSession, list[fx.Effect]]:
        """Emit what a waiting step needs (gather, record, dial, invoke) and stop."""
        s, body = self.s, st.body
        # An offer of the crisis key made on the way here is heard now (an action runs before it is).
        offered = not isinstance(body, ActionStep) and s.vars.pop(OFFERED, None) is not None
        match body:
            case MenuStep() | AskStep():
                s.waiting = Waiting.INPUT
                s.vars.pop(PERSON_TRIED, None)
                self.out.append(self._gather(st, body, reprompt, short))
            case VoicemailStep():
                s.waiting = Waiting.RECORDING
                if body.prompt:
                    self.out.append(fx.Say(self.render(body.prompt), *self._voice(st)))
                if self._recording_keys():
                    # What is said before the beep plays in a <Gather>: the crisis key or a person's works
                    # there too (``_pressed_before_beep``); with no key Twilio goes on to the <Record>.
                    self.out.append(fx.prompt_keys())
                self.out.append(self._record(body))
            case TransferStep():
                s.waiting = Waiting.DIAL
                s.vars.pop(PERSON_TRIED, None)  # someone is rung: asking again later is a new try
                if body.say and s.dial_index == 0:
                    self.out.append(fx.Say(self.render(body.say), *self._voice(st)))
                if offered and self._route_key(CRISIS):
                    self.out.append(fx.prompt_keys())  # "press 9 now" works before the ringing starts
                self.out.append(self._dial(body))
            case ActionStep():
                s.waiting = Waiting.ACTION
                self.out.append(fx.Invoke(body.name, dict(body.params)))
            case PayStep():
                connector = self.flows.practice.payment_connector
                if not connector:
                    s.note(f"{st.id}:not-configured")
                    return self.go(body.failed)
                s.waiting = Waiting.PAYMENT
                self.out.append(fx.Pay(connector, body.description, body.timeout, body.max_attempts))
            case (
                SayStep()
                | PlayStep()
                | SetStep()
                | BranchStep()
                | SmsStep()
                | EscalateStep()
                | GotoStep()
                | HangupStep()
            ):
                return self.go(st.id)  # a step that never waits: carry on from it
            case _:
                assert_never(body)
        return s, self.out

    # -- voicemail --------------------------------------------------------
    def _recording_keys(self) -> str:
        """The keys that leave a voicemail step for the crisis path or a person, besides ``#``: the flow's or the
        entry flow's handlers' (``"90"``)."""
        return "".join(k for k in (self._route_key(CRISIS), self._route_key(OPERATOR)) if k)

    def _record(self, body: VoicemailStep) -> fx.Record:
        return fx.Record(body.max_length, finish_on_key="#" + self._recording_keys())

    def _pressed_before_beep(self, st: Step, body: VoicemailStep,
                             event: Digits) -> tuple[CallSession, list[fx.Effect]]:
        """A key pressed while a voicemail's prompt played (``effects.prompt_keys``): the crisis key goes to the crisis
        path, a person's to a person, as when it ends a message. When this prompt is where asking for a person has
        just led (``PERSON_TRIED``: nobody rung, after hours), a person's key hears ``NOBODY_NOW``; any other key hears
        ``KEY_BEFORE_BEEP`` (or ``NOBODY_NOW`` there). Either way one plain sentence, then the beep: never the way here
        said again as if nothing was heard, and the message path is never lost."""
        s = self.s
        key = event.digits.strip()[:1]
        tried = bool(s.vars.get(PERSON_TRIED))
        if key and key == self._route_key(CRISIS):
            return self._to_crisis(st.id, (CrisisKind.PRESSED_KEY,))
        if key and key == self._route_key(OPERATOR) and not tried:
            s.note(f"{st.id}:{OPERATOR}")
            return self._route(OPERATOR)
        s.note(f"{st.id}:nobody-free" if tried and key == self._route_key(OPERATOR) else f"{st.id}:key-ignored")
        self.out.append(fx.Say(NOBODY_NOW if tried else KEY_BEFORE_BEEP, *self._voice(st)))
        if self._recording_keys():
            self.out.append(fx.prompt_keys())  # the crisis key still works while the sentence plays
        self.out.append(self._record(body))
        return s, self.out

    # -- menus and asks ---------------------------------------------------
    def _gather(self, st: Step, body: MenuStep | AskStep, reprompt: Template | str | None,
                short: bool = False) -> fx.Gather:
        flow = self.flows.flows[self.s.flow]
        voice = self._voice(st)
        prompts: list[fx.Say | fx.Play] = []
        if reprompt is not None:
            text = self.render(reprompt) if isinstance(reprompt, Template) else reprompt
            if self._offered_now:
                # After the crisis offer the caller never hears "Sorry, I didn't catch that": the re-prompt goes
                # on without its apology, or (nothing left) the prompt itself is said again (fix14-bt S4).
                text = without_apology(text)
                short = short and bool(text)
            if text:
                prompts.append(fx.Say(text, *voice))
        confirming = self._confirming(st)
        if confirming is not None and not short:  # a short re-prompt at a read-back says the value itself
            prompts.append(fx.Say(CONFIRM_VALUE.format(said=confirming["said"]), *voice))
        elif not short:  # a short re-prompt names the options itself
            prompts.append(fx.Say(self.render(body.prompt), *voice))
        handler_hints = tuple(p for h in self._handlers(flow) for p in h.hints)
        kind = _answer_kind(body) if confirming is None else AnswerKind.YES_NO
        heard = gather_hints(kind, voice[1] or self.flows.practice.language)
        hints = heard.hints + handler_hints
        if isinstance(body, MenuStep):
            hints = tuple(p for o in body.options for p in o.hints) + hints
        if isinstance(body, MenuStep) or kind is AnswerKind.YES_NO or body.type in (AskType.NAME, AskType.WHEN):
            num_digits, finish = 1, None  # a name or a time is said: one key is the operator or crisis key
        else:
            num_digits = body.length  # type: ignore[assignment]
            finish = None if num_digits else "#"
        return fx.Gather(tuple(prompts), num_digits=num_digits, finish_on_key=finish, hints=hints,
                         timeout=body.reprompts.timeout, language=voice[1], speech_model=heard.speech_model,
                         enhanced=heard.enhanced)

    def _input(self, st: Step, body: MenuStep | AskStep, event: Answer) -> tuple[CallSession, list[fx.Effect]]:
        s = self.s
        flow = self.flows.flows[s.flow]
        said = (
            event.digits.strip()
            if isinstance(event, Digits)
            else event.text.strip()
            if isinstance(event, Speech)
            else ""
        )
        if isinstance(event, NoInput) or not said:
            return self._retry(st, body, body.reprompts.no_input, "no-input")
        if isinstance(event, Digits) and event.early:
            s.note(DURING_GREETING)  # the next entry's key was pressed while the greeting played (bt14-s25 nit 6)
        if isinstance(event, Speech):
            # Crisis words first, whatever the recogniser's confidence: a distressed caller is never
            # told "Sorry, I didn't catch that" (docs/understanding.md, "Crisis in any words").
            heard = self._assess(event.text, st)
            if heard.is_crisis and self._can_route(CRISIS):
                return self._to_crisis(st.id, tuple(CrisisKind.heard(c) for c in heard.categories)
                                       or (CrisisKind.UNSPECIFIED,))
            if heard.offer_crisis_option and not self._flow_crisis_words(flow, event.text):
                s.note(f"{st.id}:crisis-offered")
                self.out.append(fx.Say(self._crisis_offer(), *self._voice(st)))
                self._offered_now = True
                if self._route_key(CRISIS):  # only a key can be pressed during a transfer or goodbye
                    s.vars[OFFERED] = True
        confirming = self._confirming(st) if isinstance(body, AskStep) else None
        # Written so NaN (every comparison false) and anything outside 0..1 count as no match too.
        if isinstance(event, Speech) and not flow.min_confidence <= event.confidence <= 1.0:
            if isinstance(body, AskStep) and confirming is not None:
                return self._confirmation(st, body, confirming, event, clear=False)
            if isinstance(body, AskStep) and confirming is None and body.type is not AskType.YES_NO:
                # Words for another path ("I'm new, April 15th 1985" heard unclearly) go there: they are never
                # read back as the answer, so a new client's words never count toward the verification locks
                # (review 14b finding 12).
                asked = self._global(flow, event, spoken_keys=False)
                if asked is not None and asked.name != CRISIS:
                    s.note(f"{st.id}:{asked.name}")
                    return self._take(flow, asked)
                # A value the recogniser was unsure of is read back for a yes rather than refused or guessed.
                value, hint = self._value(body, event)
                if value is not None and not str(value).startswith("pin:"):
                    return self._confirm(st, body, value)
                only = self._only_date(st, body, event) if hint else None
                if only is not None:
                    return only
            return self._retry(st, body, body.reprompts.no_match, "low-confidence")
        said_intent: IntentMatch | None = None
        if isinstance(body, MenuStep) and isinstance(event, Speech) and any(o.intent for o in body.options):
            # Say what you want: a free sentence matched to the menu's intents, before the operator's words
            # ("I want to talk to someone about my bill" is billing), details kept for the flow.
            said_intent = self._match_intent(flow, body, event.text)
            if said_intent.intent is not None:
                return self._chose_intent(st, body, said_intent)
        if isinstance(body, MenuStep) and isinstance(event, Speech) and not spoken_input.says_press(event.text):
            # A menu that reads its options as times ("tomorrow at 9 AM, press 1"): "nine", "the 11 AM" or
            # "noon" is that option, never the crisis or operator key (review 14b finding 3).
            timed = self._option_by_time(body, event.text)
            if timed is not None:
                s.note(f"{st.id}:{timed.key}")
                return self.go(timed.next)
        # A key word said ("nine", "zero") is no key where it can be the answer: "nine" to "What is a good
        # time?" is a time ("press nine" still asks for the key; crisis words were heard above).
        # At a menu that reads times, a bare "nine" that fits no option is still no key (review 14b finding 3).
        # Only words can be a key word: keys pressed skip reading the prompt's times (a parse of every
        # clock time in it, the costliest part of a menu turn).
        handler = self._global(flow, event, spoken_keys=isinstance(event, Speech) and (confirming is not None or not (
            _takes_key_words(body) or isinstance(body, MenuStep) and self._reads_times(body))))
        if handler is not None and handler.name == CRISIS:
            # The key pressed or said as a key ("press nine"), else the flow's own crisis words ("urgent").
            pressed = not isinstance(event, Speech) or spoken_input.spoken_key(event.text) == handler.key
            # The flow's own handler goes to its own step; one inherited from the entry flow (a flow with no
            # crisis handler of its own, bt14-s24 blocker 2) goes the entry flow's way.
            own = any(h is handler for h in flow.handlers)
            return self._to_crisis(st.id, (CrisisKind.PRESSED_KEY if pressed else CrisisKind.UNSPECIFIED,),
                                   handler.next if own else None)
        if handler is not None:
            s.note(f"{st.id}:{handler.name}")
            return self._take(flow, handler)
        if isinstance(body, MenuStep):
            chosen = self._choose(body, event)
            if chosen is None and isinstance(event, Speech) and not any(o.intent for o in body.options) \
                    and not any(spoken_input.match_phrase(event.text, [("o", o.phrases)]) for o in body.options):
                # An option named in the prompt's own words ("choose again", "none of these work"), finding 5.
                key = spoken_input.option_echoed(self.render(body.prompt), event.text,
                                                 {o.key for o in body.options if o.key})
                chosen = next((o for o in body.options if key and o.key == key), None)
            wished = (chosen is None or not chosen.wish and self._elsewhere(body, chosen, event)) \
                and self._wish(body, event)
            if wished:
                # A day or time said on its own at an offer ("how about Thursday"): the option that takes a wish,
                # the words kept as where the caller wants to go (fix14-left finding 4).
                chosen = next(o for o in body.options if o.wish)
            two_keys = self._two_keys(flow, body, event) if chosen is None else None
            if two_keys is not None:
                return self._retry(st, body, two_keys, "two-keys", short=True)
            if chosen is None and said_intent is not None:
                return self._retry(st, body, self._name_options(flow, body, said_intent), "no-match", short=True)
            if chosen is None and s.attempts % 2:
                # Missed again right after a re-prompt: the options in fewer words, never the same turn twice.
                return self._retry(st, body, self._keys_left(flow, body, event), "no-match", short=True)
            if chosen is None:
                return self._retry(st, body, body.reprompts.no_match, "no-match")
            if chosen.intent and s.vars.pop(REQUEST, None) is not None:
                self._ctx = None  # a key chosen now replaces what an earlier sentence asked for
            self._keep_said(event, wish=chosen.wish)
            s.note(f"{st.id}:{chosen.key or chosen.phrases[0]}" + (":wish" if wished else ""))
            return self.go(chosen.next)
        if confirming is not None and isinstance(body, AskStep):
            return self._confirmation(st, body, confirming, event, clear=True)
        return self._answer(st, body, event)

    def _answer(self, st: Step, body: AskStep, event: Digits | Speech) -> tuple[CallSession, list[fx.Effect]]:
        """The caller's answer to an ask: stored, or asked again (naming what is missing when known)."""
        value, hint = self._value(body, event)
        if body.wish:
            # "not tomorrow, how about Friday afternoon" at an offer's confirmation: a no, and a new wish kept in
            # vars.said as at the offers; a plain answer clears an older one (bt14 s24 nit 7)
            self._keep_said(event, wish=True)
            if value is not True and SAID in self.s.vars and self._wish_said(self.s.vars[SAID]):
                self.s.note(f"{st.id}:wish")
                return self._store(st, body, False)
            self.s.vars.pop(SAID, None)
        if value is None:
            only = self._only_date(st, body, event) if hint else None
            if only is not None:
                return only
            return self._retry(st, body, hint or self._no_match(body), "ambiguous" if hint else "invalid")
        return self._store(st, body, value)

    def _date_reading(self, body: AskStep, event: Digits | Speech) -> Reading[dt.date]:
        """A date ask's answer read for its purpose (a birth date for ``past_only``), today in the practice's zone."""
        today = self.env.now.astimezone(self.flows.practice.tz).date()
        purpose = DatePurpose.BIRTH if body.past_only else DatePurpose.ANY
        if isinstance(event, Digits):
            return parse_keyed_date(event.digits, today=today, purpose=purpose)
        return parse_date(event.text, today=today, purpose=purpose)

    def _fitting_dates(self, body: AskStep, reading: Reading[dt.date]) -> list[dt.date]:
        """The dates a reading offers (its value, or its candidates) that the ask can take: from 1900, and not in the
        future for ``past_only``."""
        today = self.env.now.astimezone(self.flows.practice.tz).date()
        return [d for d in reading.options() if d.year >= 1900 and not (body.past_only and d > today)]

    def _one_date(self, body: AskStep, event: Digits | Speech) -> str | None:
        """The one whole date (ISO) of an answer that splits two ways where only one way is a date that fits the ask
        ("five twenty oh five": May 20, 2005, or May 2005 with its day lost; "oh three nineteen ninety two"); None for
        any other answer."""
        if body.type is not AskType.DATE:
            return None
        if body.allow_pin and isinstance(event, Speech) and spoken_pin(event.text) is not None:
            return None  # a PIN said is never read back as a date
        reading = self._date_reading(body, event)
        if not reading.ambiguous or reading.why not in (Why.ORDER, Why.TWO_DIGIT_YEAR):
            return None
        fits = self._fitting_dates(body, reading)
        return fits[0].isoformat() if len(fits) == 1 else None

    def _only_date(self, st: Step, body: AskStep, event: Digits | Speech) -> tuple[CallSession, list[fx.Effect]] | None:
        """``_one_date`` read back for a yes, as a value heard unclearly is (docs/understanding.md, Wiring 2 and 4):
        never refused as if no date fitted, nor taken unasked. None when the answer has no such date."""
        only = self._one_date(body, event)
        return self._confirm(st, body, only) if only is not None else None

    @staticmethod
    def _no_match(body: AskStep) -> Template | str:
        """The step's re-prompt for an answer of the wrong kind; at a phone ask left with the default one, what to do
        (``ASK_PHONE_NOT_HEARD``), never "Sorry, I didn't catch that." alone."""
        if body.type is AskType.PHONE and body.reprompts.no_match.source == DEFAULT_NO_MATCH:
            return ASK_PHONE_NOT_HEARD
        return body.reprompts.no_match

    @staticmethod
    def _wish_said(said: Any) -> bool:
        """Whether ``vars.said`` names where to look (a day or time wanted or ruled out)."""
        return isinstance(said, dict) and any(said.get(k) for k in ("to_day", "to_time", "not_day", "not_time"))

    def _confirmation(self, st: Step, body: AskStep, confirming: dict[str, Any], event: Digits | Speech,
                      clear: bool) -> tuple[CallSession, list[fx.Effect]]:
        """The answer to a read-back (``_confirm``); ``clear`` is False when the recogniser was unsure of it.

        A yes stores the value (a yes heard unclearly is asked again by key, never taken as a yes or as no
        answer at all); a no asks the question again, counted as a try so the read-back cannot loop for
        ever (then the step's give_up); another value of the kind asked for ("no, April 16th") is the
        caller's correction: read back in its turn (typed on the keypad, it is taken like any typed answer).
        """
        s = self.s
        answer = self._yes_no(event)
        typed_again = isinstance(event, Digits) and len(event.digits.strip("#*")) > 1
        value, hint = self._value(body, event) if isinstance(event, Speech) or typed_again else (None, None)
        if value is None and hint and isinstance(event, Speech):
            value = self._one_date(body, event)  # "no, five twenty oh five": read back in its turn, a try like any
        # A yes is never a correction ("correct" is no name); a lone "one" is the key, not another value.
        corrected = answer is not True and value is not None and value != confirming["value"] and len(str(value)) > 1
        if typed_again or corrected or (answer is not True and value is None and hint):
            s.vars.pop(CONFIRMING, None)
            self._ctx = None
            s.note(f"{st.id}:corrected")
            if typed_again:
                return self._answer(st, body, event)
            if value is None:
                return self._retry(st, body, hint or body.reprompts.no_match, "ambiguous")
            s.attempts += 1  # a read-back answered with another value is a try too: it cannot go round for ever
            if s.attempts > body.reprompts.retries:
                s.note(f"{st.id}:give-up")
                return self.go(body.reprompts.give_up)
            return self._confirm(st, body, value)
        if answer is None and value is not None:
            answer = True  # the same value said again
        if answer is None or (not clear and answer):
            said = confirming["said"]
            reprompt = CONFIRM_UNCLEAR.format(said=said) if answer is None else CONFIRM_BY_KEY.format(said=said)
            return self._retry(st, body, reprompt, "confirm-no-match" if answer is None else "confirm-unclear",
                               short=True)
        s.vars.pop(CONFIRMING, None)
        self._ctx = None
        if not answer:
            return self._retry(st, body, CONFIRM_AGAIN, "not-confirmed")
        s.note(f"{st.id}:confirmed")
        return self._store(st, body, confirming["value"], confirmed=True)

    def _store(self, st: Step, body: AskStep, value: Any,
               confirmed: bool = False) -> tuple[CallSession, list[fx.Effect]]:
        read_back = [v for v in self.s.vars.get(READ_BACK) or [] if v != body.var]
        if confirmed:
            read_back.append(body.var)
        if read_back or READ_BACK in self.s.vars:
            self.s.vars[READ_BACK] = read_back
        self.s.vars[body.var] = value
        self._ctx = None
        # A yes/no answer is noted as what it was, so staff read a refused read-back as "said no" (bt14 s24 nit 6).
        said = ("yes" if value else "no") if body.type is AskType.YES_NO and isinstance(value, bool) else "ok"
        self.s.note(f"{st.id}:{said}")
        return self.go(st.next)

    def _confirming(self, st: Step) -> dict[str, Any] | None:
        """The value waiting for the caller's yes at this step, if any."""
        pending = self.s.vars.get(CONFIRMING)
        return pending if isinstance(pending, dict) and pending.get("step") == st.id else None

    def _confirm(self, st: Step, body: AskStep, value: Any) -> tuple[CallSession, list[fx.Effect]]:
        """Read ``value`` back and wait for the caller's answer (``_confirmation``): a yes stores it."""
        said = (spoken_calendar_date(dt.date.fromisoformat(value)) if body.type is AskType.DATE
                else spoken_digits(value) if body.type is AskType.DIGITS
                else spoken_phone(value, self.flows.practice.phone_region) if body.type is AskType.PHONE
                else str(value))
        self.s.vars[CONFIRMING] = {"step": st.id, "value": value, "said": said}
        self._ctx = None
        self.s.note(f"{st.id}:confirm")
        return self._wait_at(st)

    def _match_intent(self, flow: Flow, body: MenuStep, text: str) -> IntentMatch:
        options = [IntentOption(o.intent, o.key, o.phrases) for o in body.options if o.intent]
        operator = next((h for h in self._handlers(flow) if h.name == OPERATOR), None)
        if operator is not None and not any(o.intent == OPERATOR for o in options):
            options.append(IntentOption(OPERATOR, operator.key, operator.phrases))
        return match_intent(text, options, language=self._voice(None)[1] or "en")

    def _wish(self, body: MenuStep, event: Digits | Speech) -> bool:
        """Whether a menu with an option that takes a wish heard a day or time on its own, as where to go."""
        if not isinstance(event, Speech) or not any(o.wish for o in body.options):
            return False
        details = request_details(event.text, action=(self.s.vars.get(REQUEST) or {}).get("action"))
        # "not Wednesday", "anything but mornings": a day or time ruled out is a wish against it (fix14-left2 item 2)
        return any(k in details for k in ("to_day", "to_time", "day", "time", "from_day", "from_time", "not_day",
                                          "not_time"))

    def _elsewhere(self, body: MenuStep, chosen: MenuOption, event: Digits | Speech) -> bool:
        """Whether words that chose an option ("the first one") also name a day the option's offer is not on
        ("the first one on Wednesday" when the first is tomorrow): then they are a wish, not that option."""
        if not isinstance(event, Speech):
            return False
        said = self._days(event.text)
        if not said:
            return False
        offered = [segment for segment, key in _PRESS_KEY.findall(self.render(body.prompt)) if key == chosen.key]
        return bool(offered) and not any(said & self._days(segment) for segment in offered)

    def _keep_said(self, event: Digits | Speech, wish: bool = False) -> None:
        """The days and times said with a menu choice, in vars.said (none: removed), and added to vars.request
        where it names none of its own: "move it to next Wednesday" after "reschedule" narrows the offers.
        At an option that takes a wish, a day or time said plainly ("Thursday") is where the caller wants to go."""
        self._ctx = None
        details = request_details(event.text, action=(self.s.vars.get(REQUEST) or {}).get("action")) \
            if isinstance(event, Speech) else {}
        if wish:  # at an offer, "Thursday" and "the one on Thursday" are where to go
            for said in ("day", "time", "from_day", "from_time"):
                if said in details:
                    details.setdefault("to_" + said.removeprefix("from_"), details.pop(said))
        if not details:
            self.s.vars.pop(SAID, None)
            return
        self.s.vars[SAID] = details
        request = self.s.vars.get(REQUEST)
        request = dict(request) if isinstance(request, dict) else {}
        if not any(key in request for key in ("to_day", "to_time")):
            request.update({k: v for k, v in details.items() if k in ("to_day", "to_time", "not_day", "not_time")})
            self.s.vars[REQUEST] = request

    def _chose_intent(self, st: Step, body: MenuStep, said: IntentMatch) -> tuple[CallSession, list[fx.Effect]]:
        """Go where the intent's option goes, the request (its action, day and time words) kept in vars.request."""
        s = self.s
        s.vars[REQUEST] = {k: v for k, v in {"intent": said.intent, "action": said.action, **said.details}.items()
                             if v}
        self._ctx = None
        s.note(f"{st.id}:{said.intent}" + (f"/{said.action}" if said.action else ""))
        option = next((o for o in body.options if o.intent == said.intent), None)
        if option is None:  # the flow's operator handler, added to the intents above
            return self._route(OPERATOR)
        return self.go(option.next)

    def _name_options(self, flow: Flow, body: MenuStep, said: IntentMatch) -> str:
        """A shorter re-prompt after a sentence that matched no intent, naming the options; a different
        sentence each time (the words, then the keys), never the menu read out again."""
        named = [o for intent in said.name_options for o in body.options if o.intent == intent]
        words = [o.phrases[0] for o in named if o.phrases]
        urgent = self._urgent_option()
        if said.tied and len(words) > 1:
            return f"Did you mean {_either(words, 'or')}? Please say just one.{urgent}"
        operator = next((h for h in self._handlers(flow) if h.name == OPERATOR and h.key), None)
        person = f" Or press {operator.key} to speak with someone." if operator is not None else ""
        keyed = [f"{o.key} for {o.phrases[0]}" for o in named if o.key and o.phrases]
        if self.s.attempts % 2 == 0 or not keyed:
            return f"Sorry, I didn't catch that. You can say {_either(words, 'or')}.{person}{urgent}"
        return f"You can also press a key: {_either(keyed, 'and')}.{person}{urgent}"

    def _two_keys(self, flow: Flow, body: MenuStep, event: Digits | Speech) -> str | None:
        """"press 12" where 1 and 2 are both choices (options or a person/crisis key): which one, asked rather
        than guessed; None when fewer than two of the keys said are choices."""
        if not isinstance(event, Speech) or self._reads_times(body) and not spoken_input.says_press(event.text):
            return None  # "twelve" at a menu of times is a time (review 14b finding 3)
        choices = {o.key for o in body.options if o.key} | {h.key for h in self._handlers(flow) if h.key}
        keys = [k for k in spoken_input.keys_said(event.text) if k in choices]
        if len(keys) < 2:
            return None
        return f"Did you mean {_either(keys, 'or')}? Please press just one key.{self._urgent_option()}"

    def _keys_left(self, flow: Flow, body: MenuStep, event: Digits | Speech) -> str:
        """A shorter re-prompt after a second miss at a menu (a wrong key, words that match nothing): the
        options by key, a person, and the crisis option as it works in this call."""
        keyed = [f"{o.key} for {o.phrases[0]}" if o.phrases else o.key for o in body.options if o.key]
        said = [o.phrases[0] for o in body.options if not o.key and o.phrases]
        lead = "Sorry, that key is not one of the choices." if isinstance(event, Digits) else \
            "Sorry, I still didn't catch that."
        choices = f" You can press {_either(keyed, 'or')}." if keyed else ""
        choices += f" Or say {_either(said, 'or')}." if said else ""
        operator = next((h for h in self._handlers(flow) if h.name == OPERATOR and h.key), None)
        person = f" To speak with someone, press {operator.key}." if operator is not None else ""
        return f"{lead}{choices}{person}{self._urgent_option()}"

    def _urgent_option(self) -> str:
        """The crisis option as it works in this call, for every shorter re-prompt (a menu never stops naming
        it): " For urgent support, press 9.", else " For urgent support, say crisis.", else nothing."""
        key = self._route_key(CRISIS)
        if key:
            return f" For urgent support, press {key}."
        return " For urgent support, say crisis." if self._can_route(CRISIS) else ""

    def _said_differently(self, st: Step, body: MenuStep | AskStep, message: Template | str,
                          why: str) -> tuple[str, bool]:
        """The re-prompt for the same miss twice in a row at ``st``, so the caller never hears the same turn again
        (bt14-s27 SHOULD-FIX 5): at a menu the options by key (``_keys_left``), at an ask the re-prompt without its
        apology ("Please say just your first name, or spell it."), then the prompt. (re-prompt, short)."""
        if isinstance(body, MenuStep):
            flow = self.flows.flows[self.s.flow]
            words = self._keys_left(flow, body, Speech("", 1.0))
            if why == "no-input":
                words = words.replace("Sorry, I still didn't catch that.", "Sorry, I still didn't hear anything.", 1)
            return words, True
        text = self.render(message) if isinstance(message, Template) else message
        return without_apology(text), False

    def _retry(self, st: Step, body: MenuStep | AskStep, message: Template | str,
               why: str, short: bool = False) -> tuple[CallSession, list[fx.Effect]]:
        s = self.s
        s.attempts += 1
        again = bool(s.history) and s.history[-1] == f"{st.id}:{why}"
        s.note(f"{st.id}:{why}")
        if again and not short:
            message, short = self._said_differently(st, body, message, why)
        if s.attempts > body.reprompts.retries:
            s.note(f"{st.id}:give-up")
            return self.go(body.reprompts.give_up)
        s.steps_taken += 1
        if self._over_limit():
            return self._limit_exit()
        return self._wait_at(st, reprompt=message, short=short)

    def _assess(self, text: str, st: Step) -> crisis_words.CrisisAssessment:
        """Grade what the caller said at ``st`` for crisis words in the step's language (the flow checks
        refuse a language with no phrase list; English is the fallback rather than no check at all)."""
        language = self._voice(st)[1] or "en"
        try:
            return crisis_words.assess(text, language)
        except crisis_words.UnsupportedLanguage:
            return crisis_words.assess(text, "en")

    def _handler(self, name: str) -> tuple[Flow, GlobalHandler] | None:
        """The flow's own ``name`` handler, else the entry flow's: crisis and a person are reachable from
        every prompt, also in flows (callback, operator) that declare no globals."""
        for flow in (self.flows.flows.get(self.s.flow), self._call_entry(), self.flows.entry):
            handler = next((h for h in flow.handlers if h.name == name), None) if flow else None
            if flow is not None and handler is not None:
                return flow, handler
        return None

    def _kept_offer(self, s: CallSession, out: list[fx.Effect]) -> tuple[CallSession, list[fx.Effect]]:
        """The crisis offer in the words that hold where it plays (``offers_where_heard``)."""
        return s, heard_once(offers_where_heard(out))

    def _crisis_offer(self) -> str:
        """The crisis option as it works in this call: its key, else the word (crisis words always route),
        else, with no crisis path at all, the practice's emergency guidance. Never a key that does nothing."""
        key = self._route_key(CRISIS)
        if key:
            return CRISIS_OFFER.format(key=key)
        if self._can_route(CRISIS):
            return CRISIS_OFFER_SAY
        return self.flows.practice.emergency_guidance

    def _route_key(self, name: str) -> str | None:
        found = self._handler(name)
        return found[1].key if found else None

    def _can_route(self, name: str) -> bool:
        return self._handler(name) is not None or name in self.flows.flows

    def _to_crisis(self, step_id: str, kinds: tuple[CrisisKind, ...],
                   target: str | None = None) -> tuple[CallSession, list[fx.Effect]]:
        """Go to the crisis path from ``step_id`` (``target``: the handler's next step, else ``_route``), keeping
        the kind heard for staff: ``vars.crisis_kind`` holds the most urgent of the call (``crisis_kind.graver``),
        ``vars.crisis_kinds_heard`` every kind heard, in order (the escalation's timeline names them). Only the kind:
        never the words it was heard in."""
        s = self.s
        s.note(f"{step_id}:{CRISIS}")
        kept = s.vars.get(CRISIS_KIND)
        for kind in kinds:
            kept = crisis_kind.graver(kept, kind)
        if kept is not None:
            s.vars[CRISIS_KIND] = crisis_kind.CrisisKind(kept).value
        heard = list(s.vars.get(crisis_kind.HEARD_VAR) or [])
        s.vars[crisis_kind.HEARD_VAR] = heard + [k.value for k in kinds if k.value not in heard]
        return self.go(target) if target is not None else self._route(CRISIS)

    def _route(self, name: str) -> tuple[CallSession, list[fx.Effect]]:
        """Go where the ``name`` handler (crisis, operator) goes; a flow named ``name`` when no flow has one."""
        found = self._handler(name)
        if name == OPERATOR:
            self.s.vars[PERSON_TRIED] = True
        if found is not None:
            flow, handler = found
            self.s.flow = flow.name
            return self.go(handler.next)
        self.s.flow = name
        return self.go(self.flows.flows[name].start)

    def _flow_crisis_words(self, flow: Flow, text: str) -> bool:
        """Whether the caller said the flow's own crisis words ("urgent"), which go to its crisis handler
        below, so offering the crisis option first would only delay it."""
        return any(h.name == CRISIS and spoken_input.match_phrase(text, [(h.name, h.phrases)]) for h in flow.handlers)

    def _global(self, flow: Flow, event: Digits | Speech, spoken_keys: bool = True) -> GlobalHandler | None:
        """The flow's operator or crisis handler if the caller asked for it (crisis comes first and wins).

        ``spoken_keys``: a key said as a bare word ("nine") counts; when False only a key pressed or
        said with its verb ("press nine") does.
        """
        handlers = self._handlers(flow)
        if isinstance(event, Speech):
            for handler in handlers:
                # The built-in crisis words are crisis.assess's (checked before this); a flow's own still count.
                phrases = handler.phrases if handler.name != CRISIS else tuple(
                    p for p in handler.phrases if p not in DEFAULT_CRISIS_PHRASES)
                if spoken_input.match_phrase(event.text, [(handler.name, phrases)]):
                    return handler
            key = spoken_input.spoken_key(event.text)  # "nine", "press zero"
            if not spoken_keys and not spoken_input.says_press(event.text):
                key = None
        else:
            key = event.digits.strip("#")
        return next((h for h in handlers if h.key and h.key == key), None)

    def _handlers(self, flow: Flow) -> tuple[GlobalHandler, ...]:
        """The handlers that act at ``flow``'s prompts: its own, then the entry flow's crisis and operator for a
        name it does not declare. The greeting's "press 9 at any time" is the practice's promise, kept in every
        flow the call reaches, also one an owner wrote without ``globals`` (bt14-s24 blocker 2); ``flows check``
        refuses a reachable prompt that gives the promised key another use."""
        entry = self._call_entry()
        if entry is flow:
            return tuple(flow.handlers)
        own = {h.name for h in flow.handlers}
        keys = {h.key for h in flow.handlers if h.key}
        return tuple(flow.handlers) + tuple(h for h in entry.handlers if h.name in (CRISIS, OPERATOR)
                                            and h.name not in own and not (h.key and h.key in keys))

    def _call_entry(self) -> Flow:
        """The flow this call started at (``CallSession.entry``): its crisis and operator keys are the ones a flow
        without its own inherits.  An outbound call never inherits the practice line's operator, whose person
        would name the practice to whoever answered.  The practice's entry flow for a call stored before."""
        return self.flows.flows.get(self.s.entry) or self.flows.entry

    def _take(self, flow: Flow, handler: GlobalHandler) -> tuple[CallSession, list[fx.Effect]]:
        """Go where ``handler`` goes: a step of ``flow`` for its own, the entry flow's path for one it inherits."""
        if any(h is handler for h in flow.handlers):
            if handler.name == OPERATOR:
                self.s.vars[PERSON_TRIED] = True
            return self.go(handler.next)
        return self._route(handler.name)

    def _reads_times(self, body: MenuStep) -> bool:
        """Whether the menu's prompt reads clock times, so a number word said there is a time, not a key."""
        return any(parse_time(m.words).ok or parse_time(m.words).ambiguous
                   for m in time_mentions(self.render(body.prompt)))

    def _option_by_time(self, body: MenuStep, text: str) -> MenuOption | None:
        """The option whose time, read in the menu's prompt just before "press <key>", the caller said;
        None when the prompt reads no times, the words are no time, or they fit no option or several."""
        said = parse_time(text)
        wanted = {t.at for t in said.options() if t.at is not None and t.bound is Bound.AT}
        if not wanted:
            return None
        days = self._days(text)
        fitting = set()
        for segment, key in _PRESS_KEY.findall(self.render(body.prompt)):
            if any(t.at in wanted for m in time_mentions(segment) for t in parse_time(m.words).options()) \
                    and (not days or days & self._days(segment)):
                fitting.add(key)  # "Thursday at 9" is no 9 AM offered on another day (fix14-left finding 4)
        chosen = [o for o in body.options if o.key in fitting]
        return chosen[0] if len(chosen) == 1 else None

    def _days(self, text: str) -> set[dt.date]:
        """Every day the days said in ``text`` may mean (a stretch: each of its days)."""
        tz = self.flows.practice.tz
        out: set[dt.date] = set()
        for mention in day_mentions(text):
            for span in parse_day(mention.words, now=self.env.now, tz=tz).options():
                out.update(span.first + dt.timedelta(days=n) for n in range(min((span.last - span.first).days, 62) + 1))
        return out

    def _choose(self, body: MenuStep, event: Digits | Speech) -> MenuOption | None:
        key: str | None
        if isinstance(event, Digits):
            key = event.digits.strip("#")
        else:
            name = spoken_input.match_phrase(event.text, [(str(i), o.phrases) for i, o in enumerate(body.options)])
            if name is not None:
                return body.options[int(name)]
            key = spoken_input.spoken_key(event.text)
        return next((o for o in body.options if key and o.key == key), None)

    def _yes_no(self, event: Digits | Speech) -> bool | None:
        """A yes or a no by key (1, 2) or in words ("yeah that's me", "nope", "press one"); None when unclear."""
        if isinstance(event, Digits):
            return _YES_NO_KEYS.get(event.digits.strip("#"))
        reading = parse_yes_no(event.text)
        if reading.ok:
            return reading.value
        return _YES_NO_KEYS.get(spoken_input.spoken_key(event.text) or "")  # "press one" is pressing 1

    def _when(self, text: str) -> str | None:
        """The time and day words of a best-time answer, and nothing else ("mornings, I've been feeling
        depressed" → "mornings"; review 14b finding 11): it is a note for staff, so any answer does, and one
        with no time in it ("doesn't matter", "I'm not sure") is "any time" (finding 10)."""
        words = spoken_words(text)
        if not words:
            return None
        kept: dict[int, str] = {}
        for m in [*time_mentions(text), *day_mentions(text)]:
            kept.update({i: words[i] for i in range(m.start, m.end)})
        for i, word in enumerate(words):
            if word in _WHEN_WORDS:
                kept[i] = word
            if word in ("until", "till", "til") and i + 1 < len(words) and parse_time(words[i + 1]).ok:
                kept.update({i: "before", i + 1: words[i + 1]})  # "until five" is before five
        said = f" {' '.join(words)} "
        notes = [note for phrase, note in _WHEN_PHRASES if f" {phrase} " in said]
        if not kept and not notes and len(words) <= 3 and parse_time(text).ok:
            kept = dict(enumerate(words))  # "four", "ten thirty"
        found = " ".join([kept[i] for i in sorted(kept)] + [n for n in dict.fromkeys(notes) if n not in kept.values()])
        return found or "any time"

    def _value(self, body: AskStep, event: Digits | Speech) -> tuple[Any, str | None]:
        """The answer as a value, or (None, a re-prompt naming what is missing, or None for the step's own)."""
        text = event.digits if isinstance(event, Digits) else event.text
        if body.type is AskType.YES_NO:
            answer = self._yes_no(event)
            if answer is None and isinstance(event, Speech):
                # "keep it" / "cancel it" at "To cancel …, press 1 or say yes. To keep it, press 2." (finding 5)
                key = spoken_input.option_echoed(self.render(body.prompt), event.text, _YES_NO_KEYS)
                answer = _YES_NO_KEYS.get(key or "")
            return answer, None
        if body.type is AskType.NAME:
            return (parse_first_name(text).value if isinstance(event, Speech) else None), None
        if body.type is AskType.WHEN:
            return (self._when(text) if isinstance(event, Speech) else None), None
        if body.type is AskType.PHONE:
            if isinstance(event, Speech) and says_own_number(text):
                # "this number", "the number I'm calling from": the caller ID, read back like any number said
                return (self.s.caller, None) if self.s.caller else (None, ASK_PHONE_NO_CALLER_ID)
            number = parse_phone(text.strip("#*") if isinstance(event, Digits) else text,
                                 region=self.flows.practice.phone_region)
            if number.why is Why.WRONG_LENGTH:
                return None, ASK_PHONE_AGAIN
            if number.why is Why.SEVERAL:
                return None, ASK_DIGITS_ONCE
            if number.why is Why.EXTENSION:
                return None, ASK_PHONE_EXTENSION
            return number.value, None
        if body.type is AskType.DATE:
            if body.allow_pin and isinstance(event, Digits) and text.startswith("*"):
                pin = text.strip("*#")
                return (f"pin:{pin}" if pin.isdigit() and 4 <= len(pin) <= 8 else None), None
            if body.allow_pin and isinstance(event, Speech) and (said_pin := spoken_pin(text)) is not None:
                # "star two four six eight", "my PIN is 2468": a PIN, never graded as a date of birth
                return (f"pin:{said_pin.value}", None) if said_pin.ok else (None, ASK_PIN_AGAIN)
            reading = self._date_reading(body, event)
            if reading.ambiguous:
                fits = self._fitting_dates(body, reading)
                if reading.why is Why.ORDER and len(fits) > 1:  # a refusal naming each reading
                    return None, ASK_WHICH_DATE.format(dates=_either([spoken_calendar_date(d) for d in fits], "or"))
                return None, _DATE_REPROMPTS.get(reading.why or Why.SEVERAL, ASK_DATE_AGAIN)
            day = reading.value
            if not reading.ok or day is None or not self._fitting_dates(body, reading):
                return None, None
            return day.isoformat(), None
        if isinstance(event, Digits):
            digits: str | None = text.strip("#")
        elif body.length == 1 and spoken_input.one_key(text) is not None:
            digits = spoken_input.one_key(text)  # one key asked for: "press 55", "fifty five" are 5 (finding 2)
        else:
            heard = parse_digits(text, length=body.length)
            if heard.why is Why.WRONG_LENGTH and body.length:
                return None, ASK_DIGITS_AGAIN.format(length=body.length)
            if heard.why is Why.SEVERAL:
                return None, ASK_DIGITS_ONCE
            digits = heard.value if heard.ok else None
        if not digits or not digits.isdigit():
            return None, None
        if body.length is not None and len(digits) != body.length:
            return None, None
        if body.min_length is not None and len(digits) < body.min_length:
            return None, None
        if body.max_length is not None and len(digits) > body.max_length:
            return None, None
        if body.pattern is not None and not re.fullmatch(body.pattern, digits):
            return None, None
        return digits, None

    # -- transfers --------------------------------------------------------
    def _dial(self, body: TransferStep) -> fx.Dial:
        numbers = self._numbers(body)
        if body.mode is DialMode.SEQUENTIAL:
            numbers = numbers[self.s.dial_index:self.s.dial_index + 1]
        # One staff key may stand for several people on call: they ring together.
        return fx.Dial(tuple(n for group in numbers for n in group), body.timeout)

    def _pressed_before_dial(self, st: Step, body: TransferStep,
                             event: Digits) -> tuple[CallSession, list[fx.Effect]]:
        """A key pressed while "If you are in crisis, press 9 now" played before a transfer: the crisis key goes
        to the crisis path; any other key is ignored and the transfer rings."""
        key = event.digits.strip()[:1]
        if key and key == self._route_key(CRISIS):
            return self._to_crisis(st.id, (CrisisKind.PRESSED_KEY,))
        self.s.note(f"{st.id}:key-ignored")
        self.out.append(self._dial(body))
        return self.s, self.out

    def _numbers(self, body: TransferStep) -> list[tuple[str, ...]]:
        """The numbers to ring for each of the step's ``to`` keys, in order."""
        staff = {m.key: m for m in self.flows.practice.staff}
        out: list[tuple[str, ...]] = []
        for who in body.to:
            member = staff.get(who)
            if member is None:
                out.append((who,))
                continue
            roster = member.roster
            live = tuple(self.env.on_call(roster)) if roster and self.env.on_call else ()
            out.append(live or (member.phone_e164,))
        return out

    def _dialed(self, st: Step, body: TransferStep, event: DialFinished) -> tuple[CallSession, list[fx.Effect]]:
        s = self.s
        if event.answered:
            s.note(f"{st.id}:answered")
            s.waiting = Waiting.NOTHING
            return s, [fx.Hangup()]
        s.note(f"{st.id}:{event.status}")
        if body.mode is DialMode.SEQUENTIAL and s.dial_index + 1 < len(body.to):
            s.dial_index += 1
            return self._wait_at(st)
        return self.go(st.next)

    # -- limits -----------------------------------------------------------
    def _over_limit(self) -> bool:
        s = self.s
        if s.steps_taken >= self.env.max_steps:
            return True
        started = dt.datetime.fromisoformat(s.started_at)
        return (self.env.now - started).total_seconds() > self.env.max_call_seconds

    def _limit_exit(self) -> tuple[CallSession, list[fx.Effect]]:
        s = self.s
        s.note("limit:exceeded")
        s.step, s.waiting = LIMIT_STEP, Waiting.RECORDING
        voice = self._voice(None)
        self.out.append(fx.Say(LIMIT_APOLOGY, *voice))
        self._escalate("call_limit")
        self.out.append(fx.Record(120))
        return s, self.out

    def _finish_limit(self, event: Event) -> tuple[CallSession, list[fx.Effect]]:
        s = self.s
        s.waiting = Waiting.NOTHING
        s.note("limit:voicemail")
        return s, [fx.Say(LIMIT_THANKS, *self._voice(None)), fx.Hangup()]

    # -- helpers ----------------------------------------------------------
    def _voice(self, st: Step | None) -> tuple[str | None, str | None]:
        flow = self.flows.flows.get(self.s.flow)
        practice = self.flows.practice
        voice = (st and st.voice) or (flow and flow.voice) or practice.voice
        language = (st and st.language) or (flow and flow.language) or practice.language
        return voice, language

    def _apply_updates(self, updates: Any) -> None:
        for key, value in dict(updates).items():
            self.s.vars[key] = value
        self._ctx = None

    def _callback_by(self, reason: str) -> dt.datetime:
        """When someone will call back about ``reason``: the first time it is asked, the deadline due from
        now is promised and kept in ``vars.promised``; after that the same moment every time.

        Promised when first spoken (or when the escalation is emitted, whichever is first), so what
        the caller hears and the deadline the escalation job gives staff are the same moment, even
        when the escalation comes from an action rather than an escalate step.
        """
        practice = self.flows.practice
        promised = dict(self.s.vars.get("promised") or {})
        stored = promised.get(str(reason))
        if stored:
            try:
                return dt.datetime.fromisoformat(stored).astimezone(practice.tz)
            except (TypeError, ValueError):
                pass
        deadline = promise(practice, str(reason), self.env.now)
        promised[str(reason)] = deadline.isoformat()
        self.s.vars["promised"] = promised
        return deadline

    def _promise(self, reason: str) -> None:
        """Record the callback deadline of an escalation being emitted (the first promise stands)."""
        self._callback_by(reason)
        self._ctx = None

    def _escalate(self, reason: str, requested: Any = None) -> None:
        """Hand the call to staff for ``reason``, once per call, at the priority decided here.

        The priority is the more urgent of ``requested`` (the step's) and the reason's policy
        (``ivr.core.escalation_policy``, pure, with the practice's overrides), so the queue the
        web picks and the row the worker writes agree.
        """
        s = self.s
        self._promise(reason)
        if reason in s.escalated:
            return
        priority = decide_priority(self.flows.practice, reason, requested)
        s.escalated[reason] = priority.value
        self.out.append(fx.Escalate(reason, priority))

    def _keep_promises(self) -> None:
        """Every callback promised (``vars.promised``) becomes an escalation if it is not one yet."""
        for reason in list(self.s.vars.get("promised") or {}):
            if reason not in self.s.escalated:
                self._escalate(str(reason))

    def _settle(self) -> None:
        """The call is over: keep its promises, and a message nobody else carries is a voicemail escalation."""
        self._keep_promises()
        if not self.s.escalated and self.s.vars.get("last_recording_sid"):
            self._escalate(VOICEMAIL)

    def context(self) -> dict[str, Any]:
        """What templates and conditions may read."""
        if self._ctx is None:
            practice = self.flows.practice
            now = self.env.now.astimezone(practice.tz)
            status = self.flows.status_at(now)
            s = self.s
            caller = dict(s.vars.get("caller") or {})
            caller.setdefault("known", False)
            caller.setdefault("verified", False)
            caller["present"] = s.caller is not None
            self._ctx = {
                "now": now,
                "vars": dict(s.vars),
                "caller": caller,
                "practice": {"name": practice.name, "phone_region": getattr(practice, "phone_region", "US")},
                "open_now": status.open,
                "closed_reason": status.reason,
                "holiday": status.holiday_name or False,
                "next_open": status.next_open,
                "emergency_guidance": practice.emergency_guidance,
                "callback_promise": getattr(practice, "callback_promise", None) or "",
                "new_clients": {"accepting": bool(getattr(practice, "new_clients_accepting", True)),
                                "message": getattr(practice, "new_clients_message", "")},
                # {{ callback_by('callback_request') | spoken }}: a plain function, so the sandbox shows no internals.
                "callback_by": lambda reason: self._callback_by(reason),
                "payments_enabled": bool(getattr(practice, "payment_connector", None)),
                "policy": {"late_change_hours": getattr(practice, "late_change_hours", 24),
                           "late_change_fee": getattr(practice, "late_change_fee", None)},
            }
        return self._ctx

    def render(self, template: Template) -> str:
        return template.render(self.context())
