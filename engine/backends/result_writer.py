"""Writing a Distributed Map's results to S3 as AWS does: result files and a manifest.

Owns: `write_results` (one writer request in, the Map's result out) and `ResultWriterError`,
whose text is the cause of `States.ResultWriterFailed`. The records
are read as they are written (from the store, with child executions), each file spooled to disk
past a few MiB, so memory does not grow with the Map Run. The layout is AWS's (guide,
"ResultWriter (Map)", "Exporting to Amazon S3"): under `<Prefix>/<map run id>/`, the records of
the child runs that succeeded in `SUCCEEDED_0.json`, of those that failed, were aborted or
timed out in `FAILED_0.json`, of those never started in `PENDING_0.json` (a file only when it
has records), and `manifest.json` listing them:
`{"DestinationBucket", "MapRunArn", "ResultFiles": {"FAILED", "PENDING", "SUCCEEDED"}}`, each
file as `{"Key", "Size"}`. The Map's result is `{"MapRunArn", "ResultWriterDetails":
{"Bucket", "Key"}}` with the manifest's key. Must never: choose an endpoint or run on the
event loop.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, BinaryIO, Final

from engine.definition.distributed import transform_results
from engine.values import JSON, dumps

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["ResultWriterError", "result_key_prefix", "write_results"]

_FILE_OF_STATUS: Final = {
    "SUCCEEDED": "SUCCEEDED",
    "FAILED": "FAILED",
    "ABORTED": "FAILED",
    "TIMED_OUT": "FAILED",
    "PENDING": "PENDING",
}


class ResultWriterError(Exception):
    """The results cannot be written; the message is the cause of States.ResultWriterFailed."""


def result_key_prefix(prefix: str, map_run_arn: str) -> str:
    """`<Prefix>/<map run id>/`: the folder of a Map Run's files (the id ends its ARN)."""
    run_id = map_run_arn.rsplit(":", 1)[-1]
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return f"{prefix}{run_id}/"


def render(records: Sequence[JSON], output_type: str) -> bytes:
    """Records as a JSON array, or JSON Lines (one compact record a line)."""
    if output_type == "JSONL":
        return "".join(dumps(record) + "\n" for record in records).encode()
    return json.dumps(records, ensure_ascii=False, indent=2).encode()


_SPOOL_BYTES: Final = 8 * 1024 * 1024
"""A result file is kept in memory up to this size, then on disk until it is sent."""


class _ResultFile:
    """One result file, written record by record as `render` would write them all at once
    (the same bytes), in memory up to `_SPOOL_BYTES` and then in a temporary file, so a Map
    Run of any size is written with bounded memory."""

    def __init__(self, output_type: str) -> None:
        self._jsonl = output_type == "JSONL"
        self._body = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        self.records = 0

    def add(self, record: JSON) -> None:
        if self._jsonl:
            text = dumps(record) + "\n"
        else:
            # an element of `json.dumps(list, indent=2)`: its own lines indented one level
            head = "[\n  " if self.records == 0 else ",\n  "
            text = head + json.dumps(record, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        self._body.write(text.encode())
        self.records += 1

    def finish(self) -> tuple[BinaryIO, int]:
        """The whole file, rewound, and its size."""
        if not self._jsonl:
            self._body.write(b"\n]")
        size = self._body.tell()
        self._body.seek(0)
        return self._body, size  # type: ignore[return-value]  # a binary file object

    def close(self) -> None:
        self._body.close()


def write_results(
    client: BaseClient,
    request: Mapping[str, JSON],
    records: Iterable[Mapping[str, JSON]] | None = None,
) -> dict[str, JSON]:
    """Write the records (the request's Results, engine/interpreter/map_io.py, unless given
    as `records`: read as they are written, in item order) and the manifest."""
    parameters = request.get("Parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    bucket = parameters.get("Bucket")
    if not isinstance(bucket, str) or not bucket:
        raise ResultWriterError("The ResultWriter's Bucket must be a non-empty string.")
    prefix = parameters.get("Prefix", "")
    if not isinstance(prefix, str):
        raise ResultWriterError("The ResultWriter's Prefix must be a string.")
    config = request.get("WriterConfig")
    config = config if isinstance(config, dict) else {}
    output_type = str(config.get("OutputType", "JSON"))
    # Exporting with no Transformation given keeps every record whole (AWS: NONE).
    transformation = str(config.get("Transformation", "NONE"))
    map_run_arn = str(request.get("MapRunArn", ""))
    if records is None:
        given = request.get("Results")
        records = [r for r in given if isinstance(r, dict)] if isinstance(given, list) else []
    folder = result_key_prefix(prefix, map_run_arn)
    groups = {status: _ResultFile(output_type) for status in ("FAILED", "PENDING", "SUCCEEDED")}
    try:
        for record in records:
            status = _FILE_OF_STATUS.get(str(record.get("Status")), "FAILED")
            if status == "SUCCEEDED":
                for shaped in transform_results([record], transformation):
                    groups[status].add(shaped)
            else:
                groups[status].add(dict(record))
        files: dict[str, JSON] = {}
        for status, group in groups.items():
            listed: list[JSON] = []
            if group.records:
                body, size = group.finish()
                key = f"{folder}{status}_0.json"
                _put(client, bucket, key, body)
                listed.append({"Key": key, "Size": size})
            files[status] = listed
    finally:
        for group in groups.values():
            group.close()
    manifest_key = f"{folder}manifest.json"
    manifest: dict[str, JSON] = {
        "DestinationBucket": bucket,
        "MapRunArn": map_run_arn,
        "ResultFiles": files,
    }
    _put(client, bucket, manifest_key, json.dumps(manifest, indent=2).encode())
    return {
        "MapRunArn": map_run_arn,
        "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key},
    }


def _put(client: BaseClient, bucket: str, key: str, body: bytes | BinaryIO) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from engine.backends.item_reader import s3_error_cause

    try:
        client.put_object(Bucket=bucket, Key=key, Body=body)
    except ClientError as exc:
        raise ResultWriterError(s3_error_cause(exc)) from None
    except BotoCoreError as exc:
        raise ResultWriterError(f"Amazon S3 could not be reached: {exc}") from None
