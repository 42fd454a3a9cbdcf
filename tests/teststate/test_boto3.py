"""boto3's `test_state` against a real `asl serve`: every state type, each status, mocks,
retries, catches and DEBUG/TRACE inspection data.

Expected values come from AWS: the examples of the Step Functions developer guide, "Using
TestState API to test a state" (https://docs.aws.amazon.com/step-functions/latest/dg/
test-state-isolation.html, section "Testing a state using AWS CLI"), and the answers AWS gave
to the requests of LocalStack's AWS-validated TestState tests (recorded in
tests/aws/services/stepfunctions/v2/test_state/test_state_configuration.snapshot.json of
localstack/localstack, with the definitions of .../templates/test_state/statemachines/), cited
per test as "recorded".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

VALUES = json.dumps({"Values": ["first", "second", "third"]})
MOCK_ERROR = {"error": "MockException", "cause": "Mock the cause of the error."}


def answer(response: dict[str, Any]) -> dict[str, Any]:
    """The TestState answer without boto3's ResponseMetadata."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def definition(state: dict[str, Any]) -> str:
    return json.dumps(state)


# -- the developer guide's examples -----------------------------------------------------------


def test_choice_info_is_the_guides_example_1(sfn: Any) -> None:
    """Example 1: INFO on a Choice state; the unchanged input comes back as it was sent."""
    response = sfn.test_state(
        definition=(
            '{"Type": "Choice", "Choices": [{"Variable": "$.number", "NumericEquals": 1, '
            '"Next": "Equals 1"}, {"Variable": "$.number", "NumericEquals": 2, '
            '"Next": "Equals 2"}], "Default": "No Match"}'
        ),
        roleArn="arn:aws:iam::123456789012:role/myRole",
        input='{"number": 2}',
    )
    assert answer(response) == {
        "output": '{"number": 2}',
        "nextState": "Equals 2",
        "status": "SUCCEEDED",
    }


def test_pass_debug_is_the_guides_example_2(sfn: Any) -> None:
    """Example 2: DEBUG shows each step of a Pass state's input and output processing."""
    response = sfn.test_state(
        definition=(
            '{"Type": "Pass", "InputPath": "$.payload", "Parameters": {"data": 1}, '
            '"ResultPath": "$.result", "OutputPath": "$.result.data", "Next": "Another State"}'
        ),
        roleArn="arn:aws:iam::123456789012:role/myRole",
        input='{"payload": {"foo": "bar"}}',
        inspectionLevel="DEBUG",
    )
    assert answer(response) == {
        "output": "1",
        "inspectionData": {
            "input": '{"payload": {"foo": "bar"}}',
            "afterInputPath": '{"foo":"bar"}',
            "afterParameters": '{"data":1}',
            "afterResultSelector": '{"data":1}',
            "afterResultPath": '{"payload":{"foo":"bar"},"result":{"data":1}}',
        },
        "nextState": "Another State",
        "status": "SUCCEEDED",
    }


# -- retries: RETRIABLE, then FAILED once the Retry is exhausted ------------------------------

TASK_RETRY = {  # recorded: BASE_TASK_STATE_RETRY
    "QueryLanguage": "JSONata",
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Arguments": {"FunctionName": "foo", "Payload": "bar"},
    "Retry": [
        {
            "ErrorEquals": ["MockException"],
            "IntervalSeconds": 1,
            "MaxAttempts": 5,
            "BackoffRate": 2.0,
        }
    ],
    "End": True,
}


@pytest.mark.parametrize("level", ["DEBUG", "TRACE"])
def test_a_retry_with_attempts_left_is_retriable(sfn: Any, level: str) -> None:
    """Recorded: test_state_configuration_retrier_retry_count, retrierRetryCount 4."""
    response = sfn.test_state(
        definition=definition(TASK_RETRY),
        input=VALUES,
        inspectionLevel=level,
        stateConfiguration={"retrierRetryCount": 4},
        mock={"errorOutput": MOCK_ERROR},
    )
    assert answer(response) == {
        "error": "MockException",
        "cause": "Mock the cause of the error.",
        "inspectionData": {
            "input": VALUES,
            "afterArguments": '{"FunctionName":"foo","Payload":"bar"}',
            "errorDetails": {"retryIndex": 0, "retryBackoffIntervalSeconds": 16},
        },
        "status": "RETRIABLE",
    }


