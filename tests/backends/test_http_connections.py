"""HTTP Tasks through EventBridge connections configured in asl.toml `[connections]`.

A real API on loopback (tests/backends/api_server.py) checks the credentials each
authorization type puts on the wire; its `/token` route is the OAuth token endpoint. Secrets
come from the environment (monkeypatch) and must appear nowhere but on the wire.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path

import pytest

from engine.backends.http_task import HTTP_INVOKE
from engine.config import ConfigInvalid, build_connections, check_config, load_config
from engine.embedded import Engine, ExecutionResult
from engine.values import JSON
from tests.backends.api_server import Answer, ApiServer, Seen, echo

ARN = "arn:aws:events:us-east-1:123456789012:connection/Api/0c3e4a8f-1d2b"
SECRET = "s3cr3t-v4lue"


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "asl.toml"
    path.write_text(text)
    return path


def run_twice(url: str, config: Path, arn: str = ARN) -> list[ExecutionResult]:
    definition: dict[str, JSON] = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": HTTP_INVOKE,
                "Parameters": {
                    "ApiEndpoint": url + "/items",
                    "Method": "POST",
                    "InvocationConfig": {"ConnectionArn": arn},
                    "RequestBody": {"n": 1},
                },
                "End": True,
            }
        },
    }

    async def scenario() -> list[ExecutionResult]:
        engine = Engine.for_testing(config=config)
        try:
            loaded = engine.load(definition, name="http")
            results = [await engine.run(loaded, {}) for _ in range(2)]
            for result in results:  # nothing the execution records holds a secret
                recorded = json.dumps([event.as_json() for event in result.events], default=str)
                assert SECRET not in recorded
                assert SECRET not in json.dumps(result.output)
            return results
        finally:
            await engine.aclose()

    return asyncio.run(scenario())


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_an_api_key_connection_sends_its_header_and_invocation_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", SECRET)
    config = write_config(
        tmp_path,
        '[connections.Api]\nauthorization_type = "API_KEY"\napi_key_name = "x-api-key"\n'
        'api_key_value_env = "API_KEY"\n'
        "[connections.Api.invocation_http_parameters]\n"
        'header_parameters = { "X-Tenant" = "acme" }\n'
        'query_string_parameters = { "region" = "eu" }\n'
        'body_parameters = { "source" = "asl" }\n',
    )
    with ApiServer() as api:
        results = run_twice(api.url, config)
    assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    for seen in api.seen:
        assert seen.header("x-api-key") == SECRET
        assert seen.header("x-tenant") == "acme"
        assert seen.query == "region=eu"
        assert seen.body == b'{"n":1,"source":"asl"}'


def test_a_basic_connection_found_by_its_exact_arn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_USER", "ada")
    monkeypatch.setenv("API_PASSWORD", SECRET)
    config = write_config(
        tmp_path,
        f'[connections."{ARN}"]\nauthorization_type = "BASIC"\nusername_env = "API_USER"\n'
        'password_env = "API_PASSWORD"\n',
    )
    with ApiServer() as api:
        run_twice(api.url, config)
    assert [seen.header("authorization") for seen in api.seen] == [basic("ada", SECRET)] * 2


OAUTH = (
    "[connections.Api]\n"
    'authorization_type = "OAUTH_CLIENT_CREDENTIALS"\n'
    'authorization_endpoint = "{url}/token"\n'
    'client_id_env = "CLIENT_ID"\n'
    'client_secret_env = "CLIENT_SECRET"\n'
    "[connections.Api.oauth_http_parameters]\n"
    'body_parameters = {{ scope = "items.write" }}\n'
    'header_parameters = {{ "X-Realm" = "test" }}\n'
)


class TokenApi:
    """An API whose `/token` hands out tok-1, tok-2, ...; `refuse` answers 401 to that many
    calls of the API made with the current token."""

    def __init__(self, refuse: int = 0) -> None:
        self.issued = 0
        self.refuse = refuse

    def __call__(self, seen: Seen) -> Answer:
        if seen.path == "/token":
            self.issued += 1
            return Answer(200, {"access_token": f"tok-{self.issued}", "expires_in": 3600})
        if self.refuse > 0:
            self.refuse -= 1
            return Answer(401, {"message": "token expired"})
        return echo(seen)


def test_oauth_fetches_a_token_once_and_sends_it_as_bearer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIENT_ID", "client-7")
    monkeypatch.setenv("CLIENT_SECRET", SECRET)
    tokens = TokenApi()
    with ApiServer(tokens) as api:
        results = run_twice(api.url, write_config(tmp_path, OAUTH.format(url=api.url)))
    assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    token, first, second = api.seen
    assert (token.method, token.path) == ("POST", "/token")
    assert token.body == b"grant_type=client_credentials&scope=items.write"
    assert token.header("authorization") == basic("client-7", SECRET)
    assert token.header("content-type") == "application/x-www-form-urlencoded"
    assert token.header("x-realm") == "test"
    assert first.header("authorization") == second.header("authorization") == "Bearer tok-1"


def test_oauth_fetches_a_new_token_once_on_a_401(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIENT_ID", "client-7")
    monkeypatch.setenv("CLIENT_SECRET", SECRET)
    with ApiServer(TokenApi(refuse=1)) as api:
        first, _ = run_twice(api.url, write_config(tmp_path, OAUTH.format(url=api.url)))
    assert first.status == "SUCCEEDED"
    assert [(s.path, s.header("authorization")) for s in api.seen] == [
        ("/token", basic("client-7", SECRET)),
        ("/items", "Bearer tok-1"),  # refused: 401
        ("/token", basic("client-7", SECRET)),
        ("/items", "Bearer tok-2"),
        ("/items", "Bearer tok-2"),  # the second execution reuses the new token
    ]


def test_oauth_a_second_401_is_the_tasks_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIENT_ID", "client-7")
    monkeypatch.setenv("CLIENT_SECRET", SECRET)
    with ApiServer(TokenApi(refuse=2)) as api:
        first, second = run_twice(api.url, write_config(tmp_path, OAUTH.format(url=api.url)))
    assert (first.status, first.error) == ("FAILED", "States.Http.StatusCode.401")
    assert second.status == "SUCCEEDED"


def test_a_refused_token_request_is_an_invalid_connection_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLIENT_ID", "client-7")
    monkeypatch.setenv("CLIENT_SECRET", SECRET)

    def refuse(seen: Seen) -> Answer:
        return Answer(400, {"error": "invalid_client", "echo": SECRET})

    with ApiServer(refuse) as api:
        first, _ = run_twice(api.url, write_config(tmp_path, OAUTH.format(url=api.url)))
    assert first.error == "Events.ConnectionResource.InvalidConnectionState"
    assert first.cause == (
        f"connection 'Api': the OAuth token request to {api.url}/token was answered 400 "
        "(invalid_client); check the client ID and secret the connection reads from the "
        "environment"
    )
    assert [seen.path for seen in api.seen] == ["/token", "/token"]  # the API never called


def test_an_unmapped_connection_sends_no_credentials_and_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("API_KEY", SECRET)
    config = write_config(
        tmp_path,
        '[connections.Other]\nauthorization_type = "API_KEY"\napi_key_name = "x-api-key"\n'
        'api_key_value_env = "API_KEY"\n',
    )
    with caplog.at_level(logging.WARNING, logger="engine.backends.http_task"), ApiServer() as api:
        results = run_twice(api.url, config)
    assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    assert [seen.header("x-api-key") for seen in api.seen] == [None, None]
    assert [record.getMessage() for record in caplog.records] == [
        f"HTTP Task 'Call': no [connections] entry in asl.toml matches {ARN}, so its calls "
        "carry no credentials; map the connection's name or ARN to its credentials to send "
        "them (docs/http-task.md)"
    ]


# --------------------------------------------------------------------------- configuration


def test_a_missing_variable_is_a_configuration_error_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    monkeypatch.setenv("API_USER", "ada")
    path = write_config(
        tmp_path,
        '[connections.Api]\nauthorization_type = "BASIC"\nusername_env = "API_USER"\n'
        'password_env = "NOT_SET_ANYWHERE"\n',
    )
    problem = (
        "connections.Api.password_env: the environment variable NOT_SET_ANYWHERE is not set; "
        "export it before starting (a connection's secrets are read from the environment only)"
    )
    with pytest.raises(ConfigInvalid) as raised:
        Engine(config=path)
    assert [str(p) for p in raised.value.problems] == [problem]
    checked = check_config(path)
    assert checked.config is None
    assert [str(p) for p in checked.problems] == [problem]


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (
            '[connections.Api]\nauthorization_type = "API_KEY"\napi_key_name = "k"\n',
            "connections.Api: authorization_type API_KEY needs api_key_value_env",
        ),
        (
            '[connections.Api]\nauthorization_type = "BASIC"\nusername_env = "U"\n'
            'password_env = "P"\napi_key_name = "k"\n',
            "connections.Api: api_key_name belong to another authorization_type than BASIC; "
            "remove them",
        ),
        (
            '[connections.Api]\nauthorization_type = "TOKEN"\n',
            "connections.Api.authorization_type: Input should be 'API_KEY', 'BASIC' or "
            "'OAUTH_CLIENT_CREDENTIALS'",
        ),
        (
            '[connections."bad name!"]\nauthorization_type = "BASIC"\nusername_env = "U"\n'
            'password_env = "P"\n',
            "connections.bad name!: a connection is named by its name (letters, digits, '.', "
            "'_', '-', up to 64) or its full ARN "
            "(arn:aws:events:REGION:ACCOUNT:connection/NAME/ID)",
        ),
    ],
    ids=["missing field", "field of another type", "unknown type", "bad key"],
)
def test_config_check_reports_connection_mistakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, problem: str
) -> None:
    monkeypatch.setenv("U", "u")
    monkeypatch.setenv("P", "p")
    checked = check_config(write_config(tmp_path, table))
    assert [str(p) for p in checked.problems] == [problem]


def test_connections_never_show_their_secrets(tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path,
            '[connections.Api]\nauthorization_type = "OAUTH_CLIENT_CREDENTIALS"\n'
            'authorization_endpoint = "https://auth.example/token"\nclient_id_env = "I"\n'
            'client_secret_env = "S"\n',
        )
    )
    connections = build_connections(config, {"I": "client", "S": SECRET})
    found = connections.find("arn:aws:events:eu-west-1:1:connection/Api/x")
    assert found is not None
    assert SECRET not in repr(found)
    assert connections.find("arn:aws:events:eu-west-1:1:connection/Other/x") is None


@pytest.mark.parametrize("mapping", [HTTP_INVOKE, "arn:aws:states:::*"], ids=["exact", "pattern"])
def test_a_resources_stand_in_for_the_http_task_wins(tmp_path: Path, mapping: str) -> None:
    (tmp_path / "fake.py").write_text(
        "def fake(event, context):\n    return {'faked': event['Method']}\n"
    )
    config = write_config(
        tmp_path, f'[lambda]\nsources = ["fake.py"]\n[resources]\n"{mapping}" = "fake"\n'
    )
    [result, _] = run_twice("http://127.0.0.1:9", config)
    assert result.output == {"faked": "POST"}


def test_a_mock_config_answers_an_http_task_first() -> None:
    from engine.backends.mocks import parse_mock_config

    mocks = parse_mock_config(
        json.dumps(
            {
                "StateMachines": {"http": {"TestCases": {"Offline": {"Call": "Answer"}}}},
                "MockedResponses": {
                    "Answer": {"0": {"Return": {"StatusCode": 200, "ResponseBody": {"ok": 1}}}}
                },
            }
        )
    )
    definition: dict[str, JSON] = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": HTTP_INVOKE,
                "Parameters": {
                    "ApiEndpoint": "http://127.0.0.1:9/nothing-listens",
                    "Method": "GET",
                    "Authentication": {"ConnectionArn": ARN},
                },
                "End": True,
            }
        },
    }

    async def scenario() -> ExecutionResult:
        engine = Engine.for_testing(mock_config=mocks)
        try:
            return await engine.run(engine.load(definition, name="http"), {}, test_case="Offline")
        finally:
            await engine.aclose()

    result = asyncio.run(scenario())
    assert result.output == {"StatusCode": 200, "ResponseBody": {"ok": 1}}
