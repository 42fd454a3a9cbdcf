"""Docs as tests: how the examples of README.md and docs/*.md are found and run.

Owns: reading a Markdown document into Sybil regions (one per example) and running each one:
shell sessions, shell commands, Python blocks, files a doc shows, expected outputs. Must never:
change the repository (every example runs in a scratch folder) or wait without a limit (every
command and every Python block has a hard timeout that fails its test, naming the command).

What runs (the conventions a doc writer follows; tests/docs/README.md has them for writers):

- A ```` ```console ````, ```` ```sh ```` (``shell``, ``bash``) block, or an unlabelled one whose
  first line starts with ``$ ``, is a **shell session** when a line starts with ``$ ``: each
  ``$ `` line (with its ``\\`` continuation lines) runs, and the lines up to the next ``$ `` are
  the output it must print (stdout and stderr together). A ``sh`` block without ``$ `` lines
  runs each command line and needs each to exit 0; its output is not compared.
- A ```` ```python ```` block runs in the document's namespace (blocks of one document build on
  each other, as a reader's session does); top-level ``await`` is awaited.
- ``<!-- docs: file PATH -->`` right before a block writes the block to PATH in the scratch
  folder (a ``.py`` file must compile, a ``.json`` file must parse); it does not run.
- ``<!-- docs: setup COMMAND -->`` runs COMMAND silently (it must exit 0): scratch files a page
  describes in prose (``huge_input.json``...).
- ``<!-- docs: wrapped -->`` before a session: its output was wrapped for reading, so it is
  compared with all whitespace removed.
- ``<!-- docs: printed -->`` before a block: what the Python block before it printed.
- ``<!-- docs: output-of NAME -->`` before a ``json`` block: the block is the output of
  ``asl run asl_examples/NAME.asl.json`` with its shipped input and ``functions.py``.
- ``<!-- skip: next "why" -->`` (Sybil's own directive) skips the next example; the doc must also
  say why in a sentence a reader sees.

Every other block (JSON or TOML excerpts, synopses, output shapes) is reference text and does
not run.

Comparing output: each line is compared with trailing whitespace removed; ``…`` in the doc
matches any text on its line, and a line that is only ``…`` matches any lines. UUIDs, ISO-8601
and epoch dates, durations, hex digests and the free ports chosen here are normalised on both
sides, so the doc may show any value there.

Where it runs: each document gets a scratch folder holding a copy of asl_examples/ (its
asl.toml pointed at the free port chosen for the quote server), links to .venv, Makefile and
pyproject.toml, and the files the page shows (``docs: file``, written before any example runs).
Setup steps and Python blocks work in that folder; each shell block works in a fresh copy of
it with its own empty ASL_HOME (the "repository root" the docs speak of), so blocks never see
each other's files or stores, only the servers earlier blocks started. The environment is
clean (no ASL_*, SFN_MOCK_CONFIG or AWS_* variables from outside), this virtualenv's ``bin``
first on PATH. ``asl serve`` and ``asl worker``
without ``--until-idle`` are started in the background on a free loopback port, once the
server answers, and stopped when the document ends; the doc's ``8083`` (the server),
``9000`` (the quote server) and ``5000`` (``moto_server --port 5000 &``, moto's AWS
endpoint) are replaced by those ports in every command and Python block.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import json
import os
import re
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sybil import Document, Example, Region

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv under test: its asl, python and pytest

COMMAND_TIMEOUT = 60.0  # seconds for one shell command, one Python block, one server start
SERVER_PORT = 8083  # what the docs show for `asl serve`
QUOTE_PORT = 9000  # what the docs show for asl_examples/functions/quote_server.py
MOTO_PORT = 5000  # what the docs show for moto's server (`moto_server --port 5000 &`)

SHELL_LANGUAGES = {"sh", "console", "shell", "bash"}
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
DIRECTIVE = re.compile(r"<!--\s*docs:\s*(?P<verb>[\w-]+)[ \t]*(?P<args>.*?)\s*-->", re.DOTALL)


class DocExampleFailed(AssertionError):
    """An example did not do what its doc shows."""


# -- parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One shell command and, in a session, the output the doc shows for it (None: unchecked)."""

    command: str
    expected: str | None


