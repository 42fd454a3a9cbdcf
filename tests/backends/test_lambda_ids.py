"""The ids a Lambda call gets (engine/backends/lambda_arn.py): a request id in Lambda's
shape (a version 4 UUID), a log stream's 32 hex digits; unique in a process and across a fork."""

from __future__ import annotations

import os
import re
import uuid

from engine.backends.lambda_arn import log_stream_id, request_id

UUID4_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_request_ids_are_distinct_version_4_uuids() -> None:
    ids = [request_id() for _ in range(1_000)]
    assert len(set(ids)) == 1_000
    for text in ids:
        assert UUID4_TEXT.fullmatch(text)
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text


def test_log_stream_ids_are_distinct_32_hex_digits() -> None:
    ids = [log_stream_id() for _ in range(1_000)]
    assert len(set(ids)) == 1_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", text) for text in ids)


def test_a_forked_process_draws_its_own_prefix() -> None:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave without running pytest's exit
        os.write(writer, f"{request_id()} {log_stream_id()}".encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        child_request, child_stream = pipe.read().split()
    os.waitpid(pid, 0)
    mine_request, mine_stream = request_id(), log_stream_id()
    assert child_request[:24] != mine_request[:24]
    assert child_stream[:20] != mine_stream[:20]
