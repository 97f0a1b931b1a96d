"""Speech to warm a speech worker's recognisers on at start, in the practice's language.

vosk's small models decode with a graph composed lazily (``HCLr.fst`` with ``Gr.fst``) and cached in each
recogniser, state by state, as the words a message may contain are explored. Silence explores almost none of it:
after a warm-up on silence a worker's first 10 s message still cost 3.4 s of CPU more than a message after it
(real-time factor 0.54 against 0.20, bench-s23). Ordinary sentences a caller leaves on a voicemail (times, days,
appointments, a callback) expand the part of the graph most messages go through, so it is paid at start.

The sentences are spoken by espeak-ng (``--stdout``: a WAV, nothing on disk) and turned into telephone audio
(8 kHz) like a voicemail. Without espeak-ng, or for a language without sentences here, ``warmup_speech`` returns
None and the worker warms up on silence only, and says so at start.

No caller's words are used: the sentences are fixed text.
"""
from __future__ import annotations

import logging
import shutil
import subprocess

from ivr.exceptions import AudioFormatError
from ivr.speech.recognizer import _decode_wav, _resample

log = logging.getLogger(__name__)

# Typical voicemail sentences per language (the primary subtag of practice.yaml's ``language``). Deliberately
# not the sentences the bench and the tests decode, so that a measured first message is one the warm-up never
# heard.
SENTENCES: dict[str, tuple[str, ...]] = {
    "ko": (
        "내일 상담 시간을 확인하고 싶어서 연락드렸어요 문자 주세요",
        "지난달 청구서에 대해 질문이 있습니다 다시 전화해 주시겠어요",
        "포털에 로그인이 안 돼요 링크를 다시 보내 주세요",
        "선생님과 이야기하고 싶습니다 오늘 저녁에 연락 부탁합니다",
        "다음 주 월요일 오전으로 예약을 옮길 수 있을까요 고맙습니다",
    ),
    "en": (
        "Hi, I'm calling to check the time of my session tomorrow, please text me",
        "I have a question about last month's bill, could you call me back",
        "I can't log in to the portal, please send me the link again",
        "I'd like to talk to my therapist, please call me this evening",
        "Could I move my appointment to Monday morning next week, thank you",
    ),
}
# espeak-ng's voice for a language subtag, where the two differ.
_VOICES = {"en": "en-us"}
# Telephone audio, like a voicemail from Twilio.
TELEPHONE_RATE = 8000
_PAUSE_SECONDS = 0.8


def warmup_speech(language: str) -> tuple[bytes, int] | None:
    """Mono 16-bit PCM at ``TELEPHONE_RATE`` Hz: the warm-up sentences for ``language`` (e.g. "ko-KR"), spoken
    with pauses between them; None when there are no sentences for it or espeak-ng is not installed or fails."""
    primary = (language or "en").split("-")[0].lower()
    sentences = SENTENCES.get(primary)
    espeak = shutil.which("espeak-ng")
    if not sentences or espeak is None:
        return None
    pause = bytes(2 * int(TELEPHONE_RATE * _PAUSE_SECONDS))
    pcm = bytearray(pause)
    for sentence in sentences:
        try:
            done = subprocess.run([espeak, "-v", _VOICES.get(primary, primary), "-s", "150", "--stdout", sentence],
                                  capture_output=True, check=True, timeout=30)
            audio = _decode_wav(done.stdout, "espeak-ng")
        except (OSError, subprocess.SubprocessError, AudioFormatError) as exc:
            log.warning("espeak-ng could not speak the warm-up sentences (%s): warming up on silence only", exc)
            return None
        pcm += _resample(audio.pcm, audio.rate, TELEPHONE_RATE) + pause
    return bytes(pcm), TELEPHONE_RATE
