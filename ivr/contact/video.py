"""The video call's "client joined" signal: ``POST /video/joined``, a webhook the practice's video platform (or
a small relay in front of it) calls when a client enters the call.  The appointment is marked ``joined``, so no
"late" follow-up goes for it (``ivr.outbound.planner``: ``joined``), and the commit re-plans at once.

Signed like Stripe's webhooks: the header ``X-Quietline-Timestamp`` is the sending time in Unix seconds, and
``X-Quietline-Signature: sha256=<hex>`` the HMAC-SHA256 with ``IVR_VIDEO_WEBHOOK_SECRET`` of the timestamp, a dot
and the raw body (``f"{timestamp}.".encode() + body``); without that setting the route answers 404.  A request
more than :data:`TOLERANCE` from now (the injected clock) is refused, and so is a signature already seen: each is
remembered in Redis by its SHA-256 (never the signature or body in clear) until its timestamp is out of the
tolerance, so a captured request cannot be replayed.  The body is JSON naming the
appointment, ``{"appointment_id": "A-1001"}``, or the video link the appointment has (``telehealth_url``),
``{"url": "https://video.example.com/r/…"}``: then the scheduled appointment with that link starting nearest
now (within :data:`JOIN_WINDOW`).  Answers: 204 recorded, 400 a body that names nothing, 403 a bad signature,
404 no such appointment now (or the route off), 409 a replay, 503 Redis unreachable (send again later).  Ids only
in logs.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import math

from flask import Blueprint, Response, abort, current_app, request
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from ivr.practice.models import Appointment, AppointmentStatus

log = logging.getLogger(__name__)
bp = Blueprint("video", __name__, url_prefix="/video")
SIGNATURE_HEADER = "X-Quietline-Signature"
TIMESTAMP_HEADER = "X-Quietline-Timestamp"
TOLERANCE = dt.timedelta(minutes=5)  # how far a request's timestamp may be from now, either way
_SEEN_PREFIX = "video:joined:seen:"  # + sha256 of the signature: a replay is refused
JOIN_WINDOW = dt.timedelta(hours=2)  # a link joined this close to an appointment's start is for it


def signature(secret: str, body: bytes, timestamp: int | str) -> str:
    """The header value a sender puts on ``body`` sent at ``timestamp`` (Unix seconds, the value of
    ``X-Quietline-Timestamp``): ``sha256=`` and the hex HMAC-SHA256 with ``secret`` of ``"<timestamp>." + body``."""
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _fresh(stamp: str, now: dt.datetime) -> float | None:
    """Seconds left before the request stamped ``stamp`` is out of :data:`TOLERANCE` (> 0), or None when it is
    not an integer or already outside it."""
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return None
    sent = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
    if abs(now - sent) > TOLERANCE:
        return None
    return (sent + TOLERANCE - now).total_seconds()


def _first_time(redis: Redis, sent_signature: str, ttl_seconds: float) -> bool:
    """Remember ``sent_signature`` (by its SHA-256) until its timestamp is stale; False when it was already seen."""
    key = _SEEN_PREFIX + hashlib.sha256(sent_signature.encode()).hexdigest()
    return bool(redis.set(key, b"1", nx=True, px=max(1, math.ceil(ttl_seconds * 1000))))


@bp.post("/joined")
def joined() -> Response:
    ql = current_app.extensions["quietline"]
    secret = ql.settings.video_webhook_secret
    if not secret:
        abort(404)
    body = request.get_data(cache=True)
    stamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    sent = request.headers.get(SIGNATURE_HEADER, "")
    if not hmac.compare_digest(signature(secret, body, stamp), sent):
        abort(403)
    now = ql.clock()
    left = _fresh(stamp, now)
    if left is None:
        log.info("video join refused: its timestamp is more than %s from now", TOLERANCE)
        return Response('{"error": "the timestamp is too far from now"}', 403, mimetype="application/json")
    try:
        first = _first_time(ql.redis, sent, left)
    except RedisError:
        log.warning("video join: Redis unreachable, refused for now", exc_info=True)
        return Response('{"error": "try again later"}', 503, mimetype="application/json")
    if not first:
        log.info("video join refused: a replay of a request already received")
        return Response('{"error": "already received"}', 409, mimetype="application/json")
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
