"""AWS/Lambda's per-function metrics as a scrape reads them: throttles past the reserved
concurrency, cold starts, concurrency in use, errors including timeouts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from engine.embedded import Engine
from engine.runtime.clock import VirtualClock

HANDLERS = """
import time

def slow(event, context):
    time.sleep(0.2)
    return event

def hangs(event, context):
    time.sleep(5)
"""
CONFIG = """
[lambda]
sources = ["handlers.py"]

[functions.slow]
handler = "handlers.slow"
reserved_concurrency = 1
cold_start = 0.01

[functions.hangs]
handler = "handlers.hangs"
timeout = 1
"""
FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:"


def test_throttles_cold_starts_and_timeouts_per_function(tmp_path: Path) -> None:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    (tmp_path / "asl.toml").write_text(CONFIG)

    def machine(function: str) -> dict[str, object]:
        task = {"Type": "Task", "Resource": FUNCTION + function, "End": True}
        return {"StartAt": "Call", "States": {"Call": task}}

    async def main() -> dict[tuple[str, str], float]:
        engine = Engine(config=tmp_path / "asl.toml", clock=VirtualClock(1e9))
        metrics = engine.enable_metrics()
        try:
            slow = engine.load(machine("slow"), name="slow")
            results = await engine.run_many(slow, [{}, {}])  # at once: one is throttled
            assert sorted(r.status for r in results) == ["FAILED", "SUCCEEDED"]
            assert {r.error for r in results} == {None, "Lambda.TooManyRequestsException"}
            await engine.run(slow, {})  # the instance left idle serves it warm
            hung = await engine.run(engine.load(machine("hangs"), name="hangs"), {})
            assert hung.error == "Sandbox.Timedout"
            text = metrics.exposition()[0].decode()
        finally:
            await engine.aclose()
        return {
            (s.name, s.labels.get("function_name", "")): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    got = asyncio.run(main())
    assert got[("asl_lambda_invocations_total", "slow")] == 2
    assert got[("asl_lambda_throttles_total", "slow")] == 1
    assert got[("asl_lambda_cold_starts_total", "slow")] == 1
    assert got[("asl_lambda_errors_total", "slow")] == 0
    assert got[("asl_lambda_concurrent_executions", "slow")] == 0
    assert got[("asl_lambda_duration_seconds_count", "slow")] == 2
    assert got[("asl_lambda_duration_seconds_sum", "slow")] >= 0.4  # two 0.2 s sleeps
    assert got[("asl_lambda_invocations_total", "hangs")] == 1
    assert got[("asl_lambda_errors_total", "hangs")] == 1  # a timeout is an error
