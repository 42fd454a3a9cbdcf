"""BackendRegistry: exact ARNs, `*` patterns, precedence, and the unconfigured-resource failure."""

from __future__ import annotations

import asyncio

import pytest

from engine.backends.base import Backend, BackendResolver
from engine.backends.registry import (
    INVALID_BACKEND_MAPPING,
    LAMBDA_PATTERNS,
    BackendRegistry,
    functions_registry,
    unconfigured_resource_failure,
)
from engine.errors import InvalidRequest
from engine.interpreter.tasks import TaskRequest, TaskResult, TaskSuccess

FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:"


class Named:
    """A backend that answers with its own name, so tests can see which one resolved."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def invoke(self, request: TaskRequest) -> TaskResult:
        return TaskSuccess(self.name)


def name_of(backend: Backend | None) -> str | None:
    return backend.name if isinstance(backend, Named) else None


@pytest.fixture
def registry() -> BackendRegistry:
    registry = BackendRegistry()
    registry.register_lambda(Named("python"))
    registry.register(FUNCTION + "special", Named("special"))
    registry.register("arn:aws:lambda:*:*:function:billing-*", Named("billing"))
    registry.register("arn:aws:states:::sqs:*", Named("sqs-any"))
    registry.register("arn:aws:states:::sqs:send*", Named("sqs-send"))
    registry.register("arn:aws:states:::sns:*", Named("sns-first"))
    registry.register("arn:aws:states:::s*:pu*", Named("publish-tie"))  # 21 literal chars
    return registry


RESOLUTIONS = [
    ("function ARN", FUNCTION + "id_function", "python"),
    ("qualified function ARN", FUNCTION + "id_function:prod", "python"),
    ("other region and account", "arn:aws:lambda:eu-west-1:222222222222:function:f", "python"),
    ("lambda:invoke", "arn:aws:states:::lambda:invoke", "python"),
    ("exact beats patterns", FUNCTION + "special", "special"),
    ("more specific pattern wins", FUNCTION + "billing-run", "billing"),
    ("longer literal wins", "arn:aws:states:::sqs:sendMessage", "sqs-send"),
    ("shorter pattern still serves the rest", "arn:aws:states:::sqs:deleteMessage", "sqs-any"),
    ("equal specificity: first registered", "arn:aws:states:::sns:publish", "sns-first"),
    ("the callback form too", "arn:aws:states:::lambda:invoke.waitForTaskToken", "python"),
    ("unconfigured", "arn:aws:states:::dynamodb:putItem", None),
    ("patterns match whole ARNs only", "xarn:aws:lambda:us-east-1:1:function:f", None),
]


@pytest.mark.parametrize(
    ("resource", "expected"),
    [case[1:] for case in RESOLUTIONS],
    ids=[case[0] for case in RESOLUTIONS],
)
def test_resolve(registry: BackendRegistry, resource: str, expected: str | None) -> None:
    assert name_of(registry.resolve(resource)) == expected
    assert name_of(registry.resolve(resource)) == expected  # cached answer is the same


def test_registry_is_a_backend_resolver(registry: BackendRegistry) -> None:
    resolver: BackendResolver = registry.resolve
    backend = resolver(FUNCTION + "f")
    assert backend is not None
    assert asyncio.run(backend.invoke(TaskRequest(FUNCTION + "f", {}, "e", "s"))) == TaskSuccess(
        "python"
    )
    assert registry(FUNCTION + "f") is backend


def test_registering_clears_cached_answers() -> None:
    registry = BackendRegistry()
    assert registry.resolve("arn:aws:states:::sqs:sendMessage") is None
    registry.register("arn:aws:states:::sqs:*", Named("sqs"))
    assert name_of(registry.resolve("arn:aws:states:::sqs:sendMessage")) == "sqs"


def test_resources_lists_mappings_in_resolution_order(registry: BackendRegistry) -> None:
    assert registry.resources == [
        FUNCTION + "special",
        "arn:aws:lambda:*:*:function:billing-*",
        "arn:aws:states:::lambda:invoke*",
        "arn:aws:states:::sqs:send*",
        "arn:aws:states:::sqs:*",
        "arn:aws:states:::sns:*",
        "arn:aws:states:::s*:pu*",
        "arn:aws:lambda:*",
    ]
    assert LAMBDA_PATTERNS == ("arn:aws:lambda:*", "arn:aws:states:::lambda:invoke*")


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            FUNCTION + "special",
            f"Resource '{FUNCTION}special' is mapped twice; keep one mapping for it.",
        ),
        (
            "arn:aws:states:::sqs:*",
            "Resource 'arn:aws:states:::sqs:*' is mapped twice; keep one mapping for it.",
        ),
        ("", "A backend mapping needs a resource ARN."),
    ],
    ids=["exact", "pattern", "empty"],
)
def test_bad_mappings_are_refused(registry: BackendRegistry, resource: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        registry.register(resource, Named("again"))
    assert caught.value.code == INVALID_BACKEND_MAPPING
    assert caught.value.message == message


UNCONFIGURED = [
    (
        "function ARN",
        FUNCTION + "charge_card:prod",
        f"No backend serves resource '{FUNCTION}charge_card:prod'. Define the function "
        "'charge_card': pass --functions FILE.py defining it, or add [functions.charge_card] "
        "with a handler, command or url to asl.toml.",
    ),
    (
        "lambda:invoke",
        "arn:aws:states:::lambda:invoke",
        "No backend serves resource 'arn:aws:states:::lambda:invoke'. Define the function its "
        "FunctionName names: pass --functions FILE.py defining it, or add [functions.NAME] "
        "with a handler, command or url to asl.toml.",
    ),
    (
        "other service",
        "arn:aws:states:::sqs:sendMessage",
        "No backend serves resource 'arn:aws:states:::sqs:sendMessage'. Map it to a function "
        'in asl.toml ([resources] "arn:aws:states:::sqs:sendMessage" = "NAME", with '
        "[functions.NAME] defining it), or mock this state with a mock config (--mock-config "
        "FILE or SFN_MOCK_CONFIG). Or call an AWS endpoint (LocalStack, moto's server): set [aws] "
        "endpoint_url in asl.toml or AWS_ENDPOINT_URL (docs/integrations.md).",
    ),
]


@pytest.mark.parametrize(
    ("resource", "cause"),
    [case[1:] for case in UNCONFIGURED],
    ids=[case[0] for case in UNCONFIGURED],
)
def test_unconfigured_resource_failure(resource: str, cause: str) -> None:
    failure = unconfigured_resource_failure(resource)
    assert failure.error == "States.Runtime"
    assert failure.cause == cause


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (FUNCTION + "special", "special"),  # a given backend by exact ARN wins
        (FUNCTION + "any", "functions"),
        (FUNCTION + "any:live", "functions"),
        ("arn:aws:states:::lambda:invoke", "functions"),
        ("arn:aws:states:::lambda:invoke.waitForTaskToken", "functions"),
        ("arn:aws:states:::sqs:sendMessage", None),
        ("arn:aws:states:::dynamodb:putItem", None),
    ],
)
def test_functions_registry(resource: str, expected: str | None) -> None:
    registry = functions_registry({FUNCTION + "special": Named("special")}, Named("functions"))
    assert name_of(registry.resolve(resource)) == expected


@pytest.mark.timeout(10)
def test_a_many_star_pattern_matches_a_long_resource_in_linear_time() -> None:
    """Issue 13: patterns were backtracking regexes; a three-star pattern against a resource of
    a few thousand characters took seconds (the cube of its length) on the event loop."""
    registry = BackendRegistry()
    registry.register("arn:aws:lambda:*:*:function:*x", Named("x"))
    long_miss = "arn:aws:lambda:" + ":" * 20_000 + "function:" * 2_000
    assert registry.resolve(long_miss) is None
    assert name_of(registry.resolve("arn:aws:lambda:us:1:function:" + "a" * 20_000 + "x")) == "x"
