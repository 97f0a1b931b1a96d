"""The engine's other steps: branch, set and templates; transfer, voicemail, sms, escalate; goto and voices;
hangup and the end of a call.
"""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from ivr.core import effects as fx
from ivr.core.call_state import Waiting
from ivr.core.events import (
    ActionDone,
    CallEnded,
    CallStarted,
    DialFinished,
    Digits,
    NoInput,
    RecordingFinished,
    Speech,
)
from ivr.core.flow import FlowSet
from tests.helpers.engine import (
    CALLER,
    CALLER_FLOW,
    CLOSED,
    GOTO_MAIN,
    GOTO_OTHER,
    HOLIDAY,
    LANGUAGE,
    MENU,
    NO_MATCH,
    OPEN,
    SATURDAY,
    Call,
    at_menu,
    bye,
    flowset,
    menu_gather,
    say,
)

# --------------------------------------------------------------------------- branch, set, templates

HOURS = """
flow: main
steps:
  - id: check
    branch:
      cases:
        - if: open_now
          next: open
        - if: holiday
          next: holiday
      else: closed
  - id: open
    hangup: We are open.
  - id: holiday
    hangup: "Closed today for {{ holiday }}. We open {{ next_open | spoken }}."
  - id: closed
    hangup: "We are closed. We open {{ next_open | spoken }}."
"""


@pytest.mark.parametrize(
    ("now", "expected", "target"),
    [
        (OPEN, "We are open.", "open"),
        (CLOSED, "We are closed. We open tomorrow at 9 AM.", "closed"),
        (SATURDAY, "We are closed. We open Monday at 9 AM.", "closed"),
        (HOLIDAY, "Closed today for Thanksgiving. We open tomorrow at 9 AM.", "holiday"),
    ],
)
def test_branch_on_hours(now: dt.datetime, expected: str, target: str) -> None:
    call = Call(flowset(HOURS), now=now)
    assert call.start() == bye(expected)
    assert call.s.history == ["main.check", f"main.{target}"]
    assert call.s.steps_taken == 2


def test_action_step_invokes_and_waits() -> None:
    call = Call(flowset(CALLER_FLOW))
    assert call.start() == [fx.Invoke("caller_id", {})]
    assert (call.s.step, call.s.waiting) == ("lookup", Waiting.ACTION)


@pytest.mark.parametrize(
    ("caller", "done", "expected"),
    [
        (CALLER, ActionDone("present", {"caller": {"known": True, "first_name": "Ana"}}), "Welcome back, Ana."),
        (CALLER, ActionDone("present"), "Hello."),
        (CALLER, ActionDone("present", {"caller": {"first_name": "Ben"}}), "Hello Ben."),
        (None, ActionDone("withheld"), "Your number is withheld."),
        (None, ActionDone("withheld", {"caller": {"known": True}}), "Your number is withheld."),
    ],
)
def test_branch_on_caller(caller: str | None, done: ActionDone, expected: str) -> None:
    call = Call(flowset(CALLER_FLOW), caller=caller)
    call.start()
    assert call.send(done) == bye(expected)
    assert call.s.history[:3] == ["main.lookup", f"lookup:{done.outcome}", "main.check"]
    assert call.s.vars == dict(done.updates)


SET_FLOW = """
flow: main
steps:
  - id: hello
    say: "Hi from {{ practice.name }}."
  - id: init
    set:
      count: 3
      flag: true
      nothing: null
      label: plain text
      a: x
      b: "{{ vars.a }}y"
      greeting: "Hello {{ caller.first_name or 'there' }}, we call back {{ callback_promise }}."
  - id: speak
    say: "{{ vars.greeting }} {{ vars.b }}"
  - id: check
    branch:
      cases:
        - if: vars.count > 2 and vars.flag and vars.nothing is none
          next: many
        - if: vars.missing
          next: few
      else: few
  - id: many
    hangup: Many.
  - id: few
    hangup: Few.
"""


