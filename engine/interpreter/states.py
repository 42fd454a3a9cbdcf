"""One function per state Type: the work a state does, as an outcome.

Owns: what each of the eight state types computes when it is entered (or re-attempted after a
retry), and how Task, Wait, Parallel and Map states complete when their result arrives. Must
never: move a frame to the next state, apply Retry/Catch or close the execution (core.py does
that from the returned outcome); raise for an ASL error (return `Failed`; expression errors
raise `StatesError`, which core.py turns into a Failure with AWS's cause prefix).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TypeAlias

from engine.definition.compile import (
    JSONATA,
    LAMBDA_INVOKE,
    MAP_RUN_CHILD_STATE,
    ChoiceState,
    FailState,
    MapState,
    ParallelState,
    PassState,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from engine.definition.jsonata_value import QueryEvaluationError
from engine.definition.paths import PathNoMatch
from engine.definition.scope import Scope
from engine.definition.timestamps import parse_timestamp
from engine.errors import (
    STATES_DATA_LIMIT_EXCEEDED,
    STATES_HEARTBEAT_TIMEOUT,
    STATES_NO_CHOICE_MATCHED,
    STATES_PARAMETER_PATH_FAILURE,
    STATES_RUNTIME,
    STATES_TASK_FAILED,
    STATES_TIMEOUT,
    StatesError,
)
from engine.interpreter import jsonata_flow, map_io
from engine.interpreter.core import (
    BLOCKED,
    Blocked,
    Done,
    Failed,
    Step,
    task_details,
    task_failure_details,
)
from engine.interpreter.dataflow import (
    INSPECTION,
    apply_input_path,
    apply_output_path,
    apply_parameters,
    apply_result_path,
    apply_result_selector,
    invalid_path_cause,
)
from engine.interpreter.failures import Failure
from engine.interpreter.frames import Frame, Phase, region_and_account
from engine.interpreter.history import Details, task_resource_parts
from engine.interpreter.messages import (
    InvokeTask,
    MapRunUpdate,
    RecordMapRun,
    ScheduleActivity,
    StartTimer,
    StoreMapItems,
)
from engine.interpreter.tasks import TaskFailure, TaskRequest, TaskResult, TaskSuccess
from engine.interpreter.variables import child_variables, evaluate_assign
from engine.values import JSON, PAYLOAD_LIMIT_BYTES, dumps, payload_size

Outcome: TypeAlias = Done | Blocked | Failed
Handler = Callable[[Step, Frame, State], Outcome]


def _assign(run: Step, state: State, data: JSON, scope: Scope) -> dict[str, JSON] | None:
    """A JSONPath state's Assign, reading `data` as `$` (variables.py says which data)."""
    program = state.assign_program
    if program is None:
        return None
    return evaluate_assign(program, data, None, scope, run.now)


# -- Pass, Succeed, Fail, Choice ------------------------------------------------------------------


def run_pass(run: Step, frame: Frame, state: State) -> Outcome:
    assert isinstance(state, PassState)
    if state.query_language == JSONATA:
        return jsonata_flow.run_pass(run, frame, state)
    scope = run.scope(frame, state)
    effective = apply_input_path(state.input_path, frame.state_input, scope)
    if state.parameters is not None:
        try:
            effective = apply_parameters(state.parameters, effective, scope)
        except StatesError as exc:
            # AWS reports a Pass state's Parameters path failure as States.Runtime (recorded
            # case test_base_scenarios/test_invalid_jsonpath), not as ParameterPathFailure.
            if exc.error == STATES_PARAMETER_PATH_FAILURE:
                raise StatesError(STATES_RUNTIME, exc.cause) from None
            raise
    result = state.result if state.has_result else effective
    assigned = _assign(run, state, result, scope)
    output = apply_result_path(state.result_path, frame.state_input, result)
    return Done(apply_output_path(state.output_path, output, scope), state.next, assigned)


def run_succeed(run: Step, frame: Frame, state: State) -> Outcome:
    assert isinstance(state, SucceedState)
    if state.query_language == JSONATA:
        return jsonata_flow.run_succeed(run, frame, state)
    scope = run.scope(frame, state)
    effective = apply_input_path(state.input_path, frame.state_input, scope)
    return Done(apply_output_path(state.output_path, effective, scope), None)


def run_fail(run: Step, frame: Frame, state: State) -> Outcome:
    assert isinstance(state, FailState)
    if state.query_language == JSONATA:
        return jsonata_flow.run_fail(run, frame, state)
    scope = run.scope(frame, state)
    error = state.error if isinstance(state.error, str) else None
    cause = state.cause if isinstance(state.cause, str) else None
    if state.error_path is not None:
        error = _as_text(state.error_path.evaluate(frame.state_input, scope))
    if state.cause_path is not None:
        cause = _as_text(state.cause_path.evaluate(frame.state_input, scope))
    return Failed(Failure(error or "", cause))


def _as_text(value: JSON) -> str:
    return value if isinstance(value, str) else dumps(value)


def run_choice(run: Step, frame: Frame, state: State) -> Outcome:
    assert isinstance(state, ChoiceState)
    if state.query_language == JSONATA:
        return jsonata_flow.run_choice(run, frame, state)
    scope = run.scope(frame, state)
    effective = apply_input_path(state.input_path, frame.state_input, scope)
    for branch in state.choices:
        if branch.rule is not None and branch.rule.matches(effective, scope):
            # A matching rule's Assign, else the state's (AWS: Assign on a Choice rule).
            program = branch.assign_program or state.assign_program
            assigned = (
                evaluate_assign(program, effective, None, scope, run.now) if program else None
            )
            output = apply_output_path(state.output_path, effective, scope)
            return Done(output, branch.next, assigned)
    if state.default is not None:
        output = apply_output_path(state.output_path, effective, scope)
        return Done(output, state.default, _assign(run, state, effective, scope))
    return Failed(Failure(STATES_NO_CHOICE_MATCHED, "No Matches!"))


# -- Wait -----------------------------------------------------------------------------------------


def run_wait(run: Step, frame: Frame, state: State) -> Outcome:
    assert isinstance(state, WaitState)
    scope = run.scope(frame, state)
    if state.query_language == JSONATA:
        due = jsonata_flow.wait_due(run, frame, state, scope)
        output = frame.state_input  # Output and Assign are evaluated when the wait ends
    else:
        effective = apply_input_path(state.input_path, frame.state_input, scope)
        due = _wait_due(run, state, effective, scope)
        output = apply_output_path(state.output_path, effective, scope)
    if due <= run.now:
        return _finish_wait(run, frame, state, output)
    frame.effective_input = output
    frame.timer_id = run.new_id(frame, "wait")
    frame.phase = Phase.TIMER
    run.commands.append(StartTimer(frame.timer_id, due))
    return BLOCKED


