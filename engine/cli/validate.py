"""`asl validate FILE... [--type T] [--json]` (or `--template FILE [--machine ID]`, with
`--sub`/`--substitutions`): check definitions as AWS would.

Owns: the report format of validation (one line per diagnostic and a verdict per file, or one
JSON object per file). Exit status 0 when every file is valid, 1 when one is invalid, 2 when
a file cannot be read. Must never: import the runtime (it must start fast).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from engine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_config_option,
    config_of,
    diagnostic_line,
)
from engine.cli.definitions import add_definition_options, needs_config, read_definition

if TYPE_CHECKING:
    from engine.values import JSON


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = commands.add_parser("validate", help="check definitions as AWS would")
    validate.add_argument("files", nargs="*", metavar="FILE")
    validate.add_argument(
        "--type",
        choices=("STANDARD", "EXPRESS"),
        help="the machine's type (default: the template's, else STANDARD)",
    )
    validate.add_argument("--json", action="store_true", help="print JSON")
    add_definition_options(validate)
    add_config_option(validate)
    validate.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace) -> int:
    from engine.definition.validate import is_valid, validate_text

    worst = EXIT_OK
    reports = []
    paths: list[str | None] = list(args.files) or [None]
    if args.template is not None and args.files:
        raise UsageError(f"give either FILE... or --template {args.template}, not both")
    # asl.toml is read only when it can matter (its [substitutions]): validating a plain
    # file loads neither the config nor pydantic.
    config = config_of(args) if any(needs_config(args, path) for path in paths) else None
    for path in paths:
        definition = read_definition(args, path, config)
        machine_type = args.type or definition.machine_type or "STANDARD"
        diagnostics = validate_text(definition.text, machine_type=machine_type)
        valid = is_valid(diagnostics)
        if not valid:
            worst = max(worst, EXIT_FAILED)
        reports.append((definition.label, valid, diagnostics))
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
                print(diagnostic_line(path, diagnostic))
            errors = sum(1 for d in diagnostics if d.severity == "ERROR")
            warnings = len(diagnostics) - errors
            verdict = "valid" if valid else "INVALID"
            print(f"{path}: {verdict} ({errors} errors, {warnings} warnings)")
    return worst
