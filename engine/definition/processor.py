"""The definition a Distributed Map's child executions run: its ItemProcessor as a machine.

Owns: cutting the ItemProcessor at a graph key (a JSON pointer such as
`/States/Fan/ItemProcessor`) out of the parent's definition, as the standalone definition a
child execution runs (AWS: each child execution of a Map Run runs the ItemProcessor as its own
state machine, `MACHINE/LABEL`). Must never: validate (the parent's definition was validated
with its processor) or read a store.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.values import JSON

_LEFT_OUT = frozenset({"ProcessorConfig"})


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def processor_definition(parent: Mapping[str, JSON], key: str) -> dict[str, JSON]:
    """The ItemProcessor at `key` of `parent` as a definition: its StartAt, States and Comment,
    and the parent's top-level QueryLanguage, which its states inherit. Raises KeyError when
    `key` names no object of `parent`."""
    node: JSON = dict(parent)
    for token in key.split("/")[1:]:
        # A Map inside a Parallel has its processor under `Branches/N/`: a list index.
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[_unescape(token)]
        else:
            raise KeyError(key)
    if not isinstance(node, dict):
        raise KeyError(key)
    definition: dict[str, JSON] = {k: v for k, v in node.items() if k not in _LEFT_OUT}
    language = parent.get("QueryLanguage")
    if language is not None and "QueryLanguage" not in definition:
        definition["QueryLanguage"] = language
    return definition
