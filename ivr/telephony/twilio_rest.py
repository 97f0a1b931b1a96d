"""The official twilio client, pointed wherever ``Settings.twilio_api_url`` says.

Production talks to https://api.twilio.com; tests and development talk to the
local stand-in (``ivr.dev.twilio_standin``).  Either way the code path is the real
twilio-python client: the only seam is the HTTP client it is given, which swaps
the scheme and host of every *.twilio.com URL for the configured base URL and
keeps the path, so the stand-in sees exactly the requests Twilio would.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from ivr.config import Settings
from ivr.core.privacy import mask_phone

log = logging.getLogger(__name__)

REAL_API_URL = "https://api.twilio.com"
# twilio-python waits forever by default; a receptionist must not hang on a dead socket.
DEFAULT_TIMEOUT = 30.0
DOWNLOAD_CHUNK = 64 * 1024
_RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")


def _is_twilio_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "twilio.com" or host.endswith(".twilio.com")


def _normalise_base(api_url: str) -> str | None:
    """The base URL to rewrite to, or None when it is Twilio itself (no rewriting)."""
    base = (api_url or REAL_API_URL).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"twilio_api_url must be an absolute http(s) URL, got {api_url!r}")
    if parts.scheme == "https" and parts.netloc.lower() == "api.twilio.com" and not parts.path:
        return None
    return base


class RedirectingHttpClient(TwilioHttpClient):
    """TwilioHttpClient that sends every *.twilio.com request to ``base_url`` instead.

    With ``base_url=None`` it rewrites nothing and behaves like the stock client.
    Its request logs carry method and path only: twilio-python's own logging
    would print query strings, and list filters put phone numbers there.
    """

    def __init__(self, base_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = _normalise_base(base_url) if base_url else None
        # The Date header of the last answer and our clock (time.time()) when it came: `flask doctor`
        # compares the two when no NTP daemon can say whether the clock is in sync.
        self.last_response_date: str | None = None
        self.last_response_at: float | None = None

    def rewrite(self, url: str) -> str:
        """``url`` with a twilio.com scheme+host replaced by the base URL (path and query kept)."""
        if self.base_url is None:
            return url
        parts = urlsplit(url)
        if not _is_twilio_host(parts.hostname or ""):
            return url
        base = urlsplit(self.base_url)
        return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, parts.fragment))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Same as TwilioHttpClient.request, against the rewritten URL."""
        response = super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self.last_response_date = (response.headers or {}).get("Date")
        self.last_response_at = time.time()
        return response

    def log_request(self, kwargs: dict[str, Any]) -> None:
        self.logger.debug("twilio %s %s", kwargs["method"], urlsplit(kwargs["url"]).path)

    def log_response(self, status_code: int, response: Any) -> None:
        self.logger.debug("twilio response %s", status_code)


def make_client(settings: Settings, *, timeout: float | None = DEFAULT_TIMEOUT) -> Client:
    """The official twilio Client for ``settings``, talking to ``settings.twilio_api_url``."""
    http_client = RedirectingHttpClient(settings.twilio_api_url, timeout=timeout)
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)


def send_sms(
    client: Client,
    *,
    to: str,
    from_: str,
    body: str,
    status_callback: str | None = None,
) -> str:
    """Queue one SMS and return its Message SID (raises TwilioRestException on refusal)."""
    message = client.messages.create(
        to=to,
        from_=from_,
        body=body,
        status_callback=status_callback if status_callback is not None else values.unset,
    )
    if not message.sid:
        raise TwilioException("Twilio accepted the message but returned no SID")
    log.info("sms %s queued to %s", message.sid, mask_phone(to))
    return message.sid


# Twilio's codes for a text it refuses for good (the HTTP status is 400): waiting will not change them.
# https://www.twilio.com/docs/api/errors — any other 4xx but 429 is treated the same way.
PERMANENT_SMS_CODES = {
    21211: "invalid 'To' number",
    21408: "region not enabled",
    21610: "recipient opted out (STOP)",
    21612: "'To' number cannot receive texts",
    21614: "'To' number is not a mobile number",
    21606: "'From' number cannot send texts",
}


def refused_for_good(exc: TwilioRestException) -> bool:
    """Twilio answered and will answer the same again: a 4xx other than 429 (Too Many Requests)."""
    return 400 <= int(exc.status or 0) < 500 and exc.status != 429


def call_status(client: Client, call_sid: str) -> tuple[str, str | None] | None:
    """Twilio's status of a call (queued, ringing, in-progress, completed, busy, failed, no-answer,
    canceled) and its calling number; None when Twilio does not know the call (404)."""
    call = _fetch_call(client, call_sid)
    return None if call is None else (str(call.status or ""), (call._from or None))


def _fetch_call(client: Client, call_sid: str) -> Any:
    """``Calls(sid).fetch()``: Twilio's call instance, or None when Twilio does not know the call (404)."""
    try:
        return client.calls(call_sid).fetch()
    except TwilioRestException as exc:
        if exc.status == 404:
            return None
        raise


@dataclass(frozen=True)
class CallOutcome:
    """What Twilio's REST API says of a call: ``status`` (queued, ringing, in-progress, completed, busy,
    failed, no-answer, canceled), ``duration`` (seconds, as Twilio's string), ``answered_by`` (AMD)."""

    status: str
    duration: str | None
    answered_by: str | None


