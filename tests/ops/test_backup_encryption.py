"""Encrypted backups (ivr/ops/backup_crypto.py): every archive sealed for the backup PUBLIC key, opened only with the
private half kept off the machine, on SQLite and PostgreSQL.

Without the private key, or with another, `verify` and `restore` change nothing and say why; a sealed archive
altered, cut, extended or with chunks swapped is refused; `backup create` refuses a plain archive unless
--unencrypted (then warns); `create --verify` checks the archive it just wrote without the private half; the
doctor names a missing key, a plain archive and a private key left on the machine.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.db import database as db_mod
from ivr.escalations.recording_files import RecordingFiles
from ivr.ops import backup as backup_mod
from ivr.ops import backup_crypto, connect, db_dump, restore
from ivr.ops.backup_crypto import CHUNK, HEADER_LEN, TAG
from ivr.practice.models import Client
from tests.helpers.ops import BACKUP_KEY, BACKUP_PUBLIC, fixed, fresh_target, make_settings, recording_sids
from tests.helpers.service import DATA_KEY, RECORDINGS_KEY, TOKEN

OTHER_KEY = backup_crypto.BackupPrivateKey(bytes(range(101, 133)))


@pytest.fixture
def archive(practice):
    """A sealed archive of the demo practice with a 300 KB voicemail of noise (several 64 KiB chunks)."""
    settings, database = practice
    files = RecordingFiles.from_settings(settings.recordings_dir, settings.recordings_key)
    files.write_audio(*recording_sids(3), os.urandom(300_000))
    return settings, database, backup_mod.create_backup(settings, database.engine, now=fixed()).path


def empty_target(db_url: str, tmp_path: Path, request: pytest.FixtureRequest):
    """An empty database of the archive's kind (PostgreSQL: on the second cluster) with empty folders."""
    url = fresh_target(db_url, tmp_path, request)
    return make_settings(tmp_path / "target", url), db_mod.Database.from_url(url)


def assert_nothing_restored(tmp_path: Path, settings, target) -> None:
    assert db_dump.table_counts(target.engine) == {}
    assert not Path(settings.recordings_dir).exists() and not Path(settings.env_file).exists()


def test_an_archive_is_sealed_and_holds_nothing_in_clear(archive, tmp_path) -> None:
    settings, database, path = archive
    data = path.read_bytes()
    assert data.startswith(backup_crypto.MAGIC) and path.name.endswith(".tar.gz.enc")
    # Header, then whole chunks (64 KiB + tag) and a shorter last one.
    body = len(data) - HEADER_LEN
    assert body > 2 * (CHUNK + TAG)
    with database.sessions() as session:
        names = list(session.scalars(select(Client.last_name)))
    for clear in [TOKEN, RECORDINGS_KEY, DATA_KEY, "manifest.json", "secrets.env", "SQLite format", *names]:
        assert clear.encode() not in data
    # The machine's public key cannot open it.
    with pytest.raises(backup_crypto.BackupKeyError, match="is the PUBLIC backup key"):
        backup_crypto.BackupPrivateKey.parse(BACKUP_PUBLIC, "--key-file")


def test_without_the_private_key_or_with_another_nothing_changes(archive, db_url, tmp_path, request) -> None:
    settings, database, path = archive
    report = restore.verify_backup(settings, database.engine, path, now=fixed())
    assert report.problems == [f"{path.name}: encrypted, and no private backup key was given"]
    report = restore.verify_backup(settings, database.engine, path, now=fixed(), key=OTHER_KEY)
    assert report.problems == [
        f"{path.name}: wrong backup key (this archive was sealed for the backup key "
        f"{BACKUP_KEY.public().fingerprint}; the private key given is {OTHER_KEY.public().fingerprint}'s)"]
    assert backup_mod.read_status(Path(settings.backup_dir))["last_verified_restore_at"] is None

    target_settings, target = empty_target(db_url, tmp_path, request)
    try:
        with pytest.raises(restore.ArchiveRejected, match="is encrypted: give the backup's private key"):
            restore.restore_backup(target_settings, target.engine, path)
        with pytest.raises(restore.ArchiveRejected, match="wrong backup key.*nothing was changed"):
            restore.restore_backup(target_settings, target.engine, path, key=OTHER_KEY)
        assert_nothing_restored(tmp_path, target_settings, target)
        done = restore.restore_backup(target_settings, target.engine, path, key=BACKUP_KEY)
        assert done.problems == [] and done.tables["clients"] == 7
    finally:
        target.dispose()
    # Nothing is left of the scratch folders the attempts unpacked into.
    assert [p.name for p in Path(settings.backup_dir).iterdir() if p.name.startswith(".")] == []


