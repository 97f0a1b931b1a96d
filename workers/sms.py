"""Outbound texts, sent from the outbox by id so no number or body travels in a job payload."""
from __future__ import annotations

from ivr import twilio_rest
from ivr.jobs import OUTBOX_PREFIX

from .runtime import services


def send_sms(message_key: str) -> str:
    """Send one outbox message through Twilio; a retry after success sends nothing."""
    ql = services()
    key = OUTBOX_PREFIX + message_key
    message = {k.decode(): v.decode() for k, v in ql.redis.hgetall(key).items()}
    if not message:
        raise LookupError(f"outbox message {message_key} is gone (expired?)")
    if message.get("sid"):
        return message["sid"]
    client = twilio_rest.make_client(ql.settings)
    sid = twilio_rest.send_sms(client, to=message["to"], from_=ql.settings.sms_from, body=message["body"])
    ql.redis.hset(key, "sid", sid)
    return sid
