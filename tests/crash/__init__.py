"""Crash recovery and idempotency: real `asl` workers killed with SIGKILL, then restarted."""
