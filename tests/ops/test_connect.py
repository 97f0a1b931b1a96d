"""`flask --app app twilio connect|show|rollback` against the Twilio stand-in's IncomingPhoneNumbers."""
from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ivr.ops.connect import EXIT_AUTH, EXIT_NOT_ON_ACCOUNT, EXIT_USAGE
from tests.helpers.ops import NUMBER
from tests.helpers.service import PUBLIC

OLD = {
    "voice_url": "https://old-ivr.example.net/answer", "voice_method": "GET",
    "voice_fallback_url": "", "status_callback": "https://old-ivr.example.net/status",
    "sms_url": "https://old-ivr.example.net/sms", "sms_method": "POST",
}
OURS = {
    "voice_url": f"{PUBLIC}/twilio/voice", "voice_method": "POST",
    "voice_fallback_url": f"{PUBLIC}/twilio/fallback", "voice_fallback_method": "POST",
    "status_callback": f"{PUBLIC}/twilio/status", "status_callback_method": "POST",
    "sms_url": f"{PUBLIC}/twilio/sms", "sms_method": "POST",
    "voice_application_sid": None, "sms_application_sid": None,
}


def _number(standin):
    (number,) = [n for n in standin.numbers() if n["phone_number"] == NUMBER]
    return number


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["twilio", *args])


def _api_calls(standin, method=None):
    return [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in standin.requests()
            if method is None or r["method"] == method]


def test_connect_sets_the_four_webhooks_by_post_reads_them_back_and_keeps_the_old_values(make_app, standin):
    pn = standin.add_number(NUMBER, **OLD)["sid"]
    app = make_app()

    result = _run(app, "connect", "--number", "(555) 555-0100")

    assert result.exit_code == 0, result.output
    number = _number(standin)
    assert {k: number[k] for k in OURS} == OURS
    # Looked up, changed once, read back.
    assert _api_calls(standin) == [("GET", "IncomingPhoneNumbers.json"), ("GET", "Services"),
                                   ("POST", f"{pn}.json"), ("GET", f"{pn}.json")]
    assert f"voice_url: https://old-ivr.example.net/answer -> {PUBLIC}/twilio/voice" in result.output
    assert "read back and confirmed" in result.output
    saved = app.instance_path + f"/twilio/{pn}.previous.json"
    assert stat.S_IMODE(__import__("os").stat(saved).st_mode) == 0o600
    kept = json.loads(open(saved).read())
    assert kept["phone_number"] == NUMBER
    (entry,) = kept["history"]
    assert entry["previous"]["voice_url"] == OLD["voice_url"]
    assert entry["previous"]["voice_method"] == "GET"
    assert entry["saved_at"] == "2026-11-23T15:00:00+00:00"  # the injected clock


def test_a_second_connect_changes_nothing_and_says_so(make_app, standin):
    pn = standin.add_number(NUMBER, **OLD)["sid"]
    app = make_app()
    assert _run(app, "connect", "--number", NUMBER).exit_code == 0
    saved = open(app.instance_path + f"/twilio/{pn}.previous.json").read()
    standin.reset()
    standin.add_number(NUMBER, sid=pn, **OURS)

    again = _run(app, "connect", "--number", NUMBER)

    assert again.exit_code == 0, again.output
    assert "already points at https://ql.example.org; nothing changed" in again.output
    assert _api_calls(standin, "POST") == []
    # The values from before the first connect stay the ones a rollback restores.
    assert open(app.instance_path + f"/twilio/{pn}.previous.json").read() == saved


@pytest.mark.parametrize("how", [["rollback"], ["connect", "--rollback"]])
def test_rollback_puts_back_what_connect_replaced_once(make_app, standin, how):
    standin.add_number(NUMBER, **OLD, voice_application_sid="AP" + "1" * 32)
    before = _number(standin)
    app = make_app()
    assert _run(app, "connect", "--number", NUMBER).exit_code == 0
    assert _number(standin)["voice_application_sid"] is None  # it would make Twilio ignore VoiceUrl

    back = _run(app, *how, "--number", NUMBER)

    assert back.exit_code == 0, back.output
    after = _number(standin)
    managed = [*OURS, "voice_application_sid"]
    assert {k: after[k] or None for k in managed} == {k: before[k] or None for k in managed}
    assert "rolled back" in back.output
    again = _run(app, *how, "--number", NUMBER)
    assert again.exit_code == EXIT_USAGE
    assert "nothing to roll back" in again.output


def test_a_number_in_a_messaging_service_is_connected_with_a_warning(make_app, standin):
    standin.add_number(NUMBER, **OLD)
    service = standin.add_messaging_service(NUMBER)
    app = make_app()

    result = _run(app, "connect", "--number", NUMBER)

    assert result.exit_code == 0, result.output
    assert f"warning: the number belongs to Messaging Service {service}" in result.output
    assert "Defer to sender's webhook" in result.output
    assert _number(standin)["sms_url"] == f"{PUBLIC}/twilio/sms"


def test_a_number_not_on_the_account_is_refused_and_nothing_changes(make_app, standin):
    standin.add_number("+15555550199", **OLD)
    app = make_app()

    result = _run(app, "connect", "--number", NUMBER)

    assert result.exit_code == EXIT_NOT_ON_ACCOUNT
    assert "+15555550100 is not a number of this Twilio account" in result.output
    assert _api_calls(standin, "POST") == []
    assert _number_at(standin, "+15555550199")["voice_url"] == OLD["voice_url"]


