"""Voicemail triage on transcripts (issue 13): crisis first, with the core crisis grader, then a category.

The English phrase list is tested here on text: phrases, paraphrases and negatives. The Korean model path (audio
to transcript to triage) is tested end to end in tests/speech/test_voicemail_transcription.py.
"""
from __future__ import annotations

import pytest

from ivr.core.crisis import CrisisCategory, CrisisLevel
from ivr.core.voicemail_triage import VoicemailCategory, category, triage

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
