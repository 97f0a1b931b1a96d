"""bt14 s24 nits 6 and 7 (fix14-left4), as callers would try them: whole calls through the simulator (signed
webhooks, the TwiML followed verb by verb) against the shipped flows. Today is Monday, November 23; Alex's next
appointment is tomorrow at 10 AM with Dr. Maya Chen, who works Monday to Thursday."""
from __future__ import annotations

import pytest

from tests.helpers.service import stored_state

ALEX = "+15551230001"  # the demo practice's Alex Rivera, born April 15, 1985
STRANGER = "+15551239999"
READ_BACK_TWIML = (
    '<Say language="en-US" voice="Polly.Joanna">I have 5 5 5, 1 2 3, 0 0 9 9. If that\'s right, press 1 or say '
    'yes. To give it again, press 2.</Say></Gather>')


def history(redis_conn, call_sid: str) -> list[str]:
    return stored_state(redis_conn, call_sid)["history"]


class TestReadBacks:
    def test_the_callback_number_is_read_back_in_its_groups(self, sim, redis_conn):
        """Nit 6: "5 5 5, 1 2 3, 0 0 9 9" (a comma is a short pause in <Say>), not ten digits in a row."""
        result = sim.call(from_=STRANGER, script="4;say:Sam;5551230099#;hangup")
        document = next(d for d in result.documents if "I have 5" in d)
        assert READ_BACK_TWIML in document
        assert 'hints="yes, no, yeah, nope' in document

    def test_a_refused_read_back_is_noted_as_a_no_and_the_number_given_again(self, sim, redis_conn):
        """Nit 6: noted as a no (the timeline's "said no"), then the number given again (see test_timeline)."""
        result = sim.call(from_=STRANGER, script="4;say:Sam;5551234567#;2;5551230099#;1;say:weekday mornings")
        steps = history(redis_conn, result.call_sid)
        assert [s for s in steps if s.startswith(("ask_number:", "confirm_number:"))] == [
            "ask_number:ok", "confirm_number:no", "ask_number:ok", "confirm_number:yes"]


class TestSpokenValues:
    @pytest.mark.parametrize("said", ["it's for fifteen nineteen eighty five for my son",
                                      "1985 april 15", "85 april 15", "A P R I L 15 1985"])
    def test_a_date_of_birth_with_talk_around_it_year_first_or_spelled_verifies(self, sim, redis_conn, said):
        result = sim.call(from_=ALEX, script=f"1;say:{said};hangup")
        assert result.heard[-2] == "Thanks, Alex. Your next appointment is tomorrow at 10 AM with Dr. Maya Chen."

    @pytest.mark.parametrize(("said", "again"), [
        ("thanksgiving 1985", "I'm not sure which date you meant. Please say the month by name, the day and the full "
                              "year, or enter it on the keypad as eight digits."),
        ("1985 april", "I need the day of the month too. Please say the whole date with the day, or enter it on the "
                       "keypad as eight digits."),
    ])
    def test_a_holiday_that_moves_or_a_date_without_its_day_is_asked_again_for_what_is_missing(
            self, sim, redis_conn, said, again):
        result = sim.call(from_=ALEX, script=f"1;say:{said};hangup")
        assert result.heard[-2] == again

    def test_the_best_time_ask_hints_weekdays_as_well_as_times(self, sim, redis_conn):
        result = sim.call(from_=STRANGER, script="4;say:Sam;5551230099#;1;hangup")
        document = next(d for d in result.documents if "What is a good time to reach you?" in d)
        assert 'hints="Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday, weekdays, weekends' in document


class TestSayWhatYouWant:
    def test_i_wont_be_able_to_come_in_on_friday_is_appointments_with_the_day(self, sim, redis_conn):
        result = sim.call(from_=ALEX, script="say:I won't be able to come in on Friday;say:April 15th 1985;hangup")
        assert stored_state(redis_conn, result.call_sid)["vars"]["request"] == {  # ruled out too (bt14-s26 S5)
            "intent": "appointments", "from_day": "friday", "not_day": "friday"}
        assert result.heard[-2:] == [
            "Thanks, Alex. I don't see an appointment on Friday, November 27. Your next one is tomorrow at 10 AM "
            "with Dr. Maya Chen.",
            "To reschedule it, press 1. To cancel it, press 2. To keep it as it is, press 3."]

    def test_the_day_instead_of_which_is_the_one_being_moved(self, sim, redis_conn):
        result = sim.call(from_=ALEX, script="say:I'd like to see Dr. Chen on Monday instead of Thursday;"
                                             "say:April 15th 1985;hangup")
        assert stored_state(redis_conn, result.call_sid)["vars"]["request"] == {
            "intent": "appointments", "action": "reschedule", "to_day": "monday", "from_day": "thursday",
            "not_day": "thursday"}
        assert result.heard[-2].startswith("Thanks, Alex. I don't see an appointment on Thursday, November 26.")


