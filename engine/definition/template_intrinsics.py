"""CloudFormation's intrinsic functions over a template's values, resolved locally.

Owns: `Resolver`, which turns a template value holding `Ref`, `Fn::GetAtt`, `Fn::Sub`,
`Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::If` (with the template's Conditions), `Fn::Equals`,
`Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`, `Fn::FindInMap`, `Fn::Base64`, `Fn::GetAZs` and
`Fn::ImportValue` into plain JSON, and the rule that gives the template's own resources
deterministic local names and ARNs (`RESOURCE_RULES`, docs/templates.md):

- a resource's name is its explicit name property (`FunctionName`, `TableName`,
  `QueueName`...) when it has one, else its logical id (CloudFormation would generate
  `STACK-LOGICALID-SUFFIX`; a local run needs a name that does not change between runs);
- `Ref` and `Fn::GetAtt` then give what CloudFormation documents for the type, built from that
  name, the region, the account and the partition: a function's `Arn` is
  `arn:aws:lambda:REGION:ACCOUNT:function:NAME`, so the engine's Lambda backend serves it as
  the function NAME;
- any other type: `Ref` is the logical id, `Fn::GetAtt X.Arn` is
  `arn:PARTITION:SERVICE:REGION:ACCOUNT:LOGICALID` (SERVICE from `AWS::Service::Type`), and
  other attributes are unknown.

Every value that cannot be resolved (an unknown logical id or parameter, a parameter without a
default nor `--parameter`, `Fn::ImportValue`, an unknown attribute, a malformed function) is a
`TemplateProblem` located by its template path (`Resources/M/Properties/X`) that says how to
fix it; the resolver records it and goes on, so every problem is reported at once. Must never:
read a file, call AWS, or execute anything a template names.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from engine.values import JSON

__all__ = [
    "LOCAL_ACCOUNT",
    "LOCAL_REGION",
    "RESOURCE_RULES",
    "Pseudo",
    "Resolver",
    "TemplateProblem",
    "Unresolved",
]

LOCAL_REGION: Final = "us-east-1"
LOCAL_ACCOUNT: Final = "111111111111"
"""The engine's local region and account (engine/embedded.py REGION and ACCOUNT, which
tests/definition/test_template.py pins equal): named here so that reading a template for
`asl validate` does not import the runtime."""


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One thing in a template the engine cannot resolve: where, and how to fix it."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class Unresolved:
    """The value of something that could not be resolved (its problem is recorded)."""

    _instance: Unresolved | None = None

    def __new__(cls) -> Unresolved:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unresolved>"


UNRESOLVED: Final = Unresolved()
_NO_VALUE: Final = object()
"""`Ref: AWS::NoValue`: the property (or list item) holding it is removed."""


@dataclass(frozen=True, slots=True)
class Pseudo:
    """The pseudo parameters' local values (`--parameter AWS::StackName=...` may change one)."""

    region: str = LOCAL_REGION
    account: str = LOCAL_ACCOUNT
    partition: str = "aws"
    stack_name: str = "asl-local"
    url_suffix: str = "amazonaws.com"

    def value(self, name: str) -> JSON | object | None:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:stack/"
                f"{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": _NO_VALUE,
        }.get(name)


@dataclass(frozen=True, slots=True)
class ResourceRule:
    """How `Ref` and `Fn::GetAtt` answer for one resource type, from its local name."""

    name_property: str | None
    ref: str  # an attribute below, or "name"
    attributes: Mapping[str, str]  # attribute -> format of the value
    lower_name: bool = False  # S3 bucket names are lowercase


_LAMBDA = ResourceRule(
    "FunctionName",
    "name",
    {"Arn": "arn:{partition}:lambda:{region}:{account}:function:{name}"},
)
_TABLE = ResourceRule(
    "TableName",
    "name",
    {
        "Arn": "arn:{partition}:dynamodb:{region}:{account}:table/{name}",
        # A fixed label: the engine streams nothing, but an ARN that never changes.
        "StreamArn": (
            "arn:{partition}:dynamodb:{region}:{account}:table/{name}/stream/"
            "1970-01-01T00:00:00.000"
        ),
    },
)
_MACHINE = ResourceRule(
    "StateMachineName",
    "Arn",
    {"Arn": "arn:{partition}:states:{region}:{account}:stateMachine:{name}", "Name": "{name}"},
)

