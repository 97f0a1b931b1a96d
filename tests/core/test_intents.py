"""ivr.core.intents: a free sentence at the main menu matched to the menu's intents, details kept.

The menu is the demo main menu (flows/main.yaml: its keys and ``say`` words) plus the new-client and
operator options the wiring step adds.
"""
from __future__ import annotations

import pytest

from ivr.core.intents import (
    VOCABULARY,
    IntentMatch,
    IntentWords,
    MenuOption,
    match_intent,
    request_details,
)

MENU = (
    MenuOption("appointments", "1", ("appointment", "reschedule", "cancel", "change my appointment",
                                     "move my appointment")),
    MenuOption("links", "2", ("link", "zoom", "video", "portal", "login", "log in", "telehealth")),
    MenuOption("billing", "3", ("billing", "bill", "card", "payment", "credit card", "invoice")),
    MenuOption("new_client", "4"),
    MenuOption("operator", "0"),
)
EVERY = ("appointments", "links", "billing", "new_client", "operator")

ROWS = [
    # (said, intent, action, details)
    ("I need to move my Thursday appointment to next week", "appointments", "reschedule",
     {"from_day": "thursday", "to_day": "next week"}),  # issue 14
    ("what time is my appointment", "appointments", "hear", {}),  # issue 14
    ("can you text me the zoom link", "links", None, {}),
    ("I want to cancel", "appointments", "cancel", {}),
    ("I'd like to start therapy", "new_client", None, {}),
    # review 14b finding 12: starting without the words "new client"
    *[(said, "new_client", None, {}) for said in (
        "I need help with anxiety", "I'm interested in therapy", "I'd like to see a counselor",
        "I want to get on your waitlist", "I'm not a client yet", "consultation", "I'd like a free consultation")],
    ("I'm a new client", "new_client", None, {}),
    ("I need to reschedule", "appointments", "reschedule", {}),
    ("Reschedule.", "appointments", "reschedule", {}),
    ("cancel my appointment for tomorrow", "appointments", "cancel", {"from_day": "tomorrow"}),
    ("hi, I'm calling to cancel my appointment tomorrow", "appointments", "cancel", {"from_day": "tomorrow"}),
    ("when is my next appointment", "appointments", "hear", {}),
    ("do I have an appointment this week", "appointments", "hear", {"from_day": "this week"}),
    # move or cancel: ask; the day they cannot come is the appointment's (bt14 s24 nit 7)
    ("I can't make it Thursday", "appointments", None, {"from_day": "thursday", "not_day": "thursday"}),
    ("I can't make it on Thursday, can we move it to Friday", "appointments", "reschedule",
     {"from_day": "thursday", "to_day": "friday", "not_day": "thursday"}),
    # ... and is never offered: it is ruled out too (bt14-s26 SHOULD-FIX 5)
    ("I won't be able to come in on Friday", "appointments", None, {"from_day": "friday", "not_day": "friday"}),
    ("I won't be able to make it on Friday", "appointments", None, {"from_day": "friday", "not_day": "friday"}),
    ("I'm not able to come in Friday", "appointments", None, {"from_day": "friday", "not_day": "friday"}),
    ("I'm unable to come tomorrow", "appointments", None, {"from_day": "tomorrow", "not_day": "tomorrow"}),
    ("I can't come in tomorrow", "appointments", None, {"from_day": "tomorrow", "not_day": "tomorrow"}),
    ("I can't make it tomorrow", "appointments", None, {"from_day": "tomorrow", "not_day": "tomorrow"}),
    ("I can't come in on Friday afternoon", "appointments", None,
     {"from_day": "friday afternoon", "not_day": "friday afternoon"}),
    ("can't come in", "appointments", None, {}),
    ("won't make it", "appointments", None, {}),
    ("I won't be there on Monday", "appointments", None, {"from_day": "monday", "not_day": "monday"}),
    ("I'm not going to make it today", "appointments", None, {"from_day": "today", "not_day": "today"}),
    # "instead of": the day being moved; the other is the wish
    ("I'd like to see Dr. Chen on Monday instead of Thursday", "appointments", "reschedule",
     {"to_day": "monday", "from_day": "thursday", "not_day": "thursday"}),
    ("can I come Monday instead of Thursday", "appointments", "reschedule",
     {"to_day": "monday", "from_day": "thursday", "not_day": "thursday"}),
    ("I can't come after Christmas", "appointments", None, {"not_day": "after christmas"}),  # a stretch ruled out
    ("I don't want to cancel, I want to reschedule", "appointments", "reschedule", {}),
    ("No, I want to cancel", "appointments", "cancel", {}),  # "no" before a comma negates nothing
    ("I'm not a new client, I want to reschedule", "appointments", "reschedule", {}),
    ("can I move it to Friday", "appointments", "reschedule", {"to_day": "friday"}),  # only weak words
    ("can I come in on Friday instead", "appointments", "reschedule", {"to_day": "friday"}),
    ("move my 3pm to next Tuesday at 4", "appointments", "reschedule",
     {"from_time": "3 pm", "to_day": "next tuesday", "to_time": "4"}),
    ("I want to make an appointment", "appointments", "book", {}),
    ("I need to change my appointment time", "appointments", "reschedule", {}),  # "change" under a longer phrase
    ("can you move it, actually no, cancel it", "appointments", None, {}),  # a change of mind: ask
    # review 14c finding 3: push, bring and shift, forward or back, are reschedule verbs
    ("can I push it to the day after", "appointments", "reschedule", {"to_day": "the day after"}),
    ("can we bring it forward to Monday", "appointments", "reschedule", {"to_day": "monday"}),
    ("could you bring it back to Tuesday", "appointments", "reschedule", {"to_day": "tuesday"}),
    ("shift it to Friday afternoon", "appointments", "reschedule", {"to_day": "friday afternoon"}),
    ("can I move it up to tomorrow", "appointments", "reschedule", {"to_day": "tomorrow"}),
    ("push it back a week", "appointments", "reschedule", {"to_day": "a week later"}),  # bt14-s26 nit 9
    # bt14-s26 nit 9: the shift is carried, counted from the appointment (parse_day's anchor)
    ("push my appointment back a week", "appointments", "reschedule", {"to_day": "a week later"}),
    ("can you push it back two days", "appointments", "reschedule", {"to_day": "two days later"}),
    ("bump it back a couple of days", "appointments", "reschedule", {"to_day": "a couple days later"}),
    ("move it forward by a week", "appointments", "reschedule", {"to_day": "a week earlier"}),
    # bt14-s26 nit 9: seeing someone for the first time is starting; changing therapist is for a person
    *[(said, "new_client", None, {}) for said in (
        "I'd like to see someone for the first time", "I want to see a therapist for the first time",
        "this would be my first visit", "it's my first time seeing a therapist")],
    *[(said, "operator", None, {}) for said in (
        "I want to change my therapist", "can I switch therapists", "I'd like a different therapist",
        "I want to change my counselor")],
    ("I need to cancel my session tomorrow and reschedule for next week", "appointments", None,
     {"from_day": "tomorrow", "to_day": "next week"}),
    ("I'm running late", "appointments", None, {}),
    ("what's the cost of a session", "billing", None, {}),
    ("I can't find my appointment link", "links", None, {}),
    ("I'd like to schedule an appointment for next Monday morning", "appointments", "book",
     {"to_day": "next monday morning"}),
    ("can I push my session back to tomorrow afternoon", "appointments", "reschedule",  # review 14c finding 3
     {"to_day": "tomorrow afternoon"}),
    ("can I get the link for my video session", "links", None, {}),
    ("I can't log in to the portal", "links", None, {}),
    ("what's my password for the client portal", "links", None, {}),
    ("I want to pay my bill", "billing", None, {}),
    ("I need to update my credit card", "billing", None, {}),
    ("change my card", "billing", None, {}),  # "change" alone does not make it a rescheduling
    ("I have a question about a charge on my statement", "billing", None, {}),
    ("do you take my insurance", "billing", None, {}),
    ("I need a receipt for my last session", "billing", None, {}),
    ("I'm looking for a therapist", "new_client", None, {}),
    ("are you accepting new clients", "new_client", None, {}),
    ("my doctor referred me to you", "new_client", None, {}),
    ("I'm a new client and I want to book an appointment", "new_client", None, {}),  # new client first
    ("I'd like to book my first session", "new_client", None, {}),
    ("I want to talk to a person", "operator", None, {}),
    ("can I speak with someone at the front desk", "operator", None, {}),
    ("I want to talk to someone about my bill", "billing", None, {}),  # the topic beats "a person"
    # keys said instead of pressed
    ("two", "links", None, {}),
    ("press three", "billing", None, {}),
    # bt14-s25 nit 7: a late client, a later time on a day, who they see; starting without "new client"
    ("I'm going to be ten minutes late", "appointments", None, {}),
    ("I'll be 10 minutes late", "appointments", None, {}),
    ("I'm running a bit behind", "appointments", None, {}),
    ("can I come in later on Tuesday", "appointments", "reschedule", {"day": "tuesday"}),
    # bt14-s26 SHOULD-FIX 5: the day the caller cannot make is ruled out, the day they want is kept, with or
    # without "instead"; a move, so a rescheduling
    *[(said, "appointments", "reschedule", {"from_day": "tomorrow", "not_day": "tomorrow",
                                           "to_day": "friday morning"}) for said in (
        "I can't make it tomorrow, can we do Friday morning instead",
        "I can't make it tomorrow, could we do Friday morning",
        "I can't come in tomorrow. Friday morning would be better",
        "I can't come in tomorrow, Friday morning then",
        "I can't make it tomorrow, Friday morning",
        "I won't be able to make it tomorrow, maybe Friday morning",
        "I can't make it tomorrow, can I come Friday morning",
        "I'm unable to come tomorrow, Friday morning works for me")],
    ("I need to reschedule, not Monday, maybe Wednesday", "appointments", "reschedule",
     {"not_day": "monday", "to_day": "wednesday"}),
    ("move my appointment, not Monday, perhaps Wednesday", "appointments", "reschedule",
     {"not_day": "monday", "to_day": "wednesday"}),
    ("reschedule, Monday's no good, how about Wednesday", "appointments", "reschedule",
     {"not_day": "mondays", "to_day": "wednesday"}),
    ("reschedule, I'd prefer Wednesday, not Monday", "appointments", "reschedule",
     {"not_day": "monday", "to_day": "wednesday"}),
    ("reschedule, anything but Tuesday", "appointments", "reschedule", {"not_day": "tuesday"}),
    ("reschedule, any day but Tuesday", "appointments", "reschedule", {"not_day": "tuesday"}),
    ("reschedule, anything except Tuesday", "appointments", "reschedule", {"not_day": "tuesday"}),
    ("reschedule to any day apart from Tuesday", "appointments", "reschedule", {"not_day": "tuesday"}),
    ("when am I seeing Dr Chen", "appointments", "hear", {}),
    ("I'd like to see someone about therapy", "new_client", None, {}),
    ("I want to start seeing someone", "new_client", None, {}),
    ("is there a late fee", "billing", None, {}),  # "late" alone is no late client
    ("option 1", "appointments", None, {}),
    ("zero", "operator", None, {}),
]

