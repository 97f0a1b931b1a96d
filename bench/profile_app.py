"""Where one webhook's CPU goes: the app and the floor in-process, under cProfile timed by CPU, not wall clock.

    .venv/bin/python bench/profile_app.py                 # 300 calls through the shipped flows
    .venv/bin/python bench/profile_app.py --calls 1000 --top 40 --sort tottime
    .venv/bin/python bench/profile_app.py --walk mixed --calls 200   # CPU per webhook of every caller path
    .venv/bin/python bench/profile_app.py --walk mixed --profile-path keep --sort tottime

The same simulated callers as bench/webhooks.py (loadgen.FlowCall: silence at the first menu, then 9 or
0, Dial no-answer, Record, hang-up, status callbacks) post through Flask's test client to
``ivr.app.create_app`` on a real Redis (EmbeddedRedis, appendonly off).  No gunicorn, no sockets to the
app: what is left is the app's own work per webhook (Flask + signature check + sessions + engine +
TwiML + logging + Redis round trips), timed with ``time.process_time`` so that other processes on a
shared machine do not inflate it.  The floor app (bench/floor_app.py) is measured the same way.

``--walk mixed`` seeds a practice in a temporary SQLite database (bench/mixed.py) and measures each
caller path of the mixed walk on its own (``--calls`` calls each): CPU per webhook, and its ratio to
the ``silence`` path (the issue's target: verifying costs at most 1.3x the silence path).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402

from ivr.dev.redis_server import EmbeddedRedis  # noqa: E402

TOKEN = "bench-auth-token-0123456789abcdef"
PUBLIC = "http://127.0.0.1:8000"


def drive(client, factory, calls: int) -> int:
    """Walk ``calls`` simulated calls through a Flask test client; returns the webhooks sent."""
    sent = 0
    for _ in range(calls):
        call = factory()
        release = getattr(call, "release", lambda: None)
        while not call.done:
            req = call.next_request()
            resp = client.post(req.path, data=req.body, headers={
                "X-Twilio-Signature": req.signature, "Content-Type": "application/x-www-form-urlencoded"})
            body = resp.get_data()
            problem = loadgen.check_answer(req, resp.status_code, body)
            if problem:
                raise SystemExit(f"{problem[0]}: {problem[1]}")
            call.answer(req, body)
            sent += 1
        release()
    return sent


def measure(name: str, client, factory, calls: int, profile: bool, sort: str, top: int, dump: str = "") -> float:
    drive(client, factory, max(5, calls // 20))  # warm caches, lazy imports, compiled templates
    prof = cProfile.Profile(time.process_time) if profile else None
    t0, w0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    sent = drive(client, factory, calls)
    if prof:
        prof.disable()
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    per = cpu / sent * 1000
    print(f"{name}: {sent} webhooks, {per:.3f} ms CPU per webhook ({wall / sent * 1000:.3f} ms wall)"
          + ("  [under cProfile: slower than real]" if prof else ""))
    if prof and dump:
        prof.dump_stats(dump)  # for pstats / snakeviz: callers, callees
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).strip_dirs().sort_stats(sort).print_stats(top)
        print(out.getvalue())
    return per


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--keys", default="9,0")
    p.add_argument("--top", type=int, default=35)
    p.add_argument("--sort", default="cumulative", help="pstats sort key: cumulative, tottime, …")
    p.add_argument("--log-level", default="INFO", help="the app's LOG_LEVEL (INFO is the shipped default)")
    p.add_argument("--no-profile", action="store_true", help="only the CPU per webhook, without cProfile")
    p.add_argument("--walk", choices=("classic", "mixed"), default="classic",
                   help="classic: silence then 9/0 (loadgen.FlowCall); mixed: every path of bench/mixed.py")
    p.add_argument("--profile-path", default="", help="mixed walk: profile only this path (default: the mix)")
    p.add_argument("--clients", type=int, default=3000,
                   help="mixed walk: clients seeded (bench/webhooks.py's default: a bigger diary costs more per move)")
    p.add_argument("--repeat", type=int, default=1, help="mixed walk: measure every path this many times (median)")
    p.add_argument("--only-profile", action="store_true",
                   help="mixed walk: skip the per-path table, only the cProfile of --profile-path")
    p.add_argument("--dump", default="", help="write the cProfile's raw stats to this file (pstats format)")
    args = p.parse_args()
    keys = [k for k in args.keys.split(",") if k]
    if args.walk == "mixed":
        return main_mixed(args)

    with tempfile.TemporaryDirectory(prefix="ql-profile-") as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", appendonly=False).start()
        try:
            from ivr.encryption import generate_key

            os.environ.update(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC, REDIS_URL=redis.url,
                              IVR_FLOWS_DIR=str(ROOT / "flows"), LOG_LEVEL=args.log_level, IVR_DATA_KEY=generate_key(),
                              IVR_RECORDINGS_KEY=generate_key())
            # Log records go where gunicorn would send them: a file, not this terminal.
            logging.basicConfig(level=args.log_level, filename=str(Path(tmp) / "app.log"),
                                format="%(asctime)s %(levelname)s %(name)s: %(message)s")
            import floor_app

            from ivr.app import create_app

            signer = loadgen.Signer(TOKEN, PUBLIC)
            floor = measure("floor", floor_app.create_app().test_client(),
                            loadgen.call_factory("floor", signer, keys), args.calls, False, args.sort, args.top)
            app = create_app()
            client = app.test_client()
            factory = loadgen.call_factory("flow", signer, keys)
            flow = measure("flow", client, factory, args.calls, False, args.sort, args.top)
            print(f"flow / floor CPU per webhook: {flow / floor:.1f}x "
                  "(test client overhead included in both; gunicorn's own share is not)")
            if not args.no_profile:
                measure("flow", client, factory, args.calls, True, args.sort, args.top)
        finally:
            redis.stop()
    return 0


def main_mixed(args) -> int:
    """CPU per webhook of every path of the mixed walk, in-process."""

    import mixed

    with tempfile.TemporaryDirectory(prefix="ql-profile-") as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", appendonly=False).start()
        try:
            from ivr.encryption import generate_key

            db_url = f"sqlite:///{tmp}/bench.db"
            mixed.seed(db_url, args.clients, "America/New_York")
            os.environ.update(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC, REDIS_URL=redis.url,
                              IVR_FLOWS_DIR=str(ROOT / "flows"), LOG_LEVEL=args.log_level,
                              IVR_DATA_KEY=generate_key(), IVR_RECORDINGS_KEY=generate_key(),
                              DATABASE_URL=db_url)
            logging.basicConfig(level=args.log_level, filename=str(Path(tmp) / "app.log"),
                                format="%(asctime)s %(levelname)s %(name)s: %(message)s")
            from ivr.app import create_app

            signer = loadgen.Signer(TOKEN, PUBLIC)
            pool = mixed.ClientPool(mixed.bench_clients(args.clients))
            client = create_app().test_client()
            drive(client, mixed.mixed_factory(signer, pool), 40)  # warm every path
            if not args.only_profile:
                print_paths(args, client, signer, pool)
            if not args.no_profile:
                paths = (args.profile_path,) if args.profile_path else None
                measure(f"flow ({args.profile_path or 'mix'})", client, mixed.mixed_factory(signer, pool, paths),
                        args.calls, True, args.sort, args.top, args.dump)
        finally:
            redis.stop()
    return 0


def print_paths(args, client, signer, pool) -> None:
    """The table: CPU per webhook of each path alone, and its ratio to the silence path."""
    import statistics

    import mixed

    per_path: dict[str, list[float]] = {p: [] for p in mixed.PATHS}
    hooks: dict[str, int] = {}
    for _ in range(max(1, args.repeat)):
        for path in mixed.PATHS:
            factory = mixed.mixed_factory(signer, pool, (path,))
            t0 = time.process_time()
            sent = drive(client, factory, args.calls)
            per_path[path].append((time.process_time() - t0) / sent * 1000)
            hooks[path] = sent
    base = statistics.median(per_path["silence"])
    print(f"CPU per webhook by caller path, in-process ({args.calls} calls each, median of {args.repeat}; "
          "test client, no gunicorn):")
    print(f"  {'path':<12}{'webhooks/call':>14}{'ms CPU/wh':>10}{'x silence':>10}")
    for path in mixed.PATHS:
        ms = statistics.median(per_path[path])
        print(f"  {path:<12}{hooks[path] / args.calls:>14.1f}{ms:>10.3f}{ms / base:>10.2f}")
    worst = max((statistics.median(per_path[p]) / base, p) for p in mixed.VERIFYING)
    print(f"most expensive verifying path: {worst[1]} at {worst[0]:.2f}x the silence path "
          f"(target <= 1.3: {'met' if worst[0] <= 1.3 else 'NOT met'})")


if __name__ == "__main__":
    sys.exit(main())
