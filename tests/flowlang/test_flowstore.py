"""The flows a running service serves: checked at start, reloaded on change, never replaced by a broken edit."""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
import redis

from ivr.actions.catalog import default_registry
from ivr.app import create_app
from ivr.exceptions import FlowError
from ivr.flowlang import store as flowstore
from ivr.flowlang.store import FlowStore, check_dir, read_dir

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parents[1] / "broken_flows"
ACTIONS = default_registry().signatures()
BROKEN_MAIN = (CORPUS / "unknown_next" / "main.yaml").read_text()


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", target)
    return target


_stamp = [0]


def write(path: Path, text: str) -> None:
    """Write and give the file a new mtime, so the change shows even on coarse-clock file systems."""
    path.write_text(text)
    _stamp[0] += 1
    ns = path.stat().st_mtime_ns + _stamp[0] * 1_000_000_000
    os.utime(path, ns=(ns, ns))


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """Every directory FlowStore parses (it calls flowstore.check_dir each time it reads the files)."""
    seen: list[Path] = []
    real = flowstore.check_dir

    def counting(path, actions, **kwargs):
        seen.append(Path(path))
        return real(path, actions, **kwargs)

    monkeypatch.setattr(flowstore, "check_dir", counting)
    return seen


# --------------------------------------------------------------------------- reading a directory


def test_read_dir_splits_practice_from_flows(flows_dir: Path) -> None:
    (flows_dir / "extra.yml").write_text("flow: extra\n")
    (flows_dir / "notes.txt").write_text("not a flow")
    texts, practice = read_dir(flows_dir)
    shipped = sorted(f.name for f in flows_dir.glob("*.yaml") if f.name not in ("practice.yaml", "outbound.yaml"))
    assert shipped and sorted(texts) == sorted(shipped + ["extra.yml"])
    assert practice is not None and practice.startswith(b"# yaml-language-server")


def test_check_dir_without_flow_files(tmp_path: Path) -> None:
    flows, problems = check_dir(tmp_path, ACTIONS)
    assert flows is None
    assert [str(p) for p in problems] == [f"{tmp_path}: no flow files (*.yaml) found"]


# --------------------------------------------------------------------------- first load


def test_load_serves_a_good_directory(flows_dir: Path) -> None:
    store = FlowStore(flows_dir, ACTIONS)
    assert not store.loaded
    flows = store.load()
    assert store.loaded and store.current() is flows and store.problems == []
    assert flows.entry.name == "main"


def test_load_raises_every_problem_of_a_broken_directory(tmp_path: Path) -> None:
    target = tmp_path / "flows"
    shutil.copytree(CORPUS / "many_problems", target)
    store = FlowStore(target, ACTIONS)
    with pytest.raises(FlowError) as info:
        store.load()
    assert len(info.value.problems) == 8
    assert (
        str(info.value).splitlines()[0]
        == "main.yaml:7 (flow 'main', step 'hello'): template syntax error: unexpected '}'"
    )
    assert not store.loaded
    assert store.problems == info.value.problems


def test_current_loads_on_first_use(flows_dir: Path, reads: list[Path]) -> None:
    store = FlowStore(flows_dir, ACTIONS)
    assert store.current().entry.name == "main"
    assert len(reads) == 1


# --------------------------------------------------------------------------- reloading


def test_broken_edit_keeps_the_last_good_version(flows_dir: Path, caplog) -> None:
    t = [0.0]
    store = FlowStore(flows_dir, ACTIONS, reload_seconds=5, clock=lambda: t[0])
    good = store.load()

    write(flows_dir / "main.yaml", BROKEN_MAIN)
    t[0] = 5.0
    with caplog.at_level(logging.ERROR, logger="ivr.flowlang.store"):
        served = store.current()
    assert served is good and served.version == good.version
    assert [str(p) for p in store.problems] == [
        "main.yaml:5 (flow 'main', step 'hello'): next goes to unknown step 'goodbye'",
        "main.yaml:6 (flow 'main', step 'bye'): unreachable: no path from the start leads here",
    ]
    assert f"still serving version {good.version}" in caplog.text
    assert "next goes to unknown step 'goodbye'" in caplog.text

    # Still broken later on: still the last good version.
    t[0] = 10.0
    assert store.current() is good


def test_fixed_edit_goes_live(flows_dir: Path) -> None:
    t = [0.0]
    store = FlowStore(flows_dir, ACTIONS, reload_seconds=5, clock=lambda: t[0])
    good = store.load()
    original = (flows_dir / "main.yaml").read_text()

    write(flows_dir / "main.yaml", BROKEN_MAIN)
    t[0] = 5.0
    assert store.current() is good and store.problems

    fixed = original.replace("For urgent support right now", "For urgent support at any time")
    write(flows_dir / "main.yaml", fixed)
    t[0] = 10.0
    live = store.current()
    assert live is not good and live.version != good.version
    assert store.problems == []
    assert "at any time" in live.entry.steps["greeting"].body.text.source


