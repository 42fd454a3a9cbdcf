"""A Distributed Map's result, gathered from its child executions when it ends.

Owns: `MapResultsBackend`, which serves the Map's `MAP_RESULTS_TASK` request (engine/interpreter/
states.py `_gather_results`): the outputs of the Map Run's children that succeeded, read from
the store in one query and put in item order. Must never: start, stop or change an execution.

Why: a Map whose items run as child executions keeps no outputs in its own state (a step's
snapshot would grow with every child done, and a Map of N items cost O(N^2) to commit); the
outputs are the children's, stored with them, so the Map reads them once, at its end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from engine.errors import STATES_RUNTIME
from engine.interpreter.states import map_child_name
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.values import JSON

if TYPE_CHECKING:
    from engine.runtime.journal import Journal


class MapResultsBackend:
    """Reads a Map Run's succeeded children's outputs through the service's journal."""

    def __init__(self, journal: Journal, outputs: Callable[[str], dict[str, JSON]]) -> None:
        self._journal = journal
        self._outputs = outputs  # Store.map_run_outputs

    async def invoke(self, request: TaskRequest) -> TaskResult:
        payload = request.payload
        assert isinstance(payload, dict), "states.py `_gather_results` builds the request"
        map_run_arn = str(payload["MapRunArn"])
        outputs = await self._journal.call(self._outputs, map_run_arn)
        return in_item_order(map_run_arn, payload, outputs)


def in_item_order(
    map_run_arn: str, payload: Mapping[str, JSON], outputs: dict[str, JSON]
) -> TaskResult:
    """The outputs by item index, leaving out `Skip` (the failed items, whose error outputs the
    Map has). An item's child keeps its name through redrives (states.py `child_name`)."""
    count, skip = payload["Count"], payload["Skip"]
    assert isinstance(count, int)
    assert isinstance(skip, list)
    skipped = set(skip)
    gathered: list[JSON] = []
    for index in range(count):
        if index in skipped:
            continue
        name = map_child_name(map_run_arn, index)
        if name not in outputs:
            return TaskFailure(
                STATES_RUNTIME,
                f"The output of item {index} of the Map Run '{map_run_arn}' is gone: its "
                "child execution is no longer stored.",
            )
        gathered.append(outputs[name])
    return TaskSuccess(gathered)
