"""A Distributed Map's ItemReader, ItemBatcher and ResultWriter against moto's S3 server:
every reader (CSV, JSON, JSONL, S3 inventory manifest, listObjectsV2), batching, tolerated
failures under and over the threshold, and the result files exactly as AWS writes them."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from engine.embedded import Engine
from engine.values import JSON
from tests.aws.helpers import out, run
from tests.aws_server import aws_client, unique_name

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
MAP_RUN = re.compile(rf"arn:aws:states:us-east-1:111111111111:mapRun:aws/Map:({UUID})")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
CHILD_MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:aws/Map"
CHILD_EXECUTION = re.compile(rf"arn:aws:states:us-east-1:111111111111:execution:aws/Map:({UUID})")
PASS: dict[str, JSON] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
# Fails the items whose "fail" field is "yes": Error "Boom", Cause "item failed".
FAIL_SOME: dict[str, JSON] = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "StringEquals": "yes", "Next": "Boom"}],
            "Default": "Done",
        },
        "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "item failed"},
        "Done": {"Type": "Pass", "End": True},
    },
}


def bucket(endpoint: str, objects: dict[str, bytes] | None = None) -> str:
    name = unique_name("bkt")
    s3 = aws_client("s3", endpoint)
    s3.create_bucket(Bucket=name)
    for key, body in (objects or {}).items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    return name


def get(endpoint: str, name: str, key: str) -> bytes:
    body: bytes = aws_client("s3", endpoint).get_object(Bucket=name, Key=key)["Body"].read()
    return body


def dmap(processor: dict[str, JSON] | None = None, **fields: JSON) -> dict[str, JSON]:
    """A machine of one Distributed Map state named Map."""
    state: dict[str, JSON] = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            **(processor or PASS),
        },
        "End": True,
    }
    state.update(fields)
    return {"StartAt": "Map", "States": {"Map": state}}


def reader(input_type: str | None, name: str, key: str, **config: JSON) -> dict[str, JSON]:
    reader_config: dict[str, JSON] = dict(config)
    if input_type is not None:
        reader_config["InputType"] = input_type
    return {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": reader_config,
        "Parameters": {"Bucket": name, "Key": key},
    }


# -- readers --------------------------------------------------------------------------------------


def test_csv_first_row_with_batches_and_item_selector(moto_endpoint: str, tmp_path: Path) -> None:
    name = bucket(moto_endpoint, {"ratings.csv": b"id,title,rating\n1,A,5\n2,B,3\n3,C,4\n"})
    definition = dmap(
        ItemReader=reader("CSV", name, "ratings.csv", CSVHeaderLocation="FIRST_ROW"),
        ItemSelector={"movie.$": "$$.Map.Item.Value.title", "index.$": "$$.Map.Item.Index"},
        ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"source.$": "$.source"}},
    )
    result = run_sync(moto_endpoint, tmp_path, definition, {"source": "s3"})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [
        {
            "Items": [{"movie": "A", "index": 0}, {"movie": "B", "index": 1}],
            "BatchInput": {"source": "s3"},
        },
        {"Items": [{"movie": "C", "index": 2}], "BatchInput": {"source": "s3"}},
    ]


def test_csv_given_headers_pipe_delimiter_quotes_and_max_items(
    moto_endpoint: str, tmp_path: Path
) -> None:
    text = b'a|"multi\nline"|x\n\nb||\nc|z|9\n'
    name = bucket(moto_endpoint, {"data.psv": text})
    definition = dmap(
        ItemReader=reader(
            "CSV",
            name,
            "data.psv",
            CSVHeaderLocation="GIVEN",
            CSVHeaders=["k", "v", "n"],
            CSVDelimiter="PIPE",
            MaxItems=2,
        )
    )
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.status == "SUCCEEDED", result.cause
    # Values are strings, a blank line is no row, MaxItems stops after two.
    assert result.output == [{"k": "a", "v": "multi\nline", "n": "x"}, {"k": "b", "v": "", "n": ""}]


@pytest.mark.parametrize(
    ("delimiter", "text"),
    [
        ("COMMA", "a,b\n1,2\n"),
        ("SEMICOLON", "a;b\n1;2\n"),
        ("SPACE", "a b\n1 2\n"),
        ("TAB", "a\tb\n1\t2\n"),
    ],
    ids=["comma", "semicolon", "space", "tab"],
)
def test_csv_delimiters(moto_endpoint: str, tmp_path: Path, delimiter: str, text: str) -> None:
    name = bucket(moto_endpoint, {"f.csv": text.encode()})
    definition = dmap(
        ItemReader=reader(
            "CSV", name, "f.csv", CSVHeaderLocation="FIRST_ROW", CSVDelimiter=delimiter
        )
    )
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.output == [{"a": "1", "b": "2"}]


def test_csv_duplicate_headers_fail_with_aws_cause(moto_endpoint: str, tmp_path: Path) -> None:
    name = bucket(moto_endpoint, {"f.csv": b"a,a\n1,2\n"})
    definition = dmap(ItemReader=reader("CSV", name, "f.csv", CSVHeaderLocation="FIRST_ROW"))
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.ItemReaderFailed",
        "CSV headers cannot contain duplicates.",
    )


def test_json_array_with_max_items_path(moto_endpoint: str, tmp_path: Path) -> None:
    items = [{"n": i, "f": i / 2, "s": "é"} for i in range(5)]
    name = bucket(moto_endpoint, {"items.json": json.dumps(items).encode()})
    definition = dmap(
        ItemReader={
            **reader("JSON", name, "items.json"),
            "ReaderConfig": {"InputType": "JSON", "MaxItemsPath": "$.limit"},
        }
    )
    result = run_sync(moto_endpoint, tmp_path, definition, {"limit": 3})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == items[:3]


def test_json_object_is_not_an_array(moto_endpoint: str, tmp_path: Path) -> None:
    name = bucket(moto_endpoint, {"o.json": b'  {"a": [1]}'})
    result = run_sync(moto_endpoint, tmp_path, dmap(ItemReader=reader("JSON", name, "o.json")))
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.ItemReaderFailed",
        "Attempting to map over non-iterable node.",
    )


def test_jsonl(moto_endpoint: str, tmp_path: Path) -> None:
    name = bucket(moto_endpoint, {"l.jsonl": b'{"a":1}\n\n[2]\n"three"\n'})
    result = run_sync(moto_endpoint, tmp_path, dmap(ItemReader=reader("JSONL", name, "l.jsonl")))
    assert result.output == [{"a": 1}, [2], "three"]


def test_missing_object_fails_with_item_reader_failed(moto_endpoint: str, tmp_path: Path) -> None:
    name = bucket(moto_endpoint)
    result = run_sync(moto_endpoint, tmp_path, dmap(ItemReader=reader("JSON", name, "none.json")))
    assert result.status == "FAILED"
    assert result.error == "States.ItemReaderFailed"
    assert re.fullmatch(
        r"The specified key does not exist\. \(Service: S3, Status Code: 404, Request ID: \S*\)",
        str(result.cause),
    )


def test_list_objects_v2_pages_through_a_prefix(moto_endpoint: str, tmp_path: Path) -> None:
    objects = {f"in/{i}.txt": b"x" * i for i in range(1, 6)}
    name = bucket(moto_endpoint, {**objects, "other/skip.txt": b"no"})
    definition = dmap(
        ItemReader={
            "Resource": "arn:aws:states:::s3:listObjectsV2",
            # MaxKeys 2: the reader follows the continuation tokens over three pages.
            "Parameters": {"Bucket": name, "Prefix": "in/", "MaxKeys": 2},
        }
    )
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.status == "SUCCEEDED", result.cause
    listed = aws_client("s3", moto_endpoint).list_objects_v2(Bucket=name, Prefix="in/")["Contents"]
    assert result.output == [
        {
            "Etag": entry["ETag"],
            "Key": entry["Key"],
            "LastModified": int(entry["LastModified"].timestamp()),
            "Size": entry["Size"],
            "StorageClass": "STANDARD",
        }
        for entry in listed
    ]
    assert [item["Key"] for item in out(result)] == sorted(objects)


def test_s3_inventory_manifest(moto_endpoint: str, tmp_path: Path) -> None:
    name = bucket(moto_endpoint)
    rows = 'inv,"a.csv","3"\ninv,"b/c.json","10"\n'
    data = gzip.compress(rows.encode())
    manifest = {
        "sourceBucket": "inv",
        "destinationBucket": f"arn:aws:s3:::{name}",
        "version": "2016-11-30",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "inventory/data/part-1.csv.gz", "size": len(data)}],
    }
    s3 = aws_client("s3", moto_endpoint)
    s3.put_object(Bucket=name, Key="inventory/data/part-1.csv.gz", Body=data)
    s3.put_object(Bucket=name, Key="inventory/manifest.json", Body=json.dumps(manifest).encode())
    definition = dmap(ItemReader=reader("MANIFEST", name, "inventory/manifest.json"))
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [
        {"Bucket": "inv", "Key": "a.csv", "Size": "3"},
        {"Bucket": "inv", "Key": "b/c.json", "Size": "10"},
    ]


def test_jsonata_arguments_and_max_items(moto_endpoint: str, tmp_path: Path) -> None:
    name = bucket(moto_endpoint, {"k.json": b"[1, 2, 3, 4]"})
    definition = dmap(
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $states.input.max %}"},
            "Arguments": {"Bucket": "{% $states.input.bucket %}", "Key": "k.json"},
        },
        ItemBatcher={"MaxItemsPerBatch": "{% 2 %}"},
    )
    definition["QueryLanguage"] = "JSONata"
    result = run_sync(moto_endpoint, tmp_path, definition, {"bucket": name, "max": 3})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [{"Items": [1, 2]}, {"Items": [3]}]


def test_max_input_bytes_per_batch(moto_endpoint: str, tmp_path: Path) -> None:
    name = bucket(moto_endpoint, {"k.json": json.dumps(["aaaa", "bbbb", "cccc"]).encode()})
    # {"Items":[]} is 12 bytes, each item 6: two items (12 + 6 + 1 + 6 = 25) fit in 25.
    definition = dmap(
        ItemReader=reader("JSON", name, "k.json"), ItemBatcher={"MaxInputBytesPerBatch": 25}
    )
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.output == [{"Items": ["aaaa", "bbbb"]}, {"Items": ["cccc"]}]


def test_without_an_aws_endpoint_the_read_is_refused(tmp_path: Path) -> None:
    import asyncio

    async def go() -> Any:
        (tmp_path / "asl.toml").write_text("")
        engine = Engine.for_testing(config=tmp_path / "asl.toml")
        try:
            machine = engine.load(json.dumps(dmap(ItemReader=reader("JSON", "b", "k"))), name="m")
            return await engine.run(machine, {}, name="e")
        finally:
            await engine.aclose()

    result = asyncio.run(go())
    assert (result.status, result.error) == ("FAILED", "States.ItemReaderFailed")
    assert "Calling AWS service 's3' is refused" in result.cause


# -- tolerated failures ---------------------------------------------------------------------------


def items_file(endpoint: str, fails: list[str]) -> tuple[str, dict[str, JSON]]:
    body = json.dumps([{"id": i, "fail": f} for i, f in enumerate(fails)]).encode()
    name = bucket(endpoint, {"items.json": body})
    return name, reader("JSON", name, "items.json")


def test_failures_under_the_threshold(moto_endpoint: str, tmp_path: Path) -> None:
    _, item_reader = items_file(moto_endpoint, ["no", "yes", "no", "no"])
    definition = dmap(FAIL_SOME, ItemReader=item_reader, ToleratedFailurePercentage=25)
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [
        {"id": 0, "fail": "no"},
        {"Error": "Boom", "Cause": "item failed"},
        {"id": 2, "fail": "no"},
        {"id": 3, "fail": "no"},
    ]


def test_failures_over_the_threshold(moto_endpoint: str, tmp_path: Path) -> None:
    _, item_reader = items_file(moto_endpoint, ["yes", "yes", "no", "no"])
    definition = dmap(FAIL_SOME, ItemReader=item_reader, ToleratedFailureCount=1)
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
    )


# -- ResultWriter ---------------------------------------------------------------------------------


def manifest_of(endpoint: str, result: Any) -> tuple[str, str, dict[str, Any]]:
    """(bucket, map run id, manifest) of a Map's `{"MapRunArn", "ResultWriterDetails"}`."""
    output = out(result)
    assert set(output) == {"MapRunArn", "ResultWriterDetails"}
    match = MAP_RUN.fullmatch(output["MapRunArn"])
    assert match is not None, output["MapRunArn"]
    details = output["ResultWriterDetails"]
    manifest = json.loads(get(endpoint, details["Bucket"], details["Key"]))
    return details["Bucket"], match.group(1), manifest