def _wait_due(run: Step, state: WaitState, data: JSON, scope: object) -> float:
    from engine.definition.scope import Scope

    assert isinstance(scope, Scope)
    if isinstance(state.seconds, int | float) and not isinstance(state.seconds, bool):
        return run.now + float(state.seconds)
    if isinstance(state.timestamp, str):
        moment = parse_timestamp(state.timestamp)
        if moment is None:
            raise StatesError(
                STATES_RUNTIME, f"The Timestamp field is not valid: {state.timestamp}"
            )
        return moment.timestamp()
    if state.seconds_path is not None:
        value = _find(state.seconds_path, data, scope)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise StatesError(
                STATES_RUNTIME,
                "The SecondsPath parameter references a negative value: "
                f"{state.seconds_path.text} == {value}",
            )
        if isinstance(value, bool) or not isinstance(value, int):
            raise StatesError(
                STATES_RUNTIME,
                "The SecondsPath parameter cannot be parsed as a long value: "
                f"{state.seconds_path.text} == {_render(value)}",
            )
        return run.now + value
    if state.timestamp_path is not None:
        value = _find(state.timestamp_path, data, scope)
        moment = parse_timestamp(value) if isinstance(value, str) else None
        if moment is None:
            raise StatesError(
                STATES_RUNTIME,
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
                f"date-time format string: {state.timestamp_path.text} == {_render(value)}",
            )
        return moment.timestamp()
    return run.now


def _find(path: object, data: JSON, scope: object) -> JSON:
    from engine.definition.paths import Path
    from engine.definition.scope import Scope

    assert isinstance(path, Path)
    assert isinstance(scope, Scope)
    try:
        return path.find(data, scope)
    except PathNoMatch as exc:
        raise StatesError(STATES_RUNTIME, invalid_path_cause(path, exc.reason)) from None


def _render(value: JSON) -> str:
    return value if isinstance(value, str) else dumps(value)


def complete_wait(run: Step, frame: Frame, state: State) -> Outcome:
    return _finish_wait(run, frame, state, frame.effective_input)


def _finish_wait(run: Step, frame: Frame, state: State, output: JSON) -> Outcome:
    scope = run.scope(frame, state)
    if state.query_language == JSONATA:
        return jsonata_flow.finish(run, frame, state, scope)
    assigned = None
    if state.assign_program is not None:
        effective = apply_input_path(state.input_path, frame.state_input, scope)
        assigned = _assign(run, state, effective, scope)
    return Done(output, state.next, assigned)


# -- Task -----------------------------------------------------------------------------------------


def run_task(run: Step, frame: Frame, state: State, *, token: str | None = None) -> Outcome:
    """Schedule (or re-schedule, on retry) the task; the result arrives as TaskFinished.
    `token`: the one an earlier request of this same attempt was given (a request made again
    after its worker was lost, core.py), so an answer to either is the answer."""
    assert isinstance(state, TaskState)
    # A `.sync` child answers its parent's Task through a token too, but only
    # `.waitForTaskToken` puts it in the context object ($$.Task.Token).
    if token is None and (state.waits_for_token or state.waits_for_child):
        token = run.new_uuid()
    if state.plain_io and INSPECTION.record is None:
        # No field reads the scope or walks a path: the state input is the request's payload.
        payload: JSON = frame.state_input
        timeout, heartbeat = state.timeout_seconds, state.heartbeat_seconds
    elif state.query_language == JSONATA:
        scope = run.scope(frame, state, _token_context(token, state))
        payload, timeout, heartbeat = jsonata_flow.task_request(run, frame, state, scope)
    else:
        scope = run.scope(frame, state, _token_context(token, state))
        effective = apply_input_path(state.input_path, frame.state_input, scope)
        payload = (
            apply_parameters(state.parameters, effective, scope)
            if state.parameters is not None
            else effective
        )
        timeout = _positive_seconds(
            state.timeout_seconds, state.timeout_seconds_path, effective, scope
        )
        heartbeat = _positive_seconds(
            state.heartbeat_seconds, state.heartbeat_seconds_path, effective, scope
        )
    if state.is_activity:
        return _schedule_activity(run, frame, state, payload, timeout, heartbeat)
    task_id = run.new_id(frame, "task")
    if state.is_lambda_function:
        scheduled: Details = {"resource": state.resource, "input": run.payload(payload)}
        if timeout is not None:
            scheduled["timeoutInSeconds"] = int(timeout)
        run.emit(frame, "LambdaFunctionScheduled", scheduled)
        run.emit(frame, "LambdaFunctionStarted")
    else:
        service, action = task_resource_parts(state.resource)
        scheduled = {
            "resourceType": service,
            "resource": action,
            "region": run.info.region,
            "parameters": run.payload(payload),
        }
        if timeout is not None:
            scheduled["timeoutInSeconds"] = int(timeout)
        if heartbeat is not None:
            scheduled["heartbeatInSeconds"] = int(heartbeat)
        run.emit(frame, "TaskScheduled", scheduled)
        run.emit(frame, "TaskStarted", {"resourceType": service, "resource": action})
    frame.phase = Phase.TASK
    frame.task_id = task_id
    frame.task_token = token
    info = run.info
    region, account = region_and_account(info.execution_arn)  # info.region, info.account
    # Positional, in the order of TaskRequest's fields: a class called with keywords gets them
    # as a dict, built and unpacked again for its __init__ (2.7x the cost of this call).
    request = TaskRequest(
        state.resource,  # resource
        payload,  # payload
        info.execution_arn,  # execution_arn
        state.name,  # state_name
        frame.retry_count,  # attempt
        timeout,  # timeout_seconds
        heartbeat,  # heartbeat_seconds
        token,  # task_token
        region,  # region
        account,  # account
        info.test_case,  # test_case
    )
    run.commands.append(InvokeTask(frame.frame_id, task_id, request))
    if timeout is not None:
        frame.timeout_timer_id = run.new_id(frame, "timeout")
        run.commands.append(StartTimer(frame.timeout_timer_id, run.now + timeout))
    if heartbeat is not None and state.waits_for_token:
        frame.heartbeat_seconds = heartbeat
        frame.heartbeat_timer_id = run.new_id(frame, "heartbeat")
        run.commands.append(StartTimer(frame.heartbeat_timer_id, run.now + heartbeat))
    return BLOCKED


def _token_context(token: str | None, state: TaskState) -> dict[str, JSON] | None:
    """What a `.waitForTaskToken` Task adds to the context object: `$$.Task.Token`."""
    return {"Task": {"Token": token}} if token and state.waits_for_token else None


def _schedule_activity(
    run: Step,
    frame: Frame,
    state: TaskState,
    payload: JSON,
    timeout: float | None,
    heartbeat: float | None,
) -> Outcome:
    """An activity: record the task for workers (GetActivityTask) and wait for its callback.

    No backend is invoked and no task id is held, so a worker crash loses nothing: the task
    stays in the store until a worker takes it, and the answer comes as a TaskCallback.
    """
    scheduled: Details = {"resource": state.resource, "input": run.payload(payload)}
    if timeout is not None:
        scheduled["timeoutInSeconds"] = int(timeout)
    if heartbeat is not None:
        scheduled["heartbeatInSeconds"] = int(heartbeat)
    run.emit(frame, "ActivityScheduled", scheduled)
    token = run.new_uuid()
    frame.phase = Phase.TASK
    frame.task_id = None
    frame.task_token = token
    run.commands.append(ScheduleActivity(frame.frame_id, token, state.resource, payload))
    if timeout is not None:
        frame.timeout_timer_id = run.new_id(frame, "timeout")
        run.commands.append(StartTimer(frame.timeout_timer_id, run.now + timeout))
    if heartbeat is not None:
        frame.heartbeat_seconds = heartbeat
        frame.heartbeat_timer_id = run.new_id(frame, "heartbeat")
        run.commands.append(StartTimer(frame.heartbeat_timer_id, run.now + heartbeat))
    return BLOCKED


