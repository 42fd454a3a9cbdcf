"""The pytest plugin of asl-engine: fixtures for testing state machines, loaded by itself.

Owns: the `asl_*` fixtures and the `asl_functions` / `asl_mock_config` ini options. Installed
with the package as the `pytest11` entry point `asl_engine`, so every pytest run in an
environment with asl-engine has the fixtures without a conftest.py (`-p no:asl_engine` turns it
off). Must never: change a test run that does not ask for its fixtures (it adds no hooks,
options with side effects or autouse fixtures), or hold testing logic (engine/testing/ does;
this module only wires it into pytest).

Sync fixtures (any project, no async plugin needed):
    asl_clock          a fresh VirtualClock (Waits and back-offs take no real time)
    asl_functions      handlers by Lambda function name, from the `asl_functions` ini files
    asl_mock_config    the Step Functions Local mock config of the `asl_mock_config` ini file
    asl_engine         an EngineSession: an in-memory Engine on those three
    asl_store_url      a fresh SQLite file in the test's tmp_path
    asl_service        a ServiceSession: a durable Service on asl_store_url
    asl_call_ledger    a CallLedger in tmp_path, also named by ASL_TEST_LEDGER
    asl_crash_harness  a CrashHarness on asl_store_url, its workers loading asl_functions files
Async fixtures (for `async def` tests run by anyio's pytest plugin, installed with asl-engine,
or by pytest-asyncio in auto mode):
    asl_async_engine   an Engine in the test's event loop
    asl_async_service  a Service on asl_store_url, started, in the test's event loop

The engine and service fixtures also set up `asl_call_ledger` (`ASL_TEST_LEDGER`), so handlers
recorded with `CallLedger()` work under every fixture and a test can count their calls.

Override any of them in a conftest.py (a fixture of the same name there wins): e.g. an
`asl_functions` returning a dict of handlers, or an `asl_store_url` naming PostgreSQL.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from engine.backends.mocks import MockConfig
    from engine.embedded import Engine
    from engine.runtime.clock import VirtualClock
    from engine.service import Service
    from engine.testing.crash import CallLedger, CrashHarness
    from engine.testing.sessions import EngineSession, ServiceSession

FUNCTIONS_INI = "asl_functions"
MOCK_CONFIG_INI = "asl_mock_config"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        FUNCTIONS_INI,
        "asl-engine: Python files (or modules) whose functions serve Lambda functions in the "
        "asl_engine, asl_service and asl_crash_harness fixtures (relative to the rootdir)",
        type="linelist",
        default=[],
    )
    parser.addini(
        MOCK_CONFIG_INI,
        "asl-engine: a Step Functions Local mock config file for the asl_mock_config fixture "
        "(relative to the rootdir)",
        type="string",
        default="",
    )


def _from_rootdir(config: pytest.Config, name: str) -> str:
    """A file named in an ini option, relative to the rootdir; a module name stays as it is."""
    if name.endswith(".py") or os.sep in name or "/" in name:
        return str(Path(config.rootpath, name))
    return name


def _functions_files(config: pytest.Config) -> list[str]:
    names = config.getini(FUNCTIONS_INI)
    assert isinstance(names, list)
    return [_from_rootdir(config, str(name)) for name in names]


def _fail_on_engine_error(what: str, load: Callable[[], object]) -> object:
    """Load something an ini option names; a bad file fails the test with the engine's
    message (what is wrong, where), never with a traceback into the engine."""
    from engine.errors import EngineError

    try:
        return load()
    except EngineError as exc:
        pytest.fail(f"{what}: {exc.message}", pytrace=False)


# -- the parts ------------------------------------------------------------------------------------


@pytest.fixture
def asl_clock() -> VirtualClock:
    """A fresh virtual clock: a one-year Wait finishes at once, timestamps stay consistent."""
    from engine.runtime.clock import VirtualClock

    return VirtualClock()


@pytest.fixture
def asl_functions(pytestconfig: pytest.Config) -> dict[str, Callable[..., object]]:
    """Handlers by Lambda function name, from the files the `asl_functions` ini option lists
    (none: an empty dict). Override it to hand handlers in directly."""
    from engine.backends.python import load_functions

    functions: dict[str, Callable[..., object]] = {}
    for source in _functions_files(pytestconfig):
        loaded = _fail_on_engine_error("asl_functions", functools.partial(load_functions, source))
        assert isinstance(loaded, dict)
        functions.update(loaded)
    return functions


@pytest.fixture
def asl_mock_config(pytestconfig: pytest.Config) -> MockConfig | None:
    """The mock config the `asl_mock_config` ini option names (None without one); select a
    test case with `run(..., test_case="HappyPath")`."""
    from engine.backends.mocks import MockConfig, load_mock_config

    name = pytestconfig.getini(MOCK_CONFIG_INI)
    if not name:
        return None
    path = _from_rootdir(pytestconfig, str(name))
    loaded = _fail_on_engine_error("asl_mock_config", lambda: load_mock_config(path))
    assert isinstance(loaded, MockConfig)
    return loaded


@pytest.fixture
def asl_store_url(tmp_path: Path) -> str:
    """A fresh SQLite store in the test's temporary directory (override it for PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'asl.db'}"


