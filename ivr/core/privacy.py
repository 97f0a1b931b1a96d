"""Keeping clients' secrets: masking for logs and a discretion check for outbound words.

Anyone who glances at a phone's lock screen, a shared voicemail box or a log
file must not learn that a client sees a therapist.  Logs get masked values;
texts and outbound prompts are checked at load time for words that give it away.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable

# Words that would reveal what kind of practice is calling or texting.
_TELLTALE = (
    "therapy", "therapist", "therapeutic", "counseling", "counselling", "counselor", "counsellor",
    "psychiatry", "psychiatric", "psychiatrist", "psychology", "psychologist", "psychotherapy",
    "mental health", "behavioral health", "behavioural health", "clinic", "clinician",
    "treatment", "diagnosis", "depression", "anxiety", "trauma", "ptsd", "addiction", "rehab",
    "substance", "crisis", "suicide", "988",
    # Added for outbound words (follow-ups, reminders): conditions, programmes and services.
    "psychoanalysis", "psychoanalyst", "psychotherapist", "psych", "mental", "emotional", "wellbeing",
    "behavioral", "behavioural", "grief", "bereavement", "bipolar", "schizophrenia", "ocd", "adhd",
    "eating disorder", "self-harm", "self harm", "detox", "sober", "sobriety", "alcohol", "drug",
    "opioid", "methadone", "suboxone", "recovery", "hotline", "lifeline", "intake",
)
_TELLTALE_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in _TELLTALE) + r")s?\b", re.IGNORECASE)
# Stems: any word starting with these gives it away ("psychodynamic", "therapies", "counsellors").
_TELLTALE_STEMS_RE = re.compile(r"\b((?:psych|therap|counsel)[a-z]*)", re.IGNORECASE)
# Clinicians' titles and licences: "Dr. Chen", "Sam Ortiz, LCSW", "PhD".
_TITLES = (
    "dr", "doctor", "lcsw", "licsw", "lmsw", "msw", "lisw", "lmft", "mft", "lpc", "lpcc", "lmhc", "lcpc",
    "lcat", "lcadc", "cadc", "phd", "ph.d", "psyd", "psy.d", "md", "m.d", "edd", "ed.d", "np", "pmhnp",
    "aprn", "rn",
)
_TITLES_RE = re.compile(r"(?<![\w.])(" + "|".join(re.escape(t) for t in sorted(_TITLES, key=len, reverse=True))
                        + r")\.?(?![\w])", re.IGNORECASE)
# Words in a practice's name that say nothing about who it is (the rest are distinctive).
_GENERIC_NAME_WORDS = frozenset({
    "the", "and", "of", "for", "at", "in", "on", "a", "an", "llc", "inc", "pllc", "pc", "ltd", "co", "company",
    "group", "associates", "association", "partners", "services", "service", "practice", "center", "centre",
    "office", "offices",
})
# Log masking: phone numbers and dates of birth in the forms they take, nothing else, so job ids
# (reconcile-1764530400, escalation-1234567-new-L1), Redis keys, pids and timestamps
# (18:27:10.123456, 2026-11-30T18:27:10) stay readable and can be matched to Redis.
# A token edge: not inside a word, a job id (-), a time or decimal (. :), a path or URL (/) or a key (=… is fine).
_EDGE_BEFORE = r"(?<![\w\-.:/+#])"
_EDGE_AFTER = r"(?![\w\-:/]|\.\w)"
_PHONE_RES = (
    # E.164: +15551230001
    re.compile(r"(?<![\w+])\+\d{8,15}(?!\d)"),
    # North American, with separators: (555) 123-4567, 555-123-4567, 555.123.4567, +1 555 123 4567
    re.compile(_EDGE_BEFORE + r"(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)|[2-9]\d{2})[ .-]?\d{3}[ .-]\d{4}" + _EDGE_AFTER),
    # North American, bare: 5551230001, 15551230001 (an area code never starts with 0 or 1, so epoch
    # seconds, 1764530400, are not phone numbers)
    re.compile(_EDGE_BEFORE + r"1?[2-9]\d{9}" + _EDGE_AFTER),
)
_DOB_RES = (
    # As keyed at the prompt: MMDDYYYY (04151985, 04151985#)
    re.compile(_EDGE_BEFORE + r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:19|20)\d{2}" + _EDGE_AFTER),
    # ISO, a date alone (1985-04-15), not the date of a timestamp (2026-11-30T18:27:10, 2026-11-30 18:27)
    re.compile(_EDGE_BEFORE + r"(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?![\w\-:/]|\.\w|[T ]\d{2}:)"),
    # US style: 04/15/1985, 4/15/85
    re.compile(r"(?<![\w/])(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/(?:\d{4}|\d{2})(?![\w/])"),
)
# Card numbers (13-19 digits, maybe grouped by spaces or dashes, passing the Luhn check), standalone.
_CARD_RE = re.compile(_EDGE_BEFORE + r"\d{4}(?:[ -]?\d{3,4}){2,3}(?:[ -]?\d{1,3})?" + _EDGE_AFTER)


def mask_phone(number: str | None) -> str:
    """``+15551230001`` → ``+1******0001``: enough to tell calls apart, not to dial."""
    if not number:
        return "-"
    digits = re.sub(r"\D", "", number)
    if len(digits) < 5:
        return "*" * len(digits)
    return ("+" if number.startswith("+") else "") + digits[0] + "*" * (len(digits) - 5) + digits[-4:]


def mask_text(text: str) -> str:
    """Mask phone numbers (E.164, North American with or without separators), dates of birth (as keyed,
    ISO without a time, US style) and card numbers; leave job ids, keys, pids and timestamps alone."""
    for pattern in _PHONE_RES:
        text = pattern.sub(lambda m: mask_phone(m.group(0)), text)
    for pattern in _DOB_RES:
        text = pattern.sub(lambda m: re.sub(r"\d", "#", m.group(0)), text)
    return _CARD_RE.sub(lambda m: re.sub(r"\d", "#", m.group(0)) if _luhn(m.group(0)) else m.group(0), text)


def _luhn(candidate: str) -> bool:
    """A card number (13-19 digits passing the Luhn check), not a millisecond timestamp or a count."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
    return total % 10 == 0


