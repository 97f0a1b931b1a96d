"""A simulated inbound phone call that behaves like Twilio, speaking only HTTP + TwiML.

The simulator places a call against a Quietline server exactly as Twilio would:
it signs every webhook with ``X-Twilio-Signature``, walks the returned TwiML
verb by verb, feeds caller input from a script (or a terminal), and finishes
with the call status callback.  It knows nothing of Quietline's internals, so
scenario tests driven by it exercise the same surface Twilio does.

Script grammar (``;``-separated tokens, whitespace around tokens ignored)::

    1  04151985  04151985#   keypad digits (0-9 * #)
    wait                     say nothing, press nothing
    say:reschedule           speech, confidence 0.92
    say:reschedule@0.30      speech with an explicit confidence (any number: say:yes@-0.5, say:yes@1.7)
    say:help@nan  say:help@none   speech whose Confidence is NaN, or missing from the request
    hangup                   the caller hangs up
    record  record:12        speak for 5 (or 12) seconds when recording
    record:12:9              speak for 12 seconds, then press 9 (ends the message if 9 is a finishOnKey)
    9 (before a record)      at a <Gather> that falls through to a <Record> (the prompt before the beep) or
                             a <Dial>/<Pay>, keys are pressed during the prompt; any other item (record…,
                             wait, hangup, answer…) is kept for that verb: the prompt was heard in silence
    early:9  early:say:help  pressed or said while the first of two <Gather>s in a row listens: a keypad-only
                             <Gather> (the emergency guidance, which speech never cuts off) that falls through
                             to a second one (the menu) when nothing is pressed.  Without ``early:`` a key or
                             any other item is the caller's answer at the second one, the first heard through;
                             ``early:say:…`` is speech the keypad-only <Gather> does not hear (lost, the
                             prompt plays on), as on Twilio
    answer noanswer busy failed   how a <Dial>ed party responds
    machine                  the <Dial>ed phone's own voicemail picks up
    decline                  a person picks up but does not take the call

A ``<Number url=…>`` (a screened transfer) is run on the called party's leg the way
Twilio does before connecting it: the URL is fetched, signed, with the leg's own
CallSid and ``ParentCallSid``, and its TwiML played to the called party, who is
scripted by the token: ``answer`` presses 1 at its ``<Gather>``, ``machine`` and
``decline`` press nothing (a voicemail greeting does not, a person may not).  A leg
that reaches ``<Hangup>`` is not connected; Twilio still reports the ``<Dial>`` as
``completed`` (the leg *was* answered), so the server must tell the two apart itself.
"""
from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from twilio.request_validator import RequestValidator

from ivr.exceptions import IvrError

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_CONFIDENCE = 0.92
DEFAULT_RECORD_SECONDS = 5
DEFAULT_MAX_REQUESTS = 200
API_VERSION = "2010-04-01"
TWILIO_API_BASE = "https://api.twilio.com"
# Twilio's own User-Agent on webhooks; some servers log or filter on it.
USER_AGENT = "TwilioProxy/1.1"

# Simulated clock: rough speaking rate for <Say>, and fixed costs of caller actions.
SPEECH_WORDS_PER_SECOND = 2.5
ANSWERED_DIAL_SECONDS = 30
GATHER_DEFAULT_TIMEOUT = 5
DIAL_DEFAULT_TIMEOUT = 30
RECORD_DEFAULT_MAX_LENGTH = 3600
RECORD_DEFAULT_FINISH_KEYS = "1234567890*#"

DIAL_TOKENS = ("answer", "noanswer", "busy", "failed", "machine", "decline")
DIAL_STATUS = {"answer": "completed", "noanswer": "no-answer", "busy": "busy", "failed": "failed",
               "machine": "completed", "decline": "completed"}
# Who picks up a screened leg, and whether they press a key at its whisper.
SCREEN_PRESSES = {"answer": "1", "machine": "", "decline": ""}
SCREEN_MAX_DOCUMENTS = 10
SIMPLE_TOKENS = ("wait", "hangup", "record") + DIAL_TOKENS
# Verbs whose script items a <Gather> just before them leaves alone (it takes keys only).
KEYS_ONLY_BEFORE = ("Record", "Dial", "Pay")
# Alias so scripts can use Twilio's own spelling of the status.
TOKEN_ALIASES = {"no-answer": "noanswer"}

_DIGITS_RE = re.compile(r"^[0-9*#]+$")
_RECORD_RE = re.compile(r"^record:(\d+)(?::([0-9*#]))?$", re.IGNORECASE)
_CARD_RE = re.compile(r"^card(?::(\d{12,19}))?(?::(\d{4}))?$", re.IGNORECASE)
CARD_BRANDS = {"4": "visa", "5": "mastercard", "3": "amex", "6": "discover"}


class SimulatorError(IvrError):
    """The simulated call cannot go on (flow loop, unreachable server)."""


