"""`--sub`, `--substitutions`, `[substitutions]` and `--template` on `asl validate`, `run` and
`start` (engine/cli/definitions.py): exact outputs, the order in which values win, every
warning, note and usage error, and a template's functions served locally."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.harness import FUNCTIONS, Cli, assert_one_asl_line

ARN = "arn:aws:states:us-east-1:111111111111"
LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function"

# Placeholders in a string field, in a typed field (unquoted: the file is JSON once
# substituted), and one a command may leave out.
GREETING = (
    '{"StartAt": "Greet", "States": {"Greet": {"Type": "Pass", '
    '"Result": {"who": "${Who}", "where": "${Where}", "n": ${Count}}, "End": true}}}'
)


def summary(name: str, machine: str, output: object) -> str:
    return (
        f"execution  {ARN}:execution:{machine}:{name}\n"
        "status     SUCCEEDED\n"
        f"output     {json.dumps(output)}\n"
    )


def test_run_with_sub_replaces_the_placeholders_in_the_text(cli: Cli) -> None:
    path = cli.write("greet.asl.json", GREETING)
    done = cli(
        "run", path, "--name", "x", "--sub", "Who=world", "--sub", "Where=here", "--sub", "Count=3"
    )
    assert (done.code, done.err) == (0, "")
    # "${Count}" unquoted became the number 3: substitution works on the text (AWS's rule).
    assert done.out == summary("x", "greet", {"who": "world", "where": "here", "n": 3})


def test_asl_toml_then_the_file_then_sub_each_win_over_the_one_before(cli: Cli) -> None:
    path = cli.write("greet.asl.json", GREETING)
    cli.write("asl.toml", '[substitutions]\nWho = "toml"\nWhere = "toml"\nCount = 1\n')
    cli.write("subs.json", {"Where": "file", "Count": 2})
    done = cli("run", path, "--name", "x", "--substitutions", "subs.json", "--sub", "Count=7")
    assert (done.code, done.err) == (0, "")
    assert done.out == summary("x", "greet", {"who": "toml", "where": "file", "n": 7})


def test_a_bad_substitutions_table_in_asl_toml_is_a_located_config_problem(cli: Cli) -> None:
    path = cli.write("greet.asl.json", GREETING)
    cli.write("asl.toml", "[substitutions]\nWho = [1]\n")
    done = cli("run", path)
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        "asl: Invalid config file asl.toml:\n"
        "  substitutions: 'Who' is a list; a substitution value is a string, a number or a "
        "boolean\n"
    )


def test_validate_reads_asl_toml_substitutions(cli: Cli) -> None:
    path = cli.write("greet.asl.json", GREETING)
    cli.write("asl.toml", '[substitutions]\nWho = "a"\nWhere = "b"\nCount = 2\n')
    done = cli("validate", path)
    assert (done.code, done.out, done.err) == (
        0,
        "greet.asl.json: valid (0 errors, 0 warnings)\n",
        "",
    )


def test_start_stores_the_substituted_definition(cli: Cli) -> None:
    path = cli.write("greet.asl.json", GREETING)
    done = cli(
        "start", path, "--detach", "--name", "d", "--sub", "Who=w", "--sub", "Where=h",
        "--sub", "Count=4",
    )  # fmt: skip
    assert (done.code, done.err) == (0, "")
    cli.worker_until_idle()
    described = cli.describe(f"{ARN}:execution:greet:d")
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"who": "w", "where": "h", "n": 4}


def test_booleans_and_numbers_of_a_substitutions_file_are_written_as_json(cli: Cli) -> None:
    path = cli.write(
        "flags.asl.json",
        '{"StartAt": "P", "States": {"P": {"Type": "Pass", '
        '"Result": {"on": ${On}, "off": ${Off}, "rate": ${Rate}, "s": "${On}"}, "End": true}}}',
    )
    cli.write("subs.json", {"On": True, "Off": False, "Rate": 0.5})
    done = cli("run", path, "--name", "x", "--substitutions", "subs.json")
    assert done.out == summary("x", "flags", {"on": True, "off": False, "rate": 0.5, "s": "true"})


def test_an_unknown_key_is_a_warning_and_the_run_goes_on(cli: Cli) -> None:
    path = cli.write("greet.asl.json", GREETING)
    cli.write("subs.json", {"Typo": "x"})
    done = cli(
        "run", path, "--name", "x", "--sub", "Who=w", "--sub", "Where=h", "--sub", "Count=1",
        "--sub", "Whoo=oops", "--substitutions", "subs.json",
    )  # fmt: skip
    assert done.code == 0
    assert done.out == summary("x", "greet", {"who": "w", "where": "h", "n": 1})
    assert done.err == (
        "asl: warning: --substitutions subs.json: the definition has no placeholder ${Typo}; "
        "check the key's spelling\n"
        "asl: warning: --sub: the definition has no placeholder ${Whoo}; check the key's "
        "spelling\n"
    )


PLACEHOLDER_WAIT = {
    "StartAt": "Wait",
    "States": {
        "Wait": {"Type": "Wait", "Seconds": "${Delay}", "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "${Label}", "End": True},
    },
}


def test_a_placeholder_left_unsubstituted_is_noted_with_the_flags_that_fill_it(cli: Cli) -> None:
    path = cli.write("wait.asl.json", PLACEHOLDER_WAIT)
    done = cli("run", path, "--name", "x", "--sub", "Label=done", "--virtual-time", "--json")
    # Today's behaviour: the typed field fails the state when it is entered ...
    assert done.code == 1
    assert done.json()["error"] == "States.Runtime"
    # ... plus the flags that would fill it.
    assert done.err == (
        "asl: note: ${Delay} is not substituted; give it with --sub Delay=VALUE, "
        "--substitutions FILE.json, or [substitutions] in asl.toml\n"
    )


def test_validate_notes_unsubstituted_placeholders_only_when_given_substitutions(
    cli: Cli,
) -> None:
    path = cli.write("wait.asl.json", PLACEHOLDER_WAIT)
    plain = cli("validate", path)
    assert (plain.code, plain.err) == (0, "")
    assert plain.lines()[-1] == "wait.asl.json: valid (0 errors, 2 warnings)"
    given = cli("validate", path, "--sub", "Label=x")
    assert given.code == 0
    assert given.lines()[-1] == "wait.asl.json: valid (0 errors, 1 warnings)"
    assert given.err == (
        "asl: note: ${Delay} is not substituted; give it with --sub Delay=VALUE, "
        "--substitutions FILE.json, or [substitutions] in asl.toml\n"
    )


def test_a_quoted_number_stays_a_string_as_on_aws(cli: Cli) -> None:
    path = cli.write("wait.asl.json", PLACEHOLDER_WAIT)
    done = cli("validate", path, "--sub", "Label=x", "--sub", "Delay=5", "--json")
    # "Seconds": "${Delay}" became "Seconds": "5": AWS's CreateStateMachine refuses it too.
    assert done.code == 1
    [diagnostic] = done.json()["diagnostics"]
    assert diagnostic["location"] == "/States/Wait/Seconds"


def test_a_substitution_loop_is_a_usage_error(cli: Cli) -> None:
    path = cli.write("greet.asl.json", GREETING)
    done = cli("run", path, "--sub", "Who=${Where}", "--sub", "Where=${Who}", "--sub", "Count=1")
    assert assert_one_asl_line(done) == (
        "asl: InvalidDefinitionSubstitutions: The substitutions refer to each other in a loop "
        "(Where, Who): a value holds a placeholder whose value leads back to it; give one of "
        "them a literal value\n"
    )


@pytest.mark.parametrize(
    ("args", "files", "message"),
    [
        (["--sub", "NoEquals"], {}, "asl: --sub 'NoEquals': write KEY=VALUE\n"),
        (["--sub", "=v"], {}, "asl: --sub '=v': write KEY=VALUE\n"),
        (
            ["--substitutions", "s.json"],
            {"s.json": "[1]"},
            ("asl: s.json: the substitutions must be a JSON object of KEY: value\n"),
        ),
        (
            ["--substitutions", "s.json"],
            {"s.json": '{"A": [1]}'},
            (
                "asl: s.json: /A: a substitution value is a string, a number or a boolean, "
                "not list\n"
            ),
        ),
        (
            ["--substitutions", "s.json"],
            {"s.json": '{"A": null}'},
            (
                "asl: s.json: /A: a substitution value is a string, a number or a boolean, "
                "not null\n"
            ),
        ),
        (
            ["--substitutions", "s.json"],
            {"s.json": "{"},
            (
                "asl: s.json: not valid JSON: Expecting property name enclosed in double quotes "
                "(line 1, column 2)\n"
            ),
        ),
        (["--substitutions", "missing.json"], {}, "asl: missing.json: no such file\n"),
        (["--machine", "M"], {}, "asl: --machine applies to --template; give the template\n"),
        (
            ["--parameter", "A=1"],
            {},
            ("asl: --parameter applies to --template; give the template\n"),
        ),
    ],
    ids=[
        "sub-without-equals",
        "sub-without-key",
        "file-not-object",
        "file-list-value",
        "file-null-value",
        "file-invalid-json",
        "file-missing",
        "machine-without-template",
        "parameter-without-template",
    ],
)
@pytest.mark.parametrize("command", ["validate", "run", "start"])
def test_usage_errors(
    cli: Cli, command: str, args: list[str], files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        cli.write(name, text)
    path = cli.machine("hello")
    assert assert_one_asl_line(cli(command, path, *args)) == message


@pytest.mark.parametrize("command", ["validate", "run", "start"])
def test_a_file_and_a_template_together_are_refused(cli: Cli, command: str) -> None:
    path = cli.machine("hello")
    cli.write("template.yaml", "Resources: {}\n")
    done = cli(command, path, "--template", "template.yaml")
    expected = (
        "asl: give either FILE... or --template template.yaml, not both\n"
        if command == "validate"
        else "asl: give either the definition hello.asl.json or --template template.yaml, "
        "not both\n"
    )
    assert assert_one_asl_line(done) == expected


# -- templates --------------------------------------------------------------------------------

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 5
Parameters:
  Greeting:
    Type: String
Resources:
  GreetingFlow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: greeting-flow
      Type: EXPRESS
      DefinitionUri: statemachine/greet.asl.json
      DefinitionSubstitutions:
        GreetArn: !GetAtt GreetFunction.Arn
        Greeting: !Ref Greeting
        Table: !Ref Greetings
  GreetFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: greet
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
  NodeFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: node/
      Handler: index.handler
      Runtime: nodejs20.x
  Greetings:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: greetings-table
"""
DEFINITION = {
    "StartAt": "Greet",
    "States": {
        "Greet": {
            "Type": "Task",
            "Resource": "${GreetArn}",
            "Parameters": {"greeting": "${Greeting}", "table": "${Table}", "name.$": "$.name"},
            "End": True,
        }
    },
}
HANDLER = (
    "def handler(event, context):\n"
    "    return {'text': event['greeting'] + ', ' + event['name'],\n"
    "            'table': event['table'], 'timeout_ms': context.get_remaining_time_in_millis()"
    " > 0,\n"
    "            'function': context.function_name}\n"
)
NODE_NOTE = (
    "asl: note: function NodeFunction (Resources/NodeFunction) is not served: not a Python "
    "function (Runtime 'nodejs20.x'); serve it with [functions.NodeFunction] in asl.toml or "
    "--functions FILE.py\n"
)


