"""What every queue source is to the runner: messages in, acks and dead letters out.

Owns: `Message` (an id that names the execution, the body that is its input, a handle the
queue needs to ack it) and the `QueueSource` Protocol. Must never: start an execution or
decide when to ack (runner.py does).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

_NAME_UNSAFE: Final = re.compile(r"[^0-9A-Za-z_-]")


@dataclass(frozen=True, slots=True)
class Message:
    """One message: `id` is the queue's own message id (stable across redeliveries)."""

    id: str
    body: str
    handle: object  # what the queue needs to ack or reject this delivery


def execution_name(message_id: str) -> str:
    """The execution name of a message: its id when it is a valid name (SQS's UUIDs, Redis's
    `1700000000000-0`), else a digest of it, so one message always names one execution."""
    if 0 < len(message_id) <= 80 and not _NAME_UNSAFE.search(message_id):
        return message_id
    return "msg-" + hashlib.sha256(message_id.encode()).hexdigest()[:64]


class QueueSource(Protocol):
    name: str

    async def receive(self, max_messages: int, wait_seconds: float) -> list[Message]:
        """Up to `max_messages`, waiting at most `wait_seconds` for the first one."""
        ...

    async def ack(self, messages: Sequence[Message]) -> None:
        """Remove the messages from the queue: they will not be delivered again."""
        ...

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Send the message's body to the source's dead-letter queue (none: nothing)."""
        ...

    async def aclose(self) -> None: ...
