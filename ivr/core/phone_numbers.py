"""Caller numbers: Twilio's ``From`` → E.164, or None when it cannot identify anyone."""
from __future__ import annotations

import phonenumbers

# What carriers send for withheld numbers, as words and as their keypad spellings
# (ANONYMOUS, RESTRICTED, BLOCKED, UNAVAILABLE), which reach Twilio as "+266696687" etc.
_WITHHELD = {"anonymous", "restricted", "blocked", "private", "unknown", "unavailable", "",
             "+266696687", "+7378742833", "+2562533", "+86282452253"}


def normalise(raw: str | None, region: str = "US") -> str | None:
    """E.164 for a real, dialable number; None for withheld, empty or invalid caller IDs."""
    text = (raw or "").strip()
    if text.lower() in _WITHHELD or len(text) > 32:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # "Possible" rather than "valid": the network already connected this caller, and
    # validity tables lag new ranges (and reject the fictional 555 numbers demos use).
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def extension(raw: str | None) -> str | None:
    """The extension kept after a number ("+15552123456;ext=12" -> "12", as ``spoken_values.parse_phone`` keeps it;
    "555 212 3456 x12" too), or None when there is none or the text is no number."""
    text = (raw or "").strip()
    if len(text) > 40:
        return None
    try:
        return phonenumbers.parse(text, "US").extension or None
    except phonenumbers.NumberParseException:
        return None
