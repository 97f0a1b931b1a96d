"""The engine at menus and with the flow's global keys (operator, crisis): exact effects and session fields."""
from __future__ import annotations

import pytest

from ivr.core import effects as fx
from ivr.core.call_state import Waiting
from ivr.core.events import (
    Digits,
    NoInput,
    Speech,
)
from ivr.core.flow import FlowSet
from tests.helpers.engine import (
    CALLER,
    LANGUAGE,
    MENU,
    MENU_HINTS,
    NO_INPUT,
    NO_MATCH,
    OPEN,
    Call,
    ask_flows,
    at_menu,
    bye,
    flowset,
    menu_gather,
    say,
)

# --------------------------------------------------------------------------- menus



def test_call_started_plays_the_menu(menu_flows: FlowSet) -> None:
    call = Call(menu_flows)
    out = call.start()
    assert out == [fx.Gather(
        prompts=(fx.Say("For billing press 1. For appointments press 2.", "Polly.Joanna", "en-US"),),
        num_digits=1, finish_on_key=None, speech=True, hints=MENU_HINTS, timeout=6, language="en-US",
                speech_model="phone_call", enhanced=True,
    )]
    s = call.s
    assert (s.call_sid, s.caller, s.started_at) == ("CA0001", CALLER, OPEN.isoformat())
    assert (s.flow, s.step, s.waiting, s.attempts, s.steps_taken) == ("main", "menu", Waiting.INPUT, 0, 1)
    assert s.vars == {} and s.history == ["main.menu"] and not s.ended


@pytest.mark.parametrize(
    ("event", "expected", "note"),
    [
        (Digits("1"), bye("Billing."), "menu:1"),
        (Digits("2"), bye("Scheduling."), "menu:2"),
        (Speech("billing", 0.9), bye("Billing."), "menu:1"),
        (Speech("I'd like to pay my bill please", 0.8), bye("Billing."), "menu:1"),
        (Speech("Reschedule.", 0.9), bye("Scheduling."), "menu:2"),
        (Speech("booking", 0.9), bye("Booking."), "menu:booking"),  # an option with phrases only
        (Speech("two", 0.9), bye("Scheduling."), "menu:2"),
        (Speech("press two", 0.9), bye("Scheduling."), "menu:2"),
        (Speech("option 1", 0.9), bye("Billing."), "menu:1"),
        (Speech("pay my bill, not reschedule", 0.9), bye("Billing."), "menu:1"),  # longest phrase wins
    ],
)
def test_menu_choice(menu_flows: FlowSet, event, expected, note: str) -> None:
    call = at_menu(menu_flows)
    assert call.send(event) == expected
    target = {"Billing.": "billing", "Scheduling.": "scheduling", "Booking.": "booking"}[expected[0].text]
    assert call.s.history == ["main.menu", note, f"main.{target}"]
    assert (call.s.step, call.s.waiting) == (target, Waiting.NOTHING)


SECOND_MISS = ("Sorry, that key is not one of the choices. You can press 1 for billing or 2 for appointment. Or say "
               "booking. To speak with someone, press 0. For urgent support, press 9.")


@pytest.mark.parametrize("misses", [[Digits("7"), Digits("7")], [Digits("7"), Digits("8")],
                                    [Speech("hmm", 0.9), Digits("7")]])
def test_a_second_miss_never_hears_the_same_turn_again_and_keeps_the_crisis_option(menu_flows: FlowSet,
                                                                                   misses: list) -> None:
    """Review 14 finding 15: a wrong key twice is not answered with the same full sentence twice."""
    call = at_menu(menu_flows)
    first = call.send(misses[0])
    second = call.send(misses[1])
    assert first == [menu_gather(NO_MATCH)]
    assert second == [menu_gather(SECOND_MISS, short=True)]
    assert first != second


@pytest.mark.parametrize(
    "event",
    [
        Speech("billing or booking", 0.9),  # a tie between two options' phrases
        Speech("something else", 0.9),
        Speech("press seven", 0.9),
        Speech("press 7 1", 0.9),  # only one of the two keys is a choice: not guessed, asked again
        Digits("7"),
        Digits("*"),
    ],
)
def test_menu_no_match(menu_flows: FlowSet, event) -> None:
    call = at_menu(menu_flows)
    assert call.send(event) == [menu_gather(NO_MATCH)]
    assert (call.s.step, call.s.waiting, call.s.attempts) == ("menu", Waiting.INPUT, 1)
    assert call.s.history == ["main.menu", "menu:no-match"]


@pytest.mark.parametrize(("said", "keys"), [("one two", "1 or 2"), ("press 12", "1 or 2"), ("press twelve", "1 or 2"),
                                            ("press 2 1", "2 or 1"), ("press 1 0", "1 or 0")])
