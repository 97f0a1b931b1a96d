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

# Break-test bt14-s25b BLOCKER 1: every phrase the report lists, and paraphrases of each family (slots, not strings):
# the passive wish ("I hope/pray I die"), ending it with should/ready, nothing left, leaving soon, preparatory acts,
# overdose of any medicine by name or amount, poisoning, abuse and assault, hiding, an attack under way, being held,
# fear, stroke, choking, asthma, anaphylaxis, hypoglycaemia, fainting, another person's suicide risk.
BT14S25B_CRISIS = [
    *[(said, SUICIDE) for said in (
        # reported
        "I hope I die", "I pray I die", "I wish I'd never woken up", "I should just end it",
        "maybe I should just end it",
        "I'm ready to end it", "there's nothing left for me", "I don't plan on being alive for my next appointment",
        "you won't have to worry about me after tonight", "tonight is my last night",
        "my brother said he wants to end it", "I tied a rope in the garage", "the gun is loaded",
        "I've written my will and letters",
        "my husband has a gun and says he'll use it on himself",  # NIT 6: another's suicide risk [988-HELP]
        # paraphrases
        "I hope I just die in my sleep", "I pray that I die tonight", "I just hope I die soon", "I'm praying I die",
        "I wish I had never woken up this morning", "I wish I never woke up", "I should end it",
        "I should just end it all",
        "maybe I should end things", "I'm ready to end things", "I'm ready to end my life",
        "I think I'm ready to end it",
        "there is nothing left for me", "there's nothing left to live for", "I don't plan on being alive next week",
        "I don't plan on being here much longer",
        "you won't have to worry about me after today", "nobody will have to worry about me after tonight",
        "this is my last night", "tonight is going to be my last night",
        "I won't be alive next week",
        "I won't be here by tomorrow",
        "my sister said she wants to end it", "my son says he wants to die",
        "my friend told me he wants to kill himself",
        "my wife keeps saying she wants to end it all", "my dad said he's going to end his life",
        "my husband has pills and says he'll take them all", "my son has a knife and says he'll use it on himself",
        "I tied a rope to the beam", "I bought rope and a stool", "my gun is loaded",
        "I loaded my gun", "I loaded the gun", "the gun's loaded and on the table",
        "I finished writing my will and my letters", "I've made out my will and said goodbye",
    )],
    *[(said, OTHERS) for said in (
        "I'm going to beat him up", "I'm going to beat her up", "I'll beat him up", "I want to beat him up",
        "I'm going to get my gun and go to his house",  # NIT 6
        "I'm going to get my gun and go over there", "I'm going to get my knife and go find him",
    )],
    *[(said, DANGER) for said in (
        # reported: child abuse, sexual assault, hiding, an attack under way, held or taken, fear
        "my stepdad touches me", "my uncle touches me at night", "my parents beat me", "he forced himself on me",
        "my boyfriend forced me", "I'm hiding from my husband", "I'm locked in the bathroom hiding from him",
        "he's banging on the door", "he's trying to break down the door", "he's drunk and has a knife",
        "my son is threatening us with a knife", "I'm being held hostage", "I'm being held against my will",
        "he's holding me against my will", "I'm being kidnapped", "I can't leave, he won't let me",
        "I fear for my safety", "he took my keys and won't let me go", "he won't let me leave the house",
        "my ex is threatening to kill my kids",  # NIT 6: the caller's children threatened: in danger
        # paraphrases
        "my stepfather touches me", "my coach touches me", "my teacher touched me", "my brother touches me at night",
        "my grandpa keeps touching me", "he touches me when mom is out", "my mom's boyfriend touched me",
        "my parents hit me", "my dad beats me", "my mom beats me every day", "my stepmom hits me",
        "she forced herself on me", "he forced me to have sex", "he made me have sex", "my husband forced me",
        "I'm hiding in the closet", "I'm hiding from him", "hiding from my boyfriend",
        "I'm hiding from my dad right now",
        "he's banging on my door", "someone is banging on the door", "he's kicking the door in",
        "he's trying to kick the door down", "he's breaking down the door", "he's drunk and has a gun",
        "my husband is threatening us with a gun", "my brother is threatening me with a knife",
        "they're holding me hostage", "I'm being held captive", "he's keeping me here against my will",
        "she won't let me leave", "he won't let me go", "they won't let me leave the house", "he won't let me out",
        "he locked me in the room", "I'm locked in and he won't let me out", "I've been kidnapped",
        "I'm afraid for my safety", "I'm scared for my safety", "I fear for my life",
        "my ex threatened to hurt my kids", "he's threatening to kill my children", "he said he'd hurt my son",
        "he's threatening my kids",
    )],
    *[(said, MEDICAL) for said in (
        # reported: overdose with a drug's name or an amount, poisoning, stroke, choking, asthma, anaphylaxis,
        # hypoglycaemia, fainting
        "I took all my antidepressants", "I swallowed all my antidepressants", "I took all my lexapro",
        "I took all my zoloft", "I took a bunch of xanax", "I took twenty of my xanax", "I took 30 tylenol",
        "I took my whole supply of meds", "I took everything in my medicine cabinet",
        "he took fentanyl and is not waking",
        "I think I took too many", "it doesn't matter, I took all my antidepressants an hour ago",
        "I ate rat poison", "I drank antifreeze", "she's foaming at the mouth", "I can't feel my left arm",
        "my speech is slurred", "half my face is numb", "my husband is choking", "he's choking on food",
        "I think I'm having an asthma attack", "I hit my head and I'm confused", "he's turning purple",
        "I'm allergic and I ate peanuts", "my blood sugar is really low and I'm shaking",
        "I feel like I'm going to faint",
        # paraphrases
        "I took all of my prozac", "I swallowed a bunch of klonopin", "I took fifteen ativan",
        "I took 40 of my lorazepam",
        "I took too many oxycodone", "I took a handful of percocet", "she swallowed all her seroquel",
        "I took my whole supply of trazodone", "I swallowed my entire supply of pills", "I took all my wellbutrin",
        "I took a whole bunch of benadryl", "he took all his lithium", "I took too many", "I think I took too much",
        "I took all my pills an hour ago", "I popped ten vicodin", "I took 25 ibuprofen", "I ate all my pills",
        "I took everything in the medicine cabinet", "he took heroin and won't wake up",
        "he overdid it on fentanyl and isn't waking up", "my son drank bleach", "I drank some antifreeze",
        "my kid ate rat poison", "my daughter swallowed drain cleaner", "he drank weed killer", "I drank pesticide",
        "she ate some of the dishwasher pods", "he's foaming at the mouth", "I can't move my right arm",
        "his speech is slurred", "her face is drooping", "my face is numb on one side",
        "I'm choking", "she's choking", "my baby is choking", "he's choking and can't breathe",
        "I'm having an asthma attack", "my son is having an asthma attack and his inhaler isn't working",
        "I can't find my inhaler and I can't breathe", "I hit my head and now I'm confused",
        "she hit her head and is throwing up", "he's turning blue", "his lips are purple", "she's turning gray",
        "I'm allergic to peanuts and I ate some", "I ate shrimp and I'm allergic", "I'm having a bad allergic reaction",
        "my blood sugar is low and I'm shaking", "I'm going to faint", "I'm about to faint",
        "she fainted and won't wake up",
    )],
]
BT14S25B_UNSURE = [
    # SHOULD-FIX 5: a bill for an ambulance, an overdose or a crisis session, or dying said of the hold: offered 9,
    # never routed, the request goes on
    "I have a question about my bill for the ambulance",
    "I'm calling about a bill for my son's overdose treatment last year",
    "I got a bill for my overdose last year", "I'm dying over here, this hold music",
    "I want to talk about my bill for the crisis session",
    "I'm calling about the bill from my overdose in march", "I'm dying here with this wait", "I'm dying over here",
    "I got charged for the crisis session twice", "I was billed for the ambulance twice",
    # BLOCKER 1 near the new families: said alone, offered (a will, rope bought, not being here next week, nothing
    # left, fentanyl taken, a low blood sugar, feeling faint): a crisis with distress or means beside them
    "I won't be here next week", "I won't be here next month", "I won't be around next week", "I have nothing left",
    "I bought rope", "I bought a rope today", "I wrote my will", "I've written my will", "she took fentanyl",
    "my blood sugar is dropping", "I think I'm going to pass out", "today is my last day",
    "I won't be here next week, I'm on vacation",  # no routine word: offered
]
BT14S25B_NONE = [
    # everyday speech near the new phrases
    "I took all my vitamins this morning", "I took my antidepressants this morning", "I took my xanax as prescribed",
    "I took a tylenol for my headache", "I ate all the cookies", "I drank all the coffee",
    "my kid ate all the candy", "I'm ready to end my session early today", "I'm ready to end the call",
    "I should end my session early, can I", "there's nothing left on my balance, right",
    "there's nothing left for me to pay", "tonight is my last night shift", "I won't be here next week so can I cancel",
    "I bought rope for the camping trip",
    "I tied a rope to the boat", "the dishwasher is loaded", "my therapist touches on that every session",
    "she touches on it in every session", "he won't let me leave a message",
    "he won't let me go to the appointment alone",
    "my boss won't let me leave early so can I reschedule", "I'm holding for billing",
    "I hope I die laughing at the party", "I'm not hiding anything from my therapist",
    "I'll beat him at chess", "my parents beat me at cards", "I bought a rope ladder", "my arm fell asleep",
    # SHOULD-FIX 5: dyeing written as dying, breathing a word, a bill the caller is not disputing in crisis words
    "I'm dying my hair tomorrow so can I move my appointment to Friday", "I'm dying my eggs for easter",
    "I'm not breathing a word about it, just need billing", "I'm dying my clothes this weekend, can I reschedule",
    "I got the ambulance bill and I need to talk to billing", "my insurance didn't pay for the ambulance",
    "I won't breathe a word about it", "she's dying her hair blue",
    # leaving soon beside a request: the request explains it (``[en.unsure_alone]``)
    "I won't be here next week, can I cancel my appointment",
    "I won't be around next month so please cancel my sessions",
    "I took my whole prescription to the pharmacy", "I need to take all my pills with food, can I move my appointment",
]

