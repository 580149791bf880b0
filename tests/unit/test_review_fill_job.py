"""The quality review's daily fill on the campaign worker (campaigns.worker): built by the worker's composition root
(campaigns.services) on a real Redis and a SQLite ledger, scheduled by taskiq's own cron rule at the configured hour of
the review office's day, and idempotent: a second run the same day adds nothing and leaves a saved review as it was."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from taskiq.schedule_sources import LabelScheduleSource
from taskiq.cli.scheduler.run import is_cron_task_now  # what the scheduler's loop asks each minute

from bot.audit import AuditTrail
from campaigns.services import campaign_services
from configuration.settings import Settings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.quality_review import QualityReviewBook, load_sampling
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.stack import PrivateRedis

# 03:00 in Shanghai on 2 December; the conversations below were on the evening of 1 December there.
NOW = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
EVENING = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MARKS = {"identity_before_detail": "pass", "ai_disclosed": "pass", "no_pressure": "fail", "correct_figures": "na",
         "handoff_when_asked": "na"}


def _settings(tmp_path, ledger_url: str, redis_url: str) -> Settings:
    return Settings(_env_file=None, redis_url=None, ledger={"database_url": ledger_url},
                    campaigns={"redis_url": redis_url, "review_fill_hour": 3},
                    gateway={"fixed_now": NOW.isoformat(), "link_key_file": tmp_path / "link.key"},
                    audit={"key_file": tmp_path / "audit.key", "anchor_file": tmp_path / "audit.anchor"})


def test_the_worker_fills_the_review_queue_once_a_day_at_the_configured_hour(tmp_path):
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    engine = make_engine(ledger_url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=4, as_of=EVENING.date())
    audit = AuditTrail(sessions, b"k" * 32)
    # One conversation whose bot line the filter stopped (a rule's pick), one quiet one (chosen only by the sample).
    audit.append("c-blocked", "B000001", "chat", "bot", "不还钱就上门", allowed=False, rules=["threat_of_visit"],
                 at=EVENING)
    audit.append("c-blocked", "B000001", "chat", "bot", "您好，我是智能助手。", at=EVENING + timedelta(seconds=1))
    redis_server = PrivateRedis(tmp_path, durable=False)
    redis_server.start()
    try:
        added, schedule, again, reviewed = asyncio.run(_run_the_job_twice(
            _settings(tmp_path, ledger_url, redis_server.url), sessions))
    finally:
        redis_server.stop()
        engine.dispose()
    # taskiq's scheduler sends it at 03:00 Shanghai (19:00 UTC the day before) and at no other hour.
    assert (schedule.cron, schedule.cron_offset) == ("0 3 * * *", "Asia/Shanghai")
    due = [hour for hour in range(24) if is_cron_task_now(schedule.cron, datetime(2026, 12, 1, hour, 0, tzinfo=UTC),
                                                          offset=schedule.cron_offset)]
    assert due == [19]
    assert added >= 1 and again == 0
    assert reviewed.review is not None and reviewed.review.marks["no_pressure"] == "fail"


async def _run_the_job_twice(settings: Settings, sessions):
    async with campaign_services(settings) as services:
        source = LabelScheduleSource(services.broker)
        await source.startup()  # as the worker's scheduler starts it (taskiq.api.run_scheduler_task)
        schedules = await source.get_schedules()
        (schedule,) = [task for task in schedules if task.task_name == "review.fill"]
        added = await services.jobs.review_fill.original_func()
        book = QualityReviewBook(sessions, Ledger(sessions), load_sampling())
        (item,) = [item for item in book.items() if item.conversation_id == "c-blocked"]
        book.save_review(item.item_id, "qa.sun", MARKS, "threat in the first draft", NOW)
        # The same day again (a second scheduler, a redelivered job): nothing new, the review as it was.
        again = await services.jobs.review_fill.original_func()
        return added, schedule, again, book.item(item.item_id)
