"""Service: CreateStateMachine, UpdateStateMachine, versions, aliases and DeleteStateMachine."""

from __future__ import annotations

import hashlib

import pytest

from engine.errors import DefinitionInvalid, InvalidRequest, ResourceConflict, ResourceNotFound
from engine.service import Service
from engine.store.base import AliasRecord, MachineRecord, VersionRecord
from tests.service.helpers import (
    DEFAULT_ROLE,
    T0,
    Tokens,
    callback_machine,
    finish,
    machine_arn,
    pass_machine,
    run,
    text,
)

PASS = pass_machine()
OLD = callback_machine(after="old")
NEW = callback_machine(after="new")


# -- CreateStateMachine ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["has space", "a" * 81, "a[b]", "", "tab\there", "{x}", "a*b", "semi;colon", "q?"],
    ids=["space", "81-chars", "brackets", "empty", "tab", "braces", "wildcard", "special", "qmark"],
)
def test_create_rejects_an_invalid_name(name: str) -> None:
    async def main(service: Service) -> None:
        with pytest.raises(InvalidRequest) as caught:
            await service.create_state_machine(name, PASS)
        assert caught.value.code == "InvalidName"
        assert caught.value.message == (
            f"Invalid Name: '{name}': a state machine name has 1 to 80 characters, without "
            "whitespace, brackets, wildcards, special or control characters"
        )
        assert await service.list_state_machines() == []

    run(main)


@pytest.mark.parametrize("name", ["a" * 80, "x", "orders-v2_final.1"], ids=["80", "1", "punct"])
def test_create_accepts_a_valid_name(name: str) -> None:
    async def main(service: Service) -> MachineRecord:
        record, version = await service.create_state_machine(name, PASS)
        assert version is None
        return record

    record = run(main)
    assert (record.name, record.arn) == (name, machine_arn(name))


@pytest.mark.parametrize(
    ("definition", "machine_type", "expected"),
    [
        (
            '{"StartAt": ',
            "STANDARD",
            [
                (
                    "INVALID_JSON_DESCRIPTION",
                    "",
                    "Invalid JSON: Expecting value at line 1, column 13",
                )
            ],
        ),
        (
            text({"StartAt": "Nope", "States": {"P": {"Type": "Pass", "End": True}}}),
            "STANDARD",
            [
                (
                    "MISSING_TRANSITION_TARGET",
                    "/StartAt",
                    "Missing 'StartAt' target: Nope; StartAt must name a state of this States "
                    "object",
                ),
            ],
        ),
        (
            text(
                {
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "Next": "X"}, "Q": {"Type": "Bogus"}},
                }
            ),
            "STANDARD",
            [
                (
                    "MISSING_TRANSITION_TARGET",
                    "/States/P/Next",
                    "Missing 'Next' target: X; name a state of the same States object (a "
                    "Parallel branch or Map processor cannot leave its own States)",
                ),
                (
                    "SCHEMA_VALIDATION_FAILED",
                    "/States/Q/Type",
                    "Invalid State Type 'Bogus': use one of Task, Pass, Choice, Wait, Succeed, "
                    "Fail, Parallel, Map",
                ),
                (
                    "MISSING_TRANSITION_TARGET",
                    "/States/Q",
                    'State "Q" is not reachable. No transition (StartAt, Next, Default or a '
                    "catcher's Next) leads to it; remove it or add a transition",
                ),
            ],
        ),
        (
            callback_machine(),
            "EXPRESS",
            [
                (
                    "SCHEMA_VALIDATION_FAILED",
                    "/States/Ask/Resource",
                    "Express state machine does not support '.waitForTaskToken' service "
                    "integration",
                )
            ],
        ),
    ],
    ids=["unparseable", "missing-start", "every-problem", "express-callback"],
)
def test_create_rejects_an_invalid_definition_with_every_diagnostic(
    definition: str, machine_type: str, expected: list[tuple[str, str, str]]
) -> None:
    async def main(service: Service) -> DefinitionInvalid:
        with pytest.raises(DefinitionInvalid) as caught:
            await service.create_state_machine("bad", definition, machine_type=machine_type)
        assert await service.list_state_machines() == []
        return caught.value

    error = run(main)
    assert error.code == "InvalidDefinition"
    assert [(d.code, d.location, d.message) for d in error.diagnostics] == expected
    first_code, first_location, first_message = expected[0]
    more = f" (and {len(expected) - 1} more)" if len(expected) > 1 else ""
    assert error.message == (
        f"Invalid State Machine Definition: {first_location or '/'}: {first_code}: "
        f"{first_message}{more}"
    )


