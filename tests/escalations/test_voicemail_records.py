"""Voicemails kept like a clinical record (issue 13): sealed at rest, keys rotated, gone from Twilio, purged on
schedule, triaged with crisis first.

Calls are placed with the simulator (signed webhooks, following the TwiML); jobs run in real RQ SimpleWorkers
with RQ's scheduler on the test clock; recordings come from and are deleted at the Twilio stand-in; rows and the
audit log are read from the real database. Monday 23 November 2026, 10:00 in New York, unless a test moves it.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from ivr.dev.simulator import tone_wav
from ivr.encryption import FileCipher, generate_key, key_id, parse_keys
from ivr.escalations.audit import AuditEntry
from ivr.escalations.models import Escalation, EscalationStatus, Recording
from ivr.escalations.recording_files import RecordingFiles, StoredTranscript
from ivr.exceptions import ConfigError, RecordingUnreadable
from tests.helpers.dashboard import post
from tests.helpers.escalations import (
    Message,
    escalations,
    front_desk,
    message_cut_short,
    message_recorded,
    message_whose_copy_is,
    of_call,
    reconcile_now,
    texts,
)
from tests.helpers.service import RECORDINGS_KEY
from workers.runtime import using

ON_CALL = "+15550100123"  # the demo on-call clinician (ivr/escalations/demo.py)


def leave_message(client, standin, jobs) -> tuple[str, str]:
    """A caller asks for a person, nobody answers, they leave a 4 s message; every job runs. (call, recording)."""
    message = message_recorded(client, standin)
    jobs.run()
    return message.call_sid, message.recording_sid


def row(database, recording_sid: str) -> Recording:
    with database.sessions() as db:
        found = db.get(Recording, recording_sid)
        assert found is not None
        return found


def files_with(directory, *keys: str) -> RecordingFiles:
    return RecordingFiles.from_settings(directory, ",".join(keys))


# --------------------------------------------------------------------------- encrypted at rest


def test_a_sealed_file_is_not_a_wav_and_opens_only_with_its_key_and_name(tmp_path):
    audio = tone_wav(1)
    words = "please call me back about my appointment"
    files = files_with(tmp_path, RECORDINGS_KEY)
    call, rec = "CA" + "1" * 32, "RE" + "1" * 32
    sealed = files.write_audio(call, rec, audio)
    files.write_transcript(call, rec, StoredTranscript(words, 0.9, tuple((w, 0.9) for w in words.split())))
    for path in (sealed, files.transcript_path(call, rec)):
        data = path.read_bytes()
        assert not data.startswith(b"RIFF") and b"WAVE" not in data and b"fmt " not in data
        assert not any(w.encode() in data for w in words.split() if len(w) > 3)
        assert path.stat().st_mode & 0o777 == 0o600
    assert files.read_audio(call, rec) == audio and files.read_transcript(call, rec).text == words

    # Another key: refused, saying which key it needs (its id, never the key).
    other = files_with(tmp_path, generate_key())
    with pytest.raises(RecordingUnreadable, match=rf"{sealed.name} was encrypted with a key that is not in "
                                                   rf"IVR_RECORDINGS_KEY \(key id [0-9a-f]{{8}}\)"):
        other.read_audio(call, rec)
    # The same key, but the file renamed to another call's: refused too.
    moved = files.audio_path("CA" + "2" * 32, rec)
    moved.write_bytes(sealed.read_bytes())
    with pytest.raises(RecordingUnreadable, match="does not open: it was altered, or renamed"):
        files.read_audio("CA" + "2" * 32, rec)
    flipped = bytearray(sealed.read_bytes())
    flipped[-1] ^= 1
    sealed.write_bytes(bytes(flipped))
    with pytest.raises(RecordingUnreadable, match="does not open"):
        files.read_audio(call, rec)


@pytest.mark.parametrize("setting, message", [
    ("", "IVR_RECORDINGS_KEY is not set: voicemails and their transcripts are encrypted with it"),
    ("not-a-key", "IVR_RECORDINGS_KEY: key 1 of 1 is not 32 bytes in URL-safe base64"),
    (RECORDINGS_KEY + "," + RECORDINGS_KEY, "IVR_RECORDINGS_KEY: key 2 of 2 repeats an earlier key"),
])
def test_a_missing_or_malformed_recordings_key_stops_the_app(setting, message, settings_overrides, redis_conn):
    from ivr.app import create_app

    with pytest.raises(ConfigError, match=message):
        create_app({**settings_overrides, "recordings_key": setting}, redis=redis_conn)


def test_make_run_creates_a_development_recordings_key_in_env_once(tmp_path):
    from ivr.dev.serve import ensure_dev_data_key

    env_file, environ = tmp_path / ".env", {}
    assert ensure_dev_data_key(env_file, environ, name="IVR_RECORDINGS_KEY") is True
    key = environ["IVR_RECORDINGS_KEY"]
    FileCipher.from_setting(key)
    assert f"IVR_RECORDINGS_KEY={key}\n" in env_file.read_text() and env_file.stat().st_mode & 0o777 == 0o600
    assert ensure_dev_data_key(env_file, environ, name="IVR_RECORDINGS_KEY") is False
    assert env_file.read_text().count("IVR_RECORDINGS_KEY") == 1


def app_with_keys(settings_overrides, redis_conn, database, directory, *keys: str):
    """The app as started with IVR_RECORDINGS_DIR and IVR_RECORDINGS_KEY set to these."""
    from ivr.app import create_app

    return create_app({**settings_overrides, "recordings_dir": str(directory), "recordings_key": ",".join(keys)},
                      redis=redis_conn, database=database)


def test_key_rotation_interrupted_and_resumed_loses_nothing(settings_overrides, redis_conn, database, tmp_path):
    """Rotation re-seals file by file: stopped at any point every file still opens; run again, it goes on."""
    old, new = RECORDINGS_KEY, generate_key()
    directory = tmp_path / "rotating"
    before = files_with(directory, old)
    messages = {}
    for n in range(1, 4):
        call, rec = "CA" + f"{n}" * 32, "RE" + f"{n}" * 32
        messages[(call, rec)] = (tone_wav(1)[:-n], f"message number {n}")
        before.write_audio(call, rec, messages[(call, rec)][0])
        before.write_transcript(call, rec, StoredTranscript(messages[(call, rec)][1], 0.8, ()))
    # An older version's plain files, and a temporary file a killed writer left an hour ago.
    legacy = ("CA" + "9" * 32, "RE" + "9" * 32)
    (directory / f"{legacy[0]}-{legacy[1]}.wav").write_bytes(b"RIFF plain legacy audio")
    (directory / f"{legacy[0]}-{legacy[1]}.txt").write_text("legacy words\n")
    stale = directory / f".{legacy[0]}-{legacy[1]}.wav.sealed.x1.part"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))

    rotating = files_with(directory, new, old)

    class Interrupted(Exception):
        pass

    done: list[str] = []

    def crash_after_three(path) -> None:
        done.append(path.name)
        if len(done) == 3:
            raise Interrupted  # as a Ctrl-C or a crash between two files would

    with pytest.raises(Interrupted):
        rotating.rotate(progress=crash_after_three)
    assert not stale.exists()

    def everything_opens(files: RecordingFiles) -> None:
        for (call, rec), (audio, words) in messages.items():
            assert files.read_audio(call, rec) == audio and files.read_transcript(call, rec).text == words
        assert files.read_audio(*legacy) == b"RIFF plain legacy audio"
        assert files.read_transcript(*legacy).text == "legacy words"

    def sealed_with(kid: bytes) -> int:
        return sum(1 for p in directory.glob("*.sealed") if p.read_bytes()[1:5] == kid)

    # Stopped half-way: three files under the new key, three under the old, two still plain; with both keys
    # configured (as the rotation asks) every message opens.
    new_id, old_id = (key_id(k) for k in parse_keys(f"{new},{old}"))
    assert (sealed_with(new_id), sealed_with(old_id), len(list(directory.glob("*.wav"))),
            len(list(directory.glob("*.txt")))) == (3, 3, 1, 1)
    everything_opens(rotating)
    with pytest.raises(RecordingUnreadable):
        everything_opens(files_with(directory, new))

    # Resumed through the console command, a file at a time, then to the end.
    runner = app_with_keys(settings_overrides, redis_conn, database, directory, new, old).test_cli_runner()
    first = runner.invoke(args=["recordings", "rotate-key", "--limit", "1"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("1 file(s) re-encrypted with the first key, 0 plain file(s) encrypted, "
                                   "3 already under the first key, 0 unreadable")
    assert "Stopped after 1 file(s) (--limit): run it again to go on." in first.output
    everything_opens(rotating)
    rest = runner.invoke(args=["recordings", "rotate-key"])
    assert rest.exit_code == 0 and "Stopped after" not in rest.output, rest.output
    again = runner.invoke(args=["recordings", "rotate-key"])
    assert again.output.startswith("0 file(s) re-encrypted with the first key, 0 plain file(s) encrypted, "
                                   "8 already under the first key, 0 unreadable")
    # The old key can go now: everything opens with the new one alone; no plain file is left.
    everything_opens(files_with(directory, new))
    assert sorted(p.suffix for p in directory.iterdir()) == [".sealed"] * 8


def test_rotation_leaves_a_file_no_key_opens_and_says_so(settings_overrides, redis_conn, database, tmp_path):
    directory = tmp_path / "rotating"
    stranger = files_with(directory, generate_key())
    stranger.write_audio("CA" + "1" * 32, "RE" + "1" * 32, b"RIFF")
    app = app_with_keys(settings_overrides, redis_conn, database, directory, generate_key(), RECORDINGS_KEY)
    result = app.test_cli_runner().invoke(args=["recordings", "rotate-key"])
    assert result.exit_code == 1
    assert "0 file(s) re-encrypted with the first key, 0 plain file(s) encrypted, 0 already under the first key, " \
           "1 unreadable" in result.output
    assert stranger.read_audio("CA" + "1" * 32, "RE" + "1" * 32) == b"RIFF"  # untouched


# --------------------------------------------------------------------------- gone from Twilio


def test_a_checked_copy_is_deleted_at_twilio(client, standin, jobs, database, settings_overrides):
    call_sid, recording_sid = leave_message(client, standin, jobs)
    found = row(database, recording_sid)
    assert (found.status, found.duration_seconds) == ("fetched", 4.0)
    assert found.verified_at is not None and found.twilio_deleted_at is not None
    assert standin.deleted_recordings() == [recording_sid] and standin.recordings() == []
    files = files_with(settings_overrides["recordings_dir"], RECORDINGS_KEY)
    assert files.read_audio(call_sid, recording_sid) == tone_wav(4)
    deletes = [r for r in standin.requests() if r["method"] == "DELETE"]
    assert deletes == [{"method": "DELETE", "path": f"/2010-04-01/Accounts/{standin.account_sid}/Recordings/"
                                                   f"{recording_sid}.json", "status": 204}]


def test_a_failed_deletion_is_retried_and_the_dashboard_says_it_is_still_at_twilio(app, client, standin, jobs, database,
                                                                                   staff, redis_conn):
    standin.fail_next(".json", 503, count=2, method="DELETE")
    call_sid, recording_sid = leave_message(client, standin, jobs)
    job_id = f"recording-delete-{recording_sid}"
    assert Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer).get_status() == "scheduled"
    assert row(database, recording_sid).twilio_delete_error == "delete failed: twilio 503 code 20503"
    [esc] = of_call(database, call_sid)
    desk = front_desk(app, staff)
    page = desk.get(f"/staff/e/{esc.id}").get_data(as_text=True)
    assert "Twilio, the phone company, still holds a copy too, because deleting it there has not worked yet" in page
    jobs.at(jobs.clock.now + dt.timedelta(seconds=10))  # RQ's first retry: Twilio fails again
    assert row(database, recording_sid).twilio_deleted_at is None
    jobs.at(jobs.clock.now + dt.timedelta(seconds=30))
    assert row(database, recording_sid).twilio_deleted_at == jobs.clock.now
    assert standin.deleted_recordings() == [recording_sid]
    assert [r["status"] for r in standin.requests() if r["method"] == "DELETE"] == [503, 503, 204]
    assert "still holds a copy" not in desk.get(f"/staff/e/{esc.id}").get_data(as_text=True)


def test_reconciliation_asks_twilio_again_once_every_retry_failed(app, client, standin, jobs, database, redis_conn):
    standin.fail_next(".json", 503, count=6, method="DELETE")
    _, recording_sid = leave_message(client, standin, jobs)
    for seconds in (10, 30, 60, 300, 900):
        jobs.at(jobs.clock.now + dt.timedelta(seconds=seconds))
    job = Job.fetch(f"recording-delete-{recording_sid}", connection=redis_conn, serializer=JSONSerializer)
    assert job.get_status() == "failed" and row(database, recording_sid).twilio_deleted_at is None
    counts = reconcile_now(app, jobs)
    assert counts["deletions at Twilio asked again"] == 1
    jobs.settle()
    assert row(database, recording_sid).twilio_deleted_at is not None
    assert standin.deleted_recordings() == [recording_sid]


def test_a_copy_shorter_than_twilios_recording_is_not_deleted_there(client, standin, jobs, database):
    """Length checked: Twilio says 4 s, our copy decodes to 1 s (cut short): Twilio keeps its copy."""
    message = message_cut_short(client, standin, jobs)
    found = row(database, message.recording_sid)
    assert found.status == "fetched" and found.verified_at is None and found.twilio_deleted_at is None
    assert found.twilio_delete_error == "our copy did not check out: 1.0 s of audio where Twilio says 4.0 s"
    assert standin.deleted_recordings() == [] and [r["sid"] for r in standin.recordings()] == [message.recording_sid]
    [esc] = of_call(database, message.call_sid)
    assert esc.recording_sid == message.recording_sid  # the message still reached staff


def test_a_copy_cut_short_and_graded_none_is_high_priority_and_says_only_part_was_checked(app, client, standin, jobs,
                                                                                          database, staff):
    """bt13-s26 SHOULD-FIX 1: a copy cut short is graded on part of the message only, so "none" is not trusted: the
    escalation goes up as an unchecked message does, and its page says only part of the message was checked."""
    from workers.recordings import triage

    message = message_cut_short(client, standin, jobs)
    [esc] = of_call(database, message.call_sid)
    assert esc.priority == 2
    with using(app.extensions["quietline"]):
        assert triage(message.call_sid, message.recording_sid, "hi I need to move my appointment").crisis.level.value \
            == "none"
    [esc] = of_call(database, message.call_sid)
    assert (esc.priority, esc.deadline_at is not None) == (1, True)
    page = front_desk(app, staff).get(f"/staff/e/{esc.id}").get_data(as_text=True)
    assert ("Only part of the message could be copied, so only that part was checked for a crisis: call the client "
            "back before anything else.") in page


def telephone_wav(declared: float, present: float, *, placeholder: bool = False) -> bytes:
    """An 8 kHz mono 16-bit WAV whose header declares ``declared`` s of audio and which holds ``present`` s (a copy
    cut short when less); ``placeholder``: the data size is a streaming header's 0xFFFFFFFF (no length declared)."""
    import io
    import struct
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x10\x00" * int(declared * 8000))
    data = buffer.getvalue()
    start = data.index(b"data") + 8
    data = data[:start + int(present * 8000) * 2]
    if placeholder:
        data = data[:start - 4] + struct.pack("<I", 0xFFFFFFFF) + data[start:]
    return data


