"""Say what you want: a free sentence at a menu matched to the menu's intents, details kept.

"I need to move my Thursday appointment to next week" → intent ``appointments``, action
``reschedule``, details ``{"from_day": "thursday", "to_day": "next week"}``; "what time is my
appointment" → ``appointments`` / ``hear``; "can you text me the zoom link" → ``links``;
"I'm a new client" → ``new_client``. Nothing matched → no intent, and the options a shorter
re-prompt should name. Pure, deterministic keyword and phrase scoring (no model); the day and time
words come from ``spoken_values``.

Scoring, in order (docs/understanding.md has the why):
1. Every phrase of every option (the flow's own words plus the built-in vocabulary of its intent and
   the intent's actions) is found as whole words; plurals fold ("appointments" = "appointment");
   ``word*`` matches a prefix. A phrase right after a negation ("I don't want to cancel") is dropped.
2. Longest phrases are taken first and may not overlap ("first appointment" is new_client, so its
   "appointment" does not also count for appointments).
3. The intent of the highest priority that matched wins (new_client over the topics, the topics over
   asking for a person); within a priority, the most matched words; a tie matches nothing and names
   the tied options.
4. A sentence with no phrase that is only a key ("two", "press 2", "option two") picks that key.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ivr.core.spoken_values import (
    Mention,
    day_mentions,
    joined_by_corrections,
    parse_digits,
    spoken_words,
    time_mentions,
)
from ivr.core.text import canonical_words, clauses, language_key, negated, normalise, stem


@dataclass(frozen=True)
class IntentWords:
    """The built-in words of one intent: ``phrases`` that name it, ``actions`` (action → phrases) that
    pick an action and also name the intent, and its ``priority`` (higher wins when two intents match).
    A phrase written ``~move`` is weak: it counts (and picks its action) but names the intent only when
    no strong phrase names any intent ("change my card" is billing, not a rescheduling; "a receipt for
    my session" is billing)."""

    phrases: tuple[str, ...] = ()
    actions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    priority: int = 1


# Saying the caller cannot attend ("I won't be able to come in on Friday", "can't make it tomorrow"): at the main
# menu a day said with these words is the appointment they have (``from_day``), as is the day "instead of" which
# they want another (bt14 s24 nit 7). Normalised words.
_CANT_ATTEND = tuple(tuple(p.split()) for p in (
    "cant make it", "cant come", "wont make it", "wont be able to come", "wont be able to make",
    "wont be able to attend", "not be able to come", "not be able to make", "not able to come", "not able to make",
    "unable to come", "unable to make", "unable to attend", "cant attend", "cannot come", "cannot make",
    "cannot attend", "wont be coming in", "wont be in", "cant be there", "wont be there", "not going to make it",
    "not going to be able to come", "not going to be able to make", "cant do", "wont be able to do"))

# English vocabulary; another language adds a key. Phrases are written normalised ("dont", "i am").
VOCABULARY: dict[str, dict[str, IntentWords]] = {
    "en": {
        "appointments": IntentWords(
            phrases=("appointment", "~session", "booking", "cant make it", "cant come", "wont make it",
                     "change my appointment", "my next appointment", "running late", "be late",
                     # bt14 s24 nit 7: "I won't be able to come in on Friday"
                     *(" ".join(p) for p in _CANT_ATTEND),
                     # bt14-s25 nit 7: a late client ("I'm going to be ten minutes late") hears the appointment
                     # menu, as "I'm running late" does
                     "minutes late", "minute late", "mins late", "bit late", "little late", "running behind",
                     "running a bit behind", "running a little behind"),
            actions={
                "reschedule": ("reschedul*", "resched*", "postpone", "~move", "~moving", "~change", "~changing",
                               "~push back", "~push it back", "~different time", "~different day",
                               "~another time", "~another day", "~switch", "~bump", "~later time",
                               "~earlier time", "~move it", "~instead",
                               # review 14c finding 3: push, bring and shift, forward or back
                               "~push", "~push it", "~bring forward", "~bring it forward", "~bring back",
                               "~bring it back", "~shift", "~shift it", "~move up", "~move it up",
                               # bt14-s25 nit 7: "can I come in later on Tuesday"
                               "~come in later", "~come in earlier", "~come later", "~come earlier"),
                "cancel": ("cancel*", "call off", "wont be coming", "not coming", "drop my appointment"),
                "hear": ("~what time is my", "~what time do i", "~when is my", "~whens my", "~when do i",
                         "~remind me", "~confirm", "~check on", "~check my", "~do i have", "~what day is my",
                         # bt14-s25 nit 7: "when am I seeing Dr Chen"
                         "~when am i seeing", "~when am i meeting", "~when will i see", "~when will i be seeing"),
                "book": ("~book", "make an appointment", "schedule an appointment", "set up an appointment",
                         "new appointment", "another appointment", "schedule a session"),
            },
        ),
        "links": IntentWords(
            phrases=("link", "zoom", "video", "portal", "client portal", "login", "log in", "sign in",
                     "telehealth", "url", "meeting link", "video call", "join", "password", "web address",
                     "online session", "virtual", "appointment link", "session link", "video link"),
        ),
        "billing": IntentWords(
            phrases=("bill", "billing", "payment", "pay", "card", "credit card", "debit card", "invoice",
                     "charge", "charged", "balance", "receipt", "insurance", "superbill", "copay", "co pay",
                     "refund", "statement", "update my card", "change my card", "change my payment", "owe",
                     "cost", "how much", "price", "fee", "rate", "sliding scale"),
        ),
        "new_client": IntentWords(
            phrases=("new client", "new patient", "start therapy", "start counseling", "start counselling",
                     "starting therapy", "begin therapy", "get started", "first appointment", "first session",
                     "become a client", "looking for a therapist", "looking for a counselor",
                     "find a therapist", "need a therapist", "intake", "accepting new clients",
                     "taking new clients", "accept new clients", "take new clients", "referred by", "referred me",
                     "referred to you",
                     "got a referral", "have a referral", "sign up", "never been", "first time calling",
                     "i am new", "new here", "see a therapist", "start seeing", "get an appointment with a",
                     # review 14b finding 12: how people ask to start without saying "new client"
                     "interested in therapy", "interested in counseling", "see a counselor", "see a counsellor",
                     "waitlist", "wait list", "waiting list", "not a client yet", "consultation",
                     "help with anxiety", "help with depression", "help with my anxiety", "help with my depression",
                     # bt14-s25 nit 7: "I'd like to see someone about therapy", "I want to start seeing someone"
                     "someone about therapy", "someone about counseling", "someone about counselling",
                     "somebody about therapy", "start seeing someone", "start seeing somebody",
                     "start seeing a therapist", "start seeing a counselor",
                     # bt14-s26 nit 9: "I'd like to see someone for the first time"
                     "for the first time", "first visit", "first time seeing", "first time coming"),
            priority=2,
        ),
        "operator": IntentWords(
            phrases=("person", "someone", "somebody", "human", "real person", "receptionist", "front desk",
                     "operator", "representative", "agent", "staff", "talk to", "speak to", "speak with",
                     "talk with", "leave a message",
                     # bt14-s26 nit 9: changing therapist is a conversation with a person, never a rescheduling
                     "change my therapist", "change therapist", "change therapists", "switch therapist",
                     "switch therapists", "switch my therapist", "different therapist", "another therapist",
                     "change my counselor", "change my counsellor", "different counselor", "different counsellor",
                     "switch counselor", "switch counsellor", "change clinician", "change my clinician",
                     "different clinician"),
            priority=0,
        ),
    },
}

_NEGATORS = ("dont", "not", "never", "without", "isnt", "wont", "didnt")  # not "no": "no, I want to cancel"
_NEGATION_BRIDGES = frozenset({"want", "to", "need", "going", "i", "am", "trying", "the", "my", "a", "about",
                               "wanna", "have"})
_TO_WORDS = frozenset({"to", "for", "till", "until", "into", "onto", "instead", "til", "come", "sometime"})
# A mention that starts so is a wish, never the appointment the caller has: "after Christmas", "before
# Thanksgiving", "between Christmas and New Year", "by Friday", "the day after", "the next day".
_WISH_STARTS = (("after",), ("before",), ("between",), ("by",), ("the", "day", "after"), ("the", "day", "before"),
                ("day", "after"), ("the", "next", "day"), ("the", "following", "day"), ("the", "week", "after"),
                ("in",))  # "in a fortnight", "in two weeks"
_FROM_WORDS = frozenset({"from", "my", "our", "the"})
_APPOINTMENT_WORDS = frozenset({"appointment", "appointments", "session", "sessions", "one"})


@dataclass(frozen=True)
class MenuOption:
    """One option of a menu: the ``intent`` it serves, its keypad ``key`` and the flow's own
    ``phrases`` (normalised words, e.g. the flow's ``say:`` list)."""

    intent: str
    key: str | None = None
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntentMatch:
    """What the sentence asked for.

    ``intent``/``key``: the chosen option (None when nothing, or a tie, matched). ``action``: the
    intent's action when one was clear ("reschedule", "cancel", "hear", "book"). ``details``: day and
    time words kept from the sentence, keys ``from_day``, ``to_day``, ``day``, ``from_time``,
    ``to_time``, ``time``, ``with`` (the clinician named: "my appointment with Dr. Chen"), and
    ``not_day``/``not_time`` for ones ruled out ("but not Wednesday")
    (values are the words, e.g. ``"next week"``, resolved later with
    ``spoken_values.parse_day``). ``tied``: intents that tied. ``name_options``: when no intent, the
    intents a shorter re-prompt should name (the tied ones, else every option), in menu order.
    """

    intent: str | None
    key: str | None = None
    action: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)
    tied: tuple[str, ...] = ()
    name_options: tuple[str, ...] = ()
    score: int = 0


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    option: int
    action: str | None
    priority: int
    weak: bool = False


