"""Break-test bt14-s26 (fix14-days), as callers would try it: whole calls through the simulator (signed webhooks, the
TwiML followed verb by verb) against the shipped flows. Today is Monday, November 23, 2026; Alex's next appointment is
tomorrow (Tuesday) at 10 AM with Dr. Maya Chen, who works Monday to Thursday; Thanksgiving (Thursday the 26th) is a
practice holiday."""
from __future__ import annotations

import pytest

from tests.helpers.service import ALEX, stored_state

ANOTHER_DAY = " If none of these work, press 4 to choose another day."


def offers_twiml(heard: str) -> str:
    """The pick menu's words as the simulator reads them inside its <Gather>."""
    return f'<Say language="en-US" voice="Polly.Joanna">{heard}</Say></Gather>'


class TestADayRuledOutIsNeverOffered:
    """SHOULD-FIX 5: the day the caller cannot make is never offered; the day they want instead is looked at, with or
    without "instead"."""

    WEDNESDAY_MORNING = ("I can offer Wednesday, November 25 at 9 AM, press 1; Wednesday, November 25 at 10 AM, "
                         "press 2." + ANOTHER_DAY)

    @pytest.mark.parametrize("said", [
        "I can't make it tomorrow, can we do Wednesday morning instead",
        "I can't make it tomorrow, could we do Wednesday morning",
        "I can't come in tomorrow. Wednesday morning would be better",
        "I won't be able to make it tomorrow, maybe Wednesday morning",
    ])
    def test_the_day_wanted_instead_is_offered(self, sim, redis_conn, said):
        result = sim.call(from_=ALEX, script=f"say:{said};say:for fifteen eighty five;hangup")
        request = stored_state(redis_conn, result.call_sid)["vars"]["request"]
        assert request == {"intent": "appointments", "action": "reschedule", "from_day": "tomorrow",
                           "not_day": "tomorrow", "to_day": "wednesday morning"}
        assert result.heard[-1] == self.WEDNESDAY_MORNING
        assert offers_twiml(self.WEDNESDAY_MORNING) in result.documents[-1]

    def test_friday_has_nothing_so_it_is_said_and_tomorrow_is_still_not_offered(self, sim, redis_conn):
        """The report's own sentence: Dr. Chen does not work Fridays. Said so; the nearest offers are today's (it is
        11 AM), and tomorrow's, which were the nearest before (bt14-s26), are not among them."""
        result = sim.call(from_=ALEX, script="say:I can't make it tomorrow, can we do Friday morning instead;"
                                             "say:for fifteen eighty five;hangup")
        heard = ("I have nothing open on Friday, November 27, in the morning. I can offer today at 12 PM, press 1; "
                 "today at 1 PM, press 2; or today at 2 PM, press 3." + ANOTHER_DAY)
        assert result.heard[-1] == heard
        assert offers_twiml(heard) in result.documents[-1]

    @pytest.mark.parametrize(("said", "heard"), [
        ("I need to reschedule, not Monday, maybe Wednesday",
         "I can offer Wednesday, November 25 at 9 AM, press 1; Wednesday, November 25 at 10 AM, press 2; or "
         "Wednesday, November 25 at 12 PM, press 3." + ANOTHER_DAY),
        # today (Monday) is ruled out: the nearest open slots are from tomorrow on, never today's
        ("I need to reschedule, anything but Monday",
         "I can offer tomorrow at 9 AM, press 1; tomorrow at 11 AM, press 2; or tomorrow at 12 PM, press 3."
         + ANOTHER_DAY),
        ("reschedule, any day other than today",
         "I can offer tomorrow at 9 AM, press 1; tomorrow at 11 AM, press 2; or tomorrow at 12 PM, press 3."
         + ANOTHER_DAY),
    ])
    def test_a_day_ruled_out_beside_a_reschedule(self, sim, redis_conn, said, heard):
        result = sim.call(from_=ALEX, script=f"say:{said};say:for fifteen eighty five;hangup")
        assert result.heard[-1] == heard
        assert offers_twiml(heard) in result.documents[-1]


