"""The rest of the dashboard: headers, passwords and the CLI, both database backends, a real call and voicemails."""
from __future__ import annotations

import datetime as dt
import logging
import re
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from ivr import passwords
from ivr.app import create_app
from ivr.escalations import audit, worklist
from ivr.escalations.models import Escalation, RosterEntry, StaffUser
from ivr.exceptions import EscalationConflict, EscalationForbidden
from tests.helpers.dashboard import (
    CSRF_RE,
    STAFF_PASSWORD,
    Person,
    add_escalation,
    add_user,
    audit_rows,
    escalation_row,
    login,
    post,
    signed_in,
)

# --------------------------------------------------------------------------- the rest

def test_security_headers(app, people):
    sam = signed_in(app, people["sam"])
    response = sam.get("/staff/")
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere


def test_passwords_module():
    from argon2 import PasswordHasher

    real = PasswordHasher()
    hashed = real.hash("long enough password")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "long enough password")
    assert not passwords.verify_password(hashed, "long enough passworD")
    assert not passwords.verify_password("not a hash", "whatever")
    assert not passwords.verify_password(None, "whatever")
    # The test hasher's parameters differ from the real ones: a real hash needs rehashing here and back.
    assert passwords.needs_rehash(hashed)
    assert not passwords.needs_rehash(passwords.hash_password("twelve chars"))
    with pytest.raises(passwords.WeakPassword):
        passwords.hash_password("eleven char")
    with pytest.raises(passwords.WeakPassword):
        passwords.hash_password(" " * 12)


def test_a_login_upgrades_an_old_hash(app, client, database):
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("an old password!")
    with database.sessions() as s, s.begin():
        s.add(StaffUser(email="old@quietline.test", name="Old", role="staff", password_hash=old, active=True))
    person = Person(0, "old@quietline.test", "an old password!", "Old")
    assert login(client, person).status_code == 303
    with database.sessions() as s:
        new = s.scalar(select(StaffUser.password_hash).where(StaffUser.email == "old@quietline.test"))
    assert new != old and not passwords.needs_rehash(new)
    assert client.get("/staff/").status_code == 200  # the session was made with the new hash


