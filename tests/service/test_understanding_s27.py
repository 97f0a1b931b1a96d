"""Break-test bt14-s27 (fix14-crisis), as callers would try it: whole calls through the simulator (signed webhooks, the
TwiML followed verb by verb) against the shipped flows, at the main menu. Today is Monday, November 23; Alex's next
appointment is tomorrow at 10 AM with Dr. Maya Chen."""
from __future__ import annotations

import pytest

from tests.helpers.service import ALEX, CRISIS_GUIDANCE, stored_state


class TestCrisisInAnyWords:
    @pytest.mark.parametrize(("said", "kind"), [
        ("I want to kill my coworkers", "harm_to_others"),  # BLOCKER 1: harm to others, a plural people noun
        ("he stabbed me", "in_danger"),  # BLOCKER 5: an assault told in the past tense
    ])
    def test_the_crisis_path_at_the_main_menu(self, sim, redis_conn, said, kind):
        result = sim.call(from_=ALEX, script=f"say:{said};hangup")
        assert "Sorry, I didn't catch that" not in " ".join(result.heard)
        assert CRISIS_GUIDANCE in result.heard
        state = stored_state(redis_conn, result.call_sid)
        assert any(e.endswith(":crisis") for e in state["history"])
        assert state["vars"]["crisis_kind"] == kind

    def test_a_nurse_in_the_emergency_department_is_not_paged(self, sim, redis_conn):
        """SHOULD-FIX 1, the report's words: no crisis guidance, nobody paged. "an evening slot" is no intent the menu
        knows (issue 14's intents, not this fix), so the caller hears the short re-prompt."""
        result = sim.call(from_=ALEX, script="say:I'm a nurse in the emergency department, I work nights, can I get an "
                                             "evening slot;hangup")
        assert CRISIS_GUIDANCE not in result.heard
        assert not any(e.endswith(":crisis") for e in stored_state(redis_conn, result.call_sid)["history"])
        assert result.heard[-1] == ("Sorry, I didn't catch that. You can say appointment, link, billing or new client. "
                                    "Or press 0 to speak with someone. For urgent support, press 9.")

    def test_a_nurse_in_the_emergency_department_goes_on_to_her_request(self, sim, redis_conn):
        result = sim.call(from_=ALEX, script="say:I'm a nurse in the emergency department, I need to reschedule;hangup")
        assert CRISIS_GUIDANCE not in result.heard
        assert not any(e.endswith(":crisis") for e in stored_state(redis_conn, result.call_sid)["history"])
        assert result.heard[-1].startswith("To protect your privacy, please enter your date of birth")
