"""Executions: StartExecution (and its idempotency), waiting, StopExecution, RedriveExecution,
describing and listing them and their histories.

Owns: AWS's rules for starting (names, inputs, versions and aliases, `#TestCase` suffixes,
Standard idempotency) and stopping executions, and handing events to the worker that drives an
execution. Must never: decide ASL semantics (the interpreter does).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

from engine.backends.mocked import check_test_case
from engine.backends.nested import ChildStart
from engine.errors import InvalidRequest, ResourceConflict, ResourceNotFound
from engine.interpreter.messages import Event, Redrive, StopRequested
from engine.names import check_name
from engine.service.checks import check_arn, check_json_input, split_qualified
from engine.service.config import MAX_REDRIVES, REDRIVE_WINDOW_SECONDS, STARTS_REMEMBERED
from engine.service.machines import MachineOperations
from engine.store.base import (
    PENDING_REDRIVE,
    ExecutionRecord,
    MachineRecord,
    StoredEvent,
    StoreError,
)
from engine.store.codec import event_to_json
from engine.values import dumps

PENDING_REDRIVE_NEEDS_MAP_RUN = (
    "The status filter PENDING_REDRIVE lists a Map Run's child executions waiting to be "
    "redriven: specify mapRunArn, not stateMachineArn"
)
"""ListExecutions with PENDING_REDRIVE and no Map Run (AWS: "If you provide a stateMachineArn
and a PENDING_REDRIVE statusFilter, the API returns a validation exception"; its message is not
recorded, so this one is ours)."""

REDRIVE_FILTERS = ("REDRIVEN", "NOT_REDRIVEN")


def redriven_filter(redrive_filter: str | None) -> bool | None:
    """ListExecutions' redriveFilter as the store's `redriven`: REDRIVEN, the executions
    redriven at least once; NOT_REDRIVEN, the others; None, all."""
    if redrive_filter is None:
        return None
    if redrive_filter not in REDRIVE_FILTERS:
        raise InvalidRequest(
            "ValidationException",
            f"1 validation error detected: Value '{redrive_filter[:100]}' at 'redriveFilter' "
            f"failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(REDRIVE_FILTERS)}]",
        )
    return redrive_filter == "REDRIVEN"


class ExecutionOperations(MachineOperations):
    """StartExecution and the operations on executions."""

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
            # Weighted routing: deterministic per call is not required by AWS; draw by weight,
            # from the OS (the module's shared generator is the user's: a caller seeding it, or
            # Hypothesis checking that nobody draws from it, must not see the engine's draws).
            import random

            pick = random.SystemRandom().uniform(0, 100)
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
        parent: ChildStart | None = None,
    ) -> ExecutionRecord:
        """StartExecution with AWS's idempotency rule for Standard (see DESIGN.md).

        `<machine ARN>#<test case>` runs the execution with that test case of the mock config
        (Step Functions Local's convention); the execution's ARN and its stateMachineArn are
        those of the machine, without the suffix. `parent` is set for a child started by a
        parent's `states:startExecution` Task (nested.py).
        """
        target, hashed, test_case = machine_arn.partition("#")
        machine, version_arn, alias_arn = await self._resolve_target(target)
        if hashed:
            check_test_case(self.mocks.config, machine.name, test_case, machine_arn)
        execution_input = check_json_input(input_text)
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
            parent_arn=parent.parent_arn if parent else None,
            parent_token=parent.token if parent else None,
            parent_pattern=parent.pattern if parent else None,
        )
        await self.load_revision(machine.revision_id)  # compiled once, off the event loop
        self.check_accepting()  # before writing: nothing here would drive it
        stored, created, leased = await self._starts.submit(record)
        if not created:
            # AWS: same name and same input while RUNNING -> the same execution; otherwise
            # ExecutionAlreadyExists (names stay taken while the history is kept).
            same_input = dumps(stored.input) == dumps(execution_input)
            if stored.status == "RUNNING" and same_input and stored.test_case == record.test_case:
                return stored
            raise ResourceConflict("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        if parent is not None and self.worker.only is not None:
            # `asl start` drives only its execution: the children it starts are part of it
            self.worker.only.add(stored.arn)
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
        """Wait until an execution closes (driven here, or by another worker); its closed
        record without the interpreter snapshot (`state` None), whichever way the close is
        learnt: from the runtime's future with the record the start kept, or read back from
        the store (the runtime already let go of it, another waiter took the kept record, or
        another worker drove it). Which way depends on timing, so the value must not."""
        while True:
            if not self.config.worker:
                record = await self.describe_execution(execution_arn)
                if record.status != "RUNNING":
                    return replace(record, state=None)
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
                    return replace(await self.describe_execution(execution_arn), state=None)
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
                return replace(record, state=None)
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
        elif (past := self._past_redrives(record)) is not None:
            why = past
        elif record.state is None:
            why = "the execution never started"
        if why is not None:
            raise InvalidRequest(
                "ExecutionNotRedrivable", f"Execution '{arn}' cannot be redriven: {why}."
            )
        return await self._redrive(record)

    def _past_redrives(self, record: ExecutionRecord) -> str | None:
        """Why a closed Standard execution can no longer be redriven (AWS: closed more than
        14 days ago, or redriven 1,000 times), or None."""
        if record.stop is not None and self.clock.now() - record.stop > REDRIVE_WINDOW_SECONDS:
            return "the execution closed more than 14 days ago"
        if record.redrive_count >= MAX_REDRIVES:
            return f"the execution was redriven {MAX_REDRIVES} times"
        return None

    async def _redrive(
        self, record: ExecutionRecord, parent_token: str | None = None
    ) -> ExecutionRecord:
        """Run a closed execution again from its failed state: RUNNING, one more redrive, and
        ExecutionRedriven (its Redrive event). `parent_token`: a Map Run's child answers the
        parent's new Task for its item when it closes again (map_runs.py)."""
        now = self.clock.now()
        updated = replace(
            record,
            status="RUNNING",
            stop=None,
            output=None,
            error=None,
            cause=None,
            redrive_count=record.redrive_count + 1,
            parent_token=record.parent_token if parent_token is None else parent_token,
        )
        # changed_at: the redrive is a status change, announced with it (status events)
        await self.journal.call(self.store.update_execution, updated, changed_at=now)
        await self.journal.call(
            self.store.post_event, record.arn, event_to_json(Redrive(now, parent_token))
        )
        # The closed run's record may still be in the runtime until the worker's next tick:
        # drop it now, or a wait_for right after this would return the closed run's finish.
        self.runtime.forget(record.arn)
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
        name: str | None = None,
        redrive_filter: str | None = None,
    ) -> tuple[list[ExecutionRecord], str | None]:
        """ListExecutions, newest first; `name` keeps the executions whose name contains it
        (ignoring case), a search AWS's API does not have, for the console. `redrive_filter`:
        REDRIVEN or NOT_REDRIVEN (AWS's redriveFilter). PENDING_REDRIVE is a Map Run child's
        status only: AWS refuses it with a state machine ARN (ListExecutions, statusFilter)."""
        if status == PENDING_REDRIVE:
            raise InvalidRequest("ValidationException", PENDING_REDRIVE_NEEDS_MAP_RUN)
        await self.describe_state_machine(machine_arn)
        base, _ = split_qualified(machine_arn)
        return await self.journal.call(
            self.store.list_executions,
            base,
            status=status,
            limit=limit,
            after=next_token,
            name=name,
            redriven=redriven_filter(redrive_filter),
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
        text = await self.journal.call(self.definition_text, record.revision_id)
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
