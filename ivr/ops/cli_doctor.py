"""``flask --app app doctor [--json]``: check a live installation (ivr.ops.doctor); exit 1 naming each problem."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ivr.config import PROJECT_ROOT
from ivr.ops import doctor as doctor_mod
from ivr.ops.connect import ConnectError, e164
from ivr.telephony.twilio_rest import make_client


@click.command("doctor")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (ok, problems, warnings, checks).")
@click.option("--number", "raw_number", default=None, help="The practice's Twilio number (default: TWILIO_NUMBER).")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(path_type=Path),
              help="A file holding secrets whose permissions to check (repeatable; default: the project's .env "
                   "when there is one).")
def doctor_command(as_json: bool, raw_number: str | None, env_files: tuple[Path, ...]) -> None:
    """Check the live configuration: https URL, the number's webhooks, the auth token, Redis (AOF, noeviction,
    password), migrations, backups and restore drills, free disk, file permissions, the recordings key, the clock.

    Exit status 0 when nothing is wrong, 1 naming each problem (warnings alone do not fail).
    """
    ql = current_app.extensions["quietline"]
    settings = ql.settings
    number = None
    raw = raw_number or settings.twilio_number
    if raw:
        flows = ql.flows.last_good
        try:
            number = e164(raw, flows.practice.phone_region if flows is not None else "US")
        except ConnectError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    instance_dir = Path(current_app.instance_path)
    if not env_files:
        default = PROJECT_ROOT / ".env"
        env_files = (default,) if default.exists() else ()
    paths = doctor_mod.Paths(instance_dir, tuple(env_files), doctor_mod.backup_dir(settings, instance_dir))
    facts = doctor_mod.gather(ql, paths, number, lambda: make_client(settings))
    report = doctor_mod.diagnose(facts, doctor_mod.Limits.from_settings(settings))
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        for warning in report["warnings"]:
            click.echo(f"warning [{warning['check']}]: {warning['message']}")
        for problem in report["problems"]:
            click.echo(f"PROBLEM [{problem['check']}]: {problem['message']}")
        passed = sum(1 for c in report["checks"] if c["ok"])
        click.echo(f"{passed} of {len(report['checks'])} checks passed"
                   + ("" if report["ok"] else f"; {len(report['problems'])} problem(s)"))
    sys.exit(0 if report["ok"] else 1)
