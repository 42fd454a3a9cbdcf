"""The triggers part of the operator's file: `[events]` built into event destinations.

Owns: turning `[events.webhooks.NAME]` and `[events.eventbridge]` of a checked `AslConfig` into
the destinations the event dispatcher delivers to (engine/runtime/destinations.py), with their
secrets read from the environment at start and their dead-letter files placed relative to the
config file's folder. Must never: take a destination from an API client or a definition, or
show a secret in a message (a problem names the variable, never its value).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from engine.config import ConfigInvalid, ConfigProblem, ConfigSource, aws_settings, load_config

if TYPE_CHECKING:
    from engine.config_schema import AslConfig, RetryConfig
    from engine.runtime.outbox import Destination, RetryPolicy

DEAD_LETTER_FOLDER: Final = Path(".asl") / "dead-letters"
"""Where a destination's dead-letter file goes unless `dead_letter` names one."""


def open_event_destinations(
    config: ConfigSource, environ: Mapping[str, str] | None = None
) -> list[Destination]:
    """The destinations `[events]` configures (none without a config). Raises
    `ConfigInvalid` naming every secret variable that is not set."""
    if isinstance(config, str | Path):
        config = load_config(Path(config))
    if config is None:
        return []
    from engine.runtime.destinations import EventBridge, Webhook

    env = os.environ if environ is None else environ
    problems: list[ConfigProblem] = []
    built: list[Destination] = []
    for name, hook in config.events.webhooks.items():
        secret = env.get(hook.secret_env)
        if secret is None:
            problems.append(
                ConfigProblem(
                    f"events.webhooks.{name}.secret_env",
                    f"the environment variable {hook.secret_env} is not set; export it "
                    "before starting (a webhook's secret is read from the environment only)",
                )
            )
            continue
        built.append(
            Webhook(
                name,
                hook.url,
                secret,
                policy=_policy(hook),
                dead_letter=_dead_letter(config, hook, f"webhook-{name}"),
                timeout_seconds=hook.timeout_seconds,
            )
        )
    bridge = config.events.eventbridge
    if bridge is not None:
        built.append(
            EventBridge(
                aws_settings(config),
                bus=bridge.event_bus,
                source=bridge.source,
                policy=_policy(bridge),
                dead_letter=_dead_letter(config, bridge, "eventbridge"),
            )
        )
    if problems:
        raise ConfigInvalid(Path(config.source), problems)
    return built


def _policy(config: RetryConfig) -> RetryPolicy:
    from engine.runtime.outbox import RetryPolicy

    return RetryPolicy(
        max_attempts=config.max_attempts,
        backoff_seconds=config.backoff_seconds,
        max_backoff_seconds=config.max_backoff_seconds,
    )


def _dead_letter(config: AslConfig, retry: RetryConfig, name: str) -> Path:
    path = Path(retry.dead_letter) if retry.dead_letter else DEAD_LETTER_FOLDER / f"{name}.jsonl"
    return path if path.is_absolute() else config.folder / path
