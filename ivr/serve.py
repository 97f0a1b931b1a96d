"""The whole service in the foreground: ``python -m ivr.serve`` (what ``make run`` starts).

Zero setup: a development Twilio token and data key (IVR_DATA_KEY, which encrypts
call records in Redis) in ``.env`` when there are none, an embedded Redis on a
unix socket unless REDIS_URL is set, and a local Twilio REST stand-in unless
TWILIO_API_URL is set (so texts and recording downloads work offline).  Then
gunicorn and two RQ workers, supervised: if any of them dies the whole service
stops with a non-zero exit instead of limping on half-alive.
Ctrl-C or SIGTERM stops everything in order (web and workers, stand-in, Redis last
so queued jobs are flushed to its append-only file).

Options: ``--host``, ``--port``, ``--workers``, ``--no-workers``, ``--check-only``;
HOST and PORT from the environment are the defaults.  IVR_INSTANCE_DIR moves the
embedded Redis (tests).  FLASK_SKIP_DOTENV=1 skips ``.env``, as it does for ``flask``.

Everything it and its children write is owner-only (umask 077); at start, ``.env``,
``instance/`` and the recordings folder are made owner-only if an older version left
them readable (``ivr.private_files``).
"""
from __future__ import annotations

import argparse
import ctypes
import dataclasses
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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, MutableMapping
from urllib.parse import urlsplit

from . import config as config_mod
from .exceptions import ConfigError
from .private_files import private_dir, restrict_umask, tighten

log = logging.getLogger("ivr.serve")

ENV_FILE = config_mod.PROJECT_ROOT / ".env"
STANDIN_PORT = 8010
STOP_TIMEOUT = 10.0
STARTUP_TIMEOUT = 60.0
POLL_SECONDS = 0.2
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
    values = {"TWILIO_AUTH_TOKEN": secrets.token_hex(16)}
    if not environ.get("TWILIO_ACCOUNT_SID"):
        values["TWILIO_ACCOUNT_SID"] = "AC" + secrets.token_hex(16)
    for key, value in values.items():
        set_key(env_file, key, value, quote_mode="never")
        environ[key] = value
    return True


def ensure_dev_data_key(env_file: Path, environ: MutableMapping[str, str] = os.environ) -> bool:
    """Give a checkout without IVR_DATA_KEY a random development one in ``env_file`` (0600).

    Returns True when one was written (and sets it in ``environ``); never prints it.
    ``.env`` rather than ``instance/``: the key must not sit beside the data it
    protects (Redis's files, the database), which are what gets copied and backed up.
    """
    from dotenv import set_key

    from .encryption import ENV_NAME, generate_key

    if environ.get(ENV_NAME):
        return False
    _create_env_file(env_file)
    key = generate_key()
    set_key(env_file, ENV_NAME, key, quote_mode="never")
    environ[ENV_NAME] = key
    return True


def _create_env_file(env_file: Path) -> None:
    if not env_file.exists():
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# Local settings for Quietline (not committed). See README.md, \"Environment\".\n")


def check_flows(settings: config_mod.Settings) -> bool:
    """``flask --app app flows check`` in-process: print every problem; False when any is an error."""
    from .builtin_actions import default_registry
    from .flowstore import check_dir

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
    name: str
    proc: subprocess.Popen


class Supervisor:
    """Starts the long-lived processes, watches them, and stops them in order."""

    def __init__(self) -> None:
        self.redis = None  # ivr.redis_server.EmbeddedRedis when we started one
        self.standin: Child | None = None
        self.children: list[Child] = []  # gunicorn and workers
        self._preexec = _parent_death_signal()

    def spawn(self, name: str, args: list[str]) -> Child:
        # Own session: a Ctrl-C in the terminal reaches only us, and we stop children in order.
        proc = subprocess.Popen(args, cwd=config_mod.PROJECT_ROOT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=self._preexec)
        log.info("started %s (pid %d)", name, proc.pid)
        return Child(name, proc)

    def _all(self) -> list[Child]:
        return ([self.standin] if self.standin else []) + self.children

    def dead_child(self) -> str | None:
        """Name and exit code of a process that stopped on its own, if any."""
        for child in self._all():
            code = child.proc.poll()
            if code is not None:
                return f"{child.name} (pid {child.proc.pid}) exited with code {code}"
        if self.redis is not None and self.redis.process is not None and self.redis.process.poll() is not None:
            return f"redis-server exited with code {self.redis.process.returncode}"
        return None

    def shutdown(self) -> None:
        _stop(self.children, STOP_TIMEOUT)
        self.children = []
        if self.standin:
            _stop([self.standin], 5.0)
            self.standin = None
        if self.redis is not None:
            log.info("stopping Redis (flushing the append-only file)")
            self.redis.stop()
            self.redis = None


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
    parser = argparse.ArgumentParser(prog="python -m ivr.serve", description=__doc__.split("\n\n")[0])
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
    return parser.parse_args(argv)