def test_an_exhausted_retry_fails(sfn: Any) -> None:
    """Recorded: test_state_configuration_retrier_retry_count, retrierRetryCount 5."""
    response = sfn.test_state(
        definition=definition(TASK_RETRY),
        input=VALUES,
        inspectionLevel="DEBUG",
        stateConfiguration={"retrierRetryCount": 5},
        mock={"errorOutput": MOCK_ERROR},
    )
    assert answer(response) == {
        "error": "MockException",
        "cause": "Mock the cause of the error.",
        "inspectionData": {
            "input": VALUES,
            "afterArguments": '{"FunctionName":"foo","Payload":"bar"}',
            "errorDetails": {"retryIndex": 0},
        },
        "status": "FAILED",
    }


# -- Map: a mocked result, the tolerated failure threshold, Catch and Retry -------------------


def _distributed_map(handlers: dict[str, Any]) -> dict[str, Any]:
    """Recorded: BASE_MAP_STATE_CATCH / BASE_MAP_STATE_RETRY (a lone Map state)."""
    return {
        "Type": "Map",
        "QueryLanguage": "JSONata",
        "Items": "{% $states.input.Values %}",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "TestState",
            "States": {
                "TestState": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:111111111111:function:hello",
                    "End": True,
                }
            },
        },
        **handlers,
        "ToleratedFailureCount": 1,
        "End": True,
    }


MAP_CATCH = _distributed_map(
    {
        "Catch": [
            {
                "ErrorEquals": ["MockException"],
                "Output": "{% $states %}",
                "Next": "HandleMockError",
            },
            {
                "ErrorEquals": ["States.ExceedToleratedFailureThreshold"],
                "Output": "{% $states.errorOutput %}",
                "Next": "HandleThreshold",
            },
        ]
    }
)
MAP_RETRY = _distributed_map(
    {
        "Retry": [
            {"ErrorEquals": ["MockException"], "MaxAttempts": 3},
            {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "MaxAttempts": 2},
        ]
    }
)


def test_a_mocked_map_below_its_threshold_succeeds_with_the_mock(sfn: Any) -> None:
    """Recorded: test_map_state_failure_count[TRACE-BASE_MAP_STATE_CATCH], below."""
    response = sfn.test_state(
        definition=definition(MAP_CATCH),
        input=VALUES,
        inspectionLevel="TRACE",
        stateConfiguration={"mapIterationFailureCount": 0},
        mock={"result": "[1, 1, 1]"},
    )
    assert answer(response) == {
        "output": "[1, 1, 1]",
        "inspectionData": {"input": VALUES, "maxConcurrency": 0, "toleratedFailureCount": 1},
        "status": "SUCCEEDED",
    }


def test_a_map_over_its_threshold_is_caught(sfn: Any) -> None:
    """Recorded: test_map_state_failure_count[TRACE-BASE_MAP_STATE_CATCH], exceeds (this
    Catch's Output is the error output, where the recording's was all of `$states`)."""
    response = sfn.test_state(
        definition=definition(MAP_CATCH),
        input=VALUES,
        inspectionLevel="TRACE",
        stateConfiguration={"mapIterationFailureCount": 2},
        mock={"result": "[0, 0, 1]"},
    )
    assert answer(response) == {
        "output": (
            '{"Error":"States.ExceedToleratedFailureThreshold",'
            '"Cause":"The specified tolerated failure threshold was exceeded"}'
        ),
        "error": "States.ExceedToleratedFailureThreshold",
        "cause": "The specified tolerated failure threshold was exceeded",
        "inspectionData": {
            "input": VALUES,
            "maxConcurrency": 0,
            "toleratedFailureCount": 1,
            "errorDetails": {"catchIndex": 1},
        },
        "nextState": "HandleThreshold",
        "status": "CAUGHT_ERROR",
    }


def test_a_map_over_its_threshold_with_a_retry_is_retriable(sfn: Any) -> None:
    """Recorded: test_map_state_failure_count[TRACE-BASE_MAP_STATE_RETRY], exceeds."""
    response = sfn.test_state(
        definition=definition(MAP_RETRY),
        input=VALUES,
        inspectionLevel="TRACE",
        stateConfiguration={"mapIterationFailureCount": 2},
        mock={"result": "[0, 0, 1]"},
    )
    assert answer(response) == {
        "error": "States.ExceedToleratedFailureThreshold",
        "cause": "The specified tolerated failure threshold was exceeded",
        "inspectionData": {
            "input": VALUES,
            "maxConcurrency": 0,
            "toleratedFailureCount": 1,
            "errorDetails": {"retryIndex": 1, "retryBackoffIntervalSeconds": 1},
        },
        "status": "RETRIABLE",
    }


def test_a_mocked_map_error_from_a_branch_state_fails(sfn: Any) -> None:
    """Recorded: test_map_state_error_caused_by_state[DEBUG] (BASE_MAP_STATE: no Catch)."""
    state = _distributed_map({})
    del state["ToleratedFailureCount"]
    response = sfn.test_state(
        definition=definition(state),
        input=json.dumps({"Values": [1, 1, 1]}),
        inspectionLevel="DEBUG",
        stateConfiguration={"errorCausedByState": "TestState"},
        mock={"errorOutput": MOCK_ERROR},
    )
    assert answer(response) == {
        "error": "MockException",
        "cause": "Mock the cause of the error.",
        "inspectionData": {"input": json.dumps({"Values": [1, 1, 1]}), "maxConcurrency": 0},
        "status": "FAILED",
    }


def test_a_jsonpath_map_shows_its_items_path(sfn: Any) -> None:
    """A JSONPath Map's DEBUG data: afterInputPath, afterItemsPath (rendered as AWS renders
    it: `["first", "second", "third"]`, recorded in test_state_machine_with_state_error)."""
    state = {
        "Type": "Map",
        "ItemsPath": "$.Values",
        "ItemProcessor": {
            "StartAt": "HandleItem",
            "States": {"HandleItem": {"Type": "Pass", "End": True}},
        },
        "ToleratedFailureCount": 2,
        "ResultPath": "$.handled",
        "Next": "Report",
    }
    response = sfn.test_state(
        definition=definition(state),
        input=VALUES,
        inspectionLevel="DEBUG",
        mock={"result": '["a", "b", "c"]'},
    )
    assert answer(response) == {
        "output": '{"Values":["first","second","third"],"handled":["a","b","c"]}',
        "inspectionData": {
            "input": VALUES,
            "afterInputPath": VALUES,  # unchanged: the text as sent, as `output` is
            "afterItemsPath": '["first", "second", "third"]',
            "afterResultPath": '{"Values":["first","second","third"],"handled":["a","b","c"]}',
            "maxConcurrency": 0,
            "toleratedFailureCount": 2,
        },
        "nextState": "Report",
        "status": "SUCCEEDED",
    }


def test_a_mocked_map_shows_its_item_selector(sfn: Any) -> None:
    state = {
        "Type": "Map",
        "ItemsPath": "$.Values",
        "ItemSelector": {"name.$": "$$.Map.Item.Value", "at.$": "$$.Map.Item.Index", "k.$": "$.k"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "MaxConcurrency": 2,
        "End": True,
    }
    response = sfn.test_state(
        definition=definition(state),
        input='{"Values": ["a", "b"], "k": 1}',
        inspectionLevel="DEBUG",
        mock={"result": "[]"},
    )
    inspection = answer(response)["inspectionData"]
    assert inspection["afterItemSelector"] == (
        '[{"name":"a","at":0,"k":1},{"name":"b","at":1,"k":1}]'
    )
    assert inspection["maxConcurrency"] == 2


def test_an_unmocked_map_runs_its_iterations(sfn: Any) -> None:
    state = {
        "Type": "Map",
        "ItemSelector": {"value.$": "$$.Map.Item.Value"},
        "ItemProcessor": {
            "StartAt": "Double",
            "States": {
                "Double": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:111111111111:function:double",
                    "End": True,
                }
            },
        },
        "End": True,
    }
    response = sfn.test_state(definition=definition(state), input="[1, 2, 3]")
    assert answer(response) == {
        "output": '[{"value":2},{"value":4},{"value":6}]',
        "status": "SUCCEEDED",
    }


# -- Task: a mocked result, a backend's result, a caught error --------------------------------


def test_a_mocked_task_result_through_its_selectors(sfn: Any) -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "double", "Payload.$": "$.order"},
        "ResultSelector": {"total.$": "$.Payload.total"},
        "ResultPath": "$.priced",
        "Next": "Ship",
    }
    response = sfn.test_state(
        definition=definition(state),
        input='{"order": {"id": 7}}',
        inspectionLevel="DEBUG",
        mock={"result": '{"StatusCode": 200, "Payload": {"total": 42}}'},
    )
    assert answer(response) == {
        "output": '{"order":{"id":7},"priced":{"total":42}}',
        "inspectionData": {
            "input": '{"order": {"id": 7}}',
            "afterInputPath": '{"order": {"id": 7}}',
            "afterParameters": '{"FunctionName":"double","Payload":{"id":7}}',
            "result": '{"StatusCode": 200, "Payload": {"total": 42}}',
            "afterResultSelector": '{"total":42}',
            "afterResultPath": '{"order":{"id":7},"priced":{"total":42}}',
        },
        "nextState": "Ship",
        "status": "SUCCEEDED",
    }


