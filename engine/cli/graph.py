"""`asl graph [FILE] [--format svg|dot|mermaid] [-o OUT] [--execution ARN --store URL]`.

Owns: drawing a definition for docs and CI, and an execution's path on it (each state coloured
by its status, read from the stored history; FILE defaults to the definition the execution
ran). Exit status 0 when drawn, 1 when the definition is invalid (its diagnostics printed as
`asl validate` prints them, nothing drawn), 2 for a usage error (an unreadable file, an unknown
execution). Must never: change the store or drive an execution.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from engine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_store_option,
    diagnostic_line,
    read_file,
)

if TYPE_CHECKING:
    from engine.service import Service
    from engine.values import JSON


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    graph = commands.add_parser("graph", help="draw a state machine (SVG, Graphviz dot or Mermaid)")
    graph.add_argument("file", nargs="?", metavar="FILE", help="the definition to draw")
    graph.add_argument("--format", choices=("svg", "dot", "mermaid"), default="svg")
    graph.add_argument("-o", "--output", metavar="OUT", help="write here (default: stdout)")
    graph.add_argument(
        "--execution", metavar="ARN", help="colour each state by its status in this execution"
    )
    graph.add_argument("--type", choices=("STANDARD", "EXPRESS"), default="STANDARD")
    add_store_option(graph)
    graph.set_defaults(handler=_graph)


def _graph(args: argparse.Namespace) -> int:
    if args.file is None and args.execution is None:
        raise UsageError("give a FILE to draw, or --execution ARN to draw what it ran")
    text = read_file(args.file) if args.file is not None else None
    label = args.file or args.execution
    events: list[dict[str, JSON]] | None = None
    machine_type = args.type
    if args.execution is not None:
        text, events, machine_type = _execution(args, text)
    assert text is not None
    from engine.definition.parse import parse_text
    from engine.definition.validate import is_valid, validate_text

    diagnostics = validate_text(text, machine_type=machine_type)
    if not is_valid(diagnostics):
        for diagnostic in diagnostics:
            print(diagnostic_line(label, diagnostic))
        errors = sum(1 for d in diagnostics if d.severity == "ERROR")
        print(f"{label}: INVALID ({errors} errors, {len(diagnostics) - errors} warnings)")
        return EXIT_FAILED
    from engine.graph import draw

    drawn = draw(parse_text(text), args.format, events, title=label)
    if args.output is None:
        sys.stdout.write(drawn)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(drawn)
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot be written: {exc.strerror}") from None
    return EXIT_OK


def _execution(
    args: argparse.Namespace, text: str | None
) -> tuple[str, list[dict[str, JSON]], str]:
    from engine.cli.session import with_service
    from engine.cli.shapes import event_shape

    found: dict[str, object] = {}

    async def work(service: Service) -> int:
        machine = await service.describe_state_machine_for_execution(args.execution)
        stored = await service.get_history(args.execution, limit=100_000)
        found["text"] = machine.definition
        found["type"] = machine.machine_type
        found["events"] = [event_shape(event) for event in stored]
        return EXIT_OK

    with_service(args, work, functions_config=None)
    events: list[dict[str, JSON]] = found["events"]  # type: ignore[assignment]
    return (text or str(found["text"])), events, str(found["type"])
