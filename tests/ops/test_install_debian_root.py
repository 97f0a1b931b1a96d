"""The real install, natively, into a fresh Debian 12 root (mmdebstrap + chroot): Debian's packages from its
archive, the service user, the release's virtualenv from PyPI, the migrations, units and Caddy; then a second run
that changes nothing. No systemd as PID 1 and no container daemon: the units are written and not started.

Slow (a Debian root, apt and pip: minutes), so marked ``debian_root``: ``make test`` leaves it out
(``-m "not debian_root"`` in .ci/run's first phase) and .ci/run runs it in a phase of its own, timed.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.db.database import head_revision
from ivr.ops.install import PRIVATE_KEY_FILE, PROJECT_ROOT, RELEASE_TOP, parse_env

pytestmark = [
    pytest.mark.debian_root,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mmdebstrap"),
                       reason="needs root and mmdebstrap (make deps-test installs it)"),
]


def chroot(root: Path, script: str) -> subprocess.CompletedProcess[str]:
    """``script`` in the root, in a mount namespace of its own with /proc and /dev (gone when it ends)."""
    inner = (f"mount -t proc proc {root}/proc && mount --rbind /dev {root}/dev && "
             f"exec chroot {root} /bin/sh -c \"$0\"")
    # No terminal: the installer asks for nothing (it prompts for the Twilio settings only in one).
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner, script],
                          capture_output=True, text=True, timeout=1500, stdin=subprocess.DEVNULL)


def make_root(tmp_path: Path, include: str = "") -> tuple[Path, float]:
    """A fresh Debian 12 root with the release's source in /src; (its path, the seconds mmdebstrap took)."""
    root = tmp_path / "debian"
    started = time.monotonic()
    # The host's own apt sources (no mirror named here); python3 and make are what `make install` needs.
    made = subprocess.run(["mmdebstrap", "--variant=minbase", f"--include=python3,ca-certificates,make{include}",
                           "--quiet", "bookworm", str(root)], capture_output=True, text=True, timeout=900)
    assert made.returncode == 0, made.stderr[-3000:]
    debootstrap_seconds = time.monotonic() - started
    # Packages' scripts must not start daemons in a chroot (Debian's policy-rc.d convention).
    (root / "usr/sbin/policy-rc.d").write_text("#!/bin/sh\nexit 101\n")
    (root / "usr/sbin/policy-rc.d").chmod(0o755)
    # This machine's way out: its resolver, and the local certificate authorities it trusts (a proxy's, on some
    # networks), added the Debian way (/usr/local/share/ca-certificates, update-ca-certificates).
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    for local_ca in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copy(local_ca, root / "usr/local/share/ca-certificates" / local_ca.name)
    trusted = chroot(root, "update-ca-certificates")
    assert trusted.returncode == 0, trusted.stderr
    source = root / "src"
    source.mkdir()
    for name in (*RELEASE_TOP, "Makefile"):
        item = PROJECT_ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, source / name)
    return root, debootstrap_seconds


@dataclass(frozen=True)
class InstalledTwice:
    """The first of two runs of one install command (its output) and how long each run took, in seconds."""

    first: subprocess.CompletedProcess[str]
    first_seconds: float
    second_seconds: float


def install_twice(root: Path, command: str) -> InstalledTwice:
    """``command`` (a ``make install``) run twice in ``root``: both succeed (else the assertion shows the output's
    ends) and the second changes nothing (says so, and runs no action)."""
    started = time.monotonic()
    first = chroot(root, command)
    first_seconds = time.monotonic() - started
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    started = time.monotonic()
    second = chroot(root, command)
    second_seconds = time.monotonic() - started
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    assert "nothing to change: the machine is already installed as asked" in second.stdout
    assert "== " not in second.stdout  # no action at all the second time
    return InstalledTwice(first, first_seconds, second_seconds)


def test_install_into_a_fresh_debian_root_twice(tmp_path, record_property):
    root, debootstrap_seconds = make_root(tmp_path)

    command = ("cd /src && make install ARGS='--database sqlite --domain phone.example-practice.org "
               "--twilio-number \"+1 (202) 555-0100\"'")
    installed = install_twice(root, command)
    record_property("seconds", {"root": round(debootstrap_seconds), "install": round(installed.first_seconds),
                                "second_run": round(installed.second_seconds)})
    print(f"\nDebian root {debootstrap_seconds:.0f} s, install {installed.first_seconds:.0f} s, "
          f"second run {installed.second_seconds:.0f} s")

    passwd = (root / "etc/passwd").read_text()
    assert any(line.startswith("quietline:") and line.endswith(":/usr/sbin/nologin") for line in passwd.splitlines())
    env_file = root / "etc/quietline/quietline.env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    env = parse_env(env_file.read_text())
    assert len(env["IVR_RECORDINGS_KEY"]) == 44 and env["IVR_RECORDINGS_KEY"] != env["IVR_DATA_KEY"]
    assert env["TWILIO_NUMBER"] == "+12025550100"  # the system's Python: the E.164 shape, checked and normalised
    assert "Store a copy outside this machine" in installed.first.stdout
    release = root / os.readlink(root / "opt/quietline/current").lstrip("/")
    assert (release / ".venv/bin/gunicorn").is_file() and (release / ".quietline-release").is_file()
    with sqlite3.connect(root / "var/lib/quietline/quietline.db") as db:
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision == head_revision()
    assert (root / "etc/redis/redis.conf").read_text().rstrip().endswith("include /etc/redis/quietline.conf")
    assert "phone.example-practice.org {" in (root / "etc/caddy/Caddyfile").read_text()
    assert (root / "etc/systemd/system/quietline.target").is_file()
    assert (root / "var/log/quietline/install.log").is_file()


