"""Texts to clients, sent from the call's outbox by id so no number or body travels in a job payload.

The number and body wait in the call's Redis record (``ivr.telephony.call_store``: the outbox)
only until the text is sent or given up; then the entry is deleted.  A text Twilio
refuses for good (21610 opted out, 21211 invalid number, 21614 not a mobile, any
4xx but 429: ``ivr.telephony.twilio_rest.refused_for_good``) is not retried: the job fails at
once, and the call is escalated as ``text_failed`` so staff get the client what the
text promised.  A text still failing after its last retry is escalated the same way, and so is
one to a number that opted out (STOP) after the call promised it.
"""
from __future__ import annotations

import logging

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from ivr.core.escalation_policy import TEXT_FAILED
from ivr.exceptions import CallRecordUnreadable, TextRefused
from ivr.practice.opt_outs import opted_out
from ivr.telephony import twilio_rest
from workers.runtime import fail_without_retry, retries_left, services

log = logging.getLogger(__name__)
OPTED_OUT = "opted-out"


def send_sms(call_sid: str, message_id: str) -> str:
    """Send one text of the call's outbox through Twilio; returns its Message SID.

    A text already sent (or whose call record expired) is not sent again: "not pending".
    A number that texted STOP gets nothing: ``"opted-out"`` (checked here, at the last
    moment, so no path to a client's phone can skip it).  The caller was promised that
    text, though, so the call is escalated (``text_failed``: staff call back with what it
    promised), as for a text Twilio refuses.
    """
    ql = services()
    try:
        entry = ql.call_store.outbox_entry(call_sid, message_id)
    except CallRecordUnreadable as exc:
        # No key opens it (ivr.encryption): it never will, so staff get the client what it promised.
        _give_up(call_sid, message_id, "its entry does not decrypt")
        fail_without_retry()
        raise TextRefused(f"text {message_id} of call {call_sid}: {exc}") from None
    if not entry or not entry.get("to"):
        return "not pending"
    with ql.database.sessions() as db:
        stopped = opted_out(db, entry["to"])
    if stopped:
        # Opted out after the call promised it: never texted, never dropped either.
        _give_up(call_sid, message_id, "the number opted out of texts")
        return OPTED_OUT
    client = twilio_rest.make_client(ql.settings)
    try:
        sid = twilio_rest.send_sms(client, to=entry["to"], from_=ql.settings.sms_from, body=entry["body"])
    except TwilioRestException as exc:
        why = f"twilio {exc.status} code {exc.code}"
        if twilio_rest.refused_for_good(exc):
            _give_up(call_sid, message_id, why)
            fail_without_retry()
            raise TextRefused(f"text {message_id} of call {call_sid}: refused for good ({why})") from None
        if retries_left() == 0:
            _give_up(call_sid, message_id, why)
            raise TextRefused(f"text {message_id} of call {call_sid}: not sent after every retry ({why})") from None
        raise
    except (requests.RequestException, TwilioException) as exc:
        if retries_left() == 0:
            _give_up(call_sid, message_id, type(exc).__name__)
            raise TextRefused(f"text {message_id} of call {call_sid}: not sent after every retry "
                              f"({type(exc).__name__})") from None
        raise
    ql.call_store.outbox_done(call_sid, message_id)
    return sid


def _give_up(call_sid: str, message_id: str, why: str) -> None:
    """The text will never go: forget its number and body, and hand the call to staff."""
    ql = services()
    ql.calls.escalate_now(call_sid, TEXT_FAILED)
    ql.call_store.outbox_done(call_sid, message_id)
    log.warning("text %s of call %s was not sent (%s); escalated as %s", message_id, call_sid, why, TEXT_FAILED)
