"""The Korean crisis phrase list (ivr/core/crisis_phrases.toml, [ko]), driven by tables.

Korean negation follows the verb ("죽고 싶지 않아요": I don't want to die), and speech results are
spaced unreliably ("죽고싶어요"), so the list is matched syllable by syllable with negators after the
phrase. The list is not yet reviewed by a Korean-speaking clinician (see the file's header).
"""
from __future__ import annotations

import pytest

from ivr.core.crisis import CrisisCategory, CrisisLevel, assess, languages, phrase_list

SUICIDE = CrisisCategory.SUICIDE_SELF_HARM
OTHERS = CrisisCategory.HARM_TO_OTHERS
DANGER = CrisisCategory.IN_DANGER
MEDICAL = CrisisCategory.MEDICAL_EMERGENCY
UNSPECIFIED = CrisisCategory.UNSPECIFIED

CRISIS_ROWS = [
    ("죽고 싶어요", SUICIDE),  # I want to die
    ("죽고싶다", SUICIDE),  # written without the space
    ("정말 죽고만 싶어요", SUICIDE),
    ("그냥 죽어 버리고 싶어", SUICIDE),
    ("오늘 밤에 죽을 거예요", SUICIDE),  # I'm going to die tonight
    ("차라리 죽는 게 나을 것 같아요", SUICIDE),
    ("살고 싶지 않아요", SUICIDE),  # negation inside the phrase: I don't want to live
    ("살기 싫어요", SUICIDE),
    ("사는 게 싫어요", SUICIDE),
    ("더 이상 살 이유가 없어요", SUICIDE),
    ("아침에 안 깨어났으면 좋겠어요", SUICIDE),  # I wish I wouldn't wake up
    ("자살하고 싶어요", SUICIDE),
    ("자살할 생각을 하고 있어요", SUICIDE),
    ("목숨을 끊고 싶어요", SUICIDE),
    ("스스로 목숨을 끊을 거예요", SUICIDE),
    ("생을 마감하고 싶어요", SUICIDE),
    ("목을 매려고 해요", SUICIDE),
    ("다리에서 뛰어내리고 싶어요", SUICIDE),
    ("번개탄을 사 놨어요", SUICIDE),  # bought charcoal
    ("수면제를 모아 놨어요", SUICIDE),  # collected sleeping pills
    ("유서를 썼어요", SUICIDE),
    ("손목을 긋고 싶어요", SUICIDE),
    ("자해를 했어요", SUICIDE),
    ("저를 해치고 싶어요", SUICIDE),
    ("죽고 싶어요 정말 안 괜찮아요", SUICIDE),  # "안" about something else is no denial
    ("그 사람을 죽여 버리고 싶어요", OTHERS),
    ("남편을 죽이고 싶어요", OTHERS),
    ("누군가를 해칠 것 같아요", OTHERS),
    ("남편이 저를 때려요", DANGER),
    ("지금 맞고 있어요", DANGER),
    ("전 남자친구가 죽이겠다고 했어요", DANGER),
    ("누가 따라오고 있어요", DANGER),
    ("숨을 못 쉬겠어요", MEDICAL),
    ("가슴 통증이 심해요", MEDICAL),
    ("엄마가 쓰러졌어요", MEDICAL),
    ("약을 너무 많이 먹었어요", MEDICAL),
    ("과다 복용했어요", MEDICAL),
    ("119 불러 주세요", MEDICAL),
    ("응급 상황이에요", UNSPECIFIED),
    ("살려 주세요", UNSPECIFIED),
    # English crisis words in a Korean call still count
    ("I want to kill myself", SUICIDE),
    ("suicide", SUICIDE),
    ("예약 말고요 I want to die", SUICIDE),
]

