"""Tamper-evident audit trail of every utterance: an HMAC-SHA-256 chain in the ledger database.

Each `AuditRecord` stores `prev_hash` (the previous record's `record_hash`; 64 zeros for the
first) and `record_hash` = HMAC-SHA-256, under a key kept outside the database (bot.audit_seal), of a
canonical JSON of its own fields plus `prev_hash`. Editing a row breaks its own hash, deleting a row
breaks its successor's `prev_hash`, and without the key neither can be repaired by recomputing hashes.
The signed anchor file (bot.audit_seal) catches what the chain alone cannot: a truncated tail and a
deleted prefix posing as a purge.

Appends are serialised so the chain never forks: a transaction-level advisory lock on
PostgreSQL (`pg_advisory_xact_lock`), `BEGIN IMMEDIATE` on SQLite, plus an in-process lock;
`prev_hash` is also UNIQUE, so a fork is refused by the database even if a writer skipped the lock.

Retention: `purge_older_than(cutoff)` deletes the oldest prefix of the chain and writes an
`AuditCheckpoint` holding the last purged record's hash (and the anchor file's floor);
`verify()` starts from the latest checkpoint's hash instead of the genesis hash, so the remaining
chain still verifies. Retention defaults to 3 years (Regulation F 1006.100; longer than the 2 years
of the 信用卡业务管理办法), overridable with COLLECTIONS_AUDIT_RETENTION_DAYS.

CLI:  python -m bot.audit verify     exit 1 and print the first broken record id on failure
      python -m bot.audit purge      delete records older than the retention period, and call recordings (file
                                     and row, bot.recordings) past their own retention date
      python -m bot.audit migrate    sign with the key a chain written before it (plain SHA-256)
The database is COLLECTIONS_LEDGER_DATABASE_URL (see ledger.db), or --database-url; the key and the
anchor file come from the audit settings (COLLECTIONS_AUDIT_KEY or _KEY_FILE, _ANCHOR_FILE).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import threading
import time as _time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.audit_seal import Anchor, AnchorFile, AnchorFileError, ChainPoint, load_audit_key, mac
from ledger.models import AUDIT_SPEAKERS, AuditCheckpoint, AuditRecord, utc_now

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# Arbitrary constant naming "the audit chain" among PostgreSQL advisory locks.
ADVISORY_LOCK_KEY = 0x41554449545F4348 & 0x7FFFFFFFFFFFFFFF
_SQLITE_RETRIES = 50

_INSERT_RECORD = insert(AuditRecord.__table__)
_HEAD_RECORD = select(AuditRecord.__table__.c.record_hash).order_by(AuditRecord.__table__.c.id.desc()).limit(1)
_LATEST_CHECKPOINT_HASH = (select(AuditCheckpoint.__table__.c.anchor_hash)
                           .order_by(AuditCheckpoint.__table__.c.id.desc()).limit(1))
_process_locks: dict[int, threading.Lock] = {}
_process_locks_guard = threading.Lock()


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


def _body(row: AuditRecord) -> str:
    return canonical_json(row.conversation_id, row.borrower_id, row.channel, row.speaker, row.text,
                          row.allowed, row.rules, row.created_at, row.prev_hash)


def record_hash_of(row: AuditRecord, key: bytes) -> str:
    return mac(key, _body(row))


def unkeyed_hash_of(row: AuditRecord) -> str:
    """How records were hashed before the key (plain SHA-256); only `migrate` still accepts it."""
    return hashlib.sha256(_body(row).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    records_checked: int
    first_broken_id: int | None
    reason: str
    anchored_at: int | None = None  # the anchor file's head record, when there was one to check


@dataclass(frozen=True)
class PurgeReport:
    purged: int
    last_purged_id: int | None
    anchor_hash: str | None


@dataclass(frozen=True)
class AuditEntry:
    """One utterance for the chain: who, what, and the filter's verdict on it (None: not checked)."""
    speaker: str
    text: str
    allowed: bool | None = None
    rules: tuple[str, ...] = ()


