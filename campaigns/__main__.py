"""The campaign worker: `python -m campaigns` (the launcher starts it with the other services).

Runs the taskiq receiver (contact jobs) and, unless --no-scheduler, the scheduler that queues a tick every
COLLECTIONS_CAMPAIGNS_TICK_SECONDS and the quality review's fill once a day at COLLECTIONS_CAMPAIGNS_REVIEW_FILL_HOUR
(Asia/Shanghai). More workers on more machines: start them with --no-scheduler (a second
scheduler would only plan twice; the ledger's claim keeps each contact single). Serves its Prometheus /metrics on
COLLECTIONS_METRICS_WORKER_HOST:--metrics-port (127.0.0.1:9464 by default), with the metrics token
(bot.metrics_endpoint).

On SIGTERM or SIGINT the worker stops taking jobs and lets the contacts it is making finish (up to
DRAIN_SECONDS): a contact cut off between its claim and its outcome would stay claimed and never be made.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from typing import Iterator

import uvicorn
from taskiq import AsyncBroker
from taskiq.api import run_scheduler_task
from taskiq.receiver import Receiver
from taskiq.schedule_sources import LabelScheduleSource
from taskiq.scheduler.scheduler import TaskiqScheduler

from bot.metrics_endpoint import load_metrics_key, metrics_app
from campaigns.services import campaign_services
from campaigns.worker import DRAIN_SECONDS
from configuration.settings import Settings



class MetricsServer(uvicorn.Server):
    """/metrics alone, on a socket bound before start (a port in use stops the worker's start with its address)."""

    def __init__(self, settings: Settings, port: int) -> None:
        super().__init__(uvicorn.Config(metrics_app(load_metrics_key(settings.metrics)), lifespan="off",
                                        log_level="warning", access_log=False))
        address = (settings.metrics.worker_host, port)
        try:
            self.listener = socket.create_server(address)
        except OSError as error:
            raise OSError(error.errno, f"cannot serve /metrics on {address[0]}:{port}: {error.strerror}") from error

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the worker handles SIGINT and SIGTERM itself, and stops this server with everything else

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().serve(sockets or [self.listener])
        finally:
            self.listener.close()


async def _work_jobs(broker: AsyncBroker, max_contacts: int, no_more_jobs: asyncio.Event) -> None:
    """Take contact jobs until told to stop, then wait for the running ones; a broker error (Redis gone) retries."""
    while not no_more_jobs.is_set():
        receiver = Receiver(broker, run_startup=False, max_async_tasks=max_contacts, wait_tasks_timeout=DRAIN_SECONDS)
        try:
            await receiver.listen(no_more_jobs)
        except Exception as error:
            logging.getLogger(__name__).warning("job queue unavailable (%s); retrying", type(error).__name__)
            await asyncio.sleep(1)


async def _run(with_scheduler: bool, metrics_port: int | None) -> None:
    settings = Settings()
    metrics = MetricsServer(settings, metrics_port or settings.metrics.worker_port)
    async with campaign_services(settings) as services:
        broker = services.broker
        await broker.startup()
        broker.is_worker_process = True
        no_more_jobs = asyncio.Event()
        jobs = asyncio.create_task(_work_jobs(broker, settings.campaigns.max_concurrent_contacts, no_more_jobs))
        others = [asyncio.create_task(metrics.serve())]
        if with_scheduler:
            scheduler = TaskiqScheduler(broker, sources=[LabelScheduleSource(broker)])
            others.append(asyncio.create_task(run_scheduler_task(scheduler)))
        logging.getLogger(__name__).info("campaign worker ready (scheduler %s)", "on" if with_scheduler else "off")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        metrics.should_exit = True
        for task in others:
            task.cancel()
        no_more_jobs.set()
        try:
            await asyncio.wait_for(jobs, DRAIN_SECONDS + 5)
        except asyncio.TimeoutError:
            logging.getLogger(__name__).warning("contacts still running after %.0f s were cut off", DRAIN_SECONDS)
        await asyncio.gather(*others, return_exceptions=True)
        await broker.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the outbound campaign worker.")
    parser.add_argument("--no-scheduler", action="store_true", help="only work contacts; another process ticks")
    parser.add_argument("--metrics-port", type=int, help="/metrics port (default COLLECTIONS_METRICS_WORKER_PORT)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_run(not args.no_scheduler, args.metrics_port))


if __name__ == "__main__":
    main()
