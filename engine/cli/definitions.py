"""The definition a command works on: a file, or a machine of a SAM/CloudFormation template,
with its DefinitionSubstitutions applied.

Owns: the options `--sub KEY=VALUE`, `--substitutions FILE.json`, `--template FILE`,
`--machine LOGICAL_ID` and `--parameter KEY=VALUE` of `asl validate`, `run` and `start`; the
order in which substitutions win (a template's DefinitionSubstitutions < asl.toml
`[substitutions]` < `--substitutions` < `--sub`); reading a template's machine, its
`DefinitionUri` file and its Python functions (as `[functions.NAME]` tables of the config);
and the notes a person needs: a `--sub` key the definition never mentions, a placeholder left
unsubstituted and the flag that would fill it, a template function the engine cannot serve.
Must never: import YAML or the template modules unless `--template` is given (`asl run
FILE.json` starts fast: tests/cli/test_cold_start.py), or decide semantics.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.cli.common import UsageError, err, machine_name, read_file

if TYPE_CHECKING:
    from engine.config import AslConfig
    from engine.definition.substitutions import SubstitutionValue
    from engine.definition.template import TemplateFunction


def add_definition_options(parser: argparse.ArgumentParser) -> None:
    """The substitution and template options (validate, run, start), and the command's usage
    line for the error of a command given neither a FILE nor a template."""
    parser.set_defaults(command_parser=parser)
    parser.add_argument(
        "--sub",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="replace ${KEY} in the definition with VALUE (repeatable; wins over the rest)",
    )
    parser.add_argument(
        "--substitutions",
        metavar="FILE.json",
        help="a JSON object of substitutions (strings, numbers, booleans)",
    )
    parser.add_argument(
        "--template",
        metavar="FILE",
        help="read the machine from an AWS SAM or CloudFormation template (YAML or JSON)",
    )
    parser.add_argument(
        "--machine",
        metavar="LOGICAL_ID",
        help="the template's state machine to use (needed when it declares several)",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template parameter's value (for parameters without a Default)",
    )


@dataclass(slots=True)
class Definition:
    """What a command runs: the substituted text, where it came from (for diagnostics), the
    machine's name and type (the template's, else from the file name), and the template's
    functions as `[functions.NAME]` tables."""

    text: str
    label: str
    name: str
    machine_type: str | None
    functions: dict[str, dict[str, object]] = field(default_factory=dict)
    folder: str = "."
    notes: list[str] = field(default_factory=list)
    """The template's functions the engine does not serve, and why."""
    template: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    """The served functions' environment variables that they agree on: set in this process
    (handlers share it) unless it already has them (`config_with_template_functions`)."""


def check_definition_args(args: argparse.Namespace, path: str | None) -> None:
    """The combinations a command refuses before reading anything."""
    if args.template is None:
        if path is None:
            parser = getattr(args, "command_parser", None)
            if parser is not None:  # as argparse does for a missing argument
                err(parser.format_usage().rstrip("\n"))
            raise UsageError("give a definition FILE, or --template FILE")
        if args.machine is not None or args.parameter:
            flag = "--machine" if args.machine is not None else "--parameter"
            raise UsageError(f"{flag} applies to --template; give the template")
    elif path is not None:
        raise UsageError(
            f"give either the definition {path} or --template {args.template}, not both"
        )


def read_definition(
    args: argparse.Namespace, path: str | None, config: AslConfig | None
) -> Definition:
    """The definition of `path` (or of `--template`), substituted. Raises UsageError.

    A placeholder left unsubstituted gets a note naming the flags that fill it when the
    command was given substitutions (or a template): a file with placeholders and no
    substitutions (a sample project run against a mock config) gets only the validator's
    warnings, as it always did."""
    check_definition_args(args, path)
    given = _given_substitutions(args, config)
    command_line = _command_line_keys(args)
    if args.template is None:
        assert path is not None
        original = read_file(path)
        definition = Definition(original, path, machine_name(path), None)
        values: dict[str, SubstitutionValue] = dict(given)
        mentioned_in = original
    else:
        definition, template_values = _read_template(args, frozenset(given))
        values = {**template_values, **given}
        original = definition.text
        mentioned_in = original + "".join(str(v) for v in template_values.values())
    definition.text = _substitute(original, values)
    _warn_unused(command_line, mentioned_in)
    if values or args.template is not None:
        _note_unresolved(definition.text, template=args.template is not None)
    return definition


