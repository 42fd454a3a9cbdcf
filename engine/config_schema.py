"""The shape of the operator's config file (asl.toml, `[tool.asl]`) as pydantic models, and
reading a file's text into a checked `AslConfig` or its located problems.

Owns: every rule about keys, types and ranges (`functions.Resize.timeout: Input should be less
than or equal to 900`), and turning pydantic's errors into `ConfigProblem`s a person can act on.
Its own module so that pydantic (and the schema built from these models, ~50 ms at import) is
loaded only when a config file exists: engine/config.py imports it on first use, and an
`asl run` or `asl validate` without a config file never does. Must never: build backends or
import user code (engine/config.py does).
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from engine.backends.functions import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    DEFAULT_MEMORY_SIZE,
    DEFAULT_TIMEOUT,
    MAX_TIMEOUT,
)
from engine.backends.python import DEFAULT_MAX_ABANDONED, DEFAULT_MAX_WORKERS
from engine.config import ConfigProblem
from engine.execution_log import DEFAULT_LOGGER

__all__ = [
    "AslConfig",
    "AwsConfig",
    "ConnectionConfig",
    "ExecutionLogsConfig",
    "FaultConfig",
    "FunctionConfig",
    "HttpParametersConfig",
    "LambdaConfig",
    "read_config",
]

_Strict = ConfigDict(extra="forbid", frozen=True)


class FaultConfig(BaseModel):
    model_config = _Strict

    error: Annotated[str, Field(min_length=1)]
    rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    calls: list[Annotated[int, Field(ge=1)]] = []

    @model_validator(mode="after")
    def _fires(self) -> FaultConfig:
        if self.rate == 0 and not self.calls:
            raise ValueError(
                "a fault needs `rate` (a probability per call) or `calls` (call numbers, 1-based)"
            )
        return self


Timeout = Annotated[int, Field(ge=1, le=int(MAX_TIMEOUT))]
MemorySize = Annotated[int, Field(ge=128, le=10240)]


class FunctionConfig(BaseModel):
    model_config = _Strict

    handler: str | None = None
    code: str | None = None
    command: list[str] | str | None = None
    cwd: str | None = None
    env: dict[str, str] = {}
    url: str | None = None
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    headers: dict[str, str] = {}
    timeout: Timeout | None = None
    memory_size: MemorySize | None = None
    reserved_concurrency: Annotated[int, Field(ge=0)] | None = None
    cold_start: Annotated[float, Field(ge=0, le=60)] | None = None
    faults: list[FaultConfig] = []

    @model_validator(mode="after")
    def _one_runner(self) -> FunctionConfig:
        given = [key for key in ("handler", "command", "url") if getattr(self, key) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of handler, command or url, not {' and '.join(given)}")
        if self.code is not None and self.handler is None:
            raise ValueError("`code` is the folder of a Python `handler`; give the handler")
        if (self.cwd is not None or self.env) and self.command is None:
            raise ValueError("`cwd` and `env` apply to a `command`; give the command")
        if self.handler is not None and (
            "." not in self.handler.strip(".")
            or not all(part.isidentifier() for part in self.handler.split("."))
        ):
            raise ValueError(
                f"handler '{self.handler}' is not module.function (e.g. 'app.handler', as "
                "Lambda's Python runtime names handlers)"
            )
        if isinstance(self.command, list) and not self.command:
            raise ValueError("command is empty; give the program and its arguments")
        return self

    @property
    def argv(self) -> list[str]:
        if isinstance(self.command, str):
            return shlex.split(self.command)
        return list(self.command or [])


class LambdaConfig(BaseModel):
    model_config = _Strict

    timeout: Timeout = int(DEFAULT_TIMEOUT)
    memory_size: MemorySize = DEFAULT_MEMORY_SIZE
    account_concurrency: Annotated[int, Field(ge=1)] = DEFAULT_ACCOUNT_CONCURRENCY
    cold_start: Annotated[float, Field(ge=0, le=60)] = 0.0
    sources: list[str] = []
    max_workers: Annotated[int, Field(ge=1, le=1024)] = DEFAULT_MAX_WORKERS
    max_abandoned: Annotated[int, Field(ge=0, le=4096)] = DEFAULT_MAX_ABANDONED
    seed: int | None = None


class HttpParametersConfig(BaseModel):
    """EventBridge's InvocationHttpParameters / OAuthHttpParameters, as tables of key = value."""

    model_config = _Strict

    header_parameters: dict[str, str] = {}
    query_string_parameters: dict[str, str] = {}
    body_parameters: dict[str, str] = {}


EnvName = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]

_AUTHORIZATION_FIELDS = {
    "API_KEY": ("api_key_name", "api_key_value_env"),
    "BASIC": ("username_env", "password_env"),
    "OAUTH_CLIENT_CREDENTIALS": ("authorization_endpoint", "client_id_env", "client_secret_env"),
}
_OAUTH_ONLY = ("http_method", "oauth_http_parameters")


