"""The console's own JavaScript shows the draft check's advice while the agent types: the page and
its script are the shipped files, and /api/console/draft-check answers with the real filter's
findings (bot.console.draft_check.findings over compliance_filters.check); the rest of the console
API is a fixed conversation held by the agent, so no Rasa is needed here. The whole path over the
running gateway is in test_console_handoff.py."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from bot.console.draft_check import DRAFT_CONTEXT, findings
from compliance_filters import check
from compliance_filters.rules import default_rules

pytestmark = pytest.mark.browser

ORIGIN = "http://console.test"
STATIC = Path(__file__).resolve().parents[2] / "bot" / "console" / "static"
THREAT = "再不还钱，我们就去你公司找你领导"
CONVERSATION = {
    "conversation_id": "conv-draft-advice", "channel": "web", "ended": False, "holder": "agent-x",
    "transcript": [{"speaker": "borrower", "text": "我这个月手头紧"}], "summary": "借款人表示本月资金紧张",
    "identity_verified": True, "account": None,
}
CONTENT_TYPES = {".html": "text/html", ".js": "application/javascript", ".css": "text/css"}
ADVICE_TIMEOUT_MS = 15_000  # a debounced request and a check; generous for a busy machine


@pytest.fixture(scope="module", autouse=True)
def filter_loaded():
    """Rules and classifier loaded before the page types, as the gateway loads them at start."""
    check("您好", DRAFT_CONTEXT)


class FakeConsoleApi:
    """Serves the shipped console files; answers the draft check with the real filter."""

    def __init__(self) -> None:
        self.draft_checks: list[str] = []

    def handle(self, route: Route) -> None:
        path = route.request.url[len(ORIGIN):].split("?")[0]
        if path == "/console":
            return self._file(route, STATIC / "index.html")
        if path.startswith("/console/"):
            return self._file(route, STATIC / path.removeprefix("/console/"))
        if path == "/api/console/draft-check":
            text = json.loads(route.request.post_data)["text"]
            self.draft_checks.append(text)
            verdict = check(text, DRAFT_CONTEXT)
            return self._json(route, {"allowed": verdict.allowed, "findings": findings(verdict, default_rules())})
        answers = {
            "/api/console/me": {"name": "agent-x", "role": "agent"},
            "/api/console/queue": {"queue": [], "mine": [CONVERSATION["conversation_id"]]},
            f"/api/console/conversations/{CONVERSATION['conversation_id']}": CONVERSATION,
        }
        if path in answers:
            return self._json(route, answers[path])
        route.fulfill(status=404, body="{}", content_type="application/json")

    @staticmethod
    def _file(route: Route, path: Path) -> None:
        route.fulfill(status=200, body=path.read_bytes(), content_type=CONTENT_TYPES[path.suffix] + "; charset=utf-8")

    @staticmethod
    def _json(route: Route, payload: dict) -> None:
        route.fulfill(status=200, body=json.dumps(payload, ensure_ascii=False), content_type="application/json")


def test_typing_a_threat_shows_the_rule_and_a_lawful_wording_that_one_click_takes(page: Page, screenshot):
    api = FakeConsoleApi()
    page.route(f"{ORIGIN}/**", api.handle)
    page.goto(f"{ORIGIN}/console")
    page.locator("#mine li").first.click()
    expect(page.locator("#conversation")).to_be_visible()

    page.locator("#message").press_sequentially(THREAT, delay=30)  # typed key by key
    advice = page.locator("#draft-advice")
    suggestion = default_rules().categories["third_party_disclosure"].replacement
    expect(advice).to_contain_text("向第三方披露", timeout=ADVICE_TIMEOUT_MS)
    expect(advice).to_contain_text("TPD-")
    expect(advice).to_contain_text(f"建议改为：{suggestion}")
    screenshot(page, "draft-advice")
    assert len(api.draft_checks) < len(THREAT)  # debounced: not one request per keystroke
    assert api.draft_checks[-1] == THREAT

    advice.locator(".use-suggestion").first.click()
    expect(page.locator("#message")).to_have_value(suggestion)
    expect(advice).to_be_hidden(timeout=ADVICE_TIMEOUT_MS)  # the suggested wording passes the filter
    assert api.draft_checks[-1] == suggestion

    page.locator("#message").fill("")
    page.locator("#message").press_sequentially("请问您这周方便还款吗？", delay=30)
    page.wait_for_timeout(1000)
    expect(advice).to_be_hidden()
