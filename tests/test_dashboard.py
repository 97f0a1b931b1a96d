"""The staff dashboard through Flask's test client: sign-in, CSRF, lockout, idle logout, roles,
the queue (order, claim races, resolve), deliberate client details, the audit log, staff and roster.

Escalation rows are written straight into the database here; in production the
escalation jobs write them (one test runs a real simulated call through the jobs).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from test_practice_db import db_url  # noqa: F401  (fixture: SQLite, and PostgreSQL when installed)

from ivr import passwords
from ivr.app import create_app
from ivr.escalations import audit, worklist
from ivr.escalations.models import AuditEntry, Escalation, RosterEntry, StaffUser
from ivr.exceptions import EscalationConflict, EscalationForbidden, EscalationInvalid

SECRET = "test-secret-key-" + "0" * 32
STAFF_PASSWORD = "correct horse battery"
OWNER_PASSWORD = "owner passphrase 42"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ALEX_DOB_TEXT = "15 Apr 1985"


@pytest.fixture
def settings_overrides(settings_overrides):
    """A fixed secret key: no instance/secret_key file is created by these tests."""
    return {**settings_overrides, "secret_key": SECRET}


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """argon2's real cost (~0.3 s a hash) would make this module slow; the parameters are not under test here."""
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)


@dataclass
class Person:
    id: int
    email: str
    password: str
    name: str


def add_user(database, email: str, name: str, role: str, password: str, **extra: Any) -> Person:
    with database.sessions() as s, s.begin():
        user = StaffUser(email=email, name=name, role=role, password_hash=passwords.hash_password(password),
                         active=True, **extra)
        s.add(user)
        s.flush()
        return Person(user.id, email, password, name)


@pytest.fixture
def people(database) -> dict[str, Person]:
    return {
        "owner": add_user(database, "olive.owner@quietline.test", "Olive Owner", "owner", OWNER_PASSWORD),
        "sam": add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD),
        "tess": add_user(database, "tess.staff@quietline.test", "Tess Staff", "staff", STAFF_PASSWORD),
    }


def token(client, path: str = "/staff/login") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, person: Person, password: str | None = None):
    return client.post("/staff/login", data={"email": person.email, "password": password or person.password,
                                              "csrf_token": token(client)})


def signed_in(app, person: Person):
    c = app.test_client()
    response = login(c, person)
    assert response.status_code == 303, response.get_data(as_text=True)
    return c


def post(client, path: str, data: dict | None = None, token_from: str = "/staff/"):
    return client.post(path, data={**(data or {}), "csrf_token": token(client, token_from)})


def add_escalation(database, now: dt.datetime, *, priority: int = 2, due_in: dt.timedelta = dt.timedelta(hours=2),
                   status: str = "open", client_id: str | None = None, reason: str = "callback_request",
                   category: str = "callback_request", **extra: Any) -> int:
    with database.sessions() as s, s.begin():
        count = s.scalar(select(func.count(Escalation.id))) or 0
        extra.setdefault("timeline", ["main.welcome", "welcome:1", "callback.record_message"])
        e = Escalation(call_sid=f"CA{count:032d}", reason=reason, category=category, priority=priority,
                       status=status, caller_masked="+1******0001", client_id=client_id,
                       created_at=now - dt.timedelta(minutes=3), deadline_at=now + due_in, **extra)
        s.add(e)
        s.flush()
        return e.id


def audit_rows(database, action: str | None = None) -> list[AuditEntry]:
    with database.sessions() as s:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(s.scalars(query))


def escalation_row(database, escalation_id: int) -> Escalation:
    with database.sessions() as s:
        return s.get(Escalation, escalation_id)


# --------------------------------------------------------------------------- signing in

def test_every_page_but_login_needs_a_signed_in_user(app, client):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("dashboard.")
             and r.endpoint not in ("dashboard.login", "dashboard.static") and "GET" in r.methods]
    assert len(rules) >= 8
    for rule in rules:
        path = rule.rule.replace("<int:escalation_id>", "1").replace("<int:user_id>", "1").replace(
            "<int:entry_id>", "1")
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.location.startswith("/staff/login"), path
    assert client.get("/staff/login").status_code == 200
    assert client.get("/staff/static/dashboard.css").status_code == 200


def test_login_ok_sets_a_hardened_session_cookie_and_is_audited(app, client, people, database):
    sam = people["sam"]
    response = login(client, sam)
    assert response.status_code == 303 and response.location == "/staff/"
    cookie = response.headers["Set-Cookie"]
    # PUBLIC_BASE_URL is https in the tests: Secure, and the __Host- prefix the browser enforces.
    assert cookie.startswith("__Host-quietline=")
    for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    page = client.get("/staff/")
    assert page.status_code == 200 and "Sam Staff" in page.get_data(as_text=True)
    [entry] = audit_rows(database, "login")
    assert (entry.user_id, entry.target, entry.ip) == (sam.id, f"staff:{sam.id}", "127.0.0.1")


def test_cookie_is_not_secure_over_plain_http(settings_overrides, redis_conn, clock, database, people):
    app = create_app({**settings_overrides, "public_base_url": "http://127.0.0.1:8000"}, redis=redis_conn,
                     clock=clock, database=database)
    response = login(app.test_client(), people["sam"])
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("quietline_session=") and "Secure" not in cookie and "HttpOnly" in cookie


def test_bad_password_and_unknown_email_fail_alike(client, people, database):
    sam = people["sam"]
    wrong = login(client, sam, "not the password at all")
    unknown = client.post("/staff/login", data={"email": "nobody@quietline.test", "password": "whatever it is",
                                                 "csrf_token": token(client)})
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password do not match."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert client.get("/staff/").status_code == 303  # still signed out
    failed = audit_rows(database, "login_failed")
    assert [(e.target, e.detail) for e in failed] == [(f"staff:{sam.id}", "wrong password"), (None, "unknown account")]
    assert all(e.user_id is None for e in failed)
    with database.sessions() as s:
        assert s.get(StaffUser, sam.id).failed_logins == 1


def test_email_is_case_insensitive(client, people):
    sam = people["sam"]
    response = client.post("/staff/login", data={"email": "  SAM.Staff@Quietline.TEST ", "password": sam.password,
                                                  "csrf_token": token(client)})
    assert response.status_code == 303


