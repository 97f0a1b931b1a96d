"""Texts clients send to the pool numbers: opt-outs at once, confirm and change words, anything else to staff.

Carriers and Twilio treat STOP, CANCEL, END, QUIT, … as an opt-out from every text (``ivr.practice.opt_outs``),
so those are honoured at once, for everything to that number: its pending texts and calls are cancelled, it
is not called either (``call_opt_outs``, source ``stop``), and the change journal shows staff the new
preference.  CANCEL is an opt-out, never the cancellation of an appointment.  START resumes only
what is still to come (the planner treats what was missed as late).  A reply to a reminder is matched to
the most recent text sent to that number:

* opt-outs in words too ("STOP please", "Please stop texting me"); a question ("Y?") is never a confirmation,
  and neither is a "yes" or "2" from a number several clients share (a person answers those);
* a text from a number several clients share (a family phone) is nobody's: it is not matched to a client nor to
  the text it answers, ends nothing for any of them, and the staff task names every client on the number;
* confirm: ``1``, yes, confirm, ok, sure, … → recorded (and in the change journal);
* change: ``2``, change, reschedule, can't make it, … → a correction call (the ``correction`` follow-up) or,
  without one, a staff task;
* anything else → a staff task at once, and the client is told a person will answer (never "invalid");
* every text is first graded by the crisis check of calls and voicemails (``ivr.core.crisis.assess``): a crisis
  → an urgent ``text_crisis`` escalation (the crisis on-call is paged) and the 911/988 guidance in neutral
  words, whatever else the text says; unsure → a high-priority ``text_reply_unsure`` task, marked, and the
  guidance too.  A crisis text that is also an opt-out still stops the texts (no reply may follow a STOP).

Every reply is kept (``outbound_replies``, words sealed with ``IVR_DATA_KEY``) and ends the client's other
pending follow-ups (the planner, re-run at once, sees the reply).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.contact.models import (
    CallOptOut,
    CorrectionRequestRow,
    OutboundReply,
    OutboundTouch,
    ReplyMeaning,
    TouchState,
)
from ivr.contact.touches import cancel_pending
from ivr.core import crisis, opt_out_words
from ivr.core.crisis_kind import CrisisKind
from ivr.core.escalation_policy import TEXT_CRISIS, TEXT_UNSURE
from ivr.encryption import RecordCipher
from ivr.outbound.facts import Channel
from ivr.outbound.planner import SkipReason
from ivr.practice import journal, opt_outs
from ivr.practice.models import ACTIVE, Appointment, ChangeKind, ClientPhone

CONFIRM_WORDS = frozenset({
    "1", "yes", "y", "yep", "yeah", "confirm", "confirmed", "ok", "okay", "k", "sure", "i confirm", "yes please",
    "see you then", "i'll be there", "ill be there", "i will be there", "sounds good", "yes thanks", "ok thanks",
    "ok thank you",
})
# A confirmation is any run of these pieces, at least one of them an assent ("yes I will be there", "yup",
# "ok see you then", "👍 thanks"), with no negation anywhere ("no", "not", "can't"…: a person reads those).
ASSENT_PIECES = frozenset({
    "1", "yes", "y", "ye", "yep", "yup", "yeah", "yea", "ya", "yes yes", "ok", "okay", "okey", "k", "kk", "okie",
    "sure", "confirm", "confirmed", "i confirm", "sounds good", "will do", "perfect", "great", "got it", "absolutely",
    "definitely", "of course", "correct", "that works", "works for me", "that works for me", "see you then",
    "see you there", "see you", "i'll be there", "ill be there", "i will be there", "will be there", "be there",
    "i'll see you then", "i will see you then",
})
COURTESY_PIECES = frozenset({"thanks", "thank you", "thx", "ty", "please", "pls", "then", "there", "see you soon"})
NEGATIONS = frozenset({
    "no", "n", "nope", "nah", "not", "cant", "can't", "cannot", "won't", "wont", "don't", "dont", "never", "unable",
    "wasn't", "isn't", "didn't", "but", "maybe", "change", "reschedule", "late",
})
# Thumbs up, OK hand, check marks, 🆗 (any skin tone, with or without the emoji selector): "ok".
_ASSENT_EMOJI = re.compile("(?:\U0001F44D|\U0001F44C|\u2705|\u2714|\u2611|\U0001F197)[\U0001F3FB-\U0001F3FF\uFE0F]*")
_PIECES = sorted(ASSENT_PIECES | COURTESY_PIECES, key=lambda p: len(p.split()), reverse=True)
CHANGE_WORDS = frozenset({
    "2", "change", "change it", "reschedule", "re-schedule", "reschedule please", "move", "move it",
    "can't make it", "cant make it", "cannot make it", "can not make it", "i can't make it", "i cant make it",
    "i cannot make it", "can't come", "cant come", "i can't come", "another time", "different time",
    "new time", "need to reschedule", "i need to reschedule", "i need to change it",
})
# The touches whose words ask for a confirmation ("Reply 1 to confirm or 2 to change it").
CONFIRM_ASKED = frozenset({"reminder", "moved"})
# What the client is told (neutral: whoever reads the phone learns nothing).
CONFIRMED_REPLY = "Thank you, that is confirmed."
CHANGE_REPLY = "Thank you. We will be in touch to find another time."
# A change asked for when the client may not be called (quiet hours): staff have the task at once, and the
# client is told by when a person will be in touch ({when}: written in the client's zone).
CHANGE_QUIET_REPLY = "Thank you. A person will be in touch by {when} to find another time."
PERSON_REPLY = "Thank you for your message. A person will answer you soon."
# A text that reads as a crisis (or may): emergency guidance, in words that name no practice nor care.
CRISIS_REPLY = ("If this is an emergency, please call 911 now. You can also call or text 988 at any time, day or "
                "night. A person from our office will contact you soon.")
UNSURE_REPLY = ("Thank you for your message. A person will answer you soon. If this is an emergency, please call "
                "911, or call or text 988 at any time.")
STOP_SOURCE = "stop"  # call_opt_outs.source of a number that texted STOP (START lifts it)
# How far back a reply may answer a text we sent.
MATCH_WINDOW = dt.timedelta(days=14)
_SENT = (TouchState.SENT.value, TouchState.DELIVERED.value, TouchState.QUEUED.value)
_PUNCT = re.compile(r"[^\w'\s-]+")
# Opt-outs in words, not only the carriers' bare keywords: "STOP please", "Please stop texting me".  Whoever
# wrote one wants no more texts, whatever the carrier made of it (break-test S13).
# The keywords are the shared list (``ivr.core.opt_out_words``: "stop all", "opt-out", "S T O P" too).  A
# negated stop is not one: "please don't stop texting me" wants the texts (break-test s25b #3, both ways).
_OPT_OUT_WORDS = re.compile(
    r"^(?:please |pls |plz )?(?:" + opt_out_words.keyword_pattern() + r")"
    r"(?: please| pls| plz| now| it| thanks| thank you| texting| messaging| this)*$"
    r"|(?<!don't )(?<!dont )(?<!do not )(?<!never )(?<!not )"
    r"\b(?:stop|quit) (?:texting|messaging|sending|contacting|calling)\b"
    r"|\b(?:don't|dont|do not|never) (?:text|message|contact) (?:me|us|this number)\b"
    r"|\bno more (?:texts|text messages|messages)\b|\bunsubscribe me\b|\bremove (?:me|this number) from\b")
# A reply of stop signs only ("🛑", with or without the emoji selector): the sign says STOP as the word does
# (break-test s26 NIT 6).  Only 🛑: a raised hand (✋) or other signs stay words for a person.
_STOP_SIGNS = re.compile(r"(?:\U0001F6D1\uFE0F?\s*)+[.!]*")
# Carrier keywords: never read as "may be a crisis" (a crisis is still a crisis, whatever else the text says).
_KEYWORDS = (ReplyMeaning.OPT_OUT, ReplyMeaning.OPT_IN, ReplyMeaning.HELP)


def meaning_of(body: str | None, opt_out_type: str | None = None, *, opted_out: bool = False) -> ReplyMeaning:
    """What a text means: an opt-out keyword first (Twilio's own classification wins), then confirm/change words."""
    keyword = opt_outs.classify(body, opt_out_type)
    if keyword is opt_outs.Keyword.STOP:
        return ReplyMeaning.OPT_OUT
    if keyword is opt_outs.Keyword.HELP:
        return ReplyMeaning.HELP
    if keyword is opt_outs.Keyword.START and (opted_out or (body or "").strip().upper() != "YES"):
        return ReplyMeaning.OPT_IN  # YES from a number that never stopped is a confirmation
    folded = opt_out_words.fold(body)  # full-width "ＳＴＯＰ" is STOP
    words = " ".join(_PUNCT.sub(" ", _ASSENT_EMOJI.sub(" ok ", folded.lower().replace("’", "'"))).split())
    if _OPT_OUT_WORDS.search(words) or _STOP_SIGNS.fullmatch(folded.strip()):
        return ReplyMeaning.OPT_OUT
    if folded.strip().endswith("?"):
        return ReplyMeaning.OTHER  # "Y?", "ok?": a question, for a person, never a confirmation
    if words in CONFIRM_WORDS or is_assent(words):
        return ReplyMeaning.CONFIRM
    if words in CHANGE_WORDS:
        return ReplyMeaning.CHANGE
    return ReplyMeaning.OTHER


def is_assent(words: str) -> bool:
    """``words`` (lower case, punctuation removed) are only assent and courtesy pieces, at least one assent, and
    no negation: "yes i will be there", "yup", "ok see you then", "sure thanks"; not "no", "yes but later"."""
    tokens = words.split()
    if not tokens or any(t in NEGATIONS for t in tokens):
        return False
    assented = False
    while tokens:
        for piece in _PIECES:
            size = len(piece.split())
            if " ".join(tokens[:size]) == piece:
                assented = assented or piece in ASSENT_PIECES
                tokens = tokens[size:]
                break
        else:
            return False
    return assented


@dataclass(frozen=True)
class Handled:
    """What became of an inbound text: the words to answer with (None: no reply), and what to do next."""

    meaning: ReplyMeaning
    reply: str | None
    client_id: str | None
    touch_id: str | None
    staff_task: str | None = None  # the reason of a staff task to raise (after the commit)
    new: bool = True  # False: the same MessageSid again (Twilio retried): nothing done twice
    correction_request: int | None = None  # the correction_requests row a "change" reply raised
    clients: tuple[str, ...] = ()  # a family phone's clients (the reply is none of theirs: staff are told them all)
    crisis_kind: str | None = None  # a crisis text's kind for staff (ivr.core.crisis_kind: "text_in_danger")


def _as_sent(db: Session, touch: OutboundTouch) -> bool:
    """Whether the appointment ``touch`` was about is still as the text said: not cancelled, not moved (a move
    replaces it, or changes its start).  True for a touch about no appointment."""
    if not touch.appointment_id:
        return True
    if journal.current_appointment_id(db, touch.appointment_id) != touch.appointment_id:
        return False
    appointment = db.get(Appointment, touch.appointment_id)
    if appointment is None or appointment.status != ACTIVE:
        return False
    return touch.about_start is None or appointment.start == touch.about_start


def handle(db: Session, *, message_sid: str, from_: str, to: str | None, body: str | None,
           opt_out_type: str | None, now: dt.datetime, cipher: RecordCipher | None,
           correction_enabled: bool) -> Handled:
    """Record and act on one inbound text inside ``db``'s transaction (the caller commits)."""
    seen = db.scalar(select(OutboundReply).where(OutboundReply.message_sid == message_sid))
    if seen is not None:
        return Handled(ReplyMeaning(seen.meaning), None, seen.client_id, seen.touch_id, new=False)
    meaning = meaning_of(body, opt_out_type, opted_out=opt_outs.opted_out(db, from_))
    graded = crisis.assess(body)  # the same check as calls and voicemails (ivr.core.crisis)
    urgent = ReplyMeaning.CRISIS if graded.is_crisis else (
        ReplyMeaning.UNSURE if graded.offer_crisis_option and meaning not in _KEYWORDS else None)
    kind = CrisisKind.in_text((graded.categories or (crisis.CrisisCategory.UNSPECIFIED,))[0]).value \
        if graded.is_crisis else None
    clients = list(db.scalars(select(ClientPhone.client_id).where(ClientPhone.e164 == from_).distinct()))
    # The most recent text we sent to this number (from the number written to, when known) is what it answers.
    last = select(OutboundTouch).where(
        OutboundTouch.to_e164 == from_, OutboundTouch.channel == Channel.TEXT.value,
        OutboundTouch.status.in_(_SENT), OutboundTouch.attempted_at >= now - MATCH_WINDOW)
    if to:
        last = last.where(OutboundTouch.from_e164 == to)
    touch = db.scalar(last.order_by(OutboundTouch.attempted_at.desc(), OutboundTouch.id.desc()).limit(1))
    family = tuple(sorted(clients)) if len(clients) > 1 else ()
    neutral = touch is not None and touch.neutral
    if family:
        # A family phone: whoever wrote may be any of the number's clients, whatever client the last text was
        # planned for, so the reply is nobody's — it ends, confirms and changes nothing for any one of them, and a
        # person reads it with the number's clients named (STOP still stops the number, for all of them).
        touch = None
        client_id = None
    else:
        client_id = touch.client_id if touch is not None else (clients[0] if len(clients) == 1 else None)
    if meaning in (ReplyMeaning.CONFIRM, ReplyMeaning.CHANGE) and (client_id is None or neutral):
        meaning = ReplyMeaning.OTHER  # nobody can tell whose appointment "Y" is about, nor neutral words' (S11)
    if meaning is ReplyMeaning.CONFIRM and (touch is None or touch.kind not in CONFIRM_ASKED):
        meaning = ReplyMeaning.OTHER  # "ok" to a follow-up text confirms nothing: no confirmation was asked
    if meaning in (ReplyMeaning.CONFIRM, ReplyMeaning.CHANGE) and touch is not None and not _as_sent(db, touch):
        # The appointment was cancelled or moved since that text: "1" or "can't make it" is about a time that no
        # longer exists, so nothing is confirmed or changed and a person answers (break-test s23).
        meaning = ReplyMeaning.OTHER
    sealed = cipher.seal((body or "").encode(), f"outbound_replies:{message_sid}".encode()) if cipher else None
    db.add(OutboundReply(message_sid=message_sid[:40], from_e164=from_, to_e164=to, client_id=client_id,
                         touch_id=touch.touch_id if touch is not None else None,
                         meaning=(urgent or meaning).value,
                         body_sealed=sealed, received_at=now))
    db.flush()  # IntegrityError: the same MessageSid raced in twice (the caller answers with nothing)
    source = f"text:{message_sid}"[:80]
    if meaning is ReplyMeaning.OPT_OUT:
        # Everything to that number stops: texts (the carrier's opt-out) and our calls too.
        opt_outs.record(db, from_, opt_outs.Keyword.STOP, now, source=source)
        if db.get(CallOptOut, from_) is None:
            db.add(CallOptOut(e164=from_, source=STOP_SOURCE, since=now))
        cancel_pending(db, to=from_, why=SkipReason.OPTED_OUT, now=now)
        return Handled(meaning, None, client_id, None,
                       staff_task=TEXT_CRISIS if urgent is ReplyMeaning.CRISIS else None, clients=family,
                       crisis_kind=kind)
    if meaning is ReplyMeaning.OPT_IN:
        opt_outs.record(db, from_, opt_outs.Keyword.START, now, source=source)
        stopped = db.get(CallOptOut, from_)
        if stopped is not None and stopped.source == STOP_SOURCE:  # a fax or an explicit "never call" stays
            db.delete(stopped)
        return Handled(meaning, None, client_id, None)
    if meaning is ReplyMeaning.HELP:
        return Handled(meaning, None, client_id, None)  # Twilio answers HELP itself
    touch_id = touch.touch_id if touch is not None else None
    if urgent is ReplyMeaning.CRISIS:
        return Handled(urgent, CRISIS_REPLY, client_id, touch_id, staff_task=TEXT_CRISIS, clients=family,
                       crisis_kind=kind)
    if urgent is ReplyMeaning.UNSURE:
        return Handled(urgent, UNSURE_REPLY, client_id, touch_id, staff_task=TEXT_UNSURE, clients=family)
    appointment_id = touch.appointment_id if touch is not None else None
    if meaning is ReplyMeaning.CONFIRM and client_id and appointment_id:
        journal.record(db, ChangeKind.APPOINTMENT_CONFIRMED, source=source, now=now, client_id=client_id,
                       appointment_id=appointment_id,
                       after={"appointment_id": appointment_id, "confirmed": True,
                              "start": touch.about_start.isoformat() if touch and touch.about_start else None})
        reply = None if (body or "").strip().upper() == "YES" else CONFIRMED_REPLY  # Twilio answers YES itself
        return Handled(meaning, reply, client_id, touch_id)
    if meaning is ReplyMeaning.CHANGE and client_id:
        if correction_enabled:
            # Raised by the reply, so after it (the planner lets a reply end only what was pending before it).
            request = CorrectionRequestRow(client_id=client_id, appointment_id=appointment_id, raised_by=None,
                                           raised_at=now + dt.timedelta(seconds=1))
            db.add(request)
            db.flush()
            return Handled(meaning, CHANGE_REPLY, client_id, touch_id, correction_request=request.id)
        return Handled(meaning, CHANGE_REPLY, client_id, touch_id, staff_task="change_request")
    # Free text (or a confirm/change nobody can be matched to): a person answers.
    return Handled(ReplyMeaning.OTHER if meaning is not ReplyMeaning.CHANGE else meaning, PERSON_REPLY, client_id,
                   touch_id, staff_task="text_reply", clients=family)
