"""The flow loader: every problem in a broken flow directory, located exactly; the shipped flows load.

The corpus in ``tests/broken_flows/`` has one complete flows directory per case.
Its ``expected.txt`` lists every error the loader must report, one per line,
exactly as ``flows check`` prints it: ``file:line (flow 'x', step 'y'): message``.
A ``*`` in a line matches any text (used only for messages written by Jinja,
Python's ``re`` or the practice settings parser); ``#`` lines are comments.
The test asserts the two lists match one to one: nothing missing, nothing extra.
"""
from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import SecurityError

from ivr.actions.catalog import default_registry
from ivr.actions.registry import ActionContext
from ivr.core.flow import (
    DEFAULT_GATHER_TIMEOUT,
    DEFAULT_NO_INPUT,
    DEFAULT_NO_MATCH,
    ActionStep,
    AskStep,
    AskType,
    BranchStep,
    FlowSet,
    GotoStep,
    HangupStep,
    MenuStep,
    SayStep,
    SetStep,
    SmsStep,
    StepKind,
    TransferStep,
    VoicemailStep,
)
from ivr.core.templates import Expression, Template
from ivr.exceptions import FlowError, FlowProblem, UnknownAction
from ivr.flowlang.loading import load_set, load_texts
from ivr.flowlang.parsing import PRACTICE_FILE, parse_flow
from ivr.flowlang.store import check_dir
from tests.helpers.flows import CORPUS, expected_patterns, unmatched

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
ACTIONS = default_registry().signatures()

PRACTICE = """\
name: Quiet Oak Wellness
timezone: America/New_York
staff:
  front_desk: {name: Front desk, phone: "+15550100100"}
"""


# --------------------------------------------------------------------------- corpus helpers


def error_lines(problems: list[FlowProblem]) -> list[str]:
    return [str(p) for p in problems if p.severity == "error"]


# --------------------------------------------------------------------------- the corpus

# What the issue asks the corpus to cover; guards against a case being lost.
REQUIRED_CASES = {
    "schema_unknown_key", "schema_wrong_type", "schema_missing_required", "step_two_kinds", "step_no_kind",
    "unknown_next", "unknown_give_up", "goto_unknown_flow", "goto_unknown_step", "unreachable_step",
    "menu_loop", "branch_ping_pong", "menu_without_give_up", "ask_without_give_up", "unknown_action",
    "action_outcome_not_mapped", "action_extra_outcome", "template_syntax_error", "bad_condition",
    "branch_without_else", "dead_end", "duplicate_step_id", "duplicate_flow_name", "menu_key_operator_clash",
    "sms_names_practice", "sms_says_therapy", "alias_bomb", "python_tag", "oversize_file", "yaml_syntax_error",
    "practice_bad_timezone", "practice_bad_hours", "many_problems", "many_files",
    # bt14-s25 SHOULD-FIX 2: a flow without globals judged against the outbound entry flow that reaches it
    "outbound_key_dead_in_an_inherited_flow", "outbound_crisis_key_dead_in_an_inherited_flow",
}


def test_corpus_covers_every_required_case() -> None:
    assert REQUIRED_CASES <= set(CASES)
    for case in CASES:
        assert (CORPUS / case / "expected.txt").is_file(), case
        assert expected_patterns(case), f"{case}: expected.txt lists no problem"


@pytest.mark.parametrize("case", CASES)
def test_broken_corpus_reports_exactly_the_expected_problems(case: str) -> None:
    flows, problems = check_dir(CORPUS / case, ACTIONS)
    assert flows is None
    missing, unexpected = unmatched(expected_patterns(case), error_lines(problems))
    assert not missing and not unexpected, (
        "\nexpected but not reported:\n  " + "\n  ".join(missing)
        + "\nreported but not expected:\n  " + "\n  ".join(unexpected)
    )


