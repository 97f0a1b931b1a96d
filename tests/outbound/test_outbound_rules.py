"""The outbound rules file (ivr/outbound/rules.py), its discretion lint (ivr/outbound/lint.py,
ivr/core/privacy.py) and the words of a touch (ivr/outbound/wording.py).  Pure: text in, values out."""
from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import pytest

from ivr.actions.catalog import default_registry
from ivr.core.privacy import discretion_problems, distinctive_words
from ivr.flowlang import store as flowstore
from ivr.outbound import rules as rules_mod
from ivr.outbound.facts import Channel
from ivr.outbound.lint import (
    Discretion,
    WordKind,
    caller_name_problems,
    opt_out_command_problems,
    template_problems,
)
from ivr.outbound.planner import plan
from ivr.outbound.rules import (
    OUTBOUND_FILE,
    ReminderBy,
    Span,
    Trigger,
    check_outbound,
    default_rules,
    parse_outbound,
)
from ivr.outbound.wording import render
from ivr.practice.settings.checks import load_practice
from tests.helpers.outbound import appt, client, facts, ny, practice, rules

ROOT = Path(__file__).resolve().parents[2]
PRACTICE = practice()
LINT = Discretion.for_practice("Lakeside Counseling Collective", clinician_names=["Dr. Maya Chen", "Sam Ortiz, LCSW"],
                               never_say=["Elm Street"])


# --------------------------------------------------------------------------- the shipped file


def test_the_demo_practice_ships_the_defaults_the_issues_name() -> None:
    shipped, problems = check_outbound(ROOT / "flows", load_practice(ROOT / "flows" / "practice.yaml"))
    assert problems == [] and shipped is not None
    assert shipped.caller_id.name == "Appointments"
    assert shipped.caller_id.numbers == ("+15550100190", "+15550100191")
    assert (shipped.quiet_hours.start, shipped.quiet_hours.end) == (dt.time(9), dt.time(19))
    assert (shipped.limits.per_day, shipped.limits.per_week, shipped.limits.calls_per_24h) == (1, 3, 3)
    assert list(shipped.follow_ups) == list(Trigger)
    late, unbooked = shipped.follow_ups[Trigger.LATE], shipped.follow_ups[Trigger.UNBOOKED]
    assert late.after == Span(0, 15 * 60) and late.attempts == (Channel.CALL, Channel.TEXT)
    assert unbooked.after == Span(7, 0)
    assert [(r.name, r.before, r.by) for r in shipped.reminders] == [
        ("two_days_before", Span(2, 0), ReminderBy.TEXT), ("two_hours_before", Span(0, 7200), ReminderBy.TEXT)]
    assert (
        shipped.follow_ups[Trigger.NO_SHOW].then == "Send a closing letter if there is no answer by the end of the week"
    )


def test_default_rules_equal_the_issues_defaults() -> None:
    defaults = default_rules(PRACTICE)
    assert defaults.follow_ups[Trigger.LATE].after == Span(0, 900)
    assert [(r.name, r.before, r.by) for r in defaults.reminders] == [
        ("two_days_before", Span(2, 0), ReminderBy.TEXT), ("two_hours_before", Span(0, 7200), ReminderBy.TEXT)]
    assert defaults.settle == Span(0, 180) and defaults.min_notice == Span(0, 1800)


def test_no_outbound_file_means_no_outbound_work(tmp_path: Path) -> None:
    assert check_outbound(tmp_path, PRACTICE) == (None, [])


# --------------------------------------------------------------------------- every problem at once


BROKEN = """\
caller_id:
  name: Lakeside Counseling
  numbers: ["+1 555 010 0190", "12", "+15550100100"]
quiet_hours:
  start: "07:00"
  end: "21:00"
  dayz: business_days
limits:
  per_day: 2
discretion:
  never_say: [Elm Street]
neutral:
  text: Hi {{ first_name }}, call {{ callback_number }}.
follow_ups:
  late:
    after: 15 mins
    attempts: [call, fax]
    words:
      text: Your therapy session with Dr. Chen started. Reply CANCEL to cancel.
  no_shows: {}
  lapsed:
    then: yes
reminders:
  touches:
    Two_Days: {before: 2 days}
    soon:
      before: 10 minutes
      by: call
      words:
        spoken: See you at Elm Street {{ practice.name }}
        voicemail: "{{ when "
"""


