"""The `cli` fixture of the `asl` contract tests, for tests/aws/test_cli.py."""

from tests.cli.conftest import cli

__all__ = ["cli"]
