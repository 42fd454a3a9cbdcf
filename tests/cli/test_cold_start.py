"""`asl run` and `asl validate` start by importing only what the command needs (issue: a 150 ms
cold start; the time itself is bench/process_bench.py's, never asserted here).

Each case runs a real `asl` process (the installed script and `python -m engine.cli`) with
`PYTHONPROFILEIMPORTTIME=1`, so Python itself lists on stderr every module the process imports,
from start-up to exit, whoever imports it and however (a lazy import inside a function
included). The JSONPath cases assert that the heavy packages are absent; the JSONata, YAML and
config-file cases assert that the same detector sees them when they are needed, so a broken
detector (no list, a renamed module) fails here instead of passing. Every case also asserts the
command's exact output: loading less must change nothing a user sees.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import COMMAND_MODULES, build_parser
from tests.cli.harness import ENTRY_POINTS, FUNCTIONS, VARIABLES

pytestmark = pytest.mark.slow

ONE_PASS = {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}}
THREE_PASS = {
    "StartAt": "One",
    "States": {
        "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "Two"},
        "Two": {"Type": "Pass", "Result": 2, "ResultPath": "$.two", "Next": "Three"},
        "Three": {"Type": "Pass", "End": True},
    },
}
JSONATA_PASS = {
    "QueryLanguage": "JSONata",
    "StartAt": "Add",
    "States": {
        "Add": {"Type": "Pass", "Output": {"sum": "{% $states.input.a + 1 %}"}, "End": True}
    },
}
ECHO_TASK = {
    "StartAt": "Echo",
    "States": {
        "Echo": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:echo",
            "End": True,
        }
    },
}
DISTRIBUTED_MAP = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Echo",
                "States": {"Echo": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}
YAML_PASS = "StartAt: One\nStates:\n  One:\n    Type: Pass\n    End: true\n"

# What neither command may import for a JSONPath machine without Task or Map states and without
# a config file: the config schema (pydantic), JSONata, YAML, the HTTP stack, the stores, the
# task backends and the config module that builds them (built on the first Task), the Task
# and Distributed Map rules and modules (loaded with the first Task or Map), the observability
# sinks (loaded when asked for) and the AWS SDK.
NEVER = frozenset(
    {
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "jsonata",
        "re2",  # JSONata's regexes, and the registry's patterns once a Task resolves one
        "yaml",
        "fastapi",
        "starlette",
        "uvicorn",
        "httpx",
        "boto3",  # AWS integrations load them on their first call (engine/backends/aws_sdk.py)
        "botocore",
        "sqlalchemy",
        "alembic",
        "psycopg",
        "api",
        "engine.config_schema",
        "engine.definition.jsonata",
        "engine.definition.parse_yaml",
        "engine.definition.template",  # --template's modules (and the substitution rule,
        "engine.definition.template_intrinsics",  # which a file without `${` never needs)
        "engine.definition.substitutions",
        "engine.service",
        "engine.store",
        "engine.runtime.journal",
        "engine.runtime.worker",
        "engine.cli.serve",  # the other commands' modules: only the command's own is built
        "engine.cli.db",
        "engine.cli.executions",
        "tomllib",  # a config file's reader: none here (engine/config_file.py looks for one)
        "engine.config",  # the backends a config builds, on the first Task (engine/embedded.py)
        "engine.backends.functions",
        "engine.backends.python",
        "engine.backends.runner",
        "engine.backends.pool",
        "engine.backends.lambda_arn",
        "engine.backends.registry",
        "engine.backends.mocked",
        "engine.backends.nested",
        "engine.backends.aws_endpoints",
        "engine.backends.aws_sdk",
        "engine.backends.http_task",
        "engine.backends.map_io",
        "engine.definition.distributed",  # with the first Map state
        "engine.definition.validate_distributed",
        "engine.definition.validate_integrations",  # with the first Task state
        "engine.definition.validate_http",
        "engine.definition.aws_services",
        "engine.definition.choice",  # with the first Choice state
        "engine.definition.intrinsics",  # with the first intrinsic call
        "engine.metrics",  # observability: only when configured
        "prometheus_client",
        "engine.tracing",
        "opentelemetry",
        "engine.execution_log",
        "engine.logformat",
    }
)
# `asl validate` must not start the runtime either (engine/cli/validate.py).
NEVER_ON_VALIDATE = NEVER | {
    "asyncio",
    "logging",
    "engine.embedded",
    "engine.runtime",
    "engine.interpreter",
    "engine.backends",
    "engine.config",
}


def imported(stderr: str) -> set[str]:
    """Every module in `-X importtime`'s report, with each of its parent packages."""
    names: set[str] = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":  # the report's header line
                parts = name.split(".")
                names.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return names


