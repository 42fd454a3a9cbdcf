"""Service: a Distributed Map's ResultWriter over child executions, on each store, against
moto's S3. The parent keeps no record of a child that succeeded; the files are the children's
records as the store has them (DescribeExecution's fields, in item order), written page by
page, and a child redriven to success shows its RedriveCount."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from engine.backends.result_writer import _ResultFile, render
from engine.interpreter.history import format_time
from engine.interpreter.states import map_child_name
from engine.runtime.clock import VirtualClock
from engine.service import Service
from engine.service.map_results import PAGE
from engine.store.base import ExecutionRecord
from engine.values import JSON, dumps
from tests.aws_server import aws_client, unique_name
from tests.service.helpers import (
    PREFIX,
    T0,
    ManualClock,
    StoreFactory,
    Tokens,
    callback_state,
    finish,
    run,
    text,
    until,
)

CHILD_MACHINE = f"{PREFIX}:stateMachine:fan/Fan"


def writer_machine(processor: dict[str, JSON], **fields: JSON) -> str:
    """A Distributed Map over the input's `items` writing its results to `bucket`/out."""
    return text(
        {
            "StartAt": "Fan",
            "States": {
                "Fan": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": next(iter(processor)),
                        "States": processor,
                    },
                    "ResultWriter": {
                        "Resource": "arn:aws:states:::s3:putObject",
                        "Parameters": {"Bucket.$": "$.bucket", "Prefix": "out"},
                    },
                    "End": True,
                    **fields,
                }
            },
        }
    )


# Fails an item whose "fail" is true: Error "Boom", Cause "item failed".
FAIL_SOME: dict[str, JSON] = {
    "Check": {
        "Type": "Choice",
        "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Boom"}],
        "Default": "Done",
    },
    "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "item failed"},
    "Done": {"Type": "Pass", "Parameters": {"id.$": "$.id"}, "End": True},
}


@pytest.fixture
def s3_bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = unique_name("results")
    aws_client("s3", moto_endpoint).create_bucket(Bucket=name)
    return name


def read(endpoint: str, bucket: str, key: str) -> bytes:
    body: bytes = aws_client("s3", endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def expected_record(child: ExecutionRecord) -> dict[str, Any]:
    """A child execution's record as AWS's result files list it, from DescribeExecution."""
    record: dict[str, Any] = {}
    if child.status != "SUCCEEDED":
        record |= {"Cause": child.cause, "Error": child.error}
    record |= {
        "ExecutionArn": child.arn,
        "Input": dumps(child.input),
        "InputDetails": {"Included": True},
        "Name": child.name,
    }
    if child.status == "SUCCEEDED":
        record |= {"Output": dumps(child.output), "OutputDetails": {"Included": True}}
        record |= {
            "RedriveCount": child.redrive_count,
            "RedriveStatus": "NOT_REDRIVABLE",
            "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
        }
    else:
        record |= {"RedriveCount": child.redrive_count, "RedriveStatus": "REDRIVABLE_BY_MAP_RUN"}
    assert child.stop is not None
    return record | {
        "StartDate": format_time(child.start),
        "StateMachineArn": CHILD_MACHINE,
        "Status": child.status,
        "StopDate": format_time(child.stop),
    }


async def children_in_item_order(
    service: Service, map_run_arn: str, count: int
) -> list[ExecutionRecord]:
    children, _ = await service.list_map_run_executions(map_run_arn, limit=1000)
    following: str | None = _
    while following is not None:
        more, following = await service.list_map_run_executions(
            map_run_arn, limit=1000, next_token=following
        )
        children += more
    by_name = {child.name: child for child in children}
    return [
        await service.describe_execution(by_name[map_child_name(map_run_arn, i)].arn)
        for i in range(count)
    ]


def test_two_thousand_children_are_written_from_the_store_in_item_order(
    every_store: StoreFactory, moto_endpoint: str, s3_bucket: str
) -> None:
    count = 2_050  # more than four store pages, the last one short
    assert count > 4 * PAGE
    items: list[JSON] = [{"id": i, "fail": i % 100 == 7} for i in range(count)]

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", writer_machine(FAIL_SOME, ToleratedFailureCount=21, MaxConcurrency=50)
        )
        started = await service.start_execution(
            machine.arn, name="p", input_text=json.dumps({"items": items, "bucket": s3_bucket})
        )
        # 2,050 child executions: longer than `finish` waits for one condition
        closed = await asyncio.wait_for(service.wait_for(started.arn), 120)
        assert closed.status == "SUCCEEDED", closed.cause
        [listed], _ = await service.list_map_runs(started.arn)
        run_id = listed.arn.rsplit(":", 1)[1]
        assert closed.output == {
            "MapRunArn": listed.arn,
            "ResultWriterDetails": {"Bucket": s3_bucket, "Key": f"out/{run_id}/manifest.json"},
        }
        children = await children_in_item_order(service, listed.arn, count)
        assert [c.status for c in children] == [
            "FAILED" if i % 100 == 7 else "SUCCEEDED" for i in range(count)
        ]
        succeeded = [expected_record(c) for c in children if c.status == "SUCCEEDED"]
        failed = [expected_record(c) for c in children if c.status == "FAILED"]
        assert failed[0]["Error"] == "Boom"
        assert json.loads(succeeded[3]["Output"]) == {"id": 3}
        # the whole files, byte for byte, as json.dumps(records, indent=2) writes them
        files = {
            "SUCCEEDED": json.dumps(succeeded, ensure_ascii=False, indent=2).encode(),
            "FAILED": json.dumps(failed, ensure_ascii=False, indent=2).encode(),
        }
        for status, body in files.items():
            assert read(moto_endpoint, s3_bucket, f"out/{run_id}/{status}_0.json") == body
        manifest = json.loads(read(moto_endpoint, s3_bucket, f"out/{run_id}/manifest.json"))
        assert manifest == {
            "DestinationBucket": s3_bucket,
            "MapRunArn": listed.arn,
            "ResultFiles": {
                "FAILED": [{"Key": f"out/{run_id}/FAILED_0.json", "Size": len(files["FAILED"])}],
                "PENDING": [],
                "SUCCEEDED": [
                    {"Key": f"out/{run_id}/SUCCEEDED_0.json", "Size": len(files["SUCCEEDED"])}
                ],
            },
        }

    run(main, store=every_store(), clock=VirtualClock(T0))


