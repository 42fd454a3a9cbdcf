"""Schemathesis over the REST API's own OpenAPI document: no answer >= 500, AWS's error body.

Every operation of `/openapi.json`, with schema-valid requests (positive) and requests that
break the schema (negative: wrong types, missing members, out-of-range values), in process
through ASGI. The budget is fixed (EXAMPLES per operation and mode) so CI stays well under a
minute on 2 cores; the run's request count is printed at the end (tests/api/tally.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from starlette.types import Receive, Scope, Send

from api.app import create_app
from engine.service import Service, ServiceConfig
from engine.store.memory import MemoryStore
from engine.store.open import open_store
from tests.api.tally import record

EXAMPLES = int(os.environ.get("ASL_FUZZ_EXAMPLES", "100"))
SEEN = {"requests": 0, "server_errors": 0}


# Module level, as schemathesis's pytest integration asks (its `from_fixture` does not work with
# this pytest). Schemathesis runs an app's lifespan per test (per operation), and a service does
# not start again once closed: the app is called without its lifespan, which an API-only
# service (worker=False) does not need; all calls run on schemathesis's one event loop.
# (`ASL_FUZZ_STORE_URL` names another store, e.g. a PostgreSQL schema, for a longer hunt.)
STORE = open_store(os.environ["ASL_FUZZ_STORE_URL"]) if "ASL_FUZZ_STORE_URL" in os.environ else None
SERVICE = Service(STORE or MemoryStore(), config=ServiceConfig(worker=False, seed=11))
APP = create_app(SERVICE)


async def without_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "lifespan":
        await APP(scope, receive, send)
        return
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


rest = schemathesis.openapi.from_dict(APP.openapi())
rest.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES
)


@pytest.fixture(scope="module", autouse=True)
def _tally() -> Iterator[None]:
    yield
    if STORE is not None:
        STORE.close()
    record("schemathesis-rest", SEEN["requests"], SEEN["server_errors"])


@rest.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_rest_api_never_answers_5xx(case: schemathesis.Case) -> None:
    response = case.call(app=without_lifespan)
    SEEN["requests"] += 1
    if response.status_code >= 500:
        SEEN["server_errors"] += 1
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.headers.get("content-type", [""])[0].startswith(
        "application/json"
    ):
        body = response.json()
        assert isinstance(body, dict)
        assert {"__type", "message"} <= set(body), body
        assert "Traceback" not in body["message"]
