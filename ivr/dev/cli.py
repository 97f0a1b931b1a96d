"""``flask --app app call``: place a simulated inbound call, exactly as Twilio would.

A development tool, so it is not registered by the app factory: pyproject.toml declares it as
a ``flask.commands`` entry point, which Flask's CLI finds once the project is installed
(``make deps`` runs ``pip install -e . --no-deps``), and runs inside the app's context
(``with_appcontext``, as the app's own commands do).  The service itself never imports it.
"""
from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import click
import requests
from flask import current_app
from flask.cli import with_appcontext

from ivr.dev.serve import running_service, service_note
from ivr.dev.simulator import CallSimulator, FlaskTransport, HttpTransport, SimulatorError, tone_wav

# --outbound --answer: what Twilio's AMD would report (AnsweredBy), or how the call ends unanswered.
OUTBOUND_ANSWERS = {"client": ("human", None), "someone-else": ("human", None), "machine": ("machine_end_beep", None),
                    "machine-silence": ("machine_end_silence", None), "machine-other": ("machine_end_other", None),
                    "fax": ("fax", None), "unknown": ("unknown", None), "busy": (None, "busy"),
                    "no-answer": (None, "no-answer")}


@click.command("call")
@with_appcontext
@click.option("--from", "from_", default="+15551230001", show_default=True, help="Caller ID (or Anonymous).")
@click.option("--to", default="+15550100000", show_default=True, help="The practice number called.")
@click.option("--url", default=None, help="A running server's base URL; default: the service `make run` runs "
                                          "from this checkout, else the app in this process.")
@click.option("--script", default=None, help='Inputs, e.g. "1;wait;say:reschedule;04151985"; default: ask.')
@click.option("--outbound", is_flag=True, help="Answer the follow-up or reminder call Quietline is placing to "
                                               "--to (at the local Twilio stand-in) instead of calling in.")
@click.option("--answer", "answer_as", type=click.Choice(list(OUTBOUND_ANSWERS)), default="client", show_default=True,
              help="With --outbound: who or what answers (the client answers the questions from --script, "
                   "e.g. \"1;04151985#;1\"; someone else says no).")
def call_command(from_: str, to: str, url: str | None, script: str | None, outbound: bool = False,
                 answer_as: str = "client") -> None:
    """Place a simulated inbound call, exactly as Twilio would, and print what the caller hears; with
    ``--outbound``, answer the call Quietline is placing to ``--to`` as the client, someone else, a machine,
    a fax, or not at all, and print what is heard (and any voicemail left).

    Errors (nothing answers at ``--url``, no Redis for the in-process app) are one clear line, exit code 1.
    """
    ql = current_app.extensions["quietline"]
    if outbound:
        _answer_outbound(ql, to, answer_as, url, script)
        return
    settings = ql.settings
    public_base_url, api_url = settings.public_base_url, settings.twilio_api_url
    if url is None:
        # The service of this checkout is running (`make run` in another terminal): call it, exactly as with
        # --url, so its workers get the voicemail audio from its own stand-in.
        running = running_service()
        if running is not None and running.get("url"):
            url = running["url"]
            click.echo(f"(calling the running service at {url}; --url to choose another)")
    if url:
        transport: HttpTransport | FlaskTransport = HttpTransport()
        target: str | None = url.rstrip("/")
        _must_answer(target)
        # A `python -m ivr.dev.serve` on this machine says how it signs and where its stand-in is, so this
        # terminal needs neither PUBLIC_BASE_URL (it follows --port) nor TWILIO_API_URL (set only there).
        note = service_note(target)
        if note is not None:
            public_base_url = note.get("public_base_url", public_base_url)
            api_url = note.get("twilio_api_url", api_url)
    else:
        _redis_must_answer(ql)
        transport = FlaskTransport(current_app.test_client())
        target = None
    sim = CallSimulator(transport, auth_token=settings.twilio_auth_token, public_base_url=public_base_url,
                        target_base_url=target, account_sid=settings.twilio_account_sid,
                        recording_url_base=api_url, out=click.echo,
                        on_recording=_standin_uploader(api_url))
    try:
        result = sim.call(from_=from_, to=to, script=script, interactive=script is None)
    except SimulatorError as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    click.echo(f"— call ended ({result.ended_by}), {len(result.requests)} webhooks")
    if result.application_error:
        sys.exit(1)


# What someone who is not the client answers to "Is that you?"; a machine or fax answers nothing.
OUTBOUND_SCRIPTS = {"someone-else": "2"}