def test_csrf_token_is_required(app, client, people, database, clock):
    sam = people["sam"]
    # The login form itself.
    response = client.post("/staff/login", data={"email": sam.email, "password": sam.password})
    assert response.status_code == 400 and "nothing was done" in response.get_data(as_text=True)
    assert audit_rows(database, "login") == []
    # An action, signed in: refused, and the escalation is untouched.
    c = signed_in(app, sam)
    eid = add_escalation(database, clock.now)
    assert c.post(f"/staff/e/{eid}/claim").status_code == 400
    assert c.post(f"/staff/e/{eid}/claim", data={"csrf_token": "forged"}).status_code == 400
    assert escalation_row(database, eid).status == "open"
    # A token from another session does not work either.
    other = signed_in(app, people["tess"])
    assert c.post(f"/staff/e/{eid}/claim", data={"csrf_token": token(other, "/staff/")}).status_code == 400
    assert post(c, f"/staff/e/{eid}/claim").status_code == 303


def test_webhooks_need_no_csrf_token(sim):
    """CSRF checks are the dashboard's only: Twilio's signed POSTs still work."""
    result = sim.call(script="hangup")
    assert result.heard


def test_lockout_after_repeated_failures_then_unlocked_after_the_period(app, client, people, database, clock):
    sam = people["sam"]
    settings = app.extensions["quietline"].settings
    assert (settings.login_max_failures, settings.login_lock_minutes) == (5, 15)
    for _ in range(5):
        assert login(client, sam, "wrong password here").status_code == 401
    [lock] = audit_rows(database, "lockout")
    assert lock.target == f"staff:{sam.id}"
    with database.sessions() as s:
        user = s.get(StaffUser, sam.id)
        assert user.locked_until == clock.now + dt.timedelta(minutes=15) and user.failed_logins == 0
    # Locked: even the right password is refused, and says nothing different.
    assert login(client, sam).status_code == 401
    assert audit_rows(database, "login_failed")[-1].detail == "account locked"
    clock.advance(minutes=14, seconds=59)
    assert login(client, sam).status_code == 401
    clock.advance(seconds=2)
    assert login(client, sam).status_code == 303
    with database.sessions() as s:
        user = s.get(StaffUser, sam.id)
        assert (user.failed_logins, user.locked_until) == (0, None)


def test_a_success_resets_the_failure_count(client, people, database):
    sam = people["sam"]
    for _ in range(4):
        login(client, sam, "wrong password here")
    assert login(client, sam).status_code == 303
    client.post("/staff/logout", data={"csrf_token": token(client, "/staff/")})
    for _ in range(4):
        login(client, sam, "wrong password here")
    assert audit_rows(database, "lockout") == []


def test_idle_logout_after_15_minutes(app, people, database, clock):
    c = signed_in(app, people["sam"])
    clock.advance(minutes=14)
    assert c.get("/staff/").status_code == 200  # activity: the idle timer starts again
    clock.advance(minutes=14)
    assert c.get("/staff/").status_code == 200
    clock.advance(minutes=15, seconds=1)
    response = c.get("/staff/?view=mine")
    assert response.status_code == 303
    assert response.location == "/staff/login?ended=idle&next=/staff/?view%3Dmine"
    assert "signed out after 15 minutes without activity" in c.get(response.location).get_data(as_text=True)
    [entry] = audit_rows(database, "logout")
    assert (entry.user_id, entry.detail) == (people["sam"].id, "idle")
    # The old session stays dead even when activity would have resumed.
    assert c.get("/staff/").status_code == 303


def test_logout_ends_the_session_on_the_server(app, people, database):
    c = signed_in(app, people["sam"])
    cookie = c.get_cookie("__Host-quietline")
    assert cookie is not None
    assert c.post("/staff/logout", data={"csrf_token": token(c, "/staff/")}).status_code == 303
    assert [e.detail for e in audit_rows(database, "logout")] == [None]
    # A copy of the old cookie (a shared computer, a stolen cookie) no longer opens anything.
    thief = app.test_client()
    thief.set_cookie("__Host-quietline", cookie.value)
    assert thief.get("/staff/").status_code == 303


def test_deactivated_user_is_signed_out_on_the_next_request(app, people, database):
    sam = signed_in(app, people["sam"])
    owner = signed_in(app, people["owner"])
    assert sam.get("/staff/").status_code == 200
    uid = people["sam"].id
    response = post(owner, f"/staff/users/{uid}/active", {"active": "0"})
    assert response.status_code == 303
    refused = sam.get("/staff/")
    assert refused.status_code == 303 and "ended=deactivated" in refused.location
    assert [e.detail for e in audit_rows(database, "logout")] == ["account deactivated"]
    assert [e.target for e in audit_rows(database, "staff_deactivate")] == [f"staff:{uid}"]
    assert login(app.test_client(), people["sam"]).status_code == 401


def test_next_only_leads_to_dashboard_pages(client, people):
    sam = people["sam"]
    for target, expected in (("/staff/e/5", "/staff/e/5"), ("https://evil.example/", "/staff/"),
                             ("//evil.example/staff/", "/staff/"), ("/health", "/staff/")):
        c = client.application.test_client()
        response = c.post("/staff/login", query_string={"next": target},
                          data={"email": sam.email, "password": sam.password, "csrf_token": token(c)})
        assert response.location == expected, target


# --------------------------------------------------------------------------- roles

OWNER_PAGES = ("/staff/audit", "/staff/users", "/staff/roster", "/staff/users/1", "/staff/roster/1")


def test_staff_cannot_reach_owner_pages(app, people, database):
    sam = signed_in(app, people["sam"])
    for path in OWNER_PAGES:
        assert sam.get(path).status_code == 403, path
    before = len(audit_rows(database))
    for path, data in (("/staff/users", {"name": "X", "email": "x@quietline.test", "role": "owner",
                                         "password": "a" * 12, "confirm": "a" * 12}),
                       (f"/staff/users/{people['tess'].id}/active", {"active": "0"}),
                       (f"/staff/users/{people['sam'].id}", {"name": "Sam", "email": people["sam"].email,
                                                             "role": "owner"}),
                       (f"/staff/users/{people['owner'].id}/password", {"password": "b" * 12, "confirm": "b" * 12}),
                       ("/staff/roster", {"user_id": people["sam"].id, "level": 1, "start": "09:00", "end": "17:00",
                                          "sms": "y"})):
        assert post(sam, path, data).status_code == 403, path
    assert len(audit_rows(database)) == before
    with database.sessions() as s:
        assert s.get(StaffUser, people["sam"].id).role == "staff"
    assert "Audit log" not in sam.get("/staff/").get_data(as_text=True)


