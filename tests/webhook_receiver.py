"""A local webhook endpoint for the status-change event tests: a real HTTP server on a free
loopback port that checks each request's signature and fails the calls it is told to."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.runtime.destinations import SIGNATURE_HEADER

SECRET = "s3cret"


@dataclass
class Receiver:
    """A webhook endpoint: answers 500 to the calls whose number (1-based) is in `fail`, or
    to every call carrying an event of an execution named in `refuse`; 204 otherwise."""

    url: str = ""
    fail: set[int] = field(default_factory=set)
    refuse: set[str] = field(default_factory=set)
    calls: int = 0
    accepted: list[dict[str, object]] = field(default_factory=list)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            event = json.loads(body)
            with state.lock:
                state.calls += 1
                if not hmac.compare_digest(self.headers[SIGNATURE_HEADER], expected):
                    state.bad_signatures += 1
                failing = state.calls in state.fail or event["detail"]["name"] in state.refuse
                if not failing:
                    state.accepted.append(event)
            self.send_response(500 if failing else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet: the test reads the state, not the log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
