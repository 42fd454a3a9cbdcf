"""Service: a Distributed Map's items as child executions of this engine, and its Map Run
(DescribeMapRun, ListMapRuns, UpdateMapRun, ListExecutions by Map Run), on each store."""

from __future__ import annotations

import asyncio
import json

import pytest

from engine.errors import InvalidRequest, ResourceNotFound
from engine.runtime.clock import VirtualClock
from engine.service import Service
from engine.service.map_runs import MapRunCounts, map_run_counts
from engine.values import JSON, dumps
from tests.service.helpers import (
    PREFIX,
    T0,
    ManualClock,
    StoreFactory,
    Tokens,
    callback_state,
    finish,
    run,
    text,
    types,
    until,
)


def distributed(processor_states: dict[str, JSON], **map_fields: JSON) -> str:
    """A Distributed Map over the input's `items`."""
    return text(
        {
            "StartAt": "Fan",
            "States": {
                "Fan": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": next(iter(processor_states)),
                        "States": processor_states,
                    },
                    "End": True,
                    **map_fields,
                }
            },
        }
    )


def items_input(items: JSON) -> str:
    return json.dumps({"items": items})


def counts(**given: int) -> dict[str, int]:
    """DescribeMapRun's itemCounts or executionCounts: `given`, the others 0."""
    names = ("pending", "running", "succeeded", "failed", "timedOut", "aborted", "total")
    extras = ("resultsWritten", "failuresNotRedrivable", "pendingRedrive")
    return {name: given.get(name, 0) for name in names + extras}


DOUBLE: dict[str, JSON] = {
    "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, $.n)"}, "End": True}
}
FAIL_ODD: dict[str, JSON] = {
    "Odd?": {
        "Type": "Choice",
        "Choices": [{"Variable": "$.odd", "BooleanEquals": True, "Next": "Boom"}],
        "Default": "Fine",
    },
    "Boom": {"Type": "Fail", "Error": "Odd", "Cause": "odd item"},
    "Fine": {"Type": "Pass", "End": True},
}


def test_items_run_as_child_executions_with_their_own_history(every_store: StoreFactory) -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("fan", distributed(DOUBLE, Label="Doubles"))
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([{"n": 1}, {"n": 2}, {"n": 3}])
        )
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == [{"n": 2}, {"n": 4}, {"n": 6}]
        parent_history = await service.get_history(started.arn)
        assert types(parent_history) == [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded",
        ]
        details = parent_history[3].details
        assert isinstance(details, dict)
        map_run_arn = details["mapRunStartedEventDetails"]["mapRunArn"]  # type: ignore[index]
        assert isinstance(map_run_arn, str)
        assert map_run_arn.startswith(f"{PREFIX}:mapRun:fan/Doubles:")
        children, token = await service.list_map_run_executions(map_run_arn)
        assert token is None
        assert len(children) == 3
        assert {c.status for c in children} == {"SUCCEEDED"}
        assert sorted(c.output["n"] for c in children) == [2, 4, 6]  # type: ignore[index]
        for child in children:
            assert child.arn == f"{PREFIX}:execution:fan/Doubles:{child.name}"
            assert child.machine_arn == f"{PREFIX}:stateMachine:fan/Doubles"
            assert child.parent_arn == started.arn
            assert child.map_run_arn == map_run_arn
            history = await service.get_history(child.arn)
            assert types(history) == [
                "ExecutionStarted",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded",
            ]
        described = await service.describe_state_machine_for_execution(children[0].arn)
        assert described.name == "fan/Doubles"
        assert "ProcessorConfig" not in described.definition
        view = await service.describe_map_run(map_run_arn)
        assert view.record.status == "SUCCEEDED"
        assert view.record.execution_arn == started.arn
        assert view.record.start == T0
        assert view.record.stop is not None
        # AWS counts the results returned without a ResultWriter as written (recorded:
        # localstack test_sfn_api_map_run.py::test_list_map_runs_and_describe_map_run, 2 of 2)
        expected = counts(succeeded=3, total=3, resultsWritten=3)
        assert map_run_counts(view) == MapRunCounts(expected, expected)
        runs, following = await service.list_map_runs(started.arn)
        assert [r.arn for r in runs] == [map_run_arn]
        assert following is None

    run(main, store=every_store(), clock=VirtualClock(T0))


