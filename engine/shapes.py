"""AWS's response shapes of executions and history events, for every front end.

Owns: which fields DescribeExecution, ListExecutions and GetExecutionHistory carry and when each
appears, with the date format left to the caller: the AWS JSON protocol sends epoch seconds
(api/shapes.py), the command line prints ISO text (engine/cli/shapes.py). Must never: read a
store, decide a status, or import more than values (`asl` imports this lazily, on its start-up
path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.values import JSON, dumps

if TYPE_CHECKING:
    from engine.store.base import ExecutionRecord, MapRunRecord, ScheduleRecord, StoredEvent

DateFormat = Callable[[float], JSON]
"""How a front end writes a date (epoch seconds as the stored records hold them)."""

_DATA_FIELDS = ("input", "output")


def execution_outcome(record: ExecutionRecord) -> dict[str, JSON]:
    """What a closed execution ended with: output (JSON text) when it succeeded, error, cause."""
    out: dict[str, JSON] = {}
    if record.status == "SUCCEEDED":
        out["output"] = dumps(record.output)
        out["outputDetails"] = {"included": True}
    if record.error is not None:
        out["error"] = record.error
    if record.cause is not None:
        out["cause"] = record.cause
    return out


def execution_fields(record: ExecutionRecord, date: DateFormat) -> dict[str, JSON]:
    """DescribeExecution's fields that every execution has (input as JSON text, as AWS)."""
    out: dict[str, JSON] = {
        "executionArn": record.arn,
        "stateMachineArn": record.machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": date(record.start),
        "input": dumps(record.input),
        "inputDetails": {"included": True},
    }
    if record.stop is not None:
        out["stopDate"] = date(record.stop)
    out.update(execution_outcome(record))
    out.update(execution_qualifiers(record))
    if record.parent_arn:
        # An addition to AWS's DescribeExecution (which has no such field; AWS links a child
        # to its parent in the console only): the execution whose states:startExecution Task
        # started this one. SDKs ignore a member their model does not know.
        out["parentExecutionArn"] = record.parent_arn
    if record.map_run_arn:
        out["mapRunArn"] = record.map_run_arn  # AWS: a Distributed Map's child execution
    return out


def execution_summary(record: ExecutionRecord, date: DateFormat) -> dict[str, JSON]:
    """The fields of one ListExecutions entry that every execution has."""
    out: dict[str, JSON] = {
        "executionArn": record.arn,
        "stateMachineArn": record.machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": date(record.start),
    }
    if record.stop is not None:
        out["stopDate"] = date(record.stop)
    if record.map_run_arn:
        out["mapRunArn"] = record.map_run_arn
        # AWS: the items the child ran (its ItemBatcher batch's), listed by Map Run
        out["itemCount"] = record.item_count or 1
    return out


def map_run_fields(
    record: MapRunRecord,
    item_counts: dict[str, int],
    execution_counts: dict[str, int],
    date: DateFormat,
) -> dict[str, JSON]:
    """DescribeMapRun: the record and AWS's itemCounts and executionCounts (the same unless
    an ItemBatcher puts several items in a child execution). AWS leaves out stopDate while
    the run is RUNNING and redriveDate until it was redriven."""
    out: dict[str, JSON] = {
        "mapRunArn": record.arn,
        "executionArn": record.execution_arn,
        "status": record.status,
        "startDate": date(record.start),
    }
    if record.stop is not None:
        out["stopDate"] = date(record.stop)
    out["maxConcurrency"] = record.max_concurrency
    out["toleratedFailurePercentage"] = record.tolerated_failure_percentage
    out["toleratedFailureCount"] = record.tolerated_failure_count
    out["itemCounts"] = dict(item_counts)
    out["executionCounts"] = dict(execution_counts)
    out["redriveCount"] = record.redrive_count
    if record.redrive_date is not None:
        out["redriveDate"] = date(record.redrive_date)
    return out


def map_run_summary(record: MapRunRecord, date: DateFormat) -> dict[str, JSON]:
    """One entry of ListMapRuns; stateMachineArn is the child executions' (MACHINE/LABEL)."""
    machine = record.arn.replace(":mapRun:", ":stateMachine:", 1).rsplit(":", 1)[0]
    out: dict[str, JSON] = {
        "executionArn": record.execution_arn,
        "mapRunArn": record.arn,
        "stateMachineArn": machine,
        "startDate": date(record.start),
    }
    if record.stop is not None:
        out["stopDate"] = date(record.stop)
    return out


def execution_qualifiers(record: ExecutionRecord) -> dict[str, JSON]:
    """The version or alias the execution was started through, when it was."""
    out: dict[str, JSON] = {}
    if record.version_arn:
        out["stateMachineVersionArn"] = record.version_arn
    if record.alias_arn:
        out["stateMachineAliasArn"] = record.alias_arn
    return out


def history_event(
    event: StoredEvent, date: DateFormat, *, include_data: bool = True
) -> dict[str, JSON]:
    """One GetExecutionHistory event; `include_data=False` drops inputs and outputs
    (includeExecutionData)."""
    out: dict[str, JSON] = {
        "timestamp": date(event.timestamp),
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


def schedule_shape(record: ScheduleRecord, date: DateFormat) -> dict[str, JSON]:
    """A schedule as EventBridge Scheduler's GetSchedule shows one (the default group, no
    flexible window), plus `NextInvocationDate` and `LastInvocationDate` (the engine's: the
    next tick to fire, and the last fired; absent when there is none)."""
    parts = [*record.machine_arn.split(":"), "", "", "", ""]
    out: dict[str, JSON] = {
        "Name": record.name,
        "Arn": f"arn:aws:scheduler:{parts[3]}:{parts[4]}:schedule/default/{record.name}",
        "GroupName": "default",
        "State": record.schedule_state,
        "ScheduleExpression": record.expression,
        "ScheduleExpressionTimezone": record.timezone,
        "Target": {"Arn": record.machine_arn, "Input": dumps(record.input)},
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "CreationDate": date(record.created),
        "LastModificationDate": date(record.updated),
    }
    if record.next_fire is not None and record.schedule_state == "ENABLED":
        out["NextInvocationDate"] = date(record.next_fire)
    if record.last_fire is not None:
        out["LastInvocationDate"] = date(record.last_fire)
    return out
