"""Service: ListExecutions, GetExecutionHistory paging, the machine's roleArn in executions,
Express history logging levels, and the whole callback path on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ResourceNotFound
from engine.runtime.clock import VirtualClock
from engine.service import Service
from engine.store.open import open_store
from tests.service.helpers import (
    DEFAULT_ROLE,
    T0,
    VERDICT,
    StoreFactory,
    Tokens,
    callback_machine,
    execution_arn,
    finish,
    machine_arn,
    pass_machine,
    public,
    run,
    text,
    types,
)

PASS = pass_machine()


# -- ListExecutions and GetExecutionHistory -------------------------------------------------------


def test_list_executions_newest_first_filtered_and_paged(make_store: StoreFactory) -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", VERDICT)
        for index in range(6):
            service.clock.advance_to(T0 + index)
            ok = "true" if index % 2 == 0 else "false"
            started = await service.start_execution(
                machine.arn, name=f"e{index}", input_text=f'{{"ok": {ok}}}'
            )
            await finish(service, started.arn)

        everything, token = await service.list_executions(machine.arn)
        assert ([e.name for e in everything], token) == (
            ["e5", "e4", "e3", "e2", "e1", "e0"],
            None,
        )
        failed, _ = await service.list_executions(machine.arn, status="FAILED")
        assert [(e.name, e.status) for e in failed] == [
            ("e5", "FAILED"),
            ("e3", "FAILED"),
            ("e1", "FAILED"),
        ]
        running, _ = await service.list_executions(machine.arn, status="RUNNING")
        assert running == []

        pages: list[list[str]] = []
        token = None
        while True:
            page, token = await service.list_executions(machine.arn, limit=2, next_token=token)
            pages.append([e.name for e in page])
            if token is None:
                break
            assert len(pages) < 4
        assert pages == [["e5", "e4"], ["e3", "e2"], ["e1", "e0"]]

        with pytest.raises(ResourceNotFound) as caught:
            await service.list_executions(machine_arn("nope"))
        assert caught.value.code == "StateMachineDoesNotExist"

    run(main, store=make_store())


def test_list_executions_of_a_version_lists_the_machine() -> None:
    async def main(service: Service) -> None:
        machine, version = await service.create_state_machine("m", PASS, publish=True)
        assert version is not None
        await finish(service, (await service.start_execution(version.arn, name="v")).arn)
        await finish(service, (await service.start_execution(machine.arn, name="l")).arn)
        listed, _ = await service.list_executions(version.arn)
        assert sorted(e.name for e in listed) == ["l", "v"]

    run(main)


@pytest.mark.parametrize(
    ("after_id", "limit", "reverse", "ids"),
    [
        (0, 1000, False, [1, 2, 3, 4]),
        (1, 2, False, [2, 3]),
        (3, 1000, False, [4]),
        (4, 1000, False, []),
        (0, 1000, True, [4, 3, 2, 1]),
        (0, 2, True, [4, 3]),
        (3, 1000, True, [2, 1]),
        (2, 1, True, [1]),
    ],
    ids=[
        "all",
        "after-1-limit-2",
        "after-3",
        "after-last",
        "reverse",
        "reverse-limit",
        "reverse-after-3",
        "reverse-after-2-limit-1",
    ],
)
def test_history_paging(
    make_store: StoreFactory, after_id: int, limit: int, reverse: bool, ids: list[int]
) -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", PASS)
        arn = (await finish(service, (await service.start_execution(machine.arn)).arn)).arn
        everything = await service.get_history(arn)
        assert [(e.id, e.previous_event_id, e.type) for e in everything] == [
            (1, 0, "ExecutionStarted"),
            (2, 0, "PassStateEntered"),
            (3, 2, "PassStateExited"),
            (4, 3, "ExecutionSucceeded"),
        ]
        page = await service.get_history(arn, after_id=after_id, limit=limit, reverse=reverse)
        assert [e.id for e in page] == ids

    run(main, store=make_store())


def test_history_of_an_unknown_execution_is_not_found() -> None:
    async def main(service: Service) -> None:
        with pytest.raises(ResourceNotFound) as caught:
            await service.get_history(execution_arn("m", "nope"))
        assert caught.value.code == "ExecutionDoesNotExist"

    run(main)


# -- roleArn --------------------------------------------------------------------------------------

CONTEXT = text(
    {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Pass",
                "Parameters": {
                    "role.$": "$$.Execution.RoleArn",
                    "redrives.$": "$$.Execution.RedriveCount",
                },
                "End": True,
            }
        },
    }
)


@pytest.mark.parametrize(
    "role",
    [None, "arn:aws:iam::111111111111:role/orders"],
    ids=["default", "given"],
)
def test_the_role_reaches_execution_started_and_the_context(
    make_store: StoreFactory, role: str | None
) -> None:
    expected = role or DEFAULT_ROLE

    async def main(service: Service) -> None:
        if role is None:
            machine, _ = await service.create_state_machine("m", CONTEXT)
        else:
            machine, _ = await service.create_state_machine("m", CONTEXT, role_arn=role)
        assert machine.role_arn == expected
        closed = await finish(service, (await service.start_execution(machine.arn)).arn)
        assert closed.output == {"role": expected, "redrives": 0}
        started = (await service.get_history(closed.arn))[0]
        assert started.details == {
            "executionStartedEventDetails": {
                "input": "{}",
                "inputDetails": {"truncated": False},
                "roleArn": expected,
            }
        }

    run(main, store=make_store())


def test_an_updated_role_reaches_later_executions() -> None:
    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", CONTEXT)
        first = await finish(service, (await service.start_execution(machine.arn)).arn)
        await service.update_state_machine(machine.arn, role_arn="arn:aws:iam::1:role/new")
        second = await finish(service, (await service.start_execution(machine.arn)).arn)
        assert [first.output, second.output] == [
            {"role": DEFAULT_ROLE, "redrives": 0},
            {"role": "arn:aws:iam::1:role/new", "redrives": 0},
        ]

    run(main)


# -- Express logging ------------------------------------------------------------------------------

SUCCEEDED_EVENTS = ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]
FAILED_EVENTS = [
    "ExecutionStarted",
    "ChoiceStateEntered",
    "ChoiceStateExited",
    "FailStateEntered",
    "ExecutionFailed",
]


@pytest.mark.parametrize(
    ("level", "succeeds", "expected"),
    [
        pytest.param("ALL", True, SUCCEEDED_EVENTS, id="all-succeeded"),
        pytest.param("ALL", False, FAILED_EVENTS, id="all-failed"),
        pytest.param("ERROR", True, SUCCEEDED_EVENTS, id="error-succeeded"),
        pytest.param("ERROR", False, FAILED_EVENTS, id="error-failed"),
        pytest.param("OFF", True, SUCCEEDED_EVENTS, id="off-succeeded"),
        pytest.param("OFF", False, FAILED_EVENTS, id="off-failed"),
    ],
)
def test_express_history_is_kept_when_it_closes_whatever_the_logging_level(
    level: str, succeeds: bool, expected: list[str]
) -> None:
    """AWS keeps no history for Express; this engine writes it when the execution closes, so
    every path (asl run, the store, the API) shows the same history. It was silently empty
    through the store unless logging was ALL (issue 12)."""
    definition = pass_machine() if succeeds else VERDICT

    async def main(service: Service) -> list[str]:
        machine, _ = await service.create_state_machine(
            "x", definition, machine_type="EXPRESS", logging_level=level
        )
        started = await service.start_execution(machine.arn, input_text='{"ok": false}')
        closed = await finish(service, started.arn)
        assert closed.status == ("SUCCEEDED" if succeeds else "FAILED")
        return types(await service.get_history(started.arn))

    assert run(main) == expected


def test_sqlite_store_round_trips_a_callback_execution(tmp_path: Path) -> None:
    """The whole path on SQLite: start, token, stop of another, callback, describe, history."""
    tokens = Tokens()
    store = open_store(f"sqlite:///{tmp_path}/s.db")

    async def main(service: Service) -> None:
        machine, _ = await service.create_state_machine("m", callback_machine(after={"v": 1}))
        started = await service.start_execution(machine.arn, name="n", input_text='{"in": 1}')
        token = await tokens.next()
        await service.send_task_success(token, '{"ignored": true}')
        closed = await finish(service, started.arn)
        assert (closed.status, closed.output) == ("SUCCEEDED", {"v": 1})
        assert public(await service.describe_execution(started.arn)) == closed
        assert types(await service.get_history(started.arn)) == [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]

    try:
        run(main, store=store, functions={"remember": tokens.remember}, clock=VirtualClock(T0))
    finally:
        store.close()
