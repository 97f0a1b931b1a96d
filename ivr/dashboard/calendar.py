"""``/calendar/<token>.ics``: a clinician's private calendar feed (``ivr.practice.calendar_feed``).

Outside the staff pages' sign-in (calendar apps cannot sign in): the secret URL is the credential.
An unknown or revoked token gets the same plain 404; the token is never logged.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app

from ivr.practice import calendar_feed

calendar_bp = Blueprint("calendar", __name__, url_prefix="/calendar")


@calendar_bp.get("/<token>.ics")
def feed(token: str) -> Response:
    ql = current_app.extensions["quietline"]
    with ql.database.sessions() as db:
        found = calendar_feed.find(db, token)
        if found is None:
            abort(404)
        body = calendar_feed.render(db, found, ql.clock())
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
