"""Every validation rule: the exact ERROR diagnostics (code, location) for a small definition.

Each row changes one thing in a valid definition; the expected list is exhaustive, so a rule
that fires twice, fires elsewhere or drags a second error along fails the test.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.definition.diagnostics import Severity
from engine.definition.validate import is_valid, iter_diagnostics, validate_text

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:work"
SCHEMA = "SCHEMA_VALIDATION_FAILED"
TARGET = "MISSING_TRANSITION_TARGET"


def one(state: dict[str, Any], **others: dict[str, Any]) -> dict[str, Any]:
    """A machine whose first state `S` is `state`; `others` are more states."""
    return {"StartAt": "S", "States": {"S": state, **others}}


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": LAMBDA, "End": True, **fields}


def choice(*rules: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return one(
        {"Type": "Choice", "Choices": list(rules), "Default": "Done", **fields},
        Done={"Type": "Succeed"},
    )


def wait(**fields: Any) -> dict[str, Any]:
    return one({"Type": "Wait", "End": True, **fields})


def mapped(**fields: Any) -> dict[str, Any]:
    processor = {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}}
    return one({"Type": "Map", "End": True, "ItemProcessor": processor, **fields})


def distributed(**fields: Any) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "I",
        "States": {"I": {"Type": "Pass", "End": True}},
    }
    return one({"Type": "Map", "End": True, "ItemProcessor": processor, **fields})


def jsonata(state: dict[str, Any]) -> dict[str, Any]:
    return {**one(state), "QueryLanguage": "JSONata"}


def parallel(*branches: Any, **fields: Any) -> dict[str, Any]:
    return one({"Type": "Parallel", "Branches": list(branches), "End": True, **fields})


def branch(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def errors(definition: Any, machine_type: str = "STANDARD") -> list[tuple[str, str]]:
    return [
        (d.code, d.location)
        for d in iter_diagnostics(definition, machine_type=machine_type)
        if d.severity is Severity.ERROR
    ]


VALID = [
    pytest.param(one({"Type": "Pass", "End": True}), id="minimal-pass"),
    pytest.param(one(task()), id="task"),
    pytest.param(
        one(task(Retry=[{"ErrorEquals": ["States.ALL"], "BackoffRate": 1, "MaxAttempts": 0}])),
        id="retry-edges",
    ),
    pytest.param(choice({"Variable": "$.x", "IsPresent": True, "Next": "Done"}), id="choice"),
    pytest.param(wait(Timestamp="2016-03-14T01:59:00Z"), id="wait-timestamp"),
    pytest.param(wait(SecondsPath="$.s"), id="wait-seconds-path"),
    pytest.param(mapped(MaxConcurrency=0, ItemsPath="$.items"), id="map-inline"),
    pytest.param(distributed(Label="my-label_1", ToleratedFailurePercentage=100), id="map-dist"),
    pytest.param(parallel(branch(A={"Type": "Succeed"})), id="parallel"),
    pytest.param(
        jsonata({"Type": "Pass", "Output": "{% $states.input.x %}", "End": True}), id="jsonata"
    ),
    pytest.param(
        {**one({"Type": "Pass", "End": True, "QueryLanguage": "JSONata", "Output": 1})},
        id="jsonata-upgrade",
    ),
    pytest.param(
        one({"Type": "Pass", "Parameters": {"a.$": "States.Format('{}', $.x)"}, "End": True}),
        id="intrinsic",
    ),
    pytest.param(one(task(Credentials={"RoleArn": "arn:aws:iam::1:role/r"})), id="credentials"),
    pytest.param(
        one({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('x')"}),
        id="fail-paths",
    ),
]


@pytest.mark.parametrize("definition", VALID)
def test_valid_definitions_have_no_errors(definition: dict[str, Any]) -> None:
    assert errors(definition) == []


INVALID = [
    # --- the machine ---------------------------------------------------------------------------
    pytest.param([], [(SCHEMA, "")], id="not-an-object"),
    pytest.param({}, [(SCHEMA, "")], id="no-states-no-startat"),
    pytest.param({"States": {"S": {"Type": "Succeed"}}}, [(SCHEMA, "")], id="no-startat"),
    pytest.param({**one(task()), "Foo": 1}, [(SCHEMA, "/Foo")], id="unknown-top-field"),
    pytest.param({**one(task()), "Version": "2.0"}, [(SCHEMA, "/Version")], id="version"),
    pytest.param(
        {**one(task()), "TimeoutSeconds": 0}, [(SCHEMA, "/TimeoutSeconds")], id="top-timeout"
    ),
    pytest.param({**one(task()), "QueryLanguage": "XPath"}, [(SCHEMA, "/QueryLanguage")], id="ql"),
    pytest.param(
        {"StartAt": "X", "States": {"S": task()}},
        [(TARGET, "/StartAt")],
        id="startat-target",
    ),
    pytest.param(
        {"StartAt": "S", "States": {}},
        [(SCHEMA, "/States"), (TARGET, "/StartAt")],
        id="empty-states",
    ),
    # --- transitions and the graph ----------------------------------------------------------
    pytest.param(
        one({"Type": "Pass", "Next": "Nope"}),
        [(TARGET, "/States/S/Next"), ("MISSING_END_STATE", "/States")],
        id="next-target",
    ),
    pytest.param(one(task(), B=task()), [(TARGET, "/States/B")], id="unreachable"),
    pytest.param(
        one({"Type": "Pass", "Next": "B"}, B={"Type": "Pass", "Next": "S"}),
        [("MISSING_END_STATE", "/States")],
        id="no-terminal",
    ),
    pytest.param(one(task(Next="S")), [(SCHEMA, "/States/S/End")], id="end-and-next"),
    pytest.param(
        one({"Type": "Pass"}),
        [(SCHEMA, "/States/S"), ("MISSING_END_STATE", "/States")],
        id="no-next-no-end",
    ),
    pytest.param(
        one(
            {
                "Type": "Parallel",
                "Branches": [branch(B={"Type": "Pass", "Next": "Out"})],
                "Next": "Out",
            },
            Out={"Type": "Succeed"},
        ),
        [
            (TARGET, "/States/S/Branches/0/States/B/Next"),
            ("MISSING_END_STATE", "/States/S/Branches/0/States"),
        ],
        id="leave-branch",
    ),
    pytest.param(
        one(
            {"Type": "Parallel", "Branches": [branch(Out={"Type": "Succeed"})], "Next": "Out"},
            Out={"Type": "Succeed"},
        ),
        [("DUPLICATE_STATE_NAME", "/States/Out")],
        id="duplicate-across-branch",
    ),
    pytest.param(
        {"StartAt": "x" * 81, "States": {"x" * 81: task()}},
        [("INVALID_STATE_NAME", "/States/" + "x" * 81)],
        id="name-too-long",
    ),
    pytest.param(one({"End": True}), [(SCHEMA, "/States/S")], id="missing-type"),
    pytest.param(
        one({"Type": "Lambda", "End": True}), [(SCHEMA, "/States/S/Type")], id="unknown-type"
    ),
    pytest.param(
        one({"Type": "Pass", "End": True, "Foo": 1}),
        [(SCHEMA, "/States/S/Foo")],
        id="unknown-field",
    ),
    pytest.param(one("nope"), [(SCHEMA, "/States/S")], id="state-not-object"),
    # --- Task --------------------------------------------------------------------------------
    pytest.param(one({"Type": "Task", "End": True}), [(SCHEMA, "/States/S")], id="no-resource"),
    pytest.param(
        one(task(Resource="${lambdaArn")),
        [("INVALID_RESOURCE", "/States/S/Resource")],
        id="resource-not-arn",
    ),
    pytest.param(
        one(task(TimeoutSeconds=0)), [(SCHEMA, "/States/S/TimeoutSeconds")], id="timeout-zero"
    ),
    pytest.param(
        one(task(TimeoutSeconds=1.5)), [(SCHEMA, "/States/S/TimeoutSeconds")], id="timeout-float"
    ),
    pytest.param(
        one(task(HeartbeatSeconds=True)),
        [(SCHEMA, "/States/S/HeartbeatSeconds")],
        id="heartbeat-bool",
    ),
    pytest.param(
        one(task(TimeoutSeconds=10, HeartbeatSeconds=10)),
        [(SCHEMA, "/States/S/HeartbeatSeconds")],
        id="heartbeat-ge-timeout",
    ),
    pytest.param(
        one(task(TimeoutSeconds=10, TimeoutSecondsPath="$.t")),
        [(SCHEMA, "/States/S")],
        id="timeout-and-path",
    ),
    pytest.param(
        one(task(HeartbeatSeconds=10, HeartbeatSecondsPath="$.t")),
        [(SCHEMA, "/States/S")],
        id="heartbeat-and-path",
    ),
    pytest.param(
        one(task(Credentials={"InvalidField": "x"})),
        [(SCHEMA, "/States/S/Credentials")],
        id="credentials-no-rolearn",
    ),
    pytest.param(
        one(task(Credentials="arn")), [(SCHEMA, "/States/S/Credentials")], id="credentials-string"
    ),
    # --- Retry and Catch ------------------------------------------------------------------------
    pytest.param(
        one(task(Retry=[{"ErrorEquals": ["X"], "BackoffRate": 0.5}])),
        [(SCHEMA, "/States/S/Retry/0/BackoffRate")],
        id="backoff",
    ),
    pytest.param(
        one(task(Retry=[{"ErrorEquals": ["X"], "MaxAttempts": -1}])),
        [(SCHEMA, "/States/S/Retry/0/MaxAttempts")],
        id="max-attempts",
    ),
    pytest.param(
        one(task(Retry=[{"ErrorEquals": ["X"], "IntervalSeconds": 0}])),
        [(SCHEMA, "/States/S/Retry/0/IntervalSeconds")],
        id="interval",
    ),
    pytest.param(
        one(task(Retry=[{"ErrorEquals": ["X"], "MaxDelaySeconds": 0}])),
        [(SCHEMA, "/States/S/Retry/0/MaxDelaySeconds")],
        id="max-delay",
    ),
    pytest.param(
        one(task(Retry=[{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}])),
        [(SCHEMA, "/States/S/Retry/0/JitterStrategy")],
        id="jitter",
    ),
    pytest.param(
        one(task(Retry=[{"ErrorEquals": []}])),
        [(SCHEMA, "/States/S/Retry/0/ErrorEquals")],
        id="error-equals-empty",
    ),
    pytest.param(
        one(task(Retry=[{"IntervalSeconds": 1}])),
        [(SCHEMA, "/States/S/Retry/0")],
        id="error-equals-missing",
    ),
    pytest.param(
        one(task(Retry=[{"ErrorEquals": ["X"], "Foo": 1}])),
        [(SCHEMA, "/States/S/Retry/0/Foo")],
        id="retrier-field",
    ),
    pytest.param(
        one(task(Retry=[{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}])),
        [(SCHEMA, "/States/S/Retry/0/ErrorEquals")],
        id="all-not-last",
    ),
    pytest.param(
        one(task(Retry=[{"ErrorEquals": ["States.ALL", "X"]}])),
        [(SCHEMA, "/States/S/Retry/0/ErrorEquals")],
        id="all-not-alone",
    ),
    pytest.param(one(task(Retry="x")), [(SCHEMA, "/States/S/Retry")], id="retry-not-array"),
    pytest.param(
        one(task(Catch=[{"ErrorEquals": ["X"]}])),
        [(SCHEMA, "/States/S/Catch/0")],
        id="catch-no-next",
    ),
    pytest.param(
        one(task(Catch=[{"ErrorEquals": ["X"], "Next": "Nope"}])),
        [(TARGET, "/States/S/Catch/0/Next")],
        id="catch-target",
    ),
    pytest.param(
        one(task(Catch=[{"ErrorEquals": ["X"], "Next": "S", "ResultPath": "$$.x"}])),
        [(SCHEMA, "/States/S/Catch/0/ResultPath")],
        id="catch-resultpath",
    ),
    # --- Choice ------------------------------------------------------------------------------
    pytest.param(choice(), [(SCHEMA, "/States/S/Choices")], id="choices-empty"),
    pytest.param(
        one({"Type": "Choice", "Default": "S"}),
        [(SCHEMA, "/States/S"), ("MISSING_END_STATE", "/States")],
        id="choices-missing",
    ),
    pytest.param(
        choice({"Variable": "$.x", "Next": "Done"}),
        [(SCHEMA, "/States/S/Choices/0")],
        id="no-operator",
    ),
    pytest.param(
        choice({"Variable": "$.x", "IsNull": True, "IsPresent": True, "Next": "Done"}),
        [(SCHEMA, "/States/S/Choices/0")],
        id="two-operators",
    ),
    pytest.param(
        choice({"IsNull": True, "Next": "Done"}),
        [(SCHEMA, "/States/S/Choices/0")],
        id="no-variable",
    ),
    pytest.param(
        choice({"Variable": "$.x", "IsNull": True}), [(SCHEMA, "/States/S/Choices/0")], id="no-next"
    ),
    pytest.param(
        choice({"And": [{"Variable": "$.x", "IsNull": True, "Next": "Done"}], "Next": "Done"}),
        [(SCHEMA, "/States/S/Choices/0/And/0/Next")],
        id="nested-next",
    ),
    pytest.param(
        choice({"Or": [], "Next": "Done"}), [(SCHEMA, "/States/S/Choices/0/Or")], id="or-empty"
    ),
    pytest.param(
        choice({"Variable": "$.x", "NumericEquals": "1", "Next": "Done"}),
        [(SCHEMA, "/States/S/Choices/0/NumericEquals")],
        id="operand-type",
    ),
    pytest.param(
        # choice.py cannot compile it: it used to validate, then fail to load.
        choice({"Variable": "$.t", "TimestampEquals": "yesterday", "Next": "Done"}),
        [(SCHEMA, "/States/S/Choices/0/TimestampEquals")],
        id="operand-not-a-timestamp",
    ),
    pytest.param(
        choice({"Variable": "States.ArrayContains($.a, 1)", "IsNull": True, "Next": "Done"}),
        [(SCHEMA, "/States/S/Choices/0/Variable")],
        id="variable-intrinsic",
    ),
    pytest.param(
        choice({"Variable": "$.x", "StringEqualsPath": "x", "Next": "Done"}),
        [(SCHEMA, "/States/S/Choices/0/StringEqualsPath")],
        id="operand-path",
    ),
    pytest.param(
        choice({"Variable": "$.x", "IsNull": True, "Next": "Done"}, End=True),
        [(SCHEMA, "/States/S/End")],
        id="choice-end",
    ),
    pytest.param(
        choice({"Variable": "$.x", "IsNull": True, "Next": "Nope"}),
        [(TARGET, "/States/S/Choices/0/Next")],
        id="choice-target",
    ),
    pytest.param(
        {**choice({"Condition": "{% true %}", "Next": "Done"}), "QueryLanguage": "JSONata"},
        [],
        id="jsonata-condition-ok",
    ),
    pytest.param(
        {**choice({"Condition": "{% ( %}", "Next": "Done"}), "QueryLanguage": "JSONata"},
        [(SCHEMA, "/States/S/Choices/0/Condition")],
        id="jsonata-condition-bad",
    ),
    pytest.param(
        {**choice({"Variable": "$.x", "IsNull": True, "Next": "Done"}), "QueryLanguage": "JSONata"},
        [
            (SCHEMA, "/States/S/Choices/0/Variable"),
            (SCHEMA, "/States/S/Choices/0/IsNull"),
            (SCHEMA, "/States/S/Choices/0"),
        ],
        id="jsonata-rule-with-variable",
    ),
    # --- Wait, Fail, Succeed ----------------------------------------------------------------------
    pytest.param(wait(), [(SCHEMA, "/States/S")], id="wait-none"),
    pytest.param(wait(Seconds=1, SecondsPath="$.s"), [(SCHEMA, "/States/S")], id="wait-two"),
    pytest.param(wait(Seconds=-1), [(SCHEMA, "/States/S/Seconds")], id="wait-negative"),
    pytest.param(
        wait(Timestamp="2016-13-05T21:29:29Z"),
        [(SCHEMA, "/States/S/Timestamp")],
        id="wait-bad-month",
    ),
    pytest.param(
        wait(Timestamp="2016-12-05T21:29:29"), [(SCHEMA, "/States/S/Timestamp")], id="wait-no-zone"
    ),
    pytest.param(
        wait(TimestampPath="$.a[*]"),
        [(SCHEMA, "/States/S/TimestampPath")],
        id="wait-path-not-reference",
    ),
    pytest.param(
        one({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}),
        [(SCHEMA, "/States/S")],
        id="fail-error-both",
    ),
    pytest.param(
        one({"Type": "Fail", "Cause": "C", "CausePath": "$.c"}),
        [(SCHEMA, "/States/S")],
        id="fail-cause-both",
    ),
    pytest.param(
        one({"Type": "Fail", "Parameters": {}}),
        [(SCHEMA, "/States/S/Parameters")],
        id="fail-parameters",
    ),
    pytest.param(
        one({"Type": "Succeed", "ResultPath": "$.x"}),
        [(SCHEMA, "/States/S/ResultPath")],
        id="succeed-resultpath",
    ),
    # --- Parallel and Map -----------------------------------------------------------------------
    pytest.param(one({"Type": "Parallel", "End": True}), [(SCHEMA, "/States/S")], id="no-branches"),
    pytest.param(parallel(), [(SCHEMA, "/States/S/Branches")], id="branches-empty"),
    pytest.param(
        parallel([branch(A={"Type": "Succeed"})]),
        [(SCHEMA, "/States/S/Branches/0")],
        id="branch-not-object",
    ),
    pytest.param(
        parallel({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Foo": 1}),
        [(SCHEMA, "/States/S/Branches/0/Foo")],
        id="branch-field",
    ),
    pytest.param(one({"Type": "Map", "End": True}), [(SCHEMA, "/States/S")], id="map-no-processor"),
    pytest.param(
        mapped(Iterator={"StartAt": "J", "States": {"J": {"Type": "Pass", "End": True}}}),
        [(SCHEMA, "/States/S")],
        id="processor-and-iterator",
    ),
    pytest.param(
        mapped(MaxConcurrency=-1), [(SCHEMA, "/States/S/MaxConcurrency")], id="max-concurrency"
    ),
    pytest.param(
        mapped(MaxConcurrency=1, MaxConcurrencyPath="$.m"),
        [(SCHEMA, "/States/S")],
        id="max-concurrency-both",
    ),
    pytest.param(
        distributed(ToleratedFailurePercentage=105),
        [(SCHEMA, "/States/S/ToleratedFailurePercentage")],
        id="tolerated-pct",
    ),
    pytest.param(
        distributed(ToleratedFailureCount=0, ToleratedFailureCountPath="$.c"),
        [(SCHEMA, "/States/S")],
        id="tolerated-both",
    ),
    pytest.param(mapped(ItemsPath=None), [(SCHEMA, "/States/S/ItemsPath")], id="itemspath-null"),
    pytest.param(
        mapped(ItemSelector={}, Parameters={}),
        [(SCHEMA, "/States/S")],
        id="selector-and-parameters",
    ),
    pytest.param(
        distributed(Label="x" * 41), [("INVALID_LABEL_NAME", "/States/S/Label")], id="label-long"
    ),
    pytest.param(
        distributed(Label="a b"), [("INVALID_LABEL_NAME", "/States/S/Label")], id="label-space"
    ),
    pytest.param(
        distributed(Label="a:b"), [("INVALID_LABEL_NAME", "/States/S/Label")], id="label-colon"
    ),
    pytest.param(
        one(
            {
                "Type": "Map",
                "Label": "L",
                "Next": "T",
                "ItemProcessor": branch(I={"Type": "Pass", "End": True}),
            },
            T={
                "Type": "Map",
                "Label": "L",
                "End": True,
                "ItemProcessor": branch(J={"Type": "Pass", "End": True}),
            },
        ),
        [("DUPLICATE_LABEL_NAME", "/States/T/Label")],
        id="label-duplicate",
    ),
    pytest.param(
        one(
            {
                "Type": "Map",
                "End": True,
                "ItemProcessor": {
                    **branch(I={"Type": "Pass", "End": True}),
                    "ProcessorConfig": {"Mode": "FAST"},
                },
            }
        ),
        [(SCHEMA, "/States/S/ItemProcessor/ProcessorConfig/Mode")],
        id="processor-mode",
    ),
    pytest.param(
        one(
            {
                "Type": "Map",
                "End": True,
                "ItemProcessor": {
                    **branch(I={"Type": "Pass", "End": True}),
                    "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                },
            }
        ),
        [(SCHEMA, "/States/S/ItemProcessor/ProcessorConfig")],
        id="distributed-no-execution-type",
    ),
    pytest.param(
        distributed(ItemReader={"ReaderConfig": {}}),
        [(SCHEMA, "/States/S/ItemReader")],
        id="reader-no-resource",
    ),
    pytest.param(
        distributed(
            ItemReader={
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON", "MaxItems": 1, "MaxItemsPath": "$.m"},
                "Parameters": {"Bucket": "b", "Key": "k"},
            }
        ),
        [(SCHEMA, "/States/S/ItemReader/ReaderConfig")],
        id="reader-max-items-both",
    ),
    pytest.param(
        distributed(ItemBatcher={"MaxItemsPerBatch": 2, "MaxItemsPerBatchPath": "$.b"}),
        [(SCHEMA, "/States/S/ItemBatcher")],
        id="batcher-both",
    ),
    # --- paths, templates, intrinsics ------------------------------------------------------------
    pytest.param(
        one({"Type": "Pass", "InputPath": "bug$.x", "End": True}),
        [(SCHEMA, "/States/S/InputPath")],
        id="inputpath",
    ),
    pytest.param(
        one({"Type": "Pass", "InputPath": "States.Format('x')", "End": True}),
        [(SCHEMA, "/States/S/InputPath")],
        id="inputpath-intrinsic",
    ),
    pytest.param(
        one(task(ResultPath="$foo")), [(SCHEMA, "/States/S/ResultPath")], id="resultpath-variable"
    ),
    pytest.param(
        one(task(ResultPath="$.a[*]")), [(SCHEMA, "/States/S/ResultPath")], id="resultpath-wildcard"
    ),
    pytest.param(
        one(task(ResultPath="..x")), [(SCHEMA, "/States/S/ResultPath")], id="resultpath-dots"
    ),
    pytest.param(
        one(task(Parameters={"a.$": 23})),
        [(SCHEMA, "/States/S/Parameters/a.$")],
        id="template-number",
    ),
    pytest.param(
        one(task(Parameters={"a": {"b.$": "23"}})),
        [(SCHEMA, "/States/S/Parameters/a/b.$")],
        id="template-text",
    ),
    pytest.param(
        one(task(Parameters={"a.$": "$$23"})),
        [(SCHEMA, "/States/S/Parameters/a.$")],
        id="template-context",
    ),
    pytest.param(
        one(task(Parameters={"a": [{"b.$": "States.Nope(1)"}]})),
        [(SCHEMA, "/States/S/Parameters/a/0/b.$")],
        id="template-intrinsic",
    ),
    pytest.param(
        one(task(ResultSelector=["x"])),
        [(SCHEMA, "/States/S/ResultSelector")],
        id="resultselector-array",
    ),
    pytest.param(
        one(task(ResultSelector={"a/b.$": 1})),
        [(SCHEMA, "/States/S/ResultSelector/a~1b.$")],
        id="pointer-escape",
    ),
    pytest.param(
        one({"Type": "Pass", "Assign": {"1x": 1}, "End": True}),
        [(SCHEMA, "/States/S/Assign/1x")],
        id="assign-name",
    ),
    pytest.param(
        one({"Type": "Pass", "Assign": {"x.$": "nope"}, "End": True}),
        [(SCHEMA, "/States/S/Assign/x.$")],
        id="assign-path",
    ),
    # --- query languages, JSONata ----------------------------------------------------------------
    pytest.param(
        jsonata({"Type": "Pass", "Parameters": {}, "ResultPath": "$.x", "End": True}),
        [(SCHEMA, "/States/S/Parameters"), (SCHEMA, "/States/S/ResultPath")],
        id="jsonata-state-jsonpath-fields",
    ),
    pytest.param(
        one({"Type": "Pass", "Output": 1, "End": True}),
        [(SCHEMA, "/States/S/Output")],
        id="jsonpath-state-output",
    ),
    pytest.param(
        {
            **one({"Type": "Pass", "End": True, "QueryLanguage": "JSONPath"}),
            "QueryLanguage": "JSONata",
        },
        [(SCHEMA, "/States/S/QueryLanguage")],
        id="downgrade",
    ),
    pytest.param(
        jsonata({"Type": "Pass", "Output": "{% 420. %}", "End": True}),
        [(SCHEMA, "/States/S/Output")],
        id="jsonata-syntax",
    ),
    pytest.param(
        jsonata({"Type": "Pass", "Output": "{% 10 %", "End": True}),
        [(SCHEMA, "/States/S/Output")],
        id="jsonata-unclosed",
    ),
    pytest.param(
        jsonata({"Type": "Pass", "Assign": {"top": {"a": [{"b": "{% ( %}"}]}}, "End": True}),
        [(SCHEMA, "/States/S/Assign/top/a/0/b")],
        id="jsonata-nested",
    ),
    pytest.param(
        jsonata({"Type": "Pass", "Assign": {"states": 1}, "End": True}),
        [(SCHEMA, "/States/S/Assign/states")],
        id="jsonata-reserved",
    ),
    pytest.param(
        jsonata(task(TimeoutSeconds="{% $x %}", Arguments={"a": "{% $states.input %}"})),
        [],
        id="jsonata-task-ok",
    ),
    pytest.param(
        jsonata({"Type": "Wait", "Seconds": "{% ) %}", "End": True}),
        [(SCHEMA, "/States/S/Seconds")],
        id="jsonata-seconds",
    ),
]


@pytest.mark.parametrize(("definition", "expected"), INVALID)
def test_rule(definition: Any, expected: list[tuple[str, str]]) -> None:
    assert errors(definition) == expected


EXPRESS_RESOURCES = [
    pytest.param("arn:aws:states:us-east-1:123456789012:activity:a", id="activity"),
    pytest.param("arn:aws:states:::states:startExecution.sync", id="sync"),
    pytest.param("arn:aws:states:::states:startExecution.sync:2", id="sync2"),
    pytest.param("arn:aws:states:::sqs:sendMessage.waitForTaskToken", id="wftt"),
]


@pytest.mark.parametrize("resource", EXPRESS_RESOURCES)
def test_express_rejects_resource(resource: str) -> None:
    state = task(Resource=resource)
    if "states:startExecution" in resource:  # its one required field, checked on its own
        state["Parameters"] = {
            "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child"
        }
    definition = one(state)
    assert errors(definition, "EXPRESS") == [(SCHEMA, "/States/S/Resource")]
    assert errors(definition, "STANDARD") == []


def test_express_child_of_distributed_map_is_express() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        **branch(I=task(Resource="arn:aws:states:::sqs:sendMessage.waitForTaskToken")),
    }
    definition = one({"Type": "Map", "End": True, "ItemProcessor": processor})
    assert errors(definition) == [(SCHEMA, "/States/S/ItemProcessor/States/I/Resource")]


def test_distributed_child_may_use_jsonpath_under_jsonata() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        **branch(I={"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}),
    }
    definition = jsonata({"Type": "Map", "End": True, "ItemProcessor": processor})
    assert errors(definition) == []


WARNINGS = [
    pytest.param(
        one(task(Parameters={"a": "$.x"})), ("NO_DOLLAR", "/States/S/Parameters/a"), id="no-dollar"
    ),
    pytest.param(
        one({"Type": "Pass", "Result": {"a.$": "$.x"}, "End": True}),
        ("PASS_RESULT_IS_STATIC", "/States/S/Result"),
        id="pass-result-static",
    ),
    pytest.param(
        one(task(Retry=[{"ErrorEquals": ["X", "Y"]}, {"ErrorEquals": ["X"]}])),
        ("RETRIER_NEVER_APPLIES", "/States/S/Retry/1/ErrorEquals"),
        id="retrier-shadowed",
    ),
    pytest.param(
        one(task(Catch=[{"ErrorEquals": ["X"], "Next": "S"}, {"ErrorEquals": ["X"], "Next": "S"}])),
        ("CATCHER_NEVER_APPLIES", "/States/S/Catch/1/ErrorEquals"),
        id="catcher-shadowed",
    ),
]


@pytest.mark.parametrize(("definition", "expected"), WARNINGS)
def test_warning(definition: dict[str, Any], expected: tuple[str, str]) -> None:
    diagnostics = list(iter_diagnostics(definition))
    assert [(d.code, d.location) for d in diagnostics] == [expected]
    assert diagnostics[0].severity is Severity.WARNING
    assert is_valid(diagnostics)


def test_every_problem_is_reported_not_just_the_first() -> None:
    definition = one(
        task(TimeoutSeconds=0, Retry=[{"ErrorEquals": ["X"], "BackoffRate": 0}], Foo=1),
        B={"Type": "Pass", "Next": "Nowhere"},
    )
    assert errors(definition) == [
        (SCHEMA, "/States/S/TimeoutSeconds"),
        (SCHEMA, "/States/S/Retry/0/BackoffRate"),
        (SCHEMA, "/States/S/Foo"),
        (TARGET, "/States/B/Next"),
        (TARGET, "/States/B"),
    ]


def test_messages_say_what_and_how() -> None:
    (diagnostic,) = iter_diagnostics(one({"Type": "Pass", "Next": "S", "End": True}))
    assert diagnostic.message == "A state may have 'Next' or 'End', not both; remove one"
    (missing,) = iter_diagnostics({"States": {"S": {"Type": "Succeed"}}})
    assert missing.message == "These fields are required: [StartAt]"


TEXTS = [
    pytest.param("not a definition", "INVALID_JSON_DESCRIPTION", id="not-json"),
    pytest.param(
        '{"StartAt": "S",\n "StartAt": "T"}', "INVALID_JSON_DESCRIPTION", id="duplicate-key"
    ),
    pytest.param("  \n", "MISSING_DESCRIPTION", id="empty"),
]


@pytest.mark.parametrize(("text", "code"), TEXTS)
def test_validate_text_unreadable(text: str, code: str) -> None:
    (diagnostic,) = validate_text(text)
    assert (diagnostic.code, diagnostic.location, diagnostic.severity) == (code, "", Severity.ERROR)


def test_validate_text_reports_line_and_column() -> None:
    (diagnostic,) = validate_text('{"StartAt": "S",\n  "States": {,}}')
    assert diagnostic.message == (
        "Invalid JSON: Expecting property name enclosed in double quotes at line 2, column 14"
    )


def test_validate_text_reads_yaml() -> None:
    text = (
        "StartAt: S\nStates:\n  S:\n    Type: Wait\n"
        "    Timestamp: 2016-03-14T01:59:00Z\n    End: true\n"
    )
    assert validate_text(text) == []


def test_machine_type_must_be_known() -> None:
    with pytest.raises(ValueError, match="machine_type"):
        list(iter_diagnostics({}, machine_type="FAST"))
