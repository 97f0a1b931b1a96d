"""Staff notifications: who is on call, what the messages say (and never say), and exactly one per person.

Texts go through the official twilio client to the local stand-in; email goes to a
real SMTP server (aiosmtpd) in a thread; jobs run in real RQ workers, and retries
wait in RQ's scheduled registry until the test clock reaches them.
"""
from __future__ import annotations

import datetime as dt
import os
import stat
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from ivr.core.escalation_policy import Category
from ivr.core.privacy import discretion_problems
from ivr.escalations import messages, roster
from ivr.escalations.create import create_escalation
from ivr.escalations.demo import (
    OWNER,
    STAFF,
    demo_password,
    logins_note,
    seed_demo_staff,
)
from ivr.escalations.models import StaffUser
from ivr.passwords import verify_password
from tests.helpers.escalations import (
    CLIENT_SECRETS,
    DEMO_PASSWORD,
    PHONES,
    escalations,
    notifications,
    smtp_settings,
    texts,
)
from tests.helpers.processes import wait_for
from tests.helpers.service import CLOSED_NOW, PUBLIC
from workers.runtime import using

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
ALEX = "+15551230001"
MORGAN = "+15550100107"
LINK = PUBLIC + "/staff/e/"
EMAILS = {"frontdesk@example.com", "oncall@example.com"}


@pytest.fixture
def settings_overrides(settings_overrides, smtp):
    return {**settings_overrides, **smtp_settings(smtp)}


def ny(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=NY)


def new_escalation(app, database, clock, reason: str = "billing", call_sid: str = "CA" + "7" * 32) -> int:
    practice = app.extensions["quietline"].flows.current().practice
    eid, _ = create_escalation(database.sessions, None, call_sid, reason, "normal", clock.now, practice)
    return eid


def by_status(database) -> list[tuple[str, str, str]]:
    """(user email-ish key, channel, status) per notification row."""
    return [(n.key.split(":", 3)[3], n.channel, n.status) for n in notifications(database)]


# --------------------------------------------------------------------------- messages

NOW = ny(23, 10)


@pytest.mark.parametrize("kind", messages.KINDS)
@pytest.mark.parametrize("category", [c.value for c in Category])
@pytest.mark.parametrize("priority", [0, 1, 2])
def test_every_message_is_discreet_and_carries_nothing_about_the_caller(kind, category, priority):
    due = ny(23, 15, 40)
    text = messages.sms_text(kind, 123, category, priority, due, NOW, NY, LINK + "123")
    mail = messages.email(kind, 123, category, priority, due, NOW, NY, LINK + "123")
    for words in (text, mail.subject, mail.body):
        assert discretion_problems(words, "Lakeside Counseling Collective") == [], words
        reason_words = [category] if "_" in category else []  # e.g. "portal_tech", never shown as such
        for secret in CLIENT_SECRETS + reason_words:
            assert secret not in words, (secret, words)
        assert "#123" in words
    assert text.endswith(" " + LINK + "123") and LINK + "123" in mail.body
    assert len(text) <= 160  # one SMS segment


def test_message_texts():
    due = ny(23, 15, 40)
    args = (123, "callback_request", 2, due, NOW, NY, LINK + "123")
    assert messages.sms_text("new", *args) == f"New callback request #123, due by 3:40 PM. {LINK}123"
    assert messages.sms_text("reminder", *args) == (
        f"Reminder: callback request #123 is due by 3:40 PM and nobody has claimed it. {LINK}123")
    assert messages.sms_text("breach", *args) == (
        f"Overdue: callback request #123 was due by 3:40 PM and is not resolved. {LINK}123")
    crisis = (124, "crisis", 0, ny(23, 10, 15), NOW, NY, LINK + "124")
    assert messages.sms_text("new", *crisis) == f"URGENT call #124: call back now. {LINK}124"
    assert messages.sms_text("reminder", *crisis) == f"URGENT call #124 is still unclaimed: call back now. {LINK}124"
    tomorrow = (5, "portal_tech", 2, ny(24, 18), NOW, NY, LINK + "5")
    assert messages.sms_text("new", *tomorrow) == f"New portal help request #5, due by Tue, Nov 24 at 6 PM. {LINK}5"
    mail = messages.email("new", *args)
    assert mail.subject == "New callback request #123, due by 3:40 PM."
    assert mail.body == (f"New callback request #123, due by 3:40 PM.\n\nOpen it in the dashboard: {LINK}123\n\n"
                         "For privacy this message has no caller details. Sign in to see them.\n")


