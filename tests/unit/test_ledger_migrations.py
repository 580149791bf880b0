"""The ledger's migrations (ledger/migrations, ledger.schema) on SQLite and PostgreSQL: they build what the models
say, bring every kind of database to the newest revision keeping its rows, and run once when processes race."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, Table, inspect, text
from sqlalchemy.exc import IntegrityError

from ledger import schema
from ledger.__main__ import main as ledger_cli
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import Base
from ledger.repository import Ledger
from ledger.schema import EMPTY, UNVERSIONED, alembic_config, head_revision
from tests.unit.ledger_postgres import private_schema

SQLITE_BEFORE_MIGRATIONS = Path(__file__).parent / "data" / "ledger_sqlite_before_migrations.sql"
BASELINE = "f2a1ab9e78fa"
WRONG_NUMBER = "a098da038aa9"
BEFORE_BORROWER_SOURCE = "f08f6558c118"


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request, tmp_path) -> Iterator[Callable[[], Engine]]:
    """Makes empty databases of the parametrised kind (SQLite files, PostgreSQL schemas); disposed after."""
    engines: list[Engine] = []
    with _urls(request.param, tmp_path) as next_url:
        def make() -> Engine:
            engines.append(make_engine(next_url()))
            return engines[-1]

        try:
            yield make
        finally:
            for engine in engines:
                engine.dispose()


@contextmanager
def _urls(kind: str, tmp_path) -> Iterator[Callable[[], str]]:
    if kind == "sqlite":
        count = iter(range(100))
        yield lambda: f"sqlite:///{tmp_path / f'ledger-{next(count)}.sqlite3'}"
        return
    with private_schema() as first, private_schema() as second:
        urls = iter((first, second))
        yield lambda: next(urls)


def _migrate(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def _revision(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_heads()


def _schema_of(engine: Engine) -> dict:
    """Everything inspection sees, comparable between two databases of one kind (alembic_version left out)."""
    inspector = inspect(engine)
    tables = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        by_name = lambda items: sorted(items, key=lambda item: str(item["name"]))  # noqa: E731
        tables[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(table)],
            "primary key": inspector.get_pk_constraint(table),
            "foreign keys": by_name(inspector.get_foreign_keys(table)),
            "unique": by_name(inspector.get_unique_constraints(table)),
            "checks": [(c["name"], " ".join(c["sqltext"].split())) for c in by_name(inspector.get_check_constraints(table))],
            "indexes": [(i["name"], i["column_names"], bool(i["unique"]),
                         {key: str(value) for key, value in i.get("dialect_options", {}).items()})
                        for i in by_name(inspector.get_indexes(table))],
        }
    if engine.dialect.name == "sqlite":  # AUTOINCREMENT (audit ids never reused) is not reported by inspection
        with engine.connect() as connection:
            for name, sql in connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")):
                if name in tables:
                    tables[name]["autoincrement"] = "AUTOINCREMENT" in sql
    return tables


def test_the_migrations_build_exactly_what_the_models_say(new_database):
    """Fails when ledger/models.py changed without a migration (python -m ledger revision -m "...")."""
    migrated, created = new_database(), new_database()
    _migrate(migrated)
    Base.metadata.create_all(created)
    with migrated.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    missing = 'ledger/models.py differs from the migrations: python -m ledger revision -m "..." (README)'
    assert differences == [], missing
    # CHECK constraints (the allowed values of every kind and status) are beyond compare_metadata: inspected.
    assert _schema_of(migrated) == _schema_of(created), missing


def test_an_empty_database_is_created_whole_and_stamped_with_the_newest_revision(new_database):
    engine = new_database()
    first = create_schema(engine)
    assert (first.before, first.after, first.changed) == (EMPTY, head_revision(), True)
    assert _revision(engine) == (head_revision(),)
    again = create_schema(engine)
    assert (again.before, again.changed) == (head_revision(), False)


def test_a_database_migrated_by_a_newer_version_is_not_touched(new_database):
    engine = new_database()
    create_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed0001'"))
    with pytest.raises(RuntimeError, match="at revision f00dfeed0001, which this code does not know"):
        create_schema(engine)
    assert _revision(engine) == ("f00dfeed0001",)


def _borrower_and_review_requests(engine: Engine) -> list[tuple]:
    created = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO borrowers (borrower_id, full_name, honorific, id_number_masked, date_of_birth, phone, "
            "timezone, language, collection_paused, created_at) VALUES ('B000001', '张伟', '先生', "
            "'**************3821', :born, '13812345678', 'Asia/Shanghai', 'zh', false, :created)"),
            {"born": date(1988, 4, 12), "created": created})
        for number, (kind, status) in enumerate((("distress", "pending"), ("do_not_contact", "applied"),
                                                  ("dispute", "dismissed"))):
            connection.execute(text(
                "INSERT INTO review_requests (conversation_id, borrower_id, channel, kind, said, status, created_at) "
                "VALUES (:conversation, 'B000001', 'phone', :kind, '别再打了', :status, :created)"),
                {"conversation": f"conv-{number}", "kind": kind, "status": status, "created": created})
    return _review_rows(engine)


def _review_rows(engine: Engine) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT * FROM review_requests ORDER BY id"))]


def _insert_review_request(engine: Engine, conversation: str, kind: str, status: str = "pending") -> None:
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO review_requests (conversation_id, channel, kind, said, status, created_at) "
            "VALUES (:conversation, 'phone', :kind, '', :status, :created)"),
            {"conversation": conversation, "kind": kind, "status": status, "created": datetime.now(UTC)})


def test_the_wrong_number_migration_keeps_the_rows_and_still_refuses_unknown_kinds(new_database):
    engine = new_database()
    _migrate(engine, BASELINE)
    with pytest.raises(IntegrityError):
        _insert_review_request(engine, "conv-early", "wrong_number")  # the baseline refuses the new kind
    rows = _borrower_and_review_requests(engine)

    assert create_schema(engine).before == BASELINE
    assert _revision(engine) == (head_revision(),) and _review_rows(engine) == rows
    _insert_review_request(engine, "conv-wrong", "wrong_number")
    with pytest.raises(IntegrityError):
        _insert_review_request(engine, "conv-bogus", "wrong_numbr")
    with pytest.raises(IntegrityError):  # the table's other constraints came through the table copy
        _insert_review_request(engine, "conv-bad-status", "dispute", status="maybe")
    with pytest.raises(IntegrityError):
        _insert_review_request(engine, "conv-wrong", "wrong_number")


def test_downgrading_wrong_number_is_refused_while_such_a_request_is_kept(new_database):
    engine = new_database()
    create_schema(engine)
    _insert_review_request(engine, "conv-wrong", "wrong_number")
    with pytest.raises(IntegrityError), engine.begin() as connection:
        command.downgrade(alembic_config(connection), BASELINE)
    assert _revision(engine) == (head_revision(),) and len(_review_rows(engine)) == 1


def _database_from_before_migrations(engine: Engine) -> list[tuple]:
    """What create_all made before there were migrations, with rows, and (an older create_all) one table that came
    later missing. On SQLite the very tables it made (unnamed constraints); on PostgreSQL, whose default names the
    naming convention repeats, the baseline's tables without alembic_version."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.connection.driver_connection.executescript(SQLITE_BEFORE_MIGRATIONS.read_text())
    else:
        _migrate(engine, BASELINE)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE console_agents"))
    return _borrower_and_review_requests(engine)


