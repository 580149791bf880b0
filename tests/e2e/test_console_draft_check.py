"""The console checks an agent's draft before it is sent: over real HTTP against the running gateway,
with the same sign-in as every console endpoint, the rule that fired and a lawful wording."""
from __future__ import annotations

import httpx
import pytest

from compliance_filters.rules import default_rules
from tests.e2e.console_client import PASSWORD, Console, add_console_accounts

pytestmark = pytest.mark.e2e

THREAT = "再不还钱，我们就打电话告诉你公司领导和你爸妈。"
LAWFUL = "我们不会联系您的家人或同事，请问您这周方便还款吗？"


@pytest.fixture
def agent(stack, ledger_url):
    add_console_accounts(ledger_url)
    console = Console(stack.gateway_url, "e2e-agent-a", PASSWORD)
    yield console
    console.close()


def draft_check(console: Console, text) -> httpx.Response:
    return console.http.post("/api/console/draft-check", json={"text": text})


def test_a_threatening_draft_gets_its_rule_and_a_lawful_wording_that_itself_passes(agent):
    response = draft_check(agent, THREAT)
    assert response.status_code == 200
    body = response.json()
    assert body["allowed"] is False
    finding = body["findings"][0]
    category = default_rules().categories[finding["category"]]
    assert finding["category"] == "third_party_disclosure"
    assert finding["why"] == category.description
    assert finding["suggestion"] == category.replacement
    assert finding["rules"] and all(rule["id"] and rule["description"] for rule in finding["rules"])
    suggested = draft_check(agent, finding["suggestion"]).json()
    assert suggested == {"allowed": True, "findings": []}


def test_a_lawful_draft_passes(agent):
    assert draft_check(agent, LAWFUL).json() == {"allowed": True, "findings": []}


def test_draft_check_needs_a_signed_in_agent_and_a_real_text(stack, agent):
    anonymous = httpx.post(f"{stack.gateway_url}/api/console/draft-check", json={"text": THREAT}, timeout=30)
    assert anonymous.status_code == 401
    forged = httpx.post(f"{stack.gateway_url}/api/console/draft-check", json={"text": THREAT},
                        headers={"Authorization": "Bearer forged-token"}, timeout=30)
    assert forged.status_code == 401
    assert draft_check(agent, "   ").status_code == 422
    assert draft_check(agent, 42).status_code == 422
    assert draft_check(agent, "好" * 5000).status_code == 413