def test_set_with_templates_then_branch_on_vars() -> None:
    call = Call(flowset(SET_FLOW))
    assert call.start() == [say("Hi from Test Practice."),
                            say("Hello there, we call back within one business day. xy"),
                            say("Many."), fx.Hangup()]
    assert call.s.vars == {"count": 3, "flag": True, "nothing": None, "label": "plain text", "a": "x", "b": "xy",
                           "greeting": "Hello there, we call back within one business day."}
    assert call.s.history == ["main.hello", "main.init", "main.speak", "main.check", "main.many"]


def test_branch_else_when_no_case_holds() -> None:
    call = Call(flowset(SET_FLOW.replace("count: 3", "count: 1")))
    assert call.start()[-2:] == bye("Few.")


def test_templates_read_caller_from_action_updates() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: lookup
            action:
              name: caller_id
              outcomes: {present: greet, withheld: greet}
          - id: greet
            say: "Hello {{ caller.first_name }}{{ caller.last_name }}, {{ vars.plan }}."
          - id: menu
            menu:
              prompt: "Press 1, {{ caller.first_name }}."
              options: [{key: "1", next: done}]
              give_up: done
          - id: done
            hangup: "Goodbye {{ caller.first_name }}."
    """)
    call = Call(flows)
    call.start()
    out = call.send(ActionDone("present", {"caller": {"first_name": "Ana", "known": True}, "plan": "see you"}))
    assert out == [say("Hello Ana, see you."),
                   fx.Gather((say("Press 1, Ana."),), num_digits=1, hints=(), timeout=6, language=LANGUAGE,
                           speech_model="phone_call", enhanced=True)]
    # The caller stays known on later turns (it lives in the session's vars).
    assert call.send(Digits("1")) == bye("Goodbye Ana.")


def test_context_is_sandboxed_and_undefined_is_empty() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: bye
            hangup: "[{{ vars.__class__ }}|{{ caller.__class__.__mro__ }}|{{ nothing.at.all }}|{{ caller.present }}]"
    """)
    assert Call(flows).start() == bye("[|||True]")


# --------------------------------------------------------------------------- transfer, voicemail, sms, escalate

TRANSFER = """
flow: main
steps:
  - id: ring
    transfer:
      to: [front_desk, on_call, "+15550100199"]
      timeout: 15
      say: Connecting you.
      @MODE@
    next: nobody
  - id: nobody
    hangup: Nobody answered.
"""
ALL = ("+15550100100", "+15550100101", "+15550100199")


def transfer_flows(mode: str) -> FlowSet:
    return flowset(TRANSFER.replace("@MODE@", f"mode: {mode}"))


def test_transfer_simultaneous_dials_everyone_at_once() -> None:
    call = Call(transfer_flows("simultaneous"))
    assert call.start() == [say("Connecting you."), fx.Dial(ALL, 15)]
    assert (call.s.step, call.s.waiting) == ("ring", Waiting.DIAL)
    assert call.send(DialFinished("no-answer")) == bye("Nobody answered.")
    assert call.s.history == ["main.ring", "ring:no-answer", "main.nobody"]


def test_transfer_default_mode_is_simultaneous() -> None:
    call = Call(flowset(TRANSFER.replace("@MODE@", "")))
    assert call.start() == [say("Connecting you."), fx.Dial(ALL, 15)]


def test_transfer_sequential_dials_one_at_a_time() -> None:
    call = Call(transfer_flows("sequential"))
    assert call.start() == [say("Connecting you."), fx.Dial(ALL[:1], 15)]
    assert call.send(DialFinished("busy")) == [fx.Dial(ALL[1:2], 15)]
    assert (call.s.dial_index, call.s.waiting) == (1, Waiting.DIAL)
    assert call.send(DialFinished("no-answer")) == [fx.Dial(ALL[2:], 15)]
    assert call.s.dial_index == 2
    assert call.send(DialFinished("failed")) == bye("Nobody answered.")
    assert call.s.history == ["main.ring", "ring:busy", "ring:no-answer", "ring:failed", "main.nobody"]
    assert call.s.dial_index == 0


