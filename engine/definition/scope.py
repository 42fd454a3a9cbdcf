"""What an expression may read besides the state's data: the context object, variables, RNG.

Owns: the `Scope` value passed to every compiled expression's `evaluate`. Must never: hold
mutable execution state (a scope is built per state entry by the interpreter and discarded).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import field

from engine.values import JSON, immutable


@immutable  # a frozen dataclass's constructor cost 1 us; a Task transition makes two scopes
class Scope:
    """The read-only environment of one expression evaluation.

    `context` is the `$$` context object (Execution, State, StateMachine, Task, Map).
    `variables` are the workflow variables visible to the state (`$name` in JSONPath,
    `$name` in JSONata). `rng` feeds States.MathRandom / States.UUID / $random so that a seeded
    execution is reproducible.
    """

    context: JSON = None
    variables: Mapping[str, JSON] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)


EMPTY_SCOPE = Scope()
