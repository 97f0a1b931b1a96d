"""bt14-s24 blocker 2: the greeting's "press 9 at any time" (and the main menu's "press 0") is the practice's
promise, kept at every prompt of every flow the call reaches, also in an owner's flow that declares no ``globals``
(``Engine._handlers``). Whole calls through the simulator: signed webhooks, the TwiML followed verb by verb."""
from __future__ import annotations

import pytest

from tests.helpers.service import stored_state

ON_CALL = "I am connecting you with our on-call clinician now."
SURVEY_MENU = "How was your call? Press 1 for good, 2 for bad."

# The break-test's owner flow, reached from the main menu's key 5, with no `globals`; its date ask says how 9
# works there (else `flows check` refuses it: tests/broken_flows/any_time_key_in_a_flow_without_globals).
SURVEY = """\
flow: survey
steps:
  - id: rate
    menu:
      prompt: How was your call? Press 1 for good, 2 for bad.
      options:
        - key: "1"
          next: bye
        - key: "2"
          next: when
      give_up: bye
  - id: when
    ask:
      var: visit_date
      type: date
      prompt: When was your last visit? If you are in crisis, press 9 and then pound.
      give_up: bye
    next: bye
  - id: bye
    hangup: Goodbye.
"""


@pytest.fixture
def flows_dir(flows_dir):
    """The shipped flows plus the owner's survey, reached from the main menu's key 5."""
    main = flows_dir / "main.yaml"
    text = main.read_text("utf-8")
    option = "          next: to_intake\n"
    assert option in text
    text = text.replace(option, option + '        - {key: "5", say: [survey], next: to_survey}\n', 1)
    step = "  - id: identify\n    goto: identify\n"
    assert step in text
    text = text.replace(step, step + "  - id: to_survey\n    goto: survey\n", 1)
    main.write_text(text, "utf-8")
    (flows_dir / "survey.yaml").write_text(SURVEY, "utf-8")
    return flows_dir


def test_nine_at_a_menu_of_a_flow_without_globals_goes_to_the_crisis_path(sim, redis_conn):
    result = sim.call(script="5;9;answer")
    assert SURVEY_MENU in result.heard
    assert result.heard[-1] == ON_CALL
    assert not any(h.startswith("Sorry") for h in result.heard)
    state = stored_state(redis_conn, result.call_sid)
    assert "survey.rate" in state["history"] and "main.to_crisis" in state["history"]
    assert not any(h.startswith("We're sorry") for h in result.heard)  # the inherited key, no failed webhook
    assert state["vars"]["crisis_kind"] == "pressed_key"  # staff see how the crisis came (fix14-crisis)


def test_nine_said_at_a_menu_of_a_flow_without_globals_goes_to_the_crisis_path(sim, redis_conn):
    result = sim.call(script="5;say:press nine;answer")
    assert result.heard[-1] == ON_CALL
    assert "main.to_crisis" in stored_state(redis_conn, result.call_sid)["history"]


def test_nine_then_pound_at_a_typed_ask_of_a_flow_without_globals_goes_to_the_crisis_path(sim, redis_conn):
    result = sim.call(script="5;2;9#;answer")
    assert "When was your last visit? If you are in crisis, press 9 and then pound." in result.heard
    assert result.heard[-1] == ON_CALL
    assert "main.to_crisis" in stored_state(redis_conn, result.call_sid)["history"]


def test_zero_at_a_flow_without_globals_reaches_a_person(sim, redis_conn):
    result = sim.call(script="5;0;hangup")
    history = stored_state(redis_conn, result.call_sid)["history"]
    assert "survey.rate" in history and "main.to_person" in history


def test_the_short_reprompt_of_a_flow_without_globals_names_the_key_that_works(sim, redis_conn):
    result = sim.call(script="5;7;7;9;answer")
    assert any(h.endswith("For urgent support, press 9.") for h in result.heard[2:])
    assert result.heard[-1] == ON_CALL
