"""The destinations of status-change events: signed webhooks and EventBridge's PutEvents.

Owns: how one event is sent to each kind of destination and what counts as taken: a webhook
answers 2xx to a POST of the event's JSON, signed `X-Asl-Signature-256: sha256=<hex HMAC-SHA256
of the body>` with the operator's secret; EventBridge's PutEvents reports no failed entry.
Must never: retry (the dispatcher in outbox.py does, with back-off), raise for a failed
delivery (it returns the reason), or send to real AWS unless the operator allowed it
(`[aws] allow_real_aws`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import httpx2

from engine.backends.aws_endpoints import AwsClients, AwsSettings
from engine.runtime.outbox import RetryPolicy
from engine.values import JSON, dumps

if TYPE_CHECKING:
    from botocore.client import BaseClient

SIGNATURE_HEADER: Final = "X-Asl-Signature-256"
EVENT_ID_HEADER: Final = "X-Asl-Event-Id"
DEFAULT_REGION: Final = "us-east-1"


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhook:
    """POST each event to a URL, signed with the webhook's secret."""

    def __init__(
        self,
        name: str,
        url: str,
        secret: str,
        *,
        policy: RetryPolicy,
        dead_letter: Path,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.name = f"webhook:{name}"
        self.url = url
        self._secret = secret
        self.policy = policy
        self.dead_letter = dead_letter
        self._timeout = timeout_seconds
        self._client: httpx2.AsyncClient | None = None

    async def send(self, event: JSON) -> str | None:
        if self._client is None:
            self._client = httpx2.AsyncClient(trust_env=False, timeout=self._timeout)
        body = dumps(event).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self._secret, body),
        }
        if isinstance(event, dict) and isinstance(event.get("id"), str):
            headers[EVENT_ID_HEADER] = str(event["id"])
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code} from {self.url}"

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class EventBridge:
    """PutEvents of each event to an event bus through the operator's AWS endpoint."""

    def __init__(
        self,
        settings: AwsSettings,
        *,
        bus: str = "default",
        source: str = "aws.states",
        policy: RetryPolicy,
        dead_letter: Path,
    ) -> None:
        self.name = "eventbridge"
        self.policy = policy
        self.dead_letter = dead_letter
        self._settings = settings
        self._bus = bus
        self._source = source
        self._clients = AwsClients(settings)
        self._endpoint = settings.endpoint_for("events")

    def _client(self, region: str) -> BaseClient:
        return self._clients.client("events", self._endpoint, self._clients.region(region))

    async def send(self, event: JSON) -> str | None:
        refused = self._settings.refusal("events", self._endpoint)
        if refused is not None:
            return refused.cause
        assert isinstance(event, dict)
        region = event.get("region")
        entry = {
            "Source": self._source,
            "DetailType": event["detail-type"],
            "Detail": dumps(event["detail"]),
            "Resources": event["resources"],
            "Time": datetime.strptime(str(event["time"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
            "EventBusName": self._bus,
        }
        client = self._client(region if isinstance(region, str) else DEFAULT_REGION)
        try:
            answer = await asyncio.to_thread(client.put_events, Entries=[entry])
        except Exception as exc:  # botocore's edge: any failure is a failed attempt
            return f"{type(exc).__name__}: {exc}"
        if answer.get("FailedEntryCount"):
            failed = answer["Entries"][0]
            return f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
        return None

    async def aclose(self) -> None:
        return None
