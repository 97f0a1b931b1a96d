"""What every practice action reaches through its call: the practice's data, the verified client, an appointment
(with its clinician) as a flow sees it, the slot the caller chose, and a text to the client's number on file.

Shared by the inbound actions (``ivr.actions.practice``) and the outbound conversation's (``ivr.actions.follow_up``).
"""
from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, literal, select
from sqlalchemy.orm import Session

from ivr.actions.registry import ActionContext, ActionResult
from ivr.core import effects as fx
from ivr.core.spoken_output import spoken_datetime
from ivr.exceptions import NotWired
from ivr.outbound.wording import zone_name
from ivr.outbound.zones import message_zone
from ivr.practice import scheduling
from ivr.practice.data import AppointmentView, ClinicianView, PracticeData, appointment_view
from ivr.practice.models import ACTIVE, Appointment, Client, Clinician
from ivr.practice.opt_outs import opted_out as sms_opted_out

# A clinician's busy times in a window. Two columns, not whole rows (a full diary has hundreds of appointments
# in the window), by a Core statement built once, on the session's connection: the ORM's work per statement
# and per row buys nothing for tuples. The status is written into the SQL, not bound: the statement reads through
# the partial index uq_active_slot (its WHERE is that literal), and with a bound status SQLite can only choose it
# by re-preparing the statement with the value on every execution (~60 us a time, measured).
_APPOINTMENTS = Appointment.__table__
_BUSY = select(_APPOINTMENTS.c.start, _APPOINTMENTS.c.end).where(
    _APPOINTMENTS.c.clinician_id == bindparam("clinician_id"),
    _APPOINTMENTS.c.status == literal(ACTIVE, literal_execute=True),
    _APPOINTMENTS.c.end > bindparam("now"), _APPOINTMENTS.c.start < bindparam("horizon"))

# How many of the nearest starts the first read of the diary covers, per slot wanted: three offers are usually
# found among the first dozen starts (a day or two around the appointment), whose busy times are a few rows where
# the whole window's are hundreds.
_FIRST_LOOK_PER_SLOT = 4


def open_slots_near(db: Session, clinician: Clinician | ClinicianView, ctx: ActionContext, around: dt.datetime,
                    exclude: tuple[dt.datetime, ...] = (), count: int = 3) -> list[dt.datetime]:
    """``scheduling.open_slots`` for ``clinician`` against the diary (``count`` starts nearest ``around``, its week
    first, in time order), reading the busy times of the nearest starts first and the whole window's only when
    those do not hold ``count`` open ones: the same slots as reading the whole window at once.

    Both reads keep the window's bounds (``ctx.now`` to the reschedule window's end), so a start is judged against
    exactly the intervals the single read would have given it.
    """
    practice = ctx.flows.practice
    horizon = ctx.now + dt.timedelta(days=practice.reschedule_window_days + 1)

    def ranked() -> Iterator[dt.datetime]:
        return scheduling.ranked_starts(working_hours=clinician.working_hours or {},
                                        session_minutes=clinician.session_minutes, practice=practice, now=ctx.now,
                                        around=around, window_days=practice.reschedule_window_days)

    length = dt.timedelta(minutes=clinician.session_minutes)
    connection = db.connection()
    first_look = _FIRST_LOOK_PER_SLOT * count
    head = list(itertools.islice(ranked(), first_look))
    if not head:
        return []
    # The span the head's sessions cover, in UTC (each end as first_open computes it), within the window's bounds.
    lo = max(min(s.astimezone(dt.UTC) for s in head), ctx.now)
    hi = min(max((s + length).astimezone(dt.UTC) for s in head), horizon)
    busy = connection.execute(_BUSY, {"clinician_id": clinician.id, "now": lo, "horizon": hi}).all()
    found = scheduling.first_open(head, session_minutes=clinician.session_minutes, busy=busy, count=count,
                                  exclude=exclude)
    if len(found) == count or len(head) < first_look:
        return found  # enough, or the head was every start there is
    busy = connection.execute(_BUSY, {"clinician_id": clinician.id, "now": ctx.now, "horizon": horizon}).all()
    return scheduling.first_open(ranked(), session_minutes=clinician.session_minutes, busy=busy, count=count,
                                 exclude=exclude)


def appointment(db: Session, appointment_id: str) -> AppointmentView | None:
    """The appointment ``appointment_id`` with its clinician, read in one Core statement (None: no such appointment).

    Offering and booking slots read the clinician of the appointment in the same query."""
    return appointment_view(db, appointment_id)