@pytest.mark.parametrize("case", CASES)
def test_broken_corpus_problems_point_at_real_lines(case: str) -> None:
    """Every located problem names a file of the case and a line inside it."""
    _, problems = check_dir(CORPUS / case, ACTIONS)
    for p in problems:
        path = CORPUS / case / p.file
        if p.line is None:
            continue
        assert path.is_file(), p
        assert 1 <= p.line <= len(path.read_text("utf-8").splitlines()), p


@pytest.mark.parametrize("case", CASES)
def test_load_set_raises_every_problem(case: str) -> None:
    texts, practice = _read(CORPUS / case)
    with pytest.raises(FlowError) as info:
        load_set(texts, practice, ACTIONS)
    missing, unexpected = unmatched(expected_patterns(case), [str(p) for p in info.value.problems])
    assert not missing and not unexpected
    assert str(info.value).splitlines() == [str(p) for p in info.value.problems]


def _read(directory: Path) -> tuple[dict[str, bytes], bytes | None]:
    texts = {f.name: f.read_bytes() for f in directory.glob("*.yaml") if f.name not in (PRACTICE_FILE, "outbound.yaml")}
    practice = directory / PRACTICE_FILE
    return texts, practice.read_bytes() if practice.exists() else None


def test_problem_fields_are_located_not_just_formatted() -> None:
    """The printed lines come from real fields: file, line, flow and step each set precisely."""
    _, problems = check_dir(CORPUS / "many_problems", ACTIONS)
    located = {(p.file, p.line, p.flow, p.step) for p in problems}
    assert ("main.yaml", 13, "main", "hours") in located  # outcome closed -> voicemale
    assert ("main.yaml", 20, "main", "pick") in located  # key 0 clashes with the operator key
    assert ("main.yaml", 24, "main", "billing") in located  # goto unknown flow (a cross-flow check)
    assert ("main.yaml", 27, "main", "person") in located  # transfer to an unknown staff key
    assert ("main.yaml", 38, "main", "forgotten") in located  # unreachable (a graph check)


def test_problems_are_listed_by_file_and_line() -> None:
    _, problems = check_dir(CORPUS / "many_problems", ACTIONS)
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    _, problems = check_dir(CORPUS / "many_files", ACTIONS)
    assert [p.file for p in problems] == sorted(p.file for p in problems)


def test_broken_practice_does_not_hide_flow_problems() -> None:
    _, problems = check_dir(CORPUS / "practice_and_flows_broken", ACTIONS)
    assert {p.file for p in problems} == {"practice.yaml", "main.yaml", "loop.yaml"}


def test_an_unreadable_file_excuses_jumps_into_its_flow() -> None:
    _, problems = check_dir(CORPUS / "goto_into_unreadable", ACTIONS)
    assert [p.file for p in problems] == ["billing.yaml"]
    # The same jump with the file gone is an error.
    texts, practice = _read(CORPUS / "goto_into_unreadable")
    del texts["billing.yaml"]
    _, problems = load_texts(texts, practice, ACTIONS)
    assert error_lines(problems) == ["main.yaml:7 (flow 'main', step 'to_billing'): goto unknown flow 'billing'"]


def test_the_matcher_can_fail() -> None:
    """The corpus assertions are only as good as ``unmatched``: an extra or a missing line shows."""
    lines = ["main.yaml:5 (flow 'main', step 'a'): x", "main.yaml:6 (flow 'main', step 'b'): y"]
    assert unmatched(lines, lines) == ([], [])
    assert unmatched(lines[:1], lines) == ([], lines[1:])
    assert unmatched(lines + lines[:1], lines) == (lines[:1], [])
    assert unmatched(["main.yaml:5 (flow 'main', step 'a'): *"], lines[:1]) == ([], [])
    assert unmatched(["main.yaml:6 (flow 'main', step 'a'): *"], lines[:1])[0]  # the line is exact
    assert unmatched(["main.yaml:5 (flow 'main', step 'a'): x"], ["main.yaml:5 (flow 'main', step 'a'): xy"])[0]


