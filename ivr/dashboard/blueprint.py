"""The dashboard's blueprint: sign-in required on every page, CSRF, no-store headers, helpers and error pages."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from redis.exceptions import RedisError

from ivr import config as config_mod
from ivr.dashboard import auth

PREFIX = "/staff"
bp = Blueprint("dashboard", __name__, url_prefix=PREFIX, template_folder="templates",
               static_folder="static", static_url_path="/static")
csrf = CSRFProtect()
# Reachable without signing in (the stylesheet is needed by the sign-in page itself).
PUBLIC_ENDPOINTS = {"dashboard.login", "dashboard.static"}
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


class InstanceKeySessionInterface(SecureCookieSessionInterface):
    """Signs with instance/secret_key, read (or created) at the first dashboard request.

    Not at startup: CLI commands and webhook-only test apps never need it, and
    should not leave a key file behind.  Other paths get no session at all.
    """

    def __init__(self, instance_dir: Path):
        self.instance_dir = instance_dir

    def get_signing_serializer(self, app: Flask) -> Any:
        if not app.secret_key:
            if not request.path.startswith(PREFIX + "/") and request.path != PREFIX:
                return None
            app.secret_key = config_mod.instance_secret_key(self.instance_dir)
        return super().get_signing_serializer(app)


# --------------------------------------------------------------------------- every request

@bp.before_request
def _require_login() -> Any:
    g.user = None
    if request.endpoint == "dashboard.static":
        return None
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    try:
        user, ended = auth.load_user()
    except RedisError:
        current_app.logger.exception("dashboard: session store unreachable")
        return render_template("dashboard/error.html", title="Try again in a moment",
                               message="The dashboard cannot reach its session store just now."), 503
    g.user = user
    if user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        args: dict[str, str] = {}
        if ended:
            args["ended"] = ended
        if request.method == "GET" and request.endpoint not in (None, "dashboard.logout"):
            args["next"] = request.full_path.rstrip("?")
        return redirect(url_for("dashboard.login", **args), 303)
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    if request.endpoint != "dashboard.static":
        # A page may show a client's details: no browser or proxy keeps a copy.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    tz = practice_tz()
    return {
        "user": g.get("user"),
        "practice_name": practice_name(),
        "idle_seconds": current_app.extensions["quietline"].settings.idle_logout_minutes * 60,
        "local_time": lambda value: format_time(value, tz),
        "local_date": format_date,
    }


def practice_settings() -> Any:
    """flows/practice.yaml as loaded (``PracticeSettings``), or None before the flows load."""
    flows = current_app.extensions["quietline"].flows
    return flows.current().practice if flows.loaded else None


def practice_tz() -> dt.tzinfo:
    """The practice's time zone (flows/practice.yaml); UTC when the flows are not loaded."""
    practice = practice_settings()
    return practice.tz if practice is not None else ZoneInfo("UTC")


def practice_name() -> str:
    practice = practice_settings()
    return practice.name if practice is not None else "Quietline"


def format_time(value: dt.datetime | None, tz: dt.tzinfo) -> str:
    """``today 10:05``, ``yesterday 18:02``, ``Mon 23 Nov 10:05`` in practice time (the year only if not this one)."""
    if value is None:
        return "–"
    local = value.astimezone(tz)
    today = current_app.extensions["quietline"].clock().astimezone(tz).date()
    if local.date() == today:
        return local.strftime("today %H:%M")
    if local.date() == today - dt.timedelta(days=1):
        return local.strftime("yesterday %H:%M")
    if local.date() == today + dt.timedelta(days=1):
        return local.strftime("tomorrow %H:%M")
    return local.strftime("%a %-d %b %H:%M" if local.year == today.year else "%a %-d %b %Y %H:%M")


def format_date(value: dt.date | None) -> str:
    return value.strftime("%-d %b %Y") if value else "–"


# --------------------------------------------------------------------------- errors

@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return render_template("dashboard/error.html", title="Please try again",
                           message="That form had expired or came from somewhere else, so nothing was done. "
                                   "Go back, reload the page and try again."), 400


@bp.errorhandler(403)
def _forbidden(exc: Exception) -> tuple[str, int]:
    return render_template("dashboard/error.html", title="Not for your role",
                           message="Only the practice's owners can open this page."), 403


@bp.errorhandler(404)
def _not_found(exc: Exception) -> tuple[str, int]:
    return render_template("dashboard/error.html", title="Not found",
                           message="There is nothing here. It may have been removed."), 404

