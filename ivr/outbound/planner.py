"""The outbound planner: (facts, rules, now) → the touches to make, each with a deterministic id.

Pure and re-runnable at any time: the same facts, rules and instant always give the same touches,
so re-planning (every minute, after a change, after a crash) never sends twice.  A touch's id is

    <client>/<rule>/<subject>/v<appointment version>/<attempt>/<channel>

(``subject``: the appointment id, ``c:<request id>`` for a staff correction, ``t:<minute>`` for a
lapse since that minute); the I/O layer records each attempt under that id and passes the records
back in as :class:`~ivr.outbound.facts.PastTouch` values.

What the planner enforces (issues 11 and 12), per client across every trigger and channel:

- quiet hours in the client's zone(s), holidays and closures (:mod:`ivr.outbound.zones`);
- at most ``limits.per_day`` automated contacts a local day and ``per_week`` in any 7 days (a text
  sent, a call answered or a voicemail left; a text and a call of one ``both`` reminder count once),
  and ``calls_per_24h`` call attempts in any 24 hours;
- consent per channel and opt-outs per number; a shared number gets only the neutral words;
- a reply or an answered call ends every follow-up that was pending then, and the remaining
  reminders of an appointment that had been reminded;
- after downtime, a touch still inside its window is planned for now, a late one is skipped.

A follow-up's next attempt is planned only once the previous one's outcome is known.  Reminders
are planned from the appointment as it is now; a reminder already sent for the same time is not
sent again (so a move and a move back sends nothing), and a moved appointment whose last reminder
gave another time gets one short correction (``reminders.moved``), ``reminders.settle`` after the
change.  :func:`still_eligible` re-checks one touch at the moment of dialling or sending.
"""
from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right, insort
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from urllib.parse import quote
from zoneinfo import ZoneInfo

from ivr.outbound.facts import (
    ATTEMPTED_OUTCOMES,
    CONTACT_OUTCOMES,
    UNREACHED_OUTCOMES,
    AppointmentFacts,
    AppointmentStatus,
    Channel,
    ClientFacts,
    Outcome,
    PastTouch,
    PracticeFacts,
)
from ivr.outbound.rules import FollowUpRule, MovedRule, OutboundRules, Span, Trigger
from ivr.outbound.zones import (
    Calendar,
    calendar_for,
    client_zones,
    closed_days,
    display_zone,
    local_to_utc,
)

UTC = UTC
DEFAULT_HORIZON = timedelta(days=7)
DEFAULT_HISTORY = timedelta(days=7)
DAY = 86400
_SAFE = "-_.@:+"  # kept as is in ids; anything else (a "/" in an EHR id) is %-escaped


class TouchKind(str, Enum):
    """Which part of the rules a touch comes from."""

    FOLLOW_UP = "follow_up"
    REMINDER = "reminder"
    MOVED = "moved"  # the short correction after a reminded appointment moved


class TouchStatus(str, Enum):
    """``planned``: make it at ``due`` (at once when due ≤ now).  ``skipped``: record it, never make it."""

    PLANNED = "planned"
    SKIPPED = "skipped"


class SkipReason(str, Enum):
    """Why a touch is not made (planner) or no longer made (:func:`still_eligible`)."""

    LATE = "late"  # its window passed (e.g. downtime)
    QUIET_HOURS = "quiet_hours"  # no allowed time in its window (quiet hours, holidays, closures)
    DAILY_CAP = "daily_cap"
    WEEKLY_CAP = "weekly_cap"
    CALL_CAP = "call_cap"
    NO_CONSENT = "no_consent"  # the client allows none of its channels
    OPTED_OUT = "opted_out"  # the number opted out (STOP) or must not be called
    UNDELIVERABLE = "undeliverable"  # Twilio can never reach the number on this channel (a permanent error code)
    NO_NUMBER = "no_number"
    ANSWERED = "answered"  # a reply or an answered call made it unnecessary
    NOT_DELIVERED = "not_delivered"  # a correction reached nobody (a neutral voicemail at best) and no attempt is left
    # Only from still_eligible: the facts changed since it was planned.
    CHECKED_IN = "checked_in"
    JOINED = "joined"
    CANCELLED = "cancelled"
    MOVED = "moved"
    REBOOKED = "rebooked"
    GONE = "gone"  # the client or appointment no longer exists
    ALREADY_DONE = "already_done"
    NOT_DUE = "not_due"  # not yet: quiet hours or caps put it later (see the re-planned touch's due)
    NOT_PLANNED = "not_planned"  # the rules or facts no longer call for it


# The per-client limits: a touch they hold back that cannot wait (a correction, a "late" follow-up, anything whose
# window closes before the limit frees) is recorded skipped with the limit as its reason and becomes a staff
# task at once (a touch of channel ``staff_task``, attempt ``held-<n>``: see :func:`held_task_id`).
HELD_BY_LIMIT = frozenset({SkipReason.DAILY_CAP, SkipReason.WEEKLY_CAP, SkipReason.CALL_CAP})
HELD_PREFIX = "held-"
# A reminder (or correction) that cannot go for another reason — its send job found no allowed instant left in its
# window (``late``), or a correction has no channel left (``undeliverable``, ``opted_out``, ``no_consent``…) — is
# recorded skipped with that reason and becomes a staff task too (attempt ``notsent-<reason>-<n>``), so that no
# client is silently left without a reminder, or with only the old time.
NOT_SENT_PREFIX = "notsent-"
# Why a correction finds no channel: each is told to staff (the client would keep only the old time).
NO_CHANNEL = frozenset({SkipReason.OPTED_OUT, SkipReason.UNDELIVERABLE, SkipReason.NO_CONSENT,
                        SkipReason.NO_NUMBER, SkipReason.NOT_DELIVERED})
# A correction is delivered only when the new time reached the client: a neutral voicemail never says it
# (break-test s25b #2), so for ``reminders.moved`` a voicemail is an attempt that reached nobody.
MOVED_REACHED = CONTACT_OUTCOMES - {Outcome.VOICEMAIL}
MOVED_UNREACHED = UNREACHED_OUTCOMES | {Outcome.VOICEMAIL}
# Attempts a correction gets: its channel, then the other one (or a call again), as the limits allow.
MOVED_ATTEMPTS = 2
# A touch that quiet hours or closed days move back to the last allowed minute of a day is planned this much
# earlier (30 minutes, never before its window's start): ordinary worker latency must not push it into quiet hours.
QUIET_MARGIN = 30 * 60


