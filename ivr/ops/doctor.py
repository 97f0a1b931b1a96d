"""``flask --app app doctor``: check a live installation and name every problem.

Gathering (Twilio, Redis, the database, files, the clock) happens at the edge, in ``gather``, into
plain ``Facts``; each check is a small pure function of the facts and the ``Limits``, so a test plants a
fault in the facts (or in a real Redis, file or number) and reads what the doctor says.  Nothing about a
client is read or printed: recordings are only opened to prove the key works, never shown.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from redis import ConnectionPool, Redis
from redis.exceptions import AuthenticationError, RedisError, ResponseError
from rq import Queue, Worker
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from rq.utils import utcparse
from twilio.base.exceptions import TwilioException

from ivr.config import Settings, is_development_token
from ivr.db.database import current_revision, head_revision
from ivr.encryption import RECORDINGS_ENV_NAME, FileCipher, RecordCipher
from ivr.escalations import recordings as recording_rows
from ivr.escalations.recording_files import AUDIO_SUFFIX
from ivr.exceptions import ConfigError, IvrError
from ivr.jobs import speech_backlog
from ivr.jobs.enqueue import SPEECH_MODEL_QUEUE, SPEECH_QUEUE, URGENT_QUEUE
from ivr.jobs.layout import worker_layout
from ivr.ops import backup as backup_mod
from ivr.ops import backup_crypto
from ivr.ops import connect as connect_mod
from ivr.ops.install import PRIVATE_KEY_LEFT_NOTE
from ivr.outbound.rules import check_outbound
from ivr.practice.settings.model import PracticeSettings
from ivr.secret_files import LooseSecretFile, file_variable, secret_file_paths, secrets_in_environment

CONTAINER_MARKS = (Path("/.dockerenv"), Path("/run/.containerenv"))  # Docker's and Podman's
STATUS_FILE = "status.json"  # written by `flask backup create` (go-common.md's status contract)
SKEW_LIMIT_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    """How old a backup and a verified restore may be, how much disk must be free, how far the clock may drift."""

    backup_max_age: dt.timedelta = dt.timedelta(hours=26)
    restore_max_age: dt.timedelta = dt.timedelta(days=35)
    min_free_bytes: int = 1024 * 1024 * 1024
    max_clock_skew_seconds: float = SKEW_LIMIT_SECONDS
    speech_model_queue_age: float = speech_backlog.MODEL_QUEUE_MAX_AGE_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(dt.timedelta(hours=settings.doctor_backup_max_hours),
                   dt.timedelta(days=settings.doctor_restore_max_days),
                   settings.doctor_min_free_mb * 1024 * 1024,
                   speech_model_queue_age=settings.health_speech_model_queue_max_age_seconds)


@dataclass(frozen=True)
class RedisFacts:
    aof_enabled: bool | None = None
    appendfsync: str | None = None         # None: CONFIG refused (renamed away): not checked
    maxmemory_policy: str | None = None
    open_without_password: bool | None = None
    error: str | None = None


@dataclass(frozen=True)
class RoleFacts:
    """RQ's own registry: the worker queue lists (``ivr.jobs.layout.worker_layout``) no live worker serves, and the
    queues whose scheduler lock nobody holds. A worker killed with -9 leaves the registry when its key expires
    (RQ's worker_ttl); a scheduler's lock expires after its interval + 60 s."""

    workers_missing: tuple[tuple[str, str], ...] = ()  # (queue list, e.g. "urgent,calls"; its systemd unit)
    scheduler_locks_missing: tuple[str, ...] = ()
    error: str | None = None


# The systemd unit running each of worker_layout's workers, in its order (docs/deploy.md's roles).
WORKER_UNITS = ("quietline-worker-urgent", "quietline-worker", "quietline-worker-speech")


@dataclass(frozen=True)
class PathMode:
    label: str
    path: str
    is_dir: bool
    mode: int | None  # None: missing
    group_may_read: bool = False  # e.g. Redis's settings: 0640 redis:redis (the service user is in that group)


@dataclass(frozen=True)
class ClockFacts:
    source: str                           # "chrony", "timedatectl", "twilio", "none"
    synchronized: bool | None = None      # what chrony / timedatectl say
    skew_seconds: float | None = None     # ours minus Twilio's Date header
    error: str | None = None


@dataclass(frozen=True)
class Facts:
    """Everything the checks look at, gathered once."""

    now: dt.datetime
    public_base_url: str
    rest_is_standin: bool
    token: str                            # "unset", "development" or "set": never the token itself
    number: str | None = None
    number_differences: list[str] | None = None   # managed fields that do not point at us
    number_error: str | None = None
    messaging_service: str | None = None  # the warning connect gives
    redis: RedisFacts = field(default_factory=RedisFacts)
    roles: RoleFacts = field(default_factory=RoleFacts)
    # Voicemails waiting for a speech worker with a model (None: not read; speech_error says why).
    speech: speech_backlog.SpeechBacklog | None = None
    speech_error: str | None = None
    # Recordings whose copy Twilio still holds after every deletion asked was refused (None: not read).
    twilio_copies_given_up: int | None = None
    db_revision: str | None = None
    db_head: str | None = None
    db_error: str | None = None
    backup_status: dict[str, Any] | None = None
    backup_error: str | None = None       # "missing" or why it is unreadable
    backup_status_path: str = ""
    backup_key: str = "set"               # "set", "missing", or why IVR_BACKUP_PUBLIC_KEY is unusable
    plain_archives: list[str] = field(default_factory=list)   # archives in the backup dir that are not encrypted
    private_key_on_machine: list[str] = field(default_factory=list)  # where the backup's private half was found
    free_bytes: dict[str, int] = field(default_factory=dict)
    modes: list[PathMode] = field(default_factory=list)
    loose_files: dict[str, int] = field(default_factory=dict)  # folder -> files in it others may read
    recordings_key_error: str | None = None
    recording_probe: str | None = None    # None: none to try; "ok"; or why it did not open
    clock: ClockFacts = field(default_factory=lambda: ClockFacts("none"))
    secrets_in_environment: tuple[str, ...] = ()  # secret settings given as NAME, not NAME_FILE (names only)
    in_container: bool = False  # Docker's /.dockerenv or Podman's /run/.containerenv: `docker inspect` shows the env
    listed_in_pool: tuple[str, ...] = ()  # the practice's listed line found in outbound.yaml's caller_id.numbers


@dataclass(frozen=True)
class Finding:
    check: str
    message: str


# ----------------------------------------------------------------------------- the checks (pure)

def check_public_base_url(f: Facts, limits: Limits) -> list[Finding]:
    parts = urlsplit(f.public_base_url)
    if parts.scheme != "https" or not parts.hostname:
        return [Finding("public_base_url", f"PUBLIC_BASE_URL is {f.public_base_url!r}: it must be https:// so "
                                           "callers' answers never travel in clear")]
    return []


def check_number(f: Facts, limits: Limits) -> list[Finding]:
    listed = [Finding("number", f"{number} is the practice's listed line (TWILIO_NUMBER, the number callers dial) "
                                "and is in outbound.yaml's caller_id.numbers: every follow-up and reminder would show "
                                "it and its caller name; the outbound rules are refused until it is removed")
              for number in f.listed_in_pool]
    if listed:
        return listed
    if f.number_error:
        return [Finding("number", f.number_error)]
    if f.number_differences:
        return [Finding("number", f"{f.number}: {', '.join(f.number_differences)} do not point at "
                                  f"{f.public_base_url} (run `flask --app app twilio connect`)")]
    return []


def check_auth_token(f: Facts, limits: Limits) -> list[Finding]:
    if f.token == "unset":
        return [Finding("auth_token", "TWILIO_AUTH_TOKEN is not set")]
    if f.token == "development":
        return [Finding("auth_token", "TWILIO_AUTH_TOKEN is the development one `make run` wrote: set your "
                                      "account's auth token (Twilio Console, Account info)")]
    return []


def check_redis(f: Facts, limits: Limits) -> list[Finding]:
    r = f.redis
    if r.error:
        return [Finding("redis", f"Redis: {r.error}")]
    out = []
    if not r.aof_enabled:
        out.append(Finding("redis", "Redis's append-only file is off (appendonly no): queued jobs and calls in "
                                    "progress are lost when it stops; set appendonly yes"))
    elif r.appendfsync == "no":
        out.append(Finding("redis", "Redis's appendfsync is 'no': set appendfsync everysec"))
    if r.maxmemory_policy != "noeviction":
        out.append(Finding("redis", f"Redis's maxmemory-policy is {r.maxmemory_policy!r}: a job queue must never be "
                                    "evicted; set maxmemory-policy noeviction"))
    if r.open_without_password:
        out.append(Finding("redis", "Redis answers without a password: set requirepass (and the password in "
                                    "REDIS_URL)"))
    return out


def check_roles(f: Facts, limits: Limits) -> list[Finding]:
    r = f.roles
    if r.error:
        return [Finding("roles", f"RQ's worker registry cannot be read: {r.error}")]
    out = []
    for names, unit in r.workers_missing:
        out.append(Finding("roles", f"no live worker serves the {names} queue(s): is {unit} running? "
                                    f"(systemctl status {unit}; journalctl -u {unit})"))
    if r.scheduler_locks_missing:
        out.append(Finding("roles", f"no scheduler holds the lock of the {', '.join(r.scheduler_locks_missing)} "
                                    "queue(s): retries and timed jobs wait; is quietline-scheduler running? "
                                    "(systemctl status quietline-scheduler)"))
    return out


def check_speech(f: Facts, limits: Limits) -> list[Finding]:
    """Voicemails a speech worker without a model left, with no worker with a model alive, or waiting too long on
    the speech-model queue (``ivr.jobs.speech_backlog``: the same words as /health's)."""
    if f.speech_error:
        return [Finding("speech", f"the voicemails waiting for transcription cannot be counted: {f.speech_error}")]
    if f.speech is None:
        return []
    return [Finding("speech", words) for _, words in speech_backlog.problems(f.speech, limits.speech_model_queue_age)]


def check_twilio_copies(f: Facts, limits: Limits) -> list[Finding]:
    """Voicemail copies Twilio refused to delete DELETE_ATTEMPTS_MAX times: nothing asks again, a person must."""
    if not f.twilio_copies_given_up:
        return []
    return [Finding("twilio_copies",
                    f"{f.twilio_copies_given_up} voicemail(s) are still kept at Twilio: Twilio refused to delete them "
                    f"{recording_rows.DELETE_ATTEMPTS_MAX} times, so Quietline stopped asking. Check that the "
                    "account's key may delete recordings, and delete them in Twilio's console (Monitor, Recordings); "
                    "each escalation's page says which")]


def check_database(f: Facts, limits: Limits) -> list[Finding]:
    if f.db_error:
        return [Finding("database", f"the database cannot be read: {f.db_error}")]
    if f.db_revision != f.db_head:
        return [Finding("database", f"the database is at migration {f.db_revision or 'none'}, the newest is "
                                    f"{f.db_head}: run `flask --app app db upgrade`")]
    return []


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.utcoffset() is not None else None


def _age(now: dt.datetime, then: dt.datetime) -> str:
    hours = (now - then).total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.0f} days"


def check_backups(f: Facts, limits: Limits) -> list[Finding]:
    if f.backup_error == "missing":
        return [Finding("backup", f"no backup yet ({f.backup_status_path} is missing): run `flask --app app "
                                  "backup create` and schedule it")]
    if f.backup_error or f.backup_status is None:
        return [Finding("backup", f"{f.backup_status_path} is unreadable: {f.backup_error}")]
    out = []
    last = _instant(f.backup_status.get("last_backup_at"))
    if last is None:
        out.append(Finding("backup", f"{f.backup_status_path}: last_backup_at is not an ISO 8601 instant"))
    elif f.now - last > limits.backup_max_age:
        hours = limits.backup_max_age.total_seconds() / 3600
        out.append(Finding("backup", f"the last backup is {_age(f.now, last)} old (more than {hours:.0f} h): "
                                     "is the schedule running?"))
    verified = _instant(f.backup_status.get("last_verified_restore_at"))
    if verified is None:
        out.append(Finding("restore", "no verified restore yet: run `flask --app app backup verify`"))
    elif f.now - verified > limits.restore_max_age:
        out.append(Finding("restore", f"the last verified restore is {_age(f.now, verified)} old (more than "
                                      f"{limits.restore_max_age.days} days): run `flask --app app backup verify`"))
    return out


def check_backup_key(f: Facts, limits: Limits) -> list[Finding]:
    out = []
    if f.backup_key == "missing":
        out.append(Finding("backup_key", f"{backup_crypto.PUBLIC_ENV_NAME} is not set: backups cannot be encrypted "
                                         "(`backup create` refuses without --unencrypted). Make a pair with `flask "
                                         "--app app backup new-key` (docs/ops-backup.md)"))
    elif f.backup_key != "set":
        out.append(Finding("backup_key", f.backup_key))
    if f.plain_archives:
        names = ", ".join(f.plain_archives[:3]) + (f" and {len(f.plain_archives) - 3} more"
                                                   if len(f.plain_archives) > 3 else "")
        out.append(Finding("backup_key", f"{len(f.plain_archives)} backup archive(s) are NOT encrypted (the database "
                                         f"and every key in clear): {names}. Delete them once an encrypted backup "
                                         "is verified, and any copy made of them"))
    for where in f.private_key_on_machine:
        out.append(Finding("backup_key", f"the backup's PRIVATE key is on this machine ({where}): whoever takes the "
                                         "machine can read every backup. Keep it elsewhere and remove it here"))
    return out


def check_disk(f: Facts, limits: Limits) -> list[Finding]:
    return [Finding("disk", f"{path}: only {free // (1024 * 1024)} MB free (at least "
                            f"{limits.min_free_bytes // (1024 * 1024)} MB wanted)")
            for path, free in sorted(f.free_bytes.items()) if free < limits.min_free_bytes]


def check_permissions(f: Facts, limits: Limits) -> list[Finding]:
    out = []
    for entry in f.modes:
        if entry.mode is None or not entry.mode & (0o007 if entry.group_may_read else 0o077):
            continue
        want = "0700" if entry.is_dir else "0640" if entry.group_may_read else "0600"
        out.append(Finding("permissions", f"{entry.label} {entry.path} is {entry.mode:04o}: other users can read "
                                          f"it; make it {want} (chmod {want[1:]})"))
    for folder, count in sorted(f.loose_files.items()):
        if count:
            out.append(Finding("permissions", f"{count} file(s) in {folder} can be read by other users: make them "
                                              f"0600 (chmod -R go= {folder})"))
    return out


def check_keys(f: Facts, limits: Limits) -> list[Finding]:
    if f.recordings_key_error:
        return [Finding("encryption_key", f.recordings_key_error)]
    if f.recording_probe not in (None, "ok"):
        return [Finding("encryption_key", f"{RECORDINGS_ENV_NAME} does not open the newest recording: "
                                          f"{f.recording_probe}")]
    return []


def check_clock(f: Facts, limits: Limits) -> list[Finding]:
    c = f.clock
    if c.error:
        return [Finding("clock", f"cannot tell whether the clock is in sync: {c.error}")]
    if c.synchronized is False:
        return [Finding("clock", f"the clock is not synchronised ({c.source}): enable NTP (systemd-timesyncd "
                                 "or chrony); signatures, deadlines and backups depend on it")]
    if c.skew_seconds is not None and abs(c.skew_seconds) > limits.max_clock_skew_seconds:
        return [Finding("clock", f"the clock is {c.skew_seconds:+.0f} s off Twilio's: enable NTP "
                                 "(systemd-timesyncd or chrony)")]
    return []


CHECKS: list[tuple[str, Callable[[Facts, Limits], list[Finding]]]] = [
    ("public_base_url", check_public_base_url),
    ("number", check_number),
    ("auth_token", check_auth_token),
    ("redis", check_redis),
    ("roles", check_roles),
    ("speech", check_speech),
    ("twilio_copies", check_twilio_copies),
    ("database", check_database),
    ("backup", check_backups),
    ("backup_key", check_backup_key),
    ("disk", check_disk),
    ("permissions", check_permissions),
    ("encryption_key", check_keys),
    ("clock", check_clock),
]


def settings_findings(load: Callable[[], Settings]) -> list[Finding]:
    """``config_findings`` of the settings ``load`` returns; a refusal of the settings themselves (a secret file
    that is missing, loose, empty, or given twice: ivr.secret_files) is the one finding."""
    try:
        settings = load()
    except LooseSecretFile as exc:
        return [Finding("permissions", str(exc))]
    except ConfigError as exc:
        return [Finding("config", str(exc))]
    return config_findings(settings)


def config_findings(settings: Settings) -> list[Finding]:
    """What the service refuses to start with (``Settings.validate``, malformed IVR_DATA_KEY or IVR_RECORDINGS_KEY),
    each a finding: the doctor reports them instead of a traceback. Empty when the settings are usable."""
    out = []
    for check, parse, value in (("data_key", RecordCipher.from_setting, settings.data_key),
                                ("encryption_key", FileCipher.from_setting, settings.recordings_key)):
        try:
            parse(value)
        except ConfigError as exc:
            out.append(Finding(check, str(exc)))
    try:
        settings.validate()
    except ConfigError as exc:
        if str(exc) not in {f.message for f in out}:  # validate() may refuse the same key: said once
            out.insert(0, Finding("config", str(exc)))
    return out


def config_report(findings: list[Finding]) -> dict[str, Any]:
    """The report (as ``diagnose``'s) when the settings themselves are unusable: nothing else can be checked."""
    return {"ok": False, "problems": [asdict(p) for p in findings], "warnings": [],
            "checks": [{"name": name, "ok": False} for name in dict.fromkeys(p.check for p in findings)]}


def warnings_of(f: Facts) -> list[Finding]:
    out = []
    if f.rest_is_standin:
        out.append(Finding("twilio_api_url",
                           "TWILIO_API_URL is a local Twilio stand-in: fine for a rehearsal, not for going live"))
    if f.messaging_service:
        out.append(Finding("number", f.messaging_service))
    # Only in a container: there the environment is shown to whoever may run `docker inspect`. A native install's
    # units read the 0600 environment file, and the process's environment is readable by the same user and root
    # only, as the file is: nothing is added by warning there.
    if f.secrets_in_environment and f.in_container and not f.rest_is_standin:
        names = ", ".join(f.secrets_in_environment)
        out.append(Finding("secrets_in_environment",
                           f"{names} {'is' if len(f.secrets_in_environment) == 1 else 'are'} in the service's "
                           "environment, which `docker inspect`, /proc/<pid>/environ and every child process see: give "
                           f"each as {file_variable('<NAME>')}, the path of a file only the service user reads "
                           "(docs/deploy.md, \"Where secrets live\")"))
    return out


def diagnose(f: Facts, limits: Limits) -> dict[str, Any]:
    """The report: ``ok``, ``problems`` and ``warnings`` ([{check, message}]), and each check's verdict."""
    problems: list[Finding] = []
    verdicts = []
    for name, check in CHECKS:
        found = check(f, limits)
        problems.extend(found)
        verdicts.append({"name": name, "ok": not found})
    return {"ok": not problems, "problems": [asdict(p) for p in problems],
            "warnings": [asdict(w) for w in warnings_of(f)], "checks": verdicts}


# ----------------------------------------------------------------------------- gathering (the edge)

def gather_redis(conn: Redis) -> RedisFacts:
    """AOF and eviction policy from INFO (works where CONFIG is renamed away), and whether a client
    without the password is let in."""
    try:
        persistence = conn.info("persistence")
        memory = conn.info("memory")
    except RedisError as exc:
        return RedisFacts(error=f"cannot be read ({type(exc).__name__}: {exc})")
    try:
        fsync = conn.config_get("appendfsync").get("appendfsync")
    except ResponseError:
        fsync = None
    return RedisFacts(aof_enabled=bool(int(persistence.get("aof_enabled", 0))), appendfsync=fsync,
                      maxmemory_policy=str(memory.get("maxmemory_policy", "")),
                      open_without_password=_answers_without_password(conn))


def gather_roles(conn: Redis, calls_queue: str) -> RoleFacts:
    """Which of the installation's workers and scheduler locks RQ's registry lacks (see ``RoleFacts``)."""
    try:
        # A speech worker with a model also serves speech-model (workers.run adds it): still the speech worker.
        serving = {tuple(n for n in w.queue_names() if n != SPEECH_MODEL_QUEUE) for w in Worker.all(connection=conn)}
        queues = (URGENT_QUEUE, calls_queue, SPEECH_QUEUE)
        locks = tuple(q for q in queues if not conn.exists(RQScheduler.get_locking_key(q)))
    except RedisError as exc:
        return RoleFacts(error=f"{type(exc).__name__}: {exc}")
    missing = tuple((",".join(q), unit) for q, unit in zip(worker_layout(calls_queue), WORKER_UNITS, strict=True)
                    if q not in serving)
    return RoleFacts(workers_missing=missing, scheduler_locks_missing=locks)


def gather_speech(conn: Redis, db_sessions: Any, now: dt.datetime) -> tuple[speech_backlog.SpeechBacklog | None,
                                                                             str | None]:
    """(the backlog of voicemails waiting for a worker with a speech model, or None and why it was not read).

    Counts and ages only: RQ's registry of workers, the ``speech-model`` queue (its oldest job's wait, from RQ's
    ``enqueued_at``, against ``now``) and the ``no_model`` rows."""
    try:
        alive = sum(1 for w in Worker.all(connection=conn) if SPEECH_MODEL_QUEUE in w.queue_names())
        queue = Queue(SPEECH_MODEL_QUEUE, connection=conn)
        head = [j.decode() for j in conn.lrange(queue.key, 0, 9)]
        stamps = [conn.hget(Job.key_for(j), "enqueued_at") for j in head]
        ages = [round(now.timestamp() - utcparse(s.decode()).timestamp(), 1) for s in stamps if s]
        queued = conn.llen(queue.key) + conn.zcard(ScheduledJobRegistry(SPEECH_MODEL_QUEUE, connection=conn).key)
    except RedisError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    try:
        left = recording_rows.count_left_without_model(db_sessions)
    except Exception as exc:  # any driver's error: said, as the database check says its own
        return None, f"the database: {type(exc).__name__}"
    return speech_backlog.SpeechBacklog(alive, queued, max(ages) if ages else None, left), None


def _answers_without_password(conn: Redis) -> bool:
    pool = conn.connection_pool
    kwargs = {k: v for k, v in pool.connection_kwargs.items()
              if k not in ("password", "username", "credential_provider", "retry")}
    kwargs["socket_timeout"] = kwargs["socket_connect_timeout"] = 2.0
    probe = Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))
    try:
        probe.ping()
        return True
    except AuthenticationError:
        return False
    except ResponseError as exc:
        return "NOAUTH" not in str(exc)
    finally:
        probe.close()


