"""Redis that fails fast: a webhook answers within seconds even when Redis hangs.

A Redis that is *down* (killed, restarting) refuses connections at once.  A Redis that
*hangs* (stopped, swapping, a disk stall) accepts them and never answers, so every
command waits its socket timeout.  gunicorn's sync workers serve one request at a
time, so each request stuck that long also holds up every request queued behind it,
the fallback URL's included.  Two things bound that:

* ``socket_timeout`` (IVR_REDIS_TIMEOUT_SECONDS, 1 s): one command's longest wait;
  a connection error (a restarted Redis closed our pooled socket) is retried once on
  a fresh connection, a timeout never (a hung server would only hang again);
* a circuit breaker (IVR_REDIS_BREAKER_SECONDS, 5 s): after a command timed out, every
  Redis command of this process fails at once with :class:`RedisUnavailable` for that
  long; then the next command tries again (half-open) and closes it on success.

So with Redis hung each web process pays one timeout per breaker period, and every
other webhook is answered with the apology at once.  The breaker lives inside
redis-py's ``Retry`` (every command, pipeline and connect goes through
``call_with_retry``), so it guards everything that uses the client: call sessions, job
enqueues, the dashboard, ``/health``.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ivr.exceptions import IvrError

log = logging.getLogger(__name__)
T = TypeVar("T")


class RedisUnavailable(IvrError, RedisConnectionError):
    """Not sent: a recent command timed out and the breaker is open.  A ConnectionError, so
    every ``except redis.ConnectionError`` treats it as the Redis outage it stands for."""


class CircuitBreaker:
    """Open for ``open_seconds`` after a trip; shared by every connection of one client.

    redis-py deep-copies the ``Retry`` into each connection; ``__deepcopy__`` returning
    ``self`` keeps one breaker per client.  ``clock``: monotonic seconds (tests pass their own).
    """

    def __init__(self, open_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.open_seconds = float(open_seconds)
        self._clock = clock
        self._open_until = 0.0
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict) -> CircuitBreaker:
        return self

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def trip(self) -> None:
        with self._lock:
            was_open = self.is_open
            self._open_until = self._clock() + self.open_seconds
        if not was_open and self.open_seconds > 0:
            log.error("Redis did not answer in time: failing fast for %.0f s", self.open_seconds)

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


class GuardedRetry(Retry):
    """redis-py's Retry (connection errors only) behind a :class:`CircuitBreaker`."""

    def __init__(self, breaker: CircuitBreaker, retries: int = 1):
        # Only connection errors: a timeout means the server hangs, and asking again would double the wait.
        super().__init__(ExponentialBackoff(cap=0.1, base=0.01), retries, supported_errors=(RedisConnectionError,))
        self.breaker = breaker

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, GuardedRetry) and other.breaker is self.breaker and super().__eq__(other)

    __hash__ = Retry.__hash__

    def call_with_retry(self, do: Callable[[], T], fail: Callable[..., Any],
                        is_retryable: Callable[[Exception], bool] | None = None,
                        with_failure_count: bool = False) -> T:
        if self.breaker.is_open:
            raise RedisUnavailable("Redis is not answering (circuit breaker open)")
        try:
            return super().call_with_retry(do, fail, is_retryable, with_failure_count)
        except RedisTimeoutError:
            self.breaker.trip()
            raise


def guarded_redis(url: str, timeout: float, breaker_seconds: float) -> Redis:
    """A client for ``url`` whose commands wait at most ``timeout`` seconds, behind a breaker."""
    breaker = CircuitBreaker(breaker_seconds)
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=min(timeout, 1.0),
                          retry=GuardedRetry(breaker))


def breaker_of(redis: Redis) -> CircuitBreaker | None:
    """The breaker behind a client made by :func:`guarded_redis` (None for any other client)."""
    retry = redis.connection_pool.connection_kwargs.get("retry")
    return getattr(retry, "breaker", None)
