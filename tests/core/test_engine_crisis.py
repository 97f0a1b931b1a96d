"""Crisis words at every prompt (issue 14): menus and every kind of ask, whatever the recogniser's
confidence, in flows with and without their own crisis handler; "unsure" offers the crisis key."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

from ivr.core import effects as fx
from ivr.core.engine import without_apology
from ivr.core.events import Digits, Speech
from ivr.core.flow import FlowSet
from tests.helpers.engine import (
    MENU,
    NO_MATCH,
    Call,
    ask_flows,
    at_menu,
    bye,
    flowset,
    menu_gather,
    say,
)

CRISIS_SAID = [
    "I don't want to live anymore",
    "I want to die",
    "I'm going to kill myself",
    "I took too many pills",
    "he's going to kill me",
    "I think I'm having a heart attack",
    "No, I want to die",
    "I'm not going to kill myself, I just want to die",
    # fix13-bt B2: the voicemail triage's list is the spoken check's list: a hedge is not a denial, means at hand
    "I don't think I can go on",
    "I have the pills in front of me",
    "I'm not okay, I have a gun",
]
NOT_CRISIS = [
    "my back is killing me, can I reschedule",
    "I need to cancel, it's an emergency at work",
    "I can't go on Tuesday",
    "I don't think I can make Tuesday, can I reschedule",
]
# What Twilio may give as Confidence: low, NaN, missing (the webhook passes -1.0), out of range.
CONFIDENCES = [0.92, 0.2, 0.0, math.nan, -1.0, 7.0]


@pytest.fixture(scope="module")
def menu_flows_crisis() -> FlowSet:
    return flowset(MENU)


@pytest.mark.parametrize("confidence", CONFIDENCES)
@pytest.mark.parametrize("text", CRISIS_SAID)
def test_crisis_words_at_a_menu_go_to_the_crisis_path(menu_flows_crisis: FlowSet, text: str,
                                                        confidence: float) -> None:
    call = at_menu(menu_flows_crisis)
    assert call.send(Speech(text, confidence)) == bye("Crisis.")
    assert call.s.history == ["main.menu", "menu:crisis", "main.to_crisis"]


@pytest.mark.parametrize("spec", ["type: digits\nlength: 4", "type: yes_no", "type: date\npast_only: true",
                                  "type: date\nallow_pin: true"])
@pytest.mark.parametrize("confidence", [0.2, math.nan, -1.0])
def test_crisis_words_at_every_kind_of_ask(spec: str, confidence: float) -> None:
    call = Call(ask_flows(spec))
    call.start()
    assert call.send(Speech("I don't want to live anymore", confidence)) == bye("Crisis.")
    assert call.s.history == ["main.q", "q:crisis", "main.to_crisis"]


# fix13: plain crisis messages the list used to miss, said at a call prompt (fillers between the words,
# an overdose already taken, a goodbye), go to the crisis path like any crisis.
@pytest.mark.parametrize("text", ["I took all of my sleeping pills", "I wrote letters to my kids to say goodbye"])
def test_plain_crisis_messages_at_a_menu_go_to_the_crisis_path(menu_flows_crisis: FlowSet, text: str) -> None:
    call = at_menu(menu_flows_crisis)
    assert call.send(Speech(text, 0.9)) == bye("Crisis.")
    assert call.s.history == ["main.menu", "menu:crisis", "main.to_crisis"]


def test_a_plain_crisis_message_at_an_ask_goes_to_the_crisis_path() -> None:
    call = Call(ask_flows("type: date\npast_only: true"))
    call.start()
    assert call.send(Speech("I took way too many of my pills", 0.9)) == bye("Crisis.")
    assert call.s.history == ["main.q", "q:crisis", "main.to_crisis"]


@pytest.mark.parametrize("text", ["never mind about the emergency, I just need to pay my bill"])
def test_a_crisis_word_taken_back_goes_on_with_the_request(menu_flows_crisis: FlowSet, text: str) -> None:
    call = at_menu(menu_flows_crisis)
    assert call.send(Speech(text, 0.9)) == bye("Billing.")


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_everyday_words_are_not_a_crisis(menu_flows_crisis: FlowSet, text: str) -> None:
    call = at_menu(menu_flows_crisis)
    out = call.send(Speech(text, 0.9))
    assert out != bye("Crisis.")
    assert "menu:crisis" not in call.s.history


def test_denied_crisis_beside_a_request_goes_on_with_the_request(menu_flows_crisis: FlowSet) -> None:
    call = at_menu(menu_flows_crisis)
    assert call.send(Speech("I'm not suicidal, I need to pay my bill", 0.9)) == bye("Billing.")
    assert call.s.history == ["main.menu", "menu:1", "main.billing"]


def test_unsure_words_offer_the_crisis_key_then_go_on(menu_flows_crisis: FlowSet) -> None:
    call = at_menu(menu_flows_crisis)
    out = call.send(Speech("I feel hopeless and I need to pay my bill", 0.9))
    # The offer and the goodbye play where 9 works (no key: Twilio goes on to the <Hangup>).
    assert out == [say("If you are in crisis, press 9 now."), say("Billing."), fx.prompt_keys(), fx.Hangup()]
    assert fx.barge_in(out) == [
        fx.Gather((say("If you are in crisis, press 9 now."), say("Billing.")), num_digits=1, finish_on_key="",
                  speech=False, timeout=1, falls_through=True), fx.Hangup()]
    assert call.s.history == ["main.menu", "menu:crisis-offered", "menu:1", "main.billing"]


def test_nine_pressed_during_the_goodbye_after_the_offer_goes_to_the_crisis_path(menu_flows_crisis: FlowSet) -> None:
    call = at_menu(menu_flows_crisis)
    call.send(Speech("I feel hopeless and I need to pay my bill", 0.9))
    assert call.send(Digits("9")) == bye("Crisis.")
    assert call.s.history[-2:] == ["billing:crisis", "main.to_crisis"]


@pytest.mark.parametrize("key", ["1", "0"])
def test_another_key_during_the_goodbye_after_the_offer_just_ends_the_call(menu_flows_crisis: FlowSet,
                                                                          key: str) -> None:
    call = at_menu(menu_flows_crisis)
    call.send(Speech("I feel hopeless and I need to pay my bill", 0.9))
    assert call.send(Digits(key)) == [fx.Hangup()]
    assert call.send(Digits("9")) == [fx.Hangup()]  # the goodbye's one key has been pressed


def test_a_goodbye_with_no_offer_before_it_takes_no_key(menu_flows_crisis: FlowSet) -> None:
    call = at_menu(menu_flows_crisis)
    assert call.send(Digits("1")) == bye("Billing.")
    assert call.send(Digits("9")) == [fx.Hangup()]


TRANSFER_AFTER_MENU = """
flow: main
globals:
  crisis: {key: "9", next: to_crisis}
