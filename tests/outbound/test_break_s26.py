"""Break test bt1112-s26, the pure parts.

SHOULD-FIX 3: the practice's listed line (``TWILIO_NUMBER``, the number callers dial) is refused in
``caller_id.numbers`` as the front desk's number is, with file and line, by ``flows check`` and by the rules the
service loads; ``checked_from`` refuses it at send time too.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from ivr.actions.catalog import default_registry
from ivr.contact.sending import checked_from
from ivr.exceptions import OutboundRefused
from ivr.flowlang import store as flowstore
from ivr.outbound.rules import CallerId, parse_outbound
from tests.flowlang.test_flows_cli import flows_check
from tests.helpers.outbound import practice

ROOT = Path(__file__).resolve().parents[2]
PRACTICE = practice()
LISTED = "+15555550100"  # the demo practice's number at the stand-in (DEMO_PRACTICE_NUMBER)
POOL = """\
caller_id:
  name: Appointments
  numbers: ["+1 555 010 0190", "+1 555 555 0100"]
"""


def test_the_listed_line_is_refused_in_the_pool_with_its_line() -> None:
    rules, problems = parse_outbound(POOL, PRACTICE, listed_numbers=["+1 (555) 555-0100"])
    assert rules is None
    assert [str(p) for p in problems if p.severity == "error"] == [
        "outbound.yaml:3: caller_id.numbers[1]: '+1 555 555 0100' is the practice's listed line (TWILIO_NUMBER, the "
        "number callers dial), not a neutral outbound number: every call and text would show it and its caller name"]


def test_without_a_listed_line_the_same_pool_loads_and_keeps_the_refused_numbers() -> None:
    rules, _ = parse_outbound(POOL, PRACTICE)
    assert rules is not None and rules.caller_id.numbers == ("+15550100190", LISTED)
    listed, _ = parse_outbound(POOL.replace(', "+1 555 555 0100"', ""), PRACTICE, listed_numbers=[LISTED])
    assert listed is not None and LISTED in listed.caller_id.refused


def test_checked_from_refuses_the_listed_line_even_in_the_pool() -> None:
    rules, _ = parse_outbound(POOL, PRACTICE)
    assert rules is not None
    forced = dataclasses.replace(rules, caller_id=CallerId("Appointments", rules.caller_id.numbers, refused=(LISTED,)))
    assert checked_from(forced, "+15550100190") == "+15550100190"
    with pytest.raises(OutboundRefused, match="listed line"):
        checked_from(forced, LISTED)


def _flows_with_listed_line(tmp_path: Path) -> tuple[Path, int]:
    flows_dir = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows_dir)
    text = (flows_dir / "outbound.yaml").read_text()
    original = '    - "+1 555 010 0191"\n'
    assert original in text
    line = text[:text.index(original)].count("\n") + 1
    (flows_dir / "outbound.yaml").write_text(text.replace(original, '    - "+1 555 555 0100"\n'))
    return flows_dir, line


def test_the_flow_store_refuses_the_listed_line_it_is_given(tmp_path: Path) -> None:
    flows_dir, line = _flows_with_listed_line(tmp_path)
    _, problems = flowstore.check_dir(flows_dir, default_registry().signatures(), listed_numbers=[LISTED])
    assert [str(p).split(" (")[0] for p in problems if p.severity == "error"] == [
        f"outbound.yaml:{line}: caller_id.numbers[1]: '+1 555 555 0100' is the practice's listed line"]
    store = flowstore.FlowStore(flows_dir, default_registry().signatures(), listed_numbers=[LISTED])
    store.load()
    assert any("listed line" in p.message for p in store.problems)


def test_flows_check_refuses_twilio_number_in_the_pool(tmp_path: Path) -> None:
    flows_dir, line = _flows_with_listed_line(tmp_path)
    assert flows_check(str(flows_dir)).returncode == 0  # no TWILIO_NUMBER: nothing to compare with
    refused = flows_check(str(flows_dir), extra_env={"TWILIO_NUMBER": LISTED})
    assert refused.returncode == 1
    assert (f"outbound.yaml:{line}: caller_id.numbers[1]: '+1 555 555 0100' is the practice's listed line "
            "(TWILIO_NUMBER, the number callers dial)") in refused.stderr