def check_record(record: dict[str, Any], status: str, child_input: JSON) -> None:
    """A child run's record: DescribeExecution's fields, as AWS's result files show them."""
    match = CHILD_EXECUTION.fullmatch(record["ExecutionArn"])
    assert match is not None
    assert record["Name"] == match.group(1)
    assert record["StateMachineArn"] == CHILD_MACHINE
    assert record["Status"] == status
    assert json.loads(record["Input"]) == child_input
    assert record["InputDetails"] == {"Included": True}
    assert record["RedriveCount"] == 0
    assert ISO.fullmatch(record["StartDate"])
    if status == "PENDING":
        assert "StopDate" not in record
    else:
        assert ISO.fullmatch(record["StopDate"])


def test_result_writer_files_as_aws_writes_them(moto_endpoint: str, tmp_path: Path) -> None:
    name, item_reader = items_file(moto_endpoint, ["no", "yes", "no"])
    definition = dmap(
        FAIL_SOME,
        ItemReader=item_reader,
        ToleratedFailurePercentage=50,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": name, "Prefix": "jobs"},
        },
    )
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.status == "SUCCEEDED", result.cause
    bucket_name, run_id, manifest = manifest_of(moto_endpoint, result)
    assert out(result)["ResultWriterDetails"] == {
        "Bucket": name,
        "Key": f"jobs/{run_id}/manifest.json",
    }
    succeeded_key = f"jobs/{run_id}/SUCCEEDED_0.json"
    failed_key = f"jobs/{run_id}/FAILED_0.json"
    succeeded = get(moto_endpoint, bucket_name, succeeded_key)
    failed = get(moto_endpoint, bucket_name, failed_key)
    assert manifest == {
        "DestinationBucket": name,
        "MapRunArn": out(result)["MapRunArn"],
        "ResultFiles": {
            "FAILED": [{"Key": failed_key, "Size": len(failed)}],
            "PENDING": [],
            "SUCCEEDED": [{"Key": succeeded_key, "Size": len(succeeded)}],
        },
    }
    records = json.loads(succeeded)
    assert [list(r) for r in records] == [
        [
            "ExecutionArn",
            "Input",
            "InputDetails",
            "Name",
            "Output",
            "OutputDetails",
            "RedriveCount",
            "RedriveStatus",
            "RedriveStatusReason",
            "StartDate",
            "StateMachineArn",
            "Status",
            "StopDate",
        ]
    ] * 2
    for record, index in zip(records, (0, 2), strict=True):
        check_record(record, "SUCCEEDED", {"id": index, "fail": "no"})
        assert json.loads(record["Output"]) == {"id": index, "fail": "no"}
        assert record["OutputDetails"] == {"Included": True}
        assert record["RedriveStatus"] == "NOT_REDRIVABLE"
        assert record["RedriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    [failure] = json.loads(failed)
    check_record(failure, "FAILED", {"id": 1, "fail": "yes"})
    assert (failure["Error"], failure["Cause"]) == ("Boom", "item failed")
    assert failure["RedriveStatus"] == "REDRIVABLE_BY_MAP_RUN"
    assert "Output" not in failure


@pytest.mark.parametrize(
    ("transformation", "expected"),
    [
        ("COMPACT", [[1, 2], [3]]),
        ("FLATTEN", [1, 2, 3]),
    ],
    ids=["compact", "flatten"],
)
def test_result_writer_transformation_and_jsonl(
    moto_endpoint: str, tmp_path: Path, transformation: str, expected: list[JSON]
) -> None:
    name = bucket(moto_endpoint, {"k.json": b"[[1, 2], [3]]"})
    definition = dmap(
        ItemReader=reader("JSON", name, "k.json"),
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": name, "Prefix": "out/"},
            "WriterConfig": {"OutputType": "JSONL", "Transformation": transformation},
        },
    )
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.status == "SUCCEEDED", result.cause
    bucket_name, run_id, manifest = manifest_of(moto_endpoint, result)
    [listed] = manifest["ResultFiles"]["SUCCEEDED"]
    assert listed["Key"] == f"out/{run_id}/SUCCEEDED_0.json"
    lines = get(moto_endpoint, bucket_name, listed["Key"]).decode().splitlines()
    assert [json.loads(line) for line in lines] == expected


