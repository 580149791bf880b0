"""The demo phone over real HTTP and WebSocket, against the gateway as it starts with no carrier configured: the
worker's dialer rings it (campaigns.demo_phone), the page lists the ring, a decline is a busy signal, a ring left
alone is unanswered, an answer is a call the contact policy admits and whose end is recorded; each outcome on the
ledger, against the caps and on the campaign's contact record, the line freed."""
from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import AsyncIterator
from urllib.parse import quote

import pytest
import pytest_asyncio
import redis as sync_redis
import websockets

from bot.redis_connection import connect
from campaigns.call_slots import CallSlots
from campaigns.demo_phone import DemoPhone, DemoPhoneDialer
from campaigns.dialer import CallRequest
from configuration.settings import Settings
from ledger.campaign_records import CampaignRecords, ContactPlan
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.stack import PrivateRedis
from tests.unit.gateway_server import gateway_client

NOW = "2026-11-23T10:30:00+08:00"
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo-phone")
    url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=10, us_count=1, as_of=date(2026, 11, 23))
    engine.dispose()
    server = PrivateRedis(directory, durable=False)
    server.start()
    settings = Settings(_env_file=None, redis_url=None, ledger={"database_url": url},
                        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
                        gateway={"fixed_now": NOW, "link_key_file": directory / "link.key"},
                        rasa={"url": "http://127.0.0.1:9", "reply_wait_seconds": 2},
                        campaigns={"redis_url": server.url}, dialer={"ring_seconds": 5})
    yield settings, make_session_factory(make_engine(url)), server.url
    server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(setup) -> AsyncIterator:
    async with gateway_client(setup[0]) as http:
        yield http


def _dialer(redis_url: str) -> DemoPhoneDialer:
    client = connect(redis_url)
    return DemoPhoneDialer(DemoPhone(client, 5), CallSlots(client, 4, 600), 4, outcomes=None)


async def _ring(sessions, redis_url: str, borrower_id: str, account_id: str) -> str:
    """A campaign contact dialled as the worker dials it: claimed, then placed on the demo phone."""
    records = CampaignRecords(sessions)
    contact = records.claim_contact(ContactPlan(borrower_id, account_id, "early_overdue", "dpd_1_30",
                                                "early_overdue:2026-11-23", "call", "overdue_gentle"),
                                    datetime.fromisoformat(NOW))
    placed = await _dialer(redis_url).place_call(CallRequest(contact.attempt_id, borrower_id, "+8613800015210", "overdue_gentle"))
    records.finish_contact(contact.attempt_id, "dialled", datetime.fromisoformat(NOW), provider_id=placed.provider_call_id)
    return contact.attempt_id


def _outcome(sessions, attempt_id: str) -> tuple[str, list[str]]:
    contact = CampaignRecords(sessions).get_contact(attempt_id)
    attempts = [a.outcome for a in Ledger(sessions).contact_attempts_for(contact.borrower_id) if a.conversation_id == attempt_id]
    return contact.status, attempts


async def test_a_declined_ring_is_busy_and_a_ring_left_alone_is_unanswered(client, setup):
    _, sessions, redis_url = setup
    declined = await _ring(sessions, redis_url, "B000002", "A000002-1")
    ignored = await _ring(sessions, redis_url, "B000003", "A000003-1")
    rings = (await client.get("/demo/phone/rings")).json()["rings"]
    assert {ring["attempt_id"] for ring in rings} == {declined, ignored}
    assert all("****" in ring["number"] for ring in rings)
    assert (await client.post(f"/demo/phone/rings/{declined}/decline")).status_code == 200
    assert (await client.post(f"/demo/phone/rings/{declined}/decline")).status_code == 404  # taken once
    assert _outcome(sessions, declined) == ("busy", ["busy", "unanswered"])
    await asyncio.sleep(6)  # past the ring time: the next look reports it
    assert (await client.get("/demo/phone/rings")).json()["rings"] == []
    assert _outcome(sessions, ignored) == ("no_answer", ["no_answer", "unanswered"])
    assert sync_redis.Redis.from_url(redis_url).zcard("collections:dialer:call-slots") == 0, "both lines freed"


async def test_an_answered_ring_is_a_call_admitted_by_the_policy_and_recorded_when_it_ends(client, setup):
    _, sessions, redis_url = setup
    attempt = await _ring(sessions, redis_url, "B000001", "A000001-1")
    url = str(client.base_url).replace("http", "ws") + f"/voice/demo-phone?attempt={attempt}"
    async with websockets.connect(url) as call:
        first = await asyncio.wait_for(call.recv(), 60)  # the bot speaks first (audio or its text)
        assert first
    for _ in range(100):
        status, attempts = _outcome(sessions, attempt)
        if status != "dialled":
            break
        await asyncio.sleep(0.1)
    assert status == "answered" and attempts[0] == "answered" and "call_completed" in attempts
    async with websockets.connect(url) as again:  # the same ring cannot be answered twice
        notice = await asyncio.wait_for(again.recv(), 10)
        assert "no_such_ring" in notice


@pytest.mark.parametrize("attempt", ["", "x", "1' OR '1'='1", "a" * 65])
async def test_a_malformed_or_unknown_ring_is_refused(client, attempt):
    url = str(client.base_url).replace("http", "ws") + f"/voice/demo-phone?attempt={quote(attempt, safe='')}"
    async with websockets.connect(url) as call:
        assert "no_such_ring" in await asyncio.wait_for(call.recv(), 10)
    assert (await client.post(f"/demo/phone/rings/{quote(attempt or 'none', safe='')}/decline")).status_code in (404, 422)


async def test_the_page_is_served(client):
    page = await client.get("/demo/phone")
    assert page.status_code == 200 and "演示电话" in page.text and "Content-Security-Policy" in page.headers
    assert (await client.get("/demo/phone/page.js")).status_code == 200
    assert (await client.get("/demo/voice/call.js")).status_code == 200
    for stylesheet in ("/demo/page.css", "/demo/voice/call.css"):  # the look it shares with the other demo pages
        assert f'href="{stylesheet}"' in page.text
        served = await client.get(stylesheet)
        assert served.status_code == 200 and served.headers["content-type"].startswith("text/css")
    # A keypad, for the ID digits and the keys the bot asks for on phone calls ("确认请按1"), sent as DTMF.
    assert 'id="keypad"' in page.text and '"dtmf"' in (await client.get("/demo/voice/call.js")).text
