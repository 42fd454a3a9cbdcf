"""Where each node, group and edge of a `Graph` is drawn: a Sugiyama layout by grandalf.

Owns: sizes (a state's box from its name, a Parallel or Map state's box from the scopes laid out
inside it) and positions. Each scope is laid out on its own, innermost first, so a Parallel or
Map state is one big vertex in its parent's layout and its branches sit side by side inside it:
edges never cross a scope (Next, Catch and Choice stay within their States). Must never: draw
(svg.py does) or decide what the graph holds (model.py does). The layered layout itself is
grandalf's (a maintained pure-Python Sugiyama implementation), not written here.

Coordinates are absolute, in pixels, origin top left, y growing downward.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grandalf.graphs import Edge as LayoutEdge
from grandalf.graphs import Graph as LayoutGraph
from grandalf.graphs import Vertex
from grandalf.layouts import SugiyamaLayout
from grandalf.routing import route_with_lines

from engine.graph.model import Edge, Graph

__all__ = ["Box", "Layout", "layout_graph"]

CHAR_WIDTH = 7.5
"""An average glyph width of the 13px sans-serif font the SVG uses."""
NODE_HEIGHT = 40.0
MARKER_SIZE = 26.0
PADDING = 16.0
HEADER = 28.0
"""The band at the top of a Parallel or Map box holding its name."""
SCOPE_LABEL = 20.0
"""The band above a branch holding "Branch N"."""
GAP = 24.0


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(slots=True)
class Layout:
    width: float = 0.0
    height: float = 0.0
    nodes: dict[str, Box] = field(default_factory=dict)
    scopes: dict[str, Box] = field(default_factory=dict)
    edges: list[tuple[Edge, list[tuple[float, float]]]] = field(default_factory=list)


@dataclass(slots=True)
class _Local:
    """A scope laid out at the origin: boxes and edge points relative to its top left."""

    width: float
    height: float
    nodes: dict[str, Box]
    scopes: dict[str, Box]
    edges: list[tuple[Edge, list[tuple[float, float]]]]


class _View:
    """The view grandalf reads (w, h) and writes (xy, the centre) on each vertex."""

    __slots__ = ("h", "w", "xy")

    def __init__(self, w: float, h: float) -> None:
        self.w, self.h = w, h
        self.xy: tuple[float, float] = (0.0, 0.0)


class _EdgeView:
    __slots__ = ("points",)

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = [(float(x), float(y)) for x, y in points]


def layout_graph(graph: Graph) -> Layout:
    """Lay out every scope of `graph` and place them in absolute coordinates."""
    local = _layout_scope(graph, "")
    result = Layout(width=local.width + 2 * PADDING, height=local.height + 2 * PADDING)
    _place(local, PADDING, PADDING, result)
    return result


def _place(local: _Local, dx: float, dy: float, out: Layout) -> None:
    for key, box in local.nodes.items():
        out.nodes[key] = Box(box.x + dx, box.y + dy, box.w, box.h)
    for key, box in local.scopes.items():
        out.scopes[key] = Box(box.x + dx, box.y + dy, box.w, box.h)
    for edge, points in local.edges:
        out.edges.append((edge, [(x + dx, y + dy) for x, y in points]))


def _layout_scope(graph: Graph, scope_id: str) -> _Local:
    scope = graph.scopes[scope_id]
    inner: dict[str, list[tuple[str, _Local]]] = {}
    sizes: dict[str, tuple[float, float]] = {}
    for node_id in scope.nodes:
        node = graph.nodes[node_id]
        group = graph.groups.get(node_id)
        if node.type in ("Start", "End"):
            sizes[node_id] = (MARKER_SIZE, MARKER_SIZE)
        elif group is not None:
            laid = [(s, _layout_scope(graph, s)) for s in group.scopes]
            inner[node_id] = laid
            width = sum(local.width for _, local in laid) + GAP * (len(laid) - 1)
            height = max(local.height for _, local in laid) + SCOPE_LABEL
            width = max(width + 2 * PADDING, _text_width(node.name) + 2 * PADDING)
            sizes[node_id] = (width, height + HEADER + PADDING)
        else:
            sizes[node_id] = (max(120.0, _text_width(node.name) + 32), NODE_HEIGHT)
    members = set(scope.nodes)
    vertices = {node_id: Vertex(node_id) for node_id in scope.nodes}
    for node_id, vertex in vertices.items():
        vertex.view = _View(*sizes[node_id])
    edges: list[tuple[Edge, LayoutEdge]] = []
    for edge in graph.edges:
        if edge.source in members and edge.target in members and edge.source != edge.target:
            layout_edge = LayoutEdge(vertices[edge.source], vertices[edge.target])
            layout_edge.view = _EdgeView()
            edges.append((edge, layout_edge))
    layout = LayoutGraph(list(vertices.values()), [e for _, e in edges])
    start = vertices[scope.nodes[0]]
    # each connected part (a state nothing reaches, in a broken definition) side by side
    offset = 0.0
    for component in layout.C:
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace, sugiyama.yspace = GAP, GAP * 1.5
        sugiyama.route_edge = route_with_lines
        roots = [start] if start in component.sV else None
        sugiyama.init_all(roots=roots)
        sugiyama.draw()
        left = min(v.view.xy[0] - v.view.w / 2 for v in component.sV)
        top = min(v.view.xy[1] - v.view.h / 2 for v in component.sV)
        right = max(v.view.xy[0] + v.view.w / 2 for v in component.sV)
        shift_x, shift_y = offset - left, -top
        for vertex in component.sV:
            x, y = vertex.view.xy
            vertex.view.xy = (x + shift_x, y + shift_y)
        for _, layout_edge in edges:
            if layout_edge.v[0] in component.sV:
                view = layout_edge.view
                view.points = [(x + shift_x, y + shift_y) for x, y in view.points]
        offset += right - left + GAP
    nodes: dict[str, Box] = {}
    scopes: dict[str, Box] = {}
    paths: list[tuple[Edge, list[tuple[float, float]]]] = []
    for node_id, vertex in vertices.items():
        w, h = sizes[node_id]
        x, y = vertex.view.xy
        nodes[node_id] = Box(x - w / 2, y - h / 2, w, h)
    for edge, layout_edge in edges:
        paths.append((edge, layout_edge.view.points))
    for edge in graph.edges:
        if edge.source == edge.target and edge.source in members:
            box = nodes[edge.source]
            paths.append((edge, _self_loop(box)))
    local = _Local(
        width=max([b.x + b.w for b in nodes.values()] + [x for _, ps in paths for x, _ in ps]),
        height=max([b.y + b.h for b in nodes.values()] + [y for _, ps in paths for _, y in ps]),
        nodes=nodes,
        scopes=scopes,
        edges=paths,
    )
    for node_id, laid in inner.items():
        box = nodes[node_id]
        x = box.x + PADDING
        for inner_id, inner_local in laid:
            top = box.y + HEADER
            local.scopes[inner_id] = Box(
                x, top, inner_local.width, inner_local.height + SCOPE_LABEL
            )
            holder = Layout()
            _place(inner_local, x, top + SCOPE_LABEL, holder)
            local.nodes.update(holder.nodes)
            local.scopes.update(holder.scopes)
            local.edges.extend(holder.edges)
            x += inner_local.width + GAP
    return local


def _self_loop(box: Box) -> list[tuple[float, float]]:
    """A Retry drawn as a loop off the right side of its state."""
    right, top, bottom = box.x + box.w, box.y + box.h * 0.25, box.y + box.h * 0.75
    return [(right, top), (right + 22, top - 6), (right + 22, bottom + 6), (right, bottom)]


def _text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH
