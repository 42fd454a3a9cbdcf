"""The REST API under `/v1`, for services that do not use an AWS SDK.

Owns: the routes, their pydantic request and response models (so the OpenAPI document at /docs
is real), and their translation to service calls: machines, executions (start answers 201 with
`Location`; the `Idempotency-Key` header is the execution name, so AWS's name rule makes a
retried start idempotent), history, task-token callbacks, validation, health and readiness.
Must never: decide semantics (the service does) or answer bad input with a 5xx.

Unlike the AWS protocol, inputs and outputs are JSON values here (not JSON text) and dates are
ISO-8601 strings; errors have AWS's body `{"__type", "message"}` with REST statuses (404 for a
missing resource, 409 for a conflict: api/errors.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel

from api.errors import ApiError
from api.params import decode_token, encode_token
from api.rest_schedules import add_schedule_routes
from engine.definition.diagnostics import Diagnostic
from engine.interpreter.history import format_time
from engine.service import DEFAULT_ROLE, Service
from engine.service.base import Health as ServiceHealth
from engine.service.map_runs import MapRunView, map_run_counts
from engine.service.teststate import TestStateRequest
from engine.shapes import map_run_fields, map_run_summary
from engine.store.base import ExecutionRecord, MachineRecord, StoredEvent
from engine.values import MAX_NESTING_DEPTH, JsonRefused, parse_json

MachineType = Literal["STANDARD", "EXPRESS"]
LogLevel = Literal["ALL", "ERROR", "FATAL", "OFF"]
Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
RedriveFilter = Literal["REDRIVEN", "NOT_REDRIVEN"]

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "Invalid request (`__type` names the AWS error)"},
    404: {"description": "No such resource"},
    409: {"description": "Conflicts with an existing resource"},
}


class Model(BaseModel):
    """camelCase on the wire, as AWS's members; unknown fields are refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


# -- models ---------------------------------------------------------------------------------------


class MachineCreate(Model):
    name: str = Field(min_length=1, max_length=80, description="1-80 characters, AWS's rules")
    definition: str | dict[str, JsonValue] = Field(
        description="The ASL definition: JSON text, or the JSON object itself"
    )
    type: MachineType = "STANDARD"
    role_arn: str | None = Field(default=None, max_length=256)
    logging_level: LogLevel = "OFF"
    include_execution_data: bool = False
    tracing_enabled: bool = False
    tags: dict[str, str] = Field(default_factory=dict)


class MachineUpdate(Model):
    definition: str | dict[str, JsonValue] | None = None
    role_arn: str | None = Field(default=None, max_length=256)
    logging_level: LogLevel | None = None
    include_execution_data: bool | None = None
    tracing_enabled: bool | None = None


class Machine(Model):
    arn: str
    name: str
    type: str
    definition: str
    revision_id: str
    role_arn: str
    logging_level: str
    include_execution_data: bool
    tracing_enabled: bool
    created: str
    updated: str
    tags: dict[str, str]


class MachineList(Model):
    machines: list[Machine]


class ExecutionStart(Model):
    name: str | None = Field(
        default=None,
        max_length=80,
        description="Execution name (default: the Idempotency-Key header, else a UUID)",
    )
    # `object`, not JsonValue: pydantic's recursive JsonValue stops near 250 levels, short of
    # the engine's bound (512, checked by the service with InvalidExecutionInput)
    input: object = Field(default_factory=dict, description="The execution input (JSON)")
    trace_header: str | None = Field(default=None, max_length=256)


class Execution(Model):
    arn: str
    machine_arn: str
    name: str
    type: str
    status: str
    input: JsonValue
    output: JsonValue = None
    error: str | None = None
    cause: str | None = None
    start_date: str
    stop_date: str | None = None
    redrive_count: int = 0


class ExecutionSummary(Model):
    arn: str
    machine_arn: str
    name: str
    status: str
    start_date: str
    stop_date: str | None = None


class ExecutionList(Model):
    executions: list[ExecutionSummary]
    next_token: str | None = None


class MapRunCounts(Model):
    """AWS's itemCounts (items) or executionCounts (child executions: one per item, or per
    ItemBatcher batch)."""

    pending: int
    running: int
    succeeded: int
    failed: int
    timed_out: int
    aborted: int
    total: int
    results_written: int
    failures_not_redrivable: int
    pending_redrive: int


