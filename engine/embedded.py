"""The embedding API: load a machine once, run executions, await results and history.

Owns: the entry point for programs and tests that run state machines in-process
(`Engine.load`, `Engine.run`, `Engine.start`/`Engine.result`), ARNs for machines and executions,
and the `ExecutionResult` value (the JSON shape `asl run --json` prints). Must never: parse a
definition twice (a loaded `LoadedMachine` is compiled once and reused for every execution) or
decide ASL semantics.

    engine = Engine(functions=load_functions("handlers.py"), clock=VirtualClock())
    machine = engine.load(definition_text, name="order")
    result = await engine.run(machine, {"orderId": 7})
    assert result.status == "SUCCEEDED"

Mocked service integrations (Step Functions Local's mock config; docs/mock-configs.md):

    engine = Engine(mock_config=load_mock_config("MockConfigFile.json"), clock=VirtualClock())
    machine = engine.load(definition_text, name="LambdaSQSIntegration")
    result = await engine.run(machine, {}, test_case="HappyPath")
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.definition.compile import Machine, compile_machine
from engine.definition.parse import DefinitionSyntaxError, parse_text
from engine.definition.validate import iter_diagnostics, validate_text
from engine.errors import (
    DefinitionInvalid,
    EngineError,
    InvalidRequest,
    ResourceConflict,
    ResourceNotFound,
)
from engine.ids import random_uuid4
from engine.interpreter.frames import ExecutionInfo
from engine.interpreter.history import HistoryEvent, format_time
from engine.interpreter.messages import TaskCallback
from engine.interpreter.nested import answered_by, start_response
from engine.interpreter.tasks import TaskFailure, TaskResult, TaskSuccess
from engine.names import check_name
from engine.runtime.clock import Clock, RealClock, VirtualClock
from engine.runtime.loop import Runtime
from engine.runtime.observe import add_observer
from engine.values import (
    JSON,
    NO_INPUT,
    PAYLOAD_LIMIT_BYTES,
    Omitted,
    dumps,
    parse_json,
    payload_size,
)

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from engine.backends.base import Backend
    from engine.backends.functions import LambdaBackend
    from engine.backends.mocked import MockedBackends
    from engine.backends.mocks import MockConfig
    from engine.backends.nested import ChildStart
    from engine.config import ConfigSource, TaskBackends
    from engine.metrics import EngineMetrics

REGION = "us-east-1"
ACCOUNT = "111111111111"


@dataclass(frozen=True, slots=True)
class LoadedMachine:
    """A validated, compiled state machine with its name and ARN."""

    name: str
    arn: str
    machine_type: str
    machine: Machine


@dataclass(frozen=True, slots=True)
class StoredMachine:
    """A machine found elsewhere (a store) by its ARN, for `Engine(find_machine=...)`."""

    name: str
    machine_type: str
    definition: str


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """How an execution ended: status, output or error and cause, and its history."""

    execution_arn: str
    name: str
    status: str
    output: JSON
    error: str | None
    cause: str | None
    start_date: float
    stop_date: float | None
    events: tuple[HistoryEvent, ...] = field(default=(), repr=False)

    def as_json(self, *, history: bool = False) -> dict[str, JSON]:
        """The object `asl run --json` prints (DescribeExecution's fields, output as a value)."""
        out: dict[str, JSON] = {
            "executionArn": self.execution_arn,
            "name": self.name,
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "startDate": format_time(self.start_date),
            "stopDate": format_time(self.stop_date) if self.stop_date is not None else None,
        }
        if history:
            out["events"] = [event.as_json() for event in self.events]
        return out


def load_machine(source: str | Mapping[str, JSON], *, machine_type: str = "STANDARD") -> Machine:
    """Validate and compile a definition (text or parsed). Raises `DefinitionInvalid`."""
    if isinstance(source, str):
        try:
            definition = parse_text(source)
        except DefinitionSyntaxError:
            # validate_text turns unreadable text into its located INVALID_JSON_DESCRIPTION.
            raise DefinitionInvalid(validate_text(source, machine_type=machine_type)) from None
    else:
        definition = dict(source)
    errors = [
        d for d in iter_diagnostics(definition, machine_type=machine_type) if d.severity == "ERROR"
    ]
    if errors:
        raise DefinitionInvalid(errors)
    assert isinstance(definition, dict)
    return compile_machine(definition)


class Engine:
    """Runs state machines in this process, in the running asyncio loop."""

    def __init__(
        self,
        *,
        functions: Mapping[str, Callable[..., object]] | None = None,
        backends: Mapping[str, Backend] | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        region: str = REGION,
        account: str = ACCOUNT,
        config: ConfigSource = None,
        mock_config: MockConfig | None = None,
        find_machine: Callable[[str], StoredMachine | None] | None = None,
    ) -> None:
        """`functions` are Python handlers by Lambda function name; `config` an `asl.toml`
        (path or loaded) configuring functions, their Lambda settings and `[resources]`;
        `backends` maps further resource ARNs (or `*` patterns) to backends. A child machine
        that a `states:startExecution` Task names is one loaded here, else the one
        `find_machine` returns for its ARN (`asl run --store`)."""
        self.clock: Clock = clock or RealClock()
        self.region = region
        self.account = account
        self.seed = seed
        self._runtime: Runtime | None = None
        # Every machine loaded here, by ARN: what a `states:startExecution` Task can start.
        self.machines: dict[str, LoadedMachine] = {}
        self._find_machine = find_machine
        self._task_backends: TaskBackends | None = None
        self._deferred: Callable[[], TaskBackends] | None = None
        if (
            config is None
            and not backends
            and mock_config is None
            and not any(key.startswith("AWS_ENDPOINT_URL") for key in os.environ)
        ):
            # Nothing configured can fail: the backends (engine.config, the Lambda, Python and
            # registry modules) are built on the first Task, as the same environment would
            # have built them here; a run of a machine without Tasks never imports them
            # (`asl run`'s start-up: bench/process_bench.py, tests/cli/test_cold_start.py).
            environ, handlers = dict(os.environ), dict(functions or {})  # as they are now
            self._deferred = lambda: self._open_backends(None, handlers, None, None, environ)
        else:
            self._open_backends(config, functions, backends, mock_config, None)

    def _open_backends(
        self,
        config: ConfigSource,
        functions: Mapping[str, Callable[..., object]] | None,
        backends: Mapping[str, Backend] | None,
        mock_config: MockConfig | None,
        environ: Mapping[str, str] | None,
    ) -> TaskBackends:
        from engine.backends.nested import START_EXECUTION_PATTERN, StartExecutionBackend
        from engine.config import open_task_backends

        opened = open_task_backends(config, functions, backends, mock_config, environ=environ)
        registry = opened.registry
        if START_EXECUTION_PATTERN not in registry.resources:  # an operator's mapping wins
            registry.register(START_EXECUTION_PATTERN, StartExecutionBackend(self))
        self._task_backends = opened
        return opened

    @property
    def _backends(self) -> TaskBackends:
        if self._task_backends is None:
            assert self._deferred is not None
            self._deferred()
            assert self._task_backends is not None
        return self._task_backends

    @property
    def mocks(self) -> MockedBackends:
        """Mocked responses in front of the registry: the resolver of the runtime's Tasks."""
        return self._backends.mocks

    def _resolve_task(self, resource: str) -> Backend | None:
        return self._backends.mocks.resolve(resource)

    def _closed(self, execution_arn: str) -> None:
        if self._task_backends is not None:  # never built: no mock counted anything
            self._task_backends.mocks.forget(execution_arn)

    @classmethod
    def for_testing(cls, **kwargs: object) -> Engine:
        """An engine on a virtual clock: Waits and back-offs take no real time."""
        return cls(clock=VirtualClock(), **kwargs)  # type: ignore[arg-type]

    def resolve(self, resource: str) -> Backend | None:
        """The backend configured for a resource (tasks reach it through `mocks`)."""
        return self._backends.registry.resolve(resource)

    @property
    def lambda_backend(self) -> LambdaBackend:
        """The backend serving Lambda functions (its `stats(name)` count calls, throttles...)."""
        return self._backends.functions.lambda_backend

    def enable_metrics(self) -> EngineMetrics:
        """Count this engine's executions, tasks and functions in Prometheus metrics
        (docs/observability.md); `exposition()` of the result is what `/metrics` serves."""
        from engine.metrics import EngineMetrics  # prometheus-client: only when asked for

        metrics = EngineMetrics()
        metrics.attach(self.runtime, self.lambda_backend)
        return metrics

    def enable_tracing(self, provider: TracerProvider | None = None) -> None:
        """Trace this engine's executions with OpenTelemetry (docs/observability.md):
        `provider`, else one with the exporters the `OTEL_*` variables name."""
        from engine.tracing import ExecutionTracing, tracer_provider_from_env

        tracing = ExecutionTracing(provider or tracer_provider_from_env())
        self.runtime.observer = add_observer(self.runtime.observer, tracing)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime(
                self._resolve_task,
                clock=self.clock,
                on_closed=self._closed,
            )
        return self._runtime

    def load(
        self,
        source: str | Mapping[str, JSON] | Machine,
        *,
        name: str = "machine",
        machine_type: str = "STANDARD",
    ) -> LoadedMachine:
        machine = (
            source
            if isinstance(source, Machine)
            else load_machine(source, machine_type=machine_type)
        )
        arn = f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"
        loaded = LoadedMachine(name=name, arn=arn, machine_type=machine_type, machine=machine)
        self.machines[arn] = loaded
        return loaded

    def start(
        self,
        machine: LoadedMachine,
        execution_input: JSON | Omitted = NO_INPUT,
        *,
        name: str | None = None,
        test_case: str | None = None,
        parent: ChildStart | None = None,
    ) -> str:
        """Start an execution; returns its ARN. Call inside a running event loop.

        Idempotent as StartExecution is for Standard machines: the name and input of a
        running execution return that execution's ARN; the name of a closed execution, or of
        a running one with another input, raises `ExecutionAlreadyExists`.

        `test_case` names a test case of the mock config for this machine's name (as
        StartExecution on `<machine ARN>#<test case>` does); an unknown one raises InvalidArn.
        `parent` is set for a child started by a parent's `states:startExecution` Task.
        """
        if test_case is not None:
            from engine.backends.mocked import check_test_case

            check_test_case(
                self.mocks.config, machine.name, test_case, f"{machine.arn}#{test_case}"
            )
        if isinstance(execution_input, Omitted):
            execution_input = {}  # a given None is JSON null, as StartExecution's "null"
        if payload_size(execution_input) > PAYLOAD_LIMIT_BYTES:
            raise InvalidRequest(
                "InvalidExecutionInput",
                f"The execution input exceeds the {PAYLOAD_LIMIT_BYTES} bytes limit.",
            )
        execution_name = name or random_uuid4()
        check_name(execution_name, "execution name")
        kind = "express" if machine.machine_type == "EXPRESS" else "execution"
        arn = f"arn:aws:states:{self.region}:{self.account}:{kind}:{machine.name}:{execution_name}"
        if kind == "express":
            arn += f":{random_uuid4()}"
        existing = self.runtime.executions.get(arn)
        if existing is not None:
            # AWS (StartExecution, Standard): the name and input of a RUNNING execution give
            # that execution back; a different input, or a closed execution, is a conflict.
            same = existing.state.info
            running = not existing.done.done()
            if (
                running
                and dumps(same.input) == dumps(execution_input)
                and (same.test_case == test_case)
            ):
                return arn
            raise ResourceConflict("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        info = ExecutionInfo(
            execution_arn=arn,
            name=execution_name,
            state_machine_arn=machine.arn,
            state_machine_name=machine.name,
            input=execution_input,
            start_time=self.clock.now(),
            role_arn=f"arn:aws:iam::{self.account}:role/asl-engine",
            execution_type=machine.machine_type,
            seed=self.seed if self.seed is not None else int.from_bytes(os.urandom(4)),
            test_case=test_case,
            parent_execution_arn=parent.parent_arn if parent else None,
            parent_token=parent.token if parent else None,
            parent_pattern=parent.pattern if parent else None,
        )
        self.runtime.start(machine.machine, info)
        return arn

    async def start_child(self, start: ChildStart) -> TaskResult:
        """`ChildExecutions`: start the child a parent's `states:startExecution` Task asks for,
        among the machines loaded here (`asl run --machine-file`)."""
        from engine.backends.nested import start_failure  # a child's Task loaded it already

        machine = self.machines.get(start.machine_arn)
        if machine is None and self._find_machine is not None:
            found = self._find_machine(start.machine_arn)
            if found is not None:
                try:
                    machine = self.load(
                        found.definition, name=found.name, machine_type=found.machine_type
                    )
                except DefinitionInvalid as exc:
                    return start_failure("InvalidDefinition", exc.message)
        if machine is None or machine.arn != start.machine_arn:
            arn = start.machine_arn
            return start_failure(
                "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'"
            )
        try:
            # (never None here: only the durable service keeps a Map's items in its store)
            child_input = parse_json(start.input_text if start.input_text is not None else "{}")
        except ValueError as exc:  # not JSON, or JSON the engine refuses (JsonRefused)
            return start_failure(
                "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'"
            )
        try:
            arn = self.start(machine, child_input, name=start.name, parent=start)
        except EngineError as exc:
            return start_failure(exc.code, exc.message)
        info = self.runtime.executions[arn].state.info
        # Not final for .sync, .sync:2 and .waitForTaskToken: the Task waits for its token.
        answering = answered_by(
            start,
            parent_arn=info.parent_execution_arn,
            token=info.parent_token,
            pattern=info.parent_pattern,
        )
        return TaskSuccess(start_response(arn, info.start_time), token=answering)

    def send_task_success(self, token: str, output: JSON) -> None:
        """SendTaskSuccess: complete the Task waiting with `token` (`.waitForTaskToken`)."""
        self._answer(token, TaskSuccess(output))

    def send_task_failure(
        self, token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        """SendTaskFailure: fail the Task waiting with `token` with `error` and `cause`."""
        self._answer(token, TaskFailure(error or "", cause))

    def _answer(self, token: str, result: TaskResult) -> None:
        """Hand a callback to the running execution whose Task holds `token`; an unknown or
        answered token raises TaskDoesNotExist, as the service does."""
        runtime = self.runtime
        for arn, record in runtime.executions.items():
            if record.done.done():
                continue
            if any(frame.task_token == token for frame in record.state.frames.values()):
                runtime.send(arn, TaskCallback(token, result, self.clock.now()))
                return
        raise ResourceNotFound(
            "TaskDoesNotExist", "Task Does Not Exist: the task token is unknown or closed"
        )

    async def result(self, execution_arn: str) -> ExecutionResult:
        """Wait for the execution to close and return its outcome and history."""
        runtime = self.runtime
        finish = await runtime.wait(execution_arn)
        record = runtime.executions[execution_arn]
        info = record.state.info
        return ExecutionResult(
            execution_arn=execution_arn,
            name=info.name,
            status=finish.status,
            output=finish.output if finish.status == "SUCCEEDED" else None,
            error=finish.error,
            cause=finish.cause,
            start_date=info.start_time,
            stop_date=record.stop_time,
            events=tuple(record.history or ()),
        )

    async def run(
        self,
        machine: LoadedMachine,
        execution_input: JSON | Omitted = NO_INPUT,
        *,
        name: str | None = None,
        test_case: str | None = None,
    ) -> ExecutionResult:
        """Start an execution and wait for its result."""
        return await self.result(
            self.start(machine, execution_input, name=name, test_case=test_case)
        )

    async def run_many(
        self, machine: LoadedMachine, inputs: Sequence[JSON]
    ) -> list[ExecutionResult]:
        arns = [self.start(machine, item) for item in inputs]
        return list(await asyncio.gather(*(self.result(arn) for arn in arns)))

    async def aclose(self) -> None:
        if self._runtime is not None:
            await self._runtime.aclose()
        if self._task_backends is not None:
            await self._task_backends.aclose()