def test_a_failed_child_fails_the_map_with_its_error(every_store: StoreFactory) -> None:
    items: JSON = [{"odd": False}, {"odd": True}, {"odd": False}]

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", distributed(FAIL_ODD, MaxConcurrency=1)
        )
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input(items)
        )
        closed = await finish(service, started.arn)
        assert (closed.status, closed.error, closed.cause) == ("FAILED", "Odd", "odd item")
        history = await service.get_history(started.arn)
        assert types(history)[-4:] == [
            "MapRunStarted",
            "MapRunFailed",
            "MapStateFailed",
            "ExecutionFailed",
        ]
        failed = history[-3].details
        assert failed == {"mapRunFailedEventDetails": {"error": "Odd", "cause": "odd item"}}
        runs, _ = await service.list_map_runs(started.arn)
        view = await service.describe_map_run(runs[0].arn)
        assert view.record.status == "FAILED"
        assert view.record.max_concurrency == 1
        # a Map Run that failed without a ResultWriter returned no results: none written
        expected = counts(pending=1, succeeded=1, failed=1, total=3)
        assert map_run_counts(view) == MapRunCounts(expected, expected)

    run(main, store=every_store(), clock=VirtualClock(T0))


def test_tolerated_failures_keep_the_map_running(every_store: StoreFactory) -> None:
    items: JSON = [{"odd": i % 2 == 1} for i in range(6)]

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", distributed(FAIL_ODD, ToleratedFailureCount=3, MaxConcurrency=2)
        )
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input(items)
        )
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        runs, _ = await service.list_map_runs(started.arn)
        view = await service.describe_map_run(runs[0].arn)
        assert view.record.tolerated_failure_count == 3
        expected = counts(succeeded=3, failed=3, total=6, resultsWritten=6)
        assert map_run_counts(view) == MapRunCounts(expected, expected)
        failed, _ = await service.list_map_run_executions(runs[0].arn, status="FAILED")
        assert len(failed) == 3
        assert {f.error for f in failed} == {"Odd"}

    run(main, store=every_store(), clock=VirtualClock(T0))


def test_map_run_operations_refuse_bad_requests(every_store: StoreFactory) -> None:
    async def main(service: Service) -> None:
        with pytest.raises(InvalidRequest) as bad_arn:
            await service.describe_map_run("arn:aws:states:us-east-1:111111111111:execution:x:y")
        assert bad_arn.value.code == "InvalidArn"
        missing = f"{PREFIX}:mapRun:fan/Fan:0b4d6cbd-2e1e-4a4b-9fb5-6c2f3e1d0a11"
        with pytest.raises(ResourceNotFound) as not_found:
            await service.describe_map_run(missing)
        assert not_found.value.code == "ResourceNotFound"
        machine, _ = await service.create_state_machine("fan", distributed(DOUBLE))
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([{"n": 1}])
        )
        await finish(service, started.arn)
        runs, _ = await service.list_map_runs(started.arn)
        with pytest.raises(InvalidRequest) as closed:
            await service.update_map_run(runs[0].arn, max_concurrency=5)
        assert closed.value.code == "ValidationException"
        with pytest.raises(InvalidRequest) as negative:
            await service.update_map_run(runs[0].arn, tolerated_failure_percentage=101)
        assert negative.value.code == "ValidationException"

    run(main, store=every_store(), clock=VirtualClock(T0))


CALLS: dict[int, int] = {}


def fail_once_on_one(event: JSON, context: object) -> JSON:
    """Fails its first call for 1 (the redrive's call succeeds)."""
    assert isinstance(event, int)
    CALLS[event] = CALLS.get(event, 0) + 1
    if event == 1 and CALLS[event] == 1:
        raise ValueError("one fails once")
    return event * 10


