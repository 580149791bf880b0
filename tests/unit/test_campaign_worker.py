"""The campaign worker as the start command runs it (`python -m campaigns`: taskiq receiver and scheduler on a real
Redis, a SQLite ledger, the demo messenger, the demo phone): it contacts who is due, each once; killed mid-run and
started again beside a second worker, nobody is contacted twice; and with Redis gone it contacts no one."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaigns.contact import ContactServices, Contactor
from campaigns.call_slots import CallSlots
from campaigns.demo_phone import DemoPhone, DemoPhoneDialer
from ledger.campaign_records import CampaignContactView, CampaignRecords, ContactPlan
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import CampaignContact, DemoInboxMessage
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.stack import PrivateRedis

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 23)
# 10:30 in Shanghai, inside every treatment's preferred hours; 21:30 the evening before in New York.
FIXED_NOW = "2026-11-23T10:30:00+08:00"
# Restarted after a crash, later the same morning: past the age (campaigns.tick.ABANDONED_AFTER, 10 minutes) at which a
# claim still without an outcome is known to have lost its worker.
AFTER_THE_CRASH = "2026-11-23T10:41:00+08:00"
FINAL = ("sent", "failed", "refused", "answered", "no_answer", "busy", "machine", "canceled", "error")


@pytest.fixture
def portfolio(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=40, us_count=4, as_of=AS_OF)
    yield url, make_session_factory(engine)
    engine.dispose()


def _worker(ledger_url: str, redis_url: str, log: Path, *extra: str, now: str = FIXED_NOW) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COLLECTIONS_")}
    env.update({"PYTHONPATH": str(ROOT), "COLLECTIONS_LEDGER_DATABASE_URL": ledger_url,
                "COLLECTIONS_CAMPAIGNS_REDIS_URL": redis_url, "COLLECTIONS_CAMPAIGNS_TICK_SECONDS": "5",
                "COLLECTIONS_GATEWAY_FIXED_NOW": now, "COLLECTIONS_DIALER_RING_SECONDS": "5",
                "COLLECTIONS_AUDIT_KEY_FILE": str(log.parent / "audit.key"),
                "COLLECTIONS_AUDIT_ANCHOR_FILE": str(log.parent / "audit.anchor"),
                "COLLECTIONS_GATEWAY_LINK_KEY_FILE": str(log.parent / "link.key"),
                "COLLECTIONS_METRICS_TOKEN_FILE": str(log.parent / "metrics.key")})
    env.pop("REDIS_URL", None)
    # Each worker's /metrics on a port of its own (two run side by side here).
    command = [sys.executable, "-m", "campaigns", "--metrics-port", str(_free_port()), *extra]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _contacts(sessions) -> list[CampaignContact]:
    with sessions() as session:
        return list(session.scalars(select(CampaignContact)))


def _wait_for(condition, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} within {seconds} s; worker log:\n{log.read_text()[-3000:]}")


def _claim_one_due(sessions) -> CampaignContactView:
    """A contact the worker's tick would plan now, claimed as its job does first, and then nothing more."""
    from datetime import datetime

    from campaigns.segmenter import Segmenter
    from campaigns.strategy import load_strategy
    from campaigns.tick import CampaignTick
    from ledger.follow_up import FollowUp
    from ledger.portfolio import Portfolio

    now = datetime.fromisoformat(FIXED_NOW)
    records = CampaignRecords(sessions)
    tick = CampaignTick(Segmenter(load_strategy(), Portfolio(sessions), records), records,
                        FollowUp(sessions, Ledger(sessions).policy))
    claimed = next(filter(None, (records.claim_contact(plan, now) for plan in tick.due_now(now))), None)
    assert claimed is not None, "nothing left due to claim"
    return claimed


def test_the_worker_contacts_each_due_borrower_once_across_a_crash_and_two_workers(portfolio, tmp_path):
    ledger_url, sessions = portfolio
    redis_server = PrivateRedis(tmp_path, durable=True)
    redis_server.start()
    log = tmp_path / "worker.log"
    worker = _worker(ledger_url, redis_server.url, log)
    try:
        _wait_for(lambda: len([c for c in _contacts(sessions) if c.status in FINAL]) >= 20, 180,
                  "the worker contacted nobody", log)
        os.killpg(worker.pid, signal.SIGKILL)  # a crash, mid-run: jobs in flight are left unacknowledged
        worker.wait()
        # Whether the kill lands between a claim and its outcome is a race; one such claim is made for sure.
        stranded = _claim_one_due(sessions)
        before = _contacts(sessions)
        # Started again, beside a second worker that only takes jobs, eleven minutes later the same morning: the same
        # contacts are due (the same local day), and the claims the kill cut off are old enough to be closed.
        worker = _worker(ledger_url, redis_server.url, log, now=AFTER_THE_CRASH)
        second = _worker(ledger_url, redis_server.url, log, "--no-scheduler", now=AFTER_THE_CRASH)
        try:
            time.sleep(25)  # several ticks of 5 s: every due contact planned again, each found already decided
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=40)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=40)
        redis_server.stop()
    after = _contacts(sessions)
    keys = Counter((c.borrower_id, c.contact_key) for c in after)
    assert max(keys.values()) == 1
    decided_before = {(c.borrower_id, c.contact_key) for c in before if c.status in FINAL}
    assert decided_before <= {(c.borrower_id, c.contact_key) for c in after if c.status in FINAL}
    # Every message sent is one contact: none sent twice, none sent without its record. The kill can land between
    # the send and its "sent": that contact is never tried again, its message out once.
    with sessions() as session:
        inbox = Counter(session.scalars(select(DemoInboxMessage.borrower_id)))
    sent = Counter(c.borrower_id for c in after if c.status == "sent")
    # The SIGKILL left its claims "planned" (cut off before their outcome); the restarted worker's tick closed each as
    # "unknown", with the reason. The SIGTERMs at the end let every running contact finish: nothing is left planned.
    cut_off_by_the_kill = {c.attempt_id for c in before if c.status == "planned"}
    assert stranded.attempt_id in cut_off_by_the_kill
    assert not [c for c in after if c.status == "planned"], Counter((c.channel, c.status, c.reason) for c in after)
    # ... unless the outcome came after all: a call the kill cut off once it was ringing still ends, and the phone
    # reports it (here, the demo phone's unanswered ring) as a carrier's status callback would.
    unknown = {c.attempt_id for c in after if c.status == "unknown"}
    assert stranded.attempt_id in unknown and unknown <= cut_off_by_the_kill
    assert all(c.reason == "unknown_after_crash" for c in after if c.status == "unknown")
    assert all(c.channel == "call" and c.status in ("no_answer", "answered", "busy", "failed", "machine", "canceled")
               for c in after if c.attempt_id in cut_off_by_the_kill - unknown), [
        (c.channel, c.status, c.reason) for c in after if c.attempt_id in cut_off_by_the_kill - unknown]
    in_flight = Counter(c.borrower_id for c in after if c.channel == "message" and c.attempt_id in cut_off_by_the_kill)
    assert sent <= inbox <= sent + in_flight, (inbox, sent, in_flight)
    assert sum(sent.values()) >= 5
    # No carrier configured: calls ring on the demo phone (no page open here), at most the four lines at once (the
    # rest wait for a free line), and the ones nobody answered in time are on record as unanswered.
    calls = [c for c in after if c.channel == "call" and c.attempt_id not in cut_off_by_the_kill]
    assert calls and all(c.status in ("dialled", "no_answer", "deferred") for c in calls), Counter(
        (c.status, c.reason) for c in calls)
    assert len([c for c in calls if c.status == "dialled"]) <= 4
    # 21:30 in New York: none of the US borrowers was contacted.
    assert not any(c.borrower_id >= "B900000" or c.borrower_id == "B000004" for c in after)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CampaignContact)) == len(after)


def test_with_redis_gone_nobody_is_contacted(portfolio, tmp_path):
    from bot.redis_connection import connect
    import redis as sync_redis
    from compliance_filters.contact_policy import ContactPolicy
    from campaigns.messenger import make_invitation_links, make_messenger
    from configuration.settings import Settings
    from datetime import datetime

    ledger_url, sessions = portfolio
    ledger = Ledger(sessions)
    settings = Settings(ledger={"database_url": ledger_url})
    dead = "redis://127.0.0.1:9/0"  # nothing listens there
    messenger = make_messenger(settings, ledger)
    contactor = Contactor(ContactServices(
        records=CampaignRecords(sessions), ledger=ledger, policy=ContactPolicy(sync_redis.Redis.from_url(dead), ledger),
        dialer=DemoPhoneDialer(DemoPhone(connect(dead), 30), CallSlots(connect(dead), 4, 60), 4, None),
        messenger=messenger, invitation_link=make_invitation_links(settings),
        redis=connect(dead), clock=lambda: datetime.fromisoformat(FIXED_NOW), demo_providers=settings.demo))
    plan = ContactPlan("B000001", "A000001-1", "early_overdue", "dpd_1_30", "early_overdue:2026-11-23", "message",
                       "overdue_gentle")
    with pytest.raises(Exception):
        asyncio.run(contactor.contact(plan))
    assert _contacts(sessions) == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DemoInboxMessage)) == 0


