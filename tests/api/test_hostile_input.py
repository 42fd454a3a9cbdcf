"""Hostile input never gets a 5xx: each is refused with AWS's error and a message saying why,
and whatever is accepted can be described again (issue 13, "Input hygiene").

Both APIs over a SQLite store (which, unlike the memory store, must encode every string it
keeps): lone surrogates, numbers past Python's 4,300-digit limit, `[` x 50,000, NaN and
Infinity, nesting past the engine's 512 levels (engine/values.py), in names, inputs, outputs,
definitions, free-text members and the request body itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.service import Service, ServiceConfig
from engine.store.open import open_store
from engine.values import MAX_NESTING_DEPTH
from tests.store import POSTGRES_PARAM, postgres_schema, postgres_url

ARN = "arn:aws:states:us-east-1:111111111111"
MACHINE = f"{ARN}:stateMachine:hostile"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
# wraps its input three levels deeper: an output deeper than any accepted input
WRAP = {
    "StartAt": "P",
    "States": {"P": {"Type": "Pass", "Parameters": {"a": {"b": {"c.$": "$"}}}, "End": True}},
}
INPUT = "Invalid State Machine Execution Input: "
SURROGATE = "'a string holds a lone UTF-16 surrogate (U+D800 to U+DFFF), which is not Unicode'"
DEEP = "'the value nests deeper than 512 levels'"
LONG_NUMBER = "'a number has more than 1000 characters'"
NAN = "'NaN is not a JSON value (JSON has no NaN or Infinity)'"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path: Path = tmp_path_factory.mktemp("hostile") / "asl.db"
    service = Service(open_store(f"sqlite:///{path}"), config=ServiceConfig(seed=5))
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        client.service = service  # type: ignore[attr-defined]
        for name, definition in (("hostile", PASS), ("wrap", WRAP)):
            created = client.post("/v1/machines", json={"name": name, "definition": definition})
            assert created.status_code == 201, created.text
        yield client


def aws(client: TestClient, action: str, body: str | bytes) -> tuple[int, dict[str, object]]:
    """One AWS JSON 1.0 call with a body given as the exact text on the wire."""
    response = client.post(
        "/",
        content=body.encode() if isinstance(body, str) else body,
        headers={
            "x-amz-target": f"AWSStepFunctions.{action}",
            "content-type": "application/x-amz-json-1.0",
        },
    )
    return response.status_code, response.json()


def start_body(input_text: str | None = None, **members: str) -> str:
    body: dict[str, str] = {"stateMachineArn": MACHINE, **members}
    if input_text is not None:
        body["input"] = input_text
    return json.dumps(body)


def wait(client: TestClient, arn: str) -> None:
    service: Service = client.service  # type: ignore[attr-defined]
    assert client.portal is not None
    client.portal.call(service.wait_for, arn)


# -- the AWS protocol -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "body", "code", "message"),
    [
        (
            "StartExecution",
            f'{{"stateMachineArn": "{MACHINE}", "name": "\\ud800"}}',
            "InvalidName",
            "Invalid Name: '\ufffd': an execution name must be valid Unicode (it holds a lone "
            "UTF-16 surrogate)",
        ),
        (
            "StartExecution",
            start_body('{"a": "\\ud800"}'),  # the escape inside the input text
            "InvalidExecutionInput",
            INPUT + SURROGATE,
        ),
        (
            "StartExecution",
            start_body('{"a": "\ud800"}'),  # the body's escape: a lone surrogate in the text
            "InvalidExecutionInput",
            INPUT + SURROGATE,
        ),
        ("StartExecution", start_body("1" * 4301), "InvalidExecutionInput", INPUT + LONG_NUMBER),
        ("StartExecution", start_body("[" * 50_000), "InvalidExecutionInput", INPUT + DEEP),
        (
            "StartExecution",
            start_body(nested(MAX_NESTING_DEPTH + 1)),
            "InvalidExecutionInput",
            INPUT + DEEP,
        ),
        ("StartExecution", start_body("NaN"), "InvalidExecutionInput", INPUT + NAN),
        (
            "StartExecution",
            start_body('{"x": -Infinity}'),
            "InvalidExecutionInput",
            INPUT + "'-Infinity is not a JSON value (JSON has no NaN or Infinity)'",
        ),
        (
            "StartExecution",
            start_body("[1e999]"),
            "InvalidExecutionInput",
            INPUT + "'the number 1e999 is out of range (a 64-bit float)'",
        ),
        (
            "ListExecutions",
            '{{"stateMachineArn": "{}", "maxResults": {}}}'.format(MACHINE, "9" * 5000),
            "SerializationException",
            "The request body is refused: a number has more than 1000 characters",
        ),
        (
            "ListExecutions",
            f'{{"stateMachineArn": "{MACHINE}", "maxResults": NaN}}',
            "SerializationException",
            "The request body is refused: NaN is not a JSON value (JSON has no NaN or Infinity)",
        ),
        (
            "ListExecutions",
            "[" * 50_000,
            "SerializationException",
            "The request body is refused: the value nests deeper than 32 levels",
        ),
        (
            "CreateStateMachine",
            # the definition's text holds the escape \ud800
            json.dumps(
                {"name": "s", "definition": json.dumps(PASS)[:-1] + ',"Comment":"\\ud800"}'}
            ),
            "InvalidDefinition",
            "Invalid State Machine Definition: a string holds a lone UTF-16 surrogate "
            "(U+D800 to U+DFFF), which is not Unicode",
        ),
        (
            "CreateStateMachine",
            '{"name": "s", "definition": "{}", "roleArn": "arn:aws:iam::1:role/\\udfff"}',
            "InvalidArn",
            "Invalid Arn: 'arn:aws:iam::1:role/\ufffd'",
        ),
        (
            "StopExecution",
            f'{{"executionArn": "{ARN}:execution:hostile:x", "cause": "\\ud800"}}',
            "ValidationException",
            "1 validation error detected: Value at 'cause' failed to satisfy constraint: "
            "Member must be valid Unicode (it holds a lone UTF-16 surrogate)",
        ),
        (
            "SendTaskSuccess",
            json.dumps({"taskToken": "t", "output": "[NaN]"}),
            "InvalidOutput",
            "Invalid Output: " + NAN,
        ),
        (
            "GetExecutionHistory",
            json.dumps(
                {
                    "executionArn": f"{ARN}:execution:hostile:x",
                    # our own page token, forged: 2,300 '[' once decoded
                    "nextToken": "WWWW" * 768,
                }
            ),
            "InvalidToken",
            "Invalid Token: '" + "WWWW" * 50 + "...'",
        ),
    ],
    ids=[
        "surrogate-name",
        "surrogate-escape-in-input",
        "surrogate-in-input-text",
        "4301-digit-number",
        "50000-brackets",
        "513-levels",
        "nan",
        "infinity",
        "float-overflow",
        "5000-digit-maxResults",
        "nan-maxResults",
        "50000-brackets-body",
        "surrogate-in-definition",
        "surrogate-in-arn",
        "surrogate-in-cause",
        "nan-in-task-output",
        "deep-page-token",
    ],
)
def test_aws_refuses_hostile_input(
    client: TestClient, action: str, body: str, code: str, message: str
) -> None:
    assert aws(client, action, body) == (400, {"__type": code, "message": message})


def test_aws_accepts_the_deepest_input_and_describes_it(client: TestClient) -> None:
    deepest = nested(MAX_NESTING_DEPTH)
    status, started = aws(client, "StartExecution", start_body(deepest, name="deepest"))
    assert status == 200, started
    arn = str(started["executionArn"])
    wait(client, arn)
    status, described = aws(client, "DescribeExecution", json.dumps({"executionArn": arn}))
    assert (status, described["status"], described["input"]) == (200, "SUCCEEDED", deepest)
    status, _history = aws(client, "GetExecutionHistory", json.dumps({"executionArn": arn}))
    assert status == 200
    rest = client.get(f"/v1/executions/{arn}")
    assert rest.status_code == 200, rest.text
    assert json.dumps(rest.json()["input"], separators=(",", ":")) == deepest
    assert client.get(f"/v1/executions/{arn}/history").status_code == 200


# -- the REST API ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b'{"input": "\\ud800"}', "InvalidExecutionInput", INPUT + SURROGATE),
        (
            b'{"input": {"\\udc00": 1}}',
            "InvalidExecutionInput",
            INPUT + SURROGATE,
        ),
        (
            b'{"input": ' + b"1" * 4301 + b"}",
            "SerializationException",
            "The request body is not valid JSON: a number has more than 1000 characters",
        ),
        (
            b'{"input": ' + b"[" * 50_000 + b"}",
            "SerializationException",
            "The request body is not valid JSON: the value nests deeper than 514 levels",
        ),
        (
            b'{"input": ' + nested(MAX_NESTING_DEPTH + 1).encode() + b"}",
            "InvalidExecutionInput",
            INPUT + DEEP,
        ),
        (
            b'{"input": [NaN]}',
            "SerializationException",
            "The request body is not valid JSON: NaN is not a JSON value (JSON has no NaN or "
            "Infinity)",
        ),
        (
            b'{"input": {}, "name": "\\ud800"}',
            "ValidationException",
            "body.name: Input should be a valid string, unable to parse raw data as a unicode "
            "string",
        ),
        (
            b'{"input": "\xff"}',
            "SerializationException",
            "The request body is not valid JSON: the body is not UTF-8 text",
        ),
    ],
    ids=[
        "surrogate",
        "surrogate-key",
        "4301-digit-number",
        "50000-brackets",
        "513-levels",
        "nan",
        "surrogate-name",
        "not-utf8",
    ],
)
def test_rest_refuses_hostile_input(
    client: TestClient, body: bytes, code: str, message: str
) -> None:
    response = client.post(
        "/v1/machines/hostile/executions",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert (response.status_code, response.json()) == (400, {"__type": code, "message": message})


def test_rest_describes_an_output_deeper_than_any_input(client: TestClient) -> None:
    """Pydantic renders JSON values only ~250 levels deep: an accepted execution whose input
    (512 levels) or output (515) is deeper must still be describable (it answered 500)."""
    deepest = json.loads(nested(MAX_NESTING_DEPTH))
    started = client.post("/v1/machines/wrap/executions", json={"input": deepest})
    assert started.status_code == 201, started.text
    assert started.json()["input"] == deepest
    arn = started.json()["arn"]
    wait(client, arn)
    described = client.get(f"/v1/executions/{arn}")
    assert described.status_code == 200, described.text
    assert described.json()["output"] == {"a": {"b": {"c": deepest}}}


def test_rest_long_limit_is_a_validation_error(client: TestClient) -> None:
    response = client.get("/v1/machines/hostile/executions", params={"limit": "9" * 5000})
    assert response.status_code == 400
    assert response.json()["__type"] == "ValidationException"


# -- PostgreSQL: text cannot hold NUL --------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_client() -> Iterator[TestClient]:
    url = postgres_url()
    assert url is not None
    with postgres_schema(url) as scoped:
        store = open_store(scoped)
        service = Service(store, config=ServiceConfig(seed=5))
        with TestClient(create_app(service), raise_server_exceptions=False) as client:
            wait_long = {
                "StartAt": "W",
                "States": {"W": {"Type": "Wait", "Seconds": 9999, "End": True}},
            }
            created = client.post("/v1/machines", json={"name": "hostile", "definition": wait_long})
            assert created.status_code == 201, created.text
            yield client
        store.close()


NUL_REFUSED = (
    "1 validation error detected: a value of the request cannot be stored (PostgreSQL text "
    "fields cannot contain NUL (0x00) bytes)"
)


@pytest.mark.parametrize("backend", [POSTGRES_PARAM])
@pytest.mark.parametrize(
    ("action", "body", "code", "message"),
    [
        (
            "DescribeExecution",
            json.dumps({"executionArn": f"{ARN}:execution:hostile:a\u0000"}),
            "InvalidArn",
            f"Invalid Arn: '{ARN}:execution:hostile:a\u0000'",
        ),
        (
            "CreateStateMachine",
            json.dumps({"name": "nul", "definition": json.dumps(PASS), "roleArn": "r\u0000"}),
            "ValidationException",
            NUL_REFUSED,
        ),
        (
            "StartExecution",
            start_body(name="traced", traceHeader="t\u0000"),
            "ValidationException",
            NUL_REFUSED,
        ),
    ],
    ids=["arn", "role-arn", "trace-header"],
)
def test_postgres_refuses_nul_as_a_client_error(
    backend: str, request: pytest.FixtureRequest, action: str, body: str, code: str, message: str
) -> None:
    """PostgreSQL text cannot hold U+0000: the store's refusal answered 503 ServiceUnavailable."""
    client: TestClient = request.getfixturevalue("postgres_client")
    status, started = aws(client, "StartExecution", start_body(name="running"))
    assert status == 200 or started["__type"] == "ExecutionAlreadyExists", started
    assert aws(client, action, body) == (400, {"__type": code, "message": message})


def test_validation_agrees_with_creation_on_a_lone_surrogate(client: TestClient) -> None:
    """ValidateStateMachineDefinition said OK to the definition CreateStateMachine refuses."""
    definition = json.dumps(PASS)[:-1] + ',"Comment":"\\ud800"}'
    status, answer = aws(
        client, "ValidateStateMachineDefinition", json.dumps({"definition": definition})
    )
    assert (status, answer["result"]) == (200, "FAIL")
    assert answer["diagnostics"] == [
        {
            "severity": "ERROR",
            "code": "INVALID_JSON_DESCRIPTION",
            "message": "Invalid JSON: a string holds a lone UTF-16 surrogate (U+D800 to U+DFFF), "
            "which is not Unicode",
            "location": "/",
        }
    ]
