"""Whole calls, placed with the simulator exactly as Twilio would place them."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from tests.helpers.service import CLOSED_NOW, HOLIDAY_NOW, ROOT, stored_state

TOUR = ROOT / "tests" / "flows_tour"
TOUR_OPENING = ["Welcome to the tour. We are open.",
                "Press 1 for numbers, 2 for a date, 3 to be texted, 4 to talk, 5 for another flow."]


def history(redis_conn, call_sid: str) -> list[str]:
    return stored_state(redis_conn, call_sid)["history"]


def queued(redis_conn, name: str = "calls") -> list[str]:
    return Queue(name, connection=redis_conn, serializer=JSONSerializer).job_ids


class TestTour:
    """A flow set that uses every step kind."""

    @pytest.fixture
    def flows_dir(self, tmp_path):
        target = tmp_path / "flows"
        shutil.copytree(TOUR, target)
        return target

    def test_digits_ask_and_template_filter(self, sim, redis_conn):
        result = sim.call(script="1;1234")
        assert result.heard == TOUR_OPENING + ["Enter your four digit code.", "You entered 1 2 3 4.", "Goodbye."]
        assert ("play", "https://ql.example.org/audio/chime.wav") in result.transcript
        assert result.ended_by == "hangup-verb" and not result.application_error
        steps = history(redis_conn, result.call_sid)
        assert steps[:6] == ["tour.hello", "tour.jingle", "tour.remember", "tour.who", "who:present", "tour.pick"]
        state = stored_state(redis_conn, result.call_sid)
        assert state["vars"]["pin"] == "1234"
        assert state["vars"]["label"] == "visitor True"
        assert state["ended"] is True

    def test_play_audio_is_served_to_twilio_and_nothing_else(self, client, flows_dir):
        response = client.get("/audio/chime.wav")
        assert response.status_code == 200
        assert response.data == (flows_dir / "audio" / "chime.wav").read_bytes()
        assert client.get("/audio/../practice.yaml").status_code == 404
        assert client.get("/audio/%2e%2e/practice.yaml").status_code == 404

    def test_date_ask_reprompts_then_branches(self, sim):
        result = sim.call(script="2;02302020;say:April 15th, 1985")
        assert result.heard == TOUR_OPENING + [
            "Enter your date of birth as eight digits, month, day, year.",
            "That is not a date I can use.",
            "Enter your date of birth as eight digits, month, day, year.",
            "Born last century.", "Goodbye.",
        ]

    def test_yes_no_then_sms_sent_by_worker_through_twilio_client(self, sim, standin, run_jobs, redis_conn):
        result = sim.call(from_="+15551230001", script="say:text;say:yes")
        assert result.heard[-1] == "Goodbye."
        assert len(queued(redis_conn)) == 1
        run_jobs()
        messages = standin.messages()
        assert [(m["to"], m["body"]) for m in messages] == [
            ("+15551230001", "Reminder: your appointment is coming up. Reply STOP to opt out.")]
        job_args = [
            a
            for a in Queue(
                "calls", connection=redis_conn, serializer=JSONSerializer
            ).finished_job_registry.get_job_ids()
        ]
        assert job_args == [f"sms-{result.call_sid}-text-2-0"]
        # Sent: the number and body left the call's record with it.
        assert not [f for f in redis_conn.hkeys("ql:call:" + result.call_sid) if f.startswith(b"outbox:")]

    def test_no_text_to_a_withheld_number(self, sim, standin, run_jobs, redis_conn):
        sim.call(from_="Anonymous", script="3;1")
        assert queued(redis_conn) == []
        run_jobs()
        assert standin.messages() == []

    def test_sequential_transfer_then_voicemail_then_escalation(self, sim, redis_conn, run_jobs, standin,
                                                               settings_overrides, database):
        result = sim.call(script="4;noanswer;busy;record:6")
        dials = [entry for entry in result.transcript if entry[0] == "dial"]
        assert dials == [("dial", ["+15550100100"]), ("dial", ["+15550100102"])]
        assert result.heard == TOUR_OPENING + ["Connecting you.", "Leave a message after the tone.",
                                               "Someone will call you back.", "Goodbye."]
        sid = result.call_sid
        jobs = sorted(queued(redis_conn))
        assert jobs[0] == f"escalate-{sid}-callback_request"
        assert jobs[1].startswith("recording-RE")
        rec_sid = jobs[1].removeprefix("recording-")
        standin.add_recording(rec_sid, b"RIFF fake voicemail")
        run_jobs()
        from sqlalchemy import select

        from ivr.escalations.models import Escalation

        with database.sessions() as db:
            escalation = db.scalars(select(Escalation).where(Escalation.call_sid == sid)).one()
        assert escalation.reason == "callback_request" and escalation.caller_masked == "+1******0001"
        assert "tour.message" in escalation.timeline
        from ivr.escalations.recording_files import RecordingFiles
        from tests.helpers.service import RECORDINGS_KEY

        files = RecordingFiles.from_settings(settings_overrides["recordings_dir"], RECORDINGS_KEY)
        assert files.read_audio(sid, rec_sid) == b"RIFF fake voicemail"
        assert (Path(settings_overrides["recordings_dir"]) / f"{sid}-{rec_sid}.wav.sealed").is_file()

    def test_transfer_answered_ends_the_call(self, sim):
        result = sim.call(script="4;answer")
        assert result.heard[-1] == "Connecting you."
        assert result.ended_by in ("hangup-verb", "dial-completed")

    def test_goto_another_flow_at_a_named_step_and_back(self, sim):
        result = sim.call(script="5;wait;wait;wait")
        assert result.heard[:4] == TOUR_OPENING + ["Side B.", "Welcome to the tour. We are open."]
        assert result.heard[-1] == "Goodbye."

    def test_crisis_key_at_an_ask_goes_to_the_crisis_path(self, sim, redis_conn):
        result = sim.call(script="1;9")
        assert result.heard[-1] == "Goodbye."
        assert queued(redis_conn, "urgent") == [f"escalate-{result.call_sid}-crisis"]

    def test_operator_by_speech_at_a_menu(self, sim):
        result = sim.call(script="say:can I talk to a person please;noanswer;noanswer;wait")
        assert "Connecting you." in result.heard

    def test_low_confidence_speech_counts_as_no_match(self, sim, redis_conn):
        result = sim.call(script="say:numbers@0.2;wait;wait")
        steps = history(redis_conn, result.call_sid)
        assert "pick:low-confidence" in steps and "pick:no-input" in steps and "pick:give-up" in steps
        assert result.heard[-1] == "Goodbye."


class TestShippedFlows:
    def test_open_hours_menu_reaches_front_desk_then_voicemail(self, sim, redis_conn):
        result = sim.call(script="0;noanswer;record:5")
        assert result.heard[-3:] == [
            "Everyone is helping other callers right now.",
            "Please leave your name, the best number to reach you, and a short message after the tone. "
            "Press the pound key when you are done.",
            "Thank you. Someone will call you back by today at 12 PM. Goodbye.",
        ]
        assert f"escalate-{result.call_sid}-callback_request" in queued(redis_conn)

    def test_after_hours_says_when_we_open_and_offers_a_message(self, sim, clock):
        clock.now = CLOSED_NOW
        result = sim.call(script="0;record:3")
        assert result.heard[1] == (
            "Our office is closed right now, and we open again tomorrow at 9 AM. You can still manage your "
            "appointment, get a link or update your card with me, or press 0 to leave a message, and someone "
            "will call you back within one business day.")

    def test_holiday_greeting(self, sim, clock):
        clock.now = HOLIDAY_NOW
        result = sim.call(script="wait;wait;wait;record")
        assert result.heard[1].startswith(
            "Our office is closed today for Thanksgiving, and we open again tomorrow at 9 AM. You can still manage")

    def test_crisis_key_goes_to_the_on_call_clinician_and_alerts_staff(self, sim, redis_conn):
        result = sim.call(script="9;answer")
        assert result.heard[-1] == "I am connecting you with our on-call clinician now."
        assert ("dial", ["+15550100101"]) in result.transcript
        assert queued(redis_conn, "urgent") == [f"escalate-{result.call_sid}-crisis"]

    def test_emergency_guidance_comes_first(self, sim):
        result = sim.call(script="hangup")
        assert "dial 9 1 1" in result.heard[0] and "9 8 8" in result.heard[0]

    def test_looping_caller_is_ended_politely_by_the_step_cap(self, sim, app, redis_conn):
        # greeting, hours_check, main_menu: three steps; the first reprompt is the fourth.
        app.extensions["quietline"].calls.max_steps = 4
        result = sim.call(script="say:gibberish;record:4")
        assert result.heard[-2:] == [
            "I'm sorry, I'm not able to finish this call. Please leave a message after the tone, "
            "and someone will call you back.",
            "Thank you. Someone will call you back. Goodbye.",
        ]
        assert f"escalate-{result.call_sid}-call_limit" in queued(redis_conn)

    def test_no_webhook_ever_answers_with_an_error(self, sim):
        for script in ["", "wait;wait;wait", "1", "2", "3", "0;busy;hangup", "say:zoom link", "#", "12345"]:
            result = sim.call(script=script)
            assert not result.application_error, script
