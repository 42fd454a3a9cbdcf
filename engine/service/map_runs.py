"""Map Runs: a Distributed Map's child executions, DescribeMapRun, ListMapRuns, UpdateMapRun.

Owns: starting a Distributed Map item as a child execution of this engine (for the Map's
one-Task item graph, engine/definition/compile.py `_child_graph`): AWS's ARNs
(`execution:MACHINE/LABEL:NAME`), the child's derived revision (its ItemProcessor,
`PARENT#POINTER`), the parent link through which its close answers its item in the closing
commit (engine/runtime/journal.py), and its Map Run; the Map Run operations, their checks and
counts (the child executions by status). Must never: decide when children start or what a
failure means for the Map (the interpreter does: concurrency, tolerance, redrive), or answer
the parent itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Final

from engine.backends.nested import ChildStart
from engine.definition.distributed import MAP_RESULTS_TASK, RESULT_WRITER_TASK
from engine.errors import STATES_RUNTIME, InvalidRequest, ResourceNotFound
from engine.interpreter.messages import MapRunUpdate
from engine.interpreter.nested import MAP_RUN, start_response
from engine.interpreter.tasks import TaskFailure, TaskResult, TaskSuccess
from engine.service.base import child_revision
from engine.service.checks import check_arn, check_json_input
from engine.service.config import MAX_REDRIVES, REDRIVE_WINDOW_SECONDS
from engine.service.executions import redriven_filter
from engine.service.map_results import MapResultsBackend, MapResultWriter
from engine.service.nested import NestedOperations
from engine.store.base import (
    PENDING_REDRIVE,
    ExecutionRecord,
    MachineRecord,
    MapRunRecord,
    MapRunTally,
    is_pending_redrive,
)

_PARENTS_REMEMBERED: Final = 1024
"""Parent executions whose revision is kept, so a child's start reads no parent record."""

_ITEM_WINDOW: Final = 256
"""Items of a Map Run read at once for its children's starts: children start in item order,
and one store read each cost ~150 us on SQLite (a third more CPU per child at 20,000)."""

_ITEM_WINDOWS_REMEMBERED: Final = 64
"""Map Runs whose current window of items is kept."""

COUNTED_STATUSES: Final = {
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "TIMED_OUT": "timedOut",
    "ABORTED": "aborted",
}
UNSUCCESSFUL: Final = frozenset({"FAILED", "ABORTED", "TIMED_OUT"})


@dataclass(frozen=True, slots=True)
class MapRunView:
    """A Map Run as DescribeMapRun reports it: the record and its child executions, grouped
    (`MapRunTally`)."""

    record: MapRunRecord
    tallies: tuple[MapRunTally, ...]

    @property
    def counts(self) -> dict[str, int]:
        """Child executions by status."""
        out: dict[str, int] = {}
        for tally in self.tallies:
            out[tally.status] = out.get(tally.status, 0) + tally.executions
        return out

    @property
    def machine_arn(self) -> str:
        """The child executions' state machine: `stateMachine:MACHINE/LABEL`."""
        return map_run_machine_arn(self.record.arn)


def _express_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"express#{name}"))


def map_run_machine_arn(map_run_arn: str) -> str:
    """`mapRun:MACHINE/LABEL:UUID` -> `stateMachine:MACHINE/LABEL`."""
    return map_run_arn.replace(":mapRun:", ":stateMachine:", 1).rsplit(":", 1)[0]