# --------------------------------------------------------------------------- the shipped flows


@pytest.fixture(scope="module")
def shipped() -> FlowSet:
    flows, problems = check_dir(ROOT / "flows", ACTIONS)
    assert problems == []  # not even a warning
    assert flows is not None
    return flows


def test_shipped_flows_load_without_problems(shipped: FlowSet) -> None:
    assert set(shipped.flows) == {"main", "operator", "callback", "crisis", "identify", "appointments", "links",
                                  "billing", "intake", "follow_up_call", "returned_call"}
    assert shipped.entry.name == "main" == shipped.practice.entry_flow
    assert re.fullmatch(r"[0-9a-f]{12}", shipped.version)


def test_shipped_main_flow_structure(shipped: FlowSet) -> None:
    main = shipped.flows["main"]
    assert main.file == "main.yaml" and main.start == "greeting"
    assert [(h.name, h.key, h.next) for h in main.handlers] == [("crisis", "9", "to_crisis"),
                                                               ("operator", "0", "to_person")]
    greeting = main.steps["greeting"]
    assert greeting.kind is StepKind.SAY and greeting.next == "hours_check"  # implicit next
    assert greeting.line == 12
    hours = main.steps["hours_check"]
    assert isinstance(hours.body, ActionStep) and hours.next is None
    assert dict(hours.body.outcomes) == {"open": "main_menu", "closed": "after_hours", "holiday": "holiday"}
    menu = main.steps["main_menu"].body
    assert isinstance(menu, MenuStep)
    assert [o.key for o in menu.options] == ["1", "2", "3", "4"]
    assert [o.intent for o in menu.options] == ["appointments", "links", "billing", "new_client"]
    assert menu.options[1].phrases[:2] == ("link", "zoom")
    assert menu.reprompts.give_up == "to_person" and menu.reprompts.retries == 2
    assert main.steps["to_crisis"].body == GotoStep("crisis", None)


def test_every_shipped_template_renders(shipped: FlowSet) -> None:
    import datetime as dt

    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    context = {"practice": {"name": "P"}, "emergency_guidance": "G", "callback_promise": "soon", "vars": {},
               "caller": {"known": False}, "open_now": True, "holiday": False, "next_open": None, "now": now,
               "callback_by": lambda reason: now + dt.timedelta(hours=2)}
    templates = [t for flow in shipped.flows.values() for step in flow.steps.values() for t in _templates(step.body)]
    assert len(templates) > 15
    for template in templates:
        assert isinstance(template.render(context), str)
    goodbye = shipped.flows["callback"].steps["goodbye"].body
    assert goodbye.say.render(context) == "Thank you. Someone will call you back by today at 12 PM. Goodbye."


def _templates(body: Any) -> Iterator[Template]:
    for value in vars(body).values():
        if isinstance(value, Template):
            yield value
        elif hasattr(value, "no_input"):  # Reprompts
            yield from (value.no_input, value.no_match)
    if isinstance(body, SetStep):
        yield from (v for _, v in body.values if isinstance(v, Template))


def test_tour_flows_load() -> None:
    flows, problems = check_dir(ROOT / "tests" / "flows_tour", ACTIONS)
    assert flows is not None, "\n".join(map(str, problems))


def test_version_follows_the_text() -> None:
    texts, practice = _read(ROOT / "flows")
    one = load_set(texts, practice, ACTIONS).version
    assert load_set(dict(texts), practice, ACTIONS).version == one
    texts["main.yaml"] += b"\n# a comment\n"
    assert load_set(texts, practice, ACTIONS).version != one


# --------------------------------------------------------------------------- structure and defaults


def load(*flows: str, practice: str = PRACTICE) -> FlowSet:
    texts = {f"f{i}.yaml": textwrap.dedent(t) for i, t in enumerate(flows)}
    flows_, problems = load_texts(texts, practice, ACTIONS)
    assert flows_ is not None, "\n".join(map(str, problems))
    return flows_


