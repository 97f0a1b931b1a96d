"""Webhook benchmark: Quietline on gunicorn sync workers + a real Redis, driven from this process over loopback.

    .venv/bin/python bench/webhooks.py                 # everything, about 4 minutes
    .venv/bin/python bench/webhooks.py -w 2 --steps 100,250,500
    .venv/bin/python bench/webhooks.py --help

Callers take the mixed walk by default (bench/mixed.py: most identify themselves with their date of
birth and use the appointment and link menus; some stay silent, press 0 or 9, or withhold their
number) against a seeded practice database; ``--walk classic`` is the older silence-then-9/0 script.

1. Saturation: closed-loop simulated calls walking the shipped flows (flows/), and the same load on
   the floor (bench/floor_app.py: signature check, one Redis GET + SET, fixed TwiML).  Both servers
   run side by side and are measured in alternating rounds, so a machine whose other load comes and
   goes treats them alike.  Prints webhooks/s, latency percentiles and the ratio.
2. Paths (mixed walk): each caller path alone, closed loop, for ``--path-seconds``: server CPU per
   webhook, and each path's ratio to the silence path.
3. Capacity: open-loop calls, one webhook every ``--period`` seconds each by the clock, stepping the
   number of concurrent calls up until p99 latency passes ``--p99-ms`` or anything fails.

Prints a table (and loud errors), and writes everything as JSON to bench/results/<timestamp>.json.
See bench/README.md for what each figure means.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402  (bench/ is sys.path[0] when run as a script)
import mixed  # noqa: E402

from ivr.dev.redis_server import EmbeddedRedis  # noqa: E402

TOKEN = "bench-auth-token-0123456789abcdef"
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
NCPU = os.cpu_count() or 1
BUSY_MACHINE_PCT = 15
# The targets (issue 9, "Performance, in the same pass").
TARGET_RATIO = 0.7  # saturated webhooks/s of the app ÷ the floor's
TARGET_CALLS = 1000  # concurrent calls held at p99 <= --p99-ms (50)
TARGET_VERIFY_X_SILENCE = 1.3  # CPU per webhook of a verifying path ÷ the silence path's


# --------------------------------------------------------------------------- CPU accounting (Linux /proc)


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process; 0 when it is gone or /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _machine() -> tuple[float, float, float]:
    """(busy, steal, total) jiffies of the whole machine, from /proc/stat (steal: taken by the hypervisor)."""
    try:
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:]] + [0] * 8
    except OSError:
        return 0.0, 0.0, 0.0
    idle, steal, total = parts[3] + parts[4], parts[7], sum(parts[:8])
    return float(total - idle - steal), float(steal), float(total)


def machine_busy_pct(seconds: float = 1.0) -> float:
    """How busy the machine is over ``seconds``, % of one core (200 % = both cores of 2)."""
    b0, _, t0 = _machine()
    time.sleep(seconds)
    b1, _, t1 = _machine()
    return (b1 - b0) / (t1 - t0) * 100 * NCPU if t1 > t0 else 0.0


@dataclass
class CpuSnap:
    wall: float
    gen: float
    server: dict[int, float]
    redis: float
    busy: float
    steal: float
    total: float


class CpuMeter:
    """Snapshots of the generator, one gunicorn (master + workers), Redis and the whole machine."""

    def __init__(self, server_pid: int, redis_pid: int):
        self.server_pid, self.redis_pid = server_pid, redis_pid

    def snap(self) -> CpuSnap:
        pids = [self.server_pid] + _children(self.server_pid)
        busy, steal, total = _machine()
        return CpuSnap(time.perf_counter(), time.process_time(), {p: _proc_cpu(p) for p in pids},
                       _proc_cpu(self.redis_pid), busy, steal, total)


@dataclass
class Usage:
    """CPU used over one or more intervals (seconds; machine figures in jiffies)."""

    wall: float = 0.0
    gen: float = 0.0
    server: float = 0.0
    redis: float = 0.0
    busy: float = 0.0
    steal: float = 0.0
    total: float = 0.0

    def add(self, a: CpuSnap, b: CpuSnap) -> None:
        self.wall += b.wall - a.wall
        self.gen += b.gen - a.gen
        self.server += sum(v - a.server.get(p, 0.0) for p, v in b.server.items())
        self.redis += b.redis - a.redis
        self.busy += b.busy - a.busy
        self.steal += b.steal - a.steal
        self.total += b.total - a.total

    def figures(self, handled: int) -> dict[str, float]:
        """% of one core (200 % = both cores of a 2-core machine), and CPU ms per webhook."""
        wall = max(1e-9, self.wall)
        pct = lambda v: round(v / wall * 100, 1)  # noqa: E731
        machine = self.busy / self.total * 100 * NCPU if self.total > 0 else 0.0
        out = {
            "generator_cpu_pct": pct(self.gen),
            "server_cpu_pct": pct(self.server),
            "redis_cpu_pct": pct(self.redis),
            "machine_cpu_pct": round(machine, 1),
            # Everything else that ran meanwhile: other processes on a shared machine, kernel threads.
            "other_cpu_pct": round(max(0.0, machine - (self.gen + self.server + self.redis) / wall * 100), 1),
            "steal_pct": round(self.steal / self.total * 100 * NCPU, 1) if self.total > 0 else 0.0,
        }
        if handled:
            # CPU per webhook holds up on a shared machine (others take our wall time, not our CPU time)
            # where webhooks/s and latencies do not.  The ceiling is the rate at which this work alone
            # would fill every core; it ignores scheduling and context-switch costs.
            per = lambda v: round(v / handled * 1000, 3)  # noqa: E731
            out.update(server_cpu_ms_per_webhook=per(self.server), redis_cpu_ms_per_webhook=per(self.redis),
                       generator_cpu_ms_per_webhook=per(self.gen))
            cost = (self.server + self.redis + self.gen) / handled
            out["cpu_bound_ceiling_per_s"] = round(NCPU / cost) if cost > 0 else 0
        return out


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """One gunicorn master we started (its own session, so Ctrl-C reaches only us), stopped by its pid."""

    def __init__(self, spec: list[str], workers: int, worker_class: str, env: dict[str, str], port: int,
                 log_path: Path, extra: list[str]):
        self.port = port
        self.workers = workers
        self.log_path = log_path
        self.args = [sys.executable, "-m", "gunicorn", *spec, "-w", str(workers), "-k", worker_class,
                     "-b", f"127.0.0.1:{port}", *extra]
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def command(self) -> str:
        return " ".join(["python", *self.args[1:]])

    def start(self, health_path: str, timeout: float = 30.0) -> Gunicorn:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log, start_new_session=True)
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}{health_path}"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # it answers HTTP, so it is up (the app's /health may say 503 without RQ workers)
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"gunicorn did not answer {health_path} in {timeout:.0f}s:\n"
                                       f"{self.log_tail()}") from None
                time.sleep(0.1)
        # Every worker up: the health check only proves that one is.
        while len(_children(self.proc.pid)) < self.workers and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.proc = None


@dataclass
class Target:
    """A server under test with the generator's view of it."""

    name: str  # "floor" | "flow"
    server: Gunicorn
    http: loadgen.Http
    new_call: object  # () -> FlowCall | FloorCall | MixedCall
    meter: CpuMeter
    signer: loadgen.Signer | None = None


