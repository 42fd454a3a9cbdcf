"""`${Name}` template placeholders (SAM/CloudFormation DefinitionSubstitutions) left unsubstituted.

A placeholder never makes a definition invalid: every string that holds one gets one located
UNRESOLVED_PLACEHOLDER warning. The machine still loads and runs. A typed field the engine
cannot honour (a number, a timestamp, a Choice operand) fails its state with States.Runtime
when the state is entered; anywhere else the placeholder is passed on as text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.definition.diagnostics import Severity
from engine.definition.validate import is_valid, iter_diagnostics, validate_text
from engine.embedded import load_machine
from engine.errors import STATES_RUNTIME
from tests.interpreter.helpers import Harness, event_types, run_definition

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:work"
PLACEHOLDER = "UNRESOLVED_PLACEHOLDER"
SUBSTITUTE = "(SAM/CloudFormation DefinitionSubstitutions)"


def one(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": state}, **top}


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": LAMBDA, "End": True, **fields}


def mapped(**fields: Any) -> dict[str, Any]:
    processor = {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}}
    return {"Type": "Map", "End": True, "ItemProcessor": processor, **fields}


def distributed(**fields: Any) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "I",
        "States": {"I": {"Type": "Pass", "End": True}},
    }
    return {"Type": "Map", "End": True, "ItemProcessor": processor, **fields}


def choice(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "S",
        "States": {
            "S": {"Type": "Choice", "Choices": [{**rule, "Next": "D"}], "Default": "D"},
            "D": {"Type": "Succeed"},
        },
    }


def retry(**fields: Any) -> dict[str, Any]:
    return one(task(Retry=[{"ErrorEquals": ["States.ALL"], **fields}]))


# (definition, location of the typed field, its placeholder)
TYPED = [
    pytest.param(
        one({"Type": "Wait", "Seconds": "${ReminderTimeout}", "End": True}),
        "/States/S/Seconds",
        "${ReminderTimeout}",
        id="wait-seconds",
    ),
    pytest.param(
        one({"Type": "Wait", "Seconds": "${T}", "End": True}, QueryLanguage="JSONata"),
        "/States/S/Seconds",
        "${T}",
        id="wait-seconds-jsonata",
    ),
    pytest.param(
        one({"Type": "Wait", "Timestamp": "${When}", "End": True}),
        "/States/S/Timestamp",
        "${When}",
        id="wait-timestamp",
    ),
    pytest.param(
        one({"Type": "Wait", "Timestamp": "2024-01-01T${Time}Z", "End": True}),
        "/States/S/Timestamp",
        "${Time}",
        id="wait-timestamp-inside",
    ),
    pytest.param(
        one(task(TimeoutSeconds="${T}")), "/States/S/TimeoutSeconds", "${T}", id="task-timeout"
    ),
    pytest.param(
        one(task(HeartbeatSeconds="${H}", TimeoutSeconds=60)),
        "/States/S/HeartbeatSeconds",
        "${H}",
        id="task-heartbeat",
    ),
    pytest.param(
        retry(IntervalSeconds="${I}"), "/States/S/Retry/0/IntervalSeconds", "${I}", id="interval"
    ),
    pytest.param(retry(MaxAttempts="${M}"), "/States/S/Retry/0/MaxAttempts", "${M}", id="attempts"),
    pytest.param(retry(BackoffRate="${B}"), "/States/S/Retry/0/BackoffRate", "${B}", id="backoff"),
    pytest.param(
        retry(MaxDelaySeconds="${D}"), "/States/S/Retry/0/MaxDelaySeconds", "${D}", id="max-delay"
    ),
    pytest.param(
        one(mapped(MaxConcurrency="${N}")), "/States/S/MaxConcurrency", "${N}", id="map-concurrency"
    ),
    pytest.param(
        one(distributed(ToleratedFailureCount="${C}")),
        "/States/S/ToleratedFailureCount",
        "${C}",
        id="map-tolerated-count",
    ),
    pytest.param(
        one(distributed(ToleratedFailurePercentage="${P}")),
        "/States/S/ToleratedFailurePercentage",
        "${P}",
        id="map-tolerated-percentage",
    ),
    pytest.param(
        one(
            distributed(
                ItemReader={
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON", "MaxItems": "${Max}"},
                    "Parameters": {"Bucket": "b", "Key": "k"},
                }
            )
        ),
        "/States/S/ItemReader/ReaderConfig/MaxItems",
        "${Max}",
        id="map-reader-max-items",
    ),
    pytest.param(
        one(distributed(ItemBatcher={"MaxItemsPerBatch": "${Batch}"})),
        "/States/S/ItemBatcher/MaxItemsPerBatch",
        "${Batch}",
        id="map-batch-size",
    ),
    pytest.param(
        choice({"Variable": "$.x", "NumericGreaterThan": "${Limit}"}),
        "/States/S/Choices/0/NumericGreaterThan",
        "${Limit}",
        id="choice-number",
    ),
    pytest.param(
        choice({"Variable": "$.x", "TimestampEquals": "${At}"}),
        "/States/S/Choices/0/TimestampEquals",
        "${At}",
        id="choice-timestamp",
    ),
    pytest.param(
        choice({"Not": {"Variable": "$.x", "BooleanEquals": "${Flag}"}}),
        "/States/S/Choices/0/Not/BooleanEquals",
        "${Flag}",
        id="choice-not-boolean",
    ),
    pytest.param(
        choice(
            {"And": [{"Variable": "$.x", "IsPresent": True}, {"Variable": "$.x", "IsNull": "${N}"}]}
        ),
        "/States/S/Choices/0/And/1/IsNull",
        "${N}",
        id="choice-and-type-test",
    ),
    pytest.param(
        one({"Type": "Pass", "End": True}, TimeoutSeconds="${MachineTimeout}"),
        "/TimeoutSeconds",
        "${MachineTimeout}",
        id="machine-timeout",
    ),
]


def diagnostics(definition: dict[str, Any]) -> list[tuple[str, Severity, str]]:
    return [(d.code, d.severity, d.location) for d in iter_diagnostics(definition)]


@pytest.mark.parametrize(("definition", "location", "placeholder"), TYPED)
def test_a_typed_field_holding_a_placeholder_only_warns(
    definition: dict[str, Any], location: str, placeholder: str
) -> None:
    assert diagnostics(definition) == [(PLACEHOLDER, Severity.WARNING, location)]


@pytest.mark.parametrize(("definition", "location", "placeholder"), TYPED)
def test_a_typed_field_holding_other_text_is_still_an_error(
    definition: dict[str, Any], location: str, placeholder: str
) -> None:
    broken = json.loads(json.dumps(definition).replace(placeholder, "ten"))
    assert [(c, s) for c, s, loc in diagnostics(broken) if loc == location] == [
        ("SCHEMA_VALIDATION_FAILED", Severity.ERROR)
    ]


@pytest.mark.parametrize(("definition", "location", "placeholder"), TYPED)
def test_a_typed_field_holding_a_placeholder_fails_its_state_on_entry(
    definition: dict[str, Any], location: str, placeholder: str
) -> None:
    load_machine(definition)  # the machine loads
    harness = run_definition(definition, {"x": 1, "items": [1]})
    assert harness.finish is not None
    field = location.rsplit("/", 1)[-1]
    assert (harness.finish.status, harness.finish.error) == ("FAILED", STATES_RUNTIME)
    assert harness.finish.cause == (
        "An error occurred while executing the state 'S' (entered at the event id #2). "
        f"The field '{field}' ({location}) holds the unsubstituted template placeholder "
        f"'{placeholder}' {SUBSTITUTE}. Substitute its value in the definition before running."
    )


def test_a_wait_on_a_placeholder_never_waits_zero_seconds() -> None:
    harness = Harness.of(one({"Type": "Wait", "Seconds": "${ReminderTimeout}", "End": True}))
    harness.start()
    assert harness.timers == {}
    assert event_types(harness.history) == [
        "ExecutionStarted",
        "WaitStateEntered",
        "ExecutionFailed",
    ]


def test_a_catch_does_not_swallow_the_placeholder_failure() -> None:
    definition = one(
        task(
            TimeoutSeconds="${T}",
            Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
        )
    )
    definition["States"]["Handled"] = {"Type": "Succeed"}
    harness = run_definition(definition)
    assert harness.finish is not None
    assert (harness.finish.status, harness.finish.error) == ("FAILED", STATES_RUNTIME)
    assert harness.tasks == {}


MESSAGES = [
    pytest.param(
        one({"Type": "Wait", "Seconds": "${ReminderTimeout}", "End": True}),
        "/States/S/Seconds",
        f"'Seconds' holds the unsubstituted template placeholder '${{ReminderTimeout}}' "
        f"{SUBSTITUTE} where a number is expected; substitute its value before running: until "
        "then the state fails with States.Runtime when it is entered",
        id="typed",
    ),
    pytest.param(
        one({"Type": "Pass", "End": True}, TimeoutSeconds="${T}"),
        "/TimeoutSeconds",
        f"'TimeoutSeconds' holds the unsubstituted template placeholder '${{T}}' {SUBSTITUTE} "
        "where a number is expected; substitute its value before running: until then every "
        "execution fails when it enters its first state",
        id="machine-typed",
    ),
    pytest.param(
        one(task(Resource="${FnArn}")),
        "/States/S/Resource",
        "Resource '${FnArn}' is an unsubstituted template placeholder; AWS rejects it until it "
        f"is substituted with an ARN {SUBSTITUTE}. It runs here only when a mock config mocks "
        "this state.",
        id="resource",
    ),
    pytest.param(
        one(task(Resource="arn:aws:lambda:${AWS::Region}:111111111111:function:work")),
        "/States/S/Resource",
        "Resource 'arn:aws:lambda:${AWS::Region}:111111111111:function:work' holds the "
        "unsubstituted template placeholder '${AWS::Region}'; AWS rejects it until it is "
        f"substituted with an ARN {SUBSTITUTE}. It runs here only when a mock config mocks this "
        "state.",
        id="resource-inside-an-arn",
    ),
    pytest.param(
        one(
            task(
                Resource="arn:aws:states:::lambda:invoke",
                Parameters={"FunctionName": "${ChargeFunctionArn}", "Payload.$": "$"},
            )
        ),
        "/States/S/Parameters/FunctionName",
        "FunctionName '${ChargeFunctionArn}' holds the unsubstituted template placeholder "
        f"'${{ChargeFunctionArn}}' {SUBSTITUTE}; substitute it with a function name or ARN "
        "before running. It runs here only when a mock config mocks this state.",
        id="lambda-invoke-function-name",
    ),
    pytest.param(
        one(task(Parameters={"Table": {"Name": "orders-${Stage}"}})),
        "/States/S/Parameters/Table/Name",
        f"'Name' holds the unsubstituted template placeholder '${{Stage}}' {SUBSTITUTE}; "
        "substitute its value before running: until then the text is passed on as written",
        id="parameters",
    ),
]


@pytest.mark.parametrize(("definition", "location", "message"), MESSAGES)
def test_the_warning_is_located_and_says_how_to_fix(
    definition: dict[str, Any], location: str, message: str
) -> None:
    (warning,) = iter_diagnostics(definition)
    assert (warning.code, warning.severity, warning.location, warning.message) == (
        PLACEHOLDER,
        Severity.WARNING,
        location,
        message,
    )


TEXT_FIELDS = [
    pytest.param(one(task(Parameters={"a": "${A}"})), ["/States/S/Parameters/a"], id="parameters"),
    pytest.param(
        one({"Type": "Pass", "Result": {"list": ["x", "${B}"]}, "End": True}),
        ["/States/S/Result/list/1"],
        id="result",
    ),
    pytest.param(
        one(task(Arguments={"a": "${A}"}), QueryLanguage="JSONata"),
        ["/States/S/Arguments/a"],
        id="arguments",
    ),
    pytest.param(
        one({"Type": "Fail", "Error": "${E}", "Cause": "failed in ${Stage}"}),
        ["/States/S/Error", "/States/S/Cause"],
        id="fail",
    ),
    pytest.param(one({"Type": "Succeed", "Comment": "${C}"}), ["/States/S/Comment"], id="comment"),
    pytest.param(
        one(task(Credentials={"RoleArn": "${RoleArn}"})),
        ["/States/S/Credentials/RoleArn"],
        id="credentials",
    ),
]


@pytest.mark.parametrize(("definition", "locations"), TEXT_FIELDS)
def test_a_placeholder_in_any_other_field_warns(
    definition: dict[str, Any], locations: list[str]
) -> None:
    assert diagnostics(definition) == [(PLACEHOLDER, Severity.WARNING, at) for at in locations]
    assert load_machine(definition).root.states["S"].unresolved == ()


def test_placeholders_in_payloads_pass_through_at_run_time() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Result": {"table": "${Table}"}, "Next": "T"},
            "T": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Parameters": {"t.$": "$.table", "s": "${S}"},
                "End": True,
            },
        },
    }
    harness = run_definition(definition, handler=lambda request: request.payload)
    assert harness.finish is not None
    assert (harness.finish.status, harness.finish.output) == (
        "SUCCEEDED",
        {"t": "${Table}", "s": "${S}"},
    )


def test_fields_that_shape_the_machine_stay_errors() -> None:
    definition = one({"Type": "Pass", "Next": "${Then}", "InputPath": "${Path}"})
    assert diagnostics(definition) == [
        ("MISSING_TRANSITION_TARGET", Severity.ERROR, "/States/S/Next"),
        ("SCHEMA_VALIDATION_FAILED", Severity.ERROR, "/States/S/InputPath"),
        ("MISSING_END_STATE", Severity.ERROR, "/States"),
        (PLACEHOLDER, Severity.WARNING, "/States/S/Next"),
        (PLACEHOLDER, Severity.WARNING, "/States/S/InputPath"),
    ]


def test_a_yaml_definition_with_placeholders_validates() -> None:
    text = (
        "StartAt: Remind\n"
        "States:\n"
        "  Remind:\n"
        "    Type: Wait\n"
        "    Seconds: ${ReminderTimeout}\n"
        "    Next: Notify\n"
        "  Notify:\n"
        "    Type: Task\n"
        "    Resource: ${NotifyFunctionArn}\n"
        "    TimeoutSeconds: ${NotifyTimeout}\n"
        "    End: true\n"
    )
    found = validate_text(text)
    assert [(d.code, d.location) for d in found] == [
        (PLACEHOLDER, "/States/Remind/Seconds"),
        (PLACEHOLDER, "/States/Notify/Resource"),
        (PLACEHOLDER, "/States/Notify/TimeoutSeconds"),
    ]
    assert is_valid(found)