steps:
  - id: menu
    menu:
      prompt: For a person press 1.
      options:
        - key: "1"
          say: [a person, someone]
          next: ring
      give_up: ring
  - id: ring
    transfer:
      to: [front_desk]
      timeout: 20
      say: One moment.
    next: sorry
  - id: sorry
    hangup: Nobody is free.
  - id: to_crisis
    hangup: Crisis.
"""


def test_unsure_words_before_a_transfer_offer_a_key_that_works_before_the_ringing() -> None:
    call = Call(flowset(TRANSFER_AFTER_MENU))
    call.start()
    out = call.send(Speech("I feel hopeless, can I talk to someone", 0.9))
    assert out == [say("If you are in crisis, press 9 now."), say("One moment."), fx.prompt_keys(),
                   fx.Dial(("+15550100100",), 20)]
    assert call.send(Digits("9")) == bye("Crisis.")
    assert call.s.history[-2:] == ["ring:crisis", "main.to_crisis"]


def test_another_key_before_the_transfer_rings_it() -> None:
    call = Call(flowset(TRANSFER_AFTER_MENU))
    call.start()
    call.send(Speech("I feel hopeless, can I talk to someone", 0.9))
    assert call.send(Digits("4")) == [fx.Dial(("+15550100100",), 20)]
    assert call.s.history[-1] == "ring:key-ignored"


def test_a_transfer_with_no_offer_before_it_keeps_its_words_outside_any_gather() -> None:
    call = Call(flowset(TRANSFER_AFTER_MENU))
    call.start()
    assert call.send(Digits("1")) == [say("One moment."), fx.Dial(("+15550100100",), 20)]


def test_unsure_words_that_choose_nothing_offer_the_crisis_key_before_the_reprompt(
        menu_flows_crisis: FlowSet) -> None:
    call = at_menu(menu_flows_crisis)
    # fix14-bt S4: after the offer, never "Sorry, I didn't catch that": the menu goes on
    assert call.send(Speech("I'm having a panic attack", 0.9)) == [
        say("If you are in crisis, press 9 now."), menu_gather()]


NO_GLOBALS = """
flow: side
steps:
  - id: q
    ask:
      var: code
      type: digits
      length: 4
      prompt: Enter the code.
      give_up: bye
  - id: bye
    hangup: Bye.