# fix14-nits6 (bt14-s25b nit 6, "my house is on fire" was unspecified): an emergency where the caller is (fire, smoke,
# gas, an intruder, a break-in under way) is danger for staff, said in many ways; "fire", "fired", a break-in that is
# over or a car's stay everyday (NONE), whatever the sentence around them.
FIX14_NITS6_DANGER = [(said, DANGER) for said in (
    "my house is on fire", "there's a fire in my building", "my car is on fire",
    "someone broke in and is in the house",
    "my apartment is on fire", "the kitchen is on fire", "the kitchen caught on fire", "there's a fire in my apartment",
    "there is a fire next door", "my neighbor's house is on fire", "my building is burning",
    "our house is burning down",
    "the house is burning", "there's smoke everywhere", "I smell smoke and the alarm is going off",
    "my apartment is filling with smoke", "help fire", "fire fire", "there's someone in my house",
    "there's someone in my house right now", "there's a stranger in my house", "there's an intruder in my house",
    "someone broke into my house", "someone is breaking into my car", "I smell gas",
    "there's a gas leak in my house", "the carbon monoxide alarm is going off",
    "my house is on fire, I need to reschedule",
)]
FIX14_NITS6_NONE = [
    "I got fired, can I move my appointment", "my manager fired me",
    "I was fired last week and need to change my billing", "they fired me so I need to cancel",
    "I'm fired up about therapy", "the fire alarm went off at work so I missed my session",
    "there was a fire drill at work", "there's a fire alarm going off in my building", "I'm on fire today",
    "my house burned down last year", "we had a fire last year and I need to update my address",
    "I fired my old therapist", "can I fire off a question about billing", "they're firing people at my job",
    "my boss is going to fire me", "my building had a break in last month",
    "someone broke into my car last week, I need to reschedule", "my car got broken into",
    "someone broke into my house last year and I still have nightmares", "I'm burning out at work",
    "my candle is burning", "the fire in my fireplace went out",
    "there's someone in my house who can pay the bill", "I'm not on fire, I need my link",
]

