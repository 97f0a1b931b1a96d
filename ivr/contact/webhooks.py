"""Twilio's callbacks about outbound touches (``/twilio/outbound/…``), signed like every webhook.

* ``message-status``: a text's ``MessageStatus`` (delivered, undelivered, failed) → the touch's outcome; one
  that reached nobody re-plans at once, so the next channel goes if the rules allow (the same text is
  never retried: its id is used);
* ``answer``: the call's ``Url``, fetched as soon as it is answered (async AMD connects at once);
* ``amd``: AMD's ``AnsweredBy`` → a person (the call goes on), a machine (the neutral voicemail only with
  consent, else hang up), ``machine_end_other`` the same, recorded as uncertain, a fax (hang up, never
  call the number again);
* ``call-status``: the call's end (``CallStatus``, ``CallDuration``, ``AnsweredBy``, ``ErrorCode``).

A permanent error code (``ivr.contact.undeliverable``) on a text's or a call's status flags the number
undeliverable on that channel and cancels its pending touches there.

A callback about a touch we do not know is acknowledged and ignored; one that fails answers 503 so that
Twilio tries it again.  Inbound texts to a pool number come through the SMS webhook
(``ivr.telephony.webhooks.inbound_sms``) to ``Outbound.inbound_text``.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from ivr.contact import callbacks
from ivr.telephony import twiml
from ivr.telephony.webhooks import never_fails, verify_signature

log = logging.getLogger(__name__)
bp = Blueprint("twilio_outbound", __name__, url_prefix="/twilio/outbound")
bp.before_request(verify_signature)


def _ql():
    return current_app.extensions["quietline"]


def _ack(status: int = 200) -> Response:
    return Response(twiml.acknowledge(), status=status, mimetype="text/xml")


@bp.post("/message-status")
def message_status() -> Response:
    """A text's delivery status."""
    form = request.form
    try:
        callbacks.message_status(_ql(), form.get("MessageSid", ""), form.get("MessageStatus", ""),
                                 form.get("ErrorCode"))
    except Exception:
        log.exception("outbound message status callback failed")
        return _ack(503)
    return _ack()


@bp.post("/call-status")
def call_status() -> Response:
    """An outbound call's progress and end."""
    form = request.form
    try:
        callbacks.call_status(_ql(), form.get("CallSid", ""), form.get("CallStatus", ""),
                              form.get("CallDuration"), form.get("AnsweredBy"), form.get("ErrorCode"))
    except Exception:
        log.exception("outbound call status callback failed")
        return _ack(503)
    return _ack()


@bp.post("/amd")
def amd() -> Response:
    """Answering-machine detection's result (async: the call is already connected)."""
    form = request.form
    try:
        callbacks.amd_result(_ql(), form.get("CallSid", ""), form.get("AnsweredBy", ""))
    except Exception:
        log.exception("outbound AMD callback failed")
        return _ack(503)
    return _ack()


@bp.post("/answer")
@never_fails
def answer() -> str:
    """An answered outbound call placed with the old answer URL: the conversation of ``/twilio/voice?touch=``."""
    form = request.form
    return callbacks.answer(_ql(), form.get("CallSid", ""), request.args.get("touch", ""), form.get("To"),
                            int(request.args.get("turn") or 0) if (request.args.get("turn") or "0").isdigit() else 0)