def needs_config(args: argparse.Namespace, path: str | None) -> bool:
    """Whether `asl validate` must read the config file: only when one may exist (the cheap
    part of engine/config.py's `find_config`) and the definition can use its
    `[substitutions]` (a template, or a `${` in the file), so that validating a plain file
    loads neither the config nor the runtime it imports."""
    may_exist = bool(
        getattr(args, "config", None)
        or os.environ.get("ASL_CONFIG")
        or os.path.exists("asl.toml")
        or os.path.exists("pyproject.toml")
    )
    if not may_exist:
        return False
    if args.template is not None:
        return True
    if path is None:
        return False
    try:
        with open(path, encoding="utf-8") as handle:
            return "${" in handle.read()
    except (OSError, UnicodeDecodeError):
        return False  # read_file reports it


# -- substitutions ----------------------------------------------------------------------------


def _command_line_keys(args: argparse.Namespace) -> dict[str, str]:
    """Each key given on the command line and the flag that gave it."""
    keys: dict[str, str] = {}
    if args.substitutions is not None:
        for key in _read_substitutions_file(args.substitutions):
            keys[key] = f"--substitutions {args.substitutions}"
    for item in args.sub:
        keys[_split_pair(item, "--sub")[0]] = "--sub"
    return keys


def _given_substitutions(
    args: argparse.Namespace, config: AslConfig | None
) -> dict[str, SubstitutionValue]:
    """asl.toml's `[substitutions]` < `--substitutions FILE.json` < `--sub KEY=VALUE`."""
    values: dict[str, SubstitutionValue] = dict(config.substitutions) if config else {}
    if args.substitutions is not None:
        values.update(_read_substitutions_file(args.substitutions))
    for item in args.sub:
        key, value = _split_pair(item, "--sub")
        values[key] = value
    return values


