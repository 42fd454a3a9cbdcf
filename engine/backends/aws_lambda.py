"""Lambda Tasks split between local functions and a remote Lambda endpoint: `LambdaRouter`.

Owns: the rule that decides, per call, whether a Lambda Task (`lambda:invoke`,
`.waitForTaskToken`, or a function ARN as Resource) runs a function defined here or is sent to
the configured Lambda endpoint. Must never: run a function itself (the Lambda backend does) or
call an endpoint the operator did not configure (the AWS backend refuses those).

The rule: a function defined locally (`--functions`, `[functions.X]`, `[lambda] sources`) runs
locally, whatever region or account its ARN names: the conformance cases name local functions
with AWS's recorded account. Any other function goes to the Lambda endpoint when one is
configured (`[aws.endpoints] lambda`, `AWS_ENDPOINT_URL_LAMBDA`, `[aws] endpoint_url`,
`AWS_ENDPOINT_URL`) or real AWS is allowed; else it fails as before,
`Lambda.ResourceNotFoundException`.
"""

from __future__ import annotations

from engine.backends.aws_sdk import AwsBackend
from engine.backends.functions import LambdaBackend
from engine.backends.lambda_arn import (
    LAMBDA_INVOKE,
    FunctionRef,
    parse_function_arn,
    parse_function_name,
)
from engine.interpreter.tasks import TaskRequest, TaskResult

__all__ = ["LambdaRouter"]


class LambdaRouter:
    """A Backend for every Lambda resource: the local backend, else the remote endpoint."""

    def __init__(self, local: LambdaBackend, remote: AwsBackend) -> None:
        self.local = local
        self.remote = remote

    def remote_enabled(self) -> bool:
        """Whether functions not defined here go to an endpoint (one is configured for
        Lambda, or real AWS is allowed)."""
        settings = self.remote.settings
        return settings.allow_real_aws or settings.endpoint_for("lambda") is not None

    async def invoke(self, request: TaskRequest) -> TaskResult:
        function = self._remote_function(request)
        if function is None:
            return await self.local.invoke(request)
        parameters = request.payload if isinstance(request.payload, dict) else {}
        return await self.remote.invoke_lambda(function, parameters, request)

    def _remote_function(self, request: TaskRequest) -> FunctionRef | None:
        """The function to call remotely, or None to run the request locally."""
        if not self.remote_enabled():
            return None
        if request.resource.startswith(LAMBDA_INVOKE):
            payload = request.payload
            name = payload.get("FunctionName") if isinstance(payload, dict) else None
            if not isinstance(name, str):
                return None  # the local backend reports the malformed request
            function = parse_function_name(name, region=request.region, account=request.account)
        else:
            function = parse_function_arn(request.resource)
        if function is None or function.name in self.local.function_names:
            return None
        return function

    def close(self) -> None:
        self.local.close()

    async def aclose(self) -> None:
        await self.local.aclose()