NO_MATCH_ROWS = [
    # (said, tied, name_options)
    ("I want to pay my bill and get the zoom link", ("links", "billing"), ("links", "billing")),
    ("blah blah", (), EVERY),
    ("I'm not a new client", (), EVERY),  # review 14b finding 5: denied
    ("not billing", (), EVERY),
    ("what time do you open", (), EVERY),
    ("what's the address of your office", (), EVERY),
    ("I don't want to talk to a machine", (), EVERY),
    ("yes", (), EVERY),
    ("um", (), EVERY),
    ("", (), EVERY),
    ("nine nine", (), EVERY),  # two keys are no key
]


@pytest.mark.parametrize(("said", "intent", "action", "details"), ROWS, ids=[r[0] for r in ROWS])
def test_said_what_they_want(said: str, intent: str, action: str | None, details: dict) -> None:
    match = match_intent(said, MENU)
    assert (match.intent, match.action, dict(match.details)) == (intent, action, details)
    assert match.key == next(o.key for o in MENU if o.intent == intent)
    assert match.name_options == () and match.tied == ()


@pytest.mark.parametrize(
    ("said", "tied", "name_options"), NO_MATCH_ROWS, ids=[r[0] or "(nothing)" for r in NO_MATCH_ROWS]
)
def test_nothing_matched_names_the_options(said: str, tied: tuple, name_options: tuple) -> None:
    match = match_intent(said, MENU)
    assert match.intent is None and match.key is None and match.action is None
    assert (match.tied, match.name_options) == (tied, name_options)