def _split_pair(item: str, flag: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise UsageError(f"{flag} {item!r}: write KEY=VALUE")
    return key, value


def _read_substitutions_file(path: str) -> dict[str, SubstitutionValue]:
    text = read_file(path)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(value, dict):
        raise UsageError(f"{path}: the substitutions must be a JSON object of KEY: value")
    for key, item in value.items():
        if not isinstance(item, str | int | float | bool) or item is None:
            raise UsageError(
                f"{path}: /{key}: a substitution value is a string, a number or a boolean, "
                f"not {type(item).__name__ if item is not None else 'null'}"
            )
    return value


def _substitute(text: str, values: Mapping[str, SubstitutionValue]) -> str:
    if "${" not in text or not values:
        return text
    from engine.definition.substitutions import substitute
    from engine.errors import InvalidRequest

    try:
        return substitute(text, values)
    except InvalidRequest as exc:
        raise UsageError(f"{exc.code}: {exc.message}") from None


def _warn_unused(command_line: Mapping[str, str], text: str) -> None:
    """A key given on the command line that no placeholder names is a warning, not an error
    (a project's substitutions file may serve several machines). asl.toml's keys are not
    checked: a project-wide table names the keys of every machine."""
    if not command_line:
        return
    from engine.definition.substitutions import mentioned_keys

    mentioned = mentioned_keys(text)
    for key, flag in command_line.items():
        if key not in mentioned:
            err(
                f"asl: warning: {flag}: the definition has no placeholder ${{{key}}}; "
                "check the key's spelling"
            )


def _note_unresolved(text: str, *, template: bool) -> None:
    """For each placeholder left after substitution (the validator warns about each field;
    the typed ones fail when run), the flag that would fill it."""
    if "${" not in text:
        return
    from engine.definition.substitutions import mentioned_keys

    where = "the template's DefinitionSubstitutions, " if template else ""
    for key in sorted(mentioned_keys(text)):
        err(
            f"asl: note: ${{{key}}} is not substituted; give it with --sub {key}=VALUE, "
            f"--substitutions FILE.json, {where}or [substitutions] in asl.toml"
        )


# -- templates --------------------------------------------------------------------------------


def _read_template(
    args: argparse.Namespace, given_keys: frozenset[str]
) -> tuple[Definition, dict[str, SubstitutionValue]]:
    from engine.definition.template import (
        TemplateInvalid,
        parse_template,
        read_functions,
        read_machine,
    )
    from engine.definition.template_intrinsics import Pseudo

    source = args.template
    parameters = dict(_split_pair(item, "--parameter") for item in args.parameter)
    stack_name = parameters.pop("AWS::StackName", None)
    pseudo = Pseudo(stack_name=stack_name) if stack_name else Pseudo()
    text = read_file(source)
    try:
        template = parse_template(text, source)
        machine = read_machine(
            template,
            source,
            machine=args.machine,
            parameters=parameters,
            pseudo=pseudo,
            given_keys=given_keys,
        )
    except TemplateInvalid as exc:
        raise UsageError(exc.message) from None
    declared = template.get("Parameters")
    for key in parameters:
        if not isinstance(declared, dict) or key not in declared:
            err(f"asl: warning: --parameter {key}: the template declares no parameter {key}")
    folder = os.path.dirname(os.path.abspath(source))
    if machine.definition_uri is not None:
        label = os.path.join(os.path.dirname(source), machine.definition_uri)
        definition_text = read_file(label)
    else:
        label = f"{source}#{machine.logical_id}"
        definition_text = machine.definition_text or ""
    functions, problems = read_functions(template, parameters=parameters, pseudo=pseudo)
    served: dict[str, dict[str, object]] = {}
    notes: list[str] = [f"{problem} (the function is not served)" for problem in problems]
    for function in functions:
        if function.servable:
            served[function.name] = {
                "handler": function.handler,
                "code": os.path.join(folder, function.code_uri or "."),
                "timeout": function.timeout,
                "memory_size": function.memory_size,
            }
        else:
            notes.append(
                f"function {function.name} (Resources/{function.logical_id}) is not served: "
                f"{function.why_not}; serve it with [functions.{function.name}] in asl.toml "
                "or --functions FILE.py"
            )
    environment, clashes = _shared_environment(f for f in functions if f.servable)
    notes.extend(clashes)
    if served:
        # Lambda's own variables, which every function gets (a module-level boto3 client
        # needs the region at import)
        for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            environment.setdefault(key, pseudo.region)
    definition = Definition(
        definition_text,
        label,
        machine.name,
        machine.machine_type,
        served,
        folder,
        notes,
        source,
        environment,
    )
    return definition, dict(machine.substitutions)


def _shared_environment(
    functions: Iterable[TemplateFunction],
) -> tuple[dict[str, str], list[str]]:
    """The environment variables the template gives its served functions, and a note for each
    one they give different values: Python handlers run in this one process and share its
    environment, so a variable can only hold one value for all of them."""
    values: dict[str, dict[str, list[str]]] = {}
    for function in functions:
        for key, value in function.environment:
            values.setdefault(key, {}).setdefault(value, []).append(function.name)
    shared: dict[str, str] = {}
    clashes: list[str] = []
    for key, by_value in values.items():
        if len(by_value) == 1:
            shared[key] = next(iter(by_value))
        else:
            who = "; ".join(f"{', '.join(names)}: {value!r}" for value, names in by_value.items())
            clashes.append(
                f"environment variable {key} is not set: the template's functions give it "
                f"different values ({who}) and Python handlers share this process's "
                "environment; export the one to use, or serve the functions as commands "
                "([functions.NAME] command and env in asl.toml)"
            )
    return shared, clashes


def config_with_template_functions(
    definition: Definition, config: AslConfig | None, loaded: Mapping[str, object]
) -> AslConfig | None:
    """`config` serving the template's Python functions too; a function asl.toml or
    `--functions` (`loaded`) defines keeps that definition."""
    for note in definition.notes:
        err(f"asl: note: {note}")
    for key, value in definition.environment.items():
        os.environ.setdefault(key, value)  # the caller's own environment wins
    functions = {
        name: settings for name, settings in definition.functions.items() if name not in loaded
    }
    if not functions:
        return config
    from pathlib import Path

    from engine.config import with_functions
    from engine.errors import EngineError

    source = config.source if config is not None else (definition.template or definition.label)
    folder = config.folder if config is not None else Path(definition.folder)
    try:
        return with_functions(config, functions, source=source, folder=folder)
    except EngineError as exc:
        raise UsageError(exc.message) from None
