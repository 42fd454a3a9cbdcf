"""JSONPath paths as ASL uses them: compiled once, evaluated on the hot path.

Owns: compiling path text (`$.a.b`, `$$.Execution.Id`, `$var.field`, full JSONPath with
wildcards, slices, filters and recursive descent) into a `Path`, evaluating it against state data,
the context object or a workflow variable, and writing a value at a reference path
(`set_reference_path`, ResultPath semantics). Must never: know which ASL field a path came from or
build AWS error causes (callers map `PathNoMatch` to AWS's error names and wording), mutate the
data it reads, or parse text while an execution runs.

Semantics (AWS's, which evaluates paths with Jayway JsonPath):
- A *definite* path (only child steps: `.name`, `['name']`, `[index]`) yields one value, or
  raises `PathNoMatch` whose `reason` is Jayway's wording ("No results for path: $['a']['b']",
  "Missing property in path $['a']"), which AWS quotes in its causes.
- An *indefinite* path (wildcard, slice, union, filter, `..`) yields the list of every match,
  `[]` when nothing matches; AWS records `[]` for `$.items[*]` on `{}` (conformance cases
  `localstack/base/test_base/test_json_path_array_wildcard_or_slice_with_no_input*`).
- Definite paths are precompiled to a tuple of keys/indices and walked directly; jsonpath-ng is
  used only to parse the indefinite ones.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from engine.definition.scope import Scope
from engine.errors import ExpressionSyntaxError
from engine.values import JSON

__all__ = [
    "Path",
    "PathNoMatch",
    "Root",
    "compile_path",
    "compile_reference_path",
    "render_steps",
    "set_reference_path",
]

Root = Literal["data", "context", "variable"]
Step = str | int
"""A definite step: an object key (str) or an array index (int, negative counts from the end)."""


class PathNoMatch(Exception):
    """The path selected nothing (or cannot be written). Internal: callers map it to AWS errors.

    `reason` is the Jayway-style explanation AWS puts after `Invalid path '<path>' : `.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# The compiled path
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Path:
    """A compiled path. Build it with `compile_path` / `compile_reference_path`.

    `steps` is the walk of a definite path (None for an indefinite one); `query` is the parsed
    jsonpath-ng expression of an indefinite path (None for a definite one).
    """

    text: str
    root: Root
    variable: str | None
    definite: bool
    steps: tuple[Step, ...] | None = field(default=None, repr=False)
    query: object = field(default=None, repr=False, compare=False)
    _all_keys: bool = field(default=False, repr=False, compare=False)

    def find(self, data: JSON, scope: Scope) -> JSON:
        """The value the path selects in `data` (root `$`), `scope.context` (`$$`) or a variable.

        Raises `PathNoMatch` when a definite path selects nothing or the variable is not in
        scope; an indefinite path returns the list of matches (possibly empty).
        """
        root = self.root
        if root == "data":
            current = data
        elif root == "context":
            current = scope.context
        else:
            try:
                current = scope.variables[self.variable]  # type: ignore[index]
            except KeyError:
                raise PathNoMatch(
                    self.text, f"The variable '${self.variable}' is not defined"
                ) from None
        steps = self.steps
        if steps is None:
            query = self.query
            if isinstance(query, _Unsupported):
                raise PathNoMatch(
                    self.text, f"Function '{query.function}()' is not supported in paths"
                )
            return _find_all(query, current)
        if self._all_keys:
            # Hot path: only object keys. A str subscript on anything but a dict raises
            # TypeError (list, str, number, None), so no isinstance checks are needed.
            try:
                for key in steps:
                    current = current[key]  # type: ignore[index]
            except (KeyError, TypeError):
                raise PathNoMatch(self.text, _explain(self, data, scope)) from None
            return current
        for step in steps:
            if isinstance(step, str):
                if not isinstance(current, dict) or step not in current:
                    raise PathNoMatch(self.text, _explain(self, data, scope))
                current = current[step]
            else:
                if not isinstance(current, list) or not -len(current) <= step < len(current):
                    raise PathNoMatch(self.text, _explain(self, data, scope))
                current = current[step]
        return current


def render_steps(steps: Sequence[Step], root: str = "$") -> str:
    """Jayway's normalised rendering of a definite path: `$['a']['b'][0]` (used in causes)."""
    parts = [root]
    for step in steps:
        parts.append(f"['{step}']" if isinstance(step, str) else f"[{step}]")
    return "".join(parts)


def _root_text(path: Path) -> str:
    if path.root == "context":
        return "$$"
    if path.root == "variable":
        return f"${path.variable}"
    return "$"


