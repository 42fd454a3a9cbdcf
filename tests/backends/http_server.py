"""A minimal HTTP/1.1 server on loopback for runner tests and the bench: one asyncio server,
keep-alive, Content-Length bodies only. A test gives it a plain function from request to
response; it records every request it got (method, path, headers, body) for the test to read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass(frozen=True, slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Awaitable[Response]]

_REASONS = {200: "OK", 202: "Accepted", 404: "Not Found", 500: "Internal Server Error"}


async def echo(request: Request) -> Response:
    """Answers every request with its own body, as an echo function returns its event."""
    return Response(200, request.body, {"Content-Type": "application/json"})


class HttpServer:
    """`async with HttpServer(handler) as server:` serves on `server.url` until the block ends."""

    def __init__(self, handler: Handler = echo, *, port: int = 0) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.connections = 0
        self._port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()  # each connection's reader then ends, and its handler returns
        await asyncio.gather(*self._tasks)
        await self._server.wait_closed()

    async def __aenter__(self) -> HttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(method, path, headers, body)
                self.requests.append(request)
                response = await self.handler(request)
                reason = _REASONS.get(response.status, "Status")
                out = [f"HTTP/1.1 {response.status} {reason}"]
                out += [f"{name}: {value}" for name, value in response.headers.items()]
                out.append(f"Content-Length: {len(response.body)}")
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + response.body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