def test_due_time_is_in_practice_time_even_for_a_utc_deadline():
    assert messages.due_text(dt.datetime(2026, 11, 23, 20, 40, tzinfo=UTC), NOW, NY) == "3:40 PM"
    assert messages.due_text(dt.datetime(2026, 11, 24, 5, 0, tzinfo=UTC), NOW, NY) == "Tue, Nov 24 at 12 AM"


# --------------------------------------------------------------------------- roster (pure)

def user(uid, role="staff", active=True, phone="+15550000000"):
    return SimpleNamespace(id=uid, role=role, active=active, phone=phone, email=f"u{uid}@example.com")


def entry(uid, level, days=(), start="00:00", end="23:59", sms=True, email=True, **extra):
    return SimpleNamespace(user_id=uid, level=level, days=list(days), start=start, end=end, sms=sms, email=email,
                           **extra)


USERS = [user(1), user(2), user(3), user(9, role="owner"), user(10, role="owner")]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def ids(recipients):
    return [(r.user_id, r.level) for r in recipients]


def test_roster_windows_days_and_levels():
    entries = [entry(1, 1, WEEKDAYS, "09:00", "18:00"), entry(2, 2), entry(9, 3)]
    assert ids(roster.on_call(entries, USERS, 1, ny(23, 10), NY)) == [(1, 1)]
    assert ids(roster.on_call(entries, USERS, 1, ny(23, 9), NY)) == [(1, 1)]  # start included
    assert ids(roster.on_call(entries, USERS, 1, ny(23, 18), NY)) == [(2, 2)]  # end excluded: fall to 2
    assert ids(roster.on_call(entries, USERS, 1, ny(21, 10), NY)) == [(2, 2)]  # Saturday
    assert ids(roster.on_call(entries, USERS, 2, ny(23, 10), NY)) == [(2, 2)]
    # Owner 9 has an entry; owner 10 has none, so is level 3 at every hour.
    assert ids(roster.on_call(entries, USERS, 3, ny(23, 10), NY)) == [(9, 3), (10, 3)]
    assert roster.on_call(entries, USERS, 4, ny(23, 10), NY) == []


def test_roster_times_are_practice_times_whatever_the_instant_zone():
    entries = [entry(1, 1, ["monday"], "09:00", "10:00")]
    assert ids(roster.on_call(entries, USERS, 1, dt.datetime(2026, 11, 23, 14, 30, tzinfo=UTC), NY)) == [(1, 1)]
    assert ids(roster.on_call(entries, USERS, 1, dt.datetime(2026, 11, 23, 9, 30, tzinfo=UTC), NY)) == [(9, 3),
                                                                                                         (10, 3)]


def test_roster_end_2359_runs_to_midnight_and_overnight_windows_belong_to_their_start_day():
    late = [entry(1, 1, ["monday"], "18:00", "23:59")]
    assert ids(roster.on_call(late, USERS, 1, ny(23, 23, 59).replace(second=30), NY)) == [(1, 1)]
    night = [entry(2, 1, ["friday"], "18:00", "09:00")]
    assert ids(roster.on_call(night, USERS, 1, ny(20, 22), NY)) == [(2, 1)]  # Friday night
    assert ids(roster.on_call(night, USERS, 1, ny(21, 8, 59), NY)) == [(2, 1)]  # Saturday early: Friday's window
    assert roster.on_call(night, USERS, 1, ny(21, 9), NY)[0].user_id != 2
    assert roster.on_call(night, USERS, 1, ny(20, 8), NY)[0].user_id != 2  # Friday morning: Thursday's, not on
    allday = [entry(3, 1, [], "00:00", "00:00")]
    assert ids(roster.on_call(allday, USERS, 1, ny(22, 3), NY)) == [(3, 1)]


def test_roster_skips_inactive_people_and_merges_channels():
    users = [user(1), user(2, active=False), user(9, role="owner", active=False)]
    entries = [entry(1, 1, sms=True, email=False), entry(1, 1, ["monday"], sms=False, email=True), entry(2, 1)]
    (only,) = roster.on_call(entries, users, 1, ny(23, 10), NY)
    assert (only.user_id, only.sms, only.by_email) == (1, True, True)
    assert roster.on_call([], users, 3, ny(23, 10), NY) == []  # the only owner is inactive