def sam_app(cli: Cli) -> None:
    cli.write("app/template.yaml", TEMPLATE)
    cli.write("app/statemachine/greet.asl.json", DEFINITION)
    cli.write("app/src/app.py", HANDLER)


def test_validate_a_template(cli: Cli) -> None:
    sam_app(cli)
    done = cli("validate", "--template", "app/template.yaml", "--parameter", "Greeting=Hi")
    assert (done.code, done.out, done.err) == (
        0,
        "app/statemachine/greet.asl.json: valid (0 errors, 0 warnings)\n",
        "",
    )


def test_a_parameter_without_default_is_a_located_problem(cli: Cli) -> None:
    sam_app(cli)
    done = cli("validate", "--template", "app/template.yaml")
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        "asl: app/template.yaml: cannot use the template:\n"
        "  Parameters/Greeting: the parameter has no Default; give its value with "
        "--parameter Greeting=VALUE\n"
    )


def test_a_sub_gives_what_the_template_cannot_resolve(cli: Cli) -> None:
    sam_app(cli)
    done = cli("validate", "--template", "app/template.yaml", "--sub", "Greeting=Hey")
    assert (done.code, done.err) == (0, "")


def test_run_a_template_serves_its_python_function_under_its_name(cli: Cli) -> None:
    sam_app(cli)
    done = cli(
        "run", "--template", "app/template.yaml", "--parameter", "Greeting=Hello",
        "--input", '{"name": "Ada"}', "--name", "x", "--json",
    )  # fmt: skip
    assert done.err == NODE_NOTE
    result = done.json()
    # The machine's name and type come from the template.
    assert result["executionArn"].startswith(f"{ARN}:express:greeting-flow:x:")
    assert result["status"] == "SUCCEEDED"
    assert result["output"] == {
        "text": "Hello, Ada",
        "table": "greetings-table",
        "timeout_ms": True,
        "function": "greet",
    }


