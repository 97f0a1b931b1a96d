"""A light load generator for Twilio voice webhooks: plain asyncio streams, hand-written HTTP/1.1.

Every request is form-encoded and signed with twilio's own
``RequestValidator(token).compute_signature(public_url, params)``, exactly as
``ivr/dev/simulator.py`` (and Twilio) does.  A virtual call follows the TwiML it
gets back like Twilio would: ``<Gather action>``, ``<Redirect>``,
``<Dial action>``, ``<Record action>`` (plus its recording status callback),
and ends with the call status callback.

Two drivers:

* ``closed_loop``: C virtual calls, each sending its next webhook as soon as
  the previous answer is in (saturation throughput).
* ``open_loop``: N concurrent calls, each sending one webhook every ``period``
  seconds by the clock, whatever the server does; latency is measured from the
  *scheduled* send time, so queueing (in the generator or the server) counts.
"""
from __future__ import annotations

import asyncio
import html
import math
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
API_VERSION = "2010-04-01"
LINE = "+15555550100"
USER_AGENT = "TwilioProxy/1.1"
# ivr/telephony/twiml.py APOLOGY: the app answers 200 with this when a webhook raised.
APOLOGY_MARK = b"something went wrong on our side"
MAX_WEBHOOKS_PER_CALL = 20

# --------------------------------------------------------------------------- HTTP


class HttpError(Exception):
    """A transport failure: connect refused, reset, malformed answer, timeout."""


@dataclass
class Http:
    """Hand-written HTTP/1.1 POSTs over asyncio streams.

    ``mode``:
      * ``close``      one TCP connection per request, ``Connection: close``; we close as soon as the
                       answer is read (what a sync gunicorn worker does anyway).
      * ``keepalive``  ask for ``Connection: keep-alive`` and reuse connections the server leaves open;
                       gunicorn's sync worker closes every connection after one response regardless.
      * ``halfclose``  like ``close`` but we also send FIN (shutdown SHUT_WR) right after the request, so
                       the worker's graceful close never waits on the generator (diagnostic mode).
    ``max_conns`` caps the requests in flight (the connection pool); more wait in the generator.
    """

    host: str
    port: int
    mode: str = "close"
    max_conns: int = 128
    timeout: float = 10.0
    connects: int = 0
    reused: int = 0
    server_closed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in ("close", "keepalive", "halfclose"):
            raise ValueError(f"unknown connection mode {self.mode!r}")
        self._sem = asyncio.Semaphore(self.max_conns)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        conn = b"keep-alive" if self.mode == "keepalive" else b"close"
        self._head_tail = (
            b"\r\nHost: " + f"{self.host}:{self.port}".encode() + b"\r\nUser-Agent: " + USER_AGENT.encode()
            + b"\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: " + conn
            + b"\r\nX-Twilio-Signature: "
        )

    def encode(self, path: str, body: bytes, signature: str) -> bytes:
        return b"".join((
            b"POST ", path.encode(), b" HTTP/1.1", self._head_tail, signature.encode(),
            b"\r\nContent-Length: ", str(len(body)).encode(), b"\r\n\r\n", body,
        ))

    async def post(self, path: str, body: bytes, signature: str) -> tuple[int, bytes]:
        """Send one signed form POST; (status, body).  Transport problems raise HttpError."""
        data = self.encode(path, body, signature)
        async with self._sem:
            try:
                async with asyncio.timeout(self.timeout):
                    if self._idle:
                        reader, writer = self._idle.pop()
                        self.reused += 1
                        try:
                            return await self._exchange(reader, writer, data)
                        except (OSError, asyncio.IncompleteReadError, HttpError):
                            writer.close()  # went stale while idle: one retry on a new connection
                    return await self._exchange(*await self._connect(), data)
            except TimeoutError:
                raise HttpError("timeout") from None
            except asyncio.IncompleteReadError:
                raise HttpError("connection closed before a full answer") from None
            except ConnectionError as exc:
                raise HttpError(type(exc).__name__) from None
            except OSError as exc:
                raise HttpError(f"OSError {exc.errno}") from None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.connects += 1
        return await asyncio.open_connection(self.host, self.port)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        data: bytes) -> tuple[int, bytes]:
        writer.write(data)
        if self.mode == "halfclose":
            writer.write_eof()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1."):
                raise HttpError("not an HTTP answer")
            status = int(head[9:12])
            low = head.lower()
            length = 0
            i = low.find(b"\r\ncontent-length:")
            if i >= 0:
                j = low.index(b"\r\n", i + 2)
                length = int(low[i + 17:j])
            elif b"\r\ntransfer-encoding: chunked" in low:
                raise HttpError("chunked answers are not expected")
            body = await reader.readexactly(length) if length else b""
        except BaseException:
            writer.close()
            raise
        if self.mode == "keepalive" and b"\r\nconnection: close" not in low:
            self._idle.append((reader, writer))
        else:
            if b"\r\nconnection: close" in low:
                self.server_closed += 1
            writer.close()  # at once: a sync worker lingers until it sees our FIN
        return status, body

    def close(self) -> None:
        while self._idle:
            self._idle.pop()[1].close()


