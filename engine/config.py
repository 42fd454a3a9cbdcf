"""The operator's configuration file: `asl.toml`, or `[tool.asl]` in pyproject.toml.

Owns: finding the file, reading it into a checked `AslConfig` (every mistake reported with its
key path, e.g. `functions.Resize.timeout`, and how to fix it), and building what it configures:
the Lambda backend (functions -> Python handler, command or URL, with Lambda's settings) and the
resource mappings (`[resources]`: a service integration ARN served by a function). Must never:
take configuration from an API client or a workflow definition; only the operator's file and
CLI flags reach here, so nothing else can make the engine import a module or run a command.

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
from collections.abc import Mapping, Sequence
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
from engine.backends.registry import BackendRegistry, functions_registry
from engine.backends.runner import FunctionRunner
from engine.errors import InvalidRequest
from engine.interpreter.tasks import TaskRequest, TaskResult

if TYPE_CHECKING:
    from engine.backends.aws_endpoints import AwsSettings
    from engine.backends.aws_sdk import AwsBackend
    from engine.backends.mocks import MockConfig
    from engine.config_schema import AslConfig, FunctionConfig, LambdaConfig

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
    "build_function_backends",
    "check_config",
    "find_config",
    "load_config",
    "open_task_backends",
]

CONFIG_FILE: Final = "asl.toml"
INVALID_CONFIG: Final = "InvalidConfig"
"""`InvalidRequest.code` of every configuration failure."""

CONFIG_ENV: Final = "ASL_CONFIG"
"""Environment variable naming the config file when no `--config` flag is given."""

_SCHEMA_NAMES: Final = frozenset(
    {"AslConfig", "AwsConfig", "FaultConfig", "FunctionConfig", "LambdaConfig"}
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


def find_config(explicit: str | None = None, *, cwd: Path | None = None) -> Path | None:
    """The config file to use: `explicit`, else $ASL_CONFIG, else ./asl.toml, else
    ./pyproject.toml when it has a [tool.asl] table; None when there is none."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    here = cwd or Path()  # relative to the working folder unless told otherwise
    if (here / CONFIG_FILE).is_file():
        return here / CONFIG_FILE
    pyproject = here / "pyproject.toml"
    if pyproject.is_file():
        import tomllib  # here: most runs have no pyproject.toml to look into

        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None  # not ours to report: it may not be meant for us at all
        if isinstance(data.get("tool"), dict) and "asl" in data["tool"]:
            return pyproject
    return None


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


ConfigSource: TypeAlias = "AslConfig | str | Path | None"
"""A config as the Engine and Service take it: checked, a file path, or none (defaults)."""


@dataclass(slots=True)
class TaskBackends:
    """Everything that answers a Task in an Engine or a Service: the config's functions, the
    registry over them and the caller's `backends`, and the mocks in front of the registry."""

    functions: FunctionBackends
    registry: BackendRegistry
    mocks: MockedBackends
    aws: AwsBackend | None = None

    async def aclose(self) -> None:
        await self.functions.aclose()
        if self.aws is not None:
            self.aws.close()


def open_task_backends(
    config: ConfigSource,
    functions: Mapping[str, Handler] | None = None,
    backends: Mapping[str, Backend] | None = None,
    mock_config: MockConfig | None = None,
) -> TaskBackends:
    """The backends of `config` (a checked config, or the path of a file to load) with the
    Python `functions` given in code or on the command line; `backends` (exact ARNs or `*`
    patterns) are mapped next to `[resources]`, and the Lambda backend serves every Lambda
    ARN; a mock config answers the states its test cases mock first; last, with `[aws]` or an
    AWS_ENDPOINT_URL variable, the AWS backend serves the service integrations nothing else
    maps, and Lambda functions not defined here (docs/integrations.md). Raises
    `InvalidRequest`."""
    if isinstance(config, str | Path):
        config = load_config(Path(config))
    built = build_function_backends(config, functions=functions)
    settings = aws_settings(config)
    aws: AwsBackend | None = None
    lambda_backend: Backend = built.lambda_backend
    if settings.enabled:
        from engine.backends.aws_lambda import LambdaRouter
        from engine.backends.aws_sdk import AwsBackend

        aws = AwsBackend(settings)
        lambda_backend = LambdaRouter(built.lambda_backend, aws)
    registry = functions_registry(
        {**built.resources, **(backends or {})},
        lambda_backend,
        fallback=aws.resolve if aws is not None else None,
    )
    mocks = MockedBackends(mock_config, registry.resolve)
    return TaskBackends(built, registry, mocks, aws)
