"""Twilio's voice webhooks.  Each route: verify, translate the form into an event, hand it on.

Every failure after the signature check still answers with valid TwiML that
apologises and takes a message, so no caller ever hears Twilio's "an
application error has occurred"; and no voice route ever answers an empty or
invalid body (a request after the call ended gets ``<Response><Hangup/></Response>``).
"""
from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from functools import wraps

from flask import Blueprint, Response, abort, current_app, request
from redis.exceptions import RedisError

from ivr.core.escalation_policy import SYSTEM_ERROR
from ivr.core.events import (
    CallStarted,
    DialFinished,
    Digits,
    Event,
    NoInput,
    PaymentFinished,
    RecordingFinished,
    Speech,
)
from ivr.core.phone_numbers import normalise
from ivr.practice import opt_outs
from ivr.telephony import screening, twiml

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/twilio")

def _ql():
    return current_app.extensions["quietline"]


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/xml")


def _ack(status: int = 200) -> Response:
    """What a status callback gets: an empty ``<Response/>`` (Twilio ignores it), never an empty body."""
    return _xml(twiml.acknowledge(), status)


@bp.before_request
def verify_signature() -> None:
    """Refuse anything Twilio did not sign; forged requests change nothing."""
    ql = _ql()
    query = request.query_string.decode("latin-1")
    if not ql.signatures.valid(request.path, query, request.form, request.headers.get("X-Twilio-Signature")):
        log.warning("refused unsigned or forged request to %s", request.path)
        abort(403)


def _apology() -> str:
    """TwiML for when we failed: apologise, read the emergency guidance, take a message.

    Reads only what is already in memory: an error path must not touch the flow files or Redis.
    """
    ql = _ql()
    return twiml.apology(ql.public_url("fallback_voicemail"), guidance=ql.last_guidance,
                         recording_status=ql.public_url("recording_status"))


def _is_twiml(body: str | None) -> bool:
    """A voice answer Twilio can run: a ``<Response>`` document.

    One the builders made (``twiml.TwiML``) is one by construction; anything else is parsed.
    """
    if isinstance(body, twiml.TwiML):
        return True
    if not body or not body.strip():
        return False
    try:
        return ET.fromstring(body.strip()).tag == "Response"
    except ET.ParseError:
        return False


def never_fails(view: Callable[..., str]) -> Callable[..., Response]:
    """Turn any exception into an apology with voicemail, never a 500 or a redirect; and an empty or
    invalid answer into ``<Hangup/>`` (Twilio would call it an application error)."""

    @wraps(view)
    def wrapper(*args, **kwargs) -> Response:
        try:
            body = view(*args, **kwargs)
            if not _is_twiml(body):
                log.error("webhook %s produced no valid TwiML; answered with a hangup", request.path)
                body = twiml.hangup()
            return _xml(body)
        except Exception as exc:
            if isinstance(exc, RedisError):
                # One line per webhook: during an outage a traceback each would bury everything else.
                log.error("webhook %s: Redis unavailable (%s); answered with the apology", request.path,
                          type(exc).__name__)
            else:
                log.exception("webhook %s failed; answered with the apology", request.path)
            call_sid = request.form.get("CallSid", "")
            try:
                # The apology promises a callback to whoever leaves a message: staff hear of it now.
                # Redis down or hung (a timeout, or the breaker open): another try would only wait again.
                if call_sid and not isinstance(exc, RedisError):
                    _ql().calls.escalate_now(call_sid, SYSTEM_ERROR)
            except Exception:
                log.warning("could not enqueue the system_error escalation")
            return _xml(_apology())

    return wrapper


def _number(source: Mapping[str, str], name: str, kind: type[int] | type[float]) -> int | float:
    """A numeric Twilio parameter; missing or malformed counts as 0 (a webhook never fails on it)."""
    try:
        return kind(source.get(name) or 0)
    except ValueError:
        return kind(0)