"""
ENTRY = """
flow: main
globals:
  crisis: {key: "9", next: to_crisis}
steps:
  - id: start
    menu:
      prompt: Press 1.
      options:
        - {key: "1", next: go_side}
      give_up: go_side
  - id: go_side
    goto: side
  - id: to_crisis
    hangup: Crisis.
"""


def test_a_flow_without_a_crisis_handler_uses_the_entry_flows() -> None:
    call = Call(flowset(ENTRY, NO_GLOBALS))
    call.start()
    call.send(Digits("1"))
    assert call.send(Speech("I want to end my life", 0.3)) == bye("Crisis.")
    assert (call.s.flow, call.s.history[-2:]) == ("main", ["q:crisis", "main.to_crisis"])


def test_crisis_words_at_the_confirmation_of_a_yes_no_ask() -> None:
    call = Call(ask_flows("type: yes_no"))
    call.start()
    out = call.send(Speech("yes I want to kill myself", 0.9))
    assert out == bye("Crisis.")
    assert isinstance(out[-1], fx.Hangup)


KEYS_ASK = """
flow: main
globals:
  operator: {key: "0", next: to_person}
  crisis: {key: "9", next: to_crisis}
steps:
  - id: q
    ask:
      var: answer
      prompt: What is a good time to reach you?
      type: when
      give_up: gave_up
  - id: got
    hangup: "Got {{ vars.answer }}."
  - id: gave_up
    hangup: Giving up.
  - id: to_person
    hangup: Operator.
  - id: to_crisis
    hangup: Crisis.
