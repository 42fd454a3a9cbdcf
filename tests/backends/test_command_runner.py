"""CommandRunner: a function as a process, one per call (event on stdin, result on stdout).

Real processes throughout (sh, python, node): the runner's job is the process protocol, so a
fake would test nothing. No sleeps: a test that must know a process is up waits on a FIFO the
process writes to, and waits for processes to end on their pidfds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import select
import shutil
import stat
import sys
import time
from pathlib import Path

import pytest

from engine.backends.command import CommandRunner, check_command
from engine.backends.envelope import text_tail
from engine.backends.runner import Outcome, Raised, Returned
from engine.interpreter.tasks import TaskFailure
from engine.values import PAYLOAD_LIMIT_BYTES
from tests.backends.runner_cases import ARN, ECHO_CASES, ECHO_IDS, RID, invocation

EXAMPLES = Path(__file__).resolve().parents[2] / "asl_examples"
PY = sys.executable


def run(runner: CommandRunner, event_text: str = "{}") -> Outcome:
    return asyncio.run(runner.run(invocation(event_text)))


def sh(script: str, **kwargs: object) -> CommandRunner:
    return CommandRunner(["/bin/sh", "-c", script], function_name="Echo", **kwargs)  # type: ignore[arg-type]


def python(code: str) -> CommandRunner:
    return CommandRunner([PY, "-c", code], function_name="Echo")


def exit_error(reason: str, trace: tuple[str, ...] = ()) -> Raised:
    message = f"RequestId: {RID} Error: Runtime exited with error: {reason}"
    return Raised("Runtime.ExitError", message, trace)


# --------------------------------------------------------------------------- results


@pytest.mark.parametrize(
    ("event_text", "payload"),
    ECHO_CASES,
    ids=ECHO_IDS,
)
def test_cat_returns_its_event(event_text: str, payload: object) -> None:
    outcome = run(CommandRunner(["/bin/cat"], function_name="Echo"), event_text)
    assert outcome == Returned(len(event_text.encode()), payload)  # type: ignore[arg-type]


def test_empty_stdout_is_null_as_a_handler_returning_nothing() -> None:
    assert run(sh("cat >/dev/null")) == Returned(4, None)


def test_stdout_that_is_not_json_is_the_text() -> None:
    assert run(sh("printf 'plain words'")) == Returned(11, "plain words")


ENVELOPE = (
    '{"errorType": "InvalidInput", "errorMessage": "no text", '
    '"stackTrace": ["at count (word_count.js:3:9)"], "requestId": "ignored"}'
)


@pytest.mark.parametrize("status", [0, 1], ids=["exit-0", "exit-1"])
def test_an_error_envelope_on_stdout_is_the_function_error(status: int) -> None:
    outcome = run(sh(f"printf '%s' '{ENVELOPE}'; exit {status}"))
    assert outcome == Raised("InvalidInput", "no text", ("at count (word_count.js:3:9)",))


def test_a_node_style_envelope_gives_its_trace() -> None:
    envelope = '{"errorType":"Error","errorMessage":"failure","trace":["Error: failure"]}'
    assert run(sh(f"printf '%s' '{envelope}'; exit 1")) == Raised(
        "Error", "failure", ("Error: failure",)
    )


def test_a_crash_is_a_runtime_exit_error_with_the_end_of_stderr() -> None:
    outcome = run(sh("echo 'Traceback: boom' >&2; echo 'ValueError: bad' >&2; exit 3"))
    assert outcome == exit_error("exit status 3", ("Traceback: boom", "ValueError: bad"))


def test_a_crash_with_stdout_that_is_no_envelope_is_a_runtime_exit_error() -> None:
    assert run(sh('printf \'{"errorMessage": "no type"}\'; exit 2')) == exit_error("exit status 2")


def test_a_process_killed_by_a_signal_is_a_runtime_exit_error() -> None:
    assert run(sh("kill -9 $$")) == exit_error("signal: killed")
    assert run(sh("kill -SEGV $$")) == exit_error("signal: segmentation fault")


def test_the_cause_keeps_the_last_2_kib_of_stderr_from_a_line_start() -> None:
    # 1,000 lines of 10 bytes: the last 2,048 bytes start inside line 795, so the tail is
    # lines 796 to 999.
    code = "import sys\nfor i in range(1000): sys.stderr.write(f'line {i:04}\\n')\nsys.exit(2)"
    outcome = run(python(code))
    assert outcome == exit_error("exit status 2", tuple(f"line {i:04}" for i in range(796, 1000)))


def test_stdout_over_the_payload_limit_is_returned_unparsed_with_its_size() -> None:
    size = PAYLOAD_LIMIT_BYTES + 300_000
    code = f"import sys; sys.stdin.read(); sys.stdout.write('x' * {size})"
    assert run(python(code)) == Returned(size, None)


def test_a_result_exactly_at_the_limit_is_parsed() -> None:
    text = "y" * (PAYLOAD_LIMIT_BYTES - 2)
    code = f"import sys; sys.stdout.write('\"' + 'y' * {len(text)} + '\"')"
    assert run(python(code)) == Returned(PAYLOAD_LIMIT_BYTES, text)


def test_a_chatty_stderr_and_a_large_event_never_deadlock() -> None:
    # 1 MiB of stderr before the event is read, then a 1 MiB event echoed: every pipe fills
    # up several times over, so the runner must read both outputs while it writes stdin.
    code = (
        "import sys\n"
        "for _ in range(16384): sys.stderr.write('x' * 63 + '\\n')\n"
        "sys.stdout.write(sys.stdin.read())"
    )
    event = json.dumps({"blob": "z" * 200_000})
    outcome = run(python(code), event)
    assert outcome == Returned(len(event), {"blob": "z" * 200_000})


def test_a_function_that_never_reads_its_event_still_answers() -> None:
    event = json.dumps(["w" * 100_000] * 2)  # more than a pipe holds
    assert run(sh("printf '[1]'"), event) == Returned(3, [1])


# --------------------------------------------------------------------------- logs


def test_each_stderr_line_is_logged_with_the_function_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="engine.backends.command")
    run(sh("echo 'starting' >&2; printf 'done, no newline' >&2; echo 1"))
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("engine.backends.command", logging.INFO, "Echo: starting"),
        ("engine.backends.command", logging.INFO, "Echo: done, no newline"),
    ]


# --------------------------------------------------------------------------- environment

VARIABLES = [
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "ASL_REQUEST_ID",
    "ASL_INVOKED_FUNCTION_ARN",
    "GREETING",
    "ASL_TEST_PARENT_VARIABLE",
]


def test_the_process_gets_lambdas_variables_ours_and_the_configured_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASL_TEST_PARENT_VARIABLE", "from the parent")
    code = (
        "import json, os, sys\n"
        f"names = {VARIABLES!r}\n"
        "values = {name: os.environ.get(name) for name in names}\n"
        "values['ASL_DEADLINE_MS'] = int(os.environ['ASL_DEADLINE_MS'])\n"
        "print(json.dumps(values))"
    )
    # AWS_REGION in `env` loses: Lambda reserves the runtime's variables.
    runner = CommandRunner(
        [PY, "-c", code], env={"GREETING": "hi", "AWS_REGION": "mars-1"}, function_name="Echo"
    )
    before = time.time()
    outcome = asyncio.run(runner.run(invocation(seconds_left=30.0)))
    after = time.time()
    assert isinstance(outcome, Returned)
    assert isinstance(outcome.payload, dict)
    deadline_ms = outcome.payload.pop("ASL_DEADLINE_MS")
    assert outcome.payload == {
        "AWS_LAMBDA_FUNCTION_NAME": "Echo",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/Echo",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/03/06/[$LATEST]0123456789abcdef0123456789abcdef",
        "AWS_REGION": "eu-west-3",
        "AWS_DEFAULT_REGION": "eu-west-3",
        "ASL_REQUEST_ID": RID,
        "ASL_INVOKED_FUNCTION_ARN": ARN,
        "GREETING": "hi",
        "ASL_TEST_PARENT_VARIABLE": "from the parent",
    }
    # 30 s after the call was made, in epoch ms: between the clock readings around the call.
    assert isinstance(deadline_ms, int)
    assert int(before * 1000) + 29_000 <= deadline_ms <= int(after * 1000) + 30_000


# --------------------------------------------------------------------------- other languages


def test_a_shell_script_with_a_shebang(tmp_path: Path) -> None:
    script = tmp_path / "greet.sh"
    script.write_text(
        "#!/bin/sh\n"
        "event=$(cat)\n"
        'printf \'{"event": %s, "function": "%s"}\' "$event" "$AWS_LAMBDA_FUNCTION_NAME"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    runner = CommandRunner(["./greet.sh"], cwd=tmp_path, function_name="Greet")
    text = '{"who": "Ada"}'
    expected = f'{{"event": {text}, "function": "Echo"}}'
    assert run(runner, text) == Returned(
        len(expected), {"event": {"who": "Ada"}, "function": "Echo"}
    )


node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@node
def test_the_node_example_counts_words() -> None:
    runner = CommandRunner(
        ["node", "functions/word_count.js"], cwd=EXAMPLES, function_name="WordCount"
    )
    outcome = run(runner, json.dumps({"text": "to be or not to be, said Hamlet"}))
    assert outcome == Returned(30, {"words": 8, "longest": "Hamlet"})


@node
def test_the_node_example_fails_with_its_envelope_on_a_missing_text() -> None:
    runner = CommandRunner(
        ["node", "functions/word_count.js"], cwd=EXAMPLES, function_name="WordCount"
    )
    assert run(runner, "{}") == Raised(
        "InvalidInput", 'The event needs a string field \'text\', e.g. {"text": "to be or not"}'
    )


# --------------------------------------------------------------------------- cancellation


def _wait_gone(pidfd: int) -> None:
    """Block until the process behind `pidfd` has ended (the fd turns readable then)."""
    readable, _, _ = select.select([pidfd], [], [], 30)
    assert readable == [pidfd], "the process is still running"


def _running(pid: int) -> bool:
    """True while `pid` is alive and not a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_cancelling_kills_the_whole_process_group_and_leaks_nothing(tmp_path: Path) -> None:
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    # The shell starts a sleeping child, reports both pids through the FIFO, then waits.
    runner = sh(f"sleep 300 & echo $$ $! > {fifo}; wait")

    async def scenario() -> tuple[int, int]:
        call = asyncio.create_task(runner.run(invocation()))
        # Opening a FIFO for reading blocks until the writer opens it: run it off the loop.
        line = await asyncio.to_thread(fifo.read_text)
        shell, child = (int(pid) for pid in line.split())
        pidfds = [os.pidfd_open(shell), os.pidfd_open(child)]
        try:
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            for pidfd in pidfds:
                _wait_gone(pidfd)
        finally:
            for pidfd in pidfds:
                os.close(pidfd)
        return shell, child

    before = _open_fds()
    shell, child = asyncio.run(scenario())
    assert not _running(shell)
    assert not _running(child)
    # The shell was ours to reap: it is gone entirely, no zombie.
    assert not Path(f"/proc/{shell}").exists()
    assert _open_fds() - before == set()


