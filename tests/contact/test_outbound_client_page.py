"""The per-client outbound page (``/staff/outbound/clients/<id>``): status, touches per appointment with answered-by,
duration and words version, undeliverable flags (lifted by staff, audited), opt-outs, replies whose words open only
through a deliberate POST (audited ``read_reply``), the correction-call button; and four weeks of figures on the
outbound page.  Flask test client, signed Twilio callbacks, real RQ worker, both databases."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.contact.models import UndeliverableNumber
from tests.helpers.contact import add_appointment, add_client, deliver, text_in, touch_rows
from tests.helpers.dashboard import STAFF_PASSWORD, add_user, audit_rows, post, signed_in

NY = ZoneInfo("America/New_York")
PHONE = "+15551239040"
PAGE = "/staff/outbound/clients/C-9040"
WORDS = "Can my partner come along next time?"


def ny(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=NY).astimezone(dt.UTC)


def cells(html: str, row_class: str = "status-[a-z_]+") -> list[str]:
    return ["|".join(c.strip() for c in re.sub(r"<[^>]+>", "|", row).split("|") if c.strip())
            for row in re.findall(rf'<tr class="{row_class}">(.*?)</tr>', html, re.S)]


def section(html: str, start: str, end: str) -> str:
    part = html[html.index(start):]
    return part[:part.index(end)]


@pytest.fixture
def history(app, client, database, jobs, standin):
    """Robin: the 2-days-before reminder delivered and confirmed, a free-text reply, a correction call staff
    started that a machine answered, and a second one Twilio could not place (21214: the number is flagged)."""
    jobs.clock.now = ny(2, 14)
    add_client(database, "C-9040", "Robin", (PHONE,))
    add_appointment(database, "A-9040", "C-9040", ny(4, 15))
    jobs.at(ny(2, 15))
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    deliver(client, standin.finish_message(sms["sid"], "delivered"))
    text_in(client, PHONE, sms["from"], "1", "SM" + "1" * 32)
    text_in(client, PHONE, sms["from"], WORDS, "SM" + "2" * 32)
    jobs.clock.now = ny(2, 16)  # an hour after the replies, staff ask for a call
    person = add_user(database, "desk@example.org", "Front Desk", "staff", STAFF_PASSWORD)
    staff = signed_in(app, person)
    response = post(staff, "/staff/outbound/correction", {"client_id": "C-9040", "back": "client"}, token_from=PAGE)
    assert (response.status_code, response.headers["Location"]) == (303, PAGE)
    jobs.at(ny(3, 9))
    [call] = [c for c in standin.calls() if c["to"] == PHONE]
    deliver(client, standin.finish_call(call["sid"], "machine_end_beep", duration=21))
    staff = signed_in(app, person)  # a new day: the idle session ended
    post(staff, "/staff/outbound/correction", {"client_id": "C-9040", "appointment_id": "A-9040", "back": "client"},
         token_from=PAGE)
    jobs.at(ny(4, 9))
    [_, second] = [c for c in standin.calls() if c["to"] == PHONE]
    deliver(client, standin.finish_call(second["sid"], status="failed", error_code=21214))
    jobs.settle()
    return signed_in(app, person), person


def test_the_client_page_shows_status_touches_flags_opt_outs_and_replies(history, database):
    staff, _ = history
    page = staff.get(PAGE).get_data(as_text=True)
    words = {r.touch_id: r.words_version for r in touch_rows(database, "C-9040")}
    [reminder_words] = [v for k, v in words.items() if "two_days_before" in k]
    # Calls record their words' version too (the voicemail and what is said, before and after verification).
    today_call, yesterday_call = [v for k, v in words.items() if "correction" in k and k.endswith("/call")][::-1]
    assert today_call and yesterday_call
    # The late follow-up's text is what is still planned (the failed call flagged the number for calls).
    assert re.search(r'<p class="status" id="client-status">(.*?)</p>', page).group(1) == (
        "1 planned, 2 sent, 1 delivered or answered, 1 confirmed; next today 15:15.")
    assert cells(section(page, 'id="touches-C-9040-A-9040"', "</li>")) == [
        f"Reminder: two_days_before|1|text|Wed 2 Dec 15:00|delivered|{reminder_words}",
        f"Follow-up: correction|1|call|today 09:00|failed|0 s|{today_call}|21214",
        "Reminder: two_hours_before|1|text|today 13:00|cancelled|not_planned",
        "Follow-up: late|1|call|today 15:15|cancelled|not_planned",
        "Follow-up: late|1|text|today 15:15|planned",
    ]
    assert cells(section(page, 'id="touches-C-9040-none"', "</li>")) == [
        f"Follow-up: correction|1|call|yesterday 09:00|machine|machine_end_beep|21 s|{yesterday_call}",
    ]
    assert cells(page, "flag-active") == [
        "number 1 (primary)|call|21214 cannot be reached by a call|today 09:00|Lift|the flag on number 1 by call"]
    assert section(page, 'id="opt-outs"', "</p>") == 'id="opt-outs">None.'
    replies = section(page, 'id="replies"', "</ul>")
    assert [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip()
            for li in re.findall(r"<li [^>]*>(.*?)</li>", replies, re.S)] == [
        "Wed 2 Dec 15:00: other Read the words of the reply of Wed 2 Dec 15:00",
        "Wed 2 Dec 15:00: confirm Read the words of the reply of Wed 2 Dec 15:00",
    ]
    # Ids only: no name, no number, no words of a reply, on the page or the outbound list (which links here).
    assert PHONE not in page and PHONE[2:] not in page and "Robin" not in page and "partner" not in page
    listing = staff.get("/staff/outbound").get_data(as_text=True)
    assert f'<a href="{PAGE}">Client C-9040</a>' in listing
    assert audit_rows(database, "read_reply") == []


def test_a_replys_words_open_only_by_a_csrf_protected_post_and_each_read_is_audited(history, database):
    staff, person = history
    page = staff.get(PAGE).get_data(as_text=True)
    [free, _confirm] = re.findall(r'action="(/staff/outbound/clients/C-9040/replies/\d+/read)"', page)
    assert staff.post(free, data={}).status_code == 400  # no CSRF token: refused, nothing opened
    assert audit_rows(database, "read_reply") == []
    opened = post(staff, free, token_from=PAGE)
    body = opened.get_data(as_text=True)
    assert opened.status_code == 200 and f'<blockquote class="reply-words">{WORDS}</blockquote>' in body
    reply_id = free.split("/")[-2]
    post(staff, free, token_from=PAGE)
    assert [(a.user_id, a.target, a.detail) for a in audit_rows(database, "read_reply")] == [
        (person.id, f"reply:{reply_id}", "client C-9040")] * 2
    assert "partner" not in staff.get(PAGE).get_data(as_text=True)  # shut again on the next view
    # Another client's page cannot open it.
    assert post(staff, f"/staff/outbound/clients/C-0000/replies/{reply_id}/read", token_from=PAGE).status_code == 303


def test_staff_lift_a_flag_and_the_number_is_called_again(history, app, client, database, jobs, standin):
    staff, person = history
    page = staff.get(PAGE).get_data(as_text=True)
    [lift] = re.findall(r'action="(/staff/outbound/clients/C-9040/flags/\d+/lift)"', page)
    assert staff.post(lift, data={}).status_code == 400
    response = post(staff, lift, token_from=PAGE)
    assert (response.status_code, response.headers["Location"]) == (303, PAGE)
    [entry] = audit_rows(database, "lift_undeliverable")
    flag_id = lift.split("/")[-2]
    assert (entry.user_id, entry.target, entry.detail) == (person.id, "client:C-9040",
                                                          f"flag {flag_id} (call, code 21214)")
    with database.sessions() as db:
        [row] = db.scalars(select(UndeliverableNumber)).all()
    assert (row.lifted_by, row.lifted_at) == (person.id, jobs.clock.now)
    page = staff.get(PAGE).get_data(as_text=True)
    assert cells(page, "flag-active") == [] and cells(page, "flag-lifted") == [
        "number 1 (primary)|call|21214 cannot be reached by a call|today 09:00|lifted today 09:00"]
    assert post(staff, lift, token_from=PAGE).status_code == 303  # twice: nothing more
    assert len(audit_rows(database, "lift_undeliverable")) == 1
    # The number may be called again: a correction call goes.
    post(staff, "/staff/outbound/correction", {"client_id": "C-9040", "back": "client"}, token_from=PAGE)
    jobs.at(ny(4, 9, 5))
    assert len([c for c in standin.calls() if c["to"] == PHONE]) == 3


def test_an_unknown_client_is_404(app, database):
    staff = signed_in(app, add_user(database, "desk@example.org", "Front Desk", "staff", STAFF_PASSWORD))
    assert staff.get("/staff/outbound/clients/C-0000").status_code == 404


def test_four_weeks_of_figures_reminded_against_not_reminded(app, client, database, jobs, standin):
    jobs.clock.now = ny(1, 10) - dt.timedelta(days=21)
    # Week 1 (the latest): one reminded and confirmed, one not reminded (no texts, no calls) and a no-show.
    add_client(database, "C-9041", "Robin", (PHONE,))
    add_client(database, "C-9042", "Sam", ("+15551239042",), may_text=False, may_call=False)
    add_appointment(database, "A-9041", "C-9041", ny(4, 15))
    add_appointment(database, "A-9042", "C-9042", ny(3, 10), status="no_show")
    # Week 3: a no-show that was not reminded.
    add_appointment(database, "A-9043", "C-9042", ny(3, 10) - dt.timedelta(days=14), status="no_show")
    jobs.at(ny(2, 15))
    [sms] = [m for m in standin.messages() if m["to"] == PHONE]
    text_in(client, PHONE, sms["from"], "1", "SM" + "9" * 32)
    jobs.clock.now = ny(5, 10)
    staff = signed_in(app, add_user(database, "desk@example.org", "Front Desk", "staff", STAFF_PASSWORD))
    page = staff.get("/staff/outbound").get_data(as_text=True)
    table = section(page, 'id="weekly-figures"', "</table>")
    rows = [[c.strip() for c in re.sub(r"<[^>]+>", "|", row).split("|") if c.strip()]
            for row in re.findall(r"<tr>(.*?)</tr>", section(table, "<tbody>", "</tbody>"), re.S)]
    assert rows == [
        ["28 Nov 2026 – 5 Dec 2026", "1", "1", "0", "1", "1"],
        ["21 Nov 2026 – 28 Nov 2026", "0", "0", "0", "0", "0"],
        ["14 Nov 2026 – 21 Nov 2026", "0", "0", "0", "1", "1"],
        ["7 Nov 2026 – 14 Nov 2026", "0", "0", "0", "0", "0"],
    ]
