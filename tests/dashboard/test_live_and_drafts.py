"""Issue 16 on the server side: the live poll (what it says, that it is never activity), draft outcomes,
one-tap outcomes in the audit log, each person's settings, and error pages inside the layout that reveal
nothing.  The browser side is in test_live_dashboard.py and test_accessibility.py."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import text

from ivr.app import create_app
from ivr.escalations import drafts, preferences, worklist
from ivr.escalations.models import OutcomeDraft
from ivr.exceptions import EscalationConflict, EscalationInvalid, EscalationNotFound
from tests.helpers.dashboard import add_escalation, audit_rows, escalation_row, post, signed_in, token


def live(client, **args):
    response = client.get("/staff/live", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --------------------------------------------------------------------------- the live poll

def test_the_poll_lists_the_queue_with_what_to_announce_and_what_became_of_the_rest(app, people, database,
                                                                                     clock):
    sam = signed_in(app, people["sam"])
    crisis = add_escalation(database, clock.now, priority=0, due_in=dt.timedelta(minutes=13), reason="crisis",
                            category="crisis")
    billing = add_escalation(database, clock.now, priority=1, reason="billing_question", category="billing")
    normal = add_escalation(database, clock.now, priority=2)
    gone = add_escalation(database, clock.now, status="claimed", claimed_by=people["tess"].id,
                          claimed_at=clock.now)
    worklist.resolve(database, gone, people["tess"].id, "Done.", clock.now)
    worklist.claim(database, billing, people["tess"].id, clock.now - dt.timedelta(seconds=30))

    data = live(sam, view="active", shown=f"{crisis},{gone},x,")
    assert data["idle_left"] == 15 * 60 and data["pressing"] == 1  # only the crisis is unclaimed urgent/high
    assert [i["id"] for i in data["items"]] == [crisis, billing, normal]
    first, second = data["items"][0], data["items"][1]
    assert (first["new"], first["state"], first["priority"]) == (f"New urgent: crisis #{crisis}, due in 13 min",
                                                                 "open:", 0)
    assert second["change"] == f"#{billing} claimed by Tess Staff just now"
    assert second["state"] == f"claimed:{people['tess'].id}"
    assert ">claimed by Tess Staff just now</span>" in second["html"]
    assert f'Claim<span class="visually-hidden"> #{crisis}, crisis</span></button>' in first["html"]
    assert data["gone"] == [{"id": gone, "text": f"#{gone} resolved"}]
    assert data["counts"] == {"open": 2, "claimed": 1, "mine": 0}
    # A minute on, it is no longer "just now"; nothing in the poll names a caller or a client.
    clock.advance(minutes=1)
    data = live(sam, view="active")
    assert data["items"][1]["change"] == f"#{billing} claimed by Tess Staff"
    assert "+1555" not in str(data) and "Alex" not in str(data)
    # Without a view (any other page): only the idle time and the title's count.
    assert live(sam) == {"idle_left": 14 * 60, "pressing": 1}


def test_polling_never_counts_as_activity_and_an_ended_session_gets_401_with_why(app, people, clock):
    sam = signed_in(app, people["sam"])
    clock.advance(minutes=10)
    assert live(sam, view="active")["idle_left"] == 5 * 60
    clock.advance(minutes=3)
    assert live(sam)["idle_left"] == 2 * 60  # the page shows its warning now
    # "Stay signed in" (or typing): activity, by the app's clock.
    assert post(sam, "/staff/session/keepalive").get_json() == {"idle_left": 15 * 60}
    clock.advance(minutes=15, seconds=1)
    ended = sam.get("/staff/live")
    assert ended.status_code == 401 and ended.get_json() == {"ended": "idle"}
    detail = sam.get("/staff/e/1/live")
    assert detail.status_code == 401 and detail.get_json() == {"ended": "expired"}


def test_the_detail_poll_says_who_claimed_it_as_it_happens(app, people, database, clock):
    sam = signed_in(app, people["sam"])
    eid = add_escalation(database, clock.now)
    before = sam.get(f"/staff/e/{eid}/live").get_json()
    assert (before["state"], before["time_left"], before["urgency"]) == ("open:", "due in 2 h", "ok")
    assert 'id="claim-button"' in before["status_html"]
    worklist.claim(database, eid, people["tess"].id, clock.now)
    after = sam.get(f"/staff/e/{eid}/live").get_json()
    assert after["state"] == f"claimed:{people['tess'].id}"
    assert after["change"] == f"#{eid} claimed by Tess Staff just now"
    assert "Claimed by Tess Staff just now, today 10:00" in after["status_html"]
    assert "claim-button" not in after["status_html"]
    assert sam.get("/staff/e/999/live").status_code == 404


# --------------------------------------------------------------------------- drafts

def test_a_draft_is_kept_per_person_restored_on_the_page_and_deleted_by_resolving(app, people, database, clock):
    sam = signed_in(app, people["sam"])
    eid = add_escalation(database, clock.now, status="claimed", claimed_by=people["sam"].id, claimed_at=clock.now)
    saved = post(sam, f"/staff/e/{eid}/draft", {"outcome": "Left a message for Alex", "preset": ""})
    assert saved.status_code == 200 and saved.get_json() == {"saved": "Draft saved today 10:00"}
    assert drafts.get(database, people["tess"].id, eid) is None  # only its author's
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*name="outcome"[^>]*>\s*Left a message for Alex</textarea>', page)
    assert "Restored your unsent draft (saved today 10:00)." in page
    # Errors say what is wrong and change nothing.
    too_long = post(sam, f"/staff/e/{eid}/draft", {"outcome": "x" * (worklist.OUTCOME_MAX + 1)})
    assert too_long.status_code == 400 and "under 2000 characters" in too_long.get_json()["error"]
    bad_preset = post(sam, f"/staff/e/{eid}/draft", {"outcome": "x", "preset": "fired"})
    assert bad_preset.status_code == 400
    assert post(sam, "/staff/e/999/draft", {"outcome": "x"}).status_code == 404
    assert drafts.get(database, people["sam"].id, eid).text == "Left a message for Alex"
    # A blank box deletes it; resolving deletes everyone's.
    assert post(sam, f"/staff/e/{eid}/draft", {"outcome": "  "}).get_json() == {"saved": ""}
    drafts.save(database, people["sam"].id, eid, "again", clock.now)
    drafts.save(database, people["owner"].id, eid, "owner's note", clock.now)
    assert post(sam, f"/staff/e/{eid}/resolve", {"outcome": "Called back."}, token_from=f"/staff/e/{eid}"
                ).status_code == 303
    with database.sessions() as s:
        assert s.query(OutcomeDraft).count() == 0
    with pytest.raises(EscalationConflict):
        drafts.save(database, people["sam"].id, eid, "too late", clock.now)
    with pytest.raises(EscalationNotFound):
        drafts.save(database, people["sam"].id, 999, "x", clock.now)
    with pytest.raises(EscalationInvalid):
        drafts.save(database, people["sam"].id, eid, "x", clock.now, preset="nope")


def test_a_draft_survives_the_migration_round_trip_on_both_databases(any_database, clock):
    """outcome_drafts and staff_preferences (0011) on SQLite and PostgreSQL: keyed per person and escalation."""
    from tests.helpers.dashboard import add_user

    user = add_user(any_database, "pat@quietline.test", "Pat", "staff", "a long passphrase 1")
    eid = add_escalation(any_database, clock.now)
    drafts.save(any_database, user.id, eid, "first", clock.now)
    drafts.save(any_database, user.id, eid, "second", clock.now, preset="booked")
    assert drafts.get(any_database, user.id, eid) == drafts.Draft("second", "booked", clock.now)
    assert preferences.get(any_database, user.id) == preferences.Preferences(sound_urgent=False, shortcuts=True)
    preferences.save(any_database, user.id, preferences.Preferences(sound_urgent=True, shortcuts=False))
    assert preferences.get(any_database, user.id) == preferences.Preferences(sound_urgent=True, shortcuts=False)


# --------------------------------------------------------------------------- one-tap outcomes

@pytest.mark.parametrize("preset,outcome,detail", [
    ("called_back", worklist.OUTCOME_PRESETS["called_back"], "outcome: called back, resolved"),
    ("crisis_line", "Gave 988 and stayed on the line.", "outcome: referred to crisis line (edited)"),
    ("", "Wrote my own.", None),
])
def test_the_one_tap_outcome_is_recorded_in_the_audit_log(app, people, database, clock, preset, outcome, detail):
    sam = signed_in(app, people["sam"])
    eid = add_escalation(database, clock.now, status="claimed", claimed_by=people["sam"].id, claimed_at=clock.now)
    page = sam.get(f"/staff/e/{eid}").get_data(as_text=True)
    for key, label in worklist.PRESET_LABELS.items():
        assert (f'data-preset="{key}" data-text="{worklist.OUTCOME_PRESETS[key]}" aria-pressed="false">'
                f'{label}</button>') in page
    response = post(sam, f"/staff/e/{eid}/resolve", {"outcome": outcome, "preset": preset},
                    token_from=f"/staff/e/{eid}")
    assert response.status_code == 303
    assert escalation_row(database, eid).outcome == outcome
    assert [e.detail for e in audit_rows(database, "resolve")] == [detail]


def test_an_unknown_one_tap_outcome_is_refused_and_nothing_is_resolved(app, people, database, clock):
    sam = signed_in(app, people["sam"])
    eid = add_escalation(database, clock.now, status="claimed", claimed_by=people["sam"].id, claimed_at=clock.now)
    response = post(sam, f"/staff/e/{eid}/resolve", {"outcome": "Done.", "preset": "deleted_it"},
                    token_from=f"/staff/e/{eid}")
    assert response.status_code == 400 and "Please fix the outcome." in response.get_data(as_text=True)
    assert escalation_row(database, eid).status == "claimed" and audit_rows(database, "resolve") == []


# --------------------------------------------------------------------------- settings

def test_each_person_keeps_their_own_sound_and_shortcut_settings(app, people, database):
    sam = signed_in(app, people["sam"])
    page = sam.get("/staff/").get_data(as_text=True)
    assert 'data-sound="off"' in page and 'data-shortcuts="on"' in page
    saved = post(sam, "/staff/preferences", {"sound_urgent": "on"})
    assert saved.status_code == 303 and saved.location == "/staff/account"
    page = sam.get("/staff/account").get_data(as_text=True)
    assert "Settings saved: sound for new urgent escalations on, keyboard shortcuts off." in page
    assert 'data-sound="on"' in page and 'data-shortcuts="off"' in page
    tess = signed_in(app, people["tess"])
    assert 'data-sound="off"' in tess.get("/staff/").get_data(as_text=True)


# --------------------------------------------------------------------------- focus and titles after actions

def test_after_claiming_the_confirmation_takes_focus_and_names_the_title(app, people, database, clock):
    sam = signed_in(app, people["sam"])
    eid = add_escalation(database, clock.now, priority=0, reason="crisis", category="crisis")
    claimed = post(sam, f"/staff/e/{eid}/claim")
    page = sam.get(claimed.location).get_data(as_text=True)
    assert f"<title>Claimed #{eid}: it is yours now. · #{eid} Crisis · Quietline staff</title>" in page
    assert (f'<p class="alert ok" role="status" id="confirmation" tabindex="-1">Claimed #{eid}: it is yours now.'
            '</p>') in page
    # Voicemail and Client come before the Outcome; the queue's pages start with a skip link.
    assert page.index("<h2>Client</h2>") < page.index('id="outcome-heading"')
    assert '<a class="skip-link" href="#queue">Skip to the queue</a>' in sam.get("/staff/").get_data(as_text=True)


# --------------------------------------------------------------------------- errors inside the layout

SECRETS = ("Alex", "Rivera", "+1555", "Traceback", "sqlalchemy", "OperationalError", "escalations_away",
           "no such table", "/staff/e/")


def test_404_403_and_405_under_staff_are_in_the_layout_with_a_way_back(app, people, client):
    sam = signed_in(app, people["sam"])
    for path, method, status, title in (("/staff/no-such-page", "get", 404, "Not found"),
                                        ("/staff/e/123456", "get", 404, "Not found"),
                                        ("/staff/audit", "get", 403, "Not for your role"),
                                        ("/staff/health", "post", 405, "Not found")):
        response = getattr(sam, method)(path, data={"csrf_token": token(sam, "/staff/")} if method == "post" else None)
        page = response.get_data(as_text=True)
        assert response.status_code == status, path
        assert f"<title>{title} · Quietline staff</title>" in page, path
        assert '<nav class="nav" aria-label="Dashboard">' in page and "Sign out" in page, path
        assert '<a href="/staff/">Back to the queue</a>' in page, path
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'"), path
        assert response.headers["Cache-Control"] == "no-store", path
    # Signed out, an unknown address is the same page without the nav (and says nothing more).
    page = client.get("/staff/nothing/here").get_data(as_text=True)
    assert "Not found" in page and "Sign out" not in page and '<a href="/staff/">Back to the queue</a>' in page
    # Outside /staff, the app's own errors are untouched.
    assert "Back to the queue" not in client.get("/nothing").get_data(as_text=True)


def test_a_500_under_staff_is_in_the_layout_and_reveals_nothing(settings_overrides, redis_conn, clock, database,
                                                                  people):
    app = create_app(settings_overrides, redis=redis_conn, clock=clock, database=database)  # not TESTING
    sam = signed_in(app, people["sam"])
    add_escalation(database, clock.now, client_id="C-1001")
    with database.engine.begin() as conn:
        conn.execute(text("ALTER TABLE escalations RENAME TO escalations_away"))
    response = sam.get("/staff/")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "<title>Something went wrong · Quietline staff</title>" in page
    assert "Nothing you saved is lost" in page and '<a href="/staff/">Back to the queue</a>' in page
    assert "Sign out" in page
    for secret in SECRETS:
        assert secret not in page, secret
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["Cache-Control"] == "no-store"


def test_a_form_token_from_a_page_opened_hours_ago_still_works_while_signed_in(app, people):
    """Review 16 finding 1: a queue page left open over an hour kept a 60-minute token, and 'Stay signed in',
    drafts and sign-out all failed. The token now lasts as long as the signed-in session."""
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    sam = signed_in(app, people["sam"])
    fresh = token(sam, "/staff/")
    with app.app_context():
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    serializer = URLSafeTimedSerializer(secret, salt="wtf-csrf-token")
    raw = serializer.loads(fresh)

    class SignedLongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return 1_577_836_800  # 2020-01-01: any page older than an hour

    old = URLSafeTimedSerializer(secret, salt="wtf-csrf-token", signer=SignedLongAgo).dumps(raw)
    assert old != fresh
    response = sam.post("/staff/session/keepalive", data={"csrf_token": old})
    assert response.status_code == 200 and response.get_json() == {"idle_left": 15 * 60}
    # A token this session never issued is still refused.
    forged = URLSafeTimedSerializer(secret, salt="wtf-csrf-token", signer=SignedLongAgo).dumps("f" * 40)
    assert sam.post("/staff/session/keepalive", data={"csrf_token": forged}).status_code == 400


def test_the_pages_script_gets_json_when_signed_out_or_its_token_is_refused(app, people, database, clock):
    """Review 16: a draft saved (or 'Stay signed in') after the session ended got a redirect to the sign-in page,
    and with a refused token an HTML page: the page could only say 'connection is down'."""
    eid = add_escalation(database, clock.now, status="claimed", claimed_by=people["sam"].id, claimed_at=clock.now)
    sam = signed_in(app, people["sam"])
    fresh = token(sam, "/staff/")
    refused = sam.post(f"/staff/e/{eid}/draft", data={"outcome": "Left a message", "csrf_token": "x" * 20})
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "Not saved: this page is out of date. Reload it to keep working."}
    assert sam.post("/staff/session/keepalive", data={"csrf_token": "x"}).get_json()["error"].startswith("Not saved")
    other = signed_in(app, people["sam"])  # a second browser of Sam's, its own session
    other_token = token(other, "/staff/")
    clock.advance(minutes=15, seconds=1)
    for client, path, tok in ((sam, f"/staff/e/{eid}/draft", fresh), (other, "/staff/session/keepalive", other_token)):
        ended = client.post(path, data={"outcome": "Left a message", "csrf_token": tok})
        assert ended.status_code == 401 and ended.get_json() == {"ended": "idle"}, path
    with database.sessions() as s:
        assert s.query(OutcomeDraft).count() == 0
    # Other forms still get the page they always did.
    assert b"Please try again" in sam.post(f"/staff/e/{eid}/claim", data={"csrf_token": "x"}).get_data()