class MapRun(Model):
    """DescribeMapRun."""

    map_run_arn: str
    execution_arn: str
    status: str
    start_date: str
    stop_date: str | None = None
    max_concurrency: int
    tolerated_failure_percentage: float
    tolerated_failure_count: int
    item_counts: MapRunCounts
    execution_counts: MapRunCounts
    redrive_count: int = 0
    redrive_date: str | None = None


class MapRunSummary(Model):
    map_run_arn: str
    execution_arn: str
    state_machine_arn: str
    start_date: str
    stop_date: str | None = None


class MapRunList(Model):
    map_runs: list[MapRunSummary]
    next_token: str | None = None


class MapRunUpdate(Model):
    """UpdateMapRun: any of the three; the running Map applies them at once."""

    max_concurrency: int | None = Field(default=None, ge=0)
    tolerated_failure_percentage: float | None = Field(default=None, ge=0, le=100)
    tolerated_failure_count: int | None = Field(default=None, ge=0)


class StopRequest(Model):
    error: str | None = Field(default=None, max_length=256)
    cause: str | None = Field(default=None, max_length=32768)


class HistoryEvent(Model):
    id: int
    previous_event_id: int
    timestamp: str
    type: str
    details: dict[str, JsonValue] | None = Field(
        default=None, description="AWS's `<type>EventDetails` member, keyed by its name"
    )


class History(Model):
    events: list[HistoryEvent]
    next_token: str | None = None


class TaskSuccess(Model):
    task_token: str = Field(min_length=1, max_length=2048)
    output: object = Field(description="The task's result (JSON)")


class TaskFailure(Model):
    task_token: str = Field(min_length=1, max_length=2048)
    error: str | None = Field(default=None, max_length=256)
    cause: str | None = Field(default=None, max_length=32768)


class TaskHeartbeat(Model):
    task_token: str = Field(min_length=1, max_length=2048)


class ValidateRequest(Model):
    definition: str | dict[str, JsonValue]
    type: MachineType = "STANDARD"


class MockErrorOutput(Model):
    error: str = Field(max_length=256)
    cause: str | None = Field(default=None, max_length=32768)


class MockIn(Model):
    result: JsonValue = None
    error_output: MockErrorOutput | None = None
    field_validation_mode: Literal["STRICT", "PRESENT", "NONE"] | None = None


class StateConfiguration(Model):
    retrier_retry_count: int | None = Field(default=None, ge=0)
    error_caused_by_state: str | None = Field(default=None, min_length=1, max_length=80)
    map_iteration_failure_count: int | None = Field(default=None, ge=0)
    map_item_reader_data: JsonValue = None


class TestStateIn(Model):
    """TestState's members as AWS names them; payloads are JSON values, not JSON text."""

    __test__ = False

    definition: str | dict[str, JsonValue]
    state_name: str | None = Field(default=None, min_length=1, max_length=80)
    input: JsonValue = None
    inspection_level: Literal["INFO", "DEBUG", "TRACE"] = "INFO"
    reveal_secrets: bool = False
    role_arn: str | None = Field(default=None, min_length=1, max_length=256)
    variables: dict[str, JsonValue] | None = None
    context: dict[str, JsonValue] | None = None
    mock: MockIn | None = None
    state_configuration: StateConfiguration | None = None


class TestStateOut(Model):
    """TestState's answer; `output` and the payloads of `inspectionData` are JSON values."""

    __test__ = False

    status: Literal["SUCCEEDED", "FAILED", "RETRIABLE", "CAUGHT_ERROR"]
    output: JsonValue = None
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection_data: dict[str, JsonValue] | None = None


class DiagnosticOut(Model):
    severity: str
    code: str
    message: str
    location: str


class ValidateResult(Model):
    valid: bool
    diagnostics: list[DiagnosticOut]


class Health(Model):
    status: str = Field(description="ok | degraded (health); ready | unavailable (readiness)")
    store: str | None = Field(default=None, description="ok | unreachable")
    worker: str | None = Field(
        default=None,
        description="running | failing | stopped | disabled (an API-only process)",
    )
    reason: str | None = Field(
        default=None, description="why the store or the worker loop fails (one line)"
    )


# -- translation ----------------------------------------------------------------------------------


def _health_response(status: str, found: ServiceHealth, code: int) -> JSONResponse:
    body = {"status": status, "store": found.store, "worker": found.worker}
    if found.reason is not None:
        body["reason"] = found.reason
    return JSONResponse(body, status_code=code)


