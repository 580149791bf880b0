"""Small seeded SQLite ledgers for the gateway's unit tests."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.orm import sessionmaker

from ledger.db import create_schema, make_engine, make_session_factory
from ledger.seed import seed_demo_portfolio

SEEDED_AS_OF = date(2026, 11, 23)


@contextmanager
def seeded_sqlite(directory: Path, count: int, **seed: object) -> Iterator[tuple[str, sessionmaker]]:
    """A ledger file in `directory` with `count` demo borrowers overdue as of SEEDED_AS_OF: its URL (for a gateway
    under test) and a session factory, whose engine is closed on exit."""
    url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=count, as_of=SEEDED_AS_OF, **seed)
    try:
        yield url, sessions
    finally:
        engine.dispose()


@pytest.fixture
def sessions(tmp_path):
    """The conversation turn and its faults."""
    with seeded_sqlite(tmp_path, count=8) as (_, sessions):
        yield sessions
