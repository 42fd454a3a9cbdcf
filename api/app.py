"""The ASGI application: both APIs over one service, with the runtime in the same event loop.

Owns: `create_app` (routes, middleware order, error handlers, lifespan). The lifespan starts the
service's worker (unless the service is API-only) and closes the service at shutdown: the app
owns the service from startup on. Must never: hold semantics or per-request state of its own.

The web console (api/console.py) is served at /console by the same app.

Middleware, outermost first: CORS (only when asked for; preflights need no token), then the
request envelope (api/accesslog.py: request id, token, body cap, one log line), which hands
`POST /` (the AWS JSON protocol) straight to its endpoint and everything else to FastAPI.

Every error answer has AWS's body `{"__type", "message"}`: engine errors by the one table in
api/errors.py, unreadable REST requests (FastAPI's validation) as ValidationException or
SerializationException naming the member, unknown routes with their HTTP status, and an engine
bug as InternalError without a traceback (the traceback goes to the log).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from api.accesslog import LOGGER, RequestEnvelope, request_log
from api.awsjson import make_endpoint
from api.console import PUBLIC_PATHS, make_console_router
from api.errors import describe_error, error_body, status_for
from api.rest import make_router
from engine.errors import EngineError
from engine.service import Service

TITLE = "asl-engine"
_NATIVE_TELEMETRY = "telemetry" in inspect.signature(FastAPI).parameters
DESCRIPTION = (
    "Amazon States Language engine. `POST /` speaks the AWS JSON 1.0 protocol of Step "
    "Functions (boto3, the AWS CLI and the AWS SDKs work with `endpoint_url`); the REST API is "
    'under `/v1`. Errors have AWS\'s body `{"__type": code, "message": text}`.'
)


def create_app(
    service: Service,
    *,
    token: str | None = None,
    cors: bool | Sequence[str] = False,
    activity_wait_seconds: float = 60.0,
    metrics: bool = True,
) -> FastAPI:
    """The HTTP application over `service`.

    `token`: when set, every request must present it (`Authorization: Bearer <token>`, or as
    the AWS access key id / session token). `cors`: True allows any origin, a list allows those
    origins, False (the default) sends no CORS headers. `activity_wait_seconds`: the long poll
    of GetActivityTask (AWS: 60 s). `metrics`: serve Prometheus metrics at `GET /metrics`
    (docs/observability.md), behind the same token as the rest.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()  # the worker loop (unless --no-worker) and the retention job
        try:
            yield
        finally:
            await service.aclose()

    if _NATIVE_TELEMETRY:
        # FastAPI's built-in OpenTelemetry looks up the global providers (environment reads) on
        # every request even when none is configured: a third of a StartExecution's cost. The
        # request envelope logs each request instead.
        app = FastAPI(
            title=TITLE,
            description=DESCRIPTION,
            version="1",
            lifespan=lifespan,
            telemetry={"tracing": False, "metrics": False, "logs": False},
        )
    else:
        app = FastAPI(title=TITLE, description=DESCRIPTION, version="1", lifespan=lifespan)
    app.include_router(make_router(service))
    app.include_router(make_console_router(service))
    if metrics:
        _add_metrics_route(app, service)
    app.add_exception_handler(EngineError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    aws = make_endpoint(service, activity_wait_seconds=activity_wait_seconds)
    app.add_middleware(RequestEnvelope, token=token, aws=aws, public=PUBLIC_PATHS)
    if cors:
        origins = ["*"] if cors is True else list(cors)
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["x-amzn-RequestId", "Location"],
        )
    return app


def _add_metrics_route(app: FastAPI, service: Service) -> None:
    exported = service.enable_metrics()

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus' text format, or OpenMetrics when the Accept header asks for it."""
        body, content_type = exported.exposition(request.headers.get("accept", ""))
        return Response(body, media_type=content_type)


async def _engine_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EngineError)
    entry = request_log(request.scope)
    entry.error = exc.code
    code, message = describe_error(exc, entry.request_id)
    status = status_for(code, rest=True)
    body = error_body(code, message)
    if status >= 500:  # REST clients read the id from the body (the header carries it too)
        body["requestId"] = entry.request_id
    return JSONResponse(body, status_code=status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI could not read the request: say which member, where, and why."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    code = "ValidationException"
    for error in exc.errors()[:10]:
        location = error.get("loc", ())
        if error.get("type") == "json_invalid":
            code = "SerializationException"
            reason = error.get("ctx", {}).get("error", "JSON decode error")
            where = f" (character {location[-1]})" if location and location[-1] else ""
            problems.append(f"The request body is not valid JSON: {reason}{where}")
            continue
        where = ".".join(str(part) for part in location)
        if len(where) > 120:  # a deep value's location: the start says which member
            where = where[:120] + "..."
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    message = "; ".join(problems) or "The request is invalid"
    request_log(request.scope).error = code
    return JSONResponse(error_body(code, message), status_code=400)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = "UnknownOperationException" if exc.status_code in (404, 405) else "ValidationException"
    message = f"{request.method} {request.url.path[:200]}: {exc.detail}"
    request_log(request.scope).error = code
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    entry = request_log(request.scope)
    LOGGER.error("request %s failed", entry.request_id, exc_info=exc)
    entry.error = "InternalError"
    body = error_body("InternalError", f"Internal error (request {entry.request_id})")
    body["requestId"] = entry.request_id
    # Starlette answers an unhandled exception outside every middleware, the request
    # envelope included: the id header is set here
    return JSONResponse(body, status_code=500, headers={"x-amzn-RequestId": entry.request_id})
