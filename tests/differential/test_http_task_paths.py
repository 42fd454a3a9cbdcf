"""HTTP Tasks down every path a user has (the Engine, the Service on each store, `asl run`,
`asl start` attached and detached with `asl worker`, `asl serve` through boto3, a killed and
resumed worker): each calls the same real API on loopback and must agree with the Engine."""

from __future__ import annotations

import json

from tests.backends.api_server import Answer, ApiServer, Seen
from tests.differential.outcome import disagreement, well_formed
from tests.differential.paths import Case, EnginePath, Path_, ServicePath

CONNECTION = "arn:aws:events:us-east-1:123456789012:connection/Orders/1"


def orders(seen: Seen) -> Answer:
    if seen.path == "/orders/7" and seen.method == "POST":
        return Answer(201, {"id": 7, "got": json.loads(seen.body), "query": seen.query})
    return Answer(404, {"message": "no such order"})


def machine(url: str) -> str:
    fetch = {
        "Type": "Task",
        "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {
            "ApiEndpoint.$": f"States.Format('{url}/orders/{{}}', $.id)",
            "Method": "POST",
            "Authentication": {"ConnectionArn": CONNECTION},
            "QueryParameters": {"tag": ["a", "b"]},
            "RequestBody": {"qty.$": "$.qty"},
        },
        "Retry": [{"ErrorEquals": ["States.Http.StatusCode.404"], "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Missing"}],
        "ResultSelector": {"body.$": "$.ResponseBody", "status.$": "$.StatusCode"},
        "End": True,
    }
    missing = {"Type": "Pass", "OutputPath": "$.error.Error", "End": True}
    return json.dumps({"StartAt": "Fetch", "States": {"Fetch": fetch, "Missing": missing}})


def test_every_path_calls_the_api_alike(
    engine_path: EnginePath, service_paths: list[ServicePath], process_paths: list[Path_]
) -> None:
    with ApiServer(orders) as api:
        cases = [
            Case(machine(api.url), {"id": 7, "qty": 2}),
            Case(machine(api.url), {"id": 8, "qty": 1}),
        ]
        expected = engine_path.run_all(cases)
        assert [e.output for e in expected] == [
            {"body": {"id": 7, "got": {"qty": 2}, "query": "tag=a&tag=b"}, "status": 201},
            "States.Http.StatusCode.404",
        ]
        for outcome in expected:
            assert well_formed(outcome) is None
        paths: list[Path_] = [*service_paths, *process_paths]
        for path in paths:
            for want, got in zip(expected, path.run_all(cases), strict=True):
                assert disagreement(want, got) is None, path.name
    calls = [(seen.method, seen.path) for seen in api.seen]
    # every path: one call for order 7, two (the call and its retry) for order 8
    assert calls.count(("POST", "/orders/7")) == calls.count(("POST", "/orders/8")) / 2
    assert calls.count(("POST", "/orders/7")) == 1 + len(paths)
