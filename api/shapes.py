"""AWS's wire shapes of the Step Functions responses, built from store records.

Owns: the response objects of the AWS JSON 1.0 protocol (field names, which fields appear when,
dates as epoch seconds: botocore parses a number as a timestamp) for machines, versions, aliases,
executions, history events, activities and diagnostics. Must never: read a store or decide a
status (the service does). The execution and event fields every front end shares are in
engine/shapes.py; this module adds what only the wire has and writes dates as epoch seconds.
"""

from __future__ import annotations

from engine.definition.diagnostics import Diagnostic
from engine.shapes import (
    execution_fields,
    execution_outcome,
    execution_qualifiers,
    execution_summary,
    history_event,
)
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
        "loggingConfiguration": logging_shape(record),
        "tracingConfiguration": {"enabled": record.tracing_enabled},
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
        "loggingConfiguration": logging_shape(record),
        "tracingConfiguration": {"enabled": record.tracing_enabled},
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
    out = execution_fields(record, epoch)
    if record.trace_header:
        out["traceHeader"] = record.trace_header
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
    out = execution_summary(record, epoch)
    out.update(execution_qualifiers(record))
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
    out.update(execution_outcome(record))
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
    return history_event(event, epoch, include_data=include_data)


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


def logging_shape(record: MachineRecord) -> dict[str, JSON]:
    """loggingConfiguration as DescribeStateMachine gives it (destinations only when set)."""
    out: dict[str, JSON] = {
        "level": record.logging_level,
        "includeExecutionData": record.include_execution_data,
    }
    if record.log_destinations:
        out["destinations"] = [
            {"cloudWatchLogsLogGroup": {"logGroupArn": arn}} for arn in record.log_destinations
        ]
    return out
