"""A small seeded SQLite ledger for the gateway's unit tests (the conversation turn and its faults)."""
from __future__ import annotations

from datetime import date

import pytest

from ledger.db import create_schema, make_engine, make_session_factory
from ledger.seed import seed_demo_portfolio


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=8, as_of=date(2026, 11, 23))
    yield make_session_factory(engine)
    engine.dispose()
