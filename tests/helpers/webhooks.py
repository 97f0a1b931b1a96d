"""Posting to the webhooks exactly as Twilio does: signed against PUBLIC_BASE_URL."""
from __future__ import annotations

from twilio.request_validator import RequestValidator

from tests.helpers.service import ACCOUNT, PUBLIC, TOKEN

CALLER = "+15551230001"


def sign(path: str, params: dict[str, str], token: str = TOKEN, base: str = PUBLIC) -> str:
    return RequestValidator(token).compute_signature(base + path, params)


def post(client, path: str, params: dict[str, str], **kw):
    return client.post(path, data=params, headers={"X-Twilio-Signature": sign(path, params, **kw)})


def start_params(sid: str = "CA" + "1" * 32, caller: str = CALLER) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": ACCOUNT, "From": caller, "To": "+15550100000", "CallStatus": "ringing",
            "Direction": "inbound", "ApiVersion": "2010-04-01"}
