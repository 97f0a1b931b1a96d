"""Console commands: ``flask --app app flows check``, ``flows actions``, ``speech download-model``, ``speech
transcribe``, ``recordings rotate-key``.

The offline owner commands (``flows …``, ``speech …``) read files only: they are registered through the
``flask.commands`` entry points in pyproject.toml, so Flask's CLI runs them without building the app, and
they work on a fresh clone with no secrets set (no TWILIO_AUTH_TOKEN, IVR_DATA_KEY; fix14-left finding 7).
``recordings rotate-key`` needs the service's keys and runs inside the app.

The simulated call (``flask --app app call``) is a development tool: ``ivr.dev.cli``, registered
through the ``flask.commands`` entry point in pyproject.toml."""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from ivr.actions.catalog import default_registry
from ivr.config import ConfigError, load_settings
from ivr.contact.facts import clinician_names
from ivr.db.database import Database, normalise_url, safe_url
from ivr.flowlang.store import check_dir
from ivr.ops.cli_connect import twilio_cli
from ivr.ops.cli_doctor import doctor_command
from ivr.speech.model_download import (
    MAX_DOWNLOAD_BYTES,
    MAX_UNPACKED_BYTES,
    ModelDownloadError,
    download_default_model,
    download_model,
)
from ivr.speech.recognizer import DEFAULT_MODEL_DIR, MODEL_PATH_ENV, MODELS_DIR, find_model, load_recognizer

# Plain click groups, not Flask AppGroups: nothing here needs the app, its settings' secrets or Redis.
flows_cli = click.Group("flows", help="Check and inspect call flows (offline: no secrets, no service needed).")


def _flows_dir() -> Path:
    """IVR_FLOWS_DIR (else the shipped flows/), read without checking the service's other settings."""
    try:
        return Path(load_settings().flows_dir)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def database_clinician_names(environ: Mapping[str, str] | None = None) -> tuple[tuple[str, ...] | None, str]:
    """The clinicians' names from the practice database, as the running service reads them, and what was read.

    A database is configured when DATABASE_URL (or DATABASE_URL_FILE) is set, or when the instance's default SQLite
    file exists (``make run`` creates it); none configured, or one that cannot be read → ``(None, why)``, never an
    error: the flows are still checked, without the names.
    """
    environ = os.environ if environ is None else environ
    try:
        url = load_settings(environ).database_url
    except ConfigError as exc:
        return None, f"the settings cannot be read ({exc})"
    parsed = normalise_url(url)
    if not environ.get("DATABASE_URL") and not environ.get("DATABASE_URL_FILE"):
        file = parsed.database or ""
        if parsed.get_backend_name() != "sqlite" or not file or not Path(file).expanduser().exists():
            return None, "no database is configured (DATABASE_URL unset and no instance database yet)"
    try:
        database = Database.from_url(parsed)
    except (SQLAlchemyError, ImportError, OSError) as exc:
        return None, f"the database {safe_url(parsed)} cannot be opened ({type(exc).__name__})"
    try:
        with database.sessions() as db:
            names = clinician_names(db)
    except SQLAlchemyError as exc:
        return None, (f"the database {safe_url(parsed)} cannot be read ({type(exc).__name__}; "
                      "run: flask --app app db upgrade)")
    finally:
        database.dispose()
    return names, f"{len(names)} clinician name(s) from the database {safe_url(parsed)}"


