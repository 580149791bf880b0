"""A borrower chats in the rasa-webchat widget and asks for a person; an agent signs in to the console
in another browser, takes the conversation, writes to the borrower (it appears in the widget), types a
threat (the console shows the rule and a lawful wording before it is sent, and one click takes the
wording), sends a threat anyway (blocked: shown to the agent, never in the widget) and hands back;
the bot answers again."""
from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from ledger.wording import yuan
from ledger.notices import notice

from compliance_filters.rules import default_rules
from tests.browser.conftest import CHROMIUM_ARGS, DEFAULT_TIMEOUT_MS, VIEWPORT  # noqa: F401
from bot.links import webchat_demo_url
from tests.e2e.chat import borrower_link
from tests.e2e.console_client import PASSWORD, add_console_accounts

TAKEN_NOTICE, HANDED_BACK_NOTICE = notice("zh", "taken"), notice("zh", "handed_back")

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
THREAT = "再不还钱就告诉你全家"
AGENT_GREETING = "您好，我是人工专员小王，我来帮您看看还款安排。"


def _bot_says(widget: Page, text: str) -> None:
    expect(widget.locator(".rw-messages-container")).to_contain_text(text, timeout=DEFAULT_TIMEOUT_MS)


def _type(widget: Page, text: str) -> None:
    box = widget.locator(".rw-new-message")
    box.fill(text)
    box.press("Enter")
    expect(widget.locator(".rw-client").last).to_have_text(text)


@pytest.fixture
def console_page(browser: Browser, stack, ledger_url):
    add_console_accounts(ledger_url)
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_agent_takes_over_from_the_widget_blocks_a_threat_and_hands_back(
        stack, borrowers, page, console_page, screenshot):
    borrower, account = borrowers.take()
    widget = page
    widget.goto(webchat_demo_url(stack.gateway_url, borrower_link(borrower.borrower_id)))
    widget.locator(".rw-launcher").click()
    _bot_says(widget, "本人吗")
    _type(widget, "对，我就是本人")
    _bot_says(widget, "后四位")
    _type(widget, f"身份证后四位是{borrower.id_last4}")
    _bot_says(widget, "核实通过")
    _type(widget, "我要转人工")
    _bot_says(widget, "排队等候人工专员")

    console = console_page
    console.goto(f"{stack.gateway_url}/console")
    console.fill("#login-name", "e2e-agent-a")
    console.fill("#login-password", "not the password")
    console.click("#login-submit")
    expect(console.locator("#login-error")).to_have_text("账号或密码错误")
    console.fill("#login-password", PASSWORD)
    console.click("#login-submit")
    expect(console.locator("#who")).to_contain_text("e2e-agent-a")
    masked = borrower.borrower_id[:1] + "***" + borrower.borrower_id[-3:]
    waiting = console.locator("#queue li", has_text=masked)
    expect(waiting).to_contain_text("要求人工")
    waiting.click()
    expect(console.locator("#summary")).to_contain_text("要求转人工")
    screenshot(console, "console-queue")
    console.click("#take")
    expect(console.locator("#conv-holder")).to_have_text("接待坐席：e2e-agent-a")
    _bot_says(widget, TAKEN_NOTICE)
    expect(console.locator("#account")).to_contain_text(yuan(account.balance_cents))

    console.fill("#message", AGENT_GREETING)
    console.click("#send")
    _bot_says(widget, AGENT_GREETING)
    expect(console.locator("#transcript")).to_contain_text(AGENT_GREETING)

    console.locator("#message").press_sequentially(THREAT)  # typed key by key, as an agent would
    advice = console.locator("#draft-advice")
    expect(advice).to_contain_text("向第三方披露")
    expect(advice).to_contain_text("TPD-")
    suggestion = default_rules().categories["third_party_disclosure"].replacement
    expect(advice).to_contain_text(suggestion)
    screenshot(console, "console-draft-advice")
    advice.locator(".use-suggestion").first.click()
    expect(console.locator("#message")).to_have_value(suggestion)
    expect(advice).to_be_hidden()  # the suggested wording itself passes

    console.fill("#message", THREAT)
    console.click("#send")
    expect(console.locator("#blocked")).to_contain_text("合规检查拦截")
    _type(widget, "好的，我听着")  # the bot stays silent; the agent sees the borrower's words
    expect(console.locator("#transcript")).to_contain_text("好的，我听着")
    screenshot(console, "console-blocked")
    screenshot(widget, "widget-with-agent")
    assert THREAT not in widget.locator(".rw-messages-container").inner_text()
    assert THREAT not in console.locator("#transcript").inner_text()

    console.click("#hand-back")
    _bot_says(widget, HANDED_BACK_NOTICE)
    expect(console.locator("#conversation")).to_be_hidden()  # no longer theirs, no longer waiting
    stated = widget.locator(".rw-response", has_text=yuan(account.balance_cents))
    before = stated.count()
    _type(widget, "我还欠多少钱")
    expect(stated).to_have_count(before + 1)  # the bot answers, still knowing identity is verified
    assert THREAT not in widget.locator(".rw-messages-container").inner_text()
    screenshot(widget, "widget-bot-again")
    screenshot(console, "console-after-hand-back")
