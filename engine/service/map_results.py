"""A Distributed Map's result, gathered from its child executions when it ends.

Owns: `MapResultsBackend`, which serves the Map's `MAP_RESULTS_TASK` request (engine/interpreter/
states.py `_gather_results`): the outputs of the Map Run's children that succeeded, read from
the store in one query and put in item order. Must never: start, stop or change an execution.

Why: a Map whose items run as child executions keeps no outputs in its own state (a step's
snapshot would grow with every child done, and a Map of N items cost O(N^2) to commit); the
outputs are the children's, stored with them, so the Map reads them once, at its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Final, Protocol

from engine.errors import STATES_RUNTIME
from engine.interpreter.failures import Failure
from engine.interpreter.map_io import result_entry
from engine.interpreter.nested import child_failure
from engine.interpreter.states import map_child_name
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.store.base import ExecutionRecord
from engine.values import JSON

if TYPE_CHECKING:
    from collections.abc import Iterable

    from engine.runtime.journal import Journal

PAGE: Final = 500
"""Children read from the store at once while a ResultWriter writes (one query a page)."""

_CLOSED: Final = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})

ChildArn = Callable[[str, str, bool], str]
"""(map run ARN, child name, express) -> the child execution's ARN (map_runs.py)."""

ReadChildren = Callable[[str, Sequence[str]], dict[str, ExecutionRecord]]
"""Store.map_run_children."""


Failures = Callable[[str], dict[str, tuple[str, str | None, str | None]]]
"""Store.map_run_failures: (status, error, cause) of the unsuccessful children, by name."""


class MapResultsBackend:
    """Reads a Map Run's children's outputs (and the error outputs of those whose failures it
    tolerated) through the service's journal."""

    def __init__(
        self, journal: Journal, outputs: Callable[[str], dict[str, JSON]], failures: Failures
    ) -> None:
        self._journal = journal
        self._outputs = outputs  # Store.map_run_outputs
        self._failures = failures

    async def invoke(self, request: TaskRequest) -> TaskResult:
        payload = request.payload
        assert isinstance(payload, dict), "states.py `_gather_results` builds the request"
        map_run_arn = str(payload["MapRunArn"])
        outputs = await self._journal.call(self._outputs, map_run_arn)
        count, skip = payload["Count"], payload["Skip"]
        assert isinstance(count, int)
        assert isinstance(skip, list)
        failures: dict[str, tuple[str, str | None, str | None]] = {}
        if len(outputs) < count - len(skip):  # some failed: a second read, only then
            failures = await self._journal.call(self._failures, map_run_arn)
        return in_item_order(map_run_arn, payload, outputs, failures)


def in_item_order(
    map_run_arn: str,
    payload: Mapping[str, JSON],
    outputs: dict[str, JSON],
    failures: Mapping[str, tuple[str, str | None, str | None]] | None = None,
) -> TaskResult:
    """The outputs by item index, leaving out `Skip` (the failed items whose error outputs the
    Map has); a child that closed unsuccessfully gives its error output, `{"Error", "Cause"}`
    as its item's Task got them (engine/interpreter/nested.py `child_outcome`). An item's
    child keeps its name through redrives (states.py `child_name`)."""
    count, skip = payload["Count"], payload["Skip"]
    assert isinstance(count, int)
    assert isinstance(skip, list)
    skipped = set(skip)
    failed = failures or {}
    gathered: list[JSON] = []
    for index in range(count):
        if index in skipped:
            continue
        name = map_child_name(map_run_arn, index)
        if name in outputs:
            gathered.append(outputs[name])
        elif name in failed:
            gathered.append(error_output(*failed[name]))
        else:
            return TaskFailure(
                STATES_RUNTIME,
                f"The output of item {index} of the Map Run '{map_run_arn}' is gone: its "
                "child execution is no longer stored.",
            )
    return TaskSuccess(gathered)


def error_output(status: str, error: str | None, cause: str | None) -> JSON:
    """A failed item's error output, from its child execution's close (its Task's failure)."""
    outcome = child_failure(status, error, cause)
    return dict(Failure(outcome.error, outcome.cause).as_error_output())


class RecordsWriter(Protocol):
    """What writes a ResultWriter's files from records read apart (config.py DeferredMapIo)."""

    async def invoke(self, request: TaskRequest) -> TaskResult: ...

    async def write_records(
        self, request: TaskRequest, records: Iterable[Mapping[str, JSON]]
    ) -> TaskResult: ...


class ChildGone(Exception):
    """An item's child execution is not in the store (purged) nor known to the parent."""


