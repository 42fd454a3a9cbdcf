"""`/v1/schedules`: create (201, Location), list, get, pause, resume, delete, and AWS's error
body with REST statuses (400 ValidationException, 404, 409)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.service import Service, ServiceConfig
from engine.store.memory import MemoryStore

ARN = "arn:aws:states:us-east-1:111111111111"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@pytest.fixture
def client() -> Iterator[TestClient]:
    service = Service(MemoryStore(), config=ServiceConfig(seed=1))
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        assert client.post("/v1/machines", json={"name": "job", "definition": PASS}).status_code
        yield client


def test_schedule_lifecycle(client: TestClient) -> None:
    body = {"name": "hourly", "machine": "job", "expression": "rate(1 hour)", "input": {"a": 1}}
    created = client.post("/v1/schedules", json=body)
    assert created.status_code == 201
    assert created.headers["Location"] == "/v1/schedules/hourly"
    shaped = created.json()
    assert {k: shaped[k] for k in ("name", "machineArn", "expression", "timezone", "state")} == {
        "name": "hourly",
        "machineArn": f"{ARN}:stateMachine:job",
        "expression": "rate(1 hour)",
        "timezone": "UTC",
        "state": "ENABLED",
    }
    assert shaped["input"] == {"a": 1}
    assert shaped["lastFire"] is None
    assert shaped["nextFire"] is not None
    assert [s["name"] for s in client.get("/v1/schedules").json()["schedules"]] == ["hourly"]
    paused = client.post("/v1/schedules/hourly/pause").json()
    assert (paused["state"], paused["nextFire"]) == ("DISABLED", None)
    assert client.post("/v1/schedules/hourly/resume").json()["state"] == "ENABLED"
    assert client.get("/v1/schedules/hourly").json()["name"] == "hourly"
    assert client.delete("/v1/schedules/hourly").status_code == 204
    missing = client.get("/v1/schedules/hourly")
    assert (missing.status_code, missing.json()) == (
        404,
        {"__type": "ResourceNotFound", "message": "Schedule hourly does not exist."},
    )


def test_schedule_errors(client: TestClient) -> None:
    body = {"name": "n", "machine": "job", "expression": "rate(1 day)"}
    assert client.post("/v1/schedules", json=body).status_code == 201
    again = client.post("/v1/schedules", json=body)
    assert (again.status_code, again.json()["__type"]) == (409, "ConflictException")
    bad = client.post("/v1/schedules", json={**body, "name": "m", "expression": "rate(0 days)"})
    assert (bad.status_code, bad.json()) == (
        400,
        {
            "__type": "ValidationException",
            "message": "Invalid Schedule Expression rate(0 days): the rate must be a positive "
            "whole number",
        },
    )
    nowhere = client.post("/v1/schedules", json={**body, "name": "m", "machine": "nope"})
    assert (nowhere.status_code, nowhere.json()["__type"]) == (404, "StateMachineDoesNotExist")
