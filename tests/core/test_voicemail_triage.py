"""Voicemail triage on transcripts (issue 13): crisis first, with the core crisis grader, then a category.

The English phrase list is tested here on text: phrases, paraphrases and negatives. The Korean model path (audio
to transcript to triage) is tested end to end in tests/speech/test_voicemail_transcription.py.
"""
from __future__ import annotations

import pytest

from ivr.core.crisis import CrisisCategory, CrisisLevel
from ivr.core.voicemail_triage import VoicemailCategory, category, triage
from tests.helpers.crisis_rows import FIX13_CRISIS3_CRISIS, FIX13_CRISIS3_NONE, FIX13_CRISIS3_UNSURE

# (transcript as vosk writes it: lower case, no punctuation; the crisis grade; its first category)
CRISIS = [
    ("hi its me i dont want to live anymore", CrisisCategory.SUICIDE_SELF_HARM),
    ("i am going to kill myself tonight", CrisisCategory.SUICIDE_SELF_HARM),
    ("i keep thinking about ending my life", CrisisCategory.SUICIDE_SELF_HARM),
    ("i took a bunch of pills and i feel really strange", None),
    ("i have been cutting myself again please call", CrisisCategory.SUICIDE_SELF_HARM),
    ("i want to hurt him i am going to kill him", CrisisCategory.HARM_TO_OTHERS),
    ("my husband is threatening me and i am scared for my life", None),
    ("this is an emergency please call me right away", None),
    ("i cant breathe and my chest hurts", CrisisCategory.MEDICAL_EMERGENCY),
    ("i dont want to be alive anymore please call me back", CrisisCategory.SUICIDE_SELF_HARM),
]

NOT_CRISIS = [
    ("im not in crisis i just need to reschedule", VoicemailCategory.RESCHEDULE),
    ("i'm not in crisis, I just need to reschedule", VoicemailCategory.RESCHEDULE),
    ("this isnt an emergency i just need my zoom link", VoicemailCategory.LINK_PORTAL),
    ("im not suicidal or anything i just have a billing question", VoicemailCategory.BILLING),
    ("no emergency just calling to cancel thursday", VoicemailCategory.CANCEL),
    ("the traffic is killing me i will be late can we move my session", VoicemailCategory.RESCHEDULE),
    ("please call me back when you get a chance", VoicemailCategory.CALLBACK),
    ("", VoicemailCategory.OTHER),
]


@pytest.mark.parametrize("transcript, first", CRISIS)
def test_a_crisis_in_a_voicemail_is_found(transcript, first):
    result = triage(transcript, "en-US")
    assert result.is_crisis, transcript
    assert result.crisis.level is CrisisLevel.CRISIS
    if first is not None:
        assert result.crisis.categories[0] is first


@pytest.mark.parametrize("transcript, expected", NOT_CRISIS)
def test_negatives_and_ordinary_messages_are_not_a_crisis(transcript, expected):
    result = triage(transcript, "en-US")
    assert not result.is_crisis, transcript
    assert result.category is expected


@pytest.mark.parametrize("transcript, expected", [
    ("hi i need to move my thursday appointment to next week", VoicemailCategory.RESCHEDULE),
    ("can we push my session back an hour", VoicemailCategory.RESCHEDULE),
    ("i want to cancel my appointment tomorrow", VoicemailCategory.CANCEL),
    ("i wont be coming on friday", VoicemailCategory.CANCEL),
    ("i have a question about my bill", VoicemailCategory.BILLING),
    ("my insurance changed and i need to update my card", VoicemailCategory.BILLING),
    ("i cant get into the portal", VoicemailCategory.LINK_PORTAL),
    ("can you send me the video link for today", VoicemailCategory.LINK_PORTAL),
    ("please call me back", VoicemailCategory.CALLBACK),
    ("hi this is sam returning your call", VoicemailCategory.CALLBACK),
    ("i would like to speak to someone", VoicemailCategory.CALLBACK),
    ("hello", VoicemailCategory.OTHER),
])
def test_the_category_of_an_ordinary_message(transcript, expected):
    assert category(transcript) is expected


def test_a_language_without_a_crisis_list_still_gets_a_category_and_no_crisis():
    result = triage("ラジオ", "ja-JP")
    assert (result.category, result.crisis.level) == (VoicemailCategory.OTHER, CrisisLevel.NONE)


