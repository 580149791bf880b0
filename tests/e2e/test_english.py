"""US borrowers end to end in English: greeted in English, verified, told the balance in dollars with the
debt-collector disclosure, and their promise recorded in the ledger; a borrower on a Chinese record who writes
English is answered in English from then on. Nothing about a debt before verification, in either language.

The stack's clock is Monday 2026-11-23 10:00 in Shanghai: Sunday 2026-11-22 evening in every US time zone."""
from __future__ import annotations

from datetime import date

import pytest

from ledger.wording import wording_for
from tests.e2e.chat import discloses_debt

pytestmark = pytest.mark.e2e
SUNDAY_IN_THE_US = date(2026, 11, 22)


def _mine(rows, chat):
    return [row for row in rows if row.conversation_id == chat.conversation_id]


def test_a_us_borrower_is_served_in_english_with_dollar_amounts(open_chat, borrowers, ledger):
    borrower, account = borrowers.take(tiers="AB", min_balance_cents=50_000, language="en")
    chat = open_chat(borrower.borrower_id)
    assert chat.opening.startswith("Hello") and not discloses_debt(chat.opening), chat.opening
    asked_id = chat.say("yeah this is me, who's calling?")
    assert "last four" in asked_id and not discloses_debt(asked_id), asked_id
    verified = chat.say(f"it's {borrower.id_last4}")
    dollars = wording_for("en", "USD")
    assert "you're verified" in verified and "attempt to collect a debt" in verified, verified
    assert dollars.money(account.balance_cents) in verified, verified
    reply = chat.say("I can pay $300 tomorrow")
    promises = _mine(ledger.promises_for(account.account_id), chat)
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(30_000, date(2026, 11, 23))], reply
    assert "$300.00" in reply and "November 23" in reply, reply
    closing = chat.say("no that's all, thanks")
    assert "Goodbye" in closing and "$300.00" in closing and chat.ended, closing


def test_nothing_about_the_debt_before_verification_in_english(open_chat, borrowers):
    borrower, _ = borrowers.take(language="en")
    chat = open_chat(borrower.borrower_id)
    for line in ("how much do I owe?", "what is this about?", "what's my balance"):
        reply = chat.say(line)
        assert not discloses_debt(reply) and reply.isascii(), (line, reply)


def test_a_borrower_who_writes_english_is_answered_in_english(open_chat, borrowers):
    borrower, _ = borrowers.take()  # a Chinese record: greeted in Chinese
    chat = open_chat(borrower.borrower_id)
    assert "您好" in chat.opening
    reply = chat.say("sorry I don't read Chinese, yes I am the account holder")
    assert reply.isascii() and "last four" in reply, reply
    verified = chat.say(borrower.id_last4)  # digits alone keep the language the conversation has
    assert "you're verified" in verified and "元" not in verified, verified


def test_venting_in_english_asks_before_stopping_contact(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take(language="en")
    chat = open_chat(borrower.borrower_id)
    asked = chat.say("why do you people keep calling me every single day")
    assert "stop contacting you?" in asked, asked
    chat.say("no, it's fine")
    assert not ledger.is_do_not_contact(borrower.borrower_id)
