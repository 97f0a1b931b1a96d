"""The official twilio client, through ivr.telephony.twilio_rest, against the local Twilio stand-in."""
from __future__ import annotations

import io
import logging
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from ivr.config import Settings
from ivr.dev.twilio_standin import TwilioStandin
from ivr.telephony.twilio_rest import (
    RedirectingHttpClient,
    delete_recording,
    fetch_recording_bytes,
    make_client,
    send_sms,
)

ACCOUNT_SID = "AC" + "1" * 32
TOKEN = "secret"
PATIENT = "+15551234567"
CLINIC = "+15005550006"
RECORDING_SID = "RE" + "ab" * 16


def _wav(seconds: float = 0.25, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        # Not silence: a byte-for-byte comparison should mean something.
        w.writeframes(bytes((i * 7) % 256 for i in range(int(seconds * rate) * 2)))
    return buf.getvalue()


@pytest.fixture(scope="module")
def server() -> Iterator[TwilioStandin]:
    with TwilioStandin(ACCOUNT_SID, TOKEN) as standin:
        yield standin


@pytest.fixture
def standin(server: TwilioStandin) -> TwilioStandin:
    server.reset()
    return server


@pytest.fixture
def settings(standin: TwilioStandin) -> Settings:
    return Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=TOKEN, twilio_api_url=standin.url)


@pytest.fixture
def client(settings: Settings) -> Client:
    return make_client(settings)


def test_send_sms_records_exactly_what_was_sent(standin: TwilioStandin, client: Client) -> None:
    sid = send_sms(
        client, to=PATIENT, from_=CLINIC, body="Your appointment is confirmed.", status_callback="https://q.example/sms"
    )

    sent = standin.messages()
    assert len(sent) == 1
    assert sent[0]["sid"] == sid
    assert (sent[0]["to"], sent[0]["from"], sent[0]["body"]) == (PATIENT, CLINIC, "Your appointment is confirmed.")
    assert sent[0]["status_callback"] == "https://q.example/sms"
    assert sid.startswith("SM") and len(sid) == 34

    fetched = client.messages(sid).fetch()
    assert (fetched.sid, fetched.to, fetched.from_, fetched.body, fetched.status) == (
        sid,
        PATIENT,
        CLINIC,
        "Your appointment is confirmed.",
        "queued",
    )
    assert fetched.date_created is not None and fetched.date_created.tzinfo is not None


def test_wrong_token_is_a_401(standin: TwilioStandin, settings: Settings) -> None:
    bad = make_client(
        Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token="wrong", twilio_api_url=settings.twilio_api_url)
    )
    with pytest.raises(TwilioRestException) as exc:
        send_sms(bad, to=PATIENT, from_=CLINIC, body="hello")
    assert exc.value.status == 401
    assert exc.value.code == 20003
    assert standin.messages() == []


def test_other_account_in_path_is_refused(standin: TwilioStandin, client: Client) -> None:
    with pytest.raises(TwilioRestException) as exc:
        client.api.v2010.accounts("AC" + "2" * 32).messages.create(to=PATIENT, from_=CLINIC, body="hi")
    assert exc.value.status == 404
    assert standin.messages() == []


@pytest.mark.parametrize(
    "to, from_, body, code",
    [
        ("555-1234", CLINIC, "hi", 21211),
        ("+15005550001", CLINIC, "hi", 21211),  # Twilio's magic invalid recipient
        ("+15005550004", CLINIC, "hi", 21610),
        (PATIENT, "clinic", "hi", 21212),
        (PATIENT, CLINIC, "", 21602),
        (PATIENT, CLINIC, "x" * 1601, 21617),
    ],
)
def test_invalid_messages_are_a_400(
    standin: TwilioStandin, client: Client, to: str, from_: str, body: str, code: int
) -> None:
    with pytest.raises(TwilioRestException) as exc:
        send_sms(client, to=to, from_=from_, body=body)
    assert exc.value.status == 400
    assert exc.value.code == code
    assert standin.messages() == []


