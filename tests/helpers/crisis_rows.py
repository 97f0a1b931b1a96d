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

DANGER = CrisisCategory.IN_DANGER
MEDICAL = CrisisCategory.MEDICAL_EMERGENCY

# Break-test bt14-s25 BLOCKER 1: suicidal thoughts and warning signs graded NONE, each reported phrase and the
# family it stands for (word order, tense, fillers, hedges): the wish not to wake, not caring whether one lives,
# "ending it" anywhere, not being here, method seeking, burden, goodbyes and notes, giving away because one will not
# need it; harm to others, violence at home, medical emergencies.
BT14S25_CRISIS = [
    *[(said, SUICIDE) for said in (
        # reported
        "I want to sleep and never wake up", "I just want to sleep and never wake up",
        "I wish I could just not wake up",
        "I don't care if I live or die", "you won't have to worry about me much longer",
        "I gave my cat to my sister because I won't need her", "I wanted to say goodbye to everyone",
        "I called everyone to say goodbye", "I wrote a note for my family",
        "I wrote a letter to my kids in case something happens", "I might as well be dead",
        "I've thought about not being here", "I've been thinking about not being around",
        "I think about ending it sometimes", "I kind of think about ending it sometimes",
        "maybe I think about ending things sometimes", "I've been researching ways to die",
        "I looked up how many pills it takes", "no one would care if I was gone",
        "I feel like I'm going to do something bad to myself",
        "I'm not suicidal, I just want to sleep and never wake up",  # one denied, one not (as "..., but I want to die")
        # the same families in other words
        "I wanted to go to sleep and never wake up again", "I hope I don't wake up tomorrow",
        "sometimes I wish I wouldn't wake up", "I'd rather not wake up", "I fall asleep hoping I never wake up",
        "honestly I don't really care if I live or die anymore", "I don't care whether I live or die",
        "I may as well be dead", "I think about not being alive", "I've thought about not existing",
        "I thought about ending it all last night", "I've been thinking lately about ending things",
        "I keep thinking about ending it", "I've been googling ways to kill myself",
        "I was looking up how to end my life", "I searched how many tylenol it takes to die",
        "I googled how many pills is a lethal dose", "nobody would even notice if I disappeared",
        "nobody would care if I died", "no one would notice if I was dead", "no one would care",
        "I might do something to myself", "I'm scared I'll do something stupid to myself",
        "I texted my family to say goodbye", "I wanted to say goodbye to all of you",
        "I left a letter for my kids", "I've written notes to my kids just in case",
        "I gave my dog away because I won't need him", "I'm giving away my guitar since I won't need it",
        "you won't have to deal with me much longer",
    )],
    *[(said, OTHERS) for said in (
        "I'm going to blow up the building", "I'm going to blow up the school", "I want to bomb my office",
        "I built a bomb", "I'm going to burn down his house",
        "I'm going to make them pay, I have a gun",  # SHOULD-FIX 5: revenge with means is harm to others
        "I'll get revenge, I bought a gun",
    )],
    *[(said, DANGER) for said in (
        "my dad beats my mom", "my father hits my mom", "my stepdad is hitting my little brother",
        "my mom's boyfriend hurts my sister", "my husband beats our kids",
    )],
    *[(said, MEDICAL) for said in (
        "I got stung and my face is swelling", "I think my appendix burst", "my water broke",
        "my throat is swelling", "I got stung by a bee and my lips are swollen", "my appendix ruptured",
        "my water just broke", "she's in labor",
    )],
]
BT14S25_UNSURE = [
    # giving away, any word order: a warning sign offered alone, a crisis with distress (FIX13_CRISIS3 rows)
    "I've been giving my things away", "giving away my things", "giving my stuff away", "I'm giving my stuff away",
    "I've been giving all of my belongings away",
    # SHOULD-FIX 3: a denial with wanted/meant/tried as the bridge, said alone: offered
    "I never wanted to kill myself", "I never wanted to hurt myself", "I have never wanted to hurt myself",
    "I've never wanted to hurt anyone", "I didn't mean to hurt myself",
    # SHOULD-FIX 4: an accident, a farewell for an everyday reason: offered, the request goes on
    "I fell and hurt myself, need to reschedule", "I slipped on the ice and hurt myself",
    "I accidentally cut myself, can I move my session", "I'm moving away so this is goodbye",
    "I'm retiring so this is goodbye", "I'm moving so I wanted to say goodbye",
    # near the new phrases
    "my face is swelling", "I'm going to make them pay", "I won't need him anymore",
    "you won't have to worry about me anymore", "I left a letter for my husband",  # a letter left: offered
]
BT14S25_NONE = [
    # SHOULD-FIX 3: denials beside a request go on to it
    "I never wanted to kill myself, I need my link", "I have never wanted to kill myself, I need my link",
    "I have never wanted to hurt myself, I need to reschedule", "I've never wanted to hurt anyone, I need my link",
    "I never even tried to hurt myself, I'm calling about my bill", "I didn't mean to hurt anyone, can I reschedule",
    # everyday speech near the new phrases
    "I gave my cat to my sister for the weekend, can I reschedule", "my dad beats my mom at chess",
    "I hope I don't wake up late tomorrow, my appointment is at nine", "I hope I never wake up that early again",
    "my water heater broke so I need to reschedule", "my water bottle broke", "I wrote a letter to my insurance",
    "I wrote a note for my kids' teacher, can I move my session", "I'm thinking about ending it with my boyfriend",
    "I can't wake up early on Tuesdays, can we move it", "I need to set an alarm so I wake up on time",
    "I looked up how many sessions my insurance covers", "nobody would care if I was late, I need to reschedule",
    "I blew up the balloons for the party", "the heater blew up so I need to cancel",
    "I was thinking about not being here next week, can I cancel", "I think my phone is dying",
    "I googled how to dye my hair", "I googled how to die my hair", "nobody would notice if I was gone for a week",
    "I might as well be dead tired", "I think about not being here for the holidays",
    "I gave my cat to my sister because I'm moving", "I'm going to blow up balloons for the party",
    "I don't care if I live in the city or the suburbs",
]

# bt14-s25 nit 7: wanting to disappear and being tired of everything, said in other words: offered (UNSURE), never
# routed; everyday "tired of" and "disappear" stay NONE.
BT14S25_NIT_UNSURE = [
    "I feel like disappearing", "I just feel like disappearing", "I feel like I could just disappear",
    "I'm so tired of everything", "I am tired of everything", "I'm so tired of it all",
    "honestly I'm sick of everything",
    "I'm exhausted of all of it", "I'm so tired of everything, can I reschedule",
]
BT14S25_NIT_NONE = [
    "I'm tired of waiting on hold, can I reschedule", "the magician made the card disappear",
    "I feel like the charge should disappear from my bill", "I'm tired today, can we move my session",
]