@pytest.mark.parametrize("known, expected_error", [
    # The break-test's case: Twilio said 6 s in the recording callback, its metadata cannot be read (500).
    ("callback", "our copy did not check out: 1.9 s of audio where Twilio says 6.0 s"),
    # No length from Twilio at all (no RecordingDuration, metadata 500): the WAV header's own declared length.
    ("header", "our copy did not check out: 1.9 s of audio where its WAV header says 6.4 s"),
    # Nothing says how long it should be: never deleted at Twilio on trust.
    ("nothing", "our copy did not check out: its length could not be checked (Twilio's could not be read and the "
                "WAV header declares none)"),
])
def test_a_copy_whose_length_nothing_confirms_is_never_deleted_at_twilio(known, expected_error, client, standin, jobs,
                                                                         database):
    """A truncated copy (header 6.4 s, 1.9 s of data) while Twilio's metadata GET fails: Twilio keeps its copy."""
    message = message_recorded(client, standin, script="0;noanswer;record:6", keep_recordings=False)
    assert row(database, message.recording_sid).twilio_duration_seconds == 6.0  # from the callback's RecordingDuration
    if known != "callback":
        with database.sessions() as db, db.begin():  # a callback without RecordingDuration
            db.get(Recording, message.recording_sid).twilio_duration_seconds = None
    wav = telephone_wav(6.4, 1.9) if known != "nothing" else telephone_wav(1.9, 1.9, placeholder=True)
    standin.add_recording(message.recording_sid, wav, call_sid=message.call_sid, duration=6)
    standin.fail_next(f"{message.recording_sid}.json", 500, count=5, method="GET")  # Twilio's metadata: not readable
    jobs.run()
    found = row(database, message.recording_sid)
    assert found.status == "fetched" and found.verified_at is None and found.twilio_deleted_at is None
    assert found.twilio_delete_error == expected_error
    assert standin.deleted_recordings() == [] and [r["sid"] for r in standin.recordings()] == [message.recording_sid]
    [esc] = of_call(database, message.call_sid)
    assert esc.recording_sid == message.recording_sid  # the message still reached staff


