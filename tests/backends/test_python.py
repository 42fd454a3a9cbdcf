"""The Python function backend: loading functions files, both Lambda integrations, the pool.

Expected values come from recorded AWS executions (shared/conformance/cases/exec, tags `lambda`
and `lambda_invoke`); the case behind each is named beside it. Values AWS generates per call
(request ids, dates, trace ids) are checked by format, then substituted into the exact shape.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.backends.functions import MAX_TIMEOUT, FunctionSettings
from engine.backends.python import (
    DEFAULT_MAX_ABANDONED,
    INVALID_FUNCTIONS_FILE,
    HandlerPool,
    PoolStats,
    PythonFunctionBackend,
    load_functions,
    pool_stats,
)
from engine.backends.runner import Outcome, Returned
from engine.errors import InvalidRequest
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.values import JSON
from tests.backends.calls import VIAS, call_via, settle
from tests.backends.fixtures import handlers

FIXTURE = Path(__file__).parent / "fixtures" / "handlers.py"
ARN = "arn:aws:lambda:us-east-1:111111111111:function:"
INVOKE = "arn:aws:states:::lambda:invoke"
NOW = datetime(2024, 3, 6, 10, 29, 14, tzinfo=UTC)
DATE = "Wed, 06 Mar 2024 10:29:14 GMT"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
TRACE = re.compile(r"root=1-65e8457a-[0-9a-f]{24};parent=[0-9a-f]{16};sampled=0")
NOT_FOUND = (
    "Function not found: arn:aws:lambda:us-east-1:111111111111:function:{name}:$LATEST "
    "(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; "
    "Request ID: {rid}; Proxy: null)"
)

SERVED = [
    "greeter",
    "id_function",
    "raise_exception",
    "raise_custom",
    "return_bytes_str",
    "return_text_bytes",
    "return_tuple",
    "return_set",
    "exit_three",
    "mutate_event",
    "big_output",
    "describe_context",
    "async_echo",
    "async_raise",
    "helper_user",
]


def request(resource: str, payload: JSON, timeout: float | None = None) -> TaskRequest:
    return TaskRequest(
        resource=resource,
        payload=payload,
        execution_arn="arn:aws:states:us-east-1:111111111111:execution:m:e",
        state_name="Task",
        timeout_seconds=timeout,
    )


@pytest.fixture(scope="module")
def backend() -> PythonFunctionBackend:
    return PythonFunctionBackend(load_functions(str(FIXTURE)), max_workers=2, now=lambda: NOW)


def invoke(backend: PythonFunctionBackend, req: TaskRequest, via: str = "invoke") -> TaskResult:
    return asyncio.run(call_via(backend, via, req))


def frame(function: Callable[..., object], line: str) -> str:
    """A stackTrace entry for the line right after `def` of a fixture handler."""
    lineno = function.__code__.co_firstlineno + 1
    return f'  File "{FIXTURE}", line {lineno}, in {function.__name__}\n    {line}\n'


def envelope(cause: str | None) -> tuple[str, dict[str, JSON]]:
    """The request id of a Lambda error cause (checked to be a uuid) and the parsed envelope."""
    assert cause is not None
    parsed = json.loads(cause)
    assert list(parsed) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert UUID.fullmatch(parsed["requestId"])
    assert cause == json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)  # compact
    return parsed["requestId"], parsed


# --------------------------------------------------------------------------- load_functions


def test_load_functions_from_file_serves_top_level_functions_defined_there() -> None:
    functions = load_functions(str(FIXTURE))
    assert list(functions) == SERVED
    assert functions["id_function"]({"a": 1}, None) == {"a": 1}


def test_load_functions_from_dotted_module_name() -> None:
    functions = load_functions("tests.backends.fixtures.handlers")
    assert list(functions) == SERVED
    assert functions["id_function"] is handlers.id_function


def test_private_helpers_are_not_served_unless_named_explicitly() -> None:
    assert "_helper" not in load_functions(str(FIXTURE))
    assert "dumps" not in load_functions(str(FIXTURE))  # imported: not defined there
    explicit = load_functions(str(FIXTURE), private=True)
    assert explicit["_helper"]({"a": 1}, None) == {"helper": {"a": 1}}
    assert list(explicit) == [*SERVED[:-1], "_helper", "helper_user"]


def test_each_file_load_is_an_independent_module() -> None:
    first = load_functions(str(FIXTURE))["id_function"]
    second = load_functions(str(FIXTURE))["id_function"]
    assert first is not second
    assert first.__module__ != second.__module__
    assert first.__module__ in sys.modules


BAD_FILES = [
    ("missing.py", None, "no such file"),
    ("folder.py", "DIR", "not a file"),
    ("syntax.py", "def f(event, context)\n    return 1\n", "line 1: syntax error: expected ':'"),
    (
        "raises.py",
        "X = 1\nraise RuntimeError('no config')\n",
        "line 2: importing it raised RuntimeError: no config",
    ),
    (
        "exits.py",
        "import sys\nsys.exit(2)\n",
        "line 2: importing it raised SystemExit: 2",
    ),
    (
        "empty.py",
        "from json import dumps\nVALUE = 1\n",
        "it defines no functions (expected top-level `def NAME(event, context)`)",
    ),
]


@pytest.mark.parametrize(
    ("filename", "text", "problem"), BAD_FILES, ids=[case[0] for case in BAD_FILES]
)
def test_load_functions_reports_a_bad_file_by_name_and_problem(
    tmp_path: Path, filename: str, text: str | None, problem: str
) -> None:
    path = tmp_path / filename
    if text == "DIR":
        path.mkdir()
    elif text is not None:
        path.write_text(text)
    with pytest.raises(InvalidRequest) as caught:
        load_functions(str(path))
    assert caught.value.code == INVALID_FUNCTIONS_FILE
    assert caught.value.message == f"Cannot load functions from '{path}': {problem}"
    assert not any(name.endswith(f"_{path.stem}") for name in sys.modules if "asl_fun" in name)


BAD_MODULES = [
    ("no_such_module_xyz", "no module named 'no_such_module_xyz'"),
    ("tests.backends.no_such", "no module named 'tests.backends.no_such'"),
    ("not a module", "neither an existing file nor a dotted module name"),
]


@pytest.mark.parametrize(("name", "problem"), BAD_MODULES, ids=[c[0] for c in BAD_MODULES])
def test_load_functions_reports_a_bad_module_name(name: str, problem: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        load_functions(name)
    assert caught.value.code == INVALID_FUNCTIONS_FILE
    assert caught.value.message == f"Cannot load functions from '{name}': {problem}"


# --------------------------------------------------------------------------- function ARN resource


FUNCTION_RESULTS = [
    ("object", "id_function", {"a": [1, 2], "b": {"c": None}}, {"a": [1, 2], "b": {"c": None}}),
    # Recorded: test_lambda_task/test_invoke_json_values.0_1 and test_invoke_string_payload.
    ("number", "id_function", 0, 0),
    ("string", "id_function", "HelloWorld", "HelloWorld"),
    ("json-looking string stays a string", "id_function", "0", "0"),
    # Recorded: LocalStack test_lambda_task.py::test_invoke_json_values[None] (04-08-2023): the
    # function gets null, and its null is the Task's result.
    ("null input is the event null", "id_function", None, None),
    # Recorded: test_lambda_task/test_invoke_bytes_payload.
    ("bytes are the raw payload", "return_bytes_str", {}, "HelloWorld!"),
    ("non-JSON bytes become a string", "return_text_bytes", {}, "not json"),
    (
        "tuples become lists",
        "return_tuple",
        {},
        {"pair": [1, 2], "none": None, "text": "h\u00e9"},
    ),
    ("callable instance", "greeter", [1], {"greeting": "hello", "event": [1]}),
]


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [case[1:] for case in FUNCTION_RESULTS],
    ids=[case[0] for case in FUNCTION_RESULTS],
)
@pytest.mark.parametrize("via", VIAS)
def test_function_arn_result_is_the_handler_return_value(
    backend: PythonFunctionBackend, via: str, name: str, payload: JSON, expected: JSON
) -> None:
    assert invoke(backend, request(ARN + name, payload), via) == TaskSuccess(expected)


@pytest.mark.parametrize("via", VIAS)
def test_function_arn_with_qualifier_serves_the_same_handler(
    backend: PythonFunctionBackend,
    via: str,
) -> None:
    result = invoke(backend, request(ARN + "describe_context:7", {}), via)
    assert isinstance(result, TaskSuccess)
    assert isinstance(result.output, dict)
    assert result.output["function_version"] == "7"
    assert result.output["invoked_function_arn"] == ARN + "describe_context:7"


@pytest.mark.parametrize("via", VIAS)
def test_raising_handler_gives_the_lambda_error_envelope(
    backend: PythonFunctionBackend, via: str
) -> None:
    # Recorded: test_base_scenarios/test_lambda_empty_retry (error "Exception", cause envelope).
    result = invoke(backend, request(ARN + "raise_exception", {}), via)
    assert isinstance(result, TaskFailure)
    rid, parsed = envelope(result.cause)
    assert result.error == "Exception"
    assert parsed == {
        "errorMessage": "Some exception was raised.",
        "errorType": "Exception",
        "requestId": rid,
        "stackTrace": [
            frame(handlers.raise_exception, 'raise Exception("Some exception was raised.")')
        ],
    }


FAILURES = [
    # Recorded: test_task_service_lambda/test_raise_custom_exception (errorMessage "").
    ("custom", "raise_custom", {}, "CustomError", "", "raise CustomError()"),
    (
        "async",
        "async_raise",
        {"value": 7},
        "ValueError",
        "bad value 7",
        "raise ValueError(f\"bad value {event['value']}\")",
    ),
]


@pytest.mark.parametrize(
    ("name", "payload", "error", "message", "line"),
    [case[1:] for case in FAILURES],
    ids=[case[0] for case in FAILURES],
)
@pytest.mark.parametrize("resource", ["arn", "invoke"])
@pytest.mark.parametrize("via", VIAS)
def test_error_name_is_the_error_type_in_both_integrations(
    backend: PythonFunctionBackend,
    via: str,
    resource: str,
    name: str,
    payload: JSON,
    error: str,
    message: str,
    line: str,
) -> None:
    if resource == "arn":
        req = request(ARN + name, payload)
    else:
        req = request(INVOKE, {"FunctionName": name, "Payload": payload})
    result = invoke(backend, req, via)
    assert isinstance(result, TaskFailure)
    rid, parsed = envelope(result.cause)
    assert result.error == error
    assert parsed == {
        "errorMessage": message,
        "errorType": error,
        "requestId": rid,
        "stackTrace": [frame(getattr(handlers, name), line)],
    }


RUNTIME_FAILURES = [
    (
        "unserialisable result",
        "return_set",
        "Runtime.MarshalError",
        "Unable to marshal response: Object of type set is not JSON serializable",
    ),
    (
        "sys.exit",
        "exit_three",
        "Runtime.ExitError",
        "RequestId: {rid} Error: Runtime exited with error: exit status 3",
    ),
]


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [case[1:] for case in RUNTIME_FAILURES],
    ids=[case[0] for case in RUNTIME_FAILURES],
)
@pytest.mark.parametrize("via", VIAS)
def test_runtime_failures_are_reported_as_the_lambda_runtime_does(
    backend: PythonFunctionBackend, via: str, name: str, error: str, message: str
) -> None:
    result = invoke(backend, request(ARN + name, {}), via)
    assert isinstance(result, TaskFailure)
    rid, parsed = envelope(result.cause)
    assert result.error == error
    assert parsed == {
        "errorMessage": message.format(rid=rid),
        "errorType": error,
        "requestId": rid,
        "stackTrace": [],
    }


@pytest.mark.parametrize("via", VIAS)
def test_async_handler_is_awaited_on_the_loop(backend: PythonFunctionBackend, via: str) -> None:
    result = invoke(backend, request(ARN + "async_echo", {"k": "v"}), via)
    assert isinstance(result, TaskSuccess)
    assert isinstance(result.output, dict)
    assert result.output["async"] == {"k": "v"}
    assert UUID.fullmatch(str(result.output["request_id"]))


@pytest.mark.parametrize(
    ("req", "cause"),
    [
        # Recorded: test_states_errors/test_task_lambda_catch_state_all_data_limit_exceeded_...
        (
            request(ARN + "big_output", {}),
            f"The state/task '{ARN}big_output' returned a result with a size exceeding the "
            "maximum number of bytes service limit.",
        ),
        # Recorded: test_states_errors/test_service_task_lambada_data_limit_exceeded_...
        (
            request(INVOKE, {"FunctionName": "big_output"}),
            "The state/task 'lambda' returned a result with a size exceeding the maximum number "
            "of bytes service limit.",
        ),
    ],
    ids=["function-arn", "lambda-invoke"],
)
@pytest.mark.parametrize("via", VIAS)
def test_result_over_256_kib_is_data_limit_exceeded(
    backend: PythonFunctionBackend, via: str, req: TaskRequest, cause: str
) -> None:
    assert invoke(backend, req, via) == TaskFailure("States.DataLimitExceeded", cause)


@pytest.mark.parametrize(
    ("req", "name"),
    [
        (request(ARN + "no_such_raise_exception", {}), "no_such_raise_exception"),
        # Recorded: test_task_service_lambda/test_no_such_function.
        (
            request(INVOKE, {"FunctionName": "no_such_raise_exception", "Payload": None}),
            "no_such_raise_exception",
        ),
        (
            request(INVOKE, {"FunctionName": ARN + "no_such_raise_exception"}),
            "no_such_raise_exception",
        ),
        # A file serves only the public functions it defines: not `_helper`, not `dumps`.
        (request(ARN + "_helper", {}), "_helper"),
        (request(INVOKE, {"FunctionName": "_helper", "Payload": {}}), "_helper"),
        (request(ARN + "dumps", {}), "dumps"),
    ],
    ids=[
        "function-arn",
        "invoke-by-name",
        "invoke-by-arn",
        "private-by-arn",
        "private-by-invoke",
        "imported",
    ],
)
@pytest.mark.parametrize("via", VIAS)
def test_missing_function_fails_as_lambda_does(
    backend: PythonFunctionBackend, via: str, req: TaskRequest, name: str
) -> None:
    result = invoke(backend, req, via)
    assert isinstance(result, TaskFailure)
    assert result.error == "Lambda.ResourceNotFoundException"
    assert result.cause is not None
    rid = re.search(r"Request ID: ([^;]+);", result.cause)
    assert rid is not None
    assert UUID.fullmatch(rid[1])
    assert result.cause == NOT_FOUND.format(name=name, rid=rid[1])


@pytest.mark.parametrize("via", VIAS)
def test_resource_it_does_not_serve_is_a_runtime_failure(
    backend: PythonFunctionBackend, via: str
) -> None:
    result = invoke(backend, request("arn:aws:states:::sqs:sendMessage", {}), via)
    assert result == TaskFailure(
        "States.Runtime",
        "The Lambda backend cannot serve resource 'arn:aws:states:::sqs:sendMessage': "
        "it serves Lambda function ARNs (arn:aws:lambda:REGION:ACCOUNT:function:NAME) and "
        "arn:aws:states:::lambda:invoke. Map this resource to a function in the config file "
        "([resources] in asl.toml).",
    )


# --------------------------------------------------------------------------- lambda:invoke


def expected_invoke(
    result: TaskResult, payload: JSON, length: int, log: bool = False
) -> dict[str, JSON]:
    """AWS's recorded lambda:invoke shape (test_lambda_task_service/test_invoke and
    test_invoke_unsupported_param), with this result's generated values filled in."""
    assert isinstance(result, TaskSuccess)
    assert isinstance(result.output, dict)
    meta = result.output["SdkResponseMetadata"]
    assert isinstance(meta, dict)
    rid = meta["RequestId"]
    assert isinstance(rid, str)
    assert UUID.fullmatch(rid)
    http = result.output["SdkHttpMetadata"]
    assert isinstance(http, dict)
    headers = http["HttpHeaders"]
    assert isinstance(headers, dict)
    trace = headers["X-Amzn-Trace-Id"]
    assert isinstance(trace, str)
    assert TRACE.fullmatch(trace)
    all_headers: dict[str, JSON] = {}
    plain: dict[str, JSON] = {
        "Connection": "keep-alive",
        "Content-Length": str(length),
        "Content-Type": "application/json",
        "Date": DATE,
        "X-Amz-Executed-Version": "$LATEST",
    }
    out: dict[str, JSON] = {"ExecutedVersion": "$LATEST"}
    if log:
        log_result = result.output["LogResult"]
        assert isinstance(log_result, str)
        lines = base64.b64decode(log_result).decode().split("\n")
        assert lines[0] == f"START RequestId: {rid} Version: $LATEST"
        assert lines[1] == f"END RequestId: {rid}"
        assert re.fullmatch(
            rf"REPORT RequestId: {rid}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
            r"Memory Size: 128 MB\t",
            lines[2],
        )
        all_headers["X-Amz-Log-Result"] = [log_result]
        plain["X-Amz-Log-Result"] = log_result
        out["LogResult"] = log_result
    all_headers.update(
        {
            "X-Amz-Executed-Version": ["$LATEST"],
            "x-amzn-Remapped-Content-Length": ["0"],
            "Connection": ["keep-alive"],
            "x-amzn-RequestId": [rid],
            "Content-Length": [str(length)],
            "Date": [DATE],
            "X-Amzn-Trace-Id": [trace],
            "Content-Type": ["application/json"],
        }
    )
    plain.update(
        {"x-amzn-Remapped-Content-Length": "0", "x-amzn-RequestId": rid, "X-Amzn-Trace-Id": trace}
    )
    out.update(
        {
            "Payload": payload,
            "SdkHttpMetadata": {
                "AllHttpHeaders": all_headers,
                "HttpHeaders": plain,
                "HttpStatusCode": 200,
            },
            "SdkResponseMetadata": {"RequestId": rid},
            "StatusCode": 200,
        }
    )
    return out


