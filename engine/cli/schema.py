"""`asl schema [--output FILE] [--build]`: publish the JSON Schema of ASL definitions for editors.

Owns: printing (or writing) the schema shipped with the package, engine/definition/asl.schema.json
(docs/testing.md, "Editor support"). `--build` generates it from the pydantic model instead: the
command that regenerates the shipped file after the model changed. Must never: import pydantic
without `--build` (printing the shipped file must start fast) or decide what is valid.
"""

from __future__ import annotations

import argparse
import sys

from engine.cli.common import EXIT_OK, UsageError


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schema = commands.add_parser(
        "schema", help="print the JSON Schema of ASL definitions (for editors)"
    )
    schema.add_argument(
        "--output", "-o", metavar="FILE", help="write the schema to FILE instead of stdout"
    )
    schema.add_argument(
        "--build",
        action="store_true",
        help="generate it from the model instead of printing the shipped copy",
    )
    schema.set_defaults(handler=_schema)


def _schema(args: argparse.Namespace) -> int:
    from engine.definition.asl_schema import build_schema, schema_text, shipped_schema_text

    text = schema_text(build_schema()) if args.build else shipped_schema_text()
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except FileNotFoundError:
        raise UsageError(f"{args.output}: no such directory") from None
    except IsADirectoryError:
        raise UsageError(f"{args.output}: is a directory, expected a file") from None
    except PermissionError:
        raise UsageError(f"{args.output}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot be written: {exc.strerror}") from None
    return EXIT_OK
