"""Webhook benchmark: Quietline on gunicorn sync workers + a real Redis, driven from this process over loopback.

    .venv/bin/python bench/webhooks.py                 # everything, about 4-5 minutes
    .venv/bin/python bench/webhooks.py -w 2 --steps 100,250,500
    .venv/bin/python bench/webhooks.py --help

Phases, each against a freshly started gunicorn (``-k sync``, ``-w`` workers):

1. saturation of the floor (bench/floor_app.py: signature check, one Redis GET + SET, fixed TwiML),
   closed loop;
2. saturation of the app: closed-loop simulated calls walking the shipped flows (flows/);
3. capacity of the app: open-loop calls, one webhook every ``--period`` seconds each, stepping the
   number of concurrent calls up until p99 latency passes ``--p99-ms`` or anything fails.

Prints a table (and loud errors), and writes everything as JSON to bench/results/<timestamp>.json.
See bench/README.md for what each figure means.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import platform
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402  (bench/ is sys.path[0] when run as a script)
from ivr.redis_server import EmbeddedRedis  # noqa: E402

TOKEN = "bench-auth-token-0123456789abcdef"
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
NCPU = os.cpu_count() or 1


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


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return float(total - idle), float(total)


@dataclass
class CpuSnap:
    wall: float
    gen: float
    server: dict[int, float]
    redis: float
    busy: float
    total: float


class CpuMeter:
    """Generator, server (gunicorn master + workers), Redis and whole-machine CPU over a phase."""

    def __init__(self, server_pid: int, redis_pid: int):
        self.server_pid, self.redis_pid = server_pid, redis_pid

    def snap(self) -> CpuSnap:
        pids = [self.server_pid] + _children(self.server_pid)
        busy, total = _machine_busy()
        return CpuSnap(time.perf_counter(), time.process_time(), {p: _proc_cpu(p) for p in pids},
                       _proc_cpu(self.redis_pid), busy, total)

    @staticmethod
    def diff(a: CpuSnap, b: CpuSnap) -> dict[str, float]:
        """Percent of one core over the interval (200% = both cores of a 2-core machine)."""
        wall = max(1e-9, b.wall - a.wall)
        server = sum(v - a.server.get(p, 0.0) for p, v in b.server.items())
        machine = (b.busy - a.busy) / (b.total - a.total) * 100 * NCPU if b.total > a.total else 0.0
        return {
            "generator_cpu_pct": round((b.gen - a.gen) / wall * 100, 1),
            "server_cpu_pct": round(server / wall * 100, 1),
            "redis_cpu_pct": round((b.redis - a.redis) / wall * 100, 1),
            "machine_cpu_pct": round(machine, 1),
        }


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """One gunicorn master we started (its own session, so Ctrl-C reaches only us) and stop by pid."""

    def __init__(self, spec: list[str], workers: int, worker_class: str, env: dict[str, str], port: int,
                 log_path: Path, extra: list[str]):
        self.port = port
        self.log_path = log_path
        self.args = [sys.executable, "-m", "gunicorn", *spec, "-w", str(workers), "-k", worker_class,
                     "-b", f"127.0.0.1:{port}", *extra]
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen | None = None

    @property
    def command(self) -> str:
        return " ".join(["python", *self.args[1:]])

    def start(self, health_path: str, timeout: float = 30.0) -> "Gunicorn":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log, start_new_session=True)
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}{health_path}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except Exception:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"gunicorn did not answer {health_path} in {timeout:.0f}s:\n{self.log_tail()}")
        # Every worker up (the health check only proves one is).
        workers = int(self.args[self.args.index("-w") + 1])
        while len(_children(self.proc.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self.proc = None


# --------------------------------------------------------------------------- phases


def summarise(rec: loadgen.Recorder, seconds: float) -> dict:
    lat = sorted(rec.latencies)
    lags = sorted(rec.lags)
    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    out = {
        "requests": len(lat),
        "req_per_s": round(len(lat) / seconds, 1),
        "p50_ms": ms(loadgen.percentile(lat, 50)),
        "p90_ms": ms(loadgen.percentile(lat, 90)),
        "p99_ms": ms(loadgen.percentile(lat, 99)),
        "max_ms": ms(lat[-1]) if lat else 0.0,
        "errors": sum(rec.errors.values()),
        "errors_by_kind": dict(rec.errors),
        "error_samples": rec.error_samples,
        "webhooks_by_kind": dict(sorted(rec.kinds.items())),
        "calls_completed": rec.calls_completed,
    }
    if lags:
        out["send_lag_p50_ms"] = ms(loadgen.percentile(lags, 50))
        out["send_lag_p99_ms"] = ms(loadgen.percentile(lags, 99))
    return out


async def run_closed(http: loadgen.Http, factory, args, meter: CpuMeter) -> dict:
    # CPU is measured over the whole phase (warm-up included), latencies over the window only.
    a = meter.snap()
    rec = await loadgen.closed_loop(http, factory, args.concurrency, args.sat_seconds, args.warmup)
    b = meter.snap()
    out = summarise(rec, args.sat_seconds)
    out.update(CpuMeter.diff(a, b), concurrency=args.concurrency)
    return out


async def run_capacity(http: loadgen.Http, factory, args, meter: CpuMeter, say) -> tuple[list[dict], int]:
    steps, held = [], 0
    for calls in args.steps:
        a = meter.snap()
        rec = await loadgen.open_loop(http, factory, calls, args.period, args.step_seconds, args.warmup)
        b = meter.snap()
        out = summarise(rec, args.step_seconds)
        out.update(CpuMeter.diff(a, b), calls=calls, offered_req_per_s=round(calls / args.period, 1))
        out["held"] = out["errors"] == 0 and out["p99_ms"] <= args.p99_ms and out["requests"] > 0
        steps.append(out)
        say(capacity_row(out))
        if out["errors"]:
            say(loud_errors(f"capacity {calls} calls", out))
        if not out["held"]:
            break
        held = calls
        await asyncio.sleep(1.0)  # let the last connections close
    return steps, held


# --------------------------------------------------------------------------- output

SAT_HEAD = (f"{'phase':<14}{'callers':>8}{'webhooks/s':>12}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
            f"{'errors':>8}{'gen CPU':>9}{'server CPU':>12}{'redis CPU':>11}{'machine':>9}")
CAP_HEAD = (f"{'calls':>6}{'offered/s':>11}{'webhooks/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
            f"{'lag p99':>9}{'errors':>8}{'gen CPU':>9}{'server CPU':>12}{'redis CPU':>11}{'machine':>9}  held")


def pct(v: float) -> str:
    return f"{v:.0f}%"


def sat_row(name: str, r: dict) -> str:
    return (f"{name:<14}{r['concurrency']:>8}{r['req_per_s']:>12.0f}{r['p50_ms']:>9.1f}{r['p90_ms']:>9.1f}"
            f"{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}{r['errors']:>8}{pct(r['generator_cpu_pct']):>9}"
            f"{pct(r['server_cpu_pct']):>12}{pct(r['redis_cpu_pct']):>11}{pct(r['machine_cpu_pct']):>9}")


def capacity_row(r: dict) -> str:
    return (f"{r['calls']:>6}{r['offered_req_per_s']:>11.0f}{r['req_per_s']:>12.0f}{r['p50_ms']:>9.1f}"
            f"{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}{r.get('send_lag_p99_ms', 0):>9.1f}{r['errors']:>8}"
            f"{pct(r['generator_cpu_pct']):>9}{pct(r['server_cpu_pct']):>12}{pct(r['redis_cpu_pct']):>11}"
            f"{pct(r['machine_cpu_pct']):>9}  {'yes' if r['held'] else 'NO'}")


def loud_errors(name: str, r: dict) -> str:
    bar = "!" * 78
    lines = [bar, f"!!! {name}: {r['errors']} FAILED WEBHOOKS "
                  f"({r['errors'] / max(1, r['errors'] + r['requests']):.2%}): {r['errors_by_kind']}"]
    lines += [f"!!!   {s}" for s in r["error_samples"]]
    lines.append(bar)
    return "\n".join(lines)


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
    share = lambda c: [(k, round(v / total * 100, 1)) for k, v in c.most_common(top)]  # noqa: E731
    return {"samples": total, "self": share(self_c), "inclusive": share(incl), "areas": share(by_area)}


_AREAS = [  # (label, pattern in a frame), most specific first; the leaf-most match names the sample's area
    ("logging", re.compile(r"\(logging/|privacy\.py")),
    ("twiml rendering (twilio builders, ElementTree)", re.compile(r"twiml\.py|twilio/twiml|xml/etree")),
    ("signature check (twilio RequestValidator)", re.compile(r"request_validator\.py|security\.py")),
    ("redis client + socket I/O", re.compile(r"site-packages/redis/")),
    ("rq enqueue", re.compile(r"site-packages/rq/")),
    ("templates (jinja)", re.compile(r"templates\.py|site-packages/jinja2/")),
    ("phone numbers", re.compile(r"callers\.py|phonenumbers")),
    ("session (de)serialisation", re.compile(r"callstate\.py|json/")),
    ("engine / flows", re.compile(r"engine\.py|builtin_actions\.py|flowstore\.py|flow\.py|ivr/practice")),
    ("flask / werkzeug", re.compile(r"site-packages/(flask|werkzeug)/")),
    ("gunicorn (accept, parse, write, close)", re.compile(r"site-packages/gunicorn/")),
]


def _area(frames: list[str]) -> str:
    for frame in reversed(frames):
        for label, pattern in _AREAS:
            if pattern.search(frame):
                return label
    return "other"


def run_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    exe = Path(sys.executable).with_name("py-spy")
    exe = str(exe) if exe.exists() else "py-spy"
    try:
        return subprocess.Popen([exe, "record", "--pid", str(pid), "--subprocesses", "--format", "raw",
                                 "--rate", "250", "--duration", str(int(seconds)), "--nonblocking", "-o", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except FileNotFoundError:
        return None


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-w", "--workers", type=int, default=4, help="gunicorn workers")
    p.add_argument("-k", "--worker-class", default="sync", help="gunicorn worker class (production: sync)")
    p.add_argument("--conn", choices=("close", "keepalive", "halfclose"), default="close",
                   help="generator connections: one per request / ask for keep-alive / close + early FIN")
    p.add_argument("--concurrency", "-c", type=int, default=16, help="closed-loop callers in flight (saturation)")
    p.add_argument("--sat-seconds", type=float, default=15, help="measured seconds of each saturation phase")
    p.add_argument("--warmup", type=float, default=3, help="seconds before each measured window (not counted)")
    p.add_argument("--steps", default="100,250,500,750,1000,1250,1500",
                   help="capacity: numbers of concurrent calls, comma separated ('' skips the phase)")
    p.add_argument("--step-seconds", type=float, default=20, help="measured seconds of each capacity step")
    p.add_argument("--period", type=float, default=3.0, help="capacity: seconds between webhooks of one call")
    p.add_argument("--p99-ms", type=float, default=50.0, help="capacity: p99 webhook latency a step must stay under")
    p.add_argument("--pool", type=int, default=128, help="capacity: requests in flight at most (connection pool)")
    p.add_argument("--keys", default="9,0", help="keys callers press at the menu, round robin (9 crisis, 0 operator)")
    p.add_argument("--skip", default="", help="phases to skip, comma separated: floor, flow, capacity")
    p.add_argument("--redis-aof", action="store_true", help="Redis appendonly yes (fsync everysec) like production")
    p.add_argument("--log-level", default="INFO", help="the app's LOG_LEVEL (INFO is the shipped default)")
    p.add_argument("--profile", action="store_true",
                   help="after the measured phases, one more flow saturation under py-spy; prints where time goes")
    p.add_argument("--gunicorn-arg", action="append", default=[], help="extra gunicorn argument (repeatable)")
    p.add_argument("--results", default=str(BENCH_DIR / "results"), help="directory for the JSON results")
    args = p.parse_args(argv)
    args.steps = [int(s) for s in args.steps.split(",") if s.strip()]
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
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
        report["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                              capture_output=True, text=True).stdout.strip()
        import gunicorn
        report["gunicorn"] = gunicorn.__version__
    except Exception:
        pass

    tmp = Path(tempfile.mkdtemp(prefix="ql-bench-"))
    redis = EmbeddedRedis(tmp / "redis", appendonly=args.redis_aof).start()
    say(f"Quietline webhook bench  {report['started']}  ({NCPU} CPUs, Python {report['machine']['python']}, "
        f"gunicorn {report.get('gunicorn', '?')})")
    say(f"server: gunicorn -w {args.workers} -k {args.worker_class}; Redis {redis.url} "
        f"(appendonly {'yes, fsync everysec' if args.redis_aof else 'no: persistence off for the bench'}); "
        f"app LOG_LEVEL={args.log_level}; logs in {tmp}")
    say(f"generator: this process, asyncio streams, connections '{args.conn}'; CPU figures are % of one core")
    say()
    servers: list[Gunicorn] = []
    loop = asyncio.new_event_loop()

    def start_server(kind: str) -> tuple[Gunicorn, loadgen.Http, loadgen.Signer, CpuMeter]:
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        env = {"TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": public, "REDIS_URL": redis.url,
               "IVR_FLOWS_DIR": str(ROOT / "flows"), "LOG_LEVEL": args.log_level}
        spec = ["--pythonpath", str(BENCH_DIR), "floor_app:app"] if kind == "floor" else ["app:app"]
        g = Gunicorn(spec, args.workers, args.worker_class, env, port, tmp / f"gunicorn-{kind}.log",
                     args.gunicorn_arg)
        servers.append(g)
        g.start("/health")
        report.setdefault("commands", {})[kind] = g.command
        # The pool only matters for the open loop; closed-loop callers never have more in flight than -c.
        http = loadgen.Http("127.0.0.1", port, args.conn, max_conns=max(args.pool, args.concurrency))
        return g, http, loadgen.Signer(TOKEN, public), CpuMeter(g.proc.pid, redis.process.pid)

    def stop_server(g: Gunicorn, http: loadgen.Http) -> None:
        http.close()
        g.stop()
        servers.remove(g)

    failed = False
    try:
        say("== saturation: closed loop, every caller sends its next webhook as soon as the answer is in")
        say(SAT_HEAD)
        if "floor" not in args.skip:
            g, http, signer, meter = start_server("floor")
            r = loop.run_until_complete(run_closed(http, loadgen.call_factory("floor", signer, args.keys), args, meter))
            r["connections"] = {"opened": http.connects, "reused": http.reused, "closed_by_server": http.server_closed}
            report["floor"] = r
            say(sat_row("floor", r))
            stop_server(g, http)
        if "flow" not in args.skip or "capacity" not in args.skip or args.profile:
            g, http, signer, meter = start_server("app")
            factory = loadgen.call_factory("flow", signer, args.keys)
            if "flow" not in args.skip:
                r = loop.run_until_complete(run_closed(http, factory, args, meter))
                r["connections"] = {"opened": http.connects, "reused": http.reused,
                                    "closed_by_server": http.server_closed}
                report["flow"] = r
                say(sat_row("flow", r))
            for name in ("floor", "flow"):
                if name in report and report[name]["errors"]:
                    failed = True
                    say(loud_errors(f"saturation {name}", report[name]))
            if "floor" in report and "flow" in report and report["floor"]["req_per_s"]:
                ratio = report["flow"]["req_per_s"] / report["floor"]["req_per_s"]
                report["ratio_flow_to_floor"] = round(ratio, 3)
                say(f"ratio flow/floor: {ratio:.2f}  (target >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'})")
            if "flow" in report:
                say(f"flow webhooks by kind: {report['flow']['webhooks_by_kind']}")
            if args.steps and "capacity" not in args.skip:
                say()
                say(f"== capacity: open loop, each call one webhook every {args.period:g} s by the clock "
                    f"(latency from the scheduled send), {args.step_seconds:g} s per step, "
                    f"p99 must stay <= {args.p99_ms:g} ms, at most {args.pool} requests in flight")
                say(CAP_HEAD)
                steps, held = loop.run_until_complete(run_capacity(http, factory, args, meter, say))
                report["capacity"] = {"steps": steps, "largest_calls_held": held, "p99_target_ms": args.p99_ms,
                                      "period_s": args.period}
                failed = failed or any(s["errors"] for s in steps)
                say(f"largest number of concurrent calls held (p99 <= {args.p99_ms:g} ms, no errors): {held}"
                    f"  (target 1000: {'met' if held >= 1000 else 'NOT met'})")
            if args.profile:
                say()
                say("== profile: one more flow saturation under py-spy (not part of the figures above)")
                raw = results_dir / f"{stamp}-flow-profile.txt"
                spy = run_profile(g.proc.pid, args.sat_seconds + args.warmup, raw)
                if spy is None:
                    say("py-spy not found: .venv/bin/pip install py-spy")
                else:
                    r = loop.run_until_complete(run_closed(http, factory, args, meter))
                    _, err = spy.communicate(timeout=120)
                    if raw.exists():
                        prof = summarise_profile(raw)
                        prof.update(raw=str(raw), req_per_s_under_profiler=r["req_per_s"])
                        report["profile"] = prof
                        say(f"{prof['samples']} samples of the workers ({raw})")
                        say("where worker time goes (leaf-most area of each sample):")
                        for label, share in prof["areas"]:
                            say(f"  {share:5.1f}%  {label}")
                        say("top frames, inclusive:")
                        for frame, share in prof["inclusive"][:25]:
                            say(f"  {share:5.1f}%  {frame}")
                    else:
                        say(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")
            stop_server(g, http)
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
        say("!!! SOME WEBHOOKS FAILED: see the errors above; the figures are not valid.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
