"""Quality review in the shipped page (/console/review) against a real gateway on a real ledger: a reviewer fills the
queue, opens the item the rules chose, reads why and what the filter blocked, scores it, and the score is in the
ledger."""
from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from bot.audit import AuditTrail
from bot.audit_seal import load_audit_key
from bot.console.agents import AgentDirectory
from bot.recordings import call_recordings
from configuration.settings import RecordingSettings, Settings
from ledger.recordings import RecordingBook
from tests.browser.in_thread_gateway import serve_gateway
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.quality_review import REVIEW_ZONE, QualityReviewBook, load_sampling
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio

pytestmark = pytest.mark.browser
PASSWORD = "reviewer's password"


@pytest.fixture(scope="module")
def ledger_url(tmp_path_factory) -> Iterator[tuple[Settings, str]]:
    directory = tmp_path_factory.mktemp("review-page")
    url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    settings = Settings(_env_file=None, redis_url=None, ledger={"database_url": url},
                        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
                        rasa={"url": "http://127.0.0.1:9"})
    engine = make_engine(url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=8)
    AgentDirectory(sessions).add("qa.li", "reviewer", PASSWORD)
    trail = AuditTrail(sessions, load_audit_key(settings.audit))
    at = datetime.now(UTC) - timedelta(hours=2)
    trail.append("c-page", "B000001", "chat", "borrower", "我最近真的很难，活不下去了", at=at)
    trail.append("c-page", "B000001", "chat", "bot", "再不还钱就通知你单位", allowed=False, rules=["threat_of_visit"], at=at)
    trail.append("c-page", "B000001", "chat", "bot", "听到您这么说我很担心，我马上为您转接专人。", allowed=True, at=at)
    Ledger(sessions).record_handoff("c-page", "B000001", "distress", 0)
    # Its call recording: two seconds of a tone on the borrower's side.
    settings = settings.model_copy(update={"recordings": RecordingSettings(directory=directory / "recordings")})
    recording = call_recordings(settings, sessions, trail).start("c-page", "B000001", "phone", 8000)
    tone = (np.sin(2 * np.pi * 440 * np.arange(16000) / 8000) * 8000).astype("<i2").tobytes()
    for offset in range(0, len(tone), 320):
        recording.heard(tone[offset:offset + 320])
    time.sleep(2.0)  # the timeline is the wall clock: the call lasted as long as the tone
    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this thread
        thread.submit(asyncio.run, recording.finish()).result()
    engine.dispose()
    yield settings, url


@pytest.fixture(scope="module")
def gateway(ledger_url) -> Iterator[str]:
    settings, _ = ledger_url
    with serve_gateway(settings) as url:
        yield url


def test_a_reviewer_opens_an_item_scores_it_and_the_score_is_in_the_ledger(gateway, ledger_url, page: Page, screenshot):
    # Signed in at the agents' console, a reviewer is taken to the review page (the queue would refuse them).
    page.goto(f"{gateway}/console")
    page.fill("#login-name", "qa.li")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    expect(page).to_have_url(f"{gateway}/console/review")
    expect(page.locator("#who")).to_contain_text("qa.li（质检员）")
    today = datetime.now(REVIEW_ZONE).date()
    page.fill("#fill-first", (today - timedelta(days=1)).isoformat())
    page.fill("#fill-last", today.isoformat())
    page.click("#fill-form button")
    expect(page.locator("#fill-result")).to_have_text("新增 1 条")
    item = page.locator("#items li").first
    expect(item).to_contain_text("合规拦截、危机/困境")
    item.click()
    expect(page.locator("#item-conv")).to_have_text("c-page")
    expect(page.locator("#reasons")).to_contain_text("合规拦截：bot: threat_of_visit")
    blocked = page.locator("#transcript li.blocked")
    expect(blocked).to_contain_text("再不还钱就通知你单位")
    expect(blocked).to_contain_text("被合规拦截，未发送：threat_of_visit")
    # The recording plays in Chromium, streamed through the console's endpoint (muted: no autoplay gesture needed).
    audio = page.locator("#recording audio")
    expect(audio).to_have_attribute("src", re.compile(r"^/api/console/recordings/\d+/audio$"))
    audio.evaluate("a => { a.muted = true; return a.play(); }")
    page.wait_for_function("() => document.querySelector('#recording audio').currentTime > 0.5", timeout=15000)
    assert abs(audio.evaluate("a => a.duration") - 2.0) < 0.3
    expect(page.locator("#views")).to_contain_text("qa.li")
    for name, mark in (("identity_before_detail", "na"), ("ai_disclosed", "pass"), ("no_pressure", "fail"),
                       ("correct_figures", "na"), ("handoff_when_asked", "pass")):
        page.check(f"input[name={name}][value={mark}]")
    page.fill("#notes", "机器人试图以通知单位施压（已被拦截），之后及时转接。")
    screenshot(page, "scoring")
    page.click("#save-review")
    expect(page.locator("#review-result")).to_contain_text("已由 qa.li")
    screenshot(page, "saved")

    settings, url = ledger_url
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        book = QualityReviewBook(sessions, Ledger(sessions), load_sampling())
        [done] = book.items("reviewed")
        assert done.conversation_id == "c-page" and done.review.reviewer == "qa.li"
        assert done.review.marks == {"identity_before_detail": "na", "ai_disclosed": "pass", "no_pressure": "fail",
                                     "correct_figures": "na", "handoff_when_asked": "pass"}
        assert done.review.notes.startswith("机器人试图以通知单位施压")
        assert [viewer for viewer, _ in book.views_of(done.item_id)][:1] == ["qa.li"]
        recording = RecordingBook(sessions).for_conversation("c-page")
        assert {viewer for viewer, _, _ in RecordingBook(sessions).playbacks_of(recording.recording_id)} == {"qa.li"}
    finally:
        engine.dispose()