def test_every_problem_is_reported_at_once_with_its_line_and_rule() -> None:
    parsed, problems = parse_outbound(BROKEN, PRACTICE, clinician_names=["Dr. Maya Chen"])
    assert parsed is None
    cancel = ("it invites the reply 'CANCEL', which carriers treat as an opt-out from every text (only the "
              "opt-out notice may mention STOP; offer digits or words like 'change')")
    assert [str(p) for p in problems] == [
        "outbound.yaml:2: caller_id.name: 'Lakeside Counseling' is refused: it is 19 characters; a caller name "
        "(CNAM) has at most 15",
        "outbound.yaml:2: caller_id.name: 'Lakeside Counseling' is refused: not discreet: it names the practice "
        "('lakeside' is in 'Lakeside Counseling Collective')",
        "outbound.yaml:2: caller_id.name: 'Lakeside Counseling' is refused: not discreet: it says 'counseling'",
        "outbound.yaml:3: caller_id.numbers[1]: '12' is not a valid phone number",
        "outbound.yaml:3: caller_id.numbers[2]: '+15550100100' is the number of staff member 'Front desk', not a "
        "neutral outbound number",
        "outbound.yaml:5: quiet_hours.start: 07:00 is before 08:00; clients are never contacted before 08:00 their "
        "time",
        "outbound.yaml:6: quiet_hours.end: 21:00 is after 20:00; clients are never contacted after 20:00 their time",
        "outbound.yaml:7: quiet_hours.dayz: unknown setting 'dayz'; did you mean 'days'?",
        "outbound.yaml:9: limits.per_day: 2 is above the limit of 1; limits can be lowered, never raised",
        "outbound.yaml:13: neutral.text: {{ first_name }} may not be used here: neutral words go to shared phones "
        "and to anyone who answers, so they name no one and give no time",
        "outbound.yaml:16: follow_ups.late.after: '15 mins' must be a number and a unit, like \"15 minutes\", \"2 "
        "hours\" or \"7 days\"",
        "outbound.yaml:17: follow_ups.late.attempts[1]: 'fax' is not one of: call, text",
        f"outbound.yaml:19: follow_ups.late.words.text: {cancel}",
        "outbound.yaml:19: follow_ups.late.words.text: not discreet: it gives a clinician's title ('Dr')",
        "outbound.yaml:19: follow_ups.late.words.text: not discreet: it names a clinician ('Chen')",
        "outbound.yaml:19: follow_ups.late.words.text: not discreet: it says 'session'",
        "outbound.yaml:19: follow_ups.late.words.text: not discreet: it says 'therapy'",
        "outbound.yaml:20: follow_ups.no_shows: unknown setting 'no_shows'; did you mean 'no_show'?",
        "outbound.yaml:22: follow_ups.lapsed.then must be text or empty, not true/false (YAML reads yes/no/on/off as "
        "true/false: put the word in quotes)",
        "outbound.yaml:25: reminders.touches.Two_Days: reminder names are lower-case words: letters, digits and _, "
        "starting with a letter",
        "outbound.yaml:27: reminders.touches.soon.before: 10 minutes is not more than reminders.min_notice (30 "
        "minutes), so it could never be sent",
        "outbound.yaml:30: reminders.touches.soon.words.spoken: not discreet: it says 'Elm Street' (in "
        "discretion.never_say)",
        "outbound.yaml:30: reminders.touches.soon.words.spoken: {{ practice }} is not available in outbound words "
        "(use: callback_number, day, first_name, sender, time, when)",
        "outbound.yaml:31: reminders.touches.soon.words.voicemail: template syntax error: unexpected end of "
        "template, expected 'end of print statement'.",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "- a list\n",
            "outbound.yaml:1: the file must be a mapping (caller_id:, quiet_hours:, follow_ups:, reminders: …)",
        ),
        ("follow_ups: {late: {after: 5 minutes}\n", "outbound.yaml:1: YAML syntax error"),
        (
            "quiet_hours: {start: !!python/object:os.system x}\n",
            "outbound.yaml:1: tag '!!python/object:os.system' is not allowed",
        ),
        (
            "reminders: {touches: {soon: {by: text}}}\n",
            "outbound.yaml:1: reminders.touches.soon: missing required setting 'before'",
        ),
        (
            "quiet_hours: {start: '25:00'}\n",
            "outbound.yaml:1: quiet_hours.start: '25:00' is not a time of day (00:00 to 23:59)",
        ),
    ],
    ids=["not a mapping", "syntax", "unsafe tag", "missing before", "impossible time"],
)
def test_malformed_files_get_one_clear_problem(text: str, expected: str) -> None:
    parsed, problems = parse_outbound(text, PRACTICE)
    errors = [p for p in problems if p.severity == "error"]
    assert parsed is None
    assert str(errors[0]).startswith(expected), str(errors[0])


