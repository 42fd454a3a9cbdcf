"""`engine.errors.TaskError`: a Python handler fails its Task with any error name and cause.

An ordinary exception keeps Lambda's semantics (error = class name, cause = the envelope); a
TaskError's name and cause reach the Task as they stand, for a Lambda function, a
`lambda:invoke` integration and a `[resources]` stand-in alike, in blocking and async handlers.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.embedded import Engine, ExecutionResult
from engine.errors import TaskError
from engine.values import JSON

ERROR = "DynamoDB.ConditionalCheckFailedException"
CAUSE = (
    "The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: "
    "ConditionalCheckFailedException; Request ID: R1; Proxy: null)"
)


def refuse(event: JSON, context: object) -> JSON:
    raise TaskError(ERROR, CAUSE)


async def refuse_later(event: JSON, context: object) -> JSON:
    await asyncio.sleep(0)
    raise TaskError(ERROR, CAUSE)


def without_cause(event: JSON, context: object) -> JSON:
    raise TaskError("Orders.OutOfStock")


class OutOfStockError(Exception):
    pass


def ordinary(event: JSON, context: object) -> JSON:
    raise OutOfStockError("no stock for sku-1")


def run(resource: str, handler: Callable[..., object], **engine_options: object) -> ExecutionResult:
    parameters: JSON = {"FunctionName": "put", "Payload": {}} if resource.endswith("invoke") else {}
    definition: dict[str, JSON] = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": resource,
                "Parameters": parameters,
                "Catch": [{"ErrorEquals": [ERROR], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }

    async def scenario() -> ExecutionResult:
        engine = Engine.for_testing(functions={"put": handler}, **engine_options)
        try:
            return await engine.run(engine.load(definition, name="put"), {})
        finally:
            await engine.aclose()

    return asyncio.run(scenario())


LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:put"


@pytest.mark.parametrize("handler", [refuse, refuse_later], ids=["blocking", "async"])
@pytest.mark.parametrize("resource", [LAMBDA, "arn:aws:states:::lambda:invoke"])
def test_a_task_error_is_the_tasks_failure_as_it_stands(
    resource: str, handler: Callable[..., object]
) -> None:
    result = run(resource, handler)
    assert result.status == "SUCCEEDED"
    assert result.output == {"Error": ERROR, "Cause": CAUSE}
    [failed] = [e.as_json() for e in result.events if e.type.endswith("Failed")]
    key = "lambdaFunctionFailedEventDetails" if resource == LAMBDA else "taskFailedEventDetails"
    details = failed[key]
    assert isinstance(details, dict)
    assert (details["error"], details["cause"]) == (ERROR, CAUSE)


def test_a_resources_stand_in_fails_with_the_services_error(tmp_path: Path) -> None:
    config = tmp_path / "asl.toml"
    config.write_text('[resources]\n"arn:aws:states:::dynamodb:putItem" = "put"\n[functions.put]\n')
    result = run("arn:aws:states:::dynamodb:putItem", refuse, config=config)
    assert result.output == {"Error": ERROR, "Cause": CAUSE}


def test_a_task_error_without_cause_has_none() -> None:
    result = run(LAMBDA, without_cause)
    assert (result.status, result.error, result.cause) == ("FAILED", "Orders.OutOfStock", None)


def test_an_ordinary_exception_keeps_lambdas_envelope() -> None:
    result = run(LAMBDA, ordinary)
    assert (result.status, result.error) == ("FAILED", "OutOfStockError")
    assert result.cause is not None
    envelope = json.loads(result.cause)
    assert list(envelope) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert (envelope["errorType"], envelope["errorMessage"]) == (
        "OutOfStockError",
        "no stock for sku-1",
    )


@pytest.mark.parametrize(
    ("args", "kind", "message"),
    [
        (("",), ValueError, "TaskError needs an error name, e.g. 'MyService.SomethingFailed'"),
        ((1,), ValueError, "TaskError needs an error name, e.g. 'MyService.SomethingFailed'"),
        (("A.B", 2), TypeError, "TaskError's cause must be a string or None, not int"),
    ],
    ids=["empty", "not text", "cause not text"],
)
def test_task_error_refuses_what_no_task_can_fail_with(
    args: tuple[object, ...], kind: type[Exception], message: str
) -> None:
    with pytest.raises(kind) as raised:
        TaskError(*args)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_importing_task_error_loads_nothing_else_of_the_engine() -> None:
    code = (
        "import sys; from engine.errors import TaskError; "
        "print(sorted(m for m in sys.modules if m == 'engine' or m.startswith('engine.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['engine', 'engine.errors']"