def test_owner_reaches_owner_pages(app, people):
    owner = signed_in(app, people["owner"])
    with app.extensions["quietline"].database.sessions() as s, s.begin():
        s.add(RosterEntry(user_id=people["sam"].id, level=1, days=[], start="09:00", end="17:00"))
    for path in ("/staff/audit", "/staff/users", "/staff/roster", f"/staff/users/{people['sam'].id}",
                 "/staff/roster/1"):
        assert owner.get(path).status_code == 200, path


# --------------------------------------------------------------------------- the queue

@pytest.mark.parametrize("delta, expected", [
    (dt.timedelta(hours=1, minutes=20, seconds=30), "due in 1 h 20 min"),
    (dt.timedelta(minutes=45), "due in 45 min"),
    (dt.timedelta(hours=3), "due in 3 h"),
    (dt.timedelta(days=1, hours=2, minutes=5), "due in 1 d 2 h"),
    (dt.timedelta(seconds=30), "due now"),
    (dt.timedelta(seconds=-30), "due now"),
    (-dt.timedelta(minutes=5, seconds=10), "overdue 5 min"),
    (-dt.timedelta(hours=2, minutes=1), "overdue 2 h 1 min"),
])
def test_time_left_wording(delta, expected):
    now = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.timezone.utc)
    assert worklist.time_left(now + delta, now) == expected


def test_queue_is_sorted_by_priority_then_deadline(app, people, database, clock):
    now = clock.now
    normal_late = add_escalation(database, now, priority=2, due_in=dt.timedelta(hours=5))
    urgent_later = add_escalation(database, now, priority=0, due_in=dt.timedelta(minutes=50),
                                  category="crisis", reason="crisis")
    normal_overdue = add_escalation(database, now, priority=2, due_in=-dt.timedelta(minutes=5))
    high = add_escalation(database, now, priority=1, due_in=dt.timedelta(hours=1, minutes=20))
    urgent_sooner = add_escalation(database, now, priority=0, due_in=dt.timedelta(minutes=10),
                                   category="crisis", reason="crisis")
    claimed = add_escalation(database, now, priority=1, due_in=dt.timedelta(hours=3), status="claimed",
                             claimed_by=people["tess"].id, claimed_at=now)
    resolved = add_escalation(database, now, priority=0, due_in=dt.timedelta(minutes=1), status="resolved",
                              outcome="done", resolved_at=now)
    expected = [urgent_sooner, urgent_later, high, claimed, normal_overdue, normal_late]
    assert [i.id for i in worklist.list_queue(database, now)] == expected

    sam = signed_in(app, people["sam"])
    html = sam.get("/staff/").get_data(as_text=True)
    shown = [int(m) for m in re.findall(r'<span class="id">#(\d+)</span>', html)]
    assert shown == expected and resolved not in shown
    assert "due in 1 h 20 min" in html and "overdue 5 min" in html and "claimed by Tess Staff" in html
    unclaimed = sam.get("/staff/?view=open").get_data(as_text=True)
    assert [int(m) for m in re.findall(r'<span class="id">#(\d+)</span>', unclaimed)] == [
        urgent_sooner, urgent_later, high, normal_overdue, normal_late]
    done = sam.get("/staff/?view=resolved").get_data(as_text=True)
    assert re.findall(r'<span class="id">#(\d+)</span>', done) == [str(resolved)]


def test_claim_and_resolve_through_the_pages(app, people, database, clock):
    eid = add_escalation(database, clock.now)
    sam = signed_in(app, people["sam"])
    response = post(sam, f"/staff/e/{eid}/claim")
    assert response.status_code == 303 and response.location == f"/staff/e/{eid}"
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    assert "Claimed by you" in page and "Resolve" in page
    assert "claimed by you" in sam.get("/staff/?view=mine").get_data(as_text=True)
    clock.advance(minutes=7)
    response = post(sam, f"/staff/e/{eid}/resolve", {"outcome": "Called back; booked Tuesday 10 AM."},
                    token_from=f"/staff/e/{eid}")
    assert response.status_code == 303
    row = escalation_row(database, eid)
    assert (row.status, row.claimed_by, row.outcome) == ("resolved", people["sam"].id,
                                                         "Called back; booked Tuesday 10 AM.")
    assert row.resolved_at == clock.now
    [claim] = audit_rows(database, "claim")
    [resolve] = audit_rows(database, "resolve")
    assert (claim.user_id, claim.target) == (resolve.user_id, resolve.target) == (people["sam"].id, f"escalation:{eid}")
    assert resolve.detail is None  # the outcome text (which may name the client) stays out of the log


def test_resolve_needs_an_outcome(app, people, database, clock):
    eid = add_escalation(database, clock.now, status="claimed", claimed_by=people["sam"].id, claimed_at=clock.now)
    sam = signed_in(app, people["sam"])
    for outcome in ("", "   \n  "):
        response = post(sam, f"/staff/e/{eid}/resolve", {"outcome": outcome})
        assert response.status_code == 400
        assert "Say what was done" in response.get_data(as_text=True)
    assert escalation_row(database, eid).status == "claimed"
    assert audit_rows(database, "resolve") == []
    with pytest.raises(EscalationInvalid):
        worklist.resolve(database, eid, people["sam"].id, "", clock.now)


def test_only_the_claimer_or_an_owner_resolves(app, people, database, clock):
    eid = add_escalation(database, clock.now, status="claimed", claimed_by=people["sam"].id, claimed_at=clock.now)
    tess = signed_in(app, people["tess"])
    assert f'action="/staff/e/{eid}/resolve"' not in tess.get(f"/staff/e/{eid}").get_data(as_text=True)
    response = post(tess, f"/staff/e/{eid}/resolve", {"outcome": "done"})
    assert response.status_code == 403 and "Sam Staff has claimed this" in response.get_data(as_text=True)
    assert escalation_row(database, eid).status == "claimed"
    owner = signed_in(app, people["owner"])
    assert post(owner, f"/staff/e/{eid}/resolve", {"outcome": "Sam is off sick; I called back."}).status_code == 303
    assert escalation_row(database, eid).status == "resolved"
    [entry] = audit_rows(database, "resolve")
    assert entry.user_id == people["owner"].id and entry.detail == f"claimed by user {people['sam'].id}; resolved by an owner"
    # An open escalation cannot be resolved without a claim, even by an owner.
    open_one = add_escalation(database, clock.now)
    assert post(owner, f"/staff/e/{open_one}/resolve", {"outcome": "x"}).status_code == 409


