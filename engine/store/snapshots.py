"""The JSON text of an execution's snapshot, re-using the text of the parts that did not change.

Owns: `SnapshotEncoder`, which writes `codec.state_to_json`'s value as the text `schema.encode`
writes for it (the same JSON, key order kept), but takes the text of a frame, or of a large
value inside one (a Map's items, its input, the outputs it keeps), from the execution's
previous snapshot when it is the very same object. Must never: hold more than the parts of
each execution's latest snapshot, or change what is stored.

Why: a Distributed Map's parent commits a snapshot for every child that answers, and its state
holds the Map's input (the execution input, up to 256 KiB), the items of a Map that keeps them
(since issue 16 a Standard parent's child executions read theirs from the store's
map_run_items instead), and for a Map run in process (or a failed one, for its redrive) the
outputs kept so far.
Encoding all of it for each batch written made a Map of N items cost O(N^2). The interpreter
copies a frame before it writes to it (interpreter/frames.py) and treats JSON values as
immutable, and codec.state_to_json hands back a frame's encoded dict unchanged while the frame
is (runtime/journal.py): the same object has the same text.
"""

from __future__ import annotations

import threading
import uuid
from typing import Final

from engine.store.schema import encode
from engine.values import JSON

_LARGE: Final = 64
"""Elements (of a list or dict, and of its list or dict members) from which a value's text
is kept for the next snapshot: below it, encoding again costs less than looking it up."""

_MARK: Final = f"asl-snapshot-part-{uuid.uuid4().hex}-"
"""Stands for a part in the text encoded around it (a random text no state holds)."""

_REMEMBERED_EXECUTIONS: Final = 4096

_Parts = dict[int, tuple[object, str]]  # id(value) -> (value, its text): the value kept alive


def _large(value: object) -> bool:
    if isinstance(value, list):
        return len(value) >= _LARGE
    if isinstance(value, dict):
        size = len(value)
        if size >= _LARGE:  # before the loop: the kept outputs of a Map hold 100,000 members
            return True
        for member in value.values():
            if isinstance(member, list | dict):
                size += len(member)
        return size >= _LARGE
    return False


class SnapshotEncoder:
    """Encodes snapshots for a store; one per store."""

    def __init__(self) -> None:
        self._parts: dict[str, _Parts] = {}  # by execution: the parts of its last snapshot
        self._lock = threading.Lock()  # a store's writes come from its journal thread, mostly

    def forget(self, execution_arn: str) -> None:
        """The execution closed: its parts are not needed again."""
        with self._lock:
            self._parts.pop(execution_arn, None)

    def encode(self, execution_arn: str, state: JSON) -> str:
        """`schema.encode(state)`, by parts (see the module docstring)."""
        with self._lock:
            return self._encode(execution_arn, state)

    def _encode(self, execution_arn: str, state: JSON) -> str:
        if not isinstance(state, dict) or not isinstance(state.get("frames"), dict):
            return encode(state)
        before = self._parts.pop(execution_arn, None) or {}
        now: _Parts = {}
        frames = state["frames"]
        assert isinstance(frames, dict)
        texts = []
        for frame_id, frame in frames.items():
            known = before.get(id(frame))
            if known is not None and known[0] is frame:
                text = known[1]
            else:
                text = self._with_parts(frame, before, now)
            now[id(frame)] = (frame, text)
            texts.append(f"{encode(frame_id)}:{text}")
        info = state.get("info")
        top = dict(state)
        top["frames"] = f"{_MARK}frames"
        top["info"] = f"{_MARK}info"
        text = encode(top)
        text = text.replace(encode(f"{_MARK}frames"), "{" + ",".join(texts) + "}", 1)
        text = text.replace(encode(f"{_MARK}info"), self._with_parts(info, before, now), 1)
        if len(self._parts) >= _REMEMBERED_EXECUTIONS:
            del self._parts[next(iter(self._parts))]
        self._parts[execution_arn] = now
        return text

    def _with_parts(self, value: JSON, before: _Parts, now: _Parts) -> str:
        """The text of a dict whose large members' texts are re-used (or remembered)."""
        if not isinstance(value, dict):
            return encode(value)
        large = [key for key, member in value.items() if _large(member)]
        if not large:
            return encode(value)
        shallow = dict(value)
        for key in large:
            shallow[key] = f"{_MARK}{key}"
        text = encode(shallow)
        for key in large:
            member = value[key]
            known = before.get(id(member)) or now.get(id(member))
            part = known[1] if known is not None and known[0] is member else encode(member)
            now[id(member)] = (member, part)
            text = text.replace(encode(f"{_MARK}{key}"), part, 1)
        return text
