"""Identity verification that cannot be brute-forced, probed or turned against clients (docs/security.md).

Real simulated calls (signed webhooks, TwiML followed as Twilio would), a real Redis, the demo
practice in a real SQLite database, real RQ workers and the Twilio stand-in; the staff side
through the dashboard.  The policy's database queries also run on PostgreSQL.
Monday 23 November 2026, 10:00 in New York, unless a test moves the clock.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ivr.db import database as db_mod
from ivr.escalations.models import AuditEntry
from ivr.practice import verification
from ivr.practice.demo import DEMO_PIN
from ivr.practice.models import (
    Client,
    ClientPhone,
    VerificationFailure,
    VerificationLock,
)
from tests.helpers.escalations import DEMO_PASSWORD, escalations, texts

ALEX, FAMILY, CASEY, JAMIE, MORGAN = "+15551230001", "+15551230002", "+15550100109", "+15550100111", "+15550100107"
DANA_OTHER = "+15550100108"
STRANGER = "+15557654321"
ALEX_DOB, RILEY_DOB, DANA_DOB, CASEY_DOB, JAMIE_DOB = "04151985#", "02142009#", "06211978#", "08301990#", "12051969#"
WRONG = ("01011990#", "02021991#", "03031992#")
ASK_DOB = ("To protect your privacy, please enter your date of birth as eight digits, month, day and year, then "
           "press pound. Or say it. If you have a PIN with us, press star, then your PIN, then pound. "
           "If you are new to our practice, press 4 and then pound, or say new client. "
           "If you are in crisis, press 9 and then pound, or say crisis.")
ASK_NUMBER = ("Please enter the phone number we have on file for you, including the area code, then press "
              "pound. If you are new to our practice, press 4 and then pound, or say new client. "
              "If you are in crisis, press 9 and then pound, or say crisis.")
# The new-client offer is the number prompt's, said right after (bt14-s27 SHOULD-FIX 5: never twice in a row).
NOT_CONFIRMED = "Sorry, I couldn't confirm those details. Let's try again."
CANNOT = "I'm sorry, I can't confirm your identity over the phone right now."
CONNECTING = "One moment while I connect you."
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def typed(e164: str) -> str:
    """A number as a caller keys it in for the number on file (ten digits)."""
    return e164[-10:]


def answers(*dobs: str, number: str, withheld: bool = False, then: str = "answer") -> str:
    """Appointments (1), then a date of birth per attempt; each retry first types ``number`` as the number on file.

    A withheld caller is asked for the number before the first attempt too.  ``then``: what the
    caller does when handed to a person (the front desk answers).
    """
    steps = ["1"] + ([typed(number)] if withheld else [])
    for i, dob in enumerate(dobs):
        if i:
            steps.append(typed(number))
        steps.append(dob)
    return ";".join(steps + ([then] if then else []))


def charged(database) -> Counter:
    """Failures per subject, without the decoys (verification.with_decoys; counted by decoys())."""
    with database.sessions() as db:
        return Counter(s for s in db.scalars(select(VerificationFailure.subject)) if not s.startswith("decoy:"))


def decoys(database) -> Counter:
    with database.sessions() as db:
        return Counter(s for s in db.scalars(select(VerificationFailure.subject)) if s.startswith("decoy:"))


def is_locked(database, subject: str, now: dt.datetime) -> bool:
    with database.sessions() as db:
        return verification.locked(db, subject, now)


def heard_about(result, *secrets: str) -> list[str]:
    return [h for h in result.heard if any(s in h for s in secrets)]


ALEX_SECRETS = ("Alex", "Chen", "10 AM", "appointment is")


# --------------------------------------------------------------------------- what callers hear

def test_three_wrong_answers_then_a_person_and_every_subject_is_charged(sim, database, clock):
    result = sim.call(from_=ALEX, script=answers(*WRONG, number=ALEX))
    assert result.heard[2:] == [ASK_DOB, NOT_CONFIRMED, ASK_NUMBER, ASK_DOB, NOT_CONFIRMED, ASK_NUMBER, ASK_DOB,
                                CANNOT, CONNECTING]
    assert ("dial", ["+15550100100"]) in result.transcript  # the front desk, as for anyone who presses 0
    assert charged(database) == {f"caller:{ALEX}": 3, "client:C-1001": 3, "practice": 3}
    assert sorted(decoys(database).values()) == [3, 3]  # two decoys pad Alex's number to three candidates
    with database.sessions() as db:
        kinds = set(db.scalars(select(VerificationFailure.kind)))
        turns = sorted(set(db.scalars(select(VerificationFailure.turn))))
    assert kinds == {"date"} and len(turns) == 3  # one turn per answer
    assert is_locked(database, "client:C-1001", clock.now) and is_locked(database, f"caller:{ALEX}", clock.now)
    assert not is_locked(database, "practice", clock.now)


@pytest.mark.parametrize("member, stranger, withheld", [
    (ALEX, STRANGER, False),  # caller ID: a client's number and a stranger's
    (FAMILY, STRANGER, False),  # a family number shared by two clients
    (ALEX, STRANGER, True),  # withheld: a client's number on file and a stranger's
], ids=["caller-id", "family-number", "number-on-file"])
def test_member_and_stranger_hear_identical_twiml_at_every_step(sim, database, member, stranger, withheld):
    """The oracle: nothing in any answer, before or after a lock, tells a client's number from a stranger's."""
    caller = (lambda number: "Anonymous") if withheld else (lambda number: number)
    first_stranger = sim.call(from_=caller(stranger), script=answers(*WRONG, number=stranger, withheld=withheld))
    first_member = sim.call(from_=caller(member), script=answers(*WRONG, number=member, withheld=withheld))
    # The member's client is locked now: even the right date of birth is refused, in the same words.
    right = RILEY_DOB if member == FAMILY else ALEX_DOB
    locked_member = sim.call(from_=caller(member), script=answers(right, right, right, number=member,
                                                                  withheld=withheld))
    again_stranger = sim.call(from_=caller(stranger), script=answers(*WRONG, number=stranger, withheld=withheld))
    assert len(first_member.documents) == 8 + (1 if withheld else 0)  # every step of the failure path
    for other in (first_stranger, locked_member, again_stranger):
        assert other.documents == first_member.documents
        assert other.heard == first_member.heard
    assert not heard_about(locked_member, *ALEX_SECRETS, "Riley", "Ortiz")
    # A refused right answer is a failure like any other (no record, timing or word sets it apart).
    assert charged(database)["client:" + ("C-1004" if member == FAMILY else "C-1001")] == 6


# --------------------------------------------------------------------------- the practice counter and the work done

def test_the_practice_counter_counts_every_failure_so_it_reveals_nothing(sim, app, database, flows_dir, clock):
    """Failures with a stranger's number count against the practice exactly as a client's do: nine calls
    typing a client's number and nine typing strangers' lock the practice alike (with the ceiling at 9)."""
    practice = flows_dir / "practice.yaml"
    practice.write_text(practice.read_text().replace("max_failures_per_hour: 20", "max_failures_per_hour: 9"))
    assert app.extensions["quietline"].flows.maybe_reload()
    strangers = [f"+1555765{4300 + i}" for i in range(9)]
    for number in strangers:
        sim.call(from_=number, script="1;" + WRONG[0] + ";hangup")
    assert charged(database)["practice"] == 9
    assert is_locked(database, "practice", clock.now)  # the strangers' failures alone reached the ceiling
    assert not any(charged(database)[s] for s in charged(database) if s.startswith("client:"))
    refused = sim.call(from_=ALEX, script="1;" + ALEX_DOB + ";hangup")  # now Alex's right date is refused ...
    assert refused.heard[3] == NOT_CONFIRMED
    # ... exactly as after nine failures typing a client's number: no difference left to measure.
    with database.sessions() as db, db.begin():
        db.execute(text("DELETE FROM verification_failures"))
        db.execute(text("DELETE FROM verification_locks"))
    for number in strangers:
        sim.call(from_=number, script=answers(WRONG[0], number=ALEX, withheld=True, then="hangup"))
    assert charged(database)["practice"] == 9 and is_locked(database, "practice", clock.now)
    assert sim.call(from_=ALEX, script="1;" + ALEX_DOB + ";hangup").heard[3] == NOT_CONFIRMED


@pytest.mark.parametrize("member, stranger, withheld", [
    (ALEX, STRANGER, False),  # caller ID: a client's number and a stranger's
    (ALEX, STRANGER, True),  # withheld: a client's number on file and a stranger's
], ids=["caller-id", "number-on-file"])
def test_a_clients_number_and_a_strangers_cost_the_same_queries_and_writes(sim, database, member, stranger,
                                                                          withheld):
    """The work done to answer: every SQL statement the service runs, in order, is the same for a client's
    number and a stranger's, through three failures and the locks they start (the same answer locks both)."""
    from sqlalchemy import event

    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    caller = (lambda number: "Anonymous") if withheld else (lambda number: number)
    runs = {}
    for who, number in (("member", member), ("stranger", stranger)):
        statements.clear()
        event.listen(database.engine, "before_cursor_execute", seen)
        try:
            result = sim.call(from_=caller(number), script=answers(*WRONG, number=number, withheld=withheld))
        finally:
            event.remove(database.engine, "before_cursor_execute", seen)
        runs[who] = (list(statements), result.documents)
        with database.sessions() as db, db.begin():  # the next run starts from the same records
            db.execute(text("DELETE FROM verification_failures"))
            db.execute(text("DELETE FROM verification_locks"))
    assert runs["member"][1] == runs["stranger"][1]  # the same TwiML
    assert any("verification_locks" in s and s.lstrip().upper().startswith("UPDATE") for s in runs["member"][0])
    assert runs["member"][0] == runs["stranger"][0]