def test_reload_rereads_only_when_the_fingerprint_changes(flows_dir: Path, reads: list[Path]) -> None:
    t = [0.0]
    store = FlowStore(flows_dir, ACTIONS, reload_seconds=5, clock=lambda: t[0])
    first = store.load()
    assert len(reads) == 1

    for now in (1.0, 5.0, 60.0, 3600.0):  # time passes, nothing changes: no parsing
        t[0] = now
        assert store.current() is first
    assert len(reads) == 1

    callback = flows_dir / "callback.yaml"
    write(callback, callback.read_text().replace("max_length: 180", "max_length: 170"))
    t[0] = 3601.0  # changed, but checked less than reload_seconds ago
    assert store.current() is first and len(reads) == 1
    t[0] = 3605.0
    second = store.current()
    assert len(reads) == 2 and second is not first
    assert second.flows["callback"].steps["record_message"].body.max_length == 170
    t[0] = 3700.0
    assert store.current() is second and len(reads) == 2


def test_mtime_alone_counts_as_a_change(flows_dir: Path, reads: list[Path]) -> None:
    store = FlowStore(flows_dir, ACTIONS, reload_seconds=5, clock=lambda: 0.0)
    store.load()
    main = flows_dir / "main.yaml"
    write(main, main.read_text())  # same bytes, new mtime: re-read, same version
    assert store.maybe_reload() is True
    assert len(reads) == 2
    assert store.maybe_reload() is False and len(reads) == 2


def test_adding_and_removing_files_is_a_change(flows_dir: Path) -> None:
    store = FlowStore(flows_dir, ACTIONS, reload_seconds=5, clock=lambda: 0.0)
    store.load()
    write(flows_dir / "extra.yaml", "flow: extra\nsteps:\n  - id: bye\n    hangup: Bye.\n")
    assert store.maybe_reload() is True and "extra" in store.current().flows
    (flows_dir / "extra.yaml").unlink()
    assert store.maybe_reload() is True and "extra" not in store.current().flows


def test_deleting_a_needed_file_keeps_the_last_good_version(flows_dir: Path) -> None:
    store = FlowStore(flows_dir, ACTIONS, reload_seconds=5, clock=lambda: 0.0)
    good = store.load()
    (flows_dir / "crisis.yaml").unlink()
    assert store.maybe_reload() is False
    assert store.current() is good
    assert any("goto unknown flow 'crisis'" in str(p) for p in store.problems)


def test_reload_seconds_zero_never_reloads_on_its_own(flows_dir: Path, reads: list[Path]) -> None:
    store = FlowStore(flows_dir, ACTIONS, reload_seconds=0, clock=lambda: 1e9)
    good = store.load()
    write(flows_dir / "main.yaml", BROKEN_MAIN)
    assert store.current() is good and len(reads) == 1


def test_a_broken_reload_is_not_retried_until_the_files_change_again(flows_dir: Path, reads: list[Path]) -> None:
    t = [0.0]
    store = FlowStore(flows_dir, ACTIONS, reload_seconds=5, clock=lambda: t[0])
    store.load()
    write(flows_dir / "main.yaml", BROKEN_MAIN)
    for now in (5.0, 10.0, 15.0):
        t[0] = now
        store.current()
    assert len(reads) == 2


# --------------------------------------------------------------------------- the service


def _app(flows_dir: Path, strict: bool):
    return create_app({"twilio_auth_token": "t", "flows_dir": str(flows_dir), "public_base_url": "https://ql.example.org"},
                      redis=redis.Redis(unix_socket_path="/nonexistent"), strict_flows=strict)


def test_service_refuses_to_start_on_invalid_flows(tmp_path: Path) -> None:
    target = tmp_path / "flows"
    shutil.copytree(CORPUS / "menu_loop", target)
    with pytest.raises(FlowError) as info:
        _app(target, strict=True)
    assert len(info.value.problems) == 3
    assert all("the call can never end from here" in str(p) for p in info.value.problems)


def test_service_refuses_to_start_on_unsafe_yaml(tmp_path: Path) -> None:
    target = tmp_path / "flows"
    shutil.copytree(CORPUS / "python_tag", target)
    with pytest.raises(FlowError, match="tag '!!python/object/apply:os.system' is not allowed"):
        _app(target, strict=True)


def test_service_starts_on_valid_flows(flows_dir: Path) -> None:
    app = _app(flows_dir, strict=True)
    ql = app.extensions["quietline"]
    assert ql.flows.loaded and ql.flows.current().entry.name == "main"


def test_cli_mode_starts_anyway_and_keeps_the_problems(tmp_path: Path) -> None:
    """Without strict_flows the app still starts, so ``flows check`` can say what is wrong."""
    target = tmp_path / "flows"
    shutil.copytree(CORPUS / "dead_end", target)
    app = _app(target, strict=False)
    ql = app.extensions["quietline"]
    assert not ql.flows.loaded
    assert [p.step for p in ql.flows.problems] == ["last_words"]