def _confidence(source: Mapping[str, str]) -> float | None:
    """Twilio's speech ``Confidence`` (0.0–1.0); None when missing, not a number, NaN, infinite or out of range.

    None counts as no match: only a confidence Twilio really gave can make speech count.
    """
    try:
        value = float(source.get("Confidence", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def _turn() -> int:
    return int(_number(request.args, "turn", int))


def _handle(event: Event) -> str:
    ql = _ql()
    form = request.form
    call_sid = form.get("CallSid", "")
    if not call_sid:
        raise ValueError("request without CallSid")
    return ql.calls.handle(call_sid, form.get("From"), _turn(), event)


@bp.post("/voice")
@never_fails
def voice() -> str:
    """The number's incoming-call URL; also an answered outbound call's (``?touch=<job id>``), and a pool
    number's (someone calling back): those start in their own flows (``Services.outbound.call_start``)."""
    ql = _ql()
    form = request.form
    call_sid = form.get("CallSid", "")
    if not call_sid:
        raise ValueError("request without CallSid")
    region = ql.flows.current().practice.phone_region
    touch = request.args.get("touch")
    try:
        start = ql.outbound.call_start(touch=touch, call_sid=call_sid, to=normalise(form.get("To"), region),
                                       from_=normalise(form.get("From"), region))
    except Exception:
        if touch:
            raise  # an outbound call: the apology (never_fails) rather than a conversation we cannot place
        # The practice's line must not depend on the outbound rules or the database: the main menu.
        log.warning("could not tell whether call %s is to a pool number; the entry flow answers it", call_sid,
                    exc_info=True)
        start = None
    if start is not None and not start.flow:
        return twiml.hangup()  # a touch this call does not belong to
    # An outbound call's far end is its To: the number the conversation verifies against.
    far_end = form.get("To") if touch else form.get("From")
    return ql.calls.handle(call_sid, far_end, _turn(), CallStarted(), start)


@bp.post("/voice/input")
@never_fails
def gather_input() -> str:
    """A <Gather> finished with keys or speech (or nothing)."""
    form = request.form
    event: Event
    if form.get("SpeechResult"):
        confidence = _confidence(form)
        event = Speech(form["SpeechResult"][:500], -1.0 if confidence is None else confidence)
    elif form.get("Digits"):
        event = Digits(form["Digits"][:32], early=request.args.get("early") == "1")
    else:
        event = NoInput()
    return _handle(event)


@bp.post("/voice/timeout")
@never_fails
def gather_timeout() -> str:
    """The caller said and pressed nothing; Twilio fell through to our <Redirect>."""
    return _handle(NoInput())


@bp.post("/voice/recorded")
@never_fails
def recorded() -> str:
    """A <Record> finished."""
    form = request.form
    sid = form.get("RecordingSid") or None
    duration = int(_number(form, "RecordingDuration", int))
    key = form.get("Digits", "")
    return _handle(RecordingFinished(sid if form.get("RecordingUrl") else None, duration,
                                     digits=key if len(key) == 1 else ""))  # not "hangup"


@bp.post("/voice/dialed")
@never_fails
def dialed() -> str:
    """A <Dial> finished: answered and over, or nobody answered.

    Answered counts only when a person accepted the screen (ivr/telephony/screening.py): a staff
    phone's own voicemail picking up is no answer, and the flow goes on to voicemail.
    """
    form = request.form
    status = form.get("DialCallStatus", "failed")
    screened = screening.dial_status(_ql().redis, form.get("CallSid", ""), _turn(), status)
    if screened != status:
        log.info("call %s: the transfer was picked up but not accepted: no answer", form.get("CallSid", ""))
    return _handle(DialFinished(screened))


@bp.post("/voice/screen")
def screen() -> Response:
    """The whisper on a transferred call's staff leg (``<Number url>``): press a key to take the call.

    Needs neither Redis nor the flows to answer: only the practice's voice, when known.
    """
    voice = language = None
    try:
        practice = _ql().flows.last_good.practice
        voice, language = practice.voice, practice.language
    except Exception:  # no flows loaded: the whisper in the default voice still works
        pass
    return _xml(twiml.screen(_ql().public_url("screen_accept", _turn()), voice, language))


@bp.post("/voice/screen/accept")
def screen_accept() -> Response:
    """A key pressed on the staff leg: remember that a person took the call, then connect it."""
    form = request.form
    call_sid = form.get("ParentCallSid") or ""
    if not form.get("Digits") or not call_sid:
        return _xml(twiml.hangup())
    ql = _ql()
    try:
        screening.record_acceptance(ql.redis, call_sid, _turn(), ql.settings.session_ttl_seconds)
    except Exception:
        # Connect anyway: a person is on the line.  The caller's flow will count it as unanswered.
        log.exception("call %s: could not record that the transfer was accepted", call_sid)
    log.info("call %s: the transfer was accepted", call_sid)
    return _xml(twiml.screen_accepted())


@bp.post("/voice/paid")
@never_fails
def paid() -> str:
    """<Pay> finished.  Only the token and public card details are read; Twilio never sends the digits."""
    form = request.form
    masked = form.get("PaymentCardNumber", "")
    last4 = "".join(c for c in masked if c.isdigit())[-4:] or None
    return _handle(PaymentFinished(
        result=form.get("Result", "failed")[:60],
        token=(form.get("PaymentToken") or form.get("ProfileId") or None),
        brand=(form.get("PaymentCardType") or None),
        last4=last4,
        expiry=(form.get("ExpirationDate") or None),
    ))


def _recording_seconds(raw: str | None) -> float | None:
    """A callback's ``RecordingDuration`` as seconds; None when absent or not a positive number."""
    try:
        seconds = float(raw) if raw else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 < seconds < 86400 else None


@bp.post("/voice/recording-status")
def recording_status() -> Response:
    """A recording is ready at Twilio (or could not be made): note it, and copy it in the background, once.

    The note (a ``recordings`` row in the database) and the job (in Redis) each let the
    message be found again if the other is lost; unless the job is enqueued we answer
    503 so that Twilio tries this callback again.
    """
    form = request.form
    call_sid, recording_sid = form.get("CallSid", ""), form.get("RecordingSid", "")
    status = form.get("RecordingStatus", "completed")
    if not (call_sid and recording_sid) or status not in ("completed", "failed"):
        return _ack()
    ql = _ql()
    copied = False
    try:
        # Twilio's length (whole seconds): our copy is checked against it before Twilio's is deleted.
        ql.recordings.note(call_sid, recording_sid, ql.clock(), _recording_seconds(form.get("RecordingDuration")))
        if status == "failed":
            # Never over a good copy (``mark_failed`` leaves a copied recording as it is).
            copied = not ql.recordings.mark_failed(
                recording_sid, f"twilio: recording {status} ({form.get('ErrorCode', '-')})", ql.clock())
    except Exception:
        log.warning("could not note recording %s in the database; the job will", recording_sid, exc_info=True)
    if copied:
        # Callbacks come in any order: a ``failed`` one after our good copy changes nothing.
        log.warning("recording %s: Twilio reported it failed after we copied it; our copy stands", recording_sid)
        return _ack()
    try:
        # Also when Twilio reports it failed: the copying job decides, once, from whether the audio can be had
        # (a good copy wins whatever order the callbacks come in; none: a ``recording_failed`` escalation at once).
        ql.jobs.fetch_recording(call_sid, recording_sid)
    except Exception:
        # Twilio keeps the recording and retries this callback; say so with a 5xx.
        log.exception("could not enqueue the recording's job")
        return _ack(503)
    return _ack()


@bp.post("/status")
def status() -> Response:
    """Call status callback: the call ended."""
    form = request.form
    if form.get("CallSid") and form.get("CallStatus") in ("completed", "busy", "failed", "no-answer", "canceled"):
        try:
            _ql().calls.end(form["CallSid"], form["CallStatus"])
        except Exception:
            log.exception("status callback failed")
            return _ack(503)
    return _ack()


@bp.post("/sms")
def inbound_sms() -> Response:
    """A text to the practice number: a neutral auto-reply, except to Twilio's own keywords.

    Twilio answers STOP, START, HELP and their synonyms itself (``ivr.practice.opt_outs``):
    those get an empty answer, never a second reply, and STOP/START become the
    number's texting preference.  The body is never read into logs: it may be
    anything a client wrote.
    """
    form = request.form
    ql = _ql()
    region = ql.flows.last_good.practice.phone_region if ql.flows.last_good else "US"
    to = normalise(form.get("To"), region)
    if ql.outbound.is_pool_number(to):
        # A reply to a follow-up or reminder (ivr.contact.replies): opt-outs, confirm/change, or a person answers.
        sender = normalise(form.get("From"), region)
        if not sender:
            return _xml(twiml.sms_nothing())
        try:
            return _xml(ql.outbound.inbound_text(form.get("MessageSid", ""), sender, to, form.get("Body"),
                                                 form.get("OptOutType")))
        except Exception:
            log.exception("could not handle a reply to a pool number")
            return _xml(twiml.sms_nothing(), status=503)
    keyword = opt_outs.classify(form.get("Body"), form.get("OptOutType"))
    if keyword is None:
        log.info("inbound text answered with the auto-reply")
        return _xml(twiml.sms_reply())
    sender = normalise(form.get("From"), region)
    if sender and keyword is not opt_outs.Keyword.HELP:
        try:
            with ql.database.sessions() as db, db.begin():
                opt_outs.record(db, sender, keyword, ql.clock(),
                                source=f"text:{form.get('MessageSid', '')}"[:80])
        except Exception:
            # Twilio keeps its own block either way; a 5xx shows in its debugger so someone looks.
            log.exception("could not record an SMS %s", keyword.value)
            return _xml(twiml.sms_nothing(), status=503)
    log.info("inbound text was the %s keyword: Twilio replies, we record it", keyword.value)
    return _xml(twiml.sms_nothing())


@bp.post("/fallback")
def fallback() -> Response:
    """The number's fallback URL: Twilio calls it when the voice URL failed.  Works with Redis down."""
    return _xml(_apology())


@bp.post("/fallback/voicemail")
def fallback_voicemail() -> Response:
    """After the apology's voicemail (or its transfer)."""
    return _xml(twiml.thanks())