# Set on a call whose times are said in the client's zone once they are verified (an answered follow-up or
# reminder, a pool number called back: ``ivr.contact.conversation``); ``verify_identity`` reads it.
CLIENT_ZONE_VAR = "speak_in_client_zone"


def listener_zone(db: Session, client_id: str, ctx: ActionContext) -> dict[str, Any]:
    """``vars.listener_zone`` of a verified client: the zone every time said to them is in (their record's, else
    their number's area code's: ``zones.message_zone``, as their texts), its name, and whether to name it even
    when its clock is the practice's (a zone only guessed)."""
    client = db.get(Client, client_id)
    phones = sorted(client.phones, key=lambda p: p.position) if client is not None else []
    tz, always = message_zone(client.time_zone if client is not None else None,
                              phones[0].e164 if phones else None, ctx.flows.practice.tz.key)
    return {"key": tz.key, "name": zone_name(tz), "always": always}


def practice(ctx: ActionContext) -> PracticeData:
    """The practice's data; NotWired when the installation runs without it (these actions cannot run)."""
    if ctx.practice is None:
        raise NotWired("practice actions need ActionContext.practice (ivr.services wires it)")
    return ctx.practice


def caller(ctx: ActionContext) -> dict[str, Any]:
    """A copy of ``caller`` (verified, client_id, first_name, sms_to, …)."""
    return dict(ctx.session.vars.get("caller") or {})


def client_id(ctx: ActionContext) -> str:
    """The verified caller's client id; PermissionError when the caller is not verified."""
    who = caller(ctx)
    if not who.get("verified") or not who.get("client_id"):
        # The flow checker makes this unreachable; refuse loudly if it ever is not.
        raise PermissionError("practice action needs a verified caller")
    return str(who["client_id"])


def describe(appt: Appointment | AppointmentView, clinician: Clinician | ClinicianView | None, practice_settings: Any,
             now: dt.datetime) -> dict[str, Any]:
    """``vars.appt``: id, start (ISO 8601, the practice's zone), clinician's name, late_change, late_fee, has_link."""
    late = appt.start - now < dt.timedelta(hours=practice_settings.late_change_hours)
    return {"id": appt.id, "start": appt.start.astimezone(practice_settings.tz).isoformat(),
            "clinician": clinician.name if clinician else "", "late_change": late,
            "late_fee": practice_settings.late_change_fee if late else None,
            "has_link": bool(appt.telehealth_url)}


def chosen_slot(ctx: ActionContext) -> dt.datetime | None:
    """The slot the caller chose: ``vars.slots[vars.choice - 1]`` as an aware datetime; None for a choice that is
    missing, not a number, out of range, or a slot that does not read as a date and time."""
    slots = list(ctx.session.vars.get("slots") or [])
    try:
        index = int(ctx.session.vars.get("choice") or 0) - 1
        if index < 0:
            return None
        return dt.datetime.fromisoformat(slots[index])
    except (TypeError, ValueError, IndexError):
        return None


def text_to_client(ctx: ActionContext, body: str) -> ActionResult:
    """Text ``body`` to the verified client's number on file (never the calling number): ``sent`` with the
    text as an effect, or ``no_number`` (none on file, texts not allowed, or STOP since the call began)."""
    to = caller(ctx).get("sms_to")
    if to:
        with practice(ctx).read() as db:
            if sms_opted_out(db, to):  # texted STOP since the call began
                to = None
    if not to:
        return ActionResult("no_number")
    return ActionResult("sent", effects=(fx.SendSms(to, body),))


def text_video_link(ctx: ActionContext, url: str | None, when: dt.datetime | None) -> ActionResult:
    """Text the video link ``url`` of the appointment at ``when`` to the client's number on file: ``sent``,
    ``no_link`` (none, or no appointment) or ``no_number``."""
    if not url or when is None:
        return ActionResult("no_link")
    tz = ctx.flows.practice.tz
    listener = ctx.session.vars.get("listener_zone")  # the client's zone, once known (ivr.actions.follow_up)
    local = when.astimezone(tz)
    name = ""
    if isinstance(listener, Mapping) and listener.get("key"):
        local = when.astimezone(ZoneInfo(str(listener["key"])))
        differs = local.utcoffset() != when.astimezone(tz).utcoffset()
        name = f" {listener.get('name')}" if listener.get("name") and (differs or listener.get("always")) else ""
    spoken = spoken_datetime(local, ctx.now.astimezone(local.tzinfo)) + name
    return text_to_client(ctx, f"Your video link for {spoken}: {url}")
