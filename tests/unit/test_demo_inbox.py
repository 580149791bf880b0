"""/demo/inbox on the gateway as it starts (bot.asgi, every service built by bot.services), served by uvicorn over
real HTTP: a reminder the campaign side sends through the default (demo) messenger appears there, per borrower,
with no debt detail, and its link opens a chat for that borrower; the worker's reminder is a campaign contact, and a
promise made in the chat its link opened counts for the reminder's campaign; bad input gets a clear error; the page
is off when every channel has a real provider."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from fastapi.testclient import TestClient
from sqlalchemy import select

import redis as sync_redis

from bot.app import create_app
from bot.links import BorrowerLinks, load_link_key
from bot.redis_connection import connect
from campaigns.call_slots import CallSlots
from campaigns.chat_links import ChatLinks
from campaigns.contact import ContactServices, Contactor
from campaigns.demo_phone import DemoPhone, DemoPhoneDialer
from campaigns.messenger import Invitation, make_invitation_links, make_messenger
from compliance_filters.contact_policy import ContactPolicy
from configuration.settings import Settings
from ledger.campaign_records import CampaignRecords, ContactPlan
from ledger.policy import promise_window
from tests.stack import PrivateRedis
from tests.unit.gateway_server import gateway_client
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import Borrower
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio

IN_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")  # one gateway for the module
LINK_KEY = "a link key for the demo inbox tests"
NOW = datetime.fromisoformat("2026-11-23T10:30:00+08:00")  # inside the contact policy's window in Shanghai


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    directory = tmp_path_factory.mktemp("demo-inbox")
    url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=4, as_of=date(2026, 11, 23), us_count=1)
    engine.dispose()
    return Settings(
        _env_file=None, redis_url=None, ledger={"database_url": url},
        gateway={"link_key": LINK_KEY},
        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
        rasa={"url": "http://127.0.0.1:9", "reply_wait_seconds": 2},  # no Rasa: an opened chat gets the fault reply
        messenger={"chat_page_url": "http://127.0.0.1:8000/demo/webchat"},
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as http:
        yield http


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def campaign_side(settings):
    """What the campaign worker holds (campaigns.services): its own ledger on the same database, the messenger
    (which opens its own engine for the demo inbox) and the link helper."""
    engine = make_engine(settings.ledger.url())
    sessions = make_session_factory(engine)
    messenger = make_messenger(settings, Ledger(sessions))
    yield messenger, ChatLinks.from_settings(settings).for_borrower, sessions
    await messenger.aclose()
    engine.dispose()


@IN_MODULE_LOOP
async def test_a_sent_reminder_appears_in_the_inbox_and_its_link_opens_a_chat(client, campaign_side):
    messenger, links, sessions = campaign_side
    with sessions() as session:
        first, second = session.scalars(select(Borrower.borrower_id).order_by(Borrower.borrower_id)).all()[:2]
    sent = await messenger.send(Invitation(first, "sms", "zh", "overdue", links(first)))
    await messenger.send(Invitation(second, "sms", "en", "pre_due_reminder", links(second)))

    page = await client.get("/demo/inbox")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert '<script src="/demo/inbox/page.js">' in page.text
    script = await client.get("/demo/inbox/page.js")
    assert script.status_code == 200 and "textContent" in script.text and "innerHTML" not in script.text

    listed = (await client.get("/demo/inbox/messages", params={"borrower_id": first})).json()["messages"]
    assert [(m["borrower_id"], m["channel"], m["text"]) for m in listed] == [(first, "sms", sent.text)]
    assert "****" in listed[0]["recipient"]
    everyone = (await client.get("/demo/inbox/messages")).json()["messages"]
    assert [m["borrower_id"] for m in everyone] == [second, first]  # newest first

    # The link is the web chat page with a signed link that opens a conversation for this borrower.
    chat_url = urlsplit(listed[0]["link"])
    assert chat_url.path == "/demo/webchat"
    borrower_link = parse_qs(chat_url.query)["link"][0]
    opened = await client.post("/api/conversations", json={"borrower_link": borrower_link})
    assert opened.status_code == 201, opened.text
    assert opened.json()["conversation_id"] and opened.json()["secret"]
    tampered = borrower_link[:-3] + ("AAA" if not borrower_link.endswith("AAA") else "BBB")
    assert (await client.post("/api/conversations", json={"borrower_link": tampered})).status_code == 401


@IN_MODULE_LOOP
async def test_a_promise_in_the_chat_a_reminder_opened_counts_for_the_reminders_campaign(
        client, campaign_side, settings, tmp_path):
    """As for a call the dialer placed: the worker's reminder (claimed, the policy asked, sent to the demo inbox) carries
    a link of its own; the chat it opens is recorded as the reminder's, so the console's campaign counts attribute a
    promise made there. A promise in a chat the borrower opened with a plain link counts for no campaign."""
    messenger, plain_link, sessions = campaign_side
    ledger, records = Ledger(sessions), CampaignRecords(sessions)
    redis_server = PrivateRedis(tmp_path, durable=False)
    redis_server.start()
    try:
        contactor = Contactor(ContactServices(
            records=records, ledger=ledger, policy=ContactPolicy(sync_redis.Redis.from_url(redis_server.url), ledger),
            dialer=DemoPhoneDialer(DemoPhone(connect(redis_server.url), 30), CallSlots(connect(redis_server.url), 4, 60),
                                   4, None),
            messenger=messenger, invitation_link=make_invitation_links(settings), redis=connect(redis_server.url),
            clock=lambda: NOW, demo_providers=settings.demo))
        borrower_id = "B000003"
        account = ledger.get_primary_account(borrower_id)
        sent = await contactor.contact(ContactPlan(borrower_id, account.account_id, "early_overdue", "dpd_1_30",
                                                   "early_overdue:2026-11-23", "message", "overdue_gentle"))
    finally:
        redis_server.stop()
    assert sent is not None and sent.status == "sent", sent

    listed = (await client.get("/demo/inbox/messages", params={"borrower_id": borrower_id})).json()["messages"]
    reminder_link = parse_qs(urlsplit(listed[0]["link"]).query)["link"][0]
    # Signed, not encrypted: all it says is who and which contact (an opaque id), nothing of the debt or the script.
    assert BorrowerLinks(load_link_key(settings.gateway)).admit_claims(reminder_link) == (borrower_id, sent.attempt_id)
    from_reminder = await client.post("/api/conversations", json={"borrower_link": reminder_link})
    from_plain_link = await client.post("/api/conversations",
                                        json={"borrower_link": parse_qs(urlsplit(plain_link(borrower_id)).query)["link"][0]})
    assert from_reminder.status_code == from_plain_link.status_code == 201
    reminders_chat, own_chat = from_reminder.json()["conversation_id"], from_plain_link.json()["conversation_id"]
    assert reminders_chat != sent.attempt_id  # a chat of its own: the link may open several

    today = NOW.date()
    first_day = promise_window(account.risk_tier, today, ledger.policy)[0]
    ledger.record_promise(account.account_id, reminders_chat, 10_000, first_day, today, at=NOW)
    ledger.record_promise(account.account_id, own_chat, 20_000, first_day, today, at=NOW)
    counts = records.campaign_counts(NOW - timedelta(hours=1))
    assert counts["early_overdue"].promised == 1
    assert counts["early_overdue"].by_status == {"sent": 1}
    assert ledger.get_conversation(reminders_chat).campaign_attempt_id == sent.attempt_id


@IN_MODULE_LOOP
async def test_bad_inbox_queries_get_a_clear_error(client):
    assert (await client.get("/demo/inbox/messages", params={"borrower_id": "B" * 65})).status_code == 422
    assert (await client.get("/demo/inbox/messages", params={"borrower_id": ""})).status_code == 422
    nobody = await client.get("/demo/inbox/messages", params={"borrower_id": "x' OR '1'='1"})
    assert nobody.status_code == 200 and nobody.json() == {"messages": []}


def test_the_inbox_is_off_once_any_channel_has_a_real_provider():
    real = Settings(_env_file=None, messenger={"sms_account_sid": "AC1", "sms_auth_token": "tok",
                                               "sms_from": "+15005550006"})
    # No `with`: the lifespan never starts; the page itself needs no service.
    assert TestClient(create_app(real)).get("/demo/inbox").status_code == 404
    assert TestClient(create_app(Settings(_env_file=None))).get("/demo/inbox").status_code == 200