def test_a_redrive_reruns_only_failed_and_pending_children(every_store: StoreFactory) -> None:
    CALLS.clear()
    lambda_state: dict[str, JSON] = {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "fail_once_on_one", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        }
    }

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", distributed(lambda_state, MaxConcurrency=1)
        )
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([0, 1, 2, 3])
        )
        failed = await finish(service, started.arn)
        assert (failed.status, failed.error) == ("FAILED", "ValueError")
        runs, _ = await service.list_map_runs(started.arn)
        map_run_arn = runs[0].arn
        first = map_run_counts(await service.describe_map_run(map_run_arn))
        assert first.items == counts(pending=2, succeeded=1, failed=1, total=4)
        failed_child = (await service.list_map_run_executions(map_run_arn, status="FAILED"))[0]
        assert len(failed_child) == 1

        clock.advance_to(T0 + 60)
        await service.redrive_execution(started.arn)
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == [0, 10, 20, 30]
        assert CALLS == {0: 1, 1: 2, 2: 1, 3: 1}  # item 0 did not run again
        history = await service.get_history(started.arn)
        redriven = [e for e in history if e.type == "MapRunRedriven"]
        assert [e.details for e in redriven] == [
            {"mapRunRedrivenEventDetails": {"mapRunArn": map_run_arn, "redriveCount": 1}}
        ]
        assert types(history).count("MapRunStarted") == 1
        view = await service.describe_map_run(map_run_arn)
        assert (view.record.status, view.record.redrive_count) == ("SUCCEEDED", 1)
        assert view.record.redrive_date == T0 + 60
        assert map_run_counts(view).items == counts(succeeded=4, total=4, resultsWritten=4)
        runs, _ = await service.list_map_runs(started.arn)
        assert [r.arn for r in runs] == [map_run_arn]
        # AWS redrives the failed child itself: same ARN, its history goes on
        children, _ = await service.list_map_run_executions(map_run_arn)
        assert len(children) == 4
        redriven_child = await service.describe_execution(failed_child[0].arn)
        assert (redriven_child.status, redriven_child.redrive_count) == ("SUCCEEDED", 1)
        assert redriven_child.output == 10
        assert types(await service.get_history(redriven_child.arn)) == [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "ExecutionFailed",
            "ExecutionRedriven",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]

    clock = ManualClock(T0)
    run(
        main,
        store=every_store(),
        clock=clock,
        functions={"fail_once_on_one": fail_once_on_one},
    )


def test_a_redrive_starts_failed_express_children_again_under_their_arn(
    every_store: StoreFactory,
) -> None:
    """Express children cannot be redriven: AWS starts a failed one again from the
    ItemProcessor's first state, under the same ARN, its earlier run not told apart."""
    CALLS.clear()
    lambda_state: dict[str, JSON] = {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "fail_once_on_one", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        }
    }
    definition = json.loads(distributed(lambda_state, MaxConcurrency=1))
    definition["States"]["Fan"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] = "EXPRESS"

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("fan", json.dumps(definition))
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([0, 1, 2])
        )
        failed = await finish(service, started.arn)
        assert failed.status == "FAILED"
        [listed], _ = await service.list_map_runs(started.arn)
        [failed_child], _ = await service.list_map_run_executions(listed.arn, status="FAILED")
        clock.advance_to(T0 + 60)
        await service.redrive_execution(started.arn)
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == [0, 10, 20]
        children, _ = await service.list_map_run_executions(listed.arn)
        assert len(children) == 3
        again = await service.describe_execution(failed_child.arn)
        assert (again.status, again.redrive_count, again.start) == ("SUCCEEDED", 0, T0 + 60)
        assert types(await service.get_history(again.arn)) == [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded",
        ]
        expected = counts(succeeded=3, total=3, resultsWritten=3)
        assert map_run_counts(await service.describe_map_run(listed.arn)) == MapRunCounts(
            expected, expected
        )

    clock = ManualClock(T0)
    run(
        main,
        store=every_store(),
        clock=clock,
        functions={"fail_once_on_one": fail_once_on_one},
    )