def test_two_staff_claiming_at_once_exactly_one_wins(app, people, database, clock):
    eid = add_escalation(database, clock.now)
    clients = {name: signed_in(app, people[name]) for name in ("sam", "tess", "owner")}
    tokens = {name: token(c, "/staff/") for name, c in clients.items()}
    barrier = threading.Barrier(len(clients))
    results: dict[str, int] = {}

    def click(name: str) -> None:
        barrier.wait()
        results[name] = clients[name].post(f"/staff/e/{eid}/claim", data={"csrf_token": tokens[name]}).status_code

    threads = [threading.Thread(target=click, args=(name,)) for name in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results.values()) == [303, 409, 409]
    winner = next(name for name, status in results.items() if status == 303)
    row = escalation_row(database, eid)
    assert (row.status, row.claimed_by) == ("claimed", people[winner].id)
    assert [e.user_id for e in audit_rows(database, "claim")] == [people[winner].id]


def test_claim_race_in_the_queue_module(people, database, clock):
    """Many threads, no web layer: the conditional UPDATE alone guarantees one claimer."""
    eid = add_escalation(database, clock.now)
    ids = [people["sam"].id, people["tess"].id, people["owner"].id] * 3
    barrier = threading.Barrier(len(ids))
    outcomes: list[str] = []

    def attempt(uid: int) -> None:
        barrier.wait()
        try:
            worklist.claim(database, eid, uid, clock.now)
            outcomes.append("won")
        except EscalationConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(outcomes) == ["lost"] * (len(ids) - 1) + ["won"]
    assert len(audit_rows(database, "claim")) == 1


def test_the_loser_is_told_who_claimed_it(app, people, database, clock):
    eid = add_escalation(database, clock.now)
    worklist.claim(database, eid, people["tess"].id, clock.now)
    sam = signed_in(app, people["sam"])
    response = post(sam, f"/staff/e/{eid}/claim")
    assert response.status_code == 409 and "Tess Staff claimed this escalation first." in response.get_data(as_text=True)


# --------------------------------------------------------------------------- client details

def test_client_details_only_after_the_deliberate_post(app, people, database, clock, caplog):
    caplog.set_level(logging.DEBUG)
    eid = add_escalation(database, clock.now, client_id="C-1001", reason="reschedule_failed",
                         category="reschedule_failed")
    sam = signed_in(app, people["sam"])
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    for secret in ("Alex", "Rivera", ALEX_DOB_TEXT, "+15551230001", "C-1001"):
        assert secret not in page
    assert "+1******0001" in page and "Show client details" in page
    assert audit_rows(database, "view_client") == []
    # A GET to the details URL (a bookmark, a link) shows nothing and records nothing.
    back = sam.get(f"/staff/e/{eid}/client")
    assert back.status_code == 303 and back.location == f"/staff/e/{eid}"
    assert audit_rows(database, "view_client") == []

    shown = post(sam, f"/staff/e/{eid}/client", token_from=f"/staff/e/{eid}")
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert "Alex Rivera" in html and ALEX_DOB_TEXT in html and 'href="tel:+15551230001"' in html
    assert "Next appointment" in html and "with Dr. Maya Chen" in html
    assert shown.headers["Cache-Control"] == "no-store"
    [entry] = audit_rows(database, "view_client")
    assert (entry.user_id, entry.target, entry.detail) == (people["sam"].id, "client:C-1001", f"escalation:{eid}")
    # Nothing identifying reached the logs, nor any audit entry.
    logged = caplog.text + " ".join(f"{e.target} {e.detail}" for e in audit_rows(database))
    for secret in ("Alex", "Rivera", "1985", "+15551230001"):
        assert secret not in logged


def test_an_unverified_caller_has_no_details_to_open(app, people, database, clock):
    eid = add_escalation(database, clock.now)
    sam = signed_in(app, people["sam"])
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    assert "Show client details" not in page and "not verified" in page
    response = post(sam, f"/staff/e/{eid}/client")
    assert response.status_code == 404 and audit_rows(database, "view_client") == []


def test_the_number_to_call_back_an_unverified_caller_is_shown_on_purpose_and_audited(app, people, database,
                                                                                      clock):
    eid = add_escalation(database, clock.now, caller_number="+15557654321")
    sam = signed_in(app, people["sam"])
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    assert "+15557654321" not in page and "Show the number to call back" in page
    assert sam.get(f"/staff/e/{eid}/number").status_code == 303
    assert audit_rows(database, "view_caller_number") == []
    shown = post(sam, f"/staff/e/{eid}/number", token_from=f"/staff/e/{eid}")
    assert shown.status_code == 200 and 'href="tel:+15557654321"' in shown.get_data(as_text=True)
    [entry] = audit_rows(database, "view_caller_number")
    assert (entry.user_id, entry.target) == (people["sam"].id, f"escalation:{eid}")
    withheld = add_escalation(database, clock.now, caller_number=None)
    assert post(sam, f"/staff/e/{withheld}/number", token_from=f"/staff/e/{withheld}").status_code == 404


def test_detail_page_shows_the_timeline_and_is_audited(app, people, database, clock):
    eid = add_escalation(database, clock.now, timeline=["main.welcome", {"at": clock.now.isoformat(),
                                                                          "text": "menu:0"}])
    sam = signed_in(app, people["sam"])
    html = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    assert "main.welcome" in html and "menu:0" in html
    assert [e.target for e in audit_rows(database, "view_escalation")] == [f"escalation:{eid}"]
    assert sam.get("/staff/e/999999").status_code == 404


# --------------------------------------------------------------------------- the audit log

def test_audit_log_is_append_only_at_the_database(database):
    entry = audit.record(database, None, "login_failed", None, "unknown account", "127.0.0.1")
    for statement in ("UPDATE audit_log SET detail = 'nothing happened' WHERE id = :id",
                      "DELETE FROM audit_log WHERE id = :id"):
        with pytest.raises(DatabaseError, match="append-only"):
            with database.engine.begin() as conn:
                conn.execute(text(statement), {"id": entry.id})
    with database.sessions() as s:
        row = s.get(AuditEntry, entry.id)
        assert row.detail == "unknown account"
        s.delete(row)
        with pytest.raises(DatabaseError, match="append-only"):
            s.commit()