# Account values of the right shape (not the development token's prefix): the app refuses to start without them.
TWILIO_ENV = "TWILIO_ACCOUNT_SID=AC" + "1" * 32 + " TWILIO_AUTH_TOKEN=" + "2" * 32


def as_service(command: str) -> str:
    """A shell line running the release's ``flask --app app COMMAND`` as the service user with the service's own
    environment file (what the units do: ``User=``, ``EnvironmentFile=``)."""
    return ("cd /opt/quietline/current && set -a && . /etc/quietline/quietline.env && set +a && "
            f"exec runuser -u quietline -- .venv/bin/python -m flask --app app {command}")


def test_postgresql_install_twice_then_backup_verify_restore(tmp_path, record_property):
    """Debian's PostgreSQL in the root, started there (no systemd as PID 1), then the real install twice (the
    second changes nothing), then a backup with its verified restore drill and a restore as the service user."""
    root, debootstrap_seconds = make_root(tmp_path, ",postgresql,redis-server")
    # Debian's postinst made the cluster (15/main); policy-rc.d kept it stopped. Started here, it outlives the
    # chroot's namespace (the mount namespace lives as long as the server), stopped at the end.
    started = chroot(root, "pg_ctlcluster 15 main start")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        command = (f"cd /src && {TWILIO_ENV} make install ARGS='--database postgresql "
                   "--domain phone.example-practice.org'")
        installed = install_twice(root, command)
        env = parse_env((root / "etc/quietline/quietline.env").read_text())
        assert env["DATABASE_URL"] == "postgresql+psycopg://quietline@/quietline?host=/var/run/postgresql"
        # No terminal: the backup key's private half went to a root-only file, never to the transcript.
        private_key = (root / PRIVATE_KEY_FILE.lstrip("/")).read_text().strip()
        assert env["IVR_BACKUP_PUBLIC_KEY"].startswith("quietline-backup-public-1-")
        assert private_key.startswith("quietline-backup-secret-1-")
        assert private_key not in (root / "var/log/quietline/install.log").read_text()
        revision = chroot(root, "runuser -u quietline -- psql -tAc 'SELECT version_num FROM alembic_version'")
        assert revision.stdout.strip() == head_revision(), revision.stdout + revision.stderr

        # Redis as its unit would run it (Debian's redis.conf with the installer's include: socket, password).
        redis = chroot(root, "mkdir -p /run/redis && chown redis:redis /run/redis && "
                             "runuser -u redis -- redis-server /etc/redis/redis.conf --daemonize yes")
        assert redis.returncode == 0, redis.stdout + redis.stderr
        owner = chroot(root, "export QUIETLINE_STAFF_PASSWORD='violet-harbour-lantern-42' && " + as_service(
            "staff create-owner --email owner@example.org --name 'Office Owner'"))
        assert owner.returncode == 0, owner.stdout + owner.stderr
        began = time.monotonic()
        backup = chroot(root, as_service("backup create --verify"))
        backup_seconds = time.monotonic() - began
        assert backup.returncode == 0, backup.stdout[-3000:] + backup.stderr[-3000:]
        assert "verification FAILED" not in backup.stdout + backup.stderr
        assert ": verified: " in backup.stdout
        archive = json.loads((root / "var/backups/quietline/status.json").read_text())["last_backup"]
        # Changed after the backup, so the restore has something to put back.
        gone = chroot(root, "runuser -u quietline -- psql -qc 'DELETE FROM audit_log' -c 'DELETE FROM staff_users'")
        assert gone.returncode == 0, gone.stdout + gone.stderr
        began = time.monotonic()
        restored = chroot(root, as_service(f"backup restore --force --key-file - /var/backups/quietline/{archive}")
                          + f" < {PRIVATE_KEY_FILE}")
        restore_seconds = time.monotonic() - began
        assert restored.returncode == 0, restored.stdout[-3000:] + restored.stderr[-3000:]
        assert f"restored {archive}" in restored.stdout
        emails = chroot(root, "runuser -u quietline -- psql -tAc 'SELECT email FROM staff_users'")
        assert emails.stdout.split() == ["owner@example.org"], emails.stdout + emails.stderr
    finally:
        chroot(root, "redis-cli -s /run/redis/redis-server.sock -a \"$(sed -n 's/^requirepass //p' "
                     "/etc/redis/quietline.conf)\" shutdown nosave; pg_ctlcluster 15 main stop -m fast")
    figures = {"root": round(debootstrap_seconds), "install": round(installed.first_seconds),
               "second_run": round(installed.second_seconds), "backup_verify": round(backup_seconds),
               "restore": round(restore_seconds)}
    record_property("seconds", figures)
    print(f"\nPostgreSQL: Debian root {debootstrap_seconds:.0f} s, install {installed.first_seconds:.0f} s, second run "
          f"{installed.second_seconds:.0f} s, backup + verify {backup_seconds:.0f} s, restore {restore_seconds:.0f} s "
          f"(load {os.getloadavg()[0]:.1f})")
