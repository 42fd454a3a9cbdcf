"""`GET /metrics` of the HTTP app: behind the API's token, Prometheus text or OpenMetrics,
exact counts after executions started over the REST API, commit latency of a durable store."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from engine.service import Service, ServiceConfig
from engine.store.memory import MemoryStore

ARN = "arn:aws:states:us-east-1:111111111111"
PASS = {
    "StartAt": "P",
    "States": {"P": {"Type": "Pass", "Next": "Q"}, "Q": {"Type": "Pass", "End": True}},
}
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
AUTH = {"authorization": "Bearer T0k"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_executions_started_over_the_api() -> None:
    service = Service(MemoryStore(), config=ServiceConfig(seed=1))
    with TestClient(create_app(service, token="T0k"), raise_server_exceptions=False) as client:
        assert client.portal is not None
        assert client.get("/metrics").status_code == 401  # the API's token rule
        for name, definition in (("two", PASS), ("fails", FAIL)):
            made = client.post(
                "/v1/machines", json={"name": name, "definition": definition}, headers=AUTH
            )
            assert made.status_code == 201, made.text
        arns = []
        for i in range(4):
            started = client.post(
                "/v1/machines/two/executions", json={"name": f"r{i}"}, headers=AUTH
            )
            assert started.status_code == 201, started.text
            arns.append(f"{ARN}:execution:two:r{i}")
        client.post("/v1/machines/fails/executions", json={"name": "f"}, headers=AUTH)
        failed = f"{ARN}:execution:fails:f"
        for arn in [*arns, failed]:
            client.portal.call(service.wait_for, arn)
        response = client.get("/metrics", headers=AUTH)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        got = samples(response.text)
        open_metrics = client.get(
            "/metrics", headers={**AUTH, "accept": "application/openmetrics-text"}
        )
        assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
        assert open_metrics.text.endswith("# EOF\n")
    two = (("state_machine_arn", f"{ARN}:stateMachine:two"),)
    fails = (("state_machine_arn", f"{ARN}:stateMachine:fails"),)
    assert got[("asl_executions_started_total", two)] == 4
    assert got[("asl_executions_succeeded_total", two)] == 4
    assert got[("asl_state_transitions_total", two)] == 8
    assert got[("asl_executions_started_total", fails)] == 1
    assert got[("asl_executions_failed_total", fails)] == 1
    assert got[("asl_open_executions", ())] == 0
    # every step of a Standard execution is committed: 5 executions, at least one commit each
    assert got[("asl_commit_latency_seconds_count", ())] >= 5
    assert got[("asl_committed_steps_total", ())] >= 5
