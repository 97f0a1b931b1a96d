"""Issue 14, as callers would try it: whole calls through the simulator (signed webhooks, the TwiML
followed verb by verb) against the shipped flows."""
from __future__ import annotations

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from tests.helpers.service import stored_state

CRISIS_GUIDANCE = (
    "If you are in danger or this is a medical emergency, hang up and dial 9 1 1 now. If you are thinking "
    "about suicide or are in crisis, you can call or text 9 8 8, the Suicide and Crisis Lifeline, at any time, "
    "day or night.")


def history(redis_conn, call_sid: str) -> list[str]:
    return stored_state(redis_conn, call_sid)["history"]


def queued(redis_conn, name: str = "calls") -> list[str]:
    return Queue(name, connection=redis_conn, serializer=JSONSerializer).job_ids


class TestCrisisInAnyWords:
    @pytest.mark.parametrize("confidence", ["", "@0.2", "@nan", "@none"])
    def test_i_dont_want_to_live_anymore_at_the_main_menu(self, sim, redis_conn, confidence):
        result = sim.call(script=f"say:I don't want to live anymore{confidence};answer")
        assert "Sorry, I didn't catch that." not in result.heard
        assert result.heard[-2:] == [CRISIS_GUIDANCE, "I am connecting you with our on-call clinician now."]
        assert ("dial", ["+15550100101"]) in result.transcript
        assert queued(redis_conn, "urgent") == [f"escalate-{result.call_sid}-crisis"]
        steps = history(redis_conn, result.call_sid)
        assert steps[steps.index("main.main_menu") + 1:][:3] == ["main_menu:crisis", "main.to_crisis",
                                                                 "crisis.guidance"]

    def test_crisis_words_while_asked_for_a_date_of_birth(self, sim, redis_conn):
        result = sim.call(script="1;say:I took a bunch of pills@0.3;answer")
        assert result.heard[-2:] == [CRISIS_GUIDANCE, "I am connecting you with our on-call clinician now."]
        assert "ask_dob:crisis" in history(redis_conn, result.call_sid)

    def test_not_suicidal_and_a_request_goes_nowhere_wrong(self, sim, redis_conn):
        result = sim.call(script="say:I'm not suicidal, I need my link;hangup")
        assert queued(redis_conn, "urgent") == []
        steps = history(redis_conn, result.call_sid)
        assert "main_menu:crisis" not in steps and "main.want_links" in steps
