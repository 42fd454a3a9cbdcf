"""YAML definition text to a JSON value, with the YAML 1.2 core schema, for parse.py.

Owns: PyYAML's loader as the tools that deploy YAML state machines read YAML (`_Loader`), and
YAML's errors as located `DefinitionSyntaxError`s. Its own module so that PyYAML is imported only
for text that is not JSON (parse.py imports it then): a JSON definition never pays its ~10 ms at
start-up. Must never: run YAML's full loader (only `yaml.safe_load`-grade construction), or
decide JSON's rules (parse.py tries JSON first and owns the nesting limit).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import cast

import yaml

from engine.definition.parse import DefinitionSyntaxError, line_col
from engine.values import JSON

__all__ = ["CoreSchemaLoader", "load_yaml"]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars, text keys and duplicate keys rejected.

    PyYAML resolves plain scalars by YAML 1.1 rules, where `yes`, `no`, `on`, `off`, `y` and
    `n` are booleans, `0777` is octal, `1_000` and `1:20` are numbers and `2016-03-14` is a
    date. The tools that deploy YAML state machines (serverless, SAM, js-yaml) read YAML 1.2,
    where those are strings: a state named `Yes:` must stay "Yes", and a Choice's
    `StringEquals: no` must compare with "no". The resolver table below is the 1.2 core schema
    (YAML 1.2.2, section 10.3.2) and nothing else; timestamps stay text (ASL's `Timestamp` is
    a string). `<<` merge keys are kept: js-yaml, and so serverless, reads them.
    """


_TAG = "tag:yaml.org,2002:"
_CORE_SCHEMA = (
    (_TAG + "null", r"~|null|Null|NULL|", "~nN"),
    (_TAG + "bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (_TAG + "int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        _TAG + "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+0123456789.",
    ),
    (_TAG + "merge", r"<<", "<"),
)
_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in _CORE_SCHEMA:
    # "" is the first character of the empty scalar (null); the int rule precedes the float
    # rule, so `12` is an integer.
    _first_chars = [*_first, ""] if _tag.endswith("null") else list(_first)
    _Loader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), _first_chars)

_CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(_CORE_SCHEMA[3][1])


def _not_core(node: yaml.Node, kind: str) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(
        None, None, f"{node.value!r} is not a YAML 1.2 {kind}", node.start_mark
    )


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if not _CORE_INT.fullmatch(text):
        raise _not_core(node, "integer")
    try:
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise yaml.constructor.ConstructorError(
            None, None, "the integer has too many digits", node.start_mark
        ) from None


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    if not _CORE_FLOAT.fullmatch(text):
        raise _not_core(node, "float")
    lowered = text.lower()
    if lowered.endswith(".nan"):
        return math.nan
    if lowered.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    return float(text)


def _construct_bool(loader: _Loader, node: yaml.ScalarNode) -> bool:
    text = loader.construct_scalar(node)
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    raise _not_core(node, "boolean")


def _construct_merge(loader: _Loader, node: yaml.ScalarNode) -> str:
    """`<<` anywhere but as a mapping key is the text "<<" (js-yaml reads it so)."""
    return loader.construct_scalar(node)


def _key(loader: _Loader, node: yaml.Node) -> str:
    """A mapping key as the text the author wrote: `1:` is "1", `true:` is "true".

    JSON keys, and state names, are strings. The key is still constructed, so a key with a
    tag no safe constructor knows is rejected like a value would be.
    """
    loader.construct_object(node, deep=True)
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    kind = "sequence" if isinstance(node, yaml.SequenceNode) else "mapping"
    raise yaml.constructor.ConstructorError(
        None, None, f"a mapping key must be a name, not a {kind}", node.start_mark
    )


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[str, object]:
    own = [pair for pair in node.value if pair[0].tag != _TAG + "merge"]
    loader.flatten_mapping(node)  # merged pairs first, then this mapping's own pairs
    merged = node.value[: len(node.value) - len(own)]
    result: dict[str, object] = {}
    for key_node, value_node in merged:  # a later merged value wins, as in PyYAML and js-yaml
        result[_key(loader, key_node)] = loader.construct_object(value_node, deep=True)
    seen: set[str] = set()
    for key_node, value_node in own:  # a mapping's own key overrides a merged one
        key = _key(loader, key_node)
        if key in seen:
            mark = key_node.start_mark
            raise DefinitionSyntaxError(
                f"Duplicate field '{key}'", mark.line + 1, mark.column + 1, mark.index
            )
        seen.add(key)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


for _tag, _constructor in (
    (_TAG + "int", _construct_int),
    (_TAG + "float", _construct_float),
    (_TAG + "bool", _construct_bool),
    (_TAG + "merge", _construct_merge),
    (yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping),
):
    _Loader.add_constructor(
        _tag, cast(Callable[[yaml.SafeLoader, yaml.Node], object], _constructor)
    )


CoreSchemaLoader = _Loader
"""The loader `load_yaml` uses, for readers that add tags to it (definition/template.py adds
CloudFormation's `!Ref`, `!Sub`...): subclass it, never change it."""


def _to_json(value: object) -> JSON:
    """YAML may produce values JSON has no word for (bytes, sets); render them as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    return str(value)


def load_yaml(text: str, loader: type[_Loader] = _Loader) -> JSON:
    """The JSON value of YAML text. Raises DefinitionSyntaxError at YAML's own position;
    RecursionError (text nested too deeply) is the caller's to report. `loader` is
    `CoreSchemaLoader` or a subclass of it (a SafeLoader with more tags)."""
    try:
        return _to_json(yaml.load(text, Loader=loader))  # noqa: S506 - a SafeLoader
    except DefinitionSyntaxError:
        raise
    except yaml.MarkedYAMLError as error:
        raise _yaml_error(error) from None
    except yaml.reader.ReaderError as error:
        line, column = line_col(text, error.position)
        code = ord(error.character) if isinstance(error.character, str) else error.character
        message = f"Invalid YAML: unacceptable character #x{code:04x}: {error.reason}"
        raise DefinitionSyntaxError(message, line, column, error.position) from None


def _yaml_error(error: yaml.MarkedYAMLError) -> DefinitionSyntaxError:
    """YAML's own message, at the problem's position; the context names where it started."""
    problem, mark = error.problem or str(error), error.problem_mark or error.context_mark
    message = f"Invalid YAML: {problem}"
    context = error.context_mark
    if error.context and context is not None and (mark is None or context.line != mark.line):
        where = f"line {context.line + 1}, column {context.column + 1}"
        if error.context.startswith("while "):  # "while parsing a block mapping"
            message += f" ({error.context} at {where})"
        else:  # "expected a single document in the stream" + "but found another document"
            message = f"Invalid YAML: {error.context} ({where}), {problem}"
    if mark is None:
        return DefinitionSyntaxError(message, 1, 1, 0)
    return DefinitionSyntaxError(message, mark.line + 1, mark.column + 1, mark.index)
