"""``flask --app app twilio connect|show|rollback``: wire the practice's Twilio number (ivr.ops.connect)."""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import click
from flask import current_app
from flask.cli import AppGroup
from twilio.rest import Client

from ivr.config import Settings
from ivr.ops import connect as connect_mod
from ivr.ops.connect import ConnectError
from ivr.telephony.twilio_numbers import MANAGED_FIELDS, NumberConfig
from ivr.telephony.twilio_rest import make_client as _make_client

T = TypeVar("T")

twilio_cli = AppGroup("twilio", help="The practice's Twilio number: point it at this service, show it, undo it.")

NUMBER_HELP = "The practice's Twilio number (any usual form; E.164 is +1…). Default: TWILIO_NUMBER."


def _number(raw: str | None) -> str:
    ql = current_app.extensions["quietline"]
    value = raw or ql.settings.twilio_number
    if not value:
        raise ConnectError("no number: pass --number +1… or set TWILIO_NUMBER", connect_mod.EXIT_USAGE)
    flows = ql.flows.last_good
    return connect_mod.e164(value, flows.practice.phone_region if flows is not None else "US")


def make_client(settings: Settings) -> Client:
    """The REST client for the ``twilio`` commands, once the credentials may be sent where they would go."""
    connect_mod.check_credentials(settings)
    return _make_client(settings)


def _show(number: NumberConfig) -> None:
    click.echo(f"{number.phone_number} ({number.sid})")
    for name in MANAGED_FIELDS:
        click.echo(f"  {name}: {getattr(number, name) or '(unset)'}")


def _run(action: Callable[[], T]) -> T:
    """``action()``; a ConnectError becomes its message on stderr and its exit status."""
    try:
        return action()
    except ConnectError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


@twilio_cli.command("connect")
@click.option("--number", "raw_number", default=None, help=NUMBER_HELP)
@click.option("--rollback", is_flag=True, help="Put back the values the last connect replaced (as `twilio rollback`).")
def connect_command(raw_number: str | None, rollback: bool) -> None:
    """Set the number's VoiceUrl, VoiceFallbackUrl, StatusCallback and SmsUrl (POST) from PUBLIC_BASE_URL.

    Re-reads the number to confirm; keeps the values it replaced (instance folder, 0600) for --rollback.
    Exit status: 0 done or nothing to change, 2 bad number / http PUBLIC_BASE_URL / nothing to roll back,
    3 not a number of the account, 4 Twilio refused the credentials, 5 the number does not read back as
    set, 6 Twilio unreachable or another refusal.
    """
    if rollback:
        _rollback(raw_number)
        return
    ql = current_app.extensions["quietline"]

    def run() -> connect_mod.Outcome:
        number = _number(raw_number)
        return connect_mod.connect(make_client(ql.settings), ql.settings, number, current_app.instance_path, ql.clock)

    outcome = _run(run)
    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not outcome.changes:
        click.echo(f"{outcome.number.phone_number}: already points at {ql.settings.public_base_url}; nothing changed")
        return
    for name, (before, after) in outcome.changes.items():
        click.echo(f"  {name}: {before or '(unset)'} -> {after or '(unset)'}")
    click.echo(f"{outcome.number.phone_number}: connected to {ql.settings.public_base_url} (read back and "
               f"confirmed); the values replaced are kept in {outcome.saved} for `twilio rollback`")


def _rollback(raw_number: str | None) -> None:
    ql = current_app.extensions["quietline"]

    def run() -> connect_mod.Outcome:
        return connect_mod.rollback(make_client(ql.settings), _number(raw_number), current_app.instance_path)

    outcome = _run(run)
    for name, (before, after) in outcome.changes.items():
        click.echo(f"  {name}: {before or '(unset)'} -> {after or '(unset)'}")
    click.echo(f"{outcome.number.phone_number}: rolled back to the values before the last connect"
               + ("" if outcome.changes else " (they were already set)"))


@twilio_cli.command("rollback")
@click.option("--number", "raw_number", default=None, help=NUMBER_HELP)
def rollback_command(raw_number: str | None) -> None:
    """Put back the values the last `twilio connect` replaced (exit status as connect's)."""
    _rollback(raw_number)


@twilio_cli.command("show")
@click.option("--number", "raw_number", default=None, help=NUMBER_HELP)
def show_command(raw_number: str | None) -> None:
    """Print the number's webhook settings as Twilio has them, and whether they point at this service."""
    ql = current_app.extensions["quietline"]

    def run() -> tuple[NumberConfig, dict[str, tuple[str | None, str | None]], str | None]:
        client = make_client(ql.settings)
        number = connect_mod.lookup(client, _number(raw_number))
        changes = connect_mod.differences(number, connect_mod.wanted(ql.settings.public_base_url))
        return number, changes, connect_mod.in_messaging_service_warning(client, number)

    number, changes, warning = _run(run)
    _show(number)
    if warning:
        click.echo(f"warning: {warning}", err=True)
    if changes:
        click.echo(f"does not point at {ql.settings.public_base_url}: {', '.join(changes)} differ "
                   "(run `twilio connect`)")
        sys.exit(1)
    click.echo(f"points at {ql.settings.public_base_url}")
