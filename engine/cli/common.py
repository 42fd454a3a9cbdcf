"""What every `asl` command shares: exit codes, the usage error, reading files and inputs, and
the options several commands take (--functions, --config, --store, --mock-config, --test-case).

Owns: turning unreadable files, bad JSON input, a bad config or mock config into a one-line
`UsageError` (exit status 2). Must never: import a command module (commands import this, the
package's `main` imports the commands), or import the runtime at module level (`asl validate`
must start fast).

Exit codes: 0 success, 1 failure (an invalid definition, an execution that did not succeed),
2 usage error (unreadable file, bad arguments, invalid definition given to a running command).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.backends.mocks import MockConfig
    from engine.config import AslConfig
    from engine.definition.diagnostics import Diagnostic
    from engine.values import JSON

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
MOCK_CONFIG_VARIABLE = "SFN_MOCK_CONFIG"  # Step Functions Local's variable, read the same way
STORE_VARIABLE = "ASL_STORE"


class UsageError(Exception):
    """A problem with the command's arguments or files: exit status 2, one `asl:` line."""


def err(message: str) -> None:
    print(message, file=sys.stderr)


def read_file(path: str) -> str:
    """A file's text; every way it cannot be read is a UsageError naming the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a file") from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read: {exc.strerror}") from None


def add_input_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", help="execution input as JSON text (default {})")
    source.add_argument("--input-file", metavar="F", help="file holding the execution input")


def read_input(args: argparse.Namespace) -> JSON:
    """The execution input of `--input` or `--input-file` (default `{}`)."""
    if args.input is not None:
        text, where = args.input, "--input"
    elif args.input_file is not None:
        text, where = read_file(args.input_file), args.input_file
    else:
        return {}
    try:
        value: JSON = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where}: the execution input is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})"
        ) from None
    return value


def check_execution_name(name: str | None) -> None:
    """`--name`: AWS's rule for execution names (StartExecution's InvalidName), checked before
    anything runs, the same on every command that starts an execution."""
    if name is None:
        return
    from engine.errors import InvalidRequest
    from engine.names import check_name

    try:
        check_name(name, "execution name")
    except InvalidRequest as exc:
        raise UsageError(f"{exc.code}: {exc.message}") from None


def machine_name(path: str) -> str:
    """`order.asl.json` -> `order`: the machine is named after its file, up to the first dot."""
    base = os.path.basename(path)
    return base.split(".", 1)[0] or "machine"


def diagnostic_line(path: str, diagnostic: Diagnostic) -> str:
    level = "" if diagnostic.severity == "ERROR" else "warning: "
    location = diagnostic.location or "/"
    return f"{path}: {location}: {level}{diagnostic.code}: {diagnostic.message}"


# -- functions and the config file ----------------------------------------------------------------


def add_functions_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--functions",
        action="append",
        default=[],
        metavar="FILE.py",
        help="Python file or module whose top-level functions serve Lambda functions",
    )
    add_config_option(parser)


def load_functions(sources: list[str]) -> dict[str, Callable[..., object]]:
    functions: dict[str, Callable[..., object]] = {}
    if not sources:
        return functions  # no --functions: the Python backend's modules stay unloaded
    from engine.backends.python import load_functions as load
    from engine.errors import EngineError

    for source in sources:
        try:
            functions.update(load(source))
        except EngineError as exc:
            raise UsageError(exc.message) from None
    return functions


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="asl.toml (or a pyproject.toml with [tool.asl]) configuring functions and "
        "resources (default: $ASL_CONFIG, else ./asl.toml, else ./pyproject.toml)",
    )


def config_of(args: argparse.Namespace) -> AslConfig | None:
    """The checked config for a command, or None when there is none. A config with problems
    is a usage error listing them."""
    from engine.config_file import find_config

    if not hasattr(args, "config"):
        return None  # a command that runs no Task (describe, history, ...)
    path = find_config(args.config)
    if path is None:
        return None
    from engine.config import load_config  # with a file only: it loads every backend module
    from engine.errors import EngineError

    try:
        return load_config(path)
    except EngineError as exc:
        raise UsageError(exc.message) from None


# -- mock configs (Step Functions Local's format, docs/mock-configs.md) ---------------------------


def add_mock_config_option(parser: argparse.ArgumentParser, *, from_environment: bool) -> None:
    default = (os.environ.get(MOCK_CONFIG_VARIABLE) or None) if from_environment else None
    parser.add_argument(
        "--mock-config",
        metavar="FILE",
        default=default,
        help="Step Functions Local mock config (MockConfigFile.json) for test-case executions"
        + (f" (default: ${MOCK_CONFIG_VARIABLE})" if from_environment else ""),
    )


def add_test_case_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--test-case",
        metavar="NAME",
        help="run with this test case of --mock-config for the machine (named after the file)",
    )


def mock_config_path(given: str | None, config: AslConfig | None) -> str | None:
    """The mock config to load: the flag's (or SFN_MOCK_CONFIG's) if given, else the config
    file's `mock_config`, relative to that file."""
    if given is not None:
        return given
    if config is not None and config.mock_config is not None:
        return str(config.folder / config.mock_config)
    return None


def load_mock_config_option(path: str | None) -> MockConfig | None:
    """The mock config a command was given; every located problem means exit status 2."""
    if path is None:
        return None
    from engine.backends.mocks import load_mock_config
    from engine.errors import EngineError

    try:
        return load_mock_config(path)
    except EngineError as exc:
        raise UsageError(exc.message) from None


# -- the store ---------------------------------------------------------------------------------


def add_store_option(parser: argparse.ArgumentParser, *, memory: bool = False) -> None:
    kinds = "sqlite:///path.db, postgresql://..." + (" or memory://" if memory else "")
    parser.add_argument(
        "--store",
        metavar="URL",
        default=os.environ.get(STORE_VARIABLE),
        help=f"{kinds} (default: ${STORE_VARIABLE}, else sqlite:///$ASL_HOME/asl.db)",
    )


def iso(epoch: float | None) -> str | None:
    from engine.interpreter.history import format_time

    return format_time(epoch) if epoch is not None else None
