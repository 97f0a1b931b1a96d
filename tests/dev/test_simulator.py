"""The call simulator against a tiny throwaway Twilio-style app (not Quietline's).

The app verifies every X-Twilio-Signature against its *public* URL, so any
signing or URL-translation mistake in the simulator turns into a 403 and an
application error the tests see.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

import pytest
from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from ivr.dev.simulator import (
    CallSimulator,
    FlaskTransport,
    HttpTransport,
    ScriptError,
    SimulatorError,
    Token,
    parse_script,
)

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://ql.example.org"
CALLER = "+15551230001"
LINE = "+15555550100"
STAFF = "+15557654321"
STAFF2 = "+15557650000"


def twiml(*parts: str) -> Response:
    body = '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(parts) + "</Response>"
    return Response(body, mimetype="text/xml")


def make_app() -> Flask:
    """A Twilio webhook app with canned TwiML; every request it accepts is kept in app.config["RECEIVED"]."""
    app = Flask(__name__)
    received: list[dict[str, Any]] = []
    app.config["RECEIVED"] = received

    @app.before_request
    def verify_signature() -> None:
        url = PUBLIC + request.path
        if request.query_string:
            url += "?" + request.query_string.decode()
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(TOKEN).validate(url, request.form, signature):
            abort(403)
        received.append(
            {"path": request.path, "query": request.query_string.decode(), "form": request.form.to_dict(),
             "signature": signature, "url": url}
        )

    menu_gather = (
        '<Gather action="menu" input="dtmf speech" numDigits="1" hints="reschedule">'
        "<Say>Press 1 to book, or say reschedule.</Say></Gather>"
    )

    @app.post("/twilio/voice")
    def voice() -> Response:
        if request.args.get("retry"):
            return twiml("<Say>Still there?</Say>", menu_gather, "<Say>Goodbye.</Say><Hangup/>")
        return twiml(
            '<Say voice="Polly.Joanna" language="en-US">Welcome to Quietline.</Say>',
            menu_gather,
            f"<Redirect>{PUBLIC}/twilio/voice?retry=1</Redirect>",
        )

    @app.post("/twilio/menu")
    def menu() -> Response:
        if "Digits" in request.form:
            return twiml(f"<Say>You pressed {escape(request.form['Digits'])}.</Say><Hangup/>")
        if "SpeechResult" in request.form:
            return twiml(f"<Say>You said {escape(request.form['SpeechResult'])}.</Say><Hangup/>")
        return twiml("<Say>Nothing received.</Say><Hangup/>")

    @app.post("/twilio/dob")
    def dob() -> Response:
        return twiml('<Gather action="/twilio/menu" timeout="3"><Say>Date of birth, then pound.</Say></Gather>')

    @app.post("/twilio/empty-action")
    def empty_action() -> Response:
        return twiml('<Gather action="/twilio/menu" actionOnEmptyResult="true"><Say>Anything?</Say></Gather>',
                     "<Say>Fell through.</Say>")

    @app.post("/twilio/speech-only")
    def speech_only() -> Response:
        return twiml('<Gather action="/twilio/menu" input="speech"><Say>Say it.</Say></Gather>',
                     "<Say>No speech.</Say>")

    @app.post("/twilio/record")
    def record() -> Response:
        return twiml(
            "<Say>Leave a message.</Say>",
            '<Record action="/twilio/recorded" maxLength="60" '
            'recordingStatusCallback="/twilio/recording-status"/>',
            "<Say>No message recorded.</Say>",
        )

    @app.post("/twilio/record-prompt")
    def record_prompt() -> Response:
        # A voicemail prompt that takes keys before the beep: no input falls through to the <Record>.
        return twiml(
            '<Gather action="/twilio/menu" finishOnKey="" input="dtmf" numDigits="1" timeout="1">'
            "<Say>Leave a message, or press 9.</Say></Gather>",
            '<Record action="/twilio/recorded" finishOnKey="#90" maxLength="60"/>',
            "<Say>No message recorded.</Say>",
        )

    @app.post("/twilio/guidance")
    def guidance() -> Response:
        # The emergency guidance in a keypad-only <Gather> (speech never cuts it off), falling through to the menu's.
        return twiml(
            '<Gather action="menu" input="dtmf" numDigits="1" timeout="1">'
            "<Say>In an emergency, dial 9 1 1. For urgent support, press 9 at any time.</Say></Gather>",
            menu_gather,
            f"<Redirect>{PUBLIC}/twilio/voice?retry=1</Redirect>",
        )

    @app.post("/twilio/recorded")
    def recorded() -> Response:
        return twiml(f"<Say>Thanks, got {escape(request.form['RecordingDuration'])} seconds.</Say><Hangup/>")

    @app.post("/twilio/recording-status")
    def recording_status() -> tuple[str, int]:
        return "", 204

    @app.post("/twilio/dial")
    def dial() -> Response:
        return twiml(f'<Dial action="/twilio/dialed" timeout="20"><Number>{STAFF}</Number>'
                     f"<Number>{STAFF2}</Number></Dial>", "<Say>Unreachable.</Say>")

    @app.post("/twilio/dialed")
    def dialed() -> Response:
        return twiml(f"<Say>Dial status {escape(request.form['DialCallStatus'])}.</Say>", menu_gather)

    @app.post("/twilio/dial-screened")
    def dial_screened() -> Response:
        return twiml(f'<Dial action="/twilio/dialed" timeout="20"><Number url="/twilio/whisper?turn=4" '
                     f'method="POST">{STAFF}</Number></Dial>')

    @app.post("/twilio/whisper")
    def whisper() -> Response:
        return twiml('<Gather action="/twilio/whisper/accept?turn=4" numDigits="1" input="dtmf" timeout="8">'
                     "<Say>Press any key to take it.</Say></Gather><Hangup/>")

    @app.post("/twilio/whisper/accept")
    def whisper_accept() -> Response:
        return twiml("<Say>Connecting.</Say>")

    @app.post("/twilio/dial-bare")
    def dial_bare() -> Response:
        return twiml(f"<Dial>{STAFF}</Dial>", "<Say>Nobody answered.</Say>")

    @app.post("/twilio/hangup")
    def hangup() -> Response:
        return twiml("<Say>Bye.</Say><Hangup/><Say>Never heard.</Say>")

    @app.post("/twilio/end")
    def end() -> Response:
        return twiml('<Say>Only this.</Say><Pause length="2"/><Play>https://cdn.example.org/hold.mp3</Play>')

    @app.post("/twilio/unknown")
    def unknown() -> Response:
        return twiml('<Enqueue>support</Enqueue>', "<Say>After pay.</Say>")

    @app.post("/twilio/boom")
    def boom() -> tuple[str, int]:
        return "kaput", 500

    @app.post("/twilio/notxml")
    def notxml() -> str:
        return "this is not TwiML"

    @app.post("/twilio/html")
    def html() -> str:
        return "<html><body>Oops</body></html>"

    @app.post("/twilio/loop")
    def loop() -> Response:
        return twiml("<Redirect>/twilio/loop</Redirect>")

    @app.post("/twilio/status")
    def status() -> tuple[str, int]:
        return "", 204

    return app


@pytest.fixture
def app() -> Flask:
    return make_app()


def simulator(app: Flask, voice_path: str = "/twilio/voice", **kwargs: Any) -> CallSimulator:
    options: dict[str, Any] = {"auth_token": TOKEN, "public_base_url": PUBLIC, "voice_path": voice_path}
    options.update(kwargs)
    return CallSimulator(FlaskTransport(app.test_client()), **options)


def paths(app: Flask) -> list[str]:
    return [r["path"] + (f"?{r['query']}" if r["query"] else "") for r in app.config["RECEIVED"]]


# --------------------------------------------------------------------------- script grammar


def test_parse_script_grammar() -> None:
    tokens = parse_script(" 1 ;wait; say:reschedule ;04151985#;say:meet @ noon;say:yes@0.30;say:no@-0.5;say:ok@1.7;"
                          "say:meet @ 5;"
                          "record;record:12;ANSWER;noanswer;no-answer;busy;failed;machine;Decline;hangup;;")
    assert tokens == [
        Token("digits", "1"),
        Token("wait"),
        Token("say", "reschedule", confidence=0.92),
        Token("digits", "04151985#"),
        Token("say", "meet @ noon"),
        Token("say", "yes", confidence=0.30),
        Token("say", "no", confidence=-0.5),  # review 14 finding 20: out-of-range confidences can be sent
        Token("say", "ok", confidence=1.7),
        Token("say", "meet @ 5"),
        Token("record", seconds=5),
        Token("record", seconds=12),
        Token("answer"),
        Token("noanswer"),
        Token("noanswer"),
        Token("busy"),
        Token("failed"),
        Token("machine"),
        Token("decline"),
        Token("hangup"),
    ]
    assert parse_script("") == []


def test_early_marks_keys_or_speech_for_the_first_of_two_gathers() -> None:
    assert parse_script("early:9;early:say:help me@0.5;9") == [
        Token("digits", "9", early=True), Token("say", "help me", confidence=0.5, early=True), Token("digits", "9")]
    assert str(Token("digits", "9", early=True)) == "early:9"


@pytest.mark.parametrize("bad", ["12a", "say:", "say:@0.5", "record:x", "press 1", "dance", "early:wait",
                                 "early:early:9", "early:hangup"])
def test_parse_script_rejects_unknown_tokens(bad: str) -> None:
    with pytest.raises(ScriptError):
        parse_script(f"1;{bad}")


# --------------------------------------------------------------------------- gather


def test_digits_reach_gather_action_signed_with_public_url(app: Flask) -> None:
    result = simulator(app).call(from_=CALLER, to=LINE, script="1")

    assert paths(app) == ["/twilio/voice", "/twilio/menu", "/twilio/status"]
    voice, menu, status = app.config["RECEIVED"]
    # Signed over the public URL, not the test client's http://localhost.
    assert voice["url"] == f"{PUBLIC}/twilio/voice"
    assert voice["signature"] == RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/twilio/voice", voice["form"])

    sid = result.call_sid
    assert sid.startswith("CA") and len(sid) == 34 and int(sid[2:], 16) >= 0
    assert voice["form"] == {
        "CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": LINE, "Caller": CALLER,
        "Called": LINE, "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
    }
    assert menu["form"]["Digits"] == "1"
    assert menu["form"]["CallStatus"] == "in-progress"
    assert "FinishedOnKey" not in menu["form"] and "SpeechResult" not in menu["form"]
    assert status["form"]["CallStatus"] == "completed"
    assert status["form"]["CallSid"] == sid
    assert int(status["form"]["CallDuration"]) >= 1

    assert result.heard == ["Welcome to Quietline.", "Press 1 to book, or say reschedule.", "You pressed 1."]
    assert result.heard_text() == "Welcome to Quietline.\nPress 1 to book, or say reschedule.\nYou pressed 1."
    assert result.transcript == [
        ("say", "Welcome to Quietline."),
        ("say", "Press 1 to book, or say reschedule."),
        ("digits", "1"),
        ("say", "You pressed 1."),
        ("hangup",),
    ]
    assert result.ended_by == "hangup-verb"
    assert result.application_error is False
    assert [r.status for r in result.requests] == [200, 200, 204]
    assert [r.purpose for r in result.requests] == ["voice", "action", "status"]
    assert len(result.documents) == 2 and "<Gather" in result.documents[0]
    assert result.duration == int(status["form"]["CallDuration"])


def test_finish_key_is_stripped_and_reported(app: Flask) -> None:
    result = simulator(app, "/twilio/dob").call(script="04151985#")
    menu = app.config["RECEIVED"][1]
    assert menu["form"]["Digits"] == "04151985"
    assert menu["form"]["FinishedOnKey"] == "#"
    assert result.heard[-1] == "You pressed 04151985."


def test_num_digits_cuts_input_and_notes_the_rest(app: Flask) -> None:
    result = simulator(app).call(script="12")
    assert app.config["RECEIVED"][1]["form"]["Digits"] == "1"
    assert result.notes == ["keys '2' pressed after <Gather> had finished; ignored"]


def test_speech_posts_result_and_confidence(app: Flask) -> None:
    result = simulator(app).call(script="say:reschedule")
    menu = app.config["RECEIVED"][1]["form"]
    assert menu["SpeechResult"] == "reschedule"
    assert menu["Confidence"] == "0.92"
    assert "Digits" not in menu
    assert ("speech", "reschedule", 0.92) in result.transcript
    assert result.heard[-1] == "You said reschedule."

    simulator(app).call(script="say:cancel my visit@0.30")
    assert app.config["RECEIVED"][-2]["form"]["SpeechResult"] == "cancel my visit"
    assert app.config["RECEIVED"][-2]["form"]["Confidence"] == "0.3"


# ---- fix14-s7: two <Gather>s in a row (the guidance's keypad-only one, then the menu's). Twilio: a <Gather> with no
# input and no actionOnEmptyResult falls through to the next verb; a key goes to the gather listening when pressed.

def test_a_key_pressed_during_the_guidance_goes_to_its_gather(app: Flask) -> None:
    result = simulator(app, "/twilio/guidance").call(script="early:9")
    assert paths(app) == ["/twilio/guidance", "/twilio/menu", "/twilio/status"]
    assert app.config["RECEIVED"][1]["form"]["Digits"] == "9"
    assert result.heard == ["In an emergency, dial 9 1 1. For urgent support, press 9 at any time.", "You pressed 9."]


def test_a_key_at_the_menu_goes_to_the_menu_after_the_guidance_is_heard_through(app: Flask) -> None:
    result = simulator(app, "/twilio/guidance").call(script="1")
    assert paths(app) == ["/twilio/guidance", "/twilio/menu", "/twilio/status"]
    assert result.heard == ["In an emergency, dial 9 1 1. For urgent support, press 9 at any time.",
                            "Press 1 to book, or say reschedule.", "You pressed 1."]


def test_speech_during_the_guidance_is_not_heard_and_never_cuts_it_off(app: Flask) -> None:
    result = simulator(app, "/twilio/guidance").call(script="early:say:I need help;say:reschedule")
    assert paths(app) == ["/twilio/guidance", "/twilio/menu", "/twilio/status"]
    assert app.config["RECEIVED"][1]["form"]["SpeechResult"] == "reschedule"
    assert result.heard == ["In an emergency, dial 9 1 1. For urgent support, press 9 at any time.",
                            "Press 1 to book, or say reschedule.", "You said reschedule."]
    assert ("note", "speech 'I need help' ignored: this <Gather> only listens for the keypad") in result.transcript


def test_silence_through_both_gathers_follows_the_redirect(app: Flask) -> None:
    simulator(app, "/twilio/guidance").call(script="wait;2")
    assert paths(app) == ["/twilio/guidance", "/twilio/voice?retry=1", "/twilio/menu", "/twilio/status"]


def test_silence_falls_through_to_redirect_with_query(app: Flask) -> None:
    result = simulator(app).call(script="wait;2")
    assert paths(app) == ["/twilio/voice", "/twilio/voice?retry=1", "/twilio/menu", "/twilio/status"]
    assert app.config["RECEIVED"][1]["url"] == f"{PUBLIC}/twilio/voice?retry=1"
    assert app.config["RECEIVED"][2]["form"]["Digits"] == "2"
    assert result.heard[2] == "Still there?"
    assert ("silence",) in result.transcript


def test_script_running_out_means_caller_hangs_up(app: Flask) -> None:
    result = simulator(app).call(script="wait")
    # Second Gather has no input left: no action request, only the status callback.
    assert paths(app) == ["/twilio/voice", "/twilio/voice?retry=1", "/twilio/status"]
    assert result.ended_by == "caller"
    assert result.transcript[-1] == ("caller-hangup",)


def test_action_on_empty_result_posts_without_input(app: Flask) -> None:
    result = simulator(app, "/twilio/empty-action").call(script="wait")
    menu = app.config["RECEIVED"][1]
    assert menu["path"] == "/twilio/menu"
    assert not {"Digits", "SpeechResult", "Confidence"} & set(menu["form"])
    assert result.heard == ["Anything?", "Nothing received."]


def test_digits_to_speech_only_gather_count_as_no_input(app: Flask) -> None:
    result = simulator(app, "/twilio/speech-only").call(script="1")
    assert paths(app) == ["/twilio/speech-only", "/twilio/status"]
    assert result.heard == ["Say it.", "No speech."]
    assert result.notes == ["keys '1' ignored: this <Gather> only listens for speech"]
    assert result.ended_by == "end-of-document"


def test_hangup_token_ends_call_without_action(app: Flask) -> None:
    result = simulator(app).call(script="hangup")
    assert paths(app) == ["/twilio/voice", "/twilio/status"]
    assert result.ended_by == "caller"


# --------------------------------------------------------------------------- record


def test_record_posts_action_then_recording_callback(app: Flask) -> None:
    result = simulator(app, "/twilio/record", recording_url_base="http://fake-twilio.test").call(script="record:12")
    assert paths(app) == ["/twilio/record", "/twilio/recorded", "/twilio/recording-status", "/twilio/status"]
    action = app.config["RECEIVED"][1]["form"]
    rec_sid = action["RecordingSid"]
    assert rec_sid.startswith("RE") and len(rec_sid) == 34
    assert (
        action["RecordingUrl"] == f"http://fake-twilio.test/2010-04-01/Accounts/{'AC' + '0' * 32}/Recordings/{rec_sid}"
    )
    assert action["RecordingDuration"] == "12"
    assert action["Digits"] == "#"
    assert app.config["RECEIVED"][2]["form"] == {
        "AccountSid": "AC" + "0" * 32, "CallSid": result.call_sid, "RecordingSid": rec_sid,
        "RecordingUrl": action["RecordingUrl"], "RecordingStatus": "completed", "RecordingDuration": "12",
        "RecordingChannels": "1", "RecordingSource": "RecordVerb",
    }
    assert result.heard == ["Leave a message.", "Thanks, got 12 seconds."]
    assert ("beep",) in result.transcript and ("record", 12) in result.transcript
    assert result.ended_by == "hangup-verb"


def test_record_default_length_and_max_length_cap(app: Flask) -> None:
    simulator(app, "/twilio/record").call(script="record")
    action = app.config["RECEIVED"][1]["form"]
    assert action["RecordingDuration"] == "5"
    assert action["RecordingUrl"].startswith("https://api.twilio.com/2010-04-01/Accounts/")

    simulator(app, "/twilio/record").call(script="record:600")
    action = app.config["RECEIVED"][-3]["form"]
    assert action["RecordingDuration"] == "60"  # maxLength="60"
    assert "Digits" not in action  # ended by maxLength, not by a key


def test_silent_recording_skips_action_and_continues(app: Flask) -> None:
    result = simulator(app, "/twilio/record").call(script="wait")
    assert paths(app) == ["/twilio/record", "/twilio/status"]
    assert result.heard == ["Leave a message.", "No message recorded."]
    assert result.ended_by == "end-of-document"


@pytest.mark.parametrize(("key", "heard"), [("9", "You pressed 9."), ("#", "You pressed #.")])
def test_a_key_during_a_prompt_before_a_record_posts_to_the_gather_action(app: Flask, key: str, heard: str) -> None:
    result = simulator(app, "/twilio/record-prompt").call(script=f"{key};record:4")
    assert paths(app) == ["/twilio/record-prompt", "/twilio/menu", "/twilio/status"]
    assert app.config["RECEIVED"][1]["form"]["Digits"] == key  # finishOnKey="": "#" is a key like the others
    assert result.heard == ["Leave a message, or press 9.", heard]
    assert ("beep",) not in result.transcript


@pytest.mark.parametrize(("script", "posted", "heard"), [
    ("record:4", ["/twilio/recorded", "/twilio/status"], "Thanks, got 4 seconds."),
    ("record:4:9", ["/twilio/recorded", "/twilio/status"], "Thanks, got 4 seconds."),
    ("wait", ["/twilio/status"], "No message recorded."),
])
def test_a_prompt_before_a_record_is_heard_in_silence_when_the_script_records(
        app: Flask, script: str, posted: list[str], heard: str) -> None:
    # Twilio: a <Gather> with no input (actionOnEmptyResult unset) goes on to the next verb, the <Record>,
    # which takes the script's record item (or its wait) as before.
    result = simulator(app, "/twilio/record-prompt").call(script=script)
    assert paths(app) == ["/twilio/record-prompt"] + posted
    assert result.heard == ["Leave a message, or press 9.", heard]
    assert [e[0] for e in result.transcript if e[0] in ("silence", "beep")][:2] == ["silence", "beep"]
    if script == "record:4:9":
        assert app.config["RECEIVED"][1]["form"]["Digits"] == "9"  # pressed to end the message


def test_hangup_during_a_prompt_before_a_record_is_hanging_up_mid_message(app: Flask) -> None:
    simulator(app, "/twilio/record-prompt").call(script="hangup")
    assert paths(app) == ["/twilio/record-prompt", "/twilio/recorded", "/twilio/status"]


@pytest.mark.parametrize("script", ["hangup", ""])
def test_hangup_while_recording_still_delivers_recording(app: Flask, script: str) -> None:
    result = simulator(app, "/twilio/record").call(script=script)
    assert paths(app) == ["/twilio/record", "/twilio/recorded", "/twilio/recording-status", "/twilio/status"]
    action = app.config["RECEIVED"][1]["form"]
    assert action["Digits"] == "hangup"
    assert action["RecordingDuration"] == "5"
    assert action["CallStatus"] == "completed"
    # The action's TwiML is never played to a caller who is gone.
    assert result.heard == ["Leave a message."]
    assert result.ended_by == "caller"


# --------------------------------------------------------------------------- dial


@pytest.mark.parametrize(
    ("token", "status", "duration"),
    [("answer", "completed", "30"), ("noanswer", "no-answer", "0"), ("busy", "busy", "0"), ("failed", "failed", "0")],
)
def test_dial_action_gets_dial_status(app: Flask, token: str, status: str, duration: str) -> None:
    result = simulator(app, "/twilio/dial").call(script=token)
    dialed = app.config["RECEIVED"][1]
    assert dialed["path"] == "/twilio/dialed"
    assert dialed["form"]["DialCallStatus"] == status
    assert dialed["form"]["DialCallDuration"] == duration
    assert dialed["form"]["DialCallSid"].startswith("CA") and dialed["form"]["DialCallSid"] != result.call_sid
    assert result.transcript[0] == ("dial", [STAFF, STAFF2])
    assert result.heard[0] == f"Dial status {status}."


def test_dial_does_not_consume_other_tokens(app: Flask) -> None:
    result = simulator(app, "/twilio/dial").call(script="1")
    assert app.config["RECEIVED"][1]["form"]["DialCallStatus"] == "no-answer"
    # The "1" was kept for the menu that followed.
    assert app.config["RECEIVED"][2]["form"]["Digits"] == "1"
    assert result.heard[-1] == "You pressed 1."


def test_dial_without_action(app: Flask) -> None:
    answered = simulator(app, "/twilio/dial-bare").call(script="answer")
    assert answered.ended_by == "dial-completed"
    assert answered.heard == []
    unanswered = simulator(app, "/twilio/dial-bare").call(script="busy")
    assert unanswered.heard == ["Nobody answered."]
    assert unanswered.ended_by == "end-of-document"
    assert ("dial", [STAFF]) in unanswered.transcript


@pytest.mark.parametrize(("token", "requests", "status", "duration", "screen"), [
    ("answer", ["/twilio/whisper?turn=4", "/twilio/whisper/accept?turn=4"], "completed", "30",
     [("screen", "accepted"), ("screen", "connected")]),
    # A voicemail greeting or a person who does not take the call presses nothing; the whisper hangs up the
    # staff leg.  Twilio still reports the <Dial> "completed": the leg was answered.
    ("machine", ["/twilio/whisper?turn=4"], "completed", "0", [("screen", "no-key"), ("screen", "hung-up")]),
    ("decline", ["/twilio/whisper?turn=4"], "completed", "0", [("screen", "no-key"), ("screen", "hung-up")]),
    ("noanswer", [], "no-answer", "0", []),
])
def test_a_screened_number_runs_its_url_on_the_called_party_leg(app: Flask, token: str, requests: list[str],
                                                               status: str, duration: str, screen: list) -> None:
    result = simulator(app, "/twilio/dial-screened").call(script=token)
    received = app.config["RECEIVED"]
    assert paths(app) == ["/twilio/dial-screened", *requests, "/twilio/dialed", "/twilio/status"]
    legs = [r for r in received if r["path"].startswith("/twilio/whisper")]
    for leg in legs:  # signed like any webhook (the app refuses others), as the staff leg's own call
        assert leg["form"]["ParentCallSid"] == result.call_sid
        assert leg["form"]["CallSid"].startswith("CA") and leg["form"]["CallSid"] != result.call_sid
        assert leg["form"]["Direction"] == "outbound-dial" and leg["form"]["To"] == STAFF
    if len(legs) == 2:
        assert legs[1]["form"]["Digits"] == "1"
        assert legs[0]["form"]["CallSid"] == legs[1]["form"]["CallSid"]
    dialed = next(r for r in received if r["path"] == "/twilio/dialed")
    assert (dialed["form"]["DialCallStatus"], dialed["form"]["DialCallDuration"]) == (status, duration)
    assert [e for e in result.transcript if e[0] == "screen"] == screen
    if legs:
        assert ("whisper", "Press any key to take it.") in result.transcript
    assert "Press any key to take it." not in result.heard  # only the called party hears the whisper


def test_without_screening_a_voicemail_greeting_counts_as_answered(app: Flask) -> None:
    """What screening prevents: an unscreened <Number> picked up by its own voicemail is 'completed' and connected."""
    result = simulator(app, "/twilio/dial").call(script="machine")
    dialed = app.config["RECEIVED"][1]["form"]
    assert (dialed["DialCallStatus"], dialed["DialCallDuration"]) == ("completed", "30")
    assert not [e for e in result.transcript if e[0] == "screen"]


# --------------------------------------------------------------------------- endings and errors


def test_hangup_verb_stops_the_document(app: Flask) -> None:
    result = simulator(app, "/twilio/hangup").call()
    assert result.heard == ["Bye."]
    assert result.ended_by == "hangup-verb"


def test_end_of_document_and_listen_only_verbs(app: Flask) -> None:
    result = simulator(app, "/twilio/end").call()
    assert result.transcript == [("say", "Only this."), ("pause", 2), ("play", "https://cdn.example.org/hold.mp3")]
    assert result.ended_by == "end-of-document"


def test_unknown_verb_is_recorded_and_skipped(app: Flask) -> None:
    result = simulator(app, "/twilio/unknown").call()
    assert result.transcript[0] == ("unsupported", "Enqueue")
    assert result.heard == ["After pay."]


@pytest.mark.parametrize(("path", "status"), [("/twilio/boom", 500), ("/twilio/notxml", 200), ("/twilio/html", 200)])
def test_bad_answer_is_an_application_error(app: Flask, path: str, status: int) -> None:
    result = simulator(app, path).call(script="1")
    assert result.application_error is True
    assert result.ended_by == "application-error"
    assert result.transcript == [("application-error", status)]
    assert result.documents == []
    assert paths(app)[-1] == "/twilio/status"
    assert app.config["RECEIVED"][-1]["form"]["CallStatus"] == "completed"


def test_wrong_token_or_public_url_fails_signature(app: Flask) -> None:
    wrong_token = simulator(app, auth_token="not-the-token").call(script="1")
    assert wrong_token.application_error is True
    # The status callback is refused too, and noted.
    assert wrong_token.transcript == [("application-error", 403), ("note", "status callback answered HTTP 403")]

    wrong_url = simulator(app, public_base_url="https://elsewhere.example.org").call(script="1")
    assert wrong_url.transcript[0] == ("application-error", 403)
    assert [r.status for r in wrong_url.requests] == [403, 403]
    assert app.config["RECEIVED"] == []


def test_redirect_loop_is_caught(app: Flask) -> None:
    with pytest.raises(SimulatorError, match="more than 20 webhook requests"):
        simulator(app, "/twilio/loop", max_requests=20).call()
    assert len(app.config["RECEIVED"]) == 20


@pytest.mark.parametrize("caller_id", ["Anonymous", ""])
def test_blocked_caller_id_passes_through(app: Flask, caller_id: str) -> None:
    simulator(app).call(from_=caller_id, script="1")
    for received in app.config["RECEIVED"]:
        assert received["form"]["From"] == caller_id
        assert received["form"]["Caller"] == caller_id


# --------------------------------------------------------------------------- interactive and live output


def test_interactive_reads_input_after_script_and_prints(app: Flask) -> None:
    lines: list[str] = []
    answers: Iterator[str] = iter(["dance", "say:reschedule"])
    prompts: list[str] = []

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    simulator(app, out=lines.append).call(script="", interactive=True, input_fn=fake_input)
    assert prompts == ["> ", "> "]
    assert app.config["RECEIVED"][1]["form"]["SpeechResult"] == "reschedule"
    assert "🔊 Welcome to Quietline." in lines
    assert "⏳ (waiting for keypad or speech)" in lines
    assert any("'dance' is not a script token" in line for line in lines)
    # Caller ID never reaches the live output.
    assert not any(CALLER in line for line in lines)


def test_interactive_eof_hangs_up(app: Flask) -> None:
    def eof(prompt: str) -> str:
        raise EOFError

    result = simulator(app).call(script="wait", interactive=True, input_fn=eof)
    assert result.ended_by == "caller"
    assert paths(app) == ["/twilio/voice", "/twilio/voice?retry=1", "/twilio/status"]


def test_live_output_masks_dialled_numbers(app: Flask) -> None:
    lines: list[str] = []
    simulator(app, "/twilio/dial", out=lines.append).call(script="answer")
    dialling = [line for line in lines if line.startswith("☎ dialling")]
    assert dialling == ["☎ dialling …4321, …0000"]
    assert "☎ answered" in lines
    assert not any(STAFF in line for line in lines)


# --------------------------------------------------------------------------- real HTTP


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_http_transport_against_real_server(app: Flask, live_server: str) -> None:
    # The server believes it is https://ql.example.org; requests really go to 127.0.0.1.
    sim = CallSimulator(HttpTransport(timeout=5), auth_token=TOKEN, public_base_url=PUBLIC,
                        target_base_url=live_server)
    result = sim.call(from_=CALLER, to=LINE, script="wait;say:reschedule")
    assert result.application_error is False
    assert paths(app) == ["/twilio/voice", "/twilio/voice?retry=1", "/twilio/menu", "/twilio/status"]
    assert [r.url for r in result.requests] == [
        f"{PUBLIC}/twilio/voice", f"{PUBLIC}/twilio/voice?retry=1", f"{PUBLIC}/twilio/menu", f"{PUBLIC}/twilio/status",
    ]
    assert result.heard[-1] == "You said reschedule."


def test_http_transport_unreachable_server_raises() -> None:
    server = make_server("127.0.0.1", 0, make_app())
    port = server.server_port
    server.server_close()  # nothing listens on this port any more
    sim = CallSimulator(HttpTransport(timeout=2), auth_token=TOKEN, public_base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(SimulatorError, match="could not reach"):
        sim.call(script="1")
