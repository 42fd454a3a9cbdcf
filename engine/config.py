"""The operator's configuration file: `asl.toml`, or `[tool.asl]` in pyproject.toml.

Owns: finding the file, reading it into a checked `AslConfig` (every mistake reported with its
key path, e.g. `functions.Resize.timeout`, and how to fix it), and building what it configures:
the Lambda backend (functions -> Python handler, command or URL, with Lambda's settings), the
resource mappings (`[resources]`: a service integration ARN served by a function) and the HTTP
Task's EventBridge connections (`[connections]`, their secrets read from the environment at
start). Must never: take configuration from an API client or a workflow definition; only the
operator's file, its environment and CLI flags reach here, so nothing else can make the engine
import a module, run a command or send a credential.

The file's schema (pydantic models: `AslConfig`, `FunctionConfig`, ...) lives in
config_schema.py and is imported on first use (`load_config`, `check_config`, or naming
`engine.config.AslConfig`): without a config file, nothing here loads pydantic, which is most of
the start-up time of `asl run` (see bench/README.md section 3).

    [lambda]                      # defaults for every function (Lambda's own shown)
    timeout = 3                   # seconds, 1..900
    memory_size = 128             # MB, 128..10240
    account_concurrency = 1000
    cold_start = 0                # seconds a new instance takes to start; 0 = off
    sources = ["handlers.py"]     # Python files/modules: each top-level function serves the
                                  # Lambda function of its name (as --functions does)

    [functions.ValidateOrder]     # one function: at most one of handler / command / url
    handler = "orders.validate"   # Python: module.function, looked up under `code`
    code = "src"                  # default: this file's folder
    timeout = 10
    reserved_concurrency = 5

    [functions.Resize]
    command = ["node", "resize.js"]   # any executable: event on stdin, result on stdout
    cwd = "functions"

    [functions.Billing]
    url = "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"

    [functions.Flaky]
    faults = [{ error = "Lambda.ServiceException", calls = [1, 2] }]

    [resources]                   # service integrations served by a function
    "arn:aws:states:::sqs:sendMessage" = "FakeQueue"

    [connections.Stripe]          # HTTP Tasks' EventBridge connections, by name or ARN
    authorization_type = "API_KEY"
    api_key_name = "Authorization"
    api_key_value_env = "STRIPE_API_KEY"      # secrets come from the environment only
    [aws]                         # the rest call an AWS endpoint (docs/integrations.md)
    endpoint_url = "http://127.0.0.1:4566"
    allow_real_aws = false        # no endpoint, or an amazonaws.com one, is refused
    [aws.endpoints]
    dynamodb = "http://127.0.0.1:8000"

A `[functions.NAME]` table without handler, command or url sets the Lambda settings of a
function that `sources` (or `--functions`) defines. Relative paths are relative to the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeAlias

from engine.backends.base import Backend
from engine.backends.functions import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    DEFAULT_MEMORY_SIZE,
    UNCONFIGURED_TIMEOUT,
    Fault,
    FunctionSettings,
    LambdaBackend,
    LambdaFunction,
)
from engine.backends.mocked import MockedBackends
from engine.backends.python import (
    DEFAULT_MAX_ABANDONED,
    DEFAULT_MAX_WORKERS,
    Handler,
    HandlerPool,
    PythonRunner,
    load_functions,
)
from engine.backends.registry import HTTP_INVOKE, BackendRegistry, functions_registry
from engine.backends.runner import FunctionRunner
from engine.config_file import CONFIG_FILE, find_config  # re-exported: callers name them here
from engine.definition.distributed import ITEM_READER_TASK, RESULT_WRITER_TASK
from engine.errors import InvalidRequest
from engine.interpreter.tasks import TaskRequest, TaskResult

if TYPE_CHECKING:
    from engine.backends.aws_endpoints import AwsSettings
    from engine.backends.aws_sdk import AwsBackend
    from engine.backends.connections import Connections, HttpParameters
    from engine.backends.http_task import HttpTaskBackend
    from engine.backends.map_io import MapIoBackend
    from engine.backends.mocks import MockConfig
    from engine.config_schema import (
        AslConfig,
        ConnectionConfig,
        FunctionConfig,
        HttpParametersConfig,
        LambdaConfig,
    )
    from engine.values import JSON

__all__ = [
    "CONFIG_FILE",
    "INVALID_CONFIG",
    "AslConfig",
    "ConfigCheck",
    "ConfigInvalid",
    "ConfigProblem",
    "ConfigSource",
    "FunctionBackends",
    "TaskBackends",
    "build_connections",
    "build_function_backends",
    "check_config",
    "find_config",
    "load_config",
    "open_task_backends",
    "with_functions",
]

INVALID_CONFIG: Final = "InvalidConfig"
"""`InvalidRequest.code` of every configuration failure."""

_SCHEMA_NAMES: Final = frozenset(
    {"AslConfig", "AwsConfig", "ConnectionConfig", "FaultConfig", "FunctionConfig"}
    | {"LambdaConfig"}
)


def __getattr__(name: str) -> object:
    """The schema's models, imported (with pydantic) only when someone names one (PEP 562)."""
    if name in _SCHEMA_NAMES:
        from engine import config_schema

        return getattr(config_schema, name)
    raise AttributeError(f"module 'engine.config' has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One mistake in the file: where (`functions.Resize.timeout`) and what to do."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


# --------------------------------------------------------------------------- reading the file


@dataclass(frozen=True, slots=True)
class ConfigCheck:
    """What `check_config` found: the config (None when there are problems), every problem,
    and the names of the functions the config serves (empty when it could not be built)."""

    config: AslConfig | None
    problems: list[ConfigProblem]
    functions: list[str] = field(default_factory=list)


def check_config(path: Path) -> ConfigCheck:
    """Read and check the file.

    Besides the file's shape this checks what can be checked without running anything: the
    Python handlers and sources load and define the functions named, commands exist and are
    executable, URLs are well formed, [resources] name defined functions, and the mock config
    file exists and is valid. The backends are built once, to check them, then closed.
    """
    from engine.config_schema import read_config

    config, problems = read_config(path)
    if config is None:
        return ConfigCheck(None, problems)
    functions: list[str] = []
    try:
        functions = build_function_backends(config, close=True).lambda_backend.function_names
    except ConfigInvalid as exc:
        problems.extend(exc.problems)
    problems.extend(_check_runners(config))
    try:
        build_connections(config)
    except ConfigInvalid as exc:
        problems.extend(exc.problems)
    problems.extend(_check_aws(config))
    if config.mock_config is not None:
        problems.extend(_check_mock_config(config.folder / config.mock_config))
    return ConfigCheck(None if problems else config, problems, functions)


def load_config(path: Path) -> AslConfig:
    """The checked config of the file at `path`. Raises `InvalidRequest` (InvalidConfig)
    listing every problem."""
    from engine.config_schema import read_config

    config, problems = read_config(path)
    if config is None:
        raise _invalid(path, problems)
    return config


class ConfigInvalid(InvalidRequest):
    """A config file with problems: the message lists them, `problems` holds them."""

    def __init__(self, path: Path, problems: Sequence[ConfigProblem]) -> None:
        listed = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(INVALID_CONFIG, f"Invalid config file {path}:\n{listed}")
        self.problems = list(problems)


def _invalid(path: Path, problems: Sequence[ConfigProblem]) -> ConfigInvalid:
    return ConfigInvalid(path, problems)


def _check_mock_config(path: Path) -> list[ConfigProblem]:
    from engine.backends.mocks import check_mock_config

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [ConfigProblem("mock_config", f"no such file: {path}")]
    except (OSError, UnicodeDecodeError) as exc:
        return [ConfigProblem("mock_config", f"cannot read {path}: {exc}")]
    return [
        ConfigProblem("mock_config", f"{path}: {problem}") for problem in check_mock_config(text)
    ]


def _check_runners(config: AslConfig) -> list[ConfigProblem]:
    from engine.backends.command import check_command
    from engine.backends.endpoint import check_url

    problems: list[ConfigProblem] = []
    for name, function in config.functions.items():
        where = f"functions.{name}"
        if function.command is not None:
            problem = check_command(function.argv, cwd=_cwd(config, function), env=function.env)
            if problem:
                problems.append(ConfigProblem(f"{where}.command", problem))
        if function.url is not None:
            problem = check_url(function.url)
            if problem:
                problems.append(ConfigProblem(f"{where}.url", problem))
    return problems


def _check_aws(config: AslConfig) -> list[ConfigProblem]:
    """`[aws]`: URLs well formed, `[aws.endpoints]` keys naming AWS services."""
    if config.aws is None:
        return []
    from engine.backends.aws_endpoints import endpoint_key
    from engine.backends.endpoint import check_url

    problems: list[ConfigProblem] = []
    urls: dict[str, str | None] = {"aws.endpoint_url": config.aws.endpoint_url}
    for service, url in config.aws.endpoints.items():
        urls[f"aws.endpoints.{service}"] = url
        if endpoint_key(service) is None:
            problems.append(
                ConfigProblem(
                    f"aws.endpoints.{service}",
                    f"no AWS service is named '{service}'; use botocore's name (dynamodb, sqs, "
                    "sns, events, s3, lambda, stepfunctions) or Step Functions' (eventbridge, "
                    "sfn)",
                )
            )
    for where, address in urls.items():
        found = check_url(address) if address is not None else None
        if found:
            problems.append(ConfigProblem(where, found))
    return problems


def aws_settings(config: AslConfig | None, environ: Mapping[str, str] | None = None) -> AwsSettings:
    """The `[aws]` settings of `config` (none: the environment's AWS_ENDPOINT_URL only)."""
    from engine.backends.aws_endpoints import AwsSettings, endpoint_key

    env = dict(os.environ if environ is None else environ)
    aws = config.aws if config is not None else None
    if aws is None:
        return AwsSettings(environ=env)
    return AwsSettings(
        endpoint_url=aws.endpoint_url,
        endpoints={endpoint_key(k) or k: v for k, v in aws.endpoints.items()},
        region=aws.region,
        allow_real_aws=aws.allow_real_aws,
        configured=True,
        environ=env,
    )


# --------------------------------------------------------------------------- building backends


@dataclass(slots=True)
class FunctionBackends:
    """What a config builds: the Lambda backend and the backends of `[resources]` mappings."""

    lambda_backend: LambdaBackend
    resources: dict[str, Backend] = field(default_factory=dict)

    def close(self) -> None:
        self.lambda_backend.close()

    async def aclose(self) -> None:
        await self.lambda_backend.aclose()


class ResourceFunction:
    """Serves a service integration ARN (`[resources]`) with a function: the Task's effective
    parameters are the event, the function's response is the Task's result."""

    def __init__(self, backend: LambdaBackend, function: str) -> None:
        self._backend = backend
        self._function = function

    async def invoke(self, request: TaskRequest) -> TaskResult:
        return await self._backend.call(self._function, request)


def build_function_backends(
    config: AslConfig | None,
    *,
    functions: Mapping[str, Handler] | None = None,
    close: bool = False,
) -> FunctionBackends:
    """The backends `config` describes, plus the Python `functions` given on the command line
    (`--functions`; a function the config defines by name wins). Raises `InvalidRequest`
    (InvalidConfig) listing every function that cannot be built. `close=True` closes them at
    once (a check)."""
    if config is None:
        return _unconfigured_backends(functions or {}, close=close)
    from engine.config_schema import FunctionConfig  # loaded already: `config` is one of its models

    defaults = config.lambda_
    problems: list[ConfigProblem] = []
    handlers: dict[str, Handler] = {}
    for index, source in enumerate(defaults.sources):
        try:
            handlers.update(load_functions(_relative(config, source)))
        except InvalidRequest as exc:
            problems.append(ConfigProblem(f"lambda.sources[{index}]", exc.message))
    handlers.update(functions or {})

    pool = HandlerPool(defaults.max_workers, defaults.max_abandoned)
    runners: dict[str, FunctionRunner] = {
        name: PythonRunner(handler, pool) for name, handler in handlers.items()
    }
    settings: dict[str, FunctionSettings] = {}
    modules: dict[str, dict[str, Handler]] = {}
    for name, function in config.functions.items():
        where = f"functions.{name}"
        try:
            runner = _runner(config, name, function, pool, modules)
        except InvalidRequest as exc:
            problems.append(ConfigProblem(f"{where}.handler", exc.message))
            continue
        if runner is not None:
            runners[name] = runner
        elif name not in runners:
            problems.append(
                ConfigProblem(
                    where,
                    f"no handler, command or url, and no source defines a function named "
                    f"'{name}'; give one, or add the file defining it to lambda.sources",
                )
            )
            continue
        settings[name] = _settings(defaults, function)
    for resource, target in config.resources.items():
        if target not in runners:
            problems.append(
                ConfigProblem(
                    f"resources.{resource}",
                    f"no function named '{target}'; define [functions.{target}]",
                )
            )
    if problems:
        pool.close()
        raise _invalid(Path(config.source), problems)
    default_settings = _settings(defaults, FunctionConfig())
    backend = LambdaBackend(
        {
            name: LambdaFunction(runner, settings.get(name, default_settings))
            for name, runner in runners.items()
        },
        account_concurrency=defaults.account_concurrency,
        seed=defaults.seed,
    )
    built = FunctionBackends(
        backend,
        {
            resource: ResourceFunction(backend, target)
            for resource, target in config.resources.items()
        },
    )
    if close:
        built.close()
    return built


def _unconfigured_backends(functions: Mapping[str, Handler], *, close: bool) -> FunctionBackends:
    """No config file: the Python `functions` with Lambda's defaults, but for the timeout, which
    is unknown (UNCONFIGURED_TIMEOUT). The same backends as a config holding only
    `lambda.timeout = UNCONFIGURED_TIMEOUT` builds (tests/test_config.py compares them), built
    without the schema, so that a run without a config file never imports pydantic."""
    pool = HandlerPool(DEFAULT_MAX_WORKERS, DEFAULT_MAX_ABANDONED)
    settings = FunctionSettings(
        timeout=UNCONFIGURED_TIMEOUT,
        memory_size=DEFAULT_MEMORY_SIZE,
        reserved_concurrency=None,
        cold_start=0.0,
        faults=(),
    )
    backend = LambdaBackend(
        {
            name: LambdaFunction(PythonRunner(handler, pool), settings)
            for name, handler in functions.items()
        },
        account_concurrency=DEFAULT_ACCOUNT_CONCURRENCY,
        seed=None,
    )
    built = FunctionBackends(backend)
    if close:
        built.close()
    return built


def _relative(config: AslConfig, path: str) -> str:
    """A path from the file, relative to the file's folder; module names stay as they are."""
    candidate = config.folder / path
    if path.endswith(".py") or "/" in path or candidate.exists():
        return str(candidate)
    return path


def _runner(
    config: AslConfig,
    name: str,
    function: FunctionConfig,
    pool: HandlerPool,
    modules: dict[str, dict[str, Handler]],
) -> FunctionRunner | None:
    if function.handler is not None:
        module, _, attribute = function.handler.rpartition(".")
        folder = config.folder / (function.code or ".")
        file = folder / (module.replace(".", "/") + ".py")
        source = str(file) if file.is_file() else module
        if source not in modules:
            # Named explicitly, as Lambda's handler setting names one: a `_private` one too.
            modules[source] = load_functions(source, private=True)
        handler = modules[source].get(attribute)
        if handler is None:
            defined = ", ".join(sorted(modules[source])) or "none"
            raise InvalidRequest(
                INVALID_CONFIG,
                f"'{source}' defines no function '{attribute}' (it defines: {defined})",
            )
        return PythonRunner(handler, pool)
    if function.command is not None:
        from engine.backends.command import CommandRunner

        return CommandRunner(
            function.argv, cwd=_cwd(config, function), env=function.env, function_name=name
        )
    if function.url is not None:
        from engine.backends.endpoint import HttpRunner

        return HttpRunner(
            function.url, retries=function.retries, headers=function.headers, function_name=name
        )
    return None


def _cwd(config: AslConfig, function: FunctionConfig) -> Path:
    """A command's working folder: its `cwd` relative to the file's folder, else that folder."""
    return config.folder / function.cwd if function.cwd else config.folder


def _settings(defaults: LambdaConfig, function: FunctionConfig) -> FunctionSettings:
    return FunctionSettings(
        timeout=float(function.timeout or defaults.timeout),
        memory_size=function.memory_size or defaults.memory_size,
        reserved_concurrency=function.reserved_concurrency,
        cold_start=function.cold_start if function.cold_start is not None else defaults.cold_start,
        faults=tuple(
            Fault(fault.error, fault.rate, frozenset(fault.calls)) for fault in function.faults
        ),
    )


# --------------------------------------------------------------------------- connections

_CONNECTION_NAME_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
)