def test_result_writer_preview_only_shapes_the_output(moto_endpoint: str, tmp_path: Path) -> None:
    name = bucket(moto_endpoint, {"k.json": b"[[1, 2], [3]]"})
    definition = dmap(
        ItemReader=reader("JSON", name, "k.json"),
        ResultWriter={"WriterConfig": {"OutputType": "JSON", "Transformation": "FLATTEN"}},
    )
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.output == [1, 2, 3]


def test_result_writer_over_the_threshold_writes_then_fails(
    moto_endpoint: str, tmp_path: Path
) -> None:
    name, item_reader = items_file(moto_endpoint, ["no", "yes", "no", "no"])
    definition = dmap(
        FAIL_SOME,
        ItemReader=item_reader,
        MaxConcurrency=1,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": name, "Prefix": "failed-run"},
        },
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
    )
    definition["States"]["Map"].pop("End")  # type: ignore[union-attr]
    definition["States"]["Map"]["Next"] = "Caught"  # type: ignore[index]
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"Error": "Boom", "Cause": "item failed"}
    s3 = aws_client("s3", moto_endpoint)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name, Prefix="failed-run/")["Contents"]]
    [manifest_key] = [k for k in keys if k.endswith("manifest.json")]
    manifest = json.loads(get(moto_endpoint, name, manifest_key))
    files = manifest["ResultFiles"]
    assert [len(files[s]) for s in ("FAILED", "PENDING", "SUCCEEDED")] == [1, 1, 1]
    # MaxConcurrency 1: item 0 succeeded, item 1 failed the Map, 2 and 3 never started.
    pending = json.loads(get(moto_endpoint, name, files["PENDING"][0]["Key"]))
    for record, index in zip(pending, (2, 3), strict=True):
        check_record(record, "PENDING", {"id": index, "fail": "no"})
    succeeded = json.loads(get(moto_endpoint, name, files["SUCCEEDED"][0]["Key"]))
    assert [json.loads(r["Input"])["id"] for r in succeeded] == [0]
    [failed] = json.loads(get(moto_endpoint, name, files["FAILED"][0]["Key"]))
    check_record(failed, "FAILED", {"id": 1, "fail": "yes"})


