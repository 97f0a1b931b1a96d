"""A local stand-in for the part of the Twilio REST API that Quietline uses.

Twilio cannot be reached from tests or offline development, so the official
twilio client (see ``ivr.telephony.twilio_rest``) is pointed here instead.  It is a real
HTTP server with Twilio's URL shapes, HTTP Basic auth and JSON bodies, so what
passes against it exercises the same client code that production runs:

    with TwilioStandin("AC" + "1" * 32, "secret") as standin:
        settings = Settings(..., twilio_api_url=standin.url)

Implemented (under ``/2010-04-01/Accounts/{AccountSid}``): Messages (create,
fetch, list, delete), Calls (create, fetch, list, update), Recordings (fetch,
list, delete, ``.wav`` media), IncomingPhoneNumbers (list with ``PhoneNumber``, fetch,
update of the voice, fallback, status callback and SMS URLs, methods and application SIDs);
and Messaging Services (``messaging.twilio.com/v1/Services``, list, and each one's
PhoneNumbers, list): which numbers a service has.  The account's numbers are added with
``add_number`` (the standalone stand-in owns the demo practice's, ``DEMO_PRACTICE_NUMBER``), a
Messaging Service holding one with ``add_messaging_service``.  Like Twilio's test credentials, the recipient
numbers +15005550001/2/3/4 (and 9 for SMS) fail with Twilio's error codes; any
other number can be made to refuse texts with one of them (``refuse_sms_to``).
Inbound calls, which Twilio lists but nobody creates through the API, are added
with ``add_call``; a recording that was never added answers 404, as Twilio does
for one it does not have.  Outbound calls take answering-machine detection
(``MachineDetection``, ``AsyncAmd``, ``AsyncAmdStatusCallback``); the test decides who
answers (``finish_call``: ``AnsweredBy`` human, machine_end_beep, …, fax, unknown, or
busy / no-answer) and how a text settles (``finish_message``), and gets back the
callbacks Twilio would make, to deliver signed.

Test control, not Twilio's: methods on ``TwilioStandin`` and the same under
``/_standin/`` over HTTP (unauthenticated: bind it to localhost only): among them
``deleted_recordings()`` (the SIDs deleted through the API, in order) and ``fail_next(path_suffix,
status, method=...)`` (make the next requests fail, e.g. only a recording's DELETE).

Run standalone with ``python -m ivr.dev.twilio_standin --port 8010``; it takes the
account SID and auth token from the usual settings unless given on the command line.

Message bodies and phone numbers are never logged, here or by the HTTP server.
"""
from __future__ import annotations

import argparse
import copy
import hmac
import io
import logging
import re
import threading
import time
import uuid
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ivr.config import load_settings
from ivr.exceptions import IvrError

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
API_PREFIX = f"/{API_VERSION}/Accounts"
CONTROL_PREFIX = "/_standin"
# Resource URLs handed out (media_url, RecordingUrl) use Twilio's real host, as
# Twilio's do; the client under test is expected to rewrite them to us.
PUBLIC_API_URL = "https://api.twilio.com"
PUBLIC_MESSAGING_URL = "https://messaging.twilio.com"
MESSAGING_PREFIX = "/v1/Services"
# The number the demo practice's calls come in on (the simulator calls it): the standalone stand-in has it.
DEMO_PRACTICE_NUMBER = "+15555550100"
MAX_BODY_CHARS = 1600
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_CALL_ENDPOINT = re.compile(r"^(client:[\w.@-]+|sip:\S+)$")

# Twilio's test-credential "magic" recipients: number -> (code, message).
_MAGIC_SMS_TO = {
    "+15005550001": (21211, "The 'To' number is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number is not currently reachable via SMS."),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}
# What Twilio says for the codes a chosen number can be made to refuse texts with (refuse_sms_to).
SMS_REFUSALS = {
    21211: "The 'To' number is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number is not currently reachable via SMS.",
    21614: "'To' number is not a valid mobile number",
}
_MAGIC_CALL_TO = {
    "+15005550001": (21217, "Phone number does not appear to be valid"),
    "+15005550002": (21214, "'To' phone number cannot be reached"),
    "+15005550003": (21215, "Geographic permission to call the 'To' number has not been enabled"),
    "+15005550004": (21216, "Call blocked by Twilio blocklist"),
}

_STD_ERRORS = {
    400: (20001, "Bad Request"),
    401: (20003, "Authenticate"),
    403: (20403, "Forbidden"),
    404: (20404, "The requested resource was not found"),
    405: (20004, "Method not allowed"),
    429: (20429, "Too Many Requests"),
    500: (20500, "An internal server error has occurred"),
    502: (20502, "Bad Gateway"),
    503: (20503, "Service Unavailable"),
}

# Keys kept in our records for tests but absent from Twilio's JSON.
_PRIVATE_MESSAGE_KEYS = ("status_callback", "media_url_list")
_PRIVATE_CALL_KEYS = ("url", "method", "twiml", "status_callback", "status_callback_event", "machine_detection",
                      "async_amd", "async_amd_status_callback")
# IncomingPhoneNumber fields an update may set: form parameter -> JSON key.
NUMBER_URL_PARAMS = {"VoiceUrl": "voice_url", "VoiceFallbackUrl": "voice_fallback_url",
                     "StatusCallback": "status_callback", "SmsUrl": "sms_url", "SmsFallbackUrl": "sms_fallback_url"}
NUMBER_METHOD_PARAMS = {"VoiceMethod": "voice_method", "VoiceFallbackMethod": "voice_fallback_method",
                        "StatusCallbackMethod": "status_callback_method", "SmsMethod": "sms_method",
                        "SmsFallbackMethod": "sms_fallback_method"}
