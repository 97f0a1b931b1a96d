"""Console commands for the practice's data.

``flask --app app practice import --clients clients.csv --appointments appointments.csv``
``flask --app app practice export --clients out/clients.csv --appointments out/appointments.csv``
``flask --app app practice seed-demo``

The database is the app's (``Services.database``, from ``DATABASE_URL``); the schema's
own commands (``flask db …``) are ``ivr.db.cli``.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from redis.exceptions import RedisError

from ivr.db.cli import ready_db
from ivr.practice.csv.export import export_practice
from ivr.practice.csv.importer import ImportRejected, import_practice
from ivr.practice.csv.parsing import read_csv_text
from ivr.practice.demo import seed_demo
from ivr.practice.settings.checks import load_practice

practice_cli = AppGroup("practice", help="Import, export and seed the practice's clients and appointments.")

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_DEFAULT_TZ = "America/New_York"


def _practice_settings():
    """Timezone and phone region from flows/practice.yaml; defaults when it does not load (checked elsewhere)."""
    ql = current_app.extensions["quietline"]
    try:
        return load_practice(Path(ql.settings.flows_dir) / "practice.yaml")
    except Exception:  # a broken practice.yaml is `flows check`'s to report, not the import's
        return None


def _service_down() -> str | None:
    """One line saying the service's Redis cannot be reached (None when it can).

    An import re-plans reminders and follow-ups at once through Redis (``ivr.contact.service``); with the service
    down it would half succeed behind a traceback, so nothing is imported and the owner is told what to do."""
    ql = current_app.extensions["quietline"]
    try:
        ql.redis.ping()
    except (RedisError, OSError) as exc:
        where = make_url_safe(ql.settings.redis_url)
        return (f"error: the service is not running (Redis at {where} does not answer: {type(exc).__name__}); "
                "start it with `make run`, then import again. Nothing was imported.")
    return None


def make_url_safe(url: str) -> str:
    """A Redis URL without its password."""
    parts = urlsplit(url)
    if not parts.password:
        return url  # as written (urlunsplit would turn unix:///path into unix:/path)
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@practice_cli.command("import")
@click.option("--clients", "clients", type=_FILE, help="clients.csv exported from your EHR.")
@click.option("--appointments", "appointments", type=_FILE, help="appointments.csv exported from your EHR.")
@click.option("--clinicians", "clinicians", type=_FILE,
              help="Optional clinicians.csv (ids, names, session length, working hours).")
def import_command(clients: Path | None, appointments: Path | None, clinicians: Path | None) -> None:
    """Import (or update, by id) clients and appointments. One bad row anywhere and nothing is imported."""
    if not (clients or appointments or clinicians):
        raise click.UsageError("give at least one of --clients, --appointments, --clinicians")
    practice = _practice_settings()
    region = practice.phone_region if practice else "US"
    tz = practice.tz if practice else None  # without practice.yaml, times must carry their UTC offset
    texts = {kind: read_csv_text(path) if path else None
             for kind, path in (("clients", clients), ("appointments", appointments), ("clinicians", clinicians))}
    names = {kind: str(path) for kind, path in
             (("clients", clients), ("appointments", appointments), ("clinicians", clinicians)) if path}
    down = _service_down()
    if down:
        click.echo(down, err=True)
        sys.exit(1)
    database = ready_db()
    try:
        report = import_practice(database.sessions, texts["clients"], texts["appointments"], texts["clinicians"],
                                 region=region, names=names, tz=tz)
    except ImportRejected as rejected:
        for problem in rejected.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(rejected.problems)} problem(s): nothing was imported", err=True)
        sys.exit(1)
    for file, headers in report.ignored_columns.items():
        click.echo(f"{file}: ignored column(s) {', '.join(repr(h) for h in headers)}")
    for line in report.lines():
        click.echo(line)


@practice_cli.command("export")
@click.option("--clients", "clients", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--appointments", "appointments", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--clinicians", "clinicians", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write clinicians.csv (ids, names, session length, working hours).")
def export_command(clients: Path, appointments: Path, clinicians: Path | None) -> None:
    """Write clients and appointments as CSV (the columns `practice import` reads); times in practice time."""
    practice = _practice_settings()
    tz = practice.tz if practice else ZoneInfo(_DEFAULT_TZ)
    report = export_practice(ready_db().sessions, clients, appointments, clinicians, tz=tz)
    click.echo(f"{report.clients} client(s) → {clients}")
    click.echo(f"{report.appointments} appointment(s) → {appointments}")
    if clinicians:
        click.echo(f"{report.clinicians} clinician(s) → {clinicians}")


@practice_cli.command("seed-demo")
def seed_demo_command() -> None:
    """Add the fictional demo practice (docs/import.md says who to call as); nothing if clients exist."""
    practice = _practice_settings()
    tz = practice.tz if practice else ZoneInfo(_DEFAULT_TZ)
    ql = current_app.extensions["quietline"]
    now = ql.clock() if callable(getattr(ql, "clock", None)) else dt.datetime.now(dt.UTC)
    report = seed_demo(ready_db().sessions, now, tz)
    if not report.seeded:
        click.echo("the database already has clients: nothing seeded")
        return
    click.echo(f"demo practice seeded: {report.clinicians} clinicians, {report.clients} clients, "
               f"{report.appointments} appointments")
    if report.late_note:
        click.echo(report.late_note)


def init_app(app: Flask) -> None:
    """Register the ``practice`` command group on an app."""
    app.cli.add_command(practice_cli)