# --------------------------------------------------------------------------- the three bypasses

def test_family_number_failures_count_against_every_member(sim, database, clock):
    sim.call(from_=FAMILY, script=answers(*WRONG, number=FAMILY))
    assert charged(database)["client:C-1003"] == charged(database)["client:C-1004"] == 3
    riley = sim.call(from_=FAMILY, script="1;" + RILEY_DOB + ";hangup")
    assert riley.heard[3] == NOT_CONFIRMED and not heard_about(riley, "Riley", "Ortiz")
    dana = sim.call(from_=DANA_OTHER, script="1;" + DANA_DOB + ";hangup")  # Dana's own other number
    assert dana.heard[3] == NOT_CONFIRMED
    clock.advance(minutes=31)  # the lock lasts 30 minutes after the last failure that kept it
    riley = sim.call(from_=FAMILY, script="1;" + RILEY_DOB + ";3")
    assert riley.heard[3] == "Thanks, Riley. Your next appointment is Thursday at 4 PM with Sam Ortiz, LCSW."


def test_a_date_that_matches_two_family_members_verifies_nobody(sim, database):
    with database.sessions() as db, db.begin():
        twin = Client(id="C-1099", first_name="Jordan", last_name="Brooks", date_of_birth=dt.date(2009, 2, 14),
                      clinician_id="sam-ortiz", may_text=True)
        twin.phones = [ClientPhone(e164=FAMILY, position=0)]
        db.add(twin)
    result = sim.call(from_=FAMILY, script="1;" + RILEY_DOB + ";hangup")
    assert result.heard[3] == NOT_CONFIRMED and not heard_about(result, "Riley", "Jordan")
    assert charged(database) == {f"caller:{FAMILY}": 1, "client:C-1003": 1, "client:C-1004": 1,
                                 "client:C-1099": 1, "practice": 1}


