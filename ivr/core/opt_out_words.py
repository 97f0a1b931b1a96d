"""The carrier opt-out keywords, one list for what clients send and what outbound words may offer.

Twilio's defaults (help.twilio.com, "Twilio support for opt-out keywords"): STOP, STOPALL, UNSUBSCRIBE,
CANCEL, END, QUIT, REVOKE, OPTOUT.  People type them with spaces or hyphens inside ("STOP ALL", "Opt-out",
"S T O P") or in full-width letters ("ＳＴＯＰ"), so both sides match each keyword with an optional space or
hyphen between its letters, after NFKC folding.  ``ivr.practice.opt_outs`` and ``ivr.contact.replies`` read a
client's text with these; ``ivr.outbound.lint`` refuses words that teach one of them as a reply.

Pure: strings in, strings out.
"""
from __future__ import annotations

import re
import unicodedata

# Upper case, as Twilio writes them.  "STOP ALL" and "OPT OUT" are STOPALL and OPTOUT with a space inside.
OPT_OUT_KEYWORDS: tuple[str, ...] = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
# Between two letters of a keyword: nothing, or spaces and hyphens (any dash NFKC leaves as a dash).
_GAP = r"[\s\-‐‑‒–—]*"


def fold(text: str | None) -> str:
    """``text`` NFKC-normalised (full-width and compatibility letters become plain ones); case is kept."""
    return unicodedata.normalize("NFKC", text or "")


def keyword_pattern(*, gap: str = _GAP, any_case: bool = True) -> str:
    """A regex (a non-capturing group) matching any opt-out keyword, ``gap`` allowed between its letters.

    Longest keywords first, so "STOP ALL" is read as STOPALL, not STOP.  ``any_case=False``: capitals only.
    """
    ordered = sorted(OPT_OUT_KEYWORDS, key=len, reverse=True)
    return ("(?i:" if any_case else "(?:") + "|".join(gap.join(re.escape(c) for c in word) for word in ordered) + ")"


_WHOLE = re.compile(r"^" + keyword_pattern() + r"$")


def keyword_of(text: str | None) -> str | None:
    """The opt-out keyword a whole reply is ("ＳＴＯＰ", "stop all", "Opt-out", "S T O P" …), upper case, or None.

    Surrounding spaces and trailing ``.``, ``!`` or ``?`` are ignored; anything else makes it not a keyword.
    """
    words = re.sub(r"[\s.!?]+$", "", fold(text).strip())
    if not _WHOLE.match(words):
        return None
    plain = re.sub(_GAP, "", words).upper()
    return plain if plain in OPT_OUT_KEYWORDS else None
