"""Break-test bt14-s27 (fix14-values), as callers would try it: whole calls through the simulator (signed webhooks, the
TwiML followed verb by verb) against the shipped flows. Today is Monday, November 23; Alex's next appointment is
tomorrow at 10 AM with Dr. Maya Chen; Casey's PIN is 2468."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ivr.escalations.models import Escalation
from ivr.practice.models import VerificationFailure
from tests.helpers.service import ALEX, stored_state

CASEY = "+15550100109"
STRANGER = "+15559990000"
CHOOSE_ANOTHER = " If none of these work, press 4 to choose another day."
DOB_PROMPT = ("To protect your privacy, please enter your date of birth as eight digits, month, day and year, then "
              "press pound. Or say it. If you have a PIN with us, press star, then your PIN, then pound. If you are "
              "new to our practice, press 4 and then pound, or say new client.")
TYPED_CRISIS = "If you are in crisis, press 9 and then pound, or say crisis."
NUMBER_PROMPT = ("Please say the best number to call you back on, including the area code, or enter it on the "
                 f"keypad and press pound. {TYPED_CRISIS}")
MENU = ("To reschedule or cancel an appointment, press 1 or say appointment. For your video appointment link or the "
        "client portal, press 2 or say link. For billing or to update your card, press 3 or say billing. If you are "
        "new to our practice, press 4 or say new client. To speak with someone, press 0. For urgent support, press 9.")


class TestRescheduleKeepsDayAndTime:
    """SHOULD-FIX 3 and NIT 1: a day said after the time keeps its role; with nothing at the time, the offers stay on
    the day asked for; a bare hour moved to is a time."""

    @pytest.mark.parametrize("said", [
        "reschedule to half past two on Wednesday",
        "reschedule to Wednesday at half past two",
        "reschedule to 2:30 on Wednesday",
        "Can I move my 10 AM tomorrow to half past two on Wednesday",
    ])
    def test_nothing_at_the_time_offers_the_day(self, sim, said):
        result = sim.call(from_=ALEX, script=f"say:{said};say:4 15 1985;hangup")
        assert result.heard[-1] == (
            "I have nothing open on Wednesday, November 25, at 2:30 PM. I can offer Wednesday, November 25 at 9 AM, "
            "press 1; Wednesday, November 25 at 10 AM, press 2; or Wednesday, November 25 at 12 PM, press 3."
            + CHOOSE_ANOTHER)

    @pytest.mark.parametrize("said", ["move it to eleven", "push it back to eleven"])
    def test_a_bare_hour_is_a_time(self, sim, said):
        result = sim.call(from_=ALEX, script=f"say:{said};say:4 15 1985;hangup")
        assert result.heard[-1] == (
            "I can offer tomorrow at 11 AM, press 1; Monday, November 30 at 11 AM, press 2; or Tuesday, December 1 "
            "at 11 AM, press 3." + CHOOSE_ANOTHER)

    def test_a_leading_to_is_no_two(self, sim):
        result = sim.call(from_=ALEX, script="say:reschedule to ten thirty on Wednesday please;say:4 15 1985;hangup")
        assert result.heard[-1].startswith("I have nothing open on Wednesday, November 25, at 10:30 AM.")


class TestSpokenPin:
    """SHOULD-FIX 4: a PIN said at the date-of-birth prompt is a PIN; four digits that cannot be a date are no date,
    and neither is graded against the verification locks."""

    @pytest.mark.parametrize("said", ["star two four six eight", "my pin is two four six eight", "PIN 2468"])
    def test_a_said_pin_verifies(self, sim, database, said):
        result = sim.call(from_=CASEY, script=f"1;say:{said};hangup")
        assert result.heard[-2] == "Thanks, Casey. Your next appointment is Friday at 11 AM with Sam Ortiz, LCSW."
        with database.sessions() as db:
            assert db.scalar(select(func.count()).select_from(VerificationFailure)) == 0

    def test_four_digits_alone_are_asked_again_not_graded(self, sim, database):
        result = sim.call(from_=CASEY, script="1;say:two four six eight;hangup")
        assert result.heard[-2:] == [
            "I need the month and the day too. Please say the whole date, like April fifteenth nineteen eighty "
            "five, or enter it on the keypad as eight digits.", f"{DOB_PROMPT} {TYPED_CRISIS}"]
        with database.sessions() as db:
            assert db.scalar(select(func.count()).select_from(VerificationFailure)) == 0

    def test_a_pin_too_short_is_asked_for_again(self, sim, database):
        result = sim.call(from_=CASEY, script="1;say:star two four;hangup")
        assert result.heard[-2] == "I didn't get your PIN. Please press star, then your PIN, then pound."
        with database.sessions() as db:
            assert db.scalar(select(func.count()).select_from(VerificationFailure)) == 0


class TestIntake:
    def test_an_intake_abandoned_after_the_number_is_kept(self, sim, redis_conn, run_jobs, database):
        """SHOULD-FIX 7: hung up at the best-time question, after a confirmed number."""
        result = sim.call(from_=STRANGER, script="4;say:Sam;say:five five five, two three four, five six seven eight;"
                                                 "say:yes;hangup")
        assert result.heard[-1] == "What is a good time to reach you? For example, weekday mornings, or after 5 PM."
        run_jobs()
        with database.sessions() as db:
            row = db.scalars(select(Escalation).where(Escalation.call_sid == result.call_sid)).one()
        assert (row.reason, row.caller_number, row.details) == ("intake_request", "+15552345678", {"first_name": "Sam"})
        # the deadline noted when the number was confirmed: tomorrow at 6 PM in New York, as the goodbye would say
        assert stored_state(redis_conn, result.call_sid)["vars"]["promised"] == {
            "intake_request": "2026-11-24T18:00:00-05:00"}
        assert row.deadline_at.isoformat() == "2026-11-24T23:00:00+00:00"

    def test_an_intake_left_before_the_number_is_confirmed_asks_nothing_of_staff(self, sim, redis_conn):
        result = sim.call(from_=STRANGER, script="4;say:Sam;hangup")
        assert stored_state(redis_conn, result.call_sid)["escalated"] == {}

    @pytest.mark.parametrize("said", ["this number", "the number I'm calling from",
                                      "you can call me at this number", "same number"])
    def test_this_number_is_the_caller_id_read_back(self, sim, run_jobs, database, said):
        """SHOULD-FIX 6."""
        result = sim.call(from_=STRANGER, script=f"4;say:Sam;say:{said};say:yes;say:mornings")
        assert result.heard[-4:] == [
            NUMBER_PROMPT, "I have 5 5 5, 9 9 9, 0 0 0 0. If that's right, press 1 or say yes. To give it again, "
                           "press 2.",
            "What is a good time to reach you? For example, weekday mornings, or after 5 PM.",
            "Thank you, Sam. Someone will call you back by tomorrow at 6 PM. Goodbye."]
        run_jobs()
        with database.sessions() as db:
            row = db.scalars(select(Escalation).where(Escalation.call_sid == result.call_sid)).one()
        assert (row.caller_number, row.details) == (STRANGER, {"first_name": "Sam", "best_time": "mornings"})

    def test_this_number_with_no_caller_id_is_asked_for(self, sim):
        result = sim.call(from_="anonymous", script="4;say:Sam;say:this number;hangup")
        assert result.heard[-2:] == [
            "I can't see the number you're calling from. Please say it with the area code, one digit at a time, or "
            "enter it on the keypad and press pound.", NUMBER_PROMPT]


class TestNoSentenceTwice:
    """SHOULD-FIX 5: never the same sentence twice in a row, nor the same turn twice."""

    def test_not_confirmed_then_the_number_prompt(self, sim):
        result = sim.call(from_=STRANGER, script="1;say:April 15 1985;hangup")
        assert result.heard[-2:] == [
            "Sorry, I couldn't confirm those details. Let's try again.",
            "Please enter the phone number we have on file for you, including the area code, then press pound. If "
            f"you are new to our practice, press 4 and then pound, or say new client. {TYPED_CRISIS}"]

    def test_the_crisis_offer_then_the_prompt(self, sim):
        result = sim.call(from_=ALEX, script="1;say:I'm not okay;hangup")
        assert result.heard[-2:] == [TYPED_CRISIS, DOB_PROMPT]

    def test_a_phone_number_missed_twice(self, sim):
        result = sim.call(from_=STRANGER, script="4;say:Sam;say:blah;say:blah;hangup")
        assert result.heard[-4:] == [
            "Sorry, I didn't get a phone number. Please say it with the area code, one digit at a time, or enter it "
            "on the keypad and press pound.", NUMBER_PROMPT,
            "Please say it with the area code, one digit at a time, or enter it on the keypad and press pound.",
            NUMBER_PROMPT]

    def test_a_first_name_missed_twice(self, sim):
        result = sim.call(from_=STRANGER, script="say:I'm new;say:my name is I don't know;"
                                                 "say:my name is I don't know;hangup")
        assert result.heard[-4:] == [
            "Sorry, I didn't get your first name. Please say just your first name, or spell it.",
            "What is your first name?", "Please say just your first name, or spell it.", "What is your first name?"]

    def test_silence_twice_at_the_menu(self, sim):
        result = sim.call(from_=ALEX, script="wait;wait;hangup")
        assert result.heard[-3:] == [
            "Sorry, I didn't hear anything.", MENU,
            "Sorry, I still didn't hear anything. You can press 1 for appointment, 2 for link, 3 for billing or 4 "
            "for new client. To speak with someone, press 0. For urgent support, press 9."]
