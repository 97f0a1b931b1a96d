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


# What RQ's unique-enqueue script runs inside Redis (rq.scripts.UNIQUE_ENQUEUE_SCRIPT), without a round trip.
ENQUEUE_SCRIPT = {"exists", "hset", "expire", "rpush", "lpush"}
INSIDE = END_SCRIPT | ENQUEUE_SCRIPT


def _voicemail_call(client, sid: str, rec: str):
    """The silence path's webhooks, as Twilio posts them: silence, then 0 (the front desk rings out), a message,
    its recording callback, the call's end; yields (webhook, response) after each."""
    params = start_params(sid)
    steps = [
        ("voice", "/twilio/voice", params),
        ("timeout", "/twilio/voice/timeout?turn=1", params),
        ("input 0", "/twilio/voice/input?turn=2", {**params, "Digits": "0"}),
        ("dialed", "/twilio/voice/dialed?turn=3", {**params, "DialCallStatus": "no-answer"}),
        ("recorded", "/twilio/voice/recorded?turn=4", {**params, "RecordingSid": rec, "RecordingDuration": "5",
                                                       "RecordingUrl": f"https://api.twilio.com/{rec}", "Digits": "#"}),
        ("recording-status", "/twilio/voice/recording-status", {
            "CallSid": sid, "AccountSid": params["AccountSid"], "RecordingSid": rec, "RecordingStatus": "completed",
            "RecordingUrl": f"https://api.twilio.com/{rec}", "RecordingDuration": "5"}),
        ("status", "/twilio/status", {**params, "CallStatus": "completed", "CallDuration": "40"}),
    ]
    for name, path, form in steps:
        yield name, post(client, path, form)


def test_a_voicemail_call_costs_these_round_trips_per_webhook(client, redis_conn):
    """The silence path (15 % of calls, the cheapest: the issue's yardstick) webhook by webhook: a turn is a read
    and a compare-and-set; the recording callback one enqueue; the end the read, the compare-and-set that returns
    the outbox, the escalation's enqueue and the outbox entry's removal."""
    for _ in _voicemail_call(client, "CA" + "9" * 32, "RE" + "9" * 32):
        pass  # a first call loads the scripts into Redis and lists the queue (once per process)
    _reset(redis_conn)
    seen = {}
    for name, response in _voicemail_call(client, SID, "RE" + "a" * 32):
        assert response.status_code == 200, (name, response.get_data(as_text=True))
        seen[name] = _round_trips(_calls(redis_conn), INSIDE)
        _reset(redis_conn)
    turn = {"hmget": 1, "evalsha": 1}
    assert seen == {
        "voice": turn, "timeout": turn, "input 0": turn, "dialed": turn,
        # The message: the turn, then the escalation it promised (RQ's unique enqueue, one script) and its outbox
        # entry dropped.  RQ's MULTI/SADD/EXEC that lists the queue in rq:queues went with the first call.
        "recorded": {"hmget": 1, "evalsha": 2, "hdel": 1},
        "recording-status": {"evalsha": 1},  # the copying job's unique enqueue (the note is in the database)
        "status": turn,  # the end's compare-and-set returns the outbox (empty): nothing to drain
    }
    assert sum(sum(calls.values()) for calls in seen.values()) == 15  # 17 before perf9d (2 SADD transactions)