@dataclass(frozen=True)
class ShellBlock:
    steps: tuple[Step, ...]
    wrapped: bool = False


@dataclass(frozen=True)
class PythonBlock:
    source: str


@dataclass(frozen=True)
class FileBlock:
    path: str
    text: str


@dataclass(frozen=True)
class SetupCommand:
    command: str


@dataclass(frozen=True)
class Printed:
    text: str


@dataclass(frozen=True)
class OutputOf:
    example: str
    text: str


def parse_document(document: Document) -> Iterator[Region]:
    """The Sybil parser: one region per example (a directive and the block it governs are one)."""
    text = document.text
    directives = list(DIRECTIVE.finditer(text))
    position = 0
    for block in FENCE.finditer(text):
        governing = [d for d in directives if position <= d.start() < block.start()]
        position = block.end()
        start = block.start()
        wrapped = printed = False
        file_path = output_of = None
        for directive in governing:
            verb, args = directive.group("verb"), directive.group("args").strip()
            if verb == "setup":
                yield Region(directive.start(), directive.end(), SetupCommand(args), evaluate_setup)
                continue
            if verb == "file":
                file_path = args
            elif verb == "wrapped":
                wrapped = True
            elif verb == "output-of":
                output_of = args
            elif verb == "printed":
                printed = True
            else:
                raise ValueError(f"{document.path}: unknown directive 'docs: {verb}'")
            if not _only_skips_between(text, directive.end(), block.start()):
                raise ValueError(
                    f"{document.path}: 'docs: {verb}' must come right before its block"
                )
            start = min(start, directive.start())
        indent = block.group("indent")
        body = "\n".join(
            line[len(indent) :] if line.startswith(indent) else line
            for line in block.group("body").split("\n")
        )
        lang = block.group("lang")
        region: Region | None = None
        if file_path is not None:
            region = Region(start, block.end(), FileBlock(file_path, body), evaluate_file)
        elif printed:
            region = Region(start, block.end(), Printed(body), evaluate_printed)
        elif output_of is not None:
            region = Region(start, block.end(), OutputOf(output_of, body), evaluate_output_of)
        elif lang in ("python", "py"):
            region = Region(start, block.end(), PythonBlock(body), evaluate_python)
        elif lang in SHELL_LANGUAGES or (lang == "" and body.lstrip().startswith("$ ")):
            region = Region(start, block.end(), parse_shell(body, wrapped), evaluate_shell)
        elif wrapped:
            raise ValueError(f"{document.path}: 'docs: wrapped' before a block that does not run")
        if region is not None:
            yield region
    for directive in directives:  # setup directives after the last block
        if directive.start() >= position and directive.group("verb") == "setup":
            yield Region(
                directive.start(),
                directive.end(),
                SetupCommand(directive.group("args").strip()),
                evaluate_setup,
            )


def _only_skips_between(text: str, start: int, end: int) -> bool:
    between = DIRECTIVE.sub("", text[start:end])
    between = re.sub(r"<!--\s*skip:.*?-->", "", between, flags=re.DOTALL)
    return not between.strip()


def parse_shell(body: str, wrapped: bool = False) -> ShellBlock:
    """A session (`$ ` lines and their output) or a plain list of commands."""
    lines = body.rstrip("\n").split("\n")
    session = any(line.startswith("$ ") for line in lines)
    steps: list[Step] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if session:
            if not line.startswith("$ "):
                if line.strip():
                    raise ValueError(f"output before the first command: {line!r}")
                continue
            command = line[2:]
        else:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            command = line
        while command.rstrip().endswith("\\") and index < len(lines):
            command = command.rstrip()[:-1].rstrip() + " " + lines[index].strip()
            index += 1
        expected: str | None = None
        if session:
            output: list[str] = []
            while index < len(lines) and not lines[index].startswith("$ "):
                output.append(lines[index])
                index += 1
            expected = "\n".join(output)
        steps.append(Step(command, expected))
    return ShellBlock(tuple(steps), wrapped)


