"""Settings, read once from the environment into a frozen value.

Every setting has a documented default (README.md, "Environment") except the
Twilio auth token and the data key: without the token no webhook can be verified,
without the key no call can be kept in Redis (ivr.encryption), so their absence
stops the service at startup instead of turning every call into a 403 or an apology.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ivr.encryption import RECORDINGS_ENV_NAME, parse_keys
from ivr.exceptions import ConfigError
from ivr.private_files import private_dir
from ivr.secret_files import resolve_secret_files
from ivr.speech_decoder import DEFAULT_DECODER, decoder_options

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("IVR_INSTANCE_DIR") or PROJECT_ROOT / "instance")
EMBEDDED_REDIS_SOCKET = INSTANCE_DIR / "redis" / "redis.sock"


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know about its surroundings."""

    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str = dataclasses.field(default="", repr=False)
    # Where the official twilio client sends REST calls; a local stand-in in tests and dev.
    twilio_api_url: str = "https://api.twilio.com"
    # The URL Twilio uses to reach us; signatures are computed against it.
    public_base_url: str = "http://127.0.0.1:8000"
    # Both may carry a password; never in repr. REDIS_PASSWORD / DATABASE_PASSWORD (below) put one into a URL that
    # has none, so the URL can sit in the environment while the password comes from a file (REDIS_PASSWORD_FILE).
    redis_url: str = dataclasses.field(default=f"unix://{EMBEDDED_REDIS_SOCKET}", repr=False)
    database_url: str = dataclasses.field(default=f"sqlite:///{INSTANCE_DIR / 'quietline.db'}", repr=False)
    redis_password: str = dataclasses.field(default="", repr=False)
    database_password: str = dataclasses.field(default="", repr=False)
    flows_dir: str = str(PROJECT_ROOT / "flows")
    recordings_dir: str = str(PROJECT_ROOT / "recordings")
    # Number texts and outbound calls come from; never the practice's branded line.
    sms_from: str = "+15005550006"
    session_ttl_seconds: int = 4 * 3600
    max_steps_per_call: int = 200
    max_call_seconds: int = 3600
    flows_reload_seconds: float = 5.0
    queue_name: str = "calls"
    log_level: str = "INFO"
    # Email notifications to staff; off while SMTP_HOST is empty (texts still go out).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = dataclasses.field(default="", repr=False)
    smtp_from: str = "Quietline <quietline@localhost>"
    smtp_starttls: bool = True
    # Where staff notifications link to; default PUBLIC_BASE_URL + "/staff" (set by load_settings).
    dashboard_url: str = ""
    # RQ worker timing (workers/run.py explains each): an abandoned job is retried within
    # monitoring + grace + maintenance (+ its first retry interval), about 65 s with these.
    worker_maintenance_seconds: int = 30
    worker_job_monitoring_seconds: int = 10
    worker_abandon_grace_seconds: int = 20
    # A worker silent for longer is dead (/health); idle workers heartbeat every maintenance interval.
    worker_ttl_seconds: int = 60
    # /health fails when the oldest queued job waited longer, or a scheduled job is this overdue.
    health_max_queue_age_seconds: int = 120
    health_scheduled_overdue_seconds: int = 60
    # A voicemail may wait this long on the speech queue (transcription runs after every call's and alert's job,
    # and staff already have the message): past it /health is degraded ("speech_queue"), never failing.
    health_speech_queue_max_age_seconds: int = 1800
    # A transcription may wait this long on the speech-model queue (voicemails a speech worker without a model left,
    # for a worker with one): past it /health and the doctor say so ("speech_model_queue"), degraded.
    health_speech_model_queue_max_age_seconds: int = 600
    # A voicemail of 20 s or more is cut at its pauses into this many pieces, decoded at once (one core each).
    speech_threads: int = 2
    # The speech decoder's search (ivr/speech_decoder.py, docs/speech.md): a preset or name=value pairs.
    speech_decoder: str = DEFAULT_DECODER
    # The reconciliation job (workers/reconcile.py): how often it runs, and how long a call,
    # a recording or an outbox may stay unfinished before it steps in.
    reconcile_seconds: int = 300
    reconcile_grace_seconds: int = 120
    # The change journal (ivr/practice/journal.py): owners get one link-only text a day (at this
    # practice-local hour) while a change has waited longer than this many hours to be entered in the EHR.
    change_reminder_hours: int = 24
    change_reminder_hour: int = 9
    # Scheduled imports (ivr/practice/folder_import.py): the folder checked, how often, and how long a
    # file must be left alone before it counts as completely written.
    import_dir: str = str(INSTANCE_DIR / "imports")
    import_seconds: int = 900
    import_settle_seconds: int = 60
    # Backups (ivr/ops/backup.py): where archives and status.json go, how many archives are kept, and the
    # service's environment file (its secrets), archived with the configuration.
    backup_dir: str = str(INSTANCE_DIR / "backups")
    backup_keep: int = 14
    env_file: str = str(PROJECT_ROOT / ".env")
    # Seals every backup archive (ivr/ops/backup_crypto.py): the PUBLIC half of the backup key pair the installer
    # made; the private half is kept off the machine and given only to `backup verify`/`restore`. Empty: `backup
    # create` refuses unless --unencrypted.
    backup_public_key: str = ""
    # Signs the staff dashboard's session cookie. Unset: a random key kept in instance/secret_key
    # (fine on one machine; set it when several machines serve the dashboard).
    secret_key: str = dataclasses.field(default="", repr=False)
    # Staff dashboard: signed out after this long without a request; locked after repeated bad passwords.
    idle_logout_minutes: int = 15
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    # Reverse proxies in front that set X-Forwarded-For/-Proto (0: none). Only then is the
    # client address in the audit log the person's, not the proxy's. Never more than really
    # exist: anyone can send those headers.
    trusted_proxies: int = 0
    # Largest request body accepted (Flask's MAX_CONTENT_LENGTH), webhooks and dashboard alike: a
    # Twilio webhook is a few kilobytes, a dashboard form less. Larger bodies get 413 unread.
    max_request_bytes: int = 64 * 1024
    # Encrypts call records in Redis (ivr.encryption): comma-separated keys, the first one encrypts.
    # Never in repr: settings may be printed.
    data_key: str = dataclasses.field(default="", repr=False)
    # Encrypts voicemails and their transcripts in the recordings folder (ivr.encryption.FileCipher): the same
    # form, its own key, so it can be rotated (flask recordings rotate-key) apart from the Redis one.
    recordings_key: str = dataclasses.field(default="", repr=False)
    # Signs the video platform's "client joined" webhook (POST /video/joined, ivr/contact/video.py); empty: the
    # route is off (404).  Never in repr.
    video_webhook_secret: str = dataclasses.field(default="", repr=False)
    # Redis on the webhook path: how long one command may take before the caller gets the
    # apology, and how long the process then stops asking a Redis that timed out (ivr/telephony/redis_guard.py).
    redis_timeout_seconds: float = 1.0
    redis_breaker_seconds: float = 5.0
    # The practice's Twilio number (E.164) that `flask twilio connect` wires and `flask doctor` checks.
    twilio_number: str = ""
    # `flask doctor`: the oldest a backup may be, the oldest a verified restore may be, and the least free
    # disk space (in each folder holding data) before each is reported as a problem.
    doctor_backup_max_hours: int = 26
    doctor_restore_max_days: int = 35
    doctor_min_free_mb: int = 1024
    # Tests only: the service's clock frozen at this ISO 8601 instant (with its UTC offset).
    # Refused unless REST calls go to a local stand-in (see validate), so production never runs on it.
    test_now: str = ""

    @property
    def listed_numbers(self) -> tuple[str, ...]:
        """The practice's listed line(s), the number callers dial (``TWILIO_NUMBER``): never an outbound ``From``
        (outbound.yaml's ``caller_id.numbers`` refuses it; ``ivr.contact.sending.checked_from`` too)."""
        return (self.twilio_number,) if self.twilio_number else ()

    def clock(self) -> Callable[[], dt.datetime] | None:
        """The fixed clock IVR_TEST_NOW asks for, or None for the real one."""
        if not self.test_now:
            return None
        instant = parse_test_now(self.test_now)
        return lambda: instant

    def validate(self) -> None:
        """Raise ConfigError for settings the service cannot run with."""
        if not self.twilio_auth_token:
            raise ConfigError(
                "TWILIO_AUTH_TOKEN is not set: webhooks cannot be verified. "
                "Set it to the auth token of your Twilio account (make run creates a development one in .env)."
            )
        if not self.public_base_url.startswith(("http://", "https://")):
            raise ConfigError("PUBLIC_BASE_URL must start with http:// or https://")
        if not Path(self.flows_dir).is_dir():
            raise ConfigError(f"IVR_FLOWS_DIR {self.flows_dir!r} is not a directory")
        for name in ("worker_maintenance_seconds", "worker_job_monitoring_seconds", "worker_abandon_grace_seconds",
                     "worker_ttl_seconds", "health_max_queue_age_seconds", "health_scheduled_overdue_seconds",
                     "health_speech_queue_max_age_seconds", "health_speech_model_queue_max_age_seconds",
                     "reconcile_seconds", "reconcile_grace_seconds",
                     "import_seconds"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{_ENV_NAMES[name]} must be at least 1 second")
        if not 1 <= self.speech_threads <= 16:
            raise ConfigError("IVR_SPEECH_THREADS must be from 1 to 16 (pieces of a long voicemail decoded at once)")
        try:
            decoder_options(self.speech_decoder)
        except ValueError as exc:
            raise ConfigError(f"IVR_SPEECH_DECODER: {exc}") from None
        if self.secret_key and len(self.secret_key) < 32:
            raise ConfigError("SECRET_KEY is too short: use at least 32 random characters, e.g. the output of "
                              "python3 -c 'import secrets; print(secrets.token_hex(32))'")
        for name in ("idle_logout_minutes", "login_max_failures", "login_lock_minutes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{_ENV_NAMES[name]} must be at least 1")
        if self.backup_keep < 1:
            raise ConfigError("IVR_BACKUP_KEEP must be at least 1 (how many backup archives are kept)")
        if self.change_reminder_hours < 1:
            raise ConfigError("IVR_CHANGE_REMINDER_HOURS must be at least 1")
        if not 0 <= self.change_reminder_hour <= 23:
            raise ConfigError("IVR_CHANGE_REMINDER_HOUR must be an hour of the day (0 to 23)")
        if self.max_request_bytes < 4096:
            raise ConfigError("IVR_MAX_REQUEST_BYTES must be at least 4096 (Twilio's webhooks need a few kilobytes)")
        if not 0 <= self.trusted_proxies <= 5:
            raise ConfigError("TRUSTED_PROXIES must be the number of proxies in front of the service (0 to 5)")
        parse_keys(self.data_key)
        parse_keys(self.recordings_key, RECORDINGS_ENV_NAME, "voicemails and their transcripts")
        if not 0 < self.redis_timeout_seconds <= 10:
            raise ConfigError("IVR_REDIS_TIMEOUT_SECONDS must be more than 0 and at most 10")
        for name in ("doctor_backup_max_hours", "doctor_restore_max_days", "doctor_min_free_mb"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{_ENV_NAMES[name]} must be at least 1")
        if self.redis_breaker_seconds < 0:
            raise ConfigError("IVR_REDIS_BREAKER_SECONDS must be 0 or more")
        if self.test_now:
            parse_test_now(self.test_now)
            if (urlsplit(self.twilio_api_url).hostname or "") not in LOOPBACK_HOSTS:
                raise ConfigError("IVR_TEST_NOW is for tests only: it is refused unless TWILIO_API_URL points at a "
                                  "local Twilio stand-in (127.0.0.1, localhost or ::1)")


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# `make run` writes its development TWILIO_AUTH_TOKEN with this prefix (a real one is 32 hex digits), so
# `flask doctor` can tell it apart wherever it ends up.
DEVELOPMENT_TOKEN_PREFIX = "dev-"


def is_development_token(token: str) -> bool:
    """Whether ``token`` is a development TWILIO_AUTH_TOKEN written by `make run`."""
    return token.startswith(DEVELOPMENT_TOKEN_PREFIX)


def parse_test_now(value: str) -> dt.datetime:
    """IVR_TEST_NOW as an aware UTC datetime; ConfigError unless it is ISO 8601 with a UTC offset."""
    try:
        instant = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        instant = None
    if instant is None or instant.utcoffset() is None:
        raise ConfigError(f"IVR_TEST_NOW must be an ISO 8601 instant with its UTC offset, "
                          f"e.g. 2026-11-23T11:00:00-05:00; got {value!r}")
    return instant.astimezone(dt.UTC)


_ENV_NAMES = {
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_api_url": "TWILIO_API_URL",
    "public_base_url": "PUBLIC_BASE_URL",
    "redis_url": "REDIS_URL",
    "database_url": "DATABASE_URL",
    "redis_password": "REDIS_PASSWORD",
    "database_password": "DATABASE_PASSWORD",
    "flows_dir": "IVR_FLOWS_DIR",
    "recordings_dir": "IVR_RECORDINGS_DIR",
    "sms_from": "TWILIO_SMS_FROM",
    "session_ttl_seconds": "IVR_SESSION_TTL_SECONDS",
    "max_steps_per_call": "IVR_MAX_STEPS_PER_CALL",
    "max_call_seconds": "IVR_MAX_CALL_SECONDS",
    "flows_reload_seconds": "IVR_FLOWS_RELOAD_SECONDS",
    "queue_name": "IVR_QUEUE",
    "log_level": "LOG_LEVEL",
    "worker_maintenance_seconds": "IVR_WORKER_MAINTENANCE_SECONDS",
    "worker_job_monitoring_seconds": "IVR_WORKER_JOB_MONITORING_SECONDS",
    "worker_abandon_grace_seconds": "IVR_WORKER_ABANDON_GRACE_SECONDS",
    "worker_ttl_seconds": "IVR_WORKER_TTL_SECONDS",
    "health_max_queue_age_seconds": "IVR_HEALTH_MAX_QUEUE_AGE_SECONDS",
    "health_scheduled_overdue_seconds": "IVR_HEALTH_SCHEDULED_OVERDUE_SECONDS",
    "health_speech_queue_max_age_seconds": "IVR_HEALTH_SPEECH_QUEUE_MAX_AGE_SECONDS",
    "health_speech_model_queue_max_age_seconds": "IVR_HEALTH_SPEECH_MODEL_QUEUE_MAX_AGE_SECONDS",
    "speech_threads": "IVR_SPEECH_THREADS",
    "speech_decoder": "IVR_SPEECH_DECODER",
    "reconcile_seconds": "IVR_RECONCILE_SECONDS",
    "reconcile_grace_seconds": "IVR_RECONCILE_GRACE_SECONDS",
    "change_reminder_hours": "IVR_CHANGE_REMINDER_HOURS",
    "change_reminder_hour": "IVR_CHANGE_REMINDER_HOUR",
    "import_dir": "IVR_IMPORT_DIR",
    "import_seconds": "IVR_IMPORT_SECONDS",
    "import_settle_seconds": "IVR_IMPORT_SETTLE_SECONDS",
    "backup_dir": "IVR_BACKUP_DIR",
    "backup_keep": "IVR_BACKUP_KEEP",
    "env_file": "IVR_ENV_FILE",
    "backup_public_key": "IVR_BACKUP_PUBLIC_KEY",
    "secret_key": "SECRET_KEY",
    "idle_logout_minutes": "IDLE_LOGOUT_MINUTES",
    "login_max_failures": "LOGIN_MAX_FAILURES",
    "login_lock_minutes": "LOGIN_LOCK_MINUTES",
    "trusted_proxies": "TRUSTED_PROXIES",
    "max_request_bytes": "IVR_MAX_REQUEST_BYTES",
    "smtp_host": "SMTP_HOST",
    "smtp_port": "SMTP_PORT",
    "smtp_user": "SMTP_USER",
    "smtp_password": "SMTP_PASSWORD",
    "smtp_from": "SMTP_FROM",
    "smtp_starttls": "SMTP_STARTTLS",
    "dashboard_url": "DASHBOARD_URL",
    "data_key": "IVR_DATA_KEY",
    "recordings_key": "IVR_RECORDINGS_KEY",
    "video_webhook_secret": "IVR_VIDEO_WEBHOOK_SECRET",
    "redis_timeout_seconds": "IVR_REDIS_TIMEOUT_SECONDS",
    "redis_breaker_seconds": "IVR_REDIS_BREAKER_SECONDS",
    "test_now": "IVR_TEST_NOW",
    "twilio_number": "TWILIO_NUMBER",
    "doctor_backup_max_hours": "IVR_DOCTOR_BACKUP_MAX_HOURS",
    "doctor_restore_max_days": "IVR_DOCTOR_RESTORE_MAX_DAYS",
    "doctor_min_free_mb": "IVR_DOCTOR_MIN_FREE_MB",
}


def env_name(field_name: str) -> str:
    """The environment variable behind a Settings field."""
    return _ENV_NAMES[field_name]


def load_settings(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build Settings from environment variables, then explicit overrides (by field name).

    A secret setting may be given as ``<NAME>_FILE``, the path of a file holding it (ivr.secret_files: read here,
    once; ConfigError naming the setting and path when the file is refused or NAME is set too). REDIS_PASSWORD and
    DATABASE_PASSWORD are put into their URLs here, so the rest of the service sees complete URLs.
    """
    environ = os.environ if environ is None else environ
    from_files = resolve_secret_files(environ)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        name = _ENV_NAMES[f.name]
        raw = from_files.get(name, environ.get(name))
        if raw is None or raw == "":
            continue
        values[f.name] = _coerce(f, raw)
    for key, value in (overrides or {}).items():
        key = key.lower()
        if key not in _ENV_NAMES:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = value
    settings = Settings(**values)
    public = settings.public_base_url.rstrip("/")
    return dataclasses.replace(settings, public_base_url=public,
                               redis_url=url_with_password(settings.redis_url, settings.redis_password,
                                                           "REDIS_URL", "REDIS_PASSWORD"),
                               database_url=url_with_password(settings.database_url, settings.database_password,
                                                              "DATABASE_URL", "DATABASE_PASSWORD"),
                               dashboard_url=(settings.dashboard_url or public + "/staff").rstrip("/"))


def url_with_password(url: str, password: str, url_name: str, password_name: str) -> str:
    """``url`` with ``password`` put in (percent-encoded): in the user part of a network URL
    (``redis://:pw@host/0``, ``postgresql+psycopg://user:pw@host/db``), as ``?password=`` of a ``unix://`` socket
    URL. ``url`` unchanged when ``password`` is empty. ConfigError when the URL has a password already (which one
    is meant would be a guess) or is a SQLite file (no password to give)."""
    if not password:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if parts.password is not None or any(key == "password" for key, _ in query):
        raise ConfigError(f"{url_name} has a password and {password_name} is set too: keep only {password_name} "
                          f"(or its _FILE) and take the password out of {url_name}")
    if parts.scheme.startswith("sqlite"):
        raise ConfigError(f"{password_name} is set but {url_name} is a SQLite file, which has no password")
    if parts.scheme == "unix":
        # Appended to the text as it is: urlunsplit would drop the empty host of unix:///path. redis-py unquotes
        # query values with unquote (not unquote_plus): a space must be %20, not +.
        base, hash_, fragment = url.partition("#")
        added = urlencode([("password", password)], quote_via=quote)
        return f"{base}{'&' if parts.query else '?'}{added}{hash_}{fragment}"
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word not in _TRUE | _FALSE:
        raise ValueError(raw)
    return word in _TRUE


def _coerce(f: dataclasses.Field, raw: str) -> Any:
    kind = f.type if isinstance(f.type, type) else {"int": int, "float": float, "str": str,
                                                    "bool": _bool}.get(str(f.type), str)
    try:
        return kind(raw)
    except ValueError:
        what = "true or false" if kind is _bool else f"a {kind.__name__}"
        raise ConfigError(f"{_ENV_NAMES[f.name]} must be {what}, got {raw!r}") from None


def instance_secret_key(instance_dir: Path | None = None) -> str:
    """The random key kept in ``instance/secret_key``, created (mode 0600) on first use.

    Created under a temporary name and linked into place, so web workers starting
    together all end up reading the same complete key.
    """
    import secrets
    import tempfile

    directory = Path(instance_dir or INSTANCE_DIR)
    path = directory / "secret_key"
    try:
        key = path.read_text().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    try:
        private_dir(directory)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".secret_key.")  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another worker won the race: use its key
        finally:
            os.unlink(tmp)
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"SECRET_KEY is not set and {path} cannot be written ({exc.strerror}): "
                          "set SECRET_KEY to at least 32 random characters") from None