def test_express_children_are_written_from_the_store(
    every_store: StoreFactory, moto_endpoint: str, s3_bucket: str
) -> None:
    definition = json.loads(writer_machine(FAIL_SOME, ToleratedFailureCount=1))
    config = definition["States"]["Fan"]["ItemProcessor"]["ProcessorConfig"]
    config["ExecutionType"] = "EXPRESS"
    items: list[JSON] = [{"id": 0, "fail": False}, {"id": 1, "fail": True}]

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("fan", json.dumps(definition))
        execution_input = json.dumps({"items": items, "bucket": s3_bucket})
        started = await service.start_execution(machine.arn, name="p", input_text=execution_input)
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        [listed], _ = await service.list_map_runs(started.arn)
        folder = f"out/{listed.arn.rsplit(':', 1)[1]}/"
        children = await children_in_item_order(service, listed.arn, 2)
        [done] = json.loads(read(moto_endpoint, s3_bucket, f"{folder}SUCCEEDED_0.json"))
        [failed] = json.loads(read(moto_endpoint, s3_bucket, f"{folder}FAILED_0.json"))
        for record, child in zip((done, failed), children, strict=True):
            # AWS's form `express:MACHINE/LABEL:NAME`, as the in-process runs write it
            expected = expected_record(child) | {
                "ExecutionArn": f"{PREFIX}:express:fan/Fan:{child.name}"
            }
            assert record == expected
        assert (failed["Status"], failed["Error"], done["Output"]) == ("FAILED", "Boom", '{"id":0}')

    run(main, store=every_store(), clock=VirtualClock(T0))


def test_the_parent_forgets_a_child_that_succeeded_before_the_write(
    every_store: StoreFactory, moto_endpoint: str, s3_bucket: str
) -> None:
    tokens = Tokens()
    states: dict[str, JSON] = {
        "Quick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Done"}],
            "Default": "Ask",
        },
        "Ask": callback_state(ResultPath=None, End=True),
        "Done": {"Type": "Pass", "Result": "zero", "End": True},
    }
    store = every_store()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan",
            writer_machine(
                states,
                ResultWriter={
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket.$": "$.bucket", "Prefix": "out"},
                    "WriterConfig": {"Transformation": "COMPACT"},
                },
            ),
        )
        execution_input = json.dumps({"items": [0, 1, 2], "bucket": s3_bucket})
        started = await service.start_execution(machine.arn, name="p", input_text=execution_input)
        waiting = [await tokens.next(), await tokens.next()]

        async def item_zero_folded() -> bool:  # the Map took item 0's answer and forgot it
            snapshot = store.get_execution(started.arn)
            assert snapshot is not None
            state = snapshot.state
            assert isinstance(state, dict)
            root = state["frames"]["root"]  # type: ignore[call-overload, index]
            return isinstance(root, dict) and len(root["child_ids"]) == 2

        await until(item_zero_folded)
        for token in waiting:
            await service.send_task_success(token, '{"n": 1}')
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        details = closed.output["ResultWriterDetails"]  # type: ignore[call-overload, index]
        manifest = json.loads(read(moto_endpoint, s3_bucket, details["Key"]))
        [listed] = manifest["ResultFiles"]["SUCCEEDED"]
        assert json.loads(read(moto_endpoint, s3_bucket, listed["Key"])) == ["zero", 1, 2]

    run(main, store=store, functions={"remember": tokens.remember}, clock=VirtualClock(T0))