def _phrase_words(phrase: str) -> tuple[str, ...]:
    out = []
    for word in phrase.lower().split():
        if word.endswith("*"):
            out.append(normalise(word[:-1]) + "*")
        else:
            out.extend(stem(w) for w in normalise(word).split())
    return tuple(out)


def _word_matches(pattern: str, word: str) -> bool:
    return word.startswith(pattern[:-1]) if pattern.endswith("*") else pattern == word


def _negated(words: Sequence[str], start: int) -> bool:
    return negated(words, start, _NEGATORS, _NEGATION_BRIDGES)


def _phrases(options: Sequence[MenuOption], vocabulary: Mapping[str, IntentWords]) -> list[_Phrase]:
    out: list[_Phrase] = []
    for i, option in enumerate(options):
        words = vocabulary.get(option.intent, IntentWords())
        for phrase in (*option.phrases, *words.phrases):
            out.append(_Phrase(_phrase_words(phrase.lstrip("~")), i, None, words.priority, phrase.startswith("~")))
        for action, phrases in words.actions.items():
            out += [_Phrase(_phrase_words(p.lstrip("~")), i, action, words.priority, p.startswith("~"))
                    for p in phrases]
    return [p for p in out if p.words]


def match_intent(text: str | None, options: Sequence[MenuOption], *, language: str = "en",
                 vocabulary: Mapping[str, IntentWords] | None = None) -> IntentMatch:
    """Match ``text`` (a speech result) to one of ``options``; see the module docstring for the rules.

    ``vocabulary`` defaults to the built-in words for ``language`` (an unknown language has none, so
    only the options' own phrases count).
    """
    vocab = vocabulary if vocabulary is not None else VOCABULARY.get(language_key(language), {})
    every = tuple(o.intent for o in options)
    words: list[str] = []
    for clause in clauses(text):  # a negation never reaches across a comma or "but"
        words += [stem(w) for w in canonical_words(clause, language)] + ["|"]
    if not any(w != "|" for w in words):
        return IntentMatch(None, name_options=every)
    found: list[tuple[int, int, _Phrase]] = []  # (start, end, phrase)
    for phrase in _phrases(options, vocab):
        n = len(phrase.words)
        for start in range(len(words) - n + 1):
            if all(
                _word_matches(p, w) for p, w in zip(phrase.words, words[start : start + n], strict=False)
            ) and not _negated(words, start):
                found.append((start, start + n, phrase))
    found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
    spans: list[tuple[int, int]] = []
    for start, end, _ in found:
        if all(end <= s or start >= e for s, e in spans):
            spans.append((start, end))
    # every phrase on a chosen span counts: the flow's "cancel" and the vocabulary's "cancel*" together
    taken = [f for f in found if (f[0], f[1]) in spans]
    taken = list({(s, e, p.option, p.action, p.weak): (s, e, p) for s, e, p in taken}.values())
    naming = [t for t in taken if not t[2].weak]
    if not naming and len({p.option for _, _, p in taken}) == 1:
        naming = taken  # only weak words, all for one intent ("can I move it to Friday")
    if not naming:
        return _by_key(text, options, every)
    scores: dict[int, int] = {}
    for option in {p.option for _, _, p in naming}:
        counted = {(s, e) for s, e, p in naming if p.option == option}
        scores[option] = sum(e - s for s, e in counted)
    top_priority = max(p.priority for _, _, p in naming)
    contenders = {p.option for _, _, p in naming if p.priority == top_priority}
    best = max(scores[i] for i in contenders)
    winners = sorted(i for i in contenders if scores[i] == best)
    if len(winners) > 1:
        tied = tuple(options[i].intent for i in winners)
        return IntentMatch(None, tied=tied, name_options=tied, score=best)
    chosen = winners[0]
    # Actions are a second reading of the same words: an action phrase counts even where a longer
    # phrase took its words ("change my appointment" names the intent, its "change" the action).
    actions: dict[str, int] = {}
    for name in {p.action for _, _, p in found if p.option == chosen and p.action}:
        counted = _outermost({(s, e) for s, e, p in found if p.option == chosen and p.action == name})
        actions[name] = len(counted)  # phrases, not words: "move it ... no, cancel it" is a tie
    action: str | None = None
    if actions:
        top = max(actions.values())
        leaders = [a for a, s in actions.items() if s == top]
        action = leaders[0] if len(leaders) == 1 else None
    picked = options[chosen]
    details, later_days = _details(text, action)
    details = _the_appointment(text, details, later_days)
    if not actions and "from_day" in details and "to_day" in details:
        action = "reschedule"  # "I can't make it tomorrow, Friday would be better": a move (bt14-s26 S5)
    return IntentMatch(picked.intent, picked.key, action, details, score=best)