def test_roster_categories_when_entries_have_them():
    entries = [entry(1, 1, categories=["crisis"]), entry(2, 1)]
    assert ids(roster.on_call(entries, USERS, 1, ny(23, 10), NY, "billing")) == [(2, 1)]
    assert ids(roster.on_call(entries, USERS, 1, ny(23, 10), NY, "crisis")) == [(1, 1), (2, 1)]


def test_roster_needs_an_aware_time():
    with pytest.raises(ValueError):
        roster.on_call([], USERS, 1, dt.datetime(2026, 11, 23, 10), NY)


# --------------------------------------------------------------------------- demo staff

def test_demo_staff_and_roster(database, staff):
    assert set(staff) == {s.email for s in STAFF}
    with database.sessions() as db:
        owner = db.get(StaffUser, staff[OWNER.email])
        assert owner.role == "owner" and owner.password_hash.startswith("$argon2id$")
        assert verify_password(owner.password_hash, DEMO_PASSWORD)
    assert seed_demo_staff(database.sessions, password_hash="x").seeded is False  # once only


def test_demo_password_is_kept_private_and_never_printed(tmp_path, monkeypatch):
    monkeypatch.delenv("QUIETLINE_DEMO_PASSWORD", raising=False)
    password = demo_password(tmp_path, {})
    assert len(password) >= 12 and demo_password(tmp_path, {}) == password
    assert stat.S_IMODE(os.stat(tmp_path / "demo-staff-password").st_mode) == 0o600
    assert demo_password(tmp_path, {"QUIETLINE_DEMO_PASSWORD": "from the environment"}) == "from the environment"
    note = logins_note(tmp_path)
    assert "owner@example.com (owner)" in note and str(tmp_path / "demo-staff-password") in note
    assert password not in note


# --------------------------------------------------------------------------- sending, for real

def test_level_one_gets_a_text_and_an_email_each(app, database, jobs, staff, standin, smtp):
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    line = f"New billing question #{eid}, due by Tue, Nov 24 at 6 PM."
    assert sorted(texts(standin)) == sorted((PHONES[e], f"{line} {LINK}{eid}") for e in EMAILS)
    mails = smtp.texts()
    assert sorted(to for to, _, _ in mails) == sorted(EMAILS)
    assert {(subject, body) for _, subject, body in mails} == {
        (line, f"{line}\n\nOpen it in the dashboard: {LINK}{eid}\n\n{messages.EMAIL_FOOTER}\n")}
    assert {m["Message-ID"] for m in smtp.messages} == {
        f"<quietline.{eid}.new.1.{staff[e]}.email@ql.example.org>" for e in EMAILS}
    assert [status for _, _, status in by_status(database)] == ["sent"] * 4


def test_no_client_detail_reaches_any_text_or_email(sim, database, jobs, staff, standin, smtp):
    for caller, script in [(ALEX, "3;04151985#;2;record:10"), (ALEX, "1;04151985#;1;4;say:Wednesday;4"),
                           (MORGAN, "2;11031992#;2"), (ALEX, "9;answer"), (ALEX, "0;noanswer;record:4"),
                           (ALEX, "1;01011990#;01011991#;01011992#;record:3")]:
        sim.call(from_=caller, script=script)
    jobs.run()
    jobs.at(ny(25, 12))  # every reminder and breach notice too
    bodies = [m["body"] for m in standin.messages()] + [s + "\n" + b for _, s, b in smtp.texts()]
    assert len(standin.messages()) > 10 and len(smtp.messages) > 10
    for body in bodies:
        for secret in CLIENT_SECRETS + ["C-100", "billing_escalation", "verification", "reschedule_failed",
                                        "portal_tech"]:
            assert secret not in body, (secret, body)
        assert discretion_problems(body, "Lakeside Counseling Collective") == [], body
    # Texts go only to staff phones, email only to staff addresses.
    assert {m["to"] for m in standin.messages()} <= set(PHONES.values())
    assert {to for to, _, _ in smtp.texts()} <= set(PHONES)


