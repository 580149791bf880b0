"""What /metrics costs: the gateway as it starts (bot.asgi, a fresh SQLite ledger, key files in a temporary directory)
scraped over real HTTP, and one histogram observation as a turn makes it.

    .venv/bin/python -m benchmarks.metrics_scrape [--scrapes 200] [--rules 40]

Every channel and `--rules` compliance rules are given a sample first, so the page holds a realistic number of
series. Prints the page's size, p50/p95 of a scrape, and microseconds per observation (goal: a scrape well under
Prometheus' default 10 s timeout; an observation far below a turn's milliseconds)."""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import timeit
from pathlib import Path

from monitoring import metrics
from configuration.settings import Settings
from ledger.db import create_schema, make_engine
from tests.unit.gateway_server import gateway_client


def _settings(directory: Path) -> Settings:
    url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    return Settings(_env_file=None, redis_url=None, ledger={"database_url": url}, rasa={"url": "http://127.0.0.1:9"},
                    gateway={"link_key_file": directory / "link.key", "payments_api_key_file": directory / "payments.key"},
                    audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
                    metrics={"token_file": directory / "metrics.key"})


async def _scrapes(settings: Settings, count: int) -> tuple[int, list[float]]:
    async with gateway_client(settings) as http:
        headers = {"Authorization": f"Bearer {settings.metrics.token_file.read_text().strip()}"}
        samples, size = [], 0
        for _ in range(count):
            started = time.perf_counter()
            response = await http.get("/metrics", headers=headers)
            samples.append(time.perf_counter() - started)
            size = len(response.content)
        return size, sorted(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--rules", type=int, default=40)
    args = parser.parse_args()
    for channel in metrics.CHANNELS:
        metrics.TURN_SECONDS.labels(channel=channel).observe(0.3)
    for rule in range(args.rules):
        metrics.COMPLIANCE_BLOCKS.labels(rule=f"RULE-{rule:03d}", speaker="bot").inc()
    with tempfile.TemporaryDirectory() as directory:
        size, samples = asyncio.run(_scrapes(_settings(Path(directory)), args.scrapes))
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] * 1000  # noqa: E731
    print(f"scrape: {size} bytes, p50 {pick(0.5):.1f} ms, p95 {pick(0.95):.1f} ms (n={len(samples)})")
    count = 100_000
    seconds = timeit.timeit(lambda: metrics.TURN_SECONDS.labels(channel="rest").observe(0.4), number=count)
    print(f"one observation, labels looked up: {seconds / count * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
