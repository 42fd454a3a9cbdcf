"""The service's settings and AWS's limits it enforces.

Owns: `ServiceConfig` (region, account, retention, leases, the worker switch) and the limits of
the Step Functions API the service applies (definition size, tags, redrive window, token
length). Must never: import the rest of the service.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.embedded import ACCOUNT, REGION
from engine.store.base import DEFAULT_LEASE_SECONDS, DEFAULT_RETENTION_SECONDS

DEFAULT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/asl-engine"
DEFINITION_LIMIT_BYTES = 1024 * 1024
MAX_TAGS = 50  # AWS: "Maximum number of tags per resource"
REDRIVE_WINDOW_SECONDS = 14 * 24 * 3600
MACHINE_CACHE_SECONDS = 1.0
MAX_TOKEN_LENGTH = 2048  # API reference, SendTaskSuccess: taskToken is 1 to 2048 characters
RETENTION_INTERVAL_SECONDS = 3600.0
STARTS_REMEMBERED = 10_000

MAX_REDRIVES = 1000


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    region: str = REGION
    account: str = ACCOUNT
    retention_seconds: float = DEFAULT_RETENTION_SECONDS
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    poll_seconds: float = 0.25
    worker: bool = True  # drive executions in this process (False: an API-only process)
    seed: int | None = None
    claim_batch: int = 1000  # executions a worker claims per store round trip
