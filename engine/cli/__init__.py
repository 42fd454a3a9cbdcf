"""The `asl` command line: translates arguments into engine calls and results into text.

Owns: the parser (each command module adds its own subcommands), `main` and how every error
becomes an exit status: 0 success, 1 failure (invalid definition, an execution that did not
succeed), 2 usage error (one `asl: ...` line on stderr, never a traceback), 130 interrupted.
The contract scripts rely on is docs/cli.md. Must never: decide semantics.

Layout: `common.py` holds what the commands share and imports no command (`definitions.py`
adds what validate, run and start read: substitutions and templates); each command module
(`validate`, `run`, `executions`, `queries`, `map_runs`, `callbacks`, `db`, `serve`, `config_check`,
`teststate`, `cases`, `schema`, `graph`) imports `common` and the engine, never another command
module. Engine imports happen inside the commands, so `asl validate` starts without the runtime
or the web stack, and `main` imports only the command module owning the command it is given
(`COMMAND_MODULES`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Final

from engine.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, UsageError, err

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `asl` command; returns its exit status."""
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error it printed (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        err(f"asl: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`asl history ARN | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    return code


COMMAND_MODULES: Final = (
    ("validate", ("validate",)),
    ("run", ("run",)),
    ("executions", ("start", "worker", "stop")),
    ("queries", ("describe", "history", "list")),
    ("map_runs", ("map-run",)),
    ("callbacks", ("send-task-success", "send-task-failure", "send-task-heartbeat")),
    ("schedules", ("schedule",)),
    ("db", ("db",)),
    ("serve", ("serve",)),
    ("config_check", ("config",)),
    ("teststate", ("test-state",)),
    ("cases", ("test",)),
    ("schema", ("schema",)),
    ("graph", ("graph",)),
)
"""Each command module (engine/cli/NAME.py) and the commands it adds, in `asl --help`'s order.
tests/cli/test_cold_start.py checks it against what the modules add."""

_OWNER: Final = {command: module for module, commands in COMMAND_MODULES for command in commands}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The `asl` parser. When `argv` names a command, only the module owning it adds its
    subcommands: building every command's arguments cost each start ~4 ms (bench/README.md,
    section 3), and a command's own parsing, help and errors involve its parser alone (the top
    level shows `COMMAND`, never the list). Otherwise (`asl`, `asl --help`, a misspelt
    command) every module adds its subcommands."""
    owner = _OWNER.get(argv[0]) if argv else None
    modules = [owner] if owner is not None else [module for module, _ in COMMAND_MODULES]
    parser = argparse.ArgumentParser(
        prog="asl", description="Validate and run Amazon States Language state machines."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in modules:
        importlib.import_module(f"engine.cli.{module}").add_commands(commands)
    return parser
