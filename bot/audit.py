"""Tamper-evident audit trail of every utterance: a SHA-256 hash chain in the ledger database.

Each `AuditRecord` stores `prev_hash` (the previous record's `record_hash`; 64 zeros for the
first) and `record_hash` = SHA-256 of a canonical JSON of its own fields plus `prev_hash`.
Editing a row breaks its own hash; deleting a row breaks its successor's `prev_hash`.

Appends are serialised so the chain never forks: a transaction-level advisory lock on
PostgreSQL (`pg_advisory_xact_lock`), `BEGIN IMMEDIATE` on SQLite, plus an in-process lock;
`prev_hash` is also UNIQUE, so a fork is refused by the database even if a writer skipped the lock.

Retention: `purge_older_than(cutoff)` deletes the oldest prefix of the chain and writes an
`AuditCheckpoint` holding the last purged record's hash; `verify()` starts from the latest
checkpoint's hash instead of the genesis hash, so the remaining chain still verifies.
Retention defaults to 3 years (Regulation F 1006.100; longer than the 2 years of the
信用卡业务管理办法), overridable with AUDIT_RETENTION_DAYS.

CLI:  python -m bot.audit verify     exit 1 and print the first broken record id on failure
      python -m bot.audit purge      delete records older than the retention period
The database is LEDGER_DATABASE_URL (see actions.ledger.db), or --database-url.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import threading
import time as _time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from actions.ledger.models import AUDIT_SPEAKERS, AuditCheckpoint, AuditRecord, utc_now

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
RETENTION_ENV = "AUDIT_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 3 * 365
# Arbitrary constant naming "the audit chain" among PostgreSQL advisory locks.
ADVISORY_LOCK_KEY = 0x41554449545F4348 & 0x7FFFFFFFFFFFFFFF
_SQLITE_RETRIES = 50

_process_locks: dict[int, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def retention_days() -> int:
    raw = os.environ.get(RETENTION_ENV, "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"{RETENTION_ENV} must be a whole number of days, not {raw!r}") from None
    if days < 1:
        raise ValueError(f"{RETENTION_ENV} must be at least 1")
    return days


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_json(conversation_id: str, borrower_id: str | None, channel: str, speaker: str,
                   text_: str, allowed: bool | None, rules: str, created_at: datetime,
                   prev_hash: str) -> str:
    payload = {
        "allowed": allowed, "borrower_id": borrower_id, "channel": channel,
        "conversation_id": conversation_id, "created_at": _iso(created_at), "prev_hash": prev_hash,
        "rules": rules, "speaker": speaker, "text": text_,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def record_hash_of(row: AuditRecord) -> str:
    body = canonical_json(row.conversation_id, row.borrower_id, row.channel, row.speaker, row.text,
                          row.allowed, row.rules, row.created_at, row.prev_hash)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    records_checked: int
    first_broken_id: int | None
    reason: str


@dataclass(frozen=True)
class PurgeReport:
    purged: int
    last_purged_id: int | None
    anchor_hash: str | None


class AuditTrail:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory
        engine = session_factory.kw["bind"]
        self._dialect = engine.dialect.name
        with _process_locks_guard:
            self._local_lock = _process_locks.setdefault(id(engine), threading.Lock())

    # --- writing ----------------------------------------------------------------------------

    def append(self, conversation_id: str, borrower_id: str | None, channel: str, speaker: str,
               text: str, allowed: bool | None = None, rules: Iterable[str] = (),
               at: datetime | None = None) -> str:
        """Append one utterance to the chain; returns its record_hash."""
        if speaker not in AUDIT_SPEAKERS:
            raise ValueError(f"speaker must be one of {AUDIT_SPEAKERS}, not {speaker!r}")
        at = at or utc_now()
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("at must be timezone-aware")
        at = at.astimezone(UTC)
        rules_json = json.dumps(list(rules), ensure_ascii=False, separators=(",", ":"))

        def write(session: Session) -> str:
            prev = self._head(session)
            row = AuditRecord(conversation_id=conversation_id, borrower_id=borrower_id, channel=channel,
                              speaker=speaker, text=text, allowed=allowed, rules=rules_json,
                              created_at=at, prev_hash=prev)
            row.record_hash = record_hash_of(row)
            session.add(row)
            session.flush()
            return row.record_hash

        return self._serialised(write)

    def purge_older_than(self, cutoff: datetime) -> PurgeReport:
        """Delete the oldest records (the longest prefix of the chain created before `cutoff`)
        and write a checkpoint so the rest still verifies."""
        if cutoff.tzinfo is None or cutoff.utcoffset() is None:
            raise ValueError("cutoff must be timezone-aware")

        def purge(session: Session) -> PurgeReport:
            # Purge a prefix only: a chain with a hole in the middle would not verify.
            first_kept = session.scalar(select(func.min(AuditRecord.id))
                                        .where(AuditRecord.created_at >= cutoff))
            query = select(AuditRecord.id, AuditRecord.record_hash).order_by(AuditRecord.id.desc()).limit(1)
            if first_kept is not None:
                query = query.where(AuditRecord.id < first_kept)
            last = session.execute(query).first()
            if last is None:
                return PurgeReport(0, None, None)
            last_id, anchor = last
            purged = session.execute(delete(AuditRecord).where(AuditRecord.id <= last_id)).rowcount
            session.add(AuditCheckpoint(last_purged_id=last_id, anchor_hash=anchor,
                                        purged_count=purged, cutoff=cutoff))
            log.info("audit purge removed=%d through_id=%d", purged, last_id)
            return PurgeReport(purged, last_id, anchor)

        return self._serialised(purge)

    def purge(self, now: datetime | None = None) -> PurgeReport:
        """Purge what is older than the configured retention period."""
        return self.purge_older_than((now or utc_now()) - timedelta(days=retention_days()))

    # --- checking ---------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Walk the chain from the latest checkpoint (or genesis); report the first broken record."""
        with self._sessions() as session:
            checkpoint = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())
                                         .limit(1)).first()
            expected = checkpoint.anchor_hash if checkpoint else GENESIS_HASH
            floor = checkpoint.last_purged_id if checkpoint else 0
            checked = 0
            rows = session.scalars(select(AuditRecord).order_by(AuditRecord.id)
                                   .execution_options(yield_per=500))
            for row in rows:
                checked += 1
                if row.id <= floor:
                    return VerifyReport(False, checked, row.id, "record older than the last purge checkpoint")
                if row.prev_hash != expected:
                    return VerifyReport(False, checked, row.id,
                                        "prev_hash does not match the record before it "
                                        "(a record was deleted, inserted or re-hashed)")
                if record_hash_of(row) != row.record_hash:
                    return VerifyReport(False, checked, row.id, "record content does not match its hash")
                expected = row.record_hash
            return VerifyReport(True, checked, None, "ok")

    def head(self) -> str:
        """The hash the next record will point back to (publish it to anchor the chain externally)."""
        with self._sessions() as session:
            return self._head(session)

    # --- internals --------------------------------------------------------------------------

    @staticmethod
    def _head(session: Session) -> str:
        last = session.scalar(select(AuditRecord.record_hash).order_by(AuditRecord.id.desc()).limit(1))
        if last is not None:
            return last
        anchor = session.scalar(select(AuditCheckpoint.anchor_hash)
                                .order_by(AuditCheckpoint.id.desc()).limit(1))
        return anchor or GENESIS_HASH

    def _serialised(self, work):
        """Run `work(session)` in one transaction holding the chain's write lock."""
        with self._local_lock:
            for attempt in range(_SQLITE_RETRIES):
                try:
                    with self._sessions() as session, session.begin():
                        connection = session.connection()
                        if self._dialect == "postgresql":
                            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                               {"key": ADVISORY_LOCK_KEY})
                        elif self._dialect == "sqlite":
                            connection.exec_driver_sql("BEGIN IMMEDIATE")
                        return work(session)
                except OperationalError as exc:  # SQLite: another process holds the write lock
                    if self._dialect != "sqlite" or "locked" not in str(exc) or attempt == _SQLITE_RETRIES - 1:
                        raise
                    _time.sleep(0.05 * (attempt + 1))
        raise RuntimeError("unreachable")


# --- CLI ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from actions.ledger.db import create_schema, database_url, make_engine, make_session_factory

    parser = argparse.ArgumentParser(prog="python -m bot.audit", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None, help="defaults to LEDGER_DATABASE_URL")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("verify", help="check the hash chain; exit 1 on the first broken record")
    purge = sub.add_parser("purge", help=f"delete records older than {RETENTION_ENV} days "
                                         f"(default {DEFAULT_RETENTION_DAYS})")
    purge.add_argument("--days", type=int, default=None, help="override the retention period")
    args = parser.parse_args(argv)

    engine = make_engine(args.database_url or database_url())
    try:
        create_schema(engine)
        trail = AuditTrail(make_session_factory(engine))
        if args.command == "verify":
            report = trail.verify()
            if report.ok:
                print(f"ok: {report.records_checked} records verified")
                return 0
            print(f"BROKEN at record {report.first_broken_id}: {report.reason} "
                  f"({report.records_checked} records checked)")
            return 1
        days = args.days if args.days is not None else retention_days()
        result = trail.purge_older_than(utc_now() - timedelta(days=days))
        print(f"purged {result.purged} records older than {days} days")
        return 0
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