def test_the_triage_never_shows_the_words_in_its_repr():
    assert repr(triage("i dont want to live anymore")) == "Triage(other, crisis)"


# --------------------------------------------------------------------------- the triage table (issue 13 leftovers)

R, C, B, L, K, X = (VoicemailCategory.RESCHEDULE, VoicemailCategory.CANCEL, VoicemailCategory.BILLING,
                    VoicemailCategory.LINK_PORTAL, VoicemailCategory.CALLBACK, VoicemailCategory.OTHER)  # X: other
NONE, UNSURE, CRISIS_ = CrisisLevel.NONE, CrisisLevel.UNSURE, CrisisLevel.CRISIS

# (transcript as vosk writes it, the category, the crisis grade). Both ways: each category's own words in the ways
# people leave them, and the same words where they mean something else (a threat is never billing, "make it"
# on time is no cancellation, a denied crisis is none).
TABLE = [
    # cancel: the ways people say they will not come
    ("i wont be able to make it tomorrow", C, NONE),
    ("hi i wont be able to make it to my appointment tomorrow sorry", C, NONE),
    ("i cant make it on thursday", C, NONE),
    ("i cant make it tomorrow something came up", C, NONE),
    ("i am not going to be able to make it today", C, NONE),
    ("i am not able to come in this week", C, NONE),
    ("i wont be able to come tomorrow", C, NONE),
    ("i need to cancel my session on friday", C, NONE),
    ("please cancel my appointment", C, NONE),
    ("i have to cancel tomorrow i am sick", C, NONE),
    ("i wont be coming in on monday", C, NONE),
    ("i will not be there tomorrow", C, NONE),
    ("i have to miss my session this week", C, NONE),
    ("i am calling off my appointment on tuesday", C, NONE),
    # reschedule
    ("can we move my appointment to next week", R, NONE),
    ("i need to reschedule my thursday session", R, NONE),
    ("could we find another time for my appointment", R, NONE),
    ("i cant make it tomorrow can we do friday instead", R, NONE),
    ("i wont make it at three can we do four instead", R, NONE),
    ("is there any way to push my session back an hour", R, NONE),
    ("i would like to change my appointment to a different day", R, NONE),
    ("can i switch my session to the afternoon", R, NONE),
    # "make it" that is no cancellation
    ("i will make it on time tomorrow see you then", X, NONE),
    ("just confirming i can make it on thursday", X, NONE),
    # billing: money words about the bill
    ("i have a question about my bill", B, NONE),
    ("i need to pay my balance", B, NONE),
    ("i would like to pay my bill over the phone", B, NONE),
    ("i was charged twice for last week", B, NONE),
    ("can you send me a receipt for my insurance", B, NONE),
    ("my card expired i need to update it", B, NONE),
    ("how much do i owe", B, NONE),
    ("is there a sliding scale fee", B, NONE),
    ("i need a superbill for my insurance company", B, NONE),
    # "pay" that is a threat, never billing
    ("i am going to make him pay", X, UNSURE),
    ("im gonna make her pay for what she did", X, UNSURE),
    ("they will pay for this i swear", X, UNSURE),
    ("he is going to pay for what he did to me", X, UNSURE),
    ("i want to make them pay", X, UNSURE),
    ("i am going to get back at him", X, UNSURE),
    # link or portal
    ("i cant find the zoom link for today", L, NONE),
    ("can you text me the video link", L, NONE),
    ("i forgot my password for the portal", L, NONE),
    ("the telehealth link isnt working", L, NONE),
    ("i cant log in to the client portal", L, NONE),
    # callback
    ("please call me back", K, NONE),
    ("hi its sam give me a call when you can", K, NONE),
    ("returning your call thanks", K, NONE),
    ("can someone get back to me today", K, NONE),
    ("i would like to talk to someone please", K, NONE),
    # other
    ("hello", X, NONE),
    ("this is a message for doctor lee", X, NONE),
    ("thank you for everything see you next week", X, NONE),
    ("", X, NONE),
    # crisis first, whatever else is said
    ("i dont want to live anymore i cant make it to my appointment", C, CRISIS_),
    ("i am going to kill myself", X, CRISIS_),
    ("i took all my pills please call", K, CRISIS_),
    ("i want to hurt my husband i am going to kill him", X, CRISIS_),
    ("he is going to kill me please help", X, CRISIS_),
    ("i cant take it anymore", X, CRISIS_),
    ("i cant breathe my chest hurts", X, CRISIS_),
    # unsure: near a crisis, not paged
    ("i am really struggling and falling apart please call me back", K, UNSURE),
    ("i feel hopeless and i need to talk to someone today", K, UNSURE),
    ("i cant take this anymore", X, UNSURE),
    # denied: not a crisis, the request counts
    ("i am not in crisis i just need to reschedule", R, NONE),
    ("i would never hurt myself i just cant make it tomorrow", C, NONE),
    ("this isnt an emergency i just need my zoom link", L, NONE),
    ("im not suicidal i just have a question about my bill", B, NONE),
    ("the traffic is killing me i will be late can we move my session", R, NONE),
    # fix13-bt B2: the break tester's transcripts (a hedge is not a denial; means at hand; planning death)
    ("i dont think i can go on", X, CRISIS_),
    ("i dont think i can keep going", X, CRISIS_),
    ("hi its jordan im not doing well i dont think i can keep going", X, CRISIS_),
    ("i dont think i want to be alive", X, CRISIS_),
    ("im thinking of taking all my pills", X, CRISIS_),
    ("i have the pills in front of me", X, CRISIS_),
    ("i dont see a reason to wake up tomorrow", X, CRISIS_),
    ("i have been planning my death", X, CRISIS_),
    ("please call me back i am not okay i have a gun", K, CRISIS_),
    ("i might do something stupid tonight", X, CRISIS_),
    ("i dont think i can make tuesday", C, NONE),  # fix13-left4 (bt13-s24 SF2): a day not made, hedged
    ("i have the pills you prescribed need a refill", X, NONE),
    ("im fine nothing urgent just cancel my session please", C, NONE),
    # fix13-left3 (triage nits): a figure of speech is no crisis and the category comes from the rest, both ways
    ("that last session killed me it was so funny", X, NONE),
    ("that last session killed me it was so funny anyway please call me back", K, NONE),
    ("that last session killed me so funny but i need to cancel next week", C, NONE),
    ("our session yesterday was so helpful see you next week", X, NONE),
    ("id die for a saturday slot", R, NONE),
    ("i would die for a saturday slot if you have one", R, NONE),
    ("im dying for an earlier time any openings on monday", R, NONE),
    ("i want to die i would rather not be here", X, CRISIS_),
    ("im dying please help", X, CRISIS_),
    ("im dying for a way out", X, UNSURE),
    ("i'm fine, nothing urgent, just cancel my session please", C, NONE),
    ("its not urgent just cancel my thursday session", C, NONE),
    ("it is not an emergency but please call me back", K, NONE),
    ("no rush please call me back about my bill", B, NONE),
    ("its urgent please call me back", K, UNSURE),
    ("this is an emergency please call me back", K, CRISIS_),
]


