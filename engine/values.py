"""JSON values as the engine sees them: the type alias, canonical text, and payload size.

Owns: the one `JSON` alias every layer uses for state input/output, and the AWS notion of a
payload's size. Must never: import from any other engine module (everything imports this).
"""

from __future__ import annotations

import json
from typing import TypeAlias

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
"""A JSON value. Objects keep insertion order (AWS preserves key order in outputs)."""

PAYLOAD_LIMIT_BYTES = 256 * 1024
"""AWS's limit on a state's input/output and an execution's input: 256 KiB of UTF-8 text."""


def dumps(value: JSON) -> str:
    """Compact JSON text as AWS renders payloads (no spaces, non-ASCII kept as is)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def payload_size(value: JSON) -> int:
    """Size in bytes of `value` rendered as AWS counts it (UTF-8 of the compact JSON text)."""
    return len(dumps(value).encode("utf-8"))


def type_name(value: JSON) -> str:
    """The JSON type name of a value, as AWS's messages name types."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
