"""`asl config check` and the `--config` option the running commands share.

Owns: finding and loading the operator's config file for a command (`--config F`, else
$ASL_CONFIG, else ./asl.toml, else [tool.asl] in ./pyproject.toml), turning its problems into a
usage error (exit 2) that lists each one with its key, and the `asl config check` report.
Must never: decide what the file means (engine/config.py does).

`asl config check [FILE] [--json]` exits 0 when the file is valid, 1 when it has problems, 2
when there is no file to check.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from engine.cli import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from engine.config import AslConfig


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
    from engine.config import find_config, load_config
    from engine.errors import EngineError

    if not hasattr(args, "config"):
        return None  # a command that runs no Task (describe, history, ...)
    path = find_config(args.config)
    if path is None:
        return None
    try:
        return load_config(path)
    except EngineError as exc:
        raise UsageError(exc.message) from None


def mock_config_path(given: str | None, config: AslConfig | None) -> str | None:
    """The mock config to load: the flag's (or SFN_MOCK_CONFIG's) if given, else the config
    file's `mock_config`, relative to that file."""
    if given is not None:
        return given
    if config is not None and config.mock_config is not None:
        return str(config.folder / config.mock_config)
    return None


def add_config_command(commands: Any) -> None:
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
        report: dict[str, Any] = {
            "file": str(path),
            "valid": config is not None,
            "problems": [{"location": p.location, "message": p.message} for p in problems],
        }
        if config is not None:
            report["functions"] = sorted(checked.functions)
            report["resources"] = dict(config.resources)
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