@dataclass(frozen=True, slots=True)
class Touch:
    """One call, text or staff task to make (or a skipped one to record).

    ``id`` is deterministic (module docstring); ``due`` and ``window_end`` are UTC instants (``due``
    None when skipped); ``words`` names the words to use (``follow_ups.late``, ``reminders.two_days_before``,
    ``reminders.moved``); ``neutral``: only the neutral words (shared number); ``voicemail``: a machine
    may get the voicemail; ``opt_out_notice``: the first text to this number, add the notice;
    ``about_start``: the appointment time the words give; ``task``: a staff task's text.
    """

    id: str
    client_id: str
    kind: TouchKind
    name: str
    appointment_id: str | None
    appointment_version: int | None
    attempt: int
    channel: Channel
    status: TouchStatus
    due: datetime | None
    window_end: datetime | None
    to: str | None = None
    words: str | None = None
    neutral: bool = False
    voicemail: bool = False
    opt_out_notice: bool = False
    about_start: datetime | None = None
    task: str | None = None
    why_skipped: SkipReason | None = None

    @property
    def job_id(self) -> str:
        """An RQ-safe job id for this touch (letters, digits, dashes; no client id in clear)."""
        return "touch-" + hashlib.sha256(self.id.encode()).hexdigest()[:32]


_PLAIN = re.compile(r"[A-Za-z0-9_.@:+\-]*\Z")


def _q(text: str) -> str:
    """``text`` %-escaped for an id (most ids need nothing: the fast path)."""
    return text if _PLAIN.match(text) else quote(text, safe=_SAFE)


def make_id(client_id: str, rule: str, subject: str, version: int | None, attempt: int | str,
            channel: Channel) -> str:
    """The id of a touch (module docstring)."""
    return "/".join((_q(client_id), rule, _q(subject), f"v{version}" if version is not None else "v-",
                     str(attempt), channel.value))


def _instance_of(touch_id: str) -> tuple[str, str | int, str] | None:
    """(instance = client/rule/subject, attempt, channel) of an id; None if it is not one of ours."""
    parts = touch_id.split("/")
    if len(parts) != 6:
        return None
    attempt: str | int = int(parts[4]) if parts[4].isdigit() else parts[4]
    return "/".join(parts[:3]), attempt, parts[5]


def is_held_task(touch_id: str) -> bool:
    """Whether ``touch_id`` is the staff task of a touch the limits held back (final: never re-planned away)."""
    parsed = _instance_of(touch_id)
    return parsed is not None and isinstance(parsed[1], str) and parsed[1].startswith((HELD_PREFIX, NOT_SENT_PREFIX))


def not_sent_why(touch_id: str) -> str | None:
    """The skip reason of a "not sent" staff task (``late``, ``undeliverable``…), None for any other touch."""
    parsed = _instance_of(touch_id)
    if parsed is None or not isinstance(parsed[1], str) or not parsed[1].startswith(NOT_SENT_PREFIX):
        return None
    return parsed[1][len(NOT_SENT_PREFIX):].rsplit("-", 1)[0]


def _instance(client_id: str, rule: str, subject: str) -> str:
    return "/".join((_q(client_id), rule, _q(subject)))


def _ts(value: datetime) -> int:
    return int(value.timestamp())


