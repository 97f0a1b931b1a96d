"""The append-only audit log, and owners managing staff accounts and the on-call roster."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from ivr.escalations import audit
from ivr.escalations.models import AuditEntry, RosterEntry, StaffUser
from tests.helpers.dashboard import (
    STAFF_PASSWORD,
    add_escalation,
    audit_rows,
    login,
    post,
    signed_in,
)

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
    assert (
        audit_rows(database, "roster_update")[0].detail == "Sam Staff, level 2, Every day 18:00–09:00 (overnight), text"
    )

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
