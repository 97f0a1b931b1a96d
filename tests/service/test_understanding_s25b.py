"""Break-test bt14-s25b (fix14-bt3), as callers would try it: whole calls through the simulator (signed webhooks, the
TwiML followed verb by verb) against the shipped flows. Today is Monday, November 23; Alex's next appointment is
tomorrow at 10 AM with Dr. Maya Chen."""
from __future__ import annotations

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