# --------------------------------------------------------------------------- calls

_VERB_RE = re.compile(rb"<(Gather|Redirect|Dial|Record|Hangup|Reject)\b([^>]*)>")
_ACTION_RE = re.compile(rb'\saction="([^"]*)"')
_RSC_RE = re.compile(rb'\srecordingStatusCallback="([^"]*)"')
_REDIRECT_END = b"</Redirect>"
_THEN_RECORD_OR_DIAL = re.compile(rb"\s*<(Record|Dial|Pay|Gather)\b")


@dataclass
class Request:
    path: str
    body: bytes
    signature: str
    kind: str  # voice | gather-timeout | gather-digits | dial | record | recording-status | status | floor
    twiml: bool  # expects a 200 TwiML answer (else: any 2xx, e.g. 204 for callbacks)
    path_name: str = ""  # the caller's path in a mixed walk (bench/mixed.py), for per-path figures


class Signer:
    """Public URL ↔ path, and signatures over the public URL."""

    def __init__(self, token: str, public_base: str):
        self.validator = RequestValidator(token)
        self.public_base = public_base.rstrip("/")

    def request(self, url: str, params: dict[str, str], kind: str, twiml: bool) -> Request:
        if not url.startswith(self.public_base):
            raise WalkError(f"TwiML points outside the server under test: {url}")
        path = url[len(self.public_base):] or "/"
        return Request(path, urlencode(params).encode(), self.validator.compute_signature(url, params), kind, twiml)


class WalkError(Exception):
    """The TwiML did not offer what the caller script expected."""


class FlowCall:
    """One simulated caller walking the shipped flows.

    Script: say nothing at the first menu (the <Gather> times out, Twilio follows the <Redirect>),
    press ``key`` at the next one, let any <Dial> ring out (no-answer), leave a 5 s message at any
    <Record> (then Twilio's recording status callback), and after <Hangup> the call status callback.
    Keys 9 (crisis: Dial, Record) and 0 (operator: Dial when the practice is open, else Record) both
    work whatever the practice hours are.
    """

    __slots__ = ("signer", "key", "sid", "common", "silent_left", "pending", "sent", "done", "pressed")

    def __init__(self, signer: Signer, key: str):
        self.signer = signer
        self.key = key
        self.sid = "CA" + uuid.uuid4().hex
        caller = "+1555" + str(random.randrange(2000000, 9999999))
        self.common = {"CallSid": self.sid, "AccountSid": ACCOUNT_SID, "From": caller, "To": LINE,
                       "Caller": caller, "Called": LINE, "Direction": "inbound", "ApiVersion": API_VERSION}
        self.silent_left = 1
        self.sent = 0
        self.done = False
        self.pressed = False
        self.pending: list[Request] = [
            signer.request(signer.public_base + "/twilio/voice", {**self.common, "CallStatus": "ringing"},
                           "voice", True)
        ]

    def next_request(self) -> Request:
        self.sent += 1
        if self.sent > MAX_WEBHOOKS_PER_CALL:
            raise WalkError("more webhooks than any script path has: the flow loops")
        if not self.pending:
            raise WalkError("nothing left to send on a call that has not ended")
        return self.pending.pop(0)

    def answer(self, req: Request, body: bytes) -> None:
        """Read the TwiML like Twilio and queue what Twilio would send next."""
        if not req.twiml:
            if not self.pending and req.kind != "status":
                self._status_callback()
            elif req.kind == "status":
                self.done = True
            return
        for m in _VERB_RE.finditer(body):
            verb, attrs = m.group(1), m.group(2)
            if verb == b"Gather":
                if falls_through(body, m.end()):
                    continue  # a prompt that takes keys before the beep or the ringing: the caller listens
                if self.silent_left > 0:
                    self.silent_left -= 1
                    continue  # the caller says nothing: Twilio goes on with the next verb
                if self.pressed:
                    raise WalkError("a menu came back after the key was pressed")
                self.pressed = True
                self._post(action_url(attrs), {"Digits": self.key}, "gather-digits")
                return
            if follow_verb(self, verb, attrs, body, m.end()):
                return
            # Hangup / Reject
            break
        # <Hangup>, or the document ran out of verbs: Twilio ends the call.
        if not self.pressed:
            raise WalkError("the call ended before the caller could press a key")
        if not self.pending:
            self._status_callback()

    def _request(self, url: str, params: dict[str, str], kind: str, twiml: bool) -> Request:
        return self.signer.request(url, params, kind, twiml)

    def _post(self, url: str, extra: dict[str, str], kind: str) -> None:
        params = {**self.common, "CallStatus": "in-progress", **extra}
        self.pending.append(self._request(url, params, kind, True))

    def _status_callback(self) -> None:
        params = {**self.common, "CallStatus": "completed", "CallDuration": str(60 + self.sent * 9)}
        self.pending.append(self._request(self.signer.public_base + "/twilio/status", params, "status", False))


