"""A graph as text other tools draw: Graphviz dot and a Mermaid flowchart.

Owns: both notations, with the same meaning svg.py draws: Parallel branches and Map processors
as nested clusters (dot) or subgraphs (Mermaid), Catch and Retry edges dashed and labelled,
Choice rules labelled, and a status class per state when an execution is drawn. Node ids are
generated (n0, n1, ...) because state names may hold any character; the names are quoted
labels. Must never: lay out or read an execution.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from engine.graph.model import Graph

__all__ = ["render_dot", "render_mermaid"]

_STATUS_COLOURS = {
    "running": ("#d3e5ff", "#0a5cc2"),
    "succeeded": ("#d7f0dc", "#1d7a33"),
    "failed": ("#fbe0de", "#b3261e"),
    "caught": ("#fff0cc", "#8a5a00"),
    "cancelled": ("#e8e8e8", "#4a5260"),
}


def _ids(graph: Graph) -> dict[str, str]:
    ids = {node_id: f"n{index}" for index, node_id in enumerate(graph.nodes)}
    ids.update({scope_id: f"g{index}" for index, scope_id in enumerate(graph.scopes)})
    return ids


def _dot_string(text: str) -> str:
    # dot's quoted strings take \" and \\; json.dumps writes exactly those (and \n, which dot
    # reads as a centred line break)
    return json.dumps(text, ensure_ascii=False)


def render_dot(graph: Graph, statuses: Mapping[str, str] | None = None) -> str:
    """Graphviz dot text of `graph` (`dot -Tsvg` draws it)."""
    statuses = statuses or {}
    ids = _ids(graph)
    lines = [
        "digraph StateMachine {",
        "  compound=true;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="sans-serif"];',
        '  edge [fontname="sans-serif", fontsize=10];',
    ]

    def scope(scope_id: str, indent: str) -> None:
        for node_id in graph.scopes[scope_id].nodes:
            node = graph.nodes[node_id]
            if node.type in ("Start", "End"):
                shape = "circle" if node.type == "Start" else "doublecircle"
                lines.append(
                    f'{indent}{ids[node_id]} [label="", shape={shape}, width=0.25, '
                    'fillcolor="#4a5260"];'
                )
                continue
            fill, stroke = _STATUS_COLOURS.get(statuses.get(node_id, ""), ("#ffffff", "#5f6b7a"))
            label = _dot_string(f"{node.name}\n{node.type}")
            group = graph.groups.get(node_id)
            if group is None:
                lines.append(
                    f'{indent}{ids[node_id]} [label={label}, fillcolor="{fill}", color="{stroke}"];'
                )
                continue
            # a Parallel/Map state: a cluster holding its branches, and a node heading it that
            # the edges into and out of the state attach to
            lines.append(f"{indent}subgraph cluster_{ids[node_id]} {{")
            lines.append(f'{indent}  label={label}; style="rounded,filled"; fillcolor="#f4f6f8";')
            lines.append(
                f'{indent}  {ids[node_id]} [label={label}, fillcolor="{fill}", color="{stroke}"];'
            )
            for inner in group.scopes:
                lines.append(f"{indent}  subgraph cluster_{ids[inner]} {{")
                lines.append(
                    f"{indent}    label={_dot_string(graph.scopes[inner].label)}; style=dashed;"
                )
                scope(inner, indent + "    ")
                lines.append(f"{indent}  }}")
                start = f"start:{inner}"
                lines.append(f"{indent}  {ids[node_id]} -> {ids[start]} [style=dotted];")
            lines.append(f"{indent}}}")

    scope("", "  ")
    for edge in graph.edges:
        attributes = []
        if edge.label:
            attributes.append(f"label={_dot_string(edge.label)}")
        if edge.kind in ("catch", "retry"):
            colour = "#b3261e" if edge.kind == "catch" else "#8a5a00"
            attributes += ["style=dashed", f'color="{colour}"', f'fontcolor="{colour}"']
        elif edge.kind == "default":
            attributes.append("style=bold")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {ids[edge.source]} -> {ids[edge.target]}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Mermaid reads "..." labels; a double quote inside is written as the entity #quot;
    # (Mermaid's own escape), and # as #35; so a label never ends early or starts an entity
    return '"' + text.replace("#", "#35;").replace('"', "#quot;") + '"'


def render_mermaid(graph: Graph, statuses: Mapping[str, str] | None = None) -> str:
    """A Mermaid `flowchart TD` of `graph`. Parallel/Map states are subgraphs: the edges into and
    out of them attach to the subgraph itself."""
    statuses = statuses or {}
    ids = _ids(graph)
    lines = ["flowchart TD"]

    def scope(scope_id: str, indent: str) -> None:
        for node_id in graph.scopes[scope_id].nodes:
            node = graph.nodes[node_id]
            if node.type == "Start":
                lines.append(f"{indent}{ids[node_id]}(({_mermaid_text('Start')}))")
                continue
            if node.type == "End":
                lines.append(f"{indent}{ids[node_id]}((({_mermaid_text('End')})))")
                continue
            label = _mermaid_text(f"{node.name} ({node.type})")
            group = graph.groups.get(node_id)
            if group is None:
                shape = "{" + label + "}" if node.type == "Choice" else "[" + label + "]"
                lines.append(f"{indent}{ids[node_id]}{shape}")
                continue
            lines.append(f"{indent}subgraph {ids[node_id]}[{label}]")
            for inner in group.scopes:
                lines.append(
                    f"{indent}  subgraph {ids[inner]}[{_mermaid_text(graph.scopes[inner].label)}]"
                )
                scope(inner, indent + "    ")
                lines.append(f"{indent}  end")
            lines.append(f"{indent}end")

    scope("", "  ")
    for edge in graph.edges:
        source, target = ids[edge.source], ids[edge.target]
        arrow = "-.->" if edge.kind in ("catch", "retry") else "-->"
        label = edge.label
        if edge.kind == "catch":
            label = f"Catch: {label}"
        elif edge.kind == "retry":
            label = f"Retry: {label}"
        text = f"|{_mermaid_text(label)}|" if label else ""
        lines.append(f"  {source} {arrow}{text} {target}")
    classes = {"running", "succeeded", "failed", "caught", "cancelled"}
    used = sorted({status for status in statuses.values() if status in classes})
    for status in used:
        fill, stroke = _STATUS_COLOURS[status]
        lines.append(f"  classDef {status} fill:{fill},stroke:{stroke},stroke-width:2px")
    for node_id, status in statuses.items():
        # a Parallel/Map is a subgraph, which `class` does not style
        if status in classes and node_id in ids and node_id not in graph.groups:
            lines.append(f"  class {ids[node_id]} {status}")
    return "\n".join(lines) + "\n"