# -- the document's world: scratch folder, environment, background processes -----------------


@dataclass
class World:
    """What the examples of one document share (kept in the Sybil namespace as `_world`).

    `root` is the page's folder: its files, setup steps and Python blocks work there. Each shell
    block works in a fresh copy of it with an empty ASL_HOME, so what one block does to files or
    the store never reaches another: a block depends only on the page's files, its Python
    blocks and the servers it started, the same whichever xdist worker runs it."""

    top: Path
    root: Path
    env: dict[str, str]
    ports: dict[int, int]
    blocks: int = 0
    background: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    server: subprocess.Popen[bytes] | None = None

    def substitute(self, text: str) -> str:
        """The doc's fixed ports replaced by the ones chosen here."""
        for shown, real in self.ports.items():
            if real:
                text = re.sub(rf"\b(127\.0\.0\.1|localhost):{shown}\b", rf"\g<1>:{real}", text)
                text = re.sub(rf"(--port[ =]){shown}\b", rf"\g<1>{real}", text)
        return text

    def block(self) -> tuple[Path, dict[str, str]]:
        """A fresh copy of the page's folder and the environment of one shell block."""
        self.blocks += 1
        root = self.top / f"block-{self.blocks}"
        shutil.copytree(
            self.root, root, symlinks=True, ignore=shutil.ignore_patterns(".asl-home", ".*.log")
        )
        return root, {**self.env, "ASL_HOME": str(root / ".asl-home")}

    def close(self) -> None:
        for _, process in self.background:
            _stop(process)
        self.background.clear()
        shutil.rmtree(self.top, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def setup_document(namespace: dict[str, Any]) -> None:
    top = Path(tempfile.mkdtemp(prefix="asl-docs-"))
    root = top / "page"
    # the server's port is known once it runs
    ports = {SERVER_PORT: 0, QUOTE_PORT: free_port(), MOTO_PORT: free_port()}
    shutil.copytree(
        REPO / "asl_examples",
        root / "asl_examples",
        ignore=shutil.ignore_patterns("__pycache__", "*.db", "*.db-*"),
    )
    toml = root / "asl_examples" / "asl.toml"
    toml.write_text(toml.read_text().replace(f":{QUOTE_PORT}/", f":{ports[QUOTE_PORT]}/"))
    for name in ("Makefile", "pyproject.toml"):
        (root / name).symlink_to(REPO / name)
    # `.venv/` is the virtualenv under test, its install stamp fresh: `make demo` reinstalls nothing
    venv = root / ".venv"
    venv.mkdir()
    for entry in BIN.parent.iterdir():
        if entry.name != ".installed":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed").touch()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ASL_", "AWS_", "SFN_", "PYTEST_", "VIRTUAL_ENV"))
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ASL_HOME=str(root / ".asl-home"),
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONDONTWRITEBYTECODE="1",
    )
    namespace["_world"] = World(top, root, env, ports)
    namespace["shutil"] = shutil  # for skip conditions: `if(not shutil.which("node"), ...)`


def teardown_document(namespace: dict[str, Any]) -> None:
    world: World | None = namespace.get("_world")
    if world is not None:
        world.close()


def world_of(example: Example) -> World:
    world: World = example.namespace["_world"]
    return world


# -- shell --------------------------------------------------------------------------------


BACKGROUND = re.compile(r"^(?P<command>.*?[^&])&[ \t]*(?:#.*)?$")
LONG_RUNNING = re.compile(r"^(?:\w+=\S*\s+)*asl\s+(?P<verb>serve|worker)\b")


