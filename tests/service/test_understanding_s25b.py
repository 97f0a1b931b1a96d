"""Break-test bt14-s25b (fix14-bt3), as callers would try it: whole calls through the simulator (signed webhooks, the
TwiML followed verb by verb) against the shipped flows. Today is Monday, November 23; Alex's next appointment is
tomorrow at 10 AM with Dr. Maya Chen."""
from __future__ import annotations

import pytest

from tests.helpers.service import stored_state

ALEX = "+15551230001"  # the demo practice's Alex Rivera, born April 15, 1985


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
