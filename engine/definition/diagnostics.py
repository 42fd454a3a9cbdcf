"""Diagnostics: located, coded findings about a state machine definition.

Owns: the `Diagnostic` value, severities, the catalogue of stable codes, and JSON-pointer
helpers. Must never: decide what is wrong with a definition (that is validate.py's job).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: a stable code, a severity, an actionable message, a JSON-pointer location."""

    code: str
    message: str
    location: str
    severity: Severity = Severity.ERROR

    def as_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "location": self.location,
        }


def escape_pointer_token(token: str | int) -> str:
    """Escape one reference token of a JSON pointer (RFC 6901: `~` -> `~0`, `/` -> `~1`)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """Build a JSON pointer from tokens: pointer("States", "A/B", "Next") == "/States/A~1B/Next"."""
    return "".join("/" + escape_pointer_token(t) for t in tokens)


def join_pointer(base: str, *tokens: str | int) -> str:
    """Extend an existing JSON pointer with more tokens."""
    return base + pointer(*tokens)
