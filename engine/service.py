"""The application service: the one place every interface (CLI, REST, AWS JSON) calls.

Owns: the Step Functions operations and their rules (names, ARNs, idempotency of
StartExecution and CreateStateMachine, versions and aliases, task-token callbacks, activities,
redrive, retention), compiled machines cached per definition revision, and the lifecycle of the
in-process runtime and worker. Must never: parse HTTP or arguments (interfaces translate), or
decide ASL semantics (the interpreter does).

Errors are `EngineError`s with AWS's error codes (engine/errors.py); the interfaces map them to
their wire format in one table each.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from engine.backends.base import Backend
from engine.backends.mocked import check_test_case
from engine.backends.mocks import MockConfig
from engine.config import ConfigSource, open_task_backends
from engine.definition.compile import Machine, compile_machine
from engine.definition.diagnostics import Diagnostic
from engine.definition.parse import parse_text
from engine.definition.validate import iter_diagnostics, validate_text
from engine.embedded import ACCOUNT, REGION
from engine.errors import (
    DefinitionInvalid,
    EngineError,
    InvalidRequest,
    ResourceConflict,
    ResourceNotFound,
)
from engine.interpreter.messages import (
    ActivityStarted,
    Event,
    Redrive,
    StopRequested,
    TaskCallback,
    TaskHeartbeat,
)
from engine.interpreter.tasks import TaskFailure, TaskSuccess
from engine.names import check_name
from engine.runtime.clock import Clock, RealClock
from engine.runtime.crash import CrashPoints, Redelivery
from engine.runtime.journal import Journal
from engine.runtime.loop import Runtime
from engine.runtime.worker import Worker
from engine.store.base import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_RETENTION_SECONDS,
    ActivityRecord,
    ActivityTask,
    AliasRecord,
    ExecutionRecord,
    MachineRecord,
    Store,
    StoredEvent,
    StoreError,
    TokenRecord,
    VersionRecord,
)
from engine.store.codec import event_to_json
from engine.values import JSON, PAYLOAD_LIMIT_BYTES, dumps

DEFAULT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/asl-engine"
DEFINITION_LIMIT_BYTES = 1024 * 1024
MAX_TAGS = 50  # AWS: "Maximum number of tags per resource"
REDRIVE_WINDOW_SECONDS = 14 * 24 * 3600
MACHINE_CACHE_SECONDS = 1.0
MAX_TOKEN_LENGTH = 2048  # API reference, SendTaskSuccess: taskToken is 1 to 2048 characters
RETENTION_INTERVAL_SECONDS = 3600.0
STARTS_REMEMBERED = 10_000

_log = logging.getLogger("asl.service")
MAX_REDRIVES = 1000


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    region: str = REGION
    account: str = ACCOUNT
    retention_seconds: float = DEFAULT_RETENTION_SECONDS
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    poll_seconds: float = 0.25
    worker: bool = True  # drive executions in this process (False: an API-only process)
    seed: int | None = None
    claim_batch: int = 1000  # executions a worker claims per store round trip


def _check_json_input(
    text: str | None, code: str = "InvalidExecutionInput", what: str = "input"
) -> JSON:
    """Execution input (or, with code InvalidOutput, a task's output): JSON within 256 KiB."""
    if text is None or text == "":
        return {}
    if len(text.encode("utf-8")) > PAYLOAD_LIMIT_BYTES:
        raise InvalidRequest(
            code, f"The {what} exceeds the maximum size of {PAYLOAD_LIMIT_BYTES} bytes."
        )
    try:
        value: JSON = json.loads(text)
    except json.JSONDecodeError as exc:
        title = "State Machine Execution Input" if what == "input" else "Output"
        raise InvalidRequest(
            code,
            f"Invalid {title}: '{exc.msg}' at line {exc.lineno}, column {exc.colno}",
        ) from None
    return value


class Service:
    """Step Functions operations over one store. Use as `async with Service(...) as service:`."""

    def __init__(
        self,
        store: Store,
        *,
        functions: Mapping[str, Callable[..., object]] | None = None,
        backends: Mapping[str, Backend] | None = None,
        clock: Clock | None = None,
        config: ServiceConfig | None = None,
        crash: CrashPoints | None = None,
        redelivery: Redelivery | None = None,
        functions_config: ConfigSource = None,
        mock_config: MockConfig | None = None,
    ) -> None:
        self.store = store
        self.config = config or ServiceConfig()
        self.clock: Clock = clock or RealClock()
        self._backends = open_task_backends(functions_config, functions, backends, mock_config)
        self.mocks = self._backends.mocks  # mocked responses in front of the registry
        self._machines: dict[str, Machine] = {}
        self.journal = Journal(store)
        self.runtime = Runtime(
            self.mocks.resolve,
            clock=self.clock,
            on_closed=self.mocks.forget,
            keep_history=False,
            journal=self.journal,
            crash=crash or CrashPoints.from_env(),
            redelivery=redelivery or Redelivery.from_env(),
        )
        self.worker = Worker(
            store,
            self.runtime,
            self.journal,
            self.machine_for_revision,
            lease_seconds=self.config.lease_seconds,
            poll_seconds=self.config.poll_seconds,
            role_of=self._role_of,
            seed=self.config.seed,
            claim_batch=self.config.claim_batch,
        )
        self._activity_waiters: dict[str, asyncio.Event] = {}
        self._machine_cache: dict[str, tuple[MachineRecord, float]] = {}
        self._machine_reads: dict[str, asyncio.Future[MachineRecord | None]] = {}
        self._started: dict[str, ExecutionRecord] = {}
        self._retention: asyncio.Task[None] | None = None
        self._starts = StartBatcher(self.journal, store, self.worker)

    async def __aenter__(self) -> Service:
        self.start()
        return self

    def start(self) -> None:
        """Run the background work of a long-lived process: the worker loop (in worker mode)
        and the retention job. A server, `asl worker` and `async with Service(...)` call this."""
        if self.config.worker:
            self.worker.start()
        if self._retention is None or self._retention.done():
            self._retention = asyncio.get_running_loop().create_task(self._retention_job())

    async def _retention_job(self) -> None:
        """Purge histories past the retention window (90 days by default), hourly."""
        while True:
            try:
                await self.purge_expired()
            except EngineError:
                _log.exception("retention purge failed; retrying in an hour")
            await asyncio.sleep(RETENTION_INTERVAL_SECONDS)

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
        await self.worker.aclose()
        await self.runtime.aclose()
        await self._backends.aclose()
        self.journal.close()

    # -- plumbing ---------------------------------------------------------------------------------

    def resolve(self, resource: str) -> Backend | None:
        return self._backends.registry.resolve(resource)

    def machine_for_revision(self, revision_id: str) -> Machine:
        """The compiled machine of a definition revision: compiled once, then cached."""
        machine = self._machines.get(revision_id)
        if machine is None:
            text = self.store.get_definition(revision_id)
            if text is None:
                raise ResourceNotFound(
                    "StateMachineDoesNotExist", f"Definition revision {revision_id} not found"
                )
            definition = parse_text(text)
            assert isinstance(definition, dict)
            machine = compile_machine(definition)
            self._machines[revision_id] = machine
        return machine

    def _role_of(self, machine_arn: str) -> str | None:
        """The machine's roleArn, for ExecutionStarted and $$.Execution.RoleArn."""
        cached = self._machine_cache.get(machine_arn)
        record = cached[0] if cached is not None else self.store.get_machine(machine_arn)
        return record.role_arn if record is not None else None

    def _arn(self, kind: str, *parts: str) -> str:
        return f"arn:aws:states:{self.config.region}:{self.config.account}:{kind}:" + ":".join(
            parts
        )

    # -- validation -------------------------------------------------------------------------------

    def validate(self, definition: str, machine_type: str = "STANDARD") -> list[Diagnostic]:
        return validate_text(definition, machine_type=machine_type)

    def _compile_checked(self, definition: str, machine_type: str) -> Machine:
        if len(definition.encode("utf-8")) > DEFINITION_LIMIT_BYTES:
            raise InvalidRequest(
                "InvalidDefinition",
                f"The definition exceeds the maximum size of {DEFINITION_LIMIT_BYTES} bytes.",
            )
        diagnostics = validate_text(definition, machine_type=machine_type)
        errors = [d for d in diagnostics if d.severity == "ERROR"]
        if errors:
            raise DefinitionInvalid(errors)
        parsed = parse_text(definition)
        assert isinstance(parsed, dict)
        return compile_machine(parsed)

    # -- state machines ---------------------------------------------------------------------------

    async def create_state_machine(
        self,
        name: str,
        definition: str,
        *,
        role_arn: str = DEFAULT_ROLE,
        machine_type: str = "STANDARD",
        logging_level: str = "OFF",
        tags: Mapping[str, str] | None = None,
        publish: bool = False,
        version_description: str = "",
    ) -> tuple[MachineRecord, VersionRecord | None]:
        """CreateStateMachine. Same name and same settings: returns the existing machine."""
        check_name(name, "state machine name")
        if machine_type not in ("STANDARD", "EXPRESS"):
            raise InvalidRequest("ValidationException", f"Invalid type '{machine_type}'")
        machine = self._compile_checked(definition, machine_type)
        arn = self._arn("stateMachine", name)
        existing = await self.journal.call(self.store.get_machine, arn)
        if isinstance(existing, MachineRecord):
            same = (
                existing.definition == definition
                and existing.role_arn == role_arn
                and existing.machine_type == machine_type
            )
            if not same:
                raise ResourceConflict(
                    "StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'"
                )
            return existing, None
        now = self.clock.now()
        revision = revision_id(definition)
        record = MachineRecord(
            arn=arn,
            name=name,
            machine_type=machine_type,
            definition=definition,
            revision_id=revision,
            role_arn=role_arn,
            created=now,
            updated=now,
            logging_level=logging_level,
            tags=dict(tags or {}),
        )
        await self.journal.call(self.store.put_machine, record)
        self._machines[revision] = machine
        version = None
        if publish:
            version = await self.publish_version(arn, description=version_description)
        return record, version

    async def update_state_machine(
        self,
        arn: str,
        *,
        definition: str | None = None,
        role_arn: str | None = None,
        logging_level: str | None = None,
        publish: bool = False,
        version_description: str = "",
    ) -> tuple[MachineRecord, VersionRecord | None]:
        record = await self.describe_state_machine(arn)
        machine_type = record.machine_type
        updated = record
        if definition is not None:
            machine = self._compile_checked(definition, machine_type)
            revision = revision_id(definition)
            self._machines[revision] = machine
            updated = replace(updated, definition=definition, revision_id=revision)
        if role_arn is not None:
            updated = replace(updated, role_arn=role_arn)
        if logging_level is not None:
            updated = replace(updated, logging_level=logging_level)
        updated = replace(updated, updated=self.clock.now())
        await self.journal.call(self.store.put_machine, updated)
        self._machine_cache.pop(updated.arn, None)
        version = None
        if publish:
            version = await self.publish_version(arn, description=version_description)
        return updated, version

    async def _machine(self, arn: str) -> MachineRecord | None:
        """A machine record, cached for MACHINE_CACHE_SECONDS.

        AWS documents the same: executions started right after UpdateStateMachine may still
        use the previous definition (API reference, UpdateStateMachine). Changes made through
        this service are seen at once.
        """
        cached = self._machine_cache.get(arn)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        pending = self._machine_reads.get(arn)
        if pending is not None:  # many concurrent starts: one read serves them all
            return await asyncio.shield(pending)
        future: asyncio.Future[MachineRecord | None] = asyncio.get_running_loop().create_future()
        self._machine_reads[arn] = future
        try:
            record = await self.journal.call(self.store.get_machine, arn)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: the waiters (if any) get it too
            raise
        finally:
            self._machine_reads.pop(arn, None)
        if record is not None:
            self._machine_cache[arn] = (record, now + MACHINE_CACHE_SECONDS)
        future.set_result(record)
        return record

    async def describe_state_machine(self, arn: str) -> MachineRecord:
        check_arn(arn, "stateMachine")
        base, version = split_qualified(arn)
        record = await self._machine(base)
        if not isinstance(record, MachineRecord):
            raise ResourceNotFound(
                "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'"
            )
        if version is not None and version.isdigit():
            versions = await self.journal.call(self.store.list_versions, base)
            assert isinstance(versions, list)
            found = next((v for v in versions if v.version == int(version)), None)
            if found is None:
                raise ResourceNotFound(
                    "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'"
                )
            return replace(record, definition=found.definition, revision_id=found.revision_id)
        return record

    async def find_state_machine(self, name: str) -> MachineRecord | None:
        record = await self.journal.call(self.store.find_machine, name)
        return record if isinstance(record, MachineRecord) else None

    async def list_state_machines(self) -> list[MachineRecord]:
        records = await self.journal.call(self.store.list_machines)
        assert isinstance(records, list)
        return records

    async def delete_state_machine(self, arn: str) -> None:
        check_arn(arn, "stateMachine")
        await self.journal.call(self.store.delete_machine, arn)
        self._machine_cache.pop(arn, None)

    async def publish_version(self, arn: str, *, description: str = "") -> VersionRecord:
        record = await self.describe_state_machine(arn)
        versions = await self.journal.call(self.store.list_versions, record.arn)
        assert isinstance(versions, list)
        latest = max(versions, key=lambda v: v.version, default=None)
        if latest is not None and latest.revision_id == record.revision_id:
            return latest  # AWS: publishing an unchanged revision returns the latest version
        version = VersionRecord(
            machine_arn=record.arn,
            version=(latest.version + 1) if latest is not None else 1,
            revision_id=record.revision_id,
            definition=record.definition,
            description=description,
            created=self.clock.now(),
        )
        await self.journal.call(self.store.put_version, version)
        return version

    async def list_versions(self, arn: str) -> list[VersionRecord]:
        record = await self.describe_state_machine(arn)
        versions = await self.journal.call(self.store.list_versions, record.arn)
        assert isinstance(versions, list)
        return sorted(versions, key=lambda v: -v.version)

    async def delete_version(self, version_arn: str) -> None:
        base, version = split_qualified(version_arn)
        if version is None or not version.isdigit():
            raise InvalidRequest("InvalidArn", f"Invalid Arn: '{version_arn}'")
        await self.journal.call(self.store.delete_version, base, int(version))

    async def create_alias(
        self, machine_arn: str, name: str, routing: list[tuple[int, int]], description: str = ""
    ) -> AliasRecord:
        check_name(name, "alias name")
        record = await self.describe_state_machine(machine_arn)
        if not routing or sum(w for _, w in routing) != 100:
            raise InvalidRequest(
                "ValidationException", "The routing configuration weights must add up to 100."
            )
        versions = {v.version for v in await self.list_versions(record.arn)}
        for version, _ in routing:
            if version not in versions:
                raise ResourceNotFound(
                    "ResourceNotFound", f"Version {version} of '{record.arn}' does not exist"
                )
        now = self.clock.now()
        alias = AliasRecord(record.arn, name, tuple(routing), description, now, now)
        existing = await self.journal.call(self.store.get_alias, alias.arn)
        if isinstance(existing, AliasRecord):
            if existing.routing != alias.routing or existing.description != description:
                raise ResourceConflict("ConflictException", f"Alias already exists: '{alias.arn}'")
            return existing
        await self.journal.call(self.store.put_alias, alias)
        return alias

    async def describe_alias(self, alias_arn: str) -> AliasRecord:
        alias = await self.journal.call(self.store.get_alias, alias_arn)
        if not isinstance(alias, AliasRecord):
            raise ResourceNotFound("ResourceNotFound", f"Resource not found: '{alias_arn}'")
        return alias

    async def update_alias(
        self, alias_arn: str, routing: list[tuple[int, int]] | None, description: str | None
    ) -> AliasRecord:
        alias = await self.describe_alias(alias_arn)
        if routing is not None:
            if sum(w for _, w in routing) != 100:
                raise InvalidRequest(
                    "ValidationException", "The routing configuration weights must add up to 100."
                )
            alias = replace(alias, routing=tuple(routing))
        if description is not None:
            alias = replace(alias, description=description)
        alias = replace(alias, updated=self.clock.now())
        await self.journal.call(self.store.put_alias, alias)
        return alias

    async def delete_alias(self, alias_arn: str) -> None:
        await self.journal.call(self.store.delete_alias, alias_arn)

    async def list_aliases(self, machine_arn: str) -> list[AliasRecord]:
        record = await self.describe_state_machine(machine_arn)
        aliases = await self.journal.call(self.store.list_aliases, record.arn)
        assert isinstance(aliases, list)
        return aliases

    # -- executions -------------------------------------------------------------------------------

    async def _resolve_target(self, arn: str) -> tuple[MachineRecord, str | None, str | None]:
        """A machine, version or alias ARN -> (machine pinned to a revision, version, alias)."""
        check_arn(arn, "stateMachine")
        base, qualifier = split_qualified(arn)
        if qualifier is None:
            return await self.describe_state_machine(base), None, None
        if qualifier.isdigit():
            return await self.describe_state_machine(arn), arn, None
        alias = await self.describe_alias(arn)
        version = alias.routing[0][0]
        if len(alias.routing) > 1:
            # Weighted routing: deterministic per call is not required by AWS; draw by weight.
            import random

            pick = random.uniform(0, 100)  # noqa: S311  (routing, not security)
            cumulative = 0
            for candidate, weight in alias.routing:
                cumulative += weight
                if pick <= cumulative:
                    version = candidate
                    break
        version_arn = f"{base}:{version}"
        return await self.describe_state_machine(version_arn), version_arn, arn

    async def start_execution(
        self,
        machine_arn: str,
        *,
        name: str | None = None,
        input_text: str | None = None,
        sync: bool = False,
        trace_header: str | None = None,
    ) -> ExecutionRecord:
        """StartExecution with AWS's idempotency rule for Standard (see DESIGN.md).

        `<machine ARN>#<test case>` runs the execution with that test case of the mock config
        (Step Functions Local's convention); the execution's ARN and its stateMachineArn are
        those of the machine, without the suffix.
        """
        target, hashed, test_case = machine_arn.partition("#")
        machine, version_arn, alias_arn = await self._resolve_target(target)
        if hashed:
            check_test_case(self.mocks.config, machine.name, test_case, machine_arn)
        execution_input = _check_json_input(input_text)
        execution_name = name if name is not None else str(uuid.uuid4())
        check_name(execution_name, "execution name")
        express = machine.machine_type == "EXPRESS"
        if sync and not express:
            raise InvalidRequest(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        if express:
            arn = self._arn("express", machine.name, execution_name, str(uuid.uuid4()))
        else:
            arn = self._arn("execution", machine.name, execution_name)
        record = ExecutionRecord(
            arn=arn,
            machine_arn=machine.arn,
            revision_id=machine.revision_id,
            name=execution_name,
            machine_type=machine.machine_type,
            input=execution_input,
            status="RUNNING",
            start=self.clock.now(),
            sync=sync,
            version_arn=version_arn,
            alias_arn=alias_arn,
            trace_header=trace_header,
            test_case=test_case if hashed else None,
        )
        self.machine_for_revision(machine.revision_id)
        stored, created, leased = await self._starts.submit(record)
        if not created:
            # AWS: same name and same input while RUNNING -> the same execution; otherwise
            # ExecutionAlreadyExists (names stay taken while the history is kept).
            same_input = dumps(stored.input) == dumps(execution_input)
            if stored.status == "RUNNING" and same_input and stored.test_case == record.test_case:
                return stored
            raise ResourceConflict("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        if self.config.worker:
            if leased:  # ours from the insert: no claim can take it, so start it here
                self.worker.adopt_started(stored)
            else:  # not leased: a claim decides who drives it (never two starts)
                self.worker.poke(claim=True, events=False)
            if stored.arn in self.runtime.executions:
                self._remember_started(stored)
        return stored

    def _remember_started(self, record: ExecutionRecord) -> None:
        """Keep what a start recorded, so waiting for it needs no read.

        Bounded, oldest first, in O(1): it scanned every remembered start once 10,000 were
        remembered, so each start got slower as executions piled up. A wait for a start that
        was forgotten reads the store instead.
        """
        if len(self._started) >= STARTS_REMEMBERED:
            del self._started[next(iter(self._started))]
        self._started[record.arn] = record

    async def start_sync_execution(
        self, machine_arn: str, *, name: str | None = None, input_text: str | None = None
    ) -> ExecutionRecord:
        """StartSyncExecution (Express only): run to completion and return the closed record."""
        record = await self.start_execution(
            machine_arn, name=name, input_text=input_text, sync=True
        )
        return await self.wait_for(record.arn)

    async def wait_for(self, execution_arn: str, poll_seconds: float = 0.05) -> ExecutionRecord:
        """Wait until an execution closes (driven here, or by another worker)."""
        while True:
            if not self.config.worker:
                record = await self.describe_execution(execution_arn)
                if record.status != "RUNNING":
                    return record
                await asyncio.sleep(poll_seconds)
                continue
            live = self.runtime.executions.get(execution_arn)
            if live is not None:
                try:
                    finish = await self.runtime.wait(execution_arn)
                except StoreError:  # a step it could not commit: resumed later, from the store
                    await asyncio.sleep(poll_seconds)
                    continue
                started = self._started.pop(execution_arn, None)
                if started is None:
                    # the closing commit was written before the future resolved
                    return await self.describe_execution(execution_arn)
                return replace(
                    started,
                    status=finish.status,
                    stop=live.stop_time,
                    output=finish.output,
                    error=finish.error,
                    cause=finish.cause,
                )
            record = await self.describe_execution(execution_arn)
            if record.status != "RUNNING":
                return record
            self.worker.poke()
            await asyncio.sleep(poll_seconds)

    async def stop_execution(
        self, arn: str, *, error: str | None = None, cause: str | None = None
    ) -> ExecutionRecord:
        """StopExecution. When this process drives the execution, the stop is applied before
        this returns, and the record returned is the closed one: ABORTED, or how the execution
        closed if it finished first (a stop racing the last state). Otherwise the stop is queued
        durably for the worker that holds it, and the record returned is still RUNNING."""
        record = await self.describe_execution(arn)
        if record.status != "RUNNING":
            return record
        event = StopRequested(error, cause, self.clock.now())
        if not await self._post(arn, event):
            # queued for the worker that holds it (still RUNNING), or it closed meanwhile
            return await self.describe_execution(arn)
        live = self.runtime.executions.get(arn)
        if live is not None:
            await asyncio.shield(live.done)  # closed once the closing step is committed
        return await self.describe_execution(arn)

    async def redrive_execution(self, arn: str) -> ExecutionRecord:
        """RedriveExecution: restart a closed Standard execution from its failed state.

        AWS's rules: Standard only; FAILED, ABORTED or TIMED_OUT; closed less than 14 days
        ago; at most 1,000 redrives.
        """
        record = await self.describe_execution(arn)
        why = None
        if record.machine_type != "STANDARD":
            why = "Express executions cannot be redriven"
        elif record.status not in ("FAILED", "ABORTED", "TIMED_OUT"):
            why = f"the execution is {record.status}"
        elif record.stop is not None and self.clock.now() - record.stop > REDRIVE_WINDOW_SECONDS:
            why = "the execution closed more than 14 days ago"
        elif record.redrive_count >= MAX_REDRIVES:
            why = f"the execution was redriven {MAX_REDRIVES} times"
        elif record.state is None:
            why = "the execution never started"
        if why is not None:
            raise InvalidRequest(
                "ExecutionNotRedrivable", f"Execution '{arn}' cannot be redriven: {why}."
            )
        updated = replace(
            record,
            status="RUNNING",
            stop=None,
            output=None,
            error=None,
            cause=None,
            redrive_count=record.redrive_count + 1,
        )
        await self.journal.call(self.store.update_execution, updated)
        await self.journal.call(
            self.store.post_event, arn, event_to_json(Redrive(self.clock.now()))
        )
        # The closed run's record may still be in the runtime until the worker's next tick:
        # drop it now, or a wait_for right after this would return the closed run's finish.
        self.runtime.forget(arn)
        self.worker.poke()
        return updated

    async def describe_execution(self, arn: str) -> ExecutionRecord:
        check_arn(arn, "execution", "express")
        record = await self.journal.call(self.store.get_execution, arn)
        if not isinstance(record, ExecutionRecord):
            raise ResourceNotFound("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return record

    async def list_executions(
        self,
        machine_arn: str,
        *,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> tuple[list[ExecutionRecord], str | None]:
        await self.describe_state_machine(machine_arn)
        base, _ = split_qualified(machine_arn)
        return await self.journal.call(
            self.store.list_executions, base, status=status, limit=limit, after=next_token
        )

    async def get_history(
        self, arn: str, *, after_id: int = 0, limit: int = 1000, reverse: bool = False
    ) -> list[StoredEvent]:
        await self.describe_execution(arn)
        return await self.journal.call(
            self.store.get_history, arn, after_id=after_id, limit=limit, reverse=reverse
        )

    async def describe_state_machine_for_execution(self, arn: str) -> MachineRecord:
        record = await self.describe_execution(arn)
        machine = await self.describe_state_machine(record.machine_arn)
        text = self.store.get_definition(record.revision_id)
        return replace(
            machine, definition=text or machine.definition, revision_id=record.revision_id
        )

    async def _post(self, arn: str, event: Event) -> bool:
        """Queue an event for an execution durably, and hand it over at once when this process
        drives it (a StopExecution must win over a Wait that the worker would finish first).
        True when it was handed over here."""
        await self.journal.call(self.store.post_event, arn, event_to_json(event))
        if await self.worker.deliver_now(arn):
            return True
        self.worker.poke(claim=False, events=True)
        return False

    # -- task tokens ------------------------------------------------------------------------------

    async def _token_execution(self, token: str) -> str:
        """The execution a token belongs to, while the token can still be answered."""
        _check_token(token)
        found = await self.journal.call(self.store.find_token, token)
        return _open_token(found).execution_arn

    async def _answer(self, token: str, result: TaskSuccess | TaskFailure) -> None:
        """SendTaskSuccess/Failure: the token is answered once. Of two callbacks (also from
        two processes) one is accepted; the other gets TaskDoesNotExist, as on AWS."""
        _check_token(token)
        event = TaskCallback(token, result, self.clock.now())
        found = await self.journal.call(self.store.post_callback, token, event_to_json(event))
        arn = _open_token(found).execution_arn
        if not await self.worker.deliver_now(arn):
            self.worker.poke(claim=False, events=True)

    async def send_task_success(self, token: str, output_text: str) -> None:
        output = _check_json_input(output_text, "InvalidOutput", "output")  # AWS's code
        await self._answer(token, TaskSuccess(output))

    async def send_task_failure(
        self, token: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        await self._answer(token, TaskFailure(error or "", cause))

    async def send_task_heartbeat(self, token: str) -> None:
        arn = await self._token_execution(token)
        event = TaskHeartbeat(token, self.clock.now())
        await self._post(arn, event)

    # -- activities -------------------------------------------------------------------------------

    async def create_activity(
        self, name: str, tags: Mapping[str, str] | None = None
    ) -> ActivityRecord:
        check_name(name, "activity name")
        arn = self._arn("activity", name)
        existing = await self.journal.call(self.store.get_activity, arn)
        if isinstance(existing, ActivityRecord):
            return existing
        record = ActivityRecord(arn, name, self.clock.now(), dict(tags or {}))
        await self.journal.call(self.store.put_activity, record)
        return record

    async def describe_activity(self, arn: str) -> ActivityRecord:
        record = await self.journal.call(self.store.get_activity, arn)
        if not isinstance(record, ActivityRecord):
            raise ResourceNotFound("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
        return record

    async def list_activities(self) -> list[ActivityRecord]:
        records = await self.journal.call(self.store.list_activities)
        assert isinstance(records, list)
        return records

    async def delete_activity(self, arn: str) -> None:
        await self.journal.call(self.store.delete_activity, arn)

    async def get_activity_task(
        self, activity_arn: str, worker_name: str | None = None, wait_seconds: float = 60.0
    ) -> ActivityTask | None:
        """GetActivityTask: long poll up to 60 s (AWS) for a scheduled task of the activity."""
        await self.describe_activity(activity_arn)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            task = await self.journal.call(self.store.take_activity_task, activity_arn, worker_name)
            if isinstance(task, ActivityTask):
                started = ActivityStarted(task.token, worker_name, self.clock.now())
                await self._post(task.execution_arn, started)
                return task
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(0.2, remaining))

    # -- tags -------------------------------------------------------------------------------------

    async def list_tags(self, arn: str) -> dict[str, str]:
        """ListTagsForResource: the tags of a state machine or an activity."""
        record = await self._taggable(arn)
        return dict(record.tags)

    async def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource: add or overwrite tags; AWS allows 50 per resource."""
        record = await self._taggable(arn)
        merged = {**record.tags, **tags}
        if len(merged) > MAX_TAGS:
            raise InvalidRequest(
                "TooManyTags", f"Too many tags: a resource has at most {MAX_TAGS} tags"
            )
        await self._put_tags(record, merged)

    async def untag_resource(self, arn: str, keys: Sequence[str]) -> None:
        record = await self._taggable(arn)
        dropped = set(keys)
        await self._put_tags(record, {k: v for k, v in record.tags.items() if k not in dropped})

    async def _taggable(self, arn: str) -> MachineRecord | ActivityRecord:
        check_arn(arn, "stateMachine", "activity")
        found: object
        if arn.split(":")[5] == "activity":
            found = await self.journal.call(self.store.get_activity, arn)
        else:
            found = await self.journal.call(self.store.get_machine, arn)
        if not isinstance(found, MachineRecord | ActivityRecord):
            raise ResourceNotFound("ResourceNotFound", f"Resource not found: '{arn}'")
        return found

    async def _put_tags(self, record: MachineRecord | ActivityRecord, tags: dict[str, str]) -> None:
        if isinstance(record, MachineRecord):
            await self.journal.call(self.store.put_machine, replace(record, tags=tags))
        else:
            await self.journal.call(self.store.put_activity, replace(record, tags=tags))

    # -- retention --------------------------------------------------------------------------------

    async def purge_expired(self) -> int:
        """Delete executions whose history passed the retention window; frees their names."""
        cutoff = self.clock.now() - self.config.retention_seconds
        count = await self.journal.call(self.store.purge, cutoff)
        assert isinstance(count, int)
        return count


class StartBatcher:
    """Group commit for StartExecution: concurrent starts are recorded in one transaction.

    A start returns only once its execution is durably recorded (AWS returns the ARN of a
    recorded execution); what waits in the queue meanwhile joins the next transaction. While
    the worker loop runs, each new execution is leased to this worker in the same transaction,
    so the worker's own claims cannot take it too (which would start it twice); `submit` says
    whether it was.
    """

    def __init__(self, journal: Journal, store: Store, worker: Worker) -> None:
        self._journal = journal
        self._store = store
        self._worker = worker
        self._queue: list[tuple[ExecutionRecord, asyncio.Future[tuple[ExecutionRecord, bool]]]] = []
        self._leased: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, record: ExecutionRecord) -> tuple[ExecutionRecord, bool, bool]:
        """(the stored record, whether this call created it, whether it is leased to us)."""
        future: asyncio.Future[tuple[ExecutionRecord, bool]] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.append((record, future))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush())
        stored, created = await future
        leased = created and stored.arn in self._leased
        self._leased.discard(stored.arn)
        return stored, created, leased

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            records = [record for record, _ in batch]
            lease = self._worker.new_lease() if self._worker.running else None
            try:
                results = await self._journal.call(self._store.create_executions, records, lease)
            except Exception as exc:  # the store failed: every waiting start fails with it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if lease is not None and result[1]:
                    self._leased.add(result[0].arn)
                if not future.done():
                    future.set_result(result)


def _check_token(token: str) -> None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidRequest("InvalidToken", "Invalid Token: the task token is malformed")


def _open_token(found: TokenRecord | None) -> TokenRecord:
    """The token if it can still be answered; AWS's errors otherwise."""
    if found is None or found.status == "ANSWERED":
        raise ResourceNotFound(
            "TaskDoesNotExist", "Task Does Not Exist: the task token is unknown or closed"
        )
    if found.status == "TIMED_OUT":
        raise InvalidRequest("TaskTimedOut", "Task Timed Out: the task of this token timed out")
    return found


def revision_id(definition: str) -> str:
    return hashlib.sha256(definition.encode("utf-8")).hexdigest()[:32]


def split_qualified(arn: str) -> tuple[str, str | None]:
    """`...:stateMachine:name:3` -> (`...:stateMachine:name`, "3"); aliases alike."""
    head, marker, tail = arn.partition(":stateMachine:")
    if not marker:
        return arn, None
    name, _, qualifier = tail.partition(":")
    return f"{head}{marker}{name}", qualifier or None


def check_arn(arn: str, *kinds: str) -> None:
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "states" or parts[5] not in kinds:
        raise InvalidRequest("InvalidArn", f"Invalid Arn: '{arn}'")


def definition_diagnostics(definition: JSON, machine_type: str) -> list[Diagnostic]:
    return list(iter_diagnostics(definition, machine_type=machine_type))


__all__ = ["EngineError", "Service", "ServiceConfig"]
