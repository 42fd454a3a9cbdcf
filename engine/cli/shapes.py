"""The JSON the durable commands print: AWS's shapes with ISO-8601 dates.

Owns: `asl describe/list/history --json` and `asl start --json` objects, and the text summary
of a stored execution, built from the shared
field rules in engine/shapes.py (the AWS JSON protocol uses the same rules with epoch dates).
Must never: read a store.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from engine.cli.common import iso

if TYPE_CHECKING:
    from engine.store.base import ExecutionRecord, StoredEvent
    from engine.values import JSON


def result_shape(record: ExecutionRecord) -> dict[str, JSON]:
    """The object `asl run --json` prints, for a stored execution."""
    return {
        "executionArn": record.arn,
        "name": record.name,
        "status": record.status,
        "output": record.output if record.status == "SUCCEEDED" else None,
        "error": record.error,
        "cause": record.cause,
        "startDate": iso(record.start),
        "stopDate": iso(record.stop),
    }


def describe_shape(record: ExecutionRecord) -> dict[str, JSON]:
    """DescribeExecution's fields (input/output as JSON text, as AWS returns them)."""
    from engine.shapes import execution_fields

    return {**execution_fields(record, iso), "redriveCount": record.redrive_count}


def list_shape(record: ExecutionRecord) -> dict[str, JSON]:
    from engine.shapes import execution_summary

    return execution_summary(record, iso)


def event_shape(event: StoredEvent) -> dict[str, JSON]:
    from engine.shapes import history_event

    return history_event(event, iso)


def print_result(record: ExecutionRecord, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result_shape(record), ensure_ascii=False))
        return
    print(f"execution  {record.arn}")
    print(f"status     {record.status}")
    if record.status == "SUCCEEDED":
        print(f"output     {json.dumps(record.output, ensure_ascii=False)}")
    elif record.status != "RUNNING":
        if record.error is not None:
            print(f"error      {record.error}")
        if record.cause is not None:
            print(f"cause      {record.cause}")