class ScriptError(SimulatorError, ValueError):
    """A caller script token is not part of the grammar."""


# --------------------------------------------------------------------------- script


@dataclass(frozen=True)
class Token:
    """One thing the caller does at an input point."""

    kind: str  # "digits" | "say" | "wait" | "hangup" | "record" | a DIAL_TOKENS entry | "card"
    value: str = ""  # the digits, or the spoken text
    confidence: float | None = DEFAULT_CONFIDENCE  # None: Twilio sends no Confidence at all
    seconds: int = DEFAULT_RECORD_SECONDS
    # "early:": pressed (or said) during the first of two <Gather>s in a row, not at the second.
    early: bool = False

    def __str__(self) -> str:
        if self.early:
            return "early:" + str(replace(self, early=False))
        if self.kind == "digits":
            return self.value
        if self.kind == "say":
            return f"say:{self.value}@{'none' if self.confidence is None else f'{self.confidence:g}'}"
        if self.kind == "record":
            return f"record:{self.seconds}" + (f":{self.value}" if self.value else "")
        return self.kind


def parse_token(text: str) -> Token:
    """Parse one script token; raise ScriptError when it is not in the grammar."""
    raw = text.strip()
    if not raw:
        raise ScriptError("empty script token")
    low = raw.lower()
    low = TOKEN_ALIASES.get(low, low)
    if low.startswith("early:"):
        inner = parse_token(raw[6:])
        if inner.kind not in ("digits", "say") or inner.early:
            raise ScriptError(f"'{raw}': early: takes keys or say:<text>")
        return replace(inner, early=True)
    if _DIGITS_RE.match(raw):
        return Token("digits", raw)
    if low in SIMPLE_TOKENS:
        return Token(low)
    m = _RECORD_RE.match(raw)
    if m:
        return Token("record", m.group(2) or "", seconds=int(m.group(1)))
    if low.startswith("say:"):
        speech = raw[4:].strip()
        confidence: float | None = DEFAULT_CONFIDENCE
        head, sep, tail = speech.rpartition("@")
        if sep and tail.strip().lower() in ("nan", "none"):
            speech, confidence = head.strip(), (None if tail.strip().lower() == "none" else float("nan"))
        elif sep and tail and tail == tail.strip() and not head.endswith(" "):
            # Any number right after "@" is the Confidence sent, out of range too ("yes@-0.5", "yes@1.7"),
            # so tests can send what Twilio might; "meet @ noon" and "meet @ 5" stay text.
            try:
                speech, confidence = head.strip(), float(tail)
            except ValueError:
                pass
        if not speech:
            raise ScriptError(f"'{raw}': say: needs the words the caller speaks")
        return Token("say", speech, confidence=confidence)
    m = _CARD_RE.match(raw)
    if m:
        # The caller keys a card into Twilio <Pay>; only Twilio (and the processor) ever see the digits.
        number, expiry = m.group(1) or "4111111111111111", m.group(2) or "1230"
        return Token("card", f"{number}:{expiry}")
    if low in ("card:fail", "card:decline"):
        return Token("card", "fail")
    raise ScriptError(
        f"'{raw}' is not a script token (digits 0-9*#, wait, say:<text>[@conf], hangup, "
        "record[:seconds], answer, noanswer, busy, failed, machine, decline, card[:number[:MMYY]], card:fail)"
    )


def parse_script(script: str) -> list[Token]:
    """Split a ``;``-separated caller script into tokens; empty tokens are skipped."""
    return [parse_token(part) for part in (script or "").split(";") if part.strip()]


# --------------------------------------------------------------------------- transports


class Transport(Protocol):
    """Delivers one form-encoded webhook POST and returns (status code, body text)."""

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]: ...