def _the_appointment(text: str | None, details: dict[str, str], later_days: Sequence[str] = ()) -> dict[str, str]:
    """At the main menu, the day of the appointment the caller has, where the words say so though no
    "my appointment" does: the day they cannot attend ("I won't be able to come in on Friday", "I can't make it
    Thursday") and the one they want another day "instead of" ("see Dr. Chen on Monday instead of Thursday").
    That day becomes ``from_day`` (from ``day`` or ``not_day``) when no ``from_day`` was said. bt14 s24 nit 7.

    A day the caller cannot attend is also ruled out (``not_day``), so it is never offered; and a plain day said
    after it ("I can't come in tomorrow. Friday morning would suit"; ``later_days``) is the one wanted
    (``to_day``) when none was said with a wish word (bt14-s26 SHOULD-FIX 5)."""
    if "from_day" in details:
        return details
    words = spoken_words(text)
    for mention in day_mentions(text):
        said = mention.words
        key = next((k for k in ("not_day", "day", "to_day")
                    if details.get(k, "").split(" ")[:len(said.split())] == said.split()), None)
        if key is None or any(tuple(said.split()[:len(lead)]) == lead for lead in _WISH_STARTS):
            continue  # "I can't come after Christmas" rules a stretch out; it names no appointment
        instead = mention.start >= 2 and (words[mention.start - 2], words[mention.start - 1]) in (
            ("instead", "of"), ("rather", "than"))
        before = words[:mention.start]
        ends = [i + len(p) for p in _CANT_ATTEND for i in range(len(before)) if tuple(before[i:i + len(p)]) == p]
        if key == "to_day":
            # "I'm unable to come tomorrow": read as a wish by its "come", but said right after the words
            cant = bool(ends) and all(w in _CANT_BRIDGES for w in before[max(ends):])
        else:
            cant = bool(ends) and not _wish_between(before)
        if (instead and key != "to_day") or cant:
            out = {k: v for k, v in details.items() if k != key}
            out["from_day"] = details[key]
            if cant or key == "not_day":
                out.setdefault("not_day", details[key])
            if key in ("day", "to_day") and "to_day" not in out and later_days:
                out["to_day"] = later_days[0]
            return out
    return details


