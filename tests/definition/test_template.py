"""Reading a SAM or CloudFormation template (engine/definition/template.py): the short-form
YAML tags, choosing the machine, its definition, substitutions, name and type, the Python
functions, and every problem with its template path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.definition.template import (
    INVALID_TEMPLATE,
    TemplateFunction,
    TemplateInvalid,
    TemplateMachine,
    parse_template,
    read_functions,
    read_machine,
)

ACCOUNT = "us-east-1:111111111111"

SAM = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
Globals:
  Function:
    Timeout: 10
    Runtime: python3.12
Resources:
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: !Sub "orders-${Stage}"
      Type: EXPRESS
      DefinitionUri: statemachine/flow.asl.json
      DefinitionSubstitutions:
        CheckArn: !GetAtt Check.Arn
        ListArn: !GetAtt [Check, Arn]
        Table: !Ref Orders
        PutItem: !Sub arn:${AWS::Partition}:states:::dynamodb:putItem
        Joined: !Join [":", [a, !Ref Stage]]
        Picked: !Select [1, !Split [",", "x,y,z"]]
        Chosen: !If [IsDev, dev-value, prod-value]
        Literal: !Sub "${!NotReplaced}"
        Wait: 60
        Flag: true
  Check:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/check/
      Handler: app.handler
      MemorySize: 256
  Orders:
    Type: AWS::Serverless::SimpleTable
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
"""


def test_a_sam_machine_with_definition_uri_and_every_short_form() -> None:
    machine = read_machine(parse_template(SAM, "t.yaml"), "t.yaml")
    assert machine == TemplateMachine(
        logical_id="Flow",
        name="orders-dev",
        machine_type="EXPRESS",
        definition_text=None,
        definition_uri="statemachine/flow.asl.json",
        substitutions={
            "CheckArn": f"arn:aws:lambda:{ACCOUNT}:function:Check",
            "ListArn": f"arn:aws:lambda:{ACCOUNT}:function:Check",
            "Table": "Orders",
            "PutItem": "arn:aws:states:::dynamodb:putItem",
            "Joined": "a:dev",
            "Picked": "y",
            "Chosen": "dev-value",
            "Literal": "${NotReplaced}",
            "Wait": 60,
            "Flag": True,
        },
    )
    assert machine.location == "Resources/Flow"


def test_parameters_and_given_keys() -> None:
    template = parse_template(SAM, "t.yaml")
    machine = read_machine(
        template, "t.yaml", parameters={"Stage": "prod"}, given_keys=frozenset({"CheckArn"})
    )
    assert machine.name == "orders-prod"
    assert machine.substitutions["Chosen"] == "prod-value"
    assert "CheckArn" not in machine.substitutions  # the caller gives it (--sub wins)


def test_the_functions_with_globals_and_defaults() -> None:
    functions, problems = read_functions(parse_template(SAM, "t.yaml"))
    assert problems == []
    assert functions == [
        TemplateFunction(
            logical_id="Check",
            name="Check",
            runtime="python3.12",
            handler="app.handler",
            code_uri="functions/check/",
            timeout=10,
            memory_size=256,
        )
    ]
    assert functions[0].servable


INLINE = """\
Resources:
  Inline:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionSubstitutions:
        Greeting: hello
      Definition:
        StartAt: Call
        States:
          Call:
            Type: Task
            Resource: !GetAtt Fn.Arn
            Parameters:
              text: ${Greeting}
            End: true
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      CodeUri: src/
      Handler: index.handler
"""


def test_an_inline_definition_becomes_json_text_with_its_intrinsics_resolved() -> None:
    machine = read_machine(parse_template(INLINE, "t.yaml"), "t.yaml")
    assert machine.name == "Inline"
    assert machine.machine_type == "STANDARD"
    assert machine.definition_uri is None
    assert machine.substitutions == {"Greeting": "hello"}
    assert machine.definition_text is not None
    assert json.loads(machine.definition_text) == {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": f"arn:aws:lambda:{ACCOUNT}:function:Fn",
                "Parameters": {"text": "${Greeting}"},  # substituted in the text, later
                "End": True,
            }
        },
    }


def test_a_function_whose_settings_cannot_be_read_is_left_out_with_its_problem() -> None:
    text = INLINE.replace("Runtime: nodejs20.x", "Runtime: python3.12\n      Timeout: soon")
    functions, problems = read_functions(parse_template(text, "t.yaml"))
    assert functions == []
    assert [str(problem) for problem in problems] == [
        "Resources/Fn/Properties/Timeout: Timeout must be a whole number"
    ]


def test_a_function_the_engine_cannot_serve_says_why() -> None:
    functions, _ = read_functions(parse_template(INLINE, "t.yaml"))
    assert [(f.name, f.why_not) for f in functions] == [
        ("Fn", "not a Python function (Runtime 'nodejs20.x')")
    ]