def test_cli_create_owner(app, database, clock):
    runner = app.test_cli_runner()
    args = ["staff", "create-owner", "--email", "Pat@Quietline.test", "--name", "Pat Owner"]
    short = runner.invoke(args=args, input="short\nshort\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    mismatch = runner.invoke(args=args, input="a good long passphrase\na different one!\n")
    assert mismatch.exit_code != 0  # click asks again, then runs out of input
    result = runner.invoke(args=args, input="a good long passphrase\na good long passphrase\n")
    assert result.exit_code == 0, result.output
    with database.sessions() as s:
        pat = s.scalar(select(StaffUser).where(StaffUser.email == "pat@quietline.test"))
        assert (pat.role, pat.active, pat.name) == ("owner", True, "Pat Owner")
    assert (
        login(app.test_client(), Person(pat.id, "pat@quietline.test", "a good long passphrase", "")).status_code == 303
    )
    again = runner.invoke(args=["staff", "create-owner", "--email", "pat@quietline.test", "--name", "Pat"],
                          env={"QUIETLINE_STAFF_PASSWORD": "another long one"})
    assert again.exit_code != 0 and "already has an account" in again.output
    auto = runner.invoke(args=["staff", "create-owner", "--email", "robot@quietline.test", "--name", "Robot"],
                         env={"QUIETLINE_STAFF_PASSWORD": "from the environment"})
    assert auto.exit_code == 0, auto.output
    weak = runner.invoke(args=["staff", "create-owner", "--email", "weak@quietline.test", "--name", "Weak"],
                         env={"QUIETLINE_STAFF_PASSWORD": "short"})
    assert weak.exit_code != 0 and "at least 12" in weak.output
    reset = runner.invoke(args=["staff", "reset-password", "--email", "pat@quietline.test"],
                          env={"QUIETLINE_STAFF_PASSWORD": "a reset passphrase"})
    assert reset.exit_code == 0, reset.output
    assert "pat@quietline.test\towner\tactive" in runner.invoke(args=["staff", "list"]).output
    assert [e.detail for e in audit_rows(database, "staff_create")] == ["role owner; from the command line"] * 2


def test_instance_secret_key_is_created_once_and_private(tmp_path):
    from ivr.config import instance_secret_key

    key = instance_secret_key(tmp_path)
    assert len(key) == 64 and instance_secret_key(tmp_path) == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_without_secret_key_the_dashboard_uses_the_instance_key(settings_overrides, redis_conn, clock, database,
                                                                 people, tmp_path, monkeypatch):
    app = create_app({**settings_overrides, "secret_key": ""}, redis=redis_conn, clock=clock, database=database)
    app.instance_path = str(tmp_path)
    app.session_interface.instance_dir = tmp_path
    assert not (tmp_path / "secret_key").exists()
    app.test_client().get("/health")
    assert not (tmp_path / "secret_key").exists()  # only the dashboard needs it
    assert login(app.test_client(), people["sam"]).status_code == 303
    assert (tmp_path / "secret_key").exists()


# --------------------------------------------------------------------------- both database backends

@pytest.fixture
def any_db(db_url, clock):  # noqa: F811
    """A migrated, demo-seeded database on SQLite and on PostgreSQL."""
    from zoneinfo import ZoneInfo

    from ivr.db.database import Database, upgrade
    from ivr.practice.demo import seed_demo

    db = Database.from_url(db_url)
    upgrade(db.engine)
    seed_demo(db.sessions, clock.now, ZoneInfo("America/New_York"))
    yield db
    db.dispose()


def test_queue_module_on_each_backend(any_db, clock):
    """Order, the claim race, resolve rules, audited client details and the append-only log, per backend."""
    now = clock.now
    a = add_user(any_db, "a@quietline.test", "A", "staff", STAFF_PASSWORD)
    b = add_user(any_db, "b@quietline.test", "B", "staff", STAFF_PASSWORD)
    late = add_escalation(any_db, now, priority=1, due_in=dt.timedelta(hours=3))
    soon = add_escalation(any_db, now, priority=1, due_in=dt.timedelta(hours=1), client_id="C-1005")
    urgent = add_escalation(any_db, now, priority=0, due_in=dt.timedelta(hours=9))
    assert [i.id for i in worklist.list_queue(any_db, now)] == [urgent, soon, late]

    barrier = threading.Barrier(6)
    won: list[int] = []

    def attempt(uid: int) -> None:
        barrier.wait()
        try:
            worklist.claim(any_db, soon, uid, now)
            won.append(uid)
        except EscalationConflict:
            pass

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in (a.id, b.id) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(won) == 1
    loser = b.id if won == [a.id] else a.id
    with pytest.raises(EscalationForbidden):
        worklist.resolve(any_db, soon, loser, "done", now)
    details = worklist.client_details(any_db, soon, loser, now, "192.0.2.7")
    assert (details.name, details.date_of_birth) == ("Casey Nguyen", dt.date(1990, 8, 30))
    assert details.phones == ["+15550100109", "+15550100110"] and details.next_appointment is not None
    worklist.resolve(any_db, soon, won[0], "Called back.", now)
    assert [i.id for i in worklist.list_queue(any_db, now, view="resolved")] == [soon]
    assert [(e.action, e.target) for e in reversed(audit.entries(any_db).entries)] == [
        ("claim", f"escalation:{soon}"), ("view_client", "client:C-1005"), ("resolve", f"escalation:{soon}")]
    for statement in ("UPDATE audit_log SET detail = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"):
            with any_db.engine.begin() as conn:
                conn.execute(text(statement))
    assert audit.entries(any_db).total == 3


# --------------------------------------------------------------------------- a real call

def test_a_real_escalated_call_reaches_the_queue(app, sim, run_jobs, database, people):
    """A verified caller the flows cannot help: the job records the escalation, staff see and work it."""
    result = sim.call(from_="+15551230001", script="1;04151985#;1;4;say:Wednesday;4")
    assert "I'll ask our scheduling team to call you back" in " ".join(result.heard)
    run_jobs()
    with database.sessions() as s:
        rows = s.scalars(select(Escalation).where(Escalation.call_sid == result.call_sid)).all()
    [row] = rows
    assert row.client_id == "C-1001" and row.caller_masked == "+1******0001"
    sam = signed_in(app, people["sam"])
    assert f'<span class="id">#{row.id}</span>' in sam.get("/staff/").get_data(as_text=True)
    assert post(sam, f"/staff/e/{row.id}/claim").status_code == 303
    shown = post(sam, f"/staff/e/{row.id}/client").get_data(as_text=True)
    assert "Alex Rivera" in shown
    assert post(sam, f"/staff/e/{row.id}/resolve", {"outcome": "Booked by phone."}).status_code == 303


# --------------------------------------------------------------------------- voicemail

def leave_voicemail(app, database, clock, *, transcript: str | None,
                    confidences: list[float] | None = None, **recording: object) -> tuple[int, bytes]:
    """An escalation whose caller left a message, with the files (sealed) and the row the recording job writes.

    ``confidences``: vosk's per word (default: all sure); ``recording``: columns of the ``recordings`` row."""
    from ivr.escalations.models import Recording
    from ivr.escalations.recording_files import StoredTranscript

    eid = add_escalation(database, clock.now, reason="voicemail", category="voicemail")
    row = escalation_row(database, eid)
    recording_sid = "RE" + "7" * 32
    with database.sessions() as s, s.begin():
        s.get(Escalation, eid).recording_sid = recording_sid
        s.add(Recording(sid=recording_sid, call_sid=row.call_sid, status="fetched", attempts=1, created_at=clock.now,
                        fetched_at=clock.now, **recording))
    files = app.extensions["quietline"].recording_files
    audio = b"RIFF" + b"\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8
    files.write_audio(row.call_sid, recording_sid, audio)
    if transcript is not None:
        words = transcript.split()
        confs = confidences or [0.95] * len(words)
        pairs = tuple(zip(words, confs, strict=True))
        files.write_transcript(row.call_sid, recording_sid,
                               StoredTranscript(transcript, sum(confs) / max(1, len(confs)), pairs))
    return eid, audio


def test_a_voicemail_is_played_only_after_the_deliberate_post(app, people, database, clock, caplog):
    caplog.set_level(logging.DEBUG)
    words = "please call me about thursday"
    eid, audio = leave_voicemail(app, database, clock, transcript=words)
    sam = signed_in(app, people["sam"])
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    assert "Play voicemail" in page and words not in page and "<audio" not in page
    # Neither the audio nor the transcript is reachable by URL before the message is opened.
    assert sam.get(f"/staff/e/{eid}/voicemail.wav").status_code == 403
    back = sam.get(f"/staff/e/{eid}/voicemail")
    assert back.status_code == 303 and back.location == f"/staff/e/{eid}"
    assert audit_rows(database, "listen_voicemail") == []

    shown = post(sam, f"/staff/e/{eid}/voicemail", token_from=f"/staff/e/{eid}")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    # Named for screen readers (this file's header is not a WAV's, so its length is unknown and not said).
    assert (f'<audio controls preload="auto" id="next-step" aria-label="Voicemail for #{eid}" '
            f'src="/staff/e/{eid}/voicemail.wav"></audio>') in html
    assert f'<blockquote class="transcript">{words}</blockquote>' in html
    [entry] = audit_rows(database, "listen_voicemail")
    assert (entry.user_id, entry.target) == (people["sam"].id, f"escalation:{eid}")

    got = sam.get(f"/staff/e/{eid}/voicemail.wav")
    assert got.status_code == 200 and got.mimetype == "audio/wav" and got.data == audio
    assert got.headers["Cache-Control"] == "no-store"
    ranged = sam.get(f"/staff/e/{eid}/voicemail.wav", headers={"Range": "bytes=4-11"})
    assert ranged.status_code == 206 and ranged.data == audio[4:12]
    # Fetching the audio is covered by the opening: one audit entry, not one per range request.
    assert len(audit_rows(database, "listen_voicemail")) == 1
    assert words not in caplog.text

    # Another person (or this one after signing out and in again) has to open it themselves.
    tess = signed_in(app, people["tess"])
    assert tess.get(f"/staff/e/{eid}/voicemail.wav").status_code == 403
    # The grant lapses: the player on a page left open does not keep access for good.
    clock.now += dt.timedelta(minutes=14)
    assert sam.get(f"/staff/e/{eid}/voicemail.wav", headers={"Range": "bytes=0-3"}).status_code == 206
    clock.now += dt.timedelta(minutes=2)
    assert sam.get(f"/staff/e/{eid}/voicemail.wav").status_code == 403


def test_a_voicemail_without_transcript_or_not_yet_copied(app, people, database, clock):
    eid, _ = leave_voicemail(app, database, clock, transcript=None, transcript_status="no_model")
    sam = signed_in(app, people["sam"])
    html = post(sam, f"/staff/e/{eid}/voicemail", token_from=f"/staff/e/{eid}").get_data(as_text=True)
    assert "No transcript: no speech model is installed on this server." in html and "<audio" in html
    # fix13-bt S2: "no speech model" only when that is why; a transcription not done yet says so
    from ivr.escalations.models import Recording

    with database.sessions() as s, s.begin():
        s.get(Recording, escalation_row(database, eid).recording_sid).transcript_status = None
    html = post(sam, f"/staff/e/{eid}/voicemail", token_from=f"/staff/e/{eid}").get_data(as_text=True)
    assert "No transcript yet: it is being made." in html and "no speech model" not in html

    pending = add_escalation(database, clock.now, reason="voicemail", category="voicemail",
                             recording_sid="RE" + "8" * 32)
    response = post(sam, f"/staff/e/{pending}/voicemail", token_from=f"/staff/e/{pending}")
    assert response.status_code == 404
    assert "The voicemail is still being copied from Twilio. Try again in a minute." in response.get_data(as_text=True)
    assert sam.get(f"/staff/e/{pending}/voicemail.wav").status_code == 403

    none_left = add_escalation(database, clock.now)
    assert "Play voicemail" not in sam.get(f"/staff/e/{none_left}").get_data(as_text=True)
    assert post(sam, f"/staff/e/{none_left}/voicemail", token_from=f"/staff/e/{none_left}").status_code == 404
    assert [e.target for e in audit_rows(database, "listen_voicemail")] == [f"escalation:{eid}"] * 2


def test_the_voicemail_page_marks_unsure_words_and_shows_triage_and_twilio(app, people, database, clock):
    """Words vosk was unsure of are marked; the triage category and crisis grade, and a copy still at Twilio."""
    eid, _ = leave_voicemail(app, database, clock, transcript="please move my thursday session",
                             confidences=[0.98, 0.41, 0.9, 0.55, 0.97], triage_category="reschedule",
                             crisis="unsure", twilio_delete_error="delete failed: twilio 503 code 20503")
    sam = signed_in(app, people["sam"])
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    assert '<p class="triage">About: <strong>Reschedule</strong>' in page
    assert "The transcript may be about a crisis: listen before anything else." in page
    assert ("The message is safely kept here. Twilio, the phone company, still holds a copy too, because deleting "
            "it there has not worked yet; Quietline keeps trying on its own. Nothing to do.") in page
    assert "503" not in page and "delete failed" not in page  # plain words, not the provider's error
    assert "please move" not in page  # the words only after the deliberate opening
    html = post(sam, f"/staff/e/{eid}/voicemail", token_from=f"/staff/e/{eid}").get_data(as_text=True)
    unsure = '<mark class="unsure" title="The speech recogniser was unsure of this word">{}</mark>'
    assert (f'<blockquote class="transcript">please {unsure.format("move")} my {unsure.format("thursday")} '
            f'session</blockquote>') in html
    assert "marked words are ones it was unsure of" in html


@pytest.mark.parametrize("note, words", [
    (None, "The message is safely kept here. Twilio, the phone company, still holds a copy too, until Quietline "
           "deletes it there (within minutes). Nothing to do."),
    # fix13-bt S1: a copy that failed its check is not played; it is copied again
    ("our copy did not check out: 1.0 s of audio where Twilio says 4.0 s",
     "Our copy of this message failed its check (it may be cut short or damaged), so the original is kept at "
     "Twilio, the phone company, and Quietline copies it again on its own; it is not played here until a copy "
     "checks out. Call the client back meanwhile; tell the practice owner if this keeps happening."),
])
def test_still_at_twilio_says_what_it_means_for_staff_in_plain_words(note, words, app, people, database, clock):
    eid, _ = leave_voicemail(app, database, clock, transcript="hello", twilio_delete_error=note)
    page = signed_in(app, people["sam"]).get(f"/staff/e/{eid}").get_data(as_text=True)
    where = '<p class="alert recording-bad-copy" role="status">' if note else '<p class="muted small still-at-twilio">'
    assert f'{where}{words}</p>' in page
    assert ("Play voicemail" in page) is (note is None)
    assert "did not check out" not in page and "1.0 s" not in page


def test_a_crisis_voicemail_and_one_gone_from_twilio(app, people, database, clock):
    eid, _ = leave_voicemail(app, database, clock, transcript="i dont want to live anymore", crisis="crisis",
                             triage_category="other", twilio_deleted_at=clock.now, verified_at=clock.now)
    page = signed_in(app, people["sam"]).get(f"/staff/e/{eid}").get_data(as_text=True)
    assert "The transcript reads as a crisis: listen now and call back at once." in page
    assert "still at Twilio" not in page and "want to live" not in page


def test_a_voicemail_that_no_key_opens_is_refused_clearly(app, people, database, clock, tmp_path):
    from ivr.encryption import FileCipher, generate_key
    from ivr.escalations.recording_files import RecordingFiles

    # Transcribed and categorised before the rotation (bt13 s24 nit 1): the page still showed "About: Other (from
    # the transcript)" and a "Play voicemail" button whose POST answered 404, beside a banner saying it can be
    # neither played nor transcribed.
    eid, _ = leave_voicemail(app, database, clock, transcript="call me back", transcript_status="done",
                             triage_category="other", crisis="none")
    ql = app.extensions["quietline"]
    row = escalation_row(database, eid)
    stranger = RecordingFiles(ql.recording_files.directory, FileCipher.from_setting(generate_key()))
    stranger.write_audio(row.call_sid, row.recording_sid, b"RIFF sealed with another key")
    sam = signed_in(app, people["sam"])
    truth = "cannot be opened with this server&#39;s recordings key: restart the service with the new key"
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    assert truth in page and "Play voicemail" not in page and "About:" not in page
    opened = post(sam, f"/staff/e/{eid}/voicemail", token_from=f"/staff/e/{eid}")
    body = opened.get_data(as_text=True)
    # fix13-bt S2: said in plain words instead of a player that 404s (and no "no speech model"); the escalation
    # exists, so a page that says why, not a 404 (bt13 s24 nit 1)
    assert opened.status_code == 200 and "<audio" not in body and "no speech model" not in body
    assert truth in body and "Play voicemail" not in body and "About:" not in body
    assert sam.get(f"/staff/e/{eid}/voicemail.wav").status_code == 403  # never granted


def test_recording_paths_refuse_anything_but_sids(tmp_path):
    from ivr.escalations.recording_files import recording_path

    assert (recording_path(tmp_path, "CA" + "1" * 32, "RE" + "2" * 32).name
            == f"CA{'1' * 32}-RE{'2' * 32}.wav.sealed")
    for bad in ("../etc/passwd", "RE/../../x", "", "RE 1", "R"):
        with pytest.raises(ValueError):
            recording_path(tmp_path, "CA" + "1" * 32, bad)


def test_a_roster_entry_can_be_limited_to_some_categories(app, people, database, clock):
    """An on-call clinician told of crises only, at any hour: the roster says so and the planner obeys."""
    from ivr.escalations import roster

    owner = signed_in(app, people["owner"])
    bad = post(owner, "/staff/roster", {"user_id": people["tess"].id, "level": 1, "start": "00:00", "end": "23:59",
                                        "sms": "y", "categories": ["crisis", "gossip"]})
    assert bad.status_code == 200 and "is not a valid choice" in bad.get_data(as_text=True)
    assert audit_rows(database, "roster_add") == []
    ok = post(owner, "/staff/roster", {"user_id": people["tess"].id, "level": 1, "start": "00:00", "end": "23:59",
                                       "sms": "y", "categories": ["crisis"]})
    assert ok.status_code == 303
    assert post(owner, "/staff/roster", {"user_id": people["sam"].id, "level": 1, "start": "00:00",
                                         "end": "23:59", "sms": "y"}).status_code == 303
    with database.sessions() as s:
        tess, sam = (s.scalars(select(RosterEntry).where(RosterEntry.user_id == people[p].id)).one()
                     for p in ("tess", "sam"))
        assert (tess.categories, sam.categories) == (["crisis"], None)
        entries, users = s.scalars(select(RosterEntry)).all(), s.scalars(select(StaffUser)).all()
    tz = app.extensions["quietline"].flows.current().practice.tz
    assert [r.user_id for r in roster.on_call(entries, users, 1, clock.now, tz, "billing")] == [people["sam"].id]
    assert sorted(r.user_id for r in roster.on_call(entries, users, 1, clock.now, tz, "crisis")) == sorted(
        [people["sam"].id, people["tess"].id])

    page = owner.get("/staff/roster").get_data(as_text=True)
    assert "<td class=\"block\">Crisis only</td>" in page and "<td class=\"block\">Every kind of alert</td>" in page
    assert re.search(r"Level 1</span>\s*Sam Staff, Tess Staff \(Crisis only\)", page)
    [added, _] = audit_rows(database, "roster_add")
    assert added.detail.endswith("told about Crisis")

    # Ticking nothing again lifts the limit.
    edit = post(owner, f"/staff/roster/{tess.id}", {"user_id": people["tess"].id, "level": 1, "start": "00:00",
                                                     "end": "23:59", "sms": "y"}, token_from=f"/staff/roster/{tess.id}")
    assert edit.status_code == 303
    with database.sessions() as s:
        assert s.get(RosterEntry, tess.id).categories is None


@pytest.mark.parametrize("proxies, expected", [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_the_audit_log_records_the_persons_address_only_through_trusted_proxies(
        proxies, expected, settings_overrides, redis_conn, clock, database, people):
    app = create_app({**settings_overrides, "trusted_proxies": proxies}, redis=redis_conn, clock=clock,
                     strict_flows=True, database=database)
    app.config.update(TESTING=True)
    client = app.test_client()
    headers = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https",
               "Referer": "https://localhost/staff/login"}  # a browser sends it; CSRF checks it over https
    csrf = CSRF_RE.search(client.get("/staff/login", headers=headers).get_data(as_text=True)).group(1)
    sam = people["sam"]
    response = client.post("/staff/login", headers=headers,
                           data={"email": sam.email, "password": sam.password, "csrf_token": csrf})
    assert response.status_code == 303
    [entry] = audit_rows(database, "login")
    # One trusted proxy: its own entry (the last one) is believed, the one the client could forge is not.
    assert entry.ip == expected


def test_trusted_proxies_is_checked():
    from ivr.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_settings({"TWILIO_AUTH_TOKEN": "x", "TRUSTED_PROXIES": "-1"}).validate()
