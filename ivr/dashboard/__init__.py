"""The staff dashboard under ``/staff``: sign in, work the escalation queue, manage staff and the roster.

Server-rendered pages, a little vanilla JS (the live queue, the idle warning, draft outcomes kept on
the server, keyboard shortcuts), no external assets.  Every page but the sign-in page needs a signed-in user; every
POST needs the session's CSRF token; every response is marked ``no-store``
because a page may show a client's details.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from ivr.dashboard import views  # noqa: F401  (registers the routes on the blueprint)
from ivr.dashboard.blueprint import InstanceKeySessionInterface, bp, csrf, handle_app_error
from ivr.dashboard.calendar import calendar_bp
from ivr.dashboard.cli import staff_cli


def init_app(app: Flask) -> None:
    """Register the dashboard, its CLI, cookie settings and CSRF protection on ``app``."""
    settings = app.extensions["quietline"].settings
    secure = settings.public_base_url.startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        # __Host-: the browser accepts it only over https, for this host and path "/", never a parent domain.
        SESSION_COOKIE_NAME="__Host-quietline" if secure else "quietline_session",
        # A form's token lives as long as the signed-in session (which the idle sign-out ends), not 60 minutes:
        # a queue page open all day must still save drafts, stay signed in and sign out (review 16, finding 1).
        WTF_CSRF_TIME_LIMIT=None,
        # Only the dashboard's own POSTs are checked (bp.before_request): Twilio's webhooks carry no token.
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    if settings.secret_key:
        app.secret_key = settings.secret_key
    else:
        app.session_interface = InstanceKeySessionInterface(Path(app.instance_path))
    csrf.init_app(app)
    app.register_blueprint(bp)
    for status in (404, 405, 500):  # under /staff only: the handler passes every other path's error through
        app.register_error_handler(status, handle_app_error)
    app.register_blueprint(calendar_bp)  # clinicians' calendar feeds: the secret URL is the credential
    app.cli.add_command(staff_cli)