def _definition_text(definition: str | dict[str, JsonValue]) -> str:
    return definition if isinstance(definition, str) else json.dumps(definition)


def _input_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _iso(epoch: float | None) -> str | None:
    return format_time(epoch) if epoch is not None else None


def _machine(record: MachineRecord) -> Machine:
    return Machine(
        arn=record.arn,
        name=record.name,
        type=record.machine_type,
        definition=record.definition,
        revision_id=record.revision_id,
        role_arn=record.role_arn,
        logging_level=record.logging_level,
        include_execution_data=record.include_execution_data,
        tracing_enabled=record.tracing_enabled,
        created=format_time(record.created),
        updated=format_time(record.updated),
        tags=dict(record.tags),
    )


def _execution(record: ExecutionRecord, status_code: int = 200) -> Response:
    """An execution, rendered here rather than by pydantic: its input and output may nest as
    deep as the engine allows (512 levels and more for an output), past pydantic's recursion
    limit, and whatever was accepted must be describable. The route declares `Execution`."""
    shape = Execution(
        arn=record.arn,
        machine_arn=record.machine_arn,
        name=record.name,
        type=record.machine_type,
        status=record.status,
        input=None,
        error=record.error,
        cause=record.cause,
        start_date=format_time(record.start),
        stop_date=_iso(record.stop),
        redrive_count=record.redrive_count,
    )
    body: dict[str, object] = shape.model_dump(by_alias=True)
    body["input"] = record.input
    body["output"] = record.output if record.status == "SUCCEEDED" else None
    return JsonAnswer(body, status_code=status_code)


class JsonAnswer(JSONResponse):
    """JSON rendered by the standard library (no depth limit of its own below Python's); a
    string that is not Unicode is sent as its `\\u` escape rather than failing the answer."""

    def render(self, content: object) -> bytes:
        try:
            return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:
            return json.dumps(content, separators=(",", ":")).encode()


def _summary(record: ExecutionRecord) -> ExecutionSummary:
    return ExecutionSummary(
        arn=record.arn,
        machine_arn=record.machine_arn,
        name=record.name,
        status=record.status,
        start_date=format_time(record.start),
        stop_date=_iso(record.stop),
    )


def _event(event: StoredEvent) -> HistoryEvent:
    details = event.details if isinstance(event.details, dict) else None
    return HistoryEvent(
        id=event.id,
        previous_event_id=event.previous_event_id,
        timestamp=format_time(event.timestamp),
        type=event.type,
        details={k: _json_value(v) for k, v in details.items()} if details else None,
    )


def _json_value(value: object) -> JsonValue:
    """A stored JSON value as pydantic's JsonValue (the same values; the type differs only)."""
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _diagnostic(diagnostic: Diagnostic) -> DiagnosticOut:
    return DiagnosticOut(
        severity=diagnostic.severity.value,
        code=diagnostic.code,
        message=diagnostic.message,
        location=diagnostic.location or "/",
    )


# -- routes ---------------------------------------------------------------------------------------

BODY_MAX_DEPTH = MAX_NESTING_DEPTH + 2
"""A body's own nesting: a value of the engine's deepest (512) inside its member. Deeper values
are refused whole, before pydantic (whose recursion stops near 250) sees them."""


class BoundedRequest(Request):
    """A request whose JSON body is read within the engine's bounds (engine/values.py): no
    NaN or Infinity, no number longer than 1,000 characters, no nesting past BODY_MAX_DEPTH,
    UTF-8 text. FastAPI answers a refusal as it answers malformed JSON (SerializationException,
    api/app.py). Lone surrogates pass here: each member's own check refuses them with its
    error (pydantic's for strings, InvalidExecutionInput for an input...)."""

    async def json(self) -> object:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = parse_json(
                    body.decode("utf-8"), max_depth=BODY_MAX_DEPTH, unicode=False
                )
            except UnicodeDecodeError:
                raise json.JSONDecodeError("the body is not UTF-8 text", "", 0) from None
            except JsonRefused as exc:
                raise json.JSONDecodeError(exc.reason, "", 0) from None
        return self._json