CFN: dict[str, Any] = {
    "Resources": {
        "Str": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": "from-string",
                "StateMachineType": "EXPRESS",
                "DefinitionString": {
                    "Fn::Sub": [
                        '{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"${V}",'
                        '"End":true}},"Comment":"${!Kept}"}',
                        {"V": {"Ref": "AWS::Region"}},
                    ]
                },
                "DefinitionSubstitutions": {"Kept": "k"},
            },
        },
        "Joined": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"DefinitionString": {"Fn::Join": ["", ['{"StartAt":', '"A"}']]}},
        },
        "Obj": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"Definition": {"StartAt": "A", "States": {}}},
        },
        "S3": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"DefinitionS3Location": {"Bucket": "b", "Key": "k"}},
        },
    }
}


def test_cloudformation_machines() -> None:
    text = json.dumps(CFN)
    template = parse_template(text, "t.json")
    machine = read_machine(template, "t.json", machine="Str")
    assert (machine.name, machine.machine_type, machine.substitutions) == (
        "from-string",
        "EXPRESS",
        {"Kept": "k"},
    )
    assert machine.definition_text == (
        '{"StartAt":"A","States":{"A":{"Type":"Pass","Result":"us-east-1","End":true}},'
        '"Comment":"${Kept}"}'
    )
    joined = read_machine(template, "t.json", machine="Joined")
    assert (joined.name, joined.machine_type, joined.definition_text) == (
        "Joined",
        "STANDARD",
        '{"StartAt":"A"}',
    )
    obj = read_machine(template, "t.json", machine="Obj")
    assert obj.definition_text is not None
    assert json.loads(obj.definition_text) == {"StartAt": "A", "States": {}}


def problems_of(text: str, **kwargs: Any) -> list[str]:
    with pytest.raises(TemplateInvalid) as caught:
        read_machine(parse_template(text, "t.yaml"), "t.yaml", **kwargs)
    assert caught.value.code == INVALID_TEMPLATE == "InvalidTemplate"
    lines = [str(problem) for problem in caught.value.problems]
    assert caught.value.message == "t.yaml: cannot use the template:\n" + "\n".join(
        f"  {line}" for line in lines
    )
    return lines


def machine(properties: str, kind: str = "AWS::Serverless::StateMachine") -> str:
    return f"Resources:\n  M:\n    Type: {kind}\n    Properties:\n{properties}"


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        (
            json.dumps(CFN),
            {"machine": "S3"},
            [
                "Resources/S3/Properties/DefinitionS3Location: the engine cannot read a "
                "definition from S3; download it and point DefinitionUri "
                "(AWS::Serverless::StateMachine) at the local file, or give the file as the "
                "definition with --sub for its substitutions"
            ],
        ),
        (
            json.dumps(CFN),
            {},
            [
                "Resources: the template declares 4 state machines (Str, Joined, Obj, S3); "
                "choose one with --machine LOGICAL_ID"
            ],
        ),
        (
            json.dumps(CFN),
            {"machine": "Nope"},
            [
                "Resources/Nope: --machine Nope is not a resource of the template; the state "
                "machines are: Str, Joined, Obj, S3"
            ],
        ),
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n",
            {"machine": "T"},
            [
                "Resources/T: --machine T is a AWS::SNS::Topic, not a state machine; the state "
                "machines are: none"
            ],
        ),
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n",
            {},
            [
                "Resources: the template declares no state machine "
                "(AWS::Serverless::StateMachine or AWS::StepFunctions::StateMachine)"
            ],
        ),
        (
            machine("      DefinitionUri: s3://bucket/key.json\n"),
            {},
            [
                "Resources/M/Properties/DefinitionUri: the engine cannot read a definition "
                "from S3; download it and point DefinitionUri (AWS::Serverless::StateMachine) "
                "at the local file, or give the file as the definition with --sub for its "
                "substitutions"
            ],
        ),
        (
            machine("      Type: STANDARD\n"),
            {},
            [
                "Resources/M/Properties: the state machine has no definition: give Definition "
                "or DefinitionUri"
            ],
        ),
        (
            machine("      DefinitionUri: a.json\n      Definition: {StartAt: A}\n"),
            {},
            ["Resources/M/Properties: give one of Definition and DefinitionUri, not both"],
        ),
        (
            machine("      DefinitionString: '{}'\n"),
            {},
            [
                "Resources/M/Properties/DefinitionString: AWS::Serverless::StateMachine has no "
                "property DefinitionString"
            ],
        ),
        (
            machine("      DefinitionUri: a.json\n      Type: FAST\n"),
            {},
            ["Resources/M/Properties/Type: the type is STANDARD or EXPRESS"],
        ),
        (
            machine(
                "      DefinitionUri: a.json\n"
                "      DefinitionSubstitutions:\n"
                "        Fn: !GetAtt Missing.Arn\n"
                "        Shared: !ImportValue shared-table\n"
                "        Listed: [a, b]\n"
            ),
            {},
            [
                "Resources/M/Properties/DefinitionSubstitutions/Fn/Fn::GetAtt: 'Missing' is "
                "neither a parameter, a pseudo parameter nor a resource of the template; check "
                "its spelling, or give the value with --sub KEY=VALUE",
                "Resources/M/Properties/DefinitionSubstitutions/Shared/Fn::ImportValue: "
                "Fn::ImportValue reads another stack's export, which a local run cannot; give "
                "the value with --sub KEY=VALUE (or --substitutions FILE.json)",
                "Resources/M/Properties/DefinitionSubstitutions/Listed: a substitution value "
                "is a string, a number or a boolean",
            ],
        ),
        (
            machine(
                "      DefinitionString: !Join [',', [1, 2]]\n", "AWS::StepFunctions::StateMachine"
            ),
            {},
            ["Resources/M/Properties/DefinitionString/Fn::Join: Fn::Join joins strings only"],
        ),
    ],
    ids=[
        "s3-location",
        "several-machines",
        "unknown-machine",
        "not-a-machine",
        "no-machine",
        "s3-uri",
        "no-definition",
        "two-definitions",
        "wrong-property",
        "bad-type",
        "unresolvable-substitutions",
        "definition-string-not-a-string",
    ],
)
def test_every_problem_names_its_template_path(
    text: str, kwargs: dict[str, Any], expected: list[str]
) -> None:
    assert problems_of(text, **kwargs) == expected


