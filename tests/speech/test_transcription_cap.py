"""fix13-left5: a transcription that keeps raising is stopped, marked, and staff have the message; nothing loops.

A speech worker without a usable model leaves a voicemail ``no_model``; a speech worker whose model loaded (the
packaged Korean model) puts it on ``speech-model`` on each maintenance pass. Its sealed copy is corrupt in a way
the decoder fails on every time (a WAV header claiming 4294967295 samples a second: the resampler raises
OverflowError). Each transcription started with the model is counted in the row; after
``TRANSCRIBE_ATTEMPTS_MAX`` (the job's try and its two RQ retries, moved by RQ's scheduler on the test clock) the
message is ``failed`` with the reason, its call's escalation goes up to high priority due within the unsure limit
(nothing checked it for a crisis), and no later pass (maintenance, reconciliation) queues it again.
"""
from __future__ import annotations

import struct

import pytest
from rq import Queue
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from ivr.core.escalation_policy import unsure_deadline
from ivr.escalations import recordings
from ivr.escalations.models import Escalation, Recording
from ivr.escalations.recording_files import RecordingFiles
from ivr.jobs.enqueue import SPEECH_MODEL_QUEUE, SPEECH_QUEUE
from tests.helpers.dashboard import post
from tests.helpers.escalations import front_desk, reconcile_now, texts
from tests.helpers.service import RECORDINGS_KEY
from tests.helpers.speech import korean_model_path, leave_voicemail, spoken_korean
from workers import recordings as recording_jobs
from workers.run import QuietlineWorker
from workers.runtime import using


@pytest.fixture
def korean_practice(flows_dir, monkeypatch):
    """The shipped flows with the practice speaking Korean, and the packaged Korean model for voicemails."""
    practice = flows_dir / "practice.yaml"
    practice.write_text(practice.read_text().replace("\nlanguage: en-US\n", "\nlanguage: ko-KR\n", 1))
    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_path()))


def corrupt_wav(audio: bytes) -> bytes:
    """``audio`` (a RIFF/WAVE file, 44-byte header) with its sample rate overwritten by 0xFFFFFFFF: still a WAV with
    a data chunk, which the recogniser fails to resample every time."""
    assert audio[:4] == b"RIFF" and audio[12:16] == b"fmt "
    return audio[:24] + struct.pack("<I", 0xFFFFFFFF) + audio[28:]


def the_row(database, recording_sid: str) -> Recording:
    with database.sessions() as db:
        found = db.get(Recording, recording_sid)
        assert found is not None
        return found


