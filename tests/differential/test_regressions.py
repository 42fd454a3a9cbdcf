"""Disagreements the differential runs found, kept as cases every path must agree on.

Each case is the smallest machine that showed the disagreement, with where it was found. They
run through every path like the generated machines (test_paths_agree.py), so the fixed bug
stays fixed on each of them.
"""

from __future__ import annotations

import json

import pytest

from tests.differential.outcome import disagreement, well_formed
from tests.differential.paths import Case, EnginePath, Path_, ServicePath

REGRESSIONS: dict[str, tuple[Case, str]] = {
    # make fuzz: a Wait until a generated Timestamp (2023) outlasted the machine's TimeoutSeconds
    # in process, whose virtual clock started in 2023, but not in `asl run`, whose clock starts
    # at the wall time (FAILED vs TIMED_OUT). Every path's virtual clock starts at the wall time.
    "timestamp-wait-and-machine-timeout": (
        Case(
            json.dumps(
                {
                    "TimeoutSeconds": 86400,
                    "StartAt": "W",
                    "States": {
                        "W": {"Type": "Wait", "Timestamp": "2023-11-17T22:13:19Z", "Next": "F"},
                        "F": {"Type": "Fail", "Error": "E", "Cause": "c"},
                    },
                }
            ),
            {},
            "EXPRESS",
        ),
        "FAILED",
    ),
    # issue 12: the interpreter crashed (KeyError 'root/0.b1') when an early branch failed and a
    # Catch let the execution go on; under asl serve it stayed RUNNING for ever.
    "early-branch-failure-caught": (
        Case(
            json.dumps(
                {
                    "StartAt": "P",
                    "States": {
                        "P": {
                            "Type": "Parallel",
                            "Branches": [
                                {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}},
                                {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
                            ],
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
                            "End": True,
                        },
                        "C": {"Type": "Pass", "End": True},
                    },
                }
            ),
            {"n": 1},
        ),
        "SUCCEEDED",
    ),
    # make fuzz (seed 1796220729): a cause quoting a lambda:invoke result (a ResultSelector path
    # missing from it) holds the call's request id, trace id and Date, which Lambda makes anew
    # for every call, on AWS as here: the comparison now leaves them out.
    "cause-quoting-an-invoke-result": (
        Case(
            json.dumps(
                {
                    "StartAt": "T",
                    "States": {
                        "T": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "gen_plan", "Payload": {"v.$": "$.n"}},
                            "ResultSelector": {"Payload.$": "$.nothing"},
                            "End": True,
                        }
                    },
                }
            ),
            {"n": 0, "plan": ["ok"]},
        ),
        "FAILED",
    ),
    # test_distributed_paths.py: a Distributed Map inside a Parallel branch failed on every
    # durable path (States.Runtime, "Definition revision ...#/States/P/Branches/0/States/M/
    # ItemProcessor not found"): its children's definition is cut out of the parent's at
    # that JSON pointer, and the cut did not step through the Branches list.
    "distributed-map-in-a-parallel-branch": (
        Case(
            json.dumps(
                {
                    "StartAt": "P",
                    "States": {
                        "P": {
                            "Type": "Parallel",
                            "Branches": [
                                {
                                    "StartAt": "M",
                                    "States": {
                                        "M": {
                                            "Type": "Map",
                                            "ItemsPath": "$.items",
                                            "ItemProcessor": {
                                                "ProcessorConfig": {
                                                    "Mode": "DISTRIBUTED",
                                                    "ExecutionType": "STANDARD",
                                                },
                                                "StartAt": "D",
                                                "States": {"D": {"Type": "Pass", "End": True}},
                                            },
                                            "End": True,
                                        }
                                    },
                                }
                            ],
                            "End": True,
                        }
                    },
                }
            ),
            {"items": [1, 2]},
        ),
        "SUCCEEDED",
    ),
    # test_distributed_paths.py: a Distributed Map in a Distributed Map's processor failed on
    # every durable path (its children's revision, PARENT#POINTER#POINTER, was read as one
    # pointer: "Definition revision ...#/States/O/ItemProcessor#/States/M/ItemProcessor not
    # found"). Each `#` now starts the next level's pointer (a `#` in a state name is `~2`).
    "distributed-map-in-a-distributed-map": (
        Case(
            json.dumps(
                {
                    "StartAt": "O",
                    "States": {
                        "O": {
                            "Type": "Map",
                            "ItemsPath": "$.groups",
                            "ItemProcessor": {
                                "ProcessorConfig": {
                                    "Mode": "DISTRIBUTED",
                                    "ExecutionType": "STANDARD",
                                },
                                "StartAt": "M#1",
                                "States": {
                                    "M#1": {
                                        "Type": "Map",
                                        "ItemProcessor": {
                                            "ProcessorConfig": {
                                                "Mode": "DISTRIBUTED",
                                                "ExecutionType": "EXPRESS",
                                            },
                                            "StartAt": "D",
                                            "States": {"D": {"Type": "Pass", "End": True}},
                                        },
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                }
            ),
            {"groups": [[1, 2], [3]]},
        ),
        "SUCCEEDED",
    ),
    # make fuzz --seed 3: an Express parent's Distributed Map waited forever on every durable
    # path (the Service, asl start, worker, serve): its items were started as child
    # executions from steps an Express parent never commits. They now run in it, as the
    # in-process engine and `asl run` run them.
    "distributed-map-in-an-express-parent": (
        Case(
            json.dumps(
                {
                    "StartAt": "M",
                    "States": {
                        "M": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "ItemProcessor": {
                                "ProcessorConfig": {
                                    "Mode": "DISTRIBUTED",
                                    "ExecutionType": "EXPRESS",
                                },
                                "StartAt": "F",
                                "States": {
                                    "F": {"Type": "Fail", "Error": "Permanent", "Cause": "c"}
                                },
                            },
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                            "End": True,
                        },
                        "Caught": {"Type": "Pass", "End": True},
                    },
                }
            ),
            {"items": [1, 2, 3]},
            "EXPRESS",
        ),
        "SUCCEEDED",
    ),
}


@pytest.mark.parametrize(("case", "status"), list(REGRESSIONS.values()), ids=list(REGRESSIONS))
def test_every_path_agrees_on_a_found_disagreement(
    case: Case,
    status: str,
    engine_path: EnginePath,
    service_paths: list[ServicePath],
    process_paths: list[Path_],
) -> None:
    [expected] = engine_path.run_all([case])
    assert well_formed(expected) is None
    assert expected.status == status
    for path in [*service_paths, *process_paths]:
        [outcome] = path.run_all([case])
        assert disagreement(expected, outcome) is None, path.name
