"""ivr.core.crisis: crisis heard in any words, tested both ways (heard when said, not heard when not).

Each row is something a caller says at a prompt (or leaves in a voicemail) and the grade it must get.
The decisions for everyday speech are documented in docs/understanding.md and crisis_phrases.toml.
"""
from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from ivr.core.crisis import (
    CrisisAssessment,
    CrisisCategory,
    CrisisLevel,
    PhraseListError,
    UnsupportedLanguage,
    assess,
    compile_pattern,
    expand_slots,
    filler_gap,
    languages,
    load_phrase_list,
    marked_text,
    phrase_list,
    plain,
    wildcard_any,
)
from tests.helpers.crisis_rows import (
    BT13S26_CRISIS,
    BT13S26_NONE,
    BT14C_S27_CRISIS,
    BT14C_S27_NONE,
    BT14C_S27_UNSURE,
    BT14S25_CRISIS,
    BT14S25_NIT_NONE,
    BT14S25_NIT_UNSURE,
    BT14S25_NONE,
    BT14S25_UNSURE,
    BT14S25B_CRISIS,
    BT14S25B_NONE,
    BT14S25B_UNSURE,
    BT14S26_CRISIS,
    BT14S26_NONE,
    BT14S26_UNSURE,
    BT14S27_CRISIS,
    BT14S27_NONE,
    BT14S27_UNSURE,
    FIX13_CRISIS3_CRISIS,
    FIX13_CRISIS3_NONE,
    FIX13_CRISIS3_UNSURE,
    FIX14_LEFT_CRISIS,
    FIX14_LEFT_NONE,
    FIX14_LEFT_UNSURE,
    FIX14_NITS6_DANGER,
    FIX14_NITS6_NONE,
)

SUICIDE = CrisisCategory.SUICIDE_SELF_HARM
OTHERS = CrisisCategory.HARM_TO_OTHERS
DANGER = CrisisCategory.IN_DANGER
MEDICAL = CrisisCategory.MEDICAL_EMERGENCY
UNSPECIFIED = CrisisCategory.UNSPECIFIED

