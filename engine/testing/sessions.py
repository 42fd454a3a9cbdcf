"""Synchronous faces on the engine and the service, for tests that are plain functions.

Owns: `EngineSession` (an in-memory `Engine`) and `ServiceSession` (a durable `Service` on a
store, e.g. a SQLite file), each driving its own asyncio event loop (`asyncio.Runner`), so a
test needs no async plugin and no `asyncio.run` wrapper of its own. Between two calls the loop
stands still; each call runs it until its answer is there, and executions started earlier make
progress meanwhile. Must never: decide semantics (every call is the engine's or the service's
own operation) or import pytest (engine/testing/pytest_plugin.py makes fixtures of these).

Both sessions start executions with AWS's StartExecution rule (the name and input of a running
Standard execution return it; a different input, or a closed execution, raise
`ResourceConflict` with code `ExecutionAlreadyExists`; Express starts are never idempotent),
because `Engine.start` and `Service.start_execution` do.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from engine.values import JSON, NO_INPUT, Omitted

if TYPE_CHECKING:
    from engine.embedded import Engine, ExecutionResult, LoadedMachine
    from engine.runtime.loop import Runtime
    from engine.service import Service
    from engine.store.base import ExecutionRecord, MachineRecord

__all__ = ["DEFAULT_TIMEOUT", "EngineSession", "ServiceSession", "definition_source"]

T = TypeVar("T")
TOKEN_POLL_SECONDS = 0.005
DEFAULT_TIMEOUT = 60.0
"""Real seconds a session waits for an execution to close. On a virtual clock, Waits and
back-offs take no real time; an execution still running after this long waits for something
that will not come (a task token nobody sends), and the session says so instead of hanging."""

Source = str | os.PathLike[str] | Mapping[str, JSON]
"""A definition: its text (JSON or YAML), a file holding it, or the parsed value."""


def definition_source(source: Source) -> tuple[str | Mapping[str, JSON], str | None]:
    """The definition (text or value) and, for a file, the machine name its file name gives
    (`order.asl.json` -> `order`)."""
    if isinstance(source, os.PathLike):
        path = Path(source)
        name = path.name
        for suffix in (".asl.json", ".asl.yaml", ".asl.yml", ".json", ".yaml", ".yml"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
        return path.read_text(encoding="utf-8"), name
    return source, None


class _Loop:
    """One event loop that runs only while a call waits for its answer."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._runner = asyncio.Runner()

    def run(self, work: Coroutine[object, object, T]) -> T:
        return self._runner.run(work)

    def call(self, function: Callable[[], T]) -> T:
        """A synchronous engine call that needs the running loop (it creates tasks)."""

        async def inside() -> T:
            return function()

        return self._runner.run(inside())

    def until_closed(self, work: Awaitable[T], arn: str) -> T:
        async def bounded() -> T:
            try:
                async with asyncio.timeout(self.timeout):
                    return await work
            except TimeoutError:
                raise AssertionError(
                    f"execution {arn} did not close within {self.timeout:g} s (real time): "
                    "is it waiting for a task token, an activity worker or a real-time Wait?"
                ) from None

        return self._runner.run(bounded())

    def until_token(self, runtime: Runtime, arn: str) -> str:
        """Run until a Task of the execution waits for a task token; that token."""

        async def poll() -> str:
            try:
                async with asyncio.timeout(self.timeout):
                    while True:
                        record = runtime.executions.get(arn)
                        if record is not None:
                            for frame in record.state.frames.values():
                                if frame.task_token is not None:
                                    return frame.task_token
                            if record.done.done():
                                finish = record.done.result()
                                raise AssertionError(
                                    f"execution {arn} closed ({finish.status}: {finish.error}: "
                                    f"{finish.cause}) without waiting for a task token"
                                )
                        # the handler or the store call runs in a thread: poll, do not spin
                        await asyncio.sleep(TOKEN_POLL_SECONDS)
            except TimeoutError:
                pass
            raise AssertionError(
                f"execution {arn} is not waiting for a task token (within {self.timeout:g} s): "
                "is its Task a .waitForTaskToken one, and has it reached it?"
            )

        return self._runner.run(poll())

    def close(self, last: Callable[[], Coroutine[object, object, None]]) -> None:
        try:
            self._runner.run(last())
        finally:
            self._runner.close()