INVOKE_PAYLOADS = [
    # Recorded: test_lambda_task_service/test_invoke (Payload null -> {}, Content-Length 2).
    ("null", {"Payload": None}, {}, 2),
    ("absent", {}, {}, 2),
    # Recorded: test_invoke_json_values.0.0 / .0_0 / .True: a string Payload is the raw body.
    ("string 0.0", {"Payload": "0.0"}, 0.0, 3),
    ("string 0", {"Payload": "0"}, 0, 1),
    ("string true", {"Payload": "true"}, True, 4),
    ("non-JSON string", {"Payload": "HelloWorld"}, "HelloWorld", 12),
    # Recorded: test_output/test_base_task_lambda.BASE_TASK_LAMBDA (Content-Length 60).
    (
        "object",
        {"Payload": {"input_value": "string literal", "input_values": [1, 2, 3]}},
        {"input_value": "string literal", "input_values": [1, 2, 3]},
        60,
    ),
]


@pytest.mark.parametrize(
    ("parameters", "payload", "length"),
    [case[1:] for case in INVOKE_PAYLOADS],
    ids=[case[0] for case in INVOKE_PAYLOADS],
)
def test_invoke_result_has_the_recorded_shape(
    backend: PythonFunctionBackend, parameters: dict[str, JSON], payload: JSON, length: int
) -> None:
    result = invoke(backend, request(INVOKE, {"FunctionName": "id_function", **parameters}))
    expected = expected_invoke(result, payload, length)
    assert isinstance(result, TaskSuccess)
    assert result.output == expected
    assert json.dumps(result.output) == json.dumps(expected)  # key order too


