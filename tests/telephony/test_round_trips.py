"""What one webhook asks of Redis, counted by a real Redis server (INFO commandstats), never timed.

The CPU a webhook costs grows with every Redis round trip (issue 9, "Performance, in the same pass"): a
turn of a call is one read and one compare-and-set script, a status callback one more read at most, and
nothing is enqueued when nothing changes.  Commands a script runs inside Redis are counted by the server
too; they cost no round trip, and are listed as such below.
"""
from __future__ import annotations

from redis import Redis

from tests.helpers.webhooks import post, start_params

SID = "CA" + "7" * 32
# What the compare-and-set script (ivr.telephony.call_store._SAVE) runs inside Redis, without a round trip.
SAVE_SCRIPT = {"hget", "hset", "expire"}
# What the status callback's script (_END) runs inside Redis besides those: the outbox read with the save.
END_SCRIPT = SAVE_SCRIPT | {"hkeys"}


def _reset(redis_conn: Redis) -> None:
    redis_conn.config_resetstat()


def _calls(redis_conn: Redis) -> dict[str, int]:
    """Commands served since the last reset, name → calls, less the test's own (INFO, CONFIG)."""
    stats = redis_conn.info("commandstats")
    calls = {name.removeprefix("cmdstat_").split("|")[0]: int(value["calls"]) for name, value in stats.items()}
    return {name: n for name, n in calls.items() if name not in ("info", "config")}


def _round_trips(calls: dict[str, int], inside: set[str]) -> dict[str, int]:
    return {name: n for name, n in calls.items() if name not in inside}


def test_a_turn_is_one_read_and_one_compare_and_set(client, redis_conn):
    post(client, "/twilio/voice", start_params(SID))  # loads the script into Redis (SCRIPT LOAD once per process)
    _reset(redis_conn)
    response = post(client, "/twilio/voice/timeout?turn=1", start_params(SID))
    assert response.status_code == 200
    calls = _calls(redis_conn)
    assert _round_trips(calls, SAVE_SCRIPT) == {"hmget": 1, "evalsha": 1}
    assert set(calls) - {"hmget", "evalsha"} <= SAVE_SCRIPT
    assert redis_conn.keys("rq:*") == []  # nothing to do, nothing enqueued


def test_a_status_callback_ends_the_call_in_two_round_trips_and_enqueues_nothing_new(client, redis_conn):
    warm = "CA" + "8" * 32  # a first call loads the scripts into Redis (SCRIPT LOAD once per process)
    post(client, "/twilio/voice", start_params(warm))
    post(client, "/twilio/status", {**start_params(warm), "CallStatus": "completed"})
    post(client, "/twilio/voice", start_params(SID))
    _reset(redis_conn)
    ended = {**start_params(SID), "CallStatus": "completed", "CallDuration": "12"}
    assert post(client, "/twilio/status", ended).status_code == 200
    calls = _calls(redis_conn)
    # The session read, then one script: the compare-and-set that ends the call, returning the outbox with it.
    assert _round_trips(calls, END_SCRIPT) == {"hmget": 1, "evalsha": 1}
    assert redis_conn.keys("rq:*") == []  # the call promised nothing: no job

    _reset(redis_conn)  # Twilio retries the callback: the call is over, nothing changes
    assert post(client, "/twilio/status", ended).status_code == 200
    assert _round_trips(_calls(redis_conn), set()) == {"hmget": 1, "hscan": 1}
    assert redis_conn.keys("rq:*") == []