def problems_of(*flows: str, practice: str = PRACTICE) -> list[str]:
    texts = {f"f{i}.yaml": textwrap.dedent(t) for i, t in enumerate(flows)}
    flows_, problems = load_texts(texts, practice, ACTIONS)
    assert flows_ is None
    return error_lines(problems)


EVERY_KIND = """\
    flow: main
    voice: Polly.Matthew
    globals:
      operator: {next: person}
      crisis: {key: "9", say: [Emergency!, HELP], next: person}
    steps:
      - id: hello
        say: Hello {{ caller.first_name }}.
      - id: long_hello
        say: {text: Welcome.}
        language: es-US
      - id: chime
        play: chime.wav
      - id: pick
        menu:
          prompt: Press 1.
          options:
            - {key: "1", say: [One, "Number one"], next: dob}
            - {say: billing, next: person}
          give_up: person
      - id: dob
        ask: {var: dob, type: date, prompt: Your date of birth?, past_only: true, give_up: person}
      - id: pin
        ask: {var: pin, type: digits, prompt: PIN?, min_length: 4, max_length: 6, retries: 0, timeout: 10,
              no_input: Still there?, give_up: person}
      - id: remember
        set: {tries: 1, greeting: "Hi {{ vars.pin }}", done: false}
      - id: route
        branch:
          cases:
            - {if: open_now and not holiday, next: hours}
          else: text
      - id: hours
        action: {name: time_of_day, outcomes: {morning: text, afternoon: text, evening: text}}
      - id: text
        sms: {body: "See you at {{ next_open | spoken }}."}
      - id: message
        voicemail:
      - id: flag
        escalate: {reason: callback, priority: high}
      - id: person
        transfer: {to: [front_desk, "+15550100199"], mode: sequential}
        next: other
      - id: other
        goto: {flow: side, step: bye}
    """
SIDE = """\
    flow: side
    steps:
      - id: hello
        say: Over here.
      - id: bye
        hangup: true
    """


def test_every_kind_parses_to_its_dataclass() -> None:
    flows = load(EVERY_KIND, SIDE)
    main = flows.flows["main"]
    assert main.voice == "Polly.Matthew" and main.start == "hello"
    kinds = {sid: s.kind for sid, s in main.steps.items()}
    assert list(kinds.values()) == [StepKind.SAY, StepKind.SAY, StepKind.PLAY, StepKind.MENU, StepKind.ASK,
                                   StepKind.ASK, StepKind.SET, StepKind.BRANCH, StepKind.ACTION, StepKind.SMS,
                                   StepKind.VOICEMAIL, StepKind.ESCALATE, StepKind.TRANSFER, StepKind.GOTO]
    s = main.steps
    assert isinstance(s["hello"].body, SayStep) and s["hello"].body.text.source == "Hello {{ caller.first_name }}."
    assert s["long_hello"].body.text.source == "Welcome." and s["long_hello"].language == "es-US"
    assert s["chime"].body.url == "chime.wav"

    menu = s["pick"].body
    assert [(o.key, o.phrases, o.next) for o in menu.options] == [("1", ("one", "number one"), "dob"),
                                                                  (None, ("billing",), "person")]
    rp = menu.reprompts  # the defaults
    assert (rp.retries, rp.timeout, rp.give_up) == (2, DEFAULT_GATHER_TIMEOUT, "person")
    assert (rp.no_input.source, rp.no_match.source) == (DEFAULT_NO_INPUT, DEFAULT_NO_MATCH)

    dob = s["dob"].body
    assert isinstance(dob, AskStep) and dob.type is AskType.DATE and dob.past_only and dob.length == 8
    pin = s["pin"].body
    assert (pin.min_length, pin.max_length, pin.reprompts.retries, pin.reprompts.timeout) == (4, 6, 0, 10)
    assert pin.reprompts.no_input.source == "Still there?"

    values = dict(s["remember"].body.values)
    assert values["tries"] == 1 and values["done"] is False
    assert isinstance(values["greeting"], Template) and values["greeting"].render({"vars": {"pin": 7}}) == "Hi 7"

    branch = s["route"].body
    assert isinstance(branch, BranchStep) and branch.otherwise == "text"
    assert isinstance(branch.cases[0].condition, Expression)
    assert branch.cases[0].condition.evaluate({"open_now": True, "holiday": False})
    assert not branch.cases[0].condition.evaluate({"open_now": True, "holiday": "Labor Day"})
    assert not branch.cases[0].condition.evaluate({})  # undefined names are falsy

    assert isinstance(s["text"].body, SmsStep) and s["text"].body.to == "caller"
    assert s["message"].body == VoicemailStep(None, 120)
    assert s["flag"].body.reason == "callback" and s["flag"].body.priority.value == "high"
    transfer = s["person"].body
    assert isinstance(transfer, TransferStep) and transfer.to == ("front_desk", "+15550100199")
    assert (transfer.mode.value, transfer.timeout) == ("sequential", 20)
    assert s["other"].body == GotoStep("side", "bye")
    assert flows.flows["side"].steps["bye"].body == HangupStep(None)


