"""Every error Quietline raises on purpose, under one base (``IvrError``), named for what went wrong.

A few live beside the code that must also give them a library's base: ``ivr.telephony.redis_guard.RedisUnavailable``
(a redis ConnectionError, so every Redis outage handler catches it) and the development tools' own
(``ivr.dev``).  Both still derive from ``IvrError``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class IvrError(Exception):
    """Base of every error raised on purpose by Quietline."""


class ConfigError(IvrError):
    """The service cannot start with the settings it was given."""


class NotWired(IvrError):
    """Code ran without a service it needs (a wiring mistake in ``ivr.services`` or a caller, not bad input)."""


@dataclass(frozen=True)
class FlowProblem:
    """One thing wrong with a flow file, located as precisely as we can."""

    file: str
    line: int | None
    message: str
    flow: str | None = None
    step: str | None = None
    severity: str = "error"  # "error" | "warning"
    # False: the problem leaves the flow's steps and paths whole (a bad label), so the checks across flows
    # (dead promised keys, verification) still judge it and every problem is reported in one run.
    structural: bool = True

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = []
        if self.flow:
            what.append(f"flow '{self.flow}'")
        if self.step:
            what.append(f"step '{self.step}'")
        label = f" ({', '.join(what)})" if what else ""
        tag = "" if self.severity == "error" else f" [{self.severity}]"
        return f"{where}{label}{tag}: {self.message}"


class FlowError(IvrError):
    """Flow files (or the practice settings) failed to load; carries every problem found."""

    def __init__(self, problems: list[FlowProblem]):
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity != "error"]
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid flows")


class UnsafeYamlError(IvrError):
    """A YAML document was refused before it could be used (size, aliases, tags, syntax)."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(message)


class UnknownAction(IvrError):
    """A flow named a built-in action that is not in the registry."""


class RecordingUnavailable(IvrError):
    """Twilio would not give us a caller's recording, for good (the call is escalated to be called back)."""


class TextRefused(IvrError):
    """A text to a client could not be sent, for good (Twilio refused it, or every retry failed)."""


class CallRecordUnreadable(IvrError):
    """A value of a call's Redis record does not decrypt with the configured data keys (``ivr.encryption``)."""


class RecordingUnreadable(IvrError):
    """A voicemail or transcript file does not decrypt with IVR_RECORDINGS_KEY (``ivr.encryption.FileCipher``)."""


class RecordingInvalid(IvrError):
    """A copied recording failed its check (truncated, not a WAV we can decode): Twilio's copy is kept."""


# --------------------------------------------------------------------------- practice data

class ImportRejected(IvrError):
    """The import found problems and wrote nothing; ``problems`` are ``ivr.practice.csv.parsing.RowProblem``."""

    def __init__(self, problems: Sequence[Any]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s); nothing was imported")


# --------------------------------------------------------------------------- staff and escalations

class WeakPassword(IvrError, ValueError):
    """A password the rules refuse; the message says why, for the form."""


class LoginFailed(IvrError):
    """Wrong email or password, inactive or locked account: one message for all (no account probing)."""


class WorklistError(IvrError):
    """An action the staff queue refuses; ``str(exc)`` is a sentence for the person who tried."""


class EscalationNotFound(WorklistError):
    """No such escalation (or nothing of the kind asked for on it)."""


class VoicemailUnplayable(EscalationNotFound):
    """The escalation's message exists but cannot be played here (a copy that did not check out, or one this
    server's recordings key cannot open): its text says why, for staff."""


class EscalationConflict(WorklistError):
    """Someone else got there first (claimed, resolved)."""


class EscalationForbidden(WorklistError):
    """Only whoever claimed it may do that."""


class EscalationInvalid(WorklistError):
    """The request itself is wrong (an empty outcome, an unknown subject)."""


# Longest error text kept with a notification (its row's column).
SEND_ERROR_MAX = 200


class SendError(IvrError):
    """A notification was not (or may not have been) sent.  The message holds no address or body."""

    def __init__(self, message: str, *, permanent: bool = False, unknown: bool = False):
        super().__init__(message[:SEND_ERROR_MAX])
        self.permanent = permanent
        self.unknown = unknown

    @property
    def retryable(self) -> bool:
        return not (self.permanent or self.unknown)


class SendFailed(IvrError):
    """Raised so RQ retries a send with backoff; says only what failed, never to whom or what."""


class MailError(IvrError):
    """Sending failed; ``permanent``: do not retry; ``unknown``: the server may have taken it."""

    def __init__(self, message: str, *, permanent: bool = False, unknown: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.unknown = unknown


# --------------------------------------------------------------------------- core, outbound, speech

class UnsupportedLanguage(IvrError):
    """No crisis phrase list exists for the language asked for."""


class PhraseListError(IvrError):
    """The crisis phrase list is malformed (a bad pattern, a missing section)."""


class UnknownWords(IvrError, LookupError):
    """A touch names words the rules do not have (the rules changed since it was planned)."""


class ModelDownloadError(IvrError):
    """The model could not be downloaded or installed; nothing was installed."""


class ModelNotFound(IvrError):
    """No usable vosk model at the resolved path."""


class AudioFormatError(IvrError):
    """The audio could not be read as a WAV file we know how to decode."""


class ChangeNotFound(IvrError):
    """No such change-journal entry (or it has no open conflict to settle)."""


class ConflictChoiceFailed(IvrError):
    """A staff choice on an import conflict could not be applied (unknown choice, or the time is taken)."""


class OutboundRefused(IvrError):
    """An outbound call or text would leave from a number outside ``caller_id.numbers`` (or with no pool)."""