def test_a_whole_copy_is_checked_against_the_callbacks_length_when_twilios_metadata_fails(client, standin, jobs,
                                                                                          database):
    message = message_recorded(client, standin, keep_recordings=False)
    standin.add_recording(message.recording_sid, telephone_wav(4.3, 4.3), call_sid=message.call_sid, duration=4)
    standin.fail_next(f"{message.recording_sid}.json", 500, count=5, method="GET")
    jobs.run()
    found = row(database, message.recording_sid)
    assert (found.verified_at, found.duration_seconds) == (jobs.clock.now, 4.3)
    assert found.twilio_deleted_at is not None and standin.deleted_recordings() == [message.recording_sid]


# --------------------------------------------------------------------------- retention


def test_the_purge_keeps_open_escalations_messages_and_audits_each_deletion(app, client, standin, jobs, database,
                                                                           settings_overrides, staff):
    files = files_with(settings_overrides["recordings_dir"], RECORDINGS_KEY)
    kept_open = leave_message(client, standin, jobs)
    resolved = leave_message(client, standin, jobs)
    with database.sessions() as db, db.begin():
        esc = db.scalars(select(Escalation).where(Escalation.call_sid == resolved[0])).one()
        esc.status, esc.resolved_at, esc.outcome = EscalationStatus.RESOLVED.value, jobs.clock.now, "Called back."
    from workers.recordings import purge_recordings

    def purge_at(when: dt.datetime) -> int:
        jobs.clock.now = when
        with using(app.extensions["quietline"]):
            return purge_recordings()

    start = jobs.clock.now
    assert purge_at(start + dt.timedelta(days=89, hours=23)) == 0  # within 90 days: nothing goes
    assert purge_at(start + dt.timedelta(days=90, minutes=1)) == 1
    assert not files.audio_path(*resolved).exists() and not files.transcript_path(*resolved).exists()
    assert files.has_audio(*kept_open)  # its escalation is still open: kept
    assert row(database, resolved[1]).purged_at == start + dt.timedelta(days=90, minutes=1)
    with database.sessions() as db:
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "purge_voicemail")).all()
    assert (entry.user_id, entry.target) == (None, f"recording:{resolved[1]}")
    assert entry.detail == f"call {resolved[0]}: 1 file(s) deleted after 90 days' retention"
    assert purge_at(start + dt.timedelta(days=200)) == 0  # once only

    # The open one is kept until it is resolved, and the retention period after that.
    resolved_late = start + dt.timedelta(days=150)
    with database.sessions() as db, db.begin():
        esc = db.scalars(select(Escalation).where(Escalation.call_sid == kept_open[0])).one()
        esc.status, esc.resolved_at, esc.outcome = EscalationStatus.RESOLVED.value, resolved_late, "Done."
    assert purge_at(resolved_late + dt.timedelta(days=89)) == 0
    assert purge_at(resolved_late + dt.timedelta(days=90, seconds=1)) == 1
    assert not files.has_audio(*kept_open)
    # The dashboard says what happened to the message.
    desk = front_desk(app, staff)
    [esc] = of_call(database, kept_open[0])
    page = desk.get(f"/staff/e/{esc.id}").get_data(as_text=True)
    assert "under the practice's retention period." in page and "Play voicemail" not in page


