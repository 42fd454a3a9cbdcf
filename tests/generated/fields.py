"""Fields several state types share: payload templates, ResultPath, OutputPath, Assign, Retry
and Catch.

Owns: how a generated state's data-flow and error-handling fields are drawn, each as a
function of the `Builder` (builder.py) and the graph being built. Must never: break the data
shape a graph promises, except through `Builder.disruptive()`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from engine.values import JSON
from tests.generated import expressions as ex
from tests.generated.expressions import HANDLER_ERRORS, JSONATA, MATCHABLE, Body

if TYPE_CHECKING:
    from tests.generated.builder import Builder, Graph


def template(
    b: Builder, shape: ex.Shape, variables: Mapping[str, str], size: int | None = None
) -> Body:
    """A JSONPath payload template: literals and `.$` keys over the shape."""
    count = size if size is not None else b.integer(1, 3)
    template: Body = {}
    for index in range(count):
        if b.flip(3):
            template[f"k{index}"] = b.draw(ex.literals)
        else:
            source = b.draw(ex.jsonpath_sources(shape, variables))
            if source.startswith("States."):
                b.features.add("intrinsic")
            template[f"k{index}.$"] = source
    if size is None and b.flip(4):
        template["nested"] = {"x.$": b.draw(ex.jsonpath_sources(shape, variables))}
    return template


def result_path(b: Builder) -> Body:
    """ResultPath: usually into `$.res`, so the input's keys stay for later states."""
    choice = b.pick(["$.res", "$.res.deep", "null", "absent"])
    if choice == "null":
        return {"ResultPath": None}
    if choice == "absent":
        return {} if b.disruptive() else {"ResultPath": "$.res"}
    b.features.add("ResultPath")
    return {"ResultPath": choice}


def output_path(b: Builder) -> Body:
    if b.flip(6):
        return {"OutputPath": "$"}
    if b.disruptive():
        return {"OutputPath": "$.res"}
    return {}


def jsonpath_assign(
    b: Builder, ctx: Graph, reads: ex.Shape, result: str | None = None
) -> Body | None:
    """Assign for a JSONPath state; `reads` is the shape of `$` there (result: "task" or
    "array" for a Task's or a Parallel/Map's result)."""
    if not ctx.variables or not b.flip(3):
        return None
    b.features.add("Assign")
    assign: Body = {}
    names = list(ctx.variables)
    # dict.fromkeys: unique and in draw order (a set's order changes with the hash seed).
    for name in dict.fromkeys(b.pick(names) for _ in range(b.integer(1, 2))):
        if ctx.variables[name] == ex.INT:
            options = [f"States.MathAdd(${name}, 1)", "literal"]
            options += ex.paths(reads, ex.INT)
            if result == "array":
                options.append("States.ArrayLength($)")
        else:
            options = ["$", "$$.State.Name", "literal"]
        source = b.pick(options)
        if source == "literal":
            value = b.integer(0, 3) if ctx.variables[name] == ex.INT else None
            assign[name] = value if value is not None else b.draw(ex.literals)
        else:
            assign[f"{name}.$"] = source
    return assign


def jsonata_assign(b: Builder, ctx: Graph, data: str) -> Body | None:
    """Assign for a JSONata state; `data` is what it reads ($states.input or .result)."""
    if not ctx.variables or not b.flip(3):
        return None
    b.features.add("Assign")
    assign: Body = {}
    for name in dict.fromkeys(b.pick(list(ctx.variables)) for _ in range(b.integer(1, 2))):
        if ctx.variables[name] == ex.INT:
            options = [f"${name} + 1", "$count([1, 2])"]
            if data == "$states.input":
                options += ex.jsonata_paths(ctx.shape, ex.INT)
        else:
            options = [data, "$states.context.State.Name"]
        assign[name] = f"{{% {b.pick(options)} %}}"
    return assign


def retriers(b: Builder, *, container: bool = False) -> list[JSON]:
    retriers: list[JSON] = []
    count = b.integer(0, 2)
    for index in range(count):
        retrier: Body = {
            "ErrorEquals": error_equals(b, last=index == count - 1, container=container)
        }
        if b.flip(2):
            retrier["IntervalSeconds"] = b.integer(1, 4)
        if b.flip(3):
            retrier["MaxAttempts"] = b.integer(0, 3)
        else:
            retrier["MaxAttempts"] = b.integer(0, 2)
        if b.flip(2):
            retrier["BackoffRate"] = b.draw(st.sampled_from([1.0, 1.5, 2.0, 3]))
        if b.flip(3):
            retrier["MaxDelaySeconds"] = b.integer(1, 5)
            b.features.add("Retry.MaxDelaySeconds")
        if b.flip(2):
            jitter = b.pick(["NONE", "FULL"])
            retrier["JitterStrategy"] = jitter
            b.features.add(f"Retry.Jitter.{jitter}")
        retriers.append(retrier)
        b.features.add("Retry")
    return retriers


def error_equals(b: Builder, *, last: bool, container: bool = False) -> list[JSON]:
    """ErrorEquals: half the time the handlers' own errors (so retries and catches happen),
    else States.TaskFailed, States.Timeout or other names; States.ALL only alone and last.

    With known bug 2 avoided, a Parallel's or Map's (`container`) never lists
    States.TaskFailed: the States.* errors of its branches would meet it.
    """
    if last and b.flip(3):
        b.features.add("ErrorEquals.States.ALL")
        return ["States.ALL"]
    pool: tuple[str, ...] = HANDLER_ERRORS if b.flip(2) else MATCHABLE
    if container and 2 in b.options.avoid_known_bugs:
        pool = tuple(name for name in pool if name != "States.TaskFailed")
    names = b.draw(_error_lists(pool))
    for name in names:
        if name.startswith("States."):
            b.features.add(f"ErrorEquals.{name}")
    return list(names)


@functools.cache
def _error_lists(pool: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True)


def catchers(
    b: Builder, ctx: Graph, language: str, later: list[str], *, container: bool = False
) -> list[JSON]:
    if not later:
        return []
    catchers: list[JSON] = []
    count = b.integer(0, 2)
    for index in range(count):
        catcher: Body = {
            "ErrorEquals": error_equals(b, last=index == count - 1, container=container),
            "Next": b.pick(later),
        }
        if language == JSONATA:
            # Without Output a catcher hands on the error output alone: the shape is lost.
            if not b.disruptive():
                catcher["Output"] = "{% $merge([$states.input, {'err': $states.errorOutput}]) %}"
            assign = jsonata_assign(b, ctx, "$states.errorOutput")
        else:
            choice = b.pick(["$.err", "$.err.last", "null", "$"])
            if choice == "$" and not b.disruptive():
                choice = "$.err"
            catcher["ResultPath"] = None if choice == "null" else choice
            assign = jsonpath_assign(b, ctx, {})
        if assign:
            catcher["Assign"] = assign
        catchers.append(catcher)
        b.features.add("Catch")
    return catchers