@pytest.mark.parametrize("mode", ["simultaneous", "sequential"])
@pytest.mark.parametrize("status", ["completed", "answered"])
def test_transfer_answered_ends_our_part(mode: str, status: str) -> None:
    call = Call(transfer_flows(mode))
    call.start()
    if mode == "sequential":
        call.send(DialFinished("no-answer"))
    assert call.send(DialFinished(status)) == [fx.Hangup()]
    assert (call.s.waiting, call.s.history[-1]) == (Waiting.NOTHING, "ring:answered")
    assert call.send(Digits("1")) == [fx.Hangup()]


def test_transfer_to_a_single_staff_key() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: ring
            transfer: {to: on_call}
          - id: nobody
            hangup: true
    """)
    call = Call(flows)
    assert call.start() == [fx.Dial(("+15550100101",), 20)]
    assert call.send(DialFinished("no-answer")) == [fx.Hangup()]


VOICEMAIL = """
flow: main
steps:
  - id: vm
    voicemail:
      prompt: "Leave a message {{ caller.first_name or 'after the tone' }}."
      max_length: 60
  - id: thanks
    hangup: Thanks.
"""


@pytest.mark.parametrize(("sid", "note"), [("RE123", "vm:recorded"), (None, "vm:no-recording")])
def test_voicemail_records_then_continues(sid: str | None, note: str) -> None:
    call = Call(flowset(VOICEMAIL))
    assert call.start() == [say("Leave a message after the tone."), fx.Record(60)]
    assert (call.s.step, call.s.waiting) == ("vm", Waiting.RECORDING)
    assert call.send(RecordingFinished(sid, 12 if sid else 0)) == bye("Thanks.")
    assert call.s.history == ["main.vm", note, "main.thanks"]
    assert call.s.vars == ({"last_recording_sid": sid} if sid else {})


VOICEMAIL_WITH_KEYS = """
flow: main
globals:
  operator: {key: "0", next: person}
  crisis: {key: "9", next: urgent}
steps:
  - id: vm
    voicemail:
      prompt: Leave a message after the tone, or press 9 for urgent support.
      max_length: 60
  - id: thanks
    hangup: Thanks.
  - id: person
    hangup: A person.
  - id: urgent
    hangup: Urgent support.
"""


def test_a_voicemail_prompt_plays_where_its_keys_work_before_the_beep() -> None:
    # Issue 14, barge-in: the keys the <Record> ends on (crisis, a person) work during the prompt too.
    call = Call(flowset(VOICEMAIL_WITH_KEYS))
    out = call.start()
    assert out == [say("Leave a message after the tone, or press 9 for urgent support."), fx.prompt_keys(),
                   fx.Record(60, finish_on_key="#90")]
    assert fx.barge_in(out) == [
        fx.Gather((say("Leave a message after the tone, or press 9 for urgent support."),), num_digits=1,
                  finish_on_key="", speech=False, timeout=1, falls_through=True),
        fx.Record(60, finish_on_key="#90")]
    assert (call.s.step, call.s.waiting) == ("vm", Waiting.RECORDING)


@pytest.mark.parametrize(("key", "heard", "note"), [("9", "Urgent support.", "vm:crisis"),
                                                     ("0", "A person.", "vm:operator")])
def test_the_crisis_key_or_a_persons_pressed_during_the_voicemail_prompt(key: str, heard: str, note: str) -> None:
    call = Call(flowset(VOICEMAIL_WITH_KEYS))
    call.start()
    assert call.send(Digits(key)) == bye(heard)
    assert call.s.history[-2] == note


@pytest.mark.parametrize("key", ["1", "#", "*", "55"])
def test_another_key_during_the_voicemail_prompt_goes_on_to_the_message(key: str) -> None:
    """One plain sentence (the crisis key still works while it plays), then the beep; never the prompt again as if
    nothing was heard (fix14-nits6)."""
    call = Call(flowset(VOICEMAIL_WITH_KEYS))
    call.start()
    assert call.send(Digits(key)) == [say("Please leave your message after the tone."), fx.prompt_keys(),
                                      fx.Record(60, finish_on_key="#90")]
    assert (call.s.step, call.s.waiting, call.s.history[-1]) == ("vm", Waiting.RECORDING, "vm:key-ignored")
    assert call.send(RecordingFinished("RE1", 8)) == bye("Thanks.")
    assert call.s.vars["last_recording_sid"] == "RE1"


PERSON_BY_MESSAGE = ("""
flow: main
globals:
  operator: {key: "0", next: person}
  crisis: {key: "9", next: urgent}
