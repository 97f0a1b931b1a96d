"""The production install (ivr/ops/install.py): the planner (facts in, actions out), a real run into a scratch root
and a second run that changes nothing, secrets never overwritten, and the shipped units checked by systemd."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import pytest

from ivr.ops.install import (
    MIGRATE,
    PROJECT_ROOT,
    ROLE_UNITS,
    STARTED_UNITS,
    UNITS,
    AddToGroup,
    AptInstall,
    CopyTree,
    CreateUser,
    EnsureLine,
    Executor,
    Facts,
    InstallError,
    Layout,
    MakeDir,
    MakeVenv,
    Note,
    Options,
    Run,
    Symlink,
    Systemctl,
    WriteFile,
    gather_facts,
    parse_env,
    plan,
    plan_container_secrets,
    redis_password,
    render_caddyfile,
    render_units,
)
from tests.helpers.ops import ALL_PACKAGES, FRESH, numbered_secrets

LAYOUT = Layout()
OPTIONS = Options(domain="phone.example-practice.org", version="0.1.0-abc123", source=PROJECT_ROOT)
DISTRO_REDIS_CONF = "bind 127.0.0.1 -::1\nport 6379\nappendonly no\n"
DISTRO_CADDYFILE = ":80 {\n\troot * /usr/share/caddy\n\tfile_server\n}\n"


def written(actions, path: str) -> WriteFile:
    found = [a for a in actions if isinstance(a, WriteFile) and a.path == path]
    assert len(found) == 1, f"{path} written {len(found)} times"
    return found[0]


def changes(actions):
    return [a for a in actions if not isinstance(a, Note)]


def test_a_fresh_debian_machine_gets_packages_user_secrets_units_and_tls():
    actions = plan(FRESH, LAYOUT, OPTIONS, numbered_secrets())

    assert actions[0] == AptInstall(("python3-venv", "redis-server", "caddy", "ca-certificates", "postgresql"))
    assert CreateUser("quietline", "/var/lib/quietline") in actions
    assert AddToGroup("quietline", "redis") in actions
    env_file = written(actions, "/etc/quietline/quietline.env")
    assert (env_file.mode, env_file.owner) == (0o600, "quietline")
    env = parse_env(env_file.content.decode())
    assert env["IVR_DATA_KEY"] == "data-2" and env["IVR_RECORDINGS_KEY"] == "recordings-3"
    assert env["SECRET_KEY"] == "secret-4"
    assert env["REDIS_URL"] == "unix:///run/redis/redis-server.sock?password=redis-1"
    assert env["DATABASE_URL"] == "postgresql+psycopg://quietline@/quietline?host=/var/run/postgresql"
    assert env["PUBLIC_BASE_URL"] == "https://phone.example-practice.org"
    assert env["IVR_FLOWS_DIR"] == "/etc/quietline/flows" and env["IVR_BACKUP_DIR"] == "/var/backups/quietline"
    # Twilio's own secrets are never invented: they are asked for.
    assert env["TWILIO_AUTH_TOKEN"] == ""
    notes = [a.text for a in actions if isinstance(a, Note)]
    assert any("Store a copy outside this machine" in n and "IVR_RECORDINGS_KEY" in n for n in notes)
    assert any("TWILIO_AUTH_TOKEN are not set" in n for n in notes)

    redis_conf = written(actions, "/etc/redis/quietline.conf")
    assert (redis_conf.mode, redis_conf.owner, redis_conf.group) == (0o640, "redis", "redis")
    lines = redis_conf.content.decode().splitlines()
    for line in ("appendonly yes", "appendfsync everysec", "maxmemory-policy noeviction", "port 0",
                 "unixsocket /run/redis/redis-server.sock", "unixsocketperm 770", "requirepass redis-1"):
        assert line in lines

    # redis-server (and its redis.conf) comes with this run's apt-get: the include is added once it is there.
    assert EnsureLine("/etc/redis/redis.conf", "include /etc/redis/quietline.conf", "# Quietline (ivr.ops.install)") \
        in actions
    caddy = written(actions, "/etc/caddy/Caddyfile").content.decode()
    assert "phone.example-practice.org {" in caddy
    assert 'Strict-Transport-Security "max-age=31536000; includeSubDomains"' in caddy
    assert "reverse_proxy 127.0.0.1:8000" in caddy

    release = "/opt/quietline/releases/0.1.0-abc123"
    assert CopyTree(str(PROJECT_ROOT), release, ("app.py", "pyproject.toml", "requirements.txt", "README.md", "ivr",
                                                 "workers", "flows", "docs")) in actions
    assert MakeVenv(release, "/usr/bin/python3") in actions
    migrate = next(a for a in actions if isinstance(a, Run) and a.why == "schema migrations")
    assert migrate.argv == (f"{release}/.venv/bin/python", "-c", MIGRATE)
    assert (migrate.as_user, migrate.cwd) == ("quietline", release)
    assert Symlink("/opt/quietline/current", release) in actions
    # The migration runs before `current` moves, and the roles restart last.
    assert actions.index(migrate) < actions.index(Symlink("/opt/quietline/current", release))
    for name in UNITS:
        assert written(actions, f"/etc/systemd/system/{name}").mode == 0o644
    assert Systemctl("enable", STARTED_UNITS + ROLE_UNITS) in actions
    assert Systemctl("restart", ("redis-server.service",)) in actions
    assert Systemctl("reload-or-restart", ("caddy.service",)) in actions
    # No Twilio token yet: the roles are enabled, not started into a restart loop.
    assert not any(isinstance(a, Systemctl) and a.units == STARTED_UNITS and a.verb == "restart" for a in actions)


def test_every_role_unit_is_hardened_and_restarts_always():
    units = render_units(LAYOUT, OPTIONS)
    for name in ROLE_UNITS:
        lines = units[name].splitlines()
        for line in ("User=quietline", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                     "PrivateTmp=yes", "Restart=always", "UMask=0077", "EnvironmentFile=/etc/quietline/quietline.env",
                     "ReadWritePaths=/var/lib/quietline /var/log/quietline", "WantedBy=quietline.target"):
            assert line in lines, (name, line)
    assert "ExecStart=/opt/quietline/current/.venv/bin/python -m workers.run --queues urgent" in \
        units["quietline-worker-urgent.service"].splitlines()
    assert "ExecStart=/opt/quietline/current/.venv/bin/python -m workers.run --queues urgent,calls" in \
        units["quietline-worker.service"].splitlines()
    assert "ExecStart=/opt/quietline/current/.venv/bin/python -m workers.run --queues speech" in \
        units["quietline-worker-speech.service"].splitlines()
    assert "ExecStart=/opt/quietline/current/.venv/bin/python -m workers.scheduler" in \
        units["quietline-scheduler.service"].splitlines()
    backup = units["quietline-backup.service"].splitlines()
    assert "ExecStart=/opt/quietline/current/.venv/bin/python -m flask --app app backup create --verify" in backup
    assert "Type=oneshot" in backup and "ReadWritePaths=/var/backups/quietline" in backup
    assert not any(line.startswith("Restart=") for line in backup)
    assert "OnCalendar=*-*-* 02:30:00" in units["quietline-backup.timer"].splitlines()


def test_a_backup_folder_chosen_in_the_environment_file_is_made_and_writable_by_the_nightly_unit():
    """bt15 s24 SF2: IVR_BACKUP_DIR set to a mounted backup disk in quietline.env, then `make install` again: the
    folder is made (0700, the service user's) and the nightly unit may write there (ProtectSystem=strict leaves
    every path it does not name read-only)."""
    layout = LAYOUT.with_settings({"IVR_BACKUP_DIR": "/mnt/backup/quietline/"})
    assert layout.backup_dir == "/mnt/backup/quietline"
    backup = render_units(layout, OPTIONS)["quietline-backup.service"].splitlines()
    assert "ReadWritePaths=/mnt/backup/quietline" in backup
    assert "ReadWritePaths=/var/backups/quietline" not in backup
    actions = plan(FRESH, layout, OPTIONS, numbered_secrets())
    assert MakeDir("/mnt/backup/quietline", 0o700, "quietline", "quietline") in actions
    assert LAYOUT.with_settings({}) is LAYOUT
    assert LAYOUT.with_settings({"IVR_BACKUP_DIR": "/var/backups/quietline"}) is LAYOUT
    for bad in ("backups", "/mnt/my backups"):
        with pytest.raises(InstallError, match="IVR_BACKUP_DIR in /etc/quietline/quietline.env must be an absolute"):
            LAYOUT.with_settings({"IVR_BACKUP_DIR": bad})


def test_a_restarted_speech_worker_loading_its_model_is_never_killed_by_systemd():
    """fix13-bt B1, the systemd side: ``make run``'s supervisor killed a restarted speech worker still loading its
    model. The shipped units have no such trap: every role is Type=simple (started as soon as it is forked, so
    TimeoutStartSec never runs out during a model load) with no WatchdogSec (no sd_notify heartbeat expected), and
    a worker is restarted (Restart=always) only when it really dies."""
    units = render_units(LAYOUT, OPTIONS)
    for name in ROLE_UNITS:
        lines = units[name].splitlines()
        assert "Type=simple" in lines, name
        assert not any(line.startswith(("WatchdogSec=", "TimeoutStartSec=", "Type=notify")) for line in lines), name


def test_ubuntu_2204_gets_python_311_and_is_told_where_caddy_comes_from():
    jammy = dataclasses.replace(FRESH, os_id="ubuntu", os_version="22.04", caddy_available=False)
    with pytest.raises(InstallError, match="no caddy package.*caddyserver.com/docs/install"):
        plan(jammy, LAYOUT, OPTIONS, numbered_secrets())
    actions = plan(dataclasses.replace(jammy, caddy_available=True), LAYOUT, OPTIONS, numbered_secrets())
    assert actions[0] == AptInstall(("python3.11", "python3.11-venv", "redis-server", "caddy", "ca-certificates",
                                     "postgresql"))
    assert MakeVenv("/opt/quietline/releases/0.1.0-abc123", "/usr/bin/python3.11") in actions


def test_an_unsupported_system_is_refused_by_name():
    with pytest.raises(InstallError, match="not centos 9"):
        plan(dataclasses.replace(FRESH, os_id="centos", os_version="9"), LAYOUT, OPTIONS, numbered_secrets())


def test_sqlite_trial_needs_no_postgresql():
    actions = plan(FRESH, LAYOUT, dataclasses.replace(OPTIONS, database="sqlite"), numbered_secrets())
    assert "postgresql" not in actions[0].packages
    env = parse_env(written(actions, "/etc/quietline/quietline.env").content.decode())
    assert env["DATABASE_URL"] == "sqlite:////var/lib/quietline/quietline.db"
    assert not any(isinstance(a, Run) and a.argv[:3] == ("runuser", "-u", "postgres") for a in actions)


def test_existing_settings_and_secrets_are_never_overwritten():
    existing = ("# ours\nIVR_DATA_KEY=kept-data-key\nIVR_RECORDINGS_KEY=kept-recordings-key\nLOG_LEVEL=DEBUG\n"
                "PUBLIC_BASE_URL=\nREDIS_URL=unix:///run/redis/redis-server.sock?password=kept-pw\n")
    env_fact = {"/etc/quietline/quietline.env": _fact(existing, 0o644)}
    actions = plan(dataclasses.replace(FRESH, files=env_fact), LAYOUT, OPTIONS, numbered_secrets())
    text = written(actions, "/etc/quietline/quietline.env").content.decode()
    assert text.startswith(existing.replace("PUBLIC_BASE_URL=\n", "PUBLIC_BASE_URL=https://phone.example-practice.org\n"))
    env = parse_env(text)
    assert (env["IVR_DATA_KEY"], env["IVR_RECORDINGS_KEY"], env["LOG_LEVEL"]) == \
        ("kept-data-key", "kept-recordings-key", "DEBUG")
    assert env["SECRET_KEY"].startswith("secret-")  # only the missing one is added
    assert written(actions, "/etc/quietline/quietline.env").mode == 0o600  # and a readable file is closed
    assert "requirepass kept-pw" in written(actions, "/etc/redis/quietline.conf").content.decode().splitlines()
    assert not any(isinstance(a, Note) and "IVR_RECORDINGS_KEY" in a.text for a in actions)


def _fact(text: str, mode: int, owner: str = "quietline"):
    from ivr.ops.install import FileFact

    return FileFact(text.encode(), mode, owner, owner)


@pytest.fixture
def scratch_root(tmp_path):
    """A machine's root folder with what Debian would have: os-release, users, the distribution's redis.conf and
    Caddyfile."""
    root = tmp_path / "root"
    (root / "etc/redis").mkdir(parents=True)
    (root / "etc/caddy").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\nredis:x:998:998::/var/lib/redis:/usr/sbin/nologin\n"
                                     "quietline:x:997:997::/var/lib/quietline:/usr/sbin/nologin\n")
    (root / "etc/group").write_text("root:x:0:\nredis:x:998:quietline\nquietline:x:997:\n")
    (root / "etc/redis/redis.conf").write_text(DISTRO_REDIS_CONF)
    (root / "etc/caddy/Caddyfile").write_text(DISTRO_CADDYFILE)
    return root


def _machine_facts(layout: Layout, options: Options) -> Facts:
    """What gather_facts reads from the scratch root, with what only a real machine has (packages, PostgreSQL, the
    release's virtualenv to ask the schema's state: the executor skips the migration here)."""
    return dataclasses.replace(gather_facts(layout, options), packages=ALL_PACKAGES, pg_ready=True,
                               schema_current=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="setting owners (quietline, redis) needs root, as the install does")
def test_install_into_a_scratch_root_then_a_second_run_changes_nothing(scratch_root, tmp_path):
    layout = Layout(root=scratch_root)
    transcript = tmp_path / "install.log"
    first = plan(_machine_facts(layout, OPTIONS), layout, OPTIONS, numbered_secrets())
    made = Executor(layout, transcript, system=False, echo=lambda line: None).run(first)
    assert made == len(changes(first))

    env_path = scratch_root / "etc/quietline/quietline.env"
    assert oct(env_path.stat().st_mode & 0o777) == "0o600" and env_path.stat().st_uid == 997
    env_text = env_path.read_text()
    conf = (scratch_root / "etc/redis/redis.conf").read_text()
    assert conf.startswith(DISTRO_REDIS_CONF) and conf.endswith("include /etc/redis/quietline.conf\n")
    assert (scratch_root / "etc/caddy/Caddyfile.before-quietline").read_text() == DISTRO_CADDYFILE
    current = scratch_root / "opt/quietline/current"
    assert os.readlink(current) == "/opt/quietline/releases/0.1.0-abc123"
    release = scratch_root / "opt/quietline/releases/0.1.0-abc123"
    assert (release / "app.py").is_file() and (release / "workers/run.py").is_file()
    assert not (release / "tests").exists() and not list(release.rglob("__pycache__"))
    assert (scratch_root / "etc/quietline/flows/practice.yaml").is_file()
    for folder, mode in (("var/lib/quietline", 0o700), ("var/lib/quietline/recordings", 0o700),
                         ("var/backups/quietline", 0o700), ("etc/quietline", 0o750)):
        assert oct((scratch_root / folder).stat().st_mode & 0o777) == oct(mode), folder

    # Again, with a secret generator that would give different values: nothing to do, nothing replaced.
    second = plan(_machine_facts(layout, OPTIONS), layout, OPTIONS, numbered_secrets())
    assert changes(second) == []
    assert Executor(layout, transcript, system=False, echo=lambda line: None).run(second) == 0
    assert env_path.read_text() == env_text
    log = transcript.read_text()
    assert log.rstrip().endswith("nothing to change: the machine is already installed as asked")
    # The transcript says what was done, never a secret's value.
    assert "== write /etc/quietline/quietline.env (600, quietline:quietline): added PUBLIC_BASE_URL" in log
    for key in ("IVR_DATA_KEY", "IVR_RECORDINGS_KEY", "SECRET_KEY"):
        assert parse_env(env_text)[key] not in log
    assert redis_password(parse_env(env_text)["REDIS_URL"]) not in log


def test_container_secrets_are_generated_once(tmp_path):
    actions = plan_container_secrets(tmp_path, {".env": None, "quietline.env": None}, numbered_secrets())
    Executor(Layout(), tmp_path / "secrets.log", system=False, echo=lambda line: None).run(actions)
    dotenv = parse_env((tmp_path / ".env").read_text())
    # Every secret in .env, compose's own environment, which it mounts into the containers as files.
    assert dotenv == {"REDIS_PASSWORD": "redis-1", "POSTGRES_PASSWORD": "postgres-2", "TWILIO_AUTH_TOKEN": "",
                      "IVR_DATA_KEY": "data-3", "IVR_RECORDINGS_KEY": "recordings-4", "SECRET_KEY": "secret-5"}
    # The containers' environment: no secret.
    assert parse_env((tmp_path / "quietline.env").read_text()) == {"PUBLIC_BASE_URL": "", "TWILIO_ACCOUNT_SID": ""}
    for name in (".env", "quietline.env"):
        assert oct((tmp_path / name).stat().st_mode & 0o777) == "0o600"
    existing = {name: (tmp_path / name).read_text() for name in (".env", "quietline.env")}
    assert plan_container_secrets(tmp_path, existing, numbered_secrets()) == []


def test_container_secrets_an_earlier_release_put_in_quietline_env_move_to_dot_env_with_their_values(tmp_path):
    """An install from before secrets were files: its keys keep their values (a new recordings key would make every
    voicemail and backup unreadable), in .env; quietline.env keeps its other settings and a note for each."""
    old = {".env": "REDIS_PASSWORD=r-old\nPOSTGRES_PASSWORD=p-old\n",
           "quietline.env": ("PUBLIC_BASE_URL=https://phone.example\nTWILIO_ACCOUNT_SID=AC1\nTWILIO_AUTH_TOKEN=tok-old\n"
                             "IVR_DATA_KEY=d-old\nIVR_RECORDINGS_KEY=rec-old\nSECRET_KEY=s-old\nLOG_LEVEL=INFO\n")}
    for name, text in old.items():
        (tmp_path / name).write_text(text)
    actions = plan_container_secrets(tmp_path, old, numbered_secrets())
    assert [a.describe() for a in actions] == [
        f"write {tmp_path / '.env'} (600, :): added TWILIO_AUTH_TOKEN, IVR_DATA_KEY, IVR_RECORDINGS_KEY, SECRET_KEY",
        f"write {tmp_path / 'quietline.env'} (600, :): moved TWILIO_AUTH_TOKEN, IVR_DATA_KEY, IVR_RECORDINGS_KEY, "
        "SECRET_KEY to .env"]
    Executor(Layout(), tmp_path / "secrets.log", system=False, echo=lambda line: None).run(actions)
    assert parse_env((tmp_path / ".env").read_text()) == {
        "REDIS_PASSWORD": "r-old", "POSTGRES_PASSWORD": "p-old", "TWILIO_AUTH_TOKEN": "tok-old",
        "IVR_DATA_KEY": "d-old", "IVR_RECORDINGS_KEY": "rec-old", "SECRET_KEY": "s-old"}
    app_env = (tmp_path / "quietline.env").read_text()
    assert parse_env(app_env) == {"PUBLIC_BASE_URL": "https://phone.example", "TWILIO_ACCOUNT_SID": "AC1",
                                  "LOG_LEVEL": "INFO"}
    assert ("# IVR_RECORDINGS_KEY is in .env now: compose mounts it as a file (a secret), never in a container's "
            "environment\n") in app_env
    log = (tmp_path / "secrets.log").read_text()
    assert not any(value in log for value in ("tok-old", "d-old", "rec-old", "s-old"))
    existing = {name: (tmp_path / name).read_text() for name in old}
    assert plan_container_secrets(tmp_path, existing, numbered_secrets()) == []


def test_a_container_secret_with_two_different_values_stays_in_both_files(tmp_path):
    """.env's value is kept; quietline.env's different one is not dropped unseen: the service then refuses to start
    with both TWILIO_AUTH_TOKEN and TWILIO_AUTH_TOKEN_FILE, and the administrator chooses."""
    old = {".env": "TWILIO_AUTH_TOKEN=new\n", "quietline.env": "TWILIO_AUTH_TOKEN=old\n"}
    actions = plan_container_secrets(tmp_path, old, numbered_secrets())
    Executor(Layout(), tmp_path / "secrets.log", system=False, echo=lambda line: None).run(actions)
    assert parse_env((tmp_path / ".env").read_text())["TWILIO_AUTH_TOKEN"] == "new"
    assert parse_env((tmp_path / "quietline.env").read_text())["TWILIO_AUTH_TOKEN"] == "old"


def _installed_units(tmp_path, edit=lambda name, text: text):
    """The units as installed into ``tmp_path/units`` (each through ``edit(name, text)``), except that the app
    folder's ``current`` is this checkout (its .venv is real, so ExecStart= names files that exist)."""
    app_dir = tmp_path / "opt"
    app_dir.mkdir()
    (app_dir / "current").symlink_to(PROJECT_ROOT)
    layout = dataclasses.replace(LAYOUT, app_dir=str(app_dir))
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    for name, text in render_units(layout, OPTIONS).items():
        (unit_dir / name).write_text(edit(name, text))
    return unit_dir


