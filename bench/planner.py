"""How long a full outbound planning pass takes, and how much memory, for a large practice.

Builds (deterministically, seeded) a practice of 5,000 clients and 50,000 appointments around a
fixed instant, with the demo practice's settings and ``flows/outbound.yaml``, and times
``ivr.outbound.planner.plan`` over all of it.  A script, not a test: nothing asserts on timing.

    .venv/bin/python bench/planner.py
    .venv/bin/python bench/planner.py --clients 5000 --appointments 50000 --runs 5

Targets (issues 11 and 12): a full pass under 2 s and under 200 MB.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.outbound.facts import (  # noqa: E402
    AppointmentFacts,
    AppointmentStatus,
    Channel,
    ClientFacts,
    CorrectionRequest,
    Outcome,
    PastTouch,
    Phone,
    PracticeFacts,
    Reply,
)
from ivr.outbound.planner import TouchStatus, make_id, plan  # noqa: E402
from ivr.outbound.rules import check_outbound  # noqa: E402
from ivr.practice.settings.checks import load_practice  # noqa: E402

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # Monday 10:00 in New York
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles"]
AREA_CODES = ["212", "312", "303", "602", "310", "617", "415", "713"]  # real area codes: zones from the number


def build(clients: int, appointments: int, seed: int = 1) -> PracticeFacts:
    """A practice around NOW: 150 days of history, 30 of future, moves, no-shows, replies, past touches."""
    rng = random.Random(seed)
    people: list[ClientFacts] = []
    family_numbers = [f"+1555777{n:04d}" for n in range(clients // 40)]
    for n in range(clients):
        cid = f"C-{n:05d}"
        r = rng.random()
        if r < 0.05:
            phone = Phone(rng.choice(family_numbers), shared=True)
        elif r < 0.15:
            phone = Phone(f"+1{rng.choice(AREA_CODES)}555{n % 10000:04d}")
        else:
            phone = Phone(f"+1555{n:07d}")
        people.append(ClientFacts(cid, f"Client{n}", (phone,), rng.choice(ZONES) if rng.random() < 0.1 else None,
                                  may_call=rng.random() < 0.95, may_voicemail=rng.random() < 0.6,
                                  may_text=rng.random() < 0.8))
    appts: list[AppointmentFacts] = []
    past: list[PastTouch] = []
    per_client = appointments // clients
    first_day = NOW - dt.timedelta(days=150)
    for i, person in enumerate(people):
        offset = rng.randrange(7)
        hour = rng.choice([9, 10, 11, 13, 14, 15, 16, 17])
        for k in range(per_client):
            day = first_day + dt.timedelta(days=offset + k * (180 // per_client))
            start = day.replace(hour=hour + 5, minute=0, second=0, microsecond=0)  # NY hour in UTC (EST)
            aid = f"A-{i:05d}-{k:02d}"
            future = start > NOW
            r = rng.random()
            if future:
                status = AppointmentStatus.CANCELLED if r < 0.08 else AppointmentStatus.SCHEDULED
            else:
                status = (AppointmentStatus.NO_SHOW if r < 0.05 else AppointmentStatus.CANCELLED if r < 0.13
                          else AppointmentStatus.COMPLETED)
            version = 1 + (rng.random() < 0.2) + (rng.random() < 0.05)
            changed = min(start - dt.timedelta(days=rng.randrange(1, 20)), NOW - dt.timedelta(minutes=5))
            if status is AppointmentStatus.CANCELLED:
                changed = min(start - dt.timedelta(hours=rng.randrange(2, 72)), NOW - dt.timedelta(minutes=5))
            appts.append(AppointmentFacts(aid, person.id, start, start + dt.timedelta(minutes=50), status, version,
                                          changed, checked_in=status is AppointmentStatus.COMPLETED))
            # Reminders already sent in the last 14 days (what the touches table would give back).
            if NOW - dt.timedelta(days=14) < start < NOW + dt.timedelta(days=3) and person.may_text:
                for name, before in (("two_days_before", dt.timedelta(days=2)), ("two_hours_before",
                                                                                  dt.timedelta(hours=2))):
                    at = start - before
                    if at < NOW:
                        past.append(PastTouch(make_id(person.id, f"reminders.{name}", aid, version, 1, Channel.TEXT),
                                              person.id, Channel.TEXT, at, Outcome.DELIVERED, start,
                                              person.phones[0].e164))
    replies = tuple(Reply(rng.choice(people).id, NOW - dt.timedelta(hours=rng.randrange(1, 300)))
                    for _ in range(clients // 5))
    corrections = tuple(CorrectionRequest(str(n), rng.choice(people).id, NOW - dt.timedelta(hours=rng.randrange(1, 48)))
                        for n in range(clients // 100))
    last_contact = {p.id: NOW - dt.timedelta(days=rng.randrange(1, 120)) for p in people}
    opted_out = frozenset(p.phones[0].e164 for p in people if rng.random() < 0.02)
    return PracticeFacts(tuple(people), tuple(appts), tuple(past), replies, corrections, last_contact, opted_out,
                         frozenset())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--appointments", type=int, default=50000)
    parser.add_argument("--runs", type=int, default=5, help="timed passes after the first (default 5)")
    args = parser.parse_args()

    practice = load_practice(ROOT / "flows" / "practice.yaml")
    rules, problems = check_outbound(ROOT / "flows", practice)
    if rules is None:
        print("\n".join(map(str, problems)), file=sys.stderr)
        return 1
    started = time.perf_counter()
    facts = build(args.clients, args.appointments)
    built = time.perf_counter() - started
    print(f"practice: {len(facts.clients):,} clients, {len(facts.appointments):,} appointments, "
          f"{len(facts.past_touches):,} past touches, {len(facts.replies):,} replies "
          f"(built in {built:.2f} s); now = {NOW.isoformat()}")

    gc.collect()
    times, cpu = [], []
    touches = []
    for _ in range(args.runs + 1):
        started, started_cpu = time.perf_counter(), time.process_time()
        touches = plan(facts, rules, NOW)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    first, rest = times[0], times[1:]
    counts = Counter((t.status.value, t.kind.value) for t in touches)
    planned = sum(1 for t in touches if t.status is TouchStatus.PLANNED)
    print(f"touches: {len(touches):,} ({planned:,} planned, {len(touches) - planned:,} skipped); "
          + ", ".join(f"{s}/{k}: {n:,}" for (s, k), n in sorted(counts.items())))
    reasons = Counter(t.why_skipped.value for t in touches if t.why_skipped is not None)
    print("skipped because: " + ", ".join(f"{r}: {n:,}" for r, n in reasons.most_common()))
    print(f"time per full pass: first {first:.3f} s; median {statistics.median(rest):.3f} s, "
          f"min {min(rest):.3f} s, max {max(rest):.3f} s over {len(rest)} more (target < 2 s)")
    print(f"CPU per full pass: first {cpu[0]:.3f} s; median {statistics.median(cpu[1:]):.3f} s "
          "(less sensitive to other load on the machine)")

    gc.collect()
    tracemalloc.start()
    plan(facts, rules, NOW)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print(f"memory: planning pass peak {peak / 2**20:.1f} MB allocated (tracemalloc, on top of the facts); "
          f"process peak RSS {rss:.0f} MB including the facts and the interpreter (target < 200 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