def test_create_rejects_an_unknown_type() -> None:
    async def main(service: Service) -> None:
        with pytest.raises(InvalidRequest) as caught:
            await service.create_state_machine("m", PASS, machine_type="BATCH")
        assert (caught.value.code, caught.value.message) == (
            "ValidationException",
            "Invalid type 'BATCH'",
        )

    run(main)


def test_create_records_every_setting() -> None:
    async def main(service: Service) -> tuple[MachineRecord, MachineRecord]:
        created, _ = await service.create_state_machine(
            "orders",
            PASS,
            role_arn="arn:aws:iam::111111111111:role/orders",
            machine_type="EXPRESS",
            logging_level="ALL",
            tags={"team": "a"},
        )
        return created, await service.describe_state_machine(machine_arn("orders"))

    created, described = run(main)
    assert created == described
    assert created == MachineRecord(
        arn=machine_arn("orders"),
        name="orders",
        machine_type="EXPRESS",
        definition=PASS,
        revision_id=hashlib.sha256(PASS.encode()).hexdigest()[:32],
        role_arn="arn:aws:iam::111111111111:role/orders",
        created=T0,
        updated=T0,
        logging_level="ALL",
        tags={"team": "a"},
    )


def test_create_again_with_identical_settings_returns_the_same_machine() -> None:
    async def main(service: Service) -> None:
        first, _ = await service.create_state_machine("m", PASS)
        service.clock.advance_to(T0 + 60)
        again, version = await service.create_state_machine("m", PASS)
        assert again == first  # not re-created: same creation date
        assert version is None
        assert [m.arn for m in await service.list_state_machines()] == [machine_arn("m")]

    run(main)


@pytest.mark.parametrize(
    "changed",
    [
        {"definition": pass_machine(result="other")},
        {"role_arn": "arn:aws:iam::111111111111:role/other"},
        {"machine_type": "EXPRESS"},
    ],
    ids=["definition", "role", "type"],
)
def test_create_again_with_other_settings_is_a_conflict(changed: dict[str, str]) -> None:
    async def main(service: Service) -> None:
        first, _ = await service.create_state_machine("m", PASS)
        settings = {"definition": PASS, "role_arn": DEFAULT_ROLE, "machine_type": "STANDARD"}
        settings.update(changed)
        with pytest.raises(ResourceConflict) as caught:
            await service.create_state_machine(
                "m",
                settings["definition"],
                role_arn=settings["role_arn"],
                machine_type=settings["machine_type"],
            )
        assert (caught.value.code, caught.value.message) == (
            "StateMachineAlreadyExists",
            f"State Machine Already Exists: '{machine_arn('m')}'",
        )
        assert await service.describe_state_machine(first.arn) == first

    run(main)


# -- UpdateStateMachine ---------------------------------------------------------------------------


def test_update_makes_a_new_revision() -> None:
    async def main(service: Service) -> None:
        created, _ = await service.create_state_machine("m", PASS)
        service.clock.advance_to(T0 + 5)
        other = pass_machine(result=1)
        updated, version = await service.update_state_machine(
            created.arn, definition=other, role_arn="arn:aws:iam::1:role/r", logging_level="ERROR"
        )
        assert version is None
        assert updated.revision_id == hashlib.sha256(other.encode()).hexdigest()[:32]
        assert updated.revision_id != created.revision_id
        assert (updated.definition, updated.role_arn, updated.logging_level) == (
            other,
            "arn:aws:iam::1:role/r",
            "ERROR",
        )
        assert (updated.created, updated.updated) == (T0, T0 + 5)
        assert await service.describe_state_machine(created.arn) == updated

    run(main)


