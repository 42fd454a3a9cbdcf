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
# The surrogates are checked apart (`_has_surrogate`): a character class reaching past U+00FF
# makes `re` build a 64 K-entry map at import (4.7 M instructions, ~1 % of `asl run`).
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_SURROGATES = r"[\ud800-\udfff]"  # compiled (and cached by `re`) when a name is refused


def _has_surrogate(name: str) -> bool:
    """Whether `name` holds a UTF-16 surrogate: exactly what UTF-8 cannot encode."""
    if name.isascii():
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_name(name: str, what: str = "name") -> None:
    """Raise `InvalidRequest("InvalidName", ...)` unless `name` is a valid AWS name."""
    if not 1 <= len(name) <= MAX_NAME_LENGTH or _BAD_NAME.search(name) or _has_surrogate(name):
        article = "an" if what[:1] in ("a", "e", "i", "o", "u") else "a"
        shown = re.sub(_SURROGATES, "\ufffd", name[: MAX_NAME_LENGTH + 20])
        rule = (
            f"has 1 to {MAX_NAME_LENGTH} characters, without whitespace, brackets, wildcards, "
            "special or control characters"
        )
        if _has_surrogate(name):
            rule = "must be valid Unicode (it holds a lone UTF-16 surrogate)"
        raise InvalidRequest("InvalidName", f"Invalid Name: '{shown}': {article} {what} {rule}")
