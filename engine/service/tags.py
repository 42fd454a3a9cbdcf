"""Tags of state machines and activities (TagResource, UntagResource, ListTagsForResource).

Owns: AWS's limit of 50 tags per resource. Must never: change anything but tags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from engine.errors import InvalidRequest, ResourceNotFound
from engine.service.base import ServiceBase
from engine.service.checks import check_arn
from engine.service.config import MAX_TAGS
from engine.store.base import ActivityRecord, MachineRecord


class TagOperations(ServiceBase):
    """Tags of machines and activities."""

    async def list_tags(self, arn: str) -> dict[str, str]:
        """ListTagsForResource: the tags of a state machine or an activity."""
        record = await self._taggable(arn)
        return dict(record.tags)

    async def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource: add or overwrite tags; AWS allows 50 per resource."""
        record = await self._taggable(arn)
        merged = {**record.tags, **tags}
        if len(merged) > MAX_TAGS:
            raise InvalidRequest(
                "TooManyTags", f"Too many tags: a resource has at most {MAX_TAGS} tags"
            )
        await self._put_tags(record, merged)

    async def untag_resource(self, arn: str, keys: Sequence[str]) -> None:
        record = await self._taggable(arn)
        dropped = set(keys)
        await self._put_tags(record, {k: v for k, v in record.tags.items() if k not in dropped})

    async def _taggable(self, arn: str) -> MachineRecord | ActivityRecord:
        check_arn(arn, "stateMachine", "activity")
        found: object
        if arn.split(":")[5] == "activity":
            found = await self.journal.call(self.store.get_activity, arn)
        else:
            found = await self.journal.call(self.store.get_machine, arn)
        if not isinstance(found, MachineRecord | ActivityRecord):
            raise ResourceNotFound("ResourceNotFound", f"Resource not found: '{arn}'")
        return found

    async def _put_tags(self, record: MachineRecord | ActivityRecord, tags: dict[str, str]) -> None:
        if isinstance(record, MachineRecord):
            await self.journal.call(self.store.put_machine, replace(record, tags=tags))
        else:
            await self.journal.call(self.store.put_activity, replace(record, tags=tags))
