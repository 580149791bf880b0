"""The handoff queue and agent assignments, in-process and on real Redis: ordering, re-queueing,
and races between many concurrent takers."""
from __future__ import annotations

import asyncio

import pytest

from bot.handoff.assignments import InMemoryAssignments, RedisAssignments
from bot.handoff.queue import InMemoryHandoffQueue, QueueEntry, RedisHandoffQueue
from tests.unit.handoff_redis import redis_prefix  # noqa: F401 - fixture

pytestmark = pytest.mark.asyncio
T0 = 1_795_000_000.0  # an epoch second in late 2026


def entry(conversation_id: str, priority: int, waited_from: float, reason: str = "requested") -> QueueEntry:
    return QueueEntry(conversation_id, "B000009", "websocket", reason, priority, waited_from)


@pytest.fixture(params=["memory", "redis"])
def make_queue(request, redis_prefix):
    url, prefix = redis_prefix
    if request.param == "memory":
        return InMemoryHandoffQueue
    return lambda: RedisHandoffQueue(url, prefix=prefix)


async def test_distress_is_served_first_then_the_longest_waiting(make_queue):
    queue = make_queue()
    await queue.enqueue(entry("requested-early", 2, T0))
    await queue.enqueue(entry("fallback-earliest", 3, T0 - 600))
    await queue.enqueue(entry("requested-late", 2, T0 + 30))
    await queue.enqueue(entry("distress-latest", 0, T0 + 60, "distress"))
    assert [e.conversation_id for e in await queue.entries()] == [
        "distress-latest", "requested-early", "requested-late", "fallback-earliest"]
    assert await queue.position("requested-late") == 3
    assert await queue.position("nobody") is None
    await queue.aclose()


async def test_a_more_urgent_trigger_moves_a_conversation_up_keeping_its_waiting_time(make_queue):
    queue = make_queue()
    await queue.enqueue(entry("a", 2, T0))
    await queue.enqueue(entry("b", 1, T0 + 10, "dispute"))
    assert await queue.enqueue(entry("a", 0, T0 + 99, "distress")) is True
    assert await queue.enqueue(entry("a", 3, T0 + 200, "nlu_fallback")) is False  # never moved down
    first = (await queue.entries())[0]
    assert (first.conversation_id, first.priority, first.reason, first.enqueued_at) == ("a", 0, "distress", T0)
    await queue.aclose()


async def test_removal_and_callback_offer_happen_once(make_queue):
    queue = make_queue()
    await queue.enqueue(entry("a", 2, T0))
    assert await queue.mark_callback_offered("a") is True
    assert await queue.mark_callback_offered("a") is False
    assert (await queue.entries())[0].callback_offered is True
    removed = await queue.remove("a")
    assert removed is not None and removed.conversation_id == "a" and removed.callback_offered
    assert await queue.remove("a") is None
    assert await queue.entries() == []
    assert await queue.mark_callback_offered("a") is False
    await queue.aclose()


async def test_forty_agents_taking_one_conversation_at_once_exactly_one_wins(redis_prefix):
    url, prefix = redis_prefix
    # One client (and connection) per agent, as on separate gateway replicas.
    agents = [RedisAssignments(url, key=f"{prefix}:holders") for _ in range(40)]
    results = await asyncio.gather(*(a.take("conv-1", f"agent{i}") for i, a in enumerate(agents)))
    assert sum(results) == 1
    winner = f"agent{results.index(True)}"
    assert await agents[0].holder("conv-1") == winner
    assert await agents[1].release("conv-1", "someone-else") is False
    assert await agents[2].release("conv-1", winner) is True
    assert await agents[3].holder("conv-1") is None
    for assignments in agents:
        await assignments.aclose()


async def test_forty_replicas_removing_one_queue_entry_at_once_get_it_exactly_once(redis_prefix):
    url, prefix = redis_prefix
    queues = [RedisHandoffQueue(url, prefix=prefix) for _ in range(40)]
    await queues[0].enqueue(entry("conv-2", 1, T0))
    removed = await asyncio.gather(*(q.remove("conv-2") for q in queues))
    assert sum(r is not None for r in removed) == 1
    offered = await asyncio.gather(*(q.mark_callback_offered("conv-2") for q in queues))
    assert not any(offered)
    for queue in queues:
        await queue.aclose()


async def test_in_process_assignments_behave_the_same():
    assignments = InMemoryAssignments()
    results = await asyncio.gather(*(assignments.take("c", f"agent{i}") for i in range(10)))
    assert sum(results) == 1
    assert await assignments.held() == {"c": "agent0"}
    assert await assignments.release("c") is True and await assignments.held() == {}
