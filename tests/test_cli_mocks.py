"""`asl run/start/worker --mock-config`, `--test-case`, SFN_MOCK_CONFIG, and `${...}` Resources.

In-process through `engine.cli.main([...])`, plus real `asl` processes on one SQLite store for
the durable case (an execution keeps its test case across a worker crash).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.testing import CrashHarness
from tests.serve_process import serve_process, sfn_client

FIXTURES = Path(__file__).parent / "backends" / "fixtures" / "mocks"
DOC_MACHINE = str(FIXTURES / "LambdaSQSIntegration.asl.json")
DOC_CONFIG = str(FIXTURES / "MockConfigFile.json")
SQS_SENT = {
    "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
    "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
}


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["run", *args, "--virtual-time", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_run_with_a_test_case(capsys: pytest.CaptureFixture[str]) -> None:
    code, result = run_json(
        capsys, DOC_MACHINE, "--mock-config", DOC_CONFIG, "--test-case", "RetryPath"
    )
    assert (code, result["status"], result["output"]) == (0, "SUCCEEDED", SQS_SENT)


def test_run_reads_sfn_mock_config(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SFN_MOCK_CONFIG", DOC_CONFIG)
    code, result = run_json(capsys, DOC_MACHINE, "--test-case", "HappyPath")
    assert (code, result["output"]) == (0, SQS_SENT)


def test_a_bad_mock_config_exits_2_with_every_located_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "mocks.json"
    bad.write_text(
        json.dumps(
            {
                "StateMachines": {"M": {"TestCases": {"T": {"A": "Nope"}}}},
                "MockedResponses": {"R": {"1-0": {"Throw": {"Cause": "c"}}}},
            }
        )
    )
    code = main(["run", DOC_MACHINE, "--mock-config", str(bad), "--test-case", "T"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err == (
        f"asl: {bad}: the mock config is invalid (3 problems):\n"
        "  /StateMachines/M/TestCases/T/A: mocked response 'Nope' is not defined in "
        "MockedResponses; define it or use one that is ('R')\n"
        "  /MockedResponses/R/1-0: '1-0' is not an invocation number or range: write a number "
        "counted from 0 ('0', '3') or an inclusive range with the smaller number first ('1-2')\n"
        "  /MockedResponses/R/1-0/Throw: missing 'Error': add a string, the error name Retry "
        "and Catch match\n"
    )


@pytest.mark.parametrize("command", ["serve", "worker", "start"])
def test_every_command_refuses_a_bad_mock_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    extra = [DOC_MACHINE] if command == "start" else []
    args = [command, *extra, "--store", f"sqlite:///{tmp_path / 'asl.db'}"]
    assert main([*args, "--mock-config", str(tmp_path / "missing.json")]) == 2
    assert (
        capsys.readouterr().err == f"asl: {tmp_path / 'missing.json'}: no such mock config file\n"
    )


def test_an_unknown_test_case_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", DOC_MACHINE, "--mock-config", DOC_CONFIG, "--test-case", "Sad"])
    assert code == 2
    assert capsys.readouterr().err == (
        "asl: InvalidArn: Invalid Arn: 'arn:aws:states:us-east-1:111111111111:stateMachine:"
        "LambdaSQSIntegration#Sad': test case 'Sad' is not defined for state machine "
        f"'LambdaSQSIntegration' in {DOC_CONFIG} (its test cases: 'HappyPath', 'RetryPath', "
        "'HybridPath')\n"
    )


PLACEHOLDER = {
    "StartAt": "Check",
    "States": {"Check": {"Type": "Task", "Resource": "${CheckFunctionArn}", "End": True}},
}


def test_validate_warns_about_a_placeholder_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "check.asl.json"
    path.write_text(json.dumps(PLACEHOLDER))
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"{path}: /States/Check/Resource: warning: UNRESOLVED_PLACEHOLDER: Resource "
        "'${CheckFunctionArn}' is an unsubstituted template placeholder; AWS rejects it until "
        "it is substituted with an ARN (SAM/CloudFormation DefinitionSubstitutions). It runs "
        "here only when a mock config mocks this state.\n"
        f"{path}: valid (0 errors, 1 warnings)\n"
    )


def test_an_unclosed_placeholder_stays_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = json.loads(json.dumps(PLACEHOLDER))
    broken["States"]["Check"]["Resource"] = "${lambdaArn"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken))
    assert main(["validate", str(path)]) == 1
    assert "INVALID_RESOURCE" in capsys.readouterr().out


def test_run_a_mocked_placeholder_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = tmp_path / "check.asl.json"
    machine.write_text(json.dumps(PLACEHOLDER))
    mocks = tmp_path / "mocks.json"
    mocks.write_text(
        json.dumps(
            {
                "StateMachines": {"check": {"TestCases": {"Ok": {"Check": "Approved"}}}},
                "MockedResponses": {"Approved": {"0": {"Return": {"approved": True}}}},
            }
        )
    )
    code, result = run_json(capsys, str(machine), "--mock-config", str(mocks), "--test-case", "Ok")
    assert (code, result["output"]) == (0, {"approved": True})


DURABLE = {
    "StartAt": "Reserve",
    "States": {
        "Reserve": {"Type": "Task", "Resource": "${ReserveFunctionArn}", "Next": "Charge"},
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${ChargeFunctionArn}", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 1}],
            "End": True,
        },
    },
}
DURABLE_MOCKS = {
    "StateMachines": {
        "order": {"TestCases": {"Paid": {"Reserve": "Reserved", "Charge": "Charged"}}}
    },
    "MockedResponses": {
        "Reserved": {"0": {"Return": {"reserved": True}}},
        "Charged": {"0": {"Return": {"StatusCode": 200, "Payload": {"paid": True}}}},
    },
}


def test_a_durable_execution_keeps_its_test_case_across_a_worker_crash(tmp_path: Path) -> None:
    machine = tmp_path / "order.asl.json"
    machine.write_text(json.dumps(DURABLE))
    mocks = tmp_path / "mocks.json"
    mocks.write_text(json.dumps(DURABLE_MOCKS))
    url = f"sqlite:///{tmp_path / 'asl.db'}"
    with CrashHarness(url, env={"SFN_MOCK_CONFIG": str(mocks)}) as harness:
        started = harness.asl(
            "start", str(machine), "--detach", "--test-case", "Paid", "--name", "o-1"
        )
        assert started.returncode == 0, started.stderr
        arn = json.loads(started.stdout)["executionArn"]
        # The first worker dies after Charge's start was committed; the next one resumes from
        # the store, where the execution's test case is kept: Charge is mocked again (its
        # counter starts again at 0 in the new process), after AWS's at-most-once failure.
        report = harness.crash_and_recover("before_task:2")
        assert len(report.recovered) == 1
        described = harness.describe(arn)
        assert (described["status"], json.loads(str(described["output"]))) == (
            "SUCCEEDED",
            {"paid": True},
        )
        charge = [
            e["type"]
            for e in harness.history(arn)
            if e["type"].startswith("Task") and e["type"] not in ("TaskStateEntered",)
        ]
        assert charge == [
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
        ]


@pytest.mark.slow
def test_serve_reads_sfn_mock_config_and_boto3_picks_the_test_case() -> None:
    with serve_process([], env={"SFN_MOCK_CONFIG": DOC_CONFIG}) as url:
        sfn = sfn_client(url)
        arn = sfn.create_state_machine(
            name="LambdaSQSIntegration",
            definition=Path(DOC_MACHINE).read_text(),
            roleArn="arn:aws:iam::123456789012:role/service-role/LambdaSQSIntegration",
            type="EXPRESS",
        )["stateMachineArn"]
        result = sfn.start_sync_execution(stateMachineArn=f"{arn}#HappyPath", input="{}")
        assert (result["status"], json.loads(result["output"])) == ("SUCCEEDED", SQS_SENT)
        sfn.close()