# Denials: the negation after the verb (or "안" right before it). A bare denial is offered the crisis
# option (UNSURE), as in English; beside an ordinary request it goes on to the request (NONE).
DENIAL_ROWS = [
    "죽고 싶지 않아요",  # I don't want to die
    "죽고 싶은 건 아니에요",
    "죽고 싶다는 생각은 안 해요",
    "자살 생각은 없어요",
    "자살하지 않을 거예요",
    "자살할 생각은 전혀 없어요",
    "자해 안 해요",
    "자해한 적 없어요",
    "안 죽을 거예요",
    "저를 해치지 않을 거예요",
    "누군가를 해치고 싶지 않아요",
    "다른 사람을 해칠 생각은 없어요",
    "응급 상황은 아니에요",
    "응급은 아니에요",
    "위기는 아니에요",
    "목숨을 끊을 생각은 없어요",
    "살기 싫은 건 아니에요",
    "유서 같은 건 없어요",
]
DENIAL_BESIDE_A_REQUEST_ROWS = [
    "자살하려는 건 아니고 예약을 변경하고 싶어요",
    "죽고 싶지 않아요 링크가 필요해요",
    "응급 상황은 아니고 결제 문의예요",
    "자해 안 해요 예약 취소하려고요",
]
NONE_ROWS = [
    "배고파 죽겠어요",  # hungry to death
    "더워 죽겠어요",
    "피곤해 죽겠다",
    "웃겨 죽겠어",
    "보고 싶어 죽겠어요",
    "이 집 맛이 죽여줘요",  # slang: it's killer
    "자살 예방 교육 일정 문의드려요",  # suicide prevention training
    "비상 연락처를 바꾸고 싶어요",
    "예약을 취소하고 싶어요",
    "다음 주 화요일로 변경해 주세요",
    "폰이 죽었어요",
    "경제 위기 때문에 결제가 어려워요",
    "",
]
UNSURE_ROWS = [
    "너무 힘들어요",
    "사라지고 싶어요",
    "제가 없으면 다들 편할 거예요",
    "희망이 없어요",
    "더 이상 못 버티겠어요",
    "I can't take this anymore",  # the English list in a Korean call ("take it anymore" is a crisis since fix14-bt)
]


@pytest.mark.parametrize(("said", "category"), CRISIS_ROWS, ids=[r[0] for r in CRISIS_ROWS])
def test_korean_crisis_is_heard(said: str, category: CrisisCategory) -> None:
    result = assess(said, "ko-KR")
    assert result.level is CrisisLevel.CRISIS
    assert result.categories == (category,)


@pytest.mark.parametrize("said", DENIAL_ROWS)
def test_a_korean_denial_is_no_crisis_but_offers_the_option(said: str) -> None:
    result = assess(said, "ko")
    assert (result.level, result.denied) == (CrisisLevel.UNSURE, True)


@pytest.mark.parametrize("said", DENIAL_BESIDE_A_REQUEST_ROWS)
def test_a_korean_denial_beside_a_request_goes_to_the_request(said: str) -> None:
    result = assess(said, "ko")
    assert (result.level, result.denied) == (CrisisLevel.NONE, True)


@pytest.mark.parametrize("said", NONE_ROWS, ids=[r or "(nothing)" for r in NONE_ROWS])
def test_everyday_korean_is_not_a_crisis(said: str) -> None:
    assert assess(said, "ko").level is CrisisLevel.NONE


@pytest.mark.parametrize("said", UNSURE_ROWS)
def test_near_a_crisis_in_korean_offers_the_crisis_option(said: str) -> None:
    result = assess(said, "ko")
    assert result.level is CrisisLevel.UNSURE and result.offer_crisis_option


def test_row_counts() -> None:
    assert len([r for r in CRISIS_ROWS if not r[0].isascii()]) >= 30
    assert len(DENIAL_ROWS) + len(DENIAL_BESIDE_A_REQUEST_ROWS) >= 15
    assert {category for _, category in CRISIS_ROWS} == set(CrisisCategory)


def test_korean_is_a_shipped_language_matched_by_syllable() -> None:
    assert "ko" in languages()
    korean = phrase_list("ko-KR")
    assert korean.syllables and korean.post_reach > 0 and korean.post_negators
    assert assess("죽고싶어요", "ko").matched == assess("죽고 싶어요", "ko").matched == ("죽고 싶",)


def test_the_english_list_alone_does_not_read_korean() -> None:
    """English calls are graded with the English list only; Korean words are no English phrase."""
    assert assess("죽고 싶어요", "en").level is CrisisLevel.NONE
