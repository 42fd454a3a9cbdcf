"""Fuzzing both APIs with generated requests: no 5xx, and every error has AWS's error body.

Hypothesis builds requests from the routes and members the APIs know (so most requests reach the
handlers, not only the router) mixed with arbitrary JSON, text and bytes. Example counts are
bounded so the suite stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.awsjson import ACTIONS
from engine.service import Service, ServiceConfig
from engine.store.memory import MemoryStore

ARN = "arn:aws:states:us-east-1:111111111111"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
identifiers = st.sampled_from(
    [
        "m",
        "fuzz",
        f"{ARN}:stateMachine:fuzz",
        f"{ARN}:stateMachine:fuzz:1",
        f"{ARN}:stateMachine:fuzz:live",
        f"{ARN}:execution:fuzz:e1",
        f"{ARN}:express:fuzz:e1:x",
        f"{ARN}:activity:fuzz",
        "arn:aws:s3:::bucket",
        "",
    ]
) | st.text(max_size=40)
strings = st.sampled_from([PASS, "{}", "[1]", '{"a": 1}', "STANDARD", "EXPRESS", "RUNNING"])
members = st.sampled_from(
    [
        "name",
        "definition",
        "input",
        "output",
        "type",
        "roleArn",
        "stateMachineArn",
        "executionArn",
        "activityArn",
        "resourceArn",
        "stateMachineVersionArn",
        "stateMachineAliasArn",
        "taskToken",
        "error",
        "cause",
        "maxResults",
        "nextToken",
        "statusFilter",
        "reverseOrder",
        "includeExecutionData",
        "publish",
        "tags",
        "tagKeys",
        "routingConfiguration",
        "loggingConfiguration",
        "revisionId",
        "severity",
        "description",
        "workerName",
    ]
)
member_values = identifiers | strings | json_values
bodies = st.dictionaries(members, member_values, max_size=6)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    service = Service(MemoryStore(), config=ServiceConfig(seed=3))
    app = create_app(service, activity_wait_seconds=0.0)
    with TestClient(app, raise_server_exceptions=False) as client:
        for kind in ("STANDARD", "EXPRESS"):
            client.post(
                "/v1/machines",
                json={"name": f"fuzz-{kind.lower()}", "definition": PASS, "type": kind},
            )
        client.post("/v1/machines", json={"name": "fuzz", "definition": PASS})
        yield client


def check(response: object) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, response.text  # type: ignore[attr-defined]
    if status >= 400:
        body = response.json()  # type: ignore[attr-defined]
        assert set(body) == {"__type", "message"}
        assert "Traceback" not in body["message"]


@FUZZ
@given(
    action=st.sampled_from(sorted(ACTIONS))
    | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    body=bodies.map(lambda b: json.dumps(b).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=40),
)
def test_aws_json_never_fails_on_bad_input(client: TestClient, action: str, body: bytes) -> None:
    response = client.post(
        "/",
        content=body,
        headers={
            "x-amz-target": f"AWSStepFunctions.{action}",
            "content-type": "application/x-amz-json-1.0",
        },
    )
    check(response)


ROUTES = [
    ("GET", "/v1/health"),
    ("GET", "/v1/ready"),
    ("GET", "/v1/machines"),
    ("POST", "/v1/machines"),
    ("GET", "/v1/machines/{x}"),
    ("PUT", "/v1/machines/{x}"),
    ("DELETE", "/v1/machines/{x}"),
    ("POST", "/v1/machines/{x}/executions"),
    ("GET", "/v1/machines/{x}/executions"),
    ("GET", "/v1/executions/{x}"),
    ("POST", "/v1/executions/{x}/stop"),
    ("POST", "/v1/executions/{x}/redrive"),
    ("GET", "/v1/executions/{x}/history"),
    ("POST", "/v1/callbacks/success"),
    ("POST", "/v1/callbacks/failure"),
    ("POST", "/v1/callbacks/heartbeat"),
    ("POST", "/v1/validate"),
]
rest_members = st.sampled_from(
    ["name", "definition", "input", "output", "type", "taskToken", "error", "cause", "tags"]
)
rest_bodies = st.dictionaries(rest_members, member_values, max_size=5)
queries = st.dictionaries(
    st.sampled_from(["limit", "next_token", "status", "reverse"]),
    st.sampled_from(["1", "0", "1001", "true", "RUNNING", "x"]) | st.text(max_size=10),
    max_size=3,
)


@FUZZ
@given(
    route=st.sampled_from(ROUTES),
    method=st.none() | st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    segment=identifiers,
    body=rest_bodies.map(lambda b: json.dumps(b).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=40),
    query=queries,
    key=st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=90),
)
def test_rest_never_fails_on_bad_input(
    client: TestClient,
    route: tuple[str, str],
    method: str | None,
    segment: str,
    body: bytes,
    query: dict[str, str],
    key: str | None,
) -> None:
    path = route[1].replace("{x}", quote(segment, safe=":") or "%20")
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["idempotency-key"] = key
    response = client.request(method or route[0], path, content=body, params=query, headers=headers)
    check(response)