CRISIS_ROWS = [
    # suicide and self-harm: C-SSRS screener wording as callers say it, 988 warning signs
    ("I don't want to live anymore", SUICIDE),  # issue 14: the negation is part of the phrase
    ("I want to kill myself", SUICIDE),
    ("I've been thinking about killing myself", SUICIDE),
    ("I'm suicidal", SUICIDE),
    ("I'm having suicidal thoughts", SUICIDE),
    ("I wish I was dead", SUICIDE),
    ("I wish I could go to sleep and not wake up", SUICIDE),
    ("I want to die", SUICIDE),
    ("I wanna die", SUICIDE),
    ("I'm gonna kill myself", SUICIDE),
    ("I'm going to end my life", SUICIDE),
    ("I'm thinking about ending my life", SUICIDE),
    ("I want to end it all", SUICIDE),
    ("honestly I just want it all to end", SUICIDE),
    ("there's no reason to live", SUICIDE),
    ("I have nothing to live for", SUICIDE),
    ("everyone would be better off without me", SUICIDE),
    ("nobody would miss me if I was gone", SUICIDE),
    ("I can't go on", SUICIDE),
    ("I cannot go on anymore", SUICIDE),
    ("I don't want to be here anymore", SUICIDE),
    ("I've been saving up pills", SUICIDE),
    ("I have a plan to end it", SUICIDE),
    ("I'm going to hang myself", SUICIDE),
    ("I keep thinking about jumping off a bridge", SUICIDE),
    ("I cut myself again last night", SUICIDE),
    ("I've been cutting again", SUICIDE),
    ("I hurt myself", SUICIDE),
    ("I want to hurt myself", SUICIDE),
    ("I'm self-harming", SUICIDE),
    ("I can't keep myself safe", SUICIDE),
    ("I'm scared of what I might do", SUICIDE),
    ("I tried to kill myself last week", SUICIDE),
    ("life isn't worth living", SUICIDE),
    ("I'm better off dead", SUICIDE),
    ("I'd rather be dead", SUICIDE),
    ("I wrote a suicide note", SUICIDE),
    ("I'm not sure I want to live anymore", SUICIDE),
    ("No, I want to die", SUICIDE),  # "no" before a comma is no negation
    ("I'm not going to kill myself, I just want to die", SUICIDE),  # one denied, one not
    ("my son is suicidal", SUICIDE),  # someone else at risk still goes to the crisis path
    ("my son tried to kill himself", SUICIDE),
    ("my daughter is cutting herself", SUICIDE),
    ("I'm thinking of ending it", SUICIDE),
    ("I took the whole bottle", SUICIDE),
    ("I feel like dying", SUICIDE),
    # review 14 finding 4: clear phrases that were graded NONE
    ("I'm tired of living", SUICIDE),
    ("I'm tired of being alive", SUICIDE),
    ("I should just die", SUICIDE),
    ("I'm done, I'm going to end it tonight", SUICIDE),
    ("I'm going to end things", SUICIDE),
    ("i gotta end it", SUICIDE),
    ("I want to unalive myself", SUICIDE),
    ("I've written a note", SUICIDE),
    ("I'm saying goodbye", SUICIDE),
    ("someone is trying to break in", DANGER),
    ("I don't feel safe", DANGER),
    ("my friend took pills", MEDICAL),
    ("I need urgent help", UNSPECIFIED),
    ("I have a gun and I'm going to use it", UNSPECIFIED),
    # finding 1: "no" right before a phrase is a denial, but not across a bridge
    ("no I want to die", SUICIDE),
    ("I don't see the point in living", SUICIDE),
    ("I never want to wake up", SUICIDE),
    ("thinking about driving my car into a tree", SUICIDE),
    # harm to others
    ("I'm going to kill him", OTHERS),
    ("I want to hurt someone", OTHERS),
    ("I'm afraid I'll hurt my baby", OTHERS),
    ("I want to shoot up my office", OTHERS),
    ("I'm thinking about hurting my kids", OTHERS),
    ("I'm going to stab my roommate", OTHERS),
    ("I have homicidal thoughts", OTHERS),
    ("I want to kill my boss", OTHERS),
    ("I might hurt somebody", OTHERS),
    ("sometimes I beat my kids", OTHERS),
    ("he's going to hurt the kids", OTHERS),
    # the caller in danger
    ("my husband is hitting me", DANGER),
    ("he's threatening to kill me", DANGER),
    ("someone is trying to hurt me", DANGER),
    ("I'm not safe at home", DANGER),
    ("I'm in danger", DANGER),
    ("I fear for my life", DANGER),
    ("my boyfriend hit me and he won't let me leave", DANGER),
    ("someone broke in", DANGER),
    ("someone's threatening me", DANGER),
    ("I was raped", DANGER),
    # medical emergencies
    ("I took a bunch of pills", MEDICAL),
    ("I overdosed", MEDICAL),
    ("I can't breathe", MEDICAL),
    ("I'm having chest pains", MEDICAL),
    ("I think I'm having a heart attack", MEDICAL),
    ("my friend is unconscious", MEDICAL),
    ("he's not breathing", MEDICAL),
    ("I'm bleeding a lot", MEDICAL),
    ("I think I'm having a stroke", MEDICAL),
    ("please call an ambulance", MEDICAL),
    ("call 911", MEDICAL),
    ("I'm having an allergic reaction and my throat is closing", MEDICAL),
    ("I drank bleach", MEDICAL),
    ("she's having a seizure", MEDICAL),
    ("I fell and can't get up", MEDICAL),
    # review 14b finding 4: clear crisis words that were graded NONE
    *[(said, SUICIDE) for said in (
        "I no longer want to live", "I wish I wasn't alive", "I wish I was not alive", "I gave away all my stuff",
        "I'm a danger to myself", "I don't think I can keep myself safe tonight", "part of me wants to die",
        "I wish I could just die", "I don't ever want to wake up", "there's no reason for me to live",
        "I don't have a reason to live", "I'm not going to make it through the night",
        "I won't make it through tonight", "I'm not going to be around much longer",
        "I'm not sure I can keep myself safe", "I have pills saved up", "I've got pills in my hand",
        "I'm holding a knife", "I'm on the roof and I want to jump", "my wife wants to die",
        "my friend wants to die", "my daughter cut herself", "I want die", "i want to dye",
        "I was going to kill myself tonight",  # "was" without a time that is over: still now
        "I want to talk about killing myself",  # no session or appointment in sight: not a topic
    )],
    *[(said, DANGER) for said in (
        "he'll kill me", "I'm scared he'll kill me", "he will kill me", "he has a knife", "he's outside with a gun",
        "my ex is following me", "I'm being stalked", "he pushed me down the stairs", "my boyfriend hurt me",
        "my husband hurts me",
    )],
    ("I have thoughts of hurting others", OTHERS),
    ("I'm bleeding and it won't stop", MEDICAL),
    # a crisis or emergency, not said which (the flows' old crisis words)
    ("this is an emergency", UNSPECIFIED),
    ("Emergency.", UNSPECIFIED),
    ("I'm in crisis", UNSPECIFIED),
    ("I need the crisis line", UNSPECIFIED),
    ("can you give me the number for 988", UNSPECIFIED),
    ("I need help right now", UNSPECIFIED),
    ("I'm going to get my gun", UNSPECIFIED),
    # fix14 finding 1: plain suicidal speech ([CSSRS] Q1-Q6, [988]/[AFSP] warning signs, slang)
    *[(said, SUICIDE) for said in (
        "I want to be dead", "I'm going to take all my pills", "I'm going to off myself", "I want to end things",
        "I've been thinking about ending things", "I don't want to be here tomorrow", "I want to not exist",
        "I just want it all to stop", "I don't see a reason to keep going", "I'm going to kms",
        "I don't want to exist anymore", "there's no point in going on", "I wish I was gone",
        "I can't see a reason to keep going", "I want to take the whole bottle", "I want everything to end",
        "I'm thinking about offing myself", "I wish I didn't exist", "there's no reason for me to stay alive",
        "I've never been suicidal but I want to die",  # the denial is its own clause; the wish is not denied
    )],
    # fix14 finding 2: in danger from someone, or a medical emergency
    *[(said, DANGER) for said in (
        "someone is outside my house threatening me", "my boyfriend said he'd hurt me",
        "there's someone following me", "I was assaulted", "he said he would kill me", "a man has been following me",
        "I got jumped on the way home", "I feel unsafe at home", "I feel unsafe", "I was sexually assaulted",
        "he's threatening me",
        "someone's outside my window", "I'm afraid he'll hurt me", "my ex threatened me",
    )],
    *[(said, MEDICAL) for said in (
        "there's blood everywhere", "my son collapsed", "I'm coughing up blood", "I can't wake him up",
        "his lips are turning blue",
    )],
    # fix14-left2 break-test [CSSRS] Q4-Q5: intent with the means at hand
    *[(said, SUICIDE) for said in (
        "I have a gun and I'm thinking about using it", "I've got pills and I'm thinking of using them.",
        "I'm thinking about using my gun on myself",
    )],
]

# fix13: the break-tester's plain crisis messages (vosk style) that the list missed or only offered:
# overdoses already taken, means and preparation, goodbyes, burden, someone else at risk, weapons and danger.
FIX13_REPORTED = [
    *[(said, MEDICAL) for said in (
        "i took thirty pills", "i took twenty of my pills", "i swallowed a whole bottle of tylenol",
        "i took all of my sleeping pills", "i took way too many of my pills",
        "i drank a bottle of vodka and took my pills",
    )],
    *[(said, SUICIDE) for said in (
        "i have the rope ready and i'm going to do it tonight", "i've tied the noose",
        "i'm sitting in my car in the garage with the engine running", "i'm going to use the gun on myself",
        "i wrote letters to my kids to say goodbye", "this is my last message to you goodbye",
        "everyone would be better without me around", "i think my brother might hurt himself",
        # graded only UNSURE before
        "i bought a gun today and i'm going to use it on myself", "i feel hopeless and i want it to be over",
        "i just want to disappear forever",
        "i feel like i'm a burden to everyone and they'd be happier if i was gone", "kill me now",
    )],
    ("i'm outside the building and i have a knife", OTHERS),
    ("i'm not feeling safe", DANGER),
]
# fix13: rows of our own in the same categories, with the fillers people put between the words
FIX13_OWN = [
    *[(said, MEDICAL) for said in (  # [POISON] an overdose taken
        "I took 40 of my anxiety pills", "she swallowed a whole pack of sleeping pills",
        "I've taken all of my prescription meds at once", "I just took like fifteen tablets",
        "I popped a handful of my xanax pills", "I drank a lot of wine and took some pills",
        "I took my pills with a bottle of vodka", "I took twenty five of my sleeping pills an hour ago",
        "I took way too much of my medication",
    )],
    *[(said, SUICIDE) for said in (
        # [CSSRS-B] means ready, preparation
        "the noose is ready", "I've got the pills ready", "I have my gun ready",
        "I'm sitting in the garage with the car running", "I'm going to turn the gun on myself",
        "I have a gun in my mouth", "I'm going to take all of my sleeping pills tonight", "I'm saving up all my pills",
        "I slit both of my wrists", "I'm thinking about jumping off the old bridge",
        "the rope is ready", "I put the knife to my wrist", "my brother is threatening suicide",
        # [AFSP-WS] goodbyes, final messages, affairs in order
        "I left a note for my family saying goodbye", "this is my last voicemail so goodbye",
        "by the time you hear this I'll be gone", "I'm putting my affairs in order",
        # [AFSP] burden
        "they'd be happier without me", "everybody would be better if I was gone",
        "they would all be happier if I was not around",
        # [988-HELP] someone else at risk
        "my daughter might kill herself", "I'm worried my husband is going to hurt himself",
        "my friend is talking about ending his life", "my mom threatened to take her own life",
        # plain wishes to be gone
        "I want to go to sleep forever", "I want my life to be over",
    )],
    *[(said, OTHERS) for said in (  # a weapon where people are
        "I'm at the school and I have a gun", "I have a knife and I'm outside his house",
        "I'm going to use my gun on them", "I want to shoot my stupid boss",
    )],
    *[(said, DANGER) for said in (
        "I'm not feeling safe tonight", "I don't think I'm safe", "I'm not sure I'm safe here",
    )],
]
CRISIS_ROWS += FIX13_REPORTED + FIX13_OWN

