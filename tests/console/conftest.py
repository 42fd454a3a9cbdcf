"""Fixtures of the console's browser tests: Debian's chromium driven by Playwright, and
`asl serve` as a real process (virtual time, this folder's functions).

The browser tests skip, saying why, only when no chromium can be found (.ci/run installs
Debian's `chromium`); set ASL_CHROMIUM to use another executable.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve_process import serve_process

HERE = Path(__file__).resolve().parent
FUNCTIONS = str(HERE / "functions.py")
VIEWPORT = {"width": 1280, "height": 900}


def chromium_path() -> str | None:
    for candidate in (os.environ.get("ASL_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium found (install Debian's chromium, as .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium's sandbox cannot start
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def server() -> Iterator[str]:
    with serve_process(["--functions", FUNCTIONS, "--virtual-time"]) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors
