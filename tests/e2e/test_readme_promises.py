"""Promises the README makes that no other test held the real stack to: a bot that keeps misunderstanding
hands the borrower to a person, and a promise is confirmed only once the ledger has written it."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from ledger.db import make_engine

pytestmark = pytest.mark.e2e


def _mine(rows, chat):
    return [row for row in rows if row.conversation_id == chat.conversation_id]


def test_repeated_misunderstanding_hands_the_conversation_to_a_person(verified_chat, ledger):
    chat, _, _ = verified_chat()
    first = chat.say("今天天气怎么样")
    second = chat.say("你喜欢吃什么水果")
    assert "没有听明白" in first and "没有听明白" in second, (first, second)
    assert ledger.handoffs_for(chat.conversation_id) == ()
    third = chat.say("给我讲个笑话吧")
    # The third misunderstanding in a row: no third re-prompt, a person instead.
    assert "没有听明白" not in third and "人工" in third, third
    assert [h.reason for h in ledger.handoffs_for(chat.conversation_id)] == ["nlu_fallback"]
    assert not chat.ended


def test_a_promise_the_ledger_cannot_write_is_never_confirmed(stack, verified_chat, ledger, ledger_url):
    chat, _, account = verified_chat(min_balance_cents=200_000)
    engine = make_engine(ledger_url)
    trigger = f"fail_promises_{account.account_id}".replace("-", "_")
    # A real write failure in the real database, for this account only: SQLite aborts the INSERT.
    with engine.begin() as connection:
        connection.execute(text(
            f"CREATE TRIGGER {trigger} BEFORE INSERT ON promises_to_pay "
            f"WHEN NEW.account_id = '{account.account_id}' "
            "BEGIN SELECT RAISE(ABORT, 'ledger write failed (test)'); END"))
    try:
        reply = chat.say("我明天还1000元")
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        engine.dispose()
    assert _mine(ledger.promises_for(account.account_id), chat) == []
    assert "已为您记录" not in reply and "1,000元" not in reply, reply
    assert not chat.ended
    # The failure is logged by kind: neither Rasa's log nor the action server's holds the conversation or
    # what was being written (rasa-sdk would answer with the whole tracker, SQLAlchemy with the values).
    logs = {name: (stack.config.log_dir / f"{name}.log").read_text(errors="replace") for name in ("rasa", "actions")}
    assert "IntegrityError" in logs["actions"]
    for name, log in logs.items():
        assert chat.conversation_id not in log and account.account_id not in log, name
    # The same promise once the ledger can write again: recorded, then confirmed.
    retried = chat.say("我明天还1000元")
    promises = _mine(ledger.promises_for(account.account_id), chat)
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(100_000, date(2026, 11, 24))]
    assert "已为您记录" in retried and "1,000元" in retried, retried


def test_a_borrower_misunderstood_once_during_verification_can_still_verify(open_chat, borrowers):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("对，我就是本人")
    assert "没有听明白" in chat.say("今天天气怎么样")
    assert "核实通过" in chat.say(f"身份证后四位是{borrower.id_last4}")
