"""Guessing the ID across many conversations: failures count per borrower, whatever the conversation or
channel, until the check locks; while locked even the right answer discloses nothing, and is answered like any
wrong answer or an unknown id (a lockout reply of its own would mark the id as a real borrower's); a person's unlock (python -m ledger unlock-verification) lets the borrower verify again."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bot.launcher import ROOT
from tests.e2e.chat import RestChat, discloses_debt

pytestmark = pytest.mark.e2e


def _unlock(ledger_url: str, borrower_id: str) -> str:
    unlocked = subprocess.run(
        [sys.executable, "-m", "ledger", "--url", ledger_url, "unlock-verification", borrower_id,
         "--by", "supervisor-7"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return unlocked.stdout


def test_guessing_across_conversations_and_channels_ends_in_a_lockout(
        stack, open_chat, borrowers, ledger, ledger_url):
    from ledger.wording import yuan
    borrower, account = borrowers.take()
    limit = ledger.policy.verification.max_failures
    wrong = "0000" if borrower.id_last4 != "0000" else "1111"
    heard: list[str] = []

    guesses = 0
    while guesses < limit:  # three tries a conversation, then a new conversation, on alternating channels
        chat = open_chat(borrower.borrower_id) if guesses % 2 == 0 else RestChat(stack.gateway_url,
                                                                               borrower.borrower_id)
        heard.append(chat.say("对，是我本人"))
        while not chat.ended and guesses < limit:
            heard.append(chat.say(f"身份证后四位是{wrong}"))
            guesses += 1
    assert ledger.verification_locked_until(borrower.borrower_id) is not None

    # Locked: the right answer, in a new conversation, is not even compared, and it is answered exactly like a
    # wrong one; a distinct lockout reply would tell a guesser the id is a real borrower's (unknown ids never lock).
    chat = open_chat(borrower.borrower_id)
    chat.say("对，是我本人")
    locked_replies = [chat.say(f"身份证后四位是{borrower.id_last4}") for _ in range(3)]
    assert chat.ended and not any("核实通过" in reply for reply in locked_replies)
    assert locked_replies[:2] == [heard[1], heard[1]] and "不一致" in heard[1]
    assert "未通过" in locked_replies[2] and "客服" in locked_replies[2]
    heard += locked_replies
    assert not any(discloses_debt(text) for text in heard)

    checks = ledger.identity_checks_for(borrower.borrower_id)
    assert [check.result for check in checks] == ["failed"] * limit + ["locked_out"] * 3
    assert {check.channel for check in checks} >= {"websocket", "rest"}
    assert len({check.conversation_id for check in checks}) >= 2
    assert ledger.contact_attempts_for(borrower.borrower_id)[-1].outcome == "verification_locked"

    assert "unlocked" in _unlock(ledger_url, borrower.borrower_id)
    chat = open_chat(borrower.borrower_id)
    chat.say("对，是我本人")
    reply = chat.say(f"身份证后四位是{borrower.id_last4}")
    assert "核实通过" in reply and yuan(account.balance_cents) in reply


def test_a_locked_check_answers_a_right_a_wrong_answer_and_an_unknown_id_alike(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    wrong = "0000" if borrower.id_last4 != "0000" else "1111"
    for number in range(ledger.policy.verification.max_failures):
        ledger.check_identity(borrower.borrower_id, f"earlier-{number}", "phone", id_last4=wrong)

    heard = []
    for borrower_id, answer in ((borrower.borrower_id, borrower.id_last4), (borrower.borrower_id, wrong),
                                ("B999997", borrower.id_last4)):
        chat = open_chat(borrower_id)
        replies = [chat.opening, chat.say("对，是我本人"), *(chat.say(f"身份证后四位是{answer}") for _ in range(3))]
        assert chat.ended
        heard.append(replies)
    assert heard[0] == heard[1] == heard[2] and "未通过" in heard[0][-1]
