"""Who is signed in: password checks with lockout, server-side staff sessions, idle logout, roles.

The session cookie (signed by Flask) carries only a random session id and the
CSRF token.  The session itself lives in Redis, so signing out really ends it (a
copied cookie is useless afterwards) and each request sees the user's current
state: a deactivated account or a changed password ends its sessions at once.
Idle time is measured with the app's clock, so tests can move time on.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import abort, current_app, g, request, session
from sqlalchemy import func, select, update

from ivr import passwords
from ivr.escalations import audit
from ivr.escalations.audit import Action
from ivr.escalations.models import Role, StaffUser
from ivr.exceptions import LoginFailed

SESSION_KEY_PREFIX = "ql:staff-session:"
# However active, a session ends after a working day: a forgotten shared screen does not stay open for weeks.
SESSION_MAX_AGE = dt.timedelta(hours=12)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in staff member, as the request found them (``g.user``)."""

    id: int
    email: str
    name: str
    role: str

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER.value


def ql() -> Any:
    return current_app.extensions["quietline"]


def db() -> Any:
    return ql().database


def now() -> dt.datetime:
    return ql().clock()


def client_ip() -> str | None:
    return request.remote_addr


def fingerprint(password_hash: str) -> str:
    """Changes whenever the password does: sessions made with the old one stop working."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --------------------------------------------------------------------------- signing in

def authenticate(email: str, password: str) -> StaffUser:
    """The user with these credentials, after counting failures and locking as configured.

    The slow hash check happens outside any transaction; the counters change with
    single UPDATEs, so concurrent attempts neither lose counts nor hold locks.
    """
    moment = now()
    ip = client_ip()
    with db().sessions() as s:
        user = s.scalar(select(StaffUser).where(func.lower(StaffUser.email) == normalise_email(email)))
    if user is None:
        passwords.verify_password(None, password)  # the same work as for a real account
        audit.record(db(), None, Action.LOGIN_FAILED, None, "unknown account", ip, at=moment)
        raise LoginFailed()
    target = f"staff:{user.id}"
    if user.locked_until is not None and user.locked_until > moment:
        audit.record(db(), None, Action.LOGIN_FAILED, target, "account locked", ip, at=moment)
        raise LoginFailed()
    ok = passwords.verify_password(user.password_hash, password)
    if not ok or not user.active:
        _count_failure(user, moment, "inactive account" if ok else "wrong password", ip)
        raise LoginFailed()
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
    if passwords.needs_rehash(user.password_hash):
        # Today's parameters; the length rule is not re-applied to a password that was accepted before.
        values["password_hash"] = passwords.hash_password(password, enforce_rules=False)
    with db().sessions() as s, s.begin():
        s.execute(update(StaffUser).where(StaffUser.id == user.id).values(**values))
        audit.record(s, user.id, Action.LOGIN, target, None, ip, at=moment)
    user.password_hash = values.get("password_hash", user.password_hash)
    return user


def _count_failure(user: StaffUser, moment: dt.datetime, why: str, ip: str | None) -> None:
    settings = ql().settings
    target = f"staff:{user.id}"
    with db().sessions() as s, s.begin():
        s.execute(update(StaffUser).where(StaffUser.id == user.id)
                  .values(failed_logins=StaffUser.failed_logins + 1))
        audit.record(s, None, Action.LOGIN_FAILED, target, why, ip, at=moment)
        locked = s.execute(
            update(StaffUser)
            .where(StaffUser.id == user.id, StaffUser.failed_logins >= settings.login_max_failures)
            .values(failed_logins=0, locked_until=moment + dt.timedelta(minutes=settings.login_lock_minutes))
        ).rowcount
        if locked:
            audit.record(s, None, Action.LOCKOUT, target,
                         f"{settings.login_max_failures} failed logins; locked {settings.login_lock_minutes} min",
                         ip, at=moment)


# --------------------------------------------------------------------------- sessions

def _key(sid: str) -> str:
    return SESSION_KEY_PREFIX + sid


def start_session(user: StaffUser) -> None:
    """A fresh session for ``user``: the old cookie's contents (and CSRF token) are dropped first."""
    session.clear()
    sid = secrets.token_urlsafe(32)
    moment = now().isoformat()
    redis = ql().redis
    redis.hset(_key(sid), mapping={"uid": user.id, "pw": fingerprint(user.password_hash),
                                   "created": moment, "seen": moment})
    redis.expire(_key(sid), _redis_ttl())
    session["sid"] = sid


def _redis_ttl() -> int:
    # Real seconds, a backstop for the clock-based check: Redis forgets sessions nobody uses.
    return ql().settings.idle_logout_minutes * 60 + 300


def refresh_fingerprint(user_id: int, password_hash: str) -> None:
    """After changing one's own password: keep this session, which now matches the new one."""
    sid = session.get("sid")
    if sid:
        ql().redis.hset(_key(sid), "pw", fingerprint(password_hash))


def end_session(reason: str | None = None, user_id: int | None = None) -> None:
    """Sign out: the server forgets the session and the cookie is emptied; audited as ``logout``."""
    sid = session.get("sid")
    if sid:
        ql().redis.delete(_key(sid))
    session.clear()
    if user_id is not None:
        audit.record(db(), user_id, Action.LOGOUT, f"staff:{user_id}", reason, client_ip(), at=now())


def load_user(*, touch: bool = True) -> tuple[CurrentUser | None, str | None]:
    """The signed-in user for this request, or None and why the session ended (for the login page).

    Touches the session (this request counts as activity) only when it is still valid and ``touch`` is
    true: the page's own background polling passes False, so an open tab alone never keeps anyone signed in.
    """
    sid = session.get("sid")
    if not sid:
        return None, None
    redis = ql().redis
    data = {k.decode(): v.decode() for k, v in redis.hgetall(_key(sid)).items()}
    if not data:
        session.clear()
        return None, "expired"
    uid = int(data["uid"])
    moment = now()
    idle = dt.timedelta(minutes=ql().settings.idle_logout_minutes)
    if moment - dt.datetime.fromisoformat(data["seen"]) > idle:
        end_session("idle", uid)
        return None, "idle"
    if moment - dt.datetime.fromisoformat(data["created"]) > SESSION_MAX_AGE:
        end_session("session too old", uid)
        return None, "expired"
    with db().sessions() as s:
        user = s.get(StaffUser, uid)
    if user is None or not user.active:
        end_session("account deactivated", uid if user else None)
        return None, "deactivated"
    if fingerprint(user.password_hash) != data.get("pw"):
        end_session("password changed", uid)
        return None, "password"
    seen = dt.datetime.fromisoformat(data["seen"])
    if touch:
        seen = moment
        redis.hset(_key(sid), "seen", moment.isoformat())
        redis.expire(_key(sid), _redis_ttl())
    # Seconds until the idle sign-out, by the app's clock: the page warns from this, never from its own timer.
    g.idle_left = max(0, int((seen + idle - moment).total_seconds()))
    return CurrentUser(user.id, user.email, user.name, user.role), None


# --------------------------------------------------------------------------- roles

def owner_required(view: F) -> F:
    """403 for anyone but an owner (the login check has already run for every dashboard page)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user: CurrentUser | None = g.get("user")
        if user is None or not user.is_owner:
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