def test_result_writer_to_a_missing_bucket(moto_endpoint: str, tmp_path: Path) -> None:
    _, item_reader = items_file(moto_endpoint, ["no"])
    definition = dmap(
        ItemReader=item_reader,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": unique_name("none"), "Prefix": "p"},
        },
    )
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert (result.status, result.error) == ("FAILED", "States.ResultWriterFailed")
    assert str(result.cause).startswith("The specified bucket does not exist (Service: S3, ")


def run_sync(
    endpoint: str, folder: Path, definition: dict[str, JSON], execution_input: JSON = None
) -> Any:
    import asyncio

    return asyncio.run(run(endpoint, folder, definition, execution_input))


# -- crash ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("crash_at", ["before_task", "after_task"])
def test_a_worker_killed_while_the_map_reads_is_resumed_and_reads_again(
    moto_endpoint: str, tmp_path: Path, crash_at: str
) -> None:
    from engine.testing import CrashHarness

    name = bucket(moto_endpoint, {"k.jsonl": b'{"n": 1}\n{"n": 2}\n{"n": 3}\n'})
    definition = dmap(
        ItemReader=reader("JSONL", name, "k.jsonl"), ItemBatcher={"MaxItemsPerBatch": 2}
    )
    path = tmp_path / "reader.asl.json"
    path.write_text(json.dumps(definition))
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    with CrashHarness(f"sqlite:///{tmp_path / 'asl.db'}", env=env) as harness:
        arn = harness.start(path, {})
        # The read's start is committed (before_task), or S3 answered and the answer is lost
        # with the worker (after_task); either way the resumed Map asks S3 again.
        report = harness.crash_and_recover(crash_at)
        assert report.crashed.returncode == -9
        described = harness.describe(arn)
        assert described["status"] == "SUCCEEDED", described
        assert json.loads(str(described["output"])) == [
            {"Items": [{"n": 1}, {"n": 2}]},
            {"Items": [{"n": 3}]},
        ]
        types = [event["type"] for event in harness.history(arn)]
        assert types.count("MapStateEntered") == 1
        assert "MapStateFailed" not in types


