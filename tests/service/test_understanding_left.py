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
