"""A voicemail left on a real call is fetched from Twilio by a worker, kept sealed and transcribed offline with vosk.

The real vosk path with the packaged Korean model and espeak-ng audio (docs/speech.md says why Korean);
the worker that transcribes is a real RQ worker, in this process or started as the service starts it.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from ivr.escalations.models import Escalation, Recording
from ivr.escalations.recording_files import RecordingFiles, recording_path, transcript_path
from ivr.jobs.enqueue import Jobs
from tests.helpers.processes import Workers, worker_env
from tests.helpers.service import RECORDINGS_KEY
from tests.helpers.speech import korean_model_path, spoken_korean


@pytest.fixture
def korean_model(monkeypatch):
    model = korean_model_path()
    monkeypatch.setenv("VOSK_MODEL_PATH", str(model))
    return model


def only_recording_sid(redis_conn) -> str:
    fetches = [j for j in Queue("calls", connection=redis_conn, serializer=JSONSerializer).job_ids
               if j.startswith("recording-")]
    assert len(fetches) == 1
    return fetches[0].removeprefix("recording-")


def row(database, recording_sid: str) -> Recording:
    with database.sessions() as db:
        found = db.get(Recording, recording_sid)
        assert found is not None
        return found


def test_voicemail_is_fetched_sealed_and_transcribed(sim, standin, run_jobs, redis_conn, settings_overrides, tmp_path,
                                                     korean_model, database):
    audio = spoken_korean(tmp_path, "라디오", seconds=4)  # 4 s, as Twilio's callback says (the copy is checked)
    result = sim.call(script="0;noanswer;record:4")
    recording_sid = only_recording_sid(redis_conn)
    standin.add_recording(recording_sid, audio)
    run_jobs()
    files = RecordingFiles.from_settings(settings_overrides["recordings_dir"], RECORDINGS_KEY)
    sealed = recording_path(settings_overrides["recordings_dir"], result.call_sid, recording_sid)
    assert sealed.name == f"{result.call_sid}-{recording_sid}.wav.sealed"
    assert files.read_audio(result.call_sid, recording_sid) == audio
    # The file on disk is useless without the key: no WAV header, none of the audio, none of the words.
    on_disk = sealed.read_bytes()
    assert not on_disk.startswith(b"RIFF") and b"WAVE" not in on_disk and audio[44:1044] not in on_disk
    transcript = files.read_transcript(result.call_sid, recording_sid)
    assert transcript is not None
    # The words themselves are checked in test_speech.py; Kaldi's dither can vary one rough espeak word.
    words = transcript.text.split()
    assert any("\uac00" <= ch <= "\ud7a3" for w in words for ch in w), words
    assert [w for w, _ in transcript.words] == words and all(0 <= c <= 1 for _, c in transcript.words)
    stored = transcript_path(sealed).read_bytes()
    assert not any(w.encode() in stored for w in words) and b'"text"' not in stored
    assert {p.stat().st_mode & 0o777 for p in (sealed, transcript_path(sealed))} == {0o600}
    assert sorted(p.name for p in sealed.parent.iterdir()) == sorted([sealed.name, transcript_path(sealed).name])
    found = row(database, recording_sid)
    assert (found.transcript_status, found.crisis, found.triage_category) == ("done", "none", "other")
    assert found.verified_at is not None and found.twilio_deleted_at is not None
    assert standin.deleted_recordings() == [recording_sid] and standin.recordings() == []


def test_without_a_model_the_recording_is_kept_untranscribed_and_still_escalated(sim, standin, run_jobs, redis_conn,
                                                                                 settings_overrides, monkeypatch,
                                                                                 tmp_path, database):
    monkeypatch.setenv("VOSK_MODEL_PATH", str(tmp_path / "no-model-here"))
    audio = spoken_korean(tmp_path, "네")
    result = sim.call(script="0;noanswer;record:4")
    recording_sid = only_recording_sid(redis_conn)
    standin.add_recording(recording_sid, audio)
    run_jobs()
    sealed = recording_path(settings_overrides["recordings_dir"], result.call_sid, recording_sid)
    assert sealed.exists() and not transcript_path(sealed).exists()
    assert row(database, recording_sid).transcript_status == "no_model"
    with database.sessions() as db:
        [escalation] = db.query(Escalation).filter_by(call_sid=result.call_sid).all()
    assert escalation.recording_sid == recording_sid


def test_a_recording_that_is_not_audio_is_kept_sealed_and_twilio_keeps_its_copy(sim, standin, run_jobs, redis_conn,
                                                                                settings_overrides, database,
                                                                                korean_model):
    """A copy that does not decode is still kept (the message is never lost) but never replaces Twilio's."""
    result = sim.call(script="0;noanswer;record:4")
    recording_sid = only_recording_sid(redis_conn)
    standin.add_recording(recording_sid, b"RIFF not really audio")
    run_jobs()
    files = RecordingFiles.from_settings(settings_overrides["recordings_dir"], RECORDINGS_KEY)
    assert files.read_audio(result.call_sid, recording_sid) == b"RIFF not really audio"
    found = row(database, recording_sid)
    assert found.verified_at is None and found.twilio_deleted_at is None
    assert found.twilio_delete_error.startswith("our copy did not check out: ")
    assert standin.deleted_recordings() == [] and [r["sid"] for r in standin.recordings()] == [recording_sid]