def _positive_seconds(fixed: float | None, path: object, data: JSON, scope: object) -> float | None:
    if fixed is not None:
        return fixed
    if path is None:
        return None
    value = _find(path, data, scope)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        from engine.definition.paths import Path

        assert isinstance(path, Path)
        raise StatesError(
            STATES_RUNTIME,
            f"The value of {path.text} must be a positive integer, got {_render(value)}",
        )
    return float(value)


def _task_event_names(state: TaskState) -> tuple[str, str, str]:
    if state.is_activity:
        return "ActivitySucceeded", "ActivityFailed", "ActivityTimedOut"
    if state.is_lambda_function:
        return "LambdaFunctionSucceeded", "LambdaFunctionFailed", "LambdaFunctionTimedOut"
    return "TaskSucceeded", "TaskFailed", "TaskTimedOut"


_task_details = task_details


def complete_task(run: Step, frame: Frame, state: State, result: TaskResult) -> Outcome:
    assert isinstance(state, TaskState)
    if state.plain_io and state.is_lambda_function and isinstance(result, TaskSuccess):
        output = result.output
        if result.sized or payload_size(output) <= PAYLOAD_LIMIT_BYTES:
            # A Lambda function ARN's answer on a plain Task (the usual Lambda Task): what the
            # general path below records and returns, without its lookups and calls.
            details: Details = {"output": run.payload(output)}
            run.emit(frame, "LambdaFunctionSucceeded", details)
            if INSPECTION.record is None:
                return Done(output, state.next, None, True)  # sized
            return _complete_with_result(run, frame, state, output, sized=True)
    succeeded, failed, _ = _task_event_names(state)
    if isinstance(result, TaskFailure):
        run.emit(frame, failed, _task_details(state, task_failure_details(result)))
        return Failed(Failure(result.error, result.cause))
    output = result.output
    if not result.sized and payload_size(output) > PAYLOAD_LIMIT_BYTES:
        # AWS names the integration's service for optimized integrations ('lambda') and the
        # whole ARN otherwise (recorded cases test_states_errors/*data_limit_exceeded*).
        name = "lambda" if state.resource.startswith(LAMBDA_INVOKE) else state.resource
        cause = (
            f"The state/task '{name}' returned a result with a size exceeding the maximum "
            "number of bytes service limit."
        )
        run.emit(
            frame,
            failed,
            _task_details(state, {"error": STATES_DATA_LIMIT_EXCEEDED, "cause": cause}),
        )
        return Failed(Failure(STATES_DATA_LIMIT_EXCEEDED, cause))
    run.emit(frame, succeeded, _task_details(state, {"output": run.payload(output)}))
    if state.plain_io and INSPECTION.record is None:
        # ResultPath and OutputPath `$`, nothing else: the result is the output, as it is.
        return Done(output, state.next, None, True)  # sized
    return _complete_with_result(run, frame, state, output, sized=True)


def task_timed_out(run: Step, frame: Frame, state: State, *, heartbeat: bool) -> Outcome:
    assert isinstance(state, TaskState)
    _, _, timed_out = _task_event_names(state)
    error = STATES_HEARTBEAT_TIMEOUT if heartbeat else STATES_TIMEOUT
    run.emit(frame, timed_out, _task_details(state, {"error": error}))
    return Failed(Failure(error, None))


# -- Parallel -------------------------------------------------------------------------------------


def run_parallel(run: Step, frame: Frame, state: State) -> Outcome:
    assert isinstance(state, ParallelState)
    scope = run.scope(frame, state)
    if state.query_language == JSONATA:
        effective = jsonata_flow.branch_input(run, frame, state, scope)
    else:
        effective = apply_input_path(state.input_path, frame.state_input, scope)
        if state.parameters is not None:
            effective = apply_parameters(state.parameters, effective, scope)
    started = run.emit(frame, "ParallelStateStarted")
    children = []
    for index, branch in enumerate(state.branches):
        child = Frame(
            frame_id=f"{frame.frame_id}/{frame.attempt}.b{index}",
            parent_id=frame.frame_id,
            graph_key=branch.key,
            index=index,
            state_name=branch.start_at,
            state_input=effective,
            last_event_id=started,
            silent=frame.silent,
            variables=child_variables(frame.variables),
        )
        run.add_frame(child)
        run.runnable.append(child.frame_id)
        children.append(child.frame_id)
    frame.child_ids = tuple(children)
    frame.finished = 0
    frame.phase = Phase.CHILDREN
    if not children:
        return _complete_with_result(run, frame, state, [])
    return BLOCKED


def _parallel_child_finished(
    run: Step, frame: Frame, state: ParallelState, child: Frame
) -> Outcome:
    if child.phase is Phase.FAILED:
        assert child.failure is not None
        failed_state = run.graph(child).states[child.state_name]
        if isinstance(failed_state, TaskState | ParallelState | MapState):
            # AWS records the branch's failed state as aborted once the Parallel gives up on it
            # (recorded case test_error_output/test_parallel_catch_error: TaskStateAborted).
            aborted: Details = {"name": failed_state.name}
            run.emit(run.frame(child.frame_id), f"{failed_state.type}StateAborted", aborted)
        for other in frame.child_ids:
            if other != child.frame_id:
                run.abort_frame(other)
        run.remove_children(frame)
        # Recorded whether or not a Catch then handles the failure, like MapStateFailed
        # (recorded case test_base_scenarios/test_parallel_state_catch).
        return Failed(child.failure, closing_event="ParallelStateFailed")
    frame.finished += 1
    if frame.finished < len(frame.child_ids):
        return BLOCKED
    outputs = [run.frames[c].output for c in frame.child_ids]
    run.remove_children(frame)
    run.emit(frame, "ParallelStateSucceeded")
    return _complete_with_result(run, frame, state, outputs)


def _complete_with_result(
    run: Step,
    frame: Frame,
    state: TaskState | ParallelState | MapState,
    result: JSON,
    *,
    sized: bool = False,
) -> Outcome:
    """A state that produced a result (a task's, or a Parallel's or Map's list) exits with it:
    ResultSelector, Assign, ResultPath, OutputPath, or in JSONata Assign and Output. `sized`:
    the result's size was checked already, so an output that is the result as it is (no
    selector, `ResultPath: $`, no OutputPath) is not rendered again to measure it."""
    scope = run.scope(frame, state)
    if state.query_language == JSONATA:
        return jsonata_flow.finish(run, frame, state, scope, result=result)
    raw = result
    if state.result_selector is not None:
        result = apply_result_selector(state.result_selector, result, scope)
    assigned = _assign(run, state, result, scope)
    output = apply_output_path(
        state.output_path, apply_result_path(state.result_path, frame.state_input, result), scope
    )
    return Done(output, state.next, assigned, sized and output is raw)  # positional: sized


