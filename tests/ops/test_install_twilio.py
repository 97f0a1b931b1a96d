"""What `twilio connect` and the doctor need, taken by the installer (ivr/ops/install.py): the number (validated as
E.164 with phonenumbers), the account SID and the auth token, from options, the environment or a prompt, written to
the environment file once and never overwritten."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from ivr.ops.install import (
    PROJECT_ROOT,
    InstallError,
    Layout,
    Note,
    Options,
    WriteFile,
    account_sid,
    e164,
    parse_env,
    plan,
    twilio_settings,
)
from tests.helpers.ops import FRESH, numbered_secrets

LAYOUT = Layout()
OPTIONS = Options(domain="phone.example-practice.org", version="0.1.0-abc123", source=PROJECT_ROOT)
SID = "AC" + "0123456789abcdef" * 2
ENV_FILE = "/etc/quietline/quietline.env"


def env_written(actions) -> dict[str, str]:
    (found,) = [a for a in actions if isinstance(a, WriteFile) and a.path == ENV_FILE]
    return parse_env(found.content.decode())


@pytest.mark.parametrize(("given", "stored"), [
    ("+12025550100", "+12025550100"),
    ("+1 (202) 555-0100", "+12025550100"),
    ("+44 20 7946 0000", "+442079460000"),
    (" +61 2 9876 5432 ", "+61298765432"),
])
def test_a_number_in_international_form_is_stored_as_e164(given, stored):
    assert e164(given) == stored


@pytest.mark.parametrize("given", ["2025550100", "(202) 555-0100", "+1 555 555 0100", "+1202555010", "+0123456",
                                   "+1 202 555 01OO", "twilio", "+"])
def test_a_number_that_is_not_e164_or_not_in_its_plan_is_refused_by_value(given):
    with pytest.raises(InstallError, match=r"--twilio-number .*E\.164"):
        e164(given)


def test_without_phonenumbers_the_shape_is_still_checked():
    # The installer runs on the system's Python (-S: no site-packages, so no phonenumbers).
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from ivr.ops.install import e164, InstallError\n"
            "print(e164('+1 (202) 555-0100'))\n"
            "for bad in ('2025550100', '+1 202 555 01OO', '+0123456'):\n"
            "    try: e164(bad)\n"
            "    except InstallError: print('refused')\n")
    done = subprocess.run([sys.executable, "-S", "-c", code, str(PROJECT_ROOT)], capture_output=True, text=True)
    assert done.stdout.split() == ["+12025550100", "refused", "refused", "refused"], done.stderr


def test_an_account_sid_has_twilios_shape():
    assert account_sid(f" {SID} ") == SID
    for bad in ("AC123", "SK" + SID[2:], SID.upper()):
        with pytest.raises(InstallError, match="--twilio-account-sid"):
            account_sid(bad)


def test_the_number_and_account_go_into_the_env_file_and_a_later_run_never_overwrites_them():
    options = Options(**{**OPTIONS.__dict__, "twilio_number": "+12025550100", "twilio_account_sid": SID,
                         "twilio_auth_token": "f" * 32})
    first = plan(FRESH, LAYOUT, options, numbered_secrets())
    env = env_written(first)
    assert (env["TWILIO_NUMBER"], env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"]) == (
        "+12025550100", SID, "f" * 32)
    assert not [a for a in first if isinstance(a, Note) and "TWILIO_" in a.text]

    # A second run with other values: the file is the administrator's; nothing written, and said so.
    text = "\n".join(f"{k}={v}" for k, v in env.items()) + "\n"
    from ivr.ops.install import FileFact
    facts = FRESH.__class__(**{**FRESH.__dict__, "files": {ENV_FILE: FileFact(text.encode(), 0o600, "quietline",
                                                                                "quietline")}})
    other = Options(**{**options.__dict__, "twilio_number": "+442079460000", "twilio_auth_token": "e" * 32})
    again = plan(facts, LAYOUT, other, numbered_secrets())
    assert not [a for a in again if isinstance(a, WriteFile) and a.path == ENV_FILE]
    notes = [a.text for a in again if isinstance(a, Note)]
    assert any(n.startswith("TWILIO_NUMBER is already set") and "+442079460000 not written" in n for n in notes)
    assert any(n.startswith("TWILIO_AUTH_TOKEN is already set") for n in notes)
    assert not any("e" * 32 in n for n in notes)  # a token is never echoed


def test_a_missing_number_is_named_with_what_to_run():
    notes = [a.text for a in plan(FRESH, LAYOUT, OPTIONS, numbered_secrets()) if isinstance(a, Note)]
    assert any(n.startswith("TWILIO_NUMBER is not set: run the install again with --twilio-number") for n in notes)
    assert env_written(plan(FRESH, LAYOUT, OPTIONS, numbered_secrets()))["TWILIO_NUMBER"] == ""


def args(**given) -> argparse.Namespace:
    return argparse.Namespace(**{"twilio_number": "", "twilio_account_sid": "", **given})


def test_asked_for_in_a_terminal_only_for_what_the_env_file_lacks():
    asked: list[tuple[str, bool]] = []
    answers = iter(["+1 202 555 0100", SID, "token-typed"])

    def ask(prompt: str, secret: bool) -> str:
        asked.append((prompt.split(" (")[0].split(",")[0], secret))
        return next(answers)

    got = twilio_settings(args(), {}, {}, ask)
    assert got == {"twilio_number": "+12025550100", "twilio_account_sid": SID, "twilio_auth_token": "token-typed"}
    assert asked == [("The practice's Twilio number", False), ("Twilio account SID", False),
                     ("Twilio auth token", True)]
    # Already in the env file: nothing asked. Options and the environment win over a prompt.
    asked.clear()
    full = {"TWILIO_NUMBER": "+12025550100", "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "x"}
    assert twilio_settings(args(), full, {}, ask) == {"twilio_number": "", "twilio_account_sid": "",
                                                      "twilio_auth_token": ""}
    assert asked == []
    assert twilio_settings(args(twilio_number="+442079460000"), {}, {"TWILIO_AUTH_TOKEN": "t"}, None) == {
        "twilio_number": "+442079460000", "twilio_account_sid": "", "twilio_auth_token": "t"}


def test_a_bad_number_stops_the_install_before_anything_is_done(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ivr.ops.install", "--dry-run", "--no-prompt", "--twilio-number",
                           "555-0100", "--transcript", str(tmp_path / "t.log")], capture_output=True, text=True,
                          cwd=PROJECT_ROOT)
    assert done.returncode == 2
    assert "install stopped: --twilio-number '555-0100': not a number in international form" in done.stderr
    assert not (tmp_path / "t.log").exists()
