"""``flask --app app call``: place a simulated inbound call, exactly as Twilio would.

A development tool, so it is not registered by the app factory: pyproject.toml declares it as
a ``flask.commands`` entry point, which Flask's CLI finds once the project is installed
(``make deps`` runs ``pip install -e . --no-deps``), and runs inside the app's context
(``with_appcontext``, as the app's own commands do).  The service itself never imports it.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from urllib.parse import urlsplit

import click
import requests
from flask import current_app
from flask.cli import with_appcontext

from ivr.dev.serve import service_note
from ivr.dev.simulator import CallSimulator, FlaskTransport, HttpTransport, tone_wav


@click.command("call")
@with_appcontext
@click.option("--from", "from_", default="+15551230001", show_default=True, help="Caller ID (or Anonymous).")
@click.option("--to", default="+15550100000", show_default=True, help="The practice number called.")
@click.option("--url", default=None, help="A running server's base URL; default: the app in this process.")
@click.option("--script", default=None, help='Inputs, e.g. "1;wait;say:reschedule;04151985"; default: ask.')
def call_command(from_: str, to: str, url: str | None, script: str | None) -> None:
    """Place a simulated inbound call, exactly as Twilio would, and print what the caller hears."""
    ql = current_app.extensions["quietline"]
    settings = ql.settings
    public_base_url, api_url = settings.public_base_url, settings.twilio_api_url
    if url:
        transport = HttpTransport()
        target = url.rstrip("/")
        # A `python -m ivr.dev.serve` on this machine says how it signs and where its stand-in is, so this
        # terminal needs neither PUBLIC_BASE_URL (it follows --port) nor TWILIO_API_URL (set only there).
        note = service_note(target)
        if note is not None:
            public_base_url = note.get("public_base_url", public_base_url)
            api_url = note.get("twilio_api_url", api_url)
    else:
        transport = FlaskTransport(current_app.test_client())
        target = None
    sim = CallSimulator(transport, auth_token=settings.twilio_auth_token, public_base_url=public_base_url,
                        target_base_url=target, account_sid=settings.twilio_account_sid,
                        recording_url_base=api_url, out=click.echo,
                        on_recording=_standin_uploader(api_url))
    result = sim.call(from_=from_, to=to, script=script, interactive=script is None)
    click.echo(f"— call ended ({result.ended_by}), {len(result.requests)} webhooks")
    if result.application_error:
        sys.exit(1)


def _standin_uploader(api_url: str) -> Callable[[str, str, int], None] | None:
    """When REST calls go to the local stand-in, give it the simulated voicemail's audio."""
    if urlsplit(api_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        return None

    def upload(call_sid: str, recording_sid: str, seconds: int) -> None:
        try:
            requests.put(f"{api_url.rstrip('/')}/_standin/recordings/{recording_sid}",
                         params={"call_sid": call_sid, "duration": seconds}, data=tone_wav(seconds), timeout=5)
        except requests.RequestException:
            click.echo("(the local Twilio stand-in is not running; the voicemail audio is not stored)", err=True)

    return upload
