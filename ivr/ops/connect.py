"""``flask --app app twilio connect``: point the practice's Twilio number at this service, and undo it.

Sets the number's VoiceUrl, VoiceFallbackUrl, StatusCallback and SmsUrl (all POST) from
PUBLIC_BASE_URL through Twilio's REST API, re-reads the number to confirm, and keeps the values it
replaced (``<instance>/twilio/<number SID>.previous.json``, 0600) for ``--rollback``.  Each connect that
changes something adds the values it replaced to that file's history; each rollback puts back the
newest and drops it, so a connect run again after a failure (or with a new PUBLIC_BASE_URL) never loses
the values from before it.  A second run with nothing to change changes nothing.  An
application SID on the number (which makes Twilio ignore the number's own URLs) is cleared and saved
the same way; a Messaging Service that has the number is only warned about: its own settings may take
over inbound texts, and taking the number out of it is the practice's decision.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from ivr.config import LOOPBACK_HOSTS, Settings, is_development_token
from ivr.exceptions import IvrError
from ivr.private_files import private_dir, write_atomically
from ivr.telephony.twilio_numbers import (
    MANAGED_FIELDS,
    NumberConfig,
    NumberNotOnAccount,
    fetch_number,
    find_number,
    http_status,
    messaging_services_of,
    update_number,
)
from ivr.telephony.urls import public_url

# Exit statuses of the commands (0: done, or nothing to do).
EXIT_USAGE = 2          # a bad --number, PUBLIC_BASE_URL refused, nothing to roll back
EXIT_NOT_ON_ACCOUNT = 3
EXIT_AUTH = 4           # Twilio refused the account SID / auth token
EXIT_UNCONFIRMED = 5    # Twilio took the change but reading the number back shows other values
EXIT_TWILIO = 6         # Twilio unreachable or another refusal

# Which of our routes each URL field names (ivr.telephony.urls.PATHS).
ROUTES = {"voice_url": "voice", "voice_fallback_url": "fallback", "status_callback": "status", "sms_url": "sms"}
METHODS = {"voice_url": "voice_method", "voice_fallback_url": "voice_fallback_method",
           "status_callback": "status_callback_method", "sms_url": "sms_method"}
STATE_DIR = "twilio"


class ConnectError(IvrError):
    """A ``twilio`` command cannot do what it was asked; ``exit_code`` is the command's exit status."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def check_credentials(settings: Settings) -> None:
    """Refuse, before anything is sent, the development auth token (the one `make run` writes) addressed to the
    real Twilio: Twilio would answer 401, which reads as "your credentials are wrong", and the token would have
    left the machine for nothing.  Raises ConnectError (EXIT_AUTH) saying how to rehearse against the running
    stand-in instead, or which settings to give for the real account."""
    host = urlsplit(settings.twilio_api_url).hostname or ""
    if is_development_token(settings.twilio_auth_token) and host not in LOOPBACK_HOSTS:
        raise ConnectError(
            "TWILIO_AUTH_TOKEN is the development token of `make run`, and TWILIO_API_URL is "
            f"{settings.twilio_api_url}: nothing was sent. To rehearse against the stand-in of a running `make run`, "
            "give its addresses, e.g. "
            "TWILIO_API_URL=http://127.0.0.1:8010 PUBLIC_BASE_URL=http://127.0.0.1:8000 (the ports it printed); "
            "to go live, set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to your Twilio account's", EXIT_AUTH)


@dataclass(frozen=True)
class Outcome:
    """What a connect or rollback did: the number, the changes (field → (before, after)), warnings."""

    number: NumberConfig
    changes: dict[str, tuple[str | None, str | None]]
    warnings: list[str] = field(default_factory=list)
    saved: Path | None = None


