"""Negotiation after verification: every number comes from the ledger and its policy, and every
agreement is in the ledger before the bot confirms it."""
from __future__ import annotations

from datetime import date

import pytest

from ledger.wording import yuan
from tests.stack import TODAY

pytestmark = pytest.mark.e2e


def _mine(rows, chat):
    return [row for row in rows if row.conversation_id == chat.conversation_id]


def test_promise_to_pay_with_amount_and_date_is_recorded_then_confirmed(verified_chat, ledger):
    chat, _, account = verified_chat(min_balance_cents=300_000)
    reply = chat.say("我这周五先还两千块")
    promises = _mine(ledger.promises_for(account.account_id), chat)
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(200_000, date(2026, 11, 27))]
    assert "11月27日" in reply and "2,000元" in reply
    closing = chat.say("没有了")
    assert "小结" in closing and "2,000元" in closing and chat.ended


def test_a_delay_asked_for_with_an_amount_is_a_promise_of_that_amount_not_an_extension(verified_chat, ledger):
    chat, _, account = verified_chat(min_balance_cents=300_000)
    due_before = ledger.get_primary_account(account.borrower_id).due_date
    reply = chat.say("能不能再宽限几天，周五先还一千二")
    promises = _mine(ledger.promises_for(account.account_id), chat)
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(120_000, date(2026, 11, 27))], reply
    assert "1,200元" in reply and "11月27日" in reply
    assert ledger.get_primary_account(account.borrower_id).due_date == due_before  # no extension granted


def test_promise_form_asks_for_what_is_missing(verified_chat, ledger):
    chat, _, account = verified_chat(min_balance_cents=200_000)
    asked = chat.say("我想先还一部分")
    assert "多少" in asked
    asked_date = chat.say("1500")
    assert "哪一天" in asked_date
    reply = chat.say("后天")
    promises = _mine(ledger.promises_for(account.account_id), chat)
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(150_000, date(2026, 11, 25))]
    assert "1,500元" in reply


def test_promise_beyond_the_balance_is_refused_naming_the_balance(verified_chat, ledger):
    chat, _, account = verified_chat()
    reply = chat.say(f"我明天还{yuan(account.balance_cents + 100_000)}")
    assert "不超过" in reply and yuan(account.balance_cents) in reply, reply
    assert _mine(ledger.promises_for(account.account_id), chat) == []


def test_promise_beyond_the_horizon_is_refused_naming_the_window(verified_chat, ledger):
    chat, _, account = verified_chat(tiers="CD", min_balance_cents=20_000)  # 7-day promise horizon
    reply = chat.say("我下个月十五号还100元")
    assert "之间" in reply and "不超过" not in reply, reply
    assert _mine(ledger.promises_for(account.account_id), chat) == []


def test_same_promise_twice_is_stored_once(verified_chat, ledger):
    chat, _, account = verified_chat(min_balance_cents=200_000)
    chat.say("我明天还1000元")
    chat.say("我明天还1000元")
    promises = _mine(ledger.promises_for(account.account_id), chat)
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(100_000, date(2026, 11, 24))]


def test_pay_in_full_records_the_whole_balance(verified_chat, ledger):
    chat, _, account = verified_chat()
    reply = chat.say("我今天就全部还清")
    promises = _mine(ledger.promises_for(account.account_id), chat)
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(account.balance_cents, TODAY)]
    assert yuan(account.balance_cents) in reply


def test_instalment_plan_sums_exactly_and_is_accepted(verified_chat, ledger):
    chat, _, account = verified_chat(tiers="A", min_balance_cents=1_300_000)
    proposal = chat.say("能不能帮我分六期还")
    assert "分6期" in proposal and "同意" in proposal
    accepted = chat.say("可以")
    assert "已确认" in accepted and "没有听明白" not in accepted
    plans = [p for p in ledger.plans_for(account.account_id) if p.status == "accepted"]
    assert len(plans) == 1 and plans[0].periods == 6
    plan = plans[0]
    assert sum(amount for _, amount in plan.items) == plan.total_cents == account.balance_cents + plan.fee_cents
    dates = [due for due, _ in plan.items]
    assert dates == sorted(dates) and dates[0] > TODAY


