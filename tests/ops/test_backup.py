"""Backups (ivr/ops/backup.py, restore.py, db_dump.py) on a real SQLite file and a real PostgreSQL server.

A backup taken while a thread keeps writing rows and recordings is verified (scratch database,
counts and hashes against the manifest, every recording opened with the archive's key) and restored
into a second database — for PostgreSQL, on a second cluster — where the integrity check, the row
counts and the recordings (opened with the restored key) are checked. A tampered archive and a wrong
key fail verification, naming what is wrong; a database with data is only replaced with --force.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import stat
import tarfile
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ivr.config import Settings
from ivr.db import database as db_mod
from ivr.encryption import FileCipher, generate_key
from ivr.escalations.recording_files import RecordingFiles
from ivr.ops import backup as backup_mod
from ivr.ops import backup_crypto, connect, db_dump, restore
from ivr.practice.demo import seed_demo
from ivr.practice.models import Client, Clinician
from tests.helpers.ops import BACKUP_KEY, NOW, NY, WAV, fixed, fresh_target, make_settings, recording_sids
from tests.helpers.service import RECORDINGS_KEY
from tests.plugins.databases import PostgresServer, postgres_server


class Writer(threading.Thread):
    """Keeps adding clinicians (one per transaction) and sealed voicemails until stopped."""

    def __init__(self, database: db_mod.Database, settings: Settings):
        super().__init__(daemon=True)
        self.database, self.settings = database, settings
        self.stop = threading.Event()
        self.started_writing = threading.Event()
        self.written = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        files = RecordingFiles.from_settings(self.settings.recordings_dir, self.settings.recordings_key)
        try:
            while not self.stop.is_set():
                with self.database.sessions() as session, session.begin():
                    session.add(Clinician(id=f"w{self.written}", name="Writer", working_hours={}))
                files.write_audio(*recording_sids(1000 + self.written), WAV)
                self.written += 1
                if self.written >= 20:
                    self.started_writing.set()
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.started_writing.set()


def count(database: db_mod.Database, model) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_backup_under_concurrent_writes_verifies_and_restores(practice, db_url, tmp_path, request) -> None:
    settings, database = practice
    # `twilio connect`'s saved URLs (what --rollback puts back) live in the instance folder: archived too.
    instance = tmp_path / "instance"
    saved = connect.state_path(instance, "PN" + "0" * 32)
    saved.parent.mkdir(parents=True)
    saved.write_text(json.dumps([{"previous": {"voice_url": "https://old.example/voice"}}]))
    writer = Writer(database, settings)
    writer.start()
    assert writer.started_writing.wait(60)
    try:
        before = count(database, Clinician)
        result = backup_mod.create_backup(settings, database.engine, now=fixed(), instance_dir=instance)
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.error is None
    after = count(database, Clinician)
    manifest = result.manifest
    # The counts describe the copy taken at one instant between the first and the last write.
    assert before <= manifest["tables"]["clinicians"] <= after
    assert manifest["tables"]["clients"] == 7 and manifest["migration_revision"] == db_mod.head_revision()
    assert manifest["created_at"] == "2026-11-23T15:00:00Z"
    assert manifest["database"]["backend"] == ("sqlite" if db_url.startswith("sqlite") else "postgresql")
    sealed = [name for name in manifest["files"] if name.startswith("recordings/")]
    assert len(sealed) >= 22
    assert {"config/flows/practice.yaml", "config/env", "secrets/secrets.env",
            f"config/twilio/{saved.name}"} <= set(manifest["files"])
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert result.path.name == "quietline-backup-20261123T150000Z.tar.gz.enc"
    assert backup_crypto.is_encrypted(result.path)

    report = restore.verify_backup(settings, database.engine, result.path, now=fixed(NOW + dt.timedelta(hours=1)),
                                   key=BACKUP_KEY)
    assert report.problems == []
    assert report.tables == manifest["tables"] and report.recordings_opened == len(sealed)
    assert backup_mod.read_status(Path(settings.backup_dir)) == {
        "last_backup_at": "2026-11-23T15:00:00Z", "last_backup": result.path.name,
        "last_verified_restore_at": "2026-11-23T16:00:00Z"}

    # Restored on another machine: its own (new) keys, an empty database, empty folders.
    new_key = generate_key()
    target_url = fresh_target(db_url, tmp_path, request)
    target_settings = make_settings(tmp_path / "new", target_url, recordings_key=new_key,
                                    flows_dir=str(tmp_path / "new" / "flows"))
    Path(target_settings.flows_dir).mkdir(parents=True)
    target = db_mod.Database.from_url(target_url)
    try:
        done = restore.restore_backup(target_settings, target.engine, result.path, key=BACKUP_KEY,
                                      instance_dir=tmp_path / "new-instance")
        assert done.problems == [] and done.tables == manifest["tables"]
        if target.is_sqlite:
            assert db_dump.sqlite_integrity(db_dump.sqlite_path(target.engine)) == []
        with target.sessions() as session:
            names = sorted(session.scalars(select(Client.first_name)))
        with database.sessions() as session:
            assert names == sorted(session.scalars(select(Client.first_name)))
        assert db_mod.current_revision(target.engine) == db_mod.head_revision()
    finally:
        target.dispose()
    # The backup's keys are handed over (they differ from the new machine's) and open every recording.
    assert done.secrets_file is not None and stat.S_IMODE(done.secrets_file.stat().st_mode) == 0o600
    restored_env = dict(line.split("=", 1) for line in done.secrets_file.read_text().splitlines())
    assert restored_env["IVR_RECORDINGS_KEY"] == RECORDINGS_KEY
    restored = RecordingFiles(Path(target_settings.recordings_dir), FileCipher.from_setting(
        restored_env["IVR_RECORDINGS_KEY"]))
    assert sorted(p.name for p in restored.directory.iterdir()) == sorted(n.split("/", 1)[1] for n in sealed)
    for n in (1, 2, 1000):
        assert restored.read_audio(*recording_sids(n)) == WAV
    assert (Path(target_settings.flows_dir) / "practice.yaml").read_bytes() == \
        (Path(settings.flows_dir) / "practice.yaml").read_bytes()
    assert Path(target_settings.env_file).read_text() == Path(settings.env_file).read_text()
    restored_state = connect.state_path(tmp_path / "new-instance", "PN" + "0" * 32)
    assert restored_state.read_bytes() == saved.read_bytes()
    assert stat.S_IMODE(restored_state.stat().st_mode) == 0o600


def decrypted(archive: Path) -> bytes:
    """The plain tar.gz inside a sealed archive (opened with the tests' private key)."""
    with archive.open("rb") as f:
        return backup_crypto.OpeningReader(f, BACKUP_KEY).read()  # type: ignore[return-value]


def sealed(plain: bytes, out: Path, public: str) -> Path:
    """``plain`` sealed for ``public`` into ``out``: what anyone holding the public half could make."""
    with out.open("wb") as f, backup_crypto.SealingWriter(f, backup_crypto.BackupPublicKey.parse(public)) as w:
        w.write(plain)
    return out


def rewrite(archive: Path, out: Path, change) -> Path:
    """A copy of the sealed ``archive`` with members passed through ``change(name, data) -> data | None`` (None:
    dropped), sealed again for the same public key: the manifest's checks must catch it after decryption."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(decrypted(archive)), mode="r:gz") as src, \
            tarfile.open(fileobj=plain, mode="w:gz") as dst:
        for member in src:
            stream = src.extractfile(member)
            assert stream is not None
            data = change(member.name, stream.read())
            if data is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return sealed(plain.getvalue(), out, BACKUP_KEY.public().text())


def test_a_tampered_archive_fails_verify_and_restores_nothing(practice, tmp_path) -> None:
    settings, database = practice
    archive = backup_mod.create_backup(settings, database.engine, now=fixed()).path
    name = "recordings/" + RecordingFiles.from_settings(settings.recordings_dir, RECORDINGS_KEY).audio_path(
        *recording_sids(2)).name

    def flip(member: str, data: bytes) -> bytes | None:
        if member == name:
            return data[:-1] + bytes([data[-1] ^ 1])
        if member == "config/flows/crisis.yaml":
            return None
        return data

    tampered = rewrite(archive, tmp_path / "tampered.tar.gz.enc", flip)
    report = restore.verify_backup(settings, database.engine, tampered, now=fixed(), key=BACKUP_KEY)
    assert not report.ok
    assert any(p.startswith(f"{name}: sha256 ") for p in report.problems)
    assert "config/flows/crisis.yaml: listed in the manifest, missing from the archive" in report.problems
    assert any(p.startswith(name) and "does not open" in p for p in report.problems)
    assert backup_mod.read_status(Path(settings.backup_dir))["last_verified_restore_at"] is None

    target_url = f"sqlite:///{tmp_path}/t/quietline.db"
    target = db_mod.Database.from_url(target_url)
    try:
        with pytest.raises(restore.ArchiveRejected) as refused:
            restore.restore_backup(make_settings(tmp_path / "t", target_url), target.engine, tampered,
                                   key=BACKUP_KEY)
        assert any(p.startswith(f"{name}: sha256 ") for p in refused.value.problems)
        assert db_dump.table_counts(target.engine) == {}
        assert not (tmp_path / "t" / "recordings").exists()
    finally:
        target.dispose()

    # A plain archive cut short (one that was never sealed) is refused as unreadable.
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(decrypted(archive)[: archive.stat().st_size // 2])
    report = restore.verify_backup(settings, database.engine, truncated, now=fixed())
    assert len(report.problems) == 1 and report.problems[0].startswith("truncated.tar.gz: unreadable")


def test_a_wrong_key_fails_verify_naming_each_recording(practice) -> None:
    settings, database = practice
    wrong = make_settings(Path(settings.backup_dir).parent, settings.database_url, recordings_key=generate_key())
    archive = backup_mod.create_backup(wrong, database.engine, now=fixed()).path
    report = restore.verify_backup(wrong, database.engine, archive, now=fixed(), key=BACKUP_KEY)
    files = RecordingFiles.from_settings(settings.recordings_dir, RECORDINGS_KEY)
    assert sorted(p.split(":")[0] for p in report.problems) == sorted(
        f"recordings/{files.audio_path(*recording_sids(n)).name}" for n in (1, 2))
    assert all("does not open with the archive's key" in p for p in report.problems)


def test_restore_over_data_needs_force(practice, tmp_path) -> None:
    settings, database = practice
    archive = backup_mod.create_backup(settings, database.engine, now=fixed()).path
    with database.sessions() as session, session.begin():
        session.add(Clinician(id="later", name="Added after the backup", working_hours={}))
    with pytest.raises(restore.ArchiveRejected, match="holds data: nothing was restored"):
        restore.restore_backup(settings, database.engine, archive, key=BACKUP_KEY)
    assert count(database, Clinician) == 3
    if not database.is_sqlite:
        return  # PostgreSQL: restoring a schema over itself is the same pg_restore --clean as above
    done = restore.restore_backup(settings, database.engine, archive, force=True, key=BACKUP_KEY)
    assert done.problems == [] and count(database, Clinician) == 2


def test_archives_are_private_status_is_written_and_old_ones_pruned(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/live/quietline.db"
    database = db_mod.Database.from_url(url)
    db_mod.upgrade(database.engine)
    settings = make_settings(tmp_path / "live", url, backup_keep=2)
    try:
        made = [backup_mod.create_backup(settings, database.engine, now=fixed(NOW + dt.timedelta(hours=h))).path
                for h in range(3)]
    finally:
        database.dispose()
    folder = Path(settings.backup_dir)
    assert backup_mod.archives(folder) == made[1:]
    assert not made[0].exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted([made[1].name, made[2].name, "status.json"])
    status_path = folder / "status.json"
    assert stat.S_IMODE(status_path.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert json.loads(status_path.read_text()) == {"last_backup_at": "2026-11-23T17:00:00Z",
                                                   "last_backup": "quietline-backup-20261123T170000Z.tar.gz.enc",
                                                   "last_verified_restore_at": None}
    with tarfile.open(fileobj=io.BytesIO(decrypted(made[2])), mode="r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert set(manifest) == {"format", "created_at", "app_version", "migration_revision", "database", "tables",
                             "files", "encrypted_for"}
    assert manifest["encrypted_for"] == BACKUP_KEY.public().fingerprint
    assert manifest["tables"]["clients"] == 0 and manifest["tables"]["alembic_version"] == 1


def test_a_postgres_database_in_its_public_schema_restores_into_a_second_cluster(request, tmp_path) -> None:
    """The production shape: a whole database, tables in "public" (the other tests use a schema each)."""
    server = postgres_server(request)
    name = f"p_{uuid.uuid4().hex[:12]}"
    server._admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@/{name}?host={server.base}"
    database = db_mod.Database.from_url(url)
    try:
        db_mod.upgrade(database.engine)
        seed_demo(database.sessions, NOW, NY)
        settings = make_settings(tmp_path / "live", url)
        result = backup_mod.create_backup(settings, database.engine, now=fixed())
        assert result.manifest["database"]["schema"] == "public" and result.manifest["tables"]["clients"] == 7
        assert restore.verify_backup(settings, database.engine, result.path, now=fixed(),
                                     key=BACKUP_KEY).problems == []
    finally:
        database.dispose()
        server._admin(f'DROP DATABASE "{name}" WITH (FORCE)')
    cluster: PostgresServer = request.getfixturevalue("second_cluster")
    cluster._admin(f'CREATE DATABASE "{name}"')
    target_url = f"postgresql+psycopg://postgres@/{name}?host={cluster.base}"
    target = db_mod.Database.from_url(target_url)
    try:
        done = restore.restore_backup(make_settings(tmp_path / "new", target_url, flows_dir=str(tmp_path)),
                                      target.engine, result.path, key=BACKUP_KEY)
        assert done.problems == [] and done.tables == result.manifest["tables"]
        assert db_mod.is_current(target.engine) and count(target, Client) == 7
    finally:
        target.dispose()


def test_a_failing_pg_tool_is_reported_without_the_rows_it_quotes() -> None:
    stderr = ('pg_restore: error: COPY failed for table "clients": ERROR:  invalid input syntax\n'
              'CONTEXT:  COPY clients, line 1: "p1\tPat\tDoe\t1980-01-02"\n'
              'pg_restore: error: could not execute query: ERROR:  schema "public" already exists\n'
              'Command was: CREATE SCHEMA public;\n')
    assert db_dump.tool_errors(stderr) == (
        'pg_restore: error: COPY failed for table "clients": ERROR:  invalid input syntax | '
        'pg_restore: error: could not execute query: ERROR:  schema "public" already exists')


def test_restore_keeps_files_that_differ_unless_forced(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/live/quietline.db"
    database = db_mod.Database.from_url(url)
    db_mod.upgrade(database.engine)
    settings = make_settings(tmp_path / "live", url)
    Path(settings.env_file).write_text("TWILIO_AUTH_TOKEN=old\n")
    try:
        archive = backup_mod.create_backup(settings, database.engine, now=fixed()).path
    finally:
        database.dispose()
    target_url = f"sqlite:///{tmp_path}/new/quietline.db"
    flows = tmp_path / "new" / "flows"
    flows.mkdir(parents=True)
    (flows / "practice.yaml").write_text("# edited on the new machine\n")
    target_settings = make_settings(tmp_path / "new", target_url, flows_dir=str(flows))
    Path(target_settings.env_file).write_text("TWILIO_AUTH_TOKEN=new\n")
    target = db_mod.Database.from_url(target_url)
    try:
        done = restore.restore_backup(target_settings, target.engine, archive, key=BACKUP_KEY)
        assert sorted(done.kept) == sorted([str(flows / "practice.yaml"), target_settings.env_file])
        assert (flows / "practice.yaml").read_text() == "# edited on the new machine\n"
        assert (flows / "main.yaml").read_bytes() == (Path(settings.flows_dir) / "main.yaml").read_bytes()
        assert done.secrets_file is None  # the same keys and token as the service runs with
        forced = restore.restore_backup(target_settings, target.engine, archive, force=True, key=BACKUP_KEY)
        assert forced.kept == [] and Path(target_settings.env_file).read_text() == "TWILIO_AUTH_TOKEN=old\n"
        assert (flows / "practice.yaml").read_bytes() == (Path(settings.flows_dir) / "practice.yaml").read_bytes()
    finally:
        target.dispose()
