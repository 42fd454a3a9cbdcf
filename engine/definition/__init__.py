"""The definition layer: text -> JSON -> diagnostics -> the compiled `Machine`.

Owns one process-wide setting: the recursion limit its recursive walks need. Parsing,
validating and compiling walk a definition recursively, and a definition nested deeper than the
engine reads (tests/definition/test_nesting.py: a Parallel nested 2,000 deep) must reach those
walks and get its located diagnostic (NESTING_LIMIT_EXCEEDED at the 101st level), not a
RecursionError turned into "nested too deeply" by the JSON parser. That takes more than
Python's default 1,000 frames. jsonata-python raises the limit to 10,000 when it is imported
(`Jsonata._static_initializer`), and the engine used to import it in every process; it now
loads only for JSONata machines (start-up time), so the engine sets the same floor itself and
no diagnostic depends on whether a machine uses JSONata.
"""

from __future__ import annotations

import sys

RECURSION_LIMIT = 10_000
"""The floor set on import: jsonata-python's value, which the engine has always run under."""

if sys.getrecursionlimit() < RECURSION_LIMIT:
    sys.setrecursionlimit(RECURSION_LIMIT)
