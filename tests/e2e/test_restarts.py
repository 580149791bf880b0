"""Restarts mid-conversation on the restartable stack (tests/e2e/conftest.py), whose Redis keeps its data on
disk (append-only file), so that Redis itself can be restarted without touching anybody else's: the README
promises that with REDIS_URL set, restarts lose nothing. Rasa's restart is in test_faults.py (Rasa killed on
every channel), the gateway's in test_gateway_input.py and test_faults.py.
The console's sign-in lockout expiry runs here too: this stack's lockout window is seconds, not 15 minutes."""
from __future__ import annotations

import time

import httpx
import pytest

from ledger.wording import yuan
from tests.e2e.chat import RestChat
from tests.e2e.conftest import DEADLINE_SECONDS, LOCKOUT_WINDOW_SECONDS, MAX_FAILED_SIGN_INS
from tests.e2e.console_client import PASSWORD

pytestmark = pytest.mark.e2e


def _start_verified_conversation(gateway_url: str, borrower) -> RestChat:
    chat = RestChat(gateway_url, borrower.borrower_id, timeout=120)
    chat.say("是我本人")
    assert "核实通过" in chat.say(f"身份证后四位是{borrower.id_last4}")
    return chat


def _balance_question_answered(chat: RestChat, account) -> None:
    """Only a conversation whose verified state survived may be told the balance."""
    reply = chat.post("我到底还欠多少钱")
    assert reply.status_code == 200, reply.text
    said = " ".join(m["text"] for m in reply.json()["messages"])
    assert yuan(account.balance_cents) in said and "后四位" not in said, said


def test_redis_restart_mid_conversation_loses_nothing(restartable_stack, private_redis, borrowers):
    borrower, account = borrowers.take()
    chat = _start_verified_conversation(restartable_stack.gateway_url, borrower)
    try:
        before = chat.transcript()
        private_redis.stop()
        private_redis.start()
        # The gateway and Rasa reconnect on their own; the session, transcript and tracker came back
        # from the append-only file.
        assert chat.transcript() == before
        _balance_question_answered(chat, account)
    finally:
        chat.close()


def test_console_lockout_ends_when_its_window_has_passed(restartable_stack):
    with httpx.Client(base_url=restartable_stack.gateway_url, timeout=60) as http:
        def sign_in(password: str) -> int:
            return http.post("/api/console/login", json={"name": "e2e-agent-b", "password": password}).status_code

        started = time.monotonic()  # before the first failure, which starts the window
        assert [sign_in(f"guess {n}") for n in range(MAX_FAILED_SIGN_INS)] == [401] * MAX_FAILED_SIGN_INS
        assert sign_in(PASSWORD) == 429  # locked: even the right password is refused
        deadline = time.monotonic() + DEADLINE_SECONDS
        while (status := sign_in(PASSWORD)) == 429:
            assert time.monotonic() < deadline, "the lockout never ended"
            time.sleep(0.5)
        assert status == 200
        # It ended because the window passed (a lower bound only: a slow machine makes it later, never sooner).
        assert time.monotonic() - started >= LOCKOUT_WINDOW_SECONDS