def listed_numbers(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The practice's listed line as the service reads it (``TWILIO_NUMBER``); () when unset or unreadable."""
    try:
        return load_settings(os.environ if environ is None else environ).listed_numbers
    except ConfigError:
        return ()


@flows_cli.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def flows_check(path: Path | None) -> None:
    """Load every flow in PATH (default: IVR_FLOWS_DIR) and report every problem at once.

    Outbound words are linted with the clinicians' names from the practice database when one is configured
    (as the running service does); without one it says so."""
    directory = path or _flows_dir()
    if directory.is_file():
        directory = directory.parent
    names, read = database_clinician_names()
    if names is None:
        click.echo(f"Checked without clinician names: {read}.")
    else:
        click.echo(f"Checked with {read}.")
    flows, problems = check_dir(directory, default_registry().signatures(), names or (), listed_numbers())
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
    registry = default_registry()
    described = registry.describe()
    for name, outcomes in sorted(registry.outcomes().items()):
        click.echo(f"{name}: {', '.join(outcomes)}\n    {described[name]}")


speech_cli = click.Group("speech", help="Offline speech recognition (vosk; no secrets, no service needed).")


@speech_cli.command("download-model")
@click.option("--url", default=None, help="A vosk model zip (default: the small English model).")
@click.option("--sha256", default=None, help="Expected SHA-256 of the zip (checked for the default model).")
@click.option("--max-download-mb", type=click.IntRange(min=1), default=MAX_DOWNLOAD_BYTES // 1024**2,
              show_default=True, help="Refuse a download larger than this.")
@click.option("--max-unpacked-mb", type=click.IntRange(min=1), default=MAX_UNPACKED_BYTES // 1024**2,
              show_default=True, help="Refuse a zip that unpacks to more than this (a zip bomb).")
def speech_download_model(url: str | None, sha256: str | None, max_download_mb: int, max_unpacked_mb: int) -> None:
    """Download and install a vosk model into instance/models/, then say how to use it (VOSK_MODEL_PATH)."""
    terminal = sys.stdout.isatty()
    said: list[int] = []

    def progress(done: int, total: int | None) -> None:
        if not total:
            return
        percent = done * 100 // total
        if terminal:
            click.echo(f"\r{percent:3d}% of {total // 1_000_000} MB", nl=False)
        elif not said or percent // 10 > said[-1] // 10:
            # Not a terminal (a log, CI): a line every 10 %, not one per chunk.
            said.append(percent)
            click.echo(f"{percent}% of {total // 1_000_000} MB")

    limits = {"max_download_bytes": max_download_mb * 1024**2, "max_unpacked_bytes": max_unpacked_mb * 1024**2}
    try:
        path = download_model(url, MODELS_DIR, sha256=sha256, progress=progress, **limits) if url else \
            download_default_model(progress=progress)
    except ModelDownloadError as exc:
        reason = str(exc).removeprefix("download failed: ")  # said once, not "download failed: download failed:"
        click.echo(f"\ndownload failed: {reason}", err=True)
        sys.exit(1)
    click.echo(f"\ninstalled {path}")
    click.echo(model_next_step(path.resolve()))


def model_next_step(path: Path) -> str:
    """The exact next step after installing the model at ``path`` (absolute): what to set, where, and the restart."""
    restart = "then restart the service (make run) so the speech worker loads it"
    current = os.environ.get(MODEL_PATH_ENV)
    if path == DEFAULT_MODEL_DIR.resolve() and not current:
        return f"Next step: nothing to set (this is where Quietline looks by default); {restart}."
    return (f"Next step: add this line to .env (or the speech worker's environment), {restart}:\n"
            f"{MODEL_PATH_ENV}={path}"
            + (f"\n(now {MODEL_PATH_ENV}={current}, which the speech worker would use instead)" if current else ""))


@speech_cli.command("transcribe")
@click.argument("wav", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", default=None, help="Model directory (default: VOSK_MODEL_PATH or the downloaded one).")
def speech_transcribe(wav: Path, model: str | None) -> None:
    """Print the transcript of a WAV file (to your terminal only; transcripts are never logged)."""
    transcript = load_recognizer(find_model(model)).transcribe(wav)
    click.echo(f"{transcript.text}\n(confidence {transcript.confidence:.2f}, {transcript.duration_seconds:.1f} s)")


recordings_cli = AppGroup("recordings", help="Voicemails and transcripts, sealed with IVR_RECORDINGS_KEY.")


@recordings_cli.command("rotate-key")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Re-encrypt at most this many files in this run (run again to go on).")
def recordings_rotate_key(limit: int | None) -> None:
    """Re-encrypt every voicemail and transcript under the first key of IVR_RECORDINGS_KEY.

    Put the new key first and the old one after it (IVR_RECORDINGS_KEY=new,old), restart the service, run
    this, then drop the old key. Files are replaced one at a time, atomically: stopping it (Ctrl-C, a crash)
    loses nothing, and running it again goes on where it stopped. Plain files an older version left are
    encrypted too. Exit status 1 when a file no configured key opens (left as it is).
    """
    files = current_app.extensions["quietline"].recording_files
    report = files.rotate(limit=limit)
    click.echo(f"{report.resealed} file(s) re-encrypted with the first key, {report.sealed_plain} plain file(s) "
               f"encrypted, {report.current} already under the first key, {report.unreadable} unreadable "
               f"({files.directory})")
    if report.leftovers:
        click.echo(f"Removed {report.leftovers} half-written file(s) an interrupted run or write left.")
    if report.stopped_early:
        click.echo(f"Stopped after {limit} file(s) (--limit): run it again to go on.")
    if report.unreadable:
        click.echo("Some files open with no configured key: put the key they were encrypted with back in "
                   "IVR_RECORDINGS_KEY (after the first) and run this again.", err=True)
        sys.exit(1)


def init_app(app: Flask) -> None:
    """Register the console commands that need the app (the offline ones are entry points, above)."""
    app.cli.add_command(recordings_cli)
    app.cli.add_command(twilio_cli)  # issue 15: wire the number (go-connect)
    app.cli.add_command(doctor_command)  # issue 15: the doctor (also an entry point: ivr/ops/cli_doctor.py)
