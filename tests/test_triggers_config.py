"""`[events]` and `[sources]` in asl.toml: every mistake located by its key, and what a
correct file builds (destinations with their policies and dead-letter files, sources)."""

from __future__ import annotations

from pathlib import Path

from engine.config import check_config, load_config
from engine.runtime.destinations import EventBridge, Webhook
from engine.runtime.outbox import RetryPolicy
from engine.sources.rabbitmq import RabbitMqSource
from engine.sources.redis_streams import RedisStreamSource
from engine.sources.sqs import SqsSource
from engine.triggers_config import open_event_destinations, open_sources

MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:orders"


def test_every_problem_is_reported_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "asl.toml"
    path.write_text(
        f"""
[events.webhooks.a]
url = "ftp://x"
secret_env = "1BAD"
max_attempts = 0

[events.eventbridge]
colour = "blue"

[sources.q]
type = "sqs"
machine = "{MACHINE}"

[sources.r]
type = "rabbitmq"
machine = "{MACHINE}"
url = "amqp://127.0.0.1/"
queue = "orders"
stream = "s"

[sources.s]
type = "kafka"
machine = "nope"
"""
    )
    problems = [str(p) for p in check_config(path).problems]
    assert problems == [
        "events.webhooks.a.max_attempts: Input should be greater than or equal to 1 (got 0)",
        "events.webhooks.a.url: String should match pattern '^https?://'",
        "events.webhooks.a.secret_env: String should match pattern '^[A-Za-z_][A-Za-z0-9_]*$'",
        "events.eventbridge.colour: unknown key; check its spelling against docs/backends.md",
        "sources.q: a sqs source needs queue_url",
        "sources.r: stream is not a setting of a rabbitmq source",
        "sources.s.type: Input should be 'sqs', 'rabbitmq' or 'redis'",
        "sources.s.machine: String should match pattern "
        r"'^arn:aws[a-z-]*:states:[^:]+:\d{12}:stateMachine:'",
    ]


def test_a_correct_file_builds_destinations_and_sources(tmp_path: Path) -> None:
    path = tmp_path / "asl.toml"
    path.write_text(
        f"""
[aws]
endpoint_url = "http://127.0.0.1:4566"

[events.webhooks.audit]
url = "https://hooks.example/asl"
secret_env = "AUDIT_SECRET"
max_attempts = 3
backoff_seconds = 2
dead_letter = "dead/audit.jsonl"

[events.eventbridge]
event_bus = "ops"
source = "asl.states"

[sources.sqs]
type = "sqs"
machine = "{MACHINE}"
queue_url = "http://127.0.0.1:4566/000000000000/orders"
batch_size = 5
batching_window_seconds = 2

[sources.rabbit]
type = "rabbitmq"
machine = "{MACHINE}"
url = "amqp://guest:guest@127.0.0.1:5672/"
queue = "orders"

[sources.stream]
type = "redis"
machine = "{MACHINE}"
url = "redis://127.0.0.1:6379/0"
stream = "orders"
"""
    )
    config = load_config(path)
    hook, bridge = open_event_destinations(config, environ={"AUDIT_SECRET": "k"})
    assert isinstance(hook, Webhook)
    assert isinstance(bridge, EventBridge)
    assert (hook.name, hook.url, hook.policy, hook.dead_letter) == (
        "webhook:audit",
        "https://hooks.example/asl",
        RetryPolicy(max_attempts=3, backoff_seconds=2.0, max_backoff_seconds=300.0),
        tmp_path / "dead" / "audit.jsonl",
    )
    assert bridge.dead_letter == tmp_path / ".asl" / "dead-letters" / "eventbridge.jsonl"
    built = open_sources(config)
    assert [(type(s), s.name) for s, _ in built] == [
        (SqsSource, "sqs"),
        (RabbitMqSource, "rabbit"),
        (RedisStreamSource, "stream"),
    ]
    assert (built[0][1].batch_size, built[0][1].batching_window_seconds) == (5, 2.0)
