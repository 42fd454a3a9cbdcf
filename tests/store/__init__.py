"""Helpers shared by the store tests: every store implementation, fresh, behind one fixture.

PostgreSQL runs only when `ASL_TEST_POSTGRES_URL` names a server (.ci/run sets it); each test
session gets its own uniquely named schema (selected through the connection's search_path), so
parallel runs (pytest -n 2, two CI jobs) never see each other's tables, and drops it at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import make_url, text

from engine.store.sql import create_sql_engine

POSTGRES_VARIABLE = "ASL_TEST_POSTGRES_URL"
POSTGRES_SKIP = (
    f"PostgreSQL store tests need {POSTGRES_VARIABLE} "
    "(e.g. postgresql://postgres@127.0.0.1:5432/test); it is not set"
)


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_VARIABLE) or None


POSTGRES_PARAM = pytest.param(
    "postgresql",
    id="postgresql",
    marks=[pytest.mark.postgres, pytest.mark.skipif(postgres_url() is None, reason=POSTGRES_SKIP)],
)
"""The PostgreSQL case of a parametrised store fixture: marked, and skipped without a server."""


def with_search_path(url: str, schema: str) -> str:
    """`url` whose connections use `schema` first (libpq's `options`, passed by psycopg)."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A new empty schema on the server at `url`; yields a URL that uses it; drops it after."""
    schema = f"asl_test_{uuid.uuid4().hex[:12]}"
    admin = create_sql_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield with_search_path(url, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
