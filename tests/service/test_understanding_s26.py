"""Break-test bt14-s26 (fix14-bt4), as callers would try it: whole calls through the simulator (signed webhooks, the
TwiML followed verb by verb) against the shipped flows. Today is Monday, November 23; Alex's next appointment is
tomorrow at 10 AM with Dr. Maya Chen."""
from __future__ import annotations

import pytest

from tests.helpers.service import ALEX, CRISIS_GUIDANCE, stored_state

STRANGER = "+15559990001"


class TestCrisisInTheReportedWords:
    @pytest.mark.parametrize(("caller", "script", "kind"), [
        # BLOCKER 2, over real webhooks at the prompts the report used
        (ALEX, "1;say:i'm going to blow my brains out", "suicide_self_harm"),  # the date-of-birth prompt
        (STRANGER, "say:new client;say:Sam;say:two one two five five five oh one four two;1;"
                   "say:whenever, my daughter ate some of my pills", "medical_emergency"),  # the intake's best time
        (ALEX, "say:he said he'll kill me if I leave", "in_danger"),  # the main menu
        (ALEX, "say:I took all my hydroxyzine", "medical_emergency"),
        (ALEX, "say:my son thinks about killing himself", "suicide_self_harm"),
        (ALEX, "say:I just downed a bottle of vodka and a bottle of pills", "medical_emergency"),
        (ALEX, "say:my toddler swallowed a button battery", "medical_emergency"),
        (ALEX, "say:I took all my grandma's heart pills", "medical_emergency"),
        # SHOULD-FIX 4: "won't stop" is no denial
        (ALEX, "say:she won't stop hitting me", "in_danger"),
    ])
    def test_the_crisis_path_at_any_prompt(self, sim, redis_conn, caller, script, kind):
        result = sim.call(from_=caller, script=f"{script};hangup")
        assert CRISIS_GUIDANCE in result.heard
        state = stored_state(redis_conn, result.call_sid)
        assert any(e.endswith(":crisis") for e in state["history"])
        assert state["vars"]["crisis_kind"] == kind

    @pytest.mark.parametrize("said", [
        "it's not a medical emergency, I just need the link",
        "my boss hits me with deadlines all the time so I need late appointments",
        "someone broke into my email so please don't email me, I need to reschedule",
    ])
    def test_everyday_words_never_take_the_crisis_path(self, sim, redis_conn, said):
        """SHOULD-FIX 3: the request goes on to the date of birth, no crisis guidance, nobody paged."""
        result = sim.call(from_=ALEX, script=f"say:{said};hangup")
        assert CRISIS_GUIDANCE not in result.heard
        assert not any(e.endswith(":crisis") for e in stored_state(redis_conn, result.call_sid)["history"])
        assert result.heard[-1].startswith("To protect your privacy, please enter your date of birth")