def test_withheld_numbers_share_one_counter_and_nine_guesses_over_three_calls_reveal_nothing(sim, database):
    for _ in range(3):
        sim.call(from_="Anonymous", script=answers(*WRONG, number=ALEX, withheld=True))
    assert charged(database)["caller:withheld"] == 9  # not a fresh counter per call
    assert charged(database)["client:C-1001"] == 9
    fourth = sim.call(from_="Anonymous", script=answers(ALEX_DOB, number=ALEX, withheld=True, then="hangup"))
    assert fourth.heard[3:] == [ASK_DOB, NOT_CONFIRMED, ASK_NUMBER]
    assert not heard_about(fourth, *ALEX_SECRETS)


def test_rotating_caller_ids_cannot_guess_a_client(sim, database):
    for i in range(3):
        sim.call(from_=f"+1555765430{i}", script=answers(*WRONG, number=ALEX))
    # The first answer of each call is checked against the rotating number (nobody); the others against Alex.
    assert charged(database)["client:C-1001"] == 6
    assert all(charged(database)[f"caller:+1555765430{i}"] == 3 for i in range(3))
    after = sim.call(from_="+15557654309", script=answers(ALEX_DOB, ALEX_DOB, ALEX_DOB, number=ALEX))
    assert after.heard[-2:] == [CANNOT, CONNECTING]
    assert not heard_about(after, *ALEX_SECRETS)
    spoofed = sim.call(from_=ALEX, script="1;" + ALEX_DOB + ";hangup")  # Alex's own caller ID, right date
    assert spoofed.heard[3] == NOT_CONFIRMED and not heard_about(spoofed, *ALEX_SECRETS)