def test_flows_check_reports_outbound_problems_and_still_serves_the_flows(tmp_path: Path) -> None:
    flows_dir = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows_dir)
    flows, problems = flowstore.check_dir(flows_dir, default_registry().signatures())
    assert flows is not None and problems == []
    assert OUTBOUND_FILE not in flowstore.read_dir(flows_dir)[0]  # not read as a flow
    assert flowstore.OUTBOUND_FILE == rules_mod.OUTBOUND_FILE
    (flows_dir / OUTBOUND_FILE).write_text("caller_id:\n  name: Lakeside Office\n")
    flows, problems = flowstore.check_dir(flows_dir, default_registry().signatures())
    assert flows is not None  # inbound calls keep being answered
    assert [str(p) for p in problems if p.severity == "error"] == [
        "outbound.yaml:2: caller_id.name: 'Lakeside Office' is refused: not discreet: it names the practice "
        "('lakeside' is in 'Lakeside Counseling Collective')"]


# --------------------------------------------------------------------------- the discretion lint


@pytest.mark.parametrize(
    "words, expected",
    [
        ("Hi {{ first_name }}, a reminder of your appointment {{ when }}. Reply 1 to confirm or 2 to change it.", []),
        ("If you need to cancel, please call us at {{ callback_number }}.", []),
        ("Your therapy appointment is {{ when }}.", ["not discreet: it says 'therapy'"]),
        ("Your session is {{ when }}.", ["not discreet: it says 'session'"]),
        ("A message from your counsellor.", ["not discreet: it says 'counsellor'"]),
        ("About your psychodynamic work.", ["not discreet: it says 'psychodynamic'"]),
        ("Your mental health check-in.", ["not discreet: it says 'mental health'", "not discreet: it says 'health'"]),
        ("Our detox programme", ["not discreet: it says 'detox'"]),
        (
            "See you at the Lakeside office.",
            ["not discreet: it names the practice ('lakeside' is in 'Lakeside Counseling Collective')"],
        ),
        (
            "Lakeside Counseling Collective: see you soon.",
            [
                "not discreet: it names the practice ('Lakeside Counseling Collective')",
                "not discreet: it says 'counseling'",
            ],
        ),
        (
            "Dr. Chen will see you {{ when }}.",
            ["not discreet: it gives a clinician's title ('Dr')", "not discreet: it names a clinician ('Chen')"],
        ),
        (
            "Sam Ortiz, LCSW",
            [
                "not discreet: it gives a clinician's title ('LCSW')",
                "not discreet: it names a clinician ('Sam Ortiz')",
                "not discreet: it names a clinician ('Sam')",
                "not discreet: it names a clinician ('Ortiz')",
            ],
        ),
        ("Meet us on Elm Street.", ["not discreet: it says 'Elm Street' (in discretion.never_say)"]),
        (
            "A note from LCC scheduling.",
            ["not discreet: it names the practice ('lcc' is in 'Lakeside Counseling Collective')"],
        ),
        ("Your th\u00e9rapy appointment", ["not discreet: it says 'therapy'"]),
        ("Your thera\u200bpy appointment", ["not discreet: it says 'therapy'"]),
        (
            "Ask for Maya Chen, Ph.D.",
            [
                "not discreet: it gives a clinician's title ('Ph.D')",
                "not discreet: it names a clinician ('Maya Chen')",
                "not discreet: it names a clinician ('Maya')",
                "not discreet: it names a clinician ('Chen')",
            ],
        ),
        (
            "Your psychiatrist, an LMFT",
            ["not discreet: it says 'psychiatrist'", "not discreet: it gives a clinician's title ('LMFT')"],
        ),
        # the source writes the word split ('thera' 'py'), the rendered words join it
        ("{{ 'thera' ~ 'py' }} at {{ when }}",
         ["not discreet: it says 'therapy' (split)", "not discreet: it says 'therapy'"]),
        (
            "Hello from {{ practice.name }}",
            [
                "{{ practice }} is not available in outbound words "
                "(use: callback_number, day, first_name, sender, time, when)"
            ],
        ),
    ],
)
def test_outbound_words_never_give_the_practice_or_the_care_away(words: str, expected: list[str]) -> None:
    assert [p.message for p in template_problems(words, WordKind.TEXT, LINT)] == expected


