"""Chat-turn latency through the gateway and directly against Rasa, and throughput with concurrent
conversations. Starts its own stack (Rasa, action server, gateway, Redis, a seeded SQLite ledger).

    .venv/bin/python -m benchmarks.chat_latency [--conversations 30] [--concurrency 1 4 16] [--rounds 6]
                                                [--rasa-replicas 2] [--offered-rate 25]
                                                [--port-base 25000] [--redis-db 11]

"Rasa channel directly" is always one Rasa process (the first replica): the gateway's rate over it is the gain
of the replicas. Ends with the resident memory of each service.

Without --offered-rate every conversation sends its next message the moment the reply arrives (closed loop, no
think time): throughput is the box's capacity and, by Little's law, mean latency = concurrency / throughput. With
--offered-rate R each conversation sends on its own clock, one message every concurrency / R seconds (staggered),
so the box is offered R messages a second in all and latency is measured at that load; a message whose turn comes
before the previous reply arrived waits for it, and the achieved rate shows it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from urllib.parse import urlencode

import httpx
import websockets

from ledger.repository import Ledger
from benchmarks.bench_stack import FIXED_NOW, UNTHROTTLED, benchmark_stack, chinese_borrower_ids
from benchmarks.service_usage import cpu_seconds, memory_table
from bot.launcher import Stack
from bot.rasa_client import TURN_WEBHOOK
from tests.e2e.chat import borrower_link


def _script(ledger: Ledger, borrower_id: str) -> list[str]:
    borrower = ledger.get_borrower(borrower_id)
    return ["对，是我", borrower.id_last4, "我这周五先还两千块", "怎么还款", "没有了"]


def _p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def _percentiles(samples: list[float]) -> str:
    p50, p95 = _p50_p95(samples)
    return f"p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(samples)})"


class Pacer:
    """When each worker's conversations send: at once (closed loop), or on a fixed period from a staggered start."""

    def __init__(self, offered_rate: float | None, concurrency: int):
        self.period = concurrency / offered_rate if offered_rate else 0.0
        self._concurrency = concurrency
        self._started = time.perf_counter()
        self._workers = 0

    def schedule(self) -> "Schedule":
        slot = self._workers
        self._workers += 1
        return Schedule(self._started + slot * self.period / self._concurrency, self.period)


class Schedule:
    """A worker's send times; when a reply came too late for its slot, the next message goes at once."""

    def __init__(self, first: float, period: float):
        self._next = first
        self._period = period

    async def wait_turn(self) -> None:
        if self._period:
            await asyncio.sleep(max(0.0, self._next - time.perf_counter()))
            self._next = max(self._next, time.perf_counter() - self._period) + self._period


async def _gateway_conversation(gateway: str, lines: list[str], borrower_id: str, turns: list[float],
                                overheads: list[float], schedule: Schedule) -> None:
    """Each turn's round trip, and its gateway share: the round trip minus the wait for Rasa the gateway reports
    on the turn (the same turn, so no noise from comparing two populations)."""
    url = gateway.replace("http://", "ws://") + "/ws/chat?" + urlencode({"borrower_link": borrower_link(borrower_id)})
    async with websockets.connect(url, max_size=2**20) as socket:
        async def until_turn_complete() -> dict:
            while (frame := json.loads(await socket.recv()))["type"] != "turn_complete":
                pass
            return frame
        await until_turn_complete()
        for line in lines:
            await schedule.wait_turn()
            started = time.perf_counter()
            await socket.send(json.dumps({"type": "user", "text": line}, ensure_ascii=False))
            completed = await until_turn_complete()
            turns.append(time.perf_counter() - started)
            overheads.append(turns[-1] - completed["rasa_ms"] / 1000)


