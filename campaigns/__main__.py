"""The campaign worker: `python -m campaigns` (the launcher starts it with the other services).

Runs the taskiq receiver (contact jobs) and, unless --no-scheduler, the scheduler that queues a tick every
COLLECTIONS_CAMPAIGNS_TICK_SECONDS. More workers on more machines: start them with --no-scheduler (a second
scheduler would only plan twice; the ledger's claim keeps each contact single).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from taskiq.api import run_receiver_task, run_scheduler_task
from taskiq.schedule_sources import LabelScheduleSource
from taskiq.scheduler.scheduler import TaskiqScheduler

from campaigns.services import campaign_services
from configuration.settings import Settings


async def _run(with_scheduler: bool) -> None:
    settings = Settings()
    async with campaign_services(settings) as services:
        broker = services.broker
        await broker.startup()
        tasks = [asyncio.create_task(run_receiver_task(
            broker, max_async_tasks=settings.campaigns.max_concurrent_contacts, run_startup=False))]
        if with_scheduler:
            scheduler = TaskiqScheduler(broker, sources=[LabelScheduleSource(broker)])
            tasks.append(asyncio.create_task(run_scheduler_task(scheduler)))
        logging.getLogger(__name__).info("campaign worker ready (scheduler %s)", "on" if with_scheduler else "off")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await broker.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the outbound campaign worker.")
    parser.add_argument("--no-scheduler", action="store_true", help="only work contacts; another process ticks")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_run(not args.no_scheduler))


if __name__ == "__main__":
    main()
