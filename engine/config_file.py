"""Where the operator's configuration file is: `--config`, $ASL_CONFIG, ./asl.toml, or a
pyproject.toml with a `[tool.asl]` table.

Owns: finding the file, and nothing else. Must never: import the schema (pydantic) or the
backends the file configures (engine/config.py): every command that takes a config looks for
one first, and most runs have none, so looking must cost nothing at start-up (`asl run`'s
process time, bench/process_bench.py; tests/cli/test_cold_start.py keeps engine.config out).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

CONFIG_FILE: Final = "asl.toml"

CONFIG_ENV: Final = "ASL_CONFIG"
"""Environment variable naming the config file when no `--config` flag is given."""


def find_config(explicit: str | None = None, *, cwd: Path | None = None) -> Path | None:
    """The config file to use: `explicit`, else $ASL_CONFIG, else ./asl.toml, else
    ./pyproject.toml when it has a [tool.asl] table; None when there is none."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    here = cwd or Path()  # relative to the working folder unless told otherwise
    if (here / CONFIG_FILE).is_file():
        return here / CONFIG_FILE
    pyproject = here / "pyproject.toml"
    if pyproject.is_file():
        import tomllib  # here: most runs have no pyproject.toml to look into

        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None  # not ours to report: it may not be meant for us at all
        if isinstance(data.get("tool"), dict) and "asl" in data["tool"]:
            return pyproject
    return None
