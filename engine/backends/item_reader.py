"""Reading a Distributed Map's items from S3, streamed: never a whole object in memory.

Owns: `iter_items` (the items of one ItemReader request, one at a time), the readers of each
ReaderConfig InputType (JSON arrays with ijson, JSON Lines and CSV line by line, S3 inventory
manifests over their gzipped CSV files) and of `s3:listObjectsV2` (page by page), and
`ItemReaderError`, whose text is the cause of `States.ItemReaderFailed`. Must never: choose an
endpoint (the caller passes the client aws_endpoints.py configured), hold more than one item
(or one listing page) at a time, or run on the event loop (botocore blocks).

Shapes are AWS's (guide, "ItemReader (Map)"): a CSV row is an object of strings keyed by the
header; a listed object is `{"Etag", "Key", "LastModified" (epoch seconds), "Size",
"StorageClass"}`; an inventory row is an object keyed by the manifest's `fileSchema`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

from engine.definition.distributed import CSV_DELIMITERS, S3_LIST_OBJECTS_V2
from engine.values import JSON

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["ItemReaderError", "iter_items", "read_items"]

NOT_AN_ARRAY: Final = "Attempting to map over non-iterable node."
"""AWS's cause when a JSON ItemReader's object is no array (LocalStack's recorded snapshot)."""
DUPLICATE_HEADERS: Final = "CSV headers cannot contain duplicates."
_CHUNK: Final = 64 * 1024


class ItemReaderError(Exception):
    """The items cannot be read; the message is the cause of States.ItemReaderFailed."""


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_items(client: BaseClient, request: Mapping[str, JSON]) -> list[JSON]:
    """Every item of the request (at most ReaderConfig.MaxItems; 0 or absent: all)."""
    config = request.get("ReaderConfig")
    config = config if isinstance(config, dict) else {}
    limit = config.get("MaxItems")
    limit = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else 0
    items: list[JSON] = []
    for item in iter_items(client, request):
        items.append(item)
        if limit and len(items) >= limit:
            break
    return items


def iter_items(client: BaseClient, request: Mapping[str, JSON]) -> Iterator[JSON]:
    """The items of one ItemReader request, one at a time (the reader's `Resource`,
    `Parameters` and `ReaderConfig`, evaluated: engine/interpreter/map_io.py)."""
    parameters = request.get("Parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    config = request.get("ReaderConfig")
    config = config if isinstance(config, dict) else {}
    if request.get("Resource") == S3_LIST_OBJECTS_V2:
        yield from _list_objects(client, parameters)
        return
    input_type = config.get("InputType")
    body = _get_object(client, parameters)
    try:
        if input_type == "JSON":
            yield from _json_array(body)
        elif input_type == "JSONL":
            yield from _json_lines(body)
        elif input_type == "CSV":
            yield from _csv_rows(_text(body), config)
        elif input_type == "MANIFEST":
            yield from _inventory(client, body)
        else:
            raise ItemReaderError(f"The ReaderConfig InputType {input_type!r} is not supported.")
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


# -- S3 -----------------------------------------------------------------------------------------


def _get_object(client: BaseClient, parameters: Mapping[str, JSON]) -> _Readable:
    kwargs: dict[str, Any] = {k: v for k, v in parameters.items() if v is not None}
    for name in ("Bucket", "Key"):
        if not isinstance(kwargs.get(name), str):
            raise ItemReaderError(f"The ItemReader's {name} must be a string.")
    body: _Readable = _call(client, "get_object", kwargs)["Body"]
    return body


def _call(client: BaseClient, operation: str, kwargs: Mapping[str, Any]) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    try:
        return getattr(client, operation)(**kwargs)
    except ClientError as exc:
        raise ItemReaderError(s3_error_cause(exc)) from None
    except ParamValidationError as exc:
        raise ItemReaderError(str(exc)) from None
    except BotoCoreError as exc:
        raise ItemReaderError(f"Amazon S3 could not be reached: {exc}") from None


def s3_error_cause(exc: Any) -> str:
    """An S3 error as the Java SDK prints it (AWS's causes quote it so)."""
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    message = error.get("Message") or error.get("Code") or "Unknown error"
    return (
        f"{message} (Service: S3, Status Code: {meta.get('HTTPStatusCode', 0)}, "
        f"Request ID: {meta.get('RequestId', '')})"
    )


def _list_objects(client: BaseClient, parameters: Mapping[str, JSON]) -> Iterator[JSON]:
    kwargs: dict[str, Any] = {k: v for k, v in parameters.items() if v is not None}
    if not isinstance(kwargs.get("Bucket"), str):
        raise ItemReaderError("The ItemReader's Bucket must be a string.")
    while True:
        page = _call(client, "list_objects_v2", kwargs)
        for entry in page.get("Contents", ()):
            yield {
                "Etag": entry.get("ETag"),
                "Key": entry.get("Key"),
                "LastModified": int(entry["LastModified"].timestamp()),
                "Size": entry.get("Size"),
                "StorageClass": entry.get("StorageClass"),
            }
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return
        kwargs["ContinuationToken"] = token


# -- decoding -----------------------------------------------------------------------------------


class _RawStream(io.RawIOBase):
    """A `read(n)` object (botocore's StreamingBody, GzipFile) as a raw stream, so that
    io.BufferedReader and io.TextIOWrapper can read it a chunk at a time."""

    def __init__(self, source: _Readable) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Prefixed:
    """`prefix`, then the rest of `stream`: bytes already read, put back in front."""

    def __init__(self, prefix: bytes, stream: _Readable) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        if self._prefix:
            if size < 0 or size >= len(self._prefix):
                out, self._prefix = self._prefix, b""
                return out
            out, self._prefix = self._prefix[:size], self._prefix[size:]
            return out
        return self._stream.read(size)


def _text(body: _Readable) -> io.TextIOWrapper:
    # utf-8-sig: a byte-order mark (Excel writes one) is no part of the first header.
    return io.TextIOWrapper(
        io.BufferedReader(_RawStream(body), _CHUNK), encoding="utf-8-sig", newline=""
    )


def _json_array(body: _Readable) -> Iterator[JSON]:
    import ijson

    stream = io.BufferedReader(_RawStream(body), _CHUNK)
    # The first meaningful byte says whether the file holds an array; a read may return as
    # little as one byte, so read until one comes, then hand ijson those bytes and the rest.
    head = b""
    while True:
        chunk = stream.read1(_CHUNK)
        head += chunk
        start = head.removeprefix(codecs.BOM_UTF8).lstrip()
        partial_bom = len(head) < len(codecs.BOM_UTF8) and codecs.BOM_UTF8.startswith(head)
        if (start and not partial_bom) or not chunk:
            break
    if not start.startswith(b"["):
        raise ItemReaderError(NOT_AN_ARRAY)
    try:
        # use_float: numbers as JSON numbers (int or float), never Decimal.
        yield from ijson.items(_Prefixed(start, stream), "item", use_float=True)
    except ijson.JSONError as exc:
        raise ItemReaderError(f"The JSON file is not valid JSON: {exc}") from None


def _json_lines(body: _Readable) -> Iterator[JSON]:
    text = _text(body)
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise ItemReaderError(
                f"Line {number} of the JSON Lines file is not valid JSON: {exc.msg}"
            ) from None


def _csv_rows(text: io.TextIOWrapper, config: Mapping[str, JSON]) -> Iterator[JSON]:
    delimiter = CSV_DELIMITERS.get(str(config.get("CSVDelimiter", "COMMA")), ",")
    rows = csv.reader(text, delimiter=delimiter, strict=False)
    if config.get("CSVHeaderLocation") == "GIVEN":
        given = config.get("CSVHeaders")
        headers = [str(h) for h in given] if isinstance(given, list) else []
    else:
        headers = next(rows, [])
    if len(set(headers)) < len(headers):
        raise ItemReaderError(DUPLICATE_HEADERS)
    for row in rows:
        if not row:
            continue  # a blank line
        # CSV values are strings (AWS); a short row's missing fields are empty strings.
        yield {header: row[i] if i < len(row) else "" for i, header in enumerate(headers)}


def _inventory(client: BaseClient, body: _Readable) -> Iterator[JSON]:
    """An S3 inventory's manifest.json: its CSV data files (gzipped) row by row."""
    try:
        manifest = json.load(io.TextIOWrapper(io.BufferedReader(_RawStream(body)), "utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ItemReaderError("The manifest file is not valid JSON.") from None
    if not isinstance(manifest, dict):
        raise ItemReaderError("The manifest file is not an S3 inventory manifest.")
    if manifest.get("fileFormat") != "CSV":
        raise ItemReaderError(
            f"The S3 inventory's fileFormat {manifest.get('fileFormat')!r} is not supported: "
            "only CSV inventories can be read."
        )
    schema = [name.strip() for name in str(manifest.get("fileSchema", "")).split(",")]
    bucket = str(manifest.get("destinationBucket", "")).removeprefix("arn:aws:s3:::")
    files = manifest.get("files")
    for entry in files if isinstance(files, list) else []:
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str):
            raise ItemReaderError("An S3 inventory manifest file entry has no key.")
        data = _get_object(client, {"Bucket": bucket, "Key": key})
        try:
            raw: _Readable = (
                gzip.GzipFile(fileobj=io.BufferedReader(_RawStream(data)), mode="rb")
                if key.endswith(".gz")
                else data
            )
            for row in csv.reader(_text(raw)):
                if row:
                    yield {name: row[i] if i < len(row) else "" for i, name in enumerate(schema)}
        except (OSError, EOFError) as exc:
            raise ItemReaderError(f"The S3 inventory file {key} cannot be read: {exc}") from None
        finally:
            data_close = getattr(data, "close", None)
            if data_close is not None:
                data_close()