# -- Map ------------------------------------------------------------------------------------------


def run_map(run: Step, frame: Frame, state: State) -> Outcome:
    assert isinstance(state, MapState)
    scope = run.scope(frame, state)
    if state.io.reader is not None:
        return _read_items(run, frame, state, scope)
    if state.query_language == JSONATA:
        try:
            items = jsonata_flow.map_setup(run, frame, state, scope)
        except QueryEvaluationError as exc:
            return Failed(run.evaluation_failure(frame, state, exc), "MapStateFailed")
        effective = frame.state_input
    else:
        effective = apply_input_path(state.input_path, frame.state_input, scope)
        items = _map_items(state, effective, scope)
        frame.max_concurrency = _map_max_concurrency(state, effective, scope)
    return _begin_map(run, frame, state, effective, items)


def _begin_map(
    run: Step, frame: Frame, state: MapState, effective: JSON, items: list[JSON]
) -> Outcome:
    """The Map's items are known (its input, or what its ItemReader read): start iterating."""
    scope = run.scope(frame, state)
    if state.query_language == JSONATA:
        try:
            run.emit(frame, "MapStateStarted", {"length": len(items)})
            jsonata_flow.map_tolerance(run, frame, state, scope, len(items))
        except QueryEvaluationError as exc:
            # AWS records EvaluationFailed, then MapStateFailed (recorded cases
            # test_base_scenarios/test_map_state_items_eval_jsonata_fail.*).
            return Failed(run.evaluation_failure(frame, state, exc), "MapStateFailed")
    else:
        # AWS records MapStateStarted before it reads the tolerance fields (recorded case
        # test_map_state_tolerated_failure_count_path.NoNumber) but after MaxConcurrencyPath.
        run.emit(frame, "MapStateStarted", {"length": len(items)})
        _map_tolerance(frame, state, effective, scope, len(items))
    frame.effective_input = effective
    if state.io.batcher is not None:
        items = _batches(run, frame, state, items)
    if state.distributed and frame.redriving and frame.map_run_arn:
        # A redriven Map Run keeps its ARN; only failed and pending items run again
        # (AWS, "Redriving Map Runs": MapRunRedriven, redriveCount and redriveDate).
        frame.map_run_redrives += 1
        frame.map_run_redriven_at = run.now
        run.emit(
            frame,
            "MapRunRedriven",
            {"mapRunArn": frame.map_run_arn, "redriveCount": frame.map_run_redrives},
        )
    elif state.distributed:
        label = state.label or state.name
        frame.map_run_arn = (
            f"{run.info.state_machine_arn.replace(':stateMachine:', ':mapRun:')}/{label}:"
            f"{run.new_uuid()}"
        )
        run.emit(frame, "MapRunStarted", {"mapRunArn": frame.map_run_arn})
        frame.map_run_start = run.now
        frame.map_run_redrives = 0
        frame.map_run_redriven_at = None
    frame.map_run_runs = len(items)
    frame.map_run_items = _item_total(state, items)
    _keep_items(run, frame, state, items)
    frame.started = 0
    frame.running = 0
    frame.finished = 0
    frame.failed = 0
    frame.child_ids = ()
    frame.phase = Phase.CHILDREN
    if frame.redriving and len(frame.kept_results) < frame.map_run_runs:
        frame.finished = len(frame.kept_results)  # a redrive re-runs only what did not succeed
    else:
        frame.kept_results = {}
    frame.redriving = False
    if state.distributed:
        record_map_run(run, frame, "RUNNING")
    if not items:
        return _complete_map(run, frame, state)
    _start_iterations(run, frame, state)
    return BLOCKED


def _items_stored(run: Step, state: MapState) -> bool:
    """Whether the Map's items go to the store: they run as child executions (the durable
    service), each of which reads its own input there when it starts. Not for an Express
    parent: its steps are not committed (only its close), and it has no snapshot to keep
    small."""
    return _outputs_stored(run, state) and run.info.execution_type == "STANDARD"


def _keep_items(run: Step, frame: Frame, state: MapState, items: list[JSON]) -> None:
    """Keep the Map's items (or batches) for its child runs: in the frame, or, for child
    executions, in the store, written once with this step's commit (`StoreMapItems`): an
    ItemReader's items are unbounded, and the frame is in every snapshot of the parent. A
    ResultWriter's records are made from the items in the frame, so they stay there too."""
    frame.items_stored = _items_stored(run, state)
    if not frame.items_stored:
        frame.items = tuple(items)
        frame.batch_sizes = ()
        return
    inputs = tuple(
        items
        if state.io.batcher is not None
        else (_child_input(run, frame, state, index, item) for index, item in enumerate(items))
    )
    run.commands.append(StoreMapItems(frame.map_run_arn, inputs))
    frame.items = tuple(items) if state.io.writer is not None else ()
    frame.batch_sizes = (
        tuple(_batch_size(batch) for batch in items) if state.io.batcher is not None else ()
    )


def _item(run: Step, frame: Frame, state: MapState, index: int) -> JSON:
    """The input of the Map's child run `index`: its item with ItemSelector applied, or its
    ItemBatcher batch. The one way to an item kept in the frame; a Map whose items are in the
    store (`frame.items_stored`) has them here only with a ResultWriter, and the runtime reads
    them by (Map Run ARN, index): `Store.map_run_items`."""
    item = frame.items[index]
    return item if state.io.batcher is not None else _child_input(run, frame, state, index, item)


# -- Distributed Map I/O (map_io.py builds the values; the runtime does the reading/writing) ----


def _read_items(run: Step, frame: Frame, state: MapState, scope: Scope) -> Outcome:
    """Ask the runtime for the ItemReader's items; the Map waits for them (Phase.TASK)."""
    try:
        if state.query_language == JSONATA:
            effective = frame.state_input
            states = jsonata_flow.jsonata_states(effective, scope)
            concurrency = jsonata_flow.non_negative_integer(
                state, "MaxConcurrency", states, scope, run.now
            )
            frame.max_concurrency = (
                state.max_concurrency if concurrency is None else int(concurrency)
            )
        else:
            effective = apply_input_path(state.input_path, frame.state_input, scope)
            frame.max_concurrency = _map_max_concurrency(state, effective, scope)
        request = map_io.reader_request(state, effective, scope, run.now)
    except QueryEvaluationError as exc:
        return Failed(run.evaluation_failure(frame, state, exc), "MapStateFailed")
    frame.effective_input = effective
    # Loaded with the Map's definition (compile.py): only a Distributed Map gets here.
    from engine.definition.distributed import ITEM_READER_TASK

    _map_io_command(run, frame, state, "read", ITEM_READER_TASK, request)
    return BLOCKED