def _dt(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _oldest(rules: OutboundRules, now: int, history_start: int) -> dict[Trigger, int]:
    """How far back (epoch s) each trigger's instances can still need work (their last attempt and window; each
    window longer by the closed days inside it, as :meth:`_Client.open_days_end` keeps them in business days)."""
    out = {}
    ptz = rules.practice.tz
    today = datetime.fromtimestamp(now, ptz).date()
    for t, r in rules.follow_ups.items():
        base = min(history_start, now) - (
            r.after.approx_seconds + len(r.attempts) * (r.spacing.approx_seconds + r.within.approx_seconds)
            + r.within.approx_seconds + DAY)
        oldest = base
        for _ in range(8):  # the closed days of the longer look-back lengthen it again: to a fixed point
            first = datetime.fromtimestamp(oldest, ptz).date()
            again = base - closed_days(rules.practice, rules.quiet_hours, first, today) * DAY
            if again == oldest:
                break
            oldest = again
        out[t] = oldest
    return out


def reach_back(rules: OutboundRules, now: datetime, *, history: timedelta = DEFAULT_HISTORY) -> datetime:
    """The earliest instant a pass of :func:`plan` at ``now`` reads appointments from (the I/O layer's window).

    The longest look-back of any trigger (lapsed, unbooked, cancelled, no-show, late: each its ``after``,
    attempts, spacing and windows) and of the skips kept for ``history``.  An appointment that neither
    starts, ends nor changed at or after it can change a plan only as the lineage of a moved appointment
    or the subject of a correction request, so :func:`plan` over the appointments of each client from
    the first one that does (plus those) plans exactly what it plans over every appointment.
    """
    now_ts = _ts(now)
    history_start = now_ts - int(history.total_seconds())
    return _dt(min([min(history_start, now_ts), *_oldest(rules, now_ts, history_start).values()]) - DAY)  # type: ignore[return-value]


# --------------------------------------------------------------------------- indexes over the facts


@dataclass(slots=True)
class _Past:
    """Past touches of one instance (client/rule/subject)."""

    attempts: dict[int, list[PastTouch]] = field(default_factory=dict)
    staff_task: bool = False
    skipped: bool = False


class _Ctx:
    """Everything the planner looks up, indexed once per pass."""

    def __init__(self, facts: PracticeFacts, rules: OutboundRules, now: datetime, horizon: timedelta,
                 history: timedelta):
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.facts, self.rules = facts, rules
        self.now = _ts(now)
        self.horizon_end = self.now + int(horizon.total_seconds())
        self.history_start = self.now - int(history.total_seconds())
        self.reach = rules.max_reach_seconds() + 2 * DAY
        self.oldest = _oldest(rules, self.now, self.history_start)
        self.longest_reminder = max((r.before.approx_seconds for r in rules.reminders), default=0) + DAY
        self.practice = rules.practice
        self.appts: dict[str, list[AppointmentFacts]] = defaultdict(list)
        self.appt_by_id: dict[str, AppointmentFacts] = {}
        for a in facts.appointments:
            if a.start.tzinfo is None or a.end.tzinfo is None or a.changed_at.tzinfo is None:
                raise ValueError(f"appointment {a.id!r}: start, end and changed_at must be aware datetimes")
            self.appts[a.client_id].append(a)
            self.appt_by_id[a.id] = a
        for items in self.appts.values():
            items.sort(key=lambda a: (a.start, a.id))
        self.starts = {c: [_ts(a.start) for a in items] for c, items in self.appts.items()}
        self.past: dict[str, _Past] = defaultdict(_Past)
        self.past_by_client: dict[str, list[tuple[str, int | str, PastTouch]]] = defaultdict(list)
        self.texted: set[str] = set()
        self.resolutions: dict[str, list[int]] = defaultdict(list)
        for pt in facts.past_touches:
            if pt.at.tzinfo is None:
                raise ValueError(f"past touch {pt.touch_id!r}: at must be an aware datetime")
            parsed = _instance_of(pt.touch_id)
            if parsed is None:
                continue
            inst, attempt, _ = parsed
            record = self.past[inst]
            if pt.outcome is Outcome.SKIPPED and pt.channel is not Channel.STAFF_TASK:
                record.skipped = True
            if pt.channel is Channel.STAFF_TASK:
                record.staff_task = True
            elif isinstance(attempt, int):
                record.attempts.setdefault(attempt, []).append(pt)
            self.past_by_client[pt.client_id].append((inst, attempt, pt))
            if pt.channel is Channel.TEXT and pt.outcome in ATTEMPTED_OUTCOMES and pt.to:
                self.texted.add(pt.to)
            if pt.outcome is Outcome.ANSWERED:
                self.resolutions[pt.client_id].append(_ts(pt.at))
        for reply in facts.replies:
            self.resolutions[reply.client_id].append(_ts(reply.at))
        for items in self.resolutions.values():
            items.sort()
        self.corrections = defaultdict(list)
        for request in facts.corrections:
            self.corrections[request.client_id].append(request)
        self.number_users = Counter(p.e164 for c in facts.clients for p in {ph.e164: ph for ph in c.phones}.values())
        self.calendars: dict[tuple[str, ...], Calendar] = {}
        self.day_starts: dict[tuple[str, int], int] = {}  # (zone, local day ordinal) → its first instant
        self.cal_from = _dt(min(self.history_start, self.now) - self.reach)
        # Forward, as many more days as the practice is closed on (windows of days run in business days).
        cal_to = self.horizon_end + self.reach
        ptz = rules.practice.tz
        for _ in range(8):
            closed = closed_days(rules.practice, rules.quiet_hours, datetime.fromtimestamp(self.now, ptz).date(),
                                 datetime.fromtimestamp(cal_to, ptz).date())
            if self.horizon_end + self.reach + closed * DAY == cal_to:
                break
            cal_to = self.horizon_end + self.reach + closed * DAY
        self.cal_to = _dt(cal_to)

    def calendar(self, zones: tuple[str, ...]) -> Calendar:
        cal = self.calendars.get(zones)
        if cal is None:
            cal = self.calendars[zones] = calendar_for(zones, self.practice, self.rules.quiet_hours,
                                                       self.cal_from, self.cal_to)  # type: ignore[arg-type]
        return cal

    def resolved(self, client_id: str, since: int) -> bool:
        """Did the client reply or answer a call at or after ``since`` (and by now)?"""
        items = self.resolutions.get(client_id)
        if not items:
            return False
        i = bisect_left(items, since)
        return i < len(items) and items[i] <= self.now

    def lineage(self, appt: AppointmentFacts) -> list[str]:
        """The appointment's id and the ids of those it replaced when moved (newest first)."""
        out = [appt.id]
        current = appt
        while current.replaces and current.replaces not in out and len(out) < 20:
            out.append(current.replaces)
            previous = self.appt_by_id.get(current.replaces)
            if previous is None:
                break
            current = previous
        return out


# --------------------------------------------------------------------------- one client


@dataclass(slots=True)
class _Candidate:
    """A touch to place: the slot search range [lo, hi), the preferred moment and how to search."""

    kind: TouchKind
    rule: str  # follow_ups.late, reminders.two_days_before, reminders.moved
    name: str
    subject: str
    appt: AppointmentFacts | None
    attempt: int
    channels: tuple[Channel, ...]
    moment: int
    lo: int
    hi: int
    late_limit: int  # seconds after its planned slot it may still go (downtime)
    nearest: bool  # reminders: the allowed time nearest the moment; else the first at or after it
    priority: int
    about_start: int | None = None
    skip: SkipReason | None = None  # decided before placing (consent, reply)

    @property
    def cannot_wait(self) -> bool:
        """A correction (``moved``, or a ``correction`` follow-up) must not wait for the limits to free."""
        return self.kind is TouchKind.MOVED or self.rule == f"follow_ups.{Trigger.CORRECTION.value}"


@dataclass(frozen=True, slots=True)
class Chosen:
    """The number a channel uses for one client: ``e164`` (None: none, ``why``), ``shared`` by several clients."""

    e164: str | None
    shared: bool = False
    why: SkipReason | None = None


_NO_CHOICE = Chosen(None, False, None)


def choose_number(client: ClientFacts, channel: Channel, opted_out: AbstractSet[str],
                  users: Mapping[str, int], undeliverable: AbstractSet[str] = frozenset()) -> Chosen:
    """The number ``channel`` reaches ``client`` on: the first of their numbers, in their order, that is theirs
    alone and not closed on that channel (opted out, undeliverable: ``opted_out``) — it gets the details; else the
    first open number several clients share (a family phone: neutral words only).  None with why: no consent for
    the channel, no number, or every number closed (``undeliverable`` when every one is only flagged so, a subset of
    ``opted_out``; else ``opted_out``).  ``users``: number → how many clients list it (a
    :class:`~ivr.outbound.facts.Phone` marked ``shared`` counts as shared whatever the count)."""
    consent = client.may_text if channel is Channel.TEXT else client.may_call if channel is Channel.CALL else True
    if not consent:
        return Chosen(None, False, SkipReason.NO_CONSENT)
    if not client.phones:
        return Chosen(None, False, SkipReason.NO_NUMBER)
    shared_first: str | None = None
    for phone in client.phones:
        if phone.e164 in opted_out:
            continue
        if not (phone.shared or users.get(phone.e164, 0) > 1):
            return Chosen(phone.e164, False, None)
        shared_first = shared_first or phone.e164
    if shared_first is not None:
        return Chosen(shared_first, True, None)
    if undeliverable and all(phone.e164 in undeliverable for phone in client.phones):
        return Chosen(None, False, SkipReason.UNDELIVERABLE)
    return Chosen(None, False, SkipReason.OPTED_OUT)


class _Client:
    """One client's zones, numbers, consent and contact counts while their touches are placed."""

    def __init__(self, ctx: _Ctx, client: ClientFacts):
        self.ctx, self.client = ctx, client
        practice_tz = ctx.practice.timezone
        self.primary = client.phones[0].e164 if client.phones else None  # the zone guess (area code) reads it
        facts = ctx.facts
        # Per channel: the number it goes to, whether several clients share it, or why there is none.
        self.number = {
            Channel.TEXT: choose_number(client, Channel.TEXT, facts.text_opt_outs, ctx.number_users,
                                        facts.text_undeliverable),
            Channel.CALL: choose_number(client, Channel.CALL, facts.call_opt_outs, ctx.number_users,
                                        facts.call_undeliverable),
        }
        self.zones = client_zones(client.time_zone, self.primary, practice_tz)
        self.tz: ZoneInfo = display_zone(client.time_zone, practice_tz)
        self.cal = ctx.calendar(self.zones)
        groups: dict[tuple[str, int | str], int] = {}
        calls: list[int] = []
        for inst, attempt, pt in ctx.past_by_client.get(client.id, ()):
            if pt.channel is Channel.STAFF_TASK:
                continue
            at = _ts(pt.at)
            if pt.outcome in CONTACT_OUTCOMES:
                key = (inst, attempt)
                groups[key] = min(groups.get(key, at), at)
            if pt.channel is Channel.CALL and pt.outcome in ATTEMPTED_OUTCOMES:
                calls.append(at)
        self.contact_days = sorted(self._day(t) for t in groups.values())
        self.calls = sorted(calls)
        self.past_days, self.past_calls = tuple(self.contact_days), tuple(self.calls)  # made, not just planned
        self._day_cache: dict[int, int] = {}

    def channel_block(self, channel: Channel) -> SkipReason | None:
        return self.number[channel].why if channel in self.number else None

    def number_for(self, channel: Channel) -> Chosen:
        return self.number.get(channel, _NO_CHOICE)

    def _day(self, t: int) -> int:
        return datetime.fromtimestamp(t, self.tz).toordinal()

    def open_days_end(self, lo: int, hi: int) -> int:
        """``hi`` pushed a day later for every local day in [lo, hi) with no allowed time at all (a holiday, a
        closure, a weekend with ``days: business_days``): a window delayed by closures keeps its length in
        business days, whatever the closure's length and across a year's end (S10)."""
        end = hi
        day = self._day_start(lo)
        for _ in range(400):
            if day >= end or not self.cal.covers(day):
                break  # past the days this pass's calendar knows: a later pass, nearer, sees them
            following = self._next_day_start(day)
            if self.cal.next_at(day, following) is None:
                end = self._next_day_start(end) + (end - self._day_start(end))  # the same local time a day on
            day = following
        return end

    def _start_of(self, ordinal: int) -> int:
        """The first instant of the local day ``ordinal`` (cached per pass and zone: a pass asks for few days)."""
        key = (self.tz.key, ordinal)
        found = self.ctx.day_starts.get(key)
        if found is None:
            found = self.ctx.day_starts[key] = _ts(local_to_utc(date.fromordinal(ordinal), time(0), self.tz))
        return found

    def _next_day_start(self, t: int) -> int:
        return self._start_of(self._day(t) + 1)

    def _day_start(self, t: int) -> int:
        return self._start_of(self._day(t))

    # ---- caps
    def cap(self, t: int, channels: Sequence[Channel]) -> SkipReason | None:
        """Which limit a contact at ``t`` would break, if any.  The limits are hard: every automated touch,
        corrections included, counts and is held back (a held one that cannot wait goes to staff, see
        :data:`HELD_BY_LIMIT`)."""
        limits = self.ctx.rules.limits
        day = self._day(t)
        days = self.contact_days
        if bisect_right(days, day) - bisect_left(days, day) >= limits.per_day:
            return SkipReason.DAILY_CAP
        for first in range(day - 6, day + 1):
            if bisect_right(days, first + 6) - bisect_left(days, first) >= limits.per_week:
                return SkipReason.WEEKLY_CAP
        if Channel.CALL in channels:
            calls = self.calls
            if limits.calls_per_24h <= 0:
                return SkipReason.CALL_CAP
            # Every 24-hour window holding t: those starting at a call in (t - 24h, t], and at t.
            for start in [c for c in calls[bisect_right(calls, t - DAY):bisect_right(calls, t)]] + [t]:
                inside = bisect_left(calls, start + DAY) - bisect_left(calls, start) + (start <= t < start + DAY)
                if inside > limits.calls_per_24h:
                    return SkipReason.CALL_CAP
        return None

    def take(self, t: int, channels: Sequence[Channel]) -> None:
        insort(self.contact_days, self._day(t))
        if Channel.CALL in channels:
            insort(self.calls, t)

    # ---- searching for a slot
    def forward(self, lo: int, hi: int, channels: Sequence[Channel]) -> tuple[int | None, SkipReason | None]:
        """The first allowed instant in [lo, hi) within the caps, or (None, why)."""
        t = self.cal.next_at(lo, hi)
        reason = None
        for _ in range(400):
            if t is None:
                break
            blocked = self.cap(t, channels)
            if blocked is None:
                return t, None
            reason = reason or blocked
            t = self.cal.next_at(self._next_day_start(t), hi)
        return None, reason or SkipReason.QUIET_HOURS

    def nearest(
        self, moment: int, lo: int, hi: int, channels: Sequence[Channel]
    ) -> tuple[int | None, SkipReason | None]:
        """The allowed instant in [lo, hi) nearest ``moment`` within the caps (a tie goes earlier)."""
        ahead = self.cal.next_at(max(moment, lo), hi)
        back = self.cal.latest_before(min(moment, hi), lo) if moment > lo else None
        reason = None
        for _ in range(400):
            if ahead is None and back is None:
                break
            if back is not None and (ahead is None or moment - back <= ahead - moment):
                t, side = back, "back"
            else:
                t, side = ahead, "ahead"  # type: ignore[assignment]
            assert t is not None
            blocked = self.cap(t, channels)
            if blocked is None:
                if side == "back":
                    t = self._with_margin(t, lo, channels)
                return t, None
            reason = reason or blocked
            if side == "ahead":
                ahead = self.cal.next_at(self._next_day_start(t), hi)
            else:
                back = self.cal.latest_before(self._day_start(t), lo)
        return None, reason or SkipReason.QUIET_HOURS

    def _with_margin(self, t: int, lo: int, channels: Sequence[Channel]) -> int:
        """A slot moved back to ``t``, the last allowed minute before quiet hours or a closed day, planned
        :data:`QUIET_MARGIN` earlier when that is still allowed, on the same day's limits and not before ``lo``
        (the window's start): every such touch would otherwise be due on the very last minute, and a worker a
        minute late would find no allowed instant left."""
        early = self.cal.next_at(max(t - QUIET_MARGIN, lo), t)
        if early is None or early >= t or self._day(early) != self._day(t) or self.cap(early, channels) is not None:
            return t
        return early

    def _search(self, c: _Candidate, lo: int, hi: int) -> tuple[int | None, SkipReason | None]:
        return self.nearest(c.moment, lo, hi, c.channels) if c.nearest else self.forward(lo, hi, c.channels)

    def held_by_past(self, c: _Candidate) -> bool:
        """Whether contacts already made (not those this pass planned, which may still be re-planned away)
        hold ``c`` back over the rest of its window: then nothing can free the limit in time."""
        planned = self.contact_days, self.calls
        self.contact_days, self.calls = list(self.past_days), list(self.past_calls)
        try:
            slot, why = self._search(c, max(c.lo, self.ctx.now), c.hi)
        finally:
            self.contact_days, self.calls = planned
        return slot is None and why in HELD_BY_LIMIT

    def place(self, c: _Candidate) -> tuple[int | None, SkipReason | None, int]:
        """(due, why skipped, when decided) for a candidate; due None means skipped (or not yet decidable)."""
        now = self.ctx.now
        if c.hi <= c.lo:
            return None, SkipReason.QUIET_HOURS, c.moment
        # Its window closed before any pass decided it (downtime): late, whatever limit held it then.  The window
        # comes first (break-test s25b #1): a limit only matters while the touch could still be made, so staff
        # get no "contact the client yourself" task a day after the appointment.
        passed = now >= c.hi
        # Before its earliest instant (``settle`` after the change it is about) nothing is decided about a touch: a
        # change undone within ``settle`` leaves no "contact the client yourself" task for a change that no longer
        # exists (break-test s26 SF2).  The first pass after ``lo`` decides, on the facts of then.
        settled = c.lo <= now or c.kind is TouchKind.FOLLOW_UP  # a follow-up is about no change: decided at once
        if c.cannot_wait and not passed and settled:
            # A correction waits for quiet hours, never for the limits: held at its first allowed time, it is
            # decided now (placed before every other touch of the client, only contacts made can hold it).
            first = self.cal.next_at(max(c.lo, now) if c.lo < now <= c.hi else c.lo, c.hi)
            held = self.cap(first, c.channels) if first is not None else None
            if held is not None:
                return None, held, now
        slot, why = self._search(c, c.lo, c.hi)
        if slot is not None and slot >= now:
            return slot, None, slot
        if slot is not None:  # its time passed (downtime, or planned late): still inside its window?
            deadline = min(c.hi, slot + c.late_limit)
            again, _ = self.forward(max(now, c.lo), deadline, c.channels) if now < deadline else (None, None)
            if again is not None:
                return again, None, again
            if now < deadline and self.cal.next_at(max(now, c.lo), deadline) is None:
                # No allowed instant is left before its window closes (quiet hours or closed days until then):
                # that is final now, not at the deadline (a send job run a minute after its slot must record it
                # skipped ``late``, and staff be told, instead of the touch vanishing from the plan).
                last = self.cal.latest_before(deadline, slot)
                return None, SkipReason.LATE, (slot if last is None else last) + 60
            return None, SkipReason.LATE, max(deadline, slot)
        if why in HELD_BY_LIMIT and passed:
            return None, SkipReason.LATE, c.hi
        if why in HELD_BY_LIMIT and settled and (c.cannot_wait or c.moment <= now) and self.held_by_past(c):
            return None, why, now  # held by the limits and it cannot wait: decided now (a staff task at once)
        return None, why, c.moment if why is SkipReason.QUIET_HOURS else c.hi


_HELD_OR_DUE = (AppointmentStatus.SCHEDULED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)


def _other_channel(moved: MovedRule) -> Channel | None:
    """The channel a correction without a ``fallback`` of its own falls back to: the one it is not sent by, when
    its words have that channel's (the default words have both)."""
    needs = {Channel.TEXT: "text", Channel.CALL: "spoken"}
    return next((ch for ch in (Channel.TEXT, Channel.CALL)
                 if ch not in moved.by.channels() and needs[ch] in moved.words.sources), None)


def _rebooked(appts: Sequence[AppointmentFacts], after: datetime, exclude: str) -> bool:
    """Has the client an appointment (scheduled or held) starting after ``after``?"""
    for a in reversed(appts):
        if a.start <= after:
            return False
        if a.id != exclude and a.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.COMPLETED):
            return True
    return False