_CANT_BRIDGES = frozenset({"in", "on", "it", "there", "to", "the", "this"})


def _wish_between(before: Sequence[str]) -> bool:
    """Whether words before a day ask for another one after the can't-attend words ("can we move it to")."""
    return bool(before) and before[-1] in _TO_WORDS


def _outermost(spans: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """The spans not inside another one ("move it" and its "move" count once)."""
    return {a for a in spans if not any(b != a and b[0] <= a[0] and a[1] <= b[1] for b in spans)}


def _by_key(text: str | None, options: Sequence[MenuOption], every: tuple[str, ...]) -> IntentMatch:
    digits = parse_digits(text)
    if digits.ok and digits.value is not None and len(digits.value) == 1:
        for option in options:
            if option.key == digits.value:
                return IntentMatch(option.intent, option.key)
    return IntentMatch(None, name_options=every)


def request_details(text: str | None, *, action: str | None = None) -> dict[str, str]:
    """Day and time words in a request, by role: "move my Thursday appointment to next week" →
    ``{"from_day": "thursday", "to_day": "next week"}``; "can I come at 3 pm" → ``{"time": "3 pm"}``.

    A mention after "to/for/until/instead" is where the caller wants to go (``to_``); after
    "from/my/the", right after or right before "appointment/session" it is the one they have
    (``from_``); "appointment for X" is the target when booking and the one they have otherwise;
    after "not/except/other than" (up to three words before: "but not to Wednesday") it is ruled
    out (``not_``); anything else is plain (``day``/``time``). A part of the day right after a day stays with it
    ("tomorrow afternoon"); a time right after a day ("next Tuesday at 3") takes that day's role.
    The first mention of each role is kept.
    """
    return _details(text, action)[0]


def _details(text: str | None, action: str | None) -> tuple[dict[str, str], list[str]]:
    """``request_details`` and the plain or wished days said after the first of their role (which ``setdefault``
    drops): "I can't make it tomorrow, Friday morning then" keeps "friday morning" for ``_the_appointment``."""
    words = spoken_words(text)
    details: dict[str, str] = {}
    later_days: list[str] = []
    roles: list[tuple[int, int, str]] = []
    # "Tuesday or Wednesday", "either Tuesday or Thursday": one wish for any of the days (``parse_days`` reads it),
    # never the first day alone (fix14-left gap 3)
    for mention in _any_of(words, day_mentions(text)):
        role = _role(words, mention.start, mention.end, action, day=True)
        roles.append((mention.start, mention.end, role))
        value = mention.words
        if mention.end < len(words) and words[mention.end] in _PARTS:
            value = f"{value} {words[mention.end]}"
        else:
            # "to a morning later this week": a part of the day said before the day stays with it (review 14c
            # finding 3), as "Wednesday morning" does
            parts = [w for w in words[_bridged(words, mention.start):mention.start] if w in _PARTS]
            if parts:
                value = f"{value} {parts[-1]}"
        if role in ("", "to_") and f"{role}day" in details:
            later_days.append(value)
        details.setdefault(f"{role}day" if role else "day", value)
    if "not_day" in details and "day" in details and "to_day" not in details:
        # "not Monday, maybe Wednesday", "not Wednesday, Thursday": the day said beside one ruled out is the one
        # wanted (bt14-s26 SHOULD-FIX 5)
        details["to_day"] = details.pop("day")
    times: list[tuple[int, int, str]] = []
    for mention in joined_by_corrections(words, time_mentions(text), alternatives=True):
        if any(mention.start < e and s < mention.end for s, e, _ in roles):
            continue  # "6/12", "December 8": numbers of a date, not a clock time
        role = _role(words, mention.start, mention.end, action)
        if not role:
            before = [r for s, e, r in roles if 0 <= mention.start - e <= 1]
            role = before[0] if before else ""
        times.append((mention.start, mention.end, role))
        details.setdefault(f"{role}time" if role else "time", mention.words)
    _days_after_times(words, roles, times, details, later_days)
    shift = _pushed(words)
    if shift and "to_day" not in details:
        details["to_day"] = shift
    _parts_of_day(words, roles, details, action)
    starts = {m.start for m in day_mentions(text)} | {m.start for m in time_mentions(text)}
    for i, word in enumerate(words):
        prev = words[i - 1] if i else ""
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word in _PARTS and nxt in _APPOINTMENT_WORDS and prev in _FROM_WORDS:
            details.setdefault("from_time", word)  # "my morning appointment" (fix14-left finding 3)
        if word == "with" and prev in _APPOINTMENT_WORDS:
            # "my appointment with Dr. Chen": the clinician names which appointment (fix14-left finding 3)
            name: list[str] = []
            for j in range(i + 1, min(i + 4, len(words))):
                if words[j] in _NAME_STOPS or j in starts:
                    break
                name.append(words[j])
            if name:
                details.setdefault("with", " ".join(name))
    return details, later_days


def _any_of(words: Sequence[str], mentions: Sequence[Mention]) -> list[Mention]:
    """Day mentions with "or" between them, a part of the day before it allowed ("Tuesday or Wednesday", "Tuesday
    morning or Wednesday afternoon"), joined into one: the days the caller would take (fix14-left gap 3)."""
    out: list[Mention] = []
    for mention in mentions:
        between = list(words[out[-1].end:mention.start]) if out else []
        if between[-1:] == ["or"] and all(w in _PARTS or w in ("in", "the") for w in between[:-1]):
            start = out[-1].start
            out[-1] = Mention(start, mention.end, " ".join(words[start:mention.end]))
            continue
        out.append(mention)
    return out


# Words between a time and the day said right after it: "to half past two next Tuesday", "to 2:30 on Tuesday".
_TIME_DAY_BRIDGES = frozenset({"on", "this"})


def _days_after_times(words: Sequence[str], roles: list[tuple[int, int, str]], times: list[tuple[int, int, str]],
                      details: dict[str, str], later_days: list[str]) -> None:
    """A plain day said right after a time takes the time's role, as a time right after a day takes the day's:
    "reschedule to half past two next Tuesday" → ``to_day`` "next tuesday" beside ``to_time``; "my 10 AM tomorrow"
    → ``from_day`` (bt14-s27 SHOULD-FIX 3: the day was left plain, so the offers ignored it). ``roles`` is
    updated in place, for the parts of the day read after."""
    for n, (start, end, role) in enumerate(roles):
        if role:
            continue
        gap = start
        while gap > 0 and start - gap < 1 and words[gap - 1] in _TIME_DAY_BRIDGES:
            gap -= 1
        got = next((r for s, e, r in times if e == gap and r), "")
        if not got or f"{got}day" in details:
            continue
        value = " ".join(words[start:end])
        plain = details.get("day", "")
        if plain.split(" ")[:end - start] == value.split(" "):
            value = details.pop("day")
        elif later_days and later_days[0].split(" ")[:end - start] == value.split(" "):
            value = later_days.pop(0)
        else:
            continue
        details[f"{got}day"] = value
        roles[n] = (start, end, got)


_PUSH_WAYS = {"back": "later", "forward": "earlier", "up": "earlier", "ahead": "later", "out": "later"}
_PUSH_UNITS = frozenset({"day", "days", "week", "weeks", "fortnight"})
_PUSH_COUNTS = frozenset({"a", "one", "two", "three", "four", "five", "six", "couple", "few", "of", "by"})


def _pushed(words: Sequence[str]) -> str:
    """"push it back a week", "push my appointment back two days", "move it forward by a week": the shift as day
    words counted from the appointment ("a week later", "two days earlier"; ``parse_day`` reads them with the
    appointment as its anchor), "" when none was said (bt14-s26 nit 9: the shift was dropped)."""
    for i, word in enumerate(words):
        if word not in _PUSH_WAYS:
            continue
        j = i + 1
        while j < len(words) and j - i <= 4 and words[j] in _PUSH_COUNTS:
            j += 1
        if j < len(words) and words[j] in _PUSH_UNITS and j > i + 1 or (
                j < len(words) and words[j] == "fortnight"):
            count = [w for w in words[i + 1:j] if w not in ("by", "of")]
            return " ".join([*count, words[j], _PUSH_WAYS[word]])
    return ""


def _parts_of_day(words: Sequence[str], roles: list[tuple[int, int, str]], details: dict[str, str],
                  action: str | None) -> None:
    """A part of the day said on its own ("afternoon please", "anything but mornings", "not in the morning") is a
    time with its role (``not_time`` when ruled out), unless a clock time was said (it is more precise) or it
    goes with a day ("Wednesday morning", "a morning later this week": kept in the day's words). "Good morning"
    is a greeting; "my morning appointment" names the appointment (below). fix14-left2 item 2."""
    if any(key.endswith("time") for key in details):
        return
    with_day: set[int] = set()
    for start, end, _ in roles:
        with_day |= set(range(_bridged(words, start), start)) | {end}
    for i, word in enumerate(words):
        if word not in _PART_WORDS or i in with_day or any(s <= i < e for s, e, _ in roles):
            continue
        prev = words[i - 1] if i else ""
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if prev == "good" or nxt in _APPOINTMENT_WORDS:
            continue
        role = _role(words, i, i + 1, action)
        if role == "from_" and prev == "the":
            role = ""  # "in the afternoon" is a time of day, "my morning appointment" the appointment
        if not role:  # "tomorrow in the morning": with the day's role
            role = next((r for s, e, r in roles if 0 <= i - e <= 2), "")
        details.setdefault(f"{role}time" if role else "time", word)
        return


_PART_WORDS = frozenset({"morning", "mornings", "afternoon", "afternoons", "evening", "evenings", "nights"})


# Words that end a clinician's name said after "appointment with": "with Dr. Chen to Friday".
_NAME_STOPS = frozenset({"to", "on", "for", "at", "next", "this", "and", "but", "from", "please", "instead", "into",
                         "tomorrow", "today", "tonight", "in", "is", "that", "because", "so", "i", "until", "till",
                         "or", "the", "a", "an", "it", "thanks", "thank"})


_PARTS = frozenset({"morning", "afternoon", "evening", "night"})
# Words between "to" and the day it leads to: "move it to later today", "to a morning later this week",
# "to an afternoon early next week" (review 14c finding 3).
# "to first thing on Monday" (bt14-s26 S6).
_TO_BRIDGES = frozenset({"a", "an", "some", "later", "earlier", "early", "late", "morning", "afternoon", "evening",
                         "night", "time", "slot", "one", "day", "point", "first", "thing", "on", "either"})


def _bridged(words: Sequence[str], start: int) -> int:
    """Where the bridge words right before ``start`` begin (``start`` when there are none; at most four)."""
    i = start
    while i > 0 and start - i < 4 and words[i - 1] in _TO_BRIDGES:
        i -= 1
    return i


# Words that rule a day or time out ("but not to Wednesday", "anything except Friday", "any day other than
# Monday"): the mention is kept as ``not_day``/``not_time``, never as where the caller wants to go.
_EXCLUDING = frozenset({"not", "except", "excluding", "but", "dont", "no", "never", "besides", "cant", "wont"})
_EXCLUDING_PAIRS = frozenset({("other", "than"), ("apart", "from"), ("rather", "than"), ("instead", "of")})
_EXCLUSION_BRIDGES = frozenset({"to", "on", "at", "for", "a", "the", "this", "that", "any", "until", "till",
                                "before", "after", "like", "want", "do", "work", "works", "in", "come", "make"})


def _excluded(words: Sequence[str], start: int) -> bool:
    """Whether a mention at ``start`` is ruled out by a negation up to three words before it."""
    i = start
    for _ in range(4):
        if i >= 2 and (words[i - 2], words[i - 1]) in _EXCLUDING_PAIRS:
            return True
        if i >= 1 and words[i - 1] in _EXCLUDING:
            return True
        if i == 0 or words[i - 1] not in _EXCLUSION_BRIDGES:
            return False
        i -= 1
    return False


# Words after a day or time that rule it out: "Wednesday doesn't work", "Wednesday's no good", "ten is too early"
# (fix14-left2 item 2). A lone "doesn't"/"won't"/"isn't" ends the sentence: "Tuesday works, Wednesday doesn't".
_RULED_OUT_AFTER = tuple(tuple(p.split()) for p in (
    "doesnt work", "wont work", "doesnt suit", "wont suit", "doesnt fit", "no good", "is no good", "isnt good",
    "is not good", "isnt great", "is not great", "is bad", "is out", "is a no", "is no go", "isnt possible",
    "is not possible", "is impossible", "is too early", "is too late", "is tough", "is difficult", "is hard",
    "is not an option", "isnt an option", "wont do", "is busy", "is booked", "im busy", "i am busy", "i cant",
    "i cannot", "is not ok", "isnt ok", "is not okay", "isnt okay", "not good", "too early", "too late", "out"))
_RULED_OUT_LAST = frozenset({"doesnt", "wont", "isnt", "cant", "not"})


def _ruled_out_after(words: Sequence[str], end: int) -> bool:
    after = tuple(words[end:end + 4])
    if any(after[:len(p)] == p for p in _RULED_OUT_AFTER):
        return True
    return len(after) >= 1 and after[0] in _RULED_OUT_LAST and (len(after) == 1 or after[1] in ("and", "but", "so"))


# Words right before a day or time that ask for it ("can we do Friday", "maybe Wednesday", "I'd prefer Monday"), and
# after it ("Friday morning instead", "Friday would be better", "Thursday works for me"). bt14-s26 SHOULD-FIX 5.
_WISH_BEFORE = frozenset({"do", "maybe", "perhaps", "prefer", "rather", "try", "preferably", "ideally"})
_WISH_AFTER = tuple(tuple(p.split()) for p in (
    "instead", "would be better", "would work", "would suit", "would be good", "would be great", "is better",
    "works better", "suits better", "works for me", "suits me", "is good for me", "is fine", "works", "then"))


def _wished_after(words: Sequence[str], end: int) -> bool:
    """Whether the words after a mention ending at ``end`` (a part of the day between: "Friday morning instead")
    ask for it."""
    if end < len(words) and words[end] in _PARTS:
        end += 1
    after = tuple(words[end:end + 3])
    return any(after[:len(p)] == p for p in _WISH_AFTER)


def _role(words: Sequence[str], start: int, end: int, action: str | None, day: bool = False) -> str:
    if _excluded(words, start) or _ruled_out_after(words, end):
        return "not_"
    before = words[start - 1] if start > 0 else ""
    before2 = words[start - 2] if start > 1 else ""
    after = words[end] if end < len(words) else ""
    if before in ("on", "next", "this") and before2 in _APPOINTMENT_WORDS:  # "my appointment on Tuesday"
        return "from_"
    if before == "for" and before2 in _APPOINTMENT_WORDS:  # "my appointment for tomorrow"
        return "to_" if action == "book" else "from_"
    if before in _TO_WORDS or (before in ("at", "on") and before2 in _TO_WORDS) or after == "instead":
        return "to_"
    if before in _WISH_BEFORE or (before in ("on", "for") and before2 in _WISH_BEFORE) or _wished_after(words, end):
        return "to_"  # "can we do Friday morning instead", "maybe Wednesday", "Friday would be better" (bt14-s26 S5)
    if before == "about" and before2 in ("how", "what"):  # "none of those, how about Thursday"
        return "to_"
    bridged = _bridged(words, start)
    if day and 0 < bridged < start and words[bridged - 1] in _TO_WORDS:  # "to later today"
        return "to_"
    if day and any(tuple(words[start:start + len(lead)]) == lead for lead in _WISH_STARTS) \
            and before not in _FROM_WORDS and before not in _APPOINTMENT_WORDS:
        return "to_"
    if before in _FROM_WORDS or before in _APPOINTMENT_WORDS or after in _APPOINTMENT_WORDS or before2 == "from":
        return "from_"
    return ""