RESOURCE_RULES: Final[Mapping[str, ResourceRule]] = {
    "AWS::Serverless::Function": _LAMBDA,
    "AWS::Lambda::Function": _LAMBDA,
    "AWS::DynamoDB::Table": _TABLE,
    "AWS::Serverless::SimpleTable": _TABLE,
    "AWS::SQS::Queue": ResourceRule(
        "QueueName",
        "QueueUrl",
        {
            "Arn": "arn:{partition}:sqs:{region}:{account}:{name}",
            "QueueName": "{name}",
            "QueueUrl": "https://sqs.{region}.{url_suffix}/{account}/{name}",
        },
    ),
    "AWS::SNS::Topic": ResourceRule(
        "TopicName",
        "TopicArn",
        {"TopicArn": "arn:{partition}:sns:{region}:{account}:{name}", "TopicName": "{name}"},
    ),
    "AWS::S3::Bucket": ResourceRule(
        "BucketName",
        "name",
        {
            "Arn": "arn:{partition}:s3:::{name}",
            "DomainName": "{name}.s3.{url_suffix}",
            "RegionalDomainName": "{name}.s3.{region}.{url_suffix}",
        },
        lower_name=True,
    ),
    "AWS::Events::EventBus": ResourceRule(
        "Name",
        "name",
        {"Arn": "arn:{partition}:events:{region}:{account}:event-bus/{name}", "Name": "{name}"},
    ),
    "AWS::StepFunctions::StateMachine": _MACHINE,
    "AWS::Serverless::StateMachine": ResourceRule("Name", "Arn", _MACHINE.attributes),
    "AWS::StepFunctions::Activity": ResourceRule(
        "Name",
        "Arn",
        {"Arn": "arn:{partition}:states:{region}:{account}:activity:{name}", "Name": "{name}"},
    ),
    "AWS::IAM::Role": ResourceRule(
        "RoleName",
        "name",
        {"Arn": "arn:{partition}:iam::{account}:role/{name}", "RoleId": "{name}"},
    ),
    "AWS::Logs::LogGroup": ResourceRule(
        "LogGroupName",
        "name",
        {"Arn": "arn:{partition}:logs:{region}:{account}:log-group:{name}:*"},
    ),
}
"""The types whose references the engine knows, with CloudFormation's documented `Ref` and
attributes (each type's "Return values" section), built from the local name."""

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _join(location: str, *tokens: str | int) -> str:
    return (
        "/".join([location, *(str(token) for token in tokens)])
        if location
        else "/".join(str(token) for token in tokens)
    )


