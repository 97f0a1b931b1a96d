"""The discretion lint for outbound words (texts, voicemails, what a call says) and the caller name.

Anyone may read a text on a lock screen, hear a voicemail or see the caller ID, so outbound words
may not name the practice (nor its distinctive words), a clinician or a clinician's title (Dr.,
LCSW, PhD…), nor say anything that reveals mental-health care (``ivr.core.privacy``'s list plus the
outbound extras below plus the practice's own ``never_say``).  They may never teach anyone to
reply CANCEL, STOP or another carrier opt-out keyword as a command: carriers (and Twilio) treat
such a reply as an opt-out from every text.  Only the required opt-out notice says STOP.

Pure: strings in, problems out.  :func:`template_problems` also fills each template with sample
values, so a word built by an expression (``{{ 'thera' ~ 'py' }}``) is caught too.
"""
from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib import resources

from jinja2 import meta

from ivr.core import opt_out_words, privacy
from ivr.core.flow import AskStep, EscalateStep, Flow, HangupStep, MenuStep, SayStep, Step
from ivr.core.templates import (
    SecurityError,
    Template,
    TemplateSyntaxError,
    compile_template,
    environment,
)
from ivr.exceptions import FlowProblem
from ivr.outbound import skeleton as skeletons

CNAM_MAX = 15  # characters a caller name (CNAM) may have
VOICEMAIL_MAX_SECONDS = 30
TEXT_SEGMENT_WARNING = 320  # characters: more than two SMS segments

# Outbound words only (inbound texts go to a verified caller): they still hint at care.
OUTBOUND_EXTRA = ("session", "patient", "health", "medication", "prescription", "provider", "care team")
# Twilio's opt-out keywords: a reply of one of these stops every text.  One list with what clients' replies are
# read with (``ivr.core.opt_out_words``), lower case here; "stop all" and "opt out" are STOPALL and OPTOUT.
OPT_OUT_KEYWORDS = tuple(k.lower() for k in opt_out_words.OPT_OUT_KEYWORDS)
_LETTER_GAP = r"[\s\-]?"  # "S T O P", "opt-out", "stop all"
_KEYWORD = r"(?<![\w'’])(" + opt_out_words.keyword_pattern(gap=_LETTER_GAP) + r")(?![\w'’])"
_KEYWORD_RE = re.compile(_KEYWORD)
# A verb that asks for an answer: any keyword after it in the same sentence is offered as a reply.
_REPLY_VERB = re.compile(r"\b(?:reply|replying|text|texting|send|sending|respond|responding|type|typing|write|"
                         r"writing|answer|answering|message|say|saying|enter|tap)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.?!;\n]+")
# "Cancel to cancel", "cancel = cancel", "STOP: no more texts": a keyword written as an option; also "quit quits"
# and "cancel by replying" (break-test s26 NIT 5: the keyword, then what it does or how it is sent).
_OPTION_RE = re.compile(_KEYWORD + r"\s*(?:=|:|to\s+\w|for\s+\w"
                        r"|by\s+(?:repl|text|respond|send|writ|answer|typ|messag)\w*"
                        r"|(?<=\s)(?:stop|quit|cancel|end|unsubscribe|revoke)s\b)|(?:=|:)\s*" + _KEYWORD,
                        re.IGNORECASE)
# The word before a keyword that makes it an ordinary verb or noun, not an offered reply: "to cancel", "we'll
# stop", "the end".  ("Reply to cancel" is still a command: "to" right after the reply verb.)
_NOT_OFFERED = frozenset({
    "to", "will", "ll", "we", "i", "you", "they", "it", "can", "cant", "can't", "cannot", "don't", "dont", "not",
    "never", "would", "should", "may", "might", "must", "won't", "wont", "the", "a", "an", "this", "that", "your",
    "our", "its", "their", "no", "we'll", "i'll", "you'll", "they'll", "it'll",
})
_QUOTED_RE = re.compile(r"[\"“‘']\s*(" + opt_out_words.keyword_pattern(gap=_LETTER_GAP) + r")\s*[\"”’']")
_CAPS_RE = re.compile(r"(?<![\w])(" + opt_out_words.keyword_pattern(gap=_LETTER_GAP, any_case=False) + r")(?![\w])")
# Words that make a caller name read as a care practice's ("Mind Matters", "Healing Hands", "Calm Center"), refused
# in ``caller_id.name`` only: in a text they are ordinary words ("stay calm", "never mind").
CNAM_CARE_WORDS = ("mind", "minds", "healing", "heal", "calm", "wellbeing", "well-being", "serenity", "recovery")
# Twilio's CNAM conditions: begins with a letter; letters, digits, periods, commas and spaces only.
_CNAM_CHARS = re.compile(r"^[A-Za-z][A-Za-z0-9 .,]*$")