def test_a_deletion_twilio_refuses_for_good_stops_after_its_attempts_and_staff_are_told(app, client, standin, jobs,
                                                                                         database, staff):
    """fix13-left5: a deletion Twilio refuses every time (a key without the right to delete, say) was asked again by
    every reconciliation pass, for ever. Each request is counted in the row; after DELETE_ATTEMPTS_MAX (four runs of
    the retry schedule) the note says deleting was given up, the dashboard tells staff to have it deleted in
    Twilio's console, and no pass asks again, the purge's neither."""
    from ivr.escalations.recordings import DELETE_ATTEMPTS_MAX, DELETE_GIVEN_UP
    from ivr.escalations.worklist import DELETE_GIVEN_UP_TEXT
    from workers.recordings import purge_recordings

    standin.fail_next(".json", 403, count=1000, method="DELETE")
    call_sid, recording_sid = leave_message(client, standin, jobs)
    for seconds in (10, 30, 60, 300, 900):  # RQ's retries: all refused
        jobs.at(jobs.clock.now + dt.timedelta(seconds=seconds))
    assert row(database, recording_sid).twilio_delete_attempts == 6
    passes = 0
    while not row(database, recording_sid).twilio_delete_error.startswith(DELETE_GIVEN_UP):
        counts = reconcile_now(app, jobs)  # each pass asks once more
        assert counts["deletions at Twilio asked again"] == 1
        jobs.settle()
        passes += 1
        assert passes <= DELETE_ATTEMPTS_MAX
    found = row(database, recording_sid)
    assert (found.twilio_delete_attempts, found.twilio_deleted_at) == (DELETE_ATTEMPTS_MAX, None)
    assert found.twilio_delete_error == f"{DELETE_GIVEN_UP}: twilio 403 code 20403"
    deletes = [r for r in standin.requests() if r["method"] == "DELETE"]
    assert len(deletes) == DELETE_ATTEMPTS_MAX and {r["status"] for r in deletes} == {403}

    assert "deletions at Twilio asked again" not in reconcile_now(app, jobs)  # given up: never again
    jobs.settle()
    [esc] = of_call(database, call_sid)
    page = front_desk(app, staff).get(f"/staff/e/{esc.id}").get_data(as_text=True)
    assert DELETE_GIVEN_UP_TEXT.replace("'", "&#39;") in page

    # Past retention the message is purged here; Twilio is not asked again, and no pass asks after the purge.
    with database.sessions() as db, db.begin():
        resolved = db.get(Escalation, esc.id)
        resolved.status, resolved.resolved_at, resolved.outcome = (EscalationStatus.RESOLVED.value, jobs.clock.now,
                                                                   "Called back.")
    jobs.clock.advance(seconds=91 * 24 * 3600)
    with using(app.extensions["quietline"]):
        assert purge_recordings() == 1
    counts = reconcile_now(app, jobs)
    assert "deletions at Twilio after a purge asked again" not in counts
    jobs.settle()
    assert len([r for r in standin.requests() if r["method"] == "DELETE"]) == DELETE_ATTEMPTS_MAX
    assert row(database, recording_sid).twilio_delete_error == f"{DELETE_GIVEN_UP}: twilio 403 code 20403"


