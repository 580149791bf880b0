"""The campaign worker's /metrics: the server `python -m campaigns` runs (campaigns.__main__.MetricsServer, on
127.0.0.1 with the metrics token), scraped over HTTP while real contacts are made through the worker's Contactor
(a real Redis, a SQLite ledger, the demo messenger): a refusal, a sent message and a contact policy out of reach
move exactly their counters."""
from __future__ import annotations

import asyncio
import stat
from datetime import date, datetime

import httpx
import pytest
import redis as sync_redis

from bot.key_files import SecretKeyError
from bot.redis_connection import connect
from campaigns.__main__ import MetricsServer
from campaigns.call_slots import CallSlots
from campaigns.contact import ContactServices, Contactor
from campaigns.demo_phone import DemoPhone, DemoPhoneDialer
from campaigns.messenger import make_invitation_links, make_messenger
from compliance_filters.contact_policy import ContactPolicy
from configuration.settings import Settings
from ledger.campaign_records import CampaignRecords, ContactPlan
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.stack import PrivateRedis
from tests.unit.metrics_scrape import moved, scrape

FIXED_NOW = datetime.fromisoformat("2026-11-23T10:30:00+08:00")  # inside every contact window in Shanghai


def plan(borrower_id: str, channel: str = "message") -> ContactPlan:
    number = borrower_id[1:]
    return ContactPlan(borrower_id, f"A{number}-1", "early_overdue", "dpd_1_30", "early_overdue:2026-11-23",
                       channel, "overdue_gentle")


def test_the_workers_endpoint_wants_the_token_and_counts_contacts_by_outcome_and_refusal_reason(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=4, as_of=date(2026, 11, 23))
    ledger = Ledger(sessions)
    ledger.set_do_not_contact("B000001", "asked not to be contacted", "test")
    redis_server = PrivateRedis(tmp_path, durable=False)
    redis_server.start()
    settings = Settings(_env_file=None, ledger={"database_url": url},
                        gateway={"link_key_file": tmp_path / "link.key"},
                        metrics={"token_file": tmp_path / "metrics.key"})
    server = MetricsServer(settings, 0)  # any free port on 127.0.0.1
    host, port = server.listener.getsockname()[:2]

    def contactor(policy_redis_url: str) -> Contactor:
        return Contactor(ContactServices(
            records=CampaignRecords(sessions), ledger=ledger,
            policy=ContactPolicy(sync_redis.Redis.from_url(policy_redis_url), ledger),
            dialer=DemoPhoneDialer(DemoPhone(connect(redis_server.url), 30),
                                   CallSlots(connect(redis_server.url), 4, 60), 4, None),
            messenger=make_messenger(settings, ledger), invitation_link=make_invitation_links(settings),
            redis=connect(redis_server.url), clock=lambda: FIXED_NOW, demo_providers=settings.demo))

    async def scenario() -> None:
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.02)
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30) as client:
                refused = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
                assert refused.status_code == 401 and refused.json()["error"] == "invalid_metrics_token"
                assert (await client.get("/metrics")).status_code == 401
                token = settings.metrics.token_file.read_text().strip()
                before = await scrape(client, token)
                assert (await contactor(redis_server.url).contact(plan("B000001"))).status == "refused"
                assert (await contactor(redis_server.url).contact(plan("B000002"))).status == "sent"
                # The contact policy's Redis unreachable (calls are counted there): no call, an error of its kind.
                assert (await contactor("redis://127.0.0.1:9/0").contact(plan("B000003", "call"))).status == "error"
                after = await scrape(client, token)
        finally:
            server.should_exit = True
            await serving
        assert moved(before, after, "collections_contact_attempts_total", channel="message", outcome="refused") == 1
        assert moved(before, after, "collections_contact_attempts_total", channel="message", outcome="sent") == 1
        assert moved(before, after, "collections_contact_attempts_total", channel="call", outcome="dialled") == 0
        assert moved(before, after, "collections_contact_refusals_total", reason="do_not_contact") == 1
        assert moved(before, after, "collections_contact_attempts_total", channel="call", outcome="error") == 1
        assert moved(before, after, "collections_errors_total", kind="contact_policy_unavailable") == 1
        assert moved(before, after, "collections_errors_total", kind="messenger_failed") == 0

    try:
        assert host == "127.0.0.1"  # the worker's default: this host only
        asyncio.run(scenario())
        assert stat.S_IMODE(settings.metrics.token_file.stat().st_mode) == 0o600
    finally:
        redis_server.stop()
        engine.dispose()


def test_a_port_in_use_stops_the_start_with_its_address(tmp_path):
    settings = Settings(_env_file=None, metrics={"token_file": tmp_path / "metrics.key"})
    first = MetricsServer(settings, 0)
    try:
        port = first.listener.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot serve /metrics on 127.0.0.1:{port}"):
            MetricsServer(settings, port)
    finally:
        first.listener.close()


def test_a_token_set_in_the_environment_is_the_one_wanted_and_a_short_one_stops_the_start(tmp_path):
    settings = Settings(_env_file=None, metrics={"token": "a-token-from-the-secret-store",
                                                 "token_file": tmp_path / "metrics.key"})
    server = MetricsServer(settings, 0)
    port = server.listener.getsockname()[1]

    async def scrape_with(token: str) -> int:
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.02)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                return (await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})).status_code
        finally:
            server.should_exit = True
            await serving

    assert asyncio.run(scrape_with("a-token-from-the-secret-store")) == 200
    assert not settings.metrics.token_file.exists()  # no key file is made when the setting gives the token
    with pytest.raises(SecretKeyError, match="COLLECTIONS_METRICS_TOKEN must be at least 16 characters"):
        MetricsServer(Settings(_env_file=None, metrics={"token": "too-short"}), 0)
