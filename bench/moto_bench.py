"""The same machines on moto's Step Functions interpreter, for the side-by-side "moto" column.

Owns: running `bench.machines` through boto3 against `moto.mock_aws` with
`execute_state_machine` on (moto's port of LocalStack's interpreter: a thread per execution),
in a child process (`python -m bench.moto_bench`) so moto's patching and its threads never
touch the parent and a stuck run is killed at the deadline. Must never: fail the benchmark when
moto is missing or slow; it reports why instead.

Timing: a repetition starts `executions` executions with StartExecution and ends at the latest
`stopDate` DescribeExecution reports (polling every 10 ms; the poll's own cost is on the same
GIL, as for any client). Transitions are counted from GetExecutionHistory, as for our engine.

The Task chain: without Docker moto runs no Lambda code. Its Docker-less Lambda backend
(`config={"lambda": {"use_docker": False}}`) answers every Invoke with the request payload,
which is exactly what the trivial handler does, so the row is measured on that stub and marked.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.machines import (
    ACCOUNT,
    REGION,
    TASK_FUNCTIONS,
    BenchMachine,
    bench_machines,
    count_transitions,
)

NOT_INSTALLED = "moto: not installed (pip install -e '.[bench]')"
LAMBDA_STUB_NOTE = "Lambda echo stub: moto runs no handler code without Docker"
POLL_SECONDS = 0.01
HANDLER_SOURCE = "def handler(event, context):\n    return event\n"


@dataclass(frozen=True, slots=True)
class MotoThroughput:
    key: str
    executions: int
    transitions: int
    per_second: float | None
    runs: tuple[float, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class MotoReport:
    """moto's rows, or why there are none (`reason`)."""

    rows: dict[str, MotoThroughput]
    reason: str = ""


def moto_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("moto", "boto3"))


def bench_moto(*, executions: int = 20, repeats: int = 3, timeout: float = 60.0) -> MotoReport:
    """Run the child process; `timeout` bounds each machine's run, the child gets 4x plus start."""
    if not moto_installed():
        return MotoReport({}, NOT_INSTALLED)
    env = {
        **os.environ,
        # moto's documented fake credentials: boto3 never looks for real ones.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    command = [
        sys.executable,
        "-m",
        "bench.moto_bench",
        f"--executions={executions}",
        f"--repeats={repeats}",
        f"--timeout={timeout}",
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            timeout=4 * timeout + 30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return MotoReport({}, f"moto: no answer within {4 * timeout + 30:.0f} s")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return MotoReport({}, f"moto: failed ({last})")
    payload = json.loads(done.stdout)
    rows = {
        key: MotoThroughput(**{**row, "runs": tuple(row["runs"])}) for key, row in payload.items()
    }
    return MotoReport(rows)


# ------------------------------------------------------------------------------ child process


def _zipped_handler() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", HANDLER_SOURCE)
    return buffer.getvalue()


def _run_machine(
    sfn: Any,  # a boto3 client: boto3 ships no types (its stubs are a separate package)
    spec: BenchMachine,
    role: str,
    executions: int,
    repeats: int,
    timeout: float,
) -> MotoThroughput:
    arn = sfn.create_state_machine(
        name=spec.key, definition=json.dumps(spec.definition), roleArn=role
    )["stateMachineArn"]
    deadline = time.monotonic() + timeout
    counter = iter(range(1_000_000))

    def batch(size: int) -> tuple[float, list[str]] | None:
        started = time.time()
        arns = [
            sfn.start_execution(
                stateMachineArn=arn,
                name=f"{spec.key}-{next(counter)}",
                input=json.dumps(spec.execution_input),
            )["executionArn"]
            for _ in range(size)
        ]
        pending = set(arns)
        stops: list[float] = []
        while pending:
            if time.monotonic() > deadline:
                return None
            for execution in list(pending):
                described = sfn.describe_execution(executionArn=execution)
                if described["status"] == "RUNNING":
                    continue
                if described["status"] != "SUCCEEDED":
                    raise RuntimeError(f"moto: {spec.key} ended {described['status']}")
                pending.discard(execution)
                stops.append(described["stopDate"].timestamp())
            if pending:
                time.sleep(POLL_SECONDS)
        return max(stops) - started, arns

    warm = batch(1)
    note = LAMBDA_STUB_NOTE if spec.needs_lambda else ""
    if warm is None:
        return MotoThroughput(spec.key, executions, 0, None, (), f"timed out after {timeout:.0f} s")
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=warm[1][0])
    transitions = count_transitions(e["type"] for page in pages for e in page["events"])
    runs: list[float] = []
    for _ in range(repeats):
        timed = batch(executions)
        if timed is None:
            note = f"timed out after {timeout:.0f} s"
            break
        runs.append(transitions * executions / timed[0])
    return MotoThroughput(
        spec.key,
        executions,
        transitions,
        statistics.median(runs) if runs else None,
        tuple(runs),
        note,
    )


def _child(executions: int, repeats: int, timeout: float) -> dict[str, MotoThroughput]:
    import boto3
    from moto import mock_aws

    results: dict[str, MotoThroughput] = {}
    with mock_aws(
        config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    ):
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        for name in TASK_FUNCTIONS:
            lam.create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=role,
                Handler="handler.handler",
                Code={"ZipFile": _zipped_handler()},
            )
        sfn = boto3.client("stepfunctions", region_name=REGION)
        for spec in bench_machines(account=ACCOUNT, region=REGION):
            results[spec.key] = _run_machine(sfn, spec, role, executions, repeats, timeout)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.moto_bench")
    parser.add_argument("--executions", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    results = _child(args.executions, args.repeats, args.timeout)
    json.dump(
        {
            key: {
                "key": row.key,
                "executions": row.executions,
                "transitions": row.transitions,
                "per_second": row.per_second,
                "runs": list(row.runs),
                "note": row.note,
            }
            for key, row in results.items()
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