# --------------------------------------------------------------------------- measuring


@dataclass
class Phase:
    """Latencies, errors and CPU of one measured phase, possibly gathered over several rounds."""

    recs: list[loadgen.Recorder] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0

    def add(self, rec: loadgen.Recorder, a: CpuSnap, b: CpuSnap, seconds: float) -> None:
        self.recs.append(rec)
        self.usage.add(a, b)
        self.seconds += seconds

    def result(self) -> dict:
        lat = sorted(v for r in self.recs for v in r.latencies)
        lags = sorted(v for r in self.recs for v in r.lags)
        errors: collections.Counter = collections.Counter()
        kinds: collections.Counter = collections.Counter()
        by_path: dict[str, list[float]] = collections.defaultdict(list)
        paths_done: collections.Counter = collections.Counter()
        for r in self.recs:
            errors.update(r.errors)
            kinds.update(r.kinds)
            paths_done.update(r.paths_completed)
            for name, values in r.by_path.items():
                by_path[name].extend(values)
        ms = lambda v: round(v * 1000, 2)  # noqa: E731
        out = {
            "requests": len(lat),
            "measured_seconds": round(self.seconds, 1),
            "req_per_s": round(len(lat) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": ms(loadgen.percentile(lat, 50)),
            "p90_ms": ms(loadgen.percentile(lat, 90)),
            "p95_ms": ms(loadgen.percentile(lat, 95)),
            "p99_ms": ms(loadgen.percentile(lat, 99)),
            "max_ms": ms(lat[-1]) if lat else 0.0,
            "errors": sum(errors.values()),
            "errors_by_kind": dict(errors),
            "error_samples": list(dict.fromkeys(s for r in self.recs for s in r.error_samples))[:8],
            "webhooks_by_kind": dict(sorted(kinds.items())),
            "calls_completed": sum(r.calls_completed for r in self.recs),
        }
        if by_path:
            out["by_path"] = {}
            for name in sorted(by_path, key=lambda n: mixed.PATHS.index(n) if n in mixed.PATHS else 99):
                values = sorted(by_path[name])
                out["by_path"][name] = {
                    "webhooks": len(values), "calls_completed": paths_done[name],
                    "p50_ms": ms(loadgen.percentile(values, 50)), "p95_ms": ms(loadgen.percentile(values, 95)),
                    "p99_ms": ms(loadgen.percentile(values, 99))}
        if lags:
            out["send_lag_p50_ms"] = ms(loadgen.percentile(lags, 50))
            out["send_lag_p99_ms"] = ms(loadgen.percentile(lags, 99))
        # CPU covers warm-ups too, so it is divided by every webhook sent meanwhile.
        handled = sum(len(r.latencies) + r.outside + sum(r.errors.values()) for r in self.recs)
        out.update(self.usage.figures(handled))
        return out


async def saturation(targets: list[Target], args) -> dict[str, dict]:
    """Closed loop against each target in turn, ``--rounds`` times, interleaved."""
    phases = {t.name: Phase() for t in targets}
    seconds = args.sat_seconds / args.rounds
    for i in range(args.rounds):
        for t in targets:
            warmup = args.warmup if i == 0 else min(args.warmup, 1.0)
            a = t.meter.snap()
            rec = await loadgen.closed_loop(t.http, t.new_call, args.concurrency, seconds, warmup)
            b = t.meter.snap()
            phases[t.name].add(rec, a, b, seconds)
    results = {}
    for t in targets:
        r = phases[t.name].result()
        r.update(concurrency=args.concurrency, rounds=args.rounds,
                 connections={"opened": t.http.connects, "reused": t.http.reused,
                              "closed_by_server": t.http.server_closed})
        results[t.name] = r
    return results


async def capacity(t: Target, args, say) -> tuple[list[dict], int]:
    steps, held = [], 0
    for calls in args.steps:
        phase = Phase()
        a = t.meter.snap()
        rec = await loadgen.open_loop(t.http, t.new_call, calls, args.period, args.step_seconds, args.warmup)
        phase.add(rec, a, t.meter.snap(), args.step_seconds)
        out = phase.result()
        out.update(calls=calls, offered_req_per_s=round(calls / args.period, 1))
        out["held"] = out["errors"] == 0 and out["p99_ms"] <= args.p99_ms and out["requests"] > 0
        steps.append(out)
        say(capacity_row(out))
        if out["errors"]:
            say(loud_errors(f"capacity of the {t.name}, {calls} calls", out))
        if not out["held"]:
            break
        held = calls
        await asyncio.sleep(1.0)  # let the last connections close
    return steps, held


# --------------------------------------------------------------------------- output

SAT_HEAD = (f"{'':<7}{'callers':>8}{'webhooks/s':>11}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}"
            f"{'errors':>7}{'gen CPU':>8}{'server':>8}{'redis':>7}{'other':>7}{'steal':>6}"
            f"{'ms CPU/wh':>10}{'ceiling/s':>10}")
CAP_HEAD = (f"{'calls':>6}{'offered/s':>10}{'webhooks/s':>11}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}"
            f"{'lag p99':>8}{'errors':>7}{'gen CPU':>8}{'server':>8}{'redis':>7}{'other':>7}{'steal':>6}"
            f"{'ms CPU/wh':>10}  held")


def pct(v: float) -> str:
    return f"{v:.0f}%"


def _cpu_cols(r: dict) -> str:
    return (f"{pct(r['generator_cpu_pct']):>8}{pct(r['server_cpu_pct']):>8}{pct(r['redis_cpu_pct']):>7}"
            f"{pct(r['other_cpu_pct']):>7}{pct(r['steal_pct']):>6}{r.get('server_cpu_ms_per_webhook', 0):>10.2f}")


def sat_row(name: str, r: dict) -> str:
    return (f"{name:<7}{r['concurrency']:>8}{r['req_per_s']:>11.0f}{r['p50_ms']:>8.1f}{r['p90_ms']:>8.1f}"
            f"{r['p99_ms']:>8.1f}{r['max_ms']:>8.1f}{r['errors']:>7}{_cpu_cols(r)}"
            f"{r.get('cpu_bound_ceiling_per_s', 0):>10.0f}")


def capacity_row(r: dict) -> str:
    return (f"{r['calls']:>6}{r['offered_req_per_s']:>10.0f}{r['req_per_s']:>11.0f}{r['p50_ms']:>8.1f}"
            f"{r['p95_ms']:>8.1f}{r['p99_ms']:>8.1f}{r['max_ms']:>8.1f}{r.get('send_lag_p99_ms', 0):>8.1f}"
            f"{r['errors']:>7}"
            f"{_cpu_cols(r)}  {'yes' if r['held'] else 'NO'}")


def path_latency_lines(r: dict) -> list[str]:
    """Per caller path: webhooks and latency percentiles (mixed walk)."""
    lines = [f"  {'path':<12}{'webhooks':>9}{'calls':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"]
    for name, v in r.get("by_path", {}).items():
        lines.append(f"  {name:<12}{v['webhooks']:>9}{v['calls_completed']:>7}{v['p50_ms']:>8.1f}{v['p95_ms']:>8.1f}"
                     f"{v['p99_ms']:>8.1f}")
    return lines


def loud_errors(name: str, r: dict) -> str:
    bar = "!" * 100
    lines = [bar, f"!!! {name}: {r['errors']} FAILED WEBHOOKS "
                  f"({r['errors'] / max(1, r['errors'] + r['requests']):.2%}): {r['errors_by_kind']}"]
    lines += [f"!!!   {s}" for s in r["error_samples"]]
    lines.append(bar)
    return "\n".join(lines)


LEGEND = ("gen CPU / server / redis: CPU of the generator, gunicorn (master + workers) and redis-server, % of one "
          "core; other: the rest of the machine meanwhile (other processes); ms CPU/wh: server CPU per webhook; "
          "ceiling/s: the rate at which server + redis + generator CPU alone would fill every core")


# --------------------------------------------------------------------------- profiling (optional)


def summarise_profile(raw_path: Path, top: int = 25) -> dict:
    """Self and inclusive sample shares from py-spy's raw (collapsed stack) output."""
    self_c: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    by_area: collections.Counter = collections.Counter()
    total = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        total += n
        self_c[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
        by_area[_area(frames)] += n
    share = lambda c, n: [(k, round(v / total * 100, 1)) for k, v in c.most_common(n)]  # noqa: E731
    return {"samples": total, "self": share(self_c, top), "inclusive": share(incl, top + 25),
            "areas": share(by_area, None)}


_AREAS = [  # (label, pattern); each sample goes to the area of its leaf-most matching frame
    ("logging (incl. the masking filter)", re.compile(r"\((logging/|ivr/core/privacy\.py)")),
    ("redis client + round trips", re.compile(r"\(redis/")),
    ("rq job building (enqueue)", re.compile(r"\(rq/")),
    ("signature check", re.compile(r"\(twilio/request_validator|\(ivr/telephony/signatures\.py")),
    ("TwiML building", re.compile(r"\(twilio/twiml|\(ivr/telephony/twiml\.py|\(xml/")),
    ("practice hours", re.compile(r"\(ivr/practice/|\(ivr/core/hours\.py")),
    ("templates", re.compile(r"\(jinja2/|\(ivr/core/templates\.py|<template>")),
    ("phone numbers", re.compile(r"\(phonenumbers/|\(ivr/core/phone_numbers\.py")),
    ("session JSON", re.compile(r"\(ivr/core/call_state\.py|\(json/")),
    ("engine, flows, call handling", re.compile(
        r"\(ivr/(core/(engine|flow|effects|events|spoken_output|spoken_input|escalation_policy)|telephony/call_handler"
        r"|flowlang/\w+|actions/\w+)\.py")),
    ("other ivr code (webhooks, jobs, ...)", re.compile(r"\(ivr/")),
    ("floor route", re.compile(r"floor_app\.py")),
    ("flask / werkzeug (request, form parsing, routing)", re.compile(r"\((flask|werkzeug)/")),
    ("gunicorn (accept, parse, write, close)", re.compile(r"\(gunicorn/")),
]


def _area(frames: list[str]) -> str:
    for frame in reversed(frames):
        for label, pattern in _AREAS:
            if pattern.search(frame):
                return label
    return "other"


def start_py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    exe = Path(sys.executable).with_name("py-spy")
    exe = str(exe) if exe.exists() else "py-spy"
    try:
        return subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--format",
                "raw",
                "--rate",
                "250",
                "--gil",
                "--duration",
                str(int(seconds)),
                "--nonblocking",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError:
        return None


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-w", "--workers", type=int, default=4, help="gunicorn workers")
    p.add_argument("-k", "--worker-class", default="sync", help="gunicorn worker class (production: sync)")
    p.add_argument("--gunicorn-arg", action="append", default=[],
                   help="extra gunicorn argument, repeatable: --gunicorn-arg=--threads=4")
    p.add_argument("--conn", choices=("close", "keepalive", "halfclose"), default="close",
                   help="generator connections: one per request / ask for keep-alive / close + early FIN")
    p.add_argument("-c", "--concurrency", type=int, default=0,
                   help="saturation: closed-loop callers in flight; 0 = two per worker")
    p.add_argument("--sat-seconds", type=float, default=15, help="saturation: measured seconds per server")
    p.add_argument("--rounds", type=int, default=3,
                   help="saturation (and paths): alternate the servers (paths) this many times, seconds split")
    p.add_argument("--warmup", type=float, default=3, help="seconds before each measured window (not counted)")
    p.add_argument("--steps", default="100,250,500,750,1000,1250,1500",
                   help="capacity: numbers of concurrent calls, comma separated ('' skips the phase)")
    p.add_argument("--step-seconds", type=float, default=20, help="capacity: measured seconds per step")
    p.add_argument("--period", type=float, default=3.0, help="capacity: seconds between webhooks of one call")
    p.add_argument("--p99-ms", type=float, default=50.0, help="capacity: p99 latency a step must stay under")
    p.add_argument("--pool", type=int, default=128, help="capacity: requests in flight at most (connection pool)")
    p.add_argument("--capacity-of", choices=("app", "floor", "both"), default="app",
                   help="capacity of the app, of the floor (the best this stack allows), or both")
    p.add_argument("--walk", choices=("mixed", "classic"), default="mixed",
                   help="mixed: the paths of bench/mixed.py in its MIX (most callers verify); "
                        "classic: silence at the first menu, then --keys")
    p.add_argument("--clients", type=int, default=3000,
                   help="mixed walk: clients seeded (each call in progress holds one; more than the largest step)")
    p.add_argument("--path-seconds", type=float, default=9,
                   help="paths phase: measured seconds of each caller path alone (mixed walk)")
    p.add_argument("--keys", default="9,0",
                   help="classic walk: keys callers press at the menu, round robin (9 crisis, 0 operator)")
    p.add_argument("--skip", default="", help="phases to skip, comma separated: floor, flow, paths, capacity")
    p.add_argument("--redis-aof", action="store_true", help="Redis appendonly yes (fsync everysec) like production")
    p.add_argument("--log-level", default="INFO", help="the app's LOG_LEVEL (INFO is the shipped default)")
    p.add_argument(
        "--profile",
        action="store_true",
        help="one more saturation run of each server under py-spy (pip install py-spy); prints where CPU goes",
    )
    p.add_argument("--start-timeout", type=float, default=120,
                   help="seconds gunicorn may take to answer its first request (a loaded machine boots slowly)")
    p.add_argument("--wait-idle", type=float, default=0,
                   help=f"wait up to this many seconds for the machine to be idle (<{BUSY_MACHINE_PCT}%% busy) first")
    p.add_argument("--results", default=str(BENCH_DIR / "results"), help="directory for the JSON results")
    args = p.parse_args(argv)
    args.concurrency = args.concurrency or 2 * args.workers
    args.rounds = max(1, args.rounds)
    args.steps = [int(s) for s in args.steps.split(",") if s.strip()]
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = args.skip - {"floor", "flow", "paths", "capacity"}
    if unknown:
        p.error(f"--skip: unknown phases {sorted(unknown)}")
    args.keys = [k.strip() for k in args.keys.split(",") if k.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    say = lambda s="": print(s, flush=True)  # noqa: E731
    report: dict = {"started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    "options": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()},
                    "machine": {"cpus": NCPU, "python": platform.python_version(), "platform": platform.platform()}}
    try:
        import gunicorn

        report["gunicorn"] = gunicorn.__version__
        report["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                              capture_output=True, text=True).stdout.strip()
    except Exception:
        pass

    say(f"Quietline webhook bench  {report['started']}  ({NCPU} CPUs, Python {report['machine']['python']}, "
        f"gunicorn {report.get('gunicorn', '?')})")
    deadline = time.monotonic() + args.wait_idle
    busy = machine_busy_pct()
    while busy > BUSY_MACHINE_PCT and time.monotonic() < deadline:
        busy = machine_busy_pct(2.0)
    report["machine"]["busy_before_pct"] = round(busy, 1)
    tmp = Path(tempfile.mkdtemp(prefix="ql-bench-"))
    redis = EmbeddedRedis(tmp / "redis", appendonly=args.redis_aof).start()
    say(f"server: gunicorn -w {args.workers} -k {args.worker_class}; Redis on a unix socket "
        f"(appendonly {'yes, fsync everysec' if args.redis_aof else 'no: persistence off for the bench'}); "
        f"app LOG_LEVEL={args.log_level}; logs in {tmp} (removed after a run without errors)")
    say(f"generator: this process, asyncio streams, connections '{args.conn}'")
    say(f"machine before the run: {busy:.0f}% CPU busy with other work (of {NCPU * 100}%)"
        + ("  <-- NOT IDLE: other processes compete with server and generator; webhooks/s and latencies"
           " will be worse than this machine can do (CPU per webhook holds up)" if busy > BUSY_MACHINE_PCT else ""))
    say()
    servers: list[Gunicorn] = []
    loop = asyncio.new_event_loop()
    failed = False
    # Call records are encrypted with it, as in production (ivr.encryption): its cost is part of the figures.
    data_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    db_url = f"sqlite:///{tmp / 'practice.db'}"
    pool: mixed.ClientPool | None = None
    if args.walk == "mixed":
        # The practice the callers verify against: SQLite (the embedded default), migrated and seeded.
        mixed.seed(db_url, args.clients, "America/New_York")
        pool = mixed.ClientPool(mixed.bench_clients(args.clients))
        say(f"walk: mixed ({', '.join(f'{n} {w}%' for n, w in mixed.MIX)}); practice: {args.clients} clients "
            f"in {db_url}")
    else:
        say(f"walk: classic (silence at the first menu, then {'/'.join(args.keys)})")

    def start(name: str) -> Target:
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        env = {"TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": public, "REDIS_URL": redis.url,
               "IVR_FLOWS_DIR": str(ROOT / "flows"), "LOG_LEVEL": args.log_level, "IVR_DATA_KEY": data_key,
               "IVR_RECORDINGS_KEY": data_key, "DATABASE_URL": db_url}
        spec = ["--pythonpath", str(BENCH_DIR), "floor_app:app"] if name == "floor" else ["app:app"]
        g = Gunicorn(spec, args.workers, args.worker_class, env, port, tmp / f"gunicorn-{name}.log", args.gunicorn_arg)
        servers.append(g)
        g.start("/health?scope=web", timeout=args.start_timeout)
        report.setdefault("commands", {})["app" if name == "flow" else name] = g.command
        # The pool only limits the open loop; closed-loop callers never have more than -c in flight.
        http = loadgen.Http("127.0.0.1", port, args.conn, max_conns=max(args.pool, args.concurrency))
        signer = loadgen.Signer(TOKEN, public)
        if name == "flow" and pool is not None:
            new_call = mixed.mixed_factory(signer, pool)
        else:
            new_call = loadgen.call_factory(name, signer, args.keys)
        return Target(name, g, http, new_call, CpuMeter(g.proc.pid, redis.process.pid), signer)

    def stop(t: Target) -> None:
        t.http.close()
        t.server.stop()
        servers.remove(t.server)

    def run_capacity(t: Target) -> None:
        nonlocal failed
        say()
        say(f"== capacity of the {'app' if t.name == 'flow' else 'floor'}: open loop, each call one webhook every "
            f"{args.period:g} s by the clock, latency from the scheduled send; {args.step_seconds:g} s per step; "
            f"p99 must stay <= {args.p99_ms:g} ms; at most {args.pool} requests in flight")
        say(CAP_HEAD)
        steps, held = loop.run_until_complete(capacity(t, args, say))
        key = "capacity" if t.name == "flow" else "capacity_floor"
        report[key] = {"steps": steps, "largest_calls_held": held, "p99_target_ms": args.p99_ms,
                       "period_s": args.period}
        failed = failed or any(s["errors"] for s in steps)
        say(f"largest number of concurrent calls held (p99 <= {args.p99_ms:g} ms, no errors): {held}"
            f"  (target {TARGET_CALLS}: {'met' if held >= TARGET_CALLS else 'NOT met'})")
        shown = [s for s in steps if s["calls"] == TARGET_CALLS] or steps[-1:]
        if shown and shown[0].get("by_path"):
            say(f"latency by caller path at {shown[0]['calls']} calls:")
            for line in path_latency_lines(shown[0]):
                say(line)

    def run_paths(t: Target) -> None:
        nonlocal failed
        say()
        say(f"== CPU per webhook by caller path: each path alone, closed loop, {args.concurrency} callers, "
            f"{args.path_seconds:g} s each in {args.rounds} alternating rounds (server CPU: gunicorn master + "
            "workers, process CPU time from /proc)")
        say(f"  {'path':<12}{'webhooks':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
            f"{'ms CPU/wh':>10}{'redis':>7}{'gen':>7}{'x silence':>10}")
        # In --rounds rounds, every path once per round: load from other processes that comes and goes
        # then falls on every path alike instead of on whichever path ran at the time.
        phases = {path: Phase() for path in mixed.PATHS}
        seconds = args.path_seconds / args.rounds
        for i in range(args.rounds):
            for path in mixed.PATHS:
                factory = mixed.mixed_factory(t.signer, pool, (path,))
                a = t.meter.snap()
                rec = loop.run_until_complete(loadgen.closed_loop(t.http, factory, args.concurrency, seconds,
                                                                  min(args.warmup, 1.0 if i == 0 else 0.5)))
                phases[path].add(rec, a, t.meter.snap(), seconds)
        rows = {}
        for path, phase in phases.items():
            rows[path] = r = phase.result()
            failed = failed or bool(r["errors"])
        base = rows["silence"].get("server_cpu_ms_per_webhook") or 0.0
        for path, r in rows.items():
            cpu = r.get("server_cpu_ms_per_webhook", 0.0)
            r["x_silence"] = round(cpu / base, 2) if base else 0.0
            say(f"  {path:<12}{r['requests']:>9}{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}"
                f"{r['errors']:>7}{cpu:>10.2f}{r.get('redis_cpu_ms_per_webhook', 0):>7.2f}"
                f"{r.get('generator_cpu_ms_per_webhook', 0):>7.2f}{r['x_silence']:>10.2f}")
            if r["errors"]:
                say(loud_errors(f"path {path}", r))
        worst = max((rows[p]["x_silence"], p) for p in mixed.PATHS if p in mixed.VERIFYING)
        report["paths"] = rows
        report["verify_x_silence_max"] = {"path": worst[1], "ratio": worst[0]}
        say(f"most expensive verifying path: {worst[1]} at {worst[0]:.2f}x the silence path's CPU per webhook "
            f"(target <= {TARGET_VERIFY_X_SILENCE}: {'met' if worst[0] <= TARGET_VERIFY_X_SILENCE else 'NOT met'})")

    def run_profile_phase(t: Target) -> None:
        say()
        say(f"== profile of the {t.name}: one more saturation run under py-spy --gil (not part of the figures)")
        raw = results_dir / f"{stamp}-{t.name}-profile.txt"
        spy = start_py_spy(t.server.proc.pid, args.sat_seconds / args.rounds + args.warmup, raw)
        if spy is None:
            say("py-spy not found: .venv/bin/pip install py-spy")
            return
        loop.run_until_complete(loadgen.closed_loop(t.http, t.new_call, args.concurrency,
                                                    args.sat_seconds / args.rounds, args.warmup))
        _, err = spy.communicate(timeout=120)
        if not raw.exists():
            say(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")
            return
        prof = summarise_profile(raw)
        prof["raw"] = str(raw)
        report.setdefault("profile", {})[t.name] = prof
        say(f"{prof['samples']} samples of workers holding the GIL ({raw})")
        say("where worker CPU goes (each sample counted in the area of its leaf-most known frame):")
        for label, share in prof["areas"]:
            say(f"  {share:5.1f}%  {label}")
        say("top frames, inclusive:")
        for frame, share in prof["inclusive"]:
            if "(gunicorn/" not in frame and "<frozen runpy>" not in frame:
                say(f"  {share:5.1f}%  {frame}")

    try:
        targets = [start(name) for name in ("floor", "flow") if name not in args.skip]
        if targets:
            say(f"== saturation: closed loop, {args.concurrency} callers each sending the next webhook as soon as "
                f"the answer is in; {args.sat_seconds:g} s per server in {args.rounds} alternating rounds")
            say(SAT_HEAD)
            sat = loop.run_until_complete(saturation(targets, args))
            for name, r in sat.items():
                report[name] = r
                say(sat_row(name, r))
            say(LEGEND)
            for name, r in sat.items():
                if r["errors"]:
                    failed = True
                    say(loud_errors(f"saturation of the {name}", r))
            if "flow" in sat:
                say(f"app webhooks by kind: {sat['flow']['webhooks_by_kind']}")
                if sat["flow"].get("by_path"):
                    say("app latency by caller path (saturation):")
                    for line in path_latency_lines(sat["flow"]):
                        say(line)
            if "floor" in sat and "flow" in sat and sat["floor"]["req_per_s"]:
                ratio = sat["flow"]["req_per_s"] / sat["floor"]["req_per_s"]
                report["ratio_flow_to_floor"] = round(ratio, 3)
                say(f"ratio app/floor webhooks/s: {ratio:.2f}  (target >= {TARGET_RATIO:.2f}: "
                    f"{'met' if ratio >= TARGET_RATIO else 'NOT met'})")
                fc, wc = (sat[n].get("cpu_bound_ceiling_per_s") for n in ("floor", "flow"))
                if fc and wc:
                    report["ratio_cpu_bound_ceilings"] = round(wc / fc, 3)
                    say(f"ratio of the CPU-bound ceilings: {wc / fc:.2f}  (the same comparison by CPU cost, "
                        "which other load on the machine does not skew)")
        if args.profile:
            for t in targets:
                run_profile_phase(t)
        flow_t = next((t for t in targets if t.name == "flow"), None)
        if pool is not None and flow_t is not None and "paths" not in args.skip:
            run_paths(flow_t)
        for t in list(targets):
            stop(t)
        # Capacity runs with only the server under test up, freshly started.
        if args.steps and "capacity" not in args.skip:
            for name in {"app": ["flow"], "floor": ["floor"], "both": ["flow", "floor"]}[args.capacity_of]:
                t = start(name)
                run_capacity(t)
                stop(t)
    except KeyboardInterrupt:
        say("interrupted")
        failed = True
    finally:
        for g in list(servers):
            g.stop()
        redis.stop()
        loop.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report["generator_total_cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    out = results_dir / f"{stamp}.json"
    out.write_text(json.dumps(report, indent=2))
    say()
    say(f"generator CPU over the whole run: {report['generator_total_cpu_s']} s; results: {out}")
    if failed:
        say(f"!!! SOME WEBHOOKS FAILED: see the errors above; the figures are not valid. Server logs: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
