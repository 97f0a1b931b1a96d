"""The outbound pages in a real headless Chromium on a phone-sized screen: from the follow-ups list to a client's
page, a reply's words opened deliberately, an undeliverable flag lifted (after the confirm prompt), and axe finds
no accessibility violation on either page."""
from __future__ import annotations

import datetime as dt

import pytest

from ivr.contact.models import OutboundReply, OutboundTouch, UndeliverableNumber
from ivr.contact.undeliverable import NumberHasher
from ivr.encryption import RecordCipher
from tests.helpers import browser
from tests.helpers.browser import Axe
from tests.helpers.contact import add_appointment, add_client
from tests.helpers.dashboard import STAFF_PASSWORD, add_user
from tests.helpers.service import DATA_KEY

pytestmark = pytest.mark.wallclock

PHONE = "+15551239050"
WORDS = "Could we move it to the afternoon?"


def seed(database, now: dt.datetime) -> None:
    """A client with a delivered reminder, a call a machine answered, a free-text reply and a flagged number."""
    add_client(database, "C-9050", "Robin", (PHONE,))
    add_appointment(database, "A-9050", "C-9050", now + dt.timedelta(days=2))
    sid = "SM" + "5" * 32
    with database.sessions() as db, db.begin():
        db.add(OutboundTouch(touch_id="C-9050/reminders.two_days_before/A-9050/v1/1/text", job_id="touch-" + "1" * 32,
                             client_id="C-9050", appointment_id="A-9050", appointment_version=1, kind="reminder",
                             rule="two_days_before", attempt=1, channel="text", status="delivered", due=now,
                             to_e164=PHONE, words_version="7139b8369b5e9005", attempted_at=now, created_at=now))
        db.add(OutboundTouch(touch_id="C-9050/follow_ups.correction/c:1/v-/1/call", job_id="touch-" + "2" * 32,
                             client_id="C-9050", kind="follow_up", rule="correction", attempt=1, channel="call",
                             status="machine", due=now, to_e164=PHONE, answered_by="machine_end_beep",
                             duration_seconds=21, attempted_at=now, created_at=now))
        db.add(OutboundReply(message_sid=sid, from_e164=PHONE, client_id="C-9050", meaning="other", received_at=now,
                             body_sealed=RecordCipher.from_setting(DATA_KEY).seal(
                                 WORDS.encode(), f"outbound_replies:{sid}".encode())))
        db.add(UndeliverableNumber(number_hash=NumberHasher.from_setting(DATA_KEY).digest(PHONE), channel="text",
                                   error_code="30006", client_id="C-9050", flagged_at=now))


def test_staff_open_a_clients_follow_ups_read_a_reply_and_lift_a_flag(live_server, axe_page, database,  # noqa: F811
                                                                       clock):
    base, page = live_server, axe_page
    seed(database, clock.now)
    sam = add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD)
    axe = Axe(page)
    page.goto(f"{base}/staff/outbound")
    browser.sign_in(page, base, sam.email, STAFF_PASSWORD)
    axe.visit(f"{base}/staff/outbound", "outbound list")
    assert page.locator("#weekly-figures tbody tr").count() == 4
    axe.check("outbound list")
    page.click("a:text-is('Client C-9050')")
    page.wait_for_url(f"{base}/staff/outbound/clients/C-9050")
    # Usable on a phone: nothing is wider than the screen (each table row reads as a short paragraph).
    assert page.evaluate("document.documentElement.scrollWidth") <= browser.PHONE["width"]
    assert WORDS not in page.content() and PHONE not in page.content()
    flag = page.locator("tr.flag-active").inner_text()
    assert "number 1 (primary)" in flag and "30006 landline or unreachable carrier" in flag
    axe.check("client page")

    page.click("button:has-text('Read the words')")
    page.wait_for_selector("blockquote.reply-words")
    assert page.locator("blockquote.reply-words").inner_text() == WORDS
    axe.check("client page, a reply opened")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("tr.flag-active button:has-text('Lift')")
    page.wait_for_selector("tr.flag-lifted")
    assert "The flag is lifted" in page.inner_text("main")
    assert WORDS not in page.content()  # the words shut again
    axe.check("client page, the flag lifted")
    assert axe.violations == [], "\n".join(axe.violations)
