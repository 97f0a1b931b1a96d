"""A speech worker warms its recognisers at start on ordinary sentences in the practice's language, not silence.

vosk composes the small models' graph lazily in each recogniser as speech explores it; silence explores almost none
of it, so a worker warmed on silence paid for it on its first caller's message (bench-s23: real-time factor 0.54
against 0.20 later). The real vosk path with the packaged Korean model and espeak-ng, as the other speech tests.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from ivr.exceptions import FlowError
from ivr.speech.recognizer import VoskRecognizer, load_recognizer
from ivr.speech.warmup import SENTENCES, TELEPHONE_RATE, warmup_speech
from tests.helpers.speech import korean_model_path


@pytest.fixture(scope="module")
def korean_speech() -> tuple[bytes, int]:
    if not shutil.which("espeak-ng"):
        pytest.fail("espeak-ng is not installed (apt-get install -y espeak-ng)", pytrace=False)
    speech = warmup_speech("ko-KR")
    assert speech is not None
    return speech


def test_the_warm_up_is_the_practice_languages_sentences_as_telephone_audio(korean_speech) -> None:
    pcm, rate = korean_speech
    assert rate == TELEPHONE_RATE == 8000
    seconds = len(pcm) / 2 / rate
    assert seconds > 2 * len(SENTENCES["ko"])  # five sentences, each two seconds or more
    heard = load_recognizer(korean_model_path()).transcribe_bytes(pcm, rate)
    assert len(heard.words) >= 20  # Korean speech the model hears, not silence


def test_without_espeak_or_sentences_for_the_language_there_is_no_warm_up_speech(monkeypatch, tmp_path: Path) -> None:
    assert warmup_speech("fr-FR") is None
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng anywhere
    assert warmup_speech("ko-KR") is None and warmup_speech("en-US") is None


def test_the_warm_up_runs_the_speech_through_every_recogniser(korean_speech) -> None:
    pcm, rate = korean_speech
    said = pcm[: 2 * rate * 3]  # three seconds of it is enough to see where it goes
    recognizer = VoskRecognizer(korean_model_path())  # a model of its own: fresh recognisers
    recognizer.warm_up(2, (said, rate))
    assert recognizer.kept == 2
    # each heard a second of silence; the one the next message takes (the last kept) the speech too, at the
    # model's rate (16 kHz)
    # (8 kHz resampled to 16 kHz: ratecv ends one sample short)
    assert [kept.heard for kept in recognizer._kept] == [16000, 16000 + 3 * 16000 - 1]
    with recognizer._recogniser() as next_one:
        assert next_one.heard == 16000 + 3 * 16000 - 1


def test_the_warm_up_and_triage_language_is_the_practices_else_english(app, flows_dir) -> None:
    """``workers.recordings._language`` (it was defined twice; the second, which won, raised outside a worker and
    gave "en" without flows): the practice's language in a worker; "en-US" in a script and while the flows never
    loaded (a worker of a service built with broken flows), so the warm-up still speaks English."""
    from ivr.flowlang.store import FlowStore
    from workers import recordings
    from workers.runtime import using

    practice = flows_dir / "practice.yaml"
    practice.write_text(practice.read_text().replace("\nlanguage: en-US\n", "\nlanguage: ko-KR\n", 1))
    ql = app.extensions["quietline"]
    assert recordings._language() == "en-US"  # no services installed: a script
    with using(dataclasses.replace(ql, flows=FlowStore(flows_dir, ql.registry.signatures()))) as korean:
        assert not korean.flows.loaded
        assert recordings._language() == "en-US"  # not loaded in this process: not read here
        korean.flows.load()
        assert recordings._language() == "ko-KR"
    practice.write_text("language: [not, a, language\n")  # broken from the start
    broken = FlowStore(flows_dir, ql.registry.signatures())
    with pytest.raises(FlowError):
        broken.load()
    with using(dataclasses.replace(ql, flows=broken)):
        assert recordings._language() == "en-US"
