"""Issue 15's break test on the install (B2, B3, B4): the PostgreSQL role can create `backup verify`'s scratch
database, migrations are planned from the database's real state every run, and the container secrets land where
the documented relative path says and are never replaced."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from ivr.db import database as db_mod
from ivr.ops import backup as backup_mod
from ivr.ops import install, restore
from ivr.ops.install import MIGRATE, PROJECT_ROOT, Layout, Options, Run, pg_setup_script, plan, schema_current
from ivr.practice.demo import seed_demo
from tests.helpers.ops import ALL_PACKAGES, BACKUP_KEY, FRESH, NOW, make_settings, numbered_secrets
from tests.plugins.databases import postgres_server

OPTIONS = Options(domain="phone.example-practice.org", version="0.1.0-abc123", source=PROJECT_ROOT)
RELEASE = "/opt/quietline/releases/0.1.0-abc123"


def migrations(actions) -> list[Run]:
    return [a for a in actions if isinstance(a, Run) and a.argv[1:] == ("-c", MIGRATE)]


# --- B3: migrations from the database's state ------------------------------------------------------------------

def test_an_installed_release_whose_database_is_behind_is_migrated_again():
    installed = dataclasses.replace(FRESH, packages=ALL_PACKAGES, release_ready=True, pg_ready=True,
                                    links={"/opt/quietline/current": RELEASE})
    behind = plan(dataclasses.replace(installed, schema_current=False), Layout(), OPTIONS, numbered_secrets())
    assert migrations(behind) == [Run((f"{RELEASE}/.venv/bin/python", "-c", MIGRATE), as_user="quietline",
                                      cwd=RELEASE, why="schema migrations")]
    at_head = plan(dataclasses.replace(installed, schema_current=True), Layout(), OPTIONS, numbered_secrets())
    assert migrations(at_head) == []


def test_the_schema_state_is_read_from_the_database_the_env_file_names(db_url, tmp_path):
    """An interrupted install: the release is there, its database empty. The check (the release's own Python, the
    environment file's DATABASE_URL) says behind until the migration ran, then current."""
    layout = Layout(root=tmp_path / "root")
    release = layout.at(RELEASE)
    (release / ".venv/bin").mkdir(parents=True)
    (release / "ivr").symlink_to(PROJECT_ROOT / "ivr")
    python = release / ".venv/bin/python"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    assert schema_current(layout, RELEASE) is False  # no environment file yet
    layout.at(layout.env_file).parent.mkdir(parents=True)
    layout.at(layout.env_file).write_text(f"DATABASE_URL={db_url}\n")
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    assert schema_current(layout, RELEASE) is False  # the empty database an interrupted install leaves
    db_mod.upgrade(db_url)
    assert schema_current(layout, RELEASE) is True


# --- B2: the role may create the scratch database `backup verify` restores into ---------------------------------

@pytest.fixture
def pg_admin(request):
    """Run the installer's PostgreSQL script against the session's throwaway cluster, as its superuser."""
    server = postgres_server(request)
    made: list[str] = []

    def run_script(user: str) -> None:
        made.append(user)
        env = {**os.environ, "PATH": f"{server.bindir}:{os.environ['PATH']}", "PGHOST": str(server.base),
               "PGUSER": "postgres", "PGDATABASE": "postgres"}
        done = subprocess.run(["sh", "-c", pg_setup_script(user)], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr

    def sql(query: str):
        with psycopg.connect(host=str(server.base), user="postgres", dbname="postgres", autocommit=True) as conn:
            cursor = conn.execute(query)
            return cursor.fetchall() if cursor.description else []

    yield server, run_script, sql
    for user in made:
        sql(f'DROP DATABASE IF EXISTS "{user}" WITH (FORCE)')
        sql(f'DROP ROLE IF EXISTS "{user}"')


def test_the_installed_role_can_verify_a_backup(pg_admin, tmp_path):
    server, run_script, sql = pg_admin
    user = f"ql_{uuid.uuid4().hex[:10]}"
    run_script(user)
    run_script(user)  # idempotent: a second run changes nothing and does not fail
    assert sql(f"SELECT rolcreatedb, rolsuper FROM pg_roles WHERE rolname = '{user}'") == [(True, False)]
    url = f"postgresql+psycopg://{user}@/{user}?host={server.base}"
    database = db_mod.Database.from_url(url)
    try:
        db_mod.upgrade(database.engine)
        seed_demo(database.sessions, NOW, ZoneInfo("America/New_York"))
        settings = make_settings(tmp_path, url)
        Path(settings.env_file).write_text("TWILIO_AUTH_TOKEN=x\n")
        result = backup_mod.create_backup(settings, database.engine, now=lambda: NOW)
        report = restore.verify_backup(settings, database.engine, result.path, now=lambda: NOW, key=BACKUP_KEY)
        assert report.problems == [] and report.tables["clients"] > 0
    finally:
        database.dispose()


def test_a_role_an_older_install_made_without_createdb_gets_it(pg_admin):
    server, run_script, sql = pg_admin
    user = f"ql_{uuid.uuid4().hex[:10]}"
    sql(f'CREATE ROLE "{user}" LOGIN')
    sql(f'CREATE DATABASE "{user}" OWNER "{user}"')
    run_script(user)
    assert sql(f"SELECT rolcreatedb FROM pg_roles WHERE rolname = '{user}'") == [(True,)]


def test_the_pg_step_is_planned_until_the_role_has_createdb():
    # gather_facts' pg_ready joins on rolcreatedb: a role without it is not ready, so the script runs again.
    steps = plan(dataclasses.replace(FRESH, packages=ALL_PACKAGES, pg_ready=False), Layout(), OPTIONS,
                 numbered_secrets())
    [step] = [a for a in steps if isinstance(a, Run) and a.argv[:2] == ("runuser", "-u")
              and a.argv[2] == "postgres"]
    assert step.argv[-1] == pg_setup_script("quietline") and "--createdb" in step.argv[-1]


# --- B4: container secrets -------------------------------------------------------------------------------------

def test_container_secrets_at_the_documented_relative_path_are_written_there_once(tmp_path, monkeypatch, capsys):
    checkout = tmp_path / "checkout"
    (checkout / "ivr/ops/files").mkdir(parents=True)
    monkeypatch.chdir(checkout)
    assert install.main(["--container-secrets", "ivr/ops/files"]) == 0
    written = {name: (checkout / "ivr/ops/files" / name).read_bytes() for name in (".env", "quietline.env")}
    assert b"IVR_RECORDINGS_KEY=" in written[".env"] and b"IVR_RECORDINGS_KEY=" not in written["quietline.env"]
    assert install.parse_env(written[".env"].decode())["IVR_RECORDINGS_KEY"]
    assert not Path("/ivr/ops/files").exists()
    assert install.main(["--container-secrets", "ivr/ops/files"]) == 0
    assert {name: (checkout / "ivr/ops/files" / name).read_bytes() for name in written} == written
    for name in written:
        assert oct((checkout / "ivr/ops/files" / name).stat().st_mode & 0o777) == "0o600"


# --- S5: the nightly unit runs the restore drill, and the page shows the shipped units ----------------------------

def test_the_nightly_backup_unit_verifies_and_ops_backup_md_shows_the_shipped_units():
    units = install.render_units(Layout(), Options())
    service = units["quietline-backup.service"]
    assert "ExecStart=/opt/quietline/current/.venv/bin/python -m flask --app app backup create --verify\n" in service
    page = (PROJECT_ROOT / "docs/ops-backup.md").read_text()
    assert f"# /etc/systemd/system/quietline-backup.service\n{service.rstrip()}\n" in page
    assert f"# /etc/systemd/system/quietline-backup.timer\n{units['quietline-backup.timer'].rstrip()}\n" in page


# --- S4: the documents say exactly what an archive holds (encrypted for the backup key kept off the machine) -------

def test_hipaa_and_deploy_say_archives_are_encrypted_and_where_the_private_key_goes():
    hipaa = " ".join((PROJECT_ROOT / "docs/hipaa.md").read_text().split())
    deploy = " ".join((PROJECT_ROOT / "docs/deploy.md").read_text().split())
    backup_page = " ".join((PROJECT_ROOT / "docs/ops-backup.md").read_text().split())
    assert "not encrypted by Quietline" not in hipaa and "An archive is **not encrypted**" not in deploy
    assert "**encrypted by Quietline**" in hipaa and "**private half is kept off the machine**" in hipaa
    assert "An archive **is encrypted** (`.tar.gz.enc`)" in deploy
    assert "**Store the private backup key off this machine at once**" in deploy
    # The restore drill with the key, in each place that describes it.
    assert "backup verify --key-file - <archive>" in deploy and "backup restore --key-file - <archive>" in deploy
    assert "backup restore --key-file - <archive>` with the private backup key" in hipaa
    assert "backup verify --key-file - /mnt/offsite/quietline-backup-20261123T030000Z.tar.gz.enc" in backup_page
    assert "backup restore --key-file - /path/to/quietline-backup-20261123T030000Z.tar.gz.enc" in backup_page
    # The commands the pages name exist with the options they name.
    from ivr.ops.cli_backup import backup_cli
    commands = backup_cli.commands
    assert {"create", "verify", "restore", "new-key"} <= set(commands)
    assert "--unencrypted" in {o for p in commands["create"].params for o in p.opts}
    for name in ("verify", "restore"):
        assert "--key-file" in {o for p in commands[name].params for o in p.opts}


def test_the_env_file_header_says_who_can_read_it():
    text, _ = install.merge_env(None, [("SECRET_KEY", "s", "")])
    assert text.startswith("# Quietline's settings and secrets: readable by the service user only (0600, its own")