def test_invoke_bytes_payload(backend: PythonFunctionBackend) -> None:
    # Recorded: test_assign_reference_variables/..BASE_ASSIGN_FROM_LAMBDA_TASK_RESULT (full ARN).
    result = invoke(backend, request(INVOKE, {"FunctionName": ARN + "return_bytes_str"}))
    assert isinstance(result, TaskSuccess)
    assert result.output == expected_invoke(result, "HelloWorld!", 13)


def test_invoke_log_type_tail_adds_the_log_result(backend: PythonFunctionBackend) -> None:
    # Recorded: test_lambda_task_service/test_invoke_unsupported_param.
    result = invoke(
        backend,
        request(INVOKE, {"FunctionName": "id_function", "Payload": None, "LogType": "Tail"}),
    )
    expected = expected_invoke(result, {}, 2, log=True)
    assert isinstance(result, TaskSuccess)
    assert result.output == expected
    assert json.dumps(result.output) == json.dumps(expected)


FUNCTION_NAMES = [
    ("name", "describe_context", ARN + "describe_context", "$LATEST"),
    ("name with alias", "describe_context:prod", ARN + "describe_context:prod", "$LATEST"),
    ("partial ARN", "111111111111:function:describe_context", ARN + "describe_context", "$LATEST"),
    ("ARN", ARN + "describe_context", ARN + "describe_context", "$LATEST"),
    ("ARN with version", ARN + "describe_context:3", ARN + "describe_context:3", "3"),
    (
        "other region",
        "arn:aws:lambda:eu-west-1:222222222222:function:describe_context",
        "arn:aws:lambda:eu-west-1:222222222222:function:describe_context",
        "$LATEST",
    ),
]