def gather_clock(twilio_date: str | None, received_at: float | None,
                 run: Callable[[list[str]], str | None] | None = None) -> ClockFacts:
    """chrony's or systemd's word when they can give it, else our clock against Twilio's Date header."""
    run = run or _run_quietly
    if shutil.which("chronyc"):
        out = run(["chronyc", "-n", "tracking"])
        if out and "Leap status" in out:
            return ClockFacts("chrony", synchronized="Not synchronised" not in out)
    if shutil.which("timedatectl"):
        out = run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        if out and out.strip() in ("yes", "no"):
            return ClockFacts("timedatectl", synchronized=out.strip() == "yes")
    if twilio_date and received_at is not None:
        try:
            theirs = email.utils.parsedate_to_datetime(twilio_date).timestamp()
        except (TypeError, ValueError):
            return ClockFacts("twilio", error=f"Twilio's Date header {twilio_date!r} is unreadable")
        # The header has whole seconds: up to 1 s of it is rounding.
        return ClockFacts("twilio", skew_seconds=received_at - theirs)
    return ClockFacts("none", error="no chrony, no systemd-timesyncd answer, and no answer from Twilio to compare with")


def _run_quietly(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _loose_files(folder: Path) -> int:
    """How many files under ``folder`` have group or other permission bits (symbolic links not followed)."""
    count = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                if os.lstat(os.path.join(root, name)).st_mode & 0o077:
                    count += 1
            except FileNotFoundError:
                continue  # purged meanwhile
    return count


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None


def newest_recording(directory: Path) -> Path | None:
    try:
        files = [p for p in directory.iterdir() if p.name.endswith(AUDIO_SUFFIX) and p.is_file()]
    except FileNotFoundError:
        return None
    return max(files, key=lambda p: p.stat().st_mtime, default=None)


def backup_dir(settings: Settings, instance_dir: Path) -> Path:
    """``IVR_BACKUP_DIR`` (``settings.backup_dir``), where ``backup create`` writes ``status.json``; default
    ``<instance>/backups``."""
    return Path(settings.backup_dir) if settings.backup_dir else instance_dir / "backups"


REDIS_SETTINGS = Path("/etc/redis/quietline.conf")  # the install's; it holds Redis's password


@dataclass(frozen=True)
class Paths:
    instance_dir: Path
    env_files: tuple[Path, ...]
    backup_dir: Path
    redis_conf: Path = REDIS_SETTINGS


def gather(ql: Any, paths: Paths, number: str | None, client_factory: Callable[[], Any],
           environ: Mapping[str, str] | None = None) -> Facts:
    """Read everything the checks need from a live installation (``ql``: the app's Services; ``environ``: the
    service's environment, default this process's)."""
    settings: Settings = ql.settings
    environ = os.environ if environ is None else environ
    now = ql.clock()
    token = ("unset" if not settings.twilio_auth_token
             else "development" if is_development_token(settings.twilio_auth_token) else "set")
    number_facts, twilio_date, received_at = _gather_number(settings, number, client_factory)
    db_revision = db_head = db_error = None
    try:
        db_revision, db_head = current_revision(ql.database.engine), head_revision()
    except Exception as exc:  # any driver's error: the report says so instead of a traceback
        db_error = f"{type(exc).__name__}: {exc}"
    status_path = paths.backup_dir / STATUS_FILE
    backup_status, backup_error = None, None
    try:
        loaded = json.loads(status_path.read_text())
        if isinstance(loaded, dict):
            backup_status = loaded
        else:
            backup_error = "not a JSON object"
    except FileNotFoundError:
        backup_error = "missing"
    except (OSError, ValueError) as exc:
        backup_error = str(exc)
    backup_key, plain, private_found = gather_backup_key(settings, paths)
    speech, speech_error = gather_speech(ql.redis, ql.database.sessions, now)
    try:
        copies_given_up: int | None = recording_rows.count_deletions_given_up(ql.database.sessions)
    except Exception:  # any driver's error: the database check says what is wrong with it
        copies_given_up = None
    recordings = Path(settings.recordings_dir)
    key_error, probe = None, None
    try:
        cipher = FileCipher.from_setting(settings.recordings_key)
        newest = newest_recording(recordings)
        if newest is not None:
            try:
                cipher.open(newest.read_bytes(), newest.name)
                probe = "ok"
            except IvrError as exc:
                probe = str(exc)
    except ConfigError as exc:
        key_error = str(exc)
    url = ql.database.engine.url
    sqlite_file = None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        sqlite_file = Path(str(url.database))
    modes = [PathMode("secrets file", str(p), False, _mode(p)) for p in paths.env_files]
    # Read at start, when the settings refused a loose one; checked again here, as it may have changed since.
    # In systemd's credentials folder the group bits may be an ACL's mask (ivr.secret_files.read_secret_file).
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    modes += [PathMode(f"secret file ({variable})", path, False, _mode(Path(path)),
                       group_may_read=bool(credentials) and Path(path).resolve().parent == Path(credentials).resolve())
              for variable, path in secret_file_paths(environ).items()]
    modes += [PathMode("instance folder", str(paths.instance_dir), True, _mode(paths.instance_dir)),
              PathMode("dashboard key", str(paths.instance_dir / "secret_key"), False,
                       _mode(paths.instance_dir / "secret_key")),
              PathMode("recordings folder", str(recordings), True, _mode(recordings)),
              PathMode("backups folder", str(paths.backup_dir), True, _mode(paths.backup_dir)),
              PathMode("backup status", str(status_path), False, _mode(status_path))]
    if paths.redis_conf.exists():
        modes.append(PathMode("Redis settings (its password)", str(paths.redis_conf), False,
                              _mode(paths.redis_conf), group_may_read=True))
    if sqlite_file is not None:
        modes.append(PathMode("database file", str(sqlite_file), False, _mode(sqlite_file)))
    return Facts(
        now=now, public_base_url=settings.public_base_url, rest_is_standin=connect_mod.uses_standin(settings),
        token=token, **number_facts, redis=gather_redis(ql.redis),
        roles=gather_roles(ql.redis, settings.queue_name), speech=speech, speech_error=speech_error,
        twilio_copies_given_up=copies_given_up,
        db_revision=db_revision, db_head=db_head,
        db_error=db_error, backup_status=backup_status, backup_error=backup_error,
        backup_status_path=str(status_path), backup_key=backup_key, plain_archives=plain,
        private_key_on_machine=private_found,
        free_bytes=_free_bytes([paths.instance_dir, recordings, paths.backup_dir,
                                *([sqlite_file.parent] if sqlite_file else [])]),
        modes=modes, loose_files={str(d): _loose_files(d) for d in (recordings, paths.backup_dir)},
        recordings_key_error=key_error, recording_probe=probe,
        clock=gather_clock(twilio_date, received_at),
        secrets_in_environment=tuple(secrets_in_environment(environ)),
        in_container=CONTAINER_MARKS[0].exists() or CONTAINER_MARKS[1].exists(),
        listed_in_pool=listed_in_pool(ql, settings),
    )


def listed_in_pool(ql: Any, settings: Settings) -> tuple[str, ...]:
    """The practice's listed line(s) (``TWILIO_NUMBER``) that outbound.yaml lists among its neutral numbers, read as
    the rules are parsed without that refusal (which otherwise hides the pool); () without rules or flows."""
    flows = ql.flows.last_good
    if not settings.listed_numbers or flows is None:
        return ()
    rules, _ = check_outbound(ql.flows.path, cast(PracticeSettings, flows.practice))
    pool = rules.caller_id.numbers if rules is not None else ()
    return tuple(n for n in settings.listed_numbers if n in pool)


def gather_backup_key(settings: Settings, paths: Paths) -> tuple[str, list[str], list[str]]:
    """(IVR_BACKUP_PUBLIC_KEY's state, the plain archives in the backup dir, where a private backup key was found:
    the process's environment and the env files)."""
    state = "set"
    try:
        if backup_mod.public_key(settings) is None:
            state = "missing"
    except backup_mod.BackupError as exc:
        state = str(exc)
    try:
        plain = [p.name for p in backup_mod.archives(paths.backup_dir) if not backup_crypto.is_encrypted(p)]
    except OSError:
        plain = []
    found = []
    if backup_crypto.SECRET_PREFIX in os.environ.get(backup_crypto.PRIVATE_ENV_NAME, ""):
        found.append(f"the environment's {backup_crypto.PRIVATE_ENV_NAME}")
    for env in paths.env_files:
        try:
            text = env.read_text(errors="replace")
        except OSError:
            continue
        if backup_crypto.SECRET_PREFIX in text:
            found.append(str(env))
        for line in text.splitlines():
            # The installer, without a terminal, left the key in a root-only file this user may not see.
            if line.startswith(PRIVATE_KEY_LEFT_NOTE):
                left = line[len(PRIVATE_KEY_LEFT_NOTE):].split(":", 1)[0]
                found.append(f"{left}, where the installer wrote it; once it is moved off and deleted, delete the "
                             f"line saying so in {env}")
    return state, plain, found


def _gather_number(settings: Settings, number: str | None,
                   client_factory: Callable[[], Any]) -> tuple[dict[str, Any], str | None, float | None]:
    if not number:
        return {"number_error": "no number to check: set TWILIO_NUMBER (or pass --number)"}, None, None
    facts: dict[str, Any] = {"number": number}
    client = client_factory()
    try:
        found = connect_mod.lookup(client, number)
    except connect_mod.ConnectError as exc:
        return {**facts, "number_error": str(exc)}, *_date_of(client)
    date = _date_of(client)
    facts["number_differences"] = sorted(connect_mod.differences(found, connect_mod.wanted(settings.public_base_url)))
    try:
        facts["messaging_service"] = connect_mod.in_messaging_service_warning(client, found)
    except (TwilioException, OSError) as exc:
        facts["messaging_service"] = f"could not check Messaging Services: {exc}"
    return facts, *date


def _date_of(client: Any) -> tuple[str | None, float | None]:
    """Twilio's Date header on the last answer and when it came (ivr.telephony.twilio_rest.RedirectingHttpClient)."""
    http = client.http_client
    return getattr(http, "last_response_date", None), getattr(http, "last_response_at", None)


def _free_bytes(paths: Iterable[Path]) -> dict[str, int]:
    out: dict[str, int] = {}
    seen: set[int] = set()
    for path in paths:
        existing = next((p for p in (path, *path.parents) if p.exists()), None)
        if existing is None:
            continue
        device = existing.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        out[str(existing)] = shutil.disk_usage(existing).free
    return out