def e164(raw: str, region: str = "US") -> str:
    """``raw`` as E.164 (ConnectError when it is not a possible phone number)."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise ConnectError(f"--number {raw!r} is not a phone number ({exc})", EXIT_USAGE) from None
    if not phonenumbers.is_possible_number(number):
        raise ConnectError(f"--number {raw!r} is not a possible phone number", EXIT_USAGE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def uses_standin(settings: Settings) -> bool:
    """REST calls go to a local stand-in (development and tests), not to Twilio."""
    return (urlsplit(settings.twilio_api_url).hostname or "") in LOOPBACK_HOSTS


def check_public_base_url(settings: Settings) -> None:
    """ConnectError unless PUBLIC_BASE_URL is https (http only against a local stand-in)."""
    url = settings.public_base_url
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and uses_standin(settings):
        return
    raise ConnectError(f"PUBLIC_BASE_URL must be an https:// URL for Twilio to call (got {url!r}): callers' "
                       "answers must never travel in clear. Put the service behind TLS first (docs/deploy.md).",
                       EXIT_USAGE)


def wanted(public_base_url: str) -> dict[str, str | None]:
    """The managed fields as Quietline needs them: our four webhooks, POST, no application SIDs."""
    values: dict[str, str | None] = {}
    for url_field, route in ROUTES.items():
        values[url_field] = public_url(public_base_url, route)
        values[METHODS[url_field]] = "POST"
    values["voice_application_sid"] = None
    values["sms_application_sid"] = None
    return values


def differences(current: NumberConfig, target: dict[str, str | None]) -> dict[str, tuple[str | None, str | None]]:
    """field → (now, wanted) for each managed field that must change (pure).

    A Messaging Service's SID (MG…) in ``sms_application_sid`` is left alone: taking the number out of
    its service is the practice's decision (``in_messaging_service_warning`` says how).
    """
    out: dict[str, tuple[str | None, str | None]] = {}
    for name, value in target.items():
        now = getattr(current, name)
        if name == "sms_application_sid" and (now or "").startswith("MG"):
            continue
        if (now or None) != (value or None):
            out[name] = (now, value)
    return out


def in_messaging_service_warning(client: Client, number: NumberConfig) -> str | None:
    """The warning to give when a Messaging Service has the number (or when that cannot be checked)."""
    services = messaging_services_of(client, number.sid)
    shown = number.sms_application_sid or ""
    if shown.startswith("MG") and shown not in (services or []):
        services = [*(services or []), shown]
    if services is None:
        return ("could not check whether a Messaging Service has this number (the Messaging API refused): if one "
                "has it, its inbound settings may take over texts to it")
    if services:
        return (f"the number belongs to Messaging Service {', '.join(services)}: that service's inbound settings "
                "(Integration, 'Send a webhook' or 'Defer to sender's webhook') decide where texts to it go. "
                "Choose 'Defer to sender's webhook' there, or take the number out of the service, so texts reach "
                "the number's SmsUrl (Quietline).")
    return None


def state_path(instance_dir: str | os.PathLike[str], number_sid: str) -> Path:
    """Where the values a connect replaced are kept until rolled back."""
    return Path(instance_dir) / STATE_DIR / f"{number_sid}.previous.json"


def _write_private_json(path: Path, payload: dict) -> None:
    private_dir(path.parent)
    write_atomically(path, (json.dumps(payload, indent=2) + "\n").encode())


def _twilio_errors(what: str) -> Callable[[Exception], ConnectError]:
    def convert(exc: Exception) -> ConnectError:
        status = http_status(exc) if isinstance(exc, TwilioException) else None
        if status == 401:
            return ConnectError("Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (HTTP 401): check both "
                                "in the Twilio Console (Account info)", EXIT_AUTH)
        if isinstance(exc, TwilioRestException):
            return ConnectError(f"Twilio refused to {what}: HTTP {exc.status}, code {exc.code}: {exc.msg}",
                                EXIT_TWILIO)
        if status is not None:
            return ConnectError(f"Twilio refused to {what}: HTTP {status}", EXIT_TWILIO)
        return ConnectError(f"could not reach Twilio to {what}: {exc}", EXIT_TWILIO)
    return convert


def lookup(client: Client, number: str) -> NumberConfig:
    """The account's number (ConnectError: not on the account, auth, Twilio unreachable)."""
    try:
        return find_number(client, number)
    except NumberNotOnAccount:
        raise ConnectError(f"{number} is not a number of this Twilio account (TWILIO_ACCOUNT_SID): check the "
                           "number, or the account (a subaccount has its own numbers)", EXIT_NOT_ON_ACCOUNT) from None
    except (TwilioException, OSError) as exc:
        raise _twilio_errors("look the number up")(exc) from None