def test_row_count() -> None:
    assert len(ROWS) + len(NO_MATCH_ROWS) >= 40


def test_the_whole_match() -> None:
    assert match_intent("I need to move my Thursday appointment to next week", MENU) == IntentMatch(
        "appointments", "1", "reschedule", {"from_day": "thursday", "to_day": "next week"}, score=1)


def test_an_option_outside_the_vocabulary_uses_its_own_words() -> None:
    menu = (*MENU, MenuOption("hours", "5", ("hours", "open", "closed")))
    assert match_intent("what are your hours", menu).intent == "hours"
    assert match_intent("are you open on Saturday", menu).intent == "hours"


def test_a_menu_only_matches_its_own_options() -> None:
    short = (MENU[1], MENU[2])  # links and billing only
    assert match_intent("I want to cancel my appointment", short).intent is None
    assert match_intent("I want to cancel my appointment", short).name_options == ("links", "billing")


def test_another_vocabulary() -> None:
    vocab = {"appointments": IntentWords(("cita",), {"cancel": ("cancelar",)})}
    menu = (MenuOption("appointments", "1"), MenuOption("billing", "3", ("factura",)))
    assert match_intent("quiero cancelar mi cita", menu, language="es", vocabulary=vocab).action == "cancel"
    assert match_intent("mi factura", menu, language="es").intent == "billing"  # no built-in Spanish words
    assert "es" not in VOCABULARY


