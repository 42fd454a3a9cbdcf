"""engine/graph/model.py: what a definition's graph holds, for every state type."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.graph.model import Edge, build_graph

MACHINE = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.kind", "StringEquals": "gift", "Next": "Fan"},
                {"Condition": "{% $states.input.n > 2 %}", "Next": "Each"},
                {"And": [{"Variable": "$.a", "IsPresent": True}], "Next": "Wait"},
            ],
            "Default": "Wait",
        },
        "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}},
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broke"}],
            "Next": "Done",
        },
        "Each": {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "Work",
                "States": {
                    "Work": {
                        "Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:w",
                        "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2}],
                        "End": True,
                    }
                },
            },
            "Next": "Done",
        },
        "Broke": {"Type": "Fail", "Error": "Broke"},
        "Done": {"Type": "Succeed"},
    },
}


def test_every_state_is_a_node_with_its_type() -> None:
    graph = build_graph(MACHINE)
    assert {(n.name, n.type, n.scope) for n in graph.states()} == {
        ("Route", "Choice", ""),
        ("Wait", "Wait", ""),
        ("Fan", "Parallel", ""),
        ("A", "Pass", "/States/Fan/Branches/0"),
        ("B", "Succeed", "/States/Fan/Branches/1"),
        ("Each", "Map", ""),
        ("Work", "Task", "/States/Each/ItemProcessor"),
        ("Broke", "Fail", ""),
        ("Done", "Succeed", ""),
    }


def test_parallel_branches_and_map_processor_are_nested_groups() -> None:
    graph = build_graph(MACHINE)
    assert graph.groups["/States/Fan"].scopes == (
        "/States/Fan/Branches/0",
        "/States/Fan/Branches/1",
    )
    assert graph.groups["/States/Each"].scopes == ("/States/Each/ItemProcessor",)
    assert graph.scopes["/States/Fan/Branches/1"].label == "Branch 2"
    assert graph.scopes["/States/Each/ItemProcessor"].nodes == (
        "start:/States/Each/ItemProcessor",
        "/States/Each/ItemProcessor/States/Work",
        "end:/States/Each/ItemProcessor",
    )


def test_choice_rules_are_labelled_and_default_is_its_own_kind() -> None:
    edges = [e for e in build_graph(MACHINE).edges if e.source == "/States/Route"]
    assert edges == [
        Edge("/States/Route", "/States/Fan", "choice", '$.kind StringEquals "gift"'),
        Edge("/States/Route", "/States/Each", "choice", "$states.input.n > 2"),
        Edge("/States/Route", "/States/Wait", "choice", "Rule 3"),
        Edge("/States/Route", "/States/Wait", "default", "Default"),
    ]


def test_catch_and_retry_edges_are_distinct() -> None:
    edges = build_graph(MACHINE).edges
    assert Edge("/States/Fan", "/States/Broke", "catch", "States.ALL") in edges
    work = "/States/Each/ItemProcessor/States/Work"
    assert Edge(work, work, "retry", "States.Timeout ×2") in edges
    assert Edge("/States/Fan", "/States/Done", "next") in edges
    assert Edge("start:", "/States/Route", "start") in edges
    assert Edge("/States/Broke", "end:", "end") in edges


def test_the_older_iterator_field_is_a_map_processor() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    assert build_graph(definition).groups["/States/M"].scopes == ("/States/M/Iterator",)


def test_names_are_escaped_as_json_pointer_tokens() -> None:
    definition = {"StartAt": "a/b~c", "States": {"a/b~c": {"Type": "Pass", "End": True}}}
    assert [n.id for n in build_graph(definition).states()] == ["/States/a~1b~0c"]


@pytest.mark.parametrize(
    "definition",
    [None, [], "text", {"States": []}, {"StartAt": 1, "States": {"A": 3}}, {"States": {"A": {}}}],
    ids=["null", "array", "string", "states-array", "state-number", "state-empty"],
)
def test_a_broken_definition_is_drawn_as_far_as_it_can_be_read(definition: object) -> None:
    graph = build_graph(definition)  # type: ignore[arg-type]
    assert "start:" in graph.nodes
    assert "end:" in graph.nodes


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_json_value_gives_a_graph_whose_edges_join_its_nodes(value: object) -> None:
    graph = build_graph(json.loads(json.dumps(value)))
    for edge in graph.edges:
        assert edge.source in graph.nodes
        assert edge.target in graph.nodes
