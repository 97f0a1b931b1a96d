"""The outbound rules the service runs with: ``outbound.yaml`` loaded beside the flows, the last good version kept.

``flows check`` reports the rules' problems; a running service never stops over them: a broken
edit is logged and the rules that last loaded keep being used (as ``FlowStore`` does for flows).
Clinician names come from the database, so the discretion lint refuses them in any words.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from ivr.flowlang.store import FlowStore
from ivr.outbound.rules import OUTBOUND_FILE, OutboundRules, check_outbound
from ivr.practice.settings.model import PracticeSettings

log = logging.getLogger(__name__)


class OutboundRulesStore:
    """Parses ``outbound.yaml`` when it or the practice settings change; ``current()`` is the last good rules."""

    def __init__(self, flows: FlowStore, clinician_names: Callable[[], Sequence[str]] = tuple):
        self.flows = flows
        self.clinician_names = clinician_names
        self._lock = threading.Lock()
        self._rules: OutboundRules | None = None
        self._key: tuple | None = None
        self._numbers_key: tuple | None = None
        self._numbers: tuple[str, ...] | None = None

    def _fingerprint(self) -> tuple | None:
        try:
            st = (Path(self.flows.path) / OUTBOUND_FILE).stat()
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime_ns

    def numbers(self) -> tuple[str, ...]:
        """The pool numbers (``caller_id.numbers``), without touching the database: an inbound call asks on every
        call whether it came to one, and the work to answer must not vary from call to call."""
        flows = self.flows.current() if self.flows.loaded else None
        if flows is None:
            return self._rules.caller_id.numbers if self._rules is not None else ()
        key = (id(flows), self._fingerprint())
        with self._lock:
            if key != self._numbers_key:
                self._numbers_key = key
                rules = None
                if key[1] is not None:
                    # Without clinician names: words that name one fail the full check, never the numbers.
                    rules, _ = check_outbound(self.flows.path, cast(PracticeSettings, flows.practice),
                                              listed_numbers=self.flows.listed_numbers)
                self._numbers = tuple(rules.caller_id.numbers) if rules is not None else None
            if self._numbers is not None:
                return self._numbers
            return tuple(self._rules.caller_id.numbers) if self._rules is not None else ()

    def current(self) -> OutboundRules | None:
        """The rules to plan and send with; None when there is no outbound.yaml (nothing is sent)."""
        flows = self.flows.current() if self.flows.loaded else None
        if flows is None:
            return self._rules
        fingerprint = self._fingerprint()
        key = (id(flows), fingerprint)
        with self._lock:
            if key == self._key:
                return self._rules
            self._key = key
            if fingerprint is None:
                self._rules = None
                return None
            try:
                names = tuple(self.clinician_names())
            except Exception:  # the database is away: the lint still has the rules' own never_say list
                log.warning("outbound rules: clinician names unavailable; checking without them")
                names = ()
            rules, problems = check_outbound(self.flows.path, cast(PracticeSettings, flows.practice),
                                             clinician_names=names, listed_numbers=self.flows.listed_numbers)
            if rules is None:
                log.error("outbound.yaml does not load (%d problems); still using version %s",
                          len(problems), self._rules.version if self._rules else "-")
                return self._rules
            if self._rules is None or self._rules.version != rules.version:
                log.info("outbound rules loaded: version %s", rules.version)
            self._rules = rules
            return rules
