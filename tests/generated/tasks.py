"""Task states: which Lambda function, in which form, with what plan, timeout and fields.

Owns: how a generated Task is drawn: the function (handlers.py) and its plan of outcomes per
attempt (a literal, or the data's `plan`), the function-ARN or `lambda:invoke` form, the event
(`$$.State.RetryCount` as `attempt`, a `value` from the data), TimeoutSeconds(Path), the
result's fields, Retry and Catch. Must never: let a Task that may run more than once sleep past
its timeout (each costs a second of wall time), or leave a `lambda:invoke` result's
nondeterministic HTTP metadata in the data.
"""

from __future__ import annotations

from engine.values import JSON
from tests.generated import expressions as ex
from tests.generated import fields
from tests.generated.builder import Bounds, Builder, Graph, retries
from tests.generated.expressions import FUNCTION_ARN, JSONATA, LAMBDA_INVOKE, Body
from tests.generated.handlers import FUNCTION_NAMES, TIMEOUT


def task_body(b: Builder, ctx: Graph, language: str, later: list[str]) -> tuple[Body, Bounds]:
    # At most one Task per machine sleeps past its TimeoutSeconds, and only where it runs
    # at most once (no loop, Map or retried parent): each costs a second of wall time.
    timeout = (
        b.options.allow_timeouts
        and not ctx.repeat
        and b.timeouts == 0
        and (b.options.prefer_timeouts or b.flip(4))
    )
    function = "gen_plan" if timeout else b.pick(FUNCTION_NAMES)
    invoke = b.flip(3)
    b.features.add("Task.lambda:invoke" if invoke else "Task.function_arn")
    b.features.add(f"Task.{function}")
    literal_plan: list[JSON] | None = None
    plan_from_data = not timeout and "plan" in ctx.shape and b.flip(3)
    if not plan_from_data:
        literal_plan = list(b.draw(ex.plans))
        if timeout:
            literal_plan = [TIMEOUT, *literal_plan]
            b.timeouts += 1
            b.features.add("Task.timeout")
    shape = ctx.shape
    body: Body = {"Type": "Task"}
    if language == JSONATA:
        event: Body = {
            "attempt": "{% $states.context.State.RetryCount %}",
            "value": f"{{% {task_value(b, shape, language)} %}}",
            "plan": "{% $states.input.plan %}" if plan_from_data else literal_plan,
        }
    else:
        if b.flip(8):
            body["InputPath"] = "$"
        event = {
            "attempt.$": "$$.State.RetryCount",
            "value.$": task_value(b, shape, language),
        }
        if plan_from_data:
            event["plan.$"] = "$.plan"
        else:
            event["plan"] = literal_plan
        if b.flip(4):
            event.update(fields.template(b, shape, ctx.variables, size=1))
    if function == "gen_parity" and b.flip(2):
        event["heal"] = b.integer(0, 3)
    if invoke:
        name = b.pick([function, FUNCTION_ARN + function])
        arguments: Body = {"FunctionName": name, "Payload": event}
        body["Resource"] = LAMBDA_INVOKE
    else:
        arguments = event
        body["Resource"] = FUNCTION_ARN + function
    body["Arguments" if language == JSONATA else "Parameters"] = arguments
    if timeout:
        body["TimeoutSeconds"] = 1
    elif b.flip(6):
        body["TimeoutSeconds"] = b.pick_number([60, 3600])
    elif b.flip(10) and "secs" in shape:
        if language == JSONATA:
            body["TimeoutSeconds"] = "{% $states.input.secs + 30 %}"
        else:
            body["TimeoutSecondsPath"] = "$.secs"  # 0 fails the state: States.Runtime
        b.features.add("Task.TimeoutSecondsPath")
    if language == JSONATA:
        result = "$states.result.Payload" if invoke else "$states.result"
        if b.disruptive():
            body["Output"] = f"{{% {result} %}}"
        else:
            body["Output"] = f"{{% $merge([$states.input, {{'res': {result}}}]) %}}"
        assign = fields.jsonata_assign(b, ctx, "$states.result")
    else:
        if invoke:
            body["ResultSelector"] = b.pick_object(
                [{"Payload.$": "$.Payload"}, {"value.$": "$.Payload.value", "fn": "x"}]
            )
        elif b.flip(3):
            body["ResultSelector"] = {"out.$": "$.value", "fn.$": "$.fn"}
            b.features.add("ResultSelector")
        body.update(fields.result_path(b))
        body.update(fields.output_path(b))
        assign = fields.jsonpath_assign(b, ctx, {}, result="task")
    if assign:
        body["Assign"] = assign
    retry = fields.retriers(b)
    if retry:
        body["Retry"] = retry
    catch = fields.catchers(b, ctx, language, later)
    if catch:
        body["Catch"] = catch
    attempts = 1 + retries(retry)
    timed = "TimeoutSeconds" in body or "TimeoutSecondsPath" in body
    timers = attempts - 1 + (attempts if timed else 0)
    return body, Bounds(entries=1, attempts=attempts, timers=timers)


def task_value(b: Builder, shape: ex.Shape, language: str) -> str:
    ints = ex.paths(shape, ex.INT) or ex.paths(shape, ex.STR) or ["$"]
    path = b.pick(ints)
    if language == JSONATA:
        return "$states.input" + path[1:]
    return path
