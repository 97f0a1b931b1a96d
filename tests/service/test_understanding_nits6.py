"""fix14-nits6: what the bt14-s25 rounds left of issue 14, as callers would try it: whole calls through the simulator
(signed webhooks, the TwiML followed verb by verb) against the shipped flows. Today is Monday, November 23; Alex's
next appointment is tomorrow at 10 AM with Dr. Maya Chen."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.escalations.models import Escalation
from tests.helpers.service import ALEX, CLOSED_NOW, stored_state

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


class TestADateThatSplitsTwoWays:
    """bt14-s25b SHOULD-FIX 2's "five twenty oh five" (one candidate: May 20, 2005, or May 2005 with its day lost):
    ambiguous answers follow one rule, the one whole date read back for a yes, or a refusal naming each reading."""

    @pytest.mark.parametrize(("said", "date"), [("five twenty oh five", "May 20, 2005"),
                                                ("five twenty ten", "May 20, 2010"),
                                                ("oh three nineteen ninety two", "March 19, 1992")])
    def test_one_whole_date_is_read_back_for_a_yes(self, sim, redis_conn, said, date):
        result = sim.call(from_=ALEX, script=f"1;say:{said};hangup")
        document = next(d for d in result.documents if "I heard" in d)
        assert (f"{SAY}I heard {date}. If that's right, press 1 or say yes. If not, press 2.</Say></Gather>"
                in document)
        steps = history(redis_conn, result.call_sid)
        assert "ask_dob:confirm" in steps and "identify.check" not in steps

    def test_a_yes_takes_the_date_read_back(self, sim, redis_conn):
        """Not Alex's date of birth: checked once the caller says yes, and refused as any wrong date is."""
        result = sim.call(from_=ALEX, script="1;say:five twenty oh five;say:yes;hangup")
        steps = history(redis_conn, result.call_sid)
        assert steps[steps.index("identify.ask_dob"):][:3] == ["identify.ask_dob", "ask_dob:confirm",
                                                                "ask_dob:confirmed"]
        assert "check:failed" in steps

    @pytest.mark.parametrize(("said", "dates"), [
        ("one one two eighty five", "January 12, 1985 or November 2, 1985"),
        ("five twenty nineteen", "May 20, 1919 or May 20, 2019"),
    ])
    def test_two_whole_dates_are_both_named(self, sim, redis_conn, said, dates):
        result = sim.call(from_=ALEX, script=f"1;say:{said};hangup")
        assert result.heard[-2] == (
            f"I'm not sure which date you meant: {dates}. Please say the month by name, the day and the full year, "
            "or enter it on the keypad as eight digits.")
        assert "identify.check" not in history(redis_conn, result.call_sid)


class TestAfterHoursMessage:
    def test_a_second_zero_hears_plainly_that_nobody_can_come_then_the_beep(self, sim, redis_conn, clock):
        """bt14-s25 nit 7: `0;0;record:5` after hours, exact TwiML of the turn after the second 0."""
        clock.now = CLOSED_NOW
        result = sim.call(script="0;0;record:5")
        assert (f'{SAY}Nobody can take your call right now. Please leave your message after the tone.</Say></Gather>'
                '<Record ') in result.documents[2]
        assert sum("Nobody is free" in h for h in result.heard) == 1
        assert "record_message:nobody-free" in history(redis_conn, result.call_sid)


class TestDangerWhereTheCallerIs:
    @pytest.mark.parametrize("said", ["my house is on fire", "there's a fire in my building", "my car is on fire",
                                      "someone broke in and is in the house"])
    def test_the_crisis_path_with_the_kind_in_danger(self, sim, redis_conn, said):
        result = sim.call(from_=ALEX, script=f"say:{said};hangup")
        state = stored_state(redis_conn, result.call_sid)
        assert "main_menu:crisis" in state["history"]
        assert state["vars"]["crisis_kind"] == "in_danger"

    @pytest.mark.parametrize("said", ["I got fired, can I move my appointment", "my manager fired me"])
    def test_fired_is_no_crisis(self, sim, redis_conn, said):
        result = sim.call(from_=ALEX, script=f"say:{said};hangup")
        steps = history(redis_conn, result.call_sid)
        assert not any(s.endswith((":crisis", ":crisis-offered")) for s in steps)