class MapRunOperations(NestedOperations):
    """Child executions of Distributed Maps and the Map Run operations."""

    def _register_integrations(self) -> None:
        super()._register_integrations()
        # A Map's result, gathered from its children when it ends (a resource no definition
        # can name): the store is the service's.
        store = self.store
        gather = MapResultsBackend(self.journal, store.map_run_outputs, store.map_run_failures)
        self._backends.registry.register(MAP_RESULTS_TASK, gather)
        # A ResultWriter's records: the children's, read from the store as the files are
        # written (S3 through the config's map I/O backend).
        if self._backends.map_io is not None:
            map_io = self._backends.map_io
            children = self.store.map_run_children
            writer = MapResultWriter(self.journal, children, self._map_child_arn, map_io)
            self._backends.registry.replace(RESULT_WRITER_TASK, writer)

    def _map_child_arn(self, map_run_arn: str, name: str, express: bool) -> str:
        """The ARN of the Map Run's child execution named `name` (as `_start_map_child`)."""
        machine_name = map_run_machine_arn(map_run_arn).split(":stateMachine:", 1)[1]
        if express:
            return self._arn("express", machine_name, name, _express_id(name))
        return self._arn("execution", machine_name, name)

    async def start_child(self, start: ChildStart) -> TaskResult:
        if start.map_run_arn is None:
            return await super().start_child(start)
        return await self._start_map_child(start)

    async def _parent_revision(self, parent_arn: str) -> str:
        cache = self._map_parents
        revision = cache.get(parent_arn)
        if revision is None:
            revision = (await self.describe_execution(parent_arn)).revision_id
            if len(cache) >= _PARENTS_REMEMBERED:
                del cache[next(iter(cache))]
            cache[parent_arn] = revision
        return revision

    async def _map_item(self, start: ChildStart) -> str | None:
        """The child's input from its Map Run's items in the store, read a window at a time.
        A run's items change only when a redrive writes them again, so a window is kept under
        the run's redrive count and never goes stale."""
        assert start.map_run_arn is not None
        key, index = (start.map_run_arn, start.items_version), start.item_index
        window = self._map_items.get(key)
        if window is None or not window[0] <= index < window[0] + len(window[1]):
            texts = await self.journal.call(
                self.store.map_run_items, start.map_run_arn, index, index + _ITEM_WINDOW
            )
            if not texts:
                return None
            self._map_items.pop(key, None)
            if len(self._map_items) >= _ITEM_WINDOWS_REMEMBERED:
                del self._map_items[next(iter(self._map_items))]
            window = self._map_items[key] = (index, texts)
        return window[1][index - window[0]]

    async def _start_map_child(self, start: ChildStart) -> TaskResult:
        """One item of a Map Run as a child execution; the item's Task waits for its close."""
        assert start.map_run_arn is not None
        assert start.processor_key is not None
        assert start.name is not None
        revision = child_revision(
            await self._parent_revision(start.parent_arn), start.processor_key
        )
        machine_name = start.machine_arn.split(":stateMachine:", 1)[1]
        express = start.execution_type == "EXPRESS"
        if express:
            # the UUID drawn from the child's name: the Map Run's redrive finds it again
            arn = self._arn("express", machine_name, start.name, _express_id(start.name))
        else:
            arn = self._arn("execution", machine_name, start.name)
        input_text = start.input_text
        if input_text is None:  # the item is in the store, written when the Map Run started
            input_text = await self._map_item(start)
            if input_text is None:
                return TaskFailure(
                    STATES_RUNTIME,
                    f"Item {start.item_index} of Map Run {start.map_run_arn} is not stored.",
                )
        record = ExecutionRecord(
            arn=arn,
            machine_arn=start.machine_arn,
            revision_id=revision,
            name=start.name,
            machine_type="EXPRESS" if express else "STANDARD",
            input=check_json_input(input_text),
            status="RUNNING",
            start=self.clock.now(),
            parent_arn=start.parent_arn,
            parent_token=start.token,
            parent_pattern=MAP_RUN,
            map_run_arn=start.map_run_arn,
            item_count=start.item_count,
            trace_header=start.trace_header,
        )
        await self.load_revision(revision)
        self.check_accepting()
        stored, created, leased = await self._starts.submit(record)
        if created:
            if self.worker.only is not None:
                self.worker.only.add(stored.arn)  # `asl start` drives its children too
            if self.config.worker:
                if leased:
                    self.worker.adopt_started(stored)
                else:
                    self.worker.poke(claim=True, events=False)
        if not created and stored.parent_token != start.token:
            if stored.status in UNSUCCESSFUL:
                return await self._redrive_map_child(stored, start)
            if stored.status == "SUCCEEDED":
                # A redrive asks every item's child again (the Map kept none: states.py
                # `_fold_child`): one that succeeded is not run again, its output is the item's.
                return TaskSuccess(stored.output, final=True)
        # Found (a start retried after a lost worker): the child answers the token it has.
        answering = stored.parent_token if stored.parent_token != start.token else None
        return TaskSuccess(start_response(stored.arn, stored.start), token=answering)

    async def _redrive_map_child(self, child: ExecutionRecord, start: ChildStart) -> TaskResult:
        """The parent's redrive reached an item whose child execution failed, was aborted or
        timed out: AWS redrives that child itself (same ARN; its history goes on with
        ExecutionRedriven, from its failed state), and it answers the parent's new Task. One
        that can no longer be redriven (closed past the redrivable period, or redriven the
        most times) is not run again: its failure is the item's again (AWS, "Redriving Map
        Runs": child workflow execution redrive behavior)."""
        if child.machine_type == "EXPRESS":
            return await self._restart_express_child(child, start)
        if self._past_redrives(child) is not None:
            return TaskFailure(child.error or "States.TaskFailed", child.cause)
        if self.worker.only is not None:
            self.worker.only.add(child.arn)  # `asl start` drives its children too
        await self._redrive(child, parent_token=start.token)
        return TaskSuccess(start_response(child.arn, child.start))

    async def _restart_express_child(self, child: ExecutionRecord, start: ChildStart) -> TaskResult:
        """An Express child cannot be redriven: AWS starts it again (StartExecution) from the
        ItemProcessor's first state, under the same ARN, with no trace of the earlier run
        ("you can't distinctly identify their individual redrives"): its history is replaced."""
        now = self.clock.now()
        updated = replace(
            child,
            status="RUNNING",
            start=now,
            stop=None,
            output=None,
            error=None,
            cause=None,
            state=None,
            parent_token=start.token,
        )
        await self.journal.call(self.store.update_execution, updated, changed_at=now, restart=True)
        self.runtime.forget(child.arn)
        if self.worker.only is not None:
            self.worker.only.add(child.arn)
        self.worker.poke(claim=True, events=False)
        return TaskSuccess(start_response(child.arn, now))

    async def describe_state_machine_for_execution(self, arn: str) -> MachineRecord:
        record = await self.describe_execution(arn)
        if record.map_run_arn is None:
            return await super().describe_state_machine_for_execution(arn)
        # A child of a Map Run runs its Map's ItemProcessor, as the machine MACHINE/LABEL.
        parent = await self.describe_execution(record.parent_arn or "")
        machine = await self.describe_state_machine(parent.machine_arn)
        text = await self.journal.call(self.definition_text, record.revision_id)
        return replace(
            machine,
            arn=record.machine_arn,
            name=record.machine_arn.split(":stateMachine:", 1)[1],
            machine_type=record.machine_type,
            definition=text or "",
            revision_id=record.revision_id,
        )

    # -- the Map Run operations ------------------------------------------------------------------

    async def describe_map_run(self, arn: str) -> MapRunView:
        """DescribeMapRun."""
        check_arn(arn, "mapRun")
        record = await self.journal.call(self.store.get_map_run, arn)
        if not isinstance(record, MapRunRecord):
            raise ResourceNotFound("ResourceNotFound", f"Resource not found: '{arn}'")
        tallies = await self.journal.call(
            self.store.map_run_tallies,
            arn,
            record.redrive_date,
            self.clock.now() - REDRIVE_WINDOW_SECONDS,
            MAX_REDRIVES,
        )
        assert isinstance(tallies, list)
        return MapRunView(record, tuple(tallies))

    async def list_map_runs(
        self, execution_arn: str, *, limit: int = 100, offset: int = 0
    ) -> tuple[list[MapRunRecord], int | None]:
        """ListMapRuns: the Map Runs of an execution, newest first, from `offset`; the offset
        of the next page, or None."""
        await self.describe_execution(execution_arn)
        runs = await self.journal.call(self.store.list_map_runs, execution_arn)
        assert isinstance(runs, list)
        page = runs[offset : offset + limit]
        return page, offset + limit if len(runs) > offset + limit else None

    async def update_map_run(
        self,
        arn: str,
        *,
        max_concurrency: int | None = None,
        tolerated_failure_count: int | None = None,
        tolerated_failure_percentage: float | None = None,
    ) -> MapRunRecord:
        """UpdateMapRun: applied to the running Map at once (more children start, or fewer)."""
        view = await self.describe_map_run(arn)
        if (
            max_concurrency is None
            and tolerated_failure_count is None
            and tolerated_failure_percentage is None
        ):
            raise InvalidRequest(
                "ValidationException",
                "At least one of maxConcurrency, toleratedFailureCount or "
                "toleratedFailurePercentage must be given",
            )
        if max_concurrency is not None and max_concurrency < 0:
            raise InvalidRequest(
                "ValidationException",
                f"1 validation error detected: Value '{max_concurrency}' at 'maxConcurrency' "
                "failed to satisfy constraint: Member must have value greater than or equal to 0",
            )
        if tolerated_failure_count is not None and tolerated_failure_count < 0:
            raise InvalidRequest(
                "ValidationException",
                f"1 validation error detected: Value '{tolerated_failure_count}' at "
                "'toleratedFailureCount' failed to satisfy constraint: Member must have value "
                "greater than or equal to 0",
            )
        if (
            tolerated_failure_percentage is not None
            and not 0 <= tolerated_failure_percentage <= 100
        ):
            raise InvalidRequest(
                "ValidationException",
                f"1 validation error detected: Value '{tolerated_failure_percentage:g}' at "
                "'toleratedFailurePercentage' failed to satisfy constraint: Member must have "
                "value between 0 and 100",
            )
        if view.record.status != "RUNNING":
            raise InvalidRequest(
                "ValidationException", f"Map Run '{arn}' is {view.record.status}, not RUNNING"
            )
        updated = replace(
            view.record,
            max_concurrency=(
                view.record.max_concurrency if max_concurrency is None else max_concurrency
            ),
            tolerated_failure_count=(
                view.record.tolerated_failure_count
                if tolerated_failure_count is None
                else tolerated_failure_count
            ),
            tolerated_failure_percentage=(
                view.record.tolerated_failure_percentage
                if tolerated_failure_percentage is None
                else float(tolerated_failure_percentage)
            ),
        )
        await self.journal.call(self.store.put_map_run, updated)
        event = MapRunUpdate(
            arn,
            max_concurrency,
            tolerated_failure_count,
            None if tolerated_failure_percentage is None else float(tolerated_failure_percentage),
            self.clock.now(),
        )
        await self._post(view.record.execution_arn, event)
        return updated

    async def list_map_run_executions(
        self,
        map_run_arn: str,
        *,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
        redrive_filter: str | None = None,
    ) -> tuple[list[ExecutionRecord], str | None]:
        """ListExecutions with `mapRunArn`: the Map Run's child executions. While a redriven
        run runs, an unsuccessful child that closed before the redrive is PENDING_REDRIVE (the
        status AWS lists it with, and filters on; DescribeMapRun counts it in pendingRedrive):
        it is listed so, and not under its closed status. `redrive_filter`: REDRIVEN (the
        children redriven at least once) or NOT_REDRIVEN."""
        redriven = redriven_filter(redrive_filter)
        run = (await self.describe_map_run(map_run_arn)).record
        redrive_date = run.redrive_date if run.status == "RUNNING" else None
        records, token = await self.journal.call(
            self.store.list_executions,
            "",
            status=status,
            limit=limit,
            after=next_token,
            map_run_arn=map_run_arn,
            redriven=redriven,
            pending_redrive_before=redrive_date,
        )
        shown = [
            replace(r, status=PENDING_REDRIVE) if is_pending_redrive(r, redrive_date) else r
            for r in records
        ]
        return shown, token


