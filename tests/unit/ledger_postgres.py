"""PostgreSQL for the ledger tests. scripts/test.sh exports the URL of one that answers (the local one, or a private
cluster it started: scripts/postgres.sh); run directly, the local server's default is tried. Not a skip when none
answers: the test command provides PostgreSQL, so these tests always run in CI."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import pytest
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("LEDGER_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@lru_cache(maxsize=1)  # probe once per run, not once per test
def _postgres_unreachable_reason() -> str | None:
    try:
        probe = create_engine(PG_URL, connect_args={"connect_timeout": 2})
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure to connect is reported as the test's failure
        return f"PostgreSQL at {PG_URL} not reachable ({type(exc).__name__})"


@contextmanager
def private_schema() -> Iterator[str]:
    """The URL of an empty schema of its own (parallel runs and other suites never see its rows), dropped after."""
    reason = _postgres_unreachable_reason()
    if reason:
        pytest.fail(f"{reason}; run the tests with bash scripts/test.sh (or set LEDGER_TEST_PG_URL)")
    schema = f"ledger_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
