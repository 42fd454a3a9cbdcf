"""Every case recorded against real AWS, run as `asl run` (and `asl validate`) in this process
and judged by the conformance runner's own comparison (../shared/conformance/run.py: status,
output, error, cause, history event types; validity).

Two corpora: the shared one (../shared/conformance/cases/exec, skipped with a reason when the
checkout has no ../shared beside it) and the recordings mined into this repository
(tests/conformance/mined/exec: more recordings of the same LocalStack snapshot files, see
NOTICE). `make conformance` runs the shared corpus through the installed command; here the
same cases guard every change in CI, a few milliseconds each.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shlex
from argparse import Namespace
from pathlib import Path
from types import ModuleType

import pytest
from _pytest.mark import ParameterSet

from engine.cli import main

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "conformance"
MINED = HERE / "mined" / "exec"
# Variables `asl run` reads: none may leak in from the environment running the tests.
VARIABLES = ("ASL_STORE", "ASL_HOME", "ASL_CONFIG", "SFN_MOCK_CONFIG", "ASL_API_TOKEN")

# Cases no local engine can pass, each with why. Strict: one that starts passing fails here.
KNOWN: dict[str, str] = {
    "localstack/context_object/test_context_object/test_result_selector": (
        "AWS recorded the Content-Length of a real Lambda response's headers"
    ),
    "localstack/states_variables/test_error_output/test_parallel_catch_error"
    ".PARALLEL_CATCH_ERROR_OUTPUT": (
        "history: LocalStack's snapshot lost the ParallelStateFailed AWS recorded before the "
        "Catch (its ids jump from 8 to 10; test_parallel_state_catch keeps it)"
    ),
    # asl-validator's labels where AWS says otherwise (docs/validation.md, Conformance)
    "asl-validator/invalid/jsonata-surround-syntax-no-spaces": (
        "no AWS rule requires whitespace inside {% %}; a deployed AWS sample has none"
    ),
    "asl-validator/valid/task-credentials": (
        "AWS rejects Credentials without RoleArn (recorded: INVALID_CREDENTIALS_FIELD)"
    ),
}


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("conformance_run", SHARED / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.run_cmd = _in_process  # type: ignore[attr-defined]  # this process's `asl`
    return module


def _in_process(argv: list[str], timeout: float) -> tuple[int, str, str, None]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv[1:])
    return code, out.getvalue(), err.getvalue(), None


def _cases(folder: Path) -> list[ParameterSet]:
    if not folder.is_dir():
        return [
            pytest.param(None, id="absent", marks=pytest.mark.skip(reason=f"{folder} is absent"))
        ]
    params = []
    for path in sorted(folder.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        marks = []
        if case.get("doubtful"):
            marks.append(pytest.mark.skip(reason=f"its label is doubtful: {case['doubtful']}"))
        if "needs_real_time" in case.get("tags", []):
            marks.append(pytest.mark.skip(reason="its Lambda function really sleeps (60 s)"))
        if case["id"] in KNOWN:
            marks.append(pytest.mark.xfail(reason=KNOWN[case["id"]], strict=True))
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    if not (SHARED / "run.py").is_file():
        pytest.skip(f"the conformance runner {SHARED / 'run.py'} is absent (it lives in ../shared)")
    return _runner()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASL_HOME", str(tmp_path / "home"))


def judge(runner: ModuleType, case: dict[str, object]) -> None:
    result = runner.exec_case(case, Namespace(history=True, timeout=30), shlex.split("asl"))
    history = result["history"] or {"passed": True, "reason": ""}
    assert (result["reason"], history["reason"]) == ("", "")
    assert result["passed"]
    assert history["passed"]


@pytest.mark.parametrize("case", _cases(SHARED / "cases" / "exec"))
def test_shared_case(runner: ModuleType, case: dict[str, object]) -> None:
    judge(runner, case)


@pytest.mark.parametrize("case", _cases(SHARED / "cases" / "validate"))
def test_shared_validation_case(runner: ModuleType, case: dict[str, object]) -> None:
    result = runner.validate_case(case, Namespace(timeout=30), shlex.split("asl"))
    assert (result["reason"], result["passed"]) == ("", True)


@pytest.mark.parametrize("case", _cases(MINED))
def test_mined_case(runner: ModuleType, case: dict[str, object]) -> None:
    judge(runner, case)