def fail_once_on_two(event: JSON, context: object) -> JSON:
    """Fails its first call for 2 (the redrive's call succeeds)."""
    assert isinstance(event, int)
    CALLS[event] = CALLS.get(event, 0) + 1
    if event == 2 and CALLS[event] == 1:
        raise ValueError("two fails once")
    return event * 10


def test_a_child_past_its_redrivable_period_is_not_redriven(every_store: StoreFactory) -> None:
    """Item 0 fails at once (tolerated), item 1 naps 15 days, item 2 fails the Map: item 0's
    child closed more than 14 days before, so it cannot be redriven (failuresNotRedrivable)
    and its failure stands when the parent is redriven; item 2's child is redriven."""
    CALLS.clear()
    processor: dict[str, JSON] = {
        "Which": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$", "NumericEquals": 0, "Next": "Boom"},
                {"Variable": "$", "NumericEquals": 1, "Next": "Nap"},
            ],
            "Default": "Call",
        },
        "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "item 0"},
        "Nap": {"Type": "Wait", "Seconds": 15 * 24 * 3600, "End": True},
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "fail_once_on_two", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        },
    }

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", distributed(processor, MaxConcurrency=1, ToleratedFailureCount=1)
        )
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([0, 1, 2])
        )
        failed = await finish(service, started.arn)
        assert (failed.status, failed.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
        [listed], _ = await service.list_map_runs(started.arn)
        expected = counts(succeeded=1, failed=2, total=3, failuresNotRedrivable=1)
        view = await service.describe_map_run(listed.arn)
        assert map_run_counts(view) == MapRunCounts(expected, expected)
        await service.redrive_execution(started.arn)
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == [{"Error": "Boom", "Cause": "item 0"}, 1, 20]
        assert CALLS == {2: 2}
        children, _ = await service.list_map_run_executions(listed.arn)
        by_status = sorted((c.status, c.redrive_count) for c in children)
        assert by_status == [("FAILED", 0), ("SUCCEEDED", 0), ("SUCCEEDED", 1)]
        expected = counts(succeeded=2, failed=1, total=3, resultsWritten=3, failuresNotRedrivable=1)
        view = await service.describe_map_run(listed.arn)
        assert map_run_counts(view) == MapRunCounts(expected, expected)

    run(
        main,
        store=every_store(),
        clock=VirtualClock(T0),
        functions={"fail_once_on_two": fail_once_on_two},
    )


def test_result_records_name_the_child_executions(every_store: StoreFactory) -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan",
            distributed(
                DOUBLE,
                ResultWriter={"WriterConfig": {"OutputType": "JSON", "Transformation": "NONE"}},
            ),
        )
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([{"n": 1}, {"n": 2}])
        )
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert isinstance(closed.output, list)
        runs, _ = await service.list_map_runs(started.arn)
        children, _ = await service.list_map_run_executions(runs[0].arn)
        by_arn = {child.arn: child for child in children}
        assert sorted(r["ExecutionArn"] for r in closed.output) == sorted(by_arn)  # type: ignore[index]
        for record in closed.output:
            assert isinstance(record, dict)
            child = by_arn[str(record["ExecutionArn"])]
            assert (record["Name"], record["Status"]) == (child.name, "SUCCEEDED")
            assert json.loads(str(record["Output"])) == child.output

    run(main, store=every_store(), clock=VirtualClock(T0))


