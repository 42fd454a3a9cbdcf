"""svg.py, text.py and layout.py over every machine in asl_examples/."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definition.parse import parse_text
from engine.graph import draw
from engine.graph.layout import layout_graph
from engine.graph.model import build_graph

EXAMPLES = sorted(
    p for p in (Path(__file__).resolve().parents[2] / "asl_examples").rglob("*.asl.json")
)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_renders_as_svg_with_one_box_per_state(path: Path) -> None:
    definition = parse_text(path.read_text("utf-8"))
    graph = build_graph(definition)
    root = ET.fromstring(draw(definition, "svg"))
    assert root.tag == SVG + "svg"
    states = [g for g in root.iter(SVG + "g") if "state" in g.get("class", "").split()]
    assert sorted(g.get("data-id") for g in states) == sorted(n.id for n in graph.states())
    markers = [g for g in root.iter(SVG + "g") if "marker" in g.get("class", "").split()]
    assert len(markers) == 2 * len(graph.scopes)
    assert len(list(root.iter(SVG + "path"))) >= len(
        list(graph.edges)
    )  # every edge drawn (plus the arrow heads in <defs>)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_state_lies_inside_its_scope_and_no_two_boxes_overlap(path: Path) -> None:
    graph = build_graph(parse_text(path.read_text("utf-8")))
    layout = layout_graph(graph)
    for node in graph.nodes.values():
        box = layout.nodes[node.id]
        assert box.x >= 0
        assert box.x + box.w <= layout.width
        assert box.y >= 0
        assert box.y + box.h <= layout.height
        if node.scope:
            outer = layout.scopes[node.scope]
            assert outer.x <= box.x
            assert box.x + box.w <= outer.x + outer.w + 0.01
            assert outer.y <= box.y
            assert box.y + box.h <= outer.y + outer.h + 0.01
        for other in graph.scopes[node.scope].nodes:
            if other != node.id:
                b = layout.nodes[other]
                apart = (
                    box.x + box.w <= b.x
                    or b.x + b.w <= box.x
                    or box.y + box.h <= b.y
                    or b.y + b.h <= box.y
                )
                assert apart, (node.id, other)


def test_dot_output_of_a_parallel_with_a_catch() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}],
                "End": True,
            },
            "F": {"Type": "Fail", "Error": 'Say "no"'},
        },
    }
    assert draw(definition, "dot") == (
        "digraph StateMachine {\n"
        "  compound=true;\n"
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="sans-serif"];\n'
        '  edge [fontname="sans-serif", fontsize=10];\n'
        '  n0 [label="", shape=circle, width=0.25, fillcolor="#4a5260"];\n'
        "  subgraph cluster_n1 {\n"
        '    label="P\\nParallel"; style="rounded,filled"; fillcolor="#f4f6f8";\n'
        '    n1 [label="P\\nParallel", fillcolor="#ffffff", color="#5f6b7a"];\n'
        "    subgraph cluster_g0 {\n"
        '      label="Branch 1"; style=dashed;\n'
        '      n2 [label="", shape=circle, width=0.25, fillcolor="#4a5260"];\n'
        '      n3 [label="A\\nPass", fillcolor="#ffffff", color="#5f6b7a"];\n'
        '      n4 [label="", shape=doublecircle, width=0.25, fillcolor="#4a5260"];\n'
        "    }\n"
        "    n1 -> n2 [style=dotted];\n"
        "  }\n"
        '  n5 [label="F\\nFail", fillcolor="#ffffff", color="#5f6b7a"];\n'
        '  n6 [label="", shape=doublecircle, width=0.25, fillcolor="#4a5260"];\n'
        "  n2 -> n3;\n"
        "  n3 -> n4;\n"
        "  n0 -> n1;\n"
        "  n1 -> n6;\n"
        '  n1 -> n5 [label="States.ALL", style=dashed, color="#b3261e", fontcolor="#b3261e"];\n'
        "  n5 -> n6;\n"
        "}\n"
    )


def test_mermaid_escapes_quotes_and_colours_an_execution() -> None:
    definition = {
        "StartAt": 'Say "hi" #1',
        "States": {'Say "hi" #1': {"Type": "Pass", "End": True}},
    }
    events = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted"},
        {
            "id": 2,
            "previousEventId": 1,
            "type": "PassStateEntered",
            "stateEnteredEventDetails": {"name": 'Say "hi" #1'},
        },
    ]
    assert draw(definition, "mermaid", events) == (
        "flowchart TD\n"
        '  n0(("Start"))\n'
        '  n1["Say #quot;hi#quot; #35;1 (Pass)"]\n'
        '  n2((("End")))\n'
        "  n0 --> n1\n"
        "  n1 --> n2\n"
        "  classDef running fill:#d3e5ff,stroke:#0a5cc2,stroke-width:2px\n"
        "  class n1 running\n"
    )


def test_svg_marks_each_state_with_its_status_class() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}},
    }
    events = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted"},
        {
            "id": 2,
            "previousEventId": 1,
            "type": "PassStateEntered",
            "stateEnteredEventDetails": {"name": "A"},
        },
        {
            "id": 3,
            "previousEventId": 2,
            "type": "PassStateExited",
            "stateExitedEventDetails": {"name": "A"},
        },
    ]
    root = ET.fromstring(draw(definition, "svg", events))
    classes = {
        g.get("data-name"): g.get("class") for g in root.iter(SVG + "g") if g.get("data-name")
    }
    assert classes == {"A": "state status-succeeded", "B": "state status-not-run"}
    assert re.fullmatch(r"[\d.]+", root.get("width", ""))


NAMES = st.sampled_from(["A", "B", "C", "D", "E"])


@st.composite
def machines(draw_from: st.DrawFn, depth: int = 0) -> dict[str, object]:
    """Definitions valid or not: any Next (themselves, missing states), cycles, Catch and Retry,
    Parallel and Map states nested two deep."""
    states: dict[str, object] = {}
    for name in draw_from(st.lists(NAMES, min_size=1, max_size=5, unique=True)):
        kind = draw_from(
            st.sampled_from(["Pass", "Task", "Choice", "Succeed", "Fail", "Parallel", "Map"])
        )
        state: dict[str, object] = {"Type": kind}
        if kind == "Choice":
            state["Choices"] = [
                {"Variable": "$.x", "IsPresent": True, "Next": n}
                for n in draw_from(st.lists(NAMES, max_size=3))
            ]
            state["Default"] = draw_from(NAMES)
        elif kind not in ("Succeed", "Fail"):
            state["Next"] = draw_from(NAMES)
            if draw_from(st.booleans()):
                state["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": draw_from(NAMES)}]
            if draw_from(st.booleans()):
                state["Retry"] = [{"ErrorEquals": ["States.ALL"]}]
        if kind == "Parallel" and depth < 2:
            state["Branches"] = draw_from(st.lists(machines(depth + 1), min_size=1, max_size=3))
        if kind == "Map" and depth < 2:
            state["ItemProcessor"] = draw_from(machines(depth + 1))
        states[name] = state
    return {"StartAt": draw_from(NAMES), "States": states}


@settings(max_examples=60, deadline=None)
@given(machines())
def test_any_definition_is_laid_out_and_drawn(definition: dict[str, object]) -> None:
    graph = build_graph(definition)  # type: ignore[arg-type]
    layout = layout_graph(graph)
    assert set(layout.nodes) == set(graph.nodes)
    root = ET.fromstring(draw(definition, "svg"))  # type: ignore[arg-type]
    states = [g for g in root.iter(SVG + "g") if "state" in g.get("class", "").split()]
    assert len(states) == len(graph.states())
