"""The layers of DESIGN.md, as imports: each layer imports only the layers below it.

Read from the source with `ast` (every `import` and `from ... import`, also the ones inside
functions and under TYPE_CHECKING), so a new upward import fails here, naming the module, the
line and the layer it reaches into.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "engine"

# Each layer, and the engine modules it may import (a prefix matches a package). The order is
# DESIGN.md's, bottom up; the CLI and the test kit are interfaces, on top.
ALLOWED: dict[str, tuple[str, ...]] = {
    "engine.values": (),
    "engine.ids": (),
    # DefinitionInvalid names the Diagnostic type it carries (a TYPE_CHECKING import only)
    "engine.errors": ("engine.definition.diagnostics",),
    "engine.names": ("engine.errors",),
    "engine.history_events": (),
    "engine.definition": ("engine.definition", "engine.values", "engine.errors"),
    # drawing: pure like the definition layer it reads (engine/graph/__init__.py)
    "engine.graph": (
        "engine.graph",
        "engine.definition",
        "engine.history_events",
        "engine.values",
        "engine.errors",
    ),
    "engine.interpreter": (
        "engine.interpreter",
        "engine.definition",
        "engine.ids",
        "engine.values",
        "engine.errors",
    ),
    "engine.backends": (
        "engine.backends",
        "engine.interpreter.tasks",
        "engine.definition",
        "engine.values",
        "engine.errors",
        "engine.names",
    ),
    "engine.store": (
        "engine.store",
        "engine.interpreter",
        "engine.definition",
        "engine.values",
        "engine.errors",
    ),
    "engine.runtime": (
        "engine.runtime",
        "engine.interpreter",
        "engine.backends",
        "engine.store",
        "engine.definition",
        "engine.values",
        "engine.errors",
    ),
}
INTERFACES = ("engine.cli", "engine.testing", "engine.asltest")
"""Nothing in the engine may import these; they may import anything below them."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ENGINE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def engine_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] == "engine"]


def layer_of(module: str) -> str | None:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


SOURCES = sorted(ENGINE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[module_name(p) for p in SOURCES])
def test_imports_point_down(path: Path) -> None:
    module = module_name(path)
    layer = layer_of(module)
    wrong = []
    for line, name in engine_imports(path):
        if within(name, INTERFACES) and not within(module, INTERFACES):
            wrong.append(f"line {line}: {name} (an interface; nothing below may import it)")
        elif layer is not None and name != "engine" and not within(name, ALLOWED[layer]):
            wrong.append(f"line {line}: {name} (above {layer})")
    assert not wrong, f"{module} imports upward:\n" + "\n".join(wrong)


def test_the_interpreter_owns_its_task_messages() -> None:
    """The core must not depend on the backends layer (issue 12): TaskRequest and its results
    live in engine/interpreter/tasks.py, and the backends re-export them."""
    from engine.backends import base
    from engine.interpreter import tasks

    for name in ("TaskRequest", "TaskSuccess", "TaskFailure"):
        assert getattr(base, name) is getattr(tasks, name)
        assert getattr(tasks, name).__module__ == "engine.interpreter.tasks"