class WordKind(str, Enum):
    """Where words end up."""

    TEXT = "text"  # an SMS
    VOICEMAIL = "voicemail"  # left on a machine (AMD said machine_end_beep/silence/other)
    SPOKEN = "spoken"  # said to the client on a call, after verification (neutral: before it)


# What outbound words may use.  Values are plain strings (ivr.outbound.wording fills them).
VARIABLES: Mapping[str, str] = {
    "first_name": "the client's first name",
    "when": "the appointment's date and time in the client's time zone (zone named when not the practice's)",
    "day": "the appointment's date",
    "time": "the appointment's time of day (zone named when not the practice's)",
    "callback_number": "the number to call back (the one the message came from)",
    "sender": "the practice's neutral name (discretion.neutral_name)",
}
# Neutral words go to shared (family) phones and to whoever answers: nothing about anyone.
NEUTRAL_VARIABLES = frozenset({"callback_number", "sender"})

_SAMPLE_TEXT = {"first_name": "Alexandra", "when": "Wed, Dec 16 at 10:30 AM Pacific time", "day": "Wed, Dec 16",
                "time": "10:30 AM Pacific time", "callback_number": "(555) 010-0199"}
_SAMPLE_SPOKEN = {"first_name": "Alexandra", "when": "Wednesday, December 16 at 10:30 AM Pacific time",
                  "day": "Wednesday, December 16", "time": "10:30 AM Pacific time",
                  "callback_number": "5 5 5, 0 1 0, 0 1 9 9"}


@dataclass(frozen=True)
class LintProblem:
    """One reason words are refused (``error``) or worth a second look (``warning``)."""

    message: str
    severity: str = "error"


@dataclass(frozen=True)
class Discretion:
    """What outbound words must not say, built from the practice and ``discretion:`` in outbound.yaml."""

    practice_name: str
    name_words: tuple[str, ...] = ()  # distinctive words of the practice's name
    clinician_names: tuple[str, ...] = ()  # names (and their parts) of clinicians
    never_say: tuple[str, ...] = ()  # the practice's own list
    substance_use_program: bool = False  # 42 CFR Part 2: not even the neutral name
    neutral_name: str | None = None
    own_words: tuple[str, ...] = ()  # of name_words, those the owner listed that are not in the name itself
    clinician_initials: tuple[str, ...] = ()  # "MC" for Maya Chen: refused in capitals ("with MC", "M.C.")

    @classmethod
    def for_practice(cls, practice_name: str, *, name_words: Iterable[str] | None = None,
                     clinician_names: Iterable[str] = (), never_say: Iterable[str] = (),
                     substance_use_program: bool = False, neutral_name: str | None = None) -> Discretion:
        """Distinctive words are always :func:`ivr.core.privacy.distinctive_words` of the name, and ``name_words``
        (the practice's ``distinctive_words``) only add to them: an owner's list never switches the practice-name
        check off.  Clinicians' names are split into their parts ("Maya Chen" refuses "Maya" and "Chen"), titles
        dropped."""
        derived = [w.lower() for w in privacy.distinctive_words(practice_name)]
        words = tuple(dict.fromkeys((*derived, *(name_words or ()))))
        own = tuple(w.lower() for w in words if w.strip() and w.lower() not in derived)
        parts: list[str] = []
        initials: list[str] = []
        for full in clinician_names:
            cleaned = privacy.without_titles(full)
            for part in [cleaned] + re.findall(r"[^\W\d_]{3,}", cleaned):
                if part and part.lower() not in (p.lower() for p in parts):
                    parts.append(part)
            letters = "".join(w[0] for w in re.findall(r"[^\W\d_]+", cleaned)).upper()
            if len(letters) >= 2 and letters not in initials:
                initials.append(letters)
        return cls(practice_name, tuple(w.lower() for w in words if w.strip()), tuple(parts),
                   tuple(w for w in never_say if w.strip()), substance_use_program, neutral_name, own,
                   tuple(initials))

    def names_practice(self, word: str, *, split: bool = False) -> str:
        """The problem for a distinctive ``word`` found: in the name, or one of the owner's ``distinctive_words``."""
        if word.lower() in self.own_words:
            return f"it names the practice ({word!r}{', split,' if split else ''} is one of its distinctive_words)"
        return f"it names the practice ({word!r}{', split,' if split else ''} is in {self.practice_name!r})"


