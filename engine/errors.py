"""The engine's error tree and the names of the errors ASL defines.

Owns: every exception class the engine raises across a public boundary, each with an AWS-style
`code`, and the predefined `States.*` error names (spelled once, here). Must never: import from
other engine modules.

    EngineError                      base; `code` is the AWS error type name
    ├── DefinitionInvalid            InvalidDefinition: carries every diagnostic
    ├── ResourceNotFound             StateMachineDoesNotExist, ExecutionDoesNotExist, ...
    ├── ResourceConflict             ExecutionAlreadyExists, ...
    └── InvalidRequest               ValidationException, InvalidExecutionInput, ...

    StatesError                      an ASL runtime error raised while *evaluating* an
                                     expression (path, template, intrinsic, JSONata). It never
                                     escapes the interpreter: the state boundary turns it into a
                                     `Failure(error, cause)` value that Retry/Catch then see.

    TaskError                        raised by a *Python handler* (user code, not the engine) to
                                     fail its Task with exactly this error name and cause, e.g.
                                     `DynamoDB.ConditionalCheckFailedException`; the Python
                                     runner turns it into the Task's failure as it stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.definition.diagnostics import Diagnostic

# Predefined ASL error names (States Language spec, "Errors"; AWS developer guide, "Error
# names"). Spelled here once; every other module imports the constant.
STATES_ALL = "States.ALL"
STATES_BRANCH_FAILED = "States.BranchFailed"
STATES_DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
STATES_HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
# An HTTP Task (arn:aws:states:::http:invoke) that got no response: the developer guide's error
# list ("Error names") says States.Http.Socket "occurs when an HTTP task times out after 60
# seconds"; docs/http-task.md says which other socket failures the engine reports with it.
STATES_HTTP_SOCKET = "States.Http.Socket"
STATES_HTTP_STATUS_CODE_PREFIX = "States.Http.StatusCode."
STATES_INTRINSIC_FAILURE = "States.IntrinsicFailure"
STATES_ITEM_READER_FAILED = "States.ItemReaderFailed"
STATES_NO_CHOICE_MATCHED = "States.NoChoiceMatched"
STATES_PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
STATES_PERMISSIONS = "States.Permissions"
STATES_QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
STATES_RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
STATES_RESULT_WRITER_FAILED = "States.ResultWriterFailed"
STATES_RUNTIME = "States.Runtime"
STATES_TASK_FAILED = "States.TaskFailed"
STATES_TIMEOUT = "States.Timeout"


class EngineError(Exception):
    """Base of every error the engine raises to its callers."""

    code = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DefinitionInvalid(EngineError):
    """A state machine definition has errors; `diagnostics` lists every one of them."""

    code = "InvalidDefinition"

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        summary = f"{first.location or '/'}: {first.code}: {first.message}" if first else ""
        more = len(self.diagnostics) - 1
        suffix = f" (and {more} more)" if more > 0 else ""
        super().__init__(f"Invalid State Machine Definition: {summary}{suffix}")


class ResourceNotFound(EngineError):
    """A named resource (machine, execution, activity, token) does not exist."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ResourceConflict(EngineError):
    """The request conflicts with an existing resource (e.g. ExecutionAlreadyExists)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class InvalidRequest(EngineError):
    """The request itself is malformed (bad name, bad input, bad parameter)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StatesError(Exception):
    """An ASL runtime error raised by expression evaluation; see the module docstring."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class ExpressionSyntaxError(ValueError):
    """A path, payload template, intrinsic call or JSONata expression is malformed.

    Raised at compile time only (parse/validate), never while an execution runs. `message` says
    what is wrong and how to fix it; `position` is the 0-based offset into the expression text
    when known.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class TaskError(Exception):
    """Raise it in a Python handler to fail the Task with exactly `error` and `cause`.

    An ordinary exception fails a Lambda Task as the AWS Lambda Python runtime reports it: the
    error is the exception's class name and the cause is Lambda's error envelope
    (`{"errorMessage", "errorType", "requestId", "stackTrace"}`). A handler standing in for a
    service (a `[resources]` mapping in asl.toml) needs the service's own failure instead,
    whose name is dotted and which no Python class name can spell:

        from engine.errors import TaskError

        def put_item(event, context):
            raise TaskError(
                "DynamoDB.ConditionalCheckFailedException",
                "The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; "
                "Error Code: ConditionalCheckFailedException; Request ID: ...; Proxy: null)",
            )

    The Task then fails with that error (what a Retry or Catch `ErrorEquals` matches) and that
    cause, verbatim, whatever resource the handler serves. Importing this module loads nothing
    else of the engine.
    """

    def __init__(self, error: str, cause: str | None = None) -> None:
        if not isinstance(error, str) or not error:
            raise ValueError("TaskError needs an error name, e.g. 'MyService.SomethingFailed'")
        if cause is not None and not isinstance(cause, str):
            raise TypeError(
                f"TaskError's cause must be a string or None, not {type(cause).__name__}"
            )
        super().__init__(error if cause is None else f"{error}: {cause}")
        self.error = error
        self.cause = cause
