"""The campaign worker's jobs on taskiq (Redis streams): a scheduled tick, one job per contact, and the quality
review's daily fill (ledger.quality_review: the conversations of the last two days the rules or the sample pick).

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
from ledger.quality_review import REVIEW_ZONE, QualityReviewBook

log = logging.getLogger(__name__)
# How long a stopping worker lets the contacts it is making finish: a contact is a few ledger writes and one carrier
# request, seconds even on a loaded box.
DRAIN_SECONDS = 20.0
# SIGTERM to exit: the drain, a margin for the receiver to return, then the broker's shutdown (the launcher waits this
# long before SIGKILL).
STOP_SECONDS = DRAIN_SECONDS + 7

QUEUE = "collections:campaigns"
TICK_SCHEDULE_ID = "campaigns-tick"
REVIEW_FILL_SCHEDULE_ID = "review-fill-daily"
# A job not acknowledged this long after delivery (its worker died) goes to another worker.
REDELIVER_AFTER_MS = 5 * 60 * 1000


def make_broker(redis_url: str) -> RedisStreamBroker:
    return RedisStreamBroker(redis_url, queue_name=QUEUE, consumer_group_name="campaign-workers",
                             idle_timeout=REDELIVER_AFTER_MS, unacknowledged_lock_timeout=30)


def daily_at(hour: int) -> dict:
    """A taskiq schedule label: every day at `hour`:00 on the review office's clock (review days are its days)."""
    return {"cron": f"0 {hour} * * *", "cron_offset": REVIEW_ZONE.key, "schedule_id": REVIEW_FILL_SCHEDULE_ID}


class CampaignJobs:
    """Registers the jobs on a broker; the scheduler queues `tick` every `tick_seconds` and `review_fill` once a
    day at `review_fill_hour`. (taskiq renames the functions it registers, so they are plain closures, not bound
    methods.)"""

    def __init__(self, broker: AsyncBroker, tick: CampaignTick, contactor: Contactor,
                 clock: Callable[[], datetime], tick_seconds: int, review: QualityReviewBook,
                 review_fill_hour: int) -> None:
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

        async def review_fill() -> int:
            # Idempotent: a conversation is chosen once, so a second scheduler, a redelivered job or a run by hand
            # (`python -m bot.console fill-review`) the same day adds only what has gone quiet since.
            try:
                added = await asyncio.to_thread(review.fill_recent, clock())
            except Exception:
                metrics.count_error("review_fill_failed")  # taskiq logs it; the next day's fill looks back two days
                raise
            log.info("review queue: %d conversations added", added)
            return added

        self.tick = broker.register_task(campaigns_tick, task_name="campaigns.tick",
                                         schedule=[{"interval": tick_seconds, "schedule_id": TICK_SCHEDULE_ID}])
        self.contact = broker.register_task(campaigns_contact, task_name="campaigns.contact")
        self.review_fill = broker.register_task(review_fill, task_name="review.fill",
                                                schedule=[daily_at(review_fill_hour)])