def _chunks(data: bytes) -> tuple[bytes, list[bytes]]:
    body = data[HEADER_LEN:]
    return data[:HEADER_LEN], [body[i:i + CHUNK + TAG] for i in range(0, len(body), CHUNK + TAG)]


def tampered_copies(data: bytes) -> dict[str, bytes]:
    """Every way of altering a sealed archive that must be refused."""
    header, chunks = _chunks(data)
    flipped_mid = bytearray(data)
    flipped_mid[HEADER_LEN + CHUNK + TAG + 100] ^= 1
    flipped_ephemeral = bytearray(data)
    flipped_ephemeral[HEADER_LEN - 1] ^= 1
    return {
        "a byte flipped in a chunk": bytes(flipped_mid),
        "the header's ephemeral key altered": bytes(flipped_ephemeral),
        "cut at a chunk boundary": header + b"".join(chunks[:-1]),
        "cut inside a chunk": data[:-50],
        "the last chunk dropped, the one before appended twice": header + b"".join(chunks[:-1] + chunks[-2:-1]),
        "two chunks swapped": header + b"".join([chunks[1], chunks[0], *chunks[2:]]),
        "a chunk appended": data + chunks[0],
        "the header only": header,
    }


def test_a_sealed_archive_altered_cut_or_extended_is_refused(archive, db_url, tmp_path, request) -> None:
    settings, database, path = archive
    target_settings, target = empty_target(db_url, tmp_path, request)
    try:
        for how, data in tampered_copies(path.read_bytes()).items():
            copy = tmp_path / "copy.tar.gz.enc"
            copy.write_bytes(data)
            report = restore.verify_backup(settings, database.engine, copy, now=fixed(), key=BACKUP_KEY)
            assert len(report.problems) == 1, how
            assert report.problems[0].startswith("copy.tar.gz.enc: the encrypted archive "), (how, report.problems)
            with pytest.raises(restore.ArchiveRejected, match="nothing was changed"):
                restore.restore_backup(target_settings, target.engine, copy, key=BACKUP_KEY)
            assert_nothing_restored(tmp_path, target_settings, target)
    finally:
        target.dispose()
    assert backup_mod.read_status(Path(settings.backup_dir))["last_verified_restore_at"] is None


def test_the_key_pair_and_its_forms() -> None:
    public, private = backup_crypto.generate_backup_keypair()
    assert public.text().startswith("quietline-backup-public-1-")
    assert backup_crypto.BackupPublicKey.parse(public.text()) == public
    assert backup_crypto.BackupPrivateKey.parse("\n  " + private.text() + "\n").public() == public
    assert private.text() not in repr(private)
    notice = backup_crypto.private_key_notice(private)
    assert private.text() in notice and "OFF this machine" in notice and public.fingerprint in notice
    with pytest.raises(backup_crypto.BackupKeyError, match="holds a PRIVATE backup key"):
        backup_crypto.BackupPublicKey.parse(private.text())
    with pytest.raises(backup_crypto.BackupKeyError, match="is not a Quietline backup key"):
        backup_crypto.BackupPrivateKey.parse("quietline-backup-secret-1-abc", "key.txt")
    # Its sources: a file, standard input ("-"), the environment; none given: None.
    assert backup_crypto.load_private_key("-", {}, io.BytesIO(private.text().encode())) == private
    assert backup_crypto.load_private_key(None, {"IVR_BACKUP_PRIVATE_KEY": private.text()}) == private
    assert backup_crypto.load_private_key(None, {}) is None
    with pytest.raises(backup_crypto.BackupKeyError, match="cannot read the backup key file /nonexistent"):
        backup_crypto.load_private_key("/nonexistent", {})