def _number_at(standin, e164):
    return next(n for n in standin.numbers() if n["phone_number"] == e164)


def test_an_http_public_base_url_is_refused_before_anything_is_sent(make_app, standin):
    standin.add_number(NUMBER, **OLD)
    # Real Twilio: the URL would carry callers' answers in clear.
    app = make_app(public_base_url="http://ql.example.org", twilio_api_url="https://api.twilio.com")

    result = _run(app, "connect", "--number", NUMBER)

    assert result.exit_code == EXIT_USAGE
    assert "PUBLIC_BASE_URL must be an https:// URL" in result.output
    assert standin.requests() == []


def test_http_is_allowed_against_the_local_stand_in(make_app, standin):
    standin.add_number(NUMBER, **OLD)
    app = make_app(public_base_url="http://127.0.0.1:8000")

    assert _run(app, "connect", "--number", NUMBER).exit_code == 0
    assert _number(standin)["voice_url"] == "http://127.0.0.1:8000/twilio/voice"


def test_wrong_credentials_are_named_with_their_own_exit_status(make_app, standin):
    standin.add_number(NUMBER, **OLD)
    app = make_app(twilio_auth_token="not-the-account-token")

    result = _run(app, "connect", "--number", NUMBER)

    assert result.exit_code == EXIT_AUTH
    assert "Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN" in result.output
    assert _number(standin)["voice_url"] == OLD["voice_url"]


@pytest.mark.parametrize("command", [["connect"], ["show"], ["rollback"], ["connect", "--rollback"]])
def test_the_development_token_is_never_sent_to_twilio(make_app, standin, command):
    """`make run`'s token with the real API (a newcomer rehearsing in another terminal without the stand-in's
    address): refused before any request, saying how to reach the stand-in; not Twilio's 401 read as bad
    credentials."""
    standin.add_number(NUMBER, **OLD)
    app = make_app(twilio_auth_token="dev-" + "5" * 32, twilio_api_url="https://api.twilio.com",
                   public_base_url="https://ql.example.org")

    result = _run(app, *command, "--number", NUMBER)

    assert result.exit_code == EXIT_AUTH
    assert result.output.startswith("error: TWILIO_AUTH_TOKEN is the development token of `make run`, and "
                                    "TWILIO_API_URL is https://api.twilio.com: nothing was sent.")
    assert "TWILIO_API_URL=http://127.0.0.1:8010 PUBLIC_BASE_URL=http://127.0.0.1:8000" in result.output
    assert standin.requests() == []


def test_a_bad_number_is_refused(make_app, standin):
    result = _run(make_app(), "connect", "--number", "12")
    assert result.exit_code == EXIT_USAGE
    assert "not a possible phone number" in result.output


def test_the_number_defaults_to_twilio_number(make_app, standin):
    standin.add_number(NUMBER, **OLD)
    assert _run(make_app(twilio_number="555-555-0100"), "connect").exit_code == 0
    assert _number(standin)["voice_url"] == f"{PUBLIC}/twilio/voice"


def test_show_says_whether_the_number_points_here(make_app, standin):
    standin.add_number(NUMBER, **OLD)
    app = make_app()

    before = _run(app, "show", "--number", NUMBER)
    assert before.exit_code == 1
    assert f"voice_url: {OLD['voice_url']}" in before.output
    assert "does not point at https://ql.example.org" in before.output

    assert _run(app, "connect", "--number", NUMBER).exit_code == 0
    after = _run(app, "show", "--number", NUMBER)
    assert after.exit_code == 0, after.output
    assert "points at https://ql.example.org" in after.output


def test_each_connect_that_changes_something_can_be_rolled_back_in_turn(make_app, standin):
    standin.add_number(NUMBER, **OLD)
    assert _run(make_app(), "connect", "--number", NUMBER).exit_code == 0
    moved = make_app(public_base_url="https://phone.example-practice.org")
    assert _run(moved, "connect", "--number", NUMBER).exit_code == 0
    assert _number(standin)["voice_url"] == "https://phone.example-practice.org/twilio/voice"

    assert _run(moved, "rollback", "--number", NUMBER).exit_code == 0
    assert _number(standin)["voice_url"] == f"{PUBLIC}/twilio/voice"
    assert _run(moved, "rollback", "--number", NUMBER).exit_code == 0
    assert {k: _number(standin)[k] for k in OLD} == OLD
    assert _run(moved, "rollback", "--number", NUMBER).exit_code == EXIT_USAGE


def test_an_unreadable_saved_file_is_never_overwritten(make_app, standin):
    pn = standin.add_number(NUMBER, **OLD)["sid"]
    app = make_app()
    saved = Path(app.instance_path) / "twilio" / f"{pn}.previous.json"
    saved.parent.mkdir(parents=True)
    saved.write_text("{not json")

    result = _run(app, "connect", "--number", NUMBER)

    assert result.exit_code == EXIT_USAGE
    assert "is not readable" in result.output
    assert saved.read_text() == "{not json"
    assert _number(standin)["voice_url"] == OLD["voice_url"]
