"""Compact forms the memory store keeps of what a closed execution no longer changes.

Owns: `pack_history`/`unpack_history` (an execution's history events as one compressed JSON
text). Must never: change a value: what is unpacked equals what was packed (key order kept).

Why: the memory store held every closed execution's history as Python objects (a dict per
event's details, ~1 KiB an event): with its status-change events, a Distributed Map of
100,000 child executions took ~7 KiB a child, 800 MiB in all. Packed, a child's history
takes a few hundred bytes, decoded on read (GetExecutionHistory), which is rare next to
writing it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Final, NamedTuple

from engine.store.base import StoredEvent
from engine.values import JSON, dumps

_LEVEL: Final = 1
"""zlib's fastest level: the texts are small and repetitive, so it already halves them."""


def _compress(value: JSON) -> bytes:
    # surrogatepass: a handler may return a lone surrogate, which UTF-8 cannot encode
    return zlib.compress(dumps(value).encode("utf-8", "surrogatepass"), _LEVEL)


def _text(blob: bytes) -> str:
    return zlib.decompress(blob).decode("utf-8", "surrogatepass")


class PackedHistory(NamedTuple):
    """A closed execution's history: the newest event's id (what claims compare) and the
    events as compressed JSON."""

    last_id: int
    blob: bytes


def pack_history(events: Sequence[StoredEvent]) -> PackedHistory:
    rows: list[JSON] = [[e.id, e.previous_event_id, e.timestamp, e.type, e.details] for e in events]
    last = events[-1].id if events else 0
    return PackedHistory(last, _compress(rows))


def unpack_history(execution_arn: str, packed: PackedHistory) -> list[StoredEvent]:
    rows = json.loads(_text(packed.blob))
    return [
        StoredEvent(execution_arn, event_id, previous, timestamp, kind, details)
        for event_id, previous, timestamp, kind, details in rows
    ]
