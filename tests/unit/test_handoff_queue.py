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


async def test_a_transferred_call_stays_waiting_flagged_and_keeps_the_flag_when_requeued(make_queue):
    queue = make_queue()
    await queue.enqueue(entry("call", 2, T0))
    assert await queue.mark_transferred("call") is True
    assert await queue.mark_transferred("call") is False
    assert await queue.mark_transferred("nobody") is False
    await queue.enqueue(entry("call", 0, T0 + 50, "distress"))  # a later, more urgent trigger
    waiting = (await queue.entries())[0]
    assert (waiting.transferred, waiting.callback_offered, waiting.priority) == (True, False, 0)
    assert await queue.mark_callback_offered("call") is True  # the flags are independent
    removed = await queue.remove("call")
    assert removed is not None and removed.transferred and removed.callback_offered
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


async def _ten_agents_take_at_once(assignments) -> list[bool]:
    """Ten agents' takes as separate tasks, started together: they interleave at every await inside
    take(), which is all the concurrency a single-process gateway has."""
    start = asyncio.Event()

    async def agent(i: int) -> bool:
        await start.wait()
        return await assignments.take("c", f"agent{i}")

    tasks = [asyncio.create_task(agent(i)) for i in range(10)]
    await asyncio.sleep(0)  # every task is now waiting at the start line
    start.set()
    return await asyncio.gather(*tasks)


class CheckThenAwaitThenSet(InMemoryAssignments):
    """A take() with an await between its check and its write: the bug the race test must catch."""

    async def take(self, conversation_id: str, agent: str) -> bool:
        if conversation_id in self._holders:
            return False
        await asyncio.sleep(0)
        self._holders[conversation_id] = agent
        return True


async def test_the_in_process_race_harness_catches_a_take_that_yields_between_check_and_write():
    assert sum(await _ten_agents_take_at_once(CheckThenAwaitThenSet())) > 1


async def test_in_process_assignments_give_a_conversation_to_exactly_one_of_ten_racing_agents():
    assignments = InMemoryAssignments()
    results = await _ten_agents_take_at_once(assignments)
    assert sum(results) == 1
    winner = f"agent{results.index(True)}"
    assert await assignments.held() == {"c": winner}
    assert await assignments.release("c", "agent-who-does-not-hold-it") is False
    assert await assignments.release("c", winner) is True and await assignments.held() == {}
