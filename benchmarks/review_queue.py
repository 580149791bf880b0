"""How long filling the quality review queue and reading its results take, on a ledger with a day of conversations.

    .venv/bin/python -m benchmarks.review_queue [--url sqlite:///var/bench-review.sqlite3] [--conversations 2000]

Writes `--conversations` conversations of four audited utterances each (every 20th with a blocked bot line, every
25th handed over for distress, every 10th taken by one of five agents) into a fresh SQLite file (or the given
database), then times fill_queue over the day (default sampling, ledger/review.yml), a second fill (adds nothing:
the same seed draws the same conversations), the pending list and results(). Prints the timings and how many of each
rule were chosen (goal: a day of 2000 conversations filled in under 5 s, so it can run nightly and from the page).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.audit import AuditEntry, AuditTrail
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.quality_review import QualityReviewBook, load_sampling
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio

DAY = datetime(2026, 11, 23, tzinfo=UTC)
AGENTS = ("li.na", "wang.fang", "zhang.wei", "chen.jie", "zhao.lei")


def _populate(sessions, conversations: int) -> None:
    seed_demo_portfolio(sessions, count=20, as_of=DAY.date())
    ledger, trail = Ledger(sessions), AuditTrail(sessions, b"b" * 32)
    for number in range(conversations):
        cid, borrower = f"bench-{number:05d}", f"B{number % 20 + 1:06d}"
        at = DAY + timedelta(seconds=number * 30)
        entries = [AuditEntry("borrower", "你好"), AuditEntry("bot", "您好，我是智能助手。", True)]
        if number % 20 == 0:
            entries.append(AuditEntry("bot", "不还钱就上门", False, ("threat_of_visit",)))
        entries += [AuditEntry("borrower", "好的"), AuditEntry("bot", "再见。", True)]
        trail.append_many(cid, borrower, "chat", entries, at)
        if number % 25 == 0:
            ledger.record_handoff(cid, borrower, "distress", 0)
        if number % 10 == 0:
            ledger.record_handoff(cid, borrower, "requested", 2)
            ledger.set_handoff_status(cid, "taken", ("waiting",), taken_by=AGENTS[number // 10 % len(AGENTS)])


def _timed(label: str, work):
    started = time.perf_counter()
    result = work()
    print(f"{label:<28} {(time.perf_counter() - started) * 1000:9.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="an empty database (default: a fresh SQLite file in a temporary directory)")
    parser.add_argument("--conversations", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        engine = make_engine(args.url or f"sqlite:///{Path(directory) / 'review.sqlite3'}")
        create_schema(engine)
        sessions = make_session_factory(engine)
        _timed(f"write {args.conversations} conversations", lambda: _populate(sessions, args.conversations))
        book = QualityReviewBook(sessions, Ledger(sessions), load_sampling())
        window = (DAY, DAY + timedelta(days=1), DAY + timedelta(days=2))
        added = _timed("fill_queue (first)", lambda: book.fill_queue(*window))
        _timed("fill_queue (again)", lambda: book.fill_queue(*window))
        items = _timed("items(pending)", lambda: book.items("pending", limit=10_000))
        _timed("results(day)", lambda: book.results(DAY.date(), DAY.date()))
        rules = Counter(reason.rule for item in items for reason in item.reasons)
        counts = ", ".join(f"{rule} {n}" for rule, n in sorted(rules.items()))
        print(f"chosen {added} of {args.conversations}: {counts}")
        engine.dispose()


if __name__ == "__main__":
    main()
