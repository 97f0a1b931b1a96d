"""Check-ins and video joins are signals (B3): a client checked in at +14:59, by any of them, gets no "late"
touch at +15.  The EHR import's status (``arrived``, ``checked in``: a check-in, the appointment not changed), the
staff "Checked in" button on the client's page (audited ``checked_in``), and the video platform's signed "joined"
webhook (``POST /video/joined``).  Real RQ worker and scheduler, both databases, the stand-in."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from zoneinfo import ZoneInfo

import pytest

from ivr.contact.video import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from ivr.practice.csv.importer import import_practice
from ivr.practice.models import Appointment
from tests.helpers.contact import add_appointment, add_client, touch_rows
from tests.helpers.dashboard import STAFF_PASSWORD, add_user, audit_rows, post, signed_in

NY = ZoneInfo("America/New_York")
PHONE = "+15551239051"
START = dt.datetime(2026, 11, 30, 11, 0, tzinfo=NY).astimezone(dt.UTC)  # Monday 11:00 New York
ALMOST = START + dt.timedelta(minutes=14, seconds=59)
LATE = START + dt.timedelta(minutes=15)
SECRET = "video-webhook-secret-for-tests"
LINK = "https://video.example.com/r/robin-room"
PAGE = "/staff/outbound/clients/C-9051"


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "video_webhook_secret": SECRET}


@pytest.fixture
def expected(ql, database, jobs):
    """Robin's appointment at 11:00 (a video link); the "late" call is planned for 11:15; the clock at 11:14:59."""
    jobs.clock.now = START - dt.timedelta(minutes=30)
    add_client(database, "C-9051", "Robin", (PHONE,))
    add_appointment(database, "A-9051", "C-9051", START)
    with database.sessions() as db, db.begin():
        db.get(Appointment, "A-9051").telehealth_url = LINK
    jobs.run()
    jobs.at(ALMOST)
    assert late_rows(database) == [("follow_ups.late/A-9051/v1/1/call", "planned", None)]
    return "C-9051"


def late_rows(database) -> list[tuple[str, str, str | None]]:
    return [(r.touch_id.split("/", 1)[1], r.status, r.why_skipped) for r in touch_rows(database, "C-9051")
            if r.kind == "follow_up"]


def no_late_touch(database, jobs, standin) -> None:
    jobs.run()  # the pass the check-in's commit asked for
    jobs.at(LATE)
    jobs.at(LATE + dt.timedelta(minutes=30))
    assert late_rows(database) == [("follow_ups.late/A-9051/v1/1/call", "cancelled", "checked_in")] or \
        late_rows(database) == [("follow_ups.late/A-9051/v1/1/call", "skipped", "checked_in")]
    assert [c for c in standin.calls() if c["to"] == PHONE] == []
    assert [m for m in standin.messages() if m["to"] == PHONE] == []


def test_an_arrived_import_at_14_59_is_a_check_in(expected, database, jobs, standin):
    report = import_practice(database.sessions, appointments_text=(
        "Appointment ID,Client ID,Start,End,Status\n"
        "A-9051,C-9051,2026-11-30T11:00:00-05:00,2026-11-30T11:50:00-05:00,Arrived\n"), now=jobs.clock.now)
    assert report.appointments.updated == 1
    with database.sessions() as db:
        appt = db.get(Appointment, "A-9051")
        assert (appt.status, appt.checked_in, appt.version) == ("scheduled", True, 1)  # not a change, not moved
    no_late_touch(database, jobs, standin)


def test_the_staff_checked_in_button_at_14_59(expected, app, database, jobs, standin):
    person = add_user(database, "desk@example.org", "Front Desk", "staff", STAFF_PASSWORD)
    staff = signed_in(app, person)
    page = staff.get(PAGE).get_data(as_text=True)
    assert 'action="/staff/outbound/clients/C-9051/checked-in"' in page and ">Checked in</button>" in page
    assert staff.post(f"{PAGE}/checked-in", data={"appointment_id": "A-9051"}).status_code == 400  # no CSRF token
    response = post(staff, f"{PAGE}/checked-in", {"appointment_id": "A-9051"}, token_from=PAGE)
    assert response.status_code == 303
    assert [(a.action, a.target, a.detail) for a in audit_rows(database, "checked_in")] == [
        ("checked_in", "client:C-9051", "A-9051")]
    no_late_touch(database, jobs, standin)


def test_the_staff_button_refuses_another_clients_appointment(expected, app, database, jobs):
    add_client(database, "C-9052", "Sam", ("+15551239052",))
    add_appointment(database, "A-9052", "C-9052", START + dt.timedelta(hours=1))
    person = add_user(database, "desk@example.org", "Front Desk", "staff", STAFF_PASSWORD)
    staff = signed_in(app, person)
    post(staff, f"{PAGE}/checked-in", {"appointment_id": "A-9052"}, token_from=PAGE)
    with database.sessions() as db:
        assert db.get(Appointment, "A-9052").checked_in is False
    assert audit_rows(database, "checked_in") == []


