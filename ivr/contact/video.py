"""The video call's "client joined" signal: ``POST /video/joined``, a webhook the practice's video platform (or
a small relay in front of it) calls when a client enters the call.  The appointment is marked ``joined``, so no
"late" follow-up goes for it (``ivr.outbound.planner``: ``joined``), and the commit re-plans at once.

Signed like GitHub's webhooks: the header ``X-Quietline-Signature: sha256=<hex>`` is the HMAC-SHA256 of the raw
body with ``IVR_VIDEO_WEBHOOK_SECRET``; without that setting the route answers 404.  The body is JSON naming the
appointment, ``{"appointment_id": "A-1001"}``, or the video link the appointment has (``telehealth_url``),
``{"url": "https://video.example.com/r/…"}``: then the scheduled appointment with that link starting nearest
now (within :data:`JOIN_WINDOW`).  Answers: 204 recorded, 400 a body that names nothing, 403 a bad signature,
404 no such appointment now (or the route off).  Ids only in logs.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import select

from ivr.practice.models import Appointment, AppointmentStatus

log = logging.getLogger(__name__)
bp = Blueprint("video", __name__, url_prefix="/video")
SIGNATURE_HEADER = "X-Quietline-Signature"
JOIN_WINDOW = dt.timedelta(hours=2)  # a link joined this close to an appointment's start is for it


def signature(secret: str, body: bytes) -> str:
    """The header value a sender puts on ``body``: ``sha256=`` and the hex HMAC-SHA256 with ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@bp.post("/joined")
def joined() -> Response:
    ql = current_app.extensions["quietline"]
    secret = ql.settings.video_webhook_secret
    if not secret:
        abort(404)
    body = request.get_data(cache=True)
    if not hmac.compare_digest(signature(secret, body), request.headers.get(SIGNATURE_HEADER, "")):
        abort(403)
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Response('{"error": "the body must be a JSON object"}', 400, mimetype="application/json")
    appointment_id = str(data.get("appointment_id") or "").strip()[:64]
    url = str(data.get("url") or "").strip()[:500]
    if not appointment_id and not url:
        return Response('{"error": "name the appointment_id or the url"}', 400, mimetype="application/json")
    now = ql.clock()
    with ql.database.sessions() as db, db.begin():
        query = select(Appointment).where(Appointment.status == AppointmentStatus.SCHEDULED.value,
                                          Appointment.start >= now - JOIN_WINDOW,
                                          Appointment.start <= now + JOIN_WINDOW)
        query = query.where(Appointment.id == appointment_id) if appointment_id \
            else query.where(Appointment.telehealth_url == url)
        found = sorted(db.scalars(query), key=lambda a: (abs((a.start - now).total_seconds()), a.id))
        if not found:
            return Response('{"error": "no such appointment now"}', 404, mimetype="application/json")
        found[0].joined = True
        log.info("appointment %s: the client joined the video call", found[0].id)
    return Response(status=204)
