"""open_store: URL schemes, the default location, SQLite's durability settings, and errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.errors import InvalidRequest
from engine.store.base import ExecutionRecord, StoreError
from engine.store.memory import MemoryStore
from engine.store.open import data_dir, default_url, open_store, resolve_url
from engine.store.sql import SqlStore, normalize_url


def test_memory_url_opens_a_memory_store() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ASL_HOME": "/srv/asl", "XDG_DATA_HOME": "/xdg"}, Path("/srv/asl")),
        ({"XDG_DATA_HOME": "/xdg"}, Path("/xdg/asl-engine")),
        ({"HOME": "/home/ada"}, Path("/home/ada/.local/share/asl-engine")),
    ],
    ids=["asl-home", "xdg-data-home", "home"],
)
@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the Linux/Unix convention")
def test_data_dir(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: Path) -> None:
    for name in ("ASL_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert data_dir() == expected


def test_default_url_is_sqlite_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ASL_HOME", str(tmp_path / "home"))
    assert default_url() == f"sqlite:///{tmp_path}/home/asl.db"
    assert resolve_url(None) == default_url()
    assert resolve_url("memory://") == "memory://"
    store = open_store(None)
    try:
        assert isinstance(store, SqlStore)
        assert (tmp_path / "home" / "asl.db").is_file()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/test",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        ),
        ("postgres://u:p@db/x", "postgresql+psycopg://u:p@db/x"),
        ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:///a/b.db", "sqlite:///a/b.db"),
    ],
    ids=["postgresql", "postgres", "explicit-driver", "sqlite"],
)
def test_postgres_urls_select_psycopg_3(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_sqlite_store_is_created_with_durable_settings(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "asl.db"
    store = open_store(f"sqlite:///{path}")
    try:
        assert isinstance(store, SqlStore)
        assert path.is_file()
        with store.engine.connect() as conn:
            pragmas = {
                name: conn.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragmas == {
            "journal_mode": "wal",
            "synchronous": 2,  # FULL: the WAL is synced at every commit
            "foreign_keys": 1,
            "busy_timeout": 30_000,
        }
    finally:
        store.close()


@pytest.mark.parametrize(
    ("query", "expected"),
    [("?synchronous=normal", 1), ("?synchronous=FULL", 2), ("?synchronous=Normal&timeout=5", 1)],
)
def test_sqlite_synchronous_normal_is_an_opt_in_of_the_url(
    tmp_path: Path, query: str, expected: int
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/asl.db{query}")
    try:
        assert isinstance(store, SqlStore)
        assert (tmp_path / "asl.db").is_file()  # the parameter is not part of the file name
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == expected
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        store.close()


def test_an_unknown_sqlite_synchronous_setting_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{tmp_path}/asl.db?synchronous=off")
    assert caught.value.message == (
        f"cannot open the store at sqlite:///{tmp_path}/asl.db?synchronous=off: unsupported "
        "synchronous='off' in the store URL: use synchronous=full (the default: every commit "
        "is on disk) or synchronous=normal (faster; the last commits before a power loss may "
        "be lost)"
    )


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, which makes new files 0644 and folders 0755 unless asked otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.usefixtures("umask_022")
def test_a_new_sqlite_store_is_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "home" / "data" / "asl.db"
    store = open_store(f"sqlite:///{path}")
    try:
        store.create_execution(
            ExecutionRecord("arn:e", "arn:m", "r1", "e", "STANDARD", {}, "RUNNING", 1.5)
        )
        files = sorted(p.name for p in path.parent.iterdir())
        assert files == ["asl.db", "asl.db-shm", "asl.db-wal"]  # WAL: all three exist now
        assert {name: mode(path.parent / name) for name in files} == dict.fromkeys(files, 0o600)
        assert mode(path.parent) == mode(path.parent.parent) == 0o700
    finally:
        store.close()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.usefixtures("umask_022")
def test_an_existing_store_keeps_its_mode_and_a_shared_one_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    path = folder / "asl.db"
    path.touch(mode=0o644)  # an empty file: an empty database
    store = open_store(f"sqlite:///{path}")
    store.close()
    assert (mode(folder), mode(path)) == (0o755, 0o644)  # the operator's choice, not changed
    assert f"the store {path} is readable by other users (mode 644)" in caplog.text
    assert f"chmod 600 {path}*" in caplog.text


def test_data_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'asl.db'}"
    record = ExecutionRecord("arn:e", "arn:m", "r1", "e", "STANDARD", {"k": 1}, "RUNNING", 1.5)
    first = open_store(url)
    first.create_execution(record)
    first.close()
    second = open_store(url)
    try:
        assert second.get_execution("arn:e") == record
    finally:
        second.close()


@pytest.mark.parametrize(
    "url",
    ["mysql://u@h/db", "file:///tmp/x.db", "redis://localhost"],
    ids=["mysql", "file", "redis"],
)
def test_unknown_schemes_are_refused(url: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        open_store(url)
    assert raised.value.code == "ValidationException"
    assert "use memory://, sqlite:///PATH or postgresql://" in raised.value.message


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the tables you are looking for" * 100)
    with pytest.raises(StoreError) as raised:
        open_store(f"sqlite:///{path}")
    assert raised.value.code == "ServiceUnavailable"
    assert str(path) in raised.value.message


def test_an_unreachable_postgres_is_a_store_error() -> None:
    with pytest.raises(StoreError) as raised:
        open_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert (
        "cannot migrate the store at postgresql://nobody@127.0.0.1:1/none" in raised.value.message
    )


@pytest.mark.slow
def test_a_memory_store_does_not_load_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "from engine.store.open import open_store\n"
        "open_store('memory://')\n"
        "assert 'sqlalchemy' not in sys.modules and 'alembic' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
