"""The supervisor's campaign view over real HTTP, against the gateway as it starts (bot.asgi): live counts from the
ledger, pause and resume, a borrower's contact history; agents and strangers are refused, bad names are 404/422."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from bot.console.agents import AgentDirectory
from campaigns.segmenter import Segmenter
from campaigns.strategy import load_strategy
from campaigns.tick import CampaignTick
from configuration.settings import Settings
from tests.unit.gateway_server import gateway_client
from ledger.campaign_records import CampaignRecords, ContactPlan
from ledger.db import make_engine, make_session_factory
from ledger.follow_up import FollowUp
from ledger.portfolio import Portfolio
from ledger.repository import Ledger
from tests.unit.seeded_ledger import seeded_sqlite

PASSWORD = "a supervisor's long password"
NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def ledger_setup(tmp_path_factory):
    directory = tmp_path_factory.mktemp("campaigns-console")
    with seeded_sqlite(directory, count=20, us_count=2) as (url, sessions):
        AgentDirectory(sessions).add("boss", "supervisor", PASSWORD)
        AgentDirectory(sessions).add("agent.li", "agent", PASSWORD)
        records = CampaignRecords(sessions)
        Segmenter(load_strategy(), Portfolio(sessions), records).place_all(NOW)
        # B000001 (dpd_1_30): a message sent, then a promise; B000002 (late): a call refused by the policy.
        sent = records.claim_contact(ContactPlan("B000001", "A000001-1", "early_overdue", "dpd_1_30",
                                                 "early_overdue:2026-11-23", "message", "overdue_gentle"), NOW)
        records.finish_contact(sent.attempt_id, "sent", NOW, reason="sms", provider_id="demo-1")
        Ledger(sessions).record_promise("A000001-1", "conv-1", 50_000, date(2026, 11, 25), date(2026, 11, 23), at=NOW)
        refused = records.claim_contact(ContactPlan("B000002", "A000002-1", "late_overdue", "dpd_31_60_silent",
                                                    "late_overdue:2026-11-23", "call", "overdue_gentle"), NOW)
        records.finish_contact(refused.attempt_id, "refused", NOW, reason="do_not_contact")
        # B000002 says they paid already: an open claim for a person to check (it moves no segment).
        Ledger(sessions).record_claim("B000002", "A000002-1", "conv-2", "paid", amount_cents=30_000)
    return directory, url


@pytest.fixture(scope="module")
def campaign_ledger(ledger_setup):
    """ledger_setup (which the KPI tests share as it is), plus B000003: an early_overdue call answered and a promise
    made on it (the attempt's conversation). B000001's promise was made in a chat of its own: no campaign's (the old
    count gave it to the message sent before it)."""
    directory, url = ledger_setup
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    records = CampaignRecords(sessions)
    called = records.claim_contact(ContactPlan("B000003", "A000003-1", "early_overdue", "dpd_1_30",
                                               "early_overdue:2026-11-23", "call", "overdue_gentle"), NOW)
    records.finish_contact(called.attempt_id, "answered", NOW, provider_id="CA" + "0" * 32)
    Ledger(sessions).record_promise("A000003-1", called.attempt_id, 40_000, date(2026, 11, 26), date(2026, 11, 23),
                                    at=NOW)
    engine.dispose()
    return directory, url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(campaign_ledger) -> AsyncIterator[httpx.AsyncClient]:
    directory, url = campaign_ledger
    settings = Settings(_env_file=None, redis_url=None, ledger={"database_url": url},
                        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
                        rasa={"url": "http://127.0.0.1:9"}, gateway={"fixed_now": NOW.isoformat()})
    async with gateway_client(settings) as http:
        yield http


async def _signed_in(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    client.cookies.clear()  # who is signed in is only what the headers say
    response = await client.post("/api/console/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200
    client.cookies.clear()
    return {"Cookie": f"console_session={response.json()['token']}"}


async def test_live_counts_come_from_the_ledger(client, campaign_ledger):
    headers = await _signed_in(client, "boss")
    body = (await client.get("/api/console/campaigns", headers=headers)).json()
    rows = {row["name"]: row for row in body["campaigns"]}
    assert set(rows) == set(load_strategy().campaigns)
    early, late = rows["early_overdue"], rows["late_overdue"]
    assert (early["planned"], early["attempted"], early["reached"], early["status"]) == (2, 2, 1, "active")
    assert early["promised"] == 1  # the promise made on the campaign's call, not the one in the borrower's own chat
    assert early["borrowers"] >= 1
    assert (late["attempted"], late["refused"]) == (0, {"do_not_contact": 1})
    # Due now: what the worker's tick would plan at this moment (a tick of its own on the same ledger, after the
    # console's read, which recorded nothing).
    _, url = campaign_ledger
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    records = CampaignRecords(sessions)
    placed = records.current_segments()
    changes = sum(len(records.segment_history(borrower_id)) for borrower_id in placed)
    tick = CampaignTick(Segmenter(load_strategy(), Portfolio(sessions), records), records,
                        FollowUp(sessions, Ledger(sessions).policy))
    due = tick.run(NOW).due
    engine.dispose()
    assert changes == len(placed) == 22  # placed once each when seeded, nothing since
    assert {name: row["due"] for name, row in rows.items()} == {
        name: sum(plan.campaign == name for plan in due) for name in rows}
    assert early["due"] >= 1 and not {"B000001", "B000003"} & {plan.borrower_id for plan in due}  # contacted today
    assert body["callbacks"]["due"] == 0


async def test_pause_and_resume_are_recorded_and_shown(client):
    headers = await _signed_in(client, "boss")
    paused = await client.post("/api/console/campaigns/early_overdue/pause", headers=headers)
    assert paused.json() == {"name": "early_overdue", "status": "paused", "changed_by": "boss"}
    rows = {row["name"]: row for row in (await client.get("/api/console/campaigns", headers=headers)).json()["campaigns"]}
    assert rows["early_overdue"]["status"] == "paused"
    assert (await client.post("/api/console/campaigns/early_overdue/resume", headers=headers)).json()["status"] == "active"


async def test_a_borrowers_contact_history(client):
    headers = await _signed_in(client, "boss")
    history = (await client.get("/api/console/borrowers/B000002/contacts", headers=headers)).json()
    assert [s["segment"] for s in history["segments"]] == ["dpd_31_60_silent"]
    assert [(c["campaign"], c["status"], c["reason"]) for c in history["contacts"]] == [
        ("late_overdue", "refused", "do_not_contact")]
    assert [(c["kind"], c["account_id"], c["status"], c["outcome"]) for c in history["claims"]] == [
        ("paid", "A000002-1", "open", None)]


@pytest.mark.parametrize("method, path, expected", [
    ("post", "/api/console/campaigns/no_such_campaign/pause", 404),
    ("post", "/api/console/campaigns/early_overdue/delete", 404),
    ("get", "/api/console/borrowers/B999999/contacts", 404),
    ("get", "/api/console/borrowers/B1';DROP TABLE borrowers;--/contacts", 422),
    ("get", "/api/console/campaigns?hours=0", 422),
])
async def test_bad_requests_are_refused_clearly(client, method, path, expected):
    headers = await _signed_in(client, "boss")
    assert (await getattr(client, method)(path, headers=headers)).status_code == expected


async def test_agents_and_strangers_are_refused(client):
    client.cookies.clear()
    assert (await client.get("/api/console/campaigns")).status_code == 401
    agent = await _signed_in(client, "agent.li")
    assert (await client.get("/api/console/campaigns", headers=agent)).status_code == 403
    assert (await client.post("/api/console/campaigns/early_overdue/pause", headers=agent)).status_code == 403