def test_an_unmocked_task_calls_the_configured_function(sfn: Any) -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:111111111111:function:double",
        "End": True,
    }
    response = sfn.test_state(
        definition=definition(state), input='{"value": 21}', inspectionLevel="DEBUG"
    )
    assert answer(response) == {
        "output": '{"value":42}',
        "inspectionData": {
            "input": '{"value": 21}',
            "afterInputPath": '{"value": 21}',
            "afterParameters": '{"value": 21}',
            "result": '{"value":42}',
            "afterResultSelector": '{"value":42}',
            "afterResultPath": '{"value":42}',
        },
        "status": "SUCCEEDED",
    }


def test_a_handlers_error_is_caught(sfn: Any) -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:111111111111:function:refuse",
        "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1}],
        "Catch": [
            {"ErrorEquals": ["States.Timeout"], "Next": "Later"},
            {"ErrorEquals": ["OrderRefused"], "ResultPath": "$.refusal", "Next": "Apologise"},
        ],
        "End": True,
    }
    response = answer(
        sfn.test_state(definition=definition(state), input='{"id": 1}', inspectionLevel="DEBUG")
    )
    refusal = json.loads(response.pop("output"))["refusal"]
    assert refusal["Error"] == "OrderRefused"
    assert json.loads(refusal["Cause"])["errorMessage"] == "out of stock"
    assert response["inspectionData"]["errorDetails"] == {"catchIndex": 1}
    assert (response["error"], response["nextState"], response["status"]) == (
        "OrderRefused",
        "Apologise",
        "CAUGHT_ERROR",
    )


def test_a_mocked_error_without_handler_fails(sfn: Any) -> None:
    state = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}
    response = sfn.test_state(
        definition=definition(state), mock={"errorOutput": {"error": "SQS.QueueDoesNotExist"}}
    )
    assert answer(response) == {"error": "SQS.QueueDoesNotExist", "status": "FAILED"}


def test_a_callback_task_runs_with_a_mock(sfn: Any) -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    response = sfn.test_state(definition=definition(state), mock={"result": '{"approved": true}'})
    assert answer(response) == {"output": '{"approved": true}', "status": "SUCCEEDED"}


# -- Pass, Wait, Succeed, Fail, Parallel ------------------------------------------------------


def test_wait_moves_on_without_waiting(sfn: Any) -> None:
    state = {"Type": "Wait", "Seconds": 86400, "Next": "Tomorrow"}
    response = sfn.test_state(definition=definition(state), input='{"day": 1}')
    assert answer(response) == {
        "output": '{"day": 1}',
        "nextState": "Tomorrow",
        "status": "SUCCEEDED",
    }


def test_succeed_ends_with_its_output(sfn: Any) -> None:
    state = {"Type": "Succeed", "OutputPath": "$.done"}
    response = sfn.test_state(definition=definition(state), input='{"done": [1]}')
    assert answer(response) == {"output": "[1]", "status": "SUCCEEDED"}


def test_fail_fails_with_its_error_and_cause(sfn: Any) -> None:
    state = {"Type": "Fail", "Error": "SomeFailure", "Cause": "This state raises a failure."}
    response = sfn.test_state(definition=definition(state))
    assert answer(response) == {
        "error": "SomeFailure",
        "cause": "This state raises a failure.",
        "status": "FAILED",
    }


def test_parallel_runs_its_branches(sfn: Any) -> None:
    state = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "One", "States": {"One": {"Type": "Pass", "Result": 1, "End": True}}},
            {
                "StartAt": "Later",
                "States": {
                    "Later": {"Type": "Wait", "Seconds": 3600, "Next": "Two"},
                    "Two": {"Type": "Pass", "Result": 2, "End": True},
                },
            },
        ],
        "Next": "Sum",
    }
    response = sfn.test_state(definition=definition(state), input="{}")
    assert answer(response) == {"output": "[1,2]", "nextState": "Sum", "status": "SUCCEEDED"}


