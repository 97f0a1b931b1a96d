"""Issue 15's break test S3: `backup restore --force` run as the service user, with a target it cannot write (the
environment file in root's /etc/quietline), refuses before changing anything, naming the target; and a folder the
process does not own is never chmod-ed."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.config import PROJECT_ROOT
from ivr.db import database as db_mod
from ivr.ops import backup as backup_mod
from ivr.practice.demo import seed_demo
from ivr.private_files import private_dir
from tests.helpers.ops import BACKUP_KEY, NOW, make_settings
from tests.helpers.service import DATA_KEY, RECORDINGS_KEY, TOKEN

NOBODY = 65534
# Started as root (this machine's Python lives under /root), everything imported and the database opened, then the
# process becomes `nobody` for good (setuid) before restoring, as `sudo -u quietline flask backup restore` would be.
RESTORE = """
import gzip, os, pwd, sqlite3, sys, tarfile
from pathlib import Path
from ivr.config import load_settings
from ivr.db.database import Database
from ivr.ops import backup_crypto, restore
settings = load_settings()
key = backup_crypto.load_private_key(None, os.environ)
database = Database.from_url(settings.database_url)
pwd.getpwuid(65534)
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
try:
    restore.restore_backup(settings, database.engine, Path(sys.argv[1]), force=True, key=key)
except restore.ArchiveRejected as exc:
    print(exc)
    print("\\n".join(exc.problems))
    sys.exit(3)
"""

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs the restore as another user (needs root to set up)")


def chown_tree(top: Path, uid: int) -> None:
    for path in [top, *top.rglob("*")]:
        os.chown(path, uid, uid)


def test_a_restore_that_cannot_write_a_target_changes_nothing():
    base = Path(tempfile.mkdtemp(prefix="ql-s3-"))
    try:
        os.chmod(base, 0o755)
        live, etc = base / "live", base / "etc"
        etc.mkdir()
        os.chmod(etc, 0o755)  # root's folder, which others may enter but not write (the umask may be 0077 here)
        url = f"sqlite:///{live}/data/quietline.db"
        (live / "data").mkdir(parents=True)
        settings = make_settings(live, url, env_file=str(etc / "quietline.env"), flows_dir=str(live / "flows"))
        shutil.copytree(PROJECT_ROOT / "flows", live / "flows")
        database = db_mod.Database.from_url(url)
        db_mod.upgrade(database.engine)
        seed_demo(database.sessions, NOW, ZoneInfo("America/New_York"))
        database.dispose()
        env = etc / "quietline.env"
        env.write_text(f"TWILIO_AUTH_TOKEN={TOKEN}\n")
        archive = backup_mod.create_backup(settings, db_mod.Database.from_url(url).engine, now=lambda: NOW).path
        env.write_text(f"TWILIO_AUTH_TOKEN={TOKEN}\nIVR_LOG_LEVEL=INFO\n")  # differs now: --force would replace it
        with sqlite3.connect(live / "data/quietline.db") as db:
            db.execute("DELETE FROM appointments")
            before = db.execute("SELECT count(*) FROM clients").fetchone()[0]
        chown_tree(live, NOBODY)
        os.chown(env, NOBODY, NOBODY)
        os.chmod(env, 0o600)  # the service user's file in root's folder, as the install lays it out
        done = subprocess.run(
            [sys.executable, "-c", RESTORE, str(archive)], cwd=PROJECT_ROOT,
            capture_output=True, text=True, timeout=120,
            env={"PATH": os.environ["PATH"], "HOME": str(live), "IVR_INSTANCE_DIR": str(live / "instance"),
                 "DATABASE_URL": url, "IVR_BACKUP_DIR": str(live / "backups"), "IVR_ENV_FILE": str(env),
                 "IVR_RECORDINGS_DIR": str(live / "recordings"), "IVR_FLOWS_DIR": str(live / "flows"),
                 "TWILIO_AUTH_TOKEN": TOKEN, "IVR_DATA_KEY": DATA_KEY, "IVR_RECORDINGS_KEY": RECORDINGS_KEY,
                 "IVR_BACKUP_PRIVATE_KEY": BACKUP_KEY.text(), "PYTHONDONTWRITEBYTECODE": "1"})
        assert done.returncode == 3, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert f"{env}: this user (nobody) cannot write it (its folder {etc} is not writable)" in done.stdout
        # Nothing changed: the database still lacks the appointments the archive holds, the file is as it was.
        with sqlite3.connect(live / "data/quietline.db") as db:
            assert db.execute("SELECT count(*) FROM appointments").fetchone()[0] == 0
            assert db.execute("SELECT count(*) FROM clients").fetchone()[0] == before
        assert env.read_text().endswith("IVR_LOG_LEVEL=INFO\n")
        assert oct(etc.stat().st_mode & 0o777) == "0o755"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_private_dir_leaves_a_folder_another_user_owns_as_it_is(tmp_path):
    theirs = tmp_path / "etc-quietline"
    theirs.mkdir(mode=0o750)
    os.chmod(theirs, 0o750)
    os.chown(theirs, NOBODY, NOBODY)
    assert private_dir(theirs) == theirs
    assert oct(theirs.stat().st_mode & 0o777) == "0o750"
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    os.chmod(mine, 0o755)
    private_dir(mine)
    assert oct(mine.stat().st_mode & 0o777) == "0o700"
