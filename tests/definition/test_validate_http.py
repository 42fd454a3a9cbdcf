"""`asl validate` on HTTP Tasks: every problem located, the messages exact; computed values
(paths, JSONata, `${...}` placeholders) left to run time; and the validator's lists are the
backend's."""

from __future__ import annotations

from typing import Any

import pytest

from engine.definition import validate_http
from engine.definition.diagnostics import Severity
from engine.definition.validate import is_valid, iter_diagnostics

ARN = "arn:aws:events:us-east-1:123456789012:connection/Api/1"
GOOD = {
    "ApiEndpoint": "https://api.example.com/v1",
    "Method": "GET",
    "Authentication": {"ConnectionArn": ARN},
}


def machine(
    parameters: Any, resource: str = validate_http.HTTP_INVOKE, **fields: Any
) -> dict[str, Any]:
    task = {"Type": "Task", "Resource": resource, "End": True, **fields}
    if parameters is not None:
        task["Parameters"] = parameters
    return {"StartAt": "Call", "States": {"Call": task}}


def jsonata_machine(arguments: Any) -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": validate_http.HTTP_INVOKE,
                "Arguments": arguments,
                "End": True,
            }
        },
    }


def found(definition: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(d.severity.name, d.code, d.location, d.message) for d in iter_diagnostics(definition)]


VALID = [
    pytest.param(machine(GOOD), id="minimal"),
    pytest.param(
        machine(
            {
                "ApiEndpoint.$": "States.Format('https://api.example.com/c/{}', $.id)",
                "Method.$": "$.method",
                "InvocationConfig": {"ConnectionArn.$": "$.connection"},
                "Headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "QueryParameters.$": "$.query",
                "RequestBody": {"customer.$": "$.id", "description": "x"},
                "Transform": {
                    "RequestBodyEncoding": "URL_ENCODED",
                    "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"},
                },
            }
        ),
        id="every-field-and-paths",
    ),
    pytest.param(
        jsonata_machine(
            {
                "ApiEndpoint": "{% 'https://' & $states.input.host %}",
                "Method": "{% $states.input.method %}",
                "InvocationConfig": {"ConnectionArn": "{% $connection %}"},
                "Transform": {"RequestBodyEncoding": "{% $encoding %}"},
            }
        ),
        id="jsonata",
    ),
    pytest.param(jsonata_machine("{% $states.input.request %}"), id="jsonata-arguments"),
    pytest.param(
        machine(
            {**GOOD, "Method": "${Method}", "Authentication": {"ConnectionArn": "${ConnectionArn}"}}
        ),
        id="placeholders",
    ),
]


@pytest.mark.parametrize("definition", VALID)
def test_valid_http_tasks(definition: dict[str, Any]) -> None:
    # A `${...}` placeholder has its own warning (UNRESOLVED_PLACEHOLDER), nothing else here.
    assert [d for d in found(definition) if d[1] != "UNRESOLVED_PLACEHOLDER"] == []


E = "ERROR"
S = "SCHEMA_VALIDATION_FAILED"
AT = "/States/Call/Parameters"

INVALID = [
    pytest.param(
        machine(None),
        [(E, S, "/States/Call", "The field 'Parameters' is required but was missing")],
        id="no-parameters",
    ),
    pytest.param(
        machine({"Authentication": {"ConnectionArn": ARN}}),
        [
            (E, S, AT, "The field 'ApiEndpoint' is required but was missing"),
            (E, S, AT, "The field 'Method' is required but was missing"),
        ],
        id="no-endpoint-no-method",
    ),
    pytest.param(
        machine({"ApiEndpoint": "https://a.example", "Method": "GET"}),
        [
            (
                E,
                S,
                AT,
                "The field 'Authentication' (or 'InvocationConfig') is required but was missing: "
                "an HTTP Task calls its API through an EventBridge connection's ConnectionArn",
            )
        ],
        id="no-connection",
    ),
    pytest.param(
        machine({**GOOD, "Authentication": {"Arn": ARN}}),
        [
            (
                E,
                S,
                f"{AT}/Authentication/Arn",
                "The field 'Arn' is not supported by Step Functions",
            ),
            (E, S, f"{AT}/Authentication", "The field 'ConnectionArn' is required but was missing"),
        ],
        id="connection-without-arn",
    ),
    pytest.param(
        machine({**GOOD, "Method": "FETCH", "Body": {}}),
        [
            (E, S, f"{AT}/Body", "The field 'Body' is not supported by Step Functions"),
            (
                E,
                S,
                f"{AT}/Method",
                "The value of 'Method' must be one of [GET, POST, PUT, DELETE, PATCH, OPTIONS, "
                "HEAD], got 'FETCH'",
            ),
        ],
        id="unknown-field-and-method",
    ),
    pytest.param(
        machine(
            {
                **GOOD,
                "Transform": {
                    "RequestBodyEncoding": "JSON",
                    "RequestEncodingOptions": {"ArrayFormat": "PIPES", "Depth": 2},
                },
            }
        ),
        [
            (
                E,
                S,
                f"{AT}/Transform/RequestBodyEncoding",
                "The value of 'RequestBodyEncoding' must be one of [NONE, URL_ENCODED], got 'JSON'",
            ),
            (
                E,
                S,
                f"{AT}/Transform/RequestEncodingOptions/ArrayFormat",
                "The value of 'ArrayFormat' must be one of [INDICES, REPEAT, COMMAS, BRACKETS], "
                "got 'PIPES'",
            ),
            (
                E,
                S,
                f"{AT}/Transform/RequestEncodingOptions/Depth",
                "The field 'Depth' is not supported by Step Functions",
            ),
        ],
        id="transform",
    ),
    pytest.param(
        machine(GOOD, resource="arn:aws:states:::http:invoke.waitForTaskToken"),
        [
            (
                E,
                "INVALID_RESOURCE",
                "/States/Call/Resource",
                "The resource 'arn:aws:states:::http:invoke.waitForTaskToken' is not supported: "
                "the HTTP Task is 'arn:aws:states:::http:invoke', which waits for the response "
                "(no .sync or .waitForTaskToken)",
            )
        ],
        id="callback-form",
    ),
    pytest.param(
        jsonata_machine([1]),
        [
            (
                E,
                S,
                "/States/Call/Arguments",
                "The value of 'Arguments' of an HTTP Task must be an object, not array",
            )
        ],
        id="jsonata-arguments-array",
    ),
]


@pytest.mark.parametrize(("definition", "expected"), INVALID)
def test_invalid_http_tasks(
    definition: dict[str, Any], expected: list[tuple[str, str, str, str]]
) -> None:
    assert found(definition) == expected


def test_a_refused_header_is_a_warning_the_machine_stays_valid() -> None:
    diagnostics = list(
        iter_diagnostics(
            machine(
                {
                    **GOOD,
                    "Headers": {
                        "Authorization": "Bearer x",
                        "X-Amz-Date.$": "$.d",
                        "Accept": "*/*",
                    },
                }
            )
        )
    )
    assert [(d.severity, d.code, d.location) for d in diagnostics] == [
        (Severity.WARNING, "FORBIDDEN_HTTP_HEADER", f"{AT}/Headers/Authorization"),
        (Severity.WARNING, "FORBIDDEN_HTTP_HEADER", f"{AT}/Headers/X-Amz-Date.$"),
    ]
    assert diagnostics[0].message == (
        "An HTTP Task cannot send the header 'Authorization' (Step Functions sets or refuses it): "
        "the Task fails with States.Runtime when it runs. Put credentials in the EventBridge "
        "connection."
    )
    assert is_valid(diagnostics)
