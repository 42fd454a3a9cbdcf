"""`asl schedule`: create, list, describe, pause, resume, delete on the default store, the
JSON each prints (EventBridge Scheduler's GetSchedule shape) and the exit status of errors."""

from __future__ import annotations

from tests.cli.harness import ACCOUNT, ISO, Cli


def created(cli: Cli) -> dict[str, object]:
    machine = cli.machine("hello")
    assert cli("start", machine, "--name", "first").code == 0  # creates the machine
    done = cli(
        "schedule",
        "create",
        "nightly",
        "--machine",
        "hello",
        "--expression",
        "cron(0 2 ? * MON-FRI *)",
        "--timezone",
        "Europe/Paris",
        "--input",
        '{"report": true}',
    )
    assert (done.code, done.err) == (0, ""), done
    shaped: dict[str, object] = done.json()
    return shaped


def test_create_prints_the_schedule(cli: Cli) -> None:
    shaped = created(cli)
    dates = {k: shaped.pop(k) for k in ("CreationDate", "LastModificationDate")}
    next_date = shaped.pop("NextInvocationDate")
    assert all(ISO.match(str(d)) for d in [*dates.values(), next_date])
    assert shaped == {
        "Name": "nightly",
        "Arn": "arn:aws:scheduler:us-east-1:111111111111:schedule/default/nightly",
        "GroupName": "default",
        "State": "ENABLED",
        "ScheduleExpression": "cron(0 2 ? * MON-FRI *)",
        "ScheduleExpressionTimezone": "Europe/Paris",
        "Target": {"Arn": f"{ACCOUNT}:stateMachine:hello", "Input": '{"report":true}'},
        "FlexibleTimeWindow": {"Mode": "OFF"},
    }


def test_list_pause_resume_describe_delete(cli: Cli) -> None:
    created(cli)
    assert [s["Name"] for s in cli("schedule", "list").json()["Schedules"]] == ["nightly"]
    paused = cli("schedule", "pause", "nightly").json()
    assert paused["State"] == "DISABLED"
    assert "NextInvocationDate" not in paused
    assert cli("schedule", "describe", "nightly").json()["State"] == "DISABLED"
    assert cli("schedule", "resume", "nightly").json()["State"] == "ENABLED"
    deleted = cli("schedule", "delete", "nightly")
    assert (deleted.code, deleted.out, deleted.err) == (0, "", "")
    assert cli("schedule", "list").json() == {"Schedules": []}


def test_errors_exit_2_with_one_line(cli: Cli) -> None:
    created(cli)
    cases = {
        ("describe", "nope"): "asl: ResourceNotFound: Schedule nope does not exist.\n",
        (
            "create",
            "nightly",
            "--machine",
            "hello",
            "--expression",
            "rate(1 day)",
        ): "asl: ConflictException: Schedule nightly already exists.\n",
        (
            "create",
            "x",
            "--machine",
            "hello",
            "--expression",
            "cron(0 2 * * MON *)",
        ): "asl: ValidationException: Invalid Schedule Expression cron(0 2 * * MON *): exactly "
        "one of day-of-month and day-of-week must be '?' (the other set)\n",
        (
            "create",
            "x",
            "--machine",
            "nothing",
            "--expression",
            "rate(1 day)",
        ): "asl: no state machine named 'nothing'\n",
    }
    for args, err in cases.items():
        done = cli("schedule", *args)
        assert (done.code, done.out, done.err) == (2, "", err), args
