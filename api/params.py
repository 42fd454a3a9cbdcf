"""Reading AWS JSON request members: typed, bounded, and with AWS's error wording.

Owns: `Params`, the typed view of one request body (strings with AWS's length constraints,
integers, booleans, lists, tag lists, enums), and the opaque page tokens of the listings the API
pages itself. Must never: decide what a valid resource is (the service does): it checks only
the request model, as AWS's front end does before the service sees a request.

A member that is absent or JSON null is "not given" (as AWS's protocol treats null). A member of
the wrong JSON type is a SerializationException naming the member and both types; a constraint
(required, length, range, enum) is a ValidationException in AWS's `1 validation error detected`
wording.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import TypeVar

from api.errors import ApiError, validation_message
from engine.values import JSON, has_surrogate, printable, type_name

_T = TypeVar("_T")

# Members whose lone surrogates the service refuses itself, with the operation's own error
# (InvalidName, InvalidExecutionInput, InvalidOutput, InvalidDefinition, InvalidToken).
_SERVICE_CHECKED = frozenset({"name", "input", "output", "definition", "taskToken"})


class Params:
    """The members of one request body."""

    __slots__ = ("body",)

    def __init__(self, body: dict[str, JSON]) -> None:
        self.body = body

    def _get(self, name: str, kind: type[_T], expected: str) -> _T | None:
        value = self.body.get(name)
        if value is None:
            return None
        # bool is an int in Python; a JSON true is not a number on the wire
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ApiError(
                "SerializationException",
                f"Expected {expected} for member '{name}', got {type_name(value)}",
            )
        return value

    def number(self, name: str) -> float | None:
        """A JSON number (an integer is one too)."""
        value = self.body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ApiError(
                "SerializationException",
                f"Expected a number for member '{name}', got {type_name(value)}",
            )
        return float(value)

    def string(
        self, name: str, *, max_length: int | None = None, min_length: int = 0
    ) -> str | None:
        value = self._get(name, str, "a string")
        if value is None:
            return None
        if has_surrogate(value) and name not in _SERVICE_CHECKED:
            if name.endswith("Arn"):
                raise ApiError("InvalidArn", f"Invalid Arn: '{printable(value)}'")
            raise ApiError(
                "ValidationException",
                validation_message(
                    name, "Member must be valid Unicode (it holds a lone UTF-16 surrogate)"
                ),
            )
        if max_length is not None and len(value) > max_length:
            raise ApiError(
                "ValidationException",
                validation_message(
                    name, f"Member must have length less than or equal to {max_length}"
                ),
            )
        if len(value) < min_length:
            raise ApiError(
                "ValidationException",
                validation_message(
                    name, f"Member must have length greater than or equal to {min_length}", value
                ),
            )
        return value

    def required_string(self, name: str, *, max_length: int | None = None) -> str:
        value = self.string(name, max_length=max_length)
        if value is None:
            raise ApiError(
                "ValidationException",
                validation_message(name, "Member must not be null", null=True),
            )
        return value

    def enum(self, name: str, allowed: Sequence[str]) -> str | None:
        value = self.string(name)
        if value is not None and value not in allowed:
            raise ApiError(
                "ValidationException",
                validation_message(
                    name,
                    f"Member must satisfy enum value set: [{', '.join(allowed)}]",
                    value[:100],
                ),
            )
        return value

    def integer(self, name: str, *, minimum: int = 0, maximum: int | None = None) -> int | None:
        value = self._get(name, int, "an integer")
        if value is None:
            return None
        if value < minimum:
            raise ApiError(
                "ValidationException",
                validation_message(
                    name, f"Member must have value greater than or equal to {minimum}", str(value)
                ),
            )
        if maximum is not None and value > maximum:
            raise ApiError(
                "ValidationException",
                validation_message(
                    name, f"Member must have value less than or equal to {maximum}", str(value)
                ),
            )
        return value

    def boolean(self, name: str) -> bool | None:
        return self._get(name, bool, "a boolean")

    def obj(self, name: str) -> Params | None:
        value = self._get(name, dict, "an object")
        return Params(value) if value is not None else None

    def objects(self, name: str) -> list[Params] | None:
        values = self._get(name, list, "a list")
        if values is None:
            return None
        out = []
        for i, value in enumerate(values):
            if not isinstance(value, dict):
                raise ApiError(
                    "SerializationException",
                    f"Expected an object for member '{name}[{i}]', got {type_name(value)}",
                )
            out.append(Params(value))
        return out

    def strings(self, name: str) -> list[str] | None:
        values = self._get(name, list, "a list")
        if values is None:
            return None
        for i, value in enumerate(values):
            if not isinstance(value, str):
                raise ApiError(
                    "SerializationException",
                    f"Expected a string for member '{name}[{i}]', got {type_name(value)}",
                )
            if has_surrogate(value):
                raise ApiError(
                    "ValidationException",
                    validation_message(
                        f"{name}[{i}]",
                        "Member must be valid Unicode (it holds a lone UTF-16 surrogate)",
                    ),
                )
        return [str(v) for v in values]

    def tags(self, name: str = "tags") -> dict[str, str] | None:
        """AWS's tag list `[{"key": k, "value": v}]` as a dict."""
        entries = self.objects(name)
        if entries is None:
            return None
        tags: dict[str, str] = {}
        for entry in entries:
            key = entry.required_string("key", max_length=128)
            tags[key] = entry.string("value", max_length=256) or ""
        return tags


def encode_token(kind: str, position: int) -> str:
    """An opaque page token for a listing the API pages (machines, activities, history...)."""
    return base64.urlsafe_b64encode(json.dumps([kind, position]).encode()).decode()


def decode_token(token: str, kind: str) -> int:
    """The position inside one of our page tokens; InvalidToken (as AWS) otherwise."""
    try:
        found_kind, position = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, RecursionError, binascii.Error):
        found_kind, position = None, None
    if (
        found_kind != kind
        or not isinstance(position, int)
        or isinstance(position, bool)
        or not 0 <= position < 2**53  # a store's integer column, and what we ever issue
    ):
        raise ApiError("InvalidToken", f"Invalid Token: '{printable(token)}'")
    return position