NUMBER_SID_PARAMS = {"VoiceApplicationSid": ("voice_application_sid", "AP"),
                     "SmsApplicationSid": ("sms_application_sid", "AP"), "TrunkSid": ("trunk_sid", "TK")}
# AMD's AnsweredBy values (MachineDetection=DetectMessageEnd): what a test may make a call's far end be.
ANSWERED_BY = ("human", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax", "unknown")
# How a call can end without anyone answering.
UNANSWERED = ("busy", "no-answer", "failed", "canceled")


class _TwilioError(IvrError):
    """A Twilio-shaped error response, raised from inside a view."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def _error_response(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _now() -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


def _new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _wav_seconds(wav_bytes: bytes) -> int | None:
    try:
        with wave.open(io.BytesIO(wav_bytes)) as w:
            return int(round(w.getnframes() / float(w.getframerate())))
    except (wave.Error, EOFError, ZeroDivisionError):
        return None


def _public(record: dict[str, Any], private: Iterable[str]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in private}


@dataclass(frozen=True)
class Callback:
    """A request Twilio makes to the application (absolute ``url``, form ``params``), for a test to deliver signed."""

    url: str
    params: dict[str, str]


@dataclass
class _Failure:
    path_suffix: str
    status: int
    remaining: int
    retry_after: int | None = None
    method: str | None = None  # only requests with this HTTP method (None: any)


@dataclass
class _Delay:
    path_suffix: str
    seconds: float
    remaining: int
    release: threading.Event | None = None


class _QuietRequestHandler(WSGIRequestHandler):
    """Access log without query strings (list filters carry phone numbers)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path
        log.debug("%s %s %s", getattr(self, "command", "-"), path, code)

    def log_error(self, format: str, *args: Any) -> None:
        # args may hold the raw request line; the format alone says what went wrong.
        log.warning("stand-in HTTP error: %s", format)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("stand-in HTTP: %s", format)


class TwilioStandin:
    """Twilio REST stand-in: in-memory, thread-safe, served from a background thread.

    Records are plain dicts in Twilio's JSON shape; ``messages()`` and ``calls()``
    return copies (oldest first) with a few extra keys Twilio keeps to itself
    (``status_callback``, ``url``, ``twiml``, ...).
    """

    def __init__(self, account_sid: str, auth_token: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not auth_token:
            raise ValueError("the stand-in needs an auth token to check requests against")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self._lock = threading.RLock()
        self._messages: dict[str, dict[str, Any]] = {}
        self._calls: dict[str, dict[str, Any]] = {}
        self._recordings: dict[str, dict[str, Any]] = {}
        self._audio: dict[str, bytes] = {}
        self._failures: list[_Failure] = []
        self._deleted_recordings: list[str] = []
        self._delays: list[_Delay] = []
        self._sms_refusals: dict[str, int] = {}
        self._numbers: dict[str, dict[str, Any]] = {}
        self._services: dict[str, dict[str, Any]] = {}
        self._service_numbers: dict[str, list[str]] = {}
        self._request_log: list[dict[str, Any]] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.app = self._build_app()

    # ----- lifecycle -------------------------------------------------------

    def start(self) -> TwilioStandin:
        """Serve in a daemon thread; ``port=0`` picks a free port (see ``url``)."""
        if self._server is not None:
            return self
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietRequestHandler)
        self.port = self._server.port
        self._thread = threading.Thread(target=self._server.serve_forever, name="twilio-standin", daemon=True)
        self._thread.start()
        log.info("Twilio stand-in listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the standalone process)."""
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietRequestHandler)
        self.port = self._server.port
        log.info("Twilio stand-in listening on %s", self.url)
        try:
            self._server.serve_forever()
        finally:
            self._server = None

    def __enter__(self) -> TwilioStandin:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to use as ``twilio_api_url``, e.g. http://127.0.0.1:54321."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # ----- test control ------------------------------------------------------

    def recording_url(self, sid: str) -> str:
        """The RecordingUrl Twilio would put in a webhook for ``sid`` (no extension)."""
        return f"{PUBLIC_API_URL}{API_PREFIX}/{self.account_sid}/Recordings/{sid}"

    def add_recording(
        self,
        sid: str,
        wav_bytes: bytes,
        *,
        call_sid: str | None = None,
        duration: int | None = None,
    ) -> dict[str, Any]:
        """Register a recording's audio; return its Twilio JSON (``media_url`` is the RecordingUrl)."""
        if not re.fullmatch(r"RE[0-9a-fA-F]{32}", sid):
            raise ValueError(f"not a recording SID: {sid!r}")
        if duration is None:
            duration = _wav_seconds(wav_bytes) or 0
        now = _now()
        uri = f"{API_PREFIX}/{self.account_sid}/Recordings/{sid}"
        record = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid": call_sid or _new_sid("CA"),
            "conference_sid": None,
            "date_created": now,
            "date_updated": now,
            "start_time": now,
            "duration": str(duration),
            "sid": sid,
            "price": None,
            "price_unit": "USD",
            "status": "completed",
            "channels": 1,
            "source": "RecordVerb",
            "error_code": None,
            "uri": f"{uri}.json",
            "encryption_details": None,
            "subresource_uris": {
                "add_on_results": f"{uri}/AddOnResults.json",
                "transcriptions": f"{uri}/Transcriptions.json",
            },
            "media_url": f"{PUBLIC_API_URL}{uri}",
        }
        with self._lock:
            self._recordings[sid] = record
            self._audio[sid] = bytes(wav_bytes)
        return copy.deepcopy(record)

    def add_number(self, phone_number: str, *, sid: str | None = None, **fields: Any) -> dict[str, Any]:
        """Give the account a phone number (E.164); ``fields`` set its JSON keys (``voice_url``,
        ``sms_application_sid``, ``trunk_sid``, ...).  Returns its Twilio JSON."""
        if not _E164.match(phone_number):
            raise ValueError("a phone number is E.164, e.g. +15555550100")
        sid = sid or _new_sid("PN")
        if not re.fullmatch(r"PN[0-9a-fA-F]{32}", sid):
            raise ValueError(f"not a phone number SID: {sid!r}")
        now = _now()
        uri = f"{API_PREFIX}/{self.account_sid}/IncomingPhoneNumbers/{sid}"
        record: dict[str, Any] = {
            "account_sid": self.account_sid, "address_sid": None, "address_requirements": "none",
            "api_version": API_VERSION, "beta": False,
            "capabilities": {"fax": False, "mms": True, "sms": True, "voice": True},
            "date_created": now, "date_updated": now, "emergency_status": "Inactive",
            "emergency_address_sid": None, "emergency_address_status": "unregistered",
            "friendly_name": phone_number, "identity_sid": None, "origin": "twilio",
            "phone_number": phone_number, "sid": sid,
            "sms_application_sid": None, "sms_fallback_method": "POST", "sms_fallback_url": "",
            "sms_method": "POST", "sms_url": "", "status_callback": "", "status_callback_method": "POST",
            "trunk_sid": None, "uri": f"{uri}.json", "voice_receive_mode": "voice",
            "voice_application_sid": None, "voice_caller_id_lookup": False,
            "voice_fallback_method": "POST", "voice_fallback_url": "", "voice_method": "POST", "voice_url": "",
            "bundle_sid": None, "status": "in-use", "type": "local",
            "subresource_uris": {"assigned_add_ons": f"{uri}/AssignedAddOns.json"},
        }
        unknown = set(fields) - set(record)
        if unknown:
            raise ValueError(f"not IncomingPhoneNumber fields: {sorted(unknown)}")
        record.update(fields)
        with self._lock:
            self._numbers[sid] = record
        return copy.deepcopy(record)

    def numbers(self) -> list[dict[str, Any]]:
        """The account's phone numbers (oldest first), Twilio JSON."""
        with self._lock:
            return [copy.deepcopy(n) for n in self._numbers.values()]

    def add_messaging_service(self, phone_number: str, *, friendly_name: str = "Messaging Service",
                              use_inbound_webhook_on_number: bool = False) -> str:
        """A new Messaging Service whose sender pool has the account's number ``phone_number``; its SID (MG…)."""
        with self._lock:
            number = next((n for n in self._numbers.values() if n["phone_number"] == phone_number), None)
            if number is None:
                raise ValueError("add the number to the account first (add_number)")
            if any(number["sid"] in members for members in self._service_numbers.values()):
                # Twilio's error 21712: a number is in one Messaging Service at most.
                raise ValueError("the number is already in a Messaging Service")
            sid = _new_sid("MG")
            now = _now()
            url = f"{PUBLIC_MESSAGING_URL}{MESSAGING_PREFIX}/{sid}"
            self._services[sid] = {
                "account_sid": self.account_sid, "sid": sid, "friendly_name": friendly_name,
                "date_created": now, "date_updated": now, "inbound_request_url": None, "inbound_method": "POST",
                "fallback_url": None, "fallback_method": "POST", "status_callback": None,
                "use_inbound_webhook_on_number": use_inbound_webhook_on_number, "usecase": "undeclared",
                "url": url, "links": {"phone_numbers": f"{url}/PhoneNumbers"},
            }
            self._service_numbers[sid] = [number["sid"]]
        return sid

    def refuse_sms_to(self, number: str, code: int) -> None:
        """From now on, texts to ``number`` fail as Twilio refuses them for good: HTTP 400 with ``code``
        (21211 invalid number, 21408 region, 21610 opted out, 21612 unreachable, 21614 not a mobile)."""
        if code not in SMS_REFUSALS:
            raise ValueError(f"no refusal known for code {code}; known: {sorted(SMS_REFUSALS)}")
        with self._lock:
            self._sms_refusals[number] = code

    def add_call(self, sid: str, from_: str, to: str, *, status: str = "completed",
                 direction: str = "inbound") -> dict[str, Any]:
        """Register a call Twilio has but nobody created through the API (an inbound call); its Twilio JSON."""
        if not re.fullmatch(r"CA[0-9a-fA-F]{32}", sid):
            raise ValueError(f"not a call SID: {sid!r}")
        now = _now()
        uri = f"{API_PREFIX}/{self.account_sid}/Calls/{sid}"
        record = {
            "account_sid": self.account_sid, "annotation": None, "answered_by": None, "api_version": API_VERSION,
            "caller_name": None, "date_created": now, "date_updated": now, "direction": direction,
            "duration": None, "end_time": now if status in ("completed", "busy", "failed", "no-answer", "canceled")
            else None, "forwarded_from": None, "from": from_, "from_formatted": from_, "group_sid": None,
            "parent_call_sid": None, "phone_number_sid": None, "price": None, "price_unit": "USD",
            "queue_time": "0", "sid": sid, "start_time": now, "status": status, "subresource_uris": {},
            "to": to, "to_formatted": to, "trunk_sid": None, "uri": f"{uri}.json", "url": None, "method": None,
            "twiml": None, "status_callback": None, "status_callback_event": [], "machine_detection": None,
        }
        with self._lock:
            self._calls[sid] = record
        return copy.deepcopy(record)

    def finish_call(self, sid: str, answered_by: str | None = None, *, status: str | None = None,
                    duration: int = 12, amd_seconds: int = 3, error_code: int | None = None) -> list[Callback]:
        """End an API-created call as its far end would: answered by ``answered_by`` (one of ``ANSWERED_BY``),
        or not answered (``status``: busy, no-answer, failed, canceled).  Returns the requests Twilio would
        make, in order, for the test to deliver (signed): the call's ``Url`` (fetched on answer: with async
        AMD the call is connected at once), the AMD result to ``AsyncAmdStatusCallback``, and the final
        status callback (``CallStatus``, ``CallDuration``, ``AnsweredBy``; ``ErrorCode`` when a failed call gives
        one, e.g. 21214 the number cannot be reached).
        """
        if error_code is not None and status != "failed":
            raise ValueError("only a failed call carries an ErrorCode")
        if answered_by is not None and answered_by not in ANSWERED_BY:
            raise ValueError(f"AnsweredBy must be one of {ANSWERED_BY}")
        if answered_by is None and status not in UNANSWERED:
            raise ValueError(f"a call nobody answered ends {UNANSWERED}")
        with self._lock:
            record = self._calls[sid]
            record["answered_by"] = answered_by
            final = "completed" if answered_by is not None else str(status)
            record["status"], record["end_time"] = final, _now()
            record["duration"] = str(duration if answered_by is not None else 0)
            record = copy.deepcopy(record)
        base = {"CallSid": sid, "AccountSid": self.account_sid, "From": record["from"], "To": record["to"],
                "Direction": "outbound-api", "ApiVersion": API_VERSION}
        out: list[Callback] = []
        if answered_by is not None:
            if record.get("url"):
                out.append(Callback(record["url"], {**base, "CallStatus": "in-progress"}))
            if record.get("async_amd") == "true" and record.get("async_amd_status_callback"):
                out.append(Callback(record["async_amd_status_callback"],
                                    {**base, "AnsweredBy": answered_by,
                                     "MachineDetectionDuration": str(amd_seconds * 1000)}))
        if record.get("status_callback"):
            params = {**base, "CallStatus": final, "CallDuration": record["duration"]}
            if answered_by is not None and record.get("machine_detection"):
                params["AnsweredBy"] = answered_by
            if error_code is not None:
                params["ErrorCode"] = str(error_code)
            out.append(Callback(record["status_callback"], params))
        return out

    def forget_call(self, sid: str) -> None:
        """Twilio no longer knows the call (``Calls(sid).fetch()`` answers 404, as for a SID it never issued):
        what a lost call looks like to whoever asks about it."""
        with self._lock:
            del self._calls[sid]

    def finish_message(self, sid: str, status: str = "delivered", error_code: int | None = None) -> list[Callback]:
        """Settle a message as the carrier would (``delivered``, ``undelivered``, ``failed``, with Twilio's
        ``ErrorCode``, e.g. 30003 unreachable, 30006 landline); returns its status callback to deliver."""
        if status not in ("sent", "delivered", "undelivered", "failed"):
            raise ValueError("a message settles as sent, delivered, undelivered or failed")
        with self._lock:
            record = self._messages[sid]
            record["status"], record["error_code"] = status, error_code
            record = copy.deepcopy(record)
        if not record.get("status_callback"):
            return []
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid, "From": record["from"],
                  "To": record["to"], "MessageStatus": status, "SmsStatus": status, "ApiVersion": API_VERSION}
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return [Callback(record["status_callback"], params)]

    def messages(self) -> list[dict[str, Any]]:
        """Every message created (oldest first): Twilio fields plus ``status_callback``."""
        with self._lock:
            return [copy.deepcopy(m) for m in self._messages.values()]

    def calls(self) -> list[dict[str, Any]]:
        """Every call created (oldest first): Twilio fields plus url/twiml/callbacks."""
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls.values()]

    def recordings(self) -> list[dict[str, Any]]:
        """Recordings still present (not deleted), Twilio JSON."""
        with self._lock:
            return [copy.deepcopy(r) for r in self._recordings.values()]

    def deleted_recordings(self) -> list[str]:
        """SIDs of the recordings deleted through the API, in order (a second DELETE answers 404, as Twilio's)."""
        with self._lock:
            return list(self._deleted_recordings)

    def requests(self) -> list[dict[str, Any]]:
        """Twilio API requests seen: method, path (no query string) and status answered."""
        with self._lock:
            return [dict(r) for r in self._request_log]

    def fail_next(self, path_suffix: str, status: int, count: int = 1, *, retry_after: int | None = None,
                  method: str | None = None) -> None:
        """Make the next ``count`` authenticated requests whose path ends with ``path_suffix`` fail.

        The response is Twilio's error JSON with ``status`` (e.g. 500, 503, 429);
        ``retry_after`` adds a Retry-After header; ``method`` (e.g. ``"DELETE"``) limits it to
        requests with that HTTP method.  Checked after authentication, so a badly authenticated
        request does not use one up.
        """
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._failures.append(_Failure(path_suffix, status, count, retry_after,
                                           method.upper() if method else None))

    def clear_failures(self) -> None:
        """Forget every pending failure ``fail_next`` set (Twilio is well again), keeping everything else."""
        with self._lock:
            self._failures.clear()

    def delay_next(self, path_suffix: str, seconds: float, count: int = 1,
                   release: threading.Event | None = None) -> None:
        """Make the next ``count`` authenticated requests whose path ends with ``path_suffix`` wait.

        The request waits ``seconds`` (or until ``release`` is set, if sooner) before it is
        handled (a slow Twilio), then is handled as usual, even if the client has given up
        or died meanwhile: like Twilio, the stand-in has the request by then.  Applies
        before ``fail_next``.
        """
        if not 0 < seconds <= 300:
            raise ValueError("seconds must be between 0 and 300")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._delays.append(_Delay(path_suffix, float(seconds), count, release))

    def reset(self) -> None:
        """Forget every message, call, recording, pending failure and delay, and logged request."""
        with self._lock:
            self._delays.clear()
            self._sms_refusals.clear()
            self._numbers.clear()
            self._services.clear()
            self._service_numbers.clear()
            self._messages.clear()
            self._calls.clear()
            self._recordings.clear()
            self._audio.clear()
            self._failures.clear()
            self._deleted_recordings.clear()
            self._request_log.clear()

    # ----- request plumbing --------------------------------------------------

    def _take_delay(self, path: str) -> _Delay | None:
        with self._lock:
            for delay in self._delays:
                if path.endswith(delay.path_suffix):
                    delay.remaining -= 1
                    if delay.remaining <= 0:
                        self._delays.remove(delay)
                    return delay
        return None

    def _take_failure(self, path: str, method: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if path.endswith(failure.path_suffix) and failure.method in (None, method):
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    return failure
        return None

    def _authorised(self) -> bool:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return False
        user_ok = hmac.compare_digest((auth.username or "").encode(), self.account_sid.encode())
        token_ok = hmac.compare_digest((auth.password or "").encode(), self.auth_token.encode())
        return user_ok and token_ok

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        app.json.sort_keys = False  # type: ignore[attr-defined]

        @app.before_request
        def _guard() -> Response | None:
            if not _is_api(request.path):
                return None
            if not self._authorised():
                return _error_response(
                    401,
                    20003,
                    "Authentication Error - invalid username or password",
                    {"WWW-Authenticate": 'Basic realm="Twilio API"'},
                )
            path_account = (request.view_args or {}).get("account_sid")
            if path_account is not None and path_account != self.account_sid:
                return _error_response(404, 20404, f"The requested resource {request.path} was not found")
            delay = self._take_delay(request.path)
            # Threaded server: other requests go on while this one waits.
            if delay is not None and delay.release is not None:
                delay.release.wait(delay.seconds)
            elif delay is not None:
                time.sleep(delay.seconds)
            failure = self._take_failure(request.path, request.method)
            if failure is not None:
                code, message = _STD_ERRORS.get(failure.status, (20500, "Injected failure"))
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else None
                return _error_response(failure.status, code, message, headers)
            return None

        @app.after_request
        def _record(response: Response) -> Response:
            if _is_api(request.path):
                with self._lock:
                    self._request_log.append(
                        {"method": request.method, "path": request.path, "status": response.status_code}
                    )
            return response

        @app.errorhandler(_TwilioError)
        def _twilio_error(exc: _TwilioError) -> Response:
            return _error_response(exc.status, exc.code, exc.message, exc.headers)

        @app.errorhandler(HTTPException)
        def _http_error(exc: HTTPException) -> Response:
            status = exc.code or 500
            code, message = _STD_ERRORS.get(status, (20000 + status, exc.name))
            if status == 404:
                message = f"The requested resource {request.path} was not found"
            return _error_response(status, code, message)

        @app.errorhandler(Exception)
        def _crash(exc: Exception) -> Response:
            log.exception("stand-in failed on %s %s", request.method, request.path)
            return _error_response(500, 20500, "An internal server error has occurred")

        self._add_api_routes(app)
        self._add_control_routes(app)
        return app

    # ----- Twilio API ----------------------------------------------------------

    def _add_api_routes(self, app: Flask) -> None:
        base = f"{API_PREFIX}/<account_sid>"

        @app.post(f"{base}/Messages.json")
        def create_message(account_sid: str) -> tuple[Response, int]:
            return jsonify(_public(self._create_message(request.form), _PRIVATE_MESSAGE_KEYS)), 201

        @app.get(f"{base}/Messages.json")
        def list_messages(account_sid: str) -> Response:
            filters = {"to": request.args.get("To"), "from": request.args.get("From")}
            return self._page("messages", self._messages, filters, _PRIVATE_MESSAGE_KEYS)

        @app.route(f"{base}/Messages/<name>", methods=["GET", "DELETE"])
        def message(account_sid: str, name: str) -> Any:
            sid = _json_sid(name)
            with self._lock:
                record = self._messages.get(sid)
                if record is None:
                    raise _not_found()
                if request.method == "DELETE":
                    del self._messages[sid]
                    return Response(status=204)
                return jsonify(_public(record, _PRIVATE_MESSAGE_KEYS))

        @app.post(f"{base}/Calls.json")
        def create_call(account_sid: str) -> tuple[Response, int]:
            return jsonify(_public(self._create_call(request.form), _PRIVATE_CALL_KEYS)), 201

        @app.get(f"{base}/Calls.json")
        def list_calls(account_sid: str) -> Response:
            filters = {
                "to": request.args.get("To"),
                "from": request.args.get("From"),
                "status": request.args.get("Status"),
            }
            return self._page("calls", self._calls, filters, _PRIVATE_CALL_KEYS)

        @app.route(f"{base}/Calls/<name>", methods=["GET", "POST"])
        def call(account_sid: str, name: str) -> Any:
            sid = _json_sid(name)
            with self._lock:
                record = self._calls.get(sid)
                if record is None:
                    raise _not_found()
                if request.method == "POST":
                    self._update_call(record, request.form)
                return jsonify(_public(record, _PRIVATE_CALL_KEYS))

        @app.get(f"{base}/Recordings.json")
        def list_recordings(account_sid: str) -> Response:
            return self._page("recordings", self._recordings, {"call_sid": request.args.get("CallSid")}, ())

        @app.route(f"{base}/Recordings/<name>", methods=["GET", "DELETE"])
        def recording(account_sid: str, name: str) -> Any:
            sid, _, ext = name.partition(".")
            ext = ext.lower()
            with self._lock:
                record = self._recordings.get(sid)
                if record is None or ext not in ("", "json", "wav", "mp3"):
                    raise _not_found()
                if request.method == "DELETE":
                    if ext != "json":
                        raise _not_found()
                    del self._recordings[sid]
                    self._audio.pop(sid, None)
                    self._deleted_recordings.append(sid)
                    return Response(status=204)
                if ext == "json":
                    return jsonify(record)
                if ext == "mp3":
                    # Twilio would transcode; the stand-in only holds what it was given.
                    raise _TwilioError(404, 20404, "The stand-in only serves recordings as WAV")
                audio = self._audio[sid]
            return Response(audio, status=200, mimetype="audio/x-wav")

        @app.get(f"{base}/IncomingPhoneNumbers.json")
        def list_numbers(account_sid: str) -> Response:
            # Twilio matches PhoneNumber as a pattern: partial numbers, '*' for any digit.
            pattern = (request.args.get("PhoneNumber") or "").strip()
            regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*"))) if pattern else None
            friendly = request.args.get("FriendlyName")
            with self._lock:
                matching = {sid: n for sid, n in self._numbers.items()
                            if (regex is None or regex.search(n["phone_number"]))
                            and (friendly is None or n["friendly_name"] == friendly)}
            return self._page("incoming_phone_numbers", matching, {}, ())

        @app.route(f"{base}/IncomingPhoneNumbers/<name>", methods=["GET", "POST"])
        def number(account_sid: str, name: str) -> Any:
            sid = _json_sid(name)
            with self._lock:
                record = self._numbers.get(sid)
                if record is None:
                    raise _not_found()
                if request.method == "POST":
                    self._update_number(record, request.form)
                return jsonify(record)

        @app.get(MESSAGING_PREFIX)
        def list_services() -> Response:
            with self._lock:
                services = [copy.deepcopy(s) for s in self._services.values()]
            return _v1_page("services", services)

        @app.get(f"{MESSAGING_PREFIX}/<service_sid>/PhoneNumbers")
        def list_service_numbers(service_sid: str) -> Response:
            with self._lock:
                if service_sid not in self._services:
                    raise _not_found()
                members = [self._numbers[sid] for sid in self._service_numbers[service_sid] if sid in self._numbers]
                url = f"{PUBLIC_MESSAGING_URL}{MESSAGING_PREFIX}/{service_sid}/PhoneNumbers"
                listed = [{"sid": n["sid"], "account_sid": self.account_sid, "service_sid": service_sid,
                           "date_created": n["date_created"], "date_updated": n["date_updated"],
                           "phone_number": n["phone_number"], "country_code": "US",
                           "capabilities": [c.upper() for c, on in n["capabilities"].items() if on],
                           "url": f"{url}/{n['sid']}"} for n in members]
            return _v1_page("phone_numbers", listed)

    def _update_number(self, record: dict[str, Any], form: Any) -> None:
        """Apply an IncomingPhoneNumber update as Twilio does: each parameter given is set, an empty one cleared."""
        changes: dict[str, Any] = {}
        for param, key in NUMBER_URL_PARAMS.items():
            if param in form:
                value = form[param].strip()
                if value and urlsplit(value).scheme not in ("http", "https"):
                    raise _TwilioError(400, 21502, f"{param} is not a valid URL: {value}")
                changes[key] = value
        for param, key in NUMBER_METHOD_PARAMS.items():
            if param in form:
                method = form[param].strip().upper()
                if method not in ("GET", "POST"):
                    raise _TwilioError(400, 21403, f"{param} must be GET or POST")
                changes[key] = method
        for param, (key, prefix) in NUMBER_SID_PARAMS.items():
            if param in form:
                value = form[param].strip()
                if value and not re.fullmatch(prefix + r"[0-9a-fA-F]{32}", value):
                    raise _TwilioError(400, 21421, f"{param} is not a valid SID")
                changes[key] = value or None
        if "FriendlyName" in form:
            changes["friendly_name"] = form["FriendlyName"][:64]
        record.update(changes)
        record["date_updated"] = _now()

    def _create_message(self, form: Any) -> dict[str, Any]:
        to = (form.get("To") or "").strip()
        from_ = (form.get("From") or "").strip()
        body = form.get("Body") or ""
        media = form.getlist("MediaUrl")
        if not to:
            raise _TwilioError(400, 21604, "A 'To' phone number is required.")
        if not _E164.match(to):
            raise _TwilioError(400, 21211, "The 'To' number is not a valid phone number.")
        if not from_:
            raise _TwilioError(400, 21603, "A 'From' phone number is required.")
        if not _E164.match(from_):
            raise _TwilioError(
                400, 21212, "The 'From' number is not a valid phone number, shortcode, or alphanumeric sender ID."
            )
        if not body.strip() and not media:
            raise _TwilioError(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY_CHARS:
            raise _TwilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if to in _MAGIC_SMS_TO:
            code, message = _MAGIC_SMS_TO[to]
            raise _TwilioError(400, code, message)
        with self._lock:
            refused = self._sms_refusals.get(to)
        if refused is not None:
            raise _TwilioError(400, refused, SMS_REFUSALS[refused])
        sid = _new_sid("SM")
        now = _now()
        uri = f"{API_PREFIX}/{self.account_sid}/Messages/{sid}"
        record = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": None,
            "num_media": str(len(media)),
            # One GSM-7 segment holds 160 characters; concatenated ones 153 each.
            "num_segments": "1" if len(body) <= 160 else str(-(-len(body) // 153)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
            "status_callback": form.get("StatusCallback"),
            "media_url_list": media,
        }
        with self._lock:
            self._messages[sid] = record
        log.info("stand-in queued message %s", sid)
        return record

    def _create_call(self, form: Any) -> dict[str, Any]:
        to = (form.get("To") or "").strip()
        from_ = (form.get("From") or "").strip()
        url = (form.get("Url") or "").strip()
        twiml = form.get("Twiml")
        if not to:
            raise _TwilioError(400, 21201, "No 'To' number is specified")
        if not (_E164.match(to) or _CALL_ENDPOINT.match(to)):
            raise _TwilioError(400, 21217, "Phone number does not appear to be valid")
        if not from_:
            raise _TwilioError(400, 21213, "No 'From' number is specified")
        if not _E164.match(from_):
            raise _TwilioError(400, 21212, "Invalid Caller Id")
        if not url and not twiml and not form.get("ApplicationSid"):
            raise _TwilioError(400, 21205, "Url parameter is required.")
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise _TwilioError(400, 21205, "Url is not a valid URL.")
        if to in _MAGIC_CALL_TO:
            code, message = _MAGIC_CALL_TO[to]
            raise _TwilioError(400, code, message)
        sid = _new_sid("CA")
        now = _now()
        uri = f"{API_PREFIX}/{self.account_sid}/Calls/{sid}"
        record = {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": from_,
            "from_formatted": from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "subresource_uris": {
                "notifications": f"{uri}/Notifications.json",
                "recordings": f"{uri}/Recordings.json",
                "payments": f"{uri}/Payments.json",
                "events": f"{uri}/Events.json",
                "siprec": f"{uri}/Siprec.json",
                "streams": f"{uri}/Streams.json",
                "user_defined_message_subscriptions": f"{uri}/UserDefinedMessageSubscriptions.json",
                "user_defined_messages": f"{uri}/UserDefinedMessages.json",
            },
            "to": to,
            "to_formatted": to,
            "trunk_sid": None,
            "uri": f"{uri}.json",
            "url": url or None,
            "method": form.get("Method") or "POST",
            "twiml": twiml,
            "status_callback": form.get("StatusCallback"),
            "status_callback_event": form.getlist("StatusCallbackEvent"),
            "machine_detection": form.get("MachineDetection"),
            "async_amd": form.get("AsyncAmd"),
            "async_amd_status_callback": form.get("AsyncAmdStatusCallback"),
        }
        if record["machine_detection"] not in (None, "Enable", "DetectMessageEnd"):
            raise _TwilioError(400, 21626, "Invalid MachineDetection value")
        with self._lock:
            self._calls[sid] = record
        log.info("stand-in queued call %s", sid)
        return record

    def _update_call(self, record: dict[str, Any], form: Any) -> None:
        status = form.get("Status")
        if status is not None:
            if status not in ("canceled", "completed"):
                raise _TwilioError(400, 21220, "Invalid call state")
            record["status"] = status
            record["end_time"] = _now()
        if form.get("Url"):
            record["url"] = form["Url"]
            record["twiml"] = None
        if form.get("Twiml"):
            record["twiml"] = form["Twiml"]
            record["url"] = None
        record["date_updated"] = _now()

    def _page(
        self,
        key: str,
        store: dict[str, dict[str, Any]],
        filters: dict[str, str | None],
        private: Iterable[str],
    ) -> Response:
        try:
            page_size = min(int(request.args.get("PageSize", DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE)
            page = int(request.args.get("Page", 0))
        except ValueError:
            raise _TwilioError(400, 20001, "Invalid paging parameters") from None
        if page_size < 1 or page < 0:
            raise _TwilioError(400, 20001, "Invalid paging parameters")
        private = tuple(private)
        with self._lock:
            # Twilio lists newest first.
            matching = [
                _public(r, private)
                for r in reversed(list(store.values()))
                if all(value is None or r.get(field) == value for field, value in filters.items())
            ]
        start = page * page_size
        records = matching[start : start + page_size]
        args = {k: v for k, v in request.args.items() if k not in ("Page", "PageToken", "PageSize")}

        def page_uri(n: int) -> str:
            return f"{request.path}?{urlencode({**args, 'PageSize': page_size, 'Page': n})}"

        return jsonify(
            {
                key: records,
                "end": start + len(records) - 1 if records else start,
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1) if start + page_size < len(matching) else None,
                "page": page,
                "page_size": page_size,
                "previous_page_uri": page_uri(page - 1) if page > 0 else None,
                "start": start,
                "uri": page_uri(page),
            }
        )

    # ----- control API over HTTP -------------------------------------------------

    def _add_control_routes(self, app: Flask) -> None:
        @app.put(f"{CONTROL_PREFIX}/recordings/<sid>")
        def put_recording(sid: str) -> tuple[Response, int]:
            duration = request.args.get("duration")
            try:
                record = self.add_recording(
                    sid,
                    request.get_data(),
                    call_sid=request.args.get("call_sid"),
                    duration=int(duration) if duration else None,
                )
            except ValueError as exc:
                raise _TwilioError(400, 20001, str(exc)) from None
            return jsonify(record), 201

        @app.get(f"{CONTROL_PREFIX}/recordings")
        def get_recordings() -> Response:
            return jsonify(self.recordings())

        @app.get(f"{CONTROL_PREFIX}/recordings/deleted")
        def get_deleted_recordings() -> Response:
            return jsonify(self.deleted_recordings())

        @app.get(f"{CONTROL_PREFIX}/messages")
        def get_messages() -> Response:
            return jsonify(self.messages())

        @app.put(f"{CONTROL_PREFIX}/numbers/<phone_number>")
        def put_number(phone_number: str) -> tuple[Response, int]:
            spec = dict(request.get_json(silent=True) or {})
            try:
                record = self.add_number(phone_number, **spec)
            except (TypeError, ValueError) as exc:
                raise _TwilioError(400, 20001, str(exc)) from None
            return jsonify(record), 201

        @app.get(f"{CONTROL_PREFIX}/numbers")
        def get_numbers() -> Response:
            return jsonify(self.numbers())

        @app.post(f"{CONTROL_PREFIX}/messaging_services")
        def post_messaging_service() -> tuple[Response, int]:
            spec = request.get_json(silent=True) or request.form
            try:
                sid = self.add_messaging_service(str(spec["phone_number"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise _TwilioError(400, 20001, f"a Messaging Service needs an account's phone_number: {exc}") from None
            return jsonify({"sid": sid}), 201

        @app.get(f"{CONTROL_PREFIX}/calls")
        def get_calls() -> Response:
            return jsonify(self.calls())

        @app.get(f"{CONTROL_PREFIX}/requests")
        def get_requests() -> Response:
            return jsonify(self.requests())

        @app.post(f"{CONTROL_PREFIX}/reset")
        def post_reset() -> Response:
            self.reset()
            return Response(status=204)

        @app.post(f"{CONTROL_PREFIX}/fail_next")
        def post_fail_next() -> Response:
            spec = request.get_json(silent=True) or request.form
            try:
                retry_after = spec.get("retry_after")
                self.fail_next(
                    str(spec["path_suffix"]),
                    int(spec["status"]),
                    int(spec.get("count", 1)),
                    retry_after=int(retry_after) if retry_after is not None else None,
                    method=str(spec["method"]) if spec.get("method") else None,
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise _TwilioError(400, 20001, f"fail_next needs path_suffix and status: {exc}") from None
            return Response(status=204)

        @app.post(f"{CONTROL_PREFIX}/refuse_sms_to")
        def post_refuse_sms_to() -> Response:
            spec = request.get_json(silent=True) or request.form
            try:
                self.refuse_sms_to(str(spec["number"]), int(spec["code"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise _TwilioError(400, 20001, f"refuse_sms_to needs number and a known code: {exc}") from None
            return Response(status=204)

        @app.put(f"{CONTROL_PREFIX}/calls/<sid>")
        def put_call(sid: str) -> tuple[Response, int]:
            spec = request.get_json(silent=True) or request.form
            try:
                record = self.add_call(sid, str(spec["from"]), str(spec["to"]),
                                       status=str(spec.get("status", "completed")),
                                       direction=str(spec.get("direction", "inbound")))
            except (KeyError, TypeError, ValueError) as exc:
                raise _TwilioError(400, 20001, f"a call needs from and to: {exc}") from None
            return jsonify(record), 201

        @app.post(f"{CONTROL_PREFIX}/calls/<sid>/finish")
        def post_finish_call(sid: str) -> Response:
            spec = request.get_json(silent=True) or request.form
            try:
                callbacks = self.finish_call(sid, spec.get("answered_by") or None, status=spec.get("status") or None,
                                             duration=int(spec.get("duration") or 12))
            except KeyError:
                raise _not_found() from None
            except ValueError as exc:
                raise _TwilioError(400, 20001, str(exc)) from None
            return jsonify([{"url": c.url, "params": c.params} for c in callbacks])

        @app.post(f"{CONTROL_PREFIX}/messages/<sid>/finish")
        def post_finish_message(sid: str) -> Response:
            spec = request.get_json(silent=True) or request.form
            try:
                code = spec.get("error_code")
                callbacks = self.finish_message(sid, str(spec.get("status") or "delivered"),
                                                int(code) if code else None)
            except KeyError:
                raise _not_found() from None
            except ValueError as exc:
                raise _TwilioError(400, 20001, str(exc)) from None
            return jsonify([{"url": c.url, "params": c.params} for c in callbacks])

        @app.post(f"{CONTROL_PREFIX}/delay_next")
        def post_delay_next() -> Response:
            spec = request.get_json(silent=True) or request.form
            try:
                self.delay_next(str(spec["path_suffix"]), float(spec["seconds"]), int(spec.get("count", 1)))
            except (KeyError, TypeError, ValueError) as exc:
                raise _TwilioError(400, 20001, f"delay_next needs path_suffix and seconds: {exc}") from None
            return Response(status=204)


def _is_api(path: str) -> bool:
    """A Twilio API path (authenticated, logged), not the stand-in's own control routes."""
    return path.startswith(API_PREFIX + "/") or path == MESSAGING_PREFIX or path.startswith(MESSAGING_PREFIX + "/")


def _v1_page(key: str, records: list[dict[str, Any]]) -> Response:
    """One page holding every record, in the v1 APIs' shape (``meta.key`` names the list)."""
    url = f"{PUBLIC_MESSAGING_URL}{request.path}"
    return jsonify({key: records, "meta": {"page": 0, "page_size": max(len(records), 50),
                                           "first_page_url": f"{url}?PageSize=50&Page=0", "previous_page_url": None,
                                           "url": f"{url}?PageSize=50&Page=0", "next_page_url": None, "key": key}})


def _json_sid(name: str) -> str:
    if not name.endswith(".json"):
        raise _not_found()
    return name[: -len(".json")]


def _not_found() -> _TwilioError:
    return _TwilioError(404, 20404, f"The requested resource {request.path} was not found")


def main(argv: list[str] | None = None) -> int:
    """``python -m ivr.dev.twilio_standin``: serve the stand-in until interrupted."""
    parser = argparse.ArgumentParser(description="Local stand-in for the Twilio REST API (tests and development).")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1; the control API has no auth)"
    )
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--account-sid", help="default: TWILIO_ACCOUNT_SID from the settings")
    parser.add_argument("--auth-token", help="default: TWILIO_AUTH_TOKEN from the settings")
    args = parser.parse_args(argv)
    settings = load_settings()
    account_sid = args.account_sid or settings.twilio_account_sid
    auth_token = args.auth_token or settings.twilio_auth_token
    if not auth_token:
        parser.error("no auth token: set TWILIO_AUTH_TOKEN or pass --auth-token")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    standin = TwilioStandin(account_sid, auth_token, host=args.host, port=args.port)
    # The demo practice's line, so `flask --app app twilio connect --number +15555550100` works against it.
    standin.add_number(DEMO_PRACTICE_NUMBER)
    standin.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
