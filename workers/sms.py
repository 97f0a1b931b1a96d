"""Outbound texts, sent from the outbox by id so no number or body travels in a job payload."""
from __future__ import annotations

import logging

from ivr import twilio_rest
from ivr.jobs import OUTBOX_PREFIX
from ivr.practice.opt_outs import opted_out

from .runtime import services

log = logging.getLogger(__name__)
OPTED_OUT = "opted-out"


def send_sms(message_key: str) -> str:
    """Send one outbox message through Twilio; a retry after success sends nothing.

    Returns the message SID, or ``"opted-out"`` when the number texted STOP (checked
    here, at the last moment, so no path to a client's phone can skip it).
    """
    ql = services()
    key = OUTBOX_PREFIX + message_key
    message = {k.decode(): v.decode() for k, v in ql.redis.hgetall(key).items()}
    if not message:
        raise LookupError(f"outbox message {message_key} is gone (expired?)")
    if message.get("sid") or message.get("skipped"):
        return message.get("sid") or message["skipped"]
    with ql.extra["db"].sessions() as db:
        if opted_out(db, message["to"]):
            ql.redis.hset(key, "skipped", OPTED_OUT)
            log.info("outbox message %s not sent: the number opted out of texts", message_key)
            return OPTED_OUT
    client = twilio_rest.make_client(ql.settings)
    sid = twilio_rest.send_sms(client, to=message["to"], from_=ql.settings.sms_from, body=message["body"])
    ql.redis.hset(key, "sid", sid)
    return sid
