"""The result writer's pure parts: the folder of a Map Run's files and their rendering
(tests/aws/test_distributed_map.py checks the files on moto's S3)."""

from __future__ import annotations

import json

from engine.backends.result_writer import render, result_key_prefix


def test_result_folder_and_rendering() -> None:
    arn = "arn:aws:states:us-east-1:1:mapRun:m/L:0e1f"
    assert result_key_prefix("jobs", arn) == "jobs/0e1f/"
    assert result_key_prefix("jobs/", arn) == "jobs/0e1f/"
    assert result_key_prefix("", arn) == "0e1f/"
    assert render([{"a": 1}, 2], "JSONL") == b'{"a":1}\n2\n'
    assert json.loads(render([{"a": 1}, 2], "JSON")) == [{"a": 1}, 2]
