"""The tamper-evident audit trail, on SQLite always and PostgreSQL when one answers."""
import hashlib
import json
import os
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from bot import audit
from configuration.settings import AuditSettings, Settings
from bot.audit import GENESIS_HASH, AuditEntry, AuditTrail, canonical_json, unkeyed_hash_of
from bot.audit_seal import AnchorFile, AuditKeyError, load_audit_key
from ledger.models import AuditRecord
# The ledger tests' SQLite + PostgreSQL fixture (a fresh schema per test).
from tests.unit.test_ledger_repository import session_factory  # noqa: F401

T0 = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
KEY = b"k" * 32


@pytest.fixture
def anchor(tmp_path):
    return AnchorFile(tmp_path / "audit.anchor", KEY)


@pytest.fixture
def trail(session_factory, anchor):  # noqa: F811
    return AuditTrail(session_factory, KEY, anchor)


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


def test_a_turn_appended_at_once_continues_the_chain_in_order(trail, session_factory, anchor):  # noqa: F811
    first = trail.append("c1", "B1", "web", "borrower", "我明天还两千", at=T0)
    hashes = trail.append_many("c1", "B1", "web", [
        AuditEntry("bot", "好的，已为您记录。", True), AuditEntry("bot", "再不还就上门", False, ("threat",)),
        AuditEntry("bot", "请问还有其他需要帮助的吗？", True)], at=T0)
    assert len(hashes) == 3 and trail.head() == hashes[-1] and anchor.read().head.record_hash == hashes[-1]
    with session_factory() as session:
        rows = session.execute(text("SELECT text, prev_hash, allowed, rules FROM audit_records ORDER BY id")).all()
    assert [row.text for row in rows][1:] == ["好的，已为您记录。", "再不还就上门", "请问还有其他需要帮助的吗？"]
    assert [row.prev_hash for row in rows][1:] == [first, *hashes[:2]]
    assert (rows[2].allowed, json.loads(rows[2].rules)) == (False, ["threat"])
    assert trail.verify().ok and trail.append_many("c1", "B1", "web", []) == []


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


def test_concurrent_appends_from_threads_keep_one_unforked_chain(trail, session_factory, anchor):  # noqa: F811
    threads, errors = 8, []
    per_thread = 10
    barrier = threading.Barrier(threads)

    def worker(n):
        try:
            barrier.wait()
            for i in range(per_thread):
                # A separate AuditTrail per thread, like separate gateway replicas.
                AuditTrail(session_factory, KEY, anchor).append(f"conv-{n}", None, "voice", "bot", f"t{n} m{i}")
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
    assert trail.verify() == audit.VerifyReport(True, 0, None, "ok", anchored_at=3)
    trail.append("conv-3", None, "web", "bot", "new")
    assert trail.verify().ok


def test_purge_with_nothing_old_is_a_no_op(trail):
    _append_n(trail, 3)
    assert trail.purge_older_than(T0 - timedelta(days=1)).purged == 0
    assert trail.verify().records_checked == 3


def test_retention_defaults_to_three_years_and_reads_the_environment(monkeypatch):
    monkeypatch.delenv("COLLECTIONS_AUDIT_RETENTION_DAYS", raising=False)
    assert Settings().audit.retention_days == 1095
    monkeypatch.setenv("COLLECTIONS_AUDIT_RETENTION_DAYS", "800")
    assert Settings().audit.retention_days == 800
    monkeypatch.setenv("COLLECTIONS_AUDIT_RETENTION_DAYS", "three years")
    with pytest.raises(ValidationError, match=r"audit\.retention_days"):
        Settings()


def test_bad_speaker_and_naive_time_are_refused(trail):
    with pytest.raises(ValueError, match="speaker"):
        trail.append("c", None, "web", "robot", "hi")
    with pytest.raises(ValueError, match="timezone-aware"):
        trail.append("c", None, "web", "bot", "hi", at=datetime(2025, 1, 1))


