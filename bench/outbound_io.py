"""The outbound I/O at a practice's scale: a planning pass against the database, and sending due texts.

Seeds a SQLite database (the embedded default) with the practice of ``bench/planner.py`` (5,000 clients,
50,000 appointments), then times what the minute's job does: ``load_facts`` (the database read, only the
window the rules can still reach: ``ivr.outbound.planner.reach_back``), ``plan`` and ``record_plan`` (first
pass: every touch inserted; then ``--runs`` steady passes: nothing changes), with wall and CPU time, the
process's peak RSS and the load average (the machine may be shared); then the throughput of the send job's
body (``ivr.contact.sending.send``: recheck, claim, Messages.create) for ``--send`` due texts through the
local Twilio stand-in, one after another in one process.  A script, not a test: nothing asserts on timing.

Targets (issues 11 and 12): a full planning pass under 2 s and the process under 200 MB.

    .venv/bin/python bench/outbound_io.py
    .venv/bin/python bench/outbound_io.py --clients 5000 --appointments 50000 --send 1000 --runs 3
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench.planner import NOW, build, load_practice  # noqa: E402
from ivr.config import Settings  # noqa: E402
from ivr.contact import sending, touches  # noqa: E402
from ivr.contact.facts import load_facts  # noqa: E402
from ivr.contact.models import OutboundTouch  # noqa: E402
from ivr.contact.undeliverable import NumberHasher  # noqa: E402
from ivr.db.database import Database, upgrade  # noqa: E402
from ivr.dev.twilio_standin import TwilioStandin  # noqa: E402
from ivr.encryption import generate_key  # noqa: E402
from ivr.outbound.planner import plan, reach_back  # noqa: E402
from ivr.outbound.rules import check_outbound  # noqa: E402
from ivr.practice.models import Appointment, Client, ClientPhone, Clinician  # noqa: E402

ACCOUNT, TOKEN = "AC" + "b" * 32, "bench-token"


def seed(database: Database, clients: int, appointments: int) -> None:
    facts = build(clients, appointments)
    with database.sessions() as db, db.begin():
        # One clinician per client: the synthetic schedule puts many clients in the same hour.
        db.execute(insert(Clinician), [dict(id=f"clin-{c.id}", name="Clinician", working_hours={},
                                            session_minutes=50) for c in facts.clients])
        db.execute(insert(Client), [dict(id=c.id, first_name=c.first_name, last_name="B", clinician_id=f"clin-{c.id}",
                                         date_of_birth=dt.date(1980, 1, 1), may_text=c.may_text,
                                         may_voicemail=c.may_voicemail, may_call=c.may_call,
                                         time_zone=c.time_zone, discreet=True) for c in facts.clients])
        db.execute(insert(ClientPhone), [dict(client_id=c.id, e164=p.e164, position=i)
                                         for c in facts.clients for i, p in enumerate(c.phones)])
        db.execute(insert(Appointment), [dict(id=a.id, client_id=a.client_id, clinician_id=f"clin-{a.client_id}",
                                              start=a.start, end=a.end, status=a.status.value, version=a.version,
                                              changed_at=a.changed_at, checked_in=a.checked_in)
                                         for a in facts.appointments])


SEND_HORIZON_DAYS = 30


def seed_file(url: str, clients: int, appointments: int) -> None:
    database = Database.from_url(url)
    upgrade(database.engine)
    seed(database, clients, appointments)
    database.dispose()


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# The planning pass closes undeliverable numbers by their keyed hash (ivr.contact.undeliverable): every client's
# numbers are hashed in each pass, so the bench pays for it too.
PASS_HASHER = NumberHasher.from_setting(generate_key())


def timed_pass(database: Database, rules, now: dt.datetime) -> tuple[float, float, dict]:
    """One planning pass as the minute's job makes it: (wall s, CPU s, per part (wall, CPU) and counts)."""
    marks = [(time.perf_counter(), time.process_time())]
    with database.sessions() as db:
        facts = load_facts(db, since=reach_back(rules, now), hasher=PASS_HASHER)
    marks.append((time.perf_counter(), time.process_time()))
    planned = plan(facts, rules, now)
    marks.append((time.perf_counter(), time.process_time()))
    record = touches.record_plan(database.sessions, planned, rules.version, now)
    marks.append((time.perf_counter(), time.process_time()))
    parts: dict = {name: (marks[i + 1][0] - marks[i][0], marks[i + 1][1] - marks[i][1])
                   for i, name in enumerate(("load_facts", "plan", "record_plan"))}
    parts["counts"] = (f"{len(facts.appointments):,} appointments read, {len(planned):,} touches, "
                       f"{record.inserted:,} inserted, {len(record.schedule):,} planned rows")
    return marks[-1][0] - marks[0][0], marks[-1][1] - marks[0][1], parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--appointments", type=int, default=50000)
    parser.add_argument("--send", type=int, default=1000, help="due texts to send through the stand-in")
    parser.add_argument("--runs", type=int, default=3, help="steady passes after the first (default 3)")
    args = parser.parse_args()
    practice = load_practice(ROOT / "flows" / "practice.yaml")
    rules, problems = check_outbound(ROOT / "flows", practice)
    if rules is None:
        print("\n".join(map(str, problems)), file=sys.stderr)
        return 1
    folder = Path(tempfile.mkdtemp(prefix="ql-bench-"))
    url = f"sqlite:///{folder}/bench.db"
    # Seeded by a child process: the synthetic practice it builds in memory is not the pass's peak RSS.
    child = multiprocessing.get_context("fork").Process(target=seed_file, args=(url, args.clients, args.appointments))
    child.start()
    child.join()
    if child.exitcode != 0:
        print(f"seeding failed (exit code {child.exitcode})", file=sys.stderr)
        return 1
    database = Database.from_url(url)
    print(f"seeded {args.clients:,} clients and {args.appointments:,} appointments (SQLite, in a child process)")

    print(f"[load average {load_average()}] (the machine may be shared: CPU time is the steadier figure)")
    rss_before = peak_rss_mb()
    steady: list[tuple[float, float]] = []
    for n in range(args.runs + 1):
        label = "first pass (inserts every touch)" if n == 0 else f"steady pass {n} (nothing changes)"
        wall, cpu, parts = timed_pass(database, rules, NOW)
        if n:
            steady.append((wall, cpu))
        counts = parts.pop("counts")
        print(f"{label}: total {wall:.2f} s wall, {cpu:.2f} s CPU; " + ", ".join(
            f"{name} {w:.2f} s ({c:.2f} s CPU)" for name, (w, c) in parts.items()) + f"; {counts}")
        if n == 0:
            first = (wall, cpu)
    walls, cpus = [w for w, _ in steady], [c for _, c in steady]
    rss = peak_rss_mb()
    print(f"[load average {load_average()}]")
    print(f"full planning pass (load_facts + plan + record_plan), {args.clients:,} clients / "
          f"{args.appointments:,} appointments:")
    print(f"  first pass {first[0]:.2f} s wall, {first[1]:.2f} s CPU")
    print(f"  steady pass median {statistics.median(walls):.2f} s wall (min {min(walls):.2f}, max {max(walls):.2f}), "
          f"median {statistics.median(cpus):.2f} s CPU over {len(steady)}  "
          f"(target < 2 s: {'met' if statistics.median(walls) < 2 else 'NOT met'})")
    print(f"  peak RSS of the planning process {rss:.0f} MB (before the first pass {rss_before:.0f} MB)  "
          f"(target < 200 MB: {'met' if rss < 200 else 'NOT met'})")

    # Sending: enough due texts for --send, from one more pass with a longer horizon (the minute's pass plans a
    # week ahead), each sent at its own due time, one after another in one process.
    with database.sessions() as db:
        facts = load_facts(db, since=reach_back(rules, NOW))
    touches.record_plan(database.sessions, plan(facts, rules, NOW, horizon=dt.timedelta(days=SEND_HORIZON_DAYS)),
                        rules.version, NOW)
    with database.sessions() as db:
        due = list(db.execute(select(OutboundTouch.id, OutboundTouch.due).where(
            OutboundTouch.status == "planned", OutboundTouch.channel == "text")
            .order_by(OutboundTouch.due, OutboundTouch.id).limit(args.send)))
    with TwilioStandin(ACCOUNT, TOKEN) as standin:
        settings = Settings(twilio_account_sid=ACCOUNT, twilio_auth_token=TOKEN, twilio_api_url=standin.url,
                            public_base_url="https://bench.example.org", data_key=generate_key())
        # Built once, as the Outbound service does (undeliverable numbers are looked up by keyed hash).
        hasher = NumberHasher.from_setting(settings.data_key)
        urls = sending.Urls("https://bench.example.org/s", "https://bench.example.org/a",
                            "https://bench.example.org/c", "https://bench.example.org/m")
        client = sending.twilio_rest.make_client(settings)
        results: dict[str, int] = {}
        print(f"[load average {load_average()}]")
        t0, c0 = time.perf_counter(), time.process_time()
        for row_id, at in due:
            result, _ = sending.send(database.sessions, settings, rules, urls, row_id, at, twilio=client,
                                     hasher=hasher)
            results[result.value] = results.get(result.value, 0) + 1
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"send: {len(due):,} due texts in {elapsed:.1f} s wall ({len(due) / elapsed:.0f}/s, one process), "
              f"{cpu:.1f} s CPU ({1000 * cpu / max(1, len(due)):.1f} ms CPU each, the stand-in's included): "
              f"{results}; the stand-in holds {len(standin.messages()):,} messages")
        print(f"[load average {load_average()}]")
    database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