@pytest.mark.parametrize("words, keyword", [
    ("Reply CANCEL to cancel.", "CANCEL"),
    ("If you can't make it, reply cancel.", "CANCEL"),
    ("Reply to cancel your appointment.", "CANCEL"),
    ("Text us END to stop reminders.", "END"),
    ("Send 'stop' if you no longer want these.", "STOP"),
    ("To opt out, reply STOP.", "STOP"),
    ("Respond with QUIT.", "QUIT"),
    ("Reply UNSUBSCRIBE any time.", "UNSUBSCRIBE"),
])
def test_never_ask_anyone_to_reply_an_opt_out_keyword(words: str, keyword: str) -> None:
    problems = opt_out_command_problems(words)
    assert problems and f"'{keyword}'" in problems[0]
    assert [p.message for p in template_problems(words, WordKind.TEXT, LINT)][:1] == problems[:1]


# Break-test s25b #4: in any case, at any distance from the reply verb, unquoted, or written as an option.
OFFERED = [
    ("Hi {{ first_name }}, see you {{ when }}. Reply 1 to confirm, or Cancel to cancel.", "CANCEL"),
    ("Hi {{ first_name }}, see you {{ when }}. Reply 1 to confirm or unsubscribe to stop.", "UNSUBSCRIBE"),
    ("Hi {{ first_name }}, see you {{ when }}. 1 = confirm, cancel = cancel.", "CANCEL"),
    ("Hi {{ first_name }}, see you {{ when }}. Can't come? Just say cancel.", "CANCEL"),
    ("Hi {{ first_name }}, see you {{ when }}. Reply 1 to confirm or Stop to stop.", "STOP"),
    ("See you {{ when }}. If you would rather we did not write again, simply text back the word end.", "END"),
    ("See you {{ when }}. Reply 1 to confirm or opt-out to stop.", "OPT-OUT"),
    ("See you {{ when }}. 1 = confirm, quit = no more texts.", "QUIT"),
    ("See you {{ when }}. Reply 1, or \uff33\uff34\uff2f\uff30.", "STOP"),
    ("See you {{ when }}. Reply 1 to confirm or stop all to stop.", "STOP ALL"),
]


@pytest.mark.parametrize("words, keyword", OFFERED)
def test_an_opt_out_keyword_offered_as_a_reply_is_refused_in_the_rules_file(words: str, keyword: str) -> None:
    source = (ROOT / "flows" / OUTBOUND_FILE).read_text()
    shipped = "Hi {{ first_name }}, a reminder of your appointment {{ when }}. Reply 1 to confirm or 2 to change it."
    assert shipped in source
    parsed, problems = parse_outbound(source.replace(shipped, words), practice_of_the_demo(),
                                      clinician_names=["Dr. Maya Chen"])
    assert parsed is None
    line = source[:source.index(shipped)].count("\n") + 1
    assert [str(p) for p in problems] == [
        f"outbound.yaml:{line}: reminders.words.text: it invites the reply {keyword!r}, which carriers treat as an "
        "opt-out from every text (only the opt-out notice may mention STOP; offer digits or words like 'change')"]