# --------------------------------------------------------------------------- the worker process


@pytest.fixture
def worker_pool(aof_redis, standin, database, flows_dir, tmp_path):
    pools: list[Workers] = []

    def start(model: Path, *args: str) -> tuple[Workers, object]:
        env = worker_env(aof_redis.url, str(database.engine.url), standin.url, flows_dir, tmp_path,
                         VOSK_MODEL_PATH=str(model))
        pool = Workers(env, tmp_path)
        pools.append(pool)
        return pool, pool.start(*args)

    yield start
    for pool in pools:
        pool.stop_all()


def test_a_worker_loads_the_model_once_and_every_job_shares_it(worker_pool, aof_redis, standin, tmp_path):
    """Two voicemails, one worker process: the model is loaded at start, before any job, and only then."""
    jobs = Jobs(Redis.from_url(aof_redis.url))
    calls = {}
    for n, word in enumerate(("라디오", "네"), 1):
        call_sid, recording_sid = "CA" + f"{n}" * 32, "RE" + f"{n}" * 32
        (tmp_path / str(n)).mkdir()
        standin.add_recording(recording_sid, spoken_korean(tmp_path / str(n), word), call_sid=call_sid)
        jobs.fetch_recording(call_sid, recording_sid)
        calls[call_sid] = recording_sid
    # As make run lays them out: the copies on the calls worker, the transcriptions on a speech worker of their own.
    pool, proc = worker_pool(korean_model_path(), "--queues", "urgent,calls", "--burst", "--no-scheduler")
    assert proc.wait(120) == 0, pool.logs()
    assert "vosk" not in (tmp_path / "worker-0.log").read_text()  # a calls worker never loads the model
    pool, proc = worker_pool(korean_model_path(), "--queues", "speech", "--burst", "--no-scheduler")
    assert proc.wait(240) == 0, pool.logs()
    log = (tmp_path / "worker-0.log").read_text()
    assert log.count("loaded vosk model") == 1, log
    assert log.count("voicemail transcription ready: vosk model") == 1
    # warmed at start on sentences in the practice's language (the shipped flows: en-US), not on silence
    assert re.search(r"voicemail transcription ready: vosk model .* loaded in \d+\.\d s and warmed up on \d+ s of "
                     r"speech in en-US in \d+\.\d s, once for this worker", log), log
    assert log.count("workers.recordings.transcribe_recording(") >= 2
    assert log.index("voicemail transcription ready") < log.index("workers.recordings.transcribe_recording(")
    files = RecordingFiles.from_settings(tmp_path / "recordings", RECORDINGS_KEY)
    for call_sid, recording_sid in calls.items():
        transcript = files.read_transcript(call_sid, recording_sid)
        assert transcript is not None and transcript.text, log