def test_cli_verify_exits_1_and_names_the_broken_record(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    from ledger.db import create_schema, make_engine, make_session_factory

    monkeypatch.setenv("COLLECTIONS_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    monkeypatch.setenv("COLLECTIONS_AUDIT_ANCHOR_FILE", str(tmp_path / "audit.anchor"))
    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    settings = Settings().audit
    key = load_audit_key(settings)
    cli_trail = AuditTrail(factory, key, AnchorFile(settings.anchor_file, key))
    _append_n(cli_trail, 4, start=datetime.now(UTC) - timedelta(days=5000), step=timedelta(days=1000))
    assert audit.main(["--database-url", url, "verify"]) == 0
    assert "ok: 4 records verified; anchored at record 4" in capsys.readouterr().out
    target = _ids(factory)[1]
    with factory.begin() as session:
        session.execute(text("UPDATE audit_records SET text = 'forged' WHERE id = :id"), {"id": target})
    assert audit.main(["--database-url", url, "verify"]) == 1
    assert f"BROKEN at record {target}" in capsys.readouterr().out
    with factory.begin() as session:
        session.execute(text("DELETE FROM audit_records WHERE id = :id"), {"id": target})
    # Records were 5000, 4000 (deleted above), 3000 and 2000 days old: a 2500-day retention purges the
    # two left that are older than that (5000 and 3000) and keeps the 2000-day-old one.
    kept = _ids(factory)[-1]
    assert audit.main(["--database-url", url, "purge", "--days", "2500"]) == 0
    assert "purged 2 records older than 2500 days" in capsys.readouterr().out
    assert _ids(factory) == [kept]
    # The purge removed the broken middle with the prefix; its checkpoint lets the rest verify again.
    assert audit.main(["--database-url", url, "verify"]) == 0
    engine.dispose()


# --- what a database writer without the key can do (issue 10, finding 10) ---------------------------


def _rewrite_with_sha256_from(session_factory, target_id, new_text):  # noqa: F811
    """The attack: edit one record, then recompute every hash after it the way the chain is documented."""
    with session_factory.begin() as session:
        rows = session.query(AuditRecord).filter(AuditRecord.id >= target_id).order_by(AuditRecord.id).all()
        prev = rows[0].prev_hash
        rows[0].text = new_text
        for row in rows:
            body = canonical_json(row.conversation_id, row.borrower_id, row.channel, row.speaker, row.text,
                                  row.allowed, row.rules, row.created_at, prev)
            row.prev_hash = prev
            row.record_hash = hashlib.sha256(body.encode("utf-8")).hexdigest()
            session.flush()
            prev = row.record_hash


def test_an_edit_with_every_later_hash_recomputed_is_still_caught(trail, session_factory):  # noqa: F811
    _append_n(trail, 8)
    target = _ids(session_factory)[3]
    _rewrite_with_sha256_from(session_factory, target, "借款人同意每月还款5000元")
    report = trail.verify()
    assert not report.ok and report.first_broken_id == target


def test_a_truncated_tail_is_caught_by_the_anchor_file(trail, session_factory):  # noqa: F811
    _append_n(trail, 6)
    ids = _ids(session_factory)
    with session_factory.begin() as session:
        session.execute(text("DELETE FROM audit_records WHERE id >= :id"), {"id": ids[4]})
    report = trail.verify()
    assert not report.ok and report.first_broken_id == ids[5] and "truncated" in report.reason


def test_a_deleted_prefix_posing_as_a_purge_is_caught(trail, session_factory):  # noqa: F811
    _append_n(trail, 6)
    ids = _ids(session_factory)
    with session_factory.begin() as session:
        kept_prev = session.execute(text("SELECT prev_hash FROM audit_records WHERE id = :id"), {"id": ids[3]}).scalar()
        session.execute(text("DELETE FROM audit_records WHERE id < :id"), {"id": ids[3]})
        session.execute(text("INSERT INTO audit_checkpoints (last_purged_id, anchor_hash, purged_count, cutoff, "
                             "created_at) VALUES (:last, :hash, 3, :at, :at)"),
                        {"last": ids[2], "hash": kept_prev, "at": T0})
    report = trail.verify()
    assert not report.ok and "outside a purge" in report.reason


def test_a_legitimate_purge_moves_the_anchor_floor(trail):
    _append_n(trail, 6, step=timedelta(days=100))
    trail.purge_older_than(T0 + timedelta(days=250))
    trail.append("conv-2", None, "web", "bot", "after purge")
    assert trail.verify().ok


def test_an_edited_anchor_file_is_reported(trail, anchor):
    _append_n(trail, 3)
    content = json.loads(anchor.path.read_text())
    content["head"]["id"] = 1
    anchor.path.write_text(json.dumps(content))
    report = trail.verify()
    assert not report.ok and "signature" in report.reason


def test_another_key_cannot_verify_the_chain(trail, session_factory):  # noqa: F811
    _append_n(trail, 3)
    assert not AuditTrail(session_factory, b"x" * 32).verify().ok


def test_the_key_file_is_created_private_once_and_a_readable_one_refused(tmp_path):
    settings = AuditSettings(key_file=tmp_path / "var" / "audit.key")
    key = load_audit_key(settings)
    assert len(key) == 32 and stat.S_IMODE(os.stat(settings.key_file).st_mode) == 0o600
    assert load_audit_key(settings) == key
    os.chmod(settings.key_file, 0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        load_audit_key(settings)
    assert load_audit_key(AuditSettings(key="a deployment's secret key")) == b"a deployment's secret key"
    with pytest.raises(AuditKeyError):
        load_audit_key(AuditSettings(key="short"))


def test_the_anchor_file_is_private(trail, anchor):
    _append_n(trail, 1)
    assert stat.S_IMODE(os.stat(anchor.path).st_mode) == 0o600


def _write_unkeyed_chain(session_factory, n):  # noqa: F811
    """Records as the gateway wrote them before the key: plain SHA-256."""
    prev = GENESIS_HASH
    with session_factory.begin() as session:
        for i in range(n):
            row = AuditRecord(conversation_id="old", borrower_id=None, channel="web", speaker="bot",
                              text=f"旧记录 {i}", allowed=True, rules="[]", created_at=T0 + timedelta(minutes=i),
                              prev_hash=prev)
            row.record_hash = prev = unkeyed_hash_of(row)
            session.add(row)
            session.flush()


def test_migrate_signs_an_unkeyed_chain_and_records_appended_since(trail, session_factory):  # noqa: F811
    _write_unkeyed_chain(session_factory, 4)
    trail.append("new", None, "web", "bot", "written after the upgrade, before the migration")
    report = trail.verify()
    assert not report.ok and "migrate" in report.reason
    assert trail.migrate() == 5
    assert trail.verify().ok and trail.verify().records_checked == 5
    assert trail.migrate() == 0


def test_migrate_refuses_a_chain_already_broken(trail, session_factory):  # noqa: F811
    _write_unkeyed_chain(session_factory, 4)
    target = _ids(session_factory)[2]
    with session_factory.begin() as session:
        session.execute(text("UPDATE audit_records SET text = 'edited' WHERE id = :id"), {"id": target})
    with pytest.raises(ValueError, match=f"record {target}"):
        trail.migrate()
    assert "migrate" in trail.verify().reason  # nothing was re-signed