@pytest.mark.parametrize(
    ("function_name", "invoked_arn", "version"),
    [case[1:] for case in FUNCTION_NAMES],
    ids=[case[0] for case in FUNCTION_NAMES],
)
def test_invoke_function_name_forms_and_context(
    backend: PythonFunctionBackend, function_name: str, invoked_arn: str, version: str
) -> None:
    result = invoke(backend, request(INVOKE, {"FunctionName": function_name}, timeout=10))
    assert isinstance(result, TaskSuccess)
    assert isinstance(result.output, dict)
    assert result.output["ExecutedVersion"] == version
    context = result.output["Payload"]
    assert isinstance(context, dict)
    rid = context.pop("aws_request_id")
    assert rid == result.output["SdkResponseMetadata"]["RequestId"]  # type: ignore[call-overload,index]
    stream = context.pop("log_stream_name")
    assert re.fullmatch(rf"2024/03/06/\[{re.escape(version)}\][0-9a-f]{{32}}", str(stream))
    remaining = context.pop("remaining")
    assert isinstance(remaining, int)
    assert 890_000 < remaining <= 900_000  # the function's timeout, not the state's
    assert context == {
        "function_name": "describe_context",
        "function_version": version,
        "invoked_function_arn": invoked_arn,
        "memory_limit_in_mb": "128",
        "log_group_name": "/aws/lambda/describe_context",
        "identity": None,
        "client_context": None,
    }