def test_update_rejects_an_invalid_definition_and_keeps_the_old_one() -> None:
    async def main(service: Service) -> None:
        created, _ = await service.create_state_machine("m", PASS)
        with pytest.raises(DefinitionInvalid):
            await service.update_state_machine(created.arn, definition='{"StartAt": 1}')
        assert await service.describe_state_machine(created.arn) == created

    run(main)


def test_update_of_an_unknown_machine_is_not_found() -> None:
    async def main(service: Service) -> None:
        with pytest.raises(ResourceNotFound) as caught:
            await service.update_state_machine(machine_arn("nope"), definition=PASS)
        assert caught.value.code == "StateMachineDoesNotExist"

    run(main)


def test_a_running_execution_keeps_its_revision_across_an_update() -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        created, _ = await service.create_state_machine("m", OLD)
        before = await service.start_execution(created.arn, name="before")
        first_token = await tokens.next()
        await service.update_state_machine(created.arn, definition=NEW)

        pinned = await service.describe_state_machine_for_execution(before.arn)
        assert (pinned.definition, pinned.revision_id) == (OLD, created.revision_id)

        after = await service.start_execution(created.arn, name="after")
        second_token = await tokens.next()
        assert (await service.describe_state_machine_for_execution(after.arn)).definition == NEW

        await service.send_task_success(first_token, "{}")
        await service.send_task_success(second_token, "{}")
        assert (await finish(service, before.arn)).output == "old"
        assert (await finish(service, after.arn)).output == "new"

    run(main, functions={"remember": tokens.remember})


# -- versions -------------------------------------------------------------------------------------


def test_versions_are_numbered_and_an_unchanged_revision_is_not_published_twice() -> None:
    async def main(service: Service) -> list[VersionRecord]:
        created, first = await service.create_state_machine(
            "m", PASS, publish=True, version_description="v1"
        )
        assert first is not None
        assert (first.arn, first.version, first.description) == (f"{created.arn}:1", 1, "v1")
        _, second = await service.update_state_machine(
            created.arn, definition=pass_machine(result=2), publish=True
        )
        assert second is not None
        assert (second.arn, second.version) == (f"{created.arn}:2", 2)
        again = await service.publish_version(created.arn, description="ignored")
        assert again == second
        return await service.list_versions(created.arn)

    versions = run(main)
    assert [(v.version, v.definition) for v in versions] == [
        (2, pass_machine(result=2)),
        (1, PASS),
    ]


def test_a_version_arn_pins_its_revision() -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        created, v1 = await service.create_state_machine("m", OLD, publish=True)
        assert v1 is not None
        await service.update_state_machine(created.arn, definition=NEW)

        described = await service.describe_state_machine(v1.arn)
        assert (described.definition, described.revision_id) == (OLD, created.revision_id)

        pinned = await service.start_execution(v1.arn, name="pinned")
        assert (pinned.machine_arn, pinned.version_arn, pinned.alias_arn) == (
            created.arn,
            v1.arn,
            None,
        )
        await service.send_task_success(await tokens.next(), "{}")
        assert (await finish(service, pinned.arn)).output == "old"

        latest = await service.start_execution(created.arn, name="latest")
        assert latest.version_arn is None
        await service.send_task_success(await tokens.next(), "{}")
        assert (await finish(service, latest.arn)).output == "new"

    run(main, functions={"remember": tokens.remember})


def test_an_unknown_version_does_not_exist() -> None:
    async def main(service: Service) -> None:
        created, _ = await service.create_state_machine("m", PASS, publish=True)
        for call in (service.describe_state_machine, service.start_execution):
            with pytest.raises(ResourceNotFound) as caught:
                await call(f"{created.arn}:7")
            assert (caught.value.code, caught.value.message) == (
                "StateMachineDoesNotExist",
                f"State Machine Does Not Exist: '{created.arn}:7'",
            )

    run(main)


