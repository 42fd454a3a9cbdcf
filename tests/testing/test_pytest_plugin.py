"""The pytest plugin (engine/testing/pytest_plugin.py), run the way a project runs it.

The sample project tests/plugin_project/ (a machine, its functions, a mock config, a pytest.ini
and tests that use only the plugin) runs under pytester with the plugin loaded from its
`pytest11` entry point, as in any environment where asl-engine is installed: no conftest.py.
Each run is a subprocess (`runpytest_subprocess`), a fresh interpreter as a project has: run in
this process, pytest's module snapshots would re-import the store's SQLAlchemy and Alembic
modules half-way between two runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import engine.testing.pytest_plugin as plugin

SAMPLE = Path(__file__).resolve().parents[1] / "plugin_project"
# Unrelated plugins installed here (Hypothesis, Schemathesis) cost each pytest process seconds
# of imports on a busy 2-core machine; every run but the sample's own leaves them out.
QUICK = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest")
SAMPLE_TESTS = 11  # tests/plugin_project/test_order.py, parametrized cases included
ASYNC_TESTS = 2


@pytest.fixture
def sample(pytester: pytest.Pytester) -> pytest.Pytester:
    """The sample project, copied into pytester's directory (its own rootdir and pytest.ini)."""
    for path in SAMPLE.iterdir():
        if path.is_file():
            shutil.copy(path, pytester.path / path.name)
    return pytester


def test_the_sample_project_has_no_conftest() -> None:
    assert sorted(p.name for p in SAMPLE.iterdir() if p.suffix != ".pyc" and p.is_file()) == [
        "approval.asl.json",
        "functions.py",
        "mock-config.json",
        "order.asl.json",
        "pytest.ini",
        "test_order.py",
    ]


@pytest.mark.slow  # its crash test runs three real asl processes
def test_the_sample_project_passes_with_the_plugin_from_its_entry_point(
    sample: pytest.Pytester,
) -> None:
    result = sample.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=SAMPLE_TESTS)
    result.stdout.fnmatch_lines(["plugins:*asl-engine-*"])  # loaded as an installed plugin
    result.stdout.fnmatch_lines(["*test_the_async_engine?asyncio? PASSED*"])


def test_sync_fixtures_need_no_async_plugin(sample: pytest.Pytester) -> None:
    result = sample.runpytest_subprocess(*QUICK, "-p", "no:anyio", "-k", "not async and not crash")
    result.assert_outcomes(passed=SAMPLE_TESTS - ASYNC_TESTS - 1, deselected=ASYNC_TESTS + 1)


def test_without_the_plugin_its_fixtures_are_unknown(sample: pytest.Pytester) -> None:
    result = sample.runpytest_subprocess(*QUICK, "-p", "no:asl_engine", "-k", "flaky")
    result.assert_outcomes(errors=1, deselected=SAMPLE_TESTS - 1)
    result.stdout.fnmatch_lines(["*fixture 'asl_engine' not found*"])


def test_a_failing_assertion_says_what_happened(sample: pytest.Pytester) -> None:
    sample.makepyfile(
        test_failing="""
        from pathlib import Path

        from engine.testing import assert_path, assert_task_calls

        def test_path(asl_engine):
            machine = asl_engine.load(Path("order.asl.json"))
            result = asl_engine.run(machine, {"orderId": "o-2", "amount": 5, "card": "0000"})
            assert_path(result, ["Check", "Charge", "Settle", "Confirm"])

        def test_calls(asl_engine):
            machine = asl_engine.load(Path("order.asl.json"))
            result = asl_engine.run(machine, {"orderId": "o-2", "amount": 5, "card": "flaky"})
            assert_task_calls(result, {"Charge": 1})
        """
    )
    result = sample.runpytest_subprocess(*QUICK, "test_failing.py")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: the execution took another path:",
            "E*  taken:    Check → Charge → Declined",
            "E*  expected: Check → Charge → Settle → Confirm",
            "E*  first difference at step 3: Declined, expected Settle",
            "E*  status:   FAILED (Order.Declined: the card was declined)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: task calls differ: Charge: 2 (expected 1)",
            "E*  all task calls: {'Charge': 2, 'Confirm': 1}",
        ]
    )


