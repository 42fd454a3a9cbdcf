"""`asl serve` as a real child process, and a boto3 client for it: for the tests that check
what only a whole process shows (flags, environment variables, the printed address)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config


@contextmanager
def serve_process(args: Sequence[str], env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run `asl serve --store memory:// --port 0 ARGS...`; yields its URL once it listens."""
    command = [
        sys.executable,
        "-m",
        "engine.cli",
        "serve",
        "--store",
        "memory://",
        "--port",
        "0",
        *args,
    ]
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:  # uvicorn says where it listens once it does
            if "Uvicorn running on " in line:
                url = line.split("Uvicorn running on ", 1)[1].split(" ", 1)[0]
                break
        assert url is not None, "asl serve exited before listening"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def sfn_client(url: str) -> Any:
    """A Step Functions client for `url`: one attempt, no host prefix (keeps sync calls local)."""
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, inject_host_prefix=False),
    )