def test_the_table_has_at_least_sixty_rows_both_ways():
    assert len(TABLE) >= 60
    for wanted in VoicemailCategory:
        assert any(cat is wanted for _, cat, _ in TABLE), wanted
    for level in CrisisLevel:
        assert any(grade is level for _, _, grade in TABLE), level


@pytest.mark.parametrize("transcript, expected, grade", TABLE, ids=[t[0][:48] or "empty" for t in TABLE])
def test_the_triage_table(transcript, expected, grade):
    result = triage(transcript, "en-US")
    assert (result.category, result.crisis.level) == (expected, grade), transcript


def test_a_denial_cut_at_a_piece_boundary_is_judged_whole():
    """Issue 13 leftover 7: a long message is decoded in pieces; "... i would never | kill myself ..." judged by its
    second piece alone would page. The early check is given the message from its start (ivr.speech.recognizer
    ``_SoFar``: tested on the real model in tests/speech/test_speech.py), and whole the denial stands."""
    first, second = "hi its me i would never ever", "kill myself i just need to move my session"
    assert triage(second, "en-US").is_crisis  # what a piece alone would have said
    whole = triage(f"{first} {second}", "en-US")
    assert (whole.category, whole.crisis.level) == (VoicemailCategory.RESCHEDULE, CrisisLevel.NONE)


