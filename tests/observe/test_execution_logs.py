"""Execution logs: a machine's loggingConfiguration, one JSON line per logged history event in
AWS's CloudWatch Logs record shape, to the destinations `[execution_logs]` configures."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from engine.errors import InvalidRequest
from engine.execution_log import logged_at
from engine.runtime.clock import VirtualClock
from engine.service import Service, ServiceConfig
from engine.store.memory import MemoryStore

T0 = 1_700_000_000.0
ROLE = "arn:aws:iam::111111111111:role/asl-engine"
MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:"
GROUP = "arn:aws:logs:us-east-1:111111111111:log-group:"
FAILS = json.dumps(
    {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"n": 1}, "Next": "Stop"},
            "Stop": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"},
        },
    }
)
CONFIG = f"""
[execution_logs]
destination = "file"
path = "logs/all.jsonl"

[execution_logs.log_groups]
"{GROUP}error:*" = "logs/errors.jsonl"
"""


def run_each_level(folder: Path) -> None:
    (folder / "asl.toml").write_text(CONFIG)

    async def main() -> None:
        service = Service(
            MemoryStore(),
            clock=VirtualClock(T0),
            config=ServiceConfig(seed=1),
            functions_config=folder / "asl.toml",
        )
        async with service:
            for level, data in (("ALL", True), ("ERROR", False), ("FATAL", False), ("OFF", False)):
                name = level.lower()
                await service.create_state_machine(
                    name,
                    FAILS,
                    logging_level=level,
                    include_execution_data=data,
                    log_destinations=[f"{GROUP}{name}:*"],
                )
                started = await service.start_execution(
                    MACHINE + name, name="run", input_text='{"k": "v"}'
                )
                assert (await service.wait_for(started.arn)).status == "FAILED"

    asyncio.run(main())


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_level_logs_its_events_in_aws_record_shape(tmp_path: Path) -> None:
    run_each_level(tmp_path)
    everything = lines(tmp_path / "logs/all.jsonl")
    execution = "arn:aws:states:us-east-1:111111111111:execution:"
    by_machine = {
        name: [r["type"] for r in everything if r["execution_arn"] == f"{execution}{name}:run"]
        for name in ("all", "error", "fatal", "off")
    }
    assert by_machine == {
        "all": [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "FailStateEntered",
            "ExecutionFailed",
        ],
        "error": [],  # its log group is mapped to errors.jsonl
        "fatal": ["ExecutionFailed"],
        "off": [],
    }
    assert everything[0] == {
        "id": "1",
        "type": "ExecutionStarted",
        "details": {"input": '{"k":"v"}', "inputDetails": {"truncated": False}, "roleArn": ROLE},
        "previous_event_id": "0",
        "event_timestamp": str(int(T0 * 1000)),
        "execution_arn": f"{execution}all:run",
        "redrive_count": "0",
    }
    assert everything[2]["details"] == {
        "name": "Prepare",
        "output": '{"n":1}',
        "outputDetails": {"truncated": False},
    }
    errors = lines(tmp_path / "logs/errors.jsonl")
    assert [(r["id"], r["type"], r["previous_event_id"]) for r in errors] == [
        ("4", "FailStateEntered", "3"),
        ("5", "ExecutionFailed", "4"),
    ]
    # includeExecutionData false: no input or output in the details, the rest kept
    assert errors[0]["details"] == {"name": "Stop"}
    assert errors[1]["details"] == {"error": "Broken", "cause": "on purpose"}


def test_the_default_destination_is_a_python_logger(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with Service(MemoryStore(), clock=VirtualClock(T0)) as service:
            await service.create_state_machine(
                "m", FAILS, logging_level="FATAL", log_destinations=[f"{GROUP}m:*"]
            )
            started = await service.start_execution(MACHINE + "m", name="r")
            await service.wait_for(started.arn)

    with caplog.at_level(logging.INFO, logger="asl.execution"):
        asyncio.run(main())
    logged = [
        (r.levelname, json.loads(r.getMessage())["type"])
        for r in caplog.records
        if r.name == "asl.execution"
    ]
    assert logged == [("ERROR", "ExecutionFailed")]


def test_logging_switched_on_later_logs_the_next_executions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Until a machine that logs is read, no execution log watches the runtime (a step pays
    nothing for it); a machine created OFF and updated to log is logged from then on."""

    async def main() -> None:
        async with Service(MemoryStore(), clock=VirtualClock(T0)) as service:
            await service.create_state_machine("m", FAILS)
            quiet = await service.start_execution(MACHINE + "m", name="quiet")
            await service.wait_for(quiet.arn)
            assert service.runtime.observer is None
            await service.update_state_machine(
                MACHINE + "m", logging_level="FATAL", log_destinations=[f"{GROUP}m:*"]
            )
            loud = await service.start_execution(MACHINE + "m", name="loud")
            await service.wait_for(loud.arn)

    with caplog.at_level(logging.INFO, logger="asl.execution"):
        asyncio.run(main())
    logged = [
        json.loads(r.getMessage())["execution_arn"].rsplit(":", 1)[1]
        for r in caplog.records
        if r.name == "asl.execution"
    ]
    assert logged == ["loud"]


def test_a_worker_logs_the_executions_it_adopts(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """An execution started by an API-only process and driven by another process's worker:
    the worker reads the machine as it adopts the execution, and logs it."""
    url = f"sqlite:///{tmp_path}/asl.db"

    async def main() -> None:
        from engine.store.open import open_store

        api_store, worker_store = open_store(url), open_store(url)
        api = Service(api_store, clock=VirtualClock(T0), config=ServiceConfig(worker=False))
        await api.create_state_machine(
            "m", FAILS, logging_level="FATAL", log_destinations=[f"{GROUP}m:*"]
        )
        started = await api.start_execution(MACHINE + "m", name="adopted")
        await api.aclose()
        worker = Service(worker_store, clock=VirtualClock(T0))
        await worker.worker.run_until_idle()
        await worker.aclose()
        assert worker_store.get_execution(started.arn).status == "FAILED"  # type: ignore[union-attr]
        api_store.close()
        worker_store.close()

    with caplog.at_level(logging.INFO, logger="asl.execution"):
        asyncio.run(main())
    logged = [
        json.loads(r.getMessage())["type"] for r in caplog.records if r.name == "asl.execution"
    ]
    assert logged == ["ExecutionFailed"]


def test_a_level_without_a_destination_is_refused() -> None:
    async def main() -> None:
        async with Service(MemoryStore(), clock=VirtualClock(T0)) as service:
            await service.create_state_machine("m", FAILS, logging_level="ALL", log_destinations=[])

    with pytest.raises(InvalidRequest) as caught:
        asyncio.run(main())
    assert caught.value.code == "InvalidLoggingConfiguration"


@pytest.mark.parametrize(
    ("level", "event_type", "logged"),
    [
        ("ALL", "PassStateEntered", True),
        ("ERROR", "TaskFailed", True),
        ("ERROR", "LambdaFunctionTimedOut", True),
        ("ERROR", "FailStateEntered", True),
        ("ERROR", "ParallelStateAborted", True),
        ("ERROR", "TaskSucceeded", False),
        ("FATAL", "ExecutionTimedOut", True),
        ("FATAL", "TaskFailed", False),
        ("OFF", "ExecutionFailed", False),
    ],
)
def test_levels(level: str, event_type: str, logged: bool) -> None:
    assert logged_at(level, event_type) is logged
