"""Retry and Catch: which retrier or catcher applies, and when the next attempt is due.

Owns: AWS's retry schedule (IntervalSeconds * BackoffRate^attempt, capped by MaxDelaySeconds,
FULL jitter from a seeded generator), per-retrier attempt counters, and the first-match rule for
Retry and Catch. Must never: sleep or read a clock; it returns delays, the caller schedules them.
"""

from __future__ import annotations

import random

from engine.definition.compile import Catcher, Retrier
from engine.interpreter.failures import Failure, error_matches


def match_retrier(retriers: tuple[Retrier, ...], failure: Failure) -> int | None:
    """Index of the first retrier whose ErrorEquals matches the failure (AWS: first match wins)."""
    for index, retrier in enumerate(retriers):
        if error_matches(retrier.error_equals, failure.error):
            return index
    return None


def match_catcher(catchers: tuple[Catcher, ...], failure: Failure) -> Catcher | None:
    for catcher in catchers:
        if error_matches(catcher.error_equals, failure.error):
            return catcher
    return None


def retry_delay(retrier: Retrier, attempt: int, rng: random.Random) -> float | None:
    """Seconds before retry number `attempt` (0-based), or None when attempts are exhausted.

    MaxAttempts 0 means never retry. With JitterStrategy FULL the delay is uniform in
    [0, computed delay] (AWS docs, "Retrying after an error").
    """
    if attempt >= retrier.max_attempts:
        return None
    delay = retrier.interval_seconds * (retrier.backoff_rate**attempt)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter_full:
        delay = rng.uniform(0.0, delay)
    return delay