class TestDaysSaidAsPeopleSayThem:
    """SHOULD-FIX 6: each form read as the day meant and offered on it; a form still not understood is said to be so,
    never silently replaced by the nearest days."""

    @pytest.mark.parametrize(("said", "heard"), [
        ("reschedule to first thing Wednesday", "I can offer Wednesday, November 25 at 9 AM, press 1." + ANOTHER_DAY),
        ("can I move it to Wednesday first thing",
         "I can offer Wednesday, November 25 at 9 AM, press 1." + ANOTHER_DAY),
        ("reschedule to the Monday after Thanksgiving",
         "I can offer Monday, November 30 at 9 AM, press 1; Monday, November 30 at 10 AM, press 2; or Monday, "
         "November 30 at 11 AM, press 3." + ANOTHER_DAY),
        ("reschedule to the last Monday of the month",
         "I can offer Monday, November 30 at 9 AM, press 1; Monday, November 30 at 10 AM, press 2; or Monday, "
         "November 30 at 11 AM, press 3." + ANOTHER_DAY),
        ("reschedule in ten days",
         "I can offer Thursday, December 3 at 9 AM, press 1; Thursday, December 3 at 10 AM, press 2; or Thursday, "
         "December 3 at 11 AM, press 3." + ANOTHER_DAY),
        ("move my appointment to the weekend after next",
         "I have nothing open from Saturday, December 5 to Sunday, December 6. I can offer today at 12 PM, press 1; "
         "today at 1 PM, press 2; or today at 2 PM, press 3." + ANOTHER_DAY),
        ("reschedule to two days after Thanksgiving",
         "I have nothing open on Saturday, November 28. I can offer today at 12 PM, press 1; today at 1 PM, press 2; "
         "or today at 2 PM, press 3." + ANOTHER_DAY),
    ])
    def test_the_day_meant_is_looked_at(self, sim, redis_conn, said, heard):
        result = sim.call(from_=ALEX, script=f"say:{said};say:for fifteen eighty five;hangup")
        assert result.heard[-1] == heard
        assert offers_twiml(heard) in result.documents[-1]

    @pytest.mark.parametrize("said", ["reschedule to the fifth Monday of February", "reschedule to next year"])
    def test_a_day_not_understood_is_said_so(self, sim, redis_conn, said):
        heard = ("I didn't catch which day you meant. I can offer tomorrow at 9 AM, press 1; tomorrow at 11 AM, "
                 "press 2; or tomorrow at 12 PM, press 3." + ANOTHER_DAY)
        result = sim.call(from_=ALEX, script=f"say:{said};say:for fifteen eighty five;hangup")
        assert result.heard[-1] == heard
        assert offers_twiml(heard) in result.documents[-1]


class TestNits:
    def test_push_it_back_a_week_offers_a_week_after_the_appointment(self, sim, redis_conn):
        """Nit 9: the appointment is tomorrow (Tuesday, November 24): a week later is Tuesday, December 1."""
        result = sim.call(from_=ALEX, script="say:can you push my appointment back a week;"
                                             "say:for fifteen eighty five;hangup")
        assert stored_state(redis_conn, result.call_sid)["vars"]["request"] == {
            "intent": "appointments", "action": "reschedule", "to_day": "a week later"}
        heard = ("I can offer Tuesday, December 1 at 9 AM, press 1; Tuesday, December 1 at 11 AM, press 2; or "
                 "Tuesday, December 1 at 12 PM, press 3." + ANOTHER_DAY)
        assert result.heard[-1] == heard

    def test_changing_therapist_goes_to_a_person_not_a_rescheduling(self, sim, redis_conn):
        result = sim.call(from_=ALEX, script="say:I want to change my therapist;hangup")
        steps = stored_state(redis_conn, result.call_sid)["history"]
        assert "main_menu:operator" in steps
        assert not any(step.startswith("appointments.") for step in steps)

    def test_seeing_someone_for_the_first_time_is_the_new_client_path(self, sim, redis_conn):
        result = sim.call(from_="+15559990001", script="say:I'd like to see someone for the first time;hangup")
        assert "main_menu:new_client" in stored_state(redis_conn, result.call_sid)["history"]
