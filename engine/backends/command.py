"""A Lambda function as a command: one process per call, the event on stdin, the result on stdout.

Owns: `CommandRunner`, the `FunctionRunner` for functions written in any language, and
`check_command`, which tells `asl config check` whether a configured command can start. Must
never: block the event loop (the process is driven with asyncio, no thread of ours), leave a
process, a zombie or a pipe behind (a cancelled call kills the process's whole group and reaps
it), decide timeouts or retries (the Lambda layer does), or run anything an API client names:
only the operator's config file gives commands.

The protocol, one call:
- The process starts in its own session (so one signal reaches everything it spawned), in
  `cwd`, with the parent's environment, then the configured `env`, then the variables Lambda's
  runtime sets (reserved on AWS, so they win): AWS_LAMBDA_FUNCTION_NAME,
  AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_LAMBDA_LOG_GROUP_NAME,
  AWS_LAMBDA_LOG_STREAM_NAME, AWS_REGION, AWS_DEFAULT_REGION. The per-call values a Lambda
  runtime reads from its runtime API (no such API here) come as ASL_REQUEST_ID,
  ASL_INVOKED_FUNCTION_ARN and ASL_DEADLINE_MS (the function's deadline, Unix epoch ms, as
  Lambda's `Lambda-Runtime-Deadline-Ms` header).
- The event text is written to stdin, which is then closed.
- Exit status 0: stdout is the result (JSON; nothing at all is `null`, what a handler returning
  nothing gives), unless it is Lambda's error envelope (`{"errorType": ..., "errorMessage":
  ...}`), which fails the call with that error. Any other exit: an envelope on stdout fails the
  call with that error; without one, the call fails as Lambda fails a crashed runtime,
  `Runtime.ExitError` (`exit status N` or `signal: killed`), with the end of stderr as its trace.
- stderr is the function's log: each line goes to this module's logger, prefixed with the
  function's name (at INFO, as CloudWatch Logs keeps a function's output).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from engine.backends.envelope import (
    deadline_epoch_ms,
    error_envelope_of,
    runtime_exit_error,
    text_tail,
)
from engine.backends.lambda_arn import parse_payload
from engine.backends.runner import Invocation, Outcome, Returned
from engine.errors import STATES_RUNTIME
from engine.interpreter.tasks import TaskFailure
from engine.values import PAYLOAD_LIMIT_BYTES

__all__ = ["CommandRunner", "check_command"]

_log = logging.getLogger(__name__)

_CHUNK: Final = 64 * 1024
STDERR_TAIL_BYTES: Final = 2048
"""How much of stderr a crash's cause keeps: the end of a traceback, not a log dump."""
_MAX_LOG_LINE: Final = 8192
"""A line longer than this is logged in pieces, so no output can grow our memory unbounded."""
_DRAIN_AFTER_KILL_SECONDS: Final = 5.0
"""After a kill, how long to wait for the pipes to close: only a process that left the group
(setsid) and kept our pipes open can hold them, and a cancelled call must not hang for it."""

_NULL_SIZE: Final = len(b"null")
"""An empty stdout is a handler that returned nothing: Lambda's runtimes send `null`."""


def _which(program: str, cwd: Path | None, env: Mapping[str, str]) -> Path | str:
    """Where `program` resolves as the child's exec would resolve it, or why it does not.

    A name with a slash is a path from `cwd` (the child changes directory before exec);
    a bare name is looked up on the child's PATH, as `subprocess` does.
    """
    if os.sep in program or (os.altsep is not None and os.altsep in program):
        path = Path(program)
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        if not path.exists():
            return f"no such file: {path}"
        if not path.is_file():
            return f"not a file: {path}"
        if not os.access(path, os.X_OK):
            return f"not executable (chmod +x {path})"
        return path
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        return f"'{program}' is not on the PATH ({env.get('PATH', os.defpath)})"
    return Path(found)


