"""Interpreter invariants over generated machines and inputs (hypothesis).

For small valid machines (chains of Pass, Choice, Wait, Parallel, Map, Task, ending in Succeed,
Fail, Pass or Wait, with random Results, paths and templates) and random inputs:

- `step` never raises (an ASL error is a value; `step` raising is an engine bug);
- `step` is pure: called twice with the same state and event it gives equal results, and the
  state passed in is left exactly as it was (compared with a deep snapshot);
- event ids go 1, 2, 3, ... without gaps over the whole history, and every previousEventId is
  lower than its event's id;
- the execution finishes exactly once, and a Finish is the last command of its step.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.interpreter.core import StepResult, step
from engine.interpreter.frames import ExecutionStatus
from engine.interpreter.messages import Event, Finish, Start, TaskFinished, TimerFired
from engine.interpreter.tasks import TaskFailure, TaskSuccess
from engine.values import JSON
from tests.interpreter.helpers import LAMBDA_ARN, T0, Harness, as_json, check_event_chain

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

KEYS = st.sampled_from(["a", "b", "x", "s"])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.text(alphabet="abc", max_size=3),
)
values: st.SearchStrategy[JSON] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=8,
)
# Inputs usually have what the generated paths read (so runs get far), sometimes not.
inputs = st.fixed_dictionaries(
    {"x": st.integers(-2, 2), "s": st.integers(0, 100), "items": st.lists(values, max_size=4)},
    optional={"a": st.dictionaries(st.just("b"), values, max_size=1), "extra": values},
)
paths = st.sampled_from(["$", "$.x", "$.s", "$.items", "$.a.b", "$.missing"])
result_paths = st.sampled_from([None, "$.r", "$.r.deep", "$.x", "$"])
io_paths = st.sampled_from([None, "$", "$", "$", "$.a"])


@st.composite
def pass_state(draw: st.DrawFn) -> dict[str, JSON]:
    state: dict[str, JSON] = {"Type": "Pass"}
    if draw(st.booleans()):
        state["Result"] = draw(values)
    if draw(st.booleans()):
        state["ResultPath"] = draw(result_paths)
    if draw(st.booleans()):
        state["InputPath"] = draw(io_paths)
    if draw(st.booleans()):
        state["OutputPath"] = draw(io_paths)
    if draw(st.booleans()):
        state["Parameters"] = {
            "v.$": draw(paths),
            "k": draw(values),
            "n.$": "$$.State.Name",
        }
    return state


@st.composite
def wait_state(draw: st.DrawFn) -> dict[str, JSON]:
    if draw(st.booleans()):
        return {"Type": "Wait", "Seconds": draw(st.integers(min_value=0, max_value=10**6))}
    return {"Type": "Wait", "SecondsPath": draw(st.sampled_from(["$.s", "$.s", "$.x"]))}


@st.composite
def task_state(draw: st.DrawFn) -> dict[str, JSON]:
    state: dict[str, JSON] = {"Type": "Task", "Resource": LAMBDA_ARN + "fn"}
    if draw(st.booleans()):
        state["Retry"] = [
            {
                "ErrorEquals": ["States.ALL"],
                "MaxAttempts": draw(st.integers(0, 2)),
                "IntervalSeconds": draw(st.integers(1, 5)),
                "JitterStrategy": draw(st.sampled_from(["FULL", "NONE"])),
            }
        ]
    if draw(st.booleans()):
        state["TimeoutSeconds"] = draw(st.integers(1, 100))
    if draw(st.booleans()):
        state["ResultPath"] = draw(result_paths)
    return state


@st.composite
def parallel_state(draw: st.DrawFn, prefix: str) -> dict[str, JSON]:
    # State names are unique in the whole machine, branches included.
    branches = [
        {
            "StartAt": f"{prefix}B{n}",
            "States": {f"{prefix}B{n}": {**draw(pass_state()), "End": True}},
        }
        for n in range(draw(st.integers(1, 3)))
    ]
    return {"Type": "Parallel", "Branches": as_json(branches)}


@st.composite
def map_state(draw: st.DrawFn, prefix: str) -> dict[str, JSON]:
    inner = draw(st.one_of(pass_state(), wait_state(), task_state()))
    name = f"{prefix}I"
    state: dict[str, JSON] = {
        "Type": "Map",
        "ItemProcessor": {"StartAt": name, "States": {name: {**inner, "End": True}}},
        "MaxConcurrency": draw(st.integers(0, 3)),
    }
    state["ItemsPath"] = draw(st.sampled_from(["$.items", "$.items", "$.x"]))
    if draw(st.booleans()):
        state["ItemSelector"] = {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"}
    return state


@st.composite
def machines(draw: st.DrawFn) -> dict[str, JSON]:
    """A chain S0 -> S1 -> ... whose Choices only jump forward (so every run ends)."""
    count = draw(st.integers(min_value=1, max_value=6))
    names = [f"S{i}" for i in range(count)]
    states: dict[str, JSON] = {}
    last = st.one_of(
        pass_state(),
        wait_state(),
        st.just({"Type": "Succeed"}),
        st.builds(
            lambda error, cause: {"Type": "Fail", "Error": error, "Cause": cause},
            st.text(alphabet="EF", min_size=1, max_size=2),
            st.text(alphabet="c", max_size=2),
        ),
    )
    for index, name in enumerate(names):
        if index + 1 < count:
            body = draw(
                st.one_of(
                    pass_state(),
                    wait_state(),
                    task_state(),
                    parallel_state(name),
                    map_state(name),
                    st.just("Choice"),
                )
            )
            if body == "Choice":
                targets = st.sampled_from(names[index + 1 :])
                states[name] = {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Variable": "$.x",
                            "NumericEquals": draw(st.integers(-2, 2)),
                            "Next": draw(targets),
                        },
                        {"Variable": "$.a", "IsPresent": True, "Next": draw(targets)},
                    ],
                    "Default": names[index + 1],
                }
                continue
            assert isinstance(body, dict)
            states[name] = {**body, "Next": names[index + 1]}
        else:
            body = draw(last)
            if body["Type"] in ("Pass", "Wait"):
                body = {**body, "End": True}
            states[name] = body
    return {"StartAt": names[0], "States": states}


task_results = st.lists(
    st.one_of(
        values.map(TaskSuccess),
        st.sampled_from([TaskFailure("Boom", "c"), TaskFailure("States.Timeout")]),
    ),
    min_size=1,
    max_size=8,
)


def checked_step(harness: Harness, event: Event) -> StepResult:
    """`harness.feed`, after checking purity: same input, same output, input untouched."""
    before = harness.state
    snapshot = copy.deepcopy(before)
    first = step(harness.machine, before, event)
    second = step(harness.machine, before, event)
    assert first == second
    assert before == snapshot
    result = harness.feed(event)
    assert result == first
    for command in result.commands[:-1]:
        assert not isinstance(command, Finish)
    return result


def drive(definition: dict[str, JSON], execution_input: JSON, results: list[object]) -> Harness:
    harness = Harness.of(definition, execution_input, seed=7)
    checked_step(harness, Start(T0))
    answers = iter(results * 50)
    for _ in range(500):
        if harness.finish is not None:
            break
        if harness.tasks:
            task = next(iter(harness.tasks.values()))
            result = next(answers)
            assert isinstance(result, TaskSuccess | TaskFailure)
            harness.tasks.pop(task.task_id)
            checked_step(harness, TaskFinished(task.frame_id, task.task_id, result, harness.now))
        else:
            timer = harness.next_timer()
            harness.timers.pop(timer.timer_id)
            checked_step(harness, TimerFired(timer.timer_id, max(harness.now, timer.due)))
    return harness


@SETTINGS
@given(definition=machines(), execution_input=inputs, results=task_results)
def test_step_is_pure_total_and_numbers_events_in_order(
    definition: dict[str, JSON], execution_input: JSON, results: list[object]
) -> None:
    harness = drive(definition, execution_input, results)
    assert harness.finish is not None, "every generated machine ends"
    assert harness.state.status is not ExecutionStatus.RUNNING
    assert harness.finish.status == harness.state.status.value
    check_event_chain(harness.history)
    assert harness.history[0].type == "ExecutionStarted"
    assert harness.history[-1].type == f"Execution{harness.finish.status.title().replace('_', '')}"
    timestamps = [event.timestamp for event in harness.history]
    assert timestamps == sorted(timestamps)
    # After the end, nothing changes.
    late = step(harness.machine, harness.state, TimerFired("root|wait|1", harness.now))
    assert (late.events, late.commands, late.state) == ((), (), harness.state)


@SETTINGS
@given(definition=machines(), execution_input=inputs, results=task_results)
def test_stop_at_any_point_aborts_cleanly(
    definition: dict[str, JSON], execution_input: JSON, results: list[object]
) -> None:
    harness = Harness.of(definition, execution_input, seed=3)
    harness.start()
    if harness.finish is not None:
        return
    stopped = harness.stop("E", "c")
    assert stopped.commands[-1] == Finish("ABORTED", error="E", cause="c")
    assert harness.tasks == {}, "every task is cancelled"
    assert harness.timers == {}, "every timer is cancelled"
    assert stopped.events[-1].type == "ExecutionAborted"
    check_event_chain(harness.history)
