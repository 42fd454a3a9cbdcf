"""DefinitionSubstitutions: `${Key}` placeholders in a definition's text replaced by values.

Owns: the one substitution rule, applied to the definition's *text* before it is parsed, as
AWS applies it. CloudFormation's AWS::StepFunctions::StateMachine handler turns the definition
into a string (an inline `Definition` is serialised first, `DefinitionS3Location` is read as
written) and then calls Apache Commons' `StringUtils.replaceEachRepeatedly(definition,
["${key}"...], [value...])` (aws-cloudformation-resource-providers-stepfunctions,
`DefinitionProcessor.transformDefinition`). So:

- it is plain text replacement: `"Seconds": "${Wait}"` with `Wait=60` becomes the *string*
  `"60"` (AWS then rejects it as not a number), while `"Seconds": ${Wait}` in a definition
  file becomes the number 60 (the file is JSON only once substituted);
- values are strings, integers or booleans (the resource schema's `String, Integer,
  Boolean`), written as Java's `String.valueOf` writes them: `60`, `true`, `false`;
- at each position the earliest placeholder is replaced, scanning resumes after the value, and
  the whole pass repeats while something was replaced, so a value may itself hold another
  key's placeholder. Commons stops after one pass per key and one more; values that still
  produce placeholders then refer to each other in a loop, which Commons either refuses
  ("output of one loop is the input of another") or leaves half expanded, depending on its
  version. The engine always refuses (`SubstitutionLoop`), naming the keys.

Placeholders whose key is not given stay as written: placeholders.py and the validator report
them. Must never: parse the definition, read a file, or judge anything but the substitution.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TypeAlias

from engine.errors import InvalidRequest

__all__ = [
    "SUBSTITUTION_LOOP",
    "SubstitutionLoop",
    "SubstitutionValue",
    "mentioned_keys",
    "render_value",
    "substitute",
]

SubstitutionValue: TypeAlias = "str | int | float | bool"
"""A value as a template, a `--substitutions` file or asl.toml gives it."""

_PLACEHOLDER = re.compile(r"\$\{([^${}\s]+)\}")
"""`${Name}`: the same shape placeholders.py recognises as unsubstituted."""


SUBSTITUTION_LOOP = "InvalidDefinitionSubstitutions"


class SubstitutionLoop(InvalidRequest):
    """The values refer to each other in a loop (`A=${B}`, `B=${A}`): no text results."""

    def __init__(self, keys: Iterable[str]) -> None:
        listed = ", ".join(sorted(keys))
        super().__init__(
            SUBSTITUTION_LOOP,
            f"The substitutions refer to each other in a loop ({listed}): a value holds a "
            "placeholder whose value leads back to it; give one of them a literal value",
        )


def render_value(value: SubstitutionValue) -> str:
    """A substitution value as text, as Java's `String.valueOf` writes it (`true`, `60`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)  # 1.5 -> "1.5"; the schema has no floats, JSON spells them so
    return value


def mentioned_keys(text: str) -> set[str]:
    """The keys of every `${Key}` placeholder in `text`."""
    if "${" not in text:
        return set()
    return set(_PLACEHOLDER.findall(text))


def substitute(text: str, values: Mapping[str, SubstitutionValue]) -> str:
    """`text` with each `${key}` of `values` replaced, by replaceEachRepeatedly's rule (see the
    module docstring). Raises `SubstitutionLoop` when the values refer to each other in a loop.
    Text without `${` comes back unchanged (the same object)."""
    if not values or "${" not in text:
        return text
    search = {f"${{{key}}}": render_value(value) for key, value in values.items()}
    # Leftmost match first; at one position the first key in order wins, as in Commons.
    pattern = re.compile("|".join(re.escape(token) for token in search))
    # Commons' timeToLive: one pass per search string and one more, then it stops.
    for _ in range(len(search) + 1):
        if pattern.search(text) is None:
            return text
        text = pattern.sub(lambda match: search[match.group(0)], text)
    if pattern.search(text) is None:
        return text
    raise SubstitutionLoop(
        token[2:-1] for token, value in search.items() if pattern.search(value) is not None
    )
