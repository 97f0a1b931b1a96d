"""The flows a running service serves, reloaded when the files change.

Files are parsed once per change, never per request: a request only compares a
cheap fingerprint (names, sizes, mtimes), and not more often than every few
seconds.  A broken edit is logged with every problem and the last good flows
keep serving until the files are fixed.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from ivr.core.flow import FlowSet
from ivr.exceptions import FlowError, FlowProblem
from ivr.flowlang.graph import reachable_unverified
from ivr.flowlang.loading import load_texts
from ivr.flowlang.parsing import PRACTICE_FILE
from ivr.outbound.lint import CONVERSATION_FLOWS, conversation_problems
from ivr.outbound.rules import check_outbound
from ivr.practice.settings.checks import parse_practice
from ivr.practice.settings.model import PracticeSettings

log = logging.getLogger(__name__)


OUTBOUND_FILE = "outbound.yaml"  # ivr.outbound.rules.OUTBOUND_FILE: follow-up and reminder rules, not a flow


def read_dir(path: str | Path) -> tuple[dict[str, bytes], bytes | None]:
    """Flow files (``*.yaml`` / ``*.yml`` except practice.yaml and outbound.yaml) and the practice settings text."""
    root = Path(path)
    texts: dict[str, bytes] = {}
    practice = None
    for file in sorted(list(root.glob("*.yaml")) + list(root.glob("*.yml"))):
        if file.name == PRACTICE_FILE:
            practice = file.read_bytes()
        elif file.name != OUTBOUND_FILE:
            texts[file.name] = file.read_bytes()
    return texts, practice


def check_dir(path: str | Path, actions: Mapping[str, Any], clinician_names: Sequence[str] = (),
              listed_numbers: Sequence[str] = ()) -> tuple[FlowSet | None, list[FlowProblem]]:
    """Load and check every flow in a directory; returns the set (None when broken) and all problems.

    The outbound rules (outbound.yaml) are checked too when the practice settings load; their
    problems are reported (so ``flows check`` fails) but do not stop the flows being served.
    ``clinician_names`` (from the practice database, when the caller has one) are refused in outbound words;
    ``listed_numbers`` (the practice's listed line, ``TWILIO_NUMBER``) in the outbound ``caller_id.numbers``.
    """
    texts, practice = read_dir(path)
    if not texts:
        return None, [FlowProblem(str(path), None, "no flow files (*.yaml) found")]
    flows, problems = load_texts(texts, practice, actions)
    if (Path(path) / OUTBOUND_FILE).exists():
        problems = sorted(problems + _outbound_problems(path, flows, practice, actions, clinician_names,
                                                             listed_numbers),
                          key=lambda p: (p.file, p.line or 0))
    return flows, problems


def _outbound_problems(path: str | Path, flows: FlowSet | None, practice_text: bytes | None,
                       actions: Mapping[str, Any], clinician_names: Sequence[str] = (),
                       listed_numbers: Sequence[str] = ()) -> list[FlowProblem]:
    # The loader built the flow set's practice from practice.yaml: it is a PracticeSettings.
    settings = cast(PracticeSettings, flows.practice) if flows is not None else None
    if settings is None and practice_text is not None:
        try:
            settings = parse_practice(practice_text.decode("utf-8", "replace"), PRACTICE_FILE)
        except FlowError:
            return []  # practice.yaml's own problems are already reported; the rules are checked once it loads
    if settings is None:
        return []
    rules, problems = check_outbound(path, settings, clinician_names=clinician_names, listed_numbers=listed_numbers)
    if rules is not None and flows is not None:
        # What the outbound conversation says before verification is outbound words too (ivr.outbound.lint):
        # every step reachable unverified from the conversation flows, across hand-overs (a pool number called
        # back by whoever saw the missed call).
        reachable = reachable_unverified(flows.flows, CONVERSATION_FLOWS, actions)
        problems = problems + conversation_problems(flows.flows, rules.discretion, reachable)
    return problems


def _fingerprint(path: Path) -> tuple:
    entries = []
    for file in sorted(list(path.glob("*.yaml")) + list(path.glob("*.yml"))):
        try:
            st = file.stat()
        except FileNotFoundError:
            continue
        entries.append((file.name, st.st_size, st.st_mtime_ns))
    return tuple(entries)


class FlowStore:
    """Holds the current good FlowSet and swaps in a new one only when it loads cleanly."""

    def __init__(self, path: str | Path, actions: Mapping[str, Any], reload_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, listed_numbers: Sequence[str] = ()):
        self.path = Path(path)
        self.listed_numbers = tuple(listed_numbers)  # the practice's listed line: never an outbound number
        self.actions = dict(actions)
        self.reload_seconds = reload_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._current: FlowSet | None = None
        self.problems: list[FlowProblem] = []
        self._fingerprint: tuple = ()
        self._checked_at = 0.0

    def load(self) -> FlowSet:
        """First load: raise FlowError with every problem if the flows are broken."""
        fingerprint = _fingerprint(self.path)
        flows, problems = check_dir(self.path, self.actions, listed_numbers=self.listed_numbers)
        self.problems = problems
        self._fingerprint, self._checked_at = fingerprint, self._clock()
        if flows is None:
            raise FlowError(problems)
        self._current = flows
        return flows

    @property
    def loaded(self) -> bool:
        return self._current is not None

    @property
    def last_good(self) -> FlowSet | None:
        """What is being served, without looking at the files (for paths that must not fail)."""
        return self._current

    def current(self) -> FlowSet:
        """The flows to serve now (reloading first if the files changed)."""
        if self._current is None:
            return self.load()
        if self.reload_seconds > 0 and self._clock() - self._checked_at >= self.reload_seconds:
            self.maybe_reload()
        return self._current

    def maybe_reload(self) -> bool:
        """Reload if the files changed; True when a new flow set went live."""
        with self._lock:
            self._checked_at = self._clock()
            fingerprint = _fingerprint(self.path)
            if fingerprint == self._fingerprint:
                return False
            self._fingerprint = fingerprint
            flows, problems = check_dir(self.path, self.actions, listed_numbers=self.listed_numbers)
            self.problems = problems
            if flows is None:
                log.error("flows changed but do not load; still serving version %s:\n%s",
                          self._current.version if self._current else "-",
                          "\n".join(str(p) for p in problems if p.severity == "error"))
                return False
            log.info("flows reloaded: version %s", flows.version)
            self._current = flows
            return True