steps:
  - id: menu
    menu:
      prompt: To leave a message, press 1.
      options:
        - {key: "1", next: to_message}
      give_up: to_message
  - id: to_message
    goto: callback
  - id: person
    goto: operator
  - id: urgent
    hangup: Urgent support.
""", """
flow: operator
steps:
  - id: nobody
    say: Nobody is free to take your call right now.
    next: to_message
  - id: to_message
    goto: callback
""", """
flow: callback
steps:
  - id: vm
    voicemail:
      prompt: Please leave a message after the tone.
      max_length: 60
  - id: thanks
    hangup: Thanks.
""")


@pytest.mark.parametrize("key", ["0", "5", "#"])
def test_a_key_at_the_message_prompt_asking_for_a_person_led_to_hears_plainly_that_nobody_can_come(key: str) -> None:
    """bt14-s25 nit 7: 0 at the menu, nobody free (no one rung), then 0 again (or any other key) during the message
    prompt: one plain sentence and the beep, never "Nobody is free…" and the prompt again as if nothing was heard."""
    call = Call(flowset(*PERSON_BY_MESSAGE))
    call.start()
    call.send(Digits("0"))
    assert (call.s.flow, call.s.step) == ("callback", "vm")
    assert call.send(Digits(key)) == [say("Nobody can take your call right now. Please leave your message after the "
                                          "tone."), fx.prompt_keys(), fx.Record(60, finish_on_key="#90")]
    assert call.s.history[-1] == ("vm:nobody-free" if key == "0" else "vm:key-ignored")
    assert call.send(Digits("9")) == bye("Urgent support.")  # the crisis key still works before the beep


def test_zero_at_a_message_prompt_reached_without_asking_for_a_person_goes_to_one() -> None:
    """The message chosen at the menu: 0 during its prompt asks for a person (here: nobody free, and the prompt with
    why); only a second 0 hears "Nobody can take your call right now"."""
    call = Call(flowset(*PERSON_BY_MESSAGE))
    call.start()
    call.send(Digits("1"))
    assert call.send(Digits("0"))[0] == say("Nobody is free to take your call right now.")
    assert call.s.history[-5:] == ["vm:operator", "main.person", "operator.nobody", "operator.to_message",
                                   "callback.vm"]
    assert call.send(Digits("0"))[0] == say("Nobody can take your call right now. Please leave your message after "
                                            "the tone.")


def test_a_voicemail_with_no_keys_to_take_keeps_its_prompt_outside_any_gather() -> None:
    out = Call(flowset(VOICEMAIL)).start()
    assert fx.barge_in(out) == [say("Leave a message after the tone."), fx.Record(60)]


def test_voicemail_without_prompt_uses_default_length() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: vm
            voicemail: {}
            next: done
          - id: done
            hangup: true
    """)
    call = Call(flows)
    assert call.start() == [fx.Record(120)]
    assert call.send(RecordingFinished("RE1", 3)) == [fx.Hangup()]


SMS = """
flow: main
steps:
  - id: text
    sms:
      body: "Hi {{ caller.first_name or 'there' }}, here is the link you asked for: https://example.org/j/1"
  - id: done
    hangup: We sent you a text.
"""


def test_sms_to_the_caller() -> None:
    call = Call(flowset(SMS))
    assert call.start() == [fx.SendSms(CALLER, "Hi there, here is the link you asked for: https://example.org/j/1"),
                            say("We sent you a text."), fx.Hangup()]
    assert call.s.history == ["main.text", "main.done"]


def test_sms_never_to_a_withheld_number() -> None:
    call = Call(flowset(SMS), caller=None)
    assert call.start() == bye("We sent you a text.")
    assert call.s.history == ["main.text", "text:no-number", "main.done"]