@pytest.mark.parametrize(
    ("said", "action", "details"),
    [
        ("move my appointment from Monday to Wednesday", None, {"from_day": "monday", "to_day": "wednesday"}),
        ("book me in for Friday at 2pm", "book", {"to_day": "friday", "to_time": "2 pm"}),
        ("my appointment for Friday", "cancel", {"from_day": "friday"}),
        ("my appointment for Friday", "book", {"to_day": "friday"}),
        ("anytime next week works", None, {"to_day": "next week"}),  # "works": a wish (bt14-s26 S5)
        # review 14 finding 7: a day or time ruled out is never where the caller wants to go
        ("reschedule, but not to Wednesday", "reschedule", {"not_day": "wednesday"}),
        ("anything except Friday", "reschedule", {"not_day": "friday"}),
        ("any day other than Monday", "reschedule", {"not_day": "monday"}),
        ("move it to Friday, not Thursday", "reschedule", {"to_day": "friday", "not_day": "thursday"}),
        ("I don't want Wednesday", "reschedule", {"not_day": "wednesday"}),
        # finding 14: a negated bound is the opposite bound, ten or later (spoken_values._NEGATED_BOUNDS)
        ("not before ten", "reschedule", {"time": "after ten"}),
        ("no later than 5 pm", "reschedule", {"time": "before 5 pm"}),
        # findings 13 and 14: alternatives and self-corrections stay together, so resolving them asks
        ("move it to three thirty or four", "reschedule", {"to_time": "three thirty or four"}),
        ("move it to 3 pm, sorry, 4 pm", "reschedule", {"to_time": "3 pm sorry 4 pm"}),
        ("move it to Tuesday, no wait, Wednesday", "reschedule", {"to_day": "tuesday no wait wednesday"}),
        ("reschedule to Friday the 5th", "reschedule", {"to_day": "friday the 5th"}),  # parse_day checks both
        # finding 6: the day said for the appointment is the one the caller has
        ("I need to move my appointment next Tuesday to Thursday", "reschedule",
         {"from_day": "next tuesday", "to_day": "thursday"}),
        ("move my appointment on Sunday to Thursday", "reschedule", {"from_day": "sunday", "to_day": "thursday"}),
        # review 14b findings 1 and 2: a weekday's week stays with it; an appointment named by its date
        ("reschedule to Wednesday next week", "reschedule", {"to_day": "wednesday next week"}),
        ("reschedule to Thursday the 10th", "reschedule", {"to_day": "thursday the 10th"}),
        ("I need to move my appointment on December 8th to Thursday", "reschedule",
         {"from_day": "december 8th", "to_day": "thursday"}),
        ("I need to move my appointment on Tuesday the 8th to Wednesday", "reschedule",
         {"from_day": "tuesday the 8th", "to_day": "wednesday"}),
        ("I need to cancel my appointment on December 8th", "cancel", {"from_day": "december 8th"}),
        ("I need to move my appointment to December 10th", "reschedule", {"to_day": "december 10th"}),
        ("move my appointment on 12/8 to 12/10", "reschedule", {"from_day": "12/8", "to_day": "12/10"}),
        # issue 14 gap: months, holidays and days counted from another are wishes
        ("can I move my appointment to after Christmas", "reschedule", {"to_day": "after christmas"}),
        ("reschedule to early January", "reschedule", {"to_day": "early january"}),
        ("move it to the week before Thanksgiving", "reschedule", {"to_day": "the week before thanksgiving"}),
        ("I need to reschedule, can I come the day after", "reschedule", {"to_day": "the day after"}),
        ("move my Tuesday appointment to the day after", "reschedule",
         {"from_day": "tuesday", "to_day": "the day after"}),
        ("can we do between Christmas and New Year", "reschedule", {"to_day": "between christmas and new year"}),
        ("reschedule to sometime next year", "reschedule", {"to_day": "next year"}),
        ("reschedule it to Monday week", "reschedule", {"to_day": "monday week"}),
        ("I can't come after Christmas", "reschedule", {"not_day": "after christmas"}),
        ("reschedule for next month", "reschedule", {"to_day": "next month"}),
        ("reschedule it in a fortnight", "reschedule", {"to_day": "in a fortnight"}),
        ("move my appointment in two weeks to Friday", "reschedule", {"from_day": "in two weeks", "to_day": "friday"}),
        # review 14c finding 3: words between "to" and the day; a part of the day said before the day
        ("can I move it to later today", "reschedule", {"to_day": "today"}),
        ("move my session to a morning later this week", "reschedule", {"to_day": "this week morning"}),
        # bt14-s25 nit 7: "early" is kept: early next week is Monday to Wednesday
        ("move it to an afternoon early next week", "reschedule", {"to_day": "early next week afternoon"}),
        ("move my session to Wednesday morning", "reschedule", {"to_day": "wednesday morning"}),
        ("can I move it to next Wednesday", "reschedule", {"to_day": "next wednesday"}),
        # fix14-left2 item 2: a day or time ruled out at an offer, before or after it; a part of the day on its own
        ("not Wednesday", "reschedule", {"not_day": "wednesday"}),
        ("not Wednesday, Thursday", "reschedule", {"not_day": "wednesday", "to_day": "thursday"}),  # bt14-s26 S5
        ("Wednesday is no good, how about Thursday", "reschedule", {"not_day": "wednesday", "to_day": "thursday"}),
        ("Wednesday doesn't work for me", "reschedule", {"not_day": "wednesday"}),
        ("Tuesday works, Wednesday doesn't", "reschedule", {"to_day": "tuesday", "not_day": "wednesday"}),
        ("Friday won't work", "reschedule", {"not_day": "friday"}),
        ("anything but mornings", "reschedule", {"not_time": "mornings"}),
        ("no mornings please", "reschedule", {"not_time": "mornings"}),
        ("not in the morning", "reschedule", {"not_time": "morning"}),
        ("afternoon please", "reschedule", {"time": "afternoon"}),
        ("something in the afternoon", "reschedule", {"time": "afternoon"}),
        ("tomorrow in the morning", "reschedule", {"day": "tomorrow", "time": "morning"}),
        ("move it to Friday in the afternoon", "reschedule", {"to_day": "friday", "to_time": "afternoon"}),
        ("mornings but not Wednesday", "reschedule", {"time": "mornings", "not_day": "wednesday"}),
        ("good morning, I need to reschedule", "reschedule", {}),
        ("my morning appointment", "reschedule", {"from_time": "morning"}),
        ("not after ten, and not in the evening", "reschedule", {"time": "before ten"}),
        # fix14-left2 break-test rows
        ("later in the week", "reschedule", {"day": "later in the week"}),
        ("Wednesday after lunch", "reschedule", {"day": "wednesday", "time": "after lunch"}),
        ("Wednesday's out, what about Monday", "reschedule", {"not_day": "wednesdays", "to_day": "monday"}),
        ("I have a lunch meeting on Friday", "reschedule", {"day": "friday"}),
        # fix14-left gap 3: days offered with "or" are one wish for any of them, never the first alone
        ("reschedule to Tuesday or Wednesday", "reschedule", {"to_day": "tuesday or wednesday"}),
        ("reschedule to either Tuesday or Thursday", "reschedule", {"to_day": "tuesday or thursday"}),
        ("can I move it to Monday or Friday afternoon", "reschedule", {"to_day": "monday or friday afternoon"}),
        ("Tuesday morning or Wednesday afternoon", "reschedule", {"day": "tuesday morning or wednesday afternoon"}),
        ("none of those, how about Tuesday or Wednesday", "reschedule", {"to_day": "tuesday or wednesday"}),
        ("move my Thursday appointment to Tuesday or Wednesday", "reschedule",
         {"from_day": "thursday", "to_day": "tuesday or wednesday"}),
        ("I can't do Tuesday or Wednesday", "reschedule", {"not_day": "tuesday or wednesday"}),
        ("not Tuesday, Wednesday", "reschedule", {"not_day": "tuesday", "to_day": "wednesday"}),
    ],
)
def test_request_details(said: str, action: str | None, details: dict) -> None:
    assert request_details(said, action=action) == details


