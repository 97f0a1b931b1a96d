"""What every webhook pays, whatever the caller does (issue 9, perf9c): counted, never timed.

* Redis replies are parsed (and commands packed) by hiredis, redis-py's C parser, not its pure-Python one.
* A TwiML answer built by ``ivr.telephony.twiml`` is not parsed again before it is sent (``never_fails`` checks
  only what the builders did not make: an answer read back from Redis for a retried turn, a view's own text).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import redis.connection

from ivr.telephony import twiml, webhooks
from ivr.telephony.twiml import TwiML
from tests.helpers.webhooks import post, start_params

SID = "CA" + "6" * 32
parse = ET.fromstring  # the test's own parsing, not counted (the fixture counts the module's function)


def test_redis_replies_are_parsed_by_hiredis(client):
    from redis._parsers import _HiredisParser

    assert redis.connection.DefaultParser is _HiredisParser
    services = client.application.extensions["quietline"]
    # The app's client takes the default: no parser class of its own.
    assert services.redis.connection_pool.connection_kwargs.get("parser_class", _HiredisParser) is _HiredisParser


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Every document ``never_fails`` parses (the real parser runs; this only counts)."""
    seen: list[str] = []
    real = parse

    def counting(text, *args, **kwargs):
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(webhooks.ET, "fromstring", counting)
    return seen


def test_a_turn_answered_by_the_builders_is_not_parsed_again(client, redis_conn, parses):
    first = post(client, "/twilio/voice", start_params(SID))
    second = post(client, "/twilio/voice/timeout?turn=1", start_params(SID))
    assert first.status_code == second.status_code == 200
    assert first.mimetype == "text/xml"
    assert parse(first.get_data(as_text=True)).tag == "Response"
    assert parse(second.get_data(as_text=True)).tag == "Response"
    assert parses == []


def test_a_retried_turn_answered_from_redis_is_still_checked(client, redis_conn, parses):
    first = post(client, "/twilio/voice", start_params(SID)).get_data(as_text=True)
    again = post(client, "/twilio/voice", start_params(SID)).get_data(as_text=True)
    assert again == first
    assert parses == [first]  # the cached answer is a plain string from Redis: parsed once, found valid


def test_what_is_not_a_response_document_is_still_refused():
    assert not webhooks._is_twiml("")
    assert not webhooks._is_twiml("<Say>hello</Say>")
    assert not webhooks._is_twiml("<Response><Say>unclosed</Response>")
    assert webhooks._is_twiml("<Response><Hangup/></Response>")


@pytest.mark.parametrize("document", [
    twiml.hangup(), twiml.acknowledge(), twiml.sms_nothing(), twiml.sms_reply(), twiml.thanks(),
    twiml.screen_accepted(), twiml.screen("https://example.org/s"), twiml.apology("https://example.org/v"),
    twiml.voicemail_after_dial("https://example.org/v", None), twiml.say_then_hangup(["Goodbye."]),
    twiml.wait_for_answer(), twiml.render([], twiml.CallUrls("g", "n", "r", "s", "d")),
])
def test_every_builder_returns_a_document_marked_as_built(document):
    assert isinstance(document, TwiML)
    assert parse(document).tag == "Response"


def test_documents_are_written_exactly_as_twilio_writes_them():
    """``twiml._document`` serialises the builders' tree as text; twilio's own ``str()`` gives the same characters."""
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    gather = response.gather(action="https://example.org/g?turn=1&x=<y>", method="POST", input="dtmf speech",
                             timeout=6, hints="café, naïve", speech_timeout="auto", enhanced=True)
    gather.say('Zoë & "friends" <b> — 9 8 8, ½ past, 日本', voice="Polly.Joanna", language="en-US")
    response.redirect("https://example.org/t?turn=1", method="POST")
    response.dial(action="https://example.org/d", timeout=20).number("+15551230001", url="https://example.org/s")
    assert twiml._document(response) == str(response)
