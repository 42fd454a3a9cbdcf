"""`asl serve`: the HTTP server (REST under /v1 and the AWS JSON 1.0 protocol at POST /).

Owns: the command's arguments, where the token comes from (`ASL_API_TOKEN`, `--token-file`, or
`--token`, which other users can read in `ps` and is warned about), the binding rule (loopback
without a token by default; any other address needs a token or an explicit `--insecure`, else
exit 2), logging
set-up (one JSON line per request on stderr) and running uvicorn with the runtime in the same
event loop. Must never: decide semantics (the service does) or import the web stack before the
command runs (`asl validate` must start fast).

The listening sockets are bound here, before uvicorn starts, and handed to it: an address that
cannot be listened on (a busy port) is one `asl: cannot listen on HOST:PORT: ...` line and exit
status 2, never uvicorn's log lines and its exit status 3.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from typing import TYPE_CHECKING

from engine.cli.common import (
    EXIT_OK,
    UsageError,
    add_config_option,
    add_mock_config_option,
    add_store_option,
    config_of,
    load_functions,
    load_mock_config_option,
    mock_config_path,
)

if TYPE_CHECKING:
    import socket

# logging, socket and ipaddress are imported in the functions that use them: every `asl`
# command builds this module's parser, and `asl validate` needs none of them (~10 ms).

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8083
TOKEN_VARIABLE = "ASL_API_TOKEN"  # noqa: S105  (the name of a variable, not a secret)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="serve the REST API and the AWS JSON 1.0 protocol (boto3, AWS CLI)"
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind ({DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    add_store_option(serve, memory=True)
    serve.add_argument("--functions", action="append", default=[], metavar="FILE.py")
    add_config_option(serve)
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="serve the API only; executions are driven by `asl worker` processes",
    )
    token = serve.add_mutually_exclusive_group()
    token.add_argument(
        "--token",
        default=None,
        help=f"require this bearer token on every request (visible in `ps`: prefer "
        f"${TOKEN_VARIABLE} or --token-file)",
    )
    token.add_argument(
        "--token-file",
        metavar="PATH",
        help="require the token in this file (its first line) on every request",
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback address without a token (anyone who reaches it has access)",
    )
    serve.add_argument(
        "--cors",
        action="append",
        metavar="ORIGIN",
        help="allow browser calls from ORIGIN ('*': any); off by default",
    )
    serve.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: the engine's own logs as JSON lines with execution_arn and state_name",
    )
    serve.add_argument(
        "--virtual-time",
        action="store_true",
        help="for test servers: Waits and back-offs take no real time (the clock jumps to the "
        "next timer whenever no execution has work to do)",
    )
    add_mock_config_option(serve, from_environment=True)
    serve.set_defaults(handler=_serve)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def binding_problem(host: str, token: str | None, insecure: bool) -> str | None:
    """Why serving on `host` is refused, or None when it is allowed."""
    if is_loopback(host) or token or insecure:
        return None
    return (
        f"refusing to serve on {host} without authentication: pass --token TOKEN (or set "
        f"{TOKEN_VARIABLE}) so clients must present it, or --insecure to serve anyone who "
        "can reach this address"
    )


# Why a bind failed, and what to do about it, for the errors an operator can meet.
LISTEN_HINTS = {
    errno.EADDRINUSE: "another process is listening there: stop it or pass another --port",
    errno.EADDRNOTAVAIL: "this machine has no such address: pass one of its addresses in --host",
    errno.EACCES: "ports below 1024 need privileges: pass --port 1024 or above",
}


def listen_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen_sockets(host: str, port: int) -> list[socket.socket]:
    """Sockets listening on every address `host` resolves to (as asyncio's create_server, which
    uvicorn would call, binds them); a UsageError naming the address when one cannot be."""
    import socket

    where = listen_address(host.strip("[]"), port)
    try:
        found = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        reason = str(exc.strerror).lower()
        raise UsageError(f"cannot listen on {where}: {reason} (check --host)") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(found):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and asyncio
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(2048)  # uvicorn's default backlog; listening now makes the port ours
    except OSError as exc:
        for sock in sockets:
            sock.close()
        reason = (exc.strerror or str(exc)).lower()
        hint = LISTEN_HINTS.get(exc.errno or 0, f"errno {exc.errno}")
        raise UsageError(f"cannot listen on {where}: {reason} ({hint})") from None
    return sockets


TOKEN_IN_ARGV_WARNING = (
    "asl: warning: --token is visible to other users of this machine (ps, /proc); set "
    f"{TOKEN_VARIABLE} or pass --token-file PATH instead"
)


def read_token(args: argparse.Namespace) -> str | None:
    """The token: `--token` (with a warning on stderr: argv is public), else `--token-file`'s
    first line, else `$ASL_API_TOKEN`, else None. A file that cannot be read, or holds no
    token, is a UsageError."""
    if args.token is not None:
        print(TOKEN_IN_ARGV_WARNING, file=sys.stderr)
        return str(args.token) or None
    if args.token_file is not None:
        try:
            with open(args.token_file, encoding="utf-8") as file:
                first = file.readline()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else exc
            raise UsageError(f"cannot read --token-file {args.token_file}: {reason}") from None
        token = first.strip()
        if not token:
            raise UsageError(f"--token-file {args.token_file}: its first line holds no token")
        return token
    return os.environ.get(TOKEN_VARIABLE) or None


def _serve(args: argparse.Namespace) -> int:
    args.token = read_token(args)
    problem = binding_problem(args.host, args.token, args.insecure)
    if problem is not None:
        raise UsageError(problem)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: a port is 0 to 65535")
    functions = load_functions(args.functions)
    functions_config = config_of(args)
    mock_config = load_mock_config_option(mock_config_path(args.mock_config, functions_config))

    import logging

    import uvicorn

    from api.app import create_app
    from engine.errors import EngineError
    from engine.runtime.clock import RealClock, VirtualClock
    from engine.runtime.heap import tune_for_throughput
    from engine.service import Service, ServiceConfig
    from engine.store.open import open_store

    listening = listen_sockets(args.host, args.port)
    try:
        store = open_store(args.store)
    except EngineError as exc:
        for sock in listening:
            sock.close()
        raise UsageError(f"{exc.code}: {exc.message}") from None
    level = getattr(logging, args.log_level.upper())
    if args.log_format == "json":
        from engine.logformat import use_json_logs

        use_json_logs(level)  # asl.api's request lines among them, as JSON objects too
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        api_log = logging.getLogger("asl.api")
        api_log.addHandler(handler)
        api_log.setLevel(level)
        api_log.propagate = False

    async def main() -> None:
        tune_for_throughput()  # after the imports: see engine/runtime/heap.py
        service = Service(
            store,
            functions=functions,
            functions_config=functions_config,
            config=ServiceConfig(worker=not args.no_worker),
            clock=VirtualClock() if args.virtual_time else RealClock(),
            mock_config=mock_config,
        )
        cors: bool | list[str] = False
        if args.cors:
            cors = True if "*" in args.cors else list(args.cors)
        app = create_app(service, token=args.token, cors=cors)
        config = uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=False,  # asl.api writes one structured line per request instead
            lifespan="on",
        )
        await _Server(config).serve(sockets=listening)

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # uvicorn says where it listens only when it binds the sockets itself; scripts (and
            # tests/serve_process.py) read this line for the address of `--port 0`.
            port = listening[0].getsockname()[1]
            logging.getLogger("uvicorn.error").info(
                "Uvicorn running on http://%s (Press CTRL+C to quit)",
                listen_address(args.host, port),
            )

    try:
        import asyncio  # lazily: every `asl` command builds this parser

        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        for sock in listening:
            sock.close()
        store.close()
    return EXIT_OK