def call_outcome(client: Client, call_sid: str) -> CallOutcome | None:
    """``Calls(sid).fetch()`` as a :class:`CallOutcome`; None when Twilio does not know the call (404)."""
    call = _fetch_call(client, call_sid)
    if call is None:
        return None
    duration = getattr(call, "duration", None)
    return CallOutcome(str(call.status or ""), None if duration is None else str(duration),
                       getattr(call, "answered_by", None) or None)


def recent_recordings(client: Client, limit: int = 200) -> list[tuple[str, str, str]]:
    """(recording SID, call SID, status) of the account's newest recordings, newest first."""
    return [(r.sid, r.call_sid, str(r.status or "")) for r in client.recordings.list(limit=limit)]


def find_sms(client: Client, *, to: str, from_: str, body: str, limit: int = 50) -> str | None:
    """The SID of a text with exactly this body that Twilio has from ``from_`` to ``to`` (newest first), if any."""
    for message in client.messages.list(to=to, from_=from_, limit=limit):
        if message.body == body:
            return message.sid
    return None


def delete_recording(client: Client, recording_sid: str) -> bool:
    """Delete Twilio's copy of a recording; False if Twilio no longer had it."""
    if not _RECORDING_SID.match(recording_sid or ""):
        # The SID is formatted into the URL path unescaped by twilio-python.
        raise ValueError(f"not a recording SID: {recording_sid!r}")
    try:
        client.recordings(recording_sid).delete()
    except TwilioRestException as exc:
        if exc.status == 404:
            log.info("recording %s was already gone from Twilio", recording_sid)
            return False
        raise
    log.info("recording %s deleted from Twilio", recording_sid)
    return True


def _download_context(
    client_or_settings: Client | Settings,
) -> tuple[tuple[str, str], RedirectingHttpClient, requests.Session | None, float | None]:
    if isinstance(client_or_settings, Settings):
        settings = client_or_settings
        rewriter = RedirectingHttpClient(settings.twilio_api_url, pool_connections=False)
        return (settings.twilio_account_sid, settings.twilio_auth_token), rewriter, None, DEFAULT_TIMEOUT
    client = client_or_settings
    http_client = client.http_client
    if isinstance(http_client, RedirectingHttpClient):
        rewriter = http_client
    else:
        rewriter = RedirectingHttpClient(None, pool_connections=False)
    session = getattr(http_client, "session", None)
    timeout = getattr(http_client, "timeout", None) or DEFAULT_TIMEOUT
    return (client.username, client.password), rewriter, session, timeout


def _media_url(recording_url: str) -> str:
    parts = urlsplit(recording_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("recording URL must be an absolute http(s) URL")
    path = parts.path.rstrip("/")
    if not path.lower().endswith(".wav"):
        path += ".wav"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _error_from(response: requests.Response, url: str) -> TwilioRestException:
    message = "Unable to fetch recording"
    code: int | None = response.status_code
    try:
        payload = response.json()
        if isinstance(payload, dict):
            message = f"{message}: {payload.get('message', '')}".rstrip(": ")
            code = payload.get("code", code)
    except ValueError:
        pass
    return TwilioRestException(response.status_code, url, message, code, "GET")


# The longest message Twilio's <Record> keeps is 4 hours; at 8 kHz 16-bit mono that is under 250 MB.
MAX_RECORDING_BYTES = 256 * 1024 * 1024


def fetch_recording_bytes(client_or_settings: Client | Settings, recording_url: str) -> bytes:
    """Download ``recording_url + ".wav"`` into memory (a voicemail never touches the disk in clear).

    Raises TwilioRestException for Twilio's refusals (404 while it is not ready), TwilioException when
    the body is shorter than Twilio's Content-Length (a cut connection) or too large, ValueError for a
    URL that is not Twilio's (or the configured stand-in's): the auth token goes nowhere else.
    """
    auth, rewriter, session, timeout = _download_context(client_or_settings)
    source = _media_url(recording_url)
    host = urlsplit(source).hostname or ""
    base_host = urlsplit(rewriter.base_url).hostname if rewriter.base_url else None
    if not _is_twilio_host(host) and host != base_host:
        raise ValueError("refusing to send Twilio credentials to a non-Twilio host")
    url = rewriter.rewrite(source)
    recording = urlsplit(source).path.rsplit("/", 1)[-1]
    getter = session.get if session is not None else requests.get
    with getter(url, auth=auth, stream=True, timeout=timeout) as response:
        if response.status_code != 200:
            raise _error_from(response, url)
        expected = None if response.headers.get("Content-Encoding") else response.headers.get("Content-Length")
        body = bytearray()
        for chunk in response.iter_content(DOWNLOAD_CHUNK):
            body += chunk
            if len(body) > MAX_RECORDING_BYTES:
                raise TwilioException(f"recording {recording} is larger than {MAX_RECORDING_BYTES} bytes")
    if expected is not None and expected.isdigit() and int(expected) != len(body):
        raise TwilioException(f"recording {recording} download truncated: {len(body)} of {expected} bytes")
    log.info("recording %s downloaded (%d bytes)", recording, len(body))
    return bytes(body)

