"""The floor: the least a Twilio webhook can do, served exactly like Quietline.

One route that checks ``X-Twilio-Signature`` (twilio's RequestValidator, over
the public URL, like ``ivr/telephony/signatures.py``), does one Redis GET and one SET of a
~1 KB value keyed by the CallSid, and returns a fixed ``<Gather>``.  Whatever
Quietline costs above this is the price of its flows, sessions and TwiML.

Run by bench/webhooks.py as ``gunicorn floor_app:app`` (``--pythonpath bench``)
with the same environment as the app: TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL, REDIS_URL.
"""
from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from redis import Redis
from twilio.request_validator import RequestValidator

FLOOR_PATH = "/floor"
VALUE = b"x" * 1024
TTL_SECONDS = 4 * 3600
TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Gather action="{base}/floor?turn=1" input="dtmf speech" method="POST" numDigits="1" timeout="6">'
    "<Say>To reschedule or cancel an appointment, press 1. To speak with someone, press 0.</Say>"
    "</Gather></Response>"
)


def create_app() -> Flask:
    token = os.environ["TWILIO_AUTH_TOKEN"]
    public_base = os.environ["PUBLIC_BASE_URL"].rstrip("/")
    redis = Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5, socket_connect_timeout=2)
    validator = RequestValidator(token)
    body = TWIML.format(base=public_base)
    app = Flask(__name__)

    @app.post(FLOOR_PATH)
    def floor() -> Response:
        query = request.query_string.decode("latin-1")
        url = public_base + request.path + (f"?{query}" if query else "")
        if not validator.validate(url, dict(request.form), request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        key = "floor:" + request.form.get("CallSid", "")
        redis.get(key)
        redis.set(key, VALUE, ex=TTL_SECONDS)
        return Response(body, mimetype="text/xml")

    @app.get("/health")
    def health() -> dict[str, str]:
        redis.ping()
        return {"redis": "ok"}

    return app


app = create_app() if "TWILIO_AUTH_TOKEN" in os.environ else None
