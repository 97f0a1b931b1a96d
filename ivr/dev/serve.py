"""The whole service in the foreground: ``python -m ivr.dev.serve`` (what ``make run`` starts).

Zero setup: a development Twilio token and data keys (IVR_DATA_KEY, which encrypts call records in
Redis, and IVR_RECORDINGS_KEY, voicemails and transcripts) in ``.env`` when there are none, an
embedded Redis on a unix socket unless REDIS_URL is set, and a local Twilio REST stand-in unless
TWILIO_API_URL is set (so texts and recording downloads work offline).  Then gunicorn and three RQ
workers (``ivr.jobs.layout.worker_layout``: urgent; urgent,calls; speech alone), supervised: a piece
that dies (``kill -9``, a crash, the OOM killer) is restarted on its own, with backoff, while the rest keeps
serving; gunicorn keeps answering calls (the fallback URL too) while Redis, a worker
or the stand-in is restarted.  An embedded Redis that stops answering (hung, not dead)
for ``--redis-hang-seconds`` is killed and restarted the same way, and so is an RQ worker
whose heartbeat in Redis is older than ``--worker-hang-seconds`` (default: the worker TTL,
IVR_WORKER_TTL_SECONDS) while Redis itself answers: hung (SIGSTOP, a deadlock), not dead.  A worker not yet
registered with RQ (the speech worker loads its model first) has ``--startup-timeout`` from each start, a
restart as much as the first start; the supervisor's own kills are logged as its own.  A piece that dies
before the service is first up stops everything (a broken setup, not a fault).
Ctrl-C or SIGTERM stops everything in order (web and workers, stand-in, Redis last
so queued jobs are flushed to its append-only file).

Options: ``--host``, ``--port``, ``--workers``, ``--no-workers``, ``--check-only``;
HOST and PORT from the environment are the defaults.  ``--wallclock ISO`` runs the service and every
process it starts on a wall clock that starts at that instant and runs on (``ivr.dev.wallclock``), to try
follow-ups and reminders at any hour; refused with IVR_TEST_NOW and unless Twilio is the local stand-in.
PUBLIC_BASE_URL defaults to this host and ``--port``.  IVR_INSTANCE_DIR moves the embedded Redis (tests).
FLASK_SKIP_DOTENV=1 skips ``.env``, as it does for ``flask``.  While it runs,
``instance/service.json`` tells ``flask --app app call --url …`` in another terminal
how the service signs and where its local Twilio stand-in is (see ``service_note``).

Everything it and its children write is owner-only (umask 077); at start, ``.env``,
``instance/`` and the recordings folder are made owner-only if an older version left
them readable (``ivr.private_files``).
"""
from __future__ import annotations

import argparse
import ctypes
import dataclasses
import datetime as dt
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ivr import config as config_mod
from ivr.actions.catalog import default_registry
from ivr.db import database as db_mod
from ivr.db.migrate_lock import locked_upgrade
from ivr.dev import wallclock
from ivr.dev.redis_server import EmbeddedRedis
from ivr.dev.wallclock import WallclockError
from ivr.encryption import ENV_NAME, RECORDINGS_ENV_NAME, generate_key
from ivr.escalations.demo import demo_password, logins_note, seed_demo_staff
from ivr.exceptions import ConfigError
from ivr.flowlang.store import check_dir
from ivr.jobs.layout import worker_layout
from ivr.practice.demo import seed_demo
from ivr.practice.settings.checks import load_practice
from ivr.private_files import private_dir, restrict_umask, tighten

log = logging.getLogger("ivr.dev.serve")

ENV_FILE = config_mod.PROJECT_ROOT / ".env"
STANDIN_PORT = 8010
STOP_TIMEOUT = 10.0
STARTUP_TIMEOUT = 300.0  # the first start (speech model, migrations) on a slow, shared machine takes minutes
STARTUP_PROGRESS_SECONDS = 10.0  # while starting, what /health still waits for is printed this often
POLL_SECONDS = 0.2
# Restarts: 1, 2, 4 … s after a death, at most 30 s; a piece that ran this long is healthy again.
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
RESTART_STABLE_SECONDS = 60.0
# The embedded Redis is asked PING this often; silent for --redis-hang-seconds means hung.
REDIS_PING_SECONDS = 2.0
REDIS_HANG_SECONDS = 30.0
# RQ workers' heartbeats (rq:worker:<name> last_heartbeat) are read this often; a worker whose last one is
# older than --worker-hang-seconds is hung.
WORKER_CHECK_SECONDS = 2.0
SERVICE_NOTE = "service.json"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"}

_stop_requested = False


def _request_stop(signum: int, frame: object) -> None:
    # Only a flag: the main loop notices it within POLL_SECONDS and shuts down in order.
    global _stop_requested
    if not _stop_requested:
        log.info("%s received: stopping", signal.Signals(signum).name)
    _stop_requested = True


# --------------------------------------------------------------------------- setup steps