def test_every_action_is_audited_and_owners_can_page_through_it(app, people, database, clock):
    sam_client = app.test_client()
    login(sam_client, people["sam"], "a wrong password")  # login_failed
    sam = signed_in(app, people["sam"])  # login
    eid = add_escalation(database, clock.now, client_id="C-1003")
    sam.get(f"/staff/e/{eid}")  # view_escalation
    post(sam, f"/staff/e/{eid}/claim")  # claim
    post(sam, f"/staff/e/{eid}/client")  # view_client
    post(sam, f"/staff/e/{eid}/resolve", {"outcome": "Called Dana back."})  # resolve
    post(sam, "/staff/account", {"current": STAFF_PASSWORD, "password": "a brand new passphrase",
                                 "confirm": "a brand new passphrase"}, token_from="/staff/account")
    post(sam, "/staff/logout")  # logout
    for _ in range(5):
        login(app.test_client(), people["tess"], "wrong wrong wrong")  # login_failed ×5 and lockout

    owner = signed_in(app, people["owner"])
    created = post(owner, "/staff/users", {"name": "New Person", "email": "new.person@quietline.test",
                                           "role": "staff", "password": "twelve chars!", "confirm": "twelve chars!"})
    assert created.status_code == 303
    with database.sessions() as s:
        new_id = s.scalar(select(StaffUser.id).where(StaffUser.email == "new.person@quietline.test"))
    post(owner, f"/staff/users/{new_id}", {"name": "New Person", "email": "new.person@quietline.test",
                                           "role": "owner", "phone": "(555) 010-0199"})
    post(owner, f"/staff/users/{new_id}/password", {"password": "another passphrase",
                                                    "confirm": "another passphrase"})
    post(owner, f"/staff/users/{people['tess'].id}/unlock")
    post(owner, f"/staff/users/{new_id}/active", {"active": "0"})
    post(owner, f"/staff/users/{new_id}/active", {"active": "1"})
    post(owner, "/staff/roster", {"user_id": people["sam"].id, "level": 1, "days": ["monday", "tuesday"],
                                  "start": "09:00", "end": "17:00", "sms": "y", "email": "y"})
    with database.sessions() as s:
        entry_id = s.scalar(select(RosterEntry.id))
    post(owner, f"/staff/roster/{entry_id}", {"user_id": people["sam"].id, "level": 2, "start": "18:00",
                                              "end": "09:00", "sms": "y"})
    post(owner, f"/staff/roster/{entry_id}/delete")

    actions = {e.action for e in audit_rows(database)}
    assert actions >= {"login", "logout", "login_failed", "lockout", "claim", "resolve", "view_client",
                       "view_escalation", "password_change", "staff_create", "staff_update",
                       "staff_password_reset", "staff_unlock", "staff_deactivate", "staff_reactivate",
                       "roster_add", "roster_update", "roster_delete"}
    update = audit_rows(database, "staff_update")[0]
    assert update.detail == "phone changed; role staff→owner" and update.user_id == people["owner"].id
    assert audit_rows(database, "roster_update")[0].detail == "Sam Staff, level 2, Every day 18:00–09:00 (overnight), text"

    html = owner.get("/staff/audit").get_data(as_text=True)
    assert "view client" in html and "client:C-1003" in html and "Olive Owner" in html
    filtered = owner.get("/staff/audit?action=claim").get_data(as_text=True)
    assert filtered.count('<tr class="action-') == 1


def test_audit_log_pages(app, people, database):
    for i in range(120):
        audit.record(database, people["sam"].id, "view_escalation", f"escalation:{i}")
    owner = signed_in(app, people["owner"])
    first = owner.get("/staff/audit").get_data(as_text=True)
    assert first.count('<tr class="action-') == 50 and "Page 1 of 3" in first
    assert first.index("escalation:119") < first.index("escalation:118")  # newest first
    last = owner.get("/staff/audit?page=3").get_data(as_text=True)
    assert last.count('<tr class="action-') == 121 - 100  # 120 views and the owner's login
    page = audit.entries(database, page=2, per_page=50, action="view_escalation")
    assert (page.page, page.pages, page.total, len(page.entries)) == (2, 3, 120, 50)


# --------------------------------------------------------------------------- staff and roster management

def test_owner_manages_staff_accounts(app, people, database):
    owner = signed_in(app, people["owner"])
    weak = post(owner, "/staff/users", {"name": "Short", "email": "short@quietline.test", "role": "staff",
                                        "password": "elevenchars", "confirm": "elevenchars"})
    assert weak.status_code == 200 and "at least 12 characters" in weak.get_data(as_text=True)
    duplicate = post(owner, "/staff/users", {"name": "Dup", "email": "SAM.staff@quietline.test", "role": "staff",
                                             "password": "long enough pw", "confirm": "long enough pw"})
    assert "already signs in with that email" in duplicate.get_data(as_text=True)
    with database.sessions() as s:
        assert s.scalar(select(func.count(StaffUser.id))) == 3 + _preexisting_staff(database)

    # The only owner cannot demote or deactivate themselves out of the practice.
    oid = people["owner"].id
    demote = post(owner, f"/staff/users/{oid}", {"name": "Olive Owner", "email": people["owner"].email,
                                                 "role": "staff"})
    assert "at least one active owner" in demote.get_data(as_text=True)
    post(owner, f"/staff/users/{oid}/active", {"active": "0"})
    with database.sessions() as s:
        me = s.get(StaffUser, oid)
        assert (me.role, me.active) == ("owner", True)

    # A password reset ends the person's sessions and lets them in with the new one.
    tess = signed_in(app, people["tess"])
    assert post(owner, f"/staff/users/{people['tess'].id}/password",
                {"password": "fresh passphrase", "confirm": "fresh passphrase"}).status_code == 303
    assert "ended=password" in tess.get("/staff/").location
    assert login(app.test_client(), people["tess"]).status_code == 401
    assert login(app.test_client(), people["tess"], "fresh passphrase").status_code == 303


def _preexisting_staff(database) -> int:
    """Staff the demo seeding may add (the escalation backend's demo staff), counted once at the start."""
    with database.sessions() as s:
        return s.scalar(select(func.count(StaffUser.id)).where(~StaffUser.email.like("%@quietline.test"))) or 0