def test_remaining_time_without_a_config_is_lambdas_maximum(
    backend: PythonFunctionBackend,
) -> None:
    result = invoke(backend, request(ARN + "describe_context", {}))
    assert isinstance(result, TaskSuccess)
    assert isinstance(result.output, dict)
    remaining = result.output["remaining"]
    assert isinstance(remaining, int)
    assert 890_000 < remaining <= 900_000


def test_remaining_time_and_memory_are_the_functions_settings() -> None:
    backend = PythonFunctionBackend(
        load_functions(str(FIXTURE)),
        settings={"describe_context": FunctionSettings(timeout=20, memory_size=2048)},
    )
    result = invoke(backend, request(ARN + "describe_context", {}, timeout=10))
    assert isinstance(result, TaskSuccess)
    assert isinstance(result.output, dict)
    remaining = result.output["remaining"]
    assert isinstance(remaining, int)
    assert 19_000 < remaining <= 20_000
    assert result.output["memory_limit_in_mb"] == "2048"


def rid_of(cause: str | None) -> str:
    assert cause is not None
    found = re.search(r"Request ID: ([0-9a-f-]{36}); Proxy: null\)$", cause)
    assert found is not None
    return found[1]


INVALID_INVOKES = [
    (
        "bad function name",
        {"FunctionName": "bad name!"},
        "Lambda.ValidationException",
        "1 validation error detected: Value 'bad name!' at 'functionName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
        r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
        " (Service: AWSLambda; Status Code: 400; Error Code: ValidationException; "
        "Request ID: {rid}; Proxy: null)",
    ),
    (
        "qualifier mismatch",
        {"FunctionName": "id_function:1", "Qualifier": "2"},
        "Lambda.InvalidParameterValueException",
        "The derived qualifier from the function name does not match the specified qualifier. "
        "(Service: AWSLambda; Status Code: 400; Error Code: InvalidParameterValueException; "
        "Request ID: {rid}; Proxy: null)",
    ),
    (
        "invocation type",
        {"FunctionName": "id_function", "InvocationType": "Later"},
        "Lambda.ValidationException",
        "1 validation error detected: Value 'Later' at 'invocationType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun] "
        "(Service: AWSLambda; Status Code: 400; Error Code: ValidationException; "
        "Request ID: {rid}; Proxy: null)",
    ),
]


