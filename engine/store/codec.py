"""Turn interpreter values into JSON and back, so a store can keep them.

Owns: the stored form of `ExecutionState` (the frame tree, counters, outcome), of the events a
store queues for a worker (stop, task callbacks, heartbeats), and of history events (rendered to
AWS's shape once, when committed). Must never: interpret what it encodes. The format carries a
`v` number; a change to it needs a new number and a reader for the old one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields
from typing import Final, cast

from engine.interpreter.failures import Failure
from engine.interpreter.frames import (
    ExecutionInfo,
    ExecutionState,
    ExecutionStatus,
    Frame,
    Phase,
)
from engine.interpreter.history import HistoryEvent, details_key, render_details
from engine.interpreter.messages import (
    ActivityStarted,
    Event,
    MapRunUpdate,
    Redrive,
    StopRequested,
    TaskCallback,
    TaskFinished,
    TaskHeartbeat,
    TimerFired,
)
from engine.interpreter.tasks import TaskFailure, TaskResult, TaskSuccess
from engine.store.base import StoredEvent
from engine.values import JSON

FORMAT_VERSION = 1

_TUPLE_FIELDS = frozenset({"retry_attempts", "child_ids", "items", "batch_sizes"})


def failure_to_json(failure: Failure | None) -> JSON:
    if failure is None:
        return None
    return {"error": failure.error, "cause": failure.cause}


def failure_from_json(value: JSON) -> Failure | None:
    if not isinstance(value, dict):
        return None
    cause = value.get("cause")
    return Failure(str(value.get("error")), cause if isinstance(cause, str) else None)


_FRAME_FIELDS: Final = tuple(f.name for f in fields(Frame))
_FRAME_NAMES: Final = frozenset(_FRAME_FIELDS)
_INFO_FIELDS: Final = tuple(f.name for f in fields(ExecutionInfo))
_INFO_NAMES: Final = frozenset(_INFO_FIELDS)


def _frame_encoder_source() -> str:
    """The body of `frame_to_json`: one dict display over the fields, each converted as its
    type needs. Generated from the field names (as frames.py generates `clone`): reading the
    fields by `getattr` in a loop cost ~50 us a frame, and a step's commit encodes every
    frame of the execution that changed."""
    parts = []
    for name in _FRAME_FIELDS:
        value = f"frame.{name}"
        if name == "failure":
            value = f"_failure({value})"
        elif name == "phase":
            value = f"{value}.value"
        elif name == "items":
            continue  # added by the caller: see `_encode`
        elif name in _TUPLE_FIELDS:
            value = f"list({value})"
        elif name == "variables":
            value = f"dict({value})"
        elif name == "tolerated_count":
            value = f"_tolerated({value})"
        parts.append(f"{name!r}: {value}")
    return "def frame_to_json(frame):\n    return {" + ", ".join(parts) + "}\n"


def _tolerated(value: float) -> JSON:
    return "inf" if value == math.inf else value


def _build_frame_encoder() -> Callable[[Frame], dict[str, JSON]]:
    namespace: dict[str, object] = {"_failure": failure_to_json, "_tolerated": _tolerated}
    exec(_frame_encoder_source(), namespace)  # noqa: S102  (generated from our own field names)
    return cast(Callable[[Frame], dict[str, JSON]], namespace["frame_to_json"])


_encode_fields: Final = _build_frame_encoder()


def frame_to_json(frame: Frame, items: list[JSON] | None = None) -> dict[str, JSON]:
    """A frame's stored form: a dict of its fields. `items`: `frame.items` as a list already
    (a Map's items stay the same object while it runs; copying them per step cost O(items))."""
    out = _encode_fields(frame)
    out["items"] = list(frame.items) if items is None else items
    return out


def frame_from_json(value: dict[str, JSON]) -> Frame:
    kwargs: dict[str, object] = {}
    for key, item in value.items():
        if key not in _FRAME_NAMES:
            continue
        if key == "failure":
            kwargs[key] = failure_from_json(item)
        elif key == "phase":
            kwargs[key] = Phase(str(item))
        elif key in _TUPLE_FIELDS:
            kwargs[key] = tuple(cast(list[JSON], item))
        elif key == "tolerated_count":
            kwargs[key] = float("inf") if item == "inf" else float(cast(float, item))
        else:
            kwargs[key] = item
    return Frame(**kwargs)  # type: ignore[arg-type]


def info_to_json(info: ExecutionInfo) -> dict[str, JSON]:
    return {name: getattr(info, name) for name in _INFO_FIELDS}


def info_from_json(value: dict[str, JSON]) -> ExecutionInfo:
    known = {k: v for k, v in value.items() if k in _INFO_NAMES}
    return ExecutionInfo(**known)  # type: ignore[arg-type]


FrameCache = dict[str, tuple[Frame, dict[str, JSON]]]
"""An execution's frames as last encoded, by frame id (see `state_to_json`)."""


def state_to_json(state: ExecutionState, cache: FrameCache | None = None) -> dict[str, JSON]:
    """The stored form of `state`. With `cache` (the same dict for each snapshot of one
    execution), a frame that is the very object encoded last time keeps its encoded form:
    `step` copies a frame before it writes to it (frames.py), so an unchanged object has
    unchanged fields, and a step that answers one Map child re-encodes that child and the
    Map, not the other children in flight. The cache is left holding this state's frames."""
    frames: dict[str, JSON]
    if cache is None:
        frames = {fid: frame_to_json(frame) for fid, frame in state.frames.items()}
    else:
        frames = {}
        for fid, frame in state.frames.items():
            known = cache.get(fid)
            if known is not None and known[0] is frame:
                frames[fid] = known[1]
            else:
                items = None
                if known is not None and known[0].items is frame.items:
                    items = cast(list[JSON], known[1]["items"])
                encoded = frame_to_json(frame, items)
                cache[fid] = (frame, encoded)
                frames[fid] = encoded
        if len(cache) > len(frames):
            for gone in [fid for fid in cache if fid not in state.frames]:
                del cache[gone]
    return {
        "v": FORMAT_VERSION,
        "info": info_to_json(state.info),
        "frames": frames,
        "status": state.status.value,
        "next_event_id": state.next_event_id,
        "sequence": state.sequence,
        "output": state.output,
        "failure": failure_to_json(state.failure),
        "timeout_timer_id": state.timeout_timer_id,
    }


def state_from_json(value: JSON) -> ExecutionState:
    if not isinstance(value, dict) or value.get("v") != FORMAT_VERSION:
        raise ValueError("not a stored execution state of a known format version")
    frames_json = cast(dict[str, dict[str, JSON]], value["frames"])
    timeout_timer = value.get("timeout_timer_id")
    return ExecutionState(
        info=info_from_json(cast(dict[str, JSON], value["info"])),
        frames={fid: frame_from_json(f) for fid, f in frames_json.items()},
        status=ExecutionStatus(str(value["status"])),
        next_event_id=int(cast(int, value["next_event_id"])),
        sequence=int(cast(int, value["sequence"])),
        output=value.get("output"),
        failure=failure_from_json(value.get("failure")),
        timeout_timer_id=timeout_timer if isinstance(timeout_timer, str) else None,
    )


def result_to_json(result: TaskResult) -> dict[str, JSON]:
    if isinstance(result, TaskSuccess):
        if result.final:
            return {"ok": True, "output": result.output, "final": True}
        return {"ok": True, "output": result.output}
    return {"ok": False, "error": result.error, "cause": result.cause}


def result_from_json(value: dict[str, JSON]) -> TaskResult:
    if value.get("ok"):
        return TaskSuccess(value.get("output"), final=value.get("final") is True)
    cause = value.get("cause")
    return TaskFailure(str(value.get("error")), cause if isinstance(cause, str) else None)


def event_to_json(event: Event) -> dict[str, JSON]:
    """Events that cross process boundaries through a store's inbox."""
    if isinstance(event, Redrive):
        if event.parent_token is not None:
            return {"kind": "redrive", "now": event.now, "parent_token": event.parent_token}
        return {"kind": "redrive", "now": event.now}
    if isinstance(event, StopRequested):
        return {"kind": "stop", "error": event.error, "cause": event.cause, "now": event.now}
    if isinstance(event, TaskCallback):
        return {
            "kind": "callback",
            "token": event.token,
            "result": result_to_json(event.result),
            "now": event.now,
        }
    if isinstance(event, TaskHeartbeat):
        return {"kind": "heartbeat", "token": event.token, "now": event.now}
    if isinstance(event, TaskFinished):
        return {
            "kind": "finished",
            "frame_id": event.frame_id,
            "task_id": event.task_id,
            "result": result_to_json(event.result),
            "now": event.now,
        }
    if isinstance(event, TimerFired):
        return {"kind": "timer", "timer_id": event.timer_id, "now": event.now}
    if isinstance(event, ActivityStarted):
        return {
            "kind": "activity_started",
            "token": event.token,
            "worker_name": event.worker_name,
            "now": event.now,
        }
    if isinstance(event, MapRunUpdate):
        return {
            "kind": "map_run_update",
            "map_run_arn": event.map_run_arn,
            "max_concurrency": event.max_concurrency,
            "tolerated_failure_count": event.tolerated_failure_count,
            "tolerated_failure_percentage": event.tolerated_failure_percentage,
            "now": event.now,
        }
    raise ValueError(f"{type(event).__name__} is not stored in an inbox")


def event_from_json(value: JSON) -> Event:
    if not isinstance(value, dict):
        raise ValueError("not a stored event")
    kind = value.get("kind")
    now = float(cast(float, value.get("now", 0.0)))
    if kind == "redrive":
        token = value.get("parent_token")
        return Redrive(now, token if isinstance(token, str) else None)
    if kind == "stop":
        error, cause = value.get("error"), value.get("cause")
        return StopRequested(
            error if isinstance(error, str) else None,
            cause if isinstance(cause, str) else None,
            now,
        )
    if kind == "callback":
        result = result_from_json(cast(dict[str, JSON], value["result"]))
        return TaskCallback(str(value["token"]), result, now)
    if kind == "heartbeat":
        return TaskHeartbeat(str(value["token"]), now)
    if kind == "finished":
        result = result_from_json(cast(dict[str, JSON], value["result"]))
        return TaskFinished(str(value["frame_id"]), str(value["task_id"]), result, now)
    if kind == "timer":
        return TimerFired(str(value["timer_id"]), now)
    if kind == "map_run_update":
        concurrency = value.get("max_concurrency")
        count = value.get("tolerated_failure_count")
        percentage = value.get("tolerated_failure_percentage")
        return MapRunUpdate(
            str(value["map_run_arn"]),
            concurrency if isinstance(concurrency, int) else None,
            count if isinstance(count, int) else None,
            float(percentage) if isinstance(percentage, int | float) else None,
            now,
        )
    if kind == "activity_started":
        worker = value.get("worker_name")
        return ActivityStarted(
            str(value["token"]), worker if isinstance(worker, str) else None, now
        )
    raise ValueError(f"unknown stored event kind {kind!r}")


def stored_event(
    execution_arn: str, event: HistoryEvent, rendered_payloads: dict[int, str] | None = None
) -> StoredEvent:
    """Render a history event's details once, as AWS shows them, for storage
    (`rendered_payloads`: see `render_details`)."""
    details: JSON = None
    if event.details is not None:
        rendered = render_details(event.details, rendered_payloads=rendered_payloads)
        details = {details_key(event.type): rendered}
    return StoredEvent(
        execution_arn=execution_arn,
        id=event.id,
        previous_event_id=event.previous_event_id,
        timestamp=event.timestamp,
        type=event.type,
        details=details,
    )