def test_the_notify_job_twice_makes_the_same_rows(app, database, jobs, staff, standin, smtp):
    from workers.notifications import notify

    eid = new_escalation(app, database, jobs.clock)
    with using(app.extensions["quietline"]):
        first = notify(eid, "new", 1)
        second = notify(eid, "new", 1)
    assert first == second and len(first) == 4
    jobs.run()
    assert len(notifications(database)) == 4
    assert len(standin.messages()) == 2 and len(smtp.messages) == 2


def test_a_finished_send_run_again_sends_nothing(app, database, redis_conn, jobs, staff, standin, smtp):
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    assert len(standin.messages()) == 2
    # Reset every send job and run them all again, as a confused retry would.
    queue = Queue("calls", connection=redis_conn, serializer=JSONSerializer)
    for n in notifications(database):
        job = Job.fetch(f"notify-{n.id}", connection=redis_conn, serializer=JSONSerializer)
        assert job.return_value() == "sent"
        queue.enqueue_job(job)
    jobs.run()
    assert len(standin.messages()) == 2 and len(smtp.messages) == 2
    assert {n.attempts for n in notifications(database)} == {1}


class WorkerDied(BaseException):
    """Stands for SIGKILL: nothing after it in the job runs."""


def send_and_die_in(app, monkeypatch, name: str, notification_id: int) -> None:
    """Run the send job by hand and kill its worker when it reaches ``ivr.escalations.notify.<name>``."""
    from ivr.escalations import notify as notify_mod
    from workers.notifications import send_notification

    def die(*args, **kwargs):
        raise WorkerDied()

    real = getattr(notify_mod, name)
    monkeypatch.setattr(notify_mod, name, die)
    with using(app.extensions["quietline"]), pytest.raises(WorkerDied):
        send_notification(notification_id)
    monkeypatch.setattr(notify_mod, name, real)  # not undo(): the jobs fixture's clock patches stay


def test_a_worker_killed_after_the_provider_took_the_message_never_sends_it_again(app, database, redis_conn, jobs,
                                                                                  staff, standin, monkeypatch):
    from workers.notifications import notify

    eid = new_escalation(app, database, jobs.clock)
    with using(app.extensions["quietline"]):
        ids_ = notify(eid, "new", 1)
    sms_id = next(n.id for n in notifications(database) if n.channel == "sms")
    send_and_die_in(app, monkeypatch, "mark_sent", sms_id)
    assert len(standin.messages()) == 1
    row = next(n for n in notifications(database) if n.id == sms_id)
    assert row.status == "sending" and row.attempts == 1  # recorded before the provider was called
    [first] = standin.messages()
    # RQ retries the abandoned job: it finds the text at Twilio, records it, and sends nothing.
    jobs.run()
    assert ids_ and len(standin.messages()) == 2  # the other person's text, not a second one for this row
    assert sum(1 for m in standin.messages() if m["to"] == first["to"]) == 1
    row = next(n for n in notifications(database) if n.id == sms_id)
    assert (row.status, row.attempts, row.provider_id) == ("sent", 1, first["sid"])
    assert Job.fetch(f"notify-{sms_id}", connection=redis_conn, serializer=JSONSerializer).return_value() \
        == "sent before the worker died"


def test_a_worker_killed_before_the_text_left_sends_it_once_it_cannot_be_in_flight(app, database, redis_conn, jobs,
                                                                                   staff, standin, monkeypatch):
    """Killed between recording ``sending`` and calling Twilio: the text is not lost, and not sent twice."""
    from ivr.escalations import notify as notify_mod
    from workers.notifications import notify

    eid = new_escalation(app, database, jobs.clock)
    with using(app.extensions["quietline"]):
        notify(eid, "new", 1)
    sms_row = next(n for n in notifications(database) if n.channel == "sms")
    sms_id = sms_row.id
    to = PHONES[next(email for email, uid in staff.items() if uid == sms_row.user_id)]
    send_and_die_in(app, monkeypatch, "_send_sms", sms_id)
    row = next(n for n in notifications(database) if n.id == sms_id)
    assert (row.status, row.claimed_at) == ("sending", jobs.clock.now)
    claimed = jobs.clock.now

    # Soon after: the dead worker's request might still reach Twilio, so the retry waits (RQ backs off).
    jobs.clock.now = claimed + dt.timedelta(seconds=10)
    jobs.run()
    assert [m for m in standin.messages() if m["to"] == to] == []
    assert next(n for n in notifications(database) if n.id == sms_id).status == "sending"

    # Past the client's timeout it cannot arrive any more: the retry sends it, once.
    jobs.at(claimed + dt.timedelta(seconds=notify_mod.IN_FLIGHT_SECONDS + 60))
    mine = [m for m in standin.messages() if m["to"] == to]
    assert len(mine) == 1 and mine[0]["body"].startswith(f"New billing question #{eid}, due by")
    row = next(n for n in notifications(database) if n.id == sms_id)
    assert (row.status, row.attempts, row.provider_id) == ("sent", 2, mine[0]["sid"])
    jobs.at(claimed + dt.timedelta(hours=1))
    assert len([m for m in standin.messages() if m["to"] == to]) == 1


