"""Writing a Distributed Map's results to S3 as AWS does: result files and a manifest.

Owns: `write_results` (one writer request in, the Map's result out) and `ResultWriterError`,
whose text is the cause of `States.ResultWriterFailed`. The layout is AWS's (guide,
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
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

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


def write_results(client: BaseClient, request: Mapping[str, JSON]) -> dict[str, JSON]:
    """Write the request's records (engine/interpreter/map_io.py) and the manifest."""
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
    records = request.get("Results")
    records = records if isinstance(records, list) else []
    groups: dict[str, list[Mapping[str, JSON]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for record in records:
        if isinstance(record, dict):
            groups[_FILE_OF_STATUS.get(str(record.get("Status")), "FAILED")].append(record)
    folder = result_key_prefix(prefix, map_run_arn)
    files: dict[str, JSON] = {}
    for status, group in groups.items():
        listed: list[JSON] = []
        if group:
            shaped: list[JSON] = (
                transform_results(group, transformation)
                if status == "SUCCEEDED"
                else [dict(r) for r in group]
            )
            body = render(shaped, output_type)
            key = f"{folder}{status}_0.json"
            _put(client, bucket, key, body)
            listed.append({"Key": key, "Size": len(body)})
        files[status] = listed
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


def _put(client: BaseClient, bucket: str, key: str, body: bytes) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from engine.backends.item_reader import s3_error_cause

    try:
        client.put_object(Bucket=bucket, Key=key, Body=body)
    except ClientError as exc:
        raise ResultWriterError(s3_error_cause(exc)) from None
    except BotoCoreError as exc:
        raise ResultWriterError(f"Amazon S3 could not be reached: {exc}") from None
