"""Transfers to staff: screened (a phone's own voicemail is no answer) and rung from the on-call roster.

Driven as Twilio drives them: the simulator signs every webhook, fetches each
``<Number url>`` whisper on the called party's leg with that leg's own CallSid and
``ParentCallSid``, and plays the called party by script token (``answer`` presses a
key, ``machine`` is a voicemail greeting, ``decline`` a person who does not take it).
Real Redis, real RQ workers (burst), a real SQLite database, PostgreSQL for the outage.
Monday 23 November 2026, 10:00 in New York unless a test moves the clock.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from ivr.app import create_app
from ivr.db.database import Database
from ivr.dev.simulator import CallSimulator, FlaskTransport
from ivr.escalations.models import Escalation, RosterEntry, StaffUser
from tests.helpers.escalations import PHONES
from tests.helpers.service import ACCOUNT, CLOSED_NOW, PUBLIC, TOKEN, stored_state

ALEX = "+15551230001"
YAML_ON_CALL = "+15550100101"
FRONT_DESK_LINE = "+15550100100"
CRISIS_SAY = "I am connecting you with our on-call clinician now."
NO_PICKUP = ("Our on-call clinician could not pick up. We have alerted them and someone will call you back as soon "
             "as possible. Please call or text 9 8 8 now to talk with someone right away.")
MESSAGE = "If you would like, leave a message with your name and number after the tone."
WHISPER = "You have a transferred call. Press any key to take it."
VOICE = 'language="en-US" voice="Polly.Joanna"'


def sign(url: str, params: dict[str, str]) -> str:
    return RequestValidator(TOKEN).compute_signature(url, params)


def session_history(redis_conn, call_sid: str) -> list[str]:
    return stored_state(redis_conn, call_sid)["history"]


def dial_xml(numbers: list[str], turn: int, timeout: int = 25) -> str:
    screen = f"https://ql.example.org/twilio/voice/screen?turn={turn}"
    inner = "".join(f'<Number method="POST" url="{screen}">{n}</Number>' for n in numbers)
    return (f'<Dial action="https://ql.example.org/twilio/voice/dialed?turn={turn}" method="POST" '
            f'timeout="{timeout}">{inner}</Dial>')


# --------------------------------------------------------------------------- screening


def test_a_transfer_is_screened_with_a_whisper_on_the_staff_leg(sim, redis_conn):
    result = sim.call(from_=ALEX, script="9;answer")
    crisis_doc = result.documents[1]
    assert crisis_doc.endswith(f'<Say {VOICE}>{CRISIS_SAY}</Say>' + dial_xml([YAML_ON_CALL], 2) + "</Response>")

    # Twilio fetched the whisper for the staff leg (signed, with the caller's CallSid as ParentCallSid) ...
    screens = result.requests_for("screen")
    assert [r.url for r in screens] == ["https://ql.example.org/twilio/voice/screen?turn=2",
                                        "https://ql.example.org/twilio/voice/screen/accept?turn=2"]
    assert screens[0].params["ParentCallSid"] == result.call_sid
    assert screens[0].params["CallSid"] != result.call_sid
    assert screens[0].body == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Gather action="https://ql.example.org/twilio/voice/screen/accept?turn=2" input="dtmf" method="POST" '
        f'numDigits="1" timeout="8"><Say {VOICE}>{WHISPER}</Say></Gather><Hangup /></Response>')
    # ... a person pressed a key, which connects the call (an empty document) ...
    assert screens[1].params["Digits"] == "1"
    assert screens[1].body == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    # ... and only then does the finished <Dial> count as answered: the call ends, no voicemail.
    assert ("whisper", WHISPER) in result.transcript and ("screen", "accepted") in result.transcript
    assert result.heard[-1] == CRISIS_SAY
    assert WHISPER not in result.heard  # the caller never hears the whisper
    assert "connect:answered" in session_history(redis_conn, result.call_sid)


@pytest.mark.parametrize("who", ["machine", "decline"])
def test_a_staff_voicemail_or_a_declined_screen_is_no_answer_and_the_crisis_caller_can_leave_a_message(
        sim, redis_conn, run_jobs, database, who):
    result = sim.call(from_=ALEX, script=f"9;{who};record:6")
    # Twilio reports the <Dial> completed (the staff leg did pick up) ...
    assert ("dial-status", "completed") in result.transcript
    assert ("screen", "no-key") in result.transcript and ("screen", "hung-up") in result.transcript
    assert result.requests_for("action")[-2].params["DialCallStatus"] == "completed"
    # ... but nobody took the call, so the flow goes on exactly as for no answer.
    assert result.heard[-4:] == [CRISIS_SAY, NO_PICKUP, MESSAGE, "Please stay safe. Goodbye."]
    history = session_history(redis_conn, result.call_sid)
    assert "connect:no-answer" in history and "message:recorded" in history
    run_jobs()
    with database.sessions() as db:
        rows = db.execute(select(Escalation.call_sid, Escalation.reason)).all()
    assert rows == [(result.call_sid, "crisis")]


def test_the_front_desk_voicemail_picking_up_leads_to_a_message_and_a_callback_escalation(sim, redis_conn, run_jobs,
                                                                                          database):
    result = sim.call(from_=ALEX, script="0;machine;record:4")
    assert ("dial", [FRONT_DESK_LINE]) in result.transcript
    assert result.heard[-3:] == [
        "Everyone is helping other callers right now.",
        "Please leave your name, the best number to reach you, and a short message after the tone. "
        "Press the pound key when you are done.",
        "Thank you. Someone will call you back by today at 12 PM. Goodbye."]
    run_jobs()
    with database.sessions() as db:
        assert db.execute(select(Escalation.reason)).scalars().all() == ["callback_request"]


def test_an_unscreened_dial_status_cannot_fake_an_answer(client, redis_conn):
    """A <Dial> action saying "completed" without a key pressed on the staff leg (a replayed or hand-made
    request, or TwiML from before screening) is no answer."""
    from tests.helpers.webhooks import post, start_params

    sid = "CA" + "7" * 32
    post(client, "/twilio/voice", start_params(sid))
    crisis = post(client, "/twilio/voice/input?turn=1", {**start_params(sid), "Digits": "9"})
    assert dial_xml([YAML_ON_CALL], 2) in crisis.get_data(as_text=True)
    after = post(client, "/twilio/voice/dialed?turn=2", {**start_params(sid), "DialCallStatus": "completed",
                                                          "DialCallDuration": "30"})
    body = after.get_data(as_text=True)
    assert f"<Say {VOICE}>{NO_PICKUP}</Say>" in body and "<Record " in body
    assert "connect:no-answer" in session_history(redis_conn, sid)


def test_the_whisper_and_its_accept_url_are_signed_like_every_webhook(client, redis_conn):
    params = {"CallSid": "CA" + "8" * 32, "ParentCallSid": "CA" + "9" * 32, "Digits": "1", "AccountSid": ACCOUNT}
    forged = client.post("/twilio/voice/screen/accept?turn=2", data=params, headers={"X-Twilio-Signature": "x"})
    assert forged.status_code == 403
    assert client.post("/twilio/voice/screen?turn=2", data=params).status_code == 403
    assert redis_conn.keys("ql:screen:*") == []
    url = PUBLIC + "/twilio/voice/screen/accept?turn=2"
    ok = client.post(
        "/twilio/voice/screen/accept?turn=2", data=params, headers={"X-Twilio-Signature": sign(url, params)}
    )
    assert ok.status_code == 200
    assert redis_conn.keys("ql:screen:*") == [f"ql:screen:{'CA' + '9' * 32}:2".encode()]


def test_the_whisper_answers_even_with_redis_down(settings_overrides, clock, database):
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = Redis(unix_socket_path="/nonexistent/redis.sock", socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    client = create_app(settings_overrides, redis=dead, clock=clock, database=database).test_client()
    params = {"CallSid": "CA" + "8" * 32, "ParentCallSid": "CA" + "9" * 32, "AccountSid": ACCOUNT}
    url = PUBLIC + "/twilio/voice/screen?turn=4"
    whisper = client.post("/twilio/voice/screen?turn=4", data=params, headers={"X-Twilio-Signature": sign(url, params)})
    assert whisper.status_code == 200 and WHISPER in whisper.get_data(as_text=True)
    accept_url = PUBLIC + "/twilio/voice/screen/accept?turn=4"
    pressed = {**params, "Digits": "1"}
    accepted = client.post("/twilio/voice/screen/accept?turn=4", data=pressed,
                           headers={"X-Twilio-Signature": sign(accept_url, pressed)})
    # A person is on the line: connect them even though the acceptance cannot be stored.
    assert accepted.get_data(as_text=True) == '<?xml version="1.0" encoding="UTF-8"?><Response />'


# --------------------------------------------------------------------------- the on-call roster


def test_the_crisis_transfer_rings_whoever_the_roster_has_on_call(sim, staff, clock):  # noqa: F811
    # Monday 10:00: the demo roster has the front desk (weekdays 9-6) and the on-call clinician at level 1.
    result = sim.call(from_=ALEX, script="9;answer")
    assert ("dial", [PHONES["frontdesk@example.com"], PHONES["oncall@example.com"]]) in result.transcript
    assert dial_xml([PHONES["frontdesk@example.com"], PHONES["oncall@example.com"]], 2) in result.documents[1]
    # 20:00: only the on-call clinician.
    clock.now = CLOSED_NOW
    night = sim.call(from_=ALEX, script="9;answer")
    assert ("dial", [PHONES["oncall@example.com"]]) in night.transcript


def test_a_roster_change_in_the_dashboard_changes_who_the_crisis_transfer_rings(sim, staff, database,  # noqa: F811
                                                                                clock):
    clock.now = CLOSED_NOW
    # The owner limits the clinician's entry to other categories and puts the backup on call for crises.
    with database.sessions() as db, db.begin():
        db.execute(update(RosterEntry).where(RosterEntry.user_id == staff["oncall@example.com"])
                   .values(categories=["callback_request"]))
        db.add(RosterEntry(user_id=staff["backup@example.com"], level=1, days=[], start="18:00", end="09:00",
                           sms=True, email=False, categories=["crisis"]))
    result = sim.call(from_=ALEX, script="9;answer")
    assert ("dial", [PHONES["backup@example.com"]]) in result.transcript
    # Nobody with a phone on call (level 1 falls through to 2 and 3 like notifications; all phones gone):
    # the practice.yaml number.
    with database.sessions() as db, db.begin():
        db.execute(update(StaffUser).values(phone=None))
    fallback = sim.call(from_=ALEX, script="9;answer")
    assert ("dial", [YAML_ON_CALL]) in fallback.transcript


def test_with_no_roster_the_practice_yaml_number_is_rung(sim):
    result = sim.call(from_=ALEX, script="9;answer")
    assert ("dial", [YAML_ON_CALL]) in result.transcript


def test_with_the_database_unreachable_the_crisis_transfer_rings_the_practice_yaml_number(
        settings_overrides, redis_conn, clock, standin, caplog):
    # A PostgreSQL URL with no server behind it: every query fails with OperationalError.
    down = Database.from_url("postgresql+psycopg://postgres@/quietline?host=/nonexistent-ql-socket-dir")
    try:
        app = create_app(settings_overrides, redis=redis_conn, clock=clock, database=down)
        sim = CallSimulator(FlaskTransport(app.test_client()), auth_token=TOKEN, public_base_url=PUBLIC,
                            account_sid=ACCOUNT, recording_url_base=standin.url)
        with caplog.at_level("WARNING", logger="ivr.escalations.on_call"):
            result = sim.call(from_=ALEX, script="9;answer")
    finally:
        down.dispose()
    assert not result.application_error
    assert result.heard[-1] == CRISIS_SAY
    assert ("dial", [YAML_ON_CALL]) in result.transcript
    assert ("screen", "accepted") in result.transcript
    assert "on-call roster unreadable (OperationalError): ringing the practice.yaml number for crisis" in caplog.text


def test_roster_backed_staff_need_a_known_category(tmp_path):
    from ivr.exceptions import FlowError
    from ivr.practice.settings.checks import load_practice

    text = (__import__("pathlib").Path(__file__).resolve().parents[2] / "flows" / "practice.yaml").read_text()
    path = tmp_path / "practice.yaml"
    path.write_text(text.replace("roster: crisis", "roster: emergencies"))
    with pytest.raises(FlowError) as failed:
        load_practice(path)
    assert "staff.on_call.roster" in str(failed.value)
    path.write_text(text)
    assert load_practice(path).staff_member("on_call").roster == "crisis"
