"""The backend of a Distributed Map's I/O: its ItemReader's reads and ResultWriter's writes.

Owns: `MapIoBackend`, which serves the two requests a Map sends as `InvokeTask` commands
(`ITEM_READER_TASK`, `RESULT_WRITER_TASK`: engine/interpreter/map_io.py builds them) through
the operator's S3 endpoint (aws_endpoints.py; real AWS is refused unless allowed), on a pool
thread, and turns a failure into AWS's `States.ItemReaderFailed` / `States.ResultWriterFailed`.
Must never: take an endpoint from a definition, block the event loop, or import botocore
before the first read or write.

config.py registers it for both resources in every registry, so a Map without an `[aws]`
table gets the refusal naming what to configure, not a silent empty list.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from engine.backends.aws_calls import AwsCalls
from engine.backends.item_reader import ItemReaderError, read_items
from engine.backends.result_writer import ResultWriterError, write_results
from engine.backends.runner import Outcome, Returned
from engine.definition.distributed import ITEM_READER_TASK, RESULT_WRITER_TASK
from engine.errors import (
    STATES_ITEM_READER_FAILED,
    STATES_RESULT_WRITER_FAILED,
    STATES_RUNTIME,
)
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult
from engine.values import JSON

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["MAP_IO_RESOURCES", "MapIoBackend"]

MAP_IO_RESOURCES = (ITEM_READER_TASK, RESULT_WRITER_TASK)


class MapIoBackend(AwsCalls):
    """Reads items from and writes results to S3 at the operator's endpoint."""

    async def invoke(self, request: TaskRequest) -> TaskResult:
        payload = request.payload if isinstance(request.payload, dict) else {}
        if request.resource == ITEM_READER_TASK:
            call = functools.partial(self._read, payload, request.region)
        elif request.resource == RESULT_WRITER_TASK:
            call = functools.partial(self._write, payload, request.region)
        else:
            return TaskFailure(STATES_RUNTIME, f"No Map I/O resource '{request.resource}'.")
        return await self._submit(call)

    async def write_records(
        self, request: TaskRequest, records: Iterable[Mapping[str, JSON]]
    ) -> TaskResult:
        """Write the results of a writer request whose records are given apart (the service
        reads them from the store: engine/service/map_results.py). `records` is iterated on
        the pool thread, as the files are written."""
        payload = request.payload if isinstance(request.payload, dict) else {}
        return await self._submit(functools.partial(self._write, payload, request.region, records))

    # ------------------------------------------------------------------ on a pool thread

    def _s3(self, region: str) -> BaseClient | TaskFailure:
        endpoint = self.settings.endpoint_for("s3")
        refused = self.settings.refusal("s3", endpoint)
        if refused is not None:
            return refused
        return self._clients.client("s3", endpoint, self._clients.region(region))

    def _read(self, payload: dict[str, JSON], region: str) -> Outcome:
        client = self._s3(region)
        if isinstance(client, TaskFailure):
            return TaskFailure(STATES_ITEM_READER_FAILED, client.cause)
        try:
            return Returned(0, read_items(client, payload))
        except ItemReaderError as exc:
            return TaskFailure(STATES_ITEM_READER_FAILED, str(exc))

    def _write(
        self,
        payload: dict[str, JSON],
        region: str,
        records: Iterable[Mapping[str, JSON]] | None = None,
    ) -> Outcome:
        client = self._s3(region)
        if isinstance(client, TaskFailure):
            return TaskFailure(STATES_RESULT_WRITER_FAILED, client.cause)
        try:
            return Returned(0, write_results(client, payload, records))
        except ResultWriterError as exc:
            return TaskFailure(STATES_RESULT_WRITER_FAILED, str(exc))
