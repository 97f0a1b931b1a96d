"""Signing in to the staff dashboard: cookies, CSRF, lockouts, idle sign-out, and what each role may open."""
from __future__ import annotations

import datetime as dt

from ivr.app import create_app
from ivr.escalations.models import RosterEntry, StaffUser
from tests.helpers.dashboard import (
    add_escalation,
    audit_rows,
    escalation_row,
    login,
    post,
    signed_in,
    token,
)

# --------------------------------------------------------------------------- signing in

def test_every_page_but_login_needs_a_signed_in_user(app, client):
    from ivr.dashboard.blueprint import PASSIVE_ENDPOINTS

    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("dashboard.")
             and r.endpoint not in ("dashboard.login", "dashboard.static") and "GET" in r.methods]
    assert len(rules) >= 8
    for rule in rules:
        path = rule.rule.replace("<int:escalation_id>", "1").replace("<int:user_id>", "1").replace(
            "<int:entry_id>", "1").replace("<int:change_id>", "1")
        response = client.get(path)
        if rule.endpoint in PASSIVE_ENDPOINTS:  # the page's own polling: 401 and why, never data
            assert response.status_code == 401 and response.get_json() == {"ended": "expired"}, path
            continue
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