# fix14-bt blocker 2 and S3: the break-tester's plain statements, by kind (thoughts of death, not being here
# or alive, ending it, goodbyes, pointlessness, means, unresponsiveness, emergency services, a partner's threat)
FIX14BT_CRISIS = [
    *[(said, SUICIDE) for said in (
        "I keep thinking about dying", "I've been having thoughts of dying", "I think about death all the time",
        "they'd be better off if I was dead", "cancel all my appointments, I won't be alive",
        "I won't need my appointment anymore because I won't be here", "tonight's the night I end it",
        "I'm going to crash my car on purpose", "I wish I'd never been born", "I want to be gone",
        "I'm saying my goodbyes", "life is pointless", "I don't see the point anymore",
        "I bought a gun to end it", "I can't take it anymore",
    )],
    *[(said, MEDICAL) for said in (
        "I took my whole prescription", "she's not responding", "he isn't responding",
        "I need to go to the hospital",
    )],
    *[(said, DANGER) for said in (
        "I need the police", "my husband is going to kill me", "my boyfriend is going to kill me",
        "my ex is going to kill me", "my ex-husband's going to kill me",
    )],
    ("there's a fire", DANGER),  # fix14-nits6: a fire is danger where the caller is
]
CRISIS_ROWS += FIX14BT_CRISIS
FIX14BT_UNSURE = [
    "I'm ready to go", "I have a razor", "I'm on the edge",
    # a crisis phrase inside a figure of speech: offered at most, never the crisis path
    "I'd rather die than miss my session", "I don't wanna live with this bill hanging over me",
    "I'd rather be dead than go on like this",
    # the kinship table: family and work are everyday threats, offered
    "my mom is going to kill me", "my dad is going to kill me",
    "I'm saying my goodbyes to the team before I move",
]
FIX14BT_NONE = [
    "I never said I was suicidal, I need billing",  # a denial beside a request
    "I was thinking about the death of my grandmother, can I book a session",
    "I won't be here next week, can I reschedule", "the portal is not responding",
    "I need the police report for my insurance",
    "I need to go to the hospital for a scan next week, can I move my session",
    "my husband is going to pick me up", "I'm ready to go ahead and book",
    "there's a fire drill at work so I'll be late",
    "this app is pointless", "I crashed my car by accident, I need to cancel",
    "I took my whole prescription to the pharmacy", "my husband will kill me if I'm late again",
    "I don't see the point of this form",
]

NONE_ROWS = [
    "I'm not suicidal, I need my link",  # issue 14: a denial beside a request goes on to the request
    "I'm not in crisis, I just need to reschedule",
    "I have no thoughts of hurting myself, I just need my zoom link",
    "I'd never hurt myself, I'm just calling to cancel",
    "my appointment is killing my schedule",
    "I'll die if I miss work",  # hyperbole about a consequence
    "I have an overdue bill",  # whole words: overdue is not overdose
    "can you shoot me a text with the link",
    "I need to cancel, it's an emergency at work",  # an emergency at work is not a medical one
    "my car broke down, it's a car emergency, I have to cancel",
    "I need my emergency contact updated",
    "I can't go on Tuesday, can we move it",
    "I don't want to hurt her feelings but I need to switch therapists",
    "my back is killing me so I need to cancel",
    "that bill almost gave me a heart attack",
    "I'm dying to know when my next appointment is",
    "my phone died during the session",
    "I need to kill some time before my appointment",
    "my mom is going to kill me if I miss this appointment",
    "I hurt my back at the gym, can I do video instead",
    "we crushed the presentation, I'm killing it",
    "can you hit me up with the portal link",
    "my number is 555 911 4567",  # digits of a phone number are no call for 911
    "my date of birth is April 15th, 1988",
    "let's shoot for Tuesday at 3",
    "I'm having a midlife crisis about my career, can I book a session",
    "I'm struggling to log in to the portal",
    "I was bored to death in the waiting room",
    "I'm calling about my bill",
    "I'd like to reschedule my Thursday appointment",
    "what's the zoom link",
    "I'm a new client",
    "my deadline moved so I need to cancel",
    "I cut my hair short",
    "my insurance changed",
    "I could kill for a coffee",
    "I beat my son at chess",
    "I haven't been suicidal in years, I need to cancel",
    "I want to end it with my therapist, can I switch",
    "my son hurt himself at soccer",
    "I killed it at work today",
    # review 14 finding 1: negation reaches over articles and determiners; "no X" is a denial
    "it's not an emergency, I just need to reschedule",
    "this is not an emergency, I need to reschedule",
    "no emergency, just billing",
    "I'm not having any suicidal thoughts, I need my link",
    "there's no emergency, I'm calling about my bill",
    "can you help me reschedule",
    # review 14b finding 6: nobody, no one and neither...nor deny
    "nobody's in danger, I need my link",
    "no one is in danger, I need my link",
    "neither suicidal nor in danger, just need my link",
    "I want to dye my hair before my appointment",
    "my mom will kill me if I miss this appointment",
    # fix14 finding 3: denials of thoughts, of a past, of a judgement, beside a request
    "I don't have any thoughts of hurting myself, I just need to reschedule",
    "I haven't felt suicidal in years, I need to reschedule",
    "I wouldn't say I'm suicidal, I need my link",
    "I've never been suicidal, I need my link",
    "I don't have thoughts about killing myself, I just need my zoom link",
    "I have no urge to hurt myself, I need to cancel",
    "I've never had any thoughts of suicide, I'm calling about my bill",
    # fix14: everyday speech near the new phrases
    "I'm going to end things with my boyfriend so I need to change my emergency contact",
    "my landlord is threatening me with eviction so I need to reschedule",
    "I need to reschedule my blood test",
    "I'll drop it off myself",
    "I need to take all my pills with food, can I move my appointment",
    "I just take all my meds in the morning, I need my link",
    "I'm going to give up coffee, anyway I need my link",
    "my boss said he'd kill me if I'm late, I need to reschedule",
    "I don't see a reason to keep going to therapy, I want to cancel my appointments",
    # fix13: false crises reported by the break-tester
    "i'm reading a book about suicide prevention for my class",
    "never mind about the emergency i just need the link",
    # fix13: everyday speech near the new phrases and the fillers
    "I took my pills this morning, I need to reschedule", "I took my pills",
    "I took two of my pills like the doctor said, I need my link",
    "I need to reschedule, I'm taking all of my kids to the dentist",
    "I wrote a letter to my insurance, I'm calling about my bill",
    "I'm outside the building, which door do I use for my appointment",
    "I bought a new bottle of my allergy meds, can I pay my bill",
    "I'm reading an article about suicide rates for my paper",
    "I'm doing a research project on suicide, can I book a session",
    "never mind the emergency, I need my link", "forget about the emergency, I just need to reschedule",
    "my son might hurt himself skiing so we need to reschedule",
    "I drank a bottle of water and took my pills, can I get my link",
    "I had 20 pills left so I need a refill, can you call me back",
    "my grandmother is near the end of her life so I need to cancel",
    "I want to go to sleep early tonight, can we move my session",
    "my pills are ready at the pharmacy, I need to reschedule",
    "I'm going to shoot the photos at my session, can I reschedule",
    "I wanted to say goodbye before I go on vacation, please cancel my sessions",
    "everything is ready for my session, what's the link",
    "I took a box of tissues to my session, can you send me a receipt",
    "I'm cooking with a knife in my hand, call me back",
    "I'll do it tonight, the paperwork, I need my link",
    "I bought a knife and I'm thinking about using it for cooking",  # fix14-left2: "using it" must end the sentence
    "",
]

