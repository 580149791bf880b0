"""A supervisor closes a dispute in the console over real HTTP, against the gateway as it starts (bot.asgi): the
borrower leaves dispute_hold for a days-past-due segment at once and the contact history shows the claim closed;
agents and strangers are refused, and an unknown claim, a closed one or a bad outcome gets a clear 4xx with nothing
changed."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from bot.console.agents import AgentDirectory
from campaigns.segmenter import Segmenter
from campaigns.strategy import load_strategy
from configuration.settings import Settings
from ledger.campaign_records import CampaignRecords
from ledger.db import make_engine, make_session_factory
from ledger.portfolio import Portfolio
from ledger.repository import Ledger
from tests.unit.gateway_server import gateway_client
from tests.unit.seeded_ledger import seeded_sqlite

PASSWORD = "a supervisor's long password"
NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def ledger_setup(tmp_path_factory):
    directory = tmp_path_factory.mktemp("claims-console")
    with seeded_sqlite(directory, count=6, us_count=0) as (url, sessions):
        AgentDirectory(sessions).add("boss", "supervisor", PASSWORD)
        AgentDirectory(sessions).add("agent.li", "agent", PASSWORD)
        ledger = Ledger(sessions)
        claims = {
            "dispute": ledger.record_claim("B000001", "A000001-1", "conv-http-1", "dispute", detail="不是我借的").claim_id,
            "other_dispute": ledger.record_claim("B000002", "A000002-1", "conv-http-2", "dispute").claim_id,
            "hardship": ledger.record_claim("B000003", "A000003-1", "conv-http-3", "hardship").claim_id,
        }
        Segmenter(load_strategy(), Portfolio(sessions), CampaignRecords(sessions)).place_all(NOW)
    return directory, url, claims


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(ledger_setup) -> AsyncIterator[httpx.AsyncClient]:
    directory, url, _ = ledger_setup
    settings = Settings(_env_file=None, redis_url=None, ledger={"database_url": url},
                        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
                        rasa={"url": "http://127.0.0.1:9"}, gateway={"fixed_now": NOW.isoformat()})
    async with gateway_client(settings) as http:
        yield http


@pytest.fixture
def ledger(ledger_setup) -> Ledger:
    engine = make_engine(ledger_setup[1])
    yield Ledger(make_session_factory(engine))
    engine.dispose()


async def _signed_in(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    client.cookies.clear()
    response = await client.post("/api/console/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200
    client.cookies.clear()
    return {"Cookie": f"console_session={response.json()['token']}"}


async def _history(client, headers, borrower_id: str) -> dict:
    return (await client.get(f"/api/console/borrowers/{borrower_id}/contacts", headers=headers)).json()


async def test_a_supervisor_rejects_a_dispute_and_the_borrower_leaves_dispute_hold(client, ledger_setup, ledger):
    claim_id = ledger_setup[2]["dispute"]
    headers = await _signed_in(client, "boss")
    before = await _history(client, headers, "B000001")
    assert before["segments"][-1]["segment"] == "dispute_hold"
    assert [(c["claim_id"], c["status"]) for c in before["claims"]] == [(claim_id, "open")]

    resolved = await client.post(f"/api/console/claims/{claim_id}/resolve", headers=headers,
                                 json={"outcome": "rejected", "note": "contract signed in branch"})
    assert resolved.status_code == 200, resolved.text
    assert {key: resolved.json()[key] for key in ("claim_id", "kind", "status", "outcome", "resolved_by", "note")} == {
        "claim_id": claim_id, "kind": "dispute", "status": "closed", "outcome": "rejected", "resolved_by": "boss",
        "note": "contract signed in branch"}
    after = await _history(client, headers, "B000001")
    moved = after["segments"][-1]
    assert (moved["previous"], moved["segment"]) == ("dispute_hold", "dpd_1_30")
    assert moved["reason"].startswith(f"dispute claim {claim_id} rejected by boss")
    assert [(c["status"], c["outcome"]) for c in after["claims"]] == [("closed", "rejected")]
    assert ledger.get_account("A000001-1").status == "collecting"


async def test_a_hardship_claim_is_resolved(client, ledger_setup, ledger):
    claim_id = ledger_setup[2]["hardship"]
    headers = await _signed_in(client, "boss")
    resolved = await client.post(f"/api/console/claims/{claim_id}/resolve", headers=headers, json={"outcome": "resolved"})
    assert resolved.json()["outcome"] == "resolved"
    assert (await _history(client, headers, "B000003"))["segments"][-1]["segment"] != "hardship"


@pytest.mark.parametrize("claim, body, status, error", [
    ("missing", {"outcome": "upheld"}, 404, "unknown_claim"),
    ("other_dispute", {"outcome": "resolved"}, 422, "outcome_not_allowed"),
    ("other_dispute", {"outcome": "forgiven"}, 422, "invalid_request"),
    ("other_dispute", {}, 422, "invalid_request"),
    ("other_dispute", {"outcome": "upheld", "note": "x" * 1001}, 422, "invalid_request"),
    ("other_dispute", {"outcome": "upheld", "resolved_by": "someone else"}, 422, "invalid_request"),
])
async def test_bad_requests_get_a_clear_error_and_change_nothing(client, ledger_setup, ledger, claim, body, status,
                                                                 error):
    claim_id = ledger_setup[2].get(claim, 987_654)
    headers = await _signed_in(client, "boss")
    answer = await client.post(f"/api/console/claims/{claim_id}/resolve", headers=headers, json=body)
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert [c.status for c in ledger.claims_for("B000002")] == ["open"]
    assert ledger.get_account("A000002-1").status == "paused"


async def test_a_closed_claim_is_not_closed_again(client, ledger_setup, ledger):
    claim_id = ledger_setup[2]["other_dispute"]
    headers = await _signed_in(client, "boss")
    first = await client.post(f"/api/console/claims/{claim_id}/resolve", headers=headers, json={"outcome": "upheld"})
    assert first.status_code == 200 and ledger.get_account("A000002-1").status == "closed"
    again = await client.post(f"/api/console/claims/{claim_id}/resolve", headers=headers, json={"outcome": "rejected"})
    assert (again.status_code, again.json()["error"]) == (409, "claim_closed")
    assert ledger.get_account("A000002-1").status == "closed"
    assert ledger.claims_for("B000002")[0].outcome == "upheld"


async def test_agents_and_strangers_are_refused(client):
    path = "/api/console/claims/1/resolve"
    client.cookies.clear()
    assert (await client.post(path, json={"outcome": "upheld"})).status_code == 401
    agent = await _signed_in(client, "agent.li")
    assert (await client.post(path, headers=agent, json={"outcome": "upheld"})).status_code == 403