def test_a_database_from_before_migrations_is_brought_to_the_newest_revision_keeping_its_rows(new_database):
    engine = new_database()
    rows = _database_from_before_migrations(engine)
    upgrade = create_schema(engine)
    assert (upgrade.before, upgrade.after) == (UNVERSIONED, head_revision())
    assert _review_rows(engine) == rows
    fresh = new_database()
    Base.metadata.create_all(fresh)
    # console_agents created, the CHECK on kinds widened, on SQLite every constraint named
    assert _schema_of(engine) == _schema_of(fresh)
    assert Ledger(make_session_factory(engine)).get_borrower("B000001").full_name == "张伟"


def test_a_sqlite_upgrade_that_would_leave_an_orphan_row_is_rolled_back_whole(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    _database_from_before_migrations(engine)
    with engine.connect() as connection:  # written while foreign keys were off, as SQLite allows
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        connection.exec_driver_sql("INSERT INTO do_not_contact VALUES ('B404', 'asked', 'chat', '2025-01-01')")
        connection.commit()
    schema_before = _schema_of(engine)
    with pytest.raises(IntegrityError, match="a row of do_not_contact refers to a missing borrowers row"):
        create_schema(engine)
    assert _revision(engine) == () and _schema_of(engine) == schema_before  # no table copied, none named
    engine.dispose()


@pytest.mark.parametrize("made_by", ["nothing", "create_all before migrations"])
def test_processes_starting_at_once_upgrade_the_database_once(new_database, made_by):
    """The gateway and the action server start together on one database: one upgrades, the other waits and finds
    it done. Without the lock both would read the old version and the second one's DDL would fail."""
    first = new_database()
    if made_by != "nothing":
        _database_from_before_migrations(first)
    # Each starter has its own engine (its own connections), as separate processes do.
    starters = [make_engine(first.url.render_as_string(hide_password=False)) for _ in range(3)]
    go = threading.Barrier(len(starters))
    results, failures = [], []

    def start(engine: Engine) -> None:
        go.wait()
        try:
            results.append(create_schema(engine).before)
        except Exception as exc:  # surfaced below; a thread must not swallow it silently
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in starters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for engine in starters:
        engine.dispose()
    assert failures == []
    expected_first = EMPTY if made_by == "nothing" else UNVERSIONED
    assert sorted(results) == sorted([expected_first] + [head_revision()] * (len(starters) - 1))
    assert _revision(first) == (head_revision(),)


def test_the_cli_migrates_and_init_takes_the_same_path(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    engine = make_engine(url)
    _database_from_before_migrations(engine)
    assert ledger_cli(["--url", url, "migrate"]) == 0
    assert capsys.readouterr().out.strip() == f"schema {UNVERSIONED} -> {head_revision()} at {url}"
    assert ledger_cli(["--url", url, "init"]) == 0
    assert capsys.readouterr().out.strip() == f"schema already at {head_revision()} at {url}"
    engine.dispose()


def test_revision_writes_a_migration_for_what_the_models_gained(tmp_path, monkeypatch, capsys):
    previous_head = head_revision()
    migrations = tmp_path / "migrations"
    (migrations / "versions").mkdir(parents=True)
    for path in schema.MIGRATIONS.glob("*.*"):
        (migrations / path.name).write_bytes(path.read_bytes())
    for path in (schema.MIGRATIONS / "versions").glob("*.py"):
        (migrations / "versions" / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(schema, "MIGRATIONS", migrations)
    scratch = Table("scratch_notes", Base.metadata, Column("id", Integer, primary_key=True))
    try:
        assert ledger_cli(["revision", "-m", "scratch notes"]) == 0
    finally:
        Base.metadata.remove(scratch)
    written = [path for path in (migrations / "versions").glob("*.py") if "scratch_notes" in path.name]
    assert len(written) == 1 and f"wrote {written[0]}" in capsys.readouterr().out
    body = written[0].read_text()
    assert f"down_revision = '{previous_head}'" in body and "op.create_table('scratch_notes'" in body


def test_borrowers_the_demo_seed_wrote_before_the_source_column_are_marked_demo_and_the_lenders_are_not(new_database):
    """A ledger the old start command seeded, then filled with the lender's portfolio: after the upgrade the seeded
    rows are `demo` (never contacted through a real provider), a lender's row is `portfolio` even under a demo id."""
    from ledger.seed import demo_borrowers

    engine = new_database()
    _migrate(engine, BEFORE_BORROWER_SOURCE)
    seeded = demo_borrowers(4, us_count=2)  # the four fixed borrowers and two US ones
    lender_row = ("B000002", "陈静", "女士", "320102********1234", "13912340000")  # B000002, not as seeded
    rows = [(d.borrower_id, d.full_name, d.honorific, d.id_number_masked, d.phone) for d in seeded
            if d.borrower_id != "B000002"] + [lender_row]
    with engine.begin() as connection:
        for row in rows:
            connection.execute(text(
                "INSERT INTO borrowers (borrower_id, full_name, honorific, id_number_masked, date_of_birth, phone, "
                "timezone, language, collection_paused, created_at) VALUES (:id, :name, :honorific, :masked, :born, "
                ":phone, 'Asia/Shanghai', 'zh', false, :created)"),
                {"id": row[0], "name": row[1], "honorific": row[2], "masked": row[3], "phone": row[4],
                 "born": date(1988, 4, 12), "created": datetime(2026, 11, 1, tzinfo=UTC)})
    _migrate(engine)
    with engine.connect() as connection:
        sources = dict(connection.execute(text("SELECT borrower_id, source FROM borrowers")).all())
    assert sources == {"B000001": "demo", "B000003": "demo", "B000004": "demo", "B900001": "demo", "B900002": "demo",
                       "B000002": "portfolio"}
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE borrowers SET source = 'imagined' WHERE borrower_id = 'B000001'"))