def test_own_password_change_keeps_this_session_and_ends_others(app, people):
    sam = signed_in(app, people["sam"])
    phone = signed_in(app, people["sam"])
    wrong = post(sam, "/staff/account", {"current": "not it at all", "password": "new passphrase!",
                                         "confirm": "new passphrase!"}, token_from="/staff/account")
    assert "not your current password" in wrong.get_data(as_text=True)
    ok = post(sam, "/staff/account", {"current": STAFF_PASSWORD, "password": "new passphrase!",
                                      "confirm": "new passphrase!"}, token_from="/staff/account")
    assert ok.status_code == 303
    assert sam.get("/staff/").status_code == 200
    assert phone.get("/staff/").status_code == 303


def test_owner_manages_the_roster(app, people, database, clock):
    owner = signed_in(app, people["owner"])
    bad = post(owner, "/staff/roster", {"user_id": people["sam"].id, "level": 1, "start": "9am", "end": "17:00"})
    html = bad.get_data(as_text=True)
    assert "Use HH:MM." in html and "Tick text message, email or both" in html
    ok = post(owner, "/staff/roster", {"user_id": people["sam"].id, "level": 1,
                                       "days": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                                       "start": "09:00", "end": "17:00", "sms": "y", "email": "y"})
    assert ok.status_code == 303
    with database.sessions() as s:
        entry = s.scalars(select(RosterEntry)).one()
        assert (entry.user_id, entry.level, entry.days, entry.start, entry.end, entry.sms, entry.email) == (
            people["sam"].id, 1, ["monday", "tuesday", "wednesday", "thursday", "friday"], "09:00", "17:00",
            True, True)
    page = owner.get("/staff/roster").get_data(as_text=True)
    assert "Mon–Fri 09:00–17:00" in page
    # Monday 10:00 in New York: Sam is on call at level 1.
    assert re.search(r"Level 1</span>\s*Sam Staff", page)
    assert post(owner, f"/staff/roster/{entry.id}/delete").status_code == 303
    with database.sessions() as s:
        assert s.scalar(select(func.count(RosterEntry.id))) == 0


# --------------------------------------------------------------------------- the rest

def test_security_headers(app, people):
    sam = signed_in(app, people["sam"])
    response = sam.get("/staff/")
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere


def test_passwords_module():
    from argon2 import PasswordHasher

    real = PasswordHasher()
    hashed = real.hash("long enough password")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "long enough password")
    assert not passwords.verify_password(hashed, "long enough passworD")
    assert not passwords.verify_password("not a hash", "whatever")
    assert not passwords.verify_password(None, "whatever")
    # The test hasher's parameters differ from the real ones: a real hash needs rehashing here and back.
    assert passwords.needs_rehash(hashed)
    assert not passwords.needs_rehash(passwords.hash_password("twelve chars"))
    with pytest.raises(passwords.WeakPassword):
        passwords.hash_password("eleven char")
    with pytest.raises(passwords.WeakPassword):
        passwords.hash_password(" " * 12)


def test_a_login_upgrades_an_old_hash(app, client, database):
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("an old password!")
    with database.sessions() as s, s.begin():
        s.add(StaffUser(email="old@quietline.test", name="Old", role="staff", password_hash=old, active=True))
    person = Person(0, "old@quietline.test", "an old password!", "Old")
    assert login(client, person).status_code == 303
    with database.sessions() as s:
        new = s.scalar(select(StaffUser.password_hash).where(StaffUser.email == "old@quietline.test"))
    assert new != old and not passwords.needs_rehash(new)
    assert client.get("/staff/").status_code == 200  # the session was made with the new hash