class AuditTrail:
    def __init__(self, session_factory: sessionmaker[Session], key: bytes, anchor: AnchorFile | None = None) -> None:
        self._sessions = session_factory
        self._key = key
        self._anchor = anchor
        engine = session_factory.kw["bind"]
        self._dialect = engine.dialect.name
        with _process_locks_guard:
            self._local_lock = _process_locks.setdefault(id(engine), threading.Lock())

    # --- writing ----------------------------------------------------------------------------

    def append(self, conversation_id: str, borrower_id: str | None, channel: str, speaker: str,
               text: str, allowed: bool | None = None, rules: Iterable[str] = (),
               at: datetime | None = None) -> str:
        """Append one utterance to the chain; returns its record_hash."""
        return self.append_many(conversation_id, borrower_id, channel,
                                [AuditEntry(speaker, text, allowed, tuple(rules))], at)[-1]

    def append_many(self, conversation_id: str, borrower_id: str | None, channel: str,
                    entries: Iterable[AuditEntry], at: datetime | None = None) -> list[str]:
        """Append a turn's utterances in order, in one transaction (one lock, one anchor write); returns their
        record_hashes."""
        entries = list(entries)
        for entry in entries:
            if entry.speaker not in AUDIT_SPEAKERS:
                raise ValueError(f"speaker must be one of {AUDIT_SPEAKERS}, not {entry.speaker!r}")
        if not entries:
            return []
        at = at or utc_now()
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("at must be timezone-aware")
        at = at.astimezone(UTC)

        def write(session: Session) -> list[ChainPoint]:
            # A Core INSERT per record, not the ORM's unit of work (add + flush): the same row and hash, for about
            # half the CPU (issue 17: two appends a turn were a third of the gateway's CPU per turn).
            connection = session.connection()
            prev = self._head(connection)
            points = []
            for entry in entries:
                rules = json.dumps(list(entry.rules), ensure_ascii=False, separators=(",", ":"))
                record_hash = mac(self._key, canonical_json(conversation_id, borrower_id, channel, entry.speaker,
                                                            entry.text, entry.allowed, rules, at, prev))
                inserted = connection.execute(_INSERT_RECORD, {
                    "conversation_id": conversation_id, "borrower_id": borrower_id, "channel": channel,
                    "speaker": entry.speaker, "text": entry.text, "allowed": entry.allowed, "rules": rules,
                    "created_at": at, "prev_hash": prev, "record_hash": record_hash,
                })
                prev = record_hash
                points.append(ChainPoint(inserted.inserted_primary_key[0], record_hash))
            return points

        written = self._serialised(write)
        if self._anchor is not None:
            try:
                self._anchor.advance_head(written[-1].record_id, written[-1].record_hash)
            except (AnchorFileError, OSError):
                # The records are written; a broken anchor must not silence a conversation. verify reports it.
                log.exception("audit anchor not advanced")
        return [point.record_hash for point in written]

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

        report = self._serialised(purge)
        if self._anchor is not None and report.last_purged_id is not None:
            self._anchor.set_floor(report.last_purged_id, report.anchor_hash)
        return report

    # --- checking ---------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Walk the chain from the latest checkpoint (or genesis) checking every record against the key,
        then against the anchor file; report the first broken record."""
        try:
            anchor = self._anchor.read() if self._anchor is not None else None
        except AnchorFileError as error:
            return VerifyReport(False, 0, None, str(error))
        with self._sessions() as session:
            checkpoint = self._latest_checkpoint(session)
            expected = checkpoint.anchor_hash if checkpoint else GENESIS_HASH
            floor = checkpoint.last_purged_id if checkpoint else 0
            if anchor is not None and anchor.floor != (ChainPoint(floor, expected) if checkpoint else None):
                return VerifyReport(False, 0, floor or None, "the latest purge checkpoint is not the one in the "
                                                             "anchor file (records deleted outside a purge)")
            head = anchor.head if anchor is not None and anchor.head is not None and anchor.head.record_id > floor \
                else None
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
                if record_hash_of(row, self._key) != row.record_hash:
                    if unkeyed_hash_of(row) == row.record_hash:
                        return VerifyReport(False, checked, row.id, "record written before the audit key "
                                                                    "(plain SHA-256): run python -m bot.audit migrate")
                    return VerifyReport(False, checked, row.id, "record content does not match its hash")
                if head is not None and row.id == head.record_id:
                    if row.record_hash != head.record_hash:
                        return VerifyReport(False, checked, row.id, "the anchored record was rewritten")
                    head = None
                expected = row.record_hash
            if head is not None:
                return VerifyReport(False, checked, head.record_id,
                                    "the anchored record is missing (the chain was truncated)")
            anchored_at = anchor.head.record_id if anchor is not None and anchor.head is not None else None
            return VerifyReport(True, checked, None, "ok", anchored_at)

    def migrate(self) -> int:
        """Signs with the key a chain whose older records were hashed without one (plain SHA-256).

        Every record is first checked as it was written (an unkeyed prefix, then keyed records): a chain
        broken before the migration is refused, not re-signed. The re-signed records are only as
        trustworthy as the database was when this ran. Returns how many were re-signed (0: already keyed)."""

        def resign(session: Session) -> int:
            checkpoint = self._latest_checkpoint(session)
            written_prev = new_prev = checkpoint.anchor_hash if checkpoint else GENESIS_HASH
            keyed_seen, resigned = False, 0
            for row in session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all():
                keyed = record_hash_of(row, self._key) == row.record_hash
                # Unkeyed records can only be the chain's older part: one after a keyed record is forged.
                unkeyed = not keyed and not keyed_seen and unkeyed_hash_of(row) == row.record_hash
                if row.prev_hash != written_prev or not (keyed or unkeyed):
                    raise ValueError(f"record {row.id} does not verify as written; nothing was migrated")
                keyed_seen = keyed_seen or keyed
                written_prev = row.record_hash
                if unkeyed or row.prev_hash != new_prev:
                    row.prev_hash = new_prev
                    row.record_hash = record_hash_of(row, self._key)
                    resigned += 1
                new_prev = row.record_hash
            return resigned

        resigned = self._serialised(resign)
        if self._anchor is not None:
            with self._sessions() as session:
                checkpoint = self._latest_checkpoint(session)
                last = session.execute(select(AuditRecord.id, AuditRecord.record_hash)
                                       .order_by(AuditRecord.id.desc()).limit(1)).first()
            self._anchor.reset(Anchor(
                ChainPoint(last.id, last.record_hash) if last is not None else None,
                ChainPoint(checkpoint.last_purged_id, checkpoint.anchor_hash) if checkpoint is not None else None,
            ))
        return resigned

    def head(self) -> str:
        """The hash the next record will point back to (publish it to anchor the chain externally)."""
        with self._sessions() as session:
            return self._head(session)

    # --- internals --------------------------------------------------------------------------

    @staticmethod
    def _latest_checkpoint(session: Session) -> AuditCheckpoint | None:
        return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).first()

    @staticmethod
    def _head(session: Session | Connection) -> str:
        """Read with Core statements (on a session's connection when appending: no ORM compilation per turn)."""
        last = session.scalar(_HEAD_RECORD)
        if last is not None:
            return last
        return session.scalar(_LATEST_CHECKPOINT_HASH) or GENESIS_HASH

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
    from configuration.settings import Settings
    from ledger.db import create_schema, make_engine, make_session_factory

    settings = Settings()

    parser = argparse.ArgumentParser(prog="python -m bot.audit", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None, help="defaults to COLLECTIONS_LEDGER_DATABASE_URL")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("verify", help="check the chain against the key and the anchor file; exit 1 if broken")
    purge = sub.add_parser("purge", help="delete records older than COLLECTIONS_AUDIT_RETENTION_DAYS days "
                                         f"(now {settings.audit.retention_days}), and call recordings past their "
                                         "retention date")
    purge.add_argument("--days", type=int, default=None, help="override the retention period")
    sub.add_parser("migrate", help="check a chain written before the key as plain SHA-256, then sign it")
    args = parser.parse_args(argv)

    engine = make_engine(args.database_url or settings.ledger.url())
    try:
        create_schema(engine)
        key = load_audit_key(settings.audit)
        trail = AuditTrail(make_session_factory(engine), key, AnchorFile(settings.audit.anchor_file, key))
        if args.command == "verify":
            report = trail.verify()
            if report.ok:
                anchored = (f"anchored at record {report.anchored_at}" if report.anchored_at is not None
                            else f"no anchor in {settings.audit.anchor_file}: a truncated tail would not show")
                print(f"ok: {report.records_checked} records verified; {anchored}")
                return 0
            print(f"BROKEN at record {report.first_broken_id}: {report.reason} "
                  f"({report.records_checked} records checked)")
            return 1
        if args.command == "migrate":
            print(f"signed {trail.migrate()} records with the audit key")
            return 0
        days = args.days if args.days is not None else settings.audit.retention_days
        result = trail.purge_older_than(utc_now() - timedelta(days=days))
        print(f"purged {result.purged} records older than {days} days")
        from bot.recordings import call_recordings  # which builds on this module
        recordings = call_recordings(settings, make_session_factory(engine), trail).purge_expired()
        print(f"purged {recordings} call recordings past their retention date")
        return 0
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
