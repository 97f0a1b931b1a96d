"""The engine at a menu whose options name intents ("say what you want"), and barge-in (effects.barge_in)."""
from __future__ import annotations

from ivr.core import effects as fx
from ivr.core.events import Digits, NoInput, Speech
from tests.helpers.engine import Call, bye, flowset, say

INTENT_MENU = """
flow: main
globals:
  operator: {key: "0", next: to_person}
  crisis: {key: "9", next: to_crisis}
steps:
  - id: menu
    menu:
      prompt: For appointments press 1. For billing press 2. If you are new, press 4.
      options:
        - {key: "1", intent: appointments, say: [appointment], next: appointments}
        - {key: "2", intent: billing, say: [billing], next: billing}
        - {key: "4", intent: new_client, say: [new client], next: intake}
      give_up: to_person
  - id: appointments
    say: "Appointments {{ vars.request.action }} {{ vars.request.to_day }}."
    next: back
  - id: back
    menu:
      prompt: Press 1.
      options:
        - {key: "1", intent: appointments, say: [appointment], next: appointments}
      give_up: to_person
  - id: billing
    hangup: Billing.
  - id: intake
    hangup: Intake.
  - id: to_person
    hangup: Operator.
  - id: to_crisis
    hangup: Crisis.
"""
FLOWS = flowset(INTENT_MENU)


def at_menu() -> Call:
    call = Call(FLOWS)
    call.start()
    return call


def test_a_sentence_chooses_its_intent_with_the_details_kept() -> None:
    call = at_menu()
    out = call.send(Speech("I need to move my Thursday appointment to next week", 0.9))
    assert out[0] == say("Appointments reschedule next week.")
    assert call.s.vars["request"] == {"intent": "appointments", "action": "reschedule", "from_day": "thursday",
                                      "to_day": "next week"}
    assert call.s.history[:2] == ["main.menu", "menu:appointments/reschedule"]


def test_a_key_chosen_later_replaces_the_sentence() -> None:
    call = at_menu()
    call.send(Speech("cancel my appointment", 0.9))
    assert call.send(Digits("1"))[0] == say("Appointments .")
    assert "request" not in call.s.vars


def test_the_person_words_lose_to_a_topic() -> None:
    call = at_menu()
    assert call.send(Speech("I want to talk to someone about my bill", 0.9)) == bye("Billing.")


def test_asking_for_a_person_in_words_goes_to_the_operator() -> None:
    call = at_menu()
    assert call.send(Speech("can I speak to a real person", 0.9)) == bye("Operator.")


def test_new_client_words() -> None:
    call = at_menu()
    assert call.send(Speech("I'm looking for a therapist", 0.9)) == bye("Intake.")


def test_unmatched_speech_never_hears_the_same_sentence_twice() -> None:
    call = at_menu()
    first = call.send(Speech("purple elephants", 0.9))[0]
    second = call.send(Speech("hmm", 0.9))[0]
    assert isinstance(first, fx.Gather) and isinstance(second, fx.Gather)
    # Review 14 finding 15: the shorter re-prompts keep the crisis option.
    assert first.prompts == (say("Sorry, I didn't catch that. You can say appointment, billing or new client. "
                                 "Or press 0 to speak with someone. For urgent support, press 9."),)
    assert second.prompts == (say("You can also press a key: 1 for appointment, 2 for billing and 4 for new "
                                  "client. Or press 0 to speak with someone. For urgent support, press 9."),)
    assert call.send(NoInput()) == bye("Operator.")  # retries used up


def test_barge_in_moves_what_is_said_before_a_gather_inside_it() -> None:
    gather = fx.Gather((say("Menu."),), num_digits=1)
    escalate = fx.Escalate("crisis", "urgent")
    assert fx.barge_in([say("Hello."), escalate, say("Closed."), gather]) == [
        escalate, fx.Gather((say("Hello."), say("Closed."), say("Menu.")), num_digits=1)]
    # fix14-s7: speech never cuts off a keys_only prompt (the emergency guidance): it and what comes before it play
    # in a keypad-only gather taking the same keys, which falls through to the rest when nothing is pressed; it posts
    # with early=1, so a key pressed there reads "(during the greeting)" in the timeline (bt14-s25 nit 7).
    guidance = fx.Say("Dial 9 1 1.", keys_only=True)
    assert fx.barge_in([say("Hello."), guidance, say("Closed."), gather]) == [
        fx.Gather((say("Hello."), guidance), num_digits=1, speech=False, timeout=1, falls_through=True, early=True),
        fx.Gather((say("Closed."), say("Menu.")), num_digits=1)]
    typed = fx.Gather((say("Date?"),), finish_on_key="#", timeout=6)
    assert fx.barge_in([guidance, typed]) == [  # typed keys keep their wait between keys
        fx.Gather((guidance,), finish_on_key="#", speech=False, timeout=6, falls_through=True, early=True),
        fx.Gather((say("Date?"),), finish_on_key="#", timeout=6)]
    keys = fx.Gather((), num_digits=1, speech=False)
    assert fx.barge_in([guidance, keys]) == [fx.Gather((guidance,), num_digits=1, speech=False)]  # nothing to split
    # A record or a dial ends the run: what is said before it stays outside.
    record = fx.Record(120)
    assert fx.barge_in([say("Leave a message."), record, say("Bye."), fx.Hangup()]) == [
        say("Leave a message."), record, say("Bye."), fx.Hangup()]
