"""Issue 11/12 break-test round: disguised words are refused like plain ones, ordinary words are not.

The lint compares skeletons (ivr.outbound.skeleton): NFKC, case folded, look-alike letters made Latin
(Unicode's confusables data), invisible characters dropped, digits for letters read as letters, separators
and words run together undone.  Decided: two ordinary words are never joined ("the rapist" is not
"therapist"; "Lake Street" is not "lakeside"), a disguise inside one token is ("the-rapist").
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.actions.catalog import default_registry
from ivr.flowlang import store as flowstore
from ivr.outbound import skeleton
from ivr.outbound.lint import Discretion, WordKind, caller_name_problems, template_problems

ROOT = Path(__file__).resolve().parents[2]
LINT = Discretion.for_practice("Lakeside Counseling Collective", clinician_names=["Dr. Maya Chen", "Sam Ortiz, LCSW"],
                               never_say=["Elm Street"])
PRACTICE = "not discreet: it names the practice ('{}' is in 'Lakeside Counseling Collective')"


def says(word: str) -> str:
    return f"not discreet: it says {word!r}"


REFUSED = [
    # the practice name in a web address, run together, abbreviated
    ("Pay online at https://lakesidecounseling.example/pay",
     [PRACTICE.format("lakeside"), "not discreet: it says 'counsel…' (in 'httpslakesidecounselingexamplepay')"]),
    ("Pay at www.lakeside.example", [PRACTICE.format("lakeside")]),
    ("From LakesideCC", [PRACTICE.format("lakeside")]),
    ("From L.C.C. scheduling", [PRACTICE.format("lcc")]),
    ("From l-c-c", [PRACTICE.format("lcc")]),
    ("Our lakeside-counseling office", [says("counseling"), PRACTICE.format("lakeside")]),
    ("LAKESIDE_COLLECTIVE billing", [PRACTICE.format("lakeside"), PRACTICE.format("collective")]),
    ("\u13de\u13aa\u13e6\u13ac\u13da\u13a5\u13a0\u13ac", [PRACTICE.format("lakeside")]),  # Cherokee look-alikes
    # care words the plain list missed
    ("Your hypnotherapy appointment", ["not discreet: it says 'therap…' (in 'hypnotherapy')"]),
    ("Your telepsychiatry visit", [says("telepsychiatry")]),
    ("Your EMDR appointment", [says("emdr")]),
    ("Your DBT group", [says("dbt")]),
    ("The D.B.T. group", [says("dbt")]),
    ("The IOP schedule", [says("iop")]),
    ("Your meds", [says("meds")]),
    ("Medication management at {{ time }}", [says("medication"), says("medication management")]),
    ("Your med check at {{ time }}", [says("med check")]),
    ("Your intensive outpatient program", [says("patient"), says("intensive outpatient"), says("outpatient")]),
    ("Your SSRI refill", [says("refill"), says("ssri")]),
    # homoglyphs, invisible characters, full-width letters, digits for letters, spacing
    ("Your th\u0435rapy appointment", [says("therapy")]),  # Cyrillic е
    ("Your \u0442herapy appointment", [says("therapy")]),  # Cyrillic т, listed beside small-capital T
    ("Your thera\u200dpy appointment", [says("therapy")]),  # zero-width joiner
    ("Your \uff54\uff48\uff45\uff52\uff41\uff50\uff59 appointment", [says("therapy")]),  # full-width
    ("Your th3rapy appointment", [says("therapy")]),
    ("Your c0unse1ing appointment", [says("counseling")]),
    ("Your t h e r a p y appointment", [says("therapy")]),
    ("Your psych0therapy", [says("psych"), says("psychotherapy")]),
    ("Your the-rapist", ["not discreet: it says 'therap…' (in 'therapist')"]),
    ("Your TheRapist", [says("therapist")]),
    # clinicians and never_say, disguised
    ("A message from MayaChen", ["not discreet: it names a clinician ('Maya Chen')",
                                 "not discreet: it names a clinician ('Maya')",
                                 "not discreet: it names a clinician ('Chen')"]),
    ("A message from M.a.y.a", ["not discreet: it names a clinician ('Maya')"]),
    ("Meet us on Elm-Street", ["not discreet: it says 'Elm Street' (in discretion.never_say)"]),
    ("Meet us on \u0415lm Street", ["not discreet: it says 'Elm Street' (in discretion.never_say)"]),
]

ALLOWED = [
    "Was it the rapist?",  # two ordinary words are never joined (decided; see the module docstring)
    "Meet us on Lake Street",
    "Your medical appointment {{ when }}",
    "Your appointment {{ when }}",
    "Hi {{ first_name }}, see you {{ when }}. Reply 1 to confirm or 2 to change it.",
    "Please call us back at {{ callback_number }}.",
    "See you in the kitchen.",  # "Chen" is short: found only as a whole word
    "Your lake view appointment",
    "Please bring your ID card.",
    "Reply 1 for yes, 2 for another time.",
    "Parking is at 10 Main St.",
    "Our office is closed on Dec 24.",
    "This is a message about a business matter.",
    "Your appointment is confirmed for 3 PM.",
    "Visit https://pay.example/a1b2 to pay.",
    "Your collection is ready.",
]


@pytest.mark.parametrize("words, expected", REFUSED)
def test_disguised_words_are_refused_like_plain_ones(words: str, expected: list[str]) -> None:
    assert [p.message for p in template_problems(words, WordKind.TEXT, LINT)] == expected


@pytest.mark.parametrize("words", ALLOWED)
def test_ordinary_words_are_not_refused(words: str) -> None:
    assert template_problems(words, WordKind.TEXT, LINT) == []


def test_the_table_has_at_least_forty_rows_both_ways() -> None:
    assert len(REFUSED) + len(ALLOWED) >= 40 and len(REFUSED) >= 20 and len(ALLOWED) >= 15


def test_the_caller_name_is_checked_by_its_skeleton_too() -> None:
    assert caller_name_problems("LakesideCC", LINT) == [f"not discreet: {PRACTICE.format('lakeside')[14:]}"]
    assert caller_name_problems("Appointments", LINT) == []


@pytest.mark.parametrize("words", ["Lake Side billing", "Call Lake side today", "LAKE SIDE", "Col lective"])
def test_a_distinctive_word_of_the_practice_split_in_two_is_refused(words: str) -> None:
    [problem] = [p.message for p in template_problems(words, WordKind.TEXT, LINT)]
    assert problem.startswith("not discreet: it names the practice (") and "split" in problem


@pytest.mark.parametrize("name", ["New York", "new york", "NY", "Texas", "Chicago", "Austin, TX", "Springfield, IL",
                                  "St. Paul", "Washington DC"])
def test_a_city_or_a_state_is_refused_as_the_caller_name(name: str) -> None:
    assert caller_name_problems(name, LINT) == [
        "it is a city or a state, which carriers refuse as a caller name (and show anyway when no name is "
        "registered): register a neutral name such as 'Appointments'"]


@pytest.mark.parametrize("name", ["Appointments", "Front Office", "Billing", "Reminders", "Main Office"])
def test_neutral_caller_names_pass(name: str) -> None:
    assert caller_name_problems(name, LINT) == []


def test_the_care_vocabulary_is_data_with_its_sources() -> None:
    vocabulary = skeleton.care_vocabulary()
    assert {"emdr", "dbt", "iop", "meds", "medication management", "telepsychiatry"} <= set(vocabulary.words)
    assert {"therap", "psych", "counsel", "hypno"} <= set(vocabulary.stems)
    source = (ROOT / "ivr" / "outbound" / "care_vocabulary.toml").read_text()
    assert "Sources:" in source and "N-SUMHSS" in source


def test_flows_check_refuses_a_disguised_practice_name_with_file_and_line(tmp_path: Path) -> None:
    flows_dir = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows_dir)
    text = (flows_dir / "outbound.yaml").read_text()
    original = "  text: Hello, this is a message about an appointment. Please call us at {{ callback_number }}.\n"
    assert original in text
    line = text[:text.index(original)].count("\n") + 1
    (flows_dir / "outbound.yaml").write_text(text.replace(
        original, "  text: Hello from L\u0430kesideCC. Please call us at {{ callback_number }}.\n"))
    flows, problems = flowstore.check_dir(flows_dir, default_registry().signatures())
    assert flows is not None
    assert [str(p) for p in problems if p.severity == "error"] == [
        f"outbound.yaml:{line}: neutral.text: not discreet: {PRACTICE.format('lakeside')[14:]}"]