class Shell:
    """One bash process for one block: commands run in it one by one, cd and export persist."""

    def __init__(self, world: World, *, isolated: bool = True) -> None:
        self.world = world
        self.root, self.env = world.block() if isolated else (world.root, world.env)
        self.marker = f"__docs_{secrets.token_hex(8)}__"
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env=self.env,
            start_new_session=True,  # one process group: a timeout kills everything it started
        )

    def run(self, command: str, timeout: float = COMMAND_TIMEOUT) -> tuple[int, str]:
        """Run one command line; its exit status and its output (stdout and stderr)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        # the command's status is printed after the marker, then restored for the next `$?`
        script = (
            f"{{ {command}\n}} </dev/null\n__docs_rc=$?\n"
            f"printf '\\n{self.marker} %s\\n' \"$__docs_rc\"\n(exit $__docs_rc)\n"
        )
        self.process.stdin.write(script.encode())
        self.process.stdin.flush()
        buffer = b""
        deadline = time.monotonic() + timeout
        pattern = re.compile(rb"\n" + self.marker.encode() + rb" (\d+)\n")
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while (found := pattern.search(buffer)) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.close()
                    raise DocExampleFailed(
                        f"timed out after {timeout:.0f} s (killed): {command}\n"
                        f"output so far:\n{buffer.decode(errors='replace')}"
                    )
                if not selector.select(left):
                    continue
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    raise DocExampleFailed(f"the shell ended while running: {command}\n{buffer!r}")
                buffer += chunk
        return int(found.group(1)), buffer[: found.start()].decode(errors="replace")

    def close(self) -> None:
        _stop(self.process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it if it is still there after a few seconds."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def start_long_running(shell: Shell, command: str) -> str:
    """Start `asl serve` / `asl worker` (no --until-idle) in the background, in the block's
    folder; it runs until the page ends. Returns its output (none: it goes to a log file)."""
    world = shell.world
    verb = LONG_RUNNING.match(command)
    assert verb is not None
    command = re.sub(r"\s*&?\s*(#.*)?$", "", command)
    log = shell.root / f".{verb.group('verb')}-{len(world.background)}.log"
    if verb.group("verb") == "serve":
        if world.server is not None:  # one server per document at a time, on the same port
            _stop(world.server)
            world.background = [(c, p) for c, p in world.background if p is not world.server]
        port = world.ports[SERVER_PORT] or free_port()
        command = re.sub(r"\s--port[ =]\S+", "", command) + f" --port {port}"
    with log.open("wb") as output:  # the child keeps its own descriptor
        process = subprocess.Popen(
            ["bash", "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=shell.root,
            env=shell.env,
            start_new_session=True,
        )
    world.background.append((command, process))
    if verb.group("verb") == "serve":
        world.server = process
        world.ports[SERVER_PORT] = port
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            if process.poll() is not None:
                raise DocExampleFailed(
                    f"exited with status {process.returncode} before it listened: {command}\n"
                    f"{log.read_text(errors='replace')}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise DocExampleFailed(
                        f"did not answer within {COMMAND_TIMEOUT:.0f} s: {command}"
                    ) from None
                time.sleep(0.1)
    return ""


def run_step(shell: Shell, step: Step) -> tuple[int, str]:
    world = shell.world
    command = world.substitute(step.command)
    # a server or worker runs in the background, unless the page shows it ending with output
    ends = bool(step.expected and step.expected.strip())
    if LONG_RUNNING.match(command) and not re.search(r"--until-idle\b", command) and not ends:
        return 0, start_long_running(shell, command)
    background = BACKGROUND.match(command)
    if background is not None and "&&" not in command[background.end("command") - 1 :]:
        # a doc's `server &`: quiet, in the block's process group (stopped with the block)
        inner = background.group("command").rstrip()
        if "quote_server.py" in inner and not re.search(r"quote_server\.py\s+\d", inner):
            inner += f" {world.ports[QUOTE_PORT]}"
        log = f".background-{secrets.token_hex(4)}.log"
        status, output = shell.run(f"{inner} >{log} 2>&1 &")
        if "quote_server.py" in inner:
            _wait_for_port(world.ports[QUOTE_PORT], inner)
        if "moto_server" in inner:
            _wait_for_port(world.ports[MOTO_PORT], inner)
        return status, output
    return shell.run(command)


def _wait_for_port(port: int, command: str) -> None:
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise DocExampleFailed(f"nothing listened on port {port}: {command}")
        time.sleep(0.05)


def evaluate_shell(example: Example) -> None:
    block: ShellBlock = example.parsed
    world = world_of(example)
    shell = Shell(world)
    try:
        for step in block.steps:
            status, output = run_step(shell, step)
            if step.expected is None:
                if status != 0:
                    raise DocExampleFailed(f"exited with status {status}: {step.command}\n{output}")
                continue
            expected = world.substitute(step.expected)
            if not output_matches(expected, output, wrapped=block.wrapped):
                raise DocExampleFailed(
                    f"the output differs from the doc's: $ {step.command}\n"
                    f"--- the doc shows\n{step.expected}\n--- the command printed "
                    f"(exit status {status})\n{output}"
                )
    finally:
        shell.close()


def evaluate_setup(example: Example) -> None:
    setup: SetupCommand = example.parsed
    shell = Shell(world_of(example), isolated=False)  # it prepares the page's own folder
    try:
        status, output = shell.run(setup.command)
    finally:
        shell.close()
    if status != 0:
        raise DocExampleFailed(f"setup exited with status {status}: {setup.command}\n{output}")


# -- comparing output ------------------------------------------------------------------------

NORMALISE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<UUID>"),
    (re.compile(r"\b[0-9a-f]{8}-…"), "<UUID>"),  # a doc's shortened UUID
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"), "<DATE>"),
    (re.compile(r"(?<![\d.])1\d{9}(?:\.\d+)?(?![\d.])"), "<EPOCH>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<HEX>"),
    (re.compile(r"\b\d+(?:\.\d+)?s\b"), "<DURATION>"),
    (re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} [\d:]{8} GMT\b"), "<DATE>"),
]


def normalise(text: str) -> str:
    text = text.replace("\r\n", "\n")  # HTTP headers (curl -i)
    for pattern, replacement in NORMALISE:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip("\n")


def output_matches(expected: str, actual: str, *, wrapped: bool = False) -> bool:
    """Whether `actual` is what the doc shows (normalised; `…` is "anything here")."""
    expected, actual = normalise(expected), normalise(actual)
    if wrapped:
        expected, actual = re.sub(r"\s+", "", expected), re.sub(r"\s+", "", actual)
    if wrapped:
        pattern = ".*?".join(re.escape(piece) for piece in expected.split("…"))
        return re.fullmatch(pattern, actual, re.DOTALL) is not None
    parts = []
    for line in expected.split("\n"):
        if line.strip() == "…":  # any number of lines, none included
            parts.append(r"(?:.*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split("…")) + r"\n")
    return re.fullmatch("".join(parts), actual + "\n") is not None


def json_matches(expected: Any, actual: Any) -> bool:
    """JSON equality where a string with `…` matches any string like it, and a list item
    `"…"` or `"… anything …"` stands for one or more items."""
    if isinstance(expected, str) and "…" in expected:
        if not isinstance(actual, str):
            return False
        return output_matches(expected, actual)
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(json_matches(value, actual[key]) for key, value in expected.items())
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and _list_matches(expected, actual)
    return bool(expected == actual and type(expected) is type(actual))


def _list_matches(expected: list[Any], actual: list[Any]) -> bool:
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if isinstance(head, str) and head.startswith("…") and head.endswith("…"):
        return any(_list_matches(rest, actual[taken:]) for taken in range(1, len(actual) + 1))
    return bool(actual) and json_matches(head, actual[0]) and _list_matches(rest, actual[1:])


# -- files, outputs, Python ------------------------------------------------------------------


def write_file(example: Example) -> Path:
    block: FileBlock = example.parsed
    path = world_of(example).root / block.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(block.text)
    return path


def evaluate_file(example: Example) -> None:
    block: FileBlock = example.parsed
    path = write_file(example)
    if path.suffix == ".py":
        compile(block.text, str(path), "exec")
    elif path.suffix == ".json":
        json.loads(block.text)


def evaluate_output_of(example: Example) -> None:
    block: OutputOf = example.parsed
    world = world_of(example)
    name = block.example
    command = (
        f"asl run asl_examples/{name}.asl.json --input-file asl_examples/{name}.input.json "
        f"--functions asl_examples/functions.py --virtual-time --json --name demo"
    )
    shell = Shell(world, isolated=False)
    try:
        status, output = shell.run(command)
    finally:
        shell.close()
    if status not in (0, 1):  # 1: the execution did not succeed, which the comparison shows
        raise DocExampleFailed(f"exited with status {status}: {command}\n{output}")
    result = json.loads(output)
    if not json_matches(json.loads(block.text), result["output"]):
        raise DocExampleFailed(
            f"the output differs from the doc's: {command}\n--- the doc shows\n{block.text}\n"
            f"--- the execution ({result['status']}) returned\n{json.dumps(result['output'])}"
        )


def evaluate_python(example: Example) -> None:
    """Run the block in the document's namespace, in the scratch folder; await top-level await."""
    block: PythonBlock = example.parsed
    world = world_of(example)
    source = world.substitute(block.source)
    code = compile(
        source,
        f"{example.path}:{example.line}",
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )
    namespace = example.namespace
    namespace.setdefault("__name__", "__docs__")
    old_cwd, old_environ = os.getcwd(), dict(os.environ)
    printed = io.StringIO()
    os.chdir(world.root)
    os.environ.clear()
    os.environ.update(world.env)
    sys.path.insert(0, str(world.root))
    try:
        where = f"{example.path}:{example.line}"
        with _alarm(COMMAND_TIMEOUT, where), contextlib.redirect_stdout(printed):
            result = eval(code, namespace)  # the doc's own code, compiled above
            if inspect.iscoroutine(result):
                asyncio.run(result)
    finally:
        for name, module in list(sys.modules.items()):  # `handlers` differs from page to page
            if str(getattr(module, "__file__", None) or "").startswith(str(world.root)):
                del sys.modules[name]
        sys.path.remove(str(world.root))
        namespace["_printed"] = printed.getvalue()
        sys.stdout.write(printed.getvalue())  # shown with the test's captured output
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_environ)


