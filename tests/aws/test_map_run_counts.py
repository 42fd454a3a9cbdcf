"""DescribeMapRun's counts for a Distributed Map that reads from and writes to moto's S3, run
as child executions by the service: items and child executions (ItemBatcher batches) counted
apart, and `resultsWritten` the records the ResultWriter wrote."""

from __future__ import annotations

import json

import pytest

from engine.runtime.clock import VirtualClock
from engine.service import Service
from engine.service.map_runs import MapRunCounts, map_run_counts
from engine.values import JSON
from tests.aws.test_distributed_map import bucket, dmap, reader
from tests.service.helpers import T0, finish, run

# Fails a batch whose first item's "fail" is "yes".
BATCH_FAILS: dict[str, JSON] = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.Items[0].fail", "StringEquals": "yes", "Next": "Boom"}],
            "Default": "Done",
        },
        "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "batch failed"},
        "Done": {"Type": "Pass", "End": True},
    },
}


def counts(**given: int) -> dict[str, int]:
    names = ("pending", "running", "succeeded", "failed", "timedOut", "aborted", "total")
    extras = ("resultsWritten", "failuresNotRedrivable", "pendingRedrive")
    return {name: given.get(name, 0) for name in names + extras}


@pytest.mark.parametrize(
    ("tolerated", "status", "expected"),
    [
        # batches [0, 1] (fails: 2 items tolerated), [2, 3], [4]: every record is written
        (
            2,
            "SUCCEEDED",
            MapRunCounts(
                counts(succeeded=3, failed=2, total=5, resultsWritten=5),
                counts(succeeded=2, failed=1, total=3, resultsWritten=3),
            ),
        ),
        # the first batch fails the Map: its record is written (FAILED_0.json), the two
        # batches never started are PENDING_0.json records, not results
        (
            1,
            "FAILED",
            MapRunCounts(
                counts(pending=3, failed=2, total=5, resultsWritten=2),
                counts(pending=2, failed=1, total=3, resultsWritten=1),
            ),
        ),
    ],
    ids=["tolerated", "exceeded"],
)
def test_results_written_count_the_records_the_result_writer_wrote(
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    tolerated: int,
    status: str,
    expected: MapRunCounts,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    fails = ["yes", "no", "no", "no", "no"]
    body = json.dumps([{"id": i, "fail": f} for i, f in enumerate(fails)]).encode()
    name = bucket(moto_endpoint, {"items.json": body})
    definition = dmap(
        BATCH_FAILS,
        ItemReader=reader("JSON", name, "items.json"),
        ItemBatcher={"MaxItemsPerBatch": 2},
        MaxConcurrency=1,
        ToleratedFailureCount=tolerated,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": name, "Prefix": "out"},
        },
    )

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("aws", json.dumps(definition))
        started = await service.start_execution(machine.arn, name="e", input_text="{}")
        closed = await finish(service, started.arn)
        assert closed.status == status, closed.cause
        [listed], _ = await service.list_map_runs(started.arn)
        assert map_run_counts(await service.describe_map_run(listed.arn)) == expected

    run(main, clock=VirtualClock(T0))
