"""fix14-left: the three gaps issue 14 had left, as callers would try them: whole calls through the simulator (signed
webhooks, the TwiML followed verb by verb) against the shipped flows. Today is Monday, November 23, 2026; Alex's next
appointment is tomorrow (Tuesday) at 10 AM with Dr. Maya Chen, who works Monday to Thursday."""
from __future__ import annotations

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from tests.helpers.service import ALEX, CRISIS_GUIDANCE, stored_state

CONNECTING = "I am connecting you with our on-call clinician now."


def urgent(redis_conn) -> list[str]:
    return Queue("urgent", connection=redis_conn, serializer=JSONSerializer).job_ids


class TestPunctuationNeverHidesACrisis:
    """Gap 1: the commas and full stops the recogniser writes between words ("help, fire!") once split a crisis
    phrase into words that were each nothing."""

    @pytest.mark.parametrize(("said", "kind"), [
        ("help, fire!", "in_danger"), ("help. fire!", "in_danger"), ("fire, help me", "in_danger"),
        ("I, I want to, to die", "suicide_self_harm"),
    ])
    def test_the_crisis_path_at_the_main_menu(self, sim, redis_conn, said, kind):
        result = sim.call(from_=ALEX, script=f"say:{said};answer")
        assert result.heard[-2:] == [CRISIS_GUIDANCE, CONNECTING]
        assert urgent(redis_conn) == [f"escalate-{result.call_sid}-crisis"]
        state = stored_state(redis_conn, result.call_sid)
        assert "main_menu:crisis" in state["history"]
        assert state["vars"]["crisis_kind"] == kind

    @pytest.mark.parametrize("said", ["not suicidal, I need my link", "I'm not, not suicidal, I need my link"])
    def test_a_denial_beside_a_request_still_goes_to_the_request(self, sim, redis_conn, said):
        result = sim.call(from_=ALEX, script=f"say:{said};hangup")
        assert urgent(redis_conn) == []
        steps = stored_state(redis_conn, result.call_sid)["history"]
        assert "main_menu:crisis" not in steps and "main.want_links" in steps


ANOTHER_DAY = " If none of these work, press 4 to choose another day."


class TestAnyOfTheDaysNamed:
    """Gap 3: "Tuesday or Wednesday" kept only Tuesday; every day named is acceptable, nearest first."""

    @pytest.mark.parametrize(("said", "to_day", "heard"), [
        ("reschedule to Tuesday or Wednesday morning", "tuesday or wednesday morning",
         "I can offer tomorrow at 9 AM, press 1; tomorrow at 11 AM, press 2; or Wednesday, November 25 at 9 AM, "
         "press 3." + ANOTHER_DAY),
        ("reschedule to either Wednesday or Tuesday", "wednesday or tuesday",
         "I can offer tomorrow at 9 AM, press 1; tomorrow at 11 AM, press 2; or tomorrow at 12 PM, press 3."
         + ANOTHER_DAY),
        ("reschedule to Tuesday morning or Wednesday afternoon", "tuesday morning or wednesday afternoon",
         "I can offer tomorrow at 9 AM, press 1; tomorrow at 11 AM, press 2; or Wednesday, November 25 at 12 PM, "
         "press 3." + ANOTHER_DAY),
        # Monday said on a Monday is today or next Monday; Dr. Chen works no Fridays: this afternoon, nearest first
        ("can I move it to Monday or Friday afternoon", "monday or friday afternoon",
         "I can offer today at 12 PM, press 1; today at 1 PM, press 2; or today at 2 PM, press 3." + ANOTHER_DAY),
        # nothing open on any of them: said so, every day named
        ("reschedule to Friday or Saturday", "friday or saturday",
         "I have nothing open on Friday, November 27 or on Saturday, November 28. I can offer today at 12 PM, press 1; "
         "today at 1 PM, press 2; or today at 2 PM, press 3." + ANOTHER_DAY),
    ])
    def test_the_offers_are_on_any_of_them(self, sim, redis_conn, said, to_day, heard):
        result = sim.call(from_=ALEX, script=f"say:{said};say:for fifteen eighty five;hangup")
        request = stored_state(redis_conn, result.call_sid)["vars"]["request"]
        assert request["to_day"] == to_day
        assert result.heard[-1] == heard
        assert f'<Say language="en-US" voice="Polly.Joanna">{heard}</Say></Gather>' in result.documents[-1]

    def test_a_day_ruled_out_before_another_is_still_out(self, sim, redis_conn):
        result = sim.call(from_=ALEX,
                          script="say:reschedule, not Tuesday, Wednesday;say:for fifteen eighty five;hangup")
        request = stored_state(redis_conn, result.call_sid)["vars"]["request"]
        assert (request["not_day"], request["to_day"]) == ("tuesday", "wednesday")
        assert result.heard[-1] == ("I can offer Wednesday, November 25 at 9 AM, press 1; Wednesday, November 25 at "
                                    "10 AM, press 2; or Wednesday, November 25 at 12 PM, press 3." + ANOTHER_DAY)
