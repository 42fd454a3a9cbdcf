"""Nested executions down every path: a parent whose `states:startExecution` Tasks start child
machines must end the same way on each (Engine, the Service on each store, `asl run
--machine-file`, `asl start` attached and detached, `asl serve` through boto3, a worker killed at
a quiet commit and resumed), as outcome.py compares them.

The cases are written by hand, one per behaviour: each pattern, a child's Retry, a failed child
caught as States.TaskFailed, children in a Parallel and a Map, a child's Wait on virtual time, a
Task timeout that stops its child. A child's ARN (its name is a UUID on every path) and dates
are not compared: the Tasks keep what is the same everywhere (ResultSelector), and outcome.py
takes UUIDs out of texts.
"""

from __future__ import annotations

import itertools
import json
import os

import pytest

from engine.values import JSON
from tests.differential.outcome import disagreement, well_formed
from tests.differential.paths import Case, CrashPath, EnginePath, Path_, ServicePath
from tests.differential.tally import tally

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
_children = itertools.count()


def child_name() -> str:
    return f"kid{next(_children)}-{os.getpid()}"


def machine_arn(name: str) -> str:
    return f"arn:aws:states:us-east-1:111111111111:stateMachine:{name}"


def task(function: str, **fields: JSON) -> dict[str, JSON]:
    return {
        "Type": "Task",
        "Resource": LAMBDA + function,
        "Parameters": {
            "value.$": "$.value",
            "plan.$": "$.plan",
            "attempt.$": "$$.State.RetryCount",
        },
        **fields,
    }


# Works (a planned Lambda, retried on Transient), waits 10 minutes, then says what it got.
WORKING_CHILD: JSON = {
    "StartAt": "Work",
    "States": {
        "Work": task(
            "gen_plan",
            Retry=[{"ErrorEquals": ["Transient"], "IntervalSeconds": 5, "MaxAttempts": 3}],
            ResultPath="$.work",
            Next="Nap",
        ),
        "Nap": {"Type": "Wait", "Seconds": 600, "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"work.$": "$.work"}, "End": True},
    },
}
FAILING_CHILD: JSON = {
    "StartAt": "Boom",
    "States": {"Boom": {"Type": "Fail", "Error": "Boom", "Cause": "the child failed"}},
}
SLOW_CHILD: JSON = {
    "StartAt": "Nap",
    "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}},
}
# What a .sync Task keeps of the child's description: all but its ARN and dates.
KEEP_SYNC: JSON = {
    "Status.$": "$.Status",
    "Input.$": "$.Input",
    "Output.$": "$.Output",
    "RedriveStatus.$": "$.RedriveStatus",
}


def nest(suffix: str, child: str, **fields: JSON) -> dict[str, JSON]:
    state: dict[str, JSON] = {
        "Type": "Task",
        "Resource": f"arn:aws:states:::states:startExecution{suffix}",
        "Parameters": {
            "StateMachineArn": machine_arn(child),
            "Input": {"value.$": "$.value", "plan.$": "$.plan"},
        },
        **fields,
    }
    if suffix in (".sync", ".sync:2") and "ResultSelector" not in fields:
        state["ResultSelector"] = KEEP_SYNC
    return state


def case(name: str, parent: dict[str, JSON], children: dict[str, JSON], value: JSON) -> Case:
    del name  # the case's id, for reading
    return Case(
        json.dumps(parent),
        {"value": value, "plan": ["Transient", "ok"]},
        children=tuple((child, json.dumps(text)) for child, text in children.items()),
    )


def cases() -> list[tuple[str, Case]]:
    made: list[tuple[str, Case]] = []
    for suffix in (".sync", ".sync:2"):
        kid = child_name()
        made.append(
            (
                f"working{suffix}",
                case(
                    suffix,
                    {"StartAt": "N", "States": {"N": nest(suffix, kid, End=True)}},
                    {kid: WORKING_CHILD},
                    3,
                ),
            )
        )
    kid = child_name()
    made.append(
        (
            "request-response",
            case(
                "rr",
                {
                    "StartAt": "N",
                    "States": {
                        "N": nest("", kid, ResultSelector={"started.$": "$.ExecutionArn"}, End=True)
                    },
                },
                {kid: WORKING_CHILD},
                1,
            ),
        )
    )
    kid = child_name()
    caught = nest(
        ".sync:2",
        kid,
        Catch=[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}],
        End=True,
    )
    made.append(
        (
            "failed-child-caught",
            case(
                "caught",
                {
                    "StartAt": "N",
                    "States": {
                        "N": caught,
                        "Caught": {"Type": "Pass", "OutputPath": "$.error.Error", "End": True},
                    },
                },
                {kid: FAILING_CHILD},
                2,
            ),
        )
    )
    kids = [child_name(), child_name()]
    made.append(
        (
            "parallel-children",
            case(
                "parallel",
                {
                    "StartAt": "P",
                    "States": {
                        "P": {
                            "Type": "Parallel",
                            "Branches": [
                                {
                                    "StartAt": f"N{i}",
                                    "States": {f"N{i}": nest(".sync", k, End=True)},
                                }
                                for i, k in enumerate(kids)
                            ],
                            "End": True,
                        }
                    },
                },
                {kids[0]: WORKING_CHILD, kids[1]: WORKING_CHILD},
                5,
            ),
        )
    )
    kid = child_name()
    made.append(
        (
            "map-of-children",
            case(
                "map",
                {
                    "StartAt": "M",
                    "States": {
                        "M": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "MaxConcurrency": 2,
                            "ItemSelector": {"value.$": "$$.Map.Item.Value", "plan": ["ok"]},
                            "ItemProcessor": {
                                "StartAt": "N",
                                "States": {"N": nest(".sync:2", kid, End=True)},
                            },
                            "End": True,
                        }
                    },
                },
                {kid: WORKING_CHILD},
                None,
            ),
        )
    )
    made[-1] = (made[-1][0], _with_items(made[-1][1], [1, 2, 3]))
    kid = child_name()
    made.append(
        (
            "task-timeout-stops-child",
            case(
                "timeout",
                {
                    "StartAt": "N",
                    "States": {
                        "N": nest(
                            ".sync",
                            kid,
                            TimeoutSeconds=60,
                            Catch=[{"ErrorEquals": ["States.Timeout"], "Next": "Late"}],
                            End=True,
                        ),
                        "Late": {"Type": "Pass", "Result": "late", "End": True},
                    },
                },
                {kid: SLOW_CHILD},
                0,
            ),
        )
    )
    return made