@pytest.mark.parametrize(("tolerated", "status"), [(1, "FAILED"), (2, "SUCCEEDED")])
def test_a_failed_batch_fails_each_of_its_items(
    moto_endpoint: str, tmp_path: Path, tolerated: int, status: str
) -> None:
    _, item_reader = items_file(moto_endpoint, ["yes", "no", "no", "no"])
    batch_fails: dict[str, JSON] = {
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
    definition = dmap(
        batch_fails,
        ItemReader=item_reader,
        ItemBatcher={"MaxItemsPerBatch": 2},
        ToleratedFailureCount=tolerated,
    )
    result = run_sync(moto_endpoint, tmp_path, definition)
    assert result.status == status
    if status == "FAILED":
        assert result.error == "States.ExceedToleratedFailureThreshold"
    else:
        assert out(result)[0] == {"Error": "Boom", "Cause": "batch failed"}


# The worker's task calls: 1 the read, 2-4 the three children's starts, 5 the write. A start
# lost with its worker is made again (idempotent by the child's name), as the write is.
@pytest.mark.parametrize(
    "crash_at", ["before_task:2", "after_task:2", "before_task:5", "after_task:5"]
)
def test_a_worker_killed_while_the_map_starts_a_child_or_writes_is_resumed_and_does_it_again(
    moto_endpoint: str, tmp_path: Path, crash_at: str
) -> None:
    from engine.testing import CrashHarness

    name = bucket(moto_endpoint, {"k.json": b"[1, 2, 3]"})
    definition = dmap(
        ItemReader=reader("JSON", name, "k.json"),
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": name, "Prefix": "out"},
            "WriterConfig": {"Transformation": "COMPACT"},
        },
    )
    path = tmp_path / "writer.asl.json"
    path.write_text(json.dumps(definition))
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_DEFAULT_REGION": "us-east-1"}
    with CrashHarness(f"sqlite:///{tmp_path / 'asl.db'}", env=env) as harness:
        arn = harness.start(path, {})
        report = harness.crash_and_recover(crash_at)
        assert report.crashed.returncode == -9
        described = harness.describe(arn)
        assert described["status"] == "SUCCEEDED", described
        output = json.loads(str(described["output"]))
        details = output["ResultWriterDetails"]
        manifest = json.loads(get(moto_endpoint, details["Bucket"], details["Key"]))
        [listed] = manifest["ResultFiles"]["SUCCEEDED"]
        assert json.loads(get(moto_endpoint, name, listed["Key"])) == [1, 2, 3]
        assert [event["type"] for event in harness.history(arn)].count("MapStateEntered") == 1