class ConnectionConfig(BaseModel):
    """One EventBridge connection (`[connections.NAME]`): its AuthorizationType and the
    environment variables its secrets are read from, named as EventBridge's CreateConnection
    names its fields (ApiKeyName -> api_key_name, ...)."""

    model_config = _Strict

    authorization_type: Literal["API_KEY", "BASIC", "OAUTH_CLIENT_CREDENTIALS"]
    api_key_name: Annotated[str, Field(min_length=1)] | None = None
    api_key_value_env: EnvName | None = None
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    authorization_endpoint: str | None = None
    http_method: Literal["GET", "POST", "PUT"] | None = None
    client_id_env: EnvName | None = None
    client_secret_env: EnvName | None = None
    oauth_http_parameters: HttpParametersConfig | None = None
    invocation_http_parameters: HttpParametersConfig = HttpParametersConfig()

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> ConnectionConfig:
        needed = _AUTHORIZATION_FIELDS[self.authorization_type]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(
                f"authorization_type {self.authorization_type} needs {', '.join(missing)}"
            )
        others = {
            name
            for kind, names in _AUTHORIZATION_FIELDS.items()
            if kind != self.authorization_type
            for name in names
        }
        if self.authorization_type != "OAUTH_CLIENT_CREDENTIALS":
            others.update(_OAUTH_ONLY)
        given = sorted(name for name in others if getattr(self, name) is not None)
        if given:
            raise ValueError(
                f"{', '.join(given)} belong to another authorization_type than "
                f"{self.authorization_type}; remove them"
            )
        endpoint = self.authorization_endpoint
        if endpoint is not None and not endpoint.startswith(("https://", "http://")):
            raise ValueError(
                f"authorization_endpoint '{endpoint}' must start with https:// or http://"
            )
        return self


class AwsConfig(BaseModel):
    """`[aws]`: where service integrations call AWS (docs/integrations.md)."""

    model_config = _Strict

    endpoint_url: str | None = None
    region: str | None = None
    allow_real_aws: StrictBool = False  # "yes" is a mistake to report, not a True
    endpoints: dict[str, str] = {}

    @model_validator(mode="after")
    def _region(self) -> AwsConfig:
        if self.region is not None and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", self.region):
            raise ValueError(
                f"region '{self.region}' is not an AWS region name (e.g. us-east-1, eu-west-1)"
            )
        return self


class ExecutionLogsConfig(BaseModel):
    """`[execution_logs]`: where the execution logs of machines with a loggingConfiguration
    go (docs/observability.md): one JSON line per logged history event."""

    model_config = _Strict

    destination: Literal["logging", "stdout", "file"] = "logging"
    path: Annotated[str, Field(min_length=1)] | None = None  # the file, for "file"
    logger: Annotated[str, Field(min_length=1)] = DEFAULT_LOGGER  # for "logging"
    # CloudWatch Logs log group ARN (as in a machine's destinations) -> the file it maps to
    log_groups: dict[str, Annotated[str, Field(min_length=1)]] = {}

    @model_validator(mode="after")
    def _path(self) -> ExecutionLogsConfig:
        if self.destination == "file" and self.path is None:
            raise ValueError('destination "file" needs path (the file the lines go to)')
        return self


class RetryConfig(BaseModel):
    """How a destination of status-change events is retried, and where events it never took
    go (a JSON-lines file, relative to the config file's folder)."""

    model_config = _Strict

    max_attempts: Annotated[int, Field(ge=1, le=100)] = 5
    backoff_seconds: Annotated[float, Field(gt=0, le=3600)] = 1.0
    max_backoff_seconds: Annotated[float, Field(gt=0, le=86400)] = 300.0
    dead_letter: Annotated[str, Field(min_length=1)] | None = None


class WebhookConfig(RetryConfig):
    """`[events.webhooks.NAME]`: POST each status-change event to `url`, signed with the
    secret read from the environment variable `secret_env` (docs/triggers.md)."""

    url: Annotated[str, Field(pattern=r"^https?://")]
    secret_env: EnvName
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0


class EventBridgeConfig(RetryConfig):
    """`[events.eventbridge]`: PutEvents of each status-change event to `event_bus` through
    the `[aws]` endpoint (docs/triggers.md)."""

    event_bus: Annotated[str, Field(min_length=1)] = "default"
    # AWS's own source; real EventBridge refuses `aws.*` sources from PutEvents, so a real
    # bus needs another (e.g. "asl.states")
    source: Annotated[str, Field(min_length=1)] = "aws.states"


_SOURCE_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    # type -> (required fields, allowed fields besides the common ones)
    "sqs": ({"queue_url"}, {"queue_url", "dead_letter_queue_url", "visibility_timeout"}),
    "rabbitmq": ({"url", "queue"}, {"url", "queue", "dead_letter_queue"}),
    "redis": ({"url", "stream"}, {"url", "stream", "group", "dead_letter", "claim_idle_seconds"}),
}


