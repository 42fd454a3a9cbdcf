"""Which backend serves a Task's `Resource`: the registry of ARN mappings.

Owns: `BackendRegistry` (exact ARNs and `*` patterns mapped to backends, resolved with a cache),
the patterns the Lambda integrations answer to, and the failure a Task gets when nothing serves
its resource. Must never: build a backend from anything but operator configuration. The registry
is filled by the operator's CLI flags (`--functions FILE.py`) and config file only; an API client
(or a workflow definition) can name a resource but can never add a mapping, so it can never make
the server import a module or run a command the operator did not configure.

Resolution: an exact ARN wins; otherwise the most specific matching pattern (most literal
characters), ties going to the one registered first; otherwise the fallback resolver, if any
(the AWS backend: an endpoint serves what no mapping does). `*` matches any run of characters,
including `:` (so `arn:aws:lambda:*:*:function:*` also matches qualified function ARNs).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from engine.backends.base import Backend, BackendResolver
from engine.backends.lambda_arn import (
    LAMBDA_INVOKE,
    LAMBDA_INVOKE_WAIT_FOR_TASK_TOKEN,
    parse_function_arn,
)
from engine.definition import validate_http
from engine.errors import STATES_RUNTIME, InvalidRequest
from engine.interpreter.tasks import TaskFailure

LAMBDA_PATTERNS: Final = ("arn:aws:lambda:*", "arn:aws:states:::lambda:invoke*")
"""What the Lambda backend serves: every Lambda ARN and every `lambda:invoke` integration,
`.waitForTaskToken` included."""

HTTP_INVOKE: Final = validate_http.HTTP_INVOKE
"""The HTTP Task's resource (engine/backends/http_task.py), served unless a mapping serves it."""

INVALID_BACKEND_MAPPING: Final = "InvalidBackendMapping"
"""`InvalidRequest.code` for a mapping the registry refuses (empty, duplicate)."""

_CACHE_LIMIT = 4096  # resources are literal in definitions; this only bounds a pathological run


@dataclass(frozen=True, slots=True)
class _Pattern:
    text: str
    regex: str  # what `text` matches, as a regular expression for RE2's fullmatch
    literal_length: int
    backend: Backend


@functools.cache
def _fullmatch(regex: str) -> Callable[[str], object]:
    """RE2's fullmatch of `regex`, compiled when a resource is first resolved against it: the
    Lambda patterns are registered on every start, and most runs of `asl run` resolve nothing,
    so they never load google-re2 (start-up time, bench/README.md section 3)."""
    import re2

    return re2.compile(regex).fullmatch  # type: ignore[no-any-return]


