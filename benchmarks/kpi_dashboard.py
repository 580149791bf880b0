"""How long the KPI dashboard's figures take (ledger.kpis) over a simulated month (benchmarks.simulated_month).

    .venv/bin/python -m benchmarks.kpi_dashboard [--borrowers 120] [--repeat 3]

Builds the month on SQLite with a private redis-server, then times compute_kpis for the whole month grouped by each
dimension, and for one week, and prints the milliseconds (best of --repeat) with the month's row counts.
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from benchmarks.simulated_month import START, run_month
from ledger.kpis import DIMENSIONS, KpiQuery, compute_kpis
from ledger.models import AuditRecord, CampaignContact, ConversationRecord, Payment, SegmentChange


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--borrowers", type=int, default=120, help="Chinese borrowers (a tenth as many US ones added)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from tests.stack import PrivateRedis  # a redis-server of its own, never a developer's

    with tempfile.TemporaryDirectory() as workdir:
        server = PrivateRedis(Path(workdir), durable=False)
        server.start()
        try:
            month = asyncio.run(run_month(Path(workdir), server.url, args.borrowers, args.borrowers // 10))
        finally:
            server.stop()
        sessions = month.sessions
        with sessions() as session:
            rows = {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                    for model in (CampaignContact, ConversationRecord, AuditRecord, Payment, SegmentChange)}
        print(f"month of {month.config['borrowers']} borrowers: {rows}")
        first = START.date()
        ranges = [(f"month by {by}", KpiQuery(first, first + timedelta(days=30), by=by)) for by in DIMENSIONS]
        ranges.append(("one week by day", KpiQuery(first + timedelta(days=7), first + timedelta(days=13))))
        for label, query in ranges:
            times = []
            for _ in range(args.repeat):
                began = time.perf_counter()
                compute_kpis(sessions, query)
                times.append(time.perf_counter() - began)
            print(f"{label}: {min(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
