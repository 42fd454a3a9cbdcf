"""Rules for reading an AWS execution history that more than one reader needs.

Owns: facts about history event types that hold whatever produced the history (this engine or
AWS), read by asltest's trace and the graph's status colours. Must never: import anything of the
engine (it sits at the bottom, beside engine.values, so the graph layer may read it).
"""

from __future__ import annotations

from typing import Final

SUCCESS_EVENTS: Final = frozenset(
    {
        "TaskSucceeded",
        "LambdaFunctionSucceeded",
        "ActivitySucceeded",
        "ParallelStateSucceeded",
        "MapStateSucceeded",
    }
)
"""The events that end a successful attempt of a Task, Parallel or Map: a StateExited whose
previous event is one of these left normally; any other StateExited of such a state follows a
Catch."""