class EngineSession:
    """An in-memory `Engine` for synchronous tests (the `asl_engine` fixture).

        with EngineSession(Engine.for_testing(functions=...)) as session:
            machine = session.load(Path("order.asl.json"))
            result = session.run(machine, {"orderId": "o-1"})

    `engine` is the `Engine` itself (its `lambda_backend.stats(name)`, `mocks`, ...).
    """

    def __init__(self, engine: Engine, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.engine = engine
        self._loop = _Loop(timeout)

    def __enter__(self) -> EngineSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._loop.close(self.engine.aclose)

    def load(
        self, source: Source, *, name: str | None = None, machine_type: str = "STANDARD"
    ) -> LoadedMachine:
        """Validate and compile a definition (raises `DefinitionInvalid` with every problem).
        A file's machine is named after the file unless `name` says otherwise."""
        definition, named = definition_source(source)
        return self.engine.load(
            definition, name=name or named or "machine", machine_type=machine_type
        )

    def start(
        self,
        machine: LoadedMachine,
        execution_input: JSON | Omitted = NO_INPUT,
        *,
        name: str | None = None,
        test_case: str | None = None,
    ) -> str:
        """StartExecution: the new (or, by AWS's rule, the same running) execution's ARN."""
        return self._loop.call(
            lambda: self.engine.start(machine, execution_input, name=name, test_case=test_case)
        )

    def result(self, execution_arn: str) -> ExecutionResult:
        """Run until the execution closes; its outcome and history."""
        return self._loop.until_closed(self.engine.result(execution_arn), execution_arn)

    def run(
        self,
        machine: LoadedMachine,
        execution_input: JSON | Omitted = NO_INPUT,
        *,
        name: str | None = None,
        test_case: str | None = None,
    ) -> ExecutionResult:
        """Start an execution and run it to the end (`test_case`: of the mock config)."""
        return self.result(self.start(machine, execution_input, name=name, test_case=test_case))

    def task_token(self, execution_arn: str) -> str:
        """Run until the execution's Task waits for a callback (`.waitForTaskToken`); its
        token, for `send_task_success` / `send_task_failure`."""
        return self._loop.until_token(self.engine.runtime, execution_arn)

    def send_task_success(self, token: str, output: JSON) -> None:
        self._loop.call(lambda: self.engine.send_task_success(token, output))

    def send_task_failure(
        self, token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        self._loop.call(lambda: self.engine.send_task_failure(token, error, cause))


class ServiceSession:
    """A durable `Service` for synchronous tests (the `asl_service` fixture): machines and
    executions are recorded in its store, every transition committed, as `asl serve` does.

    `service` is the `Service` itself. `run`, `result` and `describe` return the store's
    `ExecutionRecord`; `history` the events exactly as `asl history --json` prints them.
    """

    def __init__(
        self, service: Service, *, timeout: float = DEFAULT_TIMEOUT, owns_store: bool = False
    ) -> None:
        self.service = service
        self._owns_store = owns_store
        self._loop = _Loop(timeout)
        self._loop.call(service.start)

    @classmethod
    def open(
        cls, store_url: str, *, timeout: float = DEFAULT_TIMEOUT, **options: object
    ) -> ServiceSession:
        """A session on a new `Service(open_store(store_url), **options)` that closes the store
        with itself (`options`: `functions`, `clock`, `mock_config`, `config`, ...)."""
        from engine.service import Service
        from engine.store.open import open_store

        store = open_store(store_url)
        try:
            service = Service(store, **options)  # type: ignore[arg-type]
        except BaseException:
            store.close()
            raise
        return cls(service, timeout=timeout, owns_store=True)

    def __enter__(self) -> ServiceSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        async def shut() -> None:
            try:
                await self.service.aclose()
            finally:
                if self._owns_store:
                    self.service.store.close()

        self._loop.close(shut)

    def create(
        self, source: Source, *, name: str | None = None, machine_type: str = "STANDARD"
    ) -> MachineRecord:
        """CreateStateMachine (idempotent for the same name and definition, as on AWS)."""
        definition, named = definition_source(source)
        text = definition if isinstance(definition, str) else json.dumps(definition)
        record, _ = self._loop.run(
            self.service.create_state_machine(
                name or named or "machine", text, machine_type=machine_type
            )
        )
        return record

    load = create  # the name EngineSession uses: one test can run on either session

    def start(
        self,
        machine: MachineRecord | str,
        execution_input: JSON | Omitted = NO_INPUT,
        *,
        name: str | None = None,
        test_case: str | None = None,
    ) -> str:
        """StartExecution on a machine (its record or ARN); `test_case` of the mock config."""
        arn = machine if isinstance(machine, str) else machine.arn
        if test_case is not None:
            arn = f"{arn}#{test_case}"
        text = json.dumps({} if isinstance(execution_input, Omitted) else execution_input)
        record = self._loop.run(self.service.start_execution(arn, name=name, input_text=text))
        return record.arn

    def result(self, execution_arn: str) -> ExecutionRecord:
        """Run until the execution closes; its record (status, output, error, cause)."""
        return self._loop.until_closed(self.service.wait_for(execution_arn), execution_arn)

    def run(
        self,
        machine: MachineRecord | str,
        execution_input: JSON | Omitted = NO_INPUT,
        *,
        name: str | None = None,
        test_case: str | None = None,
    ) -> ExecutionRecord:
        return self.result(self.start(machine, execution_input, name=name, test_case=test_case))

    def describe(self, execution_arn: str) -> ExecutionRecord:
        return self._loop.run(self.service.describe_execution(execution_arn))

    def history(self, execution_arn: str) -> list[dict[str, JSON]]:
        """GetExecutionHistory, oldest first, as `asl history ARN --json` prints it."""
        from engine.cli.shapes import event_shape

        events = self._loop.run(self.service.get_history(execution_arn, limit=1_000_000))
        return [event_shape(event) for event in events]

    def task_token(self, execution_arn: str) -> str:
        """Run until the execution's Task waits for a callback (`.waitForTaskToken`); its
        token, for `send_task_success` / `send_task_failure`."""
        return self._loop.until_token(self.service.runtime, execution_arn)

    def send_task_success(self, token: str, output: JSON) -> None:
        self._loop.run(self.service.send_task_success(token, json.dumps(output)))

    def send_task_failure(
        self, token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        self._loop.run(self.service.send_task_failure(token, error=error, cause=cause))
