"""The store and the service a durable command works on, opened and closed around it.

Owns: opening the store (`--store URL`, else `ASL_STORE`, else `sqlite:///<data dir>/asl.db`
with the data dir from `ASL_HOME` or a per-user directory), building the `Service` with the
command's functions, config and mock config, running the command's coroutine in a fresh event
loop, and turning the engine's errors into a usage error (exit 2). Must never: decide
semantics, or drive executions unless the command asks for a worker.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal

from engine.cli.common import (
    UsageError,
    config_of,
    load_functions,
    load_mock_config_option,
    mock_config_path,
)

if TYPE_CHECKING:
    from engine.config import AslConfig
    from engine.service import Service


def with_service(
    args: argparse.Namespace,
    work: Callable[[Service], Awaitable[int]],
    *,
    worker: bool = False,
    functions: list[str] | None = None,
    virtual_time: bool = False,
    only: set[str] | None = None,
    functions_config: AslConfig | Literal["file"] | None = "file",
) -> int:
    """Run `work(service)` on the command's store; returns its exit status.

    `worker=True` makes the service drive executions (the worker loop runs once the command
    calls `service.start()`); `only` limits it to those executions (`asl start` drives the one
    it started, never others a later `asl worker` should run). `functions_config` is the
    command's own config when it built one (`asl start --template` adds the template's
    functions); by default, the config file's.
    """
    import asyncio  # lazily: every `asl` command builds the parser

    from engine.errors import EngineError
    from engine.runtime.clock import RealClock, VirtualClock
    from engine.runtime.heap import tune_for_throughput
    from engine.service import Service, ServiceConfig
    from engine.store.open import open_store

    loaded = load_functions(functions or [])
    config = config_of(args) if functions_config == "file" else functions_config
    mock_config = load_mock_config_option(
        mock_config_path(getattr(args, "mock_config", None), config)
    )
    try:
        store = open_store(args.store)
    except EngineError as exc:
        raise UsageError(f"{exc.code}: {exc.message}") from None

    async def main() -> int:
        tune_for_throughput()  # after the imports: see engine/runtime/heap.py
        clock = VirtualClock() if virtual_time else RealClock()
        service = Service(
            store,
            functions=loaded,
            functions_config=config,
            clock=clock,
            config=ServiceConfig(worker=worker),
            mock_config=mock_config,
        )
        if only is not None:
            service.worker.only = only
        try:
            return await work(service)
        finally:
            await service.aclose()

    try:
        return asyncio.run(main())
    except EngineError as exc:
        raise UsageError(f"{exc.code}: {exc.message}") from None
    finally:
        store.close()
