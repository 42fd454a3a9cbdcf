"""ASL errors as data: the `Failure` value and AWS's rules for matching error names.

Owns: `Failure(error, cause)`, the ErrorEquals matching rules (States.ALL, States.TaskFailed),
which errors no Retry or Catch may handle, and AWS's cause prefix for errors raised while a state
runs. Must never: raise for an ASL error (an ASL error is a value; see STYLE.md).
"""

from __future__ import annotations

from engine.errors import (
    STATES_ALL,
    STATES_HEARTBEAT_TIMEOUT,
    STATES_RUNTIME,
    STATES_TASK_FAILED,
    STATES_TIMEOUT,
)
from engine.values import immutable


@immutable
class Failure:
    """An error name and cause, as a state fails with it (`States.*`, a task's, a Fail state's)."""

    error: str
    cause: str | None = None

    def as_error_output(self) -> dict[str, str | None]:
        """The value a Catch hands on: {"Error": ..., "Cause": ...} (Cause omitted when None)."""
        out: dict[str, str | None] = {"Error": self.error}
        if self.cause is not None:
            out["Cause"] = self.cause
        return out


# States.Runtime is not retriable and a Catch on it (even by name) does not catch it: AWS docs,
# "Error handling in Step Functions"; recorded case test_base_scenarios/test_catch_states_runtime.
_UNCATCHABLE = frozenset({STATES_RUNTIME})
_TIMEOUTS = frozenset({STATES_TIMEOUT, STATES_HEARTBEAT_TIMEOUT})


def error_matches(error_equals: tuple[str, ...], error: str, *, task_error: bool = True) -> bool:
    """Whether a Retrier/Catcher with `error_equals` handles `error`.

    States.ALL matches every error except the uncatchable ones; States.TaskFailed matches any
    error a task raised except States.Timeout (ASL spec, "Error names").
    """
    if error in _UNCATCHABLE:
        return False
    for name in error_equals:
        if name in (error, STATES_ALL):
            return True
        # AWS: "States.TaskFailed ... acts as a wildcard that matches any known error name
        # except for States.Timeout" (developer guide, "Error names"); a heartbeat timeout is
        # a States.Timeout too ("failed to send a heartbeat for a period longer than
        # HeartbeatSeconds"), so it is excluded as well and matched by States.Timeout.
        if name == STATES_TASK_FAILED and task_error and error not in _TIMEOUTS:
            return True
        if name == STATES_TIMEOUT and error == STATES_HEARTBEAT_TIMEOUT:
            return True
    return False


def in_state_cause(state_name: str, entered_event_id: int, detail: str) -> str:
    """AWS's wording for an error raised while a state runs (e.g. a path that fails)."""
    return (
        f"An error occurred while executing the state '{state_name}' "
        f"(entered at the event id #{entered_event_id}). {detail}"
    )