@pytest.mark.parametrize(
    ("said", "action", "details"),
    [
        # bt14-s27 SHOULD-FIX 3: a day said right after a time takes the time's role; a bare hour moved to is a time
        ("reschedule to half past two next Tuesday", "reschedule",
         {"to_time": "half past two", "to_day": "next tuesday"}),
        ("reschedule to 2:30 on Tuesday", "reschedule", {"to_time": "2 30", "to_day": "tuesday"}),
        ("reschedule to next Tuesday at half past two", "reschedule",
         {"to_day": "next tuesday", "to_time": "half past two"}),  # unchanged: the day first
        ("Can I move my 10 AM tomorrow to half past two next Tuesday", "reschedule",
         {"from_time": "10 am", "from_day": "tomorrow", "to_time": "half past two", "to_day": "next tuesday"}),
        ("move it to eleven", "reschedule", {"to_time": "eleven"}),
        ("switch to four", "reschedule", {"to_time": "four"}),
        ("push it back to three", "reschedule", {"to_time": "three"}),
        ("move it to three weeks from now", "reschedule", {"to_day": "three weeks from now"}),
        ("I need to talk to one of the staff", None, {}),
        # NIT 1: a leading "to" is no "two"
        ("to ten thirty next Monday please", "reschedule", {"to_time": "ten thirty", "to_day": "next monday"}),
    ],
)
def test_request_details_times_before_days(said: str, action: str | None, details: dict) -> None:
    assert request_details(said, action=action) == details
