"""EventBridge's "Step Functions Execution Status Change" event of an execution record.

Owns: the event's exact shape (AWS's EventBridge reference for Step Functions and the
developer guide's "EventBridge payloads": version, id, detail-type, source, account, time,
region, resources, detail) and which executions have one (Standard workflows only: AWS emits
none for Express). Must never: read a store or a clock (the time of the change comes in), or
decide when a status changes.

The event id is derived from the execution, its status and its redrive count, so a consumer
of at-least-once delivery can drop the duplicates of one change by id.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Final

from engine.store.base import ExecutionRecord
from engine.values import JSON, dumps

DETAIL_TYPE: Final = "Step Functions Execution Status Change"
SOURCE: Final = "aws.states"
_REDRIVABLE: Final = frozenset({"FAILED", "ABORTED", "TIMED_OUT"})
_ANNOUNCED: Final = frozenset({"RUNNING", "SUCCEEDED", *_REDRIVABLE})
_IDS: Final = uuid.UUID("6c1b0f4e-6a3e-4d1c-9a55-0d7f3a8e2b11").bytes  # namespace of event ids


def emits_events(record: ExecutionRecord) -> bool:
    """Whether AWS sends an event for this execution in its status: Standard workflows, in
    the five statuses EventBridge reports (not PENDING_REDRIVE)."""
    return record.machine_type == "STANDARD" and record.status in _ANNOUNCED


def status_change_event(record: ExecutionRecord, changed_at: float) -> dict[str, JSON]:
    """The event announcing `record`'s current status, a change made at `changed_at`."""
    # arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME (a test's bare name has neither)
    parts = [*record.arn.split(":"), "", "", "", ""]
    region, account = parts[3], parts[4]
    key = f"{record.arn}|{record.status}|{record.redrive_count}"
    return {
        "version": "0",
        "id": _uuid5(key),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": _event_time(changed_at),
        "region": region,
        "resources": [record.arn],
        "detail": status_change_detail(record, changed_at),
    }


def status_change_detail(record: ExecutionRecord, changed_at: float) -> dict[str, JSON]:
    """The event's `detail`: DescribeExecution's fields with dates in epoch milliseconds and
    absent values as null, as AWS's examples show them."""
    succeeded = record.status == "SUCCEEDED"
    detail: dict[str, JSON] = {
        "executionArn": record.arn,
        "stateMachineArn": record.machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": _millis(record.start),
        "stopDate": _millis(record.stop) if record.stop is not None else None,
        "input": dumps(record.input),
        "output": dumps(record.output) if succeeded else None,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if succeeded else None,
        "error": record.error,
        "cause": record.cause,
    }
    if record.version_arn:
        detail["stateMachineVersionArn"] = record.version_arn
    if record.alias_arn:
        detail["stateMachineAliasArn"] = record.alias_arn
    detail["redriveCount"] = record.redrive_count
    if record.redrive_count and record.status == "RUNNING":
        detail["redriveDate"] = _millis(changed_at)
    if record.status in _REDRIVABLE:
        detail["redriveStatus"] = "REDRIVABLE"
    else:
        detail["redriveStatus"] = "NOT_REDRIVABLE"
        detail["redriveStatusReason"] = f"Execution is {record.status} and cannot be redriven"
    return detail


def _uuid5(name: str) -> str:
    """`str(uuid.uuid5(namespace, name))` without building UUID objects (on every start and
    close of a Standard execution, so it is kept cheap)."""
    digest = bytearray(hashlib.sha1(_IDS + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def _event_time(seconds: float) -> str:
    """EventBridge's `time`: ISO 8601 in UTC to the second (`2019-02-26T19:42:21Z`)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(seconds)))
