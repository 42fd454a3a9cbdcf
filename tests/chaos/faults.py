"""The faults of a chaos run, and the fleet of real `asl worker` processes they hit.

Owns: starting, killing (SIGKILL), stalling (SIGSTOP, later SIGCONT) and replacing `asl worker`
processes; holding the SQLite file's write lock from another process (`BEGIN EXCLUSIVE`);
terminating the workers' PostgreSQL connections from a separate connection
(`pg_terminate_backend`, while that connection holds a table lock the workers wait on);
filling the small filesystem the SQLite store lives on (a tmpfs of a user namespace, run.py)
until writes fail with ENOSPC, then freeing it. Each fault counts itself only once it really
happened (the lock held, the backends terminated, the disk full). Must never: check anything
(check.py), or touch a process or connection that is not the run's own (connections are told
apart by their `application_name`).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HANDLERS = REPO / "tests" / "chaos" / "handlers.py"
LEDGER_VARIABLE = "ASL_TEST_LEDGER"

# The figures line names the faults in this order, in these words.
KILL = "kill -9"
STALL = "SIGSTOP"
STALL_PAST_LEASE = "SIGSTOP past lease"
LOCK = "SQLite locked"
LOCK_PAST_TIMEOUT = "SQLite locked past busy timeout"
CONNECTIONS = "connections killed"
DISK_FULL = "disk full"
KINDS = (KILL, STALL, STALL_PAST_LEASE, LOCK, LOCK_PAST_TIMEOUT, CONNECTIONS, DISK_FULL)


class Fleet:
    """`size` long-running processes driving executions on one store (real time), dead ones
    replaced: one `asl serve` (its worker loop drives executions like a worker's; its API is
    not used) and `asl worker`s for the rest.

    Each worker's stdout and stderr go to a file of its own (a pipe nobody reads would fill up
    and stall it); `unexpected_exits` lists workers that ended without being killed or told to,
    but for a worker that could not open the store at its start (exit 2, the store down): that
    one is started again, as a supervisor would, and counted in `restarted`.
    """

    def __init__(
        self, store_url: str, folder: Path, ledger: Path, size: int, *, with_server: bool = True
    ) -> None:
        self.store_url = store_url
        self.with_server = with_server
        self.servers: set[int] = set()  # pids of the `asl serve` processes
        self.server_urls: dict[int, str] = {}
        self.folder = folder
        self.ledger = ledger
        self.size = size
        self.workers: list[subprocess.Popen[bytes]] = []
        self.killed: set[int] = set()
        self.stopped: set[int] = set()
        self.spawned = 0
        self.unexpected_exits: list[str] = []
        self.restarted = 0  # workers that could not open the store at their start

    def log_of(self, pid: int) -> Path:
        return self.folder / f"worker-{pid}.log"

    def spawn(self, *, server: bool = False) -> subprocess.Popen[bytes]:
        """An `asl worker`, or an `asl serve` (its API unused: it drives executions too)."""
        env = {**os.environ, LEDGER_VARIABLE: str(self.ledger)}
        for switch in ("ASL_CRASH_AT", "ASL_EXPRESS_REDELIVERY"):
            env.pop(switch, None)
        index = self.spawned
        self.spawned += 1
        command = [sys.executable, "-m", "engine.cli"]
        port = free_port()
        if server:
            command += ["serve", "--port", str(port), "--log-level", "warning"]
        else:
            command += ["worker"]
        command += ["--store", self.store_url, "--functions", str(HANDLERS)]
        log = self.folder / f"worker-spawn-{index}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env
            )
        log.rename(self.log_of(process.pid))
        self.workers.append(process)
        if server:
            self.servers.add(process.pid)
            self.server_urls[process.pid] = f"http://127.0.0.1:{port}"
        return process

    def server(self) -> tuple[subprocess.Popen[bytes], str] | None:
        """The `asl serve` process and its URL, while it runs (not stopped)."""
        for process in self.running():
            if process.pid in self.servers:
                return process, self.server_urls[process.pid]
        return None

    def fill(self) -> None:
        """Start workers until `size` live ones run (stalled ones count as live)."""
        for process in list(self.workers):
            if process.poll() is not None:
                self.workers.remove(process)
                if process.pid in self.killed:
                    continue
                if self.refused_at_start(process):
                    self.restarted += 1  # as a supervisor would: the store was down
                else:
                    self.unexpected_exits.append(
                        f"worker {process.pid} exited with status {process.returncode} "
                        f"(log: {self.log_of(process.pid)})"
                    )
        while len(self.workers) < self.size:
            serving = any(p.pid in self.servers for p in self.workers)
            self.spawn(server=self.with_server and not serving)

    def refused_at_start(self, process: subprocess.Popen[bytes]) -> bool:
        """A worker started while the store was down exits 2 saying it could not open it."""
        log = self.log_of(process.pid).read_text(errors="replace")
        return process.returncode == 2 and "ServiceUnavailable: cannot" in log

    def running(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.workers if p.poll() is None and p.pid not in self.stopped]

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        self.killed.add(process.pid)
        process.kill()
        process.wait()
        self.stopped.discard(process.pid)

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        self.stopped.add(process.pid)
        os.kill(process.pid, signal.SIGSTOP)

    def cont(self, process: subprocess.Popen[bytes]) -> None:
        if process.pid in self.stopped:
            self.stopped.discard(process.pid)
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)

    def close(self, timeout: float = 30.0) -> list[str]:
        """SIGTERM every worker (each releases its leases and exits 0); what went wrong."""
        problems: list[str] = []
        for process in self.workers:
            self.cont(process)
            if process.poll() is None:
                process.terminate()
        for process in self.workers:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                problems.append(f"worker {process.pid} did not exit within {timeout} s of SIGTERM")
                process.kill()
                process.wait()
                continue
            # uvicorn re-raises the SIGTERM it shut down on: `asl serve` ends -15, as designed
            clean = (0, -signal.SIGTERM) if process.pid in self.servers else (0,)
            if process.pid not in self.killed and process.returncode not in clean:
                problems.append(
                    f"worker {process.pid} exited with status {process.returncode} on SIGTERM "
                    f"(log: {self.log_of(process.pid)})"
                )
        return [*self.unexpected_exits, *problems]

    def tracebacks(self) -> list[str]:
        """Worker logs holding a Python traceback (a crash, or a loop that died)."""
        found = []
        for log in sorted(self.folder.glob("worker-*.log")):
            text = log.read_text(errors="replace")
            if "Traceback (most recent call last)" in text:
                found.append(str(log))
        return found


def free_port() -> int:
    """A free loopback port, for a server to take."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -- SQLite: the file locked by another process -----------------------------------------------

