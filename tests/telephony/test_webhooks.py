"""The Twilio webhooks as Twilio drives them: signed requests, exact TwiML back."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from twilio.request_validator import RequestValidator

from ivr.actions.builtin import builtin_specs
from ivr.actions.registry import ActionSpec, Registry
from ivr.app import create_app
from ivr.exceptions import ConfigError
from tests.helpers.service import ACCOUNT, CLOSED_NOW, TOKEN, stored_state
from tests.helpers.webhooks import CALLER, post, sign, start_params


def verbs(xml: str) -> list[str]:
    return [child.tag for child in ET.fromstring(xml)]


GREETING = ('<Say language="en-US" voice="Polly.Joanna">Thank you for calling Lakeside Counseling Collective. '
            'If you are in danger or this is a medical emergency, hang up and dial 9 1 1. If you are in crisis, '
            'call or text 9 8 8 to reach the Suicide and Crisis Lifeline, any time. '
            'For urgent support right now, press 9 at any time.</Say>')


def test_first_webhook_after_hours_is_exact_twiml(client, clock, redis_conn):
    clock.now = CLOSED_NOW
    response = post(client, "/twilio/voice", start_params())
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True) == (
        # The greeting with the emergency guidance plays in a keypad-only <Gather>: speech never cuts it off
        # (Twilio's bargeIn acts on what a gather listens for), "press 9 at any time" acts at once, and any key
        # posts to the menu's action.  With no key Twilio falls through to the menu's <Gather> (fix14-s7, S7).
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Gather action="https://ql.example.org/twilio/voice/input?turn=1&amp;early=1" input="dtmf" method="POST" '
        'numDigits="1" timeout="1">' + GREETING + '</Gather>'
        # The closed notice and the menu: keys and speech.
        '<Gather action="https://ql.example.org/twilio/voice/input?turn=1" enhanced="true" hints="appointment, '
        'reschedule, cancel, change my appointment, move my appointment, link, zoom, video, portal, login, log in, '
        'telehealth, billing, bill, card, payment, credit card, invoice, new client, new patient, start therapy, '
        'first appointment, crisis, emergency, hurt myself, '
        'suicide, suicidal, kill myself, operator, representative, receptionist, a person, someone, front desk" '
        'input="dtmf speech" language="en-US" method="POST" numDigits="1" speechModel="phone_call" '
        'speechTimeout="2" timeout="6">'  # review 14 finding 11: no "auto" with a speechModel
        '<Say language="en-US" voice="Polly.Joanna">Our office is closed right now, and we open again '
        'tomorrow at 9 AM. You can still manage your appointment, get a link or update your card with me, '
        'or press 0 to leave a message, and someone will call you back within one business day.</Say>'
        '<Say language="en-US" voice="Polly.Joanna">To reschedule or cancel an appointment, press 1 or say '
        'appointment. For your video appointment link or the client portal, press 2 or say link. For billing '
        'or to update your card, press 3 or say billing. If you are new to our practice, press 4 or say new '
        'client. To speak with someone, press 0. For urgent support, press 9.</Say></Gather>'
        '<Redirect method="POST">https://ql.example.org/twilio/voice/timeout?turn=1</Redirect></Response>'
    )
    stored = stored_state(redis_conn, "CA" + "1" * 32)
    assert (stored["step"], stored["turn"]) == ("main_menu", 1)


def test_unsigned_and_forged_requests_are_refused_and_change_nothing(client, redis_conn):
    params = start_params()
    assert client.post("/twilio/voice", data=params).status_code == 403
    forged = client.post("/twilio/voice", data=params,
                         headers={"X-Twilio-Signature": sign("/twilio/voice", params, token="wrong")})
    assert forged.status_code == 403
    # Signed for the internal address instead of the public one: a proxy would cause this.
    internal = client.post("/twilio/voice", data=params,
                           headers={"X-Twilio-Signature": sign("/twilio/voice", params, base="http://localhost")})
    assert internal.status_code == 403
    # Tampered parameters after signing.
    signature = sign("/twilio/voice", params)
    tampered = client.post("/twilio/voice", data={**params, "From": "+15559999999"},
                           headers={"X-Twilio-Signature": signature})
    assert tampered.status_code == 403
    for path in ("/twilio/status", "/twilio/fallback", "/twilio/voice/input?turn=1", "/twilio/voice/recording-status"):
        assert client.post(path, data=params).status_code == 403
    assert redis_conn.keys("ql:*") == []
    assert redis_conn.keys("rq:*") == []


def test_missing_auth_token_is_a_startup_error(settings_overrides, redis_conn):
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN"):
        create_app({**settings_overrides, "twilio_auth_token": ""}, redis=redis_conn)


def test_replayed_requests_do_not_advance_twice_or_enqueue_twice(client, redis_conn):
    sid = "CA" + "2" * 32
    first = post(client, "/twilio/voice", start_params(sid))
    again = post(client, "/twilio/voice", start_params(sid))
    assert first.get_data() == again.get_data()
    # Crisis key: enqueues an urgent escalation. Send the same gather result three times.
    params = {**start_params(sid), "CallStatus": "in-progress", "Digits": "9"}
    answers = [post(client, "/twilio/voice/input?turn=1", params).get_data() for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert b"9 8 8" in answers[0]
    state = stored_state(redis_conn, sid)
    assert state["turn"] == 2
    assert state["history"] == ["main.greeting", "main.hours_check", "hours_check:open", "main.main_menu",
                                "main_menu:crisis", "main.to_crisis", "crisis.guidance", "crisis.alert_staff",
                                "crisis.connect"]
    from rq import Queue
    from rq.serializers import JSONSerializer

    urgent = Queue("urgent", connection=redis_conn, serializer=JSONSerializer)
    assert urgent.job_ids == [f"escalate-{sid}-crisis"]
    job = urgent.fetch_job(f"escalate-{sid}-crisis")
    assert job.args == [sid, "crisis", "urgent"]  # IDs only: no number, no name


def test_a_failing_action_gets_an_apology_with_voicemail_not_a_500(settings_overrides, redis_conn, clock, flows_dir):
    def explode(ctx, params):
        raise RuntimeError("database on fire")

    registry = Registry(builtin_specs() + [ActionSpec("explode", ("ok",), explode)])
    (flows_dir / "main.yaml").write_text(
        "flow: main\nsteps:\n  - id: boom\n    action:\n      name: explode\n      outcomes: {ok: bye}\n"
        "  - id: bye\n    hangup: Bye.\n"
    )
    for other in flows_dir.glob("*.yaml"):
        if other.name not in ("main.yaml", "practice.yaml"):
            other.unlink()
    app = create_app(settings_overrides, redis=redis_conn, clock=clock, registry=registry)
    response = post(app.test_client(), "/twilio/voice", start_params())
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert verbs(body) == ["Say", "Say", "Say", "Record", "Say", "Hangup"]
    assert "We&apos;re sorry, something went wrong" in body or "We're sorry, something went wrong" in body
    assert 'action="https://ql.example.org/twilio/fallback/voicemail"' in body
    assert "database on fire" not in body


def test_redis_down_voice_still_answers_and_fallback_works(settings_overrides, clock):
    dead = Redis(unix_socket_path="/nonexistent/redis.sock", socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    app = create_app(settings_overrides, redis=dead, clock=clock)
    client = app.test_client()
    response = post(client, "/twilio/voice", start_params())
    assert response.status_code == 200
    assert verbs(response.get_data(as_text=True)) == ["Say", "Say", "Say", "Record", "Say", "Hangup"]
    fallback = post(client, "/twilio/fallback", {**start_params(), "ErrorCode": "11200"})
    assert fallback.status_code == 200
    body = fallback.get_data(as_text=True)
    assert "9 8 8" in body and "<Record" in body


def test_malformed_requests_get_valid_twiml(client, redis_conn):
    # No CallSid at all.
    no_sid = post(client, "/twilio/voice", {"From": CALLER})
    assert no_sid.status_code == 200 and "<Record" in no_sid.get_data(as_text=True)
    sid = "CA" + "3" * 32
    post(client, "/twilio/voice", start_params(sid))
    # A non-numeric turn, junk digits and a confidence that is not a number.
    junk = post(client, "/twilio/voice/input?turn=abc", {**start_params(sid), "Digits": "abc"})
    assert junk.status_code == 200
    assert ET.fromstring(junk.get_data(as_text=True)).tag == "Response"
    weird = post(client, "/twilio/voice/input?turn=2", {**start_params(sid), "SpeechResult": "billing",
                                                        "Confidence": "not-a-number"})
    assert weird.status_code == 200
    assert ET.fromstring(weird.get_data(as_text=True)).tag == "Response"


def test_speech_cannot_inject_markup(client):
    sid = "CA" + "4" * 32
    post(client, "/twilio/voice", start_params(sid))
    evil = '</Say><Dial>+19005550000</Dial><Say>'
    response = post(client, "/twilio/voice/input?turn=1", {**start_params(sid), "SpeechResult": evil,
                                                            "Confidence": "0.9"})
    body = response.get_data(as_text=True)
    assert "<Dial>" not in body and "+19005550000" not in body
    assert verbs(body) == ["Gather", "Redirect"]  # a no-match reprompt


@pytest.mark.parametrize("caller", ["Anonymous", "", "+266696687", "not a number", "+1"])
def test_withheld_and_invalid_caller_ids_never_crash(client, redis_conn, caller):
    sid = "CA" + "5" * 32
    response = post(client, "/twilio/voice", start_params(sid, caller))
    assert response.status_code == 200
    # The guidance's keypad-only <Gather>, then the menu's (fix14-s7).
    assert verbs(response.get_data(as_text=True)) == ["Gather", "Gather", "Redirect"]
    assert stored_state(redis_conn, sid)["caller"] is None


def test_status_callback_ends_the_session(client, redis_conn):
    sid = "CA" + "6" * 32
    post(client, "/twilio/voice", start_params(sid))
    response = post(client, "/twilio/status", {**start_params(sid), "CallStatus": "completed", "CallDuration": "12"})
    assert response.status_code == 200  # and valid TwiML, never an empty body
    assert response.get_data(as_text=True) == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    state = stored_state(redis_conn, sid)
    assert (state["ended"], state["end_reason"]) == (True, "completed")


def test_recording_status_enqueues_one_fetch_and_the_worker_downloads_it(client, redis_conn, standin, run_jobs,
                                                                         settings_overrides):
    from pathlib import Path

    from ivr.escalations.recording_files import RecordingFiles
    from tests.helpers.service import RECORDINGS_KEY

    sid, rec = "CA" + "7" * 32, "RE" + "b" * 32
    standin.add_recording(rec, b"RIFF....WAVEfmt fake audio")
    params = {"CallSid": sid, "AccountSid": ACCOUNT, "RecordingSid": rec, "RecordingStatus": "completed",
              "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{rec}",
              "RecordingDuration": "7"}
    for _ in range(2):
        answer = post(client, "/twilio/voice/recording-status", params)
        assert (answer.status_code, answer.get_data(as_text=True)) == (
            200, '<?xml version="1.0" encoding="UTF-8"?><Response />')
    assert len(redis_conn.keys("rq:job:recording-*")) == 1
    assert run_jobs() == 0
    files = RecordingFiles.from_settings(settings_overrides["recordings_dir"], RECORDINGS_KEY)
    assert files.read_audio(sid, rec) == b"RIFF....WAVEfmt fake audio"  # kept sealed, even when it is not audio
    assert (Path(settings_overrides["recordings_dir"]) / f"{sid}-{rec}.wav.sealed").is_file()


def test_health_reports_redis_and_flows(client):
    # No job workers run in this test: the full check is degraded (calls are still answered), the web part ok.
    full = client.get("/health")
    assert full.status_code == 200 and full.get_json()["status"] == "degraded"
    assert full.get_json()["failures"] == ["workers", "scheduler"]
    response = client.get("/health?scope=web")
    assert response.status_code == 200
    assert response.get_json()["redis"] == "ok"
    assert len(response.get_json()["flows"]) == 12


def test_inbound_text_gets_a_neutral_auto_reply(client, caplog):
    params = {"MessageSid": "SM" + "1" * 32, "AccountSid": ACCOUNT, "From": CALLER, "To": "+15550100000",
              "Body": "I need to cancel my therapy session tomorrow"}
    response = post(client, "/twilio/sms", params)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks for your message. This number can\'t '
        'read texts; please call it instead.</Message></Response>')
    assert "therapy" not in caplog.text and "5551230001" not in caplog.text
    assert client.post("/twilio/sms", data=params).status_code == 403


def test_signature_checker_accepts_the_signed_url_and_its_port_variant_only():
    from ivr.telephony.signatures import SignatureChecker

    checker = SignatureChecker(TOKEN, "https://ql.example.org/")
    signer = RequestValidator(TOKEN)
    params = {"CallSid": "CA" + "1" * 32, "From": "+15551230001", "Digits": "1"}
    exact = signer.compute_signature("https://ql.example.org/twilio/input?turn=2", params)
    with_port = signer.compute_signature("https://ql.example.org:443/twilio/input?turn=2", params)
    assert checker.valid("/twilio/input", "turn=2", params, exact)
    assert checker.valid("/twilio/input", "turn=2", params, with_port)  # the library's fallback
    assert not checker.valid("/twilio/input", "turn=3", params, exact)
    assert not checker.valid("/twilio/input", "turn=2", {**params, "Digits": "2"}, exact)
    assert not checker.valid("/twilio/input", "turn=2", params, None)
    assert not checker.valid("/twilio/input", "turn=2", params,
                             RequestValidator("another-token").compute_signature(
                                 "https://ql.example.org/twilio/input?turn=2", params))


VOICEMAIL_PROMPT = ('<Say language="en-US" voice="Polly.Joanna">Please leave your name, the best number to reach you, '
                    'and a short message after the tone. Press the pound key when you are done.</Say>')


def _record(turn: int) -> str:
    return (f'<Record action="https://ql.example.org/twilio/voice/recorded?turn={turn}" finishOnKey="#90" '
            'maxLength="180" method="POST" playBeep="true" '
            'recordingStatusCallback="https://ql.example.org/twilio/voice/recording-status" '
            'recordingStatusCallbackMethod="POST" timeout="5" />'
            f'<Redirect method="POST">https://ql.example.org/twilio/voice/recorded?turn={turn}</Redirect>')


def test_the_voicemail_prompt_plays_in_a_gather_that_takes_9_and_0_before_the_beep(client, clock, redis_conn):
    # Issue 14, barge-in: the prompt before the beep is inside a <Gather> (keypad, one key, any key posted);
    # with no key Twilio goes on to the <Record>, which itself still ends on #, 9 or 0.
    clock.now = CLOSED_NOW
    post(client, "/twilio/voice", start_params())
    response = post(client, "/twilio/voice/input?turn=1", {**start_params(), "Digits": "0"})
    assert response.get_data(as_text=True) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Gather action="https://ql.example.org/twilio/voice/input?turn=2" finishOnKey="" input="dtmf" '
        'method="POST" numDigits="1" timeout="1">'
        '<Say language="en-US" voice="Polly.Joanna">Nobody is free to take your call right now. Please leave a '
        'message, and someone will call you back.</Say>' + VOICEMAIL_PROMPT + '</Gather>' + _record(2) + '</Response>'
    )
    assert stored_state(redis_conn, "CA" + "1" * 32)["step"] == "record_message"


@pytest.mark.parametrize(("key", "note"), [("0", "nobody-free"), ("5", "key-ignored"), ("#", "key-ignored"),
                                           ("*", "key-ignored")])
def test_a_key_during_the_after_hours_voicemail_prompt_hears_plainly_that_nobody_can_come_then_the_beep(
        client, clock, redis_conn, key, note):
    """bt14-s25 nit 7 (fix14-nits6): after 0 led here after hours, 0 again (or any key the prompt does not offer)
    hears one plain sentence, in a <Gather> where 9 still works, then the beep; never "Nobody is free…" and the
    prompt again as if nothing was heard."""
    clock.now = CLOSED_NOW
    post(client, "/twilio/voice", start_params())
    post(client, "/twilio/voice/input?turn=1", {**start_params(), "Digits": "0"})
    response = post(client, "/twilio/voice/input?turn=2", {**start_params(), "Digits": key})
    assert response.get_data(as_text=True) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Gather action="https://ql.example.org/twilio/voice/input?turn=3" finishOnKey="" input="dtmf" '
        'method="POST" numDigits="1" timeout="1">'
        '<Say language="en-US" voice="Polly.Joanna">Nobody can take your call right now. Please leave your message '
        'after the tone.</Say></Gather>' + _record(3) + '</Response>')
    state = stored_state(redis_conn, "CA" + "1" * 32)
    assert (state["step"], state["waiting"]) == ("record_message", "recording")
    assert state["history"][-1] == f"record_message:{note}"


@pytest.mark.parametrize(("model", "attrs"), [
    ("phone_call", 'speechModel="phone_call" speechTimeout="2"'),
    ("numbers_and_commands", 'speechModel="numbers_and_commands" speechTimeout="2"'),
    (None, 'speechTimeout="auto"'),
])
def test_speech_timeout_auto_is_sent_only_without_a_speech_model(model, attrs) -> None:
    """Review 14 finding 11: Twilio warning 13335, "auto" is not supported when a speechModel is set."""
    from ivr.core import effects as fx
    from ivr.telephony.twiml import CallUrls, render

    urls = CallUrls(gather="https://x/g", no_input="https://x/n", recorded="https://x/r", recording_status="",
                    dialed="https://x/d")
    xml = render([fx.Gather((), num_digits=1, speech_model=model)], urls)
    assert xml == ('<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="https://x/g" input="dtmf speech" '
                   f'method="POST" numDigits="1" {attrs} timeout="6" /><Redirect method="POST">https://x/n</Redirect>'
                   '</Response>')


def _dob_gather(turn: int, before: str = "", *, crisis_offer: bool = True) -> str:
    """The date-of-birth prompt; ``crisis_offer`` False: without its closing crisis offer (just said before it)."""
    return (
        f'<Gather action="https://ql.example.org/twilio/voice/input?turn={turn}" finishOnKey="#" hints="January, '
        'February, March, April, May, June, July, August, September, October, November, December, first, second, '
        'third, nineteen, two thousand, oh, crisis, emergency, hurt myself, suicide, suicidal, kill myself, '
        # Hints as the flow writes them: Twilio's recogniser is helped by "I'm new", not "im new" (fix14-s7).
        "operator, representative, receptionist, a person, someone, front desk, new client, new patient, I'm "
        "new, I am new, I'm a new, I am a new, not a client, not a client yet, never been a client, first time "
        'calling, '
        'not a patient" input="dtmf speech" language="en-US" method="POST" '
        'speechModel="numbers_and_commands" speechTimeout="2" timeout="6">' + before +
        '<Say language="en-US" voice="Polly.Joanna">To protect your privacy, please enter your date of birth as '
        'eight digits, month, day and year, then press pound. Or say it. If you have a PIN with us, press star, '
        'then your PIN, then pound. If you are new to our practice, press 4 and then pound, or say new client.'
        + (' If you are in crisis, press 9 and then pound, or say crisis.' if crisis_offer else '') + '</Say></Gather>'
        f'<Redirect method="POST">https://ql.example.org/twilio/voice/timeout?turn={turn}</Redirect>')


def test_the_date_of_birth_prompt_promises_9_then_pound_and_it_acts_at_once(client, clock, redis_conn):
    """fix14-left2 item 1: the date-of-birth <Gather> keeps finishOnKey "#" and no numDigits (a date is 8 keys, star
    and a PIN 9), so a lone 9 is sent only after the 6 s timeout; the prompt promises what acts at once there, 9 then
    pound (Twilio posts Digits=9), and the crisis path follows at once."""
    post(client, "/twilio/voice", start_params())
    response = post(client, "/twilio/voice/input?turn=1", {**start_params(), "Digits": "1"})
    assert response.get_data(as_text=True) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>' + _dob_gather(2) + '</Response>')
    response = post(client, "/twilio/voice/input?turn=2", {**start_params(), "Digits": "9"})
    assert response.get_data(as_text=True) == CRISIS_CONNECT
    history = stored_state(redis_conn, "CA" + "1" * 32)["history"]
    assert history[history.index("identify.ask_dob") + 1:history.index("crisis.guidance")] == [
        "ask_dob:crisis", "identify.to_crisis"]


CRISIS_CONNECT = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US" voice="Polly.Joanna">If you are in danger '
    'or this is a medical emergency, hang up and dial 9 1 1 now. If you are thinking about suicide or are in crisis, '
    'you can call or text 9 8 8, the Suicide and Crisis Lifeline, at any time, day or night.</Say>'
    '<Say language="en-US" voice="Polly.Joanna">I am connecting you with our on-call clinician now.</Say>'
    '<Dial action="https://ql.example.org/twilio/voice/dialed?turn=3" method="POST" timeout="25">'
    '<Number method="POST" url="https://ql.example.org/twilio/voice/screen?turn=3">+15550100101</Number></Dial>'
    '</Response>')


def test_the_crisis_offer_at_the_date_of_birth_prompt_says_9_then_pound(client, clock, redis_conn):
    """fix14-left2 item 1: "If you are in crisis, press 9 now" would wait 6 s here; the offer says what acts at once."""
    post(client, "/twilio/voice", start_params())
    post(client, "/twilio/voice/input?turn=1", {**start_params(), "Digits": "1"})
    response = post(client, "/twilio/voice/input?turn=2",
                    {**start_params(), "SpeechResult": "I feel like giving up", "Confidence": "0.9"})
    # After the offer, the prompt again without its apology (fix14-bt S4: never "Sorry" after a crisis offer), and
    # without its own closing crisis offer, just said (bt14-s27 SHOULD-FIX 5: never the same sentence twice in a row).
    offer = ('<Say language="en-US" voice="Polly.Joanna">If you are in crisis, press 9 and then pound, or say '
             'crisis.</Say>')
    assert response.get_data(as_text=True) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>' + _dob_gather(3, offer, crisis_offer=False)
        + '</Response>')