def test_a_purged_voicemails_copy_at_twilio_is_deleted_however_long_twilio_refuses(app, client, standin, jobs,
                                                                                    database):
    """bt13 s24 nit 7: a voicemail purged while Twilio kept refusing to delete its copy was asked again only by RQ
    retries already scheduled; once those were used up nothing asked again, so Twilio's copy outlived the purge.
    Now the purged row is the durable "remote copy to delete" record: the purge's own delete is retried, and the
    reconciliation job asks again after the last retry, until Twilio answers 2xx (or 404)."""
    from ivr.jobs.enqueue import purged_delete_job_id
    from workers.recordings import purge_recordings

    standin.fail_next(".json", 500, count=1, method="DELETE")  # the delete after the check fails once
    call_sid, recording_sid = leave_message(client, standin, jobs)
    assert row(database, recording_sid).twilio_deleted_at is None
    with database.sessions() as db, db.begin():
        esc = db.scalars(select(Escalation).where(Escalation.call_sid == call_sid)).one()
        esc.status, esc.resolved_at, esc.outcome = EscalationStatus.RESOLVED.value, jobs.clock.now, "Called back."
    # Twilio refuses every delete from now on, for longer than every retry.
    standin.fail_next(".json", 500, count=100, method="DELETE")
    jobs.clock.advance(seconds=91 * 24 * 3600)
    with using(app.extensions["quietline"]):
        assert purge_recordings() == 1
    found = row(database, recording_sid)
    assert found.purged_at is not None and found.twilio_deleted_at is None
    assert found.twilio_delete_error == "delete failed: twilio 500 code 20500"
    for _ in range(8):  # every retry, on the test clock: all refused
        jobs.at(jobs.clock.now + dt.timedelta(minutes=20))
    assert app.extensions["quietline"].jobs.status(purged_delete_job_id(recording_sid)) == "failed"
    assert standin.deleted_recordings() == [] and row(database, recording_sid).twilio_deleted_at is None

    standin.clear_failures()  # Twilio answers again
    counts = reconcile_now(app, jobs)
    assert counts["deletions at Twilio after a purge asked again"] == 1
    jobs.settle()
    assert standin.deleted_recordings() == [recording_sid]
    assert row(database, recording_sid).twilio_deleted_at is not None
    assert "deletions at Twilio after a purge asked again" not in reconcile_now(app, jobs)  # done: never again


def test_the_purge_removes_half_written_files_a_killed_write_left(app, jobs, settings_overrides):
    """``.part`` files (sealed bytes of a write or download killed mid-way) older than an hour go; younger ones may
    be a write in progress and stay. By the test clock: the files' times are set relative to it."""
    from workers.recordings import purge_recordings

    directory = settings_overrides["recordings_dir"]
    os.makedirs(directory, exist_ok=True)
    now = jobs.clock.now.timestamp()
    old = os.path.join(directory, ".CA1-RE1.wav.sealed.k2j3h4.part")
    young = os.path.join(directory, ".CA2-RE2.wav.sealed.a8b9c0.part")
    for path, age in ((old, 3601), (young, 600)):
        with open(path, "wb") as f:
            f.write(b"sealed bytes")
        os.utime(path, (now - age, now - age))
    with using(app.extensions["quietline"]):
        assert purge_recordings() == 0  # no recording past retention: only the leftovers
    assert not os.path.exists(old) and os.path.exists(young)


def test_the_next_rotation_removes_what_a_killed_writer_left_at_once(settings_overrides, tmp_path):
    """bt13 s24 nit 6: killed rotations left ``.part`` files that only went when an hour old. A temporary file names
    its writer's process: one whose writer is gone is removed by the next rotation (and at worker start) at once;
    one a live process may still be writing, or an older version's name, young, stays for the age rule."""
    import signal
    import subprocess
    import sys

    directory = settings_overrides["recordings_dir"]
    files = files_with(directory, RECORDINGS_KEY)
    files.write_audio("CA" + "1" * 32, "RE" + "1" * 32, tone_wav(1))
    # A real writer killed (SIGKILL) between creating its temporary file and renaming it into place.
    killed = subprocess.run([sys.executable, "-c", (
        "import os, signal, tempfile\n"
        f"fd, _ = tempfile.mkstemp(dir={str(directory)!r}, prefix='.CA2-RE2.wav.sealed.',"
        " suffix=f'.pid{os.getpid()}.part')\n"
        "os.write(fd, b'half of the sealed bytes')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")], check=False)
    assert killed.returncode == -signal.SIGKILL
    [left] = [p.name for p in Path(directory).glob(".*.part")]
    alive = Path(directory) / f".CA3-RE3.wav.sealed.x1.pid{os.getpid()}.part"  # this process: may be writing
    older_version = Path(directory) / ".CA4-RE4.wav.sealed.x2.part"  # no writer named: the age rule
    for path in (alive, older_version):
        path.write_bytes(b"sealed bytes")
    report = files.rotate()
    assert report.leftovers == 1 and report.current == 1
    assert sorted(p.name for p in Path(directory).glob(".*.part")) == sorted([alive.name, older_version.name])
    assert left not in {p.name for p in Path(directory).iterdir()}


