"""The unmodified rasa-webchat widget shows the gateway's quick replies as buttons, and a click sends the
button's payload back as the borrower's message.

The trained bot sends no buttons today (domain.yml has none), so the conversations behind the real
Socket.IO channel and demo page are a stand-in that answers with buttons (the same one the channel's
protocol tests use); everything between it and Chromium is the real gateway code.
"""
from __future__ import annotations

from types import SimpleNamespace

from contextlib import asynccontextmanager
from typing import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect

from bot.asgi import wrap_fastapi
from bot.demo import demo_router
from bot.rate_limits import RateLimits, SocketSlots
from configuration.settings import GatewaySettings
from tests.unit.test_socketio_channel import (
    BORROWER, LINKS, PLAN_BUTTONS, SESSION_KEY, RunningServer, StandInConversations,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def service() -> StandInConversations:
    return StandInConversations()


@pytest.fixture
def gateway(service: StandInConversations) -> Iterator[RunningServer]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits = GatewaySettings()
        app.state.services = SimpleNamespace(conversations=service, links=LINKS, limits=RateLimits(limits, None),
                                             sockets=SocketSlots(limits.max_sockets_per_client))
        yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(demo_router())
    asgi_app, _ = wrap_fastapi(app, SESSION_KEY)
    with RunningServer(asgi_app) as running:
        yield running


def test_quick_replies_are_buttons_and_a_click_sends_the_payload(gateway, service, page, screenshot):
    page.goto(f"{gateway.url}/demo/webchat?link={LINKS.issue(BORROWER)}")
    page.locator(".rw-launcher").click()
    expect(page.locator(".rw-messages-container")).to_contain_text("身份证号后四位")
    box = page.locator(".rw-new-message")
    box.fill("有什么方案")
    box.press("Enter")

    buttons = page.locator(".rw-replies .rw-reply")
    expect(buttons).to_have_text([button["title"] for button in PLAN_BUTTONS])
    screenshot(page.locator(".rw-conversation-container"), "quick-replies")
    buttons.nth(1).click()

    expect(page.locator(".rw-client").last).to_have_text("分期还款")  # the borrower sees the title
    expect(page.locator(".rw-messages-container")).to_contain_text("收到：")
    conversation_id, received = service.handled[-1]
    # The payload arrives as borrower text, its leading '/' neutralised by the gateway so no message can
    # name a Rasa intent directly: buttons in domain.yml need plain-text payloads.
    assert received == "／" + PLAN_BUTTONS[1]["payload"].lstrip("/")
    assert service.opened == [(BORROWER, "webchat")]
