"""Escalation fixtures: a real SMTP server, the demo staff and their roster, and RQ driven on the test clock."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.escalations.demo import seed_demo_staff
from tests.helpers.escalations import DEMO_PASSWORD, JobRunner, SmtpServer, free_port

# The demo password's hash, made once per test session (argon2 is slow on purpose).
_HASH: list[str] = []


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    server = SmtpServer("127.0.0.1", free_port())
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    yield server
    controller.stop()


@pytest.fixture
def smtp(smtp_server):
    smtp_server.reset()
    yield smtp_server
    smtp_server.reset()


@pytest.fixture
def staff(database):
    """The demo staff and roster (front desk weekdays 9-6 and the on-call clinician at level 1,
    a backup at 2, the owner at 3); returns {email: user id}."""
    from ivr.escalations.models import StaffUser
    from ivr.passwords import hash_password

    if not _HASH:
        _HASH.append(hash_password(DEMO_PASSWORD))
    seed_demo_staff(database.sessions, password_hash=_HASH[0])
    with database.sessions() as db:
        return {u.email: u.id for u in db.scalars(select(StaffUser))}


@pytest.fixture
def jobs(app, redis_conn, clock, monkeypatch):
    monkeypatch.setattr("rq.job.now", lambda: clock.now)
    monkeypatch.setattr("rq.scheduler.current_timestamp", lambda: int(clock.now.timestamp()))
    return JobRunner(app, redis_conn, clock)