# Break-test bt14-s26 BLOCKER 2 and SHOULD-FIX 4: every phrase the report lists (first in each family) and at least
# three paraphrases of each: suicide in other words, an overdose of a medicine the list does not name ("~": any word
# before pills), an overdose without a drug's name, a child's ingestion, being drugged, another person's risk, harm to
# others, danger, medical; explicit crises that were only offered (a negated "stop" is not a denial).
BT14S26_CRISIS = [
    *[(said, SUICIDE) for said in (
        "I'm going to blow my brains out", "I want to blow my brains out", "I'm about to blow my head off",
        "I'm going to put a bullet through my head",
        "I've got a blade and I'm going to use it", "I have a razor and I'm going to use it tonight",
        "I bought a rope and I'm ready to use it", "I have my pills and I'm going to use them",
        "I'm going to drink until I die", "I'm going to drink myself to death", "I'll keep drinking till I'm dead",
        "I'm drinking until I stop breathing",
        "I want out of this life", "I just want out of this world", "I need out of my life",
        "I'm ready to check out of this life",
        "I don't think I'll be around much longer", "I don't think I'm going to be here much longer",
        "honestly I don't think I'll be alive for much longer", "I don't expect to be around much longer",
        "I'm thinking about walking into the ocean", "I want to walk into the lake",
        "I'm going to swim out into the sea",
        "I've thought about walking into traffic",
        "this is my last phone call", "this will be my last phone call", "this is going to be my last phone call",
        "no point going on", "there's no point going on", "there's no point in going on anymore",
        "there's no point living", "there's no point carrying on",
        "I keep punching walls until my hands bleed", "I punch the wall until my knuckles bleed",
        "I bang my head against the wall until it bleeds", "I slammed my fists into the wall until they bled",
        "I know how I'm going to do it", "I've figured out how I'll do it", "I've decided how I'm going to do it",
        "I know where I'm going to kill myself",
        # SHOULD-FIX 4: explicit crises once only offered
        "I bought a rope and I know where I'll hang it", "I know where I'll hang it",
        "I've picked where I'm going to hang",
        "I got a rope and I figured out where I would hang it",
        "I'm standing on the bridge right now", "I'm standing on the ledge now",
        "I'm sitting on the edge of the cliff tonight",
        "I'm standing at the railing right now",
        "I've made up my mind I'm going to do it tonight", "I decided I'm going to do it tonight",
        "my mind is made up, I'm going to end it tonight", "I've made up my mind I'm ending it today",
        "I hate being alive", "I hate living", "I really hate being alive", "I hate existing",
        # another person's risk [988-HELP]
        "my son thinks about killing himself", "my son is thinking about killing himself",
        "my son has been thinking about killing himself", "my son talks about killing himself",
        "my daughter keeps talking about killing herself", "my husband jokes about killing himself",
        "my friend posted about killing herself", "my brother thought about ending his life",
        "my son has a rope in his room", "there's a noose in my daughter's closet", "my wife has rope under her bed",
        "my son has been hiding razors", "my sister is hoarding her pills",
        "my friend texted me a goodbye message and now she won't answer",
        "my brother sent a goodbye text and now he isn't answering",
        "she posted a goodbye video and now she won't pick up",
        "he left a suicide note and he's not answering his phone",
    )],
    *[(said, OTHERS) for said in (
        "I'm going to beat him to death", "I want to kick him to death", "I could strangle her to death",
        "I'm going to beat my roommate to death",
        "I'm going to run him over", "I'm going to run him over with my car", "I want to run my ex down",
        "I'm going to hit him with my truck",
        "I want to poison my roommate", "I'm thinking about poisoning my roommate", "I'm going to poison my husband",
        "I want to drown her", "I'm going to put rat poison in his food",
    )],
    *[(said, DANGER) for said in (
        "he said he'll kill me if I leave", "he says he will kill me if I ever leave him",
        "she said she would hurt me if I told anyone", "he'll find me if I leave",
        "my husband said he'd kill me if I call the police",
        "my ex broke in and he's upstairs", "my ex broke in", "he broke into the house", "my boyfriend just broke in",
        "he's got me locked in the car", "he has me locked in the basement", "I'm locked in the trunk",
        "they tied me up",
        "he's not hitting me right now but he will when he gets home", "she's not hurting me right now",
        "he isn't hitting me at the moment but he will tonight",
        "she's going to hit me when she gets back", "he's going to hit me",
        "he won't let me call the police", "she won't let me call 911", "he won't let me call for help",
        "I think I was roofied", "I think someone drugged my drink", "somebody spiked my drink",
        "I got drugged at the bar", "someone slipped something in my drink", "I think I was drugged",
        # SHOULD-FIX 4: a negated stop is not a denial
        "she won't stop hitting me", "he won't stop hurting me", "he doesn't stop following me",
        "he never stops hitting me", "my husband can't stop hitting me", "he won't quit threatening me",
    )],
    *[(said, MEDICAL) for said in (
        # an overdose of a medicine the list did not know, or one unknown word before "pills"
        "I took all my hydroxyzine", "I took too many Norco", "I took 30 norco", "I took a handful of my topamax",
        "I took all of my Latuda", "I took all my buspar", "I took a bunch of flexeril",
        "I took all my cyclobenzaprine", "I swallowed all my vistaril", "I took twenty of my trazodone",
        "I took a bunch of my buspirone pills", "I took all my buspar pills", "I took all my grandma's heart pills",
        "I took all my dog's pain pills", "I swallowed all my mom's blood pressure pills",
        "I took a handful of my zorbitrex pills", "I took all my kid's adhd meds",
        "I took too many of my seizure tablets",
        # an overdose without a drug's name
        "I took every pill in the house", "I swallowed every pill in the cabinet", "I took all the pills in my drawer",
        "I took the whole pack", "I swallowed the whole box", "I took an entire blister pack",
        "I took two weeks worth of pills", "I took a month's worth of my meds", "I swallowed three weeks worth of them",
        "I took a ton of pills", "I took a load of pills", "I swallowed a fistful of pills", "I took tons of xanax",
        "I washed down my sleeping pills with whiskey", "I washed them down with vodka",
        "I took my pills and vodka", "I chased a handful of pills with wine",
        "I just downed a bottle of vodka and a bottle of pills", "I drank a bottle of wine and a handful of pills",
        "I had whiskey and a bunch of pills", "I took a bottle of pills and a fifth of vodka",
        "I overdid it on my xanax on purpose", "I overdid it on my meds", "he overdid it on the oxy",
        "I overdid it with my klonopin",
        "I drank a bottle of cough syrup", "I drank a whole bottle of robitussin", "he chugged a bottle of nyquil",
        "I drank two bottles of cough medicine",
        "I swallowed all of them", "I popped them all",
        "my friend ods'd", "I think he od'd", "she od'd on fentanyl", "I think my son od'd last night",
        "my friend did too much coke and his heart is racing", "he took too much meth", "she did way too much molly",
        "I did too much coke",
        # a child's ingestion
        "my daughter ate some of my pills", "my son swallowed some of my sleeping pills",
        "my toddler ate grandma's pills", "my kid chewed a bunch of our meds",
        "my son got into the medicine cabinet", "my daughter got into my pills",
        "my toddler got into the cleaning supplies", "the baby got hold of my meds",
        "my son swallowed a battery", "my toddler swallowed a button battery", "my son swallowed a magnet",
        "my daughter swallowed some magnets", "my baby swallowed a coin", "my son ate a magnet",
        "the baby put a battery in her mouth", "he ate a laundry pod",
        "I drank windex", "I drank a bottle of windex", "my son drank some lysol", "she swallowed drano",
        "my toddler drank hand sanitizer",
        # [ACEP]
        "my chest is crushing and I'm sweating", "my chest feels like it's being crushed",
        "it feels like an elephant on my chest",
        "there's a crushing pain in my chest", "my chest is tight and heavy",
        "I can't catch my breath", "he can't catch his breath", "I'm gasping for air", "I can't get enough air",
        # SHOULD-FIX 4: explicit crises once only offered
        "I'm not hurt but my husband is bleeding everywhere", "he's bleeding everywhere", "she's bleeding out",
        "my son is bleeding so much",
        "I'm diabetic and I'm going to pass out", "I'm diabetic and I think I'm passing out",
        "my blood sugar is low and I'm about to black out", "my husband is diabetic and he's fainting",
    )],
]
BT14S26_UNSURE = [
    # an unknown word after "took all my": offered (it may be a medicine)
    "I took all my flurbizine", "I swallowed all my zentrolex", "I took the rest of my klorvane",
    # all of them taken, weeks' worth said alone
    "I didn't take too many pills, I took all of them", "I took all of them", "I took them all",
    "I took two weeks worth",
    # [DV] coercive control: kept from calling or leaving
    "he won't let me call anyone", "she won't let me see my family", "he doesn't let me talk to my friends",
    "I'm not allowed to leave the house", "I'm not allowed to go outside", "I'm not allowed to see my friends",
    # a goodbye sent, self-harm short of blood
    "my friend sent me a goodbye text", "he left me a farewell message", "I keep punching walls",
    "I scratch my arms until they bleed",
    # SHOULD-FIX 3: everyday sentences with crisis words covered by a longer phrase: at most offered, never routed
    "I'm choking on my coffee sorry, one second", "sorry I'm choking on my water", "I'm choking on my gum, hold on",
    "I'm having a heart attack over this bill, just kidding", "I almost had a heart attack over the price",
    "I'm going to have a heart attack over my taxes",
    "can you send the link, I'm hiding in my car for privacy", "I'm sitting in my car for privacy, can we start",
    "I'm hiding in the bathroom for some quiet",
    "I can't catch my breath from running", "my heart is racing", "my chest feels heavy when I'm anxious",
    "I took all my meds this morning like I'm supposed to", "my grandma took all her heart pills this morning",
]
BT14S26_NONE = [
    # SHOULD-FIX 3: a denial with an adjective inside, beside a request
    "it's not a medical emergency, I just need the link", "it's not a real emergency, I need to reschedule",
    "it's not an actual emergency, I just need my link", "it's not a serious emergency, can you call me back",
    "this is not a life threatening emergency, I need to cancel", "it's not a true emergency, just a billing question",
    # everyday speech near the danger words
    "my boss hits me with deadlines all the time so I need late appointments",
    "my boss hits me with extra work on fridays",
    "school hits me with assignments every week so can I move my session",
    "my manager always hits me with last minute requests",
    "my mom beat me to the phone, she wants to talk to you", "my sister beat me to it, she already called",
    "my husband beats me to the bathroom every morning", "she beat me to the punch",
    "someone broke into my email so please don't email me", "somebody hacked into my account, can you text me",
    "someone broke into my instagram", "my ex broke into my facebook so please call instead",
    "he'll hit me up later about the appointment", "she's going to hit me back with the times",
    "I'm locked into a contract with my phone", "my mom hits me up every day",
    "she will when she gets home, she'll call you",
    "I know when I'm going to do it, on Friday after work",
    "I decided I'm going to do it tomorrow, pay the bill I mean", "I got locked into a lease",
    "my son has a jump rope in his room",
    # near the new phrases
    "I took all my vitamins", "I took all my vitamin pills this morning",
    "I took all my birth control pills for the month",
    "I took all my stuff to the car", "I took all my kids to school", "I took all my vacation days",
    "I took my blood pressure pills this morning", "my son takes his adhd meds with breakfast",
    "I drank a cup of coffee", "my kid ate all the candy in the house", "I took the whole day off",
    "I want to run it over to the office", "I'll run her over to her dad's house after school",
    "I'm going to drink to that", "I'm thinking about swimming in the lake this weekend",
    "I hate living so far from the office", "I know how I'm going to pay the bill",
    "we're locked in on Tuesday", "my son swallowed his pill with water", "I'm not allowed to leave work early",
    "I punched in at work late", "my phone battery died",
]

