"""How much database work each webhook of a caller's path costs: sessions begun and SQL statements run, counted with
SQLAlchemy's events on a real database (SQLite and PostgreSQL), per webhook, in order (issue 9).

The counts are pinned: a change that adds a query to a webhook (a lazy load, a second session, a re-read of what
the call already knows) fails here and has to say why.  The calls are the bench's paths (bench/mixed.py) placed as
Twilio would, against the demo practice, Monday 23 November 2026, 10:00 in New York (open).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from flask import request_started
from sqlalchemy import event

from ivr.db import database as db_mod
from ivr.practice.demo import seed_demo

ALEX, ALEX_DOB = "+15551230001", "04151985#"


@pytest.fixture
def database(any_database: db_mod.Database, clock) -> db_mod.Database:
    """The demo practice (as tests/plugins/service.py seeds it), on SQLite and on PostgreSQL."""
    seed_demo(any_database.sessions, clock.now, ZoneInfo("America/New_York"), late_arrival=False)
    return any_database


@dataclass
class Work:
    """Per webhook, in the order the call made them: the sessions that began a transaction, the statements run."""

    paths: list[str] = field(default_factory=list)
    sessions: list[set[int]] = field(default_factory=list)
    statements: list[list[str]] = field(default_factory=list)

    def counts(self) -> list[tuple[str, int, int]]:
        """``(webhook path, sessions, statements)`` per webhook."""
        return [(p, len(s), len(q)) for p, s, q in zip(self.paths, self.sessions, self.statements, strict=True)]


@pytest.fixture
def work(app, database: db_mod.Database) -> Iterator[Work]:
    """Counts what every webhook of the app does to the database, from the first request of the test on."""
    from flask import request

    seen = Work()

    def started(sender, **extra) -> None:
        seen.paths.append(request.path)
        seen.sessions.append(set())
        seen.statements.append([])

    def began(session, transaction, connection) -> None:
        if seen.sessions:
            seen.sessions[-1].add(id(session))

    def executed(conn, cursor, statement, parameters, context, executemany) -> None:
        if seen.statements:
            seen.statements[-1].append(statement)

    request_started.connect(started, app)
    event.listen(database.sessions, "after_begin", began)
    event.listen(database.engine, "before_cursor_execute", executed)
    yield seen
    event.remove(database.engine, "before_cursor_execute", executed)
    event.remove(database.sessions, "after_begin", began)
    request_started.disconnect(started, app)


VOICE, TIMEOUT, INPUT, DIALED, RECORDED = ("/twilio/voice", "/twilio/voice/timeout", "/twilio/voice/input",
                                         "/twilio/voice/dialed", "/twilio/voice/recorded")
RECORDING, STATUS = "/twilio/voice/recording-status", "/twilio/status"
NONE = 0, 0  # no session, no statement


@pytest.mark.parametrize("script, expected", [
    # silence at the menu, then 0: the front desk rings out, a message; only the voicemail's note (one INSERT … ON
    # CONFLICT DO NOTHING) touches the database
    pytest.param("wait;0;noanswer;record:3", [(VOICE, *NONE), (TIMEOUT, *NONE), (INPUT, *NONE), (DIALED, *NONE),
                                              (RECORDED, *NONE), (RECORDING, 1, 1), (STATUS, *NONE)], id="silence"),
    # 1: who is on the number (1); the date of birth: the locks' standing, the candidates with their phones and
    # each phone's STOP (one query, perf9f), the next appointment (3); keeping it reads nothing: vars.appt holds what
    # the call was told
    pytest.param("1;" + ALEX_DOB + ";3", [(VOICE, *NONE), (INPUT, 1, 1), (INPUT, 1, 3), (INPUT, *NONE),
                                          (STATUS, *NONE)], id="keep"),
    # reschedule: the appointment with its clinician, read afresh (it may have changed), and the clinician's busy
    # times around the nearest starts (2); the slot chosen (0); booked: the appointment again, release, insert, the
    # journal's chain entries (back and forward in one statement, perf9f), its entry (5)
    pytest.param("1;" + ALEX_DOB + ";1;1;1", [(VOICE, *NONE), (INPUT, 1, 1), (INPUT, 1, 3), (INPUT, 1, 2),
                                              (INPUT, *NONE), (INPUT, 1, 5), (STATUS, *NONE)], id="reschedule"),
    # cancel: the confirmation and the reason ask nothing of the database; the cancellation: the appointment, its
    # update, the journal's chain entries (one statement), the follow-up and the journal's entry (5)
    pytest.param("1;" + ALEX_DOB + ";2;1;1", [(VOICE, *NONE), (INPUT, 1, 1), (INPUT, 1, 3), (INPUT, *NONE),
                                              (INPUT, *NONE), (INPUT, 1, 5), (STATUS, *NONE)], id="cancel"),
    # links: no appointment at verification (2); the video link: the next appointment and the number's STOP (2)
    pytest.param("2;" + ALEX_DOB + ";1", [(VOICE, *NONE), (INPUT, 1, 1), (INPUT, 1, 2), (INPUT, 1, 2),
                                          (STATUS, *NONE)], id="links"),
])
def test_the_database_work_of_each_webhook_is_pinned(sim, work, script, expected) -> None:
    """Each webhook of the path begins at most one session and runs exactly the statements counted here, on
    SQLite and PostgreSQL alike."""
    result = sim.call(from_=ALEX, script=script)
    assert result.heard  # the call ran its course (the paths' words: tests/actions/test_practice_actions.py)
    assert work.counts() == expected
