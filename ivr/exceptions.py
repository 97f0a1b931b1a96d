"""Every error Quietline raises on purpose.  Bare classes, named for what went wrong."""
from __future__ import annotations

from dataclasses import dataclass


class IvrError(Exception):
    """Base of every error raised on purpose by Quietline."""


class ConfigError(IvrError):
    """The service cannot start with the settings it was given."""


@dataclass(frozen=True)
class FlowProblem:
    """One thing wrong with a flow file, located as precisely as we can."""

    file: str
    line: int | None
    message: str
    flow: str | None = None
    step: str | None = None
    severity: str = "error"  # "error" | "warning"

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


class SessionConflict(IvrError):
    """Another request already advanced this call (a Twilio retry raced us)."""


class UnknownAction(IvrError):
    """A flow named a built-in action that is not in the registry."""


class SignatureInvalid(IvrError):
    """A webhook request was not signed by Twilio with our auth token."""


class RecordingUnavailable(IvrError):
    """Twilio would not give us a caller's recording, for good (the call is escalated to be called back)."""


class TextRefused(IvrError):
    """A text to a client could not be sent, for good (Twilio refused it, or every retry failed)."""


class CallRecordUnreadable(IvrError):
    """A value of a call's Redis record does not decrypt with the configured data keys (``ivr.encryption``)."""
