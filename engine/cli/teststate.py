"""`asl test-state FILE [--state NAME] [--input JSON | --input-file F] [--mock-result JSON |
--mock-error E [--mock-cause C]] [--inspection-level L] [--variables JSON] [--context JSON]
[--json]`: AWS's TestState, locally.

Owns: the command's arguments and its report (the status, next state, output, error and cause,
then the inspection data; or, with --json, AWS's TestState response). Exit status 0 for
SUCCEEDED and CAUGHT_ERROR (the state finished and names its next state), 1 for FAILED and
RETRIABLE, 2 for a usage error or an invalid definition or request (docs/cli.md). Must never:
decide what the state does (engine/service/teststate.py and the interpreter do).
"""

from __future__ import annotations

import argparse
import json

from engine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_functions_options,
    config_of,
    diagnostic_line,
    err,
    load_functions,
    read_file,
)

_EXIT: dict[str, int] = {
    "SUCCEEDED": EXIT_OK,
    "CAUGHT_ERROR": EXIT_OK,
    "FAILED": EXIT_FAILED,
    "RETRIABLE": EXIT_FAILED,
}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    test = commands.add_parser(
        "test-state", help="run one state on its own, as AWS's TestState API does"
    )
    test.add_argument("definition", metavar="FILE", help="a state's definition, or a machine's")
    test.add_argument("--state", metavar="NAME", help="the state to test in a whole machine")
    source = test.add_mutually_exclusive_group()
    source.add_argument("--input", help="the state's input as JSON text (default {})")
    source.add_argument("--input-file", metavar="F", help="file holding the state's input")
    test.add_argument("--mock-result", metavar="JSON", help="the Task/Map/Parallel's result")
    test.add_argument("--mock-error", metavar="E", help="the Task/Map/Parallel fails with E")
    test.add_argument("--mock-cause", metavar="C", help="...and the cause C")
    test.add_argument(
        "--inspection-level", choices=("INFO", "DEBUG", "TRACE"), default="INFO", metavar="L"
    )
    test.add_argument("--variables", metavar="JSON", help="variables as a JSON object")
    test.add_argument("--context", metavar="JSON", help="the Context object (with a mock)")
    test.add_argument(
        "--retrier-retry-count", type=int, metavar="N", help="retries the Retry already made"
    )
    test.add_argument(
        "--map-iteration-failure-count", type=int, metavar="N", help="failed Map iterations"
    )
    test.add_argument(
        "--error-caused-by-state", metavar="NAME", help="the branch state a mocked error is from"
    )
    test.add_argument("--json", action="store_true", help="print AWS's TestState response")
    add_functions_options(test)
    test.set_defaults(handler=_test_state)


def _test_state(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from engine.config import open_task_backends
    from engine.errors import DefinitionInvalid, EngineError
    from engine.service.teststate import TestStateRequest, run_test_state

    if args.mock_result is not None and args.mock_error is not None:
        raise UsageError("give --mock-result or --mock-error, not both")
    if args.mock_cause is not None and args.mock_error is None:
        raise UsageError("--mock-cause needs --mock-error")
    for name in ("retrier_retry_count", "map_iteration_failure_count"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be 0 or more")
    text = read_file(args.definition)
    given_input = read_file(args.input_file) if args.input_file is not None else args.input
    request = TestStateRequest(
        definition=text,
        state_name=args.state,
        input=given_input,
        inspection_level=args.inspection_level,
        variables=args.variables,
        context=args.context,
        mock_result=args.mock_result,
        mock_error=args.mock_error,
        mock_cause=args.mock_cause,
        has_error_output=args.mock_error is not None,
        retrier_retry_count=args.retrier_retry_count,
        error_caused_by_state=args.error_caused_by_state,
        map_iteration_failure_count=args.map_iteration_failure_count,
    )
    functions = load_functions(args.functions)
    try:
        backends = open_task_backends(config_of(args), functions)
    except EngineError as exc:
        raise UsageError(exc.message) from None

    async def run() -> object:
        return await run_test_state(request, backends.registry.resolve, time.time())

    try:
        result = asyncio.run(run())
    except DefinitionInvalid as exc:
        if args.json:
            diagnostics = [d.as_json() for d in exc.diagnostics]
            print(json.dumps({"valid": False, "diagnostics": diagnostics}))
        for diagnostic in exc.diagnostics:
            err(diagnostic_line(args.definition, diagnostic))
        return EXIT_USAGE
    except EngineError as exc:
        raise UsageError(f"{exc.code}: {exc.message}") from None
    from engine.service.teststate import TestStateResult

    assert isinstance(result, TestStateResult)
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        _print_report(result)
    return _EXIT[result.status]


def _print_report(result: object) -> None:
    from engine.service.teststate import TestStateResult

    assert isinstance(result, TestStateResult)
    print(f"status: {result.status}")
    for label, value in (
        ("next state", result.next_state),
        ("output", result.output),
        ("error", result.error),
        ("cause", result.cause),
    ):
        if value is not None:
            print(f"{label}: {value}")
    for name, noted in (result.inspection_data or {}).items():
        print(f"inspectionData.{name}: {noted if isinstance(noted, str) else json.dumps(noted)}")
