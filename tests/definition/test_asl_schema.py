"""The JSON Schema for editors (engine/definition/asl_schema.py, `asl schema`).

The promise: every definition `asl validate` accepts satisfies the schema (an editor must never
flag a machine the engine runs), checked on every corpus there is: the validation cases recorded
on AWS that the engine accepts, the execution corpus, asl_examples/ and generated machines. The
schema also refuses the clear misses an editor should flag at once. And the shipped file is
exactly what the model generates today.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft7Validator

from engine.cli import main
from engine.definition.asl_schema import (
    DRAFT,
    SCHEMA_ID,
    SCHEMA_PATH,
    build_schema,
    schema_text,
    shipped_schema_text,
)
from engine.definition.parse import parse_text
from engine.definition.validate import is_valid, iter_diagnostics
from engine.values import JSON
from tests.generated.strategies import GeneratedMachine, machines

REPO = Path(__file__).resolve().parents[2]


def _cases_dir() -> Path:
    configured = os.environ.get("ASL_CONFORMANCE_CASES")
    if configured:
        return Path(configured)
    return REPO.parent / "shared" / "conformance" / "cases"


SHIPPED = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = Draft7Validator(SHIPPED)


def _accepted(definition: JSON, machine_type: str) -> bool:
    return is_valid(iter_diagnostics(definition, machine_type=machine_type))


def _corpus(kind: str) -> list[tuple[str, JSON, str]]:
    """(case id, definition, machine type) of the recorded cases of `kind` (validate, exec)."""
    directory = _cases_dir() / kind
    found = []
    for file in sorted(directory.glob("*.json")):
        case = json.loads(file.read_text(encoding="utf-8"))
        if kind == "validate" and not case.get("expect_valid"):
            continue
        if case.get("definition") is None:
            continue
        found.append((file.stem, case["definition"], case.get("type") or "STANDARD"))
    return found


def _examples() -> list[tuple[str, JSON, str]]:
    files = sorted(REPO.glob("asl_examples/**/*.asl.json"))
    files += sorted(REPO.glob("asl_examples/**/*.asl.yaml"))
    return [
        (str(path.relative_to(REPO)), parse_text(path.read_text(encoding="utf-8")), "STANDARD")
        for path in files
    ]


def _problems(definition: JSON) -> list[str]:
    return [
        f"/{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
        for error in VALIDATOR.iter_errors(definition)
    ]


def test_the_shipped_file_is_what_the_model_generates() -> None:
    """Stale after a model change: regenerate with
    `asl schema --build --output engine/definition/asl.schema.json`."""
    assert shipped_schema_text() == schema_text(build_schema())


def test_the_schema_is_a_draft_07_schema_with_its_id() -> None:
    Draft7Validator.check_schema(SHIPPED)
    assert (SHIPPED["$schema"], SHIPPED["$id"]) == (DRAFT, SCHEMA_ID)
    assert SHIPPED["required"] == ["StartAt", "States"]


def test_fields_carry_titles_descriptions_and_enums_for_editors() -> None:
    definitions = SHIPPED["definitions"]
    retry = definitions["Retrier"]["properties"]
    assert retry["JitterStrategy"]["enum"] == ["FULL", "NONE"]
    assert retry["BackoffRate"]["description"] == (
        "The factor the interval grows by at each retry (default 2.0)."
    )
    assert SHIPPED["properties"]["QueryLanguage"]["enum"] == ["JSONPath", "JSONata"]
    task_type = definitions["TaskState"]["properties"]["Type"]
    assert task_type["const"] == "Task"
    assert task_type["description"].startswith("Task: one unit of work")
    mode = definitions["ProcessorConfig"]["properties"]["Mode"]
    assert mode["enum"] == ["INLINE", "DISTRIBUTED"]
    # every field of every object is titled and described
    undocumented = [
        f"{name}.{field}"
        for name, model in definitions.items()
        for field, spec in model.get("properties", {}).items()
        if spec.get("title") != field or not spec.get("description")
    ]
    assert undocumented == []
    assert '"discriminator"' not in shipped_schema_text()  # OpenAPI's, not JSON Schema's


VALIDATE_CASES = [case for case in _corpus("validate") if _accepted(case[1], case[2])]
EXEC_CASES = [case for case in _corpus("exec") if _accepted(case[1], case[2])]
EXAMPLES = _examples()


def test_the_corpora_are_there() -> None:
    """The parametrized tests below would pass vacuously on an empty corpus."""
    assert (len(VALIDATE_CASES) > 250, len(EXEC_CASES) > 400, len(EXAMPLES) >= 20) == (
        True,
        True,
        True,
    )


@pytest.mark.parametrize(
    ("definition", "machine_type"),
    [case[1:] for case in VALIDATE_CASES],
    ids=[case[0] for case in VALIDATE_CASES],
)
def test_every_definition_asl_validate_accepts_satisfies_the_schema(
    definition: JSON, machine_type: str
) -> None:
    assert _problems(definition) == []


@pytest.mark.parametrize(
    ("definition", "machine_type"),
    [case[1:] for case in EXEC_CASES],
    ids=[case[0] for case in EXEC_CASES],
)
def test_every_definition_of_the_execution_corpus_satisfies_the_schema(
    definition: JSON, machine_type: str
) -> None:
    assert _problems(definition) == []


@pytest.mark.parametrize("definition", [case[1] for case in EXAMPLES], ids=[c[0] for c in EXAMPLES])
def test_every_example_satisfies_the_schema(definition: JSON) -> None:
    assert _accepted(definition, "STANDARD")
    assert _problems(definition) == []


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(generated=machines(allow_express=True, allow_timeouts=True))
def test_generated_machines_satisfy_the_schema(generated: GeneratedMachine) -> None:
    assert _accepted(generated.definition, generated.machine_type)
    assert _problems(generated.definition) == []


YAML_MACHINE = """\
Comment: an *.asl.yaml file, as the YAML extensions of editors read it
StartAt: Greet
States:
  Greet:
    Type: Task
    Resource: arn:aws:lambda:us-east-1:111111111111:function:greet
    Retry:
      - ErrorEquals: [States.ALL]
        JitterStrategy: FULL
    End: true
