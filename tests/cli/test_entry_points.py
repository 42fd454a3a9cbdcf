"""The installed entry points (`.venv/bin/asl`, `python -m engine.cli`) behave exactly as
`engine.cli.main` in this process: the same exit status, stdout and stderr, never a traceback;
and Ctrl-C (SIGINT) ends a running command with 130.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.cli.harness import (
    ENTRY_POINTS,
    FUNCTIONS,
    Cli,
    assert_one_asl_line,
    poll,
    run_process,
)

pytestmark = pytest.mark.slow

# (arguments, exit status): deterministic output, so the three runs can be compared whole
CASES = {
    "validate-unreadable": (["validate", "invalid.asl.json", "missing.json", "--json"], 2),
    "run-failed": (["run", "fails.asl.json", "--name", "x", "--virtual-time"], 1),
    "run-bad-name": (["run", "hello.asl.json", "--name", "a b", "--json"], 2),
    "describe-unknown": (["describe", "arn:aws:states:us-east-1:111111111111:execution:m:x"], 2),
    "send-task-success-unknown": (["send-task-success", "no-such-token"], 2),
    "serve-refused": (["serve", "--host", "0.0.0.0", "--store", "memory://"], 2),
    "no-command": ([], 2),
}


@pytest.fixture
def files(cli: Cli) -> Cli:
    for key in ("invalid", "fails", "hello"):
        cli.machine(key)
    return cli


@pytest.mark.parametrize(("args", "code"), list(CASES.values()), ids=list(CASES))
def test_entry_points_behave_as_main(files: Cli, args: list[str], code: int) -> None:
    in_process = files(*args)
    assert in_process.code == code
    if code == 2 and args:  # the usage errors of the commands themselves: one `asl:` line
        assert_one_asl_line(in_process)
    for entry in ENTRY_POINTS:
        assert run_process(entry, args, cwd=files.folder) == in_process, entry


INTERRUPTIBLE = {
    "run": ["run", "blocks.asl.json"],
    "start-attached": ["start", "blocks.asl.json", "--name", "interrupted"],
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize("args", list(INTERRUPTIBLE.values()), ids=list(INTERRUPTIBLE))
def test_ctrl_c_exits_130_without_a_traceback(cli: Cli, entry: str, args: list[str]) -> None:
    marker = cli.folder / "task-running"
    cli.write(
        "blocks.asl.json",
        {
            "StartAt": "Block",
            "States": {
                "Block": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:111111111111:function:block",
                    "End": True,
                }
            },
        },
    )
    command = [*ENTRY_POINTS[entry], *args, "--functions", FUNCTIONS]
    command += ["--input", f'{{"marker": "{marker}"}}']
    process = subprocess.Popen(
        command, cwd=cli.folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        poll(lambda: marker.exists() or process.poll() is not None, "the Task to run")
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert (process.returncode, out, err) == (130, "", "")
    assert Path(marker).read_text() == "running\n"
