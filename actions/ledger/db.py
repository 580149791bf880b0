"""Engine, session factory and schema creation for the ledger database."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from actions.ledger.models import Base

PROJECT_ROOT = Path(__file__).resolve().parents[2]
URL_ENV = "LEDGER_DATABASE_URL"


def database_url() -> str:
    """The configured URL, or a SQLite file under <project>/var/ so a checkout just works."""
    configured = os.environ.get(URL_ENV, "").strip()
    if configured:
        return configured
    var_dir = PROJECT_ROOT / "var"
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var_dir / 'ledger.sqlite3'}"


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if not url.startswith("sqlite"):
        # pre_ping: the action server lives for days; PostgreSQL connections get recycled.
        return create_engine(url, pool_pre_ping=True)

    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    options: dict = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        # One shared connection, or every session would see its own empty database.
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        # SQLite ignores foreign keys unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            # WAL lets the CLI read while the action server writes.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: views are built after commit without reloading rows.
    return sessionmaker(engine, expire_on_commit=False)


def create_schema(engine: Engine) -> None:
    Base.metadata.create_all(engine)
