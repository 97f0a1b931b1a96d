"""The words of a touch: its templates filled in for the client, times in the client's local time.

Values handed to a template are plain strings (never objects), so the sandboxed template can
read nothing else.  The appointment time is given in the client's zone (their record's, else the
practice's), and the zone is named when its clock differs from the practice's at that moment:
"Wed, Dec 16 at 10:30 AM Pacific time".
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers

from ivr.core import spoken_output
from ivr.exceptions import UnknownWords
from ivr.outbound.facts import AppointmentFacts, Channel, ClientFacts
from ivr.outbound.lint import WordKind
from ivr.outbound.planner import Touch
from ivr.outbound.rules import OutboundRules, Trigger, Words
from ivr.outbound.zones import display_zone, message_zone

# Spoken names of the zones clients are most often in; others are named after their city.
_ZONE_NAMES = {
    "America/New_York": "Eastern", "America/Detroit": "Eastern", "America/Toronto": "Eastern",
    "America/Indiana/Indianapolis": "Eastern", "America/Kentucky/Louisville": "Eastern",
    "America/Chicago": "Central", "America/Winnipeg": "Central", "America/Indiana/Knox": "Central",
    "America/Menominee": "Central", "America/North_Dakota/Center": "Central",
    "America/Denver": "Mountain", "America/Boise": "Mountain", "America/Edmonton": "Mountain",
    "America/Phoenix": "Arizona", "America/Los_Angeles": "Pacific", "America/Vancouver": "Pacific",
    "America/Anchorage": "Alaska", "America/Juneau": "Alaska", "Pacific/Honolulu": "Hawaii",
    "America/Halifax": "Atlantic", "America/Puerto_Rico": "Atlantic", "America/St_Johns": "Newfoundland",
}


def zone_name(tz: ZoneInfo) -> str:
    """"Pacific time", "Arizona time", "London time"."""
    key = getattr(tz, "key", str(tz))
    name = _ZONE_NAMES.get(key) or key.rsplit("/", 1)[-1].replace("_", " ")
    return f"{name} time"


def local_time(at: datetime, time_zone: str | None, practice_tz: str,
               phone: str | None = None) -> tuple[datetime, str | None]:
    """``at`` in the client's zone (their record's, else their number's area code's: ``zones.message_zone``),
    and the zone's name when its clock differs from the practice's then (or the zone is only a guess)."""
    tz, always = message_zone(time_zone, phone, practice_tz)
    local = at.astimezone(tz)
    practice_local = at.astimezone(display_zone(None, practice_tz))
    differs = local.utcoffset() != practice_local.utcoffset()
    return local, zone_name(tz) if differs or always else None


def words_of(touch: Touch, rules: OutboundRules) -> Words:
    """The :class:`~ivr.outbound.rules.Words` a touch uses; UnknownWords if the rules lost them."""
    name = touch.words or ""
    if name == "reminders.moved":
        return rules.moved.words
    if name.startswith("reminders."):
        for reminder in rules.reminders:
            if f"reminders.{reminder.name}" == name:
                return reminder.words
    if name.startswith("follow_ups."):
        try:
            return rules.follow_ups[Trigger(name.split(".", 1)[1])].words
        except (ValueError, KeyError):
            pass
    raise UnknownWords(f"no words {name!r} in the outbound rules (version {rules.version})")


def _callback(number: str, kind: WordKind) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        national = number
    if kind is WordKind.TEXT:
        return national
    # "5 5 5, 0 1 0, 0 1 9 9": digits one by one, a pause between the groups (the same grouping as every
    # read-back of a number, spoken_output.spoken_digit_groups).
    return spoken_output.spoken_digit_groups(national)


def context(touch: Touch, kind: WordKind, rules: OutboundRules, client: ClientFacts,
            appointment: AppointmentFacts | None, callback_number: str, now: datetime) -> dict[str, str]:
    """The template values (all strings) for one touch."""
    values = {"first_name": client.first_name, "callback_number": _callback(callback_number, kind),
              "sender": "" if rules.discretion.substance_use_program else (rules.discretion.neutral_name or ""),
              "when": "", "day": "", "time": ""}
    at = touch.about_start or (appointment.start if appointment else None)
    if at is not None:
        local, zone = local_time(at, client.time_zone, rules.practice.timezone, touch.to)
        suffix = f" {zone}" if zone else ""
        clock = spoken_output.spoken_time(local) + suffix
        if kind is WordKind.TEXT:
            values["when"] = spoken_output.written_datetime(local) + suffix
            values["day"] = spoken_output.written_datetime(local).split(" at ")[0]
        else:
            now_local = now.astimezone(local.tzinfo)
            values["when"] = spoken_output.spoken_datetime(local, now_local) + suffix
            values["day"] = spoken_output.spoken_date(local, now_local)
        values["time"] = clock
    return values


def render(touch: Touch, kind: WordKind, *, rules: OutboundRules, client: ClientFacts,
           appointment: AppointmentFacts | None, callback_number: str, now: datetime,
           verified: bool = False) -> str:
    """The words for ``touch`` as ``kind``: a text (with the opt-out notice on the first text to a
    number), a voicemail, or what is said on the call.

    Neutral words are used for a shared number, and for spoken words until the person is
    ``verified``.  ``callback_number`` is the pool number the touch comes from.
    """
    if touch.channel is Channel.STAFF_TASK:
        raise ValueError("a staff task has no words for the client")
    neutral = touch.neutral if kind is not WordKind.SPOKEN else not verified
    words = rules.neutral if neutral else words_of(touch, rules)
    template = words.template(kind)
    if template is None:
        raise UnknownWords(f"{words.name} has no {kind.value} words")
    values = context(touch, kind, rules, client, appointment, callback_number, now)
    if neutral:
        values = {k: values[k] for k in ("callback_number", "sender")}
    text = template.render(values)
    if kind is WordKind.TEXT and touch.opt_out_notice:
        text = f"{text} {rules.opt_out_notice.render({})}"
    return text