def test_a_campaign_paused_after_the_tick_planned_it_contacts_no_one(portfolio, tmp_path):
    from bot.redis_connection import connect
    import redis as sync_redis
    from compliance_filters.contact_policy import ContactPolicy
    from campaigns.messenger import make_invitation_links, make_messenger
    from configuration.settings import Settings
    from datetime import datetime

    ledger_url, sessions = portfolio
    server = PrivateRedis(tmp_path, durable=False)
    server.start()
    try:
        ledger = Ledger(sessions)
        settings = Settings(ledger={"database_url": ledger_url})
        records = CampaignRecords(sessions)
        contactor = Contactor(ContactServices(
            records=records, ledger=ledger, policy=ContactPolicy(sync_redis.Redis.from_url(server.url), ledger),
            dialer=DemoPhoneDialer(DemoPhone(connect(server.url), 30), CallSlots(connect(server.url), 4, 60), 4, None),
            messenger=make_messenger(settings, ledger), invitation_link=make_invitation_links(settings),
            redis=connect(server.url), clock=lambda: datetime.fromisoformat(FIXED_NOW),
            demo_providers=settings.demo))
        plan = ContactPlan("B000001", "A000001-1", "early_overdue", "dpd_1_30", "early_overdue:2026-11-23", "message",
                           "overdue_gentle")

        async def pause_then_resume():
            records.set_campaign_status("early_overdue", "paused", "boss", datetime.fromisoformat(FIXED_NOW))
            assert await contactor.contact(plan) is None and _contacts(sessions) == []
            records.set_campaign_status("early_overdue", "active", "boss", datetime.fromisoformat(FIXED_NOW))
            assert (await contactor.contact(plan)).status == "sent"

        asyncio.run(pause_then_resume())
    finally:
        server.stop()


def test_with_the_ledger_gone_after_start_nobody_is_contacted_and_the_next_tick_plans_it_again(portfolio, tmp_path):
    """The ledger's database goes away under a running worker (its URL now leads nowhere): the contact job fails
    before anything is claimed or asked, so nothing is sent and nothing is recorded, the borrower's lock is freed, and
    the tick fails too; with the ledger back, the next tick plans the same contact and it is made, once."""
    from bot.redis_connection import connect
    import redis as sync_redis
    from campaigns.messenger import make_invitation_links, make_messenger
    from campaigns.segmenter import Segmenter
    from campaigns.strategy import load_strategy
    from campaigns.tick import CampaignTick
    from compliance_filters.contact_policy import ContactPolicy
    from configuration.settings import Settings
    from datetime import datetime
    from ledger.follow_up import FollowUp
    from ledger.portfolio import Portfolio

    ledger_url, sessions = portfolio
    now = datetime.fromisoformat(FIXED_NOW)
    server = PrivateRedis(tmp_path, durable=False)
    server.start()
    gone = make_engine(f"sqlite:///{tmp_path / 'no-such-directory' / 'ledger.sqlite3'}")
    try:
        settings = Settings(ledger={"database_url": ledger_url})
        messenger = make_messenger(settings, Ledger(sessions), sessions)  # its inbox is what a borrower would read

        def contactor(ledger_sessions) -> Contactor:
            ledger = Ledger(ledger_sessions)
            return Contactor(ContactServices(
                records=CampaignRecords(ledger_sessions), ledger=ledger,
                policy=ContactPolicy(sync_redis.Redis.from_url(server.url), ledger),
                dialer=DemoPhoneDialer(DemoPhone(connect(server.url), 30), CallSlots(connect(server.url), 4, 60), 4, None),
                messenger=messenger, invitation_link=make_invitation_links(settings), redis=connect(server.url),
                clock=lambda: now, demo_providers=settings.demo))

        def tick(ledger_sessions) -> CampaignTick:
            records = CampaignRecords(ledger_sessions)
            return CampaignTick(Segmenter(load_strategy(), Portfolio(ledger_sessions), records), records,
                                FollowUp(ledger_sessions, Ledger(sessions).policy))

        plan = next(p for p in tick(sessions).run(now).due if p.borrower_id == "B000001")
        assert plan.channel == "message"
        broken = make_session_factory(gone)
        with pytest.raises(Exception) as failed:
            asyncio.run(contactor(broken).contact(plan))
        assert "unable to open database file" in str(failed.value)
        with pytest.raises(Exception):
            tick(broken).run(now)
        assert _contacts(sessions) == []
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(DemoInboxMessage)) == 0
        assert not sync_redis.Redis.from_url(server.url).exists("campaigns:borrower:B000001")

        assert plan in tick(sessions).run(now).due  # the ledger is back: the same contact is due again
        assert asyncio.run(contactor(sessions).contact(plan)).status == "sent"
        assert [c.status for c in _contacts(sessions)] == ["sent"]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(DemoInboxMessage)) == 1
    finally:
        gone.dispose()
        server.stop()
