"""What a supervisor sees of the outbound campaigns in the console page (the shipped HTML and JavaScript) against
a real gateway on a seeded ledger: the campaigns with their counts, a pause that shows, a borrower's history."""
from __future__ import annotations

from typing import Iterator

import pytest
from playwright.sync_api import Page, expect

from campaigns.segmenter import Segmenter
from campaigns.strategy import load_strategy
from campaigns.tick import CampaignTick
from configuration.settings import Settings
from ledger.campaign_records import CampaignRecords
from ledger.db import make_engine, make_session_factory
from ledger.follow_up import FollowUp
from ledger.portfolio import Portfolio
from ledger.repository import Ledger
from tests.browser.in_thread_gateway import serve_gateway
from tests.unit.test_console_campaigns import NOW, PASSWORD, campaign_ledger, ledger_setup  # noqa: F401 - the seeded ledger

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def gateway(campaign_ledger) -> Iterator[str]:  # noqa: F811 - the fixture imported above
    directory, url = campaign_ledger
    settings = Settings(_env_file=None, redis_url=None, ledger={"database_url": url},
                        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
                        rasa={"url": "http://127.0.0.1:9"}, gateway={"fixed_now": NOW.isoformat()})
    with serve_gateway(settings) as url:
        yield url


def _due_now(campaign_ledger, campaign: str) -> int:
    _, url = campaign_ledger
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    records = CampaignRecords(sessions)
    tick = CampaignTick(Segmenter(load_strategy(), Portfolio(sessions), records), records,
                        FollowUp(sessions, Ledger(sessions).policy))
    due = sum(plan.campaign == campaign for plan in tick.due_now(NOW))
    engine.dispose()
    return due


def test_a_supervisor_sees_campaigns_pauses_one_and_reads_a_borrowers_history(
        gateway, campaign_ledger, page: Page, screenshot):  # noqa: F811 - the fixture imported above
    page.goto(f"{gateway}/console")
    page.fill("#login-name", "boss")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    table = page.locator("#campaigns")
    expect(table).to_be_visible()
    early = table.locator("tr", has_text="逾期初期")
    expect(early).to_contain_text("进行中")
    # Due now: who the worker's next tick would contact (its planning, asked read-only); promised: only the promise
    # made on the campaign's own call (the seeded chat promise is no campaign's).
    expect(table.locator("thead th").nth(3)).to_have_text("当前待联系")
    expect(early.locator("td").nth(3)).to_have_text(str(_due_now(campaign_ledger, "early_overdue")))
    expect(early.locator("td").nth(7)).to_have_text("1")
    late = table.locator("tr", has_text="逾期 31 天以上")
    expect(late).to_contain_text("do_not_contact 1")
    screenshot(page, "campaigns")
    early.get_by_role("button", name="暂停").click()
    expect(early).to_contain_text("已暂停")
    expect(early.get_by_role("button", name="恢复")).to_be_visible()
    page.fill("#history-borrower", "B000002")
    page.click("#history-form button")
    history = page.locator("#history")
    expect(history).to_contain_text("dpd_31_60_silent")
    expect(history).to_contain_text("late_overdue · call · refused（do_not_contact）")
    expect(history).to_contain_text("paid · A000002-1")  # the open claim a person is to check
    expect(history.locator("li", has_text="paid · A000002-1")).to_contain_text("未结")
    screenshot(page, "history")
    early.get_by_role("button", name="恢复").click()
    expect(early).to_contain_text("进行中")
