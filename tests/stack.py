"""One real system for the whole session: Rasa with the trained model, the rasa-sdk action server,
the gateway, Redis for trackers/locks/sessions, and a seeded SQLite ledger."""
from __future__ import annotations

import os
import socket
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import redis

from actions.ledger.db import create_schema, make_engine, make_session_factory
from actions.ledger.repository import Ledger
from actions.ledger.seed import seed_demo_portfolio
from bot.launcher import ROOT, Stack, StackConfig
from tests.e2e.chat import Chat

# The conversation clock every e2e test runs on: Monday 23 November 2026, 10:00 in Shanghai.
FIXED_NOW = "2026-11-23T10:00:00+08:00"
TODAY = datetime.fromisoformat(FIXED_NOW).date()
# A database of its own (never a user's data); parallel local runs may pick different ones.
TEST_REDIS_DB = int(os.environ.get("COLLECTIONS_TEST_REDIS_DB", "13"))
SEEDED_BORROWERS = 120
# Gateway settings the shared stack runs with (one stack serves every e2e test; Rasa loads once).
GATEWAY_TEST_SETTINGS: dict[str, str] = {}
# Handoff: a conversation nobody takes is offered a callback after 8 s (not 5 minutes); the policy triggers
# (large balance, legal stage) are off so that no other test's borrower is queued by them.
HANDOFF_WAIT_TIMEOUT_SECONDS = 8
GATEWAY_TEST_SETTINGS.update({
    "COLLECTIONS_HANDOFF_WAIT_TIMEOUT_SECONDS": str(HANDOFF_WAIT_TIMEOUT_SECONDS),
    "COLLECTIONS_HANDOFF_POLICY_FILE": str(ROOT / "tests" / "e2e" / "handoff_policy.yml"),
})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The WeChat channel is on, its customer-service API pointed at a fake WeChat server on this port (the
# `wechat_api` fixture in tests/e2e/test_wechat_callback.py). A 50 ms passive budget, which no Rasa turn
# meets, sends bot turns through that API, as production does when a turn misses WeChat's 5 seconds.
WECHAT_TEST_TOKEN = "e2e-wechat-token"
WECHAT_TEST_APP_ID = "wxe2e0000000000000"
WECHAT_TEST_APP_SECRET = "e2e-wechat-secret"
WECHAT_FAKE_API_PORT = _free_port()
GATEWAY_TEST_SETTINGS.update({
    "COLLECTIONS_WECHAT_TOKEN": WECHAT_TEST_TOKEN,
    "COLLECTIONS_WECHAT_APP_ID": WECHAT_TEST_APP_ID,
    "COLLECTIONS_WECHAT_APP_SECRET": WECHAT_TEST_APP_SECRET,
    "COLLECTIONS_WECHAT_API_BASE": f"http://127.0.0.1:{WECHAT_FAKE_API_PORT}",
    "COLLECTIONS_WECHAT_PASSIVE_REPLY_BUDGET_SECONDS": "0.05",
})
# Voice calls: a silent line is re-prompted after 4 s (not 8), so the silence test takes seconds.
GATEWAY_TEST_SETTINGS["COLLECTIONS_VOICE_REPROMPT_AFTER_SILENCE_SECONDS"] = "4"


@pytest.fixture(scope="session")
def model_path() -> Path:
    path = os.environ.get("COLLECTIONS_TEST_MODEL") or subprocess.check_output(
        ["bash", "scripts/train.sh"], cwd=ROOT, text=True).strip()
    return ROOT / path


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("COLLECTIONS_TEST_REDIS_URL") or subprocess.check_output(
        ["bash", "scripts/redis.sh"], cwd=ROOT, text=True).strip()
    test_url = f"{url.rsplit('/', 1)[0]}/{TEST_REDIS_DB}"
    redis.Redis.from_url(test_url).flushdb()
    return test_url


@pytest.fixture(scope="session")
def ledger_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=SEEDED_BORROWERS)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def stack(model_path, redis_url, ledger_url, tmp_path_factory):
    config = StackConfig(
        model=model_path, rasa_port=_free_port(), action_port=_free_port(), gateway_port=_free_port(),
        redis_url=redis_url, ledger_url=ledger_url, fixed_now=FIXED_NOW,
        log_dir=tmp_path_factory.mktemp("logs"), extra_env=GATEWAY_TEST_SETTINGS,
    )
    running = Stack(config).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def ledger(ledger_url) -> Ledger:
    return Ledger(make_session_factory(make_engine(ledger_url)))


class BorrowerPool:
    """Hands each test a seeded borrower nobody else has touched, so ledger assertions are its own."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._next = 5  # B000001–B000004 are the fixed demo borrowers

    def take(self, tiers: str = "ABCD", min_balance_cents: int = 0):
        while self._next <= SEEDED_BORROWERS:
            borrower_id = f"B{self._next:06d}"
            self._next += 1
            borrower = self._ledger.get_borrower(borrower_id)
            account = self._ledger.get_primary_account(borrower_id)
            if (borrower and account and borrower.language == "zh" and account.risk_tier in tiers
                    and account.status == "collecting" and account.balance_cents >= min_balance_cents):
                return borrower, account
        raise LookupError(f"no unused seeded borrower in tiers {tiers}")


@pytest.fixture(scope="session")
def borrowers(ledger) -> BorrowerPool:
    return BorrowerPool(ledger)


@pytest.fixture
def open_chat(stack):
    opened: list[Chat] = []

    def _open(borrower_id: str) -> Chat:
        chat = Chat(stack.gateway_url, borrower_id)
        opened.append(chat)
        return chat

    yield _open
    for chat in opened:
        chat.close()


@pytest.fixture
def verified_chat(open_chat, borrowers):
    """A conversation that has passed right-party verification; returns (chat, borrower, account)."""

    def _verified(tiers: str = "ABCD", min_balance_cents: int = 0):
        borrower, account = borrowers.take(tiers, min_balance_cents)
        chat = open_chat(borrower.borrower_id)
        chat.say("对，我就是本人")
        reply = chat.say(f"身份证后四位是{borrower.id_last4}")
        assert "核实通过" in reply, reply
        return chat, borrower, account

    return _verified
