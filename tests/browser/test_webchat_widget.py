"""A borrower chats through the unmodified rasa-webchat widget on /demo/webchat, against the real stack:
the bot discloses it is an AI and that the chat is recorded, verifies identity, states the balance, and
a reload of the page resumes the same session with its history."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ledger.wording import yuan
from bot.channels import webchat_binding
from bot.links import BorrowerLinks, webchat_demo_url
from tests.e2e.chat import borrower_link
from tests.e2e.widget import Widget

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TURN_TIMEOUT_MS = 60_000


def _open_widget(page: Page, gateway_url: str, borrower_id: str) -> None:
    page.goto(webchat_demo_url(gateway_url, borrower_link(borrower_id)))
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


def test_page_without_a_link_says_what_it_needs_and_opens_no_chat(stack, page):
    page.goto(f"{stack.gateway_url}/demo/webchat?borrower_id=B000005")  # a bare id is no way in
    expect(page.locator("#missing-link")).to_be_visible()
    expect(page.locator("#missing-link")).to_contain_text("python -m bot.links")
    assert page.locator(".rw-launcher").count() == 0


def _socketio_traffic(page: Page) -> list:
    """Everything the gateway's Socket.IO server sends this page: polling responses and WebSocket frames."""
    seen: list = []
    page.on("response", lambda response: seen.append(response) if "/socket.io/" in response.url else None)
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: seen.append(frame)))
    return seen


def _gateway_said(page: Page, seen: list, marker: str, timeout_s: float = 30) -> None:
    texts: list[str] = []
    for _ in range(int(timeout_s * 10)):
        texts = [item if isinstance(item, str) else item.text() for item in seen
                 if isinstance(item, str) or item.request.method == "GET"]
        if any(marker in text for text in texts):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the gateway never sent {marker!r}")


@pytest.mark.parametrize("link", ["forged", "expired", "tampered"])
def test_a_bad_link_opens_no_chat_and_hears_nothing_about_any_account(stack, borrowers, page, link):
    borrower, _ = borrowers.take()
    good = borrower_link(borrower.borrower_id)
    presented = {
        "forged": BorrowerLinks(b"not the lender's key at all").issue(borrower.borrower_id),
        "expired": borrower_link(borrower.borrower_id, hours=-1),
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
    }[link]
    seen = _socketio_traffic(page)
    page.goto(webchat_demo_url(stack.gateway_url, presented))
    page.locator(".rw-launcher").click()
    _gateway_said(page, seen, "invalid_link")  # the gateway's refusal reached the page: nothing else follows
    assert page.locator(".rw-response").count() == 0


def test_another_borrower_in_the_same_tab_gets_a_new_session_not_the_previous_chat(stack, borrowers, page):
    first, _ = borrowers.take()
    second, _ = borrowers.take()
    _open_widget(page, stack.gateway_url, first.borrower_id)
    _bot_says(page, "本人吗")
    _type(page, "对，我就是本人")
    _bot_says(page, "后四位")
    first_session = _session_id(page)

    _open_widget(page, stack.gateway_url, second.borrower_id)  # starts closed: nothing of the first chat was kept
    _bot_says(page, "本人吗")  # the second borrower's own opening (it names nobody)
    assert "后四位" not in page.locator(".rw-messages-container").inner_text()  # the first chat's question is gone
    assert _session_id(page) != first_session


def test_a_session_id_copied_out_of_the_page_resumes_nothing_without_the_browsers_cookie(
        stack, borrowers, page, browser_context):
    """The widget keeps its session id where page scripts can read it; the gateway also binds the session to the
    browser's HttpOnly cookie, which no script can read, so a copied id is worth nothing elsewhere."""
    borrower, account = borrowers.take()
    _open_widget(page, stack.gateway_url, borrower.borrower_id)
    _bot_says(page, "本人吗")
    _type(page, "对，我就是本人")
    _bot_says(page, "后四位")
    _type(page, f"身份证后四位是{borrower.id_last4}")
    _bot_says(page, yuan(account.balance_cents))
    binding = [cookie for cookie in browser_context.cookies() if cookie["name"] == webchat_binding.COOKIE]
    assert len(binding) == 1 and binding[0]["httpOnly"] and binding[0]["sameSite"] == "Strict"
    assert webchat_binding.COOKIE not in page.evaluate("document.cookie")

    stolen = _session_id(page)
    elsewhere = Widget(stack.gateway_url)  # another client, without the browser's cookie
    try:
        assert elsewhere.request_session(stolen) != stolen
    finally:
        elsewhere.close()
    page.reload()  # the browser itself, cookie and all, still resumes
    expect(page.locator(".rw-conversation-container")).to_be_visible()
    assert _session_id(page) == stolen
