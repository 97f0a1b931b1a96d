"""Actions of the outbound conversation (flows/follow_up_call.yaml, flows/returned_call.yaml).

The edge starts such a call with ``vars.touch`` (``ivr.contact.conversation``: the touch's kind, trigger,
appointment and client) and ``vars.candidates`` set to the client being called, so ``verify_identity``
checks the answer against that client only.  Every action here needs the caller verified as the touch's own
client; otherwise it refuses (PermissionError: the flow checker makes that unreachable).
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.actions import access
from ivr.actions.practice import fitting_slots, said_at_the_offers
from ivr.actions.registry import ActionContext, ActionResult, ActionSpec
from ivr.practice import journal
from ivr.practice.data import AppointmentView
from ivr.practice.models import ACTIVE, PHONE_ID_PREFIX, Appointment, ChangeKind, Client, Clinician


def _touch_client(ctx: ActionContext) -> tuple[str, dict[str, Any]]:
    """The verified client and the touch this call is about; PermissionError when they are not the same."""
    client_id = access.client_id(ctx)
    touch = dict(ctx.session.vars.get("touch") or {})
    if touch.get("client_id") != client_id:
        raise PermissionError("the verified caller is not the client this touch is for")
    return client_id, touch


def _touch_appointment(db: Session, client_id: str, touch: Mapping[str, Any]) -> AppointmentView | None:
    """The touch's appointment, followed through any move made since; None when gone or not the client's."""
    appointment_id = touch.get("appointment_id")
    if not appointment_id:
        return None
    current = journal.current_appointment_id(db, str(appointment_id))
    appointment = access.appointment(db, current)
    if appointment is None or appointment.client_id != client_id or appointment.status != ACTIVE:
        return None
    return appointment


listener_zone = access.listener_zone  # set at verification too (access.CLIENT_ZONE_VAR)


def continue_touch(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """A returned call, once the caller is verified: the touch it continues (``vars.touch``).  The one the number
    called back made to the calling number when it is this client's; otherwise this client's latest touch of the
    last 14 days (``ActionContext.touches``), so one who calls back from another phone goes on exactly as from the
    number it went to.  ``continues`` or ``none``; nothing about it is looked up before verification."""
    client_id = access.client_id(ctx)
    with access.practice(ctx).read() as db:
        zone = listener_zone(db, client_id, ctx)
    touch = ctx.session.vars.get("touch") or {}
    if isinstance(touch, Mapping) and touch.get("client_id") == client_id:
        return ActionResult("continues", {"listener_zone": zone})
    found = ctx.touches(client_id, ctx.now) if ctx.touches is not None else None
    if found is None or found.get("client_id") != client_id:
        return ActionResult("none", {"touch": None})
    return ActionResult("continues", {"touch": dict(found), "listener_zone": zone})


def stop_calling(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """The person on the line asked not to be called again: the number of this call (the one called, or the one
    calling a pool number back) is never called again, whoever they are (nothing about a client is said or
    needed).  ``done``, also where nothing can record it (no outbound rules)."""
    number = ctx.session.caller
    if ctx.contact is not None and number:
        ctx.contact.stop_calls(str(number), "voice", ctx.now)
    return ActionResult("done", {"conversation": "opted_out"})


def touch_appointment(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """The appointment the touch is about (a reminder's, a late arrival's), as ``vars.appt``."""
    client_id, touch = _touch_client(ctx)
    with access.practice(ctx).read() as db:
        zone = listener_zone(db, client_id, ctx)
        appointment = _touch_appointment(db, client_id, touch)
        if appointment is None:
            return ActionResult("none", {"appt": None, "listener_zone": zone})
        appt = access.describe(appointment, appointment.clinician, ctx.flows.practice, ctx.now)
    return ActionResult("found", {"appt": {**appt, "as_asked": True, "later": False}, "listener_zone": zone})


def text_touch_link(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Text the video link of the touch's own appointment (a late arrival's: it has begun, so it is no longer the
    "next" one) to the client's number on file: ``sent``, ``no_link`` or ``no_number``."""
    client_id, touch = _touch_client(ctx)
    with access.practice(ctx).read() as db:
        appointment = _touch_appointment(db, client_id, touch)
        url = appointment.telehealth_url if appointment is not None else None
        when = appointment.start if appointment is not None else None
    return access.text_video_link(ctx, url, when)


def _new_slots(db: Session, clinician: Clinician, ctx: ActionContext,
               exclude: tuple[dt.datetime, ...] = (), count: int = 3) -> list[dt.datetime]:
    # Around now: the same week first, then the nearest after.
    return access.open_slots_near(db, clinician, ctx, ctx.now, exclude=exclude, count=count)


def _clinician(db: Session, client_id: str) -> Clinician | None:
    client = db.get(Client, client_id)
    return db.get(Clinician, client.clinician_id) if client is not None and client.clinician_id else None


