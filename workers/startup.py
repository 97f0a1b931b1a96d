"""How a worker or scheduler process starts (``workers.run``, ``workers.scheduler``): the same steps in the same
order, so the two roles can never drift apart.
"""
from __future__ import annotations

from ivr.config import Settings, load_settings
from ivr.private_files import restrict_umask
from ivr.services import Services, build_services, configure_logging
from workers import changes as change_reminders
from workers import imports as folder_imports
from workers import outbound, recordings, runtime
from workers.reconcile import ensure_scheduled


def start_process() -> tuple[Settings, Services]:
    """Settings from the environment (checked: ``ConfigError`` names what is wrong), files created private to the
    service's user, logging configured, and the services built once (no Flask app) and installed for every job."""
    settings = load_settings()
    settings.validate()
    # Whatever jobs write (recordings, transcripts, SQLite) is for the service's user only.
    restrict_umask()
    configure_logging(settings.log_level)
    services = build_services(settings)
    runtime.install(services)
    return settings, services


def ensure_chains(services: Services) -> None:
    """The self-rescheduling jobs exist (a fresh Redis, a restored backup): reconciliation, folder imports, the
    recordings purge, outbound planning and, once flows are loaded, change reminders. Idempotent (fixed job ids)."""
    ensure_scheduled(services)
    folder_imports.ensure_scheduled(services)
    recordings.ensure_purge_scheduled(services)
    outbound.ensure_scheduled(services)
    if services.flows.loaded:
        change_reminders.ensure_scheduled(services)
