"""Metrics of an embedded engine after known workloads, read back with Prometheus' parser.

The workloads run on a virtual clock, so every time (ExecutionTime, LambdaFunction*Time) is
exact: a Wait of 5 seconds makes an execution last 5 seconds.
"""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from engine.embedded import Engine
from engine.runtime.clock import VirtualClock

T0 = 1_700_000_000.0
FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:"


def ok(event: object, context: object) -> object:
    return {"ok": True}


def boom(event: object, context: object) -> object:
    raise ValueError("no")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


WAIT = {
    "StartAt": "Pause",
    "States": {
        "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}
# A task in flight lets the virtual clock follow real time (runtime/loop.py), so the exact
# ExecutionTime above comes from a machine without one.
CALLS = {
    "StartAt": "Call",
    "States": {"Call": {"Type": "Task", "Resource": FUNCTION + "ok", "End": True}},
}
FAILS = {
    "StartAt": "Call",
    "States": {"Call": {"Type": "Task", "Resource": FUNCTION + "boom", "End": True}},
}
TIMES_OUT = {
    "StartAt": "Long",
    "TimeoutSeconds": 60,
    "States": {"Long": {"Type": "Wait", "Seconds": 3600, "End": True}},
}


def run_workload() -> str:
    async def main() -> str:
        engine = Engine(functions={"ok": ok, "boom": boom}, clock=VirtualClock(T0), seed=1)
        metrics = engine.enable_metrics()
        try:
            good = engine.load(WAIT, name="good")
            calls = engine.load(CALLS, name="calls")
            bad = engine.load(FAILS, name="bad")
            slow = engine.load(TIMES_OUT, name="slow")
            results = await engine.run_many(good, [{}, {}, {}])
            results += await engine.run_many(calls, [{}, {}, {}])
            results.append(await engine.run(bad, {}))
            results.append(await engine.run(slow, {}))
            stopped = engine.start(slow, {})
            await asyncio.sleep(0)
            engine.runtime.stop(stopped, "Why", "asked")
            results.append(await engine.result(stopped))
            assert [r.status for r in results] == [
                *["SUCCEEDED"] * 6,
                "FAILED",
                "TIMED_OUT",
                "ABORTED",
            ]
            body, content_type = metrics.exposition()
            assert content_type.startswith("text/plain; version=0.0.4")
            return body.decode()
        finally:
            await engine.aclose()

    return asyncio.run(main())


def test_execution_and_lambda_metrics_count_a_known_workload_exactly() -> None:
    got = samples(run_workload())
    machine = "arn:aws:states:us-east-1:111111111111:stateMachine:"
    good, bad, slow = ((("state_machine_arn", machine + n),) for n in ("good", "bad", "slow"))
    assert got[("asl_executions_started_total", good)] == 3
    assert got[("asl_executions_succeeded_total", good)] == 3
    assert got[("asl_execution_time_seconds_count", good)] == 3
    assert got[("asl_execution_time_seconds_sum", good)] == 15.0  # three 5 s Waits
    assert got[("asl_executions_failed_total", bad)] == 1
    assert got[("asl_executions_started_total", slow)] == 2
    assert got[("asl_executions_timed_out_total", slow)] == 1
    assert got[("asl_executions_aborted_total", slow)] == 1
    assert ("asl_executions_succeeded_total", slow) not in got
    assert got[("asl_state_transitions_total", good)] == 6  # Pause and Done, three times
    ok_arn = (("lambda_function_arn", FUNCTION + "ok"),)
    boom_arn = (("lambda_function_arn", FUNCTION + "boom"),)
    assert got[("asl_lambda_functions_scheduled_total", ok_arn)] == 3
    assert got[("asl_lambda_functions_started_total", ok_arn)] == 3
    assert got[("asl_lambda_functions_succeeded_total", ok_arn)] == 3
    assert got[("asl_lambda_functions_failed_total", boom_arn)] == 1
    assert got[("asl_lambda_function_time_seconds_count", ok_arn)] == 3
    assert got[("asl_lambda_function_run_time_seconds_count", boom_arn)] == 1
    assert got[("asl_lambda_function_schedule_time_seconds_sum", ok_arn)] == 0.0
    assert got[("asl_lambda_invocations_total", (("function_name", "ok"),))] == 3
    assert got[("asl_lambda_errors_total", (("function_name", "ok"),))] == 0
    assert got[("asl_lambda_invocations_total", (("function_name", "boom"),))] == 1
    assert got[("asl_lambda_errors_total", (("function_name", "boom"),))] == 1
    assert got[("asl_lambda_throttles_total", (("function_name", "boom"),))] == 0
    assert got[("asl_lambda_duration_seconds_count", (("function_name", "ok"),))] == 3
    assert got[("asl_lambda_concurrent_executions", (("function_name", "ok"),))] == 0
    assert got[("asl_open_executions", ())] == 0
    assert not any(name == "asl_execution_throttled_total" for name, _ in got)  # none yet


def test_openmetrics_is_served_when_asked_for() -> None:
    async def main() -> tuple[str, str]:
        engine = Engine(clock=VirtualClock(T0))
        metrics = engine.enable_metrics()
        try:
            machine = engine.load({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
            await engine.run(machine, {})
            body, content_type = metrics.exposition("application/openmetrics-text; version=1.0.0")
            return body.decode(), content_type
        finally:
            await engine.aclose()

    body, content_type = asyncio.run(main())
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")
    assert 'asl_executions_started_total{state_machine_arn="' in body
