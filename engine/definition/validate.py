"""The ASL definition validator: every problem AWS would reject, located, in one pass.

Owns: `iter_diagnostics` (walk a parsed definition and yield every `Diagnostic`),
`validate_text` (parse, then walk) and `is_valid`. This module walks the graphs of states:
the top level, each Parallel branch and each Map processor is its own namespace with its own
StartAt, so transitions, reachability and the terminal-state rule are judged per graph, while
state names (and Map Labels) must be unique across the whole machine. What one state or one
field may contain is judged by validate_states.py / validate_choice.py / validate_fields.py,
reached through dispatch tables (jsonschema's `iter_errors` style: small generators, the walker
prefixes each location). Must never: raise on any JSON input (a validator that crashes on a bad
definition is a bug, tested with hypothesis), stop at the first problem, build pydantic models
on this path (too slow for the 2 ms budget), or do I/O.

Depth comes first: `_nesting_problems` walks the definition with an explicit stack (no
recursion) and refuses Parallel/Map states nested more than `MAX_STATE_NESTING` deep and JSON
nested more than `MAX_DEFINITION_DEPTH` deep. Only a definition within both bounds reaches the
walker, whose checks recurse over graphs, templates and Choice rules.

Theory of operation: the walker visits each state once. Field checks that name a transition
(`Next`, `Default`, a catcher's `Next`, a Choice rule's `Next`) call `StateContext.on_next`, so
the walker collects the graph's edges while it validates; reachability is then a plain
breadth-first search from StartAt.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from typing import TypeAlias

from engine.definition.diagnostics import Diagnostic, Severity
from engine.definition.parse import MAX_DEFINITION_DEPTH, DefinitionSyntaxError, parse_text
from engine.definition.validate_fields import (
    DUPLICATE_STATE_NAME,
    INVALID_JSON_DESCRIPTION,
    INVALID_STATE_NAME,
    JSONATA,
    JSONPATH,
    MAX_SECONDS,
    MAX_STATE_NESTING,
    MISSING_DESCRIPTION,
    MISSING_END_STATE,
    MISSING_TRANSITION_TARGET,
    NESTING_LIMIT_EXCEEDED,
    QUERY_LANGUAGES,
    Diagnostics,
    check_enum,
    check_integer,
    check_placeholders,
    check_string,
    error,
    ptr,
    required,
    unsupported,
)
from engine.definition.validate_states import (
    FLOW_TYPES,
    STATE_TYPES,
    TERMINAL_TYPES,
    StateContext,
    check_state_fields,
)
from engine.values import JSON, type_name

__all__ = ["MACHINE_TYPES", "is_valid", "iter_diagnostics", "validate_text"]

MACHINE_TYPES = ("STANDARD", "EXPRESS")
MAX_STATE_NAME = 80

_GRAPH_FIELDS = {
    "machine": frozenset(
        {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
    ),
    "branch": frozenset({"Comment", "StartAt", "States"}),
    "processor": frozenset({"Comment", "StartAt", "States", "ProcessorConfig"}),
    "distributed": frozenset({"Comment", "StartAt", "States", "ProcessorConfig"}),
    # The legacy Iterator takes ProcessorConfig too (recorded: localstack/accepted/scenarios/
    # map_state_legacy_config_*).
    "iterator": frozenset({"Comment", "StartAt", "States", "ProcessorConfig"}),
}


class _Walker:
    """One validation run: machine-wide facts (names seen, labels) and the graph walk."""

    __slots__ = ("labels", "machine_language", "names")

    def __init__(self, machine_language: str) -> None:
        self.machine_language = machine_language
        self.names: dict[str, str] = {}
        self.labels: dict[str, str] = {}

    def graph(self, graph: JSON, loc: str, machine_type: str, kind: str) -> Diagnostics:
        if not isinstance(graph, dict):
            yield error(
                f"A {kind} must be an object with StartAt and States, not {type_name(graph)}",
                loc,
            )
            return
        allowed = _GRAPH_FIELDS[kind]
        for name in graph:
            if name not in allowed:
                yield unsupported(name, loc)
        missing = [name for name in ("States", "StartAt") if name not in graph]
        if missing:
            yield required(missing, loc)
        if "Comment" in graph:
            yield from check_string(graph["Comment"], ptr(loc, "Comment"), "Comment")
        states = graph.get("States")
        states_loc = ptr(loc, "States")
        if "States" in graph and not isinstance(states, dict):
            yield error(f"'States' must be an object, not {type_name(states)}", states_loc)
        if not isinstance(states, dict):
            states = {}
        elif not states:
            yield error("'States' must contain at least one state", states_loc)
        yield from self._states(graph, states, loc, machine_type, kind == "distributed")

    def _states(
        self,
        graph: dict[str, JSON],
        states: dict[str, JSON],
        loc: str,
        machine_type: str,
        own_language: bool,
    ) -> Diagnostics:
        targets = set(states)
        pending: list[str] = []
        edges: dict[str, list[str]] = {}
        ctx = StateContext(
            query_language=self.machine_language,
            machine_type=machine_type,
            targets=targets,
            on_next=pending.append,
            walk_graph=self.graph,
            labels=self.labels,
        )
        has_terminal = False
        for name, state in states.items():
            state_loc = ptr(ptr(loc, "States"), name)
            yield from self._name(name, state_loc)
            if not isinstance(state, dict):
                yield error(f"A state must be an object, not {type_name(state)}", state_loc)
                has_terminal = True  # unknown: do not pile a terminal-state error on top
                continue
            state_type = state.get("Type")
            if state_type not in STATE_TYPES:
                yield self._bad_type(state, state_type, state_loc)
                raw_next = state.get("Next")
                edges[name] = [raw_next] if isinstance(raw_next, str) else []
                has_terminal = True  # unknown: do not pile a terminal-state error on top
                continue
            assert isinstance(state_type, str)
            ctx.query_language = yield from self._language(state, state_loc, own_language)
            yield from check_state_fields(state, state_type, state_loc, ctx)
            if state_type in FLOW_TYPES:
                yield from self._flow(state, state_loc)
            if state_type in TERMINAL_TYPES or state.get("End") is True:
                has_terminal = True
            edges[name] = pending[:]
            pending.clear()
        start = graph.get("StartAt")
        start_loc = ptr(loc, "StartAt")
        if "StartAt" in graph:
            if not isinstance(start, str):
                yield error(f"'StartAt' must be a state name, not {type_name(start)}", start_loc)
            elif start not in targets:
                yield error(
                    f"Missing 'StartAt' target: {start}; StartAt must name a state of this "
                    "States object",
                    start_loc,
                    MISSING_TRANSITION_TARGET,
                )
        if states and not has_terminal:
            yield error(
                "Workflow has no terminal state: give at least one state End: true, or add a "
                "Succeed or Fail state",
                ptr(loc, "States"),
                MISSING_END_STATE,
            )
        if isinstance(start, str) and start in targets:
            yield from self._unreachable(start, states, edges, loc)

    def _name(self, name: str, loc: str) -> Diagnostics:
        if not name or len(name) > MAX_STATE_NAME:
            yield error(
                f"State name must be 1 to {MAX_STATE_NAME} characters long, got {len(name)}",
                loc,
                INVALID_STATE_NAME,
            )
        first = self.names.get(name)
        if first is None:
            self.names[name] = loc
        else:
            yield error(
                f"Duplicate State name: {name} (also at {first}); state names must be unique "
                "in the whole state machine, Parallel branches and Map processors included",
                loc,
                DUPLICATE_STATE_NAME,
            )

    @staticmethod
    def _bad_type(state: dict[str, JSON], state_type: JSON, loc: str) -> Diagnostic:
        if "Type" not in state:
            return required(["Type"], loc)
        return error(
            f"Invalid State Type {state_type!r}: use one of {', '.join(STATE_TYPES)}",
            ptr(loc, "Type"),
        )

    def _language(
        self, state: dict[str, JSON], loc: str, own_language: bool
    ) -> Generator[Diagnostic, None, str]:
        """Yield QueryLanguage problems; return the language the state's fields use.

        `own_language`: the state runs in a Distributed Map's child workflow, which may use
        JSONPath under a JSONata parent (asl-validator fixture map-with-item-batcher-jsonata).
        """
        if "QueryLanguage" not in state:
            return self.machine_language
        value = state["QueryLanguage"]
        at = ptr(loc, "QueryLanguage")
        if value not in QUERY_LANGUAGES:
            yield from check_enum(value, at, "QueryLanguage", QUERY_LANGUAGES)
            return self.machine_language
        if value == JSONPATH and self.machine_language == JSONATA and not own_language:
            yield error(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                at,
            )
        return str(value)

    @staticmethod
    def _flow(state: dict[str, JSON], loc: str) -> Diagnostics:
        has_next = "Next" in state
        if has_next and "End" in state:
            yield error(
                "A state may have 'Next' or 'End', not both; remove one",
                ptr(loc, "End"),
            )
        elif not has_next and state.get("End") is not True:
            yield error(
                "A non-terminal state must have 'Next' naming the following state, or 'End': true",
                loc,
            )

    @staticmethod
    def _unreachable(
        start: str, states: dict[str, JSON], edges: dict[str, list[str]], loc: str
    ) -> Diagnostics:
        seen = {start}
        queue = [start]
        while queue:
            for target in edges.get(queue.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for name in states:
            if name not in seen:
                yield error(
                    f'State "{name}" is not reachable. No transition (StartAt, Next, Default or '
                    "a catcher's Next) leads to it; remove it or add a transition",
                    ptr(ptr(loc, "States"), name),
                    MISSING_TRANSITION_TARGET,
                )


_Location: TypeAlias = "tuple[_Location, str | int] | None"
"""A JSON pointer as a chain of (parent, token), joined only for the node that is reported."""

_NESTING_TYPES = frozenset({"Parallel", "Map"})


def _pointer(location: _Location) -> str:
    tokens: list[str | int] = []
    while location is not None:
        location, token = location
        tokens.append(token)
    loc = ""
    for token in reversed(tokens):
        loc = ptr(loc, token)
    return loc


def _nesting_problems(definition: dict[str, JSON]) -> list[Diagnostic]:
    """Parallel/Map states nested past `MAX_STATE_NESTING`, JSON nested past
    `MAX_DEFINITION_DEPTH`: one diagnostic per state too deep, then the first JSON node too deep.

    Stacks, not recursion, so that no depth of input can exhaust Python's stack. Nothing below
    a state reported is visited. Graphs and states are walked with their locations; a field's
    value only for its depth (and located again if too deep): most of a definition is field
    values, and this runs on every validation.
    """
    problems: list[Diagnostic] = []
    values: list[tuple[JSON, _Location, int]] = []  # field values: (value, location, depth)
    # (value, location, JSON depth, Parallel/Map nesting, role: graph, states, state, branches)
    stack: list[tuple[JSON, _Location, int, int, str]] = [(definition, None, 1, 0, "graph")]
    while stack:
        value, location, depth, nesting, role = stack.pop()
        if depth > MAX_DEFINITION_DEPTH:
            return [*problems, _too_deep(location)]
        if isinstance(value, dict):
            items: list[tuple[str | int, JSON]] = list(value.items())
        else:
            assert isinstance(value, list)
            items = list(enumerate(value))
        state_type = value.get("Type") if role == "state" and isinstance(value, dict) else None
        if not isinstance(state_type, str):
            state_type = None
        if state_type in _NESTING_TYPES and nesting >= MAX_STATE_NESTING:
            problems.append(
                error(
                    f"This {state_type} state would be level {nesting + 1} of nested Parallel "
                    f"and Map states; at most {MAX_STATE_NESTING} levels may nest. Move the "
                    "inner levels into a state machine of their own (a Task with Resource "
                    "arn:aws:states:::states:startExecution.sync) or flatten them",
                    _pointer(location),
                    NESTING_LIMIT_EXCEEDED,
                )
            )
            continue
        for key, child in reversed(items):  # reversed: problems come out in document order
            if not isinstance(child, dict | list):
                continue
            role_of_child, inner = "", nesting
            if role == "graph" and key == "States":
                role_of_child = "states"
            elif role == "states":
                role_of_child = "state"
            elif role == "branches":
                role_of_child = "graph"
            elif state_type == "Parallel" and key == "Branches":
                role_of_child, inner = "branches", nesting + 1
            elif state_type == "Map" and key in ("ItemProcessor", "Iterator"):
                role_of_child, inner = "graph", nesting + 1
            if role_of_child:
                stack.append((child, (location, key), depth + 1, inner, role_of_child))
            else:
                values.append((child, (location, key), depth + 1))
    for root, where, root_depth in reversed(values):
        pending: list[tuple[JSON, int]] = [(root, root_depth)]
        while pending:
            node, depth = pending.pop()
            if depth > MAX_DEFINITION_DEPTH:
                return [*problems, _too_deep(_locate(root, where, node))]
            for child in node.values() if isinstance(node, dict) else node:  # type: ignore[union-attr]
                if isinstance(child, dict | list):
                    pending.append((child, depth + 1))
    return problems


def _locate(value: JSON, location: _Location, wanted: JSON) -> _Location:
    """The location of the container `wanted` somewhere below `value` (found by identity)."""
    stack: list[tuple[JSON, _Location]] = [(value, location)]
    while stack:
        node, where = stack.pop()
        if node is wanted:
            return where
        pairs = node.items() if isinstance(node, dict) else enumerate(node)  # type: ignore[arg-type]
        stack.extend(
            (child, (where, key)) for key, child in pairs if isinstance(child, dict | list)
        )
    return location


def _too_deep(location: _Location) -> Diagnostic:
    return error(
        f"The definition is nested too deeply here: more than {MAX_DEFINITION_DEPTH} levels of "
        "arrays and objects (the engine's limit); flatten this value",
        _pointer(location),
        NESTING_LIMIT_EXCEEDED,
    )


def iter_diagnostics(definition: JSON, *, machine_type: str = "STANDARD") -> Iterator[Diagnostic]:
    """Yield every problem in a parsed definition (errors and warnings), each located.

    `machine_type` is STANDARD or EXPRESS (Express machines reject activities, `.sync` and
    `.waitForTaskToken`). Never raises for any JSON value given as `definition`.
    """
    if machine_type not in MACHINE_TYPES:
        raise ValueError(f"machine_type must be one of {MACHINE_TYPES}, got {machine_type!r}")
    if not isinstance(definition, dict):
        yield error(
            f"A state machine definition must be a JSON object, not {type_name(definition)}", ""
        )
        return
    too_deep = _nesting_problems(definition)
    if too_deep:
        yield from too_deep  # the checks below recurse: they only read a bounded definition
        return
    language = definition.get("QueryLanguage", JSONPATH)
    if language not in QUERY_LANGUAGES:
        yield from check_enum(language, "/QueryLanguage", "QueryLanguage", QUERY_LANGUAGES)
        language = JSONPATH
    if "Version" in definition and definition["Version"] != "1.0":
        yield error(
            f"The value of 'Version' must be \"1.0\", got {definition['Version']!r}", "/Version"
        )
    if "TimeoutSeconds" in definition:
        yield from check_integer(
            definition["TimeoutSeconds"], "/TimeoutSeconds", "TimeoutSeconds", 1, MAX_SECONDS
        )
    walker = _Walker(str(language))
    yield from walker.graph(definition, "", machine_type, "machine")
    yield from check_placeholders(definition)


def validate_text(text: str, *, machine_type: str = "STANDARD") -> list[Diagnostic]:
    """Parse definition text (JSON, or YAML) and return every diagnostic.

    Text that is empty gives one MISSING_DESCRIPTION diagnostic; text that is neither JSON nor
    YAML gives one INVALID_JSON_DESCRIPTION diagnostic whose message has the line and column.
    """
    if not text.strip():
        return [error("Received a null or empty workflow input", "", MISSING_DESCRIPTION)]
    try:
        definition = parse_text(text)
    except DefinitionSyntaxError as exc:
        return [error(exc.message, "", INVALID_JSON_DESCRIPTION)]
    return list(iter_diagnostics(definition, machine_type=machine_type))


def is_valid(diagnostics: Iterable[Diagnostic]) -> bool:
    """True when no diagnostic is an ERROR (warnings do not make a definition invalid)."""
    return all(d.severity is not Severity.ERROR for d in diagnostics)