class SourceConfig(BaseModel):
    """`[sources.NAME]`: an event source mapping from a queue to a machine: one execution per
    message, named by the message id (docs/triggers.md)."""

    model_config = _Strict

    type: Literal["sqs", "rabbitmq", "redis"]
    machine: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:states:[^:]+:\d{12}:stateMachine:")]
    batch_size: Annotated[int, Field(ge=1, le=10000)] = 10
    batching_window_seconds: Annotated[float, Field(ge=0, le=300)] = 0.0
    queue_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    dead_letter_queue_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    visibility_timeout: Annotated[int, Field(ge=0, le=43200)] | None = None
    url: Annotated[str, Field(pattern=r"^(amqps?|rediss?|unix)://")] | None = None
    queue: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    dead_letter_queue: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    stream: Annotated[str, Field(min_length=1)] | None = None
    group: Annotated[str, Field(min_length=1)] = "asl"
    dead_letter: Annotated[str, Field(min_length=1)] | None = None
    claim_idle_seconds: Annotated[float, Field(gt=0, le=86400)] = 60.0

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> SourceConfig:
        required, allowed = _SOURCE_FIELDS[self.type]
        given = {k for k in self.model_fields_set if k not in _COMMON_SOURCE_FIELDS}
        missing = sorted(required - given)
        if missing:
            raise ValueError(f"a {self.type} source needs {', '.join(missing)}")
        foreign = sorted(given - allowed)
        if foreign:
            raise ValueError(f"{', '.join(foreign)} is not a setting of a {self.type} source")
        return self


_COMMON_SOURCE_FIELDS = frozenset({"type", "machine", "batch_size", "batching_window_seconds"})


class EventsConfig(BaseModel):
    """`[events]`: where execution status-change events are delivered."""

    model_config = _Strict

    webhooks: dict[str, WebhookConfig] = {}
    eventbridge: EventBridgeConfig | None = None


class AslConfig(BaseModel):
    """The whole file, checked. `folder` is where relative paths start (the file's folder)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    lambda_: LambdaConfig = Field(default=LambdaConfig(), alias="lambda")
    functions: dict[str, FunctionConfig] = {}
    resources: dict[str, str] = {}
    connections: dict[str, ConnectionConfig] = {}
    aws: AwsConfig | None = None
    execution_logs: ExecutionLogsConfig = ExecutionLogsConfig()
    events: EventsConfig = EventsConfig()
    sources: dict[str, SourceConfig] = {}
    mock_config: str | None = None
    substitutions: dict[str, StrictStr | StrictBool | StrictInt | StrictFloat] = {}
    """DefinitionSubstitutions for every machine the commands read (`${Key}` -> value); the
    command line's --substitutions and --sub win (engine/cli/definitions.py)."""

    @field_validator("substitutions", mode="before")
    @classmethod
    def _scalar_substitutions(cls, value: object) -> object:
        # One message per bad value, instead of one per member of the union.
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(item, str | bool | int | float):
                    raise ValueError(
                        f"'{key}' is a {type(item).__name__}; a substitution value is a "
                        "string, a number or a boolean"
                    )
        return value

    folder: Path = Field(default=Path("."), exclude=True)
    source: str = Field(default="(defaults)", exclude=True)

    @model_validator(mode="after")
    def _references(self) -> AslConfig:
        reserved = sum(f.reserved_concurrency or 0 for f in self.functions.values())
        if reserved > self.lambda_.account_concurrency:
            raise ValueError(
                f"the functions reserve {reserved} concurrent executions in all, more than "
                f"lambda.account_concurrency ({self.lambda_.account_concurrency})"
            )
        return self


def read_config(path: Path) -> tuple[AslConfig | None, list[ConfigProblem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [ConfigProblem("", f"no such file: {path}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigProblem("", f"cannot read {path}: {exc}")]
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [ConfigProblem("", f"not valid TOML: {exc}")]
    prefix = ""
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        data = tool.get("asl", {}) if isinstance(tool, dict) else {}
        prefix = "tool.asl."
        if not isinstance(data, dict):
            return None, [ConfigProblem("tool.asl", "must be a table")]
    try:
        config = AslConfig.model_validate(
            {**data, "folder": path.resolve().parent, "source": str(path)}
        )
    except ValidationError as exc:
        return None, [
            ConfigProblem(prefix + _location(error["loc"]), _message(error))
            for error in exc.errors()
        ]
    return config, []


def _location(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        elif str(part).startswith(("function-after", "int", "float", "str", "list", "dict")):
            continue  # pydantic's union member labels say nothing to a reader
        elif part == "lambda_":
            parts.append("lambda")
        else:
            parts.append(str(part))
    return ".".join(parts)


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key; check its spelling against docs/backends.md"
    message = str(error.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    if kind in ("less_than_equal", "greater_than_equal"):
        return f"{message} (got {error.get('input')!r})"
    return message