@pytest.mark.parametrize(
    ("parameters", "error", "cause"),
    [case[1:] for case in INVALID_INVOKES],
    ids=[case[0] for case in INVALID_INVOKES],
)
def test_invalid_invoke_parameters_fail_as_the_lambda_api_does(
    backend: PythonFunctionBackend, parameters: dict[str, JSON], error: str, cause: str
) -> None:
    result = invoke(backend, request(INVOKE, parameters))
    assert isinstance(result, TaskFailure)
    assert result == TaskFailure(error, cause.replace("{rid}", rid_of(result.cause)))


@pytest.mark.parametrize(
    ("payload", "cause"),
    [
        (
            ["id_function"],
            "The parameters of arn:aws:states:::lambda:invoke must be a JSON object with a "
            "FunctionName field, got list.",
        ),
        (
            {"Payload": {}},
            "The field 'FunctionName' of arn:aws:states:::lambda:invoke must be a string naming "
            "the function (name, partial ARN or ARN), got null.",
        ),
    ],
    ids=["not-an-object", "no-function-name"],
)
def test_invoke_without_a_function_name_is_a_runtime_failure(
    backend: PythonFunctionBackend, payload: JSON, cause: str
) -> None:
    assert invoke(backend, request(INVOKE, payload)) == TaskFailure("States.Runtime", cause)


def test_invocation_type_event_runs_in_the_background_and_answers_202() -> None:
    ran = threading.Event()
    seen: list[JSON] = []

    def record(event: JSON, context: object) -> None:
        seen.append(event)
        ran.set()

    async def scenario() -> TaskResult:
        backend = PythonFunctionBackend({"record": record}, now=lambda: NOW)
        result = await backend.invoke(
            request(INVOKE, {"FunctionName": "record", "InvocationType": "Event", "Payload": [1]})
        )
        assert await asyncio.to_thread(ran.wait, 10)
        backend.close()
        return result

    result = asyncio.run(scenario())
    assert seen == [[1]]
    assert isinstance(result, TaskSuccess)
    assert isinstance(result.output, dict)
    assert list(result.output) == [
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    ]
    assert result.output["Payload"] == ""
    assert result.output["StatusCode"] == 202
    http = result.output["SdkHttpMetadata"]
    assert isinstance(http, dict)
    assert http["HttpStatusCode"] == 202
    assert http["HttpHeaders"]["Content-Length"] == "0"  # type: ignore[call-overload,index]


def test_invocation_type_dry_run_checks_without_running() -> None:
    calls: list[JSON] = []
    backend = PythonFunctionBackend({"f": lambda event, context: calls.append(event)})
    ok = invoke(backend, request(INVOKE, {"FunctionName": "f", "InvocationType": "DryRun"}))
    missing = invoke(backend, request(INVOKE, {"FunctionName": "g", "InvocationType": "DryRun"}))
    assert calls == []
    assert isinstance(ok, TaskSuccess)
    assert isinstance(ok.output, dict)
    assert ok.output["StatusCode"] == 204
    assert isinstance(missing, TaskFailure)
    assert missing.error == "Lambda.ResourceNotFoundException"


# --------------------------------------------------------------------------- copies and threads


def test_each_call_gets_its_own_copy_of_the_event(backend: PythonFunctionBackend) -> None:
    payload: JSON = {"items": [1, 2, 3]}
    first = invoke(backend, request(ARN + "mutate_event", payload))
    second = invoke(backend, request(INVOKE, {"FunctionName": "mutate_event", "Payload": payload}))
    assert payload == {"items": [1, 2, 3]}
    assert first == TaskSuccess({"items": [1, 2, 3, 4], "mutated": True})
    assert isinstance(second, TaskSuccess)
    assert isinstance(second.output, dict)
    assert second.output["Payload"] == {"items": [1, 2, 3, 4], "mutated": True}