"""


@pytest.mark.parametrize(("said", "heard"), [("nine", "Got nine."), ("Nine.", "Got nine."),
                                             # a lone zero is no time (review 14b finding 14), and no key here
                                             ("zero", "Got any time."), ("nine thirty", "Got nine thirty.")])
def test_a_key_word_at_a_value_question_is_the_answer_not_a_key(said: str, heard: str) -> None:
    """Review 14 finding 3: "nine" answering "What is a good time?" is a time, not the crisis key."""
    call = Call(flowset(KEYS_ASK))
    call.start()
    assert call.send(Speech(said, 0.9)) == bye(heard)
    assert call.s.history == ["main.q", "q:ok", "main.got"]


@pytest.mark.parametrize(("said", "kept"), [
    # review 14b finding 10: the answers anxious new callers give are all taken
    ("as soon as possible", "as soon as possible"), ("any time is fine", "any time"), ("doesn't matter", "any time"),
    ("I'm not sure", "any time"), ("no later than four", "before four"), ("until five", "before five"),
    ("end of the day", "end of the day"), ("before work", "before work"),
    ("after my kids go to bed", "late evening"), ("text me instead", "text preferred"),
    ("weekday mornings", "weekday mornings"), ("after 5 pm", "after 5 pm"), ("Tuesday or Thursday after 6",
                                                                             "tuesday thursday after 6"),
    # review 14b finding 11: only the time and day words are kept, never why the caller seeks help
    ("mornings, I've been feeling really depressed", "mornings"),
    ("mornings I've been having panic attacks", "mornings"),
    ("weekday mornings because I have a therapy appointment elsewhere", "weekday mornings"),
])
def test_a_best_time_answer_keeps_only_its_time_words(said: str, kept: str) -> None:
    call = Call(flowset(KEYS_ASK))
    call.start()
    call.send(Speech(said, 0.9))
    assert call.s.vars["answer"] == kept
    assert call.s.history[-2:] == ["q:ok", "main.got"]


@pytest.mark.parametrize(("said", "where"), [("press nine", "Crisis."), ("press zero", "Operator.")])
def test_a_key_said_with_its_verb_still_counts_at_a_value_question(said: str, where: str) -> None:
    call = Call(flowset(KEYS_ASK))
    call.start()
    assert call.send(Speech(said, 0.9)) == bye(where)


@pytest.mark.parametrize(("sent", "where"), [(Digits("9"), "Crisis."), (Digits("0"), "Operator."),
                                             (Speech("I want to die", 0.9), "Crisis.")])
def test_keys_pressed_and_crisis_words_still_count_at_a_value_question(sent, where: str) -> None:
    call = Call(flowset(KEYS_ASK))
    call.start()
    assert call.send(sent) == bye(where)


def test_a_key_word_at_a_menu_is_still_a_key(menu_flows_crisis: FlowSet) -> None:
    call = at_menu(menu_flows_crisis)
    assert call.send(Speech("nine", 0.9)) == bye("Crisis.")


NO_CRISIS_KEY = """
flow: main
globals:
  crisis: {next: to_crisis}
steps:
  - id: menu
    menu:
      prompt: For billing press 1.
      options:
        - {key: "1", next: billing}
      give_up: billing
  - id: billing
    hangup: Billing.
  - id: to_crisis
    hangup: Crisis.
