"""Test files for `asl test`: the format (a JSON Schema), reading a file and checking it.

Owns: `TEST_FILE_SCHEMA`, the documented format (docs/cli.md, "asl test"); `load_test_file`,
which reads a YAML or JSON test file, validates it with jsonschema and then against the
machine it tests, and returns a `TestFile` ready to run, or raises `TestFileInvalid` listing
every problem, each located by file, case and field:

    tests/order.test.yaml: cases[1] "declined card": expect.stats: Additional properties ...

Paths in a test file (machine, functions, config, mockConfig, a case's inputFile) are relative
to the test file. Must never: run an execution (runner.py does), or accept a field it does not
honour (the schema allows no unknown field, and a state a case names must exist).

    machine: ../order_processing.asl.json     # required
    name: order_processing                    # the machine's name (default: from its file)
    type: STANDARD                            # or EXPRESS
    functions: ../functions.py                # Python handlers (a path, or a list)
    config: ../asl.toml                       # functions and resources (docs/backends.md)
    mockConfig: ../order.mock.json            # Step Functions Local mock config
    cases:
      - name: happy path                      # required, unique in the file
        input: {orderId: 7}                   # or inputFile: order.input.json
        testCase: HappyPath                   # a test case of the mock config
        mocks:                                # inline mocked responses, the mock config's
          Charge card:                        # MockedResponses format, by state name
            "0": {Return: {chargeId: ch_1}}
        expect:
          status: SUCCEEDED                   # default SUCCEEDED (FAILED if error/cause given)
          output: {...}                       # exact
          outputContains: {...}               # a subset (matching.py)
          error: OrderFailed
          cause: "..."                        # exact; causeContains: a substring
          path: [A, B, C]                     # the states entered, exactly
          pathContains: [A, C]                # in this order, others in between
          states:
            Charge card: {calls: 2, input: ..., inputContains: ..., output: ...,
                          outputContains: ..., visit: 0}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from engine.asltest.matching import MISSING
from engine.definition.parse import DefinitionSyntaxError, parse_text
from engine.errors import EngineError
from engine.values import JSON

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.backends.mocks import MockConfig
    from engine.config import AslConfig
    from engine.definition.compile import Machine

__all__ = [
    "TEST_FILE_SCHEMA",
    "Case",
    "Expectation",
    "StateExpectation",
    "TestFile",
    "TestFileInvalid",
    "load_test_file",
]

STATUSES: Final = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")

_ANY: Final[dict[str, JSON]] = {"description": "any JSON value"}

_MOCKED_RESPONSE: Final[dict[str, JSON]] = {
    "description": "A mocked response in the mock config's MockedResponses format: keys are "
    'invocation numbers ("0") or ranges ("1-2"), counted from 0, each holding exactly one of '
    "Return (any JSON value) or Throw ({Error, Cause}).",
    "type": "object",
    "minProperties": 1,
    "additionalProperties": {"type": "object"},
}

_STATE_EXPECTATION: Final[dict[str, JSON]] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "visit": {
            "description": "which entry into the state input/output refer to, from 0 "
            "(default 0: the first)",
            "type": "integer",
            "minimum": 0,
        },
        "input": {**_ANY, "description": "the state's input, exactly"},
        "inputContains": {**_ANY, "description": "a subset of the state's input"},
        "output": {**_ANY, "description": "the state's output, exactly"},
        "outputContains": {**_ANY, "description": "a subset of the state's output"},
        "calls": {
            "description": "how many times the Task was invoked in all (retries included)",
            "type": "integer",
            "minimum": 0,
        },
    },
}

_EXPECTATION: Final[dict[str, JSON]] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "status": {"enum": list(STATUSES)},
        "output": {**_ANY, "description": "the execution's output, exactly"},
        "outputContains": {**_ANY, "description": "a subset of the execution's output"},
        "error": {"type": "string"},
        "cause": {"type": "string"},
        "causeContains": {"type": "string"},
        "path": {
            "description": "the states entered, in order, exactly",
            "type": "array",
            "items": {"type": "string"},
        },
        "pathContains": {
            "description": "states entered in this order, others allowed in between",
            "type": "array",
            "items": {"type": "string"},
        },
        "states": {
            "description": "expectations on single states, by state name",
            "type": "object",
            "additionalProperties": _STATE_EXPECTATION,
        },
    },
}

_CASE: Final[dict[str, JSON]] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "input": {**_ANY, "description": "the execution input (default {})"},
        "inputFile": {"type": "string", "description": "a JSON file holding the input"},
        "testCase": {"type": "string", "description": "a test case of the mock config"},
        "mocks": {
            "description": "mocked responses by state name (they win over testCase's)",
            "type": "object",
            "additionalProperties": _MOCKED_RESPONSE,
        },
        "expect": _EXPECTATION,
    },
    "not": {"required": ["input", "inputFile"]},
}

TEST_FILE_SCHEMA: Final[dict[str, JSON]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "asl test file",
    "description": "Test cases for one state machine, run by `asl test` (docs/cli.md).",
    "type": "object",
    "additionalProperties": False,
    "required": ["machine", "cases"],
    "properties": {
        "machine": {"type": "string", "description": "the definition, relative to this file"},
        "name": {"type": "string", "minLength": 1, "maxLength": 80},
        "type": {"enum": ["STANDARD", "EXPRESS"]},
        "functions": {
            "description": "Python files of Lambda handlers (relative to this file)",
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        },
        "config": {"type": "string", "description": "an asl.toml (relative to this file)"},
        "mockConfig": {"type": "string", "description": "a mock config (relative to this file)"},
        "cases": {"type": "array", "minItems": 1, "items": _CASE},
    },
}
"""The format of a test file (JSON Schema 2020-12). `asl test --schema` prints it."""


@dataclass(frozen=True, slots=True)
class StateExpectation:
    """What a case expects of one state. `MISSING` marks what it does not check."""

    state: str
    visit: int = 0
    input: object = MISSING
    input_contains: object = MISSING
    output: object = MISSING
    output_contains: object = MISSING
    calls: int | None = None


@dataclass(frozen=True, slots=True)
class Expectation:
    status: str
    output: object = MISSING
    output_contains: object = MISSING
    error: str | None = None
    cause: str | None = None
    cause_contains: str | None = None
    path: tuple[str, ...] | None = None
    path_contains: tuple[str, ...] | None = None
    states: tuple[StateExpectation, ...] = ()


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    index: int
    input: JSON
    expect: Expectation
    test_case: str | None = None
    """The test case the execution runs with (a mock config's, or the one built for the
    case's inline mocks)."""


@dataclass(frozen=True, slots=True)
class TestFile:
    """A checked test file, ready to run."""

    path: str
    machine_path: str
    machine_name: str
    machine_type: str
    machine: Machine
    cases: tuple[Case, ...]
    functions: Mapping[str, Callable[..., object]] = field(default_factory=dict)
    config: AslConfig | None = None
    mock_config: MockConfig | None = None

    __test__ = False  # not a pytest test class, whatever its name


class TestFileInvalid(EngineError):
    """A test file that cannot be run; `problems` lists every located problem."""

    code = "InvalidTestFile"
    __test__ = False

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def field_path(parts: Iterable[str | int], cases: Sequence[JSON] = ()) -> str:
    """`["cases", 1, "expect", "status"]` -> `cases[1] "declined card": expect.status`."""
    out = ""
    parts = list(parts)
    case_label = ""
    if len(parts) >= 2 and parts[0] == "cases" and isinstance(parts[1], int):
        index = parts[1]
        case = cases[index] if index < len(cases) else None
        name = case.get("name") if isinstance(case, dict) else None
        case_label = f"cases[{index}]" + (f" {json.dumps(name)}" if isinstance(name, str) else "")
        parts = parts[2:]
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    if case_label:
        return f"{case_label}: {out}" if out else case_label
    return out or "(the file)"


def load_test_file(path: str) -> TestFile:
    """Read and check a test file; raises `TestFileInvalid` with every problem."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise TestFileInvalid([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else exc.strerror
        raise TestFileInvalid([f"{path}: cannot be read: {reason}"]) from None
    try:
        document = parse_text(text)
    except DefinitionSyntaxError as exc:
        raise TestFileInvalid([f"{path}: not YAML or JSON: {exc.message}"]) from None
    refused = _refused_values(path, document)
    if refused:
        raise TestFileInvalid(refused)
    return _Checker(path, document).check()


def _refused_values(path: str, document: JSON) -> list[str]:
    """Values the engine refuses from outside (values.py: lone surrogates, numbers of over
    1,000 digits, nesting past 512 levels), located by case."""
    from engine.values import JsonRefused, check_value

    parts: list[tuple[str, JSON]] = [("(the file)", document)]
    if isinstance(document, dict) and isinstance(document.get("cases"), list):
        cases = document["cases"]
        assert isinstance(cases, list)
        parts = [("(the file)", {k: v for k, v in document.items() if k != "cases"})]
        parts += [(field_path(["cases", i], cases), case) for i, case in enumerate(cases)]
    problems = []
    for where, value in parts:
        try:
            check_value(value)
        except JsonRefused as exc:
            problems.append(f"{path}: {where}: {exc}")
    return problems


def _schema_problems(document: JSON) -> list[tuple[list[str | int], str]]:
    import jsonschema  # type: ignore[import-untyped]  # no stubs; used here only

    validator = jsonschema.Draft202012Validator(TEST_FILE_SCHEMA)
    found = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        message = error.message
        if error.validator == "not":  # the schema's one `not`: a case's input twice
            message = "give either input or inputFile, not both"
        found.append((list(error.absolute_path), message))
    return found


class _Checker:
    """Checks one parsed test file, collecting every problem before giving up."""

    def __init__(self, path: str, document: JSON) -> None:
        self.path = path
        self.folder = os.path.dirname(path) or "."
        self.document = document
        self.problems: list[str] = []
        raw_cases = document.get("cases") if isinstance(document, dict) else None
        self.raw_cases: list[JSON] = raw_cases if isinstance(raw_cases, list) else []

    def problem(self, where: Iterable[str | int], message: str) -> None:
        self.problems.append(f"{self.path}: {field_path(where, self.raw_cases)}: {message}")

    def relative(self, value: str) -> str:
        return os.path.normpath(os.path.join(self.folder, value))

    def check(self) -> TestFile:
        for where, message in _schema_problems(self.document):
            self.problem(where, message)
        if self.problems:
            raise TestFileInvalid(self.problems)
        document = self.document
        assert isinstance(document, dict)
        machine_path = self.relative(str(document["machine"]))
        machine_type = str(document.get("type", "STANDARD"))
        machine = self._machine(machine_path, machine_type)
        name = str(document.get("name") or _machine_name(machine_path))
        self._check_name(name)
        functions = self._functions(document.get("functions"))
        config = self._config(document.get("config"))
        mock_config = self._mock_config(document.get("mockConfig"), config)
        cases = []
        inline: dict[str, dict[str, JSON]] = {}
        names: set[str] = set()
        for index, raw in enumerate(self.raw_cases):
            assert isinstance(raw, dict)
            case_name = str(raw["name"])
            if case_name in names:
                self.problem(["cases", index, "name"], f"another case is named {case_name!r}")
            names.add(case_name)
            test_case = self._test_case(index, raw, name, mock_config)
            mocks = raw.get("mocks")
            if isinstance(mocks, dict) and mocks:
                test_case = self._inline(index, raw, mocks, machine, test_case, inline)
            cases.append(
                Case(
                    name=case_name,
                    index=index,
                    input=self._input(index, raw),
                    expect=self._expectation(index, raw.get("expect"), machine),
                    test_case=test_case,
                )
            )
        if self.problems or machine is None:
            raise TestFileInvalid(self.problems)
        return TestFile(
            path=self.path,
            machine_path=machine_path,
            machine_name=name,
            machine_type=machine_type,
            machine=machine,
            cases=tuple(cases),
            functions=functions,
            config=config,
            mock_config=_merged_mocks(
                mock_config, name, inline, self._base_cases(mock_config, name)
            ),
        )

    # -- what the file refers to ----------------------------------------------------------------

    def _check_name(self, name: str) -> None:
        """AWS's rule for state machine names (the name is part of every ARN, and mock
        configs find a machine's test cases by it)."""
        from engine.errors import InvalidRequest
        from engine.names import check_name

        try:
            check_name(name, "state machine name")
        except InvalidRequest as exc:
            where = "name" if "name" in self.document else "machine"  # type: ignore[operator]
            self.problem([where], f"{name!r}: {exc.message}")

    def _machine(self, path: str, machine_type: str) -> Machine | None:
        from engine.embedded import load_machine
        from engine.errors import DefinitionInvalid

        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = "no such file" if isinstance(exc, FileNotFoundError) else str(exc)
            self.problem(["machine"], f"{path}: cannot be read: {reason}")
            return None
        try:
            return load_machine(text, machine_type=machine_type)
        except DefinitionInvalid as exc:
            for diagnostic in exc.diagnostics:
                self.problem(
                    ["machine"],
                    f"{path}: {diagnostic.location or '/'}: {diagnostic.code}: "
                    f"{diagnostic.message}",
                )
            return None

    def _functions(self, value: JSON) -> dict[str, Callable[..., object]]:
        from engine.backends.python import load_functions

        sources = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        functions: dict[str, Callable[..., object]] = {}
        for index, source in enumerate(sources):
            where: list[str | int] = (
                ["functions"] if isinstance(value, str) else ["functions", index]
            )
            path = self.relative(str(source))
            if not os.path.exists(path):
                self.problem(where, f"{path}: no such file")
                continue
            try:
                functions.update(load_functions(path))
            except EngineError as exc:
                self.problem(where, exc.message)
        return functions

    def _config(self, value: JSON) -> AslConfig | None:
        if not isinstance(value, str):
            return None
        from pathlib import Path

        from engine.config import load_config

        path = Path(self.relative(value))
        if not path.is_file():
            self.problem(["config"], f"{path}: no such file")
            return None
        try:
            return load_config(path)
        except EngineError as exc:
            self.problem(["config"], exc.message)
            return None

    def _mock_config(self, value: JSON, config: AslConfig | None) -> MockConfig | None:
        from engine.backends.mocks import load_mock_config

        if isinstance(value, str):
            path, where = self.relative(value), ["mockConfig"]
        elif config is not None and config.mock_config is not None:
            path, where = str(config.folder / config.mock_config), ["config"]
        else:
            return None
        try:
            return load_mock_config(path)
        except EngineError as exc:
            self.problem(where, exc.message)
            return None

    # -- cases ----------------------------------------------------------------------------------

    def _base_cases(
        self, mock_config: MockConfig | None, name: str
    ) -> Mapping[str, Mapping[str, str]]:
        return {} if mock_config is None else mock_config.test_cases.get(name, {})

    def _test_case(
        self, index: int, raw: Mapping[str, JSON], machine: str, config: MockConfig | None
    ) -> str | None:
        test_case = raw.get("testCase")
        if not isinstance(test_case, str):
            return None
        where: list[str | int] = ["cases", index, "testCase"]
        if config is None:
            self.problem(where, "a test case needs a mock config: add mockConfig: FILE")
        elif test_case not in config.test_case_names(machine):
            known = ", ".join(config.test_case_names(machine)) or "none"
            self.problem(
                where,
                f"no test case {test_case!r} for state machine {machine!r} in "
                f"{config.origin} (its test cases: {known})",
            )
        return test_case

    def _inline(
        self,
        index: int,
        raw: Mapping[str, JSON],
        mocks: Mapping[str, JSON],
        machine: Machine | None,
        base: str | None,
        inline: dict[str, dict[str, JSON]],
    ) -> str:
        """Check a case's inline mocks; returns the test case name that will run them."""
        from engine.backends.mocks import check_mock_config

        states = _states(machine)
        for state, response in mocks.items():
            where: list[str | int] = ["cases", index, "mocks", state]
            if machine is not None and state not in states:
                self.problem(where, f"no state named {state!r} in the machine")
            elif machine is not None and states[state] != "Task":
                self.problem(where, f"{state!r} is a {states[state]} state; only Tasks are mocked")
            document: JSON = {"StateMachines": {}, "MockedResponses": {"R": response}}
            for problem in check_mock_config(document):
                location = problem.location.removeprefix("/MockedResponses/R")
                extra: list[str | int] = [
                    p.replace("~1", "/").replace("~0", "~") for p in location.split("/")[1:]
                ]
                self.problem(where + extra, problem.message)
        name = f"{base or ''}(inline mocks of case {index})"
        inline[name] = {"base": base, "mocks": dict(mocks)}
        return name

    def _input(self, index: int, raw: Mapping[str, JSON]) -> JSON:
        if "input" in raw:
            return raw["input"]
        source = raw.get("inputFile")
        if not isinstance(source, str):
            return {}
        path = self.relative(source)
        where: list[str | int] = ["cases", index, "inputFile"]
        try:
            with open(path, encoding="utf-8") as handle:
                value: JSON = json.load(handle)
        except (OSError, UnicodeDecodeError) as exc:
            reason = "no such file" if isinstance(exc, FileNotFoundError) else str(exc)
            self.problem(where, f"{path}: cannot be read: {reason}")
            return None
        except json.JSONDecodeError as exc:
            self.problem(
                where, f"{path}: not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            )
            return None
        return value

    def _expectation(self, index: int, raw: JSON, machine: Machine | None) -> Expectation:
        raw = raw if isinstance(raw, dict) else {}
        states = _states(machine)
        at: list[str | int] = ["cases", index, "expect"]

        def known(name: str, where: list[str | int]) -> None:
            if machine is not None and name not in states:
                self.problem(where, f"no state named {name!r} in the machine")

        for key in ("path", "pathContains"):
            for position, name in enumerate(raw.get(key) or []):  # type: ignore[arg-type]
                known(str(name), [*at, key, position])
        expectations = []
        for name, fields in (raw.get("states") or {}).items():  # type: ignore[union-attr]
            assert isinstance(fields, dict)
            where = [*at, "states", name]
            known(name, where)
            if "calls" in fields and machine is not None and states.get(name, "Task") != "Task":
                self.problem([*where, "calls"], f"{name!r} is a {states[name]} state, not a Task")
            expectations.append(
                StateExpectation(
                    state=name,
                    visit=int(fields.get("visit", 0)),  # type: ignore[arg-type]
                    input=fields.get("input", MISSING),
                    input_contains=fields.get("inputContains", MISSING),
                    output=fields.get("output", MISSING),
                    output_contains=fields.get("outputContains", MISSING),
                    calls=fields.get("calls"),  # type: ignore[arg-type]
                )
            )
        failing = any(key in raw for key in ("error", "cause", "causeContains"))
        path = raw.get("path")
        contains = raw.get("pathContains")
        return Expectation(
            status=str(raw.get("status", "FAILED" if failing else "SUCCEEDED")),
            output=raw.get("output", MISSING),
            output_contains=raw.get("outputContains", MISSING),
            error=_opt_str(raw.get("error")),
            cause=_opt_str(raw.get("cause")),
            cause_contains=_opt_str(raw.get("causeContains")),
            path=tuple(str(p) for p in path) if isinstance(path, list) else None,
            path_contains=tuple(str(p) for p in contains) if isinstance(contains, list) else None,
            states=tuple(expectations),
        )


def _opt_str(value: JSON) -> str | None:
    return value if isinstance(value, str) else None


def _machine_name(path: str) -> str:
    """`order.asl.json` -> `order`, as `asl run` names a machine after its file."""
    return os.path.basename(path).split(".", 1)[0] or "machine"


def _states(machine: Machine | None) -> dict[str, str]:
    """Each state's Type, by name, nested states included."""
    if machine is None:
        return {}
    return {
        name: state.type
        for graph in machine.graphs.values()
        for name, state in graph.states.items()
    }


def _merged_mocks(
    config: MockConfig | None,
    machine: str,
    inline: Mapping[str, Mapping[str, JSON]],
    base_cases: Mapping[str, Mapping[str, str]],
) -> MockConfig | None:
    """The file's mock config plus one test case per case with inline mocks: the case's
    `testCase` (if any) with the states it mocks inline replaced."""
    if not inline:
        return config
    from engine.backends.mocks import MockConfig, parse_mock_config

    test_cases = {m: dict(c) for m, c in (config.test_cases.items() if config else ())}
    responses = dict(config.responses) if config is not None else {}
    cases = test_cases.setdefault(machine, {})
    for name, entry in inline.items():
        base = entry["base"]
        mapping = dict(base_cases.get(base, {})) if isinstance(base, str) else {}
        mocks = entry["mocks"]
        assert isinstance(mocks, dict)
        for state, response in mocks.items():
            response_name = f"{name} {state}"
            parsed = parse_mock_config({"StateMachines": {}, "MockedResponses": {"R": response}})
            responses[response_name] = parsed.responses["R"]
            mapping[state] = response_name
        cases[name] = mapping
    origin = config.origin if config is not None else "the test file's inline mocks"
    return MockConfig(test_cases=test_cases, responses=responses, origin=origin)
