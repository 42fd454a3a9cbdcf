"""The AWS JSON 1.0 endpoint: `POST /` speaking Step Functions' own protocol.

Owns: reading `X-Amz-Target: AWSStepFunctions.<Action>`, the dispatch table from action to
handler, each handler's translation between AWS's request/response members and one service
call, and the error answer `{"__type": code, "message": text}` with AWS's status (api/errors.py).
Must never: decide semantics (every rule is the service's), check signatures (they are accepted,
not verified), or answer bad input with a 5xx or a traceback.

The host is not looked at: boto3 sends StartSyncExecution to the `sync-` prefixed host
(`sync-states.<region>...`; with `endpoint_url` it prefixes the endpoint's host, e.g.
`sync-127.0.0.1`), so any Host is served and the action alone decides. docs/api.md explains how
clients keep such a host resolvable (`inject_host_prefix=False`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from api.accesslog import AWS_CONTENT_TYPE, LOGGER, RequestLog, request_log
from api.errors import ApiError, describe_error, error_body, status_for, validation_message
from api.params import Params, decode_token, encode_token
from api.shapes import (
    activity_shape,
    alias_item,
    alias_shape,
    diagnostic_shape,
    epoch,
    event_shape,
    execution_item,
    execution_shape,
    machine_for_execution_shape,
    machine_item,
    machine_shape,
    sync_execution_shape,
    tags_shape,
    version_item,
)
from engine.errors import EngineError
from engine.service import DEFAULT_ROLE, Service, split_qualified
from engine.service.executions import REDRIVE_FILTERS
from engine.service.map_runs import map_run_counts
from engine.service.teststate import FIELD_VALIDATION_MODES, INSPECTION_LEVELS, TestStateRequest
from engine.shapes import map_run_fields, map_run_summary
from engine.values import JSON, JsonRefused, parse_json, type_name

TARGET_PREFIX: Final = "AWSStepFunctions."
_CONTENT_TYPE: Final = AWS_CONTENT_TYPE.encode()
_T = TypeVar("_T")

# AWS's request model limits (API reference, each action's "Request Parameters").
NAME_MAX: Final = 80
ARN_MAX: Final = 2048
DEFINITION_MAX: Final = 1024 * 1024
INPUT_MAX: Final = 256 * 1024
TOKEN_MAX: Final = 2048
ERROR_MAX: Final = 256
CAUSE_MAX: Final = 32768
DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 1000
BODY_MAX_DEPTH: Final = 32
"""Request bodies are shallow (payloads travel as JSON text inside string members)."""
TYPES: Final = ("STANDARD", "EXPRESS")
LOG_LEVELS: Final = ("ALL", "ERROR", "FATAL", "OFF")
STATUSES: Final = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")


@dataclass(frozen=True, slots=True)
class Context:
    service: Service
    log: RequestLog
    activity_wait_seconds: float


Result = dict[str, JSON]
Handler = Callable[[Context, Params], Awaitable[Result]]


# -- state machines -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Logging:
    level: str
    include_execution_data: bool
    destinations: list[str]


def _logging(params: Params) -> _Logging | None:
    """loggingConfiguration: level (OFF when left out), includeExecutionData, destinations
    (each `{"cloudWatchLogsLogGroup": {"logGroupArn": ARN}}`)."""
    config = params.obj("loggingConfiguration")
    if config is None:
        return None
    destinations = []
    for destination in config.objects("destinations") or []:
        group = destination.obj("cloudWatchLogsLogGroup")
        arn = group.string("logGroupArn", max_length=256) if group is not None else None
        if arn is None:
            raise ApiError(
                "InvalidLoggingConfiguration",
                "Invalid Logging Configuration: a destination needs "
                "cloudWatchLogsLogGroup.logGroupArn",
            )
        destinations.append(arn)
    return _Logging(
        level=config.enum("level", LOG_LEVELS) or "OFF",
        include_execution_data=bool(config.boolean("includeExecutionData")),
        destinations=destinations,
    )


def _tracing(params: Params) -> bool | None:
    config = params.obj("tracingConfiguration")
    return bool(config.boolean("enabled")) if config is not None else None


async def create_state_machine(ctx: Context, params: Params) -> Result:
    name = params.required_string("name", max_length=NAME_MAX)
    definition = params.required_string("definition", max_length=DEFINITION_MAX)
    role_arn = params.string("roleArn", max_length=256)
    logging = _logging(params) or _Logging("OFF", False, [])
    machine, version = await ctx.service.create_state_machine(
        name,
        definition,
        role_arn=role_arn or DEFAULT_ROLE,
        machine_type=params.enum("type", TYPES) or "STANDARD",
        logging_level=logging.level,
        tags=params.tags(),
        publish=bool(params.boolean("publish")),
        version_description=params.string("versionDescription", max_length=256) or "",
        include_execution_data=logging.include_execution_data,
        log_destinations=logging.destinations,
        tracing_enabled=bool(_tracing(params)),
    )
    out: Result = {"stateMachineArn": machine.arn, "creationDate": epoch(machine.created)}
    if version is not None:
        out["stateMachineVersionArn"] = version.arn
    return out


async def update_state_machine(ctx: Context, params: Params) -> Result:
    arn = params.required_string("stateMachineArn", max_length=ARN_MAX)
    definition = params.string("definition", max_length=DEFINITION_MAX)
    role_arn = params.string("roleArn", max_length=256)
    logging = _logging(params)
    tracing = _tracing(params)
    if definition is None and role_arn is None and logging is None and tracing is None:
        raise ApiError(
            "MissingRequiredParameter",
            "Either the definition, the roleArn, the loggingConfiguration or the "
            "tracingConfiguration must be specified",
        )
    machine, version = await ctx.service.update_state_machine(
        arn,
        definition=definition,
        role_arn=role_arn,
        logging_level=logging.level if logging is not None else None,
        include_execution_data=logging.include_execution_data if logging is not None else None,
        log_destinations=logging.destinations if logging is not None else None,
        tracing_enabled=tracing,
        publish=bool(params.boolean("publish")),
        version_description=params.string("versionDescription", max_length=256) or "",
    )
    out: Result = {"updateDate": epoch(machine.updated), "revisionId": machine.revision_id}
    if version is not None:
        out["stateMachineVersionArn"] = version.arn
    return out


async def describe_state_machine(ctx: Context, params: Params) -> Result:
    arn = params.required_string("stateMachineArn", max_length=ARN_MAX)
    record = await ctx.service.describe_state_machine(arn)
    _, qualifier = split_qualified(arn)
    return machine_shape(record, arn if qualifier is not None else None)


async def list_state_machines(ctx: Context, params: Params) -> Result:
    records = await ctx.service.list_state_machines()
    records.sort(key=lambda r: r.name)
    page, token = _page(records, params, "stateMachines")
    return _with_token({"stateMachines": [machine_item(r) for r in page]}, token)


async def delete_state_machine(ctx: Context, params: Params) -> Result:
    await ctx.service.delete_state_machine(
        params.required_string("stateMachineArn", max_length=ARN_MAX)
    )
    return {}


async def describe_state_machine_for_execution(ctx: Context, params: Params) -> Result:
    arn = _execution_arn(ctx, params)
    return machine_for_execution_shape(await ctx.service.describe_state_machine_for_execution(arn))


# -- versions and aliases -------------------------------------------------------------------------


async def publish_state_machine_version(ctx: Context, params: Params) -> Result:
    arn = params.required_string("stateMachineArn", max_length=ARN_MAX)
    revision = params.string("revisionId", max_length=256)
    if revision is not None:
        current = await ctx.service.describe_state_machine(arn)
        if current.revision_id != revision:
            raise ApiError(
                "ConflictException",
                f"Failed to publish the State Machine version for revision {revision}. "
                f"The current State Machine revision is {current.revision_id}.",
            )
    version = await ctx.service.publish_version(
        arn, description=params.string("description", max_length=256) or ""
    )
    return {"creationDate": epoch(version.created), "stateMachineVersionArn": version.arn}


async def list_state_machine_versions(ctx: Context, params: Params) -> Result:
    arn = params.required_string("stateMachineArn", max_length=ARN_MAX)
    versions = await ctx.service.list_versions(arn)
    page, token = _page(versions, params, "versions")
    return _with_token({"stateMachineVersions": [version_item(v) for v in page]}, token)


async def delete_state_machine_version(ctx: Context, params: Params) -> Result:
    await ctx.service.delete_version(
        params.required_string("stateMachineVersionArn", max_length=ARN_MAX)
    )
    return {}


def _routing(params: Params, machine_arn: str | None) -> tuple[str, list[tuple[int, int]]] | None:
    """routingConfiguration -> (machine ARN, [(version, weight)]), all of one machine."""
    entries = params.objects("routingConfiguration")
    if entries is None:
        return None
    if not 1 <= len(entries) <= 2:
        raise ApiError(
            "ValidationException",
            validation_message(
                "routingConfiguration",
                "Member must have length less than or equal to 2 and greater than or equal to 1",
            ),
        )
    routing = []
    for entry in entries:
        version_arn = entry.required_string("stateMachineVersionArn", max_length=ARN_MAX)
        weight = entry.integer("weight", minimum=0, maximum=100)
        if weight is None:
            raise ApiError(
                "ValidationException",
                validation_message(
                    "routingConfiguration.weight", "Member must not be null", null=True
                ),
            )
        base, version = split_qualified(version_arn)
        if version is None or not version.isdigit():
            raise ApiError("InvalidArn", f"Invalid Arn: '{version_arn}'")
        if machine_arn is not None and base != machine_arn:
            raise ApiError(
                "ValidationException",
                "All versions in the routing configuration must belong to the same state "
                f"machine: '{version_arn}' is not a version of '{machine_arn}'",
            )
        machine_arn = base
        routing.append((int(version), weight))
    assert machine_arn is not None
    return machine_arn, routing


async def create_state_machine_alias(ctx: Context, params: Params) -> Result:
    name = params.required_string("name", max_length=NAME_MAX)
    routed = _routing(params, None)
    if routed is None:
        raise ApiError(
            "ValidationException",
            validation_message("routingConfiguration", "Member must not be null", null=True),
        )
    machine_arn, routing = routed
    alias = await ctx.service.create_alias(
        machine_arn, name, routing, params.string("description", max_length=256) or ""
    )
    return {"stateMachineAliasArn": alias.arn, "creationDate": epoch(alias.created)}


async def describe_state_machine_alias(ctx: Context, params: Params) -> Result:
    arn = params.required_string("stateMachineAliasArn", max_length=ARN_MAX)
    return alias_shape(await ctx.service.describe_alias(arn))


async def update_state_machine_alias(ctx: Context, params: Params) -> Result:
    arn = params.required_string("stateMachineAliasArn", max_length=ARN_MAX)
    base, _ = split_qualified(arn)
    routed = _routing(params, base)
    alias = await ctx.service.update_alias(
        arn,
        routed[1] if routed is not None else None,
        params.string("description", max_length=256),
    )
    return {"updateDate": epoch(alias.updated)}


async def delete_state_machine_alias(ctx: Context, params: Params) -> Result:
    await ctx.service.delete_alias(
        params.required_string("stateMachineAliasArn", max_length=ARN_MAX)
    )
    return {}


async def list_state_machine_aliases(ctx: Context, params: Params) -> Result:
    arn = params.required_string("stateMachineArn", max_length=ARN_MAX)
    aliases = await ctx.service.list_aliases(arn)
    aliases.sort(key=lambda a: a.name)
    page, token = _page(aliases, params, "aliases")
    return _with_token({"stateMachineAliases": [alias_item(a) for a in page]}, token)


# -- executions -----------------------------------------------------------------------------------


def _execution_arn(ctx: Context, params: Params) -> str:
    arn = params.required_string("executionArn", max_length=ARN_MAX)
    ctx.log.execution_arn = arn
    return arn


async def start_execution(ctx: Context, params: Params) -> Result:
    record = await ctx.service.start_execution(
        params.required_string("stateMachineArn", max_length=ARN_MAX),
        name=params.string("name", max_length=NAME_MAX),
        input_text=params.string("input", max_length=INPUT_MAX),
        trace_header=params.string("traceHeader", max_length=256),
    )
    ctx.log.execution_arn = record.arn
    return {"executionArn": record.arn, "startDate": epoch(record.start)}


async def start_sync_execution(ctx: Context, params: Params) -> Result:
    record = await ctx.service.start_sync_execution(
        params.required_string("stateMachineArn", max_length=ARN_MAX),
        name=params.string("name", max_length=NAME_MAX),
        input_text=params.string("input", max_length=INPUT_MAX),
    )
    ctx.log.execution_arn = record.arn
    return sync_execution_shape(record)


async def stop_execution(ctx: Context, params: Params) -> Result:
    arn = _execution_arn(ctx, params)
    record = await ctx.service.stop_execution(
        arn,
        error=params.string("error", max_length=ERROR_MAX),
        cause=params.string("cause", max_length=CAUSE_MAX),
    )
    stopped = record.stop if record.stop is not None else ctx.service.clock.now()
    return {"stopDate": epoch(stopped)}


async def describe_execution(ctx: Context, params: Params) -> Result:
    return execution_shape(await ctx.service.describe_execution(_execution_arn(ctx, params)))


async def list_executions(ctx: Context, params: Params) -> Result:
    map_run_arn = params.string("mapRunArn", max_length=ARN_MAX)
    arn = params.string("stateMachineArn", max_length=ARN_MAX)
    # AWS: exactly one of stateMachineArn and mapRunArn
    if (map_run_arn is None) == (arn is None):
        raise ApiError(
            "ValidationException", "Either stateMachineArn or mapRunArn must be specified"
        )
    limit = params.integer("maxResults", minimum=0, maximum=MAX_PAGE) or DEFAULT_PAGE
    status = params.enum("statusFilter", STATUSES)
    redrive_filter = params.enum("redriveFilter", REDRIVE_FILTERS)
    next_token = params.string("nextToken", max_length=3096)
    if map_run_arn is not None:
        records, token = await ctx.service.list_map_run_executions(
            map_run_arn,
            status=status,
            limit=limit,
            next_token=next_token,
            redrive_filter=redrive_filter,
        )
    else:
        assert arn is not None
        records, token = await ctx.service.list_executions(
            arn, status=status, limit=limit, next_token=next_token, redrive_filter=redrive_filter
        )
    return _with_token({"executions": [execution_item(r) for r in records]}, token)


# -- Map Runs -------------------------------------------------------------------------------------


async def describe_map_run(ctx: Context, params: Params) -> Result:
    view = await ctx.service.describe_map_run(
        params.required_string("mapRunArn", max_length=ARN_MAX)
    )
    counts = map_run_counts(view)
    return map_run_fields(view.record, counts.items, counts.executions, epoch)


async def list_map_runs(ctx: Context, params: Params) -> Result:
    arn = _execution_arn(ctx, params)
    limit = params.integer("maxResults", minimum=0, maximum=MAX_PAGE) or DEFAULT_PAGE
    given = params.string("nextToken", max_length=3096)
    offset = decode_token(given, "mapRun") if given is not None else 0
    runs, following = await ctx.service.list_map_runs(arn, limit=limit, offset=offset)
    token = encode_token("mapRun", following) if following is not None else None
    return _with_token({"mapRuns": [map_run_summary(r, epoch) for r in runs]}, token)


async def update_map_run(ctx: Context, params: Params) -> Result:
    arn = params.required_string("mapRunArn", max_length=ARN_MAX)
    percentage = params.number("toleratedFailurePercentage")
    await ctx.service.update_map_run(
        arn,
        max_concurrency=params.integer("maxConcurrency"),
        tolerated_failure_count=params.integer("toleratedFailureCount"),
        tolerated_failure_percentage=percentage,
    )
    return {}


async def get_execution_history(ctx: Context, params: Params) -> Result:
    arn = _execution_arn(ctx, params)
    limit = params.integer("maxResults", minimum=0, maximum=MAX_PAGE) or DEFAULT_PAGE
    reverse = bool(params.boolean("reverseOrder"))
    include = params.boolean("includeExecutionData")
    given = params.string("nextToken", max_length=3096)
    after = decode_token(given, "history") if given is not None else 0
    events = await ctx.service.get_history(arn, after_id=after, limit=limit + 1, reverse=reverse)
    page = events[:limit]
    token = encode_token("history", page[-1].id) if len(events) > limit else None
    shaped: list[JSON] = [event_shape(e, include_data=include is not False) for e in page]
    return _with_token({"events": shaped}, token)


async def redrive_execution(ctx: Context, params: Params) -> Result:
    arn = _execution_arn(ctx, params)
    params.string("clientToken", max_length=64)
    await ctx.service.redrive_execution(arn)
    return {"redriveDate": epoch(ctx.service.clock.now())}


# -- task tokens and activities -------------------------------------------------------------------


async def send_task_success(ctx: Context, params: Params) -> Result:
    await ctx.service.send_task_success(
        params.required_string("taskToken", max_length=TOKEN_MAX),
        params.required_string("output", max_length=INPUT_MAX),
    )
    return {}


async def send_task_failure(ctx: Context, params: Params) -> Result:
    await ctx.service.send_task_failure(
        params.required_string("taskToken", max_length=TOKEN_MAX),
        error=params.string("error", max_length=ERROR_MAX),
        cause=params.string("cause", max_length=CAUSE_MAX),
    )
    return {}


async def send_task_heartbeat(ctx: Context, params: Params) -> Result:
    await ctx.service.send_task_heartbeat(params.required_string("taskToken", max_length=TOKEN_MAX))
    return {}


async def create_activity(ctx: Context, params: Params) -> Result:
    record = await ctx.service.create_activity(
        params.required_string("name", max_length=NAME_MAX), params.tags()
    )
    return {"activityArn": record.arn, "creationDate": epoch(record.created)}


async def describe_activity(ctx: Context, params: Params) -> Result:
    arn = params.required_string("activityArn", max_length=ARN_MAX)
    return activity_shape(await ctx.service.describe_activity(arn))


async def list_activities(ctx: Context, params: Params) -> Result:
    records = await ctx.service.list_activities()
    records.sort(key=lambda r: r.name)
    page, token = _page(records, params, "activities")
    return _with_token({"activities": [activity_shape(r) for r in page]}, token)


async def delete_activity(ctx: Context, params: Params) -> Result:
    await ctx.service.delete_activity(params.required_string("activityArn", max_length=ARN_MAX))
    return {}


async def get_activity_task(ctx: Context, params: Params) -> Result:
    task = await ctx.service.get_activity_task(
        params.required_string("activityArn", max_length=ARN_MAX),
        params.string("workerName", max_length=NAME_MAX),
        wait_seconds=ctx.activity_wait_seconds,
    )
    if task is None:
        return {}  # AWS: an empty answer when no task arrived within the long poll
    ctx.log.execution_arn = task.execution_arn
    return {"taskToken": task.token, "input": json.dumps(task.input, ensure_ascii=False)}


# -- validation and tags --------------------------------------------------------------------------


async def validate_state_machine_definition(ctx: Context, params: Params) -> Result:
    definition = params.required_string("definition", max_length=DEFINITION_MAX)
    machine_type = params.enum("type", TYPES) or "STANDARD"
    severity = params.enum("severity", ("ERROR", "WARNING")) or "ERROR"
    limit = params.integer("maxResults", minimum=0, maximum=100) or 100
    # off the event loop: validating up to 1 MiB of definition takes a while
    diagnostics = await asyncio.to_thread(ctx.service.validate, definition, machine_type)
    failed = any(d.severity == "ERROR" for d in diagnostics)
    wanted = [d for d in diagnostics if severity == "WARNING" or d.severity == "ERROR"]
    return {
        "result": "FAIL" if failed else "OK",
        "diagnostics": [diagnostic_shape(d) for d in wanted[:limit]],
        "truncated": len(wanted) > limit,
    }


async def test_state(ctx: Context, params: Params) -> Result:
    """TestState: the request's members as AWS's model has them (botocore's service model)."""
    mock = params.obj("mock")
    error_output = mock.obj("errorOutput") if mock is not None else None
    configuration = params.obj("stateConfiguration")
    request = TestStateRequest(
        definition=params.required_string("definition", max_length=DEFINITION_MAX),
        state_name=params.string("stateName", max_length=NAME_MAX, min_length=1),
        input=params.string("input", max_length=INPUT_MAX),
        inspection_level=params.enum("inspectionLevel", INSPECTION_LEVELS) or "INFO",
        reveal_secrets=bool(params.boolean("revealSecrets")),
        role_arn=params.string("roleArn", max_length=256, min_length=1),
        variables=params.string("variables", max_length=INPUT_MAX),
        context=params.string("context", max_length=INPUT_MAX),
        mock_result=mock.string("result", max_length=INPUT_MAX) if mock is not None else None,
        mock_error=(
            error_output.string("error", max_length=ERROR_MAX) if error_output is not None else None
        ),
        mock_cause=(
            error_output.string("cause", max_length=CAUSE_MAX) if error_output is not None else None
        ),
        has_error_output=error_output is not None,
        field_validation_mode=(
            mock.enum("fieldValidationMode", FIELD_VALIDATION_MODES) if mock is not None else None
        ),
        retrier_retry_count=(
            configuration.integer("retrierRetryCount") if configuration is not None else None
        ),
        error_caused_by_state=(
            configuration.string("errorCausedByState", max_length=NAME_MAX, min_length=1)
            if configuration is not None
            else None
        ),
        map_iteration_failure_count=(
            configuration.integer("mapIterationFailureCount") if configuration is not None else None
        ),
        map_item_reader_data=(
            configuration.string("mapItemReaderData", max_length=INPUT_MAX)
            if configuration is not None
            else None
        ),
    )
    result = await ctx.service.test_state(request)
    return result.as_json()


async def tag_resource(ctx: Context, params: Params) -> Result:
    arn = params.required_string("resourceArn", max_length=ARN_MAX)
    tags = params.tags()
    if tags is None:
        raise ApiError(
            "ValidationException", validation_message("tags", "Member must not be null", null=True)
        )
    await ctx.service.tag_resource(arn, tags)
    return {}


async def untag_resource(ctx: Context, params: Params) -> Result:
    arn = params.required_string("resourceArn", max_length=ARN_MAX)
    keys = params.strings("tagKeys")
    if keys is None:
        raise ApiError(
            "ValidationException",
            validation_message("tagKeys", "Member must not be null", null=True),
        )
    await ctx.service.untag_resource(arn, keys)
    return {}


async def list_tags_for_resource(ctx: Context, params: Params) -> Result:
    arn = params.required_string("resourceArn", max_length=ARN_MAX)
    return {"tags": tags_shape(await ctx.service.list_tags(arn))}


# -- paging ---------------------------------------------------------------------------------------


def _page(items: list[_T], params: Params, kind: str) -> tuple[list[_T], str | None]:
    """One page of a listing the service returns whole; the token is the next offset."""
    limit = params.integer("maxResults", minimum=0, maximum=MAX_PAGE) or DEFAULT_PAGE
    given = params.string("nextToken", max_length=1024)
    start = decode_token(given, kind) if given is not None else 0
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, encode_token(kind, start + limit) if more else None


def _with_token(out: Result, token: str | None) -> Result:
    if token is not None:
        out["nextToken"] = token
    return out


# -- dispatch -------------------------------------------------------------------------------------

ACTIONS: Final[dict[str, Handler]] = {
    "CreateStateMachine": create_state_machine,
    "UpdateStateMachine": update_state_machine,
    "DescribeStateMachine": describe_state_machine,
    "ListStateMachines": list_state_machines,
    "DeleteStateMachine": delete_state_machine,
    "DescribeStateMachineForExecution": describe_state_machine_for_execution,
    "PublishStateMachineVersion": publish_state_machine_version,
    "ListStateMachineVersions": list_state_machine_versions,
    "DeleteStateMachineVersion": delete_state_machine_version,
    "CreateStateMachineAlias": create_state_machine_alias,
    "DescribeStateMachineAlias": describe_state_machine_alias,
    "UpdateStateMachineAlias": update_state_machine_alias,
    "DeleteStateMachineAlias": delete_state_machine_alias,
    "ListStateMachineAliases": list_state_machine_aliases,
    "StartExecution": start_execution,
    "StartSyncExecution": start_sync_execution,
    "StopExecution": stop_execution,
    "DescribeExecution": describe_execution,
    "ListExecutions": list_executions,
    "DescribeMapRun": describe_map_run,
    "ListMapRuns": list_map_runs,
    "UpdateMapRun": update_map_run,
    "GetExecutionHistory": get_execution_history,
    "RedriveExecution": redrive_execution,
    "SendTaskSuccess": send_task_success,
    "SendTaskFailure": send_task_failure,
    "SendTaskHeartbeat": send_task_heartbeat,
    "CreateActivity": create_activity,
    "DescribeActivity": describe_activity,
    "ListActivities": list_activities,
    "DeleteActivity": delete_activity,
    "GetActivityTask": get_activity_task,
    "ValidateStateMachineDefinition": validate_state_machine_definition,
    "TestState": test_state,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}


def _action(target: str | None) -> tuple[str, Handler]:
    if not target:
        raise ApiError(
            "UnknownOperationException",
            "Missing the X-Amz-Target header: send 'X-Amz-Target: AWSStepFunctions.<Action>'",
        )
    prefix, _, action = target.partition(".")
    handler = ACTIONS.get(action) if prefix + "." == TARGET_PREFIX else None
    if handler is None:
        shown = target[:120]
        raise ApiError("UnknownOperationException", f"Unknown operation '{shown}'")
    return action, handler


def _params(body: bytes) -> Params:
    if not body.strip():
        return Params({})
    try:
        value = parse_json(body.decode("utf-8"), max_depth=BODY_MAX_DEPTH, unicode=False)
    except json.JSONDecodeError as exc:
        raise ApiError(
            "SerializationException",
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}",
        ) from None
    except UnicodeDecodeError:
        raise ApiError("SerializationException", "The request body is not UTF-8 text") from None
    except JsonRefused as exc:
        raise ApiError(
            "SerializationException", f"The request body is refused: {exc.reason}"
        ) from None
    if not isinstance(value, dict):
        raise ApiError(
            "SerializationException",
            f"The request body must be a JSON object, got {type_name(value)}",
        )
    return Params(value)


