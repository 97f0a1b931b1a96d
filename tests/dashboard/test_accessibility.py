"""axe-core finds no violation on any dashboard page, in any state (a CI gate: issue 16).

axe-core comes from npm, pinned in tests/dashboard/axe/package-lock.json (``make deps-test`` runs
``npm ci``), and runs in headless Chromium through Playwright.  The dashboard's Content-Security-Policy
stays strict (``script-src 'self'``, checked on every page below): only this test browser bypasses it, so
that axe's script can be put into the page.  Rules: WCAG 2.0, 2.1 and 2.2 A and AA, and axe's best practices.
"""
from __future__ import annotations

import datetime as dt
import os
import wave

import pytest
from sqlalchemy import text

from ivr.escalations import worklist
from ivr.escalations.models import Escalation
from ivr.practice import journal
from ivr.practice.models import ChangeKind
from tests.helpers.browser import AXE, Axe, sign_in
from tests.helpers.dashboard import OWNER_PASSWORD, STAFF_PASSWORD, add_escalation, add_user

pytestmark = pytest.mark.wallclock

def add_voicemail(database, settings_overrides, eid: int) -> None:
    recording_sid = "RE" + "4" * 32
    with database.sessions() as s, s.begin():
        row = s.get(Escalation, eid)
        row.recording_sid = recording_sid
        call_sid = row.call_sid
    import io

    from ivr.escalations.recording_files import RecordingFiles, StoredTranscript

    # Sealed as the recording job writes them (fix13-bt: the page now opens the audio before showing a player, so a
    # plain file at the sealed path is what it is: a file this server's key cannot open).
    from tests.helpers.service import RECORDINGS_KEY

    files = RecordingFiles.from_settings(settings_overrides["recordings_dir"], RECORDINGS_KEY)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 16000)
    files.write_audio(call_sid, recording_sid, buffer.getvalue())
    files.write_transcript(call_sid, recording_sid, StoredTranscript("please call me back", 0.9, ()))


