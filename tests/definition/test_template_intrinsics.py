"""CloudFormation's intrinsic functions resolved locally (engine/definition/template_intrinsics.py):
each function and each resource type's Ref/GetAtt with its exact value, and every problem with
its location and text."""

from __future__ import annotations

from typing import Any

import pytest

from engine import embedded
from engine.definition.template_intrinsics import (
    LOCAL_ACCOUNT,
    LOCAL_REGION,
    Pseudo,
    Resolver,
    TemplateProblem,
    Unresolved,
)

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "dev"},
        "Size": {"Type": "Number", "Default": 3},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b,c"},
        "Secret": {"Type": "String"},
    },
    "Mappings": {"Regions": {"us-east-1": {"Bucket": "east-bucket"}}},
    "Conditions": {
        "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
        "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]},
        "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Equals": ["1", 1]}]},
        "Either": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]},
    },
    "Resources": {
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {}},
        "Named": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "orders-fn"}},
        "SubNamed": {
            "Type": "AWS::Serverless::Function",
            "Properties": {"FunctionName": {"Fn::Sub": "${AWS::StackName}-${Stage}-x"}},
        },
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "Orders"}},
        "Simple": {"Type": "AWS::Serverless::SimpleTable"},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs"}},
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "orders-bus"}},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine"},
        "SamMachine": {"Type": "AWS::Serverless::StateMachine", "Properties": {"Name": "flow"}},
        "Role": {"Type": "AWS::IAM::Role"},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/aws/x"}},
        "Activity": {"Type": "AWS::StepFunctions::Activity", "Properties": {"Name": "review"}},
        "Api": {"Type": "AWS::Serverless::Api"},
        "Loop": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Loop"}}},
    },
}

ARN = f"{LOCAL_REGION}:{LOCAL_ACCOUNT}"


def resolve(value: Any, parameters: dict[str, str] | None = None) -> tuple[Any, list[str]]:
    resolver = Resolver(TEMPLATE, parameters or {}, Pseudo())
    result = resolver.resolve(value, "Resources/M/Properties/X")
    return result, [str(problem) for problem in resolver.problems]


