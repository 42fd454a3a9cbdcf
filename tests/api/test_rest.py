"""The REST API under /v1, the error envelope, auth, CORS and logs (Starlette's TestClient)."""

from __future__ import annotations

import json
import logging
import queue
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.accesslog import MAX_BODY_BYTES
from api.app import create_app
from engine.service import Service, ServiceConfig
from engine.store.memory import MemoryStore

ARN = "arn:aws:states:us-east-1:111111111111"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
WAIT_LONG = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": True}}}
CALLBACK = {
    "StartAt": "Callback",
    "States": {
        "Callback": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "hand_out", "Payload": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
    },
}
TOKENS: queue.Queue[str] = queue.Queue()


def hand_out(event: dict[str, str], context: object) -> dict[str, str]:
    TOKENS.put(event["token"])
    return {}


def make_client(**app_kwargs: Any) -> TestClient:
    service = Service(MemoryStore(), functions={"hand_out": hand_out}, config=ServiceConfig(seed=1))
    client = TestClient(create_app(service, **app_kwargs), raise_server_exceptions=False)
    client.service = service  # type: ignore[attr-defined]
    return client


@pytest.fixture
def client() -> Iterator[TestClient]:
    with make_client() as client:
        yield client


def wait(client: TestClient, arn: str) -> str:
    service: Service = client.service  # type: ignore[attr-defined]
    assert client.portal is not None
    return client.portal.call(service.wait_for, arn).status


def create(client: TestClient, name: str, definition: object = PASS, **extra: object) -> str:
    response = client.post("/v1/machines", json={"name": name, "definition": definition, **extra})
    assert response.status_code == 201, response.text
    arn: str = response.json()["arn"]
    return arn


