"""A laid-out graph as an SVG document, states coloured by their status.

Owns: the SVG markup: one `<g class="state status-…">` per state (with `data-id`, the state's
JSON pointer, and `data-name`, so the console can select it and recolour it by class without
redrawing), Parallel and Map states as boxes holding their branches, edges with arrows, Catch
and Retry edges dashed and coloured apart from the normal path, Choice rules labelled. The
styles are embedded, so a file written by `asl graph` looks the same opened on its own.
Must never: lay out (layout.py does) or read an execution (status.py does).
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

from engine.graph.layout import HEADER, SCOPE_LABEL, Layout
from engine.graph.model import Graph

__all__ = ["STYLE", "render_svg"]

STYLE = """
.asl-graph { font: 13px system-ui, sans-serif; }
.asl-graph .state rect { fill: #ffffff; stroke: #5f6b7a; stroke-width: 1.5; }
.asl-graph .state text { fill: #16191f; text-anchor: middle; dominant-baseline: central; }
.asl-graph .state .type { fill: #4a5260; font-size: 10px; }
.asl-graph .marker circle { fill: #4a5260; }
.asl-graph .marker.end circle { fill: #ffffff; stroke: #4a5260; stroke-width: 4; }
.asl-graph .group > rect { fill: #f4f6f8; }
.asl-graph .scope rect { fill: none; stroke: #9aa4b1; stroke-dasharray: 4 3; }
.asl-graph .scope text { fill: #4a5260; font-size: 11px; }
.asl-graph .edge { fill: none; stroke: #5f6b7a; stroke-width: 1.5; }
.asl-graph .edge-catch { stroke: #b3261e; stroke-dasharray: 6 4; }
.asl-graph .edge-retry { stroke: #8a5a00; stroke-dasharray: 3 3; }
.asl-graph .edge-default { stroke-dasharray: 8 3; }
.asl-graph .label { font-size: 11px; fill: #16191f; paint-order: stroke; stroke: #ffffff;
  stroke-width: 3px; }
.asl-graph .status-running rect { fill: #d3e5ff; stroke: #0a5cc2; stroke-width: 2.5; }
.asl-graph .status-succeeded rect { fill: #d7f0dc; stroke: #1d7a33; }
.asl-graph .status-failed rect { fill: #fbe0de; stroke: #b3261e; stroke-width: 2.5; }
.asl-graph .status-caught rect { fill: #fff0cc; stroke: #8a5a00; }
.asl-graph .status-cancelled rect { fill: #e8e8e8; stroke: #4a5260; stroke-dasharray: 4 2; }
.asl-graph .group.status-running > rect, .asl-graph .group.status-succeeded > rect,
.asl-graph .group.status-failed > rect,
.asl-graph .group.status-caught > rect { fill-opacity: .35; }
.asl-graph .selected rect { stroke: #6b2fb3; stroke-width: 3; }
"""

_MARKERS = """<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7"
 orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#5f6b7a"/></marker>
<marker id="arrow-catch" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7"
 orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#b3261e"/></marker>
<marker id="arrow-retry" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7"
 orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#8a5a00"/></marker>
</defs>"""


LABEL_CHAR_WIDTH = 6.5
"""An average glyph width of the 11px labels."""


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def render_svg(
    graph: Graph, layout: Layout, statuses: Mapping[str, str] | None = None, title: str = ""
) -> str:
    """The SVG of `graph` laid out as `layout`; `statuses` maps a node id to its status
    (status.py's names), every other state is drawn "not-run" when statuses are given."""
    statuses = statuses or {}
    # an edge label may reach past the boxes (a label beside a Retry loop, a long Catch list)
    right = layout.width
    for edge, points in layout.edges:
        if edge.label and len(points) >= 2:
            x, _ = _label_point(points, edge.kind == "retry")
            extent = len(edge.label) * LABEL_CHAR_WIDTH
            right = max(right, x + (extent if edge.kind == "retry" else extent / 2) + 8)
    width, height = _n(right), _n(layout.height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="asl-graph" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title or 'State machine graph')}</title>",
        f"<style>{STYLE}</style>",
        _MARKERS,
    ]
    # groups first (they sit under their branches), then edges, then states on top
    # outer groups before the groups nested in them (SVG paints in document order)
    for node_id in sorted(graph.groups, key=lambda key: key.count("/States/")):
        box = layout.nodes[node_id]
        node = graph.nodes[node_id]
        status = statuses.get(node_id, "not-run")
        parts.append(
            f'<g class="state group status-{status}" data-id={quoteattr(node_id)} '
            f'data-name={quoteattr(node.name)} data-type={quoteattr(node.type)} tabindex="0">'
            f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" height="{_n(box.h)}" '
            f'rx="6"/><text x="{_n(box.cx)}" y="{_n(box.y + HEADER / 2)}">'
            f"{escape(node.name)} <tspan class='type'>{escape(node.type)}</tspan></text></g>"
        )
    for scope_id, box in layout.scopes.items():
        label = graph.scopes[scope_id].label
        parts.append(
            f'<g class="scope" data-id={quoteattr(scope_id)}><rect x="{_n(box.x)}" '
            f'y="{_n(box.y)}" width="{_n(box.w)}" height="{_n(box.h)}" rx="4"/>'
            f'<text x="{_n(box.x + 6)}" y="{_n(box.y + SCOPE_LABEL * 0.7)}">{escape(label)}'
            "</text></g>"
        )
    for edge, points in layout.edges:
        if len(points) < 2:
            continue
        marker = {"catch": "arrow-catch", "retry": "arrow-retry"}.get(edge.kind, "arrow")
        d = "M" + " L".join(f"{_n(x)},{_n(y)}" for x, y in points)
        parts.append(
            f'<path class="edge edge-{edge.kind}" d="{d}" marker-end="url(#{marker})" '
            f"data-source={quoteattr(edge.source)} data-target={quoteattr(edge.target)}/>"
        )
        if edge.label:
            x, y = _label_point(points, edge.kind == "retry")
            anchor = "start" if edge.kind == "retry" else "middle"
            parts.append(
                f'<text class="label" x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}">'
                f"{escape(edge.label)}</text>"
            )
    for node_id, node in graph.nodes.items():
        if node_id in graph.groups:
            continue
        box = layout.nodes[node_id]
        if node.type in ("Start", "End"):
            kind = node.type.lower()
            parts.append(
                f'<g class="marker {kind}" data-id={quoteattr(node_id)}>'
                f'<circle cx="{_n(box.cx)}" cy="{_n(box.cy)}" r="{_n(box.w / 2 - 2)}"/>'
                f"<title>{node.type}</title></g>"
            )
            continue
        status = statuses.get(node_id, "not-run")
        parts.append(
            f'<g class="state status-{status}" data-id={quoteattr(node_id)} '
            f'data-name={quoteattr(node.name)} data-type={quoteattr(node.type)} tabindex="0">'
            f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" height="{_n(box.h)}" '
            f'rx="6"/><text x="{_n(box.cx)}" y="{_n(box.y + 15)}">{escape(node.name)}</text>'
            f'<text class="type" x="{_n(box.cx)}" y="{_n(box.y + 30)}">{escape(node.type)}'
            "</text></g>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _label_point(points: list[tuple[float, float]], beside: bool) -> tuple[float, float]:
    if beside:  # a Retry loop: its label right of the loop
        return points[1][0] + 4, (points[1][1] + points[2][1]) / 2
    middle = len(points) // 2
    (x0, y0), (x1, y1) = points[middle - 1], points[middle]
    return (x0 + x1) / 2, (y0 + y1) / 2
