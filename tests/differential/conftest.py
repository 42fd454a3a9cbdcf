"""Fixtures of the differential tests: each path once per session (the tally of machines tried
is tests/differential/tally.py, printed by tests/conftest.py).

`aws_paths` are the same paths given moto's server as their AWS endpoint: a second set, built
only for the tests that ask for it, so the other paths keep running without one (a generated
machine's unserved resource must stay unserved, not reach moto). moto's server is the session
one (tests/aws_server.py), started before these paths are built: the endpoint is part of each
path from its start, `[aws]` config in process and AWS_ENDPOINT_URL in each process's
environment (`asl serve` gets it when it starts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.config import load_config
from engine.store.base import Store
from tests.aws.helpers import aws_config
from tests.aws_server import aws_env
from tests.differential.paths import (
    CrashPath,
    DetachPath,
    EnginePath,
    Path_,
    RunPath,
    Scratch,
    ServePath,
    ServicePath,
    StartPath,
    open_path_store,
    serve,
)
from tests.store import postgres_schema, postgres_url


@pytest.fixture(scope="session")
def engine_path() -> EnginePath:
    return EnginePath()


@pytest.fixture(scope="session")
def service_paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServicePath]]:
    """The Service on memory and SQLite, and on PostgreSQL when ASL_TEST_POSTGRES_URL is set."""
    folder = tmp_path_factory.mktemp("service")
    stores: list[tuple[str, Store]] = [
        ("memory", open_path_store("memory", folder, None)),
        ("sqlite", open_path_store("sqlite", folder, None)),
    ]
    url = postgres_url()
    schema = postgres_schema(url) if url is not None else None
    if schema is not None:
        stores.append(("postgresql", open_path_store("postgresql", folder, schema.__enter__())))
    try:
        yield [ServicePath(kind, store) for kind, store in stores]
    finally:
        for _, store in stores:
            store.close()
        if schema is not None:
            schema.__exit__(None, None, None)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    return Scratch(tmp_path_factory.mktemp("processes"))


@pytest.fixture(scope="session")
def serve_path(scratch: Scratch) -> Iterator[ServePath]:
    with serve(scratch) as client:
        yield ServePath(client)


@pytest.fixture(scope="session")
def process_paths(scratch: Scratch, serve_path: ServePath) -> list[Path_]:
    return [
        RunPath(scratch),
        StartPath(scratch),
        DetachPath(scratch),
        serve_path,
        CrashPath(scratch),
    ]


@pytest.fixture(scope="session")
def aws_paths(
    moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory, service_paths: list[ServicePath]
) -> Iterator[list[Path_]]:
    """Every path, each calling moto's server for the AWS integrations: the Engine, the
    Service on each store (the stores of `service_paths`), `asl run`, `asl start` attached and
    detached with `asl worker`, `asl serve` through boto3, a killed and resumed worker."""
    folder = tmp_path_factory.mktemp("aws")
    config = load_config(aws_config(folder, moto_endpoint))
    environment = {k: v for k, v in aws_env(moto_endpoint).items() if k.startswith("AWS_")}
    scratch = Scratch(folder / "processes", env=environment)
    with serve(scratch) as client:
        yield [
            EnginePath(config),
            *[ServicePath(path.kind, path.store, config) for path in service_paths],
            RunPath(scratch),
            StartPath(scratch),
            DetachPath(scratch),
            ServePath(client),
            CrashPath(scratch),
        ]
