"""`asl map-run list|describe|update`: a Distributed Map started with `asl start` (its items
run as child executions in the store), its Map Run listed and described in text and --json;
exit 2 with one line for an unknown execution or Map Run, or an update of a closed run."""

from __future__ import annotations

import json

from tests.cli.harness import ACCOUNT, Cli, assert_one_asl_line

FAN = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "Label": "Doubles",
            "MaxConcurrency": 2,
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Double",
                "States": {
                    "Double": {
                        "Type": "Pass",
                        "Parameters": {"n.$": "States.MathAdd($, $)"},
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}


def test_list_describe_and_update_a_map_run(cli: Cli) -> None:
    machine = cli.write("fan.asl.json", FAN)
    started = cli("start", machine, "--name", "p", "--input", '{"items": [1, 2, 3]}', "--json")
    assert started.code == 0, started
    assert started.json()["output"] == [{"n": 2}, {"n": 4}, {"n": 6}]
    execution = f"{ACCOUNT}:execution:fan:p"

    listed = cli("map-run", "list", execution, "--json")
    assert listed.code == 0, listed
    runs = listed.json()["mapRuns"]
    assert len(runs) == 1
    run = runs[0]["mapRunArn"]
    assert run.startswith(f"{ACCOUNT}:mapRun:fan/Doubles:")
    assert runs[0]["stateMachineArn"] == f"{ACCOUNT}:stateMachine:fan/Doubles"

    described = cli("map-run", "describe", run, "--json")
    assert described.code == 0, described
    shape = described.json()
    assert (shape["status"], shape["maxConcurrency"], shape["executionArn"]) == (
        "SUCCEEDED",
        2,
        execution,
    )
    assert shape["itemCounts"]["succeeded"] == shape["itemCounts"]["total"] == 3

    text = cli("map-run", "describe", run)
    assert text.code == 0
    assert text.out.splitlines()[2:] == [
        "status       SUCCEEDED",
        "concurrency  2",
        "tolerated    0 failures, 0%",
        "items        3 total, 0 pending, 0 running, 3 succeeded, 0 failed, 0 timedOut, "
        "0 aborted, 3 resultsWritten",
        "executions   3 total, 0 pending, 0 running, 3 succeeded, 0 failed, 0 timedOut, "
        "0 aborted, 3 resultsWritten",
    ]

    children = cli("list", "--machine", "fan", "--json")
    assert children.code == 0
    # the children belong to the Map Run's machine (fan/Doubles), not to fan
    assert [e["executionArn"] for e in children.json()["executions"]] == [execution]

    closed = cli("map-run", "update", run, "--max-concurrency", "5")
    assert assert_one_asl_line(closed) == (
        f"asl: ValidationException: Map Run '{run}' is SUCCEEDED, not RUNNING\n"
    )
    nothing = cli("map-run", "update", run)
    assert "give --max-concurrency" in assert_one_asl_line(nothing)
    missing_arn = f"{ACCOUNT}:mapRun:fan/Doubles:nope"
    missing = cli("map-run", "describe", missing_arn)
    assert assert_one_asl_line(missing) == (
        f"asl: ResourceNotFound: Resource not found: '{missing_arn}'\n"
    )
    assert json.loads(cli("map-run", "list", execution, "--json").out)["mapRuns"] == runs