# --------------------------------------------------------------------------- a stranger cannot lock a client out

def test_a_locked_client_still_verifies_with_their_pin(sim, database):
    sim.call(from_="Anonymous", script=answers(*WRONG, number=CASEY, withheld=True))
    by_date = sim.call(from_=CASEY, script="1;" + CASEY_DOB + ";hangup")
    assert by_date.heard[3] == NOT_CONFIRMED
    by_pin = sim.call(from_=CASEY, script=f"1;*{DEMO_PIN}#;3")
    assert by_pin.heard[3].startswith("Thanks, Casey. Your next appointment is ")


def test_wrong_pins_stop_the_pin_too_until_staff_clear_it(sim, app, database, clock):
    wrong_pins = [f"*{n}#" for n in ("1111", "2222", "3333", "4444", "5555")]
    sim.call(from_="Anonymous", script=answers(*wrong_pins[:3], number=CASEY, withheld=True))
    sim.call(from_="Anonymous", script=answers(*wrong_pins[3:], number=CASEY, withheld=True))
    with database.sessions() as db:
        assert Counter(db.scalars(select(VerificationFailure.kind).where(
            VerificationFailure.subject == "client:C-1005"))) == {"pin": 5}
    clock.advance(hours=2)  # the date lock has long ended; the PIN limit counts a whole day
    refused = sim.call(from_=CASEY, script=f"1;*{DEMO_PIN}#;hangup")
    assert refused.heard[3] == NOT_CONFIRMED
    by_date = sim.call(from_=CASEY, script="1;" + CASEY_DOB + ";3")
    assert by_date.heard[3].startswith("Thanks, Casey.")
    with database.sessions() as db, db.begin():
        verification.clear(db, verification.client_subjects("C-1005", [CASEY]), None, clock.now)
    assert sim.call(from_=CASEY, script=f"1;*{DEMO_PIN}#;3").heard[3].startswith("Thanks, Casey.")


def test_staff_get_one_alert_per_lock_not_per_attempt(sim, database, jobs, staff, standin, clock):
    first = sim.call(from_="Anonymous", script=answers(*WRONG, number=ALEX, withheld=True))
    sim.call(from_="Anonymous", script=answers(*WRONG, number=ALEX, withheld=True))
    sim.call(from_="Anonymous", script=answers(ALEX_DOB, number=ALEX, withheld=True))
    sim.call(from_=ALEX, script=answers(*WRONG, number=ALEX))
    jobs.run()
    found = [(e.call_sid, e.reason, e.category, e.client_id) for e in escalations(database)]
    assert found == [(first.call_sid, "verification_failed", "verification_failed", None)]
    # Level 1 (front desk and on-call clinician), once: not two texts per attempt.
    assert sorted(to for to, _ in texts(standin)) == ["+15550100121", "+15550100123"]
    # The attempts kept it locked; 30 quiet minutes end the lock, and the next lock is a new alert.
    clock.advance(minutes=31)
    assert not is_locked(database, "client:C-1001", clock.now)
    again = sim.call(from_="Anonymous", script=answers(*WRONG, number=ALEX, withheld=True))
    jobs.run()
    assert [e.call_sid for e in escalations(database)] == [first.call_sid, again.call_sid]


def front_desk(app):
    """The front desk, signed in to the dashboard."""
    web = app.test_client()
    page = web.get("/staff/login")
    signed = web.post("/staff/login", data={"email": "frontdesk@example.com", "password": DEMO_PASSWORD,
                                            "csrf_token": CSRF_RE.search(page.get_data(as_text=True)).group(1)})
    assert signed.status_code == 303
    return web


