"""QuoteOrder as an HTTP function: a tiny dev server, standard library only.

    python asl_examples/functions/quote_server.py [PORT]     # default 9000

It answers `POST /2015-03-31/functions/function/invocations` as the AWS Lambda Runtime Interface
Emulator does: the event is the request body, the result the response body, and a failure is
Lambda's error envelope (`{"errorType", "errorMessage"}`) with status 200.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PRICES = {"BOOK-1": 1250, "PEN-2": 199, "MUG-3": 899}  # cents


def quote(event: dict) -> dict:
    lines = []
    for item in event.get("items", []):
        price = PRICES.get(item.get("sku"))
        if price is None:
            raise LookupError(f"unknown sku {item.get('sku')!r}")
        lines.append({"sku": item["sku"], "qty": item["qty"], "cents": price * item["qty"]})
    if not lines:
        raise LookupError("the order has no items")
    return {"lines": lines, "totalCents": sum(line["cents"] for line in lines)}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # the method name http.server calls
        event = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        try:
            body = quote(event)
        except LookupError as exc:
            body = {"errorType": "InvalidOrder", "errorMessage": str(exc)}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        pass  # quiet: the engine logs what matters


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    # The first line says where it listens (the examples test reads it).
    print(f"QuoteOrder listening on http://127.0.0.1:{server.server_port}", flush=True)  # noqa: T201
    server.serve_forever()