def test_the_local_region_and_account_are_the_engines() -> None:
    assert (LOCAL_REGION, LOCAL_ACCOUNT) == (embedded.REGION, embedded.ACCOUNT)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Fn"}, "Fn"),
        ({"Fn::GetAtt": "Fn.Arn"}, f"arn:aws:lambda:{ARN}:function:Fn"),
        ({"Fn::GetAtt": ["Named", "Arn"]}, f"arn:aws:lambda:{ARN}:function:orders-fn"),
        ({"Ref": "Named"}, "orders-fn"),
        ({"Ref": "SubNamed"}, "asl-local-dev-x"),
        ({"Ref": "Table"}, "Orders"),
        ({"Fn::GetAtt": "Table.Arn"}, f"arn:aws:dynamodb:{ARN}:table/Orders"),
        (
            {"Fn::GetAtt": "Table.StreamArn"},
            f"arn:aws:dynamodb:{ARN}:table/Orders/stream/1970-01-01T00:00:00.000",
        ),
        ({"Ref": "Simple"}, "Simple"),
        ({"Fn::GetAtt": "Simple.Arn"}, f"arn:aws:dynamodb:{ARN}:table/Simple"),
        ({"Ref": "Queue"}, f"https://sqs.{LOCAL_REGION}.amazonaws.com/{LOCAL_ACCOUNT}/jobs"),
        ({"Fn::GetAtt": "Queue.Arn"}, f"arn:aws:sqs:{ARN}:jobs"),
        ({"Fn::GetAtt": "Queue.QueueName"}, "jobs"),
        ({"Ref": "Topic"}, f"arn:aws:sns:{ARN}:Topic"),
        ({"Fn::GetAtt": "Topic.TopicName"}, "Topic"),
        ({"Ref": "Bucket"}, "bucket"),
        ({"Fn::GetAtt": "Bucket.Arn"}, "arn:aws:s3:::bucket"),
        ({"Ref": "Bus"}, "orders-bus"),
        ({"Fn::GetAtt": "Bus.Arn"}, f"arn:aws:events:{ARN}:event-bus/orders-bus"),
        ({"Ref": "Machine"}, f"arn:aws:states:{ARN}:stateMachine:Machine"),
        ({"Fn::GetAtt": "Machine.Name"}, "Machine"),
        ({"Ref": "SamMachine"}, f"arn:aws:states:{ARN}:stateMachine:flow"),
        ({"Ref": "Role"}, "Role"),
        ({"Fn::GetAtt": "Role.Arn"}, f"arn:aws:iam::{LOCAL_ACCOUNT}:role/Role"),
        ({"Ref": "Logs"}, "/aws/x"),
        ({"Fn::GetAtt": "Logs.Arn"}, f"arn:aws:logs:{ARN}:log-group:/aws/x:*"),
        ({"Ref": "Activity"}, f"arn:aws:states:{ARN}:activity:review"),
        ({"Ref": "Api"}, "Api"),
        ({"Fn::GetAtt": "Api.Arn"}, f"arn:aws:serverless:{ARN}:Api"),
        ({"Ref": "AWS::Region"}, LOCAL_REGION),
        ({"Ref": "AWS::AccountId"}, LOCAL_ACCOUNT),
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::StackName"}, "asl-local"),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
        ({"Ref": "Stage"}, "dev"),
        ({"Ref": "Size"}, "3"),
        ({"Ref": "Zones"}, ["a", "b", "c"]),
        (
            {"Fn::Sub": "arn:${AWS::Partition}:states:::dynamodb:putItem"},
            ("arn:aws:states:::dynamodb:putItem"),
        ),
        (
            {"Fn::Sub": "${Fn.Arn}|${Stage}|${!Literal}"},
            (f"arn:aws:lambda:{ARN}:function:Fn|dev|${{Literal}}"),
        ),
        ({"Fn::Sub": ["${A}-${Stage}", {"A": {"Ref": "Table"}}]}, "Orders-dev"),
        ({"Fn::Join": [":", ["a", {"Ref": "Stage"}, "c"]]}, "a:dev:c"),
        ({"Fn::Join": ["", []]}, ""),
        ({"Fn::Select": [1, ["x", "y"]]}, "y"),
        ({"Fn::Select": ["0", {"Ref": "Zones"}]}, "a"),
        ({"Fn::Split": [",", "a,b"]}, ["a", "b"]),
        ({"Fn::If": ["IsDev", "yes", "no"]}, "yes"),
        ({"Fn::If": ["IsProd", "yes", "no"]}, "no"),
        ({"Fn::If": ["Both", 1, 2]}, 1),
        ({"Fn::If": ["Either", "e", "n"]}, "e"),
        ({"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Bucket"]}, "east-bucket"),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::GetAZs": ""}, ["us-east-1a", "us-east-1b", "us-east-1c"]),
        ({"Fn::Select": [0, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}, "us-east-1a"),
        (
            {"a": [{"Ref": "Stage"}, {"Ref": "AWS::NoValue"}], "b": {"Ref": "AWS::NoValue"}},
            {"a": ["dev"]},
        ),
        ({"Condition": "IsDev", "Other": 1}, {"Condition": "IsDev", "Other": 1}),
    ],
    ids=lambda v: str(v)[:50] if not isinstance(v, str) else None,
)
def test_resolves_to_the_exact_value(value: Any, expected: Any) -> None:
    assert resolve(value) == (expected, [])


def test_a_parameter_given_on_the_command_line_wins_over_its_default() -> None:
    assert resolve({"Ref": "Stage"}, {"Stage": "prod"}) == ("prod", [])
    assert resolve({"Fn::If": ["IsDev", "d", "p"]}, {"Stage": "prod"}) == ("p", [])
    assert resolve({"Ref": "Secret"}, {"Secret": "s3cr3t"}) == ("s3cr3t", [])


def test_the_stack_name_is_a_pseudo_parameter_the_caller_may_set() -> None:
    resolver = Resolver(TEMPLATE, {}, Pseudo(stack_name="shop"))
    assert resolver.resolve({"Ref": "SubNamed"}, "X") == "shop-dev-x"