class Resolver:
    """Resolves a template's values; `problems` collects what it could not resolve."""

    def __init__(
        self,
        template: Mapping[str, JSON],
        parameters: Mapping[str, str],
        pseudo: Pseudo,
    ) -> None:
        self.template = template
        self.parameters = parameters
        self.pseudo = pseudo
        self.problems: list[TemplateProblem] = []
        self._names: dict[str, str | Unresolved] = {}
        self._conditions: dict[str, bool | Unresolved] = {}
        self._busy: set[str] = set()  # resources and conditions being resolved (cycles)
        self._functions: dict[str, Callable[[JSON, str], JSON | object]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._fn_join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": self._not,
            "Fn::And": lambda args, loc: self._all_or_any(args, loc, "Fn::And"),
            "Fn::Or": lambda args, loc: self._all_or_any(args, loc, "Fn::Or"),
            "Condition": self._condition_ref,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": self._base64,
            "Fn::GetAZs": self._get_azs,
            "Fn::ImportValue": self._import_value,
        }

    # -- the walk -------------------------------------------------------------------------

    def resolve(self, value: JSON, location: str) -> JSON | Unresolved:
        """`value` with every intrinsic function resolved; UNRESOLVED when a part could not
        be (each problem recorded, located under `location`)."""
        result = self._value(value, location)
        if result is _NO_VALUE:
            return None
        return result  # type: ignore[return-value]

    def _value(self, value: JSON, location: str) -> JSON | object:
        if isinstance(value, dict):
            if len(value) == 1:
                [(key, argument)] = value.items()
                function = self._functions.get(key)
                if function is not None and (key != "Condition" or isinstance(argument, str)):
                    return function(argument, _join(location, key))
                if key.startswith("Fn::"):
                    return self.problem(
                        _join(location, key),
                        f"the engine does not evaluate {key} locally; give the value the "
                        "definition needs with --sub KEY=VALUE",
                    )
            result: dict[str, JSON] = {}
            broken = False
            for key, item in value.items():
                resolved = self._value(item, _join(location, key))
                if resolved is _NO_VALUE:
                    continue
                if resolved is UNRESOLVED:
                    broken = True
                    continue
                result[key] = resolved  # type: ignore[assignment]
            return UNRESOLVED if broken else result
        if isinstance(value, list):
            items: list[JSON] = []
            broken = False
            for index, item in enumerate(value):
                resolved = self._value(item, _join(location, index))
                if resolved is _NO_VALUE:
                    continue
                if resolved is UNRESOLVED:
                    broken = True
                    continue
                items.append(resolved)  # type: ignore[arg-type]
            return UNRESOLVED if broken else items
        return value

    def problem(self, location: str, message: str) -> Unresolved:
        self.problems.append(TemplateProblem(location, message))
        return UNRESOLVED

    # -- names of the template's own resources ----------------------------------------------

    def resource(self, logical_id: str) -> Mapping[str, JSON] | None:
        resources = self.template.get("Resources")
        found = resources.get(logical_id) if isinstance(resources, dict) else None
        return found if isinstance(found, dict) else None

    def resource_name(self, logical_id: str) -> str | Unresolved:
        """The local name of a resource: its name property, resolved, else its logical id."""
        if logical_id in self._names:
            return self._names[logical_id]
        resource = self.resource(logical_id) or {}
        rule = RESOURCE_RULES.get(str(resource.get("Type")))
        properties = resource.get("Properties")
        name: str | Unresolved = logical_id
        if rule is not None and rule.name_property and isinstance(properties, dict):
            given = properties.get(rule.name_property)
            if given is not None:
                if logical_id in self._busy:
                    return self.problem(
                        f"Resources/{logical_id}/Properties/{rule.name_property}",
                        f"the name refers to itself; write it without a reference to {logical_id}",
                    )
                self._busy.add(logical_id)
                try:
                    resolved = self._value(
                        given, f"Resources/{logical_id}/Properties/{rule.name_property}"
                    )
                finally:
                    self._busy.discard(logical_id)
                if isinstance(resolved, str):
                    name = resolved
                elif resolved is UNRESOLVED:
                    name = UNRESOLVED
                else:
                    name = self.problem(
                        f"Resources/{logical_id}/Properties/{rule.name_property}",
                        "the name must be a string",
                    )
        if isinstance(name, str) and rule is not None and rule.lower_name:
            name = name.lower()
        self._names[logical_id] = name
        return name

    def _attribute(self, logical_id: str, attribute: str, location: str) -> JSON | object:
        resource = self.resource(logical_id)
        if resource is None:
            return self._unknown_id(logical_id, location)
        kind = str(resource.get("Type"))
        rule = RESOURCE_RULES.get(kind)
        if rule is None:
            if attribute == "Arn":
                service = kind.split("::")[1].lower() if kind.count("::") == 2 else "resource"
                return (
                    f"arn:{self.pseudo.partition}:{service}:{self.pseudo.region}:"
                    f"{self.pseudo.account}:{logical_id}"
                )
            return self.problem(
                location,
                f"the engine does not know the attribute '{attribute}' of {logical_id} "
                f"({kind}); it knows only Arn for this type. Give the value the definition "
                "needs with --sub KEY=VALUE",
            )
        fmt = rule.attributes.get(attribute)
        if fmt is None:
            known = ", ".join(sorted(rule.attributes))
            return self.problem(
                location,
                f"{logical_id} ({kind}) has no attribute '{attribute}' the engine knows "
                f"(known: {known}); give the value with --sub KEY=VALUE",
            )
        name = self.resource_name(logical_id)
        if isinstance(name, Unresolved):
            return UNRESOLVED
        return fmt.format(
            name=name,
            region=self.pseudo.region,
            account=self.pseudo.account,
            partition=self.pseudo.partition,
            url_suffix=self.pseudo.url_suffix,
        )

    def _unknown_id(self, name: str, location: str) -> Unresolved:
        return self.problem(
            location,
            f"'{name}' is neither a parameter, a pseudo parameter nor a resource of the "
            "template; check its spelling, or give the value with --sub KEY=VALUE",
        )

    # -- Ref and Fn::GetAtt ---------------------------------------------------------------

    def _ref(self, argument: JSON, location: str) -> JSON | object:
        if not isinstance(argument, str):
            return self.problem(location, "Ref takes the name of a parameter or a resource")
        return self.reference(argument, location)

    def reference(self, name: str, location: str) -> JSON | object:
        pseudo = self.pseudo.value(name) if name.startswith("AWS::") else None
        if pseudo is not None:
            return pseudo
        parameters = self.template.get("Parameters")
        if isinstance(parameters, dict) and name in parameters:
            return self._parameter(name, parameters[name])
        resource = self.resource(name)
        if resource is None:
            return self._unknown_id(name, location)
        rule = RESOURCE_RULES.get(str(resource.get("Type")))
        if rule is None:
            return name
        if rule.ref == "name":
            return self.resource_name(name)
        return self._attribute(name, rule.ref, location)

    def _parameter(self, name: str, declaration: JSON) -> JSON | object:
        kind = declaration.get("Type") if isinstance(declaration, dict) else None
        if name in self.parameters:
            value: JSON = self.parameters[name]
        elif isinstance(declaration, dict) and "Default" in declaration:
            default = declaration["Default"]
            value = default if isinstance(default, str) else _text(default)
        else:
            return self.problem(
                f"Parameters/{name}",
                f"the parameter has no Default; give its value with --parameter {name}=VALUE",
            )
        if isinstance(kind, str) and (kind == "CommaDelimitedList" or kind.startswith("List<")):
            return [item.strip() for item in str(value).split(",")]
        return value

    def _get_att(self, argument: JSON, location: str) -> JSON | object:
        if isinstance(argument, str) and "." in argument:
            logical_id, attribute = argument.split(".", 1)
        elif (
            isinstance(argument, list)
            and len(argument) == 2
            and all(isinstance(part, str) for part in argument)
        ):
            logical_id, attribute = str(argument[0]), str(argument[1])
        else:
            return self.problem(
                location,
                "Fn::GetAtt takes 'LogicalId.Attribute' or [LogicalId, Attribute]",
            )
        return self._attribute(logical_id, attribute, location)

    # -- strings ---------------------------------------------------------------------------

    def _sub(self, argument: JSON, location: str) -> JSON | object:
        variables: dict[str, JSON | object] = {}
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text = argument[0]
            for key, item in argument[1].items():
                variables[key] = self._value(item, _join(location, 1, key))
        else:
            text = argument
        if not isinstance(text, str):
            return self.problem(location, "Fn::Sub takes a string, or [string, {variable: value}]")
        broken = False

        def replace(match: re.Match[str]) -> str:
            nonlocal broken
            inner = match.group(1)
            if inner.startswith("!"):  # ${!Literal} is the text ${Literal}
                return "${" + inner[1:] + "}"
            if inner in variables:
                value = variables[inner]
            elif "." in inner and not inner.startswith("AWS::"):
                logical_id, attribute = inner.split(".", 1)
                value = self._attribute(logical_id, attribute, location)
            else:
                value = self.reference(inner, location)
            if not isinstance(value, str):
                if value is not UNRESOLVED:
                    self.problem(location, f"'${{{inner}}}' is not a string; Fn::Sub needs one")
                broken = True
                return ""
            return value

        result = _SUB_VARIABLE.sub(replace, text)
        return UNRESOLVED if broken else result

    def _fn_join(self, argument: JSON, location: str) -> JSON | object:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self.problem(location, "Fn::Join takes [delimiter, [values...]]")
        delimiter = self._value(argument[0], _join(location, 0))
        items = self._value(argument[1], _join(location, 1))
        if delimiter is UNRESOLVED or items is UNRESOLVED:
            return UNRESOLVED
        if not isinstance(delimiter, str) or not isinstance(items, list):
            return self.problem(location, "Fn::Join takes [delimiter, [values...]]")
        if not all(isinstance(item, str) for item in items):
            return self.problem(location, "Fn::Join joins strings only")
        return delimiter.join(str(item) for item in items)

    def _select(self, argument: JSON, location: str) -> JSON | object:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self.problem(location, "Fn::Select takes [index, [values...]]")
        index = self._value(argument[0], _join(location, 0))
        items = self._value(argument[1], _join(location, 1))
        if index is UNRESOLVED or items is UNRESOLVED:
            return UNRESOLVED
        try:
            position = int(str(index))
        except ValueError:
            position = -1
        if not isinstance(items, list) or not 0 <= position < len(items):
            return self.problem(location, f"Fn::Select: no item at index {index!r}")
        chosen: JSON = items[position]
        return chosen

    def _split(self, argument: JSON, location: str) -> JSON | object:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self.problem(location, "Fn::Split takes [delimiter, string]")
        delimiter = self._value(argument[0], _join(location, 0))
        text = self._value(argument[1], _join(location, 1))
        if delimiter is UNRESOLVED or text is UNRESOLVED:
            return UNRESOLVED
        if not isinstance(delimiter, str) or not delimiter or not isinstance(text, str):
            return self.problem(location, "Fn::Split takes [delimiter, string]")
        return text.split(delimiter)

    def _base64(self, argument: JSON, location: str) -> JSON | object:
        text = self._value(argument, location)
        if text is UNRESOLVED:
            return UNRESOLVED
        if not isinstance(text, str):
            return self.problem(location, "Fn::Base64 takes a string")
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    def _get_azs(self, argument: JSON, location: str) -> JSON | object:
        region = self._value(argument, location)
        if region is UNRESOLVED:
            return UNRESOLVED
        name = region if isinstance(region, str) and region else self.pseudo.region
        return [f"{name}a", f"{name}b", f"{name}c"]

    def _import_value(self, argument: JSON, location: str) -> JSON | object:
        return self.problem(
            location,
            "Fn::ImportValue reads another stack's export, which a local run cannot; give the "
            "value with --sub KEY=VALUE (or --substitutions FILE.json)",
        )

    def _find_in_map(self, argument: JSON, location: str) -> JSON | object:
        if not (isinstance(argument, list) and len(argument) == 3):
            return self.problem(location, "Fn::FindInMap takes [MapName, TopKey, SecondKey]")
        keys = [self._value(item, _join(location, index)) for index, item in enumerate(argument)]
        if UNRESOLVED in keys:
            return UNRESOLVED
        node: JSON = self.template.get("Mappings")
        for key in keys:
            node = node.get(str(key)) if isinstance(node, dict) else None
        if node is None:
            path = "/".join(str(key) for key in keys)
            return self.problem(location, f"Mappings has no {path}")
        found: JSON = node
        return found

    # -- conditions -------------------------------------------------------------------------

    def _if(self, argument: JSON, location: str) -> JSON | object:
        if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
            return self.problem(location, "Fn::If takes [ConditionName, value if true, if false]")
        chosen = self.condition(argument[0], _join(location, 0))
        if chosen is UNRESOLVED:
            return UNRESOLVED
        index = 1 if chosen else 2
        return self._value(argument[index], _join(location, index))

    def condition(self, name: str, location: str) -> bool | Unresolved:
        if name in self._conditions:
            return self._conditions[name]
        conditions = self.template.get("Conditions")
        if not isinstance(conditions, dict) or name not in conditions:
            return self.problem(location, f"the template has no condition '{name}'")
        busy = "?" + name  # conditions and resources share the set: a prefix keeps them apart
        if busy in self._busy:
            return self.problem(
                f"Conditions/{name}", "the condition refers to itself, directly or through others"
            )
        self._busy.add(busy)
        try:
            value = self._value(conditions[name], f"Conditions/{name}")
        finally:
            self._busy.discard(busy)
        result: bool | Unresolved
        if isinstance(value, bool):
            result = value
        elif value is UNRESOLVED:
            result = UNRESOLVED
        else:
            result = self.problem(f"Conditions/{name}", "a condition must be a condition function")
        self._conditions[name] = result
        return result

    def _condition_ref(self, argument: JSON, location: str) -> JSON | object:
        return self.condition(str(argument), location)

    def _boolean(self, value: JSON, location: str) -> bool | Unresolved:
        resolved = self._value(value, location)
        if resolved is UNRESOLVED:
            return UNRESOLVED
        if isinstance(resolved, bool):
            return resolved
        if resolved in ("true", "false"):
            return resolved == "true"
        return self.problem(location, "a condition function or a condition name is expected")

    def _equals(self, argument: JSON, location: str) -> JSON | object:
        if not (isinstance(argument, list) and len(argument) == 2):
            return self.problem(location, "Fn::Equals takes [value, value]")
        left = self._value(argument[0], _join(location, 0))
        right = self._value(argument[1], _join(location, 1))
        if left is UNRESOLVED or right is UNRESOLVED:
            return UNRESOLVED
        return _text(left) == _text(right)  # CloudFormation compares the values as strings

    def _not(self, argument: JSON, location: str) -> JSON | object:
        if not (isinstance(argument, list) and len(argument) == 1):
            return self.problem(location, "Fn::Not takes [condition]")
        value = self._boolean(argument[0], _join(location, 0))
        return UNRESOLVED if value is UNRESOLVED else not value

    def _all_or_any(self, argument: JSON, location: str, name: str) -> JSON | object:
        if not (isinstance(argument, list) and 2 <= len(argument) <= 10):
            return self.problem(location, f"{name} takes 2 to 10 conditions")
        values = [self._boolean(item, _join(location, i)) for i, item in enumerate(argument)]
        if UNRESOLVED in values:
            return UNRESOLVED
        return all(values) if name == "Fn::And" else any(values)


def _text(value: JSON | object) -> str:
    """A scalar as CloudFormation passes it to a string property: 60, true, "x"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value
    return str(value)
