"""AWS's rule for the names of state machines, executions, activities and aliases.

Owns: the one check every entry point applies to a name (the embedded `Engine`, the service,
the command line), so `asl run --name`, `Engine.start` and StartExecution accept and refuse the
same names with the same `InvalidName` error. Must never: import beyond `engine.errors`.
"""

from __future__ import annotations

import re

from engine.errors import InvalidRequest

MAX_NAME_LENGTH = 80

# AWS: names are 1-80 characters; no whitespace, brackets, wildcards, special or control
# characters (API reference, CreateStateMachine/StartExecution "name"); nor a lone UTF-16
# surrogate, which is not Unicode (no store, log or client could encode it).
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_name(name: str, what: str = "name") -> None:
    """Raise `InvalidRequest("InvalidName", ...)` unless `name` is a valid AWS name."""
    if not 1 <= len(name) <= MAX_NAME_LENGTH or _BAD_NAME.search(name):
        article = "an" if what[:1] in ("a", "e", "i", "o", "u") else "a"
        shown = _SURROGATE.sub("\ufffd", name[: MAX_NAME_LENGTH + 20])
        rule = (
            f"has 1 to {MAX_NAME_LENGTH} characters, without whitespace, brackets, wildcards, "
            "special or control characters"
        )
        if _SURROGATE.search(name):
            rule = "must be valid Unicode (it holds a lone UTF-16 surrogate)"
        raise InvalidRequest("InvalidName", f"Invalid Name: '{shown}': {article} {what} {rule}")