def _explain(path: Path, data: JSON, scope: Scope) -> str:
    """Jayway's reason for a definite path that selected nothing (slow path, failures only)."""
    assert path.steps is not None
    if path.root == "data":
        current = data
    elif path.root == "context":
        current = scope.context
    else:
        current = scope.variables.get(path.variable or "")
    root = _root_text(path)
    steps = path.steps
    last = len(steps) - 1
    for i, step in enumerate(steps):
        if isinstance(step, str):
            if isinstance(current, dict) and step in current:
                current = current[step]
                continue
            if isinstance(current, dict) and i != last:
                # Jayway: a missing property before the leaf of a definite path.
                return f"Missing property in path {render_steps(steps[: i + 1], root)}"
            break
        if isinstance(current, list) and -len(current) <= step < len(current):
            current = current[step]
            continue
        break
    return f"No results for path: {render_steps(steps, root)}"


# ---------------------------------------------------------------------------------------------
# Compiling
# ---------------------------------------------------------------------------------------------

_VARIABLE_RE = re.compile(r"\$([A-Za-z0-9_]+)")
# A dot-notation key: anything up to the next step or an operator character.
_DOT_KEY_RE = re.compile(r"\.([^.\[\]()*?,'\"\s@=<>!&|]+)")
_INDEX_RE = re.compile(r"\[\s*(-?\d+)\s*\]")
_QUOTED_RE = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")
# In a quoted key a backslash only keeps the closing quote from ending the key: `\'` in '...'
# and `\"` in "..." are the quote, every other backslash is part of the key (AWS matched
# $['Test\""Name"'] against the key `Test\""Name"`: test_escape_sequence_parsing[JSONPATH]).
_FUNCTION_RE = re.compile(r"\.([A-Za-z]+)\(\)$")


@dataclass(frozen=True, slots=True)
class _Unsupported:
    """The query of a path ending in a Jayway function call, which AWS never evaluates."""

    function: str


def _split_root(text: str) -> tuple[Root, str | None, str]:
    """(root, variable name, rest of the text after the root)."""
    if text.startswith("$$"):
        return "context", None, text[2:]
    match = _VARIABLE_RE.match(text)
    if match:
        return "variable", match.group(1), text[match.end() :]
    return "data", None, text[1:]


def _parse_steps(rest: str) -> tuple[Step, ...] | None:
    """The steps of a definite path, or None when `rest` is not made of simple steps only."""
    steps: list[Step] = []
    pos = 0
    end = len(rest)
    while pos < end:
        char = rest[pos]
        if char == ".":
            match = _DOT_KEY_RE.match(rest, pos)
            if match is None:
                return None
            steps.append(match.group(1))
        elif char == "[":
            match = _INDEX_RE.match(rest, pos)
            if match is not None:
                steps.append(int(match.group(1)))
            else:
                match = _QUOTED_RE.match(rest, pos)
                if match is None:
                    return None
                if match.group(1) is not None:
                    steps.append(match.group(1).replace("\\'", "'"))
                else:
                    steps.append(match.group(2).replace('\\"', '"'))
        else:
            return None
        pos = match.end()
    return tuple(steps)


def _check_text(text: object, what: str) -> str:
    if not isinstance(text, str):
        raise ExpressionSyntaxError(f"{what} must be a string starting with '$', got {text!r}")
    if not text.startswith("$"):
        raise ExpressionSyntaxError(
            f"{what} {text!r} must start with '$' (data), '$$' (context object) or "
            "'$name' (a variable)",
            0,
        )
    return text


def _make(text: str, root: Root, variable: str | None, steps: tuple[Step, ...]) -> Path:
    return Path(
        text=text,
        root=root,
        variable=variable,
        definite=True,
        steps=steps,
        _all_keys=all(isinstance(step, str) for step in steps),
    )


_JAYWAY_DOT_BRACKET = re.compile(r"\.\[(?=[?*\d'\"(:-])")


def compile_path(text: str) -> Path:
    """Compile an ASL path (definite or not). Raises `ExpressionSyntaxError` when malformed."""
    text = _check_text(text, "The path")
    root, variable, rest = _split_root(text)
    steps = _parse_steps(rest)
    if steps is not None:
        return _make(text, root, variable, steps)
    function = _FUNCTION_RE.search(rest)
    if function is not None:
        # AWS accepts Jayway functions (`$.list.length()`) in a definition but never evaluates
        # them: every execution fails as if the path matched nothing (re:Post, "AWS
        # StepFunctions: sum() function returns error about not finding path").
        prefix = rest[: function.start()]
        if _parse_steps(prefix) is None:
            _parse_jsonpath(text, "$" + prefix)
        return Path(
            text=text,
            root=root,
            variable=variable,
            definite=False,
            query=_Unsupported(function.group(1)),
        )
    # Jayway (AWS's JSONPath library) reads `.[` as `[` (`$.[?(@.x > 0)]`); jsonpath-ng does not.
    query = _parse_jsonpath(text, "$" + _JAYWAY_DOT_BRACKET.sub("[", rest))
    # A path jsonpath-ng parses into child steps only (e.g. with spaces) is still definite.
    steps = _definite_steps(query)
    if steps is not None:
        return _make(text, root, variable, steps)
    return Path(text=text, root=root, variable=variable, definite=False, query=query)


