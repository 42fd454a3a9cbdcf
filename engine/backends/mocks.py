"""Step Functions Local mock configs: reading and validating a `MockConfigFile.json`.

Owns: the format of AWS's "Configuration file for mocked service integrations"
(sfn-local-mock-cfg-file), checked completely: every problem a file has, each located by a
JSON pointer and saying how to fix it; and `MockConfig`, the validated config (which mocked
response each Task state of a test case uses, and the response of each invocation number).
Must never: run a task or count invocations (`mocked.py` does, per execution), or read any file
but the one it is given.

API (`asl config check` and the CLI flags use these):

    check_mock_config(source) -> list[MockProblem]     every problem; [] when the config is valid
    parse_mock_config(source, origin=...) -> MockConfig raises InvalidRequest(InvalidMockConfig)
    load_mock_config(path) -> MockConfig                reads the file, then parse_mock_config
    parse_response_key("1-2") -> (1, 2)                 None for a key that is not a range

`source` is JSON text (`str`) or an already parsed JSON value. A `MockProblem` prints as
`/MockedResponses/MockedLambdaRetry/1-2/Throw/Error: ...`.

The format, and the rules enforced here (sources in docs/mock-configs.md):

    {"StateMachines": {MACHINE: {"TestCases": {TEST_CASE: {STATE: RESPONSE_NAME}}}},
     "MockedResponses": {RESPONSE_NAME: {"0": {"Return": VALUE},
                                         "1-2": {"Throw": {"Error": E, "Cause": C}}}}}

- both top-level fields are required and nothing else is allowed at the top;
- a test case names only mocked responses that exist;
- a response key is an invocation number ("3") or an inclusive range ("1-2"), numbers counted
  from 0; the keys of one response cover 0, 1, 2, ... consecutively: no gap, no overlap (AWS:
  "you must denote mocks for retries with consecutive attempt numbers");
- each entry holds exactly one of `Return` (any JSON value) and `Throw` (an object with the
  strings `Error` and `Cause`, as the AWS page requires).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from engine.errors import InvalidRequest
from engine.interpreter.tasks import TaskFailure, TaskResult, TaskSuccess
from engine.values import JSON

INVALID_MOCK_CONFIG: Final = "InvalidMockConfig"
"""`InvalidRequest.code` of a mock config that cannot be used."""

STATE_MACHINES: Final = "StateMachines"
MOCKED_RESPONSES: Final = "MockedResponses"
TEST_CASES: Final = "TestCases"
RETURN: Final = "Return"
THROW: Final = "Throw"

_KEY = re.compile(r"(0|[1-9][0-9]*)(?:-(0|[1-9][0-9]*))?")
_MAX_LISTED = 10  # names listed in a "did you mean" hint


@dataclass(frozen=True, slots=True)
class MockProblem:
    """One mistake in a mock config: where (a JSON pointer, "" for the whole file) and what."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location or '/'}: {self.message}"


@dataclass(frozen=True, slots=True)
class MockedInvocations:
    """The response of invocations `first` to `last` (inclusive) of a mocked state."""

    first: int
    last: int
    result: TaskResult


@dataclass(frozen=True, slots=True)
class MockConfig:
    """A validated mock config. `origin` names it in messages (the file name)."""

    test_cases: Mapping[str, Mapping[str, Mapping[str, str]]]  # machine -> case -> state -> name
    responses: Mapping[str, tuple[MockedInvocations, ...]]  # name -> ranges, in order
    origin: str = "mock config"

    def test_case_names(self, machine: str) -> list[str]:
        """The test cases defined for a state machine (by name), in file order."""
        return list(self.test_cases.get(machine, {}))

    def response_name(self, machine: str, test_case: str, state: str) -> str | None:
        """The mocked response a test case gives a state; None when it does not mock it."""
        return self.test_cases.get(machine, {}).get(test_case, {}).get(state)

    def response(self, name: str, invocation: int) -> TaskResult | None:
        """The result of invocation number `invocation` (0-based); None past the last key."""
        for entry in self.responses[name]:
            if entry.first <= invocation <= entry.last:
                return entry.result
        return None

    def last_invocation(self, name: str) -> int:
        return self.responses[name][-1].last


