"""One priority, decided once (issue 7 §3): the core decides, the queues and the workers use that value.

Real calls through the shipped flows (edited per test), real RQ workers on the urgent
and calls queues, the real database and the Twilio stand-in.
"""
from __future__ import annotations

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from tests.helpers.escalations import PHONES, escalations, texts
from tests.helpers.service import stored_state

ALEX = "+15551230001"
LINK = "https://ql.example.org/staff/e/"


def queues(redis_conn) -> dict[str, list[str]]:
    return {name: Queue(name, connection=redis_conn, serializer=JSONSerializer).job_ids for name in ("urgent", "calls")}


def reload(app) -> None:
    assert app.extensions["quietline"].flows.maybe_reload()


def test_a_crisis_step_without_priority_still_reaches_the_urgent_queue_and_worker(app, sim, flows_dir, database,
                                                                                   redis_conn, jobs, staff, standin):
    crisis = flows_dir / "crisis.yaml"
    text = crisis.read_text()
    assert "      priority: urgent\n" in text
    crisis.write_text(text.replace("      priority: urgent\n", ""))
    reload(app)
    result = sim.call(from_=ALEX, script="9;answer")
    job_id = f"escalate-{result.call_sid}-crisis"
    assert queues(redis_conn) == {"urgent": [job_id], "calls": []}
    job = Queue("urgent", connection=redis_conn, serializer=JSONSerializer).fetch_job(job_id)
    assert job.args == [result.call_sid, "crisis", "urgent"]
    state = stored_state(redis_conn, result.call_sid)
    assert state["escalated"] == {"crisis": "urgent"}
    jobs.run(queues=("urgent",))  # the urgent worker alone
    [esc] = escalations(database)
    assert (esc.reason, esc.category, esc.priority) == ("crisis", "crisis", 0)
    assert sorted(texts(standin)) == sorted(
        (PHONES[who], f"URGENT call #{esc.id}: call back now. {LINK}{esc.id}")
        for who in ("frontdesk@example.com", "oncall@example.com"))
    assert queues(redis_conn)["calls"] == []


@pytest.mark.parametrize("override, step_priority, queue, rank", [
    ("", None, "calls", 2),  # the defaults: billing is normal
    ("", "high", "calls", 1),  # the step asks for more than the policy
    ("  billing: {within: 1 business day, priority: urgent}\n", None, "urgent", 0),  # the practice asks for more
    ("  billing: {within: 1 business day, priority: urgent}\n", "normal", "urgent", 0),  # the more urgent wins
], ids=["defaults", "step-high", "practice-urgent", "practice-beats-step"])
def test_the_more_urgent_of_step_and_policy_is_used_by_the_web_and_the_worker(
        app, sim, flows_dir, database, redis_conn, jobs, override, step_priority, queue, rank):
    practice = flows_dir / "practice.yaml"
    practice.write_text(practice.read_text().replace("  billing: {within: 1 business day}\n", override or
                                                     "  billing: {within: 1 business day}\n"))
    if step_priority:
        billing = flows_dir / "billing.yaml"
        billing.write_text(billing.read_text().replace(
            "      reason: billing\n", f"      reason: billing\n      priority: {step_priority}\n"))
    reload(app)
    result = sim.call(from_=ALEX, script="3;04151985#;2;record:4")
    escalate_jobs = {name: [j for j in ids if j.startswith("escalate-")] for name, ids in queues(redis_conn).items()}
    assert escalate_jobs == {queue: [f"escalate-{result.call_sid}-billing"],
                             ("calls" if queue == "urgent" else "urgent"): []}
    jobs.run()
    [esc] = escalations(database)
    assert (esc.reason, esc.priority) == ("billing", rank)
