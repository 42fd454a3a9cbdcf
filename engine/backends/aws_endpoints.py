"""Where AWS service integrations send their calls: the operator's endpoints and credentials.

Owns: `AwsSettings` (asl.toml `[aws]` and the environment's `AWS_ENDPOINT_URL` variables),
choosing a service's endpoint, refusing real AWS unless `allow_real_aws = true`, and the
credentials a client signs with (fixed dummy ones for a local endpoint when the chain has
none). Must never: call a service (aws_sdk.py does), or take an endpoint from a workflow
definition or an API client: only the operator's file and environment reach here.

Endpoint of a service, first found (botocore's own order, with asl.toml before the environment
at each level): `[aws.endpoints] <service>`, `AWS_ENDPOINT_URL_<SERVICE>`, `[aws] endpoint_url`,
`AWS_ENDPOINT_URL`. No endpoint, or a host under amazonaws.com / api.aws, is real AWS.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from engine.definition.aws_services import botocore_service
from engine.errors import STATES_RUNTIME
from engine.interpreter.tasks import TaskFailure

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.session import Session

__all__ = [
    "DUMMY_ACCESS_KEY",
    "AwsClients",
    "AwsSettings",
    "env_var_for",
    "is_real_aws",
]

DUMMY_ACCESS_KEY: Final = "asl-local"
"""Access key and secret a local endpoint is signed with when the credential chain has none
(moto and LocalStack accept any)."""

_REAL_AWS_HOSTS: Final = ("amazonaws.com", "amazonaws.com.cn", "api.aws")
_PLAIN_VARIABLES: Final = frozenset({"lambda", "dynamodb", "sqs", "sns", "s3"})
"""Services whose endpoint variable is their name in capitals (botocore renames others)."""


@dataclass(frozen=True, slots=True)
class AwsSettings:
    """The operator's AWS settings: `[aws]` of asl.toml and the environment."""

    endpoint_url: str | None = None
    endpoints: Mapping[str, str] = field(default_factory=dict)
    region: str | None = None
    allow_real_aws: bool = False
    configured: bool = False  # an [aws] table exists
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def enabled(self) -> bool:
        """Whether service integrations call AWS endpoints at all: an `[aws]` table, or an
        `AWS_ENDPOINT_URL*` variable. Otherwise an unmapped integration fails as before."""
        return self.configured or any(k.startswith("AWS_ENDPOINT_URL") for k in self.environ)

    def endpoint_for(self, service: str) -> str | None:
        """The endpoint URL for botocore's `service` name, or None (real AWS)."""
        for key in (service, _sfn_key(service)):
            if key in self.endpoints:
                return self.endpoints[key]
        return (
            self.environ.get(env_var_for(service))
            or self.endpoint_url
            or self.environ.get("AWS_ENDPOINT_URL")
            or None
        )

    def refusal(self, service: str, endpoint: str | None) -> TaskFailure | None:
        """The failure of a call to real AWS without `allow_real_aws = true`, else None."""
        if self.allow_real_aws or (endpoint is not None and not is_real_aws(endpoint)):
            return None
        variable = env_var_for(service)
        where = (
            f"no endpoint is configured for '{service}'"
            if endpoint is None
            else f"its endpoint {endpoint} is real AWS"
        )
        return TaskFailure(
            STATES_RUNTIME,
            f"Calling AWS service '{service}' is refused: {where}. Point it at a local endpoint "
            f"([aws.endpoints] {service} = URL or [aws] endpoint_url in asl.toml, or "
            f"{variable} / AWS_ENDPOINT_URL), or set [aws] allow_real_aws = true to call real "
            "AWS with your credentials (docs/integrations.md).",
        )


def _sfn_key(service: str) -> str:
    # `[aws.endpoints]` may name a service as Step Functions does (`eventbridge`, `sfn`).
    for sfn, boto in (("eventbridge", "events"), ("sfn", "stepfunctions")):
        if boto == service:
            return sfn
    return service


def endpoint_key(name: str) -> str | None:
    """botocore's name for an `[aws.endpoints]` key (botocore's or Step Functions' spelling),
    or None when no AWS service has that name."""
    try:
        from botocore.session import get_session

        if name in get_session().get_available_services():
            return name
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return None
    return botocore_service(name)