def _live_with_marker(marker: str) -> list[int]:
    """Pids of live (not zombie) processes whose environment holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ and _running(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("turns", range(6))
def test_a_call_cancelled_while_its_process_starts_leaves_nothing_behind(turns: int) -> None:
    # Cancelled after `turns` loop turns: before the fork, between the fork and the pipes'
    # connection, or while running. The shell's child must die with it, and the call must end
    # at once (asyncio alone would kill the shell only and wait on the child's pipes).
    marker = f"ASL_TEST_MARKER=cancel-{turns}-{os.getpid()}"
    key, value = marker.split("=")
    runner = sh("sleep 300 & wait", env={key: value})

    async def scenario() -> None:
        call = asyncio.create_task(runner.run(invocation()))
        for _ in range(turns):
            await asyncio.sleep(0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(call, 10)

    asyncio.run(scenario())
    assert _live_with_marker(marker) == []


def test_close_kills_the_calls_still_running(tmp_path: Path) -> None:
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    runner = sh(f"echo $$ > {fifo}; exec sleep 300")

    async def scenario() -> Outcome:
        call = asyncio.create_task(runner.run(invocation()))
        await asyncio.to_thread(fifo.read_text)
        runner.close()
        return await call

    assert asyncio.run(scenario()) == exit_error("signal: killed")
    assert run(runner) == TaskFailure(
        "States.Runtime",
        "Function 'Echo' cannot run: its runner is closed (the engine is shutting down).",
    )


# --------------------------------------------------------------------------- cannot start


def test_a_missing_program_fails_the_call_naming_the_fix(tmp_path: Path) -> None:
    runner = CommandRunner(["./nope.sh", "--fast"], cwd=tmp_path, function_name="Greet")
    assert run(runner) == TaskFailure(
        "States.Runtime",
        f"Cannot start function 'Greet': the command `./nope.sh --fast` in {tmp_path} failed: "
        "No such file or directory: './nope.sh'. Fix the function's `command` in the config "
        "file.",
    )


def test_a_file_that_is_not_executable_fails_the_call(tmp_path: Path) -> None:
    (tmp_path / "plain.sh").write_text("echo 1\n")
    runner = CommandRunner(["./plain.sh"], cwd=tmp_path, function_name="Greet")
    assert run(runner) == TaskFailure(
        "States.Runtime",
        f"Cannot start function 'Greet': the command `./plain.sh` in {tmp_path} failed: "
        "Permission denied: './plain.sh'. Fix the function's `command` in the config file.",
    )


def test_check_finds_what_exec_would_find(tmp_path: Path) -> None:
    (tmp_path / "plain.sh").write_text("echo 1\n")
    (tmp_path / "folder").mkdir()
    assert check_command(["sh", "-c", "true"]) is None
    assert check_command(["/bin/cat"]) is None
    assert CommandRunner(["cat"], function_name="Echo").check() is None
    assert check_command(["./plain.sh"], cwd=tmp_path) == (
        f"not executable (chmod +x {tmp_path / 'plain.sh'})"
    )
    assert check_command(["./gone"], cwd=tmp_path) == f"no such file: {tmp_path / 'gone'}"
    assert check_command(["folder/"], cwd=tmp_path) == f"not a file: {tmp_path / 'folder'}"
    assert check_command(["no-such-program-x"], env={"PATH": str(tmp_path)}) == (
        f"'no-such-program-x' is not on the PATH ({tmp_path})"
    )
    assert check_command(["cat"], cwd=tmp_path / "missing") == (
        f"its working folder {tmp_path / 'missing'} does not exist"
    )
    assert check_command([]) == "the command is empty; give the program and its arguments as a list"


def test_an_empty_command_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="function 'Echo': the command is empty"):
        CommandRunner([], function_name="Echo")


@pytest.mark.parametrize(
    ("raw", "limit", "tail"),
    [
        (b"abc\ndef\n", 8, "abc\ndef\n"),
        (b"abc\ndef\n", 6, "def\n"),  # cut inside "abc": that line goes
        (b"abc\ndef\n", 4, "def\n"),  # the cut falls on a line start: nothing more goes
        (b"abcdefgh", 4, "efgh"),  # no line boundary: the bytes as they are
    ],
    ids=["whole", "cut-line", "at-line-start", "one-line"],
)
def test_text_tail_starts_at_a_line(raw: bytes, limit: int, tail: str) -> None:
    assert text_tail(raw, limit) == tail