def test_targets_and_implicit_next() -> None:
    main = load(EVERY_KIND, SIDE).flows["main"]
    s = main.steps
    # Steps that go on by themselves continue with the one below unless they say otherwise.
    assert [s[i].next for i in ("hello", "long_hello", "chime", "dob", "pin", "remember", "text", "message", "flag")] \
        == ["long_hello", "chime", "pick", "pin", "remember", "route", "message", "flag", "person"]
    assert s["person"].next == "other"  # explicit
    # Steps that decide for themselves have no next.
    assert [s[i].next for i in ("pick", "route", "hours", "other")] == [None] * 4
    assert s["pick"].targets() == [("option 1", "dob"), ("option billing", "person"), ("give_up", "person")]
    assert s["dob"].targets() == [("give_up", "person"), ("next", "pin")]
    assert [t for _, t in s["route"].targets()] == ["hours", "text"]
    assert [t for _, t in s["hours"].targets()] == ["text", "text", "text"]
    assert s["other"].targets() == []


def test_global_defaults() -> None:
    main = load(EVERY_KIND, SIDE).flows["main"]
    crisis, operator = main.handlers  # crisis first: it wins when both match
    assert (operator.name, operator.key, operator.next) == ("operator", "0", "person")
    assert "operator" in operator.phrases and "front desk" in operator.phrases
    assert (crisis.key, crisis.phrases) == ("9", ("emergency", "help"))


def test_start_can_be_named() -> None:
    flows = load("""\
        flow: main
        start: welcome
        steps:
          - id: bye
            hangup: Goodbye.
          - id: welcome
            say: Welcome.
            next: bye
        """)
    assert flows.entry.start == "welcome"


def test_a_step_entered_only_by_goto_is_reachable() -> None:
    """``goto: {flow: x, step: y}`` is an entry point of x: y and what follows it are used."""
    flows = load("""\
        flow: main
        steps:
          - id: hello
            say: Hello.
          - id: jump
            goto: {flow: side, step: later}
        """, """\
        flow: side
        steps:
          - id: first
            hangup: Goodbye.
          - id: later
            say: Later.
          - id: after_later
            hangup: Bye.
        """)
    assert set(flows.flows["side"].steps) == {"first", "later", "after_later"}


