"""Mocked Task invocations: answering a Task from a mock config, else from the real backends.

Owns: `MockedBackends`, a `BackendResolver` placed in front of the engine's registry. For a
Task of an execution started with a test case (StartExecution on `<machine ARN>#<test case>`),
it looks up (state machine name, test case, state name) in the `MockConfig`; a mocked state gets
the response of its invocation number, and every other state goes to the backend the registry
resolves, exactly as without a mock config (AWS's HybridPath). It also holds the invocation
counters and fails, with a message saying what to do, a Task whose Resource or FunctionName is
an unsubstituted template placeholder (`${CheckFunctionArn}`) and that no mock answers.
Must never: decide Retry, Catch or the data flow (the interpreter applies ResultSelector,
ResultPath, Retry and Catch to a mocked result as to any other), or keep counters of closed
executions (`forget` is the runtime's `on_closed` hook).

Counting (Step Functions Local's, see docs/mock-configs.md): one counter per state name per
execution, from 0, shared by retries, loops back into the state, Map iterations and Parallel
branches; inner states count under their own names. Counters live in this process: an
execution resumed by another worker counts again from 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from engine.backends.base import Backend, BackendResolver
from engine.backends.registry import unconfigured_resource_failure
from engine.errors import STATES_RUNTIME, InvalidRequest
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult

if TYPE_CHECKING:
    from engine.backends.mocks import MockConfig  # loaded with a mock config (load_mock_config)

LAMBDA_INVOKE_PREFIX: Final = "arn:aws:states:::lambda:invoke"

_PLACEHOLDER = re.compile(r"\$\{[^${}\s]+\}")


def placeholder_in(text: str) -> str | None:
    """The first complete `${Name}` template placeholder in `text`, or None."""
    if "${" not in text:
        return None
    match = _PLACEHOLDER.search(text)
    return match.group(0) if match is not None else None


def unresolved_placeholder(request: TaskRequest) -> tuple[str, str] | None:
    """(field, placeholder) when the Task names its target with an unsubstituted placeholder:
    the Resource itself, or the FunctionName of `lambda:invoke`."""
    found = placeholder_in(request.resource)
    if found is not None:
        return "Resource", found
    if request.resource.startswith(LAMBDA_INVOKE_PREFIX) and isinstance(request.payload, dict):
        function = request.payload.get("FunctionName")
        if isinstance(function, str):
            found = placeholder_in(function)
            if found is not None:
                return "FunctionName", found
    return None


def machine_name_of(execution_arn: str) -> str:
    """`arn:aws:states:R:A:execution:MACHINE:NAME` (or `express:`) -> MACHINE."""
    parts = execution_arn.split(":")
    return parts[6] if len(parts) > 6 else ""


class _Routed:
    """The backend `MockedBackends.resolve` hands the runtime: routes each request."""

    __slots__ = ("_inner", "_router")

    def __init__(self, router: MockedBackends, inner: Backend | None) -> None:
        self._router = router
        self._inner = inner

    async def invoke(self, request: TaskRequest) -> TaskResult:
        return await self._router.route(request, self._inner)


class MockedBackends:
    """A resolver: mocked responses first, then `resolver` (the registry) for the rest.

    `on_unconfigured` builds the failure of a non-mocked Task nothing serves: by default the
    registry's, which the runtime also uses, so a message does not depend on whether a mock
    config is loaded (pass the runtime's own if it was given another).
    """

    def __init__(
        self,
        config: MockConfig | None,
        resolver: BackendResolver,
        on_unconfigured: Callable[[str], TaskFailure] = unconfigured_resource_failure,
    ) -> None:
        self.config = config
        self._resolver = resolver
        self._on_unconfigured = on_unconfigured
        self._counts: dict[str, dict[str, int]] = {}

    def resolve(self, resource: str) -> Backend | None:
        inner = self._resolver(resource)
        if (
            self.config is None
            and "${" not in resource
            and not resource.startswith(LAMBDA_INVOKE_PREFIX)
        ):
            return inner  # nothing to mock and no placeholder possible: no detour
        return _Routed(self, inner)

    __call__ = resolve

    def forget(self, execution_arn: str) -> None:
        """Drop an execution's counters (it closed)."""
        self._counts.pop(execution_arn, None)

    def invocations(self, execution_arn: str) -> dict[str, int]:
        """How many times each mocked state of a running execution was invoked so far."""
        return dict(self._counts.get(execution_arn, {}))

    async def route(self, request: TaskRequest, inner: Backend | None) -> TaskResult:
        if request.test_case is not None and self.config is not None:
            machine = machine_name_of(request.execution_arn)
            name = self.config.response_name(machine, request.test_case, request.state_name)
            if name is not None:
                return self._mocked(request, machine, name)
        placeholder = unresolved_placeholder(request)
        if placeholder is not None:
            return placeholder_failure(request.state_name, *placeholder)
        if inner is None:
            return self._on_unconfigured(request.resource)
        return await inner.invoke(request)

    def _mocked(self, request: TaskRequest, machine: str, name: str) -> TaskResult:
        assert self.config is not None
        counts = self._counts.setdefault(request.execution_arn, {})
        invocation = counts.get(request.state_name, 0)
        counts[request.state_name] = invocation + 1
        result = self.config.response(name, invocation)
        if result is not None:
            return result
        # AWS: "If you do not specify a mocked response for a specific retry attempt ... the
        # state machine execution will fail." States.Runtime is terminal: no Retry or Catch.
        last = self.config.last_invocation(name)
        return TaskFailure(
            STATES_RUNTIME,
            f"No mocked response for invocation {invocation} of state '{request.state_name}': "
            f"mocked response '{name}' (test case '{request.test_case}' of state machine "
            f"'{machine}' in {self.config.origin}) covers invocations 0-{last}. Add a response "
            f"for '{invocation}' to mock every invocation.",
        )


def placeholder_failure(state: str, field: str, placeholder: str) -> TaskFailure:
    """The failure of a Task whose target is an unsubstituted `${...}` template placeholder."""
    return TaskFailure(
        STATES_RUNTIME,
        f"The {field} of state '{state}' is the unsubstituted template placeholder "
        f"'{placeholder}' (SAM/CloudFormation DefinitionSubstitutions). Substitute it with a "
        "real ARN or name, or mock the state: pass --mock-config FILE and start the execution "
        "with a test case that mocks it.",
    )


def check_test_case(config: MockConfig | None, machine: str, test_case: str, arn: str) -> None:
    """Raise `InvalidRequest` (InvalidArn) unless the config defines `test_case` for the state
    machine named `machine`; `arn` is the ARN as given (with its `#` suffix), for the message.

    Step Functions Local reads the test case from a `#` suffix of the state machine ARN; AWS
    itself has no such suffix and rejects the ARN, so a suffix nothing can serve is InvalidArn.
    """
    if config is None:
        raise InvalidRequest(
            "InvalidArn",
            f"Invalid Arn: '{arn}': the test case '{test_case}' needs a mock config; start the "
            "engine with --mock-config FILE (or SFN_MOCK_CONFIG=FILE)",
        )
    known = config.test_case_names(machine)
    if test_case not in known:
        listed = ", ".join(f"'{name}'" for name in known) if known else "none"
        raise InvalidRequest(
            "InvalidArn",
            f"Invalid Arn: '{arn}': test case '{test_case}' is not defined for state machine "
            f"'{machine}' in {config.origin} (its test cases: {listed})",
        )
