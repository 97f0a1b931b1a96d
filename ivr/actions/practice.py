"""Practice actions a flow may call: recognise and verify callers, read, move and cancel
appointments, text links to numbers on file, keep a card token.

Each takes the call's context and returns an outcome, variable updates and side
effects (texts, escalations) for the edge to carry out once the call's state is
stored.  Nothing here speaks: flows decide the words.  Variables never hold
more than the call needs, and secrets the caller typed (date of birth, PIN)
are cleared as soon as they have been checked.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.actions import access
from ivr.actions.registry import ActionContext, ActionResult, ActionSpec
from ivr.core import effects as fx
from ivr.core.phone_numbers import normalise
from ivr.core.spoken_output import spoken_date, spoken_time
from ivr.core.spoken_values import Bound, DaySpan, SpokenTime, Why, parse_day, parse_days, parse_time
from ivr.practice import data as practice_data
from ivr.practice import journal, verification
from ivr.practice.models import (
    ACTIVE,
    APPOINTMENTS_CHANGED,
    PHONE_ID_PREFIX,
    Appointment,
    AppointmentStatus,
    CardOnFile,
    ChangeKind,
    Client,
    ClientPhone,
    Clinician,
    FollowUp,
    SmsOptOut,
)

# Built once (every answer runs it), a Core statement on the session's connection (the ORM's loading of three
# clients with their phones cost more than the query); the phones come in the same query, in their order (the
# primary, position 0, is texted), each with its texting preference (a STOP texted), which decides whether the
# verified client's primary may be texted.  Rows: one per phone (one with no phone for a client without any).
_CLIENTS, _PHONES, _OPT_OUTS = Client.__table__, ClientPhone.__table__, SmsOptOut.__table__
_CANDIDATES = (select(_CLIENTS.c.id, _CLIENTS.c.first_name, _CLIENTS.c.date_of_birth, _CLIENTS.c.pin_hash,
                      _CLIENTS.c.may_text, _PHONES.c.e164, _OPT_OUTS.c.opted_out)
               .select_from(_CLIENTS.outerjoin(_PHONES, _PHONES.c.client_id == _CLIENTS.c.id)
                            .outerjoin(_OPT_OUTS, _OPT_OUTS.c.e164 == _PHONES.c.e164))
               .where(_CLIENTS.c.id.in_(bindparam("ids", expanding=True)))
               .order_by(_CLIENTS.c.id, _PHONES.c.position))


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A candidate client as verification reads them: the primary number (None: none on file), and whether it
    texted STOP."""

    id: str
    first_name: str
    date_of_birth: dt.date
    pin_hash: str | None
    may_text: bool
    primary: str | None
    primary_stopped: bool


def _candidates(db: Session, ids: list[str]) -> list[_Candidate]:
    """The clients ``ids`` (those that exist), in id order, each with their primary number."""
    found: dict[str, _Candidate] = {}
    for row in db.connection().execute(_CANDIDATES, {"ids": ids}):
        if row.id not in found:  # the first row of a client is its primary number (ordered by position)
            found[row.id] = _Candidate(row.id, row.first_name, row.date_of_birth, row.pin_hash, bool(row.may_text),
                                       row.e164, bool(row.opted_out))
    return list(found.values())


_APPOINTMENTS = Appointment.__table__

# Moving an appointment (book_slot): the old row released only while still active (bumping its version, as
# Appointment's before_update event does for the ORM), and the new one inserted, with the table's defaults.
_APPOINTMENTS_TABLE = cast(Table, _APPOINTMENTS)
_RELEASE = (update(_APPOINTMENTS_TABLE)
            .where(_APPOINTMENTS.c.id == bindparam("old_id"), _APPOINTMENTS.c.status == ACTIVE)
            .values(status=AppointmentStatus.RESCHEDULED.value, replaced_by=bindparam("new_id"),
                    changed_at=bindparam("when", type_=_APPOINTMENTS.c.changed_at.type), changed_by_client=True,
                    version=_APPOINTMENTS.c.version + 1))
_BOOK = insert(_APPOINTMENTS_TABLE)
# Cancelling (cancel_appointment): only while still active, bumping the version as the ORM's event would; and the
# follow-up call it asks for.
_CANCEL = (update(_APPOINTMENTS_TABLE)
           .where(_APPOINTMENTS.c.id == bindparam("appointment_id"), _APPOINTMENTS.c.status == ACTIVE)
           .values(status=AppointmentStatus.CANCELLED.value, cancel_reason=bindparam("reason"),
                   changed_at=bindparam("when", type_=_APPOINTMENTS.c.changed_at.type), changed_by_client=True,
                   version=_APPOINTMENTS.c.version + 1))
_FOLLOW_UP = insert(cast(Table, FollowUp.__table__))
_BOOKED_COLUMNS = ("id", "client_id", "clinician_id", "start", "end", "status", "telehealth_url", "changed_at",
                   "changed_by_client")


