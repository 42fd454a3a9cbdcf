"""The triggers part of the operator's file: `[events]` and `[sources]`, built.

Owns: turning `[events.webhooks.NAME]` and `[events.eventbridge]` of a checked `AslConfig` into
the destinations the event dispatcher delivers to (engine/runtime/destinations.py), with their
secrets read from the environment at start and their dead-letter files placed relative to the
config file's folder; and `[sources.NAME]` into queue sources (engine/sources/). Must never:
take a destination or a source from an API client or a definition, or show a secret in a
message (a problem names the variable, never its value).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from engine.config import ConfigInvalid, ConfigProblem, ConfigSource, aws_settings, load_config

if TYPE_CHECKING:
    from engine.config_schema import AslConfig, RetryConfig, SourceConfig
    from engine.runtime.outbox import Destination, RetryPolicy
    from engine.sources.base import QueueSource
    from engine.sources.runner import SourceSettings

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


def event_destination_names(config: AslConfig | None) -> list[str]:
    """The names the destinations of `[events]` are delivered and registered under
    (`webhook:NAME`, `eventbridge`: the built destinations' `name`), without building them or
    reading a secret: every process reading the config registers them with the store."""
    if config is None:
        return []
    names = [f"webhook:{name}" for name in config.events.webhooks]
    return [*names, "eventbridge"] if config.events.eventbridge is not None else names


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


def open_sources(config: ConfigSource) -> list[tuple[QueueSource, SourceSettings]]:
    """The queue sources `[sources]` configures, each with its runner's settings (none
    without a config). RabbitMQ and Redis need the `queues` extra (aio-pika, redis)."""
    if isinstance(config, str | Path):
        config = load_config(Path(config))
    if config is None:
        return []
    from engine.sources.runner import SourceSettings

    built: list[tuple[QueueSource, SourceSettings]] = []
    for name, source in config.sources.items():
        settings = SourceSettings(
            machine=source.machine,
            batch_size=source.batch_size,
            batching_window_seconds=source.batching_window_seconds,
        )
        built.append((_source(config, name, source), settings))
    return built


def _source(config: AslConfig, name: str, source: SourceConfig) -> QueueSource:
    if source.type == "sqs":
        from engine.sources.sqs import SqsSource

        assert source.queue_url is not None
        return SqsSource(
            name,
            aws_settings(config),
            source.queue_url,
            dead_letter_queue_url=source.dead_letter_queue_url,
            visibility_timeout=source.visibility_timeout,
        )
    if source.type == "rabbitmq":
        from engine.sources.rabbitmq import RabbitMqSource

        assert source.url is not None
        assert source.queue is not None
        return RabbitMqSource(
            name, source.url, source.queue, dead_letter_queue=source.dead_letter_queue
        )
    from engine.sources.redis_streams import RedisStreamSource

    assert source.url is not None
    assert source.stream is not None
    return RedisStreamSource(
        name,
        source.url,
        source.stream,
        group=source.group,
        dead_letter_stream=source.dead_letter,
        claim_idle_seconds=source.claim_idle_seconds,
    )
