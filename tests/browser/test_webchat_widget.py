"""A borrower chats through the unmodified rasa-webchat widget on /demo/webchat, against the real stack:
the bot discloses it is an AI and that the chat is recorded, verifies identity, states the balance, and
a reload of the page resumes the same session with its history."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from actions.formatting import yuan
from tests.e2e.chat import discloses_debt

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TURN_TIMEOUT_MS = 60_000


def _open_widget(page: Page, gateway_url: str, borrower_id: str) -> None:
    page.goto(f"{gateway_url}/demo/webchat?borrower_id={borrower_id}")
    page.locator(".rw-launcher").click()
    expect(page.locator(".rw-conversation-container")).to_be_visible()


def _bot_says(page: Page, text: str) -> None:
    expect(page.locator(".rw-messages-container")).to_contain_text(text, timeout=TURN_TIMEOUT_MS)


def _type(page: Page, text: str) -> None:
    box = page.locator(".rw-new-message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".rw-client").last).to_have_text(text)


def _session_id(page: Page) -> str:
    return page.evaluate("JSON.parse(window.sessionStorage.getItem('chat_session')).session_id")


def test_borrower_verifies_and_hears_the_balance_in_the_widget_and_a_reload_resumes(
        stack, borrowers, page, screenshot):
    borrower, account = borrowers.take()
    _open_widget(page, stack.gateway_url, borrower.borrower_id)
    _bot_says(page, "AI自动应答")
    _bot_says(page, "录音")
    _bot_says(page, "本人吗")
    messages = page.locator(".rw-messages-container")
    assert yuan(account.balance_cents) not in messages.inner_text()  # nothing about the debt before verification
    screenshot(page.locator(".rw-conversation-container"), "widget-greeting")

    _type(page, "对，我就是本人")
    _bot_says(page, "后四位")
    _type(page, f"身份证后四位是{borrower.id_last4}")
    _bot_says(page, "核实通过")
    _bot_says(page, yuan(account.balance_cents))
    session_id = _session_id(page)
    shot = screenshot(page, "widget-verified")
    assert shot.stat().st_size > 10_000

    page.reload()
    expect(page.locator(".rw-conversation-container")).to_be_visible()  # the widget remembers it was open
    expect(messages).to_contain_text(yuan(account.balance_cents))  # the history is back
    # The same, still verified, conversation answers: the balance again, with no new identity check.
    stated = page.locator(".rw-response", has_text=yuan(account.balance_cents))
    before = stated.count()
    _type(page, "我还欠多少钱")
    expect(stated).to_have_count(before + 1, timeout=TURN_TIMEOUT_MS)
    assert "本人吗" not in page.locator(".rw-response").last.inner_text()
    assert _session_id(page) == session_id  # the gateway confirmed the widget's stored session
    screenshot(page, "widget-after-reload")


def test_page_without_a_borrower_id_says_what_it_needs_and_opens_no_chat(stack, page):
    page.goto(f"{stack.gateway_url}/demo/webchat")
    expect(page.locator("#missing-borrower")).to_be_visible()
    expect(page.locator("#missing-borrower")).to_contain_text("borrower_id")
    assert page.locator(".rw-launcher").count() == 0


def test_an_unknown_or_hostile_borrower_id_hears_nothing_about_any_account(stack, page, ledger):
    hostile = "B000005' OR '1'='1"
    page.goto(f"{stack.gateway_url}/demo/webchat?borrower_id={hostile}")
    page.locator(".rw-launcher").click()
    _bot_says(page, "无法确认您的账户")
    said = page.locator(".rw-messages-container").inner_text()
    assert "AI" in said and "录音" in said
    assert not discloses_debt(said)
    assert ledger.get_borrower(hostile) is None


def test_another_borrower_in_the_same_tab_gets_a_new_session_not_the_previous_chat(stack, borrowers, page):
    first, _ = borrowers.take()
    _open_widget(page, stack.gateway_url, first.borrower_id)
    _bot_says(page, f"{first.full_name}{first.honorific}本人吗")
    first_session = _session_id(page)

    _open_widget(page, stack.gateway_url, "B999999")  # starts closed: nothing of the first chat was kept
    _bot_says(page, "无法确认您的账户")
    assert first.full_name not in page.locator(".rw-messages-container").inner_text()
    assert _session_id(page) != first_session
