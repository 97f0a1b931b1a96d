"""Texting preferences per number: the STOP and START keywords Twilio answers for us.

Twilio itself replies to its default keywords on long codes and toll-free numbers
(and blocks further texts after a STOP); the app only records the preference, so
nothing is queued for a number that opted out, and it sends no second reply.
Twilio's defaults (help.twilio.com, "Twilio support for opt-out keywords"):

* opt-out: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT
* opt-in: START, YES, UNSTOP
* help: HELP, INFO

Only a message that is exactly one keyword counts (case and surrounding spaces
ignored; "stop please" does not); an opt-out word may also end in "." or "!", be written in full-width or
other compatibility letters, or have spaces or hyphens inside ("STOP ALL", "Opt-out"): the one list and its
matching live in ``ivr.core.opt_out_words``, shared with the outbound lint.  With Advanced Opt-Out
on a Messaging Service, Twilio classifies the message itself and says so in ``OptOutType`` (STOP, START
or HELP), which covers a practice's own keywords too; it wins when present.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import Enum

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ivr.core import opt_out_words
from ivr.practice import journal
from ivr.practice.models import SmsOptOut

OPT_OUT_KEYWORDS = frozenset(opt_out_words.OPT_OUT_KEYWORDS)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})


class Keyword(str, Enum):
    """What an inbound text asks for, in Twilio's OptOutType words."""

    STOP = "STOP"
    START = "START"
    HELP = "HELP"


def classify(body: str | None, opt_out_type: str | None = None) -> Keyword | None:
    """The keyword an inbound text is (Twilio's ``OptOutType`` first, then its default words), or None."""
    told = (opt_out_type or "").strip().upper()
    if told in Keyword.__members__:
        return Keyword(told)
    word = opt_out_words.fold(body).strip().upper()
    if opt_out_words.keyword_of(body) is not None:
        # "Stop." too: whether or not Twilio counted it, nobody who wrote it wants another text.
        return Keyword.STOP
    if word in OPT_IN_KEYWORDS:
        return Keyword.START
    if word in HELP_KEYWORDS:
        return Keyword.HELP
    return None


def record(db: Session, e164: str, keyword: Keyword, now: dt.datetime, source: str = "text") -> None:
    """Store the number's preference after a STOP or START (HELP changes nothing).

    A change of preference is also a change-journal entry for each client on the number
    (``source``: what carried it, ``text:<MessageSid>``), so staff carry it to the EHR.
    """
    if keyword is Keyword.HELP:
        return
    row = db.get(SmsOptOut, e164)
    was_out = bool(row and row.opted_out)
    if was_out != (keyword is Keyword.STOP):
        journal.record_texting_preference(db, e164, keyword is Keyword.STOP, source=source, now=now)
    row = row or SmsOptOut(e164=e164)
    row.opted_out, row.keyword, row.changed_at = keyword is Keyword.STOP, keyword.value, now
    db.add(row)


_OPTED_OUT = select(SmsOptOut.opted_out).where(SmsOptOut.e164 == bindparam("e164"))  # built once: hot


def opted_out(db: Session, e164: str) -> bool:
    """Whether ``e164`` texted STOP (and not START since)."""
    return bool(db.scalar(_OPTED_OUT, {"e164": e164}))


def opted_out_numbers(db: Session, numbers: Iterable[str]) -> set[str]:
    """The numbers among ``numbers`` that opted out."""
    wanted = list(dict.fromkeys(numbers))
    if not wanted:
        return set()
    return set(db.scalars(select(SmsOptOut.e164).where(SmsOptOut.e164.in_(wanted), SmsOptOut.opted_out.is_(True))))
