"""The practice's number through the official client (ivr.telephony.twilio_numbers), against the stand-in's
IncomingPhoneNumbers and Messaging Services resources."""
from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from ivr.config import Settings
from ivr.dev.twilio_standin import DEMO_PRACTICE_NUMBER, TwilioStandin
from ivr.telephony.twilio_numbers import (
    NumberNotOnAccount,
    fetch_number,
    find_number,
    http_status,
    messaging_services_of,
    update_number,
)
from ivr.telephony.twilio_rest import make_client

ACCOUNT_SID = "AC" + "1" * 32
TOKEN = "secret"


@pytest.fixture(scope="module")
def server():
    with TwilioStandin(ACCOUNT_SID, TOKEN) as standin:
        yield standin


@pytest.fixture
def standin(server):
    server.reset()
    return server


@pytest.fixture
def client(standin):
    return make_client(Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=TOKEN,
                                twilio_api_url=standin.url))


def test_a_number_is_found_exactly_read_and_updated(standin, client):
    standin.add_number("+15555550101", voice_url="https://a.example/other")
    pn = standin.add_number(DEMO_PRACTICE_NUMBER, voice_url="https://a.example/voice")["sid"]

    # Twilio's PhoneNumber filter matches partial numbers: both would match "+1555555010".
    found = find_number(client, DEMO_PRACTICE_NUMBER)
    assert (found.sid, found.phone_number, found.voice_url) == (pn, DEMO_PRACTICE_NUMBER, "https://a.example/voice")

    after = update_number(client, pn, {"voice_url": "https://b.example/twilio/voice", "voice_method": "POST",
                                       "sms_url": "https://b.example/twilio/sms", "voice_application_sid": None})
    assert after.voice_url == "https://b.example/twilio/voice"
    again = fetch_number(client, pn)
    assert (again.voice_url, again.voice_method, again.sms_url) == (
        "https://b.example/twilio/voice", "POST", "https://b.example/twilio/sms")
    # Each field went as Twilio's form parameter.
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in standin.requests()] == [
        ("GET", "IncomingPhoneNumbers.json"), ("POST", f"{pn}.json"), ("GET", f"{pn}.json")]


def test_a_number_the_account_does_not_have(standin, client):
    standin.add_number("+15555550101")
    with pytest.raises(NumberNotOnAccount):
        find_number(client, DEMO_PRACTICE_NUMBER)


def test_the_stand_in_refuses_what_twilio_refuses(standin, client):
    pn = standin.add_number(DEMO_PRACTICE_NUMBER)["sid"]
    with pytest.raises(TwilioRestException) as bad_url:
        update_number(client, pn, {"voice_url": "ftp://b.example/voice"})
    assert (bad_url.value.status, bad_url.value.code) == (400, 21502)
    with pytest.raises(TwilioRestException) as bad_method:
        update_number(client, pn, {"sms_method": "PUT"})
    assert bad_method.value.status == 400
    with pytest.raises(TwilioRestException) as unknown:
        fetch_number(client, "PN" + "0" * 32)
    assert unknown.value.status == 404
    with pytest.raises(ValueError):
        update_number(client, pn, {"friendly_name": "x"})


def test_messaging_services_that_have_the_number(standin, client):
    pn = standin.add_number(DEMO_PRACTICE_NUMBER)["sid"]
    other = standin.add_number("+15555550101")["sid"]
    assert messaging_services_of(client, pn) == []

    service = standin.add_messaging_service(DEMO_PRACTICE_NUMBER)

    assert service.startswith("MG")
    assert messaging_services_of(client, pn) == [service]
    assert messaging_services_of(client, other) == []
    with pytest.raises(ValueError):
        standin.add_messaging_service(DEMO_PRACTICE_NUMBER)  # Twilio's 21712: one service per number


def test_the_messaging_api_needs_the_account_credentials(standin):
    intruder = make_client(Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token="wrong",
                                    twilio_api_url=standin.url))
    with pytest.raises(TwilioException) as refused:
        intruder.messaging.v1.services.list()
    assert http_status(refused.value) == 401
    with pytest.raises(TwilioException) as also:
        find_number(intruder, DEMO_PRACTICE_NUMBER)
    assert http_status(also.value) == 401


def test_the_last_answer_s_date_is_kept_for_the_clock_check(standin, client):
    standin.add_number(DEMO_PRACTICE_NUMBER)
    find_number(client, DEMO_PRACTICE_NUMBER)
    assert client.http_client.last_response_date.endswith(" GMT")
    assert client.http_client.last_response_at is not None
