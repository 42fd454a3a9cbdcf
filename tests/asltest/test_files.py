"""engine/asltest/files.py: any test file either loads or is refused with located problems.

Hypothesis writes documents shaped like test files (the known fields, with values of the right
and of the wrong kinds) and `load_test_file` must return a `TestFile` or raise
`TestFileInvalid` whose every problem names the file: never another exception.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.asltest.files import TestFile, TestFileInvalid, load_test_file
from engine.values import JSON

PICK = {
    "StartAt": "T",
    "States": {
        "T": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f",
            "End": True,
        },
    },
}

anything: st.SearchStrategy[JSON] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=6,
)
paths = st.sampled_from(["pick.asl.json", "missing.json", ".", "pick.test.json", "f.py"])


def strategies(noisy: bool) -> st.SearchStrategy[JSON]:
    """Test-file documents; `noisy` ones hold a value of the wrong kind a quarter of the time
    in each field (mostly refused by the schema), clean ones only values of the right kind
    (refused, if at all, for what they refer to: a missing file, an unknown state...)."""

    def mostly(good: st.SearchStrategy[JSON]) -> st.SearchStrategy[JSON]:
        return st.one_of(good, good, good, anything) if noisy else good

    mocked = st.dictionaries(
        st.sampled_from(["0", "1-2", "x", "2"]),
        st.sampled_from([{"Return": 1}, {"Throw": {"Error": "E", "Cause": "c"}}, {"Throw": {}}]),
        min_size=1,
        max_size=2,
    )
    state_expectation = st.fixed_dictionaries(
        {},
        optional={
            "calls": mostly(st.integers(0, 3)),
            "visit": st.integers(0, 3),
            "input": anything,
            "outputContains": anything,
        },
    ).filter(bool)
    expectation = st.fixed_dictionaries(
        {},
        optional={
            "status": mostly(st.sampled_from(["SUCCEEDED", "FAILED"])),
            "output": anything,
            "outputContains": anything,
            "error": mostly(st.text(max_size=3)),
            "path": mostly(st.lists(st.sampled_from(["T", "T", "X"]), max_size=2)),
            "pathContains": mostly(st.lists(st.sampled_from(["T", "T", "X"]), max_size=2)),
            "states": mostly(
                st.dictionaries(st.sampled_from(["T", "T", "X"]), state_expectation, max_size=1)
            ),
        },
    )
    inputs = st.fixed_dictionaries({}, optional={"input": anything}) | st.fixed_dictionaries(
        {}, optional={"inputFile": paths}
    )
    case = st.builds(
        lambda name, given, more: {"name": name, **given, **more},  # type: ignore[dict-item]
        mostly(st.sampled_from(["a", "b", "c"])),
        inputs,
        st.fixed_dictionaries(
            {},
            optional={
                "testCase": mostly(st.sampled_from(["Happy", "Nope"])),
                "mocks": mostly(
                    st.dictionaries(st.sampled_from(["T", "T", "X"]), mocked, max_size=1)
                ),
                "expect": mostly(expectation),
            },
        ),
    )
    return st.fixed_dictionaries(
        {
            "machine": mostly(st.sampled_from(["pick.asl.json", "pick.asl.json", "missing"])),
            "cases": mostly(st.lists(case, min_size=1, max_size=3)),
        },
        optional={
            "name": mostly(st.sampled_from(["pick", "bad name:"])),
            "type": st.sampled_from(["STANDARD", "EXPRESS", "X"]),
            "functions": mostly(paths | st.lists(paths, max_size=2)),
            "config": paths,
            "mockConfig": paths,
        },
    )


documents = st.one_of(strategies(noisy=False), strategies(noisy=True), anything)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(documents)
def test_a_test_file_loads_or_is_refused_with_located_problems(
    tmp_path: Path, document: JSON
) -> None:
    (tmp_path / "pick.asl.json").write_text(json.dumps(PICK))
    (tmp_path / "f.py").write_text("def f(event, context):\n    return event\n")
    path = tmp_path / "pick.test.json"
    path.write_text(json.dumps(document))
    problems: list[str] = []
    loaded: TestFile | None = None
    try:
        loaded = load_test_file(str(path))
    except TestFileInvalid as exc:
        problems = exc.problems
    event("refused" if loaded is None else "loaded")
    if loaded is None:
        assert problems
        assert all(problem.startswith(f"{path}: ") for problem in problems)
    else:
        assert loaded.cases
