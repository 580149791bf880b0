"""What sends a conversation to a person (ledger requests, repeated compliance blocks, policy) and the
wait notice the borrower gets; the handoff policy file is validated."""
from __future__ import annotations

from datetime import date

import pytest

from actions.ledger.db import create_schema, make_engine, make_session_factory
from actions.ledger.repository import Ledger
from actions.ledger.seed import seed_demo_portfolio
from bot.channels.state import InMemoryChannelState
from bot.handoff.assignments import InMemoryAssignments
from bot.handoff.desk import AlreadyHeld, HandoffDesk, NotWaiting, wait_notice
from bot.handoff.policy import HandoffPolicyError, load_handoff_policy
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


def conversation(conversation_id: str, borrower_id: str = BORROWER) -> Conversation:
    return Conversation(conversation_id, borrower_id, "websocket", "Asia/Shanghai", "2026-11-23T02:00:00+00:00")


BOT_BLOCKED = {"speaker": "bot", "text": "safe", "allowed": False, "rules": ["THREAT-1"]}


async def test_a_request_the_bot_recorded_queues_the_conversation_once(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None)
    ledger.record_handoff("conv-requested", BORROWER, "requested", 2)
    notice = await desk.after_turn(conversation("conv-requested"), False, [])
    assert notice == wait_notice(1) and "下一位" in notice
    assert await desk.after_turn(conversation("conv-requested"), False, []) is None  # seen: no second notice
    [queued] = await desk.queue.entries()
    assert (queued.conversation_id, queued.reason, queued.priority) == ("conv-requested", "requested", 2)


async def test_distress_jumps_ahead_and_the_notice_gives_the_honest_position(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None)
    for name in ("conv-1", "conv-2"):
        ledger.record_handoff(name, BORROWER, "requested", 2)
        await desk.after_turn(conversation(name), False, [])
    ledger.record_handoff("conv-3", BORROWER, "distress", 0)
    assert await desk.after_turn(conversation("conv-3"), False, []) == wait_notice(1)
    ledger.record_handoff("conv-4", BORROWER, "nlu_fallback", 3)
    notice = await desk.after_turn(conversation("conv-4"), False, [])
    assert "前面还有3位" in notice and "无法保证" in notice
    assert [e.conversation_id for e in await desk.queue.entries()] == ["conv-3", "conv-1", "conv-2", "conv-4"]


async def test_two_blocked_bot_utterances_hand_the_conversation_to_a_person(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None)
    assert await desk.after_turn(conversation("conv-b"), False, [BOT_BLOCKED]) is None
    agent_blocked = {**BOT_BLOCKED, "speaker": "agent"}
    assert await desk.after_turn(conversation("conv-b"), False, [BOT_BLOCKED, agent_blocked]) is None
    assert await desk.after_turn(conversation("conv-b"), False, [BOT_BLOCKED, BOT_BLOCKED]) is not None
    assert [e.reason for e in await desk.queue.entries()] == ["compliance_blocked"]
    assert [(h.reason, h.priority, h.status) for h in ledger.handoffs_for("conv-b")] == [("compliance_blocked", 1, "waiting")]


async def test_policy_triggers_wait_for_verified_identity(ledger):
    account = ledger.get_primary_account(BORROWER)
    desk = desk_for(ledger, large_balance_cents=account.balance_cents, legal_stage_days_past_due=None)
    assert await desk.after_turn(conversation("conv-p"), False, []) is None
    assert await desk.after_turn(conversation("conv-p"), True, []) is not None
    assert [e.reason for e in await desk.queue.entries()] == ["large_balance"]
    assert [(h.reason, h.borrower_id) for h in ledger.handoffs_for("conv-p")] == [("large_balance", BORROWER)]

    legal = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=account.days_past_due)
    await legal.after_turn(conversation("conv-l"), True, [])
    assert [e.reason for e in await legal.queue.entries()] == ["legal_stage"]
    below = desk_for(ledger, large_balance_cents=account.balance_cents + 1,
                     legal_stage_days_past_due=account.days_past_due + 1)
    assert await below.after_turn(conversation("conv-n"), True, []) is None


async def test_a_held_conversation_is_not_queued_and_taking_is_exclusive(ledger):
    desk = desk_for(ledger, large_balance_cents=None, legal_stage_days_past_due=None)
    ledger.record_handoff("conv-t", BORROWER, "dispute", 1)
    await desk.after_turn(conversation("conv-t"), False, [])
    taken = await desk.take("conv-t", "agent1", waiting_only=True)
    assert taken.reason == "dispute" and await desk.queue.entries() == []
    assert [h.status for h in ledger.handoffs_for("conv-t")] == ["taken"]
    with pytest.raises(AlreadyHeld) as raised:
        await desk.take("conv-t", "agent2", waiting_only=True)
    assert raised.value.holder == "agent1"
    with pytest.raises(NotWaiting):
        await desk.take("conv-never-queued", "agent2", waiting_only=True)
    assert await desk.holder("conv-never-queued") is None  # the failed take let go
    assert await desk.take("conv-never-queued", "supervisor1", waiting_only=False) is None
    ledger.record_handoff("conv-t", BORROWER, "requested", 2)
    assert await desk.after_turn(conversation("conv-t"), False, []) is None  # held: the bot is silent anyway
    assert await desk.hand_back("conv-t", "agent2") is False
    assert await desk.hand_back("conv-t", "agent1") is True
    # the dispute was served; the request made while held waits for the next look at the queue
    assert [(h.reason, h.status) for h in ledger.handoffs_for("conv-t")] == [("dispute", "served"), ("requested", "waiting")]
    with pytest.raises(ValueError):
        ledger.set_handoff_status("conv-t", "lost", ("waiting",))


async def test_the_wait_notice_passes_the_compliance_filter():
    for position in (1, 2, 7):
        assert check(wait_notice(position), {"identity_verified": False}).allowed


async def test_the_shipped_policy_loads_and_a_mistake_names_the_key(tmp_path):
    policy = load_handoff_policy()
    assert policy.priorities["distress"] == 0 and policy.compliance_blocks_before_handoff == 2
    bad = tmp_path / "handoff.yml"
    bad.write_text("priorities: {distress: 0}\ncompliance_blocks_before_handoff: 0\nsurprise: 1\n", encoding="utf-8")
    with pytest.raises(HandoffPolicyError) as error:
        load_handoff_policy(bad)
    message = str(error.value)
    assert str(bad) in message and "missing reasons" in message
    assert "compliance_blocks_before_handoff" in message and "surprise" in message
