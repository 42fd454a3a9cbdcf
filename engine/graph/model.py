"""A state machine's definition as a drawable graph: nodes, edges and nested groups.

Owns: reading a parsed definition (the JSON value, valid or not) into `Graph`: one node per
state of every type, Parallel branches and Map processors (ItemProcessor, or the older Iterator)
as groups nested inside their state, and the edges between states: `Next`, Choice rules (each
labelled with its rule) and `Default`, `Catch` (distinct from the normal path) and `Retry` (a
self-loop on its state). Must never: judge the definition (validate.py does; a broken one is
drawn as far as it can be read, so the validation page can show it), do I/O, or lay anything out.

Each node, group and scope is named by the JSON pointer of its place in the definition
("/States/P/Branches/0/States/A"), the key the compiled machine's graphs and the diagnostics'
locations use too, so a status or a diagnostic finds its node without a second naming scheme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from engine.definition.diagnostics import escape_pointer_token
from engine.values import JSON, dumps

__all__ = ["Edge", "EdgeKind", "Graph", "Group", "Node", "Scope", "build_graph"]

EdgeKind = Literal["start", "next", "choice", "default", "catch", "retry", "end"]

START = "start"
END = "end"


@dataclass(frozen=True, slots=True)
class Node:
    """One state (or the Start/End marker of a scope: `type` "Start"/"End")."""

    id: str
    name: str
    type: str
    scope: str
    """The id of the scope holding it: "" for the top level, else its group's id."""
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind
    label: str = ""


@dataclass(frozen=True, slots=True)
class Scope:
    """One StartAt + States: the top level (id ""), a Parallel branch or a Map processor."""

    id: str
    nodes: tuple[str, ...]
    label: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    """The scopes a Parallel or Map state holds, drawn inside it."""

    state: str
    """The id of the Parallel or Map node."""
    scopes: tuple[str, ...]


@dataclass(slots=True)
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    scopes: dict[str, Scope] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)

    def states(self) -> list[Node]:
        """The nodes that are states (not Start/End markers)."""
        return [n for n in self.nodes.values() if n.type not in ("Start", "End")]


def marker_id(scope: str, kind: str) -> str:
    """The id of a scope's Start or End marker: ids of states always start with "/"."""
    return f"{kind}:{scope}"


def build_graph(definition: JSON) -> Graph:
    """The graph of `definition`; whatever cannot be read (a missing Next, a non-object state) is
    left out rather than refused."""
    graph = Graph()
    _add_scope(graph, definition, "", "")
    return graph


def _add_scope(graph: Graph, body: JSON, scope: str, label: str) -> None:
    states = body.get("States") if isinstance(body, dict) else None
    states = states if isinstance(states, dict) else {}
    start, end = marker_id(scope, START), marker_id(scope, END)
    graph.nodes[start] = Node(start, "Start", "Start", scope)
    ids: list[str] = [start]
    for name, state in states.items():
        ids.append(_add_state(graph, scope, name, state))
    graph.nodes[end] = Node(end, "End", "End", scope)
    ids.append(end)
    start_at = body.get("StartAt") if isinstance(body, dict) else None
    if isinstance(start_at, str) and start_at in states:
        graph.edges.append(Edge(start, _state_id(scope, start_at), "start"))
    # edges come after every node of the scope exists, so a forward Next resolves
    for name, state in states.items():
        if isinstance(state, dict):
            _add_edges(graph, scope, _state_id(scope, name), state, states)
    graph.scopes[scope] = Scope(scope, tuple(ids), label)


def _state_id(scope: str, name: str) -> str:
    return f"{scope}/States/{escape_pointer_token(name)}"


