"""`/v1/health` and `/v1/ready` while the store is unreachable (issue 13).

The store is a real MemoryStore behind a wrapper that refuses claims, lease renewals and the
health probe while `down` (tests/service/helpers.py); the worker loop runs under the app's
lifespan. Health says degraded (503) with the cause, readiness says unavailable, StartExecution
answers a retryable 503 `ServiceUnavailable` on both protocols, and all recover together.
"""

from __future__ import annotations

import json
from typing import cast

from fastapi.testclient import TestClient

from api.app import create_app
from engine.service import Service, ServiceConfig
from engine.store.base import Store
from engine.store.memory import MemoryStore
from tests.service.helpers import DOWN, Unreachable, truth, until

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_health_and_ready_report_an_unreachable_store_and_starts_are_retryable() -> None:
    store = Unreachable(MemoryStore())
    service = Service(cast(Store, store), config=ServiceConfig(poll_seconds=0.01))
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        assert client.portal is not None
        service.worker.supervisor.first = 0.001  # fast back-off: the test waits on states
        created = client.post("/v1/machines", json={"name": "m", "definition": PASS})
        machine = created.json()["arn"]
        ok = {"status": "ok", "store": "ok", "worker": "running"}
        assert (client.get("/v1/health").status_code, client.get("/v1/health").json()) == (200, ok)

        store.down = True
        service.worker.poke()
        client.portal.call(until, lambda: truth(service.worker.failure is not None))
        health = client.get("/v1/health")
        assert (health.status_code, health.json()) == (
            503,
            {"status": "degraded", "store": "unreachable", "worker": "failing", "reason": DOWN},
        )
        ready = client.get("/v1/ready")
        assert (ready.status_code, ready.json()) == (
            503,
            {"status": "unavailable", "store": "unreachable", "worker": "failing", "reason": DOWN},
        )
        # the client sees a retryable 503 (its message is the API's generic one, errors.py)
        rest = client.post(f"/v1/machines/{machine}/executions", json={"name": "x"})
        assert (rest.status_code, rest.json()["__type"]) == (503, "ServiceUnavailable")
        aws = client.post(
            "/",
            content=json.dumps({"stateMachineArn": machine, "name": "x"}),
            headers={
                "X-Amz-Target": "AWSStepFunctions.StartExecution",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
        assert (aws.status_code, aws.json()["__type"]) == (503, "ServiceUnavailable")
        assert (
            service.store.get_execution(machine.replace(":stateMachine:", ":execution:") + ":x")
            is None
        )

        store.down = False
        service.worker.poke()
        client.portal.call(until, lambda: truth(service.worker.failure is None))
        assert client.get("/v1/health").json() == ok
        ready = client.get("/v1/ready")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        started = client.post(f"/v1/machines/{machine}/executions", json={"name": "x"})
        assert started.status_code == 201, started.text