def test_an_email_left_sending_by_a_dead_worker_is_never_sent_again(app, database, redis_conn, jobs, staff, standin,
                                                                    smtp, monkeypatch):
    """SMTP cannot be asked whether it took a message, so an e-mail stays at most once."""
    from workers.notifications import notify

    eid = new_escalation(app, database, jobs.clock)
    with using(app.extensions["quietline"]):
        notify(eid, "new", 1)
    email_id = next(n.id for n in notifications(database) if n.channel == "email")
    send_and_die_in(app, monkeypatch, "send_mail", email_id)
    jobs.at(jobs.clock.now + dt.timedelta(minutes=5))
    assert next(n for n in notifications(database) if n.id == email_id).status == "sending"
    assert Job.fetch(f"notify-{email_id}", connection=redis_conn, serializer=JSONSerializer).return_value() \
        == "not pending"


# --------------------------------------------------------------------------- failures

def test_failing_channels_are_retried_with_backoff_then_the_backup_is_paged(app, database, redis_conn, jobs, staff,
                                                                            standin, smtp):
    t0 = jobs.clock.now
    standin.fail_next("/Messages.json", 500, count=8)  # two people × four tries
    smtp.refuse.extend(["451 4.3.0 try again later"] * 8)
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    rows = notifications(database)
    assert [(n.status, n.attempts) for n in rows] == [("pending", 1)] * 4
    assert {n.error for n in rows} == {"sms: twilio 500 code 20500", "email: recipient refused (451)"}
    sends = {f"notify-{n.id}" for n in rows}
    assert {j: t for j, t in jobs.scheduled().items() if j in sends} == {
        j: t0 + dt.timedelta(seconds=30) for j in sends}

    jobs.at(t0 + dt.timedelta(seconds=29))
    assert {n.attempts for n in notifications(database)} == {1}
    jobs.at(t0 + dt.timedelta(seconds=30))
    assert {n.attempts for n in notifications(database)} == {2}
    jobs.at(t0 + dt.timedelta(seconds=150))
    assert {n.attempts for n in notifications(database)} == {3}
    assert standin.messages() == [] and smtp.messages == []
    jobs.at(t0 + dt.timedelta(seconds=750))  # the last try fails too: level 1 is out, the backup is paged
    rows = notifications(database)
    level1 = [n for n in rows if n.key.split(":")[2] == "1"]
    assert [(n.status, n.attempts) for n in level1] == [("failed", 4)] * 4
    assert texts(standin) == [(PHONES["backup@example.com"],
                               f"New billing question #{eid}, due by Tue, Nov 24 at 6 PM. {LINK}{eid}")]
    assert [to for to, _, _ in smtp.texts()] == ["backup@example.com"]
    assert escalations(database)[0].escalation_level == 2


def test_a_permanent_refusal_fails_at_once_and_one_channel_is_enough(app, database, jobs, staff, standin, smtp):
    standin.fail_next("/Messages.json", 400, count=2)  # e.g. not a mobile number
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    rows = notifications(database)
    assert sorted((n.channel, n.status, n.attempts) for n in rows) == [
        ("email", "sent", 1), ("email", "sent", 1), ("sms", "failed", 1), ("sms", "failed", 1)]
    assert not any(j.startswith("notify-") for j in jobs.scheduled())  # nothing to retry
    assert escalations(database)[0].escalation_level == 1  # email reached them: no need to page the backup