def test_axe_finds_no_violation_on_any_dashboard_page_or_state(live_server, axe_page, database, clock,
                                                               settings_overrides):
    base, page = live_server, axe_page
    axe = Axe(page)
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    robin = add_user(database, "robin.staff@quietline.test", "Robin", "staff", STAFF_PASSWORD)
    olive = add_user(database, "olive.owner@quietline.test", "Olive Owner", "owner", OWNER_PASSWORD)
    now = clock.now
    crisis = add_escalation(database, now, priority=0, due_in=dt.timedelta(minutes=13), reason="crisis",
                            category="crisis", client_id="C-1001", crisis_kind="harm_to_others",
                            timeline=["main.main_menu", "main_menu:crisis", "crisis_kind:harm_to_others",
                                      "crisis.alert_staff"])
    add_voicemail(database, settings_overrides, crisis)
    overdue = add_escalation(database, now, priority=1, due_in=-dt.timedelta(minutes=5), reason="billing_question",
                             category="billing")
    theirs = add_escalation(database, now, status="claimed", claimed_by=robin.id, claimed_at=now)
    unverified = add_escalation(database, now, reason="verification_failed", category="verification_failed",
                                caller_number="+15551230009",
                                details={"first_name": "Jane", "best_time": "mornings"})
    done = add_escalation(database, now, status="claimed", claimed_by=robin.id, claimed_at=now)
    worklist.resolve(database, done, robin.id, "Called back.", now)
    with database.sessions() as s, s.begin():
        change = journal.record(s, ChangeKind.APPOINTMENT_CANCELLED, source="call:CA" + "1" * 32, now=now,
                                client_id="C-1001", appointment_id="A-2001",
                                before={"start": "2026-11-24T15:00:00+00:00", "status": "scheduled"},
                                after={"start": "2026-11-24T15:00:00+00:00", "status": "cancelled"})
        s.flush()
        change_id = change.id

    # The gate can fail: a page without its language and with an unnamed field is caught.
    page.goto(f"{base}/staff/login")
    page.evaluate("() => { document.documentElement.removeAttribute('lang'); "
                  "document.querySelector('label[for=email]').remove(); }")
    planted = Axe(page)
    planted.check("planted faults")
    rules = [v.split(": ")[1].split(" ")[0] for v in planted.violations]
    assert rules == ["html-has-lang", "label"], planted.violations

    # Signing in: blank, a wrong password, signed out for being idle.
    axe.visit(f"{base}/staff/login", "sign-in")
    page.fill("input[name=email]", sam.email)
    page.fill("input[name=password]", "not the password")
    page.click("button:text-is('Sign in')")
    page.wait_for_selector(".alert.error")
    axe.check("sign-in, wrong password")
    axe.visit(f"{base}/staff/login?ended=idle", "sign-in, ended idle")
    sign_in(page, base, sam.email, STAFF_PASSWORD)

    # The queue in every view, live updates and the idle warning.
    for view in ("active", "open", "mine", "resolved"):
        axe.visit(f"{base}/staff/?view={view}", f"queue {view}")
    axe.visit(f"{base}/staff/?view=active", "queue")
    late = add_escalation(database, now, priority=0, due_in=dt.timedelta(minutes=20), reason="crisis",
                          category="crisis")
    page.wait_for_selector(f"#e-{late}", timeout=15_000)
    worklist.claim(database, overdue, robin.id, now)
    page.wait_for_selector(f"#e-{overdue} .who:text-is('claimed by Robin just now')", timeout=15_000)
    axe.check("queue after live updates")
    clock.advance(minutes=13, seconds=1)
    page.wait_for_selector("#idle-dialog[open]", timeout=15_000)
    axe.check("idle warning")
    page.click("#stay-signed-in")
    page.wait_for_selector("#idle-dialog", state="hidden")

    # One escalation in each state.
    axe.visit(f"{base}/staff/e/{crisis}", "escalation, unclaimed")
    page.click("#claim-button")
    page.wait_for_selector("#confirmation")
    axe.check("escalation, just claimed")
    page.click("button:has-text('Play voicemail')")
    page.wait_for_selector("audio")
    axe.check("escalation, voicemail opened")
    page.click("button:has-text('Show client details')")
    page.wait_for_selector("text=Alex Rivera")
    axe.check("escalation, client details shown")
    page.click("button:text-is('Booked')")
    page.wait_for_selector("#draft-status:has-text('Draft saved')")
    axe.check("escalation, preset chosen, draft saved")
    page.fill("textarea[name=outcome]", "")
    page.click(f"button:text-is('Resolve #{crisis}')")
    page.wait_for_selector(".alert.error")
    axe.check("escalation, outcome missing")
    axe.visit(f"{base}/staff/e/{theirs}", "escalation, claimed by someone else")
    axe.visit(f"{base}/staff/e/{done}", "escalation, resolved")
    axe.visit(f"{base}/staff/e/{unverified}", "escalation, unverified caller")
    page.click("button:has-text('Show the number to call back')")
    page.wait_for_selector("a[href^='tel:']")
    axe.check("escalation, number shown")
    axe.visit(f"{base}/staff/changes", "changes")
    page.click(f"#change-{change_id} button:text-is('Open')")
    page.wait_for_url(f"{base}/staff/changes/{change_id}")
    axe.check("one change, details shown")
    axe.visit(f"{base}/staff/changes?view=entered", "changes, entered")
    axe.visit(f"{base}/staff/account", "account and settings")
    axe.visit(f"{base}/staff/no-such-page", "not found", status=404)
    axe.visit(f"{base}/staff/e/999999", "no such escalation", status=404)
    axe.visit(f"{base}/staff/audit", "not for a staff member", status=403)

    # The owner's pages.
    page.click("button:text-is('Sign out')")
    page.wait_for_url(f"{base}/staff/login**")
    axe.check("signed out")
    sign_in(page, base, olive.email, OWNER_PASSWORD)
    for path, state in (("users", "staff accounts"), (f"users/{sam.id}", "one staff account"),
                        ("roster", "roster"), ("clinicians", "clinicians"), ("imports", "imports"),
                        ("audit", "audit log")):
        axe.visit(f"{base}/staff/{path}", state)

    # The database fails under a page: the 500 page, inside the layout.
    with database.engine.begin() as conn:
        conn.execute(text("ALTER TABLE escalations RENAME TO escalations_away"))
    axe.visit(f"{base}/staff/", "server error", status=500)
    assert "Something went wrong" in page.inner_text("main") and "escalations" not in page.content()

    assert len(axe.checked) >= 34, axe.checked
    assert axe.violations == [], "\n".join(axe.violations)
    print(f"axe-core: no violations in {len(axe.checked)} states")


def test_the_axe_bundle_is_the_pinned_one():
    """What `npm ci` installed is the version package-lock.json pins (no other copy, nothing from a CDN)."""
    import json

    lock = json.loads((AXE.parents[2] / "package-lock.json").read_text(encoding="utf-8"))
    installed = json.loads((AXE.parent / "package.json").read_text(encoding="utf-8"))
    assert installed["version"] == lock["packages"]["node_modules/axe-core"]["version"]
    assert os.path.getsize(AXE) > 100_000
