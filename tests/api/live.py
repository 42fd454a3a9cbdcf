"""A live server for API tests: uvicorn on a free loopback port, in a thread with its own loop.

The listening socket is bound and listening before the thread starts, so clients can connect at
once (the kernel queues them until uvicorn accepts): no waiting for start-up.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvicorn

from api.app import create_app
from engine.backends.mocks import MockConfig
from engine.runtime.clock import Clock
from engine.service import Service, ServiceConfig
from engine.store.base import Store
from engine.store.memory import MemoryStore

T = TypeVar("T")


class LiveServer:
    def __init__(
        self,
        store: Store | None = None,
        *,
        functions: dict[str, Callable[..., object]] | None = None,
        token: str | None = None,
        activity_wait_seconds: float = 5.0,
        mock_config: MockConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store or MemoryStore()
        self.service = Service(
            self.store,
            functions=functions,
            config=ServiceConfig(seed=7),
            mock_config=mock_config,
            clock=clock,
        )
        self.app = create_app(
            self.service, token=token, activity_wait_seconds=activity_wait_seconds
        )
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="live-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.loop.close()
        self.sock.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the server's loop (e.g. `service.wait_for(arn)`)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def wait(self, arn: str) -> str:
        """Block until the execution closes; its status."""
        return self.call(self.service.wait_for(arn)).status