class BackendRegistry:
    """Maps Resource ARNs to backends; `resolve` is a `BackendResolver`."""

    def __init__(self, fallback: BackendResolver | None = None) -> None:
        self._exact: dict[str, Backend] = {}
        self._patterns: list[_Pattern] = []
        self._cache: dict[str, Backend | None] = {}
        self._fallback = fallback

    def register(self, resource: str, backend: Backend) -> None:
        """Serve `resource` (an exact ARN, or a pattern with `*`) with `backend`.

        Raises `InvalidRequest` (code `InvalidBackendMapping`) for an empty resource or one
        already mapped: two config entries for the same ARN are an operator mistake to report,
        not to resolve silently.
        """
        if not resource:
            raise InvalidRequest(INVALID_BACKEND_MAPPING, "A backend mapping needs a resource ARN.")
        if resource in self._exact or any(p.text == resource for p in self._patterns):
            raise InvalidRequest(
                INVALID_BACKEND_MAPPING,
                f"Resource '{resource}' is mapped twice; keep one mapping for it.",
            )
        if "*" in resource:
            # RE2, linear time: Python's backtracking `.*` costs the cube of the resource's
            # length for a three-star pattern, and resources come from definitions.
            regex = ".*".join(re.escape(part) for part in resource.split("*"))
            literal = len(resource) - resource.count("*")
            self._patterns.append(_Pattern(resource, regex, literal, backend))
            # Stable sort: among equally specific patterns the first registered stays first.
            self._patterns.sort(key=lambda p: -p.literal_length)
        else:
            self._exact[resource] = backend
        self._cache.clear()

    def replace(self, resource: str, backend: Backend) -> None:
        """Serve the exact `resource`, already mapped, with `backend` instead (a service
        putting its store in front of an internal resource: engine/service/map_runs.py)."""
        if resource not in self._exact:
            raise InvalidRequest(INVALID_BACKEND_MAPPING, f"Resource '{resource}' is not mapped.")
        self._exact[resource] = backend
        self._cache.clear()

    def register_lambda(self, backend: Backend) -> None:
        """Serve every Lambda ARN and every `lambda:invoke` integration (`.waitForTaskToken`
        included) with `backend`: `LAMBDA_PATTERNS`."""
        for pattern in LAMBDA_PATTERNS:
            self.register(pattern, backend)

    def resolve(self, resource: str) -> Backend | None:
        """The backend serving `resource`, or None when nothing is configured for it."""
        try:
            return self._cache[resource]
        except KeyError:
            pass
        backend = self._exact.get(resource)
        if backend is None:
            for pattern in self._patterns:
                if _fullmatch(pattern.regex)(resource):
                    backend = pattern.backend
                    break
        if backend is None and self._fallback is not None:
            backend = self._fallback(resource)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[resource] = backend
        return backend

    __call__ = resolve

    @property
    def resources(self) -> list[str]:
        """Every mapped ARN and pattern, exact ones first, as resolution tries them."""
        return [*self._exact, *(p.text for p in self._patterns)]


def functions_registry(
    backends: Mapping[str, Backend],
    functions: Backend,
    fallback: BackendResolver | None = None,
) -> BackendRegistry:
    """The registry of an embedded Engine or a Service: the given backends by ARN (exact ones
    win), then `functions` (the Lambda backend) for `LAMBDA_PATTERNS`, then `fallback`."""
    registry = BackendRegistry(fallback)
    for resource, backend in backends.items():
        registry.register(resource, backend)
    registry.register_lambda(functions)
    return registry


def _calls_aws(resource: str) -> bool:
    """Whether the AWS backend would serve `resource` once an endpoint is configured."""
    if not resource.startswith("arn:aws:states:::"):
        return False
    from engine.backends.aws_sdk import AwsBackend  # light: botocore loads on the first call

    return AwsBackend.supported(resource)


def unconfigured_resource_failure(resource: str) -> TaskFailure:
    """The failure of a Task whose resource no backend serves: what is missing, how to fix it.

    The error is `States.Runtime`, not `States.TaskFailed` or a Lambda error: a missing mapping
    is the operator's configuration problem, not the workflow's. States.Runtime is terminal on
    AWS (neither Retry nor a `States.ALL` Catch handles it; recorded:
    test_base_scenarios/test_catch_states_runtime), so the execution fails at once with this
    message instead of retrying for minutes or being caught and reported as a success.
    """
    function = parse_function_arn(resource)
    if function is not None:
        how = (
            f"Define the function '{function.name}': pass --functions FILE.py defining it, or "
            f"add [functions.{function.name}] with a handler, command or url to asl.toml."
        )
    elif resource in (LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT_FOR_TASK_TOKEN):
        how = (
            "Define the function its FunctionName names: pass --functions FILE.py defining it, "
            "or add [functions.NAME] with a handler, command or url to asl.toml."
        )
    else:
        how = (
            f'Map it to a function in asl.toml ([resources] "{resource}" = "NAME", with '
            "[functions.NAME] defining it), or mock this state with a mock config "
            "(--mock-config FILE or SFN_MOCK_CONFIG)."
        )
        if _calls_aws(resource):
            how += (
                " Or call an AWS endpoint (LocalStack, moto's server): set [aws] endpoint_url "
                "in asl.toml or AWS_ENDPOINT_URL (docs/integrations.md)."
            )
    return TaskFailure(STATES_RUNTIME, f"No backend serves resource '{resource}'. {how}")
