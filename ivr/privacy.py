"""Keeping clients' secrets: masking for logs and a discretion check for outbound words.

Anyone who glances at a phone's lock screen, a shared voicemail box or a log
file must not learn that a client sees a therapist.  Logs get masked values;
texts and outbound prompts are checked at load time for words that give it away.
"""
from __future__ import annotations

import logging
import re
import unicodedata

# Words that would reveal what kind of practice is calling or texting.
_TELLTALE = (
    "therapy", "therapist", "therapeutic", "counseling", "counselling", "counselor", "counsellor",
    "psychiatry", "psychiatric", "psychiatrist", "psychology", "psychologist", "psychotherapy",
    "mental health", "behavioral health", "behavioural health", "clinic", "clinician",
    "treatment", "diagnosis", "depression", "anxiety", "trauma", "ptsd", "addiction", "rehab",
    "substance", "crisis", "suicide", "988",
)
_TELLTALE_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in _TELLTALE) + r")s?\b", re.IGNORECASE)
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


def discretion_problems(text: str, practice_name: str | None = None) -> list[str]:
    """Why ``text`` would give away the practice or therapy if someone else read it."""
    problems = []
    if practice_name:
        # The practice's full name, or its distinctive first word, both identify it.
        name = practice_name.strip()
        if name and name.lower() in text.lower():
            problems.append(f"it names the practice ({name!r})")
    for match in sorted({m.group(1).lower() for m in _TELLTALE_RE.finditer(text)}):
        problems.append(f"it says {match!r}")
    return problems


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
