"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright, against the real stack.

The stack fixtures come from tests/stack.py (a plugin for the whole suite), so browser tests talk to
the very services the e2e tests do. Each test gets a fresh browser context: an empty profile (no
cookies, no localStorage).
Screenshots go outside the repository: $COLLECTIONS_SCREENSHOT_DIR, default /tmp/screens.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, sync_playwright

CHROMIUM_BINARY = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-quic", "--disable-component-update", "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 60_000  # a bot turn goes through Rasa and the action server
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOT_DIR = Path(os.environ.get("COLLECTIONS_SCREENSHOT_DIR", "/tmp/screens"))

Screenshot = Callable[..., Path]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM_BINARY, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """An empty profile per test, Chinese locale and Shanghai time like the borrowers'."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Page:
    return browser_context.new_page()


@pytest.fixture
def screenshot(request) -> Screenshot:
    """screenshot(page_or_locator, "name") saves <SCREENSHOT_DIR>/<test name>-<name>.png, returns the path."""

    def _save(target: Page | Locator, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{request.node.name}-{name}")
        path = SCREENSHOT_DIR / f"{stem}.png"
        target.screenshot(path=str(path))
        return path

    return _save
