"""Fixtures of the `asl` contract tests: a clean environment and folder per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.harness import VARIABLES, Cli


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`asl` in this process, working in tmp_path, with ASL_HOME=tmp_path/home (its default
    store) and none of the other variables the commands read."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return Cli(tmp_path, capsys)
