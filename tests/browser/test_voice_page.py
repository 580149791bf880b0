"""The voice demo page (/demo/voice) in headless Chromium whose microphone plays a fixture recording: a call opened
with a borrower's signed link reaches the gateway as that borrower, and the page shows the call live (status, the
bot's and the borrower's lines); a bare borrower id or a forged link gets a clear message and no call."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bot.links import chat_page_url
from tests.browser.conftest import HEARD_TIMEOUT_MS, TURN_TIMEOUT_MS
from tests.e2e.chat import borrower_link
from tests.e2e.phone import phone_conversation, transcript

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PHONE_VIEWPORT = {"width": 390, "height": 844}


def test_call_from_the_page_reaches_the_gateway_as_the_linked_borrower_and_shows_both_sides(
        stack, redis_url, borrowers, voice_page, screenshot):
    borrower, _ = borrowers.take()
    assert borrower.borrower_id != "B000001"  # the page once called as B000001 whatever it was given
    voice_page.goto(chat_page_url(f"{stack.gateway_url}/demo/voice", borrower_link(borrower.borrower_id)))
    button, status = voice_page.locator("#call"), voice_page.locator("#status")
    expect(button).to_have_text("开始通话")

    button.click()
    expect(status).to_have_text("通话中", timeout=TURN_TIMEOUT_MS)
    expect(button).to_have_text("挂断")
    # The opening, spoken over by the microphone (so its question may be cut short), then what was heard.
    expect(voice_page.locator(".line.bot").first).to_contain_text("AI自动应答", timeout=TURN_TIMEOUT_MS)
    heard = voice_page.locator(".line.borrower").first
    expect(heard).to_be_visible(timeout=HEARD_TIMEOUT_MS)  # the microphone's words, as the gateway's ASR heard them
    expect(heard.locator(".speaker")).to_have_text("我")
    # The next step of verification, for this borrower's conversation.
    expect(voice_page.locator(".line.bot", has_text="后四位")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    screenshot(voice_page, "desktop")  # in the call

    # Hung up now, well before the silent line would be re-prompted and ended by the gateway.
    button.click()
    expect(status).to_have_text("通话已结束")
    expect(button).to_have_text("开始通话")
    voice_page.set_viewport_size(PHONE_VIEWPORT)
    assert voice_page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]  # no sideways scroll
    screenshot(voice_page, "phone")

    # The gateway opened the call for this borrower, and what the page showed is what it recorded.
    said = transcript(stack, phone_conversation(redis_url, borrower.borrower_id, "browser_voice"))
    borrower_said = [entry["text"] for entry in said if entry["speaker"] == "borrower"]
    assert borrower_said, said
    expect(heard).to_contain_text(borrower_said[0])


def test_page_with_a_bare_borrower_id_says_it_needs_a_link_and_opens_no_call(stack, voice_page, screenshot):
    sockets: list = []
    voice_page.on("websocket", lambda socket: sockets.append(socket))
    voice_page.set_viewport_size(PHONE_VIEWPORT)
    voice_page.goto(f"{stack.gateway_url}/demo/voice?borrower_id=B000005")
    expect(voice_page.locator("#missing-link")).to_be_visible()
    expect(voice_page.locator("#missing-link")).to_contain_text("python -m bot.links")
    expect(voice_page.locator("#call")).to_be_disabled()
    expect(voice_page.locator("#status")).to_have_text("缺少专属链接，无法通话")
    screenshot(voice_page, "phone")
    assert sockets == []


def test_page_with_a_forged_link_says_so_and_is_ready_again(stack, voice_page):
    forged = borrower_link("B000005")[:-4] + "AAAA"
    voice_page.goto(chat_page_url(f"{stack.gateway_url}/demo/voice", forged))
    voice_page.locator("#call").click()
    expect(voice_page.locator("#status")).to_have_text("链接无效或已过期，请向出借方索取新的专属链接。",
                                                       timeout=TURN_TIMEOUT_MS)
    expect(voice_page.locator("#call")).to_have_text("开始通话")
    expect(voice_page.locator("#call")).to_be_enabled()
    assert voice_page.locator(".line").count() == 0