"""
NO_CRISIS_AT_ALL = NO_CRISIS_KEY.replace('globals:\n  crisis: {next: to_crisis}\n', "").replace(
    "  - id: to_crisis\n    hangup: Crisis.\n", "")


def test_the_crisis_offer_never_promises_a_key_that_does_nothing() -> None:
    """Review 14 finding 2: a crisis global without a key offered "press 9", and 9 was "didn't catch that"."""
    call = Call(flowset(NO_CRISIS_KEY))
    call.start()
    out = call.send(Speech("I feel hopeless", 0.9))
    assert out[0] == say("If you are in crisis, say crisis now.")
    assert call.send(Speech("crisis", 0.9)) == bye("Crisis.")


def test_with_no_crisis_path_the_offer_is_the_emergency_guidance() -> None:
    call = Call(flowset(NO_CRISIS_AT_ALL))
    call.start()
    out = call.send(Speech("I feel hopeless", 0.9))
    # The guidance is heard to the end whatever the caller says (keys_only: a keypad-only <Gather>, fix14-s7).
    assert out[0] == replace(say("In an emergency, hang up and dial 9 1 1."), keys_only=True)
    assert "press" not in " ".join(e.text for e in out if isinstance(e, fx.Say))


@pytest.fixture(scope="module")
def korean_menu() -> FlowSet:
    return flowset(MENU.replace("flow: main\n", "flow: main\nlanguage: ko-KR\n", 1))


@pytest.mark.parametrize("text", ["죽고 싶어요", "자살하고 싶어요", "I want to die", "suicide",
                                  "예약 말고 I want to kill myself"])
def test_korean_and_english_crisis_words_in_a_korean_call_go_to_the_crisis_path(korean_menu: FlowSet,
                                                                                  text: str) -> None:
    call = at_menu(korean_menu)
    out = call.send(Speech(text, 0.9))
    assert [e.text for e in out if isinstance(e, fx.Say)][-1:] == ["Crisis."]
    assert call.s.history == ["main.menu", "menu:crisis", "main.to_crisis"]


def test_a_korean_denial_is_offered_the_crisis_option_not_sent_down_the_path(korean_menu: FlowSet) -> None:
    call = at_menu(korean_menu)
    out = call.send(Speech("죽고 싶지 않아요", 0.9))
    assert call.s.step == "menu" and "menu:crisis-offered" in call.s.history
    assert "If you are in crisis, press 9 now." in [e.text for e in out if isinstance(e, fx.Say)] + [
        p.text for e in out if isinstance(e, fx.Gather) for p in e.prompts]


# fix14 findings 1 and 2: plain suicidal speech and danger are heard before any option, intent, operator word
# or answer, at the menu and at every kind of question (date of birth, name, a good time, digits).
FIX14_CRISIS = [
    "I want to be dead",
    "I'm going to take all my pills",
    "I don't see a reason to keep going",
    "someone is outside my house threatening me",  # "someone" is an operator word: crisis is heard first
    "there's someone following me",
    "my boyfriend said he'd hurt me",
    "there's blood everywhere",
]
FIX14_UNSURE = ["I feel like giving up", "I'm worthless", "I want the pain to stop", "I'm afraid of my husband"]
ASK_SPECS = ["type: date\npast_only: true", "type: name", "type: when", "type: digits\nlength: 4"]


@pytest.mark.parametrize("text", FIX14_CRISIS)
def test_fix14_crisis_words_at_a_menu_go_to_the_crisis_path(menu_flows_crisis: FlowSet, text: str) -> None:
    call = at_menu(menu_flows_crisis)
    assert call.send(Speech(text, 0.9)) == bye("Crisis.")
    assert call.s.history == ["main.menu", "menu:crisis", "main.to_crisis"]


@pytest.mark.parametrize("spec", ASK_SPECS)
@pytest.mark.parametrize("text", FIX14_CRISIS)
def test_fix14_crisis_words_at_every_kind_of_ask(spec: str, text: str) -> None:
    call = Call(ask_flows(spec))
    call.start()
    assert call.send(Speech(text, 0.9)) == bye("Crisis.")
    assert call.s.history == ["main.q", "q:crisis", "main.to_crisis"]


@pytest.mark.parametrize("text", FIX14_UNSURE)
def test_fix14_vaguer_distress_at_a_menu_is_offered_the_crisis_key(menu_flows_crisis: FlowSet, text: str) -> None:
    call = at_menu(menu_flows_crisis)
    out = call.send(Speech(text, 0.9))
    assert out[0] == say("If you are in crisis, press 9 now.")
    assert call.s.history[:2] == ["main.menu", "menu:crisis-offered"]


# What the offer says where it plays (fix14-left2 item 1): at a prompt that takes typed digits a lone 9 is sent only
# after the timeout, 9 then pound at once, so the offer promises what acts at once there.
TYPED_OFFER = "If you are in crisis, press 9 and then pound, or say crisis."
ASK_OFFERS = {"type: date\npast_only: true": TYPED_OFFER, "type: name": "If you are in crisis, press 9 now.",
              "type: when": "If you are in crisis, press 9 now.", "type: digits\nlength: 4": TYPED_OFFER}


@pytest.mark.parametrize("spec", ASK_SPECS)
@pytest.mark.parametrize("text", FIX14_UNSURE)
def test_fix14_vaguer_distress_at_every_kind_of_ask_is_offered_the_crisis_key(spec: str, text: str) -> None:
    call = Call(ask_flows(spec))
    call.start()
    out = call.send(Speech(text, 0.9))
    assert out[0] == say(ASK_OFFERS[spec])
    assert call.s.history[:2] == ["main.q", "q:crisis-offered"]


@pytest.mark.parametrize("spec", ["type: date\npast_only: true\nallow_pin: true", "type: phone",
                                  "type: digits\nlength: 4", "type: date"])
def test_the_offer_at_a_typed_prompt_promises_9_then_pound_and_9_then_pound_goes_to_the_crisis_path(
        spec: str) -> None:
    """fix14-left2 item 1: the offer is heard in the <Gather> that takes the typed answer; the key it promises (9, then
    pound: Twilio sends the keys without the pound) goes to the crisis path at once."""
    call = Call(ask_flows(spec))
    call.start()
    out = call.send(Speech("I feel like giving up", 0.9))
    assert out[0] == say(TYPED_OFFER)
    gather = out[1]
    assert isinstance(gather, fx.Gather) and gather.num_digits != 1
    assert call.send(Digits("9")) == bye("Crisis.")
    assert call.s.history[-2:] == ["q:crisis", "main.to_crisis"]


def test_the_offer_before_a_one_key_prompt_still_says_press_9_now() -> None:
    """A one-digit ask sends its key at once: "press 9 now" is kept there."""
    call = Call(ask_flows("type: digits\nlength: 1"))
    call.start()
    out = call.send(Speech("I feel like giving up", 0.9))
    assert out[0] == say("If you are in crisis, press 9 now.")
    assert isinstance(out[1], fx.Gather) and out[1].num_digits == 1


@pytest.mark.parametrize("text", [
    "I don't have any thoughts of hurting myself, I just need to pay my bill",
    "I haven't felt suicidal in years, I need to pay my bill",
    "I wouldn't say I'm suicidal, I need to pay my bill",
])
def test_fix14_a_denial_goes_to_its_request(menu_flows_crisis: FlowSet, text: str) -> None:
    call = at_menu(menu_flows_crisis)
    assert call.send(Speech(text, 0.9)) == bye("Billing.")
    assert call.s.history == ["main.menu", "menu:1", "main.billing"]


# fix14-bt S4: after the crisis offer ("If you are in crisis, press 9 now." or, at a typed prompt, "... press 9 and
# then pound, or say crisis.") the caller never hears an apology, at every prompt:
# the re-prompt goes on without it, or the prompt is said again.
@pytest.mark.parametrize("spec", ASK_SPECS)
@pytest.mark.parametrize("text", ["I'm having a panic attack", "I'm on the edge", "I have a razor"])
def test_after_the_crisis_offer_an_ask_goes_on_without_an_apology(spec: str, text: str) -> None:
    call = Call(ask_flows(spec))
    call.start()
    out = call.send(Speech(text, 0.9))
    assert out[0] == say(ASK_OFFERS[spec])
    said = [e.text for e in out[1:] if isinstance(e, fx.Say)]
    said += [p.text for e in out[1:] if isinstance(e, fx.Gather) for p in e.prompts if isinstance(p, fx.Say)]
    assert not any("sorry" in t.lower() or "catch" in t.lower() for t in said)  # a "when" ask takes the words


def test_after_the_crisis_offer_a_second_miss_at_a_menu_gives_the_short_reprompt_without_its_apology(
        menu_flows_crisis: FlowSet) -> None:
    call = at_menu(menu_flows_crisis)
    assert call.send(Speech("purple", 0.9)) == [menu_gather(NO_MATCH)]
    assert call.send(Speech("I'm on the edge", 0.9)) == [
        say("If you are in crisis, press 9 now."),
        menu_gather("You can press 1 for billing or 2 for appointment. Or say booking. "
                    "To speak with someone, press 0. For urgent support, press 9.", short=True)]


@pytest.mark.parametrize(("reprompt", "left"), [
    ("Sorry, I didn't catch that.", ""),
    ("Sorry, I still didn't catch that. You can press 1.", "You can press 1."),
    ("Sorry, I didn't get a date I can use.", ""),
    ("Sorry, I didn't get your first name. Please say just your first name, or spell it.",
     "Please say just your first name, or spell it."),
    ("Did you mean 1 or 2? Please press just one key.", "Did you mean 1 or 2? Please press just one key."),
])
def test_a_reprompt_without_its_apology(reprompt: str, left: str) -> None:
    assert without_apology(reprompt) == left