def test_a_misconfigured_public_key_refuses_the_backup(practice) -> None:
    settings, database = practice
    for value, message in ((BACKUP_KEY.text(), "holds a PRIVATE backup key"), ("abc", "must start with")):
        wrong = make_settings(Path(settings.backup_dir).parent, settings.database_url, backup_public_key=value)
        with pytest.raises(backup_mod.BackupError, match=message):
            backup_mod.create_backup(wrong, database.engine, now=fixed())
    assert backup_mod.archives(Path(settings.backup_dir)) == []


# ------------------------------------------------------------------------------------------------- the commands


@pytest.fixture
def cli(make_app, tmp_path, monkeypatch):
    """The app on SQLite with its backups, instance and environment file under tmp_path."""
    monkeypatch.delenv("IVR_BACKUP_PRIVATE_KEY", raising=False)

    def make(**overrides):
        app = make_app(backup_dir=str(tmp_path / "backups"), env_file=str(tmp_path / "quietline.env"),
                       recordings_dir=str(tmp_path / "recordings"), **overrides)
        return app, app.test_cli_runner()
    return make


def test_backup_create_refuses_a_plain_archive_unless_asked_and_then_warns(cli, tmp_path) -> None:
    app, runner = cli(backup_public_key="")
    refused = runner.invoke(args=["backup", "create"])
    assert refused.exit_code == 1
    assert refused.output.startswith("backup failed: no backup key: IVR_BACKUP_PUBLIC_KEY is not set")
    assert "--unencrypted" in refused.output
    assert not (tmp_path / "backups").exists() or backup_mod.archives(tmp_path / "backups") == []

    plain = runner.invoke(args=["backup", "create", "--unencrypted"])
    assert plain.exit_code == 0, plain.output
    [made] = backup_mod.archives(tmp_path / "backups")
    assert made.name == "quietline-backup-20261123T150000Z.tar.gz" and not backup_crypto.is_encrypted(made)
    assert "WARNING: quietline-backup-20261123T150000Z.tar.gz is NOT encrypted" in plain.output
    # A plain archive verifies without a key (it is what it is: the doctor names it).
    verified = runner.invoke(args=["backup", "verify", str(made)])
    assert verified.exit_code == 0, verified.output


def test_verify_and_restore_take_the_key_from_a_file_stdin_or_the_environment(cli, tmp_path, monkeypatch) -> None:
    app, runner = cli()
    made = runner.invoke(args=["backup", "create"])
    assert made.exit_code == 0, made.output
    assert "WARNING" not in made.output
    [archive] = backup_mod.archives(tmp_path / "backups")
    assert archive.name.endswith(".tar.gz.enc")

    missing = runner.invoke(args=["backup", "verify", str(archive)])
    assert missing.exit_code == 1
    assert f"{archive.name}: encrypted, and no private backup key was given" in missing.output

    key_file = tmp_path / "backup.key"
    key_file.write_text(BACKUP_KEY.text() + "\n")
    by_file = runner.invoke(args=["backup", "verify", "--key-file", str(key_file), str(archive)])
    assert by_file.exit_code == 0 and f"{archive.name}: verified: " in by_file.output
    by_stdin = runner.invoke(args=["backup", "verify", "--key-file", "-", str(archive)], input=BACKUP_KEY.text())
    assert by_stdin.exit_code == 0, by_stdin.output

    wrong_file = tmp_path / "other.key"
    wrong_file.write_text(OTHER_KEY.text())
    wrong = runner.invoke(args=["backup", "restore", "--force", "--key-file", str(wrong_file), str(archive)])
    assert wrong.exit_code == 1 and "wrong backup key" in wrong.output and "nothing was changed" in wrong.output
    public_given = runner.invoke(args=["backup", "verify", "--key-file", "-", str(archive)], input=BACKUP_PUBLIC)
    assert public_given.exit_code == 1
    assert public_given.output.startswith("standard input is the PUBLIC backup key")

    monkeypatch.setenv("IVR_BACKUP_PRIVATE_KEY", BACKUP_KEY.text())
    by_env = runner.invoke(args=["backup", "restore", "--force", str(archive)])
    assert by_env.exit_code == 0, by_env.output
    assert by_env.output.startswith(f"restored {archive.name}: ")


