"""Open a store from a URL: the one place that maps `--store` URLs to stores.

Owns: the URL schemes (`memory://`, `sqlite:///PATH`, `postgresql://...`), the default URL
(`sqlite:///<data dir>/asl.db`, the data dir from `ASL_HOME` or the per-user data directory),
applying pending migrations before a SQL store is handed out, and the privacy of a new SQLite
store: the folders it creates are 0700 and the database file 0600 whatever the umask (SQLite
gives the -wal, -shm and -journal files the database file's mode), because a store holds
inputs, outputs and task tokens. Must never: import the SQL machinery for a memory store
(SQLAlchemy and Alembic load only when a SQL URL is opened), or change the mode of a folder or
file it did not create (an existing store that other users can read is reported, not changed).
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path
from typing import Final

from engine.errors import EngineError, InvalidRequest
from engine.store.base import Store, StoreError, database_reason
from engine.store.memory import MemoryStore

APP_NAME: Final = "asl-engine"
DB_FILE: Final = "asl.db"
HOME_VARIABLE: Final = "ASL_HOME"

_SQL_SCHEMES: Final = ("sqlite:", "sqlite+pysqlite:", "postgresql", "postgres:")

PRIVATE_DIR_MODE: Final = 0o700
PRIVATE_FILE_MODE: Final = 0o600

_log = logging.getLogger(__name__)


def data_dir() -> Path:
    """Where the default database lives: `$ASL_HOME`, else the per-user data directory.

    The per-user directory follows each platform's convention (as platformdirs does):
    `$XDG_DATA_HOME/asl-engine` or `~/.local/share/asl-engine` on Linux and other Unixes,
    `~/Library/Application Support/asl-engine` on macOS, `%LOCALAPPDATA%\\asl-engine` on Windows.
    """
    home = os.environ.get(HOME_VARIABLE)
    if home:
        return Path(home).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    xdg = os.environ.get("XDG_DATA_HOME")
    return Path(xdg if xdg else Path.home() / ".local" / "share") / APP_NAME


def default_url() -> str:
    return f"sqlite:///{(data_dir() / DB_FILE).absolute()}"


def resolve_url(url: str | None) -> str:
    """The URL a store would open: `url` itself, or the default when none is given."""
    return url if url else default_url()


def open_store(url: str | None = None) -> Store:
    """A ready store for `url` (the default when None); SQL schemas are migrated first.

    Raises InvalidRequest for a URL of no known scheme and StoreError when the database cannot
    be opened or migrated.
    """
    if url is not None and url.startswith("memory:"):
        return MemoryStore()
    url = resolve_url(url)
    if not url.startswith(_SQL_SCHEMES):
        raise InvalidRequest(
            "ValidationException",
            f"unsupported store URL {url!r}: use memory://, sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DATABASE",
        )
    # imported here so a memory store never pays for SQLAlchemy and Alembic
    from engine.store.migrations import upgrade_engine
    from engine.store.sql import SqlStore, create_sql_engine

    try:
        if url.startswith(("sqlite:", "sqlite+pysqlite:")):
            _create_private_sqlite_file(url)
        engine = create_sql_engine(url)
    except Exception as exc:  # a malformed URL or missing driver: report it, located
        raise StoreError(f"cannot open the store at {url}: {database_reason(exc)}") from exc
    try:
        upgrade_engine(engine)
    except EngineError:
        engine.dispose()
        raise
    except Exception as exc:  # the edge: any driver or Alembic failure becomes a StoreError
        engine.dispose()
        raise StoreError(f"cannot migrate the store at {url}: {database_reason(exc)}") from exc
    return SqlStore(engine)


def _create_private_sqlite_file(url: str) -> None:
    """Create the database file of a SQLite `url` (0600) and its missing folders (0700).

    Created empty before SQLite opens it (an empty file is an empty database), so its mode is
    ours, not the umask's; SQLite creates the -wal and -shm files with the same mode. An
    existing file keeps its mode: a warning says when other users can read it.
    """
    from sqlalchemy.engine import make_url  # only for SQL URLs, as SQLAlchemy loads

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    missing: list[Path] = []
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # another process made it meanwhile: its mode is its own
            continue
        created.chmod(PRIVATE_DIR_MODE)  # whatever the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        _warn_if_shared(path)
        return
    try:
        if hasattr(os, "fchmod"):  # POSIX; on Windows modes do not apply
            os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)


def _warn_if_shared(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # SQLite reports what is wrong with it
    if os.name == "posix" and path.is_file() and mode & 0o077:
        _log.warning(
            "the store %s is readable by other users (mode %s): it holds inputs, outputs and "
            "task tokens; run `chmod 600 %s*` (and `chmod 700` its folder) to make it private",
            path,
            oct(mode)[2:],
            path,
        )
