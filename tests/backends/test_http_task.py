"""The HTTP Task (`arn:aws:states:::http:invoke`) against a real HTTP API on loopback.

Each test runs a machine in an embedded Engine on a virtual clock (Retry back-offs take no
time) against tests/backends/api_server.py, which records what it received: the exact method,
headers, query string and body, so the assertions are on the bytes AWS's rules put on the
wire. The pure halves (`build_request`, `task_result`) are tested with values.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from engine.backends.connections import (
    ApiKeyAuthorization,
    Connection,
    Connections,
    HttpParameters,
)
from engine.backends.http_task import (
    FORBIDDEN_HEADERS,
    HTTP_INVOKE,
    HTTP_METHODS,
    HttpTaskBackend,
    OutgoingRequest,
    build_request,
    task_result,
)
from engine.embedded import Engine, ExecutionResult
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskSuccess
from engine.values import JSON
from tests.backends.api_server import Answer, ApiServer, Seen

CONNECTION_ARN = "arn:aws:events:us-east-1:123456789012:connection/Api/81210c42-8af1-456b"
AUTH = {"ConnectionArn": CONNECTION_ARN}


def machine(parameters: dict[str, JSON], **fields: JSON) -> dict[str, JSON]:
    """One HTTP Task; `fields` add Retry, Catch, TimeoutSeconds... to it; a Catch goes to
    a Pass state named Caught."""
    task: dict[str, JSON] = {
        "Type": "Task",
        "Resource": HTTP_INVOKE,
        "Parameters": parameters,
        "End": True,
        **fields,
    }
    states: dict[str, JSON] = {"Call": task}
    if "Catch" in fields:
        states["Caught"] = {"Type": "Pass", "End": True}
    return {"StartAt": "Call", "States": states}


def run(
    definition: dict[str, JSON],
    payload: JSON = None,
    *,
    config: Path | None = None,
    times: int = 1,
) -> list[ExecutionResult]:
    async def scenario() -> list[ExecutionResult]:
        engine = Engine.for_testing(config=config)
        try:
            loaded = engine.load(definition, name="http")
            return [await engine.run(loaded, payload or {}) for _ in range(times)]
        finally:
            await engine.aclose()

    return asyncio.run(scenario())


def call(api: ApiServer, path: str = "/items", **parameters: JSON) -> dict[str, JSON]:
    return {"ApiEndpoint": api.url + path, "Method": "GET", "Authentication": AUTH, **parameters}


def header_dict(seen: Seen) -> dict[str, str]:
    return {name.lower(): value for name, value in seen.headers}


# --------------------------------------------------------------------------- requests


@pytest.mark.parametrize("method", HTTP_METHODS)
def test_every_method_reaches_the_api(method: str) -> None:
    with ApiServer() as api:
        [result] = run(machine(call(api, Method=method)))
    assert result.status == "SUCCEEDED"
    assert [seen.method for seen in api.seen] == [method]
    assert isinstance(result.output, dict)
    assert result.output["StatusCode"] == 200
    assert result.output["StatusText"] == "OK"
    if method == "HEAD":
        assert result.output["ResponseBody"] == ""
    else:
        assert result.output["ResponseBody"] == {
            "method": method,
            "path": "/items",
            "query": "",
            "body": "",
        }


def test_headers_query_and_json_body_go_as_aws_sends_them() -> None:
    with ApiServer() as api:
        parameters = call(
            api,
            "/v1/customers",
            Method="POST",
            Headers={"definitionHeader": "h1", "X-Count": 3},
            QueryParameters={"currency": "usd", "q": "a b&c", "tag": ["x", "y"]},
            RequestBody={"Card": {"Number.$": "$.number", "Name": "Jöhn"}, "Amounts": [1, 2.5]},
        )
        [result] = run(machine(parameters), {"number": "1234"})
    assert result.status == "SUCCEEDED"
    [seen] = api.seen
    assert seen.query == "currency=usd&q=a%20b%26c&tag=x&tag=y"
    assert seen.body == '{"Card":{"Number":"1234","Name":"Jöhn"},"Amounts":[1,2.5]}'.encode()
    headers = header_dict(seen)
    assert headers["definitionheader"] == "h1"
    assert headers["x-count"] == "3"
    assert headers["content-type"] == "application/json; charset=UTF-8"
    assert headers["user-agent"] == "Amazon|StepFunctions|HttpInvoke|us-east-1"
    assert headers["range"] == "bytes=0-262144"
    assert headers["host"] == api.url.removeprefix("http://")
    # httpx's own defaults are not sent, nor any credentials (the connection is unmapped).
    assert not {"accept", "accept-encoding", "authorization"} & headers.keys()


def test_a_string_body_is_sent_as_it_is_and_no_body_sends_no_content_type() -> None:
    with ApiServer() as api:
        run(machine(call(api, Method="PUT", RequestBody="raw text, not JSON")))
        run(machine(call(api, Method="DELETE")))
    assert api.seen[0].body == b"raw text, not JSON"
    assert api.seen[0].header("content-type") == "application/json; charset=UTF-8"
    assert api.seen[1].body == b""
    assert api.seen[1].header("content-type") is None


FORM_BODY = {"customer": "cus 1", "items": ["a", "b"], "meta": {"k": "v w"}}
FORM_WIRE = {
    "INDICES": "customer=cus%201&items%5B0%5D=a&items%5B1%5D=b&meta%5Bk%5D=v%20w",
    "REPEAT": "customer=cus%201&items=a&items=b&meta%5Bk%5D=v%20w",
    "COMMAS": "customer=cus%201&items=a,b&meta%5Bk%5D=v%20w",
    "BRACKETS": "customer=cus%201&items%5B%5D=a&items%5B%5D=b&meta%5Bk%5D=v%20w",
}


@pytest.mark.parametrize(("fmt", "wire"), FORM_WIRE.items(), ids=list(FORM_WIRE))
def test_url_encoded_bodies_in_each_array_format(fmt: str, wire: str) -> None:
    with ApiServer() as api:
        transform = {
            "RequestBodyEncoding": "URL_ENCODED",
            "RequestEncodingOptions": {"ArrayFormat": fmt},
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        parameters = call(
            api, Method="POST", Headers=headers, RequestBody=FORM_BODY, Transform=transform
        )
        [result] = run(machine(parameters))
    assert result.status == "SUCCEEDED"
    assert api.seen[0].body == wire.encode()
    assert api.seen[0].header("content-type") == "application/x-www-form-urlencoded"


def test_url_encoding_defaults_to_indices() -> None:
    with ApiServer() as api:
        transform = {"RequestBodyEncoding": "URL_ENCODED"}
        run(machine(call(api, Method="POST", RequestBody=FORM_BODY, Transform=transform)))
    assert api.seen[0].body == FORM_WIRE["INDICES"].encode()


# --------------------------------------------------------------------------- answers


def answering(answer: Answer) -> Any:
    def route(seen: Seen) -> Answer:
        return answer

    return route


RESPONSES = [
    ("json", Answer(200, b'{"id": 7}', [("Content-Type", "application/json")]), {"id": 7}),
    (
        "problem+json",
        Answer(201, b"[1,2]", [("Content-Type", "application/problem+json; charset=utf-8")]),
        [1, 2],
    ),
    ("text", Answer(200, "plain words", [("Content-Type", "text/plain")]), "plain words"),
    ("bad json", Answer(200, b"{oops", [("Content-Type", "application/json")]), "{oops"),
    ("html", Answer(200, "<p>hi</p>", [("Content-Type", "text/html")]), "<p>hi</p>"),
]


@pytest.mark.parametrize(
    ("answer", "body"), [(a, b) for _, a, b in RESPONSES], ids=[i for i, *_ in RESPONSES]
)
def test_response_bodies_are_parsed_when_json(answer: Answer, body: JSON) -> None:
    with ApiServer(answering(answer)) as api:
        [result] = run(machine(call(api)))
    assert result.status == "SUCCEEDED"
    assert isinstance(result.output, dict)
    assert list(result.output) == ["Headers", "ResponseBody", "StatusCode", "StatusText"]
    assert result.output["ResponseBody"] == body
    assert result.output["StatusCode"] == answer.status
    headers = result.output["Headers"]
    assert isinstance(headers, dict)
    assert headers["content-type"] == [answer.headers[0][1]]
    assert headers["content-length"] == [str(len(answer.encoded()[0]))]


def test_a_404_is_retried_then_caught_with_its_status_name() -> None:
    answer = Answer(404, {"message": "no such customer"})
    retry = [
        {"ErrorEquals": ["States.Http.StatusCode.404"], "IntervalSeconds": 5, "MaxAttempts": 2}
    ]
    catch = [{"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "Caught"}]
    with ApiServer(answering(answer)) as api:
        [result] = run(machine(call(api), Retry=retry, Catch=catch))
    assert len(api.seen) == 3  # the call and its two retries
    assert result.status == "SUCCEEDED"
    assert isinstance(result.output, dict)
    assert result.output["Error"] == "States.Http.StatusCode.404"
    cause = result.output["Cause"]
    assert isinstance(cause, str)
    failure = json.loads(cause)
    assert failure["ResponseBody"] == {"message": "no such customer"}
    assert (failure["StatusCode"], failure["StatusText"]) == (404, "Not Found")


def test_an_uncaught_500_fails_the_execution() -> None:
    with ApiServer(answering(Answer(500, "boom", [("Content-Type", "text/plain")]))) as api:
        [result] = run(machine(call(api)))
    assert (result.status, result.error) == ("FAILED", "States.Http.StatusCode.500")
    assert result.cause is not None
    assert json.loads(result.cause)["ResponseBody"] == "boom"


@pytest.mark.parametrize(
    "media", ["application/octet-stream", "image/png", "video/mp4", "audio/ogg"]
)
def test_unsupported_content_types_fail_with_states_runtime(media: str) -> None:
    with ApiServer(answering(Answer(200, b"\x89PNG", [("Content-Type", media)]))) as api:
        [result] = run(machine(call(api)))
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == (
        f"The HTTP Task's response has the content type '{media}', which Step Functions does "
        "not accept (application/octet-stream, image/*, video/*, audio/*)."
    )


def test_a_body_that_is_not_text_fails_with_states_runtime() -> None:
    with ApiServer(
        answering(Answer(200, b"\xff\xfe\xfa", [("Content-Type", "text/plain")]))
    ) as api:
        [result] = run(machine(call(api)))
    assert (result.error, result.cause) == (
        "States.Runtime",
        "The HTTP Task's response body is not valid UTF-8 text.",
    )


# --------------------------------------------------------------------------- no answer


def test_the_tasks_timeout_seconds_times_the_call_out() -> None:
    def stall(seen: Seen) -> Answer:
        api.release.wait(30)
        return Answer(200, {})

    with ApiServer(stall) as api:
        [result] = run(machine(call(api), TimeoutSeconds=1))
    assert (result.status, result.error) == ("FAILED", "States.Timeout")


def test_no_answer_within_the_request_timeout_is_states_http_socket() -> None:
    def stall(seen: Seen) -> Answer:
        api.release.wait(30)
        return Answer(200, {})

    async def scenario(url: str) -> Any:
        backend = HttpTaskBackend(timeout=0.2)  # AWS's is 60 seconds
        try:
            return await backend.invoke(task(call_parameters(url)))
        finally:
            await backend.aclose()

    with ApiServer(stall) as api:
        result = asyncio.run(scenario(api.url))
    assert result == TaskFailure(
        "States.Http.Socket", f"The HTTP request to {api.url}/items timed out after 0.2 seconds."
    )


def test_a_refused_connection_is_states_http_socket() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    definition = machine(
        {
            "ApiEndpoint": f"http://127.0.0.1:{port}/x?key=hidden",
            "Method": "GET",
            "Authentication": AUTH,
        }
    )
    [result] = run(definition)
    assert (result.status, result.error) == ("FAILED", "States.Http.Socket")
    assert result.cause == (
        f"The HTTP request to http://127.0.0.1:{port}/x got no response: ConnectError: "
        "Connection refused"
    )


def test_an_unknown_host_is_states_http_socket() -> None:
    parameters = {
        "ApiEndpoint": "http://no-such-host.invalid/x",
        "Method": "GET",
        "Authentication": AUTH,
    }
    [result] = run(machine(parameters))
    assert (result.status, result.error) == ("FAILED", "States.Http.Socket")
    assert result.cause is not None
    assert result.cause.startswith(
        "The HTTP request to http://no-such-host.invalid/x got no response: ConnectError: "
    )


# --------------------------------------------------------------------------- AWS's refusals


def call_parameters(url: str, **more: JSON) -> dict[str, JSON]:
    return {"ApiEndpoint": url + "/items", "Method": "GET", "Authentication": AUTH, **more}


def task(parameters: JSON) -> TaskRequest:
    return TaskRequest(HTTP_INVOKE, parameters, "arn:exec", "Call")


@pytest.mark.parametrize(
    "name",
    [
        *sorted(FORBIDDEN_HEADERS),
        "AUTHORIZATION",
        "x-amz-date",
        "X-Amzn-Trace-Id",
        "X-Forwarded-For",
    ],
)
def test_a_forbidden_header_fails_with_states_runtime_before_sending(name: str) -> None:
    result = build_request(
        call_parameters("https://api.example.com", Headers={name: "v"}), Connections(), "us-east-1"
    )
    assert result == TaskFailure(
        "States.Runtime",
        f"The HTTP Task cannot send the header '{name}': Step Functions sets it or refuses it. "
        "Credentials belong in the EventBridge connection ([connections] in asl.toml).",
    )


REFUSED = [
    ("not an object", [1], "The HTTP Task's parameters must be a JSON object with an ApiEndpoint."),
    (
        "unknown field",
        {**call_parameters("https://a.example"), "Body": {}},
        "The HTTP Task does not take the field 'Body'; its fields are ApiEndpoint, Method, "
        "Authentication, InvocationConfig, Headers, QueryParameters, RequestBody, Transform.",
    ),
    (
        "no scheme",
        call_parameters("api.example.com"),
        "The HTTP Task's ApiEndpoint 'api.example.com/items' is not an https:// URL with a host "
        "(e.g. https://api.example.com/v1/items).",
    ),
    (
        "port",
        call_parameters("http://127.0.0.1:99999"),
        "The HTTP Task's ApiEndpoint 'http://127.0.0.1:99999/items' is not an https:// URL "
        "with a host (e.g. https://api.example.com/v1/items).",
    ),
    (
        "header name",
        call_parameters("https://a.example", Headers={"Bad Name": "v"}),
        "The HTTP Task's header name 'Bad Name' is not a valid HTTP header name.",
    ),
    (
        "header line break",
        call_parameters("https://a.example", Headers={"X-Note": "a\r\nInjected: 1"}),
        "The HTTP Task's header 'X-Note' holds a line break.",
    ),
    (
        "method",
        {**call_parameters("https://a.example"), "Method": "get"},
        "The HTTP Task's Method must be one of GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD.",
    ),
    (
        "no connection",
        {"ApiEndpoint": "https://a.example", "Method": "GET"},
        "The HTTP Task needs the EventBridge connection to call the API through: give "
        "Authentication.ConnectionArn or InvocationConfig.ConnectionArn.",
    ),
    (
        "array format",
        call_parameters(
            "https://a.example",
            Transform={
                "RequestBodyEncoding": "URL_ENCODED",
                "RequestEncodingOptions": {"ArrayFormat": "PIPES"},
            },
        ),
        "The HTTP Task's Transform.RequestEncodingOptions.ArrayFormat must be one of INDICES, "
        "REPEAT, COMMAS, BRACKETS.",
    ),
    (
        "form of a list",
        call_parameters(
            "https://a.example", RequestBody=[1], Transform={"RequestBodyEncoding": "URL_ENCODED"}
        ),
        "The HTTP Task's RequestBody must be a JSON object to be URL-encoded "
        "(Transform.RequestBodyEncoding URL_ENCODED).",
    ),
]


@pytest.mark.parametrize(
    ("parameters", "cause"), [(p, c) for _, p, c in REFUSED], ids=[i for i, *_ in REFUSED]
)
def test_parameters_the_task_cannot_send_fail_with_states_runtime(
    parameters: JSON, cause: str
) -> None:
    assert build_request(parameters, Connections(), "us-east-1") == TaskFailure(
        "States.Runtime", cause
    )


MERGING = Connection(
    "Example",
    ApiKeyAuthorization("ApiKey", "key_value"),
    HttpParameters(
        headers=(("Header-Param", "connection_header_param"),),
        query=(("QueryParam", "connection_query_param"),),
        body=(("BodyParam", "connection_body_param"),),
    ),
)


def test_the_guides_merging_example() -> None:
    """Developer guide, "Merging EventBridge connection and HTTP Task definition data": the
    connection's values win, and the request is the one the guide prints."""
    parameters: JSON = {
        "Authentication": {
            "ConnectionArn": "arn:aws:events:us-east-2:123456789012:connection/Example/81210c42"
        },
        "ApiEndpoint": "https://example.com/path",
        "Method": "GET",
        "Headers": {"Request-Id": "my_request_id", "Header-Param": "state_machine_header_param"},
        "RequestBody": {
            "Job": "Software Engineer",
            "Company": "AnyCompany",
            "BodyParam": "state_machine_body_param",
        },
        "QueryParameters": {"QueryParam": "state_machine_query_param"},
    }
    built = build_request(parameters, Connections({"Example": MERGING}), "us-east-2")
    assert isinstance(built, OutgoingRequest)
    assert built.url == "https://example.com/path?QueryParam=connection_query_param"
    assert (
        built.body
        == b'{"Job":"Software Engineer","Company":"AnyCompany","BodyParam":"connection_body_param"}'
    )
    assert dict(built.headers) == {
        "Request-Id": "my_request_id",
        "Header-Param": "connection_header_param",
        "Content-Type": "application/json; charset=UTF-8",
        "User-Agent": "Amazon|StepFunctions|HttpInvoke|us-east-2",
        "Range": "bytes=0-262144",
    }
    # The API key is added when the request is sent, never stored with it.
    assert "key_value" not in repr(built)