def compile_reference_path(text: str) -> Path:
    """Compile an ASL Reference Path: child steps only (`$.a.b`, `$['a b']`, `$.a[0]`).

    Wildcards, filters, slices, unions and `..` are `ExpressionSyntaxError`s.
    """
    path = compile_path(text)
    if not path.definite:
        raise ExpressionSyntaxError(
            f"The reference path {text!r} must select a single node: use only '.name', "
            "\"['name']\" and '[index]' steps (no '*', '..', slices, unions, filters or functions)",
        )
    return path


# ---------------------------------------------------------------------------------------------
# Indefinite paths (jsonpath-ng parses; evaluation follows Jayway, see _find_all)
# ---------------------------------------------------------------------------------------------


def _parse_jsonpath(text: str, query_text: str) -> object:
    from jsonpath_ng.ext.parser import parse  # deferred: most definitions never need it

    try:
        with warnings.catch_warnings():
            # jsonpath-ng deprecates single '&' in filters; AWS accepts it, so do we, quietly.
            warnings.simplefilter("ignore")
            return parse(query_text)
    except Exception as exc:  # jsonpath-ng raises bare Exception/JsonPathLexerError/...
        raise ExpressionSyntaxError(
            f"The path {text!r} is not valid JSONPath ({exc}); write it as '$.field', "
            "\"$['field name']\", '$.list[0]', '$.list[*]', '$..field' or "
            "'$.list[?(@.field > 1)]'",
        ) from None


def _definite_steps(query: object) -> tuple[Step, ...] | None:
    from jsonpath_ng.jsonpath import Child, Fields, Index, Root

    steps: list[Step] = []
    node = query
    while isinstance(node, Child):
        right = node.right
        if isinstance(right, Fields) and len(right.fields) == 1 and right.fields[0] != "*":
            steps.append(str(right.fields[0]))
        elif isinstance(right, Index) and len(right.indices) == 1:
            steps.append(int(right.indices[0]))
        else:
            return None
        node = node.left
    if not isinstance(node, Root):
        return None
    return tuple(reversed(steps))


def _find_all(query: object, data: JSON) -> JSON:
    try:
        matches = query.find(data)  # type: ignore[attr-defined]
    except Exception:  # jsonpath-ng trips over mixed types; Jayway just matches nothing
        return []
    return [match.value for match in matches]


# ---------------------------------------------------------------------------------------------
# Writing at a reference path (ResultPath)
# ---------------------------------------------------------------------------------------------


def set_reference_path(data: JSON, path: Path, value: JSON) -> JSON:
    """A copy of `data` with `value` placed at the definite `path` (ResultPath semantics).

    Missing intermediate objects are created; objects along the path are copied, everything else
    is shared, and `data` itself is never mutated. Raises `PathNoMatch` when a step goes through a
    value of the wrong type (a key on a non-object, an index on a non-array or out of range).
    """
    steps = path.steps
    if steps is None or path.root != "data":
        raise PathNoMatch(path.text, "Only a reference path on '$' can be written")
    if not steps:
        return value
    return _set(data, steps, 0, value, path.text)


def _set(current: JSON, steps: tuple[Step, ...], i: int, value: JSON, text: str) -> JSON:
    step = steps[i]
    last = i == len(steps) - 1
    if isinstance(step, str):
        if not isinstance(current, dict):
            raise PathNoMatch(
                text,
                f"Expected an object with property {render_steps(steps[i : i + 1], '')} at "
                f"{render_steps(steps[:i])}",
            )
        copy = dict(current)
        if last:
            copy[step] = value
        else:
            child = current.get(step)
            if step not in current:
                child = {}
            copy[step] = _set(child, steps, i + 1, value, text)
        return copy
    if not isinstance(current, list) or not -len(current) <= step < len(current):
        raise PathNoMatch(text, f"No array element {render_steps(steps[: i + 1])} to write to")
    items = list(current)
    items[step] = value if last else _set(current[step], steps, i + 1, value, text)
    return items
