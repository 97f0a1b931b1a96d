"""Jobs the process-kill tests enqueue (workers import them by path: their working directory is the checkout)."""
from __future__ import annotations

import time
from pathlib import Path


def mark_when_gate_opens(marks: str, gate: str) -> str:
    """Append ``started`` to ``marks``, wait (at most 120 s) for the file ``gate``, append ``done``: a job whose
    completion can be counted, and killed while it runs."""
    with open(marks, "a") as out:
        out.write("started\n")
    deadline = time.monotonic() + 120
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    with open(marks, "a") as out:
        out.write("done\n")
    return "done"
