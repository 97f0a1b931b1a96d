"""Turn dates, times and numbers into text that Twilio <Say> reads naturally.

Pure functions meant as Jinja2 filters, e.g. ``{{ appointment | spoken_datetime(now) }}``.
Nothing here reads the clock: ``now`` is always passed in, aware.

Conventions: 12-hour clock, ":00" dropped ("9 AM"), noon is "12 PM" and
midnight "12 AM".  Names of days and months are English and do not depend on
the process locale.

Daylight-saving changes: a clock time that happens twice (the repeated autumn
hour, 1:00-1:59 AM in New York) is said with "daylight time" or "standard
time"; a moment less than a day away across a change (so its clock time is an
hour off from what the listener would work out) also says how far away it is:
at 1:50 AM daylight time, 15 minutes later is "today at 1:05 AM standard time,
15 minutes from now", never a bare "1:05 AM" that sounds earlier than now.  A
clock time that does not exist (in the spring gap) is said as the moment it
stands for (2:30 AM on that day is "3:30 AM").
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import phonenumbers

__all__ = [
    "FILTERS",
    "spoken_date",
    "spoken_datetime",
    "spoken_duration",
    "spoken_digit_groups",
    "spoken_digits",
    "spoken_phone",
    "spoken_phone_last4",
    "spoken_time",
]

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def _aware(value: datetime | str, what: str) -> datetime:
    """An aware datetime from a datetime or an ISO 8601 string (as stored in session JSON)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value


# A moment closer than this across a DST change also says how far away it is.
_NEAR = timedelta(hours=24)


def _normal(dt: datetime) -> datetime:
    """The same moment as a real local time: a time in a DST gap becomes the time it stands for."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt
    return dt.astimezone(UTC).astimezone(dt.tzinfo)


def _repeated(dt: datetime) -> bool:
    """Whether ``dt``'s clock time happens twice in its time zone (the autumn fold)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        return False
    return dt.replace(fold=1 - dt.fold).utcoffset() != dt.utcoffset()


def _zone_words(dt: datetime) -> str:
    """ "daylight time" or "standard time"; empty when the zone does not say (a fixed offset)."""
    dst = dt.dst()
    if dst is None:
        return ""
    return "daylight time" if dst else "standard time"


def _clock(dt: datetime) -> str:
    hour = dt.hour % 12 or 12
    suffix = "AM" if dt.hour < 12 else "PM"
    return f"{hour} {suffix}" if dt.minute == 0 else f"{hour}:{dt.minute:02d} {suffix}"


def spoken_time(dt: datetime | str) -> str:
    """Clock time as spoken: "3:30 PM", "9 AM", "12 PM" (noon), "12 AM" (midnight);
    "1:30 AM standard time" when that clock time happens twice that night (a DST fold)."""
    if isinstance(dt, str):
        dt = datetime.fromisoformat(dt)
    dt = _normal(dt)
    words = _zone_words(dt) if _repeated(dt) else ""
    return f"{_clock(dt)} {words}" if words else _clock(dt)