def _shift(ts: int, span: Span, tz: ZoneInfo, sign: int = 1) -> int:
    if not span.days:
        return ts + sign * span.seconds
    moved = span.after(_dt(ts), tz) if sign > 0 else span.before(_dt(ts), tz)  # type: ignore[arg-type]
    return _ts(moved)


class _Planner:
    """Builds and places one client's candidates."""

    def __init__(self, ctx: _Ctx, client: ClientFacts):
        self.ctx = ctx
        self.c = client
        self.s = _Client(ctx, client)
        self.out: list[Touch] = []

    # ---- emitting
    def _touch(self, cand: _Candidate, channel: Channel, status: TouchStatus, due: int | None,
               why: SkipReason | None, window_end: int | None) -> Touch:
        chosen = self.s.number_for(channel)
        appt = cand.appt
        return Touch(
            id=make_id(self.c.id, cand.rule, cand.subject, appt.version if appt else None, cand.attempt, channel),
            client_id=self.c.id, kind=cand.kind, name=cand.name, appointment_id=appt.id if appt else None,
            appointment_version=appt.version if appt else None, attempt=cand.attempt, channel=channel, status=status,
            due=_dt(due), window_end=_dt(window_end), to=chosen.e164, words=cand.rule,
            neutral=chosen.shared, voicemail=channel is Channel.CALL and self.c.may_voicemail,
            opt_out_notice=channel is Channel.TEXT and chosen.e164 is not None and chosen.e164 not in self.ctx.texted,
            about_start=_dt(cand.about_start), why_skipped=why)

    def _skip(self, cand: _Candidate, why: SkipReason, decided: int) -> None:
        """Record a skip once it is final: decided by now, and not older than the history kept."""
        if self.ctx.history_start <= decided <= self.ctx.now:
            channel = cand.channels[0] if cand.channels else Channel.TEXT
            self.out.append(self._touch(cand, channel, TouchStatus.SKIPPED, None, why, None))  # one record per attempt

    def _held(self, cand: _Candidate, why: SkipReason, decided: int) -> None:
        """A touch the limits hold back: recorded skipped, and a staff task at once naming the trigger and the
        appointment (the escalation reason ``held_by_limit``)."""
        if not self.ctx.history_start <= decided <= self.ctx.now:
            return
        self._skip(cand, why, decided)
        if cand.kind is not TouchKind.FOLLOW_UP and (cand.about_start or 0) <= self.ctx.now:
            return  # a reminder (or correction) about an appointment already begun: nothing left for staff to say
        appt = cand.appt
        about = f"appointment {appt.id}" if appt else "no appointment"
        prefix = HELD_PREFIX if why in HELD_BY_LIMIT else f"{NOT_SENT_PREFIX}{why.value}-"
        self.out.append(Touch(
            id=make_id(self.c.id, cand.rule, cand.subject, appt.version if appt else None,
                       f"{prefix}{cand.attempt}", Channel.STAFF_TASK),
            client_id=self.c.id, kind=cand.kind, name=cand.name, appointment_id=appt.id if appt else None,
            appointment_version=appt.version if appt else None, attempt=cand.attempt, channel=Channel.STAFF_TASK,
            status=TouchStatus.PLANNED, due=_dt(max(decided, self.ctx.now)), window_end=None, words=cand.rule,
            about_start=_dt(cand.about_start),
            task=(f"Correction not delivered: {cand.rule}, {about} (the new time reached nobody; a voicemail never "
                  "gives it). Contact the client yourself." if why is SkipReason.NOT_DELIVERED else
                  f"Not sent automatically ({why.value}): {cand.rule}, {about}. Contact the client yourself.")))

    def _staff_task(self, rule: FollowUpRule, subject: str, appt: AppointmentFacts | None, due: int) -> None:
        if due > self.ctx.horizon_end:
            return
        version = appt.version if appt else None
        self.out.append(Touch(
            id=make_id(self.c.id, f"follow_ups.{rule.trigger.value}", subject, version, "then", Channel.STAFF_TASK),
            client_id=self.c.id, kind=TouchKind.FOLLOW_UP, name=rule.trigger.value,
            appointment_id=appt.id if appt else None, appointment_version=version, attempt=len(rule.attempts) + 1,
            channel=Channel.STAFF_TASK, status=TouchStatus.PLANNED, due=_dt(due), window_end=None,
            task=rule.then))

    def run(self) -> list[Touch]:
        candidates: list[_Candidate] = []
        appts = self.ctx.appts.get(self.c.id, [])
        self._reminders(appts, candidates)
        self._follow_ups(appts, candidates)
        candidates.sort(key=lambda k: (k.priority, k.moment, k.rule, k.subject))
        for cand in candidates:
            if cand.skip is not None:
                if cand.kind is TouchKind.MOVED and cand.skip is SkipReason.NOT_DELIVERED:
                    self._held(cand, cand.skip, self.ctx.now)  # known when the last outcome came: staff, at once
                elif cand.kind is TouchKind.MOVED and cand.skip in NO_CHANNEL:
                    self._held(cand, cand.skip, cand.moment)  # the client would keep only the old time: staff
                else:
                    self._skip(cand, cand.skip, cand.moment)
                continue
            if (cand.lo if cand.nearest else cand.moment) > self.ctx.horizon_end:
                continue  # beyond the horizon: a later pass plans it
            due, why, decided = self.s.place(cand)
            if due is not None:
                if due <= self.ctx.horizon_end:
                    self.s.take(due, cand.channels)
                    window_end = min(cand.hi, due + cand.late_limit) if cand.nearest else cand.hi
                    for channel in cand.channels:
                        self.out.append(self._touch(cand, channel, TouchStatus.PLANNED, due, None, window_end))
                continue
            final = why in (SkipReason.QUIET_HOURS, SkipReason.LATE) or decided <= self.ctx.now
            if final and (why in HELD_BY_LIMIT or (why is SkipReason.LATE and cand.kind is not TouchKind.FOLLOW_UP)):
                self._held(cand, why, decided)
            elif why is not None and final:
                self._skip(cand, why, decided if why is not SkipReason.QUIET_HOURS else max(cand.moment, cand.lo))
        return self.out

    # ---- channels
    def _usable(self, wanted: Sequence[Channel]) -> tuple[tuple[Channel, ...], SkipReason | None]:
        usable = tuple(ch for ch in wanted if self.s.channel_block(ch) is None)
        if usable:
            return usable, None
        reasons = [self.s.channel_block(ch) for ch in wanted]
        for reason in (SkipReason.OPTED_OUT, SkipReason.UNDELIVERABLE, SkipReason.NO_NUMBER, SkipReason.NO_CONSENT):
            if reason in reasons:
                return (), reason
        return (), SkipReason.NO_CONSENT

    # ---- reminders (and the correction after a move)
    def _reminders(self, appts: list[AppointmentFacts], out: list[_Candidate]) -> None:
        ctx, rules = self.ctx, self.ctx.rules
        if not rules.reminders and not rules.moved.enabled:
            return
        starts = ctx.starts.get(self.c.id, [])
        longest = ctx.longest_reminder
        has_past = self.c.id in ctx.past_by_client
        settle = rules.settle.approx_seconds
        min_notice = rules.min_notice.approx_seconds
        # Appointments already begun are looked at too, within the history kept, so that reminders
        # missed during downtime are recorded as skipped (place() finds their window over).
        for i in range(bisect_right(starts, ctx.history_start), len(appts)):
            appt, start = appts[i], starts[i]
            if start - longest > ctx.horizon_end:
                break
            if start > ctx.now and appt.status is not AppointmentStatus.SCHEDULED:
                continue
            if start <= ctx.now and appt.status not in _HELD_OR_DUE:
                continue
            changed = _ts(appt.changed_at)
            lineage = ctx.lineage(appt)
            mentions: list[tuple[int, int, str]] = []  # (at, about_start, rule) of reminders that went out
            first_sent: int | None = None
            for appt_id in (lineage if has_past else ()):
                for r in [*rules.reminders, None]:
                    rule = f"reminders.{r.name}" if r else "reminders.moved"
                    past = ctx.past.get(_instance(self.c.id, rule, appt_id))
                    if past is None:
                        continue
                    for items in past.attempts.values():
                        for pt in items:
                            reached = MOVED_REACHED if rule == "reminders.moved" else CONTACT_OUTCOMES
                            if pt.outcome in reached and pt.about_start is not None:
                                mentions.append((_ts(pt.at), _ts(pt.about_start), rule))
            mentions.sort()
            same_time = [m for m in mentions if m[1] == start]
            if same_time:
                first_sent = same_time[0][0]
            answered = first_sent is not None and ctx.resolved(self.c.id, first_sent)
            hi = start - min_notice
            for r in rules.reminders:
                rule = f"reminders.{r.name}"
                moment = _shift(start, r.before, self.s.tz, -1)
                if moment < changed:
                    continue  # booked or moved after this reminder's moment: it does not apply
                done, attempt, channels = self._reminder_progress(rule, lineage, start, r.by.channels(), r.fallback)
                if done:
                    continue
                cand = _Candidate(TouchKind.REMINDER, rule, r.name, appt.id, appt, attempt, channels, moment,
                                  max(moment - r.before.approx_seconds, changed + settle), hi,
                                  r.within.approx_seconds, True, 1, start)
                if attempt > 1:  # the fallback: as soon as allowed after the unreached attempt
                    cand.nearest, cand.lo, cand.moment = False, max(cand.lo, self._last_at(rule, lineage, start)), \
                        max(moment, self._last_at(rule, lineage, start))
                self._decide_channels(cand, answered)
                out.append(cand)
            moved = rules.moved
            if moved.enabled and start > ctx.now and mentions and mentions[-1][1] != start \
                    and not appt.changed_by_client:
                rule = "reminders.moved"
                # Without a fallback of its own, a correction falls back to the other channel (its text refused
                # for good: a call), so the client never keeps only the old time.
                fallback = moved.fallback or _other_channel(moved)
                done, attempt, channels = self._reminder_progress(rule, [appt.id], start, moved.by.channels(),
                                                                  fallback)
                if not done:
                    moment = changed + settle
                    if attempt > 1:
                        moment = max(moment, self._last_at(rule, [appt.id], start))
                    cand = _Candidate(TouchKind.MOVED, rule, "moved", appt.id, appt, attempt,
                                      channels or moved.by.channels(), moment, moment, hi, max(hi - moment, 0), False,
                                      0, start)
                    if channels:
                        self._decide_channels(cand, False)
                    else:  # every attempt reached nobody: staff tell the client ("correction not delivered")
                        cand.skip = SkipReason.NOT_DELIVERED
                    out.append(cand)

    def _last_at(self, rule: str, lineage: Sequence[str], start: int) -> int:
        last = 0
        for appt_id in lineage:
            past = self.ctx.past.get(_instance(self.c.id, rule, appt_id))
            for items in (past.attempts.values() if past else ()):
                for pt in items:
                    if pt.about_start is not None and _ts(pt.about_start) == start:
                        last = max(last, _ts(pt.at))
        return last

    def _reminder_progress(self, rule: str, lineage: Sequence[str], start: int, first: tuple[Channel, ...],
                           fallback: Channel | None) -> tuple[bool, int, tuple[Channel, ...]]:
        """(done, next attempt, its channels) for one reminder about the appointment's current time."""
        tried: dict[int, list[PastTouch]] = {}
        for appt_id in (lineage if self.c.id in self.ctx.past_by_client else ()):
            past = self.ctx.past.get(_instance(self.c.id, rule, appt_id))
            if past is None:
                continue
            for attempt, items in past.attempts.items():
                for pt in items:
                    if pt.about_start is not None and _ts(pt.about_start) == start:
                        tried.setdefault(attempt, []).append(pt)
        if not tried:
            return False, 1, first
        every = [pt for items in tried.values() for pt in items]
        if any(pt.outcome is Outcome.SKIPPED for pt in every):
            return True, 0, ()
        moved = rule == "reminders.moved"
        reached, unreached = (MOVED_REACHED, MOVED_UNREACHED) if moved else (CONTACT_OUTCOMES, UNREACHED_OUTCOMES)
        if any(pt.outcome in reached for pt in every) or any(pt.outcome is Outcome.QUEUED for pt in every):
            return True, 0, ()
        last = max(tried)
        if not all(pt.outcome in unreached for pt in every):
            return True, 0, ()
        if moved:
            # A correction must reach the client: the other channel (or a call again) while attempts remain, then
            # (no channels) a staff task.  The limits and quiet hours still decide when, or hold it for staff.
            if last < MOVED_ATTEMPTS:
                return False, last + 1, (fallback,) if fallback is not None else (Channel.CALL,)
            return False, last + 1, ()
        if last == 1 and fallback is not None:
            return False, 2, (fallback,)
        return True, 0, ()

    def _decide_channels(self, cand: _Candidate, answered: bool) -> None:
        """Keep the channels the client allows (falling back when none is); mark consent and reply skips."""
        usable, why = self._usable(cand.channels)
        if not usable and cand.attempt == 1:
            rule = self.ctx.rules.moved if cand.kind is TouchKind.MOVED else next(
                (r for r in self.ctx.rules.reminders if f"reminders.{r.name}" == cand.rule), None)
            fallback = getattr(rule, "fallback", None)
            if fallback is None and cand.kind is TouchKind.MOVED:
                # A correction must reach the client: by the other channel when theirs is closed (a number flagged
                # undeliverable for texts is called, if the client allows calls).
                fallback = _other_channel(self.ctx.rules.moved)
            if fallback is not None:
                first_why = why
                usable, why = self._usable((fallback,))
                if cand.kind is TouchKind.MOVED and first_why is not None:
                    why = first_why  # the true reason is its own channel's (undeliverable), not the fallback's
        if answered:
            cand.skip = SkipReason.ANSWERED  # the channels stay the wanted ones: the record names them
        elif not usable:
            cand.skip = why
        else:
            cand.channels = usable

    # ---- follow-ups
    def _follow_ups(self, appts: list[AppointmentFacts], out: list[_Candidate]) -> None:
        ctx = self.ctx
        rules = ctx.rules.follow_ups
        starts = ctx.starts.get(self.c.id, [])
        # One pass: the last held session (by start) and the last cancellation (by when it was cancelled).
        held_i: int | None = None
        cancelled: AppointmentFacts | None = None
        for i, a in enumerate(appts):
            if a.status is AppointmentStatus.COMPLETED:
                held_i = i
            elif a.status is AppointmentStatus.CANCELLED and (
                    cancelled is None or (a.changed_at, a.id) > (cancelled.changed_at, cancelled.id)):
                cancelled = a
        for trigger, rule in rules.items():
            oldest = ctx.oldest[trigger]
            if trigger is Trigger.LATE:
                for i in range(bisect_left(starts, oldest), bisect_right(starts, ctx.horizon_end)):
                    appt = appts[i]
                    if appt.status is AppointmentStatus.SCHEDULED and not appt.checked_in and not appt.joined:
                        moment = _shift(starts[i], rule.after, self.s.tz)
                        self._attempts(rule, appt.id, appt, moment, starts[i], out)
            elif trigger is Trigger.NO_SHOW:
                for i in range(bisect_left(starts, oldest), len(appts)):
                    appt = appts[i]
                    if appt.status is AppointmentStatus.NO_SHOW and not _rebooked(appts, appt.start, appt.id):
                        moment = _shift(_ts(appt.end), rule.after, self.s.tz)
                        self._attempts(rule, appt.id, appt, moment, starts[i], out)
            elif trigger is Trigger.UNBOOKED:
                if held_i is not None:
                    last = appts[held_i]
                    later = any(a.start > last.start and a.status in (AppointmentStatus.SCHEDULED,
                                                                       AppointmentStatus.NO_SHOW)
                                for a in appts[held_i + 1:])
                    if not later and _ts(last.end) >= oldest:
                        moment = _shift(_ts(last.end), rule.after, self.s.tz)
                        self._attempts(rule, last.id, last, moment, _ts(last.end), out)
            elif trigger is Trigger.CANCELLED:
                if cancelled is not None:
                    last = cancelled
                    if _ts(last.changed_at) >= oldest and not _rebooked(appts, last.changed_at, last.id):
                        moment = _shift(_ts(last.changed_at), rule.after, self.s.tz)
                        self._attempts(rule, last.id, last, moment, _ts(last.changed_at), out)
            elif trigger is Trigger.LAPSED:
                self._lapsed(rule, appts, starts, held_i, oldest, out)
            elif trigger is Trigger.CORRECTION:
                for request in ctx.corrections.get(self.c.id, ()):
                    raised = _ts(request.raised_at)
                    if raised < oldest:
                        continue
                    appt = ctx.appt_by_id.get(request.appointment_id) if request.appointment_id else None
                    moment = _shift(raised, rule.after, self.s.tz)
                    self._attempts(rule, f"c:{request.id}", appt, moment, raised, out)

    def _lapsed(self, rule: FollowUpRule, appts: list[AppointmentFacts], starts: list[int], held_i: int | None,
                oldest: int, out: list[_Candidate]) -> None:
        ctx = self.ctx
        times = []
        if self.c.id in ctx.facts.last_contact:
            times.append(_ts(ctx.facts.last_contact[self.c.id]))
        if held_i is not None:
            times.append(_ts(appts[held_i].end))
        resolutions = [t for t in ctx.resolutions.get(self.c.id, ()) if t <= ctx.now]
        if resolutions:
            times.append(resolutions[-1])
        if not times:
            return
        last = max(times)
        if last < oldest:
            return
        if any(a.status is AppointmentStatus.SCHEDULED for a in appts[bisect_right(starts, last):]):
            return  # something is booked: not lapsed
        moment = _shift(last, rule.after, self.s.tz)
        self._attempts(rule, f"t:{last // 60}", None, moment, last, out, since=last + 1)

    def _attempts(self, rule: FollowUpRule, subject: str, appt: AppointmentFacts | None, moment: int, cause: int,
                  out: list[_Candidate], since: int | None = None) -> None:
        """The next attempt (or the staff task) of one follow-up instance."""
        ctx = self.ctx
        name = f"follow_ups.{rule.trigger.value}"
        past = ctx.past.get(_instance(self.c.id, name, subject))
        if past is not None and (past.skipped or past.staff_task):
            return
        attempts = past.attempts if past else {}
        every = [pt for items in attempts.values() for pt in items]
        if any(pt.outcome is Outcome.QUEUED for pt in every):
            return  # in flight: wait for its outcome
        if any(pt.outcome is Outcome.ANSWERED for pt in every):
            return  # reached: done
        usable, why = self._usable(rule.attempts)
        resolved = ctx.resolved(self.c.id, since if since is not None else cause)
        within = rule.within.approx_seconds
        if not usable:
            if moment <= ctx.now and moment >= ctx.history_start and not attempts:
                cand = _Candidate(TouchKind.FOLLOW_UP, name, rule.trigger.value, subject, appt, 1, rule.attempts[:1],
                                  moment, moment, moment + within, within, False, 2, skip=why)
                out.append(cand)
                if rule.then and not resolved:
                    self._staff_task(rule, subject, appt, moment)
            return
        attempt = (max(attempts) + 1) if attempts else 1
        if attempt > len(usable):
            if rule.then and not resolved:
                last_at = max(_ts(pt.at) for pt in every)
                self._staff_task(rule, subject, appt, _shift(last_at, rule.spacing, self.s.tz))
            return
        if attempt > 1:
            last_at = max(_ts(pt.at) for pt in every)
            moment = _shift(last_at, rule.spacing, self.s.tz)
        channel = usable[attempt - 1]
        hi = _shift(moment, rule.within, self.s.tz)
        if rule.within.approx_seconds >= DAY:  # a window of days: in business days (minutes stay minutes)
            hi = self.s.open_days_end(moment, hi)
        # A correction is placed before the client's other touches (priority 0, as a ``moved`` one): it cannot wait.
        cand = _Candidate(TouchKind.FOLLOW_UP, name, rule.trigger.value, subject, appt, attempt, (channel,), moment,
                          moment, hi, hi - moment, False, 0 if rule.trigger is Trigger.CORRECTION else 2,
                          _ts(appt.start) if appt and rule.trigger in (Trigger.LATE, Trigger.NO_SHOW) else None)
        if resolved:
            cand.skip = SkipReason.ANSWERED
            if moment > ctx.now:
                return  # nothing was pending yet
        out.append(cand)