def practice_of_the_demo():
    return load_practice(ROOT / "flows" / "practice.yaml")


@pytest.mark.parametrize("words", ["Reply 1 to confirm or 2 to change it.", "If you need to cancel, call us.",
                                   "Call us to change or end your booking.", "Reply YES to confirm.",
                                   "Reply 1 to confirm by the end of the day.",
                                   "Reply 1 to confirm, or call us to cancel.",
                                   "Reply 1 to confirm; we will stop reminding you after that.",
                                   "Please stop by the front desk when you arrive.",
                                   "If you cannot come, please call us so we can cancel it for you."])
def test_ordinary_words_about_cancelling_are_fine(words: str) -> None:
    assert opt_out_command_problems(words) == []


def test_only_the_opt_out_notice_may_say_stop_and_it_must() -> None:
    assert template_problems("Reply STOP to stop these texts.", WordKind.TEXT, LINT, opt_out_notice=True) == []
    assert [p.message for p in template_problems("Thanks!", WordKind.TEXT, LINT, opt_out_notice=True)] == [
        "the opt-out notice must say how to stop, e.g. 'Reply STOP to stop these texts.'"]


def test_voicemails_stay_under_thirty_seconds() -> None:
    long = "This is a message for {{ first_name }}. " + "Please call us back when you can. " * 10
    assert [p.message for p in template_problems(long, WordKind.VOICEMAIL, LINT)] == [
        "a voicemail must stay under 30 seconds; this one takes about 31"]  # 76 words at 150 a minute
    assert template_problems("This is a message for {{ first_name }} about an appointment. Please call us back "
                             "at {{ callback_number }}. Thank you.", WordKind.VOICEMAIL, LINT) == []


def test_neutral_words_name_no_one_and_give_no_time() -> None:
    assert [p.message for p in template_problems("See you {{ when }}.", WordKind.TEXT, LINT, neutral=True)] == [
        "{{ when }} may not be used here: neutral words go to shared phones and to anyone who answers, so they "
        "name no one and give no time"]


def test_a_substance_use_program_gives_not_even_the_neutral_name() -> None:
    text = """\
        discretion: {substance_use_program: true, neutral_name: the front office}
        reminders:
          touches: {soon: {before: 2 hours}}
          words: {text: "{{ sender }}: your appointment is {{ when }}."}
        """
    parsed, problems = parse_outbound(textwrap.dedent(text), PRACTICE)
    assert parsed is None
    assert [str(p) for p in problems if p.severity == "error"] == [
        "outbound.yaml:1: discretion.neutral_name: remove it: with substance_use_program (42 CFR Part 2) not even "
        "a neutral name is given",
        "outbound.yaml:4: reminders.words.text: {{ sender }} may not be used: with substance_use_program "
        "(42 CFR Part 2) not even the neutral name is given"]
    allowed = rules("""\
        discretion: {neutral_name: the front office}
        reminders:
          touches: {soon: {before: 2 hours}}
          words: {text: "{{ sender }}: your appointment is {{ when }}."}
        """)
    assert allowed.discretion.neutral_name == "the front office"


@pytest.mark.parametrize("name, expected", [
    ("Appointments", []),
    ("Front Office", []),
    ("Lakeside Office", ["not discreet: it names the practice ('lakeside' is in 'Lakeside Counseling Collective')"]),
    ("Counseling Ctr", ["not discreet: it says 'counseling'"]),
    ("Dr Chen", ["not discreet: it gives a clinician's title ('Dr')", "not discreet: it names a clinician ('Chen')"]),
    ("Therapy Group", ["not discreet: it says 'therapy'"]),
    ("Scheduling Department", ["it is 21 characters; a caller name (CNAM) has at most 15"]),
    ("Appts!", ["start with a letter and use only letters, digits, periods, commas and spaces (what carriers "
                "accept for a caller name)"]),
    ("1st Office", ["start with a letter and use only letters, digits, periods, commas and spaces (what carriers "
                    "accept for a caller name)"]),
])
def test_caller_name_cnam_lint(name: str, expected: list[str]) -> None:
    assert caller_name_problems(name, LINT) == expected