def build_connections(
    config: AslConfig | None, environ: Mapping[str, str] | None = None
) -> Connections | None:
    """The HTTP Tasks' connections `[connections]` describes (None when there are none), their
    secrets read from `environ` (default: the process's environment) now, at start. Raises
    `ConfigInvalid` naming every variable that is not set and every key that is neither a
    connection name nor a connection ARN; a message names the variable, never its value."""
    if config is None or not config.connections:
        return None
    from engine.backends.connections import (
        ApiKeyAuthorization,
        BasicAuthorization,
        Connection,
        Connections,
        OAuthAuthorization,
        connection_name,
    )

    env = os.environ if environ is None else environ
    problems: list[ConfigProblem] = []
    built: dict[str, Connection] = {}
    for key, connection in config.connections.items():
        where = f"connections.{key}"
        if connection_name(key) is None and not (
            0 < len(key) <= 64 and set(key) <= _CONNECTION_NAME_CHARS
        ):
            problems.append(
                ConfigProblem(
                    where,
                    "a connection is named by its name (letters, digits, '.', '_', '-', up to "
                    "64) or its full ARN (arn:aws:events:REGION:ACCOUNT:connection/NAME/ID)",
                )
            )
            continue

        def secret(field_name: str, where: str = where, conn: ConnectionConfig = connection) -> str:
            variable = getattr(conn, field_name)
            value = env.get(variable) if variable else None
            if value is None:
                problems.append(
                    ConfigProblem(
                        f"{where}.{field_name}",
                        f"the environment variable {variable} is not set; export it before "
                        "starting (a connection's secrets are read from the environment only)",
                    )
                )
                return ""
            return value

        authorization: ApiKeyAuthorization | BasicAuthorization | OAuthAuthorization
        if connection.authorization_type == "API_KEY":
            assert connection.api_key_name is not None
            authorization = ApiKeyAuthorization(
                connection.api_key_name, secret("api_key_value_env")
            )
        elif connection.authorization_type == "BASIC":
            authorization = BasicAuthorization(secret("username_env"), secret("password_env"))
        else:
            assert connection.authorization_endpoint is not None
            authorization = OAuthAuthorization(
                connection.authorization_endpoint,
                secret("client_id_env"),
                secret("client_secret_env"),
                connection.http_method or "POST",
                _http_parameters(connection.oauth_http_parameters),
            )
        built[key] = Connection(
            key, authorization, _http_parameters(connection.invocation_http_parameters)
        )
    if problems:
        raise _invalid(Path(config.source), problems)
    return Connections(built)


