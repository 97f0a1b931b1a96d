"""A hung Redis (SIGSTOP: it accepts connections and never answers) costs a web process one timeout, not one per
request: every webhook still answers valid TwiML, the apology with voicemail (bench/redis_hang.py shows how fast).

A real redis-server of the test's own, stopped and resumed with signals; the app builds its own client from the
settings, exactly as in production.
"""
from __future__ import annotations

import copy
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ivr.app import create_app
from ivr.dev.redis_server import EmbeddedRedis
from ivr.telephony.redis_guard import (
    CircuitBreaker,
    GuardedRetry,
    RedisUnavailable,
    breaker_of,
    guarded_redis,
)
from tests.helpers.service import PUBLIC
from tests.helpers.webhooks import post, start_params

APOLOGY = ('<?xml version="1.0" encoding="UTF-8"?><Response><Say>We\'re sorry, something went wrong on our side.</Say>'
           '<Say>If you are in danger or this is a medical emergency, hang up and dial 9 1 1. If you are in crisis, '
           'call or text 9 8 8 to reach the Suicide and Crisis Lifeline, any time.</Say><Say>Please leave your '
           'name, number and a short message after the tone, and we will call you back.</Say>'
           f'<Record action="{PUBLIC}/twilio/fallback/voicemail" finishOnKey="#" maxLength="120" method="POST" '
           f'playBeep="true" recordingStatusCallback="{PUBLIC}/twilio/voice/recording-status" '
           'recordingStatusCallbackMethod="POST" /><Say>Thank you. We will call you back. Goodbye.</Say>'
           '<Hangup /></Response>')


@pytest.fixture
def own_redis():
    directory = Path(tempfile.mkdtemp(prefix="qlg-"))
    server = EmbeddedRedis(directory, appendonly=False).start()
    yield server
    if server.process is not None and server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_with_redis_hung_every_webhook_answers_the_apology_and_only_the_first_waits(own_redis, settings_overrides,
                                                                                     clock, database, caplog):
    app = create_app({**settings_overrides, "redis_url": own_redis.url, "redis_timeout_seconds": 0.5,
                      "redis_breaker_seconds": 60}, clock=clock, database=database)
    client = app.test_client()
    ql = app.extensions["quietline"]
    breaker = breaker_of(ql.redis)
    assert breaker is not None and not breaker.is_open
    # Healthy: a normal greeting.
    assert "Thank you for calling" in post(client, "/twilio/voice", start_params("CA" + "1" * 32)).get_data(True)

    os.kill(own_redis.process.pid, signal.SIGSTOP)
    first = post(client, "/twilio/voice", start_params("CA" + "2" * 32))
    assert (first.status_code, first.get_data(as_text=True)) == (200, APOLOGY)
    assert breaker.is_open  # the timeout tripped it
    # Every later webhook of this process is answered without asking Redis: mid-call ones, new calls, the fallback.
    for path, extra in [("/twilio/voice", {}), ("/twilio/voice/input?turn=1", {"Digits": "0"}),
                        ("/twilio/voice/timeout?turn=1", {}), ("/twilio/fallback", {"ErrorCode": "11205"})]:
        answer = post(client, path, {**start_params("CA" + "3" * 32), **extra})
        assert (answer.status_code, answer.get_data(as_text=True)) == (200, APOLOGY), path
    assert "Redis did not answer in time: failing fast for 60 s" in caplog.text
    assert "RedisUnavailable" in caplog.text

    # Redis answers again: once the breaker lets a command through, calls are served normally.
    os.kill(own_redis.process.pid, signal.SIGCONT)
    breaker.reset()
    again = post(client, "/twilio/voice", start_params("CA" + "4" * 32))
    assert "Thank you for calling" in again.get_data(as_text=True)


def test_the_breaker_opens_on_a_timeout_only_and_closes_after_its_period():
    ticks = Ticks()
    breaker = CircuitBreaker(5, clock=ticks)
    retry = GuardedRetry(breaker)
    calls: list[str] = []

    def hangs():
        calls.append("hang")
        raise RedisTimeoutError("Timeout reading from socket")

    with pytest.raises(RedisTimeoutError):
        retry.call_with_retry(hangs, lambda error: None)
    assert calls == ["hang"]  # a timeout is not retried: a hung server would only hang again
    assert breaker.is_open
    with pytest.raises(RedisUnavailable):
        retry.call_with_retry(lambda: "never called", lambda error: None)
    assert issubclass(RedisUnavailable, RedisConnectionError)
    ticks.now += 5  # the period is over: the next command is tried (and closes it by succeeding)
    assert retry.call_with_retry(lambda: "PONG", lambda error: None) == "PONG"

    # A refused or reset connection (Redis restarting) is retried once on a new connection, and trips nothing.
    attempts: list[int] = []

    def reset_then_ok():
        attempts.append(1)
        if len(attempts) == 1:
            raise RedisConnectionError("Connection reset by peer")
        return "OK"

    assert retry.call_with_retry(reset_then_ok, lambda error: None) == "OK"
    assert len(attempts) == 2 and not breaker.is_open


def test_every_connection_of_a_client_shares_one_breaker(own_redis):
    client = guarded_redis(own_redis.url, 0.5, 5)
    breaker = breaker_of(client)
    retry = client.connection_pool.connection_kwargs["retry"]
    assert copy.deepcopy(retry).breaker is breaker  # redis-py deep-copies the Retry into each connection
    conn = client.connection_pool.get_connection()
    try:
        assert conn.retry.breaker is breaker
    finally:
        client.connection_pool.release(conn)
    assert client.ping() is True
    client.close()