def test_privacy_lint_extensions_are_additive() -> None:
    assert discretion_problems("Your therapist", "Quiet Oak Wellness") == ["it says 'therapist'"]
    assert discretion_problems("Dr. Chen") == []  # titles only on request (outbound words)
    assert discretion_problems("Dr. Chen", titles=True) == ["it gives a clinician's title ('Dr')"]
    assert discretion_problems("detox and sobriety support") == ["it says 'detox'", "it says 'sobriety'"]
    assert distinctive_words("Lakeside Counseling Collective") == ("lakeside", "collective", "lcc")
    assert distinctive_words("The Quiet Oak Wellness Group, LLC") == ("quiet", "oak", "wellness", "qow")


# --------------------------------------------------------------------------- the words of a touch


RULES = rules()


def test_the_time_is_the_clients_local_time_with_the_zone_named_when_it_differs() -> None:
    la = client(tz="America/Los_Angeles")
    a = appt("A-1", ny(11, 25, 15))
    touch = plan(facts(la, appointments=[a]), RULES, ny(11, 23, 14))[0]
    text = render(touch, WordKind.TEXT, rules=RULES, client=la, appointment=a, callback_number="+15550100190",
                  now=ny(11, 23, 15))
    assert text == ("Hi Alex, a reminder of your appointment Wed, Nov 25 at 12 PM Pacific time. Reply 1 to confirm "
                    "or 2 to change it. Reply STOP to stop these texts.")
    here = client()
    touch = plan(facts(here, appointments=[a]), RULES, ny(11, 23, 14))[0]
    assert render(touch, WordKind.TEXT, rules=RULES, client=here, appointment=a, callback_number="+15550100190",
                  now=ny(11, 23, 15)).startswith("Hi Alex, a reminder of your appointment Wed, Nov 25 at 3 PM. Reply 1")
    spoken = render(touch, WordKind.SPOKEN, rules=RULES, client=here, appointment=a, callback_number="+15550100190",
                    now=ny(11, 23, 15), verified=True)
    assert (
        spoken
        == "This is a reminder of your appointment Wednesday at 3 PM. To confirm, press 1. To change it, press 2."
    )


def test_unverified_callers_and_shared_phones_hear_and_read_only_the_neutral_words() -> None:
    dana, riley = client("C-3", "+15550100202", first_name="Dana"), client("C-4", "+15550100202", first_name="Riley")
    a = appt("A-1", ny(11, 25, 15), cid="C-3")
    touch = plan(facts(dana, riley, appointments=[a]), RULES, ny(11, 23, 14))[0]
    kw = dict(rules=RULES, client=dana, appointment=a, callback_number="+15550100190", now=ny(11, 23, 15))
    assert render(touch, WordKind.TEXT, **kw) == (
        "Hello, this is a message about an appointment. Please call us at (555) 010-0190. Reply STOP to stop these "
        "texts."
    )
    assert render(touch, WordKind.SPOKEN, **kw) == (
        "This is about a business matter; we'll try again later. You can reach us at 5 5 5, 0 1 0, 0 1 9 0. Goodbye.")
    assert render(touch, WordKind.SPOKEN, verified=True, **kw).startswith("This is a reminder of your appointment")


# --------------------------------------------------------------------------- purity