async def _rasa_conversation(rasa: str, token: str, lines: list[str], borrower_id: str, turns: list[float],
                             schedule: Schedule) -> None:
    sender = uuid.uuid4().hex
    metadata = {"borrower_id": borrower_id, "channel": "bench", "timezone": "Asia/Shanghai", "now": FIXED_NOW}
    async with httpx.AsyncClient(base_url=rasa, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
        await http.post(TURN_WEBHOOK, json={"sender": sender, "message": "/start_conversation", "metadata": metadata})
        for line in lines:
            await schedule.wait_turn()
            started = time.perf_counter()
            response = await http.post(TURN_WEBHOOK, json={"sender": sender, "message": line, "metadata": metadata})
            response.raise_for_status()
            turns.append(time.perf_counter() - started)


async def _run(kind: str, stack: Stack, ledger: Ledger, borrower_ids: list[str], concurrency: int,
               overheads: list[float], offered_rate: float | None) -> tuple[list[float], float]:
    turns: list[float] = []
    queue = list(borrower_ids)
    pacer = Pacer(offered_rate, concurrency)
    started = time.perf_counter()

    async def worker() -> None:
        schedule = pacer.schedule()  # one clock per worker, kept across its conversations
        while queue:
            borrower_id = queue.pop()
            lines = _script(ledger, borrower_id)
            if kind == "gateway":
                await _gateway_conversation(stack.gateway_url, lines, borrower_id, turns, overheads, schedule)
            else:
                await _rasa_conversation(stack.rasa_url, stack.config.rasa_token, lines, borrower_id, turns,
                                         schedule)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return turns, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=30, help="per path and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--rounds", type=int, default=6,
                        help="the two paths alternate in this many rounds, so drift on a shared machine hits both")
    parser.add_argument("--rasa-replicas", type=int, default=1, help="Rasa processes behind the gateway")
    parser.add_argument("--offered-rate", type=float, default=None,
                        help="messages a second offered in all (each conversation paced); default: closed loop")
    parser.add_argument("--port-base", type=int, default=25000,
                        help="Rasa on this + 5, actions + 55, gateway + 3000 (another port for a second run at once)")
    parser.add_argument("--redis-db", type=int, default=11, help="the Redis database of this run's stack")
    args = parser.parse_args()
    per_round = max(1, args.conversations // args.rounds)
    needed = 2 * per_round * args.rounds * len(args.concurrency)
    with benchmark_stack("chat", borrowers=needed + 100, port_base=args.port_base, redis_db=args.redis_db,
                         gateway_env=UNTHROTTLED,
                         rasa_replicas=args.rasa_replicas) as (stack, ledger):
        zh_ids = iter(chinese_borrower_ids(ledger, needed + 100))
        print(f"{per_round * args.rounds} conversations per path x 5 borrower turns (verification, promise, how-to-pay, "
              f"close), Rasa alone and through the gateway ({args.rasa_replicas} Rasa replica(s)) alternating in "
              f"{args.rounds} rounds; " + (f"offered {args.offered_rate:g} msgs/s in all\n" if args.offered_rate
                                             else "closed loop (each reply at once answered)\n"))
        for concurrency in args.concurrency:
            turns: dict[str, list[float]] = {"rasa": [], "gateway": []}
            overheads: list[float] = []
            elapsed = {"rasa": 0.0, "gateway": 0.0}
            cpu: dict[str, Counter[str]] = {"rasa": Counter(), "gateway": Counter()}
            for round_number in range(args.rounds):
                order = ("rasa", "gateway") if round_number % 2 == 0 else ("gateway", "rasa")
                for kind in order:
                    ids = [next(zh_ids) for _ in range(per_round)]
                    cpu_before = cpu_seconds(stack)
                    samples, seconds = asyncio.run(_run(kind, stack, ledger, ids, concurrency, overheads,
                                                                       args.offered_rate))
                    cpu[kind].update({name: used - cpu_before[name] for name, used in cpu_seconds(stack).items()})
                    turns[kind] += samples
                    elapsed[kind] += seconds
            rates = {kind: len(turns[kind]) / elapsed[kind] for kind in turns}
            for kind, label in (("rasa", "Rasa channel directly"), ("gateway", "gateway WebSocket    ")):
                print(f"{label}  concurrency {concurrency:2d}:  {_percentiles(turns[kind])}   "
                      f"{rates[kind]:6.1f} msgs/s")
            for kind, label in (("rasa", "Rasa channel directly"), ("gateway", "gateway WebSocket    ")):
                per_message = "   ".join(f"{name} {seconds / len(turns[kind]) * 1000:5.1f}"
                                         for name, seconds in sorted(cpu[kind].items()) if seconds > 0)
                print(f"{label}  concurrency {concurrency:2d}:  CPU ms per message (incl. its share of the "
                      f"opening turn): {per_message}")
            print(f"gateway / one Rasa     concurrency {concurrency:2d}:  {rates['gateway'] / rates['rasa']:.2f}x msgs/s")
            (rasa_p50, rasa_p95), (gateway_p50, gateway_p95) = _p50_p95(turns["rasa"]), _p50_p95(turns["gateway"])
            print(f"gateway overhead       concurrency {concurrency:2d}:  p50 {(gateway_p50 - rasa_p50) * 1000:+7.1f} ms   "
                  f"p95 {(gateway_p95 - rasa_p95) * 1000:+7.1f} ms   (difference of the two paths' percentiles)")
            print(f"gateway's own share    concurrency {concurrency:2d}:  {_percentiles(overheads)}   "
                  f"(per turn: round trip minus the turn's wait for Rasa)\n")
        print(f"resident memory per service after the runs:\n{memory_table(stack)}")


if __name__ == "__main__":
    main()