@dataclass(frozen=True, slots=True)
class MapRunCounts:
    """DescribeMapRun's `itemCounts` (items) and `executionCounts` (child executions: one per
    item, or per ItemBatcher batch)."""

    items: dict[str, int]
    executions: dict[str, int]


def map_run_counts(view: MapRunView) -> MapRunCounts:
    """AWS's itemCounts and executionCounts (API reference, MapRunItemCounts and
    MapRunExecutionCounts; "Redriving Map Runs"):

    - running, succeeded, failed, timedOut, aborted: the child executions in that status (and
      the items they ran); pending: not started yet.
    - While a redriven Map Run runs, an unsuccessful child not redriven yet (closed before the
      redrive) is pending again and counted in `pendingRedrive`; once the run closes,
      pendingRedrive is 0 and such a child counts in its status again.
    - failuresNotRedrivable: unsuccessful Standard children that can no longer be redriven
      (closed past the 14-day redrivable period, or redriven 1,000 times).
    - resultsWritten: once the run's results were written (its ResultWriter's files, or the
      Map's output: AWS counts those too, e.g. 2 of 2 for a Map without a ResultWriter),
      every child that ran; 0 before, or when the run failed without writing them.
    """
    record = view.record
    redriving = record.status == "RUNNING" and record.redrive_date is not None
    return MapRunCounts(
        _counts(view.tallies, record.total_items, redriving, record.results_written, items=True),
        _counts(
            view.tallies, record.total_executions, redriving, record.results_written, items=False
        ),
    )


def _counts(
    tallies: tuple[MapRunTally, ...], total: int, redriving: bool, written: bool, *, items: bool
) -> dict[str, int]:
    counts = dict.fromkeys(COUNTED_STATUSES.values(), 0)
    pending_redrive = not_redrivable = 0
    for tally in tallies:
        n = tally.items if items else tally.executions
        if redriving and tally.stale:
            pending_redrive += n
            continue
        name = COUNTED_STATUSES.get(tally.status)
        if name is not None:
            counts[name] += n
        if tally.stuck:
            not_redrivable += n
    started = sum(counts.values())
    total = max(total, started + pending_redrive)
    ran = started - counts["running"]
    return {
        "pending": total - started,
        **counts,
        "total": total,
        "resultsWritten": ran if written else 0,
        "failuresNotRedrivable": not_redrivable,
        "pendingRedrive": pending_redrive,
    }
