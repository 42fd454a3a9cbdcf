"""Server-side errors never leak: a generic message and the request id reach the client; the
store's own message (SQL, parameters, another caller's input) reaches the server log only,
once, under that request id (issue 13, "Errors never leak").

The store here is a memory store whose execution writes and reads fail the way PostgreSQL's
did: with a message holding the statement and another caller's execution input.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.service import Service, ServiceConfig
from engine.store.base import ExecutionRecord, Lease, StoreError
from engine.store.memory import MemoryStore

SECRET = "INSERT INTO executions (arn, input) VALUES ('...:other', '{\"card\": \"4111\"}')"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:leaky"


class LeakyStore(MemoryStore):
    """Execution writes fail as a store error quoting SQL; execution reads hit a bug."""

    def create_executions(
        self, records: Sequence[ExecutionRecord], lease: Lease | None = None
    ) -> list[tuple[ExecutionRecord, bool]]:
        raise StoreError(f"the store is unavailable: deadlock detected [SQL: {SECRET}]")

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        raise RuntimeError(f"a bug, holding {SECRET}")


@pytest.fixture
def client() -> Iterator[TestClient]:
    service = Service(LeakyStore(), config=ServiceConfig(worker=False))
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        assert client.post("/v1/machines", json={"name": "leaky", "definition": PASS}).is_success
        yield client


def logged(caplog: pytest.LogCaptureFixture, request_id: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if request_id in r.getMessage() and r.levelno >= logging.ERROR
    ]


def test_aws_store_error_is_generic(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    response = client.post(
        "/",
        content=json.dumps({"stateMachineArn": MACHINE, "name": "x"}),
        headers={"x-amz-target": "AWSStepFunctions.StartExecution"},
    )
    request_id = response.headers["x-amzn-RequestId"]
    assert (response.status_code, response.json()) == (
        503,
        {
            "__type": "ServiceUnavailable",
            "message": f"The service is unavailable; retry the request (request {request_id})",
        },
    )
    assert logged(caplog, request_id) == [
        f"request {request_id} failed: ServiceUnavailable: the store is unavailable: "
        f"deadlock detected [SQL: {SECRET}]"
    ]


def test_rest_store_error_is_generic(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    response = client.post("/v1/machines/leaky/executions", json={"input": {"card": "4111"}})
    request_id = response.headers["x-amzn-RequestId"]
    assert (response.status_code, response.json()) == (
        503,
        {
            "__type": "ServiceUnavailable",
            "message": f"The service is unavailable; retry the request (request {request_id})",
            "requestId": request_id,
        },
    )
    assert len(logged(caplog, request_id)) == 1
    assert SECRET in logged(caplog, request_id)[0]


@pytest.mark.parametrize("api", ["aws", "rest"])
def test_a_bug_is_a_generic_500(
    client: TestClient, caplog: pytest.LogCaptureFixture, api: str
) -> None:
    arn = "arn:aws:states:us-east-1:111111111111:execution:leaky:x"
    if api == "aws":
        response = client.post(
            "/",
            content=json.dumps({"executionArn": arn}),
            headers={"x-amz-target": "AWSStepFunctions.DescribeExecution"},
        )
    else:
        response = client.get(f"/v1/executions/{arn}")
    request_id = response.headers["x-amzn-RequestId"]
    assert response.status_code == 500
    body = response.json()
    assert body["__type"] == "InternalError"
    assert body["message"] == f"Internal error (request {request_id})"
    assert body.get("requestId", request_id) == request_id
    assert SECRET not in response.text
    assert "Traceback" not in response.text
    [line] = logged(caplog, request_id)
    assert line == f"request {request_id} failed"
    [record] = [r for r in caplog.records if r.getMessage() == line]
    assert record.exc_info is not None
    assert SECRET in str(record.exc_info[1])