def test_type_on_the_command_line_wins_over_the_templates(cli: Cli) -> None:
    sam_app(cli)
    standard = cli(
        "run", "--template", "app/template.yaml", "--parameter", "Greeting=Hi",
        "--input", '{"name": "Ada"}', "--name", "x", "--type", "STANDARD", "--json",
    )  # fmt: skip
    assert standard.json()["executionArn"] == f"{ARN}:execution:greeting-flow:x"


def test_functions_on_the_command_line_win_over_the_templates(cli: Cli) -> None:
    sam_app(cli)
    cli.write("mine.py", "def greet(event, context):\n    return {'mine': True}\n")
    done = cli(
        "run", "--template", "app/template.yaml", "--parameter", "Greeting=Hi",
        "--functions", "mine.py", "--input", '{"name": "A"}', "--name", "x", "--json",
    )  # fmt: skip
    assert done.json()["output"] == {"mine": True}


def test_asl_toml_functions_win_over_the_templates(cli: Cli) -> None:
    sam_app(cli)
    cli.write("mine.py", "def other(event, context):\n    return {'toml': True}\n")
    cli.write("asl.toml", '[functions.greet]\nhandler = "mine.other"\n')
    done = cli(
        "run", "--template", "app/template.yaml", "--parameter", "Greeting=Hi",
        "--input", '{"name": "A"}', "--name", "x", "--json",
    )  # fmt: skip
    assert done.json()["output"] == {"toml": True}


