"""One simulated month (benchmarks.simulated_month) for the whole pytest session: the month's audit
(tests/unit/test_simulated_month.py) and the KPI dashboard's browser test read the same ledger, built once.

The month runs in a thread of its own: a browser test may ask for it while Playwright's event loop runs in this one.
Its private Redis is stopped once the month is written; the ledger is a SQLite file, MONTH_LEDGER in the directory.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.simulated_month import MonthResult, run_month
from tests.stack import PrivateRedis

MONTH_LEDGER = "month.sqlite3"  # what run_month names its ledger


@dataclass(frozen=True)
class SimulatedMonth:
    result: MonthResult
    directory: Path

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.directory / MONTH_LEDGER}"


@pytest.fixture(scope="session")
def simulated_month(tmp_path_factory) -> SimulatedMonth:
    directory = tmp_path_factory.mktemp("month")
    server = PrivateRedis(directory, durable=False)
    server.start()
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = asyncio.run(run_month(directory, server.url, borrowers=120, us_borrowers=12, days=30,
                                                      tick_minutes=60))
        except BaseException as error:  # handed to the test below, not lost in the thread
            outcome["error"] = error

    try:
        worker = threading.Thread(target=run, name="simulated-month")
        worker.start()
        worker.join()
    finally:
        server.stop()
    if "error" in outcome:
        raise outcome["error"]
    return SimulatedMonth(outcome["result"], directory)