def _map_io_command(
    run: Step, frame: Frame, state: MapState, kind: str, resource: str, payload: JSON
) -> None:
    frame.map_io = kind
    frame.phase = Phase.TASK
    frame.task_id = run.new_id(frame, kind)
    request = TaskRequest(
        resource=resource,
        payload=payload,
        execution_arn=run.info.execution_arn,
        state_name=state.name,
        attempt=frame.retry_count,
        region=run.info.region,
        account=run.info.account,
    )
    run.commands.append(InvokeTask(frame.frame_id, frame.task_id, request))


def complete_map_io(run: Step, frame: Frame, state: State, result: TaskResult) -> Outcome:
    """The runtime answered a Map's read or write request (core.py routes it here)."""
    assert isinstance(state, MapState)
    kind, frame.map_io = frame.map_io, ""
    if kind == "gather":
        if isinstance(result, TaskFailure) and result.error == STATES_TASK_FAILED:
            return _gather_results(run, frame, state)  # reading again changes nothing
        if isinstance(result, TaskFailure):
            return Failed(Failure(result.error, result.cause), "MapStateFailed")
        assert isinstance(result.output, list), "the Map's results are answered as a list"
        return _finish_map(run, frame, state, result.output)
    if kind == "read":
        if isinstance(result, TaskFailure) and result.error == STATES_TASK_FAILED:
            # Only a lost worker answers a read so (engine/runtime/worker.py): reading has no
            # effect to repeat, so the resumed Map reads again instead of failing.
            return _read_items(run, frame, state, run.scope(frame, state))
        if isinstance(result, TaskFailure):
            return Failed(Failure(result.error, result.cause), "MapStateFailed")
        items = result.output
        assert isinstance(items, list), "the item reader answers with a list"
        return _begin_map(run, frame, state, frame.effective_input, items)
    pending, frame.failure = frame.failure, None
    if isinstance(result, TaskFailure) and result.error == STATES_TASK_FAILED:
        # Lost with its worker: the files are written whole each time (from the children's
        # records in the store, with child executions), so write them again.
        return _write_results(run, frame, state, pending)
    _drop_children(run, frame, state, pending)
    if isinstance(result, TaskFailure):  # the write failed: that is the Map Run's failure
        failure = Failure(result.error, result.cause)
        return _close_map_run(run, frame, state, failure, None, written=False)
    # "shape": a WriterConfig without a Resource, its records read from the store
    written = kind == "write" or pending is None
    return _close_map_run(run, frame, state, pending, result.output, written=written)


def _close_map_run(
    run: Step,
    frame: Frame,
    state: MapState,
    pending: Failure | None,
    output: JSON,
    *,
    written: bool,
) -> Outcome:
    """The Map Run ends after its results are written (or shaped; `written` when they went
    somewhere): failed with `pending` (the tolerated failures were exceeded, or the write
    failed), else succeeded with `output` as the Map's result."""
    if pending is not None:
        run.emit(frame, "MapRunFailed", {"error": pending.error, "cause": pending.cause})
        record_map_run(run, frame, "FAILED", written=written)
        return Failed(pending, closing_event="MapStateFailed")
    run.emit(frame, "MapRunSucceeded")
    record_map_run(run, frame, "SUCCEEDED", written=written)
    run.emit(frame, "MapStateSucceeded")
    return _complete_with_result(run, frame, state, output)


def _batches(run: Step, frame: Frame, state: MapState, items: list[JSON]) -> list[JSON]:
    """ItemSelector on each item, then the items grouped by ItemBatcher (AWS applies the
    selector per item; each child run's input is one batch)."""
    scope = run.scope(frame, state)
    selected = [_child_input(run, frame, state, index, item) for index, item in enumerate(items)]
    max_items, max_bytes, batch_input = map_io.batch_limits(
        state, frame.effective_input, scope, run.now
    )
    return map_io.batch_items(selected, max_items, max_bytes, batch_input)


def _child_input(run: Step, frame: Frame, state: MapState, index: int, item: JSON) -> JSON:
    if state.query_language == JSONATA:
        return jsonata_flow.item_input(run, frame, state, index, item)
    if state.item_selector is not None:
        extra: dict[str, JSON] = {"Map": {"Item": {"Index": index, "Value": item}}}
        scope = run.scope(frame, state, extra)
        return state.item_selector.evaluate(frame.effective_input, scope)
    return item


def _write_results(run: Step, frame: Frame, state: MapState, pending: Failure | None) -> Outcome:
    """Hand the child runs' records to the ResultWriter; the Map completes (or fails with
    `pending`) when the runtime answers. A WriterConfig without a Resource only shapes the
    Map's own result (AWS: "Only WriterConfig", a preview)."""
    # Loaded with the Map's definition (compile.py): only a Distributed Map gets here.
    from engine.definition.distributed import RESULT_WRITER_TASK, transform_results

    scope = run.scope(frame, state)
    parameters = map_io.writer_parameters(state, frame.effective_input, scope, run.now)
    frame.failure = pending  # until the write (or the shaping) is answered
    if _outputs_stored(run, state):
        # The children's records are in the store: the request names them, and the service
        # reads them page by page as it writes (engine/service/map_results.py), so neither
        # this state nor the request grows with the items.
        request: dict[str, JSON] = {
            **parameters,
            "MapRunArn": frame.map_run_arn,
            "Children": _children_request(run, frame, state),
        }
        kind = "write" if parameters.get("Resource") is not None else "shape"
        _map_io_command(run, frame, state, kind, RESULT_WRITER_TASK, request)
        return BLOCKED
    entries = _result_entries(run, frame, state)
    config = parameters["WriterConfig"]
    assert isinstance(config, dict)
    if parameters.get("Resource") is None:
        frame.failure = None
        _drop_children(run, frame, state, pending)
        transformation = str(config.get("Transformation", "COMPACT"))
        output = transform_results(entries, transformation)
        return _close_map_run(run, frame, state, pending, output, written=pending is None)
    # The children stay until the write is answered: a write lost with its worker is made
    # again from them (complete_map_io).
    request = {**parameters, "MapRunArn": frame.map_run_arn, "Results": list(entries)}
    _map_io_command(run, frame, state, "write", RESULT_WRITER_TASK, request)
    return BLOCKED


def _children_request(run: Step, frame: Frame, state: MapState) -> dict[str, JSON]:
    """What the service needs besides the store to list a Map Run's child executions in item
    order (engine/service/map_results.py): how many; the records of the items never started
    (PENDING, as the parent alone knows them); the records of the children still here (those
    this step aborted, still RUNNING in the store; one whose start failed; the one whose
    failure failed the Map) for when the store has no closed record of theirs. Every other
    item is a child execution in the store."""
    here = {run.frames[c].index: run.frames[c] for c in frame.child_ids if c in run.frames}
    pending: dict[str, JSON] = {}
    for index in range(frame.started, frame.map_run_runs):
        if str(index) not in frame.kept_results:
            pending[str(index)] = _result_entry(run, frame, state, index, None)
    return {
        "Count": frame.map_run_runs,
        "ExecutionType": state.execution_type,
        "Pending": pending,
        "Here": {str(i): _result_entry(run, frame, state, i, child) for i, child in here.items()},
    }


