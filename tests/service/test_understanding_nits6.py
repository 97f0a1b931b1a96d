"""fix14-nits6: what the bt14-s25 rounds left of issue 14, as callers would try it: whole calls through the simulator
(signed webhooks, the TwiML followed verb by verb) against the shipped flows. Today is Monday, November 23; Alex's
next appointment is tomorrow at 10 AM with Dr. Maya Chen."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.escalations.models import Escalation
from tests.helpers.service import stored_state

ALEX = "+15551230001"  # the demo practice's Alex Rivera, born April 15, 1985
STRANGER = "+15551239999"
SAY = '<Say language="en-US" voice="Polly.Joanna">'
# The intake's number prompt (flows/intake.yaml ask_number), with the crisis line a typed prompt carries.
ASK_NUMBER = ("Please say the best number to call you back on, including the area code, or enter it on the keypad and "
              "press pound. If you are in crisis, press 9 and then pound, or say crisis.")
BEST_TIME = "What is a good time to reach you? For example, weekday mornings, or after 5 PM."


def history(redis_conn, call_sid: str) -> list[str]:
    return stored_state(redis_conn, call_sid)["history"]


class TestACallbackNumberWithAnExtension:
    """bt14-s25 nit 7 ("my number is 555 123 4567 ext 12" got "Sorry, I didn't catch that."): the extension is taken,
    read back as a group of its own, and kept for staff beside the number they call."""

    @pytest.mark.parametrize("number", [
        "say:555 212 3456 ext 12", "say:five five five two one two three four five six extension twelve",
        "say:555 212 3456, x12", "say:my number is 555 212 3456 extension one two", "5552123456*12#",
    ])
    def test_it_is_read_back_grouped_and_kept_for_staff(self, sim, redis_conn, run_jobs, database, number):
        result = sim.call(from_=STRANGER, script=f"4;say:Sam;{number};1;say:weekday mornings")
        document = next(d for d in result.documents if "I have 5" in d)
        assert (f"{SAY}I have 5 5 5, 2 1 2, 3 4 5 6, extension 1 2. If that's right, press 1 or say yes. To give it "
                "again, press 2.</Say></Gather>") in document
        assert BEST_TIME in result.heard
        assert stored_state(redis_conn, result.call_sid)["vars"]["intake_number"] == "+15552123456;ext=12"
        run_jobs()
        with database.sessions() as db:
            row = db.scalars(select(Escalation).where(Escalation.call_sid == result.call_sid)).one()
        assert row.caller_number == "+15552123456"  # what staff dial; the extension beside it
        assert row.details == {"first_name": "Sam", "best_time": "weekday mornings", "extension": "12"}

    @pytest.mark.parametrize("number", ["say:555 212 3456 extension", "say:extension 12, 555 212 3456",
                                        "say:555 212 3456 ext 12345678"])
    def test_an_extension_without_its_digits_is_asked_for_plainly(self, sim, redis_conn, number):
        result = sim.call(from_=STRANGER, script=f"4;say:Sam;{number};hangup")
        assert result.heard[-2:] == [
            "I need the extension's digits too. Please say the number with the area code first, then the word "
            "extension and its digits. Or enter the number on the keypad, then star and the extension, and press "
            "pound.",
            ASK_NUMBER]
        assert "intake_number" not in stored_state(redis_conn, result.call_sid)["vars"]

    @pytest.mark.parametrize("said", ["I don't know it", "the one you have", "my cell"])
    def test_an_answer_with_no_number_hears_what_to_do_never_the_generic_sorry(self, sim, redis_conn, said):
        result = sim.call(from_=STRANGER, script=f"4;say:Sam;say:{said};hangup")
        assert result.heard[-2:] == [
            "Sorry, I didn't get a phone number. Please say it with the area code, one digit at a time, or enter it "
            "on the keypad and press pound.",
            ASK_NUMBER]
        assert "Sorry, I didn't catch that." not in result.heard