def check_command(
    command: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> str | None:
    """Why `command` cannot start, or None if it can (nothing is run, only looked up).

    For `asl config check`: the executable must exist and be executable, looked up as the
    runner's exec will look it up (PATH from `env` over ours, relative paths from `cwd`).
    """
    if not command:
        return "the command is empty; give the program and its arguments as a list"
    if cwd is not None and not cwd.is_dir():
        return f"its working folder {cwd} does not exist"
    where = _which(command[0], cwd, {**os.environ, **(env or {})})
    return where if isinstance(where, str) else None


class CommandRunner:
    """Runs a function as `command` (argv, no shell), one process per call.

    `cwd` is the process's working folder (the config file's folder, usually); `env` adds
    variables to ours. `function_name` prefixes the log lines and names the function in
    failures. See the module docstring for the protocol.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        function_name: str,
    ) -> None:
        if not command:
            raise ValueError(f"function '{function_name}': the command is empty")
        self._command = tuple(command)
        self._cwd = cwd
        self._env = dict(env or {})
        self._function_name = function_name
        self._running: set[asyncio.subprocess.Process] = set()
        self._closed = False

    def check(self) -> str | None:
        """Why the command cannot start, or None (see `check_command`)."""
        return check_command(self._command, cwd=self._cwd, env=self._env)

    def close(self) -> None:
        """Kill the process groups of the calls still running (their calls fail as killed);
        later calls fail without starting anything."""
        self._closed = True
        for process in list(self._running):
            _kill_group(process)

    async def run(self, invocation: Invocation) -> Outcome:
        """Start the process, feed it the event, read its result. Never raises but on cancel."""
        if self._closed:
            return TaskFailure(
                STATES_RUNTIME,
                f"Function '{self._function_name}' cannot run: its runner is closed (the "
                "engine is shutting down).",
            )
        starting = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *self._command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self._cwd,
                env=self._environment(invocation),
                start_new_session=True,
            )
        )
        try:
            # Shielded: the process exists from the fork on, before the pipes are connected.
            # Cancelled then, asyncio itself would kill only the leader and wait for its pipes,
            # which a child of it still holds open: the call would hang for the child's life.
            process = await asyncio.shield(starting)
        except OSError as exc:
            return self._unstartable(exc)
        except asyncio.CancelledError:
            starting.add_done_callback(_kill_started)
            with contextlib.suppress(BaseException):  # it never started, or cancelled again
                await _reap(await asyncio.shield(starting))
            raise
        self._running.add(process)
        if self._closed:  # close() ran while the process was starting: it missed this one
            _kill_group(process)
        try:
            return await self._communicate(process, invocation)
        finally:
            self._running.discard(process)

    def _environment(self, invocation: Invocation) -> dict[str, str]:
        # TRACEPARENT: the calling Task's W3C trace context (OpenTelemetry's convention for
        # environment variables as carriers), only when the execution is traced.
        trace = {"TRACEPARENT": invocation.traceparent} if invocation.traceparent else {}
        return {
            **os.environ,
            **trace,
            **self._env,
            "AWS_LAMBDA_FUNCTION_NAME": invocation.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": invocation.function_version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(invocation.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": invocation.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": invocation.log_stream_name,
            "AWS_REGION": invocation.region,
            "AWS_DEFAULT_REGION": invocation.region,
            "ASL_REQUEST_ID": invocation.request_id,
            "ASL_INVOKED_FUNCTION_ARN": invocation.invoked_function_arn,
            "ASL_DEADLINE_MS": str(deadline_epoch_ms(invocation.deadline)),
        }

    def _unstartable(self, exc: OSError) -> TaskFailure:
        where = f" in {self._cwd}" if self._cwd is not None else ""
        return TaskFailure(
            STATES_RUNTIME,
            f"Cannot start function '{self._function_name}': the command "
            f"`{shlex.join(self._command)}`{where} failed: {exc.strerror or exc}"
            + (f": '{exc.filename}'" if exc.filename else "")
            + ". Fix the function's `command` in the config file.",
        )

    async def _communicate(
        self, process: asyncio.subprocess.Process, invocation: Invocation
    ) -> Outcome:
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        # Both outputs are read while stdin is written: a child that logs a lot before reading
        # its input, or writes a large result, must never wait on a full pipe of ours.
        stdout_task = asyncio.create_task(_read_stdout(process.stdout))
        stderr_task = asyncio.create_task(self._read_stderr(process.stderr))
        try:
            await _write_stdin(process.stdin, invocation.event_text.encode())
            stdout, size = await stdout_task
            stderr = await stderr_task
            returncode = await process.wait()
        except BaseException:  # cancelled: kill everything the call started, then re-raise
            _kill_group(process)
            await _reap(process, stdout_task, stderr_task)
            raise
        return _outcome(returncode, stdout, size, stderr, invocation.request_id)

    async def _read_stderr(self, stream: asyncio.StreamReader) -> bytes:
        """Log each line of stderr; give back its last STDERR_TAIL_BYTES."""
        tail = bytearray()
        pending = bytearray()
        while chunk := await stream.read(_CHUNK):
            tail += chunk
            if len(tail) > 2 * STDERR_TAIL_BYTES:
                # One byte more than the tail: text_tail can then tell a cut line from a whole.
                del tail[: -STDERR_TAIL_BYTES - 1]
            pending += chunk
            *lines, rest = pending.split(b"\n")
            for line in lines:
                self._log_line(line)
            while len(rest) > _MAX_LOG_LINE:
                self._log_line(rest[:_MAX_LOG_LINE])
                rest = rest[_MAX_LOG_LINE:]
            pending = rest
        if pending:
            self._log_line(pending)
        return bytes(tail)

    def _log_line(self, line: bytes | bytearray) -> None:
        _log.info(
            "%s: %s", self._function_name, line.rstrip(b"\r").decode("utf-8", errors="replace")
        )


async def _write_stdin(stdin: asyncio.StreamWriter, data: bytes) -> None:
    # A function may exit without reading its event: the pipe is then broken, which is no error
    # of the call (its exit status and output say how it went).
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.write(data)
        await stdin.drain()
    stdin.close()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        await stdin.wait_closed()


async def _read_stdout(stream: asyncio.StreamReader) -> tuple[bytes, int]:
    """stdout up to one byte past the payload limit, and its whole size (read to the end, so
    the child never blocks on a full pipe; past the limit the bytes are counted, not kept)."""
    kept = bytearray()
    size = 0
    while chunk := await stream.read(_CHUNK):
        size += len(chunk)
        room = PAYLOAD_LIMIT_BYTES + 1 - len(kept)
        if room > 0:
            kept += chunk[:room]
    return bytes(kept), size


def _outcome(returncode: int, stdout: bytes, size: int, stderr: bytes, request_id: str) -> Outcome:
    if size > PAYLOAD_LIMIT_BYTES:
        if returncode == 0:
            return Returned(size, None)  # the Lambda layer refuses it on its size
        # Too big to be an envelope: the crash is what there is to report.
        return runtime_exit_error(request_id, returncode, text_tail(stderr, STDERR_TAIL_BYTES))
    raised = error_envelope_of(stdout)
    if raised is not None:
        return raised
    if returncode != 0:
        return runtime_exit_error(request_id, returncode, text_tail(stderr, STDERR_TAIL_BYTES))
    if not stdout.strip():
        return Returned(_NULL_SIZE, None)
    return Returned(size, parse_payload(stdout))


def _kill_group(process: asyncio.subprocess.Process) -> None:
    # The process leads its own session and group (start_new_session), so the group id is its
    # pid; while any member lives the kernel keeps that id from being reused.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _kill_started(starting: asyncio.Future[asyncio.subprocess.Process]) -> None:
    """Done-callback of a start whose call was cancelled: kill the group it started, if any."""
    if not starting.cancelled() and starting.exception() is None:
        _kill_group(starting.result())


async def _reap(
    process: asyncio.subprocess.Process,
    *readers: asyncio.Task[bytes] | asyncio.Task[tuple[bytes, int]],
) -> None:
    """After a kill: wait for the exit (no zombie) and the pipes' end (no open pipe).

    The readers keep draining: once the group is dead every pipe ends, and asyncio closes the
    process's transport when both the exit and the pipes' ends are in. Shielded, so a second
    cancellation cannot leave the reaping half done.
    """
    waiting = asyncio.gather(process.wait(), *readers, return_exceptions=True)
    try:
        await asyncio.shield(asyncio.wait_for(waiting, _DRAIN_AFTER_KILL_SECONDS))
    except (TimeoutError, asyncio.CancelledError):
        for reader in readers:
            reader.cancel()
