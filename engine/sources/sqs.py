"""Amazon SQS as a queue source, through the operator's AWS endpoint (`[aws]`).

Owns: ReceiveMessage (long polling, at most 10 per call as SQS allows), DeleteMessageBatch as
the ack, SendMessage of the body (and its message attributes) to the dead-letter queue. Must
never: call real AWS unless `[aws] allow_real_aws = true`, or block the event loop (botocore
runs on a thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from engine.backends.aws_endpoints import AwsClients, AwsSettings
from engine.errors import InvalidRequest
from engine.sources.base import Message

if TYPE_CHECKING:
    from botocore.client import BaseClient

_MAX_PER_CALL: Final = 10  # SQS's ReceiveMessage and DeleteMessageBatch limit


def _region_of(queue_url: str) -> str:
    """The region in an AWS queue URL (sqs.REGION.amazonaws.com), else us-east-1."""
    host = queue_url.split("/")[2] if "://" in queue_url else ""
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "sqs" else "us-east-1"


class SqsSource:
    def __init__(
        self,
        name: str,
        settings: AwsSettings,
        queue_url: str,
        *,
        dead_letter_queue_url: str | None = None,
        visibility_timeout: int | None = None,
    ) -> None:
        self.name = name
        self._queue_url = queue_url
        self._dead_letter_url = dead_letter_queue_url
        self._visibility = visibility_timeout
        endpoint = settings.endpoint_for("sqs")
        refused = settings.refusal("sqs", endpoint)
        if refused is not None:
            raise InvalidRequest("InvalidConfig", refused.cause or "real AWS is refused")
        clients = AwsClients(settings)
        self._client: BaseClient = clients.client(
            "sqs", endpoint, clients.region(_region_of(queue_url))
        )

    async def receive(self, max_messages: int, wait_seconds: float) -> list[Message]:
        request: dict[str, object] = {
            "QueueUrl": self._queue_url,
            "MaxNumberOfMessages": max(1, min(max_messages, _MAX_PER_CALL)),
            "WaitTimeSeconds": max(0, min(int(wait_seconds), 20)),
            "MessageAttributeNames": ["All"],
        }
        if self._visibility is not None:
            request["VisibilityTimeout"] = self._visibility
        answer = await asyncio.to_thread(self._client.receive_message, **request)
        return [
            Message(m["MessageId"], m["Body"], (m["ReceiptHandle"], m.get("MessageAttributes")))
            for m in answer.get("Messages", [])
        ]

    async def ack(self, messages: Sequence[Message]) -> None:
        for start in range(0, len(messages), _MAX_PER_CALL):
            entries = [
                {"Id": str(i), "ReceiptHandle": m.handle[0]}  # type: ignore[index]
                for i, m in enumerate(messages[start : start + _MAX_PER_CALL])
            ]
            await asyncio.to_thread(
                self._client.delete_message_batch, QueueUrl=self._queue_url, Entries=entries
            )

    async def dead_letter(self, message: Message, reason: str) -> None:
        if self._dead_letter_url is None:
            return
        request: dict[str, object] = {
            "QueueUrl": self._dead_letter_url,
            "MessageBody": message.body,
        }
        attributes = message.handle[1]  # type: ignore[index]
        if attributes:
            request["MessageAttributes"] = attributes
        await asyncio.to_thread(self._client.send_message, **request)

    async def aclose(self) -> None:
        return None
