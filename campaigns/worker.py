"""The campaign worker's jobs on taskiq (Redis streams): a scheduled tick, and one job per contact.

Why taskiq: it is asyncio-native like the dialer and the messenger (httpx), its Redis stream broker acknowledges a
job only after it ran (a worker killed mid-job leaves it to be redelivered to another), its scheduler is part of the
library, and it runs on the redis-py 8 this project pins (arq and saq require redis-py < 6 and < 8).

Exactly-once is not what a queue gives: a redelivered or duplicated job is harmless here because a contact is
claimed in the ledger first (campaigns.contact), so a second worker, a second scheduler, or a job re-run after a
crash finds the claim and does nothing.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import datetime
from typing import Callable

from taskiq import AsyncBroker
from taskiq_redis import RedisStreamBroker

from monitoring import metrics
from campaigns.contact import Contactor, Deferred
from campaigns.tick import CampaignTick
from ledger.campaign_records import ContactPlan

log = logging.getLogger(__name__)

QUEUE = "collections:campaigns"
TICK_SCHEDULE_ID = "campaigns-tick"
# A job not acknowledged this long after delivery (its worker died) goes to another worker.
REDELIVER_AFTER_MS = 5 * 60 * 1000


def make_broker(redis_url: str) -> RedisStreamBroker:
    return RedisStreamBroker(redis_url, queue_name=QUEUE, consumer_group_name="campaign-workers",
                             idle_timeout=REDELIVER_AFTER_MS, unacknowledged_lock_timeout=30)


class CampaignJobs:
    """Registers the two jobs on a broker; `tick` is scheduled every `tick_seconds` by the scheduler. (taskiq renames
    the functions it registers, so they are plain closures, not bound methods.)"""

    def __init__(self, broker: AsyncBroker, tick: CampaignTick, contactor: Contactor,
                 clock: Callable[[], datetime], tick_seconds: int) -> None:
        async def campaigns_tick() -> int:
            try:
                result = await asyncio.to_thread(tick.run, clock())
            except Exception:
                metrics.count_error("tick_failed")  # taskiq logs it; the next tick tries again
                raise
            for plan in result.due:
                await self.contact.kiq(asdict(plan))
            if result.due:
                log.info("tick: %d borrowers placed, %d contacts due", result.placed, len(result.due))
            return len(result.due)

        async def campaigns_contact(plan: dict) -> str:
            try:
                recorded = await contactor.contact(ContactPlan(**plan))
            except Deferred:
                return "deferred"  # the next tick plans it again
            return recorded.status if recorded is not None else "already_decided"

        self.tick = broker.register_task(campaigns_tick, task_name="campaigns.tick",
                                         schedule=[{"interval": tick_seconds, "schedule_id": TICK_SCHEDULE_ID}])
        self.contact = broker.register_task(campaigns_contact, task_name="campaigns.contact")
