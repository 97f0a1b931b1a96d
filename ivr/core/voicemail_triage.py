"""What a voicemail is about, from its transcript: a category for staff, and crisis first.

``triage(text, language)`` grades the transcript with the crisis grader (``ivr.core.crisis.assess``:
self-harm, suicide, harm to others, danger, medical emergency; negatives such as "I'm not in crisis, I
just need to reschedule" are not a crisis) and names what the caller wants with the menus' own
vocabulary (``ivr.core.intents``): reschedule, cancel, billing, link/portal, callback or other.
Pure: text in, a value out; nothing here logs (the transcript is a client's words).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ivr.core.crisis import CrisisAssessment, CrisisLevel, assess, languages
from ivr.core.intents import VOCABULARY, IntentWords, MenuOption, match_intent
from ivr.core.text import canonical_words, language_key


class VoicemailCategory(StrEnum):
    """What a message asks for, as the escalation page shows it."""

    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    BILLING = "billing"
    LINK_PORTAL = "link_portal"
    CALLBACK = "callback"
    OTHER = "other"


LABELS = {
    VoicemailCategory.RESCHEDULE: "Reschedule",
    VoicemailCategory.CANCEL: "Cancel",
    VoicemailCategory.BILLING: "Billing",
    VoicemailCategory.LINK_PORTAL: "Link or portal",
    VoicemailCategory.CALLBACK: "Callback",
    VoicemailCategory.OTHER: "Other",
}

_OPTIONS = (MenuOption("appointments"), MenuOption("links"), MenuOption("billing"), MenuOption("new_client"),
            MenuOption("operator"))
# "Please call me back" says nothing about the topic: it is a callback unless a topic is named.
_CALLBACK_WORDS = {"en": ("call me back", "call back", "callback", "give me a call", "return my call",
                          "call me", "reach me", "get back to me", "returning your call", "return your call",
                          "please call", "call please")}

# A message is not a live menu: "I can't make it tomorrow" left on a voicemail says the caller will not come
# (a cancellation; with "instead" or another day it is a rescheduling, the two actions tying). These are the
# menus' words (``ivr.core.intents.VOCABULARY``) with the ways people say they will not come as ``cancel``.
_NOT_COMING = ("cant make it", "wont make it", "wont be able to make it", "not be able to make it",
               "not going to make it", "not going to be able to make it", "not going to be able to come",
               "not able to make it", "unable to make it", "cant come", "cant come in",
               "wont be able to come", "not be able to come", "not able to come", "unable to come",
               "wont be there", "not be there", "cant be there", "miss my appointment", "miss my session",
               "have to miss", "calling off", "call off")

# fix13-left4 (break test s24, SF2): a day or time the caller cannot make ("I can't make Tuesday", "I cannot make
# next week"), and the hedged ways of saying it ("I don't think I can make it on Tuesday", "I'm not sure I can come"):
# not coming, as above (a cancellation; a rescheduling with "instead" or a new time).
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "tomorrow",
         "tonight", "this week", "next week", "this weekend", "next weekend", "this afternoon", "this morning",
         "this evening", "that day", "that time", "the time", "the date", "the day", "my time", "our time")
_CANNOT = ("cant", "cannot", "can not", "wont", "couldnt", "unable to", "not able to", "wont be able to",
           "not be able to", "not going to be able to", "not going to")
_HEDGES = ("dont think i can", "dont think ill", "dont think i will", "dont think im going to",
           "dont think ill be able to", "dont think i will be able to", "not sure i can", "not sure ill",
           "not sure i will", "not sure ill be able to", "doubt i can", "doubt ill", "dont know if i can",
           "dont know if ill", "dont know if ill be able to", "might not", "may not", "probably cant",
           "probably wont", "probably not going to")
_NOT_COMING_KIND = (*(f"{cannot} make {day}" for cannot in _CANNOT for day in _DAYS),
                    *(f"{hedge} {verb}" for hedge in _HEDGES
                      for verb in ("make it", "come", "come in", "be there", "attend",
                                   *(f"make {day}" for day in _DAYS))))
# ... and a new time asked for ("I need a new time for next week", "can we find another date"): a rescheduling.
# Weak (``~``, as the menus' "~different time"): they name the topic only when nothing else does ("a new time in
# my life" beside a bill stays billing).
_NEW_TIME = ("~new time", "~new date", "~new slot", "~new appointment time", "~new session time",
             "~different date", "~different slot", "~another date", "~another slot", "~another week",
             "~other time", "~other day", "~other date", "~some other time", "~some other day", "~sometime else",
             "~later date", "~earlier date", "~later day", "~earlier day", "~rebook*", "~re book", "~rearrange",
             "~find a time", "~find another time", "~find a new time", "~find a different time")

# fix13-left3: a time asked for by what it fills ("I'd die for a Saturday slot", "any openings on Monday?") is about
# an appointment: with no other action said, a rescheduling.
_TIME_WANTED = ("slot", "time slot", "opening", "availability", "available time", "earlier time", "later time")


def _voicemail_vocabulary() -> dict[str, dict[str, IntentWords]]:
    out: dict[str, dict[str, IntentWords]] = {}
    for language, intents in VOCABULARY.items():
        out[language] = dict(intents)
        appointments = intents.get("appointments")
        if appointments is not None and language == "en":
            actions = dict(appointments.actions)
            actions["cancel"] = (*actions.get("cancel", ()), *_NOT_COMING, *_NOT_COMING_KIND)
            actions["reschedule"] = (*actions.get("reschedule", ()), *_NEW_TIME)
            out[language]["appointments"] = IntentWords((*appointments.phrases, *_TIME_WANTED), actions,
                                                        appointments.priority)
    return out


VOICEMAIL_VOCABULARY = _voicemail_vocabulary()

# Words of a threat or a grudge that would otherwise read as a topic ("I'm going to make him pay" is no billing
# question): taken out before the category is read (the crisis grader reads them, on the whole text).
_NOT_A_TOPIC = {"en": re.compile(
    r"\b(?:make|makes|making|made) (?:him|her|them|you|someone|somebody|everyone|everybody|people) pay\b"
    r"|\b(?:he|she|they|you|hes|shes|theyre|youre|hell|shell|theyll|youll)"
    r"(?: (?:is|are|will|going to|gonna|is going to|are going to))* pay for (?:this|that|what|it|everything)\b"
    r"|\bpay for what (?:he|she|they) did\b"
    # fix13-left3: a past session spoken of, not asked for ("that last session killed me, it was so funny", "our
    # session last week was so helpful"): the category is read from the rest
    r"|\b(?:that|the|this|our|my|last|todays|yesterdays)(?: last| previous| first)? (?:session|appointment)"
    r"(?: last week| yesterday| today| on \w+)? (?:killed me|cracked me up|had me (?:laughing|in stitches)"
    r"|(?:was|is|has been|felt)(?: so| really| very| just)? (?:funny|hilarious|great|good|amazing|helpful|useful"
    r"|intense|hard|tough|heavy|fun|lovely|wonderful))\b")}


# Verbs that, on a voicemail, only ever ask to move a session.
_RESCHEDULE_SAID = re.compile(r"\b(?:reschedul\w*|postpon\w*)")


@dataclass(frozen=True)
class Triage:
    """A transcript's category and crisis grade (``crisis.level``: CRISIS, UNSURE or NONE)."""

    category: VoicemailCategory
    crisis: CrisisAssessment

    @property
    def is_crisis(self) -> bool:
        return self.crisis.level is CrisisLevel.CRISIS

    def __repr__(self) -> str:  # ``crisis.matched`` repeats the caller's words
        return f"Triage({self.category.value}, {self.crisis.level.value})"


