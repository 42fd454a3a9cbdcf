"""asl.toml: finding it, every mistake located by key, what it builds, `asl config check`,
and Lambda's limits through a whole workflow (throttling recovered by Retry)."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from pathlib import Path

import pytest

from engine.cli import main
from engine.config import (
    AslConfig,
    ConfigProblem,
    build_function_backends,
    check_config,
    find_config,
    load_config,
)
from engine.embedded import Engine
from engine.errors import InvalidRequest
from engine.runtime.clock import VirtualClock

HANDLERS = """
def greet(event, context):
    return {"hello": event.get("name"), "memory": context.memory_limit_in_mb}

def queue(event, context):
    return {"MessageId": "m-1", "Body": event["MessageBody"]}
"""


QUEUE_CONFIG = """
[lambda]
sources = ["h.py"]

[resources]
"arn:aws:states:::sqs:sendMessage" = "queue"
"""
"""HANDLERS' functions, with `queue` serving SQS's sendMessage."""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), "utf-8")
    return path


# --------------------------------------------------------------------------- finding the file


def test_find_config_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASL_CONFIG", raising=False)
    assert find_config(cwd=tmp_path) is None
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    assert find_config(cwd=tmp_path) is None  # no [tool.asl]: not ours
    write(tmp_path, "pyproject.toml", "[tool.asl.lambda]\ntimeout = 5\n")
    assert find_config(cwd=tmp_path) == tmp_path / "pyproject.toml"
    write(tmp_path, "asl.toml", "")
    assert find_config(cwd=tmp_path) == tmp_path / "asl.toml"
    monkeypatch.setenv("ASL_CONFIG", "/elsewhere/asl.toml")
    assert find_config(cwd=tmp_path) == Path("/elsewhere/asl.toml")
    assert find_config("given.toml", cwd=tmp_path) == Path("given.toml")


def test_tool_asl_in_pyproject_is_read_with_its_prefix(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", "[tool.asl.lambda]\ntimeout = 0\n")
    checked = check_config(path)
    config, problems = checked.config, checked.problems
    assert config is None
    assert problems == [
        ConfigProblem(
            "tool.asl.lambda.timeout", "Input should be greater than or equal to 1 (got 0)"
        )
    ]


# --------------------------------------------------------------------------- located problems


def test_every_problem_is_reported_with_its_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "asl.toml",
        """
        colour = "blue"

        [lambda]
        timeout = 901
        memory_size = 64

        [functions.A]
        handler = "h.greet"
        command = ["node", "a.js"]

        [functions.B]
        timeout = 10
        reserved_concurrency = -1

        [functions.C]
        faults = [{ error = "Lambda.ServiceException" }]
        """,
    )
    checked = check_config(path)
    config, problems = checked.config, checked.problems
    assert config is None
    assert [str(p) for p in problems] == [
        "lambda.timeout: Input should be less than or equal to 900 (got 901)",
        "lambda.memory_size: Input should be greater than or equal to 128 (got 64)",
        "functions.A: give one of handler, command or url, not handler and command",
        "functions.B.reserved_concurrency: Input should be greater than or equal to 0 (got -1)",
        "functions.C.faults[0]: a fault needs `rate` (a probability per call) or `calls` (call "
        "numbers, 1-based)",
        "colour: unknown key; check its spelling against docs/backends.md",
    ]


def test_references_are_checked_against_what_exists(tmp_path: Path) -> None:
    write(tmp_path, "h.py", HANDLERS)
    path = write(
        tmp_path,
        "asl.toml",
        """
        mock_config = "missing.json"

        [functions.Greet]
        handler = "h.nope"

        [functions.Orphan]
        timeout = 10

        [functions.Tool]
        command = ["no-such-program-xyz"]

        [functions.Remote]
        url = "ftp://example"

        [resources]
        "arn:aws:states:::sqs:sendMessage" = "Queue"
        """,
    )
    checked = check_config(path)
    config, problems = checked.config, checked.problems
    assert config is None
    texts = [str(p) for p in problems]
    assert texts[:3] == [
        f"functions.Greet.handler: '{tmp_path / 'h.py'}' defines no function 'nope' (it "
        "defines: greet, queue)",
        "functions.Orphan: no handler, command or url, and no source defines a function named "
        "'Orphan'; give one, or add the file defining it to lambda.sources",
        "resources.arn:aws:states:::sqs:sendMessage: no function named 'Queue'; define "
        "[functions.Queue]",
    ]
    assert texts[3].startswith("functions.Tool.command: ")
    assert "no-such-program-xyz" in texts[3]
    assert texts[4].startswith("functions.Remote.url: ")
    assert texts[5] == f"mock_config: no such file: {tmp_path / 'missing.json'}"
    assert len(texts) == 6


def test_load_config_raises_with_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "asl.toml", "[lambda]\ntimeout = 'x'\n")
    with pytest.raises(InvalidRequest) as caught:
        load_config(path)
    assert caught.value.code == "InvalidConfig"
    assert caught.value.message == (
        f"Invalid config file {path}:\n"
        "  lambda.timeout: Input should be a valid integer, unable to parse string as an integer"
    )


def test_toml_syntax_errors_say_where(tmp_path: Path) -> None:
    path = write(tmp_path, "asl.toml", "[lambda\n")
    checked = check_config(path)
    config, problems = checked.config, checked.problems
    assert config is None
    assert [p.message for p in problems] == [
        "not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 8)"
    ]


# --------------------------------------------------------------------------- what it builds


def test_no_config_builds_what_a_config_of_only_the_unknown_timeout_builds() -> None:
    """Without a file the backends are built without the schema (no pydantic at start-up);
    they must be the ones `lambda.timeout = UNCONFIGURED_TIMEOUT` and the defaults build."""
    from engine.backends.functions import UNCONFIGURED_TIMEOUT

    def greet(event: object, context: object) -> object:
        return event

    configured = AslConfig.model_validate({"lambda": {"timeout": int(UNCONFIGURED_TIMEOUT)}})
    built = [
        build_function_backends(config, functions={"greet": greet}, close=True)
        for config in (None, configured)
    ]
    seen = []
    for backends in built:
        backend = backends.lambda_backend
        function = backend._functions["greet"]
        pool = function.runner._pool  # type: ignore[attr-defined]
        seen.append(
            (
                backend.function_names,
                function.settings,
                backend._unreserved_limit,
                pool._max_workers,
                pool._max_abandoned,
                backends.resources,
            )
        )
    assert seen[0] == seen[1]
    assert seen[0][1].timeout == UNCONFIGURED_TIMEOUT


def test_sources_handlers_settings_and_resources(tmp_path: Path) -> None:
    write(tmp_path, "src/h.py", HANDLERS)
    write(tmp_path, "more.py", "def extra(event, context):\n    return 'extra'\n")
    path = write(
        tmp_path,
        "asl.toml",
        """
        [lambda]
        sources = ["more.py"]
        memory_size = 256

        [functions.Greet]
        handler = "h.greet"
        code = "src"
        memory_size = 1024
        timeout = 30

        [functions.extra]
        reserved_concurrency = 3

        [functions.Queue]
        handler = "h.queue"
        code = "src"

        [resources]
        "arn:aws:states:::sqs:sendMessage" = "Queue"
        """,
    )
    built = build_function_backends(load_config(path))
    backend = built.lambda_backend
    assert backend.function_names == ["extra", "Greet", "Queue"]
    machine = {
        "StartAt": "Greet",
        "States": {
            "Greet": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Greet",
                "ResultPath": "$.greeting",
                "Next": "Send",
            },
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "q", "MessageBody.$": "$.name"},
                "ResultPath": "$.sent",
                "End": True,
            },
        },
    }

    async def scenario() -> object:
        engine = Engine(config=path, clock=VirtualClock())
        try:
            return await engine.run(engine.load(machine), {"name": "Ada"})
        finally:
            await engine.aclose()

    result = asyncio.run(scenario())
    built.close()
    assert result.status == "SUCCEEDED"  # type: ignore[attr-defined]
    assert result.output == {  # type: ignore[attr-defined]
        "name": "Ada",
        "greeting": {"hello": "Ada", "memory": "1024"},
        "sent": {"MessageId": "m-1", "Body": "Ada"},
    }


def test_sources_serve_public_functions_and_a_handler_may_name_a_private_one(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "h.py",
        "from json import dumps\n\n"
        "def public(event, context):\n    return 1\n\n"
        "def _private(event, context):\n    return 2\n",
    )
    path = write(
        tmp_path,
        "asl.toml",
        """
        [lambda]
        sources = ["h.py"]
        max_abandoned = 3

        [functions.Chosen]
        handler = "h._private"
        """,
    )
    built = build_function_backends(load_config(path))
    try:
        assert built.lambda_backend.function_names == ["public", "Chosen"]
    finally:
        built.close()


def test_an_unmapped_service_integration_names_the_key_to_set() -> None:
    machine = {
        "StartAt": "Send",
        "States": {
            "Send": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": True}
        },
    }

    async def scenario() -> object:
        engine = Engine(clock=VirtualClock())
        try:
            return await engine.run(engine.load(machine))
        finally:
            await engine.aclose()

    result = asyncio.run(scenario())
    assert (result.status, result.error, result.cause) == (  # type: ignore[attr-defined]
        "FAILED",
        "States.Runtime",
        "No backend serves resource 'arn:aws:states:::sns:publish'. Map it to a function in "
        'asl.toml ([resources] "arn:aws:states:::sns:publish" = "NAME", with [functions.NAME] '
        "defining it), or mock this state with a mock config (--mock-config FILE or "
        "SFN_MOCK_CONFIG). Or call an AWS endpoint (LocalStack, moto's server): set [aws] "
        "endpoint_url in asl.toml or AWS_ENDPOINT_URL (docs/integrations.md).",
    )


# ------------------------------------------------------------ Lambda limits in a workflow

THROTTLED_MACHINE = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hold",
            "Retry": [
                {
                    "ErrorEquals": ["Lambda.TooManyRequestsException"],
                    "IntervalSeconds": 60,
                    "MaxAttempts": 3,
                }
            ],
            "End": True,
        }
    },
}


def test_n_executions_against_reserved_concurrency_k_throttle_the_excess_and_retry_recovers() -> (
    None
):
    executions, reserved = 7, 3
    gate = asyncio.Event()

    async def hold(event: object, context: object) -> object:
        await gate.wait()
        return event

    config = AslConfig.model_validate({"functions": {"hold": {"reserved_concurrency": reserved}}})

    async def scenario() -> tuple[list[object], int, int]:
        engine = Engine(functions={"hold": hold}, config=config, clock=VirtualClock())
        stats = engine.lambda_backend.stats("hold")
        try:
            machine = engine.load(THROTTLED_MACHINE)
            arns = [engine.start(machine, {"n": n}) for n in range(executions)]
            for _ in range(10_000):  # let every first attempt happen; the K callers hold
                if stats.throttles == executions - reserved:
                    break
                await asyncio.sleep(0)
            first_round = stats.throttles
            gate.set()
            results = [await engine.result(arn) for arn in arns]
            return results, first_round, stats.peak_running
        finally:
            await engine.aclose()

    results, first_round, peak = asyncio.run(scenario())
    assert first_round == executions - reserved
    assert peak == reserved
    assert [r.status for r in results] == ["SUCCEEDED"] * executions  # type: ignore[attr-defined]
    assert [r.output for r in results] == [{"n": n} for n in range(executions)]  # type: ignore[attr-defined]
    failed = [
        e.details["error"]  # type: ignore[attr-defined]
        for r in results
        for e in r.events  # type: ignore[attr-defined]
        if e.type == "LambdaFunctionFailed"
    ]
    assert failed == ["Lambda.TooManyRequestsException"] * (executions - reserved)


def test_function_timeout_from_the_config_fails_the_task_with_sandbox_timedout(
    tmp_path: Path,
) -> None:
    never = asyncio.Event()

    async def stuck(event: object, context: object) -> object:
        await never.wait()
        return None

    config = AslConfig.model_validate({"functions": {"stuck": {"timeout": 1}}})
    machine = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:stuck",
                "End": True,
            }
        },
    }

    async def scenario() -> object:
        engine = Engine(functions={"stuck": stuck}, config=config, clock=VirtualClock())
        try:
            return await engine.run(engine.load(machine))
        finally:
            await engine.aclose()

    result = asyncio.run(scenario())
    assert result.status == "FAILED"  # type: ignore[attr-defined]
    assert result.error == "Sandbox.Timedout"  # type: ignore[attr-defined]
    cause = json.loads(result.cause)  # type: ignore[attr-defined]
    assert list(cause) == ["errorType", "errorMessage"]
    assert cause["errorMessage"].endswith(" Error: Task timed out after 1.00 seconds")


# --------------------------------------------------------------------------- asl config check


def test_config_check_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "h.py", HANDLERS)
    path = write(tmp_path, "asl.toml", QUEUE_CONFIG)
    assert main(["config", "check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: valid (2 functions, 1 resource mappings)\n"
    assert main(["config", "check", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "file": str(path),
        "valid": True,
        "problems": [],
        "functions": ["greet", "queue"],
        "resources": {"arn:aws:states:::sqs:sendMessage": "queue"},
    }


def test_config_check_invalid_and_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "asl.toml", "[functions.F]\ntimeout = 0\n")
    assert main(["config", "check", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: functions.F.timeout: Input should be greater than or equal to 1 (got 0)",
        f"{path}: INVALID (1 problems)",
    ]
    monkeypatch.chdir(tmp_path / "..")
    monkeypatch.delenv("ASL_CONFIG", raising=False)
    assert main(["config", "check", str(tmp_path / "nope.toml")]) == 2
    assert capsys.readouterr().err == f"asl: {tmp_path / 'nope.toml'}: no such file\n"


def test_run_with_a_broken_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "asl.toml", "[lambda]\ntimeout = 1000\n")
    machine = write(
        tmp_path,
        "m.asl.json",
        '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}',
    )
    assert main(["run", str(machine), "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"asl: Invalid config file {config}:\n"
        "  lambda.timeout: Input should be less than or equal to 900 (got 1000)\n"
    )


def test_config_check_checks_the_mock_config_it_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        "mocks.json",
        '{"StateMachines": {"m": {"TestCases": {"T": {"A": "Missing"}}}}, "MockedResponses": {}}',
    )
    path = write(tmp_path, "asl.toml", 'mock_config = "mocks.json"\n')
    assert main(["config", "check", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{path}: mock_config: {tmp_path / 'mocks.json'}: ")
    assert "/StateMachines/m/TestCases/T/A" in lines[0]
    assert "Missing" in lines[0]
    assert lines[-1] == f"{path}: INVALID ({len(lines) - 1} problems)"


def test_run_takes_the_mock_config_from_asl_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SFN_MOCK_CONFIG", raising=False)
    write(
        tmp_path,
        "mocks.json",
        json.dumps(
            {
                "StateMachines": {"send": {"TestCases": {"Ok": {"Send": "Sent"}}}},
                "MockedResponses": {"Sent": {"0": {"Return": {"MessageId": "m-7"}}}},
            }
        ),
    )
    config = write(tmp_path, "asl.toml", 'mock_config = "mocks.json"\n')
    machine = write(
        tmp_path,
        "send.asl.json",
        json.dumps(
            {
                "StartAt": "Send",
                "States": {
                    "Send": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sqs:sendMessage",
                        "Parameters": {"QueueUrl": "q", "MessageBody": "hi"},
                        "End": True,
                    }
                },
            }
        ),
    )
    code = main(["run", str(machine), "--config", str(config), "--test-case", "Ok", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["output"] == {"MessageId": "m-7"}


# ------------------------------------------------------------ commands and URLs end to end

CALL = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:F",
            "End": True,
        }
    },
}


def run_with(config: AslConfig, execution_input: object) -> object:
    async def scenario() -> object:
        engine = Engine(config=config, clock=VirtualClock())
        try:
            return await engine.run(engine.load(CALL), execution_input)
        finally:
            await engine.aclose()

    return asyncio.run(scenario())


def test_a_command_past_its_timeout_is_killed_and_the_task_times_out(tmp_path: Path) -> None:
    script = write(tmp_path, "slow.sh", "#!/bin/sh\nexec sleep 30\n")
    script.chmod(0o755)
    config = AslConfig.model_validate(
        {"functions": {"F": {"command": [str(script)], "timeout": 1}}, "folder": tmp_path}
    )
    result = run_with(config, {})
    assert result.status == "FAILED"  # type: ignore[attr-defined]
    assert result.error == "Sandbox.Timedout"  # type: ignore[attr-defined]
    assert json.loads(result.cause)["errorMessage"].endswith(  # type: ignore[attr-defined]
        "Error: Task timed out after 1.00 seconds"
    )


def test_a_command_and_its_settings_reach_the_process(tmp_path: Path) -> None:
    config = AslConfig.model_validate(
        {
            "functions": {
                "F": {
                    "command": [
                        sys.executable,
                        "-c",
                        "import json, os, sys; e = json.load(sys.stdin); print(json.dumps("
                        "{'got': e, 'memory': os.environ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'], "
                        "'name': os.environ['AWS_LAMBDA_FUNCTION_NAME'], "
                        "'flag': os.environ['FLAG']}))",
                    ],
                    "env": {"FLAG": "on"},
                    "memory_size": 2048,
                }
            },
            "folder": tmp_path,
        }
    )
    result = run_with(config, {"n": 1})
    assert (result.status, result.output) == (  # type: ignore[attr-defined]
        "SUCCEEDED",
        {"got": {"n": 1}, "memory": "2048", "name": "F", "flag": "on"},
    )


def test_a_url_function_answers_through_the_lambda_layer() -> None:
    from tests.backends.http_server import HttpServer

    async def scenario() -> tuple[object, int]:
        async with HttpServer() as server:  # echoes the event
            config = AslConfig.model_validate({"functions": {"F": {"url": server.url}}})
            engine = Engine(config=config, clock=VirtualClock())
            try:
                result = await engine.run(engine.load(CALL), {"hello": "http"})
            finally:
                await engine.aclose()
            return result, len(server.requests)

    result, requests = asyncio.run(scenario())
    assert (result.status, result.output, requests) == (  # type: ignore[attr-defined]
        "SUCCEEDED",
        {"hello": "http"},
        1,
    )


def test_a_durable_service_runs_functions_and_resources_from_the_config(tmp_path: Path) -> None:
    from engine.service import Service, ServiceConfig
    from engine.store.memory import MemoryStore

    write(tmp_path, "h.py", HANDLERS)
    path = write(tmp_path, "asl.toml", QUEUE_CONFIG)
    machine = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "q", "MessageBody.$": "$.text"},
                "End": True,
            }
        },
    }

    async def scenario() -> object:
        async with Service(
            MemoryStore(),
            functions_config=path,
            clock=VirtualClock(),
            config=ServiceConfig(poll_seconds=0.01),
        ) as service:
            created, _ = await service.create_state_machine("send", json.dumps(machine))
            started = await service.start_execution(created.arn, input_text='{"text": "hi"}')
            return await asyncio.wait_for(service.wait_for(started.arn), 30)

    record = asyncio.run(scenario())
    assert (record.status, record.output) == (  # type: ignore[attr-defined]
        "SUCCEEDED",
        {"MessageId": "m-1", "Body": "hi"},
    )


def test_configured_service_errors_are_retried_by_the_workflow(tmp_path: Path) -> None:
    calls: list[object] = []

    def charge(event: object, context: object) -> object:
        calls.append(event)
        return {"charged": True}

    config = AslConfig.model_validate(
        {
            "functions": {
                "charge": {"faults": [{"error": "Lambda.ServiceException", "calls": [1, 2]}]}
            }
        }
    )
    machine = {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:charge",
                "Retry": [
                    {
                        "ErrorEquals": ["Lambda.ServiceException"],
                        "IntervalSeconds": 2,
                        "MaxAttempts": 3,
                    }
                ],
                "End": True,
            }
        },
    }

    async def scenario() -> object:
        engine = Engine(functions={"charge": charge}, config=config, clock=VirtualClock())
        try:
            return await engine.run(engine.load(machine), {"amount": 5})
        finally:
            await engine.aclose()

    result = asyncio.run(scenario())
    assert (result.status, result.output) == ("SUCCEEDED", {"charged": True})  # type: ignore[attr-defined]
    assert calls == [{"amount": 5}]  # the two service errors never reached the function
    assert [
        (e.type, (e.details or {}).get("error"))  # type: ignore[attr-defined]
        for e in result.events  # type: ignore[attr-defined]
        if e.type.startswith("LambdaFunction")
    ] == [
        ("LambdaFunctionScheduled", None),
        ("LambdaFunctionStarted", None),
        ("LambdaFunctionFailed", "Lambda.ServiceException"),
        ("LambdaFunctionScheduled", None),
        ("LambdaFunctionStarted", None),
        ("LambdaFunctionFailed", "Lambda.ServiceException"),
        ("LambdaFunctionScheduled", None),
        ("LambdaFunctionStarted", None),
        ("LambdaFunctionSucceeded", None),
    ]