def prepare_database(settings: config_mod.Settings) -> bool:
    """Bring the practice database to the newest schema; seed the demo practice into the embedded default.

    The embedded SQLite file is ours to migrate.  A database named by DATABASE_URL
    belongs to the practice: we migrate it only when asked (`flask --app app db upgrade`).
    """
    import datetime as dt

    from .practice import db as db_mod
    from .practice.demo import seed_demo
    from .practice.settings import load_practice

    database = db_mod.Database.from_url(settings.database_url)
    try:
        embedded = not os.environ.get("DATABASE_URL")
        if not db_mod.is_current(database.engine):
            if not (embedded or database.is_sqlite):
                print(f"The database ({db_mod.safe_url(database.engine.url)}) is not at the newest schema: "
                      "run `.venv/bin/flask --app app db upgrade` first.", file=sys.stderr)
                return False
            db_mod.upgrade(database.engine)
        if embedded:
            from .escalations.demo import demo_password, logins_note, seed_demo_staff

            practice = load_practice(Path(settings.flows_dir) / "practice.yaml")
            report = seed_demo(database.sessions, dt.datetime.now(dt.timezone.utc), practice.tz)
            if report.seeded:
                print(f"Seeded the demo practice ({report.clients} clients, {report.appointments} appointments) "
                      "into the embedded database; see docs/import.md for who to call as.", flush=True)
            seed_demo_staff(database.sessions, demo_password(instance_dir()))
            print(logins_note(instance_dir()) + f" Sign in at {settings.public_base_url}/staff/", flush=True)
        return True
    finally:
        database.dispose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _request_stop)
    # Redis, gunicorn and the workers inherit it: nothing they write is readable by other users.
    restrict_umask()

    created_token = created_key = False
    if dotenv_enabled():
        from dotenv import load_dotenv

        tighten(ENV_FILE)
        load_dotenv(ENV_FILE, override=False)
        if not args.check_only:
            created_token = ensure_dev_credentials(ENV_FILE)
            created_key = ensure_dev_data_key(ENV_FILE)
    try:
        settings = config_mod.load_settings()
        if args.check_only and not settings.twilio_auth_token:
            print("TWILIO_AUTH_TOKEN is not set (make run creates a development one in .env)")
            settings = dataclasses.replace(settings, twilio_auth_token="unset")
        if args.check_only and not settings.data_key:
            print("IVR_DATA_KEY is not set (make run creates a development one in .env)")
            from .encryption import generate_key

            settings = dataclasses.replace(settings, data_key=generate_key())
        settings.validate()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 1
    if not check_flows(settings):
        return 1
    if args.check_only:
        return 0
    for path in (instance_dir(), Path(settings.recordings_dir)):
        tighten(path)  # what an older version (or a umask) left readable
    private_dir(instance_dir())
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

    for name, host, port in [("web server", args.host, args.port)] + (
            [("Twilio stand-in", "127.0.0.1", args.standin_port)] if not os.environ.get("TWILIO_API_URL") else []):
        if not _port_free(host, port):
            print(f"Port {port} ({name}) is already in use: is Quietline already running? "
                  f"Stop it, or pick another port (--port / --standin-port).", file=sys.stderr)
            return 1

    if _stop_requested:
        return 0
    # Children take their settings from the environment, including what we add below.
    os.environ["PYTHONUNBUFFERED"] = "1"
    sup = Supervisor()
    try:
        return _run(args, settings, sup)
    except Exception as exc:
        log.error("could not start: %s", exc)
        return 1
    finally:
        sup.shutdown()
        log.info("stopped")


def _run(args: argparse.Namespace, settings: config_mod.Settings, sup: Supervisor) -> int:
    from redis import Redis

    from .redis_server import EmbeddedRedis

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
        os.environ["REDIS_URL"] = sup.redis.url
        redis_note = f"embedded, {sock}"
        log.info("Redis listening on %s", sock)
    if _stop_requested:
        return 0

    standin_url = None
    if not os.environ.get("TWILIO_API_URL"):
        # Token and SID reach it through the environment, not argv, where `ps` would show them.
        standin_url = f"http://127.0.0.1:{args.standin_port}"
        sup.standin = sup.spawn("Twilio stand-in", [sys.executable, "-m", "ivr.twilio_standin",
                                                    "--port", str(args.standin_port)])
        os.environ["TWILIO_API_URL"] = standin_url

    web_workers = args.workers or default_web_workers()
    sup.children.append(sup.spawn("gunicorn", [
        sys.executable, "-m", "gunicorn", "app:app", "--worker-class", "sync", "--workers", str(web_workers),
        "--bind", _bind(args.host, args.port), "--graceful-timeout", "10", "--timeout", "30",
        # Its control socket is one fixed path per user: a second instance (tests) would take it over.
        "--no-control-socket",
    ]))
    if not args.no_workers:
        # The urgent-only worker is never busy with routine jobs when a crisis escalation arrives.
        # Both run RQ's scheduler: its lock lets one schedule at a time, the other takes over if it dies.
        sup.children.append(sup.spawn("worker[urgent]", [
            sys.executable, "-m", "workers.run", "--queues", "urgent"]))
        sup.children.append(sup.spawn("worker[urgent,calls]", [
            sys.executable, "-m", "workers.run", "--queues", "urgent,calls"]))

    if standin_url:
        _wait_for_port("127.0.0.1", args.standin_port, sup)
    local = _url(args.host, args.port)
    # Without job workers the full /health is red by design; the web part is what we wait for then.
    if not _wait_for_health(local + ("/health?scope=web" if args.no_workers else "/health"), sup):
        return 0 if _stop_requested else 1
    _print_banner(args, settings, local, web_workers, redis_note, standin_url)

    while not _stop_requested:
        dead = sup.dead_child()
        if dead:
            log.error("%s unexpectedly: stopping everything", dead)
            return 1
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


def _wait_for_health(url: str, sup: Supervisor) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline and not _stop_requested:
        dead = sup.dead_child()
        if dead:
            log.error("%s during startup", dead)
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}: {exc.read(500).decode(errors='replace')}"
        except OSError:
            pass
        time.sleep(POLL_SECONDS)
    if not _stop_requested:
        log.error("%s did not answer 200 within %.0f s (last: %s)", url, STARTUP_TIMEOUT, last)
    return False


def _print_banner(args: argparse.Namespace, settings: config_mod.Settings, local: str, web_workers: int,
                  redis_note: str, standin_url: str | None) -> None:
    public = settings.public_base_url
    jobs = "off (--no-workers)" if args.no_workers else "2 RQ workers"
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
