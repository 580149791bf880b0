"""The tamper-evident audit trail, on SQLite always and PostgreSQL when one answers."""
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot import audit
from bot.audit import GENESIS_HASH, AuditTrail
# The ledger tests' SQLite + PostgreSQL fixture (a fresh schema per test).
from tests.unit.test_ledger_repository import session_factory  # noqa: F401

T0 = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def trail(session_factory):  # noqa: F811
    return AuditTrail(session_factory)


def _append_n(trail, n, start=T0, step=timedelta(minutes=1)):
    return [
        trail.append("conv-1", "B000001", "web", ("bot", "borrower")[i % 2], f"第{i}句 utterance {i}",
                     allowed=True if i % 2 == 0 else None, rules=("r_a", "r_b") if i % 3 == 0 else (),
                     at=start + i * step)
        for i in range(n)
    ]


def _ids(session_factory):  # noqa: F811
    with session_factory() as session:
        return [row[0] for row in session.execute(text("SELECT id FROM audit_records ORDER BY id"))]


def test_appended_records_form_a_chain_that_verifies(trail, session_factory):  # noqa: F811
    hashes = _append_n(trail, 12)
    assert len(set(hashes)) == 12 and all(len(h) == 64 for h in hashes)
    report = trail.verify()
    assert (report.ok, report.records_checked, report.first_broken_id) == (True, 12, None)
    with session_factory() as session:
        first_prev = session.execute(text("SELECT prev_hash FROM audit_records ORDER BY id LIMIT 1")).scalar()
    assert first_prev == GENESIS_HASH
    assert trail.head() == hashes[-1]


def test_empty_trail_verifies(trail):
    assert trail.verify().ok


def test_text_edited_with_sql_is_reported_at_exactly_that_record(trail, session_factory):  # noqa: F811
    _append_n(trail, 10)
    target = _ids(session_factory)[4]
    with session_factory.begin() as session:
        session.execute(text("UPDATE audit_records SET text = 'edited' WHERE id = :id"), {"id": target})
    report = trail.verify()
    assert not report.ok
    assert report.first_broken_id == target
    assert "hash" in report.reason


def test_allowed_flag_flipped_is_detected(trail, session_factory):  # noqa: F811
    _append_n(trail, 6)
    target = _ids(session_factory)[2]
    with session_factory.begin() as session:
        session.execute(text("UPDATE audit_records SET allowed = false WHERE id = :id"), {"id": target})
    assert trail.verify().first_broken_id == target


def test_deleted_middle_record_is_detected_at_its_successor(trail, session_factory):  # noqa: F811
    _append_n(trail, 10)
    ids = _ids(session_factory)
    with session_factory.begin() as session:
        session.execute(text("DELETE FROM audit_records WHERE id = :id"), {"id": ids[5]})
    report = trail.verify()
    assert not report.ok
    assert report.first_broken_id == ids[6]
    assert "prev_hash" in report.reason


def test_deleted_first_record_is_detected(trail, session_factory):  # noqa: F811
    _append_n(trail, 4)
    ids = _ids(session_factory)
    with session_factory.begin() as session:
        session.execute(text("DELETE FROM audit_records WHERE id = :id"), {"id": ids[0]})
    assert trail.verify().first_broken_id == ids[1]


def test_rehashed_edit_still_breaks_the_successor(trail, session_factory):  # noqa: F811
    _append_n(trail, 5)
    ids = _ids(session_factory)
    with session_factory.begin() as session:
        session.execute(text("UPDATE audit_records SET text = 'x', record_hash = :h WHERE id = :id"),
                        {"h": "f" * 64, "id": ids[1]})
    assert trail.verify().first_broken_id == ids[1]