class HttpTransport:
    """Real HTTP through ``requests`` to an absolute URL."""

    def __init__(self, timeout: float = 10):
        import requests  # only this transport needs it

        self.timeout = timeout
        self._requests = requests
        self._session = requests.Session()

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        """POST params form-encoded; connection failures raise SimulatorError."""
        try:
            # Redirects are not followed: a 3xx to a webhook is a server bug the tests should see.
            resp = self._session.post(
                url, data=params, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except self._requests.RequestException as exc:
            raise SimulatorError(f"could not reach {url}: {exc}") from exc
        return resp.status_code, resp.text


class FlaskTransport:
    """In-process delivery to a Flask test client; only path and query are used."""

    def __init__(self, client: Any):
        self.client = client

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        """POST path+query of url to the test client."""
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        resp = self.client.post(path, data=params, headers=headers)
        return resp.status_code, resp.get_data(as_text=True)


# --------------------------------------------------------------------------- results


@dataclass
class RequestLog:
    """One webhook the simulator sent, as Twilio would have (url is the public, signed URL)."""

    url: str
    params: dict[str, str]
    status: int
    body: str
    # "voice" | "action" | "redirect" | "status" | "recording-status" | "screen" (the called party's leg)
    purpose: str = ""


@dataclass
class CallResult:
    """Everything that happened on one simulated call."""

    call_sid: str
    transcript: list[tuple] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    requests: list[RequestLog] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    ended_by: str = ""  # "hangup-verb" | "caller" | "end-of-document" | "application-error" | "dial-completed"
    application_error: bool = False
    duration: int = 0  # simulated seconds, as reported in CallDuration

    def heard_text(self) -> str:
        """Every <Say> the caller heard, one per line."""
        return "\n".join(self.heard)

    @property
    def notes(self) -> list[str]:
        """Simulator remarks: ignored input, failed callbacks, unsupported attributes."""
        return [entry[1] for entry in self.transcript if entry[0] == "note"]

    def requests_for(self, purpose: str) -> list[RequestLog]:
        """The requests sent for one purpose, e.g. "action" or "status"."""
        return [r for r in self.requests if r.purpose == purpose]


# --------------------------------------------------------------------------- simulator


class CallSimulator:
    """Places simulated inbound calls against a server, like Twilio does.

    ``public_base_url`` is the URL the server believes it is reached at (signatures
    are computed over it); ``target_base_url`` is where requests are really sent.
    """

    def __init__(
        self,
        transport: Transport,
        auth_token: str,
        public_base_url: str,
        target_base_url: str | None = None,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        voice_path: str = "/twilio/voice",
        status_path: str | None = "/twilio/status",
        recording_url_base: str | None = None,
        out: Callable[[str], None] | None = None,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        on_recording: Callable[[str, str, int], None] | None = None,
    ):
        self.transport = transport
        self.validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url.rstrip("/")
        self.target_base_url = (target_base_url or public_base_url).rstrip("/")
        self.account_sid = account_sid
        self.voice_path = voice_path
        self.status_path = status_path
        self.recording_url_base = (recording_url_base or TWILIO_API_BASE).rstrip("/")
        self.out = out
        self.max_requests = max_requests
        # Called with (call_sid, recording_sid, seconds) when Twilio would have stored a recording,
        # so a Twilio stand-in can serve its audio to the service.
        self.on_recording = on_recording

    def call(
        self,
        from_: str = "+15551230001",
        to: str = "+15555550100",
        script: str = "",
        interactive: bool = False,
        input_fn: Callable[[str], str] = input,
    ) -> CallResult:
        """Place one call, play the caller script, and return what happened.

        When the script runs out at an input point the caller hangs up, unless
        ``interactive``: then each further input is read with ``input_fn("> ")``.
        """
        tokens = parse_script(script)
        return _Call(self, from_, to, tokens, interactive, input_fn).run()

    def public_url(self, path: str) -> str:
        """The public URL of a server path."""
        return self.public_base_url + path

    def deliver(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """Post one request Twilio would make outside a call's TwiML (a status or AMD callback, an outbound
        call's ``Url``), signed over the public ``url``; (status, body)."""
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params), "User-Agent": USER_AGENT}
        return self.transport.post(self.target_url(url), params, headers)

    def answer_outbound(self, callbacks: list[dict[str, Any]], script: str = "", interactive: bool = False,
                        input_fn: Callable[[str], str] = input) -> list[str]:
        """Deliver the callbacks of an outbound call the stand-in finished (``/_standin/calls/<sid>/finish``) and
        return what the far end heard: the words of every ``<Say>`` in the answers.  The call's ``Url`` (fetched
        first, as Twilio does on answer) is followed like an inbound call's TwiML, the far end answering its
        ``<Gather>``s from ``script`` (then ``input_fn`` when ``interactive``; else it hangs up).
        ClickException-free: SimulatorError when the app answers a callback with an error."""
        heard: list[str] = []
        if callbacks and callbacks[0]["params"].get("CallStatus") == "in-progress":
            answered, *callbacks = callbacks
            call = _Call(self, answered["params"].get("To", ""), answered["params"].get("From", ""),
                         parse_script(script), interactive, input_fn, common=dict(answered["params"]))
            result = call.run(_Fetch(answered["url"], {}, "answer"))
            if result.application_error:
                raise SimulatorError(f"the app did not answer {urlsplit(answered['url']).path} with TwiML")
            heard += result.heard
        for cb in callbacks:
            status, body = self.deliver(cb["url"], cb["params"])
            if status >= 400:
                raise SimulatorError(f"the app answered {status} to {urlsplit(cb['url']).path}")
            root = _parse_twiml(body)
            if root is not None:
                heard += [el.text or "" for el in root.iter("Say")]
        return heard

    def target_url(self, public_url: str) -> str:
        """Where a public URL is really sent; URLs of other hosts are left alone."""
        base = self.public_base_url
        if public_url == base or public_url.startswith((base + "/", base + "?")):
            return self.target_base_url + public_url[len(base):]
        return public_url