class MapResultWriter:
    """Serves RESULT_WRITER_TASK under a store: a request naming the Map Run's children gets
    their records from the store; any other goes to `writer` as it is."""

    def __init__(
        self,
        journal: Journal,
        children: ReadChildren,
        child_arn: ChildArn,
        writer: RecordsWriter,
    ) -> None:
        self._journal = journal
        self._children = children  # Store.map_run_children
        self._child_arn = child_arn
        self._writer = writer

    async def invoke(self, request: TaskRequest) -> TaskResult:
        payload = request.payload
        if not isinstance(payload, dict) or not isinstance(payload.get("Children"), dict):
            return await self._writer.invoke(request)
        loop = asyncio.get_running_loop()

        def read_page(map_run_arn: str, arns: Sequence[str]) -> dict[str, ExecutionRecord]:
            # on the writer's thread: the store is read on the journal's, in order with the
            # commits queued before (the children's closing ones among them)
            call = self._journal.call(self._children, map_run_arn, arns)
            return asyncio.run_coroutine_threadsafe(call, loop).result()

        records = child_records(payload, read_page, self._child_arn)
        if payload.get("Resource") is not None:
            return await self._writer.write_records(request, _guarded(records))
        try:
            return await asyncio.to_thread(_shaped, payload, records)
        except ChildGone as exc:
            return TaskFailure(STATES_RUNTIME, str(exc))


def _shaped(payload: Mapping[str, JSON], records: Iterator[dict[str, JSON]]) -> TaskResult:
    """A ResultWriter with only a WriterConfig: the records shaped as the Map's result."""
    from engine.definition.distributed import transform_results

    config = payload.get("WriterConfig")
    transformation = config.get("Transformation", "COMPACT") if isinstance(config, dict) else None
    return TaskSuccess(transform_results(list(records), str(transformation or "COMPACT")))


def _guarded(records: Iterator[dict[str, JSON]]) -> Iterator[dict[str, JSON]]:
    """`records`, a child gone failing the write (States.ResultWriterFailed) with its cause."""
    from engine.backends.result_writer import ResultWriterError

    try:
        yield from records
    except ChildGone as exc:
        raise ResultWriterError(str(exc)) from None


def child_records(
    payload: Mapping[str, JSON],
    read_page: Callable[[str, Sequence[str]], dict[str, ExecutionRecord]],
    child_arn: ChildArn,
) -> Iterator[dict[str, JSON]]:
    """Every item's record in item order (engine/interpreter/map_io.py `result_entry`): the
    parent's own for the items never started (`Pending`); else the child execution's, read
    from the store `PAGE` children at a time, once closed; else the parent's (`Here`: a child
    the Map aborted, still running in the store). Raises ChildGone for a child in neither."""
    from engine.service.map_runs import map_run_machine_arn

    map_run_arn = str(payload["MapRunArn"])
    children = payload["Children"]
    assert isinstance(children, dict), "states.py `_children_request` builds it"
    count, pending, here = children["Count"], children["Pending"], children["Here"]
    assert isinstance(count, int)
    assert isinstance(pending, dict)
    assert isinstance(here, dict)
    express = children.get("ExecutionType") == "EXPRESS"
    machine_arn = map_run_machine_arn(map_run_arn)
    # the ARN the parent names its children by (states.py `_result_entry`): for EXPRESS
    # without the execution's own suffix, as before the children were read from the store
    kind = "express" if express else "execution"
    machine_part = machine_arn.split(":stateMachine:", 1)[1]
    prefix = f"{map_run_arn.split(':mapRun:', 1)[0]}:{kind}:{machine_part}:"
    for begin in range(0, count, PAGE):
        indices = range(begin, min(count, begin + PAGE))
        names = {i: map_child_name(map_run_arn, i) for i in indices if str(i) not in pending}
        arns = {i: child_arn(map_run_arn, name, express) for i, name in names.items()}
        records = read_page(map_run_arn, list(arns.values())) if arns else {}
        for index in indices:
            key = str(index)
            entry = pending.get(key)
            if entry is None:
                record = records.get(arns[index])
                if record is not None and record.status in _CLOSED:
                    entry = result_entry(
                        execution_arn=prefix + names[index],
                        state_machine_arn=machine_arn,
                        name=names[index],
                        status=record.status,
                        child_input=record.input,
                        output=record.output,
                        error=record.error,
                        cause=record.cause,
                        start=record.start,
                        stop=record.stop,
                        redrive_count=record.redrive_count,
                    )
                else:
                    entry = here.get(key)
            if not isinstance(entry, dict):
                raise ChildGone(
                    f"The record of item {index} of the Map Run '{map_run_arn}' is gone: its "
                    "child execution is no longer stored."
                )
            yield entry
