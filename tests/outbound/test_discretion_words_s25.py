"""Break test s25: ``discretion.distinctive_words`` adds to the practice-name check, never replaces it (SHOULD-FIX 2);
substance-use and everyday care words ("AA meeting", "shrink", "ther apy", "PSY", caller names "Wellness",
"Mind Care") are refused, ordinary words still pass (NIT 6).  ``flows check`` reports them with file and line."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.actions.catalog import default_registry
from ivr.flowlang import store as flowstore
from ivr.outbound.lint import Discretion, WordKind, caller_name_problems, template_problems

ROOT = Path(__file__).resolve().parents[2]
NAME = "Lakeside Counseling Collective"
LINT = Discretion.for_practice(NAME)


def says(word: str) -> str:
    return f"not discreet: it says {word!r}"


def names(word: str) -> str:
    return f"not discreet: it names the practice ({word!r} is in {NAME!r})"


@pytest.mark.parametrize("own", [[], ["foo"], ["lakeshore"]], ids=["empty", "foo", "lakeshore"])
@pytest.mark.parametrize("words, expected", [
    ("Hi {{ first_name }}, a Lakeside reminder {{ when }}.", [names("lakeside")]),
    ("From Lakeside Collective", [names("lakeside"), names("collective")]),
    ("From LCC", [names("lcc")]),
])
def test_the_practices_own_distinctive_words_add_to_its_name_never_replace_it(own, words, expected) -> None:
    lint = Discretion.for_practice(NAME, name_words=own)
    assert [p.message for p in template_problems(words, WordKind.TEXT, lint)] == expected
    assert caller_name_problems("Lakeside", lint) == [f"not discreet: {names('lakeside')[14:]}"]


def test_a_distinctive_word_of_the_practices_own_is_refused_too() -> None:
    lint = Discretion.for_practice(NAME, name_words=["lakeshore"])
    assert [p.message for p in template_problems("From Lakeshore", WordKind.TEXT, lint)] == [
        "not discreet: it names the practice ('lakeshore' is one of its distinctive_words)"]  # s25b NIT 6


REFUSED = [
    ("A reminder of your AA meeting {{ when }}", [says("aa"), says("aa meeting")]),
    ("Your NA meeting {{ when }}", [says("na meeting")]),
    ("Your Alcoholics Anonymous group", [says("alcoholics anonymous")]),
    ("Your 12-step meeting", [says("12 step")]),
    ("Your Al-Anon group", [says("al anon"), says("alanon")]),
    ("Stay sober", [says("sober")]),
    ("Your sober living house", [says("sober"), says("sober living")]),
    ("Your recovery group", [says("recovery"), says("recovery group")]),
    ("Your sponsor called", [says("sponsor")]),
    ("Your rehab visit", [says("rehab")]),
    ("Your detox appointment", [says("detox")]),
    ("See your shrink {{ when }}", [says("shrink")]),
    ("Your couples appointment", [says("couples")]),
    ("Your ther apy appointment", ["not discreet: it says 'therapy' (split)"]),
    ("Your coun seling appointment", ["not discreet: it says 'counseling' (split)"]),
    ("Your PSY appointment", [says("psy")]),
    ("Your wellness visit", [says("wellness")]),
    ("Your assessment {{ when }}", [says("assessment")]),
    ("Your evaluation {{ when }}", [says("evaluation")]),
]

ALLOWED = [
    "Was it the rapist?",  # two ordinary words are never joined, split care words aside ("the" is never joined)
    "Hi Aaron, your appointment {{ when }}.",
    "Please call us back at {{ callback_number }}.",
    "This is a message about a business matter.",
    "Your appointment is at 10 Main St.",
    "A meeting about your account {{ when }}.",
    "Hi {{ first_name }}, see you {{ when }}. Reply 1 to confirm or 2 to change it.",
]


@pytest.mark.parametrize("words, expected", REFUSED)
def test_substance_use_and_everyday_care_words_are_refused(words: str, expected: list[str]) -> None:
    assert [p.message for p in template_problems(words, WordKind.TEXT, LINT)] == expected


@pytest.mark.parametrize("words", ALLOWED)
def test_ordinary_words_still_pass(words: str) -> None:
    assert template_problems(words, WordKind.TEXT, LINT) == []


@pytest.mark.parametrize("name, word", [("Wellness", "wellness"), ("Mind Care", "mind care"),
                                        ("AA Meetings", "aa")])
def test_caller_names_that_reveal_care_are_refused(name: str, word: str) -> None:
    assert caller_name_problems(name, LINT)[0] == f"not discreet: it says {word!r}"


def test_flows_check_refuses_the_practice_name_with_an_own_distinctive_words_list(tmp_path: Path) -> None:
    flows_dir = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows_dir)
    text = (flows_dir / "outbound.yaml").read_text()
    assert "\ndiscretion:\n" in text
    text = text.replace("\ndiscretion:\n", "\ndiscretion:\n  distinctive_words: []\n", 1)
    original = "  text: Hello, this is a message about an appointment. Please call us at {{ callback_number }}.\n"
    assert original in text
    line = text[:text.index(original)].count("\n") + 1
    (flows_dir / "outbound.yaml").write_text(text.replace(
        original, "  text: Hello from Lakeside Collective. Please call us at {{ callback_number }}.\n"))
    flows, problems = flowstore.check_dir(flows_dir, default_registry().signatures())
    assert flows is not None
    assert sorted(str(p) for p in problems if p.severity == "error") == [
        f"outbound.yaml:{line}: neutral.text: not discreet: {names('collective')[14:]}",
        f"outbound.yaml:{line}: neutral.text: not discreet: {names('lakeside')[14:]}"]