def test_nobody_reachable_at_a_level_pages_the_next_at_once(app, database, jobs, staff, standin, smtp):
    smtp.refuse.extend(["550 5.1.1 no such user"] * 2)
    with database.sessions() as db, db.begin():
        for email in EMAILS:
            db.query(StaffUser).filter_by(email=email).update({"phone": None})
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    level1 = {(n.channel, n.status, n.error) for n in notifications(database) if n.key.split(":")[2] == "1"}
    assert level1 == {("sms", "failed", "no phone number"), ("email", "failed", "email: recipient refused (550)")}
    assert texts(standin) == [(PHONES["backup@example.com"],
                               f"New billing question #{eid}, due by Tue, Nov 24 at 6 PM. {LINK}{eid}")]


def test_an_unknown_outcome_is_never_retried(app, database, jobs, staff, standin, smtp, monkeypatch):
    """Twilio took longer than our timeout: it may have sent the text, so we do not send another."""
    from ivr.telephony import twilio_rest

    real = twilio_rest.make_client
    monkeypatch.setattr(twilio_rest, "make_client", lambda settings, timeout=None: real(settings, timeout=0.3))
    standin.delay_next("/Messages.json", 1.0, count=1)
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    failed = [n for n in notifications(database) if n.status == "failed"]
    assert [(n.channel, n.error, n.attempts) for n in failed] == [("sms", "sms: ReadTimeout", 1)]
    jobs.at(jobs.clock.now + dt.timedelta(hours=1))
    # The slow one arrives anyway (the stand-in answers it late); then nobody has two.
    wait_for(lambda: len(standin.messages()) >= 2, 30, "the delayed text to arrive at the stand-in")
    assert len(standin.messages()) == 2


def test_every_level_failing_ends_in_the_log_not_a_loop(app, database, jobs, staff, standin, smtp, caplog):
    standin.fail_next("/Messages.json", 400, count=20)
    smtp.refuse.extend(["550 5.7.1 refused"] * 20)
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    assert {n.status for n in notifications(database)} == {"failed"}
    assert sorted({n.key.split(":")[2] for n in notifications(database)}) == ["1", "2", "3"]
    assert f"escalation {eid}: every new notification up to level 3 failed" in caplog.text


def test_after_hours_only_the_on_call_person_is_told(app, database, jobs, staff, standin, smtp):
    jobs.clock.now = CLOSED_NOW
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    assert [to for to, _ in texts(standin)] == [PHONES["oncall@example.com"]]
    assert [to for to, _, _ in smtp.texts()] == ["oncall@example.com"]


def test_an_on_call_clinician_limited_to_crises_is_not_told_of_billing(app, database, jobs, staff, standin, smtp):
    """After hours with the on-call entry limited to crises: billing falls through to the backup."""
    from sqlalchemy import update

    from ivr.escalations.models import RosterEntry

    with database.sessions() as db, db.begin():
        db.execute(update(RosterEntry).where(RosterEntry.user_id == staff["oncall@example.com"])
                   .values(categories=["crisis"]))
    jobs.clock.now = CLOSED_NOW
    billing = new_escalation(app, database, jobs.clock)
    crisis = new_escalation(app, database, jobs.clock, reason="crisis", call_sid="CA" + "8" * 32)
    for eid in (billing, crisis):
        app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    told = sorted((n.escalation_id, n.key.split(":")[2], n.user_id) for n in notifications(database)
                  if n.channel == "sms")
    assert told == [(billing, "2", staff["backup@example.com"]), (crisis, "1", staff["oncall@example.com"])]
    assert sorted(to for to, _ in texts(standin)) == sorted([PHONES["backup@example.com"],
                                                             PHONES["oncall@example.com"]])


def test_without_smtp_only_texts_are_made(app, database, jobs, staff, standin, smtp):
    import dataclasses

    ql = app.extensions["quietline"]
    ql.settings = dataclasses.replace(ql.settings, smtp_host="")
    eid = new_escalation(app, database, jobs.clock)
    ql.jobs.notify(eid, "new", 1)
    jobs.run()
    assert {n.channel for n in notifications(database)} == {"sms"} and len(standin.messages()) == 2
    assert smtp.messages == []


def test_nobody_on_the_roster_is_logged(app, database, jobs, standin, caplog):
    eid = new_escalation(app, database, jobs.clock)
    app.extensions["quietline"].jobs.notify(eid, "new", 1)
    jobs.run()
    assert notifications(database) == [] and standin.messages() == []
    assert f"escalation {eid}: nobody on call at level 1 or above" in caplog.text