def test_staff_verify_the_client_and_clear_the_lock_from_the_dashboard(app, sim, database, jobs, staff, clock):
    sim.call(from_="Anonymous", script=answers(*WRONG, number=ALEX, withheld=True))
    jobs.run()
    [escalation] = escalations(database)
    web = front_desk(app)
    page = web.get(f"/staff/e/{escalation.id}").get_data(as_text=True)
    assert "Verification lock" in page and "Client C-1001" in page and "Alex" not in page
    csrf = CSRF_RE.search(page).group(1)
    shown = web.post(f"/staff/e/{escalation.id}/locked/C-1001", data={"csrf_token": csrf}).get_data(as_text=True)
    assert "Alex Rivera" in shown and "+15551230001" in shown
    cleared = web.post(f"/staff/e/{escalation.id}/verification/clear",
                       data={"csrf_token": csrf, "subject": "client:C-1001"})
    assert cleared.status_code == 303
    with database.sessions() as db:
        log = [(a.action, a.target, a.detail) for a in db.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(["view_client", "verification_clear"])).order_by(AuditEntry.id))]
    assert log == [("view_client", "client:C-1001", f"escalation:{escalation.id}; locked"),
                   ("verification_clear", "client:C-1001", f"escalation:{escalation.id}")]
    assert not is_locked(database, "client:C-1001", clock.now)
    result = sim.call(from_=ALEX, script="1;" + ALEX_DOB + ";3")
    assert result.heard[3] == "Thanks, Alex. Your next appointment is tomorrow at 10 AM with Dr. Maya Chen."
    # Another escalation's id cannot clear a lock it did not raise.
    other = web.post(f"/staff/e/{escalation.id + 1}/verification/clear",
                     data={"csrf_token": csrf, "subject": "client:C-1001"})
    assert other.status_code == 404


# --------------------------------------------------------------------------- the practice-wide ceiling

def test_the_practice_wide_ceiling_raises_one_alert_and_refuses_dates_for_everyone(sim, app, database, flows_dir,
                                                                                 jobs, staff, clock):
    practice = flows_dir / "practice.yaml"
    practice.write_text(practice.read_text().replace("max_failures_per_hour: 20", "max_failures_per_hour: 4"))
    assert app.extensions["quietline"].flows.maybe_reload()
    calls = [sim.call(from_=number, script="1;" + WRONG[0] + ";hangup") for number in (ALEX, MORGAN, JAMIE, CASEY)]
    assert charged(database)["practice"] == 4
    assert is_locked(database, "practice", clock.now)
    # Nobody is locked on their own (one failure each), yet no date of birth verifies anyone now ...
    jamie = sim.call(from_=JAMIE, script="1;" + JAMIE_DOB + ";hangup")
    assert jamie.heard[3] == NOT_CONFIRMED
    # ... while a PIN still does.
    assert sim.call(from_=CASEY, script=f"1;*{DEMO_PIN}#;3").heard[3].startswith("Thanks, Casey.")
    sim.call(from_=DANA_OTHER, script="1;" + WRONG[1] + ";hangup")  # more failures: no second alert
    jobs.run()
    found = [(e.call_sid, e.reason, e.category, e.priority) for e in escalations(database)]
    assert found == [(calls[3].call_sid, "verification_ceiling", "verification_failed", 1)]
    # Staff look into it and lift it (audited); dates of birth verify again at once.
    web = front_desk(app)
    escalation_id = escalations(database)[0].id
    page = web.get(f"/staff/e/{escalation_id}").get_data(as_text=True)
    assert "Whole practice" in page and "Clear the practice-wide lock" in page
    cleared = web.post(f"/staff/e/{escalation_id}/verification/clear",
                       data={"csrf_token": CSRF_RE.search(page).group(1), "subject": "practice"})
    assert cleared.status_code == 303 and not is_locked(database, "practice", clock.now)
    assert sim.call(from_=JAMIE, script="1;" + JAMIE_DOB + ";3").heard[3].startswith("Thanks, Jamie.")
    with database.sessions() as db:
        assert db.scalar(select(AuditEntry.target).where(AuditEntry.action == "verification_clear")) == "practice"


# --------------------------------------------------------------------------- once per call turn

def test_a_retried_webhook_records_the_failure_once(sim, client, redis_conn, database):
    """Twilio retries the wrong answer: while the first request is still in flight (its state not yet
    saved: the session is put back as it was) and after it was answered.  One failure either way."""
    saved = {}
    keys = iter(["1", "snapshot", "hangup"])

    def caller(prompt: str) -> str:
        key = next(keys)
        if key == "snapshot":
            [call_key] = redis_conn.keys("ql:call:*")
            saved["key"], saved["dump"] = call_key, redis_conn.dump(call_key)
            return WRONG[0]
        return key

    result = sim.call(from_=ALEX, interactive=True, input_fn=caller)
    [request] = [r for r in result.requests if r.params.get("Digits") == WRONG[0].rstrip("#")]
    assert request.status == 200 and NOT_CONFIRMED in request.body
    first = charged(database)
    assert first == {f"caller:{ALEX}": 1, "client:C-1001": 1, "practice": 1}

    def replay() -> str:
        parts = urlsplit(request.url)
        response = client.post(f"{parts.path}?{parts.query}", data=request.params, headers={
            "X-Twilio-Signature": sim.validator.compute_signature(request.url, request.params)})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert replay() == request.body  # after the answer: from the call's cache
    redis_conn.restore(saved["key"], 0, saved["dump"], replace=True)
    assert replay() == request.body  # while in flight: the action runs again, and records nothing new
    assert charged(database) == first


