"""Drawing state machines: `draw` turns definition text into SVG, Graphviz dot or Mermaid.

Owns: the definition-side graph package (pure: no I/O, no clock): `model` (what is drawn),
`layout` (where, by grandalf), `svg` and `text` (the notations), `status` (each state's status
from an execution's history), `source` (each state's lines in the text). Must never: read a
store or a file; the CLI and the console hand it text and history events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from engine.graph.model import Graph, build_graph
from engine.graph.status import state_statuses
from engine.values import JSON

__all__ = ["FORMATS", "Format", "Graph", "build_graph", "draw", "state_statuses"]

Format = Literal["svg", "dot", "mermaid"]
FORMATS: tuple[Format, ...] = ("svg", "dot", "mermaid")


def draw(
    definition: JSON,
    fmt: Format = "svg",
    events: Iterable[Mapping[str, JSON]] | None = None,
    title: str = "",
) -> str:
    """`definition` (a parsed definition, valid or not) drawn in `fmt`; with an execution's
    history `events`, each state coloured by its status."""
    graph = build_graph(definition)
    statuses = (
        {key: value.status for key, value in state_statuses(graph, events).items()}
        if events is not None
        else None
    )
    if fmt == "svg":
        from engine.graph.layout import layout_graph
        from engine.graph.svg import render_svg

        return render_svg(graph, layout_graph(graph), statuses, title)
    from engine.graph.text import render_dot, render_mermaid

    return render_dot(graph, statuses) if fmt == "dot" else render_mermaid(graph, statuses)