def _verify(unit_dir):
    return subprocess.run(["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in unit_dir.iterdir())],
                          capture_output=True, text=True, env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is part of Debian's systemd")
def test_the_units_pass_systemd_analyze_verify(tmp_path):
    unit_dir = _installed_units(tmp_path)
    done = _verify(unit_dir)
    assert done.returncode == 0, done.stderr
    ours = [line for line in done.stderr.splitlines() if "quietline" in line]
    assert ours == [], ours
    # systemd's own exposure score of each role (0 best, 10 worst): at most 2.0 ("OK"; with no hardening: 9.6).
    for name in ROLE_UNITS:
        scored = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", "--threshold=20",
                                 str(unit_dir / name)], capture_output=True, text=True)
        assert scored.returncode == 0, scored.stdout[-2000:]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is part of Debian's systemd")
def test_the_documented_credential_drop_in_passes_systemd_analyze_verify(tmp_path):
    """docs/deploy.md's way to take a secret out of a native role's environment (LoadCredential= and a *_FILE
    pointing at %d, the role's credentials folder), added to each role's unit: systemd 252 (Debian 12) accepts it."""
    deploy = (PROJECT_ROOT / "docs/deploy.md").read_text()
    drop_in = deploy[deploy.index("```ini\n", deploy.index("## Where secrets live")) + len("```ini\n"):]
    drop_in = "\n".join(line.strip() for line in drop_in[:drop_in.index("```")].splitlines())
    assert drop_in.splitlines() == [
        "[Service]", "LoadCredential=twilio_auth_token:/etc/quietline/credentials/twilio_auth_token",
        "Environment=TWILIO_AUTH_TOKEN_FILE=%d/twilio_auth_token"]
    unit_dir = _installed_units(tmp_path, lambda name, text: text.replace("[Service]\n", drop_in.strip() + "\n", 1)
                                if name in ROLE_UNITS else text)
    done = _verify(unit_dir)
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if "quietline" in line] == []