def _http_parameters(parameters: HttpParametersConfig | None) -> HttpParameters:
    from engine.backends.connections import HttpParameters

    if parameters is None:
        return HttpParameters()
    return HttpParameters(
        tuple(parameters.header_parameters.items()),
        tuple(parameters.query_string_parameters.items()),
        tuple(parameters.body_parameters.items()),
    )


def _serves(mapping: str, resource: str) -> bool:
    """Whether a mapping (an exact ARN, or a pattern with `*`) serves `resource`. Not the
    registry's resolve, which loads RE2 for its Lambda patterns: a start-up cost no run without
    a pattern of its own pays (tests/cli/test_cold_start.py)."""
    if "*" not in mapping:
        return mapping == resource
    import re

    return (
        re.fullmatch(".*".join(re.escape(part) for part in mapping.split("*")), resource)
        is not None
    )


class DeferredHttpTask:
    """Serves `arn:aws:states:::http:invoke`: the HTTP Task's backend (and httpx2 with it) is
    imported and built on the first HTTP Task, since most runs have none and start-up time
    counts (bench/README.md, section 3)."""

    def __init__(self, connections: Connections | None) -> None:
        self._connections = connections
        self.backend: HttpTaskBackend | None = None

    async def invoke(self, request: TaskRequest) -> TaskResult:
        if self.backend is None:
            from engine.backends.http_task import HttpTaskBackend

            self.backend = HttpTaskBackend(self._connections)
        return await self.backend.invoke(request)

    async def aclose(self) -> None:
        if self.backend is not None:
            await self.backend.aclose()


