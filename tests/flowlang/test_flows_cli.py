"""``flask --app app flows check``, run as a real command exactly as an owner would run it."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.helpers.flows import CORPUS, expected_patterns, flows_check, owner_command, unmatched

ROOT = Path(__file__).resolve().parents[2]


WITHOUT_NAMES = ("Checked without clinician names: no database is configured (DATABASE_URL unset and no instance "
                 "database yet).\n")


@pytest.mark.parametrize("args", [("flows", "actions"), ("speech", "--help"), ("flows", "--help")])
def test_offline_owner_commands_need_no_secrets(args: tuple[str, ...]) -> None:
    """Fix14-left finding 7: they once stopped at "TWILIO_AUTH_TOKEN is not set"."""
    done = owner_command(*args)
    assert done.returncode == 0, done.stderr
    assert "TWILIO_AUTH_TOKEN" not in done.stderr and "IVR_DATA_KEY" not in done.stderr
    if args == ("flows", "actions"):
        assert done.stdout.startswith("book_new_slot: booked, taken, invalid\n")
        assert "\nverify_identity: verified, failed, locked\n" in done.stdout


def test_shipped_flows_pass_by_default() -> None:
    done = flows_check()
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    shipped = len([f for f in (ROOT / "flows").glob("*.yaml") if f.name not in ("practice.yaml", "outbound.yaml")])
    assert done.stdout.startswith(WITHOUT_NAMES)
    assert re.fullmatch(rf"OK: {shipped} flows, \d+ steps, version [0-9a-f]{{12}} \(.*/flows\)\n",
                        done.stdout[len(WITHOUT_NAMES):])


def test_shipped_flows_pass_given_the_directory_or_a_file_in_it() -> None:
    by_dir = flows_check("flows")
    by_file = flows_check("flows/main.yaml")
    assert by_dir.returncode == by_file.returncode == 0
    assert re.match(r"Checked without clinician names: .*\nOK: \d+ flows, \d+ steps, version ", by_dir.stdout)
    version = by_dir.stdout.split("version ")[1][:12]
    assert f"version {version}" in by_file.stdout


# Each run starts a Python process (~2 s); every corpus case is checked in-process by test_loader.
@pytest.mark.parametrize("case", [
    "many_problems", "many_files", "practice_and_flows_broken", "alias_bomb", "python_tag", "oversize_file",
])
def test_broken_flows_fail_with_every_problem_on_stderr(case: str) -> None:
    path = CORPUS / case
    done = flows_check(str(path))
    assert done.returncode == 1
    assert done.stdout == WITHOUT_NAMES  # the only line on stdout: every problem is on stderr
    *lines, summary = done.stderr.splitlines()
    missing, unexpected = unmatched(expected_patterns(case), lines)
    assert not missing and not unexpected, done.stderr
    assert summary == f"{len(lines)} problem(s) in {path}"


def test_a_missing_path_is_a_usage_error() -> None:
    done = flows_check("no/such/dir")
    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_flows_check_lints_outbound_words_with_the_clinicians_of_the_configured_database(
        any_database, db_url: str, tmp_path: Path) -> None:
    """Break-test S7: the running service refused a clinician's name that `flows check` passed."""
    from ivr.practice.models import Clinician

    with any_database.sessions() as db, db.begin():
        db.add(Clinician(id="clin-77", name="Dr. Jordan Okafor", working_hours={}, session_minutes=50))
    flows_dir = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows_dir)
    text = (flows_dir / "outbound.yaml").read_text()
    original = "  text: Hello, this is a message about an appointment. Please call us at {{ callback_number }}.\n"
    line = text[:text.index(original)].count("\n") + 1
    (flows_dir / "outbound.yaml").write_text(text.replace(
        original, "  text: Okafor's office here. Please call us at {{ callback_number }}.\n"))
    done = flows_check(str(flows_dir), extra_env={"DATABASE_URL": db_url})
    assert done.returncode == 1
    shown = db_url.split("@")[-1] if "@" in db_url else db_url
    assert done.stdout.startswith("Checked with 1 clinician name(s) from the database ")
    assert shown.split("?")[0] in done.stdout.splitlines()[0]
    assert done.stderr.splitlines() == [
        f"outbound.yaml:{line}: neutral.text: not discreet: it names a clinician ('Okafor')",
        f"1 problem(s) in {flows_dir}"]
    # The same files without a database: checked, and said to be checked, without the names.
    done = flows_check(str(flows_dir))
    assert (done.returncode, done.stdout.splitlines()[0] + "\n") == (0, WITHOUT_NAMES)
