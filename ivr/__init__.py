"""Quietline: a discreet virtual receptionist for therapy practices."""
from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import click
from flask import Flask, send_from_directory
from redis import Redis

from ivr import config as config_mod
from ivr.actions.catalog import default_registry
from ivr.actions.registry import Registry
from ivr.core.privacy import MaskingFilter
from ivr.encryption import RecordCipher
from ivr.exceptions import FlowError
from ivr.flowlang.store import FlowStore
from ivr.jobs.enqueue import Jobs
from ivr.private_files import restrict_umask
from ivr.telephony.call_handler import CallHandler
from ivr.telephony.call_store import CallStore
from ivr.telephony.redis_guard import guarded_redis
from ivr.telephony.signatures import SignatureChecker


@dataclass
class Quietline:
    """The services one app instance wires together (``app.extensions['quietline']``)."""

    settings: config_mod.Settings
    redis: Redis
    flows: FlowStore
    registry: Registry
    sessions: CallStore
    jobs: Jobs
    signatures: SignatureChecker
    calls: CallHandler
    clock: Callable[[], dt.datetime]
    extra: dict[str, Any] = field(default_factory=dict)

    def public_url(self, name: str, turn: int | None = None) -> str:
        """Absolute URL Twilio should use for one of our routes."""
        from ivr.telephony.webhooks import public_url

        return public_url(self.settings.public_base_url, name, turn)

    @property
    def last_guidance(self) -> str:
        """Emergency guidance without touching Redis or reloading flows (for the fallback URL)."""
        flows = self.flows.last_good
        from ivr.practice.settings.model import DEFAULT_EMERGENCY_GUIDANCE

        return flows.practice.emergency_guidance if flows is not None else DEFAULT_EMERGENCY_GUIDANCE


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def create_app(config: Mapping[str, Any] | None = None, *, redis: Redis | None = None,
               registry: Registry | None = None, clock: Callable[[], dt.datetime] | None = None,
               strict_flows: bool | None = None, database: Any = None) -> Flask:
    """Build the app: settings from the environment (then ``config``), flows checked, services wired.

    ``strict_flows`` (default: true unless running a ``flask`` CLI command) makes
    broken flows a startup error; the CLI must still start so ``flows check`` can
    say what is wrong.
    """
    settings = config_mod.load_settings(overrides=config)
    settings.validate()
    # Whatever this process writes (SQLite, recordings, keys) is for the service's user only.
    restrict_umask()
    app = Flask(__name__, instance_path=str(config_mod.INSTANCE_DIR))
    # Bodies over the limit are refused with 413 before anything reads them (signature checks included).
    app.config.update(SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_request_bytes)
    _configure_logging(settings.log_level)

    from ivr.practice.db import Database

    registry = registry or default_registry()
    # Creating the engine opens no connection: a missing database shows up in /health and in calls.
    database = database or Database.from_url(settings.database_url)
    # Fail fast: a caller waiting on a dead or hung Redis hears the apology within a second or two.
    redis = redis or guarded_redis(settings.redis_url, settings.redis_timeout_seconds, settings.redis_breaker_seconds)
    flows = FlowStore(settings.flows_dir, registry.signatures(), settings.flows_reload_seconds)
    if strict_flows is None:
        strict_flows = click.get_current_context(silent=True) is None
    try:
        flows.load()
    except FlowError:
        if strict_flows:
            raise
        logging.getLogger(__name__).error("flows do not load; run `flask --app app flows check`")

    # IVR_TEST_NOW (tests only; validate() refuses it against the real Twilio) fixes the clock in every process.
    if clock is None and settings.test_now:
        clock = settings.clock()
        logging.getLogger(__name__).warning("IVR_TEST_NOW: the clock is fixed at %s (tests only)", settings.test_now)
    clock = clock or _utcnow
    signatures = SignatureChecker(settings.twilio_auth_token, settings.public_base_url)
    sessions = CallStore(redis, settings.session_ttl_seconds, RecordCipher.from_setting(settings.data_key))
    jobs = Jobs(redis, settings.queue_name)
    from ivr import cli
    from ivr.escalations.on_call import on_call_numbers
    from ivr.practice import cli as practice_cli
    from ivr.telephony import webhooks

    calls = CallHandler(
        sessions=sessions, jobs=jobs, flows=flows, registry=registry,
        url_for=functools.partial(webhooks.public_url, settings.public_base_url), clock=clock,
        max_steps=settings.max_steps_per_call, max_call_seconds=settings.max_call_seconds,
        action_services={"db": database.sessions},
        # Transfers to a practice.yaml staff member with `roster:` ring whoever the roster has on call.
        on_call=lambda category, now: on_call_numbers(database.sessions, category, now, flows.current().practice.tz),
    )
    ql = Quietline(settings, redis, flows, registry, sessions, jobs, signatures, calls, clock, {"db": database})
    app.extensions["quietline"] = ql
    if settings.trusted_proxies:
        # Signatures do not depend on this (they use PUBLIC_BASE_URL); the audit log's addresses do.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies)
    from ivr.telephony.signatures import refuse_oversized_streams

    app.before_request(refuse_oversized_streams)
    app.register_blueprint(webhooks.bp)
    cli.init_app(app)
    practice_cli.init_app(app)
    from ivr.dashboard import init_app as init_dashboard; init_dashboard(app)  # noqa: E702  (staff pages at /staff)

    @app.get("/audio/<path:name>")
    def audio(name: str):
        """Prompts recorded by the practice (flows/audio/), fetched by Twilio for play steps."""
        return send_from_directory(Path(settings.flows_dir) / "audio", name, max_age=3600)

    @app.get("/health")
    def health() -> tuple[dict[str, Any], int]:
        """Redis, flows, RQ workers, scheduler and queue ages (ivr/health.py); ?scope=web: Redis and flows."""
        from flask import request

        from ivr.health import service_health

        ok, report = service_health(ql, web_only=request.args.get("scope") == "web")
        return report, 200 if ok else 503

    return app


def _configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not any(isinstance(f, MaskingFilter) for h in root.handlers for f in h.filters):
        if not root.handlers:
            logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for handler in root.handlers:
            handler.addFilter(MaskingFilter())
    # urllib3 logs full request URLs (with numbers in query strings) at DEBUG.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