# Break-test bt13-s26 BLOCKER 1: harm to others with the victim named as his, her, their, our or your (said or left
# in a voicemail), and everyday speech beside those words (a friend's feelings, one's own back).
BT13S26_CRISIS = [(said, OTHERS) for said in (
    "I want to kill their whole family", "I will hurt his family", "I want to kill his girlfriend",
    "I want to kill your receptionist", "I'm going to hurt our neighbour", "my husband wants to kill our kids",
    "my son wants to kill his sister", "my son said he would stab his sister",
    "my son is threatening to hurt his little sister with a knife", "he wants to kill his wife",
    "my wife says she'll drown our baby", "my brother wants to shoot his coworkers", "they want to hurt their kids",
    "I'm going to poison their dad", "she wants to stab her roommate", "I could strangle your therapist",
)]
BT13S26_NONE = [
    "she hurt her back", "he hurt his knee playing basketball", "he hurt his friends feelings",
    "I hurt our friend's feelings, can I talk about it next session", "he hurt his brother's feelings",
    "I'd kill for your receptionist's job", "our kids killed it at the recital", "he choked on his sandwich",
]

# fix14-left gap 1: punctuation Twilio's recogniser writes between words ("help, fire!", "I, I want to die") is its
# guess at a pause: it never hides a crisis, a word said again after it (a stutter) is read once, and a negation still
# reaches no further than its own clause, so a denial beside a request stays a denial.
FIX14_LEFT_CRISIS = [
    *[(said, DANGER) for said in (
        "help, fire!", "help. fire!", "Help! Fire!", "help, fire, please come", "fire, help me", "fire! somebody help",
        "fire. Fire!", "there's a, a fire in my kitchen", "he's hitting me, help, please",
    )],
    *[(said, SUICIDE) for said in (
        "I, I want to die", "I, I, I want to die", "I, I want to, to die", "I want to, die", "I want to kill, myself",
        "I'm going to, to kill myself", "I don't want to, to live anymore", "I'm thinking of, of ending my life",
        "I can't go on, like this",  # each clause alone is "can't go on" at its end: reading on never lowers a grade
    )],
    ("I took, all my pills", MEDICAL),
]
FIX14_LEFT_UNSURE = ["help, help"]
FIX14_LEFT_NONE = [
    "not suicidal, I need my link", "I'm not, I'm not suicidal, I need my link",
    "I'm not, not suicidal, I need my link",
    "No, I'm not in danger. I need my link", "I'm not going to hurt myself, I need my link",
    "no, no, I'm not suicidal, I just need to reschedule", "I'm not suicidal. Help me find my link",
    "I got fired, help me reschedule", "the fire alarm went off, I need to reschedule", "help, I need my link",
]
# Break-test bt14-s27 BLOCKER 1-7, SHOULD-FIX 1 and 8, NIT 6 (fix14-crisis): crises said in words the list missed,
# each a KIND with the reported phrases first and 5+ more of our own: harm to others against anyone (@people, any
# determiner, singular or plural); someone else's self-harm; passive wishes to die; safety in other words
# ([en.paraphrases]); an attack told in the past; a threat to a place (@place); means and method (an overdose
# intended, cutting that will not stop, a means at the body, the edge of a height); psychosis under way; denials that
# do not deny (double negatives, a denial taken back after "but").
UNSPECIFIED = CrisisCategory.UNSPECIFIED
BT14S27_CRISIS = [
    # 1. harm to others, any people noun, singular or plural
    *[(said, OTHERS) for said in (
        "I want to kill my coworkers", "I'm going to shoot my coworkers", "I want to hurt my classmates",
        "I'm going to kill my classmate", "I'm going to shoot my students", "I want to kill my teachers",
        "I want to hurt my neighbors", "I want to kill my bosses", "I want to kill my family",
        "I'm going to hurt my kids",
        "I want to kill people at work", "I'm going to shoot everyone at school",
        "I want to stab my manager", "I'm going to kill my employees", "I'm going to murder my professor",
        "I want to kill my stupid supervisor", "I'm going to shoot those kids at school",
        "I'm going to kill my in-laws",
        "I want to kill my sister's husband", "I'm going to kill all my teammates", "I want to poison my tenants",
        "I'm going to strangle my roommates", "I'm going to shoot my whole team",
        "I want to hurt the students in my class",
        "I'm going to attack my customers", "I want to kill my ex-wife", "I'm going to kill my bandmates",
        "I'm gonna kill those guys at work", "I want to shoot my math teacher",
        "I want to hurt the other kids at daycare",
    )],
    # 2. someone else's self-harm or suicide (an overdose taken stays medical)
    ("my roommate cut her wrists", SUICIDE), ("she cut her wrists", SUICIDE), ("he slit his wrists", SUICIDE),
    ("my son slit his wrists", SUICIDE), ("she's threatening to jump", SUICIDE), ("he took a bunch of pills", MEDICAL),
    ("my friend slashed her wrists", SUICIDE), ("my boyfriend is threatening to overdose", SUICIDE),
    ("my wife says she's going to jump off the bridge", SUICIDE), ("he says he'll jump", SUICIDE),
    ("my sister is about to jump off the roof", SUICIDE), ("my dad threatened to hang himself", SUICIDE),
    ("she jumped off the balcony", SUICIDE), ("my son is cutting his arms open", SUICIDE),
    ("my daughter keeps cutting her legs", SUICIDE), ("my girlfriend slit her wrists", SUICIDE),
    ("he's about to jump off the overpass", SUICIDE),
    # 3. passive wishes to die ("I wish I could disappear" is offered: [en.unsure], bt14-s25 nit 7)
    ("I don't feel like living", SUICIDE), ("it would be easier if I wasn't here", SUICIDE),
    ("everyone would be better off without me", SUICIDE), ("I don't feel like I want to live", SUICIDE),
    ("I don't feel like living anymore", SUICIDE), ("I don't feel like being alive", SUICIDE),
    ("I've lost the will to live", SUICIDE), ("I have no will to live", SUICIDE),
    ("things would be easier if I wasn't around", SUICIDE), ("it'd be better for everyone if I didn't exist", SUICIDE),
    ("my family would be better off if I died", SUICIDE), ("it would be easier to just not be here", SUICIDE),
    # 4. the same meaning in other words: able, unable, promise, trust
    ("I'm not able to keep myself safe", SUICIDE), ("I can't keep myself safe", SUICIDE),
    ("I'm unable to keep myself safe", SUICIDE), ("I don't think I'm able to keep myself safe", SUICIDE),
    ("I'm no longer able to stay safe", SUICIDE), ("I won't be able to keep myself safe tonight", SUICIDE),
    ("I can't promise I'll stay safe", SUICIDE), ("I can't promise I won't hurt myself", SUICIDE),
    ("I can't guarantee my own safety", SUICIDE), ("I don't trust myself tonight", SUICIDE),
    ("I'm not able to go on", SUICIDE), ("I can't stop myself from hurting myself", SUICIDE),
    # 5. violence told in the past or as it happens: by someone else in_danger, by the caller harm to others
    ("he stabbed me", DANGER), ("he stabbed my mom", DANGER), ("I've been shot", DANGER),
    ("someone shot me", DANGER), ("my boyfriend stabbed me", DANGER), ("a man stabbed my brother", DANGER),
    ("they shot my son", DANGER), ("somebody attacked my sister", DANGER), ("my dad shot my mom", DANGER),
    ("he is beating my sister right now", DANGER), ("he cut me with a knife", DANGER), ("I just got stabbed", DANGER),
    ("I stabbed him", OTHERS), ("I just shot my husband", OTHERS), ("I strangled her", OTHERS),
    # 6. a threatened shooting or bombing of a place, any determiner
    *[(said, OTHERS) for said in (
        "my kid is going to shoot up his school", "he's going to shoot up his school", "I'm going to shoot up her work",
        "she wants to shoot up her office", "he's going to shoot up the church", "I want to shoot up my job",
        "I'm going to shoot up school tomorrow", "I'm going to shoot up the whole school",
        "my son wants to shoot up his class", "I'm going to open fire at work", "he wants to go on a shooting spree",
        "I'm going to blow up the mall",
    )],
    # 7. means and method; psychosis under way
    ("I'm going to OD", SUICIDE), ("I'm gonna OD", SUICIDE), ("gonna OD tonight", SUICIDE), ("I might OD", SUICIDE),
    ("I want to overdose", SUICIDE), ("I'm thinking about ODing", SUICIDE), ("I'm going to OD on my xanax", SUICIDE),
    ("I can't stop cutting", SUICIDE), ("I can't stop burning myself", SUICIDE), ("I've been cutting", SUICIDE),
    ("I have the urge to cut", SUICIDE), ("I relapsed on self harm", SUICIDE),
    ("there's a knife and I want to use it", UNSPECIFIED), ("I'm holding a gun and I'm going to use it", UNSPECIFIED),
    ("there's a razor and I want to use it", SUICIDE),
    ("I'm in the bathtub with a razor", SUICIDE), ("I have a razor to my wrist", SUICIDE),
    ("I'm holding a knife to my throat", SUICIDE), ("the rope is around my neck", SUICIDE),
    ("I'm sitting in the car with the engine running", SUICIDE),
    ("I'm at the edge of the cliff", SUICIDE), ("I'm at the edge of the bridge", SUICIDE),
    ("I'm at the edge of the roof", SUICIDE), ("I'm standing on the edge of the building", SUICIDE),
    ("I climbed over the railing", SUICIDE), ("I'm on the wrong side of the railing", SUICIDE),
    ("I'm having a psychotic episode", MEDICAL), ("my son is having a psychotic episode", MEDICAL),
    ("she's in psychosis", MEDICAL), ("I think I'm going psychotic", MEDICAL), ("he's psychotic again", MEDICAL),
    ("the voices are telling me to kill myself", SUICIDE), ("the voices keep telling me to jump", SUICIDE),
    # 8. denials that do not deny: taken back after "but", double negatives
    ("I don't want to hurt myself but I can't stop", SUICIDE),
    ("no I didn't hurt myself yet but I'm about to", SUICIDE),
    ("I can't not think about killing myself", SUICIDE), ("I'm not NOT going to kill myself", SUICIDE),
    ("I'm not going to kill myself, but I might", SUICIDE), ("I don't want to die but I think I will", SUICIDE),
    ("I haven't cut myself yet, but I want to", SUICIDE), ("I never want to hurt myself but I keep doing it", SUICIDE),
    ("I couldn't not hurt myself", SUICIDE), ("I don't want to kill him, but I'm going to", OTHERS),
    # the fixer's own second round, words not used while writing the phrases (one per kind at least)
    ("the world would be better off if I didn't exist", SUICIDE), ("I can no longer keep myself safe", SUICIDE),
    ("I'm unable to stay safe", SUICIDE), ("my ex just stabbed my dad", DANGER), ("some guy shot my friend", DANGER),
    ("my husband is choking my daughter", DANGER), ("he said he'd shoot up his workplace", OTHERS),
    ("I'll shoot up the concert", OTHERS), ("I keep cutting", SUICIDE),
    ("there's a gun and I'm going to use it", UNSPECIFIED), ("my brother is in psychosis", MEDICAL),
    ("I'm not going to hurt myself, but I want to", SUICIDE), ("I won't kill myself, but I might", SUICIDE),
    ("I just want to OD", SUICIDE), ("I'm standing at the edge of the overpass", SUICIDE),
    ("it would be easier for everyone if I wasn't around", SUICIDE), ("I've lost my will to live", SUICIDE),
]
BT14S27_UNSURE = [
    "I wish I could disappear", "OD",  # offered, as the module's rules say
    "I'm seeing things that aren't there", "I'm hearing things", "I had a psychotic episode last year",
    "I think I'm having a manic episode",
    # SHOULD-FIX 1: a crisis word as a subject for a session is offered, never routed (topic lead-in + routine word)
    "I want to discuss self-harm with my therapist next week", "I'd like to talk about self-harm in therapy",
    "I need to talk to my counselor about my suicidal thoughts",
    "can we discuss my suicidal thoughts with my psychiatrist",
    "I'm in the emergency department", "my crisis plan", "I'm using my crisis plan",
]
BT14S27_NONE = [
    # SHOULD-FIX 1: "emergency" as a department, a job, a service; a crisis plan asked about
    "I'm a nurse in the emergency department, I need an evening slot",
    "I'm a nurse in the emergency department, I work nights, can I get an evening slot",
    "my therapist told me to call if I had questions about the crisis plan we made",
    "I have a question about my crisis plan", "about the crisis plan we made",
    "I need to update the crisis plan we made",
    "I work in the emergency room, can I get a late appointment", "I'm an emergency medicine doctor, I need Saturday",
    "my husband is an emergency dispatcher and works nights", "I'm an ER nurse so I need evening sessions",
    "I work in emergency services so mornings are hard",
    # near 1: email, photos, feelings, games
    "I'll shoot my boss an email", "I'm going to shoot my therapist a text about Tuesday",
    "I hurt my coworker's feelings", "I'm shooting my clients' wedding photos on Saturday",
    "I beat my classmates at chess", "she shot me a look", "he shot her a text",
    # near 2 and 7: cutting, jumping, overdoing, the bath
    "she cut her hair", "my son cut his hand on a glass, can we move his session", "she's threatening to quit her job",
    "my daughter wants to jump off the diving board", "I can't stop cutting coupons",
    "I've been cutting back on coffee",
    "I'm going to OD on coffee before the session", "there's a knife in the kitchen",
    "I'm in the bathtub, call me back",
    "I'm at the edge of town, I'll be late", "I'm writing a paper about psychosis for class, can I reschedule",
    # near 3, 4, 5, 6
    "I don't feel like living in this apartment anymore", "I don't feel like going on a trip this weekend",
    "it would be easier if I wasn't here on Tuesday, can I do video", "I'm not able to keep my appointment",
    "I'm unable to make it Tuesday", "I can't promise I'll be on time", "I don't trust myself to drive in the snow",
    "prices shot up at my school cafeteria", "my blood pressure shot up", "he used to shoot up heroin",
    "my husband hurt my feelings", "she cut me off in traffic", "my kid bit me",
    # near 8: a denial beside a request stands; a clause that is not a reversal takes nothing back
    "I would never hurt myself, I just need to reschedule", "I'm not suicidal but I want to reschedule",
    "I can't not laugh at that, anyway I need my link",
]
# bt14-crisis-s27 (in-process round on the merged tree): B1 a hesitation ("um", "uh") inside a phrase hid it, and S4 cut
# a denial off from its phrase; S1 a whole overdose said with how it feels was lowered to unsure by the longer unsure
# "took my pills and"; S3 "is blue" made a health insurer's name a medical emergency.
BT14C_S27_CRISIS = [
    ("i want to uh die", SUICIDE), ("i don't want to uh live anymore", SUICIDE),
    ("I want to, um, kill myself", SUICIDE),
    ("i took um a bunch of pills", MEDICAL), ("i can't um breathe", MEDICAL), ("my husband is uh hitting me", DANGER),
    ("i want to kill uh my boss", OTHERS), ("uhh I'm going to hmm end my life", SUICIDE),
    ("i took all my pills and now i feel dizzy", MEDICAL), ("i took a handful of my pills and i feel sick", MEDICAL),
    ("i took all my pills and i'm scared", MEDICAL), ("he took all his meds and he won't wake up", MEDICAL),
    ("he's turning blue", MEDICAL), ("she is blue", MEDICAL), ("my baby is turning purple", MEDICAL),
    ("he's gone grey", MEDICAL), ("my son is going blue", MEDICAL),
    # B2/B7: someone else's wish to die in the third person, "were" for "was"
    ("my son said he doesn't want to live anymore", SUICIDE), ("she doesn't want to exist anymore", SUICIDE),
    ("my son said he wishes he was dead", SUICIDE), ("she wishes she were dead", SUICIDE),
    ("my daughter doesn't want to be alive", SUICIDE), ("he does not want to live anymore", SUICIDE),
    ("i wish i were never born", SUICIDE), ("i wish i were dead", SUICIDE),
]
BT14C_S27_UNSURE = ["i took my pills and i feel weird", "i took my meds and i feel weird", "I'm in the ER"]
BT14C_S27_NONE = [
    "i'm not um suicidal, i just need my link", "uh, I need my link", "um", "hmm, can I move my Tuesday appointment",
    "my insurance is blue cross, can i book an appointment", "my insurance is blue shield, what's my copay",
    "i'm going gray", "my insurance is Blue Cross Blue Shield", "is blue cross in network",
    "she doesn't want to come to her session", "he doesn't want to reschedule", "he wishes he was taller",
    "i wish i were on vacation",
]
