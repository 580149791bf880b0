"""Handoff queue and take latency on a real Redis, as the gateway replicas use them.

    .venv/bin/python -m benchmarks.handoff_queue [--redis redis://127.0.0.1:6379/10] [--waiting 500] [--agents 20]

Queues `--waiting` conversations, then `--agents` agents (one connection each, like separate replicas)
race to take every one of them. Prints p50/p95/p99 of enqueue, queue listing and take, takes per second,
and checks that every conversation went to exactly one agent (goal: take p95 ≤ 5 ms on a local Redis).
Keys live under a fresh prefix that is deleted afterwards."""
from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import redis

from bot.handoff.assignments import RedisAssignments
from bot.handoff.queue import QueueEntry, RedisHandoffQueue


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(0.50):.2f} ms  p95 {pick(0.95):.2f} ms  p99 {pick(0.99):.2f} ms  (n={len(ordered)})"


async def _timed(samples: list[float], awaitable):
    started = time.perf_counter()
    result = await awaitable
    samples.append(time.perf_counter() - started)
    return result


async def run(url: str, waiting: int, agent_count: int, prefix: str) -> None:
    queue = RedisHandoffQueue(url, prefix=prefix)
    enqueue_times: list[float] = []
    now = time.time()
    for number in range(waiting):
        entry = QueueEntry(f"conv-{number:05d}", None, "websocket", "requested", number % 4, now + number / 1000)
        await _timed(enqueue_times, queue.enqueue(entry))
    list_times: list[float] = []
    for _ in range(50):
        await _timed(list_times, queue.entries())

    agents = [(RedisAssignments(url, key=f"{prefix}:holders"), RedisHandoffQueue(url, prefix=prefix))
              for _ in range(agent_count)]
    take_times: list[float] = []

    async def take(index: int, conversation_id: str) -> bool:
        assignments, replica_queue = agents[index]
        won = await _timed(take_times, assignments.take(conversation_id, f"agent{index}"))
        if won:
            await replica_queue.remove(conversation_id)
        return won

    ids = [entry.conversation_id for entry in await queue.entries()]
    started = time.perf_counter()
    wins = 0
    for conversation_id in ids:
        results = await asyncio.gather(*(take(index, conversation_id) for index in range(agent_count)))
        wins += sum(results)
        assert sum(results) == 1, f"{conversation_id} taken {sum(results)} times"
    elapsed = time.perf_counter() - started
    remaining = await queue.entries()

    print(f"enqueue        {_percentiles(enqueue_times)}")
    print(f"list queue     {_percentiles(list_times)}  ({waiting} waiting)")
    print(f"take (HSETNX)  {_percentiles(take_times)}")
    print(f"{len(ids)} conversations x {agent_count} racing agents: {wins} takes, exactly one each, "
          f"{len(take_times) / elapsed:.0f} take attempts/s; {len(remaining)} left in the queue")
    for assignments, replica_queue in agents:
        await assignments.aclose()
        await replica_queue.aclose()
    await queue.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--agents", type=int, default=20)
    args = parser.parse_args()
    prefix = f"bench-handoff-{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(run(args.redis, args.waiting, args.agents, prefix))
    finally:
        client = redis.Redis.from_url(args.redis)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


if __name__ == "__main__":
    main()