CALLS: dict[int, int] = {}


def fail_once_on_one(event: JSON, context: object) -> JSON:
    """Fails its first call for 1 (the redrive's call succeeds)."""
    assert isinstance(event, int)
    CALLS[event] = CALLS.get(event, 0) + 1
    if event == 1 and CALLS[event] == 1:
        raise ValueError("one fails once")
    return event * 10


def test_a_child_redriven_to_success_is_written_with_its_redrive_count(
    every_store: StoreFactory, moto_endpoint: str, s3_bucket: str
) -> None:
    CALLS.clear()
    call: dict[str, JSON] = {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "fail_once_on_one", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        }
    }

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", writer_machine(call, MaxConcurrency=1)
        )
        execution_input = json.dumps({"items": [0, 1, 2, 3], "bucket": s3_bucket})
        started = await service.start_execution(machine.arn, name="p", input_text=execution_input)
        failed = await finish(service, started.arn)
        assert (failed.status, failed.error) == ("FAILED", "ValueError")
        [listed], _ = await service.list_map_runs(started.arn)
        folder = f"out/{listed.arn.rsplit(':', 1)[1]}/"
        # the first run: item 0 succeeded, item 1 failed the Map, 2 and 3 never started
        first = json.loads(read(moto_endpoint, s3_bucket, f"{folder}manifest.json"))
        assert [len(first["ResultFiles"][s]) for s in ("FAILED", "PENDING", "SUCCEEDED")] == [
            1,
            1,
            1,
        ]
        pending = json.loads(read(moto_endpoint, s3_bucket, f"{folder}PENDING_0.json"))
        assert [(p["Input"], p["Status"], "StopDate" in p) for p in pending] == [
            ("2", "PENDING", False),
            ("3", "PENDING", False),
        ]
        [failure] = json.loads(read(moto_endpoint, s3_bucket, f"{folder}FAILED_0.json"))
        assert (failure["Input"], failure["Error"], failure["RedriveCount"]) == (
            "1",
            "ValueError",
            0,
        )

        clock.advance_to(T0 + 60)
        await service.redrive_execution(started.arn)
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert CALLS == {0: 1, 1: 2, 2: 1, 3: 1}  # item 0 did not run again
        manifest = json.loads(read(moto_endpoint, s3_bucket, f"{folder}manifest.json"))
        assert manifest["ResultFiles"]["FAILED"] == manifest["ResultFiles"]["PENDING"] == []
        records = json.loads(read(moto_endpoint, s3_bucket, f"{folder}SUCCEEDED_0.json"))
        children = await children_in_item_order(service, listed.arn, 4)
        assert records == [expected_record(child) for child in children]
        assert [(r["Output"], r["RedriveCount"], r["StartDate"]) for r in records] == [
            ("0", 0, format_time(T0)),
            ("10", 1, format_time(T0)),  # the redriven child: its first start, one redrive
            ("20", 0, format_time(T0 + 60)),
            ("30", 0, format_time(T0 + 60)),
        ]
        assert {r["RedriveStatus"] for r in records} == {"NOT_REDRIVABLE"}

    clock = ManualClock(T0)
    run(
        main,
        store=every_store(),
        clock=clock,
        functions={"fail_once_on_one": fail_once_on_one},
    )


@pytest.mark.parametrize("output_type", ["JSON", "JSONL"])
def test_a_result_file_written_record_by_record_is_the_rendered_list(output_type: str) -> None:
    records: list[JSON] = [
        {"Output": '{"a": [1, {"b": null}]}', "nested": {"x": [1, 2, {}], "é": "ü"}},
        [],
        "text",
        {"empty": {}, "list": []},
    ]
    written = _ResultFile(output_type)
    for record in records:
        written.add(record)
    body, size = written.finish()
    data = body.read()
    written.close()
    assert data == render(records, output_type)
    assert size == len(data)