def dotenv_enabled(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Mirror flask's rule, so ``flask --app app call`` and this see the same settings."""
    value = environ.get("FLASK_SKIP_DOTENV")
    return not value or value.lower() in ("0", "false", "no")


def ensure_dev_credentials(env_file: Path, environ: MutableMapping[str, str] = os.environ) -> bool:
    """Give a checkout without a Twilio token a random development one in ``env_file``.

    Returns True when one was written (and sets it in ``environ``).  The token is
    never printed: the note says where it is and how to replace it.
    """
    from dotenv import set_key

    if environ.get("TWILIO_AUTH_TOKEN"):
        return False
    _create_env_file(env_file)
    # Marked as a development token (config.is_development_token): `flask doctor` refuses it for going live.
    values = {"TWILIO_AUTH_TOKEN": config_mod.DEVELOPMENT_TOKEN_PREFIX + secrets.token_hex(16)}
    if not environ.get("TWILIO_ACCOUNT_SID"):
        values["TWILIO_ACCOUNT_SID"] = "AC" + secrets.token_hex(16)
    for key, value in values.items():
        set_key(env_file, key, value, quote_mode="never")
        environ[key] = value
    return True


def ensure_dev_data_key(env_file: Path, environ: MutableMapping[str, str] = os.environ,
                        name: str = ENV_NAME) -> bool:
    """Give a checkout without IVR_DATA_KEY (or ``name``: IVR_RECORDINGS_KEY) a random development one in
    ``env_file`` (0600).

    Returns True when one was written (and sets it in ``environ``); never prints it.
    ``.env`` rather than ``instance/`` or ``recordings/``: the key must not sit beside the data it
    protects (Redis's files, the voicemails), which are what gets copied and backed up.
    """
    from dotenv import set_key

    if environ.get(name):
        return False
    _create_env_file(env_file)
    key = generate_key()
    set_key(env_file, name, key, quote_mode="never")
    environ[name] = key
    return True


def _create_env_file(env_file: Path) -> None:
    if not env_file.exists():
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# Local settings for Quietline (not committed). See README.md, \"Environment\".\n")


def check_flows(settings: config_mod.Settings) -> bool:
    """``flask --app app flows check`` in-process: print every problem; False when any is an error."""
    flows, problems = check_dir(settings.flows_dir, default_registry().signatures())
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        print(str(problem), file=sys.stderr if problem.severity == "error" else sys.stdout, flush=True)
    if errors or flows is None:
        print(f"{len(errors)} problem(s) in {settings.flows_dir}: not starting. "
              "Fix them, then check again with: .venv/bin/flask --app app flows check", file=sys.stderr, flush=True)
        return False
    steps = sum(len(f.steps) for f in flows.flows.values())
    print(f"Flows OK: {len(flows.flows)} flows, {steps} steps ({settings.flows_dir})", flush=True)
    return True


def instance_dir() -> Path:
    return Path(os.environ.get("IVR_INSTANCE_DIR") or config_mod.INSTANCE_DIR)


def embedded_redis_socket() -> Path:
    """Where the config's default REDIS_URL expects the embedded server, moved with IVR_INSTANCE_DIR."""
    return instance_dir() / config_mod.EMBEDDED_REDIS_SOCKET.relative_to(config_mod.INSTANCE_DIR)


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _local_host(host: str) -> str:
    """An address this machine can use to reach a server bound to ``host``."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _url(host: str, port: int) -> str:
    host = _local_host(host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def default_web_workers() -> int:
    return max(2, 2 * len(os.sched_getaffinity(0)))


# --------------------------------------------------------------------------- children


def _parent_death_signal() -> Callable[[], None] | None:
    """Children get SIGTERM if this process is killed outright (-9), instead of lingering."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


@dataclass
class Child:
    """One supervised process, and what is needed to start it again."""

    name: str
    proc: subprocess.Popen
    args: list[str] = dataclasses.field(default_factory=list)
    started_at: float = 0.0  # time.monotonic()
    restarts: int = 0  # how many times it was restarted
    failures: int = 0  # deaths in a row, each within RESTART_STABLE_SECONDS of its start
    restart_at: float | None = None  # when a restart is due (None: running)
    kind: str = "process"  # "gunicorn", "worker", "standin"
    started_on: dt.datetime | None = None  # the supervisor's clock at its (re)start: a worker's heartbeat age
    killed_why: str | None = None  # set when the supervisor itself killed this process (e.g. "hung")

    def exit_note(self) -> str:
        code = self.proc.returncode
        if self.killed_why is not None:
            how = f"was killed by the supervisor ({self.killed_why})"
        elif code is not None and code < 0:
            how = f"was killed by {signal.Signals(-code).name} unexpectedly"
        else:
            how = f"exited with code {code} unexpectedly"
        return f"{self.name} (pid {self.proc.pid}) {how}"


def restart_delay(failures: int) -> float:
    """Seconds to wait before the ``failures``-th restart in a row: 1, 2, 4 … capped at RESTART_MAX_DELAY."""
    return min(RESTART_MAX_DELAY, RESTART_FIRST_DELAY * 2 ** max(0, failures - 1))


class Supervisor:
    """Starts the long-lived processes, restarts whichever dies, and stops them in order."""

    def __init__(self, redis_hang_seconds: float = REDIS_HANG_SECONDS,
                 worker_hang_seconds: float | None = None,
                 clock: Callable[[], dt.datetime] | None = None,
                 start_allowance_seconds: float = STARTUP_TIMEOUT) -> None:
        """``worker_hang_seconds``: a worker silent this long is killed and restarted (None or 0: never).
        ``clock``: aware UTC now, compared with RQ's heartbeat stamps (tests pass a fixed one).
        ``start_allowance_seconds``: how long a worker may take from its (re)start to registering with RQ
        (the speech worker loads and warms up its model first); at least ``worker_hang_seconds``."""
        self.redis = None  # ivr.dev.redis_server.EmbeddedRedis when we started one
        self.standin: Child | None = None
        self.children: list[Child] = []  # gunicorn and workers
        self._preexec = _parent_death_signal()
        self.redis_hang_seconds = redis_hang_seconds
        self._redis_started_at = 0.0
        self._redis_failures = 0
        self._redis_restart_at: float | None = None
        self._redis_silent_since: float | None = None
        self._redis_next_ping = 0.0
        self._redis_client = None
        self.worker_hang_seconds = worker_hang_seconds
        self.start_allowance_seconds = start_allowance_seconds
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._worker_next_check = 0.0
        self._redis_answering_since: dt.datetime | None = None

    def spawn(self, name: str, args: list[str], kind: str = "process") -> Child:
        # Own session: a Ctrl-C in the terminal reaches only us, and we stop children in order.
        proc = subprocess.Popen(args, cwd=config_mod.PROJECT_ROOT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=self._preexec)
        log.info("started %s (pid %d)", name, proc.pid)
        return Child(name, proc, list(args), time.monotonic(), kind=kind, started_on=self.clock())

    def _all(self) -> list[Child]:
        return ([self.standin] if self.standin else []) + self.children

    def dead_child(self) -> str | None:
        """Name and exit code of a process that stopped on its own, if any."""
        for child in self._all():
            if child.restart_at is None and child.proc.poll() is not None:
                return child.exit_note()
        if self.redis is not None and self.redis.process is not None and self.redis.process.poll() is not None:
            return f"redis-server exited with code {self.redis.process.returncode}"
        return None

    # ---------------------------------------------------------------- restarts

    def tend(self) -> None:
        """One pass of the watch loop: notice deaths (and a hung Redis), start what is due."""
        now = time.monotonic()
        self._tend_redis(now)
        if now >= self._worker_next_check:
            self._worker_next_check = now + WORKER_CHECK_SECONDS
            self.kill_hung_workers()
        for child in self._all():
            if child.restart_at is None:
                if child.proc.poll() is None:
                    continue
                self._schedule(child, now)
            # A worker restarted while Redis is still down would only die again.
            if child.restart_at is not None and now >= child.restart_at and not (
                    child.kind == "worker" and self._redis_restart_at is not None):
                self._restart(child)

    def _schedule(self, child: Child, now: float) -> None:
        child.failures = 1 if now - child.started_at >= RESTART_STABLE_SECONDS else child.failures + 1
        delay = restart_delay(child.failures)
        child.restart_at = now + delay
        log.error("%s: restarting it in %.0f s; everything else keeps running", child.exit_note(), delay)
        # Whatever it left in its process group (gunicorn's workers, a work horse, RQ's scheduler) goes too:
        # orphaned gunicorn workers would hold the port, an orphaned scheduler its lock.
        _signal(child.proc.pid, signal.SIGKILL, group=True)
        if child.kind == "worker":
            self._forget_worker(child.proc.pid)

    def _restart(self, child: Child) -> None:
        if child.kind == "worker":
            # Its forked scheduler was killed with its group a moment ago; by now it is surely gone.
            client = self._redis_for_supervisor()
            if client is not None:
                try:
                    self._release_dead_schedulers(client, socket.gethostname())
                except Exception as exc:  # Redis down: the lock expires on its own
                    log.warning("could not release a dead scheduler's lock (%s)", type(exc).__name__)
        try:
            proc = subprocess.Popen(child.args, cwd=config_mod.PROJECT_ROOT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, preexec_fn=self._preexec)
        except OSError as exc:
            child.failures += 1
            child.restart_at = time.monotonic() + restart_delay(child.failures)
            log.error("could not restart %s (%s): trying again in %.0f s", child.name, exc.strerror,
                      child.restart_at - time.monotonic())
            return
        child.proc, child.started_at, child.restart_at = proc, time.monotonic(), None
        child.started_on = self.clock()
        child.killed_why = None
        child.restarts += 1
        log.warning("restarted %s (pid %d; restart %d)", child.name, proc.pid, child.restarts)

    def _forget_worker(self, pid: int) -> None:
        """Register the death of the RQ worker that was ``pid`` on this host.

        RQ 3.0 (``rq/worker/base.py``) names a worker ``uuid4().hex`` unless told otherwise, keeps
        its hash ``rq:worker:<name>`` for ``worker_ttl + 60`` s after the last heartbeat, and
        ``register_birth`` refuses a name whose hash lives without a ``death`` field ("There exists
        an active worker named … already").  Our workers keep RQ's unique names, so a restart
        never collides; a ``kill -9``-ed worker cannot deregister itself, though, and until its
        hash expired ``/health`` would count it as a live (then stale) worker.  We saw it die, so we
        record the death for it: RQ's own ``register_death``.
        """
        from rq.worker import Worker
        from rq.worker_registration import REDIS_WORKER_KEYS

        client = self._redis_for_supervisor()
        if client is None:
            return
        host = socket.gethostname()
        try:
            for raw in client.smembers(REDIS_WORKER_KEYS):
                key = raw.decode()
                found_pid, found_host = client.hmget(key, "pid", "hostname")
                if found_pid is not None and int(found_pid) == pid and (found_host or b"").decode() == host:
                    Worker.find_by_key(key, connection=client).register_death()
                    log.info("registered the death of RQ worker %s", key.rsplit(":", 1)[-1])
            self._release_dead_schedulers(client, host)
        except Exception as exc:  # Redis down too: RQ's key expires on its own
            log.warning("could not deregister the dead RQ worker (%s)", type(exc).__name__)

    @staticmethod
    def _release_dead_schedulers(client: Any, host: str) -> None:
        """Free the scheduler locks held by RQ schedulers on this host whose process is gone.

        RQ's scheduler is a process forked by its worker; it holds ``rq:scheduler-lock:<queue>`` for
        ``interval + 60`` s and a surviving worker's live scheduler never asks for it again until RQ's
        fallback period (10 min).  Killed with its worker's process group, it would leave a queue with no
        scheduler (no retry, no delayed job) for a minute or more; released here (RQ's compare-and-delete
        ``release_lock``), the restarted worker takes the lock as it starts.
        """
        from rq.scheduler import SCHEDULER_KEY_TEMPLATE
        from rq.scripts import release_lock

        dead: set[str] = set()
        for raw in client.scan_iter(match="rq:scheduler-lock:*"):
            lock_key = raw.decode()
            owner = client.get(lock_key)
            if owner is None:
                continue
            name = owner.decode()
            pid, found_host = client.hmget(SCHEDULER_KEY_TEMPLATE % name, "pid", "hostname")
            if pid is None or (found_host or b"").decode() != host or _alive(int(pid)):
                continue
            if release_lock(client, lock_key, name):
                dead.add(name)
                log.info("released the scheduler lock of dead RQ scheduler %s for queue %s", name,
                         lock_key.rsplit(":", 1)[-1])
        # Its hash (pid, heartbeat) only after all its locks: it is how each lock's owner is recognised.
        for name in dead:
            client.delete(SCHEDULER_KEY_TEMPLATE % name)

    def kill_hung_workers(self) -> list[Child]:
        """SIGKILL (with its group) each running RQ worker whose heartbeat is older than ``worker_hang_seconds``.

        RQ's main worker process heartbeats (``rq:worker:<name>``, ``last_heartbeat``) while idle and
        while its work horse runs a job, so a stale heartbeat means the process itself is stuck
        (SIGSTOP, a deadlock), like a hung Redis.  Judged only while Redis has answered for the whole
        threshold (workers cannot heartbeat into a Redis that is down or just came back).  A worker with
        no registration yet is starting: RQ registers it only once ``workers.run`` has loaded and warmed up
        the speech model (12-45 s on a loaded machine), so it gets the start-up allowance
        (``start_allowance_seconds``, the first start's ``--startup-timeout``) from each (re)start, not the
        hang limit.  Killed, it is restarted as any dead piece is (``tend``), logged as the supervisor's own
        kill, and its registration is dropped (``_forget_worker``).  Returns the workers killed.
        """
        if not self.worker_hang_seconds:
            return []
        client = self._redis_for_supervisor()
        if client is None:
            return []
        now = self.clock()
        try:
            beats = _worker_heartbeats(client, socket.gethostname())
        except Exception:  # Redis down or hung: its own guard handles that
            self._redis_answering_since = None
            return []
        if self._redis_answering_since is None:
            self._redis_answering_since = now
        limit = dt.timedelta(seconds=self.worker_hang_seconds)
        if now - self._redis_answering_since < limit:
            return []
        killed = []
        for child in self.children:
            if child.kind != "worker" or child.restart_at is not None or child.proc.poll() is not None:
                continue
            registered = child.proc.pid in beats
            last = beats[child.proc.pid] if registered else child.started_on
            allowed = limit if registered else max(limit, dt.timedelta(seconds=self.start_allowance_seconds))
            if last is None or now - last <= allowed:
                continue
            what = "sent a heartbeat" if registered else "registered with RQ since its start"
            log.error("%s (pid %d) has not %s for %.0f s (hung): killing it to restart it", child.name,
                      child.proc.pid, what, (now - last).total_seconds())
            child.killed_why = f"hung: no {'heartbeat' if registered else 'registration'} for " \
                               f"{(now - last).total_seconds():.0f} s"
            _signal(child.proc.pid, signal.SIGKILL, group=True)  # SIGKILL ends a stopped process too
            killed.append(child)
        return killed

    def _redis_for_supervisor(self):
        url = os.environ.get("REDIS_URL")
        if not url:
            return None
        if self._redis_client is None:
            from redis import Redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            self._redis_client = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0,
                                                retry=Retry(NoBackoff(), 0))
        return self._redis_client

    def _tend_redis(self, now: float) -> None:
        """Restart the embedded Redis when it died, or kill it first when it stopped answering."""
        server = self.redis
        if server is None:
            return
        if self._redis_restart_at is None:
            if server.process is not None and server.process.poll() is not None:
                code = server.process.returncode
                self._redis_failures = 1 if now - self._redis_started_at >= RESTART_STABLE_SECONDS \
                    else self._redis_failures + 1
                delay = restart_delay(self._redis_failures)
                self._redis_restart_at = now + delay
                how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
                log.error("redis-server (pid %d) %s unexpectedly: restarting it in %.0f s from its append-only "
                          "file; calls meanwhile get the apology and voicemail", server.process.pid, how, delay)
                self._redis_silent_since = None
            elif now >= self._redis_next_ping:
                self._redis_next_ping = now + REDIS_PING_SECONDS
                self._check_redis_answers(now)
            return
        if now >= self._redis_restart_at:
            self._redis_restart_at = None
            try:
                server.process = None
                server.start()
            except Exception as exc:
                self._redis_failures += 1
                self._redis_restart_at = time.monotonic() + restart_delay(self._redis_failures)
                log.error("could not restart redis-server (%s): trying again in %.0f s", exc,
                          self._redis_restart_at - time.monotonic())
                return
            self._redis_started_at = time.monotonic()
            self._redis_next_ping = self._redis_started_at + REDIS_PING_SECONDS
            log.warning("restarted redis-server (pid %d)", server.process.pid)

    def redis_started(self) -> None:
        """The embedded Redis was started (by the caller): watch it from now on."""
        self._redis_started_at = time.monotonic()
        self._redis_next_ping = self._redis_started_at + REDIS_PING_SECONDS

    def _check_redis_answers(self, now: float) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        client = self._redis_for_supervisor()
        if client is None:
            return
        try:
            client.ping()
        except (RedisConnectionError, RedisTimeoutError, OSError):
            if self._redis_silent_since is None:
                self._redis_silent_since = now
                log.warning("redis-server does not answer PING")
            elif now - self._redis_silent_since >= self.redis_hang_seconds and self.redis.process is not None:
                log.error("redis-server (pid %d) has not answered for %.0f s: killing it to restart it",
                          self.redis.process.pid, now - self._redis_silent_since)
                self.redis.process.kill()  # SIGKILL ends a stopped (SIGSTOP) process too
            return
        except Exception:
            pass  # any answer (even an error, e.g. still loading its file) means it is alive
        if self._redis_silent_since is not None:
            log.info("redis-server answers again")
        self._redis_silent_since = None

    def shutdown(self) -> None:
        _stop(self.children, STOP_TIMEOUT)
        self.children = []
        if self.standin:
            _stop([self.standin], 5.0)
            self.standin = None
        if self.redis is not None:
            log.info("stopping Redis (flushing the append-only file)")
            if self.redis.process is not None and self.redis.process.poll() is None:
                _signal(self.redis.process.pid, signal.SIGCONT, group=False)  # a stopped server cannot flush
            self.redis.stop()
            self.redis = None