def test_express_children_and_many_items_with_bounded_concurrency(
    every_store: StoreFactory,
) -> None:
    """The 100,000-item path at a small size: 200 items, 10 in flight, EXPRESS children."""
    definition = json.loads(distributed(DOUBLE, MaxConcurrency=10))
    config = definition["States"]["Fan"]["ItemProcessor"]["ProcessorConfig"]
    config["ExecutionType"] = "EXPRESS"

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("fan", json.dumps(definition))
        items = [{"n": n} for n in range(200)]
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input(items)
        )
        # 200 child executions: more than `finish`'s bound on a busy PostgreSQL
        closed = await asyncio.wait_for(service.wait_for(started.arn), 120)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == [{"n": 2 * n} for n in range(200)]
        runs, _ = await service.list_map_runs(started.arn)
        view = await service.describe_map_run(runs[0].arn)
        assert view.counts == {"SUCCEEDED": 200}
        children, token = await service.list_map_run_executions(runs[0].arn, limit=1000)
        assert token is None
        assert {c.machine_type for c in children} == {"EXPRESS"}
        assert all(c.arn.startswith(f"{PREFIX}:express:fan/Fan:") for c in children)
        stored = await service.describe_execution(started.arn)
        assert isinstance(stored.state, dict)
        # the Map's state kept the outputs, not the 200 children it ran
        assert len(stored.state["frames"]) < 12  # type: ignore[arg-type]

    run(main, store=every_store(), clock=VirtualClock(T0))


def test_update_map_run_tolerance_applies_to_the_running_map(every_store: StoreFactory) -> None:
    tokens = Tokens()
    ask = {"Ask": callback_state(End=True)}

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("fan", distributed(ask, MaxConcurrency=1))
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([0, 1])
        )
        first = await tokens.next()
        runs, _ = await service.list_map_runs(started.arn)
        # without this the first failure would fail the Map (no tolerance declared)
        updated = await service.update_map_run(runs[0].arn, tolerated_failure_count=1)
        assert updated.tolerated_failure_count == 1
        await service.send_task_failure(first, error="Nope", cause="first item fails")
        second = await tokens.next()
        await service.send_task_success(second, '{"ok": 1}')
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == [{"Error": "Nope", "Cause": "first item fails"}, {"ok": 1}]
        view = await service.describe_map_run(runs[0].arn)
        assert (view.record.status, view.record.tolerated_failure_count) == ("SUCCEEDED", 1)
        assert view.counts == {"SUCCEEDED": 1, "FAILED": 1}

    run(main, store=every_store(), functions={"remember": tokens.remember}, clock=VirtualClock(T0))


def test_stopping_the_parent_aborts_the_map_run_and_its_children(
    every_store: StoreFactory,
) -> None:
    tokens = Tokens()
    ask = {"Ask": callback_state(End=True)}

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("fan", distributed(ask))
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([0, 1])
        )
        await tokens.next()
        await tokens.next()
        stopped = await service.stop_execution(started.arn, error="Enough", cause="stop")
        assert stopped.status == "ABORTED"
        history = types(await service.get_history(started.arn))
        assert history[-3:] == ["MapRunAborted", "MapStateAborted", "ExecutionAborted"]
        runs, _ = await service.list_map_runs(started.arn)
        view = await service.describe_map_run(runs[0].arn)
        assert view.record.status == "ABORTED"
        assert view.record.stop is not None

        async def children_aborted() -> bool:
            counts = (await service.describe_map_run(runs[0].arn)).counts
            return counts == {"ABORTED": 2}

        await until(children_aborted)

    run(main, store=every_store(), functions={"remember": tokens.remember}, clock=VirtualClock(T0))


