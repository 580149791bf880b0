"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright, against the real stack.

The stack fixtures come from tests/stack.py (a plugin for the whole suite), so browser tests talk to
the very services the e2e tests do. Each test gets a fresh browser context: an empty profile (no
cookies, no localStorage).
Screenshots go outside the repository: $COLLECTIONS_SCREENSHOT_DIR, default /tmp/screens.
Calls in the browser (the voice page, the demo phone) talk through `voice_page`: Chromium whose microphone plays a
fixture recording.
"""
from __future__ import annotations

import os
import re
import wave
from pathlib import Path
from typing import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, sync_playwright

from tests.e2e.phone import FIXTURES

CHROMIUM_BINARY = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-quic", "--disable-component-update", "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 60_000  # a bot turn goes through Rasa and the action server
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOT_DIR = Path(os.environ.get("COLLECTIONS_SCREENSHOT_DIR", "/tmp/screens"))
TURN_TIMEOUT_MS = 60_000  # a bot turn goes through Rasa, the action server and TTS
HEARD_TIMEOUT_MS = 90_000  # the microphone's words: played in real time, then decoded by the gateway's ASR
# What the microphone hears once a call takes it: a pause, "对，我就是张伟本人。" (d02), then a long pause, so the
# call has one answer in it before Chromium loops the file.
LEAD_IN_SECONDS, TRAILING_SECONDS = 3, 40

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


@pytest.fixture(scope="session")
def microphone_recording(tmp_path_factory) -> Path:
    with wave.open(str(FIXTURES / "d02.wav")) as fixture:
        params, speech = fixture.getparams(), fixture.readframes(fixture.getnframes())
    silence = bytes(params.sampwidth * params.nchannels * params.framerate)  # one second
    path = tmp_path_factory.mktemp("microphone") / "borrower.wav"
    with wave.open(str(path), "wb") as recording:
        recording.setparams(params)
        recording.writeframes(silence * LEAD_IN_SECONDS + speech + silence * TRAILING_SECONDS)
    return path


@pytest.fixture(scope="session")
def browser_with_microphone(playwright: Playwright, microphone_recording: Path) -> Iterator[Browser]:
    """Chromium whose only microphone plays the recording, allowed without asking."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM_BINARY, headless=True, args=[
        *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone_recording}",
    ])
    yield chromium
    chromium.close()


@pytest.fixture
def voice_page(browser_with_microphone: Browser) -> Iterator[Page]:
    context: BrowserContext = browser_with_microphone.new_context(viewport=VIEWPORT, locale="zh-CN",
                                                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


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
