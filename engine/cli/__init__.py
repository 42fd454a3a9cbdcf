"""The `asl` command line: translates arguments into engine calls and results into text.

Owns: the parser (each command module adds its own subcommands), `main` and how every error
becomes an exit status: 0 success, 1 failure (invalid definition, an execution that did not
succeed), 2 usage error (one `asl: ...` line on stderr, never a traceback), 130 interrupted.
The contract scripts rely on is docs/cli.md. Must never: decide semantics.

Layout: `common.py` holds what the commands share and imports no command; each command module
(`validate`, `run`, `executions`, `queries`, `callbacks`, `db`, `serve`, `config_check`)
imports `common` and the engine, never another command module. Engine imports happen inside
the commands, so `asl validate` starts without the runtime or the web stack.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from engine.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, UsageError, err

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `asl` command; returns its exit status."""
    parser = build_parser()
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


def build_parser() -> argparse.ArgumentParser:
    from engine.cli import (
        callbacks,
        config_check,
        db,
        executions,
        queries,
        run,
        serve,
        validate,
    )

    parser = argparse.ArgumentParser(
        prog="asl", description="Validate and run Amazon States Language state machines."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (validate, run, executions, queries, callbacks, db, serve, config_check):
        module.add_commands(commands)
    return parser
