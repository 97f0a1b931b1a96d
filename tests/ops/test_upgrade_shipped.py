"""A new release's units, Caddyfile and Redis settings reach the machine on `make upgrade` (ivr/ops/upgrade.py),
as dpkg treats conffiles: a file as Quietline last wrote it is replaced (units -> daemon-reload, Redis's include ->
restart redis-server, Caddyfile -> reload caddy); a file the administrator edited is kept, this release's version
written beside it (.quietline-dist) and said; the rollback puts back exactly what was there. The same rule holds
for `make install` run again."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import pytest

from ivr.ops.install import (
    PROJECT_ROOT,
    STARTED_UNITS,
    Executor,
    Layout,
    Note,
    Options,
    Symlink,
    Systemctl,
    WriteFile,
    gather_facts,
    plan,
    render_units,
)
from ivr.ops.upgrade import (
    KeepShipped,
    RestoreShipped,
    UpgradeExecutor,
    gather_upgrade_facts,
    plan_rollback,
    plan_upgrade,
)
from tests.helpers.ops import ALL_PACKAGES, numbered_secrets

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="owners (quietline, redis) need root, as the install does")

OPTIONS = Options(domain="phone.example-practice.org", version="0.1.0-aaaaaaaaaaaa", source=PROJECT_ROOT,
                  web_workers=3)
OLD = "/opt/quietline/releases/0.1.0-aaaaaaaaaaaa"
NEW_VERSION = "0.1.0-bbbbbbbbbbbb"
NEW = f"/opt/quietline/releases/{NEW_VERSION}"
WEB = "/etc/systemd/system/quietline-web.service"
WORKER = "/etc/systemd/system/quietline-worker.service"
REDIS = "/etc/redis/quietline.conf"
CADDY = "/etc/caddy/Caddyfile"
RECORD = "/etc/quietline/shipped.json"


@pytest.fixture
def installed(tmp_path):
    """A scratch root after `make install` of the previous release (whose shipped files differed: the old web unit,
    Redis settings and Caddyfile below, recorded as written by it), with a backup's status for the upgrade."""
    root = tmp_path / "root"
    (root / "etc/redis").mkdir(parents=True)
    (root / "etc/caddy").mkdir(parents=True)
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\nredis:x:998:998::/var/lib/redis:/usr/sbin/nologin\n"
                                     "quietline:x:997:997::/var/lib/quietline:/usr/sbin/nologin\n")
    (root / "etc/group").write_text("root:x:0:\nredis:x:998:quietline\nquietline:x:997:\n")
    (root / "etc/redis/redis.conf").write_text("port 6379\n")
    layout = Layout(root=root)
    facts = dataclasses.replace(gather_facts(layout, OPTIONS), packages=ALL_PACKAGES, pg_ready=True,
                                schema_current=True)
    Executor(layout, tmp_path / "install.log", system=False, echo=lambda line: None).run(
        plan(facts, layout, OPTIONS, numbered_secrets()))
    # The previous release's versions of three files, as its install wrote and recorded them.
    record = json.loads((root / RECORD[1:]).read_text())
    for path, text in ((WEB, "[Service]\nExecStart=/old/gunicorn\n"), (REDIS, "appendonly yes\n"),
                       (CADDY, "phone.example-practice.org {\n\treverse_proxy 127.0.0.1:8000\n}\n")):
        (root / path[1:]).write_text(text)
        record["files"][path] = hashlib.sha256(text.encode()).hexdigest()
    (root / RECORD[1:]).write_text(json.dumps(record))
    (root / "var/backups/quietline/status.json").write_text(json.dumps({"last_backup": "quietline-1.tar"}))
    source = tmp_path / "checkout"
    (source / "ivr").mkdir(parents=True)
    (source / "app.py").write_text("app = None\n")
    return layout, source


def shipped_writes(steps) -> set[str]:
    return {s.path for s in steps if isinstance(s, WriteFile)}


