"""The runtime's observer hook: what metrics, traces and logs are told as executions run.

Owns: the `RuntimeObserver` Protocol and `Observers`, which fans one call out to several. The
runtime and the worker call an observer only when one is registered (`Runtime.observer` is None
by default and every call site tests it first), so an engine nobody watches pays one attribute
read per step and nothing else. Must never: change what an execution does, or raise into the
runtime (an observer's error is logged and dropped: watching cannot break a workflow).

Execution started and closed, state entered and exited, task scheduled, started, succeeded,
failed and timed out are all told as the history events that record them (ExecutionStarted,
TaskStateEntered, LambdaFunctionScheduled, TaskTimedOut, ...): they carry the state name, the
resource and the timestamps (the execution's clock, virtual or real), and AWS's own metrics are
defined over them. `committed` and `claimed` (queue lag, lease takeovers) are the engine's own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Final, Protocol

from engine.interpreter.frames import ExecutionInfo
from engine.interpreter.history import HistoryEvent

_log = logging.getLogger(__name__)


class RuntimeObserver(Protocol):
    def history(self, info: ExecutionInfo, events: Sequence[HistoryEvent]) -> None:
        """A step of the execution `info` recorded `events` (in order; never empty)."""

    def committed(self, seconds: float, steps: int) -> None:
        """A group commit of `steps` steps took `seconds` to write (wall-clock time)."""

    def traceparent(self, info: ExecutionInfo, state_name: str) -> str | None:
        """The W3C trace context to pass to the backend call the state `state_name` is about
        to make (its task span's), or None: told just after the step that scheduled it."""

    def claimed(self, waited: Sequence[float], taken_over: int) -> None:
        """A worker claimed a batch: `waited`, the seconds each execution never driven
        before waited since its start (queue lag); `taken_over`, how many had been driven
        before (a lease takeover: resumed from their last commit after their worker was lost
        or let them go)."""


class Observers:
    """Several observers as one; an observer that raises is logged and the others still run."""

    def __init__(self, observers: Sequence[RuntimeObserver]) -> None:
        self.observers = tuple(observers)

    def history(self, info: ExecutionInfo, events: Sequence[HistoryEvent]) -> None:
        for observer in self.observers:
            try:
                observer.history(info, events)
            except Exception:  # observer edge: watching must never break an execution
                _log.exception("an observer failed on the history of %s", info.execution_arn)

    def committed(self, seconds: float, steps: int) -> None:
        for observer in self.observers:
            try:
                observer.committed(seconds, steps)
            except Exception:  # observer edge
                _log.exception("an observer failed on a commit")

    def traceparent(self, info: ExecutionInfo, state_name: str) -> str | None:
        for observer in self.observers:
            try:
                found = observer.traceparent(info, state_name)
            except Exception:  # observer edge
                _log.exception("an observer failed on a trace context")
                continue
            if found is not None:
                return found
        return None

    def claimed(self, waited: Sequence[float], taken_over: int) -> None:
        for observer in self.observers:
            try:
                observer.claimed(waited, taken_over)
            except Exception:  # observer edge
                _log.exception("an observer failed on a claim")


def add_observer(current: RuntimeObserver | None, new: RuntimeObserver) -> RuntimeObserver:
    """What `Runtime.observer` becomes when `new` is registered beside `current`."""
    if current is None:
        return new
    if isinstance(current, Observers):
        return Observers((*current.observers, new))
    return Observers((current, new))


EXPORTER_VARIABLE: Final = "OTEL_TRACES_EXPORTER"


def tracing_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for traces (an exporter other than `none`): read before
    anything of OpenTelemetry is imported (engine/tracing.py)."""
    names = (environ if environ is not None else os.environ).get(EXPORTER_VARIABLE, "")
    return any(n.strip() not in ("", "none") for n in names.split(","))
