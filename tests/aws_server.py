"""moto's standalone server on a free loopback port: the AWS endpoint the tests call.

`moto_endpoint` (session-scoped) starts one `ThreadedMotoServer` for the whole run and gives
its URL; `aws_env` gives the environment a subprocess (`asl run`, `asl serve`) needs to reach
it. moto's server is a real HTTP server: requests go over a socket through botocore exactly as
to AWS; no mocking library sits in the request path. Each test makes its own resources with
unique names (`unique_name`), so tests sharing the server do not see each other's data.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto server running for the whole test session."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    # No Docker here: moto's Lambda answers an Invoke with its request payload instead of
    # running the function ("lambda simple", moto/awslambda_simple).
    import urllib.request

    body = json.dumps({"lambda": {"use_docker": False}}).encode()
    request = urllib.request.Request(f"{url}/moto-api/config", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    try:
        yield url
    finally:
        server.stop()


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def aws_client(service: str, endpoint: str) -> Any:
    """A boto3 client of moto's server, for setting resources up and checking them."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)


def aws_env(endpoint: str, **extra: str) -> dict[str, str]:
    """The environment of a subprocess calling moto through AWS_ENDPOINT_URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
    )
    env.update(extra)
    return env