def test_changed_shipped_files_are_applied_with_their_reloads_and_an_edited_one_is_kept(installed, tmp_path):
    layout, source = installed
    root = layout.root
    # The administrator edited the worker unit (e.g. a memory limit): theirs.
    edited = (root / WORKER[1:]).read_text().replace("[Service]\n", "[Service]\nMemoryMax=2G\n")
    (root / WORKER[1:]).write_text(edited)

    facts = dataclasses.replace(gather_upgrade_facts(layout), systemd_running=True)
    steps = plan_upgrade(facts, layout, NEW_VERSION, source)
    assert shipped_writes(steps) == {WEB, REDIS, CADDY, WORKER + ".quietline-dist", RECORD}
    (kept,) = [s for s in steps if isinstance(s, KeepShipped)]
    assert kept.folder == f"/opt/quietline/shipped-before/{NEW_VERSION}"
    assert sorted(kept.paths) == sorted((WEB, REDIS, CADDY, WORKER + ".quietline-dist", RECORD))
    keep = steps.index(kept)
    switch = steps.index(Symlink("/opt/quietline/current", NEW))
    assert keep < min(steps.index(s) for s in steps if isinstance(s, WriteFile)) and keep < switch
    assert steps[switch + 1:] == [Systemctl("daemon-reload"), Systemctl("restart", ("redis-server.service",)),
                                  Systemctl("reload-or-restart", ("caddy.service",)),
                                  Systemctl("restart", STARTED_UNITS)]
    notes = [s.text for s in steps if isinstance(s, Note)]
    assert notes == [f"{WORKER} was edited here: kept as it is. This release's version is {WORKER}.quietline-dist: "
                     f"compare (diff {WORKER} {WORKER}.quietline-dist), merge what you need, then remove "
                     f"{WORKER}.quietline-dist"]

    # Carried out (the scratch root: no systemd), then the same upgrade's shipped part is done.
    UpgradeExecutor(layout, tmp_path / "upgrade.log", system=False, echo=lambda line: None).run(
        plan_upgrade(gather_upgrade_facts(layout), layout, NEW_VERSION, source))
    units = render_units(layout, OPTIONS)
    assert (root / WEB[1:]).read_text() == units["quietline-web.service"]
    assert "--workers 3" in units["quietline-web.service"]  # the install's choice, kept by the record
    assert (root / WORKER[1:]).read_text() == edited
    assert (root / f"{WORKER[1:]}.quietline-dist").read_text() == units["quietline-worker.service"]
    assert "maxmemory-policy noeviction" in (root / REDIS[1:]).read_text()
    assert oct((root / REDIS[1:]).stat().st_mode & 0o777) == "0o640" and (root / REDIS[1:]).stat().st_uid == 998
    assert "Strict-Transport-Security" in (root / CADDY[1:]).read_text()
    # `make install` of the new release afterwards: nothing left to change, the edit still kept and said so.
    layout_facts = dataclasses.replace(gather_facts(layout, dataclasses.replace(OPTIONS, version=NEW_VERSION)),
                                       packages=ALL_PACKAGES, pg_ready=True, schema_current=True,
                                       release_ready=True)
    again = plan(layout_facts, layout, dataclasses.replace(OPTIONS, version=NEW_VERSION), numbered_secrets())
    assert [a for a in again if not isinstance(a, Note)] == []
    assert any(n.text.startswith(f"{WORKER} was edited here") for n in again if isinstance(n, Note))


def test_a_rollback_puts_back_the_shipped_files_the_upgrade_replaced(installed, tmp_path):
    layout, source = installed
    root = layout.root
    before = {p: (root / p[1:]).read_bytes() for p in (WEB, WORKER, REDIS, CADDY, RECORD)}
    modes = {p: (root / p[1:]).stat().st_mode & 0o777 for p in before}
    executor = UpgradeExecutor(layout, tmp_path / "upgrade.log", system=False, echo=lambda line: None)
    (root / WORKER[1:]).write_text("[Service]\nExecStart=/mine\n")
    before[WORKER] = (root / WORKER[1:]).read_bytes()
    executor.run(plan_upgrade(gather_upgrade_facts(layout), layout, NEW_VERSION, source))
    assert (root / WEB[1:]).read_bytes() != before[WEB]
    # Run again (as after a failure): the copies kept are still the ones from before the upgrade.
    (root / "opt/quietline/current").unlink()
    (root / "opt/quietline/current").symlink_to(OLD)
    executor.run(plan_upgrade(gather_upgrade_facts(layout), layout, NEW_VERSION, source))

    # What `backup create --to <rollback folder>` leaves (run for real in test_rollback.py; skipped here).
    kept = root / f"var/backups/quietline/rollback-of-{NEW_VERSION}"
    kept.mkdir()
    (kept / "quietline-2.tar").write_bytes(b"archive")
    (root / "var/backups/quietline/status.json").write_text(json.dumps({"last_backup": "quietline-2.tar"}))
    facts = gather_upgrade_facts(layout)
    steps = plan_rollback(dataclasses.replace(facts, systemd_running=True), layout)
    restore = steps.index(RestoreShipped(f"/opt/quietline/shipped-before/{NEW_VERSION}"))
    assert steps[restore + 1:] == [
        Systemctl("daemon-reload"), Systemctl("restart", ("redis-server.service",)),
        Systemctl("reload-or-restart", ("caddy.service",)), steps[-2], Systemctl("start", STARTED_UNITS)]
    executor.run(plan_rollback(facts, layout))
    assert os.readlink(root / "opt/quietline/current") == OLD
    for path, content in before.items():
        assert (root / path[1:]).read_bytes() == content, path
        assert (root / path[1:]).stat().st_mode & 0o777 == modes[path], path
    assert not (root / f"{WORKER[1:]}.quietline-dist").exists()  # it was not there before the upgrade
    # Set aside: upgrading to that release again keeps the files as they are then.
    assert gather_upgrade_facts(layout).saved_shipped == frozenset()
    assert [p.name.split(".put-back-")[0] for p in (root / "opt/quietline/shipped-before").iterdir()] == [NEW_VERSION]


def test_an_install_older_than_the_record_keeps_every_differing_file_and_says_so(installed, tmp_path):
    layout, source = installed
    root = layout.root
    (root / RECORD[1:]).unlink()
    steps = plan_upgrade(gather_upgrade_facts(layout), layout, NEW_VERSION, source)
    # Only the record and .quietline-dist copies: no live file replaced without knowing it is Quietline's own.
    assert shipped_writes(steps) == {RECORD, *(p + ".quietline-dist" for p in (WEB, REDIS, CADDY))}
    assert len([s for s in steps if isinstance(s, Note)]) == 3