def test_declined_plan_then_another_length(verified_chat, ledger):
    chat, _, account = verified_chat(tiers="A", min_balance_cents=1_300_000)
    chat.say("我想分期")
    declined = _mine(ledger.plans_for(account.account_id), chat)
    assert [p.status for p in declined] == ["proposed"]
    options = chat.say("不行")
    assert "几期" in options
    assert not [p for p in _mine(ledger.plans_for(account.account_id), chat) if p.status == "accepted"]
    proposal = chat.say("分十二期")
    assert "分12期" in proposal
    assert "已确认" in chat.say("可以")
    plans = {p.plan_id: p for p in _mine(ledger.plans_for(account.account_id), chat)}
    # Only the 12-period plan the borrower agreed to is accepted; the declined proposal was never
    # accepted and is cancelled when another plan is.
    assert [(p.periods, p.status) for p in plans.values() if p.status == "accepted"] == [(12, "accepted")]
    assert plans[declined[0].plan_id].status == "cancelled"


def test_extension_request_is_decided_by_policy(verified_chat, ledger):
    chat, borrower, account = verified_chat(tiers="A")
    reply = chat.say("能不能宽限几天再还")
    assert "延至" in reply  # tier A allows up to 15 days
    claims = _mine(ledger.claims_for(borrower.borrower_id), chat)
    assert [c.kind for c in claims] == ["extension"] and claims[0].decision.startswith("granted")


def test_fee_waiver_request_is_decided_by_policy_not_the_model(verified_chat, ledger):
    # Tiers C and D: no waiver without hardship. An account with fees, so there is something to refuse.
    chat, borrower, account = verified_chat(tiers="CD", where=lambda acct: acct.fees_cents > 0)
    reply = chat.say("罚息能不能减免一点")
    claims = _mine(ledger.claims_for(borrower.borrower_id), chat)
    assert [c.kind for c in claims] == ["fee_waiver"]
    assert "不符合" in reply and claims[0].decision.startswith("declined"), (reply, claims)
    assert ledger.get_primary_account(borrower.borrower_id).fees_cents == account.fees_cents  # nothing waived


def test_hardship_is_recorded_and_a_fee_free_plan_offered(verified_chat, ledger):
    chat, borrower, account = verified_chat(tiers="AB", min_balance_cents=700_000)
    reply = chat.say("我最近失业了，实在是没钱")
    assert "困难" in reply and "免分期手续费" in reply and "转人工" in reply
    assert [c.kind for c in _mine(ledger.claims_for(borrower.borrower_id), chat)] == ["hardship"]
    assert "没有听明白" not in chat.say("好的")
    accepted = [p for p in ledger.plans_for(account.account_id) if p.status == "accepted"]
    assert len(accepted) == 1 and accepted[0].fee_cents == 0 and accepted[0].hardship


def test_traditional_characters_and_full_width_digits_are_understood(verified_chat, ledger):
    chat, _, account = verified_chat(min_balance_cents=300_000)
    reply = chat.say("我這週五先還２０００塊")
    promises = _mine(ledger.promises_for(account.account_id), chat)
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(200_000, date(2026, 11, 27))]
    assert "2,000元" in reply


def test_a_date_ruled_out_gives_way_to_the_date_offered(verified_chat, ledger):
    chat, _, account = verified_chat(min_balance_cents=200_000)
    reply = chat.say("明天不方便，后天先还一千")
    promises = _mine(ledger.promises_for(account.account_id), chat)
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(100_000, date(2026, 11, 25))], reply


def test_asking_what_each_instalment_is_with_a_plan_on_the_table_repeats_the_plan(verified_chat, ledger):
    chat, _, account = verified_chat(tiers="A", min_balance_cents=1_300_000)
    chat.say("能不能帮我分六期还")
    terms = chat.say("每期要还多少钱")
    assert "分6期" in terms and "每期" in terms and "同意" in terms, terms
    assert "已确认" in chat.say("可以")
    assert [p.periods for p in _mine(ledger.plans_for(account.account_id), chat) if p.status == "accepted"] == [6]
