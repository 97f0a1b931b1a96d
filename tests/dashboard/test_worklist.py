"""The staff queue through the pages: sorting, claiming, resolving, client details and the numbers shown on purpose."""
from __future__ import annotations

import datetime as dt
import logging
import re
import threading

import pytest

from ivr.escalations import worklist
from ivr.exceptions import EscalationConflict, EscalationInvalid
from tests.helpers.dashboard import (
    ALEX_DOB_TEXT,
    add_escalation,
    audit_rows,
    escalation_row,
    post,
    signed_in,
    token,
)

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
    now = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
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
    assert (
        entry.user_id == people["owner"].id
        and entry.detail == f"claimed by user {people['sam'].id}; resolved by an owner"
    )
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
    assert response.status_code == 409 and "Tess Staff claimed this escalation first." in response.get_data(
        as_text=True
    )


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


def test_a_new_clients_extension_is_shown_with_what_they_left(app, people, database, clock):
    """fix14-nits6: an extension said after the callback number ("555 212 3456 ext 12") is kept in details and shown
    with the rest, the number itself being the caller's number above (dialled first)."""
    eid = add_escalation(database, clock.now, reason="intake_request", category="intake_request",
                         caller_number="+15552123456",
                         details={"first_name": "Jane", "best_time": "weekday mornings", "extension": "12"})
    sam = signed_in(app, people["sam"])
    assert "<dt>Extension</dt>" not in sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    html = post(sam, f"/staff/e/{eid}/callback-details", token_from=f"/staff/e/{eid}").get_data(as_text=True)
    assert "<dt>Extension</dt><dd>12</dd>" in html
    assert "The number they asked to be called on is the caller's number above: dial the extension after it." in html


def test_a_new_clients_name_and_best_time_are_shown_on_purpose_and_audited(app, people, database, clock, caplog):
    """Review 14 finding 19: escalations.details (an intake's first name and best time, as said) are revealed
    only on a deliberate POST, recorded as view_callback_details, like a client's details."""
    caplog.set_level(logging.DEBUG)
    eid = add_escalation(database, clock.now, reason="intake_request", category="intake_request",
                         details={"first_name": "Jane", "best_time": "weekday mornings"})
    sam = signed_in(app, people["sam"])
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    assert "Jane" not in page and "weekday mornings" not in page
    assert "Show what they left for the callback" in page
    # A GET to the reveal URL (a bookmark, a link) shows nothing and records nothing.
    back = sam.get(f"/staff/e/{eid}/callback-details")
    assert back.status_code == 303 and back.location == f"/staff/e/{eid}"
    assert audit_rows(database, "view_callback_details") == []

    shown = post(sam, f"/staff/e/{eid}/callback-details", token_from=f"/staff/e/{eid}")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    html = shown.get_data(as_text=True)
    assert "<dt>First name</dt><dd>Jane</dd>" in html and "<dt>Best time</dt><dd>weekday mornings</dd>" in html
    [entry] = audit_rows(database, "view_callback_details")
    assert (entry.user_id, entry.target) == (people["sam"].id, f"escalation:{eid}")
    logged = caplog.text + " ".join(f"{e.target} {e.detail}" for e in audit_rows(database))
    assert "Jane" not in logged and "weekday" not in logged
    # An escalation without such details offers nothing to open.
    plain = add_escalation(database, clock.now)
    assert "Show what they left" not in sam.get(f"/staff/e/{plain}").get_data(as_text=True)
    assert post(sam, f"/staff/e/{plain}/callback-details", token_from=f"/staff/e/{plain}").status_code == 404


def test_a_key_pressed_during_the_greeting_reads_on_the_page(app, people, database, clock):
    """bt14-s26 blocker 1: the marker of a key pressed while the greeting played gave the page a 500."""
    eid = add_escalation(database, clock.now, timeline=[
        "main.welcome", "main.main_menu", "keyed-during-greeting", "main_menu:9", "crisis_kind:pressed_key",
        {"at": clock.now.isoformat(), "text": "menu:9"}, "keyed-during-greeting"])
    sam = signed_in(app, people["sam"])
    page = sam.get(f"/staff/e/{eid}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "(during the greeting): " in html and "keyed-during-greeting" not in html and "menu:9" in html


def test_detail_page_shows_the_timeline_and_is_audited(app, people, database, clock):
    eid = add_escalation(database, clock.now, timeline=["main.welcome", {"at": clock.now.isoformat(),
                                                                          "text": "menu:0"}])
    sam = signed_in(app, people["sam"])
    html = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    # Steps read as words (the step's label, or its id in words); other rows as they are.
    assert "<span class=\"step\">Welcome</span>" in html and "main.welcome" not in html and "menu:0" in html
    assert [e.target for e in audit_rows(database, "view_escalation")] == [f"escalation:{eid}"]
    assert sam.get("/staff/e/999999").status_code == 404