def test_a_mocked_parallel_runs_no_branch(sfn: Any) -> None:
    state = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "Fails", "States": {"Fails": {"Type": "Fail", "Error": "Never"}}},
        ],
        "ResultSelector": {"first.$": "$[0]"},
        "End": True,
    }
    response = sfn.test_state(
        definition=definition(state), inspectionLevel="DEBUG", mock={"result": '["x"]'}
    )
    assert answer(response) == {
        "output": '{"first":"x"}',
        "inspectionData": {
            "input": "{}",
            "afterInputPath": "{}",
            "afterParameters": "{}",
            "afterResultSelector": '{"first":"x"}',
            "afterResultPath": '{"first":"x"}',
        },
        "status": "SUCCEEDED",
    }


def test_variables_in_and_out(sfn: Any) -> None:
    state = {
        "QueryLanguage": "JSONata",
        "Type": "Pass",
        "Assign": {"total": "{% $price * $states.input.count %}"},
        # Assign and Output both read the variables as they were on entry (AWS).
        "Output": "{% $price %}",
        "Next": "Bill",
    }
    response = sfn.test_state(
        definition=definition(state),
        input='{"count": 3}',
        variables='{"price": 5}',
        inspectionLevel="DEBUG",
    )
    assert answer(response) == {
        "output": "5",
        "inspectionData": {"input": '{"count": 3}', "variables": '{"price":5,"total":15}'},
        "nextState": "Bill",
        "status": "SUCCEEDED",
    }


def test_context_sets_the_execution(sfn: Any) -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload": {"id.$": "$$.Execution.Name"}},
        "ResultPath": None,
        "OutputPath": "$",
        "End": True,
    }
    response = sfn.test_state(
        definition=definition(state),
        input="{}",
        inspectionLevel="DEBUG",
        context='{"Execution": {"Name": "order-7"}}',
        mock={"result": "{}"},
    )
    inspection = answer(response)["inspectionData"]
    assert inspection["afterParameters"] == '{"FunctionName":"f","Payload":{"id":"order-7"}}'


# -- a state of a whole machine ---------------------------------------------------------------

MACHINE = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Result": "big", "End": True},
        "Small": {
            "Type": "Parallel",
            "Branches": [{"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": True}}}],
            "End": True,
        },
    },
}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("Check", {"output": '{"n": 11}', "nextState": "Big", "status": "SUCCEEDED"}),
        ("Big", {"output": '"big"', "status": "SUCCEEDED"}),
        ("Inner", {"output": '{"n": 11}', "status": "SUCCEEDED"}),
    ],
    ids=["top-level", "end", "in-a-branch"],
)
def test_state_name_picks_a_state_of_a_machine(
    sfn: Any, state: str, expected: dict[str, str]
) -> None:
    response = sfn.test_state(definition=json.dumps(MACHINE), stateName=state, input='{"n": 11}')
    assert answer(response) == expected


# -- refused requests -------------------------------------------------------------------------


def _error(sfn: Any, **request: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        sfn.test_state(**request)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def test_a_mock_on_a_pass_state_is_refused(sfn: Any) -> None:
    assert _error(sfn, definition='{"Type": "Pass", "End": true}', mock={"result": "1"}) == (
        "ValidationException",
        "A mock can only be specified for Task, Map, or Parallel states, not a Pass state.",
    )


def test_an_invalid_state_is_invalid_definition(sfn: Any) -> None:
    code, message = _error(sfn, definition='{"Type": "Pass", "Nxt": "A"}')
    assert code == "InvalidDefinition"
    assert message.startswith("Invalid State Machine Definition: ")


def test_context_needs_a_mock(sfn: Any) -> None:
    assert _error(sfn, definition='{"Type": "Pass", "End": true}', context="{}") == (
        "ValidationException",
        "The context field may only be specified if a mock is specified.",
    )


def test_an_unknown_state_name_is_refused(sfn: Any) -> None:
    assert _error(sfn, definition=json.dumps(MACHINE), stateName="Nope") == (
        "ValidationException",
        "The state 'Nope' is not in the state machine definition.",
    )


def test_a_callback_task_without_a_mock_is_refused(sfn: Any) -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "q", "MessageBody": "m"},
        "End": True,
    }
    code, message = _error(sfn, definition=definition(state))
    assert code == "ValidationException"
    assert message.endswith("runs it only with a mock (mock.result or mock.errorOutput).")


def test_bad_input_is_invalid_execution_input(sfn: Any) -> None:
    code, _ = _error(sfn, definition='{"Type": "Pass", "End": true}', input="{nope")
    assert code == "InvalidExecutionInput"
