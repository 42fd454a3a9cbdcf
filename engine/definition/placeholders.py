"""Unsubstituted `${Name}` template placeholders (SAM/CloudFormation DefinitionSubstitutions).

Owns: recognising a placeholder left in a definition's text, and the list of typed fields (the
numbers, timestamps and booleans the engine reads to wait, retry, time out, bound a Map or
decide a Choice) where a placeholder cannot be honoured. `unresolved_fields` gives them for one
state: the validator warns about them, the compiler hands them to the interpreter, which fails
the state with States.Runtime when it is entered, so no such field is ever silently ignored.
Must never: substitute a placeholder, judge any other property of a field, or raise on any
JSON input.

A placeholder in any other field (Resource, Parameters, Arguments, Result, Error...) is text
the engine can carry: it is passed on as written, and only the validator warns about it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping

from engine.definition.diagnostics import join_pointer
from engine.values import JSON

__all__ = [
    "TYPED_FIELDS",
    "iter_unresolved",
    "mentions_placeholder",
    "placeholder_in",
    "unresolved_fields",
]

_PLACEHOLDER = re.compile(r"\$\{[^${}\s]+\}")

TYPED_FIELDS = frozenset(
    {"Seconds", "Timestamp", "TimeoutSeconds", "HeartbeatSeconds", "MaxConcurrency"}
    | {"ToleratedFailurePercentage", "ToleratedFailureCount"}
)
"""The typed fields of a state itself (any Type; only the fields present count)."""
_RETRIER_FIELDS = ("IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds")
_NESTED_FIELDS = (
    (("ItemReader", "ReaderConfig"), ("MaxItems",)),
    (("ItemBatcher",), ("MaxItemsPerBatch", "MaxInputBytesPerBatch")),
)
_CHOICE_TYPED_PREFIXES = ("Numeric", "Timestamp", "Boolean", "Is")
_COMBINATORS = ("And", "Or", "Not")


def placeholder_in(value: JSON) -> str | None:
    """The first complete `${Name}` placeholder in a string value, else None."""
    if not isinstance(value, str) or "${" not in value:
        return None
    match = _PLACEHOLDER.search(value)
    return match.group(0) if match is not None else None


def mentions_placeholder(value: JSON) -> bool:
    """Whether any string in `value` contains `${`: the validator's fast path, since almost no
    definition has a placeholder (a stack, not recursion: this runs on every validation)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            if "${" in item:
                return True
        elif type(item) is dict:
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return False


def unresolved_fields(state: Mapping[str, JSON], loc: str) -> tuple[tuple[str, str], ...]:
    """(JSON pointer, placeholder) of each typed field of the state at `loc` that holds one.

    Nested graphs (Parallel branches, Map processors) are not looked into: their states have
    their own locations.
    """
    found: list[tuple[str, str]] = []

    def visit(container: JSON, at: str, names: Collection[str]) -> None:
        if not isinstance(container, dict):
            return
        for name, value in container.items():  # in the author's order
            placeholder = placeholder_in(value) if name in names else None
            if placeholder is not None:
                found.append((join_pointer(at, name), placeholder))

    visit(dict(state), loc, TYPED_FIELDS)
    retry = state.get("Retry")
    for index, retrier in enumerate(retry if isinstance(retry, list) else ()):
        visit(retrier, join_pointer(loc, "Retry", index), _RETRIER_FIELDS)
    for path, names in _NESTED_FIELDS:
        node: JSON = dict(state)
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        visit(node, join_pointer(loc, *path), names)
    choices = state.get("Choices")
    for index, rule in enumerate(choices if isinstance(choices, list) else ()):
        _choice_operands(rule, join_pointer(loc, "Choices", index), found)
    return tuple(found)


def _choice_operands(rule: JSON, loc: str, found: list[tuple[str, str]]) -> None:
    if not isinstance(rule, dict):
        return
    for name, operand in rule.items():
        if name in _COMBINATORS:
            nested = operand if isinstance(operand, list) else [operand]
            for index, item in enumerate(nested):
                at = join_pointer(loc, name) if name == "Not" else join_pointer(loc, name, index)
                _choice_operands(item, at, found)
        elif name.startswith(_CHOICE_TYPED_PREFIXES) and not name.endswith("Path"):
            placeholder = placeholder_in(operand)
            if placeholder is not None:
                found.append((join_pointer(loc, name), placeholder))


def iter_unresolved(definition: JSON) -> Iterator[tuple[str, str]]:
    """`unresolved_fields` of every state in the machine, and its own `TimeoutSeconds`."""
    if not isinstance(definition, dict):
        return
    placeholder = placeholder_in(definition.get("TimeoutSeconds"))
    if placeholder is not None:
        yield "/TimeoutSeconds", placeholder
    yield from _graph(definition, "")


def _graph(graph: JSON, loc: str) -> Iterator[tuple[str, str]]:
    states = graph.get("States") if isinstance(graph, dict) else None
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        at = join_pointer(loc, "States", name)
        yield from unresolved_fields(state, at)
        branches = state.get("Branches")
        for index, branch in enumerate(branches if isinstance(branches, list) else ()):
            yield from _graph(branch, join_pointer(at, "Branches", index))
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _graph(state[key], join_pointer(at, key))
