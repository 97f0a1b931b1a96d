"""Redis hung: how long callers wait for the apology.  A script, not a test: it prints figures.

    .venv/bin/python bench/redis_hang.py                      # 20 calls + 20 fallbacks, 6 rounds
    .venv/bin/python bench/redis_hang.py --calls 50 --rounds 10 --interval 1
    .venv/bin/python bench/redis_hang.py --env IVR_REDIS_BREAKER_SECONDS=0    # without the breaker

Starts the real service (``python -m ivr.dev.serve``: embedded Redis, gunicorn sync workers, RQ workers,
the Twilio stand-in) in a temporary instance folder, measures one round with Redis healthy, then
stops the redis-server process with SIGSTOP (it keeps its socket and accepts connections, but never
answers: a hang, not a crash) and sends ``--rounds`` rounds, ``--interval`` seconds apart, each of
``--calls`` new calls' first voice webhook (``/twilio/voice``) and as many fallback requests
(``/twilio/fallback``, what Twilio asks when the voice URL failed), all at once, signed as Twilio
signs them.  Every answer must be HTTP 200 with TwiML that apologises and records a voicemail.

Prints per route: answers, valid, p50 / p99 / max latency (ms, send to full answer, connect
included), whether every answer came within ``--bound`` (5 s), and the CPU this generator used.
The supervisor's hang detection is pushed past the run (``--redis-hang-seconds``) so the hang
lasts the whole measurement; Redis is resumed (SIGCONT) at the end and the service stopped.
Exit status 1 when any answer was invalid or later than the bound.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

TOKEN = "bench-auth-token-0123456789abcdef"
ACCOUNT = "AC" + "b" * 32
APOLOGY = "We're sorry, something went wrong on our side."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Service:
    def __init__(self, workers: int, extra_env: dict[str, str]):
        self.tmp = Path(tempfile.mkdtemp(prefix="qlhang-"))
        self.port, self.standin_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TWILIO_API_URL", "DATABASE_URL")}
        env.update(FLASK_SKIP_DOTENV="1", TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID=ACCOUNT,
                   PUBLIC_BASE_URL=self.url, IVR_INSTANCE_DIR=str(self.tmp / "instance"),
                   IVR_RECORDINGS_DIR=str(self.tmp / "recordings"), LOG_LEVEL="WARNING", **extra_env)
        self.log = open(self.tmp / "serve.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ivr.dev.serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--standin-port", str(self.standin_port), "--workers", str(workers), "--redis-hang-seconds", "3600"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the service exited:\n{(self.tmp / 'serve.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit("the service did not become healthy")

    def redis_pid(self) -> int:
        return next(p for p in children(self.proc.pid) if "redis-server" in cmdline(p))

    def stop(self) -> None:
        try:
            os.kill(self.redis_pid(), signal.SIGCONT)
        except (StopIteration, ProcessLookupError):
            pass
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def post(port: int, public: str, path: str, params: dict[str, str], timeout: float) -> tuple[float, int, str]:
    """One signed webhook on a fresh connection, closed as soon as the answer is in (as Twilio does)."""
    body = urlencode(params)
    signature = RequestValidator(TOKEN).compute_signature(public + path, params)
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                          "X-Twilio-Signature": signature, "Connection": "close"})
        resp = conn.getresponse()
        text = resp.read().decode(errors="replace")
        return time.monotonic() - started, resp.status, text
    except OSError as exc:
        return time.monotonic() - started, 0, repr(exc)
    finally:
        conn.close()


def valid_apology(status: int, text: str) -> bool:
    return status == 200 and text.startswith("<?xml") and APOLOGY in text and re.search(r"<Record [^>]*/>", text) \
        is not None and text.endswith("</Response>")


def valid_greeting(status: int, text: str) -> bool:
    return status == 200 and "Thank you for calling" in text and "<Gather" in text


def round_of(service: Service, calls: int, serial: int, timeout: float) -> list[tuple[str, float, int, str]]:
    jobs = []
    for i in range(calls):
        sid = f"CA{serial:08x}{i:024x}"
        params = {"CallSid": sid, "AccountSid": ACCOUNT, "From": "+15551230001", "To": "+15550100000",
                  "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        jobs.append(("/twilio/voice", params))
        jobs.append(("/twilio/fallback", {**params, "ErrorCode": "11205"}))
    barrier = threading.Barrier(len(jobs))

    def send(job):
        barrier.wait()  # all at once
        return (job[0], *post(service.port, service.url, job[0], job[1], timeout))

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(send, jobs))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def report(title: str, results: list[tuple[str, float, int, str]], healthy: bool, bound: float) -> bool:
    print(f"\n{title}")
    print(f"  {'route':<18} {'answers':>7} {'valid':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  within {bound:g} s")
    ok = True
    for route in ("/twilio/voice", "/twilio/fallback"):
        rows = [r for r in results if r[0] == route]
        times = [r[1] * 1000 for r in rows]
        check = valid_greeting if healthy and route == "/twilio/voice" else valid_apology
        valid = sum(check(r[2], r[3]) for r in rows)
        within = all(t <= bound * 1000 for t in times)
        ok &= valid == len(rows) and within
        print(f"  {route:<18} {len(rows):>7} {valid:>6} {statistics.median(times):>8.0f} {pct(times, 99):>8.0f} "
              f"{max(times):>8.0f}  {'yes' if within else 'NO'}")
        bad = [r for r in rows if not check(r[2], r[3])]
        if bad:
            print(f"  !!! {len(bad)} invalid answers on {route}, e.g. HTTP {bad[0][2]}: {bad[0][3][:200]!r}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="concurrent calls per round (and as many fallbacks)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds while Redis is hung")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between rounds")
    parser.add_argument("-w", "--workers", type=int, default=None, help="gunicorn workers (default: serve's)")
    parser.add_argument("--bound", type=float, default=5.0, help="seconds every answer must come within")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the service, e.g. IVR_REDIS_BREAKER_SECONDS=0")
    args = parser.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.env)
    workers = args.workers or max(2, 2 * len(os.sched_getaffinity(0)))

    service = Service(workers, extra)
    ok = True
    cpu_start = time.process_time()
    wall_start = time.monotonic()
    try:
        service.wait_healthy()
        print(f"service up: {service.url}, {workers} gunicorn sync workers, "
              f"settings {extra or 'default'} (IVR_REDIS_TIMEOUT_SECONDS / IVR_REDIS_BREAKER_SECONDS)")
        report("Redis healthy (1 round)", round_of(service, args.calls, 0, 30), True, args.bound)
        os.kill(service.redis_pid(), signal.SIGSTOP)
        hung_at = time.monotonic()
        every: list = []
        for n in range(1, args.rounds + 1):
            results = round_of(service, args.calls, n, 30)
            every += results
            ok &= report(f"Redis hung, round {n} at +{time.monotonic() - hung_at:.1f} s", results, False, args.bound)
            time.sleep(args.interval)
        ok &= report(f"Redis hung, all {args.rounds} rounds", every, False, args.bound)
    finally:
        service.stop()
    cpu = time.process_time() - cpu_start
    wall = time.monotonic() - wall_start
    print(f"\nload generator: {cpu:.2f} s CPU over {wall:.1f} s ({100 * cpu / wall:.0f} % of one core)")
    print(f"every answer valid and within {args.bound:g} s: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
