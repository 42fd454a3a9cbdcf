"""`asl serve`: the refusals that happen before it serves, each one `asl: ...` line and exit 2:
a non-loopback address without a token, a port out of range, an address it cannot listen on (a
busy port: never uvicorn's log lines and its exit status 3), a bad functions file or store.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.cli.harness import ENTRY_POINTS, Cli, assert_one_asl_line, run_process
from tests.serve_process import serve_process

REFUSED = (
    "asl: refusing to serve on {host} without authentication: pass --token TOKEN (or set "
    "ASL_API_TOKEN) so clients must present it, or --insecure to serve anyone who can reach "
    "this address\n"
)
TOKEN_WARNING = (
    "asl: warning: --token is visible to other users of this machine (ps, /proc); set "
    "ASL_API_TOKEN or pass --token-file PATH instead\n"
)
BUSY = (
    "asl: cannot listen on {host}:{port}: address already in use (another process is "
    "listening there: stop it or pass another --port)\n"
)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on, on every IPv4 address."""
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "192.168.1.5", "example.com", "::"], ids=["any", "lan", "name", "any-v6"]
)
def test_serve_refuses_a_public_address_without_a_token(cli: Cli, host: str) -> None:
    done = cli("serve", "--host", host, "--store", "memory://")
    assert assert_one_asl_line(done) == REFUSED.format(host=host)


# How the binding rule is passed, shown by getting as far as the (busy) port.
ALLOWED = {
    "loopback": ([], {}),
    "localhost": (["--host", "localhost"], {}),
    "token-variable": (["--host", "0.0.0.0"], {"ASL_API_TOKEN": "t0ken"}),
    "token-file": (["--host", "0.0.0.0", "--token-file", "token.txt"], {}),
    "insecure": (["--host", "0.0.0.0", "--insecure"], {}),
}


@pytest.mark.parametrize(("args", "env"), list(ALLOWED.values()), ids=list(ALLOWED))
def test_serve_on_a_busy_port_exits_2_with_one_line(
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    busy_port: int,
    args: list[str],
    env: dict[str, str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (cli.folder / "token.txt").write_text("t0ken\n")
    done = cli("serve", "--store", "memory://", "--port", str(busy_port), *args)
    host = args[args.index("--host") + 1] if "--host" in args else "127.0.0.1"
    assert assert_one_asl_line(done) == BUSY.format(host=host, port=busy_port)


def test_a_token_in_argv_works_and_is_warned_about(cli: Cli, busy_port: int) -> None:
    """`--token` is kept (scripts use it), but anyone on the machine can read it in `ps`."""
    done = cli(
        "serve", "--store", "memory://", "--port", str(busy_port), "--host", "0.0.0.0",
        "--token", "t0ken",
    )  # fmt: skip
    assert (done.code, done.out) == (2, "")
    assert done.err == TOKEN_WARNING + BUSY.format(host="0.0.0.0", port=busy_port)


@pytest.mark.parametrize(
    ("content", "err"),
    [
        (None, "asl: cannot read --token-file token.txt: no such file or directory\n"),
        ("\n", "asl: --token-file token.txt: its first line holds no token\n"),
    ],
    ids=["missing", "empty"],
)
def test_a_token_file_without_a_token_exits_2_with_one_line(
    cli: Cli, content: str | None, err: str
) -> None:
    if content is not None:
        (cli.folder / "token.txt").write_text(content)
    done = cli("serve", "--store", "memory://", "--port", "0", "--token-file", "token.txt")
    assert assert_one_asl_line(done) == err


@pytest.mark.slow
def test_a_token_file_guards_every_request(tmp_path: Path) -> None:
    token = tmp_path / "token.txt"
    token.write_text("s3cret\n")
    with serve_process(["--token-file", str(token)]) as url:

        def status(header: str | None) -> int:
            request = urllib.request.Request(f"{url}/v1/machines")
            if header is not None:
                request.add_header("Authorization", header)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return int(response.status)
            except urllib.error.HTTPError as refused:
                return refused.code

        assert [status(None), status("Bearer wrong"), status("Bearer s3cret")] == [401, 401, 200]


@pytest.mark.parametrize(
    ("args", "err"),
    [
        (["--port", "70000"], "asl: --port 70000: a port is 0 to 65535\n"),
        (["--port", "-1"], "asl: --port -1: a port is 0 to 65535\n"),
        (
            ["--host", "no-such-host.invalid", "--insecure"],
            "asl: cannot listen on no-such-host.invalid:0: name or service not known "
            "(check --host)\n",
        ),
        (
            ["--functions", "missing.py"],
            "asl: Cannot load functions from 'missing.py': no such file\n",
        ),
        (
            ["--store", "bogus://x"],
            "asl: ValidationException: unsupported store URL 'bogus://x': use memory://, "
            "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE\n",
        ),
    ],
    ids=["port-too-high", "port-negative", "unknown-host", "functions", "store-url"],
)
def test_serve_refusals_exit_2_with_one_line(cli: Cli, args: list[str], err: str) -> None:
    done = cli("serve", "--port", "0", *args)
    assert assert_one_asl_line(done) == err


def test_serve_refused_store_leaves_the_port_free(cli: Cli) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = cli("serve", "--port", str(port), "--store", "bogus://x")
    assert done.code == 2
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # not left bound by the refused command


@pytest.mark.slow
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_a_second_server_on_the_same_port_exits_2(cli: Cli, entry: str) -> None:
    with serve_process([]) as url:
        port = urlsplit(url).port
        assert port is not None
        done = run_process(
            entry, ["serve", "--store", "memory://", "--port", str(port)], cwd=cli.folder
        )
        assert (done.code, done.out, done.err) == (2, "", BUSY.format(host="127.0.0.1", port=port))
