"""AWS SAM and CloudFormation templates: the state machines and Python functions they declare.

Owns: reading a template's text (JSON, or YAML with CloudFormation's short-form tags `!Ref`,
`!GetAtt`, `!Sub`... through a SafeLoader subclass), choosing its state machine
(`AWS::Serverless::StateMachine` or `AWS::StepFunctions::StateMachine`, by logical id), and
turning the machine's properties into what a local run needs: the definition's text (inline
`Definition`/`DefinitionString`) or its local file (`DefinitionUri`), the resolved
`DefinitionSubstitutions`, the name and the type; and the template's Python functions
(`AWS::Serverless::Function` with Globals) as the settings of local Lambda functions.
Intrinsic functions are template_intrinsics.py's. Every problem is a `TemplateProblem` located
by its template path and raised once, together, as `TemplateInvalid`. Must never: read a file
(the CLI reads DefinitionUri), run YAML's full loader, or import user code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, cast

import yaml

from engine.definition.parse import DefinitionSyntaxError, parse_text
from engine.definition.parse_yaml import CoreSchemaLoader, load_yaml
from engine.definition.substitutions import SubstitutionValue
from engine.definition.template_intrinsics import (
    UNRESOLVED,
    Pseudo,
    Resolver,
    TemplateProblem,
    Unresolved,
)
from engine.errors import InvalidRequest
from engine.values import JSON

__all__ = [
    "INVALID_TEMPLATE",
    "MACHINE_TYPES",
    "TemplateFunction",
    "TemplateInvalid",
    "TemplateMachine",
    "TemplateProblem",
    "parse_template",
    "read_functions",
    "read_machine",
]

INVALID_TEMPLATE: Final = "InvalidTemplate"
MACHINE_TYPES: Final = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
_FUNCTION_TYPES: Final = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_SAM_FUNCTION_DEFAULTS: Final = {"Timeout": 3, "MemorySize": 128}
"""AWS::Serverless::Function's (and Lambda's) defaults when neither the function nor
Globals.Function sets them."""


class TemplateInvalid(InvalidRequest):
    """A template the engine cannot read a machine from; `problems` lists every reason."""

    def __init__(self, source: str, problems: Sequence[TemplateProblem]) -> None:
        listed = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(INVALID_TEMPLATE, f"{source}: cannot use the template:\n{listed}")
        self.problems = list(problems)


# --------------------------------------------------------------------------- reading the text

# Each short-form tag and the long form it stands for (`!GetAtt A.B` keeps its string form,
# which the resolver reads like the list form).
_SHORT_FORMS: Final = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{name}": f"Fn::{name}"
        for name in [
            "GetAtt",
            "Sub",
            "Join",
            "Select",
            "Split",
            "If",
            "Equals",
            "Not",
            "And",
            "Or",
            "FindInMap",
            "Base64",
            "ImportValue",
            "GetAZs",
            "Cidr",
            "Transform",
            "Length",
            "ToJsonString",
        ]
    },
}


class _TemplateLoader(CoreSchemaLoader):
    """The definition parser's YAML 1.2 SafeLoader plus CloudFormation's short-form tags."""


def _construct_short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
    tag = "!" + suffix
    long_form = _SHORT_FORMS.get(tag)
    if long_form is None:
        raise yaml.constructor.ConstructorError(
            None, None, f"unknown tag {tag} (not a CloudFormation function)", node.start_mark
        )
    value: object
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(cast(yaml.MappingNode, node), deep=True)
    return {long_form: value}


_TemplateLoader.add_multi_constructor("!", _construct_short_form)


def parse_template(text: str, source: str) -> Mapping[str, JSON]:
    """The template's value. Raises `TemplateInvalid` for text that is not a template (its
    line and column), or a value that is not a mapping."""
    try:
        if text.lstrip().startswith("{"):
            value = parse_text(text)
        else:
            value = load_yaml(text, _TemplateLoader)
    except DefinitionSyntaxError as exc:
        raise TemplateInvalid(source, [TemplateProblem("", str(exc))]) from None
    except RecursionError:
        raise TemplateInvalid(source, [TemplateProblem("", "nested too deeply")]) from None
    if not isinstance(value, dict) or not isinstance(value.get("Resources"), dict):
        raise TemplateInvalid(
            source,
            [TemplateProblem("Resources", "a template is a mapping with a Resources section")],
        )
    return value


# --------------------------------------------------------------------------- the machine


@dataclass(frozen=True, slots=True)
class TemplateMachine:
    """A state machine as a template declares it, resolved for a local run.

    Exactly one of `definition_text` (an inline definition, as text) and `definition_uri` (a
    local file, relative to the template's folder) is set. `substitutions` are the template's
    DefinitionSubstitutions, resolved."""

    logical_id: str
    name: str
    machine_type: str
    definition_text: str | None
    definition_uri: str | None
    substitutions: dict[str, SubstitutionValue] = field(default_factory=dict)

    @property
    def location(self) -> str:
        return f"Resources/{self.logical_id}"


def machine_ids(template: Mapping[str, JSON]) -> list[str]:
    """The logical ids of the template's state machines, in the template's order."""
    resources = template.get("Resources")
    return [
        logical_id
        for logical_id, resource in (resources.items() if isinstance(resources, dict) else ())
        if isinstance(resource, dict) and resource.get("Type") in MACHINE_TYPES
    ]


def read_machine(
    template: Mapping[str, JSON],
    source: str,
    *,
    machine: str | None = None,
    parameters: Mapping[str, str] | None = None,
    pseudo: Pseudo | None = None,
    given_keys: frozenset[str] = frozenset(),
) -> TemplateMachine:
    """The machine `machine` (a logical id; optional when the template has one machine),
    resolved. `given_keys` are substitution keys the caller supplies itself (`--sub`): the
    template's value for them is not resolved, so an unresolvable one is no problem. Raises
    `TemplateInvalid` listing every problem."""
    ids = machine_ids(template)
    resources = cast(dict[str, JSON], template.get("Resources"))
    if machine is None:
        if not ids:
            raise TemplateInvalid(
                source,
                [
                    TemplateProblem(
                        "Resources",
                        "the template declares no state machine (AWS::Serverless::StateMachine "
                        "or AWS::StepFunctions::StateMachine)",
                    )
                ],
            )
        if len(ids) > 1:
            raise TemplateInvalid(
                source,
                [
                    TemplateProblem(
                        "Resources",
                        f"the template declares {len(ids)} state machines ({', '.join(ids)}); "
                        "choose one with --machine LOGICAL_ID",
                    )
                ],
            )
        machine = ids[0]
    elif machine not in ids:
        what = (
            f"is a {resources[machine].get('Type')}, not a state machine"  # type: ignore[union-attr]
            if isinstance(resources.get(machine), dict)
            else "is not a resource of the template"
        )
        listed = ", ".join(ids) or "none"
        raise TemplateInvalid(
            source,
            [
                TemplateProblem(
                    f"Resources/{machine}",
                    f"--machine {machine} {what}; the state machines are: {listed}",
                )
            ],
        )
    resolver = Resolver(template, parameters or {}, pseudo or Pseudo())
    read = _read_machine(resolver, machine, cast(dict[str, JSON], resources[machine]), given_keys)
    if resolver.problems:
        raise TemplateInvalid(source, resolver.problems)
    assert read is not None
    return read


def _read_machine(
    resolver: Resolver, logical_id: str, resource: dict[str, JSON], given_keys: frozenset[str]
) -> TemplateMachine | None:
    serverless = resource.get("Type") == MACHINE_TYPES[0]
    at = f"Resources/{logical_id}/Properties"
    properties = resource.get("Properties")
    if not isinstance(properties, dict):
        resolver.problem(at, "the state machine has no Properties")
        return None

    type_key = "Type" if serverless else "StateMachineType"
    name = resolver.resource_name(logical_id)
    machine_type: JSON | Unresolved = "STANDARD"
    if type_key in properties:
        machine_type = resolver.resolve(properties[type_key], f"{at}/{type_key}")
        if machine_type not in ("STANDARD", "EXPRESS", UNRESOLVED):
            resolver.problem(f"{at}/{type_key}", "the type is STANDARD or EXPRESS")

    substitutions: dict[str, SubstitutionValue] = {}
    given: JSON | Unresolved = properties.get("DefinitionSubstitutions")
    if (
        given is not None and not isinstance(given, Unresolved) and not _is_map(given)
    ):  # e.g. !If [Cond, {map}, {map}]
        given = resolver.resolve(given, f"{at}/DefinitionSubstitutions")
        if not isinstance(given, dict | Unresolved):
            resolver.problem(f"{at}/DefinitionSubstitutions", "a map of key: value is needed")
    if isinstance(given, dict):
        for key, value in given.items():
            if key in given_keys:
                continue  # the caller gives its own value (--sub), which wins
            where = f"{at}/DefinitionSubstitutions/{key}"
            resolved = resolver.resolve(value, where)
            if isinstance(resolved, str | int | float | bool):
                substitutions[key] = resolved
            elif resolved is not UNRESOLVED:
                resolver.problem(where, "a substitution value is a string, a number or a boolean")

    sources = [
        key
        for key in ("Definition", "DefinitionUri", "DefinitionString", "DefinitionS3Location")
        if key in properties
    ]
    allowed = (
        ("Definition", "DefinitionUri")
        if serverless
        else (
            "Definition",
            "DefinitionString",
            "DefinitionS3Location",
        )
    )
    text: str | None = None
    uri: str | None = None
    if not sources:
        resolver.problem(at, f"the state machine has no definition: give {' or '.join(allowed)}")
    elif len(sources) > 1:
        resolver.problem(at, f"give one of {' and '.join(sources)}, not both")
    else:
        [key] = sources
        where = f"{at}/{key}"
        if key not in allowed:
            resolver.problem(where, f"{resource.get('Type')} has no property {key}")
        elif key == "DefinitionS3Location" or (
            key == "DefinitionUri" and not _is_local_path(properties[key])
        ):
            resolver.problem(
                where,
                "the engine cannot read a definition from S3; download it and point "
                "DefinitionUri (AWS::Serverless::StateMachine) at the local file, or give the "
                "file as the definition with --sub for its substitutions",
            )
        elif key == "DefinitionUri":
            uri = cast(str, properties[key])
        elif key == "DefinitionString":
            resolved = resolver.resolve(properties[key], where)
            if isinstance(resolved, str):
                text = resolved
            elif resolved is not UNRESOLVED:
                resolver.problem(where, "DefinitionString must resolve to a string")
        else:
            resolved = resolver.resolve(properties[key], where)
            if isinstance(resolved, dict):
                # As SAM and CloudFormation do: the object becomes JSON text, and the
                # substitutions then apply to that text.
                text = json.dumps(resolved, indent=4, ensure_ascii=False)
            elif resolved is not UNRESOLVED:
                resolver.problem(where, "Definition must be an object (the ASL definition)")
    if not isinstance(name, str) or not isinstance(machine_type, str):
        return None
    if text is None and uri is None:
        return None
    return TemplateMachine(logical_id, name, machine_type, text, uri, substitutions)


def _is_map(value: JSON) -> bool:
    """A plain mapping, not an intrinsic function (`{"Fn::If": [...]}`, `{"Ref": ...}`)."""
    if not isinstance(value, dict):
        return False
    if len(value) == 1:
        [key] = value
        return not (key == "Ref" or key == "Condition" or key.startswith("Fn::"))
    return True


def _is_local_path(value: JSON | Unresolved | None) -> bool:
    return isinstance(value, str) and not value.startswith("s3://") and bool(value)


# --------------------------------------------------------------------------- the functions


@dataclass(frozen=True, slots=True)
class TemplateFunction:
    """A function of the template: its Lambda name, and what serves it locally when it can
    be (`servable`: a Python runtime, a local CodeUri and a module.function Handler)."""

    logical_id: str
    name: str
    runtime: str | None
    handler: str | None
    code_uri: str | None
    timeout: int
    memory_size: int
    why_not: str | None = None
    """Why the engine does not serve it, when it does not."""
    environment: tuple[tuple[str, str], ...] = ()
    """Its `Environment.Variables` (Globals.Function's merged in), resolved to text."""

    @property
    def servable(self) -> bool:
        return self.why_not is None


def read_functions(
    template: Mapping[str, JSON],
    *,
    parameters: Mapping[str, str] | None = None,
    pseudo: Pseudo | None = None,
) -> tuple[list[TemplateFunction], list[TemplateProblem]]:
    """Every function of the template, with Globals.Function applied, and the problems of the
    functions that could not be read (a function that cannot be read is left out; the
    machine's own references to it are read_machine's to report)."""
    resolver = Resolver(template, parameters or {}, pseudo or Pseudo())
    globals_section = template.get("Globals")
    defaults_raw = globals_section.get("Function") if isinstance(globals_section, dict) else None
    defaults = defaults_raw if isinstance(defaults_raw, dict) else {}
    resources = template.get("Resources")
    functions: list[TemplateFunction] = []
    for logical_id, resource in resources.items() if isinstance(resources, dict) else ():
        if not isinstance(resource, dict) or resource.get("Type") not in _FUNCTION_TYPES:
            continue
        properties = resource.get("Properties")
        properties = properties if isinstance(properties, dict) else {}
        serverless = resource.get("Type") == _FUNCTION_TYPES[0]
        merged = {**defaults, **properties} if serverless else dict(properties)
        at = f"Resources/{logical_id}/Properties"
        before = len(resolver.problems)
        name = resolver.resource_name(logical_id)
        values = {
            key: resolver.resolve(merged[key], f"{at}/{key}")
            for key in ("Runtime", "Handler", "CodeUri", "Timeout", "MemorySize", "PackageType")
            if key in merged
        }
        environment = _environment(
            resolver, defaults if serverless else {}, properties, f"{at}/Environment/Variables"
        )
        for key in ("Timeout", "MemorySize"):
            if key in values and _integer(values[key], -1) < 0:
                resolver.problem(f"{at}/{key}", f"{key} must be a whole number")
        if len(resolver.problems) > before or not isinstance(name, str):
            continue
        runtime = values.get("Runtime")
        handler = values.get("Handler")
        code_uri = values.get("CodeUri")
        why_not = None
        if not serverless:
            why_not = "an AWS::Lambda::Function (its code is a zip or an image)"
        elif values.get("PackageType") == "Image":
            why_not = "a container image function"
        elif not (isinstance(runtime, str) and runtime.startswith("python")):
            why_not = f"not a Python function (Runtime {runtime!r})"
        elif not _is_local_path(code_uri):
            why_not = "its CodeUri is not a local folder"
        elif not (isinstance(handler, str) and "." in handler):
            why_not = "its Handler is not module.function"
        functions.append(
            TemplateFunction(
                logical_id,
                name,
                runtime if isinstance(runtime, str) else None,
                handler if isinstance(handler, str) else None,
                code_uri if isinstance(code_uri, str) else None,
                _integer(values.get("Timeout"), _SAM_FUNCTION_DEFAULTS["Timeout"]),
                _integer(values.get("MemorySize"), _SAM_FUNCTION_DEFAULTS["MemorySize"]),
                why_not,
                environment,
            )
        )
    return functions, resolver.problems


def _environment(
    resolver: Resolver, defaults: Mapping[str, JSON], properties: Mapping[str, JSON], at: str
) -> tuple[tuple[str, str], ...]:
    """A function's environment variables: Globals.Function's, then its own (SAM merges the
    two maps), each value resolved and written as text, as Lambda hands them over."""
    merged: dict[str, JSON] = {}
    for source in (defaults, properties):
        environment = source.get("Environment")
        variables = environment.get("Variables") if isinstance(environment, dict) else None
        if isinstance(variables, dict):
            merged.update(variables)
    resolved: list[tuple[str, str]] = []
    for key, raw in merged.items():
        value = resolver.resolve(raw, f"{at}/{key}")
        if isinstance(value, bool):
            resolved.append((key, "true" if value else "false"))
        elif isinstance(value, str | int | float):
            resolved.append((key, str(value)))
    return tuple(resolved)


def _integer(value: JSON | Unresolved | None, default: int) -> int:
    """A whole number as a template writes it (`10` or "10"), else `default`."""
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(str(value))
    except ValueError:
        return default
