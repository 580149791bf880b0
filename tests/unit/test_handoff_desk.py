"""What sends a conversation to a person (reasons the bot raised, repeated compliance blocks, policy), what
the ledger records of it, and the wait notice the borrower gets; the handoff policy file is validated."""
from __future__ import annotations

from datetime import date

import pytest

from ledger.db import create_schema, make_engine, make_session_factory
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from bot.channels.state import InMemoryChannelState
from bot.handoff.assignments import InMemoryAssignments
from bot.handoff.desk import AlreadyHeld, HandoffDesk, NotWaiting, TurnFacts
from ledger.notices import wait_notice
from bot.handoff.policy import load_handoff_policy
from configuration.files import ConfigFileError
from bot.handoff.queue import InMemoryHandoffQueue
from bot.sessions import Conversation
from compliance_filters import check

pytestmark = pytest.mark.asyncio
BORROWER = "B000005"


@pytest.fixture
def ledger(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=8, as_of=date(2026, 11, 23))
    yield Ledger(make_session_factory(engine))
    engine.dispose()


def desk_for(ledger: Ledger, **policy_changes) -> HandoffDesk:
    policy = load_handoff_policy().model_copy(update=policy_changes)
    clock = iter(range(1_795_000_000, 1_795_100_000, 10))
    return HandoffDesk(InMemoryHandoffQueue(), InMemoryAssignments(), ledger, policy, InMemoryChannelState(),
                       wall_clock=lambda: float(next(clock)))


def conversation(conversation_id: str, borrower_id: str = BORROWER, blocked: int = 0) -> Conversation:
    return Conversation(conversation_id, borrower_id, "websocket", "Asia/Shanghai", "2026-11-23T02:00:00+00:00",
                        blocked_bot_utterances=blocked)


def raised(*reasons: str) -> TurnFacts:
    return TurnFacts(handoff_reasons=reasons)


NOTHING = TurnFacts()
VERIFIED_NOW = TurnFacts(verified_this_turn=True)


async def test_a_reason_the_bot_raised_is_recorded_with_the_policy_priority_and_queued_once(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None,
                    priorities={**load_handoff_policy().priorities, "requested": 5})
    notice = await desk.after_turn(conversation("conv-requested"), raised("requested"))
    assert notice == wait_notice("zh", 1) and "下一位" in notice
    assert await desk.after_turn(conversation("conv-requested"), raised("requested")) is None  # seen: no second notice
    [queued] = await desk.queue.entries()
    assert (queued.conversation_id, queued.reason, queued.priority) == ("conv-requested", "requested", 5)
    assert [(h.reason, h.borrower_id, h.priority, h.status) for h in ledger.handoffs_for("conv-requested")] == [
        ("requested", BORROWER, 5, "waiting")]


async def test_an_unknown_borrowers_handoff_is_recorded_without_a_borrower(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None)
    assert await desk.after_turn(conversation("conv-stranger", borrower_id="B999999"), raised("distress")) is not None
    assert [(h.reason, h.borrower_id, h.priority) for h in ledger.handoffs_for("conv-stranger")] == [
        ("distress", None, 0)]


async def test_a_reason_missing_from_the_policy_waits_behind_every_listed_one(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None)
    await desk.after_turn(conversation("conv-new-reason"), raised("a_reason_from_a_newer_action"))
    await desk.after_turn(conversation("conv-fallback"), raised("nlu_fallback"))
    assert [(e.conversation_id, e.priority) for e in await desk.queue.entries()] == [
        ("conv-fallback", 3), ("conv-new-reason", max(desk.policy.priorities.values()) + 1)]


async def test_an_ended_conversations_handoff_is_recorded_for_review_not_queued(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None)
    assert await desk.after_turn(conversation("conv-ended"), TurnFacts(("dispute",), ended=True)) is None
    assert await desk.queue.entries() == []
    assert [(h.reason, h.status) for h in ledger.handoffs_for("conv-ended")] == [("dispute", "waiting")]