def test_the_nightly_drill_verifies_the_sealed_archive_without_the_private_key(cli, tmp_path) -> None:
    app, runner = cli()
    drill = runner.invoke(args=["backup", "create", "--verify"])
    assert drill.exit_code == 0, drill.output
    assert "quietline-backup-20261123T150000Z.tar.gz.enc: verified: " in drill.output
    status = backup_mod.read_status(tmp_path / "backups")
    assert status["last_verified_restore_at"] == "2026-11-23T15:00:00Z"


def test_a_rollback_state_is_backed_up_and_restored_by_the_commands(cli, tmp_path) -> None:
    app, runner = cli()
    saved = connect.state_path(app.instance_path, "PN" + "1" * 32)
    saved.parent.mkdir(parents=True)
    saved.write_text('[{"previous": {"sms_url": "https://old.example/sms"}}]')
    assert runner.invoke(args=["backup", "create"]).exit_code == 0
    [archive] = backup_mod.archives(tmp_path / "backups")
    original = saved.read_bytes()
    saved.unlink()
    restored = runner.invoke(args=["backup", "restore", "--force", "--key-file", "-", str(archive)],
                             input=BACKUP_KEY.text())
    assert restored.exit_code == 0, restored.output
    assert saved.read_bytes() == original


def test_new_key_prints_the_public_line_and_the_private_half_once(cli) -> None:
    app, runner = cli()
    result = runner.invoke(args=["backup", "new-key"])
    assert result.exit_code == 0
    line = next(x.strip() for x in result.output.splitlines() if x.strip().startswith("IVR_BACKUP_PUBLIC_KEY="))
    public = backup_crypto.BackupPublicKey.parse(line.split("=", 1)[1])
    secret = next(x.strip() for x in result.output.splitlines() if x.strip().startswith("quietline-backup-secret-1-"))
    assert backup_crypto.BackupPrivateKey.parse(secret).public() == public
    assert result.output.count(secret) == 1


def test_the_backup_member_names_follow_connect_s_state_folder() -> None:
    assert backup_mod.TWILIO_STATE_DIR == connect.STATE_DIR
    assert backup_mod.ARCHIVE_SUFFIXES == (".tar.gz", ".tar.gz.enc")


def test_create_verify_and_restore_stream_a_large_recordings_folder(tmp_path) -> None:
    """40 MB of voicemails (40 of 1 MB) go through sealing, opening and restoring in chunks: Python's allocations
    during each step stay far below the folder's size (tracemalloc's peak, a count of bytes, not a timing). Only
    opening one recording to check it holds that recording whole (its cipher is one AES-GCM message)."""
    import tracemalloc

    url = f"sqlite:///{tmp_path}/live/quietline.db"
    database = db_mod.Database.from_url(url)
    db_mod.upgrade(database.engine)
    settings = make_settings(tmp_path / "live", url)
    files = RecordingFiles.from_settings(settings.recordings_dir, settings.recordings_key)
    for n in range(40):
        files.write_audio(*recording_sids(100 + n), os.urandom(1024 * 1024))
    target_settings = make_settings(tmp_path / "new", f"sqlite:///{tmp_path}/new/quietline.db")
    target = db_mod.Database.from_url(target_settings.database_url)
    peaks = {}
    try:
        for step in ("create", "verify", "restore"):
            tracemalloc.start()
            if step == "create":
                path = backup_mod.create_backup(settings, database.engine, now=fixed()).path
            elif step == "verify":
                assert restore.verify_backup(settings, database.engine, path, now=fixed(), key=BACKUP_KEY).ok
            else:
                assert restore.restore_backup(target_settings, target.engine, path, key=BACKUP_KEY).problems == []
            peaks[step] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    finally:
        database.dispose()
        target.dispose()
    assert path.stat().st_size > 40 * 1024 * 1024
    assert all(peak < 8 * 1024 * 1024 for peak in peaks.values()), peaks