@pytest.mark.parametrize("broken", ["missing", "garbage"])
def test_a_worker_without_a_usable_model_says_so_at_start_and_messages_still_escalate(broken, worker_pool, aof_redis,
                                                                                      standin, database, tmp_path):
    model = tmp_path / "model"
    if broken == "garbage":
        (model / "am").mkdir(parents=True)
        (model / "conf").mkdir()
        (model / "am" / "final.mdl").write_bytes(b"not a model")
        (model / "conf" / "model.conf").write_text("not a config\n")
    call_sid, recording_sid = "CA" + "7" * 32, "RE" + "7" * 32
    standin.add_recording(recording_sid, spoken_korean(tmp_path, "네"), call_sid=call_sid)
    Jobs(Redis.from_url(aof_redis.url)).fetch_recording(call_sid, recording_sid)
    pool, proc = worker_pool(model, "--queues", "urgent,calls", "--burst", "--no-scheduler")
    assert proc.wait(120) == 0, pool.logs()
    pool, proc = worker_pool(model, "--queues", "speech", "--burst", "--no-scheduler")
    assert proc.wait(120) == 0, pool.logs()
    log = (tmp_path / "worker-0.log").read_text()
    why = f"no vosk model directory at {model}" if broken == "missing" else f"{model} is not a loadable vosk model"
    assert f"voicemail transcription is OFF: {why}" in log, log
    assert "Voicemails still reach staff, without a transcript." in log
    assert log.index("voicemail transcription is OFF") < log.index("workers.recordings.transcribe_recording(")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with database.sessions() as db:
            escalation = db.query(Escalation).filter_by(call_sid=call_sid).one_or_none()
            found = db.get(Recording, recording_sid)
        if escalation is not None:
            break
        time.sleep(0.2)
    assert escalation is not None and (escalation.reason, escalation.recording_sid) == ("voicemail", recording_sid)
    assert found.transcript_status == "no_model" and found.twilio_deleted_at is not None


def test_each_utterance_is_heard_before_the_whole_message_is_decoded(tmp_path):
    """What a crisis check needs to act on a caller's first sentence while the rest is still being decoded."""
    import subprocess

    from ivr.speech.recognizer import load_recognizer

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = tmp_path / "first.wav"
    first.write_bytes(spoken_korean(tmp_path / "a", "라디오"))
    second = tmp_path / "second.wav"
    second.write_bytes(spoken_korean(tmp_path / "b", "네"))
    # A pause between them as a phone line carries it: faint noise (digital zeros never end an utterance).
    # -R: sox's repeatable mode (a fixed seed for the noise and the dither), so every run decodes the same
    # audio; with a fresh seed each run, a rare noise burst kept the utterance open in one CI run.
    pause, both = tmp_path / "pause.wav", tmp_path / "both.wav"
    subprocess.run(["sox", "-R", "-n", "-r", "8000", "-c", "1", "-b", "16", str(pause), "synth", "2.5",
                    "whitenoise", "vol", "0.002"], check=True)
    subprocess.run(["sox", "-R", str(first), str(pause), str(second), str(both)], check=True)
    heard: list[str] = []
    transcript = load_recognizer(korean_model_path()).transcribe_wav(both.read_bytes(), on_segment=heard.append)
    assert heard, "no utterance was closed before the end"
    assert transcript.text.startswith(heard[0]) and len(heard[0]) < len(transcript.text)


def test_a_voicemail_left_without_a_model_is_transcribed_once_a_speech_worker_has_one(worker_pool, aof_redis,
                                                                                       standin, database, tmp_path):
    """``no_model`` is not for ever: a speech worker starting with a model transcribes what waited for one."""
    call_sid, recording_sid = "CA" + "8" * 32, "RE" + "8" * 32
    standin.add_recording(recording_sid, spoken_korean(tmp_path, "라디오"), call_sid=call_sid)
    Jobs(Redis.from_url(aof_redis.url)).fetch_recording(call_sid, recording_sid)
    pool, proc = worker_pool(tmp_path / "no-model-here", "--queues", "urgent,calls", "--burst", "--no-scheduler")
    assert proc.wait(120) == 0, pool.logs()
    pool, proc = worker_pool(tmp_path / "no-model-here", "--queues", "speech", "--burst", "--no-scheduler")
    assert proc.wait(120) == 0, pool.logs()
    assert row(database, recording_sid).transcript_status == "no_model"

    pool, proc = worker_pool(korean_model_path(), "--queues", "speech", "--burst", "--no-scheduler")
    assert proc.wait(240) == 0, pool.logs()
    log = (tmp_path / "worker-0.log").read_text()
    assert ("1 voicemail(s) left untranscribed (no speech model, or a recordings key that did not open them): "
            "transcribing them now") in log, log
    assert row(database, recording_sid).transcript_status == "done"
    transcript = RecordingFiles.from_settings(tmp_path / "recordings", RECORDINGS_KEY).read_transcript(call_sid,
                                                                                                       recording_sid)
    assert transcript is not None and transcript.text, log