def test_a_template_function_past_lambdas_limits_is_a_config_problem(cli: Cli) -> None:
    sam_app(cli)
    cli.write("app/template.yaml", TEMPLATE.replace("Timeout: 5", "Timeout: 1000"))
    done = cli("run", "--template", "app/template.yaml", "--parameter", "Greeting=Hi")
    assert (done.code, done.out) == (2, "")
    assert done.err.splitlines()[-2:] == [
        "asl: Invalid config file app/template.yaml:",
        "  functions.greet.timeout: Input should be less than or equal to 900",
    ]


def test_start_a_template_registers_the_machine_under_the_templates_name(cli: Cli) -> None:
    sam_app(cli)
    done = cli(
        "start", "--template", "app/template.yaml", "--parameter", "Greeting=Hi",
        "--input", '{"name": "Bo"}', "--name", "s1", "--type", "STANDARD", "--json",
    )  # fmt: skip
    assert done.err == NODE_NOTE
    result = done.json()
    assert result["executionArn"] == f"{ARN}:execution:greeting-flow:s1"
    assert result["output"]["text"] == "Hi, Bo"
    described = cli.describe(result["executionArn"])
    assert described["stateMachineArn"] == f"{ARN}:stateMachine:greeting-flow"


def test_several_machines_need_machine(cli: Cli, tmp_path: Path) -> None:
    text = (
        "Resources:\n"
        "  One:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        '      DefinitionString: \'{"StartAt": "P", "States": {"P": {"Type": "Pass", '
        '"Result": 1, "End": true}}}\'\n'
        "  Two:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
        "      StateMachineName: second\n"
        '      DefinitionString: !Sub \'{"StartAt": "P", "States": {"P": {"Type": '
        '"Pass", "Result": "${AWS::Region}", "End": true}}}\'\n'
    )
    cli.write("two.yaml", text)
    done = cli("run", "--template", "two.yaml")
    assert done.err == (
        "asl: two.yaml: cannot use the template:\n"
        "  Resources: the template declares 2 state machines (One, Two); choose one with "
        "--machine LOGICAL_ID\n"
    )
    second = cli("run", "--template", "two.yaml", "--machine", "Two", "--name", "x")
    assert (second.code, second.err) == (0, "")
    assert second.out == summary("x", "second", "us-east-1")
    first = cli("run", "--template", "two.yaml", "--machine", "One", "--name", "x")
    assert first.out == summary("x", "One", 1)


