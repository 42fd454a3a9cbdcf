"""Comparing an expected JSON value with an actual one: every difference, at its JSON path.

Owns: the two comparisons a test file asks for, `exact` (`output`, `input`) and `subset`
(`outputContains`, `inputContains`), and how a difference reads (`$.items[1].sku: expected
"A", got "B"`). A subset matches when every key the expected object names is present in the
actual one with a matching value (recursively); extra keys are fine. Arrays in a subset are
compared item by item and must have the same length (each item itself compared as a subset),
so `[{"id": 1}]` matches `[{"id": 1, "qty": 2}]` but not `[{"id": 1}, {"id": 2}]`. Numbers
compare by value (1 equals 1.0), never booleans with numbers (true is not 1). Must never:
raise on any JSON input, or stop at the first difference (a report shows them all).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from engine.values import JSON

__all__ = ["MISSING", "Difference", "differences", "is_subsequence", "json_path"]


class _Missing:
    """The value of a key or item that is not there (distinct from JSON null)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(parts: Sequence[str | int]) -> str:
    """`["items", 1, "sku"]` -> `$.items[1].sku`; keys that are not identifiers are quoted."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


def show(value: JSON | _Missing, limit: int = 120) -> str:
    """A value as compact JSON text for a message, shortened past `limit` characters."""
    if isinstance(value, _Missing):
        return "(missing)"
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


_EXCERPT = 60


def string_difference(expected: str, actual: str) -> str:
    """Two strings that differ, as a message; long ones as excerpts around the first
    character that differs, so that a long common beginning does not hide the difference."""
    if max(len(expected), len(actual)) <= _EXCERPT:
        return f"expected {show(expected)}, got {show(actual)}"
    at = next(
        (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
        min(len(expected), len(actual)),
    )
    start = max(0, at - 20)

    def excerpt(text: str) -> str:
        part = json.dumps(text[start : start + _EXCERPT], ensure_ascii=False)
        return ("..." if start else "") + part + ("..." if start + _EXCERPT < len(text) else "")

    return (
        f"the strings differ from character {at}: expected {excerpt(expected)}, "
        f"got {excerpt(actual)}"
    )


@dataclass(frozen=True, slots=True)
class Difference:
    """One place where the actual value is not what was expected."""

    path: str
    expected: JSON | _Missing
    actual: JSON | _Missing
    note: str = ""

    def message(self) -> str:
        if self.note:
            return f"{self.path}: {self.note}"
        if isinstance(self.actual, _Missing):
            return f"{self.path}: expected {show(self.expected)}, but it is missing"
        if isinstance(self.expected, _Missing):
            return f"{self.path}: not expected, got {show(self.actual)}"
        if isinstance(self.expected, str) and isinstance(self.actual, str):
            return f"{self.path}: {string_difference(self.expected, self.actual)}"
        return f"{self.path}: expected {show(self.expected)}, got {show(self.actual)}"

    def as_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {"path": self.path, "message": self.message()}
        if not isinstance(self.expected, _Missing):
            out["expected"] = self.expected
        if not isinstance(self.actual, _Missing):
            out["actual"] = self.actual
        return out


def _same_scalar(expected: JSON, actual: JSON) -> bool:
    """Equal scalars (an object or array against anything else is never equal here)."""
    if isinstance(expected, dict | list) or isinstance(actual, dict | list):
        return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def differences(expected: JSON, actual: JSON, *, subset: bool = False) -> list[Difference]:
    """Every difference between `expected` and `actual` ([] when they match)."""
    return list(_walk(expected, actual, [], subset))


def _walk(expected: JSON, actual: JSON, at: list[str | int], subset: bool) -> Iterator[Difference]:
    # An explicit stack rather than recursion (a value nests up to 512 levels, values.py); it
    # holds comparisons still to make and differences found, in document order.
    stack: list[tuple[JSON, JSON, list[str | int]] | Difference] = [(expected, actual, at)]
    while stack:
        item = stack.pop()
        if isinstance(item, Difference):
            yield item
            continue
        want, got, where = item
        todo: list[tuple[JSON, JSON, list[str | int]] | Difference] = []
        if isinstance(want, dict) and isinstance(got, dict):
            for key, value in want.items():
                if key in got:
                    todo.append((value, got[key], [*where, key]))
                else:
                    todo.append(Difference(json_path([*where, key]), value, MISSING))
            if not subset:
                todo += [
                    Difference(json_path([*where, key]), MISSING, value)
                    for key, value in got.items()
                    if key not in want
                ]
        elif isinstance(want, list) and isinstance(got, list):
            if len(want) != len(got):
                todo.append(
                    Difference(
                        json_path(where),
                        want,
                        got,
                        f"expected an array of {len(want)} items, got {len(got)}: "
                        f"expected {show(want)}, got {show(got)}",
                    )
                )
            else:
                todo += [
                    (w, g, [*where, i]) for i, (w, g) in enumerate(zip(want, got, strict=True))
                ]
        elif not _same_scalar(want, got):
            todo.append(Difference(json_path(where), want, got))
        stack.extend(reversed(todo))


def is_subsequence(expected: Sequence[str], actual: Sequence[str]) -> bool:
    """Whether `expected` appears in `actual` in order, other items allowed in between."""
    remaining = iter(actual)
    return all(any(item == seen for seen in remaining) for item in expected)
