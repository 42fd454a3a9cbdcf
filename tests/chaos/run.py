"""A chaos run: many executions through real `asl worker` and `asl serve` processes while
faults hit them.

Owns: launching one run per store (a child process; drive.py is its work) and the command line.
A run starts executions of tests/chaos/machines.py at a steady rate (from its own process,
through the `Service`, retrying a refused start under the same name, so an acknowledged start is
one execution), keeps a fleet of processes driving the store (an `asl serve` and `asl worker`s,
faults.py), and injects faults for `seconds`: kill -9 (the process replaced at once), SIGSTOP
then SIGCONT (one stall lasts past the 30 s lease, so the others take its executions over while
it lives), the SQLite file locked from another process (BEGIN EXCLUSIVE; in long runs past the
30 s busy timeout, with no other fault meanwhile), the PostgreSQL connections terminated while a
table lock holds them, and the small filesystem the SQLite store lives on filled up. Then the
faults stop (every process continued, the lock and the disk freed, the fleet full again), every
execution must close within `bound_seconds`, and each live process, alone, must drive one more
execution (a probe: a loop that died on a store error drives nothing); check.py reads what
happened.

Workers run on real time: virtual clocks in separate processes would each jump to their own
next timer, and a lease is judged by the claimer's clock. The SQLite store sits on a tmpfs
mounted in a user namespace (`unshare -rm`, no root needed) that only the run and its workers
see; where user namespaces are refused the disk-full fault is not injected and the figures
say why. The ledger and the logs stay outside that filesystem, so a full disk never loses a
recorded call.

Entry points: `python -m tests.chaos.run --minutes N` (`make chaos`: each store for N
minutes, both at once, the figures of each, exit 1 on any finding) and `run_store()` (the CI
profile, tests/chaos/test_chaos.py). A store's run is a child process (`--child`), so the
namespace and its mount are the run's own. Must never: assert on timing (faults are timed,
checks poll with a deadline) or leave a process behind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.chaos.check import Figures
from tests.chaos.drive import CI_SECONDS, STORES, Profile, Run
from tests.chaos.faults import DISK_FULL, REPO
from tests.store import POSTGRES_SKIP, postgres_schema, postgres_url

# -- launching a store's run ----------------------------------------------------------------------


def namespace_refused() -> str | None:
    """Why a user namespace with its own tmpfs cannot be made here (None: it can)."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return "no unshare(1): a small filesystem needs a user namespace"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m none /tmp"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"unprivileged user namespaces are refused here ({probe.stderr.strip()})"
    return None


MOUNT = 'mount -t tmpfs -o "size=$1" none "$2" && shift 2 && exec "$@"'


@contextmanager
def launched(
    kind: str, folder: Path, profile: Profile, seed: int
) -> Iterator[tuple[subprocess.Popen[str] | None, str | None]]:
    """A store's run as a child process; yields it (None and why, when it cannot run)."""
    folder.mkdir(parents=True, exist_ok=True)
    child = [
        sys.executable, "-m", "tests.chaos.run", "--child", kind, "--folder", str(folder),
        "--seconds", str(profile.seconds), "--seed", str(seed),
        "--workers", str(profile.workers), "--rate", str(profile.starts_per_second),
    ]  # fmt: skip
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            refused = namespace_refused()
            if refused is None:
                fs = folder / "fs"
                fs.mkdir(exist_ok=True)
                url = f"sqlite:///{fs / 'asl.db'}"
                command = ["unshare", "-rm", "sh", "-c", MOUNT, "sh", profile.fs_size, str(fs)]
                command += [*child, "--url", url, "--fs", str(fs)]
            else:
                url = f"sqlite:///{folder / 'asl.db'}"
                command = [*child, "--url", url, "--skip", f"{DISK_FULL}={refused}"]
        else:
            admin = postgres_url()
            if admin is None:
                yield None, POSTGRES_SKIP
                return
            name = f"asl_chaos_{uuid.uuid4().hex[:12]}"
            scoped = stack.enter_context(postgres_schema(admin))
            url = with_application_name(scoped, name)
            command = [*child, "--url", url, "--application-name", name]
        log = stack.enter_context((folder / "run.log").open("w"))
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=REPO
        )
        try:
            yield process, None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def with_application_name(url: str, name: str) -> str:
    """`url` whose connections say `name` in pg_stat_activity (how the faults find them)."""
    from sqlalchemy import make_url

    parsed = make_url(url).update_query_dict({"application_name": name})
    return parsed.render_as_string(hide_password=False)


def figures_of(process: subprocess.Popen[str], folder: Path, kind: str) -> Figures:
    process.wait()
    path = folder / "figures.json"
    if not path.exists():
        log = (folder / "run.log").read_text(errors="replace")
        figures = Figures(store=kind)
        figures.problems.append(f"the run exited with status {process.returncode}: {log[-3000:]}")
        return figures
    return Figures.load(path)


def run_store(kind: str, folder: Path, seconds: float = CI_SECONDS, seed: int = 7) -> Figures:
    """One store's run for `seconds` of faults (the CI profile by default)."""
    with launched(kind, folder, Profile.for_seconds(seconds), seed) as (process, skipped):
        if process is None:
            raise LookupError(skipped)
        return figures_of(process, folder, kind)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__)
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--seconds", type=float, default=CI_SECONDS)
    parser.add_argument("--stores", default=",".join(STORES))
    parser.add_argument("--workers", type=int, default=3, help="processes driving the store")
    parser.add_argument("--rate", type=float, default=6.0, help="executions started per second")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--child", choices=STORES, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--application-name", help=argparse.SUPPRESS)
    parser.add_argument("--fs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--skip", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seconds = args.minutes * 60 if args.minutes is not None else args.seconds
    profile = Profile.for_seconds(seconds, args.workers, args.rate)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    if args.child is not None:
        run = Run(
            args.child, args.url, args.folder, profile, seed,
            args.application_name, args.fs,
            dict(item.split("=", 1) for item in args.skip),
        )  # fmt: skip
        figures = asyncio.run(run.main())
        figures.dump(args.folder / "figures.json")
        print(figures.report(), flush=True)
        return 0 if figures.ok else 1
    folder = args.folder or Path(tempfile.mkdtemp(prefix="asl-chaos-"))
    print(f"chaos: {seconds:.0f} s of faults per store, seed {seed}, files in {folder}", flush=True)
    ok = True
    with contextlib.ExitStack() as stack:
        runs = []
        for kind in args.stores.split(","):
            process, skipped = stack.enter_context(launched(kind, folder / kind, profile, seed))
            if process is None:
                print(f"chaos {kind}: skipped: {skipped}", flush=True)
                continue
            runs.append((kind, process))
        for kind, process in runs:
            figures = figures_of(process, folder / kind, kind)
            print(figures.report(), flush=True)
            ok = ok and figures.ok
    if not ok:
        again = (
            f"python -m tests.chaos.run --seconds {seconds:g} --stores {args.stores} "
            f"--workers {args.workers} --rate {args.rate:g} --seed {seed}"
        )
        print(f"chaos: FAILED; worker logs in {folder}; the same fault schedule: {again}")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
