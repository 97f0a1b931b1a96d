"""The app factory: ``create_app()`` builds the services and the Flask app that serves them.

Webhooks (``ivr.telephony.webhooks``), the staff dashboard (``ivr.dashboard``), ``/audio``,
``/health`` and the console commands (``flask --app app …``).  ``app.py`` at the top of the
repository is the WSGI entry (``app = create_app()``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask, Response, request, send_from_directory
from redis import Redis
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr import cli, health
from ivr import config as config_mod
from ivr.actions.registry import Registry
from ivr.contact import video
from ivr.contact import webhooks as outbound_webhooks
from ivr.dashboard import init_app as init_dashboard
from ivr.dashboard.views import HEALTH_DETAILS
from ivr.db import cli as db_cli
from ivr.db.database import Database
from ivr.ops import cli_backup
from ivr.practice import cli as practice_cli
from ivr.private_files import restrict_umask
from ivr.services import Services, build_services, configure_logging
from ivr.telephony import webhooks
from ivr.telephony.signatures import refuse_oversized_streams


def create_app(config: Mapping[str, Any] | None = None, *, redis: Redis | None = None,
               registry: Registry | None = None, clock: Callable[[], dt.datetime] | None = None,
               strict_flows: bool | None = None, database: Database | None = None) -> Flask:
    """Build the app: settings from the environment (then ``config``), flows checked, services wired.

    ``strict_flows`` (default: true unless running a ``flask`` CLI command) makes
    broken flows a startup error; the CLI must still start so ``flows check`` can
    say what is wrong.
    """
    settings = config_mod.load_settings(overrides=config)
    settings.validate()
    # Whatever this process writes (SQLite, recordings, keys) is for the service's user only.
    restrict_umask()
    app = Flask("ivr", instance_path=str(config_mod.INSTANCE_DIR))
    # Bodies over the limit are refused with 413 before anything reads them (signature checks included).
    app.config.update(SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_request_bytes)
    configure_logging(settings.log_level)
    if strict_flows is None:
        strict_flows = click.get_current_context(silent=True) is None
    services = build_services(settings, redis=redis, registry=registry, clock=clock, database=database,
                              strict_flows=strict_flows)
    app.extensions["quietline"] = services
    if settings.trusted_proxies:
        # Signatures do not depend on this (they use PUBLIC_BASE_URL); the audit log's addresses do.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies)
    app.before_request(refuse_oversized_streams)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(outbound_webhooks.bp)
    app.register_blueprint(video.bp)  # the video platform's "client joined" (ivr/contact/video.py)
    cli.init_app(app)
    app.cli.add_command(health.health_command)
    practice_cli.init_app(app)
    db_cli.init_app(app)
    cli_backup.init_app(app)
    init_dashboard(app)  # staff pages at /staff
    _register_routes(app, services)
    return app


def _register_routes(app: Flask, services: Services) -> None:
    flows_dir = Path(services.settings.flows_dir)

    @app.get("/audio/<path:name>")
    def audio(name: str) -> Response:
        """Prompts recorded by the practice (flows/audio/), fetched by Twilio for play steps."""
        return send_from_directory(flows_dir / "audio", name, max_age=3600)

    @app.get("/health")
    def health_route() -> tuple[dict[str, Any], int]:
        """Redis, flows, RQ workers, scheduler and queue ages (ivr/health.py); ?scope=web: Redis and flows.

        Public: counts and ages only (``health.public_report``); 503 only when calls cannot be answered.
        """
        _, report = health.service_health(services, web_only=request.args.get("scope") == "web")
        return health.public_report(report), health.http_status(report)

    def health_details() -> tuple[dict[str, Any], int]:
        _, report = health.service_health(services)
        return report, health.http_status(report)

    # /staff/health (signed in) shows the full report, job ids included.
    app.extensions[HEALTH_DETAILS] = health_details