"""


def test_a_yaml_definition_is_checked_like_its_json() -> None:
    definition = parse_text(YAML_MACHINE)
    assert _accepted(definition, "STANDARD")
    assert _problems(definition) == []
    misspelt = parse_text(YAML_MACHINE.replace("JitterStrategy: FULL", "JitterStrategy: HALF"))
    assert {problem.split(":")[0] for problem in _problems(misspelt)} == {"/States/Greet"}


def _machine(state: dict[str, JSON]) -> dict[str, JSON]:
    return {"StartAt": "A", "States": {"A": state}}


MISSES = [
    pytest.param(_machine({"End": True}), "/States/A", id="a state without Type"),
    pytest.param(_machine({"Type": "Sleep", "End": True}), "/States/A", id="an unknown Type"),
    pytest.param(
        _machine({"Type": "Pass", "End": True, "ResultPth": "$.x"}), "/States/A", id="misspelt"
    ),
    pytest.param(
        _machine({"Type": "Task", "End": True}), "/States/A", id="a Task without Resource"
    ),
    pytest.param(
        _machine(
            {
                "Type": "Parallel",
                "End": True,
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Nope"}}}],
            }
        ),
        "/States/A",
        id="an unknown Type in a branch",
    ),
    pytest.param(
        _machine(
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "End": True,
                "Retry": [{"ErrorEquals": ["States.ALL"], "JitterStrategy": "SOME"}],
            }
        ),
        "/States/A",
        id="a value outside an enum",
    ),
    pytest.param({"States": {"A": {"Type": "Succeed"}}}, "", id="no StartAt"),
    pytest.param({"StartAt": "A", "States": {}, "Strat": 1}, "", id="an unknown top-level field"),
]


@pytest.mark.parametrize(("definition", "where"), MISSES)
def test_clear_misses_are_refused_where_they_are(definition: JSON, where: str) -> None:
    assert not _accepted(definition, "STANDARD")
    problems = _problems(definition)
    assert problems != []
    assert {problem.split(":")[0] for problem in problems} == {where or "/"}


def test_asl_schema_prints_the_shipped_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == shipped_schema_text()


def test_asl_schema_writes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "asl.schema.json"
    assert main(["schema", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == shipped_schema_text()
    assert main(["schema", "--build", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == shipped_schema_text()
    assert capsys.readouterr() == ("", "")


def test_asl_schema_to_an_unwritable_place_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--output", str(tmp_path / "missing" / "s.json")]) == 2
    assert capsys.readouterr().err == f"asl: {tmp_path / 'missing' / 's.json'}: no such directory\n"
    assert main(["schema", "--output", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"asl: {tmp_path}: is a directory, expected a file\n"