def test_a_string_body_cannot_merge_with_connection_body_parameters() -> None:
    parameters = call_parameters("https://a.example", RequestBody="text")
    parameters["Authentication"] = {"ConnectionArn": "Example"}
    assert build_request(parameters, Connections({"Example": MERGING}), "us-east-1") == TaskFailure(
        "States.Runtime",
        "The HTTP Task's RequestBody is a string, and its EventBridge connection adds body "
        "parameters: Step Functions cannot merge the two. Give RequestBody as a JSON object.",
    )


def test_result_shape_of_an_answer_without_reason_phrase() -> None:
    assert task_result(
        418, "", [("content-type", "text/plain")], b"tea", HTTP_INVOKE
    ) == TaskFailure(
        "States.Http.StatusCode.418",
        '{"Headers":{"content-type":["text/plain"]},"ResponseBody":"tea","StatusCode":418,'
        '"StatusText":"I\'m a Teapot"}',
    )
    assert task_result(204, "No Content", [], b"", HTTP_INVOKE) == TaskSuccess(
        {"Headers": {}, "ResponseBody": "", "StatusCode": 204, "StatusText": "No Content"}
    )


def test_a_jsonata_http_task_sends_its_arguments() -> None:
    with ApiServer() as api:
        definition: dict[str, JSON] = {
            "QueryLanguage": "JSONata",
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": HTTP_INVOKE,
                    "Arguments": {
                        "ApiEndpoint": "{% $states.input.api & '/items/' & $states.input.id %}",
                        "Method": "{% $states.input.method %}",
                        "InvocationConfig": {"ConnectionArn": CONNECTION_ARN},
                        "RequestBody": {"n": "{% $states.input.id * 2 %}"},
                    },
                    "Output": "{% $states.result.ResponseBody %}",
                    "End": True,
                }
            },
        }
        [result] = run(definition, {"api": api.url, "id": 21, "method": "PATCH"})
    assert result.output == {
        "method": "PATCH",
        "path": "/items/21",
        "query": "",
        "body": '{"n":42}',
    }


def test_an_answer_over_the_payload_limit_is_states_data_limit_exceeded() -> None:
    big = Answer(200, "x" * (256 * 1024 + 1), [("Content-Type", "text/plain")])
    with ApiServer(answering(big)) as api:
        [result] = run(machine(call(api)))
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.DataLimitExceeded",
        "The state/task 'arn:aws:states:::http:invoke' returned a result with a size exceeding "
        "the maximum number of bytes service limit.",
    )
