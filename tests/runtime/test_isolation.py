"""One execution's engine fault is that execution's alone (issue 13).

A RecursionError (or any bug) while the runtime carries out one execution's committed step
used to escape the group-commit flusher: the commands of every later execution in the same
batch were never carried out, and those executions hung. The runtime here is journalled to a
real MemoryStore; the fault comes from a backend resolver that raises for one resource (a
registry bug), the seam tests swap instead of patching.
"""

from __future__ import annotations

import asyncio

from engine.errors import STATES_RUNTIME
from engine.interpreter.messages import Finish
from engine.interpreter.tasks import TaskRequest, TaskResult, TaskSuccess
from engine.runtime.clock import VirtualClock
from engine.runtime.journal import Journal
from engine.runtime.loop import Runtime
from engine.store.base import ExecutionRecord
from engine.store.memory import MemoryStore
from engine.values import JSON
from tests.interpreter.helpers import LAMBDA_ARN, T0, compile_definition, make_info

BOUND_SECONDS = 5.0
BAD, GOOD = LAMBDA_ARN + "bad", LAMBDA_ARN + "good"


class Echo:
    async def invoke(self, request: TaskRequest) -> TaskResult:
        return TaskSuccess(request.payload)


def resolve(resource: str) -> Echo:
    if resource == BAD:
        raise RecursionError("maximum recursion depth exceeded")
    return Echo()


def task(resource: str) -> dict[str, JSON]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}


def test_a_recursion_error_carrying_out_one_execution_leaves_the_others_running() -> None:
    async def main() -> tuple[Finish, Finish, list[str]]:
        store = MemoryStore()
        journal = Journal(store)
        runtime = Runtime(resolve, clock=VirtualClock(T0), journal=journal)
        infos = [make_info({"n": 1}, name="bad"), make_info({"n": 2}, name="good")]
        store.create_executions(
            [
                ExecutionRecord(
                    arn=info.execution_arn,
                    machine_arn=info.state_machine_arn,
                    revision_id="r",
                    name=info.name,
                    machine_type="STANDARD",
                    input=info.input,
                    status="RUNNING",
                    start=T0,
                )
                for info in infos
            ]
        )
        # both first steps are committed in one batch, the bad one first
        runtime.start(compile_definition(task(BAD)), infos[0], durable=True)
        runtime.start(compile_definition(task(GOOD)), infos[1], durable=True)
        try:
            bad, good = await asyncio.wait_for(
                asyncio.gather(
                    runtime.wait(infos[0].execution_arn), runtime.wait(infos[1].execution_arn)
                ),
                BOUND_SECONDS,
            )
            history = [e.type for e in store.get_history(infos[0].execution_arn)]
        finally:
            await runtime.aclose()
            journal.close()
        assert runtime.error is None
        return bad, good, history

    bad, good, history = asyncio.run(main())
    assert good == Finish("SUCCEEDED", output={"n": 2})
    assert bad == Finish(
        "FAILED",
        error=STATES_RUNTIME,
        cause="An internal error occurred in asl-engine while applying a Start event: "
        "RecursionError: maximum recursion depth exceeded. This is a bug in the engine, not "
        "in the state machine; please report it with the definition and the input.",
    )
    assert history == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "ExecutionFailed",
    ]