def evaluate_printed(example: Example) -> None:
    """A `docs: printed` block: what the Python block before it printed."""
    block: Printed = example.parsed
    actual = example.namespace.get("_printed")
    if actual is None:
        raise DocExampleFailed("'docs: printed' follows no Python block")
    if not output_matches(block.text, actual):
        raise DocExampleFailed(
            f"the Python block printed something else\n--- the doc shows\n{block.text}\n"
            f"--- it printed\n{actual}"
        )


@contextlib.contextmanager
def _alarm(seconds: float, where: str) -> Iterator[None]:
    """Fail a Python block that runs longer than `seconds` (SIGALRM: the main thread only)."""

    def expire(signum: int, frame: object) -> None:
        raise DocExampleFailed(f"timed out after {seconds:.0f} s: the Python block at {where}")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def needs_replay(example: Example) -> bool:
    """Whether a worker that runs a later example of the page must run this one first: the
    page's setup steps, its Python blocks (they share a namespace) and the shell blocks that
    start a server or a worker (later blocks talk to them). Shell blocks otherwise work in their
    own copy of the page's folder, and files are written when the page starts."""
    parsed = example.parsed
    if isinstance(parsed, SetupCommand | PythonBlock):
        return True
    if isinstance(parsed, ShellBlock):
        return any(
            LONG_RUNNING.match(step.command) and "--until-idle" not in step.command
            for step in parsed.steps
        )
    return False


def block_source(example: Example) -> str:
    """The text a known-defect entry is matched against."""
    parsed = example.parsed
    if isinstance(parsed, ShellBlock):
        return "\n".join(step.command for step in parsed.steps)
    for attribute in ("source", "text", "command"):
        if hasattr(parsed, attribute):
            return str(getattr(parsed, attribute))
    return str(parsed)