def triage(text: str | None, language: str = "en") -> Triage:
    """Grade a voicemail transcript. An empty one is ``other`` and no crisis.

    ``language``: the practice's (BCP-47). A language without a crisis phrase list is graded with none
    (NONE): the flows refuse such a language for calls, so only a transcript in another language than
    the practice's could get here; the category then comes from the words alone.
    """
    key = language_key(language)
    crisis = assess(text, key) if key in languages() else CrisisAssessment(CrisisLevel.NONE)
    return Triage(category(text, key), crisis)


def category(text: str | None, language: str = "en") -> VoicemailCategory:
    """reschedule / cancel / billing / link_portal / callback / other, from the words of ``text``."""
    key = language_key(language)
    if text and key in _NOT_A_TOPIC:
        text = _NOT_A_TOPIC[key].sub(" , ", " ".join(canonical_words(text, language)))
    found = match_intent(text, _OPTIONS, language=language, vocabulary=VOICEMAIL_VOCABULARY.get(key, {}))
    if found.intent == "appointments":
        return VoicemailCategory.CANCEL if found.action == "cancel" else VoicemailCategory.RESCHEDULE
    if found.intent is None and set(found.tied) == {"appointments", "links"} and _RESCHEDULE_SAID.search(
            " ".join(canonical_words(text, language))):
        # "I shot a video for my homework and I'm late, please reschedule": "reschedule" beside a video word is
        # about a session (a video session is one); beside a bill it stays undecided (break test s24, SF2).
        return VoicemailCategory.RESCHEDULE
    if found.intent == "links":
        return VoicemailCategory.LINK_PORTAL
    if found.intent == "billing":
        return VoicemailCategory.BILLING
    if found.intent == "operator":
        return VoicemailCategory.CALLBACK
    words = " " + " ".join(canonical_words(text, language)) + " "
    if any(f" {phrase} " in words for phrase in _CALLBACK_WORDS.get(language_key(language), ())):
        return VoicemailCategory.CALLBACK
    return VoicemailCategory.OTHER
