"""Nested executions: the children a parent's `states:startExecution` Task starts.

Owns: the service's `ChildExecutions` (engine/backends/nested.py), through which the
`states:startExecution` backend starts a child as StartExecution does (the same checks,
idempotency by name, versions and aliases), recording its parent link (parent ARN, the token of
the parent's `.sync` Task and the pattern) with the execution. Must never: answer the parent
itself: the commit that closes the child does, in the same transaction (engine/runtime/journal.py,
`ParentCallback`), so a crash between the two cannot lose the answer.
"""

from __future__ import annotations

from engine.backends.nested import (
    START_EXECUTION_PATTERN,
    ChildStart,
    StartExecutionBackend,
    start_failure,
)
from engine.errors import EngineError
from engine.interpreter.nested import answered_by, start_response
from engine.interpreter.tasks import TaskResult, TaskSuccess
from engine.service.executions import ExecutionOperations


class NestedOperations(ExecutionOperations):
    """Starting child executions for `states:startExecution` Tasks."""

    def _register_integrations(self) -> None:
        registry = self._backends.registry
        if START_EXECUTION_PATTERN not in registry.resources:  # an operator's mapping wins
            registry.register(START_EXECUTION_PATTERN, StartExecutionBackend(self))
        # A child's close or a parent's stop queued an event in the store: deliver it now.
        self.runtime.on_posted = self._deliver_posted

    def _deliver_posted(self) -> None:
        self.worker.poke(claim=False, events=True)

    async def start_child(self, start: ChildStart) -> TaskResult:
        """`ChildExecutions`: StartExecution for a parent's Task; a refusal is the Task's
        `StepFunctions.<Code>Exception`."""
        try:
            record = await self.start_execution(
                start.machine_arn,
                name=start.name,
                input_text=start.input_text,
                trace_header=start.trace_header,
                parent=start,
            )
        except EngineError as exc:
            return start_failure(exc.code, exc.message)
        # Not final for .sync, .sync:2 and .waitForTaskToken: the Task waits for its token.
        response = start_response(record.arn, record.start)
        answering = answered_by(
            start,
            parent_arn=record.parent_arn,
            token=record.parent_token,
            pattern=record.parent_pattern,
        )
        return TaskSuccess(response, token=answering)