class BoundedRoute(APIRoute):
    """FastAPI's route, reading bodies as `BoundedRequest` (FastAPI's documented recipe)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[object, object, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(BoundedRequest(request.scope, request.receive))

        return bounded


def make_router(service: Service) -> APIRouter:
    """The `/v1` routes over one service."""
    router = APIRouter(prefix="/v1", responses=_ERRORS, route_class=BoundedRoute)

    async def machine_arn(machine: str) -> str:
        """`{machine}` in a path: a state machine name or ARN."""
        if machine.startswith("arn:"):
            return machine
        record = await service.find_state_machine(machine)
        if record is None:
            raise ApiError(
                "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{machine[:200]}'"
            )
        return record.arn

    @router.get(
        "/health", tags=["operations"], responses={200: {"model": Health}, 503: {"model": Health}}
    )
    async def health() -> Response:
        """Health: 200 `ok`, or 503 `degraded` while the store does not answer or the worker
        loop fails (executions accepted now would not be driven)."""
        found = await service.health()
        status = "degraded" if found.degraded else "ok"
        return _health_response(status, found, 503 if found.degraded else 200)

    @router.get(
        "/ready", tags=["operations"], responses={200: {"model": Health}, 503: {"model": Health}}
    )
    async def ready() -> Response:
        """Readiness: 200 when the store answers and the worker loop (if this process runs
        one) is running; 503 otherwise."""
        found = await service.health()
        if found.ready:
            return JSONResponse({"status": "ready"})
        return _health_response("unavailable", found, 503)

    @router.post("/machines", status_code=201, tags=["machines"])
    async def create_machine(body: MachineCreate, response: Response) -> Machine:
        """CreateStateMachine (same name and settings: the existing machine)."""
        record, _ = await service.create_state_machine(
            body.name,
            _definition_text(body.definition),
            role_arn=body.role_arn or DEFAULT_ROLE,
            machine_type=body.type,
            logging_level=body.logging_level,
            include_execution_data=body.include_execution_data,
            tracing_enabled=body.tracing_enabled,
            tags=body.tags,
        )
        response.headers["Location"] = f"/v1/machines/{record.name}"
        return _machine(record)

    @router.get("/machines", tags=["machines"])
    async def list_machines() -> MachineList:
        records = await service.list_state_machines()
        return MachineList(machines=[_machine(r) for r in sorted(records, key=lambda r: r.name)])

    @router.get("/machines/{machine}", tags=["machines"])
    async def get_machine(machine: str) -> Machine:
        """DescribeStateMachine, by name or ARN."""
        return _machine(await service.describe_state_machine(await machine_arn(machine)))

    @router.put("/machines/{machine}", tags=["machines"])
    async def update_machine(machine: str, body: MachineUpdate) -> Machine:
        """UpdateStateMachine."""
        record, _ = await service.update_state_machine(
            await machine_arn(machine),
            definition=_definition_text(body.definition) if body.definition is not None else None,
            role_arn=body.role_arn,
            logging_level=body.logging_level,
            include_execution_data=body.include_execution_data,
            tracing_enabled=body.tracing_enabled,
        )
        return _machine(record)

    @router.delete("/machines/{machine}", status_code=204, tags=["machines"])
    async def delete_machine(machine: str) -> Response:
        await service.delete_state_machine(await machine_arn(machine))
        return Response(status_code=204)

    @router.post(
        "/machines/{machine}/executions",
        status_code=201,
        tags=["executions"],
        response_model=Execution,
    )
    async def start_execution(
        machine: str,
        body: ExecutionStart,
        idempotency_key: Annotated[str | None, Header(max_length=80)] = None,
    ) -> Response:
        """StartExecution. `Idempotency-Key` is the execution name: a retry with the same key
        and input returns the same execution while it runs; otherwise 409."""
        name = body.name
        if idempotency_key is not None:
            if name is not None and name != idempotency_key:
                raise ApiError(
                    "ValidationException",
                    "The Idempotency-Key header and the name in the body differ; send one, "
                    "or the same value in both",
                )
            name = idempotency_key
        record = await service.start_execution(
            await machine_arn(machine),
            name=name,
            input_text=_input_text(body.input),
            trace_header=body.trace_header,
        )
        answer = _execution(record, 201)
        answer.headers["Location"] = f"/v1/executions/{record.arn}"  # after the content headers
        return answer

    @router.get("/machines/{machine}/executions", tags=["executions"])
    async def list_executions(
        machine: str,
        status: Status | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        next_token: Annotated[str | None, Query(max_length=3096)] = None,
        name: Annotated[str | None, Query(min_length=1, max_length=80)] = None,
        redrive_filter: RedriveFilter | None = None,
    ) -> ExecutionList:
        """ListExecutions, newest first; pass `next_token` for the next page. `name` keeps the
        executions whose name contains it, ignoring case (pass the same `name` with
        `next_token`). `redrive_filter`: REDRIVEN or NOT_REDRIVEN. PENDING_REDRIVE is a Map
        Run child's status: a machine's listing refuses it (ValidationException)."""
        records, token = await service.list_executions(
            await machine_arn(machine),
            status=status,
            limit=limit,
            next_token=next_token,
            name=name,
            redrive_filter=redrive_filter,
        )
        return ExecutionList(executions=[_summary(r) for r in records], next_token=token)

    async def get_execution(arn: str) -> Response:
        """DescribeExecution."""
        return _execution(await service.describe_execution(arn))

    @router.post("/executions/{arn:path}/stop", tags=["executions"], response_model=Execution)
    async def stop_execution(arn: str, body: StopRequest | None = None) -> Response:
        """StopExecution: the execution ends ABORTED (once its worker applies the stop)."""
        stop = body or StopRequest()
        return _execution(await service.stop_execution(arn, error=stop.error, cause=stop.cause))

    @router.post("/executions/{arn:path}/redrive", tags=["executions"], response_model=Execution)
    async def redrive_execution(arn: str) -> Response:
        """RedriveExecution: restart a FAILED, ABORTED or TIMED_OUT execution."""
        return _execution(await service.redrive_execution(arn))

    @router.get("/executions/{arn:path}/history", tags=["executions"], response_model=History)
    async def get_history(
        arn: str,
        reverse: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        next_token: Annotated[str | None, Query(max_length=1024)] = None,
        after: Annotated[
            int | None,
            Query(
                ge=0,
                lt=2**53,
                description="only the events whose id is greater (oldest first): what a client "
                "following a running execution sends with the last id it has",
            ),
        ] = None,
    ) -> Response:
        """GetExecutionHistory, oldest first (or newest first with `reverse`); with `after`,
        only the events past that id, so a client can follow a running execution reading
        only what is new (the last page has no `next_token`; the next read sends the last
        event's id as `after`)."""
        if after is not None and reverse:
            raise ApiError("ValidationException", "after reads forward: it cannot go with reverse")
        after = max(
            after or 0, decode_token(next_token, "history") if next_token is not None else 0
        )
        events = await service.get_history(arn, after_id=after, limit=limit + 1, reverse=reverse)
        page = events[:limit]
        token = encode_token("history", page[-1].id) if len(events) > limit else None
        history = History(events=[_event(e) for e in page], next_token=token)
        # rendered by JsonAnswer: a handler's output may hold a lone surrogate, which pydantic
        # cannot encode (it is sent as its \\u escape)
        return JsonAnswer(history.model_dump(by_alias=True))

    @router.get("/executions/{arn:path}/map-runs", tags=["map runs"])
    async def list_map_runs(
        arn: str,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        next_token: Annotated[str | None, Query(max_length=1024)] = None,
    ) -> MapRunList:
        """ListMapRuns: the Map Runs of an execution's Distributed Maps, newest first."""
        offset = decode_token(next_token, "mapRun") if next_token is not None else 0
        runs, following = await service.list_map_runs(arn, limit=limit, offset=offset)
        return MapRunList(
            map_runs=[MapRunSummary.model_validate(map_run_summary(r, format_time)) for r in runs],
            next_token=encode_token("mapRun", following) if following is not None else None,
        )

    # Declared after the routes with a suffix: `{arn:path}` would take the suffix in its stride
    # (a Map Run's children have a `/` in their ARN: execution:MACHINE/LABEL:NAME).
    router.add_api_route(
        "/executions/{arn:path}",
        get_execution,
        methods=["GET"],
        tags=["executions"],
        response_model=Execution,
    )

    @router.get("/map-runs/{arn:path}/executions", tags=["map runs"])
    async def list_map_run_executions(
        arn: str,
        status: Status | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        next_token: Annotated[str | None, Query(max_length=3096)] = None,
        redrive_filter: RedriveFilter | None = None,
    ) -> ExecutionList:
        """ListExecutions with mapRunArn: the Map Run's child executions, newest first;
        `status` PENDING_REDRIVE: those waiting for the running redrive of the Map Run."""
        records, token = await service.list_map_run_executions(
            arn, status=status, limit=limit, next_token=next_token, redrive_filter=redrive_filter
        )
        return ExecutionList(executions=[_summary(r) for r in records], next_token=token)

    @router.get("/map-runs/{arn:path}", tags=["map runs"])
    async def describe_map_run(arn: str) -> MapRun:
        """DescribeMapRun."""
        return _map_run(await service.describe_map_run(arn))

    @router.patch("/map-runs/{arn:path}", tags=["map runs"])
    async def update_map_run(arn: str, body: MapRunUpdate) -> MapRun:
        """UpdateMapRun: MaxConcurrency and the tolerated failures of a running Map Run."""
        await service.update_map_run(
            arn,
            max_concurrency=body.max_concurrency,
            tolerated_failure_count=body.tolerated_failure_count,
            tolerated_failure_percentage=body.tolerated_failure_percentage,
        )
        return _map_run(await service.describe_map_run(arn))

    @router.post("/callbacks/success", status_code=204, tags=["callbacks"])
    async def task_success(body: TaskSuccess) -> Response:
        """SendTaskSuccess: the waiting task's result."""
        await service.send_task_success(body.task_token, _input_text(body.output))
        return Response(status_code=204)

    @router.post("/callbacks/failure", status_code=204, tags=["callbacks"])
    async def task_failure(body: TaskFailure) -> Response:
        """SendTaskFailure."""
        await service.send_task_failure(body.task_token, error=body.error, cause=body.cause)
        return Response(status_code=204)

    @router.post("/callbacks/heartbeat", status_code=204, tags=["callbacks"])
    async def task_heartbeat(body: TaskHeartbeat) -> Response:
        """SendTaskHeartbeat."""
        await service.send_task_heartbeat(body.task_token)
        return Response(status_code=204)

    @router.post("/validate", tags=["machines"])
    async def validate(body: ValidateRequest) -> ValidateResult:
        """Every diagnostic of a definition (errors and warnings), located."""
        # off the event loop: validating up to 1 MiB of definition takes a while
        text = _definition_text(body.definition)
        diagnostics = await asyncio.to_thread(service.validate, text, body.type)
        return ValidateResult(
            valid=not any(d.severity == "ERROR" for d in diagnostics),
            diagnostics=[_diagnostic(d) for d in diagnostics],
        )

    @router.post("/test-state", tags=["machines"], response_model=TestStateOut)
    async def test_state(body: TestStateIn) -> JSONResponse:
        """TestState: run one state (a lone state's definition, or `stateName` of a machine).
        Members AWS leaves out are left out (a JSON null output is an output)."""
        result = await service.test_state(_test_state_request(body))
        answer: dict[str, JsonValue] = {"status": result.status}
        if result.output is not None:
            answer["output"] = _value(result.output)
        for name, text in (
            ("error", result.error),
            ("cause", result.cause),
            ("nextState", result.next_state),
        ):
            if text is not None:
                answer[name] = text
        if result.inspection_data is not None:
            answer["inspectionData"] = {
                name: _value(value) if isinstance(value, str) else value
                for name, value in result.inspection_data.items()
            }
        return JsonAnswer(answer)

    add_schedule_routes(router, service, machine_arn)
    return router


def _map_run(view: MapRunView) -> MapRun:
    counts = map_run_counts(view)
    return MapRun.model_validate(
        map_run_fields(view.record, counts.items, counts.executions, format_time)
    )


def _optional_text(value: JsonValue) -> str | None:
    return None if value is None else _input_text(value)


def _value(text: str | None) -> JsonValue:
    return None if text is None else parse_json(text)


def _test_state_request(body: TestStateIn) -> TestStateRequest:
    mock = body.mock
    error = mock.error_output if mock is not None else None
    configuration = body.state_configuration or StateConfiguration()
    return TestStateRequest(
        definition=_definition_text(body.definition),
        state_name=body.state_name,
        input=_optional_text(body.input),
        inspection_level=body.inspection_level,
        reveal_secrets=body.reveal_secrets,
        role_arn=body.role_arn,
        variables=_optional_text(body.variables),
        context=_optional_text(body.context),
        mock_result=(
            _input_text(mock.result)
            if mock is not None and "result" in mock.model_fields_set
            else None
        ),
        mock_error=error.error if error is not None else None,
        mock_cause=error.cause if error is not None else None,
        has_error_output=error is not None,
        field_validation_mode=mock.field_validation_mode if mock is not None else None,
        retrier_retry_count=configuration.retrier_retry_count,
        error_caused_by_state=configuration.error_caused_by_state,
        map_iteration_failure_count=configuration.map_iteration_failure_count,
        map_item_reader_data=_optional_text(configuration.map_item_reader_data),
    )