def _with_items(given: Case, items: list[int]) -> Case:
    assert isinstance(given.input, dict)
    return Case(given.definition, {**given.input, "items": items}, children=given.children)


CASES = cases()


def check(paths: list[Path_], engine_path: EnginePath) -> None:
    named = [c for _, c in CASES]
    expected = engine_path.run_all(named)
    for (name, _), outcome in zip(CASES, expected, strict=True):
        assert well_formed(outcome) is None, f"engine, {name}: {well_formed(outcome)}"
    failures = []
    for path in paths:
        for (name, _), want, got in zip(CASES, expected, path.run_all(named), strict=True):
            differs = disagreement(want, got)
            if differs is not None:
                failures.append(f"{path.name}, {name}: {differs}")
    assert not failures, "paths disagree with the in-process engine:\n" + "\n".join(failures)


def synced(value: int, attempt: int, plan: list[str], *, as_json: bool) -> dict[str, JSON]:
    """What KEEP_SYNC keeps of a WORKING_CHILD that got `value` and `plan`."""
    given: JSON = {"value": value, "plan": list(plan)}
    made: JSON = {"work": {"fn": "gen_plan", "attempt": attempt, "value": value}}
    return {
        "Status": "SUCCEEDED",
        "Input": given if as_json else json.dumps(given, separators=(",", ":")),
        "Output": made if as_json else json.dumps(made, separators=(",", ":")),
        "RedriveStatus": "NOT_REDRIVABLE",
    }


def test_the_engine_gets_what_each_case_is_for(engine_path: EnginePath) -> None:
    """The reference itself: the outcomes the cases were written for."""
    names = [name for name, _ in CASES]
    outcomes = dict(zip(names, engine_path.run_all([c for _, c in CASES]), strict=True))
    retried = ["Transient", "ok"]  # the child's Work fails once, then its Retry succeeds
    assert {name: (o.status, o.output) for name, o in outcomes.items()} == {
        "working.sync": ("SUCCEEDED", synced(3, 1, retried, as_json=False)),
        "working.sync:2": ("SUCCEEDED", synced(3, 1, retried, as_json=True)),
        "request-response": ("SUCCEEDED", outcomes["request-response"].output),
        "failed-child-caught": ("SUCCEEDED", "States.TaskFailed"),
        "parallel-children": ("SUCCEEDED", [synced(5, 1, retried, as_json=False)] * 2),
        "map-of-children": (
            "SUCCEEDED",
            [synced(n, 0, ["ok"], as_json=True) for n in (1, 2, 3)],
        ),
        "task-timeout-stops-child": ("SUCCEEDED", "late"),
    }
    started = outcomes["request-response"].output
    assert isinstance(started, dict)
    assert str(started["started"]).startswith("arn:aws:states:us-east-1:111111111111:execution:kid")


def test_nested_executions_agree_on_the_service(
    engine_path: EnginePath, service_paths: list[ServicePath]
) -> None:
    check(list(service_paths), engine_path)
    for _ in CASES:
        tally("nested-in-process")


@pytest.mark.slow
def test_nested_executions_agree_on_every_path(
    engine_path: EnginePath, service_paths: list[ServicePath], process_paths: list[Path_]
) -> None:
    crashes = [p for p in process_paths if isinstance(p, CrashPath)]
    for path in crashes:
        path.crash_at = 2  # after the second quiet commit: parents wait on running children
    before = sum(p.crashed for p in crashes)
    check([*service_paths, *process_paths], engine_path)
    for _ in CASES:
        tally("nested-every-path")
    tally("crashes", crashed=sum(p.crashed for p in crashes) - before)
    assert sum(p.crashed for p in crashes) > before, "the worker was not killed mid-run"