UNSURE_ROWS = [
    "I'm not going to hurt myself but I'm struggling",  # denied, but struggling
    "this is killing me",  # distress idiom: offer, don't assume
    "I'm not suicidal",  # a bare denial is offered the crisis option
    "I don't think I'm suicidal",  # a hedged denial
    "I have no plans to kill myself, probably not anyway, I need to reschedule",  # hedge beats the request
    "I don't want to die",
    "I'm having a panic attack",
    "I feel hopeless",
    "I can't go on like this",  # longer than "can't go on", and less certain
    "I feel like a burden to everyone",
    "family emergency, I need to cancel",  # an emergency not said to be the caller's
    "I had an emergency last night",
    "my brother died by suicide last year and I want to start therapy",  # grief, not risk
    "I'm in the hospital so I need to cancel",
    "I'm in a really dark place",
    "I'm falling apart",
    "I relapsed",
    "I just bought a gun",
    "I need to talk to someone right now",
    "my boss is going to kill me",  # a threat or a figure of speech: offer
    "I hate my life",
    "I'm really depressed",
    "I haven't hurt myself in years",  # a bare denial
    "I'm not okay",
    # review 14 finding 1: a bare denial, now read as one, is offered the crisis option
    "this is not an emergency",
    "I'm not having an emergency",
    "there's no emergency",
    # finding 4: help asked for, without saying which
    "help me",
    "please help me",
    "I took pills for my headache",
    # finding 20: a crisis word in someone's job
    "I work at the crisis center",
    # review 14b finding 4: near a crisis
    "I don't see a way out", "nothing matters anymore", "I'm hearing voices", "things are really bad right now",
    "it's urgent", "I'm scared", "I'm freaking out", "I can't calm down", "I took something and I feel weird",
    "I drank too much and took my meds", "I've been having panic attacks", "I have a rope", "this is my last call",
    "I'm drunk", "I'm high",
    # review 14b finding 6: over, or a subject for a session: offered, never the crisis path
    "I was suicidal last year but I'm better now, I need to reschedule",
    "I was in crisis last month, now I just need my link",
    "I want to talk about my suicidal thoughts in my next session, can I book a longer one",
    "I'm calling to reschedule my appointment with the suicide prevention group",
    "I used to cut myself as a teenager, I'd like to start therapy",
    # fix14 findings 1 and 2: vaguer distress or danger: offered the crisis option
    "I want the pain to stop", "I feel like giving up", "I'm worthless", "I'm afraid of my husband",
    "I feel unsafe now",
    "I'm scared of him", "I'm so useless", "I just want to give up", "I can't live like this",
    "I want to talk about being assaulted in my next session",  # a subject for a session
    "I don't want to be here",
    # fix13: near the new crisis phrases, short of one: offered the crisis option
    "this is my last message", "I'm calling to say goodbye", "I'm going to do it tonight",
    "I'm done with everything", "I have a knife", "by the time you get this",
]
NONE_ROWS += FIX14BT_NONE
UNSURE_ROWS += FIX14BT_UNSURE