# --------------------------------------------------------------------------- public


def plan(facts: PracticeFacts, rules: OutboundRules, now: datetime, *, horizon: timedelta = DEFAULT_HORIZON,
         history: timedelta = DEFAULT_HISTORY, clients: Iterable[str] | None = None) -> list[Touch]:
    """Every touch to make within ``horizon`` of ``now``, and every skip decided within ``history``.

    Planned touches have ``due`` (≤ now: make it at once); skipped ones carry ``why_skipped`` and
    must be recorded (as a :class:`~ivr.outbound.facts.PastTouch` with outcome ``skipped``) so they
    are not reconsidered.  ``clients`` limits the pass to those client ids.  Sorted by (due, id).
    """
    ctx = _Ctx(facts, rules, now, horizon, history)
    wanted = set(clients) if clients is not None else None
    out: list[Touch] = []
    for client in facts.clients:
        if wanted is None or client.id in wanted:
            out += _Planner(ctx, client).run()
    far = datetime.max.replace(tzinfo=UTC)
    out.sort(key=lambda t: (t.due or far, t.id))
    return out


def still_eligible(touch: Touch, facts_now: PracticeFacts, rules: OutboundRules,
                   now: datetime) -> tuple[bool, SkipReason | None]:
    """Re-check ``touch`` at the moment of dialling or sending: (True, None), or (False, why).

    Call it before recording the attempt.  Checks what changed (checked in, joined, cancelled, moved,
    rebooked, replied, opted out, consent) and then re-plans the client: the touch must still be
    planned under the same id and be due (quiet hours, caps).  :func:`recheck` also returns the
    re-planned touch, whose flags (opt-out notice, shared number) are the ones to send with.
    """
    current, why = recheck(touch, facts_now, rules, now)
    return current is not None, why