def falls_through(body: bytes, tag_end: int) -> bool:
    """Whether the <Gather> whose tag ends at ``tag_end`` is a prompt before a <Record>, <Dial>, <Pay> or another
    <Gather> (the keypad-only one the emergency guidance plays in, before the menu's): with no key Twilio goes on
    to that verb, so a caller who only listens sends nothing."""
    close = body.find(b"</Gather>", tag_end)
    return close >= 0 and _THEN_RECORD_OR_DIAL.match(body, close + len(b"</Gather>")) is not None


def follow_verb(call, verb: bytes, attrs: bytes, body: bytes, tag_end: int) -> bool:
    """Queue what Twilio sends after a <Redirect>, <Dial> (rings out) or <Record> (a 5 s message, then
    the recording status callback); False for any other verb. ``call`` has ``sid``, ``pending``,
    ``_request`` and ``_post`` (``FlowCall``, ``mixed.MixedCall``)."""
    if verb == b"Redirect":
        end = body.find(_REDIRECT_END, tag_end)
        if end < 0:
            raise WalkError("<Redirect> without an end tag")
        kind = "gather-timeout" if b"/timeout" in body[tag_end:end] else "redirect"
        call._post(html.unescape(body[tag_end:end].decode().strip()), {}, kind)
        return True
    if verb == b"Dial":
        call._post(action_url(attrs), {"DialCallStatus": "no-answer", "DialCallSid": "CA" + uuid.uuid4().hex,
                                       "DialCallDuration": "0"}, "dial")
        return True
    if verb == b"Record":
        rec_sid = "RE" + uuid.uuid4().hex
        rec = {"RecordingUrl": f"https://api.twilio.com/{API_VERSION}/Accounts/{ACCOUNT_SID}/Recordings/{rec_sid}",
               "RecordingSid": rec_sid, "RecordingDuration": "5"}
        call._post(action_url(attrs), {**rec, "Digits": "#"}, "record")
        callback = _RSC_RE.search(attrs)
        if callback:
            params = {"AccountSid": ACCOUNT_SID, "CallSid": call.sid, **rec, "RecordingStatus": "completed",
                      "RecordingChannels": "1", "RecordingSource": "RecordVerb"}
            call.pending.append(call._request(html.unescape(callback.group(1).decode()), params,
                                              "recording-status", False))
        return True
    return False


class FloorCall:
    """Posts the same kind of signed form to the floor app's single route, 7 webhooks per CallSid."""

    __slots__ = ("signer", "common", "sent", "done")
    WEBHOOKS = 7

    def __init__(self, signer: Signer, key: str):
        self.signer = signer
        sid = "CA" + uuid.uuid4().hex
        caller = "+1555" + str(random.randrange(2000000, 9999999))
        self.common = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": caller, "To": LINE, "Caller": caller,
                       "Called": LINE, "Direction": "inbound", "ApiVersion": API_VERSION}
        self.sent = 0
        self.done = False

    def next_request(self) -> Request:
        self.sent += 1
        params = {**self.common, "CallStatus": "in-progress", "Digits": str(self.sent % 10)}
        return self.signer.request(self.signer.public_base + f"/floor?turn={self.sent}", params, "floor", True)

    def answer(self, req: Request, body: bytes) -> None:
        self.done = self.sent >= self.WEBHOOKS


def action_url(attrs: bytes) -> str:
    """A verb's ``action`` URL, unescaped."""
    m = _ACTION_RE.search(attrs)
    if not m:
        raise WalkError("verb without its action URL")
    return html.unescape(m.group(1).decode())


def call_factory(kind: str, signer: Signer, keys: list[str]) -> Callable[[], FlowCall | FloorCall]:
    cls = FloorCall if kind == "floor" else FlowCall
    counter = iter(range(1 << 62))
    return lambda: cls(signer, keys[next(counter) % len(keys)])


# --------------------------------------------------------------------------- results


