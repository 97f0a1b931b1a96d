"""Settings, read once from the environment into a frozen value.

Every setting has a documented default (README.md, "Environment") except the
Twilio auth token: without it no webhook can be verified, so its absence stops
the service at startup instead of turning every call into a 403.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .exceptions import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("IVR_INSTANCE_DIR") or PROJECT_ROOT / "instance")
EMBEDDED_REDIS_SOCKET = INSTANCE_DIR / "redis" / "redis.sock"


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know about its surroundings."""

    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str = ""
    # Where the official twilio client sends REST calls; a local stand-in in tests and dev.
    twilio_api_url: str = "https://api.twilio.com"
    # The URL Twilio uses to reach us; signatures are computed against it.
    public_base_url: str = "http://127.0.0.1:8000"
    redis_url: str = f"unix://{EMBEDDED_REDIS_SOCKET}"
    database_url: str = f"sqlite:///{INSTANCE_DIR / 'quietline.db'}"
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


_ENV_NAMES = {
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_api_url": "TWILIO_API_URL",
    "public_base_url": "PUBLIC_BASE_URL",
    "redis_url": "REDIS_URL",
    "database_url": "DATABASE_URL",
    "flows_dir": "IVR_FLOWS_DIR",
    "recordings_dir": "IVR_RECORDINGS_DIR",
    "sms_from": "TWILIO_SMS_FROM",
    "session_ttl_seconds": "IVR_SESSION_TTL_SECONDS",
    "max_steps_per_call": "IVR_MAX_STEPS_PER_CALL",
    "max_call_seconds": "IVR_MAX_CALL_SECONDS",
    "flows_reload_seconds": "IVR_FLOWS_RELOAD_SECONDS",
    "queue_name": "IVR_QUEUE",
    "log_level": "LOG_LEVEL",
}


def env_name(field_name: str) -> str:
    """The environment variable behind a Settings field."""
    return _ENV_NAMES[field_name]


def load_settings(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build Settings from environment variables, then explicit overrides (by field name)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        raw = environ.get(_ENV_NAMES[f.name])
        if raw is None or raw == "":
            continue
        values[f.name] = _coerce(f, raw)
    for key, value in (overrides or {}).items():
        key = key.lower()
        if key not in _ENV_NAMES:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = value
    settings = Settings(**values)
    return dataclasses.replace(settings, public_base_url=settings.public_base_url.rstrip("/"))


def _coerce(f: dataclasses.Field, raw: str) -> Any:
    kind = f.type if isinstance(f.type, type) else {"int": int, "float": float, "str": str}.get(str(f.type), str)
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{_ENV_NAMES[f.name]} must be a {kind.__name__}, got {raw!r}") from None
