"""A call's timeline in words for staff (ivr.core.timeline): labels from the flows, ids in words otherwise."""
from __future__ import annotations

import pytest

from ivr.core.flow import step_label
from ivr.core.timeline import describe, reason_label
from tests.helpers.engine import flowset

FLOWS = flowset("""
flow: main
steps:
  - id: main_menu
    label: The main menu
    menu:
      prompt: Press 1.
      options:
        - {key: "1", next: connect}
      give_up: nobody_free
  - id: connect
    transfer:
      to: [front_desk]
      timeout: 20
      say: One moment while I connect you.
    next: nobody_free
  - id: nobody_free
    hangup: Bye.
""").flows


@pytest.mark.parametrize(("entry", "words"), [
    ("main.main_menu", "The main menu"),
    ("main.nobody_free", "Nobody free"),
    ("main_menu:1", "The main menu: pressed 1"),
    ("main_menu:no-match", "The main menu: not understood"),
    ("main_menu:low-confidence", "The main menu: not heard clearly"),
    ("main_menu:crisis", "The main menu: asked for urgent support"),
    ("main_menu:appointments/reschedule", "The main menu: appointments, to reschedule"),
    ("main_menu:new_client", "The main menu: new client"),
    ("ask_dob:confirm", "Ask dob: answer read back"),
    ("ask_dob:corrected", "Ask dob: answer corrected by the caller"),
    ("ask_dob:confirm-unclear", "Ask dob: yes or no not heard clearly, asked by key"),
    ("check:failed", "Check: failed"),  # an action's outcome: not a call that failed (break-test 14 finding 10)
    ("check:verified", "Check: identity confirmed"),
    ("lookup:withheld", "Lookup: number withheld"),
    ("connect:failed", "Connect: call failed"),  # a transfer step's dial
    ("connect:no-answer", "Connect: no answer"),
    ("ended:completed", "Call ended"),
    ("ended:failed", "Call ended (call failed)"),
    ("ended:no-answer", "Call ended (no answer)"),
    ("limit:exceeded", "Call went on too long: handed to staff"),
    ("restart:flows-changed", "Started again: the flows changed during the call"),
    ("gone.step_x", "Step x"),  # a flow no longer loaded: the id in words
    ("callback_request", "Callback request"),
])
def test_each_entry_in_words(entry: str, words: str) -> None:
    context = [] if entry.startswith("gone.") or "." in entry else ["main.main_menu"]
    assert describe([*context, entry], FLOWS)[-1] == words


def test_step_labels_default_to_the_id_in_words() -> None:
    assert [step_label(s) for s in ("nobody_free", "callback-request", "to_person", "x")] == [
        "Nobody free", "Callback request", "To person", "X"]
    assert FLOWS["main"].steps["nobody_free"].label == "Nobody free"
    assert FLOWS["main"].steps["main_menu"].label == "The main menu"


def test_reasons_by_their_plain_names() -> None:
    assert reason_label("callback_request", {"callback_request": "Callback request"}) == "Callback request"
    assert reason_label("portal_help", {}) == "Portal help"


def test_a_refused_read_back_reads_as_said_no_and_the_number_given_again() -> None:
    """bt14 s24 nit 6: a read-back turned down, then the number given again, is not "answered" twice."""
    flows = flowset("""
flow: main
steps:
  - id: ask_number
    label: Callback number
    ask: {var: n, type: phone, prompt: Your number?, give_up: bye}
  - id: confirm_number
    label: Callback number read back
    ask: {var: ok, type: yes_no, prompt: Right?, give_up: bye}
  - id: bye
    hangup: Bye.
""").flows
    entries = ["main.ask_number", "ask_number:ok", "main.confirm_number", "confirm_number:no",
               "main.ask_number", "ask_number:ok", "main.confirm_number", "confirm_number:yes", "main.bye"]
    assert describe(entries, flows) == [
        "Callback number", "Callback number: answered", "Callback number read back",
        "Callback number read back: said no", "Callback number", "Callback number: gave it again",
        "Callback number read back", "Callback number read back: said yes", "Bye"]


def test_a_key_pressed_during_the_greeting_says_so() -> None:
    """bt14-s25 nit 6: 9 pressed while the greeting played reads as such, and only on the entry it marks."""
    entries = ["main.main_menu", "keyed-during-greeting", "main_menu:crisis", "main.main_menu", "main_menu:1"]
    assert describe(entries, FLOWS) == [
        "The main menu", "The main menu (during the greeting): asked for urgent support", "The main menu",
        "The main menu: pressed 1"]