def test_two_keys_said_at_once_are_asked_about_not_guessed(menu_flows: FlowSet, said: str, keys: str) -> None:
    call = at_menu(menu_flows)
    asked = f"Did you mean {keys}? Please press just one key. For urgent support, press 9."
    assert call.send(Speech(said, 0.9)) == [menu_gather(asked, short=True)]
    assert call.s.history == ["main.menu", "menu:two-keys"] and call.s.step == "menu"
    assert call.send(Digits("2")) == bye("Scheduling.")


@pytest.mark.parametrize(("said", "expected"), [("press 5 5", None), ("press 2 2", "Scheduling."),
                                                ("two two", "Scheduling."), ("double one", "Billing."),
                                                # fix14-left finding 2: the same run in any written form
                                                ("press 22", "Scheduling."), ("twenty two", "Scheduling."),
                                                ("press twenty-two", "Scheduling."), ("two twos", "Scheduling."),
                                                ("press 1 twice", "Billing."), ("press 55", None)])
def test_a_key_said_twice_is_that_key(menu_flows: FlowSet, said: str, expected: str | None) -> None:
    call = at_menu(menu_flows)
    out = call.send(Speech(said, 0.9))
    assert out == (bye(expected) if expected else [menu_gather(NO_MATCH)])


def test_reprompts_no_input_then_no_match_then_give_up(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(NoInput()) == [menu_gather(NO_INPUT)]
    assert (call.s.attempts, call.s.steps_taken) == (1, 2)
    # A miss right after a re-prompt gets the options in fewer words (review 14 finding 15).
    assert call.send(Digits("7")) == [menu_gather(SECOND_MISS, short=True)]
    assert (call.s.attempts, call.s.steps_taken) == (2, 3)
    # Two reprompts by default; the third miss gives up.
    assert call.send(Speech("hmm", 0.9)) == bye("Giving up.")
    assert call.s.history == ["main.menu", "menu:no-input", "menu:no-match", "menu:no-match", "menu:give-up",
                              "main.gave_up"]
    assert (call.s.step, call.s.waiting, call.s.attempts) == ("gave_up", Waiting.NOTHING, 0)


def test_empty_digits_and_empty_speech_are_no_input(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(Digits("")) == [menu_gather(NO_INPUT)]
    # the same miss again: the options by key, never the same turn twice (bt14-s27 SHOULD-FIX 5)
    assert call.send(Speech("  ", 0.9)) == [menu_gather(
        "Sorry, I still didn't hear anything. You can press 1 for billing or 2 for appointment. Or say booking. To "
        "speak with someone, press 0. For urgent support, press 9.", short=True)]
    assert call.send(NoInput()) == bye("Giving up.")
    assert call.s.history[1:4] == ["menu:no-input"] * 3


def test_a_good_answer_after_reprompts(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    call.send(NoInput())
    call.send(NoInput())
    assert call.s.attempts == 2
    assert call.send(Digits("1")) == bye("Billing.")


def test_custom_retries_messages_and_timeout() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: menu
            menu:
              prompt: Press 1.
              options:
                - {key: "1", next: done}
              retries: 1
              timeout: 10
              no_input: "Are you there, {{ caller.first_name or 'friend' }}?"
              no_match: That is not an option.
              give_up: gave_up
          - id: done
            hangup: Done.
          - id: gave_up
            hangup: Giving up.
    """)

    def gather(*prompts: str) -> fx.Gather:
        return fx.Gather(tuple(say(p) for p in prompts), num_digits=1, hints=(), timeout=10, language=LANGUAGE,
                speech_model="phone_call", enhanced=True)

    call = Call(flows)
    assert call.start() == [gather("Press 1.")]
    assert call.send(Digits("5")) == [gather("That is not an option.", "Press 1.")]
    assert call.send(NoInput()) == bye("Giving up.")  # one reprompt only

    call = Call(flows)
    call.start()
    assert call.send(NoInput()) == [gather("Are you there, friend?", "Press 1.")]


def test_retries_zero_gives_up_at_the_first_miss() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: menu
            menu:
              prompt: Press 1.
              options: [{key: "1", next: done}]
              retries: 0
              give_up: gave_up
          - id: done
            hangup: Done.
          - id: gave_up
            hangup: Giving up.
    """)
    call = Call(flows)
    call.start()
    assert call.send(NoInput()) == bye("Giving up.")
    assert call.s.history == ["main.menu", "menu:no-input", "menu:give-up", "main.gave_up"]


@pytest.mark.parametrize("confidence", [0.0, 0.2, 0.39])
def test_low_confidence_speech_is_no_match(menu_flows: FlowSet, confidence: float) -> None:
    call = at_menu(menu_flows)
    assert call.send(Speech("billing", confidence)) == [menu_gather(NO_MATCH)]
    assert call.s.history[-1] == "menu:low-confidence"
    assert call.s.attempts == 1


def test_confidence_at_the_threshold_counts(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(Speech("billing", 0.4)) == bye("Billing.")


def test_flow_sets_its_own_confidence_threshold() -> None:
    flows = flowset(MENU.replace("globals:", "speech: {min_confidence: 0.7}\nglobals:"))
    call = at_menu(flows)
    assert call.send(Speech("billing", 0.69)) == [menu_gather(NO_MATCH)]
    assert call.send(Speech("billing", 0.7)) == bye("Billing.")


def test_low_confidence_crisis_words_still_reach_the_crisis_path(menu_flows: FlowSet) -> None:
    call = at_menu(menu_flows)
    assert call.send(Speech("emergency", 0.1)) == bye("Crisis.")
    assert call.s.history == ["main.menu", "menu:crisis", "main.to_crisis"]


# --------------------------------------------------------------------------- global handlers


@pytest.mark.parametrize(
    ("event", "expected", "handler"),
    [
        (Digits("0"), "Operator.", "operator"),
        (Digits("0#"), "Operator.", "operator"),
        (Digits("9"), "Crisis.", "crisis"),
        (Speech("operator", 0.9), "Operator.", "operator"),
        (Speech("Can I talk to a person?", 0.8), "Operator.", "operator"),
        (Speech("front desk please", 0.9), "Operator.", "operator"),
        (Speech("This is an emergency", 0.9), "Crisis.", "crisis"),
        (Speech("I want to hurt myself", 0.9), "Crisis.", "crisis"),
        # Both phrases said: the crisis handler wins.
        (Speech("I need someone, it's an emergency", 0.9), "Crisis.", "crisis"),
        (Speech("crisis operator", 0.9), "Crisis.", "crisis"),
        # The keys may be spoken like any menu key.
        (Speech("nine", 0.9), "Crisis.", "crisis"),
        (Speech("press zero", 0.9), "Operator.", "operator"),
        # A global phrase beats a menu option's phrase.
        (Speech("billing operator", 0.9), "Operator.", "operator"),
    ],
)
def test_global_handlers_at_a_menu(menu_flows: FlowSet, event, expected: str, handler: str) -> None:
    call = at_menu(menu_flows)
    assert call.send(event) == bye(expected)
    target = {"operator": "to_person", "crisis": "to_crisis"}[handler]
    assert call.s.history == ["main.menu", f"menu:{handler}", f"main.{target}"]




@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (Digits("0"), "Operator."),
        (Digits("9"), "Crisis."),
        (Speech("a representative please", 0.9), "Operator."),
        (Speech("crisis", 0.9), "Crisis."),
        (Speech("someone help, I feel suicidal", 0.9), "Crisis."),
        (Speech("zero", 0.9), "Operator."),
    ],
)
def test_global_handlers_at_an_ask(pin_flows: FlowSet, event, expected: str) -> None:
    call = Call(pin_flows)
    call.start()
    assert call.send(event) == bye(expected)
    assert "answer" not in call.s.vars


def test_global_handlers_at_a_yes_no_ask() -> None:
    call = Call(ask_flows("type: yes_no"))
    call.start()
    assert call.send(Digits("9")) == bye("Crisis.")
    call = Call(ask_flows("type: yes_no"))
    call.start()
    assert call.send(Speech("no, get me an operator", 0.9)) == bye("Operator.")


def test_custom_global_key_and_phrases() -> None:
    flows = flowset(MENU.replace("operator: {next: to_person}", "operator: {key: '*', say: [human], next: to_person}")
                        .replace('crisis: {key: "9", next: to_crisis}', "crisis: {say: urgent, next: to_crisis}"))
    call = at_menu(flows)
    assert call.s.history == ["main.menu"]
    assert call.send(Digits("*")) == bye("Operator.")
    call = at_menu(flows)
    assert call.send(Speech("a human", 0.9)) == bye("Operator.")
    call = at_menu(flows)
    # Custom phrases replace the defaults; without a key, 9 is just an unknown option.
    assert call.send(Speech("operator", 0.9))[0].prompts[0] == say(NO_MATCH)
    # ... and the shorter re-prompt names the crisis option as it works here: by its word.
    assert call.send(Digits("9"))[0].prompts == (say(
        "Sorry, that key is not one of the choices. You can press 1 for billing or 2 for appointment. Or say "
        "booking. To speak with someone, press *. For urgent support, say crisis."),)
    assert call.send(Speech("it's urgent", 0.9)) == bye("Crisis.")


def test_no_globals_means_zero_is_just_a_wrong_key() -> None:
    flows = flowset("""
        flow: main
        steps:
          - id: menu
            menu:
              prompt: Press 1.
              options: [{key: "1", next: done}]
              give_up: done
          - id: done
            hangup: Done.
    """)
    call = Call(flows)
    assert call.start() == [fx.Gather((say("Press 1."),), num_digits=1, hints=(), timeout=6, language=LANGUAGE,
            speech_model="phone_call", enhanced=True)]
    assert call.send(Digits("0")) == [fx.Gather((say(NO_MATCH), say("Press 1.")), num_digits=1, hints=(), timeout=6,
                                                language=LANGUAGE, speech_model="phone_call", enhanced=True)]
    # no operator and no crisis path here: the shorter re-prompt names neither
    assert call.send(Speech("operator", 0.9))[0].prompts == (say("Sorry, I still didn't catch that. You can press 1."),)
