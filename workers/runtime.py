"""What a job may use: the services of the app the worker process was started with."""
from __future__ import annotations

from flask import current_app

from ivr import Quietline


def services() -> Quietline:
    """The running app's services; workers push an app context before working (see workers.run)."""
    return current_app.extensions["quietline"]