def test_a_transcription_that_raises_every_time_stops_after_its_attempts_and_staff_have_it(
        korean_practice, sim, standin, run_jobs, jobs, redis_conn, app, database, staff, tmp_path,
        monkeypatch):
    fake_model = tmp_path / "fake-model"
    (fake_model / "am").mkdir(parents=True)
    (fake_model / "am" / "final.mdl").write_bytes(b"not a model")
    monkeypatch.setenv("VOSK_MODEL_PATH", str(fake_model))
    call_sid, recording_sid = leave_voicemail(sim, standin, redis_conn, spoken_korean(tmp_path, "안녕하세요"))
    run_jobs()  # copied, escalated, staff told; the speech worker without a model leaves it no_model
    assert the_row(database, recording_sid).transcript_status == "no_model"
    with database.sessions() as db:
        [escalation] = db.query(Escalation).filter_by(call_sid=call_sid).all()
    assert (escalation.reason, escalation.priority, escalation.recording_sid) == ("callback_request", 2, recording_sid)
    told = [body for _, body in texts(standin) if f"#{escalation.id}," in body]
    assert told  # staff have the message from the start

    services = app.extensions["quietline"]
    files = RecordingFiles.from_settings(services.settings.recordings_dir, RECORDINGS_KEY)
    files.write_audio(call_sid, recording_sid, corrupt_wav(files.read_audio(call_sid, recording_sid)))
    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_path()))
    queues = [Queue(n, connection=redis_conn, serializer=JSONSerializer) for n in (SPEECH_QUEUE, SPEECH_MODEL_QUEUE)]
    speech_model = queues[1]

    def model_worker() -> None:
        """A speech worker with the model, as workers.run starts it: its maintenance pass, then every job (burst)."""
        with using(services):
            worker = QuietlineWorker.from_settings(queues, services.settings, connection=redis_conn,
                                                   serializer=JSONSerializer)
            worker.work(burst=True, with_scheduler=False)

    def scheduler_moves_retries() -> None:
        scheduler = RQScheduler([SPEECH_MODEL_QUEUE], connection=redis_conn, serializer=JSONSerializer)
        scheduler.acquire_locks()
        scheduler.enqueue_scheduled_jobs()
        scheduler.release_locks()

    model_worker()  # its maintenance pass queues the message; the transcription raises: try 1 of 3
    found = the_row(database, recording_sid)
    assert (found.transcript_status, found.transcribe_attempts, found.transcript_error) == ("no_model", 1, None)
    job_id = f"transcribe-{recording_sid}"
    assert speech_model.scheduled_job_registry.get_job_ids() == [job_id]  # RQ's retry, 30 s on
    for wait in (30, 120):  # RQ's retries, when the scheduler moves them (the test clock)
        jobs.clock.advance(seconds=wait)
        scheduler_moves_retries()
        model_worker()
    gave_up_at = jobs.clock.now

    found = the_row(database, recording_sid)
    assert (found.transcript_status, found.transcribe_attempts) == ("failed", recordings.TRANSCRIBE_ATTEMPTS_MAX)
    assert found.transcript_error == "OverflowError, 3 tries"
    assert files.read_transcript(call_sid, recording_sid) is None
    assert services.jobs.status(job_id) == "finished"  # stopped, not failed: the row says why
    assert speech_model.job_ids == [] and speech_model.scheduled_job_registry.get_job_ids() == []

    # Staff have it: the call's escalation, its message attached, raised as nothing checked it for a crisis.
    with database.sessions() as db:
        [escalation] = db.query(Escalation).filter_by(call_sid=call_sid).all()
    practice = services.flows.current().practice
    assert (escalation.priority, escalation.recording_sid) == (1, recording_sid)
    assert escalation.deadline_at == unsure_deadline(practice, gave_up_at)
    desk = front_desk(app, staff)
    page = desk.get(f"/staff/e/{escalation.id}").get_data(as_text=True)
    assert ("The message has no transcript, so it was not checked for a crisis: listen to it before anything "
            "else.") in page
    opened = post(desk, f"/staff/e/{escalation.id}/voicemail", token_from=f"/staff/e/{escalation.id}")
    assert ("No transcript: speech recognition failed on this recording and was stopped (OverflowError, 3 tries)."
            in opened.get_data(as_text=True))

    # A second pass queues nothing, and a worker taking jobs finds none; neither does the reconciliation job.
    with using(services):
        assert recording_jobs.retry_left_without_model() == 0
        assert recording_jobs.transcribe_awaiting_model() == 0
    model_worker()
    assert speech_model.job_ids == [] and the_row(database, recording_sid).transcribe_attempts == 3
    counts = reconcile_now(app, jobs)
    assert not any("transcri" in what for what in counts)
    assert speech_model.job_ids == [] and Queue(SPEECH_QUEUE, connection=redis_conn).job_ids == []


def test_a_transcription_cut_short_every_time_is_stopped_when_it_would_start_again(
        korean_practice, sim, standin, run_jobs, redis_conn, app, database, tmp_path):
    """A model that takes the worker down with the job (a vosk crash) never reaches the job's error handling: the
    count is kept before decoding, so once TRANSCRIBE_ATTEMPTS_MAX were started the next start stops it instead
    (``failed``, why), and the message still reaches staff."""
    call_sid, recording_sid = leave_voicemail(sim, standin, redis_conn, spoken_korean(tmp_path, "안녕하세요"))
    run_jobs()
    found = the_row(database, recording_sid)
    assert (found.transcript_status, found.transcribe_attempts) == ("done", 0)  # finished: the count starts again
    services = app.extensions["quietline"]
    files = RecordingFiles.from_settings(services.settings.recordings_dir, RECORDINGS_KEY)
    files.delete_transcript(call_sid, recording_sid)
    with database.sessions() as db, db.begin():  # three starts that never finished, as three crashes leave it
        row = db.get(Recording, recording_sid)
        row.transcript_status, row.transcribe_attempts = None, recordings.TRANSCRIBE_ATTEMPTS_MAX
    with using(services):
        assert recording_jobs.transcribe_recording(call_sid, recording_sid) == "failed"
    found = the_row(database, recording_sid)
    assert (found.transcript_status, found.transcript_error) == ("failed", "stopped after 3 tries that did not finish")
    assert found.transcribe_attempts == 3
    with database.sessions() as db:
        [escalation] = db.query(Escalation).filter_by(call_sid=call_sid).all()
    assert escalation.recording_sid == recording_sid