def test_global_handler_steps_are_reachable_only_from_menus_and_asks() -> None:
    flow = """\
        flow: main
        globals:
          operator: {next: person}
        steps:
          - id: hello
            WAIT
          - id: bye
            hangup: Goodbye.
          - id: person
            transfer: {to: front_desk}
            next: bye
        """
    without_menu = flow.replace("WAIT", "say: Hello.")
    assert problems_of(without_menu) == [
        "f0.yaml:9 (flow 'main', step 'person'): unreachable: no path from the start leads here"]
    with_menu = flow.replace("WAIT", "menu: {prompt: Hi, options: [{key: '1', next: bye}], give_up: bye}")
    assert load(with_menu).entry.handlers[0].next == "person"


def test_a_transfer_ends_the_call_but_voicemail_alone_does_not() -> None:
    """What counts as the call ending: a hangup or transfer; a voicemail that loops back does not."""
    assert problems_of("""\
        flow: main
        steps:
          - id: message
            voicemail: {prompt: Leave a message.}
          - id: again
            goto: main
        """) == [
        "f0.yaml:3 (flow 'main', step 'message'): the call can never end from here: every path loops back "
        "(add a hangup, transfer or give_up that leaves the loop)",
        "f0.yaml:5 (flow 'main', step 'again'): the call can never end from here: every path loops back "
        "(add a hangup, transfer or give_up that leaves the loop)",
    ]
    load("""\
        flow: main
        steps:
          - id: person
            transfer: {to: front_desk}
          - id: again
            goto: main
        """)


def test_numbers_not_staff_keys_are_allowed_in_transfers() -> None:
    flows = load("""\
        flow: main
        steps:
          - id: person
            transfer: {to: "+442071234567"}
            next: bye
          - id: bye
            hangup: Bye.
        """)
    assert flows.entry.steps["person"].body.to == ("+442071234567",)


# --------------------------------------------------------------------------- a YAML string is never code


@pytest.mark.parametrize("name", ["system", "eval", "exec", "open", "getattr", "register", "run", "outcomes",
                                  "describe", "hours_status_"])
def test_an_action_name_is_only_ever_a_registry_key(name: str) -> None:
    flow = f"""\
        flow: main
        steps:
          - id: act
            action: {{name: {name}, outcomes: {{done: bye}}}}
          - id: bye
            hangup: Bye.
        """
    (line,) = problems_of(flow)
    assert line.startswith(f"f0.yaml:4 (flow 'main', step 'act'): unknown action '{name}' (known: ")


@pytest.mark.parametrize("name", ["os.system", "__import__", "builtins.eval", "Eval", "os:system"])
def test_a_dotted_or_dunder_action_name_fails_the_schema(name: str) -> None:
    flow = f"""\
        flow: main
        steps:
          - id: act
            action: {{name: "{name}", outcomes: {{done: bye}}}}
          - id: bye
            hangup: Bye.
        """
    assert problems_of(flow) == [f"f0.yaml:4 (flow 'main', step 'act'): action.name: {name!r} is not a valid name: "
                                 "use lower_case_with_underscores, starting with a letter"]


def test_the_registry_runs_nothing_it_was_not_given() -> None:
    registry = default_registry()
    ctx = ActionContext(session=None, flows=None, now=None)  # type: ignore[arg-type]
    for name in ("system", "os.system", "__init__", "run", "register"):
        with pytest.raises(UnknownAction):
            registry.run(name, ctx, {})


def test_action_parameters_stay_plain_data() -> None:
    flows = load("""\
        flow: main
        steps:
          - id: act
            action:
              name: caller_id
              with: {command: "os.system('id')", nested: {list: [1, two]}}
              outcomes: {present: bye, withheld: bye}
          - id: bye
            hangup: Bye.
        """)
    params = flows.entry.steps["act"].body.params
    assert params == {"command": "os.system('id')", "nested": {"list": [1, "two"]}}


SANDBOX = """\
    flow: main
    steps:
      - id: poke
        set: {{x: "{expr}"}}
      - id: bye
        hangup: Bye.
    """