# Initials that are also ordinary words or marks ("so", "ok", "10 AM"): a clinician's are still refused in capitals
# ("SO", "S.O." for Sam Ortiz: break-test s26 NIT 5), the lower-case word never is (the match is case-sensitive),
# and after a number ("10 AM", "9PM", "3 PT") they are a time or a zone, not a name.
_ORDINARY_INITIALS = frozenset({
    "AM", "PM", "OK", "US", "ID", "NO", "SO", "TO", "IT", "IS", "AT", "IN", "ON", "OR", "IF", "DO", "GO", "ME", "MY",
    "WE", "HI", "BY", "UP", "AN", "AS", "BE", "HE", "OF", "TV", "PS", "ET", "PT", "CT", "MT", "UTC", "USA", "ASAP",
})


def _initials_found(text: str, initials: Iterable[str]) -> list[str]:
    """Clinicians' ``initials`` written in capitals as a word in ``text`` ("MC", "M.C.", "M. C."); initials that are
    an ordinary word or mark count in capitals only outside a time ("SO", "S.O.", not "10 AM" for A.M.)."""
    found = []
    for letters in initials:
        after_number = r"(?<!\d)(?<!\d )" if letters in _ORDINARY_INITIALS else ""
        pattern = r"(?<![\w.])" + after_number + r"\.?\s?".join(re.escape(c) for c in letters) + r"\.?(?![\w])"
        if re.search(pattern, text):
            found.append(letters)
    return found