async def test_distress_jumps_ahead_and_the_notice_gives_the_honest_position(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None)
    for name in ("conv-1", "conv-2"):
        await desk.after_turn(conversation(name), raised("requested"))
    assert await desk.after_turn(conversation("conv-3"), raised("distress")) == wait_notice("zh", 1)
    notice = await desk.after_turn(conversation("conv-4"), raised("nlu_fallback"))
    assert "前面还有3位" in notice and "无法保证" in notice
    assert [e.conversation_id for e in await desk.queue.entries()] == ["conv-3", "conv-1", "conv-2", "conv-4"]


async def test_two_blocked_bot_utterances_hand_the_conversation_to_a_person(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None)
    assert await desk.after_turn(conversation("conv-b", blocked=1), NOTHING) is None
    assert await desk.after_turn(conversation("conv-b", blocked=2), NOTHING) is not None
    assert await desk.after_turn(conversation("conv-b", blocked=3), NOTHING) is None  # queued once
    assert [e.reason for e in await desk.queue.entries()] == ["compliance_blocked"]
    assert [(h.reason, h.priority, h.status) for h in ledger.handoffs_for("conv-b")] == [("compliance_blocked", 1, "waiting")]


async def test_policy_triggers_are_checked_on_the_turn_that_verifies(ledger):
    account = ledger.get_primary_account(BORROWER)
    desk = desk_for(ledger, large_balance_cents=account.balance_cents, legal_stage_days_past_due=None)
    assert await desk.after_turn(conversation("conv-p"), NOTHING) is None
    assert await desk.after_turn(conversation("conv-p"), VERIFIED_NOW) is not None
    assert [e.reason for e in await desk.queue.entries()] == ["large_balance"]
    assert [(h.reason, h.borrower_id) for h in ledger.handoffs_for("conv-p")] == [("large_balance", BORROWER)]

    legal = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=account.days_past_due)
    await legal.after_turn(conversation("conv-l"), VERIFIED_NOW)
    assert [e.reason for e in await legal.queue.entries()] == ["legal_stage"]
    below = desk_for(ledger, large_balance_cents=account.balance_cents + 1,
                     legal_stage_days_past_due=account.days_past_due + 1)
    assert await below.after_turn(conversation("conv-n"), VERIFIED_NOW) is None


async def test_taking_is_exclusive_and_handing_back_serves_the_request(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None)
    await desk.after_turn(conversation("conv-t"), raised("dispute"))
    taken = await desk.take("conv-t", "agent1", waiting_only=True)
    assert taken.reason == "dispute" and await desk.queue.entries() == []
    assert [(h.status, h.taken_by) for h in ledger.handoffs_for("conv-t")] == [("taken", "agent1")]
    with pytest.raises(AlreadyHeld) as already:
        await desk.take("conv-t", "agent2", waiting_only=True)
    assert already.value.holder == "agent1"
    with pytest.raises(NotWaiting):
        await desk.take("conv-never-queued", "agent2", waiting_only=True)
    assert await desk.holder("conv-never-queued") is None  # the failed take let go
    assert await desk.take("conv-never-queued", "supervisor1", waiting_only=False) is None
    assert await desk.hand_back("conv-t", "agent2") is False
    assert await desk.hand_back("conv-t", "agent1") is True
    assert [(h.reason, h.status) for h in ledger.handoffs_for("conv-t")] == [("dispute", "served")]
    assert await desk.after_turn(conversation("conv-t"), raised("dispute")) is None  # served once, not re-queued
    with pytest.raises(ValueError):
        ledger.set_handoff_status("conv-t", "lost", ("waiting",))


async def test_the_wait_notice_passes_the_compliance_filter():
    for position in (1, 2, 7):
        assert check(wait_notice("zh", position), {"identity_verified": False}).allowed


async def test_the_shipped_policy_loads_and_a_mistake_names_the_key(tmp_path):
    policy = load_handoff_policy()
    assert policy.priorities["distress"] == 0 and policy.compliance_blocks_before_handoff == 2
    bad = tmp_path / "handoff.yml"
    bad.write_text("priorities: {distress: 0}\ncompliance_blocks_before_handoff: 0\nsurprise: 1\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as error:
        load_handoff_policy(bad)
    message = str(error.value)
    assert str(bad) in message and "missing reasons" in message
    assert "compliance_blocks_before_handoff" in message and "surprise" in message