def test_a_redrive_after_a_stop_reruns_only_the_children_that_had_not_succeeded(
    every_store: StoreFactory,
) -> None:
    tokens = Tokens()
    states: dict[str, JSON] = {
        "Quick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Done"}],
            "Default": "Ask",
        },
        "Ask": callback_state(ResultPath=None, End=True),
        "Done": {"Type": "Pass", "Result": "zero", "End": True},
    }
    store = every_store()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("fan", distributed(states))
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([0, 1, 2])
        )
        await tokens.next()
        await tokens.next()

        async def item_zero_folded() -> bool:  # the Map took item 0's answer
            record = await service.describe_execution(started.arn)
            snapshot = store.get_execution(record.arn)
            assert snapshot is not None
            state = snapshot.state
            assert isinstance(state, dict)
            frames = state["frames"]
            assert isinstance(frames, dict)
            root = frames["root"]
            return isinstance(root, dict) and len(root["child_ids"]) == 2  # type: ignore[arg-type]

        await until(item_zero_folded)
        await service.stop_execution(started.arn, error="Enough", cause="stop")
        await service.redrive_execution(started.arn)
        for _ in range(2):
            await service.send_task_success(await tokens.next(), "{}")
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == ["zero", 1, 2]
        runs, _ = await service.list_map_runs(started.arn)
        counts = (await service.describe_map_run(runs[0].arn)).counts
        assert counts == {"SUCCEEDED": 3}  # item 0 ran once; 1 and 2 again (since the redrive)
        assert tokens.queue.empty()

    run(main, store=store, functions={"remember": tokens.remember}, clock=VirtualClock(T0))


def test_the_items_are_in_the_store_not_in_the_parents_snapshot(every_store: StoreFactory) -> None:
    odd = [False, True, False]
    items: JSON = [{"odd": o} for o in odd]
    selected: list[JSON] = [{"odd": o, "at": i} for i, o in enumerate(odd)]
    selector: JSON = {"odd.$": "$$.Map.Item.Value.odd", "at.$": "$$.Map.Item.Index"}

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", distributed(FAIL_ODD, MaxConcurrency=1, ItemSelector=selector)
        )
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input(items)
        )
        closed = await finish(service, started.arn)
        assert (closed.status, closed.error) == ("FAILED", "Odd")
        runs, _ = await service.list_map_runs(started.arn)
        arn = runs[0].arn
        # each child run's input (ItemSelector applied) is a row of the Map Run's items
        stored = service.store.map_run_items(arn, 0, 4)
        assert stored == [dumps(s) for s in selected]
        children, _ = await service.list_map_run_executions(arn)
        assert sorted((c.input for c in children), key=str) == sorted(selected[:2], key=str)
        # the failed parent's snapshot (a redrive resumes from it) keeps none of them
        record = service.store.get_execution(started.arn)
        assert record is not None
        assert isinstance(record.state, dict)
        frames = record.state["frames"]
        assert isinstance(frames, dict)
        fan = frames["root"]
        assert isinstance(fan, dict)
        assert (fan["items"], fan["items_stored"], fan["batch_sizes"]) == ([], True, [])

    run(main, store=every_store(), clock=VirtualClock(T0))


def test_children_read_their_items_across_the_services_windows(every_store: StoreFactory) -> None:
    """More items than one read of the store's items takes (256): each child gets its own."""
    selector: JSON = {"n.$": "$$.Map.Item.Value.n", "at.$": "$$.Map.Item.Index"}

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", distributed(DOUBLE, MaxConcurrency=50, ItemSelector=selector)
        )
        items = [{"n": n % 7} for n in range(600)]
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input(items)
        )
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == [{"n": 2 * (n % 7)} for n in range(600)]
        runs, _ = await service.list_map_runs(started.arn)
        inputs: list[JSON] = []
        token: str | None = None
        while True:
            page, token = await service.list_map_run_executions(
                runs[0].arn, limit=100, next_token=token
            )
            inputs.extend(c.input for c in page)
            if token is None:
                break
        expected: list[JSON] = [{"n": at % 7, "at": at} for at in range(600)]
        assert sorted(inputs, key=lambda i: i["at"]) == expected  # type: ignore[index]

    run(main, store=every_store(), clock=VirtualClock(T0))