# fix13-bt B2: the break tester's paraphrases graded none or only unsure, by kind: a hedge is not a denial
# ([en.hedged]), means at hand (and means with distress: [en.means]), planning one's death, no reason to wake up,
# an intent with a time. The same list grades the spoken answer at a prompt (tests/core/test_engine_crisis.py).
FIX13BT_CRISIS = [(said, SUICIDE) for said in (
    "I don't think I can go on", "I don't think I can keep going",
    "hi its jordan im not doing well i dont think i can keep going", "I don't think I want to be alive",
    "I'm thinking of taking all my pills", "I have the pills in front of me",
    "I don't see a reason to wake up tomorrow", "I have been planning my death",
    "please call me back i am not okay i have a gun", "i might do something stupid tonight",
    # the same kinds, other words
    "I'm not sure I can go on", "I don't know if I can keep going anymore", "I'm not sure I want to live",
    "I don't know how much longer I can go on", "I've been thinking about taking all of my sleeping pills",
    "the gun is right in front of me", "there's no reason for me to wake up", "I've been planning my suicide",
    "I'm falling apart and I have a rope", "I'm going to do something drastic tonight",
    "I'm scared. I have a knife.",  # distress and means in two sentences of one message
)]
CRISIS_ROWS += FIX13BT_CRISIS
FIX13BT_NONE = [
    "I don't think I can make Tuesday", "I have the pills you prescribed, need a refill",
    "I'm not sure I can make it Thursday, can I reschedule", "I don't think I want to switch therapists",
    "I'm fine, nothing urgent, just cancel my session please",
    "I don't think I can keep going to the Tuesday group, can I move my session",
]
NONE_ROWS += FIX13BT_NONE
FIX13BT_UNSURE = [
    "I don't think I want to die",  # a hedged denial stays a hedged denial
    "I have a gun",  # means alone: offered
    "I might do something stupid",
]
UNSURE_ROWS += FIX13BT_UNSURE
# fix13-left3 (triage nits): figures of speech with "kill"/"die" and urgency denied beside a request are no crisis;
# the same words as a threat, a wish to die or a plain crisis still are (or are offered the crisis option).
FIX13L3_NONE = [
    "that last session killed me, it was so funny", "you killed me with that story, it was so funny",
    "that joke killed me laughing", "I'd die for a Saturday slot", "I'm dying for an earlier time",
    "I would die for another evening appointment", "I'm dying for a coffee before my session",
    "I'm fine, nothing urgent, just cancel my session please", "it's not an emergency but please call me back",
    "it is not urgent, just give me a call when you can", "no emergency, please get back to me about my bill",
]
NONE_ROWS += FIX13L3_NONE
FIX13L3_CRISIS = [
    ("I'm dying, please help", CrisisCategory.MEDICAL_EMERGENCY),
    ("I want to die, please call me back", CrisisCategory.SUICIDE_SELF_HARM),
    ("he is going to kill me, please call me", CrisisCategory.IN_DANGER),
    ("I'd rather die, please call me", CrisisCategory.SUICIDE_SELF_HARM),
    ("nothing else matters, I'm going to kill myself", CrisisCategory.SUICIDE_SELF_HARM),
]
CRISIS_ROWS += FIX13L3_CRISIS
FIX13L3_UNSURE = [
    "I'm dying for a way out", "I'd die for a reason to live", "this is killing me",
    "it's urgent, please call me back", "it's not an emergency",  # a bare denial is still offered
]
UNSURE_ROWS += FIX13L3_UNSURE

# Warning signs (break-test s24 BLOCKER 1): rows shared with the voicemail triage's tests.
CRISIS_ROWS += FIX13_CRISIS3_CRISIS
UNSURE_ROWS += FIX13_CRISIS3_UNSURE
NONE_ROWS += FIX13_CRISIS3_NONE
# bt14-s25: suicidal thoughts and warning signs said in more ways; denials with wanted/meant/tried; accidents and
# everyday farewells offered, never routed; revenge with means is harm to others (rows in tests/helpers/crisis_rows.py).
CRISIS_ROWS += BT14S25_CRISIS
UNSURE_ROWS += BT14S25_UNSURE
NONE_ROWS += BT14S25_NONE
UNSURE_ROWS += BT14S25_NIT_UNSURE  # nit 7: disappearing, tired of everything
NONE_ROWS += BT14S25_NIT_NONE
# Break-test bt14-s25b BLOCKER 1, SHOULD-FIX 5 and NIT 6: families with slots (@medicine, @poison, @person), every
# reported phrase and paraphrases (rows in tests/helpers/crisis_rows.py).
CRISIS_ROWS += BT14S25B_CRISIS
UNSURE_ROWS += BT14S25B_UNSURE
NONE_ROWS += BT14S25B_NONE
# fix14-nits6: fire, smoke, gas, an intruder are danger; "fired" and a break-in that is over stay everyday.
CRISIS_ROWS += FIX14_NITS6_DANGER
NONE_ROWS += FIX14_NITS6_NONE
# Break-test bt14-s26 BLOCKER 2, SHOULD-FIX 3 and 4: an unknown drug before "pills" ("~"), overdoses without a name,
# a child's ingestion, being drugged, another person's risk, harm to others, danger, medical, suicide in other words;
# a negated "stop" is not a denial; a denial with an adjective; everyday speech near the danger words (rows in
# tests/helpers/crisis_rows.py).
CRISIS_ROWS += BT14S26_CRISIS
UNSURE_ROWS += BT14S26_UNSURE
NONE_ROWS += BT14S26_NONE
# Break-test bt13-s26 BLOCKER 1: the victim named as his, her, their, our or your; a friend's feelings stay everyday.
CRISIS_ROWS += BT13S26_CRISIS
NONE_ROWS += BT13S26_NONE
# fix14-left gap 1: punctuation between the words of a phrase never hides it; a denial stays in its clause.
CRISIS_ROWS += FIX14_LEFT_CRISIS
UNSURE_ROWS += FIX14_LEFT_UNSURE
NONE_ROWS += FIX14_LEFT_NONE
# Break-test bt14-s27 BLOCKER 1-7, SHOULD-FIX 1 and 8, NIT 6: harm to anyone (@people), someone else's self-harm,
# passive wishes, safety paraphrased, attacks told in the past, threats to a place (@place), means and method,
# psychosis, denials that do not deny; "emergency" as a department and a crisis plan asked about stay everyday.
CRISIS_ROWS += BT14S27_CRISIS
UNSURE_ROWS += BT14S27_UNSURE
NONE_ROWS += BT14S27_NONE
# bt14-crisis-s27: hesitations dropped, a whole overdose said with how it feels, an insurer named blue.
CRISIS_ROWS += BT14C_S27_CRISIS
UNSURE_ROWS += BT14C_S27_UNSURE
NONE_ROWS += BT14C_S27_NONE