def spoken_duration(delta: timedelta) -> str:
    """A positive duration to the minute: "15 minutes", "1 hour", "2 hours and 5 minutes"."""
    minutes = max(1, round(delta.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " and ".join(parts)


def spoken_date(d: date | datetime | str, now: datetime, *, dated: bool = False) -> str:
    """A day relative to ``now``: "today", "tomorrow", "yesterday", "Thursday" (next 6 days),
    else "Monday, December 7", with ", 2027" when not in ``now``'s year. ``dated`` names the date
    of the next 6 days too ("Wednesday, December 2"), where a weekday alone could be this week's or
    next week's (an offered or booked slot).

    A datetime ``d`` is taken in its own time zone and ``now`` is converted to it;
    a plain date is compared with ``now``'s own date.
    """
    now = _aware(now, "now")
    if isinstance(d, str):
        d = datetime.fromisoformat(d) if len(d.strip()) > 10 else date.fromisoformat(d.strip())
    if isinstance(d, datetime):
        d = _aware(d, "d")
        today = now.astimezone(d.tzinfo).date()
        day = d.date()
    else:
        today = now.date()
        day = d
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    if 2 <= delta <= 6 and not dated:
        return _DAYS[day.weekday()]
    text = f"{_DAYS[day.weekday()]}, {_MONTHS[day.month - 1]} {day.day}"
    if day.year != today.year:
        text += f", {day.year}"
    return text


def spoken_calendar_date(d: date) -> str:
    """A date read back in full, the way callers say a date of birth: "April 15, 1985"."""
    return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"


def spoken_datetime(dt: datetime | str, now: datetime, *, dated: bool = False) -> str:
    """A moment relative to ``now``, in ``dt``'s time zone: "today at 3:30 PM",
    "tomorrow at 9 AM", "Thursday at 2 PM", "Monday, December 7 at 10:15 AM"; ``dated`` as in
    ``spoken_date`` ("Wednesday, December 2 at 9 AM").

    Around a DST change it cannot be misheard (see the module docstring): "today at
    1:05 AM standard time, 15 minutes from now".
    """
    dt = _normal(_aware(dt, "dt"))
    now = _aware(now, "now")
    text = f"{spoken_date(dt, now, dated=dated)} at {spoken_time(dt)}"
    # Through UTC: between two datetimes of the same zone Python subtracts clock times, not moments.
    ahead = dt.astimezone(UTC) - now.astimezone(UTC)
    crosses = now.astimezone(dt.tzinfo).utcoffset() != dt.utcoffset()
    if crosses and timedelta(0) < ahead <= _NEAR:
        words = _zone_words(dt)
        if words and not _repeated(dt):
            text += f" {words}"
        text += f", {spoken_duration(ahead)} from now"
    return text


def written_datetime(dt: datetime | str) -> str:
    """A moment that still reads right later (texts): "Mon, Nov 30 at 10:15 AM" in ``dt``'s time zone;
    in the repeated hour of a DST fold with the zone's abbreviation: "Sun, Nov 1 at 1:05 AM EST"."""
    dt = _normal(_aware(dt, "dt"))
    when = _clock(dt)
    if _repeated(dt):
        when += f" {dt.tzname()}"
    return f"{_DAYS[dt.weekday()][:3]}, {_MONTHS[dt.month - 1][:3]} {dt.day} at {when}"


def spoken_digits(s: str | int) -> str:
    """Letters and digits one by one, separated by spaces, so TTS reads them singly:
    "415" -> "4 1 5", "(415) 555-01" -> "4 1 5 5 5 5 0 1".  Other characters are dropped."""
    return " ".join(ch for ch in str(s) if ch.isascii() and ch.isalnum())


def spoken_phone(e164: str, region: str = "US") -> str:
    """A phone number read back the way a person says it: its digits one by one, in the groups of
    phonenumbers' format for its country, a comma (a short pause in Twilio <Say>, no SSML) between groups.
    In the practice's ``region`` the national format ("+15551230099" -> "5 5 5, 1 2 3, 0 0 9 9"; in GB
    "+442079460000" -> "0 2 0, 7 9 4 6, 0 0 0 0", the trunk 0 as dialled there), any other number the
    international one ("+441632960000" -> "plus 4 4, 1 6 3 2, 9 6 0 0 0 0"). An extension kept as RFC 3966
    writes it follows the number as one more group: "+15552123456;ext=12" -> "5 5 5, 2 1 2, 3 4 5 6, extension 1 2".
    Text that is no E.164 number is read as its digits, ungrouped."""
    text = str(e164 or "")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return spoken_digits(text)
    extension, number.extension = number.extension, None
    tail = f", extension {spoken_digits(extension)}" if extension else ""
    if number.country_code == phonenumbers.country_code_for_region(region):
        return spoken_digit_groups(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)) + tail
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return "plus " + spoken_digit_groups(international) + tail


def spoken_digit_groups(formatted: str) -> str:
    """A formatted number's digit groups read singly, a comma between groups: "(555) 123-0099" ->
    "5 5 5, 1 2 3, 0 0 9 9". Anything but digits separates groups."""
    groups = "".join(ch if ch.isascii() and ch.isdigit() else " " for ch in formatted).split()
    return ", ".join(spoken_digits(group) for group in groups)


def spoken_phone_last4(e164: str) -> str:
    """The last four digits of a phone number: "+15550100001" -> "ending in 0 0 0 1"."""
    digits = [ch for ch in str(e164) if ch.isascii() and ch.isdigit()]
    if len(digits) < 4:
        raise ValueError(f"{e164!r} has fewer than four digits")
    return "ending in " + " ".join(digits[-4:])


FILTERS: dict[str, Callable[..., str]] = {
    "spoken_datetime": spoken_datetime,
    "spoken_date": spoken_date,
    "spoken_time": spoken_time,
    "spoken_digits": spoken_digits,
    "spoken_phone": spoken_phone,
    "spoken_phone_last4": spoken_phone_last4,
}
"""Name -> filter, for ``jinja_env.filters.update(FILTERS)``."""
