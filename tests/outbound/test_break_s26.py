"""Break test bt1112-s26, the pure parts.

NIT 5: clinicians' initials that are ordinary words ("SO", "S.O."), keywords offered before their verb ("quit quits",
"cancel by replying") and care words in a caller name ("Mind Matters") are refused.

SHOULD-FIX 3: the practice's listed line (``TWILIO_NUMBER``, the number callers dial) is refused in
``caller_id.numbers`` as the front desk's number is, with file and line, by ``flows check`` and by the rules the
service loads; ``checked_from`` refuses it at send time too.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from ivr.actions.catalog import default_registry
from ivr.contact.sending import checked_from
from ivr.exceptions import OutboundRefused
from ivr.flowlang import store as flowstore
from ivr.outbound.lint import (
    Discretion,
    WordKind,
    caller_name_problems,
    opt_out_command_problems,
    template_problems,
)
from ivr.outbound.rules import CallerId, parse_outbound
from tests.helpers.flows import flows_check
from tests.helpers.outbound import practice

ROOT = Path(__file__).resolve().parents[2]
PRACTICE = practice()
LISTED = "+15555550100"  # the demo practice's number at the stand-in (DEMO_PRACTICE_NUMBER)
POOL = """\
caller_id:
  name: Appointments
  numbers: ["+1 555 010 0190", "+1 555 555 0100"]
"""


def test_the_listed_line_is_refused_in_the_pool_with_its_line() -> None:
    rules, problems = parse_outbound(POOL, PRACTICE, listed_numbers=["+1 (555) 555-0100"])
    assert rules is None
    assert [str(p) for p in problems if p.severity == "error"] == [
        "outbound.yaml:3: caller_id.numbers[1]: '+1 555 555 0100' is the practice's listed line (TWILIO_NUMBER, the "
        "number callers dial), not a neutral outbound number: every call and text would show it and its caller name"]


def test_without_a_listed_line_the_same_pool_loads_and_keeps_the_refused_numbers() -> None:
    rules, _ = parse_outbound(POOL, PRACTICE)
    assert rules is not None and rules.caller_id.numbers == ("+15550100190", LISTED)
    listed, _ = parse_outbound(POOL.replace(', "+1 555 555 0100"', ""), PRACTICE, listed_numbers=[LISTED])
    assert listed is not None and LISTED in listed.caller_id.refused


def test_checked_from_refuses_the_listed_line_even_in_the_pool() -> None:
    rules, _ = parse_outbound(POOL, PRACTICE)
    assert rules is not None
    forced = dataclasses.replace(rules, caller_id=CallerId("Appointments", rules.caller_id.numbers, refused=(LISTED,)))
    assert checked_from(forced, "+15550100190") == "+15550100190"
    with pytest.raises(OutboundRefused, match="listed line"):
        checked_from(forced, LISTED)


def _flows_with_listed_line(tmp_path: Path) -> tuple[Path, int]:
    flows_dir = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows_dir)
    text = (flows_dir / "outbound.yaml").read_text()
    original = '    - "+1 555 010 0191"\n'
    assert original in text
    line = text[:text.index(original)].count("\n") + 1
    (flows_dir / "outbound.yaml").write_text(text.replace(original, '    - "+1 555 555 0100"\n'))
    return flows_dir, line


def test_the_flow_store_refuses_the_listed_line_it_is_given(tmp_path: Path) -> None:
    flows_dir, line = _flows_with_listed_line(tmp_path)
    _, problems = flowstore.check_dir(flows_dir, default_registry().signatures(), listed_numbers=[LISTED])
    assert [str(p).split(" (")[0] for p in problems if p.severity == "error"] == [
        f"outbound.yaml:{line}: caller_id.numbers[1]: '+1 555 555 0100' is the practice's listed line"]
    store = flowstore.FlowStore(flows_dir, default_registry().signatures(), listed_numbers=[LISTED])
    store.load()
    assert any("listed line" in p.message for p in store.problems)


def test_flows_check_refuses_twilio_number_in_the_pool(tmp_path: Path) -> None:
    flows_dir, line = _flows_with_listed_line(tmp_path)
    assert flows_check(str(flows_dir)).returncode == 0  # no TWILIO_NUMBER: nothing to compare with
    refused = flows_check(str(flows_dir), extra_env={"TWILIO_NUMBER": LISTED})
    assert refused.returncode == 1
    assert (f"outbound.yaml:{line}: caller_id.numbers[1]: '+1 555 555 0100' is the practice's listed line "
            "(TWILIO_NUMBER, the number callers dial)") in refused.stderr


# NIT 5: clinicians' initials that are also ordinary words, opt-out keywords offered after the fact, care words in a
# caller name.
LINT = Discretion.for_practice("Lakeside Counseling Collective",
                               clinician_names=["Dr. Maya Chen", "Sam Ortiz, LCSW", "Anna Martin"])


@pytest.mark.parametrize("words, initials", [("See SO today.", "SO"), ("With S.O. at {{ time }}.", "SO"),
                                             ("With S. O. today.", "SO"), ("AM will see you.", "AM"),
                                             ("M.C. today.", "MC")])
def test_a_clinicians_initials_in_capitals_are_refused_even_when_they_are_a_word(words: str, initials: str) -> None:
    assert [p.message for p in template_problems(words, WordKind.TEXT, LINT)] == [
        f"not discreet: it names a clinician (the initials {initials!r})"]


@pytest.mark.parametrize("words", ["So glad to see you.", "so, see you then", "Your time: 10 AM.", "At 9AM.",
                                   "Reply OK… no: call us at {{ callback_number }}."])
def test_the_word_so_and_times_still_pass(words: str) -> None:
    assert template_problems(words, WordKind.TEXT, LINT) == []


@pytest.mark.parametrize("words, keyword", [("1 confirms; quit quits.", "QUIT"),
                                            ("If you can't come, cancel by replying.", "CANCEL"),
                                            ("Stop by texting us.", "STOP")])
def test_a_keyword_offered_before_its_verb_is_refused(words: str, keyword: str) -> None:
    assert opt_out_command_problems(words) == [
        f"it invites the reply {keyword!r}, which carriers treat as an opt-out from every text (only the opt-out "
        "notice may mention STOP; offer digits or words like 'change')"]


@pytest.mark.parametrize("words", ["We'll cancel by texting you.", "If you need to cancel, call us.",
                                   "Please come by the end of the week."])
def test_keywords_as_ordinary_words_still_pass(words: str) -> None:
    assert opt_out_command_problems(words) == []


@pytest.mark.parametrize("name, word", [("Mind Matters", "mind"), ("Healing Hands", "healing"),
                                        ("Calm Center", "calm")])
def test_caller_names_with_care_words_are_refused(name: str, word: str) -> None:
    assert caller_name_problems(name, LINT) == [
        f"not discreet: it says {word!r} (a caller name with a care word reads as a practice's name)"]


def test_care_words_of_caller_names_pass_in_texts() -> None:
    assert template_problems("Stay calm, never mind the rain: see you {{ when }}.", WordKind.TEXT, LINT) == []