def run_asl(entry: str, args: list[str], folder: Path) -> tuple[int, str, str, set[str]]:
    """One `asl` process in `folder`; its exit status, stdout, the stderr lines that are not
    the import report, and the modules it imported."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in VARIABLES and not k.startswith("AWS_ENDPOINT_URL")  # would build [aws]
    }
    env.update(PYTHONPROFILEIMPORTTIME="1", ASL_HOME=str(folder / "home"))
    done = subprocess.run(
        [*ENTRY_POINTS[entry], *args],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=120,
        check=False,
    )
    modules = imported(done.stderr)
    assert "engine.cli" in modules, done.stderr  # the report is there and names the CLI
    errors = "".join(
        line + "\n" for line in done.stderr.splitlines() if not line.startswith("import time:")
    )
    return done.returncode, done.stdout, errors, modules


def write(folder: Path, name: str, content: object) -> str:
    text = content if isinstance(content, str) else json.dumps(content)
    (folder / name).write_text(text, encoding="utf-8")
    return name


def summary(name: str, machine: str, output: object) -> str:
    return (
        f"execution  arn:aws:states:us-east-1:111111111111:execution:{machine}:{name}\n"
        "status     SUCCEEDED\n"
        f"output     {json.dumps(output)}\n"
    )


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(
    ("machine", "output"),
    [(ONE_PASS, {"a": 1}), (THREE_PASS, {"a": 1, "one": 1, "two": 2})],
    ids=["one-pass", "three-pass"],
)
def test_run_of_a_jsonpath_machine_imports_none_of_the_heavy_packages(
    tmp_path: Path, entry: str, machine: dict[str, object], output: object
) -> None:
    path = write(tmp_path, "m.asl.json", machine)
    code, out, err, modules = run_asl(
        entry, ["run", path, "--name", "cold", "--input", '{"a": 1}'], tmp_path
    )
    assert (code, out, err) == (0, summary("cold", "m", output), "")
    assert sorted(modules & NEVER) == []
    assert {"asyncio", "engine.runtime.loop", "engine.interpreter.core"} <= modules


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("machine", [ONE_PASS, THREE_PASS], ids=["one-pass", "three-pass"])
def test_validate_of_a_jsonpath_machine_imports_neither_the_runtime_nor_the_heavy_packages(
    tmp_path: Path, entry: str, machine: dict[str, object]
) -> None:
    path = write(tmp_path, "m.asl.json", machine)
    code, out, err, modules = run_asl(entry, ["validate", path], tmp_path)
    assert (code, out, err) == (0, "m.asl.json: valid (0 errors, 0 warnings)\n", "")
    assert sorted(modules & NEVER_ON_VALIDATE) == []
    assert "engine.definition.validate" in modules


def test_a_jsonata_machine_still_runs_and_validates_with_jsonata(tmp_path: Path) -> None:
    path = write(tmp_path, "j.asl.json", JSONATA_PASS)
    code, out, err, modules = run_asl(
        "asl", ["run", path, "--name", "cold", "--input", '{"a": 41}'], tmp_path
    )
    assert (code, out, err) == (0, summary("cold", "j", {"sum": 42}), "")
    assert {"jsonata", "engine.definition.jsonata"} <= modules
    code, out, err, modules = run_asl("asl", ["validate", path], tmp_path)
    assert (code, out, err) == (0, "j.asl.json: valid (0 errors, 0 warnings)\n", "")
    assert "jsonata" in modules


def test_a_jsonata_syntax_error_is_still_reported_by_validate(tmp_path: Path) -> None:
    broken = {
        **JSONATA_PASS,
        "States": {"Add": {"Type": "Pass", "Output": "{% $states.input.a + %}", "End": True}},
    }
    path = write(tmp_path, "j.asl.json", broken)
    code, out, _, modules = run_asl("asl", ["validate", path], tmp_path)
    assert code == 1
    assert out.splitlines()[-1] == "j.asl.json: INVALID (1 errors, 0 warnings)"
    assert out.startswith("j.asl.json: /States/Add/Output: ")
    assert "jsonata" in modules


def test_a_yaml_definition_still_validates_with_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "y.asl.yaml", YAML_PASS)
    code, out, err, modules = run_asl("asl", ["validate", path], tmp_path)
    assert (code, out, err) == (0, "y.asl.yaml: valid (0 errors, 0 warnings)\n", "")
    assert "engine.definition.parse_yaml" in modules


def test_a_config_file_still_configures_the_run_with_pydantic(tmp_path: Path) -> None:
    write(tmp_path, "asl.toml", f"[lambda]\nsources = [{json.dumps(FUNCTIONS)}]\n")
    path = write(tmp_path, "echo.asl.json", ECHO_TASK)
    code, out, err, modules = run_asl(
        "asl", ["run", path, "--name", "cold", "--input", '{"a": 1}'], tmp_path
    )
    assert (code, out, err) == (0, summary("cold", "echo", {"a": 1}), "")
    assert {"pydantic", "engine.config_schema", "re2"} <= modules
    assert {"engine.config", "engine.backends.registry", "engine.backends.python"} <= modules
    assert "engine.definition.validate_integrations" in modules  # the Task's rules


def test_a_task_without_a_config_file_builds_the_backends_on_its_first_call(
    tmp_path: Path,
) -> None:
    """No config: the Engine defers its backends, and the first Task builds them (the same
    detector sees them, so the absence above is not a broken report)."""
    path = write(tmp_path, "echo.asl.json", ECHO_TASK)
    code, out, err, modules = run_asl(
        "asl",
        ["run", path, "--name", "cold", "--input", '{"a": 1}', "--functions", FUNCTIONS],
        tmp_path,
    )
    assert (code, out, err) == (0, summary("cold", "echo", {"a": 1}), "")
    assert {"engine.config", "engine.backends.functions", "engine.backends.registry"} <= modules
    assert {"pydantic", "tomllib"}.isdisjoint(modules)


def test_a_distributed_map_loads_the_distributed_map_modules(tmp_path: Path) -> None:
    path = write(tmp_path, "d.asl.json", DISTRIBUTED_MAP)
    code, out, err, modules = run_asl(
        "asl", ["run", path, "--name", "cold", "--input", "[1, 2]"], tmp_path
    )
    assert (code, out, err) == (0, summary("cold", "d", [1, 2]), "")
    assert {"engine.definition.distributed", "engine.definition.validate_distributed"} <= modules
    code, out, err, modules = run_asl("asl", ["validate", path], tmp_path)
    assert (code, out, err) == (0, "d.asl.json: valid (0 errors, 0 warnings)\n", "")
    assert {"engine.definition.distributed", "engine.definition.validate_distributed"} <= modules


def test_a_broken_config_file_is_still_reported_the_same_way(tmp_path: Path) -> None:
    write(tmp_path, "asl.toml", "[lambda]\ntimeout = 1000\n")
    path = write(tmp_path, "m.asl.json", ONE_PASS)
    code, out, err, modules = run_asl("asl", ["run", path], tmp_path)
    assert (code, out, err) == (
        2,
        "",
        "asl: Invalid config file asl.toml:\n"
        "  lambda.timeout: Input should be less than or equal to 900 (got 1000)\n",
    )
    assert "pydantic" in modules


def test_sub_substitutes_without_loading_yaml_or_the_template_modules(tmp_path: Path) -> None:
    placeholder = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": ${N}, "End": true}}}'
    path = write(tmp_path, "s.asl.json", placeholder)
    code, out, err, modules = run_asl(
        "asl", ["run", path, "--name", "cold", "--sub", "N=7"], tmp_path
    )
    assert (code, out, err) == (0, summary("cold", "s", 7), "")
    assert "engine.definition.substitutions" in modules
    assert sorted(modules & (NEVER - {"engine.definition.substitutions"})) == []
    code, out, err, modules = run_asl("asl", ["validate", path, "--sub", "N=7"], tmp_path)
    assert (code, out, err) == (0, "s.asl.json: valid (0 errors, 0 warnings)\n", "")
    assert sorted(modules & (NEVER_ON_VALIDATE - {"engine.definition.substitutions"})) == []


def test_a_template_loads_yaml_and_the_template_modules(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        "Resources:\n  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        "      Definition: {StartAt: P, States: {P: {Type: Pass, End: true}}}\n",
    )
    code, out, err, modules = run_asl("asl", ["validate", "--template", "t.yaml"], tmp_path)
    assert (code, out, err) == (0, "t.yaml#M: valid (0 errors, 0 warnings)\n", "")
    assert {"yaml", "engine.definition.template"} <= modules


def test_the_recursion_limit_does_not_depend_on_jsonata() -> None:
    """jsonata-python sets a 10,000-frame limit on import; the definition layer sets the same
    one itself, so deep definitions get the same diagnostics with or without JSONata."""
    probe = (
        "import sys, engine.definition.validate; "
        "print(sys.getrecursionlimit(), 'jsonata' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout == "10000 False\n"


def subcommands(parser: argparse.ArgumentParser) -> list[str]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(action.choices)


def test_the_command_table_names_what_each_module_adds() -> None:
    """`asl CMD` builds only the module COMMAND_MODULES names for CMD: the table must be what
    the modules add, in the order of the full parser (`asl --help`)."""
    for module, commands in COMMAND_MODULES:
        alone = argparse.ArgumentParser(prog="asl")
        importlib.import_module(f"engine.cli.{module}").add_commands(alone.add_subparsers())
        assert subcommands(alone) == list(commands), module
        for command in commands:
            assert subcommands(build_parser([command, "--help"])) == list(commands)
    everything = [command for _, commands in COMMAND_MODULES for command in commands]
    assert subcommands(build_parser()) == everything
    assert subcommands(build_parser(["--help"])) == everything
    assert subcommands(build_parser(["rnu"])) == everything