def discretion_problems(text: str, practice_name: str | None = None, *, titles: bool = False) -> list[str]:
    """Why ``text`` would give away the practice or therapy if someone else read it.

    ``titles=True`` also refuses clinicians' titles and licences (Dr., LCSW, PhD…), as outbound
    words must (``ivr.outbound.lint``).
    """
    problems = []
    if practice_name:
        # The practice's full name, or its distinctive first word, both identify it.
        name = practice_name.strip()
        if name and name.lower() in text.lower():
            problems.append(f"it names the practice ({name!r})")
    found = {m.group(1).lower() for m in _TELLTALE_RE.finditer(text)}
    found |= {m.group(1).lower() for m in _TELLTALE_STEMS_RE.finditer(text)}
    for match in sorted(found):
        problems.append(f"it says {match!r}")
    if titles:
        for match in sorted({m.group(1) for m in _TITLES_RE.finditer(text)}, key=str.lower):
            problems.append(f"it gives a clinician's title ({match!r})")
    return problems


def distinctive_words(practice_name: str) -> tuple[str, ...]:
    """The words of a practice's name that identify it, and its initials: "Lakeside Counseling
    Collective" → ("lakeside", "collective", "lcc") (lower case; generic words and words the telltale
    list already refuses are left out; initials of two letters or more, generic words aside)."""
    out: list[str] = []
    words = re.findall(r"[^\W_]+(?:['’][^\W_]+)*", practice_name.lower())
    for word in words:
        if len(word) < 3 or word in _GENERIC_NAME_WORDS or word in out:
            continue
        if _TELLTALE_RE.fullmatch(word) or _TELLTALE_STEMS_RE.fullmatch(word):
            continue
        out.append(word)
    initials = "".join(w[0] for w in words if w not in _GENERIC_NAME_WORDS)
    if len(initials) >= 2 and initials not in out:
        out.append(initials)
    return tuple(out)


def without_titles(name: str) -> str:
    """``"Dr. Maya Chen, PhD"`` → ``"Maya Chen"``: a clinician's name without titles and licences."""
    return " ".join(_TITLES_RE.sub(" ", name).replace(",", " ").split())


def words_found(text: str, words: Iterable[str]) -> list[str]:
    """Which of ``words`` (words or phrases, any case) ``text`` contains as whole words, in order given."""
    lowered = text.lower()
    found = []
    for word in words:
        w = word.strip().lower()
        if w and re.search(r"(?<![\w])" + re.escape(w) + r"(?:s|es|'s|’s)?(?![\w])", lowered):
            found.append(word.strip())
    return found


def normalise_speech(text: str | None) -> str:
    """Lower-case, strip accents and punctuation, collapse spaces: how phrases are compared."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[^\w\s']", " ", text).replace("'", "")
    return " ".join(text.split())


class MaskingFilter(logging.Filter):
    """A last line of defence: masks phone-like numbers in every log record we emit."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not stop logging
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
