"""Live queue benchmark: how long after an escalation is created does it show on a queue page already open?

    .venv/bin/python bench/live_queue.py                    # 20 escalations, about a minute
    .venv/bin/python bench/live_queue.py --escalations 50 -w 4
    .venv/bin/python bench/live_queue.py --help

Starts what production runs: gunicorn (sync workers) serving the app, a real Redis, a SQLite practice
database; signs a staff member in with headless Chromium (Debian's, driven by Playwright) and leaves the
queue page open.  Then, one at a time, it writes an urgent escalation into the database exactly as the
escalation job does at its end (the row's commit is "created"), and times, on the same machine's clock, the
moment the page's DOM shows it (a MutationObserver in the page).  The page short-polls ``/staff/live``
every 2 s (ivr/dashboard/static/dashboard.js), so the figure is about half that on average and at most one
interval plus a request.  Each escalation is created at a random moment of the polling cycle.

Prints the delays (median, p95, max) against the issue's target (5 s), the poll request's latency as the
browser saw it, and writes everything as JSON to bench/results/live-<timestamp>.json.  It asserts nothing.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

from webhooks import Gunicorn, free_port  # noqa: E402

from ivr.dev.redis_server import EmbeddedRedis  # noqa: E402

TARGET_SECONDS = 5.0  # issue 16: a staff member with the page open sees a new urgent escalation within 5 s
PASSWORD = "bench staff passphrase 42"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
WATCH = """() => {
  window.__seen = {};
  new MutationObserver((changes) => {
    for (const change of changes) for (const node of change.addedNodes) {
      if (node.nodeType === 1 && node.dataset && node.dataset.id && !(node.dataset.id in window.__seen)) {
        window.__seen[node.dataset.id] = Date.now() / 1000;
      }
    }
  }).observe(document.getElementById('queue'), {childList: true});
}"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def setup_database(db_url: str) -> int:
    """Migrate the database and add one staff member; their id."""
    from ivr import passwords
    from ivr.db.database import Database, upgrade
    from ivr.escalations.models import StaffUser

    database = Database.from_url(db_url)
    upgrade(database.engine)
    with database.sessions() as s, s.begin():
        user = StaffUser(email="bench@quietline.test", name="Bench Staff", role="staff",
                         password_hash=passwords.hash_password(PASSWORD), active=True)
        s.add(user)
        s.flush()
        user_id = user.id
    database.dispose()
    return user_id


def create_escalation(sessions, n: int) -> tuple[int, float]:
    """An urgent crisis escalation, committed; its id and the moment the commit returned (epoch seconds)."""
    from ivr.escalations.models import Escalation

    now = dt.datetime.now(dt.UTC)
    with sessions() as s, s.begin():
        row = Escalation(call_sid=f"CA{n:032d}", reason="crisis", category="crisis", priority=0, status="open",
                         caller_masked="+1******0001", timeline=["main.crisis"], created_at=now,
                         deadline_at=now + dt.timedelta(minutes=15))
        s.add(row)
        s.flush()
        escalation_id = row.id
    return escalation_id, time.time()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--escalations", type=int, default=20, help="how many to create, one at a time (default 20)")
    p.add_argument("-w", "--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    p.add_argument("--wait", type=float, default=30.0, help="give up on one escalation after this many seconds")
    p.add_argument("--results", default=str(BENCH_DIR / "results"), help="where the JSON report goes")
    p.add_argument("--seed", type=int, default=16, help="seed of the random moments of creation")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from playwright.sync_api import sync_playwright

    from ivr.db.database import Database

    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="ql-live-bench-"))
    redis = EmbeddedRedis(tmp / "redis", appendonly=False)
    server: Gunicorn | None = None
    database = None
    try:
        redis.start()
        db_url = f"sqlite:///{tmp / 'practice.db'}"
        setup_database(db_url)
        port = free_port()
        env = {"TWILIO_AUTH_TOKEN": "bench-auth-token-0123456789abcdef", "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
               "REDIS_URL": redis.url, "IVR_FLOWS_DIR": str(ROOT / "flows"), "LOG_LEVEL": "WARNING",
               "IVR_DATA_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
               "IVR_RECORDINGS_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(), "DATABASE_URL": db_url,
               "SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(), "IVR_INSTANCE_DIR": str(tmp)}
        server = Gunicorn(["app:app"], args.workers, "sync", env, port, tmp / "gunicorn.log", [])
        server.start("/health?scope=web")
        base = f"http://127.0.0.1:{port}"
        database = Database.from_url(db_url)
        delays: list[float] = []
        missed = 0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page()
            page.goto(f"{base}/staff/login")
            page.fill("input[name=email]", "bench@quietline.test")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/staff/")
            page.evaluate(WATCH)
            for n in range(args.escalations):
                time.sleep(rng.uniform(0.2, 2.2))  # a random moment of the 2 s polling cycle
                escalation_id, created = create_escalation(database.sessions, n)
                give_up = time.monotonic() + args.wait
                seen = None
                while seen is None and time.monotonic() < give_up:
                    seen = page.evaluate("(id) => window.__seen[id] || null", str(escalation_id))
                    if seen is None:
                        time.sleep(0.02)
                if seen is None:
                    missed += 1
                else:
                    delays.append(max(0.0, seen - created))
            polls = page.evaluate("""() => performance.getEntriesByType('resource')
                .filter((e) => e.name.includes('/staff/live')).map((e) => e.duration)""")
            browser.close()
        report = {
            "escalations": args.escalations, "workers": args.workers, "poll_interval_s": 2.0, "missed": missed,
            "delay_s": {"median": statistics.median(delays) if delays else None,
                        "p95": pct(delays, 95) if delays else None, "max": max(delays) if delays else None,
                        "all": [round(d, 3) for d in delays]},
            "poll_ms": {"count": len(polls), "median": statistics.median(polls) if polls else None,
                        "p95": pct(polls, 95) if polls else None},
            "target_s": TARGET_SECONDS,
        }
        met = bool(delays) and missed == 0 and max(delays) <= TARGET_SECONDS
        print(f"live queue: {args.escalations} escalations created while a queue page was open "
              f"(gunicorn -w {args.workers} sync, polling every 2.0 s)")
        if delays:
            print(f"delay from creation to on the page: median {report['delay_s']['median']:.2f} s, "
                  f"p95 {report['delay_s']['p95']:.2f} s, max {report['delay_s']['max']:.2f} s  "
                  f"(target <= {TARGET_SECONDS:.0f} s: {'met' if met else 'NOT met'})")
        print(f"never shown within {args.wait:.0f} s: {missed}")
        if polls:
            print(f"poll request as the browser saw it: {len(polls)} requests, "
                  f"median {report['poll_ms']['median']:.1f} ms, p95 {report['poll_ms']['p95']:.1f} ms")
        results = Path(args.results)
        results.mkdir(parents=True, exist_ok=True)
        out = results / f"live-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
        out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"written: {out}")
        return 0 if missed == 0 else 1
    finally:
        if database is not None:
            database.dispose()
        if server is not None:
            server.stop()
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