# bt14-s24 blocker 1: danger and medical emergencies in other words than the list's, recognisers' misspellings
# and joined words, and self-harm said as the exception to a denial: CRISIS.
BT14S24_CRISIS = [
    ("there's a man with a gun outside my house", DANGER),
    ("there's a man with a gun outside", DANGER),
    ("a guy with a knife is at my door", DANGER),
    ("he's got a knife", DANGER),
    ("she's holding a gun", DANGER),
    ("he pulled a gun on me", DANGER),
    ("stop hurting me", DANGER),
    ("please stop hitting me", DANGER),
    ("get off me", DANGER),
    ("I'm seizing", MEDICAL),
    ("she's convulsing", MEDICAL),
    ("my son started seizing", MEDICAL),
    ("he's having convulsions", MEDICAL),
    ("my epi pen didn't work", MEDICAL),
    ("the epipen isn't working", MEDICAL),
    ("kil myself", SUICIDE),
    ("killmyself", SUICIDE),
    ("I want to killmyself", SUICIDE),
    ("i wanna hurtmyself", SUICIDE),
    ("i want to endmylife", SUICIDE),
    ("I'm not thinking of hurting anyone except myself", SUICIDE),
    ("I would never harm anybody other than myself", SUICIDE),
    ("I'm not going to hurt anyone, but myself", SUICIDE),
]
CRISIS_ROWS += BT14S24_CRISIS
# Plain calls for help and being on a height now: offered the crisis option (at least UNSURE).
UNSURE_ROWS += [
    "please help", "I need help", "help please", "somebody help me", "help help",
    "I'm on the bridge right now", "I'm standing on the roof", "my epipen",
]
# bt14-s24 S3: everyday sentences that once paged the on-call clinician: UNSURE at most.
BT14S24_NOT_ROUTED = [
    "I'm dying of embarrassment, I missed my session", "I can't breathe through my nose so I'd rather do video",
    "the overdose awareness group", "my daughter is in the hospital after an overdose last month, I need to reschedule",
    "I need to cancel because I have a doctor's appointment about my chest pain",
    "I took all my pills for the week in a pill organizer",
]


@pytest.mark.parametrize("said", BT14S24_NOT_ROUTED)
def test_everyday_sentences_with_emergency_words_are_never_routed(said: str) -> None:
    assert assess(said).level is not CrisisLevel.CRISIS


# Near the new phrases, everyday speech stays NONE.
NONE_ROWS += [
    "I need help with my bill", "I need help rescheduling", "the bank is seizing my car",
    "I walked over the bridge to get here, I need my link", "my husband is a man with a gun license, I need to cancel",
]


def test_self_harm_as_the_exception_to_a_denial_is_not_a_denial() -> None:
    for said in ("I'm not thinking of hurting anyone except myself", "I'm not going to hurt anyone, but myself"):
        result = assess(said)
        assert (result.level, result.categories, result.denied) == (CrisisLevel.CRISIS, (SUICIDE,), False), said
    # without the exception the denial stands
    assert assess("I'm not thinking of hurting anyone").denied


@pytest.mark.parametrize(("said", "category"), CRISIS_ROWS, ids=[r[0] for r in CRISIS_ROWS])
def test_crisis_is_heard(said: str, category: CrisisCategory) -> None:
    result = assess(said)
    assert result.level is CrisisLevel.CRISIS
    assert result.is_crisis and not result.offer_crisis_option
    assert result.categories == (category,)


@pytest.mark.parametrize("said", NONE_ROWS, ids=[r or "(nothing)" for r in NONE_ROWS])
def test_everyday_speech_is_not_a_crisis(said: str) -> None:
    result = assess(said)
    assert result.level is CrisisLevel.NONE
    assert not result.is_crisis and not result.offer_crisis_option


@pytest.mark.parametrize("said", UNSURE_ROWS)
def test_near_a_crisis_offers_the_crisis_option(said: str) -> None:
    result = assess(said)
    assert result.level is CrisisLevel.UNSURE
    assert result.offer_crisis_option and result.categories == ()


def test_row_counts() -> None:
    assert len(CRISIS_ROWS) >= 60
    assert len([r for r in NONE_ROWS if r]) >= 30
    assert len(FIX13_OWN) >= 40
    assert {category for _, category in CRISIS_ROWS} == set(CrisisCategory)


def test_the_whole_result_of_a_denial_beside_a_request() -> None:
    assert assess("I'm not suicidal, I need my link") == CrisisAssessment(
        CrisisLevel.NONE, (), True, ("suicid*",))


def test_several_categories_most_urgent_first() -> None:
    result = assess("I took a bunch of pills because I want to die")
    assert result == CrisisAssessment(CrisisLevel.CRISIS, (SUICIDE, MEDICAL), False,
                                      ("want to die", "took a bunch of pills"))


def test_a_voicemail_transcript_is_read_whole() -> None:
    routine = ("hi this is about my appointment on Thursday I need to move it to next week because of work "
               "please call me back at five five five one two three four thanks")
    assert assess(routine).level is CrisisLevel.NONE
    worrying = (routine + " also honestly I have been thinking I don't want to be alive anymore and I don't "
                "know who else to call")
    assert assess(worrying) == CrisisAssessment(CrisisLevel.CRISIS, (SUICIDE,), False, ("dont want to be alive",))


def test_languages_and_unknown_language() -> None:
    assert languages() == ("en", "ko")
    assert assess("I want to die", "en-US").is_crisis
    with pytest.raises(UnsupportedLanguage):
        assess("quiero morir", "es-MX")


def test_another_language_is_one_more_section() -> None:
    data = {"es": {
        "negators": ["no", "nunca"], "bridges": ["voy", "a"], "hedges": ["creo"], "routine": ["cita"],
        "crisis": {"suicide_self_harm": ["quiero morir", "matarme"]},
        "unsure": {"phrases": ["no puedo mas"]},
        "everyday": {"phrases": ["me muero de risa"]},
    }}
    spanish = load_phrase_list(data, "es")
    assert assess("quiero morir", "es", phrases=spanish).is_crisis
    assert assess("no voy a matarme, necesito mi cita", "es", phrases=spanish).level is CrisisLevel.NONE
    assert assess("me muero de risa", "es", phrases=spanish).level is CrisisLevel.NONE


def test_the_shipped_list_loads_and_every_phrase_compiles() -> None:
    with resources.files("ivr.core").joinpath("crisis_phrases.toml").open("rb") as fh:
        data = tomllib.load(fh)
    assert data["meta"]["sources"] == ["CSSRS", "988", "AFSP", "ACEP", "DV", "OPS", "988-HELP", "AFSP-WS", "CSSRS-B",
                                       "POISON", "KFSP", "MOHW-109", "CSSRS-KO", "OPS-KO", "NAMI-CRISIS"]
    for language in ("en", "ko"):
        section = data[language]
        shipped = sum(len(v) for v in section["crisis"].values()) + sum(len(v) for v in section["unsure"].values()) \
            + len(section["everyday"]["phrases"]) + len(section.get("means", {}).get("phrases", [])) \
            + len(section.get("unsure_alone", {}).get("phrases", []))
        assert len(phrase_list(language)) == shipped


