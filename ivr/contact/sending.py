"""Making one touch: re-check, claim, then the text (``Messages.create``) or the call (``Calls.create`` with AMD).

The order is what makes a touch happen once (docs/outbound.md):

1. ``recheck`` (``ivr.outbound.planner``) with the facts of now: checked in, rebooked, cancelled, replied,
   opted out, quiet hours, caps… a touch that may no longer go is recorded ``skipped`` with why;
2. ``claim``: the row goes ``planned`` → ``queued`` in one committed transaction, **before** Twilio is
   called;
3. Twilio is called from the client's pool number (``CallerId.number_for``), and only from the pool:
   ``pool_number`` refuses any other ``From`` in code;
4. a retry that finds its row ``queued`` without a SID (the worker died between 2 and the SID being
   stored) asks Twilio first (``recover``): the text or call Twilio has is adopted, and only one that
   cannot be on its way any more is sent again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from enum import StrEnum

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client as TwilioClient

from ivr.config import Settings
from ivr.contact import touches, undeliverable
from ivr.contact.facts import load_facts
from ivr.contact.models import OutboundTouch, TouchState
from ivr.contact.undeliverable import NumberHasher
from ivr.exceptions import OutboundRefused, SendError, UnknownWords
from ivr.outbound.facts import Channel, PracticeFacts
from ivr.outbound.lint import WordKind
from ivr.outbound.planner import SkipReason, Touch, TouchKind, recheck
from ivr.outbound.rules import OutboundRules
from ivr.outbound.wording import render
from ivr.outbound.zones import client_zones, display_zone, local_to_utc, next_allowed
from ivr.practice import opt_outs
from ivr.telephony import twilio_rest

log = logging.getLogger(__name__)

# A claim this old cannot still be on its way to Twilio (the client gives up after its timeout).
IN_FLIGHT_SECONDS = twilio_rest.DEFAULT_TIMEOUT + 5
# Twilio's error for a recipient who texted STOP: the number is recorded as opted out.
OPTED_OUT_CODE = 21610


class Sent(StrEnum):
    """What the send job did (its return value: no number, name or words)."""

    SENT = "sent"
    CALLING = "calling"
    RECOVERED = "recovered"  # a dead worker had sent it: adopted, not sent again
    SKIPPED = "skipped"
    NOT_DUE = "not_due"
    NOT_PENDING = "not_pending"
    FAILED = "failed"
    STAFF_TASK = "staff_task"
    NO_RULES = "no_rules"
    MERGED = "merged"  # a shared number's neutral message of today carried it (not sent again)
    HELD = "held"  # a touch with news for one client the shared number's week could not take: a staff task
    DEFERRED = "deferred"  # the shared number had another client's neutral message today on another channel


@dataclass(frozen=True)
class Urls:
    """Where Twilio posts about an outbound touch (absolute; ``?touch=<job id>`` is added)."""

    message_status: str
    call_answer: str
    call_status: str
    amd_status: str


def pool_number(rules: OutboundRules, client_id: str) -> str:
    """The ``From`` of every call and text to ``client_id``: their pool number.  Raises OutboundRefused
    when the pool is empty or the number is not in it (nothing leaves from the practice's listed line)."""
    number = rules.caller_id.number_for(client_id)
    return checked_from(rules, number)


def checked_from(rules: OutboundRules, number: str | None) -> str:
    """``number`` when it is one of ``caller_id.numbers`` and not a number that identifies the practice (its listed
    line, a staff member's: ``caller_id.refused``); OutboundRefused otherwise."""
    if not number or number not in rules.caller_id.numbers:
        raise OutboundRefused("outbound From must be one of caller_id.numbers in outbound.yaml")
    if number in rules.caller_id.refused:
        raise OutboundRefused("outbound From must not be the practice's listed line or a staff member's number")
    return number


def words_version(text: str) -> str:
    """What identifies the words sent (recorded; compared when recovering a text a dead worker sent)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _client_and_appointment(facts: PracticeFacts, touch: Touch):
    client = next(c for c in facts.clients if c.id == touch.client_id)
    appt = next((a for a in facts.appointments if a.id == touch.appointment_id), None)
    return client, appt


def text_body(touch: Touch, facts: PracticeFacts, rules: OutboundRules, from_: str, now: dt.datetime) -> str:
    """The SMS for ``touch`` (neutral words for a shared number; the opt-out notice on a number's first text)."""
    client, appt = _client_and_appointment(facts, touch)
    return render(touch, WordKind.TEXT, rules=rules, client=client, appointment=appt, callback_number=from_, now=now)


def call_words_version(touch: Touch, facts: PracticeFacts, rules: OutboundRules, from_: str,
                       now: dt.datetime) -> str:
    """What identifies a call's words (recorded on every attempt, as a text's): the voicemail it may leave and what
    is said before and after verification, each as rendered for this touch ("" for words the rules lack)."""
    client, appt = _client_and_appointment(facts, touch)
    said = []
    for kind, verified in ((WordKind.VOICEMAIL, False), (WordKind.SPOKEN, False), (WordKind.SPOKEN, True)):
        try:
            said.append(render(touch, kind, rules=rules, client=client, appointment=appt, callback_number=from_,
                               now=now, verified=verified))
        except UnknownWords:
            said.append("")
    return words_version("\n".join(said))


def _with_touch(url: str, job_id: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}touch={job_id}"


def send(db_sessions: sessionmaker[Session], settings: Settings, rules: OutboundRules | None, urls: Urls,
         row_id: int, now: dt.datetime, *, twilio: TwilioClient | None = None,
         hasher: NumberHasher | None = None,
         number_lock: Callable[[str], AbstractContextManager[object]] | None = None,
         defer: Callable[[int, dt.datetime], None] | None = None,
         ) -> tuple[Sent, OutboundTouch | None]:
    """Make the touch of row ``row_id`` if it may still go.  Raises SendError when Twilio may take it later
    (RQ retries the job); a permanent refusal is recorded ``failed``, and one whose code says the number can
    never take this channel flags it (``ivr.contact.undeliverable``).  ``number_lock(e164)`` is held while the
    number's neutral message and first text are decided and the row claimed (the service's: a Redis lock keyed
    by the number's HMAC).  ``defer(row id, instant)``: told when a shared number's touch waits for a later day
    (``neutral_merge``)."""
    hasher = hasher or NumberHasher.from_setting(settings.data_key)
    row = touches.load(db_sessions, row_id)
    if row is None:
        return Sent.NOT_PENDING, None
    if row.channel == Channel.STAFF_TASK.value and row.status == TouchState.QUEUED.value:
        return Sent.STAFF_TASK, row  # claimed by a worker that died before handing it on: hand it on (idempotent)
    if row.status == TouchState.QUEUED.value and row.twilio_sid is None and row.channel != Channel.STAFF_TASK.value:
        recovered = _recover(db_sessions, settings, row, now, twilio)
        if recovered is not None:
            return recovered, row
        row = touches.load(db_sessions, row_id)
        if row is None:
            return Sent.NOT_PENDING, None
    if row.status != TouchState.PLANNED.value:
        return Sent.NOT_PENDING, row
    if rules is None:
        return Sent.NO_RULES, row
    with db_sessions() as db:
        facts = load_facts(db, clients=[row.client_id], hasher=hasher)
    current, why = recheck(touches.touch_of(row), facts, rules, now)
    if current is None:
        if why is SkipReason.NOT_DUE:
            return Sent.NOT_DUE, row  # quiet hours or a cap put it later: the next planning pass re-schedules it
        touches.skip(db_sessions, row.id, why or SkipReason.NOT_PLANNED, now)
        log.info("touch %s skipped at sending time: %s", row.job_id, why.value if why else "-")
        return Sent.SKIPPED, row
    if current.channel is Channel.STAFF_TASK:
        if touches.claim(db_sessions, row.id, to=None, from_=None, now=now, neutral=False, words_version=None,
                         rules_version=rules.version):
            return Sent.STAFF_TASK, row
        return Sent.NOT_PENDING, row
    from_ = pool_number(rules, current.client_id)
    to, body = current.to or "", ""
    # One number, one decision at a time: whether its neutral message already went today, and whether this is the
    # first text it gets, are read and the claim committed under the number's lock (two clients' jobs at once).
    with number_lock(to) if number_lock is not None and to else nullcontext():
        if current.neutral:
            merged = neutral_merge(db_sessions, row, current, facts, rules, now, defer)
            if merged is not None:
                return merged, row
        if current.channel is Channel.TEXT:
            current = replace(current, opt_out_notice=first_text_to(db_sessions, to, row.id))
            body = text_body(current, facts, rules, from_, now)
            if not touches.claim(db_sessions, row.id, to=current.to, from_=from_, now=now, neutral=current.neutral,
                                 words_version=words_version(body), rules_version=rules.version):
                return Sent.NOT_PENDING, row
        elif not touches.claim(db_sessions, row.id, to=current.to, from_=from_, now=now, neutral=current.neutral,
                               words_version=call_words_version(current, facts, rules, from_, now),
                               rules_version=rules.version):
            return Sent.NOT_PENDING, row
    if current.channel is Channel.TEXT:
        return _text(db_sessions, settings, urls, row, to, from_, body, now, twilio, hasher), row
    return _call(db_sessions, settings, urls, row, to, from_, now, twilio, hasher), row


# The states of a text or call that reached the number, or may still (in flight): it carries the neutral message.
_CARRIED = (TouchState.QUEUED.value, TouchState.SENT.value, TouchState.DELIVERED.value, TouchState.ANSWERED.value,
            TouchState.VOICEMAIL.value)
# A text that went to the number (the opt-out notice is said once per number, whoever the text was for).
_TEXTED = (TouchState.QUEUED.value, TouchState.SENT.value, TouchState.DELIVERED.value, TouchState.UNDELIVERED.value)


def first_text_to(db_sessions: sessionmaker[Session], to: str, row_id: int) -> bool:
    """Whether a text to ``to`` now would be the first automated text that number gets (then it carries the
    opt-out notice), across every client who lists the number: decided at sending time, per number."""
    if not to:
        return False
    with db_sessions() as db:
        earlier = db.scalar(select(OutboundTouch.id).where(
            OutboundTouch.to_e164 == to, OutboundTouch.channel == Channel.TEXT.value, OutboundTouch.id != row_id,
            OutboundTouch.status.in_(_TEXTED)).limit(1))
    return earlier is None


def neutral_merge(db_sessions: sessionmaker[Session], row: OutboundTouch, current: Touch, facts: PracticeFacts,
                  rules: OutboundRules, now: dt.datetime,
                  defer: Callable[[int, dt.datetime], None] | None = None) -> Sent | None:
    """The neutral message to a shared number is one message (a family phone is told "a message about an
    appointment" once, however many of its clients have a touch): a neutral text or call of the same channel that
    already went to the number this local day carries a **reminder** too — recorded ``merged`` with ``covered_by``
    (SKIPPED is not returned: the client was reached by it).  Only a reminder is carried (its neutral words are all it
    would have said), and never by a call someone answered and verified as another client (that call was about them).
    A touch with news for one client — a staff correction, a ``moved`` correction, a follow-up — is never carried by
    another's message: another client's message today makes it wait for the number's next allowed day (``DEFERRED``)
    as across channels below, and when the number's week is full it becomes a staff task (``HELD``).  The number's
    week is limited as a client's is:
    ``limits.per_week`` messages to it in any 7 days, then a touch is recorded skipped (``weekly_cap``).  Across
    channels the number's day holds one neutral message too: another client's neutral text or call of the other
    channel today defers this one (``DEFERRED``) when its window reaches the next allowed day, else it goes;
    ``defer(row id, instant)`` is then told the first allowed instant of that day (UTC), so that planning passes
    schedule the touch for then instead of re-sending it every minute.  None: send it."""
    client, _ = _client_and_appointment(facts, current)
    tz = display_zone(client.time_zone, rules.practice.timezone)
    today = now.astimezone(tz).date()
    day_start = local_to_utc(today, dt.time(0), tz)
    day_end = local_to_utc(today + dt.timedelta(days=1), dt.time(0), tz)
    to = current.to or ""
    coverable = current.kind is TouchKind.REMINDER
    with db_sessions() as db, db.begin():
        carried = select(OutboundTouch).where(
            OutboundTouch.to_e164 == to, OutboundTouch.neutral.is_(True), OutboundTouch.id != row.id,
            OutboundTouch.status.in_(_CARRIED), OutboundTouch.covered_by.is_(None))
        covering = db.scalar(carried.where(
            OutboundTouch.channel == current.channel.value, OutboundTouch.attempted_at >= day_start,
            OutboundTouch.attempted_at < day_end,
            OutboundTouch.verified.is_not(True),  # answered and verified: it was that client's call, not neutral
        ).order_by(OutboundTouch.attempted_at, OutboundTouch.id).limit(1)) if coverable else None
        if covering is not None:
            done = db.execute(update(OutboundTouch).where(
                OutboundTouch.id == row.id, OutboundTouch.status == TouchState.PLANNED.value).values(
                status=TouchState.MERGED.value, attempted_at=now, outcome_at=now, to_e164=to,
                from_e164=covering.from_e164, neutral=True, covered_by=covering.id,
                words_version=covering.words_version, rules_version=rules.version))
            if done.rowcount != 1:
                return Sent.NOT_PENDING
            log.info("touch %s went with touch %s (one neutral message to a shared number)", row.job_id,
                     covering.job_id)
            return Sent.MERGED
        others = carried.where(OutboundTouch.client_id != row.client_id, OutboundTouch.attempted_at >= day_start,
                               OutboundTouch.attempted_at < day_end)
        # A reminder is carried by another's message of its channel (above); anything else waits for any of them.
        elsewhere = db.scalar((others.where(OutboundTouch.channel != current.channel.value) if coverable
                               else others).limit(1))
        week = len(db.scalars(carried.where(OutboundTouch.attempted_at > now - dt.timedelta(days=7),
                                            OutboundTouch.attempted_at <= now)).all())
    if week >= rules.limits.per_week:
        touches.skip(db_sessions, row.id, SkipReason.WEEKLY_CAP, now)
        log.info("touch %s skipped: the shared number had its week's messages", row.job_id)
        return Sent.SKIPPED if coverable else Sent.HELD  # news for one client is never dropped silently
    later = _a_later_day(row, client.time_zone, to, rules, day_end) if elsewhere is not None else None
    if later is not None:
        # One neutral message per number per local day, across channels: another client's went today on the
        # other channel, and this one's window reaches the number's next allowed day, so it waits for that day
        # (still planned; when its job runs then, this decides again).
        log.info("touch %s waits for the next day: the shared number had a neutral message today", row.job_id)
        if defer is not None:
            defer(row.id, later)
        return Sent.DEFERRED
    return None


def _a_later_day(row: OutboundTouch, time_zone: str | None, to: str, rules: OutboundRules,
                 day_end: dt.datetime) -> dt.datetime | None:
    """The first allowed instant (UTC) after ``day_end`` (the number's local midnight) within the touch's window
    (``window_end``) in the client's zones.  No window, or none left: None, and the touch goes today (a reminder
    due within the day is never dropped for the number's limit)."""
    if row.window_end is None:
        return None
    zones = client_zones(time_zone, to, rules.practice.timezone)
    return next_allowed(day_end, zones, rules.practice, rules.quiet_hours, until=row.window_end)


def _client(settings: Settings, twilio: TwilioClient | None) -> TwilioClient:
    return twilio or twilio_rest.make_client(settings)


def _text(db_sessions, settings, urls: Urls, row: OutboundTouch, to: str, from_: str, body: str, now: dt.datetime,
          twilio: TwilioClient | None, hasher: NumberHasher) -> Sent:
    try:
        sid = twilio_rest.send_sms(_client(settings, twilio), to=to, from_=from_, body=body,
                                   status_callback=_with_touch(urls.message_status, row.job_id))
    except TwilioRestException as exc:
        return _refused(db_sessions, row, to, exc, now, hasher)
    except (requests.RequestException, TwilioException) as exc:
        # Unknown whether Twilio took it: stays queued; the retry asks Twilio (recover) before sending.
        raise SendError(f"touch {row.job_id}: {type(exc).__name__}") from None
    touches.record_sid(db_sessions, row.id, sid, TouchState.SENT)
    return Sent.SENT


def _call(db_sessions, settings, urls: Urls, row: OutboundTouch, to: str, from_: str, now: dt.datetime,
          twilio: TwilioClient | None, hasher: NumberHasher) -> Sent:
    try:
        sid = place_call(_client(settings, twilio), to=to, from_=from_, urls=urls, job_id=row.job_id)
    except TwilioRestException as exc:
        return _refused(db_sessions, row, to, exc, now, hasher)
    except (requests.RequestException, TwilioException) as exc:
        raise SendError(f"touch {row.job_id}: {type(exc).__name__}") from None
    touches.record_sid(db_sessions, row.id, sid, TouchState.QUEUED)
    return Sent.CALLING


def place_call(client: TwilioClient, *, to: str, from_: str, urls: Urls, job_id: str) -> str:
    """``Calls.create`` with answering-machine detection: ``DetectMessageEnd``, asynchronous (the call is
    connected at once and the result posted to ``amd_status``), and every status posted to ``call_status``."""
    call = client.calls.create(
        to=to, from_=from_, url=_with_touch(urls.call_answer, job_id), method="POST",
        machine_detection="DetectMessageEnd", async_amd="true",
        async_amd_status_callback=_with_touch(urls.amd_status, job_id), async_amd_status_callback_method="POST",
        status_callback=_with_touch(urls.call_status, job_id), status_callback_method="POST",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        machine_detection_timeout=values.unset,
    )
    if not call.sid:
        raise TwilioException("Twilio accepted the call but returned no SID")
    return str(call.sid)


def _refused(db_sessions, row: OutboundTouch, to: str, exc: TwilioRestException, now: dt.datetime,
             hasher: NumberHasher) -> Sent:
    if twilio_rest.refused_for_good(exc):
        # Permanent: recorded failed, never retried; the planner moves to the next attempt or channel.
        touches.record_failure(db_sessions, row.id, str(exc.code or exc.status), now)
        if exc.code == OPTED_OUT_CODE and to:
            # The carrier's opt-out: everything still to send by text to that number stops (START resumes it).
            with db_sessions() as db, db.begin():
                opt_outs.record(db, to, opt_outs.Keyword.STOP, now, source="carrier:21610")
                touches.cancel_pending(db, to=to, channel=Channel.TEXT, why=SkipReason.OPTED_OUT, now=now)
        elif undeliverable.is_permanent(exc.code) and to:
            with db_sessions() as db, db.begin():
                undeliverable.flag(db, hasher, to, Channel(row.channel), str(exc.code), now, client_id=row.client_id,
                                   touch_job_id=row.job_id)
        log.warning("touch %s refused by Twilio for good (code %s)", row.job_id, exc.code)
        return Sent.FAILED
    touches.unclaim(db_sessions, row.id)  # nothing was taken: planned again, RQ retries the job
    raise SendError(f"touch {row.job_id}: twilio {exc.status}") from None


def _recover(db_sessions, settings: Settings, row: OutboundTouch, now: dt.datetime,
             twilio: TwilioClient | None) -> Sent | None:
    """The row was claimed but no SID recorded: a worker died mid-send.  Adopt what Twilio has (RECOVERED);
    else, once nothing can be on its way, plan it again and return None (the caller sends it afresh)."""
    client = _client(settings, twilio)
    to, from_ = row.to_e164 or "", row.from_e164 or ""
    try:
        if row.channel == Channel.TEXT.value:
            sid = next((m.sid for m in client.messages.list(to=to, from_=from_, limit=50)
                        if m.body is not None and words_version(m.body) == row.words_version), None)
        else:
            with db_sessions() as db:
                known = set(db.scalars(select(OutboundTouch.twilio_sid).where(OutboundTouch.to_e164 == to,
                                                                                OutboundTouch.twilio_sid.is_not(None))))
            sid = next((c.sid for c in client.calls.list(to=to, from_=from_, limit=50) if c.sid not in known), None)
    except (requests.RequestException, TwilioException) as exc:
        raise SendError(f"touch {row.job_id}: lookup {type(exc).__name__}") from None
    if sid is not None:
        touches.record_sid(db_sessions, row.id, str(sid),
                           TouchState.SENT if row.channel == Channel.TEXT.value else TouchState.QUEUED)
        log.info("touch %s: Twilio had it from a worker that died; recorded, not sent again", row.job_id)
        return Sent.RECOVERED
    if row.attempted_at is not None and now - row.attempted_at < dt.timedelta(seconds=IN_FLIGHT_SECONDS):
        raise SendError(f"touch {row.job_id}: a dead worker's request may still reach Twilio; later")
    touches.unclaim(db_sessions, row.id)
    log.info("touch %s: a dead worker never reached Twilio; planned again", row.job_id)
    return None