class DeferredMapIo:
    """Serves a Distributed Map's ItemReader and ResultWriter requests
    (engine/backends/map_io.py), built on the first one: most runs read no items from S3."""

    def __init__(self, settings: AwsSettings) -> None:
        self._settings = settings
        self.backend: MapIoBackend | None = None

    async def invoke(self, request: TaskRequest) -> TaskResult:
        return await self._backend().invoke(request)

    async def write_records(
        self, request: TaskRequest, records: Iterable[Mapping[str, JSON]]
    ) -> TaskResult:
        """A ResultWriter's write whose records are read as they are written
        (engine/backends/map_io.py `write_records`)."""
        return await self._backend().write_records(request, records)

    def _backend(self) -> MapIoBackend:
        if self.backend is None:
            from engine.backends.map_io import MapIoBackend

            self.backend = MapIoBackend(self._settings)
        return self.backend

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()


def with_functions(
    config: AslConfig | None,
    functions: Mapping[str, Mapping[str, object]],
    *,
    source: str,
    folder: Path,
) -> AslConfig:
    """`config` with more `[functions.NAME]` tables (e.g. a SAM template's Python functions:
    `{"handler": "app.handler", "code": "/abs/dir", "timeout": 10}`), built through the same
    schema and backends as the file's own. A function the file already defines keeps its own
    table. Without a config, a config holding only them (and Lambda's unconfigured timeout for
    the others, as without a file). Raises `ConfigInvalid` naming `source` when one does not
    fit the schema (a Timeout past 900, ...)."""
    from pydantic import ValidationError

    from engine.config_schema import AslConfig, FunctionConfig, LambdaConfig

    if config is None:
        config = AslConfig(
            lambda_=LambdaConfig(timeout=int(UNCONFIGURED_TIMEOUT)), folder=folder, source=source
        )
    added: dict[str, FunctionConfig] = {}
    problems: list[ConfigProblem] = []
    for name, settings in functions.items():
        if name in config.functions:
            continue
        try:
            added[name] = FunctionConfig.model_validate(settings)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                problems.append(
                    ConfigProblem(f"functions.{name}.{where}".rstrip("."), error["msg"])
                )
    if problems:
        raise _invalid(Path(source), problems)
    return config.model_copy(update={"functions": {**config.functions, **added}})