def joined(client, body: dict, secret: str = SECRET, sent: dt.datetime | None = None):
    """POST /video/joined as the platform sends it: stamped ``sent`` (default: the app's clock now), signed."""
    raw = json.dumps(body).encode()
    stamp = int((sent or client.application.extensions["quietline"].clock()).timestamp())
    return client.post("/video/joined", data=raw, content_type="application/json",
                       headers={SIGNATURE_HEADER: signature(secret, raw, stamp), TIMESTAMP_HEADER: str(stamp)})


@pytest.mark.parametrize("body", [{"appointment_id": "A-9051"}, {"url": LINK}])
def test_the_video_join_webhook_at_14_59(expected, client, database, jobs, standin, body):
    assert joined(client, body, secret="wrong").status_code == 403
    assert joined(client, {"url": "https://video.example.com/r/other"}).status_code == 404
    assert joined(client, {}).status_code == 400
    assert joined(client, body).status_code == 204
    with database.sessions() as db:
        appt = db.get(Appointment, "A-9051")
        assert (appt.joined, appt.version) == (True, 1)
    jobs.run()
    jobs.at(LATE)
    assert late_rows(database)[0][1:] in (("cancelled", "joined"), ("skipped", "joined"))
    assert [c for c in standin.calls() if c["to"] == PHONE] == []


# -- fix1112-left item 4: the timestamp in the signed text; stale and replayed requests refused ----------------

def test_a_video_join_stamped_more_than_5_minutes_from_now_is_refused(expected, client, database, jobs):
    now = jobs.clock.now
    for sent in (now - dt.timedelta(minutes=5, seconds=1), now + dt.timedelta(minutes=5, seconds=1)):
        answer = joined(client, {"appointment_id": "A-9051"}, sent=sent)
        assert (answer.status_code, answer.json) == (403, {"error": "the timestamp is too far from now"})
    with database.sessions() as db:
        assert db.get(Appointment, "A-9051").joined is False
    assert joined(client, {"appointment_id": "A-9051"}, sent=now - dt.timedelta(minutes=5)).status_code == 204


def test_the_timestamp_is_signed_and_required(expected, client, database):
    raw = json.dumps({"appointment_id": "A-9051"}).encode()
    stamp = int(client.application.extensions["quietline"].clock().timestamp())
    good = signature(SECRET, raw, stamp)
    for headers in ({SIGNATURE_HEADER: good},  # no timestamp
                    {SIGNATURE_HEADER: good, TIMESTAMP_HEADER: str(stamp + 1)},  # another time, the same signature
                    {SIGNATURE_HEADER: "sha256=" + hmac.new(SECRET.encode(), raw, "sha256").hexdigest(),
                     TIMESTAMP_HEADER: str(stamp)}):  # the old scheme
        answer = client.post("/video/joined", data=raw, content_type="application/json", headers=headers)
        assert answer.status_code == 403
    with database.sessions() as db:
        assert db.get(Appointment, "A-9051").joined is False


def test_a_captured_video_join_replayed_is_refused_and_remembered_only_by_hash(expected, client, database, jobs,
                                                                                redis_conn):
    raw = json.dumps({"appointment_id": "A-9051"}).encode()
    stamp = int(jobs.clock.now.timestamp())
    headers = {SIGNATURE_HEADER: signature(SECRET, raw, stamp), TIMESTAMP_HEADER: str(stamp)}
    first = client.post("/video/joined", data=raw, content_type="application/json", headers=headers)
    assert first.status_code == 204
    with database.sessions() as db, db.begin():
        db.get(Appointment, "A-9051").joined = False  # staff undid it: a replay must not set it again
    jobs.clock.now += dt.timedelta(minutes=4, seconds=59)
    again = client.post("/video/joined", data=raw, content_type="application/json", headers=headers)
    assert (again.status_code, again.json) == (409, {"error": "already received"})
    with database.sessions() as db:
        assert db.get(Appointment, "A-9051").joined is False
    # Remembered by the signature's SHA-256 only, for at most the tolerance.
    keys = [k.decode() for k in redis_conn.keys("video:joined:seen:*")]
    assert keys == ["video:joined:seen:" + hashlib.sha256(headers[SIGNATURE_HEADER].encode()).hexdigest()]
    assert redis_conn.get(keys[0]) == b"1"
    assert 0 < redis_conn.pttl(keys[0]) <= 300_000
    everything = b"".join(k + (redis_conn.dump(k) or b"") for k in redis_conn.keys("*"))
    assert headers[SIGNATURE_HEADER][7:].encode() not in everything
    # Once the tolerance has passed, the same request is stale anyway.
    jobs.clock.now += dt.timedelta(seconds=2)
    assert client.post("/video/joined", data=raw, content_type="application/json",
                       headers=headers).status_code == 403
