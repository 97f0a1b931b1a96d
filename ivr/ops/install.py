"""The production install: ``sudo make install`` (``python -m ivr.ops.install``) on Debian 12 or Ubuntu 22.04-24.04.

Natively, no container daemon: Debian's packages (redis-server, PostgreSQL, Caddy, python3-venv), a ``quietline``
service user, the release in ``/opt/quietline/releases/<version>`` with its own virtualenv and a ``current``
symlink, ``/etc/quietline/quietline.env`` (0600) with every secret generated, systemd units for each role
(web, urgent worker, worker, scheduler, nightly backup) and Caddy in front for TLS.

Two halves, so most of it is tested without root:

* ``plan(facts, options, new_secret)`` is pure: what the machine looks like (``Facts``, gathered by
  ``gather_facts``) in, the ``Action`` list that brings it to the wanted state out. An action is planned only when
  its fact differs, so a second run plans nothing and says so.
* ``Executor`` carries the actions out, one line each in the transcript (``/var/log/quietline/install.log``).

Secrets are generated once and never overwritten: a key already in the environment file is kept as it is, whatever
this version of the installer would write (the file is the administrator's from then on); only missing keys are
added. Errors: ``InstallError`` with what to do (unsupported system, no Caddy package, a failed command).
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ivr.exceptions import IvrError

SUPPORTED = {("debian", "12"), ("ubuntu", "22.04"), ("ubuntu", "24.04")}
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What the release needs at run time (tests, bench and the development tools' data stay out).
RELEASE_TOP = ("app.py", "pyproject.toml", "requirements.txt", "README.md", "ivr", "workers", "flows", "docs")
RELEASE_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
RELEASE_STAMP = ".quietline-release"
UNITS = ("quietline-web.service", "quietline-worker-urgent.service", "quietline-worker.service",
         "quietline-worker-speech.service", "quietline-scheduler.service", "quietline-backup.service",
         "quietline-backup.timer", "quietline.target")
# Started (and restarted after a change): the target pulls in the five roles; the timer starts backups.
STARTED_UNITS = ("quietline.target", "quietline-backup.timer")
ROLE_UNITS = ("quietline-web.service", "quietline-worker-urgent.service", "quietline-worker.service",
              "quietline-worker-speech.service", "quietline-scheduler.service")
REDIS_INCLUDE_LINE = "include /etc/redis/quietline.conf"
CADDY_MARK = b"# Quietline behind Caddy"
MIGRATE = "import os; from ivr.db.database import upgrade; upgrade(os.environ['DATABASE_URL'])"
# Exit 0 when the configured database is at the release's newest migration (run by the release's own Python).
SCHEMA_CHECK = ("import os, sys; from ivr.db.database import current_revision, head_revision; "
                "sys.exit(0 if current_revision(os.environ['DATABASE_URL']) == head_revision() else 3)")


class InstallError(IvrError):
    """The install cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Layout:
    """Where everything goes. ``root`` prefixes every path (``/`` on a real machine; a scratch folder in tests)."""

    root: Path = Path("/")
    app_dir: str = "/opt/quietline"
    etc_dir: str = "/etc/quietline"
    data_dir: str = "/var/lib/quietline"
    log_dir: str = "/var/log/quietline"
    backup_dir: str = "/var/backups/quietline"
    unit_dir: str = "/etc/systemd/system"
    redis_conf: str = "/etc/redis/redis.conf"
    redis_include: str = "/etc/redis/quietline.conf"
    redis_socket: str = "/run/redis/redis-server.sock"
    caddyfile: str = "/etc/caddy/Caddyfile"
    user: str = "quietline"

    def at(self, path: str) -> Path:
        """``path`` (absolute, as on the machine) under ``root``."""
        return self.root / path.lstrip("/")

    @property
    def env_file(self) -> str:
        return f"{self.etc_dir}/quietline.env"

    def with_settings(self, env: Mapping[str, str]) -> Layout:
        """This layout with the owner's choices from the environment file: ``IVR_BACKUP_DIR`` (a mounted backup
        disk) becomes the folder the installer makes and the nightly unit may write (``ReadWritePaths=``; under
        ``ProtectSystem=strict`` every other path is read-only to it).  Raises InstallError for a relative path."""
        chosen = env.get("IVR_BACKUP_DIR", "").strip()
        if not chosen or chosen == self.backup_dir:
            return self
        if not chosen.startswith("/") or any(c.isspace() for c in chosen):
            raise InstallError(f"IVR_BACKUP_DIR in {self.env_file} must be an absolute path without spaces "
                               f"(it goes into the backup unit's ReadWritePaths=), not {chosen!r}")
        return replace(self, backup_dir=chosen.rstrip("/") or "/")

    @property
    def flows_dir(self) -> str:
        return f"{self.etc_dir}/flows"

    @property
    def current(self) -> str:
        return f"{self.app_dir}/current"

    def release(self, version: str) -> str:
        return f"{self.app_dir}/releases/{version}"


@dataclass(frozen=True)
class Options:
    """What the person installing chose (``python -m ivr.ops.install --help``)."""

    domain: str = ""
    database: str = "postgresql"  # or "sqlite" (trials: the embedded default)
    acme_email: str = ""
    version: str = ""
    source: Path = PROJECT_ROOT
    web_workers: int = 4
    web_port: int = 8000
    backup_time: str = "02:30:00"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_number: str = ""  # E.164 (``e164``); what `twilio connect` and the doctor use by default


@dataclass(frozen=True)
class FileFact:
    content: bytes
    mode: int
    owner: str
    group: str


@dataclass(frozen=True)
class Facts:
    """What the machine looks like now, as far as the install cares."""

    os_id: str
    os_version: str
    packages: frozenset[str]
    caddy_available: bool
    users: frozenset[str]
    user_groups: frozenset[str]  # the groups the service user is in
    files: Mapping[str, FileFact]  # every file the plan writes, if it exists
    dirs: Mapping[str, tuple[int, str]]  # every folder the plan makes: mode, owner
    links: Mapping[str, str]  # symlinks: path -> target
    release_ready: bool  # the release's folder is complete (its stamp, written last, is there)
    pg_ready: bool  # the PostgreSQL role (with CREATEDB) and database exist
    schema_current: bool  # the database is at the release's newest migration (alembic current == head)
    enabled_units: frozenset[str]
    systemd_running: bool


# --- actions -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class AptInstall(Action):
    packages: tuple[str, ...]

    def describe(self) -> str:
        return f"apt-get install {' '.join(self.packages)}"


@dataclass(frozen=True)
class CreateUser(Action):
    name: str
    home: str

    def describe(self) -> str:
        return f"create the system user {self.name} (home {self.home}, no login shell)"


@dataclass(frozen=True)
class AddToGroup(Action):
    user: str
    group: str

    def describe(self) -> str:
        return f"add {self.user} to the group {self.group}"


@dataclass(frozen=True)
class MakeDir(Action):
    path: str
    mode: int
    owner: str
    group: str

    def describe(self) -> str:
        return f"folder {self.path} ({self.mode:o}, {self.owner}:{self.group})"


