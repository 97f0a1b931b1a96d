"""Voicemails waiting for a speech worker that can transcribe them: what ``/health`` and ``flask doctor`` say.

A speech worker without a usable model marks what it takes ``no_model``; a speech worker whose model loaded also
serves the ``speech-model`` queue and puts every ``no_model`` message there on each maintenance pass
(``workers.run``). Two things can leave such messages untranscribed, and not crisis-checked, for good:

* no live worker serves ``speech-model`` (every speech worker is without a model, or none runs): ``speech_model``;
* a ``speech-model`` job has waited longer than its limit (the model worker is stuck or far behind):
  ``speech_model_queue``.

Staff already have the messages (each is an escalation), so both make the service ``degraded``, never
``failing``. The words hold counts and ages only: no SID, number or transcript.
"""
from __future__ import annotations

from dataclasses import dataclass

from ivr.jobs.enqueue import SPEECH_MODEL_QUEUE, SPEECH_QUEUE

# How long a transcription may wait on the ``speech-model`` queue (IVR_HEALTH_SPEECH_MODEL_QUEUE_MAX_AGE_SECONDS).
MODEL_QUEUE_MAX_AGE_SECONDS = 600.0


@dataclass(frozen=True)
class SpeechBacklog:
    """What is read of RQ and the database about messages waiting for a model (counts and seconds only)."""

    model_workers: int  # live workers serving ``speech-model`` (speech workers whose model loaded)
    queued: int  # jobs on ``speech-model``: queued, or a retry scheduled
    oldest_age_seconds: float | None  # how long the oldest queued one has waited (None: none queued)
    left_without_model: int | None  # voicemails a worker without a model left (``no_model``); None: not read


def problems(backlog: SpeechBacklog, max_age_seconds: float) -> list[tuple[str, str]]:
    """(check name, plain words) for each problem of ``backlog``: ``speech_model``, ``speech_model_queue``."""
    found: list[tuple[str, str]] = []
    waiting = max(backlog.left_without_model or 0, backlog.queued)
    if waiting and not backlog.model_workers:
        found.append(("speech_model",
                      f"{waiting} voicemail(s) wait for a speech worker with a speech model and none is running: "
                      "staff have the messages, but they are not transcribed or checked for a crisis until one "
                      "starts (install the model: flask --app app speech download-model, then restart the speech "
                      f"worker: python -m workers.run --queues {SPEECH_QUEUE})"))
    age = backlog.oldest_age_seconds
    if age is not None and age > max_age_seconds:
        found.append(("speech_model_queue",
                      f"the oldest voicemail waiting on the {SPEECH_MODEL_QUEUE} queue (transcription by a worker "
                      f"with a model) has waited {age:g} s, longer than {max_age_seconds:g} s: is the speech "
                      "worker stuck or far behind?"))
    return found
