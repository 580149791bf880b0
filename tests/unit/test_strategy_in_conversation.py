"""What the collection strategy changes inside a conversation, through the real actions on a seeded SQLite ledger:
the script variant of a call the dialer placed words the reason for the call once the borrower is verified, and the
segment's offer limit caps the plan the bot proposes."""
from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime

import pytest

from campaigns.segmenter import Segmenter
from campaigns.strategy import load_strategy
from ledger.campaign_records import CampaignRecords
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.portfolio import Portfolio
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio

AS_OF = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
BORROWER, ACCOUNT = "B000001", "A000001-1"  # tier A, 15 days past due, 12,345.67 元


@pytest.fixture
def services(tmp_path, monkeypatch):
    """The action server's services on a ledger of this test's own. (Imported here, as in test_disclosure_guard:
    importing actions builds the action server's services.)"""
    import actions.conversation_context as context
    import actions.strategy as in_conversation

    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=8, us_count=0, as_of=AS_OF)
    records = CampaignRecords(sessions)
    strategy = load_strategy()
    ours = dataclasses.replace(context.SERVICES, ledger=Ledger(sessions), strategy=strategy, campaign_records=records,
                               segmenter=Segmenter(strategy, Portfolio(sessions), records))
    monkeypatch.setattr(context, "SERVICES", ours)
    monkeypatch.setattr(in_conversation, "SERVICES", ours)
    yield ours
    engine.dispose()


def _tracker(channel: str = "phone", script: str = "", language: str = "zh", periods: int | None = None):
    from rasa_sdk import Tracker

    metadata = {"borrower_id": BORROWER, "channel": channel, "timezone": "Asia/Shanghai", "now": NOW.isoformat()}
    if script:
        metadata["call_script"] = script
    entities = [] if periods is None else [{"entity": "periods", "value": periods}]
    slots = {"session_started_metadata": {"borrower_id": BORROWER, "channel": channel}, "language": language,
             "identity_verified": True, "hardship": False}
    return Tracker("c-" + (script or "inbound"), slots, {"text": "", "metadata": metadata, "entities": entities}, [],
                   False, None, {}, None)


def _said(action, tracker, services) -> str:
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    account = services.ledger.get_account(ACCOUNT)
    asyncio.run(action.run_for_account(dispatcher, tracker, account))
    return " ".join(message["text"] for message in dispatcher.messages if message.get("text"))


@pytest.mark.parametrize(("days", "script", "voice", "stage"), [
    (-3, "reminder", True, "balance_not_yet_due"),
    (0, "overdue_firm", True, "balance_not_yet_due"),  # nothing is late yet, whatever the script
    (12, "overdue_gentle", True, "balance_gentle"),
    (75, "overdue_firm", True, "balance_firm"),
    (40, "hardship", True, "balance_hardship"),
    (3, "reminder", True, "balance"),  # a reminder call answered after the due date: the plain wording
    (12, "", True, "balance"),  # the borrower called us
    (12, "overdue_firm", False, "balance"),  # a chat has no script; were one to come, a written text has none
])
def test_the_script_chooses_the_wording_after_the_facts(days, script, voice, stage):
    from actions.account import balance_stage

    assert balance_stage(days, script, voice) == stage


def test_a_firm_call_states_the_facts_and_the_policys_next_steps(services):
    from actions.account import ActionTellBalance

    said = _said(ActionTellBalance(), _tracker(script="overdue_firm"), services)
    # Tier A: a promise may name a day up to 30 days ahead (ledger/policy.yml), 23 December.
    assert "12,345.67元" in said and "已逾期15天" in said and "需要尽快处理" in said
    assert "最晚可以约定在12月23日" in said and "分期" in said
    # The question the dialogue goes on from, then on a call the keys that answer it.
    assert said.endswith("请问您今天能全额还款吗？方便请按1，不方便请按2。")


def test_a_gentle_call_reminds_and_asks(services):
    from actions.account import ActionTellBalance

    said = _said(ActionTellBalance(), _tracker(script="overdue_gentle"), services)
    assert said.startswith("今天给您来电，是想提醒您") and "已逾期15天" in said and "尽快处理" not in said


def test_a_hardship_call_acknowledges_it_and_offers_the_fee_free_plan_within_the_segments_limit(services):
    from actions.account import ActionTellBalance
    from actions.plans import ActionProposePlan

    services.campaign_records.place(BORROWER, ACCOUNT, "hardship", "hardship claim", NOW)  # offer: 12 periods at most
    said = _said(ActionTellBalance(), _tracker(script="hardship"), services)
    assert "困难" in said and "免手续费的分期，最长可分12期" in said
    # "不能" to the question: the plan proposed is the hardship plan, fee-free, though no claim was made on this call.
    _said(ActionProposePlan(), _tracker(script="hardship"), services)
    plan = services.ledger.plans_for(ACCOUNT)[-1]
    assert (plan.periods, plan.fee_cents) == (12, 0)


def test_an_english_firm_call(services):
    from actions.account import ActionTellBalance

    said = _said(ActionTellBalance(), _tracker(script="overdue_firm", language="en"), services)
    assert "15 days past due" in said and "by December 23 at the latest" in said


def test_the_segments_offer_limit_caps_the_plan_the_bot_proposes(services):
    from actions.plans import ActionProposePlan

    # Tier A allows 2, 3, 6 and 12 periods; in dpd_1_30 (message_first) nothing lowers that.
    services.campaign_records.place(BORROWER, ACCOUNT, "dpd_1_30", "days past due 15", NOW)
    _said(ActionProposePlan(), _tracker(channel="chat", periods=12), services)
    assert services.ledger.plans_for(ACCOUNT)[-1].periods == 12
    # Placed in a segment whose treatment ("firm") offers 6 periods at most: asked for 12, the bot proposes 6.
    services.campaign_records.place(BORROWER, ACCOUNT, "dpd_61_90", "days past due 75", NOW)
    said = _said(ActionProposePlan(), _tracker(channel="chat", periods=12), services)
    assert services.ledger.plans_for(ACCOUNT)[-1].periods == 6
    assert "可选2、3、6期" in said and "12期" not in said
