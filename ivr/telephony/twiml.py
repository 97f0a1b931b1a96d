"""Effects → TwiML.  The only module that builds TwiML, and only with twilio's builders.

The builders escape every text node, so nothing a caller says (and nothing a
template renders) can inject markup into a response.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import assert_never

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather as GatherVerb
from twilio.twiml.voice_response import VoiceResponse

from ivr.core import effects as fx

APOLOGY = "We're sorry, something went wrong on our side."
# Texts to the practice number get this; it names nothing, for whoever else reads the phone.
SMS_AUTO_REPLY = "Thanks for your message. This number can't read texts; please call it instead."
VOICEMAIL_OFFER = "Please leave your name, number and a short message after the tone, and we will call you back."
THANKS = "Thank you. We will call you back. Goodbye."
# Said to whoever picks up a transferred call, before it is connected.  A personal voicemail
# greeting presses nothing, so only a person can take the call.  Neutral words: the phone may
# be answered by someone else, and nothing may say who is calling or why.
SCREEN_PROMPT = "You have a transferred call. Press any key to take it."
SCREEN_TIMEOUT = 8  # seconds to press a key after the prompt


class TwiML(str):
    """A TwiML document built here by twilio's builders: a ``<Response>`` root, well-formed by construction
    (ElementTree serialises it and escapes every text node).

    Only this module makes one.  A webhook's last check (``webhooks.never_fails``) takes it as valid without
    parsing it again (~20-50 µs a webhook); any other string (an answer read back from Redis for a retried
    turn, a view's own text) is still parsed.
    """

    __slots__ = ()


_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def _document(response: VoiceResponse | MessagingResponse) -> TwiML:
    """``str(response)``, serialised without the byte round trip: twilio's ``to_xml`` has ElementTree write
    UTF-8 bytes through a codec writer and decodes them again (a third of rendering a prompt); written as text,
    the same element tree gives the same characters (UTF-8 escapes nothing that text would not)."""
    return TwiML(_DECLARATION + ET.tostring(response.xml(), encoding="unicode"))


@dataclass(frozen=True)
class CallUrls:
    """Where Twilio should post the next request of this call (absolute URLs)."""

    gather: str
    no_input: str
    recorded: str
    recording_status: str
    dialed: str
    paid: str = ""
    audio: str = ""  # base URL for audio files shipped in flows/audio/
    screen: str = ""  # the whisper each dialled number hears before it is connected (empty: none)

    def audio_url(self, name: str) -> str:
        """Absolute URL for a play step: https URLs as written, file names under our audio route."""
        return name if name.startswith("https://") else f"{self.audio}/{name}"


def render(effects: Iterable[fx.Effect], urls: CallUrls) -> TwiML:
    """Build the TwiML document for the voice effects of one engine step."""
    response = VoiceResponse()
    for effect in fx.barge_in(list(effects)):
        match effect:
            case fx.Say():
                _say(response, effect)
            case fx.Play():
                response.play(urls.audio_url(effect.url))
            case fx.Gather():
                _gather(response, effect, urls)
            case fx.Record():
                response.record(action=urls.recorded, method="POST", max_length=effect.max_length, play_beep=True,
                                finish_on_key=effect.finish_on_key, timeout=5,
                                recording_status_callback=urls.recording_status,
                                recording_status_callback_method="POST")
                # Twilio skips the action URL when nothing was recorded and falls through.
                response.redirect(urls.recorded, method="POST")
            case fx.Dial():
                dial = response.dial(action=urls.dialed, method="POST", timeout=effect.timeout)
                for number in effect.numbers:
                    # Screened: the callee hears the whisper first; only a key press connects (see screen()).
                    if urls.screen:
                        dial.number(number, url=urls.screen, method="POST")
                    else:
                        dial.number(number)
            case fx.Pay():
                # Tokenise only (charge 0): the processor keeps the card, we keep a token reference.
                response.pay(action=urls.paid, payment_connector=effect.connector, token_type="reusable",
                             charge_amount="0", description=effect.description, timeout=effect.timeout,
                             max_attempts=effect.max_attempts, security_code=True, postal_code=False)
            case fx.Hangup():
                response.hangup()
            case fx.Invoke() | fx.SendSms() | fx.Escalate():
                pass  # not heard: run in-process (Invoke) or through the outbox (texts, escalations)
            case _:
                assert_never(effect)
    return _document(response)


def _say(parent: VoiceResponse | GatherVerb, effect: fx.Say) -> None:
    kwargs = {}
    if effect.voice:
        kwargs["voice"] = effect.voice
    if effect.language:
        kwargs["language"] = effect.language
    parent.say(effect.text, **kwargs)


SPEECH_TIMEOUT_SECONDS = 2  # silence after speech that ends a spoken answer, when a speechModel is set


def _gather(response: VoiceResponse, effect: fx.Gather, urls: CallUrls) -> None:
    kwargs = {
        "action": urls.gather + ("&" if "?" in urls.gather else "?") + "early=1" if effect.early else urls.gather,
        "method": "POST",
        "input": "dtmf speech" if effect.speech else "dtmf",
        "timeout": effect.timeout,
    }
    if effect.num_digits:
        kwargs["num_digits"] = effect.num_digits
    if effect.finish_on_key is not None:
        kwargs["finish_on_key"] = effect.finish_on_key  # "": no finish key, "#" is a key like the others
    if effect.speech:
        # Twilio (warning 13335): with a speechModel set, speechTimeout must be a positive integer; "auto"
        # only when Twilio picks the model.
        kwargs["speech_timeout"] = str(SPEECH_TIMEOUT_SECONDS) if effect.speech_model else "auto"
        if effect.hints:
            kwargs["hints"] = ", ".join(dict.fromkeys(effect.hints))
        if effect.language:
            kwargs["language"] = effect.language
        if effect.speech_model:
            kwargs["speech_model"] = effect.speech_model
        if effect.enhanced:
            kwargs["enhanced"] = True
    gather = response.gather(**kwargs)
    for prompt in effect.prompts:
        if isinstance(prompt, fx.Say):
            _say(gather, prompt)
        else:
            gather.play(urls.audio_url(prompt.url))
    # Twilio falls through to the next verb when the caller says nothing: our no-input webhook, or, for
    # a prompt before a <Record> (effects.prompt_keys), that verb itself.
    if not effect.falls_through:
        response.redirect(urls.no_input, method="POST")


def apology(voicemail_action: str | None, transfer_to: Iterable[str] = (), guidance: str | None = None,
            recording_status: str | None = None) -> str:
    """The answer to any request we could not handle: apologise, then a person or voicemail."""
    response = VoiceResponse()
    response.say(APOLOGY)
    if guidance:
        response.say(guidance)
    numbers = list(transfer_to)
    if numbers:
        response.say("Let me connect you with someone.")
        dial = response.dial(timeout=20, action=voicemail_action and voicemail_action + "?after=dial", method="POST")
        for number in numbers:
            dial.number(number)
        return _document(response)
    _voicemail(response, voicemail_action, recording_status)
    return _document(response)


def voicemail_after_dial(voicemail_action: str, recording_status: str | None) -> TwiML:
    """Nobody answered the fallback transfer: take a message."""
    response = VoiceResponse()
    _voicemail(response, voicemail_action, recording_status)
    return _document(response)


def _voicemail(response: VoiceResponse, action: str | None, recording_status: str | None) -> None:
    response.say(VOICEMAIL_OFFER)
    kwargs = {"max_length": 120, "play_beep": True, "finish_on_key": "#"}
    if action:
        kwargs.update(action=action, method="POST")
    if recording_status:
        kwargs.update(recording_status_callback=recording_status, recording_status_callback_method="POST")
    response.record(**kwargs)
    response.say(THANKS)
    response.hangup()


def screen(accept_url: str, voice: str | None = None, language: str | None = None) -> TwiML:
    """The whisper on a transferred call's staff leg (Twilio runs ``<Number url>`` there before connecting).

    A key press posts to ``accept_url``, which records the acceptance and connects
    (:func:`screen_accepted`); no key (a voicemail greeting, a person who does not
    want it) hangs up the staff leg, so the transfer counts as not answered.
    """
    response = VoiceResponse()
    gather = response.gather(action=accept_url, method="POST", input="dtmf", num_digits=1, timeout=SCREEN_TIMEOUT)
    gather.say(SCREEN_PROMPT, **_voice_kwargs(voice, language))
    response.hangup()
    return _document(response)


def screen_accepted() -> TwiML:
    """The staff member pressed a key: an empty document, so Twilio connects the two calls."""
    return _document(VoiceResponse())


def _voice_kwargs(voice: str | None, language: str | None) -> dict[str, str]:
    return {k: v for k, v in (("voice", voice), ("language", language)) if v}


def thanks() -> TwiML:
    """After a fallback voicemail: thank and hang up."""
    response = VoiceResponse()
    response.say(THANKS)
    response.hangup()
    return _document(response)


@cache  # the same document every time: built once per process (every status callback and late request asks)
def hangup() -> TwiML:
    """Just end the call."""
    response = VoiceResponse()
    response.hangup()
    return _document(response)


@cache
def acknowledge() -> TwiML:
    """An empty ``<Response/>``: the answer to a status callback (Twilio runs nothing from it; never an empty body)."""
    return _document(VoiceResponse())


@cache
def sms_nothing() -> TwiML:
    """An empty messaging answer: we send no reply (Twilio has already answered a keyword)."""
    return _document(MessagingResponse())


def sms_reply(text: str = SMS_AUTO_REPLY) -> TwiML:
    """TwiML answering an inbound text."""
    response = MessagingResponse()
    response.message(text)
    return _document(response)


def say_then_hangup(words: Iterable[str], voice: str | None = None, language: str | None = None) -> TwiML:
    """Outbound calls: say each of ``words`` (a voicemail, the neutral words) and hang up."""
    response = VoiceResponse()
    for text in words:
        if text:
            response.say(text, **_voice_kwargs(voice, language))
    response.hangup()
    return _document(response)


def wait_for_answer(seconds: int = 2) -> TwiML:
    """An outbound call's first document: a short pause while answering-machine detection listens on
    (async AMD: the call is connected at once), then the action URL is asked again."""
    response = VoiceResponse()
    response.pause(length=seconds)
    return _document(response)