def test_cli_create_owner(app, database, clock):
    runner = app.test_cli_runner()
    args = ["staff", "create-owner", "--email", "Pat@Quietline.test", "--name", "Pat Owner"]
    short = runner.invoke(args=args, input="short\nshort\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    mismatch = runner.invoke(args=args, input="a good long passphrase\na different one!\n")
    assert mismatch.exit_code != 0  # click asks again, then runs out of input
    result = runner.invoke(args=args, input="a good long passphrase\na good long passphrase\n")
    assert result.exit_code == 0, result.output
    with database.sessions() as s:
        pat = s.scalar(select(StaffUser).where(StaffUser.email == "pat@quietline.test"))
        assert (pat.role, pat.active, pat.name) == ("owner", True, "Pat Owner")
    assert login(app.test_client(), Person(pat.id, "pat@quietline.test", "a good long passphrase", "")).status_code == 303
    again = runner.invoke(args=["staff", "create-owner", "--email", "pat@quietline.test", "--name", "Pat"],
                          env={"QUIETLINE_STAFF_PASSWORD": "another long one"})
    assert again.exit_code != 0 and "already has an account" in again.output
    auto = runner.invoke(args=["staff", "create-owner", "--email", "robot@quietline.test", "--name", "Robot"],
                         env={"QUIETLINE_STAFF_PASSWORD": "from the environment"})
    assert auto.exit_code == 0, auto.output
    weak = runner.invoke(args=["staff", "create-owner", "--email", "weak@quietline.test", "--name", "Weak"],
                         env={"QUIETLINE_STAFF_PASSWORD": "short"})
    assert weak.exit_code != 0 and "at least 12" in weak.output
    reset = runner.invoke(args=["staff", "reset-password", "--email", "pat@quietline.test"],
                          env={"QUIETLINE_STAFF_PASSWORD": "a reset passphrase"})
    assert reset.exit_code == 0, reset.output
    assert "pat@quietline.test\towner\tactive" in runner.invoke(args=["staff", "list"]).output
    assert [e.detail for e in audit_rows(database, "staff_create")] == ["role owner; from the command line"] * 2


def test_instance_secret_key_is_created_once_and_private(tmp_path):
    from ivr.config import instance_secret_key

    key = instance_secret_key(tmp_path)
    assert len(key) == 64 and instance_secret_key(tmp_path) == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_without_secret_key_the_dashboard_uses_the_instance_key(settings_overrides, redis_conn, clock, database,
                                                                 people, tmp_path, monkeypatch):
    app = create_app({**settings_overrides, "secret_key": ""}, redis=redis_conn, clock=clock, database=database)
    app.instance_path = str(tmp_path)
    app.session_interface.instance_dir = tmp_path
    assert not (tmp_path / "secret_key").exists()
    app.test_client().get("/health")
    assert not (tmp_path / "secret_key").exists()  # only the dashboard needs it
    assert login(app.test_client(), people["sam"]).status_code == 303
    assert (tmp_path / "secret_key").exists()


# --------------------------------------------------------------------------- both database backends

@pytest.fixture
def any_db(db_url, clock):  # noqa: F811
    """A migrated, demo-seeded database on SQLite and on PostgreSQL."""
    from zoneinfo import ZoneInfo

    from ivr.db.database import Database, upgrade
    from ivr.practice.demo import seed_demo

    db = Database.from_url(db_url)
    upgrade(db.engine)
    seed_demo(db.sessions, clock.now, ZoneInfo("America/New_York"))
    yield db
    db.dispose()


def test_queue_module_on_each_backend(any_db, clock):
    """Order, the claim race, resolve rules, audited client details and the append-only log, per backend."""
    now = clock.now
    a = add_user(any_db, "a@quietline.test", "A", "staff", STAFF_PASSWORD)
    b = add_user(any_db, "b@quietline.test", "B", "staff", STAFF_PASSWORD)
    late = add_escalation(any_db, now, priority=1, due_in=dt.timedelta(hours=3))
    soon = add_escalation(any_db, now, priority=1, due_in=dt.timedelta(hours=1), client_id="C-1005")
    urgent = add_escalation(any_db, now, priority=0, due_in=dt.timedelta(hours=9))
    assert [i.id for i in worklist.list_queue(any_db, now)] == [urgent, soon, late]

    barrier = threading.Barrier(6)
    won: list[int] = []

    def attempt(uid: int) -> None:
        barrier.wait()
        try:
            worklist.claim(any_db, soon, uid, now)
            won.append(uid)
        except EscalationConflict:
            pass

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in (a.id, b.id) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(won) == 1
    loser = b.id if won == [a.id] else a.id
    with pytest.raises(EscalationForbidden):
        worklist.resolve(any_db, soon, loser, "done", now)
    details = worklist.client_details(any_db, soon, loser, now, "192.0.2.7")
    assert (details.name, details.date_of_birth) == ("Casey Nguyen", dt.date(1990, 8, 30))
    assert details.phones == ["+15550100109", "+15550100110"] and details.next_appointment is not None
    worklist.resolve(any_db, soon, won[0], "Called back.", now)
    assert [i.id for i in worklist.list_queue(any_db, now, view="resolved")] == [soon]
    assert [(e.action, e.target) for e in reversed(audit.entries(any_db).entries)] == [
        ("claim", f"escalation:{soon}"), ("view_client", "client:C-1005"), ("resolve", f"escalation:{soon}")]
    for statement in ("UPDATE audit_log SET detail = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"):
            with any_db.engine.begin() as conn:
                conn.execute(text(statement))
    assert audit.entries(any_db).total == 3


# --------------------------------------------------------------------------- a real call

def test_a_real_escalated_call_reaches_the_queue(app, sim, run_jobs, database, people):
    """A verified caller the flows cannot help: the job records the escalation, staff see and work it."""
    result = sim.call(from_="+15551230001", script="1;04151985#;1;4")
    assert "I'll ask our scheduling team to call you back" in " ".join(result.heard)
    run_jobs()
    with database.sessions() as s:
        rows = s.scalars(select(Escalation).where(Escalation.call_sid == result.call_sid)).all()
    [row] = rows
    assert row.client_id == "C-1001" and row.caller_masked == "+1******0001"
    sam = signed_in(app, people["sam"])
    assert f'<span class="id">#{row.id}</span>' in sam.get("/staff/").get_data(as_text=True)
    assert post(sam, f"/staff/e/{row.id}/claim").status_code == 303
    shown = post(sam, f"/staff/e/{row.id}/client").get_data(as_text=True)
    assert "Alex Rivera" in shown
    assert post(sam, f"/staff/e/{row.id}/resolve", {"outcome": "Booked by phone."}).status_code == 303


# --------------------------------------------------------------------------- voicemail

def leave_voicemail(app, database, clock, *, transcript: str | None) -> tuple[int, bytes]:
    """An escalation whose caller left a message, with the files the recording job writes."""
    from ivr.escalations.recording_files import recording_path, transcript_path

    eid = add_escalation(database, clock.now, reason="voicemail", category="voicemail")
    row = escalation_row(database, eid)
    recording_sid = "RE" + "7" * 32
    with database.sessions() as s, s.begin():
        s.get(Escalation, eid).recording_sid = recording_sid
    wav = recording_path(app.extensions["quietline"].settings.recordings_dir, row.call_sid, recording_sid)
    wav.parent.mkdir(parents=True, exist_ok=True)
    audio = b"RIFF" + b"\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8
    wav.write_bytes(audio)
    if transcript is not None:
        transcript_path(wav).write_text(transcript + "\n", encoding="utf-8")
    return eid, audio


def test_a_voicemail_is_played_only_after_the_deliberate_post(app, people, database, clock, caplog):
    caplog.set_level(logging.DEBUG)
    words = "please call me about thursday"
    eid, audio = leave_voicemail(app, database, clock, transcript=words)
    sam = signed_in(app, people["sam"])
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    assert "Play voicemail" in page and words not in page and "<audio" not in page
    # Neither the audio nor the transcript is reachable by URL before the message is opened.
    assert sam.get(f"/staff/e/{eid}/voicemail.wav").status_code == 403
    back = sam.get(f"/staff/e/{eid}/voicemail")
    assert back.status_code == 303 and back.location == f"/staff/e/{eid}"
    assert audit_rows(database, "listen_voicemail") == []

    shown = post(sam, f"/staff/e/{eid}/voicemail", token_from=f"/staff/e/{eid}")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert f'<audio controls preload="auto" src="/staff/e/{eid}/voicemail.wav"></audio>' in html
    assert f'<blockquote class="transcript">{words}</blockquote>' in html
    [entry] = audit_rows(database, "listen_voicemail")
    assert (entry.user_id, entry.target) == (people["sam"].id, f"escalation:{eid}")

    got = sam.get(f"/staff/e/{eid}/voicemail.wav")
    assert got.status_code == 200 and got.mimetype == "audio/wav" and got.data == audio
    assert got.headers["Cache-Control"] == "no-store"
    ranged = sam.get(f"/staff/e/{eid}/voicemail.wav", headers={"Range": "bytes=4-11"})
    assert ranged.status_code == 206 and ranged.data == audio[4:12]
    # Fetching the audio is covered by the opening: one audit entry, not one per range request.
    assert len(audit_rows(database, "listen_voicemail")) == 1
    assert words not in caplog.text

    # Another person (or this one after signing out and in again) has to open it themselves.
    tess = signed_in(app, people["tess"])
    assert tess.get(f"/staff/e/{eid}/voicemail.wav").status_code == 403
    # The grant lapses: the player on a page left open does not keep access for good.
    clock.now += dt.timedelta(minutes=14)
    assert sam.get(f"/staff/e/{eid}/voicemail.wav", headers={"Range": "bytes=0-3"}).status_code == 206
    clock.now += dt.timedelta(minutes=2)
    assert sam.get(f"/staff/e/{eid}/voicemail.wav").status_code == 403


def test_a_voicemail_without_transcript_or_not_yet_copied(app, people, database, clock):
    eid, _ = leave_voicemail(app, database, clock, transcript=None)
    sam = signed_in(app, people["sam"])
    html = post(sam, f"/staff/e/{eid}/voicemail", token_from=f"/staff/e/{eid}").get_data(as_text=True)
    assert "No transcript: no speech model is installed on this server." in html and "<audio" in html

    pending = add_escalation(database, clock.now, reason="voicemail", category="voicemail",
                             recording_sid="RE" + "8" * 32)
    response = post(sam, f"/staff/e/{pending}/voicemail", token_from=f"/staff/e/{pending}")
    assert response.status_code == 404
    assert "The voicemail is still being copied from Twilio. Try again in a minute." in response.get_data(as_text=True)
    assert sam.get(f"/staff/e/{pending}/voicemail.wav").status_code == 403

    none_left = add_escalation(database, clock.now)
    assert "Play voicemail" not in sam.get(f"/staff/e/{none_left}").get_data(as_text=True)
    assert post(sam, f"/staff/e/{none_left}/voicemail", token_from=f"/staff/e/{none_left}").status_code == 404
    assert [e.target for e in audit_rows(database, "listen_voicemail")] == [f"escalation:{eid}"]


def test_recording_paths_refuse_anything_but_sids(tmp_path):
    from ivr.escalations.recording_files import recording_path

    assert recording_path(tmp_path, "CA" + "1" * 32, "RE" + "2" * 32).name == f"CA{'1' * 32}-RE{'2' * 32}.wav"
    for bad in ("../etc/passwd", "RE/../../x", "", "RE 1", "R"):
        with pytest.raises(ValueError):
            recording_path(tmp_path, "CA" + "1" * 32, bad)


def test_a_roster_entry_can_be_limited_to_some_categories(app, people, database, clock):
    """An on-call clinician told of crises only, at any hour: the roster says so and the planner obeys."""
    from ivr.escalations import roster

    owner = signed_in(app, people["owner"])
    bad = post(owner, "/staff/roster", {"user_id": people["tess"].id, "level": 1, "start": "00:00", "end": "23:59",
                                        "sms": "y", "categories": ["crisis", "gossip"]})
    assert bad.status_code == 200 and "is not a valid choice" in bad.get_data(as_text=True)
    assert audit_rows(database, "roster_add") == []
    ok = post(owner, "/staff/roster", {"user_id": people["tess"].id, "level": 1, "start": "00:00", "end": "23:59",
                                       "sms": "y", "categories": ["crisis"]})
    assert ok.status_code == 303
    assert post(owner, "/staff/roster", {"user_id": people["sam"].id, "level": 1, "start": "00:00",
                                         "end": "23:59", "sms": "y"}).status_code == 303
    with database.sessions() as s:
        tess, sam = (s.scalars(select(RosterEntry).where(RosterEntry.user_id == people[p].id)).one()
                     for p in ("tess", "sam"))
        assert (tess.categories, sam.categories) == (["crisis"], None)
        entries, users = s.scalars(select(RosterEntry)).all(), s.scalars(select(StaffUser)).all()
    tz = app.extensions["quietline"].flows.current().practice.tz
    assert [r.user_id for r in roster.on_call(entries, users, 1, clock.now, tz, "billing")] == [people["sam"].id]
    assert sorted(r.user_id for r in roster.on_call(entries, users, 1, clock.now, tz, "crisis")) == sorted(
        [people["sam"].id, people["tess"].id])

    page = owner.get("/staff/roster").get_data(as_text=True)
    assert "<td class=\"block\">Crisis only</td>" in page and "<td class=\"block\">Every kind of alert</td>" in page
    assert re.search(r"Level 1</span>\s*Sam Staff, Tess Staff \(Crisis only\)", page)
    [added, _] = audit_rows(database, "roster_add")
    assert added.detail.endswith("told about Crisis")

    # Ticking nothing again lifts the limit.
    edit = post(owner, f"/staff/roster/{tess.id}", {"user_id": people["tess"].id, "level": 1, "start": "00:00",
                                                     "end": "23:59", "sms": "y"}, token_from=f"/staff/roster/{tess.id}")
    assert edit.status_code == 303
    with database.sessions() as s:
        assert s.get(RosterEntry, tess.id).categories is None


@pytest.mark.parametrize("proxies, expected", [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_the_audit_log_records_the_persons_address_only_through_trusted_proxies(
        proxies, expected, settings_overrides, redis_conn, clock, database, people):
    app = create_app({**settings_overrides, "trusted_proxies": proxies}, redis=redis_conn, clock=clock,
                     strict_flows=True, database=database)
    app.config.update(TESTING=True)
    client = app.test_client()
    headers = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https",
               "Referer": "https://localhost/staff/login"}  # a browser sends it; CSRF checks it over https
    csrf = CSRF_RE.search(client.get("/staff/login", headers=headers).get_data(as_text=True)).group(1)
    sam = people["sam"]
    response = client.post("/staff/login", headers=headers,
                           data={"email": sam.email, "password": sam.password, "csrf_token": csrf})
    assert response.status_code == 303
    [entry] = audit_rows(database, "login")
    # One trusted proxy: its own entry (the last one) is believed, the one the client could forge is not.
    assert entry.ip == expected


def test_trusted_proxies_is_checked():
    from ivr.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_settings({"TWILIO_AUTH_TOKEN": "x", "TRUSTED_PROXIES": "-1"}).validate()
