"""AWS's wire shapes of the Step Functions responses, built from store records.

Owns: the response objects of the AWS JSON 1.0 protocol (field names, which fields appear when,
dates as epoch seconds: botocore parses a number as a timestamp) for machines, versions, aliases,
executions, history events, activities and diagnostics. Must never: read a store or decide a
status (the service does); the CLI's ISO-date shapes live in engine/cli_store.py.
"""

from __future__ import annotations

from engine.definition.diagnostics import Diagnostic
from engine.store.base import (
    ActivityRecord,
    AliasRecord,
    ExecutionRecord,
    MachineRecord,
    StoredEvent,
    VersionRecord,
)
from engine.values import JSON, dumps

_REDRIVABLE = frozenset({"FAILED", "ABORTED", "TIMED_OUT"})
_DATA_FIELDS = ("input", "output")


def epoch(seconds: float) -> float:
    """A date on the wire: epoch seconds, millisecond precision (as AWS sends them)."""
    return round(seconds, 3)


def machine_shape(record: MachineRecord, arn: str | None = None) -> dict[str, JSON]:
    """DescribeStateMachine (`arn`: the version ARN asked for, when one was)."""
    return {
        "stateMachineArn": arn or record.arn,
        "name": record.name,
        "status": "ACTIVE",
        "definition": record.definition,
        "roleArn": record.role_arn,
        "type": record.machine_type,
        "creationDate": epoch(record.created),
        "loggingConfiguration": {"level": record.logging_level, "includeExecutionData": False},
        "tracingConfiguration": {"enabled": False},
        "revisionId": record.revision_id,
        "description": record.description,
        "encryptionConfiguration": {"type": "AWS_OWNED_KEY"},
    }


def machine_for_execution_shape(record: MachineRecord) -> dict[str, JSON]:
    """DescribeStateMachineForExecution: the machine as the execution runs it."""
    return {
        "stateMachineArn": record.arn,
        "name": record.name,
        "definition": record.definition,
        "roleArn": record.role_arn,
        "updateDate": epoch(record.updated),
        "loggingConfiguration": {"level": record.logging_level, "includeExecutionData": False},
        "tracingConfiguration": {"enabled": False},
        "revisionId": record.revision_id,
        "encryptionConfiguration": {"type": "AWS_OWNED_KEY"},
    }


def machine_item(record: MachineRecord) -> dict[str, JSON]:
    return {
        "stateMachineArn": record.arn,
        "name": record.name,
        "type": record.machine_type,
        "creationDate": epoch(record.created),
    }


def version_item(record: VersionRecord) -> dict[str, JSON]:
    return {"stateMachineVersionArn": record.arn, "creationDate": epoch(record.created)}


def alias_item(record: AliasRecord) -> dict[str, JSON]:
    return {"stateMachineAliasArn": record.arn, "creationDate": epoch(record.created)}


def alias_shape(record: AliasRecord) -> dict[str, JSON]:
    return {
        "stateMachineAliasArn": record.arn,
        "name": record.name,
        "description": record.description,
        "routingConfiguration": [
            {"stateMachineVersionArn": f"{record.machine_arn}:{version}", "weight": weight}
            for version, weight in record.routing
        ],
        "creationDate": epoch(record.created),
        "updateDate": epoch(record.updated),
    }


def execution_shape(record: ExecutionRecord) -> dict[str, JSON]:
    """DescribeExecution. Input and output are JSON text, as AWS returns them."""
    out: dict[str, JSON] = {
        "executionArn": record.arn,
        "stateMachineArn": record.machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": epoch(record.start),
        "input": dumps(record.input),
        "inputDetails": {"included": True},
    }
    if record.stop is not None:
        out["stopDate"] = epoch(record.stop)
    if record.status == "SUCCEEDED":
        out["output"] = dumps(record.output)
        out["outputDetails"] = {"included": True}
    if record.error is not None:
        out["error"] = record.error
    if record.cause is not None:
        out["cause"] = record.cause
    if record.trace_header:
        out["traceHeader"] = record.trace_header
    if record.version_arn:
        out["stateMachineVersionArn"] = record.version_arn
    if record.alias_arn:
        out["stateMachineAliasArn"] = record.alias_arn
    if record.machine_type == "STANDARD":
        out["redriveCount"] = record.redrive_count
        if record.status in _REDRIVABLE:
            out["redriveStatus"] = "REDRIVABLE"
        else:
            out["redriveStatus"] = "NOT_REDRIVABLE"
            out["redriveStatusReason"] = f"Execution is {record.status} and cannot be redriven"
    return out


def execution_item(record: ExecutionRecord) -> dict[str, JSON]:
    """One entry of ListExecutions."""
    out: dict[str, JSON] = {
        "executionArn": record.arn,
        "stateMachineArn": record.machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": epoch(record.start),
    }
    if record.stop is not None:
        out["stopDate"] = epoch(record.stop)
    if record.version_arn:
        out["stateMachineVersionArn"] = record.version_arn
    if record.alias_arn:
        out["stateMachineAliasArn"] = record.alias_arn
    if record.machine_type == "STANDARD":
        out["redriveCount"] = record.redrive_count
    return out


def sync_execution_shape(record: ExecutionRecord) -> dict[str, JSON]:
    """StartSyncExecution's answer: the closed execution with its output, error and billing."""
    out: dict[str, JSON] = {
        "executionArn": record.arn,
        "stateMachineArn": record.machine_arn,
        "name": record.name,
        "startDate": epoch(record.start),
        "stopDate": epoch(record.stop if record.stop is not None else record.start),
        "status": record.status,
        "input": dumps(record.input),
        "inputDetails": {"included": True},
    }
    if record.status == "SUCCEEDED":
        out["output"] = dumps(record.output)
        out["outputDetails"] = {"included": True}
    if record.error is not None:
        out["error"] = record.error
    if record.cause is not None:
        out["cause"] = record.cause
    if record.trace_header:
        out["traceHeader"] = record.trace_header
    duration_ms = max(0, round(((record.stop or record.start) - record.start) * 1000))
    # AWS bills Express in 64 MB steps and 100 ms minimum (pricing page); we report the same
    # shape so clients that read it keep working.
    out["billingDetails"] = {
        "billedMemoryUsedInMB": 64,
        "billedDurationInMilliseconds": max(100, -(-duration_ms // 100) * 100),
    }
    return out


def event_shape(event: StoredEvent, *, include_data: bool = True) -> dict[str, JSON]:
    """One history event; `include_data=False` drops inputs and outputs (includeExecutionData)."""
    out: dict[str, JSON] = {
        "timestamp": epoch(event.timestamp),
        "type": event.type,
        "id": event.id,
        "previousEventId": event.previous_event_id,
    }
    if isinstance(event.details, dict):
        if include_data:
            out.update(event.details)
        else:
            for key, details in event.details.items():
                if isinstance(details, dict):
                    details = {k: v for k, v in details.items() if k not in _DATA_FIELDS}
                out[key] = details
    return out


def activity_shape(record: ActivityRecord) -> dict[str, JSON]:
    return {
        "activityArn": record.arn,
        "name": record.name,
        "creationDate": epoch(record.created),
    }


def diagnostic_shape(diagnostic: Diagnostic) -> dict[str, JSON]:
    """ValidateStateMachineDefinition's diagnostic: severity, code, message, location."""
    return {
        "severity": diagnostic.severity.value,
        "code": diagnostic.code,
        "message": diagnostic.message,
        "location": diagnostic.location or "/",
    }


def tags_shape(tags: dict[str, str]) -> list[JSON]:
    return [{"key": key, "value": value} for key, value in sorted(tags.items())]
