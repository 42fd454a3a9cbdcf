"""Task-token callbacks (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat) and activities.

Owns: answering a token exactly once (the store marks it when the answer is queued), heartbeats,
and activity tasks handed to workers that poll for them. Must never: apply an answer itself
(the worker driving the execution does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from engine.errors import ResourceNotFound
from engine.interpreter.messages import ActivityStarted, TaskCallback, TaskHeartbeat
from engine.interpreter.tasks import TaskFailure, TaskSuccess
from engine.names import check_name
from engine.service.checks import check_json_input, check_token, open_token
from engine.service.map_runs import MapRunOperations
from engine.store.base import ActivityRecord, ActivityTask
from engine.store.codec import event_to_json


class CallbackOperations(MapRunOperations):
    """Task-token callbacks and activities."""

    async def _token_execution(self, token: str) -> str:
        """The execution a token belongs to, while the token can still be answered."""
        check_token(token)
        found = await self.journal.call(self.store.find_token, token)
        return open_token(found).execution_arn

    async def _answer(self, token: str, result: TaskSuccess | TaskFailure) -> None:
        """SendTaskSuccess/Failure: the token is answered once. Of two callbacks (also from
        two processes) one is accepted; the other gets TaskDoesNotExist, as on AWS."""
        check_token(token)
        event = TaskCallback(token, result, self.clock.now())
        found = await self.journal.call(self.store.post_callback, token, event_to_json(event))
        arn = open_token(found).execution_arn
        if not await self.worker.deliver_now(arn):
            self.worker.poke(claim=False, events=True)

    async def send_task_success(self, token: str, output_text: str) -> None:
        output = check_json_input(output_text, "InvalidOutput", "output")  # AWS's code
        await self._answer(token, TaskSuccess(output))

    async def send_task_failure(
        self, token: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        await self._answer(token, TaskFailure(error or "", cause))

    async def send_task_heartbeat(self, token: str) -> None:
        arn = await self._token_execution(token)
        event = TaskHeartbeat(token, self.clock.now())
        await self._post(arn, event)

    async def create_activity(
        self, name: str, tags: Mapping[str, str] | None = None
    ) -> ActivityRecord:
        check_name(name, "activity name")
        arn = self._arn("activity", name)
        existing = await self.journal.call(self.store.get_activity, arn)
        if isinstance(existing, ActivityRecord):
            return existing
        record = ActivityRecord(arn, name, self.clock.now(), dict(tags or {}))
        await self.journal.call(self.store.put_activity, record)
        return record

    async def describe_activity(self, arn: str) -> ActivityRecord:
        record = await self.journal.call(self.store.get_activity, arn)
        if not isinstance(record, ActivityRecord):
            raise ResourceNotFound("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
        return record

    async def list_activities(self) -> list[ActivityRecord]:
        records = await self.journal.call(self.store.list_activities)
        assert isinstance(records, list)
        return records

    async def delete_activity(self, arn: str) -> None:
        await self.journal.call(self.store.delete_activity, arn)

    async def get_activity_task(
        self, activity_arn: str, worker_name: str | None = None, wait_seconds: float = 60.0
    ) -> ActivityTask | None:
        """GetActivityTask: long poll up to 60 s (AWS) for a scheduled task of the activity."""
        await self.describe_activity(activity_arn)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            task = await self.journal.call(self.store.take_activity_task, activity_arn, worker_name)
            if isinstance(task, ActivityTask):
                started = ActivityStarted(task.token, worker_name, self.clock.now())
                await self._post(task.execution_arn, started)
                return task
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(0.2, remaining))