def test_list_messages_pages_through_the_rewritten_url(standin: TwilioStandin, client: Client) -> None:
    sids = [send_sms(client, to=PATIENT, from_=CLINIC, body=f"note {i}") for i in range(3)]
    send_sms(client, to="+15557654321", from_=CLINIC, body="someone else")

    listed = client.messages.list(to=PATIENT, page_size=2)

    assert [m.sid for m in listed] == list(reversed(sids))  # newest first, like Twilio
    assert [r["path"] for r in standin.requests()][-2:] == [f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"] * 2


def test_fetch_recording_bytes_gives_the_exact_bytes(standin: TwilioStandin, client: Client, tmp_path: Path) -> None:
    audio = _wav()
    record = standin.add_recording(RECORDING_SID, audio)
    recording_url = standin.recording_url(RECORDING_SID)
    assert record["media_url"] == recording_url
    assert recording_url.startswith("https://api.twilio.com/2010-04-01/Accounts/")

    assert fetch_recording_bytes(client, recording_url) == audio

    assert standin.requests()[-1]["path"].endswith(f"/Recordings/{RECORDING_SID}.wav")
    assert list(tmp_path.iterdir()) == []  # a voicemail never touches the disk in clear


def test_fetch_recording_bytes_accepts_settings(standin: TwilioStandin, settings: Settings) -> None:
    audio = _wav(0.1)
    standin.add_recording(RECORDING_SID, audio)
    assert fetch_recording_bytes(settings, standin.recording_url(RECORDING_SID)) == audio


def test_a_refused_download_raises_twilios_status(standin: TwilioStandin, client: Client) -> None:
    standin.add_recording(RECORDING_SID, _wav())
    standin.fail_next(f"{RECORDING_SID}.wav", 500)

    with pytest.raises(TwilioRestException) as exc:
        fetch_recording_bytes(client, standin.recording_url(RECORDING_SID))
    assert exc.value.status == 500

    with pytest.raises(TwilioRestException) as exc:
        fetch_recording_bytes(client, standin.recording_url("RE" + "0" * 32))
    assert exc.value.status == 404


def test_download_refuses_to_send_credentials_elsewhere(standin: TwilioStandin, client: Client) -> None:
    for url in ("https://evil.example.com/Recordings/RE1", "https://api.twilio.com.evil.example/Recordings/RE1"):
        with pytest.raises(ValueError):
            fetch_recording_bytes(client, url)
    assert standin.requests() == []


def test_delete_recording(standin: TwilioStandin, client: Client) -> None:
    standin.add_recording(RECORDING_SID, _wav())
    assert client.recordings(RECORDING_SID).fetch().sid == RECORDING_SID

    assert delete_recording(client, RECORDING_SID) is True

    assert standin.recordings() == []
    with pytest.raises(TwilioRestException) as exc:
        client.recordings(RECORDING_SID).fetch()
    assert exc.value.status == 404
    assert delete_recording(client, RECORDING_SID) is False
    with pytest.raises(ValueError):
        delete_recording(client, "../Calls/CA123")


@pytest.mark.parametrize("status", [500, 429])
def test_fail_next_fails_one_send_then_recovers(standin: TwilioStandin, client: Client, status: int) -> None:
    standin.fail_next("Messages.json", status)

    with pytest.raises(TwilioRestException) as exc:
        send_sms(client, to=PATIENT, from_=CLINIC, body="first try")
    assert exc.value.status == status

    sid = send_sms(client, to=PATIENT, from_=CLINIC, body="second try")
    assert [(m["sid"], m["body"]) for m in standin.messages()] == [(sid, "second try")]
    assert [r["status"] for r in standin.requests()] == [status, 201]


def test_fail_next_count(standin: TwilioStandin, client: Client) -> None:
    standin.fail_next("Messages.json", 503, count=2, retry_after=1)
    for _ in range(2):
        with pytest.raises(TwilioRestException):
            send_sms(client, to=PATIENT, from_=CLINIC, body="x")
    send_sms(client, to=PATIENT, from_=CLINIC, body="x")
    assert len(standin.messages()) == 1


def test_create_call(standin: TwilioStandin, client: Client) -> None:
    call = client.calls.create(
        to=PATIENT,
        from_=CLINIC,
        url="https://q.example/voice/outbound",
        status_callback="https://q.example/voice/status",
        machine_detection="Enable",
    )
    assert call.status == "queued" and call.sid.startswith("CA")
    [recorded] = standin.calls()
    assert (recorded["sid"], recorded["to"], recorded["from"]) == (call.sid, PATIENT, CLINIC)
    assert recorded["url"] == "https://q.example/voice/outbound"
    assert recorded["machine_detection"] == "Enable"

    with pytest.raises(TwilioRestException) as exc:
        client.calls.create(to=PATIENT, from_=CLINIC)  # neither Url nor Twiml
    assert exc.value.status == 400


def test_control_api_over_http(standin: TwilioStandin, client: Client, tmp_path: Path) -> None:
    audio = _wav(0.05)
    put = requests.put(f"{standin.url}/_standin/recordings/{RECORDING_SID}", data=audio, timeout=5)
    assert put.status_code == 201
    assert fetch_recording_bytes(client, put.json()["media_url"]) == audio

    assert requests.post(
        f"{standin.url}/_standin/fail_next", json={"path_suffix": "Messages.json", "status": 500}, timeout=5
    ).status_code == 204
    with pytest.raises(TwilioRestException):
        send_sms(client, to=PATIENT, from_=CLINIC, body="hi")
    sid = send_sms(client, to=PATIENT, from_=CLINIC, body="hi")
    listed = requests.get(f"{standin.url}/_standin/messages", timeout=5).json()
    assert [(m["sid"], m["to"], m["from"], m["body"]) for m in listed] == [(sid, PATIENT, CLINIC, "hi")]

    assert requests.post(f"{standin.url}/_standin/reset", timeout=5).status_code == 204
    assert standin.messages() == [] and standin.recordings() == []


def test_rewrite_keeps_path_and_query_and_only_touches_twilio_hosts() -> None:
    http = RedirectingHttpClient("http://127.0.0.1:8010/")
    assert http.rewrite("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B1&Page=2") == (
        "http://127.0.0.1:8010/2010-04-01/Accounts/AC1/Messages.json?To=%2B1&Page=2"
    )
    assert http.rewrite("https://messaging.twilio.com/v1/Services") == "http://127.0.0.1:8010/v1/Services"
    assert http.rewrite("https://api.twilio.com.evil.example/x") == "https://api.twilio.com.evil.example/x"
    assert http.rewrite("https://example.com/x") == "https://example.com/x"
    assert RedirectingHttpClient("http://h:1/prefix").rewrite("https://api.twilio.com/a") == "http://h:1/prefix/a"


def test_real_api_url_is_left_alone() -> None:
    client = make_client(Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=TOKEN))
    assert isinstance(client.http_client, RedirectingHttpClient)
    assert client.http_client.base_url is None
    assert client.http_client.rewrite("https://api.twilio.com/x") == "https://api.twilio.com/x"
    assert client.http_client.rewrite("https://voice.twilio.com/v1/x") == "https://voice.twilio.com/v1/x"
    assert client.username == ACCOUNT_SID and client.password == TOKEN


def test_no_phone_numbers_or_bodies_in_logs(
    standin: TwilioStandin, client: Client, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    send_sms(client, to=PATIENT, from_=CLINIC, body="private note about a patient")
    client.messages.list(to=PATIENT, limit=5)
    with pytest.raises(TwilioRestException):
        send_sms(client, to="+1555bad", from_=CLINIC, body="private note about a patient")

    # urllib3's own DEBUG lines print full URLs; keeping it at WARNING is the logging setup's job.
    ours = [r.getMessage() for r in caplog.records if r.name.split(".")[0] in ("ivr", "twilio", "werkzeug")]
    assert len(ours) >= 6, "expected some logging to check"
    text = "\n".join(ours)
    for secret in ("5551234567", "15005550006", "private note", "2B1555"):
        assert secret not in text
    assert "+1******4567" in text  # the recipient, masked by ivr.core.privacy.mask_phone
