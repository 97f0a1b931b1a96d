"""Warning signs of suicide and of harm to others that once graded NONE or only UNSURE (break-test s24, BLOCKER 1),
as rows shared by the live assessment's tables (tests/core/test_crisis.py) and the voicemail triage's
(tests/core/test_voicemail_triage.py): one list for both, as the phrase list itself is one."""
from __future__ import annotations

from ivr.core.crisis import CrisisCategory

SUICIDE = CrisisCategory.SUICIDE_SELF_HARM
OTHERS = CrisisCategory.HARM_TO_OTHERS
DANGER = CrisisCategory.IN_DANGER

FIX13_CRISIS3_CRISIS = [
    ("I have a gun and I'm thinking about using it on myself", SUICIDE),  # the means named by a pronoun
    ("I'm thinking about using them on myself", SUICIDE),
    ("I don't know if I can stay safe", SUICIDE),  # safety doubt, hedged
    ("I can't stay safe tonight", SUICIDE),
    ("I'm not sure I can stay safe", SUICIDE),
    ("I wrote my goodbye letters already", SUICIDE),
    ("I recorded my goodbye videos", SUICIDE),
    ("this is the last time you'll hear from me", SUICIDE),  # last contact
    ("I said goodbye to my kids tonight, this is the last time you'll hear from me", SUICIDE),
    ("you won't hear from me again", SUICIDE),  # was an UNSURE row: the brief (s24 B1) makes it a crisis
    ("you will never hear from me again", SUICIDE),
    ("I've been saving up my meds", SUICIDE),  # stockpiling, any word for medication
    ("I've stopped eating and I've saved up my meds", SUICIDE),
    ("I've been stockpiling my sleeping pills", SUICIDE),
    ("I've been hoarding my medication", SUICIDE),
    ("i dont think im going to make it through the night", SUICIDE),
    ("I don't know if I'll make it through the weekend", SUICIDE),
    ("I'm not sure I can make it through tonight", SUICIDE),
    ("I'm going to bring my gun to work tomorrow", OTHERS),  # a weapon brought where people are
    ("I'm going to make them pay, I'll bring my gun to work tomorrow", OTHERS),
    ("I'm taking a knife to school", OTHERS),
    ("I gave away my cat and my things, I won't need them", SUICIDE),  # giving away + not needing them
    ("I've been giving away my stuff, I'm so hopeless", SUICIDE),
    # fix13-left4 (bt13-s24 triage): danger from someone, in the past: a near-lethal attack said as such
    ("he nearly killed me", DANGER),
    ("he almost killed me last night", DANGER),
    ("my ex nearly killed me", DANGER),
    ("she tried to kill me", DANGER),
    ("he tried to strangle me", DANGER),
    ("he came close to killing me", DANGER),
    ("my husband almost choked me to death", DANGER),
    ("someone tried to stab me", DANGER),
    ("he nearly killed me with a knife", DANGER),
]
FIX13_CRISIS3_UNSURE = [
    "I've decided tonight is the night",  # ambiguous: offered
    "I gave away my things",  # giving away alone: offered
    "I'm saving my pills for the trip",  # saving without "up": offered
    "we talked about my suicidal thoughts last session, I'd like to continue that on Tuesday",  # a session topic
    "my dad had a heart attack last year",  # someone else's, over
    "you won't hear from me again till monday",
]
FIX13_CRISIS3_NONE = [
    "I'm saving up for my copay",
    "this is the last time you'll hear from me about the bill",
    "the heart attack my dad had was last year, I need to reschedule",
    "I'm collecting my meds from the pharmacy",
    "I'm taking my gun to the range",
    "I will bring my laptop to work",
    "I gave away my old couch",
    "I can't make it through the whole session",
    "I don't know if I can stay for the whole session",
    "today is the day of my appointment",
    "I won't need the link anymore",
    # fix13-left4: "nearly killed me" of no one's attack (a workout, the heat, laughter) stays everyday
    "the workout nearly killed me",
    "that hike almost killed me",
    "the traffic nearly killed me",
    "the heat nearly killed me",
    "my mom nearly killed me when she saw my grades",
    "he nearly killed me laughing",
    "he nearly killed me with that joke, it was so funny",
    "she almost killed me with her stories",
]