def test_children_pending_redrive_are_listed_with_that_status(every_store: StoreFactory) -> None:
    """While a redriven Map Run runs, its unsuccessful children not redriven yet are listed
    as PENDING_REDRIVE (and filtered so, not as FAILED), as DescribeMapRun counts them;
    redrive_filter keeps the children redriven (REDRIVEN) or not (NOT_REDRIVEN). A machine's
    listing refuses PENDING_REDRIVE, as AWS does."""
    tokens = Tokens()
    ask = {"Ask": callback_state(End=True)}

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", distributed(ask, MaxConcurrency=1, ToleratedFailureCount=1)
        )
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([0, 1, 2])
        )
        await service.send_task_failure(await tokens.next(), error="Nope", cause="item 0")
        await service.send_task_failure(await tokens.next(), error="Nope", cause="item 1")
        assert (await finish(service, started.arn)).status == "FAILED"
        [map_run], _ = await service.list_map_runs(started.arn)

        async def listed(**filters: str) -> list[tuple[str, str]]:
            children, _ = await service.list_map_run_executions(map_run.arn, **filters)
            return sorted((c.arn, c.status) for c in children)

        failed = await listed(status="FAILED")
        assert len(failed) == 2
        assert await listed(status="PENDING_REDRIVE") == []  # no redrive runs
        children = (await service.list_map_run_executions(map_run.arn))[0]
        by_item = {c.input: c.arn for c in children}
        item0, item1 = by_item[0], by_item[1]

        clock.advance_to(T0 + 60)  # the children closed before the redrive
        await service.redrive_execution(started.arn)
        answer = await tokens.next()  # item 0's child, redriven; item 1's waits
        assert await listed(status="PENDING_REDRIVE") == [(item1, "PENDING_REDRIVE")]
        assert await listed(status="FAILED") == []
        assert await listed(status="RUNNING") == [(item0, "RUNNING")]
        assert await listed(redrive_filter="REDRIVEN") == [(item0, "RUNNING")]
        assert await listed(redrive_filter="NOT_REDRIVEN") == [(item1, "PENDING_REDRIVE")]
        view = map_run_counts(await service.describe_map_run(map_run.arn))
        assert view.executions == counts(pending=2, running=1, total=3, pendingRedrive=1)
        with pytest.raises(InvalidRequest) as refused:
            await service.list_executions(machine.arn, status="PENDING_REDRIVE")
        assert refused.value.code == "ValidationException"
        with pytest.raises(InvalidRequest):
            await service.list_map_run_executions(map_run.arn, redrive_filter="SOMETIMES")
        assert (await service.list_executions(machine.arn, redrive_filter="REDRIVEN"))[0] == [
            await service.describe_execution(started.arn)
        ]

        await service.send_task_success(answer, "{}")
        await service.send_task_success(await tokens.next(), "{}")  # item 1's, redriven
        await service.send_task_success(await tokens.next(), "{}")  # item 2's, new
        assert (await finish(service, started.arn)).status == "SUCCEEDED"
        assert await listed(redrive_filter="REDRIVEN") == sorted(
            [(item0, "SUCCEEDED"), (item1, "SUCCEEDED")]
        )
        assert await listed(status="PENDING_REDRIVE") == []

    clock = ManualClock(T0)
    run(main, store=every_store(), functions={"remember": tokens.remember}, clock=clock)


def test_failed_children_leave_the_parents_state_like_succeeded_ones(
    every_store: StoreFactory,
) -> None:
    """Every child fails, every failure tolerated: the parent forgets each failed child as it
    answers (its snapshot holds the Map's frame and the one child running, never the failed
    ones), and the Map's result is every item's error output, in item order, read from the
    children in the store when it ends."""
    tokens = Tokens()
    ask = {"Ask": callback_state(End=True)}
    store = every_store()

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", distributed(ask, MaxConcurrency=1, ToleratedFailurePercentage=100)
        )
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([0, 1, 2, 3])
        )

        async def parent_frames() -> int:
            record = store.get_execution(started.arn)
            assert record is not None
            assert isinstance(record.state, dict)
            frames = record.state["frames"]
            assert isinstance(frames, dict)
            return len(frames)

        for index in range(4):
            token = await tokens.next()
            assert await parent_frames() == 2  # the Map's, and the child running
            cause = None if index == 2 else f"item {index}"
            await service.send_task_failure(token, error=f"E{index}", cause=cause)
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == [
            {"Error": "E0", "Cause": "item 0"},
            {"Error": "E1", "Cause": "item 1"},
            {"Error": "E2"},
            {"Error": "E3", "Cause": "item 3"},
        ]
        assert await parent_frames() == 1
        [map_run], _ = await service.list_map_runs(started.arn)
        view = await service.describe_map_run(map_run.arn)
        assert view.counts == {"FAILED": 4}
        assert map_run_counts(view).items == counts(failed=4, total=4, resultsWritten=4)

    run(main, store=store, functions={"remember": tokens.remember}, clock=VirtualClock(T0))


