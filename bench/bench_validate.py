"""Benchmark: in-process validation of a generated 50-state definition (target < 2 ms).

Owns: building a realistic definition (Tasks with Retry/Catch and templates, Choices, Waits,
a Parallel and a Map, JSONPath and intrinsics) and timing `iter_diagnostics` and
`validate_text` on it. Must never: touch the network or the disk. `bench_validate()` returns the
table rows that `python -m bench` prints.
"""

from __future__ import annotations

import json
import statistics
import time

from engine.definition.validate import is_valid, iter_diagnostics, validate_text
from engine.values import JSON

STATES = 50
RUNS = 300
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:work"


def _task(name: str, following: str) -> dict[str, JSON]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": LAMBDA,
            "Payload": {
                "order.$": "$.order",
                "id.$": "States.Format('{}-{}', $.id, $$.State.Name)",
            },
        },
        "ResultSelector": {"body.$": "$.Payload"},
        "ResultPath": f"$.results.{name}",
        "TimeoutSeconds": 30,
        "Retry": [
            {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "BackoffRate": 2},
            {"ErrorEquals": ["States.ALL"], "MaxAttempts": 3, "JitterStrategy": "FULL"},
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed", "ResultPath": "$.error"}],
        "Next": following,
    }


def make_definition(states: int = STATES) -> dict[str, JSON]:
    """A valid definition with `states` states in total, of every type."""
    body: dict[str, JSON] = {}
    # Decide, Fanout (+2 branch states), Each (+1 processor state), Failed, Done: 8 states.
    names = [f"Step{i:02d}" for i in range(states - 8)]
    for i, name in enumerate(names):
        following = names[i + 1] if i + 1 < len(names) else "Decide"
        if i % 5 == 4:
            body[name] = {"Type": "Wait", "SecondsPath": "$.delay", "Next": following}
        elif i % 7 == 6:
            body[name] = {
                "Type": "Pass",
                "Parameters": {"count.$": "States.ArrayLength($.items)"},
                "ResultPath": "$.meta",
                "Next": following,
            }
        else:
            body[name] = _task(name, following)
    body["Decide"] = {
        "Type": "Choice",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.total", "NumericGreaterThan": 100},
                    {"Variable": "$.status", "StringEquals": "OPEN"},
                ],
                "Next": "Fanout",
            },
            {"Variable": "$.flag", "IsPresent": True, "Next": "Each"},
        ],
        "Default": "Done",
    }
    body["Fanout"] = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "BranchA", "States": {"BranchA": {"Type": "Pass", "End": True}}},
            {
                "StartAt": "BranchB",
                "States": {"BranchB": {"Type": "Task", "Resource": LAMBDA, "End": True}},
            },
        ],
        "ResultPath": "$.fanout",
        "Next": "Each",
    }
    body["Each"] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "MaxConcurrency": 5,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Item",
            "States": {"Item": {"Type": "Task", "Resource": LAMBDA, "End": True}},
        },
        "Next": "Done",
    }
    body["Failed"] = {"Type": "Fail", "Error": "Failed", "CausePath": "$.error.Cause"}
    body["Done"] = {"Type": "Succeed"}
    start = names[0]
    return {"Comment": "bench", "StartAt": start, "States": body}


def _count_states(graph: JSON) -> int:
    if not isinstance(graph, dict) or not isinstance(graph.get("States"), dict):
        return 0
    total = 0
    for state in graph["States"].values():  # type: ignore[union-attr]
        total += 1
        if isinstance(state, dict):
            for branch in state.get("Branches", []) or []:
                total += _count_states(branch)
            total += _count_states(state.get("ItemProcessor"))
    return total


def _median_ms(func: object, runs: int) -> float:
    assert callable(func)
    func()  # warm the caches: the figure is the steady state a server sees
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bench_validate() -> list[tuple[str, str]]:
    """Rows: (what, figure) for in-process validation of a 50-state definition."""
    definition = make_definition()
    text = json.dumps(definition)
    diagnostics = list(iter_diagnostics(definition))
    assert is_valid(diagnostics), diagnostics
    walk = _median_ms(lambda: list(iter_diagnostics(definition)), RUNS)
    full = _median_ms(lambda: validate_text(text), RUNS)
    states = _count_states(definition)
    return [
        (f"validate: iter_diagnostics, {states} states (median of {RUNS})", f"{walk:.3f} ms"),
        (f"validate: validate_text (parse + walk), {len(text)} bytes", f"{full:.3f} ms"),
        ("validate: target", "< 2 ms"),
    ]


if __name__ == "__main__":
    for row in bench_validate():
        print(f"{row[0]:<60} {row[1]}")
