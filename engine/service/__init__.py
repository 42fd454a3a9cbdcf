"""The application service: the one place every interface (CLI, REST, AWS JSON) calls.

Owns: the Step Functions operations and their rules (names, ARNs, idempotency of
StartExecution and CreateStateMachine, versions and aliases, task-token callbacks, activities,
redrive, retention), compiled machines cached per definition revision, and the lifecycle of the
in-process runtime and worker. Must never: parse HTTP or arguments (interfaces translate), or
decide ASL semantics (the interpreter does).

One module per concern, each adding its operations on top of the one below:

    base.py        ServiceBase: the parts (store, runtime, worker, backends) and their lifecycle
    machines.py    + state machines, versions, aliases
    executions.py  + StartExecution, StopExecution, RedriveExecution, describing, histories
    nested.py      + child executions of `states:startExecution` Tasks
    map_runs.py    + Distributed Map child executions, DescribeMapRun, ListMapRuns, UpdateMapRun
    callbacks.py   + task-token callbacks and activities
    schedules.py   + schedules (cron, rate, at) and the firing of their ticks
    tags.py        TagOperations (on ServiceBase): tags of machines and activities
    teststate.py   TestStateOperations (on ServiceBase): TestState, one state run on its own
    checks.py      the checks of a request's arguments (inputs, tokens, ARNs)
    config.py      ServiceConfig and AWS's limits;  starts.py  group commit of starts

Errors are `EngineError`s with AWS's error codes (engine/errors.py); the interfaces map them to
their wire format in one table each.
"""

from __future__ import annotations

from engine.errors import EngineError
from engine.service.checks import check_arn, revision_id, split_qualified
from engine.service.config import DEFAULT_ROLE, ServiceConfig
from engine.service.schedules import ScheduleOperations
from engine.service.tags import TagOperations
from engine.service.teststate import TestStateOperations

__all__ = [
    "DEFAULT_ROLE",
    "EngineError",
    "Service",
    "ServiceConfig",
    "check_arn",
    "revision_id",
    "split_qualified",
]


class Service(ScheduleOperations, TagOperations, TestStateOperations):
    """Step Functions operations over one store. Use as `async with Service(...) as service:`."""
