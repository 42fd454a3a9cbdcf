"""Execution logs: a machine's loggingConfiguration honoured, one JSON line per history event.

Owns: which events a log level keeps (AWS's "Log levels" table: ALL every event; ERROR the
events of errors; FATAL an execution's failure, abort or timeout), the record AWS's
CloudWatch Logs receives for each (`id`, `type`, `details`, `previous_event_id`,
`event_timestamp`, `execution_arn`, `redrive_count`, all but `details` as strings, the
timestamp in epoch milliseconds), `includeExecutionData` (inputs and outputs left out when
false), and where the lines go: the Python logging handler of a logger, stdout, or a file
(`[execution_logs]` in asl.toml), a machine whose log group ARN is mapped in
`[execution_logs.log_groups]` to that file instead. Must never: change what an execution does,
or fail it (AWS delivers these logs on a best-effort basis; a write that fails is logged once
per destination and dropped).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from engine.interpreter.frames import ExecutionInfo
from engine.interpreter.history import HistoryEvent, render_details
from engine.values import JSON, dumps

FATAL_EVENTS: Final = frozenset({"ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})
_ERROR_SUFFIXES: Final = ("Failed", "TimedOut", "Aborted")
LEVELS: Final = ("ALL", "ERROR", "FATAL", "OFF")
DEFAULT_LOGGER: Final = "asl.execution"
"""The logger execution log lines go to when `[execution_logs]` names no other destination."""

_log = logging.getLogger(__name__)


def logged_at(level: str, event_type: str) -> bool:
    """Whether a machine logging at `level` logs events of `event_type`."""
    if level == "ALL":
        return True
    if level == "ERROR":
        return event_type.endswith(_ERROR_SUFFIXES) or event_type == "FailStateEntered"
    if level == "FATAL":
        return event_type in FATAL_EVENTS
    return False


def log_record(info: ExecutionInfo, event: HistoryEvent, include_data: bool) -> dict[str, JSON]:
    """The record CloudWatch Logs gets for one event, in AWS's key order."""
    details = render_details(event.details, include_data) if event.details is not None else {}
    return {
        "id": str(event.id),
        "type": event.type,
        "details": details,
        "previous_event_id": str(event.previous_event_id),
        "event_timestamp": str(round(event.timestamp * 1000)),
        "execution_arn": info.execution_arn,
        "redrive_count": str(info.redrive_count),
    }


@dataclass(frozen=True, slots=True)
class LogSettings:
    """A machine's loggingConfiguration, as the log needs it."""

    level: str
    include_execution_data: bool = False
    destination: str | None = None  # its CloudWatch Logs log group ARN


Sink = Callable[[str, bool], None]
"""Writes one line; the flag says the event is an error (ERROR or FATAL), for log levels."""


def logging_sink(logger_name: str) -> Sink:
    logger = logging.getLogger(logger_name)

    def emit(line: str, error: bool) -> None:
        logger.log(logging.ERROR if error else logging.INFO, line)

    return emit


def stream_sink(stream: IO[str]) -> Sink:
    def emit(line: str, error: bool) -> None:
        stream.write(line + "\n")
        stream.flush()

    return emit


class ExecutionLog:
    """A `RuntimeObserver` writing each observed execution's logged events."""

    def __init__(
        self,
        settings_of: Callable[[str], LogSettings | None],
        sink: Sink,
        group_sinks: dict[str, Sink] | None = None,
    ) -> None:
        self.settings_of = settings_of
        self.sink = sink
        self.group_sinks = group_sinks or {}
        self._failing: set[int] = set()  # sinks whose last write failed (logged once)

    def history(self, info: ExecutionInfo, events: Sequence[HistoryEvent]) -> None:
        settings = self.settings_of(info.state_machine_arn)
        if settings is None or settings.level == "OFF":
            return
        sink = self.group_sinks.get(settings.destination or "", self.sink)
        for event in events:
            if not logged_at(settings.level, event.type):
                continue
            line = dumps(log_record(info, event, settings.include_execution_data))
            error = logged_at("ERROR", event.type)
            try:
                sink(line, error)
            except Exception as exc:  # a log destination's edge: best effort, as on AWS
                if id(sink) not in self._failing:
                    self._failing.add(id(sink))
                    _log.error("could not write an execution log line: %s", exc)
                continue
            self._failing.discard(id(sink))

    def committed(self, seconds: float, steps: int) -> None:
        return None

    def traceparent(self, info: ExecutionInfo, state_name: str) -> str | None:
        return None

    def claimed(self, waited: Sequence[float], taken_over: int) -> None:
        return None


class OpenFiles:
    """The files execution logs append to, opened once, line-buffered; closed together."""

    def __init__(self) -> None:
        self._files: dict[Path, IO[str]] = {}

    def sink(self, path: Path) -> Sink:
        stream = self._files.get(path)
        if stream is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            stream = self._files[path] = path.open("a", encoding="utf-8", buffering=1)
        return stream_sink(stream)

    def close(self) -> None:
        for stream in self._files.values():
            with contextlib.suppress(OSError):
                stream.close()
        self._files.clear()


def stdout_sink() -> Sink:
    return stream_sink(sys.stdout)
