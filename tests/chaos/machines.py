"""The few machines a chaos run starts, over and over: Pass chains, Tasks, a real Wait, a
Parallel and a Map, Retry (on a handler's error and on a lost task) and a task token.

Every Task calls a handler of tests/chaos/handlers.py with its execution's name, its state's
name, its retry count and its Map item, so the ledger tells apart every attempt of every state
entry. `RETRIED` names the Task states whose Retry covers `States.TaskFailed` (the explicit
opt-in to invoking a lost task again); every other Task must be invoked at most once per entry.
Waits and back-offs are real seconds: the workers of a chaos run share one store on real time
(see run.py).
"""

from __future__ import annotations

import json
from typing import Final

from engine.values import JSON

LAMBDA: Final = "arn:aws:lambda:us-east-1:111111111111:function:"


def task(function: str, *, item: str | None = None, **rest: JSON) -> dict[str, JSON]:
    """A Task calling `function` with what identifies one attempt of one state entry."""
    parameters: dict[str, JSON] = {
        "execution.$": "$$.Execution.Name",
        "state.$": "$$.State.Name",
        "attempt.$": "$$.State.RetryCount",
    }
    if item is None:
        parameters["item"] = None
    else:
        parameters["item.$"] = item
    return {"Type": "Task", "Resource": LAMBDA + function, "Parameters": parameters, **rest}


RETRY_LOST: Final[JSON] = [
    {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 3}
]

CHAIN: Final[JSON] = {
    "StartAt": "Begin",
    "States": {
        "Begin": {"Type": "Pass", "Result": {"step": 1}, "Next": "Reserve"},
        "Reserve": task("work", Next="Middle"),
        "Middle": {"Type": "Pass", "Result": {"step": 2}, "Next": "Charge"},
        "Charge": task("work", Next="Done"),
        "Done": {"Type": "Succeed"},
    },
}

WAIT: Final[JSON] = {
    "StartAt": "Before",
    "States": {
        "Before": task("work", Next="Pause"),
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "After"},
        "After": task("work", End=True),
    },
}

FANOUT: Final[JSON] = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": task("work", End=True)}},
                {
                    "StartAt": "Right",
                    "States": {
                        "Right": task("work", Next="RightDone"),
                        "RightDone": {"Type": "Pass", "End": True},
                    },
                },
            ],
            "ResultPath": None,
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemSelector": {"index.$": "$$.Map.Item.Index"},
            "ItemProcessor": {
                "StartAt": "Item",
                "States": {"Item": task("work", item="$.index", End=True)},
            },
            "End": True,
        },
    },
}

RETRY: Final[JSON] = {
    "StartAt": "Flaky",
    "States": {
        "Flaky": task(
            "flaky",
            Retry=[{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 2}],
            Next="Again",
        ),
        "Again": task("work", Retry=RETRY_LOST, End=True),
    },
}

# A task token handed over (recorded by `submit`), answered by the run with SendTaskSuccess.
CALLBACK: Final[JSON] = {
    "StartAt": "Hold",
    "States": {
        "Hold": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": LAMBDA + "submit",
                "Payload": {
                    "execution.$": "$$.Execution.Name",
                    "state.$": "$$.State.Name",
                    "attempt.$": "$$.State.RetryCount",
                    "item": None,
                    "token.$": "$$.Task.Token",
                },
            },
            "End": True,
        }
    },
}

MACHINES: Final[dict[str, JSON]] = {
    "chain": CHAIN,
    "wait": WAIT,
    "fanout": FANOUT,
    "retry": RETRY,
    "callback": CALLBACK,
}
INPUTS: Final[dict[str, JSON]] = {
    "chain": {},
    "wait": {},
    "fanout": {"items": [0, 1, 2]},
    "retry": {},
    "callback": {},
}
# Task states whose Retry covers a lost task: invoking them again (a new attempt) is allowed.
RETRIED: Final = frozenset({"Flaky", "Again"})
TASK_STATES: Final[dict[str, frozenset[str]]] = {
    "chain": frozenset({"Reserve", "Charge"}),
    "wait": frozenset({"Before", "After"}),
    "fanout": frozenset({"Left", "Right", "Item"}),
    "retry": frozenset({"Flaky", "Again"}),
    "callback": frozenset({"Hold"}),
}


def definition_text(name: str) -> str:
    return json.dumps(MACHINES[name])