AT = "Resources/M/Properties/X"


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        (
            {"Ref": "Nope"},
            [
                f"{AT}/Ref: 'Nope' is neither a parameter, a pseudo parameter nor a resource of "
                "the template; check its spelling, or give the value with --sub KEY=VALUE"
            ],
        ),
        (
            {"Ref": "Secret"},
            [
                "Parameters/Secret: the parameter has no Default; give its value with "
                "--parameter Secret=VALUE"
            ],
        ),
        (
            {"Fn::GetAtt": "Table.Nope"},
            [
                f"{AT}/Fn::GetAtt: Table (AWS::DynamoDB::Table) has no attribute 'Nope' the "
                "engine knows (known: Arn, StreamArn); give the value with --sub KEY=VALUE"
            ],
        ),
        (
            {"Fn::GetAtt": "Api.RootResourceId"},
            [
                f"{AT}/Fn::GetAtt: the engine does not know the attribute 'RootResourceId' of "
                "Api (AWS::Serverless::Api); it knows only Arn for this type. Give the value "
                "the definition needs with --sub KEY=VALUE"
            ],
        ),
        (
            {"Fn::ImportValue": "shared-table"},
            [
                f"{AT}/Fn::ImportValue: Fn::ImportValue reads another stack's export, which a "
                "local run cannot; give the value with --sub KEY=VALUE (or --substitutions "
                "FILE.json)"
            ],
        ),
        (
            {"Fn::Cidr": ["10.0.0.0/16", 2, 8]},
            [
                f"{AT}/Fn::Cidr: the engine does not evaluate Fn::Cidr locally; give the value "
                "the definition needs with --sub KEY=VALUE"
            ],
        ),
        (
            {"Fn::Sub": "${Nope.Arn}"},
            [
                f"{AT}/Fn::Sub: 'Nope' is neither a parameter, a pseudo parameter nor a "
                "resource of the template; check its spelling, or give the value with "
                "--sub KEY=VALUE"
            ],
        ),
        (
            {"Fn::If": ["Missing", 1, 2]},
            [f"{AT}/Fn::If/0: the template has no condition 'Missing'"],
        ),
        ({"Fn::Select": [5, ["a"]]}, [f"{AT}/Fn::Select: Fn::Select: no item at index 5"]),
        ({"Fn::Join": [",", [{"a": 1}]]}, [f"{AT}/Fn::Join: Fn::Join joins strings only"]),
        (
            {"Fn::FindInMap": ["Regions", "eu-west-1", "Bucket"]},
            [f"{AT}/Fn::FindInMap: Mappings has no Regions/eu-west-1/Bucket"],
        ),
        (
            {"Fn::GetAtt": 5},
            [f"{AT}/Fn::GetAtt: Fn::GetAtt takes 'LogicalId.Attribute' or [LogicalId, Attribute]"],
        ),
        (
            {"Ref": "Loop"},
            [
                "Resources/Loop/Properties/QueueName: the name refers to itself; write it "
                "without a reference to Loop"
            ],
        ),
        (
            [{"Ref": "Nope"}, {"Ref": "Secret"}],
            [
                f"{AT}/0/Ref: 'Nope' is neither a parameter, a pseudo parameter nor a resource "
                "of the template; check its spelling, or give the value with --sub KEY=VALUE",
                "Parameters/Secret: the parameter has no Default; give its value with "
                "--parameter Secret=VALUE",
            ],
        ),
    ],
    ids=[
        "unknown-id",
        "parameter-without-default",
        "unknown-attribute",
        "attribute-of-unknown-type",
        "import-value",
        "unsupported-function",
        "sub-unknown",
        "unknown-condition",
        "select-out-of-range",
        "join-non-string",
        "find-in-map-missing",
        "get-att-malformed",
        "name-cycle",
        "every-problem-at-once",
    ],
)
def test_every_problem_is_located_and_says_how_to_fix_it(value: Any, problems: list[str]) -> None:
    result, found = resolve(value)
    assert isinstance(result, Unresolved)
    assert found == problems


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"Loop": {"Condition": "Loop"}}, ["Conditions/Loop"]),
        (
            {
                "Loop": {"Fn::Not": [{"Condition": "B"}]},
                "B": {"Fn::Not": [{"Condition": "Loop"}]},
            },
            ["Conditions/Loop"],
        ),
    ],
    ids=["self", "through-another"],
)
def test_a_condition_cycle_is_a_problem(conditions: dict[str, Any], expected: list[str]) -> None:
    resolver = Resolver({"Conditions": conditions, "Resources": {}}, {}, Pseudo())
    assert isinstance(resolver.resolve({"Fn::If": ["Loop", 1, 2]}, "X"), Unresolved)
    assert [(p.location, p.message) for p in resolver.problems] == [
        (location, "the condition refers to itself, directly or through others")
        for location in expected
    ]


def test_a_problem_prints_as_location_and_message() -> None:
    assert str(TemplateProblem("Resources/X", "no")) == "Resources/X: no"
    assert str(TemplateProblem("", "no")) == "no"