ConfigSource: TypeAlias = "AslConfig | str | Path | None"
"""A config as the Engine and Service take it: checked, a file path, or none (defaults)."""


@dataclass(slots=True)
class TaskBackends:
    """Everything that answers a Task in an Engine or a Service: the config's functions, the
    registry over them and the caller's `backends`, and the mocks in front of the registry."""

    functions: FunctionBackends
    registry: BackendRegistry
    mocks: MockedBackends
    http: DeferredHttpTask | None = None
    aws: AwsBackend | None = None
    config: AslConfig | None = None  # the checked file, when there is one
    map_io: DeferredMapIo | None = None

    async def aclose(self) -> None:
        await self.functions.aclose()
        if self.http is not None:
            await self.http.aclose()
        if self.aws is not None:
            self.aws.close()
        if self.map_io is not None:
            self.map_io.close()


def open_task_backends(
    config: ConfigSource,
    functions: Mapping[str, Handler] | None = None,
    backends: Mapping[str, Backend] | None = None,
    mock_config: MockConfig | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> TaskBackends:
    """The backends of `config` (a checked config, or the path of a file to load) with the
    Python `functions` given in code or on the command line; `backends` (exact ARNs or `*`
    patterns) are mapped next to `[resources]`, and the Lambda backend serves every Lambda
    ARN; `arn:aws:states:::http:invoke` is the HTTP Task's (with `[connections]`) unless a
    mapping already serves it; a mock config answers the states its test cases mock first;
    last, with `[aws]` or an AWS_ENDPOINT_URL variable, the AWS backend serves the service
    integrations nothing else maps, and Lambda functions not defined here
    (docs/integrations.md). `environ` is the environment to read AWS_ENDPOINT_URL from (an
    Engine building its backends on the first Task passes the one it was created in); default,
    the process's. Raises `InvalidRequest`."""
    if isinstance(config, str | Path):
        config = load_config(Path(config))
    connections = build_connections(config)
    built = build_function_backends(config, functions=functions)
    settings = aws_settings(config, environ)
    aws: AwsBackend | None = None
    lambda_backend: Backend = built.lambda_backend
    if settings.enabled:
        from engine.backends.aws_lambda import LambdaRouter
        from engine.backends.aws_sdk import AwsBackend

        aws = AwsBackend(settings)
        lambda_backend = LambdaRouter(built.lambda_backend, aws)
    mapped = {**built.resources, **(backends or {})}
    registry = functions_registry(
        mapped, lambda_backend, fallback=aws.resolve if aws is not None else None
    )
    http = DeferredHttpTask(connections)
    if not any(_serves(resource, HTTP_INVOKE) for resource in mapped):
        registry.register(HTTP_INVOKE, http)  # a [resources] stand-in for it wins
    # A Distributed Map's reads and writes (engine/interpreter/map_io.py's resources, which no
    # definition can name): S3 at the [aws] endpoint, refused with what to configure without one.
    map_io = DeferredMapIo(settings)
    for resource in (ITEM_READER_TASK, RESULT_WRITER_TASK):
        registry.register(resource, map_io)
    mocks = MockedBackends(mock_config, registry.resolve)
    return TaskBackends(built, registry, mocks, http, aws, config, map_io)