@dataclass(frozen=True)
class WriteFile(Action):
    path: str
    content: bytes = field(repr=False)
    mode: int
    owner: str
    group: str
    why: str = ""

    def describe(self) -> str:
        return f"write {self.path} ({self.mode:o}, {self.owner}:{self.group}){': ' + self.why if self.why else ''}"


@dataclass(frozen=True)
class EnsureLine(Action):
    """Append ``line`` to a file a package installs in this same run (so it cannot be read while planning), unless
    the file has it by then; the file keeps its mode and owner."""

    path: str
    line: str
    comment: str

    def describe(self) -> str:
        return f"add `{self.line}` to {self.path}"


@dataclass(frozen=True)
class CopyTree(Action):
    source: str
    dest: str
    names: tuple[str, ...]
    once: bool = False  # copy only into a missing folder (the practice's flows are theirs after the first copy)

    def describe(self) -> str:
        return f"copy {', '.join(self.names)} from {self.source} to {self.dest}"


@dataclass(frozen=True)
class MakeVenv(Action):
    release: str
    python: str  # the interpreter the virtualenv is made with

    def describe(self) -> str:
        return f"virtualenv {self.release}/.venv ({self.python}) with requirements.txt"


@dataclass(frozen=True)
class Symlink(Action):
    path: str
    target: str

    def describe(self) -> str:
        return f"link {self.path} -> {self.target}"


@dataclass(frozen=True)
class Run(Action):
    argv: tuple[str, ...]
    as_user: str = ""  # run as this user with the service's environment file
    cwd: str = ""
    why: str = ""
    pass_env: tuple[str, ...] = ()  # with ``as_user``: these of the caller's environment too (a key kept elsewhere)

    def describe(self) -> str:
        who = f" (as {self.as_user})" if self.as_user else ""
        return f"run {shlex.join(self.argv)}{who}{': ' + self.why if self.why else ''}"


@dataclass(frozen=True)
class Systemctl(Action):
    verb: str  # daemon-reload, enable, restart, reload
    units: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"systemctl {self.verb} {' '.join(self.units)}".rstrip()


@dataclass(frozen=True)
class Note(Action):
    """Something the person installing must read (printed and kept in the transcript); changes nothing."""

    text: str

    def describe(self) -> str:
        return f"NOTE: {self.text}"


# --- rendering -----------------------------------------------------------------------------------------------------

HARDENING = """\
User={user}
Group={user}
EnvironmentFile={etc_dir}/quietline.env
WorkingDirectory={app_dir}/current
Restart=always
RestartSec=2
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
ProcSubset=pid
RemoveIPC=yes
DevicePolicy=closed
CapabilityBoundingSet=
AmbientCapabilities=
ReadWritePaths={data_dir} {log_dir}"""


def template(name: str) -> str:
    """A shipped file of ``ivr/ops/files``."""
    return resources.files("ivr.ops").joinpath("files", name).read_text(encoding="utf-8")


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill ``{{name}}`` placeholders (systemd and Caddy use ``$`` and ``{}`` themselves); a missing value is a bug."""
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    if "{{" in text:
        raise InstallError(f"unfilled placeholder in a template: {text[text.index('{{'):][:40]}")
    return text


def unit_values(layout: Layout, options: Options) -> dict[str, str]:
    base = {"user": layout.user, "etc_dir": layout.etc_dir, "app_dir": layout.app_dir,
            "data_dir": layout.data_dir, "log_dir": layout.log_dir}
    hardening = HARDENING.format(**base)
    # The backup is a oneshot: restarting it on failure would repeat a half-written archive's cause all night.
    oneshot = "\n".join(line for line in hardening.splitlines() if not line.startswith(("Restart=", "RestartSec=")))
    return {**base, "hardening": hardening, "hardening_oneshot": oneshot, "backup_dir": layout.backup_dir,
            "web_workers": str(options.web_workers), "web_port": str(options.web_port),
            "backup_time": options.backup_time}


def render_units(layout: Layout, options: Options) -> dict[str, str]:
    """Every unit file's text, by name."""
    values = unit_values(layout, options)
    return {name: render(template(name), values) for name in UNITS}


def render_redis_conf(layout: Layout, password: str) -> str:
    return render(template("redis-quietline.conf"), {"redis_socket": layout.redis_socket, "redis_password": password})


def render_caddyfile(options: Options) -> str:
    email = f"{{\n\temail {options.acme_email}\n}}\n\n" if options.acme_email else ""
    return render(template("Caddyfile"), {"global": email, "domain": options.domain,
                                          "web_port": str(options.web_port)})


# --- the environment file ------------------------------------------------------------------------------------------

SECRET_KEYS = ("IVR_DATA_KEY", "IVR_RECORDINGS_KEY", "SECRET_KEY", "REDIS_URL")


