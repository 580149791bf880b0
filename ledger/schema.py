"""The ledger database brought to the newest schema: the Alembic revisions in ledger/migrations/, run by whichever
process starts first (the gateway and the action server may start at once on one database; the other waits).

- An empty database: create_all, then stamp the newest revision. One step instead of every revision (each unit
  test starts from an empty database); tests/unit/test_ledger_migrations.py checks both build the same schema.
- Made by create_all before there were migrations (tables, no alembic_version): every revision runs; the first,
  the baseline, keeps the tables it finds and creates the missing ones.
- Versioned: the revisions after its own run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")
# The pg_advisory_xact_lock key of the schema lock ("ledger" in ASCII); nothing else takes advisory locks here.
_POSTGRES_LOCK_KEY = 0x6C6564676572
# How long a process waits for another's migration on SQLite (the driver's default, 5 s, is for short writes).
_SQLITE_MIGRATION_WAIT_MS = 120_000
EMPTY = "empty"
UNVERSIONED = "unversioned"  # made by create_all before the ledger had migrations


@dataclass(frozen=True)
class SchemaUpgrade:
    before: str  # EMPTY, UNVERSIONED, or the revision(s) the database was at
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's settings, in code rather than an alembic.ini: the database is the caller's connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Date first, so the files list in the order they were written.
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@cache  # the revision files are read once per process
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    return _scripts().get_current_head()


def upgrade_to_head(engine: Engine, upkeep: Callable[[Session], object] | None = None) -> SchemaUpgrade:
    """Brings the database to the newest revision, all of it or nothing (one transaction), under a lock; `upkeep`
    then runs in the same transaction (rows one process must fill in, not each of the processes starting)."""
    head = head_revision()
    with _locked_transaction(engine) as connection:
        before = _revision_of(connection)
        if before not in (EMPTY, UNVERSIONED) and not all(_is_known(revision) for revision in before.split(",")):
            raise RuntimeError(f"the ledger database is at revision {before}, which this code does not know (its "
                               f"newest is {head}): a newer version migrated it; run that version")
        if before == EMPTY:
            Base.metadata.create_all(connection)
            MigrationContext.configure(connection).stamp(_scripts(), head)
        elif before != head:
            command.upgrade(alembic_config(connection), "head")
            _refuse_broken_foreign_keys(connection)
        if upkeep is not None:
            with Session(bind=connection) as session:  # joins the transaction: committed with the upgrade
                upkeep(session)
                session.flush()
    return SchemaUpgrade(before, head)


def _refuse_broken_foreign_keys(connection: Connection) -> None:
    """SQLite upgrades run with foreign keys off (_locked_transaction): a row they orphaned rolls the upgrade back."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        raise IntegrityError("PRAGMA foreign_key_check", None,
                             Exception(f"a row of {broken[0]} refers to a missing {broken[2]} row after the upgrade"))


def _is_known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def _revision_of(connection: Connection) -> str:
    heads = MigrationContext.configure(connection).get_current_heads()
    if heads:
        return ",".join(heads)
    if set(inspect(connection).get_table_names()) & set(Base.metadata.tables):
        return UNVERSIONED
    return EMPTY


@contextmanager
def _locked_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that no other process's schema upgrade runs beside: it reads the version after the lock."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            with connection.begin():
                # Held until this transaction ends; PostgreSQL's DDL is transactional, so a failed upgrade
                # leaves the database as it was.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_LOCK_KEY})
                yield connection
        elif engine.dialect.name == "sqlite":
            wait_ms = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {_SQLITE_MIGRATION_WAIT_MS}")
            # SQLite alters a table by copying it; dropping the old copy of a table others refer to would fail
            # (or cascade) with foreign keys on. Off for this connection, checked after an upgrade instead (SQLite's
            # documented procedure for schema changes; the pragma cannot change inside a transaction).
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
            connection.commit()
            try:
                with connection.begin():
                    # IMMEDIATE takes the write lock now, before the version is read (a plain BEGIN would only at
                    # the first write), and makes the DDL one transaction that a failure rolls back.
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                    yield connection
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
                connection.exec_driver_sql("PRAGMA foreign_keys = ON")
                connection.commit()
        else:
            with connection.begin():
                yield connection


def new_revision(message: str) -> Path:
    """Writes a revision of what the models have and the revisions do not (autogenerate), compared on a scratch
    SQLite database brought to head by the revisions alone. Autogenerate does not see a changed CHECK constraint
    (the allowed values of a kind or status) nor data to move: those are written into the file by hand."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/ledger.sqlite3")
        try:
            with engine.begin() as connection:
                config = alembic_config(connection)
                command.upgrade(config, "head")
                script = command.revision(config, message=message, autogenerate=True)
        finally:
            engine.dispose()
    return Path(script.path)