def _drop_children(run: Step, frame: Frame, state: MapState, pending: Failure | None) -> None:
    """The Map is done with its children: a failing Map keeps the outputs of those that
    succeeded (for a redrive), a succeeding one forgets its items."""
    if pending is None:
        frame.kept_results = {}
        frame.items = ()
        frame.batch_sizes = ()
    else:
        _keep_succeeded(run, frame, state)
    run.remove_children(frame)


def _result_entries(run: Step, frame: Frame, state: MapState) -> list[dict[str, JSON]]:
    """Every item's child run as a result record, in item order: SUCCEEDED, FAILED, ABORTED,
    or PENDING for the ones never started (the runs inside this execution: no store)."""
    children = {run.frames[c].index: run.frames[c] for c in frame.child_ids if c in run.frames}
    return [
        _result_entry(run, frame, state, index, children.get(index))
        for index in range(frame.map_run_runs)
    ]


def _result_entry(
    run: Step, frame: Frame, state: MapState, index: int, child: Frame | None
) -> dict[str, JSON]:
    """Item `index`'s run as a result record, from its frame `child` (None: it is not here,
    so it succeeded before, `kept_results`, or never started)."""
    label = state.label or state.name
    express = state.execution_type == "EXPRESS"
    prefix = map_io.child_arns(run.info.execution_arn, run.info.state_machine_name, label, express)
    machine_arn = f"{run.info.state_machine_arn}/{label}"
    # the child execution's own name when items run as executions (one per attempt)
    name = child_name(frame, index) if run.info.map_children else run.new_uuid()
    child_input = _item(run, frame, state, index)
    common: dict[str, object] = {
        "execution_arn": prefix + name,
        "state_machine_arn": machine_arn,
        "name": name,
        "child_input": child_input,
    }
    if child is None:
        if str(index) in frame.kept_results:
            return map_io.result_entry(
                **common,  # type: ignore[arg-type]
                status="SUCCEEDED",
                output=frame.kept_results[str(index)],
                start=frame.entered_time,
                stop=frame.entered_time,
            )
        return map_io.result_entry(
            **common,  # type: ignore[arg-type]
            status="PENDING",
            start=run.now,
            stop=None,
        )
    if child.phase is Phase.SUCCEEDED:
        return map_io.result_entry(
            **common,  # type: ignore[arg-type]
            status="SUCCEEDED",
            output=child.output,
            start=child.started_time,
            stop=child.stopped_time or run.now,
        )
    failure = child.failure
    return map_io.result_entry(
        **common,  # type: ignore[arg-type]
        status="FAILED" if child.phase is Phase.FAILED else "ABORTED",
        error=failure.error if failure is not None else None,
        cause=failure.cause if failure is not None else None,
        start=child.started_time,
        stop=child.stopped_time or run.now,
    )


def _map_items(state: MapState, data: JSON, scope: object) -> list[JSON]:
    path = state.items_path
    value = data if path is None else _find(path, data, scope)
    if not isinstance(value, list):
        where = path.text if path is not None else "$"
        raise StatesError(
            STATES_RUNTIME,
            f"Invalid path '{where}' : The ItemsPath field must reference a JSON array, got "
            f"{_render(value)}",
        )
    return value


_INTEGER_TEXT = re.compile(r"[+-]?\d+")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _path_integer(value: JSON) -> int | None:
    """The integer a Map *Path field's value stands for, or None.

    AWS takes a JSON integer or a string holding one: `"1"` from a variable runs the Map
    (recorded: test_assign_reference_variables.py::test_reference_in_map_state
    [MAP_STATE_REFERENCE_IN_MAX_CONCURRENCY_PATH] and [..._TOLERATED_FAILURE_PATH]).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    return None


def _path_number(value: JSON) -> float | None:
    """The number a percentage *Path field's value stands for (a JSON number or numeric text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return float(value)
    return None


def _map_max_concurrency(state: MapState, data: JSON, scope: object) -> int:
    if state.max_concurrency_path is None:
        return state.max_concurrency
    value = _find(state.max_concurrency_path, data, scope)
    # AWS tells a value that is no integer from a negative one (test_max_concurrency_path,
    # test_max_concurrency_path_negative).
    number = _path_integer(value)
    if number is None:
        raise StatesError(
            STATES_RUNTIME,
            f'The MaxConcurrencyPath field refers to value "{_render(value)}" which is not a '
            f"valid integer: {state.max_concurrency_path.text}",
        )
    if number < 0:
        raise StatesError(
            STATES_RUNTIME,
            f"Expected non-negative integer for MaxConcurrency, got '{number}' instead.",
        )
    return number


def _map_tolerance(frame: Frame, state: MapState, data: JSON, scope: object, total: int) -> None:
    """How many iterations may fail before the Map fails (AWS: count and percentage, the lower)."""
    limit = math.inf
    set_any = False
    count = state.tolerated_failure_count
    if state.tolerated_failure_count_path is not None:
        value = _find(state.tolerated_failure_count_path, data, scope)
        # A value of the wrong type and a value out of range have different causes
        # (recorded: test_map_state_tolerated_failure_count_path[NoNumber] and [-1]).
        count = _path_integer(value)
        if count is None:
            raise StatesError(
                STATES_RUNTIME,
                f'The ToleratedFailureCountPath field refers to value "{_render(value)}" which is '
                f"not a valid integer: {state.tolerated_failure_count_path.text}",
            )
        if count < 0:
            raise StatesError(STATES_RUNTIME, "ToleratedFailureCount cannot be negative.")
    if count is not None:
        limit = min(limit, count)
        set_any = True
    percentage = state.tolerated_failure_percentage
    if state.tolerated_failure_percentage_path is not None:
        value = _find(state.tolerated_failure_percentage_path, data, scope)
        # Recorded: test_map_state_tolerated_failure_percentage_path[NoNumber], [-1.1], [100.1].
        percentage = _path_number(value)
        if percentage is None:
            raise StatesError(
                STATES_RUNTIME,
                f'The ToleratedFailurePercentagePath field refers to value "{_render(value)}" '
                f"which is not a valid float: {state.tolerated_failure_percentage_path.text}",
            )
        if not 0 <= percentage <= 100:
            raise StatesError(
                STATES_RUNTIME, "ToleratedFailurePercentage must be between 0 and 100."
            )
    if percentage is not None:
        limit = min(limit, math.floor(total * percentage / 100.0))
        set_any = True
    frame.declared_failure_count = count or 0
    frame.declared_failure_percentage = percentage or 0.0
    frame.tolerated_count = limit if set_any else 0.0
    frame.tolerance_set = set_any