def test_an_invalid_definition_from_a_template_is_reported_at_its_label(cli: Cli) -> None:
    cli.write(
        "bad.yaml",
        "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
        "      Definition:\n        StartAt: Nowhere\n        States:\n"
        "          A: {Type: Pass, End: true}\n",
    )
    done = cli("validate", "--template", "bad.yaml")
    assert done.code == 1
    assert done.lines()[-1] == "bad.yaml#M: INVALID (1 errors, 0 warnings)"


def test_unknown_parameter_is_a_warning(cli: Cli) -> None:
    sam_app(cli)
    done = cli(
        "validate", "--template", "app/template.yaml", "--parameter", "Greeting=Hi",
        "--parameter", "Nope=1",
    )  # fmt: skip
    assert done.code == 0
    assert done.err == "asl: warning: --parameter Nope: the template declares no parameter Nope\n"


def test_functions_file_still_serves_a_plain_run(cli: Cli) -> None:
    """The old path is unchanged: a definition file without substitutions."""
    done = cli("run", cli.machine("hello"), "--functions", FUNCTIONS, "--name", "x")
    assert done.out == summary("x", "hello", {"hello": "world"})


ENV_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Environment:
      Variables:
        ASL_TEST_STYLE: loud
Resources:
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Look
        States:
          Look: {Type: Task, Resource: "${LookArn}", End: true}
      DefinitionSubstitutions:
        LookArn: !GetAtt LookFunction.Arn
  LookFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: look.handler
      Runtime: python3.12
      Environment:
        Variables:
          ASL_TEST_TABLE: !Ref Items
          ASL_TEST_MODE: read
  OtherFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: look.handler
      Runtime: python3.12
      Environment:
        Variables:
          ASL_TEST_MODE: write
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: items-table
"""
LOOK = (
    "import os\n"
    "def handler(event, context):\n"
    "    names = ('ASL_TEST_STYLE', 'ASL_TEST_TABLE', 'ASL_TEST_MODE', 'AWS_REGION',"
    " 'AWS_DEFAULT_REGION')\n"
    "    return {name: os.environ.get(name) for name in names}\n"
)


def test_the_templates_function_environment_is_set_unless_it_clashes_or_is_set_already(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda gives each function its Environment.Variables (Globals' merged in) and its
    region; handlers served here share this process's environment, so each variable the
    functions agree on is set (the caller's own value wins), and one they give different
    values is left unset with a note. (An aws-samples SAM application's functions read their
    table name from such a variable and create a boto3 resource at import, which needs the
    region.)"""
    for name in ("ASL_TEST_STYLE", "ASL_TEST_TABLE", "ASL_TEST_MODE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)  # and removed again after the test
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # the caller's own: kept
    cli.write("app/template.yaml", ENV_TEMPLATE)
    cli.write("app/src/look.py", LOOK)
    done = cli("run", "--template", "app/template.yaml", "--name", "x", "--json")
    assert done.err == (
        "asl: note: environment variable ASL_TEST_MODE is not set: the template's functions "
        "give it different values (LookFunction: 'read'; OtherFunction: 'write') and Python "
        "handlers share this process's environment; export the one to use, or serve the "
        "functions as commands ([functions.NAME] command and env in asl.toml)\n"
    )
    assert done.json()["output"] == {
        "ASL_TEST_STYLE": "loud",
        "ASL_TEST_TABLE": "items-table",
        "ASL_TEST_MODE": None,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