def parse_response_key(key: str) -> tuple[int, int] | None:
    """`"3"` -> (3, 3), `"1-2"` -> (1, 2); None unless decimal numbers with first <= last."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    return (first, last) if first <= last else None


def check_mock_config(source: str | JSON) -> list[MockProblem]:
    """Every problem of a mock config (text or parsed JSON); an empty list when it is valid."""
    value, problem = _parse(source)
    if problem is not None:
        return [problem]
    return list(_iter_problems(value))


def parse_mock_config(source: str | JSON, *, origin: str = "mock config") -> MockConfig:
    """A validated `MockConfig`; raises `InvalidRequest` (`InvalidMockConfig`) listing every
    problem, each with its location, when the config cannot be used."""
    value, problem = _parse(source)
    problems = [problem] if problem is not None else list(_iter_problems(value))
    if problems:
        raise InvalidRequest(INVALID_MOCK_CONFIG, invalid_message(origin, problems))
    assert isinstance(value, dict)
    return _build(value, origin)


def load_mock_config(path: str) -> MockConfig:
    """Read and validate a mock config file; `InvalidRequest` (`InvalidMockConfig`) names the
    file and every problem, or says why the file cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise InvalidRequest(INVALID_MOCK_CONFIG, f"{path}: no such mock config file") from None
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            INVALID_MOCK_CONFIG, f"{path}: the mock config is not UTF-8 text (byte {exc.start})"
        ) from None
    except OSError as exc:
        raise InvalidRequest(
            INVALID_MOCK_CONFIG, f"{path}: the mock config cannot be read: {exc.strerror}"
        ) from None
    return parse_mock_config(text, origin=path)


def invalid_message(origin: str, problems: list[MockProblem]) -> str:
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    lines = "".join(f"\n  {problem}" for problem in problems)
    return f"{origin}: the mock config is invalid ({count}):{lines}"


# -- checking -------------------------------------------------------------------------------------


def _parse(source: str | JSON) -> tuple[JSON, MockProblem | None]:
    if not isinstance(source, str):
        return source, None
    try:
        value: JSON = json.loads(source)
    except json.JSONDecodeError as exc:
        return None, MockProblem(
            "", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        )
    return value, None


def _pointer(*tokens: str) -> str:
    return "".join("/" + token.replace("~", "~0").replace("/", "~1") for token in tokens)


def _type_name(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED])
    return shown + (", ..." if len(names) > _MAX_LISTED else "") if names else "none"


def _iter_problems(config: JSON) -> Iterator[MockProblem]:
    if not isinstance(config, dict):
        yield MockProblem(
            "",
            f"a mock config is a JSON object with {STATE_MACHINES} and {MOCKED_RESPONSES}, "
            f"not {_type_name(config)}",
        )
        return
    for key in config:
        if key not in (STATE_MACHINES, MOCKED_RESPONSES):
            yield MockProblem(
                _pointer(key),
                f"unknown field; a mock config has only {STATE_MACHINES} and {MOCKED_RESPONSES}",
            )
    for key, what in ((STATE_MACHINES, "state machines"), (MOCKED_RESPONSES, "mocked responses")):
        if key not in config:
            yield MockProblem("", f"missing '{key}': add an object of {what}")
        elif not isinstance(config[key], dict):
            yield MockProblem(
                _pointer(key), f"must be an object of {what}, not {_type_name(config[key])}"
            )
    responses = config.get(MOCKED_RESPONSES)
    known = list(responses) if isinstance(responses, dict) else None
    machines = config.get(STATE_MACHINES)
    if isinstance(machines, dict):
        for machine, body in machines.items():
            yield from _machine_problems(machine, body, known)
    if isinstance(responses, dict):
        for name, body in responses.items():
            yield from _response_problems(name, body)


def _machine_problems(machine: str, body: JSON, known: list[str] | None) -> Iterator[MockProblem]:
    where = _pointer(STATE_MACHINES, machine)
    if not isinstance(body, dict):
        yield MockProblem(where, f"must be an object with {TEST_CASES}, not {_type_name(body)}")
        return
    for key in body:
        if key != TEST_CASES:
            yield MockProblem(
                _pointer(STATE_MACHINES, machine, key),
                f"unknown field; a state machine entry has only {TEST_CASES}",
            )
    cases = body.get(TEST_CASES)
    if cases is None:
        yield MockProblem(where, f"missing '{TEST_CASES}': add an object of test cases")
        return
    if not isinstance(cases, dict):
        yield MockProblem(
            _pointer(STATE_MACHINES, machine, TEST_CASES),
            f"must be an object of test cases, not {_type_name(cases)}",
        )
        return
    for case, states in cases.items():
        case_at = _pointer(STATE_MACHINES, machine, TEST_CASES, case)
        if not isinstance(states, dict):
            yield MockProblem(
                case_at,
                "must be an object mapping Task state names to mocked response names, "
                f"not {_type_name(states)}",
            )
            continue
        for state, name in states.items():
            state_at = _pointer(STATE_MACHINES, machine, TEST_CASES, case, state)
            if not isinstance(name, str):
                yield MockProblem(
                    state_at,
                    f"must be the name of a mocked response (a string), not {_type_name(name)}",
                )
            elif known is not None and name not in known:
                yield MockProblem(
                    state_at,
                    f"mocked response '{name}' is not defined in {MOCKED_RESPONSES}; define it "
                    f"or use one that is ({_names(known)})",
                )