def test_substitutions_chosen_by_a_condition() -> None:
    text = (
        "Parameters:\n  Stage: {Type: String, Default: prod}\n"
        "Conditions:\n  IsProd: !Equals [!Ref Stage, prod]\n"
        + machine(
            "      DefinitionUri: a.json\n"
            "      DefinitionSubstitutions: !If [IsProd, {Size: 10}, {Size: 1}]\n"
        )
    )
    read = read_machine(parse_template(text, "t.yaml"), "t.yaml")
    assert read.substitutions == {"Size": 10}
    assert problems_of(text.replace("!If [IsProd, {Size: 10}, {Size: 1}]", "!Ref Stage")) == [
        "Resources/M/Properties/DefinitionSubstitutions: a map of key: value is needed"
    ]


def test_a_substitution_the_caller_gives_is_not_resolved_so_not_a_problem() -> None:
    text = machine(
        "      DefinitionUri: a.json\n      DefinitionSubstitutions:\n        X: !ImportValue y\n"
    )
    read = read_machine(parse_template(text, "t.yaml"), "t.yaml", given_keys=frozenset({"X"}))
    assert read.substitutions == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Resources: [\n",
            "Invalid YAML: expected the node content, but found '<stream end>' at line 2, column 1",
        ),
        (
            "Resources:\n  A: !Bogus x\n",
            "Invalid YAML: unknown tag !Bogus (not a CloudFormation function) at line 2, column 6",
        ),
        ("Resources:\n  A: 1\n  A: 2\n", "Duplicate field 'A' at line 3, column 3"),
        ("[1]", "Resources: a template is a mapping with a Resources section"),
        ("Description: none\n", "Resources: a template is a mapping with a Resources section"),
        (
            '{"Resources": {',
            "Invalid JSON: Expecting property name enclosed in double quotes at line 1, column 16",
        ),
    ],
    ids=["yaml-syntax", "unknown-tag", "duplicate-key", "not-a-mapping", "no-resources", "json"],
)
def test_unreadable_templates(text: str, expected: str) -> None:
    with pytest.raises(TemplateInvalid) as caught:
        parse_template(text, "t.yaml")
    assert caught.value.message == f"t.yaml: cannot use the template:\n  {expected}"


def test_yaml_tags_map_to_their_long_forms() -> None:
    text = (
        "Resources:\n"
        "  A:\n"
        "    Type: X\n"
        "    Properties:\n"
        "      R: !Ref B\n"
        "      G: !GetAtt B.Arn\n"
        "      S: !Sub [x, {a: !Ref B}]\n"
        "      C: !Condition IsDev\n"
        "      N: !Not [!Equals [a, b]]\n"
        "      Z: !GetAZs ''\n"
        "      M: !FindInMap [M, a, b]\n"
        "      B64: !Base64 x\n"
    )
    properties = parse_template(text, "t.yaml")["Resources"]["A"]["Properties"]  # type: ignore[index]
    assert properties == {
        "R": {"Ref": "B"},
        "G": {"Fn::GetAtt": "B.Arn"},
        "S": {"Fn::Sub": ["x", {"a": {"Ref": "B"}}]},
        "C": {"Condition": "IsDev"},
        "N": {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]},
        "Z": {"Fn::GetAZs": ""},
        "M": {"Fn::FindInMap": ["M", "a", "b"]},
        "B64": {"Fn::Base64": "x"},
    }