def test_a_redrive_after_tolerated_failures_reruns_only_the_unsuccessful_children(
    every_store: StoreFactory,
) -> None:
    """A tolerated failure (item 0) and a success (item 1) are forgotten by the parent; item
    2's failure exceeds the tolerance. The redrive asks every item's child again: item 1's
    succeeded, so its output is the item's at once (not run again); items 0 and 2 are
    redriven, item 3 starts."""
    tokens = Tokens()
    ask = {"Ask": callback_state(End=True)}

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine(
            "fan", distributed(ask, MaxConcurrency=1, ToleratedFailureCount=1)
        )
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([0, 1, 2, 3])
        )
        await service.send_task_failure(await tokens.next(), error="E0", cause="tolerated")
        await service.send_task_success(await tokens.next(), '{"item": 1}')
        await service.send_task_failure(await tokens.next(), error="E2", cause="one too many")
        failed = await finish(service, started.arn)
        assert (failed.status, failed.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
        [map_run], _ = await service.list_map_runs(started.arn)
        assert (await service.describe_map_run(map_run.arn)).counts == {
            "FAILED": 2,
            "SUCCEEDED": 1,
        }

        clock.advance_to(T0 + 60)
        await service.redrive_execution(started.arn)
        for item in (0, 2, 3):  # item 1's child is not asked for a token again
            await service.send_task_success(await tokens.next(), json.dumps({"item": item}))
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == [{"item": 0}, {"item": 1}, {"item": 2}, {"item": 3}]
        assert tokens.queue.empty()
        children, _ = await service.list_map_run_executions(map_run.arn)
        redrives = {c.input: c.redrive_count for c in children}
        assert redrives == {0: 1, 1: 0, 2: 1, 3: 0}

    clock = ManualClock(T0)
    run(main, store=every_store(), functions={"remember": tokens.remember}, clock=clock)


def test_children_aborted_after_the_redrive_began_are_redriven(every_store: StoreFactory) -> None:
    """The parent is stopped and at once redriven: its children's aborts (posted with the
    parent's close) may land after the redriven Map found them still running. Each such
    child, once aborted, is redriven like the others (same ARN, ExecutionRedriven), and the
    redriven Map succeeds with every item; its abort is never an item's failure."""
    tokens = Tokens()
    ask = {"Ask": callback_state(End=True)}

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("fan", distributed(ask))
        started = await service.start_execution(
            machine.arn, name="p", input_text=items_input([0, 1, 2, 3])
        )
        for _ in range(4):
            await tokens.next()
        await service.stop_execution(started.arn, error="Enough", cause="stop")
        await service.redrive_execution(started.arn)
        for _ in range(4):
            await service.send_task_success(await tokens.next(), '"again"')
        closed = await finish(service, started.arn)
        assert closed.status == "SUCCEEDED", closed.cause
        assert closed.output == ["again"] * 4
        [map_run], _ = await service.list_map_runs(started.arn)
        children, _ = await service.list_map_run_executions(map_run.arn)
        assert sorted((c.status, c.redrive_count) for c in children) == [("SUCCEEDED", 1)] * 4
        for child in children:
            history = types(await service.get_history(child.arn))
            redriven = history.index("ExecutionRedriven")
            assert history[redriven - 1 :: len(history)] == ["ExecutionAborted"]
            assert history[-1] == "ExecutionSucceeded"
        assert tokens.queue.empty()

    run(main, store=every_store(), functions={"remember": tokens.remember}, clock=VirtualClock(T0))
