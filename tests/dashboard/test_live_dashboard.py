"""Issue 16 in a real headless Chromium: the queue stays live, idle sign-out warns and loses no draft,
a keyboard-only walk lands focus where it should, and the focus ring and field borders are 3:1.

The app is served by a real HTTP server; calls are placed by the simulator exactly as Twilio would and
their jobs run on a real RQ worker.  Time moves only on the app's injected clock: the page learns how long
until the idle sign-out from the server (it keeps no timer for it), so these tests advance ``clock`` and
wait for the page's next poll.  Nothing here asserts how long anything took (bench/live_queue.py measures).
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ivr.escalations import worklist
from ivr.escalations.models import Escalation, OutcomeDraft
from tests.helpers.browser import sign_in
from tests.helpers.dashboard import STAFF_PASSWORD, add_escalation, add_user, audit_rows

pytestmark = pytest.mark.wallclock

ALEX = "+15551230001"
WAIT = 15_000  # ms: how long to wait for something the page does by itself (a generous bound, not a figure)

# The name of what has focus: its accessible label, else its text (a button's includes its hidden words).
FOCUSED = """() => { const el = document.activeElement;
    if (!el || el === document.body) return 'body';
    if (el.labels && el.labels.length) return 'field: ' + el.labels[0].textContent.trim();
    return (el.getAttribute('aria-label') || el.textContent || el.getAttribute('name') || el.tagName)
        .replace(/\\s+/g, ' ').trim(); }"""


def polls(page) -> int:
    return int(page.evaluate("document.body.dataset.polls || '0'"))


def wait_polls(page, more: int = 2) -> None:
    """Wait until the page has polled ``more`` times again (so it has seen what the server says now)."""
    target = polls(page) + more
    page.wait_for_function("(n) => parseInt(document.body.dataset.polls || '0', 10) >= n", arg=target, timeout=WAIT)


def focused(page) -> str:
    return page.evaluate(FOCUSED)


# --------------------------------------------------------------------------- the live queue

def test_a_crisis_call_appears_on_an_open_queue_page_without_a_reload(live_server, browser_page, database, clock,
                                                                      sim, run_jobs):
    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    robin = add_user(database, "robin.staff@quietline.test", "Robin", "staff", STAFF_PASSWORD)
    normal = add_escalation(database, clock.now, priority=2, due_in=dt.timedelta(hours=3))
    page.goto(f"{base}/staff/")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    # Sound for urgent escalations: off until Sam turns it on (remembered for Sam, in the database).
    page.goto(f"{base}/staff/account")
    assert not page.is_checked("#pref-sound") and page.is_checked("#pref-shortcuts")
    page.check("#pref-sound")
    page.click("button:text-is('Save settings')")
    page.wait_for_selector("text=sound for new urgent escalations on")
    page.goto(f"{base}/staff/")
    assert page.title() == "Queue · Quietline staff"
    wait_polls(page, 1)
    page.evaluate("window.stillTheSamePage = true")

    result = sim.call(from_=ALEX, script="9;noanswer;record:5")
    assert ("dial-status", "no-answer") in result.transcript
    run_jobs()
    with database.sessions() as s:
        crisis = s.scalars(select(Escalation).where(Escalation.call_sid == result.call_sid)).one()
    assert crisis.priority == 0 and crisis.category == "crisis"

    page.wait_for_selector(f"#e-{crisis.id}", timeout=WAIT)
    assert page.evaluate("window.stillTheSamePage") is True  # no reload
    ids = [int(t.lstrip("#")) for t in page.locator(".queue .item .id").all_inner_texts()]
    assert ids == [crisis.id, normal]
    due = worklist.time_left(crisis.deadline_at, clock.now)
    assert page.locator("#announcer").inner_text() == f"New urgent: crisis (pressed the crisis key) #{crisis.id}, {due}"
    assert page.title() == "(1) Queue · Quietline staff"
    assert page.locator("#count-active").inner_text() == "2"
    claim = page.locator(f"#e-{crisis.id} button").text_content()
    assert claim == f"Claim #{crisis.id}, crisis: pressed the crisis key"
    assert page.evaluate("document.body.dataset.chimes") == "1"  # the sound Sam turned on

    # Robin claims it elsewhere: it shows, and is said, as it happens.
    worklist.claim(database, crisis.id, robin.id, clock.now)
    page.wait_for_selector(f"#e-{crisis.id} .who:text-is('claimed by Robin just now')", timeout=WAIT)
    assert page.locator("#announcer p").last.inner_text() == f"#{crisis.id} claimed by Robin just now"
    assert page.title() == "Queue · Quietline staff"  # no unclaimed urgent or high one left
    assert page.locator(f"#e-{crisis.id} button").count() == 0
    # ... and the detail page of the other one follows it too.
    page.goto(f"{base}/staff/e/{normal}")
    wait_polls(page, 1)
    worklist.claim(database, normal, robin.id, clock.now)
    page.wait_for_selector("#status-text:has-text('Claimed by Robin just now')", timeout=WAIT)
    assert page.locator("#claim-button").count() == 0
    assert page.locator("#announcer p").last.inner_text() == f"#{normal} claimed by Robin just now"
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


# --------------------------------------------------------------------------- idle sign-out that warns

def test_the_idle_warning_comes_two_minutes_before_and_stay_signed_in_keeps_the_session(
        live_server, browser_page, database, clock):
    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    add_escalation(database, clock.now)
    page.goto(f"{base}/staff/")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    page.keyboard.press("Tab")  # focus on the skip link, to see it come back after the dialog
    wait_polls(page)
    assert not page.is_visible("#idle-dialog")
    # The polls themselves are not activity: 12 minutes on, still no warning; 13 min 1 s on, the warning.
    clock.advance(minutes=12)
    wait_polls(page)
    assert not page.is_visible("#idle-dialog")
    clock.advance(minutes=1, seconds=1)
    page.wait_for_selector("#idle-dialog[open]", timeout=WAIT)
    assert page.locator("#idle-text").inner_text().startswith("You will be signed out in 2 minutes")
    assert focused(page) == "Stay signed in"
    page.keyboard.press("Enter")
    page.wait_for_selector("#idle-dialog", state="hidden", timeout=WAIT)
    assert focused(page) == "Skip to the queue"  # back where it was
    # The session was kept: 14 more minutes (15 since Stay signed in would have been too many before).
    clock.advance(minutes=14)
    page.reload()
    assert page.url == f"{base}/staff/"
    # Unwarned no more: 15 min 1 s without activity ends it, and the open page goes to the sign-in page.
    clock.advance(minutes=15, seconds=1)
    page.wait_for_url(f"{base}/staff/login**", timeout=WAIT)
    assert "signed out after 15 minutes without activity" in page.inner_text("main")
    assert [e.detail for e in audit_rows(database, "logout")] == ["idle"]


def test_typing_counts_and_an_unsent_draft_outcome_survives_signing_out(live_server, browser_page, database,
                                                                        clock):
    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    eid = add_escalation(database, clock.now, status="claimed", claimed_by=sam.id, claimed_at=clock.now,
                         client_id="C-1001")
    other = add_escalation(database, clock.now, status="claimed", claimed_by=sam.id, claimed_at=clock.now)
    page.goto(f"{base}/staff/e/{eid}")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    assert page.url == f"{base}/staff/e/{eid}"
    draft = "Spoke to Alex Rivera; call again Thursday"
    clock.advance(minutes=12)
    # Wait for the save of the whole text (saves while typing may come first).
    with page.expect_response(lambda r: r.url.endswith(f"/staff/e/{eid}/draft")
                              and draft in (r.request.post_data or ""), timeout=WAIT) as saved:
        page.type("textarea[name=outcome]", draft)
    assert saved.value.status == 200
    assert page.input_value("textarea[name=outcome]") == draft, page.evaluate("document.body.dataset.polls")
    page.wait_for_selector("#draft-status:has-text('Draft saved today 10:12')", timeout=WAIT)
    # Typing counted as activity: 14 minutes after it there is a warning, not a sign-out.
    clock.advance(minutes=14)
    page.wait_for_selector("#idle-dialog[open]", timeout=WAIT)
    assert page.url == f"{base}/staff/e/{eid}"
    # Nobody answers the warning: signed out, and the draft waits in the database (never in the browser).
    clock.advance(minutes=1, seconds=1)
    page.wait_for_url(f"{base}/staff/login?ended=idle&next=%2Fstaff%2Fe%2F{eid}", timeout=WAIT)
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert all(draft not in c["value"] for c in page.context.cookies())
    with database.sessions() as s:
        row = s.get(OutcomeDraft, (sam.id, eid))
        assert (row.text, row.preset) == (draft, None)
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    assert page.url == f"{base}/staff/e/{eid}"
    assert page.input_value("textarea[name=outcome]") == draft
    assert page.locator("#draft-status").inner_text() == "Restored your unsent draft (saved today 10:12)."

    # Signing out straight after typing (before the draft's own save): it is kept first.
    page.goto(f"{base}/staff/e/{other}")
    page.click("button:text-is('Could not reach')")
    assert page.input_value("textarea[name=outcome]") == worklist.OUTCOME_PRESETS["no_reach"]
    page.type("textarea[name=outcome]", " Twice.")
    page.click("button:text-is('Sign out')")
    page.wait_for_url(f"{base}/staff/login**")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    page.goto(f"{base}/staff/e/{other}")
    assert page.input_value("textarea[name=outcome]") == worklist.OUTCOME_PRESETS["no_reach"] + " Twice."
    assert page.get_attribute("button:text-is('Could not reach')", "aria-pressed") == "true"
    # Resolving sends it: the preset is in the audit log (edited), and no draft is left behind.
    page.click(f"button:text-is('Resolve #{other}')")
    page.wait_for_url(f"{base}/staff/")
    assert [e.detail for e in audit_rows(database, "resolve")] == ["outcome: could not reach (edited)"]
    with database.sessions() as s:
        assert s.get(OutcomeDraft, (sam.id, other)) is None and s.get(OutcomeDraft, (sam.id, eid)) is not None


# --------------------------------------------------------------------------- by keyboard only

def test_a_keyboard_only_walk_lands_focus_where_the_next_step_is(live_server, browser_page, database, clock,
                                                                 settings_overrides):
    import io
    import wave
    from pathlib import Path

    from ivr.encryption import FileCipher
    from ivr.escalations.recording_files import RecordingFiles, StoredTranscript
    from tests.helpers.service import RECORDINGS_KEY

    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    later = add_escalation(database, clock.now, priority=2, due_in=dt.timedelta(hours=5))
    urgent = add_escalation(database, clock.now, priority=0, due_in=dt.timedelta(minutes=13), reason="crisis",
                            category="crisis", client_id="C-1001")
    recording_sid = "RE" + "6" * 32
    with database.sessions() as s, s.begin():
        row = s.get(Escalation, urgent)
        row.recording_sid = recording_sid
        call_sid = row.call_sid
    # 5 s of telephone-rate silence, sealed as the worker stores it; no `recordings` row, as for a message
    # copied before its length was recorded: the player's name reads the length from the WAV itself.
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 40000)
    files = RecordingFiles(Path(settings_overrides["recordings_dir"]), FileCipher.from_setting(RECORDINGS_KEY))
    files.write_audio(call_sid, recording_sid, buffer.getvalue())
    files.write_transcript(call_sid, recording_sid, StoredTranscript("please call me back", 0.9, ()))

    page.goto(f"{base}/staff/")
    assert focused(page) == "field: Email"  # the sign-in page starts in the email field
    page.keyboard.type(sam.email)
    page.keyboard.press("Tab")
    page.keyboard.type(STAFF_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{base}/staff/"
    page.keyboard.press("Tab")
    assert focused(page) == "Skip to the queue"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('li').id") == f"e-{urgent}"  # the most urgent first
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{base}/staff/e/{urgent}"

    # Claim: focus on the confirmation, and the title says it.
    page.keyboard.press("Tab")
    assert focused(page) == "Skip to the main content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page) == "← Queue"
    page.keyboard.press("Tab")
    assert focused(page) == f"Claim #{urgent}, crisis"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert focused(page) == f"Claimed #{urgent}: it is yours now."
    assert page.title() == f"Claimed #{urgent}: it is yours now. · #{urgent} Crisis · Quietline staff"

    # Voicemail and Client come before the Outcome; play the voicemail: focus on the named player.
    stops = tab_stops(page, until=f"Play voicemail for #{urgent}")
    assert stops == ["← Queue", f"Play voicemail for #{urgent}"]
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert focused(page) == f"Voicemail for #{urgent}, 0:05"
    assert page.title() == f"Voicemail opened · #{urgent} Crisis · Quietline staff"
    page.keyboard.press("Space")
    page.wait_for_function("() => !document.querySelector('audio').paused || document.querySelector('audio').ended",
                           timeout=WAIT)

    # On to the outcome: the client's details first, then the one-tap outcomes, then the box.
    stops = tab_stops(page, until="field: Outcome", skip="Voicemail for")
    assert stops == [f"Show client details for #{urgent}", "Called back, resolved", "Left a voicemail", "Booked",
                     "Referred to crisis line", "Could not reach", "field: Outcome"]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused(page) == "Called back, resolved"
    page.keyboard.press("Enter")  # fills the box, and focus goes there to edit it
    assert focused(page) == "field: Outcome"
    page.keyboard.type(" Safe, follow-up booked.")
    page.keyboard.press("Tab")
    assert focused(page) == f"Resolve #{urgent}"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{base}/staff/"
    assert focused(page) == f"Resolved #{urgent}."
    assert page.title() == f"Resolved #{urgent}. · Queue · Quietline staff"
    assert [e.detail for e in audit_rows(database, "resolve")] == ["outcome: called back, resolved (edited)"]
    with database.sessions() as s:
        assert s.get(Escalation, urgent).outcome == "Called back and resolved. Safe, follow-up booked."

    # Shortcuts: j/k move through the queue, c claims the one in focus ...
    second = add_escalation(database, clock.now, priority=1, due_in=dt.timedelta(hours=1))
    page.goto(f"{base}/staff/")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.closest('li').id") == f"e-{second}"
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.closest('li').id") == f"e-{later}"
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.closest('li').id") == f"e-{second}"
    with page.expect_navigation():
        page.keyboard.press("c")
    assert focused(page) == f"Claimed #{second}: it is yours now."
    # ... on an escalation's page j/k go to the next/previous one in the queue, r to the outcome ...
    with page.expect_navigation():
        page.keyboard.press("j")
    assert page.url == f"{base}/staff/e/{later}"
    with page.expect_navigation():
        page.keyboard.press("k")
    assert page.url == f"{base}/staff/e/{second}"
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.name") == "outcome"
    # ... and can be turned off (WCAG 2.1.4): then a j is just a j.
    page.goto(f"{base}/staff/account")
    page.uncheck("#pref-shortcuts")
    page.click("button:text-is('Save settings')")
    page.wait_for_selector("text=keyboard shortcuts off")
    page.goto(f"{base}/staff/")
    page.keyboard.press("j")
    assert focused(page) == "body"


def tab_stops(page, *, until: str, skip: str | None = None, limit: int = 30) -> list[str]:
    """Press Tab until focus is on ``until``; the names of the stops on the way (a player's own buttons,
    named ``skip…``, count once)."""
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = focused(page)
        if skip and name.startswith(skip):
            continue
        stops.append(name)
        if name == until:
            return stops
    raise AssertionError(f"never reached {until!r}: {stops}")


# --------------------------------------------------------------------------- contrast

CONTRAST_JS = """() => {
  const rgba = (s) => { const m = s.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : [...m, 1]; };
  const backdrop = (el) => {  // the colour behind el: the first opaque background up its ancestors
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor); if (c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  };
  const behind = (el, x, y) => {  // what is painted under the point (x, y), outside el
    const under = document.elementsFromPoint(x, y).find((n) => n !== el && !el.contains(n));
    return under ? backdrop(under) : [255, 255, 255, 1];
  };
  const el = document.activeElement;
  if (!el || el === document.body) return {name: 'BODY'};
  const cs = getComputedStyle(el); const r = el.getBoundingClientRect();
  const reach = parseFloat(cs.outlineOffset) + parseFloat(cs.outlineWidth) / 2;
  const midX = r.left + r.width / 2, midY = r.top + r.height / 2;
  const clampX = (x) => Math.max(0, Math.min(innerWidth - 1, x));
  const clampY = (y) => Math.max(0, Math.min(innerHeight - 1, y));
  return {name: (el.getAttribute('aria-label') || el.textContent || el.name || el.tagName).trim().slice(0, 40),
          style: cs.outlineStyle, width: parseFloat(cs.outlineWidth), ring: rgba(cs.outlineColor),
          around: [behind(el, clampX(midX), clampY(r.top - reach)),
                   behind(el, clampX(midX), clampY(r.bottom + reach)),
                   behind(el, clampX(r.left - reach), clampY(midY)),
                   behind(el, clampX(r.right + reach), clampY(midY))]};
}"""

BORDERS_JS = """() => [...document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]), select, textarea')]
  .filter((el) => el.offsetParent !== null).map((el) => {
    const rgba = (s) => { const m = s.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : [...m, 1]; };
    let bg = [255, 255, 255, 1];
    for (let n = el.parentElement; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor); if (c[3] > 0.5) { bg = c; break; }
    }
    const cs = getComputedStyle(el);
    return {name: el.name, width: parseFloat(cs.borderTopWidth), border: rgba(cs.borderTopColor), around: bg};
  })"""


def luminance(rgb) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb[:3]
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a, b) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_focus_ring_and_field_borders_are_3_to_1_against_what_is_around_them(live_server, browser_page,
                                                                                  database, clock):
    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    add_escalation(database, clock.now, priority=0, reason="crisis", category="crisis")
    mine = add_escalation(database, clock.now, status="claimed", claimed_by=sam.id, claimed_at=clock.now)
    page.goto(f"{base}/staff/login")
    low: list[tuple[str, str, float]] = []
    checked = 0

    def walk(where: str) -> None:
        nonlocal checked
        page.evaluate("document.activeElement && document.activeElement.blur && document.activeElement.blur()")
        page.evaluate("window.scrollTo(0, 0)")
        seen = set()
        for _ in range(60):
            page.keyboard.press("Tab")
            ring = page.evaluate(CONTRAST_JS)
            if ring["name"] in seen and ring["name"] != "BODY":
                break
            seen.add(ring["name"])
            if ring["name"] == "BODY":
                continue
            checked += 1
            if ring["style"] == "none" or ring["width"] < 2:
                low.append((where, ring["name"], 0.0))
                continue
            worst = min(contrast(ring["ring"], around) for around in ring["around"])
            if worst < 3:
                low.append((where, ring["name"], round(worst, 2)))
        for field in page.evaluate(BORDERS_JS):
            ratio = contrast(field["border"], field["around"])
            if field["width"] < 1 or ratio < 3:
                low.append((where, f"border of {field['name']}", round(ratio, 2)))

    walk("sign-in")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    walk("queue")
    page.goto(f"{base}/staff/e/{mine}")
    walk("escalation with the outcome")
    page.goto(f"{base}/staff/account")
    walk("account")
    assert checked > 30
    assert low == [], "\n".join(map(str, low))


def test_a_queue_whose_polls_fail_says_so_and_the_notice_goes_when_the_server_answers(live_server, browser_page,
                                                                                      database, clock):
    """Review 16 finding 3: polls answered 503 (or not at all) left a stale queue with no sign."""
    base, page = live_server, browser_page
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    page.goto(f"{base}/staff/")
    sign_in(page, base, sam.email, STAFF_PASSWORD)
    wait_polls(page, 1)
    assert page.locator("#live-paused").count() == 0
    page.route("**/staff/live*", lambda route: route.fulfill(status=503, body="Service Unavailable"))
    assert polls(page) >= 1
    notice = page.wait_for_selector("#live-paused", timeout=WAIT)
    assert notice.get_attribute("role") == "alert"
    assert notice.inner_text().startswith("Live updates have stopped: the server is not answering.")
    page.unroute("**/staff/live*")
    page.wait_for_selector("#live-paused", state="detached", timeout=WAIT)
