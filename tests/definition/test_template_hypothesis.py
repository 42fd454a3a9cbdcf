"""Templates from outside never make the reader raise anything but `TemplateInvalid`: any JSON
value through the intrinsic resolver, any resource properties through `read_machine` and
`read_functions` (Hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definition.template import TemplateInvalid, read_functions, read_machine
from engine.definition.template_intrinsics import Pseudo, Resolver

NAMES = st.sampled_from(
    [
        "Ref",
        "Fn::GetAtt",
        "Fn::Sub",
        "Fn::Join",
        "Fn::Select",
        "Fn::Split",
        "Fn::If",
        "Fn::Equals",
        "Fn::Not",
        "Fn::And",
        "Fn::Or",
        "Condition",
        "Fn::FindInMap",
        "Fn::Base64",
        "Fn::GetAZs",
        "Fn::ImportValue",
        "Fn::Cidr",
        "Fn",
        "Fn.Arn",
        "M",
        "P",
        "Q",
        "AWS::Region",
        "AWS::NoValue",
        "C",
        "Loop",
        "${Fn.Arn}",
        "${P}",
        "${!x}",
        "Arn",
        "",
    ]
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), NAMES, st.text(max_size=5))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(NAMES, inner, max_size=3)),
    max_leaves=20,
)


def template(properties: Any, functions: Any) -> dict[str, Any]:
    return {
        "Parameters": {"P": {"Type": "String", "Default": "p"}, "Q": {"Type": "String"}},
        "Conditions": {"C": {"Fn::Equals": [{"Ref": "P"}, "p"]}, "Loop": {"Condition": "Loop"}},
        "Mappings": {"M": {"a": {"b": "c"}}},
        "Resources": {
            "Machine": {"Type": "AWS::Serverless::StateMachine", "Properties": properties},
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": functions},
        },
    }


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_the_resolver_never_raises(value: Any) -> None:
    resolver = Resolver(template({}, {}), {}, Pseudo())
    resolver.resolve(value, "X")


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "Definition",
                "DefinitionUri",
                "DefinitionString",
                "DefinitionSubstitutions",
                "Name",
                "Type",
            ]
        ),
        VALUES,
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "FunctionName",
                "Runtime",
                "Handler",
                "CodeUri",
                "Timeout",
                "MemorySize",
                "PackageType",
            ]
        ),
        VALUES,
    ),
)
def test_reading_a_machine_raises_only_template_invalid(
    properties: dict[str, Any], functions: dict[str, Any]
) -> None:
    value = template(properties, functions)
    problems: list[object] = []
    try:
        read_machine(value, "t.yaml")
    except TemplateInvalid as exc:
        problems = list(exc.problems)
        assert problems  # never raised empty
    read_functions(value)