def test_escalate_effects() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: esc
            escalate: {reason: callback_request, priority: high, say: Someone will call you back.}
          - id: esc2
            escalate: {reason: billing_question}
          - id: bye
            hangup: Goodbye.
    """)
    call = Call(flows)
    assert call.start() == [say("Someone will call you back."), fx.Escalate("callback_request", "high"),
                            fx.Escalate("billing_question", "normal"), say("Goodbye."), fx.Hangup()]


def test_play_step() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: music
            play: https://example.org/hold.mp3
          - id: bye
            hangup: true
    """)
    assert Call(flows).start() == [fx.Play("https://example.org/hold.mp3"), fx.Hangup()]


# --------------------------------------------------------------------------- goto, voices


def test_goto_another_flow_at_its_start() -> None:
    call = Call(flowset(GOTO_MAIN, GOTO_OTHER))
    call.start()
    assert call.send(Digits("1")) == [say("Other intro.", "Polly.Matthew", "en-GB"),
                                      say("Other second.", "Polly.Matthew"), fx.Hangup()]
    assert (call.s.flow, call.s.step) == ("other", "second")
    assert call.s.history == ["main.menu", "menu:1", "main.jump", "other.intro", "other.second"]


def test_goto_an_explicit_step() -> None:
    call = Call(flowset(GOTO_MAIN, GOTO_OTHER))
    call.start()
    assert call.send(Digits("2")) == [say("Other second.", "Polly.Matthew"), fx.Hangup()]
    assert call.s.history == ["main.menu", "menu:2", "main.jump_step", "other.second"]


def test_the_entry_flows_globals_hold_in_a_flow_without_globals() -> None:
    """bt14-s24 blocker 2: the greeting's "press 9 / 0 at any time" is the practice's promise (Engine._handlers)."""
    other = """
        flow: other
        steps:
          - id: menu
            menu:
              prompt: Other menu.
              options: [{key: "1", next: done}]
              give_up: done
          - id: done
            hangup: Done.
    """
    main = MENU.replace("    hangup: Billing.", "    goto: other")
    call = Call(flowset(main, other))
    call.start()
    gather = call.send(Digits("1"))[0]
    assert gather.prompts == (say("Other menu."),) and "operator" in gather.hints  # the entry flow's handler words
    effects = call.send(Digits("0"))  # the entry flow's operator, not "didn't catch that"
    assert effects and not any(isinstance(e, fx.Gather) and e.prompts[:1] == (say(NO_MATCH),) for e in effects)


# --------------------------------------------------------------------------- hangup and call end


def test_hangup_then_every_event_hangs_up() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: bye
            hangup: true
    """)
    call = Call(flows)
    assert call.start() == [fx.Hangup()]
    assert (call.s.step, call.s.waiting) == ("bye", Waiting.NOTHING)
    ended = copy.deepcopy(call.s)
    for event in (Digits("1"), Speech("hello", 0.9), NoInput(), RecordingFinished("RE1", 3),
                  DialFinished("completed"), ActionDone("open"), CallStarted()):
        assert call.send(event) == [fx.Hangup()]
        assert call.s == ended


def test_call_ended_marks_the_session(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(CallEnded("no-answer")) == []
    assert (call.s.ended, call.s.end_reason, call.s.waiting) == (True, "no-answer", Waiting.NOTHING)
    assert call.s.history == ["main.menu", "ended:no-answer"]
    assert call.send(CallEnded("completed")) == []  # once only
    assert call.s.end_reason == "no-answer" and call.s.history[-1] == "ended:no-answer"
    assert call.send(Digits("1")) == [fx.Hangup()]
    assert call.send(CallStarted()) == [fx.Hangup()]


def test_call_ended_default_status(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    call.send(CallEnded())
    assert call.s.end_reason == "completed"


def test_an_event_that_does_not_fit_repeats_the_step(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    call.send(NoInput())
    assert call.send(RecordingFinished("RE1", 2)) == [menu_gather()]
    assert call.send(DialFinished("completed")) == [menu_gather()]
    assert (call.s.step, call.s.attempts, call.s.waiting) == ("menu", 1, Waiting.INPUT)