def _start_iterations(run: Step, frame: Frame, state: MapState) -> None:
    limit = frame.max_concurrency or frame.map_run_runs
    children = list(frame.child_ids)
    while frame.started < frame.map_run_runs and frame.running < limit:
        index = frame.started
        frame.started += 1
        if str(index) in frame.kept_results:
            continue
        frame.running += 1
        # In the store, the child's start reads it (a snapshot from before items were stored
        # has them here, and its children carry them).
        child_input = None if frame.items_stored else _item(run, frame, state, index)
        silent = frame.silent or state.distributed
        started = 0
        if not silent:
            started = run.emit(frame, "MapIterationStarted", {"name": state.name, "index": index})
        graph_key, start_at = state.processor.key, state.processor.start_at
        if state.distributed and run.info.map_children:
            # The item runs as a child execution, started and awaited by one Task
            # (compile.py `_child_graph`); the child's own history holds its states.
            graph_key, start_at = state.child_graph_key, MAP_RUN_CHILD_STATE
            request: dict[str, JSON] = {
                "MapRunArn": frame.map_run_arn,
                "Name": child_name(frame, index),
                "Index": index,
                "ItemCount": _items_in(frame, state, index),
                "ProcessorKey": state.processor.key,
                "ExecutionType": state.execution_type,
            }
            if frame.items_stored:  # which writing of the items (a redrive writes them again)
                request["Redrives"] = frame.map_run_redrives
            else:
                request["Input"] = child_input
            child_input = request
        child = Frame(
            frame_id=f"{frame.frame_id}/{frame.attempt}.{index}",
            parent_id=frame.frame_id,
            graph_key=graph_key,
            index=index,
            state_name=start_at,
            state_input=child_input,
            last_event_id=started,
            silent=silent,
            variables=child_variables(frame.variables, distributed=state.distributed),
            started_time=run.now,
        )
        run.add_frame(child)
        run.runnable.append(child.frame_id)
        children.append(child.frame_id)
    frame.child_ids = tuple(children)


def _outputs_stored(run: Step, state: MapState) -> bool:
    """Whether the Map's items run as child executions whose outputs stay in the store: the
    Map then keeps no output (nor a record per child that succeeded) in its own state, so a
    step's snapshot does not grow with the items done, and gathers the outputs when it ends,
    or its ResultWriter reads the children's records from the store as it writes them."""
    return state.distributed and run.info.map_children


def _failed_as_execution(failure: Failure | None) -> bool:
    """Whether an item's failure is its child execution's (stored with it, so the Map can
    forget the item), not its start's: a start the service refused (`StepFunctions.*`, as
    AWS names them) or could not make (`States.Runtime`) left no closed child to read the
    error from. A child that failed with States.Runtime itself stays too: kept, it is only
    less memory saved."""
    return failure is not None and not (
        failure.error == STATES_RUNTIME or failure.error.startswith("StepFunctions.")
    )


def _fold_child(run: Step, frame: Frame, child: Frame) -> None:
    """A child execution that closed leaves nothing in the Map's state: its output (or its
    error and cause) is the child's, in the store (`_gather_results` reads them when the Map
    ends, a ResultWriter its record); the Map keeps only counts (`finished`, `failed`), so
    its state does not grow with the items, whatever the tolerated failures. A redrive asks
    every item's child again: the service answers one that succeeded with its output at once
    (engine/service/map_runs.py), and redrives the others."""
    frame.child_ids = tuple(c for c in frame.child_ids if c != child.frame_id)
    run.frames.pop(child.frame_id, None)
    run.forget_frame(child.frame_id)


def _gather_results(run: Step, frame: Frame, state: MapState) -> Outcome:
    """Ask the runtime for the outputs of the children, in item order (a store read:
    engine/service/map_results.py; a tolerated failure's error output too), but for the
    children still here (`Skip`: their frames have them); the Map waits (Phase.TASK)."""
    from engine.definition.distributed import MAP_RESULTS_TASK

    failed = sorted(run.frames[c].index for c in frame.child_ids if c in run.frames)
    request: dict[str, JSON] = {
        "MapRunArn": frame.map_run_arn,
        "Count": frame.map_run_runs,
        "Skip": list(failed),
    }
    _map_io_command(run, frame, state, "gather", MAP_RESULTS_TASK, request)
    return BLOCKED


def child_name(frame: Frame, index: int) -> str:
    """The name of the child execution of item `index` in this run of the Map: a UUID, as AWS
    names them, drawn from the Map Run and the item, so the result files name it too, and a
    redrive of the Map Run finds it again (AWS redrives the failed child itself, same ARN:
    "Redriving Map Runs", child workflow execution redrive behavior)."""
    return map_child_name(frame.map_run_arn, index)


def map_child_name(map_run_arn: str, index: int) -> str:
    """`child_name` from its parts (the Map's results are gathered by these names)."""
    import uuid  # here: a Distributed Map's children only (engine/ids.py says why)

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{map_run_arn}#{index}"))


def _map_child_finished(run: Step, frame: Frame, state: MapState, child: Frame) -> Outcome:
    frame.running -= 1
    frame.finished += 1
    if state.io.writer is not None:  # its result record tells when it stopped
        run.frame(child.frame_id).stopped_time = run.now
    iteration: Details = {"name": state.name, "index": child.index}
    quiet = frame.silent or state.distributed
    if child.phase is Phase.FAILED:
        frame.failed += _items_in(frame, state, child.index)
        if not quiet:
            run.emit(frame, "MapIterationFailed", iteration)
        assert child.failure is not None
        if frame.failed > frame.tolerated_count:
            for other in frame.child_ids:
                if other != child.frame_id and run.frames[other].phase not in (
                    Phase.SUCCEEDED,
                    Phase.FAILED,
                    Phase.ABORTED,
                ):
                    if not quiet:
                        run.emit(
                            frame,
                            "MapIterationAborted",
                            {"name": state.name, "index": run.frames[other].index},
                        )
                    run.abort_frame(other)
            failure = child.failure
            if frame.tolerance_set:
                failure = Failure(
                    "States.ExceedToleratedFailureThreshold",
                    "The specified tolerated failure threshold was exceeded",
                )
            if state.io.writer is not None:
                return _write_results(run, frame, state, failure)
            _keep_succeeded(run, frame, state)
            run.remove_children(frame)
            if state.distributed:
                run.emit(frame, "MapRunFailed", {"error": failure.error, "cause": failure.cause})
                record_map_run(run, frame, "FAILED")
            return Failed(failure, closing_event="MapStateFailed")
        if _outputs_stored(run, state) and _failed_as_execution(child.failure):
            _fold_child(run, frame, child)
    elif not quiet:
        run.emit(frame, "MapIterationSucceeded", iteration)
    elif _outputs_stored(run, state):
        _fold_child(run, frame, child)
    if frame.started < frame.map_run_runs:
        _start_iterations(run, frame, state)
    if frame.finished < frame.map_run_runs:
        return BLOCKED
    return _complete_map(run, frame, state)


def _items_in(frame: Frame, state: MapState, index: int) -> int:
    """How many items a child run had: a failed batch fails each of its items (the tolerated
    failures count items, as the Map's item count does)."""
    if state.io.batcher is None:
        return 1
    if frame.items_stored:
        return frame.batch_sizes[index]
    return _batch_size(frame.items[index])


def _batch_size(batch: JSON) -> int:
    items = batch.get("Items") if isinstance(batch, dict) else None
    return len(items) if isinstance(items, list) else 1


