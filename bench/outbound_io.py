"""The outbound I/O at a practice's scale: a planning pass against the database, and sending due texts.

Seeds a SQLite database (the embedded default) with the practice of ``bench/planner.py`` (5,000 clients,
50,000 appointments), then times what the minute's job does: ``load_facts`` (the database read),
``plan`` and ``record_plan`` (first pass: every touch inserted; second pass: nothing changes), and the
throughput of the send job's body (``ivr.contact.sending.send``: recheck, claim, Messages.create) for
``--send`` due texts through the local Twilio stand-in, one after another in one process.  A script, not
a test: nothing asserts on timing.

    .venv/bin/python bench/outbound_io.py
    .venv/bin/python bench/outbound_io.py --clients 5000 --appointments 50000 --send 1000
"""
from __future__ import annotations

import argparse
import datetime as dt
import resource
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
from ivr.db.database import Database, upgrade  # noqa: E402
from ivr.dev.twilio_standin import TwilioStandin  # noqa: E402
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--appointments", type=int, default=50000)
    parser.add_argument("--send", type=int, default=1000, help="due texts to send through the stand-in")
    args = parser.parse_args()
    practice = load_practice(ROOT / "flows" / "practice.yaml")
    rules, problems = check_outbound(ROOT / "flows", practice)
    if rules is None:
        print("\n".join(map(str, problems)), file=sys.stderr)
        return 1
    folder = Path(tempfile.mkdtemp(prefix="ql-bench-"))
    database = Database.from_url(f"sqlite:///{folder}/bench.db")
    upgrade(database.engine)
    seed(database, args.clients, args.appointments)
    print(f"seeded {args.clients:,} clients and {args.appointments:,} appointments (SQLite)")

    for label in ("first pass (inserts every touch)", "second pass (nothing changes)"):
        t0 = time.perf_counter()
        with database.sessions() as db:
            facts = load_facts(db, since=reach_back(rules, NOW))
        t1 = time.perf_counter()
        planned = plan(facts, rules, NOW)
        t2 = time.perf_counter()
        record = touches.record_plan(database.sessions, planned, rules.version, NOW)
        t3 = time.perf_counter()
        print(f"{label}: load_facts {t1 - t0:.2f} s, plan {t2 - t1:.2f} s, record_plan {t3 - t2:.2f} s, "
              f"total {t3 - t0:.2f} s; {len(planned):,} touches, {record.inserted:,} inserted, "
              f"{len(record.schedule):,} planned rows")
    print(f"peak RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

    # Sending: the first --send planned texts (all there are, when fewer), each at its own due time.
    with database.sessions() as db:
        due = list(db.execute(select(OutboundTouch.id, OutboundTouch.due).where(
            OutboundTouch.status == "planned", OutboundTouch.channel == "text")
            .order_by(OutboundTouch.due).limit(args.send)))
    with TwilioStandin(ACCOUNT, TOKEN) as standin:
        settings = Settings(twilio_account_sid=ACCOUNT, twilio_auth_token=TOKEN, twilio_api_url=standin.url,
                            public_base_url="https://bench.example.org")
        urls = sending.Urls("https://bench.example.org/s", "https://bench.example.org/a",
                            "https://bench.example.org/c", "https://bench.example.org/m")
        client = sending.twilio_rest.make_client(settings)
        results: dict[str, int] = {}
        t0 = time.perf_counter()
        for row_id, at in due:
            result, _ = sending.send(database.sessions, settings, rules, urls, row_id, at, twilio=client)
            results[result.value] = results.get(result.value, 0) + 1
        elapsed = time.perf_counter() - t0
        print(f"send: {len(due):,} due texts in {elapsed:.1f} s ({len(due) / elapsed:.0f}/s, one process): "
              f"{results}; the stand-in holds {len(standin.messages()):,} messages")
    database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