def test_the_complete_example_in_the_docs_loads_cleanly() -> None:
    doc = (ROOT / "docs" / "outbound.md").read_text(encoding="utf-8")
    example = doc.split("## A complete example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    demo = load_practice(ROOT / "flows" / "practice.yaml")
    parsed, problems = parse_outbound(example, demo)
    assert problems == [] and parsed is not None
    assert [r.name for r in parsed.reminders] == ["two_days_before", "two_hours_before"]
    assert parsed.discretion.neutral_name == "the front office"


HAWAII = "+18085550101"  # an 808 number: Hawaii, without a time zone on the client's record (break-test B5)


@pytest.mark.parametrize("kind", [WordKind.TEXT, WordKind.VOICEMAIL, WordKind.SPOKEN])
def test_a_client_whose_number_is_in_another_zone_reads_and_hears_their_own_time(kind) -> None:
    from ivr.outbound.wording import local_time

    kai = client("C-5", HAWAII, first_name="Kai")
    a = appt("A-5", ny(11, 25, 16, 37), cid="C-5")  # 4:37 PM in New York is 11:37 AM in Honolulu
    for touch in plan(facts(kai, appointments=[a]), RULES, ny(11, 23, 14)):
        words = render(touch, kind, rules=RULES, client=kai, appointment=a, callback_number="+15550100190",
                       now=ny(11, 23, 15), verified=True)
        assert "4:37" not in words and "4 37" not in words
    assert local_time(a.start, None, "America/New_York", HAWAII)[1] == "Hawaii time"
    assert local_time(a.start, None, "America/New_York", HAWAII)[0].strftime("%H:%M") == "11:37"
    # The record wins over the number; a number that says nothing keeps the practice's time, unnamed.
    assert local_time(a.start, "America/New_York", "America/New_York", HAWAII)[1] is None
    assert local_time(a.start, None, "America/New_York", "+15550100201")[1] is None


def test_a_late_follow_up_and_a_moved_correction_give_the_time_in_the_clients_zone() -> None:
    from tests.helpers.outbound import done

    kai = client("C-5", HAWAII, first_name="Kai")
    a = appt("A-5", ny(11, 25, 16, 37), cid="C-5")
    late = [t for t in plan(facts(kai, appointments=[a]), RULES, ny(11, 25, 16, 52)) if t.name == "late"][0]
    sent = plan(facts(kai, appointments=[a]), RULES, ny(11, 23, 14))[0]
    moved = appt("A-5", ny(11, 25, 17, 37), cid="C-5", version=2, changed_at=ny(11, 24, 15))
    correction = [t for t in plan(facts(kai, appointments=[moved], past_touches=(done(sent, ny(11, 23, 15)),)), RULES,
                                  ny(11, 24, 15, 1)) if t.kind.value == "moved"]
    assert correction, "a moved appointment whose reminder went out gets one correction"
    text = render(correction[0], WordKind.TEXT, rules=RULES, client=kai, appointment=moved,
                  callback_number="+15550100190", now=ny(11, 24, 15, 3))
    assert "12:37 PM Hawaii time" in text and "5:37" not in text
    for kind in (WordKind.TEXT, WordKind.SPOKEN):
        words = render(late, kind, rules=RULES, client=kai, appointment=a, callback_number="+15550100190",
                       now=ny(11, 25, 16, 52), verified=True)
        assert "11:37 AM Hawaii time" in words and "4:37" not in words


# --------------------------------------------------------------------------- break-test s25b NIT 6/7


def test_an_owners_own_distinctive_word_is_named_as_such_not_as_part_of_the_name() -> None:
    rules = Discretion.for_practice("Lakeside Counseling Collective", name_words=["foo"])
    assert [p.message for p in template_problems("A foo reminder for {{ when }}.", WordKind.TEXT, rules)] == [
        "not discreet: it names the practice ('foo' is one of its distinctive_words)"]
    assert [p.message for p in template_problems("A Lakeside reminder.", WordKind.TEXT, rules)] == [
        "not discreet: it names the practice ('lakeside' is in 'Lakeside Counseling Collective')"]


@pytest.mark.parametrize("words, found", [
    ("See you {{ when }} with MC.", ["not discreet: it names a clinician (the initials 'MC')"]),
    ("See you {{ when }} with M.C.", ["not discreet: it names a clinician (the initials 'MC')"]),
    ("See you {{ when }} with M. C. as usual.", ["not discreet: it names a clinician (the initials 'MC')"]),
    ("See you {{ when }}. Reply 1 to confirm or 2 to change it.", []),  # "10:30 AM": Anna Miller's are no initials
    ("Hi {{ first_name }}, see you at 9 AM or 2 PM, so reply 1 to confirm.", []),
])
def test_clinicians_initials_in_capitals_are_refused(words: str, found: list[str]) -> None:
    rules = Discretion.for_practice("Lakeside Counseling Collective",
                                    clinician_names=["Dr. Maya Chen", "Anna Miller", "Sam Ortiz, LCSW"])
    assert [p.message for p in template_problems(words, WordKind.TEXT, rules)] == found