def recheck(touch: Touch, facts_now: PracticeFacts, rules: OutboundRules,
            now: datetime) -> tuple[Touch | None, SkipReason | None]:
    """(the touch as planned now, None) when it may go at ``now``; else (None, why)."""
    client = next((c for c in facts_now.clients if c.id == touch.client_id), None)
    if client is None:
        return None, SkipReason.GONE
    if any(pt.touch_id == touch.id and pt.outcome is not Outcome.CANCELLED for pt in facts_now.past_touches):
        return None, SkipReason.ALREADY_DONE
    appt = next((a for a in facts_now.appointments if a.id == touch.appointment_id), None) \
        if touch.appointment_id else None
    if touch.appointment_id and appt is None:
        return None, SkipReason.GONE
    if appt is not None and touch.kind in (TouchKind.REMINDER, TouchKind.MOVED):
        if appt.status is AppointmentStatus.RESCHEDULED:
            return None, SkipReason.MOVED
        if appt.status is not AppointmentStatus.SCHEDULED:
            return None, SkipReason.CANCELLED
        if touch.about_start is not None and appt.start != touch.about_start:
            return None, SkipReason.MOVED
    if appt is not None and touch.kind is TouchKind.FOLLOW_UP:
        if touch.name == Trigger.LATE.value:
            if appt.checked_in:
                return None, SkipReason.CHECKED_IN
            if appt.joined:
                return None, SkipReason.JOINED
            if appt.status is AppointmentStatus.COMPLETED:
                return None, SkipReason.CHECKED_IN  # the EHR says they came (an "arrived" or "attended" import)
            if appt.status is not AppointmentStatus.SCHEDULED:
                return None, SkipReason.CANCELLED if appt.status is AppointmentStatus.CANCELLED else SkipReason.MOVED
        if touch.name in (Trigger.NO_SHOW.value, Trigger.CANCELLED.value, Trigger.UNBOOKED.value):
            after = appt.changed_at if touch.name == Trigger.CANCELLED.value else appt.start
            mine = sorted(
                (a for a in facts_now.appointments if a.client_id == client.id), key=lambda a: (a.start, a.id)
            )
            if _rebooked(mine, after, appt.id):
                return None, SkipReason.REBOOKED
    if touch.channel is not Channel.STAFF_TASK:
        # The number is chosen again now: an opted-out number gives way to the client's next allowed one (the
        # re-planned touch below carries it); none left (or no consent) and the touch does not go.
        opted = facts_now.text_opt_outs if touch.channel is Channel.TEXT else facts_now.call_opt_outs
        flagged = facts_now.text_undeliverable if touch.channel is Channel.TEXT else facts_now.call_undeliverable
        users = Counter(p.e164 for c in facts_now.clients for p in {ph.e164: ph for ph in c.phones}.values())
        why_none = choose_number(client, touch.channel, opted, users, flagged).why
        if why_none is not None:
            return None, why_none
    if is_held_task(touch.id):
        return touch, None  # the limits' decision is final: staff are told, whatever a re-plan would say now
    replanned = plan(facts_now, rules, now, clients=[client.id], horizon=timedelta(days=1))
    again = next((t for t in replanned if t.id == touch.id), None)
    if again is None:
        return None, SkipReason.NOT_PLANNED
    if again.status is TouchStatus.SKIPPED:
        return None, again.why_skipped
    if again.due is not None and again.due > now + timedelta(minutes=1):
        return None, SkipReason.NOT_DUE
    return again, None