def _response_problems(name: str, body: JSON) -> Iterator[MockProblem]:
    where = _pointer(MOCKED_RESPONSES, name)
    if not isinstance(body, dict) or not body:
        yield MockProblem(
            where,
            "must be an object of responses keyed by invocation number, e.g. "
            '{"0": {"Return": ...}}'
            + ("" if isinstance(body, dict) else f", not {_type_name(body)}"),
        )
        return
    ranges: list[tuple[int, int, str]] = []
    for key, entry in body.items():
        at = _pointer(MOCKED_RESPONSES, name, key)
        parsed = parse_response_key(key)
        if parsed is None:
            yield MockProblem(
                at,
                f"'{key}' is not an invocation number or range: write a number counted from 0 "
                "('0', '3') or an inclusive range with the smaller number first ('1-2')",
            )
        else:
            ranges.append((*parsed, key))
        yield from _entry_problems(at, entry)
    yield from _coverage_problems(name, ranges)


def _entry_problems(at: str, entry: JSON) -> Iterator[MockProblem]:
    if not isinstance(entry, dict):
        yield MockProblem(
            at, f"must be an object with either {RETURN} or {THROW}, not {_type_name(entry)}"
        )
        return
    for key in entry:
        if key not in (RETURN, THROW):
            yield MockProblem(
                f"{at}{_pointer(key)}",
                f"unknown field; a response has exactly one of {RETURN} and {THROW}",
            )
    if RETURN in entry and THROW in entry:
        yield MockProblem(
            at, f"has both {RETURN} and {THROW}; keep one (a result, or an error to throw)"
        )
    elif RETURN not in entry and THROW not in entry:
        yield MockProblem(
            at, f"needs {RETURN} (the task's result) or {THROW} (an object with Error and Cause)"
        )
    if THROW in entry:
        yield from _throw_problems(f"{at}{_pointer(THROW)}", entry[THROW])


def _throw_problems(at: str, throw: JSON) -> Iterator[MockProblem]:
    if not isinstance(throw, dict):
        yield MockProblem(
            at, f"must be an object with the strings Error and Cause, not {_type_name(throw)}"
        )
        return
    for key in throw:
        if key not in ("Error", "Cause"):
            yield MockProblem(
                f"{at}{_pointer(key)}", "unknown field; Throw has only Error and Cause"
            )
    for key, what in (("Error", "the error name Retry and Catch match"), ("Cause", "its cause")):
        value = throw.get(key)
        if key not in throw:
            yield MockProblem(at, f"missing '{key}': add a string, {what}")
        elif not isinstance(value, str):
            yield MockProblem(
                f"{at}{_pointer(key)}", f"must be a string, {what}, not {_type_name(value)}"
            )
        elif key == "Error" and not value:
            yield MockProblem(f"{at}{_pointer(key)}", f"must not be empty: write {what}")


def _coverage_problems(name: str, ranges: list[tuple[int, int, str]]) -> Iterator[MockProblem]:
    """The keys must cover invocations 0, 1, 2, ... consecutively: no gap and no overlap."""
    expected = 0
    for first, last, key in sorted(ranges):
        at = _pointer(MOCKED_RESPONSES, name, key)
        if first > expected:
            single = first - 1 == expected
            missing = str(expected) if single else f"{expected}-{first - 1}"
            what = f"invocation {missing} has" if single else f"invocations {missing} have"
            yield MockProblem(
                at,
                f"{what} no response: number the responses consecutively from 0 (add "
                f"'{missing}' or renumber '{key}')",
            )
        elif first < expected:
            yield MockProblem(
                at,
                f"overlaps an earlier key: invocation {first} already has a response; "
                "give each invocation exactly one response",
            )
        expected = max(expected, last + 1)


# -- building -------------------------------------------------------------------------------------


def _build(config: dict[str, JSON], origin: str) -> MockConfig:
    machines = config[STATE_MACHINES]
    responses = config[MOCKED_RESPONSES]
    assert isinstance(machines, dict)
    assert isinstance(responses, dict)
    test_cases: dict[str, dict[str, dict[str, str]]] = {}
    for machine, body in machines.items():
        assert isinstance(body, dict)
        cases = body[TEST_CASES]
        assert isinstance(cases, dict)
        test_cases[machine] = {
            case: {state: str(name) for state, name in states.items()}
            for case, states in cases.items()
            if isinstance(states, dict)
        }
    built: dict[str, tuple[MockedInvocations, ...]] = {}
    for name, body in responses.items():
        assert isinstance(body, dict)
        entries = []
        for key, entry in body.items():
            parsed = parse_response_key(key)
            assert parsed is not None
            assert isinstance(entry, dict)
            entries.append(MockedInvocations(*parsed, _result(entry)))
        built[name] = tuple(sorted(entries, key=lambda e: e.first))
    return MockConfig(test_cases, built, origin)


def _result(entry: dict[str, JSON]) -> TaskResult:
    if RETURN in entry:
        # The mocked value is the task's final result: a .waitForTaskToken task completes with
        # it at once (AWS: Step Functions Local generates the token; nothing calls back).
        return TaskSuccess(entry[RETURN], final=True)
    throw = entry[THROW]
    assert isinstance(throw, dict)
    return TaskFailure(str(throw["Error"]), str(throw["Cause"]))