@dataclass
class Recorder:
    """Latencies and errors of one measured phase (only requests scheduled inside the window count)."""

    window_start: float = 0.0
    window_end: float = float("inf")
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)  # open loop: actual send - scheduled send
    errors: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    by_path: dict[str, list[float]] = field(default_factory=dict)  # mixed walk: latencies per caller path
    paths_completed: Counter = field(default_factory=Counter)
    calls_completed: int = 0
    outside: int = 0

    def counts(self, t: float) -> bool:
        return self.window_start <= t < self.window_end

    def ok(self, t: float, latency: float, kind: str, path: str = "") -> None:
        if self.counts(t):
            self.latencies.append(latency)
            self.kinds[kind] += 1
            if path:
                self.by_path.setdefault(path, []).append(latency)
        else:
            self.outside += 1

    def error(self, t: float, what: str, detail: str) -> None:
        # Errors count wherever they happen: a warm-up failure is still a failure.
        self.errors[what] += 1
        sample = f"{what}: {detail}"[:300]
        if len(self.error_samples) < 8 and sample not in self.error_samples:
            self.error_samples.append(sample)


def check_answer(req: Request, status: int, body: bytes) -> tuple[str, str] | None:
    """(error kind, detail) when the answer is not what Twilio needs, else None."""
    if req.twiml:
        if status != 200:
            return "http-status", f"{req.kind} {req.path}: HTTP {status} {body[:120]!r}"
        if b"<Response>" not in body and b"<Response " not in body:
            return "not-twiml", f"{req.kind} {req.path}: {body[:120]!r}"
        if APOLOGY_MARK in body:
            return "apology", f"{req.kind} {req.path}: the app answered with its error apology"
        return None
    if not 200 <= status < 300:
        return "http-status", f"{req.kind} {req.path}: HTTP {status} {body[:120]!r}"
    return None


async def _one(http: Http, call, rec: Recorder, t_sched: float, lags: bool) -> bool:
    """Send the call's next webhook; False when the call cannot go on."""
    try:
        req = call.next_request()
    except WalkError as exc:
        rec.error(t_sched, "walk", str(exc))
        return False
    t_send = time.perf_counter()
    if lags and rec.counts(t_sched):
        rec.lags.append(t_send - t_sched)
    try:
        status, body = await http.post(req.path, req.body, req.signature)
    except HttpError as exc:
        rec.error(t_sched, "transport", f"{req.kind} {req.path}: {exc}")
        return False
    t_done = time.perf_counter()
    problem = check_answer(req, status, body)
    if problem:
        rec.error(t_sched, *problem)
        return False
    rec.ok(t_sched, t_done - t_sched, req.kind, req.path_name)
    try:
        call.answer(req, body)
    except WalkError as exc:
        rec.error(t_sched, "walk", f"{req.kind} {req.path}: {exc}")
        return False
    return True


def _ended(call, rec: Recorder) -> None:
    """A call ended (or failed, or the phase is over): count it and let it give back what it holds."""
    if call.done:
        rec.calls_completed += 1
        path = getattr(call, "path", "")
        if path:
            rec.paths_completed[path] += 1
    release = getattr(call, "release", None)
    if release is not None:
        release()


async def closed_loop(http: Http, new_call: Callable, concurrency: int, seconds: float, warmup: float) -> Recorder:
    """``concurrency`` callers, each sending its next webhook as soon as the last answer is in."""
    start = time.perf_counter()
    rec = Recorder(window_start=start + warmup, window_end=start + warmup + seconds)

    async def caller() -> None:
        call = new_call()
        while True:
            t = time.perf_counter()
            if t >= rec.window_end:
                return
            if not await _one(http, call, rec, t, lags=False) or call.done:
                _ended(call, rec)
                call = new_call()
        _ended(call, rec)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return rec


async def open_loop(http: Http, new_call: Callable, calls: int, period: float, seconds: float,
                    warmup: float) -> Recorder:
    """``calls`` concurrent callers, one webhook every ``period`` seconds each, by the clock.

    Each line starts at a random phase within the first period; when its call ends a new caller takes
    the line at the next tick, so the number of calls in progress stays ``calls``.  Latency is taken from
    the scheduled send time, so a late send (a slow server holding up this caller, or a busy generator)
    counts against the figure instead of being silently skipped.
    """
    start = time.perf_counter() + 0.2
    rec = Recorder(window_start=start + warmup, window_end=start + warmup + seconds)
    loop = asyncio.get_running_loop()
    # perf_counter and loop.time() are both CLOCK_MONOTONIC on Linux, but do not rely on it.
    offset = loop.time() - time.perf_counter()

    async def line(phase: float) -> None:
        call = new_call()
        t = start + phase
        while t < rec.window_end:
            delay = t + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if not await _one(http, call, rec, t, lags=True) or call.done:
                _ended(call, rec)
                call = new_call()
            t += period
        _ended(call, rec)

    await asyncio.gather(*(line(random.uniform(0, period)) for _ in range(calls)))
    return rec


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    k = math.ceil(q / 100 * len(sorted_values)) - 1
    return sorted_values[max(0, min(len(sorted_values) - 1, k))]

