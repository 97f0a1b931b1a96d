"""The practice's Twilio number as Twilio's REST API has it: its webhook URLs, read and changed.

Through the official client (``ivr.telephony.twilio_rest.make_client``), so the same code talks to
Twilio and to the local stand-in.  IncomingPhoneNumbers (``/2010-04-01/Accounts/{Sid}/IncomingPhoneNumbers``)
holds the URLs; the Messaging Services PhoneNumbers resource (``messaging.twilio.com/v1/Services/{Sid}/
PhoneNumbers``) says whether a Messaging Service has the number, whose own inbound settings then decide
where texts to it go.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

# What ``twilio connect`` manages on a number, by twilio-python's attribute (and update keyword) names.
URL_FIELDS = ("voice_url", "voice_fallback_url", "status_callback", "sms_url")
METHOD_FIELDS = ("voice_method", "voice_fallback_method", "status_callback_method", "sms_method")
# An application SID on the number makes Twilio ignore the number's own URLs.
APPLICATION_FIELDS = ("voice_application_sid", "sms_application_sid")
MANAGED_FIELDS = URL_FIELDS + METHOD_FIELDS + APPLICATION_FIELDS


@dataclass(frozen=True)
class NumberConfig:
    """One IncomingPhoneNumber: its SID, E.164 number and the fields we manage (None: unset at Twilio)."""

    sid: str
    phone_number: str
    voice_url: str | None = None
    voice_method: str | None = None
    voice_fallback_url: str | None = None
    voice_fallback_method: str | None = None
    status_callback: str | None = None
    status_callback_method: str | None = None
    sms_url: str | None = None
    sms_method: str | None = None
    voice_application_sid: str | None = None
    sms_application_sid: str | None = None
    trunk_sid: str | None = None

    @classmethod
    def from_instance(cls, instance: Any) -> NumberConfig:
        """From twilio-python's IncomingPhoneNumberInstance (empty strings read as unset)."""
        values: dict[str, Any] = {f.name: (getattr(instance, f.name, None) or None) for f in dataclasses.fields(cls)}
        return cls(**values)

    def managed(self) -> dict[str, str | None]:
        """The fields ``twilio connect`` sets, by name."""
        return {name: getattr(self, name) for name in MANAGED_FIELDS}


def http_status(exc: TwilioException) -> int | None:
    """The HTTP status of a refusal: a TwilioRestException's, or the response a failed list page carries
    (twilio-python raises a bare TwilioException("Unable to fetch page", response) for those)."""
    if isinstance(exc, TwilioRestException):
        return int(exc.status) if exc.status is not None else None
    response = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(response, "status_code", None)
    return int(status) if status is not None else None


class NumberNotOnAccount(LookupError):
    """The account has no IncomingPhoneNumber with that number."""


def find_number(client: Client, e164: str) -> NumberConfig:
    """The account's number ``e164``; NumberNotOnAccount when it has none (TwilioRestException on refusal)."""
    # Twilio's PhoneNumber filter also matches partial numbers: keep the exact one.
    for instance in client.incoming_phone_numbers.list(phone_number=e164, limit=50):
        if instance.phone_number == e164:
            return NumberConfig.from_instance(instance)
    raise NumberNotOnAccount(e164)


def fetch_number(client: Client, sid: str) -> NumberConfig:
    """Re-read one number by its SID (PN…)."""
    return NumberConfig.from_instance(client.incoming_phone_numbers(sid).fetch())


def update_number(client: Client, sid: str, changes: dict[str, str | None]) -> NumberConfig:
    """Set the given managed fields (None clears one, sent as an empty value); returns what Twilio answered."""
    unknown = set(changes) - set(MANAGED_FIELDS)
    if unknown:
        raise ValueError(f"not a field twilio connect manages: {sorted(unknown)}")
    kwargs = {name: ("" if value is None else value) for name, value in changes.items()}
    return NumberConfig.from_instance(client.incoming_phone_numbers(sid).update(**kwargs))


def messaging_services_of(client: Client, number_sid: str) -> list[str] | None:
    """SIDs (MG…) of the Messaging Services that have the number; None when the account will not say
    (the Messaging API refused: a restricted API key, a region without it)."""
    found: list[str] = []
    try:
        for service in client.messaging.v1.services.list(limit=1000):
            for member in client.messaging.v1.services(service.sid).phone_numbers.list(limit=1000):
                if member.sid == number_sid:
                    found.append(str(service.sid))
    except TwilioException as exc:
        if http_status(exc) in (403, 404):
            return None
        raise
    return found