def _render(body: Result) -> bytes:
    """The answer as UTF-8 JSON. A string that is not Unicode (a lone surrogate in a stored
    value) is sent as its `\\u` escape rather than failing the answer."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(body, separators=(",", ":")).encode()


async def _answer(send: Send, status: int, body: Result) -> None:
    payload = _render(body)
    headers = [
        (b"content-type", _CONTENT_TYPE),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def make_endpoint(service: Service, *, activity_wait_seconds: float = 60.0) -> ASGIApp:
    """The `POST /` endpoint over one service, as a plain ASGI app.

    The request envelope (api/accesslog.py) hands `POST /` straight to it: the protocol needs no
    routing, and skipping the framework's layers makes a call a third cheaper.
    """

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        log = request_log(scope)
        target = None
        for name, value in scope["headers"]:
            if name == b"x-amz-target":
                target = value.decode("latin-1")
                break
        try:
            action, handler = _action(target)
            log.action = action
            params = _params(await _read(receive))
            result = await handler(Context(service, log, activity_wait_seconds), params)
        except EngineError as exc:
            log.error = exc.code
            code, message = describe_error(exc, log.request_id)
            await _answer(send, status_for(code), dict(error_body(code, message)))
            return
        except Exception:  # an engine bug: logged with its traceback, answered without it
            LOGGER.exception("request %s failed", log.request_id)
            log.error = "InternalError"
            message = f"Internal error (request {log.request_id})"
            await _answer(send, 500, dict(error_body("InternalError", message)))
            return
        await _answer(send, 200, result)

    return endpoint
