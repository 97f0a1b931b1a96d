"""The keys a text spoken to a caller promises ("press 9 at any time", "Dial 6 for billing").

Pure: text in, keys out. ``flows check`` compares them with what the call can do where the text is heard
(``ivr.flowlang.graph``); texts spoken where no key works at all (the apology's guidance, a voicemail left by
an outbound call, the neutral words said before hanging up) must promise none (``no_keys_problem``).
"""
from __future__ import annotations

import re

# "press 9", "press the pound key", "press star", "press #", "press 1 or 5", "dial 6", "hit 7", "enter 8",
# "select 6", "choose 7", "key 6", "option 5", "press either 5 or 6", "press the number 5": the keys a prompt
# promises. A key is one token not followed by another digit: "dial 9 1 1", "dial 911" and "enter 4 digits"
# promise no key. A list goes on through ",", "or", "and" and through "1 for X, 5 for Y" (review 14b finding 8).
_KEY = (r"(\d|[#*]|(?:zero|one|two|three|four|five|six|seven|eight|nine|star|pound|hash)\b)"
        r"(?!\s*(?:\d|digits?\b|numbers?\b|of\b|more\b|last\b|that\b))")
_PROMISE = re.compile(
    r"\b(?:press(?:ing)?|push|dial(?:ing)?|hit|enter|tap|key(?:\s+in)?|select|choose|option)\s+"
    r"(?:the\s+)?(?:(?:number|key|button|either)\s+)?" + _KEY
    + r"((?:\s*(?:,|\bor\b|\band\b)\s*(?:,\s*)?(?:or\s+|and\s+)?(?:the\s+)?" + _KEY + r")*)",
    re.IGNORECASE)
_MORE_KEYS = re.compile(_KEY, re.IGNORECASE)
# "Press 1 for appointments, 5 for hours", "…; or 3 to cancel": keys listed after a promise, each with its use.
_LISTED = re.compile(r"(?:,|;|\bor\b|\band\b)\s*(?:or\s+|and\s+)?" + _KEY + r"\s+(?:for|to)\b[^,;.]*", re.IGNORECASE)
# "For hours, 5." : a key said alone after what it is for.
_FOR_KEY = re.compile(r"\bfor\s+[a-z' ]{1,40},\s*" + _KEY + r"\s*(?:[.;!]|$)", re.IGNORECASE)
# "press 9 and then pound", "press 9, then the pound key", "press 9 followed by #": the key is promised with pound
# after it (key "9#"). At a prompt that takes typed digits that is the only way a single key acts at once: Twilio
# sends typed keys when the finish key (pound) is pressed, else only after the timeout (fix14-left2 item 1).
_THEN_POUND = re.compile(r"\s*,?\s*(?:and\s+)?(?:then|followed\s+by)\s+(?:press(?:ing)?\s+)?(?:the\s+)?"
                         r"(?:pound|hash|#)(?:\s+(?:key|sign|button))?(?!\w)", re.IGNORECASE)
_KEY_WORDS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
              "eight": "8", "nine": "9", "star": "*", "pound": "#", "hash": "#"}


def promised_key_phrases(text: str) -> list[tuple[str, str]]:
    """The keys ``text`` tells a caller to press, in order, each with the words that promise it:
    "Dial 6 for billing" → [("6", "Dial 6")]; a key promised with pound after it is that key and "#":
    "press 9 and then pound" → [("9#", "press 9 and then pound")]."""
    found: list[tuple[str, str]] = []
    for m in _PROMISE.finditer(text):
        pound = _THEN_POUND.match(text, m.end()) if not m.group(2) else None
        if pound is not None:  # "press 9 and then pound": one promise, the key then pound
            found.append((_KEY_WORDS.get(m.group(1).lower(), m.group(1)) + "#", m.group(0) + pound.group(0)))
            continue
        found.append((m.group(1), m.group(0)))
        found += [(k.group(1), m.group(0)) for k in _MORE_KEYS.finditer(m.group(2) or "")]
        sentence_end = re.search(r"[.!?]", text[m.end():])
        rest = text[m.end(): m.end() + sentence_end.start() if sentence_end else len(text)]
        found += [(k.group(1), k.group(0).strip(" ,;")) for k in _LISTED.finditer(rest)]
    found += [(k.group(1), k.group(0).strip(" .;!")) for k in _FOR_KEY.finditer(text)]
    out: dict[str, str] = {}
    for key, words in found:
        out.setdefault(_KEY_WORDS.get(key.lower(), key.lower()), " ".join(words.split()))
    return list(out.items())


def promised_keys(text: str) -> list[str]:
    """The keys ``text`` tells a caller to press, in order: "press 9 at any time" → ["9"]; "press 9, then
    pound" → ["9#"]."""
    return [key for key, _ in promised_key_phrases(text)]




def no_keys_problem(text: str, where: str) -> str | None:
    """The problem with ``text`` when it is spoken ``where`` no key works (e.g. "before the call hangs up"),
    or None when it promises no key."""
    keys = promised_key_phrases(text)
    if not keys:
        return None
    listed = ", ".join(f'{key} ("{words}")' for key, words in keys)
    return f"promises key {listed} but it is spoken {where}, where no key does anything: change the words"