def env_var_for(service: str) -> str:
    """botocore's per-service endpoint variable: `AWS_ENDPOINT_URL_DYNAMODB`,
    `AWS_ENDPOINT_URL_EVENTBRIDGE` for `events` (botocore's configprovider.py)."""
    if service in _PLAIN_VARIABLES:  # answered without importing botocore (on the loop)
        return "AWS_ENDPOINT_URL_" + service.upper()
    from botocore.utils import CLIENT_NAME_TO_HYPHENIZED_SERVICE_ID_OVERRIDES as renamed

    return "AWS_ENDPOINT_URL_" + str(renamed.get(service, service)).replace("-", "_").upper()


def is_real_aws(url: str) -> bool:
    """A URL on AWS's own domains."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in _REAL_AWS_HOSTS)


class AwsClients:
    """botocore clients, one per (service, endpoint, region), made on first use.

    Thread-safe: calls run on pool threads. botocore is imported by the first client.
    """

    def __init__(self, settings: AwsSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._clients: dict[tuple[str, str | None, str], BaseClient] = {}

    def region(self, fallback: str) -> str:
        """`[aws] region`, else the chain's (AWS_REGION, AWS_DEFAULT_REGION, profile), else
        the execution's region."""
        if self._settings.region:
            return self._settings.region
        # AWS_REGION as the other SDKs read it; botocore itself reads AWS_DEFAULT_REGION only.
        region = self._settings.environ.get("AWS_REGION")
        if region:
            return region
        with self._lock:
            configured = self._botocore_session().get_config_variable("region")
        return str(configured) if configured else fallback

    def client(self, service: str, endpoint: str | None, region: str) -> BaseClient:
        key = (service, endpoint, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._make(service, endpoint, region)
            return client

    def _botocore_session(self) -> Session:
        if self._session is None:
            from botocore.session import Session

            self._session = Session()
        return self._session

    def _make(self, service: str, endpoint: str | None, region: str) -> BaseClient:
        from botocore.config import Config

        session = self._botocore_session()
        keys: dict[str, str] = {}
        if endpoint is not None and not is_real_aws(endpoint) and not _has_credentials(session):
            keys = {"aws_access_key_id": DUMMY_ACCESS_KEY, "aws_secret_access_key": "asl-local"}
        config = Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"mode": "standard", "max_attempts": 3},
        )
        client = session.create_client(
            service, region_name=region, endpoint_url=endpoint, config=config, **keys
        )
        _jitter_from_the_os(client)
        return client


_OS_RANDOM: Final = random.SystemRandom()


def _jitter_from_the_os(client: BaseClient) -> None:
    """Give the client's retry backoff the OS's generator.

    botocore's standard retry mode draws its jitter from `random`'s shared generator
    (`ExponentialBackoff(random=random.random)`), here on pool threads: a retried call would
    move a user's seeded sequence under them (and trips Hypothesis's check that a strategy
    leaves `random` alone). botocore has no setting for it, so the one backoff object its
    `register_retry_handler` made is reached through the emitter's unique-id registry.
    """
    service = client.meta.service_model.service_id.hyphenize()
    emitter = getattr(client.meta.events, "_emitter", None)
    entry = getattr(emitter, "_unique_id_handlers", {}).get(f"retry-config-{service}") or {}
    handler = getattr(entry.get("handler"), "__self__", None)
    backoff = getattr(getattr(handler, "_retry_policy", None), "_retry_backoff", None)
    if backoff is not None and hasattr(backoff, "_random"):
        backoff._random = _OS_RANDOM.random


def _has_credentials(session: Session) -> bool:
    """Whether the chain has credentials, without asking the instance or container metadata
    services (a network call that takes seconds where there is none)."""
    from botocore.credentials import create_credential_resolver

    resolver = create_credential_resolver(session)
    for name in ("container-role", "iam-role"):
        try:
            resolver.remove(name)
        except ValueError:  # pragma: no cover - botocore renamed a provider
            continue
    return resolver.load_credentials() is not None
