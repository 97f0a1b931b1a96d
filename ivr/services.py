"""The services one installation wires together, built once by ``build_services``.

The app factory (``ivr.app.create_app``) keeps them as ``app.extensions["quietline"]``; an RQ
worker (``workers.run``) builds the same object without a Flask app.  Dependencies are passed
in here and nowhere else: no module-level connections.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from redis import Redis

from ivr.actions.catalog import default_registry
from ivr.actions.registry import ContactHooks, Registry
from ivr.config import Settings
from ivr.contact.service import Outbound
from ivr.core import crisis
from ivr.core.privacy import MaskingFilter
from ivr.db.database import Database
from ivr.encryption import RecordCipher
from ivr.escalations.on_call import on_call_numbers
from ivr.escalations.recording_files import RecordingFiles
from ivr.escalations.recordings import RecordingLog
from ivr.exceptions import FlowError
from ivr.flowlang.store import FlowStore
from ivr.jobs.enqueue import Jobs
from ivr.practice.data import PracticeData
from ivr.practice.settings.model import DEFAULT_EMERGENCY_GUIDANCE
from ivr.telephony.call_handler import CallHandler
from ivr.telephony.call_store import CallStore
from ivr.telephony.redis_guard import guarded_redis
from ivr.telephony.signatures import SignatureChecker
from ivr.telephony.urls import public_url

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


@dataclass
class Services:
    """Everything a webhook, a console command or a job may use; typed, no grab bag."""

    settings: Settings
    redis: Redis
    database: Database
    flows: FlowStore
    registry: Registry
    call_store: CallStore
    jobs: Jobs
    signatures: SignatureChecker
    calls: CallHandler
    recordings: RecordingLog
    clock: Clock
    outbound: Outbound = field(init=False)  # follow-ups and reminders (ivr.contact)

    def __post_init__(self) -> None:
        self.outbound = Outbound(self.settings, self.database, self.flows, self.jobs, self.redis, self.clock)
        # A returned call from another phone continues the verified client's follow-up (ivr.contact.conversation).
        self.calls.touches = self.outbound.recent_touch
        self.calls.contact = ContactHooks(self.outbound.stop_calls)

    @functools.cached_property
    def recording_files(self) -> RecordingFiles:
        """The recordings folder and the cipher (IVR_RECORDINGS_KEY) its voicemails and transcripts are sealed with."""
        return RecordingFiles.from_settings(self.settings.recordings_dir, self.settings.recordings_key)

    def public_url(self, name: str, turn: int | None = None) -> str:
        """Absolute URL Twilio should use for one of our routes."""
        return public_url(self.settings.public_base_url, name, turn)

    @property
    def last_guidance(self) -> str:
        """Emergency guidance without touching Redis or reloading flows (for the fallback URL)."""
        flows = self.flows.last_good
        return flows.practice.emergency_guidance if flows is not None else DEFAULT_EMERGENCY_GUIDANCE


def utcnow() -> dt.datetime:
    """The real clock (aware, UTC)."""
    return dt.datetime.now(dt.UTC)


def build_services(settings: Settings, *, redis: Redis | None = None, registry: Registry | None = None,
                   clock: Clock | None = None, database: Database | None = None,
                   strict_flows: bool = True) -> Services:
    """Wire one installation from ``settings`` (already validated); anything given is used as is.

    ``strict_flows``: broken flows raise FlowError; otherwise they are logged (a console command
    must still start, so ``flows check`` can say what is wrong).
    """
    registry = registry or default_registry()
    # Every per-process table is built now, before the first request or job: compiled lazily, the crisis
    # lists cost the first spoken answer of each web worker its compile (seconds before fix14-bt).
    crisis.compile_all()
    # Creating the engine opens no connection: a missing database shows up in /health and in calls.
    database = database or Database.from_url(settings.database_url)
    # Fail fast: a caller waiting on a dead or hung Redis hears the apology within a second or two.
    redis = redis or guarded_redis(settings.redis_url, settings.redis_timeout_seconds, settings.redis_breaker_seconds)
    flows = FlowStore(settings.flows_dir, registry.signatures(), settings.flows_reload_seconds,
                      listed_numbers=settings.listed_numbers)
    try:
        flows.load()
    except FlowError:
        if strict_flows:
            raise
        log.error("flows do not load; run `flask --app app flows check`")
    # IVR_TEST_NOW (tests only; validate() refuses it against the real Twilio) fixes the clock in every process.
    if clock is None and settings.test_now:
        clock = settings.clock()
        log.warning("IVR_TEST_NOW: the clock is fixed at %s (tests only)", settings.test_now)
    clock = clock or utcnow
    call_store = CallStore(redis, settings.session_ttl_seconds, RecordCipher.from_setting(settings.data_key))
    jobs = Jobs(redis, settings.queue_name)
    calls = CallHandler(
        call_store=call_store, jobs=jobs, flows=flows, registry=registry,
        url_for=functools.partial(public_url, settings.public_base_url), clock=clock,
        max_steps=settings.max_steps_per_call, max_call_seconds=settings.max_call_seconds,
        practice=PracticeData(database.sessions),
        # Transfers to a practice.yaml staff member with `roster:` ring whoever the roster has on call.
        on_call=_on_call(database, flows),
    )
    return Services(settings, redis, database, flows, registry, call_store, jobs,
                    SignatureChecker(settings.twilio_auth_token, settings.public_base_url), calls,
                    RecordingLog(database.sessions), clock)


def _on_call(database: Database, flows: FlowStore) -> Callable[[str, dt.datetime], list[str]]:
    def numbers(category: str, now: dt.datetime) -> list[str]:
        return on_call_numbers(database.sessions, category, now, flows.current().practice.tz)

    return numbers


def configure_logging(level: str) -> None:
    """Log at ``level`` through a filter that masks phone numbers in every record."""
    root = logging.getLogger()
    if not any(isinstance(f, MaskingFilter) for h in root.handlers for f in h.filters):
        if not root.handlers:
            logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for handler in root.handlers:
            handler.addFilter(MaskingFilter())
    # urllib3 logs full request URLs (with numbers in query strings) at DEBUG.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
