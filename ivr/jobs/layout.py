"""Which queues each RQ worker serves: slow work (speech) never shares a worker with urgent or calls work.

A worker takes one job at a time, and a speech job (transcribing a voicemail: up to minutes, plus the model's
load at start) runs in the worker process itself (``workers.run``). Queue order only says which job a worker
takes *next*; it cannot stop the job already running. So a worker that serves ``urgent`` or ``calls``
(escalations, staff alerts, copying recordings) never serves ``speech``: speech gets worker processes of its
own, and ``workers.run`` refuses a queue list that mixes them (``mixing_error``).
"""
from __future__ import annotations

from ivr.jobs.enqueue import SPEECH_MODEL_QUEUE, SPEECH_QUEUE, URGENT_QUEUE

# Queues whose jobs are slow (minutes of CPU each): served only by workers of their own.
# ``speech-model`` is added by ``workers.run`` to a speech worker that loaded a model (never named by hand).
SLOW_QUEUES: frozenset[str] = frozenset({SPEECH_QUEUE, SPEECH_MODEL_QUEUE})


def worker_layout(calls_queue: str = "calls") -> tuple[tuple[str, ...], ...]:
    """The workers of one installation, each a queue list (highest priority first), as ``make run`` starts them.

    One for urgent jobs alone (never busy with routine ones when a crisis arrives), one for urgent and
    calls jobs, one for speech alone. Production process managers start the same three.
    """
    return (URGENT_QUEUE,), (URGENT_QUEUE, calls_queue), (SPEECH_QUEUE,)


def default_queues(calls_queue: str = "calls") -> list[str]:
    """``workers.run`` without ``--queues``: urgent and calls (speech needs a worker of its own)."""
    return [URGENT_QUEUE, calls_queue]


def mixing_error(names: list[str]) -> str | None:
    """Why a worker may not serve ``names`` (a slow queue beside any other), None when it may."""
    slow = [n for n in names if n in SLOW_QUEUES]
    others = [n for n in names if n not in SLOW_QUEUES]
    if not slow or not others:
        return None
    return (f"refusing to serve {','.join(names)}: a worker running {' and '.join(slow)} jobs (minutes each, "
            f"in the worker process) would hold up every {' and '.join(others)} job meanwhile (escalations, "
            f"staff alerts). Run them in separate workers: --queues {','.join(others)} and "
            f"--queues {','.join(slow)}")