# -- health, machines, executions -----------------------------------------------------------------


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/v1/health").json() == {"status": "ok", "store": "ok", "worker": "running"}
    ready = client.get("/v1/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_machines_crud(client: TestClient) -> None:
    response = client.post(
        "/v1/machines", json={"name": "orders", "definition": PASS, "tags": {"team": "a"}}
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/v1/machines/orders"
    body = response.json()
    assert {k: body[k] for k in ("arn", "name", "type", "loggingLevel", "tags")} == {
        "arn": f"{ARN}:stateMachine:orders",
        "name": "orders",
        "type": "STANDARD",
        "loggingLevel": "OFF",
        "tags": {"team": "a"},
    }
    assert json.loads(body["definition"]) == PASS
    assert body["created"].endswith("Z")
    by_arn = client.get(f"/v1/machines/{ARN}:stateMachine:orders").json()
    assert by_arn == client.get("/v1/machines/orders").json()
    assert [m["name"] for m in client.get("/v1/machines").json()["machines"]] == ["orders"]

    text = json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": True}}})
    updated = client.put("/v1/machines/orders", json={"definition": text})
    assert (updated.status_code, updated.json()["definition"]) == (200, text)
    assert client.delete("/v1/machines/orders").status_code == 204
    missing = client.get("/v1/machines/orders")
    assert (missing.status_code, missing.json()["__type"]) == (404, "StateMachineDoesNotExist")


def test_start_describe_history(client: TestClient) -> None:
    create(client, "hello")
    response = client.post("/v1/machines/hello/executions", json={"name": "run1", "input": [1, 2]})
    assert response.status_code == 201
    arn = f"{ARN}:execution:hello:run1"
    assert response.headers["location"] == f"/v1/executions/{arn}"
    assert response.json()["status"] == "RUNNING"
    assert wait(client, arn) == "SUCCEEDED"
    execution = client.get(f"/v1/executions/{arn}").json()
    assert {k: execution[k] for k in ("name", "status", "input", "output", "type")} == {
        "name": "run1",
        "status": "SUCCEEDED",
        "input": [1, 2],
        "output": [1, 2],
        "type": "STANDARD",
    }
    history = client.get(f"/v1/executions/{arn}/history").json()
    assert [e["type"] for e in history["events"]] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert history["events"][3]["details"] == {
        "executionSucceededEventDetails": {"output": "[1,2]", "outputDetails": {"truncated": False}}
    }
    first = client.get(f"/v1/executions/{arn}/history", params={"limit": 3, "reverse": True}).json()
    assert [e["id"] for e in first["events"]] == [4, 3, 2]
    rest = client.get(
        f"/v1/executions/{arn}/history", params={"next_token": first["nextToken"], "reverse": True}
    ).json()
    assert ([e["id"] for e in rest["events"]], rest["nextToken"]) == ([1], None)
    listed = client.get("/v1/machines/hello/executions", params={"status": "SUCCEEDED"}).json()
    assert [e["name"] for e in listed["executions"]] == ["run1"]


def test_history_after_an_event_id(client: TestClient) -> None:
    create(client, "hello")
    arn = client.post("/v1/machines/hello/executions", json={"name": "run1"}).json()["arn"]
    assert wait(client, arn) == "SUCCEEDED"
    url = f"/v1/executions/{arn}/history"

    def ids(params: dict[str, object]) -> tuple[list[int], str | None]:
        page = client.get(url, params=params).json()
        return [e["id"] for e in page["events"]], page["nextToken"]

    assert ids({"after": 0}) == ([1, 2, 3, 4], None)
    assert ids({"after": 2}) == ([3, 4], None)
    assert ids({"after": 4}) == ([], None)
    assert ids({"after": 99}) == ([], None)
    # paged as without it: the token goes on from the page's last event
    events, token = ids({"after": 1, "limit": 2})
    assert (events, token is not None) == ([2, 3], True)
    assert ids({"after": 1, "limit": 2, "next_token": token}) == ([4], None)
    for bad in ({"after": -1}, {"after": "x"}, {"after": 2**53}, {"after": 1, "reverse": True}):
        refused = client.get(url, params=bad)
        assert (refused.status_code, refused.json()["__type"]) == (400, "ValidationException")


def test_idempotency_key(client: TestClient) -> None:
    create(client, "slow", WAIT_LONG)
    path = "/v1/machines/slow/executions"
    first = client.post(path, json={"input": {"a": 1}}, headers={"Idempotency-Key": "order-7"})
    again = client.post(path, json={"input": {"a": 1}}, headers={"Idempotency-Key": "order-7"})
    assert first.status_code == again.status_code == 201
    assert first.json()["arn"] == again.json()["arn"] == f"{ARN}:execution:slow:order-7"
    conflict = client.post(path, json={"input": {"a": 2}}, headers={"Idempotency-Key": "order-7"})
    assert (conflict.status_code, conflict.json()["__type"]) == (409, "ExecutionAlreadyExists")
    differ = client.post(path, json={"name": "x"}, headers={"Idempotency-Key": "order-8"})
    assert (differ.status_code, differ.json()["__type"]) == (400, "ValidationException")
    stopped = client.post(f"/v1/executions/{first.json()['arn']}/stop", json={"error": "E"})
    assert stopped.status_code == 200
    assert wait(client, first.json()["arn"]) == "ABORTED"


def test_callbacks(client: TestClient) -> None:
    create(client, "approve", CALLBACK)
    arn = client.post("/v1/machines/approve/executions", json={}).json()["arn"]
    token = TOKENS.get(timeout=30)
    assert client.post("/v1/callbacks/heartbeat", json={"taskToken": token}).status_code == 204
    sent = client.post("/v1/callbacks/success", json={"taskToken": token, "output": {"ok": 1}})
    assert sent.status_code == 204
    assert wait(client, arn) == "SUCCEEDED"
    assert client.get(f"/v1/executions/{arn}").json()["output"] == {"ok": 1}
    again = client.post("/v1/callbacks/failure", json={"taskToken": token, "error": "E"})
    assert (again.status_code, again.json()["__type"]) == (404, "TaskDoesNotExist")


def test_validate(client: TestClient) -> None:
    ok = client.post("/v1/validate", json={"definition": PASS}).json()
    assert ok == {"valid": True, "diagnostics": []}
    bad = client.post("/v1/validate", json={"definition": {"StartAt": "X", "States": {}}}).json()
    assert bad["valid"] is False
    assert bad["diagnostics"][0]["severity"] == "ERROR"


def test_openapi_is_published(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/v1/machines/{machine}/executions" in schema["paths"]
    assert {"ExecutionStart", "Execution", "History", "TaskSuccess"} <= set(
        schema["components"]["schemas"]
    )
    assert "/" not in schema["paths"]  # the AWS protocol is documented in docs/api.md
    assert client.get("/docs").status_code == 200


# -- bad input: never a 5xx -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "message"),
    [
        ("GET", "/v1/executions/nope", None, 400, "InvalidArn", "Invalid Arn: 'nope'"),
        (
            "GET",
            f"/v1/executions/{ARN}:execution:m:x",
            None,
            404,
            "ExecutionDoesNotExist",
            f"Execution Does Not Exist: '{ARN}:execution:m:x'",
        ),
        (
            "POST",
            "/v1/machines",
            b"{not json",
            400,
            "SerializationException",
            "The request body is not valid JSON: Expecting property name enclosed in double "
            "quotes (character 1)",
        ),
        ("POST", "/v1/machines", {"name": "m"}, 400, "ValidationException", "body.definition: "),
        (
            "POST",
            "/v1/machines",
            {"name": 5, "definition": "{}"},
            400,
            "ValidationException",
            "body.name: Input should be a valid string",
        ),
        (
            "POST",
            "/v1/machines",
            {"name": "m", "definition": {"StartAt": "X", "States": {}}},
            400,
            "InvalidDefinition",
            "Invalid State Machine Definition: ",
        ),
        (
            "GET",
            "/v1/machines/m/executions?limit=0",
            None,
            400,
            "ValidationException",
            "query.limit: Input should be greater than or equal to 1",
        ),
        ("GET", "/v1/nothing", None, 404, "UnknownOperationException", "GET /v1/nothing: "),
        ("DELETE", "/v1/health", None, 405, "UnknownOperationException", "DELETE /v1/health: "),
    ],
    ids=[
        "bad-arn",
        "missing-execution",
        "malformed-json",
        "missing-field",
        "wrong-type",
        "invalid-definition",
        "limit-out-of-range",
        "unknown-route",
        "wrong-method",
    ],
)
def test_rest_errors(
    client: TestClient,
    method: str,
    path: str,
    body: object,
    status: int,
    code: str,
    message: str,
) -> None:
    if isinstance(body, bytes):
        headers = {"content-type": "application/json"}
        response = client.request(method, path, content=body, headers=headers)
    else:
        response = client.request(method, path, json=body)
    assert response.status_code == status
    found = response.json()
    assert found["__type"] == code
    assert found["message"].startswith(message), found["message"]


AWS = {"content-type": "application/x-amz-json-1.0"}


@pytest.mark.parametrize(
    ("target", "body", "code", "message"),
    [
        (
            None,
            b"{}",
            "UnknownOperationException",
            "Missing the X-Amz-Target header: send 'X-Amz-Target: AWSStepFunctions.<Action>'",
        ),
        (
            "AWSStepFunctions.Nope",
            b"{}",
            "UnknownOperationException",
            "Unknown operation 'AWSStepFunctions.Nope'",
        ),
        (
            "AWSStepFunctions.DescribeExecution",
            b"{oops",
            "SerializationException",
            "The request body is not valid JSON: Expecting property name enclosed in double "
            "quotes at line 1, column 2",
        ),
        (
            "AWSStepFunctions.DescribeExecution",
            b"[1]",
            "SerializationException",
            "The request body must be a JSON object, got array",
        ),
        (
            "AWSStepFunctions.DescribeExecution",
            b'{"executionArn": 5}',
            "SerializationException",
            "Expected a string for member 'executionArn', got number",
        ),
        (
            "AWSStepFunctions.DescribeExecution",
            b"{}",
            "ValidationException",
            "1 validation error detected: Value null at 'executionArn' failed to satisfy "
            "constraint: Member must not be null",
        ),
        (
            "AWSStepFunctions.ListExecutions",
            b'{"stateMachineArn": "x", "maxResults": 5000}',
            "ValidationException",
            "1 validation error detected: Value '5000' at 'maxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 1000",
        ),
        (
            "AWSStepFunctions.ListExecutions",
            b'{"stateMachineArn": "x", "statusFilter": "DONE"}',
            "ValidationException",
            "1 validation error detected: Value 'DONE' at 'statusFilter' failed to satisfy "
            "constraint: Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, "
            "TIMED_OUT, ABORTED, PENDING_REDRIVE]",
        ),
        (
            "AWSStepFunctions.CreateStateMachine",
            json.dumps({"name": "m", "definition": "x" * (1024 * 1024 + 1)}).encode(),
            "ValidationException",
            "1 validation error detected: Value at 'definition' failed to satisfy "
            "constraint: Member must have length less than or equal to 1048576",
        ),
        (
            "AWSStepFunctions.ListStateMachines",
            b'{"nextToken": "bogus"}',
            "InvalidToken",
            "Invalid Token: 'bogus'",
        ),
    ],
    ids=[
        "no-target",
        "unknown-action",
        "malformed-json",
        "not-an-object",
        "wrong-type",
        "missing-member",
        "out-of-range",
        "bad-enum",
        "definition-too-large",
        "bad-page-token",
    ],
)
def test_aws_json_bad_requests(
    client: TestClient, target: str | None, body: bytes, code: str, message: str
) -> None:
    headers = dict(AWS)
    if target is not None:
        headers["x-amz-target"] = target
    response = client.post("/", content=body, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-amz-json-1.0"
    assert response.json() == {"__type": code, "message": message}


def test_body_too_large(client: TestClient) -> None:
    response = client.post("/v1/validate", content=b" " * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert response.json()["__type"] == "RequestEntityTooLargeException"


# -- token, CORS, logs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        ("/v1/health", {}, 401, "MissingAuthenticationTokenException"),
        ("/v1/health", {"authorization": "Bearer wrong"}, 401, "UnrecognizedClientException"),
        ("/v1/health", {"authorization": "Bearer T0k"}, 200, None),
        (
            "/",
            {"x-amz-target": "AWSStepFunctions.ListActivities"},
            403,
            "MissingAuthenticationTokenException",
        ),
        (
            "/",
            {
                "x-amz-target": "AWSStepFunctions.ListActivities",
                "authorization": "AWS4-HMAC-SHA256 Credential=T0k/20240101/us-east-1/states/"
                "aws4_request, SignedHeaders=host, Signature=abc",
            },
            200,
            None,
        ),
        (
            "/",
            {"x-amz-target": "AWSStepFunctions.ListActivities", "x-amz-security-token": "T0k"},
            200,
            None,
        ),
    ],
    ids=["rest-none", "rest-wrong", "rest-bearer", "aws-none", "aws-access-key", "aws-session"],
)
def test_token(path: str, headers: dict[str, str], status: int, code: str | None) -> None:
    with make_client(token="T0k") as client:
        if path == "/":
            response = client.post(path, content=b"{}", headers=headers)
        else:
            response = client.get(path, headers=headers)
    assert response.status_code == status
    if code is not None:
        assert response.json()["__type"] == code


@pytest.mark.parametrize(("cors", "allowed"), [(False, None), (True, "*")], ids=["off", "on"])
def test_cors(cors: bool, allowed: str | None) -> None:
    with make_client(cors=cors) as client:
        response = client.options(
            "/v1/health",
            headers={"origin": "http://ui.example", "access-control-request-method": "GET"},
        )
    assert response.headers.get("access-control-allow-origin") == allowed


def test_one_json_log_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    create(client, "logged")
    with caplog.at_level(logging.INFO, logger="asl.api"):
        response = client.post(
            "/",
            content=json.dumps({"stateMachineArn": f"{ARN}:stateMachine:logged", "name": "l1"}),
            headers={**AWS, "x-amz-target": "AWSStepFunctions.StartExecution"},
        )
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "asl.api"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == response.headers["x-amzn-requestid"]
    assert {k: line[k] for k in ("method", "path", "action", "execution_arn", "status")} == {
        "method": "POST",
        "path": "/",
        "action": "StartExecution",
        "execution_arn": f"{ARN}:execution:logged:l1",
        "status": 200,
    }
    assert line["latency_ms"] >= 0


def test_list_executions_searches_by_name(client: TestClient) -> None:
    create(client, "searched")
    for name in ("order-1", "Order-2", "refund-1"):
        started = client.post("/v1/machines/searched/executions", json={"name": name, "input": {}})
        assert started.status_code == 201, started.text
    page = client.get("/v1/machines/searched/executions?name=ORDER&limit=1").json()
    assert [e["name"] for e in page["executions"]] == ["Order-2"]
    token = page["nextToken"]
    rest = client.get(
        "/v1/machines/searched/executions",
        params={"name": "ORDER", "limit": 1, "next_token": token},
    )
    assert [e["name"] for e in rest.json()["executions"]] == ["order-1"]
    assert rest.json()["nextToken"] is None
    empty = client.get("/v1/machines/searched/executions?name=")
    assert (empty.status_code, empty.json()["__type"]) == (400, "ValidationException")
