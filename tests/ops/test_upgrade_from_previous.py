"""A real upgrade from the previous release and back (ivr/ops/upgrade.py, run as `make upgrade` runs it).

"The previous release" is fixed by commit id: ``PREVIOUS`` below, 3a4d0f5 (the integration branch's last commit
before migrations 0015 and 0016, with `make install`/`make upgrade` and `backup` as they shipped then). The test
takes it from this repository's history with ``git archive`` (no tag needed; a clone without that history skips),
installs it with data, upgrades to this checkout (backup first with the old release, migrations under the lock
with the new, `current` switched), checks the data, then rolls back (backup of now, restore of the pre-upgrade
archive with the old release, `current` back) and checks again.

On this machine, not a fresh one: the paths are a scratch folder's, the service user is root (runuser -u root),
no systemd (the unit restarts are planned only where it runs), no REDIS_URL (so no Redis include to write: this
machine has no ``redis`` user to own it; the commands used need no Redis), and both releases use this checkout's
virtualenv (the previous release's requirements are a subset of this one's; `pip` for each would add minutes, and the
debian_root test runs the real virtualenv build). Everything else is the upgrade's own code on real SQLite files.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from ivr.db.database import head_revision
from ivr.ops.backup_crypto import generate_backup_keypair, private_key_notice
from ivr.ops.install import PROJECT_ROOT, RELEASE_STAMP, RELEASE_TOP, CopyTree, Executor, Layout, backup_key
from ivr.ops.upgrade import UpgradeExecutor, gather_upgrade_facts, plan_rollback, plan_upgrade
from tests.helpers.service import ACCOUNT, DATA_KEY, RECORDINGS_KEY, TOKEN

PREVIOUS = "3a4d0f5"  # see the module docstring
PREVIOUS_HEAD = "0014"  # its newest migration
PASSWORD = "violet-harbour-lantern-42"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the upgrade runs its steps with runuser, as root")


def previous_commit() -> str:
    done = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--verify", "--quiet",
                           f"{PREVIOUS}^{{commit}}"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this clone lacks the previous release's commit {PREVIOUS} (a shallow clone?)")
    return done.stdout.strip()


def ready_release(folder: Path) -> None:
    """The release's virtualenv (this checkout's) and its stamp, as MakeVenv leaves them."""
    (folder / ".venv").symlink_to(PROJECT_ROOT / ".venv")
    (folder / RELEASE_STAMP).write_text("ready\n")


def flask(release: Path, env_file: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **dict(
        line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line), **extra}
    return subprocess.run([str(release / ".venv/bin/python"), "-m", "flask", "--app", "app", *args], cwd=release,
                          env=env, capture_output=True, text=True, timeout=300)


def rows(db: Path) -> tuple[str, list[str]]:
    with sqlite3.connect(db) as conn:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        emails = [e for (e,) in conn.execute("SELECT email FROM staff_users ORDER BY email")]
    return revision, emails


def test_upgrade_from_the_previous_release_with_data_then_roll_back(tmp_path):
    commit = previous_commit()
    layout = Layout(app_dir=str(tmp_path / "opt"), etc_dir=str(tmp_path / "etc"), data_dir=str(tmp_path / "data"),
                    log_dir=str(tmp_path / "log"), backup_dir=str(tmp_path / "backups"),
                    unit_dir=str(tmp_path / "units"), redis_conf=str(tmp_path / "redis/redis.conf"),
                    redis_include=str(tmp_path / "redis/quietline.conf"), caddyfile=str(tmp_path / "caddy/Caddyfile"),
                    user="root")
    old_version, new_version = f"0.1.0-{commit[:12]}", "0.1.0-thischeckout"
    old, new = Path(layout.release(old_version)), Path(layout.release(new_version))
    old.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(PROJECT_ROOT), "archive", "--format=tar", commit, *RELEASE_TOP],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    ready_release(old)
    Path(layout.current).symlink_to(old)
    for folder in (layout.etc_dir, layout.data_dir, layout.backup_dir, f"{layout.data_dir}/recordings",
                   f"{layout.data_dir}/instance"):
        Path(folder).mkdir(parents=True, exist_ok=True)
    shutil.copytree(old / "flows", layout.flows_dir)
    database = Path(layout.data_dir) / "quietline.db"
    env_file = Path(layout.env_file)
    env_file.write_text("".join(f"{k}={v}\n" for k, v in {
        "PUBLIC_BASE_URL": "https://phone.example-practice.org", "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN, "DATABASE_URL": f"sqlite:///{database}",
        "IVR_DATA_KEY": DATA_KEY, "IVR_RECORDINGS_KEY": RECORDINGS_KEY, "SECRET_KEY": "s" * 64,
        "IVR_INSTANCE_DIR": f"{layout.data_dir}/instance", "IVR_RECORDINGS_DIR": f"{layout.data_dir}/recordings",
        "IVR_FLOWS_DIR": layout.flows_dir, "IVR_BACKUP_DIR": layout.backup_dir, "IVR_ENV_FILE": layout.env_file,
        "FLASK_SKIP_DOTENV": "1"}.items()))
    env_file.chmod(0o600)

    # The previous release installed, with its schema and data, by its own code.
    which = subprocess.run([str(old / ".venv/bin/python"), "-c", "import ivr; print(ivr.__file__)"], cwd=old,
                           capture_output=True, text=True)
    assert which.stdout.strip() == str(old / "ivr/__init__.py"), which.stdout + which.stderr
    migrated = flask(old, env_file, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    made = flask(old, env_file, "staff", "create-owner", "--email", "owner@example.org", "--name", "Office Owner",
                 QUIETLINE_STAFF_PASSWORD=PASSWORD)
    assert made.returncode == 0, made.stdout + made.stderr
    assert rows(database) == (PREVIOUS_HEAD, ["owner@example.org"])

    # This checkout beside it: the upgrade's own copy step, done ahead so its virtualenv can be this one's.
    Executor(layout, tmp_path / "copy.log", echo=lambda line: None).apply(
        CopyTree(str(PROJECT_ROOT), str(new), RELEASE_TOP))
    ready_release(new)
    executor = UpgradeExecutor(layout, tmp_path / "upgrade.log", echo=lambda line: None)
    executor.run(plan_upgrade(gather_upgrade_facts(layout), layout, new_version, PROJECT_ROOT))

    assert os.readlink(layout.current) == str(new)
    assert rows(database) == (head_revision(), ["owner@example.org"])
    record = json.loads((Path(layout.data_dir) / "upgrade.json").read_text())
    assert record["previous_release"] == str(old) and record["release"] == str(new)
    assert (Path(layout.backup_dir) / record["backup"]).is_file()  # taken first, by the previous release
    assert "ExecStart=" in (Path(layout.unit_dir) / "quietline-web.service").read_text()
    # `make upgrade` then gives a machine installed before encrypted backups its key pair (the installer's step).
    public, private = generate_backup_keypair()
    backup_key(layout, tmp_path / "upgrade.log", terminal=True,
               generate=lambda: (public.text(), private.text(), private_key_notice(private)))
    # Data added on the new release (kept in the rollback's own backup, not in the restored database).
    later = flask(new, env_file, "staff", "create-owner", "--email", "later@example.org", "--name", "Later Person",
                  QUIETLINE_STAFF_PASSWORD=PASSWORD)
    assert later.returncode == 0, later.stdout + later.stderr

    executor.run(plan_rollback(gather_upgrade_facts(layout), layout))
    assert os.readlink(layout.current) == str(old)
    assert rows(database) == (PREVIOUS_HEAD, ["owner@example.org"])
    record = json.loads((Path(layout.data_dir) / "upgrade.json").read_text())
    assert record["rolled_back_at"] and Path(record["rollback_backup"]).is_file()
    assert not (Path(layout.unit_dir) / "quietline-web.service").exists()  # shipped files put back as they were
    # The previous release serves the restored database: its own check of the schema passes.
    current = flask(old, env_file, "db", "current")
    assert current.returncode == 0 and PREVIOUS_HEAD in current.stdout, current.stdout + current.stderr