@dataclass
class _Fetch:
    """The next TwiML document to request."""

    url: str
    params: dict[str, str]
    purpose: str
    # Runs once the answer is in, before its TwiML is executed (the recording status callback).
    after: Callable[[], None] | None = None


class _Continue:
    """A verb finished and the document goes on with its next verb."""


_CONTINUE = _Continue()
# What a verb leaves behind: a request to make, _CONTINUE, or None when the call has ended.
_Outcome = _Fetch | _Continue | None


class _Call:
    """State of one call in progress; private so CallSimulator stays reusable."""

    def __init__(
        self,
        sim: CallSimulator,
        from_: str,
        to: str,
        tokens: list[Token],
        interactive: bool,
        input_fn: Callable[[str], str],
        common: dict[str, str] | None = None,
    ):
        self.sim = sim
        self.tokens: deque[Token] = deque(tokens)
        self.interactive = interactive
        self.input_fn = input_fn
        self.result = CallResult(call_sid=_sid("CA"))
        # Caller ID is passed through verbatim, including "Anonymous" and "" for blocked numbers.
        self.common = {
            "CallSid": self.result.call_sid,
            "AccountSid": sim.account_sid,
            "From": from_,
            "To": to,
            "Caller": from_,
            "Called": to,
            "Direction": "inbound",
            "ApiVersion": API_VERSION,
        }
        # An outbound call answered: Twilio's own parameters of that call (its SID, outbound-api); its status
        # callbacks come from the stand-in, not from here.
        self.outbound = common is not None
        if common is not None:
            self.common = {k: v for k, v in common.items() if k != "CallStatus"}
            self.result.call_sid = self.common.get("CallSid", self.result.call_sid)
        self.clock = 0.0
        self.sent = 0
        self.call_status = "ringing"

    # ---------------------------------------------------------------- plumbing

    def show(self, line: str) -> None:
        if self.sim.out is not None:
            self.sim.out(line)

    def log(self, *entry: Any) -> None:
        self.result.transcript.append(tuple(entry))

    def note(self, text: str) -> None:
        self.log("note", text)
        self.show(f"ℹ {text}")

    def post(self, url: str, params: dict[str, str], purpose: str) -> tuple[int, str]:
        """Sign and send one webhook; the signature always covers the public URL."""
        self.sent += 1
        if self.sent > self.sim.max_requests:
            raise SimulatorError(
                f"more than {self.sim.max_requests} webhook requests on call {self.result.call_sid}: "
                "the flow probably loops"
            )
        headers = {
            "X-Twilio-Signature": self.sim.validator.compute_signature(url, params),
            "User-Agent": USER_AGENT,
        }
        status, body = self.sim.transport.post(self.sim.target_url(url), params, headers)
        self.result.requests.append(RequestLog(url, dict(params), status, body, purpose))
        return status, body

    def fetch(self, step: _Fetch) -> ET.Element | None:
        """Request TwiML; None (and an application error) when the answer is not usable TwiML."""
        params = {**self.common, "CallStatus": self.call_status, **step.params}
        status, body = self.post(step.url, params, step.purpose)
        self.call_status = "in-progress"
        root = _parse_twiml(body) if 200 <= status < 300 else None
        if root is None:
            self.application_error(status)
            return None
        self.result.documents.append(body)
        return root

    def application_error(self, status: int) -> None:
        # What Twilio does: apologise, hang up, and report the call completed.
        self.log("application-error", status)
        self.show(f"⚠ application error (HTTP {status}): Twilio says 'an application error has occurred' and hangs up")
        self.result.application_error = True
        self.end("application-error")

    def end(self, reason: str) -> None:
        if not self.result.ended_by:
            self.result.ended_by = reason

    def next_token(self, prompt_hint: str) -> Token | None:
        """The caller's next input, or None when they have nothing left (they hang up)."""
        if self.tokens:
            return self.tokens.popleft()
        if not self.interactive:
            return None
        while True:
            self.show(prompt_hint)
            try:
                line = self.input_fn("> ")
            except (EOFError, KeyboardInterrupt):
                return Token("hangup")
            if not line.strip():
                return Token("wait")  # Enter alone = let the timeout run out
            try:
                return parse_token(line)
            except ScriptError as exc:
                self.show(f"ℹ {exc}")

    def peek_token(self, prompt_hint: str) -> Token | None:
        tok = self.next_token(prompt_hint)
        if tok is not None:
            self.tokens.appendleft(tok)
        return tok

    # ---------------------------------------------------------------- the call

    def run(self, first: _Fetch | None = None) -> CallResult:
        step: _Fetch | None = first or _Fetch(self.sim.public_url(self.sim.voice_path), {}, "voice")
        while step is not None:
            root = self.fetch(step)
            if step.after is not None:
                step.after()
            if root is None:
                break
            step = self.run_document(root, step.url)
        self.result.duration = max(1, round(self.clock))
        self.show(f"📴 call ended ({self.result.ended_by}, {self.result.duration}s)")
        self.send_status_callback()
        return self.result

    def send_status_callback(self) -> None:
        if not self.sim.status_path or self.outbound:
            return
        params = {**self.common, "CallStatus": "completed", "CallDuration": str(self.result.duration)}
        status, _ = self.post(self.sim.public_url(self.sim.status_path), params, "status")
        if not 200 <= status < 300:
            self.note(f"status callback answered HTTP {status}")

    def run_document(self, root: ET.Element, doc_url: str) -> _Fetch | None:
        """Execute the verbs of one document; return the next request, or None when the call ended."""
        verbs = list(root)
        for index, verb in enumerate(verbs):
            tag = verb.tag
            if tag in ("Say", "Play", "Pause"):
                self.play(verb)
            elif tag == "Gather":
                following = verbs[index + 1].tag if index + 1 < len(verbs) else ""
                outcome = self.gather(verb, doc_url, keys_only=following in KEYS_ONLY_BEFORE,
                                      before_gather=following == "Gather")
                if outcome is not _CONTINUE:
                    return outcome
            elif tag == "Redirect":
                target = (verb.text or "").strip()
                self.check_method(verb, "Redirect")
                if not target:
                    # Twilio rejects a <Redirect> without a URL as invalid TwiML.
                    self.note("<Redirect> without a URL")
                    self.application_error(200)
                    return None
                return _Fetch(urljoin(doc_url, target), {}, "redirect")
            elif tag == "Record":
                outcome = self.record(verb, doc_url)
                if outcome is not _CONTINUE:
                    return outcome
            elif tag == "Dial":
                outcome = self.dial(verb, doc_url)
                if outcome is not _CONTINUE:
                    return outcome
            elif tag == "Pay":
                outcome = self.pay(verb, doc_url)
                if outcome is not _CONTINUE:
                    return outcome
            elif tag in ("Hangup", "Reject"):
                if tag == "Reject":
                    self.log("reject", verb.get("reason", "rejected"))
                else:
                    self.log("hangup")
                self.show("📴 the receptionist hangs up")
                self.end("hangup-verb")
                return None
            else:
                self.log("unsupported", tag)
                self.note(f"<{tag}> is not simulated; skipped")
        # Twilio hangs up when a document runs out of verbs.
        self.end("end-of-document")
        return None

    def check_method(self, verb: ET.Element, name: str) -> str:
        method = (verb.get("method") or "POST").upper()
        if method != "POST":
            self.note(f"<{name} method=\"{method}\"> simulated as POST")
        return method

    # ---------------------------------------------------------------- verbs

    def play(self, verb: ET.Element) -> None:
        """Say / Play / Pause: things the caller only listens to."""
        loops = _int_attr(verb, "loop", 1)
        if loops == 0:
            # Twilio repeats loop=0 until the call ends or input interrupts; once is enough here.
            self.note(f"<{verb.tag} loop=\"0\"> heard once")
        for _ in range(max(1, loops) if verb.tag != "Pause" else 1):
            if verb.tag == "Say":
                text = " ".join("".join(verb.itertext()).split())
                self.log("say", text)
                self.result.heard.append(text)
                self.show(f"🔊 {text}")
                self.clock += max(1.0, len(text.split()) / SPEECH_WORDS_PER_SECOND)
            elif verb.tag == "Play":
                url = (verb.text or "").strip()
                self.log("play", url)
                self.show(f"🎵 (audio) {url}" if url else "🎵 (tones)")
                self.clock += 3
            else:
                seconds = _int_attr(verb, "length", 1)
                self.log("pause", seconds)
                self.show(f"… ({seconds}s pause)")
                self.clock += seconds

    def gather(self, verb: ET.Element, doc_url: str, keys_only: bool = False,
               before_gather: bool = False) -> _Outcome:
        """Play the prompts, then take the caller's next script item as Twilio's answer to this <Gather>.

        ``keys_only``: the <Gather> is followed by a verb with script items of its own (a voicemail prompt
        before the <Record>'s beep, an offer before a <Dial>).  Only keys are taken here; anything else is
        left for that verb, as silence through the prompt.
        ``before_gather``: another <Gather> follows.  A key goes to the gather listening when it is pressed:
        here only the items marked ``early:``; anything else is left for the next one (this one heard through,
        then Twilio falls through to it, as it does with no ``actionOnEmptyResult``).
        """
        for child in verb:
            if child.tag in ("Say", "Play", "Pause"):
                self.play(child)
            else:
                self.log("unsupported", child.tag)
                self.note(f"<{child.tag}> inside <Gather> is not allowed by Twilio; skipped")
        self.check_method(verb, "Gather")
        modes = set((verb.get("input") or "dtmf").lower().split())
        wants = " or ".join(w for w, m in (("keypad", "dtmf"), ("speech", "speech")) if m in modes)
        timeout = _int_attr(verb, "timeout", GATHER_DEFAULT_TIMEOUT)
        action = urljoin(doc_url, verb.get("action") or doc_url)

        self.show(f"⏳ (waiting for {wants or 'input'})")
        if before_gather:
            ahead = self.peek_token("   early:<keys> (during this prompt), or what you do at the next one")
            if ahead is None or not ahead.early:
                return self.gather_silence(verb, action, timeout)
        elif keys_only:
            ahead = self.peek_token("   digits (during the prompt), or record[:seconds], wait, hangup")
            if ahead is None or ahead.kind != "digits":
                return self.gather_silence(verb, action, timeout)
        tok = self.next_token("   digits, say:<text>[@confidence], wait, hangup")
        if tok is None or tok.kind == "hangup":
            return self.caller_hangs_up()
        if tok.early and not before_gather:
            self.note(f"'{tok}': no second <Gather> follows; taken at this one")

        params: dict[str, str] = {}
        if tok.kind == "digits":
            if "dtmf" not in modes:
                self.note(f"keys '{tok.value}' ignored: this <Gather> only listens for speech")
            else:
                params = self.collect_digits(verb, tok.value, timeout)
        elif tok.kind == "say":
            if "speech" not in modes:
                self.note(f"speech '{tok.value}' ignored: this <Gather> only listens for the keypad")
            else:
                self.log("speech", tok.value, tok.confidence)
                self.show(f"👤 \"{tok.value}\"")
                self.clock += max(1.0, len(tok.value.split()) / SPEECH_WORDS_PER_SECOND)
                params = {"SpeechResult": tok.value}
                if tok.confidence is not None:
                    params["Confidence"] = _confidence(tok.confidence)
        elif tok.kind != "wait":
            self.note(f"'{tok}' is no answer to <Gather>; treated as silence")

        if params:
            return _Fetch(action, params, "action")
        return self.gather_silence(verb, action, timeout)

    def gather_silence(self, verb: ET.Element, action: str, timeout: int) -> _Outcome:
        """Nothing pressed or said: Twilio waits out the timeout, then goes on with the next verb
        (or posts an empty result to the action when actionOnEmptyResult is true)."""
        self.log("silence")
        self.show("👤 (silence)")
        self.clock += timeout
        if (verb.get("actionOnEmptyResult") or "").lower() == "true":
            return _Fetch(action, {}, "action")
        return _CONTINUE

    def collect_digits(self, verb: ET.Element, keys: str, timeout: int) -> dict[str, str]:
        """Press keys one by one, stopping like Twilio at finishOnKey or numDigits."""
        finish = verb.get("finishOnKey", "#")
        num_digits = _int_attr(verb, "numDigits", 0)
        digits, finished_on = "", ""
        pressed = 0
        for key in keys:
            pressed += 1
            if finish and key in finish:
                finished_on = key
                break
            digits += key
            if num_digits and len(digits) >= num_digits:
                break
        if pressed < len(keys):
            self.note(f"keys '{keys[pressed:]}' pressed after <Gather> had finished; ignored")
        complete = bool(finished_on) or (num_digits > 0 and len(digits) >= num_digits)
        # Without a finish key or a full numDigits, Twilio waits out the timeout before posting.
        self.clock += pressed * 0.5 + (0 if complete else timeout)
        if not digits:
            # Twilio treats a lone finish key as no input at all.
            return {}
        self.log("digits", digits)
        self.show(f"👤 presses {digits}{finished_on}")
        params = {"Digits": digits}
        if finished_on:
            params["FinishedOnKey"] = finished_on
        return params

    def record(self, verb: ET.Element, doc_url: str) -> _Outcome:
        self.check_method(verb, "Record")
        action = urljoin(doc_url, verb.get("action") or doc_url)
        max_length = _int_attr(verb, "maxLength", RECORD_DEFAULT_MAX_LENGTH) or RECORD_DEFAULT_MAX_LENGTH
        finish = verb.get("finishOnKey", RECORD_DEFAULT_FINISH_KEYS)
        if (verb.get("playBeep") or "true").lower() != "false":
            self.log("beep")
        self.show("🔴 (recording after the beep)")
        tok = self.next_token("   record[:seconds], wait, hangup")

        if tok is None:
            tok = Token("hangup")  # out of script: the caller hangs up mid-message, like an explicit hangup
        if tok.kind not in ("record", "hangup"):
            if tok.kind != "wait":
                self.note(f"'{tok}' is no answer to <Record>; treated as silence")
            # Documented Twilio behaviour: an empty recording makes no request to action;
            # the call goes on with the next verb of the current document.
            self.log("silence")
            self.show("👤 (silence: nothing recorded)")
            self.clock += _int_attr(verb, "timeout", GATHER_DEFAULT_TIMEOUT)
            return _CONTINUE

        seconds = min(tok.seconds, max_length)
        self.clock += seconds
        rec_sid = _sid("RE")
        rec_url = f"{self.sim.recording_url_base}/{API_VERSION}/Accounts/{self.sim.account_sid}/Recordings/{rec_sid}"
        self.log("record", seconds)
        params = {"RecordingUrl": rec_url, "RecordingSid": rec_sid, "RecordingDuration": str(seconds)}
        if self.sim.on_recording is not None:
            self.sim.on_recording(self.result.call_sid, rec_sid, seconds)
        if tok.kind == "hangup":
            self.show(f"👤 speaks for {seconds}s, then hangs up")
            params["Digits"] = "hangup"
        else:
            self.show(f"👤 speaks for {seconds}s")
            key = "#" if "#" in finish else finish[:1]
            if tok.value and tok.value not in finish:
                self.note(f"key '{tok.value}' pressed while recording is not a finishOnKey; ignored")
            elif tok.value:
                key = tok.value
            if key and seconds < max_length:
                params["Digits"] = key
        callback = verb.get("recordingStatusCallback")

        if tok.kind == "hangup":
            # Twilio still reports the recording, but nobody is left to hear the answer.
            self.log("caller-hangup")
            status, _ = self.post(action, {**self.common, "CallStatus": "completed", **params}, "action")
            if not 200 <= status < 300:
                self.note(f"record action after hangup answered HTTP {status}")
            self.recording_callback(callback, doc_url, params)
            self.end("caller")
            return None

        # Twilio sends the recording callback later, asynchronously; after the action answer is realistic.
        return _Fetch(action, params, "action", after=lambda: self.recording_callback(callback, doc_url, params))

    def recording_callback(self, callback: str | None, doc_url: str, rec: dict[str, str]) -> None:
        if not callback:
            return
        params = {
            "AccountSid": self.sim.account_sid,
            "CallSid": self.result.call_sid,
            "RecordingSid": rec["RecordingSid"],
            "RecordingUrl": rec["RecordingUrl"],
            "RecordingStatus": "completed",
            "RecordingDuration": rec["RecordingDuration"],
            "RecordingChannels": "1",
            "RecordingSource": "RecordVerb",
        }
        status, _ = self.post(urljoin(doc_url, callback), params, "recording-status")
        if not 200 <= status < 300:
            self.note(f"recordingStatusCallback answered HTTP {status}")

    def dial(self, verb: ET.Element, doc_url: str) -> _Outcome:
        numbers = [(c.text or "").strip() for c in verb] or [(verb.text or "").strip()]
        self.log("dial", numbers)
        # Only the last digits on screen: the full numbers stay in the transcript.
        shown = ", ".join("…" + n[-4:] if len(n) > 4 else "…" for n in numbers)
        self.show(f"☎ dialling {shown}")
        tok = self.peek_token("   answer, noanswer, busy, failed, machine, decline, hangup")
        if tok is not None and tok.kind == "hangup":
            self.tokens.popleft()
            return self.caller_hangs_up()
        if tok is not None and tok.kind in DIAL_TOKENS:
            self.tokens.popleft()
            outcome = tok.kind
        else:
            # Anything else belongs to a later input point: the far end simply doesn't pick up.
            outcome = "noanswer"
        status = DIAL_STATUS[outcome]
        connected = status == "completed"
        if connected:
            # The first number picks up; a screened one hears its whisper before anything is connected.
            first = next((c for c in verb if c.tag == "Number"), None)
            screen_url = first.get("url") if first is not None else None
            if screen_url:
                connected = self.screen_leg(urljoin(doc_url, screen_url), numbers[0], outcome)
        self.log("dial-status", status)
        if outcome == "machine":
            self.show("☎ a voicemail greeting picks up" + (": the caller is connected to it" if connected else
                                                           ", presses nothing and is hung up"))
        elif connected:
            self.show("☎ answered")
        else:
            self.show("☎ picked up, but the call was not taken" if status == "completed" else f"☎ {status}")
        self.clock += ANSWERED_DIAL_SECONDS if connected else _int_attr(verb, "timeout", DIAL_DEFAULT_TIMEOUT)
        action = verb.get("action")
        if action:
            self.check_method(verb, "Dial")
            params = {
                "DialCallStatus": status,
                "DialCallSid": _sid("CA"),
                "DialCallDuration": str(ANSWERED_DIAL_SECONDS if connected else 0),
            }
            return _Fetch(urljoin(doc_url, action), params, "action")
        if connected:
            self.end("dial-completed")
            return None
        return _CONTINUE

    def screen_leg(self, url: str, number: str, outcome: str) -> bool:
        """Run ``<Number url>`` TwiML on the called party's leg, as Twilio does before connecting it.

        Returns True when the leg is connected to the caller (its document ran out without
        ``<Hangup>``), False when it hung up (or the screen URL failed, which Twilio treats
        the same: the called party is dropped).
        """
        leg = {
            "AccountSid": self.sim.account_sid, "CallSid": _sid("CA"), "ParentCallSid": self.result.call_sid,
            "From": self.common["From"], "To": number, "Caller": self.common["From"], "Called": number,
            "Direction": "outbound-dial", "ApiVersion": API_VERSION, "CallStatus": "in-progress",
        }
        press = SCREEN_PRESSES.get(outcome, "")
        fetch: _Fetch | None = _Fetch(url, {}, "screen")
        for _ in range(SCREEN_MAX_DOCUMENTS):
            if fetch is None:
                return True
            status, body = self.post(fetch.url, {**leg, **fetch.params}, "screen")
            root = _parse_twiml(body) if 200 <= status < 300 else None
            if root is None:
                self.note(f"screen URL answered HTTP {status} without TwiML: the called party is dropped")
                self.log("screen", "error")
                return False
            fetch, hung_up = self._run_leg_document(root, fetch.url, press)
            if hung_up:
                self.log("screen", "hung-up")
                return False
            if fetch is not None:
                press = ""  # the key was pressed once; a second prompt gets silence
        self.note("screen TwiML kept redirecting: the called party is dropped")
        return False

    def _run_leg_document(self, root: ET.Element, doc_url: str, press: str) -> tuple[_Fetch | None, bool]:
        """Play one document to the called party: (the next request, whether the leg hung up)."""
        for verb in root:
            if verb.tag == "Say":
                text = " ".join("".join(verb.itertext()).split())
                self.log("whisper", text)
                self.show(f"   (to the called party) 🔊 {text}")
            elif verb.tag == "Gather":
                for child in verb:
                    if child.tag == "Say":
                        text = " ".join("".join(child.itertext()).split())
                        self.log("whisper", text)
                        self.show(f"   (to the called party) 🔊 {text}")
                action = urljoin(doc_url, verb.get("action") or doc_url)
                if press:
                    self.log("screen", "accepted")
                    self.show(f"   (the called party presses {press})")
                    return _Fetch(action, {"Digits": press}, "screen"), False
                self.log("screen", "no-key")
                if (verb.get("actionOnEmptyResult") or "").lower() == "true":
                    return _Fetch(action, {}, "screen"), False
            elif verb.tag == "Redirect":
                return _Fetch(urljoin(doc_url, (verb.text or "").strip()), {}, "screen"), False
            elif verb.tag in ("Hangup", "Reject"):
                self.show("   (the called party's leg is hung up)")
                return None, True
            elif verb.tag not in ("Play", "Pause"):
                self.note(f"<{verb.tag}> on the called party's leg is not simulated; skipped")
        self.log("screen", "connected")
        return None, False

    def pay(self, verb: ET.Element, doc_url: str) -> _Outcome:
        """Twilio <Pay>: Twilio prompts for the card itself and tells the action URL only the result."""
        self.log("pay", verb.get("chargeAmount", ""), verb.get("tokenType", ""))
        self.show("💳 (Twilio asks for the card number, expiry and security code)")
        tok = self.next_token("   card[:number[:MMYY]], card:fail, hangup")
        if tok is None or tok.kind == "hangup":
            return self.caller_hangs_up()
        params: dict[str, str]
        if tok.kind != "card" or tok.value == "fail":
            self.show("💳 the card was not accepted")
            params = {"Result": "too-many-failed-attempts", "PaymentError": "card declined"}
        else:
            number, expiry = tok.value.split(":")
            self.show(f"💳 card ending {number[-4:]}")
            params = {
                "Result": "success",
                "PaymentToken": "tok_" + uuid.uuid4().hex[:24],
                "PaymentCardNumber": "x" * (len(number) - 4) + number[-4:],
                "PaymentCardType": CARD_BRANDS.get(number[0], "unknown"),
                "ExpirationDate": expiry,
                "PaymentConfirmationCode": "",
                "PaymentMethod": "credit-card",
            }
        action = verb.get("action")
        if not action:
            return _CONTINUE
        return _Fetch(urljoin(doc_url, action), params, "action")

    def caller_hangs_up(self) -> None:
        self.log("caller-hangup")
        self.show("👤 hangs up")
        self.end("caller")
        return None


def _parse_twiml(body: str) -> ET.Element | None:
    """The <Response> root of a TwiML body, or None when the body is not TwiML."""
    try:
        root = ET.fromstring(body.strip())
    except ET.ParseError:
        return None
    return root if root.tag == "Response" else None


def _int_attr(verb: ET.Element, name: str, default: int) -> int:
    try:
        return int(verb.get(name, default))
    except (TypeError, ValueError):
        return default


def _confidence(value: float) -> str:
    return f"{value:g}"


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def tone_wav(seconds: int, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV of a soft tone: stands in for a caller's voicemail."""
    import io
    import math
    import struct
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        frames = max(1, seconds) * rate
        wav.writeframes(b"".join(struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * i / rate)))
                                 for i in range(frames)))
    return buffer.getvalue()
