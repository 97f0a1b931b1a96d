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
# E.164, or North American formats: (555) 123-4567, 555-123-4567, 555.123.4567, 5551234567.
_PHONE_RE = re.compile(r"(?<![\w/+])(\+\d{8,15}|(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}|\d{10,11})(?![\w/])")
_DIGIT_RUN_RE = re.compile(r"\b\d{6,}\b")


def mask_phone(number: str | None) -> str:
    """``+15551230001`` → ``+1******0001``: enough to tell calls apart, not to dial."""
    if not number:
        return "-"
    digits = re.sub(r"\D", "", number)
    if len(digits) < 5:
        return "*" * len(digits)
    return ("+" if number.startswith("+") else "") + digits[0] + "*" * (len(digits) - 5) + digits[-4:]


def mask_text(text: str) -> str:
    """Mask anything that looks like a phone number or a long digit run (dates, PINs, cards)."""
    text = _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)
    return _DIGIT_RUN_RE.sub(lambda m: "#" * len(m.group(0)), text)


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
