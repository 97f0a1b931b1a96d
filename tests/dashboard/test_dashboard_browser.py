"""The staff dashboard in a real headless Chromium, against the app served by a real HTTP server.

Signs in on a phone-sized screen, works an escalation (claim, open client details,
resolve), checks the owner sees it in the audit log, and is signed out when idle.
Chromium comes from the system (Debian's ``chromium`` package; ``make test``
installs it); Playwright drives it, with no browser download of its own.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.helpers.browser import PHONE, screenshot_dir, sign_in
from tests.helpers.dashboard import OWNER_PASSWORD, STAFF_PASSWORD, add_escalation, add_user

# Chromium keeps the real clock (cookies, timers): .ci/run runs these again at a fixed wall-clock instant.
pytestmark = pytest.mark.wallclock

def test_staff_work_the_queue_in_a_real_browser(live_server, browser_page, database, clock, tmp_path):
    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    add_user(database, "olive.owner@quietline.test", "Olive Owner", "owner", OWNER_PASSWORD)
    now = clock.now
    normal = add_escalation(database, now, priority=2, due_in=dt.timedelta(hours=20))
    urgent = add_escalation(database, now, priority=0, due_in=dt.timedelta(minutes=25), reason="crisis",
                            category="crisis", client_id="C-1001")
    overdue = add_escalation(database, now, priority=1, due_in=-dt.timedelta(minutes=5), reason="billing_question",
                             category="billing")
    add_escalation(database, now, priority=2, due_in=dt.timedelta(hours=1, minutes=20), status="claimed",
                   claimed_by=sam.id, claimed_at=now, reason="portal_help", category="portal_tech")

    # Every page needs a sign-in: the queue sends us to the login page first.
    page.goto(f"{base}/staff/")
    assert page.url.startswith(f"{base}/staff/login")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    ids = [int(t.lstrip("#")) for t in page.locator(".queue .item .id").all_inner_texts()]
    assert ids[:3] == [urgent, overdue, ids[2]] and ids[-1] == normal
    assert page.locator(f".item:has(.id:text-is('#{overdue}')) .due").inner_text() == "overdue 5 min"
    assert page.locator(".item .due").nth(2).inner_text() == "due in 1 h 20 min"
    # Usable on a phone: nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("(() => { const t = document.querySelector('.tabs'); "
                         "return t.scrollWidth <= t.clientWidth; })()"), "the queue's tabs do not fit a phone"
    shots = screenshot_dir(tmp_path)
    page.screenshot(path=str(shots / "queue-phone.png"), full_page=True)

    # Claim from the queue, open the client's details deliberately, resolve.
    page.locator(f".item:has(.id:text-is('#{urgent}')) button:has-text('Claim')").click()
    page.wait_for_url(f"{base}/staff/e/{urgent}")
    assert f"Claimed #{urgent}: it is yours now." in page.inner_text("main")
    assert "Alex Rivera" not in page.content()
    page.click("button:has-text('Show client details')")
    page.wait_for_selector("text=Alex Rivera")
    assert page.url == f"{base}/staff/e/{urgent}/client"  # the details are a POST's answer: no id or name in it
    page.screenshot(path=str(shots / "detail-phone.png"), full_page=True)
    page.fill("textarea[name=outcome]", "Called back within minutes; safe, follow-up booked.")
    page.click(f"button:text-is('Resolve #{urgent}')")
    page.wait_for_url(f"{base}/staff/")
    assert f"Resolved #{urgent}." in page.inner_text("main")
    assert f"#{urgent}" not in page.locator(".queue").inner_text()

    # The owner sees it in the audit log.
    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{base}/staff/login**")
    sign_in(page, base, "olive.owner@quietline.test", OWNER_PASSWORD)
    page.click("nav.nav a:has-text('Audit log')")
    page.wait_for_url(f"{base}/staff/audit")
    row = page.locator("table.log tr.action-resolve")
    assert row.count() == 1
    assert "Sam Staff" in row.inner_text() and f"escalation:{urgent}" in row.inner_text()
    assert page.locator("table.log tr.action-view_client").count() == 1

    # Fifteen idle minutes later (the app's clock), the next load lands on the sign-in page.
    clock.advance(minutes=15, seconds=1)
    page.reload()
    page.wait_for_url(f"{base}/staff/login**")
    assert "signed out after 15 minutes without activity" in page.inner_text("main")


def test_a_voicemail_plays_in_a_real_browser(live_server, browser_page, database, clock, settings_overrides,
                                             tmp_path):
    """The player loads the audio through the session's grant, decrypted on the fly from the sealed file; before
    "Play voicemail" there is nothing to load. Words the recogniser was unsure of are marked."""
    import io
    import wave

    from ivr.encryption import FileCipher
    from ivr.escalations.models import Escalation, Recording
    from ivr.escalations.recording_files import RecordingFiles, StoredTranscript, recording_path
    from tests.helpers.service import RECORDINGS_KEY

    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    eid = add_escalation(database, clock.now, reason="voicemail", category="voicemail")
    recording_sid = "RE" + "5" * 32
    with database.sessions() as s, s.begin():
        row = s.get(Escalation, eid)
        row.recording_sid = recording_sid
        call_sid = row.call_sid
        s.add(Recording(sid=recording_sid, call_sid=call_sid, status="fetched", attempts=1, created_at=clock.now,
                        fetched_at=clock.now, verified_at=clock.now, twilio_deleted_at=clock.now,
                        triage_category="callback", crisis="none", transcript_status="done"))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:  # 1.5 s of telephone-rate silence
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 12000)
    files = RecordingFiles(Path(settings_overrides["recordings_dir"]), FileCipher.from_setting(RECORDINGS_KEY))
    files.write_audio(call_sid, recording_sid, buffer.getvalue())
    words = "please call me back about friday".split()
    files.write_transcript(call_sid, recording_sid, StoredTranscript(
        " ".join(words), 0.85, tuple((w, 0.35 if w == "friday" else 0.95) for w in words)))
    sealed = recording_path(settings_overrides["recordings_dir"], call_sid, recording_sid)
    assert not sealed.read_bytes().startswith(b"RIFF")  # what the browser plays is decrypted by the server

    page.goto(f"{base}/staff/e/{eid}")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    page.goto(f"{base}/staff/e/{eid}")
    assert page.locator("audio").count() == 0 and "about friday" not in page.content()
    page.click("button:has-text('Play voicemail')")
    page.wait_for_selector("audio")
    duration = page.evaluate("""() => new Promise((resolve) => {
        const a = document.querySelector('audio');
        if (a.readyState >= 1) { resolve(a.duration); return; }
        a.addEventListener('loadedmetadata', () => resolve(a.duration));
        a.addEventListener('error', () => resolve(-1));
    })""")
    assert abs(duration - 1.5) < 0.01, duration
    assert page.locator("blockquote.transcript").inner_text() == "please call me back about friday"
    assert page.locator("blockquote.transcript mark.unsure").all_inner_texts() == ["friday"]
    assert page.locator("p.triage").inner_text() == "About: Callback (from the transcript)"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshot_dir(tmp_path) / "voicemail-phone.png"), full_page=True)


def _silence(seconds: float) -> bytes:
    """``seconds`` of telephone-rate silence as a WAV."""
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * int(8000 * seconds))
    return buffer.getvalue()


def _player_seconds(page) -> float:
    return page.evaluate("""() => new Promise((resolve) => {
        const a = document.querySelector('audio');
        if (a.readyState >= 1) { resolve(a.duration); return; }
        a.addEventListener('loadedmetadata', () => resolve(a.duration));
        a.addEventListener('error', () => resolve(-1));
    })""")


def test_every_message_of_a_call_plays_in_a_real_browser(live_server, browser_page, database, clock,
                                                         settings_overrides, tmp_path):
    """bt14-s27 SHOULD-FIX 2: a call with two messages (the second a crisis) lists both on its page, the crisis
    one marked, and each plays its own audio (1.5 s and 2.5 s) through its own grant."""
    from ivr.encryption import FileCipher
    from ivr.escalations.models import Escalation, Recording
    from ivr.escalations.recording_files import RecordingFiles
    from tests.helpers.service import RECORDINGS_KEY

    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    eid = add_escalation(database, clock.now, priority=0, reason="crisis", category="crisis")
    first, second = "RE" + "1" * 32, "RE" + "2" * 32
    files = RecordingFiles(Path(settings_overrides["recordings_dir"]), FileCipher.from_setting(RECORDINGS_KEY))
    with database.sessions() as s, s.begin():
        row = s.get(Escalation, eid)
        row.recording_sid = first
        call_sid = row.call_sid
        for n, (sid, crisis) in enumerate(((first, "none"), (second, "crisis"))):
            s.add(Recording(sid=sid, call_sid=call_sid, status="fetched", attempts=1,
                            created_at=clock.now + dt.timedelta(seconds=n), fetched_at=clock.now,
                            verified_at=clock.now, twilio_deleted_at=clock.now, triage_category="callback",
                            crisis=crisis, transcript_status="done"))
    files.write_audio(call_sid, first, _silence(1.5))
    files.write_audio(call_sid, second, _silence(2.5))

    page.goto(f"{base}/staff/e/{eid}")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    page.goto(f"{base}/staff/e/{eid}")
    cards = page.locator("section.voicemail")
    assert cards.locator("h2").all_inner_texts() == ["Voicemail 1 of 2", "Voicemail 2 of 2"]
    assert cards.nth(0).locator(".voicemail-crisis").count() == 0
    assert cards.nth(1).locator(".voicemail-crisis").count() == 1
    assert page.locator("audio").count() == 0
    for n, seconds in ((1, 2.5), (0, 1.5)):
        page.locator("section.voicemail").nth(n).locator("button:has-text('Play voicemail')").click()
        page.wait_for_selector("audio")
        assert page.locator("audio").count() == 1
        assert page.locator("section.voicemail").nth(n).locator("audio").count() == 1
        assert abs(_player_seconds(page) - seconds) < 0.01
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshot_dir(tmp_path) / "two-voicemails-phone.png"), full_page=True)


def test_changes_to_enter_in_a_real_browser(live_server, browser_page, database, clock, tmp_path):
    """The journal page: download the CSV, tick the changes entered in the EHR, mark them in bulk."""
    from ivr.practice import journal
    from ivr.practice.models import ChangeKind

    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    with database.sessions() as s, s.begin():
        before = {"start": "2026-11-24T15:00:00+00:00", "end": "2026-11-24T15:50:00+00:00", "status": "scheduled",
                  "clinician_id": "maya-chen"}
        first = journal.record(s, ChangeKind.APPOINTMENT_CANCELLED, source="call:CA" + "1" * 32, now=clock.now,
                               client_id="C-1001", appointment_id="A-2001", before=before,
                               after={**before, "status": "cancelled"})
        second = journal.record(s, ChangeKind.CARD_UPDATED, source="call:CA" + "2" * 32, now=clock.now,
                                client_id="C-1002", after={"brand": "visa", "last4": "4242", "expiry": "1228"})
        s.flush()
        ids = [first.id, second.id]
    page.goto(f"{base}/staff/changes")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    page.goto(f"{base}/staff/changes")
    assert page.locator(".changes .item .id").all_inner_texts() == [f"#{i}" for i in ids]
    assert "Alex" not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshot_dir(tmp_path) / "changes-phone.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#download-changes")
    download = info.value
    assert download.suggested_filename == "changes-to-enter-2026-11-23.csv"
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "change_id,made_at,change,client_id,client_name,appointment_id,before,after,source,state"
    assert lines[1].startswith(f"{ids[0]},2026-11-23 10:00,Appointment cancelled,C-1001,Alex Rivera,A-2001,")
    assert lines[2].startswith(f"{ids[1]},2026-11-23 10:00,Card updated,C-1002,")
    for change_id in ids:
        page.check(f"#change-{change_id} input[type=checkbox]")
    page.click("#mark-entered-button")
    page.wait_for_selector("text=Marked 2 changes entered.")
    assert page.locator(".changes .item").count() == 0
    page.click("nav.tabs a:has-text('Entered')")
    page.wait_for_url(f"{base}/staff/changes?view=entered")
    assert page.locator(".changes .item .id").all_inner_texts() == [f"#{i}" for i in ids]


def test_the_call_timeline_reads_as_words(live_server, browser_page, database, clock):
    """Issue 14: staff read steps by their labels (or their ids in words) and reasons by plain names."""
    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    timeline = ["main.greeting", "main.hours_check", "hours_check:open", "main.main_menu", "main_menu:no-match",
                "main_menu:0", "main.to_person", "operator.hours_check", "hours_check:open",
                "operator.ring_front_desk", "ring_front_desk:no-answer", "operator.nobody_free",
                "callback.record_message", "record_message:recorded", "callback.escalate_callback", "ended:completed"]
    callback = add_escalation(database, clock.now, timeline=timeline)
    intake = add_escalation(database, clock.now, reason="intake_request", category="intake_request",
                            timeline=["main.main_menu", "main_menu:new_client", "main.to_intake", "intake.ask_name",
                                      "ask_name:ok", "intake.request"],
                            details={"first_name": "Jane", "best_time": "weekday mornings"})
    page.goto(f"{base}/staff/")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    page.goto(f"{base}/staff/e/{callback}")
    assert page.locator("ol.timeline li").all_inner_texts() == [
        "Greeting", "Hours check", "Hours check: open", "Main menu", "Main menu: not understood",
        "Main menu: pressed 0", "To person", "Hours check", "Hours check: open", "Rang the front desk",
        "Rang the front desk: no answer", "Nobody free to answer", "Message for a callback",
        "Message for a callback: message recorded", "Handed to staff for a callback", "Call ended"]
    assert "operator.nobody_free" not in page.inner_text("main") and "callback_request" not in page.inner_text("main")
    assert "Callback request" in page.locator("dt:text-is('Reason') + dd").inner_text()
    page.goto(f"{base}/staff/e/{intake}")
    assert page.locator("ol.timeline li").all_inner_texts() == [
        "Main menu", "Main menu: new client", "New client", "New client's first name",
        "New client's first name: answered", "Intake request for staff"]
    assert page.locator("dt:text-is('Reason') + dd").inner_text().startswith("New client")
    # The first name and best time are opened on purpose (audited), not shown with the page (finding 19).
    assert "Jane" not in page.inner_text("main")
    page.click("button:has-text('Show what they left for the callback')")
    details = page.locator("#callback-details").inner_text()
    assert "Jane" in details and "weekday mornings" in details
    assert page.url == f"{base}/staff/e/{intake}/callback-details"


def test_staff_see_the_kind_of_crisis_on_the_card_the_page_and_the_timeline(live_server, browser_page, database,
                                                                            clock):
    """Issue 14: a crisis escalation says what kind of crisis was heard, in plain words, wherever staff read it;
    a crisis from before this release (no kind) and other escalations say none."""
    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    said = add_escalation(database, clock.now, priority=0, reason="crisis", category="crisis",
                          crisis_kind="harm_to_others", due_in=dt.timedelta(minutes=14),
                          timeline=["main.main_menu", "main_menu:crisis", "crisis_kind:harm_to_others+in_danger",
                                    "crisis.guidance", "crisis.alert_staff"])
    message = add_escalation(database, clock.now, priority=0, reason="callback_request", category="crisis",
                             crisis_kind="voicemail_medical_emergency", due_in=dt.timedelta(minutes=12))
    pressed = add_escalation(database, clock.now, priority=0, reason="crisis", category="crisis",
                             crisis_kind="pressed_key", due_in=dt.timedelta(minutes=13))
    older = add_escalation(database, clock.now, priority=0, reason="crisis", category="crisis",
                           due_in=dt.timedelta(minutes=11))
    callback = add_escalation(database, clock.now)
    page.goto(f"{base}/staff/")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    page.goto(f"{base}/staff/")
    card = {eid: page.locator(f"#e-{eid} .line1").inner_text() for eid in (said, message, pressed, older, callback)}
    assert "harm to others" in card[said] and "voicemail: medical emergency" in card[message]
    assert "pressed the crisis key" in card[pressed]
    assert page.locator(f"#e-{older} .crisis-kind").count() == page.locator(f"#e-{callback} .crisis-kind").count() == 0
    # What a screen reader says for the claim button (its hidden words), and the queue's own card.
    assert " ".join(page.locator(f"#e-{said} button").inner_text().split()) == f"Claim #{said}, crisis: harm to others"
    page.goto(f"{base}/staff/e/{said}")
    assert page.locator("h1").inner_text().endswith(f"Crisis: harm to others #{said}")
    assert page.locator("dt:text-is('Kind of crisis') + dd").inner_text() == "harm to others"
    assert page.locator("ol.timeline li").all_inner_texts() == [
        "Main menu", "Main menu: asked for urgent support", "Crisis heard: harm to others, in danger",
        "Guidance", "Alert staff"]
    assert "crisis_kind" not in page.inner_text("main")
    page.goto(f"{base}/staff/e/{message}")
    assert page.locator("dt:text-is('Kind of crisis') + dd").inner_text() == "voicemail: medical emergency"
    page.goto(f"{base}/staff/e/{older}")
    assert page.locator("dt:text-is('Kind of crisis')").count() == 0