def _book_values(new: Appointment) -> dict[str, Any]:
    """The INSERT's values of a new appointment (the columns a phone booking sets; the rest take their defaults)."""
    return {name: getattr(new, name) for name in _BOOKED_COLUMNS}


# -- recognising and verifying --------------------------------------------------------------------------

def identify_caller(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Look up the clients on the calling number (``vars.candidates``) without telling the flow.

    The outcome says only what the caller already knows: whether their number came
    through (``present``) or not (``withheld``).  Whether it belongs to a client
    must not change what they hear, so it is not an outcome (nor ``caller.known``).
    """
    with access.practice(ctx).read() as db:
        ids = practice_data.clients_on(db, ctx.session.caller)
    # Padded with decoys: the answer is checked the same way whoever the number belongs to.
    ids = verification.with_decoys(ids, ctx.session.caller)
    caller = {**access.caller(ctx), "verified": False}
    return ActionResult("present" if ctx.session.caller else "withheld", {"candidates": ids, "caller": caller})


def find_by_number_on_file(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """For withheld or unknown caller IDs: the number the caller typed, matched like a caller ID.

    Always answers ``done``: whether the number is on file is not for an unverified caller to learn.
    """
    typed = str(ctx.session.vars.get("number_on_file") or "")
    number = normalise(typed, ctx.flows.practice.phone_region)
    with access.practice(ctx).read() as db:
        ids = practice_data.clients_on(db, number)
    ids = verification.with_decoys(ids, number or (f"typed:{typed}" if typed else None))
    return ActionResult("done", {"candidates": ids, "number_on_file": None})


def verify_identity(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Check the date of birth (or ``pin:<digits>``) in ``vars.<var>`` against the candidate clients.

    Outcomes: ``verified`` (exactly one client matches and no lock refuses it),
    ``failed`` (not verified; try again), ``locked`` (not verified, and this call
    has had its ``max_failures`` attempts).  Which of the last two comes depends
    only on this call's attempts (``vars.verify_attempts``), never on whether the
    number belongs to a client or anyone is locked: callers cannot tell a wrong
    answer from a refused one.  Every answer that does not verify (wrong, right for
    several clients, or refused by a lock) is charged once per call turn
    (``ivr.practice.verification``); the answer that locks a client or the practice
    raises the one staff alert of that lock.
    """
    practice = ctx.flows.practice
    limits = verification.Limits.of(practice)
    var = params.get("var", "dob")
    answer = str(ctx.session.vars.get(var) or "")
    # Decoys (verification.with_decoys) pad the candidates: the same queries and writes for any number.
    candidates = verification.with_decoys([str(c) for c in ctx.session.vars.get("candidates") or []],
                                          ctx.session.caller)
    attempt = int(ctx.session.vars.get("verify_attempts") or 0) + 1
    caller_key = verification.caller_subject(ctx.session.caller)
    kind = verification.PIN if answer.startswith("pin:") else verification.DATE
    updates: dict[str, Any] = {var: None, "verify_attempts": attempt}
    with access.practice(ctx).write() as db:
        allowed = verification.standing(db, caller_key, candidates, ctx.now, limits, pins=kind == verification.PIN)
        clients = _candidates(db, candidates) if candidates else []
        if kind == verification.PIN:
            right = verification.pin_matches(answer[4:], clients)
            usable = [c for c in right if allowed.pin_allowed(c.id)]
        else:
            right = [c for c in clients if answer and c.date_of_birth.isoformat() == answer]
            usable = [c for c in right if allowed.date_allowed(c.id)]
        if len(right) == 1 and len(usable) == 1:
            client = usable[0]
            primary = client.primary
            may_text = client.may_text and not (primary and client.primary_stopped)
            caller = {**access.caller(ctx), "known": True, "verified": True, "client_id": client.id,
                      "first_name": client.first_name, "sms_to": primary if may_text else None,
                      "may_text": may_text}
            verified = {**updates, "caller": caller, "candidates": [client.id]}
            if ctx.session.vars.get(access.CLIENT_ZONE_VAR):
                # An outbound or returned call: from here on, whichever flow it reaches (the appointments flow
                # straight from a correction, the main menu), every time is said in the client's zone.
                verified["listener_zone"] = access.listener_zone(db, client.id, ctx)
            return ActionResult("verified", verified)
        # Wrong, right for several clients at once (which verifies nobody), or refused by a lock:
        # all one failure, alike on the phone, in the records and in the work done to answer.
        recorded = verification.record_failure(db, call_sid=ctx.session.call_sid, turn=ctx.session.turn,
                                               caller_key=caller_key, candidates=candidates, kind=kind,
                                               now=ctx.now, limits=limits)
        effects = tuple(fx.Escalate(reason, "high") for reason in recorded.alerts())
    return ActionResult("locked" if attempt >= limits.max_failures else "failed", updates, effects)


# -- appointments ------------------------------------------------------------------------------------

def next_appointment(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """The verified client's next scheduled appointment, as ``vars.appt``.

    When the caller named WHICH appointment at the main menu (vars.request: its day or date ``from_day``, its
    time or part of the day ``from_time``, its clinician ``with``: "move my Thursday appointment", "my 3 PM
    session", "my appointment with Dr. Chen") the first one that fits every detail is taken instead (fix14-left
    finding 3). ``appt.as_asked`` is False when none fits or a detail was unclear, so the flow asks rather than
    acting on another one; then ``appt.not_found`` says what was asked for ("on Thursday, November 26", "at 3 PM",
    "with Dr. Lee") when it was clear and nothing fits, so the flow can say so plainly. ``appt.later`` is True
    when the one taken is not the next one.
    """
    client_id = access.client_id(ctx)
    request = ctx.session.vars.get("request") or {}
    request = request if isinstance(request, dict) else {}
    with access.practice(ctx).read() as db:
        appointment: practice_data.AppointmentView | Appointment | None = practice_data.next_appointment_view(
            db, client_id, ctx.now)
        if appointment is None:
            return ActionResult("none", {"appt": None})
        as_asked, later, not_found = True, False, ""
        which = _which(ctx, request)
        if which is not None:
            as_asked = False
            upcoming = practice_data.upcoming_appointments(db, client_id, ctx.now)
            fitting = [a for a in upcoming if which.fits(a, ctx.flows.practice.tz)]
            if fitting and which.clear:
                later = fitting[0].id != appointment.id  # not the next one: the flow must not call it that
                appointment, as_asked = fitting[0], True
            elif which.clear:
                not_found = which.words
        appt = access.describe(appointment, appointment.clinician, ctx.flows.practice, ctx.now)
        return ActionResult("found", {"appt": {**appt, "as_asked": as_asked, "later": later,
                                               "not_found": not_found}})


_TITLES = frozenset({"dr", "doctor", "mr", "mrs", "ms", "miss", "mx", "the", "my", "therapist", "counselor",
                     "counsellor"})


def _name_words(text: str) -> set[str]:
    return {w for w in text.lower().replace(".", " ").replace(",", " ").split() if w not in _TITLES}


@dataclass(frozen=True)
class _Which:
    """Which appointment the caller named: the days it may be on, the times it may start, its clinician's name
    words; ``clear`` False when a detail could not be read; ``words``: the details as said back ("on Thursday,
    November 26 at 3 PM")."""

    days: tuple[DaySpan, ...] = ()
    times: tuple[SpokenTime, ...] = ()
    clinician: frozenset[str] = frozenset()
    clear: bool = True
    words: str = ""

    def fits(self, appointment: Appointment | practice_data.AppointmentView, tz: Any) -> bool:
        local = appointment.start.astimezone(tz)
        if self.days and not any(span.first <= local.date() <= span.last for span in self.days):
            return False
        if self.times and not any(t.on(local.date()) and _time_fits(t, local.time().replace(tzinfo=None))
                                  for t in self.times):
            return False
        clinician: Clinician | practice_data.ClinicianView | None = appointment.clinician
        name = _name_words(clinician.name if clinician is not None else "")
        return not self.clinician or bool(self.clinician & name)


def _which(ctx: ActionContext, request: Mapping[str, Any]) -> _Which | None:
    """The appointment the request names (None: it names none)."""
    said_day, said_time, said_with = (request.get(k) for k in ("from_day", "from_time", "with"))
    if not (said_day or said_time or said_with):
        return None
    tz = ctx.flows.practice.tz
    now_local = ctx.now.astimezone(tz)
    clear, words = True, []
    days: tuple[DaySpan, ...] = ()
    times: tuple[SpokenTime, ...] = ()
    if said_day:
        reading = parse_day(str(said_day), now=ctx.now, tz=tz)
        days = tuple(reading.options())
        clear = clear and bool(days)
        single = reading.value if reading.ok and reading.value is not None else None
        if single is not None and single.first == single.last:
            words.append("on " + spoken_date(single.first, now_local, dated=True))
        else:
            words.append(str(said_day))
    if said_time:
        reading_t = parse_time(str(said_time))
        times = tuple(reading_t.options())
        clear = clear and bool(times)
        first = times[0] if times else None
        if first is not None and first.at is not None and len(times) == 1:
            words.append("at " + spoken_time(dt.datetime.combine(now_local.date(), first.at, tzinfo=tz)))
        elif first is not None and first.part is not None and first.at is None:
            words.append(f"in the {first.part.value}")
        else:
            words.append(f"at {said_time}")
    clinician = frozenset(_name_words(str(said_with))) if said_with else frozenset()
    if said_with:
        clear = clear and bool(clinician)
        words.append(f"with {said_with}")
    return _Which(days, times, clinician, clear, " ".join(words))


def _fitting(slots: list[dt.datetime], wanted: _Wishes, tz: Any) -> list[dt.datetime]:
    """The ``slots`` that fit ``wanted``, nearest first."""
    on_wanted = [s for s in slots if wanted.fits(s.astimezone(tz))]
    if wanted.weeks:
        # "next Wednesday" on a Monday: slots on each of the days it may mean, in turn, so every offer read out
        # (with its date) lets the caller hear both (review 14c finding 4)
        per_day = [[s for s in on_wanted if span.first <= s.astimezone(tz).date() <= span.last]
                   for span in wanted.weeks]
        on_wanted = [s for group in itertools.zip_longest(*per_day) for s in group if s is not None]
    return on_wanted


def _slots_for(db: Session, appointment: practice_data.AppointmentView, ctx: ActionContext,
               exclude: tuple[dt.datetime, ...] = (), wanted: _Wishes | None = None) -> list[dt.datetime]:
    """Up to three open slots near the appointment; those that fit the caller's ``wanted`` days and times
    when any do (else the nearest: the flow says nothing fitted, from ``_Wishes.met``)."""
    nearest = access.open_slots_near(db, appointment.clinician, ctx, appointment.start, exclude=exclude,
                                     count=3 if wanted is None else 1000)
    return _offered(nearest, wanted, ctx.flows.practice.tz)


def _offered(nearest: list[dt.datetime], wanted: _Wishes | None, tz: Any) -> list[dt.datetime]:
    """Up to three of the open slots ``nearest`` (nearest first) to offer: those that fit ``wanted`` when any do, else
    the nearest not ruled out. The inbound and the follow-up call's offers both choose so (fix14-left gap 2)."""
    if wanted is None:
        return nearest[:3]
    on_wanted = _fitting(nearest, wanted, tz)
    if not on_wanted and wanted.time is not None and (wanted.days is not None or wanted.weeks or wanted.any_of):
        # nothing at the time asked for on the day asked for ("next Tuesday at half past two"): other times on that
        # day come before other days (bt14-s27 SHOULD-FIX 3); the flow still says the time had nothing open
        on_wanted = _fitting(nearest, dataclasses.replace(wanted, time=None), tz)
    # a day or time the caller ruled out ("I can't make it tomorrow", "anything but Tuesday") is never offered, not
    # even when nothing fits the rest of what they asked for (bt14-s26 SHOULD-FIX 5)
    return on_wanted[:3] or [s for s in nearest if not wanted.ruled_out(s.astimezone(tz))][:3]


def _offer_vars(ctx: ActionContext, slots: list[dt.datetime], wishes: _Wishes | None, request: Mapping[str, Any],
                anchor: dt.date | None) -> dict[str, Any]:
    """The variables every slot offer sets, for the flows' ``pick`` prompts: ``slots`` (ISO, the practice's zone),
    ``choice`` cleared, ``slots_as_asked`` (False: the caller named days or times and none of these fits them, so the
    flow says so rather than offering other days as if they were the ones asked for; review 14b finding 7),
    ``slots_asked`` (what was asked for, in words, when not as asked) and ``slots_day_unclear`` (``_day_unclear``).
    One function for the inbound and the follow-up call's offers, so both say the same (fix14-left gap 2)."""
    tz = ctx.flows.practice.tz
    as_asked = wishes is None or any(wishes.fits(s.astimezone(tz)) for s in slots)
    return {"slots": [s.astimezone(tz).isoformat() for s in slots], "choice": None, "slots_as_asked": as_asked,
            "slots_asked": "" if as_asked or wishes is None else wishes.words(ctx.now, tz),
            "slots_day_unclear": _day_unclear(ctx, request, anchor)}


def offer_slots(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Up to three open slots with the same clinician near the current appointment, as ``vars.slots``."""
    client_id = access.client_id(ctx)
    appt = ctx.session.vars.get("appt") or {}
    with access.practice(ctx).read() as db:
        appointment = access.appointment(db, appt.get("id") or "")
        if appointment is None or appointment.client_id != client_id or appointment.status != ACTIVE:
            return ActionResult("none", {"slots": []})
        # "the day after" counts from the appointment being moved, or, said for another day once the day asked
        # for had nothing open (vars.other_day), from that refused day
        moved = appointment.start.astimezone(ctx.flows.practice.tz).date()
        request = ctx.session.vars.get("request") or {}
        wishes = _wanted(ctx, request if isinstance(request, dict) else {}, anchor=moved)
        said = said_at_the_offers(ctx)
        refused = moved
        if said:
            refused = wishes.days.first if wishes is not None and wishes.days is not None else moved
            # a time said on its own at the offers ("anything after 3") is vars.other_time (fix14-left finding 4);
            # a day or time ruled out there ("not Wednesday", "anything but mornings") is looked for without it,
            # still on the days asked for when no other day was said (fix14-left2 item 2)
            if "to_day" not in said and isinstance(request, dict):
                # what was ruled out at the main menu stays ruled out ("I can't make it tomorrow"; bt14-s26 S5)
                said = {**{k: str(request[k]) for k in ("to_day", "to_time", "not_day", "not_time")
                           if request.get(k)}, **said}
            wishes = _wanted(ctx, said, anchor=refused)
        slots = _slots_for(db, appointment, ctx, wanted=wishes)
    offer = _offer_vars(ctx, slots, wishes, said or (request if isinstance(request, dict) else {}), refused)
    return ActionResult("offered" if slots else "none", offer)


def _day_unclear(ctx: ActionContext, request: Mapping[str, Any], anchor: dt.date | None) -> bool:
    """Whether a day was asked for (``to_day``) that could not be read as one day or stretch, nor as any of the days
    offered with "or" ("Tuesday or Wednesday": ``parse_days``), nor as either of two weeks ("next Friday" on a
    Thursday): then the offers are not narrowed, and the flow says it did not get the day rather than offering others
    as if they were it (bt14-s26 SHOULD-FIX 6: "next year", a fifth Monday that February has not)."""
    said = request.get("to_day")
    if not said or said == request.get("to_time"):
        return False  # a time alone said at the offers ("anything after 3") is also vars.other_day: no day asked for
    reading = parse_days(str(said), now=ctx.now, tz=ctx.flows.practice.tz, anchor=anchor)
    return not reading.ok and not (reading.why is Why.WHICH_WEEK and reading.candidates)


@dataclass(frozen=True)
class _Wishes:
    """What the caller asked for at the main menu: days (``to_day``), a time (``to_day``'s or ``to_time``),
    and days and times ruled out (``not_day``, ``not_time``)."""

    days: DaySpan | None = None
    time: SpokenTime | None = None
    not_days: tuple[DaySpan, ...] = ()
    not_time: SpokenTime | None = None
    weeks: tuple[DaySpan, ...] = ()  # a weekday said without its week ("next Wednesday" on a Monday): either day
    # days offered with "or" ("Tuesday or Wednesday", "Tuesday morning or Wednesday afternoon"): any of them, each with
    # its own time when they differ (fix14-left gap 3)
    any_of: tuple[DaySpan, ...] = ()

    def fits(self, slot: dt.datetime) -> bool:
        """Whether a local slot start fits every wish."""
        day, clock = slot.date(), slot.time()
        if self.days is not None and not self.days.first <= day <= self.days.last:
            return False
        if self.weeks and not any(span.first <= day <= span.last for span in self.weeks):
            return False
        if self.any_of and not any(span.first <= day <= span.last and (
                span.time is None or (span.time.on(day) and _time_fits(span.time, clock))) for span in self.any_of):
            return False
        if self.time is not None and not (self.time.on(day) and _time_fits(self.time, clock)):
            return False  # "weekdays after 5": the weekdays are kept with the time (bt14 s24 nit 7)
        return not self.ruled_out(slot)

    def ruled_out(self, slot: dt.datetime) -> bool:
        """Whether a local slot start is on a day or at a time the caller ruled out."""
        day, clock = slot.date(), slot.time()
        if any(span.first <= day <= span.last for span in self.not_days):
            return True
        return self.not_time is not None and self.not_time.on(day) and _time_fits(self.not_time, clock)

    def words(self, now: dt.datetime, tz: Any) -> str:
        """The days and time asked for as said back ("on Friday, December 4, in the afternoon", "tomorrow after
        3 PM", "from Monday, December 7 to Friday, December 11"); "" when only something ruled out was asked for
        (then the flow keeps its general words). bt14 s24 nit 7."""
        local = now.astimezone(tz)
        parts: list[str] = []
        spans = (self.days,) if self.days is not None else self.weeks or self.any_of
        if spans:
            parts.append(" or ".join(_span_words(span, local) + (f", {_time_words(span.time, local.date(), tz)}"
                                                                 if span.time is not None else "") for span in spans))
        if self.time is not None:
            parts.append(" ".join(w for w in (_habit_words(self.time), _time_words(self.time, local.date(), tz)) if w))
        return ", ".join(p for p in parts if p)


def _day_words(day: dt.date, local: dt.datetime) -> str:
    said = spoken_date(day, local, dated=True)
    return said if said in ("today", "tomorrow") else f"on {said}"


def _span_words(span: DaySpan, local: dt.datetime) -> str:
    if span.first == span.last:
        return _day_words(span.first, local)
    return f"from {spoken_date(span.first, local, dated=True)} to {spoken_date(span.last, local, dated=True)}"


def _time_words(wish: SpokenTime, today: dt.date, tz: Any) -> str:
    def clock(at: dt.time) -> str:
        return spoken_time(dt.datetime.combine(today, at, tzinfo=tz))

    if wish.at is not None and wish.until is not None:
        return f"between {clock(wish.at)} and {clock(wish.until)}"
    if wish.at is not None:
        return f"{(wish.bound or Bound.AT).value} {clock(wish.at)}"
    if wish.part is not None and wish.part.value in ("morning", "afternoon", "evening"):
        return f"in the {wish.part.value}"
    return ""


_WEEKDAY_NAMES = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
_WEEKDAY_WORDS = {(0, 1, 2, 3, 4): "on weekdays", (5, 6): "on weekends"}
_DAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def _habit_words(wish: SpokenTime) -> str:
    if not wish.weekdays:
        return ""
    if wish.weekdays in _WEEKDAY_WORDS:
        return _WEEKDAY_WORDS[wish.weekdays]
    names = [_DAY_NAMES[d] for d in wish.weekdays]
    return "on " + (names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}")


def _time_fits(wish: SpokenTime, clock: dt.time) -> bool:
    if wish.at is not None and wish.until is not None:
        return wish.at <= clock < wish.until
    if wish.at is not None:
        if wish.bound is Bound.AFTER:
            return clock >= wish.at
        if wish.bound is Bound.BEFORE:
            return clock < wish.at
        if wish.bound is Bound.AROUND:
            return abs((dt.datetime.combine(dt.date.min, clock)
                        - dt.datetime.combine(dt.date.min, wish.at)).total_seconds()) <= 3600
        return clock == wish.at
    if wish.part is not None:
        start, end = wish.part.window
        return start <= clock < end
    return True


def _wanted(ctx: ActionContext, request: Mapping[str, Any], anchor: dt.date | None = None) -> _Wishes | None:
    """The caller's wishes in ``request`` (vars.request's keys), each kept only when it reads clearly; None
    when there are none. ``anchor``: the day "the day after" counts from."""
    tz = ctx.flows.practice.tz

    def day(key: str) -> DaySpan | None:
        said = request.get(key)
        reading = parse_day(str(said), now=ctx.now, tz=tz, anchor=anchor) if said else None
        return reading.value if reading is not None and reading.ok else None

    def time(key: str) -> SpokenTime | None:
        said = request.get(key)
        reading = parse_time(str(said)) if said else None
        return reading.value if reading is not None and reading.ok else None

    def ruled_out() -> tuple[DaySpan, ...]:
        # "not Monday" said on a Monday is this one or next: both are ruled out, and every Monday after. A day
        # named otherwise ("I can't make it tomorrow") is that day only (bt14-s26 SHOULD-FIX 5).
        said = request.get("not_day")
        if not said:
            return ()
        options = parse_day(str(said), now=ctx.now, tz=tz, anchor=anchor).options()
        weekdays = {o.first.weekday() for o in options if o.first == o.last}
        named = any(w.lower().rstrip("s") in _WEEKDAY_NAMES for w in str(said).replace("'", "").split())
        if named and options and len(weekdays) == 1 and all(o.first == o.last for o in options):
            first = options[0].first
            return tuple(DaySpan(d, d) for d in (first + dt.timedelta(weeks=w) for w in range(-1, 12)))
        return tuple(options)

    def any_days() -> tuple[DaySpan, ...]:
        # "Tuesday or Wednesday", "either Tuesday or Thursday", "Monday or Friday afternoon": any of the days named
        # (fix14-left gap 3); one day alone is ``day``'s
        said = request.get("to_day")
        reading = parse_days(str(said), now=ctx.now, tz=tz, anchor=anchor) if said else None
        if reading is None or not reading.ok or reading.value is None or len(reading.value) < 2:
            return ()
        return reading.value

    def which_week() -> tuple[DaySpan, ...]:
        # "next Wednesday" said on a Monday is this Wednesday or the one after: offers on both, each read out
        # with its date, rather than ignoring the day (review 14c finding 4); other unclear days narrow nothing
        said = request.get("to_day")
        reading = parse_day(str(said), now=ctx.now, tz=tz, anchor=anchor) if said else None
        if reading is None or reading.why is not Why.WHICH_WEEK:
            return ()
        return tuple(reading.candidates)  # "next weekend" on a weekday: either weekend (bt14-s26 S6)

    days = day("to_day")
    weeks = which_week() if days is None else ()
    any_of = any_days() if days is None and not weeks else ()
    said_time = days.time if days is not None else weeks[0].time if weeks else None
    if any_of and len({span.time for span in any_of}) == 1:
        # one time for every day ("Monday or Friday afternoon"): the wish's time, said once
        said_time = any_of[0].time
        any_of = tuple(DaySpan(span.first, span.last) for span in any_of)
    wishes = _Wishes(days=days, time=said_time or time("to_time"), not_days=ruled_out(), not_time=time("not_time"),
                     weeks=tuple(DaySpan(w.first, w.last) for w in weeks), any_of=any_of)
    if wishes.days is not None and wishes.days.time is not None:
        wishes = dataclasses.replace(wishes, days=DaySpan(wishes.days.first, wishes.days.last))
    return None if wishes == _Wishes() else wishes


def said_at_the_offers(ctx: ActionContext) -> dict[str, str]:
    """What the caller said they want at the offers (the flows' ``said_other_day`` step): ``to_day``, ``to_time``,
    ``not_day``, ``not_time`` from ``vars.other_day``/``other_time``/``other_not_day``/``other_not_time``; empty
    when nothing was said there."""
    got = ctx.session.vars
    other = str(got.get("other_day") or "")
    said = {"to_day": other, "to_time": str(got.get("other_time") or "") if other else "",
            "not_day": str(got.get("other_not_day") or ""), "not_time": str(got.get("other_not_time") or "")}
    return {k: v for k, v in said.items() if v}


def fitting_slots(ctx: ActionContext, slots: list[dt.datetime], said: Mapping[str, str],
                  anchor: dt.date | None = None) -> dict[str, Any]:
    """The offer of up to three of ``slots`` (nearest first) for what the caller ``said`` (``request_details`` keys),
    chosen and described as the inbound offers are (``_offered``, ``_offer_vars``: the same words for a day not
    understood, none open as asked, any of several days): the follow-up call's offers (fix14-left2 item 3,
    fix14-left gaps 2 and 3)."""
    wishes = _wanted(ctx, said, anchor=anchor)
    return _offer_vars(ctx, _offered(slots, wishes, ctx.flows.practice.tz), wishes, said, anchor)


def book_slot(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Move the appointment to the chosen slot: book the new one and release the old in one transaction.

    ``taken`` when someone else got the slot first (the unique index on active
    slots decides): fresh slots are offered in ``vars.slots``.
    """
    client_id = access.client_id(ctx)
    slots = list(ctx.session.vars.get("slots") or [])
    appt = ctx.session.vars.get("appt") or {}
    start = access.chosen_slot(ctx)
    if start is None:
        return ActionResult("invalid")
    practice = ctx.flows.practice
    data = access.practice(ctx)
    try:
        with data.write() as db:
            old = access.appointment(db, appt.get("id") or "")
            if old is None or old.client_id != client_id or old.status != ACTIVE:
                return ActionResult("invalid")
            clinician, old_id = old.clinician, old.id
            before = journal.appointment_state(old)
            new = Appointment(id=f"{PHONE_ID_PREFIX}{uuid.uuid4().hex[:12]}", client_id=client_id,
                              clinician_id=old.clinician_id, start=start, end=start + (old.end - old.start),
                              status=ACTIVE, telehealth_url=old.telehealth_url, changed_at=ctx.now,
                              changed_by_client=True)
            # Release, then book, as two Core statements (the ORM's flush of the same two rows cost as much as the
            # rest of the webhook): the unique index on active slots sees one active row at a time (and a slot
            # offered is never the old one's: that was busy). The release is a compare-and-set on the status, so a
            # change made meanwhile (staff, another call) wins; a slot someone else took fails the booking, as
            # IntegrityError, and the block rolls both back.
            connection = db.connection()
            released = connection.execute(_RELEASE, {"old_id": old_id, "new_id": new.id, "when": ctx.now})
            if released.rowcount != 1:
                return ActionResult("invalid")  # changed meanwhile: nothing written, nothing to undo
            connection.execute(_BOOK, _book_values(new))
            # What the ORM's events on Appointment would have noted: outbound planning runs after the commit.
            db.info[APPOINTMENTS_CHANGED] = True
            journal.note(db, ChangeKind.APPOINTMENT_MOVED, source=journal.call_source(ctx.session.call_sid),
                         now=ctx.now, client_id=client_id, appointment_id=old_id, before=before,
                         after={**journal.appointment_state(new), "appointment_id": new.id})
            described = access.describe(new, clinician, practice, ctx.now)
    except IntegrityError:
        with data.read() as db:
            old = access.appointment(db, appt.get("id") or "")
            taken = tuple(dt.datetime.fromisoformat(s) for s in slots)
            fresh = _slots_for(db, old, ctx, exclude=taken) if old is not None and old.status == ACTIVE else []
        return ActionResult("taken", {"slots": [s.astimezone(practice.tz).isoformat() for s in fresh],
                                      "choice": None})
    return ActionResult("booked", {"appt": described, "previous_start": appt.get("start"), "slots": [],
                                   "choice": None})


def cancel_appointment(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Cancel the next appointment, keep the reason given, and mark the client for a follow-up call."""
    client_id = access.client_id(ctx)
    appt = ctx.session.vars.get("appt") or {}
    reason = str(ctx.session.vars.get("cancel_reason") or "not given")[:100]
    with access.practice(ctx).write() as db:
        appointment = access.appointment(db, appt.get("id") or "")
        if appointment is None or appointment.client_id != client_id or appointment.status != ACTIVE:
            return ActionResult("none")
        before = journal.appointment_state(appointment)
        # Core statements, as book_slot's: the cancellation is a compare-and-set on the status (a change made
        # meanwhile by staff or another call wins), then the journal's entry and the follow-up row.
        connection = db.connection()
        cancelled = connection.execute(_CANCEL, {"appointment_id": appointment.id, "reason": reason, "when": ctx.now})
        if cancelled.rowcount != 1:
            return ActionResult("none")
        # What the ORM's events on Appointment would have noted: outbound planning runs after the commit.
        db.info[APPOINTMENTS_CHANGED] = True
        journal.note(db, ChangeKind.APPOINTMENT_CANCELLED, source=journal.call_source(ctx.session.call_sid),
                     now=ctx.now, client_id=client_id, appointment_id=appointment.id, before=before,
                     after={**before, "status": AppointmentStatus.CANCELLED.value, "cancel_reason": reason})
        connection.execute(_FOLLOW_UP, {"client_id": client_id, "reason": "cancelled_without_rebooking",
                                        "appointment_id": appointment.id, "created_at": ctx.now})
    return ActionResult("cancelled", {"cancel_reason": None})


# -- links by text, to numbers on file only --------------------------------------------------------------

def text_session_link(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Text the next appointment's video link to the client's number on file (never the calling number)."""
    client_id = access.client_id(ctx)
    with access.practice(ctx).read() as db:
        appointment = practice_data.next_appointment_view(db, client_id, ctx.now)
        url = appointment.telehealth_url if appointment else None
        when = appointment.start if appointment else None
    return access.text_video_link(ctx, url, when)


def text_portal_link(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Text the client portal's link with short sign-in help."""
    access.client_id(ctx)
    practice = ctx.flows.practice
    if not practice.portal_url:
        return ActionResult("no_link")
    help_text = f" {practice.portal_help}" if practice.portal_help else ""
    return access.text_to_client(ctx, f"Sign in here: {practice.portal_url}{help_text}")


def text_billing_link(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Text the secure link to update the card on file (when <Pay> is not configured)."""
    access.client_id(ctx)
    practice = ctx.flows.practice
    if not practice.billing_url:
        return ActionResult("no_link")
    return access.text_to_client(ctx, f"Secure link to update your card: {practice.billing_url}")


def save_card(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Keep the <Pay> token reference, brand, last four and expiry; the digits never reached us."""
    client_id = access.client_id(ctx)
    card = ctx.session.vars.get("card") or {}
    if not card.get("token"):
        return ActionResult("failed", {"card": None})
    with access.practice(ctx).write() as db:
        row = db.get(CardOnFile, client_id) or CardOnFile(client_id=client_id)
        before = {"brand": row.brand, "last4": row.last4, "expiry": row.expiry} if row.token_ref else {}
        row.token_ref, row.brand = str(card["token"])[:200], str(card.get("brand") or "card")[:40]
        row.last4, row.expiry = str(card.get("last4") or "")[-4:], str(card.get("expiry") or "")[:4]
        db.add(row)
        # The token itself stays out of the journal: staff need the brand, last four and expiry.
        journal.record(db, ChangeKind.CARD_UPDATED, source=journal.call_source(ctx.session.call_sid), now=ctx.now,
                       client_id=client_id, before=before,
                       after={"brand": row.brand, "last4": row.last4, "expiry": row.expiry})
    return ActionResult("saved", {"card": None, "card_last4": row.last4})


def practice_specs() -> list[ActionSpec]:
    """The practice actions, for the app's registry."""
    return [
        ActionSpec("identify_caller", ("present", "withheld"), identify_caller,
                   "Find the clients on the calling number (sets vars.candidates); the outcome only says whether "
                   "a number came through."),
        ActionSpec("find_by_number_on_file", ("done",), find_by_number_on_file,
                   "Match vars.number_on_file (typed by the caller) to clients; discloses nothing."),
        ActionSpec("verify_identity", ("verified", "failed", "locked"), verify_identity,
                   "Check vars.dob (a date, or pin:<digits>) against the candidates; 'locked' once this call "
                   "has had its attempts (practice.yaml verification).",
                   verified_outcome="verified"),
        ActionSpec("next_appointment", ("found", "none"), next_appointment,
                   "The verified client's next appointment as vars.appt (start, clinician, late_fee).",
                   discloses=True),
        ActionSpec("offer_slots", ("offered", "none"), offer_slots,
                   "Up to three open slots with the same clinician as vars.slots.", discloses=True),
        ActionSpec("book_slot", ("booked", "taken", "invalid"), book_slot,
                   "Move vars.appt to slot number vars.choice, in one transaction.", discloses=True),
        ActionSpec("cancel_appointment", ("cancelled", "none"), cancel_appointment,
                   "Cancel vars.appt, keep vars.cancel_reason, mark the client for a follow-up call.",
                   discloses=True),
        ActionSpec("text_session_link", ("sent", "no_link", "no_number"), text_session_link,
                   "Text the next appointment's video link to the client's number on file.", discloses=True),
        ActionSpec("text_portal_link", ("sent", "no_link", "no_number"), text_portal_link,
                   "Text the portal link and sign-in help to the client's number on file.", discloses=True),
        ActionSpec("text_billing_link", ("sent", "no_link", "no_number"), text_billing_link,
                   "Text the secure card-update link to the client's number on file.", discloses=True),
        ActionSpec("save_card", ("saved", "failed"), save_card,
                   "Keep the token of the card captured by a pay step (vars.card).", discloses=True),
    ]
