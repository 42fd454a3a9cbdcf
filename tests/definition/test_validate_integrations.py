"""`asl validate` on service integrations: what AWS's validator refuses, located."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.definition.validate import iter_diagnostics
from engine.values import JSON

INVALID = (
    "The resource provided {} is not recognized. The value is not a valid resource ARN, or the "
    "resource is not available in this region."
)
CHILD = "arn:aws:states:us-east-1:111111111111:stateMachine:child"


def task(resource: str, parameters: JSON = None, language: str = "JSONPath") -> str:
    state: dict[str, JSON] = {"Type": "Task", "Resource": resource, "End": True}
    if parameters is not None:
        state["Parameters" if language == "JSONPath" else "Arguments"] = parameters
    return json.dumps({"QueryLanguage": language, "StartAt": "T", "States": {"T": state}})


def found(text: str) -> list[tuple[str, str, str, str]]:
    return [
        (d.severity.value, d.code, d.location, d.message)
        for d in iter_diagnostics(json.loads(text))
    ]


CASES = [
    (
        "aws-sdk parameter not in the request",
        task(
            "arn:aws:states:::aws-sdk:dynamodb:getItem",
            {"TableName": "t", "Key": {}, "Keys.$": "$.k"},
        ),
        [
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Parameters/Keys.$",
                'The field "Keys" is not supported by Step Functions',
            )
        ],
    ),
    (
        "aws-sdk unknown action",
        task("arn:aws:states:::aws-sdk:sqs:sendMessages", {}),
        [
            (
                "ERROR",
                "INVALID_RESOURCE",
                "/States/T/Resource",
                INVALID.format("arn:aws:states:::aws-sdk:sqs:sendMessages")
                + " The AWS SDK service 'sqs' has no action 'sendMessages'.",
            )
        ],
    ),
    (
        "aws-sdk unknown service: a warning (botocore may lag AWS)",
        task("arn:aws:states:::aws-sdk:events:putEvents", {}),
        [
            (
                "WARNING",
                "INVALID_RESOURCE",
                "/States/T/Resource",
                INVALID.format("arn:aws:states:::aws-sdk:events:putEvents")
                + " No AWS SDK service is named 'events' in the installed botocore (Step "
                "Functions spells services as the AWS SDK for Java does: 'sfn', 'eventbridge', "
                "'cloudwatchlogs'); a Task calling it fails at run time.",
            )
        ],
    ),
    (
        "optimized parameter not supported",
        task(
            "arn:aws:states:::sqs:sendMessage",
            {"QueueUrl": "q", "MessageBody": "b", "MessageSystemAttributes": {}},
        ),
        [
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Parameters/MessageSystemAttributes",
                'The field "MessageSystemAttributes" is not supported by Step Functions',
            )
        ],
    ),
    (
        "optimized action that does not exist",
        task("arn:aws:states:::dynamodb:query", {"TableName": "t"}),
        [
            (
                "ERROR",
                "INVALID_RESOURCE",
                "/States/T/Resource",
                INVALID.format("arn:aws:states:::dynamodb:query")
                + " The optimized integration 'dynamodb' offers deleteItem, getItem, putItem, "
                "updateItem; for other actions use arn:aws:states:::aws-sdk:dynamodb:query.",
            )
        ],
    ),
    (
        "an optimized integration without .waitForTaskToken",
        task("arn:aws:states:::dynamodb:putItem.waitForTaskToken", {"TableName": "t"}),
        [
            (
                "ERROR",
                "INVALID_RESOURCE",
                "/States/T/Resource",
                INVALID.format("arn:aws:states:::dynamodb:putItem.waitForTaskToken")
                + " The 'dynamodb' integration does not support .waitForTaskToken.",
            )
        ],
    ),
    (
        "aws-sdk has no .sync",
        task("arn:aws:states:::aws-sdk:s3:getObject.sync", {"Bucket": "b", "Key": "k"}),
        [
            (
                "ERROR",
                "INVALID_RESOURCE",
                "/States/T/Resource",
                INVALID.format("arn:aws:states:::aws-sdk:s3:getObject.sync")
                + " AWS SDK integrations support Request Response and .waitForTaskToken only.",
            )
        ],
    ),
    (
        "valid: sqs with .waitForTaskToken",
        task(
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}},
        ),
        [],
    ),
    (
        "lambda:invoke without FunctionName",
        task("arn:aws:states:::lambda:invoke", {"Payload.$": "$"}),
        [
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Parameters",
                "The field 'FunctionName' is required but was missing",
            )
        ],
    ),
    (
        "lambda:invoke with an unsupported field",
        task("arn:aws:states:::lambda:invoke", {"FunctionName": "f", "TaskToken": "x"}),
        [
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Parameters/TaskToken",
                'The field "TaskToken" is not supported by Step Functions',
            )
        ],
    ),
    (
        "JSONata Arguments in one expression: nothing to judge",
        task("arn:aws:states:::sqs:sendMessage", "{% $states.input %}", "JSONata"),
        [],
    ),
    (
        "JSONata Arguments object",
        task(
            "arn:aws:states:::aws-sdk:s3:getObject",
            {"Bucket": "b", "Key": "{% $states.input.key %}", "Part": 1},
            "JSONata",
        ),
        [
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Arguments/Part",
                'The field "Part" is not supported by Step Functions',
            )
        ],
    ),
    (
        "valid: PascalCase spelling of a camelCase member (AWS guide)",
        task(
            "arn:aws:states:::aws-sdk:batch:submitJob",
            {"JobName": "j", "JobQueue": "q", "JobDefinition": "d"},
        ),
        [],
    ),
    *[
        (
            f"valid: states:startExecution{suffix} (AWS guide's examples)",
            task(
                f"arn:aws:states:::states:startExecution{suffix}",
                {"StateMachineArn": CHILD, "Input": {"token.$": "$$.Task.Token"}, "Name": "n"},
            ),
            [],
        )
        for suffix in ("", ".sync", ".sync:2", ".waitForTaskToken")
    ],
    (
        "states:startExecution.sync:2 with a field StartExecution does not take",
        task(
            "arn:aws:states:::states:startExecution.sync:2",
            {"StateMachineArn": CHILD, "TraceHeader": "t", "input.$": "$"},
        ),
        [
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Parameters/TraceHeader",
                'The field "TraceHeader" is not supported by Step Functions',
            ),
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Parameters/input.$",
                'The field "input" is not supported by Step Functions',
            ),
        ],
    ),
    (
        "states:startExecution without StateMachineArn",
        task("arn:aws:states:::states:startExecution.sync", {"Input.$": "$"}),
        [
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Parameters",
                "The field 'StateMachineArn' is required but was missing",
            )
        ],
    ),
    (
        "states:startExecution without Parameters",
        task("arn:aws:states:::states:startExecution.waitForTaskToken"),
        [
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Parameters",
                "The field 'StateMachineArn' is required but was missing",
            )
        ],
    ),
    (
        "states:startExecution's JSONata Arguments",
        task(
            "arn:aws:states:::states:startExecution.sync:2",
            {"StateMachineArn": CHILD, "Input": "{% $states.input %}", "Names": "n"},
            "JSONata",
        ),
        [
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Arguments/Names",
                'The field "Names" is not supported by Step Functions',
            )
        ],
    ),
    *[
        (
            f"unknown pattern suffix {suffix}",
            task(f"arn:aws:states:::{resource}{suffix}", {"StateMachineArn": CHILD}),
            [
                (
                    "ERROR",
                    "INVALID_RESOURCE",
                    "/States/T/Resource",
                    INVALID.format(f"arn:aws:states:::{resource}{suffix}")
                    + f" '{suffix}' is not an integration pattern: a Resource ends with one of "
                    ".sync, .sync:2, .waitForTaskToken, or with the action for Request Response.",
                )
            ],
        )
        for resource, suffix in (
            ("states:startExecution", ".sync:3"),
            ("states:startExecution", ".async"),
            ("states:startExecution", ".sync."),
            ("aws-sdk:sfn:startExecution", ".waitForTaskToken:2"),
        )
    ],
    (
        "states: has no optimized action but startExecution",
        task("arn:aws:states:::states:stopExecution", {"ExecutionArn": "e"}),
        [
            (
                "ERROR",
                "INVALID_RESOURCE",
                "/States/T/Resource",
                INVALID.format("arn:aws:states:::states:stopExecution")
                + " The optimized integration 'states' offers startExecution (with .sync, "
                ".sync:2 or .waitForTaskToken); for other actions use "
                "arn:aws:states:::aws-sdk:sfn:stopExecution.",
            )
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_integration_diagnostics(text: str, expected: list[tuple[str, str, str, str]]) -> None:
    assert found(text) == expected


START_PATTERNS = st.sampled_from(["", ".sync", ".sync:2", ".waitForTaskToken"])
FIELD_NAMES = st.sets(
    st.sampled_from(["StateMachineArn", "Input", "Name", "TraceHeader", "input", "Arn"])
    | st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True),
    max_size=5,
)


@given(suffix=START_PATTERNS, fields=FIELD_NAMES, computed=st.booleans())
def test_start_execution_refuses_exactly_the_fields_startexecution_does_not_take(
    suffix: str, fields: set[str], computed: bool
) -> None:
    """Any Parameters of any startExecution pattern: one error per field other than
    StateMachineArn, Input and Name (a `.$` key names the same field), and one when
    StateMachineArn is missing; nothing else."""
    key = "{}.$" if computed else "{}"
    value = "$.x" if computed else "x"
    parameters: dict[str, JSON] = {key.format(name): value for name in sorted(fields)}
    text = task(f"arn:aws:states:::states:startExecution{suffix}", parameters)
    expected = [
        (
            "ERROR",
            "SCHEMA_VALIDATION_FAILED",
            f"/States/T/Parameters/{key.format(name)}",
            f'The field "{name}" is not supported by Step Functions',
        )
        for name in sorted(fields)
        if name not in ("StateMachineArn", "Input", "Name")
    ]
    if "StateMachineArn" not in fields:
        expected.append(
            (
                "ERROR",
                "SCHEMA_VALIDATION_FAILED",
                "/States/T/Parameters",
                "The field 'StateMachineArn' is required but was missing",
            )
        )
    assert found(text) == expected