def test_the_purge_runs_on_schedule_from_a_worker_start(app, jobs):
    from workers.recordings import ensure_purge_scheduled

    ensure_purge_scheduled(app.extensions["quietline"])
    due = {job_id: at for job_id, at in jobs.scheduled().items() if job_id.startswith("purge-recordings-")}
    next_hour = dt.datetime.fromtimestamp((int(jobs.clock.now.timestamp()) // 3600 + 1) * 3600, dt.UTC)
    assert due == {f"purge-recordings-{int(next_hour.timestamp())}": next_hour}
    jobs.at(next_hour)  # the run schedules the next one
    following = next_hour + dt.timedelta(hours=1)
    assert f"purge-recordings-{int(following.timestamp())}" in jobs.scheduled()


def test_the_retention_is_a_practice_setting():
    from ivr.practice.settings.checks import parse_practice

    base = (
        "name: Lakeside\ntimezone: America/New_York\nhours: {monday: ['09:00-17:00']}\n"
    )
    assert parse_practice(base).voicemail_retention_days == 90
    assert parse_practice(base + "voicemail: {retention_days: 30}\n").voicemail_retention_days == 30


# --------------------------------------------------------------------------- triage, crisis first


def transcribed_as(app, message: Message, words: str) -> None:
    """The transcript the worker writes (sealed) for a copied message: the English triage cannot come from the
    Korean model the tests have, so the words are given; everything after transcription runs for real."""
    app.extensions["quietline"].recording_files.write_transcript(
        message.call_sid, message.recording_sid, StoredTranscript(words, 0.9, tuple((w, 0.9) for w in words.split())))


def test_a_crisis_voicemail_becomes_urgent_and_pages_the_on_call(app, client, standin, jobs, database, staff,
                                                                  redis_conn):
    from ivr.jobs.enqueue import fetch_job_id

    message = message_recorded(client, standin)
    transcribed_as(app, message, "hi it's me I don't want to live anymore please call me")
    jobs.run()
    assert Job.fetch(fetch_job_id(message.recording_sid), connection=redis_conn,
                     serializer=JSONSerializer).get_status() == "finished"
    found = row(database, message.recording_sid)
    assert (found.crisis, found.triage_category, found.transcript_status) == ("crisis", "callback", "done")
    # One escalation: the call's callback request, raised to an urgent crisis (issue 13 leftover 5).
    [crisis] = of_call(database, message.call_sid)
    assert (crisis.reason, crisis.category, crisis.priority, crisis.recording_sid) == (
        "callback_request", "crisis", 0, message.recording_sid)
    assert crisis.deadline_at == jobs.clock.now + dt.timedelta(minutes=15)
    assert crisis.timeline[-2:] == ["voicemail_crisis", "raised_to_crisis"]
    # The on-call clinician is paged (link-only, no words of the message), once.
    paged = [body for to, body in texts(standin) if to == ON_CALL and body.startswith(f"URGENT call #{crisis.id}")]
    dashboard = app.extensions["quietline"].settings.dashboard_url
    assert paged == [f"URGENT call #{crisis.id}: call back now. {dashboard}/e/{crisis.id}"]
    assert not any("live" in body for _, body in texts(standin))


@pytest.mark.parametrize("words, category", [
    ("I'm not in crisis, I just need to reschedule my appointment", "reschedule"),
    ("I need to cancel tomorrow's session", "cancel"),
    ("hi I have a question about a charge on my card", "billing"),
    ("I can't log in to the portal", "link_portal"),
    ("", "other"),
])
def test_an_ordinary_voicemail_is_categorised_and_not_escalated_again(words, category, app, client, standin, jobs,
                                                                     database):
    message = message_recorded(client, standin)
    transcribed_as(app, message, words)
    jobs.run()
    found = row(database, message.recording_sid)
    assert (found.triage_category, found.crisis) == (category, "none")
    assert [e.reason for e in of_call(database, message.call_sid)] == ["callback_request"]
    assert len(escalations(database)) == 1


def test_a_recording_is_noted_once_whichever_callback_notes_it_first(any_database):
    """The recording-status webhook notes a recording in one statement (issue 9): new → True; noted again (a
    retried callback, the copying job) → False, and the first row stays as it was. SQLite and PostgreSQL."""
    from ivr.escalations.recordings import note

    first = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
    assert note(any_database.sessions, "CA" + "1" * 32, "RE" + "1" * 32, first) is True
    assert note(any_database.sessions, "CA" + "2" * 32, "RE" + "1" * 32, first + dt.timedelta(minutes=1)) is False
    with any_database.sessions() as db:
        rows = [(r.sid, r.call_sid, r.status, r.attempts, r.created_at) for r in db.scalars(select(Recording))]
    assert rows == [("RE" + "1" * 32, "CA" + "1" * 32, "pending", 0, first)]


UNSURE_CARD = "Voicemail may be about a crisis: listen first"


def queue_card(page: str, escalation_id: int) -> str:
    start = page.index(f'<li id="e-{escalation_id}"')
    return page[start:page.index("</li>", start)]


@pytest.mark.parametrize("order", ["escalated first", "triaged first"])
def test_an_unsure_voicemail_is_high_priority_and_says_so_on_its_queue_card(order, app, client, standin, jobs,
                                                                             database, staff, redis_conn):
    """The crisis check unsure of a transcript: not paged as a crisis, but high priority (above every normal one)
    with a plain-words marker on the queue card; whichever of the escalation and the triage comes first."""
    from workers.recordings import triage

    words = "hi it's me I'm really struggling and falling apart please call me back"
    ordinary = leave_message(client, standin, jobs)
    message = message_recorded(client, standin)
    if order == "triaged first":  # the speech worker got there before the escalation job
        with using(app.extensions["quietline"]):
            app.extensions["quietline"].recordings.note(message.call_sid, message.recording_sid, jobs.clock.now)
            assert triage(message.call_sid, message.recording_sid, words).crisis.level.value == "unsure"
        assert of_call(database, message.call_sid) == []
    transcribed_as(app, message, words)
    jobs.run(("urgent", "calls"))  # the escalation (and the copy); not the speech queue yet
    [esc] = of_call(database, message.call_sid)
    assert (esc.reason, esc.priority) == ("callback_request", 1 if order == "triaged first" else 2)
    jobs.run()
    found = row(database, message.recording_sid)
    assert (found.crisis, found.transcript_status) == ("unsure", "done")
    [esc] = of_call(database, message.call_sid)
    assert (esc.reason, esc.priority) == ("callback_request", 1)  # high, not the callback's normal
    [other] = of_call(database, ordinary[0])
    assert other.priority == 2
    desk = front_desk(app, staff)
    page = desk.get("/staff/").get_data(as_text=True)
    assert UNSURE_CARD in queue_card(page, esc.id) and "High" in queue_card(page, esc.id)
    assert UNSURE_CARD not in queue_card(page, other.id)
    assert page.index(f'id="e-{esc.id}"') < page.index(f'id="e-{other.id}"')  # above the normal one
    assert not any(e.reason == "voicemail_crisis" for e in escalations(database))
    assert words not in page and "struggling" not in page


def _blocked_on_the_folder_lock() -> bool:
    """Whether this process waits for an flock (``/proc/locks`` lists a waiter as ``->``, then its pid)."""
    with open("/proc/locks") as fh:
        return any("->" in line and "FLOCK" in line and str(os.getpid()) in line.split() for line in fh)


def test_a_rotation_never_brings_back_a_voicemail_the_purge_deletes_meanwhile(tmp_path, monkeypatch):
    """Break test (issue 13, S3): the rotation read a file, the hourly purge deleted it, the rotation wrote it back.
    Interleaved for real: the rotation stops after reading the file (inside the key's open), the purge's delete
    runs in another thread; the delete waits for the folder's lock, the rotation finishes, the delete removes
    the new file. The voicemail stays gone, and a later rotation has nothing to bring back."""
    import threading

    old, new = RECORDINGS_KEY, generate_key()
    directory = tmp_path / "rotating"
    call, rec = "CA" + "1" * 32, "RE" + "1" * 32
    files_with(directory, old).write_audio(call, rec, tone_wav(1))
    files_with(directory, old).write_transcript(call, rec, StoredTranscript("words", 0.9, ()))
    rotating = files_with(directory, new, old)
    purging = files_with(directory, new, old)
    read, go = threading.Event(), threading.Event()
    real_open = FileCipher.open

    def open_then_wait(self, sealed, name):
        plain = real_open(self, sealed, name)
        if threading.current_thread().name == "rotation":
            read.set()
            assert go.wait(60)
        return plain

    monkeypatch.setattr(FileCipher, "open", open_then_wait)
    removed: list[int] = []
    rotation = threading.Thread(target=rotating.rotate, name="rotation")
    purge = threading.Thread(target=lambda: removed.append(purging.delete(call, rec)), name="purge")
    rotation.start()
    assert read.wait(60)
    purge.start()
    deadline = time.monotonic() + 60
    while purge.is_alive() and not _blocked_on_the_folder_lock():
        assert time.monotonic() < deadline, "the purge neither finished nor waited for the lock"
        time.sleep(0.01)
    go.set()
    rotation.join(60)
    purge.join(60)
    assert removed == [2]
    assert sorted(p.name for p in directory.iterdir()) == []
    assert not purging.has_audio(call, rec) and purging.read_transcript(call, rec) is None
    assert rotating.rotate().changed == 0


def test_a_bad_copy_is_copied_again_while_twilio_has_it_and_never_played_meanwhile(app, client, standin, jobs, database,
                                                                                   staff):
    """Break test (issue 13, S1): a copy cut short (Twilio says 4 s, we got 1 s) was never downloaded again, and the
    player served it as the message. Now: staff are told the truth and not played it; on the fetch's retry schedule
    the message is copied again, over the bad copy, and once a copy checks out it plays, is transcribed afresh and
    Twilio's copy goes."""
    message = message_cut_short(client, standin, jobs)
    found = row(database, message.recording_sid)
    assert found.verified_at is None and found.twilio_deleted_at is None
    assert found.twilio_delete_error == "our copy did not check out: 1.0 s of audio where Twilio says 4.0 s"
    [esc] = of_call(database, message.call_sid)
    desk = front_desk(app, staff)
    page = desk.get(f"/staff/e/{esc.id}").get_data(as_text=True)
    assert "Our copy of this message failed its check (it may be cut short or damaged)" in page
    assert "Play voicemail" not in page
    refused = post(desk, f"/staff/e/{esc.id}/voicemail", token_from=f"/staff/e/{esc.id}")
    # bt13 s24 nit 1: the escalation exists, so its page says why (not a 404)
    assert refused.status_code == 200 and "<audio" not in refused.get_data(as_text=True)
    assert "Quietline is copying it again from Twilio" in refused.get_data(as_text=True)
    assert desk.get(f"/staff/e/{esc.id}/voicemail.wav").status_code == 403  # never granted: nothing served

    # Twilio's copy is whole; the fetch's first retry (10 s) copies it again over ours.
    standin.add_recording(message.recording_sid, tone_wav(4), call_sid=message.call_sid, duration=4)
    jobs.at(jobs.clock.now + dt.timedelta(seconds=10))
    found = row(database, message.recording_sid)
    assert found.verified_at is not None and found.twilio_deleted_at is not None
    assert standin.deleted_recordings() == [message.recording_sid]
    files = app.extensions["quietline"].recording_files
    assert files.read_audio(message.call_sid, message.recording_sid) == tone_wav(4)
    shown = post(desk, f"/staff/e/{esc.id}/voicemail", token_from=f"/staff/e/{esc.id}")
    assert shown.status_code == 200 and "<audio" in shown.get_data(as_text=True)
    assert desk.get(f"/staff/e/{esc.id}/voicemail.wav").data == tone_wav(4)


def test_reconciliation_copies_a_bad_copy_again_after_every_retry(app, client, standin, jobs, database):
    """S1: every retry got a bad copy; Twilio's is whole later: the reconciliation job copies it again."""
    message = message_cut_short(client, standin, jobs)
    for seconds in (10, 30, 60, 300, 900):
        jobs.at(jobs.clock.now + dt.timedelta(seconds=seconds))
    assert row(database, message.recording_sid).verified_at is None
    standin.add_recording(message.recording_sid, tone_wav(4), call_sid=message.call_sid, duration=4)
    counts = reconcile_now(app, jobs)
    assert counts["bad copies copied again"] == 1
    jobs.settle()
    found = row(database, message.recording_sid)
    assert found.verified_at is not None and found.twilio_deleted_at is not None
    files = app.extensions["quietline"].recording_files
    assert files.read_audio(message.call_sid, message.recording_sid) == tone_wav(4)


def downloads(standin, recording_sid: str) -> int:
    """How many times the recording's audio was downloaded from the stand-in."""
    return sum(1 for r in standin.requests()
               if r["method"] == "GET" and r["path"].endswith((f"/Recordings/{recording_sid}.wav",
                                                               f"/Recordings/{recording_sid}")))


@pytest.mark.parametrize("garbage", [b"RIFF-not-a-wav-at-all" * 40, b"\x00" * 512], ids=["garbage", "zeros"])
def test_a_copy_that_keeps_failing_is_copied_a_dozen_times_then_kept_at_twilio_and_staff_told(
        garbage, app, client, standin, jobs, database, staff):
    """fix13-left3: a recording whose every copy fails its check was downloaded again on the retry schedule and by
    every reconciliation for ever. Now: COPY_ATTEMPTS_MAX (12) copies (the job's own try and five retries, then one
    more run the reconciliation job starts), then copying stops; Twilio's copy is kept (never deleted unchecked), the
    page and the player say so in plain words, and no later reconciliation or job starts it again."""
    from ivr.escalations.recordings import COPY_ATTEMPTS_MAX, COPY_GIVEN_UP
    from ivr.jobs.enqueue import fetch_job_id

    message = message_whose_copy_is(client, standin, jobs, garbage)
    for seconds in (10, 30, 60, 300, 900):  # the fetch job's retry schedule (FETCH_RETRY)
        jobs.at(jobs.clock.now + dt.timedelta(seconds=seconds))
    assert downloads(standin, message.recording_sid) == 6 and row(database, message.recording_sid).attempts == 6
    assert reconcile_now(app, jobs)["bad copies copied again"] == 1  # the second run
    jobs.settle()
    for seconds in (10, 30, 60, 300, 900):
        jobs.at(jobs.clock.now + dt.timedelta(seconds=seconds))
    found = row(database, message.recording_sid)
    assert COPY_ATTEMPTS_MAX == 12 and found.attempts == 12 and downloads(standin, message.recording_sid) == 12
    assert found.twilio_delete_error.startswith(f"{COPY_GIVEN_UP}: ")
    assert found.twilio_delete_error == ("our copy did not check out after 12 copies; copying stopped: "
                                         f"{message.recording_sid} is not a WAV file (no RIFF/WAVE header)")
    assert found.verified_at is None and found.twilio_deleted_at is None and found.status == "fetched"
    assert standin.deleted_recordings() == [] and [r["sid"] for r in standin.recordings()] == [message.recording_sid]

    # Nothing starts it again: neither reconciliation (several passes) nor a fetch job enqueued by hand.
    for _ in range(3):
        assert reconcile_now(app, jobs, after=dt.timedelta(hours=1)).get("bad copies copied again", 0) == 0
        jobs.settle()
    with using(app.extensions["quietline"]):
        app.extensions["quietline"].jobs.cancel(fetch_job_id(message.recording_sid))
        app.extensions["quietline"].jobs.fetch_recording(message.call_sid, message.recording_sid)
    jobs.settle()
    assert downloads(standin, message.recording_sid) == 12 and row(database, message.recording_sid).attempts == 12
    assert standin.deleted_recordings() == []

    # Staff read the plain truth; the bad copy is never played.
    [esc] = of_call(database, message.call_sid)
    desk = front_desk(app, staff)
    page = desk.get(f"/staff/e/{esc.id}").get_data(as_text=True)
    truth = "Quietline has stopped copying it and it is not played here. The original is still kept at Twilio"
    assert truth in page and "Play voicemail" not in page and "copies it again on its own" not in page
    refused = post(desk, f"/staff/e/{esc.id}/voicemail", token_from=f"/staff/e/{esc.id}")
    assert refused.status_code == 200 and truth in refused.get_data(as_text=True)  # bt13 s24 nit 1: not a 404
    assert desk.get(f"/staff/e/{esc.id}/voicemail.wav").status_code == 403


PENDING = "No transcript yet: it is being made."
NO_MODEL = "No transcript: no speech model is installed on this server."


def test_a_queued_transcription_is_pending_and_no_speech_model_only_once_a_worker_without_one_took_it(
        app, client, standin, jobs, database, staff):
    """Issue 13 left-over: a message whose transcription is queued and that no speech worker with a model has reached
    is "being made", not "no speech model", on the escalation page, on the opened message and in the staff texts:
    first on the speech queue, which no worker has reached; then, once a speech worker without a model has taken it
    (``no_model``: decided in ``workers.recordings.transcribe_and_triage``), the page says so; and when a worker with
    a model has queued it again (``speech-model``, as it does at start and on each maintenance pass), it is being
    made again while it waits there."""
    ql = app.extensions["quietline"]
    message = message_recorded(client, standin)
    jobs.run(("urgent", "calls"))  # copied, checked and handed on; the speech queue's job not taken yet
    assert jobs.queue("speech").job_ids == [f"transcribe-{message.recording_sid}"]
    assert row(database, message.recording_sid).transcript_status is None
    [esc] = of_call(database, message.call_sid)
    desk = front_desk(app, staff)

    def shown() -> tuple[bool, bool]:
        page = desk.get(f"/staff/e/{esc.id}").get_data(as_text=True)
        assert "Play voicemail" in page and "speech model" not in page and "transcript" not in page.lower()
        opened = post(desk, f"/staff/e/{esc.id}/voicemail", token_from=f"/staff/e/{esc.id}")
        body = opened.get_data(as_text=True)
        assert opened.status_code == 200 and "<audio" in body
        return PENDING in body, NO_MODEL in body

    assert shown() == (True, False)
    jobs.run(("speech",))  # a speech worker without a model (the tests' workers load none)
    assert row(database, message.recording_sid).transcript_status == "no_model"
    assert shown() == (False, True)
    assert ql.jobs.transcribe_with_model(message.call_sid, message.recording_sid).created  # a worker with a model
    assert jobs.queue("speech-model").job_ids == [f"transcribe-{message.recording_sid}"]
    assert row(database, message.recording_sid).transcript_status == "no_model"
    assert shown() == (True, False)
    staff_texts = [body for _, body in texts(standin)]
    assert staff_texts and not any("speech" in b.lower() or "transcri" in b.lower() for b in staff_texts)


def test_a_voicemail_the_key_cannot_open_says_so_and_is_transcribed_once_the_key_opens_it(
        app, client, standin, jobs, database, staff, settings_overrides, redis_conn):
    """Break test (issue 13, S2): the recordings were re-encrypted under a new key while the service still ran with
    the old one. The page showed a player that 404s and "no speech model is installed", and the transcription was
    failed for good, its crisis check never done. Now: its own state, said in plain words on the page, and tried
    again (transcription and crisis check) once the service runs with the key that opens it."""
    from ivr.app import create_app
    from tests.helpers.escalations import JobRunner

    old, new = RECORDINGS_KEY, generate_key()
    directory = settings_overrides["recordings_dir"]
    call_sid, recording_sid = leave_message(client, standin, jobs)
    assert row(database, recording_sid).transcript_status == "no_model"  # the test workers have no model
    # The rotation runs (new key first) while the service keeps its old key; the message is transcribed again.
    assert files_with(directory, new, old).rotate().resealed == 1
    app.extensions["quietline"].jobs.transcribe_again(call_sid, recording_sid)
    jobs.run()
    assert row(database, recording_sid).transcript_status == "key_failed"
    [esc] = of_call(database, call_sid)
    desk = front_desk(app, staff)
    page = desk.get(f"/staff/e/{esc.id}").get_data(as_text=True)
    assert "cannot be opened with this server&#39;s recordings key: restart the service with the new key" in page
    assert "Play voicemail" not in page and "no speech model" not in page
    refused = post(desk, f"/staff/e/{esc.id}/voicemail", token_from=f"/staff/e/{esc.id}")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "<audio" not in body and "no speech model" not in body  # not a 404
    assert "restart the service with the new key" in body and "Play voicemail" not in body

    # Restarted with the new key (and the old one after it): the reconciliation job tries it again.
    restarted = create_app({**settings_overrides, "recordings_key": f"{new},{old}"}, redis=redis_conn,
                           clock=jobs.clock, strict_flows=True, database=database)
    again = JobRunner(restarted, redis_conn, jobs.clock)
    counts = reconcile_now(restarted, again)
    assert counts["transcriptions refused by the key tried again"] == 1
    again.settle()
    assert row(database, recording_sid).transcript_status == "no_model"  # it opens: on to the speech model