def test_a_broken_functions_file_fails_the_test_with_the_engines_message(
    sample: pytest.Pytester,
) -> None:
    (sample.path / "functions.py").write_text("def charge(event, context)\n")
    result = sample.runpytest_subprocess(*QUICK, "-k", "flaky")
    result.assert_outcomes(errors=1, deselected=SAMPLE_TESTS - 1)
    result.stdout.fnmatch_lines(["*asl_functions: *functions.py*line 1*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_the_names_before_the_plugin_still_work_when_asked_for(pytester: pytest.Pytester) -> None:
    """`pytest_plugins = ["engine.testing"]` and `from engine.testing import call_ledger`
    (docs/idempotency.md before the plugin) still give `call_ledger` and `crash_harness`; the
    plugin alone does not take those short names."""
    pytester.makeconftest('pytest_plugins = ["engine.testing"]')
    pytester.makepyfile(
        test_legacy="""
        def test_names(call_ledger, crash_harness, asl_store_url, asl_call_ledger):
            assert call_ledger is asl_call_ledger
            assert crash_harness.ledger is call_ledger
            assert crash_harness.store_url == asl_store_url
        """
    )
    pytester.runpytest_subprocess(*QUICK).assert_outcomes(passed=1)
    (pytester.path / "conftest.py").unlink()
    result = pytester.runpytest_subprocess(*QUICK)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'call_ledger' not found*"])


def test_the_plugin_adds_no_hooks_and_no_autouse_fixtures() -> None:
    """It must not change a run that does not ask for its fixtures (our own suite included)."""
    hooks = sorted(name for name in vars(plugin) if name.startswith("pytest_"))
    assert hooks == ["pytest_addoption"]
    fixtures = {
        name: value
        for name, value in vars(plugin).items()
        if type(value).__name__ == "FixtureFunctionDefinition"
    }
    assert sorted(fixtures) == [
        "asl_async_engine",
        "asl_async_service",
        "asl_call_ledger",
        "asl_clock",
        "asl_crash_harness",
        "asl_engine",
        "asl_functions",
        "asl_mock_config",
        "asl_service",
        "asl_store_url",
    ]
    assert not any(f._fixture_function_marker.autouse for f in fixtures.values())


BLOCK_PYTEST = textwrap.dedent(
    """
    import sys

    class NoPytest:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("pytest", "_pytest"):
                raise ImportError(f"{name} is not installed here")

    sys.meta_path.insert(0, NoPytest())
    import engine.testing
    from engine.testing import CallLedger, EngineSession, ServiceSession, assert_path
    print(sorted(m for m in sys.modules if m.split(".")[0] in ("pytest", "_pytest")))
    """
)


def test_engine_testing_imports_without_pytest() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_PYTEST], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")


def test_the_blocker_does_block_pytest() -> None:
    """The test above cannot pass vacuously: the same blocker stops an import of pytest."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_PYTEST + "\nimport engine.testing.pytest_plugin\n"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == "ImportError: pytest is not installed here"


def test_every_public_name_of_the_test_kit_resolves_to_its_home() -> None:
    import importlib

    import engine.testing as kit

    homes = kit._HOMES
    assert sorted(homes) == sorted(kit.__all__)
    for name, home in homes.items():
        assert getattr(kit, name) is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match=r"module 'engine\.testing' has no attribute 'nope'"):
        kit.nope  # noqa: B018 - the attribute access is the test


def test_loading_the_plugin_imports_neither_the_runtime_nor_asyncio() -> None:
    """Every pytest run where asl-engine is installed loads the plugin: a run that uses none of
    its fixtures must not pay for the engine."""
    code = (
        "import sys, pytest\n"
        "before = set(sys.modules)\n"
        "import engine.testing.pytest_plugin\n"
        "print(sorted(m for m in set(sys.modules) - before"
        " if m.startswith(('engine', 'asyncio'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "['engine', 'engine.testing', 'engine.testing.pytest_plugin']\n"
