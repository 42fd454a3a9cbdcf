"""`asl config check [FILE] [--json]`: the operator's config file checked without running anything.

Owns: the `asl config check` report (every problem with its key). The `--config` option the
running commands share, and how they find the file (`--config F`, else $ASL_CONFIG, else
./asl.toml, else [tool.asl] in ./pyproject.toml), live in common.py.
Must never: decide what the file means (engine/config.py does).

`asl config check [FILE] [--json]` exits 0 when the file is valid, 1 when it has problems, 2
when there is no file to check.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from engine.cli.common import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    pass


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = commands.add_parser("config", help="check the config file (asl.toml)")
    actions = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate asl.toml without running anything")
    check.add_argument("file", nargs="?", metavar="FILE", help="default: as for --config")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from engine.config import check_config, find_config

    path = find_config(args.file)
    if path is None:
        raise UsageError(
            "no config file: pass FILE, set ASL_CONFIG, or create asl.toml (see docs/backends.md)"
        )
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    checked = check_config(path)
    config, problems = checked.config, checked.problems
    if args.json:
        # The same five keys whether valid or not (docs/cli.md): scripts read them unguarded.
        # An invalid file has the functions that loaded and no resource mappings.
        report: dict[str, Any] = {
            "file": str(path),
            "valid": config is not None,
            "problems": [{"location": p.location, "message": p.message} for p in problems],
            "functions": sorted(checked.functions),
            "resources": dict(config.resources) if config is not None else {},
        }
        print(json.dumps(report))
    else:
        for problem in problems:
            print(f"{path}: {problem}")
        if config is None:
            print(f"{path}: INVALID ({len(problems)} problems)")
        else:
            print(
                f"{path}: valid ({len(checked.functions)} functions, "
                f"{len(config.resources)} resource mappings)"
            )
    return EXIT_OK if config is not None else EXIT_FAILED
