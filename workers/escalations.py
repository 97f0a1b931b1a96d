"""Escalations: a call the flows could not resolve, handed to staff."""
from __future__ import annotations

import datetime as dt
import json

from ivr.privacy import mask_phone

from .runtime import services

ESCALATION_PREFIX = "ql:escalation:"
ESCALATION_LIST = "ql:escalations"


def escalate(call_sid: str, reason: str, priority: str = "normal") -> str:
    """Record an escalation for a call (once per call and reason); returns its key."""
    ql = services()
    key = f"{ESCALATION_PREFIX}{call_sid}:{reason}"
    session = ql.sessions.load(call_sid)
    created = dt.datetime.now(dt.timezone.utc).isoformat()
    if not ql.redis.hsetnx(key, "created_at", created):
        return key  # a retried job: the escalation exists already
    ql.redis.hset(key, mapping={
        "call_sid": call_sid,
        "reason": reason,
        "priority": priority,
        "caller": mask_phone(session.caller) if session else "-",
        "timeline": json.dumps(session.history if session else []),
    })
    ql.redis.lpush(ESCALATION_LIST, key)
    return key