def offer_new_slots(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Three open slots with the client's clinician, the same week first, as ``vars.slots`` (for a new booking).

    A day or time said at the offers ("none of those, how about Thursday", "not Wednesday", "anything but
    mornings": ``said_at_the_offers``) is looked for as the inbound offers do, with the same variables
    (``fitting_slots``): when nothing fits, the nearest, with ``vars.slots_as_asked`` false so the flow says so
    (fix14-left2 item 3); a day not understood, ``vars.slots_day_unclear`` (fix14-left gap 2)."""
    client_id, _ = _touch_client(ctx)
    said = said_at_the_offers(ctx)
    with access.practice(ctx).read() as db:
        clinician = _clinician(db, client_id)
        slots = _new_slots(db, clinician, ctx, count=1000 if said else 3) if clinician is not None else []
        zone = listener_zone(db, client_id, ctx)
    offer = fitting_slots(ctx, slots, said)
    # Said in the client's zone (vars.listener_zone), named when it is not the practice's.
    return ActionResult("offered" if offer["slots"] else "none", {**offer, "listener_zone": zone})


def book_new_slot(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """Book the chosen slot (``vars.choice`` of ``vars.slots``) as a new appointment, in the change journal.

    ``taken`` when someone else got it first (fresh slots in ``vars.slots``); ``invalid`` for a bad choice.
    """
    client_id, touch = _touch_client(ctx)
    slots = list(ctx.session.vars.get("slots") or [])
    start = access.chosen_slot(ctx)
    if start is None:
        return ActionResult("invalid")
    practice = ctx.flows.practice
    data = access.practice(ctx)
    try:
        with data.write() as db:
            clinician = _clinician(db, client_id)
            if clinician is None:
                return ActionResult("invalid")
            new = Appointment(id=f"{PHONE_ID_PREFIX}{uuid.uuid4().hex[:12]}", client_id=client_id,
                              clinician_id=clinician.id, start=start,
                              end=start + dt.timedelta(minutes=clinician.session_minutes), status=ACTIVE,
                              changed_at=ctx.now, changed_by_client=True)
            db.add(new)
            db.flush()
            journal.record(db, ChangeKind.APPOINTMENT_BOOKED, source=journal.call_source(ctx.session.call_sid),
                           now=ctx.now, client_id=client_id, appointment_id=new.id,
                           after={**journal.appointment_state(new), "appointment_id": new.id,
                                  "follow_up": str(touch.get("trigger") or "")})
            described = access.describe(new, clinician, practice, ctx.now)
    except IntegrityError:
        with data.read() as db:
            clinician = _clinician(db, client_id)
            taken = tuple(dt.datetime.fromisoformat(s) for s in slots)
            fresh = _new_slots(db, clinician, ctx, exclude=taken) if clinician is not None else []
        return ActionResult("taken", {"slots": [s.astimezone(practice.tz).isoformat() for s in fresh],
                                      "choice": None})
    return ActionResult("booked", {"appt": described, "slots": [], "choice": None})


def confirm_appointment(ctx: ActionContext, params: Mapping[str, Any]) -> ActionResult:
    """The client confirmed the reminded appointment by key: into the change journal, as a text's ``1`` is."""
    client_id, touch = _touch_client(ctx)
    with access.practice(ctx).write() as db:
        appointment = _touch_appointment(db, client_id, touch)
        if appointment is None:
            return ActionResult("none")
        journal.record(db, ChangeKind.APPOINTMENT_CONFIRMED, source=journal.call_source(ctx.session.call_sid),
                       now=ctx.now, client_id=client_id, appointment_id=appointment.id,
                       after={"appointment_id": appointment.id, "confirmed": True,
                              "start": appointment.start.isoformat()})
    return ActionResult("confirmed")


def follow_up_specs() -> list[ActionSpec]:
    return [
        ActionSpec("continue_touch", ("continues", "none"), continue_touch,
                   "A returned call's touch for the verified caller: the number's, else their latest of 14 days "
                   "(vars.touch); verified client only."),
        ActionSpec("stop_calling", ("done",), stop_calling,
                   "The person on the line asked not to be called again: this call's number is never called "
                   "again."),
        ActionSpec("touch_appointment", ("found", "none"), touch_appointment,
                   "The appointment the outbound call is about (vars.touch), as vars.appt; verified client only.",
                   discloses=True),
        ActionSpec("offer_new_slots", ("offered", "none"), offer_new_slots,
                   "Three open slots with the client's clinician, same week first, as vars.slots (a new booking).",
                   discloses=True),
        ActionSpec("book_new_slot", ("booked", "taken", "invalid"), book_new_slot,
                   "Book vars.slots[vars.choice] as a new appointment (change journal).", discloses=True),
        ActionSpec("text_touch_link", ("sent", "no_link", "no_number"), text_touch_link,
                   "Text the video link of the touch's appointment to the client's number on file.", discloses=True),
        ActionSpec("confirm_appointment", ("confirmed", "none"), confirm_appointment,
                   "The reminded appointment confirmed by key (change journal).", discloses=True),
    ]
