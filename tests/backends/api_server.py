"""A real HTTP API on loopback for the HTTP Task's tests: a standard-library server in a thread.

Every request is recorded (method, path, query string, headers in the order and case they came,
body) for the test to read; the answer comes from a plain function of the request, so one test
can be a JSON API, a text API, a 404, an OAuth token endpoint and a server that stalls. A
thread, not the test's event loop: the same server answers an in-process Engine, an `asl run`
process and an `asl serve` process alike.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the server got it."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key.lower() == name.lower()]
        return found[-1] if found else None

    def header_names(self) -> list[str]:
        return [key for key, _ in self.headers]

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)


@dataclass(slots=True)
class Answer:
    status: int = 200
    body: bytes | str | object = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def encoded(self) -> tuple[bytes, list[tuple[str, str]]]:
        headers = list(self.headers)
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            return self.body.encode(), headers
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return json.dumps(self.body).encode(), headers


Route = Callable[[Seen], Answer]


def echo(seen: Seen) -> Answer:
    """A JSON answer describing the request: what most tests assert on."""
    return Answer(
        200,
        {
            "method": seen.method,
            "path": seen.path,
            "query": seen.query,
            "body": seen.body.decode(),
        },
    )


class ApiServer:
    """`with ApiServer(route) as api:` serves on `api.url` until the block ends."""

    def __init__(self, route: Route = echo) -> None:
        self.route = route
        self.seen: list[Seen] = []
        self.release = threading.Event()  # a stalling route waits on it; set at the end
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler_class(api: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            seen = Seen(self.command, parts.path, parts.query, tuple(self.headers.items()), body)
            api.seen.append(seen)
            answer = api.route(seen)
            content, headers = answer.encoded()
            self.send_response(answer.status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
            pass  # quiet: the test reads `api.seen`

    return Handler


@contextmanager
def serving(route: Route = echo) -> Iterator[ApiServer]:
    with ApiServer(route) as api:
        yield api
