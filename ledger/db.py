"""Engine, session factory and schema (ledger.schema: migrations) for the ledger database."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from ledger import phones
from ledger.schema import SchemaUpgrade, upgrade_to_head

def make_engine(url: str) -> Engine:
    # hide_parameters: a failed statement's error (logged, or passed on) never carries the values written,
    # which are borrowers' data.
    if not url.startswith("sqlite"):
        # pre_ping: the action server lives for days; PostgreSQL connections get recycled.
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)

    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    options: dict = {"connect_args": {"check_same_thread": False}, "hide_parameters": True}
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


def create_schema(engine: Engine) -> SchemaUpgrade:
    """Brings the database to the newest schema, whatever it holds: nothing, tables from before migrations, or an
    older revision. Every process that opens the ledger calls it at start."""
    return upgrade_to_head(engine, upkeep=phones.index_missing)  # a database from before the phone index
