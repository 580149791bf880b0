"""A real stack of its own for a benchmark: the trained model, a Redis database of its own, and a freshly
seeded SQLite ledger in a temporary folder, on fixed ports and the benchmarks' fixed clock. Its gateway
signs borrower links with the tests' key (tests.e2e.chat.borrower_link issues them)."""
from __future__ import annotations

import subprocess
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import redis

from ledger.db import create_schema, make_engine, make_session_factory
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from bot.launcher import ROOT, Stack, StackConfig
from tests.e2e.chat import ARRIVAL_SECRETS_ENV

# Monday 2026-11-23 both in Shanghai (17:00) and in every US time zone (01:00-04:00), so "tomorrow" is Tuesday
# for a Chinese and a US borrower alike.
FIXED_NOW = "2026-11-23T17:00:00+08:00"
# Every benchmark client comes from 127.0.0.1; a benchmark that measures something else than the limiter (all but
# benchmarks/flood.py) lifts the per-client limits.
UNTHROTTLED = {
    "COLLECTIONS_GATEWAY_MESSAGES_PER_CLIENT": "100000/minute",
    "COLLECTIONS_GATEWAY_MESSAGES_PER_CONVERSATION": "100000/minute",
    "COLLECTIONS_GATEWAY_OPENS_PER_CLIENT": "100000/minute",
    "COLLECTIONS_GATEWAY_MAX_SOCKETS_PER_CLIENT": "1000",
}


@contextmanager
def benchmark_stack(
    name: str, borrowers: int, port_base: int, redis_db: int, gateway_env: dict[str, str] | None = None,
    us_borrowers: int = 80, rasa_replicas: int = 1, gateway_port: int | None = None,
) -> Iterator[tuple[Stack, Ledger]]:
    """Rasa on port_base+5 (replicas on the next ports), actions on port_base+55, gateway on port_base+3000 (or
    `gateway_port`); stopped on exit."""
    model = ROOT / subprocess.check_output(["bash", "scripts/train.sh"], cwd=ROOT, text=True).strip()
    redis_url = subprocess.check_output(["bash", "scripts/redis.sh"], cwd=ROOT, text=True).strip()
    redis_url = f"{redis_url.rsplit('/', 1)[0]}/{redis_db}"
    # Emptied first: what an earlier run left (trackers, hundreds of queued handoffs the gateway rescans every second)
    # would otherwise be part of this run's work.
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-bench-"))
    ledger_url = f"sqlite:///{workdir / 'ledger.sqlite3'}"
    engine = make_engine(ledger_url)
    create_schema(engine)
    # Overdue as of the stack's fixed clock, so days past due read the same on every run.
    seed_demo_portfolio(make_session_factory(engine), count=borrowers, us_count=us_borrowers,
                        as_of=datetime.fromisoformat(FIXED_NOW).date())
    stack = Stack(StackConfig(
        model=model, rasa_port=port_base + 5, rasa_replicas=rasa_replicas, action_port=port_base + 55,
        gateway_port=port_base + 3000 if gateway_port is None else gateway_port,
        redis_url=redis_url, ledger_url=ledger_url, fixed_now=FIXED_NOW,
        log_dir=workdir / "logs",
        extra_env={**ARRIVAL_SECRETS_ENV, "COLLECTIONS_RECORDINGS_DIRECTORY": str(workdir / "recordings"),
                   **(gateway_env or {})},
    ))
    stack.start()
    try:
        yield stack, Ledger(make_session_factory(engine))
    finally:
        stack.stop()
        engine.dispose()


def chinese_borrower_ids(ledger: Ledger, count: int) -> list[str]:
    """Seeded borrowers who speak Chinese, leaving out the fixed demo borrowers B000001–B000004."""
    return [f"B{n:06d}" for n in range(5, count) if ledger.get_borrower(f"B{n:06d}").language == "zh"]