def _item_total(state: MapState, runs: list[JSON]) -> int:
    """The Map Run's items (DescribeMapRun's itemCounts total): one a child run, or the items
    of each ItemBatcher batch (AWS counts items, and child executions apart)."""
    if state.io.batcher is None:
        return len(runs)
    return sum(_batch_size(batch) for batch in runs)


def _keep_succeeded(run: Step, frame: Frame, state: MapState) -> None:
    """Keep the outputs of the iterations that succeeded before the Map failed (a redrive
    re-runs only the others). Child executions keep their outcomes in the store, and the
    Map forgot the children that closed (`_fold_child`): it keeps nothing, and its redrive
    asks each item's child again (the service answers a succeeded one with its output)."""
    if _outputs_stored(run, state):
        frame.started = 0  # nothing to count again in a later `keep_for_redrive`
        return
    kept = dict(frame.kept_results)
    for child_id in frame.child_ids:
        done = run.frames[child_id]
        if done.phase is Phase.SUCCEEDED:
            kept[str(done.index)] = done.output
    frame.kept_results = kept


def keep_for_redrive(run: Step, frame: Frame) -> None:
    """A redrive (core.py `redrive`) is about to drop the frames below `frame`: a Distributed
    Map stopped in the middle (aborted, timed out) first notes the items that succeeded, so
    only the others run again."""
    state = run.graph(frame).states.get(frame.state_name)
    if isinstance(state, MapState) and _outputs_stored(run, state) and frame.started:
        _keep_succeeded(run, frame, state)


def _complete_map(run: Step, frame: Frame, state: MapState) -> Outcome:
    if state.io.writer is not None:
        return _write_results(run, frame, state, None)
    if _outputs_stored(run, state):
        return _gather_results(run, frame, state)
    return _finish_map(run, frame, state, None)


def _finish_map(run: Step, frame: Frame, state: MapState, gathered: list[JSON] | None) -> Outcome:
    """The Map succeeded: its result is every item's output in item order (a failed one's
    error output); `gathered`: the outputs of the children that succeeded, read from the
    store, in item order (else they are the children's frames and `kept_results`)."""
    by_index: dict[int, JSON] = {}
    if gathered is None:
        by_index = {int(i): output for i, output in frame.kept_results.items()}
    for child_id in frame.child_ids:
        child = run.frames[child_id]
        if child.phase is Phase.SUCCEEDED:
            by_index[child.index] = child.output
        elif child.failure is not None:
            by_index[child.index] = dict(child.failure.as_error_output())
    if gathered is not None:  # every item but those of the children here (`_gather_results`)
        here = {run.frames[c].index for c in frame.child_ids if c in run.frames}
        outputs = iter(gathered)
        for index in range(frame.map_run_runs):
            if index not in here:
                by_index[index] = next(outputs)
    outputs_in_order: list[JSON] = [by_index[i] for i in sorted(by_index)]
    run.remove_children(frame)
    frame.items = ()
    frame.batch_sizes = ()
    frame.kept_results = {}
    if state.distributed:
        run.emit(frame, "MapRunSucceeded")
        record_map_run(run, frame, "SUCCEEDED", written=True)
    run.emit(frame, "MapStateSucceeded")
    return _complete_with_result(run, frame, state, outputs_in_order)


def record_map_run(run: Step, frame: Frame, status: str, *, written: bool = False) -> None:
    """The Map Run's record as it is now (a store writes it with the step's commit).
    `written`: it closed with its results written (to its ResultWriter, or as the Map's
    output), which AWS counts as resultsWritten."""
    assert frame.map_run_arn
    run.commands.append(
        RecordMapRun(
            map_run_arn=frame.map_run_arn,
            status=status,
            start=frame.map_run_start,
            stop=None if status == "RUNNING" else run.now,
            total_items=frame.map_run_items,
            max_concurrency=frame.max_concurrency,
            tolerated_failure_count=frame.declared_failure_count,
            tolerated_failure_percentage=frame.declared_failure_percentage,
            redrive_count=frame.map_run_redrives,
            redrive_date=frame.map_run_redriven_at,
            total_executions=frame.map_run_runs,
            results_written=written,
        )
    )


def update_map_run(run: Step, frame: Frame, state: MapState, update: MapRunUpdate) -> None:
    """UpdateMapRun on the running Map: the new concurrency bound starts more children at once
    (or lets fewer start as others finish); the new tolerance counts from now on."""
    if update.max_concurrency is not None:
        frame.max_concurrency = update.max_concurrency
    if update.tolerated_failure_count is not None:
        frame.declared_failure_count = update.tolerated_failure_count
    if update.tolerated_failure_percentage is not None:
        frame.declared_failure_percentage = update.tolerated_failure_percentage
    limits: list[float] = []
    if frame.declared_failure_count > 0:
        limits.append(frame.declared_failure_count)
    if frame.declared_failure_percentage > 0:
        limits.append(math.floor(frame.map_run_runs * frame.declared_failure_percentage / 100.0))
    frame.tolerated_count = min(limits, default=0.0)
    frame.tolerance_set = bool(limits) or frame.tolerance_set
    record_map_run(run, frame, "RUNNING")
    if frame.started < frame.map_run_runs:
        _start_iterations(run, frame, state)


def child_finished(run: Step, frame: Frame, state: State, child: Frame) -> Outcome:
    if isinstance(state, ParallelState):
        return _parallel_child_finished(run, frame, state, child)
    assert isinstance(state, MapState)
    return _map_child_finished(run, frame, state, child)


def _refusing_unresolved(handler: Handler) -> Handler:
    """`handler`, but a state whose typed field still holds a `${Name}` template placeholder
    (compile.py's `State.unresolved`) fails with States.Runtime instead of running: the engine
    cannot wait, time out, retry or compare on a value it does not have, and must not
    silently use none (a Wait on `Seconds: "${T}"` would wait 0 seconds)."""

    def attempt(run: Step, frame: Frame, state: State) -> Outcome:
        if state.unresolved:
            fields = "; ".join(
                f"The field '{where.rsplit('/', 1)[-1]}' ({where}) holds the unsubstituted "
                f"template placeholder '{text}'"
                for where, text in state.unresolved
            )
            raise StatesError(
                STATES_RUNTIME,
                f"{fields} (SAM/CloudFormation DefinitionSubstitutions). Substitute its value "
                "in the definition before running.",
            )
        return handler(run, frame, state)

    return attempt


ATTEMPT_RESOLVED: dict[str, Handler] = {
    "Pass": run_pass,
    "Succeed": run_succeed,
    "Fail": run_fail,
    "Choice": run_choice,
    "Wait": run_wait,
    "Task": run_task,
    "Parallel": run_parallel,
    "Map": run_map,
}
"""State Type -> the work done on entry and on each retry attempt, for a state without an
unresolved placeholder (`State.unresolved` empty: no check to make, one call less)."""

ATTEMPT: dict[str, Handler] = {
    name: _refusing_unresolved(handler) for name, handler in ATTEMPT_RESOLVED.items()
}
"""State Type -> the work done on entry and on each retry attempt."""
