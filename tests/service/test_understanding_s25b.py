"""Break-test bt14-s25b (fix14-bt3), as callers would try it: whole calls through the simulator (signed webhooks, the
TwiML followed verb by verb) against the shipped flows. Today is Monday, November 23; Alex's next appointment is
tomorrow at 10 AM with Dr. Maya Chen."""
from __future__ import annotations

import pytest

from tests.helpers.service import ALEX, CRISIS_GUIDANCE, stored_state

STRANGER = "+15559990001"


class TestCrisisInTheReportedWords:
    @pytest.mark.parametrize(("caller", "script", "step", "kind"), [
        # BLOCKER 1, each over real webhooks at the prompt the report used
        (ALEX, "say:I hope I die", "main_menu", "suicide_self_harm"),
        (ALEX, "1;say:I should just end it", "verify_dob", "suicide_self_harm"),
        (STRANGER, "say:new client;say:Sam;say:two one two five five five oh one four two;1;"
                   "say:it doesn't matter, I took all my antidepressants an hour ago", "ask_best_time",
         "medical_emergency"),
        (ALEX, "say:my stepdad touches me", "main_menu", "in_danger"),
        # NIT 6: the caller's children threatened; another person's suicide risk
        (ALEX, "say:my ex is threatening to kill my kids", "main_menu", "in_danger"),
        (ALEX, "say:my husband has a gun and says he'll use it on himself", "main_menu", "suicide_self_harm"),
    ])
    def test_the_crisis_path_at_any_prompt(self, sim, redis_conn, caller, script, step, kind):
        result = sim.call(from_=caller, script=f"{script};hangup")
        assert CRISIS_GUIDANCE in result.heard
        state = stored_state(redis_conn, result.call_sid)
        assert any(e.endswith(":crisis") for e in state["history"])
        assert state["vars"]["crisis_kind"] == kind

    @pytest.mark.parametrize("said", [
        "I'm dying my hair tomorrow so can I move my appointment to Friday",
        "I have a question about my bill for the ambulance",
    ])
    def test_everyday_words_never_take_the_crisis_path(self, sim, redis_conn, said):
        """SHOULD-FIX 5: at most the offer; the request goes on to the date of birth."""
        result = sim.call(from_=ALEX, script=f"say:{said};hangup")
        assert CRISIS_GUIDANCE not in result.heard
        assert not any(e.endswith(":crisis") for e in stored_state(redis_conn, result.call_sid)["history"])
        assert result.heard[-1].startswith("To protect your privacy, please enter your date of birth")


class TestDatesOnTheTwentieth:
    def test_four_twenty_eighty_five_is_a_date(self, sim, redis_conn):
        """SHOULD-FIX 2: read as April 20, 1985 (not Alex's date of birth, so not verified), never "Sorry, I didn't
        get a date I can use" nor asked which date was meant."""
        result = sim.call(from_=ALEX, script="1;say:four twenty eighty five;hangup")
        assert not result.heard[-1].startswith(("Sorry, I didn't get a date", "I'm not sure which date"))


class TestTheOfferWhereItIsHeard:
    def test_the_offer_heard_in_the_date_of_birth_gather_is_the_typed_one(self, sim, redis_conn):
        """SHOULD-FIX 4: distress said at the menu, heard inside the date ask (finishOnKey="#"): "press 9 and then
        pound, or say crisis", never "press 9 now" (docs/understanding.md §12)."""
        result = sim.call(from_=ALEX, script="say:I can't do this anymore, I need to cancel;hangup")
        document = next(d for d in result.documents if "date of birth" in d)
        assert "press 9 now" not in document
        assert ('speechTimeout="2" timeout="6"><Say language="en-US" voice="Polly.Joanna">If you are in crisis, '
                'press 9 and then pound, or say crisis.</Say><Say language="en-US" voice="Polly.Joanna">To protect '
                'your privacy') in document


class TestDaysCountedFromNow:
    @pytest.mark.parametrize(("said", "to_day"), [
        ("can I move my appointment to three days from now", "three days from now"),
        ("reschedule to two days from tomorrow", "two days from tomorrow"),
    ])
    def test_a_reschedule_n_days_from_now_offers_that_day(self, sim, redis_conn, said, to_day):
        """SHOULD-FIX 3: the day is carried as the day wished for (never "now" as the appointment the caller has),
        so after verifying the offers are for that day: Thursday, November 26 (today is Monday the 23rd; the practice
        is closed for Thanksgiving, so it is said to have nothing open, never today's slots as if asked for)."""
        result = sim.call(from_=ALEX, script=f"say:{said};04151985#;hangup")
        assert stored_state(redis_conn, result.call_sid)["vars"]["request"]["to_day"] == to_day
        assert "from_day" not in stored_state(redis_conn, result.call_sid)["vars"]["request"]
        assert result.heard[-1].startswith("I have nothing open on Thursday, November 26. I can offer today at 12 PM")
