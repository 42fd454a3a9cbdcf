"""The state machines every throughput benchmark runs, on our engine and on moto alike.

Owns: the four definitions (a Pass chain, an inline Map, a Choice loop, a Task chain), the input
each execution gets, the trivial Lambda handler, and how a transition is counted: one state
entered, as AWS bills Standard workflows (a `*StateEntered` history event; a Map's item states
count, the Map state itself counts once). Must never: time anything or import a runtime.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.values import JSON

REGION = "us-east-1"
ACCOUNT = "123456789012"
TASK_COUNT = 10
TASK_FUNCTIONS = tuple(f"bench_task_{i}" for i in range(TASK_COUNT))


@dataclass(frozen=True, slots=True)
class BenchMachine:
    """One benchmarked machine: its definition, its input and the transitions AWS would bill."""

    key: str
    title: str
    definition: dict[str, JSON]
    execution_input: JSON
    transitions: int
    target: int | None
    needs_lambda: bool = False


def echo(event: JSON, context: object) -> JSON:
    """The trivial Lambda handler of the Task chain: returns its event."""
    return event


def function_arn(name: str, *, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def pass_chain(length: int = 20) -> dict[str, JSON]:
    states: dict[str, JSON] = {}
    for i in range(length):
        states[f"Pass{i:02d}"] = (
            {"Type": "Pass", "Next": f"Pass{i + 1:02d}"}
            if i + 1 < length
            else {"Type": "Pass", "End": True}
        )
    return {"Comment": "bench: Pass chain", "StartAt": "Pass00", "States": states}


def inline_map() -> dict[str, JSON]:
    return {
        "Comment": "bench: inline Map over $.items",
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }


def choice_loop(iterations: int = 20) -> dict[str, JSON]:
    return {
        "Comment": "bench: counter loop (States.MathAdd in a Pass, Choice on NumericLessThan)",
        "StartAt": "Increment",
        "States": {
            "Increment": {
                "Type": "Pass",
                "Parameters": {"count.$": "States.MathAdd($.count, 1)"},
                "Next": "Loop",
            },
            "Loop": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.count", "NumericLessThan": iterations, "Next": "Increment"}
                ],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def task_chain(arns: Sequence[str]) -> dict[str, JSON]:
    names = [f"Task{i:02d}" for i, _ in enumerate(arns)]
    states: dict[str, JSON] = {}
    for i, arn in enumerate(arns):
        state: dict[str, JSON] = {"Type": "Task", "Resource": arn}
        if i + 1 < len(names):
            state["Next"] = names[i + 1]
        else:
            state["End"] = True
        states[names[i]] = state
    return {"Comment": "bench: Lambda Task chain", "StartAt": names[0], "States": states}


def bench_machines(*, account: str = ACCOUNT, region: str = REGION) -> tuple[BenchMachine, ...]:
    """The four machines, Task resources in `account`/`region` (moto wants its own account)."""
    arns = [function_arn(name, account=account, region=region) for name in TASK_FUNCTIONS]
    return (
        BenchMachine("pass_chain", "Pass chain, 20 states", pass_chain(), {"n": 1}, 20, 50_000),
        BenchMachine(
            "map",
            "Map, 100 items (inline, Pass)",
            inline_map(),
            {"items": list(range(100))},
            # the Map state entered once, then one Pass per item
            101,
            30_000,
        ),
        BenchMachine(
            "choice_loop",
            "Choice loop, 20 iterations",
            choice_loop(),
            {"count": 0},
            # 20 x (Increment, Loop), then Done
            41,
            None,
        ),
        BenchMachine(
            "task_chain",
            "Task chain, 10 Lambda Tasks",
            task_chain(arns),
            {"order": 7},
            TASK_COUNT,
            20_000,
            needs_lambda=True,
        ),
    )


def count_transitions(event_types: Iterable[str]) -> int:
    """States entered, from an execution's history event types (what AWS bills)."""
    return sum(1 for kind in event_types if kind.endswith("StateEntered"))