# -- aliases --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "routing",
    [[(1, 60), (2, 30)], [(1, 50), (2, 60)], [], [(1, 99)]],
    ids=["under", "over", "empty", "single-99"],
)
def test_alias_routing_must_total_100(routing: list[tuple[int, int]]) -> None:
    async def main(service: Service) -> None:
        created, _ = await service.create_state_machine("m", PASS, publish=True)
        await service.update_state_machine(created.arn, definition=OLD, publish=True)
        with pytest.raises(InvalidRequest) as caught:
            await service.create_alias(created.arn, "prod", routing)
        assert (caught.value.code, caught.value.message) == (
            "ValidationException",
            "The routing configuration weights must add up to 100.",
        )
        assert await service.list_aliases(created.arn) == []

    run(main)


def test_alias_to_an_unknown_version_is_not_found() -> None:
    async def main(service: Service) -> None:
        created, _ = await service.create_state_machine("m", PASS, publish=True)
        with pytest.raises(ResourceNotFound) as caught:
            await service.create_alias(created.arn, "prod", [(1, 50), (3, 50)])
        assert (caught.value.code, caught.value.message) == (
            "ResourceNotFound",
            f"Version 3 of '{created.arn}' does not exist",
        )

    run(main)


def test_alias_name_is_checked() -> None:
    async def main(service: Service) -> None:
        created, _ = await service.create_state_machine("m", PASS, publish=True)
        with pytest.raises(InvalidRequest) as caught:
            await service.create_alias(created.arn, "bad name", [(1, 100)])
        assert caught.value.code == "InvalidName"

    run(main)


def test_start_via_an_alias_runs_its_version() -> None:
    tokens = Tokens()

    async def main(service: Service) -> None:
        created, _ = await service.create_state_machine("m", OLD, publish=True)
        await service.update_state_machine(created.arn, definition=NEW, publish=True)
        alias = await service.create_alias(created.arn, "prod", [(1, 100)], "stable")
        assert alias == AliasRecord(created.arn, "prod", ((1, 100),), "stable", T0, T0)
        assert alias.arn == f"{created.arn}:prod"
        assert await service.create_alias(created.arn, "prod", [(1, 100)], "stable") == alias
        with pytest.raises(ResourceConflict) as caught:
            await service.create_alias(created.arn, "prod", [(2, 100)], "stable")
        assert caught.value.code == "ConflictException"

        execution = await service.start_execution(alias.arn, name="via-alias")
        assert (execution.version_arn, execution.alias_arn) == (f"{created.arn}:1", alias.arn)
        await service.send_task_success(await tokens.next(), "{}")
        assert (await finish(service, execution.arn)).output == "old"

        await service.update_alias(alias.arn, [(2, 100)], None)
        moved = await service.start_execution(alias.arn, name="after-move")
        assert moved.version_arn == f"{created.arn}:2"
        await service.send_task_success(await tokens.next(), "{}")
        assert (await finish(service, moved.arn)).output == "new"

        await service.delete_alias(alias.arn)
        with pytest.raises(ResourceNotFound):
            await service.start_execution(alias.arn)

    run(main, functions={"remember": tokens.remember})


# -- DeleteStateMachine ---------------------------------------------------------------------------


def test_delete_removes_the_machine() -> None:
    async def main(service: Service) -> None:
        created, _ = await service.create_state_machine("m", PASS)
        await service.describe_state_machine(created.arn)  # cached now: delete must drop it
        await service.delete_state_machine(created.arn)
        for call in (service.describe_state_machine, service.start_execution):
            with pytest.raises(ResourceNotFound) as caught:
                await call(created.arn)
            assert caught.value.code == "StateMachineDoesNotExist"
        assert await service.list_state_machines() == []
        recreated, _ = await service.create_state_machine("m", pass_machine(result="again"))
        assert recreated.definition == pass_machine(result="again")

    run(main)
