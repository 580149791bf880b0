"""The KPI dashboard over real HTTP, against the gateway as it starts (bot.asgi): supervisors only (agents 403,
strangers 401 or sent to sign in), the figures and the CSV from the ledger, a range it cannot answer is 422."""
from __future__ import annotations

import csv
import io
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from configuration.settings import Settings
from tests.unit.gateway_server import gateway_client
from tests.unit.test_console_campaigns import NOW, _signed_in, ledger_setup  # noqa: F401 - the seeded ledger fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(ledger_setup) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811 - the fixture imported above
    directory, url = ledger_setup
    settings = Settings(_env_file=None, redis_url=None, ledger={"database_url": url},
                        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
                        rasa={"url": "http://127.0.0.1:9"}, gateway={"fixed_now": NOW.isoformat()})
    async with gateway_client(settings) as http:
        yield http


async def test_only_supervisors_see_the_dashboard(client):
    client.cookies.clear()
    assert (await client.get("/api/console/kpis")).status_code == 401
    assert (await client.get("/api/console/kpis.csv")).status_code == 401
    stranger = await client.get("/console/kpis", follow_redirects=False)
    assert (stranger.status_code, stranger.headers["location"]) == (303, "/console")
    agent = await _signed_in(client, "agent.li")
    assert (await client.get("/api/console/kpis", headers=agent)).status_code == 403
    assert (await client.get("/api/console/kpis.csv", headers=agent)).status_code == 403
    assert (await client.get("/console/kpis", headers=agent)).status_code == 403
    boss = await _signed_in(client, "boss")
    page = await client.get("/console/kpis", headers=boss)
    assert page.status_code == 200 and "/console/kpis.js" in page.text
    assert "content-security-policy" in page.headers  # the console's protections cover the page


async def test_the_last_thirty_days_by_default_with_the_ledgers_figures(client):
    boss = await _signed_in(client, "boss")
    body = (await client.get("/api/console/kpis", headers=boss)).json()
    assert (body["start"], body["end"]) == ("2026-10-25", "2026-11-23")  # the gateway's clock, in Shanghai
    assert len(body["rows"]) == 30
    # The seeded ledger: one reminder sent to B000001, one promise of 500.00, one call refused (not a contact).
    totals = body["totals"]
    assert (totals["messages_sent"], totals["calls_placed"], totals["promises"], totals["promised_cents"]) == (
        1, 0, 1, 50_000)
    assert totals["contact_rate"] is None
    one = (await client.get("/api/console/kpis", headers=boss,
                            params={"start": "2026-11-23", "end": "2026-11-23", "by": "campaign",
                                    "campaign": "early_overdue"})).json()
    assert [row["key"] for row in one["rows"]] == ["early_overdue"] and one["filters"] == {"campaign": "early_overdue"}


async def test_csv_export(client):
    boss = await _signed_in(client, "boss")
    response = await client.get("/api/console/kpis.csv", headers=boss,
                                params={"start": "2026-11-22", "end": "2026-11-23"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="kpis-2026-11-22-2026-11-23-by-day.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["day"] for row in rows] == ["2026-11-22", "2026-11-23", "total"]
    assert (rows[1]["messages_sent"], rows[1]["promised_cents"], rows[2]["promises"]) == ("1", "50000", "1")
    assert rows[0]["messages_sent"] == "0" and rows[2]["kept_promise_rate"] == ""


@pytest.mark.parametrize("params", [
    {"start": "2026-11-23", "end": "2026-11-01"}, {"start": "2025-01-01", "end": "2026-11-23"}, {"by": "lender"},
    {"start": "yesterday"}, {"zone": "Nowhere/City"}, {"segment": "x" * 65},
])
async def test_a_range_it_cannot_answer_is_422(client, params):
    boss = await _signed_in(client, "boss")
    assert (await client.get("/api/console/kpis", headers=boss, params=params)).status_code == 422