# fix13-crisis3 (break-test s24 BLOCKER 1): the warning signs of tests/core/test_crisis.py, as vosk writes them
# (lower case, no punctuation): the voicemail triage grades with the same list as the live call.
def _as_vosk_writes(said: str) -> str:
    return " ".join("".join(c for c in word if c.isalnum() or c == "'") for word in said.lower().split())


@pytest.mark.parametrize("said, first", FIX13_CRISIS3_CRISIS, ids=[r[0][:48] for r in FIX13_CRISIS3_CRISIS])
def test_warning_signs_in_a_voicemail_are_a_crisis(said, first):
    for transcript in (said, _as_vosk_writes(said)):
        result = triage(transcript, "en-US")
        assert result.crisis.level is CrisisLevel.CRISIS, transcript
        assert result.crisis.categories == (first,)


@pytest.mark.parametrize("said, grade", [(r, CrisisLevel.UNSURE) for r in FIX13_CRISIS3_UNSURE]
                         + [(r, CrisisLevel.NONE) for r in FIX13_CRISIS3_NONE])
def test_near_warning_signs_in_a_voicemail_are_not_a_crisis(said, grade):
    for transcript in (said, _as_vosk_writes(said)):
        assert triage(transcript, "en-US").crisis.level is grade, transcript


# Break test s24, SF2: plain requests about a session that were filed as "other". A day the caller cannot make
# (said plainly or hedged) is a cancellation, as "I can't make it tomorrow" is; a new time asked for is a
# rescheduling; "reschedule" beside a video word is about a (video) session.
PLAIN_REQUESTS = [
    ("I can't make Tuesday", VoicemailCategory.CANCEL),
    ("i cant make tuesday", VoicemailCategory.CANCEL),
    ("I cannot make next week", VoicemailCategory.CANCEL),
    ("I don't think I can make it on Tuesday", VoicemailCategory.CANCEL),
    ("i dont think ill make it tomorrow", VoicemailCategory.CANCEL),
    ("I'm not sure I can come in on Thursday", VoicemailCategory.CANCEL),
    ("I might not make it tomorrow", VoicemailCategory.CANCEL),
    ("I won't be able to come on Friday", VoicemailCategory.CANCEL),
    ("I can't make Tuesday, can we do Thursday instead", VoicemailCategory.RESCHEDULE),
    ("I need a new time for next week", VoicemailCategory.RESCHEDULE),
    ("can we find another date", VoicemailCategory.RESCHEDULE),
    ("could i rebook for later in the month", VoicemailCategory.RESCHEDULE),
    ("can we push it back", VoicemailCategory.RESCHEDULE),
    ("I shot a video for my homework and I'm late, please reschedule", VoicemailCategory.RESCHEDULE),
]

# ... and the other way: the same words where nothing about a session is asked stay what they were.
STAY_AS_THEY_WERE = [
    ("I had a great time", VoicemailCategory.OTHER),
    ("thank you for your time", VoicemailCategory.OTHER),
    ("it's a new day for me, just wanted to say thanks", VoicemailCategory.OTHER),
    ("I can't make sense of the letter you sent", VoicemailCategory.OTHER),
    ("I have a new phone number", VoicemailCategory.OTHER),
    ("I can make it on Tuesday", VoicemailCategory.OTHER),
    ("I made a new friend", VoicemailCategory.OTHER),
    ("sorry for calling at a bad time", VoicemailCategory.OTHER),
    ("I don't think I can afford it", VoicemailCategory.OTHER),
    ("I can't make the payment this month", VoicemailCategory.BILLING),
    ("I don't think I can make the payment", VoicemailCategory.BILLING),
    ("I need a new time for my payment plan", VoicemailCategory.BILLING),
    ("please cancel my card", VoicemailCategory.OTHER),
    ("I need to reschedule my payment", VoicemailCategory.OTHER),
]


@pytest.mark.parametrize("transcript, expected", PLAIN_REQUESTS + STAY_AS_THEY_WERE)
def test_plain_requests_about_a_session_get_its_category_and_nothing_else_does(transcript, expected):
    result = triage(transcript, "en-US")
    assert (result.category, result.is_crisis) == (expected, False), transcript
