"""Job ids RQ accepts, whatever the key (review: a ``change:<id>`` key wrote a staff task whose escalate job RQ
refused, so nobody was paged).  ``ivr.jobs.enqueue.job_id`` maps any key deterministically and without collisions
onto RQ's characters, keeps the ids of plain keys as they always were, and the job then runs on a real worker."""
from __future__ import annotations

import itertools

import pytest
from rq import Queue
from rq.job import JOB_ID_PATTERN, Job
from rq.serializers import JSONSerializer

from ivr.jobs.enqueue import Jobs, escalate_job_id, fetch_job_id, job_id, sms_job_id

SID = "CA" + "1" * 32
AWKWARD = ["change:7", "change/7", "change 7", "änderung-7", "変更:7", "change-7", "", "a-b", "x" * 64, "escalate",
           "😀", "change:7\n"]
REASONS = ["change_request", "reschedule-failed", "crisis", "a b", "c:d", "é"]


def test_plain_keys_keep_the_ids_they_always_had():
    assert escalate_job_id(SID, "crisis") == f"escalate-{SID}-crisis"
    assert escalate_job_id("change-1", "change_request") == "escalate-change-1-change_request"
    assert sms_job_id(SID, "text-3-1") == f"sms-{SID}-text-3-1"
    assert fetch_job_id("RE" + "2" * 32) == "recording-RE" + "2" * 32


@pytest.mark.parametrize("key", AWKWARD)
def test_every_key_gives_an_id_rq_accepts_and_the_same_one_each_time(key):
    for made in (escalate_job_id(key, "change_request"), sms_job_id(key, key), fetch_job_id(key)):
        assert JOB_ID_PATTERN.fullmatch(made), made
    assert escalate_job_id(key, "change_request") == escalate_job_id(key, "change_request")
    assert escalate_job_id("change:7", "change_request") == "escalatex-6368616e67653a37-6368616e67655f72657175657374"


def test_different_keys_never_share_an_id():
    pairs = list(itertools.product(AWKWARD + [SID, "a", "b-c", "a-b-c"], REASONS + ["b", "c", "b-c"]))
    for make in (escalate_job_id, sms_job_id):
        ids = [make(k, r) for k, r in pairs]
        assert len(set(ids)) == len(ids)
    # The classic ambiguity of joining with the separator: ("a-b", "c") and ("a", "b-c").
    assert escalate_job_id("a-b", "c") != escalate_job_id("a", "b-c")
    assert sms_job_id("a-b", "c") != sms_job_id("a", "b-c")
    assert len({fetch_job_id(k) for k in AWKWARD}) == len(AWKWARD)


def test_a_kind_that_is_not_plain_is_refused_loudly():
    with pytest.raises(ValueError, match="job kind"):
        job_id("esc:alate", "x")


@pytest.mark.parametrize("key", ["change:7", "change/7 ä", "変更 7"])
def test_an_escalation_under_an_awkward_key_is_enqueued_and_found(key, redis_conn):
    jobs = Jobs(redis_conn)
    enqueued = jobs.escalate(key, "change_request")
    assert enqueued.created and enqueued.job_id == escalate_job_id(key, "change_request")
    queue = Queue("calls", connection=redis_conn, serializer=JSONSerializer)
    assert queue.job_ids == [enqueued.job_id]
    job = Job.fetch(enqueued.job_id, connection=redis_conn, serializer=JSONSerializer)
    assert (job.func_name, job.args) == ("workers.escalations.escalate", [key, "change_request", "normal"])
    assert jobs.escalate(key, "change_request").created is False  # once per key and reason, as any other
