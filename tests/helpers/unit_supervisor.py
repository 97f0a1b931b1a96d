"""A minimal supervisor of systemd service units, for running the shipped units where systemd is not PID 1 (the
tests run as root in a PID namespace of their own: ``unshare --pid --fork --mount-proc``).

``python -m tests.helpers.unit_supervisor EVENTS UNIT_FILE...``: starts each unit's ``ExecStart=`` with its
``EnvironmentFile=`` and ``WorkingDirectory=``, and when its main process dies starts it again after
``RestartSec=`` if ``Restart=always`` (the only policy the shipped units use). Before that, as systemd's default
``KillMode=control-group`` does, the unit's remaining processes (an RQ work horse, gunicorn's workers: they carry
the unit's name in their environment, as a cgroup would hold them) get ``KillSignal=`` and, after
``TimeoutStopSec=``, SIGKILL. Run as PID 1 it also reaps them. Each start is a line ``start <unit> <pid>`` in
EVENTS (pids as seen in the namespace); SIGTERM stops every unit and exits. ``User=`` and the sandboxing
directives are not applied (systemd's part: ``systemd-analyze verify`` checks them in tests/ops/test_install.py)."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def service_section(path: Path) -> dict[str, str]:
    """The ``[Service]`` keys of a unit file (a later line of the same key wins, as for these keys in systemd)."""
    values: dict[str, str] = {}
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def environment(file: str) -> dict[str, str]:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for line in Path(file.lstrip("-")).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


MARK = "QUIETLINE_SUPERVISED_UNIT"


def unit_processes(name: str) -> list[int]:
    """The processes whose environment names ``name`` (this PID namespace's /proc)."""
    found = []
    wanted = f"{MARK}={name}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if wanted in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _kill(pid: int, sig: int, *, group: bool = False) -> None:
    try:
        (os.killpg if group else os.kill)(pid, sig)
    except ProcessLookupError:
        pass


class Children:
    """The children that exited, reaped without blocking wherever the supervisor waits: a unit's main process that
    exits while another unit is being stopped is still seen (and restarted) by the main loop."""

    def __init__(self) -> None:
        self.exited: list[int] = []

    def reap(self) -> bool:
        """Reap every exited child now; whether any was."""
        reaped = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return reaped
            if not pid:
                return reaped
            self.exited.append(pid)
            reaped = True

    def signal_then_kill(self, left: Callable[[], list[int]], sig: int, timeout: float, *,
                         group: bool = False) -> None:
        """``sig`` to every pid ``left()`` names; SIGKILL to those still there after ``timeout`` seconds (systemd's
        stop: ``KillSignal=``, then SIGKILL after ``TimeoutStopSec=``)."""
        for pid in left():
            _kill(pid, sig, group=group)
        deadline = time.monotonic() + timeout
        while left() and time.monotonic() < deadline:
            if not self.reap():
                time.sleep(0.05)
        for pid in left():
            _kill(pid, signal.SIGKILL, group=group)


def stop_rest(children: Children, name: str, unit: dict[str, str]) -> None:
    """KillSignal= to what is left of the unit, SIGKILL after TimeoutStopSec= (systemd's control-group mode)."""
    children.signal_then_kill(lambda: unit_processes(name), getattr(signal, unit.get("KillSignal", "SIGTERM")),
                              float(unit.get("TimeoutStopSec", "90").rstrip("s")))


def main(argv: list[str]) -> int:
    events = open(argv[0], "a", buffering=1)  # noqa: SIM115 - open for the supervisor's life
    units = {Path(p).name: service_section(Path(p)) for p in argv[1:]}
    children = Children()
    running: dict[int, str] = {}
    due: dict[str, float] = {name: 0.0 for name in units}
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        now = time.monotonic()
        for name, at in list(due.items()):
            if at <= now:
                unit = units[name]
                env = environment(unit["EnvironmentFile"]) if "EnvironmentFile" in unit else dict(os.environ)
                proc = subprocess.Popen(shlex.split(unit["ExecStart"]), cwd=unit.get("WorkingDirectory") or None,
                                        env={**env, MARK: name}, start_new_session=True)
                running[proc.pid] = name
                del due[name]
                events.write(f"start {name} {proc.pid}\n")
        if not children.reap() and not children.exited:
            time.sleep(0.05)
        while children.exited:
            pid = children.exited.pop(0)
            if pid not in running:
                continue  # a unit's other process (run as PID 1, every orphan is ours to reap)
            name = running.pop(pid)
            events.write(f"exit {name} {pid}\n")
            stop_rest(children, name, units[name])
            if units[name].get("Restart") == "always":
                due[name] = time.monotonic() + float(units[name].get("RestartSec", "0.1").rstrip("s"))

    def still_running() -> list[int]:
        for pid in children.exited:
            running.pop(pid, None)
        children.exited.clear()
        return list(running)

    children.signal_then_kill(still_running, signal.SIGTERM, 10, group=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