def test_template_reaching_python_internals_renders_empty() -> None:
    """The sandbox hides underscore attributes: the template loads and renders nothing."""
    flows = load(SANDBOX.format(expr="{{ ''.__class__.__mro__ }}"))
    (name, template), = flows.entry.steps["poke"].body.values
    assert name == "x" and isinstance(template, Template)
    assert template.render({}) == ""


@pytest.mark.parametrize("expr", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ caller.__init__.__globals__ }}x{{ caller.__init__.__globals__['os'].system('id') }}",
    "{{ vars.update({'verified': true}) }}",
    "{{ vars.clear() }}",
])
def test_template_calling_into_python_is_a_sandbox_error(expr: str) -> None:
    flows = load(SANDBOX.format(expr=expr.replace('"', '\\"')))
    (_, template), = flows.entry.steps["poke"].body.values
    context = {"vars": {"verified": False}, "caller": {}}
    with pytest.raises(SecurityError):
        template.render(context)
    assert context["vars"] == {"verified": False}


def test_parse_flow_reports_unsafe_yaml_as_a_problem_not_an_exception() -> None:
    parsed, problems = parse_flow("flow: !!python/name:os.system\nsteps: []\n", "x.yaml", ACTIONS)
    assert parsed is None
    assert [str(p) for p in problems] == [
        "x.yaml:1: tag '!!python/name:os.system' is not allowed (only plain text, numbers, true/false, lists and "
        "mappings)"
    ]


@pytest.mark.parametrize(("text", "keys"), [
    ("press 9 at any time", ["9"]), ("press the pound key", ["#"]), ("press star", ["*"]),
    # review 14 finding 9: other verbs and lists of keys
    ("press 1 or 5", ["1", "5"]), ("Press 1, 2 or 3.", ["1", "2", "3"]), ("press 1, or 2", ["1", "2"]),
    ("dial 6 for billing", ["6"]), ("hit 7", ["7"]), ("enter 8 now", ["8"]), ("push nine", ["9"]),
    # numbers that are no key
    ("hang up and dial 9 1 1", []), ("dial 911", []), ("Dial 988 for the lifeline", []),
    ("enter 4 digits", []), ("enter your date of birth", []), ("press 12", []),
    # review 14b finding 8: the most common IVR wordings
    ("Press 1 for appointments, 5 for hours.", ["1", "5"]), ("Select 6 for hours.", ["6"]),
    ("Choose 7 for hours.", ["7"]), ("For hours, key 6.", ["6"]), ("For hours, option 5.", ["5"]),
    ("Press either 5 or 6.", ["5", "6"]), ("Press the number 5.", ["5"]), ("Press #.", ["#"]),
    ("Press *.", ["*"]), ("For hours, 5.", ["5"]), ("Press 1 for billing; or 3 to cancel.", ["1", "3"]),
    ("Please choose one of the following.", []),
])
def test_promised_keys(text: str, keys: list[str]) -> None:
    from ivr.core.promised_keys import promised_keys
    assert promised_keys(text) == keys


# --------------------------------------------------------------------------- fix14-left finding 1

def _shipped_texts() -> tuple[dict[str, bytes], str]:
    shipped_dir = Path(__file__).resolve().parents[2] / "flows"
    texts = {p.name: p.read_bytes() for p in shipped_dir.glob("*.yaml") if p.name not in ("practice.yaml",
                                                                                          "outbound.yaml")}
    return texts, (shipped_dir / "practice.yaml").read_text()


def test_a_key_promised_in_the_new_clients_message_is_checked_where_it_is_spoken() -> None:
    """The message is said at intake's not_accepting menu: 0 works there (a person, bt14 s24 nit 7), 5 does not."""
    texts, practice = _shipped_texts()
    practice = practice.replace("We are not able to take new clients right now.",
                                "We are not able to take new clients right now. For our waitlist, press 5.")
    flows, problems = load_texts(texts, practice, ACTIONS)
    assert flows is None
    assert [(p.file, p.flow, p.step, p.message) for p in problems] == [(
        "intake.yaml", "intake", "not_accepting",
        'promises key 5 ("press 5") (from practice.yaml new_clients.message) but no branch handles it at '
        "intake.not_accepting: add an option or global for it, or change the words")]


