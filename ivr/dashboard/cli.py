"""Console commands for staff accounts, for before anyone can sign in (and when the last owner forgets).

``flask --app app staff create-owner --email owner@example.com --name "Pat Owner"``
``flask --app app staff reset-password --email owner@example.com``
``flask --app app staff list``

The password is asked for twice without echo; for automation it is read from
``QUIETLINE_STAFF_PASSWORD`` instead (never from the command line, where ``ps``
and shell history would keep it).
"""
from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from ivr import passwords
from ivr.dashboard.blueprint import practice_settings
from ivr.db.cli import ready_db
from ivr.escalations import audit
from ivr.escalations.audit import Action
from ivr.escalations.models import Role, StaffUser

PASSWORD_ENV = "QUIETLINE_STAFF_PASSWORD"
staff_cli = AppGroup("staff", help="Staff dashboard accounts: the first owner, password resets.")


def _password(*user_inputs: str) -> str:
    """From the environment (automation) or asked twice; the rules (length, not easy to guess) apply either way.

    ``user_inputs``: the account's email and name, which a password must not lean on (nor the
    practice's name: ``passwords.check_password_rules``).
    """
    practice = practice_settings()
    rules = {"practice_name": practice.name if practice is not None else None}
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        try:
            passwords.check_password_rules(from_env, user_inputs, **rules)
        except passwords.WeakPassword as exc:
            raise click.ClickException(f"{PASSWORD_ENV}: {exc}") from None
        return from_env
    while True:
        value = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            passwords.check_password_rules(value, user_inputs, **rules)
            return value
        except passwords.WeakPassword as exc:
            click.echo(str(exc), err=True)
            if not sys.stdin.isatty():
                raise click.ClickException(str(exc)) from None


def _now():
    return current_app.extensions["quietline"].clock()


@staff_cli.command("create-owner")
@click.option("--email", required=True, help="Their login.")
@click.option("--name", required=True, help="As shown to colleagues.")
@click.option("--phone", default=None, help="Mobile number in E.164 (+15551234567) for text alerts.")
def create_owner(email: str, name: str, phone: str | None) -> None:
    """Create an owner account (owners manage staff and the roster and read the audit log)."""
    database = ready_db()
    email = email.strip().lower()
    with database.sessions() as s:
        if s.scalar(select(StaffUser.id).where(func.lower(StaffUser.email) == email)) is not None:
            raise click.ClickException(f"{email} already has an account (reset its password with "
                                       "`flask --app app staff reset-password --email ...`)")
    password_hash = passwords.hash_password(_password(email, name), user_inputs=(email, name))
    with database.sessions() as s, s.begin():
        user = StaffUser(email=email, name=name.strip(), phone=phone, role=Role.OWNER.value,
                         password_hash=password_hash, active=True, created_at=_now())
        s.add(user)
        s.flush()
        audit.record(s, None, Action.STAFF_CREATE, f"staff:{user.id}", "role owner; from the command line", at=_now())
    click.echo(f"Created owner {email}. Sign in at {current_app.extensions['quietline'].settings.public_base_url}"
               "/staff/login")


@staff_cli.command("reset-password")
@click.option("--email", required=True)
def reset_password(email: str) -> None:
    """Set a new password for an account, lift any lock and reactivate it."""
    database = ready_db()
    email = email.strip().lower()
    with database.sessions() as s:
        name = s.scalar(select(StaffUser.name).where(func.lower(StaffUser.email) == email)) or ""
    password_hash = passwords.hash_password(_password(email, name), user_inputs=(email, name))
    with database.sessions() as s, s.begin():
        user = s.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email))
        if user is None:
            raise click.ClickException(f"no account for {email}")
        user.password_hash, user.failed_logins, user.locked_until, user.active = password_hash, 0, None, True
        audit.record(s, None, Action.STAFF_PASSWORD_RESET, f"staff:{user.id}", "from the command line", at=_now())
    click.echo(f"New password set for {email}.")


@staff_cli.command("list")
def list_staff() -> None:
    """Every account: email, role, state."""
    database = ready_db()
    with database.sessions() as s:
        users = s.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    for u in users:
        click.echo(f"{u.email}\t{u.role}\t{'active' if u.active else 'deactivated'}\t{u.name}")
    if not users:
        click.echo("no accounts yet: flask --app app staff create-owner --email ... --name ...")
