"""`asl run DEF`: one execution in this process, nothing stored.

Owns: the arguments and output of `asl run` (a summary, or with `--json` the one JSON object
`ExecutionResult.as_json` gives, `--history` adding the events). Exit status 0 when the
execution SUCCEEDED, 1 when it ended otherwise, 2 for an unreadable file, an invalid definition
or a usage error. Must never: decide semantics (`Engine` runs the execution).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from engine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_functions_options,
    add_input_options,
    add_mock_config_option,
    add_test_case_option,
    check_execution_name,
    config_of,
    diagnostic_line,
    err,
    load_functions,
    load_mock_config_option,
    mock_config_path,
    read_file,
    read_input,
)
from engine.cli.definitions import (
    add_definition_options,
    config_with_template_functions,
    read_definition,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.embedded import ExecutionResult, StoredMachine
    from engine.errors import DefinitionInvalid
    from engine.store.base import Store


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser("run", help="run one execution in this process")
    run.add_argument("definition", metavar="DEF", nargs="?")
    add_input_options(run)
    add_functions_options(run)
    add_definition_options(run)
    run.add_argument(
        "--type",
        choices=("STANDARD", "EXPRESS"),
        help="the machine's type (default: the template's, else STANDARD)",
    )
    run.add_argument("--name", help="execution name (default: a UUID)")
    run.add_argument(
        "--virtual-time", action="store_true", help="Waits and back-offs take no real time"
    )
    run.add_argument("--history", action="store_true", help="include the execution history")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    add_mock_config_option(run, from_environment=True)
    add_test_case_option(run)
    run.add_argument(
        "--machine-file",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="a machine that a states:startExecution Task may start, as "
        "arn:aws:states:us-east-1:111111111111:stateMachine:NAME (repeatable)",
    )
    run.add_argument(
        "--store",
        metavar="URL",
        help="also find the machines that states:startExecution Tasks start among those "
        "registered in this store (asl start, CreateStateMachine); nothing is written to it",
    )
    run.set_defaults(handler=_run)


def _machine_files(given: list[str]) -> list[tuple[str, str]]:
    """`--machine-file NAME=FILE` values as (name, path); a malformed one is a usage error."""
    from engine.errors import InvalidRequest
    from engine.names import check_name

    pairs = []
    for value in given:
        name, equals, path = value.partition("=")
        if not equals or not name or not path:
            raise UsageError(f"--machine-file wants NAME=FILE, got '{value}'")
        try:
            check_name(name, "state machine name")
        except InvalidRequest as exc:
            raise UsageError(f"--machine-file {value}: {exc.message}") from None
        pairs.append((name, path))
    return pairs


def _store_machines(url: str | None) -> Callable[[str], StoredMachine | None] | None:
    """`--store URL`: a look-up of registered machines by ARN (the store opened on first use,
    so a run that starts no child never opens it)."""
    if url is None:
        return None
    from engine.embedded import StoredMachine

    opened: list[Store] = []

    def find(arn: str) -> StoredMachine | None:
        from engine.store.open import open_store

        if not opened:
            opened.append(open_store(url))
        record = opened[0].get_machine(arn)
        if record is None:
            return None
        return StoredMachine(record.name, record.machine_type, record.definition)

    return find


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from engine.embedded import Engine
    from engine.errors import DefinitionInvalid, EngineError
    from engine.runtime.clock import RealClock, VirtualClock
    from engine.runtime.heap import tune_for_throughput

    check_execution_name(args.name)
    functions_config = config_of(args)
    definition = read_definition(args, args.definition, functions_config)
    execution_input = read_input(args)
    functions = load_functions(args.functions)
    functions_config = config_with_template_functions(definition, functions_config, functions)
    mock_config = load_mock_config_option(mock_config_path(args.mock_config, functions_config))
    children = [(name, path, read_file(path)) for name, path in _machine_files(args.machine_file)]
    try:
        engine = Engine(
            functions=functions,
            config=functions_config,
            clock=VirtualClock() if args.virtual_time else RealClock(),
            mock_config=mock_config,
            find_machine=_store_machines(args.store),
        )
    except EngineError as exc:
        raise UsageError(exc.message) from None
    for name, path, text in children:
        try:
            engine.load(text, name=name)
        except DefinitionInvalid as exc:
            return _invalid(args, path, exc)
    try:
        machine = engine.load(
            definition.text,
            name=definition.name,
            machine_type=args.type or definition.machine_type or "STANDARD",
        )
    except DefinitionInvalid as exc:
        return _invalid(args, definition.label, exc)

    async def execute() -> ExecutionResult:
        try:
            return await engine.run(
                machine, execution_input, name=args.name, test_case=args.test_case
            )
        finally:
            await engine.aclose()

    tune_for_throughput()  # loaded and compiled: see engine/runtime/heap.py
    try:
        result = asyncio.run(execute())
    except EngineError as exc:
        raise UsageError(f"{exc.code}: {exc.message}") from None
    if args.json:
        print(json.dumps(result.as_json(history=args.history), ensure_ascii=False))
    else:
        print_summary(result, args.history, sys.stdout)
    return EXIT_OK if result.status == "SUCCEEDED" else EXIT_FAILED


def _invalid(args: argparse.Namespace, path: str, exc: DefinitionInvalid) -> int:
    """An invalid definition (the run's, or a --machine-file's): its diagnostics, status 2."""
    if args.json:
        print(json.dumps({"valid": False, "diagnostics": [d.as_json() for d in exc.diagnostics]}))
    for diagnostic in exc.diagnostics:
        err(diagnostic_line(path, diagnostic))
    return EXIT_USAGE


def print_summary(result: ExecutionResult, history: bool, out: TextIO) -> None:
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