def test_a_key_promised_in_a_closure_reason_is_checked_at_the_after_hours_menu() -> None:
    """closed_reason is not said by the shipped flows; the holiday name is, before the main menu (keys 0-4, 9 work)."""
    texts, practice = _shipped_texts()
    ok = practice.replace("name: Memorial Day", "name: Memorial Day, press 9 if urgent")
    dead = practice.replace("name: Memorial Day", "name: Memorial Day, press 7 for hours")
    assert load_texts(texts, ok, ACTIONS)[0] is not None
    flows, problems = load_texts(texts, dead, ACTIONS)
    assert flows is None and [(p.step, p.message.split(" but ")[0]) for p in problems] == [
        ("holiday", 'promises key 7 ("press 7") (from practice.yaml holiday)')]


def test_emergency_guidance_may_promise_no_key() -> None:
    """It is also said in the apology when the service fails, where only # ends a message."""
    texts, practice = _shipped_texts()
    practice = practice.replace("If you are in crisis, call or text 9 8 8",
                                "If you are in crisis, press 9, or call 9 8 8")
    flows, problems = load_texts(texts, practice, ACTIONS)
    assert flows is None
    assert [(p.file, p.message) for p in problems] == [(
        "practice.yaml", 'emergency_guidance: promises key 9 ("press 9") but it is spoken in the apology when the '
        "service fails, and where a flow has no crisis path, where no key does anything: change the words")]


@pytest.mark.parametrize(("path", "words"), [
    (("neutral", "voicemail"), "Hello, please call us back at {{ callback_number }}, or press 1 to be called back."),
    (("neutral", "spoken"), "This is about a business matter. Press 1 to hear it again."),
    (("follow_ups", "late", "words", "voicemail"), "A message for {{ first_name }}. To call us back, press 2."),
])
def test_outbound_words_spoken_before_a_hangup_may_promise_no_key(path: tuple[str, ...], words: str) -> None:
    import yaml

    from ivr.outbound.rules import parse_outbound
    from ivr.practice.settings.checks import parse_practice

    shipped_dir = Path(__file__).resolve().parents[2] / "flows"
    data = yaml.safe_load((shipped_dir / "outbound.yaml").read_text())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = words
    practice = parse_practice((shipped_dir / "practice.yaml").read_text(), "practice.yaml")
    rules, problems = parse_outbound(yaml.safe_dump(data), practice)
    assert rules is None
    messages = [p.message for p in problems if p.severity == "error"]
    assert len(messages) == 1 and "but it is spoken " in messages[0] and "where no key does anything" in messages[0]
    assert messages[0].startswith(".".join(path) + ": promises key ")


def test_phrases_are_matched_normalised_and_sent_to_twilio_as_written() -> None:
    """fix14-s7: Twilio's hints help its recogniser with written words ("I'm new"), not our matching form."""
    text = textwrap.dedent("""\
        flow: main
        globals:
          new_client: {next: bye}
        steps:
          - id: menu
            menu:
              prompt: Say new client, or billing.
              options:
                - {say: ["I'm new", "New   client", "bill, invoice"], next: bye}
              give_up: bye
          - id: bye
            hangup: Goodbye.
        """)
    parsed, problems = parse_flow(text, "main.yaml", ACTIONS)
    assert parsed is not None and not problems
    option = parsed.flow.steps["menu"].body.options[0]
    assert option.phrases == ("im new", "new client", "bill invoice")
    assert option.hints == ("I'm new", "New client", "bill invoice")  # a comma would split Twilio's hints
    handler = parsed.flow.handlers[0]
    assert handler.hints[:4] == ("new client", "new patient", "I'm new", "I am new")
    assert "im new" in handler.phrases