LOCKER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], timeout=120, isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


def lock_sqlite(database: Path, seconds: float) -> subprocess.Popen[str]:
    """A process holding `BEGIN EXCLUSIVE` on `database` for `seconds` once it prints a line."""
    return subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(database), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )


# -- PostgreSQL: the workers' connections terminated ----------------------------------------------


def terminate_connections(url: str, application_name: str, hold_seconds: float) -> int:
    """Lock the `executions` table for `hold_seconds` (the workers' claims and commits queue
    behind it, inside their transactions), then `pg_terminate_backend` every connection named
    `application_name` but this one; returns how many were terminated."""
    import psycopg

    # `url` selects the run's schema; this connection has a name of its own (never terminated)
    with psycopg.connect(url, application_name="asl_chaos_faults") as connection:
        connection.execute("LOCK TABLE executions IN ACCESS EXCLUSIVE MODE")
        time.sleep(hold_seconds)  # the fault's length (this runs in a thread of its own)
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        ).fetchall()
        connection.rollback()
    return sum(1 for (terminated,) in rows if terminated)


# -- a full filesystem ------------------------------------------------------------------------


def fill_disk(ballast: Path) -> int:
    """Write `ballast` until its filesystem is full (ENOSPC); returns the bytes written.

    Unbuffered writes, halving the size on ENOSPC down to one byte: nothing is left in a
    buffer whose flush would fail later."""
    written = 0
    fd = os.open(ballast, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        step = 1 << 20
        while step:
            try:
                written += os.write(fd, b"\0" * step)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                step //= 2
    finally:
        os.close(fd)
    return written


def free_disk(ballast: Path) -> None:
    ballast.unlink(missing_ok=True)


def tally() -> Counter[str]:
    """Faults injected, by kind (every kind present, so a figures line names them all)."""
    return Counter(dict.fromkeys(KINDS, 0))
