"""`--log-format json`: the engine's log records as JSON objects, with the execution ARN and the
state name they concern."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from engine.embedded import Engine
from engine.interpreter.tasks import TaskRequest, TaskResult
from engine.logformat import JsonFormatter
from engine.runtime.clock import VirtualClock

ARN = "arn:aws:states:us-east-1:111111111111:execution:m:run"


def formatted(record: logging.LogRecord) -> dict[str, object]:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    loaded = json.loads(line)
    assert isinstance(loaded, dict)
    return loaded


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("asl.worker", logging.ERROR, __file__, 1, msg, args, None)
    made.__dict__.update(extra)
    return made


def test_a_record_names_the_execution_from_its_arguments() -> None:
    got = formatted(record("could not resume %s: %s", ARN, "boom"))
    assert {k: got[k] for k in ("level", "logger", "message", "execution_arn")} == {
        "level": "ERROR",
        "logger": "asl.worker",
        "message": f"could not resume {ARN}: boom",
        "execution_arn": ARN,
    }
    assert str(got["time"]).endswith("+00:00")
    assert "state_name" not in got


def test_extra_fields_win() -> None:
    got = formatted(record("x", execution_arn=ARN, state_name="Fetch"))
    assert (got["execution_arn"], got["state_name"]) == (ARN, "Fetch")


class Broken:
    """A backend with a bug: it raises instead of answering."""

    async def invoke(self, request: TaskRequest) -> TaskResult:
        raise RuntimeError("bug")


def test_a_backend_bug_is_logged_with_its_execution_and_state(
    caplog: pytest.LogCaptureFixture,
) -> None:
    resource = "arn:aws:states:::broken"
    machine = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": resource, "End": True}},
    }

    async def main() -> str:
        engine = Engine(backends={resource: Broken()}, clock=VirtualClock(1e9))
        try:
            result = await engine.run(engine.load(machine, name="m"), {}, name="run")
            return result.status
        finally:
            await engine.aclose()

    with caplog.at_level(logging.ERROR, logger="engine.runtime.loop"):
        assert asyncio.run(main()) == "FAILED"
    (logged,) = [r for r in caplog.records if r.name == "engine.runtime.loop"]
    got = formatted(logged)
    assert (got["execution_arn"], got["state_name"]) == (ARN, "Call")
    assert "RuntimeError: bug" in str(got["exception"])
