"""``flask --app app doctor [--json]``: check a live installation (ivr.ops.doctor); exit 1 naming each problem."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo

from ivr.config import load_settings
from ivr.ops import backup as backup_mod
from ivr.ops import doctor as doctor_mod
from ivr.ops.connect import ConnectError, e164
from ivr.telephony.twilio_rest import make_client

JSON_OPTION = click.option("--json", "as_json", is_flag=True,
                           help="Print the report as JSON (ok, problems, warnings, checks).")
NUMBER_OPTION = click.option("--number", "raw_number", default=None,
                             help="The practice's Twilio number (default: TWILIO_NUMBER).")
ENV_FILE_OPTION = click.option("--env-file", "env_files", multiple=True, type=click.Path(path_type=Path),
                               help="A file holding secrets whose permissions to check (repeatable; default: "
                                    "IVR_ENV_FILE, the file the service reads).")
REDIS_CONF_OPTION = click.option("--redis-conf", type=click.Path(path_type=Path), default=doctor_mod.REDIS_SETTINGS,
                                 show_default=True, help="Redis's settings holding its password (mode checked).")


def _print(report: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for warning in report["warnings"]:
        click.echo(f"warning [{warning['check']}]: {warning['message']}")
    for problem in report["problems"]:
        click.echo(f"PROBLEM [{problem['check']}]: {problem['message']}")
    passed = sum(1 for c in report["checks"] if c["ok"])
    click.echo(f"{passed} of {len(report['checks'])} checks passed"
               + ("" if report["ok"] else f"; {len(report['problems'])} problem(s)"))


@click.command("doctor")
@JSON_OPTION
@NUMBER_OPTION
@ENV_FILE_OPTION
@REDIS_CONF_OPTION
def doctor_command(as_json: bool, raw_number: str | None, env_files: tuple[Path, ...], redis_conf: Path) -> None:
    """Check the live configuration: https URL, the number's webhooks, the auth token, Redis (AOF, noeviction,
    password), migrations, backups and restore drills, free disk, file permissions, the recordings key, the clock.

    Exit status 0 when nothing is wrong, 1 naming each problem (warnings alone do not fail).
    """
    # Also a flask.commands entry point (pyproject.toml), so `flask doctor` reaches this before the app is built:
    # when the app cannot be built because of settings the service refuses, those are the findings, not a traceback.
    try:
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    except Exception:
        findings = doctor_mod.settings_findings(load_settings)
        if not findings:
            raise
        _print(doctor_mod.config_report(findings), as_json)
        sys.exit(1)
    with app.app_context():
        _diagnose(as_json, raw_number, env_files, redis_conf)


def _diagnose(as_json: bool, raw_number: str | None, env_files: tuple[Path, ...], redis_conf: Path) -> None:
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
        # The file the service reads (IVR_ENV_FILE: /etc/quietline/quietline.env on an install), not the checkout's.
        default = backup_mod.env_file(settings)
        env_files = (default,) if default is not None and default.exists() else ()
    paths = doctor_mod.Paths(instance_dir, tuple(env_files), doctor_mod.backup_dir(settings, instance_dir), redis_conf)
    facts = doctor_mod.gather(ql, paths, number, lambda: make_client(settings))
    report = doctor_mod.diagnose(facts, doctor_mod.Limits.from_settings(settings))
    _print(report, as_json)
    sys.exit(0 if report["ok"] else 1)