def test_a_slot_names_a_maintained_word_list() -> None:
    """fix14-bt3: "@medicine" in a pattern is any word of [en.slots] medicine; a bad slot is refused."""
    slots = {"medicine": "zoloft|xanax|sleeping_pills"}
    assert expand_slots("took all my @medicine", slots) == "took all my zoloft|xanax|sleeping_pills"
    assert expand_slots("[pills|@medicine] =@medicine", slots) == \
        "[pills|zoloft|xanax|sleeping_pills] =zoloft|xanax|sleeping_pills"
    with pytest.raises(PhraseListError, match="unknown slot"):
        expand_slots("took @poison", slots)
    data = {"xx": {"negators": [], "bridges": [], "hedges": [], "routine": ["cancel"], "crisis": {
        "medical_emergency": ["took all my @medicine"]}, "unsure": {"phrases": []}, "everyday": {"phrases": []},
        "slots": {"medicine": ["lexapro", "sleeping_pills"]}, "unsure_alone": {"phrases": ["gone next week $"]}}}
    own = load_phrase_list(data, "xx")
    assert assess("I took all my lexapro", "xx", phrases=own).categories == (CrisisCategory.MEDICAL_EMERGENCY,)
    assert assess("I took all my sleeping pills", "xx", phrases=own).is_crisis
    assert assess("I took all my vitamins", "xx", phrases=own).level is CrisisLevel.NONE
    # a phrase that is a sign only when said alone: offered alone, nothing beside a request
    assert assess("gone next week", "xx", phrases=own).level is CrisisLevel.UNSURE
    assert assess("gone next week, please cancel", "xx", phrases=own).level is CrisisLevel.NONE
    for bad in ({"medicine": "zoloft"}, {"medicine": []}, {"medicine": ["Zoloft!"]}):
        with pytest.raises(PhraseListError, match="slots"):
            load_phrase_list({"xx": {**data["xx"], "slots": bad}}, "xx")


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("kill* myself", " i will kill myself ", "kill myself "),
        ("kill* myself", " killing myself ", "killing myself "),
        ("end* my [own] life", " ending my own life ", "ending my own life "),
        ("end* my [own] life", " end my life ", "end my life "),
        ("took ... pills", " took all of my pills ", "took all of my pills "),
        ("cant go on $", " i cant go on ", "cant go on "),
        ("cant go on $", " i cant go on tuesday ", None),
        ("a_bunch_of|too_many pills", " too many pills ", "too many pills "),
        ("suicid*", " suicidal ", "suicidal "),
        ("kill* myself", " skill myself ", None),  # whole words only
        # fix14-bt4: "~" is any one word
        ("took all my ~_pills", " took all my buspirone pills ", "took all my buspirone pills "),
        ("took all my ~_~_pills", " took all my grandmas heart pills ", "took all my grandmas heart pills "),
        ("took all my ~_pills", " took all my pills ", None),  # "~" is one word, never none
        ("took all my ~ $", " took all my flurbizine ", "took all my flurbizine "),
    ],
)
def test_pattern_syntax(pattern: str, text: str, found: str | None) -> None:
    match = compile_pattern(pattern).search(marked_text(text.split()))
    assert (plain(match.group(0)) if match else None) == found


def test_hesitations_are_dropped_before_reading_and_are_data() -> None:
    """bt14-crisis-s27 B1/S4: ``[<lang>] hesitations`` ("um", "uh") are dropped, punctuation after them too, before
    anything is read; a list without them reads them as words; a list that is not a list of words is refused."""
    data = {"xx": {"negators": ["not"], "bridges": [], "hedges": [], "routine": ["cancel"], "crisis": {
        "suicide_self_harm": ["want to die"]}, "unsure": {"phrases": []}, "everyday": {"phrases": []},
        "hesitations": ["um", "uh"]}}
    own = load_phrase_list(data, "xx")
    assert assess("I want to, uh, die", "xx", phrases=own).categories == (CrisisCategory.SUICIDE_SELF_HARM,)
    assert assess("I do not um want to die", "xx", phrases=own).denied
    assert assess("umbrella, I want to cancel", "xx", phrases=own).level is CrisisLevel.NONE  # whole words only
    without = load_phrase_list({"xx": {k: v for k, v in data["xx"].items() if k != "hesitations"}}, "xx")
    assert assess("I want to uh die", "xx", phrases=without).level is CrisisLevel.NONE
    for bad in ("um", ["um", ""], [1]):
        with pytest.raises(PhraseListError, match="hesitations"):
            load_phrase_list({"xx": {**data["xx"], "hesitations": bad}}, "xx")


@pytest.mark.parametrize("bad", ["", "kill-myself", "hurt (him)", "a||b"])
def test_bad_patterns_are_refused(bad: str) -> None:
    with pytest.raises(PhraseListError):
        compile_pattern(bad)


# fix13: fillers between the words of a phrase, as a small grammar (adverbs, quantities or a number with
# "of", a determiner, adjectives), so "took all my pills" hears "took all of my sleeping pills".
FILLERS = filler_gap({
    "adverbs": ["way", "like"], "quantities": ["all", "too", "many", "a", "whole", "bottle"],
    "numbers": ["two"], "many": ["thirty"], "determiners": ["my", "the", "a"], "adjectives": ["sleeping"],
})


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("took all my pills", " took all of my sleeping pills ", "took all of my sleeping pills "),
        ("took too_many pills", " took way too many of my pills ", "took way too many of my pills "),
        ("swallowed bottle of tylenol", " swallowed a whole bottle of tylenol ",
         "swallowed a whole bottle of tylenol "),
        ("took # pills", " took thirty pills ", "took thirty pills "),
        ("took # pills", " took like thirty of my pills ", "took like thirty of my pills "),
        ("took # pills", " took 25 pills ", "took 25 pills "),
        ("took # pills", " took two pills ", None),  # a count under five is no overdose
        ("took # pills", " took 2 pills ", None),
        ("took =pills $", " took my pills ", None),  # "=": no fillers before "pills"
        ("took =pills $", " took pills ", "took pills "),
        ("end my life", " end of my life ", None),  # "of" alone is no filler
        ("took my pills", " took not my pills ", None),  # a negation is never a filler
    ],
)
def test_fillers_between_the_words_of_a_phrase(pattern: str, text: str, found: str | None) -> None:
    match = compile_pattern(pattern, fillers=FILLERS).search(marked_text(text.split(), FILLERS))
    assert (plain(match.group(0)) if match else None) == found