def parse_env(text: str) -> dict[str, str]:
    """``KEY=value`` lines (systemd's EnvironmentFile= subset: no quotes, no expansion); comments and blanks skipped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values


def redis_password(redis_url: str) -> str:
    """The password in a ``REDIS_URL`` (``unix:///path?password=…`` or ``redis://:…@host``), or ''."""
    parts = urlsplit(redis_url)
    return parts.password or (parse_qs(parts.query).get("password") or [""])[0]


E164_SHAPE = re.compile(r"\+[1-9][0-9]{6,14}")
ACCOUNT_SID_SHAPE = re.compile(r"AC[0-9a-f]{32}")


def e164(text: str) -> str:
    """``text`` (a number in international form: ``+1 (555) 555-0100``, ``+44 20 7946 0000``) as E.164.

    With the ``phonenumbers`` library when the Python running the installer has it (Debian's python3-phonenumbers,
    or the release's virtualenv): the number must be a valid one for its country. The system Python may lack it (the
    installer needs only the standard library), then the E.164 shape is checked: ``+``, a country code, at most 15
    digits. Raises InstallError naming the value and the form wanted."""
    wanted = "a number in international form, + and the country code first (E.164, e.g. +15555550100)"
    if not text.strip().startswith("+"):
        raise InstallError(f"--twilio-number {text!r}: not {wanted}")
    try:
        import phonenumbers
    except ImportError:
        digits = "+" + re.sub(r"[\s().-]", "", text.strip())[1:]
        if not E164_SHAPE.fullmatch(digits):
            raise InstallError(f"--twilio-number {text!r}: not {wanted}") from None
        return digits
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InstallError(f"--twilio-number {text!r}: not {wanted} ({exc})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InstallError(f"--twilio-number {text!r}: no such number in its country's plan; {wanted}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def account_sid(text: str) -> str:
    """A Twilio account SID (``AC`` and 32 hex digits), stripped; InstallError otherwise."""
    value = text.strip()
    if not ACCOUNT_SID_SHAPE.fullmatch(value):
        raise InstallError(f"--twilio-account-sid {value!r}: an account SID is AC and 32 hex digits "
                           "(Twilio console -> Account info)")
    return value


def wanted_env(layout: Layout, options: Options, new_secret: Callable[[str], str]) -> list[tuple[str, str, str]]:
    """(key, value, comment) for every setting the installer writes, secrets freshly generated."""
    database = (f"postgresql+psycopg://{layout.user}@/{layout.user}?host=/var/run/postgresql"
                if options.database == "postgresql" else f"sqlite:///{layout.data_dir}/quietline.db")
    public = f"https://{options.domain}" if options.domain else ""
    return [
        ("PUBLIC_BASE_URL", public, "the address Twilio reaches (Caddy serves it with TLS); signatures use it"),
        ("TWILIO_ACCOUNT_SID", options.twilio_account_sid, "Twilio console -> Account info"),
        ("TWILIO_AUTH_TOKEN", options.twilio_auth_token, "Twilio console -> Account info (never the development one)"),
        ("TWILIO_NUMBER", options.twilio_number,
         "the practice's Twilio number, E.164: `flask --app app twilio connect` wires it, the doctor checks it"),
        ("DATABASE_URL", database, "PostgreSQL over its unix socket, peer authentication: no password to keep"),
        ("REDIS_URL", f"unix://{layout.redis_socket}?password={new_secret('redis')}",
         "Debian's redis-server, unix socket only, with the password of /etc/redis/quietline.conf"),
        ("IVR_DATA_KEY", new_secret("data"), "encrypts call records in Redis (docs/security.md#keys)"),
        ("IVR_RECORDINGS_KEY", new_secret("recordings"),
         "encrypts voicemails and transcripts: KEEP A COPY ELSEWHERE, without it no backup can be read"),
        ("SECRET_KEY", new_secret("secret"), "signs dashboard sessions"),
        ("IVR_INSTANCE_DIR", f"{layout.data_dir}/instance", ""),
        ("IVR_RECORDINGS_DIR", f"{layout.data_dir}/recordings", ""),
        ("IVR_FLOWS_DIR", layout.flows_dir, "the practice's flows and practice.yaml (yours to edit)"),
        ("IVR_BACKUP_DIR", layout.backup_dir, "where `flask --app app backup create` writes (docs/ops-backup.md)"),
        ("IVR_ENV_FILE", layout.env_file, "this file: archived with each backup, put back by `backup restore`"),
        ("TRUSTED_PROXIES", "1", "Caddy in front"),
        ("LOG_LEVEL", "INFO", "no numbers, names, dates of birth or speech in logs at this level"),
    ]


def new_secret_value(kind: str) -> str:
    """A fresh secret: for the data and recordings keys 32 random bytes in URL-safe base64 (the form
    ``ivr.encryption.generate_key`` makes: that module needs ``cryptography``, which the system Python running the
    installer may lack), 32 random bytes in hex otherwise."""
    if kind in ("data", "recordings"):
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_hex(32)


def merge_env(existing: str | None, wanted: Sequence[tuple[str, str, str]],
              header: str = "") -> tuple[str, list[str]]:
    """The environment file with the missing settings appended, and their names. Existing lines stay as they are
    (values, comments, order): a secret, once written, is never replaced; an empty value counts as set by the
    administrator only if it is not one the installer can fill now."""
    current = parse_env(existing or "")
    lines = (existing or header or "# Quietline's settings and secrets: readable by the service user only (0600, its "
             "own; root too). README.md, 'Environment', lists every setting.\n").splitlines()
    added: list[str] = []
    for key, value, comment in wanted:
        if key in current and (current[key] or not value):
            continue
        if key in current:  # an empty line the installer can fill now (e.g. --domain given on a later run)
            lines = [f"{key}={value}" if line.strip().startswith(f"{key}=") else line for line in lines]
        else:
            if comment:
                lines.append(f"# {comment}")
            lines.append(f"{key}={value}")
        added.append(key)
    return "\n".join(lines) + "\n", added


# --- planning ------------------------------------------------------------------------------------------------------

def release_version(source: Path) -> str:
    """``<pyproject version>-<commit>`` of a git checkout (``-dirty`` with local changes), else a hash of the files."""
    # No tomllib: the installer runs on the system's Python, 3.10 on Ubuntu 22.04.
    found = re.search(r'^version\s*=\s*"([^"]+)"', (source / "pyproject.toml").read_text(), re.MULTILINE)
    version = found.group(1) if found else "0"
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "--short=12", "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
                               check=True, capture_output=True, text=True).stdout.strip()
        return f"{version}-{commit}{'-dirty' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        digest = hashlib.sha256()
        for path in sorted(release_files(source)):
            digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
        return f"{version}-{digest.hexdigest()[:12]}"


def release_files(source: Path) -> Iterable[Path]:
    for name in RELEASE_TOP:
        top = source / name
        if top.is_file():
            yield top
        elif top.is_dir():
            for path in top.rglob("*"):
                if path.is_file() and not RELEASE_SKIP.intersection(path.relative_to(source).parts):
                    yield path


def python_packages(os_id: str, os_version: str) -> tuple[str, str, str]:
    """(interpreter package, its venv package, the interpreter) for the release's virtualenv: Python 3.11 or newer.
    Ubuntu 22.04's python3 is 3.10; its archive has python3.11 beside it."""
    if (os_id, os_version) == ("ubuntu", "22.04"):
        return "python3.11", "python3.11-venv", "/usr/bin/python3.11"
    return "python3", "python3-venv", "/usr/bin/python3"


def apt_packages(facts: Facts, options: Options) -> list[str]:
    python, venv, _ = python_packages(facts.os_id, facts.os_version)
    packages = [python, venv, "redis-server", "caddy", "ca-certificates"]
    if options.database == "postgresql":
        packages.append("postgresql")
    return packages


def pg_setup_script(user: str) -> str:
    """The shell script (run as ``postgres``) that makes the service's role and its database, each only if missing,
    and gives the role CREATEDB (also to a role an older install made without it): ``backup verify`` and the
    doctor's restore check restore into a scratch database they create and drop."""
    return (f"set -e; psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='{user}'\" | grep -q 1 || "
            f"createuser --createdb {user}; psql -qc 'ALTER ROLE \"{user}\" CREATEDB'; "
            f"psql -tAc \"SELECT 1 FROM pg_database WHERE datname='{user}'\" | grep -q 1 || createdb -O {user} {user}")


# --- shipped files: units, the Caddyfile, Redis's include -------------------------------------------------------

SHIPPED_RECORD = "shipped.json"  # in etc_dir: what was last written of each shipped file (sha256), and the options
DIST_SUFFIX = ".quietline-dist"  # this release's version of a file the administrator edited (dpkg's .dpkg-dist)


def shipped_record_path(layout: Layout) -> str:
    return f"{layout.etc_dir}/{SHIPPED_RECORD}"


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def read_shipped_record(files: Mapping[str, FileFact], layout: Layout) -> dict[str, object]:
    """The record's ``{"files": {path: sha256}, "options": {...}}``; empty parts when it is missing or unreadable."""
    fact = files.get(shipped_record_path(layout))
    try:
        record = json.loads(fact.content) if fact else {}
    except ValueError:
        record = {}
    return {"files": dict(record.get("files") or {}), "options": dict(record.get("options") or {})}


@dataclass(frozen=True)
class ShippedPlan:
    """What applying the shipped files takes: the actions, and the live files that change (for the reloads)."""

    actions: list[Action]
    changed: frozenset[str]


def plan_shipped(files: Mapping[str, FileFact], layout: Layout, wanted: Mapping[str, tuple[str, int, str, str, str]],
                 options_record: Mapping[str, object], adopt: Iterable[str] = ()) -> ShippedPlan:
    """Bring each shipped file (``wanted``: path -> (text, mode, owner, group, why)) to this release's version,
    as dpkg treats a conffile: a file as Quietline last wrote it (its sha256 is in the record) is replaced; a file
    the administrator edited is kept, this release's version is written beside it (``DIST_SUFFIX``) and a note says
    so; a file with no record (an install older than the record) is treated as edited, unless it is in ``adopt``
    (a distribution's file the caller has kept a copy of). Ends with the record rewritten when it changed."""
    actions: list[Action] = []
    changed: set[str] = set()
    record = read_shipped_record(files, layout)
    recorded: Mapping[str, str] = record["files"]  # type: ignore[assignment]
    adopted = set(adopt)
    new_record: dict[str, str] = {}
    for path, (text, mode, owner, group, why) in wanted.items():
        content = text.encode()
        new_record[path] = sha256_hex(content)
        now = files.get(path)
        if now is not None and now.content == content:
            if (now.mode, now.owner, now.group) != (mode, owner, group):
                actions.append(WriteFile(path, content, mode, owner, group, "permissions"))
                changed.add(path)
            continue
        if now is None or path in adopted or recorded.get(path) == sha256_hex(now.content):
            actions.append(WriteFile(path, content, mode, owner, group, why))
            changed.add(path)
            continue
        dist = path + DIST_SUFFIX
        there = files.get(dist)
        if there is None or there.content != content:
            actions.append(WriteFile(dist, content, mode, owner, group, "this release's version, beside yours"))
        actions.append(Note(f"{path} was edited here: kept as it is. This release's version is {dist}: compare "
                            f"(diff {path} {dist}), merge what you need, then remove {dist}"))
    wanted_record = {"files": new_record, "options": dict(options_record)}
    if record != wanted_record:
        text = json.dumps(wanted_record, indent=2, sort_keys=True) + "\n"
        now = files.get(shipped_record_path(layout))
        if now is None or now.content != text.encode():
            actions.append(WriteFile(shipped_record_path(layout), text.encode(), 0o644, "root", "root",
                                     "what was written of each shipped file (local edits are kept, not replaced)"))
    return ShippedPlan(actions, frozenset(changed))


def record_options(options: Options) -> dict[str, object]:
    """The install's choices the shipped files are rendered from (kept in the record for ``make upgrade``)."""
    return {"domain": options.domain, "acme_email": options.acme_email, "web_workers": options.web_workers,
            "web_port": options.web_port, "backup_time": options.backup_time}


Shipped = dict[str, tuple[str, int, str, str, str]]  # path -> (text, mode, owner, group, why)


def shipped_files(layout: Layout, options: Options, env: Mapping[str, str]) -> Shipped:
    """Every shipped file this release wants: path -> (text, mode, owner, group, why)."""
    wanted = {f"{layout.unit_dir}/{name}": (text, 0o644, "root", "root", "")
              for name, text in render_units(layout, options).items()}
    if env.get("REDIS_URL"):
        wanted[layout.redis_include] = (render_redis_conf(layout, redis_password(env["REDIS_URL"])), 0o640, "redis",
                                        "redis", "append-only, noeviction, unix socket, password")
    if options.domain:
        wanted[layout.caddyfile] = (render_caddyfile(options), 0o644, "root", "root", "TLS, HTTP->HTTPS, HSTS")
    return wanted


def shipped_paths(layout: Layout) -> list[str]:
    """Every path the shipped-file planner reads: the files, their ``DIST_SUFFIX`` copies and the record."""
    live = [layout.redis_include, layout.caddyfile, *(f"{layout.unit_dir}/{name}" for name in UNITS)]
    return [*live, *(p + DIST_SUFFIX for p in live), shipped_record_path(layout)]


def plan(facts: Facts, layout: Layout, options: Options,
         new_secret: Callable[[str], str] = new_secret_value) -> list[Action]:
    """The actions that bring the machine from ``facts`` to the installed state (none when it is there).

    Raises InstallError for a system this installer does not support or options it cannot use."""
    if (facts.os_id, facts.os_version) not in SUPPORTED:
        raise InstallError(f"this installer supports Debian 12 and Ubuntu 22.04/24.04, not {facts.os_id} "
                           f"{facts.os_version}; the container image (ivr/ops/files/Dockerfile) runs anywhere")
    if options.database not in ("postgresql", "sqlite"):
        raise InstallError("--database must be postgresql or sqlite")
    if not options.version:
        raise InstallError("no release version (the installer names it from the checkout)")
    actions: list[Action] = []
    user = layout.user

    missing = [p for p in apt_packages(facts, options) if p not in facts.packages]
    if "caddy" in missing and not facts.caddy_available:
        raise InstallError(
            "no caddy package in this system's archive (Ubuntu 22.04 has none): add Caddy's own apt repository "
            "(https://caddyserver.com/docs/install#debian-ubuntu-raspbian), then run the install again")
    if missing:
        actions.append(AptInstall(tuple(missing)))

    if user not in facts.users:
        actions.append(CreateUser(user, layout.data_dir))
    if "redis" not in facts.user_groups:
        actions.append(AddToGroup(user, "redis"))

    dirs = [(layout.app_dir, 0o755, "root", "root"), (f"{layout.app_dir}/releases", 0o755, "root", "root"),
            (layout.etc_dir, 0o750, "root", user),
            (layout.data_dir, 0o700, user, user), (f"{layout.data_dir}/instance", 0o700, user, user),
            (f"{layout.data_dir}/recordings", 0o700, user, user), (layout.log_dir, 0o750, user, user),
            (layout.backup_dir, 0o700, user, user)]
    for path, mode, owner, group in dirs:
        if facts.dirs.get(path) != (mode, owner):
            actions.append(MakeDir(path, mode, owner, group))

    def write(path: str, text: str, mode: int, owner: str, group: str, why: str = "") -> bool:
        content = text.encode()
        now = facts.files.get(path)
        if now is not None and (now.content, now.mode, now.owner, now.group) == (content, mode, owner, group):
            return False
        actions.append(WriteFile(path, content, mode, owner, group, why))
        return True

    # The environment file: only missing settings are added, never a secret replaced.
    env_now = facts.files.get(layout.env_file)
    env_text, added = merge_env(env_now.content.decode() if env_now else None, wanted_env(layout, options, new_secret))
    # 0600 and the service user's own: systemd reads it for the units, and the backup (run as that user) keeps a copy.
    env_changed = write(layout.env_file, env_text, 0o600, user, user,
                        f"added {', '.join(added)}" if added else "permissions")
    env = parse_env(env_text)
    if "IVR_RECORDINGS_KEY" in added:
        actions.append(Note(f"a new recordings key was generated in {layout.env_file} (IVR_RECORDINGS_KEY). Store a "
                            "copy outside this machine now (a password manager, a sealed envelope): backups hold "
                            "recordings encrypted with it, and without it they cannot be read."))
    kept = {"TWILIO_NUMBER": options.twilio_number, "TWILIO_ACCOUNT_SID": options.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": options.twilio_auth_token}
    for key, given in kept.items():
        if given and env.get(key) and env[key] != given and key not in added:
            shown = given if key != "TWILIO_AUTH_TOKEN" else "the token given"
            actions.append(Note(f"{key} is already set in {layout.env_file}: kept, {shown} not written (the file is "
                                "yours once written: edit it, then `systemctl restart quietline.target`)"))
    if not env.get("TWILIO_NUMBER"):
        actions.append(Note(f"TWILIO_NUMBER is not set: run the install again with --twilio-number +1… (or put it in "
                            f"{layout.env_file}); `flask --app app twilio connect` and the doctor use it"))
    if not env.get("TWILIO_AUTH_TOKEN"):
        actions.append(Note(f"TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set: put them in {layout.env_file}, "
                            "then `systemctl restart quietline.target` (the roles refuse to start without them)"))
    if not env.get("PUBLIC_BASE_URL"):
        actions.append(Note("no --domain given: Caddy and PUBLIC_BASE_URL are not set up; run the install again "
                            "with --domain phone.your-practice.example"))

    # Redis: our settings included at the end of Debian's redis.conf (later lines win), the password from the env.
    redis_changed = False
    main_conf = facts.files.get(layout.redis_conf)
    if main_conf is None or REDIS_INCLUDE_LINE.encode() not in main_conf.content.splitlines():
        # Before redis-server is installed there is no redis.conf to read: the line is added when it is there.
        actions.append(EnsureLine(layout.redis_conf, REDIS_INCLUDE_LINE, "# Quietline (ivr.ops.install)"))
        redis_changed = True

    # The release: copied beside the others, its virtualenv, then `current` switched to it.
    release = layout.release(options.version)
    installed = facts.links.get(layout.current)
    if installed and installed != release:
        # A new release goes in with a backup first and a way back: that is the upgrade's job.
        raise InstallError(f"{installed} is installed; this checkout is {options.version}: run `sudo make upgrade` "
                           "from it (a backup first, then the new release; `--rollback` goes back)")
    release_new = not facts.release_ready
    if release_new:
        actions.append(CopyTree(str(options.source), release, RELEASE_TOP))
        actions.append(MakeVenv(release, python_packages(facts.os_id, facts.os_version)[2]))
    if f"{layout.flows_dir}" not in facts.dirs:
        actions.append(CopyTree(f"{options.source}/flows", layout.flows_dir, (".",), once=True))

    if options.database == "postgresql" and not facts.pg_ready:
        actions.append(Run(("runuser", "-u", "postgres", "--", "sh", "-c", pg_setup_script(user)),
                           why="PostgreSQL role (CREATEDB, for `backup verify`'s scratch database) and database"))
    if release_new or not facts.schema_current:
        # From the database's own state, every run: an install interrupted after the release was copied left an
        # empty (or older) database that a re-run must still migrate.
        # Alembic directly, not `flask db upgrade`: the app refuses to start before TWILIO_AUTH_TOKEN is set, and
        # nothing else runs yet on a first install (`make upgrade` uses the command and its lock).
        actions.append(Run((f"{release}/.venv/bin/python", "-c", MIGRATE), as_user=user, cwd=release,
                           why="schema migrations"))
    link_changed = facts.links.get(layout.current) != release
    if link_changed:
        actions.append(Symlink(layout.current, release))

    # Units, Redis's include and the Caddyfile: replaced when as Quietline wrote them, kept when edited here.
    adopt = []
    if options.domain:
        before = facts.files.get(layout.caddyfile)
        saved = f"{layout.caddyfile}.before-quietline"
        if before is not None and CADDY_MARK not in before.content:
            adopt.append(layout.caddyfile)  # the distribution's Caddyfile: kept beside, then replaced
            if saved not in facts.files:
                write(saved, before.content.decode(), before.mode, before.owner, before.group, "the previous Caddyfile")
    shipped = plan_shipped(facts.files, layout, shipped_files(layout, options, env), record_options(options), adopt)
    actions += shipped.actions
    units_changed = any(p.startswith(f"{layout.unit_dir}/") for p in shipped.changed)
    redis_changed |= layout.redis_include in shipped.changed
    caddy_changed = layout.caddyfile in shipped.changed

    if facts.systemd_running:
        if units_changed:
            actions.append(Systemctl("daemon-reload"))
        to_enable = tuple(u for u in STARTED_UNITS + ROLE_UNITS if u not in facts.enabled_units)
        if to_enable:
            actions.append(Systemctl("enable", to_enable))
        if redis_changed:
            actions.append(Systemctl("restart", ("redis-server.service",)))
        if caddy_changed:
            actions.append(Systemctl("reload-or-restart", ("caddy.service",)))
        if (units_changed or env_changed or link_changed or redis_changed) and env.get("TWILIO_AUTH_TOKEN"):
            actions.append(Systemctl("restart", STARTED_UNITS))
    elif units_changed or link_changed:
        actions.append(Note("systemd is not running here (a chroot or a container): the units are written, not "
                            "enabled or started"))
    return actions


# compose.yaml's secrets, in .env (compose reads them and mounts each as a file under /run/secrets): (key, kind of
# secret to generate or None to leave for the administrator, comment).
CONTAINER_SECRETS: tuple[tuple[str, str | None, str], ...] = (
    ("REDIS_PASSWORD", "redis", "Redis's password"),
    ("POSTGRES_PASSWORD", "postgres", "the quietline PostgreSQL role's password"),
    ("TWILIO_AUTH_TOKEN", None, "Twilio console -> Account info"),
    ("IVR_DATA_KEY", "data", "encrypts call records in Redis"),
    ("IVR_RECORDINGS_KEY", "recordings",
     "encrypts voicemails and transcripts: KEEP A COPY ELSEWHERE, without it no backup can be read"),
    ("SECRET_KEY", "secret", "signs dashboard sessions"),
)


def plan_container_secrets(directory: Path, existing: Mapping[str, str | None],
                           new_secret: Callable[[str], str] = new_secret_value) -> list[Action]:
    """``.env`` (compose.yaml's secrets: every secret, which compose hands to the containers as files, never as
    environment) and ``quietline.env`` (the other settings, the containers' environment) in ``directory``, 0600,
    missing values only: ``existing`` maps each file name to its text.

    A secret an earlier release wrote into quietline.env is carried into .env with its value (a new recordings key
    would make every voicemail and backup unreadable), then its line in quietline.env is replaced by a note; .env is
    written first, so a failure leaves the value in at least one of them.
    """
    old_app = parse_env(existing.get("quietline.env") or "")
    secrets_wanted = []
    for key, kind, comment in CONTAINER_SECRETS:
        generated = new_secret(kind) if kind else ""
        secrets_wanted.append((key, old_app.get(key) or generated, comment))
    app_wanted = [
        ("PUBLIC_BASE_URL", "", "https://… where Twilio reaches the web role through your TLS proxy"),
        ("TWILIO_ACCOUNT_SID", "", "Twilio console -> Account info"),
    ]
    actions: list[Action] = []
    text, added = merge_env(existing.get(".env"), secrets_wanted, CONTAINER_SECRETS_HEADER)
    if added:
        actions.append(WriteFile(str(directory / ".env"), text.encode(), 0o600, "", "", f"added {', '.join(added)}"))
    in_dotenv = parse_env(text)
    # Only a value .env now holds leaves quietline.env: a different one stays, and the service refuses to start
    # with both (ivr/secret_files.py) until the administrator chooses.
    moved = [key for key, _, _ in CONTAINER_SECRETS if key in old_app and in_dotenv.get(key) == old_app[key]]
    text, added = merge_env(existing.get("quietline.env"), app_wanted, CONTAINER_ENV_HEADER)
    if moved:
        text = "".join(f"# {line.split('=', 1)[0].strip()} is in .env now: compose mounts it as a file (a secret), "
                       "never in a container's environment\n"
                       if "=" in line and line.split("=", 1)[0].strip() in moved else line
                       for line in text.splitlines(keepends=True))
    if added or moved:
        why = "; ".join(([f"added {', '.join(added)}"] if added else [])
                        + ([f"moved {', '.join(moved)} to .env"] if moved else []))
        actions.append(WriteFile(str(directory / "quietline.env"), text.encode(), 0o600, "", "", why))
    return actions


CONTAINER_SECRETS_HEADER = ("# Quietline's secrets for compose.yaml (0600): compose mounts each into the containers as "
                            "a file under /run/secrets, never as environment.\n")
CONTAINER_ENV_HEADER = ("# Quietline's settings for compose.yaml's app roles, their environment: no secret here (those "
                        "are in .env). README.md, 'Environment', lists every setting.\n")


# --- facts ---------------------------------------------------------------------------------------------------------

def read_files(layout: Layout, paths: Iterable[str]) -> dict[str, FileFact]:
    """Each of ``paths`` that is a file (under ``layout.root``): its content, mode, owner and group."""
    files: dict[str, FileFact] = {}
    for path in paths:
        real = layout.at(path)
        if real.is_file():
            st = real.stat()
            files[path] = FileFact(real.read_bytes(), st.st_mode & 0o7777, _user(st.st_uid, layout),
                                   _group(st.st_gid, layout))
    return files


def gather_facts(layout: Layout, options: Options) -> Facts:
    """Read the machine (under ``layout.root``) for ``plan``: files, folders, packages, users, units."""
    os_release = parse_env(_read(layout.at("/etc/os-release")).replace('"', ""))
    files = read_files(layout, [layout.env_file, layout.redis_conf, f"{layout.caddyfile}.before-quietline",
                                *shipped_paths(layout)])
    dirs = {}
    for path in (layout.app_dir, f"{layout.app_dir}/releases", layout.etc_dir, layout.data_dir,
                 f"{layout.data_dir}/instance", f"{layout.data_dir}/recordings", layout.log_dir, layout.backup_dir,
                 layout.flows_dir):
        real = layout.at(path)
        if real.is_dir() and not real.is_symlink():
            st = real.stat()
            dirs[path] = (st.st_mode & 0o7777, _user(st.st_uid, layout))
    links = {}
    if layout.at(layout.current).is_symlink():
        links[layout.current] = os.readlink(layout.at(layout.current))
    release = layout.at(layout.release(options.version))
    passwd = _table(layout.at("/etc/passwd"))
    groups = _table(layout.at("/etc/group"))
    packages = frozenset(_installed_packages(layout))
    return Facts(
        os_id=os_release.get("ID", ""), os_version=os_release.get("VERSION_ID", ""),
        packages=packages,
        caddy_available="caddy" in packages or _apt_has(layout, "caddy"),
        users=frozenset(passwd),
        user_groups=frozenset(g for g, fields in groups.items() if layout.user in fields[2].split(",")),
        files=files, dirs=dirs, links=links,
        release_ready=(release / RELEASE_STAMP).is_file(),
        pg_ready=options.database != "postgresql" or _pg_ready(layout),
        schema_current=schema_current(layout, layout.release(options.version)),
        enabled_units=frozenset(u for u in STARTED_UNITS + ROLE_UNITS if _enabled(layout, u)),
        systemd_running=layout.root == Path("/") and Path("/run/systemd/system").is_dir(),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _table(path: Path) -> dict[str, list[str]]:
    """/etc/passwd or /etc/group: name -> the other fields."""
    rows = {}
    for line in _read(path).splitlines():
        fields = line.split(":")
        if len(fields) >= 4:
            rows[fields[0]] = fields[1:]
    return rows


def _user(uid: int, layout: Layout) -> str:
    for name, fields in _table(layout.at("/etc/passwd")).items():
        if fields[1] == str(uid):
            return name
    return str(uid)


def _group(gid: int, layout: Layout) -> str:
    for name, fields in _table(layout.at("/etc/group")).items():
        if fields[1] == str(gid):
            return name
    return str(gid)


def _installed_packages(layout: Layout) -> set[str]:
    try:
        out = subprocess.run(["dpkg-query", f"--admindir={layout.at('/var/lib/dpkg')}", "-W",
                              "-f=${Package} ${db:Status-Status}\n"], capture_output=True, text=True).stdout
    except OSError:
        return set()
    return {line.split()[0] for line in out.splitlines() if line.endswith(" installed")}


def _apt_has(layout: Layout, package: str) -> bool:
    if layout.root != Path("/"):
        return True  # a scratch root (tests): no archive to ask
    def candidate() -> bool:
        out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True).stdout
        return "Candidate:" in out and "Candidate: (none)" not in out

    try:
        # A fresh machine may have no package lists yet (or old ones): look once more after an update.
        return candidate() or (subprocess.run(["apt-get", "update", "-qq"], capture_output=True).returncode == 0
                               and candidate())
    except OSError:
        return False


def _pg_ready(layout: Layout) -> bool:
    if layout.root != Path("/") or not shutil.which("psql"):
        return False
    query = f"SELECT count(*) FROM pg_database d JOIN pg_roles r ON r.rolname = '{layout.user}' AND r.rolcreatedb " \
            f"WHERE d.datname = '{layout.user}'"
    done = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-tAc", query], capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.strip() == "1"


def schema_current(layout: Layout, release: str) -> bool:
    """Whether the database in the environment file's DATABASE_URL is at ``release``'s newest migration, asked of
    the release's own Python (as the service user on a real machine). False when there is no release, no
    environment file or no database yet, or when the check fails: then the migration is planned."""
    python = layout.at(f"{release}/.venv/bin/python")
    settings = parse_env(_read(layout.at(layout.env_file)))
    if not python.exists() or not settings.get("DATABASE_URL"):
        return False
    argv = [str(python), "-c", SCHEMA_CHECK]
    if layout.root == Path("/") and os.geteuid() == 0:
        argv = ["runuser", "-u", layout.user, "--", *argv]
    try:
        done = subprocess.run(argv, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **settings},
                              cwd=layout.at(release), capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _enabled(layout: Layout, unit: str) -> bool:
    wants = "timers.target.wants" if unit.endswith(".timer") else (
        "multi-user.target.wants" if unit == "quietline.target" else "quietline.target.wants")
    return layout.at(f"{layout.unit_dir}/{wants}/{unit}").is_symlink()


# --- executing -----------------------------------------------------------------------------------------------------

class Executor:
    """Carries out actions under ``layout.root``, writing one line per action to the transcript.

    ``system=False`` (tests in a scratch root) carries out only what touches files, folders and links, and records
    the rest as skipped."""

    def __init__(self, layout: Layout, transcript: Path, *, system: bool = True,
                 echo: Callable[[str], None] = print):
        self.layout = layout
        self.transcript = transcript
        self.system = system
        self.echo = echo

    def log(self, line: str) -> None:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.transcript.parent.mkdir(parents=True, exist_ok=True)
        with self.transcript.open("a", encoding="utf-8") as out:
            out.write(f"{stamp} {line}\n")
        os.chmod(self.transcript, 0o640)
        self.echo(line)

    def run(self, actions: Sequence[Action]) -> int:
        """Carry out ``actions`` in order; the number of changes made (notes are only said)."""
        changes = [a for a in actions if not isinstance(a, Note)]
        for action in actions:
            self.log(("== " if not isinstance(action, Note) else "") + action.describe())
            self.apply(action)
        self.log(f"done: {len(changes)} change(s)" if changes else
                 "nothing to change: the machine is already installed as asked")
        return len(changes)

    def apply(self, action: Action) -> None:
        at = self.layout.at
        match action:
            case Note():
                return
            case MakeDir(path, mode, owner, group):
                at(path).mkdir(parents=True, exist_ok=True)
                os.chmod(at(path), mode)
                self._chown(at(path), owner, group)
            case WriteFile(path, content, mode, owner, group):
                target = at(path)
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
                try:
                    with os.fdopen(fd, "wb") as out:
                        out.write(content)
                    os.chmod(tmp, mode)
                    self._chown(Path(tmp), owner, group)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            case EnsureLine(path, line, comment):
                target = at(path)
                text = target.read_text() if target.exists() else ""
                if line not in text.splitlines():
                    with target.open("a") as out:
                        out.write(f"{'' if not text or text.endswith(chr(10)) else chr(10)}\n{comment}\n{line}\n")
            case CopyTree(source, dest, names, once):
                target = at(dest)
                if once and target.exists():
                    return
                staging = target.with_name(target.name + ".partial")
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir(parents=True)
                src = Path(source)
                for name in names:
                    item = src / name
                    if item.is_dir():
                        shutil.copytree(item, staging / name, dirs_exist_ok=True,
                                        ignore=shutil.ignore_patterns(*RELEASE_SKIP))
                    elif item.is_file():
                        shutil.copy2(item, staging / name)
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
                if once:
                    self._chown_tree(target, "root", self.layout.user, 0o640, 0o750)
            case MakeVenv(release, python):
                folder = at(release)
                if self.system:
                    self._check([python, "-m", "venv", str(folder / ".venv")])
                    self._check([str(folder / ".venv/bin/python"), "-m", "pip", "install", "--quiet",
                                 "--disable-pip-version-check", "-r", str(folder / "requirements.txt")])
                (folder / RELEASE_STAMP).write_text(f"{dt.datetime.now(dt.timezone.utc).isoformat()}\n")
            case Symlink(path, target):
                link = at(path)
                tmp = link.with_name(f".{link.name}.new")
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(target)
                os.replace(tmp, link)  # atomic: `current` is never missing
            case _ if not self.system:
                self.log(f"   (skipped here: {type(action).__name__})")
            case AptInstall(packages):
                self._check(["apt-get", "update", "-qq"])
                self._check(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
                            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            case CreateUser(name, home):
                self._check(["useradd", "--system", "--user-group", "--home-dir", home, "--no-create-home",
                             "--shell", "/usr/sbin/nologin", name])
            case AddToGroup(user, group):
                self._check(["usermod", "-a", "-G", group, user])
            case Run(argv, as_user, cwd, _, pass_env):
                env = None
                if as_user:
                    # runuser is in /usr/sbin; nothing of the caller's environment but the service's own settings
                    # and what the action names (never logged: only the command line is).
                    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **parse_env(_read(at(self.layout.env_file))),
                           **{name: os.environ[name] for name in pass_env if name in os.environ}}
                    argv = ("runuser", "-u", as_user, "--", *argv)
                self._check(list(argv), env=env, cwd=cwd or None)
            case Systemctl(verb, units):
                self._check(["systemctl", verb, *units])
            case _:
                raise InstallError(f"no way to carry out {action!r}")

    def _check(self, argv: list[str], env: Mapping[str, str] | None = None, cwd: str | None = None) -> None:
        try:
            done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
        except OSError as exc:
            raise InstallError(f"`{argv[0]}` could not be run ({exc.strerror}); "
                               f"transcript: {self.transcript}") from None
        for line in (done.stdout + done.stderr).splitlines()[-20:]:
            self.log(f"   | {line}")
        if done.returncode != 0:
            raise InstallError(f"`{shlex.join(argv[:6])}` failed (exit {done.returncode}); transcript: "
                               f"{self.transcript}")

    def _chown(self, path: Path, owner: str, group: str) -> None:
        if os.geteuid() != 0 or not owner:
            return  # tests as a normal user: modes are checked, owners cannot be set
        try:
            uid = pwd.getpwnam(owner).pw_uid if self.layout.root == Path("/") else int(
                _table(self.layout.at("/etc/passwd"))[owner][1])
            gid = int(_table(self.layout.at("/etc/group"))[group][1])
        except (KeyError, ValueError):
            if self.system:
                raise
            return
        os.chown(path, uid, gid)

    def _chown_tree(self, top: Path, owner: str, group: str, file_mode: int, dir_mode: int) -> None:
        for path in [top, *top.rglob("*")]:
            os.chmod(path, dir_mode if path.is_dir() else file_mode)
            self._chown(path, owner, group)


def carry_out(what: str, make_plan: Callable[[], list[Action]], executor: Callable[[], Executor], *,
              dry_run: bool, nothing: str) -> int:
    """Plan, then print the plan (``dry_run``) or run it with ``executor()``; the exit status for ``main``.

    ``what`` names the command in its error line ("install stopped: ..."); ``nothing`` is printed for an empty
    plan. Exit 0 when done or printed, 1 when an ``InstallError`` stopped it (what ran is in the transcript).
    """
    try:
        actions = make_plan()
        if dry_run:
            for action in actions:
                print(action.describe())
            print(f"{len(actions)} step(s)" if actions else nothing)
            return 0
        executor().run(actions)
    except InstallError as exc:
        print(f"{what} stopped: {exc}", file=sys.stderr)
        return 1
    return 0


BACKUP_KEY_SCRIPT = ("from ivr.ops.backup_crypto import generate_backup_keypair, private_key_notice\n"
                     "public, private = generate_backup_keypair()\n"
                     "print(public.text())\n"
                     "print(private.text())\n"
                     "print(private_key_notice(private))\n")
PRIVATE_KEY_FILE = "/root/quietline-backup-private-key.txt"
# Written into the environment file when the private half went to PRIVATE_KEY_FILE (no terminal): the doctor, run as
# the service user who cannot see /root, names the left-behind key until the line is deleted.
PRIVATE_KEY_LEFT_NOTE = "# quietline: the backup PRIVATE key was left on this machine at "


def backup_key(layout: Layout, transcript: Path, *, terminal: bool,
               generate: Callable[[], tuple[str, str, str]] | None = None) -> None:
    """Give the machine a backup key pair once: the PUBLIC half into the environment file (``IVR_BACKUP_PUBLIC_KEY``,
    never replaced), the PRIVATE half shown once, never written to the transcript.

    Made by the release's own Python (``cryptography`` is in its virtualenv, not in the system Python running this).
    ``terminal``: the private half is printed with what to do with it; otherwise the key alone goes to a root-only
    file (``PRIVATE_KEY_FILE``, 0400, usable as ``backup restore --key-file``) whose path is printed, to be moved off
    the machine. ``generate``: (public text, private text, notice), for tests; default the release's Python.
    """
    env_path = layout.at(layout.env_file)
    env_text = env_path.read_text(encoding="utf-8")
    if parse_env(env_text).get("IVR_BACKUP_PUBLIC_KEY"):
        return
    if generate is None:
        python = layout.at(f"{layout.current}/.venv/bin/python")
        made = subprocess.run([str(python), "-c", BACKUP_KEY_SCRIPT], capture_output=True, text=True,
                              cwd=layout.at(layout.current), check=False)
        if made.returncode != 0:
            raise InstallError(f"could not make the backup key pair: {made.stderr.strip()[-500:]}")
        public, private, notice = made.stdout.split("\n", 2)
    else:
        public, private, notice = generate()
    merged, _added = merge_env(env_text, [("IVR_BACKUP_PUBLIC_KEY", public.strip(),
                                           "seals every backup archive; its private half is kept OFF this machine "
                                           "(docs/ops-backup.md#the-backup-key)")])
    if not terminal:
        merged = (merged.rstrip("\n") + f"\n{PRIVATE_KEY_LEFT_NOTE}{PRIVATE_KEY_FILE}: move it off, delete it, then "
                  "delete this line (`flask --app app doctor` reports it until then)\n")
    # Replaced atomically (it holds every secret: a crash must never leave it cut short), keeping its mode and owner.
    before = env_path.stat()
    fd, tmp = tempfile.mkstemp(dir=env_path.parent, prefix=f".{env_path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(merged)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, stat.S_IMODE(before.st_mode))
        if os.geteuid() == 0:
            os.chown(tmp, before.st_uid, before.st_gid)
        os.replace(tmp, env_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    line = f"backup key pair made: the public half is in {layout.env_file} (IVR_BACKUP_PUBLIC_KEY)"
    if terminal:
        print(notice.rstrip())
        where = "the private half was shown on the terminal only"
    else:
        secret_file = layout.at(PRIVATE_KEY_FILE)
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(private.strip() + "\n")
        print(f"NOTE: the backup PRIVATE key is in {PRIVATE_KEY_FILE} (root only): move it off this machine "
              "(a password manager, a sealed envelope), then delete the file. Restores need it.")
        where = f"the private half was written to {PRIVATE_KEY_FILE} (root only) to be moved off the machine"
    transcript.parent.mkdir(parents=True, exist_ok=True)
    with transcript.open("a", encoding="utf-8") as out:
        out.write(f"{line}; {where}\n")


def _ask(prompt: str, secret: bool) -> str:
    import getpass

    return getpass.getpass(prompt) if secret else input(prompt)


def twilio_settings(args: argparse.Namespace, env: Mapping[str, str], environ: Mapping[str, str],
                    ask: Callable[[str, bool], str] | None) -> dict[str, str]:
    """The Twilio values for ``Options`` (``twilio_number``, ``twilio_account_sid``, ``twilio_auth_token``): from
    the options, else the environment, else asked (``ask(prompt, secret)``; None: never) for what the environment
    file ``env`` lacks; an empty answer skips it. Validated (``e164``, ``account_sid``); InstallError otherwise."""
    number = args.twilio_number or environ.get("TWILIO_NUMBER", "")
    sid = args.twilio_account_sid or environ.get("TWILIO_ACCOUNT_SID", "")
    token = environ.get("TWILIO_AUTH_TOKEN", "")
    if ask is not None:
        if not number and not env.get("TWILIO_NUMBER"):
            number = ask("The practice's Twilio number, E.164 (+15555550100; Enter to skip): ", False).strip()
        if not sid and not env.get("TWILIO_ACCOUNT_SID"):
            sid = ask("Twilio account SID (AC…; Enter to skip): ", False).strip()
        if not token and not env.get("TWILIO_AUTH_TOKEN"):
            token = ask("Twilio auth token (not shown; Enter to skip): ", True).strip()
    return {"twilio_number": e164(number) if number else "", "twilio_account_sid": account_sid(sid) if sid else "",
            "twilio_auth_token": token.strip()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivr.ops.install", description=__doc__.split("\n\n")[0])
    parser.add_argument("--domain", default="", help="the public host name, e.g. phone.your-practice.example")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--acme-email", default="", help="for Let's Encrypt's expiry notices (optional)")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--twilio-number", default="",
                        help="the practice's Twilio number, E.164 (+15555550100); asked for when run in a terminal")
    parser.add_argument("--twilio-account-sid", default="",
                        help="AC…; asked for when run in a terminal (the auth token is asked for, or read from the "
                             "TWILIO_AUTH_TOKEN environment variable: never on the command line)")
    parser.add_argument("--no-prompt", action="store_true", help="ask nothing, even in a terminal")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--transcript", default="/var/log/quietline/install.log")
    parser.add_argument("--container-secrets", metavar="DIR", type=Path, default=None,
                        help="only write .env and quietline.env for compose.yaml into DIR (no root needed)")
    args = parser.parse_args(argv)
    if args.container_secrets:
        # Against the working directory, as the documented `--container-secrets ivr/ops/files` means (the executor
        # places paths under the layout's root, "/", so a relative one would land at /ivr/ops/files).
        directory = args.container_secrets.resolve()
        existing = {name: _read(directory / name) or None for name in (".env", "quietline.env")}
        Executor(Layout(), directory / "secrets.log", system=False).run(plan_container_secrets(directory, existing))
        print(f"Keep a copy of IVR_RECORDINGS_KEY from {directory / '.env'} outside this machine.")
        return 0
    if os.geteuid() != 0 and not args.dry_run:
        print("the install needs root: sudo make install", file=sys.stderr)
        return 2
    # The release and its virtualenv are read and run by the service's user, whatever umask the administrator's
    # shell (or a process that called restrict_umask) has: 022 here; every private file gets its own explicit mode.
    os.umask(0o022)
    layout = Layout()
    try:
        env = parse_env(_read(layout.at(layout.env_file)))
        layout = layout.with_settings(env)
        twilio = twilio_settings(args, env, os.environ,
                                 ask=None if args.no_prompt or not sys.stdin.isatty() else _ask)
    except InstallError as exc:
        print(f"install stopped: {exc}", file=sys.stderr)
        return 2
    options = Options(domain=args.domain, database=args.database, acme_email=args.acme_email,
                      web_workers=args.web_workers, version=release_version(PROJECT_ROOT), **twilio)
    status = carry_out("install", lambda: plan(gather_facts(layout, options), layout, options),
                       lambda: Executor(layout, Path(args.transcript)), dry_run=args.dry_run,
                       nothing="nothing to change")
    if status == 0 and not args.dry_run:
        try:
            backup_key(layout, Path(args.transcript), terminal=sys.stdout.isatty())
        except InstallError as exc:
            print(f"install stopped: {exc}", file=sys.stderr)
            return 1
    return status

if __name__ == "__main__":
    raise SystemExit(main())
