"""The `asl` command line: translates arguments into engine calls and results into text.

Owns: argument parsing, exit codes and output formats of `asl validate` and `asl run` (a contract
scripts rely on: see docs/cli.md). Must never: decide semantics. Imports of the engine happen
inside the commands so that `asl validate` starts fast.

Exit codes: 0 success (valid / SUCCEEDED), 1 failure (invalid / any other terminal status),
2 unreadable file, invalid definition given to `run`, or usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from engine.backends.mocks import MockConfig
    from engine.definition.diagnostics import Diagnostic
    from engine.values import JSON

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
MOCK_CONFIG_VARIABLE = "SFN_MOCK_CONFIG"  # Step Functions Local's variable, read the same way


class UsageError(Exception):
    """A problem with the command's arguments or files: exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        _err(f"asl: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`asl history ARN | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    return code


def _parser() -> argparse.ArgumentParser:
    from engine.cli_config import add_config_command, add_config_option

    parser = argparse.ArgumentParser(
        prog="asl", description="Validate and run Amazon States Language state machines."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check definitions as AWS would")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--type", choices=("STANDARD", "EXPRESS"), default="STANDARD")
    validate.add_argument("--json", action="store_true", help="print JSON")
    validate.set_defaults(handler=_validate)

    run = commands.add_parser("run", help="run one execution in this process")
    run.add_argument("definition", metavar="DEF")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--input", help="execution input as JSON text (default {})")
    source.add_argument("--input-file", metavar="F", help="file holding the execution input")
    run.add_argument(
        "--functions",
        action="append",
        default=[],
        metavar="FILE.py",
        help="Python file or module whose top-level functions serve Lambda functions",
    )
    add_config_option(run)
    run.add_argument("--type", choices=("STANDARD", "EXPRESS"), default="STANDARD")
    run.add_argument("--name", help="execution name (default: a UUID)")
    run.add_argument(
        "--virtual-time", action="store_true", help="Waits and back-offs take no real time"
    )
    run.add_argument("--history", action="store_true", help="include the execution history")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    add_mock_config_option(run, from_environment=True)
    add_test_case_option(run)
    run.set_defaults(handler=_run)

    from engine.cli_store import add_commands

    add_commands(commands)

    from engine.cli_serve import add_serve_command

    add_serve_command(commands)
    add_config_command(commands)
    return parser


# -- validate -------------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    from engine.definition.validate import is_valid, validate_text

    worst = EXIT_OK
    reports = []
    for path in args.files:
        text = _read(path)
        diagnostics = validate_text(text, machine_type=args.type)
        valid = is_valid(diagnostics)
        if not valid:
            worst = max(worst, EXIT_FAILED)
        reports.append((path, valid, diagnostics))
    if args.json:
        for path, valid, diagnostics in reports:
            obj: dict[str, JSON] = {
                "valid": valid,
                "diagnostics": [d.as_json() for d in diagnostics],  # type: ignore[misc]
            }
            if len(reports) > 1:
                obj = {"file": path, **obj}
            print(json.dumps(obj))
    else:
        for path, valid, diagnostics in reports:
            for diagnostic in diagnostics:
                print(_diagnostic_line(path, diagnostic))
            errors = sum(1 for d in diagnostics if d.severity == "ERROR")
            warnings = len(diagnostics) - errors
            verdict = "valid" if valid else "INVALID"
            print(f"{path}: {verdict} ({errors} errors, {warnings} warnings)")
    return worst


def _diagnostic_line(path: str, diagnostic: Diagnostic) -> str:
    level = "" if diagnostic.severity == "ERROR" else "warning: "
    location = diagnostic.location or "/"
    return f"{path}: {location}: {level}{diagnostic.code}: {diagnostic.message}"


# -- run ------------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from engine.cli_config import config_of, mock_config_path
    from engine.embedded import Engine, ExecutionResult
    from engine.errors import DefinitionInvalid, EngineError
    from engine.runtime.clock import RealClock, VirtualClock

    definition_text = _read(args.definition)
    execution_input = _read_input(args)
    functions = _load_functions(args.functions)
    functions_config = config_of(args)
    mock_config = load_mock_config_option(mock_config_path(args.mock_config, functions_config))
    try:
        engine = Engine(
            functions=functions,
            config=functions_config,
            clock=VirtualClock() if args.virtual_time else RealClock(),
            mock_config=mock_config,
        )
    except EngineError as exc:
        raise UsageError(exc.message) from None
    try:
        machine = engine.load(
            definition_text, name=machine_name(args.definition), machine_type=args.type
        )
    except DefinitionInvalid as exc:
        if args.json:
            print(
                json.dumps({"valid": False, "diagnostics": [d.as_json() for d in exc.diagnostics]})
            )
        for diagnostic in exc.diagnostics:
            _err(_diagnostic_line(args.definition, diagnostic))
        return EXIT_USAGE

    async def execute() -> ExecutionResult:
        try:
            return await engine.run(
                machine, execution_input, name=args.name, test_case=args.test_case
            )
        finally:
            await engine.aclose()

    try:
        result = asyncio.run(execute())
    except EngineError as exc:
        raise UsageError(f"{exc.code}: {exc.message}") from None
    if args.json:
        print(json.dumps(result.as_json(history=args.history), ensure_ascii=False))
    else:
        _print_summary(result, args.history, sys.stdout)
    return EXIT_OK if result.status == "SUCCEEDED" else EXIT_FAILED


def machine_name(path: str) -> str:
    """`order.asl.json` -> `order`: the machine is named after its file, up to the first dot."""
    base = os.path.basename(path)
    return base.split(".", 1)[0] or "machine"


def _read_input(args: argparse.Namespace) -> JSON:
    if args.input is not None:
        text, where = args.input, "--input"
    elif args.input_file is not None:
        text, where = _read(args.input_file), args.input_file
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


def _load_functions(sources: list[str]) -> dict[str, Callable[..., object]]:
    from engine.backends.python import load_functions
    from engine.errors import EngineError

    functions: dict[str, Callable[..., object]] = {}
    for source in sources:
        try:
            functions.update(load_functions(source))
        except EngineError as exc:
            raise UsageError(exc.message) from None
    return functions


def _print_summary(result: object, history: bool, out: TextIO) -> None:
    from engine.embedded import ExecutionResult

    assert isinstance(result, ExecutionResult)
    print(f"execution  {result.execution_arn}", file=out)
    print(f"status     {result.status}", file=out)
    if result.status == "SUCCEEDED":
        print(f"output     {json.dumps(result.output, ensure_ascii=False)}", file=out)
    else:
        if result.error is not None:
            print(f"error      {result.error}", file=out)
        if result.cause is not None:
            print(f"cause      {result.cause}", file=out)
    if history:
        print("", file=out)
        print(f"{'id':>4}  {'prev':>4}  {'type':<32}  detail", file=out)
        for event in result.events:
            rendered = event.as_json()
            detail = next((v for k, v in rendered.items() if k.endswith("EventDetails")), "")
            text = json.dumps(detail, ensure_ascii=False) if detail else ""
            if len(text) > 80:
                text = text[:77] + "..."
            print(
                f"{event.id:>4}  {event.previous_event_id:>4}  {event.type:<32}  {text}", file=out
            )


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


# -- helpers --------------------------------------------------------------------------------------


def _read(path: str) -> str:
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


def _err(message: str) -> None:
    print(message, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
