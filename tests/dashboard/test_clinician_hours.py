"""Owners set each clinician's weekly hours and session length on the dashboard, checked as clinicians.csv is,
audited; staff cannot."""
from __future__ import annotations

from sqlalchemy import select

from ivr.escalations.models import AuditEntry
from ivr.practice.models import Clinician
from tests.helpers.dashboard import signed_in, token


def test_owner_sets_hours_checked_like_the_csv_and_audited(app, database, people):
    c = signed_in(app, people["owner"])
    page = c.get("/staff/clinicians").get_data(as_text=True)
    assert 'value="mon-thu 09:00-17:00"' in page  # Dr. Chen's demo hours, as the CSV writes them
    bad = c.post("/staff/clinicians", data={"clinician_id": "maya-chen", "working_hours": "mon-thu 09:00-25:00",
                                            "session_minutes": "50", "csrf_token": token(c, "/staff/clinicians")})
    assert bad.status_code == 400
    assert "working_hours &#39;mon-thu 09:00-25:00&#39;: &#39;09:00-25:00&#39; is not a valid time range" in \
        bad.get_data(as_text=True)
    ok = c.post("/staff/clinicians", data={"clinician_id": "maya-chen",
                                           "working_hours": "mon-wed 10:00-18:00; fri 09:00-13:00",
                                           "session_minutes": "45", "csrf_token": token(c, "/staff/clinicians")})
    assert ok.status_code == 303
    with database.sessions() as db:
        maya = db.get(Clinician, "maya-chen")
        assert (maya.working_hours, maya.session_minutes) == (
            {"monday": ["10:00-18:00"], "tuesday": ["10:00-18:00"], "wednesday": ["10:00-18:00"],
             "friday": ["09:00-13:00"]}, 45)
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "clinician_hours")).all()
    assert (entry.target, entry.detail) == (
        "clinician:maya-chen", "mon-thu 09:00-17:00, 50 min → mon-wed 10:00-18:00; fri 09:00-13:00, 45 min")


def test_staff_cannot_change_hours(app, people):
    c = signed_in(app, people["sam"])
    assert c.get("/staff/clinicians").status_code == 403
