"""State machines, versions and aliases: CreateStateMachine and the operations around it.

Owns: validation before anything is stored, CreateStateMachine's idempotency, the machine read
cache (AWS documents the same delay after UpdateStateMachine), versions and weighted aliases.
Must never: start or drive an execution.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace

from engine.definition.compile import Machine, compile_machine
from engine.definition.diagnostics import Diagnostic
from engine.definition.parse import parse_text
from engine.definition.validate import validate_text
from engine.definition.validate_fields import INVALID_JSON_DESCRIPTION
from engine.errors import DefinitionInvalid, InvalidRequest, ResourceConflict, ResourceNotFound
from engine.names import check_name
from engine.service.base import ServiceBase
from engine.service.checks import check_arn, check_logging, revision_id, split_qualified
from engine.service.config import DEFAULT_ROLE, DEFINITION_LIMIT_BYTES
from engine.store.base import AliasRecord, MachineRecord, VersionRecord
from engine.values import SURROGATE_REASON, JsonRefused, check_unicode, has_surrogate


class MachineOperations(ServiceBase):
    """CreateStateMachine and the operations on machines, versions and aliases."""

    def validate(self, definition: str, machine_type: str = "STANDARD") -> list[Diagnostic]:
        """ValidateStateMachineDefinition. Bounded like AWS's (1,048,576 characters): it runs on
        the caller's thread, and validating text of any length would block the event loop."""
        if len(definition) > DEFINITION_LIMIT_BYTES:
            raise InvalidRequest(
                "ValidationException",
                "1 validation error detected: Value at 'definition' failed to satisfy constraint: "
                f"Member must have length less than or equal to {DEFINITION_LIMIT_BYTES}",
            )
        diagnostics = validate_text(definition, machine_type=machine_type)
        if not any(d.severity == "ERROR" for d in diagnostics):
            problem = _unicode_problem(definition)
            if problem is not None:  # CreateStateMachine refuses it: so does validation
                diagnostics.append(
                    Diagnostic(INVALID_JSON_DESCRIPTION, f"Invalid JSON: {problem}", "")
                )
        return diagnostics

    def _compile_checked(self, definition: str, machine_type: str) -> Machine:
        if has_surrogate(definition):
            raise InvalidRequest(
                "InvalidDefinition", f"Invalid State Machine Definition: {SURROGATE_REASON}"
            )
        if len(definition.encode("utf-8")) > DEFINITION_LIMIT_BYTES:
            raise InvalidRequest(
                "InvalidDefinition",
                f"The definition exceeds the maximum size of {DEFINITION_LIMIT_BYTES} bytes.",
            )
        diagnostics = validate_text(definition, machine_type=machine_type)
        errors = [d for d in diagnostics if d.severity == "ERROR"]
        if errors:
            raise DefinitionInvalid(errors)
        problem = _unicode_problem(definition)
        if problem is not None:
            raise InvalidRequest(
                "InvalidDefinition", f"Invalid State Machine Definition: {problem}"
            )
        parsed = parse_text(definition)
        assert isinstance(parsed, dict)
        return compile_machine(parsed)

    async def create_state_machine(
        self,
        name: str,
        definition: str,
        *,
        role_arn: str = DEFAULT_ROLE,
        machine_type: str = "STANDARD",
        logging_level: str = "OFF",
        tags: Mapping[str, str] | None = None,
        publish: bool = False,
        version_description: str = "",
        include_execution_data: bool = False,
        log_destinations: Sequence[str] | None = None,
        tracing_enabled: bool = False,
    ) -> tuple[MachineRecord, VersionRecord | None]:
        """CreateStateMachine. Same name and same settings: returns the existing machine.

        `log_destinations` (CloudWatch Logs log group ARNs) is checked by AWS's rules when
        given (the AWS protocol always gives it); None skips the check (the REST API, which
        has no destinations: the execution log goes where the server's configuration says).
        """
        check_name(name, "state machine name")
        if log_destinations is not None:
            check_logging(logging_level, log_destinations)
        if machine_type not in ("STANDARD", "EXPRESS"):
            raise InvalidRequest("ValidationException", f"Invalid type '{machine_type}'")
        # Parsing, validating and compiling up to 1 MiB of text takes a while: off the event
        # loop, so that every other request and execution keeps running meanwhile (issue 13).
        machine = await asyncio.to_thread(self._compile_checked, definition, machine_type)
        arn = self._arn("stateMachine", name)
        existing = await self.journal.call(self.store.get_machine, arn)
        if isinstance(existing, MachineRecord):
            same = (
                existing.definition == definition
                and existing.role_arn == role_arn
                and existing.machine_type == machine_type
            )
            if not same:
                raise ResourceConflict(
                    "StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'"
                )
            return existing, None
        now = self.clock.now()
        revision = revision_id(definition)
        record = MachineRecord(
            arn=arn,
            name=name,
            machine_type=machine_type,
            definition=definition,
            revision_id=revision,
            role_arn=role_arn,
            created=now,
            updated=now,
            logging_level=logging_level,
            tags=dict(tags or {}),
            include_execution_data=include_execution_data,
            log_destinations=list(log_destinations or ()),
            tracing_enabled=tracing_enabled,
        )
        await self.journal.call(self.store.put_machine, record)
        self._machines[revision] = machine
        version = None
        if publish:
            version = await self.publish_version(arn, description=version_description)
        return record, version

    async def update_state_machine(
        self,
        arn: str,
        *,
        definition: str | None = None,
        role_arn: str | None = None,
        logging_level: str | None = None,
        publish: bool = False,
        version_description: str = "",
        include_execution_data: bool | None = None,
        log_destinations: Sequence[str] | None = None,
        tracing_enabled: bool | None = None,
    ) -> tuple[MachineRecord, VersionRecord | None]:
        """UpdateStateMachine: each setting given replaces the machine's."""
        if log_destinations is not None:
            check_logging(logging_level or "OFF", log_destinations)
        record = await self.describe_state_machine(arn)
        machine_type = record.machine_type
        updated = record
        if definition is not None:
            machine = await asyncio.to_thread(self._compile_checked, definition, machine_type)
            revision = revision_id(definition)
            self._machines[revision] = machine
            updated = replace(updated, definition=definition, revision_id=revision)
        if role_arn is not None:
            updated = replace(updated, role_arn=role_arn)
        if logging_level is not None:
            updated = replace(updated, logging_level=logging_level)
        if include_execution_data is not None:
            updated = replace(updated, include_execution_data=include_execution_data)
        if log_destinations is not None:
            updated = replace(updated, log_destinations=list(log_destinations))
        if tracing_enabled is not None:
            updated = replace(updated, tracing_enabled=tracing_enabled)
        updated = replace(updated, updated=self.clock.now())
        await self.journal.call(self.store.put_machine, updated)
        self._machine_cache.pop(updated.arn, None)
        version = None
        if publish:
            version = await self.publish_version(arn, description=version_description)
        return updated, version

    async def describe_state_machine(self, arn: str) -> MachineRecord:
        check_arn(arn, "stateMachine")
        base, version = split_qualified(arn)
        record = await self._machine(base)
        if not isinstance(record, MachineRecord):
            raise ResourceNotFound(
                "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'"
            )
        if version is not None and version.isdigit():
            versions = await self.journal.call(self.store.list_versions, base)
            assert isinstance(versions, list)
            found = next((v for v in versions if v.version == int(version)), None)
            if found is None:
                raise ResourceNotFound(
                    "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'"
                )
            return replace(record, definition=found.definition, revision_id=found.revision_id)
        return record

    async def find_state_machine(self, name: str) -> MachineRecord | None:
        record = await self.journal.call(self.store.find_machine, name)
        return record if isinstance(record, MachineRecord) else None

    async def list_state_machines(self) -> list[MachineRecord]:
        records = await self.journal.call(self.store.list_machines)
        assert isinstance(records, list)
        return records

    async def delete_state_machine(self, arn: str) -> None:
        check_arn(arn, "stateMachine")
        await self.journal.call(self.store.delete_machine, arn)
        self._machine_cache.pop(arn, None)

    async def publish_version(self, arn: str, *, description: str = "") -> VersionRecord:
        record = await self.describe_state_machine(arn)
        versions = await self.journal.call(self.store.list_versions, record.arn)
        assert isinstance(versions, list)
        latest = max(versions, key=lambda v: v.version, default=None)
        if latest is not None and latest.revision_id == record.revision_id:
            return latest  # AWS: publishing an unchanged revision returns the latest version
        version = VersionRecord(
            machine_arn=record.arn,
            version=(latest.version + 1) if latest is not None else 1,
            revision_id=record.revision_id,
            definition=record.definition,
            description=description,
            created=self.clock.now(),
        )
        await self.journal.call(self.store.put_version, version)
        return version

    async def list_versions(self, arn: str) -> list[VersionRecord]:
        record = await self.describe_state_machine(arn)
        versions = await self.journal.call(self.store.list_versions, record.arn)
        assert isinstance(versions, list)
        return sorted(versions, key=lambda v: -v.version)

    async def delete_version(self, version_arn: str) -> None:
        base, version = split_qualified(version_arn)
        if version is None or not version.isdigit():
            raise InvalidRequest("InvalidArn", f"Invalid Arn: '{version_arn}'")
        await self.journal.call(self.store.delete_version, base, int(version))

    async def create_alias(
        self, machine_arn: str, name: str, routing: list[tuple[int, int]], description: str = ""
    ) -> AliasRecord:
        check_name(name, "alias name")
        record = await self.describe_state_machine(machine_arn)
        if not routing or sum(w for _, w in routing) != 100:
            raise InvalidRequest(
                "ValidationException", "The routing configuration weights must add up to 100."
            )
        versions = {v.version for v in await self.list_versions(record.arn)}
        for version, _ in routing:
            if version not in versions:
                raise ResourceNotFound(
                    "ResourceNotFound", f"Version {version} of '{record.arn}' does not exist"
                )
        now = self.clock.now()
        alias = AliasRecord(record.arn, name, tuple(routing), description, now, now)
        existing = await self.journal.call(self.store.get_alias, alias.arn)
        if isinstance(existing, AliasRecord):
            if existing.routing != alias.routing or existing.description != description:
                raise ResourceConflict("ConflictException", f"Alias already exists: '{alias.arn}'")
            return existing
        await self.journal.call(self.store.put_alias, alias)
        return alias

    async def describe_alias(self, alias_arn: str) -> AliasRecord:
        alias = await self.journal.call(self.store.get_alias, alias_arn)
        if not isinstance(alias, AliasRecord):
            raise ResourceNotFound("ResourceNotFound", f"Resource not found: '{alias_arn}'")
        return alias

    async def update_alias(
        self, alias_arn: str, routing: list[tuple[int, int]] | None, description: str | None
    ) -> AliasRecord:
        alias = await self.describe_alias(alias_arn)
        if routing is not None:
            if sum(w for _, w in routing) != 100:
                raise InvalidRequest(
                    "ValidationException", "The routing configuration weights must add up to 100."
                )
            alias = replace(alias, routing=tuple(routing))
        if description is not None:
            alias = replace(alias, description=description)
        alias = replace(alias, updated=self.clock.now())
        await self.journal.call(self.store.put_alias, alias)
        return alias

    async def delete_alias(self, alias_arn: str) -> None:
        await self.journal.call(self.store.delete_alias, alias_arn)

    async def list_aliases(self, machine_arn: str) -> list[AliasRecord]:
        record = await self.describe_state_machine(machine_arn)
        aliases = await self.journal.call(self.store.list_aliases, record.arn)
        assert isinstance(aliases, list)
        return aliases


def _unicode_problem(definition: str) -> str | None:
    """Why a valid definition's text is not Unicode (a lone surrogate, raw or spelled as an
    escape: no store could keep it, no client could read it back), or None."""
    if has_surrogate(definition):
        return SURROGATE_REASON
    if "\\u" not in definition and "\\U" not in definition:
        return None
    try:
        check_unicode(parse_text(definition))
    except JsonRefused as exc:
        return exc.reason
    return None