class TestOffers:
    def test_a_new_wish_at_the_confirmation_goes_back_to_the_offers_with_it(self, sim, redis_conn):
        """Nit 7: "not tomorrow, how about Wednesday afternoon" at "To book it, press 1 or say yes" is a new wish."""
        result = sim.call(from_=ALEX, script="say:reschedule;say:April 15th 1985;1;"
                                             "say:not tomorrow, how about Wednesday afternoon;hangup")
        assert "Sorry, I didn't catch that." not in result.heard
        assert result.heard[-1] == ("I can offer Wednesday, November 25 at 12 PM, press 1. If none of these work, "
                                    "press 4, and our scheduling team will call you back.")
        assert "confirm_slot:wish" in history(redis_conn, result.call_sid)

    def test_a_wish_with_nothing_open_at_the_confirmation_names_it(self, sim, redis_conn):
        result = sim.call(from_=ALEX, script="say:reschedule;say:April 15th 1985;1;"
                                             "say:not tomorrow, how about Friday afternoon;hangup")
        assert result.heard[-1].startswith("I have nothing open on Friday, November 27, in the afternoon. I can offer ")

    def test_yes_at_the_confirmation_still_books(self, sim, redis_conn):
        result = sim.call(from_=ALEX, script="say:reschedule;say:April 15th 1985;1;say:sure, why not;hangup")
        assert result.heard[-2] == "You're all set for tomorrow at 9 AM with Dr. Maya Chen."

    def test_sure_not_at_the_confirmation_is_no_booking(self, sim, redis_conn):
        result = sim.call(from_=ALEX, script="say:reschedule;say:April 15th 1985;1;say:sure not;hangup")
        assert not any("You're all set" in h for h in result.heard)
        assert result.heard[-1].startswith("I can offer tomorrow at 9 AM, press 1;")

    @pytest.mark.parametrize(("said", "heard"), [
        ("reschedule to Friday afternoon", "I have nothing open on Friday, November 27, in the afternoon."),
        ("reschedule to Friday after 3 pm", "I have nothing open on Friday, November 27, after 3 PM."),
        ("reschedule to Saturday", "I have nothing open on Saturday, November 28."),
    ])
    def test_nothing_open_names_the_day_and_time_heard(self, sim, redis_conn, said, heard):
        result = sim.call(from_=ALEX, script=f"say:{said};say:April 15th 1985;hangup")
        assert result.heard[-1].startswith(heard + " I can offer today at")


class TestNotAcceptingNewClients:
    @pytest.fixture
    def not_accepting(self, flows_dir):
        practice = flows_dir / "practice.yaml"
        practice.write_text(practice.read_text().replace(
            "  accepting: true\n  message: >-\n    We are not able to take new clients right now. We're sorry we "
            "can't help,\n    and we hope you find the support you're looking for.\n",
            "  accepting: false\n  message: We have no openings for new clients this month.\n"))
        return flows_dir

    OFFER = ("We have no openings for new clients this month. If you are in danger or this is a medical emergency, "
             "hang up and dial 9 1 1. If you are in crisis, call or text 9 8 8 to reach the Suicide and Crisis "
             "Lifeline, any time. To speak with someone or leave a message, press 0 or say someone.")

    @pytest.mark.parametrize("asked", ["0", "say:someone", "say:can I talk to a person"])
    def test_a_prospective_client_is_offered_a_person_or_a_message(self, not_accepting, sim, redis_conn, asked):
        result = sim.call(from_=STRANGER, script=f"say:are you taking new clients;{asked};hangup")
        assert self.OFFER in result.heard
        steps = history(redis_conn, result.call_sid)
        assert steps.index("intake.not_accepting") < steps.index("operator.hours_check")

    def test_silence_ends_the_call_kindly(self, not_accepting, sim, redis_conn):
        result = sim.call(from_=STRANGER, script="say:are you taking new clients;wait")
        assert result.heard[-2:] == [self.OFFER, "Thank you for calling. Goodbye."]
