"""The kind of crisis staff are told of (``ivr.core.crisis_kind``): labels, the one kept when several are heard,
and the timeline's words. Pure."""
from __future__ import annotations

import pytest

from ivr.core import crisis_kind
from ivr.core.crisis import CrisisCategory
from ivr.core.crisis_kind import CrisisKind
from ivr.core.timeline import describe


@pytest.mark.parametrize("kind, words", [
    (CrisisKind.SUICIDE_SELF_HARM, "suicide or self-harm"),
    (CrisisKind.HARM_TO_OTHERS, "harm to others"),
    (CrisisKind.IN_DANGER, "in danger"),
    (CrisisKind.MEDICAL_EMERGENCY, "medical emergency"),
    (CrisisKind.UNSPECIFIED, "said crisis or emergency, no kind given"),
    (CrisisKind.PRESSED_KEY, "pressed the crisis key"),
    (CrisisKind.VOICEMAIL_HARM_TO_OTHERS, "voicemail: harm to others"),
    (CrisisKind.VOICEMAIL_UNSPECIFIED, "voicemail: said crisis or emergency, no kind given"),
    (CrisisKind.TEXT_IN_DANGER, "text: in danger"),
])
def test_each_kind_has_plain_words(kind, words):
    assert kind.label == words == crisis_kind.label(kind.value)


def test_every_category_of_the_phrase_list_is_a_kind_heard_and_in_a_voicemail():
    for category in CrisisCategory:
        assert CrisisKind.heard(category).value == category.value
        assert CrisisKind.in_voicemail(category).value == "voicemail_" + category.value
        assert CrisisKind.in_voicemail(category).base == category.value


@pytest.mark.parametrize("kept, new, result", [
    (None, "pressed_key", "pressed_key"),
    ("pressed_key", None, "pressed_key"),
    ("pressed_key", "medical_emergency", "medical_emergency"),  # a kind said beats the bare key
    ("medical_emergency", "suicide_self_harm", "suicide_self_harm"),  # the more urgent
    ("suicide_self_harm", "harm_to_others", "suicide_self_harm"),
    ("unspecified", "voicemail_in_danger", "voicemail_in_danger"),
    ("in_danger", "voicemail_in_danger", "in_danger"),  # as urgent: the first heard stays
    ("voicemail_in_danger", "in_danger", "voicemail_in_danger"),
    ("no_such_kind", "in_danger", "in_danger"),  # a value this release does not know counts as none
])
def test_the_most_urgent_kind_is_kept_and_the_first_at_equal_urgency(kept, new, result):
    assert crisis_kind.graver(kept, new) == CrisisKind(result)


def test_the_timeline_names_every_kind_heard_in_words():
    entry = crisis_kind.timeline_entry([CrisisKind.IN_DANGER, CrisisKind.MEDICAL_EMERGENCY, CrisisKind.IN_DANGER])
    assert entry == "crisis_kind:in_danger+medical_emergency"
    assert describe(["main.main_menu", "main_menu:crisis", entry, "crisis.guidance"], {}) == [
        "Main menu", "Main menu: asked for urgent support", "Crisis heard: in danger, medical emergency", "Guidance"]
    assert describe(["crisis_kind:pressed_key"], {}) == ["Crisis heard: pressed the crisis key"]


def test_a_stored_value_with_no_kind_has_no_words():
    assert crisis_kind.label(None) == crisis_kind.label("") == ""
    assert crisis_kind.parse("gibberish") is None


def test_the_escalations_timeline_names_the_kinds_right_after_the_crisis_step():
    history = ["main.main_menu", "main_menu:crisis", "crisis.guidance", "guidance:crisis"]
    assert crisis_kind.with_kinds_heard(history, ["pressed_key", "in_danger"]) == [
        "main.main_menu", "main_menu:crisis", "crisis_kind:pressed_key+in_danger", "crisis.guidance", "guidance:crisis"]
    assert crisis_kind.with_kinds_heard(["main.main_menu"], ["voicemail_unspecified"]) == [
        "main.main_menu", "crisis_kind:voicemail_unspecified"]
    assert crisis_kind.with_kinds_heard(history, None) == history == crisis_kind.with_kinds_heard(history, ["junk"])


@pytest.mark.parametrize("words, kinds", [
    # Tester's finding (fix14-crisis): two kinds in one breath were heard as one.
    ("I want to kill myself and my husband", ["suicide_self_harm", "harm_to_others"]),
    ("I want to kill him and then myself", ["suicide_self_harm", "harm_to_others"]),
    ("I might hurt myself or someone else", ["suicide_self_harm", "harm_to_others"]),
    ("I'm going to shoot my wife and then kill myself", ["suicide_self_harm", "harm_to_others"]),
    ("my husband is going to kill me and I took all my pills", ["in_danger", "medical_emergency"]),
    ("I want to hurt someone", ["harm_to_others"]),
    ("I want to kill myself", ["suicide_self_harm"]),
])
def test_two_kinds_in_one_sentence_are_both_heard(words, kinds):
    from ivr.core.crisis import assess

    found = assess(words)
    assert found.is_crisis and [c.value for c in found.categories] == kinds


@pytest.mark.parametrize("words", ["I'm taking care of myself and my husband", "I would never hurt myself or anyone"])
def test_both_kinds_need_the_harm_words_not_denied(words):
    from ivr.core.crisis import assess

    assert not assess(words).is_crisis


# --------------------------------------------------------------------------- the engine keeps the kind

URGENT_WORDS_MENU = """
flow: main
globals:
  operator: {next: to_person}
  crisis: {key: "9", say: [urgent help], next: to_crisis}
steps:
  - id: menu
    menu:
      prompt: For billing press 1.
      options:
        - key: "1"
          say: [billing]
          next: billing
      give_up: billing
  - id: billing
    hangup: Billing.
  - id: to_person
    hangup: Operator.
  - id: to_crisis
    hangup: Crisis.
"""


@pytest.mark.parametrize("event, kind", [
    ("digits:9", "pressed_key"),
    ("say:press nine", "pressed_key"),
    ("say:urgent help", "unspecified"),  # the flow's own crisis words say no kind
    ("say:I want to die", "suicide_self_harm"),
    ("say:there's blood everywhere", "medical_emergency"),
    ("say:he's going to kill me", "in_danger"),
])
def test_the_engine_keeps_the_kind_and_never_the_words(event, kind):
    from ivr.core.events import Digits, Speech
    from tests.helpers.engine import at_menu, bye, flowset

    call = at_menu(flowset(URGENT_WORDS_MENU))
    how, _, what = event.partition(":")
    sent = Digits(what) if how == "digits" else Speech(what, 0.9)
    assert call.send(sent) == bye("Crisis.")
    assert call.session.vars["crisis_kind"] == kind
    assert call.session.vars["crisis_kinds_heard"] == [kind]
    assert "menu:crisis" in call.session.history
    assert what not in repr(call.session.vars) + repr(call.session.history) or how == "digits"