# -- sync fixtures --------------------------------------------------------------------------------


@pytest.fixture
def asl_engine(
    asl_clock: VirtualClock,
    asl_functions: dict[str, Callable[..., object]],
    asl_mock_config: MockConfig | None,
    asl_call_ledger: CallLedger,
) -> Iterator[EngineSession]:
    """An in-memory engine for a plain (sync) test: `load`, `run`, `start`, `result`."""
    from engine.embedded import Engine
    from engine.testing.sessions import EngineSession

    with EngineSession(
        Engine(functions=asl_functions, clock=asl_clock, mock_config=asl_mock_config)
    ) as session:
        yield session


@pytest.fixture
def asl_service(
    asl_store_url: str,
    asl_clock: VirtualClock,
    asl_functions: dict[str, Callable[..., object]],
    asl_mock_config: MockConfig | None,
    asl_call_ledger: CallLedger,
) -> Iterator[ServiceSession]:
    """A durable service on a fresh SQLite file for a plain (sync) test: `create`, `start`,
    `run`, `result`, `describe`, `history`, as `asl serve` runs them."""
    from engine.testing.sessions import ServiceSession

    with ServiceSession.open(
        asl_store_url, clock=asl_clock, functions=asl_functions, mock_config=asl_mock_config
    ) as session:
        yield session


@pytest.fixture
def asl_call_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CallLedger:
    """A ledger in the test's temporary directory, also named in `ASL_TEST_LEDGER` here."""
    from engine.testing.crash import LEDGER_VARIABLE, CallLedger

    path = tmp_path / "calls.jsonl"
    monkeypatch.setenv(LEDGER_VARIABLE, str(path))
    return CallLedger(path)


@pytest.fixture
def asl_crash_harness(
    pytestconfig: pytest.Config, asl_store_url: str, asl_call_ledger: CallLedger
) -> Iterator[CrashHarness]:
    """A `CrashHarness` on `asl_store_url` whose workers load the `asl_functions` ini files
    and record calls in `asl_call_ledger` (set `.functions` to load others)."""
    from engine.testing.crash import CrashHarness

    with CrashHarness(
        asl_store_url, functions=_functions_files(pytestconfig), ledger=asl_call_ledger
    ) as harness:
        yield harness


# -- async fixtures -------------------------------------------------------------------------------


def _check_asyncio(request: pytest.FixtureRequest) -> None:
    """The engine runs on asyncio: an anyio test parametrized with trio gets a clear error."""
    if "anyio_backend" in request.fixturenames:
        backend = request.getfixturevalue("anyio_backend")
        name = backend[0] if isinstance(backend, tuple) else backend
        if name != "asyncio":
            pytest.fail(
                f"asl-engine runs on asyncio, not {name}: give the test "
                '`@pytest.mark.parametrize("anyio_backend", ["asyncio"])` or an '
                'anyio_backend fixture returning "asyncio"',
                pytrace=False,
            )


@pytest.fixture
async def asl_async_engine(
    request: pytest.FixtureRequest,
    asl_clock: VirtualClock,
    asl_functions: dict[str, Callable[..., object]],
    asl_mock_config: MockConfig | None,
    asl_call_ledger: CallLedger,
) -> AsyncIterator[Engine]:
    """An `Engine` in the test's event loop (`await asl_async_engine.run(machine, ...)`)."""
    from engine.embedded import Engine

    _check_asyncio(request)
    engine = Engine(functions=asl_functions, clock=asl_clock, mock_config=asl_mock_config)
    try:
        yield engine
    finally:
        await engine.aclose()


@pytest.fixture
async def asl_async_service(
    request: pytest.FixtureRequest,
    asl_store_url: str,
    asl_clock: VirtualClock,
    asl_functions: dict[str, Callable[..., object]],
    asl_mock_config: MockConfig | None,
    asl_call_ledger: CallLedger,
) -> AsyncIterator[Service]:
    """A started `Service` on `asl_store_url` in the test's event loop."""
    from engine.service import Service
    from engine.store.open import open_store

    _check_asyncio(request)
    store = open_store(asl_store_url)
    try:
        async with Service(
            store, clock=asl_clock, functions=asl_functions, mock_config=asl_mock_config
        ) as service:
            yield service
    finally:
        store.close()


# -- the names before the plugin ------------------------------------------------------------------


def legacy_fixtures() -> dict[str, object]:
    """`call_ledger` and `crash_harness`, the fixtures' names before the plugin (with
    `asl_store_url`), for suites that still enable them with `pytest_plugins =
    ["engine.testing"]` or import them from `engine.testing`. Made on demand, never registered
    by the plugin itself: those short names stay free for a project's own fixtures."""

    @pytest.fixture(name="call_ledger")
    def call_ledger(asl_call_ledger: CallLedger) -> CallLedger:
        return asl_call_ledger

    @pytest.fixture(name="crash_harness")
    def crash_harness(asl_crash_harness: CrashHarness) -> CrashHarness:
        return asl_crash_harness

    return {
        "call_ledger": call_ledger,
        "crash_harness": crash_harness,
        "asl_store_url": asl_store_url,
    }