def _folded(text: str) -> str:
    """``text`` without accents, invisible characters or compatibility forms ("thé\u200brapy" → "therapy")."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c) and unicodedata.category(c) != "Cf")


def text_problems(text: str, rules: Discretion) -> list[str]:
    """Why ``text`` (plain words, already filled in) would give the practice or the care away.

    Checked as written, without accents, and as its skeleton (``ivr.outbound.skeleton``: look-alike
    letters, full-width forms, invisible characters, digits for letters, separators and words run
    together undone), so "thеrapy" (a Cyrillic е), "LakesideCC", "L.C.C." and a web address
    "lakesidecounseling.example" are refused like the plain words."""
    problems = _text_problems(text, rules)
    folded = _folded(text)
    if folded != text:  # check what a reader sees, not only the characters written
        problems += [p for p in _text_problems(folded, rules) if p not in problems]
    return problems + [p for p in _skeleton_problems(text, rules, problems) if p not in problems]


_SAYS_RE = re.compile(r"^it says '([^']+)'")


def _skeleton_problems(text: str, rules: Discretion, already: list[str]) -> list[str]:
    """What only the skeleton of ``text`` shows (see :func:`text_problems`)."""
    seen = skeletons.skeleton(text)
    out = [p for p in _text_problems(seen.words, rules) if p not in already]
    for run in seen.spaced:  # "t h e r a p y", "L.C.C."
        out += [p for p in _text_problems(run, rules) if p not in already + out]
    named = any(p.startswith("it names the practice") for p in already + out)
    if not named and seen.has_word(rules.practice_name):
        out.append(f"it names the practice ({rules.practice_name!r})")
        named = True
    if not named:
        for word in rules.name_words:
            if seen.has_word(word):
                out.append(rules.names_practice(word))
            elif seen.has_split(word):  # "Lake Side": the distinctive word split in two
                out.append(rules.names_practice(word, split=True))
    for word in rules.clinician_names:
        if seen.has_word(word):
            out.append(f"it names a clinician ({word!r})")
    for word in rules.never_say:
        if seen.has_word(word):
            out.append(f"it says {word!r} (in discretion.never_say)")
    vocabulary = skeletons.care_vocabulary()
    for word in OUTBOUND_EXTRA + vocabulary.words:
        if seen.has_word(word):
            out.append(f"it says {word.lower()!r}")
    for word in vocabulary.split:
        if seen.has_care_split(word) and not any(p.startswith(f"it says {word!r}") for p in already + out):
            out.append(f"it says {word!r} (split)")  # "ther apy"
    said = [m.group(1).replace(" ", "") for p in already + out if (m := _SAYS_RE.match(p))]
    told: set[str] = set()  # each token once, by its first stem
    for stem in vocabulary.stems:
        for token in seen.compact + seen.spaced:
            if stem in token and token not in told and not any(stem in w and w in token for w in said):
                out.append(f"it says {stem + '…'!r} (in {token!r})")
                told.add(token)
    known = {p.lower() for p in already}  # the skeleton is case folded: "Dr" was already "dr"
    fresh: list[str] = []
    for problem in out:
        if problem.lower() not in known:
            known.add(problem.lower())
            fresh.append(problem)
    return fresh


def _text_problems(text: str, rules: Discretion) -> list[str]:
    problems = privacy.discretion_problems(text, rules.practice_name, titles=True)
    named_practice = any(p.startswith("it names the practice") for p in problems)
    if not named_practice:
        for word in privacy.words_found(text, rules.name_words):
            problems.append(rules.names_practice(word))
    for word in privacy.words_found(text, rules.clinician_names):
        problems.append(f"it names a clinician ({word!r})")
    for letters in _initials_found(text, rules.clinician_initials):
        problems.append(f"it names a clinician (the initials {letters!r})")
    for word in privacy.words_found(text, rules.never_say):
        problems.append(f"it says {word!r} (in discretion.never_say)")
    already = {p for p in problems}
    for word in privacy.words_found(text, OUTBOUND_EXTRA):
        message = f"it says {word.lower()!r}"
        if message not in already:
            problems.append(message)
    return problems


def opt_out_command_problems(text: str) -> list[str]:
    """Every carrier opt-out keyword ``text`` offers as a reply, in any case, at any distance, quoted or not.

    Offered: after a reply verb in the same sentence ("Reply 1 to confirm, or Cancel to cancel.", "Just say
    cancel."), written as an option ("cancel = cancel", "or unsubscribe to stop"), quoted ("'stop'") or in
    capitals ("QUIT").  Not offered: the keyword as an ordinary word ("If you need to cancel, call us", "we'll
    stop", "the end").  The text is NFKC-folded first (full-width letters are letters).
    """
    text = opt_out_words.fold(text)
    spans: list[tuple[int, str]] = []
    for sentence in _SENTENCE.finditer(text):
        verb = _REPLY_VERB.search(sentence.group())
        if verb is None:
            continue
        for m in _KEYWORD_RE.finditer(text, sentence.start() + verb.end(), sentence.end()):
            between = text[sentence.start() + verb.end():m.start()].strip().lower()
            if between in ("", "to") or _offered(text, m.start()):  # "reply cancel", "reply to cancel"
                spans.append((m.start(), m.group(1)))
    for m in _OPTION_RE.finditer(text):
        start, word = (m.start(1), m.group(1)) if m.group(1) else (m.start(2), m.group(2))
        if _offered(text, start):
            spans.append((start, word))
    for regex in (_QUOTED_RE, _CAPS_RE):
        spans.extend((m.start(1), m.group(1)) for m in regex.finditer(text))
    found: list[str] = []
    for _, word in sorted(spans):
        name = " ".join(word.split()).upper()  # as written: "OPT-OUT", "STOP ALL"
        if name not in found:
            found.append(name)
    return [f"it invites the reply {w!r}, which carriers treat as an opt-out from every text "
            "(only the opt-out notice may mention STOP; offer digits or words like 'change')" for w in found]


def _offered(text: str, start: int) -> bool:
    """Whether the keyword at ``start`` reads as a reply offered, not an ordinary word (see ``_NOT_OFFERED``)."""
    before = re.findall(r"[\w'’]+", text[:start][-40:])
    return not before or before[-1].lower().replace("’", "'") not in _NOT_OFFERED


def template_variables(source: str) -> set[str]:
    """Names a template reads (empty when it does not parse)."""
    try:
        return set(meta.find_undeclared_variables(environment().parse(source)))
    except TemplateSyntaxError:
        return set()


def _estimated_seconds(words: str) -> float:
    """How long TTS takes to say ``words``: about 150 words a minute, digits read one by one a bit faster."""
    tokens = words.split()
    digits = sum(1 for t in tokens if t.strip(",.").isdigit() and len(t.strip(",.")) == 1)
    return (len(tokens) - digits) * 0.4 + digits * 0.35


def template_problems(source: str, kind: WordKind, rules: Discretion, *, neutral: bool = False,
                      opt_out_notice: bool = False) -> list[LintProblem]:
    """Every reason the template ``source`` is refused (or warned about) as outbound words of ``kind``.

    ``neutral``: the words for shared phones and whoever answers (only ``callback_number`` and
    ``sender``).  ``opt_out_notice``: the one text allowed to mention STOP (it must).
    """
    out: list[LintProblem] = []
    try:
        template = compile_template(source)
    except TemplateSyntaxError as exc:
        return [LintProblem(f"template syntax error: {exc.message}")]
    allowed = NEUTRAL_VARIABLES if neutral else frozenset(VARIABLES)
    used = template_variables(source)
    for name in sorted(used - allowed):
        if neutral and name in VARIABLES:
            out.append(LintProblem(f"{{{{ {name} }}}} may not be used here: neutral words go to shared phones "
                                   "and to anyone who answers, so they name no one and give no time"))
        else:
            out.append(LintProblem(f"{{{{ {name} }}}} is not available in outbound words "
                                   f"(use: {', '.join(sorted(allowed))})"))
    if "sender" in used and rules.substance_use_program:
        out.append(LintProblem("{{ sender }} may not be used: with substance_use_program (42 CFR Part 2) "
                               "not even the neutral name is given"))
    sample = dict(_SAMPLE_TEXT if kind is WordKind.TEXT else _SAMPLE_SPOKEN)
    sample["sender"] = "" if rules.substance_use_program else (rules.neutral_name or "")
    try:
        rendered = template.render({k: v for k, v in sample.items() if k in allowed})
    except (SecurityError, TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as exc:
        out.append(LintProblem(f"the words cannot be filled in: {exc}"))
        rendered = source
    seen: set[str] = set()
    for text in (source, rendered):
        for problem in text_problems(text, rules):
            if problem not in seen:
                seen.add(problem)
                out.append(LintProblem(f"not discreet: {problem}"))
    if opt_out_notice:
        if not re.search(r"\bSTOP\b", rendered):
            out.append(LintProblem("the opt-out notice must say how to stop, e.g. 'Reply STOP to stop these texts.'"))
    else:
        for text in (source, rendered):
            for problem in opt_out_command_problems(text):
                if problem not in seen:
                    seen.add(problem)
                    out.append(LintProblem(problem))
    if kind is WordKind.VOICEMAIL:
        seconds = _estimated_seconds(rendered)
        if seconds > VOICEMAIL_MAX_SECONDS:
            out.append(LintProblem(f"a voicemail must stay under {VOICEMAIL_MAX_SECONDS} seconds; "
                                   f"this one takes about {math.ceil(seconds)}"))
    if kind is WordKind.TEXT and len(rendered) > TEXT_SEGMENT_WARNING:
        out.append(LintProblem(f"the text is about {len(rendered)} characters (more than two SMS segments)",
                               "warning"))
    return out


_STATE_SUFFIX = re.compile(r"^(?P<place>.+?),?\s+(?P<code>[A-Za-z]{2})\.?$")


@lru_cache(maxsize=1)
def _places() -> tuple[frozenset[str], frozenset[str]]:
    """(place names, state codes), normalised (``_place_key``), from ``place_names.toml``."""
    with resources.files(__package__).joinpath("place_names.toml").open("rb") as fh:
        data = tomllib.load(fh)
    names = frozenset(_place_key(n) for n in [*data["states"], *data["cities"]])
    return names, frozenset(c.upper() for c in data["codes"])


def _place_key(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text.lower().replace("saint ", "st ")).split())


def is_place_name(name: str) -> bool:
    """Whether a caller name is only a US state, a state code, a large city, or "City, ST" (Twilio's CNAM rules
    refuse a generic value such as a city or state)."""
    names, codes = _places()
    key = _place_key(name)
    if key in names or name.strip().rstrip(".").upper() in codes:
        return True
    m = _STATE_SUFFIX.match(name.strip())
    return bool(m) and m.group("code").upper() in codes and len(m.group("place").split()) <= 3 and (
        "," in name or _place_key(m.group("place")) in names)


def caller_name_problems(name: str, rules: Discretion) -> list[str]:
    """Why ``name`` cannot be the caller name (CNAM) shown on the client's phone."""
    out: list[str] = []
    if len(name) > CNAM_MAX:
        out.append(f"it is {len(name)} characters; a caller name (CNAM) has at most {CNAM_MAX}")
    if not _CNAM_CHARS.match(name):
        out.append("start with a letter and use only letters, digits, periods, commas and spaces "
                   "(what carriers accept for a caller name)")
    if is_place_name(name):
        out.append("it is a city or a state, which carriers refuse as a caller name (and show anyway when "
                   "no name is registered): register a neutral name such as 'Appointments'")
    out += [f"not discreet: {p}" for p in text_problems(name, rules)]
    # A caller name is read as the practice's name: care words that pass in a text ("calm", "mind") do not here.
    out += [f"not discreet: it says {w.lower()!r} (a caller name with a care word reads as a practice's name)"
            for w in privacy.words_found(name, CNAM_CARE_WORDS) if f"not discreet: it says {w.lower()!r}" not in out]
    if rules.substance_use_program and rules.neutral_name and rules.neutral_name.lower() in name.lower():
        out.append("with substance_use_program (42 CFR Part 2) not even the neutral name may be shown")
    return out


# The flows of the outbound conversation (flows/): what they say before verification goes to whoever answers.
CONVERSATION_FLOWS = ("follow_up_call", "returned_call")
# Flow template values whose words give the practice or the care away ("Thank you for calling {{ practice.name }}").
INDISCREET_VALUES = {"practice": "it names the practice ({{ practice }})",
                     "emergency_guidance": "it speaks of crisis lines and care ({{ emergency_guidance }})"}


def _step_words(step: Step) -> list[str]:
    body = step.body
    found: list[Template | None] = []
    if isinstance(body, SayStep):
        found = [body.text]
    elif isinstance(body, (MenuStep, AskStep)):
        found = [body.prompt, body.reprompts.no_input, body.reprompts.no_match]
    elif isinstance(body, (HangupStep, EscalateStep)):
        found = [body.say]
    return [t.source for t in found if isinstance(t, Template) and t.source]


def conversation_problems(flows: Mapping[str, Flow], rules: Discretion,
                          reachable: Iterable[tuple[str, str]] | None = None) -> list[FlowProblem]:
    """The discretion lint over every step of the outbound conversation that an unverified person may hear:
    the words as written, placeholders unfilled.

    ``reachable``: the ``(flow, step)`` pairs a caller reaches before verification from the conversation flows,
    across hand-overs to other flows (``ivr.flowlang.graph.reachable_unverified``); without it, every step of
    the conversation flows not marked ``needs_verified``.  Each step is reported once.
    """
    if reachable is None:
        reachable = [(name, sid) for name in CONVERSATION_FLOWS if name in flows
                     for sid, step in flows[name].steps.items() if not step.needs_verified]
    out: list[FlowProblem] = []
    seen: set[tuple[str, str]] = set()
    for name, sid in reachable:
        flow = flows.get(name)
        step = flow.steps.get(sid) if flow is not None else None
        if flow is None or step is None or (name, sid) in seen:
            continue
        seen.add((name, sid))
        for words in _step_words(step):
            told = [why for name, why in INDISCREET_VALUES.items() if name in template_variables(words)]
            for problem in told + text_problems(words, rules) + opt_out_command_problems(words):
                out.append(FlowProblem(flow.file, step.line, f"not discreet before verification: {problem}",
                                       flow.name, step.id))
    return out