def _add_state(graph: Graph, scope: str, name: str, state: JSON) -> str:
    node_id = _state_id(scope, name)
    state_type = state.get("Type") if isinstance(state, dict) else None
    comment = state.get("Comment") if isinstance(state, dict) else None
    graph.nodes[node_id] = Node(
        node_id,
        name,
        state_type if isinstance(state_type, str) else "Unknown",
        scope,
        comment if isinstance(comment, str) else "",
    )
    if not isinstance(state, dict):
        return node_id
    inner: list[str] = []
    if state_type == "Parallel" and isinstance(state.get("Branches"), list):
        for index, branch in enumerate(state["Branches"]):  # type: ignore[arg-type]
            branch_scope = f"{node_id}/Branches/{index}"
            _add_scope(graph, branch, branch_scope, f"Branch {index + 1}")
            inner.append(branch_scope)
    elif state_type == "Map":
        key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
        if isinstance(state.get(key), dict):
            processor_scope = f"{node_id}/{key}"
            _add_scope(graph, state[key], processor_scope, _processor_label(state))
            inner.append(processor_scope)
    if inner:
        graph.groups[node_id] = Group(node_id, tuple(inner))
    return node_id


def _processor_label(state: dict[str, JSON]) -> str:
    processor = state.get("ItemProcessor")
    config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
    mode = config.get("Mode") if isinstance(config, dict) else None
    return "Distributed Map items" if mode == "DISTRIBUTED" else "Map items"


def _add_edges(
    graph: Graph, scope: str, node_id: str, state: dict[str, JSON], states: dict[str, JSON]
) -> None:
    def target(name: JSON) -> str | None:
        return _state_id(scope, name) if isinstance(name, str) and name in states else None

    for retrier in _objects(state.get("Retry")):
        errors = retrier.get("ErrorEquals")
        label = (
            ", ".join(e for e in errors if isinstance(e, str)) if isinstance(errors, list) else ""
        )
        attempts = retrier.get("MaxAttempts", 3)
        graph.edges.append(Edge(node_id, node_id, "retry", f"{label} ×{attempts}"))
    if state.get("Type") == "Choice":
        for index, rule in enumerate(_objects(state.get("Choices"))):
            next_id = target(rule.get("Next"))
            if next_id is not None:
                graph.edges.append(Edge(node_id, next_id, "choice", rule_label(rule, index)))
        default = target(state.get("Default"))
        if default is not None:
            graph.edges.append(Edge(node_id, default, "default", "Default"))
    next_id = target(state.get("Next"))
    if next_id is not None:
        graph.edges.append(Edge(node_id, next_id, "next"))
    if state.get("End") is True or state.get("Type") in ("Succeed", "Fail"):
        graph.edges.append(Edge(node_id, marker_id(scope, END), "end"))
    for catcher in _objects(state.get("Catch")):
        catch_id = target(catcher.get("Next"))
        errors = catcher.get("ErrorEquals")
        if catch_id is not None:
            label = (
                ", ".join(e for e in errors if isinstance(e, str))
                if isinstance(errors, list)
                else ""
            )
            graph.edges.append(Edge(node_id, catch_id, "catch", label))


def _objects(value: JSON) -> list[dict[str, JSON]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


_OPERATORS = (
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
)


def rule_label(rule: dict[str, JSON], index: int) -> str:
    """A short text for a Choice rule: its own Comment, a JSONata Condition, or the comparison
    (`$.kind StringEquals "gift"`); "Rule N" when it is a compound one (And/Or/Not)."""
    comment = rule.get("Comment")
    if isinstance(comment, str) and comment:
        return _short(comment)
    condition = rule.get("Condition")
    if isinstance(condition, str):
        return _short(condition.removeprefix("{%").removesuffix("%}").strip())
    variable = rule.get("Variable")
    for operator in _OPERATORS:
        for key in (operator, operator + "Path"):
            if key in rule and isinstance(variable, str):
                value = rule[key]
                text = value if isinstance(value, str) and key.endswith("Path") else dumps(value)
                return _short(f"{variable} {key} {text}")
    return f"Rule {index + 1}"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
