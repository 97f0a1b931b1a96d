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
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from ivr import config as config_mod
from ivr.dashboard import auth
from ivr.escalations import preferences, worklist

PREFIX = "/staff"
bp = Blueprint("dashboard", __name__, url_prefix=PREFIX, template_folder="templates",
               static_folder="static", static_url_path="/static")
csrf = CSRFProtect()
# Reachable without signing in (the stylesheet is needed by the sign-in page itself).
PUBLIC_ENDPOINTS = {"dashboard.login", "dashboard.static"}
# The open page's own polling (live queue, idle warning): it never counts as activity, and a session that
# ended gets 401 with the reason (JSON) rather than a redirect to the sign-in page.
PASSIVE_ENDPOINTS = {"dashboard.live", "dashboard.escalation_live"}
# What the open page's script posts (a draft as typed, "Stay signed in"): it reads JSON, so a session that has
# ended or an out-of-date form token answers JSON too, never a redirect or an HTML page it cannot show.
SCRIPT_ENDPOINTS = {"dashboard.save_draft", "dashboard.keepalive"}
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
    passive = request.endpoint in PASSIVE_ENDPOINTS
    try:
        user, ended = auth.load_user(touch=not passive)
    except RedisError:
        current_app.logger.exception("dashboard: session store unreachable")
        if passive:
            return {"error": "unavailable"}, 503
        return render_template("dashboard/error.html", title="Try again in a moment",
                               message="The dashboard cannot reach its session store just now."), 503
    g.user = user
    if user is None and (passive or request.endpoint in SCRIPT_ENDPOINTS):
        return {"ended": ended or "expired"}, 401
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
    return template_helpers()


def template_helpers() -> dict[str, Any]:
    """What every dashboard template may use (also for error pages rendered outside the blueprint)."""
    tz = practice_tz()
    user = g.get("user")
    pressing = 0
    prefs = preferences.Preferences()
    if user is not None:
        try:
            pressing = worklist.unclaimed_pressing(auth.db())
            prefs = preferences.get(auth.db(), user.id)
        except SQLAlchemyError:  # an error page must still render when the database is what failed
            current_app.logger.warning("dashboard: database unreachable while rendering a page")
    return {
        "user": user,
        "practice_name": practice_name(),
        "idle_seconds": current_app.extensions["quietline"].settings.idle_logout_minutes * 60,
        "local_time": lambda value: format_time(value, tz),
        "local_date": format_date,
        "pressing_count": pressing,
        "prefs": prefs,
        "claimed_text": worklist.claimed_text,
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
def _csrf_error(exc: CSRFError) -> Any:
    if request.endpoint in SCRIPT_ENDPOINTS:
        return {"error": "Not saved: this page is out of date. Reload it to keep working."}, 400
    return render_template("dashboard/error.html", title="Please try again",
                           message="That form had expired or came from somewhere else, so nothing was done. "
                                   "Go back, reload the page and try again."), 400


_ERRORS = {
    403: ("Not for your role", "Only the practice's owners can open this page."),
    404: ("Not found", "There is nothing here. It may have been removed, or the address is mistyped."),
    405: ("Not found", "There is nothing here. It may have been removed, or the address is mistyped."),
    500: ("Something went wrong", "The dashboard could not do that just now, and it has been logged for "
                                  "the practice's administrator. Nothing you saved is lost: go back and try again."),
}


def error_page(status: int) -> tuple[str, int]:
    """The dashboard's page for ``status`` (403, 404, 405, 500), inside its layout, with a way back.

    Says nothing about what was asked for or why it failed: no exception text, no path, no ids.
    """
    title, message = _ERRORS.get(status, _ERRORS[500])
    context = template_helpers() if g.get("user") is not None else {"user": None, "practice_name": practice_name(),
                                                                       "pressing_count": 0, "prefs": None}
    return render_template("dashboard/error.html", title=title, message=message, **context), status


def _dashboard_path() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def handle_app_error(exc: Exception) -> Any:
    """Registered on the app: 403/404/405/500 under /staff render in the dashboard's layout; others as before.

    Unmatched addresses never reach the blueprint's own handlers, and a 500 may come from anywhere.
    """
    status = exc.code if isinstance(exc, HTTPException) and exc.code else 500
    if not _dashboard_path() or status not in _ERRORS:
        return exc
    if g.get("user") is None and status != 500 and request.endpoint is None:
        # An unknown address: show the signed-in layout to whoever is signed in (this request counts as activity).
        try:
            g.user, _ = auth.load_user()
        except (RedisError, SQLAlchemyError):
            g.user = None
    try:
        page, code = error_page(status)
    except Exception:  # noqa: BLE001 - the layout itself failed (e.g. the template): a bare page still says nothing
        current_app.logger.exception("dashboard: the error page failed")
        return Response("Something went wrong. Go back to /staff/ and try again.", status, mimetype="text/plain")
    response = current_app.make_response((page, code))
    return _headers(response)


@bp.errorhandler(403)
def _forbidden(exc: Exception) -> tuple[str, int]:
    return error_page(403)


@bp.errorhandler(404)
def _not_found(exc: Exception) -> tuple[str, int]:
    return error_page(404)