def _apply(client: Client, current: NumberConfig, changes: dict[str, str | None]) -> NumberConfig:
    """Update, then re-read the number and check every changed field (ConnectError otherwise)."""
    try:
        update_number(client, current.sid, changes)
        after = fetch_number(client, current.sid)
    except (TwilioException, OSError) as exc:
        raise _twilio_errors("update the number")(exc) from None
    wrong = {name: getattr(after, name) for name, value in changes.items()
             if (getattr(after, name) or None) != (value or None)}
    if wrong:
        raise ConnectError(f"{current.phone_number}: Twilio took the change but the number now reads "
                           f"{wrong}: check it in the Twilio Console", EXIT_UNCONFIRMED)
    return after


def connect(client: Client, settings: Settings, number: str, instance_dir: str | os.PathLike[str],
            now: Callable[[], dt.datetime]) -> Outcome:
    """Point ``number`` (E.164) at PUBLIC_BASE_URL's webhooks; keep what it replaced for rollback."""
    check_public_base_url(settings)
    current = lookup(client, number)
    changes = differences(current, wanted(settings.public_base_url))
    warnings = []
    if current.trunk_sid:
        warnings.append(f"the number is on SIP trunk {current.trunk_sid}: Twilio sends its calls to the trunk, not "
                        "to VoiceUrl, until it is taken off the trunk")
    try:
        warning = in_messaging_service_warning(client, current)
    except (TwilioException, OSError) as exc:
        raise _twilio_errors("look up Messaging Services")(exc) from None
    if warning:
        warnings.append(warning)
    if not changes:
        return Outcome(current, {}, warnings)
    saved = state_path(instance_dir, current.sid)
    history = _history(saved)
    history.append({"saved_at": now().astimezone(dt.UTC).isoformat(), "previous": current.managed()})
    _write_private_json(saved, {"number_sid": current.sid, "phone_number": current.phone_number,
                                "history": history})
    after = _apply(client, current, {name: new for name, (_, new) in changes.items()})
    return Outcome(after, changes, warnings, saved)


def _history(path: Path) -> list[dict]:
    """The values earlier connects replaced, oldest first ([] when none are kept).

    ConnectError when the file cannot be read: it is never overwritten then, since it may hold the only
    copy of the number's settings from before Quietline.
    """
    try:
        saved = json.loads(path.read_text())
        history = saved["history"]
        if not isinstance(history, list) or not all(isinstance(e.get("previous"), dict) for e in history):
            raise TypeError("history is not a list of saved values")
        return history
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConnectError(f"{path} is not readable ({exc}): move it aside (it holds the number's earlier "
                           "settings) and run this again", EXIT_USAGE) from None


def rollback(client: Client, number: str, instance_dir: str | os.PathLike[str]) -> Outcome:
    """Put back the values the last connect replaced, then drop them (ConnectError when none are kept)."""
    current = lookup(client, number)
    path = state_path(instance_dir, current.sid)
    history = _history(path)
    if not history:
        raise ConnectError(f"nothing to roll back for {number}: no earlier values kept in {path.parent}",
                           EXIT_USAGE)
    previous = {name: value for name, value in history[-1]["previous"].items() if name in MANAGED_FIELDS}
    changes = differences(current, previous)
    after = _apply(client, current, {name: new for name, (_, new) in changes.items()}) if changes else current
    if len(history) > 1:
        _write_private_json(path, {"number_sid": current.sid, "phone_number": current.phone_number,
                                   "history": history[:-1]})
    else:
        path.unlink()
    return Outcome(after, changes, saved=path if len(history) > 1 else None)