def test_the_installer_builds_the_release_under_umask_022_whatever_umask_it_was_started_with():
    """Commit c4fe045: ``make install`` run from a shell with umask 077 (or in a process that had called
    ``restrict_umask``, as the doctor tests' create_app does) made the release's folders 0700 root-owned, and the
    migrations, run as the service user, failed with 'Permission denied'. ``main`` now sets umask 022 before it
    reads, plans or writes anything (private files keep their explicit modes, checked by the tests above). Run
    here as ``--dry-run`` in a process of its own started with umask 077 (the install's umask is the process's):
    the umask after ``main`` is 022."""
    code = ("import os, sys; os.umask(0o077); sys.path.insert(0, sys.argv[1]); from ivr.ops.install import main; "
            "main(['--dry-run', '--no-prompt', '--database', 'sqlite', '--domain', 'phone.example-practice.org']); "
            "print(oct(os.umask(0o077)))")
    done = subprocess.run([sys.executable, "-c", code, str(PROJECT_ROOT)], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.splitlines()[-1] == "0o22", done.stdout[-2000:] + done.stderr[-2000:]


def test_the_installer_needs_only_the_standard_library():
    # `sudo make install` runs on the system's Python before any virtualenv exists (-S: no site-packages at all).
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import ivr.ops.install, ivr.ops.upgrade; "
            "print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
            "{'cryptography', 'flask', 'redis', 'rq', 'sqlalchemy', 'yaml', 'click', 'dotenv'}))")
    done = subprocess.run([shutil.which("python3") or "python3", "-S", "-c", code, str(PROJECT_ROOT)],
                          capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


@pytest.mark.skipif(not shutil.which("caddy"), reason="Debian's caddy (make deps-test installs it)")
def test_caddy_reads_the_caddyfile_as_tls_with_hsts_in_front_of_gunicorn(tmp_path):
    options = dataclasses.replace(OPTIONS, acme_email="it@example-practice.org")
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(render_caddyfile(options))
    done = subprocess.run(["caddy", "adapt", "--config", str(caddyfile), "--adapter", "caddyfile"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    (server,) = config["apps"]["http"]["servers"].values()
    # HTTPS on 443 for the host; Caddy's automatic HTTPS (certificates, HTTP->HTTPS redirects) left on.
    assert server["listen"] == [":443"] and "automatic_https" not in server
    (route,) = server["routes"]
    assert route["match"] == [{"host": ["phone.example-practice.org"]}]
    headers, proxy = route["handle"][0]["routes"][0]["handle"]
    assert headers["response"]["set"] == {"Strict-Transport-Security": ["max-age=31536000; includeSubDomains"]}
    assert proxy == {"handler": "reverse_proxy", "upstreams": [{"dial": "127.0.0.1:8000"}]}
    (policy,) = config["apps"]["tls"]["automation"]["policies"]
    assert policy["subjects"] == ["phone.example-practice.org"]
    assert {"email": "it@example-practice.org", "module": "acme"} in policy["issuers"]


def test_another_release_is_not_installed_over_the_current_one_but_upgraded():
    facts = dataclasses.replace(FRESH, links={"/opt/quietline/current": "/opt/quietline/releases/0.0.9-old"})
    with pytest.raises(InstallError, match="0.0.9-old is installed; this checkout is 0.1.0-abc123: run `sudo make "
                                           "upgrade`"):
        plan(facts, LAYOUT, OPTIONS, numbered_secrets())