def test_the_wildcard_leaves_out_the_listed_words() -> None:
    """fix14-bt4: "~" is any word except the list's ``wildcard_not`` ("vitamin pills" are no overdose)."""
    regex = compile_pattern("took all my ~_pills", any_word=wildcard_any(["vitamin", "not"]))
    assert regex.search(marked_text("took all my heart pills".split()))
    assert not regex.search(marked_text("took all my vitamin pills".split()))
    assert not regex.search(marked_text("took all my not pills".split()))
    data = {"xx": {"negators": ["wont"], "bridges": [], "hedges": [], "routine": ["cancel"], "crisis": {
        "medical_emergency": ["took all my ~_pills"], "in_danger": ["stop hitting me"]}, "unsure": {"phrases": []},
        "everyday": {"phrases": []}, "wildcard_not": ["vitamin"], "continuers": ["stop"]}}
    own = load_phrase_list(data, "xx")
    assert assess("I took all my buspirone pills", "xx", phrases=own).is_crisis
    assert assess("I took all my vitamin pills", "xx", phrases=own).level is CrisisLevel.NONE
    # a negated "stop" says the act goes on: never a denial
    assert assess("she won't stop hitting me", "xx", phrases=own).categories == (DANGER,)
    with pytest.raises(PhraseListError, match="wildcard_not"):
        load_phrase_list({"xx": {**data["xx"], "wildcard_not": ["Two words!"]}}, "xx")


def test_a_long_list_of_choices_reads_as_the_same_alternation() -> None:
    """fix14-bt4: eight or more plain choices (a slot) are matched as a prefix tree: the same matches as "a|b|c"."""
    words = "oxy|oxycodone|oxycontin|sleeping_pills|sleeping|norco|norcos|xanax|~_pills|klon*"
    regex = compile_pattern(f"took {words} $")
    for said, found in [("took oxy", "took oxy "), ("took oxycodone", "took oxycodone "),
                        ("took sleeping pills", "took sleeping pills "), ("took sleeping", "took sleeping "),
                        ("took norcos", "took norcos "), ("took heart pills", "took heart pills "),
                        ("took klonopin", "took klonopin "), ("took oxyc", None), ("took sleeping bag", None),
                        ("took norc", None)]:
        match = regex.search(marked_text(said.split()))
        assert (plain(match.group(0)) if match else None) == found, said


def test_a_negated_stop_is_not_a_denial() -> None:
    """fix14-bt4 (bt14-s26 SHOULD-FIX 4): "won't stop", "can't stop", "doesn't stop" say the act goes on."""
    for said in ("she won't stop hitting me", "he doesn't stop hurting me", "he can't stop hitting me",
                 "he never stops following me"):
        result = assess(said)
        assert (result.level, result.categories, result.denied) == (CrisisLevel.CRISIS, (DANGER,), False), said
    # a plain denial still is one
    assert assess("he's not hitting me, I need my link").level is CrisisLevel.NONE


def test_bad_fillers_are_refused() -> None:
    with pytest.raises(PhraseListError):
        filler_gap({"verbs": ["took"]})
    with pytest.raises(PhraseListError):
        filler_gap({"adverbs": ["two words"]})
    assert filler_gap({}) is None


def test_the_same_words_read_by_two_phrases_count_once() -> None:
    # "took a bunch of pills" is a phrase, and "took <a quantity> pills" reads the same words
    assert assess("I took a bunch of pills").matched == ("took a bunch of pills",)


def test_a_pause_is_read_on_across_and_ends_what_was_said() -> None:
    """fix14-left gap 1: a pause (``pauses``: the units a comma or full stop follows) is one more mark on the unit
    before it, so a phrase matches across it, and "$" matches there as at the end of the text."""
    regex = compile_pattern("help fire $")
    assert regex.search(marked_text(["help", "fire"], pauses=frozenset({0})))
    assert regex.search(marked_text(["help", "fire", "please", "come"], pauses=frozenset({1})))
    assert not regex.search(marked_text(["help", "fire", "please", "come"]))


def test_the_whole_result_of_a_crisis_said_across_a_comma() -> None:
    assert assess("help, fire!") == CrisisAssessment(CrisisLevel.CRISIS, (DANGER,), False, ("help fire $",))
    assert assess("I'm not, not suicidal, I need my link") == CrisisAssessment(
        CrisisLevel.NONE, (), True, ("suicid*",))


def test_every_person_in_the_people_slot_comes_with_its_plural() -> None:
    """fix14-crisis (bt14-s27 BLOCKER 1): harm to others never hangs on the number of a noun ("kill my coworker" and
    "kill my coworkers"): each singular of ``[en.slots] people`` has its plural beside it."""
    data = tomllib.loads(resources.files("ivr.core").joinpath("crisis_phrases.toml").read_text())
    people = set(data["en"]["slots"]["people"])
    irregular = {"man": "men", "woman": "women", "child": "children", "person": "people", "wife": "wives",
                 "staff": "staff"}

    def plural(word: str) -> str:
        if "_in_" in word:  # mother_in_law -> mothers_in_law
            head, tail = word.split("_in_", 1)
            return f"{plural(head)}_in_{tail}"
        last = word.rsplit("_", 1)[-1]
        stem = word[: len(word) - len(last)]
        if last in irregular or last.endswith(("child", "wife", "man")):
            ending = next(e for e in ("child", "wife", "man") if last.endswith(e)) if last not in irregular else last
            many = irregular.get(ending, ending)
            return stem + last[: len(last) - len(ending)] + many
        if last.endswith(("s", "sh", "ch", "x")):
            return word + "es"
        if last.endswith("y") and last[-2] not in "aeiou":
            return word[:-1] + "ies"
        return word + "s"

    plurals = {plural(w) for w in people}
    # the rest are plurals said without a singular ("folks", "mother_in_laws", "parents_in_law")
    singulars = [w for w in people
                 if w not in plurals and "s_in_" not in w and (not w.endswith("s") or w.endswith("ss"))]
    assert len(singulars) >= 100
    assert [w for w in singulars if plural(w) not in people] == []


@pytest.mark.parametrize(("said", "denied"), [
    ("I'm not going to kill myself", True),
    ("I'm not NOT going to kill myself", False),  # a negator negated: the phrase is said
    ("I can't not think about killing myself", False),
    ("I don't want to hurt myself, but I can't stop", False),  # the denial taken back after "but"
    ("I don't want to hurt myself, but I can't stop crying", True),  # no reversal: the clause goes on
])
def test_a_denial_that_does_not_deny(said: str, denied: bool) -> None:
    """bt14-s27 SHOULD-FIX 8: double negatives and reversals ([en] double_negators, reversals) leave the phrase said."""
    result = assess(said)
    assert (result.level is CrisisLevel.CRISIS, result.denied) == (not denied, denied)