# --------------------------------------------------------------------------- the policy's queries, both databases

@pytest.fixture
def any_db(db_url):
    database = db_mod.Database.from_url(db_url)
    db_mod.upgrade(database.engine)
    yield database
    database.dispose()


def test_recording_is_idempotent_per_turn_and_one_answer_starts_a_lock(any_db):
    now = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
    limits = verification.Limits(max_failures=2, window=dt.timedelta(minutes=30), practice_max_per_hour=100)

    def fail(call: str, turn: int, at: dt.datetime) -> verification.Recorded:
        with any_db.sessions() as db, db.begin():
            return verification.record_failure(db, call_sid=call, turn=turn, caller_key="caller:withheld",
                                               candidates=["C-1"], kind="date", now=at, limits=limits)

    assert fail("CA1", 3, now) == verification.Recorded(True, ())
    assert fail("CA1", 3, now) == verification.Recorded(False, ())
    second = fail("CA2", 3, now + dt.timedelta(minutes=1))
    assert second == verification.Recorded(True, ("caller:withheld", "client:C-1"))
    assert second.alerts() == ["verification_failed"]
    assert fail("CA2", 3, now + dt.timedelta(minutes=1)) == verification.Recorded(False, second.started)
    # While locked, more failures extend the lock and start nothing.
    assert fail("CA3", 5, now + dt.timedelta(minutes=20)).started == ()
    with any_db.sessions() as db:
        lock = db.get(VerificationLock, "client:C-1")
        assert (lock.call_sid, lock.turn, lock.locked_until) == ("CA2", 3, now + dt.timedelta(minutes=50))
        assert verification.locked(db, "client:C-1", now + dt.timedelta(minutes=49))
        assert not verification.locked(db, "client:C-1", now + dt.timedelta(minutes=50))
        rows = db.execute(select(VerificationFailure.call_sid, VerificationFailure.subject)).all()
    assert Counter(s for _, s in rows) == {"caller:withheld": 3, "client:C-1": 3, "practice": 3}
    with any_db.sessions() as db, db.begin():
        assert verification.clear(db, ["client:C-1"], 7, now + dt.timedelta(minutes=21)) == ["client:C-1"]
    with any_db.sessions() as db:
        allowed = verification.standing(db, "caller:+15550000000", ["C-1"], now + dt.timedelta(minutes=22), limits)
    assert allowed.date_allowed("C-1") and allowed.pin_allowed("C-1")


def test_failures_recorded_before_the_upgrade_keep_counting(db_url):
    """0004 → 0006 on a database in use: old rows become caller and client charges."""
    from alembic import command

    engine = db_mod.make_engine(db_url)
    try:
        config = db_mod.alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0004")
        at = dt.datetime(2026, 11, 23, 14, 50, tzinfo=dt.UTC)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO verification_failures (phone_key, client_id, call_sid, failed_at) "
                              "VALUES (:p, :c, :s, :at)"), [
                {"p": ALEX, "c": "C-1001", "s": "CA1", "at": at},
                {"p": "anonymous:CA2", "c": None, "s": "CA2", "at": at}])
        db_mod.upgrade(engine)
        with Session(engine) as s:
            rows = sorted((r.call_sid, r.subject, r.kind, r.failed_at) for r in s.scalars(select(VerificationFailure)))
        assert rows == [("CA1", f"caller:{ALEX}", "date", at), ("CA1", "client:C-1001", "date", at),
                        ("CA2", "caller:withheld", "date", at)]
        with engine.begin() as conn:  # and back, keeping the caller rows
            config.attributes["connection"] = conn
            command.downgrade(config, "0004")
        with engine.begin() as conn:
            back = sorted(conn.execute(text("SELECT phone_key, call_sid FROM verification_failures")).all())
        assert back == [(ALEX, "CA1"), ("anonymous:CA2", "CA2")]
    finally:
        engine.dispose()
