"""Console commands: ``flask --app app flows check``, ``flask --app app call``, …"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from ivr.flowlang.store import check_dir

flows_cli = AppGroup("flows", help="Check and inspect call flows.")


@flows_cli.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def flows_check(path: Path | None) -> None:
    """Load every flow in PATH (default: IVR_FLOWS_DIR) and report every problem at once."""
    ql = current_app.extensions["quietline"]
    directory = path or Path(ql.settings.flows_dir)
    if directory.is_file():
        directory = directory.parent
    flows, problems = check_dir(directory, ql.registry.signatures())
    for problem in problems:
        click.echo(str(problem), err=problem.severity == "error")
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        click.echo(f"{len(errors)} problem(s) in {directory}", err=True)
        sys.exit(1)
    assert flows is not None
    steps = sum(len(f.steps) for f in flows.flows.values())
    click.echo(f"OK: {len(flows.flows)} flows, {steps} steps, version {flows.version} ({directory})")


@flows_cli.command("actions")
def flows_actions() -> None:
    """List the built-in actions a flow may call, with their outcomes."""
    ql = current_app.extensions["quietline"]
    described = ql.registry.describe()
    for name, outcomes in sorted(ql.registry.outcomes().items()):
        click.echo(f"{name}: {', '.join(outcomes)}\n    {described[name]}")


@click.command("call")
@click.option("--from", "from_", default="+15551230001", show_default=True, help="Caller ID (or Anonymous).")
@click.option("--to", default="+15550100000", show_default=True, help="The practice number called.")
@click.option("--url", default=None, help="A running server's base URL; default: the app in this process.")
@click.option("--script", default=None, help='Inputs, e.g. "1;wait;say:reschedule;04151985"; default: ask.')
def call_command(from_: str, to: str, url: str | None, script: str | None) -> None:
    """Place a simulated inbound call, exactly as Twilio would, and print what the caller hears."""
    from ivr.simulator import CallSimulator, FlaskTransport, HttpTransport

    ql = current_app.extensions["quietline"]
    settings = ql.settings
    public_base_url, api_url = settings.public_base_url, settings.twilio_api_url
    if url:
        transport = HttpTransport()
        target = url.rstrip("/")
        # A `python -m ivr.serve` on this machine says how it signs and where its stand-in is, so this
        # terminal needs neither PUBLIC_BASE_URL (it follows --port) nor TWILIO_API_URL (set only there).
        from ivr.serve import service_note

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


speech_cli = AppGroup("speech", help="Offline speech recognition (vosk).")


@speech_cli.command("download-model")
@click.option("--url", default=None, help="A vosk model zip (default: the small English model).")
@click.option("--sha256", default=None, help="Expected SHA-256 of the zip (checked for the default model).")
def speech_download_model(url: str | None, sha256: str | None) -> None:
    """Download and install a vosk model into instance/models/ (what VOSK_MODEL_PATH defaults to)."""
    from ivr.model_download import (
        ModelDownloadError,
        download_default_model,
        download_model,
    )
    from ivr.speech import MODELS_DIR

    def progress(done: int, total: int | None) -> None:
        if total:
            click.echo(f"\r{done * 100 // total:3d}% of {total // 1_000_000} MB", nl=False)

    try:
        path = download_model(url, MODELS_DIR, sha256=sha256, progress=progress) if url else \
            download_default_model(progress=progress)
    except ModelDownloadError as exc:
        click.echo(f"\ndownload failed: {exc}", err=True)
        sys.exit(1)
    click.echo(f"\ninstalled {path}")


@speech_cli.command("transcribe")
@click.argument("wav", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", default=None, help="Model directory (default: VOSK_MODEL_PATH or the downloaded one).")
def speech_transcribe(wav: Path, model: str | None) -> None:
    """Print the transcript of a WAV file (to your terminal only; transcripts are never logged)."""
    from ivr.speech import find_model, load_recognizer

    transcript = load_recognizer(find_model(model)).transcribe(wav)
    click.echo(f"{transcript.text}\n(confidence {transcript.confidence:.2f}, {transcript.duration_seconds:.1f} s)")


def _standin_uploader(api_url: str):
    """When REST calls go to the local stand-in, give it the simulated voicemail's audio."""
    from urllib.parse import urlsplit

    if urlsplit(api_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        return None

    def upload(call_sid: str, recording_sid: str, seconds: int) -> None:
        import requests

        from ivr.simulator import tone_wav

        try:
            requests.put(f"{api_url.rstrip('/')}/_standin/recordings/{recording_sid}",
                         params={"call_sid": call_sid, "duration": seconds}, data=tone_wav(seconds), timeout=5)
        except requests.RequestException:
            click.echo("(the local Twilio stand-in is not running; the voicemail audio is not stored)", err=True)

    return upload


def init_app(app: Flask) -> None:
    """Register the console commands on an app."""
    app.cli.add_command(flows_cli)
    app.cli.add_command(call_command)
    app.cli.add_command(speech_cli)