class Gate:
    """Blocking handlers that count how many run at once and wait until released."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.threads: set[int] = set()
        self.full = threading.Event()  # `bound` handlers are running at once
        self.release = threading.Event()

    def handler(self, event: JSON, context: object) -> JSON:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.threads.add(threading.get_ident())
            if self.running == self.bound:
                self.full.set()
        try:
            assert self.release.wait(10)
        finally:
            with self.lock:
                self.running -= 1
        return event


def test_blocking_handlers_never_exceed_max_workers_and_leave_the_loop_free() -> None:
    gate = Gate(bound=2)

    async def free(event: JSON, context: object) -> JSON:
        return {"free": event}

    async def scenario() -> tuple[list[TaskResult], TaskResult, int]:
        backend = PythonFunctionBackend({"block": gate.handler, "free": free}, max_workers=2)
        calls = [asyncio.create_task(backend.invoke(request(ARN + "block", n))) for n in range(8)]
        assert await asyncio.to_thread(gate.full.wait, 10)
        # Both threads are blocked; the loop still runs coroutine handlers.
        during = await backend.invoke(request(ARN + "free", 1))
        gate.release.set()
        results = await asyncio.gather(*calls)
        threads = backend._pool.thread_count
        backend.close()
        return results, during, threads

    results, during, threads = asyncio.run(scenario())
    assert results == [TaskSuccess(n) for n in range(8)]
    assert during == TaskSuccess({"free": 1})
    assert gate.peak == 2
    assert len(gate.threads) == 2
    assert threads == 2


def test_a_cancelled_call_does_not_hold_up_shutdown() -> None:
    gate = Gate(bound=1)

    async def scenario() -> None:
        backend = PythonFunctionBackend({"block": gate.handler}, max_workers=1)
        call = asyncio.create_task(backend.invoke(request(ARN + "block", 1)))
        assert await asyncio.to_thread(gate.full.wait, 10)
        call.cancel()  # what the interpreter does at TimeoutSeconds
        with pytest.raises(asyncio.CancelledError):
            await call
        backend.close()

    asyncio.run(scenario())  # returns while the handler is still blocked in its thread
    worker = [t for t in threading.enumerate() if t.name.startswith("asl-function-")]
    assert worker
    assert all(t.daemon for t in worker)
    gate.release.set()


@pytest.mark.parametrize("via", VIAS)
def test_hung_handlers_past_their_timeout_never_starve_other_functions(via: str) -> None:
    """More hung handlers than threads: each times out, gives its thread up, and a normal
    handler called afterwards still runs (it used to wait behind them and time out too)."""
    release = threading.Event()
    hung = 8

    def hang(event: JSON, context: object) -> JSON:
        release.wait(10)
        return event

    def quick(event: JSON, context: object) -> JSON:
        return {"quick": event}

    async def scenario() -> tuple[list[TaskResult], TaskResult, PoolStats, PoolStats]:
        backend = PythonFunctionBackend(
            {"hang": hang, "quick": quick},
            max_workers=2,
            settings={"hang": FunctionSettings(timeout=0.2), "quick": FunctionSettings(timeout=5)},
        )
        try:
            timed_out = await asyncio.gather(
                *(call_via(backend, via, request(ARN + "hang", n)) for n in range(hung))
            )
            during = backend.pool_stats()
            after = await call_via(backend, via, request(ARN + "quick", 1))
            return timed_out, after, during, pool_stats()
        finally:
            release.set()
            backend.close()

    timed_out, after, during, process = asyncio.run(scenario())
    assert [r.error for r in timed_out if isinstance(r, TaskFailure)] == ["Sandbox.Timedout"] * hung
    assert after == TaskSuccess({"quick": 1})
    # The calls that got a thread (at least one per thread) were abandoned with it; the others
    # were dropped before any thread took them; replacements start on demand, within the bound.
    assert 2 <= during.abandoned == during.abandoned_total <= hung
    assert during.busy + during.idle <= during.max_workers == 2
    assert during.queued == 0
    assert during.max_abandoned == DEFAULT_MAX_ABANDONED
    assert process.abandoned >= during.abandoned


def test_past_max_abandoned_a_hung_handler_keeps_its_thread_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()

    def hang(event: JSON, context: object) -> JSON:
        release.wait(10)
        return event

    def quick(event: JSON, context: object) -> JSON:
        return event

    async def scenario() -> tuple[TaskResult, PoolStats, TaskResult, PoolStats]:
        short = FunctionSettings(timeout=0.2)
        backend = PythonFunctionBackend(
            {"hang": hang, "quick": quick, "ping": quick},
            max_workers=1,
            max_abandoned=1,
            # `ping` shows the pool serves again: its timeout is not under test (with the
            # 0.2 s one, a loaded machine could time it out)
            settings={"hang": short, "quick": short, "ping": FunctionSettings(timeout=MAX_TIMEOUT)},
        )
        try:
            for n in range(2):  # the first thread is abandoned; the second is not
                assert isinstance(await backend.invoke(request(ARN + "hang", n)), TaskFailure)
            starved = await backend.invoke(request(ARN + "quick", 1))
            at_cap = backend.pool_stats()
            release.set()
            # the handlers return and the pool has its thread back: waited for, not timed
            await settle(lambda: backend.pool_stats().abandoned == 0)
            return (
                starved,
                at_cap,
                await backend.invoke(request(ARN + "ping", 2)),
                backend.pool_stats(),
            )
        finally:
            release.set()
            backend.close()

    starved, at_cap, later, after = asyncio.run(scenario())
    assert isinstance(starved, TaskFailure)
    assert starved.error == "Sandbox.Timedout"
    assert (at_cap.abandoned, at_cap.abandoned_total, at_cap.busy) == (1, 1, 1)
    assert "the most this pool abandons (max_abandoned)" in caplog.text
    assert later == TaskSuccess(2)
    assert (after.abandoned, after.busy + after.idle) == (0, 1)


def test_a_call_cancelled_before_a_thread_took_it_never_runs() -> None:
    started = threading.Event()
    release = threading.Event()
    ran: list[str] = []

    def first() -> Outcome:
        started.set()
        release.wait(10)
        ran.append("first")
        return Returned(1, 1)

    def second() -> Outcome:
        ran.append("second")
        return Returned(1, 2)

    async def scenario() -> list[Outcome]:
        pool = HandlerPool(max_workers=1)
        try:
            running = pool.submit(first)
            assert await asyncio.to_thread(started.wait, 10)
            queued = pool.submit(second)
            assert pool.stats().queued == 1
            queued.cancel()
            await asyncio.sleep(0)  # the cancellation's callback runs on the loop
            assert pool.stats().queued == 0
            release.set()
            return [await running, await pool.submit(second)]
        finally:
            release.set()
            pool.close()

    assert asyncio.run(scenario()) == [Returned(1, 1), Returned(1, 2)]
    assert ran == ["first", "second"]  # the cancelled call of `second` never ran


@pytest.mark.parametrize("max_abandoned", [64, 2], ids=["below-the-cap", "at-the-cap"])
@pytest.mark.parametrize("via", VIAS)
def test_pool_accounting_survives_calls_timing_out_at_every_moment(
    max_abandoned: int, via: str
) -> None:
    """Handlers that end just before, at, or after their timeout, many at once: whatever the
    interleaving, once they have all returned no thread is abandoned or busy, the bound holds,
    and the pool still serves.

    The interleaving is wall-clock on purpose (that is what is stressed), so nothing asserted
    may depend on it: each call either succeeds or times out, the pool is looked at once it
    settled (waited for, not given a time), and the call proving that it still serves goes to
    a function whose timeout is not under test (it shared `nap`'s 15 ms one, and timed out
    under load, about 1 run in 45 on a busy 2-core machine)."""
    rng = random.Random(13)
    delays = [rng.choice([0.0, 0.005, 0.01, 0.015, 0.02, 0.03]) for _ in range(70)]

    def nap(event: JSON, context: object) -> JSON:
        assert isinstance(event, float)
        time.sleep(event)
        return event

    def ping(event: JSON, context: object) -> JSON:
        return event

    async def scenario() -> tuple[list[TaskResult], PoolStats, TaskResult]:
        backend = PythonFunctionBackend(
            {"nap": nap, "ping": ping},
            max_workers=3,
            max_abandoned=max_abandoned,
            settings={
                "nap": FunctionSettings(timeout=0.015),
                "ping": FunctionSettings(timeout=MAX_TIMEOUT),
            },
        )
        try:
            calls = []
            for delay in delays:  # staggered, so calls start and end at every moment
                calls.append(
                    asyncio.create_task(call_via(backend, via, request(ARN + "nap", delay)))
                )
                await asyncio.sleep(0.003)
            results = await asyncio.gather(*calls)
            # The abandoned handlers return (within 30 ms unloaded) and their threads settle:
            # waited for, however long the machine takes (pytest's timeout ends a real leak).
            await settle(lambda: backend.pool_stats().abandoned == backend.pool_stats().busy == 0)
            settled = backend.pool_stats()
            return results, settled, await call_via(backend, via, request(ARN + "ping", 0.0))
        finally:
            backend.close()

    results, settled, last = asyncio.run(scenario())
    assert all(
        r == TaskSuccess(d) or (isinstance(r, TaskFailure) and r.error == "Sandbox.Timedout")
        for r, d in zip(results, delays, strict=True)
    )
    assert (settled.abandoned, settled.busy, settled.queued) == (0, 0, 0)
    assert settled.idle <= settled.max_workers == 3
    assert last == TaskSuccess(0.0)


@pytest.mark.parametrize("via", VIAS)
def test_a_result_parsed_from_its_measured_text_is_marked_sized(via: str) -> None:
    """The Lambda layer measured the result's ASCII JSON text within the limit; a value parsed
    from that text renders no larger as AWS counts a state's output (UTF-8, compact), so the
    interpreter skips measuring it again (`TaskSuccess.sized`). Text that is not JSON (NaN)
    comes back as a string, whose rendering may be larger: not marked."""

    def accented(event: JSON, context: object) -> JSON:
        return {"word": "d\u00e9j\u00e0 vu \U0001f600", "n": [1, 2.5]}

    def not_a_number(event: JSON, context: object) -> JSON:
        return {"x": float("nan")}

    def as_bytes(event: JSON, context: object) -> bytes:
        return b'{"raw": 1}'

    backend = PythonFunctionBackend(
        {"accented": accented, "not_a_number": not_a_number, "as_bytes": as_bytes}
    )
    try:
        results = [
            invoke(backend, request(ARN + name, {}), via)
            for name in ("accented", "not_a_number", "as_bytes")
        ]
    finally:
        backend.close()
    assert results == [
        TaskSuccess({"word": "d\u00e9j\u00e0 vu \U0001f600", "n": [1, 2.5]}),
        TaskSuccess('{"x": NaN}'),
        TaskSuccess({"raw": 1}),
    ]
    assert [r.sized for r in results if isinstance(r, TaskSuccess)] == [True, False, False]
