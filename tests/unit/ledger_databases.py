"""The ledger's two databases for tests: `session_factory` runs a test on a SQLite file and on PostgreSQL (a
schema of its own per test). PostgreSQL is not optional: scripts/test.sh provides one, so its absence fails."""

import os
import uuid
from functools import lru_cache

import pytest
from sqlalchemy import create_engine, text

from ledger.db import create_schema, make_engine, make_session_factory

# scripts/test.sh exports the URL of a PostgreSQL that answers (the local one, or a private cluster it
# started: scripts/postgres.sh); run directly, the local server's default is tried.
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


@pytest.fixture(params=["sqlite", "postgresql"])
def session_factory(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        create_schema(engine)
        yield make_session_factory(engine)
        engine.dispose()
        return

    reason = _postgres_unreachable_reason()
    if reason:
        # Not a skip: the test command provides PostgreSQL, so these variants always run in CI.
        pytest.fail(f"{reason}; run the tests with bash scripts/test.sh (or set LEDGER_TEST_PG_URL)")
    # A schema of its own per test: parallel runs and other suites never see these rows.
    schema = f"ledger_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        create_schema(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