def test_concurrent_appends_from_threads_keep_one_unforked_chain(trail, session_factory):  # noqa: F811
    threads, errors = 8, []
    per_thread = 10
    barrier = threading.Barrier(threads)

    def worker(n):
        try:
            barrier.wait()
            for i in range(per_thread):
                # A separate AuditTrail per thread, like separate gateway replicas.
                AuditTrail(session_factory).append(f"conv-{n}", None, "voice", "bot", f"t{n} m{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    report = trail.verify()
    assert (report.ok, report.records_checked) == (True, threads * per_thread)
    with session_factory() as session:
        distinct_prev = session.execute(text("SELECT COUNT(DISTINCT prev_hash) FROM audit_records")).scalar()
    assert distinct_prev == threads * per_thread


def test_purge_keeps_the_rest_verifiable_and_writes_a_checkpoint(trail, session_factory):  # noqa: F811
    hashes = _append_n(trail, 10, step=timedelta(days=100))
    cutoff = T0 + timedelta(days=450)  # records 0..4 are older
    result = trail.purge_older_than(cutoff)
    assert (result.purged, result.anchor_hash) == (5, hashes[4])
    report = trail.verify()
    assert (report.ok, report.records_checked) == (True, 5)
    # The chain continues after a purge, and tampering after it is still caught.
    trail.append("conv-2", "B000002", "web", "agent", "after purge")
    assert trail.verify().ok
    ids = _ids(session_factory)
    with session_factory.begin() as session:
        session.execute(text("DELETE FROM audit_records WHERE id = :id"), {"id": ids[0]})
    assert trail.verify().first_broken_id == ids[1]


def test_purge_of_everything_then_append_still_verifies(trail):
    _append_n(trail, 3)
    assert trail.purge_older_than(T0 + timedelta(days=1)).purged == 3
    assert trail.verify() == audit.VerifyReport(True, 0, None, "ok")
    trail.append("conv-3", None, "web", "bot", "new")
    assert trail.verify().ok


def test_purge_with_nothing_old_is_a_no_op(trail):
    _append_n(trail, 3)
    assert trail.purge_older_than(T0 - timedelta(days=1)).purged == 0
    assert trail.verify().records_checked == 3


def test_retention_defaults_to_three_years_and_reads_the_environment(monkeypatch):
    monkeypatch.delenv("AUDIT_RETENTION_DAYS", raising=False)
    assert audit.retention_days() == 1095
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "800")
    assert audit.retention_days() == 800
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "three years")
    with pytest.raises(ValueError, match="AUDIT_RETENTION_DAYS"):
        audit.retention_days()


def test_bad_speaker_and_naive_time_are_refused(trail):
    with pytest.raises(ValueError, match="speaker"):
        trail.append("c", None, "web", "robot", "hi")
    with pytest.raises(ValueError, match="timezone-aware"):
        trail.append("c", None, "web", "bot", "hi", at=datetime(2025, 1, 1))


def test_cli_verify_exits_1_and_names_the_broken_record(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    from actions.ledger.db import create_schema, make_engine, make_session_factory

    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    cli_trail = AuditTrail(factory)
    _append_n(cli_trail, 4, start=datetime.now(UTC) - timedelta(days=5000), step=timedelta(days=1000))
    assert audit.main(["--database-url", url, "verify"]) == 0
    assert "ok: 4 records" in capsys.readouterr().out
    target = _ids(factory)[1]
    with factory.begin() as session:
        session.execute(text("UPDATE audit_records SET text = 'forged' WHERE id = :id"), {"id": target})
    assert audit.main(["--database-url", url, "verify"]) == 1
    assert f"BROKEN at record {target}" in capsys.readouterr().out
    with factory.begin() as session:
        session.execute(text("DELETE FROM audit_records WHERE id = :id"), {"id": target})
    # Default retention (3 years) purges the three oldest (5000, 4000, 3000 days old ... 2000 too).
    assert audit.main(["--database-url", url, "purge", "--days", "2500"]) == 0
    assert "purged" in capsys.readouterr().out
    engine.dispose()