def _answer_outbound(ql: Any, to: str, answer_as: str, url: str | None, script: str | None = None) -> None:
    """Finish the newest outbound call to ``to`` at the stand-in as ``answer_as`` and print what is heard.

    As the inbound call does, it goes through the service ``make run`` runs from this checkout when no ``--url``
    is given, and takes from it how it signs (PUBLIC_BASE_URL) and where its stand-in is (TWILIO_API_URL): the
    README's command works with ``make run``'s defaults, nothing to set (break-test S9)."""
    settings = ql.settings
    public_base_url, api_url = settings.public_base_url, settings.twilio_api_url
    if url is None:
        running = running_service()
        if running is not None and running.get("url"):
            url = running["url"]
            click.echo(f"(answering through the running service at {url}; --url to choose another)")
    target = url.rstrip("/") if url else None
    if target:
        _must_answer(target)
        note = service_note(target)
        if note is not None:
            public_base_url = note.get("public_base_url", public_base_url)
            api_url = note.get("twilio_api_url", api_url)
    api_url = api_url.rstrip("/")
    if urlsplit(api_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise click.ClickException(f"--outbound needs the local Twilio stand-in; TWILIO_API_URL is {api_url}")
    try:
        calls = requests.get(f"{api_url}/_standin/calls", timeout=5).json()
    except requests.RequestException:
        raise click.ClickException(f"The Twilio stand-in does not answer at {api_url}: start the service with "
                                   "`make run`.") from None
    waiting = [c for c in calls if c.get("to") == to and c.get("direction") == "outbound-api"
               and c.get("status") in ("queued", "ringing", "in-progress")]
    if not waiting:
        raise click.ClickException(f"No outbound call to {to} is waiting at the stand-in: follow-up and reminder "
                                   "calls are placed by the workers when they are due (docs/outbound.md).")
    call = waiting[-1]
    answered_by, status = OUTBOUND_ANSWERS[answer_as]
    finished = requests.post(f"{api_url}/_standin/calls/{call['sid']}/finish",
                             json={"answered_by": answered_by, "status": status}, timeout=5)
    if finished.status_code != 200:
        raise click.ClickException(f"the stand-in refused to finish call {call['sid']} ({finished.status_code})")
    transport: HttpTransport | FlaskTransport = HttpTransport() if target else FlaskTransport(
        current_app.test_client())
    sim = CallSimulator(transport, auth_token=settings.twilio_auth_token, public_base_url=public_base_url,
                        target_base_url=target, account_sid=settings.twilio_account_sid)
    try:
        said = OUTBOUND_SCRIPTS.get(answer_as, script if answer_as == "client" else "") or ""
        heard = sim.answer_outbound(finished.json(), said)
    except SimulatorError as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    click.echo(f"call {call['sid']} from {call['from']} answered by {answered_by or status}")
    for words in heard:
        click.echo(f"🔊 {words}")
    after = next((c for c in requests.get(f"{api_url}/_standin/calls", timeout=5).json()
                  if c.get("sid") == call["sid"]), {})
    if after.get("twiml"):
        for words in re.findall(r"<Say[^>]*>(.*?)</Say>", after["twiml"], re.S):
            click.echo(f"📼 voicemail: {html.unescape(words)}")
    click.echo("— outbound call ended")


def _must_answer(base_url: str) -> None:
    """ClickException (one line) unless a web server answers at ``base_url``."""
    try:
        requests.get(f"{base_url}/health?scope=web", timeout=5)
    except requests.RequestException as exc:
        why = "connection refused" if isinstance(exc, requests.ConnectionError) else type(exc).__name__
        raise click.ClickException(f"Nothing answers at {base_url} ({why}). Start the service with `make run` "
                                   "(in another terminal), or check --url.") from None


def _redis_must_answer(ql: Any) -> None:
    """ClickException (one line) unless the in-process app's Redis answers: without it no call can be stored."""
    from redis.exceptions import RedisError

    try:
        ql.redis.ping()
    except (RedisError, OSError) as exc:
        raise click.ClickException(
            f"Redis does not answer at {_safe_redis_url(ql.settings.redis_url)} ({type(exc).__name__}), and no "
            "service of this checkout is running. Start it with `make run` (in another terminal), or pass --url "
            "of a running one.") from None


def _safe_redis_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _standin_uploader(api_url: str) -> Callable[[str, str, int], None] | None:
    """When REST calls go to the local stand-in, give it the simulated voicemail's audio."""
    if urlsplit(api_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        def no_standin(call_sid: str, recording_sid: str, seconds: int) -> None:
            click.echo(f"(no local Twilio stand-in: TWILIO_API_URL is {api_url}, so this simulated voicemail has "
                       "no audio for the recording job; start the service with `make run` to keep it)", err=True)

        return no_standin

    def upload(call_sid: str, recording_sid: str, seconds: int) -> None:
        try:
            requests.put(f"{api_url.rstrip('/')}/_standin/recordings/{recording_sid}",
                         params={"call_sid": call_sid, "duration": seconds}, data=tone_wav(seconds), timeout=5)
        except requests.RequestException:
            click.echo("(the local Twilio stand-in is not running; the voicemail audio is not stored)", err=True)

    return upload