def _worker_heartbeats(client, hostname: str) -> dict[int, dt.datetime]:
    """pid → last heartbeat (aware UTC) of the RQ workers registered from this host (RQ's own hashes)."""
    from rq.utils import utcparse
    from rq.worker_registration import REDIS_WORKER_KEYS

    keys = sorted(client.smembers(REDIS_WORKER_KEYS))
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hmget(key, "pid", "hostname", "last_heartbeat")
        rows = pipe.execute()
    beats: dict[int, dt.datetime] = {}
    for pid, host, stamp in rows:
        if pid is None or stamp is None or (host or b"").decode() != hostname:
            continue
        try:
            when = utcparse(stamp.decode()).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        beats[int(pid)] = max(when, beats.get(int(pid), when))
    return beats


def _stop(children: list[Child], timeout: float) -> None:
    """SIGTERM each leader (gunicorn and RQ stop their own workers gracefully), then SIGKILL stragglers."""
    for child in children:
        if child.proc.poll() is None:
            log.info("stopping %s", child.name)
            _signal(child.proc.pid, signal.SIGTERM, group=False)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s: killing it", child.name, timeout)
            _signal(child.proc.pid, signal.SIGKILL, group=True)
            child.proc.wait()
        # Anything the leader left behind in its group (a forked job, a scheduler) goes too.
        _signal(child.proc.pid, signal.SIGKILL, group=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped, does not).  ``pid <= 0``: unknown, alive."""
    if pid <= 0:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _signal(pid: int, sig: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ivr.dev.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST") or "0.0.0.0",
                        help="interface for the web server (default: $HOST or 0.0.0.0)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000),
                        help="port for the web server (default: $PORT or 8000)")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn worker processes (default: 2 per core, at least 2)")
    parser.add_argument("--no-workers", action="store_true", help="web only: no RQ workers (jobs wait in Redis)")
    parser.add_argument("--standin-port", type=int, default=STANDIN_PORT,
                        help=f"port of the local Twilio stand-in when TWILIO_API_URL is unset (default {STANDIN_PORT})")
    parser.add_argument("--check-only", action="store_true", help="check settings and flows, then exit")
    parser.add_argument("--worker-hang-seconds", type=float, default=None,
                        help="restart an RQ worker whose heartbeat is older than this "
                             "(default: IVR_WORKER_TTL_SECONDS; 0: never); a worker not yet registered "
                             "(loading its speech model) gets --startup-timeout from each start instead")
    parser.add_argument("--startup-timeout", type=float, default=STARTUP_TIMEOUT,
                        help="give up when /health is not ready this long after starting, while every piece is "
                             f"still alive (default {STARTUP_TIMEOUT:.0f}; a slow machine may need more); what it "
                             f"waits for is printed every {STARTUP_PROGRESS_SECONDS:.0f} s; also how long a "
                             "restarted worker may take to register with RQ")
    parser.add_argument("--redis-hang-seconds", type=float, default=REDIS_HANG_SECONDS,
                        help="restart the embedded Redis when it has not answered PING for this long "
                             f"(default {REDIS_HANG_SECONDS:.0f})")
    parser.add_argument("--wallclock", metavar="ISO_INSTANT", default=None,
                        help="try the service at another moment: it and every process it starts run on a wall "
                             "clock that starts at this instant (e.g. 2026-12-09T11:00:00-05:00) and runs on, RQ's "
                             "scheduler included; the demo is seeded around it. Only with the local Twilio "
                             "stand-in, never with IVR_TEST_NOW (ivr/dev/wallclock)")
    return parser.parse_args(argv)


def default_public_base_url(host: str, port: int, environ: MutableMapping[str, str] = os.environ) -> str | None:
    """PUBLIC_BASE_URL for a service on ``host:port`` when none is set (then also set in ``environ``).

    Signatures are checked against PUBLIC_BASE_URL and staff links point there, so a
    service started with ``--port 9000`` must not keep the built-in default's :8000.
    """
    if environ.get("PUBLIC_BASE_URL"):
        return None
    url = _url(host, port)
    environ["PUBLIC_BASE_URL"] = url
    return url


def service_note_path() -> Path:
    return instance_dir() / SERVICE_NOTE


def write_service_note(local_url: str, public_base_url: str, twilio_api_url: str | None) -> Path:
    """Tell simulators in other terminals how this service signs and where its local stand-in is.

    Nothing secret: the auth token stays in ``.env``.  Only a local (loopback) Twilio
    API URL is written, since only a local stand-in can be handed a simulated recording.
    """
    path = service_note_path()
    note = {"pid": os.getpid(), "url": local_url, "public_base_url": public_base_url}
    if twilio_api_url and (urlsplit(twilio_api_url).hostname or "") in config_mod.LOOPBACK_HOSTS:
        note["twilio_api_url"] = twilio_api_url
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(note, indent=2) + "\n")
    tmp.replace(path)
    write_wallclock_env()
    return path


WALLCLOCK_ENV = "wallclock.env"


def write_wallclock_env(environ: Mapping[str, str] = os.environ) -> Path | None:
    """With ``--wallclock``: ``instance/wallclock.env``, the two variables that put a process on this service's
    moving clock (``QUIETLINE_WALLCLOCK`` and the ``PYTHONPATH`` of its sitecustomize), one ``NAME=value`` a line,
    so that ``env $(cat instance/wallclock.env) .venv/bin/flask --app app practice import …`` from another terminal
    reads the service's clock (break-test s26 NIT 4).  Without it, an old file is removed; None."""
    path = instance_dir() / WALLCLOCK_ENV
    spec = environ.get(wallclock.ENV)
    if not spec:
        path.unlink(missing_ok=True)
        return None
    lines = [f"{wallclock.ENV}={spec}", f"PYTHONPATH={environ.get('PYTHONPATH', str(wallclock.DIR))}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def running_service(path: Path | None = None) -> dict[str, str] | None:
    """What the ``python -m ivr.dev.serve`` of this checkout (its instance folder) wrote about itself, while it
    runs; None when none runs."""
    path = path or service_note_path()
    try:
        note = json.loads(path.read_text())
        os.kill(int(note["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {k: str(v) for k, v in note.items()} if isinstance(note, dict) else None


def service_note(url: str, path: Path | None = None) -> dict[str, str] | None:
    """What the running ``python -m ivr.dev.serve`` at ``url`` wrote about itself, or None.

    None when there is no note, its service is gone, or ``url`` is another server
    (the same port on a loopback address counts as the same server).
    """
    note = running_service(path)
    if note is None:
        return None
    mine, theirs = urlsplit(url), urlsplit(str(note.get("url", "")))
    local = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
    same_host = mine.hostname == theirs.hostname or (mine.hostname in local and theirs.hostname in local)
    if not same_host or (mine.port or 80) != (theirs.port or 80):
        return None
    return {k: str(v) for k, v in note.items()}


def prepare_database(settings: config_mod.Settings) -> bool:
    """Bring the practice database to the newest schema; seed the demo practice into the embedded default.

    The embedded SQLite file is ours to migrate.  A database named by DATABASE_URL
    belongs to the practice: we migrate it only when asked (`flask --app app db upgrade`).
    """
    import datetime as dt

    database = db_mod.Database.from_url(settings.database_url)
    try:
        embedded = not os.environ.get("DATABASE_URL")
        if not db_mod.is_current(database.engine):
            if not (embedded or database.is_sqlite):
                print(f"The database ({db_mod.safe_url(database.engine.url)}) is not at the newest schema: "
                      "run `.venv/bin/flask --app app db upgrade` first.", file=sys.stderr)
                return False
            locked_upgrade(database.engine)  # one migrator at a time (ivr/db/migrate_lock.py)
        if embedded:
            practice = load_practice(Path(settings.flows_dir) / "practice.yaml")
            # The same clock as the service (IVR_TEST_NOW in tests), so appointments sit around "now".
            now = (settings.clock() or (lambda: dt.datetime.now(dt.UTC)))()
            report = seed_demo(database.sessions, now, practice.tz)
            if report.seeded:
                print(f"Seeded the demo practice ({report.clients} clients, {report.appointments} appointments) "
                      "into the embedded database; see docs/import.md for who to call as.", flush=True)
                if report.late_note:
                    print(report.late_note, flush=True)
            seed_demo_staff(database.sessions, demo_password(instance_dir()))
            print(logins_note(instance_dir()) + f" Sign in at {settings.public_base_url}/staff/", flush=True)
        return True
    finally:
        database.dispose()


def start_wallclock(value: str, settings: config_mod.Settings) -> dt.datetime:
    """Move this process's wall clock, and that of every process it starts, to ``value`` (``--wallclock``).

    Returns the instant (aware).  Raises WallclockError, changing nothing, for a malformed instant, with
    IVR_TEST_NOW (a fixed clock and a moving one cannot both hold), unless Twilio is the local stand-in (as
    IVR_TEST_NOW: a moved clock must never call or text real people), or when time-machine is missing.
    """
    instant = wallclock.parse(value)
    if settings.test_now:
        raise WallclockError("--wallclock and IVR_TEST_NOW cannot be used together: IVR_TEST_NOW fixes the clock, "
                             "--wallclock moves it and lets it run. Unset IVR_TEST_NOW (environment or .env)")
    if (urlsplit(settings.twilio_api_url).hostname or "") not in config_mod.LOOPBACK_HOSTS:
        raise WallclockError(f"--wallclock is for trying the service out: it is refused unless TWILIO_API_URL points "
                             f"at a local Twilio stand-in (127.0.0.1, localhost or ::1), and it is "
                             f"{settings.twilio_api_url}. Unset TWILIO_API_URL (environment or .env): make run "
                             f"then starts its own stand-in")
    wallclock.start(instant)
    return instant


def clock_note(instant: dt.datetime, tz: Any) -> str:
    """The banner's lines for ``--wallclock``, the instant in the practice's zone ``tz`` (a tzinfo)."""
    local = instant.astimezone(tz)
    return (f"The clock runs from {local:%Y-%m-%d %H:%M} {local.tzname()} (--wallclock), moving on from there:\n"
            "  the service, its workers and RQ's scheduler all read it; Redis's own clock stays real.")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _request_stop)
    # Redis, gunicorn and the workers inherit it: nothing they write is readable by other users.
    restrict_umask()

    created_token = created_key = created_recordings_key = False
    if dotenv_enabled():
        from dotenv import load_dotenv

        tighten(ENV_FILE)
        load_dotenv(ENV_FILE, override=False)
        if not args.check_only:
            created_token = ensure_dev_credentials(ENV_FILE)
            created_key = ensure_dev_data_key(ENV_FILE)
            created_recordings_key = ensure_dev_data_key(ENV_FILE, name=RECORDINGS_ENV_NAME)
    # Decided before the settings are read: PUBLIC_BASE_URL follows --port, and the local
    # stand-in's URL is known now (IVR_TEST_NOW is accepted only with a local stand-in).
    use_standin = not os.environ.get("TWILIO_API_URL")
    if use_standin:
        os.environ["TWILIO_API_URL"] = f"http://127.0.0.1:{args.standin_port}"
    default_public_base_url(args.host, args.port)
    try:
        settings = config_mod.load_settings()
        if args.check_only and not settings.twilio_auth_token:
            print("TWILIO_AUTH_TOKEN is not set (make run creates a development one in .env)")
            settings = dataclasses.replace(settings, twilio_auth_token="unset")
        if args.check_only and not settings.data_key:
            print("IVR_DATA_KEY is not set (make run creates a development one in .env)")
            settings = dataclasses.replace(settings, data_key=generate_key())
        if args.check_only and not settings.recordings_key:
            print("IVR_RECORDINGS_KEY is not set (make run creates a development one in .env)")
            settings = dataclasses.replace(settings, recordings_key=generate_key())
        settings.validate()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 1
    if args.wallclock is not None:
        try:
            moved_to = start_wallclock(args.wallclock, settings)
        except WallclockError as exc:
            print(f"Configuration error: {exc}", file=sys.stderr)
            return 1
        args.wallclock_from = moved_to
    if not check_flows(settings):
        return 1
    if args.check_only:
        return 0
    for path in (instance_dir(), Path(settings.recordings_dir), Path(settings.import_dir)):
        tighten(path)  # what an older version (or a umask) left readable
    private_dir(instance_dir())
    private_dir(settings.import_dir)  # the folder the EHR's exports are dropped in: there from the start
    if not prepare_database(settings):
        return 1
    if created_token:
        print(f"\nNOTE: created {ENV_FILE} with a random DEVELOPMENT TWILIO_AUTH_TOKEN and TWILIO_ACCOUNT_SID.\n"
              "  Simulated calls (flask --app app call) sign with it, so they work as is.\n"
              "  Real Twilio requests will be refused (403) until you put your account's values there:\n"
              "  edit .env, set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (Twilio Console, Account info), restart.\n",
              flush=True)
    if created_key:
        print(f"\nNOTE: created a random DEVELOPMENT IVR_DATA_KEY in {ENV_FILE} (mode 0600): it encrypts what Redis\n"
              "  keeps about calls. Keep it out of instance/, recordings/ and their backups; on a server set it\n"
              "  in the service's environment instead (docs/security.md).\n", flush=True)
    if created_recordings_key:
        print(f"\nNOTE: created a random DEVELOPMENT IVR_RECORDINGS_KEY in {ENV_FILE} (mode 0600): it encrypts\n"
              "  voicemails and their transcripts. Keep it out of recordings/ and its backups: without it they\n"
              "  cannot be played (docs/security.md#keys).\n", flush=True)

    for name, host, port in [("web server", args.host, args.port)] + (
            [("Twilio stand-in", "127.0.0.1", args.standin_port)] if use_standin else []):
        if not _port_free(host, port):
            print(f"Port {port} ({name}) is already in use: is Quietline already running? "
                  f"Stop it, or pick another port (--port / --standin-port).", file=sys.stderr)
            return 1

    if _stop_requested:
        return 0
    # Children take their settings from the environment, including what we add below.
    os.environ["PYTHONUNBUFFERED"] = "1"
    worker_hang = args.worker_hang_seconds if args.worker_hang_seconds is not None else settings.worker_ttl_seconds
    sup = Supervisor(args.redis_hang_seconds, worker_hang_seconds=worker_hang,
                     start_allowance_seconds=args.startup_timeout)
    try:
        return _run(args, settings, sup, use_standin)
    except Exception as exc:
        log.error("could not start: %s", exc)
        return 1
    finally:
        sup.shutdown()
        try:
            if json.loads(service_note_path().read_text()).get("pid") == os.getpid():
                service_note_path().unlink()
                (instance_dir() / WALLCLOCK_ENV).unlink(missing_ok=True)
        except (OSError, ValueError):
            pass
        log.info("stopped")


def _run(args: argparse.Namespace, settings: config_mod.Settings, sup: Supervisor, use_standin: bool) -> int:
    from redis import Redis

    if os.environ.get("REDIS_URL"):
        redis_note = "REDIS_URL"
        try:
            Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3).ping()
        except Exception as exc:
            raise RuntimeError(f"REDIS_URL does not answer: {type(exc).__name__}") from None
    else:
        sock = embedded_redis_socket()
        sup.redis = EmbeddedRedis(sock.parent, appendonly=True, socket_name=sock.name)
        sup.redis.start()
        sup.redis_started()
        os.environ["REDIS_URL"] = sup.redis.url
        redis_note = f"embedded, {sock}"
        log.info("Redis listening on %s", sock)
    if _stop_requested:
        return 0

    standin_url = None
    if use_standin:
        # Token and SID reach it through the environment, not argv, where `ps` would show them.
        standin_url = os.environ["TWILIO_API_URL"]
        sup.standin = sup.spawn("Twilio stand-in", [sys.executable, "-m", "ivr.dev.twilio_standin",
                                                    "--port", str(args.standin_port)], kind="standin")

    # Sync workers serve one request each; a hung Redis costs each of them one IVR_REDIS_TIMEOUT_SECONDS per
    # IVR_REDIS_BREAKER_SECONDS (ivr/telephony/redis_guard.py), so the fallback URL, which never touches Redis, waits
    # at most that long for a free worker (bench/redis_hang.py).
    web_workers = args.workers or default_web_workers()
    sup.children.append(sup.spawn("gunicorn", [
        sys.executable, "-m", "gunicorn", "app:app", "--worker-class", "sync", "--workers", str(web_workers),
        "--bind", _bind(args.host, args.port), "--graceful-timeout", "10", "--timeout", "30",
        # Its control socket is one fixed path per user: a second instance (tests) would take it over.
        "--no-control-socket",
    ], kind="gunicorn"))
    if not args.no_workers:
        # ivr.jobs.layout: the urgent-only worker is never busy with routine jobs when a crisis escalation
        # arrives; speech (minutes per voicemail, and the model's load at start) has a worker of its own, so
        # it never holds up an escalation or a staff alert. All run RQ's scheduler: its lock lets one schedule
        # a queue at a time, another takes over if it dies.
        for name, argv in worker_commands(settings.queue_name):
            sup.children.append(sup.spawn(name, argv, kind="worker"))

    if standin_url:
        _wait_for_port("127.0.0.1", args.standin_port, sup)
    local = _url(args.host, args.port)
    # What startup needs: the web answers, Redis and flows are fine (HTTP 200) and, with workers, each
    # queue has a live one. Never the absence of old trouble: a job that failed for good yesterday
    # makes /health "degraded" (still 200), and must not keep the phone line down.
    if not _wait_for_health(local + "/health", sup, need_workers=not args.no_workers,
                            timeout=args.startup_timeout):
        return 0 if _stop_requested else 1
    write_service_note(local, settings.public_base_url, os.environ.get("TWILIO_API_URL"))
    _print_banner(args, settings, local, web_workers, redis_note, standin_url)

    # From here on a death is a fault to recover from, not a broken setup: restart just that piece.
    while not _stop_requested:
        sup.tend()
        time.sleep(POLL_SECONDS)
    return 0


def _wait_for_port(host: str, port: int, sup: Supervisor, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not _stop_requested:
        dead = sup.dead_child()
        if dead:
            raise RuntimeError(dead)
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(POLL_SECONDS)
    if not _stop_requested:
        raise RuntimeError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def worker_commands(calls_queue: str = "calls") -> list[tuple[str, list[str]]]:
    """(name, argv) of each RQ worker ``make run`` supervises: one per queue list of ``worker_layout``."""
    return [(f"worker[{','.join(queues)}]", [sys.executable, "-m", "workers.run", "--queues", ",".join(queues)])
            for queues in worker_layout(calls_queue)]


def startup_ready(status: int, report: dict, *, need_workers: bool) -> str | None:
    """None when the service may be announced, else what it still waits for.

    ``status``, ``report``: the HTTP status and JSON of the public ``/health``.
    """
    if status != 200:
        return f"HTTP {status}: {', '.join(report.get('problems', [])) or report}"
    if need_workers:
        covered = (report.get("workers") or {}).get("queues_covered") or {}
        missing = [q for q, ok in covered.items() if not ok] if covered else ["any"]
        if missing:
            return f"no live RQ worker yet for the {', '.join(missing)} queue(s)"
    return None


def _wait_for_health(url: str, sup: Supervisor, *, need_workers: bool, timeout: float = STARTUP_TIMEOUT) -> bool:
    """Wait until ``url`` (/health) says the service is ready, printing what it still waits for every
    STARTUP_PROGRESS_SECONDS; False when a piece dies, or after ``timeout`` seconds."""
    started = time.monotonic()
    deadline = started + timeout
    next_note = started + STARTUP_PROGRESS_SECONDS
    last = "no answer"
    while time.monotonic() < deadline and not _stop_requested:
        if time.monotonic() >= next_note:
            # Progress, in words that are not the failure's ("was not ready within"): a caller can tell them apart.
            print(f"starting: still waiting for {url} after {time.monotonic() - started:.0f} s ({last}); "
                  f"giving up after {timeout:.0f} s (--startup-timeout), Ctrl-C stops", flush=True)
            next_note += STARTUP_PROGRESS_SECONDS
        dead = sup.dead_child()
        if dead:
            log.error("%s during startup", dead)
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read(2000)
        except OSError:
            status, body = 0, b""
        if status:
            try:
                report = json.loads(body)
            except ValueError:
                report = {}
            waiting = startup_ready(status, report if isinstance(report, dict) else {}, need_workers=need_workers)
            if waiting is None:
                return True
            last = waiting
        time.sleep(POLL_SECONDS)
    if not _stop_requested:
        log.error("%s: the service was not ready within %.0f s (last: %s); on a slow machine start it with a "
                  "longer --startup-timeout (make run ARGS=\"--startup-timeout 600\")", url, timeout, last)
    return False


def _print_banner(args: argparse.Namespace, settings: config_mod.Settings, local: str, web_workers: int,
                  redis_note: str, standin_url: str | None) -> None:
    public = settings.public_base_url
    jobs = "off (--no-workers)" if args.no_workers else (
        f"{len(worker_layout(settings.queue_name))} RQ workers: "
        + ", ".join(",".join(q) for q in worker_layout(settings.queue_name)))
    lines = [
        "",
        f"Quietline is running on {local}  (web: {web_workers} gunicorn workers; jobs: {jobs}; Redis: {redis_note})",
        "",
        "In the Twilio Console, on your phone number's Voice configuration:",
        f"  A call comes in        Webhook, HTTP POST  {public}/twilio/voice",
        f"  Primary handler fails  HTTP POST           {public}/twilio/fallback",
        f"  Call status changes    HTTP POST           {public}/twilio/status",
        f"  A message comes in     HTTP POST           {public}/twilio/sms",
    ]
    if (urlsplit(public).hostname or "") in LOOPBACK_HOSTS:
        lines += [f"  (PUBLIC_BASE_URL is {public}, which Twilio cannot reach: expose port {args.port} at a",
                  "   public https URL and set PUBLIC_BASE_URL to it in .env, then restart.)"]
    if standin_url:
        lines += ["",
                  "Texts and recording downloads go to a local Twilio stand-in, not to Twilio:",
                  f"  see them at {standin_url}/_standin/messages",
                  "  (set TWILIO_API_URL=https://api.twilio.com in .env to use Twilio itself)"]
    if settings.test_now:
        lines += ["", f"The clock is fixed at {settings.test_now} (IVR_TEST_NOW: for tests only)."]
    if getattr(args, "wallclock_from", None) is not None:
        tz = load_practice(Path(settings.flows_dir) / "practice.yaml").tz
        lines += ["", clock_note(args.wallclock_from, tz)]
    lines += ["",
              "Place a simulated call from another terminal (type digits at the prompt):",
              f"  .venv/bin/flask --app app call --url {local}",
              "or script the caller (press 1, then stay silent):",
              f"  .venv/bin/flask --app app call --url {local} --script \"1;wait\"",
              "",
              "Ctrl-C stops everything.",
              ""]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
