"""The ledger's two databases for tests: `session_factory` runs a test on a SQLite file and on PostgreSQL (a
schema of its own per test, tests.unit.ledger_postgres). PostgreSQL is not optional: scripts/test.sh provides one,
so its absence fails."""

import pytest

from ledger.db import create_schema, make_engine, make_session_factory
from tests.unit.ledger_postgres import private_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def session_factory(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        create_schema(engine)
        yield make_session_factory(engine)
        engine.dispose()
        return
    with private_schema() as url:
        engine = make_engine(url)
        try:
            create_schema(engine)
            yield make_session_factory(engine)
        finally:
            engine.dispose()
